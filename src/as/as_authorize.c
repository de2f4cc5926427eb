/*
 * as_authorize.c - GET /authorize (RFC 6749 §4.1.1, RFC 7636 §4.3, SPEC
 * §6): checks client_id, the exact redirect_uri, response_type=code,
 * state, scope and an S256 code_challenge; sends an unauthenticated user
 * to /login, asks consent of a client not marked first-party, then
 * redirects with code, state and iss (RFC 9207, as the metadata says).
 *
 * Not built yet: answers 501 until the work that owns it lands.
 */
#include "as_http.h"

static fz_code h_authorize(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_as_respond_not_implemented(req, err);
}

fz_code fz_as_authorize_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	return fz_http_server_add(srv, "GET", FZ_AS_PATH_AUTHORIZE, h_authorize, as, err);
}
