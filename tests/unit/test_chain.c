/* The chain of signed hops and the fetch ACL (chain.h), without any
 * network: "assertions" are opaque strings a table maps to claims and
 * to the domain whose AS must have signed them, so every branch of the
 * walk is one changed line. Covered: an origin hop, forward hops, a
 * wrong JWT-Assertion-Digest, a Forwarded-From that is no recipient of
 * the hop below, a reordered hop, a chain over max_chain_hops, eht and
 * Body-Digest mismatches, a Message-ID of another domain, an assertion
 * signed for the wrong domain, and the ACL: origin mismatch, Bcc kept
 * only in the stored copy, a domain neither recipient nor discharged,
 * a discharged Forwarded-To, a digest the body does not reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "envelope.h"

#define MID "<b07d0cdf@example.com>"
#define MAX_SIGNED 8

/* --- the stand-in verifier -------------------------------------------------- */

typedef struct signed_jws {
	const char *jws;
	const char *domain;
	json_t *claims;
} signed_jws;

static struct {
	signed_jws v[MAX_SIGNED];
	size_t n;
	size_t calls;
} S;

static fz_code verify(void *ctx, const char *jws, size_t len, const char *domain,
		      json_t **claims, fz_err *err)
{
	size_t i;

	(void)ctx;
	S.calls++;
	for (i = 0; i < S.n; i++) {
		if (strlen(S.v[i].jws) != len || memcmp(S.v[i].jws, jws, len) != 0)
			continue;
		if (strcmp(S.v[i].domain, domain) != 0)
			return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
					    "iss is not the AS that DNS names for %s", domain);
		*claims = json_incref(S.v[i].claims);
		return FZ_OK;
	}
	return fz_fail_http(err, FZ_ESIG, 401, "invalid_token", "bad signature");
}

static void reset(void)
{
	size_t i;

	for (i = 0; i < S.n; i++)
		json_decref(S.v[i].claims);
	memset(&S, 0, sizeof(S));
}

/* Signs block: records jws as signed for domain by sub over ehl. */
static void sign(const char *jws, const char *domain, const char *sub,
		 const json_t *block, const char *const *ehl)
{
	json_t *names = json_array();
	fz_digest_str eht;

	for (; *ehl; ehl++)
		json_array_append_new(names, json_string(*ehl));
	assert_int_equal(fz_envelope_eht(block, names, &eht, NULL), FZ_OK);
	assert_true(S.n < MAX_SIGNED);
	S.v[S.n].jws = jws;
	S.v[S.n].domain = domain;
	S.v[S.n].claims = json_pack("{s:s,s:{s:s,s:o}}", "sub", sub, "eh", "eht", eht.s,
				    "ehl", names);
	S.n++;
}

static const char *const ORIGIN_EHL[] = {"Message-ID", "From", "Recipients-Digest",
					 "Body-Digest", NULL};
static const char *const FORWARD_EHL[] = {"Message-ID", "Forwarded-From", "Recipients-Digest",
					  "JWT-Assertion-Digest", NULL};

/* --- documents --------------------------------------------------------------- */

#define DIGEST_A "aSQnmlBT6RndpDnwTSStJUvhlh9XL9_y2QXX42NhKuI"
#define DIGEST_B "Y_I0N3g8WQuGzhsD1VrhAgQ007AbXu9T-H5v3w--zYA"

static json_t *body(void)
{
	return json_pack("{s:[{s:[{s:s},{s:s},{s:[s,s]}]}]}", "parts", "headers",
			 "Content-Disposition", "inline", "Content-ID", "<" DIGEST_A ">",
			 "Content-Type",
			 "message/external-body; access-type=\"x-content-addressed-uri\"; "
			 "hash-algorithm=\"sha256\"; size=\"42\"",
			 "text/plain; charset=UTF-8");
}

static void add(json_t *block, const char *name, const char *value)
{
	json_array_append_new(block, json_pack("{s:s}", name, value));
}

