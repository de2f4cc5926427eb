/* The DNS answer walker (dns_answer.c) on answers dnsmasq sent (an SRV
 * answer with compressed names, a CNAME chain, A and AAAA records) and on
 * hand-built broken ones: every error branch names what was malformed,
 * and nothing is read past the buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "dns_answer.h"

#define NAME "_federizer._as._tcp.a.test"
#define MAX 8

/* --- answers dnsmasq sent -------------------------------------------------- */

static const unsigned char srv_three[] = {
	0xde, 0x5f, 0x85, 0x80, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x5f, 0x66, 0x65, 0x64, 0x65, 0x72, 0x69, 0x7a, 0x65, 0x72, 0x03,
	0x5f, 0x61, 0x73, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x01, 0x61, 0x04, 0x74,
	0x65, 0x73, 0x74, 0x00, 0x00, 0x21, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x21,
	0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x19, 0x00, 0x14, 0x00, 0x00,
	0x01, 0xbb, 0x06, 0x62, 0x61, 0x63, 0x6b, 0x75, 0x70, 0x05, 0x6f, 0x74,
	0x68, 0x65, 0x72, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x0c, 0x00,
	0x21, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x12, 0x00, 0x0a, 0x00,
	0x14, 0x20, 0xfb, 0x03, 0x61, 0x73, 0x32, 0x01, 0x61, 0x04, 0x74, 0x65,
	0x73, 0x74, 0x00, 0xc0, 0x0c, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x01,
	0x2c, 0x00, 0x12, 0x00, 0x0a, 0x00, 0x3c, 0x01, 0xbb, 0x03, 0x61, 0x73,
	0x31, 0x01, 0x61, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
};

static const unsigned char srv_cname_chain[] = {
	0x5e, 0xb0, 0x85, 0x80, 0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00,
	0x0a, 0x5f, 0x66, 0x65, 0x64, 0x65, 0x72, 0x69, 0x7a, 0x65, 0x72, 0x03,
	0x5f, 0x61, 0x73, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x05, 0x61, 0x6c, 0x69,
	0x61, 0x73, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0x00, 0x21, 0x00, 0x01,
	0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x1e,
	0x0a, 0x5f, 0x66, 0x65, 0x64, 0x65, 0x72, 0x69, 0x7a, 0x65, 0x72, 0x03,
	0x5f, 0x61, 0x73, 0x04, 0x5f, 0x74, 0x63, 0x70, 0x03, 0x6d, 0x69, 0x64,
	0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x3c, 0x00, 0x05, 0x00, 0x01,
	0x00, 0x00, 0x01, 0x2c, 0x00, 0x1c, 0x0a, 0x5f, 0x66, 0x65, 0x64, 0x65,
	0x72, 0x69, 0x7a, 0x65, 0x72, 0x03, 0x5f, 0x61, 0x73, 0x04, 0x5f, 0x74,
	0x63, 0x70, 0x01, 0x61, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x66,
	0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x12, 0x00, 0x0a,
	0x00, 0x14, 0x20, 0xfb, 0x03, 0x61, 0x73, 0x32, 0x01, 0x61, 0x04, 0x74,
	0x65, 0x73, 0x74, 0x00, 0xc0, 0x66, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00,
	0x01, 0x2c, 0x00, 0x12, 0x00, 0x0a, 0x00, 0x3c, 0x01, 0xbb, 0x03, 0x61,
	0x73, 0x31, 0x01, 0x61, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00, 0xc0, 0x66,
	0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x19, 0x00, 0x14,
	0x00, 0x00, 0x01, 0xbb, 0x06, 0x62, 0x61, 0x63, 0x6b, 0x75, 0x70, 0x05,
	0x6f, 0x74, 0x68, 0x65, 0x72, 0x04, 0x74, 0x65, 0x73, 0x74, 0x00,
};

static const unsigned char a_multi[] = {
	0x96, 0x6c, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x6d, 0x75, 0x6c, 0x74, 0x69, 0x01, 0x61, 0x04, 0x74, 0x65, 0x73,
	0x74, 0x00, 0x00, 0x01, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01,
	0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 0x7f, 0x00, 0x00, 0x02, 0xc0, 0x0c,
	0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 0x7f, 0x00,
	0x00, 0x03,
};

