/* The AS store on a real SQLite file in a scratch directory: users,
 * clients and CORS origins, single-use codes with revoke-on-replay,
 * refresh token rotation and family revocation, the replay cache, login
 * throttling, the key registry, purging, migrations, and the races that
 * matter (one code, many threads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "as_store.h"
#include "db.h"
#include "dpop.h"

#define T0 1700000000

struct fixture {
	char dir[128];
	char db[192];
	fz_as_store *st;
	fz_arena *a;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/fz-asstore-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/as.db", f->dir);
	if (fz_as_store_open(f->db, 4, &f->st, NULL) != FZ_OK)
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

static int64_t add_user(struct fixture *f, const char *address)
{
	fz_as_user u;

	assert_int_equal(fz_as_store_user_add(f->st, address, "$argon2id$fake", T0, NULL), FZ_OK);
	assert_int_equal(fz_as_store_user_find(f->st, f->a, address, &u, NULL), FZ_OK);
	return u.id;
}

static void add_client(struct fixture *f, const char *id, fz_as_client_type type,
		       const char *redirect)
{
	const char *uris[] = {redirect};
	fz_as_client c = {
		.client_id = id,
		.type = type,
		.auth_method = type == FZ_CLIENT_PUBLIC ? FZ_AUTH_NONE : FZ_AUTH_PRIVATE_KEY_JWT,
		.jwks = type == FZ_CLIENT_PUBLIC ? NULL : "{\"keys\":[]}",
		.redirect_uris = uris,
		.nredirect_uris = redirect ? 1 : 0,
	};

	assert_int_equal(fz_as_store_client_add(f->st, &c, T0, NULL), FZ_OK);
}

/* --- users ------------------------------------------------------------- */

static void test_users(void **state)
{
	struct fixture *f = *state;
	fz_as_user u, *list;
	fz_err err = {0};
	size_t n;

	add_user(f, "alice@Example.COM");
	assert_int_equal(fz_as_store_user_find(f->st, f->a, "alice@example.com", &u, &err), FZ_OK);
	assert_string_equal(u.address, "alice@example.com");
	assert_string_equal(u.password_hash, "$argon2id$fake");
	assert_false(u.forwarding);
	assert_int_equal(u.created_at, T0);
	/* Domains compare without case, local parts exactly. */
	assert_int_equal(fz_as_store_user_add(f->st, "alice@EXAMPLE.com", "h", T0, &err),
			 FZ_ECONFLICT);
	assert_non_null(strstr(err.msg, "exists already"));
	assert_int_equal(fz_as_store_user_find(f->st, f->a, "Alice@example.com", &u, &err),
			 FZ_ENOTFOUND);
	add_user(f, "Alice@example.com");
	assert_int_equal(fz_as_store_user_add(f->st, "no-at-sign", "h", T0, &err), FZ_ESYNTAX);

	assert_int_equal(fz_as_store_user_set_forwarding(f->st, "alice@EXAMPLE.COM", true, &err),
			 FZ_OK);
	assert_int_equal(fz_as_store_user_set_password(f->st, "alice@example.com", "$new", &err),
			 FZ_OK);
	assert_int_equal(fz_as_store_user_find(f->st, f->a, "alice@example.com", &u, &err), FZ_OK);
	assert_true(u.forwarding);
	assert_string_equal(u.password_hash, "$new");
	assert_int_equal(fz_as_store_user_set_forwarding(f->st, "bob@example.com", true, &err),
			 FZ_ENOTFOUND);

	assert_int_equal(fz_as_store_user_list(f->st, f->a, &list, &n, &err), FZ_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].address, "Alice@example.com");
	assert_string_equal(list[1].address, "alice@example.com");

	assert_int_equal(fz_as_store_user_remove(f->st, "alice@example.com", &err), FZ_OK);
	assert_int_equal(fz_as_store_user_remove(f->st, "alice@example.com", &err), FZ_ENOTFOUND);
	assert_int_equal(fz_as_store_user_list(f->st, f->a, &list, &n, &err), FZ_OK);
	assert_int_equal(n, 1);
}

/* --- clients ---------------------------------------------------------------- */

