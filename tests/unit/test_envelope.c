/* The envelope digests of SPEC §4: the exact canonical bytes of
 * Recipients-Digest and eht, Body-Digest over JCS, JWT-Assertion-Digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "placeholder.h"

static json_t *block_of(const char *json)
{
	json_t *b = json_loads(json, 0, NULL);

	assert_non_null(b);
	return b;
}

static void bracketed(const char *data, char out[FZ_DIGEST_HDR_SIZE])
{
	fz_digest_str d;

	fz_digest(data, strlen(data), &d);
	fz_content_id_format(&d, out);
}

/* To, Cc, Bcc in that order whatever the block's order; names lowercased,
 * values trimmed of SP and HTAB at both ends, inner spacing kept. */
static void test_recipients_canon(void **state)
{
	static const char want[] =
		"to:Bob <bob@example.net>\r\n"
		"cc:\"Carol, C.\"  <carol@example.org>\r\n"
		"bcc:dave@example.net\r\n";
	json_t *b = block_of("[{\"BCC\": \"dave@example.net\"},"
			     " {\"From\": \"Alice <alice@example.com>\"},"
			     " {\"cc\": \" \\t\\\"Carol, C.\\\"  <carol@example.org>\\t \"},"
			     " {\"To\": \"Bob <bob@example.net>\"}]");
	char *c = NULL, d[FZ_DIGEST_HDR_SIZE], want_d[FZ_DIGEST_HDR_SIZE];
	size_t n = 0;

	(void)state;
	assert_int_equal(fz_envelope_recipients_canon(b, FZ_HOP_ORIGIN, &c, &n, NULL), FZ_OK);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(c, want, n);
	assert_int_equal(fz_envelope_recipients_digest(b, FZ_HOP_ORIGIN, d, NULL), FZ_OK);
	bracketed(want, want_d);
	assert_string_equal(d, want_d);
	free(c);
	json_decref(b);
}

static void test_recipients_only_to(void **state)
{
	json_t *b = block_of("[{\"To\": \"Bob <bob@example.net>\"}]");
	char d[FZ_DIGEST_HDR_SIZE];

	(void)state;
	assert_int_equal(fz_envelope_recipients_digest(b, FZ_HOP_ORIGIN, d, NULL), FZ_OK);
	/* digest("to:Bob <bob@example.net>\r\n"), pinned */
	assert_string_equal(d, "<bVgztTpis8102PDjj8z3Iq3n1gm0zXPnlLXPMnkmau8>");
	json_decref(b);
}

static void test_recipients_forward(void **state)
{
	static const char want[] = "forwarded-to:bobby@example.org\r\n";
	json_t *b = block_of("[{\"To\": \"Bob <bob@example.net>\"},"
			     " {\"Forwarded-To\": \"bobby@example.org \"}]");
	char *c = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(fz_envelope_recipients_canon(b, FZ_HOP_FORWARD, &c, &n, NULL), FZ_OK);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(c, want, n);
	free(c);
	json_decref(b);
}

static void test_recipients_none(void **state)
{
	json_t *b = block_of("[{\"From\": \"a@example.com\"}]");
	char d[FZ_DIGEST_HDR_SIZE];
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_envelope_recipients_digest(b, FZ_HOP_ORIGIN, d, &err), FZ_ESTRUCT);
	assert_non_null(strstr(err.msg, "no To, Cc or Bcc"));
	assert_int_equal(fz_envelope_recipients_digest(b, FZ_HOP_FORWARD, d, &err), FZ_ESTRUCT);
	assert_non_null(strstr(err.msg, "Forwarded-To is missing"));
	json_decref(b);
}

