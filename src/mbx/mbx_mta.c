/*
 * mbx_mta.c - the checks every MTA-facing endpoint makes before it looks
 * at what is asked (mbx_mta.h): a token presented with the DPoP scheme
 * and its proof (RFC 9449 §7), JWTs verified under the AS that DNS
 * names for a domain (SPEC §5), and refusals that say in the log which
 * message they were about.
 */
#include "mbx_mta.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth_header.h"
#include "dpop.h"
#include "jwt.h"

fz_code fz_mbx_federation_open(fz_mbx *m, fz_err *err)
{
	const fz_mbx_config *cfg = m->cfg;

	return fz_discovery_open(cfg->dns_host, cfg->dns_port, cfg->ca_file, &cfg->discovery,
				 cfg->jwks_refetch_interval, &m->disc, err);
}

/* --- answers ---------------------------------------------------------------- */

fz_code fz_mta_fail(fz_http_req *req, const char *what, const char *mid,
		    const fz_err *e)
{
	char www[128];

	if (e->code == FZ_ENOMEM || e->status >= 500 || e->status == 0)
		fprintf(stderr, "federizer mbx: %s %.200s: %s\n", what, mid ? mid : "-", e->msg);
	else
		fprintf(stderr, "federizer mbx: %s %.200s: %d %s: %s\n", what, mid ? mid : "-",
			e->status, e->oauth ? e->oauth : "-", e->msg);
	if (mid != NULL)
		fz_http_req_set_log_id(req, mid);
	if (e->status != 401) {
		fz_http_respond_error(req, e, NULL);
		return e->code;
	}
	/* RFC 9449 §7.1: the challenge names the scheme, the algorithms
	 * and what was wrong. */
	snprintf(www, sizeof(www), "DPoP error=\"%s\", algs=\"ES256 RS256\"",
		 e->oauth ? e->oauth : "invalid_token");
	fz_http_respond_error(req, e, www);
	return e->code;
}

void fz_mta_repr_digest(const char *digest, char *out, size_t size)
{
	char b64[FZ_DIGEST_LEN + 2];
	size_t i;

	/* The same bytes in standard base64: only the alphabet and the
	 * padding differ from the digest's base64url. */
	for (i = 0; i < FZ_DIGEST_LEN; i++)
		b64[i] = digest[i] == '-' ? '+' : digest[i] == '_' ? '/' : digest[i];
	b64[FZ_DIGEST_LEN] = '=';
	b64[FZ_DIGEST_LEN + 1] = '\0';
	snprintf(out, size, "sha-256=:%s:", b64);
}

const char *fz_mta_peek(fz_mbx *m, fz_arena *a, const char *token,
			const char *name)
{
	fz_jws *jws = NULL;
	const char *v = NULL;

	if (fz_jws_parse_unverified(token, strlen(token), m->cfg->jose.jws_max_bytes, &jws,
				    NULL) == FZ_OK &&
	    (v = fz_jwt_str(fz_jws_payload(jws), name)) != NULL)
		v = fz_arena_strdup(a, v);
	fz_jws_free(jws);
	return v;
}

/* --- DPoP --------------------------------------------------------------------- */

static fz_code no_token(fz_err *err, const char *why)
{
	return fz_fail_http(err, FZ_ECLAIM, 401, "invalid_token", "%s", why);
}

