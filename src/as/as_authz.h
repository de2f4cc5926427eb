/*
 * as_authz.h - one authorization request (RFC 6749 §4.1.1, RFC 7636
 * §4.3, RFC 9449 §10) as /authorize, the consent form and the login form
 * carry it: checked in two steps, because the two kinds of failure are
 * answered differently (§4.1.2.1):
 *
 *   1. client_id and redirect_uri. Until both are known good nothing is
 *      redirected anywhere: a failure is an HTML error page (no open
 *      redirector, RFC 9700 §4.11).
 *   2. everything else. A failure is a redirect to the client with
 *      error, error_description, state (when sent) and iss (RFC 9207).
 */
#ifndef FZ_AS_AUTHZ_H
#define FZ_AS_AUTHZ_H

#include <stdbool.h>
#include <stdint.h>

#include "as.h"
#include "form.h"
#include "http_server.h"

typedef struct fz_as_authz {
	const char *client_id;
	const char *redirect_uri;   /* one the client registered, exactly */
	const char *response_type;  /* "code" */
	const char *state;          /* required (SPEC §6) */
	const char *scope;          /* "internet_mail", the default too */
	const char *code_challenge; /* S256 only */
	const char *code_challenge_method;
	const char *dpop_jkt;       /* RFC 9449 §10, or NULL */
	fz_as_client client;
} fz_as_authz;

/* Step 1 on params (a query or a form body). A failure is for an error
 * page: err->msg says what, err->status is 400 (or 5xx). */
fz_code fz_as_authz_client(fz_as *as, fz_http_req *req, const fz_form *params,
			   fz_as_authz *az, fz_err *err);

/* Step 2, after step 1 succeeded. A failure carries the OAuth error to
 * redirect with in err->oauth (or a 5xx status for our own trouble). */
fz_code fz_as_authz_check(fz_as *as, const fz_form *params, fz_as_authz *az,
			  fz_err *err);

/* The checked request as a query string, to carry it through the login
 * form; in the arena. */
fz_code fz_as_authz_query(fz_arena *a, const fz_as_authz *az, const char **out,
			  fz_err *err);

/* Redirects (status 302 or 303) to the client with the error of e. */
fz_code fz_as_authz_redirect_error(fz_as *as, fz_http_req *req,
				   const fz_as_authz *az, const fz_err *e,
				   unsigned status, fz_err *err);

/* Issues a code for user_id and redirects to the client with code,
 * state and iss. */
fz_code fz_as_authz_grant(fz_as *as, fz_http_req *req, const fz_as_authz *az,
			  int64_t user_id, int64_t now, unsigned status,
			  fz_err *err);

#endif
