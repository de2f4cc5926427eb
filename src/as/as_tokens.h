/*
 * as_tokens.h - minting the JWTs the AS signs: RFC 9068 access tokens
 * (SPEC §6 for the webmail, §8.2 for fetching) and, through
 * fz_as_sign_jwt, anything else with the current key (the JWT assertions
 * of SPEC §7.3 and §9).
 */
#ifndef FZ_AS_TOKENS_H
#define FZ_AS_TOKENS_H

#include <jansson.h>
#include <stdint.h>

#include "as.h"
#include "digest.h"
#include "err.h"
#include "jose.h"

/* What goes into an access token besides iss, iat, exp and jti, which
 * the AS sets. */
typedef struct fz_as_access_token {
	const char *sub;          /* required: the user's address, or a client's id */
	const char *email;        /* the user's address, or NULL */
	const char *aud;          /* required: the resource server's base URL */
	const char *scope;        /* required: space-separated */
	const char *client_id;    /* required: the client it was issued to */
	const char *azp;          /* the authorized party (SPEC §8.2), or NULL */
	const fz_digest_str *jkt; /* DPoP key thumbprint: cnf.jkt, or NULL (bearer) */
	const json_t *extra;      /* more members (message_id), or NULL; they may
				   * not replace any member above */
	int64_t ttl;              /* seconds; 0: tokens.access_ttl */
} fz_as_access_token;

typedef struct fz_as_minted {
	char *jwt;                /* malloc'd compact JWS */
	char jti[FZ_JTI_LEN + 1];
	int64_t iat;
	int64_t exp;
} fz_as_minted;

/* Mints an `at+jwt` (RFC 9068 §2) signed with the current key: header
 * {alg, typ: "at+jwt", kid}; claims iss, sub, aud, scope, client_id, iat,
 * exp, jti, and email, azp, cnf.jkt when given. */
fz_code fz_as_mint_access_token(fz_as *as, const fz_as_access_token *t,
				fz_as_minted *out, fz_err *err);

/* Signs claims as they are with the current key; *out is malloc'd. */
fz_code fz_as_sign_jwt(fz_as *as, const char *typ, const json_t *claims,
		       char **out, fz_err *err);

/* Frees out->jwt and clears. */
void fz_as_minted_clear(fz_as_minted *m);

#endif
