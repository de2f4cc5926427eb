/* JWK and JWKS documents, as a peer's jwks_uri or a DPoP header serves
 * them: whatever comes in, no crash and no leak; an accepted key is
 * public, its thumbprint is the same whichever way it is computed, and
 * its export reads back as the same key; an accepted set keeps at most
 * FZ_JWKS_MAX_KEYS keys, all public, and re-exports to the same set. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwk.h"

static void same_key(const fz_key *key, json_t *jwk)
{
	fz_key *back = NULL;

	if (jwk == NULL || fz_key_from_jwk(jwk, &back, NULL) != FZ_OK)
		abort();
	if (strcmp(fz_key_thumbprint(back)->s, fz_key_thumbprint(key)->s) != 0 ||
	    fz_key_alg(back) != fz_key_alg(key) || fz_key_bits(back) != fz_key_bits(key))
		abort();
	fz_key_free(back);
	json_decref(jwk);
}

static void one_key(const json_t *jwk)
{
	fz_key *key = NULL;
	fz_digest_str tp;
	json_t *out = NULL, *bare = NULL;

	if (fz_key_from_jwk(jwk, &key, NULL) != FZ_OK) {
		if (fz_jwk_thumbprint(jwk, &tp, NULL) == FZ_OK)
			abort(); /* a thumbprint only of a key we accept */
		return;
	}
	if (fz_key_is_private(key) || fz_jwk_has_private(jwk) || fz_key_kid(key) == NULL)
		abort();
	if (fz_jwk_thumbprint(jwk, &tp, NULL) != FZ_OK ||
	    strcmp(tp.s, fz_key_thumbprint(key)->s) != 0)
		abort();
	if (fz_key_to_jwk(key, &out, NULL) != FZ_OK || fz_key_to_jwk_bare(key, &bare, NULL) != FZ_OK)
		abort();
	if (fz_jwk_has_private(out) || fz_jwk_has_private(bare))
		abort();
	same_key(key, out);
	same_key(key, bare);
	fz_key_free(key);
}

static void key_set(const json_t *jwks)
{
	fz_keyset *set = NULL, *back = NULL;
	json_t *out = NULL;
	size_t i, n;

	if (fz_keyset_from_jwks(jwks, &set, NULL) != FZ_OK)
		return;
	n = fz_keyset_count(set);
	if (n > FZ_JWKS_MAX_KEYS)
		abort();
	for (i = 0; i < n; i++) {
		const fz_key *k = fz_keyset_at(set, i);

		if (fz_key_is_private(k) || fz_keyset_find(set, fz_key_kid(k)) != k)
			abort();
	}
	if (fz_keyset_to_jwks(set, &out, NULL) != FZ_OK ||
	    fz_keyset_from_jwks(out, &back, NULL) != FZ_OK || fz_keyset_count(back) != n)
		abort();
	json_decref(out);
	fz_keyset_free(back);
	fz_keyset_free(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	const json_t *keys;
	size_t i;

	if (j == NULL)
		return 0;
	one_key(j);
	key_set(j);
	keys = json_object_get(j, "keys");
	for (i = 0; i < json_array_size(keys) && i < FZ_JWKS_MAX_KEYS; i++)
		one_key(json_array_get(keys, i));
	json_decref(j);
	return 0;
}
