/* RFC 8785 canonical JSON: whatever JSON comes in, no crash and no leak;
 * its canonical form is valid JSON whose own canonical form is the same
 * bytes, and its digest is the digest of those bytes. The first eight
 * bytes, read as a double, also go through the number writer, whose text
 * must read back as the same double. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"

#define LOAD_FLAGS (JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES)

static void number(const uint8_t *data, size_t size)
{
	char out[FZ_JCS_NUM_MAX];
	size_t len = 0;
	double d;

	if (size < sizeof(d))
		return;
	memcpy(&d, data, sizeof(d));
	if (fz_jcs_number(d, out, &len, NULL) != FZ_OK) {
		if (isfinite(d))
			abort();
		return;
	}
	if (!isfinite(d) || len == 0 || len >= FZ_JCS_NUM_MAX || strlen(out) != len)
		abort();
	if (strtod(out, NULL) != d)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *v = json_loadb((const char *)data, size, LOAD_FLAGS, NULL), *back;
	char *once = NULL, *twice = NULL;
	size_t n1 = 0, n2 = 0;
	fz_digest_str d, want;

	number(data, size);
	if (v == NULL)
		return 0;
	if (fz_jcs(v, &once, &n1, NULL) != FZ_OK)
		goto out; /* e.g. nesting past FZ_JCS_MAX_DEPTH */
	/* JCS writes 5e19 as 50000000000000000000, past jansson's integers:
	 * read numbers back as the doubles JCS took them for. */
	back = json_loadb(once, n1, LOAD_FLAGS | JSON_DECODE_INT_AS_REAL, NULL);
	if (back == NULL || fz_jcs(back, &twice, &n2, NULL) != FZ_OK || n1 != n2 ||
	    memcmp(once, twice, n1) != 0)
		abort();
	if (fz_jcs_digest(v, &d, NULL) != FZ_OK)
		abort();
	fz_digest(once, n1, &want);
	if (strcmp(d.s, want.s) != 0)
		abort();
	json_decref(back);
	free(twice);
out:
	free(once);
	json_decref(v);
	return 0;
}
