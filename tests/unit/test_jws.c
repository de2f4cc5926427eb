/* Compact JWS: sign and verify, the algorithm allow-list, key selection
 * by kid, the raw r||s form of ES256 (checked against OpenSSL directly),
 * and every malformed shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "jws.h"

struct fixture {
	fz_keyset *set;
	const fz_key *es, *rs; /* owned by set */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	fz_key *es = NULL, *rs = NULL;

	f->set = fz_keyset_new();
	if (fz_key_generate(FZ_ALG_ES256, 0, &es, NULL) ||
	    fz_key_generate(FZ_ALG_RS256, 0, &rs, NULL))
		return -1;
	f->es = es;
	f->rs = rs;
	fz_keyset_add(f->set, es, NULL);
	fz_keyset_add(f->set, rs, NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fz_keyset_free(f->set);
	free(f);
	return 0;
}

static json_t *J(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static char *sign(const fz_key *k, const char *typ, const char *payload)
{
	json_t *p = J(payload);
	char *out = NULL;

	assert_int_equal(fz_jws_sign(k, typ, NULL, p, &out, NULL), FZ_OK);
	json_decref(p);
	return out;
}

/* header.payload.sig from JSON texts and raw signature bytes. */
static char *build(const char *header, const char *payload, const uint8_t *sig,
		   size_t siglen)
{
	char *h = fz_b64url_encode_alloc(header, strlen(header));
	char *p = fz_b64url_encode_alloc(payload, strlen(payload));
	char *s = fz_b64url_encode_alloc(sig, siglen);
	size_t cap = strlen(h) + strlen(p) + strlen(s) + 3;
	char *out = malloc(cap);

	snprintf(out, cap, "%s.%s.%s", h, p, s);
	free(h);
	free(p);
	free(s);
	return out;
}

static void expect_fail(struct fixture *f, const char *compact, fz_code code,
			const char *why)
{
	fz_jws *jws = NULL;
	fz_err err = {0};

	assert_int_equal(fz_jws_verify(compact, strlen(compact), FZ_JWS_MAX_BYTES,
				       FZ_ALGS_ALL, f->set, &jws, &err), code);
	assert_null(jws);
	if (strstr(err.msg, why) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
}

static char *flip(const char *compact, size_t pos)
{
	char *c = strdup(compact);

	/* swap between two letters that keep the encoding valid */
	c[pos] = c[pos] == 'A' ? 'B' : 'A';
	return c;
}

/* --- the good path ---------------------------------------------------------- */

static void roundtrip(struct fixture *f, const fz_key *k)
{
	char *t = sign(k, "at+jwt", "{\"sub\":\"alice@example.com\",\"n\":1}");
	fz_jws *jws = NULL;

	assert_int_equal(fz_jws_verify(t, strlen(t), FZ_JWS_MAX_BYTES, FZ_ALGS_ALL,
				       f->set, &jws, NULL), FZ_OK);
	assert_true(fz_jws_is_verified(jws));
	assert_string_equal(fz_jws_kid(jws), fz_key_kid(k));
	assert_string_equal(fz_jws_typ(jws), "at+jwt");
	assert_string_equal(fz_jws_alg_name(jws), fz_alg_name(fz_key_alg(k)));
	assert_string_equal(json_string_value(json_object_get(fz_jws_payload(jws), "sub")),
			    "alice@example.com");
	assert_int_equal(json_object_size(fz_jws_header(jws)), 3);
	fz_jws_free(jws);
	free(t);
}

static void test_sign_verify_es256(void **state)
{
	struct fixture *f = *state;

	roundtrip(f, f->es);
}

static void test_sign_verify_rs256(void **state)
{
	struct fixture *f = *state;

	roundtrip(f, f->rs);
}

static void test_parse_unverified(void **state)
{
	struct fixture *f = *state;
	char *t = sign(f->es, NULL, "{\"iss\":\"https://as.example.com\"}");
	fz_jws *jws = NULL;

	assert_int_equal(fz_jws_parse_unverified(t, strlen(t), FZ_JWS_MAX_BYTES, &jws, NULL),
			 FZ_OK);
	assert_false(fz_jws_is_verified(jws));
	assert_null(fz_jws_typ(jws));
	assert_string_equal(json_string_value(json_object_get(fz_jws_payload(jws), "iss")),
			    "https://as.example.com");
	assert_int_equal(fz_jws_verify_key(jws, f->es, FZ_ALGS_ALL, NULL), FZ_OK);
	assert_true(fz_jws_is_verified(jws));
	fz_jws_free(jws);
	free(t);
}

static void test_extra_header_jwk_drops_kid(void **state)
{
	struct fixture *f = *state;
	json_t *jwk = NULL, *extra, *p = J("{}");
	fz_jws *jws = NULL;
	char *t = NULL;

	assert_int_equal(fz_key_to_jwk_bare(f->es, &jwk, NULL), FZ_OK);
	extra = json_pack("{s:o}", "jwk", jwk);
	assert_int_equal(fz_jws_sign(f->es, "dpop+jwt", extra, p, &t, NULL), FZ_OK);
	assert_int_equal(fz_jws_parse_unverified(t, strlen(t), FZ_JWS_MAX_BYTES, &jws, NULL),
			 FZ_OK);
	assert_null(fz_jws_kid(jws));
	assert_true(json_is_object(json_object_get(fz_jws_header(jws), "jwk")));
	fz_jws_free(jws);
	free(t);
	json_decref(extra);
	json_decref(p);
}

static void test_sign_refusals(void **state)
{
	struct fixture *f = *state;
	json_t *p = J("{}"), *bad = J("{\"alg\":\"none\"}"), *jwk = NULL;
	fz_key *pub = NULL;
	fz_err err = {0};
	char *t = NULL;

	assert_int_equal(fz_jws_sign(f->es, NULL, bad, p, &t, &err), FZ_EINTERNAL);
	assert_non_null(strstr(err.msg, "sets alg"));
	fz_key_to_jwk(f->es, &jwk, NULL);
	fz_key_from_jwk(jwk, &pub, NULL);
	assert_int_equal(fz_jws_sign(pub, NULL, NULL, p, &t, &err), FZ_EKEY);
	assert_non_null(strstr(err.msg, "public"));
	assert_null(t);
	fz_key_free(pub);
	json_decref(jwk);
	json_decref(bad);
	json_decref(p);
}

/* --- ES256 is raw r||s, checked against OpenSSL itself -------------------- */

static EVP_PKEY *openssl_key(const fz_key *k)
{
	char *pem = NULL;
	size_t len = 0;
	EVP_PKEY *pkey;
	BIO *bio;

	assert_int_equal(fz_key_to_pem(k, &pem, &len, NULL), FZ_OK);
	bio = BIO_new_mem_buf(pem, (int)len);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	fz_secret_free(pem, len);
	assert_non_null(pkey);
	return pkey;
}

static void test_es256_signature_is_raw_r_s(void **state)
{
	struct fixture *f = *state;
	char *t = sign(f->es, NULL, "{\"a\":1}");
	const char *dot2 = strrchr(t, '.');
	uint8_t raw[80], *der = NULL;
	size_t rawlen = 0;
	EVP_PKEY *pkey = openssl_key(f->es);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *sig = ECDSA_SIG_new();
	int derlen;

	assert_int_equal(fz_b64url_decode(dot2 + 1, strlen(dot2 + 1), raw, sizeof(raw),
					  &rawlen, NULL), FZ_OK);
	assert_int_equal(rawlen, 64);
	ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
	derlen = i2d_ECDSA_SIG(sig, &der);
	assert_true(derlen > 0);
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
	assert_int_equal(EVP_DigestVerify(ctx, der, (size_t)derlen, (const uint8_t *)t,
					  (size_t)(dot2 - t)), 1);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
	free(t);
}

/* An ES256 JWS signed by OpenSSL (DER turned into r||s) verifies, and the
 * DER form itself is refused. */
static void test_es256_from_openssl_verifies(void **state)
{
	struct fixture *f = *state;
	EVP_PKEY *pkey = openssl_key(f->es);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char header[256], *input, *good, *derjws;
	const BIGNUM *r, *s;
	uint8_t der[80], raw[64];
	const uint8_t *p = der;
	size_t derlen = sizeof(der), cap;
	ECDSA_SIG *sig;
	char *hb, *pb;
	fz_jws *jws = NULL;

	snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", fz_key_kid(f->es));
	hb = fz_b64url_encode_alloc(header, strlen(header));
	pb = fz_b64url_encode_alloc("{\"x\":true}", 10);
	cap = strlen(hb) + strlen(pb) + 2;
	input = malloc(cap);
	snprintf(input, cap, "%s.%s", hb, pb);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, der, &derlen, (uint8_t *)input, strlen(input)), 1);
	sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	ECDSA_SIG_get0(sig, &r, &s);
	BN_bn2binpad(r, raw, 32);
	BN_bn2binpad(s, raw + 32, 32);
	good = build(header, "{\"x\":true}", raw, 64);
	assert_int_equal(fz_jws_verify(good, strlen(good), FZ_JWS_MAX_BYTES, FZ_ALGS_ALL,
				       f->set, &jws, NULL), FZ_OK);
	fz_jws_free(jws);
	derjws = build(header, "{\"x\":true}", der, derlen);
	expect_fail(f, derjws, FZ_ESIG, "must be 64 bytes");
	free(derjws);
	free(good);
	ECDSA_SIG_free(sig);
	free(input);
	free(hb);
	free(pb);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(pkey);
}

