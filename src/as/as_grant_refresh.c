/*
 * as_grant_refresh.c - the refresh_token grant (RFC 6749 §6, RFC 9449
 * §5, RFC 9700 §4.14, SPEC §6): every use rotates the token (one store
 * transaction: the presented one is marked used, its successor stored
 * in the same family) and mints a fresh access token.
 *
 * The store refuses, all 400 invalid_grant: an unknown, expired or
 * revoked token, one issued to another client, one bound to a DPoP key
 * when the proof is missing or by another key, and a token used before
 * - which also revokes its whole family, so whichever of the thief and
 * the owner comes second ends the session of both.
 */
#include <stdio.h>
#include <string.h>

#include "as_client_auth.h"
#include "as_dpop.h"
#include "as_issue.h"
#include "jose.h"

fz_code fz_as_grant_refresh_token(fz_as_token_req *tr, fz_err *err)
{
	fz_arena *a = tr->http->arena;
	fz_as_client client;
	const char *token, *scope, *next_token, *next_hash;
	fz_digest_str jkt, presented;
	bool dpop;
	fz_as_refresh next;
	fz_as_user user;
	fz_as_issue is;
	fz_as_issued at;
	fz_code rc;

	if ((rc = fz_as_client_authenticate(tr->as, tr->http, tr->form, tr->now, &client,
					    err)) ||
	    (rc = fz_as_token_param(tr, "refresh_token", true, &token, err)) ||
	    (rc = fz_as_token_param(tr, "scope", false, &scope, err)) ||
	    (rc = fz_as_scope_check(scope, err)) ||
	    (rc = fz_as_dpop_check(tr, NULL, &dpop, &jkt, err)) ||
	    (rc = fz_as_secret_new(a, FZ_AS_REFRESH_BYTES, &next_token, &next_hash, err)))
		return rc;
	fz_digest(token, strlen(token), &presented);
	rc = fz_as_store_refresh_rotate(tr->as->store, a, &(fz_as_refresh_rotation){
		.token_hash = presented.s, .client_id = client.client_id,
		.dpop_jkt = dpop ? jkt.s : NULL, .new_token_hash = next_hash,
		.now = tr->now, .ttl = (int64_t)tr->as->cfg->tokens.refresh_ttl,
	}, &next, err);
	if (rc == FZ_EREPLAY)
		fprintf(stderr, "federizer as: reused refresh token; family %s revoked\n",
			next.family_id ? next.family_id : "?");
	if (rc != FZ_OK)
		return rc;
	if ((rc = fz_as_store_user_get(tr->as->store, a, next.user_id, &user, err)) != FZ_OK)
		return rc == FZ_ENOTFOUND
			? fz_fail_http(err, rc, 400, "invalid_grant", "the user is gone") : rc;
	/* The successor keeps the family's scope (a narrower request
	 * cannot be narrower: there is one scope) and audience. */
	is = (fz_as_issue){.address = user.address, .client_id = client.client_id,
			   .audience = next.audience, .scope = next.scope,
			   .jkt = dpop ? &jkt : NULL, .refresh_token = next_token};
	if ((rc = fz_as_issue_mint(tr, &is, &at, err)) != FZ_OK)
		return rc;
	return fz_as_issue_respond(tr, &is, &at, err);
}
