/*
 * as_cookie.c - the one cookie the AS sets (its login session, see
 * as_session.c): reading it from a Cookie header (RFC 6265 §5.4) and
 * writing the Set-Cookie that keeps it to this host, to HTTPS, away from
 * scripts, and off cross-site subrequests and POSTs (SameSite=Lax).
 *
 * Reading is strict in what it accepts as ours: exactly one cookie of
 * the name, with a value of the shape we issue. Anything else reads as
 * "no session", which costs a browser a fresh form, never a wrong match.
 */
#include <string.h>

#include "as_web.h"

static bool b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static bool value_ok(const char *v, size_t n)
{
	size_t i;

	if (n == 0 || n > FZ_COOKIE_VALUE_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!b64url_char(v[i]))
			return false;
	return true;
}

/* Skips the separator whitespace RFC 6265 allows around pairs. */
static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

const char *fz_cookie_get(fz_arena *a, const char *header, const char *name)
{
	size_t nlen = strlen(name), vlen;
	const char *p = header, *end, *eq, *found = NULL;
	size_t found_len = 0;
	int seen = 0;

	if (header == NULL || nlen == 0)
		return NULL;
	while (*(p = skip_ws(p)) != '\0') {
		end = strchr(p, ';');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL && (size_t)(eq - p) == nlen && memcmp(p, name, nlen) == 0) {
			vlen = (size_t)(end - eq - 1);
			while (vlen > 0 && (eq[vlen] == ' ' || eq[vlen] == '\t'))
				vlen--;
			found = eq + 1;
			found_len = vlen;
			seen++;
		}
		p = *end == ';' ? end + 1 : end;
	}
	if (seen != 1 || !value_ok(found, found_len))
		return NULL;
	return fz_arena_strndup(a, found, found_len);
}

char *fz_cookie_format(fz_arena *a, const char *name, const char *value,
		       int64_t max_age)
{
	return fz_arena_printf(a, "%s=%s; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=%lld",
			       name, value, (long long)(max_age > 0 ? max_age : 0));
}
