/* URL parsing and the htu normal form: one test per normalisation and
 * one per refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

static void htu_is(const char *in, const char *want)
{
	char *out = NULL;
	fz_err err = {0};

	if (fz_url_htu(in, strlen(in), &out, &err) != FZ_OK)
		fail_msg("%s: %s", in, err.msg);
	if (strcmp(out, want) != 0)
		fail_msg("%s -> %s, want %s", in, out, want);
	free(out);
}

static void refused(const char *in, size_t n, fz_code code, const char *why)
{
	fz_url u;
	fz_err err = {0};

	assert_int_equal(fz_url_parse(in, n, &u, &err), code);
	if (strstr(err.msg, why) == NULL)
		fail_msg("%s: message \"%s\" lacks \"%s\"", in, err.msg, why);
}

#define REFUSED(in, why) refused(in, strlen(in), FZ_ESYNTAX, why)

/* --- parsing ---------------------------------------------------------------- */

static void test_parse_pieces(void **state)
{
	const char *s = "https://mbx.example.com:8443/mta/v1/messages?a=1&b=%20#frag/x?";
	fz_url u;

	(void)state;
	assert_int_equal(fz_url_parse(s, strlen(s), &u, NULL), FZ_OK);
	assert_string_equal(u.scheme, "https");
	assert_string_equal(u.host, "mbx.example.com");
	assert_int_equal(u.port, 8443);
	assert_string_equal(u.path, "/mta/v1/messages");
	assert_string_equal(u.query, "a=1&b=%20");
	assert_string_equal(u.fragment, "frag/x?");
	fz_url_clear(&u);
	assert_null(u.host);
}

static void test_parse_defaults(void **state)
{
	fz_url u;

	(void)state;
	assert_int_equal(fz_url_parse("http://h", 8, &u, NULL), FZ_OK);
	assert_int_equal(u.port, 80);
	assert_string_equal(u.path, "/");
	assert_null(u.query);
	assert_null(u.fragment);
	fz_url_clear(&u);
	assert_int_equal(fz_url_parse("https://h?#", 11, &u, NULL), FZ_OK);
	assert_int_equal(u.port, 443);
	assert_string_equal(u.query, "");
	assert_string_equal(u.fragment, "");
	fz_url_clear(&u);
}

/* --- normalisations ---------------------------------------------------------- */

static void test_scheme_lowercased(void **state)
{
	(void)state;
	htu_is("HTTPS://h.example/", "https://h.example/");
	htu_is("HtTp://h.example/", "http://h.example/");
}

static void test_host_lowercased(void **state)
{
	(void)state;
	htu_is("https://Server.EXAMPLE.com/Token", "https://server.example.com/Token");
}

static void test_default_port_removed(void **state)
{
	(void)state;
	htu_is("https://h:443/p", "https://h/p");
	htu_is("http://h:80/p", "http://h/p");
	htu_is("https://h:0443/p", "https://h/p");
	htu_is("https://h:/p", "https://h/p");
	htu_is("https://h:80/p", "https://h:80/p");
	htu_is("http://h:443/p", "http://h:443/p");
	htu_is("https://h:8443", "https://h:8443/");
}

static void test_empty_path_is_slash(void **state)
{
	(void)state;
	htu_is("https://h", "https://h/");
	htu_is("https://h?q=1", "https://h/");
	htu_is("https://h#f", "https://h/");
}

static void test_dot_segments_removed(void **state)
{
	(void)state;
	htu_is("https://h/a/b/c/./../../g", "https://h/a/g");
	htu_is("https://h/a/b/../c/./d", "https://h/a/c/d");
	htu_is("https://h/..", "https://h/");
	htu_is("https://h/../../a", "https://h/a");
	htu_is("https://h/a/..", "https://h/");
	htu_is("https://h/a/b/..", "https://h/a/");
	htu_is("https://h/a/.", "https://h/a/");
	htu_is("https://h/a/./", "https://h/a/");
	htu_is("https://h/a/..b/.c", "https://h/a/..b/.c");
	htu_is("https://h/a//b", "https://h/a//b");
}

static void test_percent_encoding_normalised(void **state)
{
	(void)state;
	htu_is("https://h/%7euser/%41%62", "https://h/~user/Ab");
	htu_is("https://h/a%2fb", "https://h/a%2Fb");
	htu_is("https://h/%c3%a9", "https://h/%C3%A9");
	htu_is("https://h/a/%2e%2E/b", "https://h/b");
	htu_is("https://h/%20", "https://h/%20");
}

static void test_query_and_fragment_ignored(void **state)
{
	(void)state;
	htu_is("https://h/token?grant=x&y=%20/?#frag/?", "https://h/token");
}

static void test_ipv6(void **state)
{
	(void)state;
	htu_is("https://[0:0:0:0:0:0:0:1]:443/a", "https://[::1]/a");
	htu_is("http://[2001:DB8::1]:8080", "http://[2001:db8::1]:8080/");
	htu_is("https://[::ffff:192.0.2.1]/", "https://[::ffff:192.0.2.1]/");
}

