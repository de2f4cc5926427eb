/*
 * oauth_client.h - the MTA as an OAuth client of its own AS (SPEC §7.2,
 * §8.1, §9): a confidential client authenticating with private_key_jwt
 * (RFC 7523 §2.2) and proving possession of a DPoP key (RFC 9449) at the
 * token endpoint, making RFC 8693 token exchanges. The sending mailbox
 * uses it for access token -> assertion; the MTA worker for assertion ->
 * assertion (forward) and assertion -> access token (fetch).
 *
 * Every request gets a fresh client assertion (iss = sub = client_id,
 * aud = the token endpoint, a random jti, exp a minute ahead) and a fresh
 * proof. An AS that answers use_dpop_nonce is asked once more with the
 * DPoP-Nonce it sent (RFC 9449 §8); the nonce is not kept between calls.
 */
#ifndef FZ_NET_OAUTH_CLIENT_H
#define FZ_NET_OAUTH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "http_client.h"
#include "jwk.h"

#define FZ_OAUTH_GRANT_TOKEN_EXCHANGE "urn:ietf:params:oauth:grant-type:token-exchange"
#define FZ_OAUTH_TT_ACCESS "urn:ietf:params:oauth:token-type:access_token"
#define FZ_OAUTH_TT_JWT "urn:ietf:params:oauth:token-type:jwt"
#define FZ_OAUTH_ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

/* Seconds a client assertion lives: the AS allows up to 300
 * (client_auth.assertion_max_lifetime); short limits what a leaked one
 * could do, long enough for clock skew. */
#define FZ_OAUTH_ASSERTION_TTL_DEFAULT 60
/* A token response we read: the assertion and its JSON wrapper. */
#define FZ_OAUTH_MAX_RESPONSE_BYTES (128 * 1024)
#define FZ_OAUTH_MAX_PARAMS 16

typedef struct fz_oauth_client {
	const char *client_id;
	const fz_key *client_key;   /* private_key_jwt signing key */
	const fz_key *dpop_key;     /* the DPoP key what is issued is bound to */
	const char *token_endpoint; /* https URL, from the AS's RFC 8414 metadata */
	const char *resolve;        /* CURLOPT_RESOLVE entry for its host, or NULL */
	int64_t assertion_ttl;      /* seconds; 0: FZ_OAUTH_ASSERTION_TTL_DEFAULT */
} fz_oauth_client;

typedef struct fz_oauth_param {
	const char *name;
	const char *value;
} fz_oauth_param;

/* A successful token response (RFC 6749 §5.1, RFC 8693 §2.2.1); the
 * strings live in the arena. */
typedef struct fz_oauth_token {
	const char *access_token;
	const char *issued_token_type; /* NULL when absent */
	const char *token_type;
	const char *scope;             /* NULL when absent */
	int64_t expires_in;            /* -1 when absent */
} fz_oauth_token;

/* POSTs grant_type and params (at most FZ_OAUTH_MAX_PARAMS) to the token
 * endpoint with the client's authentication and a DPoP proof made at
 * now. An RFC 6749 §5.2 error answer is FZ_EDENIED with err->status the
 * AS's status, err->oauth its error code (a static copy of a known code,
 * else "server_error") and err->msg "error: description". A transport
 * failure is FZ_EIO; a 2xx that is no token response, FZ_ESTRUCT. */
fz_code fz_oauth_token_request(const fz_oauth_client *oc, fz_http_client *http,
			       fz_arena *a, const char *grant_type,
			       const fz_oauth_param *params, size_t nparams,
			       int64_t now, fz_oauth_token *out, fz_err *err);

/* The client assertion alone (for tests): a compact JWS, malloc'd. */
fz_code fz_oauth_client_assertion(const fz_oauth_client *oc, int64_t now,
				  char **out, fz_err *err);

/* application/x-www-form-urlencoded form of params into the arena. */
fz_code fz_oauth_form_encode(fz_arena *a, const fz_oauth_param *params,
			     size_t nparams, const char **out, size_t *len,
			     fz_err *err);

#endif
