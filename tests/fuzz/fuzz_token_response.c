/* A token endpoint's answer, as a peer AS sends it: whatever the body, no
 * crash and no leak. Each body is read as a 200, as the 400 and 401 that
 * may ask for a DPoP nonce, and as a 503 and a 302. A 200 is a token with
 * access_token and token_type or FZ_ESTRUCT; any other status is refused
 * with an error status in 400..599, a static OAuth code and a printable
 * message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "oauth_token.h"

static const long statuses[] = {200, 400, 401, 503, 302};

static void check_refusal(long status, fz_code rc, const fz_err *err)
{
	size_t i;

	if (rc != FZ_EDENIED && rc != FZ_EIO)
		abort();
	if (err->status < 400 || err->status > 599 || err->oauth == NULL)
		abort();
	if (status >= 400 && status <= 599 && err->status != status)
		abort();
	for (i = 0; err->msg[i] != '\0'; i++)
		if ((unsigned char)err->msg[i] < 0x20 || (unsigned char)err->msg[i] > 0x7e)
			abort();
}

static void read_one(long status, const uint8_t *data, size_t size)
{
	fz_arena *a = fz_arena_new(0, 0);
	fz_oauth_token t;
	fz_err err = {0};
	fz_code rc;

	if (a == NULL)
		return;
	memset(&t, 0, sizeof(t));
	(void)fz_oauth_wants_nonce(a, status, (const char *)data, size);
	rc = fz_oauth_token_read(a, status, (const char *)data, size, &t, &err);
	if (status != 200)
		check_refusal(status, rc, &err);
	else if (rc == FZ_OK && (t.access_token == NULL || t.token_type == NULL))
		abort();
	else if (rc != FZ_OK && rc != FZ_ESTRUCT)
		abort();
	fz_arena_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i;

	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
		read_one(statuses[i], data, size);
	return 0;
}