static void test_clients_and_origins(void **state)
{
	struct fixture *f = *state;
	const char *uris[] = {"https://MBX.example.com/oauth/callback",
			      "http://127.0.0.1:5173/cb"};
	fz_as_client c = {
		.client_id = "webmail",
		.type = FZ_CLIENT_PUBLIC,
		.auth_method = FZ_AUTH_NONE,
		.first_party = true,
		.audience = "https://mbx.example.com/",
		.redirect_uris = uris,
		.nredirect_uris = 2,
	}, got, *list;
	fz_err err = {0};
	bool ok;
	size_t n;

	assert_int_equal(fz_as_store_client_add(f->st, &c, T0, &err), FZ_OK);
	assert_int_equal(fz_as_store_client_add(f->st, &c, T0, &err), FZ_ECONFLICT);
	assert_non_null(strstr(err.msg, "exists already"));
	add_client(f, "mta", FZ_CLIENT_CONFIDENTIAL, "https://mta.example.org/cb");

	assert_int_equal(fz_as_store_client_find(f->st, f->a, "webmail", &got, &err), FZ_OK);
	assert_string_equal(got.client_id, "webmail");
	assert_int_equal(got.type, FZ_CLIENT_PUBLIC);
	assert_int_equal(got.auth_method, FZ_AUTH_NONE);
	assert_true(got.first_party);
	assert_string_equal(got.audience, "https://mbx.example.com/");
	assert_null(got.sibling_of);
	assert_null(got.jwks);
	assert_int_equal(got.nredirect_uris, 2);
	/* Exact strings, in order. */
	assert_string_equal(got.redirect_uris[0], "https://MBX.example.com/oauth/callback");
	assert_string_equal(got.redirect_uris[1], "http://127.0.0.1:5173/cb");
	assert_int_equal(fz_as_store_client_find(f->st, f->a, "nobody", &got, &err),
			 FZ_ENOTFOUND);

	/* CORS: public clients' redirect origins only. */
	assert_int_equal(fz_as_store_origin_allowed(f->st, "https://mbx.example.com", &ok, &err),
			 FZ_OK);
	assert_true(ok);
	assert_int_equal(fz_as_store_origin_allowed(f->st, "http://127.0.0.1:5173", &ok, &err),
			 FZ_OK);
	assert_true(ok);
	assert_int_equal(fz_as_store_origin_allowed(f->st, "https://mta.example.org", &ok, &err),
			 FZ_OK);
	assert_false(ok);
	assert_int_equal(fz_as_store_origin_allowed(f->st, "https://evil.example", &ok, &err),
			 FZ_OK);
	assert_false(ok);

	assert_int_equal(fz_as_store_client_list(f->st, f->a, &list, &n, &err), FZ_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].client_id, "mta");
	assert_int_equal(list[0].auth_method, FZ_AUTH_PRIVATE_KEY_JWT);
	assert_string_equal(list[0].jwks, "{\"keys\":[]}");
	assert_int_equal(list[1].nredirect_uris, 2);

	assert_int_equal(fz_as_store_client_remove(f->st, "webmail", &err), FZ_OK);
	assert_int_equal(fz_as_store_client_remove(f->st, "webmail", &err), FZ_ENOTFOUND);
	assert_int_equal(fz_as_store_origin_allowed(f->st, "https://mbx.example.com", &ok, &err),
			 FZ_OK);
	assert_false(ok);
}

static void test_origin_of(void **state)
{
	char *o;

	(void)state;
	assert_int_equal(fz_as_origin_of("https://MBX.Example.com:443/a/b?c", &o, NULL), FZ_OK);
	assert_string_equal(o, "https://mbx.example.com");
	free(o);
	assert_int_equal(fz_as_origin_of("http://[::1]:8080", &o, NULL), FZ_OK);
	assert_string_equal(o, "http://[::1]:8080");
	free(o);
	assert_int_not_equal(fz_as_origin_of("ftp://x", &o, NULL), FZ_OK);
	assert_null(o);
}

/* --- codes --------------------------------------------------------------------- */

static fz_as_code code(const char *hash, int64_t user)
{
	return (fz_as_code){
		.code_hash = hash,
		.client_id = "webmail",
		.user_id = user,
		.redirect_uri = "https://mbx.example.com/oauth/callback",
		.scope = "internet_mail",
		.code_challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		.created_at = T0,
		.expires_at = T0 + 60,
	};
}

static fz_as_refresh refresh(const char *hash, const char *family, int64_t user,
			     const char *jkt)
{
	return (fz_as_refresh){
		.token_hash = hash,
		.family_id = family,
		.client_id = "webmail",
		.user_id = user,
		.scope = "internet_mail",
		.audience = "https://mbx.example.com/",
		.dpop_jkt = jkt,
		.created_at = T0,
		.expires_at = T0 + 3600,
	};
}

