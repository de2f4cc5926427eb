/*
 * as.h - the Authorization Server's shared context: what every endpoint
 * (metadata, login, authorize, token, revoke) and every grant reads.
 *
 * One fz_as per process, built by fz_as_open before the HTTP server
 * starts and read-only afterwards, so handlers on many threads share it
 * without locks; the store and the keyring do their own locking.
 */
#ifndef FZ_AS_AS_H
#define FZ_AS_AS_H

#include <stdint.h>

#include "as_keys.h"
#include "as_store.h"
#include "config.h"
#include "discovery.h"
#include "err.h"

/* The time in seconds since the epoch; tests install their own clock. */
typedef int64_t (*fz_as_clock_fn)(void *ctx);

/* Endpoint paths (SPEC §12). */
#define FZ_AS_PATH_METADATA "/.well-known/oauth-authorization-server"
#define FZ_AS_PATH_JWKS "/jwks"
#define FZ_AS_PATH_AUTHORIZE "/authorize"
#define FZ_AS_PATH_TOKEN "/token"
#define FZ_AS_PATH_REVOKE "/revoke"
#define FZ_AS_PATH_LOGIN "/login"
#define FZ_AS_PATH_DOCS "/docs"

/* The scope every Federizer token carries (SPEC §7, §8). */
#define FZ_AS_SCOPE_MAIL "internet_mail"

typedef struct fz_as {
	const fz_as_config *cfg;
	fz_as_store *store;
	fz_as_keys *keys;
	/* Finds and checks foreign issuers (SPEC §5) for the token
	 * exchanges of §8 and §9, from dns_server and ca_file. */
	fz_discovery *discovery;
	fz_as_clock_fn clock; /* NULL: the system clock */
	void *clock_ctx;
	/* Absolute URLs of the endpoints, derived from the issuer: what
	 * the metadata publishes, a DPoP proof's htu is compared with, and
	 * a client assertion's aud must name (RFC 7523 §3). */
	char *metadata_url;
	char *authorization_endpoint;
	char *token_endpoint;
	char *revocation_endpoint;
	char *jwks_uri;
	char *login_endpoint;
} fz_as;

/* Opens the store (a connection per HTTP thread and two more), the
 * keyring (making the first key on first start) and the discovery
 * client, and derives the endpoint URLs. cfg must outlive the context. */
fz_code fz_as_open(const fz_as_config *cfg, fz_as **out, fz_err *err);
void fz_as_close(fz_as *as);

/* Seconds since the epoch, by as->clock when set. */
int64_t fz_as_now(const fz_as *as);

/* "https://host[:port]" + path, from the issuer; malloc'd. */
fz_code fz_as_url(const fz_as_config *cfg, const char *path, char **out,
		  fz_err *err);

#endif
