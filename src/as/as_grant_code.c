/*
 * as_grant_code.c - the authorization_code grant (RFC 6749 §4.1.3, RFC
 * 7636 §4.6, RFC 9449 §5 and §10, SPEC §6): the webmail redeems a code
 * with its PKCE verifier, optionally with a DPoP proof, for an access
 * token and the first refresh token of a new family.
 *
 * Everything that can be checked without spending the code is checked
 * first (client, parameters, the proof), so a bad request does not burn
 * a good code. Redeeming is one transaction in the store; a code
 * presented a second time is refused and the refresh family it issued
 * is revoked there (RFC 6749 §4.1.2, RFC 9700 §4.5). After redemption
 * every mismatch (client, redirect_uri, verifier, DPoP key) is
 * invalid_grant and the code stays spent.
 */
#include <stdio.h>
#include <string.h>

#include "as_client_auth.h"
#include "as_dpop.h"
#include "as_issue.h"
#include "jose.h"
#include "pkce.h"

typedef struct code_req {
	const char *code, *redirect_uri, *verifier;
	fz_as_client client;
	bool dpop;
	fz_digest_str jkt;
} code_req;

static fz_code read_request(fz_as_token_req *tr, code_req *r, fz_err *err)
{
	fz_code rc;

	if ((rc = fz_as_client_authenticate(tr->as, tr->http, tr->form, tr->now,
					    &r->client, err)) ||
	    (rc = fz_as_token_param(tr, "code", true, &r->code, err)) ||
	    (rc = fz_as_token_param(tr, "redirect_uri", true, &r->redirect_uri, err)) ||
	    (rc = fz_as_token_param(tr, "code_verifier", true, &r->verifier, err)))
		return rc;
	return fz_as_dpop_check(tr, NULL, &r->dpop, &r->jkt, err);
}

static fz_code invalid_grant(fz_err *err, const char *msg)
{
	return fz_fail_http(err, FZ_EDENIED, 400, "invalid_grant", "%s", msg);
}

/* The redeemed code against this request. */
static fz_code match(const code_req *r, const fz_as_code *c, fz_err *err)
{
	fz_code rc;

	if (strcmp(c->client_id, r->client.client_id) != 0)
		return invalid_grant(err, "the code was issued to another client");
	/* RFC 6749 §4.1.3: identical to the authorization request's. */
	if (strcmp(c->redirect_uri, r->redirect_uri) != 0)
		return invalid_grant(err, "redirect_uri differs from the authorization request's");
	rc = fz_pkce_verify(r->verifier, strlen(r->verifier), c->code_challenge,
			    strlen(c->code_challenge), err);
	if (rc != FZ_OK)
		return fz_fail_http(err, rc, 400, "invalid_grant",
				    "code_verifier does not match the code_challenge");
	/* RFC 9449 §10: a code bound with dpop_jkt needs a proof by that key. */
	if (c->dpop_jkt != NULL && (!r->dpop || strcmp(c->dpop_jkt, r->jkt.s) != 0))
		return invalid_grant(err, "the code is bound to another DPoP key");
	return FZ_OK;
}

static fz_code redeem(fz_as_token_req *tr, const code_req *r, const char **hash,
		      fz_as_code *c, fz_err *err)
{
	fz_digest_str d;
	char printable[64];
	fz_code rc;

	fz_digest(r->code, strlen(r->code), &d);
	*hash = fz_arena_strdup(tr->http->arena, d.s);
	if (*hash == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = fz_as_store_code_redeem(tr->as->store, tr->http->arena, *hash, tr->now, c, err);
	if (rc == FZ_EREPLAY)
		fprintf(stderr, "federizer as: replayed authorization code of client %s;"
			" refresh family %s revoked\n",
			fz_jose_printable(c->client_id ? c->client_id : "?", printable,
					  sizeof(printable)),
			c->issued_family ? c->issued_family : "(none yet)");
	return rc;
}

fz_code fz_as_grant_authorization_code(fz_as_token_req *tr, fz_err *err)
{
	fz_arena *a = tr->http->arena;
	code_req r;
	fz_as_code c;
	fz_as_user user;
	fz_as_issue is = {0};
	fz_as_issued at;
	const char *code_hash, *refresh_hash, *family;
	fz_code rc;

	memset(&r, 0, sizeof(r));
	if ((rc = read_request(tr, &r, err)) || (rc = redeem(tr, &r, &code_hash, &c, err)) ||
	    (rc = match(&r, &c, err)))
		return rc;
	if ((rc = fz_as_store_user_get(tr->as->store, a, c.user_id, &user, err)) != FZ_OK)
		return rc == FZ_ENOTFOUND ? invalid_grant(err, "the user is gone") : rc;
	is = (fz_as_issue){.address = user.address, .client_id = r.client.client_id,
			   .audience = r.client.audience, .scope = c.scope,
			   .jkt = r.dpop ? &r.jkt : NULL};
	if ((rc = fz_as_secret_new(a, FZ_AS_REFRESH_BYTES, &is.refresh_token,
				   &refresh_hash, err)) ||
	    (rc = fz_as_secret_new(a, FZ_AS_FAMILY_BYTES, &family, NULL, err)) ||
	    (rc = fz_as_issue_mint(tr, &is, &at, err)))
		return rc;
	/* The refresh token is bound to the proof's key when there was one
	 * (RFC 9449 §5): a public client's stolen refresh token is useless
	 * without the private key. */
	rc = fz_as_store_refresh_put(tr->as->store, &(fz_as_refresh){
		.token_hash = refresh_hash, .family_id = family,
		.client_id = r.client.client_id, .user_id = user.id, .scope = c.scope,
		.audience = r.client.audience, .dpop_jkt = r.dpop ? r.jkt.s : NULL,
		.created_at = tr->now,
		.expires_at = fz_time_add(tr->now, (int64_t)tr->as->cfg->tokens.refresh_ttl),
	}, err);
	if (rc == FZ_OK)
		rc = fz_as_store_code_set_issued(tr->as->store, code_hash, family, at.jti, err);
	if (rc != FZ_OK)
		return rc;
	return fz_as_issue_respond(tr, &is, &at, err);
}
