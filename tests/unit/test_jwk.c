/* Keys: generation, PEM, public JWK in and out (never a private member),
 * RFC 7638 thumbprints, JWKS sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "jwk.h"
#include "jwk_cache.h"

/* RFC 7638 §3.1: the RSA key of RFC 7517 Appendix A.1 and its thumbprint. */
#define RFC7638_N                                                            \
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7" \
	"aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBX" \
	"Arwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9" \
	"c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM" \
	"4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7638_JWK                                                       \
	"{\"kty\":\"RSA\",\"n\":\"" RFC7638_N "\",\"e\":\"AQAB\",\"alg\":\"RS256\"," \
	"\"kid\":\"2011-04-29\"}"
#define RFC7638_TP "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"

/* RFC 9449 §4.1: the example proof's P-256 key; its thumbprint is the
 * cnf.jkt of the RFC's examples (§6.1). */
#define RFC9449_X "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs"
#define RFC9449_Y "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"
#define RFC9449_JWK \
	"{\"kty\":\"EC\",\"x\":\"" RFC9449_X "\",\"y\":\"" RFC9449_Y "\",\"crv\":\"P-256\"}"
#define RFC9449_TP "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"

static json_t *J(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static fz_key *gen(fz_alg alg)
{
	fz_key *k = NULL;

	assert_int_equal(fz_key_generate(alg, 0, &k, NULL), FZ_OK);
	return k;
}

static void expect_jwk_fails(const char *text, fz_code code, const char *why)
{
	json_t *j = J(text);
	fz_key *k = NULL;
	fz_err err = {0};

	assert_int_equal(fz_key_from_jwk(j, &k, &err), code);
	assert_null(k);
	assert_non_null(strstr(err.msg, why));
	json_decref(j);
}

static void assert_public_only(const json_t *jwk)
{
	static const char *const priv[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	size_t i;

	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		assert_null(json_object_get(jwk, priv[i]));
	assert_false(fz_jwk_has_private(jwk));
}

/* --- generation and export ------------------------------------------------- */

static void test_generate_es256(void **state)
{
	fz_key *k = gen(FZ_ALG_ES256);
	json_t *jwk = NULL;

	(void)state;
	assert_int_equal(fz_key_alg(k), FZ_ALG_ES256);
	assert_true(fz_key_is_private(k));
	assert_int_equal(fz_key_bits(k), 256);
	assert_string_equal(fz_key_kid(k), fz_key_thumbprint(k)->s);
	assert_int_equal(fz_key_to_jwk(k, &jwk, NULL), FZ_OK);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")), "P-256");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "ES256");
	assert_string_equal(json_string_value(json_object_get(jwk, "use")), "sig");
	assert_string_equal(json_string_value(json_object_get(jwk, "kid")), fz_key_kid(k));
	assert_int_equal(json_string_length(json_object_get(jwk, "x")), 43);
	assert_int_equal(json_string_length(json_object_get(jwk, "y")), 43);
	assert_public_only(jwk);
	json_decref(jwk);
	fz_key_free(k);
}

static void test_generate_rs256(void **state)
{
	fz_key *k = gen(FZ_ALG_RS256);
	json_t *jwk = NULL;

	(void)state;
	assert_int_equal(fz_key_alg(k), FZ_ALG_RS256);
	assert_int_equal(fz_key_bits(k), FZ_RSA_DEFAULT_BITS);
	assert_int_equal(fz_key_to_jwk(k, &jwk, NULL), FZ_OK);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
	assert_string_equal(json_string_value(json_object_get(jwk, "alg")), "RS256");
	assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
	/* 256 bytes of modulus */
	assert_int_equal(json_string_length(json_object_get(jwk, "n")), 342);
	assert_public_only(jwk);
	json_decref(jwk);
	fz_key_free(k);
}

static void test_generate_rsa_sizes(void **state)
{
	fz_key *k = NULL;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_key_generate(FZ_ALG_RS256, 3072, &k, NULL), FZ_OK);
	assert_int_equal(fz_key_bits(k), 3072);
	fz_key_free(k);
	k = NULL;
	assert_int_equal(fz_key_generate(FZ_ALG_RS256, 1024, &k, &err), FZ_EKEY);
	assert_null(k);
	assert_non_null(strstr(err.msg, "RSA size 1024"));
}

static void test_bare_jwk_has_required_members_only(void **state)
{
	fz_key *k = gen(FZ_ALG_ES256);
	json_t *jwk = NULL;

	(void)state;
	assert_int_equal(fz_key_to_jwk_bare(k, &jwk, NULL), FZ_OK);
	assert_int_equal(json_object_size(jwk), 4);
	assert_null(json_object_get(jwk, "kid"));
	json_decref(jwk);
	fz_key_free(k);
}

/* --- PEM ------------------------------------------------------------------- */

static void pem_roundtrip(fz_alg alg)
{
	fz_key *k = gen(alg), *back = NULL;
	char *pem = NULL;
	size_t len = 0;

	assert_int_equal(fz_key_to_pem(k, &pem, &len, NULL), FZ_OK);
	assert_int_equal(strlen(pem), len);
	/* PKCS#8, whatever the key type */
	assert_memory_equal(pem, "-----BEGIN PRIVATE KEY-----", 27);
	assert_int_equal(fz_key_from_pem(pem, len, &back, NULL), FZ_OK);
	assert_true(fz_key_is_private(back));
	assert_int_equal(fz_key_alg(back), alg);
	assert_string_equal(fz_key_thumbprint(back)->s, fz_key_thumbprint(k)->s);
	assert_string_equal(fz_key_kid(back), fz_key_kid(k));
	fz_secret_free(pem, len);
	fz_key_free(back);
	fz_key_free(k);
}

static void test_pem_roundtrip_es256(void **state)
{
	(void)state;
	pem_roundtrip(FZ_ALG_ES256);
}

static void test_pem_roundtrip_rs256(void **state)
{
	(void)state;
	pem_roundtrip(FZ_ALG_RS256);
}

static void test_pem_garbage(void **state)
{
	static const char junk[] = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
	fz_key *k = NULL;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_key_from_pem(junk, strlen(junk), &k, &err), FZ_EKEY);
	assert_null(k);
	assert_non_null(strstr(err.msg, "unencrypted private key"));
}

