/* The Range header: whatever comes in, no crash; an accepted range lies
 * inside the representation, and formatting it and parsing it back gives
 * the same range. Input: the size in decimal, a newline, the header. The
 * header is also read as the Content-Range of a 206 (what a resumed fetch
 * checks), and the Content-Range we write for an accepted range must read
 * back as that range and size. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "range.h"

static void content_range(const char *s, size_t n)
{
	uint64_t whole = 1;
	bool known = true;
	fz_range r;

	if (fz_content_range_parse(s, n, &r, &whole, &known, NULL) != FZ_OK)
		return;
	if (r.first > r.last || (known && r.last >= whole) || (!known && whole != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *nl = memchr(data, '\n', size);
	char cr[FZ_CONTENT_RANGE_MAX], again[FZ_CONTENT_RANGE_MAX + 8];
	uint64_t len = 0, whole = 0;
	bool known = false;
	fz_range r, back;
	fz_err err = {0};
	size_t i, n;
	fz_code rc;

	if (nl == NULL)
		return 0;
	for (i = 0; s + i < nl && i < 20; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		len = len * 10 + (uint64_t)(s[i] - '0');
	}
	n = size - (size_t)(nl + 1 - s);
	content_range(nl + 1, n);
	rc = fz_range_parse(nl + 1, n, len, &r, &err);
	if (rc != FZ_OK) {
		if ((rc != FZ_ESYNTAX || err.status != 400) &&
		    ((rc != FZ_ESTRUCT && rc != FZ_ELIMIT) || err.status != 416))
			abort();
		fz_range_unsatisfied_format(len, cr);
		return 0;
	}
	if (r.first > r.last || r.last >= len || fz_range_length(&r) == 0)
		abort();
	fz_range_format(&r, len, cr);
	if (fz_content_range_parse(cr, strlen(cr), &back, &whole, &known, NULL) != FZ_OK ||
	    back.first != r.first || back.last != r.last || whole != len || !known)
		abort();
	/* "bytes a-b/size" -> "bytes=a-b" parses to the same range */
	memcpy(again, "bytes=", 6);
	n = strcspn(cr + 6, "/");
	memcpy(again + 6, cr + 6, n);
	if (fz_range_parse(again, 6 + n, len, &back, NULL) != FZ_OK ||
	    back.first != r.first || back.last != r.last)
		abort();
	return 0;
}
