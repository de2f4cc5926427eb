/* DPoP proofs: the RFC 9449 example, proofs we make, and one test per
 * way a proof can be wrong, each with its code and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "dpop.h"
#include "jwk_cache.h"
#include "jws.h"
#include "jwt.h"

/* RFC 9449 §4.1 (Figure 3 decoded; the encoded form is Figure 5). */
#define RFC_PROOF                                                              \
	"eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik"      \
	"VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR" \
	"nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE" \
	"QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj" \
	"oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia" \
	"WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg" \
	"4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
#define RFC_IAT 1562262616
#define RFC_JKT "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
/* RFC 9449 §7.1: the access token of the example and its ath. */
#define RFC_AT "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
#define RFC_ATH "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"

#define NOW 1700000000
#define URL "https://mbx.example.net/mta/v1/messages"
#define TOKEN "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"

/* --- a replay cache, as a server would keep one ------------------------------ */

struct cache {
	char jti[16][FZ_JTI_MAX + 1];
	int64_t expires[16];
	size_t n;
};

static fz_code replay_check(void *ctx, const char *jti, int64_t expires_at,
			    fz_err *err)
{
	struct cache *c = ctx;
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->jti[i], jti) == 0)
			return fz_fail(err, FZ_EREPLAY, "DPoP jti was used before");
	if (c->n == 16)
		return fz_fail(err, FZ_EINTERNAL, "test cache full");
	snprintf(c->jti[c->n], sizeof(c->jti[0]), "%s", jti);
	c->expires[c->n++] = expires_at;
	return FZ_OK;
}

struct fixture {
	fz_key *es, *rs;
	fz_jose_config cfg;
	struct cache cache;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (fz_key_generate(FZ_ALG_ES256, 0, &f->es, NULL) ||
	    fz_key_generate(FZ_ALG_RS256, 0, &f->rs, NULL))
		return -1;
	fz_jose_config_defaults(&f->cfg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fz_key_free(f->es);
	fz_key_free(f->rs);
	free(f);
	return 0;
}

static int reset(void **state)
{
	struct fixture *f = *state;

	memset(&f->cache, 0, sizeof(f->cache));
	fz_jose_config_defaults(&f->cfg);
	return 0;
}

static fz_code verify(struct fixture *f, const char *proof, const char *method,
		      const char *url, const char *token, int64_t now,
		      fz_dpop_result *res, fz_err *err)
{
	fz_dpop_request req = {.method = method, .url = url, .access_token = token};

	return fz_dpop_verify(proof, strlen(proof), &req, &f->cfg, now, replay_check,
			      &f->cache, res, err);
}

static void expect_fail(struct fixture *f, const char *proof, const char *method,
			const char *url, const char *token, int64_t now, fz_code code,
			const char *why)
{
	fz_dpop_result res;
	fz_err err = {0};

	assert_int_equal(verify(f, proof, method, url, token, now, &res, &err), code);
	if (strstr(err.msg, why) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, why);
	if (code != FZ_EINTERNAL && code != FZ_ENOMEM) {
		assert_int_equal(err.status, 401);
		assert_non_null(err.oauth);
	}
}

static char *make(const fz_key *k, const char *htm, const char *htu, const char *token,
		  int64_t now)
{
	char *p = NULL;

	assert_int_equal(fz_dpop_make(k, htm, htu, token, NULL, now, &p, NULL), FZ_OK);
	return p;
}

/* A proof signed by k with the given typ, jwk and claims. */
static char *craft(const fz_key *k, const char *typ, json_t *jwk, json_t *claims)
{
	json_t *extra = json_pack("{s:o}", "jwk", jwk);
	char *p = NULL;

	assert_int_equal(fz_jws_sign(k, typ, extra, claims, &p, NULL), FZ_OK);
	json_decref(extra);
	json_decref(claims);
	return p;
}

static json_t *bare(const fz_key *k)
{
	json_t *j = NULL;

	assert_int_equal(fz_key_to_jwk_bare(k, &j, NULL), FZ_OK);
	return j;
}

static json_t *claims(const char *jti, const char *htm, const char *htu, int64_t iat)
{
	return json_pack("{s:s, s:s, s:s, s:I}", "jti", jti, "htm", htm, "htu", htu,
			 "iat", (json_int_t)iat);
}

/* header.payload.sig from texts, for algorithms we would never sign. */
static char *build(const char *header, const char *payload, const char *sig)
{
	char *h = fz_b64url_encode_alloc(header, strlen(header));
	char *p = fz_b64url_encode_alloc(payload, strlen(payload));
	size_t cap = strlen(h) + strlen(p) + strlen(sig) + 3;
	char *out = malloc(cap);

	snprintf(out, cap, "%s.%s.%s", h, p, sig);
	free(h);
	free(p);
	return out;
}

/* --- RFC 9449's example -------------------------------------------------------- */

static void test_rfc9449_example(void **state)
{
	struct fixture *f = *state;
	fz_dpop_result res;

	assert_int_equal(verify(f, RFC_PROOF, "POST", "https://server.example.com/token", NULL,
				RFC_IAT, &res, NULL), FZ_OK);
	assert_string_equal(res.jkt.s, RFC_JKT);
	assert_string_equal(res.jti, "-BwC3ESc6acc2lTc");
	assert_int_equal(res.iat, RFC_IAT);
	/* RFC 9449 §7.1 */
	assert_int_equal(f->cache.n, 1);
	assert_int_equal(f->cache.expires[0], RFC_IAT + FZ_DPOP_IAT_WINDOW + 1);
}

static void test_rfc9449_example_normalised_url(void **state)
{
	struct fixture *f = *state;
	fz_dpop_result res;

	assert_int_equal(verify(f, RFC_PROOF, "POST",
				"HTTPS://Server.Example.COM:443/a/../token?grant=1#x", NULL,
				RFC_IAT + 30, &res, NULL), FZ_OK);
}

static void test_rfc9449_ath(void **state)
{
	fz_digest_str ath;

	(void)state;
	fz_dpop_ath(RFC_AT, &ath);
	assert_string_equal(ath.s, RFC_ATH);
}

/* --- proofs we make ------------------------------------------------------------ */

static void test_make_shape(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", "HTTPS://MBX.example.net:443/x/../mta/v1/messages?a=1#f",
		       TOKEN, NOW);
	const json_t *h, *c;
	fz_digest_str ath;
	fz_jws *jws = NULL;

