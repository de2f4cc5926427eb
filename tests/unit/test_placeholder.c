/* The Placeholder Message: YAML and JSON into one tree and back, the
 * SPEC §3 shape and limits, header blocks, MIME parameters, address lists
 * and Message-IDs. Every refusal is its own test, checking the code and
 * the words of the message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "jcs.h"
#include "placeholder.h"

/* The pinned Body-Digest of tests/data/seed-fig1.yaml (JCS of its body,
 * checked once against an independent JCS). */
#define SEED_BODY_DIGEST "<a3uyN3yX_Grg3FdyOQLmXyv249rYWUiaY2vHBiEnLCk>"

#define CID_TXT "<clETINq7nHd18UnmWglKO0HeHzij0f7dHjgImHTthio>"
#define OUTER(size)                                                      \
	"message/external-body; access-type=\"x-content-addressed-uri\"; " \
	"hash-algorithm=\"sha256\"; size=\"" size "\""

#define ENV                                        \
	"envelope:\n"                              \
	"- headers:\n"                             \
	"  - From: Alice <alice@example.com>\n"    \
	"  - To: Bob <bob@example.net>\n"          \
	"  - Message-ID: <m1@example.com>\n"

/* A body of one leaf whose header lines are given. */
#define LEAF(lines) "body:\n  parts:\n  - headers:\n" lines
#define H(line) "    - " line "\n"
#define CT(outer, inner) "    - Content-Type:\n      - " outer "\n      - " inner "\n"

#define GOOD_LEAF H("Content-ID: " CID_TXT) CT(OUTER("42"), "text/plain; charset=UTF-8")

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

static json_t *load(fz_ph_format fmt, const char *s, size_t n)
{
	fz_err err = {0};
	json_t *doc = NULL;
	fz_code rc = fz_placeholder_load(fmt, s, n, NULL, &doc, &err);

	if (rc != FZ_OK)
		print_error("unexpected refusal: %s\n", err.msg);
	assert_int_equal(rc, FZ_OK);
	return doc;
}

static void expect_lim(fz_ph_format fmt, const char *s, size_t n,
		       const fz_limits *lim, fz_code code, const char *why)
{
	fz_err err = {0};
	json_t *doc = NULL;
	fz_code rc = fz_placeholder_load(fmt, s, n, lim, &doc, &err);

	if (rc != code || strstr(err.msg, why) == NULL)
		print_error("got %s: %s\n", fz_code_name(rc), err.msg);
	assert_int_equal(rc, code);
	assert_null(doc);
	assert_non_null(strstr(err.msg, why));
}

static void expect_yaml(const char *s, fz_code code, const char *why)
{
	expect_lim(FZ_PH_YAML, s, strlen(s), NULL, code, why);
}

static void expect_json(const char *s, fz_code code, const char *why)
{
	expect_lim(FZ_PH_JSON, s, strlen(s), NULL, code, why);
}

/* ---- the seed message ---- */