/* --- algorithms ------------------------------------------------------------- */

static void test_alg_none(void **state)
{
	struct fixture *f = *state;
	char *t = build("{\"alg\":\"none\"}", "{\"sub\":\"x\"}", (const uint8_t *)"", 0);
	char *t2 = build("{\"alg\":\"None\",\"kid\":\"x\"}", "{}", (const uint8_t *)"", 0);

	expect_fail(f, t, FZ_EALG, "alg none");
	expect_fail(f, t2, FZ_EALG, "alg none");
	free(t);
	free(t2);
}

/* The classic confusion: an HMAC keyed with the public key's text. */
static void test_alg_hs256_with_public_key(void **state)
{
	struct fixture *f = *state;
	char header[256], *input, *t, *hb, *pb;
	json_t *jwk = NULL;
	char *jwktext;
	uint8_t mac[32];
	unsigned maclen = 0;
	size_t cap;

	snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"kid\":\"%s\"}", fz_key_kid(f->rs));
	hb = fz_b64url_encode_alloc(header, strlen(header));
	pb = fz_b64url_encode_alloc("{}", 2);
	cap = strlen(hb) + strlen(pb) + 2;
	input = malloc(cap);
	snprintf(input, cap, "%s.%s", hb, pb);
	fz_key_to_jwk(f->rs, &jwk, NULL);
	jwktext = json_dumps(jwk, JSON_COMPACT);
	HMAC(EVP_sha256(), jwktext, (int)strlen(jwktext), (uint8_t *)input, strlen(input),
	     mac, &maclen);
	t = build(header, "{}", mac, maclen);
	expect_fail(f, t, FZ_EALG, "HMAC alg HS256");
	free(t);
	free(jwktext);
	json_decref(jwk);
	free(input);
	free(hb);
	free(pb);
}

