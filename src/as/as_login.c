/*
 * as_login.c - /login, the password form (SPEC §6, §12): GET shows it,
 * POST checks `username` (the full address) and `password` with
 * Argon2id (as_password.h), a CSRF token, and the failure throttles per
 * account and per client address (fz_as_store_login_*), then returns to
 * /authorize.
 *
 * Not built yet: answers 501 until the work that owns it lands.
 */
#include "as_http.h"

static fz_code h_login(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_as_respond_not_implemented(req, err);
}

fz_code fz_as_login_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	fz_code rc = fz_http_server_add(srv, "GET", FZ_AS_PATH_LOGIN, h_login, as, err);

	if (rc == FZ_OK)
		rc = fz_http_server_add(srv, "POST", FZ_AS_PATH_LOGIN, h_login, as, err);
	return rc;
}
