/*
 * as_client_auth.c - who is calling /token and /revoke (as_client_auth.h).
 *
 * Three ways in, exactly one per request:
 *   private_key_jwt      RFC 7523 §2.2/§3: a JWT signed by a key of the
 *                        client's registered JWKS, iss = sub = client_id,
 *                        aud = our token endpoint or our issuer, a short
 *                        exp, a jti never seen before;
 *   client_secret_basic  RFC 6749 §2.3.1: HTTP Basic over the
 *                        form-urlencoded id and secret, Argon2id compare;
 *   none                 a public client names itself with client_id.
 * Every failure is 401 invalid_client (as_token.c adds the Basic
 * challenge when Basic was tried); two methods at once is 400
 * invalid_request (RFC 6749 §2.3). The log message says what failed; the
 * client hears the same sentence, which names no secret.
 */
#include "as_client_auth.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "as_grants.h"
#include "as_password.h"
#include "jws.h"
#include "jwt.h"

/* A Basic credential is an id and a secret: bounded well above both. */
#define CLIENT_AUTH_BASIC_MAX 4096
/* Replay-cache namespace of client assertion jtis (as_store.h). */
#define CLIENT_AUTH_REPLAY_NS "client_assertion"
/* typ values a client assertion may carry: none, JWT, or the explicit
 * type of draft-ietf-oauth-rfc7523bis. Anything else (at+jwt, dpop+jwt)
 * is another kind of token replayed here. */
#define CLIENT_AUTH_TYP_EXPLICIT "client-authentication+jwt"
/* Parsed JWKS kept across requests. The clients that authenticate with
 * keys are a domain's few MTAs, so a small fixed table holds them all;
 * past that the least recently used goes, and a miss costs one parse. */
#define CLIENT_KEYS_CACHE_MAX 16

static fz_code refuse(fz_err *err, const char *fmt, const char *arg)
{
	return fz_fail_http(err, FZ_EDENIED, 401, "invalid_client", fmt, arg);
}

/* Which methods the request uses; more than one is 400. */
typedef struct methods {
	const char *basic;      /* the Authorization: Basic credentials */
	const char *assertion;  /* client_assertion */
	const char *assertion_type;
	const char *secret;     /* client_secret (client_secret_post) */
	const char *client_id;  /* client_id in the body */
} methods;

static fz_code read_methods(fz_as *as, fz_http_req *http, const fz_form *form,
			    methods *m, fz_err *err)
{
	fz_as_token_req tr = {.as = as, .http = http, .form = form};
	const char *auth = NULL;
	fz_code rc;
	int n;

	memset(m, 0, sizeof(*m));
	if ((rc = fz_http_req_header_one(http, "Authorization", &auth, err)) ||
	    (rc = fz_as_token_param(&tr, "client_assertion", false, &m->assertion, err)) ||
	    (rc = fz_as_token_param(&tr, "client_assertion_type", false,
				    &m->assertion_type, err)) ||
	    (rc = fz_as_token_param(&tr, "client_secret", false, &m->secret, err)) ||
	    (rc = fz_as_token_param(&tr, "client_id", false, &m->client_id, err)))
		return rc;
	if (auth != NULL) {
		if (strncasecmp(auth, "Basic ", 6) != 0)
			return refuse(err, "%s", "the Authorization scheme is not Basic");
		m->basic = auth + 6;
	}
	n = (m->basic != NULL) + (m->assertion != NULL || m->assertion_type != NULL) +
	    (m->secret != NULL);
	if (n > 1)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "more than one client authentication method");
	return FZ_OK;
}

/* The client record of id, refused as invalid_client when unknown. */
static fz_code find_client(fz_as *as, fz_arena *a, const char *id,
			   fz_as_client *out, fz_err *err)
{
	fz_err ferr = {0};
	char shown[FZ_AS_CLIENT_ID_MAX + 1];
	fz_code rc = fz_as_store_client_find(as->store, a, id, out, &ferr);

	if (rc == FZ_ENOTFOUND)
		return refuse(err, "unknown client %s",
			      fz_jose_printable(id, shown, sizeof(shown)));
	if (rc != FZ_OK)
		*err = ferr;
	return rc;
}

/* --- client_secret_basic ----------------------------------------------- */