static void test_alg_unsupported(void **state)
{
	struct fixture *f = *state;
	char *t = build("{\"alg\":\"PS256\",\"kid\":\"k\"}", "{}", (const uint8_t *)"ab", 2);
	char *t2 = build("{\"kid\":\"k\"}", "{}", (const uint8_t *)"ab", 2);

	expect_fail(f, t, FZ_EALG, "alg PS256 is not supported");
	expect_fail(f, t2, FZ_EALG, "alg is missing");
	free(t);
	free(t2);
}

static void test_alg_not_on_allow_list(void **state)
{
	struct fixture *f = *state;
	char *t = sign(f->es, NULL, "{}");
	fz_jws *jws = NULL;
	fz_err err = {0};

	assert_int_equal(fz_jws_verify(t, strlen(t), FZ_JWS_MAX_BYTES, FZ_ALG_RS256, f->set,
				       &jws, &err), FZ_EALG);
	assert_non_null(strstr(err.msg, "ES256 is not allowed here"));
	free(t);
}

static void test_alg_does_not_fit_key(void **state)
{
	struct fixture *f = *state;
	char header[256], *t;
	uint8_t sig[256] = {1};

	/* RS256 claimed for the EC key's kid */
	snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", fz_key_kid(f->es));
	t = build(header, "{}", sig, sizeof(sig));
	expect_fail(f, t, FZ_EALG, "does not fit key");
	free(t);
}

/* --- keys ------------------------------------------------------------------- */

static void test_unknown_kid(void **state)
{
	struct fixture *f = *state;
	fz_key *other = NULL;
	fz_jws *jws = NULL;
	fz_err err = {0};
	char *t;

	fz_key_generate(FZ_ALG_ES256, 0, &other, NULL);
	t = sign(other, NULL, "{}");
	assert_int_equal(fz_jws_verify(t, strlen(t), FZ_JWS_MAX_BYTES, FZ_ALGS_ALL, f->set,
				       &jws, &err), FZ_EKEY);
	assert_non_null(strstr(err.msg, FZ_JWS_UNKNOWN_KID_MSG));
	assert_true(fz_jws_err_is_unknown_kid(&err));
	fz_key_free(other);
	free(t);
}

