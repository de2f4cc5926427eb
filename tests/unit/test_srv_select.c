/* The pure half of discovery: which names we look up, which SRV records
 * are usable, and the RFC 2782 order, driven by a seeded rng so every
 * draw is reproducible. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "srv_select.h"

/* --- rngs ---------------------------------------------------------------- */

/* xorshift32: a seeded, uniform-enough source for frequency checks. */
static uint32_t xorshift(void *ctx, uint32_t bound)
{
	uint32_t *s = ctx;

	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return bound == UINT32_MAX ? *s : *s % (bound + 1);
}

/* Always the same draw, capped at bound. */
static uint32_t fixed(void *ctx, uint32_t bound)
{
	uint32_t v = *(uint32_t *)ctx;

	return v > bound ? bound : v;
}

/* Ignores bound: the selection must not trust it. */
static uint32_t wild(void *ctx, uint32_t bound)
{
	(void)ctx;
	(void)bound;
	return UINT32_MAX;
}

static fz_srv_record rec(uint16_t prio, uint16_t weight, uint16_t port, const char *t)
{
	fz_srv_record r;

	memset(&r, 0, sizeof(r));
	r.priority = prio;
	r.weight = weight;
	r.port = port;
	snprintf(r.target, sizeof(r.target), "%s", t);
	return r;
}

/* --- names --------------------------------------------------------------- */

static void test_name_ok(void **state)
{
	char label63[64], long_name[300];
	size_t i;

	(void)state;
	assert_true(fz_dns_name_ok("example.com", 11));
	assert_true(fz_dns_name_ok("example.com.", 12));
	assert_true(fz_dns_name_ok("a-b.EXAMPLE.com", 15));
	assert_true(fz_dns_name_ok("xn--bcher-kva.example", 21));
	assert_true(fz_dns_name_ok("1.2.3.4", 7)); /* digits are LDH */
	assert_false(fz_dns_name_ok(NULL, 0));
	assert_false(fz_dns_name_ok("", 0));
	assert_false(fz_dns_name_ok(".", 1));
	assert_false(fz_dns_name_ok("com", 3));       /* one label: not a mail domain */
	assert_false(fz_dns_name_ok("-a.com", 6));
	assert_false(fz_dns_name_ok("a-.com", 6));
	assert_false(fz_dns_name_ok("a..com", 6));
	assert_false(fz_dns_name_ok(".a.com", 6));
	assert_false(fz_dns_name_ok("a.com..", 7));
	assert_false(fz_dns_name_ok("a_b.com", 7));
	assert_false(fz_dns_name_ok("a b.com", 7));
	assert_false(fz_dns_name_ok("a.com/x", 7));
	assert_false(fz_dns_name_ok("\xc3\xa9.com", 6));
	assert_false(fz_dns_name_ok("a.c\0m", 5)); /* an embedded NUL */
	memset(label63, 'a', 63);
	label63[63] = '\0';
	snprintf(long_name, sizeof(long_name), "%s.com", label63);
	assert_true(fz_dns_name_ok(long_name, strlen(long_name)));
	snprintf(long_name, sizeof(long_name), "%sa.com", label63);
	assert_false(fz_dns_name_ok(long_name, strlen(long_name)));
	/* 253 bytes is the most; 254 is one too many */
	for (i = 0; i < 253; i++)
		long_name[i] = (i % 2) ? '.' : 'a';
	long_name[252] = 'a';
	assert_true(fz_dns_name_ok(long_name, 253));
	long_name[253] = '.';
	long_name[254] = 'a';
	assert_false(fz_dns_name_ok(long_name, 255));
}

static void test_name_normalize(void **state)
{
	char out[FZ_DNS_NAME_MAX + 1];
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_dns_name_normalize("Example.COM.", 12, out, &err), FZ_OK);
	assert_string_equal(out, "example.com");
	assert_int_equal(fz_dns_name_normalize("bad_name.com", 12, out, &err), FZ_ESYNTAX);
	assert_string_equal(out, "");
	assert_non_null(strstr(err.msg, "not a domain name"));
	assert_int_equal(fz_dns_name_normalize(NULL, 0, out, &err), FZ_ESYNTAX);
}

/* --- usable records ------------------------------------------------------- */

static void test_usable_dot_only(void **state)
{
	fz_srv_record r[2] = {rec(0, 0, 0, "."), rec(0, 0, 0, "")};
	size_t n = 1;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_srv_usable(r, &n, &err), FZ_ENOTFOUND);
	assert_int_equal(n, 0);
	assert_non_null(strstr(err.msg, "not available"));
	n = 2; /* c-ares writes the root as "" */
	assert_int_equal(fz_srv_usable(r, &n, &err), FZ_ENOTFOUND);
	assert_non_null(strstr(err.msg, "not available"));
	n = 0;
	assert_int_equal(fz_srv_usable(r, &n, &err), FZ_ENOTFOUND);
	assert_non_null(strstr(err.msg, "no SRV records"));
}

static void test_usable_filters(void **state)
{
	fz_srv_record r[5] = {
		rec(10, 5, 443, "."),
		rec(10, 5, 443, "AS.Example.COM."),
		rec(10, 5, 0, "port0.example.com"),
		rec(10, 5, 443, "bad_name.example.com"),
		rec(20, 1, 8443, "b.example.com"),
	};
	size_t n = 5;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_srv_usable(r, &n, &err), FZ_OK);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].target, "as.example.com"); /* normalised */
	assert_int_equal(r[0].port, 443);
	assert_string_equal(r[1].target, "b.example.com");
	assert_int_equal(r[1].port, 8443);
	/* nothing usable, but not for want of service */
	r[0] = rec(10, 5, 0, "a.example.com");
	r[1] = rec(10, 5, 443, "x");
	n = 2;
	assert_int_equal(fz_srv_usable(r, &n, &err), FZ_ESTRUCT);
	assert_int_equal(n, 0);
}

