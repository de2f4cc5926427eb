/*
 * pkce.h - Proof Key for Code Exchange (RFC 7636), S256 only (SPEC §6):
 * the AS stores the challenge at /authorize and checks the verifier at
 * /token. Also the constant-time comparison every secret check uses.
 */
#ifndef FZ_CORE_PKCE_H
#define FZ_CORE_PKCE_H

#include <stdbool.h>
#include <stddef.h>

#include "digest.h"
#include "err.h"

#define FZ_PKCE_VERIFIER_MIN 43  /* RFC 7636 §4.1 */
#define FZ_PKCE_VERIFIER_MAX 128
#define FZ_PKCE_VERIFIER_BYTES 32 /* a new verifier: 43 characters */
#define FZ_PKCE_CHALLENGE_LEN FZ_DIGEST_LEN

/* True when a[0..an) equals b[0..bn). Time depends on the lengths only,
 * which are public (a digest, a fixed-size token), never on the bytes. */
bool fz_ct_equal(const void *a, size_t an, const void *b, size_t bn);

/* 43..128 characters of [A-Za-z0-9-._~]. */
fz_code fz_pkce_verifier_check(const char *v, size_t n, fz_err *err);

/* A fresh verifier from the CSPRNG, for clients. */
fz_code fz_pkce_verifier_new(char out[FZ_PKCE_VERIFIER_MAX + 1], fz_err *err);

/* S256: base64url(SHA-256(ASCII(verifier))), after checking it. */
fz_code fz_pkce_challenge_s256(const char *v, size_t n, fz_digest_str *out,
			       fz_err *err);

/* A code_challenge as received at /authorize: 43 base64url characters. */
fz_code fz_pkce_challenge_check(const char *c, size_t n, fz_err *err);

/* The token endpoint's check: the verifier hashes to the stored
 * challenge. A mismatch is FZ_EDENIED with OAuth error invalid_grant. */
fz_code fz_pkce_verify(const char *verifier, size_t vn, const char *challenge,
		       size_t cn, fz_err *err);

#endif
