/*
 * as_web.h - what the AS's browser-facing pages (/login, /authorize)
 * need beyond JSON: HTML built with every untrusted string escaped,
 * percent-encoding for the query strings we write (redirects, the
 * pending authorization request), and cookies.
 *
 * The pure pieces (escaping, encoding, cookie parsing) take no request
 * and do no I/O, so they are unit-tested alone (tests/unit/test_as_web.c).
 */
#ifndef FZ_AS_WEB_H
#define FZ_AS_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "form.h"
#include "http_server.h"

/* --- as_html.c: HTML text -------------------------------------------- */

/* A growing string in an arena. A failed append marks it failed and
 * later appends do nothing, so a page is built without a check per line
 * and fz_html_finish says once whether it all fit. */
typedef struct fz_html {
	fz_arena *arena;
	char *buf;
	size_t len, cap;
	size_t max;   /* bytes the page may reach */
	bool failed;
} fz_html;

#define FZ_HTML_PAGE_MAX (64 * 1024) /* our pages are small: a bound, not a goal */

void fz_html_init(fz_html *h, fz_arena *a, size_t max);
/* Appends trusted markup as is. */
void fz_html_raw(fz_html *h, const char *s);
/* Appends untrusted text escaped for element content and quoted
 * attribute values alike: & < > " ' become character references. */
void fz_html_text(fz_html *h, const char *s);
/* The page, NUL-terminated, and its length; FZ_ENOMEM when it failed. */
fz_code fz_html_finish(fz_html *h, const char **out, size_t *len, fz_err *err);

/* s escaped as fz_html_text does, in the arena; NULL when out of memory. */
char *fz_html_escape(fz_arena *a, const char *s);

/* s percent-encoded for a query component: every byte but the RFC 3986
 * unreserved characters (A-Z a-z 0-9 - . _ ~) becomes %XX; in the arena. */
char *fz_url_encode(fz_arena *a, const char *s);

/* Appends "name=value" pairs, encoded, joined by '&', to h (which then
 * holds a query, not HTML). */
void fz_query_add(fz_html *h, const char *name, const char *value);

/* Answers an HTML page with the headers every page of ours carries: no
 * caching, no framing (clickjacking of the consent button), no referrer
 * (the URL holds the authorization request), a CSP that allows no
 * script at all. */
fz_code fz_as_respond_html(fz_http_req *req, unsigned status, const char *page,
			   size_t len, fz_err *err);

/* --- as_cookie.c: cookies (RFC 6265) ----------------------------------- */

#define FZ_COOKIE_VALUE_MAX 128

/* The value of cookie name in a Cookie request header, or NULL when it
 * is absent, sent twice (which one would be ours?), or not of the form
 * we issue (1..FZ_COOKIE_VALUE_MAX base64url characters). */
const char *fz_cookie_get(fz_arena *a, const char *header, const char *name);

/* "name=value; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=n", in
 * the arena; max_age 0 deletes the cookie. */
char *fz_cookie_format(fz_arena *a, const char *name, const char *value,
		       int64_t max_age);

#endif
