/* The Range header: the three single-range forms, clamping, the list
 * syntax, multiple ranges, unsatisfiable ranges, and every malformed
 * shape that should be a 400. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "range.h"

static void expect_range(const char *h, uint64_t size, uint64_t first,
			 uint64_t last)
{
	fz_range r;
	fz_err err = {0};

	if (fz_range_parse(h, strlen(h), size, &r, &err) != FZ_OK)
		fail_msg("%s: %s", h, err.msg);
	assert_int_equal(r.first, first);
	assert_int_equal(r.last, last);
	assert_int_equal(fz_range_length(&r), last - first + 1);
}

static void expect_fail(const char *h, uint64_t size, fz_code code, int status,
			const char *why)
{
	fz_range r;
	fz_err err = {0};

	assert_int_equal(fz_range_parse(h, strlen(h), size, &r, &err), code);
	assert_int_equal(err.status, status);
	if (strstr(err.msg, why) == NULL)
		fail_msg("%s: expected \"%s\" in \"%s\"", h, why, err.msg);
}

static void test_first_last(void **state)
{
	(void)state;
	expect_range("bytes=0-499", 1000, 0, 499);
	expect_range("bytes=500-999", 1000, 500, 999);
	expect_range("bytes=0-0", 1000, 0, 0);
	expect_range("bytes=999-999", 1000, 999, 999);
}

static void test_last_clamped(void **state)
{
	(void)state;
	expect_range("bytes=500-5000", 1000, 500, 999);
	expect_range("bytes=0-18446744073709551615", 10, 0, 9);
	/* more digits than 64 bits hold saturate rather than wrap */
	expect_range("bytes=0-999999999999999999999999", 10, 0, 9);
}

static void test_open_ended(void **state)
{
	(void)state;
	expect_range("bytes=9500-", 10000, 9500, 9999);
	expect_range("bytes=0-", 1, 0, 0);
}

static void test_suffix(void **state)
{
	(void)state;
	expect_range("bytes=-500", 10000, 9500, 9999);
	expect_range("bytes=-1", 10000, 9999, 9999);
	/* longer than the representation: all of it */
	expect_range("bytes=-20000", 10000, 0, 9999);
	expect_range("bytes=-99999999999999999999999", 3, 0, 2);
}

static void test_lenient_spellings(void **state)
{
	(void)state;
	expect_range("BYTES=1-2", 10, 1, 2);
	expect_range("  bytes=1-2 \t", 10, 1, 2);
	/* list syntax allows empty elements and OWS around them */
	expect_range("bytes= 1-2 ,", 10, 1, 2);
	expect_range("bytes=,,1-2", 10, 1, 2);
}

static void test_multiple(void **state)
{
	(void)state;
	expect_fail("bytes=0-1,5-6", 10, FZ_ESTRUCT, 416, "multiple ranges");
	expect_fail("bytes=0-1, -2", 10, FZ_ESTRUCT, 416, "multiple ranges");
	/* even when one alone would be unsatisfiable */
	expect_fail("bytes=50-60,0-1", 10, FZ_ESTRUCT, 416, "multiple ranges");
}

static void test_unsatisfiable(void **state)
{
	(void)state;
	expect_fail("bytes=1000-", 1000, FZ_ELIMIT, 416, "starts at 1000, size is 1000");
	expect_fail("bytes=1000-2000", 1000, FZ_ELIMIT, 416, "starts at 1000");
	expect_fail("bytes=-0", 1000, FZ_ELIMIT, 416, "zero-length suffix");
	expect_fail("bytes=0-", 0, FZ_ELIMIT, 416, "empty representation");
	expect_fail("bytes=-5", 0, FZ_ELIMIT, 416, "empty representation");
	expect_fail("bytes=99999999999999999999999-", 10, FZ_ELIMIT, 416, "starts at");
}

