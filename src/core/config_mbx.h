/*
 * config_mbx.h - the Mailbox's settings (`federizer mbx -c mbx.yaml`),
 * read with the generic reader of config.h. Every limit is a named
 * default here; docs/operations.md lists them. Kept beside config.h
 * rather than in it so each server's settings stay in their own pair of
 * files.
 */
#ifndef FZ_CORE_CONFIG_MBX_H
#define FZ_CORE_CONFIG_MBX_H

#include "config.h"
#include "fz_limits.h"

#define FZ_MBX_LISTEN_HOST_DEFAULT "0.0.0.0"
#define FZ_MBX_LISTEN_PORT_DEFAULT 443

/* Resources (SPEC §7, issue "Mailbox"): 4 GiB per upload by default. */
#define FZ_MBX_MAX_UPLOAD_BYTES_DEFAULT (4ULL * 1024 * 1024 * 1024)
#define FZ_MBX_MAX_UPLOAD_BYTES_MAX (1ULL << 40)
#define FZ_MBX_QUOTA_BYTES_DEFAULT (10ULL * 1024 * 1024 * 1024) /* per user */

/* Sync (SPEC §11). */
#define FZ_MBX_SYNC_PAGE_SIZE_DEFAULT 50
#define FZ_MBX_SYNC_PAGE_SIZE_MAX 1000
#define FZ_MBX_INLINE_MAX_BYTES_DEFAULT (256 * 1024) /* one inline body */
#define FZ_MBX_INLINE_PAGE_BYTES_DEFAULT (4 * 1024 * 1024) /* all of one page */
#define FZ_MBX_LONG_POLL_MAX_WAIT_DEFAULT 30
#define FZ_MBX_LONG_POLL_MAX_WAIT_MAX 300
/* A waiting long poll holds no thread (its connection is suspended),
 * only memory: at most this many wait at once, the rest are answered at
 * once. Each still counts against max_connections. */
#define FZ_MBX_LONG_POLL_MAX_WAITERS_DEFAULT 10000
#define FZ_MBX_LONG_POLL_MAX_WAITERS_MAX 1000000
/* verified access tokens remembered (about 300 bytes each) */
#define FZ_MBX_TOKEN_CACHE_ENTRIES_DEFAULT 4096
#define FZ_MBX_TOKEN_CACHE_ENTRIES_MAX 1000000
/* malloc arenas for the whole process; 0: glibc's own (8 per core) */
#define FZ_MBX_MALLOC_ARENAS_DEFAULT 1
#define FZ_MBX_MALLOC_ARENAS_MAX 64
/* SQLite's heap per pooled connection before it recycles its page
 * caches instead of growing them; 0: no limit */
#define FZ_MBX_SQLITE_HEAP_PER_CONNECTION_DEFAULT (256 * 1024)

/* HTTP server. */
#define FZ_MBX_MAX_CONNECTIONS_DEFAULT 1024
#define FZ_MBX_PER_IP_CONNECTIONS_DEFAULT 64
#define FZ_MBX_RATE_PER_IP_DEFAULT 200   /* requests a second per address */
#define FZ_MBX_RATE_BURST_DEFAULT 1000
#define FZ_MBX_TIMEOUT_DEFAULT 60
/* seconds a client may take to send a request's headers (slowloris) */
#define FZ_MBX_HEADER_TIMEOUT_DEFAULT 10
#define FZ_MBX_THREADS_DEFAULT 16
#define FZ_MBX_THREADS_MAX 256
#define FZ_MBX_MAX_HEADER_BYTES_DEFAULT (32 * 1024)
#define FZ_MBX_MAX_BODY_BYTES_DEFAULT (2 * 1024 * 1024) /* JSON/YAML bodies */
#define FZ_MBX_MAX_DISCARD_BYTES_DEFAULT (1024 * 1024)
#define FZ_MBX_ARENA_BYTES_DEFAULT (8 * 1024 * 1024)

/* The own AS's keys: refetched on an unknown kid at most this often. */
#define FZ_MBX_JWKS_REFETCH_INTERVAL_DEFAULT 60
/* Sending (SPEC §7.2): seconds the token exchange at the own AS may
 * take, and the life of the MTA's private_key_jwt client assertions. */
#define FZ_MBX_MTA_TIMEOUT_DEFAULT 10
#define FZ_MBX_MTA_ASSERTION_TTL_DEFAULT 60
/* Seconds between maintenance rounds (blob collection). */
#define FZ_MBX_MAINTENANCE_INTERVAL_DEFAULT 60

/* The MTA worker and its durable queue (SPEC §10, src/mta/): retries
 * start at 1 min, double up to 1 h, and stop 5 days after the entry was
 * queued; a claimed entry is leased for 10 min (longer than any one
 * attempt may take), so a worker killed mid-attempt gives it back. */
