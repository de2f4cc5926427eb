/*
 * http_client.c - libcurl easy interface, reset and configured afresh for
 * every request so no option leaks from one call into the next, while the
 * handle's connection cache still lets calls to one host reuse a TLS
 * session.
 */
#include "http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct fz_http_client {
	fz_http_client_config cfg;
	CURL *curl;
	/* "-host:port" for each pin the last request added: CURLOPT_RESOLVE
	 * entries stay in the handle's DNS cache after the request, so the
	 * next request removes them first. */
	struct curl_slist *unpin;
};

/* What the curl callbacks fill during one request. */
struct transfer {
	const fz_http_client_config *cfg;
	fz_arena *arena;
	fz_http_client_resp *resp;
	int out_fd;
	int (*sink)(void *ctx, const void *data, size_t n);
	int (*sink_begin)(void *ctx, long status);
	bool sink_begun;
	void *sink_ctx;
	CURL *curl;      /* for the status, when a sink is set */
	size_t cap_headers;
	size_t header_bytes;
	struct body_holder *holder; /* frees body with the arena */
	char *body;
	size_t body_cap;
	fz_code fail;    /* why a callback stopped the transfer */
	char why[128];
};

void fz_http_client_config_defaults(fz_http_client_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->connect_timeout_s = FZ_HTTP_CLIENT_CONNECT_TIMEOUT_S_DEFAULT;
	cfg->timeout_s = FZ_HTTP_CLIENT_TIMEOUT_S_DEFAULT;
	cfg->stall_timeout_s = FZ_HTTP_CLIENT_STALL_TIMEOUT_S_DEFAULT;
	cfg->max_body_bytes = FZ_HTTP_CLIENT_MAX_BODY_DEFAULT;
	cfg->max_download_bytes = FZ_HTTP_CLIENT_MAX_DOWNLOAD_DEFAULT;
	cfg->max_headers = FZ_HTTP_CLIENT_MAX_HEADERS_DEFAULT;
	cfg->max_header_bytes = FZ_HTTP_CLIENT_MAX_HEADER_BYTES_DEFAULT;
	cfg->user_agent = "federizer/" FZ_VERSION;
}

fz_code fz_http_client_new(const fz_http_client_config *cfg,
			   fz_http_client **out, fz_err *err)
{
	fz_http_client *c;

	*out = NULL;
	/* Thread-safe since curl 7.84; balanced in fz_http_client_free. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return fz_fail(err, FZ_EINTERNAL, "curl_global_init failed");
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		curl_global_cleanup();
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	c->cfg = *cfg;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		fz_http_client_free(c);
		return fz_fail(err, FZ_ENOMEM, "curl_easy_init failed");
	}
	*out = c;
	return FZ_OK;
}

void fz_http_client_free(fz_http_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	curl_slist_free_all(c->unpin);
	free(c);
	curl_global_cleanup();
}

static void stop(struct transfer *t, fz_code code, const char *why)
{
	t->fail = code;
	snprintf(t->why, sizeof(t->why), "%s", why);
}

/* The body grows by realloc; the arena cleanup frees whatever the holder
 * points at last, so the holder lives in the arena, not on the stack. */
struct body_holder {
	char *p;
};

static void free_body(void *data)
{
	struct body_holder *b = data;

	free(b->p);
}

static bool grow_body(struct transfer *t, size_t need)
{
	size_t cap = t->body_cap ? t->body_cap : 4096;
	char *grown;

	if (t->holder == NULL) {
		t->holder = fz_arena_calloc(t->arena, 1, sizeof(*t->holder));
		if (t->holder == NULL ||
		    fz_arena_on_free(t->arena, free_body, t->holder) == NULL)
			return false;
	}
	while (cap < need)
		cap *= 2;
	if (cap > t->cfg->max_body_bytes + 1)
		cap = t->cfg->max_body_bytes + 1;
	grown = realloc(t->holder->p, cap);
	if (grown == NULL)
		return false;
	t->holder->p = grown;
	t->body = grown;
	t->body_cap = cap;
	return true;
}

/* Only a 2xx body goes to the sink; headers are in when the body starts. */
static bool sink_status(const struct transfer *t, long *code)
{
	*code = 0;
	curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, code);
	return *code >= 200 && *code < 300;
}

