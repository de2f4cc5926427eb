/* urlencoded forms and query strings: the grammar, strict decoding,
 * repeated names, limits. One test per refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "form.h"

static const fz_form_limits lim = FZ_FORM_LIMITS_DEFAULT;

static int setup(void **state)
{
	*state = fz_arena_new(0, 0);
	return *state == NULL;
}

static int teardown(void **state)
{
	fz_arena_free(*state);
	return 0;
}

static fz_form parse_ok(fz_arena *a, const char *s)
{
	fz_form f;
	fz_err err = {0};

	if (fz_form_parse(a, s, strlen(s), &lim, &f, &err) != FZ_OK)
		fail_msg("%s: %s", s, err.msg);
	return f;
}

static void expect_bad(fz_arena *a, const char *s, fz_code code, int status,
		       const char *why)
{
	fz_form f;
	fz_err err = {0};

	assert_int_equal(fz_form_parse(a, s, strlen(s), &lim, &f, &err), code);
	assert_int_equal(err.status, status);
	if (strstr(err.msg, why) == NULL)
		fail_msg("%s: expected \"%s\" in \"%s\"", s, why, err.msg);
	assert_int_equal(f.count, 0);
	assert_null(f.params);
}

static void test_token_request(void **state)
{
	fz_form f = parse_ok(*state,
			     "grant_type=authorization_code&code=Splx%2FOzQ"
			     "&redirect_uri=https%3A%2F%2Fclient.example.com%2Fcb");

	assert_int_equal(f.count, 3);
	assert_null(f.repeated);
	assert_string_equal(f.params[0].name, "grant_type");
	assert_string_equal(fz_form_get(&f, "code"), "Splx/OzQ");
	assert_string_equal(fz_form_get(&f, "redirect_uri"),
			    "https://client.example.com/cb");
	assert_null(fz_form_get(&f, "state"));
	assert_int_equal(fz_form_count(&f, "code"), 1);
	assert_int_equal(fz_form_count(&f, "nope"), 0);
}

static void test_plus_and_escapes(void **state)
{
	fz_form f = parse_ok(*state, "a=x+y%2By&b=%c3%A9t%C3%a9&c=a=b&d");

	assert_string_equal(fz_form_get(&f, "a"), "x y+y");
	assert_string_equal(fz_form_get(&f, "b"), "\xc3\xa9t\xc3\xa9");
	/* a value may contain '=': only the first one splits */
	assert_string_equal(fz_form_get(&f, "c"), "a=b");
	/* a name without '=' has an empty value */
	assert_string_equal(fz_form_get(&f, "d"), "");
	assert_int_equal(f.params[3].value_len, 0);
	assert_int_equal(f.params[1].value_len, 5);
}

static void test_empty_pairs_skipped(void **state)
{
	fz_form f = parse_ok(*state, "&&a=1&&b=2&");

	assert_int_equal(f.count, 2);
	f = parse_ok(*state, "");
	assert_int_equal(f.count, 0);
	assert_null(f.params);
	f = parse_ok(*state, "&");
	assert_int_equal(f.count, 0);
}

static void test_encoded_name(void **state)
{
	fz_form f = parse_ok(*state, "a%5Bb%5D=1&x+y=2");

	assert_string_equal(fz_form_get(&f, "a[b]"), "1");
	assert_string_equal(fz_form_get(&f, "x y"), "2");
}

static void test_repeated(void **state)
{
	fz_form f = parse_ok(*state, "scope=a&state=s&scope=b&state=t");
	const char *v;
	fz_err err = {0};

	assert_string_equal(f.repeated, "scope");
	assert_int_equal(fz_form_count(&f, "scope"), 2);
	assert_string_equal(fz_form_get(&f, "scope"), "a");
	assert_int_equal(fz_form_require_unique(&f, &err), FZ_ESYNTAX);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.oauth, "invalid_request");
	assert_non_null(strstr(err.msg, "scope is repeated"));
	assert_int_equal(fz_form_get_one(&f, "state", &v, &err), FZ_ESYNTAX);
	assert_null(v);
	assert_non_null(strstr(err.msg, "state is repeated"));
}