static void test_seed_yaml_json_roundtrip(void **state)
{
	char bd_yaml[FZ_DIGEST_HDR_SIZE], bd_json[FZ_DIGEST_HDR_SIZE];
	char *yaml, *json = NULL, *yaml2 = NULL;
	size_t ylen, jlen, y2len;
	json_t *a, *b, *c;

	(void)state;
	yaml = read_data("seed-fig1.yaml", &ylen);
	a = load(FZ_PH_YAML, yaml, ylen);
	assert_int_equal(fz_placeholder_to_json(a, false, &json, &jlen, NULL), FZ_OK);
	b = load(FZ_PH_JSON, json, jlen);
	assert_true(json_equal(a, b));
	assert_int_equal(fz_placeholder_to_yaml(b, &yaml2, &y2len, NULL), FZ_OK);
	c = load(FZ_PH_YAML, yaml2, y2len);
	assert_true(json_equal(a, c));

	assert_int_equal(fz_envelope_body_digest(fz_placeholder_body(a), bd_yaml, NULL),
			 FZ_OK);
	assert_int_equal(fz_envelope_body_digest(fz_placeholder_body(b), bd_json, NULL),
			 FZ_OK);
	assert_string_equal(bd_yaml, SEED_BODY_DIGEST);
	assert_string_equal(bd_json, SEED_BODY_DIGEST);
	free(yaml);
	free(json);
	free(yaml2);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

static void test_seed_json_file(void **state)
{
	char *yaml, *json, bd[FZ_DIGEST_HDR_SIZE];
	size_t ylen, jlen;
	json_t *a, *b;

	(void)state;
	yaml = read_data("seed-fig1.yaml", &ylen);
	json = read_data("seed-fig1.json", &jlen);
	a = load(FZ_PH_YAML, yaml, ylen);
	b = load(FZ_PH_JSON, json, jlen);
	assert_true(json_equal(a, b));
	assert_int_equal(fz_envelope_body_digest(fz_placeholder_body(b), bd, NULL), FZ_OK);
	assert_string_equal(bd, SEED_BODY_DIGEST);
	free(yaml);
	free(json);
	json_decref(a);
	json_decref(b);
}

static void test_pretty_json_roundtrip(void **state)
{
	char *yaml, *json;
	size_t ylen, jlen;
	json_t *a, *b;

	(void)state;
	yaml = read_data("seed-fig1.yaml", &ylen);
	a = load(FZ_PH_YAML, yaml, ylen);
	assert_int_equal(fz_placeholder_to_json(a, true, &json, &jlen, NULL), FZ_OK);
	assert_non_null(strchr(json, '\n'));
	b = load(FZ_PH_JSON, json, jlen);
	assert_true(json_equal(a, b));
	free(yaml);
	free(json);
	json_decref(a);
	json_decref(b);
}

/* The resources the seed names are the files beside it. */
static void test_seed_leaves(void **state)
{
	char *yaml, *txt, *html;
	size_t ylen, tlen, hlen, n;
	fz_digest_str dt, dh;
	fz_leaf *l;
	json_t *doc;

	(void)state;
	yaml = read_data("seed-fig1.yaml", &ylen);
	txt = read_data("seed-hello.txt", &tlen);
	html = read_data("seed-hello.html", &hlen);
	fz_digest(txt, tlen, &dt);
	fz_digest(html, hlen, &dh);
	doc = load(FZ_PH_YAML, yaml, ylen);
	assert_int_equal(fz_placeholder_leaves(doc, &l, &n, NULL), FZ_OK);
	assert_int_equal(n, 3);
	assert_string_equal(l[0].cid.s, dt.s);
	assert_int_equal(l[0].size, tlen);
	assert_string_equal(l[0].media_type, "text/plain");
	assert_string_equal(l[0].content_type, "text/plain; charset=UTF-8");
	assert_int_equal(l[0].disposition, FZ_DISP_INLINE);
	assert_null(l[0].filename);
	assert_string_equal(l[1].cid.s, dh.s);
	assert_int_equal(l[1].size, hlen);
	assert_string_equal(l[1].media_type, "text/html");
	assert_string_equal(l[2].cid.s, "FFtvJhR0wFVfcR4daSW8fSqWG6y0nXVEN2v24fTOoAg");
	assert_int_equal(l[2].size, 3520247);
	assert_string_equal(l[2].media_type, "image/png");
	assert_int_equal(l[2].disposition, FZ_DISP_ATTACHMENT);
	assert_string_equal(l[2].filename, "Venice.png");
	fz_leaves_free(l, n);
	json_decref(doc);
	free(yaml);
	free(txt);
	free(html);
}

static void test_seed_access(void **state)
{
	const json_t *origin, *block;
	const char *v, *jws;
	size_t n, jlen;
	fz_entry_kind kind;
	char *yaml;
	json_t *doc;

	(void)state;
	yaml = read_data("seed-fig1.yaml", &n);
	doc = load(FZ_PH_YAML, yaml, n);
	assert_int_equal(fz_placeholder_entry_count(doc), 1);
	origin = fz_placeholder_origin(doc);
	assert_non_null(origin);
	assert_ptr_equal(origin, fz_placeholder_newest_headers(doc));
	assert_int_equal(fz_placeholder_entry(doc, 0, &kind, &block, &jws, &jlen, NULL),
			 FZ_OK);
	assert_int_equal(kind, FZ_ENTRY_HEADERS);
	assert_ptr_equal(block, origin);
	assert_int_equal(fz_placeholder_entry(doc, 1, &kind, &block, &jws, &jlen, NULL),
			 FZ_ENOTFOUND);
	assert_int_equal(fz_headers_get(origin, "subject", &v, &n, NULL), FZ_OK);
	assert_string_equal(v, "Vacation photo");
	assert_false(fz_placeholder_is_sent(doc));
	json_decref(doc);
	free(yaml);
}

/* ---- header blocks ---- */

static void test_lookup_case_insensitive(void **state)
{
	json_t *block = json_pack("[{s:s},{s:[s,s]}]", "x-THREAD-id", "<t@example.com>",
				  "content-type", "a/b", "c/d");
	const json_t *v;
	const char *s;
	size_t n;
	fz_err err = {0};

	(void)state;
	v = fz_headers_find(block, "X-Thread-ID");
	assert_non_null(v);
	assert_string_equal(json_string_value(v), "<t@example.com>");
	assert_int_equal(fz_headers_get(block, "X-THREAD-ID", &s, &n, NULL), FZ_OK);
	assert_int_equal(n, strlen("<t@example.com>"));
	v = fz_headers_find(block, "CONTENT-TYPE");
	assert_true(json_is_array(v));
	assert_int_equal(fz_headers_get(block, "Content-Type", &s, &n, &err), FZ_ESTRUCT);
	assert_non_null(strstr(err.msg, "list"));
	assert_int_equal(fz_headers_get(block, "X-Thread", &s, &n, NULL), FZ_ENOTFOUND);
	assert_null(fz_headers_find(block, "X-Thread-ID-"));
	json_decref(block);
}

static void test_draft_vs_sent(void **state)
{
	static const char draft[] = ENV LEAF(GOOD_LEAF);
	static const char sent[] =
		"envelope:\n"
		"- headers:\n"
		"  - Message-ID: <m1@example.com>\n"
		"  - JWT-Assertion-Digest: <ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0>\n"
		"  - Received: from example.com by example.net; Sun, 22 Dec 2024 20:58:14 +0200\n"
		"- jwt-assertion: eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl\n"
		"- headers:\n"
		"  - DATE: Sun, 22 Dec 2024 20:49:35 +0200\n"
		"  - From: Alice <alice@example.com>\n"
		"  - To: Bob <bob@example.net>\n"
		"  - Message-ID: <m1@example.com>\n" LEAF(GOOD_LEAF);
	json_t *d = load(FZ_PH_YAML, draft, strlen(draft));
	json_t *s = load(FZ_PH_YAML, sent, strlen(sent));
	const json_t *env = fz_placeholder_envelope(s), *block;
	const char *jws;
	size_t jlen;
	fz_entry_kind kind;

	(void)state;
	assert_false(fz_placeholder_is_sent(d));
	assert_true(fz_placeholder_is_sent(s));
	assert_int_equal(fz_placeholder_entry_count(s), 3);
	assert_ptr_equal(fz_placeholder_origin(s),
			 json_object_get(json_array_get(env, 2), "headers"));
	assert_ptr_equal(fz_placeholder_newest_headers(s),
			 json_object_get(json_array_get(env, 0), "headers"));
	assert_int_equal(fz_placeholder_entry(s, 1, &kind, &block, &jws, &jlen, NULL),
			 FZ_OK);
	assert_int_equal(kind, FZ_ENTRY_ASSERTION);
	assert_null(block);
	assert_int_equal(jlen, strlen("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl"));
	json_decref(d);
	json_decref(s);
}

static void test_header_value_chars(void **state)
{
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_header_value_check("a\tb \xc3\xa9", 6, 100, NULL), FZ_OK);
	assert_int_equal(fz_header_value_check("a\x7f", 2, 100, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "U+007F"));
	assert_int_equal(fz_header_value_check("a\xc2\x85", 3, 100, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "U+0085"));
	assert_int_equal(fz_header_value_check("\xff", 1, 100, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "UTF-8"));
	assert_int_equal(fz_header_value_check("abc", 3, 2, &err), FZ_ELIMIT);
	assert_true(fz_header_name_valid("X-Thread-ID", 11));
	assert_false(fz_header_name_valid("", 0));
	assert_false(fz_header_name_valid("A:B", 3));
	assert_false(fz_header_name_valid("A B", 3));
}

/* ---- syntax refusals ---- */

