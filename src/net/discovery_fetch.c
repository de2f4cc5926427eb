/*
 * discovery_fetch.c - the network half of discovery: SRV records to a
 * base URL (RFC 2782 order, falling over to the next target when one
 * cannot be reached), Note 1's single redirect, and the metadata and JWKS
 * documents, each read strictly before any of it is believed.
 *
 * Every host is resolved by the configured DNS server and handed to curl
 * as a resolve entry, so the system resolver never decides where we
 * connect; TLS still checks the certificate against the host name.
 */
#include "discovery_int.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cache_ttl.h"
#include "http_client.h"
#include "url.h"

#define HTTPS_PORT 443
#define JSON_TYPE "application/json"
#define JWKS_TYPE "application/jwk-set+json"

/* One discovery pass: its memory, its HTTP client (curl handles are not
 * shared between threads), and the smallest lifetime its sources gave. */
struct pass {
	fz_discovery *d;
	fz_arena *a;
	fz_http_client *http;
	uint32_t ttl;
};

static fz_code pass_open(fz_discovery *d, struct pass *p, fz_err *err)
{
	fz_http_client_config hc;

	memset(p, 0, sizeof(*p));
	p->d = d;
	p->ttl = UINT32_MAX;
	/* bodies live outside the arena; the client bounds header bytes */
	p->a = fz_arena_new(0, 0);
	if (p->a == NULL)
		return fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
	fz_http_client_config_defaults(&hc);
	hc.ca_file = d->cfg.ca_file;
	hc.connect_timeout_s = d->cfg.http_connect_timeout_s;
	hc.timeout_s = d->cfg.http_timeout_s;
	hc.max_body_bytes = d->cfg.max_document_bytes;
	return fz_http_client_new(&hc, &p->http, err);
}

static void pass_close(struct pass *p)
{
	fz_http_client_free(p->http);
	fz_arena_free(p->a);
}

static void pass_ttl(struct pass *p, uint32_t ttl)
{
	if (ttl < p->ttl)
		p->ttl = ttl;
}

static fz_code nomem(fz_err *err)
{
	return fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
}

/* --- where to connect ------------------------------------------------- */

static bool is_ip_literal(const char *host)
{
	struct in_addr a4;

	return host[0] == '[' || inet_pton(AF_INET, host, &a4) == 1;
}

/* "host:port:a,[b]" for curl's resolve list. */
static const char *resolve_entry(fz_arena *a, const char *host, uint16_t port,
				 const fz_dns_addr *addrs, size_t n)
{
	size_t cap = strlen(host) + 8 + n * (FZ_DNS_ADDR_TEXT_MAX + 3), off, i;
	char *s = fz_arena_alloc(a, cap);
	bool v6;

	if (s == NULL)
		return NULL;
	off = (size_t)snprintf(s, cap, "%s:%u:", host, (unsigned)port);
	for (i = 0; i < n && off < cap; i++) {
		v6 = addrs[i].family == AF_INET6;
		off += (size_t)snprintf(s + off, cap - off, "%s%s%s%s", i ? "," : "",
					v6 ? "[" : "", addrs[i].text, v6 ? "]" : "");
	}
	return off < cap ? s : NULL;
}

static fz_code resolve_host(fz_discovery *d, fz_arena *a, const char *host,
			    uint16_t port, const char **entry, uint32_t *ttl,
			    fz_err *err)
{
	fz_dns_addr *addrs;
	size_t n;
	fz_code rc;

	*entry = NULL;
	*ttl = UINT32_MAX;
	if (is_ip_literal(host))
		return FZ_OK;
	if (!fz_dns_name_ok(host, strlen(host)))
		return fz_fail(err, FZ_ESTRUCT, "discovery: \"%s\" is not a host name", host);
	rc = fz_dns_addrs(d->dns, host, a, &addrs, &n, ttl, err);
	if (rc != FZ_OK)
		return rc;
	*entry = resolve_entry(a, host, port, addrs, n);
	return *entry ? FZ_OK : nomem(err);
}

/* Reuses known (an entry for the base's host) when u is on the same host
 * and port, else asks DNS. */
