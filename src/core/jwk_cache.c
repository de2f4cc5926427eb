/*
 * jwk_cache.c - a small table of imported keys, by the JWK's canonical
 * text (compact, members sorted), with a reference count per entry so a
 * key evicted while another thread verifies with it lives until that
 * thread lets go. One mutex guards the table and the counts; imports run
 * outside it, since they are what the cache exists to avoid.
 */
#include "jwk_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fz_jwk_ref {
	fz_key *key;
	char *text; /* canonical JWK text; NULL for a key never cached */
	size_t len;
	uint64_t hash;
	uint64_t used;  /* tick of the last lookup that found it */
	unsigned refs;  /* one for the table, one per holder */
};

static struct {
	pthread_mutex_t lock;
	fz_jwk_ref *slot[FZ_JWK_CACHE_KEYS];
	uint64_t tick;
	fz_jwk_cache_stats stats;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* FNV-1a: only spreads entries; equality is decided by the text. */
static uint64_t hash_text(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3u;
	}
	return h;
}

static void ref_free(fz_jwk_ref *ref)
{
	fz_key_free(ref->key);
	free(ref->text);
	free(ref);
}

/* Drops one reference; the caller holds the lock. True when the last
 * one went and the caller must free ref after unlocking. */
static bool unref_locked(fz_jwk_ref *ref)
{
	return --ref->refs == 0;
}

static fz_jwk_ref *find_locked(const char *text, size_t len, uint64_t hash)
{
	size_t i;

	for (i = 0; i < FZ_JWK_CACHE_KEYS; i++) {
		fz_jwk_ref *r = cache.slot[i];
		if (r != NULL && r->hash == hash && r->len == len &&
		    memcmp(r->text, text, len) == 0)
			return r;
	}
	return NULL;
}

/* An empty slot, or the least recently used one, emptied. *dead is the
 * entry evicted with its last reference, for the caller to free. */
static size_t free_slot_locked(fz_jwk_ref **dead)
{
	size_t i, lru = 0;

	*dead = NULL;
	for (i = 0; i < FZ_JWK_CACHE_KEYS; i++) {
		if (cache.slot[i] == NULL)
			return i;
		if (cache.slot[i]->used < cache.slot[lru]->used)
			lru = i;
	}
	cache.stats.evictions++;
	cache.stats.keys--;
	if (unref_locked(cache.slot[lru]))
		*dead = cache.slot[lru];
	cache.slot[lru] = NULL;
	return lru;
}

/* Puts a fresh ref (refs 1, the caller's) into the table, unless another
 * thread cached the same text meanwhile: then ref stays the caller's
 * alone and is freed on release. */
static void insert(fz_jwk_ref *ref)
{
	fz_jwk_ref *dead = NULL;
	size_t i;

	pthread_mutex_lock(&cache.lock);
	if (find_locked(ref->text, ref->len, ref->hash) == NULL) {
		i = free_slot_locked(&dead);
		ref->refs++;
		ref->used = ++cache.tick;
		cache.slot[i] = ref;
		cache.stats.keys++;
	}
	pthread_mutex_unlock(&cache.lock);
	if (dead != NULL)
		ref_free(dead);
}

static fz_jwk_ref *lookup(const char *text, size_t len, uint64_t hash)
{
	fz_jwk_ref *r;

	pthread_mutex_lock(&cache.lock);
	r = find_locked(text, len, hash);
	if (r != NULL) {
		r->refs++;
		r->used = ++cache.tick;
		cache.stats.hits++;
	} else {
		cache.stats.misses++;
	}
	pthread_mutex_unlock(&cache.lock);
	return r;
}

/* Imports jwk into a ref the caller alone holds; text (len bytes) is
 * copied when not NULL, so the ref can be cached. */
static fz_code import(const json_t *jwk, const char *text, size_t len,
		      uint64_t hash, fz_jwk_ref **out, fz_err *err)
{
	fz_jwk_ref *ref = calloc(1, sizeof(*ref));
	fz_code rc;

	if (ref == NULL)
		return fz_fail(err, FZ_ENOMEM, "jwk cache: out of memory");
	if (text != NULL) {
		if ((ref->text = malloc(len)) == NULL) {
			free(ref);
			return fz_fail(err, FZ_ENOMEM, "jwk cache: out of memory");
		}
		memcpy(ref->text, text, len);
	}
	if ((rc = fz_key_from_jwk(jwk, &ref->key, err)) != FZ_OK) {
		ref_free(ref);
		return rc;
	}
	ref->len = len;
	ref->hash = hash;
	ref->refs = 1;
	*out = ref;
	return FZ_OK;
}

fz_code fz_jwk_cache_get(const json_t *jwk, fz_jwk_ref **out, fz_err *err)
{
	char text[FZ_JWK_CACHE_TEXT_MAX];
	size_t len;
	uint64_t hash;
	fz_code rc;

	if (!json_is_object(jwk))
		return fz_fail(err, FZ_EKEY, "jwk is not a JSON object");
	/* Sorted and compact, one object has one text, and two objects
	 * with the same text have the same members with the same values. */
	len = json_dumpb(jwk, text, sizeof(text), JSON_COMPACT | JSON_SORT_KEYS);
	if (len == 0 || len > sizeof(text))
		return import(jwk, NULL, 0, 0, out, err);
	hash = hash_text(text, len);
	if ((*out = lookup(text, len, hash)) != NULL)
		return FZ_OK;
	if ((rc = import(jwk, text, len, hash, out, err)) != FZ_OK)
		return rc;
	insert(*out);
	return FZ_OK;
}

const fz_key *fz_jwk_ref_key(const fz_jwk_ref *ref)
{
	return ref->key;
}

void fz_jwk_ref_release(fz_jwk_ref *ref)
{
	bool last;

	if (ref == NULL)
		return;
	pthread_mutex_lock(&cache.lock);
	last = unref_locked(ref);
	pthread_mutex_unlock(&cache.lock);
	if (last)
		ref_free(ref);
}

void fz_jwk_cache_get_stats(fz_jwk_cache_stats *out)
{
	pthread_mutex_lock(&cache.lock);
	*out = cache.stats;
	pthread_mutex_unlock(&cache.lock);
}

void fz_jwk_cache_clear(void)
{
	fz_jwk_ref *dead[FZ_JWK_CACHE_KEYS];
	size_t i, n = 0;

	pthread_mutex_lock(&cache.lock);
	for (i = 0; i < FZ_JWK_CACHE_KEYS; i++) {
		if (cache.slot[i] != NULL && unref_locked(cache.slot[i]))
			dead[n++] = cache.slot[i];
		cache.slot[i] = NULL;
	}
	cache.stats.keys = 0;
	pthread_mutex_unlock(&cache.lock);
	while (n > 0)
		ref_free(dead[--n]);
}