static bool sink_begin(struct transfer *t, long code)
{
	if (t->sink_begun || t->sink_begin == NULL)
		return true;
	t->sink_begun = true;
	return t->sink_begin(t->sink_ctx, code) == 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *cls)
{
	struct transfer *t = cls;
	size_t n = size * nmemb, off = 0;
	ssize_t w;
	long code;

	if (t->sink != NULL && sink_status(t, &code)) {
		if (!sink_begin(t, code)) {
			stop(t, FZ_EIO, "the download's sink refused it");
			return 0;
		}
		if (t->resp->written + n > t->cfg->max_download_bytes) {
			stop(t, FZ_ELIMIT, "download exceeds max_download_bytes");
			return 0;
		}
		if (t->sink(t->sink_ctx, data, n) != 0) {
			stop(t, FZ_EIO, "the download's sink refused it");
			return 0;
		}
		t->resp->written += n;
		return n;
	}
	if (t->out_fd >= 0) {
		if (t->resp->written + n > t->cfg->max_download_bytes) {
			stop(t, FZ_ELIMIT, "download exceeds max_download_bytes");
			return 0;
		}
		while (off < n) {
			w = write(t->out_fd, data + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				stop(t, FZ_EIO, "cannot write the download");
				return 0;
			}
			off += (size_t)w;
		}
		t->resp->written += n;
		return n;
	}
	if (n > t->cfg->max_body_bytes - t->resp->body_len) {
		stop(t, FZ_ELIMIT, "response body exceeds max_body_bytes");
		return 0;
	}
	if (t->body_cap - t->resp->body_len < n + 1 &&
	    !grow_body(t, t->resp->body_len + n + 1)) {
		stop(t, FZ_ENOMEM, "out of memory for the response body");
		return 0;
	}
	memcpy(t->body + t->resp->body_len, data, n);
	t->resp->body_len += n;
	t->body[t->resp->body_len] = '\0';
	return n;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* One header line. A status line starts a new header block: interim
 * answers (100 Continue) must not mix with the final one. */
static size_t on_header(char *line, size_t size, size_t nmemb, void *cls)
{
	struct transfer *t = cls;
	size_t n = size * nmemb, nl, vs, ve;
	fz_http_header *h;
	const char *colon;

	t->header_bytes += n;
	if (t->header_bytes > t->cfg->max_header_bytes) {
		stop(t, FZ_ELIMIT, "response headers exceed max_header_bytes");
		return 0;
	}
	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		t->resp->nheaders = 0;
		return n;
	}
	colon = memchr(line, ':', n);
	if (colon == NULL)
		return n; /* the blank line ending the block */
	if (t->resp->nheaders == t->cfg->max_headers) {
		stop(t, FZ_ELIMIT, "more response headers than max_headers");
		return 0;
	}
	if (t->resp->nheaders == t->cap_headers) {
		size_t cap = t->cap_headers ? t->cap_headers * 2 : 16;
		fz_http_header *grown = fz_arena_alloc(t->arena, cap * sizeof(*grown));

		if (grown == NULL) {
			stop(t, FZ_ENOMEM, "out of memory for headers");
			return 0;
		}
		if (t->resp->nheaders > 0)
			memcpy(grown, t->resp->headers, t->resp->nheaders * sizeof(*grown));
		t->resp->headers = grown;
		t->cap_headers = cap;
	}
	nl = (size_t)(colon - line);
	for (vs = nl + 1; vs < n && is_ows(line[vs]); vs++)
		;
	for (ve = n; ve > vs && is_ows(line[ve - 1]); ve--)
		;
	h = &t->resp->headers[t->resp->nheaders];
	h->name = fz_arena_strndup(t->arena, line, nl);
	h->value = fz_arena_memdup(t->arena, line + vs, ve - vs);
	if (h->name == NULL || h->value == NULL) {
		stop(t, FZ_ENOMEM, "out of memory for headers");
		return 0;
	}
	t->resp->nheaders++;
	return n;
}

static bool header_ok(const fz_http_header *h)
{
	const char *p;

	if (h->name == NULL || h->value == NULL || h->name[0] == '\0')
		return false;
	for (p = h->name; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == ':')
			return false;
	for (p = h->value; *p; p++)
		if (*p == '\r' || *p == '\n')
			return false;
	return true;
}

