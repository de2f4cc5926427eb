/*
 * mbx.h - the Mailbox (`federizer mbx`): the resource server half of the
 * seed's MBX/MTA dual role. It owns the users' messages and resources
 * (store/), checks access tokens from its domain's AS, and serves the
 * APP API of SPEC §12, RFC 9728 metadata and the webmail on one origin.
 *
 * mbx/ meets the rest of Federizer in core/, net/ and store/ only: it
 * never includes as/ or mta/ headers.
 */
#ifndef FZ_MBX_MBX_H
#define FZ_MBX_MBX_H

#include <stdint.h>
#include <stdio.h>

#include "blob.h"
#include "config_mbx.h"
#include "discovery.h"
#include "err.h"
#include "http_server.h"
#include "jwk.h"
#include "mbx_store.h"

typedef struct fz_mbx_keys fz_mbx_keys;     /* mbx_auth.c */
typedef struct fz_mbx_notify fz_mbx_notify; /* mbx_notify.c */

typedef struct fz_mbx {
	const fz_mbx_config *cfg; /* the caller's, outlives the fz_mbx */
	fz_mbx_store *store;
	fz_blob_store *blobs;
	fz_mbx_keys *keys;        /* the own AS's signing keys */
	fz_mbx_notify *notify;    /* long-poll waiters */
	fz_key *mta_key;          /* the MTA's private_key_jwt key; NULL: no sending */
	fz_key *mta_dpop_key;     /* its DPoP key, made on first start */
	fz_discovery *disc;       /* peers by DNS: senders' and fetchers' AS and MBX */
	struct fz_http_client_pool *as_clients; /* to the own AS's token endpoint */
	/* Called after a commit that queued work, to wake the MTA worker
	 * (src/mta/, started beside the mbx by cmd_mbx.c); NULL: none. */
	void (*queued)(void *ctx);
	void *queued_ctx;
} fz_mbx;

/* Opens the database and the blob store (removing leftovers of puts a
 * crash cut off) and prepares the AS key cache. Nothing listens yet. */
fz_code fz_mbx_open(const fz_mbx_config *cfg, fz_mbx **out, fz_err *err);
/* NULL is a no-op. */
void fz_mbx_close(fz_mbx *m);

/* The HTTPS server with every route, not yet started: fz_mbx_serve uses
 * it, and tests run it in their own process. */
fz_code fz_mbx_server_new(fz_mbx *m, fz_http_server **out, fz_err *err);
/* Writes the routes the server registers for cfg, one "METHOD PATTERN"
 * line each, without opening the database or listening (`federizer mbx
 * --print-routes`, compared with api/mbx.yaml by the system tests). */
fz_code fz_mbx_server_print_routes(const fz_mbx_config *cfg, FILE *out, fz_err *err);

/* Wakes long-polls and makes new ones answer at once: call before
 * stopping the HTTP server, whose stop waits for running handlers. */
void fz_mbx_shutdown(fz_mbx *m);

/* Periodic work: collects unreferenced blobs. Failures are logged. */
void fz_mbx_maintain(fz_mbx *m);

/* For the MTA worker, which does not include mbx/ headers (src/mta/mta.h's
 * fz_mta_env takes these as callbacks with ctx the fz_mbx): the own AS's
 * token endpoint and the resolve pin for its host, in the arena; and
 * "owner's mailbox changed" for the long polls. */
fz_code fz_mbx_token_endpoint_cb(void *m, fz_arena *a, const char **url,
				 const char **resolve, fz_err *err);
void fz_mbx_changed_cb(void *m, const char *owner);
/* Work was queued: calls m->queued when set. */
void fz_mbx_queued(fz_mbx *m);

/* Serves until SIGTERM or SIGINT. */
fz_code fz_mbx_serve(fz_mbx *m, fz_err *err);

#endif