/* Standard base64 (RFC 7617 uses RFC 4648 §4, not base64url) into buf. */
static fz_code basic_decode(const char *in, char *buf, size_t bufsz,
			    size_t *outlen, fz_err *err)
{
	size_t n = strspn(in, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			      "0123456789+/=");
	int got;

	if (in[n] != '\0' || n == 0 || n % 4 != 0 || n / 4 * 3 >= bufsz)
		return refuse(err, "%s", "malformed Basic credentials");
	got = EVP_DecodeBlock((unsigned char *)buf, (const unsigned char *)in, (int)n);
	if (got < 0)
		return refuse(err, "%s", "malformed Basic credentials");
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	if (n >= 1 && in[n - 1] == '=')
		got--;
	if (n >= 2 && in[n - 2] == '=')
		got--;
	buf[got] = '\0';
	if (memchr(buf, '\0', (size_t)got) != NULL)
		return refuse(err, "%s", "malformed Basic credentials");
	*outlen = (size_t)got;
	return FZ_OK;
}

static fz_code auth_basic(fz_as *as, fz_http_req *http, const methods *m,
			  fz_as_client *out, fz_err *err)
{
	char buf[CLIENT_AUTH_BASIC_MAX];
	char *id = NULL, *secret = NULL, *colon;
	size_t n = 0, idlen = 0, slen = 0;
	fz_err derr = {0};
	fz_code rc = basic_decode(m->basic, buf, sizeof(buf), &n, err);

	if (rc != FZ_OK)
		return rc;
	colon = memchr(buf, ':', n);
	if (colon == NULL)
		return refuse(err, "%s", "Basic credentials without a ':'");
	/* RFC 6749 §2.3.1: both halves are form-urlencoded. */
	if (fz_pct_decode(http->arena, buf, (size_t)(colon - buf), true, &id, &idlen,
			  &derr) != FZ_OK ||
	    fz_pct_decode(http->arena, colon + 1, n - (size_t)(colon - buf) - 1, true,
			  &secret, &slen, &derr) != FZ_OK || idlen == 0)
		return refuse(err, "%s", "malformed Basic credentials");
	if (m->client_id != NULL && strcmp(m->client_id, id) != 0)
		return refuse(err, "%s", "client_id differs from the Basic user name");
	rc = find_client(as, http->arena, id, out, err);
	if (rc == FZ_ENOTFOUND || rc == FZ_EDENIED) {
		/* Spend a hash anyway: the time must not tell which ids exist. */
		(void)fz_as_password_verify(NULL, secret, slen, NULL);
		return rc;
	}
	if (rc != FZ_OK)
		return rc;
	if (out->auth_method != FZ_AUTH_CLIENT_SECRET_BASIC || out->secret_hash == NULL)
		return refuse(err, "client %s is not registered for client_secret_basic",
			      out->client_id);
	rc = fz_as_password_verify(out->secret_hash, secret, slen, &derr);
	if (rc == FZ_EDENIED)
		return refuse(err, "%s", "wrong client secret");
	if (rc != FZ_OK)
		*err = derr;
	return rc;
}

/* --- private_key_jwt --------------------------------------------------- */

/* aud names us: the token endpoint (RFC 7523 §3 point 3), or the issuer,
 * which RFC 7523 §3 also allows ("the issuer identifier ... MAY be used")
 * and which oauth4webapi and most libraries send. A trailing "/" of the
 * issuer is optional, since an issuer URL is written both ways. */
static bool aud_names_us(const fz_as *as, const char *aud)
{
	size_t n = strlen(as->cfg->issuer);

	if (strcmp(aud, as->token_endpoint) == 0 || strcmp(aud, as->cfg->issuer) == 0)
		return true;
	if (n > 0 && as->cfg->issuer[n - 1] == '/')
		n--;
	return strlen(aud) == n && strncmp(aud, as->cfg->issuer, n) == 0;
}

static fz_code check_aud(const fz_as *as, const json_t *claims, fz_err *err)
{
	const json_t *aud = json_object_get(claims, "aud"), *v;
	size_t i;

	if (json_is_string(aud) && aud_names_us(as, json_string_value(aud)))
		return FZ_OK;
	json_array_foreach(aud, i, v) {
		if (json_is_string(v) && aud_names_us(as, json_string_value(v)))
			return FZ_OK;
	}
	return refuse(err, "client assertion aud does not name %s", as->token_endpoint);
}

