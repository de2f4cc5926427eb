/*
 * as_exchange_subject.c - is the subject token of an exchange genuine?
 *
 * An access token must be one of ours. An assertion may come from any
 * domain: its issuer is whatever AS the DNS names for the domain of its
 * sub (SPEC §5) - the origin sender on the first hop, the forwarder on a
 * later one, since a forwarded assertion's sub is its Forwarded-From. A
 * domain we serve ourselves is never looked up: its issuer is us.
 *
 * Every refusal is 400 invalid_request (RFC 8693 §2.2.2), except a peer
 * we could not reach, which is 503 so the MTA retries later.
 */
#include "as_exchange.h"

#include <string.h>

#include "jws.h"

static fz_code invalid(fz_err *err, const char *what, const fz_err *why)
{
	return fz_fail_http(err, why->code, 400, "invalid_request", "%s: %s", what,
			    why->msg);
}

/* The payload, kept by the arena after the JWS is freed. */
static fz_code keep_claims(fz_arena *a, const fz_jws *jws, const json_t **out,
			   fz_err *err)
{
	json_t *c = json_incref((json_t *)fz_jws_payload(jws));

	*out = fz_arena_own_json(a, c);
	return *out != NULL ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

/* Verifies token under our published keys (the signer and the retired
 * ones still published). */
static fz_code verify_own(fz_as *as, const char *token, fz_jws **out,
			  fz_err *why)
{
	fz_as_keysnap *snap = fz_as_keys_get(as->keys);
	fz_code rc = fz_jws_verify(token, strlen(token), as->cfg->jose.jws_max_bytes,
				   as->cfg->jose.algs, fz_as_keysnap_published(snap),
				   out, why);

	fz_as_keys_put(as->keys, snap);
	return rc;
}

fz_code fz_xchg_verify_access_token(fz_as *as, fz_arena *a, const char *token,
				    int64_t now, const json_t **claims,
				    fz_err *err)
{
	static const char *const required[] = {"sub", "email", "aud", "client_id",
					       "scope", "jti", NULL};
	fz_jwt_expect x;
	fz_jws *jws = NULL;
	fz_err why = {0};
	fz_code rc = verify_own(as, token, &jws, &why);

	if (rc != FZ_OK)
		return invalid(err, "subject_token", &why);
	fz_jwt_expect_defaults(&x);
	x.typ = FZ_TYP_AT_JWT;
	x.iss = as->cfg->issuer;
	x.leeway = as->cfg->jose.leeway;
	x.required = required;
	rc = fz_jwt_check(jws, &x, now, &why);
	if (rc != FZ_OK)
		rc = invalid(err, "subject_token", &why);
	else if (!fz_xchg_scope_has(fz_jwt_str(fz_jws_payload(jws), "scope"),
				    FZ_AS_SCOPE_MAIL))
		rc = fz_fail_http(err, FZ_ECLAIM, 400, "invalid_request",
				  "subject_token scope lacks " FZ_AS_SCOPE_MAIL);
	if (rc == FZ_OK)
		rc = keep_claims(a, jws, claims, err);
	fz_jws_free(jws);
	return rc;
}

/* A discovery failure as the client should hear it. */
static fz_code discovery_failed(const char *domain, const fz_err *why, fz_err *err)
{
	if (why->code == FZ_EIO || why->code == FZ_ENOMEM || why->code == FZ_EINTERNAL)
		return fz_fail_http(err, why->code, 503, "temporarily_unavailable",
				    "discovery of %s: %s", domain, why->msg);
	if (why->code == FZ_ECLAIM)
		return fz_fail_http(err, FZ_ECLAIM, 400, "invalid_request",
				    "subject assertion iss is not the AS that DNS names for %s",
				    domain);
	return fz_fail_http(err, why->code, 400, "invalid_request",
			    "subject assertion issuer of %s: %s", domain, why->msg);
}

/* Verifies token under the keys of the AS of domain, found by DNS. */
static fz_code verify_foreign(fz_as *as, fz_arena *a, const char *domain,
			      const char *iss, const char *kid, const char *token,
			      fz_jws **out, fz_err *err)
{
	const fz_keyset *keys = NULL;
	fz_err why = {0};

	if (fz_discovery_check_issuer(as->discovery, domain, iss, &why) != FZ_OK ||
	    fz_discovery_keys(as->discovery, domain, iss, kid, a, &keys, &why) != FZ_OK)
		return discovery_failed(domain, &why, err);
	if (fz_jws_verify(token, strlen(token), as->cfg->jose.jws_max_bytes,
			  as->cfg->jose.algs, keys, out, &why) != FZ_OK)
		return invalid(err, "subject_token", &why);
	return FZ_OK;
}

/* Reads what choosing the keys needs from the unverified token: the
 * domain of sub, iss and kid. Nothing read here is trusted until the
 * signature verifies under the keys these names lead to. */
static fz_code peek(fz_as *as, fz_arena *a, const char *token,
		    char domain[FZ_DOMAIN_MAX + 1], const char **iss,
		    const char **kid, fz_err *err)
{
	fz_jws *jws = NULL;
	fz_err why = {0};
	const json_t *c;
	fz_code rc = fz_jws_parse_unverified(token, strlen(token),
					     as->cfg->jose.jws_max_bytes, &jws, &why);

	if (rc != FZ_OK)
		return invalid(err, "subject_token", &why);
	c = fz_jws_payload(jws);
	rc = fz_alg_allowed(fz_jws_alg_name(jws), as->cfg->jose.algs, &(fz_alg){0}, &why);
	if (rc != FZ_OK)
		rc = invalid(err, "subject_token", &why);
	if (rc == FZ_OK &&
	    fz_xchg_address_domain(fz_jwt_str(c, "sub"), domain, NULL) != FZ_OK)
		rc = fz_fail_http(err, FZ_ECLAIM, 400, "invalid_request",
				  "subject assertion sub is not an address");
	if (rc == FZ_OK && (fz_jwt_str(c, "iss") == NULL || fz_jws_kid(jws) == NULL))
		rc = fz_fail_http(err, FZ_ECLAIM, 400, "invalid_request",
				  "subject assertion lacks iss or kid");
	if (rc == FZ_OK) {
		*iss = fz_arena_strdup(a, fz_jwt_str(c, "iss"));
		*kid = fz_arena_strdup(a, fz_jws_kid(jws));
		if (*iss == NULL || *kid == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	fz_jws_free(jws);
	return rc;
}

fz_code fz_xchg_verify_assertion(fz_as *as, fz_arena *a, const char *token,
				 int64_t now, const json_t **claims, fz_err *err)
{
	static const char *const required[] = {"sub", "azp", "jti", "eh", "scope",
					       "cnf", NULL};
	char domain[FZ_DOMAIN_MAX + 1];
	const char *iss = NULL, *kid = NULL;
	fz_jwt_expect x;
	fz_jws *jws = NULL;
	fz_err why = {0};
	fz_code rc = peek(as, a, token, domain, &iss, &kid, err);

	if (rc != FZ_OK)
		return rc;
	if (!fz_as_config_has_domain(as->cfg, domain, strlen(domain)))
		rc = verify_foreign(as, a, domain, iss, kid, token, &jws, err);
	else if (strcmp(iss, as->cfg->issuer) != 0)
		return fz_fail_http(err, FZ_ECLAIM, 400, "invalid_request",
				    "subject assertion iss is not this AS, which serves %s",
				    domain);
	else if (verify_own(as, token, &jws, &why) != FZ_OK)
		rc = invalid(err, "subject_token", &why);
	if (rc != FZ_OK)
		return rc;
	fz_jwt_expect_defaults(&x);
	x.typ = FZ_XCHG_ASSERTION_TYP;
	x.iss = iss;
	x.require_iat = true;
	x.leeway = as->cfg->jose.leeway;
	x.required = required;
	rc = fz_jwt_check(jws, &x, now, &why);
	if (rc != FZ_OK)
		rc = invalid(err, "subject assertion", &why);
	if (rc == FZ_OK)
		rc = fz_xchg_assertion_shape(fz_jws_payload(jws), err);
	if (rc == FZ_OK)
		rc = keep_claims(a, jws, claims, err);
	fz_jws_free(jws);
	return rc;
}