	assert_int_equal(fz_jws_parse_unverified(p, strlen(p), FZ_DPOP_MAX_BYTES, &jws, NULL),
			 FZ_OK);
	h = fz_jws_header(jws);
	c = fz_jws_payload(jws);
	assert_string_equal(fz_jws_typ(jws), "dpop+jwt");
	assert_string_equal(fz_jws_alg_name(jws), "ES256");
	assert_null(fz_jws_kid(jws));
	assert_false(fz_jwk_has_private(json_object_get(h, "jwk")));
	assert_string_equal(fz_jwt_str(c, "htm"), "POST");
	assert_string_equal(fz_jwt_str(c, "htu"), URL);
	assert_int_equal(json_integer_value(json_object_get(c, "iat")), NOW);
	assert_true(strlen(fz_jwt_str(c, "jti")) >= 22); /* 128 bits */
	fz_dpop_ath(TOKEN, &ath);
	assert_string_equal(fz_jwt_str(c, "ath"), ath.s);
	assert_null(json_object_get(c, "nonce"));
	fz_jws_free(jws);
	free(p);
}

static void test_make_verify(void **state)
{
	struct fixture *f = *state;
	fz_key *keys[] = {f->es, f->rs};
	fz_dpop_result res;
	size_t i;

	for (i = 0; i < 2; i++) {
		char *p = make(keys[i], "POST", URL, TOKEN, NOW);
		assert_int_equal(verify(f, p, "POST", URL, TOKEN, NOW + 5, &res, NULL), FZ_OK);
		assert_string_equal(res.jkt.s, fz_key_thumbprint(keys[i])->s);
		assert_int_equal(res.iat, NOW);
		free(p);
	}
}

