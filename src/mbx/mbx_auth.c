/*
 * mbx_auth.c - who is calling: the bearer access tokens the webmail gets
 * from its domain's AS (SPEC §6, RFC 9068), checked against that AS's
 * keys. The keys come from the AS's RFC 8414 metadata and JWKS over
 * HTTPS, verified against ca_file; they are cached and fetched again
 * when a token names a kid we do not know (the AS rotated its key), at
 * most once per jwks_refetch_interval so random kids cannot make us
 * hammer the AS.
 */
#include "mbx_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth_header.h"
#include "discovery.h"
#include "http_client.h"
#include "jws.h"
#include "jwt.h"
#include "mbx_token_cache.h"
#include "placeholder.h"

#define FETCH_MAX_BYTES (64 * 1024) /* metadata, JWKS */
#define FETCH_TIMEOUT_S 10
#define ADDRESS_MAX 254 /* RFC 5321 §4.5.3.1.3 path, less brackets */

struct fz_mbx_keys {
	const fz_mbx_config *cfg;
	pthread_rwlock_t lock;   /* guards set */
	fz_keyset *set;          /* NULL until the first fetch succeeds */
	char *token_endpoint;    /* from the metadata, or NULL; guarded by lock */
	pthread_mutex_t fetching; /* one fetch at a time; guards last_fetch */
	int64_t last_fetch;      /* monotonic seconds; 0: never */
	fz_discovery *disc;      /* resolves through dns_server, when set */
	fz_token_cache *verified; /* tokens that passed every check; NULL: off */
};

static int64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

