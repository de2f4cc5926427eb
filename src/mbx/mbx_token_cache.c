/*
 * mbx_token_cache.c - a direct-mapped table: a token's hash picks its
 * slot, a newer token in the same slot replaces the older. No list to
 * walk and no eviction policy to get wrong; a collision costs one
 * signature check. One mutex: the work under it is a memcmp.
 */
#include "mbx_token_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"

#define USER_MAX 255 /* an address is at most 254 bytes */

typedef struct slot {
	uint8_t hash[FZ_SHA256_LEN];
	int64_t exp; /* 0: empty */
	char user[USER_MAX + 1];
} slot;

struct fz_token_cache {
	pthread_mutex_t lock;
	size_t n;
	slot *slots;
};

fz_code fz_token_cache_new(size_t entries, fz_token_cache **out, fz_err *err)
{
	fz_token_cache *c;

	*out = NULL;
	if (entries == 0)
		return FZ_OK;
	c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->slots = calloc(entries, sizeof(slot));
	if (c == NULL || c->slots == NULL) {
		free(c);
		return fz_fail(err, FZ_ENOMEM, "out of memory for %zu cached tokens", entries);
	}
	c->n = entries;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return FZ_OK;
}

void fz_token_cache_free(fz_token_cache *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	free(c);
}

static size_t slot_of(const fz_token_cache *c, const uint8_t hash[FZ_SHA256_LEN])
{
	uint64_t v;

	memcpy(&v, hash, sizeof(v));
	return (size_t)(v % c->n);
}

bool fz_token_cache_get(fz_token_cache *c, const char *token, size_t len, int64_t now,
			char *user, size_t cap)
{
	uint8_t hash[FZ_SHA256_LEN];
	bool hit = false;
	slot *s;

	if (c == NULL || cap == 0)
		return false;
	fz_sha256_raw(token, len, hash);
	pthread_mutex_lock(&c->lock);
	s = &c->slots[slot_of(c, hash)];
	if (s->exp > now && memcmp(s->hash, hash, sizeof(hash)) == 0 &&
	    strlen(s->user) < cap) {
		memcpy(user, s->user, strlen(s->user) + 1);
		hit = true;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void fz_token_cache_put(fz_token_cache *c, const char *token, size_t len, const char *user,
			int64_t exp)
{
	uint8_t hash[FZ_SHA256_LEN];
	size_t ulen = user != NULL ? strlen(user) : USER_MAX + 1;
	slot *s;

	if (c == NULL || ulen > USER_MAX || exp <= 0)
		return;
	fz_sha256_raw(token, len, hash);
	pthread_mutex_lock(&c->lock);
	s = &c->slots[slot_of(c, hash)];
	memcpy(s->hash, hash, sizeof(hash));
	memcpy(s->user, user, ulen + 1);
	s->exp = exp;
	pthread_mutex_unlock(&c->lock);
}
