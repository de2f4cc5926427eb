/* Content-ID and base64url parsing: whatever comes in, no crash, and an
 * accepted Content-ID always re-encodes to the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "digest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_digest_str d;
	char cid[FZ_DIGEST_LEN + 3];
	uint8_t *raw = NULL;
	size_t len;

	if (fz_content_id_parse((const char *)data, size, &d, NULL) == FZ_OK) {
		fz_content_id_format(&d, cid);
		if (memmem(data, size, cid, strlen(cid)) == NULL)
			abort();
	}
	if (fz_b64url_decode_alloc((const char *)data, size, &raw, &len, NULL) == FZ_OK) {
		char *back = fz_b64url_encode_alloc(raw, len);
		if (back == NULL || strlen(back) != size || memcmp(back, data, size) != 0)
			abort();
		free(back);
		free(raw);
	}
	return 0;
}
