/*
 * as_tokens.c - access tokens as RFC 9068 JWTs. The claims are built
 * here, in one place, so every grant issues the same shape and a
 * resource server written by someone else can check them by the RFC.
 */
#include "as_tokens.h"

#include <stdlib.h>
#include <string.h>

#include "jwt.h"

void fz_as_minted_clear(fz_as_minted *m)
{
	if (m == NULL)
		return;
	free(m->jwt);
	memset(m, 0, sizeof(*m));
}

fz_code fz_as_sign_jwt(fz_as *as, const char *typ, const json_t *claims,
		       char **out, fz_err *err)
{
	return fz_as_keys_sign(as->keys, typ, claims, out, err);
}

static fz_code check_request(const fz_as_access_token *t, fz_err *err)
{
	if (t->sub == NULL || t->aud == NULL || t->scope == NULL || t->client_id == NULL)
		return fz_fail(err, FZ_EINTERNAL,
			       "access token needs sub, aud, scope and client_id");
	if (t->ttl < 0)
		return fz_fail(err, FZ_EINTERNAL, "negative token lifetime");
	return FZ_OK;
}

/* Adds the optional members and the extra ones, refusing an extra that
 * would replace a member already set. */
static fz_code add_optional(json_t *c, const fz_as_access_token *t, fz_err *err)
{
	const char *name;
	json_t *v;

	if ((t->email && json_object_set_new(c, "email", json_string(t->email))) ||
	    (t->azp && json_object_set_new(c, "azp", json_string(t->azp))) ||
	    (t->jkt && json_object_set_new(c, "cnf", json_pack("{s:s}", "jkt", t->jkt->s))))
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if (t->extra == NULL)
		return FZ_OK;
	if (!json_is_object(t->extra))
		return fz_fail(err, FZ_EINTERNAL, "extra claims must be an object");
	json_object_foreach((json_t *)t->extra, name, v) {
		if (json_object_get(c, name) != NULL)
			return fz_fail(err, FZ_EINTERNAL, "extra claim %s replaces a set one",
				       name);
		if (json_object_set(c, name, v) != 0)
			return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	return FZ_OK;
}

fz_code fz_as_mint_access_token(fz_as *as, const fz_as_access_token *t,
				fz_as_minted *out, fz_err *err)
{
	int64_t ttl = t->ttl ? t->ttl : (int64_t)as->cfg->tokens.access_ttl;
	json_t *claims = NULL;
	fz_code rc;

	memset(out, 0, sizeof(*out));
	rc = check_request(t, err);
	if (rc == FZ_OK)
		rc = fz_jwt_new_jti(out->jti, err);
	if (rc != FZ_OK)
		return rc;
	out->iat = fz_as_now(as);
	out->exp = fz_time_add(out->iat, ttl);
	claims = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "iss", as->cfg->issuer,
			   "sub", t->sub, "aud", t->aud, "scope", t->scope, "client_id",
			   t->client_id, "iat", (json_int_t)out->iat, "exp",
			   (json_int_t)out->exp, "jti", out->jti);
	if (claims == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "cannot build access token claims");
	if (rc == FZ_OK)
		rc = add_optional(claims, t, err);
	if (rc == FZ_OK)
		rc = fz_as_sign_jwt(as, FZ_TYP_AT_JWT, claims, &out->jwt, err);
	json_decref(claims);
	if (rc != FZ_OK)
		fz_as_minted_clear(out);
	return rc;
}
