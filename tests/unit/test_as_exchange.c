/* The pure parts of token exchange (as_exchange_headers.c): the
 * `headers` parameter, the values in it, eh over it, and the claims of
 * the assertions the AS signs and accepts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "as_exchange.h"
#include "digest.h"

#define MID "<b07d0cdf-c6f4-4f67-b24c-cc847a4c2df4@example.com>"
#define RD "<bVgztTpis8102PDjj8z3Iq3n1gm0zXPnlLXPMnkmau8>"
#define BD "<a3uyN3yX_Grg3FdyOQLmXyv249rYWUiaY2vHBiEnLCk>"
#define JKT "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2Hg1BV3uiguAAI"

static const char send_ok[] =
	"[{\"Message-ID\":\"" MID "\"},{\"From\":\"Alice <alice@Example.COM>\"},"
	"{\"Recipients-Digest\":\"" RD "\"},{\"Body-Digest\":\"" BD "\"}]";

static fz_code parse(const char *text, json_t **block, fz_err *err)
{
	return fz_xchg_headers_parse(text, strlen(text), fz_xchg_send_headers,
				     FZ_XCHG_NHEADERS, 1024, block, err);
}

static void refused(const char *text, const char *needle)
{
	json_t *b = NULL;
	fz_err err = {0};

	assert_int_not_equal(parse(text, &b, &err), FZ_OK);
	assert_null(b);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.oauth, "invalid_request");
	if (strstr(err.msg, needle) == NULL)
		fail_msg("'%s' does not say '%s'", err.msg, needle);
}

static void test_headers_ok(void **state)
{
	json_t *b = NULL;
	fz_err err = {0};
	const char *v;
	size_t n;

	(void)state;
	assert_int_equal(parse(send_ok, &b, &err), FZ_OK);
	assert_int_equal(json_array_size(b), 4);
	assert_int_equal(fz_headers_get(b, "from", &v, &n, &err), FZ_OK);
	assert_string_equal(v, "Alice <alice@Example.COM>");
	json_decref(b);

	/* names compare without case, and come out spelled canonically */
	assert_int_equal(parse("[{\"message-id\":\"" MID "\"},{\"FROM\":\"a@example.com\"},"
			       "{\"recipients-digest\":\"" RD "\"},{\"body-digest\":\"" BD "\"}]",
			       &b, &err), FZ_OK);
	assert_non_null(json_object_get(json_array_get(b, 1), "From"));
	json_decref(b);
}

static void test_headers_refused(void **state)
{
	(void)state;
	refused("not json", "not JSON");
	refused("{\"From\":\"a@example.com\"}", "array of 4");
	refused("[{\"Message-ID\":\"" MID "\"}]", "array of 4");
	/* the order is SPEC's */
	refused("[{\"From\":\"a@example.com\"},{\"Message-ID\":\"" MID "\"},"
		"{\"Recipients-Digest\":\"" RD "\"},{\"Body-Digest\":\"" BD "\"}]",
		"headers[0] must be Message-ID");
	refused("[{\"Message-ID\":\"" MID "\",\"From\":\"a@example.com\"},{},{},{}]",
		"headers[0] is not an object with one member");
	refused("[{\"Message-ID\":[\"" MID "\"]},{},{},{}]", "not a string");
	refused("[{\"Message-ID\":\"a\\u0001b\"},{},{},{}]", "headers[0] Message-ID");
	refused("[{\"Message-ID\":\"" MID "\"},{\"From\":\"a\",\"From\":\"b\"},{},{}]",
		"not JSON");
	refused("[[[[[[\"x\"]]]]]]", "nested too deeply");
	refused("[\"Message-ID\",{},{},{}]", "headers[0] is not an object");
}

static void test_one_address(void **state)
{
	char out[FZ_AS_ADDRESS_MAX + 1];
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_xchg_one_address("From", "Alice <alice@Example.COM>", out,
					     &err), FZ_OK);
	assert_string_equal(out, "alice@example.com");
	assert_int_equal(fz_xchg_one_address("From", "bob@example.net", out, &err), FZ_OK);
	assert_string_equal(out, "bob@example.net");
	assert_int_equal(fz_xchg_one_address("From", "a@example.com, b@example.com", out,
					     &err), FZ_ESTRUCT);
	assert_string_equal(err.oauth, "invalid_request");
	assert_int_equal(fz_xchg_one_address("Forwarded-From", "nobody", out, &err),
			 FZ_ESTRUCT);
	assert_non_null(strstr(err.msg, "Forwarded-From"));
	assert_int_equal(fz_xchg_one_address("From", "", out, &err), FZ_ESTRUCT);
}

static void test_values(void **state)
{
	char dom[FZ_DOMAIN_MAX + 1];
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_xchg_msgid_domain("<x.y@Example.COM>", dom, &err), FZ_OK);
	assert_string_equal(dom, "example.com");
	assert_int_not_equal(fz_xchg_msgid_domain("x@example.com", dom, &err), FZ_OK);
	assert_int_not_equal(fz_xchg_msgid_domain("<x>", dom, &err), FZ_OK);

	assert_int_equal(fz_xchg_check_digest_header("Body-Digest", BD, &err), FZ_OK);
	assert_int_not_equal(fz_xchg_check_digest_header("Body-Digest",
							 "a3uyN3yX_Grg3FdyOQLmXyv249rYWUiaY2vHBiEnLCk",
							 &err), FZ_OK);
	assert_int_not_equal(fz_xchg_check_digest_header("Body-Digest", "<abc>", &err),
			     FZ_OK);

	assert_int_equal(fz_xchg_address_domain("bob@Example.NET", dom, &err), FZ_OK);
	assert_string_equal(dom, "example.net");
	assert_int_not_equal(fz_xchg_address_domain("bob", dom, &err), FZ_OK);
	assert_int_not_equal(fz_xchg_address_domain("@x.org", dom, &err), FZ_OK);
	assert_int_not_equal(fz_xchg_address_domain("bob@", dom, &err), FZ_OK);
	assert_int_not_equal(fz_xchg_address_domain(NULL, dom, &err), FZ_OK);

	assert_true(fz_xchg_scope_has("internet_mail", "internet_mail"));
	assert_true(fz_xchg_scope_has("openid  internet_mail", "internet_mail"));
	assert_false(fz_xchg_scope_has("internet_mail2", "internet_mail"));
	assert_false(fz_xchg_scope_has("", "internet_mail"));
	assert_false(fz_xchg_scope_has(NULL, "internet_mail"));
}

