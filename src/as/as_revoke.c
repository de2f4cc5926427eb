/*
 * as_revoke.c - POST /revoke (RFC 7009): a client revokes one of its
 * refresh tokens, and with it the token's whole family
 * (fz_as_store_refresh_revoke), which is what "sign out" of the webmail
 * means. Called from the browser, so it speaks CORS like /token.
 *
 *   - The client authenticates as at /token (a public client names
 *     itself with client_id).
 *   - An unknown or already revoked token is 200: the client's goal is
 *     reached, and the answer tells a prober nothing (§2.2).
 *   - A refresh token of another client is refused, 400 invalid_grant
 *     (§2.1: the server "verifies whether the token was issued to the
 *     client making the revocation request").
 *   - Access tokens are JWTs checked by resource servers on their own,
 *     without asking the AS; revoking one here could not stop it, so we
 *     say so: 400 unsupported_token_type (§2.2.1). They live at most
 *     tokens.access_ttl (15 minutes); revoking the refresh family ends
 *     the session within that time.
 *
 * token_type_hint is optional and only a hint (§2.1): we look the token
 * up as a refresh token whatever it says.
 */
#include <string.h>
#include <strings.h>

#include "as_client_auth.h"
#include "as_grants.h"
#include "as_http.h"
#include "digest.h"

/* A compact JWS: three base64url parts, two dots. What we issue as
 * access tokens looks so; our refresh tokens never do. */
static bool looks_like_jwt(const char *t)
{
	const char *p;
	int dots = 0;

	for (p = t; *p != '\0'; p++) {
		if (*p == '.')
			dots++;
		else if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			   (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	}
	return dots == 2;
}

static fz_code revoke(fz_as *as, fz_http_req *req, fz_err *err)
{
	fz_as_token_req tr = {.as = as, .http = req, .now = fz_as_now(as)};
	fz_as_client client;
	fz_digest_str hash;
	const char *token, *hint;
	fz_form form;
	fz_code rc = fz_http_req_form(req, &form, err);

	if (rc == FZ_OK)
		rc = fz_form_require_unique(&form, err);
	if (rc != FZ_OK)
		return rc;
	tr.form = &form;
	if ((rc = fz_as_client_authenticate(as, req, &form, tr.now, &client, err)) ||
	    (rc = fz_as_token_param(&tr, "token", true, &token, err)) ||
	    (rc = fz_as_token_param(&tr, "token_type_hint", false, &hint, err)))
		return rc;
	if (looks_like_jwt(token))
		return fz_fail_http(err, FZ_EDENIED, 400, "unsupported_token_type",
				    "access tokens are not revocable; they expire on their own");
	fz_digest(token, strlen(token), &hash);
	rc = fz_as_store_refresh_revoke(as->store, hash.s, client.client_id, err);
	if (rc == FZ_ENOTFOUND) {
		fz_err_clear(err);
		rc = FZ_OK;
	} else if (rc == FZ_EDENIED) {
		return fz_fail_http(err, FZ_EDENIED, 400, "invalid_grant",
				    "the token was issued to another client");
	}
	if (rc != FZ_OK)
		return rc;
	return fz_http_respond_empty(req, 200, err);
}

/* RFC 6749 §5.2, as at /token: a client that failed with HTTP Basic
 * hears which scheme to use. */
static const char *challenge(fz_http_req *req, const fz_err *e)
{
	const char *auth = fz_http_req_header(req, "Authorization");

	if (e->status == 401 && e->oauth != NULL &&
	    strcmp(e->oauth, "invalid_client") == 0 && auth != NULL &&
	    strncasecmp(auth, "Basic ", 6) == 0)
		return "Basic realm=\"revoke\"";
	return NULL;
}

static fz_code h_revoke(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_as *as = ctx;
	fz_code rc = fz_as_cors(as, req, err);

	if (rc == FZ_OK)
		rc = revoke(as, req, err);
	if (rc == FZ_OK)
		return FZ_OK;
	fz_http_respond_error(req, err, challenge(req, err));
	return rc;
}

fz_code fz_as_revoke_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	fz_code rc = fz_http_server_add(srv, "POST", FZ_AS_PATH_REVOKE, h_revoke, as, err);

	if (rc == FZ_OK)
		rc = fz_http_server_add(srv, "OPTIONS", FZ_AS_PATH_REVOKE,
					fz_as_cors_preflight, as, err);
	return rc;
}
