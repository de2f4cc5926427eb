/*
 * dpop.c - making and checking DPoP proofs. The proof's own key, from its
 * header, checks its signature; what makes that worth anything is the
 * binding: the jkt the caller compares with the token's cnf.jkt.
 */
#include "dpop.h"

#include <stdlib.h>
#include <string.h>

#include "jwk_cache.h"
#include "jws.h"
#include "jwt.h"
#include "pkce.h"
#include "url.h"

static fz_code nomem(fz_err *err)
{
	return fz_fail(err, FZ_ENOMEM, "dpop: out of memory");
}

void fz_dpop_ath(const char *access_token, fz_digest_str *out)
{
	fz_digest(access_token, strlen(access_token), out);
}

/* RFC 9110 §5.6.2 token characters, enough for a method name. */
static bool method_valid(const char *m)
{
	size_t i, n = strlen(m);

	if (n == 0 || n > FZ_DPOP_HTM_MAX)
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)m[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL))
			return false;
	}
	return true;
}

/* --- making ----------------------------------------------------------------- */

static fz_code proof_claims(const char *htm, const char *htu,
			    const char *access_token, const char *nonce,
			    int64_t now, json_t **out, fz_err *err)
{
	char jti[FZ_JTI_LEN + 1];
	fz_digest_str ath;
	json_t *c;
	fz_code rc;

	if ((rc = fz_jwt_new_jti(jti, err)) != FZ_OK)
		return rc;
	c = json_pack("{s:s, s:s, s:s, s:I}", "jti", jti, "htm", htm, "htu", htu,
		      "iat", (json_int_t)now);
	if (c == NULL)
		return nomem(err);
	if (access_token != NULL) {
		fz_dpop_ath(access_token, &ath);
		if (json_object_set_new(c, "ath", json_string(ath.s)))
			goto oom;
	}
	if (nonce != NULL && json_object_set_new(c, "nonce", json_string(nonce)))
		goto oom;
	*out = c;
	return FZ_OK;
oom:
	json_decref(c);
	return nomem(err);
}

fz_code fz_dpop_make(const fz_key *key, const char *htm, const char *htu,
		     const char *access_token, const char *nonce, int64_t now,
		     char **out, fz_err *err)
{
	json_t *claims = NULL, *jwk = NULL, *extra = NULL;
	char *norm = NULL;
	fz_code rc;

	if (!method_valid(htm))
		return fz_fail(err, FZ_EINTERNAL, "dpop: htm is not an HTTP method");
	if (nonce != NULL && strlen(nonce) > FZ_DPOP_NONCE_MAX)
		return fz_fail(err, FZ_ELIMIT, "dpop: nonce is longer than %d", FZ_DPOP_NONCE_MAX);
	if ((rc = fz_url_htu(htu, strlen(htu), &norm, err)) != FZ_OK) {
		fz_err_prefix(err, "dpop: htu");
		return rc;
	}
	if ((rc = proof_claims(htm, norm, access_token, nonce, now, &claims, err)) ||
	    (rc = fz_key_to_jwk_bare(key, &jwk, err)))
		goto out;
	if ((extra = json_pack("{s:O}", "jwk", jwk)) == NULL) {
		rc = nomem(err);
		goto out;
	}
	rc = fz_jws_sign(key, FZ_TYP_DPOP, extra, claims, out, err);
out:
	json_decref(extra);
	json_decref(jwk);
	json_decref(claims);
	free(norm);
	return rc;
}

/* --- verifying -------------------------------------------------------------- */

static fz_code check_typ_alg(const fz_jws *jws, unsigned algs, fz_err *err)
{
	const char *typ = fz_jws_typ(jws);
	fz_alg alg;

	/* RFC 9449 §4.3 check 4 names the exact value. */
	if (typ == NULL || strcmp(typ, FZ_TYP_DPOP) != 0)
		return fz_fail(err, FZ_ECLAIM, "DPoP proof typ is not " FZ_TYP_DPOP);
	return fz_alg_allowed(fz_jws_alg_name(jws), algs, &alg, err);
}

