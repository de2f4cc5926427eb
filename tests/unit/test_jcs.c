/* JSON Canonicalization Scheme (RFC 8785): the RFC's own examples for
 * strings, member order and numbers (§3.2.2, §3.2.3, Appendix B). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"

static void expect_jcs(const char *json, const char *want, size_t want_len)
{
	json_error_t je;
	json_t *v = json_loads(json, JSON_DECODE_INT_AS_REAL | JSON_DECODE_ANY, &je);
	fz_err err = {0};
	char *out = NULL;
	size_t len = 0;

	assert_non_null(v);
	assert_int_equal(fz_jcs(v, &out, &len, &err), FZ_OK);
	assert_int_equal(len, want_len);
	assert_memory_equal(out, want, want_len);
	free(out);
	json_decref(v);
}

/* RFC 8785 §3.2.2: strings, literals and numbers together. */
static void test_rfc_example(void **state)
{
	static const char in[] =
		"{\n"
		"  \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n"
		"  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
		"  \"literals\": [null, true, false]\n"
		"}";
	static const char want[] =
		"{\"literals\":[null,true,false],"
		"\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
		"\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";

	(void)state;
	expect_jcs(in, want, sizeof(want) - 1);
}

/* RFC 8785 §3.2.3: members sorted by UTF-16 code units, so U+1F600
 * (a surrogate pair D83D DE00) sorts before U+FB33. */
static void test_rfc_sorting(void **state)
{
	static const char in[] =
		"{\"\\u20ac\": \"Euro Sign\", \"\\r\": \"Carriage Return\","
		" \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\", \"1\": \"One\","
		" \"\\ud83d\\ude00\": \"Emoji: Grinning Face\", \"\\u0080\": \"Control\","
		" \"\\u00f6\": \"Latin Small Letter O With Diaeresis\"}";
	static const char want[] =
		"{\"\\r\":\"Carriage Return\",\"1\":\"One\","
		"\"\xc2\x80\":\"Control\","
		"\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\","
		"\"\xe2\x82\xac\":\"Euro Sign\","
		"\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
		"\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}";

	(void)state;
	expect_jcs(in, want, sizeof(want) - 1);
}

static void test_nested_and_empty(void **state)
{
	static const char want[] = "{\"a\":[],\"b\":{},\"c\":[{\"x\":\"\",\"y\":[1,2]}]}";

	(void)state;
	expect_jcs("{ \"c\": [ {\"y\": [1, 2.0], \"x\": \"\"} ], \"b\": {}, \"a\": [] }",
		   want, sizeof(want) - 1);
	expect_jcs("\"x\"", "\"x\"", 3);
	expect_jcs("[]", "[]", 2);
}

/* Short escapes where ES6 has them, \u00xx lowercase for the other
 * controls, DEL and everything above it literal. */
static void test_string_escapes(void **state)
{
	static const char want[] =
		"\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \x7f\xc3\xa9/\"";
	json_t *v = json_stringn("\x00\x01\b\t\n\v\f\r\x1f \x7f\xc3\xa9/", 14);
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(v);
	assert_int_equal(fz_jcs(v, &out, &len, NULL), FZ_OK);
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(out, want, len);
	free(out);
	json_decref(v);
}

static double from_bits(uint64_t bits)
{
	double d;

	memcpy(&d, &bits, sizeof(d));
	return d;
}

static void expect_number(uint64_t bits, const char *want)
{
	char out[FZ_JCS_NUM_MAX];
	size_t len = 0;

	assert_int_equal(fz_jcs_number(from_bits(bits), out, &len, NULL), FZ_OK);
	assert_string_equal(out, want);
	assert_int_equal(len, strlen(want));
}

