/*
 * as_session.h - the browser's session with the AS: a random cookie
 * naming a row in the store (fz_as_session), first to bind the CSRF
 * token of the login form to this browser, then, after login, to say
 * who is signed in while /authorize runs.
 *
 * The cookie is __Host-fz_session: Secure, Path=/, no Domain (the
 * __Host- prefix makes browsers refuse anything else, so a sibling host
 * cannot plant one), HttpOnly, SameSite=Lax (sent on the top-level GET
 * that brings a user to /authorize, not on cross-site POSTs).
 */
#ifndef FZ_AS_SESSION_H
#define FZ_AS_SESSION_H

#include <stdbool.h>

#include "as.h"
#include "http_server.h"

#define FZ_AS_SESSION_COOKIE "__Host-fz_session"
#define FZ_AS_SESSION_ID_BYTES 32 /* 256 bits, base64url: 43 characters */
#define FZ_AS_CSRF_BYTES 32
#define FZ_AS_CSRF_FIELD "csrf_token"

/* The request's session, when its cookie names one that has not
 * expired; *found false otherwise (not an error). */
fz_code fz_as_session_load(fz_as *as, fz_http_req *req, int64_t now,
			   fz_as_session *out, bool *found, fz_err *err);

/* The request's session, or a new anonymous one (form_ttl) with its
 * cookie set on the response: what a page with a form needs. */
fz_code fz_as_session_ensure(fz_as *as, fz_http_req *req, int64_t now,
			     fz_as_session *out, fz_err *err);

/* Signs user_id in: the old session (if any) is deleted and a new one
 * with a new id and CSRF token (session_ttl) takes its place, cookie
 * set on the response. */
fz_code fz_as_session_login(fz_as *as, fz_http_req *req, const fz_as_session *old,
			    int64_t user_id, int64_t now, fz_as_session *out,
			    fz_err *err);

/* True when token is the session's CSRF token (constant time). A NULL
 * token or session token is false. */
bool fz_as_csrf_ok(const fz_as_session *s, const char *token);

#endif
