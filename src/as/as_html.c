/*
 * as_html.c - building the AS's few HTML pages safely: a bounded string
 * builder whose only way to add untrusted text escapes it, the
 * percent-encoding of the query strings we write, and the response
 * headers that keep a login or consent page from being framed, cached,
 * scripted or leaked through a Referer.
 */
#include <stdio.h>
#include <string.h>

#include "as_web.h"

void fz_html_init(fz_html *h, fz_arena *a, size_t max)
{
	memset(h, 0, sizeof(*h));
	h->arena = a;
	h->max = max;
}

/* Room for n more bytes and a NUL, doubling; false when over max or out
 * of memory (the builder is then failed). */
static bool reserve(fz_html *h, size_t n)
{
	size_t want, cap;
	char *grown;

	if (h->failed)
		return false;
	if (n > h->max || h->len > h->max - n) {
		h->failed = true;
		return false;
	}
	want = h->len + n + 1;
	if (want <= h->cap)
		return true;
	cap = h->cap ? h->cap : 1024;
	while (cap < want)
		cap *= 2;
	grown = fz_arena_alloc(h->arena, cap);
	if (grown == NULL) {
		h->failed = true;
		return false;
	}
	if (h->len > 0)
		memcpy(grown, h->buf, h->len);
	h->buf = grown;
	h->cap = cap;
	return true;
}

static void put(fz_html *h, const char *s, size_t n)
{
	if (!reserve(h, n))
		return;
	memcpy(h->buf + h->len, s, n);
	h->len += n;
	h->buf[h->len] = '\0';
}

void fz_html_raw(fz_html *h, const char *s)
{
	put(h, s, strlen(s));
}

/* The reference for a character that must not appear raw, or NULL. The
 * apostrophe too, so text is safe in either quote of an attribute. */
static const char *entity(char c)
{
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	default: return NULL;
	}
}

void fz_html_text(fz_html *h, const char *s)
{
	const char *run = s, *e;

	for (; *s != '\0'; s++) {
		if ((e = entity(*s)) == NULL)
			continue;
		put(h, run, (size_t)(s - run));
		fz_html_raw(h, e);
		run = s + 1;
	}
	put(h, run, (size_t)(s - run));
}

fz_code fz_html_finish(fz_html *h, const char **out, size_t *len, fz_err *err)
{
	*out = NULL;
	*len = 0;
	if (!h->failed && h->buf == NULL)
		reserve(h, 0);
	if (h->failed)
		return fz_fail(err, FZ_ENOMEM, "page larger than %zu bytes or out of memory",
			       h->max);
	h->buf[h->len] = '\0';
	*out = h->buf;
	*len = h->len;
	return FZ_OK;
}

char *fz_html_escape(fz_arena *a, const char *s)
{
	fz_html h;
	const char *out;
	size_t n;

	fz_html_init(&h, a, (size_t)-1 / 8);
	fz_html_text(&h, s);
	return fz_html_finish(&h, &out, &n, NULL) == FZ_OK ? (char *)out : NULL;
}

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Appends s percent-encoded. */
static void put_encoded(fz_html *h, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3] = {'%', 0, 0};
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (unreserved(*p)) {
			put(h, (const char *)p, 1);
			continue;
		}
		esc[1] = hex[*p >> 4];
		esc[2] = hex[*p & 15];
		put(h, esc, 3);
	}
}

char *fz_url_encode(fz_arena *a, const char *s)
{
	fz_html h;
	const char *out;
	size_t n;

	fz_html_init(&h, a, (size_t)-1 / 8);
	put_encoded(&h, s);
	return fz_html_finish(&h, &out, &n, NULL) == FZ_OK ? (char *)out : NULL;
}

void fz_query_add(fz_html *h, const char *name, const char *value)
{
	if (h->len > 0)
		put(h, "&", 1);
	put_encoded(h, name);
	put(h, "=", 1);
	put_encoded(h, value);
}

/* No script anywhere, styles only inline (the pages carry their own
 * small stylesheet), no framing. No form-action: browsers apply it to
 * the redirect that answers a form post too, and the answer to the
 * login and consent forms is a redirect to the client's origin. */
#define PAGE_CSP "default-src 'none'; style-src 'unsafe-inline'; " \
	"frame-ancestors 'none'; base-uri 'none'"

fz_code fz_as_respond_html(fz_http_req *req, unsigned status, const char *page,
			   size_t len, fz_err *err)
{
	fz_code rc;

	if ((rc = fz_http_add_header(req, "Cache-Control", "no-store", err)) ||
	    (rc = fz_http_add_header(req, "Pragma", "no-cache", err)) ||
	    (rc = fz_http_add_header(req, "Content-Security-Policy", PAGE_CSP, err)) ||
	    (rc = fz_http_add_header(req, "X-Frame-Options", "DENY", err)) ||
	    (rc = fz_http_add_header(req, "Referrer-Policy", "no-referrer", err)))
		return rc;
	return fz_http_respond_bytes(req, status, "text/html; charset=utf-8", page, len, err);
}