static void test_pem_encrypted_refused(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	fz_key *k = NULL;
	fz_err err = {0};
	char *data;
	long n;

	(void)state;
	assert_non_null(pkey);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pkey, EVP_aes_256_cbc(),
						       "secret", 6, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	/* must refuse, and never prompt for a passphrase */
	assert_int_equal(fz_key_from_pem(data, (size_t)n, &k, &err), FZ_EKEY);
	assert_null(k);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
}

static void test_pem_wrong_curve(void **state)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	BIO *bio = BIO_new(BIO_s_mem());
	fz_key *k = NULL;
	fz_err err = {0};
	char *data;
	long n;

	(void)state;
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(bio, &data);
	assert_int_equal(fz_key_from_pem(data, (size_t)n, &k, &err), FZ_EKEY);
	assert_non_null(strstr(err.msg, "P-256"));
	BIO_free(bio);
	EVP_PKEY_free(pkey);
}

static void test_public_key_has_no_pem(void **state)
{
	json_t *j = J(RFC9449_JWK);
	fz_key *k = NULL;
	char *pem = NULL;
	size_t len = 0;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_key_from_jwk(j, &k, NULL), FZ_OK);
	assert_false(fz_key_is_private(k));
	assert_int_equal(fz_key_to_pem(k, &pem, &len, &err), FZ_EKEY);
	assert_null(pem);
	fz_key_free(k);
	json_decref(j);
}

/* --- JWK import ------------------------------------------------------------- */

static void test_jwk_roundtrip(void **state)
{
	fz_alg algs[] = {FZ_ALG_ES256, FZ_ALG_RS256};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		fz_key *k = gen(algs[i]), *pub = NULL;
		json_t *jwk = NULL;
		assert_int_equal(fz_key_to_jwk(k, &jwk, NULL), FZ_OK);
		assert_int_equal(fz_key_from_jwk(jwk, &pub, NULL), FZ_OK);
		assert_false(fz_key_is_private(pub));
		assert_int_equal(fz_key_alg(pub), algs[i]);
		assert_string_equal(fz_key_thumbprint(pub)->s, fz_key_thumbprint(k)->s);
		assert_string_equal(fz_key_kid(pub), fz_key_kid(k));
		json_decref(jwk);
		fz_key_free(pub);
		fz_key_free(k);
	}
}

