/*
 * mbx.c - opening and closing the Mailbox: its database, its blob store
 * (whose opening removes what a crash left half-written), the own AS's
 * key cache and the long-poll notifier.
 */
#include "mbx_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "http_client_pool.h"
#include "mbx_memory.h"
#include "oauth_client.h"

int64_t fz_mbx_now(void)
{
	return (int64_t)time(NULL);
}

/* Sending exchanges the user's token at the own AS from an HTTP worker
 * thread: a client per worker at most, kept so the TLS session is too. */
static fz_code as_clients_open(fz_mbx *m, fz_err *err)
{
	fz_http_client_config cc;

	fz_http_client_config_defaults(&cc);
	cc.ca_file = m->cfg->ca_file;
	cc.timeout_s = (unsigned)m->cfg->mta_timeout;
	cc.connect_timeout_s = (unsigned)m->cfg->mta_timeout;
	cc.max_body_bytes = FZ_OAUTH_MAX_RESPONSE_BYTES;
	return fz_http_client_pool_new(&cc, (size_t)m->cfg->limits.threads, &m->as_clients, err);
}

fz_code fz_mbx_open(const fz_mbx_config *cfg, fz_mbx **out, fz_err *err)
{
	fz_mbx *m = calloc(1, sizeof(*m));
	size_t removed = 0;
	fz_code rc;

	*out = NULL;
	if (m == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	m->cfg = cfg;
	rc = fz_mbx_store_open(cfg->database, fz_mbx_db_connections(cfg), &m->store, err);
	if (rc == FZ_OK)
		rc = fz_blob_fs_open(cfg->blobs, &m->blobs, &removed, err);
	if (rc == FZ_OK && removed > 0)
		fprintf(stderr, "federizer mbx: removed %zu unfinished upload%s\n", removed,
			removed == 1 ? "" : "s");
	if (rc == FZ_OK)
		rc = fz_mbx_keys_new(cfg, &m->keys, err);
	if (rc == FZ_OK)
		rc = fz_mbx_notify_new((size_t)cfg->limits.long_poll_max_waiters,
				       &m->notify, err);
	if (rc == FZ_OK)
		rc = fz_mbx_mta_open(m, err);
	if (rc == FZ_OK)
		rc = fz_mbx_federation_open(m, err);
	if (rc == FZ_OK)
		rc = as_clients_open(m, err);
	if (rc != FZ_OK) {
		fz_mbx_close(m);
		return rc;
	}
	*out = m;
	return FZ_OK;
}

void fz_mbx_close(fz_mbx *m)
{
	if (m == NULL)
		return;
	fz_mbx_mta_close(m);
	fz_http_client_pool_free(m->as_clients);
	fz_discovery_free(m->disc);
	fz_mbx_notify_free(m->notify);
	fz_mbx_keys_free(m->keys);
	fz_blob_close(m->blobs);
	fz_mbx_store_close(m->store);
	free(m);
}

void fz_mbx_shutdown(fz_mbx *m)
{
	fz_mbx_notify_shutdown(m->notify);
}

void fz_mbx_maintain(fz_mbx *m)
{
	fz_err err = {0};
	size_t deleted = 0;

	if (fz_mbx_gc(m->store, m->blobs, 0, &deleted, &err) != FZ_OK)
		fprintf(stderr, "federizer mbx: collecting blobs: %s\n", err.msg);
	else if (deleted > 0)
		fprintf(stderr, "federizer mbx: collected %zu unreferenced blob%s\n",
			deleted, deleted == 1 ? "" : "s");
	if (fz_mbx_replay_prune(m->store, fz_mbx_now(), &err) != FZ_OK)
		fprintf(stderr, "federizer mbx: pruning the DPoP replay cache: %s\n", err.msg);
}

fz_code fz_mbx_token_endpoint_cb(void *m, fz_arena *a, const char **url,
				 const char **resolve, fz_err *err)
{
	return fz_mbx_token_endpoint(((fz_mbx *)m)->keys, a, url, resolve, err);
}

void fz_mbx_changed_cb(void *m, const char *owner)
{
	fz_mbx_notify_changed(((fz_mbx *)m)->notify, owner);
}

void fz_mbx_queued(fz_mbx *m)
{
	if (m->queued != NULL)
		m->queued(m->queued_ctx);
}
