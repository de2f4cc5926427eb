/* JWT claim checks over tokens that really verify: the input is a claims
 * object (JSON), an optional "_typ" member of it becomes the header typ;
 * it is signed with a fixed key made at start, verified, and checked
 * the way the Mailbox checks access tokens and the way DPoP proofs are
 * checked. No crash, no leak, and an accepted token really has what was
 * asked: the exact issuer, the audience, a live exp, an iat not in the
 * future nor too old, the required claims. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jws.h"
#include "jwt.h"

#define NOW 1700000100
#define ISS "https://as.example.com"
#define AUD "https://mbx.example.net"
#define MAX_AGE 3600

static fz_key *key;
static fz_keyset *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fz_key *pub = NULL;
	json_t *jwk = NULL;

	(void)argc;
	(void)argv;
	keys = fz_keyset_new();
	if (keys == NULL || fz_key_generate(FZ_ALG_ES256, 0, &key, NULL) != FZ_OK ||
	    fz_key_to_jwk(key, &jwk, NULL) != FZ_OK || fz_key_from_jwk(jwk, &pub, NULL) != FZ_OK ||
	    fz_keyset_add(keys, pub, NULL) != FZ_OK)
		abort();
	json_decref(jwk);
	return 0;
}

static bool str_is(const json_t *v, const char *want)
{
	return json_is_string(v) && json_string_length(v) == strlen(want) &&
	       memcmp(json_string_value(v), want, strlen(want)) == 0;
}

static bool aud_has(const json_t *aud)
{
	const json_t *v;
	size_t i;

	if (str_is(aud, AUD))
		return true;
	json_array_foreach(aud, i, v)
		if (str_is(v, AUD))
			return true;
	return false;
}

/* The access-token expectations held: check them independently. */
static void accepted_at(const fz_jws *jws, const json_t *c)
{
	int64_t exp, iat;

	if (!fz_jwt_typ_is(fz_jws_typ(jws), FZ_TYP_AT_JWT) ||
	    !str_is(json_object_get(c, "iss"), ISS) || !aud_has(json_object_get(c, "aud")) ||
	    fz_jwt_int(c, "exp", &exp, NULL) != FZ_OK || exp <= NOW - FZ_JOSE_LEEWAY ||
	    fz_jwt_int(c, "iat", &iat, NULL) != FZ_OK || iat > NOW + FZ_JOSE_LEEWAY ||
	    iat < NOW - MAX_AGE - FZ_JOSE_LEEWAY || json_object_get(c, "sub") == NULL ||
	    json_object_get(c, "scope") == NULL)
		abort();
}

static void check(const fz_jws *jws)
{
	static const char *const required[] = {"sub", "scope", NULL};
	const json_t *c = fz_jws_payload(jws);
	fz_digest_str jkt;
	fz_jwt_expect x;
	int64_t t;

	fz_jwt_expect_defaults(&x);
	x.typ = FZ_TYP_AT_JWT;
	x.iss = ISS;
	x.aud = AUD;
	x.max_age = MAX_AGE;
	x.required = required;
	if (fz_jwt_check(jws, &x, NOW, NULL) == FZ_OK)
		accepted_at(jws, c);
	fz_jwt_expect_defaults(&x);
	x.typ = FZ_TYP_DPOP;
	x.require_exp = false;
	x.require_iat = true;
	if (fz_jwt_check(jws, &x, NOW, NULL) == FZ_OK &&
	    (fz_jwt_int(c, "iat", &t, NULL) != FZ_OK || t > NOW + FZ_JOSE_LEEWAY))
		abort();
	/* extremes of the clock must saturate, not overflow */
	fz_jwt_expect_defaults(&x);
	x.max_age = INT64_MAX;
	fz_jwt_check(jws, &x, INT64_MIN, NULL);
	fz_jwt_check(jws, &x, INT64_MAX, NULL);
	if (fz_jwt_cnf_jkt(c, &jkt, NULL) == FZ_OK && strlen(jkt.s) != FZ_DIGEST_LEN)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *claims = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	const char *typ = NULL;
	char *compact = NULL, *t = NULL;
	fz_jws *jws = NULL;

	if (!json_is_object(claims))
		goto out;
	typ = json_string_value(json_object_get(claims, "_typ"));
	if (typ != NULL && (t = strdup(typ)) == NULL)
		goto out;
	json_object_del(claims, "_typ");
	if (fz_jws_sign(key, t, NULL, claims, &compact, NULL) != FZ_OK)
		goto out; /* e.g. a typ that is no printable string */
	if (fz_jws_verify(compact, strlen(compact), FZ_JWS_MAX_BYTES, FZ_ALGS_ALL, keys, &jws,
			  NULL) != FZ_OK)
		goto out; /* e.g. bigger than FZ_JWS_MAX_BYTES once signed */
	check(jws);
out:
	fz_jws_free(jws);
	free(compact);
	free(t);
	json_decref(claims);
	return 0;
}
