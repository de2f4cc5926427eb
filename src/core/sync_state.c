/*
 * sync_state.c - reading and writing the sync state (sync_state.h).
 */
#include "sync_state.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void fz_sync_state_format(uint64_t modseq, char out[FZ_SYNC_STATE_MAX])
{
	snprintf(out, FZ_SYNC_STATE_MAX, FZ_SYNC_STATE_PREFIX "%" PRIu64, modseq);
}

static fz_code gone(fz_err *err)
{
	return fz_fail_http(err, FZ_ENOTFOUND, 410, "state_too_old",
			    "this sync state cannot be answered: sync again without since");
}

fz_code fz_sync_state_parse(const char *s, size_t n, uint64_t *out, fz_err *err)
{
	const size_t p = sizeof(FZ_SYNC_STATE_PREFIX) - 1;
	uint64_t v = 0;
	unsigned d;
	size_t i;

	if (n <= p || n >= FZ_SYNC_STATE_MAX || memcmp(s, FZ_SYNC_STATE_PREFIX, p) != 0)
		return gone(err);
	/* one form per modseq: "1.07" was never written */
	if (s[p] == '0' && n > p + 1)
		return gone(err);
	for (i = p; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return gone(err);
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return gone(err);
		v = v * 10 + d;
	}
	*out = v;
	return FZ_OK;
}
