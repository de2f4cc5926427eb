/* The AS context, its keyring and the access tokens it mints: the first
 * key made on first start, RFC 9068 claims checked with our own JWS/JWT
 * code against the published keys, and key rotation keeping old keys
 * published exactly as long as their tokens can live. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "as.h"
#include "as_keys.h"
#include "as_password.h"
#include "as_tokens.h"
#include "dpop.h"
#include "jws.h"
#include "jwt.h"

#define T0 1700000000

struct fixture {
	char dir[128];
	fz_as_config cfg;
	fz_as *as;
	int64_t now;
};

static int64_t test_clock(void *ctx)
{
	return ((struct fixture *)ctx)->now;
}

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

static int open_as(struct fixture *f, const char *alg)
{
	char text[1024];
	fz_err err = {0};

	snprintf(text, sizeof(text),
		 "issuer: https://as.example.com/\n"
		 "tls: {cert: unused.pem, key: unused.pem}\n"
		 "database: %s/as.db\n"
		 "keys: {dir: %s/keys, alg: %s, reload_interval: 60}\n"
		 "domains: [example.com]\n"
		 "limits: {threads: 2}\n", f->dir, f->dir, alg);
	if (fz_as_config_parse(text, strlen(text), &f->cfg, &err) != FZ_OK ||
	    fz_as_open(&f->cfg, &f->as, &err) != FZ_OK) {
		fprintf(stderr, "open_as: %s\n", err.msg);
		return -1;
	}
	f->as->clock = test_clock;
	f->as->clock_ctx = f;
	return 0;
}

static int setup_alg(void **state, const char *alg)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/fz-astokens-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->now = T0;
	*state = f;
	return open_as(f, alg);
}

static int setup(void **state)
{
	return setup_alg(state, "ES256");
}

static int setup_rs256(void **state)
{
	return setup_alg(state, "RS256");
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fz_as_close(f->as);
	fz_as_config_free(&f->cfg);
	remove_tree(f->dir);
	free(f);
	return 0;
}

/* Verifies jwt against the published keys and checks it as RFC 9068
 * says a resource server would. Returns the verified JWS. */
static fz_jws *verify(struct fixture *f, const char *jwt, const char *aud)
{
	fz_as_keysnap *s = fz_as_keys_get(f->as->keys);
	fz_jwt_expect exp;
	fz_jws *jws = NULL;
	fz_err err = {0};

	fz_jwt_expect_defaults(&exp);
	exp.typ = FZ_TYP_AT_JWT;
	exp.iss = "https://as.example.com/";
	exp.aud = aud;
	exp.require_iat = true;
	if (fz_jws_verify(jwt, strlen(jwt), FZ_JWS_MAX_BYTES, FZ_ALGS_ALL,
			  fz_as_keysnap_published(s), &jws, &err) != FZ_OK ||
	    fz_jwt_check(jws, &exp, f->now, &err) != FZ_OK)
		fail_msg("token does not verify: %s", err.msg);
	fz_as_keys_put(f->as->keys, s);
	return jws;
}

