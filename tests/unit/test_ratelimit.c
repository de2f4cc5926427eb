/* Token buckets per client address: burst, refill, separate addresses,
 * bounded memory when more addresses come than slots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"

static void test_burst_then_refused(void **state)
{
	fz_ratelimit *rl = NULL;
	uint32_t retry = 0;
	int i;

	(void)state;
	assert_int_equal(fz_ratelimit_new(2, 5, 16, &rl, NULL), FZ_OK);
	for (i = 0; i < 5; i++)
		assert_true(fz_ratelimit_take(rl, "127.0.0.1", 1000, &retry));
	assert_false(fz_ratelimit_take(rl, "127.0.0.1", 1000, &retry));
	assert_int_equal(retry, 1);
	/* half a second at 2/s earns one token */
	assert_true(fz_ratelimit_take(rl, "127.0.0.1", 1500, &retry));
	assert_false(fz_ratelimit_take(rl, "127.0.0.1", 1500, &retry));
	fz_ratelimit_free(rl);
}

static void test_refill_caps_at_burst(void **state)
{
	fz_ratelimit *rl = NULL;
	int i, allowed = 0;

	(void)state;
	assert_int_equal(fz_ratelimit_new(100, 3, 16, &rl, NULL), FZ_OK);
	assert_true(fz_ratelimit_take(rl, "a", 0, NULL));
	/* an hour idle still gives only the burst */
	for (i = 0; i < 10; i++)
		allowed += fz_ratelimit_take(rl, "a", 3600000, NULL);
	assert_int_equal(allowed, 3);
	fz_ratelimit_free(rl);
}

static void test_addresses_are_separate(void **state)
{
	fz_ratelimit *rl = NULL;

	(void)state;
	assert_int_equal(fz_ratelimit_new(1, 1, 16, &rl, NULL), FZ_OK);
	assert_true(fz_ratelimit_take(rl, "10.0.0.1", 0, NULL));
	assert_false(fz_ratelimit_take(rl, "10.0.0.1", 0, NULL));
	assert_true(fz_ratelimit_take(rl, "10.0.0.2", 0, NULL));
	fz_ratelimit_free(rl);
}

static void test_slow_rate_retry_after(void **state)
{
	fz_ratelimit *rl = NULL;
	uint32_t retry = 0;

	(void)state;
	assert_int_equal(fz_ratelimit_new(1, 1, 4, &rl, NULL), FZ_OK);
	assert_true(fz_ratelimit_take(rl, "x", 0, &retry));
	assert_false(fz_ratelimit_take(rl, "x", 100, &retry));
	assert_int_equal(retry, 1);
	assert_true(fz_ratelimit_take(rl, "x", 1000, &retry));
	fz_ratelimit_free(rl);
}

static void test_many_addresses_bounded(void **state)
{
	fz_ratelimit *rl = NULL;
	char key[32];
	int i;

	(void)state;
	assert_int_equal(fz_ratelimit_new(1, 1, 8, &rl, NULL), FZ_OK);
	/* a flood of new addresses recycles slots and never fails */
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "192.0.2.%d", i);
		assert_true(fz_ratelimit_take(rl, key, (uint64_t)i, NULL));
	}
	fz_ratelimit_free(rl);
}

static void test_bad_settings(void **state)
{
	fz_ratelimit *rl = NULL;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_ratelimit_new(0, 1, 1, &rl, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "positive"));
	assert_int_equal(fz_ratelimit_new(1, 0, 1, &rl, &err), FZ_ESYNTAX);
	assert_int_equal(fz_ratelimit_new(1, 1, 0, &rl, &err), FZ_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refused),
		cmocka_unit_test(test_refill_caps_at_burst),
		cmocka_unit_test(test_addresses_are_separate),
		cmocka_unit_test(test_slow_rate_retry_after),
		cmocka_unit_test(test_many_addresses_bounded),
		cmocka_unit_test(test_bad_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
