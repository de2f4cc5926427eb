/*
 * jwk_int.h - the inside of an fz_key, shared by the files that make
 * keys (jwk.c, jwk_pem.c, jwk_set.c) and jws.c, which needs the cjose
 * handle. Kept out of jwk.h so cjose's and OpenSSL's types stay inside
 * the JOSE files.
 */
#ifndef FZ_CORE_JWK_INT_H
#define FZ_CORE_JWK_INT_H

#include <cjose/jwk.h>
#include <openssl/evp.h>

#include "jwk.h"

#define FZ_EC_COORD_LEN 32 /* P-256 */

struct fz_key {
	fz_alg alg;
	bool priv;
	unsigned bits;
	EVP_PKEY *pkey;  /* private keys only: what PEM export needs */
	cjose_jwk_t *cj; /* signs (private) or verifies (either) */
	char *x, *y;     /* EC public members, base64url */
	char *n, *e;     /* RSA public members, base64url */
	char kid[FZ_KID_MAX + 1];
	fz_digest_str jkt;
};

/* Computes the thumbprint and names the key kid, or its thumbprint when
 * kid is NULL. The last step of making any key. */
fz_code fz_key_finish(fz_key *key, const char *kid, fz_err *err);

/* fz_key_from_jwk, also telling a JWKS reader through *skip that the key
 * is merely not ours to use (another kty, curve, use or alg), as opposed
 * to a key that must not be published at all. */
fz_code fz_jwk_import(const json_t *jwk, fz_key **out, bool *skip, fz_err *err);

const cjose_jwk_t *fz_key_cjose(const fz_key *key);

#endif
