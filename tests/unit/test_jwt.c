/* JWT claim checks: each expectation passes at its edge and fails one
 * second past it, with a message naming the claim. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

#define NOW 1700000000
#define ISS "https://as.example.com"
#define AUD "https://mbx.example.com"

static fz_keyset *keys;
static fz_key *key; /* owned by keys */

static int setup(void **state)
{
	(void)state;
	keys = fz_keyset_new();
	if (fz_key_generate(FZ_ALG_ES256, 0, &key, NULL) != FZ_OK)
		return -1;
	return fz_keyset_add(keys, key, NULL) == FZ_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	fz_keyset_free(keys);
	return 0;
}

/* A verified token with these claims (printf-style) and header typ. */
static fz_jws *token(const char *typ, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static fz_jws *token(const char *typ, const char *fmt, ...)
{
	char text[1024];
	json_t *claims;
	fz_jws *jws = NULL;
	char *t = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	claims = json_loads(text, 0, NULL);
	assert_non_null(claims);
	assert_int_equal(fz_jws_sign(key, typ, NULL, claims, &t, NULL), FZ_OK);
	assert_int_equal(fz_jws_verify(t, strlen(t), FZ_JWS_MAX_BYTES, FZ_ALGS_ALL, keys,
				       &jws, NULL), FZ_OK);
	json_decref(claims);
	free(t);
	return jws;
}

static fz_jwt_expect expect_at(void)
{
	static const char *const required[] = {"sub", "scope", NULL};
	fz_jwt_expect x;

	fz_jwt_expect_defaults(&x);
	x.typ = FZ_TYP_AT_JWT;
	x.iss = ISS;
	x.aud = AUD;
	x.require_iat = true;
	x.required = required;
	return x;
}

#define GOOD_CLAIMS                                                             \
	"{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice@example.com\","  \
	"\"scope\":\"mail\",\"exp\":%d,\"iat\":%d,\"nbf\":%d}"

static void check(fz_jws *jws, const fz_jwt_expect *x, int64_t now, fz_code code,
		  const char *why)
{
	fz_err err = {0};

	assert_int_equal(fz_jwt_check(jws, x, now, &err), code);
	if (code != FZ_OK && strstr(err.msg, why) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
	fz_jws_free(jws);
}

static void test_good_token(void **state)
{
	fz_jwt_expect x = expect_at();

	(void)state;
	check(token("at+jwt", GOOD_CLAIMS, NOW + 900, NOW, NOW), &x, NOW, FZ_OK, "");
	check(token("application/at+jwt", GOOD_CLAIMS, NOW + 900, NOW, NOW), &x, NOW, FZ_OK, "");
	check(token("AT+JWT", GOOD_CLAIMS, NOW + 900, NOW, NOW), &x, NOW, FZ_OK, "");
}

static void test_typ(void **state)
{
	fz_jwt_expect x = expect_at();

	(void)state;
	check(token(NULL, GOOD_CLAIMS, NOW + 900, NOW, NOW), &x, NOW, FZ_ECLAIM,
	      "typ is missing");
	check(token("JWT", GOOD_CLAIMS, NOW + 900, NOW, NOW), &x, NOW, FZ_ECLAIM,
	      "typ JWT is not at+jwt");
	check(token("dpop+jwt", GOOD_CLAIMS, NOW + 900, NOW, NOW), &x, NOW, FZ_ECLAIM,
	      "typ dpop+jwt");
}

static void test_iss(void **state)
{
	fz_jwt_expect x = expect_at();

	(void)state;
	check(token("at+jwt", "{\"aud\":\"" AUD "\",\"exp\":%d}", NOW + 9), &x, NOW, FZ_ECLAIM,
	      "claim iss is missing");
	check(token("at+jwt", "{\"iss\":\"https://evil.example\",\"exp\":%d}", NOW + 9), &x, NOW,
	      FZ_ECLAIM, "claim iss is not " ISS);
	/* exact: no trailing slash equivalence */
	check(token("at+jwt", "{\"iss\":\"" ISS "/\",\"exp\":%d}", NOW + 9), &x, NOW,
	      FZ_ECLAIM, "claim iss");
}

static void test_aud(void **state)
{
	fz_jwt_expect x = expect_at();

	(void)state;
	x.required = NULL;
	x.require_iat = false;
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":[\"a\",\"" AUD "\"],\"exp\":%d}",
		    NOW + 9), &x, NOW, FZ_OK, "");
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":[\"a\",\"b\"],\"exp\":%d}", NOW + 9),
	      &x, NOW, FZ_ECLAIM, "claim aud does not include " AUD);
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":\"b\",\"exp\":%d}", NOW + 9), &x, NOW,
	      FZ_ECLAIM, "claim aud does not include");
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"exp\":%d}", NOW + 9), &x, NOW, FZ_ECLAIM,
	      "claim aud is missing");
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":7,\"exp\":%d}", NOW + 9), &x, NOW,
	      FZ_ECLAIM, "neither string nor array");
}

static void test_exp(void **state)
{
	fz_jwt_expect x = expect_at();
	int64_t l = x.leeway;

	(void)state;
	/* still valid within the leeway, expired one second later */
	check(token("at+jwt", GOOD_CLAIMS, NOW, NOW - 10, NOW - 10), &x, NOW + l - 1, FZ_OK, "");
	check(token("at+jwt", GOOD_CLAIMS, NOW, NOW - 10, NOW - 10), &x, NOW + l, FZ_ECLAIM,
	      "claim exp: the token has expired");
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}"), &x, NOW, FZ_ECLAIM,
	      "claim exp is missing");
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":\"%d\"}", NOW),
	      &x, NOW, FZ_ECLAIM, "claim exp is not an integer");
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%d.5}", NOW),
	      &x, NOW, FZ_ECLAIM, "claim exp is not an integer");
	/* extreme values saturate instead of wrapping */
	x.required = NULL;
	x.require_iat = false;
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":-9223372036854775807}"),
	      &x, NOW, FZ_ECLAIM, "expired");
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":9223372036854775807}"),
	      &x, INT64_MAX, FZ_OK, "");
}