static void test_codes_single_use(void **state)
{
	struct fixture *f = *state;
	int64_t uid = add_user(f, "alice@example.com");
	fz_as_code c = code("h1", uid), got;
	fz_as_refresh r = refresh("r1", "fam1", uid, NULL);
	fz_as_refresh_rotation rot = {"r1", "webmail", NULL, "r2", T0 + 5, 3600};
	fz_as_refresh next;
	fz_err err = {0};

	add_client(f, "webmail", FZ_CLIENT_PUBLIC, "https://mbx.example.com/oauth/callback");
	assert_int_equal(fz_as_store_code_put(f->st, &c, &err), FZ_OK);
	assert_int_equal(fz_as_store_code_put(f->st, &c, &err), FZ_ECONFLICT);

	assert_int_equal(fz_as_store_code_redeem(f->st, f->a, "h1", T0 + 1, &got, &err), FZ_OK);
	assert_string_equal(got.client_id, "webmail");
	assert_int_equal(got.user_id, uid);
	assert_string_equal(got.redirect_uri, "https://mbx.example.com/oauth/callback");
	assert_string_equal(got.code_challenge, c.code_challenge);
	assert_null(got.dpop_jkt);
	assert_int_equal(got.used_at, 0);

	/* What the code issued, recorded... */
	assert_int_equal(fz_as_store_refresh_put(f->st, &r, &err), FZ_OK);
	assert_int_equal(fz_as_store_code_set_issued(f->st, "h1", "fam1", "jti1", &err), FZ_OK);
	assert_int_equal(fz_as_store_code_set_issued(f->st, "nope", "fam1", "jti1", &err),
			 FZ_ENOTFOUND);
	/* ...is revoked when the code comes back. */
	assert_int_equal(fz_as_store_code_redeem(f->st, f->a, "h1", T0 + 2, &got, &err),
			 FZ_EREPLAY);
	assert_int_equal(err.status, 400);
	assert_string_equal(err.oauth, "invalid_grant");
	assert_string_equal(got.issued_family, "fam1");
	assert_string_equal(got.issued_jti, "jti1");
	assert_int_equal(got.used_at, T0 + 1);
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_EDENIED);
	assert_non_null(strstr(err.msg, "revoked"));

	assert_int_equal(fz_as_store_code_redeem(f->st, f->a, "unknown", T0, &got, &err),
			 FZ_ENOTFOUND);
	assert_string_equal(err.oauth, "invalid_grant");
	assert_int_equal(err.status, 400);

	c = code("h2", uid);
	c.dpop_jkt = "jkt-of-the-key";
	assert_int_equal(fz_as_store_code_put(f->st, &c, &err), FZ_OK);
	assert_int_equal(fz_as_store_code_redeem(f->st, f->a, "h2", T0 + 60, &got, &err),
			 FZ_ECLAIM);
	assert_non_null(strstr(err.msg, "expired"));
	/* Expired codes are refused without being spent... and purged. */
	assert_int_equal(fz_as_store_purge(f->st, T0 + 61, NULL, &err), FZ_OK);
	assert_int_equal(fz_as_store_code_redeem(f->st, f->a, "h2", T0 + 1, &got, &err),
			 FZ_ENOTFOUND);
}

struct race {
	fz_as_store *st;
	int wins;
	pthread_mutex_t lock;
};

static void *redeem_once(void *arg)
{
	struct race *r = arg;
	fz_arena *a = fz_arena_new(0, 0);
	fz_as_code got;

	if (fz_as_store_code_redeem(r->st, a, "race", T0 + 1, &got, NULL) == FZ_OK) {
		pthread_mutex_lock(&r->lock);
		r->wins++;
		pthread_mutex_unlock(&r->lock);
	}
	fz_arena_free(a);
	return NULL;
}

static void test_code_race(void **state)
{
	struct fixture *f = *state;
	int64_t uid = add_user(f, "alice@example.com");
	fz_as_code c = code("race", uid);
	struct race r = {.st = f->st};
	pthread_t th[8];
	size_t i;

	add_client(f, "webmail", FZ_CLIENT_PUBLIC, "https://mbx.example.com/cb");
	assert_int_equal(fz_as_store_code_put(f->st, &c, NULL), FZ_OK);
	pthread_mutex_init(&r.lock, NULL);
	for (i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, redeem_once, &r);
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&r.lock);
	assert_int_equal(r.wins, 1);
}