static const unsigned char aaaa_multi[] = {
	0x89, 0x75, 0x85, 0x80, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
	0x05, 0x6d, 0x75, 0x6c, 0x74, 0x69, 0x01, 0x61, 0x04, 0x74, 0x65, 0x73,
	0x74, 0x00, 0x00, 0x1c, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01,
	0x00, 0x00, 0x01, 0x2c, 0x00, 0x10, 0xfd, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0xc0, 0x0c,
	0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x10, 0xfd, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x03,
};

/* --- a builder for broken ones -------------------------------------------- */

typedef struct pkt {
	unsigned char b[512];
	size_t n;
} pkt;

static void put(pkt *p, const void *bytes, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, bytes, n);
	p->n += n;
}

static void put16(pkt *p, uint16_t v)
{
	unsigned char b[2] = {(unsigned char)(v >> 8), (unsigned char)v};

	put(p, b, 2);
}

static void put32(pkt *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p, (uint16_t)v);
}

/* A response header and the question "a.test IN type". */
static void head(pkt *p, uint16_t qd, uint16_t an, uint16_t type)
{
	memset(p, 0, sizeof(*p));
	put16(p, 0x1234);
	put16(p, 0x8580);
	put16(p, qd);
	put16(p, an);
	put32(p, 0);
	if (qd == 0)
		return;
	put(p, "\x01" "a" "\x04" "test", 7);
	put(p, "", 1);
	put16(p, type);
	put16(p, 1);
}

/* A record header owned by the question's name (a pointer to 12). */
static void rr(pkt *p, uint16_t type, uint32_t ttl, uint16_t rdlen)
{
	put16(p, 0xc00c);
	put16(p, type);
	put16(p, 1);
	put32(p, ttl);
	put16(p, rdlen);
}

static void srv_rdata(pkt *p, uint16_t prio, uint16_t weight, uint16_t port)
{
	put16(p, prio);
	put16(p, weight);
	put16(p, port);
	put16(p, 0xc00c); /* target: the question's name */
}

static fz_srv_record srv[MAX];
static fz_dns_addr addr[MAX];

static fz_code parse(int type, const unsigned char *b, size_t n, fz_dns_answer *ans,
		     fz_err *err)
{
	memset(srv, 0, sizeof(srv));
	memset(addr, 0, sizeof(addr));
	*ans = (fz_dns_answer){.name = NAME, .type = type, .max_records = MAX,
			       .srv = srv, .addr = addr};
	fz_err_clear(err);
	return fz_dns_answer_parse(ans, b, n, err);
}

static void expect_bad(int type, const unsigned char *b, size_t n, const char *why)
{
	char want[FZ_ERR_MSG_MAX];
	fz_dns_answer ans;
	fz_err err;

	snprintf(want, sizeof(want), "dns: " NAME ": malformed answer (%s)", why);
	assert_int_equal(parse(type, b, n, &ans, &err), FZ_ESTRUCT);
	assert_string_equal(err.msg, want);
}

/* --- what is read ----------------------------------------------------------- */

static void test_srv_compressed(void **state)
{
	fz_dns_answer ans;
	fz_err err;

	(void)state;
	assert_int_equal(parse(FZ_DNS_TYPE_SRV, srv_three, sizeof(srv_three), &ans, &err),
			 FZ_OK);
	assert_int_equal(ans.n, 3);
	assert_int_equal(ans.ttl, 300);
	/* in the order dnsmasq wrote them */
	assert_string_equal(srv[0].target, "backup.other.test");
	assert_int_equal(srv[0].priority, 20);
	assert_int_equal(srv[0].weight, 0);
	assert_string_equal(srv[1].target, "as2.a.test");
	assert_int_equal(srv[1].port, 8443);
	assert_string_equal(srv[2].target, "as1.a.test");
	assert_int_equal(srv[2].priority, 10);
	assert_int_equal(srv[2].weight, 60);
	assert_int_equal(srv[2].port, 443);
	/* the same bytes hold no address record */
	assert_int_equal(parse(FZ_DNS_TYPE_A, srv_three, sizeof(srv_three), &ans, &err), FZ_OK);
	assert_int_equal(ans.n, 0);
	assert_int_equal(ans.ttl, 0);
}