/* eht: names in ehl order, values from the block below the assertion. */
static void test_eht_canon(void **state)
{
	static const char want[] =
		"message-id:<b07d0cdf-c6f4-4f67-b24c-cc847a4c2df4@example.com>\r\n"
		"from:Alice <alice@example.com>\r\n"
		"recipients-digest:<bVgztTpis8102PDjj8z3Iq3n1gm0zXPnlLXPMnkmau8>\r\n"
		"body-digest:<a3uyN3yX_Grg3FdyOQLmXyv249rYWUiaY2vHBiEnLCk>\r\n";
	json_t *b = block_of(
		"[{\"Date\": \"Sun, 22 Dec 2024 20:49:35 +0200\"},"
		" {\"Recipients-Digest\": \"<bVgztTpis8102PDjj8z3Iq3n1gm0zXPnlLXPMnkmau8>\"},"
		" {\"Body-Digest\": \"<a3uyN3yX_Grg3FdyOQLmXyv249rYWUiaY2vHBiEnLCk>\"},"
		" {\"From\": \"Alice <alice@example.com>\"},"
		" {\"To\": \"Bob <bob@example.net>\"},"
		" {\"Message-ID\": \"<b07d0cdf-c6f4-4f67-b24c-cc847a4c2df4@example.com>\"}]");
	json_t *ehl = json_pack("[ssss]", "Message-ID", "From", "Recipients-Digest",
				"Body-Digest");
	fz_digest_str eht, want_d;
	char *c = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(fz_envelope_canon_ehl(b, ehl, &c, &n, NULL), FZ_OK);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(c, want, n);
	assert_int_equal(fz_envelope_eht(b, ehl, &eht, NULL), FZ_OK);
	fz_digest(want, sizeof(want) - 1, &want_d);
	assert_string_equal(eht.s, want_d.s);
	free(c);
	json_decref(ehl);
	json_decref(b);
}

static void test_canon_names_case(void **state)
{
	static const char *const names[] = {"SUBJECT", "x-thread-id"};
	static const char want[] = "subject:Hi\r\nx-thread-id:<t@example.com>\r\n";
	json_t *b = block_of("[{\"X-Thread-ID\": \"<t@example.com>\"}, {\"Subject\": \"Hi\"}]");
	char *c = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(fz_envelope_canon(b, names, 2, &c, &n, NULL), FZ_OK);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(c, want, n);
	free(c);
	json_decref(b);
}

static void expect_canon_fails(const char *block, const char *ehl_json, const char *why)
{
	json_t *b = block_of(block);
	json_t *ehl = json_loads(ehl_json, 0, NULL);
	fz_digest_str d;
	fz_err err = {0};

	assert_int_equal(fz_envelope_eht(b, ehl, &d, &err), FZ_ESTRUCT);
	if (strstr(err.msg, why) == NULL)
		print_error("%s\n", err.msg);
	assert_non_null(strstr(err.msg, why));
	json_decref(ehl);
	json_decref(b);
}

static void test_ehl_name_missing(void **state)
{
	(void)state;
	expect_canon_fails("[{\"From\": \"a@example.com\"}]", "[\"From\", \"Body-Digest\"]",
			   "header Body-Digest is missing from the block");
}

static void test_ehl_list_value(void **state)
{
	(void)state;
	expect_canon_fails("[{\"Content-Type\": [\"a/b\", \"c/d\"]}]", "[\"Content-Type\"]",
			   "list value");
}

static void test_ehl_bad_lists(void **state)
{
	(void)state;
	expect_canon_fails("[{\"From\": \"a@example.com\"}]", "[]", "non-empty");
	expect_canon_fails("[{\"From\": \"a@example.com\"}]", "{\"a\": 1}", "non-empty");
	expect_canon_fails("[{\"From\": \"a@example.com\"}]", "[\"From\", 1]", "header names");
	expect_canon_fails("[{\"From\": \"a@example.com\"}]", "[\"From\", \"FROM\"]",
			   "named twice");
	expect_canon_fails("[{\"From\": \"a@example.com\"}]", "[\"Fr om\"]",
			   "not a header name");
}

/* A value that would forge a line is refused even in an unchecked block. */
static void test_canon_refuses_crlf(void **state)
{
	json_t *b = json_pack("[{s:s}]", "From", "a@example.com\r\nto:eve@example.org");
	json_t *ehl = json_pack("[s]", "From");
	fz_digest_str d;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_envelope_eht(b, ehl, &d, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "control character U+000D"));
	json_decref(ehl);
	json_decref(b);
}