/* --- refresh tokens ----------------------------------------------------------- */

static void test_refresh_rotation(void **state)
{
	struct fixture *f = *state;
	int64_t uid = add_user(f, "alice@example.com");
	fz_as_refresh r = refresh("r1", "fam", uid, "jkt1"), next;
	fz_as_refresh_rotation rot = {"r1", "webmail", "jkt1", "r2", T0 + 10, 600};
	fz_err err = {0};

	add_client(f, "webmail", FZ_CLIENT_PUBLIC, "https://mbx.example.com/cb");
	add_client(f, "other", FZ_CLIENT_PUBLIC, "https://other.example.com/cb");
	assert_int_equal(fz_as_store_refresh_put(f->st, &r, &err), FZ_OK);

	/* Refusals that leave the token usable. */
	rot.client_id = "other";
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_EDENIED);
	assert_non_null(strstr(err.msg, "another client"));
	rot.client_id = "webmail";
	rot.dpop_jkt = "jkt2";
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_EDENIED);
	assert_non_null(strstr(err.msg, "DPoP key"));
	rot.dpop_jkt = NULL;
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_EDENIED);
	rot.dpop_jkt = "jkt1";
	rot.token_hash = "unknown";
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_ENOTFOUND);
	assert_string_equal(err.oauth, "invalid_grant");
	rot.token_hash = "r1";

	/* The rotation. */
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_OK);
	assert_string_equal(next.token_hash, "r2");
	assert_string_equal(next.family_id, "fam");
	assert_string_equal(next.client_id, "webmail");
	assert_int_equal(next.user_id, uid);
	assert_string_equal(next.scope, "internet_mail");
	assert_string_equal(next.audience, "https://mbx.example.com/");
	assert_string_equal(next.dpop_jkt, "jkt1");
	assert_int_equal(next.created_at, T0 + 10);
	assert_int_equal(next.expires_at, T0 + 610);

	/* r2 rotates to r3 ... */
	rot = (fz_as_refresh_rotation){"r2", "webmail", "jkt1", "r3", T0 + 20, 600};
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_OK);
	/* ... then r1 comes back: the whole family is revoked. */
	rot = (fz_as_refresh_rotation){"r1", "webmail", "jkt1", "r4", T0 + 30, 600};
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_EREPLAY);
	assert_int_equal(err.status, 400);
	rot = (fz_as_refresh_rotation){"r3", "webmail", "jkt1", "r5", T0 + 31, 600};
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_EDENIED);
	assert_non_null(strstr(err.msg, "revoked"));
	/* No new token joins a revoked family. */
	r = refresh("r6", "fam", uid, NULL);
	assert_int_equal(fz_as_store_refresh_put(f->st, &r, &err), FZ_EDENIED);
}

static void test_refresh_expiry_and_revoke(void **state)
{
	struct fixture *f = *state;
	int64_t uid = add_user(f, "alice@example.com");
	fz_as_refresh r = refresh("a1", "famA", uid, NULL), next;
	fz_as_refresh_rotation rot = {"a1", "webmail", NULL, "a2", T0 + 3600, 600};
	fz_err err = {0};
	uint64_t removed = 0;

	add_client(f, "webmail", FZ_CLIENT_PUBLIC, "https://mbx.example.com/cb");
	assert_int_equal(fz_as_store_refresh_put(f->st, &r, &err), FZ_OK);
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_ECLAIM);
	assert_non_null(strstr(err.msg, "expired"));

	r = refresh("b1", "famB", uid, NULL);
	assert_int_equal(fz_as_store_refresh_put(f->st, &r, &err), FZ_OK);
	assert_int_equal(fz_as_store_refresh_revoke(f->st, "b1", "other", &err), FZ_EDENIED);
	assert_int_equal(fz_as_store_refresh_revoke(f->st, "nope", NULL, &err), FZ_ENOTFOUND);
	assert_int_equal(fz_as_store_refresh_revoke(f->st, "b1", "webmail", &err), FZ_OK);
	rot = (fz_as_refresh_rotation){"b1", "webmail", NULL, "b2", T0 + 1, 600};
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_EDENIED);

	assert_int_equal(fz_as_store_family_revoke(f->st, "famA", &err), FZ_OK);
	assert_int_equal(fz_as_store_family_revoke(f->st, "nofam", &err), FZ_ENOTFOUND);

	/* Purge drops the expired tokens and their empty families. */
	assert_int_equal(fz_as_store_purge(f->st, T0 + 3601, &removed, &err), FZ_OK);
	assert_int_equal(removed, 4);
	r = refresh("c1", "famA", uid, NULL);
	assert_int_equal(fz_as_store_refresh_put(f->st, &r, &err), FZ_OK);

	/* Removing the user removes their grants. */
	assert_int_equal(fz_as_store_user_remove(f->st, "alice@example.com", &err), FZ_OK);
	rot = (fz_as_refresh_rotation){"c1", "webmail", NULL, "c2", T0 + 1, 600};
	assert_int_equal(fz_as_store_refresh_rotate(f->st, f->a, &rot, &next, &err), FZ_ENOTFOUND);
}

