/*
 * as_keys.c - the signing keyring: key files plus the registry in the
 * database, read into immutable snapshots that requests borrow.
 */
#include "as_keys.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jws.h"
#include "keyfile.h"

#define KEY_PATH_MAX 4096

struct fz_as_keysnap {
	unsigned refs;         /* under the keyring's lock */
	fz_keyset *published;
	const fz_key *signer;  /* in published */
	char *jwks;
	size_t jwks_len;
	char *stamp;           /* the published rows it was built from */
};

struct fz_as_keys {
	const fz_as_config *cfg;
	fz_as_store *st;
	pthread_mutex_t lock;
	fz_as_keysnap *cur;
};

bool fz_as_key_published(const fz_as_config *cfg, const fz_as_key_row *row,
			 int64_t now)
{
	int64_t keep;

	if (row->retired_at == 0)
		return true;
	keep = fz_time_add((int64_t)fz_as_config_max_signed_ttl(cfg),
			   (int64_t)cfg->keys_reload + cfg->jose.leeway);
	return now < fz_time_add(row->retired_at, keep);
}

/* The kid comes from our own database, but it also names a file: only
 * base64url characters may reach a path. */
static fz_code key_path(const fz_as_config *cfg, const char *kid, char *buf,
			size_t size, fz_err *err)
{
	size_t i, n = strlen(kid);

	if (n == 0 || n > FZ_KID_MAX)
		return fz_fail(err, FZ_EKEY, "bad kid in the key registry");
	for (i = 0; i < n; i++) {
		char c = kid[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return fz_fail(err, FZ_EKEY, "bad kid in the key registry");
	}
	if ((size_t)snprintf(buf, size, "%s/%s.pem", cfg->keys_dir, kid) >= size)
		return fz_fail(err, FZ_ELIMIT, "key path too long");
	return FZ_OK;
}

static fz_code ensure_dir(const char *dir, fz_err *err)
{
	if (mkdir(dir, FZ_AS_KEYS_DIR_MODE) == 0 || errno == EEXIST)
		return FZ_OK;
	return fz_fail(err, FZ_EIO, "cannot create keys directory %s: %s", dir,
		       strerror(errno));
}

/* A new key file and its registry row: the new current key. */
static fz_code create_key(const fz_as_config *cfg, fz_as_store *st, int64_t now,
			  char kid_out[FZ_KID_MAX + 1], fz_err *err)
{
	char path[KEY_PATH_MAX];
	fz_key *key = NULL;
	fz_code rc = ensure_dir(cfg->keys_dir, err);

	if (rc == FZ_OK)
		rc = fz_key_generate(cfg->keys_alg, (unsigned)cfg->keys_rsa_bits, &key, err);
	if (rc == FZ_OK)
		rc = key_path(cfg, fz_key_kid(key), path, sizeof(path), err);
	if (rc == FZ_OK)
		rc = fz_keyfile_save(path, key, false, err);
	if (rc == FZ_OK)
		rc = fz_as_store_key_add(st, fz_key_kid(key), fz_alg_name(fz_key_alg(key)),
					 now, err);
	if (rc == FZ_OK && kid_out != NULL)
		snprintf(kid_out, FZ_KID_MAX + 1, "%s", fz_key_kid(key));
	fz_key_free(key);
	return rc;
}

static void snap_free(fz_as_keysnap *s)
{
	if (s == NULL)
		return;
	fz_keyset_free(s->published);
	free(s->jwks);
	free(s->stamp);
	free(s);
}

/* "kid:retired;..." of the published rows: equal stamps, equal sets. */
static char *make_stamp(const fz_as_config *cfg, const fz_as_key_row *rows,
			size_t n, int64_t now)
{
	size_t i, used = 0, cap = 1;
	char *s;

	for (i = 0; i < n; i++)
		cap += strlen(rows[i].kid) + 24;
	s = malloc(cap);
	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < n; i++)
		if (fz_as_key_published(cfg, &rows[i], now))
			used += (size_t)snprintf(s + used, cap - used, "%s:%lld;", rows[i].kid,
						 (long long)rows[i].retired_at);
	return s;
}

