/*
 * range.c - Range header parsing. Every element of the list is checked for
 * syntax before the count is, so "bytes=0-1,junk" is a syntax error and not
 * a "multiple ranges" one: the answer names the first thing wrong.
 */
#include "range.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <strings.h>

typedef struct spec {
	bool suffix;    /* "-n" */
	bool open;      /* "a-" */
	uint64_t a, b;  /* a-b, a- (a), -n (b = n) */
} spec;

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* 1*DIGIT at s[*i..n); saturates, since a huge offset is merely
 * unsatisfiable and a huge end merely clamps. */
static bool digits(const char *s, size_t n, size_t *i, uint64_t *v)
{
	size_t start = *i;
	uint64_t x = 0;
	unsigned d;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
		d = (unsigned)(s[*i] - '0');
		x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
		(*i)++;
	}
	*v = x;
	return *i > start;
}

/* One range-spec s[0..n), whitespace already trimmed. */
static bool parse_spec(const char *s, size_t n, spec *sp)
{
	size_t i = 0;

	*sp = (spec){0};
	if (n > 0 && s[0] == '-') {
		i = 1;
		sp->suffix = true;
		return digits(s, n, &i, &sp->b) && i == n;
	}
	if (!digits(s, n, &i, &sp->a) || i == n || s[i] != '-')
		return false;
	i++;
	if (i == n) {
		sp->open = true;
		return true;
	}
	return digits(s, n, &i, &sp->b) && i == n && sp->a <= sp->b;
}

static fz_code resolve(const spec *sp, uint64_t size, fz_range *out, fz_err *err)
{
	if (size == 0)
		return fz_fail_http(err, FZ_ELIMIT, 416, "invalid_request",
				    "range of an empty representation");
	if (sp->suffix) {
		if (sp->b == 0)
			return fz_fail_http(err, FZ_ELIMIT, 416, "invalid_request",
					    "zero-length suffix range");
		out->first = sp->b >= size ? 0 : size - sp->b;
		out->last = size - 1;
		return FZ_OK;
	}
	if (sp->a >= size)
		return fz_fail_http(err, FZ_ELIMIT, 416, "invalid_request",
				    "range starts at %" PRIu64 ", size is %" PRIu64,
				    sp->a, size);
	out->first = sp->a;
	out->last = sp->open || sp->b >= size ? size - 1 : sp->b;
	return FZ_OK;
}

fz_code fz_range_parse(const char *s, size_t n, uint64_t size, fz_range *out,
		       fz_err *err)
{
	size_t i, start, end, count = 0;
	spec sp, first = {0};

	while (n > 0 && is_ows(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_ows(s[n - 1]))
		n--;
	if (n < 6 || strncasecmp(s, "bytes=", 6) != 0)
		return fz_fail(err, FZ_ESYNTAX, "Range is not in bytes=");
	for (start = i = 6; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		end = i;
		while (start < end && is_ows(s[start]))
			start++;
		while (end > start && is_ows(s[end - 1]))
			end--;
		if (end > start) {
			if (!parse_spec(s + start, end - start, &sp))
				return fz_fail(err, FZ_ESYNTAX,
					       "malformed range at offset %zu", start);
			if (count++ == 0)
				first = sp;
		}
		start = i + 1;
	}
	if (count == 0)
		return fz_fail(err, FZ_ESYNTAX, "Range has no range");
	if (count > 1)
		return fz_fail_http(err, FZ_ESTRUCT, 416, "invalid_request",
				    "multiple ranges are not supported");
	return resolve(&first, size, out, err);
}

void fz_range_format(const fz_range *r, uint64_t size,
		     char out[FZ_CONTENT_RANGE_MAX])
{
	snprintf(out, FZ_CONTENT_RANGE_MAX, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64,
		 r->first, r->last, size);
}

void fz_range_unsatisfied_format(uint64_t size, char out[FZ_CONTENT_RANGE_MAX])
{
	snprintf(out, FZ_CONTENT_RANGE_MAX, "bytes */%" PRIu64, size);
}

/* 1*DIGIT at s[*i..n) that fits 64 bits: a peer's offsets are checked,
 * not clamped. */
static bool exact_digits(const char *s, size_t n, size_t *i, uint64_t *v)
{
	size_t start = *i;
	uint64_t x = 0;
	unsigned d;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
		d = (unsigned)(s[*i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
		(*i)++;
	}
	*v = x;
	return *i > start;
}

fz_code fz_content_range_parse(const char *s, size_t n, fz_range *out,
			       uint64_t *complete, bool *known, fz_err *err)
{
	size_t i = 6;
	uint64_t first, last, size = 0;
	bool star = false;

	if (n < 6 || strncasecmp(s, "bytes ", 6) != 0 ||
	    !exact_digits(s, n, &i, &first) || i == n || s[i++] != '-' ||
	    !exact_digits(s, n, &i, &last) || i == n || s[i++] != '/')
		return fz_fail(err, FZ_ESYNTAX, "Content-Range is not bytes first-last/size");
	if (i + 1 == n && s[i] == '*')
		star = true;
	else if (!exact_digits(s, n, &i, &size) || i != n)
		return fz_fail(err, FZ_ESYNTAX, "Content-Range size is not a number");
	if (first > last || (!star && last >= size))
		return fz_fail(err, FZ_ESYNTAX, "Content-Range is not a range of the size");
	out->first = first;
	out->last = last;
	*complete = size;
	*known = !star;
	return FZ_OK;
}
