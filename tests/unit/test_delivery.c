/* The envelope edits of sending and delivering (delivery.h): the seed's
 * Fig. 1 draft sealed, signed and received becomes exactly the seed's
 * received message; RFC 5322 dates; recipients gathered once each; the
 * exchange's headers parameter; Bcc kept only in its own copy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "envelope.h"
#include "placeholder.h"

/* The stand-in assertion of tests/data/seed-received.yaml. */
#define SEED_JWS \
	"eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0." \
	"eyJpc3MiOiJodHRwczovL2FzMS5leGFtcGxlLmNvbS8ifQ.c3RhbmQtaW4gc2lnbmF0dXJl"

static char *read_data(const char *name, size_t *len)
{
	const char *dir = getenv("FZ_TEST_DATA");
	char path[1024];
	char *buf;
	long n;
	FILE *f;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static json_t *load(const char *name)
{
	size_t n;
	char *yaml = read_data(name, &n);
	json_t *doc = NULL;

	assert_int_equal(fz_placeholder_load(FZ_PH_YAML, yaml, n, NULL, &doc, NULL), FZ_OK);
	free(yaml);
	return doc;
}

static json_t *doc_of(const char *json)
{
	json_t *d = json_loads(json, 0, NULL);

	assert_non_null(d);
	assert_int_equal(fz_placeholder_check(d, NULL, NULL), FZ_OK);
	return d;
}

/* Fig. 1 + seal + assertion + receipt = seed-received.yaml, every byte
 * of every header in its place. */
static void test_seed_round_trip(void **state)
{
	json_t *doc = load("seed-fig1.yaml"), *want = load("seed-received.yaml");
	fz_err e = {0};

	(void)state;
	assert_int_equal(fz_delivery_seal(doc, "Sun, 22 Dec 2024 20:49:35 +0200", &e), FZ_OK);
	assert_true(fz_placeholder_is_sent(doc));
	assert_int_equal(fz_delivery_add_assertion(doc, SEED_JWS, &e), FZ_OK);
	assert_int_equal(fz_delivery_add_receipt(doc, "example.com", "example.net",
						 "Sun, 22 Dec 2024 20:58:14 +0200", &e), FZ_OK);
	assert_int_equal(fz_placeholder_check(doc, NULL, NULL), FZ_OK);
	assert_true(json_equal(doc, want));
	json_decref(doc);
	json_decref(want);
}

/* Sealing twice is refused: a Date means sent. */
static void test_seal_twice(void **state)
{
	json_t *doc = load("seed-fig1.yaml");
	fz_err e = {0};

	(void)state;
	assert_int_equal(fz_delivery_seal(doc, "Sun, 22 Dec 2024 20:49:35 +0200", NULL), FZ_OK);
	assert_int_equal(fz_delivery_seal(doc, "Sun, 22 Dec 2024 20:49:36 +0200", &e),
			 FZ_ECONFLICT);
	assert_int_equal(e.status, 409);
	json_decref(doc);
}

/* A receipt needs an assertion to digest. */
static void test_receipt_needs_assertion(void **state)
{
	json_t *doc = load("seed-fig1.yaml");

	(void)state;
	assert_int_equal(fz_delivery_add_receipt(doc, "example.com", "example.net", "x", NULL),
			 FZ_ESTRUCT);
	json_decref(doc);
}

static void test_date(void **state)
{
	char d[FZ_DATE_SIZE];

	(void)state;
	assert_int_equal(fz_delivery_date(0, d, NULL), FZ_OK);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	assert_int_equal(fz_delivery_date(1734893375, d, NULL), FZ_OK);
	assert_string_equal(d, "Sun, 22 Dec 2024 18:49:35 +0000");
}

static void test_exchange_headers(void **state)
{
	json_t *doc = load("seed-received.yaml");
	char *h = NULL;

	(void)state;
	assert_int_equal(fz_delivery_exchange_headers(fz_placeholder_origin(doc), &h, NULL), FZ_OK);
	assert_string_equal(h,
			    "[{\"Message-ID\":\"<b07d0cdf-c6f4-4f67-b24c-cc847a4c2df4@example.com>\"},"
			    "{\"From\":\"Alice <alice@example.com>\"},"
			    "{\"Recipients-Digest\":\"<bVgztTpis8102PDjj8z3Iq3n1gm0zXPnlLXPMnkmau8>\"},"
			    "{\"Body-Digest\":\"<a3uyN3yX_Grg3FdyOQLmXyv249rYWUiaY2vHBiEnLCk>\"}]");
	free(h);
	json_decref(doc);
}

#define BODY \
	"\"body\": {\"parts\": [{\"headers\": [{\"Content-ID\": " \
	"\"<ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0>\"}, {\"Content-Type\": " \
	"[\"message/external-body; access-type=\\\"x-content-addressed-uri\\\"; " \
	"hash-algorithm=\\\"sha256\\\"; size=\\\"3\\\"\", \"text/plain\"]}]}]}"

static json_t *draft(const char *rcpt_headers)
{
	char buf[2048];

	snprintf(buf, sizeof(buf),
		 "{\"envelope\": [{\"headers\": [{\"From\": \"alice@example.com\"}, %s, "
		 "{\"Message-ID\": \"<1@example.com>\"}]}], " BODY "}", rcpt_headers);
	return doc_of(buf);
}

/* Each address once, To/Cc before Bcc; an address in To and Bcc is no
 * Bcc recipient; domains lowercased, local parts kept. */
static void test_recipients(void **state)
{
	json_t *doc = draft("{\"To\": \"Bob <bob@Example.com>, carol@example.net\"}, "
			    "{\"Cc\": \"bob@example.com\"}, "
			    "{\"Bcc\": \"Dave@example.org, carol@example.net\"}");
	fz_rcpts r;

	(void)state;
	assert_int_equal(fz_delivery_recipients(fz_placeholder_origin(doc), 10, &r, NULL), FZ_OK);
	assert_int_equal(r.n, 3);
	assert_string_equal(r.v[0].address, "bob@example.com");
	assert_string_equal(r.v[0].domain, "example.com");
	assert_false(r.v[0].bcc_only);
	assert_string_equal(r.v[1].address, "carol@example.net");
	assert_false(r.v[1].bcc_only);
	assert_string_equal(r.v[2].address, "Dave@example.org");
	assert_string_equal(r.v[2].domain, "example.org");
	assert_true(r.v[2].bcc_only);
	fz_rcpts_free(&r);
	/* the limit counts every address named */
	assert_int_equal(fz_delivery_recipients(fz_placeholder_origin(doc), 4, &r, NULL), FZ_ELIMIT);
	fz_rcpts_free(&r);
	json_decref(doc);
}

static void test_no_recipients(void **state)
{
	json_t *doc = draft("{\"Subject\": \"to nobody\"}");
	fz_rcpts r;

	(void)state;
	assert_int_equal(fz_delivery_recipients(fz_placeholder_origin(doc), 10, &r, NULL),
			 FZ_ESTRUCT);
	assert_int_equal(r.n, 0);
	json_decref(doc);
}

static const char *bcc_of(const json_t *doc)
{
	const json_t *v = fz_headers_find(fz_placeholder_origin(doc), "Bcc");

	return v ? json_string_value(v) : NULL;
}

/* SPEC §7.4: Bcc is in no copy but its own recipients'. */
static void test_bcc_per_copy(void **state)
{
	json_t *doc = draft("{\"To\": \"bob@example.com\"}, "
			    "{\"Bcc\": \"Carol <carol@example.net>, dan@example.net, eve@example.com\"}");
	json_t *c;

	(void)state;
	/* the copy for bob, a To recipient: no Bcc at all */
	assert_int_equal(fz_delivery_copy(doc, "example.com", "bob@example.com", &c, NULL), FZ_OK);
	assert_null(bcc_of(c));
	assert_int_equal(fz_placeholder_check(c, NULL, NULL), FZ_OK);
	json_decref(c);
	/* eve's own copy names eve alone */
	assert_int_equal(fz_delivery_copy(doc, "example.com", "eve@example.com", &c, NULL), FZ_OK);
	assert_string_equal(bcc_of(c), "eve@example.com");
	json_decref(c);
	/* the copy for example.net names its two Bcc recipients */
	assert_int_equal(fz_delivery_copy(doc, "example.net", NULL, &c, NULL), FZ_OK);
	assert_string_equal(bcc_of(c), "carol@example.net, dan@example.net");
	json_decref(c);
	/* a domain without Bcc recipients: none */
	assert_int_equal(fz_delivery_copy(doc, "example.org", NULL, &c, NULL), FZ_OK);
	assert_null(bcc_of(c));
	json_decref(c);
	/* the original keeps all three */
	assert_string_equal(bcc_of(doc),
			    "Carol <carol@example.net>, dan@example.net, eve@example.com");
	json_decref(doc);
}

/* Bcc removed leaves the digests the AS signed untouched. */
static void test_copy_keeps_digests(void **state)
{
	json_t *doc = draft("{\"To\": \"bob@example.com\"}, {\"Bcc\": \"eve@example.net\"}");
	const char *rd, *rd2;
	size_t n;
	json_t *c;

	(void)state;
	assert_int_equal(fz_delivery_seal(doc, "Thu, 01 Jan 1970 00:00:00 +0000", NULL), FZ_OK);
	assert_int_equal(fz_delivery_copy(doc, "example.com", NULL, &c, NULL), FZ_OK);
	assert_int_equal(fz_headers_get(fz_placeholder_origin(doc), "Recipients-Digest", &rd, &n,
					NULL), FZ_OK);
	assert_int_equal(fz_headers_get(fz_placeholder_origin(c), "Recipients-Digest", &rd2, &n,
					NULL), FZ_OK);
	assert_string_equal(rd, rd2);
	assert_null(bcc_of(c));
	json_decref(c);
	json_decref(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_round_trip),
		cmocka_unit_test(test_seal_twice),
		cmocka_unit_test(test_receipt_needs_assertion),
		cmocka_unit_test(test_date),
		cmocka_unit_test(test_exchange_headers),
		cmocka_unit_test(test_recipients),
		cmocka_unit_test(test_no_recipients),
		cmocka_unit_test(test_bcc_per_copy),
		cmocka_unit_test(test_copy_keeps_digests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
