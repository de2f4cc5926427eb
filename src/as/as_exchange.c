/*
 * as_exchange.c - RFC 8693 token exchange, the three cases of SPEC §7.2,
 * §9 and §8.1: access token to JWT assertion, assertion to assertion for
 * forwarding, assertion to a DPoP-bound access token for fetching.
 *
 * Not built yet: answers 501 until the work that owns it lands.
 */
#include "as_grants.h"
#include "as_http.h"

fz_code fz_as_grant_token_exchange(fz_as_token_req *tr, fz_err *err)
{
	return fz_as_respond_not_implemented(tr->http, err);
}
