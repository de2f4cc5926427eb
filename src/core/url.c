/*
 * url.c - parse, then normalise piece by piece. Each piece is validated
 * against its RFC 3986 grammar before it is copied, so what comes out is
 * always a URL we could have written ourselves.
 */
#include "url.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PORT_DIGITS_MAX 5

static fz_code nomem(fz_err *err)
{
	return fz_fail(err, FZ_ENOMEM, "url: out of memory");
}

/* ASCII only, whatever the process locale says about bytes over 0x7f. */
static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_unreserved(int c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static bool is_sub_delim(int c)
{
	return c != '\0' && strchr("!$&'()*+,;=", c) != NULL;
}

static bool is_pchar(int c)
{
	return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@';
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char *dup_n(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* --- pieces ----------------------------------------------------------------- */

static fz_code parse_scheme(const char *s, size_t n, size_t *used, fz_url *u,
			    fz_err *err)
{
	size_t i;

	for (i = 0; i < n && s[i] != ':'; i++)
		if (!is_alpha((unsigned char)s[i]))
			break;
	if (i == n || s[i] != ':' || i == 0)
		return fz_fail(err, FZ_ESYNTAX, "URL has no scheme");
	if (!((i == 4 && strncasecmp(s, "http", 4) == 0) ||
	      (i == 5 && strncasecmp(s, "https", 5) == 0)))
		return fz_fail(err, FZ_ESYNTAX, "URL scheme must be http or https");
	if (n < i + 3 || s[i + 1] != '/' || s[i + 2] != '/')
		return fz_fail(err, FZ_ESYNTAX, "URL must be absolute: scheme://host");
	if ((u->scheme = dup_n(s, i)) == NULL)
		return nomem(err);
	for (size_t k = 0; k < i; k++)
		u->scheme[k] = lower(u->scheme[k]);
	*used = i + 3;
	return FZ_OK;
}

/* An IPv6 literal, rewritten in the one form RFC 5952 allows so that
 * [0:0::1] and [::1] compare equal. */
static fz_code parse_ipv6(const char *s, size_t n, fz_url *u, fz_err *err)
{
	char in[INET6_ADDRSTRLEN + 1], canon[INET6_ADDRSTRLEN];
	struct in6_addr a;
	size_t len;

	if (n == 0 || n >= sizeof(in) || memchr(s, '%', n) != NULL ||
	    s[0] == 'v' || s[0] == 'V')
		return fz_fail(err, FZ_ESYNTAX, "URL host is not an IPv6 address");
	memcpy(in, s, n);
	in[n] = '\0';
	if (inet_pton(AF_INET6, in, &a) != 1 ||
	    inet_ntop(AF_INET6, &a, canon, sizeof(canon)) == NULL)
		return fz_fail(err, FZ_ESYNTAX, "URL host is not an IPv6 address");
	len = strlen(canon);
	if ((u->host = malloc(len + 3)) == NULL)
		return nomem(err);
	u->host[0] = '[';
	memcpy(u->host + 1, canon, len);
	u->host[len + 1] = ']';
	u->host[len + 2] = '\0';
	return FZ_OK;
}

/* A DNS name or IPv4 address: unreserved characters only. RFC 3986 also
 * allows sub-delims and escapes in a reg-name, but no DNS name holds
 * them, and refusing them keeps one spelling per host. */
static fz_code parse_regname(const char *s, size_t n, fz_url *u, fz_err *err)
{
	size_t i;

	if (n == 0)
		return fz_fail(err, FZ_ESYNTAX, "URL has an empty host");
	for (i = 0; i < n; i++)
		if (!is_unreserved((unsigned char)s[i]))
			return fz_fail(err, FZ_ESYNTAX, "URL host has a character it may not have");
	if ((u->host = dup_n(s, n)) == NULL)
		return nomem(err);
	for (i = 0; i < n; i++)
		u->host[i] = lower(u->host[i]);
	return FZ_OK;
}

static fz_code parse_port(const char *s, size_t n, fz_url *u, fz_err *err)
{
	unsigned long v = 0;
	size_t i;

	u->port = strcmp(u->scheme, "https") == 0 ? 443 : 80;
	/* RFC 3986 §6.2.3: an empty port is the default port. */
	if (n == 0)
		return FZ_OK;
	if (n > PORT_DIGITS_MAX)
		return fz_fail(err, FZ_ESYNTAX, "URL port is out of range");
	for (i = 0; i < n; i++) {
		if (!is_digit((unsigned char)s[i]))
			return fz_fail(err, FZ_ESYNTAX, "URL port is not a number");
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return fz_fail(err, FZ_ESYNTAX, "URL port is out of range");
	if (v == 0)
		return fz_fail(err, FZ_ESYNTAX, "URL port 0 is not a port");
	u->port = (uint16_t)v;
	return FZ_OK;
}

static fz_code parse_authority(const char *s, size_t n, fz_url *u, fz_err *err)
{
	const char *colon;
	size_t hostlen;
	fz_code rc;

	if (memchr(s, '@', n) != NULL)
		return fz_fail(err, FZ_ESYNTAX, "URL must not carry userinfo (user@host)");
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL)
			return fz_fail(err, FZ_ESYNTAX, "URL IPv6 host has no closing ]");
		if ((rc = parse_ipv6(s + 1, (size_t)(close - s) - 1, u, err)) != FZ_OK)
			return rc;
		hostlen = (size_t)(close - s) + 1;
		if (hostlen < n && s[hostlen] != ':')
			return fz_fail(err, FZ_ESYNTAX, "URL has text after the IPv6 host");
	} else {
		colon = memchr(s, ':', n);
		hostlen = colon ? (size_t)(colon - s) : n;
		if ((rc = parse_regname(s, hostlen, u, err)) != FZ_OK)
			return rc;
	}
	if (hostlen >= n)
		return parse_port(s, 0, u, err);
	return parse_port(s + hostlen + 1, n - hostlen - 1, u, err);
}

/* What is wrong with the escape starting at s[i], or NULL. */
static const char *escape_error(const char *s, size_t n, size_t i)
{
	if (n - i < 3)
		return "a cut-off";
	if (hexval((unsigned char)s[i + 1]) < 0 || hexval((unsigned char)s[i + 2]) < 0)
		return "a bad";
	return NULL;
}

/* Checks one piece's characters; '%' must start a full escape. */
static fz_code check_chars(const char *s, size_t n, bool query, const char *what,
			   fz_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			const char *bad = escape_error(s, n, i);
			if (bad != NULL)
				return fz_fail(err, FZ_ESYNTAX, "URL %s has %s %% escape", what, bad);
			i += 2;
			continue;
		}
		if (is_pchar(c) || c == '/' || (query && c == '?'))
			continue;
		return fz_fail(err, FZ_ESYNTAX, "URL %s has a character it may not have", what);
	}
	return FZ_OK;
}

