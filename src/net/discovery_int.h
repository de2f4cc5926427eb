/*
 * discovery_int.h - what discovery.c (the caches and the public calls)
 * and discovery_fetch.c (DNS, HTTP and the documents) share. A fetch
 * builds an immutable, malloc'd result with the raw lifetime its sources
 * allow; the cache clamps that lifetime and owns the result.
 */
#ifndef FZ_NET_DISCOVERY_INT_H
#define FZ_NET_DISCOVERY_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "discovery.h"
#include "dns_srv.h"

struct fz_discovery {
	fz_discovery_config cfg; /* strings point into the copies below */
	char *ca_file;
	fz_dns *dns;
	pthread_mutex_t lock;
	struct fz_disc_entry *entries; /* guarded by lock */
	size_t nentries;
	size_t cap;
};

/* A service's base and metadata: never changed once built. */
typedef struct fz_disc_svc {
	char *base_url;
	char *resolve; /* NULL for an IP literal host */
	/* AS */
	char *issuer;
	char *jwks_uri;
	char *token_endpoint;
	/* MBX */
	char *resource;
	char *mta_client_id;
	char **as_list;
	size_t n_as;
} fz_disc_svc;

/* A JWKS shared by the cache and the callers using it. */
typedef struct fz_disc_keys {
	atomic_int refs;
	fz_keyset *set;
} fz_disc_keys;

void fz_disc_svc_free(fz_disc_svc *s);
void fz_disc_keys_release(fz_disc_keys *k);

/* Discovers the AS (service FZ_DISCOVERY_AS_SERVICE) or MBX of domain (a
 * normalised name) over the network. *ttl is the smallest DNS TTL or
 * max-age seen, not yet clamped. */
fz_code fz_disc_fetch_as(fz_discovery *d, const char *domain, fz_disc_svc **out,
			 uint32_t *ttl, fz_err *err);
fz_code fz_disc_fetch_rs(fz_discovery *d, const char *domain, fz_disc_svc **out,
			 uint32_t *ttl, fz_err *err);

/* Fetches and reads the JWKS at jwks_uri; base_resolve (may be NULL) is
 * reused when jwks_uri is on the base's host and port. */
fz_code fz_disc_fetch_jwks(fz_discovery *d, const char *jwks_uri,
			   const char *base_resolve, fz_keyset **out,
			   uint32_t *ttl, fz_err *err);

/* The resolve entry for url's host, asked of the configured DNS server;
 * NULL for an IP literal. *ttl as above (UINT32_MAX for a literal). */
fz_code fz_disc_resolve_url(fz_discovery *d, fz_arena *a, const char *url,
			    const char **entry, uint32_t *ttl, fz_err *err);

#endif
