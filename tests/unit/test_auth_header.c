/* Authorization credentials: scheme, spaces, token68, and every way a
 * value can fail to be one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth_header.h"

static void expect_token(const char *h, const char *scheme, const char *want)
{
	const char *t = NULL;
	size_t n = 0;

	assert_int_equal(fz_auth_credentials(h, strlen(h), scheme, &t, &n, NULL), FZ_OK);
	assert_int_equal(n, strlen(want));
	assert_memory_equal(t, want, n);
}

static void expect_refused(const char *h, size_t n, const char *scheme, fz_code want)
{
	const char *t = h;
	size_t len = 9;

	assert_int_equal(fz_auth_credentials(h, n, scheme, &t, &len, NULL), want);
	assert_null(t);
	assert_int_equal(len, 0);
}

static void test_accepted(void **state)
{
	(void)state;
	expect_token("Bearer eyJ.eyJ.sig", "Bearer", "eyJ.eyJ.sig");
	expect_token("bearer   a-b_c~d+e/f==  ", "Bearer", "a-b_c~d+e/f==");
	expect_token("DPoP x", "DPoP", "x");
	expect_token("Basic YWxpY2U6c2VjcmV0", "Basic", "YWxpY2U6c2VjcmV0");
}

static void test_refused(void **state)
{
	(void)state;
	expect_refused("Basic abc", 9, "Bearer", FZ_ESTRUCT);
	expect_refused("Bearer", 6, "Bearer", FZ_ESTRUCT);
	expect_refused("Bearerabc", 9, "Bearer", FZ_ESTRUCT);
	expect_refused("Bearer\tabc", 10, "Bearer", FZ_ESTRUCT);
	expect_refused("Bearer ", 7, "Bearer", FZ_ESYNTAX);
	expect_refused("Bearer    ", 10, "Bearer", FZ_ESYNTAX);
	expect_refused("Bearer =", 8, "Bearer", FZ_ESYNTAX);
	expect_refused("Bearer a b", 10, "Bearer", FZ_ESYNTAX);
	expect_refused("Bearer a=b", 10, "Bearer", FZ_ESYNTAX);
	expect_refused("Bearer a,b", 10, "Bearer", FZ_ESYNTAX);
	expect_refused("Bearer a\r\nX: y", 14, "Bearer", FZ_ESYNTAX);
	/* a NUL ends nothing: the length does */
	expect_refused("Bearer a\0b", 10, "Bearer", FZ_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
