/*
 * discovery.h - finding a trust domain's services through DNS and their
 * OAuth metadata (SPEC §5, seed "Service Discovery" Notes 1 and 2), for
 * the AS verifying foreign assertions and the MBX/MTA finding its peers.
 *
 *   _federizer._as._tcp.D  SRV -> AS base URL  -> RFC 8414 metadata -> JWKS
 *   _federizer._rs._tcp.D  SRV -> MBX base URL -> RFC 9728 metadata (azp)
 *
 * Base URL: https://target[:port]/ of the SRV record chosen by RFC 2782,
 * its host connected to at the address the configured DNS server gave
 * (never the system resolver). Note 1: when GET base/ answers 301, 302,
 * 307 or 308 with an https Location, that URL is the base; it is fetched
 * once more and a second redirect, or one to http, is refused.
 *
 * Metadata: base/.well-known/oauth-authorization-server and
 * base/.well-known/oauth-protected-resource (SPEC §5 appends to the base,
 * as RFC 8414 does for an issuer without a path). Its issuer (or
 * resource) must name the base it was fetched from (RFC 8414 §3.3, RFC
 * 9728 §3.3), up to a final "/".
 *
 * Caching: every answer, and every failure (for negative_ttl_s), is kept
 * in one mutex-guarded table, so one fz_discovery serves all threads. An
 * entry lives for the smallest of the DNS TTLs and the HTTP max-age
 * behind it, clamped to [ttl_min_s, ttl_max_s]. Network work runs
 * outside the lock; two threads missing at once may both fetch.
 */
#ifndef FZ_NET_DISCOVERY_H
#define FZ_NET_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "err.h"
#include "jwk.h"
#include "srv_select.h"

#define FZ_DISCOVERY_HTTP_CONNECT_TIMEOUT_S_DEFAULT 5
#define FZ_DISCOVERY_HTTP_TIMEOUT_S_DEFAULT 10
#define FZ_DISCOVERY_MAX_DOCUMENT_BYTES_DEFAULT (64 * 1024) /* metadata, JWKS */
#define FZ_DISCOVERY_CACHE_MAX_ENTRIES_DEFAULT 1024
#define FZ_DISCOVERY_TTL_MIN_S_DEFAULT 60
#define FZ_DISCOVERY_TTL_MAX_S_DEFAULT 3600
#define FZ_DISCOVERY_NEGATIVE_TTL_S_DEFAULT 30
#define FZ_DISCOVERY_JWKS_REFETCH_INTERVAL_S_DEFAULT 60
#define FZ_DISCOVERY_MAX_AUTHORIZATION_SERVERS_DEFAULT 8
#define FZ_DISCOVERY_CLIENT_ID_MAX 255 /* bytes of federizer_mta_client_id */

#define FZ_DISCOVERY_AS_SERVICE "_federizer._as._tcp"
#define FZ_DISCOVERY_RS_SERVICE "_federizer._rs._tcp"
#define FZ_DISCOVERY_AS_METADATA ".well-known/oauth-authorization-server"
#define FZ_DISCOVERY_RS_METADATA ".well-known/oauth-protected-resource"

/* Seconds on a clock that never goes back; tests inject their own. */
typedef uint64_t (*fz_discovery_clock_fn)(void *ctx);

typedef struct fz_discovery_config {
	const char *dns_server;      /* "host:port", numeric; NULL: resolv.conf */
	unsigned dns_timeout_ms;     /* first try of a DNS query */
	unsigned dns_tries;
	size_t dns_max_records;      /* SRV or address records of one answer */
	const char *ca_file;         /* PEM bundle TLS is verified against; NULL: system */
	unsigned http_connect_timeout_s;
	unsigned http_timeout_s;     /* one whole HTTP exchange */
	size_t max_document_bytes;   /* a metadata or JWKS body */
	size_t cache_max_entries;    /* AS, MBX and JWKS entries together */
	uint32_t ttl_min_s;          /* floor of every positive entry's lifetime */
	uint32_t ttl_max_s;          /* cap of it */
	uint32_t negative_ttl_s;     /* how long a failure is remembered; 0: never */
	uint32_t jwks_refetch_interval_s; /* at most one JWKS fetch per issuer per this */
	size_t max_authorization_servers; /* of RS metadata */
	fz_discovery_clock_fn clock; /* NULL: CLOCK_MONOTONIC */
	void *clock_ctx;
	fz_srv_rng_fn rng;           /* SRV weighted choice; NULL: arc4random */
	void *rng_ctx;
} fz_discovery_config;