fz_code fz_mbx_keys_new(const fz_mbx_config *cfg, fz_mbx_keys **out,
			fz_err *err)
{
	fz_mbx_keys *k = calloc(1, sizeof(*k));
	fz_code rc = FZ_OK;

	*out = NULL;
	if (k == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	k->cfg = cfg;
	pthread_rwlock_init(&k->lock, NULL);
	pthread_mutex_init(&k->fetching, NULL);
	rc = fz_token_cache_new((size_t)cfg->limits.token_cache_entries, &k->verified, err);
	if (rc == FZ_OK && cfg->dns_host != NULL)
		rc = fz_discovery_open(cfg->dns_host, cfg->dns_port, cfg->ca_file,
				       &cfg->discovery, 0, &k->disc, err);
	if (rc != FZ_OK) {
		fz_mbx_keys_free(k);
		return rc;
	}
	*out = k;
	return FZ_OK;
}

void fz_mbx_keys_free(fz_mbx_keys *k)
{
	if (k == NULL)
		return;
	fz_keyset_free(k->set);
	free(k->token_endpoint);
	fz_discovery_free(k->disc);
	fz_token_cache_free(k->verified);
	pthread_rwlock_destroy(&k->lock);
	pthread_mutex_destroy(&k->fetching);
	free(k);
}

/* GET url as JSON, over HTTPS verified against ca_file. */
static fz_code fetch_json(fz_mbx_keys *k, fz_http_client *cli, fz_arena *a,
			  const char *url, json_t **out, fz_err *err)
{
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_client_resp resp;
	fz_http_header accept = {"Accept", "application/json"};
	const char *resolve = NULL;
	json_error_t jerr;
	fz_code rc = FZ_OK;

	if (k->disc != NULL)
		rc = fz_discovery_resolve(k->disc, url, a, &resolve, err);
	if (rc != FZ_OK)
		return rc;
	rq.url = url;
	rq.headers = &accept;
	rq.nheaders = 1;
	if (resolve != NULL) {
		rq.resolve = &resolve;
		rq.nresolve = 1;
	}
	rc = fz_http_client_request(cli, a, &rq, &resp, err);
	if (rc != FZ_OK)
		return fz_err_prefix(err, "%s", url);
	if (resp.status != 200)
		return fz_fail(err, FZ_EIO, "%s answered %ld", url, resp.status);
	*out = fz_arena_own_json(a, json_loadb(resp.body, resp.body_len,
					       JSON_REJECT_DUPLICATES, &jerr));
	if (*out == NULL || !json_is_object(*out))
		return fz_fail(err, FZ_ESTRUCT, "%s: not a JSON object", url);
	return FZ_OK;
}

/* RFC 8414 §3.3: the metadata's issuer is exactly the configured one. */
static fz_code fetch_keyset(fz_mbx_keys *k, fz_keyset **out, char **token_endpoint,
			    fz_err *err)
{
	const char *issuer = k->cfg->authorization_server, *iss, *jwks_uri;
	fz_http_client_config cc;
	fz_http_client *cli = NULL;
	fz_arena *a = fz_arena_new(0, 0);
	json_t *meta = NULL, *jwks = NULL;
	char *url = NULL;
	fz_code rc;

	if (a == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	fz_http_client_config_defaults(&cc);
	cc.ca_file = k->cfg->ca_file;
	cc.timeout_s = FETCH_TIMEOUT_S;
	cc.max_body_bytes = FETCH_MAX_BYTES;
	rc = fz_http_client_new(&cc, &cli, err);
	/* The issuer ends in "/" (config_mbx.c): the well-known path follows. */
	if (rc == FZ_OK && (url = fz_arena_printf(a, "%s.well-known/oauth-authorization-server",
						 issuer)) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	if (rc == FZ_OK)
		rc = fetch_json(k, cli, a, url, &meta, err);
	if (rc == FZ_OK) {
		iss = json_string_value(json_object_get(meta, "issuer"));
		jwks_uri = json_string_value(json_object_get(meta, "jwks_uri"));
		if (iss == NULL || strcmp(iss, issuer) != 0)
			rc = fz_fail(err, FZ_ESTRUCT, "AS metadata names issuer %.100s, not %s",
				     iss ? iss : "(none)", issuer);
		else if (jwks_uri == NULL || strncmp(jwks_uri, "https://", 8) != 0)
			rc = fz_fail(err, FZ_ESTRUCT, "AS metadata has no https jwks_uri");
		else
			rc = fetch_json(k, cli, a, jwks_uri, &jwks, err);
	}
	/* The MTA's token requests go there (RFC 8414 §2; optional). */
	if (rc == FZ_OK && json_is_string(json_object_get(meta, "token_endpoint")) &&
	    strncmp(json_string_value(json_object_get(meta, "token_endpoint")), "https://", 8) == 0 &&
	    (*token_endpoint = strdup(json_string_value(json_object_get(meta, "token_endpoint")))) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	if (rc == FZ_OK)
		rc = fz_keyset_from_jwks(jwks, out, err);
	fz_http_client_free(cli);
	fz_arena_free(a);
	return rc;
}

/* Fetches unless the last fetch is younger than the refetch interval. */
static fz_code refresh(fz_mbx_keys *k, bool force, fz_err *err)
{
	fz_keyset *fresh = NULL, *old;
	char *endpoint = NULL, *old_endpoint;
	int64_t now = mono_now();
	fz_code rc = FZ_OK;

	pthread_mutex_lock(&k->fetching);
	if (!force && k->last_fetch != 0 &&
	    now - k->last_fetch < (int64_t)k->cfg->jwks_refetch_interval) {
		pthread_mutex_unlock(&k->fetching);
		return FZ_OK;
	}
	k->last_fetch = now;
	rc = fetch_keyset(k, &fresh, &endpoint, err);
	if (rc == FZ_OK) {
		pthread_rwlock_wrlock(&k->lock);
		old = k->set;
		k->set = fresh;
		old_endpoint = k->token_endpoint;
		k->token_endpoint = endpoint;
		pthread_rwlock_unlock(&k->lock);
		fz_keyset_free(old);
		free(old_endpoint);
	} else {
		free(endpoint);
	}
	pthread_mutex_unlock(&k->fetching);
	return rc;
}

fz_code fz_mbx_keys_refresh(fz_mbx_keys *k, fz_err *err)
{
	return refresh(k, true, err);
}

static const char *endpoint_copy(fz_mbx_keys *k, fz_arena *a)
{
	const char *url = NULL;

	pthread_rwlock_rdlock(&k->lock);
	if (k->token_endpoint != NULL)
		url = fz_arena_strdup(a, k->token_endpoint);
	pthread_rwlock_unlock(&k->lock);
	return url;
}

fz_code fz_mbx_token_endpoint(fz_mbx_keys *k, fz_arena *a, const char **url,
			      const char **resolve, fz_err *err)
{
	fz_code rc = FZ_OK;

	*resolve = NULL;
	*url = endpoint_copy(k, a);
	/* Not known yet (the AS was down at start): fetch the metadata,
	 * within the refetch interval like an unknown kid. */
	if (*url == NULL && (rc = refresh(k, false, err)) == FZ_OK)
		*url = endpoint_copy(k, a);
	if (rc != FZ_OK)
		return fz_err_prefix(err, "AS metadata");
	if (*url == NULL)
		return fz_fail_http(err, FZ_EIO, 503, "temporarily_unavailable",
				    "the AS's metadata names no https token_endpoint");
	if (k->disc != NULL)
		rc = fz_discovery_resolve(k->disc, *url, a, resolve, err);
	return rc;
}

static fz_code verify(fz_mbx_keys *k, const char *token, size_t len,
		      fz_jws **out, fz_err *err)
{
	const fz_jose_config *j = &k->cfg->jose;
	fz_code rc;

	pthread_rwlock_rdlock(&k->lock);
	if (k->set == NULL)
		rc = fz_fail(err, FZ_EKEY, FZ_JWS_UNKNOWN_KID_MSG " (no AS keys yet)");
	else
		rc = fz_jws_verify(token, len, j->jws_max_bytes, j->algs, k->set, out, err);
	pthread_rwlock_unlock(&k->lock);
	return rc;
}

/* Verifies, refetching the keys once when the kid is unknown. */
static fz_code verify_token(fz_mbx_keys *k, const char *token, size_t len,
			    fz_jws **out, fz_err *err)
{
	fz_err ferr = {0};
	fz_code rc = verify(k, token, len, out, err);

	if (rc != FZ_EKEY || !fz_jws_err_is_unknown_kid(err))
		return rc;
	if (refresh(k, false, &ferr) != FZ_OK)
		fprintf(stderr, "federizer mbx: AS keys: %s\n", ferr.msg);
	fz_err_clear(err);
	return verify(k, token, len, out, err);
}

/* --- the bearer check ------------------------------------------------------ */

static bool has_scope(const char *scope, const char *want)
{
	size_t n = strlen(want);
	const char *p = scope;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, want, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p = strchr(p, ' ');
		if (p != NULL)
			p++;
	}
	return false;
}

/* RFC 6750 §3 and RFC 9728 §5.1: the challenge names the error and where
 * a client learns which AS to ask. */
static fz_code refuse(fz_mbx *m, fz_http_req *req, int status,
		      const char *error, const char *detail, fz_err *err)
{
	char www[512];
	fz_err e = {0};

	if (error == NULL)
		snprintf(www, sizeof(www), "Bearer resource_metadata=\"%s%s\"",
			 m->cfg->base_url, &FZ_MBX_PATH_METADATA[1]);
	else
		snprintf(www, sizeof(www), "Bearer error=\"%s\", resource_metadata=\"%s%s\"",
			 error, m->cfg->base_url, &FZ_MBX_PATH_METADATA[1]);
	fz_fail_http(&e, status == 403 ? FZ_EDENIED : FZ_ECLAIM, status,
		     error ? error : "invalid_token", "%s", detail);
	fz_http_respond_error(req, &e, www);
	*err = e;
	return e.code;
}

/* The token's email as a local user: local@domain of one of our domains,
 * the domain lowercased. */
static fz_code local_user(fz_mbx *m, fz_http_req *req, const char *email,
			  const char **user)
{
	const char *at = email ? strrchr(email, '@') : NULL;
	char *u;
	size_t i, n;

	if (at == NULL || at == email || strlen(email) > ADDRESS_MAX)
		return FZ_ECLAIM;
	n = strlen(at + 1);
	if (!fz_mbx_config_has_domain(m->cfg, at + 1, n))
		return FZ_EDENIED;
	u = fz_arena_strdup(req->arena, email);
	if (u == NULL)
		return FZ_ENOMEM;
	for (i = (size_t)(at - email) + 1; u[i] != '\0'; i++)
		if (u[i] >= 'A' && u[i] <= 'Z')
			u[i] = (char)(u[i] - 'A' + 'a');
	*user = u;
	return FZ_OK;
}

static fz_code check_claims(fz_mbx *m, fz_http_req *req, const fz_jws *jws,
			    const char **user, fz_err *err)
{
	const json_t *claims = fz_jws_payload(jws);
	const char *scope = fz_jwt_str(claims, "scope");
	fz_jwt_expect exp;
	fz_err e = {0};
	fz_code rc;

	fz_jwt_expect_defaults(&exp);
	exp.typ = FZ_TYP_AT_JWT;
	exp.iss = m->cfg->authorization_server;
	exp.aud = m->cfg->base_url;
	exp.leeway = m->cfg->jose.leeway;
	if (fz_jwt_check(jws, &exp, fz_mbx_now(), &e) != FZ_OK)
		return refuse(m, req, 401, "invalid_token", e.msg, err);
	/* RFC 9449 §7.1: a DPoP-bound token is no bearer token. */
	if (json_object_get(claims, "cnf") != NULL)
		return refuse(m, req, 401, "invalid_token", "a DPoP-bound token cannot be used as a bearer token", err);
	if (scope == NULL || !has_scope(scope, FZ_MBX_SCOPE))
		return refuse(m, req, 403, "insufficient_scope", "the token lacks scope " FZ_MBX_SCOPE, err);
	rc = local_user(m, req, fz_jwt_str(claims, "email"), user);
	if (rc == FZ_ENOMEM)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if (rc != FZ_OK)
		return refuse(m, req, 401, "invalid_token", "the token names no user of this mailbox", err);
	return FZ_OK;
}

/* A token that passed every check before and has not expired. */
static bool cached(fz_mbx *m, fz_http_req *req, const char *token, size_t len,
		   const char **user)
{
	char u[ADDRESS_MAX + 1];

	if (!fz_token_cache_get(m->keys->verified, token, len, fz_mbx_now(), u, sizeof(u)))
		return false;
	*user = fz_arena_strdup(req->arena, u);
	return *user != NULL;
}

fz_code fz_mbx_authenticate(fz_mbx *m, fz_http_req *req, const char **user,
			    fz_err *err)
{
	const char *h = NULL, *token;
	fz_jws *jws = NULL;
	fz_err e = {0};
	size_t tlen = 0;
	fz_code rc = fz_http_req_header_one(req, "Authorization", &h, err);

	*user = NULL;
	if (rc != FZ_OK)
		return rc;
	if (h == NULL)
		return refuse(m, req, 401, NULL, "an access token is required", err);
	rc = fz_auth_credentials(h, strlen(h), "Bearer", &token, &tlen, &e);
	if (rc == FZ_ESTRUCT)
		return refuse(m, req, 401, "invalid_request", "use the Bearer scheme (RFC 6750)", err);
	if (rc != FZ_OK)
		return refuse(m, req, 401, "invalid_token", e.msg, err);
	if (cached(m, req, token, tlen, user))
		return FZ_OK;
	if (verify_token(m->keys, token, tlen, &jws, &e) != FZ_OK) {
		fz_jws_free(jws);
		return refuse(m, req, 401, "invalid_token", e.msg, err);
	}
	rc = check_claims(m, req, jws, user, err);
	/* A user exists for delivery once they have a mailbox (mbx_store.h):
	 * the first call with a valid token makes it. */
	if (rc == FZ_OK)
		rc = fz_mbx_mailbox_open(m->store, *user, err);
	if (rc == FZ_OK)
		fz_token_cache_put(m->keys->verified, token, tlen, *user,
				   (int64_t)json_integer_value(json_object_get(fz_jws_payload(jws),
									       "exp")));
	fz_jws_free(jws);
	return rc;
}
