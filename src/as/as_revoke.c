/*
 * as_revoke.c - POST /revoke (RFC 7009): a client revokes one of its
 * refresh tokens, and with it the token's family
 * (fz_as_store_refresh_revoke); an unknown token is still 200. Called
 * by the webmail from the browser, so it speaks CORS like /token.
 *
 * Not built yet: answers 501 until the work that owns it lands.
 */
#include "as_http.h"

static fz_code h_revoke(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_code rc = fz_as_cors(ctx, req, err);

	if (rc != FZ_OK)
		return rc;
	return fz_as_respond_not_implemented(req, err);
}

fz_code fz_as_revoke_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	fz_code rc = fz_http_server_add(srv, "POST", FZ_AS_PATH_REVOKE, h_revoke, as, err);

	if (rc == FZ_OK)
		rc = fz_http_server_add(srv, "OPTIONS", FZ_AS_PATH_REVOKE,
					fz_as_cors_preflight, as, err);
	return rc;
}
