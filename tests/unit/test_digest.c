/* SHA-256 digests in the protocol's base64url form, streaming and whole,
 * and the Content-ID syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "digest.h"

/* SHA-256("abc") = ba7816bf...f20015ad (FIPS 180-2 example). */
#define ABC_DIGEST "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
/* SHA-256("") */
#define EMPTY_DIGEST "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU"

static void test_known_digests(void **state)
{
	fz_digest_str d;

	(void)state;
	fz_digest("abc", 3, &d);
	assert_string_equal(d.s, ABC_DIGEST);
	fz_digest("", 0, &d);
	assert_string_equal(d.s, EMPTY_DIGEST);
	assert_int_equal(strlen(d.s), FZ_DIGEST_LEN);
}

static void test_streaming_equals_whole(void **state)
{
	fz_sha256 *h = fz_sha256_new();
	fz_digest_str d;

	(void)state;
	assert_non_null(h);
	fz_sha256_update(h, "a", 1);
	fz_sha256_update(h, "bc", 2);
	fz_sha256_final(h, NULL, &d);
	assert_string_equal(d.s, ABC_DIGEST);
	/* reusable after final */
	fz_sha256_final(h, NULL, &d);
	assert_string_equal(d.s, EMPTY_DIGEST);
	fz_sha256_free(h);
}

static void test_content_id_roundtrip(void **state)
{
	fz_digest_str d, back;
	char cid[FZ_DIGEST_LEN + 3];

	(void)state;
	fz_digest("abc", 3, &d);
	fz_content_id_format(&d, cid);
	assert_string_equal(cid, "<" ABC_DIGEST ">");
	assert_int_equal(fz_content_id_parse(cid, strlen(cid), &back, NULL), FZ_OK);
	assert_string_equal(back.s, d.s);
	assert_int_equal(fz_content_id_parse(" <" ABC_DIGEST "> ", FZ_DIGEST_LEN + 4,
					     &back, NULL), FZ_OK);
}

static void expect_bad_cid(const char *cid, const char *why)
{
	fz_digest_str d;
	fz_err err = {0};

	assert_int_equal(fz_content_id_parse(cid, strlen(cid), &d, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, why));
}

static void test_content_id_without_brackets(void **state)
{
	(void)state;
	expect_bad_cid(ABC_DIGEST, "<digest>");
}

static void test_content_id_short(void **state)
{
	(void)state;
	/* the seed's Fig. 1 has 42-character ids: typos the spec fixes */
	expect_bad_cid("<Y_I0N3g8WQuGzhsD1VrhAgQ007AbXu9T-H5v3w--zY>", "43 base64url");
}

static void test_content_id_long(void **state)
{
	(void)state;
	expect_bad_cid("<1pzyqffWbfbh33hrydJl9j09Qgeg70TgZQ_zp0kt4HOU>", "43 base64url");
}

static void test_content_id_bad_char(void **state)
{
	(void)state;
	expect_bad_cid("<ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0>", "43 base64url");
}

static void test_content_id_stray_bits(void **state)
{
	(void)state;
	/* last character 'b' leaves non-zero bits after 256 */
	expect_bad_cid("<ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFab>", "43 base64url");
}

static void test_digest_valid(void **state)
{
	(void)state;
	assert_true(fz_digest_valid(ABC_DIGEST, FZ_DIGEST_LEN));
	assert_false(fz_digest_valid(ABC_DIGEST, FZ_DIGEST_LEN - 1));
	assert_false(fz_digest_valid("", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_digests),
		cmocka_unit_test(test_streaming_equals_whole),
		cmocka_unit_test(test_content_id_roundtrip),
		cmocka_unit_test(test_content_id_without_brackets),
		cmocka_unit_test(test_content_id_short),
		cmocka_unit_test(test_content_id_long),
		cmocka_unit_test(test_content_id_bad_char),
		cmocka_unit_test(test_content_id_stray_bits),
		cmocka_unit_test(test_digest_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
