/*
 * mta_policy.c - exponential backoff with jitter and the permanent
 * statuses (mta_policy.h).
 */
#include "mta_policy.h"

int64_t fz_mta_backoff(uint32_t attempts, int64_t initial, int64_t max,
		       uint32_t rnd)
{
	int64_t d = initial < 1 ? 1 : initial, half;
	uint32_t i;

	if (max < d)
		max = d;
	/* doubling by steps so a large attempts count cannot overflow */
	for (i = 1; i < attempts && d < max; i++)
		d = d > max / 2 ? max : d * 2;
	if (d > max)
		d = max;
	half = d / 2;
	d = half + (int64_t)(rnd % (uint64_t)(d - half + 1));
	return d < 1 ? 1 : d;
}

bool fz_mta_status_permanent(long status)
{
	switch (status) {
	case 400: case 401: case 403: case 404: case 405:
	case 410: case 413: case 415: case 422:
		return true;
	default:
		return false;
	}
}

bool fz_mta_retry_allowed(int64_t created_at, int64_t now, int64_t delay,
			  int64_t give_up_after)
{
	return now - created_at + delay <= give_up_after;
}
