/*
 * as_grants.h - the grants POST /token dispatches to (as_token.c), one
 * function per grant_type, each in its own file:
 *
 *   authorization_code                                as_grant_code.c    (SPEC §6)
 *   refresh_token                                     as_grant_refresh.c (SPEC §6)
 *   urn:ietf:params:oauth:grant-type:token-exchange   as_exchange.c      (SPEC §7-§9)
 *
 * The endpoint has already parsed the form (no parameter repeated, RFC
 * 6749 §3.2), found grant_type, added the CORS headers for the webmail
 * and taken the time. A grant authenticates the client, checks its
 * parameters and the DPoP proof, and either answers itself with the
 * token response (fz_http_respond_json on tr->http, status 200) or
 * returns the failure in err: the endpoint answers it as the RFC 6749
 * §5.2 JSON error with err->status and err->oauth (adding
 * WWW-Authenticate: Basic to a 401 invalid_client sent with Basic
 * credentials). Headers the grant adds (DPoP-Nonce) go out either way.
 */
#ifndef FZ_AS_GRANTS_H
#define FZ_AS_GRANTS_H

#include <stdbool.h>
#include <stdint.h>

#include "as.h"
#include "form.h"
#include "http_server.h"

#define FZ_GRANT_AUTHORIZATION_CODE "authorization_code"
#define FZ_GRANT_REFRESH_TOKEN "refresh_token"
#define FZ_GRANT_TOKEN_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"

/* RFC 8693 §3 token type identifiers. */
#define FZ_TOKEN_TYPE_ACCESS "urn:ietf:params:oauth:token-type:access_token"
#define FZ_TOKEN_TYPE_JWT "urn:ietf:params:oauth:token-type:jwt"
#define FZ_TOKEN_TYPE_REFRESH "urn:ietf:params:oauth:token-type:refresh_token"

/* RFC 7523 §2.2 client assertion type. */
#define FZ_CLIENT_ASSERTION_TYPE_JWT \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* One token request as a grant sees it. */
typedef struct fz_as_token_req {
	fz_as *as;
	fz_http_req *http;    /* headers (DPoP, Authorization), client, arena */
	const fz_form *form;  /* the body, no name repeated */
	const char *grant_type;
	int64_t now;          /* taken once, so every check sees one time */
} fz_as_token_req;

typedef fz_code (*fz_as_grant_fn)(fz_as_token_req *tr, fz_err *err);

fz_code fz_as_grant_authorization_code(fz_as_token_req *tr, fz_err *err);
fz_code fz_as_grant_refresh_token(fz_as_token_req *tr, fz_err *err);
fz_code fz_as_grant_token_exchange(fz_as_token_req *tr, fz_err *err);

/* A body parameter: *value is NULL when absent or empty (RFC 6749 §3.1);
 * required turns that into 400 invalid_request naming it; a value longer
 * than limits.max_param_bytes is 400 invalid_request too. */
fz_code fz_as_token_param(const fz_as_token_req *tr, const char *name,
			  bool required, const char **value, fz_err *err);

#endif