#define FZ_MBX_QUEUE_WORKERS_DEFAULT 1
#define FZ_MBX_QUEUE_WORKERS_MAX 64
#define FZ_MBX_QUEUE_INITIAL_RETRY_DEFAULT 60
#define FZ_MBX_QUEUE_MAX_RETRY_DEFAULT 3600
#define FZ_MBX_QUEUE_GIVE_UP_AFTER_DEFAULT (5 * 86400)
#define FZ_MBX_QUEUE_LEASE_DEFAULT 600
#define FZ_MBX_QUEUE_TIMEOUT_DEFAULT 30      /* a transfer or push request */
#define FZ_MBX_QUEUE_POLL_INTERVAL_DEFAULT 60 /* longest idle sleep */
#define FZ_MBX_QUEUE_PUSH_MAX_BYTES_DEFAULT (64 * 1024)
/* seconds a received message's pushable parts wait for the sender's push
 * before they are pulled */
#define FZ_MBX_QUEUE_PUSH_WAIT_DEFAULT 30

typedef struct fz_mbx_limits_config {
	uint64_t max_upload_bytes;     /* one resource; more is 413 */
	uint64_t quota_bytes;          /* per user; more is 507; 0: none */
	uint64_t sync_page_size;       /* messages in one sync answer */
	uint64_t inline_max_bytes;     /* an inline text body sync carries */
	uint64_t inline_page_bytes;    /* inline bodies of one sync answer */
	uint64_t long_poll_max_wait;   /* seconds a sync may wait */
	uint64_t long_poll_max_waiters;
	uint64_t token_cache_entries;  /* verified access tokens kept; 0: none */
	uint64_t malloc_arenas;        /* mbx_memory.c */
	uint64_t sqlite_heap_per_connection; /* bytes; mbx_memory.c */
	uint64_t max_connections;
	uint64_t per_ip_connections;
	uint64_t rate_per_ip;      /* requests a second per client address */
	uint64_t rate_burst;       /* requests an idle address may send at once */
	uint64_t timeout;              /* idle seconds before a connection closes */
	uint64_t header_timeout;       /* seconds to deliver request line and headers */
	uint64_t threads;              /* HTTP worker threads */
	uint64_t max_header_bytes;
	uint64_t max_body_bytes;       /* buffered bodies (documents, settings) */
	uint64_t max_discard_bytes;    /* body read and dropped after an early answer */
	uint64_t arena_bytes;          /* memory one request may use */
} fz_mbx_limits_config;

typedef struct fz_mbx_queue_config {
	uint64_t workers;        /* worker threads; 0: no MTA worker */
	uint64_t initial_retry;  /* seconds before the first retry */
	uint64_t max_retry;      /* the doubling stops here */
	uint64_t give_up_after;  /* seconds after queueing an entry fails */
	uint64_t lease;          /* seconds a claimed entry is held */
	uint64_t timeout;        /* seconds a transfer or push may take */
	uint64_t poll_interval;  /* longest sleep between looks at the queue */
	uint64_t push_max_bytes; /* resources up to this are pushed; 0: none */
	uint64_t push_wait;      /* seconds a pushable part's fetch waits; 0: none */
} fz_mbx_queue_config;

typedef struct fz_mbx_config {
	fz_cfg *cfg;                  /* owns every string below */
	const char *base_url;         /* RFC 9728 resource; the aud of our tokens */
	const char *listen_host;
	uint16_t listen_port;
	const char *tls_cert;
	const char *tls_key;
	const char *database;
	const char *blobs;            /* blob store directory */
	const char **domains;         /* local users' domains, lowercased */
	size_t ndomains;
	const char *authorization_server; /* the own AS's issuer URL */
	const char *mta_client_id;    /* published as federizer_mta_client_id */
	const char *mta_key;          /* private_key_jwt signing key file, or NULL */
	const char *mta_dpop_key;     /* DPoP key file, or NULL */
	uint64_t mta_timeout;         /* seconds for a token request */
	uint64_t mta_assertion_ttl;   /* seconds a client assertion lives */
	const char *webmail;          /* built webmail folder, or NULL */
	const char *docs_file;        /* rendered API reference for /api/docs; NULL: 404 */
	const char *ca_file;          /* NULL: the system store */
	const char *dns_host;         /* NULL: the system resolver */
	uint16_t dns_port;
	bool access_log;
	uint64_t jwks_refetch_interval;
	uint64_t maintenance_interval;
	fz_mbx_limits_config limits;
	fz_mbx_queue_config queue;    /* the MTA worker (key queue) */
	fz_limits document;           /* Placeholder limits (key limits.document) */
	fz_jose_config jose;          /* leeway, sizes (key jose) */
	fz_cfg_discovery discovery;   /* finding other domains (key discovery) */
} fz_mbx_config;

/* Parses an MBX configuration. On failure *out is left cleared. */
fz_code fz_mbx_config_parse(const char *buf, size_t len, fz_mbx_config *out,
			    fz_err *err);
void fz_mbx_config_free(fz_mbx_config *c);

/* True when domain (any case) is one of c's local domains. */
bool fz_mbx_config_has_domain(const fz_mbx_config *c, const char *domain,
			      size_t n);

#endif