static void test_nonce(void **state)
{
	struct fixture *f = *state;
	fz_dpop_request req = {.method = "GET", .url = URL, .nonce = "eyJ7S_zG.eyJH0-Z.HX4w-7v"};
	fz_dpop_result res;
	fz_err err = {0};
	char *with = NULL, *without = make(f->es, "GET", URL, NULL, NOW), *other = NULL;

	assert_int_equal(fz_dpop_make(f->es, "GET", URL, NULL, req.nonce, NOW, &with, NULL), FZ_OK);
	assert_int_equal(fz_dpop_make(f->es, "GET", URL, NULL, "old", NOW, &other, NULL), FZ_OK);
	assert_int_equal(fz_dpop_verify(with, strlen(with), &req, &f->cfg, NOW, replay_check,
					&f->cache, &res, NULL), FZ_OK);
	assert_int_equal(fz_dpop_verify(without, strlen(without), &req, &f->cfg, NOW,
					replay_check, &f->cache, &res, &err), FZ_ECLAIM);
	assert_string_equal(err.oauth, "use_dpop_nonce");
	assert_non_null(strstr(err.msg, "no nonce"));
	assert_int_equal(fz_dpop_verify(other, strlen(other), &req, &f->cfg, NOW, replay_check,
					&f->cache, &res, &err), FZ_ECLAIM);
	assert_string_equal(err.oauth, "use_dpop_nonce");
	assert_non_null(strstr(err.msg, "not the current one"));
	free(with);
	free(without);
	free(other);
}

static void test_binding(void **state)
{
	struct fixture *f = *state;
	json_t *tok = json_pack("{s:{s:s}}", "cnf", "jkt", fz_key_thumbprint(f->es)->s);
	json_t *bearer = json_pack("{s:s}", "sub", "x");
	fz_err err = {0};

	assert_int_equal(fz_dpop_check_binding(tok, fz_key_thumbprint(f->es), NULL), FZ_OK);
	assert_int_equal(fz_dpop_check_binding(tok, fz_key_thumbprint(f->rs), &err), FZ_EKEY);
	assert_non_null(strstr(err.msg, "cnf.jkt"));
	assert_int_equal(fz_dpop_check_binding(bearer, fz_key_thumbprint(f->es), &err), FZ_ECLAIM);
	assert_non_null(strstr(err.msg, "not DPoP-bound"));
	json_decref(tok);
	json_decref(bearer);
}

static void test_make_refusals(void **state)
{
	struct fixture *f = *state;
	fz_err err = {0};
	char *p = NULL;

	assert_int_equal(fz_dpop_make(f->es, "", URL, NULL, NULL, NOW, &p, &err), FZ_EINTERNAL);
	assert_int_equal(fz_dpop_make(f->es, "PO ST", URL, NULL, NULL, NOW, &p, &err),
			 FZ_EINTERNAL);
	assert_int_equal(fz_dpop_make(f->es, "POST", "ftp://x/", NULL, NULL, NOW, &p, &err),
			 FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "htu"));
	assert_null(p);
}

/* --- one bad proof per test ------------------------------------------------------ */

static void test_alg_none(void **state)
{
	struct fixture *f = *state;
	char *p = build("{\"typ\":\"dpop+jwt\",\"alg\":\"none\",\"jwk\":{\"kty\":\"EC\"}}",
			"{\"jti\":\"a\",\"htm\":\"POST\",\"htu\":\"" URL "\",\"iat\":1700000000}",
			"");

	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_EALG, "alg none");
	free(p);
}

static void test_alg_hs256(void **state)
{
	struct fixture *f = *state;
	char *p = build("{\"typ\":\"dpop+jwt\",\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}",
			"{\"jti\":\"a\",\"htm\":\"POST\",\"htu\":\"" URL "\",\"iat\":1700000000}",
			"AAAA");

	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_EALG, "HMAC alg HS256");
	free(p);
}

static void test_flipped_signature_bit(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", URL, NULL, NOW);

	p[strlen(p) - 5] = p[strlen(p) - 5] == 'A' ? 'B' : 'A';
	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_ESIG, "signature does not verify");
	assert_int_equal(f->cache.n, 0);
	free(p);
}

static void test_jwk_of_another_key(void **state)
{
	struct fixture *f = *state;
	fz_key *other = NULL;
	char *p;

	fz_key_generate(FZ_ALG_ES256, 0, &other, NULL);
	p = craft(f->es, "dpop+jwt", bare(other), claims("j1", "POST", URL, NOW));
	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_ESIG, "signature does not verify");
	fz_key_free(other);
	free(p);
}

static void test_private_key_in_jwk(void **state)
{
	struct fixture *f = *state;
	json_t *jwk = bare(f->es);
	char *p;

	json_object_set_new(jwk, "d", json_string("870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"));
	p = craft(f->es, "dpop+jwt", jwk, claims("j1", "POST", URL, NOW));
	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_EKEY, "private key in jwk");
	free(p);
}