static void test_rfc7638_rsa_thumbprint(void **state)
{
	json_t *j = J(RFC7638_JWK);
	fz_digest_str tp;
	fz_key *k = NULL;

	(void)state;
	assert_int_equal(fz_jwk_thumbprint(j, &tp, NULL), FZ_OK);
	assert_string_equal(tp.s, RFC7638_TP);
	assert_int_equal(fz_key_from_jwk(j, &k, NULL), FZ_OK);
	assert_string_equal(fz_key_thumbprint(k)->s, RFC7638_TP);
	assert_string_equal(fz_key_kid(k), "2011-04-29"); /* given kid kept */
	assert_int_equal(fz_key_bits(k), 2048);
	fz_key_free(k);
	json_decref(j);
}

static void test_rfc9449_ec_thumbprint(void **state)
{
	json_t *j = J(RFC9449_JWK);
	fz_digest_str tp;
	fz_key *k = NULL;

	(void)state;
	assert_int_equal(fz_jwk_thumbprint(j, &tp, NULL), FZ_OK);
	assert_string_equal(tp.s, RFC9449_TP);
	assert_int_equal(fz_key_from_jwk(j, &k, NULL), FZ_OK);
	assert_string_equal(fz_key_kid(k), RFC9449_TP); /* no kid: thumbprint */
	fz_key_free(k);
	json_decref(j);
}

static void test_thumbprint_ignores_optional_members(void **state)
{
	json_t *j = J("{\"kty\":\"EC\",\"x\":\"" RFC9449_X "\",\"y\":\"" RFC9449_Y "\","
		      "\"crv\":\"P-256\",\"kid\":\"k1\",\"use\":\"sig\",\"alg\":\"ES256\"}");
	fz_digest_str tp;

	(void)state;
	assert_int_equal(fz_jwk_thumbprint(j, &tp, NULL), FZ_OK);
	assert_string_equal(tp.s, RFC9449_TP);
	json_decref(j);
}

static void test_jwk_private_members_refused(void **state)
{
	static const char *const members[] = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	char text[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++) {
		snprintf(text, sizeof(text),
			 "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC9449_X "\",\"y\":\""
			 RFC9449_Y "\",\"%s\":\"AAAA\"}", members[i]);
		expect_jwk_fails(text, FZ_EKEY, FZ_JWK_PRIVATE_MSG);
	}
}

static void test_jwk_private_export_of_generated_key_refused(void **state)
{
	/* A whole private JWK, as another library would write it. */
	fz_key *k = gen(FZ_ALG_ES256);
	json_t *jwk = NULL;
	fz_key *back = NULL;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_key_to_jwk(k, &jwk, NULL), FZ_OK);
	json_object_set_new(jwk, "d", json_string("870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"));
	assert_int_equal(fz_key_from_jwk(jwk, &back, &err), FZ_EKEY);
	assert_non_null(strstr(err.msg, FZ_JWK_PRIVATE_MSG " (member \"d\")"));
	json_decref(jwk);
	fz_key_free(k);
}

static void test_jwk_oct_refused(void **state)
{
	(void)state;
	expect_jwk_fails("{\"kty\":\"oct\",\"k\":\"AAAA\"}", FZ_EKEY, FZ_JWK_PRIVATE_MSG);
	expect_jwk_fails("{\"kty\":\"oct\"}", FZ_EKEY, "oct");
}

static void test_jwk_unsupported(void **state)
{
	(void)state;
	expect_jwk_fails("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}", FZ_EKEY,
			 "kty OKP is not supported");
	expect_jwk_fails("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AAAA\",\"y\":\"AAAA\"}",
			 FZ_EKEY, "curve P-384");
	expect_jwk_fails("{\"crv\":\"P-256\"}", FZ_EKEY, "no kty");
	expect_jwk_fails("[1]", FZ_EKEY, "not a JSON object");
}

