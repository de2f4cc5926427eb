/*
 * as_pages.h - the HTML pages a person sees at the AS: the login form,
 * the consent form, an error page, and the page after a login that was
 * not part of an authorization request. Every string from a request or
 * the database goes through the escaping builder (as_web.h).
 *
 * Form field names are part of the interface (SPEC §12; tests scrape
 * them): username, password, csrf_token, authz (the pending /authorize
 * request as a query string), consent (allow or deny).
 */
#ifndef FZ_AS_PAGES_H
#define FZ_AS_PAGES_H

#include "as.h"
#include "as_authz.h"
#include "http_server.h"

#define FZ_AS_AUTHZ_FIELD "authz"
#define FZ_AS_CONSENT_FIELD "consent"

typedef struct fz_as_login_page {
	const char *csrf;     /* required */
	const char *authz;    /* pending /authorize query, or NULL */
	const char *username; /* to fill in again, or NULL */
	const char *message;  /* why the form is shown again, or NULL */
} fz_as_login_page;

fz_code fz_as_page_login(fz_as *as, fz_http_req *req, unsigned status,
			 const fz_as_login_page *p, fz_err *err);

/* Asks user whether az->client may have access (RFC 6749 §4.1.1's
 * "obtains an authorization decision"), posting back to /authorize. */
fz_code fz_as_page_consent(fz_as *as, fz_http_req *req, const fz_as_authz *az,
			   const char *user, const char *csrf, fz_err *err);

/* A page that refuses, saying why (text, escaped). */
fz_code fz_as_page_error(fz_http_req *req, unsigned status, const char *title,
			 const char *detail, fz_err *err);

/* "Signed in as user": /login used on its own. */
fz_code fz_as_page_signed_in(fz_http_req *req, const char *user, fz_err *err);

#endif