static void test_get_one(void **state)
{
	fz_form f = parse_ok(*state, "a=1&b=&c");
	const char *v;

	assert_int_equal(fz_form_require_unique(&f, NULL), FZ_OK);
	assert_int_equal(fz_form_get_one(&f, "a", &v, NULL), FZ_OK);
	assert_string_equal(v, "1");
	/* RFC 6749 §3.1: empty = omitted */
	assert_int_equal(fz_form_get_one(&f, "b", &v, NULL), FZ_OK);
	assert_null(v);
	assert_int_equal(fz_form_get_one(&f, "c", &v, NULL), FZ_OK);
	assert_null(v);
	assert_int_equal(fz_form_get_one(&f, "z", &v, NULL), FZ_OK);
	assert_null(v);
}

static void test_bad_escapes(void **state)
{
	expect_bad(*state, "a=%", FZ_ESYNTAX, 400, "bad percent escape at offset 0");
	expect_bad(*state, "a=%4", FZ_ESYNTAX, 400, "bad percent escape");
	expect_bad(*state, "a=%4g", FZ_ESYNTAX, 400, "bad percent escape");
	expect_bad(*state, "a=%g4", FZ_ESYNTAX, 400, "bad percent escape");
	expect_bad(*state, "a%=1", FZ_ESYNTAX, 400, "bad percent escape");
	expect_bad(*state, "ok=1&a=%zz", FZ_ESYNTAX, 400, "form body: value of a:");
}

static void test_encoded_nul(void **state)
{
	expect_bad(*state, "a=x%00y", FZ_ESYNTAX, 400, "encoded NUL");
}

static void test_raw_bytes_refused(void **state)
{
	expect_bad(*state, "a=x y", FZ_ESYNTAX, 400, "byte 0x20");
	expect_bad(*state, "a=x\ty", FZ_ESYNTAX, 400, "byte 0x09");
	expect_bad(*state, "a=\r\n", FZ_ESYNTAX, 400, "byte 0x0d");
	expect_bad(*state, "a=\x7f", FZ_ESYNTAX, 400, "byte 0x7f");
	expect_bad(*state, "a=\xc3\xa9", FZ_ESYNTAX, 400, "byte 0xc3");
}

static void test_raw_nul_refused(void **state)
{
	fz_form f;
	fz_err err = {0};

	assert_int_equal(fz_form_parse(*state, "a=x\0y", 5, &lim, &f, &err),
			 FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "byte 0x00"));
}

static void test_bad_utf8(void **state)
{
	expect_bad(*state, "a=%ff", FZ_ESYNTAX, 400, "not UTF-8");
	expect_bad(*state, "a=%c3", FZ_ESYNTAX, 400, "not UTF-8");        /* cut */
	expect_bad(*state, "a=%c3%28", FZ_ESYNTAX, 400, "not UTF-8");     /* bad cont. */
	expect_bad(*state, "a=%c0%af", FZ_ESYNTAX, 400, "not UTF-8");     /* overlong 2 */
	expect_bad(*state, "a=%e0%80%af", FZ_ESYNTAX, 400, "not UTF-8");  /* overlong 3 */
	expect_bad(*state, "a=%f0%80%80%af", FZ_ESYNTAX, 400, "not UTF-8"); /* overlong 4 */
	expect_bad(*state, "a=%ed%a0%80", FZ_ESYNTAX, 400, "not UTF-8");  /* surrogate */
	expect_bad(*state, "a=%f4%90%80%80", FZ_ESYNTAX, 400, "not UTF-8"); /* > 10FFFF */
	expect_bad(*state, "a=%80", FZ_ESYNTAX, 400, "not UTF-8");
	expect_bad(*state, "%ff=1", FZ_ESYNTAX, 400, "not UTF-8");
}