/* The proof's key, imported once per distinct JWK: an MTA signs every
 * proof with the same key. Only the import is cached; the signature is
 * checked with it every time. */
static fz_code proof_key(const fz_jws *jws, fz_jwk_ref **key, fz_err *err)
{
	const json_t *jwk = json_object_get(fz_jws_header(jws), "jwk");

	if (!json_is_object(jwk))
		return fz_fail(err, FZ_EKEY, "DPoP proof has no jwk header");
	if (fz_jwk_has_private(jwk))
		return fz_fail(err, FZ_EKEY, FZ_JWK_PRIVATE_MSG " of the DPoP proof");
	return fz_jwk_cache_get(jwk, key, err);
}

static fz_code check_htm_htu(const json_t *c, const fz_dpop_request *req,
			     fz_err *err)
{
	const char *htm = fz_jwt_str(c, "htm"), *htu = fz_jwt_str(c, "htu");
	char *want = NULL, *got = NULL;
	fz_err why = {0};
	fz_code rc;

	if (htm == NULL)
		return fz_fail(err, FZ_ECLAIM, "DPoP proof has no htm");
	/* Methods are case-sensitive (RFC 9110 §9.1). */
	if (strcmp(htm, req->method) != 0)
		return fz_fail(err, FZ_ECLAIM, "DPoP htm does not match the request method %s",
			       req->method);
	if (htu == NULL)
		return fz_fail(err, FZ_ECLAIM, "DPoP proof has no htu");
	/* The server built the request URL: its failure is ours, not the
	 * client's. */
	if (fz_url_htu(req->url, strlen(req->url), &want, &why) != FZ_OK)
		return fz_fail(err, FZ_EINTERNAL, "dpop: request URL: %s", why.msg);
	if (fz_url_htu(htu, strlen(htu), &got, &why) != FZ_OK)
		rc = fz_fail(err, FZ_ECLAIM, "DPoP htu: %s", why.msg);
	else if (strcmp(want, got) != 0)
		rc = fz_fail(err, FZ_ECLAIM, "DPoP htu does not match the request URL %s", want);
	else
		rc = FZ_OK;
	free(want);
	free(got);
	return rc;
}

static fz_code check_iat(const json_t *c, const fz_jose_config *cfg, int64_t now,
			 int64_t *iat, fz_err *err)
{
	fz_code rc = fz_jwt_int(c, "iat", iat, err);

	if (rc != FZ_OK) {
		fz_err_prefix(err, "DPoP proof");
		return rc;
	}
	if (*iat < fz_time_add(now, -cfg->dpop_iat_window))
		return fz_fail(err, FZ_ECLAIM, "DPoP proof is stale: iat is more than %lld s ago",
			       (long long)cfg->dpop_iat_window);
	if (*iat > fz_time_add(now, cfg->leeway))
		return fz_fail(err, FZ_ECLAIM, "DPoP proof iat is in the future");
	return FZ_OK;
}

static fz_code check_ath(const json_t *c, const char *token, fz_err *err)
{
	const char *ath = fz_jwt_str(c, "ath");
	fz_digest_str want;

	if (token == NULL)
		return FZ_OK;
	if (ath == NULL)
		return fz_fail(err, FZ_ECLAIM,
			       "DPoP proof has no ath, but an access token came with it");
	fz_dpop_ath(token, &want);
	if (!fz_ct_equal(ath, strlen(ath), want.s, FZ_DIGEST_LEN))
		return fz_fail(err, FZ_ECLAIM, "DPoP ath does not match the access token");
	return FZ_OK;
}

static fz_code check_nonce(const json_t *c, const char *expected, fz_err *err)
{
	const char *nonce = fz_jwt_str(c, "nonce");

	if (expected == NULL)
		return FZ_OK;
	if (nonce == NULL)
		return fz_fail_http(err, FZ_ECLAIM, 401, "use_dpop_nonce",
				    "DPoP proof has no nonce, one is required");
	if (!fz_ct_equal(nonce, strlen(nonce), expected, strlen(expected)))
		return fz_fail_http(err, FZ_ECLAIM, 401, "use_dpop_nonce",
				    "DPoP nonce is not the current one");
	return FZ_OK;
}

