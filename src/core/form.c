/*
 * form.c - the urlencoded grammar (WHATWG URL §5.1 split and '+' rule)
 * with strict percent-decoding. Bodies and query strings share one
 * parser; only the label in messages and the status of "too long" differ.
 */
#include "form.h"

#include <stdint.h>
#include <string.h>

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Length of the UTF-8 sequence at s[0..n), or 0 when it is not one
 * (overlong forms, surrogates and values past U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

static bool utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq(u + i, n - i);
		if (k == 0)
			return false;
		i += k;
	}
	return true;
}

fz_code fz_pct_decode(fz_arena *a, const char *s, size_t n, bool plus_is_space,
		      char **out, size_t *outlen, fz_err *err)
{
	char *d;
	size_t i, j = 0;
	int hi, lo;

	/* Decoding only shrinks: n + 1 bytes always suffice. */
	d = fz_arena_alloc(a, n + 1);
	if (d == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory decoding %zu bytes", n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (n - i < 3 || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				return fz_fail(err, FZ_ESYNTAX,
					       "bad percent escape at offset %zu", i);
			if (hi == 0 && lo == 0)
				return fz_fail(err, FZ_ESYNTAX,
					       "encoded NUL at offset %zu", i);
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			d[j++] = ' ';
		} else if (c <= 0x20 || c >= 0x7f) {
			return fz_fail(err, FZ_ESYNTAX,
				       "byte 0x%02x at offset %zu must be percent-encoded",
				       c, i);
		} else {
			d[j++] = (char)c;
		}
	}
	d[j] = '\0';
	if (!utf8_valid(d, j))
		return fz_fail(err, FZ_ESYNTAX, "decoded text is not UTF-8");
	*out = d;
	*outlen = j;
	return FZ_OK;
}

static size_t count_pairs(const char *s, size_t n)
{
	size_t i, pairs = 0, start = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || s[i] == '&') {
			if (i > start)
				pairs++;
			start = i + 1;
		}
	}
	return pairs;
}

static void note_repeat(fz_form *f, const fz_param *p)
{
	size_t i;

	if (f->repeated != NULL)
		return;
	for (i = 0; i < f->count; i++) {
		if (f->params[i].name_len == p->name_len &&
		    memcmp(f->params[i].name, p->name, p->name_len) == 0) {
			f->repeated = f->params[i].name;
			return;
		}
	}
}

static fz_code parse_pair(fz_arena *a, const char *s, size_t n, fz_param *p,
			  fz_err *err)
{
	const char *eq = memchr(s, '=', n);
	size_t nl = eq != NULL ? (size_t)(eq - s) : n;
	char *name, *value;
	fz_code rc;

	if (nl == 0)
		return fz_fail(err, FZ_ESYNTAX, "parameter with an empty name");
	rc = fz_pct_decode(a, s, nl, true, &name, &p->name_len, err);
	if (rc != FZ_OK)
		return rc;
	if (eq == NULL)
		rc = fz_pct_decode(a, "", 0, true, &value, &p->value_len, err);
	else
		rc = fz_pct_decode(a, eq + 1, n - nl - 1, true, &value,
				   &p->value_len, err);
	if (rc != FZ_OK) {
		fz_err_prefix(err, "value of %s", name);
		return rc;
	}
	p->name = name;
	p->value = value;
	return FZ_OK;
}

static fz_code parse(fz_arena *a, const char *s, size_t n,
		     const fz_form_limits *lim, fz_form *out, const char *what,
		     int too_long, fz_err *err)
{
	size_t pairs, i, start = 0;
	fz_form f = {0};
	fz_code rc;

	*out = f;
	if (n > lim->max_bytes)
		return fz_fail_http(err, FZ_ELIMIT, too_long, "invalid_request",
				    "%s of %zu bytes exceeds the limit of %zu",
				    what, n, lim->max_bytes);
	pairs = count_pairs(s, n);
	if (pairs > lim->max_params)
		return fz_fail_http(err, FZ_ELIMIT, 400, "invalid_request",
				    "%s has %zu parameters, the limit is %zu",
				    what, pairs, lim->max_params);
	if (pairs > 0) {
		f.params = fz_arena_calloc(a, pairs, sizeof(*f.params));
		if (f.params == NULL)
			return fz_fail(err, FZ_ENOMEM, "out of memory parsing %s", what);
	}
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '&')
			continue;
		if (i > start) {
			rc = parse_pair(a, s + start, i - start, &f.params[f.count], err);
			if (rc != FZ_OK) {
				fz_err_prefix(err, "%s", what);
				return rc;
			}
			note_repeat(&f, &f.params[f.count]);
			f.count++;
		}
		start = i + 1;
	}
	*out = f;
	return FZ_OK;
}

fz_code fz_form_parse(fz_arena *a, const char *s, size_t n,
		      const fz_form_limits *lim, fz_form *out, fz_err *err)
{
	return parse(a, s, n, lim, out, "form body", 413, err);
}

fz_code fz_query_parse(fz_arena *a, const char *s, size_t n,
		       const fz_form_limits *lim, fz_form *out, fz_err *err)
{
	return parse(a, s, n, lim, out, "query string", 414, err);
}

const char *fz_form_get(const fz_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->count; i++)
		if (strcmp(f->params[i].name, name) == 0)
			return f->params[i].value;
	return NULL;
}

size_t fz_form_count(const fz_form *f, const char *name)
{
	size_t i, k = 0;

	for (i = 0; i < f->count; i++)
		if (strcmp(f->params[i].name, name) == 0)
			k++;
	return k;
}

fz_code fz_form_get_one(const fz_form *f, const char *name, const char **value,
			fz_err *err)
{
	const char *v;

	*value = NULL;
	if (fz_form_count(f, name) > 1)
		return fz_fail(err, FZ_ESYNTAX, "parameter %s is repeated", name);
	v = fz_form_get(f, name);
	if (v != NULL && v[0] != '\0')
		*value = v;
	return FZ_OK;
}

fz_code fz_form_require_unique(const fz_form *f, fz_err *err)
{
	if (f->repeated != NULL)
		return fz_fail(err, FZ_ESYNTAX, "parameter %s is repeated",
			       f->repeated);
	return FZ_OK;
}
