/*
 * test_mta_policy.c - the queue's retry rules (src/mta/mta_policy.h):
 * the backoff doubles from the initial delay, stops at the cap, and its
 * jitter stays within [d/2, d]; which statuses fail at once; giving up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mta_policy.h"

#define MIN 60
#define HOUR 3600

/* rnd = 0 gives the low end, d/2; rnd = d - d/2 the high end, d. */
static void test_backoff_doubles_to_the_cap(void **state)
{
	(void)state;
	assert_int_equal(fz_mta_backoff(1, MIN, HOUR, 30), 60);
	assert_int_equal(fz_mta_backoff(2, MIN, HOUR, 60), 120);
	assert_int_equal(fz_mta_backoff(3, MIN, HOUR, 120), 240);
	assert_int_equal(fz_mta_backoff(6, MIN, HOUR, 960), 1920);
	assert_int_equal(fz_mta_backoff(7, MIN, HOUR, 1800), 3600); /* 3840 capped */
	assert_int_equal(fz_mta_backoff(500, MIN, HOUR, 1800), 3600);
	assert_int_equal(fz_mta_backoff(UINT32_MAX, MIN, HOUR, 1800), 3600);
}

static void test_backoff_jitter_bounds(void **state)
{
	uint32_t attempts, rnd;
	int64_t d, want;

	(void)state;
	for (attempts = 1; attempts < 12; attempts++) {
		want = MIN << (attempts - 1);
		if (want > HOUR)
			want = HOUR;
		for (rnd = 0; rnd < 5000; rnd += 7) {
			d = fz_mta_backoff(attempts, MIN, HOUR, rnd * 2654435761u);
			assert_true(d >= want / 2);
			assert_true(d <= want);
		}
	}
}

static void test_backoff_small_values(void **state)
{
	(void)state;
	/* never 0: a retry must not spin */
	assert_true(fz_mta_backoff(1, 1, 2, 0) >= 1);
	assert_true(fz_mta_backoff(9, 1, 2, 12345) <= 2);
	assert_true(fz_mta_backoff(1, 0, 0, 0) == 1);
	/* a cap below the initial delay is the initial delay */
	assert_int_equal(fz_mta_backoff(4, 10, 5, 5), 10);
}

static void test_permanent_statuses(void **state)
{
	static const long permanent[] = {400, 401, 403, 404, 405, 410, 413, 415, 422};
	static const long transient[] = {0, 200, 408, 409, 425, 429, 500, 502, 503, 504};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
		assert_true(fz_mta_status_permanent(permanent[i]));
	for (i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
		assert_false(fz_mta_status_permanent(transient[i]));
}

static void test_give_up(void **state)
{
	const int64_t days5 = 5 * 86400, t0 = 1700000000;

	(void)state;
	assert_true(fz_mta_retry_allowed(t0, t0 + 60, HOUR, days5));
	assert_true(fz_mta_retry_allowed(t0, t0 + days5 - HOUR, HOUR, days5));
	assert_false(fz_mta_retry_allowed(t0, t0 + days5 - HOUR + 1, HOUR, days5));
	assert_false(fz_mta_retry_allowed(t0, t0 + days5 * 2, 1, days5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_doubles_to_the_cap),
		cmocka_unit_test(test_backoff_jitter_bounds),
		cmocka_unit_test(test_backoff_small_values),
		cmocka_unit_test(test_permanent_statuses),
		cmocka_unit_test(test_give_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