static fz_code check_jti(const json_t *c, fz_dpop_result *out, fz_err *err)
{
	const json_t *jti = json_object_get(c, "jti");
	size_t n = json_string_length(jti);

	if (!json_is_string(jti) || n == 0)
		return fz_fail(err, FZ_ECLAIM, "DPoP proof has no jti");
	if (n > FZ_JTI_MAX)
		return fz_fail(err, FZ_ECLAIM, "DPoP jti is longer than %d", FZ_JTI_MAX);
	memcpy(out->jti, json_string_value(jti), n + 1);
	return FZ_OK;
}

static fz_code verify_claims(const fz_jws *jws, const fz_dpop_request *req,
			     const fz_jose_config *cfg, int64_t now,
			     fz_dpop_result *out, fz_err *err)
{
	const json_t *c = fz_jws_payload(jws);
	fz_code rc;

	if ((rc = check_jti(c, out, err)) ||
	    (rc = check_htm_htu(c, req, err)) ||
	    (rc = check_iat(c, cfg, now, &out->iat, err)) ||
	    (rc = check_ath(c, req->access_token, err)) ||
	    (rc = check_nonce(c, req->nonce, err)))
		return rc;
	return FZ_OK;
}

/* Proof failures answer invalid_dpop_proof; a nonce keeps its own error
 * so the client knows to retry with the DPoP-Nonce it was given. */
static fz_code as_proof_error(fz_code rc, fz_err *err)
{
	if (rc == FZ_OK || err == NULL || rc == FZ_ENOMEM || rc == FZ_EINTERNAL)
		return rc;
	if (err->oauth == NULL || strcmp(err->oauth, "use_dpop_nonce") != 0)
		err->oauth = "invalid_dpop_proof";
	err->status = 401;
	return rc;
}

fz_code fz_dpop_verify(const char *proof, size_t len, const fz_dpop_request *req,
		       const fz_jose_config *cfg, int64_t now,
		       fz_replay_check_fn replay, void *replay_ctx,
		       fz_dpop_result *out, fz_err *err)
{
	fz_dpop_result res = {0};
	fz_jws *jws = NULL;
	fz_jwk_ref *key = NULL;
	fz_code rc;

	if (replay == NULL || req->method == NULL || req->url == NULL)
		return fz_fail(err, FZ_EINTERNAL, "dpop: no replay cache or request");
	if ((rc = fz_jws_parse_unverified(proof, len, cfg->dpop_max_bytes, &jws, err)) ||
	    (rc = check_typ_alg(jws, cfg->algs, err)) ||
	    (rc = proof_key(jws, &key, err)) ||
	    (rc = fz_jws_verify_key(jws, fz_jwk_ref_key(key), cfg->algs, err)) ||
	    (rc = verify_claims(jws, req, cfg, now, &res, err)))
		goto out;
	/* Last: only a proof that passed everything else may take a place
	 * in the cache. */
	rc = replay(replay_ctx, res.jti,
		    fz_time_add(fz_time_add(res.iat, cfg->dpop_iat_window), 1), err);
	if (rc != FZ_OK)
		goto out;
	res.jkt = *fz_key_thumbprint(fz_jwk_ref_key(key));
	*out = res;
out:
	fz_jwk_ref_release(key);
	fz_jws_free(jws);
	return as_proof_error(rc, err);
}

fz_code fz_dpop_check_binding(const json_t *token_claims,
			      const fz_digest_str *jkt, fz_err *err)
{
	fz_digest_str cnf;
	fz_code rc = fz_jwt_cnf_jkt(token_claims, &cnf, err);

	if (rc != FZ_OK)
		return rc;
	if (!fz_ct_equal(cnf.s, FZ_DIGEST_LEN, jkt->s, strnlen(jkt->s, sizeof(jkt->s))))
		return fz_fail(err, FZ_EKEY,
			       "DPoP proof key does not match the token's cnf.jkt");
	return FZ_OK;
}
