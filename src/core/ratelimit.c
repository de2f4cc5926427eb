/*
 * ratelimit.c - token buckets in an open-addressed table. Tokens are kept
 * in thousandths so a slow rate still refills smoothly between requests.
 */
#include "ratelimit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MILLI 1000u

typedef struct bucket {
	char key[FZ_RATE_KEY_MAX + 1];
	uint64_t tokens_milli;
	uint64_t last_ms;
	bool used;
} bucket;

struct fz_ratelimit {
	uint64_t rate;        /* tokens per second */
	uint64_t burst_milli; /* bucket size, in thousandths of a token */
	size_t nslots;
	bucket *slots;
};

/* Probes this many slots from the key's home before taking the stalest:
 * bounds the work per request whatever the table size. */
#define PROBES 8

fz_code fz_ratelimit_new(uint32_t rate, uint32_t burst, size_t slots,
			 fz_ratelimit **out, fz_err *err)
{
	fz_ratelimit *rl;

	if (rate == 0 || burst == 0 || slots == 0)
		return fz_fail(err, FZ_ESYNTAX, "rate limit: rate, burst and slots must be positive");
	rl = calloc(1, sizeof(*rl));
	if (rl == NULL || (rl->slots = calloc(slots, sizeof(bucket))) == NULL) {
		free(rl);
		return fz_fail(err, FZ_ENOMEM, "rate limit: out of memory");
	}
	rl->rate = rate;
	rl->burst_milli = (uint64_t)burst * MILLI;
	rl->nslots = slots;
	*out = rl;
	return FZ_OK;
}

void fz_ratelimit_free(fz_ratelimit *rl)
{
	if (rl == NULL)
		return;
	free(rl->slots);
	free(rl);
}

/* FNV-1a: keys are addresses a client chooses only within its own
 * network, and a collision costs a probe, not correctness. */
static size_t home_of(const char *key, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (; *key != '\0'; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ull;
	}
	return (size_t)(h % n);
}

static bucket *find(fz_ratelimit *rl, const char *key, uint64_t now_ms)
{
	size_t home = home_of(key, rl->nslots), i;
	bucket *stalest = NULL;

	for (i = 0; i < PROBES && i < rl->nslots; i++) {
		bucket *b = &rl->slots[(home + i) % rl->nslots];
		if (b->used && strcmp(b->key, key) == 0)
			return b;
		if (!b->used || stalest == NULL || (stalest->used && b->last_ms < stalest->last_ms))
			stalest = b;
	}
	if (stalest == NULL) /* not reached: nslots >= 1 */
		stalest = &rl->slots[home];
	memset(stalest, 0, sizeof(*stalest));
	snprintf(stalest->key, sizeof(stalest->key), "%s", key);
	stalest->used = true;
	stalest->tokens_milli = rl->burst_milli;
	stalest->last_ms = now_ms;
	return stalest;
}

bool fz_ratelimit_take(fz_ratelimit *rl, const char *key, uint64_t now_ms,
		       uint32_t *retry_after_s)
{
	bucket *b = find(rl, key, now_ms);
	uint64_t missing;

	if (now_ms > b->last_ms) {
		/* rate tokens/s = rate milli-tokens/ms */
		uint64_t earned = (now_ms - b->last_ms) * rl->rate;
		b->tokens_milli = earned >= rl->burst_milli - b->tokens_milli
					  ? rl->burst_milli : b->tokens_milli + earned;
		b->last_ms = now_ms;
	}
	if (b->tokens_milli >= MILLI) {
		b->tokens_milli -= MILLI;
		return true;
	}
	missing = MILLI - b->tokens_milli;
	if (retry_after_s != NULL)
		*retry_after_s = (uint32_t)((missing + rl->rate * MILLI - 1) / (rl->rate * MILLI));
	return false;
}