static fz_code build_headers(fz_arena *a, const fz_http_client_req *rq,
			     struct curl_slist **out, fz_err *err)
{
	struct curl_slist *list = NULL, *next;
	const char *line;
	size_t i;

	for (i = 0; i < rq->nheaders; i++) {
		if (!header_ok(&rq->headers[i])) {
			curl_slist_free_all(list);
			return fz_fail(err, FZ_ESYNTAX, "bad request header %zu", i);
		}
		line = fz_arena_printf(a, "%s: %s", rq->headers[i].name,
				       rq->headers[i].value);
		next = line ? curl_slist_append(list, line) : NULL;
		if (next == NULL) {
			curl_slist_free_all(list);
			return fz_fail(err, FZ_ENOMEM, "out of memory for headers");
		}
		list = next;
	}
	*out = list;
	return FZ_OK;
}

/* "host:port:addresses": host without ':' or brackets, a port, addresses
 * of digits, hex, '.', ':', ',', '[', ']'. Nothing else reaches curl. */
static bool resolve_ok(const char *e, size_t *hostport_len)
{
	const char *c1 = strchr(e, ':'), *c2, *p;
	unsigned long port = 0;

	/* a leading '-' or '+' would change what curl does with the entry */
	if (c1 == NULL || c1 == e || e[0] == '-' || e[0] == '+')
		return false;
	for (p = e; p < c1; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '[' || *p == ']')
			return false;
	for (c2 = c1 + 1; *c2 >= '0' && *c2 <= '9' && port <= 65535; c2++)
		port = port * 10 + (unsigned long)(*c2 - '0');
	if (c2 == c1 + 1 || *c2 != ':' || port == 0 || port > 65535 || c2[1] == '\0')
		return false;
	for (p = c2 + 1; *p; p++)
		if (!isxdigit((unsigned char)*p) && strchr(".:,[]", *p) == NULL)
			return false;
	*hostport_len = (size_t)(c2 - e);
	return true;
}

static fz_code append(struct curl_slist **list, const char *s, fz_err *err)
{
	struct curl_slist *next = curl_slist_append(*list, s);

	if (next == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory for resolve entries");
	*list = next;
	return FZ_OK;
}

/* The CURLOPT_RESOLVE list of a request: the last request's pins removed,
 * then this one's added; *unpin gets the removals for the next request. */
static fz_code build_resolve(fz_http_client *c, fz_arena *a,
			     const fz_http_client_req *rq, struct curl_slist **list,
			     struct curl_slist **unpin, fz_err *err)
{
	const struct curl_slist *u;
	size_t i, hl;
	fz_code rc = FZ_OK;
	char *rm;

	*list = NULL;
	*unpin = NULL;
	if (rq->nresolve > FZ_HTTP_CLIENT_MAX_RESOLVE)
		return fz_fail(err, FZ_ESYNTAX, "more than %d resolve entries",
			       FZ_HTTP_CLIENT_MAX_RESOLVE);
	for (u = c->unpin; u != NULL && rc == FZ_OK; u = u->next)
		rc = append(list, u->data, err);
	for (i = 0; i < rq->nresolve && rc == FZ_OK; i++) {
		if (rq->resolve[i] == NULL || !resolve_ok(rq->resolve[i], &hl)) {
			rc = fz_fail(err, FZ_ESYNTAX, "bad resolve entry %zu", i);
			break;
		}
		rm = fz_arena_printf(a, "-%.*s", (int)hl, rq->resolve[i]);
		rc = rm ? append(list, rq->resolve[i], err)
			: fz_fail(err, FZ_ENOMEM, "out of memory for resolve entries");
		if (rc == FZ_OK)
			rc = append(unpin, rm, err);
	}
	if (rc == FZ_OK)
		return FZ_OK;
	curl_slist_free_all(*list);
	curl_slist_free_all(*unpin);
	*list = *unpin = NULL;
	return rc;
}

#define SET(opt, val) \
	do { \
		if (curl_easy_setopt(h, (opt), (val)) != CURLE_OK) \
			return fz_fail(err, FZ_EINTERNAL, "curl option " #opt " refused"); \
	} while (0)

static fz_code configure(fz_http_client *c, const fz_http_client_req *rq,
			 struct curl_slist *headers, struct curl_slist *resolve,
			 struct transfer *t, char *errbuf, fz_err *err)
{
	const fz_http_client_config *cfg = &c->cfg;
	CURL *h = c->curl;

	curl_easy_reset(h);
	SET(CURLOPT_URL, rq->url);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (cfg->ca_file != NULL)
		SET(CURLOPT_CAINFO, cfg->ca_file);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, errbuf);
	SET(CURLOPT_CONNECTTIMEOUT, (long)cfg->connect_timeout_s);
	SET(CURLOPT_TIMEOUT, (long)cfg->timeout_s);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, (long)cfg->stall_timeout_s);
	if (cfg->user_agent != NULL)
		SET(CURLOPT_USERAGENT, cfg->user_agent);
	SET(CURLOPT_HTTPHEADER, headers);
	if (resolve != NULL)
		SET(CURLOPT_RESOLVE, resolve);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, t);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, t);
	if (strcmp(rq->method, "HEAD") == 0) {
		SET(CURLOPT_NOBODY, 1L);
	} else if (strcmp(rq->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, rq->method);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
		SET(CURLOPT_POSTFIELDS, rq->body_len ? rq->body : "");
	} else if (rq->body != NULL || rq->body_len != 0) {
		return fz_fail(err, FZ_ESYNTAX, "GET with a body");
	}
	return FZ_OK;
}

