/* What the webmail login stands on, below HTTP: the store's sessions,
 * DPoP nonces and users by id; the CSRF comparison; the scope rule; and
 * the two-step check of an authorization request (which failures may be
 * redirected and with which error). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "as.h"
#include "as_authz.h"
#include "as_issue.h"
#include "as_session.h"

#define T0 1700000000
#define REDIRECT "https://mbx.example.com/oauth/callback"
#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" /* RFC 7636 B */

struct fixture {
	char dir[128];
	fz_as_config cfg;
	fz_as *as;
	fz_arena *a;
	int64_t uid;
};

static void remove_tree(const char *dir)
{
	char p[512];
	struct dirent *e;
	DIR *d = opendir(dir);

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) != 0)
			remove_tree(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
}

static int add_clients(struct fixture *f)
{
	const char *uris[] = {REDIRECT};
	fz_as_client webmail = {
		.client_id = "webmail", .type = FZ_CLIENT_PUBLIC, .auth_method = FZ_AUTH_NONE,
		.first_party = true, .audience = "https://mbx.example.com/",
		.redirect_uris = uris, .nredirect_uris = 1,
	};
	fz_as_client noaud = webmail;
	fz_as_user u;

	noaud.client_id = "noaud";
	noaud.audience = NULL;
	if (fz_as_store_user_add(f->as->store, "alice@example.com", "$argon2id$x", T0, NULL) ||
	    fz_as_store_user_find(f->as->store, f->a, "alice@example.com", &u, NULL) ||
	    fz_as_store_client_add(f->as->store, &webmail, T0, NULL) ||
	    fz_as_store_client_add(f->as->store, &noaud, T0, NULL))
		return -1;
	f->uid = u.id;
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char text[1024];
	fz_err err = {0};

	snprintf(f->dir, sizeof(f->dir), "%s/fz-aslogin-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	snprintf(text, sizeof(text),
		 "issuer: https://as.example.com/\n"
		 "tls: {cert: unused.pem, key: unused.pem}\n"
		 "database: %s/as.db\n"
		 "keys: {dir: %s/keys}\n"
		 "domains: [example.com]\n"
		 "limits: {threads: 1, max_param_bytes: 64}\n", f->dir, f->dir);
	if (fz_as_config_parse(text, strlen(text), &f->cfg, &err) != FZ_OK ||
	    fz_as_open(&f->cfg, &f->as, &err) != FZ_OK) {
		fprintf(stderr, "setup: %s\n", err.msg);
		return -1;
	}
	f->a = fz_arena_new(0, 0);
	return f->a ? add_clients(f) : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fz_arena_free(f->a);
	fz_as_close(f->as);
	fz_as_config_free(&f->cfg);
	remove_tree(f->dir);
	free(f);
	return 0;
}

/* --- store: users by id, sessions, nonces --------------------------------- */

static void test_user_get(void **state)
{
	struct fixture *f = *state;
	fz_as_user u;
	fz_err err = {0};

	assert_int_equal(fz_as_store_user_get(f->as->store, f->a, f->uid, &u, &err), FZ_OK);
	assert_string_equal(u.address, "alice@example.com");
	assert_int_equal(fz_as_store_user_get(f->as->store, f->a, f->uid + 100, &u, &err),
			 FZ_ENOTFOUND);
}

