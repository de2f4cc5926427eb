/*
 * jcs.c - RFC 8785 canonical JSON. jansson's own dumper cannot be used:
 * it sorts keys by bytes, not UTF-16 code units, escapes differently, and
 * prints doubles with %.17g instead of ECMAScript's shortest form.
 */
#include "jcs.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t len, cap;
	bool oom; /* sticky, so appends need no checks; tested once at the end */
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (n + 1 > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (n + 1 > cap - b->len) {
			if (cap > SIZE_MAX / 2) {
				b->oom = true;
				return;
			}
			cap *= 2;
		}
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void putc1(struct buf *b, char c)
{
	put(b, &c, 1);
}

/* ---- numbers ---- */

/* Shortest digits that round-trip, and the decimal exponent n such that
 * x = 0.d1d2...dk * 10^n, as ECMA-262 Number::toString names them. */
static size_t shortest_digits(double x, char digits[18], int *n)
{
	char tmp[40];
	size_t k = 0, i;
	int p;

	for (p = 1; p <= 17; p++) {
		snprintf(tmp, sizeof(tmp), "%.*e", p - 1, x);
		if (strtod(tmp, NULL) == x)
			break;
	}
	/* tmp is "d.ddde[+-]xx"; the decimal point may be locale-dependent,
	 * so take the digits, whatever separates them. */
	for (i = 0; tmp[i] != '\0' && tmp[i] != 'e' && k < 17; i++)
		if (tmp[i] >= '0' && tmp[i] <= '9')
			digits[k++] = tmp[i];
	while (tmp[i] != '\0' && tmp[i] != 'e')
		i++;
	*n = (tmp[i] == 'e' ? atoi(tmp + i + 1) : 0) + 1;
	while (k > 1 && digits[k - 1] == '0')
		k--;
	digits[k] = '\0';
	return k;
}

static size_t put_zeros(char *o, size_t at, int count)
{
	while (count-- > 0)
		o[at++] = '0';
	return at;
}

fz_code fz_jcs_number(double d, char out[FZ_JCS_NUM_MAX], size_t *outlen,
		      fz_err *err)
{
	char digits[18];
	size_t k, o = 0;
	int n, e;

	if (!isfinite(d))
		return fz_fail(err, FZ_ESYNTAX,
			       "JCS: NaN and Infinity have no JSON form");
	if (d == 0) {
		memcpy(out, "0", 2);
		*outlen = 1;
		return FZ_OK;
	}
	if (d < 0) {
		out[o++] = '-';
		d = -d;
	}
	k = shortest_digits(d, digits, &n);
	if ((int)k <= n && n <= 21) {
		memcpy(out + o, digits, k);
		o = put_zeros(out, o + k, n - (int)k);
	} else if (0 < n && n <= 21) {
		memcpy(out + o, digits, (size_t)n);
		o += (size_t)n;
		out[o++] = '.';
		memcpy(out + o, digits + n, k - (size_t)n);
		o += k - (size_t)n;
	} else if (-6 < n && n <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		o = put_zeros(out, o, -n);
		memcpy(out + o, digits, k);
		o += k;
	} else {
		out[o++] = digits[0];
		if (k > 1) {
			out[o++] = '.';
			memcpy(out + o, digits + 1, k - 1);
			o += k - 1;
		}
		e = n - 1;
		o += (size_t)snprintf(out + o, FZ_JCS_NUM_MAX - o, "e%c%d",
				      e < 0 ? '-' : '+', e < 0 ? -e : e);
	}
	out[o] = '\0';
	*outlen = o;
	return FZ_OK;
}

/* ---- strings ---- */

static void put_string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	putc1(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[6];

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '\b': esc = "\\b"; break;
		case '\t': esc = "\\t"; break;
		case '\n': esc = "\\n"; break;
		case '\f': esc = "\\f"; break;
		case '\r': esc = "\\r"; break;
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		default:
			memcpy(u, "\\u00", 4);
			u[4] = hex[c >> 4];
			u[5] = hex[c & 15];
			put(b, u, 6);
			continue;
		}
		put(b, esc, 2);
	}
	put(b, s + run, n - run);
	putc1(b, '"');
}

/* ---- member order: UTF-16 code units ---- */

struct u16 {
	const unsigned char *s;
	size_t n, i;
	int low; /* pending low surrogate, or -1 */
};

/* The next UTF-16 code unit, or -1 at the end. Input is UTF-8 that
 * jansson validated; a stray byte counts as its own value so the order
 * stays total. */