static void test_yaml_truncated(void **state)
{
	(void)state;
	expect_yaml("envelope: [{headers: [{From: \"Alice <alice@exa", FZ_ESYNTAX,
		    "YAML: ");
}

static void test_yaml_truncated_file(void **state)
{
	char *yaml;
	size_t n;

	(void)state;
	yaml = read_data("seed-fig1.yaml", &n);
	/* cut inside the first Content-Type list: valid YAML, not a message */
	expect_lim(FZ_PH_YAML, yaml, (size_t)(strstr(yaml, "- message/") - yaml),
		   NULL, FZ_ESTRUCT, "Content-Type");
	free(yaml);
}

static void test_yaml_garbage(void **state)
{
	(void)state;
	expect_yaml("\x01\x02\x03 ::: ]]", FZ_ESYNTAX, "YAML: ");
	expect_yaml("envelope: ]\n", FZ_ESYNTAX, "YAML: ");
	expect_yaml("a: b\n c: d\n", FZ_ESYNTAX, "YAML: ");
}

static void test_yaml_scalar_document(void **state)
{
	(void)state;
	expect_yaml("just some words\n", FZ_ESTRUCT, "mapping of envelope and body");
}

static void test_yaml_empty(void **state)
{
	(void)state;
	expect_yaml("", FZ_ESYNTAX, "empty document");
	expect_yaml("# only a comment\n", FZ_ESYNTAX, "empty document");
}

static void test_json_truncated(void **state)
{
	char *json;
	size_t n;

	(void)state;
	json = read_data("seed-fig1.json", &n);
	expect_lim(FZ_PH_JSON, json, n / 2, NULL, FZ_ESYNTAX, "JSON: ");
	free(json);
}

static void test_json_garbage(void **state)
{
	(void)state;
	expect_json("hello", FZ_ESYNTAX, "JSON: ");
	expect_json("{\"envelope\": [}", FZ_ESYNTAX, "JSON: ");
	expect_json("{} trailing", FZ_ESYNTAX, "JSON: ");
	expect_json("", FZ_ESYNTAX, "JSON: ");
}

static void test_yaml_alias(void **state)
{
	(void)state;
	expect_yaml("envelope: *x\nbody: {}\n", FZ_ESYNTAX, "aliases are not allowed");
}

static void test_yaml_anchor(void **state)
{
	(void)state;
	expect_yaml("envelope: &x [a]\nbody: *x\n", FZ_ESYNTAX, "anchors are not allowed");
	expect_yaml("envelope: [&x a]\n", FZ_ESYNTAX, "anchors are not allowed");
}

static void test_yaml_tag(void **state)
{
	(void)state;
	expect_yaml("envelope: !!binary aGVsbG8=\n", FZ_ESYNTAX, "explicit tags");
	expect_yaml("envelope: !foo [a]\n", FZ_ESYNTAX, "explicit tags");
	expect_yaml("envelope: !!str x\n", FZ_ESYNTAX, "explicit tags");
	expect_yaml("!!map {envelope: x}\n", FZ_ESYNTAX, "explicit tags");
}

static void test_yaml_two_documents(void **state)
{
	(void)state;
	expect_yaml("a: b\n---\nc: d\n", FZ_ESYNTAX, "only one document");
}

static void test_yaml_duplicate_key(void **state)
{
	(void)state;
	expect_yaml("envelope: []\nenvelope: []\n", FZ_ESTRUCT, "duplicate mapping key");
}

static void test_yaml_complex_key(void **state)
{
	(void)state;
	expect_yaml("? [a, b]\n: c\n", FZ_ESTRUCT, "keys must be plain scalars");
	expect_yaml("{[a]: b}\n", FZ_ESTRUCT, "keys must be plain scalars");
}

static void test_yaml_nul(void **state)
{
	(void)state;
	expect_yaml("envelope: \"a\\0b\"\n", FZ_ESYNTAX, "NUL");
}

static void test_json_duplicate_key(void **state)
{
	(void)state;
	expect_json("{\"envelope\": [], \"envelope\": []}", FZ_ESYNTAX, "duplicate");
}

static void test_json_nul(void **state)
{
	(void)state;
	expect_json("{\"a\": \"x\\u0000y\"}", FZ_ESYNTAX, "JSON: ");
}

/* ---- limits ---- */

static char *nested(char open, char close, size_t depth, const char *prefix)
{
	size_t p = strlen(prefix), i;
	char *s = malloc(p + 2 * depth + 1);

	assert_non_null(s);
	memcpy(s, prefix, p);
	for (i = 0; i < depth; i++) {
		s[p + i] = open;
		s[p + depth + i] = close;
	}
	s[p + 2 * depth] = '\0';
	return s;
}

static void test_yaml_too_deep(void **state)
{
	char *ok = nested('[', ']', 15, "envelope: ");
	char *bad = nested('[', ']', 16, "envelope: ");
	fz_err err = {0};
	json_t *doc = NULL;

	(void)state;
	/* the root mapping is depth 1: 15 more lists fit, 16 do not */
	assert_int_equal(fz_placeholder_from_yaml(ok, strlen(ok), NULL, &doc, &err), FZ_OK);
	json_decref(doc);
	expect_yaml(bad, FZ_ELIMIT, "max_depth (16)");
	free(ok);
	free(bad);
}

static void test_json_too_deep(void **state)
{
	char *ok = nested('[', ']', 16, "");
	char *bad = nested('[', ']', 17, "");
	json_t *doc = NULL;

	(void)state;
	assert_int_equal(fz_placeholder_from_json(ok, strlen(ok), NULL, &doc, NULL), FZ_OK);
	json_decref(doc);
	expect_json(bad, FZ_ELIMIT, "max_depth (16)");
	/* brackets inside strings do not count */
	{
		static const char str[] = "[\"[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"]";
		assert_int_equal(fz_placeholder_from_json(str, strlen(str), NULL, &doc, NULL),
				 FZ_OK);
	}
	json_decref(doc);
	free(ok);
	free(bad);
}