/* --- replay cache ------------------------------------------------------------- */

static void test_replay(void **state)
{
	struct fixture *f = *state;
	fz_as_replay dpop = {f->st, "dpop", T0}, client = {f->st, "client_assertion", T0};
	fz_replay_check_fn fn = fz_as_store_replay_check; /* the core's signature */
	fz_err err = {0};
	uint64_t removed;

	assert_int_equal(fn(&dpop, "j1", T0 + 60, &err), FZ_OK);
	assert_int_equal(fn(&dpop, "j1", T0 + 60, &err), FZ_EREPLAY);
	assert_non_null(strstr(err.msg, "dpop jti seen before"));
	/* Namespaces are apart. */
	assert_int_equal(fz_as_store_replay_check(&client, "j1", T0 + 60, &err), FZ_OK);
	/* Past its expiry an entry may be taken again. */
	dpop.now = T0 + 60;
	assert_int_equal(fz_as_store_replay_check(&dpop, "j1", T0 + 120, &err), FZ_OK);
	assert_int_equal(fz_as_store_replay_check(&dpop, "j1", T0 + 120, &err), FZ_EREPLAY);
	assert_int_equal(fz_as_store_purge(f->st, T0 + 120, &removed, &err), FZ_OK);
	assert_int_equal(removed, 2);
	assert_int_equal(fz_as_store_replay_check(&dpop, "j1", T0 + 180, &err), FZ_OK);
}

/* --- login throttling --------------------------------------------------------- */

static void test_login_throttle(void **state)
{
	struct fixture *f = *state;
	fz_as_throttle_policy p = {.max_failures = 3, .window = 60, .lockout = 300};
	int64_t until;
	fz_err err = {0};
	int i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(fz_as_store_login_failed(f->st, FZ_THROTTLE_ACCOUNT,
							  "alice@example.com", T0 + i, &p,
							  &until, &err), FZ_OK);
		assert_int_equal(until, 0);
	}
	assert_int_equal(fz_as_store_login_locked(f->st, FZ_THROTTLE_ACCOUNT,
						  "alice@example.com", T0 + 2, &until, &err), FZ_OK);
	assert_int_equal(until, 0);
	assert_int_equal(fz_as_store_login_failed(f->st, FZ_THROTTLE_ACCOUNT,
						  "alice@example.com", T0 + 2, &p, &until, &err),
			 FZ_OK);
	assert_int_equal(until, T0 + 302);
	assert_int_equal(fz_as_store_login_locked(f->st, FZ_THROTTLE_ACCOUNT,
						  "alice@example.com", T0 + 100, &until, &err), FZ_OK);
	assert_int_equal(until, T0 + 302);
	/* The other kind of key is its own counter. */
	assert_int_equal(fz_as_store_login_locked(f->st, FZ_THROTTLE_ADDRESS,
						  "alice@example.com", T0 + 100, &until, &err), FZ_OK);
	assert_int_equal(until, 0);
	/* After the lockout: unlocked, with the full allowance again. */
	assert_int_equal(fz_as_store_login_locked(f->st, FZ_THROTTLE_ACCOUNT,
						  "alice@example.com", T0 + 302, &until, &err), FZ_OK);
	assert_int_equal(until, 0);
	assert_int_equal(fz_as_store_login_failed(f->st, FZ_THROTTLE_ACCOUNT,
						  "alice@example.com", T0 + 303, &p, &until, &err),
			 FZ_OK);
	assert_int_equal(until, 0);

	/* Failures spread wider than the window never lock. */
	for (i = 0; i < 5; i++) {
		assert_int_equal(fz_as_store_login_failed(f->st, FZ_THROTTLE_ADDRESS, "192.0.2.7",
							  T0 + i * 61, &p, &until, &err), FZ_OK);
		assert_int_equal(until, 0);
	}
	assert_int_equal(fz_as_store_login_clear(f->st, FZ_THROTTLE_ACCOUNT,
						 "alice@example.com", &err), FZ_OK);
	assert_int_equal(fz_as_store_login_failed(f->st, FZ_THROTTLE_ACCOUNT,
						  "alice@example.com", T0 + 304, &p, &until, &err),
			 FZ_OK);
	assert_int_equal(until, 0);
}

