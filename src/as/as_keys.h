/*
 * as_keys.h - the AS's signing keys: one current key signs, older ones
 * stay published on /jwks until every token they signed has expired.
 *
 * Keys are PEM files named <kid>.pem in keys.dir (store/keyfile.h); the
 * database's signing_keys table records when each was created and
 * retired. `federizer admin keys rotate` adds a key and retires the
 * previous one; a running AS notices on its next reload (every
 * keys.reload_interval seconds, or SIGHUP) and signs with the new key.
 *
 * A retired key is published while now < retired_at + the longest signed
 * token lifetime + the reload interval + the clock leeway: the reload
 * interval covers an AS that kept signing with it until it noticed.
 *
 * Threads: the keyring hands out immutable snapshots under a mutex; a
 * reload swaps in a new snapshot while requests finish with the old one.
 */
#ifndef FZ_AS_KEYS_H
#define FZ_AS_KEYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "as_store.h"
#include "config.h"
#include "err.h"
#include "jwk.h"

#define FZ_AS_KEYS_DIR_MODE 0700

typedef struct fz_as_keys fz_as_keys;
typedef struct fz_as_keysnap fz_as_keysnap;

/* Loads the published keys; on first start (no key recorded) makes the
 * first one with keys.alg. */
fz_code fz_as_keys_open(const fz_as_config *cfg, fz_as_store *st, int64_t now,
			fz_as_keys **out, fz_err *err);
void fz_as_keys_close(fz_as_keys *k);

/* Re-reads the registry and swaps in a new snapshot when it (or the set
 * of published keys, which shrinks as time passes) changed. */
fz_code fz_as_keys_reload(fz_as_keys *k, int64_t now, fz_err *err);

/* A reference to the current snapshot, to release with fz_as_keys_put. */
fz_as_keysnap *fz_as_keys_get(fz_as_keys *k);
void fz_as_keys_put(fz_as_keys *k, fz_as_keysnap *s);
const fz_key *fz_as_keysnap_signer(const fz_as_keysnap *s);
/* Every published key, the signer included: what the AS's own tokens
 * verify against. */
const fz_keyset *fz_as_keysnap_published(const fz_as_keysnap *s);
/* The JWKS document of the published keys, serialized. */
const char *fz_as_keysnap_jwks(const fz_as_keysnap *s, size_t *len);

/* Signs claims with the current key (header alg, kid, typ); *out is
 * malloc'd. */
fz_code fz_as_keys_sign(fz_as_keys *k, const char *typ, const json_t *claims,
			char **out, fz_err *err);

/* --- administration (no running server needed) ------------------------- */

/* True while a key of this registry row must stay on /jwks. */
bool fz_as_key_published(const fz_as_config *cfg, const fz_as_key_row *row,
			 int64_t now);

/* Makes a new key with keys.alg, writes it, records it as current (the
 * previous one retires now) and removes retired keys no longer
 * published (row and file). kid_out receives the new kid. */
fz_code fz_as_keys_rotate(const fz_as_config *cfg, fz_as_store *st, int64_t now,
			  char kid_out[FZ_KID_MAX + 1], fz_err *err);

#endif
