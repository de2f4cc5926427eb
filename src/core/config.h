/*
 * config.h - the servers' configuration files: YAML read into a small
 * tree that remembers where each node stood, then into typed structs with
 * named defaults.
 *
 * The reader (config.c) is generic so every server's config uses it the
 * same way: getters take a mapping and a key, mark the key as used, and
 * fail with a message naming the key's path and line ("line 12:
 * tokens.access_ttl: ..."). fz_cfg_check_unused then refuses every key
 * no getter asked for, so a typo cannot pass silently. Anchors, aliases,
 * explicit tags, complex and duplicate keys are refused, as in the
 * Placeholder reader.
 *
 * The Authorization Server's settings (config_as.c) are below. Reading
 * the file is the caller's job (core does no I/O); the caller prefixes
 * errors with the file name.
 */
#ifndef FZ_CORE_CONFIG_H
#define FZ_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "jose.h"

#define FZ_CFG_MAX_BYTES (1024 * 1024) /* a config file */
#define FZ_CFG_MAX_DEPTH 8             /* nesting of mappings and lists */
#define FZ_CFG_MAX_NODES 10000         /* bounds the tree a file can build */
#define FZ_CFG_PATH_MAX 128            /* "tokens.access_ttl", for messages */

/* --- the generic reader --------------------------------------------- */

typedef enum fz_cfg_kind {
	FZ_CFG_SCALAR,
	FZ_CFG_MAP,
	FZ_CFG_SEQ,
} fz_cfg_kind;

typedef struct fz_cfg_node fz_cfg_node;

typedef struct fz_cfg {
	fz_arena *arena; /* the tree and every string a getter returns */
	fz_cfg_node *root;
} fz_cfg;

/* Parses buf[0..len). An empty document is an empty mapping; a document
 * whose top is not a mapping is FZ_ESTRUCT. On success *out is to be
 * freed with fz_cfg_free; its arena outlives nothing else. */
fz_code fz_cfg_parse(const char *buf, size_t len, fz_cfg **out, fz_err *err);
void fz_cfg_free(fz_cfg *cfg);

const fz_cfg_node *fz_cfg_root(const fz_cfg *cfg);
fz_cfg_kind fz_cfg_node_kind(const fz_cfg_node *n);
size_t fz_cfg_node_line(const fz_cfg_node *n);
/* "tokens.access_ttl", "domains[1]"; "" for the root. */
const char *fz_cfg_node_path(const fz_cfg_node *n);
/* A scalar's text; NULL for a mapping or a list. */
const char *fz_cfg_node_text(const fz_cfg_node *n);
/* Items of a list, values of a mapping (in file order). */
size_t fz_cfg_node_count(const fz_cfg_node *n);
const fz_cfg_node *fz_cfg_node_at(const fz_cfg_node *n, size_t i);

/* The value of key in map (a mapping), marking it used; NULL when
 * absent. A YAML null (`key:` with nothing, `~`, `null`) is absent too. */
const fz_cfg_node *fz_cfg_get(const fz_cfg_node *map, const char *key);

/* Typed getters. Each leaves *out alone when the key is absent, so the
 * caller sets the default first; required turns absence into FZ_ESTRUCT.
 * Every refusal names the key's path and line. */
fz_code fz_cfg_string(const fz_cfg_node *map, const char *key, bool required,
		      const char **out, fz_err *err);
fz_code fz_cfg_uint(const fz_cfg_node *map, const char *key, uint64_t min,
		    uint64_t max, uint64_t *out, fz_err *err);
fz_code fz_cfg_bool(const fz_cfg_node *map, const char *key, bool *out,
		    fz_err *err);
/* A nested mapping; *out is NULL when absent (not an error). */
fz_code fz_cfg_map(const fz_cfg_node *map, const char *key, bool required,
		   const fz_cfg_node **out, fz_err *err);
/* A list of scalars, copied into an array in the tree's arena. */
fz_code fz_cfg_strings(const fz_cfg *cfg, const fz_cfg_node *map,
		       const char *key, bool required, const char ***out,
		       size_t *count, fz_err *err);

/* An https URL with no query, no fragment and no path but "/" (RFC 8414
 * §2 for an issuer; our servers sit at the root of their host). */
fz_code fz_cfg_root_url(const fz_cfg_node *map, const char *key,
			const char **out, fz_err *err);
/* The required `tls: {cert, key}` block of a server. */
fz_code fz_cfg_tls(const fz_cfg_node *map, const char **cert, const char **key,
		   fz_err *err);

/* The optional `jose:` block over the defaults already in j: leeway,
 * dpop_iat_window, max_jws_bytes, max_dpop_bytes. Both servers verify
 * JWTs and DPoP proofs, so both take all four. */
fz_code fz_cfg_jose(const fz_cfg_node *map, fz_jose_config *j, fz_err *err);

