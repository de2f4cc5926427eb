/*
 * discovery.c - the caches and the public calls of discovery.h.
 *
 * One table of entries, keyed by (kind, domain), guarded by one mutex
 * that is never held across DNS or HTTP. AS and MBX entries hold an
 * immutable fz_disc_svc, copied into the caller's arena under the lock;
 * JWKS entries hold a reference-counted key set, since callers verify
 * with it after the lock is gone. Failures are entries too (negative
 * caching), so a dead or hostile peer costs one lookup per
 * negative_ttl_s, not one per message.
 */
#include "discovery_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache_ttl.h"
#include "jws.h"

enum disc_kind { KIND_AS, KIND_RS, KIND_JWKS, KIND_ADDR };

struct fz_disc_entry {
	enum disc_kind kind;
	char domain[FZ_DNS_NAME_MAX + 1];
	uint64_t expires;
	uint64_t fetched;  /* JWKS: last fetch, for the refetch limit */
	bool negative;
	fz_err neg;        /* the failure a negative entry repeats */
	fz_disc_svc *svc;  /* AS, RS */
	fz_disc_keys *keys; /* JWKS */
	char *jwks_uri;    /* JWKS: where keys came from */
	char *resolve;     /* ADDR: the resolve entry of the URL in domain */
};

void fz_discovery_config_defaults(fz_discovery_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dns_timeout_ms = FZ_DNS_TIMEOUT_MS_DEFAULT;
	cfg->dns_tries = FZ_DNS_TRIES_DEFAULT;
	cfg->dns_max_records = FZ_DNS_MAX_RECORDS_DEFAULT;
	cfg->http_connect_timeout_s = FZ_DISCOVERY_HTTP_CONNECT_TIMEOUT_S_DEFAULT;
	cfg->http_timeout_s = FZ_DISCOVERY_HTTP_TIMEOUT_S_DEFAULT;
	cfg->max_document_bytes = FZ_DISCOVERY_MAX_DOCUMENT_BYTES_DEFAULT;
	cfg->cache_max_entries = FZ_DISCOVERY_CACHE_MAX_ENTRIES_DEFAULT;
	cfg->ttl_min_s = FZ_DISCOVERY_TTL_MIN_S_DEFAULT;
	cfg->ttl_max_s = FZ_DISCOVERY_TTL_MAX_S_DEFAULT;
	cfg->negative_ttl_s = FZ_DISCOVERY_NEGATIVE_TTL_S_DEFAULT;
	cfg->jwks_refetch_interval_s = FZ_DISCOVERY_JWKS_REFETCH_INTERVAL_S_DEFAULT;
	cfg->max_authorization_servers = FZ_DISCOVERY_MAX_AUTHORIZATION_SERVERS_DEFAULT;
}