static bool typ_allowed(const char *typ)
{
	return typ == NULL || fz_jwt_typ_is(typ, FZ_TYP_JWT) ||
	       fz_jwt_typ_is(typ, CLIENT_AUTH_TYP_EXPLICIT);
}

/* Verifies the signature with the client's JWKS: by kid when the header
 * has one, else with each key in turn (RFC 7523 does not require a kid,
 * and a client usually registers one key). */
static fz_code verify_sig(fz_jws *jws, const fz_keyset *keys, fz_err *err)
{
	const char *kid = fz_jws_kid(jws);
	const fz_key *key;
	size_t i;

	if (kid != NULL) {
		key = fz_keyset_find(keys, kid);
		if (key == NULL)
			return refuse(err, "%s", "client assertion kid is not in the client's JWKS");
		if (fz_jws_verify_key(jws, key, FZ_ALGS_ALL, NULL) != FZ_OK)
			return refuse(err, "%s", "client assertion signature does not verify");
		return FZ_OK;
	}
	for (i = 0; i < fz_keyset_count(keys); i++)
		if (fz_jws_verify_key(jws, fz_keyset_at(keys, i), FZ_ALGS_ALL, NULL) == FZ_OK)
			return FZ_OK;
	return refuse(err, "%s", "client assertion signature does not verify");
}

/* iss = sub = the client; exp required, not too far ahead; jti present. */
static fz_code check_claims(fz_as *as, const fz_jws *jws, int64_t now,
			    fz_err *err)
{
	const json_t *c = fz_jws_payload(jws);
	const char *iss = fz_jwt_str(c, "iss"), *sub = fz_jwt_str(c, "sub");
	const char *jti = fz_jwt_str(c, "jti");
	int64_t max = (int64_t)as->cfg->client_assertion_max_lifetime;
	fz_jwt_expect x;
	fz_err cerr = {0};
	int64_t exp;

	fz_jwt_expect_defaults(&x);
	x.leeway = as->cfg->jose.leeway;
	if (fz_jwt_check(jws, &x, now, &cerr) != FZ_OK)
		return refuse(err, "client assertion: %s", cerr.msg);
	if (iss == NULL || sub == NULL || strcmp(iss, sub) != 0)
		return refuse(err, "%s", "client assertion iss and sub must both be the client_id");
	if (jti == NULL || *jti == '\0' || strlen(jti) > FZ_JTI_MAX)
		return refuse(err, "%s", "client assertion jti is missing or too long");
	if (fz_jwt_int(c, "exp", &exp, &cerr) != FZ_OK ||
	    exp > fz_time_add(now, fz_time_add(max, x.leeway)))
		return fz_fail_http(err, FZ_ECLAIM, 401, "invalid_client",
				    "client assertion exp is more than %lld s ahead",
				    (long long)max);
	return check_aud(as, c, err);
}

/* The jti goes into the replay cache until the assertion has expired:
 * after that, exp refuses it anyway. With pending, the caller records it
 * together with the request's other jtis. */
static fz_code check_replay(fz_as *as, fz_arena *a, const fz_jws *jws, int64_t now,
			    fz_as_jti *pending, fz_err *err)
{
	const json_t *c = fz_jws_payload(jws);
	fz_as_replay r = {.store = as->store, .ns = CLIENT_AUTH_REPLAY_NS, .now = now};
	fz_as_jti j = {.ns = CLIENT_AUTH_REPLAY_NS};
	int64_t exp = 0;
	fz_err rerr = {0};
	fz_code rc;

	(void)fz_jwt_int(c, "exp", &exp, NULL);
	j.expires_at = fz_time_add(exp, as->cfg->jose.leeway);
	if (pending != NULL) {
		j.jti = fz_arena_strdup(a, fz_jwt_str(c, "jti"));
		if (j.jti == NULL)
			return fz_fail(err, FZ_ENOMEM, "out of memory");
		*pending = j;
		return FZ_OK;
	}
	rc = fz_as_store_replay_check(&r, fz_jwt_str(c, "jti"), j.expires_at, &rerr);
	if (rc == FZ_EREPLAY)
		return fz_as_client_assertion_replayed(err);
	if (rc != FZ_OK)
		*err = rerr;
	return rc;
}

fz_code fz_as_client_assertion_replayed(fz_err *err)
{
	return refuse(err, "%s", "client assertion replayed (jti seen before)");
}