/* The optional `discovery:` block (docs/protocol.md, Discovery): how
 * other domains are found and how long what was found is kept. A field
 * left FZ_CFG_UNSET keeps discovery's own default (net/discovery.h);
 * ttl_min <= ttl_max is checked where both are known. */
#define FZ_CFG_UNSET UINT64_MAX
typedef struct fz_cfg_discovery {
	uint64_t dns_timeout_ms;    /* first try of a DNS query */
	uint64_t dns_tries;
	uint64_t dns_max_records;   /* SRV or address records of one answer */
	uint64_t connect_timeout;   /* seconds to connect to a peer's server */
	uint64_t http_timeout;      /* seconds, a metadata or JWKS fetch */
	uint64_t max_document_bytes; /* a metadata or JWKS body */
	uint64_t max_authorization_servers; /* named by an MBX's metadata */
	uint64_t cache_max_entries; /* AS, MBX and JWKS entries together */
	uint64_t ttl_min;           /* seconds: floor of what DNS/HTTP allow */
	uint64_t ttl_max;           /* seconds: cap of it */
	uint64_t negative_ttl;      /* seconds a failure is remembered; 0: never */
} fz_cfg_discovery;

void fz_cfg_discovery_unset(fz_cfg_discovery *d);
fz_code fz_cfg_discovery_read(const fz_cfg_node *map, fz_cfg_discovery *d,
			      fz_err *err);

/* Fails on the first key of any mapping that no getter read. */
fz_code fz_cfg_check_unused(const fz_cfg *cfg, fz_err *err);