static void test_body_digest(void **state)
{
	json_t *body = json_loads("{\"parts\": [{\"headers\": [{\"B\": \"2\"}, {\"A\": \"1\"}]}]}",
				  0, NULL);
	char d[FZ_DIGEST_HDR_SIZE], want[FZ_DIGEST_HDR_SIZE];
	fz_err err = {0};
	json_t *arr = json_array();

	(void)state;
	assert_int_equal(fz_envelope_body_digest(body, d, NULL), FZ_OK);
	/* array order kept, member order sorted: here nothing to sort */
	bracketed("{\"parts\":[{\"headers\":[{\"B\":\"2\"},{\"A\":\"1\"}]}]}", want);
	assert_string_equal(d, want);
	assert_int_equal(fz_envelope_body_digest(arr, d, &err), FZ_ESTRUCT);
	json_decref(arr);
	json_decref(body);
}

static void test_jws_digest(void **state)
{
	static const char jws[] = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
	char d[FZ_DIGEST_HDR_SIZE], want[FZ_DIGEST_HDR_SIZE];
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_envelope_jws_digest(jws, strlen(jws), d, NULL), FZ_OK);
	bracketed(jws, want);
	assert_string_equal(d, want);
	assert_int_equal(fz_envelope_jws_digest("a.b c", 5, d, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "printable ASCII"));
	assert_int_equal(fz_envelope_jws_digest("a.\xc3\xa9.c", 6, d, &err), FZ_ESYNTAX);
	assert_int_equal(fz_envelope_jws_digest("", 0, d, &err), FZ_ESYNTAX);
}

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

static void expect_header(const json_t *block, const char *name, const char *want)
{
	const char *v;
	size_t n;

	assert_int_equal(fz_headers_get(block, name, &v, &n, NULL), FZ_OK);
	assert_string_equal(v, want);
}

/* The delivered seed message carries its own digests: recomputing them
 * from the document gives the same values. */
static void test_received_digests_match(void **state)
{
	char bd[FZ_DIGEST_HDR_SIZE], rd[FZ_DIGEST_HDR_SIZE], jd[FZ_DIGEST_HDR_SIZE];
	const json_t *origin, *receipt, *block;
	fz_entry_kind kind;
	const char *jws;
	size_t n, jlen;
	char *yaml;
	json_t *doc = NULL;

	(void)state;
	yaml = read_data("seed-received.yaml", &n);
	assert_int_equal(fz_placeholder_load(FZ_PH_YAML, yaml, n, NULL, &doc, NULL), FZ_OK);
	origin = fz_placeholder_origin(doc);
	receipt = fz_placeholder_newest_headers(doc);
	assert_true(fz_placeholder_is_sent(doc));
	assert_int_equal(fz_envelope_body_digest(fz_placeholder_body(doc), bd, NULL), FZ_OK);
	expect_header(origin, "Body-Digest", bd);
	assert_int_equal(fz_envelope_recipients_digest(origin, FZ_HOP_ORIGIN, rd, NULL), FZ_OK);
	expect_header(origin, "Recipients-Digest", rd);
	assert_int_equal(fz_placeholder_entry(doc, 1, &kind, &block, &jws, &jlen, NULL), FZ_OK);
	assert_int_equal(kind, FZ_ENTRY_ASSERTION);
	assert_int_equal(fz_envelope_jws_digest(jws, jlen, jd, NULL), FZ_OK);
	expect_header(receipt, "JWT-Assertion-Digest", jd);
	json_decref(doc);
	free(yaml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recipients_canon),
		cmocka_unit_test(test_recipients_only_to),
		cmocka_unit_test(test_recipients_forward),
		cmocka_unit_test(test_recipients_none),
		cmocka_unit_test(test_eht_canon),
		cmocka_unit_test(test_canon_names_case),
		cmocka_unit_test(test_ehl_name_missing),
		cmocka_unit_test(test_ehl_list_value),
		cmocka_unit_test(test_ehl_bad_lists),
		cmocka_unit_test(test_canon_refuses_crlf),
		cmocka_unit_test(test_body_digest),
		cmocka_unit_test(test_jws_digest),
		cmocka_unit_test(test_received_digests_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
