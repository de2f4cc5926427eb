/* Cache-Control lifetimes and the TTL clamp discovery caches with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cache_ttl.h"

static uint32_t age(const char *cc)
{
	uint32_t v = 12345;

	if (!fz_cache_control_max_age(cc, &v))
		fail_msg("\"%s\" gave no lifetime", cc ? cc : "(null)");
	return v;
}

static void test_max_age(void **state)
{
	(void)state;
	assert_int_equal(age("max-age=600"), 600);
	assert_int_equal(age("public, max-age=60"), 60);
	assert_int_equal(age("MAX-AGE=7 , must-revalidate"), 7);
	assert_int_equal(age("max-age=\"30\""), 30);
	assert_int_equal(age("max-age = 45"), 45);
	assert_int_equal(age("max-age=0"), 0);
	assert_int_equal(age("max-age=99999999999999999999"), FZ_CACHE_DELTA_SECONDS_MAX);
	/* the smallest lifetime wins */
	assert_int_equal(age("max-age=600, max-age=5"), 5);
	assert_int_equal(age("max-age=600, no-cache"), 0);
	assert_int_equal(age("no-store"), 0);
	/* malformed means stale */
	assert_int_equal(age("max-age=ten"), 0);
	assert_int_equal(age("max-age=-1"), 0);
	assert_int_equal(age("max-age="), 0);
	assert_int_equal(age("max-age"), 0);
}

static void test_no_lifetime(void **state)
{
	uint32_t v = 77;

	(void)state;
	assert_false(fz_cache_control_max_age(NULL, &v));
	assert_false(fz_cache_control_max_age("", &v));
	assert_false(fz_cache_control_max_age("public, must-revalidate", &v));
	assert_false(fz_cache_control_max_age("s-maxage=100", &v));
	assert_false(fz_cache_control_max_age("max-agex=100", &v));
	assert_false(fz_cache_control_max_age(" , ,", &v));
	assert_int_equal(v, 77);
}

static void test_clamp(void **state)
{
	(void)state;
	assert_int_equal(fz_ttl_clamp(0, 60, 3600), 60);
	assert_int_equal(fz_ttl_clamp(300, 60, 3600), 300);
	assert_int_equal(fz_ttl_clamp(UINT32_MAX, 60, 3600), 3600);
	assert_int_equal(fz_ttl_clamp(10, 100, 50), 50); /* max wins */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_max_age),
		cmocka_unit_test(test_no_lifetime),
		cmocka_unit_test(test_clamp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