static void test_good_utf8(void **state)
{
	fz_form f = parse_ok(*state, "a=%f0%9f%93%a7&b=%ef%bf%bd&c=%f4%8f%bf%bf");

	assert_int_equal(f.params[0].value_len, 4);
	assert_int_equal(f.params[2].value_len, 4);
}

static void test_empty_name(void **state)
{
	expect_bad(*state, "=x", FZ_ESYNTAX, 400, "empty name");
	expect_bad(*state, "a=1&=", FZ_ESYNTAX, 400, "empty name");
}

static void test_limits(void **state)
{
	fz_form_limits small = {.max_params = 2, .max_bytes = 10};
	fz_form f;
	fz_err err = {0};

	assert_int_equal(fz_form_parse(*state, "a=1&b=2", 7, &small, &f, &err), FZ_OK);
	assert_int_equal(fz_form_parse(*state, "a&b&c", 5, &small, &f, &err),
			 FZ_ELIMIT);
	assert_int_equal(err.status, 400);
	assert_non_null(strstr(err.msg, "3 parameters, the limit is 2"));
	/* empty pairs do not count */
	assert_int_equal(fz_form_parse(*state, "a&&&&b", 6, &small, &f, &err), FZ_OK);
	assert_int_equal(fz_form_parse(*state, "a=12345678", 10, &small, &f, &err),
			 FZ_OK);
	assert_int_equal(fz_form_parse(*state, "a=123456789", 11, &small, &f, &err),
			 FZ_ELIMIT);
	assert_int_equal(err.status, 413);
	assert_non_null(strstr(err.msg, "form body of 11 bytes"));
	assert_int_equal(fz_query_parse(*state, "a=123456789", 11, &small, &f, &err),
			 FZ_ELIMIT);
	assert_int_equal(err.status, 414);
	assert_non_null(strstr(err.msg, "query string"));
}

static void test_query(void **state)
{
	const fz_form_limits ql = FZ_QUERY_LIMITS_DEFAULT;
	const char *q = "since=abc&wait=30&path=/a/b?c:d@e";
	fz_form f;
	fz_err err = {0};

	assert_int_equal(fz_query_parse(*state, q, strlen(q), &ql, &f, &err), FZ_OK);
	assert_string_equal(fz_form_get(&f, "wait"), "30");
	assert_string_equal(fz_form_get(&f, "path"), "/a/b?c:d@e");
	assert_int_equal(fz_query_parse(*state, "a=%", 3, &ql, &f, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "query string:"));
}

static void test_pct_decode_path(void **state)
{
	char *out;
	size_t len;
	fz_err err = {0};

	assert_int_equal(fz_pct_decode(*state, "a+b%2Fc", 7, false, &out, &len, &err),
			 FZ_OK);
	assert_string_equal(out, "a+b/c");
	assert_int_equal(len, 5);
	assert_int_equal(fz_pct_decode(*state, "%3Cid%40ex.com%3E", 17, false, &out,
				       &len, &err), FZ_OK);
	assert_string_equal(out, "<id@ex.com>");
	assert_int_equal(fz_pct_decode(*state, "", 0, false, &out, &len, &err), FZ_OK);
	assert_string_equal(out, "");
}

static void test_out_of_memory(void **state)
{
	fz_arena *tiny = fz_arena_new(1024, 64);
	fz_form f;
	char *out;
	size_t len;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_form_parse(tiny, "a=1", 3, &lim, &f, &err), FZ_ENOMEM);
	assert_int_equal(fz_pct_decode(tiny, "a", 1, true, &out, &len, &err),
			 FZ_ENOMEM);
	fz_arena_free(tiny);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plus_and_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_pairs_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encoded_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_one, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encoded_nul, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_bytes_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_nul_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_good_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pct_decode_path, setup, teardown),
		cmocka_unit_test(test_out_of_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