static void test_sessions(void **state)
{
	struct fixture *f = *state;
	fz_as_store *st = f->as->store;
	fz_as_session s = {.id_hash = "h1", .csrf = "c1", .created_at = T0,
			   .expires_at = T0 + 60};
	fz_as_session got;
	fz_err err = {0};
	uint64_t removed;

	/* Anonymous (user 0) first. */
	assert_int_equal(fz_as_store_session_put(st, &s, &err), FZ_OK);
	assert_int_equal(fz_as_store_session_put(st, &s, &err), FZ_ECONFLICT);
	assert_int_equal(fz_as_store_session_get(st, f->a, "h1", T0, &got, &err), FZ_OK);
	assert_string_equal(got.csrf, "c1");
	assert_int_equal(got.user_id, 0);
	assert_int_equal(got.expires_at, T0 + 60);
	/* Expired is the same as absent. */
	assert_int_equal(fz_as_store_session_get(st, f->a, "h1", T0 + 60, &got, &err),
			 FZ_ENOTFOUND);
	assert_int_equal(fz_as_store_session_get(st, f->a, "nope", T0, &got, &err),
			 FZ_ENOTFOUND);

	/* Signed in. */
	s = (fz_as_session){.id_hash = "h2", .csrf = "c2", .user_id = f->uid,
			    .auth_time = T0, .created_at = T0, .expires_at = T0 + 3600};
	assert_int_equal(fz_as_store_session_put(st, &s, &err), FZ_OK);
	assert_int_equal(fz_as_store_session_get(st, f->a, "h2", T0 + 1, &got, &err), FZ_OK);
	assert_int_equal(got.user_id, f->uid);
	assert_int_equal(got.auth_time, T0);

	assert_int_equal(fz_as_store_session_delete(st, "h1", &err), FZ_OK);
	assert_int_equal(fz_as_store_session_delete(st, "h1", &err), FZ_OK);
	assert_int_equal(fz_as_store_session_get(st, f->a, "h1", T0, &got, &err), FZ_ENOTFOUND);

	/* Purge drops the expired; removing the user ends their sessions. */
	s = (fz_as_session){.id_hash = "h3", .csrf = "c3", .created_at = T0,
			    .expires_at = T0 + 10};
	assert_int_equal(fz_as_store_session_put(st, &s, &err), FZ_OK);
	assert_int_equal(fz_as_store_purge(st, T0 + 10, &removed, &err), FZ_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(fz_as_store_user_remove(st, "alice@example.com", &err), FZ_OK);
	assert_int_equal(fz_as_store_session_get(st, f->a, "h2", T0 + 1, &got, &err),
			 FZ_ENOTFOUND);
}

static void test_nonces(void **state)
{
	struct fixture *f = *state;
	fz_as_store *st = f->as->store;
	const char *n1, *n2;
	bool valid;
	fz_err err = {0};
	uint64_t removed;

	/* The first candidate becomes the nonce, and stays it for ttl/2. */
	assert_int_equal(fz_as_store_nonce_current(st, f->a, T0, 300, "cand1", &n1, &err), FZ_OK);
	assert_string_equal(n1, "cand1");
	assert_int_equal(fz_as_store_nonce_current(st, f->a, T0 + 149, 300, "cand2", &n2, &err),
			 FZ_OK);
	assert_string_equal(n2, "cand1");
	/* Past ttl/2 a new one is handed out; the old one is still good. */
	assert_int_equal(fz_as_store_nonce_current(st, f->a, T0 + 150, 300, "cand3", &n2, &err),
			 FZ_OK);
	assert_string_equal(n2, "cand3");
	assert_int_equal(fz_as_store_nonce_valid(st, "cand1", T0 + 299, &valid, &err), FZ_OK);
	assert_true(valid);
	assert_int_equal(fz_as_store_nonce_valid(st, "cand1", T0 + 300, &valid, &err), FZ_OK);
	assert_false(valid);
	assert_int_equal(fz_as_store_nonce_valid(st, "cand2", T0, &valid, &err), FZ_OK);
	assert_false(valid);
	assert_int_equal(fz_as_store_purge(st, T0 + 300, &removed, &err), FZ_OK);
	assert_int_equal(removed, 1);
	/* A candidate longer than the column allows is our bug. */
	assert_int_equal(fz_as_store_nonce_current(st, f->a, T0, 300,
						   "0123456789012345678901234567890123456789"
						   "0123456789012345678901234567890123456789",
						   &n2, &err),
			 FZ_EINTERNAL);
}

/* --- CSRF and scope ------------------------------------------------------------ */

static void test_csrf(void **state)
{
	fz_as_session s = {.csrf = "token-abc"};

	(void)state;
	assert_true(fz_as_csrf_ok(&s, "token-abc"));
	assert_false(fz_as_csrf_ok(&s, "token-abd"));
	assert_false(fz_as_csrf_ok(&s, "token-ab"));
	assert_false(fz_as_csrf_ok(&s, "token-abcd"));
	assert_false(fz_as_csrf_ok(&s, ""));
	assert_false(fz_as_csrf_ok(&s, NULL));
	assert_false(fz_as_csrf_ok(NULL, "token-abc"));
	s.csrf = NULL;
	assert_false(fz_as_csrf_ok(&s, "token-abc"));
}

static void test_scope(void **state)
{
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_as_scope_check(NULL, &err), FZ_OK);
	assert_int_equal(fz_as_scope_check("internet_mail", &err), FZ_OK);
	assert_int_equal(fz_as_scope_check("internet_mail internet_mail", &err), FZ_OK);
	assert_int_equal(fz_as_scope_check("internet_mail openid", &err), FZ_EDENIED);
	assert_string_equal(err.oauth, "invalid_scope");
	assert_int_equal(fz_as_scope_check("internet", &err), FZ_EDENIED);
	assert_int_equal(fz_as_scope_check("internet_mailx", &err), FZ_EDENIED);
}

/* --- the authorization request --------------------------------------------------- */

/* Runs both steps on a query; returns the step that failed (0: none)
 * and leaves the error in err. */
static int check(struct fixture *f, const char *query, fz_as_authz *az, fz_err *err)
{
	fz_form lim_form;
	fz_form_limits lim = FZ_QUERY_LIMITS_DEFAULT;
	fz_http_req req = {.arena = f->a};

	fz_err_clear(err);
	assert_int_equal(fz_query_parse(f->a, query, strlen(query), &lim, &lim_form, NULL), FZ_OK);
	if (fz_as_authz_client(f->as, &req, &lim_form, az, err) != FZ_OK)
		return 1;
	if (fz_as_authz_check(f->as, &lim_form, az, err) != FZ_OK)
		return 2;
	return 0;
}

