/* JWS parsing and verification: whatever comes in, no crash and no leak;
 * a token that verifies names a key of the fixed set with an allowed
 * algorithm, and claims of an unverified token are never checked. The
 * keys are fixed so runs are reproducible; their private halves, test
 * keys in tests/data/fuzz-jws-*.pem, signed the seed corpus. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jws.h"
#include "jwt.h"

static const char jwks_text[] =
	"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"CtdtPvJaec_gpvmqhTqamPYjNmRc"
	"111lUlMeqzZt_94\",\"y\":\"ZSDc_90y1E5GBaqwQY2G9hgv1bNEsLmcF2AEoztFgpg\",\""
	"kid\":\"H46nkpzdP8hRalo79I7nhKgr3uAZw5LpTPCAsLjzeZU\",\"alg\":\"ES256\",\"us"
	"e\":\"sig\"},{\"kty\":\"RSA\",\"n\":\"7aV8UkJn3T-A4P7kBgXUqIQqgSo4X1bR-JaJzXN0"
	"_eHBmuaOd4So1eO0F0qs52wThI24jtKAhO_wk14Mx91ppTvxwyka5NJnlPjiv2cKkGgE"
	"Eko-NZtXtKqQfP4J_idAqDSBiecDrei5oVzDDbeXs_J-a-mGwvDEpm3Gi8OOPE5nvsof"
	"NV8ItvBe4-DLVyAdM8hpDlj9tFBgwXwJIKvfGk6Ykaslyzz-COZfStrrAKp_hQj2pm9H"
	"PMlY3WW-HMfD15xHJN4M3gHzS1AEXZJ4YZVjKnfWCh_ZtkD0AHyQbXRCdsoEXh3_A6Sk"
	"xciKyP4SCTRZ3ZsK9OXUHLzyxPOWDw\",\"e\":\"AQAB\",\"kid\":\"qEWbnXoUjKnOglWbG3"
	"88_uruu6mJk-pB0dDDlxyoD3c\",\"alg\":\"RS256\",\"use\":\"sig\"}]}";

static fz_keyset *keys;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	json_t *jwks = json_loads(jwks_text, 0, NULL);

	(void)argc;
	(void)argv;
	if (jwks == NULL || fz_keyset_from_jwks(jwks, &keys, NULL) != FZ_OK ||
	    fz_keyset_count(keys) != 2)
		abort();
	json_decref(jwks);
	return 0;
}

static void check_claims(const fz_jws *jws, bool verified)
{
	static const char *const required[] = {"sub", "scope", NULL};
	fz_jwt_expect x;
	fz_digest_str jkt;
	fz_code rc;

	fz_jwt_expect_defaults(&x);
	x.typ = FZ_TYP_AT_JWT;
	x.iss = "https://as.example.com";
	x.aud = "https://mbx.example.net";
	x.max_age = 3600;
	x.required = required;
	rc = fz_jwt_check(jws, &x, 1700000100, NULL);
	if (!verified && rc != FZ_EINTERNAL)
		abort();
	fz_jwt_cnf_jkt(fz_jws_payload(jws), &jkt, NULL);
}

static void verified_path(const char *s, size_t n)
{
	fz_jws *jws = NULL;
	fz_alg alg;

	if (fz_jws_verify(s, n, FZ_JWS_MAX_BYTES, FZ_ALGS_ALL, keys, &jws, NULL) != FZ_OK)
		return;
	if (!fz_jws_is_verified(jws) || fz_keyset_find(keys, fz_jws_kid(jws)) == NULL ||
	    fz_alg_parse(fz_jws_alg_name(jws), &alg, NULL) != FZ_OK)
		abort();
	check_claims(jws, true);
	fz_jws_free(jws);
}

static void unverified_path(const char *s, size_t n)
{
	const json_t *jwk;
	fz_jws *jws = NULL;
	fz_key *key = NULL;

	if (fz_jws_parse_unverified(s, n, FZ_JWS_MAX_BYTES, &jws, NULL) != FZ_OK)
		return;
	if (fz_jws_is_verified(jws))
		abort();
	check_claims(jws, false);
	/* an embedded key, as DPoP reads it, must never come back private */
	jwk = json_object_get(fz_jws_header(jws), "jwk");
	if (jwk != NULL && fz_key_from_jwk(jwk, &key, NULL) == FZ_OK) {
		if (fz_key_is_private(key) || fz_jwk_has_private(jwk))
			abort();
		fz_jws_verify_key(jws, key, FZ_ALGS_ALL, NULL);
		fz_key_free(key);
	}
	fz_jws_free(jws);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	verified_path((const char *)data, size);
	unverified_path((const char *)data, size);
	return 0;
}