/* --- key registry, migrations ------------------------------------------------- */

static void test_keys_registry(void **state)
{
	struct fixture *f = *state;
	fz_as_key_row *rows;
	fz_err err = {0};
	size_t n;

	assert_int_equal(fz_as_store_key_list(f->st, f->a, &rows, &n, &err), FZ_OK);
	assert_int_equal(n, 0);
	assert_int_equal(fz_as_store_key_add(f->st, "k1", "ES256", T0, &err), FZ_OK);
	assert_int_equal(fz_as_store_key_add(f->st, "k2", "RS256", T0 + 10, &err), FZ_OK);
	assert_int_equal(fz_as_store_key_add(f->st, "k2", "RS256", T0 + 10, &err), FZ_ECONFLICT);
	assert_int_equal(fz_as_store_key_list(f->st, f->a, &rows, &n, &err), FZ_OK);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].kid, "k2");
	assert_string_equal(rows[0].alg, "RS256");
	assert_int_equal(rows[0].retired_at, 0);
	assert_string_equal(rows[1].kid, "k1");
	assert_int_equal(rows[1].retired_at, T0 + 10);
	assert_int_equal(fz_as_store_key_remove(f->st, "k1", &err), FZ_OK);
	assert_int_equal(fz_as_store_key_remove(f->st, "k1", &err), FZ_ENOTFOUND);
}

static void test_migrations(void **state)
{
	struct fixture *f = *state;
	static const char *const newer[] = {"SELECT 1", "SELECT 1", "SELECT 1", "SELECT 1"};
	fz_as_store *again;
	fz_db *db;
	fz_err err = {0};
	struct stat sb;
	int v;

	/* Reopening migrates nothing and keeps the data. */
	add_user(f, "alice@example.com");
	assert_int_equal(fz_as_store_open(f->db, 1, &again, &err), FZ_OK);
	fz_as_store_close(again);
	assert_int_equal(stat(f->db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, FZ_DB_FILE_MODE);

	assert_int_equal(fz_db_open(f->db, 1, &db, &err), FZ_OK);
	assert_int_equal(fz_db_version(db, FZ_AS_STORE_COMPONENT, &v, &err), FZ_OK);
	assert_int_equal(v, 2);
	/* Another component counts on its own. */
	assert_int_equal(fz_db_migrate(db, "test", newer, 2, &err), FZ_OK);
	assert_int_equal(fz_db_version(db, "test", &v, &err), FZ_OK);
	assert_int_equal(v, 2);
	/* A broken step is rolled back and named. */
	assert_int_equal(fz_db_migrate(db, "test", (const char *const[]){"SELECT 1", "SELECT 1",
									  "NOT SQL"}, 3, &err),
			 FZ_EIO);
	assert_non_null(strstr(err.msg, "migration test 3"));
	assert_int_equal(fz_db_version(db, "test", &v, &err), FZ_OK);
	assert_int_equal(v, 2);
	/* A binary older than the database refuses it. */
	assert_int_equal(fz_db_migrate(db, "test", newer, 1, &err), FZ_ECONFLICT);
	assert_non_null(strstr(err.msg, "newer"));
	fz_db_close(db);

	assert_int_equal(fz_as_store_open("/nonexistent-dir/as.db", 1, &again, &err), FZ_EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clients_and_origins, setup, teardown),
		cmocka_unit_test(test_origin_of),
		cmocka_unit_test_setup_teardown(test_codes_single_use, setup, teardown),
		cmocka_unit_test_setup_teardown(test_code_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refresh_expiry_and_revoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_throttle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_registry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrations, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