/* eh over the block: ehl its names in order, eht the digest of the
 * canonical lines, written out here by hand. */
static void test_eh(void **state)
{
	static const char canon[] =
		"message-id:" MID "\r\n"
		"from:Alice <alice@Example.COM>\r\n"
		"recipients-digest:" RD "\r\n"
		"body-digest:" BD "\r\n";
	json_t *b = NULL, *eh = NULL;
	fz_digest_str want;
	fz_err err = {0};
	const json_t *ehl;

	(void)state;
	assert_int_equal(parse(send_ok, &b, &err), FZ_OK);
	assert_int_equal(fz_xchg_eh(b, &eh, &err), FZ_OK);
	fz_digest(canon, sizeof(canon) - 1, &want);
	assert_string_equal(json_string_value(json_object_get(eh, "eht")), want.s);
	ehl = json_object_get(eh, "ehl");
	assert_int_equal(json_array_size(ehl), 4);
	assert_string_equal(json_string_value(json_array_get(ehl, 0)), "Message-ID");
	assert_string_equal(json_string_value(json_array_get(ehl, 3)), "Body-Digest");
	json_decref(eh);
	json_decref(b);
}

static json_t *claims_for(const char *sub, const json_t *eh)
{
	fz_digest_str jkt;
	fz_xchg_assertion a = {
		.iss = "https://as.example.com/", .sub = sub, .azp = "mta.example.com",
		.jti = "abc", .jkt = &jkt, .eh = eh, .iat = 1700000000, .exp = 1700432000,
	};
	json_t *c = NULL;

	memcpy(jkt.s, JKT, sizeof(jkt.s));
	assert_int_equal(fz_xchg_assertion_claims(&a, &c, NULL), FZ_OK);
	return c;
}

static void test_claims_and_shape(void **state)
{
	json_t *b = NULL, *eh = NULL, *c;
	fz_err err = {0};

	(void)state;
	assert_int_equal(parse(send_ok, &b, &err), FZ_OK);
	assert_int_equal(fz_xchg_eh(b, &eh, &err), FZ_OK);
	c = claims_for("alice@example.com", eh);
	assert_string_equal(json_string_value(json_object_get(c, "scope")), "internet_mail");
	assert_string_equal(json_string_value(json_object_get(json_object_get(c, "cnf"),
							      "jkt")), JKT);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), 1700432000);
	assert_null(json_object_get(c, "aud"));
	assert_int_equal(fz_xchg_assertion_shape(c, &err), FZ_OK);
	assert_true(fz_xchg_assertion_is_origin(c));

	/* each missing or malformed member is refused */
	json_object_set_new(c, "sub", json_string("alice"));
	assert_int_equal(fz_xchg_assertion_shape(c, &err), FZ_ESTRUCT);
	json_object_set_new(c, "sub", json_string("alice@example.com"));
	json_object_set_new(c, "scope", json_string("openid"));
	assert_int_equal(fz_xchg_assertion_shape(c, &err), FZ_ESTRUCT);
	json_object_set_new(c, "scope", json_string("internet_mail"));
	json_object_del(c, "cnf");
	assert_int_equal(fz_xchg_assertion_shape(c, &err), FZ_ESTRUCT);
	assert_non_null(strstr(err.msg, "cnf.jkt"));
	json_object_set_new(c, "cnf", json_pack("{s:s}", "jkt", JKT));
	json_object_set_new(json_object_get(c, "eh"), "eht", json_string("short"));
	assert_int_equal(fz_xchg_assertion_shape(c, &err), FZ_ESTRUCT);
	json_object_set_new(json_object_get(c, "eh"), "eht", json_string(JKT));
	json_object_set_new(json_object_get(c, "eh"), "ehl",
			    json_pack("[s,s]", "From", "from"));
	assert_int_equal(fz_xchg_assertion_shape(c, &err), FZ_ESTRUCT);
	assert_non_null(strstr(err.msg, "repeats"));
	json_object_set_new(json_object_get(c, "eh"), "ehl", json_array());
	assert_int_equal(fz_xchg_assertion_shape(c, &err), FZ_ESTRUCT);
	json_object_set_new(json_object_get(c, "eh"), "ehl",
			    json_pack("[s,s]", "Message-ID", "Forwarded-From"));
	assert_int_equal(fz_xchg_assertion_shape(c, &err), FZ_OK);
	assert_false(fz_xchg_assertion_is_origin(c));
	json_object_del(c, "azp");
	assert_int_equal(fz_xchg_assertion_shape(c, &err), FZ_ESTRUCT);
	json_decref(c);
	json_decref(eh);
	json_decref(b);

	/* a claim set needs every member */
	assert_int_equal(fz_xchg_assertion_claims(&(fz_xchg_assertion){0}, &c, &err),
			 FZ_EINTERNAL);
	assert_null(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_ok),
		cmocka_unit_test(test_headers_refused),
		cmocka_unit_test(test_one_address),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_eh),
		cmocka_unit_test(test_claims_and_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
