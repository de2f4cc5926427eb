/*
 * jwk.h - signing keys and key sets: an fz_key is one ES256 (P-256) or
 * RS256 (RSA) key, private or public, bound to exactly one algorithm so a
 * token can never choose how its key is used (RFC 8725 §3.1).
 *
 * Private keys live as PKCS#8 PEM (the store writes the file); public
 * keys travel as JWK (RFC 7517) in JWKS documents and DPoP headers. A
 * public export never carries private members, and a JWK that does carry
 * them is refused wherever a public key is expected. The default kid is
 * the RFC 7638 thumbprint, so a key names itself.
 */
#ifndef FZ_CORE_JWK_H
#define FZ_CORE_JWK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "digest.h"
#include "err.h"
#include "jose.h"

#define FZ_RSA_DEFAULT_BITS 2048
#define FZ_RSA_MIN_BITS 2048 /* RFC 7518 §3.3 */
#define FZ_RSA_MAX_BITS 8192 /* bounds the cost of one verification */
#define FZ_RSA_E_MAX_BYTES 8
#define FZ_PEM_MAX_BYTES (64 * 1024)
#define FZ_JWKS_MAX_KEYS 32

/* The message of the FZ_EKEY a JWK with private members earns. */
#define FZ_JWK_PRIVATE_MSG "private key in jwk"

typedef struct fz_key fz_key;

/* A fresh key for alg; rsa_bits 0 means FZ_RSA_DEFAULT_BITS, ignored for
 * ES256. The kid is the thumbprint. */
fz_code fz_key_generate(fz_alg alg, unsigned rsa_bits, fz_key **out,
			fz_err *err);

/* Reads a private key from PEM (PKCS#8, or the traditional EC/RSA forms).
 * Encrypted PEM is refused rather than prompting on a terminal. */
fz_code fz_key_from_pem(const char *pem, size_t len, fz_key **out,
			fz_err *err);

/* Writes the private key as unencrypted PKCS#8 PEM into a malloc'd,
 * NUL-terminated buffer; free it with fz_secret_free(pem, len). */
fz_code fz_key_to_pem(const fz_key *key, char **pem, size_t *len,
		      fz_err *err);

/* Wipes and frees a buffer that held key material. */
void fz_secret_free(char *buf, size_t len);

/* Reads a public key from a JWK object. Private members, "oct" and any
 * kty or curve other than RSA and P-256 are FZ_EKEY. A missing kid
 * becomes the thumbprint. */
fz_code fz_key_from_jwk(const json_t *jwk, fz_key **out, fz_err *err);

/* The public JWK: kty, crv/x/y or n/e, kid, alg, use=sig. */
fz_code fz_key_to_jwk(const fz_key *key, json_t **out, fz_err *err);

/* Only the members RFC 7638 requires: for DPoP headers, where the key
 * needs no name and every byte travels with every request. */
fz_code fz_key_to_jwk_bare(const fz_key *key, json_t **out, fz_err *err);

void fz_key_free(fz_key *key);

fz_alg fz_key_alg(const fz_key *key);
bool fz_key_is_private(const fz_key *key);
const char *fz_key_kid(const fz_key *key);
/* Bits of the RSA modulus, or 256 for P-256. */
unsigned fz_key_bits(const fz_key *key);
/* Renames the key: 1..FZ_KID_MAX printable ASCII characters. */
fz_code fz_key_set_kid(fz_key *key, const char *kid, fz_err *err);
/* The RFC 7638 SHA-256 thumbprint, as DPoP's jkt compares it. */
const fz_digest_str *fz_key_thumbprint(const fz_key *key);

/* Thumbprint of a JWK object without keeping the key; it must be a
 * public key fz_key_from_jwk accepts. */
fz_code fz_jwk_thumbprint(const json_t *jwk, fz_digest_str *out, fz_err *err);

/* True when the JWK object has any private member (d, p, q, dp, dq, qi,
 * oth, k). */
bool fz_jwk_has_private(const json_t *jwk);

/* --- key sets: a JWKS, or our own signing keys ------------------------ */

typedef struct fz_keyset fz_keyset;

fz_keyset *fz_keyset_new(void);
void fz_keyset_free(fz_keyset *set);

/* Adds key, taking ownership even on failure. A kid already in the set
 * is FZ_ECONFLICT. */
fz_code fz_keyset_add(fz_keyset *set, fz_key *key, fz_err *err);

/* NULL when no key has that kid. */
const fz_key *fz_keyset_find(const fz_keyset *set, const char *kid);
size_t fz_keyset_count(const fz_keyset *set);
const fz_key *fz_keyset_at(const fz_keyset *set, size_t i);

/* {"keys": [public JWK, ...]} */
fz_code fz_keyset_to_jwks(const fz_keyset *set, json_t **out, fz_err *err);

/* Reads a JWKS. Keys we cannot use (another kty or curve, use other than
 * sig, an alg we do not speak) are skipped as RFC 7517 §5 asks; a key
 * with private members or kty "oct" refuses the whole set, since a
 * publisher that leaks secrets is not one to trust. */
fz_code fz_keyset_from_jwks(const json_t *jwks, fz_keyset **out, fz_err *err);

#endif
