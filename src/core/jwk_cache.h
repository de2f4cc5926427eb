/*
 * jwk_cache.h - public keys already imported from a JWK, found again by
 * the JWK's exact text. A DPoP proof carries its key in every header,
 * and a domain's MTAs sign every proof with the one key they keep
 * (mta.dpop_key), so the AS and the Mailbox see the same JWK again and
 * again; importing it (base64url, the curve, the on-curve check, the
 * thumbprint) was a large part of checking a proof.
 *
 * Only the import is kept: whoever gets a key still verifies the
 * signature with it every time. A JWK that differs from a cached one in
 * any member, kid, alg or use included, is another entry, so whatever
 * fz_key_from_jwk would refuse is refused again.
 *
 * One cache per process, shared by the server's threads. A key stays
 * valid while its holder keeps the ref, even once evicted.
 */
#ifndef FZ_CORE_JWK_CACHE_H
#define FZ_CORE_JWK_CACHE_H

#include <jansson.h>
#include <stddef.h>

#include "err.h"
#include "jwk.h"

/* Keys kept. Each sending domain's MTAs usually share one DPoP key, so
 * a server sees about one key per peer domain it hears from; 64 covers
 * a busy server's peers while a scan of the table stays shorter than
 * one import. A flood of fresh keys only evicts the least recently
 * used, and costs each of its requests what an import cost before. */
#define FZ_JWK_CACHE_KEYS 64

/* Longest JWK text that is cached. An RSA key of FZ_RSA_MAX_BITS is
 * about 1.4 KB as a JWK; a longer text carries members no key needs,
 * and is imported every time rather than let it take memory. */
#define FZ_JWK_CACHE_TEXT_MAX 2048

typedef struct fz_jwk_ref fz_jwk_ref;

/* The public key of jwk, as fz_key_from_jwk reads it, from the cache or
 * imported (and then cached). Release *ref with fz_jwk_ref_release. */
fz_code fz_jwk_cache_get(const json_t *jwk, fz_jwk_ref **ref, fz_err *err);

const fz_key *fz_jwk_ref_key(const fz_jwk_ref *ref);

/* NULL is a no-op. */
void fz_jwk_ref_release(fz_jwk_ref *ref);

/* What the cache did since the process started, for tests and
 * benchmarks. */
typedef struct fz_jwk_cache_stats {
	size_t hits, misses, evictions, keys;
} fz_jwk_cache_stats;

void fz_jwk_cache_get_stats(fz_jwk_cache_stats *out);

/* Forgets every key; keys still held stay valid until released. */
void fz_jwk_cache_clear(void);

#endif