/* RFC 8785 Appendix B. */
static void test_rfc_numbers(void **state)
{
	(void)state;
	expect_number(0x0000000000000000, "0");
	expect_number(0x8000000000000000, "0");
	expect_number(0x0000000000000001, "5e-324");
	expect_number(0x8000000000000001, "-5e-324");
	expect_number(0x7fefffffffffffff, "1.7976931348623157e+308");
	expect_number(0xffefffffffffffff, "-1.7976931348623157e+308");
	expect_number(0x4340000000000000, "9007199254740992");
	expect_number(0xc340000000000000, "-9007199254740992");
	expect_number(0x4430000000000000, "295147905179352830000");
	expect_number(0x44b52d02c7e14af5, "9.999999999999997e+22");
	expect_number(0x44b52d02c7e14af6, "1e+23");
	expect_number(0x44b52d02c7e14af7, "1.0000000000000001e+23");
	expect_number(0x444b1ae4d6e2ef4e, "999999999999999700000");
	expect_number(0x444b1ae4d6e2ef4f, "999999999999999900000");
	expect_number(0x444b1ae4d6e2ef50, "1e+21");
	expect_number(0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7");
	expect_number(0x3eb0c6f7a0b5ed8d, "0.000001");
	expect_number(0x41b3de4355555553, "333333333.3333332");
	expect_number(0x41b3de4355555554, "333333333.33333325");
	expect_number(0x41b3de4355555555, "333333333.3333333");
	expect_number(0x41b3de4355555556, "333333333.3333334");
	expect_number(0x41b3de4355555557, "333333333.33333343");
	expect_number(0xbecbf647612f3696, "-0.0000033333333333333333");
	expect_number(0x43143ff3c1cb0959, "1424953923781206.2");
}

static void test_small_numbers(void **state)
{
	char out[FZ_JCS_NUM_MAX];
	size_t len;

	(void)state;
	assert_int_equal(fz_jcs_number(0.002, out, &len, NULL), FZ_OK);
	assert_string_equal(out, "0.002");
	assert_int_equal(fz_jcs_number(1e-7, out, &len, NULL), FZ_OK);
	assert_string_equal(out, "1e-7");
	assert_int_equal(fz_jcs_number(-1.5, out, &len, NULL), FZ_OK);
	assert_string_equal(out, "-1.5");
	assert_int_equal(fz_jcs_number(100, out, &len, NULL), FZ_OK);
	assert_string_equal(out, "100");
	assert_int_equal(fz_jcs_number(123e-20, out, &len, NULL), FZ_OK);
	assert_string_equal(out, "1.23e-18");
}

static void test_nan_inf_refused(void **state)
{
	char out[FZ_JCS_NUM_MAX];
	fz_err err = {0};
	size_t len;

	(void)state;
	assert_int_equal(fz_jcs_number(NAN, out, &len, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "NaN"));
	assert_int_equal(fz_jcs_number(INFINITY, out, &len, NULL), FZ_ESYNTAX);
	assert_int_equal(fz_jcs_number(-INFINITY, out, &len, NULL), FZ_ESYNTAX);
}

/* jansson keeps integers apart; RFC 8785 sees only doubles. */
static void test_integer_as_double(void **state)
{
	json_t *v = json_pack("[I,I,I]", (json_int_t)9007199254740993LL,
			      (json_int_t)-42, (json_int_t)1000000000000000000LL);
	char *out = NULL;
	size_t len;

	(void)state;
	assert_int_equal(fz_jcs(v, &out, &len, NULL), FZ_OK);
	assert_string_equal(out, "[9007199254740992,-42,1000000000000000000]");
	free(out);
	json_decref(v);
}

static void test_digest(void **state)
{
	json_t *v = json_pack("{s:s}", "a", "b");
	fz_digest_str d, want;

	(void)state;
	assert_int_equal(fz_jcs_digest(v, &d, NULL), FZ_OK);
	fz_digest("{\"a\":\"b\"}", 9, &want);
	assert_string_equal(d.s, want.s);
	json_decref(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example),
		cmocka_unit_test(test_rfc_sorting),
		cmocka_unit_test(test_nested_and_empty),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_rfc_numbers),
		cmocka_unit_test(test_small_numbers),
		cmocka_unit_test(test_nan_inf_refused),
		cmocka_unit_test(test_integer_as_double),
		cmocka_unit_test(test_digest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
