/* Placeholder Messages as YAML: whatever comes in, no crash, no leak, and
 * an accepted document reads back the same from JSON and YAML with the
 * same Body-Digest. */
#include <stdint.h>

#include "fuzz_placeholder_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = NULL;

	if (fz_placeholder_from_yaml((const char *)data, size, NULL, &doc, NULL) != FZ_OK)
		return 0;
	if (fz_placeholder_check(doc, NULL, NULL) != FZ_OK) {
		json_decref(doc);
		return 0;
	}
	fz_fuzz_accepted(doc);
	return 0;
}
