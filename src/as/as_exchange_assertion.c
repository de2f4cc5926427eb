/*
 * as_exchange_assertion.c - the two exchanges that end in a JWT
 * assertion, the AS's signature over a hop of the envelope (the DKIM
 * signature of Federizer):
 *
 *   send     access token -> assertion (SPEC §7.2-7.3): the MBX's user
 *            vouched for by their own access token, the assertion's sub
 *            is the From address, which must be the token's email;
 *   forward  assertion -> assertion (SPEC §9): the subject assertion may
 *            be foreign; the new one's sub is the Forwarded-From address,
 *            a user of ours whose forwarding policy allows it.
 *
 * Both sign eh = {eht, ehl} over the `headers` parameter, bind the
 * assertion to the MTA's DPoP key (cnf.jkt) and name the MTA in azp.
 */
#include "as_exchange.h"

#include <string.h>

#include "as_tokens.h"
#include "envelope.h"

/* The string value of entry i of a block fz_xchg_headers_parse made. */
static const char *value_at(const json_t *block, size_t i)
{
	json_t *o = json_array_get(block, i);

	return json_string_value(json_object_iter_value(json_object_iter(o)));
}

/* Two base URLs name the same thing when they differ at most by a final
 * "/": admin takes both spellings. */
static bool same_base(const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);

	if (na > 0 && a[na - 1] == '/')
		na--;
	if (nb > 0 && b[nb - 1] == '/')
		nb--;
	return na == nb && strncmp(a, b, na) == 0;
}

static fz_code parse_headers(fz_xchg *x, const char *const *names,
			     const json_t **block, fz_err *err)
{
	json_t *b = NULL;
	fz_code rc = fz_xchg_headers_parse(x->headers, strlen(x->headers), names,
					   FZ_XCHG_NHEADERS, FZ_LIMIT_HEADER_VALUE_BYTES,
					   &b, err);

	if (rc != FZ_OK)
		return rc;
	*block = fz_arena_own_json(x->tr->http->arena, b);
	return *block != NULL ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

/* Signs the assertion for sub over block; exp_cap (> 0) keeps it from
 * outliving the assertion it was exchanged for. */
static fz_code mint(fz_xchg *x, const char *sub, const json_t *block,
		    int64_t exp_cap, fz_xchg_issued *out, fz_err *err)
{
	fz_as *as = x->tr->as;
	char jti[FZ_JTI_LEN + 1];
	json_t *eh = NULL, *claims = NULL;
	fz_xchg_assertion a = {
		.iss = as->cfg->issuer, .sub = sub, .azp = x->client.client_id,
		.jti = jti, .jkt = &x->jkt, .iat = x->tr->now,
	};
	fz_code rc = fz_jwt_new_jti(jti, err);

	a.exp = fz_time_add(a.iat, (int64_t)as->cfg->tokens.assertion_ttl);
	if (exp_cap > 0 && a.exp > exp_cap)
		a.exp = exp_cap;
	if (rc == FZ_OK)
		rc = fz_xchg_eh(block, &eh, err);
	a.eh = eh;
	if (rc == FZ_OK)
		rc = fz_xchg_assertion_claims(&a, &claims, err);
	if (rc == FZ_OK)
		rc = fz_as_sign_jwt(as, FZ_XCHG_ASSERTION_TYP, claims, &out->token, err);
	json_decref(eh);
	json_decref(claims);
	if (rc != FZ_OK)
		return rc;
	out->issued_token_type = FZ_TOKEN_TYPE_JWT;
	out->token_type = "N_A"; /* RFC 8693 §2.2.1: not an access token */
	out->expires_in = a.exp - a.iat;
	return FZ_OK;
}

/* --- send ---------------------------------------------------------------- */

/* SPEC §7.3: the exchanging client is the MTA sibling of the MBX the
 * access token was issued for. */
static fz_code check_sibling(const fz_xchg *x, const json_t *at, fz_err *err)
{
	const json_t *aud = json_object_get(at, "aud");

	if (json_is_array(aud) && json_array_size(aud) == 1)
		aud = json_array_get(aud, 0);
	if (!json_is_string(aud) || !same_base(json_string_value(aud), x->client.sibling_of))
		return fz_fail_http(err, FZ_EDENIED, 400, "unauthorized_client",
				    "client %s is not the MTA of the mailbox the subject "
				    "token was issued for", x->client.client_id);
	return FZ_OK;
}

/* From is the token's email (domain without case), and the Message-ID
 * is of the From domain (SPEC §3). */
static fz_code check_from(const json_t *at, const json_t *block,
			  char from[FZ_AS_ADDRESS_MAX + 1], fz_err *err)
{
	char email_dom[FZ_DOMAIN_MAX + 1], from_dom[FZ_DOMAIN_MAX + 1];
	char mid_dom[FZ_DOMAIN_MAX + 1];
	const char *email = fz_jwt_str(at, "email");
	size_t local;
	fz_code rc;

	if ((rc = fz_xchg_one_address("From", value_at(block, 1), from, err)) ||
	    (rc = fz_xchg_address_domain(from, from_dom, err)) ||
	    (rc = fz_xchg_msgid_domain(value_at(block, 0), mid_dom, err)))
		return rc;
	local = (size_t)(strrchr(from, '@') - from);
	if (fz_xchg_address_domain(email, email_dom, NULL) != FZ_OK ||
	    strncmp(email, from, local + 1) != 0 || strcmp(email_dom, from_dom) != 0)
		return fz_fail_http(err, FZ_EDENIED, 400, "invalid_request",
				    "From is not the address of the subject token's user");
	if (strcmp(mid_dom, from_dom) != 0)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "Message-ID domain %s is not the From domain %s",
				    mid_dom, from_dom);
	return FZ_OK;
}