static void test_no_jwk(void **state)
{
	struct fixture *f = *state;
	json_t *c = claims("j1", "POST", URL, NOW);
	char *p = NULL;

	fz_jws_sign(f->es, "dpop+jwt", NULL, c, &p, NULL);
	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_EKEY, "no jwk");
	json_decref(c);
	free(p);
}

static void test_wrong_htm(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", URL, NULL, NOW);
	fz_err err = {0};
	fz_dpop_result res;

	expect_fail(f, p, "GET", URL, NULL, NOW, FZ_ECLAIM, "htm does not match");
	expect_fail(f, p, "post", URL, NULL, NOW, FZ_ECLAIM, "htm does not match");
	assert_int_equal(verify(f, p, "PUT", URL, NULL, NOW, &res, &err), FZ_ECLAIM);
	assert_string_equal(err.oauth, "invalid_dpop_proof");
	/* a refused proof took no place in the replay cache */
	assert_int_equal(f->cache.n, 0);
	assert_int_equal(verify(f, p, "POST", URL, NULL, NOW, &res, NULL), FZ_OK);
	free(p);
}

static void test_wrong_htu(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", URL, NULL, NOW);
	char *q = craft(f->es, "dpop+jwt", bare(f->es),
			claims("j1", "POST", "https://user@mbx.example.net/", NOW));

	expect_fail(f, p, "POST", "https://mbx.example.net/mta/v1/resources", NULL, NOW,
		    FZ_ECLAIM, "htu does not match");
	expect_fail(f, p, "POST", "http://mbx.example.net/mta/v1/messages", NULL, NOW,
		    FZ_ECLAIM, "htu does not match");
	expect_fail(f, p, "POST", "https://mbx.example.net:8443/mta/v1/messages", NULL, NOW,
		    FZ_ECLAIM, "htu does not match");
	expect_fail(f, q, "POST", URL, NULL, NOW, FZ_ECLAIM, "DPoP htu: URL must not carry userinfo");
	/* the server's own URL broken: our fault, not the client's */
	expect_fail(f, p, "POST", "not a url", NULL, NOW, FZ_EINTERNAL, "request URL");
	free(p);
	free(q);
}

static void test_stale_iat(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", URL, NULL, NOW);
	fz_dpop_result res;

	expect_fail(f, p, "POST", URL, NULL, NOW + FZ_DPOP_IAT_WINDOW + 1, FZ_ECLAIM, "stale");
	assert_int_equal(verify(f, p, "POST", URL, NULL, NOW + FZ_DPOP_IAT_WINDOW, &res, NULL),
			 FZ_OK);
	free(p);
}

static void test_future_iat(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", URL, NULL, NOW);
	fz_dpop_result res;

	expect_fail(f, p, "POST", URL, NULL, NOW - FZ_JOSE_LEEWAY - 1, FZ_ECLAIM,
		    "iat is in the future");
	assert_int_equal(verify(f, p, "POST", URL, NULL, NOW - FZ_JOSE_LEEWAY, &res, NULL), FZ_OK);
	free(p);
}

static void test_iat_not_integer(void **state)
{
	struct fixture *f = *state;
	json_t *c = claims("j1", "POST", URL, NOW);
	char *p;

	json_object_set_new(c, "iat", json_string("1700000000"));
	p = craft(f->es, "dpop+jwt", bare(f->es), c);
	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_ECLAIM, "iat is not an integer");
	free(p);
}

static void test_reused_jti(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", URL, NULL, NOW);
	fz_dpop_result res;

	assert_int_equal(verify(f, p, "POST", URL, NULL, NOW, &res, NULL), FZ_OK);
	expect_fail(f, p, "POST", URL, NULL, NOW + 1, FZ_EREPLAY, "used before");
	free(p);
}

static void test_missing_jti(void **state)
{
	struct fixture *f = *state;
	json_t *c = claims("j", "POST", URL, NOW);
	char *p;

	json_object_del(c, "jti");
	p = craft(f->es, "dpop+jwt", bare(f->es), c);
	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_ECLAIM, "no jti");
	free(p);
}

static void test_missing_ath(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", URL, NULL, NOW);

	expect_fail(f, p, "POST", URL, TOKEN, NOW, FZ_ECLAIM, "no ath");
	free(p);
}

static void test_wrong_ath(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", URL, "another-token", NOW);

	expect_fail(f, p, "POST", URL, TOKEN, NOW, FZ_ECLAIM, "ath does not match");
	free(p);
}

