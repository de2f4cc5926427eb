/*
 * mta_policy.h - the queue's retry rules (SPEC §10), pure so they are
 * tested alone: when to try again, and which answers no retry can heal.
 */
#ifndef FZ_MTA_MTA_POLICY_H
#define FZ_MTA_MTA_POLICY_H

#include <stdbool.h>
#include <stdint.h>

/* Seconds to wait after the attempts-th failed attempt (1 the first):
 * initial doubled attempts - 1 times, capped at max, then jittered down
 * to a point in [d/2, d] chosen by rnd (any random number), so peers a
 * failure hit together do not all come back in the same second. At
 * least 1. */
int64_t fz_mta_backoff(uint32_t attempts, int64_t initial, int64_t max,
		       uint32_t rnd);

/* True for an HTTP status that is the peer's final word: a request it
 * refuses as it stands (400, 401, 403, 404, 405, 410, 413, 415, 422).
 * Everything else - 408, 425, 429, 5xx, no answer at all - may heal. */
bool fz_mta_status_permanent(long status);

/* True when an entry queued at created_at that failed at now should be
 * tried again at now + delay, false when that is past give_up_after. */
bool fz_mta_retry_allowed(int64_t created_at, int64_t now, int64_t delay,
			  int64_t give_up_after);

#endif
