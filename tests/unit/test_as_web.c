/* The pure pieces of the AS's browser pages: HTML escaping and the
 * bounded page builder, percent-encoding of the queries we write, and
 * reading and writing the session cookie. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "as_web.h"

static int setup(void **state)
{
	*state = fz_arena_new(0, 0);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	fz_arena_free(*state);
	return 0;
}

/* --- HTML ---------------------------------------------------------------- */

static void test_escape(void **state)
{
	fz_arena *a = *state;

	assert_string_equal(fz_html_escape(a, ""), "");
	assert_string_equal(fz_html_escape(a, "plain text"), "plain text");
	assert_string_equal(fz_html_escape(a, "<script>alert(1)</script>"),
			    "&lt;script&gt;alert(1)&lt;/script&gt;");
	/* Both quotes, so a value is safe in either attribute quoting. */
	assert_string_equal(fz_html_escape(a, "\"'&"), "&quot;&#39;&amp;");
	assert_string_equal(fz_html_escape(a, "a&amp;b"), "a&amp;amp;b");
	/* UTF-8 passes through untouched. */
	assert_string_equal(fz_html_escape(a, "caf\xc3\xa9 <"), "caf\xc3\xa9 &lt;");
}

static void test_builder(void **state)
{
	fz_arena *a = *state;
	fz_html h;
	const char *out;
	size_t n;
	fz_err err = {0};
	int i;

	fz_html_init(&h, a, 1024);
	fz_html_raw(&h, "<p title=\"");
	fz_html_text(&h, "\"><b>x");
	fz_html_raw(&h, "\">");
	assert_int_equal(fz_html_finish(&h, &out, &n, &err), FZ_OK);
	assert_string_equal(out, "<p title=\"&quot;&gt;&lt;b&gt;x\">");
	assert_int_equal(n, strlen(out));

	/* An empty page is an empty string, not NULL. */
	fz_html_init(&h, a, 16);
	assert_int_equal(fz_html_finish(&h, &out, &n, &err), FZ_OK);
	assert_string_equal(out, "");

	/* Past max the builder fails once and for all; growth works below. */
	fz_html_init(&h, a, 3000);
	for (i = 0; i < 250; i++)
		fz_html_raw(&h, "0123456789");
	assert_int_equal(fz_html_finish(&h, &out, &n, &err), FZ_OK);
	assert_int_equal(n, 2500);
	for (i = 0; i < 60; i++)
		fz_html_text(&h, "<<<<<<<<<<");
	fz_html_raw(&h, "x");
	assert_int_equal(fz_html_finish(&h, &out, &n, &err), FZ_ENOMEM);
	assert_null(out);
	assert_non_null(strstr(err.msg, "larger than 3000"));
}

/* --- percent-encoding -------------------------------------------------------- */

static void test_url_encode(void **state)
{
	fz_arena *a = *state;
	fz_html q;
	const char *out;
	size_t n;

	assert_string_equal(fz_url_encode(a, "AZaz09-._~"), "AZaz09-._~");
	assert_string_equal(fz_url_encode(a, "a b&c=d/e?f#g+h%"),
			    "a%20b%26c%3Dd%2Fe%3Ff%23g%2Bh%25");
	assert_string_equal(fz_url_encode(a, "\r\n\xc3\xa9"), "%0D%0A%C3%A9");

	fz_html_init(&q, a, 1024);
	fz_query_add(&q, "code", "abc");
	fz_query_add(&q, "state", "x&y=z");
	fz_query_add(&q, "iss", "https://as.example.com/");
	assert_int_equal(fz_html_finish(&q, &out, &n, NULL), FZ_OK);
	assert_string_equal(out, "code=abc&state=x%26y%3Dz&iss=https%3A%2F%2Fas.example.com%2F");
}

/* --- cookies ----------------------------------------------------------------- */

#define C "__Host-fz_session"

static void test_cookie_get(void **state)
{
	fz_arena *a = *state;

	assert_string_equal(fz_cookie_get(a, C "=abc", C), "abc");
	assert_string_equal(fz_cookie_get(a, "x=1; " C "=abc-_9; y=2", C), "abc-_9");
	assert_string_equal(fz_cookie_get(a, "x=1;" C "=abc ;y=2", C), "abc");
	/* A name that merely contains ours, or a prefix of it, is not ours. */
	assert_null(fz_cookie_get(a, "x" C "=abc", C));
	assert_null(fz_cookie_get(a, "__Host-fz=abc", C));
	assert_null(fz_cookie_get(a, "__Host-fz_sessionx=abc", C));
	/* Absent, empty, twice, or not of the shape we issue: none. */
	assert_null(fz_cookie_get(a, NULL, C));
	assert_null(fz_cookie_get(a, "", C));
	assert_null(fz_cookie_get(a, C "=", C));
	assert_null(fz_cookie_get(a, C, C));
	assert_null(fz_cookie_get(a, C "=a; " C "=b", C));
	assert_null(fz_cookie_get(a, C "=a.b", C));
	assert_null(fz_cookie_get(a, C "=\"abc\"", C));
	assert_null(fz_cookie_get(a, C "=a=b", C));
	{
		char big[FZ_COOKIE_VALUE_MAX + 32];

		memset(big, 'a', sizeof(big));
		memcpy(big, C "=", strlen(C) + 1);
		big[strlen(C) + 1 + FZ_COOKIE_VALUE_MAX] = '\0';
		assert_non_null(fz_cookie_get(a, big, C));
		big[strlen(C) + 1 + FZ_COOKIE_VALUE_MAX] = 'a';
		big[strlen(C) + 2 + FZ_COOKIE_VALUE_MAX] = '\0';
		assert_null(fz_cookie_get(a, big, C));
	}
}

static void test_cookie_format(void **state)
{
	fz_arena *a = *state;

	assert_string_equal(fz_cookie_format(a, C, "abc", 900),
			    C "=abc; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=900");
	/* Deleting: Max-Age=0, never negative. */
	assert_string_equal(fz_cookie_format(a, C, "", -5),
			    C "=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_escape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_builder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_url_encode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_format, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