void fz_discovery_config_defaults(fz_discovery_config *cfg);

typedef struct fz_discovery fz_discovery;

/* Checks and copies cfg. Call from one thread at startup (c-ares and
 * curl global setup happen here). */
fz_code fz_discovery_new(const fz_discovery_config *cfg, fz_discovery **out,
			 fz_err *err);
void fz_discovery_free(fz_discovery *d);

/* fz_discovery_new for a server: its dns_server (host NULL: the system
 * resolver), ca_file and `discovery:` block over the defaults above;
 * jwks_refetch_s 0 keeps its default. */
fz_code fz_discovery_open(const char *dns_host, uint16_t dns_port, const char *ca_file,
			  const fz_cfg_discovery *c, uint64_t jwks_refetch_s,
			  fz_discovery **out, fz_err *err);

/* Empties the caches (rate limits included). */
void fz_discovery_flush(fz_discovery *d);

/* Strings live in the caller's arena. resolve is the
 * "host:port:address,..." entry for base_url's host, for
 * fz_http_client_req.resolve, or NULL when the host is an IP literal. */
typedef struct fz_discovery_as_info {
	const char *base_url;       /* after Note 1; ends in "/" */
	const char *issuer;
	const char *jwks_uri;
	const char *token_endpoint; /* NULL when the metadata names none */
	const char *resolve;
} fz_discovery_as_info;

typedef struct fz_discovery_mbx_info {
	const char *base_url;
	const char *resource;
	const char *mta_client_id;  /* federizer_mta_client_id */
	const char *const *authorization_servers;
	size_t n_authorization_servers;
	const char *resolve;
} fz_discovery_mbx_info;

/* The AS of domain and its metadata. Errors: FZ_ESYNTAX for a domain
 * that is not a host name; FZ_ENOTFOUND for NXDOMAIN, no SRV record, an
 * SRV "." (service decidedly not available) or no metadata (404);
 * FZ_EIO when DNS or the AS cannot be reached; FZ_EDENIED for a Note 1
 * redirect to http or a second redirect; FZ_ESTRUCT for metadata of the
 * wrong shape or whose issuer does not name its base. */
fz_code fz_discovery_as_for_domain(fz_discovery *d, const char *domain,
				   fz_arena *arena, fz_discovery_as_info *out,
				   fz_err *err);

/* FZ_OK when iss equals, byte for byte, the metadata issuer of the AS
 * that DNS names for domain; FZ_ECLAIM when it does not. */
fz_code fz_discovery_check_issuer(fz_discovery *d, const char *domain,
				  const char *iss, fz_err *err);

/* The JWKS of domain's AS, after fz_discovery_check_issuer(domain, iss).
 * When kid (may be NULL) is not in the cached set, the set is fetched
 * again, unless the last fetch for this issuer is younger than
 * jwks_refetch_interval_s: an attacker sending random kids must not make
 * us hammer the peer. A kid still unknown is FZ_EKEY with
 * FZ_JWS_UNKNOWN_KID_MSG (fz_jws_err_is_unknown_kid). *keys stays valid
 * until arena is freed, whatever the cache does meanwhile. */
fz_code fz_discovery_keys(fz_discovery *d, const char *domain, const char *iss,
			  const char *kid, fz_arena *arena, const fz_keyset **keys,
			  fz_err *err);

/* The MBX of domain and its protected resource metadata (Note 2).
 * Errors as fz_discovery_as_for_domain. */
fz_code fz_discovery_mbx_for_domain(fz_discovery *d, const char *domain,
				    fz_arena *arena, fz_discovery_mbx_info *out,
				    fz_err *err);

/* FZ_OK when azp equals domain's MBX federizer_mta_client_id (Note 2's
 * DNS-bound client identity); FZ_ECLAIM when it does not. */
fz_code fz_discovery_check_azp(fz_discovery *d, const char *domain,
			       const char *azp, fz_err *err);

/* The resolve entry for an https URL's host and port, asked of the
 * configured DNS server and cached for the records' TTL (clamped like
 * the services'): for callers that connect to a URL discovery gave them,
 * such as a token_endpoint on another host. *entry is NULL for an IP
 * literal host. */
fz_code fz_discovery_resolve(fz_discovery *d, const char *url, fz_arena *arena,
			     const char **entry, fz_err *err);

#endif
