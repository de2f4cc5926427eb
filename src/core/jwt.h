/*
 * jwt.h - JWT claim checks (RFC 7519 §4.1, RFC 9068 §4, RFC 8725 §3.11)
 * over a JWS that has already been verified: issuer, audience, the three
 * times, explicit typing and required claims. Every failure is
 * FZ_ECLAIM with a message that names the claim.
 */
#ifndef FZ_CORE_JWT_H
#define FZ_CORE_JWT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "jws.h"

/* Common typ values (header), compared as RFC 7515 §4.1.9 says: case-
 * insensitive, with an optional "application/" prefix. */
#define FZ_TYP_AT_JWT "at+jwt"     /* RFC 9068 access tokens */
#define FZ_TYP_DPOP "dpop+jwt"     /* RFC 9449 proofs */
#define FZ_TYP_JWT "JWT"

typedef struct fz_jwt_expect {
	const char *typ;        /* header typ; NULL: not checked */
	const char *iss;        /* exact match; NULL: not checked */
	const char *aud;        /* aud is it, or an array holding it; NULL: not checked */
	bool require_exp;       /* exp present; when present it is always checked */
	bool require_iat;       /* iat present; when present it is always checked */
	int64_t max_age;        /* > 0: iat no older than this; implies require_iat */
	int64_t leeway;         /* clock skew in seconds, FZ_JOSE_LEEWAY */
	const char *const *required; /* NULL-terminated claim names, or NULL */
} fz_jwt_expect;

/* Defaults: exp required, leeway FZ_JOSE_LEEWAY, nothing else. */
void fz_jwt_expect_defaults(fz_jwt_expect *exp);

/* Checks the claims of a verified jws at time now (seconds since the
 * epoch). An unverified jws is refused: claims of an unchecked token are
 * not evidence of anything. */
fz_code fz_jwt_check(const fz_jws *jws, const fz_jwt_expect *exp, int64_t now,
		     fz_err *err);

/* True when header typ t names want per RFC 7515 §4.1.9. */
bool fz_jwt_typ_is(const char *t, const char *want);

/* A string claim, or NULL when absent or not a string. */
const char *fz_jwt_str(const json_t *claims, const char *name);

/* An integer claim into *out; FZ_ECLAIM when absent or not an integer. */
fz_code fz_jwt_int(const json_t *claims, const char *name, int64_t *out,
		   fz_err *err);

/* A new random jti: FZ_JTI_BYTES from the CSPRNG as base64url. */
fz_code fz_jwt_new_jti(char out[FZ_JTI_LEN + 1], fz_err *err);

/* Reads cnf.jkt (RFC 9449 §6) of a DPoP-bound token's claims. */
fz_code fz_jwt_cnf_jkt(const json_t *claims, fz_digest_str *out, fz_err *err);

#endif