/* From alice@example.com to bob@example.net, Bcc carol@example.org. */
static json_t *origin_block(const json_t *b, bool bcc, const char *mid)
{
	json_t *block = json_array();
	char d[FZ_DIGEST_HDR_SIZE];

	add(block, "Date", "Sun, 22 Dec 2024 20:49:35 +0200");
	add(block, "From", "Alice <alice@example.com>");
	add(block, "To", "Bob <bob@example.net>");
	if (bcc)
		add(block, "Bcc", "carol@example.org");
	add(block, "Message-ID", mid);
	assert_int_equal(fz_envelope_recipients_digest(block, FZ_HOP_ORIGIN, d, NULL), FZ_OK);
	add(block, "Recipients-Digest", d);
	assert_int_equal(fz_envelope_body_digest(b, d, NULL), FZ_OK);
	add(block, "Body-Digest", d);
	return block;
}

static json_t *forward_block(const char *from, const char *to, const char *below)
{
	json_t *block = json_array();
	char d[FZ_DIGEST_HDR_SIZE];

	add(block, "Forwarded-From", from);
	add(block, "Forwarded-To", to);
	assert_int_equal(fz_envelope_recipients_digest(block, FZ_HOP_FORWARD, d, NULL), FZ_OK);
	add(block, "Recipients-Digest", d);
	add(block, "Message-ID", MID);
	assert_int_equal(fz_envelope_jws_digest(below, strlen(below), d, NULL), FZ_OK);
	add(block, "JWT-Assertion-Digest", d);
	add(block, "Received", "from example.com by example.net; Sun, 22 Dec 2024 20:58:14 +0200");
	return block;
}

/* [A0, H0] signed by example.com; with_bcc decides the block signed. */
static json_t *origin_envelope(const json_t *b, bool bcc)
{
	json_t *h0 = origin_block(b, bcc, MID);

	sign("A0.origin.sig", "example.com", "alice@example.com", h0, ORIGIN_EHL);
	return json_pack("[{s:s},{s:o}]", "jwt-assertion", "A0.origin.sig", "headers", h0);
}

/* Prepends a forward hop by from (its domain signs) to env. */
static void forward(json_t *env, const char *jws, const char *from_addr,
		    const char *from_domain, const char *to, const char *below)
{
	json_t *h = forward_block(from_addr, to, below);

	sign(jws, from_domain, from_addr, h, FORWARD_EHL);
	json_array_insert_new(env, 0, json_pack("{s:o}", "headers", h));
	json_array_insert_new(env, 0, json_pack("{s:s}", "jwt-assertion", jws));
}

static fz_code walk(const json_t *env, const json_t *b, const fz_limits *lim,
		    fz_err *err)
{
	fz_chain c;
	fz_code rc = fz_chain_walk(env, NULL, b, lim, verify, NULL, &c, err);

	if (rc == FZ_OK)
		fz_chain_free(&c);
	return rc;
}

static void expect_denied(fz_code rc, const fz_err *err, const char *what)
{
	assert_int_equal(rc, FZ_EDENIED);
	assert_int_equal(err->status, 403);
	if (strstr(err->msg, what) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", err->msg, what);
}

/* --- the walk ----------------------------------------------------------------- */

static void test_origin_hop(void **state)
{
	json_t *b = body(), *env = origin_envelope(b, false);
	fz_chain c;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_chain_walk(env, NULL, b, NULL, verify, NULL, &c, &err), FZ_OK);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.hops[0].signer, "example.com");
	assert_string_equal(c.msgid_domain, "example.com");
	fz_chain_free(&c);
	json_decref(env);
	json_decref(b);
	reset();
}

/* Receipt blocks above the newest assertion are nobody's: skipped. */
static void test_forward_hops_and_receipts(void **state)
{
	json_t *b = body(), *env = origin_envelope(b, false);
	fz_chain c;
	fz_err err = {0};

	(void)state;
	forward(env, "A1.net.sig", "bob@example.net", "example.net", "Bobby <bobby@example.org>",
		"A0.origin.sig");
	forward(env, "A2.org.sig", "bobby@example.org", "example.org", "dan@example.edu",
		"A1.net.sig");
	json_array_insert_new(env, 0, json_pack("{s:[{s:s}]}", "headers", "Received", "x"));
	assert_int_equal(fz_chain_walk(env, NULL, b, NULL, verify, NULL, &c, &err), FZ_OK);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.first, 1);
	assert_string_equal(c.hops[1].signer, "example.net");
	assert_string_equal(c.hops[2].signer, "example.org");
	assert_string_equal(c.hops[2].to.v[0].spec, "dan@example.edu");
	fz_chain_free(&c);
	json_decref(env);
	json_decref(b);
	reset();
}

