/* urlencoded forms and queries: whatever comes in, no crash, and what is
 * accepted is consistent: lengths match the strings (no hidden NUL), the
 * limits hold, a body and a query parse alike, and re-encoding the
 * parsed pairs and parsing again gives the same pairs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

static const char unreserved[] = "-._~";

/* Percent-encodes everything but letters, digits and -._~ */
static size_t encode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || (c != 0 && strchr(unreserved, c))) {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, 4, "%%%02X", c);
			o += 3;
		}
	}
	return o;
}

static void check_same(const fz_form *a, const fz_form *b)
{
	size_t i;

	if (a->count != b->count)
		abort();
	for (i = 0; i < a->count; i++) {
		if (a->params[i].name_len != b->params[i].name_len ||
		    a->params[i].value_len != b->params[i].value_len ||
		    memcmp(a->params[i].name, b->params[i].name, a->params[i].name_len) ||
		    memcmp(a->params[i].value, b->params[i].value, a->params[i].value_len))
			abort();
	}
	if ((a->repeated == NULL) != (b->repeated == NULL))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const fz_form_limits lim = {.max_params = 16, .max_bytes = 4096};
	const fz_form_limits big = {.max_params = 100000, .max_bytes = SIZE_MAX};
	fz_arena *a = fz_arena_new(0, 0);
	fz_form f, q, back;
	const char *v;
	char *enc;
	size_t i, o = 0;
	fz_code rf, rq;

	if (a == NULL)
		return 0;
	rf = fz_form_parse(a, (const char *)data, size, &lim, &f, NULL);
	rq = fz_query_parse(a, (const char *)data, size, &lim, &q, NULL);
	if (rf != rq)
		abort();
	if (rf != FZ_OK)
		goto out;
	check_same(&f, &q);
	if (f.count > lim.max_params || size > lim.max_bytes)
		abort();
	for (i = 0; i < f.count; i++) {
		if (f.params[i].name_len == 0 ||
		    strlen(f.params[i].name) != f.params[i].name_len ||
		    strlen(f.params[i].value) != f.params[i].value_len)
			abort();
		if (fz_form_get(&f, f.params[i].name) == NULL)
			abort();
		fz_form_get_one(&f, f.params[i].name, &v, NULL);
	}
	if ((f.repeated != NULL) != (fz_form_require_unique(&f, NULL) != FZ_OK))
		abort();
	/* every decoded byte encodes to at most 3, plus '=' and '&' */
	enc = fz_arena_alloc(a, 3 * size + 2 * f.count + 1);
	if (enc == NULL)
		goto out;
	for (i = 0; i < f.count; i++) {
		if (i > 0)
			enc[o++] = '&';
		o += encode(f.params[i].name, f.params[i].name_len, enc + o);
		enc[o++] = '=';
		o += encode(f.params[i].value, f.params[i].value_len, enc + o);
	}
	if (fz_form_parse(a, enc, o, &big, &back, NULL) != FZ_OK)
		abort();
	check_same(&f, &back);
out:
	fz_arena_free(a);
	return 0;
}
