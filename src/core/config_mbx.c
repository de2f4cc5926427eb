/*
 * config_mbx.c - the Mailbox's settings (`federizer mbx -c mbx.yaml`):
 * every key, its default and its bounds, checked before the server
 * opens anything, so a mistake is one clear line at start-up.
 */
#include "config_mbx.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>


#define KIB 1024ULL
#define MIB (1024ULL * 1024)

static void defaults(fz_mbx_config *c)
{
	c->listen_host = FZ_MBX_LISTEN_HOST_DEFAULT;
	c->listen_port = FZ_MBX_LISTEN_PORT_DEFAULT;
	c->access_log = true;
	c->jwks_refetch_interval = FZ_MBX_JWKS_REFETCH_INTERVAL_DEFAULT;
	c->mta_timeout = FZ_MBX_MTA_TIMEOUT_DEFAULT;
	c->mta_assertion_ttl = FZ_MBX_MTA_ASSERTION_TTL_DEFAULT;
	c->maintenance_interval = FZ_MBX_MAINTENANCE_INTERVAL_DEFAULT;
	c->limits = (fz_mbx_limits_config){
		.max_upload_bytes = FZ_MBX_MAX_UPLOAD_BYTES_DEFAULT,
		.quota_bytes = FZ_MBX_QUOTA_BYTES_DEFAULT,
		.sync_page_size = FZ_MBX_SYNC_PAGE_SIZE_DEFAULT,
		.inline_max_bytes = FZ_MBX_INLINE_MAX_BYTES_DEFAULT,
		.inline_page_bytes = FZ_MBX_INLINE_PAGE_BYTES_DEFAULT,
		.long_poll_max_wait = FZ_MBX_LONG_POLL_MAX_WAIT_DEFAULT,
		.long_poll_max_waiters = FZ_MBX_LONG_POLL_MAX_WAITERS_DEFAULT,
		.token_cache_entries = FZ_MBX_TOKEN_CACHE_ENTRIES_DEFAULT,
		.malloc_arenas = FZ_MBX_MALLOC_ARENAS_DEFAULT,
		.sqlite_heap_per_connection = FZ_MBX_SQLITE_HEAP_PER_CONNECTION_DEFAULT,
		.max_connections = FZ_MBX_MAX_CONNECTIONS_DEFAULT,
		.per_ip_connections = FZ_MBX_PER_IP_CONNECTIONS_DEFAULT,
		.rate_per_ip = FZ_MBX_RATE_PER_IP_DEFAULT,
		.rate_burst = FZ_MBX_RATE_BURST_DEFAULT,
		.timeout = FZ_MBX_TIMEOUT_DEFAULT,
		.header_timeout = FZ_MBX_HEADER_TIMEOUT_DEFAULT,
		.threads = FZ_MBX_THREADS_DEFAULT,
		.max_header_bytes = FZ_MBX_MAX_HEADER_BYTES_DEFAULT,
		.max_body_bytes = FZ_MBX_MAX_BODY_BYTES_DEFAULT,
		.max_discard_bytes = FZ_MBX_MAX_DISCARD_BYTES_DEFAULT,
		.arena_bytes = FZ_MBX_ARENA_BYTES_DEFAULT,
	};
	c->queue = (fz_mbx_queue_config){
		.workers = FZ_MBX_QUEUE_WORKERS_DEFAULT,
		.initial_retry = FZ_MBX_QUEUE_INITIAL_RETRY_DEFAULT,
		.max_retry = FZ_MBX_QUEUE_MAX_RETRY_DEFAULT,
		.give_up_after = FZ_MBX_QUEUE_GIVE_UP_AFTER_DEFAULT,
		.lease = FZ_MBX_QUEUE_LEASE_DEFAULT,
		.timeout = FZ_MBX_QUEUE_TIMEOUT_DEFAULT,
		.poll_interval = FZ_MBX_QUEUE_POLL_INTERVAL_DEFAULT,
		.push_max_bytes = FZ_MBX_QUEUE_PUSH_MAX_BYTES_DEFAULT,
		.push_wait = FZ_MBX_QUEUE_PUSH_WAIT_DEFAULT,
	};
	fz_limits_default(&c->document);
	fz_jose_config_defaults(&c->jose);
	fz_cfg_discovery_unset(&c->discovery);
}