static void test_jwk_ec_bad_points(void **state)
{
	(void)state;
	/* (1,2) is not on P-256 */
	expect_jwk_fails("{\"kty\":\"EC\",\"crv\":\"P-256\","
			 "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\","
			 "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAI\"}",
			 FZ_EKEY, "not a valid P-256");
	/* 31-byte x: coordinates must be full length */
	expect_jwk_fails("{\"kty\":\"EC\",\"crv\":\"P-256\","
			 "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
			 "\"y\":\"" RFC9449_Y "\"}", FZ_EKEY, "32 bytes");
	expect_jwk_fails("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC9449_X "\"}",
			 FZ_EKEY, "member y");
	expect_jwk_fails("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC9449_X "=\","
			 "\"y\":\"" RFC9449_Y "\"}", FZ_ESYNTAX, "member x");
}

static void test_jwk_rsa_small_and_padded(void **state)
{
	char text[1024];
	/* the first 171 characters are 128 bytes: a 1024-bit modulus */
	char n1024[172];

	(void)state;
	memcpy(n1024, RFC7638_N, 171);
	n1024[171] = '\0';
	n1024[170] = 'E'; /* an odd last byte, no stray bits */
	snprintf(text, sizeof(text), "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"%s\"}", n1024);
	expect_jwk_fails(text, FZ_EKEY, "bits");
	/* a leading zero byte is not base64urlUInt */
	expect_jwk_fails("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"AAAA" RFC7638_N "\"}",
			 FZ_EKEY, "leading zero");
	expect_jwk_fails("{\"kty\":\"RSA\",\"e\":\"AAEAAQ\",\"n\":\"" RFC7638_N "\"}",
			 FZ_EKEY, "leading zero");
	expect_jwk_fails("{\"kty\":\"RSA\",\"e\":\"Ag\",\"n\":\"" RFC7638_N "\"}", FZ_EKEY,
			 "not an RSA public key");
}

static void test_jwk_use_and_alg_must_fit(void **state)
{
	(void)state;
	expect_jwk_fails("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC9449_X "\",\"y\":\""
			 RFC9449_Y "\",\"use\":\"enc\"}", FZ_EKEY, "use is not sig");
	expect_jwk_fails("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC9449_X "\",\"y\":\""
			 RFC9449_Y "\",\"alg\":\"RS256\"}", FZ_EKEY, "alg RS256 does not fit");
	expect_jwk_fails("{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"" RFC7638_N "\","
			 "\"alg\":\"HS256\"}", FZ_EKEY, "alg HS256 does not fit");
	expect_jwk_fails("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC9449_X "\",\"y\":\""
			 RFC9449_Y "\",\"kid\":7}", FZ_EKEY, "kid is not a string");
}

static void test_set_kid(void **state)
{
	fz_key *k = gen(FZ_ALG_ES256);
	char longkid[FZ_KID_MAX + 2];
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_key_set_kid(k, "2024-rotation-1", NULL), FZ_OK);
	assert_string_equal(fz_key_kid(k), "2024-rotation-1");
	assert_int_equal(fz_key_set_kid(k, "", &err), FZ_EKEY);
	assert_int_equal(fz_key_set_kid(k, "a\nb", &err), FZ_EKEY);
	memset(longkid, 'a', sizeof(longkid) - 1);
	longkid[sizeof(longkid) - 1] = '\0';
	assert_int_equal(fz_key_set_kid(k, longkid, &err), FZ_EKEY);
	assert_string_equal(fz_key_kid(k), "2024-rotation-1");
	fz_key_free(k);
}

/* --- key sets --------------------------------------------------------------- */