static void test_typ_not_dpop(void **state)
{
	struct fixture *f = *state;
	char *p = craft(f->es, "JWT", bare(f->es), claims("j1", "POST", URL, NOW));
	char *q = craft(f->es, "application/dpop+jwt", bare(f->es), claims("j1", "POST", URL, NOW));
	char *r = craft(f->es, NULL, bare(f->es), claims("j1", "POST", URL, NOW));

	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_ECLAIM, "typ is not dpop+jwt");
	expect_fail(f, q, "POST", URL, NULL, NOW, FZ_ECLAIM, "typ is not dpop+jwt");
	expect_fail(f, r, "POST", URL, NULL, NOW, FZ_ECLAIM, "typ is not dpop+jwt");
	free(p);
	free(q);
	free(r);
}

static void test_alg_not_allowed(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->rs, "POST", URL, NULL, NOW);

	f->cfg.algs = FZ_ALG_ES256;
	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_EALG, "RS256 is not allowed");
	free(p);
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;
	char *hdr = build("{\"typ\":\"dpop+jwt\"", "{}", "AAAA");

	expect_fail(f, "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30", "POST", URL, NULL, NOW, FZ_ESYNTAX,
		    "3 segments, found 2");
	expect_fail(f, "eyJ0eXAiOiJkcG9wK2p3dCJ9.e30.AAAA.AAAA", "POST", URL, NULL, NOW,
		    FZ_ESYNTAX, "3 segments, found 4");
	expect_fail(f, "eyJ0eXAiOiJkcG9wK2p3dCJ9.e3$.AAAA", "POST", URL, NULL, NOW, FZ_ESYNTAX,
		    "not in the alphabet");
	expect_fail(f, hdr, "POST", URL, NULL, NOW, FZ_ESYNTAX, "header is not JSON");
	free(hdr);
}

static void test_too_large(void **state)
{
	struct fixture *f = *state;
	char *p = make(f->es, "POST", URL, NULL, NOW);

	f->cfg.dpop_max_bytes = strlen(p) - 1;
	expect_fail(f, p, "POST", URL, NULL, NOW, FZ_ELIMIT, "exceeds");
	free(p);
}

static void test_no_replay_cache(void **state)
{
	struct fixture *f = *state;
	fz_dpop_request req = {.method = "POST", .url = URL};
	char *p = make(f->es, "POST", URL, NULL, NOW);
	fz_dpop_result res;
	fz_err err = {0};

	assert_int_equal(fz_dpop_verify(p, strlen(p), &req, &f->cfg, NOW, NULL, NULL, &res, &err),
			 FZ_EINTERNAL);
	free(p);
}

/* --- the cache of proof keys (jwk_cache.c) -------------------------------------- */

static fz_code no_replay(void *ctx, const char *jti, int64_t expires_at, fz_err *err)
{
	(void)ctx, (void)jti, (void)expires_at, (void)err;
	return FZ_OK;
}

static fz_jwk_cache_stats stats(void)
{
	fz_jwk_cache_stats s;

	fz_jwk_cache_get_stats(&s);
	return s;
}

/* Verifies p as a POST to URL at NOW with no replay cache; the jkt it
 * found goes to jkt when not NULL. */
static fz_code check(struct fixture *f, const char *p, fz_digest_str *jkt, fz_err *err)
{
	fz_dpop_request req = {.method = "POST", .url = URL};
	fz_dpop_result res;
	fz_code rc = fz_dpop_verify(p, strlen(p), &req, &f->cfg, NOW, no_replay, NULL,
				    &res, err);

	if (rc == FZ_OK && jkt != NULL)
		*jkt = res.jkt;
	return rc;
}

static void test_cache_same_key_twice(void **state)
{
	struct fixture *f = *state;
	char *p1 = make(f->es, "POST", URL, NULL, NOW), *p2 = make(f->es, "POST", URL, NULL, NOW);
	fz_jwk_cache_stats before;
	fz_dpop_result res;

	fz_jwk_cache_clear();
	before = stats();
	assert_int_equal(verify(f, p1, "POST", URL, NULL, NOW, &res, NULL), FZ_OK);
	assert_string_equal(res.jkt.s, fz_key_thumbprint(f->es)->s);
	assert_int_equal(stats().misses, before.misses + 1);
	assert_int_equal(verify(f, p2, "POST", URL, NULL, NOW, &res, NULL), FZ_OK);
	assert_string_equal(res.jkt.s, fz_key_thumbprint(f->es)->s);
	assert_int_equal(stats().hits, before.hits + 1);
	assert_int_equal(stats().keys, 1);
	/* the replay cache is still asked every time */
	assert_int_equal(f->cache.n, 2);
	expect_fail(f, p2, "POST", URL, NULL, NOW, FZ_EREPLAY, "used before");
	free(p1);
	free(p2);
}

