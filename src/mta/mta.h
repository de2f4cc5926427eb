/*
 * mta.h - the MTA worker of `federizer mbx` (SPEC §7.4, §7.7, §8, §9,
 * §10): the threads that work the durable queue the Mailbox fills.
 * Each claims due entries with a lease (so a crash or kill -9 leaves
 * them to be retried when the lease runs out), runs them and reports
 * done, retry (exponential backoff with jitter) or failed:
 *
 *   transfer  POST <peer MBX>/mta/v1/messages with the domain's copy,
 *             then pushes the small resources (PUT ...resources/{digest})
 *   fetch     token exchange at the own AS, POST <origin MBX>/mta/v1/
 *             resources/{digest} with the chain, streamed into the blob
 *             store while hashed
 *
 * mta/ does not include mbx/ or as/ headers: it meets the Mailbox in
 * store/ (the queue, messages, blobs), net/ (discovery, HTTP, OAuth
 * client) and core/ (its configuration, envelopes). What only the
 * Mailbox knows comes in fz_mta_env, filled by whoever starts the
 * worker (src/cmd/cmd_mbx.c): the handles it opened and two callbacks.
 */
#ifndef FZ_MTA_MTA_H
#define FZ_MTA_MTA_H

#include <stdint.h>

#include "arena.h"
#include "blob.h"
#include "config_mbx.h"
#include "discovery.h"
#include "err.h"
#include "jwk.h"
#include "mbx_store.h"

typedef struct fz_mta_env {
	const fz_mbx_config *cfg;   /* queue settings, domains, limits, ca_file */
	fz_mbx_store *store;
	fz_blob_store *blobs;
	fz_discovery *disc;         /* peers by DNS */
	const fz_key *client_key;   /* private_key_jwt key (mta.key); NULL: fetches
				     * cannot get tokens and are retried */
	const fz_key *dpop_key;     /* the key every assertion is bound to */
	/* The own AS's token endpoint (RFC 8414 metadata) and the resolve
	 * pin for its host, in the arena. */
	fz_code (*token_endpoint)(void *ctx, fz_arena *a, const char **url,
				  const char **resolve, fz_err *err);
	/* owner's mailbox changed: wake the long polls waiting on it. */
	void (*changed)(void *ctx, const char *owner);
	void *ctx;
} fz_mta_env;

typedef struct fz_mta fz_mta;

/* Starts cfg->queue.workers threads (none when 0: *out is still made, and
 * kicking it does nothing). env is copied; what it points to must
 * outlive the worker. */
fz_code fz_mta_start(const fz_mta_env *env, fz_mta **out, fz_err *err);
/* Something was queued: wake an idle worker now rather than at its timer.
 * Safe from any thread; NULL is a no-op. */
void fz_mta_kick(fz_mta *w);
/* Asks the workers to stop, waits for their current attempt to end and
 * frees. Entries in flight keep their lease and are taken again after it
 * (or at the next start once it ran out). NULL is a no-op. */
void fz_mta_stop(fz_mta *w);

#endif
