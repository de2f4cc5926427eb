/* The per-request arena: alignment, large pieces, string helpers, the
 * limit, and cleanups that run on free (or at once when they cannot be
 * registered). Leaks show up under ASan. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "arena.h"

static void test_alignment_and_distinct(void **state)
{
	fz_arena *a = fz_arena_new(0, 0);
	void *p[100];
	size_t i;

	(void)state;
	assert_non_null(a);
	for (i = 0; i < 100; i++) {
		p[i] = fz_arena_alloc(a, i % 7 + 1);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % _Alignof(max_align_t), 0);
		memset(p[i], 0xab, i % 7 + 1);
		if (i > 0)
			assert_ptr_not_equal(p[i], p[i - 1]);
	}
	/* zero bytes still gives a distinct pointer */
	assert_non_null(fz_arena_alloc(a, 0));
	assert_ptr_not_equal(fz_arena_alloc(a, 0), fz_arena_alloc(a, 0));
	fz_arena_free(a);
}

static void test_many_blocks_and_large(void **state)
{
	fz_arena *a = fz_arena_new(256, 0);
	unsigned char *small, *big, *after;
	size_t i;

	(void)state;
	assert_non_null(a);
	small = fz_arena_alloc(a, 16);
	assert_non_null(small);
	/* a piece larger than a quarter block gets a block of its own and
	 * the current block keeps serving small pieces right after */
	big = fz_arena_alloc(a, 100000);
	assert_non_null(big);
	memset(big, 1, 100000);
	after = fz_arena_alloc(a, 16);
	assert_ptr_equal(after, small + 16);
	for (i = 0; i < 1000; i++)
		assert_non_null(fz_arena_alloc(a, 48));
	assert_true(fz_arena_footprint(a) > 100000 + 1000 * 48);
	fz_arena_free(a);
}

static void test_overflow_refused(void **state)
{
	fz_arena *a = fz_arena_new(0, 0);

	(void)state;
	assert_null(fz_arena_alloc(a, SIZE_MAX));
	assert_null(fz_arena_alloc(a, SIZE_MAX - 8));
	assert_null(fz_arena_calloc(a, SIZE_MAX / 2, 4));
	assert_null(fz_arena_memdup(a, "x", SIZE_MAX));
	fz_arena_free(a);
}

static void test_limit(void **state)
{
	fz_arena *a = fz_arena_new(1024, 8192);
	size_t got = 0;

	(void)state;
	assert_non_null(a);
	while (fz_arena_alloc(a, 100) != NULL)
		got += 100;
	assert_true(got > 4000);
	assert_true(fz_arena_footprint(a) <= 8192);
	assert_null(fz_arena_alloc(a, 5000));
	assert_null(fz_arena_strdup(a, "still too much once full"));
	fz_arena_free(a);
}

static void test_calloc_zeroes(void **state)
{
	fz_arena *a = fz_arena_new(0, 0);
	unsigned char *p;
	size_t i;

	(void)state;
	p = fz_arena_alloc(a, 64);
	memset(p, 0xff, 64);
	p = fz_arena_calloc(a, 16, 4);
	assert_non_null(p);
	for (i = 0; i < 64; i++)
		assert_int_equal(p[i], 0);
	fz_arena_free(a);
}

static void test_strings(void **state)
{
	fz_arena *a = fz_arena_new(64, 0);
	char *s;

	(void)state;
	assert_string_equal(fz_arena_strdup(a, "hello"), "hello");
	assert_string_equal(fz_arena_strdup(a, ""), "");
	assert_string_equal(fz_arena_strndup(a, "hello", 3), "hel");
	assert_string_equal(fz_arena_strndup(a, "hi", 10), "hi");
	s = fz_arena_memdup(a, "a\0b", 3);
	assert_memory_equal(s, "a\0b\0", 4);
	assert_string_equal(fz_arena_printf(a, "%s-%d", "x", 42), "x-42");
	/* longer than the block: the second formatting path */
	s = fz_arena_printf(a, "%0200d", 7);
	assert_int_equal(strlen(s), 200);
	assert_int_equal(s[199], '7');
	/* exactly filling and then overflowing the tail of a block */
	for (int i = 0; i < 50; i++) {
		s = fz_arena_printf(a, "%.*s", i, "0123456789012345678901234567890123456789012345678901234567890");
		assert_int_equal(strlen(s), (size_t)i);
	}
	fz_arena_free(a);
}

static int order[8];
static int norder;

static void record(void *data)
{
	order[norder++] = (int)(intptr_t)data;
}

static void test_cleanups_newest_first(void **state)
{
	fz_arena *a = fz_arena_new(0, 0);
	fz_arena_cleanup *c;

	(void)state;
	norder = 0;
	assert_non_null(fz_arena_on_free(a, record, (void *)1));
	c = fz_arena_on_free(a, record, (void *)2);
	assert_non_null(c);
	assert_non_null(fz_arena_on_free(a, record, (void *)3));
	fz_arena_cleanup_disarm(c);
	fz_arena_cleanup_disarm(NULL);
	assert_int_equal(norder, 0);
	fz_arena_free(a);
	assert_int_equal(norder, 2);
	assert_int_equal(order[0], 3);
	assert_int_equal(order[1], 1);
}

static fz_arena *nested_arena;

static void register_more(void *data)
{
	(void)data;
	fz_arena_on_free(nested_arena, record, (void *)9);
}

static void test_cleanup_registering_cleanup(void **state)
{
	(void)state;
	norder = 0;
	nested_arena = fz_arena_new(0, 0);
	fz_arena_on_free(nested_arena, register_more, NULL);
	fz_arena_free(nested_arena);
	assert_int_equal(norder, 1);
	assert_int_equal(order[0], 9);
}

static void test_cleanup_runs_when_registration_fails(void **state)
{
	/* a limit so small the first block cannot be had */
	fz_arena *a = fz_arena_new(1024, 64);

	(void)state;
	norder = 0;
	assert_null(fz_arena_on_free(a, record, (void *)5));
	assert_int_equal(norder, 1);
	assert_int_equal(order[0], 5);
	fz_arena_free(a);
	assert_int_equal(norder, 1);
}

static void test_own_json(void **state)
{
	fz_arena *a = fz_arena_new(0, 0);
	fz_arena *tiny = fz_arena_new(1024, 64);
	json_t *j;

	(void)state;
	j = fz_arena_own_json(a, json_pack("{s:s}", "a", "b"));
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "a")), "b");
	assert_null(fz_arena_own_json(a, NULL));
	/* released at once when it cannot be tied: ASan would see a leak */
	assert_null(fz_arena_own_json(tiny, json_pack("[i]", 1)));
	fz_arena_free(a);
	fz_arena_free(tiny);
	fz_arena_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment_and_distinct),
		cmocka_unit_test(test_many_blocks_and_large),
		cmocka_unit_test(test_overflow_refused),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_calloc_zeroes),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_cleanups_newest_first),
		cmocka_unit_test(test_cleanup_registering_cleanup),
		cmocka_unit_test(test_cleanup_runs_when_registration_fails),
		cmocka_unit_test(test_own_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
