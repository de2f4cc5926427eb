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
#include "discovery_doc.h"

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
	rc = fz_disc_json_object(p->a, url, resp.body, resp.body_len, &j, err);
	if (rc != FZ_OK)
		return rc;
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
	rc = fz_disc_redirect_target(p->a, *base, fz_http_client_resp_header(first, "Location"),
				     &u, &next, err);
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

static fz_code read_as(struct pass *p, const char *base, const char *resolve,
		       fz_disc_svc **out, fz_err *err)
{
	const char *types[] = {JSON_TYPE, NULL};
	const char *url;
	json_t *j;
	fz_code rc;

	url = fz_arena_printf(p->a, "%s%s", base, FZ_DISCOVERY_AS_METADATA);
	if (url == NULL)
		return nomem(err);
	rc = get_json(p, url, resolve, JSON_TYPE, types, &j, err);
	if (rc != FZ_OK)
		return rc;
	return fz_disc_read_as_doc(j, url, base, resolve, out, err);
}

static fz_code read_rs(struct pass *p, const char *base, const char *resolve,
		       fz_disc_svc **out, fz_err *err)
{
	const char *types[] = {JSON_TYPE, NULL};
	const char *url;
	json_t *j;
	fz_code rc;

	url = fz_arena_printf(p->a, "%s%s", base, FZ_DISCOVERY_RS_METADATA);
	if (url == NULL)
		return nomem(err);
	rc = get_json(p, url, resolve, JSON_TYPE, types, &j, err);
	if (rc != FZ_OK)
		return rc;
	return fz_disc_read_rs_doc(j, url, base, resolve, p->d->cfg.max_authorization_servers,
				   out, err);
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
