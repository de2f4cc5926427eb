/* The sync state a client sends as ?since=: whatever comes in, no crash;
 * a refusal is always 410 state_too_old, and an accepted state is the
 * exact text the server writes for its modseq. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sync_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char back[FZ_SYNC_STATE_MAX];
	fz_err err = {0};
	uint64_t v = 0;

	if (fz_sync_state_parse((const char *)data, size, &v, &err) != FZ_OK) {
		if (err.status != 410)
			abort();
		return 0;
	}
	fz_sync_state_format(v, back);
	if (strlen(back) != size || memcmp(back, data, size) != 0)
		abort();
	return 0;
}
