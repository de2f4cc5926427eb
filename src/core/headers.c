/*
 * headers.c - header blocks: the ordered lists of single-key maps that the
 * envelope and every body part carry. Names compare case-insensitively as
 * in RFC 5322; values must stay on one line, since the canonical forms of
 * SPEC §4 end every header with CRLF.
 */
#include "placeholder.h"

#include <string.h>

#include "placeholder_int.h"

bool fz_header_name_valid(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

/* Length of the UTF-8 sequence at s[0..n) and its code point, or 0 when
 * the bytes are not well-formed (overlong, surrogate, past U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned long *cp)
{
	size_t len, i;
	unsigned long v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, v = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, v = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, v = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

fz_code fz_header_value_check(const char *s, size_t n, size_t max, fz_err *err)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t i = 0, len;

	if (n > max)
		return fz_fail(err, FZ_ELIMIT,
			       "header value of %zu bytes exceeds max_header_value_bytes (%zu)",
			       n, max);
	while (i < n) {
		len = utf8_seq(p + i, n - i, &cp);
		if (len == 0)
			return fz_fail(err, FZ_ESYNTAX,
				       "header value is not UTF-8 at byte %zu", i);
		/* CR, LF or NUL would forge a line of the canonical forms. */
		if ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f))
			return fz_fail(err, FZ_ESYNTAX,
				       "header value contains control character U+%04lX at byte %zu",
				       cp, i);
		i += len;
	}
	return FZ_OK;
}

fz_code fz_headers_at(const json_t *block, size_t i, const char **name,
		      size_t *name_len, const json_t **value, fz_err *err)
{
	const json_t *item = json_array_get(block, i);
	void *it;

	if (item == NULL)
		return fz_fail(err, FZ_ENOTFOUND, "no header at index %zu", i);
	if (!json_is_object(item) || json_object_size(item) != 1)
		return fz_fail(err, FZ_ESTRUCT,
			       "header at index %zu is not a single-key mapping", i);
	it = json_object_iter((json_t *)item);
	*name = json_object_iter_key(it);
	*name_len = json_object_iter_key_len(it);
	*value = json_object_iter_value(it);
	return FZ_OK;
}

const json_t *fz_headers_find(const json_t *block, const char *name)
{
	const json_t *value;
	const char *key;
	size_t i, klen;

	for (i = 0; i < json_array_size(block); i++) {
		if (fz_headers_at(block, i, &key, &klen, &value, NULL) != FZ_OK)
			continue;
		if (fz_ascii_ieq(key, klen, name))
			return value;
	}
	return NULL;
}

fz_code fz_headers_get(const json_t *block, const char *name, const char **val,
		       size_t *len, fz_err *err)
{
	const json_t *v = fz_headers_find(block, name);

	if (v == NULL)
		return fz_fail(err, FZ_ENOTFOUND, "no %s header", name);
	if (!json_is_string(v))
		return fz_fail(err, FZ_ESTRUCT, "%s must be a single value, not a list",
			       name);
	*val = json_string_value(v);
	*len = json_string_length(v);
	return FZ_OK;
}