static void test_jwks_roundtrip(void **state)
{
	fz_keyset *set = fz_keyset_new(), *back = NULL;
	fz_key *es = gen(FZ_ALG_ES256), *rs = gen(FZ_ALG_RS256);
	char es_kid[FZ_KID_MAX + 1], rs_kid[FZ_KID_MAX + 1];
	json_t *jwks = NULL, *keys;
	size_t i;

	(void)state;
	snprintf(es_kid, sizeof(es_kid), "%s", fz_key_kid(es));
	snprintf(rs_kid, sizeof(rs_kid), "%s", fz_key_kid(rs));
	assert_int_equal(fz_keyset_add(set, es, NULL), FZ_OK);
	assert_int_equal(fz_keyset_add(set, rs, NULL), FZ_OK);
	assert_int_equal(fz_keyset_to_jwks(set, &jwks, NULL), FZ_OK);
	keys = json_object_get(jwks, "keys");
	assert_int_equal(json_array_size(keys), 2);
	for (i = 0; i < 2; i++)
		assert_public_only(json_array_get(keys, i));
	assert_int_equal(fz_keyset_from_jwks(jwks, &back, NULL), FZ_OK);
	assert_int_equal(fz_keyset_count(back), 2);
	assert_non_null(fz_keyset_find(back, es_kid));
	assert_non_null(fz_keyset_find(back, rs_kid));
	assert_int_equal(fz_key_alg(fz_keyset_find(back, rs_kid)), FZ_ALG_RS256);
	assert_false(fz_key_is_private(fz_keyset_at(back, 0)));
	assert_null(fz_keyset_find(back, "nope"));
	assert_null(fz_keyset_at(back, 2));
	json_decref(jwks);
	fz_keyset_free(back);
	fz_keyset_free(set);
}

static void test_keyset_duplicate_kid(void **state)
{
	fz_keyset *set = fz_keyset_new();
	fz_key *a = gen(FZ_ALG_ES256), *b = gen(FZ_ALG_ES256);
	fz_err err = {0};

	(void)state;
	fz_key_set_kid(a, "same", NULL);
	fz_key_set_kid(b, "same", NULL);
	assert_int_equal(fz_keyset_add(set, a, NULL), FZ_OK);
	assert_int_equal(fz_keyset_add(set, b, &err), FZ_ECONFLICT); /* b freed */
	assert_int_equal(fz_keyset_count(set), 1);
	fz_keyset_free(set);
}

static void test_jwks_skips_foreign_keys(void **state)
{
	json_t *j = J("{\"keys\":["
		      "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"},"
		      "{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AAAA\",\"y\":\"AAAA\"},"
		      "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC9449_X "\",\"y\":\"" RFC9449_Y
		      "\",\"use\":\"enc\",\"kid\":\"enc\"},"
		      "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"" RFC7638_N "\",\"alg\":\"PS256\"},"
		      RFC7638_JWK "]}");
	fz_keyset *set = NULL;

	(void)state;
	assert_int_equal(fz_keyset_from_jwks(j, &set, NULL), FZ_OK);
	assert_int_equal(fz_keyset_count(set), 1);
	assert_non_null(fz_keyset_find(set, "2011-04-29"));
	fz_keyset_free(set);
	json_decref(j);
}

static void expect_jwks_fails(const char *text, fz_code code, const char *why)
{
	json_t *j = J(text);
	fz_keyset *set = NULL;
	fz_err err = {0};

	assert_int_equal(fz_keyset_from_jwks(j, &set, &err), code);
	assert_null(set);
	assert_non_null(strstr(err.msg, why));
	json_decref(j);
}

static void test_jwks_refusals(void **state)
{
	char big[64 + (FZ_JWKS_MAX_KEYS + 1) * 4];
	size_t i, o;

	(void)state;
	expect_jwks_fails("{\"keys\":[" RFC7638_JWK ",{\"kty\":\"oct\",\"k\":\"AAAA\"}]}",
			  FZ_EKEY, FZ_JWK_PRIVATE_MSG);
	expect_jwks_fails("{\"keys\":[{\"kty\":\"oct\"}]}", FZ_EKEY, "oct");
	expect_jwks_fails("{\"keys\":[" RFC7638_JWK "," RFC7638_JWK "]}", FZ_EKEY,
			  "share a kid");
	expect_jwks_fails("{\"keys\":{}}", FZ_ESTRUCT, "no keys array");
	expect_jwks_fails("{}", FZ_ESTRUCT, "no keys array");
	o = (size_t)snprintf(big, sizeof(big), "{\"keys\":[{}");
	for (i = 0; i < FZ_JWKS_MAX_KEYS; i++)
		o += (size_t)snprintf(big + o, sizeof(big) - o, ",{}");
	snprintf(big + o, sizeof(big) - o, "]}");
	expect_jwks_fails(big, FZ_ELIMIT, "limit");
}