static fz_code resolve_for(struct pass *p, const fz_url *u, const char *known,
			   const char **entry, fz_err *err)
{
	char prefix[FZ_DNS_NAME_MAX + 16];
	uint32_t ttl;
	int n;
	fz_code rc;

	n = snprintf(prefix, sizeof(prefix), "%s:%u:", u->host, (unsigned)u->port);
	if (known != NULL && n > 0 && (size_t)n < sizeof(prefix) &&
	    strncmp(known, prefix, (size_t)n) == 0) {
		*entry = known;
		return FZ_OK;
	}
	rc = resolve_host(p->d, p->a, u->host, u->port, entry, &ttl, err);
	if (rc == FZ_OK)
		pass_ttl(p, ttl);
	return rc;
}

fz_code fz_disc_resolve_url(fz_discovery *d, fz_arena *a, const char *url,
			    const char **entry, uint32_t *ttl, fz_err *err)
{
	fz_url u;
	fz_code rc;

	*entry = NULL;
	if (url == NULL)
		return fz_fail(err, FZ_ESYNTAX, "discovery: no URL");
	rc = fz_url_parse(url, strlen(url), &u, err);
	if (rc != FZ_OK)
		return rc;
	if (strcmp(u.scheme, "https") != 0)
		rc = fz_fail(err, FZ_ESYNTAX, "discovery: %s is not https", url);
	else
		rc = resolve_host(d, a, u.host, u.port, entry, ttl, err);
	fz_url_clear(&u);
	return rc;
}

/* --- HTTP ------------------------------------------------------------- */

static fz_code get(struct pass *p, const char *url, const char *resolve,
		   const char *accept, fz_http_client_resp *resp, fz_err *err)
{
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_header h = {"Accept", accept};

	rq.url = url;
	rq.headers = &h;
	rq.nheaders = accept ? 1 : 0;
	rq.resolve = resolve ? &resolve : NULL;
	rq.nresolve = resolve ? 1 : 0;
	return fz_http_client_request(p->http, p->a, &rq, resp, err);
}

/* GET base/ for Note 1. A body over max_document_bytes is a page, not a
 * redirect we would follow: the base answered, and stays. */
static fz_code probe(struct pass *p, const char *base, const char *resolve,
		     fz_http_client_resp *resp, fz_err *err)
{
	fz_code rc = get(p, base, resolve, NULL, resp, err);

	if (rc == FZ_ELIMIT) {
		resp->status = 200;
		resp->nheaders = 0;
		return FZ_OK;
	}
	return rc;
}

static bool is_redirect(long status)
{
	return status == 301 || status == 302 || status == 307 || status == 308;
}

/* The media type of resp is one of want (NULL-terminated), parameters
 * ignored. */
static bool media_type_is(const fz_http_client_resp *resp, const char *const *want)
{
	const char *ct = fz_http_client_resp_header(resp, "Content-Type");
	size_t n;

	if (ct == NULL)
		return false;
	n = strcspn(ct, "; \t");
	for (; *want != NULL; want++)
		if (strlen(*want) == n && strncasecmp(ct, *want, n) == 0)
			return true;
	return false;
}

/* A 200 JSON object, tied to the pass's arena; its max-age lowers the
 * pass's lifetime. */