/* --- parsed client keys ------------------------------------------------ */

/* The keys of a client as parsed from its stored JWKS text. The text
 * read with the client row on every request decides whether the entry
 * is still good: `admin client` in another process changes the row, the
 * text differs, and the entry is parsed anew. Shared by the request
 * threads: refs counts the table's hold and each request's. */
typedef struct keys_entry {
	char *client_id;
	char *jwks;
	fz_keyset *keys;
	unsigned refs;
	uint64_t used;
} keys_entry;

static struct {
	pthread_mutex_t lock;
	keys_entry *slot[CLIENT_KEYS_CACHE_MAX];
	uint64_t tick;
} keys_cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Called with the lock held. */
static void entry_release(keys_entry *e)
{
	if (e == NULL || --e->refs > 0)
		return;
	fz_keyset_free(e->keys);
	free(e->client_id);
	free(e->jwks);
	free(e);
}

static fz_code parse_keys(const fz_as_client *c, fz_keyset **out, fz_err *err)
{
	json_error_t jerr;
	json_t *j;
	fz_err kerr = {0};
	fz_code rc;

	*out = NULL;
	j = json_loads(c->jwks, 0, &jerr);
	if (j == NULL)
		return fz_fail(err, FZ_EINTERNAL, "stored JWKS of %s unreadable", c->client_id);
	rc = fz_keyset_from_jwks(j, out, &kerr);
	json_decref(j);
	if (rc != FZ_OK)
		return fz_fail(err, FZ_EINTERNAL, "stored JWKS of %s: %s", c->client_id,
			       kerr.msg);
	return FZ_OK;
}

/* A new entry for c in the slot of its old one, else a free slot, else
 * the least recently used. Called with the lock held. */