/* --- the cache of imported keys -------------------------------------------- */

static fz_jwk_cache_stats cache_stats(void)
{
	fz_jwk_cache_stats s;

	fz_jwk_cache_get_stats(&s);
	return s;
}

static const fz_key *cache_get(const char *text, fz_jwk_ref **ref)
{
	json_t *j = J(text);

	assert_int_equal(fz_jwk_cache_get(j, ref, NULL), FZ_OK);
	json_decref(j);
	return fz_jwk_ref_key(*ref);
}

/* One JWK, members in another order: one entry, one import. */
static void test_cache_finds_same_jwk(void **state)
{
	fz_jwk_ref *a = NULL, *b = NULL;
	fz_jwk_cache_stats before;

	(void)state;
	fz_jwk_cache_clear();
	before = cache_stats();
	cache_get(RFC9449_JWK, &a);
	cache_get("{\"crv\":\"P-256\",\"y\":\"" RFC9449_Y "\",\"kty\":\"EC\",\"x\":\"" RFC9449_X
		  "\"}", &b);
	assert_ptr_equal(fz_jwk_ref_key(a), fz_jwk_ref_key(b));
	assert_string_equal(fz_key_thumbprint(fz_jwk_ref_key(a))->s, RFC9449_TP);
	assert_int_equal(cache_stats().misses, before.misses + 1);
	assert_int_equal(cache_stats().hits, before.hits + 1);
	fz_jwk_ref_release(a);
	fz_jwk_ref_release(b);
}

/* A kid, an alg, or a changed coordinate is another entry with its own
 * import, so the key keeps the kid its JWK gave it. */
static void test_cache_any_member_differs(void **state)
{
	fz_jwk_ref *a = NULL, *b = NULL, *c = NULL, *none = NULL;
	const fz_key *ka, *kb;
	fz_err err = {0};
	json_t *bad;

	(void)state;
	fz_jwk_cache_clear();
	ka = cache_get(RFC9449_JWK, &a);
	kb = cache_get("{\"kty\":\"EC\",\"x\":\"" RFC9449_X "\",\"y\":\"" RFC9449_Y
		       "\",\"crv\":\"P-256\",\"kid\":\"mine\"}", &b);
	assert_ptr_not_equal(ka, kb);
	assert_string_equal(fz_key_kid(ka), RFC9449_TP);
	assert_string_equal(fz_key_kid(kb), "mine");
	cache_get(RFC7638_JWK, &c);
	assert_int_equal(cache_stats().keys, 3);
	/* refused, and not cached: refused again */
	bad = J("{\"kty\":\"EC\",\"x\":\"" RFC9449_X "\",\"y\":\"" RFC9449_Y
		"\",\"crv\":\"P-256\",\"alg\":\"RS256\"}");
	assert_int_equal(fz_jwk_cache_get(bad, &none, &err), FZ_EKEY);
	assert_int_equal(fz_jwk_cache_get(bad, &none, &err), FZ_EKEY);
	assert_int_equal(cache_stats().keys, 3);
	json_decref(bad);
	bad = J("{\"kty\":\"EC\",\"x\":\"" RFC9449_Y "\",\"y\":\"" RFC9449_Y "\",\"crv\":\"P-256\"}");
	assert_int_equal(fz_jwk_cache_get(bad, &none, &err), FZ_EKEY);
	json_decref(bad);
	bad = json_string("EC");
	assert_int_equal(fz_jwk_cache_get(bad, &none, &err), FZ_EKEY);
	json_decref(bad);
	assert_null(none);
	fz_jwk_ref_release(a);
	fz_jwk_ref_release(b);
	fz_jwk_ref_release(c);
}

