/* The sync state a client sends back as ?since=: what we write reads
 * back, and nothing else is a state (410 state_too_old). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sync_state.h"

static void test_round_trip(void **state)
{
	static const uint64_t v[] = {0, 1, 9, 10, 1234567, UINT64_MAX - 1, UINT64_MAX};
	char s[FZ_SYNC_STATE_MAX];
	uint64_t got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		fz_sync_state_format(v[i], s);
		assert_int_equal(fz_sync_state_parse(s, strlen(s), &got, NULL), FZ_OK);
		assert_true(got == v[i]);
	}
	fz_sync_state_format(UINT64_MAX, s);
	assert_string_equal(s, "1.18446744073709551615");
}

static void expect_gone(const char *s, size_t n)
{
	uint64_t got = 77;
	fz_err err = {0};

	assert_int_equal(fz_sync_state_parse(s, n, &got, &err), FZ_ENOTFOUND);
	assert_int_equal(err.status, 410);
	assert_string_equal(err.oauth, "state_too_old");
	assert_true(got == 77);
}

static void test_refused(void **state)
{
	static const char *const bad[] = {
		"", "1.", "1", "2.5", "1.-1", "1.+1", "1. 1", "1.1 ", "1.0x1", "1.07", "1.00",
		"1.18446744073709551616",  /* UINT64_MAX + 1 */
		"1.99999999999999999999",
		"1.000000000000000000000000000001",
		"01.5", "1.1e3", "x.1",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_gone(bad[i], strlen(bad[i]));
	/* a NUL is no end of the state: the length is */
	expect_gone("1.5\0" "9", 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
