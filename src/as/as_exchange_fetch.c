/*
 * as_exchange_fetch.c - assertion -> DPoP-bound access token, for the
 * recipient's MTA to fetch resources from the origin MBX (SPEC §8.1-8.2).
 *
 * What this AS can check: the assertion is genuine (issuer named by DNS
 * for its sub's domain, signature, exp, typ, shape), the Message-ID is
 * well formed and, for an origin assertion, of the sender's domain, and
 * the audience is an https base URL. What it cannot: the assertion is
 * bound to the sender MTA's key, not ours, and it hides the recipients,
 * so whether this domain may fetch is for the origin MBX, which holds
 * the message and walks the whole chain (SPEC §8.3, §9).
 *
 * The token: iss us, sub and azp and client_id the requesting MTA (the
 * party that acts; RFC 9068 §2.2 names the client when no user does),
 * aud the origin MBX, message_id, cnf.jkt, and an exp within fetch_ttl
 * that never outlives the assertion.
 */
#include "as_exchange.h"

#include <string.h>

#include "as_admin.h"
#include "as_tokens.h"

static fz_code check_audience(const char *aud, fz_err *err)
{
	fz_err why = {0};

	if (fz_as_admin_check_base_url("audience", aud, &why) != FZ_OK)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_target", "%s", why.msg);
	return FZ_OK;
}

/* For an origin assertion (its ehl names From) sub is the sender, whose
 * domain the Message-ID must be of (SPEC §3). */
static fz_code check_origin(const json_t *sa, const char *mid_dom, fz_err *err)
{
	char sub_dom[FZ_DOMAIN_MAX + 1];
	fz_code rc;

	if (!fz_xchg_assertion_is_origin(sa))
		return FZ_OK;
	rc = fz_xchg_address_domain(fz_jwt_str(sa, "sub"), sub_dom, err);
	if (rc == FZ_OK && strcmp(mid_dom, sub_dom) != 0)
		rc = fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				  "message_id domain %s is not the sender's domain %s",
				  mid_dom, sub_dom);
	return rc;
}

/* fetch_ttl, cut to what is left of the assertion. */
static fz_code lifetime(const fz_xchg *x, const json_t *sa, int64_t *ttl,
			fz_err *err)
{
	int64_t exp = 0;
	fz_code rc = fz_jwt_int(sa, "exp", &exp, err);

	if (rc != FZ_OK)
		return rc;
	*ttl = (int64_t)x->tr->as->cfg->tokens.fetch_ttl;
	if (exp - x->tr->now < *ttl)
		*ttl = exp - x->tr->now;
	if (*ttl <= 0)
		return fz_fail_http(err, FZ_ECLAIM, 400, "invalid_request",
				    "subject assertion has expired");
	return FZ_OK;
}

fz_code fz_xchg_fetch(fz_xchg *x, fz_xchg_issued *out, fz_err *err)
{
	fz_as_token_req *tr = x->tr;
	const json_t *sa = NULL;
	fz_as_access_token t = {
		.sub = x->client.client_id, .aud = x->audience, .scope = x->scope,
		.client_id = x->client.client_id, .azp = x->client.client_id,
		.jkt = &x->jkt,
	};
	char mid_dom[FZ_DOMAIN_MAX + 1];
	fz_as_minted m;
	json_t *extra;
	fz_code rc;

	if ((rc = check_audience(x->audience, err)) ||
	    (rc = fz_xchg_msgid_domain(x->message_id, mid_dom, err)) ||
	    (rc = fz_xchg_verify_assertion(tr->as, tr->http->arena, x->subject_token,
					   tr->now, &sa, err)) ||
	    (rc = check_origin(sa, mid_dom, err)) ||
	    (rc = lifetime(x, sa, &t.ttl, err)))
		return rc;
	extra = json_pack("{s:s}", "message_id", x->message_id);
	if (extra == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	t.extra = extra;
	rc = fz_as_mint_access_token(tr->as, &t, &m, err);
	json_decref(extra);
	if (rc != FZ_OK)
		return rc;
	out->token = m.jwt; /* ownership moves to out */
	out->issued_token_type = FZ_TOKEN_TYPE_ACCESS;
	out->token_type = "DPoP";
	out->expires_in = m.exp - m.iat;
	return FZ_OK;
}