/* A cached key must not vouch for a proof it did not sign. */
static void test_cache_forged_signature(void **state)
{
	struct fixture *f = *state;
	char *good = make(f->es, "POST", URL, NULL, NOW), *flipped = make(f->es, "POST", URL, NULL, NOW);
	fz_key *other = NULL;
	char *wrong;

	fz_jwk_cache_clear();
	assert_int_equal(check(f, good, NULL, NULL), FZ_OK);
	flipped[strlen(flipped) - 5] = flipped[strlen(flipped) - 5] == 'A' ? 'B' : 'A';
	expect_fail(f, flipped, "POST", URL, NULL, NOW, FZ_ESIG, "signature does not verify");
	/* signed by another key, naming the cached one */
	assert_int_equal(fz_key_generate(FZ_ALG_ES256, 0, &other, NULL), FZ_OK);
	wrong = craft(other, "dpop+jwt", bare(f->es), claims("j2", "POST", URL, NOW));
	expect_fail(f, wrong, "POST", URL, NULL, NOW, FZ_ESIG, "signature does not verify");
	assert_true(stats().hits >= 2);
	/* and the key still serves the honest proof */
	assert_int_equal(check(f, good, NULL, NULL), FZ_OK);
	assert_int_equal(f->cache.n, 0);
	fz_key_free(other);
	free(good);
	free(flipped);
	free(wrong);
}

/* Another key under the cached key's kid, or the cached key's members
 * with one changed or one added, is never the cached key. */
static void test_cache_other_key_never_hits(void **state)
{
	struct fixture *f = *state;
	fz_key *other = NULL;
	json_t *named = bare(f->es), *alike, *mixed, *enc;
	fz_digest_str jkt;
	fz_err err = {0};
	char *p;

	fz_jwk_cache_clear();
	assert_int_equal(fz_key_generate(FZ_ALG_ES256, 0, &other, NULL), FZ_OK);
	json_object_set_new(named, "kid", json_string(fz_key_thumbprint(f->es)->s));
	p = craft(f->es, "dpop+jwt", named, claims("j1", "POST", URL, NOW));
	assert_int_equal(check(f, p, &jkt, NULL), FZ_OK);
	assert_string_equal(jkt.s, fz_key_thumbprint(f->es)->s);
	free(p);

	/* the other key, named like the cached one: its own thumbprint */
	alike = bare(other);
	json_object_set_new(alike, "kid", json_string(fz_key_thumbprint(f->es)->s));
	p = craft(other, "dpop+jwt", alike, claims("j2", "POST", URL, NOW));
	assert_int_equal(check(f, p, &jkt, NULL), FZ_OK);
	assert_string_equal(jkt.s, fz_key_thumbprint(other)->s);
	assert_int_equal(stats().keys, 2);
	free(p);

	/* the cached x with the other key's y is no point of the curve */
	mixed = bare(f->es);
	alike = bare(other);
	json_object_set(mixed, "y", json_object_get(alike, "y"));
	json_decref(alike);
	p = craft(f->es, "dpop+jwt", mixed, claims("j3", "POST", URL, NOW));
	assert_int_equal(check(f, p, NULL, &err), FZ_EKEY);
	free(p);

	/* the cached key's members, marked for encryption: refused again */
	enc = bare(f->es);
	json_object_set_new(enc, "kid", json_string(fz_key_thumbprint(f->es)->s));
	json_object_set_new(enc, "use", json_string("enc"));
	p = craft(f->es, "dpop+jwt", enc, claims("j4", "POST", URL, NOW));
	assert_int_equal(check(f, p, NULL, &err), FZ_EKEY);
	assert_non_null(strstr(err.msg, "use is not sig"));
	assert_int_equal(stats().keys, 2);
	fz_key_free(other);
	free(p);
}

#define MANY (FZ_JWK_CACHE_KEYS + 8)

/* More keys than the cache holds: every proof still verifies, the
 * evicted keys are imported again, and each proof is still tied to its
 * own key. */
