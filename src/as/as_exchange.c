/*
 * as_exchange.c - RFC 8693 token exchange, the three cases of SPEC §7.2,
 * §9 and §8.1: access token to JWT assertion (send), assertion to
 * assertion (forward), assertion to a DPoP-bound access token (fetch).
 *
 * What every case shares happens here, in this order: the client
 * authenticates and must be a confidential client that is an MTA (it has
 * sibling_of); the DPoP proof is required and verified (its key binds
 * what is issued); the parameters choose the case. The case checks the
 * subject token and mints; this file answers with the RFC 8693 §2.2.1
 * response.
 */
#include "as_exchange.h"

#include <stdlib.h>
#include <string.h>

#include "as_client_auth.h"
#include "as_dpop.h"

typedef fz_code (*xchg_case_fn)(fz_xchg *x, fz_xchg_issued *out, fz_err *err);

/* Only MTAs exchange: a confidential client registered as the sibling
 * of a mailbox (SPEC §1, seed Note 2). */
static fz_code check_client(const fz_as_client *c, fz_err *err)
{
	if (c->type != FZ_CLIENT_CONFIDENTIAL || c->sibling_of == NULL)
		return fz_fail_http(err, FZ_EDENIED, 400, "unauthorized_client",
				    "client %s is not an MTA (a confidential client with "
				    "sibling_of) and may not exchange tokens", c->client_id);
	return FZ_OK;
}

/* The proof is required; its jti and the client assertion's (*client)
 * go into the replay cache in one transaction. */
static fz_code require_dpop(fz_xchg *x, const fz_as_jti *client, fz_err *err)
{
	fz_as_jti jtis[2] = {*client};
	bool present = false;
	size_t which = 0;
	fz_code rc = fz_as_dpop_check_deferred(x->tr, NULL, &present, &x->jkt, &jtis[1], err);

	if (rc != FZ_OK)
		return rc;
	rc = fz_as_store_replay_check_all(x->tr->as->store, jtis, 2, x->tr->now, &which, err);
	if (rc == FZ_EREPLAY)
		return which == 0 ? fz_as_client_assertion_replayed(err) : fz_as_dpop_replayed(err);
	if (rc != FZ_OK)
		return rc;
	if (!present)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_dpop_proof",
				    "token exchange requires a DPoP proof (RFC 9449)");
	return FZ_OK;
}

/* A parameter that must be absent in this case. */
static fz_code refuse_param(const fz_xchg *x, const char *name, const char *oauth,
			    const char *why, fz_err *err)
{
	const char *v = NULL;
	fz_code rc = fz_as_token_param(x->tr, name, false, &v, err);

	if (rc == FZ_OK && v != NULL)
		rc = fz_fail_http(err, FZ_ESTRUCT, 400, oauth, "%s %s", name, why);
	return rc;
}

/* scope: absent means internet_mail; anything else is invalid_scope. */
static fz_code read_scope(fz_xchg *x, fz_err *err)
{
	fz_code rc = fz_as_token_param(x->tr, "scope", false, &x->scope, err);

	if (rc != FZ_OK)
		return rc;
	if (x->scope != NULL && strcmp(x->scope, FZ_AS_SCOPE_MAIL) != 0)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_scope",
				    "scope must be " FZ_AS_SCOPE_MAIL);
	x->scope = FZ_AS_SCOPE_MAIL;
	return FZ_OK;
}

/* A fetch names the origin MBX and the message; no headers. */
static fz_code fetch_params(fz_xchg *x, fz_err *err)
{
	fz_code rc;

	if ((rc = fz_as_token_param(x->tr, "audience", true, &x->audience, err)) ||
	    (rc = fz_as_token_param(x->tr, "message_id", true, &x->message_id, err)) ||
	    (rc = refuse_param(x, "headers", "invalid_request", "is for assertions only",
			       err)))
		return rc;
	return FZ_OK;
}

/* An assertion signs headers; it has no audience (any MBX may check
 * it) and names no message beyond its headers. */
static fz_code assertion_params(fz_xchg *x, fz_err *err)
{
	fz_code rc;

	if ((rc = fz_as_token_param(x->tr, "headers", true, &x->headers, err)) ||
	    (rc = refuse_param(x, "audience", "invalid_target",
			       "is for fetch access tokens only", err)) ||
	    (rc = refuse_param(x, "message_id", "invalid_request",
			       "is for fetch access tokens only", err)))
		return rc;
	return FZ_OK;
}

/* Picks the case from subject_token_type and requested_token_type, and
 * reads the parameters that case takes. */
static fz_code choose(fz_xchg *x, xchg_case_fn *fn, fz_err *err)
{
	const char *st = NULL, *rt = NULL;
	fz_code rc;

	if ((rc = fz_as_token_param(x->tr, "subject_token", true, &x->subject_token, err)) ||
	    (rc = fz_as_token_param(x->tr, "subject_token_type", true, &st, err)) ||
	    (rc = fz_as_token_param(x->tr, "requested_token_type", false, &rt, err)) ||
	    (rc = refuse_param(x, "actor_token", "invalid_request", "is not supported", err)) ||
	    (rc = refuse_param(x, "resource", "invalid_target", "is not supported; use audience", err)) ||
	    (rc = read_scope(x, err)))
		return rc;
	if (strcmp(st, FZ_TOKEN_TYPE_ACCESS) == 0 &&
	    (rt == NULL || strcmp(rt, FZ_TOKEN_TYPE_JWT) == 0)) {
		*fn = fz_xchg_send;
	} else if (strcmp(st, FZ_TOKEN_TYPE_JWT) == 0 && rt != NULL &&
		   strcmp(rt, FZ_TOKEN_TYPE_JWT) == 0) {
		*fn = fz_xchg_forward;
	} else if (strcmp(st, FZ_TOKEN_TYPE_JWT) == 0 && rt != NULL &&
		   strcmp(rt, FZ_TOKEN_TYPE_ACCESS) == 0) {
		*fn = fz_xchg_fetch;
	} else {
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "no exchange of subject_token_type %.80s for "
				    "requested_token_type %.80s", st, rt ? rt : "(none)");
	}
	return *fn == fz_xchg_fetch ? fetch_params(x, err) : assertion_params(x, err);
}

static fz_code respond(fz_xchg *x, const fz_xchg_issued *is, fz_err *err)
{
	json_t *body = json_pack("{s:s,s:s,s:s,s:I,s:s}", "access_token", is->token,
				 "issued_token_type", is->issued_token_type,
				 "token_type", is->token_type, "expires_in",
				 (json_int_t)is->expires_in, "scope", x->scope);

	if (body == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return fz_http_respond_json(x->tr->http, 200, body, err);
}

fz_code fz_as_grant_token_exchange(fz_as_token_req *tr, fz_err *err)
{
	fz_xchg x = {.tr = tr};
	fz_xchg_issued is = {0};
	xchg_case_fn fn = NULL;
	fz_as_jti client_jti;
	fz_code rc;

	if ((rc = fz_as_client_authenticate_deferred(tr->as, tr->http, tr->form, tr->now,
						     &x.client, &client_jti, err)) ||
	    (rc = check_client(&x.client, err)) ||
	    (rc = require_dpop(&x, &client_jti, err)) ||
	    (rc = choose(&x, &fn, err)) ||
	    (rc = fn(&x, &is, err)))
		return rc;
	rc = respond(&x, &is, err);
	free(is.token);
	return rc;
}