static fz_code read_mta(fz_mbx_config *c, const fz_cfg_node *root, fz_err *err)
{
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(root, "mta", true, &m, err);

	if (rc == FZ_OK)
		rc = fz_cfg_string(m, "client_id", true, &c->mta_client_id, err);
	if (rc == FZ_OK)
		rc = fz_cfg_string(m, "key", false, &c->mta_key, err);
	if (rc == FZ_OK)
		rc = fz_cfg_string(m, "dpop_key", false, &c->mta_dpop_key, err);
	if (rc == FZ_OK)
		rc = fz_cfg_uint(m, "timeout", 1, 300, &c->mta_timeout, err);
	/* The AS accepts at most its client_auth.assertion_max_lifetime. */
	if (rc == FZ_OK)
		rc = fz_cfg_uint(m, "assertion_ttl", 10, 300, &c->mta_assertion_ttl, err);
	return rc;
}

static fz_code read_domains(fz_mbx_config *c, const fz_cfg_node *root,
			    fz_err *err)
{
	const fz_cfg_node *list;
	size_t i, j;
	fz_code rc = fz_cfg_strings(c->cfg, root, "domains", true, &c->domains,
				    &c->ndomains, err);

	if (rc != FZ_OK)
		return rc;
	list = fz_cfg_get(root, "domains");
	if (c->ndomains > FZ_AS_DOMAINS_MAX)
		return fz_cfg_fail(list, err, "more than %d domains", FZ_AS_DOMAINS_MAX);
	for (i = 0; i < c->ndomains; i++) {
		char *d = (char *)c->domains[i]; /* the tree's own copy */

		if (!fz_cfg_dns_name_valid(d, strlen(d)) || strchr(d, '.') == NULL)
			return fz_cfg_fail(fz_cfg_node_at(list, i), err,
					   "'%.60s' is not a domain name like example.com", d);
		for (j = 0; d[j]; j++)
			d[j] = (char)tolower((unsigned char)d[j]);
		for (j = 0; j < i; j++)
			if (strcmp(c->domains[j], d) == 0)
				return fz_cfg_fail(fz_cfg_node_at(list, i), err,
						   "'%s' is listed twice", d);
	}
	return FZ_OK;
}

