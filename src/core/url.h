/*
 * url.h - a small strict parser for absolute http(s) URLs (RFC 3986) and
 * the normal form DPoP compares htu in (RFC 9449 §4.3, RFC 3986 §6.2.2
 * and §6.2.3): scheme and host lowercased, IPv6 literal in RFC 5952 form,
 * default port dropped, percent-encoded unreserved characters decoded and
 * other escapes uppercased, dot segments removed, empty path "/".
 *
 * Refused outright: userinfo, spaces, control and non-ASCII bytes,
 * characters RFC 3986 does not allow where they stand, IPv6 zone ids,
 * and any scheme but http and https.
 */
#ifndef FZ_CORE_URL_H
#define FZ_CORE_URL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FZ_URL_MAX 2048 /* bytes of an accepted URL */

typedef struct fz_url {
	char *scheme;   /* "http" or "https" */
	char *host;     /* lowercased; an IPv6 literal keeps its brackets */
	uint16_t port;  /* the explicit port, or the scheme's default */
	char *path;     /* normalised, at least "/" */
	char *query;    /* without '?', as received; NULL when absent */
	char *fragment; /* without '#', as received; NULL when absent */
} fz_url;

/* Parses and normalises s[0..n). On failure *out is left cleared. */
fz_code fz_url_parse(const char *s, size_t n, fz_url *out, fz_err *err);
void fz_url_clear(fz_url *u);

/* "scheme://host[:port]path" of a parsed URL, malloc'd: query and
 * fragment left out, the port only when not the default. */
fz_code fz_url_format_htu(const fz_url *u, char **out, fz_err *err);

/* Parses s[0..n) and writes its htu form: what a DPoP proof carries and
 * what a server compares the proof's htu with. */
fz_code fz_url_htu(const char *s, size_t n, char **out, fz_err *err);

#endif
