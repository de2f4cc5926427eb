/*
 * cache_ttl.h - how long a discovered fact may be kept: the freshness
 * lifetime an HTTP response grants (RFC 9111 Cache-Control) and the clamp
 * every cache lifetime goes through, so a peer can neither pin its data
 * in our caches for days nor make us refetch on every request.
 */
#ifndef FZ_CORE_CACHE_TTL_H
#define FZ_CORE_CACHE_TTL_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 9111 §1.2.2: a delta-seconds value too large is taken as 2^31. */
#define FZ_CACHE_DELTA_SECONDS_MAX 2147483648U

/* Reads a Cache-Control field value. Returns true and sets *seconds when
 * it sets a lifetime: max-age=N gives N, no-store and no-cache give 0
 * (do not reuse). Directive names compare case-insensitively; the
 * smallest of several lifetimes wins, and a malformed max-age counts as 0
 * (RFC 9111 §4.2.1: an invalid value means stale). False, leaving
 * *seconds alone, when cc is NULL or says nothing about lifetime. */
bool fz_cache_control_max_age(const char *cc, uint32_t *seconds);

/* ttl limited to [min, max]; max wins when min > max. */
uint32_t fz_ttl_clamp(uint32_t ttl, uint32_t min, uint32_t max);

#endif