static void test_cname_chain(void **state)
{
	fz_dns_answer ans;
	fz_err err;

	(void)state;
	assert_int_equal(parse(FZ_DNS_TYPE_SRV, srv_cname_chain, sizeof(srv_cname_chain),
			       &ans, &err), FZ_OK);
	assert_int_equal(ans.n, 3); /* the two CNAMEs are skipped */
	assert_int_equal(ans.ttl, 300);
	assert_string_equal(srv[0].target, "as2.a.test");
	assert_int_equal(srv[0].port, 8443);
	assert_string_equal(srv[2].target, "backup.other.test");
}

static void test_addresses(void **state)
{
	fz_dns_answer ans;
	fz_err err;

	(void)state;
	assert_int_equal(parse(FZ_DNS_TYPE_A, a_multi, sizeof(a_multi), &ans, &err), FZ_OK);
	assert_int_equal(ans.n, 2);
	assert_int_equal(addr[0].family, AF_INET);
	assert_string_equal(addr[0].text, "127.0.0.2");
	assert_string_equal(addr[1].text, "127.0.0.3");
	assert_int_equal(parse(FZ_DNS_TYPE_AAAA, aaaa_multi, sizeof(aaaa_multi), &ans, &err),
			 FZ_OK);
	assert_int_equal(ans.n, 2);
	assert_int_equal(addr[0].family, AF_INET6);
	assert_string_equal(addr[0].text, "fd00::2");
}

/* RFC 2181 §8: a TTL with the top bit set is 0, and the smallest wins. */
static void test_ttl_top_bit(void **state)
{
	fz_dns_answer ans;
	fz_err err;
	pkt p;

	(void)state;
	head(&p, 1, 2, FZ_DNS_TYPE_SRV);
	rr(&p, FZ_DNS_TYPE_SRV, 600, 8);
	srv_rdata(&p, 1, 1, 443);
	rr(&p, FZ_DNS_TYPE_SRV, 0x80000001u, 8);
	srv_rdata(&p, 2, 1, 443);
	assert_int_equal(parse(FZ_DNS_TYPE_SRV, p.b, p.n, &ans, &err), FZ_OK);
	assert_int_equal(ans.n, 2);
	assert_int_equal(ans.ttl, 0);
	assert_string_equal(srv[0].target, "a.test");
	/* INT32_MAX itself is a TTL */
	head(&p, 1, 1, FZ_DNS_TYPE_SRV);
	rr(&p, FZ_DNS_TYPE_SRV, 0x7fffffffu, 8);
	srv_rdata(&p, 1, 1, 443);
	assert_int_equal(parse(FZ_DNS_TYPE_SRV, p.b, p.n, &ans, &err), FZ_OK);
	assert_int_equal(ans.ttl, 0x7fffffffu);
}

/* --- what is refused ------------------------------------------------------- */

static void test_short_header(void **state)
{
	(void)state;
	expect_bad(FZ_DNS_TYPE_SRV, srv_three, 11, "short header");
	expect_bad(FZ_DNS_TYPE_A, srv_three, 0, "short header");
}

static void test_bad_name(void **state)
{
	pkt p;

	(void)state;
	/* the question's first label runs past the end */
	head(&p, 0, 0, 0);
	p.b[5] = 1;
	put(&p, "\x3f" "abc", 4);
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n, "question");
	/* the question's fixed part is cut */
	head(&p, 1, 0, FZ_DNS_TYPE_SRV);
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n - 1, "question");
	/* a record's owner is a pointer past the end */
	head(&p, 1, 1, FZ_DNS_TYPE_SRV);
	put16(&p, 0xc1ff);
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n, "record header");
	/* a reserved label type (0x40) */
	head(&p, 1, 1, FZ_DNS_TYPE_SRV);
	put(&p, "\x41" "a", 2);
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n, "record header");
	/* a record header cut short */
	head(&p, 1, 1, FZ_DNS_TYPE_SRV);
	rr(&p, FZ_DNS_TYPE_SRV, 60, 8);
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n - 3, "record header");
}

