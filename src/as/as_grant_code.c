/*
 * as_grant_code.c - the authorization_code grant (RFC 6749 §4.1.3, RFC
 * 7636 §4.6, SPEC §6): a public client redeems a code with its PKCE
 * verifier and a DPoP proof for an access token and a refresh token.
 *
 * Not built yet: answers 501 until the work that owns it lands.
 */
#include "as_grants.h"
#include "as_http.h"

fz_code fz_as_grant_authorization_code(fz_as_token_req *tr, fz_err *err)
{
	return fz_as_respond_not_implemented(tr->http, err);
}
