/* RFC 4648 §10 vectors, in the url alphabet and without padding, and the
 * strictness rules of the decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"

static const struct {
	const char *plain, *enc;
} rfc4648[] = {
	{"", ""},         {"f", "Zg"},         {"fo", "Zm8"},
	{"foo", "Zm9v"},  {"foob", "Zm9vYg"},  {"fooba", "Zm9vYmE"},
	{"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_encode(void **state)
{
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		assert_int_equal(fz_b64url_encode(rfc4648[i].plain,
						  strlen(rfc4648[i].plain), out,
						  sizeof(out), NULL),
				 FZ_OK);
		assert_string_equal(out, rfc4648[i].enc);
	}
}

static void test_rfc4648_decode(void **state)
{
	uint8_t out[32];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		assert_int_equal(fz_b64url_decode(rfc4648[i].enc,
						  strlen(rfc4648[i].enc), out,
						  sizeof(out), &len, NULL),
				 FZ_OK);
		assert_int_equal(len, strlen(rfc4648[i].plain));
		assert_memory_equal(out, rfc4648[i].plain, len);
	}
}

static void test_url_alphabet(void **state)
{
	const uint8_t bytes[] = {0xfb, 0xff, 0xbf};
	char out[8];
	uint8_t back[8];
	size_t len;

	(void)state;
	fz_b64url_encode(bytes, sizeof(bytes), out, sizeof(out), NULL);
	assert_string_equal(out, "-_-_");
	assert_int_equal(fz_b64url_decode(out, 4, back, sizeof(back), &len, NULL), FZ_OK);
	assert_memory_equal(back, bytes, 3);
}

static void expect_bad(const char *in, const char *why)
{
	uint8_t out[32];
	size_t len;
	fz_err err = {0};

	assert_int_equal(fz_b64url_decode(in, strlen(in), out, sizeof(out), &len, &err),
			 FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, why));
	assert_int_equal(err.status, 400);
}

static void test_padding_refused(void **state)
{
	(void)state;
	expect_bad("Zg==", "alphabet");
}

static void test_standard_alphabet_refused(void **state)
{
	(void)state;
	expect_bad("+/+/", "alphabet");
}

static void test_whitespace_refused(void **state)
{
	(void)state;
	expect_bad("Zm9v Yg", "alphabet");
}

static void test_impossible_length(void **state)
{
	(void)state;
	expect_bad("Zm9vY", "length");
}

static void test_stray_bits_refused(void **state)
{
	(void)state;
	/* "Zh" decodes to 'f' but sets bits the encoding never sets. */
	expect_bad("Zh", "padding bits");
}

static void test_alloc_roundtrip(void **state)
{
	uint8_t *back = NULL;
	char *enc;
	size_t len;

	(void)state;
	enc = fz_b64url_encode_alloc("hello, world", 12);
	assert_non_null(enc);
	assert_int_equal(fz_b64url_decode_alloc(enc, strlen(enc), &back, &len, NULL), FZ_OK);
	assert_int_equal(len, 12);
	assert_string_equal((char *)back, "hello, world");
	free(enc);
	free(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_encode),
		cmocka_unit_test(test_rfc4648_decode),
		cmocka_unit_test(test_url_alphabet),
		cmocka_unit_test(test_padding_refused),
		cmocka_unit_test(test_standard_alphabet_refused),
		cmocka_unit_test(test_whitespace_refused),
		cmocka_unit_test(test_impossible_length),
		cmocka_unit_test(test_stray_bits_refused),
		cmocka_unit_test(test_alloc_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