static uint64_t monotonic_s(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static uint32_t arc4_rng(void *ctx, uint32_t bound)
{
	(void)ctx;
	return bound == UINT32_MAX ? arc4random() : arc4random_uniform(bound + 1);
}

static uint64_t now(const fz_discovery *d)
{
	return d->cfg.clock(d->cfg.clock_ctx);
}

static fz_code check_config(const fz_discovery_config *cfg, fz_err *err)
{
	if (cfg->http_connect_timeout_s == 0 || cfg->http_timeout_s == 0)
		return fz_fail(err, FZ_ESYNTAX, "discovery: HTTP timeouts must be set");
	if (cfg->max_document_bytes == 0 || cfg->cache_max_entries == 0)
		return fz_fail(err, FZ_ESYNTAX,
			       "discovery: max_document_bytes and cache_max_entries must be set");
	if (cfg->ttl_max_s == 0 || cfg->ttl_min_s > cfg->ttl_max_s)
		return fz_fail(err, FZ_ESYNTAX, "discovery.ttl_min (%u) must not exceed "
			       "discovery.ttl_max (%u), which must be above 0",
			       (unsigned)cfg->ttl_min_s, (unsigned)cfg->ttl_max_s);
	return FZ_OK;
}

fz_code fz_discovery_new(const fz_discovery_config *cfg, fz_discovery **out,
			 fz_err *err)
{
	fz_dns_config dc;
	fz_discovery *d;
	fz_code rc;

	*out = NULL;
	rc = check_config(cfg, err);
	if (rc != FZ_OK)
		return rc;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
	d->cfg = *cfg;
	if (cfg->ca_file != NULL && (d->ca_file = strdup(cfg->ca_file)) == NULL) {
		free(d);
		return fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
	}
	d->cfg.ca_file = d->ca_file;
	d->cfg.dns_server = NULL; /* fz_dns keeps its own copy */
	if (d->cfg.clock == NULL)
		d->cfg.clock = monotonic_s;
	if (d->cfg.rng == NULL)
		d->cfg.rng = arc4_rng;
	fz_dns_config_defaults(&dc);
	dc.server = cfg->dns_server;
	dc.timeout_ms = cfg->dns_timeout_ms;
	dc.tries = cfg->dns_tries;
	dc.max_records = cfg->dns_max_records;
	rc = fz_dns_new(&dc, &d->dns, err);
	if (rc != FZ_OK || pthread_mutex_init(&d->lock, NULL) != 0) {
		fz_dns_free(d->dns);
		free(d->ca_file);
		free(d);
		return rc != FZ_OK ? rc : fz_fail(err, FZ_EINTERNAL, "discovery: no mutex");
	}
	*out = d;
	return FZ_OK;
}

void fz_disc_keys_release(fz_disc_keys *k)
{
	if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	fz_keyset_free(k->set);
	free(k);
}

/* --- the table (callers hold d->lock) ----------------------------------- */

static void entry_clear(struct fz_disc_entry *e)
{
	fz_disc_svc_free(e->svc);
	fz_disc_keys_release(e->keys);
	free(e->jwks_uri);
	free(e->resolve);
	memset(e, 0, sizeof(*e));
}

static struct fz_disc_entry *find(fz_discovery *d, enum disc_kind kind,
				  const char *domain)
{
	size_t i;

	for (i = 0; i < d->nentries; i++)
		if (d->entries[i].kind == kind && strcmp(d->entries[i].domain, domain) == 0)
			return &d->entries[i];
	return NULL;
}

/* The entry to overwrite when the table is full: an expired one, else
 * the one closest to expiring. */
static struct fz_disc_entry *victim(fz_discovery *d, uint64_t t)
{
	struct fz_disc_entry *v = &d->entries[0];
	size_t i;

	for (i = 0; i < d->nentries; i++) {
		if (d->entries[i].expires <= t)
			return &d->entries[i];
		if (d->entries[i].expires < v->expires)
			v = &d->entries[i];
	}
	return v;
}

/* An empty entry for (kind, domain): the old one cleared, a new one, or
 * an evicted one. NULL when out of memory (the result is then simply not
 * cached). JWKS entries keep their fetch time across the overwrite. */
static struct fz_disc_entry *slot(fz_discovery *d, enum disc_kind kind,
				  const char *domain, uint64_t t)
{
	struct fz_disc_entry *e = find(d, kind, domain), *grown;
	uint64_t fetched = e ? e->fetched : 0;
	size_t cap;

	if (e == NULL && d->nentries < d->cap)
		e = &d->entries[d->nentries++];
	if (e == NULL && d->cap < d->cfg.cache_max_entries) {
		cap = d->cap ? d->cap * 2 : 16;
		if (cap > d->cfg.cache_max_entries)
			cap = d->cfg.cache_max_entries;
		grown = realloc(d->entries, cap * sizeof(*grown));
		if (grown == NULL)
			return NULL;
		memset(grown + d->cap, 0, (cap - d->cap) * sizeof(*grown));
		d->entries = grown;
		d->cap = cap;
		e = &d->entries[d->nentries++];
	}
	if (e == NULL)
		e = victim(d, t);
	entry_clear(e);
	e->kind = kind;
	memcpy(e->domain, domain, strlen(domain) + 1);
	e->fetched = fetched;
	return e;
}

static bool worth_remembering(fz_code rc)
{
	/* our own trouble says nothing about the peer */
	return rc != FZ_ENOMEM && rc != FZ_EINTERNAL;
}

static void store_negative(fz_discovery *d, enum disc_kind kind, const char *domain,
			   const fz_err *err, const char *jwks_uri)
{
	uint64_t t = now(d);
	struct fz_disc_entry *e;

	if (d->cfg.negative_ttl_s == 0 || err == NULL || !worth_remembering(err->code))
		return;
	e = slot(d, kind, domain, t);
	if (e == NULL)
		return;
	e->negative = true;
	e->neg = *err;
	e->expires = t + d->cfg.negative_ttl_s;
	if (jwks_uri != NULL)
		e->jwks_uri = strdup(jwks_uri); /* NULL only makes the entry miss */
}

static uint64_t expiry(const fz_discovery *d, uint32_t ttl)
{
	return now(d) + fz_ttl_clamp(ttl, d->cfg.ttl_min_s, d->cfg.ttl_max_s);
}

static fz_code cached_failure(const struct fz_disc_entry *e, fz_err *err)
{
	if (err == NULL)
		return e->neg.code;
	*err = e->neg;
	return fz_err_prefix(err, "(cached) ");
}

/* --- AS and MBX ----------------------------------------------------------- */

static char *arena_dup(fz_arena *a, const char *s, bool *ok)
{
	char *c;

	if (s == NULL)
		return NULL;
	c = fz_arena_strdup(a, s);
	*ok &= c != NULL;
	return c;
}

static fz_code copy_as(fz_arena *a, const fz_disc_svc *s, fz_discovery_as_info *out,
		       fz_err *err)
{
	bool ok = true;

	out->base_url = arena_dup(a, s->base_url, &ok);
	out->issuer = arena_dup(a, s->issuer, &ok);
	out->jwks_uri = arena_dup(a, s->jwks_uri, &ok);
	out->token_endpoint = arena_dup(a, s->token_endpoint, &ok);
	out->resolve = arena_dup(a, s->resolve, &ok);
	return ok ? FZ_OK : fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
}

static fz_code copy_rs(fz_arena *a, const fz_disc_svc *s, fz_discovery_mbx_info *out,
		       fz_err *err)
{
	const char **list = fz_arena_calloc(a, s->n_as + 1, sizeof(*list));
	bool ok = list != NULL;
	size_t i;

	for (i = 0; ok && i < s->n_as; i++)
		list[i] = arena_dup(a, s->as_list[i], &ok);
	out->authorization_servers = list;
	out->n_authorization_servers = s->n_as;
	out->base_url = arena_dup(a, s->base_url, &ok);
	out->resource = arena_dup(a, s->resource, &ok);
	out->mta_client_id = arena_dup(a, s->mta_client_id, &ok);
	out->resolve = arena_dup(a, s->resolve, &ok);
	return ok ? FZ_OK : fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
}

static fz_code copy_svc(enum disc_kind kind, fz_arena *a, const fz_disc_svc *s,
			void *out, fz_err *err)
{
	return kind == KIND_AS ? copy_as(a, s, out, err) : copy_rs(a, s, out, err);
}

/* Answers from the cache when it can; the lock is held on return only
 * when the entry was fresh (*hit). */
static fz_code svc_cached(fz_discovery *d, enum disc_kind kind, const char *domain,
			  fz_arena *a, void *out, bool *hit, fz_err *err)
{
	struct fz_disc_entry *e;
	fz_code rc = FZ_OK;

	pthread_mutex_lock(&d->lock);
	e = find(d, kind, domain);
	*hit = e != NULL && e->expires > now(d);
	if (*hit)
		rc = e->negative ? cached_failure(e, err) : copy_svc(kind, a, e->svc, out, err);
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* The service of kind for a normalised domain, from the cache or the
 * network. */
static fz_code svc_lookup(fz_discovery *d, enum disc_kind kind, const char *domain,
			  fz_arena *a, void *out, fz_err *err)
{
	struct fz_disc_entry *e;
	fz_disc_svc *s = NULL;
	fz_err fetch_err = {0}; /* kept for the negative entry even when err is NULL */
	uint32_t ttl = 0;
	bool hit;
	fz_code rc;

	rc = svc_cached(d, kind, domain, a, out, &hit, err);
	if (hit)
		return rc;
	rc = kind == KIND_AS ? fz_disc_fetch_as(d, domain, &s, &ttl, &fetch_err)
			     : fz_disc_fetch_rs(d, domain, &s, &ttl, &fetch_err);
	pthread_mutex_lock(&d->lock);
	if (rc != FZ_OK) {
		store_negative(d, kind, domain, &fetch_err, NULL);
		if (err != NULL)
			*err = fetch_err;
	} else {
		rc = copy_svc(kind, a, s, out, err);
		e = slot(d, kind, domain, now(d));
		if (e != NULL) {
			e->svc = s;
			e->expires = expiry(d, ttl);
			s = NULL;
		}
	}
	pthread_mutex_unlock(&d->lock);
	fz_disc_svc_free(s);
	return rc;
}

fz_code fz_discovery_as_for_domain(fz_discovery *d, const char *domain,
				   fz_arena *arena, fz_discovery_as_info *out,
				   fz_err *err)
{
	char dom[FZ_DNS_NAME_MAX + 1];
	fz_code rc;

	memset(out, 0, sizeof(*out));
	rc = fz_dns_name_normalize(domain, domain ? strlen(domain) : 0, dom, err);
	if (rc != FZ_OK)
		return rc;
	return svc_lookup(d, KIND_AS, dom, arena, out, err);
}

fz_code fz_discovery_mbx_for_domain(fz_discovery *d, const char *domain,
				    fz_arena *arena, fz_discovery_mbx_info *out,
				    fz_err *err)
{
	char dom[FZ_DNS_NAME_MAX + 1];
	fz_code rc;

	memset(out, 0, sizeof(*out));
	rc = fz_dns_name_normalize(domain, domain ? strlen(domain) : 0, dom, err);
	if (rc != FZ_OK)
		return rc;
	return svc_lookup(d, KIND_RS, dom, arena, out, err);
}

static fz_code issuer_matches(const fz_discovery_as_info *info, const char *domain,
			      const char *iss, fz_err *err)
{
	if (iss != NULL && strcmp(iss, info->issuer) == 0)
		return FZ_OK;
	return fz_fail(err, FZ_ECLAIM, "iss %.100s is not the issuer of %s's AS (%.100s)",
		       iss ? iss : "(none)", domain, info->issuer);
}

fz_code fz_discovery_check_issuer(fz_discovery *d, const char *domain,
				  const char *iss, fz_err *err)
{
	fz_discovery_as_info info;
	fz_arena *a = fz_arena_new(0, 0);
	fz_code rc;

	if (a == NULL)
		return fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
	rc = fz_discovery_as_for_domain(d, domain, a, &info, err);
	if (rc == FZ_OK)
		rc = issuer_matches(&info, domain, iss, err);
	fz_arena_free(a);
	return rc;
}

fz_code fz_discovery_check_azp(fz_discovery *d, const char *domain,
			       const char *azp, fz_err *err)
{
	fz_discovery_mbx_info info;
	fz_arena *a = fz_arena_new(0, 0);
	fz_code rc;

	if (a == NULL)
		return fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
	rc = fz_discovery_mbx_for_domain(d, domain, a, &info, err);
	if (rc == FZ_OK && (azp == NULL || strcmp(azp, info.mta_client_id) != 0))
		rc = fz_fail(err, FZ_ECLAIM,
			     "azp %.100s is not the MTA of %s (its MBX names %.100s)",
			     azp ? azp : "(none)", domain, info.mta_client_id);
	fz_arena_free(a);
	return rc;
}

/* --- JWKS ---------------------------------------------------------------- */

/* A fresh cached key set from jwks_uri, with a reference for the caller;
 * NULL on a miss. A fresh failure is returned as such (*hit). */
static fz_code keys_cached(fz_discovery *d, const char *domain, const char *jwks_uri,
			   fz_disc_keys **out, bool *hit, fz_err *err)
{
	struct fz_disc_entry *e;
	fz_code rc = FZ_OK;

	*out = NULL;
	pthread_mutex_lock(&d->lock);
	e = find(d, KIND_JWKS, domain);
	*hit = e != NULL && e->expires > now(d) && e->jwks_uri != NULL &&
	       strcmp(e->jwks_uri, jwks_uri) == 0;
	if (*hit && e->negative) {
		rc = cached_failure(e, err);
	} else if (*hit) {
		atomic_fetch_add(&e->keys->refs, 1);
		*out = e->keys;
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Fetches the key set, caches it (or the failure) and returns it with a
 * reference for the caller. */
static fz_code keys_fetch(fz_discovery *d, const char *domain,
			  const fz_discovery_as_info *info, fz_disc_keys **out,
			  fz_err *err)
{
	struct fz_disc_entry *e;
	fz_keyset *set = NULL;
	fz_disc_keys *k = NULL;
	fz_err fetch_err = {0};
	uint32_t ttl = 0;
	fz_code rc;

	*out = NULL;
	rc = fz_disc_fetch_jwks(d, info->jwks_uri, info->resolve, &set, &ttl, &fetch_err);
	if (rc == FZ_OK && (k = calloc(1, sizeof(*k))) == NULL)
		rc = fz_fail(&fetch_err, FZ_ENOMEM, "discovery: out of memory");
	if (k != NULL) {
		atomic_init(&k->refs, 1);
		k->set = set;
		set = NULL;
	}
	pthread_mutex_lock(&d->lock);
	if (rc != FZ_OK) {
		store_negative(d, KIND_JWKS, domain, &fetch_err, info->jwks_uri);
		if (err != NULL)
			*err = fetch_err;
	} else if ((e = slot(d, KIND_JWKS, domain, now(d))) != NULL &&
		   (e->jwks_uri = strdup(info->jwks_uri)) != NULL) {
		atomic_fetch_add(&k->refs, 1);
		e->keys = k;
		e->expires = expiry(d, ttl);
	}
	if ((e = find(d, KIND_JWKS, domain)) != NULL)
		e->fetched = now(d);
	pthread_mutex_unlock(&d->lock);
	fz_keyset_free(set);
	*out = k;
	return rc;
}

/* The rate limit on refetches: true, and the slot taken, when the last
 * fetch for domain's issuer is at least jwks_refetch_interval_s old. */
static bool may_refetch(fz_discovery *d, const char *domain)
{
	struct fz_disc_entry *e;
	uint64_t t = now(d);
	bool ok;

	pthread_mutex_lock(&d->lock);
	e = find(d, KIND_JWKS, domain);
	ok = e == NULL || t - e->fetched >= d->cfg.jwks_refetch_interval_s;
	if (ok && e != NULL)
		e->fetched = t;
	pthread_mutex_unlock(&d->lock);
	return ok;
}

static void keys_release_cb(void *k)
{
	fz_disc_keys_release(k);
}

static fz_code unknown_kid(const char *kid, const char *domain, const char *why,
			   fz_err *err)
{
	return fz_fail(err, FZ_EKEY, FZ_JWS_UNKNOWN_KID_MSG " %.64s (AS of %s; %s)", kid,
		       domain, why);
}

/* The key set holding kid (any set when kid is NULL), refetched at most
 * once and only as the rate limit allows. */
static fz_code keys_with_kid(fz_discovery *d, const char *dom,
			     const fz_discovery_as_info *info, const char *kid,
			     fz_disc_keys **out, fz_err *err)
{
	fz_disc_keys *k;
	bool hit;
	fz_code rc;

	*out = NULL;
	rc = keys_cached(d, dom, info->jwks_uri, &k, &hit, err);
	if (rc == FZ_OK && !hit)
		rc = keys_fetch(d, dom, info, &k, err);
	if (rc != FZ_OK)
		return rc;
	if (kid != NULL && fz_keyset_find(k->set, kid) == NULL) {
		fz_disc_keys_release(k);
		if (!hit || !may_refetch(d, dom))
			return unknown_kid(kid, dom, hit ? "refetch rate-limited" : "just fetched",
					   err);
		rc = keys_fetch(d, dom, info, &k, err);
		if (rc != FZ_OK)
			return rc;
		if (fz_keyset_find(k->set, kid) == NULL) {
			fz_disc_keys_release(k);
			return unknown_kid(kid, dom, "not in the refetched JWKS", err);
		}
	}
	*out = k;
	return FZ_OK;
}

fz_code fz_discovery_keys(fz_discovery *d, const char *domain, const char *iss,
			  const char *kid, fz_arena *arena, const fz_keyset **keys,
			  fz_err *err)
{
	char dom[FZ_DNS_NAME_MAX + 1];
	fz_discovery_as_info info;
	fz_disc_keys *k;
	fz_code rc;

	*keys = NULL;
	rc = fz_dns_name_normalize(domain, domain ? strlen(domain) : 0, dom, err);
	if (rc == FZ_OK)
		rc = svc_lookup(d, KIND_AS, dom, arena, &info, err);
	if (rc == FZ_OK)
		rc = issuer_matches(&info, dom, iss, err);
	if (rc == FZ_OK)
		rc = keys_with_kid(d, dom, &info, kid, &k, err);
	if (rc != FZ_OK)
		return rc;
	/* the arena holds the reference; on failure the release already ran */
	if (fz_arena_on_free(arena, keys_release_cb, k) == NULL)
		return fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
	*keys = k->set;
	return FZ_OK;
}

/* --- the rest ----------------------------------------------------------- */

/* A fresh resolve entry for url, copied into a; false on a miss. */
static bool addr_cached(fz_discovery *d, const char *url, fz_arena *a,
			const char **entry, fz_code *rc, fz_err *err)
{
	struct fz_disc_entry *e;
	bool hit;

	pthread_mutex_lock(&d->lock);
	e = find(d, KIND_ADDR, url);
	hit = e != NULL && e->expires > now(d);
	if (hit) {
		*entry = fz_arena_strdup(a, e->resolve);
		*rc = *entry ? FZ_OK : fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
	}
	pthread_mutex_unlock(&d->lock);
	return hit;
}

static void addr_store(fz_discovery *d, const char *url, const char *entry,
		       uint32_t ttl)
{
	struct fz_disc_entry *e;
	char *copy = strdup(entry);

	if (copy == NULL)
		return; /* not cached, nothing worse */
	pthread_mutex_lock(&d->lock);
	e = slot(d, KIND_ADDR, url, now(d));
	if (e != NULL) {
		e->resolve = copy;
		e->expires = expiry(d, ttl);
		copy = NULL;
	}
	pthread_mutex_unlock(&d->lock);
	free(copy);
}

/* Cached like the services: the MBX resolves its own AS's token endpoint
 * for every message it sends, which was an A and an AAAA query each. A
 * URL longer than a cache key, an IP literal and a failure go uncached. */
fz_code fz_discovery_resolve(fz_discovery *d, const char *url, fz_arena *arena,
			     const char **entry, fz_err *err)
{
	bool keyable = strlen(url) <= FZ_DNS_NAME_MAX;
	uint32_t ttl;
	fz_code rc;

	if (keyable && addr_cached(d, url, arena, entry, &rc, err))
		return rc;
	rc = fz_disc_resolve_url(d, arena, url, entry, &ttl, err);
	if (rc == FZ_OK && keyable && *entry != NULL)
		addr_store(d, url, *entry, ttl);
	return rc;
}

void fz_discovery_flush(fz_discovery *d)
{
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->nentries; i++)
		entry_clear(&d->entries[i]);
	d->nentries = 0;
	pthread_mutex_unlock(&d->lock);
}

void fz_discovery_free(fz_discovery *d)
{
	if (d == NULL)
		return;
	fz_discovery_flush(d);
	free(d->entries);
	pthread_mutex_destroy(&d->lock);
	fz_dns_free(d->dns);
	free(d->ca_file);
	free(d);
}
