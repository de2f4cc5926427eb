/*
 * jwk_set.c - key sets: an issuer's JWKS (RFC 7517 §5) as the verifier
 * reads it, and our own signing keys as /jwks publishes them. A set is a
 * short array searched by kid: a domain publishes a handful of keys.
 */
#include "jwk_int.h"

#include <stdlib.h>
#include <string.h>

struct fz_keyset {
	fz_key **keys;
	size_t count, cap;
};

static fz_code nomem(fz_err *err)
{
	return fz_fail(err, FZ_ENOMEM, "jwk: out of memory");
}

fz_keyset *fz_keyset_new(void)
{
	return calloc(1, sizeof(fz_keyset));
}

void fz_keyset_free(fz_keyset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->count; i++)
		fz_key_free(set->keys[i]);
	free(set->keys);
	free(set);
}

fz_code fz_keyset_add(fz_keyset *set, fz_key *key, fz_err *err)
{
	fz_key **grown;
	size_t cap;

	if (fz_keyset_find(set, key->kid) != NULL) {
		char shown[FZ_KID_MAX + 1];
		fz_jose_printable(key->kid, shown, sizeof(shown));
		fz_key_free(key);
		return fz_fail(err, FZ_ECONFLICT, "key set already has kid %s", shown);
	}
	if (set->count == set->cap) {
		cap = set->cap ? set->cap * 2 : 4;
		grown = realloc(set->keys, cap * sizeof(*grown));
		if (grown == NULL) {
			fz_key_free(key);
			return nomem(err);
		}
		set->keys = grown;
		set->cap = cap;
	}
	set->keys[set->count++] = key;
	return FZ_OK;
}

const fz_key *fz_keyset_find(const fz_keyset *set, const char *kid)
{
	size_t i;

	if (set == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < set->count; i++)
		if (strcmp(set->keys[i]->kid, kid) == 0)
			return set->keys[i];
	return NULL;
}

size_t fz_keyset_count(const fz_keyset *set)
{
	return set->count;
}

const fz_key *fz_keyset_at(const fz_keyset *set, size_t i)
{
	return i < set->count ? set->keys[i] : NULL;
}

fz_code fz_keyset_to_jwks(const fz_keyset *set, json_t **out, fz_err *err)
{
	json_t *keys = json_array(), *jwk = NULL;
	fz_code rc;
	size_t i;

	if (keys == NULL)
		return nomem(err);
	for (i = 0; i < set->count; i++) {
		if ((rc = fz_key_to_jwk(set->keys[i], &jwk, err)) != FZ_OK) {
			json_decref(keys);
			return rc;
		}
		if (json_array_append_new(keys, jwk)) {
			json_decref(keys);
			return nomem(err);
		}
	}
	*out = json_pack("{s:o}", "keys", keys);
	if (*out == NULL)
		return nomem(err);
	return FZ_OK;
}

fz_code fz_keyset_from_jwks(const json_t *jwks, fz_keyset **out, fz_err *err)
{
	const json_t *keys = json_object_get(jwks, "keys");
	fz_keyset *set;
	fz_key *key;
	bool skip;
	size_t i;
	fz_code rc = FZ_OK;

	if (!json_is_array(keys))
		return fz_fail(err, FZ_ESTRUCT, "JWKS has no keys array");
	if (json_array_size(keys) > FZ_JWKS_MAX_KEYS)
		return fz_fail(err, FZ_ELIMIT, "JWKS has %zu keys, limit %d",
			       json_array_size(keys), FZ_JWKS_MAX_KEYS);
	if ((set = fz_keyset_new()) == NULL)
		return nomem(err);
	for (i = 0; i < json_array_size(keys) && rc == FZ_OK; i++) {
		rc = fz_jwk_import(json_array_get(keys, i), &key, &skip, err);
		if (rc != FZ_OK && skip) {
			rc = FZ_OK;
			continue;
		}
		if (rc != FZ_OK) {
			fz_err_prefix(err, "JWKS key %zu", i);
			break;
		}
		/* Two keys under one kid would make a lookup a guess. */
		rc = fz_keyset_add(set, key, err);
		if (rc == FZ_ECONFLICT)
			rc = fz_fail(err, FZ_EKEY, "JWKS: two keys share a kid");
	}
	if (rc != FZ_OK) {
		fz_keyset_free(set);
		return rc;
	}
	*out = set;
	return FZ_OK;
}