/* A megabyte of '[' is refused at depth 17, without recursing. */
static void test_megabyte_of_brackets(void **state)
{
	size_t n = FZ_LIMIT_DOCUMENT_BYTES;
	char *s = malloc(n);

	(void)state;
	assert_non_null(s);
	memset(s, '[', n);
	expect_lim(FZ_PH_JSON, s, n, NULL, FZ_ELIMIT, "max_depth (16)");
	expect_lim(FZ_PH_YAML, s, n, NULL, FZ_ELIMIT, "max_depth (16)");
	memset(s, '{', n);
	expect_lim(FZ_PH_JSON, s, n, NULL, FZ_ELIMIT, "max_depth (16)");
	free(s);
}

/* However high max_depth is configured, the recursive tree code is safe. */
static void test_depth_ceiling(void **state)
{
	size_t n = FZ_LIMIT_DOCUMENT_BYTES;
	char *s = malloc(n);
	fz_limits lim;

	(void)state;
	assert_non_null(s);
	fz_limits_default(&lim);
	lim.max_depth = SIZE_MAX;
	memset(s, '[', n);
	expect_lim(FZ_PH_JSON, s, n, &lim, FZ_ELIMIT, "max_depth (1024)");
	expect_lim(FZ_PH_YAML, s, n, &lim, FZ_ELIMIT, "max_depth (1024)");
	free(s);
}

static void test_document_too_big(void **state)
{
	size_t n = FZ_LIMIT_DOCUMENT_BYTES + 1;
	char *s = malloc(n);
	fz_limits lim;

	(void)state;
	assert_non_null(s);
	memset(s, ' ', n);
	expect_lim(FZ_PH_YAML, s, n, NULL, FZ_ELIMIT, "max_document_bytes (1048576)");
	expect_lim(FZ_PH_JSON, s, n, NULL, FZ_ELIMIT, "max_document_bytes (1048576)");
	fz_limits_default(&lim);
	lim.max_document_bytes = 10;
	expect_lim(FZ_PH_YAML, s, 11, &lim, FZ_ELIMIT, "max_document_bytes (10)");
	free(s);
}

static void test_header_value_too_long(void **state)
{
	size_t n = FZ_LIMIT_HEADER_VALUE_BYTES + 1;
	size_t cap = n + 1024;
	char *doc = malloc(cap);
	int w;

	(void)state;
	assert_non_null(doc);
	w = snprintf(doc, cap, ENV "  - Subject: ");
	memset(doc + w, 'x', n);
	snprintf(doc + w + n, cap - (size_t)w - n, "\n%s", LEAF(GOOD_LEAF));
	expect_yaml(doc, FZ_ELIMIT, "max_header_value_bytes (16384)");
	/* exactly at the limit passes */
	w = snprintf(doc, cap, ENV "  - Subject: ");
	memset(doc + w, 'x', n - 1);
	snprintf(doc + w + n - 1, cap - (size_t)w - n + 1, "\n%s", LEAF(GOOD_LEAF));
	json_decref(load(FZ_PH_YAML, doc, strlen(doc)));
	free(doc);
}

static void test_content_type_list_too_long(void **state)
{
	fz_limits lim;
	static const char doc[] = ENV LEAF(GOOD_LEAF);

	(void)state;
	fz_limits_default(&lim);
	lim.max_header_value_bytes = 100;
	/* each list item fits, their sum does not */
	expect_lim(FZ_PH_YAML, doc, strlen(doc), &lim, FZ_ELIMIT,
		   "max_header_value_bytes (100)");
}

static void test_too_many_parts(void **state)
{
	static const char leaf[] =
		"  - headers:\n"
		"    - Content-ID: " CID_TXT "\n"
		"    - Content-Type: [ '" OUTER("42") "', text/plain ]\n";
	size_t i, cap = sizeof(ENV) + 16 + 1001 * sizeof(leaf);
	char *doc = malloc(cap), *p;
	fz_limits lim;

	(void)state;
	assert_non_null(doc);
	p = doc + snprintf(doc, cap, "%sbody:\n  parts:\n", ENV);
	for (i = 0; i < 1001; i++)
		p += snprintf(p, cap - (size_t)(p - doc), "%s", leaf);
	expect_yaml(doc, FZ_ELIMIT, "max_parts (1000)");
	fz_limits_default(&lim);
	lim.max_parts = 2;
	{
		char *seed;
		size_t n;

		seed = read_data("seed-fig1.yaml", &n);
		expect_lim(FZ_PH_YAML, seed, n, &lim, FZ_ELIMIT, "max_parts (2)");
		free(seed);
	}
	free(doc);
}

static void test_too_many_recipients(void **state)
{
	size_t cap = 64 * 1024, i;
	char *doc = malloc(cap), *p;
	static const char *const hdr[] = {"To", "Cc", "Bcc"};

	(void)state;
	assert_non_null(doc);
	p = doc + snprintf(doc, cap, "envelope:\n- headers:\n  - From: a@example.com\n");
	for (i = 0; i < 1001; i++) {
		if (i % 334 == 0)
			p += snprintf(p, cap - (size_t)(p - doc), "%s  - %s: ",
				      i ? "\n" : "", hdr[i / 334]);
		p += snprintf(p, cap - (size_t)(p - doc), "%su%zu@example.net",
			      i % 334 ? ", " : "", i);
	}
	snprintf(p, cap - (size_t)(p - doc), "\n%s", LEAF(GOOD_LEAF));
	expect_yaml(doc, FZ_ELIMIT, "max_recipients (1000)");
	free(doc);
}

static void test_too_many_hops(void **state)
{
	fz_limits lim;
	static const char doc[] =
		"envelope:\n"
		"- jwt-assertion: a.b.c\n"
		"- headers: [ {Received: x} ]\n"
		"- jwt-assertion: a.b.c\n"
		"- headers: [ {From: a@example.com} ]\n" LEAF(GOOD_LEAF);

	(void)state;
	fz_limits_default(&lim);
	json_decref(load(FZ_PH_YAML, doc, strlen(doc)));
	lim.max_chain_hops = 1;
	expect_lim(FZ_PH_YAML, doc, strlen(doc), &lim, FZ_ELIMIT, "max_chain_hops (1)");
}

/* ---- leaf parts ---- */

static void test_cid_not_43(void **state)
{
	(void)state;
	expect_yaml(ENV LEAF(H("Content-ID: <Y_I0N3g8WQuGzhsD1VrhAgQ007AbXu9T-H5v3w--zY>")
			     CT(OUTER("42"), "text/plain")),
		    FZ_ESYNTAX, "43 base64url");
	expect_yaml(ENV LEAF(H("Content-ID: clETINq7nHd18UnmWglKO0HeHzij0f7dHjgImHTthio")
			     CT(OUTER("42"), "text/plain")),
		    FZ_ESYNTAX, "<digest>");
}