/* A key held across clear and eviction stays whole until released. */
static void test_cache_ref_outlives_entry(void **state)
{
	char text[FZ_JWK_CACHE_TEXT_MAX];
	fz_jwk_ref *held = NULL, *r = NULL;
	fz_key *k = NULL;
	json_t *j = NULL;
	size_t i;

	(void)state;
	fz_jwk_cache_clear();
	cache_get(RFC9449_JWK, &held);
	fz_jwk_cache_clear();
	assert_string_equal(fz_key_thumbprint(fz_jwk_ref_key(held))->s, RFC9449_TP);
	fz_jwk_ref_release(held);
	/* held while the keys after it push it out */
	cache_get(RFC9449_JWK, &held);
	for (i = 0; i < FZ_JWK_CACHE_KEYS + 1; i++) {
		assert_int_equal(fz_key_generate(FZ_ALG_ES256, 0, &k, NULL), FZ_OK);
		assert_int_equal(fz_key_to_jwk_bare(k, &j, NULL), FZ_OK);
		assert_int_equal(fz_jwk_cache_get(j, &r, NULL), FZ_OK);
		assert_string_equal(fz_key_thumbprint(fz_jwk_ref_key(r))->s,
				    fz_key_thumbprint(k)->s);
		fz_jwk_ref_release(r);
		json_decref(j);
		fz_key_free(k);
	}
	assert_int_equal(cache_stats().keys, FZ_JWK_CACHE_KEYS);
	assert_true(cache_stats().evictions >= 2);
	assert_string_equal(fz_key_thumbprint(fz_jwk_ref_key(held))->s, RFC9449_TP);
	assert_string_equal(fz_key_kid(fz_jwk_ref_key(held)), RFC9449_TP);
	fz_jwk_ref_release(held);
	/* a text too long to keep is imported every time, never cached */
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	j = J(RFC9449_JWK);
	json_object_set_new(j, "x5u", json_string(text));
	fz_jwk_cache_clear();
	assert_int_equal(fz_jwk_cache_get(j, &held, NULL), FZ_OK);
	assert_int_equal(fz_jwk_cache_get(j, &r, NULL), FZ_OK);
	assert_ptr_not_equal(fz_jwk_ref_key(held), fz_jwk_ref_key(r));
	assert_string_equal(fz_key_thumbprint(fz_jwk_ref_key(r))->s, RFC9449_TP);
	assert_int_equal(cache_stats().keys, 0);
	fz_jwk_ref_release(held);
	fz_jwk_ref_release(r);
	fz_jwk_ref_release(NULL);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_es256),
		cmocka_unit_test(test_generate_rs256),
		cmocka_unit_test(test_generate_rsa_sizes),
		cmocka_unit_test(test_bare_jwk_has_required_members_only),
		cmocka_unit_test(test_pem_roundtrip_es256),
		cmocka_unit_test(test_pem_roundtrip_rs256),
		cmocka_unit_test(test_pem_garbage),
		cmocka_unit_test(test_pem_encrypted_refused),
		cmocka_unit_test(test_pem_wrong_curve),
		cmocka_unit_test(test_public_key_has_no_pem),
		cmocka_unit_test(test_jwk_roundtrip),
		cmocka_unit_test(test_rfc7638_rsa_thumbprint),
		cmocka_unit_test(test_rfc9449_ec_thumbprint),
		cmocka_unit_test(test_thumbprint_ignores_optional_members),
		cmocka_unit_test(test_jwk_private_members_refused),
		cmocka_unit_test(test_jwk_private_export_of_generated_key_refused),
		cmocka_unit_test(test_jwk_oct_refused),
		cmocka_unit_test(test_jwk_unsupported),
		cmocka_unit_test(test_jwk_ec_bad_points),
		cmocka_unit_test(test_jwk_rsa_small_and_padded),
		cmocka_unit_test(test_jwk_use_and_alg_must_fit),
		cmocka_unit_test(test_set_kid),
		cmocka_unit_test(test_jwks_roundtrip),
		cmocka_unit_test(test_keyset_duplicate_kid),
		cmocka_unit_test(test_jwks_skips_foreign_keys),
		cmocka_unit_test(test_jwks_refusals),
		cmocka_unit_test(test_cache_finds_same_jwk),
		cmocka_unit_test(test_cache_any_member_differs),
		cmocka_unit_test(test_cache_ref_outlives_entry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
