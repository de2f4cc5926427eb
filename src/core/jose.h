/*
 * jose.h - what the JOSE layer (jwk, jws, jwt, dpop) shares: the two
 * algorithms the protocol knows (SPEC §2), the limits a server loads from
 * its configuration, and random identifiers.
 *
 * Only ES256 and RS256 exist. Every other name, "none" and HMAC above all,
 * is refused by name before any key is looked at (RFC 8725 §3.1, §3.2).
 */
#ifndef FZ_CORE_JOSE_H
#define FZ_CORE_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Algorithms are bits so an allow-list is one unsigned. */
typedef enum fz_alg {
	FZ_ALG_ES256 = 1u << 0, /* ECDSA P-256 SHA-256, the default */
	FZ_ALG_RS256 = 1u << 1, /* RSASSA-PKCS1-v1_5 SHA-256, the seed's */
} fz_alg;

#define FZ_ALGS_ALL (FZ_ALG_ES256 | FZ_ALG_RS256)

/* Default limits; a server overrides them from its configuration. */
#define FZ_JWS_MAX_BYTES (64 * 1024)  /* a compact JWT or assertion */
#define FZ_DPOP_MAX_BYTES (8 * 1024)  /* a DPoP proof: a header, not a body */
#define FZ_JOSE_LEEWAY 30             /* seconds of clock skew tolerated */
#define FZ_DPOP_IAT_WINDOW 60         /* seconds a DPoP proof stays fresh */
#define FZ_JOSE_LEEWAY_MAX 600        /* sanity bound on configured skew */

/* Bounds on strings taken from tokens, so logs and caches stay small. */
#define FZ_KID_MAX 128
#define FZ_JTI_MAX 256
#define FZ_ALG_NAME_MAX 16

/* A new jti carries this much randomness (RFC 9449 §4.2 asks for 96
 * bits or more); its base64url form is FZ_JTI_LEN characters. */
#define FZ_JTI_BYTES 16
#define FZ_JTI_LEN 22

typedef struct fz_jose_config {
	size_t jws_max_bytes;    /* FZ_JWS_MAX_BYTES */
	size_t dpop_max_bytes;   /* FZ_DPOP_MAX_BYTES */
	int64_t leeway;          /* FZ_JOSE_LEEWAY */
	int64_t dpop_iat_window; /* FZ_DPOP_IAT_WINDOW */
	unsigned algs;           /* allow-list, FZ_ALGS_ALL */
} fz_jose_config;

void fz_jose_config_defaults(fz_jose_config *cfg);

/* Checks a configuration loaded from a file: no zero sizes, no empty or
 * unknown algorithm set, skew within FZ_JOSE_LEEWAY_MAX. */
fz_code fz_jose_config_check(const fz_jose_config *cfg, fz_err *err);

/* "ES256" or "RS256"; "?" for anything else. */
const char *fz_alg_name(fz_alg alg);

/* Maps a header's alg to fz_alg. Every refusal is FZ_EALG, with a message
 * that says which kind: unsecured ("none"), HMAC (HS*), or unsupported. */
fz_code fz_alg_parse(const char *name, fz_alg *out, fz_err *err);

/* As fz_alg_parse, then checks the allow-list. */
fz_code fz_alg_allowed(const char *name, unsigned allowed, fz_alg *out,
		       fz_err *err);

/* nbytes from the CSPRNG as base64url into out[0..outsz). */
fz_code fz_random_b64url(size_t nbytes, char *out, size_t outsz, fz_err *err);

/* Copies s into buf for a log message, replacing anything outside
 * printable ASCII by '?' and truncating, so a token cannot forge log
 * lines. Returns buf. */
const char *fz_jose_printable(const char *s, char *buf, size_t bufsz);

/* Adds a and b, clamping to the int64_t range: times come from tokens. */
int64_t fz_time_add(int64_t a, int64_t b);

#endif