static void test_missing_kid(void **state)
{
	struct fixture *f = *state;
	char *t = build("{\"alg\":\"ES256\"}", "{}", (const uint8_t *)"ab", 2);
	fz_jws *jws = NULL;
	fz_err err = {0};

	assert_int_equal(fz_jws_verify(t, strlen(t), FZ_JWS_MAX_BYTES, FZ_ALGS_ALL, f->set,
				       &jws, &err), FZ_EKEY);
	assert_non_null(strstr(err.msg, "no kid"));
	assert_false(fz_jws_err_is_unknown_kid(&err));
	free(t);
}

/* --- signatures ------------------------------------------------------------- */

static void test_flipped_signature_bit(void **state)
{
	struct fixture *f = *state;
	const fz_key *keys[] = {f->es, f->rs};
	size_t i;

	for (i = 0; i < 2; i++) {
		char *t = sign(keys[i], NULL, "{\"a\":1}");
		char *bad = flip(t, strlen(t) - 10);
		expect_fail(f, bad, FZ_ESIG, "signature does not verify");
		free(bad);
		free(t);
	}
}

/* The signed header and signature kept, the payload swapped. */
static void test_changed_payload(void **state)
{
	struct fixture *f = *state;
	char *t = sign(f->es, NULL, "{\"sub\":\"alice@example.com\"}");
	char *evil = fz_b64url_encode_alloc("{\"sub\":\"mallory@example.com\"}", 29);
	char *dot1 = strchr(t, '.'), *dot2 = strrchr(t, '.');
	size_t cap = strlen(t) + strlen(evil) + 1;
	char *bad = malloc(cap);

	snprintf(bad, cap, "%.*s.%s%s", (int)(dot1 - t), t, evil, dot2);
	expect_fail(f, bad, FZ_ESIG, "signature does not verify");
	free(bad);
	free(evil);
	free(t);
}