static fz_code entry_add(const fz_as_client *c, keys_entry **out, fz_err *err)
{
	keys_entry *e = calloc(1, sizeof(*e));
	size_t i, pick = 0;
	fz_code rc;

	if (e == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	e->client_id = strdup(c->client_id);
	e->jwks = strdup(c->jwks);
	if (e->client_id == NULL || e->jwks == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	else
		rc = parse_keys(c, &e->keys, err);
	if (rc != FZ_OK) {
		e->refs = 1;
		entry_release(e);
		return rc;
	}
	for (i = 0; i < CLIENT_KEYS_CACHE_MAX; i++) {
		keys_entry *s = keys_cache.slot[i];

		if (s == NULL || strcmp(s->client_id, c->client_id) == 0) {
			pick = i;
			break;
		}
		if (s->used < keys_cache.slot[pick]->used)
			pick = i;
	}
	entry_release(keys_cache.slot[pick]);
	keys_cache.slot[pick] = e;
	e->refs = 2; /* the table's and the caller's */
	e->used = ++keys_cache.tick;
	*out = e;
	return FZ_OK;
}

/* The parsed keys of c, from the table when its stored text is the one
 * they were parsed from. Give the entry back with keys_done. */
static fz_code client_keys(const fz_as_client *c, keys_entry **out, fz_err *err)
{
	keys_entry *e;
	fz_code rc = FZ_OK;
	size_t i;

	*out = NULL;
	if (c->auth_method != FZ_AUTH_PRIVATE_KEY_JWT || c->jwks == NULL)
		return refuse(err, "client %s is not registered for private_key_jwt",
			      c->client_id);
	pthread_mutex_lock(&keys_cache.lock);
	for (i = 0; i < CLIENT_KEYS_CACHE_MAX; i++) {
		e = keys_cache.slot[i];
		if (e != NULL && strcmp(e->client_id, c->client_id) == 0 &&
		    strcmp(e->jwks, c->jwks) == 0) {
			e->refs++;
			e->used = ++keys_cache.tick;
			*out = e;
			break;
		}
	}
	if (*out == NULL)
		rc = entry_add(c, out, err);
	pthread_mutex_unlock(&keys_cache.lock);
	return rc;
}

static void keys_done(keys_entry *e)
{
	pthread_mutex_lock(&keys_cache.lock);
	entry_release(e);
	pthread_mutex_unlock(&keys_cache.lock);
}

static fz_code auth_assertion(fz_as *as, fz_http_req *http, const methods *m,
			      int64_t now, fz_as_client *out, fz_as_jti *pending,
			      fz_err *err)
{
	const size_t max = as->cfg->jose.jws_max_bytes;
	keys_entry *keys = NULL;
	fz_jws *jws = NULL;
	const char *iss, *typ;
	fz_alg alg;
	fz_code rc;

	if (m->assertion_type == NULL || strcmp(m->assertion_type,
						FZ_CLIENT_ASSERTION_TYPE_JWT) != 0)
		return refuse(err, "%s", "client_assertion_type must be " FZ_CLIENT_ASSERTION_TYPE_JWT);
	if (m->assertion == NULL)
		return refuse(err, "%s", "client_assertion is missing");
	if (fz_jws_parse_unverified(m->assertion, strlen(m->assertion), max, &jws,
				    NULL) != FZ_OK)
		return refuse(err, "%s", "client_assertion is not a compact JWS");
	/* alg none and HMAC are refused by name before any key is used. */
	rc = fz_alg_allowed(fz_jws_alg_name(jws), FZ_ALGS_ALL, &alg, NULL);
	if (rc != FZ_OK)
		rc = refuse(err, "%s", "client assertion alg is not ES256 or RS256");
	typ = fz_jws_typ(jws);
	if (rc == FZ_OK && !typ_allowed(typ))
		rc = refuse(err, "%s", "client assertion typ is not JWT");
	iss = fz_jwt_str(fz_jws_payload(jws), "iss");
	if (rc == FZ_OK && (iss == NULL || *iss == '\0'))
		rc = refuse(err, "%s", "client assertion has no iss");
	if (rc == FZ_OK && m->client_id != NULL && strcmp(m->client_id, iss) != 0)
		rc = refuse(err, "%s", "client_id differs from the client assertion's iss");
	if (rc == FZ_OK)
		rc = find_client(as, http->arena, iss, out, err);
	if (rc == FZ_OK)
		rc = client_keys(out, &keys, err);
	if (rc == FZ_OK)
		rc = verify_sig(jws, keys->keys, err);
	if (rc == FZ_OK)
		rc = check_claims(as, jws, now, err);
	/* Last, so an assertion that fails any check cannot fill the cache. */
	if (rc == FZ_OK)
		rc = check_replay(as, http->arena, jws, now, pending, err);
	if (keys != NULL)
		keys_done(keys);
	fz_jws_free(jws);
	return rc;
}

/* --- public clients ----------------------------------------------------- */

static fz_code auth_none(fz_as *as, fz_http_req *http, const methods *m,
			 fz_as_client *out, fz_err *err)
{
	fz_code rc;

	if (m->client_id == NULL)
		return refuse(err, "%s", "no client authentication");
	rc = find_client(as, http->arena, m->client_id, out, err);
	if (rc != FZ_OK)
		return rc;
	if (out->type != FZ_CLIENT_PUBLIC || out->auth_method != FZ_AUTH_NONE)
		return refuse(err, "client %s is confidential and must authenticate",
			      out->client_id);
	return FZ_OK;
}

static fz_code authenticate(fz_as *as, fz_http_req *http, const fz_form *form,
			    int64_t now, fz_as_client *out, fz_as_jti *pending,
			    fz_err *err)
{
	methods m;
	fz_code rc = read_methods(as, http, form, &m, err);

	memset(out, 0, sizeof(*out));
	if (rc != FZ_OK)
		return rc;
	if (m.secret != NULL)
		rc = refuse(err, "%s", "client_secret_post is not supported; use HTTP Basic");
	else if (m.basic != NULL)
		rc = auth_basic(as, http, &m, out, err);
	else if (m.assertion != NULL || m.assertion_type != NULL)
		rc = auth_assertion(as, http, &m, now, out, pending, err);
	else
		rc = auth_none(as, http, &m, out, err);
	if (rc != FZ_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

fz_code fz_as_client_authenticate(fz_as *as, fz_http_req *http,
				  const fz_form *form, int64_t now,
				  fz_as_client *out, fz_err *err)
{
	return authenticate(as, http, form, now, out, NULL, err);
}

fz_code fz_as_client_authenticate_deferred(fz_as *as, fz_http_req *http,
					   const fz_form *form, int64_t now,
					   fz_as_client *out, fz_as_jti *pending,
					   fz_err *err)
{
	memset(pending, 0, sizeof(*pending));
	return authenticate(as, http, form, now, out, pending, err);
}