static void test_leaf_without_cid(void **state)
{
	(void)state;
	expect_yaml(ENV LEAF(H("Content-Disposition: inline") CT(OUTER("42"), "text/plain")),
		    FZ_ESTRUCT, "body.parts[0]: leaf part has no Content-ID");
}

static void test_leaf_wrong_outer_type(void **state)
{
	(void)state;
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT)
			     CT("text/plain; size=\"42\"", "text/plain")),
		    FZ_ESTRUCT, "message/external-body");
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT) H("Content-Type: text/plain")),
		    FZ_ESTRUCT, "must be a list");
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT)), FZ_ESTRUCT,
		    "leaf part has no Content-Type");
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT)
			     CT(OUTER("42"), "multipart/mixed")),
		    FZ_ESTRUCT, "cannot be multipart/mixed");
}

static void test_leaf_bad_access_type(void **state)
{
	(void)state;
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT)
			     CT("message/external-body; access-type=\"URL\"; "
				"hash-algorithm=\"sha256\"; size=\"42\"",
				"text/plain")),
		    FZ_ESTRUCT, "access-type=\"x-content-addressed-uri\"");
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT)
			     CT("message/external-body; access-type=\"x-content-addressed-uri\"; "
				"hash-algorithm=\"md5\"; size=\"42\"",
				"text/plain")),
		    FZ_ESTRUCT, "hash-algorithm=\"sha256\"");
}

/* The seed wrote 'sha256': single quotes are not MIME quotes. */
static void test_leaf_single_quotes(void **state)
{
	(void)state;
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT)
			     CT("\"message/external-body; access-type='x-content-addressed-uri'; "
				"hash-algorithm='sha256'; size='42'\"",
				"text/plain")),
		    FZ_ESTRUCT, "access-type=");
}

static void test_size_missing(void **state)
{
	(void)state;
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT)
			     CT("message/external-body; access-type=\"x-content-addressed-uri\"; "
				"hash-algorithm=\"sha256\"",
				"text/plain")),
		    FZ_ESTRUCT, "lacks the size parameter");
}

static void test_size_not_numeric(void **state)
{
	(void)state;
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT) CT(OUTER("4x2"), "text/plain")),
		    FZ_ESYNTAX, "size parameter must be a decimal number");
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT) CT(OUTER("-42"), "text/plain")),
		    FZ_ESYNTAX, "size parameter must be a decimal number");
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT) CT(OUTER("+42"), "text/plain")),
		    FZ_ESYNTAX, "size parameter must be a decimal number");
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT) CT(OUTER("042"), "text/plain")),
		    FZ_ESYNTAX, "size parameter must be a decimal number");
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT) CT(OUTER(""), "text/plain")),
		    FZ_ESYNTAX, "size parameter must be a decimal number");
	expect_yaml(ENV LEAF(H("Content-ID: " CID_TXT)
			     CT(OUTER("99999999999999999999"), "text/plain")),
		    FZ_ESYNTAX, "too large");
}

static void test_multipart_needs_type(void **state)
{
	(void)state;
	expect_yaml(ENV "body:\n  parts:\n  - headers: [ {Content-Type: text/plain} ]\n"
			"    parts:\n    - headers:\n  " GOOD_LEAF,
		    FZ_ESTRUCT, "multipart Content-Type");
	expect_yaml(ENV "body:\n  parts:\n  - headers: [ {Content-Type: multipart/mixed} ]\n"
			"    parts: []\n",
		    FZ_ESTRUCT, "non-empty list");
}

/* ---- header refusals ---- */

static void test_duplicate_header(void **state)
{
	(void)state;
	expect_yaml("envelope:\n- headers:\n  - To: a@example.com\n  - to: b@example.com\n"
		    LEAF(GOOD_LEAF),
		    FZ_ESTRUCT, "envelope[0].headers[1]: duplicate header to");
	expect_yaml(ENV LEAF(GOOD_LEAF H("Content-ID: " CID_TXT)), FZ_ESTRUCT,
		    "duplicate header");
}

static void test_cr_in_value(void **state)
{
	(void)state;
	expect_yaml(ENV "  - Subject: \"a\\rb\"\n" LEAF(GOOD_LEAF), FZ_ESYNTAX,
		    "control character U+000D");
}

static void test_lf_in_value(void **state)
{
	(void)state;
	expect_yaml(ENV "  - Subject: \"a\\nBcc: eve@example.org\"\n" LEAF(GOOD_LEAF),
		    FZ_ESYNTAX, "control character U+000A");
	expect_yaml(ENV "  - Subject: |\n      two\n      lines\n" LEAF(GOOD_LEAF),
		    FZ_ESYNTAX, "control character U+000A");
}

/* NUL cannot come in through YAML or JSON text; a tree built in code is
 * checked all the same. */
static void test_nul_in_value(void **state)
{
	json_t *doc = load(FZ_PH_YAML, ENV LEAF(GOOD_LEAF), strlen(ENV LEAF(GOOD_LEAF)));
	json_t *block = json_object_get(json_array_get(json_object_get(doc, "envelope"), 0),
					"headers");
	fz_err err = {0};

	(void)state;
	json_array_append_new(block, json_pack("{s:s%}", "Subject", "a\0b", (size_t)3));
	assert_int_equal(fz_placeholder_check(doc, NULL, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "control character U+0000"));
	json_decref(doc);
}

static void test_bad_header_name(void **state)
{
	(void)state;
	expect_yaml(ENV "  - Bad Name: x\n" LEAF(GOOD_LEAF), FZ_ESYNTAX,
		    "not an RFC 5322 field name");
	expect_yaml(ENV "  - Bad:Name: x\n" LEAF(GOOD_LEAF), FZ_ESYNTAX,
		    "not an RFC 5322 field name");
	expect_yaml(ENV "  - \"Caf\\u00e9\": x\n" LEAF(GOOD_LEAF), FZ_ESYNTAX,
		    "not an RFC 5322 field name");
}