/* --- path normalisation ------------------------------------------------------- */

/* RFC 3986 §6.2.2.2: escapes of unreserved characters decoded, the rest
 * in uppercase hex. The output is never longer than the input. */
static void normalise_escapes(const char *s, size_t n, char *out, size_t *outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		int v = hexval((unsigned char)s[i + 1]) << 4 | hexval((unsigned char)s[i + 2]);
		if (is_unreserved(v)) {
			out[o++] = (char)v;
		} else {
			out[o++] = '%';
			out[o++] = hex[v >> 4];
			out[o++] = hex[v & 15];
		}
		i += 2;
	}
	*outlen = o;
}

static bool starts(const char *p, size_t left, const char *prefix)
{
	size_t n = strlen(prefix);

	return left >= n && memcmp(p, prefix, n) == 0;
}

static bool equals(const char *p, size_t left, const char *word)
{
	return left == strlen(word) && memcmp(p, word, left) == 0;
}

static void pop_segment(char *out, size_t *o)
{
	while (*o > 0 && out[*o - 1] != '/')
		(*o)--;
	if (*o > 0)
		(*o)--;
}

/* RFC 3986 §5.2.4, working in place on buf[0..n): each rule that
 * replaces a prefix with "/" is done by moving the start and writing the
 * '/' where the new start is. */
static size_t remove_dots(char *buf, size_t n, char *out)
{
	size_t i = 0, o = 0;

	while (i < n) {
		const char *p = buf + i;
		size_t left = n - i;
		if (starts(p, left, "../")) {
			i += 3;
		} else if (starts(p, left, "./")) {
			i += 2;
		} else if (starts(p, left, "/./")) {
			i += 2;
		} else if (equals(p, left, "/.")) {
			buf[i + 1] = '/';
			i += 1;
		} else if (starts(p, left, "/../")) {
			i += 3;
			pop_segment(out, &o);
		} else if (equals(p, left, "/..")) {
			buf[i + 2] = '/';
			i += 2;
			pop_segment(out, &o);
		} else if (equals(p, left, ".") || equals(p, left, "..")) {
			i = n;
		} else {
			do
				out[o++] = buf[i++];
			while (i < n && buf[i] != '/');
		}
	}
	return o;
}