static void test_cache_full(void **state)
{
	struct fixture *f = *state;
	fz_key *keys[MANY];
	char *proofs[MANY], *forged;
	fz_jwk_cache_stats before;
	fz_digest_str jkt;
	size_t i, round;

	fz_jwk_cache_clear();
	before = stats();
	for (i = 0; i < MANY; i++) {
		assert_int_equal(fz_key_generate(FZ_ALG_ES256, 0, &keys[i], NULL), FZ_OK);
		proofs[i] = make(keys[i], "POST", URL, NULL, NOW);
	}
	for (round = 0; round < 2; round++)
		for (i = 0; i < MANY; i++) {
			assert_int_equal(check(f, proofs[i], &jkt, NULL), FZ_OK);
			assert_string_equal(jkt.s, fz_key_thumbprint(keys[i])->s);
		}
	assert_int_equal(stats().keys, FZ_JWK_CACHE_KEYS);
	assert_true(stats().evictions - before.evictions >= MANY - FZ_JWK_CACHE_KEYS);
	/* the most recent key is cached: a proof naming it but signed by
	 * another still fails */
	forged = craft(keys[0], "dpop+jwt", bare(keys[MANY - 1]), claims("j", "POST", URL, NOW));
	assert_int_equal(check(f, forged, NULL, NULL), FZ_ESIG);
	free(forged);
	for (i = 0; i < MANY; i++) {
		fz_key_free(keys[i]);
		free(proofs[i]);
	}
}

/* Threads verify with one shared key while others churn the cache, so
 * the shared key is evicted while in use; ASan and the results tell
 * whether a key ever went away under its holder. */
struct churn {
	struct fixture *f;
	char **proofs;
	const fz_digest_str *jkts;
	size_t n, rounds;
	size_t failures;
};

static void *churn_run(void *arg)
{
	struct churn *c = arg;
	fz_digest_str jkt;
	size_t r, i;

	for (r = 0; r < c->rounds; r++)
		for (i = 0; i < c->n; i++)
			if (check(c->f, c->proofs[i], &jkt, NULL) != FZ_OK ||
			    strcmp(jkt.s, c->jkts[i].s) != 0)
				c->failures++;
	return NULL;
}

static void test_cache_threads(void **state)
{
	struct fixture *f = *state;
	fz_key *keys[MANY];
	char *proofs[MANY];
	fz_digest_str jkts[MANY];
	struct churn c[4];
	pthread_t t[4];
	size_t i;

	fz_jwk_cache_clear();
	for (i = 0; i < MANY; i++) {
		assert_int_equal(fz_key_generate(FZ_ALG_ES256, 0, &keys[i], NULL), FZ_OK);
		proofs[i] = make(keys[i], "POST", URL, NULL, NOW);
		jkts[i] = *fz_key_thumbprint(keys[i]);
	}
	for (i = 0; i < 4; i++) {
		/* two threads on key 0 alone, two on all of them */
		c[i] = (struct churn){.f = f, .proofs = proofs, .jkts = jkts,
				      .n = i < 2 ? 1 : MANY, .rounds = i < 2 ? 150 : 3};
		assert_int_equal(pthread_create(&t[i], NULL, churn_run, &c[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].failures, 0);
	}
	for (i = 0; i < MANY; i++) {
		fz_key_free(keys[i]);
		free(proofs[i]);
	}
}

#define T(name) cmocka_unit_test_setup(name, reset)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rfc9449_example),
		T(test_rfc9449_example_normalised_url),
		T(test_rfc9449_ath),
		T(test_make_shape),
		T(test_make_verify),
		T(test_nonce),
		T(test_binding),
		T(test_make_refusals),
		T(test_alg_none),
		T(test_alg_hs256),
		T(test_flipped_signature_bit),
		T(test_jwk_of_another_key),
		T(test_private_key_in_jwk),
		T(test_no_jwk),
		T(test_wrong_htm),
		T(test_wrong_htu),
		T(test_stale_iat),
		T(test_future_iat),
		T(test_iat_not_integer),
		T(test_reused_jti),
		T(test_missing_jti),
		T(test_missing_ath),
		T(test_wrong_ath),
		T(test_typ_not_dpop),
		T(test_alg_not_allowed),
		T(test_malformed),
		T(test_too_large),
		T(test_no_replay_cache),
		T(test_cache_same_key_twice),
		T(test_cache_forged_signature),
		T(test_cache_other_key_never_hits),
		T(test_cache_full),
		T(test_cache_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