static long u16_next(struct u16 *it)
{
	unsigned char c;
	uint32_t cp;
	size_t len, j;

	if (it->low >= 0) {
		long lo = it->low;
		it->low = -1;
		return lo;
	}
	if (it->i >= it->n)
		return -1;
	c = it->s[it->i];
	if (c < 0x80)
		len = 1, cp = c;
	else if ((c & 0xe0) == 0xc0)
		len = 2, cp = c & 0x1f;
	else if ((c & 0xf0) == 0xe0)
		len = 3, cp = c & 0x0f;
	else if ((c & 0xf8) == 0xf0)
		len = 4, cp = c & 0x07;
	else
		len = 0, cp = c;
	if (len == 0 || it->i + len > it->n) {
		it->i++;
		return c;
	}
	for (j = 1; j < len; j++)
		cp = cp << 6 | (it->s[it->i + j] & 0x3f);
	it->i += len;
	if (cp < 0x10000)
		return (long)cp;
	cp -= 0x10000;
	it->low = (int)(0xdc00 + (cp & 0x3ff));
	return (long)(0xd800 + (cp >> 10));
}

struct member {
	const char *key;
	size_t len;
	json_t *value;
};

static int member_cmp(const void *a, const void *b)
{
	const struct member *x = a, *y = b;
	struct u16 i = {(const unsigned char *)x->key, x->len, 0, -1};
	struct u16 j = {(const unsigned char *)y->key, y->len, 0, -1};

	for (;;) {
		long u = u16_next(&i), v = u16_next(&j);
		if (u != v)
			return u < v ? -1 : 1;
		if (u < 0)
			return 0;
	}
}

/* ---- values ---- */

static fz_code put_value(struct buf *b, const json_t *v, int depth, fz_err *err);

static fz_code put_object(struct buf *b, const json_t *v, int depth, fz_err *err)
{
	size_t n = json_object_size(v), i = 0;
	struct member *m;
	const char *key;
	json_t *val;
	fz_code rc = FZ_OK;

	putc1(b, '{');
	if (n == 0) {
		putc1(b, '}');
		return FZ_OK;
	}
	m = calloc(n, sizeof(*m));
	if (m == NULL)
		return fz_fail(err, FZ_ENOMEM, "JCS: out of memory");
	json_object_foreach((json_t *)v, key, val) {
		m[i].key = key;
		m[i].len = json_object_iter_key_len(json_object_key_to_iter(key));
		m[i].value = val;
		i++;
	}
	qsort(m, n, sizeof(*m), member_cmp);
	for (i = 0; i < n && rc == FZ_OK; i++) {
		if (i > 0)
			putc1(b, ',');
		put_string(b, m[i].key, m[i].len);
		putc1(b, ':');
		rc = put_value(b, m[i].value, depth + 1, err);
	}
	free(m);
	putc1(b, '}');
	return rc;
}

static fz_code put_array(struct buf *b, const json_t *v, int depth, fz_err *err)
{
	size_t i;
	fz_code rc;

	putc1(b, '[');
	for (i = 0; i < json_array_size(v); i++) {
		if (i > 0)
			putc1(b, ',');
		rc = put_value(b, json_array_get(v, i), depth + 1, err);
		if (rc != FZ_OK)
			return rc;
	}
	putc1(b, ']');
	return FZ_OK;
}

static fz_code put_number(struct buf *b, double d, fz_err *err)
{
	char num[FZ_JCS_NUM_MAX];
	size_t n;
	fz_code rc = fz_jcs_number(d, num, &n, err);

	if (rc == FZ_OK)
		put(b, num, n);
	return rc;
}

static fz_code put_value(struct buf *b, const json_t *v, int depth, fz_err *err)
{
	if (depth > FZ_JCS_MAX_DEPTH)
		return fz_fail(err, FZ_ELIMIT, "JCS: nesting deeper than %d",
			       FZ_JCS_MAX_DEPTH);
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return put_object(b, v, depth, err);
	case JSON_ARRAY:
		return put_array(b, v, depth, err);
	case JSON_STRING:
		put_string(b, json_string_value(v), json_string_length(v));
		return FZ_OK;
	case JSON_INTEGER:
		/* RFC 8785 §3.2.2.3: every number is an IEEE double. */
		return put_number(b, (double)json_integer_value(v), err);
	case JSON_REAL:
		return put_number(b, json_real_value(v), err);
	case JSON_TRUE:
		put(b, "true", 4);
		return FZ_OK;
	case JSON_FALSE:
		put(b, "false", 5);
		return FZ_OK;
	case JSON_NULL:
		put(b, "null", 4);
		return FZ_OK;
	}
	return fz_fail(err, FZ_EINTERNAL, "JCS: unknown JSON type");
}

fz_code fz_jcs(const json_t *v, char **out, size_t *outlen, fz_err *err)
{
	struct buf b = {0};
	fz_code rc;

	if (v == NULL)
		return fz_fail(err, FZ_EINTERNAL, "JCS: no value");
	rc = put_value(&b, v, 1, err);
	if (rc == FZ_OK && b.oom)
		rc = fz_fail(err, FZ_ENOMEM, "JCS: out of memory");
	if (rc != FZ_OK) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*outlen = b.len;
	return FZ_OK;
}

fz_code fz_jcs_digest(const json_t *v, fz_digest_str *out, fz_err *err)
{
	char *s = NULL;
	size_t n = 0;
	fz_code rc = fz_jcs(v, &s, &n, err);

	if (rc != FZ_OK)
		return rc;
	fz_digest(s, n, out);
	free(s);
	return FZ_OK;
}