static fz_code get_json(struct pass *p, const char *url, const char *resolve,
			const char *accept, const char *const *types, json_t **out,
			fz_err *err)
{
	fz_http_client_resp resp;
	json_error_t jerr;
	uint32_t max_age;
	json_t *j;
	fz_code rc;

	*out = NULL;
	rc = get(p, url, resolve, accept, &resp, err);
	if (rc != FZ_OK)
		return rc;
	if (resp.status == 404 || resp.status == 410)
		return fz_fail(err, FZ_ENOTFOUND, "%s: not found (%ld)", url, resp.status);
	if (resp.status != 200)
		return fz_fail(err, FZ_EIO, "%s: answered %ld", url, resp.status);
	if (!media_type_is(&resp, types))
		return fz_fail(err, FZ_ESTRUCT, "%s: Content-Type is not %s", url, types[0]);
	j = json_loadb(resp.body, resp.body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return fz_fail(err, FZ_ESTRUCT, "%s: not JSON: %s", url, jerr.text);
	if (fz_arena_own_json(p->a, j) == NULL)
		return nomem(err);
	if (!json_is_object(j))
		return fz_fail(err, FZ_ESTRUCT, "%s: not a JSON object", url);
	if (fz_cache_control_max_age(fz_http_client_resp_header(&resp, "Cache-Control"),
				     &max_age))
		pass_ttl(p, max_age);
	*out = j;
	return FZ_OK;
}

/* --- base URL: SRV and Note 1 ------------------------------------------ */

static char *base_of(fz_arena *a, const char *host, uint16_t port)
{
	if (port == HTTPS_PORT)
		return fz_arena_printf(a, "https://%s/", host);
	return fz_arena_printf(a, "https://%s:%u/", host, (unsigned)port);
}

/* The base a redirect names: an https URL, or an absolute path on the
 * base's origin; no query or fragment; the path ends in '/' so the
 * well-known names can be appended. u keeps the parsed result. */
static fz_code redirect_target(struct pass *p, const char *base, const char *loc,
			       fz_url *u, char **out, fz_err *err)
{
	const char *abs = loc, *slash;
	size_t plen;
	fz_code rc;

	if (loc == NULL || loc[0] == '\0')
		return fz_fail(err, FZ_ESTRUCT, "%s redirects without a Location", base);
	if (loc[0] == '/' && loc[1] != '/') /* base is "https://host[:port]/" */
		abs = fz_arena_printf(p->a, "%.*s%s", (int)strlen(base) - 1, base, loc);
	if (abs == NULL)
		return nomem(err);
	rc = fz_url_parse(abs, strlen(abs), u, err);
	if (rc != FZ_OK)
		return fz_err_prefix(err, "%s redirects to a bad URL: ", base);
	if (strcmp(u->scheme, "https") != 0)
		return fz_fail(err, FZ_EDENIED, "%s redirects to http (%.100s): refused", base,
			       loc);
	if (u->query != NULL || u->fragment != NULL)
		return fz_fail(err, FZ_ESTRUCT, "%s redirects to a URL with a query or fragment",
			       base);
	plen = strlen(u->path);
	slash = u->path[plen - 1] == '/' ? "" : "/";
	if (u->port == HTTPS_PORT)
		*out = fz_arena_printf(p->a, "https://%s%s%s", u->host, u->path, slash);
	else
		*out = fz_arena_printf(p->a, "https://%s:%u%s%s", u->host, (unsigned)u->port,
				       u->path, slash);
	return *out ? FZ_OK : nomem(err);
}

/* Note 1: a redirect is followed once; the new base is fetched to make
 * sure it does not redirect again. */
static fz_code follow_note1(struct pass *p, const fz_http_client_resp *first,
			    const char **base, const char **resolve, fz_err *err)
{
	fz_http_client_resp resp;
	const char *nres = NULL;
	char *next = NULL;
	fz_url u = {0};
	fz_code rc;

	if (!is_redirect(first->status))
		return FZ_OK;
	rc = redirect_target(p, *base, fz_http_client_resp_header(first, "Location"), &u,
			     &next, err);
	if (rc == FZ_OK)
		rc = resolve_for(p, &u, *resolve, &nres, err);
	if (rc == FZ_OK && (rc = probe(p, next, nres, &resp, err)) != FZ_OK)
		fz_err_prefix(err, "redirected base: ");
	if (rc == FZ_OK && is_redirect(resp.status))
		rc = fz_fail(err, FZ_EDENIED,
			     "%s redirects to %s, which redirects again: refused (one "
			     "redirect is followed)", *base, next);
	fz_url_clear(&u);
	if (rc != FZ_OK)
		return rc;
	*base = next;
	*resolve = nres;
	return FZ_OK;
}

static fz_code try_target(struct pass *p, const fz_srv_record *r,
			  fz_http_client_resp *resp, const char **base,
			  const char **resolve, fz_err *err)
{
	uint32_t ttl;
	fz_code rc;

	rc = resolve_host(p->d, p->a, r->target, r->port, resolve, &ttl, err);
	if (rc != FZ_OK)
		return rc;
	*base = base_of(p->a, r->target, r->port);
	if (*base == NULL)
		return nomem(err);
	rc = probe(p, *base, *resolve, resp, err);
	if (rc == FZ_OK)
		pass_ttl(p, ttl);
	return rc;
}

/* The base URL of service at domain: SRV records in RFC 2782 order, the
 * first target that resolves and answers wins. */
static fz_code find_base(struct pass *p, const char *service, const char *domain,
			 const char **base, const char **resolve, fz_err *err)
{
	fz_discovery *d = p->d;
	fz_http_client_resp resp;
	fz_srv_record *recs;
	const char *name;
	size_t n, i;
	uint32_t ttl;
	fz_code rc;

	name = fz_arena_printf(p->a, "%s.%s", service, domain);
	if (name == NULL)
		return nomem(err);
	rc = fz_dns_srv(d->dns, name, p->a, &recs, &n, &ttl, err);
	if (rc != FZ_OK)
		return rc;
	pass_ttl(p, ttl);
	rc = fz_srv_usable(recs, &n, err);
	if (rc != FZ_OK)
		return fz_err_prefix(err, "%s: ", name);
	fz_srv_order(recs, n, d->cfg.rng, d->cfg.rng_ctx);
	for (i = 0; i < n; i++) {
		rc = try_target(p, &recs[i], &resp, base, resolve, err);
		if (rc == FZ_OK)
			return follow_note1(p, &resp, base, resolve, err);
	}
	return fz_err_prefix(err, "%s: no target could be reached (last: %s:%u): ", name,
			     recs[n - 1].target, (unsigned)recs[n - 1].port);
}

/* --- documents ---------------------------------------------------------- */

/* An https URL value v, named name in doc; NULL when absent and not
 * required. */
static fz_code url_value(const json_t *v, const char *doc, const char *name,
			 bool required, bool query_ok, const char **out, fz_err *err)
{
	const char *s;
	fz_url u;
	fz_code rc;

	*out = NULL;
	if (v == NULL && !required)
		return FZ_OK;
	if (!json_is_string(v))
		return fz_fail(err, FZ_ESTRUCT, "%s: %s is %s", doc, name,
			       v ? "not a string" : "missing");
	s = json_string_value(v);
	if (json_string_length(v) > FZ_URL_MAX || strlen(s) != json_string_length(v))
		return fz_fail(err, FZ_ESTRUCT, "%s: %s is not a URL", doc, name);
	rc = fz_url_parse(s, strlen(s), &u, err);
	if (rc != FZ_OK)
		return fz_err_prefix(err, "%s: %s: ", doc, name);
	if (strcmp(u.scheme, "https") != 0 || u.fragment != NULL ||
	    (!query_ok && u.query != NULL))
		rc = fz_fail(err, FZ_ESTRUCT, "%s: %s must be an https URL without %s", doc,
			     name, query_ok ? "fragment" : "query or fragment");
	fz_url_clear(&u);
	if (rc == FZ_OK)
		*out = s;
	return rc;
}

static fz_code member_url(const json_t *o, const char *doc, const char *name,
			  bool required, bool query_ok, const char **out, fz_err *err)
{
	return url_value(json_object_get(o, name), doc, name, required, query_ok, out, err);
}

/* RFC 8414 §3.3 / RFC 9728 §3.3: the identifier in the document is the
 * URL the document was fetched under; compared in normal form, a final
 * '/' ignored (a base always has one, an issuer often not). */
static bool names_base(const char *id, const char *base)
{
	char *a = NULL, *b = NULL;
	size_t la, lb;
	bool same = false;

	if (fz_url_htu(id, strlen(id), &a, NULL) == FZ_OK &&
	    fz_url_htu(base, strlen(base), &b, NULL) == FZ_OK) {
		la = strlen(a);
		lb = strlen(b);
		la -= la > 0 && a[la - 1] == '/';
		lb -= lb > 0 && b[lb - 1] == '/';
		same = la == lb && memcmp(a, b, la) == 0;
	}
	free(a);
	free(b);
	return same;
}

static bool dup(char **dst, const char *src)
{
	if (src == NULL)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

static fz_code svc_new(const char *base, const char *resolve, fz_disc_svc **out,
		       fz_err *err)
{
	fz_disc_svc *s = calloc(1, sizeof(*s));

	*out = s;
	if (s == NULL || !dup(&s->base_url, base) || !dup(&s->resolve, resolve))
		return nomem(err);
	return FZ_OK;
}

void fz_disc_svc_free(fz_disc_svc *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->base_url);
	free(s->resolve);
	free(s->issuer);
	free(s->jwks_uri);
	free(s->token_endpoint);
	free(s->resource);
	free(s->mta_client_id);
	for (i = 0; i < s->n_as; i++)
		free(s->as_list[i]);
	free(s->as_list);
	free(s);
}

static fz_code read_as(struct pass *p, const char *base, const char *resolve,
		       fz_disc_svc **out, fz_err *err)
{
	const char *types[] = {JSON_TYPE, NULL};
	const char *issuer, *jwks_uri, *token_endpoint, *url;
	fz_disc_svc *s;
	json_t *j;
	fz_code rc;

	url = fz_arena_printf(p->a, "%s%s", base, FZ_DISCOVERY_AS_METADATA);
	if (url == NULL)
		return nomem(err);
	rc = get_json(p, url, resolve, JSON_TYPE, types, &j, err);
	if (rc == FZ_OK)
		rc = member_url(j, url, "issuer", true, false, &issuer, err);
	if (rc == FZ_OK)
		rc = member_url(j, url, "jwks_uri", true, true, &jwks_uri, err);
	if (rc == FZ_OK)
		rc = member_url(j, url, "token_endpoint", false, true, &token_endpoint, err);
	if (rc != FZ_OK)
		return rc;
	if (!names_base(issuer, base))
		return fz_fail(err, FZ_ESTRUCT, "%s: issuer %.200s does not name the base %s",
			       url, issuer, base);
	rc = svc_new(base, resolve, &s, err);
	if (rc == FZ_OK && (!dup(&s->issuer, issuer) || !dup(&s->jwks_uri, jwks_uri) ||
			    !dup(&s->token_endpoint, token_endpoint)))
		rc = nomem(err);
	if (rc != FZ_OK) {
		fz_disc_svc_free(s);
		return rc;
	}
	*out = s;
	return FZ_OK;
}

/* RFC 6749 Appendix A.1: a client_id is VSCHAR, %x20-7E. */
static bool client_id_ok(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t i, n = json_string_length(v);

	if (s == NULL || n == 0 || n > FZ_DISCOVERY_CLIENT_ID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static fz_code read_as_list(struct pass *p, const json_t *j, const char *url,
			    fz_disc_svc *s, fz_err *err)
{
	const json_t *list = json_object_get(j, "authorization_servers");
	const char *v;
	size_t i, n;
	fz_code rc;

	if (list == NULL)
		return FZ_OK;
	if (!json_is_array(list))
		return fz_fail(err, FZ_ESTRUCT, "%s: authorization_servers is not an array", url);
	n = json_array_size(list);
	if (n > p->d->cfg.max_authorization_servers)
		return fz_fail(err, FZ_ELIMIT, "%s: more than %zu authorization_servers", url,
			       p->d->cfg.max_authorization_servers);
	s->as_list = calloc(n ? n : 1, sizeof(*s->as_list));
	if (s->as_list == NULL)
		return nomem(err);
	for (i = 0; i < n; i++) {
		rc = url_value(json_array_get(list, i), url, "authorization_servers[]", true,
			       false, &v, err);
		if (rc == FZ_OK && !dup(&s->as_list[s->n_as], v))
			rc = nomem(err);
		if (rc != FZ_OK)
			return rc;
		s->n_as++;
	}
	return FZ_OK;
}

static fz_code read_rs(struct pass *p, const char *base, const char *resolve,
		       fz_disc_svc **out, fz_err *err)
{
	const char *types[] = {JSON_TYPE, NULL};
	const char *resource, *url;
	const json_t *cid;
	fz_disc_svc *s = NULL;
	json_t *j;
	fz_code rc;

	url = fz_arena_printf(p->a, "%s%s", base, FZ_DISCOVERY_RS_METADATA);
	if (url == NULL)
		return nomem(err);
	rc = get_json(p, url, resolve, JSON_TYPE, types, &j, err);
	if (rc == FZ_OK)
		rc = member_url(j, url, "resource", true, false, &resource, err);
	if (rc != FZ_OK)
		return rc;
	if (!names_base(resource, base))
		return fz_fail(err, FZ_ESTRUCT, "%s: resource %.200s does not name the base %s",
			       url, resource, base);
	cid = json_object_get(j, "federizer_mta_client_id");
	if (!client_id_ok(cid))
		return fz_fail(err, FZ_ESTRUCT, "%s: federizer_mta_client_id is %s", url,
			       cid ? "not a client_id" : "missing");
	rc = svc_new(base, resolve, &s, err);
	if (rc == FZ_OK && (!dup(&s->resource, resource) ||
			    !dup(&s->mta_client_id, json_string_value(cid))))
		rc = nomem(err);
	if (rc == FZ_OK)
		rc = read_as_list(p, j, url, s, err);
	if (rc != FZ_OK) {
		fz_disc_svc_free(s);
		return rc;
	}
	*out = s;
	return FZ_OK;
}

typedef fz_code (*read_fn)(struct pass *p, const char *base, const char *resolve,
			   fz_disc_svc **out, fz_err *err);

static fz_code fetch_svc(fz_discovery *d, const char *service, const char *domain,
			 read_fn read, fz_disc_svc **out, uint32_t *ttl, fz_err *err)
{
	const char *base = NULL, *resolve = NULL;
	struct pass p;
	fz_code rc;

	*out = NULL;
	rc = pass_open(d, &p, err);
	if (rc == FZ_OK)
		rc = find_base(&p, service, domain, &base, &resolve, err);
	if (rc == FZ_OK)
		rc = read(&p, base, resolve, out, err);
	*ttl = p.ttl;
	pass_close(&p);
	return rc;
}

fz_code fz_disc_fetch_as(fz_discovery *d, const char *domain, fz_disc_svc **out,
			 uint32_t *ttl, fz_err *err)
{
	return fetch_svc(d, FZ_DISCOVERY_AS_SERVICE, domain, read_as, out, ttl, err);
}

fz_code fz_disc_fetch_rs(fz_discovery *d, const char *domain, fz_disc_svc **out,
			 uint32_t *ttl, fz_err *err)
{
	return fetch_svc(d, FZ_DISCOVERY_RS_SERVICE, domain, read_rs, out, ttl, err);
}

fz_code fz_disc_fetch_jwks(fz_discovery *d, const char *jwks_uri,
			   const char *base_resolve, fz_keyset **out,
			   uint32_t *ttl, fz_err *err)
{
	const char *types[] = {JWKS_TYPE, JSON_TYPE, NULL};
	const char *resolve = NULL;
	struct pass p;
	fz_url u = {0};
	json_t *j;
	fz_code rc;

	*out = NULL;
	rc = pass_open(d, &p, err);
	if (rc == FZ_OK)
		rc = fz_url_parse(jwks_uri, strlen(jwks_uri), &u, err);
	if (rc == FZ_OK)
		rc = resolve_for(&p, &u, base_resolve, &resolve, err);
	if (rc == FZ_OK)
		rc = get_json(&p, jwks_uri, resolve, JWKS_TYPE ", " JSON_TYPE, types, &j, err);
	if (rc == FZ_OK && fz_keyset_from_jwks(j, out, err) != FZ_OK)
		rc = fz_err_prefix(err, "%s: ", jwks_uri);
	*ttl = p.ttl;
	fz_url_clear(&u);
	pass_close(&p);
	return rc;
}