static void test_header_not_single_key(void **state)
{
	(void)state;
	expect_yaml(ENV "  - {A: x, B: y}\n" LEAF(GOOD_LEAF), FZ_ESTRUCT,
		    "single-key mapping");
	expect_yaml(ENV "  - just a string\n" LEAF(GOOD_LEAF), FZ_ESTRUCT,
		    "single-key mapping");
}

static void test_list_value_not_content_type(void **state)
{
	(void)state;
	expect_yaml(ENV "  - Subject: [a, b]\n" LEAF(GOOD_LEAF), FZ_ESTRUCT,
		    "only Content-Type may have a list value");
	expect_yaml(ENV "  - Content-Type: []\n" LEAF(GOOD_LEAF), FZ_ESTRUCT,
		    "non-empty list of strings");
	expect_yaml(ENV "  - Subject: {a: b}\n" LEAF(GOOD_LEAF), FZ_ESTRUCT,
		    "a header value is a string or a non-empty list of strings");
	expect_yaml(ENV "  - Content-Type: [[a]]\n" LEAF(GOOD_LEAF), FZ_ESTRUCT,
		    "only strings");
}

/* ---- JSON scalars ---- */

static void test_json_number(void **state)
{
	(void)state;
	expect_json("{\"envelope\": [{\"headers\": [{\"X-Count\": 5}]}], \"body\": {\"parts\": []}}",
		    FZ_ESTRUCT, "envelope[0].headers[0].X-Count: a number is not allowed");
}

static void test_json_bool(void **state)
{
	(void)state;
	expect_json("{\"envelope\": [true]}", FZ_ESTRUCT, "a boolean is not allowed");
}

static void test_json_null(void **state)
{
	(void)state;
	expect_json("{\"envelope\": null}", FZ_ESTRUCT, "null is not allowed");
}

/* ---- shape ---- */

static void test_entry_both_keys(void **state)
{
	(void)state;
	expect_yaml("envelope:\n- headers: [ {From: a@example.com} ]\n  jwt-assertion: a.b.c\n"
		    LEAF(GOOD_LEAF),
		    FZ_ESTRUCT, "exactly one of headers or jwt-assertion");
}

static void test_entry_neither_key(void **state)
{
	(void)state;
	expect_yaml("envelope:\n- header: [ {From: a@example.com} ]\n" LEAF(GOOD_LEAF),
		    FZ_ESTRUCT, "exactly one of headers or jwt-assertion");
	expect_yaml("envelope:\n- {}\n" LEAF(GOOD_LEAF), FZ_ESTRUCT,
		    "exactly one of headers or jwt-assertion");
}

static void test_assertion_shape(void **state)
{
	(void)state;
	expect_yaml("envelope:\n- jwt-assertion: not a jws\n- headers: [ {From: a@example.com} ]\n"
		    LEAF(GOOD_LEAF),
		    FZ_ESTRUCT, "compact JWS");
	expect_yaml("envelope:\n- jwt-assertion: a..c\n- headers: [ {From: a@example.com} ]\n"
		    LEAF(GOOD_LEAF),
		    FZ_ESTRUCT, "compact JWS");
	expect_yaml("envelope:\n- jwt-assertion: {header: {alg: RS256}}\n"
		    "- headers: [ {From: a@example.com} ]\n" LEAF(GOOD_LEAF),
		    FZ_ESTRUCT, "compact JWS");
}

static void test_assertion_placement(void **state)
{
	(void)state;
	expect_yaml("envelope:\n- headers: [ {From: a@example.com} ]\n- jwt-assertion: a.b.c\n"
		    LEAF(GOOD_LEAF),
		    FZ_ESTRUCT, "directly above a header block");
	expect_yaml("envelope:\n- jwt-assertion: a.b.c\n- jwt-assertion: a.b.c\n"
		    "- headers: [ {From: a@example.com} ]\n" LEAF(GOOD_LEAF),
		    FZ_ESTRUCT, "directly above a header block");
}

static void test_top_level_shape(void **state)
{
	(void)state;
	expect_yaml(ENV LEAF(GOOD_LEAF) "extra: x\n", FZ_ESTRUCT, "unknown top-level key");
	expect_yaml(LEAF(GOOD_LEAF), FZ_ESTRUCT, "no envelope");
	expect_yaml(ENV, FZ_ESTRUCT, "no body");
	expect_yaml("envelope: []\n" LEAF(GOOD_LEAF), FZ_ESTRUCT, "non-empty list");
	expect_yaml("envelope:\n- headers: []\n" LEAF(GOOD_LEAF), FZ_ESTRUCT,
		    "header block is empty");
	expect_yaml(ENV "body:\n  parts: []\n  more: x\n", FZ_ESTRUCT, "only parts");
	expect_yaml(ENV "body:\n  parts:\n  - headers: []\n    extra: x\n", FZ_ESTRUCT,
		    "only headers and parts");
	expect_yaml(ENV "body:\n  parts:\n  - parts: []\n", FZ_ESTRUCT, "needs headers");
}

static void test_empty_body_is_allowed(void **state)
{
	(void)state;
	json_decref(load(FZ_PH_YAML, ENV "body:\n  parts: []\n",
			 strlen(ENV "body:\n  parts: []\n")));
}

static void test_bad_message_id(void **state)
{
	(void)state;
	expect_yaml("envelope:\n- headers:\n  - Message-ID: no-brackets@example.com\n"
		    LEAF(GOOD_LEAF),
		    FZ_ESYNTAX, "Message-ID must be <id@domain>");
}

static void test_bad_recipient(void **state)
{
	(void)state;
	expect_yaml("envelope:\n- headers:\n  - To: 'Bob <bob@example.net'\n" LEAF(GOOD_LEAF),
		    FZ_ESYNTAX, "To: address: '>' expected");
}

/* ---- YAML writing keeps strings strings ---- */

