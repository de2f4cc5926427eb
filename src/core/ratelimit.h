/*
 * ratelimit.h - a token bucket per key (a client address), in a fixed
 * table so memory stays bounded however many addresses knock.
 *
 * Each key earns `rate` tokens a second up to `burst`; a request spends
 * one. When the table is full, the bucket idle longest is given to the
 * newcomer: an address that has been quiet that long has a full bucket
 * anyway, so forgetting it changes nothing it could notice. Time is a
 * parameter (milliseconds), so the logic is tested without clocks. Not
 * thread-safe: the caller holds a lock.
 */
#ifndef FZ_CORE_RATELIMIT_H
#define FZ_CORE_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FZ_RATE_KEY_MAX 64 /* an IPv6 address in text fits */

typedef struct fz_ratelimit fz_ratelimit;

/* rate: tokens per second (> 0); burst: bucket size (>= 1); slots: keys
 * remembered at once (>= 1). */
fz_code fz_ratelimit_new(uint32_t rate, uint32_t burst, size_t slots,
			 fz_ratelimit **out, fz_err *err);
void fz_ratelimit_free(fz_ratelimit *rl);

/* Spends a token of key at now_ms. True when allowed; otherwise false and
 * *retry_after_s says how many whole seconds until a token is there. */
bool fz_ratelimit_take(fz_ratelimit *rl, const char *key, uint64_t now_ms,
		       uint32_t *retry_after_s);

#endif