static void test_pointer_loop(void **state)
{
	pkt p;
	size_t at;

	(void)state;
	/* the question's name points at itself */
	head(&p, 0, 0, 0);
	p.b[5] = 1;
	put16(&p, 0xc00c);
	put16(&p, FZ_DNS_TYPE_SRV);
	put16(&p, 1);
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n, "question");
	/* two names pointing at each other, in the answer */
	head(&p, 1, 1, FZ_DNS_TYPE_SRV);
	at = p.n;
	put16(&p, (uint16_t)(0xc000 | (at + 2)));
	put16(&p, (uint16_t)(0xc000 | at));
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n, "record header");
	/* an SRV target that loops */
	head(&p, 1, 1, FZ_DNS_TYPE_SRV);
	rr(&p, FZ_DNS_TYPE_SRV, 60, 8);
	at = p.n;
	put16(&p, 1);
	put16(&p, 1);
	put16(&p, 443);
	put16(&p, (uint16_t)(0xc000 | (at + 6)));
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n, "SRV record");
}

static void test_record_data_past_end(void **state)
{
	pkt p;

	(void)state;
	/* dnsmasq's answer, its last three bytes cut */
	expect_bad(FZ_DNS_TYPE_SRV, srv_three, sizeof(srv_three) - 3, "record data");
	/* rdlen claims more than there is, in a record of another type too */
	head(&p, 1, 1, FZ_DNS_TYPE_SRV);
	rr(&p, 5, 60, 40);
	put(&p, "\x01" "b" "\0", 3);
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n, "record data");
	/* an SRV target that ends past its rdlen (inside the buffer) */
	head(&p, 1, 2, FZ_DNS_TYPE_SRV);
	rr(&p, FZ_DNS_TYPE_SRV, 60, 7);
	put16(&p, 1);
	put16(&p, 1);
	put16(&p, 443);
	put(&p, "\x01" "b" "\0", 3);
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n, "SRV record");
}

static void test_bad_rdata(void **state)
{
	pkt p;

	(void)state;
	/* SRV rdata without room for a target */
	head(&p, 1, 1, FZ_DNS_TYPE_SRV);
	rr(&p, FZ_DNS_TYPE_SRV, 60, 6);
	put16(&p, 1);
	put16(&p, 1);
	put16(&p, 443);
	expect_bad(FZ_DNS_TYPE_SRV, p.b, p.n, "SRV record");
	/* an A record of 5 bytes, an AAAA of 4 */
	head(&p, 1, 1, FZ_DNS_TYPE_A);
	rr(&p, FZ_DNS_TYPE_A, 60, 5);
	put(&p, "\x7f\0\0\1\1", 5);
	expect_bad(FZ_DNS_TYPE_A, p.b, p.n, "address record");
	head(&p, 1, 1, FZ_DNS_TYPE_AAAA);
	rr(&p, FZ_DNS_TYPE_AAAA, 60, 4);
	put(&p, "\x7f\0\0\1", 4);
	expect_bad(FZ_DNS_TYPE_AAAA, p.b, p.n, "address record");
}

static void test_too_many(void **state)
{
	fz_dns_answer ans;
	fz_err err;

	(void)state;
	parse(FZ_DNS_TYPE_SRV, srv_three, sizeof(srv_three), &ans, &err);
	ans.max_records = 2;
	assert_int_equal(fz_dns_answer_parse(&ans, srv_three, sizeof(srv_three), &err),
			 FZ_ELIMIT);
	assert_string_equal(err.msg, "dns: " NAME ": more than 2 records");
}

/* Other classes are skipped like other types. */
static void test_other_class(void **state)
{
	fz_dns_answer ans;
	fz_err err;
	pkt p;

	(void)state;
	head(&p, 1, 1, FZ_DNS_TYPE_A);
	put16(&p, 0xc00c);
	put16(&p, FZ_DNS_TYPE_A);
	put16(&p, 3); /* CH */
	put32(&p, 60);
	put16(&p, 4);
	put(&p, "\x7f\0\0\1", 4);
	assert_int_equal(parse(FZ_DNS_TYPE_A, p.b, p.n, &ans, &err), FZ_OK);
	assert_int_equal(ans.n, 0);
	assert_int_equal(ans.ttl, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srv_compressed),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_ttl_top_bit),
		cmocka_unit_test(test_short_header),
		cmocka_unit_test(test_bad_name),
		cmocka_unit_test(test_pointer_loop),
		cmocka_unit_test(test_record_data_past_end),
		cmocka_unit_test(test_bad_rdata),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_other_class),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