static fz_code transport_error(CURLcode cc, const char *errbuf, const char *url,
			       fz_err *err)
{
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
		return fz_fail(err, FZ_ESYNTAX, "%s: only https is allowed (%s)", url,
			       detail);
	case CURLE_URL_MALFORMAT:
		return fz_fail(err, FZ_ESYNTAX, "%s: %s", url, detail);
	case CURLE_OPERATION_TIMEDOUT:
		return fz_fail(err, FZ_EIO, "%s: timed out: %s", url, detail);
	default:
		return fz_fail(err, FZ_EIO, "%s: %s", url, detail);
	}
}

fz_code fz_http_client_request(fz_http_client *c, fz_arena *arena,
			       const fz_http_client_req *rq,
			       fz_http_client_resp *resp, fz_err *err)
{
	struct transfer t = {.cfg = &c->cfg, .arena = arena, .resp = resp,
			     .out_fd = rq->out_fd, .sink = rq->sink,
			     .sink_begin = rq->sink_begin, .sink_ctx = rq->sink_ctx, .curl = c->curl};
	char errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL, *resolve = NULL, *unpin = NULL;
	CURLcode cc;
	fz_code rc;

	memset(resp, 0, sizeof(*resp));
	resp->body = "";
	if (rq->url == NULL || rq->method == NULL)
		return fz_fail(err, FZ_ESYNTAX, "request without a URL or method");
	rc = build_headers(arena, rq, &headers, err);
	if (rc != FZ_OK)
		return rc;
	rc = build_resolve(c, arena, rq, &resolve, &unpin, err);
	if (rc == FZ_OK)
		rc = configure(c, rq, headers, resolve, &t, errbuf, err);
	if (rc != FZ_OK)
		goto out;
	cc = curl_easy_perform(c->curl);
	/* curl applied the resolve list as the transfer began (whatever its
	 * outcome): the old pins are gone and this request's are in */
	curl_slist_free_all(c->unpin);
	c->unpin = unpin;
	unpin = NULL;
	if (t.fail != FZ_OK) {
		rc = fz_fail(err, t.fail, "%s: %s", rq->url, t.why);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = transport_error(cc, errbuf, rq->url, err);
		goto out;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (t.body != NULL)
		resp->body = t.body;
out:
	/* The handle must not keep pointers into this call's stack. */
	curl_easy_reset(c->curl);
	curl_slist_free_all(headers);
	curl_slist_free_all(resolve);
	curl_slist_free_all(unpin);
	if (rc != FZ_OK) {
		resp->status = 0;
		resp->nheaders = 0;
		resp->body = "";
		resp->body_len = 0;
	}
	return rc;
}

const char *fz_http_client_resp_header(const fz_http_client_resp *resp,
				       const char *name)
{
	size_t i;

	for (i = 0; i < resp->nheaders; i++)
		if (strcasecmp(resp->headers[i].name, name) == 0)
			return resp->headers[i].value;
	return NULL;
}