static fz_code read_document(fz_mbx_config *c, const fz_cfg_node *limits,
			     fz_err *err)
{
	fz_limits *d = &c->document;
	uint64_t bytes = d->max_document_bytes, depth = d->max_depth;
	uint64_t parts = d->max_parts, rcpts = d->max_recipients;
	uint64_t hval = d->max_header_value_bytes, hops = d->max_chain_hops;
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(limits, "document", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	if ((rc = fz_cfg_uint(m, "max_bytes", 1024, 64 * MIB, &bytes, err)) ||
	    (rc = fz_cfg_uint(m, "max_depth", 4, FZ_LIMIT_DEPTH_CEILING, &depth, err)) ||
	    (rc = fz_cfg_uint(m, "max_parts", 1, 100000, &parts, err)) ||
	    (rc = fz_cfg_uint(m, "max_recipients", 1, 100000, &rcpts, err)) ||
	    (rc = fz_cfg_uint(m, "max_header_value_bytes", 256, MIB, &hval, err)) ||
	    (rc = fz_cfg_uint(m, "max_chain_hops", 1, 64, &hops, err)))
		return rc;
	d->max_document_bytes = (size_t)bytes;
	d->max_depth = (size_t)depth;
	d->max_parts = (size_t)parts;
	d->max_recipients = (size_t)rcpts;
	d->max_header_value_bytes = (size_t)hval;
	d->max_chain_hops = (size_t)hops;
	return FZ_OK;
}

static fz_code read_limits(fz_mbx_config *c, const fz_cfg_node *root, fz_err *err)
{
	fz_mbx_limits_config *l = &c->limits;
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(root, "limits", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	if ((rc = fz_cfg_uint(m, "max_upload_bytes", 1, FZ_MBX_MAX_UPLOAD_BYTES_MAX,
			      &l->max_upload_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "quota_bytes", 0, UINT64_MAX / 2, &l->quota_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "sync_page_size", 1, FZ_MBX_SYNC_PAGE_SIZE_MAX,
			      &l->sync_page_size, err)) ||
	    (rc = fz_cfg_uint(m, "inline_max_bytes", 0, 16 * MIB, &l->inline_max_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "inline_page_bytes", 0, 256 * MIB, &l->inline_page_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "long_poll_max_wait", 0, FZ_MBX_LONG_POLL_MAX_WAIT_MAX,
			      &l->long_poll_max_wait, err)) ||
	    (rc = fz_cfg_uint(m, "long_poll_max_waiters", 0, FZ_MBX_LONG_POLL_MAX_WAITERS_MAX,
			      &l->long_poll_max_waiters, err)) ||
	    (rc = fz_cfg_uint(m, "token_cache_entries", 0, FZ_MBX_TOKEN_CACHE_ENTRIES_MAX,
			      &l->token_cache_entries, err)) ||
	    (rc = fz_cfg_uint(m, "malloc_arenas", 0, FZ_MBX_MALLOC_ARENAS_MAX,
			      &l->malloc_arenas, err)) ||
	    (rc = fz_cfg_uint(m, "sqlite_heap_per_connection", 0, 1024 * MIB,
			      &l->sqlite_heap_per_connection, err)) ||
	    (rc = fz_cfg_uint(m, "max_connections", 1, 1000000, &l->max_connections, err)) ||
	    (rc = fz_cfg_uint(m, "per_ip_connections", 1, 1000000, &l->per_ip_connections, err)) ||
	    (rc = fz_cfg_uint(m, "rate_per_ip", 1, 1000000, &l->rate_per_ip, err)) ||
	    (rc = fz_cfg_uint(m, "rate_burst", 1, 10000000, &l->rate_burst, err)) ||
	    (rc = fz_cfg_uint(m, "timeout", 1, 3600, &l->timeout, err)) ||
	    (rc = fz_cfg_uint(m, "header_timeout", 1, 3600, &l->header_timeout, err)) ||
	    (rc = fz_cfg_uint(m, "threads", 1, FZ_MBX_THREADS_MAX, &l->threads, err)) ||
	    (rc = fz_cfg_uint(m, "max_header_bytes", FZ_AS_MAX_HEADER_BYTES_MIN, MIB,
			      &l->max_header_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "max_body_bytes", 4 * KIB, 256 * MIB, &l->max_body_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "max_discard_bytes", 0, 256 * MIB, &l->max_discard_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "arena_bytes", 64 * KIB, 1024 * MIB, &l->arena_bytes, err)) ||
	    (rc = read_document(c, m, err)))
		return rc;
	if (c->document.max_document_bytes > l->max_body_bytes)
		return fz_cfg_fail(m, err, "document.max_bytes must not exceed max_body_bytes");
	return FZ_OK;
}

/* The MTA worker's queue (SPEC §10). */
static fz_code read_queue(fz_mbx_config *c, const fz_cfg_node *root, fz_err *err)
{
	fz_mbx_queue_config *q = &c->queue;
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(root, "queue", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	if ((rc = fz_cfg_uint(m, "workers", 0, FZ_MBX_QUEUE_WORKERS_MAX, &q->workers, err)) ||
	    (rc = fz_cfg_uint(m, "initial_retry", 1, 86400, &q->initial_retry, err)) ||
	    (rc = fz_cfg_uint(m, "max_retry", 1, 7 * 86400, &q->max_retry, err)) ||
	    (rc = fz_cfg_uint(m, "give_up_after", 1, 60 * 86400, &q->give_up_after, err)) ||
	    (rc = fz_cfg_uint(m, "lease", 10, 86400, &q->lease, err)) ||
	    (rc = fz_cfg_uint(m, "timeout", 1, 3600, &q->timeout, err)) ||
	    (rc = fz_cfg_uint(m, "poll_interval", 1, 3600, &q->poll_interval, err)) ||
	    (rc = fz_cfg_uint(m, "push_max_bytes", 0, 64 * MIB, &q->push_max_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "push_wait", 0, 3600, &q->push_wait, err)))
		return rc;
	if (q->max_retry < q->initial_retry)
		return fz_cfg_fail(m, err, "max_retry must not be below initial_retry");
	/* an attempt must end before its lease does, or two could overlap */
	if (q->lease <= q->timeout * 2)
		return fz_cfg_fail(m, err, "lease must exceed twice the timeout");
	return FZ_OK;
}


static fz_code read_top(fz_mbx_config *c, fz_err *err)
{
	const fz_cfg_node *root = fz_cfg_root(c->cfg);
	fz_code rc;

	if ((rc = fz_cfg_root_url(root, "base_url", &c->base_url, err)) ||
	    (rc = fz_cfg_hostport(c->cfg, root, "listen", false, &c->listen_host,
				  &c->listen_port, err)) ||
	    (rc = fz_cfg_tls(root, &c->tls_cert, &c->tls_key, err)) ||
	    (rc = fz_cfg_string(root, "database", true, &c->database, err)) ||
	    (rc = fz_cfg_string(root, "blobs", true, &c->blobs, err)) ||
	    (rc = read_domains(c, root, err)) ||
	    (rc = fz_cfg_root_url(root, "authorization_server", &c->authorization_server, err)) ||
	    (rc = read_mta(c, root, err)) ||
	    (rc = fz_cfg_string(root, "webmail", false, &c->webmail, err)) ||
	    (rc = fz_cfg_string(root, "docs_file", false, &c->docs_file, err)) ||
	    (rc = fz_cfg_string(root, "ca_file", false, &c->ca_file, err)) ||
	    (rc = fz_cfg_hostport(c->cfg, root, "dns_server", false, &c->dns_host,
				  &c->dns_port, err)) ||
	    (rc = fz_cfg_bool(root, "access_log", &c->access_log, err)) ||
	    (rc = fz_cfg_uint(root, "jwks_refetch_interval", 1, 3600,
			      &c->jwks_refetch_interval, err)) ||
	    (rc = fz_cfg_uint(root, "maintenance_interval", 1, 86400,
			      &c->maintenance_interval, err)) ||
	    (rc = read_limits(c, root, err)) || (rc = read_queue(c, root, err)) ||
	    (rc = fz_cfg_jose(root, &c->jose, err)) ||
	    (rc = fz_cfg_discovery_read(root, &c->discovery, err)))
		return rc;
	return fz_cfg_check_unused(c->cfg, err);
}

fz_code fz_mbx_config_parse(const char *buf, size_t len, fz_mbx_config *out,
			    fz_err *err)
{
	fz_code rc;

	memset(out, 0, sizeof(*out));
	defaults(out);
	rc = fz_cfg_parse(buf, len, &out->cfg, err);
	if (rc == FZ_OK)
		rc = read_top(out, err);
	if (rc != FZ_OK)
		fz_mbx_config_free(out);
	return rc;
}

void fz_mbx_config_free(fz_mbx_config *c)
{
	if (c == NULL)
		return;
	fz_cfg_free(c->cfg);
	memset(c, 0, sizeof(*c));
}

bool fz_mbx_config_has_domain(const fz_mbx_config *c, const char *domain,
			      size_t n)
{
	size_t i;

	for (i = 0; i < c->ndomains; i++)
		if (strlen(c->domains[i]) == n && strncasecmp(c->domains[i], domain, n) == 0)
			return true;
	return false;
}