static fz_code load_row(const fz_as_config *cfg, const fz_as_key_row *row,
			fz_as_keysnap *s, fz_err *err)
{
	char path[KEY_PATH_MAX];
	fz_key *key = NULL;
	fz_code rc = key_path(cfg, row->kid, path, sizeof(path), err);

	if (rc == FZ_OK)
		rc = fz_keyfile_load(path, &key, err);
	if (rc == FZ_OK && strcmp(fz_key_kid(key), row->kid) != 0)
		rc = fz_fail(err, FZ_EKEY, "%s holds key %s, not %s", path,
			     fz_key_kid(key), row->kid);
	if (rc != FZ_OK) {
		fz_key_free(key);
		return rc;
	}
	if (row->retired_at == 0 && s->signer == NULL)
		s->signer = key;
	return fz_keyset_add(s->published, key, err);
}

static fz_code finish_snap(fz_as_keysnap *s, fz_err *err)
{
	json_t *jwks = NULL;
	fz_code rc;

	if (s->signer == NULL)
		return fz_fail(err, FZ_EKEY, "no current signing key: run "
			       "'federizer admin keys rotate'");
	rc = fz_keyset_to_jwks(s->published, &jwks, err);
	if (rc != FZ_OK)
		return rc;
	s->jwks = json_dumps(jwks, JSON_COMPACT);
	json_decref(jwks);
	if (s->jwks == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	s->jwks_len = strlen(s->jwks);
	return FZ_OK;
}

/* Builds a snapshot from the registry unless it matches stamp (then
 * *out is NULL). */
static fz_code build_snap(const fz_as_config *cfg, fz_as_store *st, int64_t now,
			  const char *stamp, fz_as_keysnap **out, fz_err *err)
{
	fz_arena *a = fz_arena_new(0, 0);
	fz_as_key_row *rows = NULL;
	fz_as_keysnap *s = NULL;
	size_t n = 0, i;
	fz_code rc = a ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");

	*out = NULL;
	if (rc == FZ_OK)
		rc = fz_as_store_key_list(st, a, &rows, &n, err);
	if (rc == FZ_OK && ((s = calloc(1, sizeof(*s))) == NULL ||
			    (s->published = fz_keyset_new()) == NULL ||
			    (s->stamp = make_stamp(cfg, rows, n, now)) == NULL))
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	if (rc == FZ_OK && stamp != NULL && strcmp(stamp, s->stamp) == 0) {
		snap_free(s);
		fz_arena_free(a);
		return FZ_OK;
	}
	for (i = 0; rc == FZ_OK && i < n; i++)
		if (fz_as_key_published(cfg, &rows[i], now))
			rc = load_row(cfg, &rows[i], s, err);
	if (rc == FZ_OK)
		rc = finish_snap(s, err);
	fz_arena_free(a);
	if (rc != FZ_OK) {
		snap_free(s);
		return rc;
	}
	s->refs = 1; /* the keyring's own reference */
	*out = s;
	return FZ_OK;
}

static fz_code has_keys(fz_as_store *st, bool *any, fz_err *err)
{
	fz_arena *a = fz_arena_new(0, 0);
	fz_as_key_row *rows;
	size_t n = 0;
	fz_code rc = a ? fz_as_store_key_list(st, a, &rows, &n, err)
		       : fz_fail(err, FZ_ENOMEM, "out of memory");

	*any = n > 0;
	fz_arena_free(a);
	return rc;
}

fz_code fz_as_keys_open(const fz_as_config *cfg, fz_as_store *st, int64_t now,
			fz_as_keys **out, fz_err *err)
{
	fz_as_keys *k;
	bool any = false;
	fz_code rc = has_keys(st, &any, err);

	*out = NULL;
	if (rc == FZ_OK && !any)
		rc = create_key(cfg, st, now, NULL, err);
	if (rc != FZ_OK)
		return rc;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	k->cfg = cfg;
	k->st = st;
	pthread_mutex_init(&k->lock, NULL);
	rc = build_snap(cfg, st, now, NULL, &k->cur, err);
	if (rc != FZ_OK) {
		fz_as_keys_close(k);
		return rc;
	}
	*out = k;
	return FZ_OK;
}

void fz_as_keys_close(fz_as_keys *k)
{
	if (k == NULL)
		return;
	snap_free(k->cur);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

fz_code fz_as_keys_reload(fz_as_keys *k, int64_t now, fz_err *err)
{
	fz_as_keysnap *next = NULL, *old;
	char *stamp;
	fz_code rc;

	pthread_mutex_lock(&k->lock);
	stamp = strdup(k->cur->stamp);
	pthread_mutex_unlock(&k->lock);
	if (stamp == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = build_snap(k->cfg, k->st, now, stamp, &next, err);
	free(stamp);
	if (rc != FZ_OK || next == NULL)
		return rc;
	pthread_mutex_lock(&k->lock);
	old = k->cur;
	k->cur = next;
	old = --old->refs == 0 ? old : NULL;
	pthread_mutex_unlock(&k->lock);
	snap_free(old);
	return FZ_OK;
}

fz_as_keysnap *fz_as_keys_get(fz_as_keys *k)
{
	fz_as_keysnap *s;

	pthread_mutex_lock(&k->lock);
	s = k->cur;
	s->refs++;
	pthread_mutex_unlock(&k->lock);
	return s;
}

void fz_as_keys_put(fz_as_keys *k, fz_as_keysnap *s)
{
	bool last;

	if (s == NULL)
		return;
	pthread_mutex_lock(&k->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&k->lock);
	if (last)
		snap_free(s);
}

const fz_key *fz_as_keysnap_signer(const fz_as_keysnap *s)
{
	return s->signer;
}

const fz_keyset *fz_as_keysnap_published(const fz_as_keysnap *s)
{
	return s->published;
}

const char *fz_as_keysnap_jwks(const fz_as_keysnap *s, size_t *len)
{
	*len = s->jwks_len;
	return s->jwks;
}

fz_code fz_as_keys_sign(fz_as_keys *k, const char *typ, const json_t *claims,
			char **out, fz_err *err)
{
	fz_as_keysnap *s = fz_as_keys_get(k);
	fz_code rc = fz_jws_sign(s->signer, typ, NULL, claims, out, err);

	fz_as_keys_put(k, s);
	return rc;
}

/* Removes retired keys no longer published: the file, then the row. */
static fz_code prune(const fz_as_config *cfg, fz_as_store *st, int64_t now,
		     fz_err *err)
{
	fz_arena *a = fz_arena_new(0, 0);
	char path[KEY_PATH_MAX];
	fz_as_key_row *rows = NULL;
	size_t n = 0, i;
	fz_code rc = a ? fz_as_store_key_list(st, a, &rows, &n, err)
		       : fz_fail(err, FZ_ENOMEM, "out of memory");

	for (i = 0; rc == FZ_OK && i < n; i++) {
		if (fz_as_key_published(cfg, &rows[i], now))
			continue;
		rc = key_path(cfg, rows[i].kid, path, sizeof(path), err);
		if (rc == FZ_OK && unlink(path) != 0 && errno != ENOENT)
			rc = fz_fail(err, FZ_EIO, "cannot remove %s: %s", path, strerror(errno));
		if (rc == FZ_OK)
			rc = fz_as_store_key_remove(st, rows[i].kid, err);
	}
	fz_arena_free(a);
	return rc;
}

fz_code fz_as_keys_rotate(const fz_as_config *cfg, fz_as_store *st, int64_t now,
			  char kid_out[FZ_KID_MAX + 1], fz_err *err)
{
	fz_code rc = create_key(cfg, st, now, kid_out, err);

	if (rc == FZ_OK)
		rc = prune(cfg, st, now, err);
	return rc;
}