fz_code fz_xchg_send(fz_xchg *x, fz_xchg_issued *out, fz_err *err)
{
	fz_as_token_req *tr = x->tr;
	char from[FZ_AS_ADDRESS_MAX + 1];
	const json_t *at = NULL, *block = NULL;
	fz_code rc;

	if ((rc = fz_xchg_verify_access_token(tr->as, tr->http->arena,
					      x->subject_token, tr->now, &at, err)) ||
	    (rc = check_sibling(x, at, err)) ||
	    (rc = parse_headers(x, fz_xchg_send_headers, &block, err)) ||
	    (rc = check_from(at, block, from, err)) ||
	    (rc = fz_xchg_check_digest_header("Recipients-Digest", value_at(block, 2), err)) ||
	    (rc = fz_xchg_check_digest_header("Body-Digest", value_at(block, 3), err)))
		return rc;
	return mint(x, from, block, 0, out, err);
}

/* --- forward ------------------------------------------------------------- */

/* SPEC §9: Forwarded-From is a user of ours whose policy allows it. */
static fz_code check_forwarder(fz_xchg *x, const char *ff, fz_err *err)
{
	fz_as *as = x->tr->as;
	char dom[FZ_DOMAIN_MAX + 1];
	fz_as_user u;
	fz_err ferr = {0};
	fz_code rc = fz_xchg_address_domain(ff, dom, err);

	if (rc != FZ_OK)
		return rc;
	if (!fz_as_config_has_domain(as->cfg, dom, strlen(dom)))
		return fz_fail_http(err, FZ_EDENIED, 400, "invalid_request",
				    "Forwarded-From %s is not of a domain this AS serves", ff);
	rc = fz_as_store_user_find(as->store, x->tr->http->arena, ff, &u, &ferr);
	if (rc == FZ_ENOTFOUND)
		return fz_fail_http(err, FZ_EDENIED, 400, "invalid_request",
				    "Forwarded-From %s is not a user of this AS", ff);
	if (rc != FZ_OK) {
		*err = ferr;
		return rc;
	}
	if (!u.forwarding)
		return fz_fail_http(err, FZ_EDENIED, 400, "invalid_request",
				    "the forwarding policy of %s does not allow forwarding", ff);
	return FZ_OK;
}

/* JWT-Assertion-Digest binds this hop to the assertion it received. */
static fz_code check_jad(const fz_xchg *x, const json_t *block, fz_err *err)
{
	char want[FZ_DIGEST_HDR_SIZE];
	fz_code rc = fz_envelope_jws_digest(x->subject_token, strlen(x->subject_token),
					    want, err);

	if (rc != FZ_OK)
		return fz_fail_http(err, rc, 400, "invalid_request",
				    "subject_token is not a compact JWS");
	if (strcmp(value_at(block, 3), want) != 0)
		return fz_fail_http(err, FZ_ECLAIM, 400, "invalid_request",
				    "JWT-Assertion-Digest is not the digest of subject_token");
	return FZ_OK;
}

/* On the origin hop the subject's sub is the From address, so the
 * Message-ID must be of its domain (SPEC §3). A later hop's sub is a
 * forwarder; the origin MBX checks the chain (SPEC §9). */
static fz_code check_msgid(const json_t *sa, const char *value, fz_err *err)
{
	char mid_dom[FZ_DOMAIN_MAX + 1], sub_dom[FZ_DOMAIN_MAX + 1];
	fz_code rc = fz_xchg_msgid_domain(value, mid_dom, err);

	if (rc != FZ_OK || !fz_xchg_assertion_is_origin(sa))
		return rc;
	rc = fz_xchg_address_domain(fz_jwt_str(sa, "sub"), sub_dom, err);
	if (rc == FZ_OK && strcmp(mid_dom, sub_dom) != 0)
		rc = fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				  "Message-ID domain %s is not the origin sender's domain %s",
				  mid_dom, sub_dom);
	return rc;
}

fz_code fz_xchg_forward(fz_xchg *x, fz_xchg_issued *out, fz_err *err)
{
	fz_as_token_req *tr = x->tr;
	char ff[FZ_AS_ADDRESS_MAX + 1];
	const json_t *sa = NULL, *block = NULL;
	int64_t exp = 0;
	fz_code rc;

	/* Cheap and local first; the subject may need DNS and HTTPS. */
	if ((rc = parse_headers(x, fz_xchg_forward_headers, &block, err)) ||
	    (rc = check_jad(x, block, err)) ||
	    (rc = fz_xchg_check_digest_header("Recipients-Digest", value_at(block, 2), err)) ||
	    (rc = fz_xchg_one_address("Forwarded-From", value_at(block, 1), ff, err)) ||
	    (rc = check_forwarder(x, ff, err)) ||
	    (rc = fz_xchg_verify_assertion(tr->as, tr->http->arena, x->subject_token,
					   tr->now, &sa, err)) ||
	    (rc = check_msgid(sa, value_at(block, 0), err)) ||
	    (rc = fz_jwt_int(sa, "exp", &exp, err)))
		return rc;
	return mint(x, ff, block, exp, out, err);
}
