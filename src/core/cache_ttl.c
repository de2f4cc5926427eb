/*
 * cache_ttl.c - a small Cache-Control reader: only the directives that
 * decide how long a metadata or JWKS document may be reused.
 */
#include "cache_ttl.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Parses delta-seconds, optionally quoted (RFC 9111 §5.2: senders must
 * not quote, recipients should accept it). False when malformed. */
static bool delta_seconds(const char *p, size_t n, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
		p++;
		n -= 2;
	}
	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		if (v < FZ_CACHE_DELTA_SECONDS_MAX)
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*out = v > FZ_CACHE_DELTA_SECONDS_MAX ? FZ_CACHE_DELTA_SECONDS_MAX
					     : (uint32_t)v;
	return true;
}

/* One directive d[0..n), trimmed. */
static bool directive(const char *d, size_t n, uint32_t *out)
{
	const char *eq = memchr(d, '=', n);
	size_t name_len = eq ? (size_t)(eq - d) : n;

	while (name_len > 0 && is_ows(d[name_len - 1]))
		name_len--;
	if ((name_len == 8 && strncasecmp(d, "no-store", 8) == 0) ||
	    (name_len == 8 && strncasecmp(d, "no-cache", 8) == 0)) {
		*out = 0;
		return true;
	}
	if (name_len != 7 || strncasecmp(d, "max-age", 7) != 0)
		return false;
	if (eq == NULL) {
		*out = 0;
		return true;
	}
	eq++;
	n -= (size_t)(eq - d);
	while (n > 0 && is_ows(*eq)) {
		eq++;
		n--;
	}
	if (!delta_seconds(eq, n, out))
		*out = 0;
	return true;
}

bool fz_cache_control_max_age(const char *cc, uint32_t *seconds)
{
	const char *p = cc, *end;
	uint32_t v, best = 0;
	bool found = false;
	size_t n;

	if (cc == NULL)
		return false;
	while (*p != '\0') {
		while (*p == ',' || is_ows(*p))
			p++;
		end = strchr(p, ',');
		n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && is_ows(p[n - 1]))
			n--;
		if (n > 0 && directive(p, n, &v) && (!found || v < best)) {
			best = v;
			found = true;
		}
		p += n;
		while (*p != '\0' && *p != ',')
			p++;
	}
	if (found)
		*seconds = best;
	return found;
}

uint32_t fz_ttl_clamp(uint32_t ttl, uint32_t min, uint32_t max)
{
	if (ttl < min)
		ttl = min;
	if (ttl > max)
		ttl = max;
	return ttl;
}