static void test_wrong_assertion_digest(void **state)
{
	json_t *b = body(), *env = origin_envelope(b, false);
	fz_err err = {0};

	(void)state;
	/* the hop names another assertion than the one below it */
	forward(env, "A1.net.sig", "bob@example.net", "example.net", "bobby@example.org",
		"A9.other.sig");
	expect_denied(walk(env, b, NULL, &err), &err,
		      "hop 1: JWT-Assertion-Digest is not the digest of the assertion below");
	json_decref(env);
	json_decref(b);
	reset();
}

static void test_forwarded_from_not_recipient(void **state)
{
	json_t *b = body(), *env = origin_envelope(b, false);
	fz_err err = {0};

	(void)state;
	forward(env, "A1.net.sig", "mallory@example.net", "example.net", "eve@example.org",
		"A0.origin.sig");
	expect_denied(walk(env, b, NULL, &err), &err,
		      "Forwarded-From mallory@example.net is not a recipient of the hop below");
	json_decref(env);
	json_decref(b);
	reset();
}

/* Hop 2 forwards from someone hop 1 never forwarded to. */
static void test_reordered_hop(void **state)
{
	json_t *b = body(), *env = origin_envelope(b, false);
	fz_err err = {0};

	(void)state;
	forward(env, "A1.net.sig", "bob@example.net", "example.net", "bobby@example.org",
		"A0.origin.sig");
	forward(env, "A2.net.sig", "bob@example.net", "example.net", "eve@example.org",
		"A1.net.sig");
	expect_denied(walk(env, b, NULL, &err), &err, "hop 2: Forwarded-From bob@example.net");
	json_decref(env);
	json_decref(b);
	reset();
}

static void test_chain_too_long(void **state)
{
	json_t *b = body(), *env = origin_envelope(b, false);
	fz_limits lim;
	fz_err err = {0};

	(void)state;
	fz_limits_default(&lim);
	lim.max_chain_hops = 1;
	forward(env, "A1.net.sig", "bob@example.net", "example.net", "bobby@example.org",
		"A0.origin.sig");
	S.calls = 0;
	assert_int_equal(walk(env, b, &lim, &err), FZ_ELIMIT);
	assert_non_null(strstr(err.msg, "max_chain_hops (1)"));
	assert_int_equal(S.calls, 0); /* refused before any lookup */
	json_decref(env);
	json_decref(b);
	reset();
}

static void test_eht_mismatch(void **state)
{
	json_t *b = body(), *env = origin_envelope(b, false);
	json_t *h0 = json_object_get(json_array_get(env, 1), "headers");
	fz_err err = {0};

	(void)state;
	/* From changed after signing */
	json_array_set_new(h0, 1, json_pack("{s:s}", "From", "Alice <alice2@example.com>"));
	expect_denied(walk(env, b, NULL, &err), &err, "eht does not match");
	json_decref(env);
	json_decref(b);
	reset();
}

static void test_body_digest_mismatch(void **state)
{
	json_t *b = body(), *env = origin_envelope(b, false), *other = body();
	fz_err err = {0};

	(void)state;
	json_object_set_new(other, "x", json_string("tampered"));
	expect_denied(walk(env, other, NULL, &err), &err, "Body-Digest does not match the body");
	json_decref(other);
	json_decref(env);
	json_decref(b);
	reset();
}