/* Fails with FZ_ESTRUCT, "line N: path: <message>". */
fz_code fz_cfg_fail(const fz_cfg_node *n, fz_err *err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "host:port" with a numeric IPv4 address or a bracketed IPv6 one, or a
 * DNS name when names_ok. The host is copied into the arena without
 * brackets. Port 1..65535. */
fz_code fz_cfg_hostport(const fz_cfg *cfg, const fz_cfg_node *map,
			const char *key, bool names_ok, const char **host,
			uint16_t *port, fz_err *err);

/* A DNS name made of LDH labels (RFC 1123), at most 253 bytes. */
bool fz_cfg_dns_name_valid(const char *s, size_t n);

/* --- the Authorization Server (config_as.c) ----------------------------
 * Every default is a named constant; docs/operations.md lists them. */

#define FZ_AS_LISTEN_HOST_DEFAULT "0.0.0.0"
#define FZ_AS_LISTEN_PORT_DEFAULT 443

#define FZ_AS_ACCESS_TTL_DEFAULT 900        /* SPEC §6: exp <= 15 min */
#define FZ_AS_ACCESS_TTL_MAX 900
#define FZ_AS_REFRESH_TTL_DEFAULT 1209600   /* 14 days */
#define FZ_AS_REFRESH_TTL_MAX 31536000      /* one year */
#define FZ_AS_CODE_TTL_DEFAULT 60
#define FZ_AS_CODE_TTL_MAX 600              /* RFC 6749 §4.1.2: 10 min at most */
#define FZ_AS_ASSERTION_TTL_DEFAULT 432000  /* SPEC §7.3: 5 days */
#define FZ_AS_ASSERTION_TTL_MAX 2592000     /* 30 days */
#define FZ_AS_FETCH_TTL_DEFAULT 3600        /* SPEC §8.2: exp <= 1 h */
#define FZ_AS_FETCH_TTL_MAX 3600

#define FZ_AS_KEYS_ALG_DEFAULT FZ_ALG_ES256
#define FZ_AS_KEYS_RELOAD_DEFAULT 60        /* seconds between keyset checks */
#define FZ_AS_KEYS_RELOAD_MAX 3600

#define FZ_AS_MAX_CONNECTIONS_DEFAULT 1024
#define FZ_AS_PER_IP_CONNECTIONS_DEFAULT 64
#define FZ_AS_RATE_PER_IP_DEFAULT 200   /* requests a second per address */
#define FZ_AS_RATE_BURST_DEFAULT 1000
#define FZ_AS_TIMEOUT_DEFAULT 30
/* seconds a client may take to send a request's headers (slowloris) */
#define FZ_AS_HEADER_TIMEOUT_DEFAULT 10
#define FZ_AS_THREADS_DEFAULT 4
#define FZ_AS_THREADS_MAX 256
#define FZ_AS_MAX_HEADER_BYTES_DEFAULT (32 * 1024)
#define FZ_AS_MAX_HEADER_BYTES_MIN (8 * 1024)
/* Token requests are small forms; 64 KiB leaves room for a JWT subject
 * token and a headers parameter. */
#define FZ_AS_MAX_BODY_BYTES_DEFAULT (64 * 1024)
#define FZ_AS_MAX_FORM_PARAMS_DEFAULT 32
#define FZ_AS_MAX_PARAM_BYTES_DEFAULT (16 * 1024)
#define FZ_AS_ARENA_BYTES_DEFAULT (4 * 1024 * 1024)

#define FZ_AS_LOGIN_MAX_FAILURES_DEFAULT 5
#define FZ_AS_LOGIN_ADDRESS_FAILURES_DEFAULT 20
#define FZ_AS_LOGIN_WINDOW_DEFAULT 900
#define FZ_AS_LOGIN_LOCKOUT_DEFAULT 900
#define FZ_AS_LOGIN_SESSION_TTL_DEFAULT 28800 /* a signed-in browser: 8 hours */
#define FZ_AS_LOGIN_FORM_TTL_DEFAULT 1800     /* a form's CSRF binding */

#define FZ_AS_DPOP_NONCE_TTL_DEFAULT 300
/* RFC 7523 §3: a client assertion's exp may be at most this far ahead. */
#define FZ_AS_CLIENT_ASSERTION_MAX_LIFETIME_DEFAULT 300
#define FZ_AS_CLIENT_ASSERTION_MAX_LIFETIME_MAX 3600
#define FZ_AS_DOMAINS_MAX 1000

typedef struct fz_as_tokens_config {
	uint64_t access_ttl;    /* seconds an access token lives */
	uint64_t refresh_ttl;   /* seconds a refresh token lives */
	uint64_t code_ttl;      /* seconds an authorization code lives */
	uint64_t assertion_ttl; /* seconds a JWT assertion lives (SPEC §7.3) */
	uint64_t fetch_ttl;     /* seconds a fetch access token lives (SPEC §8.2) */
} fz_as_tokens_config;

typedef struct fz_as_limits_config {
	uint64_t max_connections;
	uint64_t per_ip_connections;
	uint64_t rate_per_ip;      /* requests a second per client address */
	uint64_t rate_burst;       /* requests an idle address may send at once */
	uint64_t timeout;          /* idle seconds before a connection closes */
	uint64_t header_timeout;   /* seconds to deliver request line and headers */
	uint64_t threads;          /* HTTP worker threads */
	uint64_t max_header_bytes; /* request line and headers */
	uint64_t max_body_bytes;   /* a request body */
	uint64_t max_form_params;  /* name=value pairs in a form or query */
	uint64_t max_param_bytes;  /* one parameter's value (grants check it) */
	uint64_t arena_bytes;      /* memory one request may use */
} fz_as_limits_config;

typedef struct fz_as_login_config {
	uint64_t max_failures;         /* per account, within window */
	uint64_t max_address_failures; /* per client address, within window */
	uint64_t window;               /* seconds failures are counted over */
	uint64_t lockout;              /* seconds a throttled key waits */
	uint64_t session_ttl;          /* seconds a sign-in lasts in the browser */
	uint64_t form_ttl;             /* seconds a login form stays valid */
} fz_as_login_config;

typedef struct fz_as_dpop_config {
	bool nonce;          /* RFC 9449 §8: require a server nonce at /token */
	uint64_t nonce_ttl;  /* seconds a nonce is accepted */
} fz_as_dpop_config;

typedef struct fz_as_config {
	fz_cfg *cfg;            /* owns every string below */
	const char *issuer;     /* exactly as configured: the iss of every token */
	const char *listen_host; /* numeric address */
	uint16_t listen_port;
	const char *tls_cert;
	const char *tls_key;
	const char *database;
	const char *keys_dir;
	fz_alg keys_alg;
	uint64_t keys_rsa_bits;
	uint64_t keys_reload;   /* seconds between checks for rotated keys */
	const char **domains;   /* lowercased, unique */
	size_t ndomains;
	const char *ca_file;    /* NULL: the system store */
	const char *dns_host;   /* NULL: the system resolver */
	uint16_t dns_port;
	bool access_log;        /* one line per request on stderr */
	const char *docs_file;  /* rendered API reference for /docs; NULL: 404 */
	fz_as_tokens_config tokens;
	fz_as_limits_config limits;
	fz_as_login_config login;
	fz_as_dpop_config dpop;
	uint64_t client_assertion_max_lifetime; /* seconds (key client_auth) */
	fz_jose_config jose;    /* leeway, DPoP window and sizes (key `jose`) */
	fz_cfg_discovery discovery; /* finding other domains (key `discovery`) */
} fz_as_config;

/* Parses an AS configuration. On failure *out is left cleared. */
fz_code fz_as_config_parse(const char *buf, size_t len, fz_as_config *out,
			   fz_err *err);
void fz_as_config_free(fz_as_config *c);

/* True when domain (any case) is one of c's domains. */
bool fz_as_config_has_domain(const fz_as_config *c, const char *domain,
			     size_t n);

/* The longest lifetime of a token the AS signs: how long a retired key
 * stays published. */
uint64_t fz_as_config_max_signed_ttl(const fz_as_config *c);

#endif