static void test_yaml_quotes_typed_scalars(void **state)
{
	static const char *const tricky[] = {
		"true", "False", "yes", "NO", "on", "off", "y", "n", "null", "~", "",
		"123", "-1", "+1", "0x1f", "1e3", ".inf", ".NaN", "2024-12-22",
		"12:30", " leading", "trailing ", "a: b", "a #b", "#x", "- x", "[x]",
		"{x}", "*x", "&x", "!x", "%x", "@x", "`x", "'x", "\"x", "|", ">", "<<",
		"=", "tab\there", "caf\xc3\xa9", "line\xe2\x80\xa8sep", "nel\xc2\x85",
		"\xef\xbb\xbf\x62om", "x\x7f",
	};
	json_t *list = json_array(), *doc, *back = NULL;
	char *yaml = NULL;
	size_t i, n;
	fz_err err = {0};

	(void)state;
	for (i = 0; i < sizeof(tricky) / sizeof(tricky[0]); i++)
		json_array_append_new(list, json_string(tricky[i]));
	doc = json_pack("{so}", "k", list);
	assert_int_equal(fz_placeholder_to_yaml(doc, &yaml, &n, &err), FZ_OK);
	if (fz_placeholder_from_yaml(yaml, n, NULL, &back, &err) != FZ_OK)
		print_error("%s\n%s\n", err.msg, yaml);
	assert_non_null(back);
	assert_true(json_equal(doc, back));
	/* the readable ones stay readable */
	assert_non_null(strstr(yaml, "- caf\xc3\xa9\n"));
	assert_non_null(strstr(yaml, "- \"true\"\n"));
	free(yaml);
	json_decref(doc);
	json_decref(back);
}

static void test_to_yaml_refuses_numbers(void **state)
{
	json_t *doc = json_pack("{si}", "a", 1);
	char *out = NULL;
	size_t n;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_placeholder_to_yaml(doc, &out, &n, &err), FZ_ESTRUCT);
	assert_null(out);
	json_decref(doc);
}

/* ---- MIME parameters ---- */

static void test_mime_parse(void **state)
{
	static const char ct[] = "Text/Plain ; charset = \"UTF-8\" ;Format=flowed; "
				 "name=\"a \\\"q\\\" b\";";
	const fz_mime_param *p;
	fz_mime m;

	(void)state;
	assert_int_equal(fz_mime_parse(ct, strlen(ct), true, &m, NULL), FZ_OK);
	assert_string_equal(m.type, "text/plain");
	assert_int_equal(m.nparams, 3);
	p = fz_mime_param_get(&m, "charset");
	assert_non_null(p);
	assert_string_equal(p->value, "UTF-8");
	p = fz_mime_param_get(&m, "format");
	assert_string_equal(p->value, "flowed");
	p = fz_mime_param_get(&m, "name");
	assert_string_equal(p->value, "a \"q\" b");
	fz_mime_free(&m);
	assert_int_equal(fz_mime_parse("attachment; filename=x.png", 26, false, &m, NULL),
			 FZ_OK);
	assert_string_equal(m.type, "attachment");
	assert_string_equal(fz_mime_param_get(&m, "filename")->value, "x.png");
	fz_mime_free(&m);
}

static void expect_bad_mime(const char *s, bool sub, const char *why)
{
	fz_err err = {0};
	fz_mime m;

	assert_int_not_equal(fz_mime_parse(s, strlen(s), sub, &m, &err), FZ_OK);
	if (strstr(err.msg, why) == NULL)
		print_error("%s\n", err.msg);
	assert_non_null(strstr(err.msg, why));
	assert_null(m.buf);
}

static void test_mime_bad(void **state)
{
	(void)state;
	expect_bad_mime("text", true, "type/subtype");
	expect_bad_mime("text/", true, "subtype");
	expect_bad_mime("/plain", true, "type expected");
	expect_bad_mime("text/plain; a", true, "'='");
	expect_bad_mime("text/plain; a=", true, "value expected");
	expect_bad_mime("text/plain; a=\"x", true, "unterminated");
	expect_bad_mime("text/plain; a=1; A=2", true, "given twice");
	expect_bad_mime("text/plain x", true, "';' expected");
	expect_bad_mime("text/plain; (comment) a=b", true, "parameter name");
	expect_bad_mime("attachment; filename=\"a\rb\"", false, "control character");
	expect_bad_mime("attachment; filename=\"a\\\nb\"", false, "control character");
}

/* Found by fuzz_header: a NUL inside a quoted filename was kept, so the
 * value C reads ("ph") differed from the one parsed (value_len 16). */
static void test_mime_nul_in_quotes(void **state)
{
	static const char s[] = "attachment; filename=\"ph\0\0oto.jpg\"";
	fz_err err = {0};
	fz_mime m;

	(void)state;
	assert_int_equal(fz_mime_parse(s, sizeof(s) - 1, false, &m, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "control character"));
	assert_null(m.buf);
}

/* ---- addresses ---- */

static void test_address_list(void **state)
{
	static const char s[] =
		"Alice <alice@Example.COM>, \"Doe, John\" <john.doe@EXAMPLE.org>,"
		"bob@example.net ,  \"q\\\"x\" <\"odd local\"@Ex.com>, "
		"J\xc3\xbcrgen Gro\xc3\x9f <J.G@x.de>, <o'neil+tag@a-b.example>, "
		"John Q. Public <jqp@example.com>";
	fz_addr_list l = {0};
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_addr_list_parse(s, strlen(s), 100, &l, &err), FZ_OK);
	assert_int_equal(l.n, 7);
	assert_string_equal(l.v[0].spec, "alice@example.com");
	assert_int_equal(l.v[0].at, 5);
	assert_string_equal(l.v[1].spec, "john.doe@example.org");
	assert_string_equal(l.v[2].spec, "bob@example.net");
	assert_string_equal(l.v[3].spec, "\"odd local\"@ex.com");
	assert_string_equal(l.v[4].spec, "J.G@x.de");
	assert_string_equal(l.v[4].spec + l.v[4].at + 1, "x.de");
	assert_string_equal(l.v[5].spec, "o'neil+tag@a-b.example");
	assert_string_equal(l.v[6].spec, "jqp@example.com");
	/* appends */
	assert_int_equal(fz_addr_list_parse("c@d.e", 5, 100, &l, NULL), FZ_OK);
	assert_int_equal(l.n, 8);
	assert_int_equal(fz_addr_list_parse("x@y.z", 5, 8, &l, &err), FZ_ELIMIT);
	assert_non_null(strstr(err.msg, "max_recipients (8)"));
	fz_addr_list_free(&l);
}

static void expect_bad_addr(const char *s, const char *why)
{
	fz_addr_list l = {0};
	fz_err err = {0};

	assert_int_equal(fz_addr_list_parse(s, strlen(s), 100, &l, &err), FZ_ESYNTAX);
	if (strstr(err.msg, why) == NULL)
		print_error("%s: %s\n", s, err.msg);
	assert_non_null(strstr(err.msg, why));
	fz_addr_list_free(&l);
}

