/*
 * as_authz.c - checking an authorization request, answering it with a
 * code or an error redirect (as_authz.h). The only places the AS sends a
 * browser to a client are the two redirect functions here, and both take
 * a request whose redirect_uri passed step 1: it is one the client
 * registered, byte for byte.
 */
#include <string.h>

#include "as_authz.h"
#include "as_issue.h"
#include "as_web.h"
#include "digest.h"
#include "jose.h"
#include "pkce.h"

#define CODE_BYTES 32 /* 256 bits from the CSPRNG; RFC 6749 §10.10 asks 128 */
#define CODE_LEN 43

/* A parameter as OAuth reads it (absent or empty: NULL; repeated: an
 * error), bounded by limits.max_param_bytes. */
static fz_code param(fz_as *as, const fz_form *f, const char *name,
		     const char **out, fz_err *err)
{
	fz_code rc = fz_form_get_one(f, name, out, err);

	if (rc != FZ_OK)
		return rc;
	if (*out != NULL && strlen(*out) > as->cfg->limits.max_param_bytes) {
		*out = NULL;
		return fz_fail_http(err, FZ_ELIMIT, 400, "invalid_request",
				    "parameter %s is too long", name);
	}
	return FZ_OK;
}

static bool registered(const fz_as_client *c, const char *uri)
{
	size_t i;

	for (i = 0; i < c->nredirect_uris; i++)
		if (strcmp(c->redirect_uris[i], uri) == 0)
			return true;
	return false;
}

fz_code fz_as_authz_client(fz_as *as, fz_http_req *req, const fz_form *params,
			   fz_as_authz *az, fz_err *err)
{
	fz_code rc;

	memset(az, 0, sizeof(*az));
	if ((rc = param(as, params, "client_id", &az->client_id, err)) ||
	    (rc = param(as, params, "redirect_uri", &az->redirect_uri, err)))
		return rc;
	if (az->client_id == NULL)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "the request names no client (client_id)");
	rc = fz_as_store_client_find(as->store, req->arena, az->client_id, &az->client, err);
	if (rc == FZ_ENOTFOUND || rc == FZ_ESYNTAX)
		return fz_fail_http(err, FZ_ENOTFOUND, 400, "invalid_client",
				    "the client is not registered here");
	if (rc != FZ_OK)
		return rc;
	/* Required even with one registered URI (RFC 9700 §2.1): the
	 * token request must then repeat the same string. */
	if (az->redirect_uri == NULL)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "the request has no redirect_uri");
	if (!registered(&az->client, az->redirect_uri))
		return fz_fail_http(err, FZ_EDENIED, 400, "invalid_request",
				    "redirect_uri is not one the client registered");
	return FZ_OK;
}

static fz_code bad(fz_err *err, const char *oauth, const char *msg)
{
	return fz_fail_http(err, FZ_ESTRUCT, 400, oauth, "%s", msg);
}

static fz_code read_rest(fz_as *as, const fz_form *f, fz_as_authz *az, fz_err *err)
{
	fz_code rc;

	if ((rc = fz_form_require_unique(f, err)) ||
	    (rc = param(as, f, "response_type", &az->response_type, err)) ||
	    (rc = param(as, f, "state", &az->state, err)) ||
	    (rc = param(as, f, "scope", &az->scope, err)) ||
	    (rc = param(as, f, "code_challenge", &az->code_challenge, err)) ||
	    (rc = param(as, f, "code_challenge_method", &az->code_challenge_method, err)) ||
	    (rc = param(as, f, "dpop_jkt", &az->dpop_jkt, err)))
		return rc;
	return FZ_OK;
}

fz_code fz_as_authz_check(fz_as *as, const fz_form *params, fz_as_authz *az,
			  fz_err *err)
{
	fz_err why = {0};
	fz_code rc = read_rest(as, params, az, err);

	if (rc != FZ_OK)
		return rc;
	if (az->response_type == NULL)
		return bad(err, "invalid_request", "response_type is required");
	if (strcmp(az->response_type, "code") != 0)
		return bad(err, "unsupported_response_type", "only response_type code");
	if (az->state == NULL)
		return bad(err, "invalid_request", "state is required");
	if (az->code_challenge == NULL)
		return bad(err, "invalid_request", "code_challenge is required (PKCE)");
	/* RFC 7636 §4.4.1 names invalid_request for a method we refuse;
	 * absent would mean plain (§4.3), which we refuse too. */
	if (az->code_challenge_method == NULL || strcmp(az->code_challenge_method, "S256") != 0)
		return bad(err, "invalid_request",
			   "transform algorithm not supported: code_challenge_method must be S256");
	if (fz_pkce_challenge_check(az->code_challenge, strlen(az->code_challenge), &why))
		return bad(err, "invalid_request", "code_challenge is not an S256 challenge");
	if (az->dpop_jkt != NULL && !fz_digest_valid(az->dpop_jkt, strlen(az->dpop_jkt)))
		return bad(err, "invalid_request", "dpop_jkt is not a JWK thumbprint");
	if ((rc = fz_as_scope_check(az->scope, err)) != FZ_OK)
		return rc;
	az->scope = FZ_AS_SCOPE_MAIL;
	if (az->client.audience == NULL)
		return bad(err, "unauthorized_client",
			   "the client has no audience registered for its access tokens");
	return FZ_OK;
}