#define GOOD_REST "&response_type=code&state=s1&code_challenge=" CHALLENGE \
	"&code_challenge_method=S256"
#define GOOD "client_id=webmail&redirect_uri=https%3A%2F%2Fmbx.example.com%2Foauth%2Fcallback"

static void test_authz_steps(void **state)
{
	struct fixture *f = *state;
	fz_as_authz az;
	fz_err err = {0};
	const char *q;

	assert_int_equal(check(f, GOOD GOOD_REST, &az, &err), 0);
	assert_string_equal(az.scope, "internet_mail");
	assert_string_equal(az.state, "s1");
	assert_int_equal(fz_as_authz_query(f->a, &az, &q, &err), FZ_OK);
	assert_string_equal(q, "response_type=code&client_id=webmail&redirect_uri="
			       "https%3A%2F%2Fmbx.example.com%2Foauth%2Fcallback&scope=internet_mail"
			       "&state=s1&code_challenge=" CHALLENGE "&code_challenge_method=S256");

	/* Step 1: never redirected. */
	assert_int_equal(check(f, "redirect_uri=x" GOOD_REST, &az, &err), 1);
	assert_int_equal(check(f, "client_id=nobody&redirect_uri=" REDIRECT GOOD_REST, &az, &err), 1);
	assert_string_equal(err.oauth, "invalid_client");
	assert_int_equal(check(f, "client_id=webmail" GOOD_REST, &az, &err), 1);
	assert_int_equal(check(f, GOOD "x" GOOD_REST, &az, &err), 1);
	assert_int_equal(check(f, GOOD "%2F" GOOD_REST, &az, &err), 1);
	assert_int_equal(check(f, GOOD "&client_id=webmail" GOOD_REST, &az, &err), 1);
	assert_int_equal(check(f, GOOD "&redirect_uri=" REDIRECT GOOD_REST, &az, &err), 1);
	/* Longer than limits.max_param_bytes (64 here). */
	assert_int_equal(check(f, GOOD "&client_id=webmail0123456789012345678901234567890"
				  "12345678901234567890123456789" GOOD_REST, &az, &err), 1);

	/* Step 2: redirected with these errors. */
	assert_int_equal(check(f, GOOD "&state=s1&code_challenge=" CHALLENGE
				  "&code_challenge_method=S256", &az, &err), 2);
	assert_string_equal(err.oauth, "invalid_request");
	assert_int_equal(check(f, GOOD "&response_type=token&state=s1&code_challenge=" CHALLENGE
				  "&code_challenge_method=S256", &az, &err), 2);
	assert_string_equal(err.oauth, "unsupported_response_type");
	assert_int_equal(check(f, GOOD "&response_type=code&code_challenge=" CHALLENGE
				  "&code_challenge_method=S256", &az, &err), 2);
	assert_string_equal(err.oauth, "invalid_request");
	assert_non_null(strstr(err.msg, "state"));
	assert_int_equal(check(f, GOOD "&response_type=code&state=s1&code_challenge=" CHALLENGE,
			       &az, &err), 2);
	assert_non_null(strstr(err.msg, "S256"));
	assert_int_equal(check(f, GOOD "&response_type=code&state=s1&code_challenge=" CHALLENGE
				  "&code_challenge_method=plain", &az, &err), 2);
	assert_string_equal(err.oauth, "invalid_request");
	assert_int_equal(check(f, GOOD "&response_type=code&state=s1"
				  "&code_challenge_method=S256", &az, &err), 2);
	assert_int_equal(check(f, GOOD "&response_type=code&state=s1&code_challenge=short"
				  "&code_challenge_method=S256", &az, &err), 2);
	assert_int_equal(check(f, GOOD GOOD_REST "&scope=openid", &az, &err), 2);
	assert_string_equal(err.oauth, "invalid_scope");
	assert_int_equal(check(f, GOOD GOOD_REST "&dpop_jkt=nope", &az, &err), 2);
	assert_int_equal(check(f, GOOD GOOD_REST "&state=s2", &az, &err), 2);
	assert_string_equal(err.oauth, "invalid_request");
	/* A client without an audience cannot be given access tokens. */
	assert_int_equal(check(f, "client_id=noaud&redirect_uri=" REDIRECT GOOD_REST, &az, &err), 2);
	assert_string_equal(err.oauth, "unauthorized_client");
	/* dpop_jkt, when given, is a thumbprint. */
	assert_int_equal(check(f, GOOD GOOD_REST "&dpop_jkt=" CHALLENGE, &az, &err), 0);
	assert_string_equal(az.dpop_jkt, CHALLENGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_user_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nonces, setup, teardown),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_scope),
		cmocka_unit_test_setup_teardown(test_authz_steps, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