static fz_code parse_path(const char *s, size_t n, fz_url *u, fz_err *err)
{
	char *dec, *out;
	size_t declen, olen;
	fz_code rc;

	if ((rc = check_chars(s, n, false, "path", err)) != FZ_OK)
		return rc;
	dec = malloc(n + 1);
	out = malloc(n + 2);
	if (dec == NULL || out == NULL) {
		free(dec);
		free(out);
		return nomem(err);
	}
	normalise_escapes(s, n, dec, &declen);
	olen = remove_dots(dec, declen, out);
	free(dec);
	if (olen == 0)
		out[olen++] = '/';
	out[olen] = '\0';
	u->path = out;
	return FZ_OK;
}

/* --- whole URL ---------------------------------------------------------------- */

static fz_code check_bytes(const char *s, size_t n, fz_err *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f)
			return fz_fail(err, FZ_ESYNTAX, "URL has a space or control character");
		if (c > 0x7f)
			return fz_fail(err, FZ_ESYNTAX, "URL has a non-ASCII byte");
	}
	return FZ_OK;
}

static fz_code parse_tail(const char *s, size_t n, fz_url *u, fz_err *err)
{
	const char *hash = memchr(s, '#', n);
	size_t before = hash ? (size_t)(hash - s) : n;
	const char *q = memchr(s, '?', before);
	size_t pathlen = q ? (size_t)(q - s) : before;
	fz_code rc;

	if ((rc = parse_path(s, pathlen, u, err)) != FZ_OK)
		return rc;
	if (q != NULL) {
		size_t ql = before - pathlen - 1;
		if ((rc = check_chars(q + 1, ql, true, "query", err)) != FZ_OK)
			return rc;
		if ((u->query = dup_n(q + 1, ql)) == NULL)
			return nomem(err);
	}
	if (hash != NULL) {
		size_t fl = n - before - 1;
		if ((rc = check_chars(hash + 1, fl, true, "fragment", err)) != FZ_OK)
			return rc;
		if ((u->fragment = dup_n(hash + 1, fl)) == NULL)
			return nomem(err);
	}
	return FZ_OK;
}

fz_code fz_url_parse(const char *s, size_t n, fz_url *out, fz_err *err)
{
	fz_url u = {0};
	size_t used = 0, authlen;
	fz_code rc;

	if (n == 0)
		return fz_fail(err, FZ_ESYNTAX, "URL is empty");
	if (n > FZ_URL_MAX)
		return fz_fail(err, FZ_ELIMIT, "URL of %zu bytes exceeds %d", n, FZ_URL_MAX);
	if ((rc = check_bytes(s, n, err)) != FZ_OK)
		return rc;
	if ((rc = parse_scheme(s, n, &used, &u, err)) != FZ_OK)
		goto fail;
	s += used;
	n -= used;
	for (authlen = 0; authlen < n; authlen++)
		if (s[authlen] == '/' || s[authlen] == '?' || s[authlen] == '#')
			break;
	if ((rc = parse_authority(s, authlen, &u, err)) != FZ_OK ||
	    (rc = parse_tail(s + authlen, n - authlen, &u, err)) != FZ_OK)
		goto fail;
	*out = u;
	return FZ_OK;
fail:
	fz_url_clear(&u);
	return rc;
}

void fz_url_clear(fz_url *u)
{
	free(u->scheme);
	free(u->host);
	free(u->path);
	free(u->query);
	free(u->fragment);
	memset(u, 0, sizeof(*u));
}

fz_code fz_url_format_htu(const fz_url *u, char **out, fz_err *err)
{
	bool dflt = u->port == (strcmp(u->scheme, "https") == 0 ? 443 : 80);
	char port[8] = "";
	size_t cap;
	char *buf;

	if (!dflt)
		snprintf(port, sizeof(port), ":%u", (unsigned)u->port);
	cap = strlen(u->scheme) + 3 + strlen(u->host) + strlen(port) + strlen(u->path) + 1;
	if ((buf = malloc(cap)) == NULL)
		return nomem(err);
	snprintf(buf, cap, "%s://%s%s%s", u->scheme, u->host, port, u->path);
	*out = buf;
	return FZ_OK;
}

fz_code fz_url_htu(const char *s, size_t n, char **out, fz_err *err)
{
	fz_url u;
	fz_code rc = fz_url_parse(s, n, &u, err);

	if (rc != FZ_OK)
		return rc;
	rc = fz_url_format_htu(&u, out, err);
	fz_url_clear(&u);
	return rc;
}