/* --- ordering ------------------------------------------------------------ */

static void test_order_priority(void **state)
{
	fz_srv_record r[4] = {
		rec(30, 100, 1, "c.example.com"),
		rec(10, 1, 2, "a.example.com"),
		rec(20, 50, 3, "b.example.com"),
		rec(10, 0, 4, "z.example.com"),
	};
	uint32_t seed = 12345;

	(void)state;
	fz_srv_order(r, 4, xorshift, &seed);
	/* the two priority-10 records first, in either order */
	assert_int_equal(r[0].priority, 10);
	assert_int_equal(r[1].priority, 10);
	assert_string_equal(r[2].target, "b.example.com");
	assert_string_equal(r[3].target, "c.example.com");
}

/* Weights 0, 5, 95 form the draw list [w0, w5, w95] with running sums 0,
 * 5, 100: a draw of 0 picks w0, 1..5 picks w5, 6..100 picks w95. */
static void test_order_draw_boundaries(void **state)
{
	const struct {
		uint32_t draw;
		const char *first;
	} cases[] = {
		{0, "w0.example.com"},   {1, "w5.example.com"},
		{5, "w5.example.com"},   {6, "w95.example.com"},
		{100, "w95.example.com"}, {1000, "w95.example.com"},
	};
	fz_srv_record r[3];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r[0] = rec(10, 95, 1, "w95.example.com");
		r[1] = rec(10, 0, 1, "w0.example.com");
		r[2] = rec(10, 5, 1, "w5.example.com");
		fz_srv_order(r, 3, fixed, (void *)&cases[i].draw);
		if (strcmp(r[0].target, cases[i].first) != 0)
			fail_msg("draw %u chose %s, want %s", cases[i].draw, r[0].target,
				 cases[i].first);
	}
}

/* The answer order a DNS server happens to use must not matter. */
static void test_order_deterministic(void **state)
{
	fz_srv_record a[4] = {
		rec(1, 10, 1, "a.example.com"), rec(1, 20, 1, "b.example.com"),
		rec(1, 30, 1, "c.example.com"), rec(2, 0, 1, "d.example.com"),
	};
	fz_srv_record b[4] = {a[3], a[2], a[0], a[1]};
	uint32_t s1 = 99, s2 = 99;
	size_t i;

	(void)state;
	fz_srv_order(a, 4, xorshift, &s1);
	fz_srv_order(b, 4, xorshift, &s2);
	for (i = 0; i < 4; i++)
		assert_string_equal(a[i].target, b[i].target);
}

/* Over many draws, the first choice follows the weights. */
static void test_order_frequencies(void **state)
{
	enum { ROUNDS = 20000 };
	unsigned first[3] = {0, 0, 0};
	fz_srv_record r[3];
	uint32_t seed = 2024;
	size_t i;

	(void)state;
	for (i = 0; i < ROUNDS; i++) {
		r[0] = rec(5, 10, 1, "ten.example.com");
		r[1] = rec(5, 90, 1, "ninety.example.com");
		r[2] = rec(5, 0, 1, "zero.example.com");
		fz_srv_order(r, 3, xorshift, &seed);
		first[r[0].target[0] == 't' ? 0 : r[0].target[0] == 'n' ? 1 : 2]++;
	}
	/* expected 10/101, 90/101, 1/101 of the rounds */
	assert_in_range(first[0], ROUNDS * 8 / 101, ROUNDS * 12 / 101);
	assert_in_range(first[1], ROUNDS * 86 / 101, ROUNDS * 94 / 101);
	assert_in_range(first[2], 1, ROUNDS * 3 / 101);
}

/* All weights 0: every record gets its turn at the front. */
static void test_order_all_zero_shuffled(void **state)
{
	unsigned first[4] = {0, 0, 0, 0};
	fz_srv_record r[4];
	uint32_t seed = 7;
	size_t i, k;

	(void)state;
	for (i = 0; i < 4000; i++) {
		for (k = 0; k < 4; k++) {
			char name[32];

			snprintf(name, sizeof(name), "%c.example.com", (char)('a' + k));
			r[k] = rec(1, 0, 1, name);
		}
		fz_srv_order(r, 4, xorshift, &seed);
		first[r[0].target[0] - 'a']++;
	}
	for (k = 0; k < 4; k++)
		assert_in_range(first[k], 700, 1300);
}

static void test_order_small_and_wild(void **state)
{
	fz_srv_record r[3] = {rec(1, 1, 1, "a.example.com"), rec(1, 2, 1, "b.example.com"),
			      rec(0, 0, 1, "c.example.com")};

	(void)state;
	fz_srv_order(r, 0, wild, NULL);
	fz_srv_order(r, 1, wild, NULL);
	assert_string_equal(r[0].target, "a.example.com");
	/* an rng returning more than asked cannot push the choice off the end */
	fz_srv_order(r, 3, wild, NULL);
	assert_string_equal(r[0].target, "c.example.com");
	assert_string_equal(r[1].target, "b.example.com");
	assert_string_equal(r[2].target, "a.example.com");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_name_normalize),
		cmocka_unit_test(test_usable_dot_only),
		cmocka_unit_test(test_usable_filters),
		cmocka_unit_test(test_order_priority),
		cmocka_unit_test(test_order_draw_boundaries),
		cmocka_unit_test(test_order_deterministic),
		cmocka_unit_test(test_order_frequencies),
		cmocka_unit_test(test_order_all_zero_shuffled),
		cmocka_unit_test(test_order_small_and_wild),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
