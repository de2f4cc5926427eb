/*
 * as_grant_refresh.c - the refresh_token grant (RFC 6749 §6, SPEC §6):
 * rotates the refresh token on every use (fz_as_store_refresh_rotate) and
 * mints a fresh access token; a reused token revokes its family.
 *
 * Not built yet: answers 501 until the work that owns it lands.
 */
#include "as_grants.h"
#include "as_http.h"

fz_code fz_as_grant_refresh_token(fz_as_token_req *tr, fz_err *err)
{
	return fz_as_respond_not_implemented(tr->http, err);
}