static fz_code read_token(fz_http_req *req, const char **out, fz_err *err)
{
	const char *h = NULL, *t;
	fz_err why = {0};
	size_t n;
	fz_code rc = fz_http_req_header_one(req, "Authorization", &h, err);

	if (rc != FZ_OK)
		return no_token(err, "more than one Authorization header");
	if (h == NULL)
		return no_token(err, "Authorization: DPoP <token> is required");
	rc = fz_auth_credentials(h, strlen(h), "DPoP", &t, &n, &why);
	if (rc == FZ_ESTRUCT)
		return no_token(err, "use the DPoP scheme (RFC 9449 §7.1)");
	if (rc != FZ_OK)
		return no_token(err, why.msg);
	/* the token is used as a C string further on: copy its length */
	*out = fz_arena_strndup(req->arena, t, n);
	return *out ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

/* The token's cnf.jkt, read before verification, against the proof key. */
static fz_code check_binding(fz_mbx *m, const char *token,
			     const fz_digest_str *jkt, fz_err *err)
{
	fz_jws *jws = NULL;
	fz_err why = {0};
	fz_code rc = fz_jws_parse_unverified(token, strlen(token), m->cfg->jose.jws_max_bytes,
					     &jws, &why);

	if (rc != FZ_OK)
		return fz_fail_http(err, rc, 401, "invalid_token", "the token: %s", why.msg);
	rc = fz_dpop_check_binding(fz_jws_payload(jws), jkt, &why);
	fz_jws_free(jws);
	if (rc != FZ_OK)
		return fz_fail_http(err, rc, 401, "invalid_dpop_proof", "%s", why.msg);
	return FZ_OK;
}

fz_code fz_mta_dpop(fz_mbx *m, fz_http_req *req, fz_mta_auth *out, fz_err *err)
{
	int64_t now = fz_mbx_now();
	fz_mbx_replay replay = {m->store, FZ_MTA_REPLAY_NS, now};
	fz_dpop_request dr = {.method = req->method};
	fz_dpop_result res;
	const char *proof = NULL;
	fz_code rc = read_token(req, &out->token, err);

	if (rc != FZ_OK)
		return rc;
	if (fz_http_req_header_one(req, "DPoP", &proof, NULL) != FZ_OK || proof == NULL)
		return fz_fail_http(err, FZ_ESTRUCT, 401, "invalid_dpop_proof",
				    "exactly one DPoP proof header is required");
	/* base_url ends in "/", the path starts with one */
	dr.url = fz_arena_printf(req->arena, "%s%s", m->cfg->base_url, req->path + 1);
	if (dr.url == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	dr.access_token = out->token;
	rc = fz_dpop_verify(proof, strlen(proof), &dr, &m->cfg->jose, now,
			    fz_mbx_replay_check, &replay, &res, err);
	if (rc != FZ_OK)
		return rc;
	out->jkt = res.jkt;
	return check_binding(m, out->token, &out->jkt, err);
}

/* --- foreign JWTs ------------------------------------------------------------- */

static fz_code discovery_failed(const char *domain, const fz_err *why, fz_err *err)
{
	if (why->code == FZ_ECLAIM)
		return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				    "iss is not the AS that DNS names for %s", domain);
	if (why->code == FZ_EKEY)
		return fz_fail_http(err, FZ_EKEY, 401, "invalid_token", "%s", why->msg);
	if (why->code == FZ_EIO || why->code == FZ_ENOMEM || why->code == FZ_EINTERNAL)
		return fz_fail_http(err, why->code, 503, "temporarily_unavailable",
				    "discovery of %s: %s", domain, why->msg);
	return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
			    "the AS of %s: %s", domain, why->msg);
}

fz_code fz_mta_verify_foreign(fz_mbx *m, fz_arena *a, const char *domain,
			      const char *token, fz_jws **out, fz_err *err)
{
	const fz_jose_config *j = &m->cfg->jose;
	const fz_keyset *keys = NULL;
	const char *iss = fz_mta_peek(m, a, token, "iss");
	const char *kid = NULL;
	fz_jws *peek = NULL;
	fz_err why = {0};

	*out = NULL;
	if (fz_jws_parse_unverified(token, strlen(token), j->jws_max_bytes, &peek, &why) != FZ_OK)
		return fz_fail_http(err, why.code, 401, "invalid_token", "%s", why.msg);
	if (fz_jws_kid(peek) != NULL)
		kid = fz_arena_strdup(a, fz_jws_kid(peek));
	fz_jws_free(peek);
	if (iss == NULL || kid == NULL)
		return fz_fail_http(err, FZ_ECLAIM, 401, "invalid_token", "the token lacks iss or kid");
	if (fz_discovery_check_issuer(m->disc, domain, iss, &why) != FZ_OK ||
	    fz_discovery_keys(m->disc, domain, iss, kid, a, &keys, &why) != FZ_OK)
		return discovery_failed(domain, &why, err);
	if (fz_jws_verify(token, strlen(token), j->jws_max_bytes, j->algs, keys, out, &why) != FZ_OK)
		return fz_fail_http(err, why.code, 401, "invalid_token", "%s", why.msg);
	return FZ_OK;
}

fz_code fz_mta_verify_assertion(void *ctx, const char *jws, size_t len,
				const char *domain, json_t **claims,
				fz_err *err)
{
	static const char *const required[] = {"sub", "azp", "jti", "eh", "cnf", NULL};
	fz_mta_verifier *v = ctx;
	const char *token;
	fz_jwt_expect x;
	fz_jws *verified = NULL;
	fz_err why = {0};
	fz_code rc;

	if (v->known != NULL && strlen(v->known) == len && memcmp(v->known, jws, len) == 0) {
		*claims = json_incref((json_t *)v->known_claims);
		return FZ_OK;
	}
	/* the envelope's string is not NUL-terminated for us to rely on */
	token = fz_arena_strndup(v->arena, jws, len);
	if (token == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = fz_mta_verify_foreign(v->m, v->arena, domain, token, &verified, err);
	if (rc != FZ_OK)
		return rc;
	fz_jwt_expect_defaults(&x);
	x.typ = FZ_TYP_JWT;
	x.require_iat = true;
	x.leeway = v->m->cfg->jose.leeway;
	x.required = required;
	rc = fz_jwt_check(verified, &x, fz_mbx_now(), &why);
	if (rc != FZ_OK)
		rc = fz_fail_http(err, rc, 401, "invalid_token", "%s", why.msg);
	else
		*claims = json_incref((json_t *)fz_jws_payload(verified));
	fz_jws_free(verified);
	return rc;
}