static void test_malformed(void **state)
{
	(void)state;
	expect_fail("", 10, FZ_ESYNTAX, 400, "bytes=");
	expect_fail("bytes", 10, FZ_ESYNTAX, 400, "bytes=");
	expect_fail("items=0-1", 10, FZ_ESYNTAX, 400, "bytes=");
	expect_fail("bytes =0-1", 10, FZ_ESYNTAX, 400, "bytes=");
	expect_fail("bytes=", 10, FZ_ESYNTAX, 400, "no range");
	expect_fail("bytes= , ", 10, FZ_ESYNTAX, 400, "no range");
	expect_fail("bytes=-", 10, FZ_ESYNTAX, 400, "malformed range");
	expect_fail("bytes=5-2", 10, FZ_ESYNTAX, 400, "malformed range");
	expect_fail("bytes=a-2", 10, FZ_ESYNTAX, 400, "malformed range");
	expect_fail("bytes=1-b", 10, FZ_ESYNTAX, 400, "malformed range");
	expect_fail("bytes=1", 10, FZ_ESYNTAX, 400, "malformed range");
	expect_fail("bytes=1-2-3", 10, FZ_ESYNTAX, 400, "malformed range");
	expect_fail("bytes=--1", 10, FZ_ESYNTAX, 400, "malformed range");
	expect_fail("bytes=-1x", 10, FZ_ESYNTAX, 400, "malformed range");
	expect_fail("bytes=1 -2", 10, FZ_ESYNTAX, 400, "malformed range");
	expect_fail("bytes=+1-2", 10, FZ_ESYNTAX, 400, "malformed range");
	/* syntax is checked before the count */
	expect_fail("bytes=0-1,junk", 10, FZ_ESYNTAX, 400, "malformed range at offset 10");
}

static void test_format(void **state)
{
	fz_range r = {.first = 100, .last = 199};
	char buf[FZ_CONTENT_RANGE_MAX];

	(void)state;
	fz_range_format(&r, 1000, buf);
	assert_string_equal(buf, "bytes 100-199/1000");
	r.first = UINT64_MAX - 1;
	r.last = UINT64_MAX - 1;
	fz_range_format(&r, UINT64_MAX, buf);
	assert_string_equal(buf, "bytes 18446744073709551614-18446744073709551614/"
				 "18446744073709551615");
	fz_range_unsatisfied_format(1000, buf);
	assert_string_equal(buf, "bytes */1000");
}

/* A 206's Content-Range as a resumed fetch reads it: the forms we write,
 * and what sscanf("bytes %llu-") used to let through (a sign, spaces, a
 * wrapped 64-bit number, a range outside the size). */
static void test_content_range(void **state)
{
	static const char *const bad[] = {
		"bytes -1-5/10", "bytes +1-5/10", "bytes  1-5/10", "bytes 1 -5/10",
		"bytes 5-4/10", "bytes 0-10/10", "bytes 0-9/", "bytes 0-9", "bytes */10",
		"bytes 18446744073709551616-18446744073709551617/*", "bytes 0-9/10 ",
		"bits 0-9/10", "bytes 0-9/1*", "",
	};
	char cr[FZ_CONTENT_RANGE_MAX];
	fz_range r = {3, 7};
	uint64_t whole = 0;
	bool known = false;
	size_t i;

	(void)state;
	fz_range_format(&r, 42, cr);
	assert_int_equal(fz_content_range_parse(cr, strlen(cr), &r, &whole, &known, NULL), FZ_OK);
	assert_true(r.first == 3 && r.last == 7 && whole == 42 && known);
	assert_int_equal(fz_content_range_parse("BYTES 0-18446744073709551614/*", 30, &r, &whole,
						&known, NULL),
			 FZ_OK);
	assert_true(r.first == 0 && r.last == UINT64_MAX - 1 && whole == 0 && !known);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fz_content_range_parse(bad[i], strlen(bad[i]), &r, &whole, &known, NULL) !=
		    FZ_ESYNTAX)
			fail_msg("\"%s\" was accepted", bad[i]);
}

static void test_null_err(void **state)
{
	fz_range r;

	(void)state;
	assert_int_equal(fz_range_parse("x", 1, 10, &r, NULL), FZ_ESYNTAX);
	assert_int_equal(fz_range_parse("bytes=0-1,2-3", 13, 10, &r, NULL), FZ_ESTRUCT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_last),
		cmocka_unit_test(test_last_clamped),
		cmocka_unit_test(test_open_ended),
		cmocka_unit_test(test_suffix),
		cmocka_unit_test(test_lenient_spellings),
		cmocka_unit_test(test_multiple),
		cmocka_unit_test(test_unsatisfiable),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_content_range),
		cmocka_unit_test(test_null_err),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
