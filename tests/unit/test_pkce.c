/* PKCE S256 (RFC 7636) and the constant-time compare. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "pkce.h"

/* RFC 7636 Appendix B */
#define RFC_VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
#define RFC_CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

static void test_rfc7636_appendix_b(void **state)
{
	fz_digest_str c;

	(void)state;
	assert_int_equal(fz_pkce_challenge_s256(RFC_VERIFIER, strlen(RFC_VERIFIER), &c, NULL),
			 FZ_OK);
	assert_string_equal(c.s, RFC_CHALLENGE);
	assert_int_equal(fz_pkce_verify(RFC_VERIFIER, strlen(RFC_VERIFIER), RFC_CHALLENGE,
					strlen(RFC_CHALLENGE), NULL), FZ_OK);
}

static void test_verify_mismatch(void **state)
{
	const char *other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj";
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_pkce_verify(other, strlen(other), RFC_CHALLENGE,
					strlen(RFC_CHALLENGE), &err), FZ_EDENIED);
	assert_string_equal(err.oauth, "invalid_grant");
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.msg, "does not match"));
	/* a truncated stored challenge never matches */
	assert_int_equal(fz_pkce_verify(RFC_VERIFIER, strlen(RFC_VERIFIER), RFC_CHALLENGE, 42,
					&err), FZ_EDENIED);
}

static void test_verifier_length(void **state)
{
	char v[FZ_PKCE_VERIFIER_MAX + 2];
	fz_err err = {0};

	(void)state;
	memset(v, 'a', sizeof(v));
	assert_int_equal(fz_pkce_verifier_check(v, FZ_PKCE_VERIFIER_MIN, NULL), FZ_OK);
	assert_int_equal(fz_pkce_verifier_check(v, FZ_PKCE_VERIFIER_MAX, NULL), FZ_OK);
	assert_int_equal(fz_pkce_verifier_check(v, FZ_PKCE_VERIFIER_MIN - 1, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "43..128"));
	assert_int_equal(fz_pkce_verifier_check(v, FZ_PKCE_VERIFIER_MAX + 1, &err), FZ_ESYNTAX);
	assert_int_equal(fz_pkce_verifier_check(v, 0, &err), FZ_ESYNTAX);
}

static void test_verifier_charset(void **state)
{
	char v[50];
	const char *bad = "+/= %\n\x80";
	fz_err err = {0};
	size_t i;

	(void)state;
	memcpy(v, "AZaz09-._~AZaz09-._~AZaz09-._~AZaz09-._~AZaz09", 46);
	assert_int_equal(fz_pkce_verifier_check(v, 46, NULL), FZ_OK);
	for (i = 0; i < strlen(bad); i++) {
		v[20] = bad[i];
		assert_int_equal(fz_pkce_verifier_check(v, 46, &err), FZ_ESYNTAX);
		assert_non_null(strstr(err.msg, "character"));
	}
}

static void test_new_verifier(void **state)
{
	char a[FZ_PKCE_VERIFIER_MAX + 1], b[FZ_PKCE_VERIFIER_MAX + 1];

	(void)state;
	assert_int_equal(fz_pkce_verifier_new(a, NULL), FZ_OK);
	assert_int_equal(fz_pkce_verifier_new(b, NULL), FZ_OK);
	assert_int_equal(strlen(a), 43);
	assert_int_equal(fz_pkce_verifier_check(a, strlen(a), NULL), FZ_OK);
	assert_string_not_equal(a, b);
}

static void test_challenge_check(void **state)
{
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_pkce_challenge_check(RFC_CHALLENGE, 43, NULL), FZ_OK);
	assert_int_equal(fz_pkce_challenge_check(RFC_CHALLENGE, 42, &err), FZ_ESYNTAX);
	assert_int_equal(fz_pkce_challenge_check("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM",
						 43, &err), FZ_ESYNTAX);
}

static void test_ct_equal(void **state)
{
	(void)state;
	assert_true(fz_ct_equal("abc", 3, "abc", 3));
	assert_false(fz_ct_equal("abc", 3, "abd", 3));
	assert_false(fz_ct_equal("abc", 3, "abcd", 4));
	assert_true(fz_ct_equal("", 0, "", 0));
	assert_false(fz_ct_equal("a", 1, "", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7636_appendix_b),
		cmocka_unit_test(test_verify_mismatch),
		cmocka_unit_test(test_verifier_length),
		cmocka_unit_test(test_verifier_charset),
		cmocka_unit_test(test_new_verifier),
		cmocka_unit_test(test_challenge_check),
		cmocka_unit_test(test_ct_equal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
