/* What `federizer admin` accepts: addresses of served domains, redirect
 * URIs (https, or http to loopback), client ids, and whole client
 * specifications (public vs confidential, JWKS or secret). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "as_admin.h"
#include "as_password.h"
#include "jwk.h"

struct fixture {
	char dir[128];
	char db[192];
	fz_as_config cfg;
	fz_as_store *st;
	fz_arena *a;
};

static int setup(void **state)
{
	static const char text[] = "issuer: https://as.example.com/\n"
				   "tls: {cert: c, key: k}\ndatabase: unused\n"
				   "keys: {dir: unused}\ndomains: [example.com, example.net]\n";
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/fz-asadmin-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/as.db", f->dir);
	if (fz_as_config_parse(text, strlen(text), &f->cfg, NULL) != FZ_OK ||
	    fz_as_store_open(f->db, 1, &f->st, NULL) != FZ_OK)
		return -1;
	f->a = fz_arena_new(0, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char p[256];

	fz_as_store_close(f->st);
	fz_as_config_free(&f->cfg);
	fz_arena_free(f->a);
	snprintf(p, sizeof(p), "%s-wal", f->db);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", f->db);
	unlink(p);
	unlink(f->db);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void expect(fz_code got, fz_code want, const fz_err *err, const char *frag)
{
	assert_int_equal(got, want);
	if (frag != NULL && strstr(err->msg, frag) == NULL)
		fail_msg("message '%s' lacks '%s'", err->msg, frag);
}

static void test_addresses(void **state)
{
	struct fixture *f = *state;
	fz_err err = {0};

	expect(fz_as_admin_check_address(&f->cfg, "alice@example.com", &err), FZ_OK, &err, NULL);
	expect(fz_as_admin_check_address(&f->cfg, "a.b+tag@EXAMPLE.NET", &err), FZ_OK, &err, NULL);
	expect(fz_as_admin_check_address(&f->cfg, "alice@example.org", &err), FZ_EDENIED, &err,
	       "not served");
	expect(fz_as_admin_check_address(&f->cfg, "alice", &err), FZ_ESYNTAX, &err,
	       "not an address");
	expect(fz_as_admin_check_address(&f->cfg, "@example.com", &err), FZ_ESYNTAX, &err,
	       "local part");
	expect(fz_as_admin_check_address(&f->cfg, ".alice@example.com", &err), FZ_ESYNTAX, &err,
	       NULL);
	expect(fz_as_admin_check_address(&f->cfg, "al..ice@example.com", &err), FZ_ESYNTAX, &err,
	       NULL);
	expect(fz_as_admin_check_address(&f->cfg, "al ice@example.com", &err), FZ_ESYNTAX, &err,
	       NULL);
	expect(fz_as_admin_check_address(&f->cfg,
					 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					 "@example.com", &err), FZ_ESYNTAX, &err, "at most 64");
}

static void test_redirect_uris(void **state)
{
	fz_err err = {0};

	(void)state;
	expect(fz_as_admin_check_redirect_uri("https://mbx.example.com/oauth/callback", &err),
	       FZ_OK, &err, NULL);
	expect(fz_as_admin_check_redirect_uri("http://127.0.0.1:5173/cb", &err), FZ_OK, &err, NULL);
	expect(fz_as_admin_check_redirect_uri("http://[::1]/cb", &err), FZ_OK, &err, NULL);
	expect(fz_as_admin_check_redirect_uri("http://localhost:8080/cb", &err), FZ_OK, &err, NULL);
	expect(fz_as_admin_check_redirect_uri("http://mbx.example.com/cb", &err), FZ_ESYNTAX, &err,
	       "only https");
	expect(fz_as_admin_check_redirect_uri("https://mbx.example.com/cb#frag", &err), FZ_ESYNTAX,
	       &err, "fragment");
	expect(fz_as_admin_check_redirect_uri("mbx.example.com/cb", &err), FZ_ESYNTAX, &err,
	       "redirect URI");
	expect(fz_as_admin_check_redirect_uri("javascript:alert(1)", &err), FZ_ESYNTAX, &err, NULL);

	expect(fz_as_admin_check_base_url("audience", "https://mbx.example.com/", &err), FZ_OK,
	       &err, NULL);
	expect(fz_as_admin_check_base_url("audience", "http://mbx.example.com/", &err), FZ_ESYNTAX,
	       &err, "audience");
	expect(fz_as_admin_check_base_url("sibling-of", "https://mbx.example.com/?x", &err),
	       FZ_ESYNTAX, &err, "no query");

	expect(fz_as_admin_check_client_id("webmail", &err), FZ_OK, &err, NULL);
	expect(fz_as_admin_check_client_id("mta.example-1_~", &err), FZ_OK, &err, NULL);
	expect(fz_as_admin_check_client_id("", &err), FZ_ESYNTAX, &err, NULL);
	expect(fz_as_admin_check_client_id("a b", &err), FZ_ESYNTAX, &err, "only letters");
}

static void test_user_add(void **state)
{
	struct fixture *f = *state;
	fz_as_user u;
	fz_err err = {0};

	expect(fz_as_admin_user_add(&f->cfg, f->st, "alice@Example.com", "password1", 9, 1, &err),
	       FZ_OK, &err, NULL);
	assert_int_equal(fz_as_store_user_find(f->st, f->a, "alice@example.com", &u, &err), FZ_OK);
	assert_int_equal(fz_as_password_verify(u.password_hash, "password1", 9, &err), FZ_OK);
	expect(fz_as_admin_user_add(&f->cfg, f->st, "alice@example.com", "password1", 9, 1, &err),
	       FZ_ECONFLICT, &err, "exists");
	expect(fz_as_admin_user_add(&f->cfg, f->st, "bob@example.com", "short", 5, 1, &err),
	       FZ_ESYNTAX, &err, "shorter");
	expect(fz_as_admin_user_add(&f->cfg, f->st, "bob@example.com", "pass\0word1", 10, 1, &err),
	       FZ_ESYNTAX, &err, "NUL");
	expect(fz_as_admin_user_add(&f->cfg, f->st, "bob@nowhere.example", "password1", 9, 1, &err),
	       FZ_EDENIED, &err, "not served");
}

static char *public_jwks(bool with_private)
{
	fz_key *key = NULL;
	json_t *jwk = NULL, *set;
	char *text;

	assert_int_equal(fz_key_generate(FZ_ALG_ES256, 0, &key, NULL), FZ_OK);
	assert_int_equal(fz_key_to_jwk(key, &jwk, NULL), FZ_OK);
	if (with_private) {
		/* A leaked private member: any value refuses the set. */
		json_object_set_new(jwk, "d", json_string("AAAA"));
	}
	set = json_pack("{s:[o]}", "keys", jwk);
	text = json_dumps(set, JSON_COMPACT);
	json_decref(set);
	fz_key_free(key);
	return text;
}