static void test_signature_wrong_length(void **state)
{
	struct fixture *f = *state;
	char header[256], *t;
	uint8_t sig[255] = {1};

	snprintf(header, sizeof(header), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", fz_key_kid(f->rs));
	t = build(header, "{}", sig, sizeof(sig));
	expect_fail(f, t, FZ_ESIG, "RS256 signature must be 256 bytes");
	free(t);
}

/* --- malformed -------------------------------------------------------------- */

static void test_two_segments(void **state)
{
	struct fixture *f = *state;

	expect_fail(f, "eyJhbGciOiJFUzI1NiJ9.e30", FZ_ESYNTAX, "3 segments, found 2");
}

static void test_four_segments(void **state)
{
	struct fixture *f = *state;

	expect_fail(f, "eyJhbGciOiJFUzI1NiJ9.e30.AAAA.AAAA", FZ_ESYNTAX,
		    "3 segments, found 4");
	expect_fail(f, "a.b.c.d.e", FZ_ESYNTAX, "3 segments, found 5");
}

static void test_bad_base64url(void **state)
{
	struct fixture *f = *state;

	expect_fail(f, "eyJhbGciOiJFUzI1NiJ9=.e30.AAAA", FZ_ESYNTAX, "JWS header");
	expect_fail(f, "eyJhbGciOiJFUzI1NiJ9.e30+.AAAA", FZ_ESYNTAX, "JWS payload");
	expect_fail(f, "eyJhbGciOiJFUzI1NiJ9.e30.AA/A", FZ_ESYNTAX, "JWS signature");
	/* stray bits in the last character */
	expect_fail(f, "eyJhbGciOiJFUzI1NiJ9.e31.AAAA", FZ_ESYNTAX, "JWS payload");
}

static void test_header_not_json(void **state)
{
	struct fixture *f = *state;
	char *t = build("{\"alg\":\"ES256\"", "{}", (const uint8_t *)"ab", 2);
	char *t2 = build("[\"ES256\"]", "{}", (const uint8_t *)"ab", 2);
	char *t3 = build("{\"alg\":\"ES256\"}", "\"x\"", (const uint8_t *)"ab", 2);

	expect_fail(f, t, FZ_ESYNTAX, "JWS header is not JSON");
	expect_fail(f, t2, FZ_ESYNTAX, "JWS header is not a JSON object");
	expect_fail(f, t3, FZ_ESYNTAX, "JWS payload is not JSON");
	free(t);
	free(t2);
	free(t3);
}

static void test_duplicate_header_member(void **state)
{
	struct fixture *f = *state;
	char *t = build("{\"alg\":\"ES256\",\"alg\":\"none\"}", "{}", (const uint8_t *)"ab", 2);

	expect_fail(f, t, FZ_ESYNTAX, "duplicate");
	free(t);
}

static void test_crit_refused(void **state)
{
	struct fixture *f = *state;
	char *t = build("{\"alg\":\"ES256\",\"kid\":\"k\",\"crit\":[\"exp\"],\"exp\":1}", "{}",
			(const uint8_t *)"ab", 2);

	expect_fail(f, t, FZ_ESTRUCT, "crit");
	free(t);
}

static void test_empty_and_too_large(void **state)
{
	struct fixture *f = *state;
	char *t = sign(f->es, NULL, "{}");
	fz_jws *jws = NULL;
	fz_err err = {0};

	expect_fail(f, "", FZ_ESYNTAX, "empty");
	expect_fail(f, "..", FZ_ESYNTAX, "header is empty");
	assert_int_equal(fz_jws_verify(t, strlen(t), strlen(t) - 1, FZ_ALGS_ALL, f->set,
				       &jws, &err), FZ_ELIMIT);
	assert_non_null(strstr(err.msg, "exceeds"));
	free(t);
}

/* --- the allow-list helpers ------------------------------------------------- */

static void test_alg_parse(void **state)
{
	fz_alg a;
	fz_err err = {0};
	fz_jose_config cfg;

	(void)state;
	assert_int_equal(fz_alg_parse("ES256", &a, NULL), FZ_OK);
	assert_int_equal(a, FZ_ALG_ES256);
	assert_int_equal(fz_alg_parse("RS256", &a, NULL), FZ_OK);
	assert_int_equal(a, FZ_ALG_RS256);
	assert_int_equal(fz_alg_parse("es256", &a, &err), FZ_EALG);
	assert_int_equal(fz_alg_parse("NONE", &a, &err), FZ_EALG);
	assert_non_null(strstr(err.msg, "none"));
	assert_int_equal(fz_alg_parse("HS512", &a, &err), FZ_EALG);
	assert_non_null(strstr(err.msg, "HMAC"));
	assert_int_equal(fz_alg_parse("x\ny", &a, &err), FZ_EALG);
	assert_null(strchr(err.msg, '\n')); /* no log injection */
	fz_jose_config_defaults(&cfg);
	assert_int_equal(fz_jose_config_check(&cfg, NULL), FZ_OK);
	assert_int_equal(cfg.dpop_iat_window, FZ_DPOP_IAT_WINDOW);
	cfg.algs = 0;
	assert_int_equal(fz_jose_config_check(&cfg, NULL), FZ_EINTERNAL);
	cfg.algs = FZ_ALGS_ALL | 8;
	assert_int_equal(fz_jose_config_check(&cfg, NULL), FZ_EINTERNAL);
	fz_jose_config_defaults(&cfg);
	cfg.leeway = -1;
	assert_int_equal(fz_jose_config_check(&cfg, NULL), FZ_EINTERNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_verify_es256),
		cmocka_unit_test(test_sign_verify_rs256),
		cmocka_unit_test(test_parse_unverified),
		cmocka_unit_test(test_extra_header_jwk_drops_kid),
		cmocka_unit_test(test_sign_refusals),
		cmocka_unit_test(test_es256_signature_is_raw_r_s),
		cmocka_unit_test(test_es256_from_openssl_verifies),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_alg_hs256_with_public_key),
		cmocka_unit_test(test_alg_unsupported),
		cmocka_unit_test(test_alg_not_on_allow_list),
		cmocka_unit_test(test_alg_does_not_fit_key),
		cmocka_unit_test(test_unknown_kid),
		cmocka_unit_test(test_missing_kid),
		cmocka_unit_test(test_flipped_signature_bit),
		cmocka_unit_test(test_changed_payload),
		cmocka_unit_test(test_signature_wrong_length),
		cmocka_unit_test(test_two_segments),
		cmocka_unit_test(test_four_segments),
		cmocka_unit_test(test_bad_base64url),
		cmocka_unit_test(test_header_not_json),
		cmocka_unit_test(test_duplicate_header_member),
		cmocka_unit_test(test_crit_refused),
		cmocka_unit_test(test_empty_and_too_large),
		cmocka_unit_test(test_alg_parse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