static void test_address_bad(void **state)
{
	(void)state;
	expect_bad_addr("", "expected");
	expect_bad_addr("a@b.c,", "expected");
	expect_bad_addr("a@b.c,,d@e.f", "expected");
	expect_bad_addr("Bob <bob@example.net", "'>' expected");
	expect_bad_addr("undisclosed-recipients:;", "groups");
	expect_bad_addr("a@b.c (Alice)", "comments");
	expect_bad_addr("a@[127.0.0.1]", "domain literals");
	expect_bad_addr("a@-b.c", "bad domain");
	expect_bad_addr("a@b-.c", "bad domain");
	expect_bad_addr("a@b..c", "bad domain");
	expect_bad_addr("a@b.c.", "bad domain");
	expect_bad_addr("a..b@c.d", "expected");
	expect_bad_addr(".a@c.d", "expected");
	expect_bad_addr("Bob Smith", "'<' or addr-spec");
	expect_bad_addr("b\xc3\xbc@x.de", "expected");
	expect_bad_addr("\"unterminated <a@b.c>", "unterminated");
	expect_bad_addr("a@b.c d@e.f", "',' expected");
	expect_bad_addr("a@b.c <d@e.f>", "',' expected");
	expect_bad_addr("Al@ice <d@e.f>", "',' expected");
	expect_bad_addr("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.c",
			"local part longer than 64");
	expect_bad_addr("a@bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.c",
			"label longer than 63");
}

static void test_msgid(void **state)
{
	static const char id[] = " <b07d0cdf-c6f4-4f67-b24c-cc847a4c2df4@Example.COM> ";
	fz_msgid m;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_msgid_parse(id, strlen(id), &m, NULL), FZ_OK);
	assert_int_equal(m.left_len, 36);
	assert_memory_equal(m.left, "b07d0cdf-", 9);
	assert_string_equal(m.domain, "example.com");
	assert_int_equal(fz_msgid_parse("<a@b>x", 6, &m, &err), FZ_ESYNTAX);
	assert_int_equal(fz_msgid_parse("<a@b", 4, &m, &err), FZ_ESYNTAX);
	assert_int_equal(fz_msgid_parse("<@b>", 4, &m, &err), FZ_ESYNTAX);
	assert_int_equal(fz_msgid_parse("<a@[1.2.3.4]>", 13, &m, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "Message-ID"));
	assert_int_equal(fz_msgid_parse("<a@b@c>", 7, &m, &err), FZ_ESYNTAX);
	assert_int_equal(fz_msgid_parse("a@b", 3, &m, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "<id@domain>"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_yaml_json_roundtrip),
		cmocka_unit_test(test_seed_json_file),
		cmocka_unit_test(test_pretty_json_roundtrip),
		cmocka_unit_test(test_seed_leaves),
		cmocka_unit_test(test_seed_access),
		cmocka_unit_test(test_lookup_case_insensitive),
		cmocka_unit_test(test_draft_vs_sent),
		cmocka_unit_test(test_header_value_chars),
		cmocka_unit_test(test_yaml_truncated),
		cmocka_unit_test(test_yaml_truncated_file),
		cmocka_unit_test(test_yaml_garbage),
		cmocka_unit_test(test_yaml_scalar_document),
		cmocka_unit_test(test_yaml_empty),
		cmocka_unit_test(test_json_truncated),
		cmocka_unit_test(test_json_garbage),
		cmocka_unit_test(test_yaml_alias),
		cmocka_unit_test(test_yaml_anchor),
		cmocka_unit_test(test_yaml_tag),
		cmocka_unit_test(test_yaml_two_documents),
		cmocka_unit_test(test_yaml_duplicate_key),
		cmocka_unit_test(test_yaml_complex_key),
		cmocka_unit_test(test_yaml_nul),
		cmocka_unit_test(test_json_duplicate_key),
		cmocka_unit_test(test_json_nul),
		cmocka_unit_test(test_yaml_too_deep),
		cmocka_unit_test(test_json_too_deep),
		cmocka_unit_test(test_megabyte_of_brackets),
		cmocka_unit_test(test_depth_ceiling),
		cmocka_unit_test(test_document_too_big),
		cmocka_unit_test(test_header_value_too_long),
		cmocka_unit_test(test_content_type_list_too_long),
		cmocka_unit_test(test_too_many_parts),
		cmocka_unit_test(test_too_many_recipients),
		cmocka_unit_test(test_too_many_hops),
		cmocka_unit_test(test_cid_not_43),
		cmocka_unit_test(test_leaf_without_cid),
		cmocka_unit_test(test_leaf_wrong_outer_type),
		cmocka_unit_test(test_leaf_bad_access_type),
		cmocka_unit_test(test_leaf_single_quotes),
		cmocka_unit_test(test_size_missing),
		cmocka_unit_test(test_size_not_numeric),
		cmocka_unit_test(test_multipart_needs_type),
		cmocka_unit_test(test_duplicate_header),
		cmocka_unit_test(test_cr_in_value),
		cmocka_unit_test(test_lf_in_value),
		cmocka_unit_test(test_nul_in_value),
		cmocka_unit_test(test_bad_header_name),
		cmocka_unit_test(test_header_not_single_key),
		cmocka_unit_test(test_list_value_not_content_type),
		cmocka_unit_test(test_json_number),
		cmocka_unit_test(test_json_bool),
		cmocka_unit_test(test_json_null),
		cmocka_unit_test(test_entry_both_keys),
		cmocka_unit_test(test_entry_neither_key),
		cmocka_unit_test(test_assertion_shape),
		cmocka_unit_test(test_assertion_placement),
		cmocka_unit_test(test_top_level_shape),
		cmocka_unit_test(test_empty_body_is_allowed),
		cmocka_unit_test(test_bad_message_id),
		cmocka_unit_test(test_bad_recipient),
		cmocka_unit_test(test_yaml_quotes_typed_scalars),
		cmocka_unit_test(test_to_yaml_refuses_numbers),
		cmocka_unit_test(test_mime_parse),
		cmocka_unit_test(test_mime_bad),
		cmocka_unit_test(test_mime_nul_in_quotes),
		cmocka_unit_test(test_address_list),
		cmocka_unit_test(test_address_bad),
		cmocka_unit_test(test_msgid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