static size_t count_files(const char *dir)
{
	struct dirent *e;
	size_t n = 0;
	DIR *d = opendir(dir);

	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

static void test_first_start(void **state)
{
	struct fixture *f = *state;
	fz_as_keysnap *s = fz_as_keys_get(f->as->keys);
	char path[512];
	const char *jwks;
	struct stat sb;
	fz_as *again;
	size_t n;

	assert_non_null(fz_as_keysnap_signer(s));
	assert_int_equal(fz_key_alg(fz_as_keysnap_signer(s)), FZ_ALG_ES256);
	assert_int_equal(fz_keyset_count(fz_as_keysnap_published(s)), 1);
	jwks = fz_as_keysnap_jwks(s, &n);
	assert_int_equal(strlen(jwks), n);
	assert_non_null(strstr(jwks, fz_key_kid(fz_as_keysnap_signer(s))));
	assert_null(strstr(jwks, "\"d\""));
	snprintf(path, sizeof(path), "%s/keys/%s.pem", f->dir,
		 fz_key_kid(fz_as_keysnap_signer(s)));
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/keys", f->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, FZ_AS_KEYS_DIR_MODE);
	fz_as_keys_put(f->as->keys, s);

	/* Endpoints derive from the issuer. */
	assert_string_equal(f->as->token_endpoint, "https://as.example.com/token");
	assert_string_equal(f->as->metadata_url,
			    "https://as.example.com/.well-known/oauth-authorization-server");
	assert_string_equal(f->as->jwks_uri, "https://as.example.com/jwks");

	/* A second start uses the key it finds. */
	assert_int_equal(fz_as_open(&f->cfg, &again, NULL), FZ_OK);
	fz_as_close(again);
	assert_int_equal(count_files(path), 1);
}

static void test_mint_bearer(void **state)
{
	struct fixture *f = *state;
	fz_as_access_token t = {
		.sub = "alice@example.com",
		.email = "alice@example.com",
		.aud = "https://mbx.example.com/",
		.scope = "internet_mail",
		.client_id = "webmail",
	};
	fz_as_minted m;
	const json_t *c;
	fz_jws *jws;
	int64_t v;

	assert_int_equal(fz_as_mint_access_token(f->as, &t, &m, NULL), FZ_OK);
	assert_int_equal(m.iat, T0);
	assert_int_equal(m.exp, T0 + FZ_AS_ACCESS_TTL_DEFAULT);
	assert_int_equal(strlen(m.jti), FZ_JTI_LEN);
	jws = verify(f, m.jwt, "https://mbx.example.com/");
	assert_string_equal(fz_jws_typ(jws), "at+jwt");
	assert_string_equal(fz_jws_alg_name(jws), "ES256");
	c = fz_jws_payload(jws);
	assert_string_equal(fz_jwt_str(c, "iss"), "https://as.example.com/");
	assert_string_equal(fz_jwt_str(c, "sub"), "alice@example.com");
	assert_string_equal(fz_jwt_str(c, "email"), "alice@example.com");
	assert_string_equal(fz_jwt_str(c, "aud"), "https://mbx.example.com/");
	assert_string_equal(fz_jwt_str(c, "scope"), "internet_mail");
	assert_string_equal(fz_jwt_str(c, "client_id"), "webmail");
	assert_string_equal(fz_jwt_str(c, "jti"), m.jti);
	assert_int_equal(fz_jwt_int(c, "iat", &v, NULL), FZ_OK);
	assert_int_equal(v, T0);
	assert_int_equal(fz_jwt_int(c, "exp", &v, NULL), FZ_OK);
	assert_int_equal(v, T0 + 900);
	assert_null(json_object_get(c, "cnf"));
	assert_null(json_object_get(c, "azp"));
	fz_jws_free(jws);
	fz_as_minted_clear(&m);
	assert_null(m.jwt);

	/* Expired once the clock passes exp (and the leeway). */
	{
		fz_as_keysnap *s;
		fz_jwt_expect exp;
		fz_err err = {0};

		assert_int_equal(fz_as_mint_access_token(f->as, &t, &m, NULL), FZ_OK);
		f->now = T0 + 900 + FZ_JOSE_LEEWAY + 1;
		fz_jwt_expect_defaults(&exp);
		s = fz_as_keys_get(f->as->keys);
		assert_int_equal(fz_jws_verify(m.jwt, strlen(m.jwt), FZ_JWS_MAX_BYTES, FZ_ALGS_ALL,
					       fz_as_keysnap_published(s), &jws, &err), FZ_OK);
		fz_as_keys_put(f->as->keys, s);
		assert_int_equal(fz_jwt_check(jws, &exp, f->now, &err), FZ_ECLAIM);
		fz_jws_free(jws);
		fz_as_minted_clear(&m);
	}
}

static void test_mint_dpop_bound(void **state)
{
	struct fixture *f = *state;
	fz_digest_str jkt = {"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"};
	json_t *extra = json_pack("{s:s}", "message_id", "<b07d@example.com>");
	fz_as_access_token t = {
		.sub = "mta",
		.aud = "https://mbx.example.com/",
		.scope = "internet_mail",
		.client_id = "mta",
		.azp = "mta",
		.jkt = &jkt,
		.extra = extra,
		.ttl = 3600,
	};
	fz_as_minted m;
	const json_t *c;
	fz_digest_str got;
	fz_jws *jws;

	assert_int_equal(fz_as_mint_access_token(f->as, &t, &m, NULL), FZ_OK);
	assert_int_equal(m.exp, T0 + 3600);
	jws = verify(f, m.jwt, "https://mbx.example.com/");
	c = fz_jws_payload(jws);
	assert_int_equal(fz_jwt_cnf_jkt(c, &got, NULL), FZ_OK);
	assert_string_equal(got.s, jkt.s);
	/* What a resource server checks against the DPoP proof's key. */
	assert_int_equal(fz_dpop_check_binding(c, &jkt, NULL), FZ_OK);
	assert_string_equal(fz_jwt_str(c, "azp"), "mta");
	assert_string_equal(fz_jwt_str(c, "message_id"), "<b07d@example.com>");
	assert_null(json_object_get(c, "email"));
	fz_jws_free(jws);
	fz_as_minted_clear(&m);
	json_decref(extra);
}

static void test_mint_refusals(void **state)
{
	struct fixture *f = *state;
	json_t *extra = json_pack("{s:s}", "iss", "https://evil.example/");
	fz_as_access_token t = {
		.sub = "alice@example.com",
		.aud = "https://mbx.example.com/",
		.scope = "internet_mail",
		.client_id = "webmail",
		.extra = extra,
	};
	fz_as_minted m;
	fz_err err = {0};

	assert_int_equal(fz_as_mint_access_token(f->as, &t, &m, &err), FZ_EINTERNAL);
	assert_non_null(strstr(err.msg, "iss"));
	assert_null(m.jwt);
	t.extra = NULL;
	t.aud = NULL;
	assert_int_equal(fz_as_mint_access_token(f->as, &t, &m, &err), FZ_EINTERNAL);
	t.aud = "https://mbx.example.com/";
	t.ttl = -1;
	assert_int_equal(fz_as_mint_access_token(f->as, &t, &m, &err), FZ_EINTERNAL);
	json_decref(extra);
}

static void test_rs256(void **state)
{
	struct fixture *f = *state;
	fz_as_access_token t = {
		.sub = "bob@example.com",
		.aud = "https://mbx.example.com/",
		.scope = "internet_mail",
		.client_id = "webmail",
	};
	fz_as_minted m;
	fz_jws *jws;

	assert_int_equal(fz_as_mint_access_token(f->as, &t, &m, NULL), FZ_OK);
	jws = verify(f, m.jwt, "https://mbx.example.com/");
	assert_string_equal(fz_jws_alg_name(jws), "RS256");
	fz_jws_free(jws);
	fz_as_minted_clear(&m);
}

static void test_rotation(void **state)
{
	struct fixture *f = *state;
	fz_as_access_token t = {
		.sub = "alice@example.com",
		.aud = "https://mbx.example.com/",
		.scope = "internet_mail",
		.client_id = "webmail",
	};
	fz_as_keysnap *s = fz_as_keys_get(f->as->keys);
	char old_kid[FZ_KID_MAX + 1], new_kid[FZ_KID_MAX + 1], keys[256];
	int64_t window;
	fz_as_minted m;
	fz_jws *jws;

	snprintf(old_kid, sizeof(old_kid), "%s", fz_key_kid(fz_as_keysnap_signer(s)));
	fz_as_keys_put(f->as->keys, s);
	snprintf(keys, sizeof(keys), "%s/keys", f->dir);
	assert_int_equal(fz_as_mint_access_token(f->as, &t, &m, NULL), FZ_OK);

	/* Rotate as admin would; the running AS sees it on reload. */
	f->now = T0 + 100;
	assert_int_equal(fz_as_keys_rotate(&f->cfg, f->as->store, f->now, new_kid, NULL), FZ_OK);
	assert_string_not_equal(new_kid, old_kid);
	s = fz_as_keys_get(f->as->keys);
	assert_string_equal(fz_key_kid(fz_as_keysnap_signer(s)), old_kid);
	assert_int_equal(fz_as_keys_reload(f->as->keys, f->now, NULL), FZ_OK);
	/* The old snapshot stays valid for whoever holds it. */
	assert_string_equal(fz_key_kid(fz_as_keysnap_signer(s)), old_kid);
	fz_as_keys_put(f->as->keys, s);
	s = fz_as_keys_get(f->as->keys);
	assert_string_equal(fz_key_kid(fz_as_keysnap_signer(s)), new_kid);
	assert_int_equal(fz_keyset_count(fz_as_keysnap_published(s)), 2);
	fz_as_keys_put(f->as->keys, s);
	/* A token of the old key still verifies. */
	jws = verify(f, m.jwt, "https://mbx.example.com/");
	assert_string_equal(fz_jws_kid(jws), old_kid);
	fz_jws_free(jws);
	fz_as_minted_clear(&m);
	/* A reload with nothing changed keeps the snapshot. */
	s = fz_as_keys_get(f->as->keys);
	assert_int_equal(fz_as_keys_reload(f->as->keys, f->now + 1, NULL), FZ_OK);
	fz_as_keys_put(f->as->keys, s);

	/* The old key stays published through the longest token lifetime,
	 * the reload interval and the leeway; then it goes. */
	window = FZ_AS_ASSERTION_TTL_DEFAULT + 60 + FZ_JOSE_LEEWAY;
	f->now = T0 + 100 + window - 1;
	assert_int_equal(fz_as_keys_reload(f->as->keys, f->now, NULL), FZ_OK);
	s = fz_as_keys_get(f->as->keys);
	assert_int_equal(fz_keyset_count(fz_as_keysnap_published(s)), 2);
	fz_as_keys_put(f->as->keys, s);
	f->now++;
	assert_int_equal(fz_as_keys_reload(f->as->keys, f->now, NULL), FZ_OK);
	s = fz_as_keys_get(f->as->keys);
	assert_int_equal(fz_keyset_count(fz_as_keysnap_published(s)), 1);
	assert_null(fz_keyset_find(fz_as_keysnap_published(s), old_kid));
	fz_as_keys_put(f->as->keys, s);

	/* The next rotation removes its file; the middle key stays. */
	assert_int_equal(count_files(keys), 2);
	assert_int_equal(fz_as_keys_rotate(&f->cfg, f->as->store, f->now, old_kid, NULL), FZ_OK);
	assert_int_equal(count_files(keys), 2);
}

static void test_passwords(void **state)
{
	char h[FZ_AS_PASSWORD_HASH_MAX], h2[FZ_AS_PASSWORD_HASH_MAX];
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_as_password_hash("correct horse", 13, h, &err), FZ_OK);
	assert_int_equal(strncmp(h, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
	assert_int_equal(fz_as_password_verify(h, "correct horse", 13, &err), FZ_OK);
	assert_int_equal(fz_as_password_verify(h, "correct horsE", 13, &err), FZ_EDENIED);
	assert_int_equal(fz_as_password_verify(NULL, "correct horse", 13, &err), FZ_EDENIED);
	assert_int_equal(fz_as_password_verify("$argon2id$garbage", "x", 1, &err), FZ_EINTERNAL);
	/* Fresh salt each time. */
	assert_int_equal(fz_as_password_hash("correct horse", 13, h2, &err), FZ_OK);
	assert_string_not_equal(h, h2);
	assert_int_equal(fz_as_password_hash("x", FZ_AS_PASSWORD_MAX + 1, h2, &err), FZ_ELIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_first_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mint_bearer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mint_dpop_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mint_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rs256, setup_rs256, teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
		cmocka_unit_test(test_passwords),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