static void test_sub_delims_in_path(void **state)
{
	(void)state;
	htu_is("https://h/a;b=c,d/@x:y!$&'()*+", "https://h/a;b=c,d/@x:y!$&'()*+");
}

/* --- refusals --------------------------------------------------------------- */

static void test_userinfo(void **state)
{
	(void)state;
	REFUSED("https://user@h/", "userinfo");
	REFUSED("https://user:pass@h/", "userinfo");
	REFUSED("https://h@evil.example/", "userinfo");
}

static void test_spaces_and_controls(void **state)
{
	(void)state;
	REFUSED("https://h/a b", "space or control");
	REFUSED("https://h/a\tb", "space or control");
	REFUSED("https://h/a\x7f", "space or control");
	REFUSED(" https://h/", "space or control");
	refused("https://h/\0x", 12, FZ_ESYNTAX, "space or control");
	REFUSED("https://h/\xc3\xa9", "non-ASCII");
}

static void test_scheme(void **state)
{
	(void)state;
	REFUSED("ftp://h/", "http or https");
	REFUSED("httpx://h/", "http or https");
	REFUSED("mailto:alice@example.com", "http or https");
	REFUSED("//h/p", "no scheme");
	REFUSED("/token", "no scheme");
	REFUSED("h1tps://h/", "no scheme");
	REFUSED("https:h/p", "absolute");
	REFUSED("https:/h/p", "absolute");
}

static void test_host(void **state)
{
	(void)state;
	REFUSED("https:///p", "empty host");
	REFUSED("https://:443/p", "empty host");
	REFUSED("https://h%41/", "host has a character");
	REFUSED("https://h!x/", "host has a character");
	REFUSED("https://h\"x/", "host has a character");
}

static void test_ipv6_refusals(void **state)
{
	(void)state;
	REFUSED("https://[::1/", "no closing ]");
	REFUSED("https://[::g]/", "not an IPv6");
	REFUSED("https://[fe80::1%25eth0]/", "not an IPv6");
	REFUSED("https://[v1.x]/", "not an IPv6");
	REFUSED("https://[]/", "not an IPv6");
	REFUSED("https://[::1]x/", "after the IPv6");
	REFUSED("https://[1.2.3.4]/", "not an IPv6");
}

static void test_port(void **state)
{
	(void)state;
	REFUSED("https://h:0/", "port 0");
	REFUSED("https://h:65536/", "out of range");
	REFUSED("https://h:004430/", "out of range");
	REFUSED("https://h:44a/", "not a number");
	REFUSED("https://h:-1/", "not a number");
	REFUSED("https://h:443:1/", "not a number");
}

static void test_percent_refusals(void **state)
{
	(void)state;
	REFUSED("https://h/%zz", "bad % escape");
	REFUSED("https://h/%4", "cut-off");
	REFUSED("https://h/a%", "cut-off");
	REFUSED("https://h/?a=%g1", "query has a bad");
	REFUSED("https://h/#%", "fragment has a cut-off");
}

static void test_bad_characters(void **state)
{
	static const char *const bad[] = {"\"", "<", ">", "\\", "^", "`", "{", "|", "}", "[", "]"};
	char url[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(url, sizeof(url), "https://h/a%sb", bad[i]);
		REFUSED(url, "path has a character");
		snprintf(url, sizeof(url), "https://h/?a%sb", bad[i]);
		REFUSED(url, "query has a character");
	}
	REFUSED("https://h/#a#b", "fragment has a character");
}

static void test_length(void **state)
{
	char *big = malloc(FZ_URL_MAX + 2);

	(void)state;
	memcpy(big, "https://h/", 10);
	memset(big + 10, 'a', FZ_URL_MAX - 9);
	big[FZ_URL_MAX + 1] = '\0';
	refused(big, FZ_URL_MAX + 1, FZ_ELIMIT, "exceeds");
	htu_is("https://h/", "https://h/");
	big[FZ_URL_MAX] = '\0';
	{
		fz_url u;
		assert_int_equal(fz_url_parse(big, FZ_URL_MAX, &u, NULL), FZ_OK);
		fz_url_clear(&u);
	}
	refused("", 0, FZ_ESYNTAX, "empty");
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_pieces),
		cmocka_unit_test(test_parse_defaults),
		cmocka_unit_test(test_scheme_lowercased),
		cmocka_unit_test(test_host_lowercased),
		cmocka_unit_test(test_default_port_removed),
		cmocka_unit_test(test_empty_path_is_slash),
		cmocka_unit_test(test_dot_segments_removed),
		cmocka_unit_test(test_percent_encoding_normalised),
		cmocka_unit_test(test_query_and_fragment_ignored),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_sub_delims_in_path),
		cmocka_unit_test(test_userinfo),
		cmocka_unit_test(test_spaces_and_controls),
		cmocka_unit_test(test_scheme),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_ipv6_refusals),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_percent_refusals),
		cmocka_unit_test(test_bad_characters),
		cmocka_unit_test(test_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