static void test_msgid_of_other_domain(void **state)
{
	json_t *b = body(), *h0 = origin_block(b, false, "<x@example.net>");
	json_t *env;
	fz_err err = {0};

	(void)state;
	sign("A0.origin.sig", "example.com", "alice@example.com", h0, ORIGIN_EHL);
	env = json_pack("[{s:s},{s:o}]", "jwt-assertion", "A0.origin.sig", "headers", h0);
	expect_denied(walk(env, b, NULL, &err), &err,
		      "the Message-ID is not of the From domain example.com");
	json_decref(env);
	json_decref(b);
	reset();
}

/* An assertion the verifier refuses (signed by the AS of another
 * domain) fails with the verifier's error, prefixed by its hop. */
static void test_wrong_signer(void **state)
{
	json_t *b = body(), *env = origin_envelope(b, false);
	fz_err err = {0};

	(void)state;
	S.v[0].domain = "example.net";
	assert_int_equal(walk(env, b, NULL, &err), FZ_EDENIED);
	assert_non_null(strstr(err.msg, "hop 0: iss is not the AS that DNS names for example.com"));
	json_decref(env);
	json_decref(b);
	reset();
}

/* An origin assertion whose ehl leaves From unsigned binds nothing. */
static void test_ehl_too_narrow(void **state)
{
	static const char *const narrow[] = {"Message-ID", "Recipients-Digest", "Body-Digest",
					     NULL};
	json_t *b = body(), *h0 = origin_block(b, false, MID), *env;
	fz_err err = {0};

	(void)state;
	sign("A0.origin.sig", "example.com", "alice@example.com", h0, narrow);
	env = json_pack("[{s:s},{s:o}]", "jwt-assertion", "A0.origin.sig", "headers", h0);
	expect_denied(walk(env, b, NULL, &err), &err, "ehl does not sign From");
	json_decref(env);
	json_decref(b);
	reset();
}

static void test_bad_shapes(void **state)
{
	json_t *two = json_pack("[{s:[]},{s:[]}]", "headers", "headers");
	json_t *odd = json_pack("[{s:s},{s:s},{s:[]}]", "jwt-assertion", "a.b.c",
				"jwt-assertion", "a.b.c", "headers");
	fz_chain c;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_chain_parse(two, NULL, &c, &err), FZ_ESTRUCT);
	assert_int_equal(fz_chain_parse(odd, NULL, &c, &err), FZ_ESTRUCT);
	json_decref(two);
	json_decref(odd);
}

/* --- the fetch ACL --------------------------------------------------------------- */

/* Our stored document: the origin block with Bcc, its assertion. */
static json_t *stored_doc(json_t *b, json_t **presented)
{
	json_t *h0 = origin_block(b, true, MID), *h0_copy;
	json_t *doc;

	sign("A0.origin.sig", "example.com", "alice@example.com", h0, ORIGIN_EHL);
	/* the copy example.net got has no Bcc: the ehl does not sign it */
	h0_copy = json_deep_copy(h0);
	json_array_remove(h0_copy, 3);
	*presented = json_pack("[{s:s},{s:o}]", "jwt-assertion", "A0.origin.sig", "headers", h0_copy);
	doc = json_pack("{s:[{s:s},{s:o}],s:O}", "envelope", "jwt-assertion", "A0.origin.sig",
			"headers", h0, "body", b);
	return doc;
}

static fz_code allowed(const json_t *stored, const json_t *env, const char *domain,
		       const char *digest, fz_err *err)
{
	fz_fetch_request r = {.stored = stored, .envelope = env, .domain = domain,
			      .digest = digest};

	return fz_chain_fetch_allowed(&r, verify, NULL, err);
}

static void test_acl_recipients(void **state)
{
	json_t *b = body(), *env, *doc = stored_doc(b, &env);
	fz_err err = {0};

	(void)state;
	/* To's domain, with the Bcc-less copy */
	assert_int_equal(allowed(doc, env, "example.net", DIGEST_A, &err), FZ_OK);
	/* Bcc's domain: the stored block still has it */
	assert_int_equal(allowed(doc, env, "example.org", DIGEST_A, &err), FZ_OK);
	expect_denied(allowed(doc, env, "example.edu", DIGEST_A, &err), &err,
		      "example.edu is neither a recipient domain");
	expect_denied(allowed(doc, env, "example.net", DIGEST_B, &err), &err,
		      "does not reference " DIGEST_B);
	json_decref(env);
	json_decref(doc);
	json_decref(b);
	reset();
}

