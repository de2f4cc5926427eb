/*
 * as_issue.c - issuing for the webmail's grants (as_issue.h): random
 * secrets stored by digest, the scope rule, the RFC 9068 access token
 * (bound to the DPoP key when the request had a proof, RFC 9449 §6) and
 * the token response of RFC 6749 §5.1 (token_type DPoP, RFC 9449 §5).
 */
#include <string.h>

#include "as_issue.h"
#include "as_tokens.h"
#include "jose.h"

fz_code fz_as_secret_new(fz_arena *a, size_t nbytes, const char **value,
			 const char **hash, fz_err *err)
{
	char buf[128];
	fz_digest_str d;
	fz_code rc;

	if (nbytes > 64)
		return fz_fail(err, FZ_EINTERNAL, "secret of %zu bytes", nbytes);
	rc = fz_random_b64url(nbytes, buf, sizeof(buf), err);
	if (rc != FZ_OK)
		return rc;
	*value = fz_arena_strdup(a, buf);
	if (hash != NULL) {
		fz_digest(buf, strlen(buf), &d);
		*hash = fz_arena_strdup(a, d.s);
	}
	if (*value == NULL || (hash != NULL && *hash == NULL))
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

fz_code fz_as_scope_check(const char *scope, fz_err *err)
{
	const char *p = scope, *end;
	size_t n = strlen(FZ_AS_SCOPE_MAIL);

	if (scope == NULL)
		return FZ_OK;
	while (*p != '\0') {
		end = strchr(p, ' ');
		if (end == NULL)
			end = p + strlen(p);
		if (end != p && ((size_t)(end - p) != n || memcmp(p, FZ_AS_SCOPE_MAIL, n) != 0))
			return fz_fail_http(err, FZ_EDENIED, 400, "invalid_scope",
					    "only scope " FZ_AS_SCOPE_MAIL " exists");
		p = *end ? end + 1 : end;
	}
	return FZ_OK;
}

fz_code fz_as_issue_mint(fz_as_token_req *tr, const fz_as_issue *is,
			 fz_as_issued *out, fz_err *err)
{
	fz_as_access_token t = {
		.sub = is->address,
		.email = is->address,
		.aud = is->audience,
		.scope = is->scope,
		.client_id = is->client_id,
		.jkt = is->jkt,
	};
	fz_as_minted m = {0};
	fz_code rc;

	memset(out, 0, sizeof(*out));
	if (is->audience == NULL)
		return fz_fail_http(err, FZ_EDENIED, 400, "unauthorized_client",
				    "the client has no audience registered for its access tokens");
	rc = fz_as_mint_access_token(tr->as, &t, &m, err);
	if (rc != FZ_OK)
		return rc;
	/* Into the arena at once: no path below can leak the malloc'd copy. */
	out->access_token = fz_arena_strdup(tr->http->arena, m.jwt);
	out->jti = fz_arena_strdup(tr->http->arena, m.jti);
	out->expires_in = m.exp - m.iat;
	fz_as_minted_clear(&m);
	if (out->access_token == NULL || out->jti == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

fz_code fz_as_issue_respond(fz_as_token_req *tr, const fz_as_issue *is,
			    const fz_as_issued *at, fz_err *err)
{
	json_t *body = json_pack("{s:s,s:s,s:I,s:s,s:s}",
				 "access_token", at->access_token,
				 "token_type", is->jkt ? "DPoP" : "Bearer",
				 "expires_in", (json_int_t)at->expires_in,
				 "refresh_token", is->refresh_token,
				 "scope", is->scope);
	fz_code rc = fz_http_add_header(tr->http, "Pragma", "no-cache", err);

	if (rc != FZ_OK) {
		json_decref(body);
		return rc;
	}
	/* respond_json takes body on every path and sets no-store. */
	return fz_http_respond_json(tr->http, 200, body, err);
}