static void test_exp_optional(void **state)
{
	fz_jwt_expect x;

	(void)state;
	fz_jwt_expect_defaults(&x);
	x.require_exp = false;
	check(token("JWT", "{\"a\":1}"), &x, NOW, FZ_OK, "");
	/* present: checked even when not required */
	check(token("JWT", "{\"exp\":%d}", NOW - 100), &x, NOW, FZ_ECLAIM, "expired");
}

static void test_nbf(void **state)
{
	fz_jwt_expect x = expect_at();
	int64_t l = x.leeway;

	(void)state;
	check(token("at+jwt", GOOD_CLAIMS, NOW + 900, NOW, (int)(NOW + l)), &x, NOW, FZ_OK, "");
	check(token("at+jwt", GOOD_CLAIMS, NOW + 900, NOW, (int)(NOW + l + 1)), &x, NOW,
	      FZ_ECLAIM, "claim nbf: the token is not valid yet");
}

static void test_iat(void **state)
{
	fz_jwt_expect x = expect_at();
	int64_t l = x.leeway;

	(void)state;
	check(token("at+jwt", GOOD_CLAIMS, NOW + 900, (int)(NOW + l), NOW), &x, NOW, FZ_OK, "");
	check(token("at+jwt", GOOD_CLAIMS, NOW + 900, (int)(NOW + l + 1), NOW), &x, NOW,
	      FZ_ECLAIM, "claim iat is in the future");
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%d}", NOW + 9),
	      &x, NOW, FZ_ECLAIM, "claim iat is missing");
	x.max_age = 300;
	check(token("at+jwt", GOOD_CLAIMS, NOW + 900, (int)(NOW - 300 - l), NOW), &x, NOW,
	      FZ_OK, "");
	check(token("at+jwt", GOOD_CLAIMS, NOW + 900, (int)(NOW - 301 - l), NOW), &x, NOW,
	      FZ_ECLAIM, "older than 300 s");
}

static void test_required_claims(void **state)
{
	fz_jwt_expect x = expect_at();

	(void)state;
	check(token("at+jwt", "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"a\","
			      "\"exp\":%d,\"iat\":%d}", NOW + 9, NOW),
	      &x, NOW, FZ_ECLAIM, "claim scope is missing");
}

static void test_unverified_refused(void **state)
{
	fz_jwt_expect x;
	fz_jws *jws = NULL;
	json_t *c = json_pack("{s:i}", "exp", NOW + 9);
	char *t = NULL;

	(void)state;
	fz_jwt_expect_defaults(&x);
	fz_jws_sign(key, NULL, NULL, c, &t, NULL);
	assert_int_equal(fz_jws_parse_unverified(t, strlen(t), FZ_JWS_MAX_BYTES, &jws, NULL),
			 FZ_OK);
	check(jws, &x, NOW, FZ_EINTERNAL, "unverified");
	json_decref(c);
	free(t);
}

static void test_cnf_jkt(void **state)
{
	json_t *good = json_loads("{\"cnf\":{\"jkt\":\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\"}}",
				  0, NULL);
	json_t *none = json_loads("{\"sub\":\"x\"}", 0, NULL);
	json_t *bad = json_loads("{\"cnf\":{\"jkt\":\"short\"}}", 0, NULL);
	fz_digest_str d;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_jwt_cnf_jkt(good, &d, NULL), FZ_OK);
	assert_string_equal(d.s, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
	assert_int_equal(fz_jwt_cnf_jkt(none, &d, &err), FZ_ECLAIM);
	assert_non_null(strstr(err.msg, "claim cnf is missing"));
	assert_int_equal(fz_jwt_cnf_jkt(bad, &d, &err), FZ_ECLAIM);
	assert_non_null(strstr(err.msg, "cnf.jkt"));
	json_decref(good);
	json_decref(none);
	json_decref(bad);
}

static void test_new_jti(void **state)
{
	char a[FZ_JTI_LEN + 1], b[FZ_JTI_LEN + 1];

	(void)state;
	assert_int_equal(fz_jwt_new_jti(a, NULL), FZ_OK);
	assert_int_equal(fz_jwt_new_jti(b, NULL), FZ_OK);
	assert_int_equal(strlen(a), FZ_JTI_LEN);
	assert_string_not_equal(a, b);
}

static void test_typ_is(void **state)
{
	(void)state;
	assert_true(fz_jwt_typ_is("at+jwt", "at+jwt"));
	assert_true(fz_jwt_typ_is("Application/AT+JWT", "at+jwt"));
	assert_false(fz_jwt_typ_is("application/", "at+jwt"));
	assert_false(fz_jwt_typ_is("xapplication/at+jwt", "at+jwt"));
	assert_false(fz_jwt_typ_is(NULL, "at+jwt"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_token),
		cmocka_unit_test(test_typ),
		cmocka_unit_test(test_iss),
		cmocka_unit_test(test_aud),
		cmocka_unit_test(test_exp),
		cmocka_unit_test(test_exp_optional),
		cmocka_unit_test(test_nbf),
		cmocka_unit_test(test_iat),
		cmocka_unit_test(test_required_claims),
		cmocka_unit_test(test_unverified_refused),
		cmocka_unit_test(test_cnf_jkt),
		cmocka_unit_test(test_new_jti),
		cmocka_unit_test(test_typ_is),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