static void test_acl_discharged_forward(void **state)
{
	json_t *b = body(), *env, *doc = stored_doc(b, &env);
	fz_err err = {0};

	(void)state;
	forward(env, "A1.net.sig", "bob@example.net", "example.net", "bobby@example.edu",
		"A0.origin.sig");
	assert_int_equal(allowed(doc, env, "example.edu", DIGEST_A, &err), FZ_OK);
	expect_denied(allowed(doc, env, "example.info", DIGEST_A, &err), &err, "neither");
	json_decref(env);
	json_decref(doc);
	json_decref(b);
	reset();
}

static void test_acl_origin_mismatch(void **state)
{
	json_t *b = body(), *env, *doc = stored_doc(b, &env);
	json_t *h0 = json_object_get(json_array_get(env, 1), "headers");
	fz_err err = {0};

	(void)state;
	/* another assertion than ours */
	json_array_set_new(env, 0, json_pack("{s:s}", "jwt-assertion", "A0.forged.sig"));
	expect_denied(allowed(doc, env, "example.net", DIGEST_A, &err), &err,
		      "origin assertion is not the one");
	json_array_set_new(env, 0, json_pack("{s:s}", "jwt-assertion", "A0.origin.sig"));
	/* an unsigned header added to the origin block */
	json_array_append_new(h0, json_pack("{s:s}", "Subject", "changed"));
	expect_denied(allowed(doc, env, "example.net", DIGEST_A, &err), &err,
		      "origin header block is not the one");
	json_decref(env);
	json_decref(doc);
	json_decref(b);
	reset();
}

/* A forged forward hop: signed, but linked to no assertion of ours. */
static void test_acl_forged_chain(void **state)
{
	json_t *b = body(), *env, *doc = stored_doc(b, &env);
	fz_err err = {0};

	(void)state;
	forward(env, "A1.evil.sig", "eve@example.edu", "example.edu", "eve@example.edu",
		"A0.origin.sig");
	expect_denied(allowed(doc, env, "example.edu", DIGEST_A, &err), &err,
		      "Forwarded-From eve@example.edu is not a recipient");
	json_decref(env);
	json_decref(doc);
	json_decref(b);
	reset();
}

static void test_candidate_domains(void **state)
{
	json_t *b = body(), *env, *doc = stored_doc(b, &env);
	char **v = NULL;
	size_t n = 0;

	(void)state;
	forward(env, "A1.net.sig", "bob@example.net", "example.net", "bobby@example.edu",
		"A0.origin.sig");
	assert_int_equal(fz_chain_candidate_domains(doc, env, NULL, &v, &n, NULL), FZ_OK);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "example.net");
	assert_string_equal(v[1], "example.org");
	assert_string_equal(v[2], "example.edu");
	fz_chain_domains_free(v, n);
	json_decref(env);
	json_decref(doc);
	json_decref(b);
	reset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_hop),
		cmocka_unit_test(test_forward_hops_and_receipts),
		cmocka_unit_test(test_wrong_assertion_digest),
		cmocka_unit_test(test_forwarded_from_not_recipient),
		cmocka_unit_test(test_reordered_hop),
		cmocka_unit_test(test_chain_too_long),
		cmocka_unit_test(test_eht_mismatch),
		cmocka_unit_test(test_body_digest_mismatch),
		cmocka_unit_test(test_msgid_of_other_domain),
		cmocka_unit_test(test_wrong_signer),
		cmocka_unit_test(test_ehl_too_narrow),
		cmocka_unit_test(test_bad_shapes),
		cmocka_unit_test(test_acl_recipients),
		cmocka_unit_test(test_acl_discharged_forward),
		cmocka_unit_test(test_acl_origin_mismatch),
		cmocka_unit_test(test_acl_forged_chain),
		cmocka_unit_test(test_candidate_domains),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