static void test_client_specs(void **state)
{
	struct fixture *f = *state;
	const char *uris[] = {"https://mbx.example.com/oauth/callback"};
	const char *bad_uris[] = {"http://mbx.example.com/cb"};
	char *jwks = public_jwks(false), *leaky = public_jwks(true);
	fz_as_client_spec s = {
		.client_id = "webmail",
		.type = FZ_CLIENT_PUBLIC,
		.first_party = true,
		.redirect_uris = uris,
		.nredirect_uris = 1,
		.audience = "https://mbx.example.com/",
	};
	fz_as_client c;
	fz_err err = {0};

	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_OK, &err, NULL);
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_ECONFLICT, &err, "exists");

	s.client_id = "p2";
	s.nredirect_uris = 0;
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_ESTRUCT, &err, "redirect URI");
	s.nredirect_uris = 1;
	s.redirect_uris = bad_uris;
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_ESYNTAX, &err, "only https");
	s.redirect_uris = uris;
	s.secret = "0123456789abcdef";
	s.secret_len = 16;
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_ESTRUCT, &err, "no JWKS or secret");
	s.secret = NULL;
	s.sibling_of = "https://mbx.example.com/";
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_ESTRUCT, &err, "confidential");

	/* Confidential: exactly one credential, and a usable one. */
	s = (fz_as_client_spec){.client_id = "mta", .type = FZ_CLIENT_CONFIDENTIAL,
				.sibling_of = "https://mbx.example.com/"};
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_ESTRUCT, &err, "one of them");
	s.jwks = jwks;
	s.secret = "0123456789abcdef";
	s.secret_len = 16;
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_ESTRUCT, &err, "one of them");
	s.secret = NULL;
	s.jwks = "{not json";
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_ESYNTAX, &err, "not JSON");
	s.jwks = "{\"keys\":[]}";
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_EKEY, &err, "no ES256");
	s.jwks = leaky;
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_EKEY, &err, "JWKS");
	s.jwks = jwks;
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_OK, &err, NULL);
	assert_int_equal(fz_as_store_client_find(f->st, f->a, "mta", &c, &err), FZ_OK);
	assert_int_equal(c.auth_method, FZ_AUTH_PRIVATE_KEY_JWT);
	assert_string_equal(c.sibling_of, "https://mbx.example.com/");
	assert_non_null(strstr(c.jwks, "\"keys\""));

	s = (fz_as_client_spec){.client_id = "mta2", .type = FZ_CLIENT_CONFIDENTIAL,
				.secret = "short", .secret_len = 5};
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_ESYNTAX, &err, "shorter");
	s.secret = "0123456789abcdefghij";
	s.secret_len = 20;
	expect(fz_as_admin_client_add(f->st, &s, 1, &err), FZ_OK, &err, NULL);
	assert_int_equal(fz_as_store_client_find(f->st, f->a, "mta2", &c, &err), FZ_OK);
	assert_int_equal(c.auth_method, FZ_AUTH_CLIENT_SECRET_BASIC);
	assert_int_equal(fz_as_password_verify(c.secret_hash, "0123456789abcdefghij", 20, &err),
			 FZ_OK);
	free(jwks);
	free(leaky);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_addresses, setup, teardown),
		cmocka_unit_test(test_redirect_uris),
		cmocka_unit_test_setup_teardown(test_user_add, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_specs, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
