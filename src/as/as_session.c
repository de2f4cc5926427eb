/*
 * as_session.c - browser sessions of the login form and /authorize
 * (as_session.h): the cookie holds a random id, the store its digest,
 * its CSRF token and, once signed in, the user. A new id at login, so a
 * session id planted or seen before login is worth nothing after it.
 */
#include <string.h>

#include "as_session.h"
#include "as_web.h"
#include "digest.h"
#include "jose.h"
#include "pkce.h"

#define B64_LEN(n) (((n) * 4 + 2) / 3) /* base64url without padding */

static fz_code session_id_hash(fz_arena *a, const char *id, const char **out,
			       fz_err *err)
{
	fz_digest_str d;

	fz_digest(id, strlen(id), &d);
	*out = fz_arena_strdup(a, d.s);
	return *out ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

fz_code fz_as_session_load(fz_as *as, fz_http_req *req, int64_t now,
			   fz_as_session *out, bool *found, fz_err *err)
{
	const char *id, *hash;
	fz_code rc;

	memset(out, 0, sizeof(*out));
	*found = false;
	id = fz_cookie_get(req->arena, fz_http_req_header(req, "Cookie"),
			   FZ_AS_SESSION_COOKIE);
	if (id == NULL)
		return FZ_OK;
	if ((rc = session_id_hash(req->arena, id, &hash, err)) != FZ_OK)
		return rc;
	rc = fz_as_store_session_get(as->store, req->arena, hash, now, out, err);
	if (rc == FZ_ENOTFOUND) {
		fz_err_clear(err);
		memset(out, 0, sizeof(*out));
		return FZ_OK;
	}
	*found = rc == FZ_OK;
	return rc;
}

/* A new session row for user_id (0: anonymous) and its cookie. */
static fz_code session_new(fz_as *as, fz_http_req *req, int64_t user_id,
			   int64_t now, fz_as_session *out, fz_err *err)
{
	char id[B64_LEN(FZ_AS_SESSION_ID_BYTES) + 1];
	char csrf[B64_LEN(FZ_AS_CSRF_BYTES) + 1];
	const fz_as_login_config *lc = &as->cfg->login;
	int64_t ttl = (int64_t)(user_id ? lc->session_ttl : lc->form_ttl);
	const char *cookie;
	fz_code rc;

	memset(out, 0, sizeof(*out));
	if ((rc = fz_random_b64url(FZ_AS_SESSION_ID_BYTES, id, sizeof(id), err)) ||
	    (rc = fz_random_b64url(FZ_AS_CSRF_BYTES, csrf, sizeof(csrf), err)) ||
	    (rc = session_id_hash(req->arena, id, &out->id_hash, err)))
		return rc;
	out->csrf = fz_arena_strdup(req->arena, csrf);
	cookie = fz_cookie_format(req->arena, FZ_AS_SESSION_COOKIE, id, ttl);
	if (out->csrf == NULL || cookie == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	out->user_id = user_id;
	out->auth_time = user_id ? now : 0;
	out->created_at = now;
	out->expires_at = fz_time_add(now, ttl);
	rc = fz_as_store_session_put(as->store, out, err);
	if (rc == FZ_OK)
		rc = fz_http_add_header(req, "Set-Cookie", cookie, err);
	return rc;
}

fz_code fz_as_session_ensure(fz_as *as, fz_http_req *req, int64_t now,
			     fz_as_session *out, fz_err *err)
{
	bool found;
	fz_code rc = fz_as_session_load(as, req, now, out, &found, err);

	if (rc != FZ_OK || found)
		return rc;
	return session_new(as, req, 0, now, out, err);
}

fz_code fz_as_session_login(fz_as *as, fz_http_req *req, const fz_as_session *old,
			    int64_t user_id, int64_t now, fz_as_session *out,
			    fz_err *err)
{
	fz_code rc;

	if (old != NULL && old->id_hash != NULL) {
		rc = fz_as_store_session_delete(as->store, old->id_hash, err);
		if (rc != FZ_OK)
			return rc;
	}
	return session_new(as, req, user_id, now, out, err);
}

bool fz_as_csrf_ok(const fz_as_session *s, const char *token)
{
	if (s == NULL || s->csrf == NULL || token == NULL)
		return false;
	return fz_ct_equal(token, strlen(token), s->csrf, strlen(s->csrf));
}