fz_code fz_as_authz_query(fz_arena *a, const fz_as_authz *az, const char **out,
			  fz_err *err)
{
	fz_html q;
	size_t n;

	fz_html_init(&q, a, FZ_HTML_PAGE_MAX);
	fz_query_add(&q, "response_type", az->response_type);
	fz_query_add(&q, "client_id", az->client_id);
	fz_query_add(&q, "redirect_uri", az->redirect_uri);
	fz_query_add(&q, "scope", az->scope);
	fz_query_add(&q, "state", az->state);
	fz_query_add(&q, "code_challenge", az->code_challenge);
	fz_query_add(&q, "code_challenge_method", az->code_challenge_method);
	if (az->dpop_jkt != NULL)
		fz_query_add(&q, "dpop_jkt", az->dpop_jkt);
	return fz_html_finish(&q, out, &n, err);
}

/* RFC 6749 §5.2 limits error_description to %x20-21 / %x23-5B / %x5D-7E. */
static const char *describe(fz_arena *a, const char *msg)
{
	char *d = fz_arena_strdup(a, msg);
	char *p;

	for (p = d; p != NULL && *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e || *p == '"' || *p == '\\')
			*p = '?';
	return d;
}

/* redirect_uri, then '?' or '&', then the query built in q. */
static fz_code send_back(fz_http_req *req, const fz_as_authz *az, fz_html *q,
			 unsigned status, fz_err *err)
{
	const char *query, *loc;
	size_t n;
	fz_code rc = fz_html_finish(q, &query, &n, err);

	if (rc != FZ_OK)
		return rc;
	loc = fz_arena_printf(req->arena, "%s%c%s", az->redirect_uri,
			      strchr(az->redirect_uri, '?') ? '&' : '?', query);
	if (loc == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if ((rc = fz_http_add_header(req, "Cache-Control", "no-store", err)) ||
	    (rc = fz_http_add_header(req, "Referrer-Policy", "no-referrer", err)))
		return rc;
	return fz_http_respond_redirect(req, status, loc, err);
}

fz_code fz_as_authz_redirect_error(fz_as *as, fz_http_req *req,
				   const fz_as_authz *az, const fz_err *e,
				   unsigned status, fz_err *err)
{
	fz_html q;
	const char *desc = describe(req->arena, e->msg);

	if (desc == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	fz_html_init(&q, req->arena, FZ_HTML_PAGE_MAX);
	fz_query_add(&q, "error", e->oauth ? e->oauth : "invalid_request");
	fz_query_add(&q, "error_description", desc);
	if (az->state != NULL)
		fz_query_add(&q, "state", az->state);
	fz_query_add(&q, "iss", as->cfg->issuer);
	return send_back(req, az, &q, status, err);
}

fz_code fz_as_authz_grant(fz_as *as, fz_http_req *req, const fz_as_authz *az,
			  int64_t user_id, int64_t now, unsigned status,
			  fz_err *err)
{
	char code[CODE_LEN + 1];
	fz_digest_str hash;
	fz_as_code c;
	fz_html q;
	fz_code rc = fz_random_b64url(CODE_BYTES, code, sizeof(code), err);

	if (rc != FZ_OK)
		return rc;
	/* Stored by digest only: a copy of the database redeems nothing. */
	fz_digest(code, strlen(code), &hash);
	c = (fz_as_code){
		.code_hash = hash.s,
		.client_id = az->client_id,
		.user_id = user_id,
		.redirect_uri = az->redirect_uri,
		.scope = az->scope,
		.code_challenge = az->code_challenge,
		.dpop_jkt = az->dpop_jkt,
		.created_at = now,
		.expires_at = fz_time_add(now, (int64_t)as->cfg->tokens.code_ttl),
	};
	if ((rc = fz_as_store_code_put(as->store, &c, err)) != FZ_OK)
		return rc;
	fz_html_init(&q, req->arena, FZ_HTML_PAGE_MAX);
	fz_query_add(&q, "code", code);
	fz_query_add(&q, "state", az->state);
	fz_query_add(&q, "iss", as->cfg->issuer);
	return send_back(req, az, &q, status, err);
}
