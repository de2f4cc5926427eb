/*
 * oauth_client.c - token requests of the MTA (oauth_client.h): the form,
 * the client assertion, the DPoP proof and one retry with the AS's nonce;
 * oauth_token.c reads the answer.
 */
#include "oauth_client.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpop.h"
#include "jose.h"
#include "jws.h"
#include "oauth_token.h"

/* --- the form -------------------------------------------------------------- */

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encodes s (every byte but the unreserved ones) at out[*at..). */
static void encode(const char *s, char *out, size_t *at)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (unreserved(*p)) {
			out[(*at)++] = (char)*p;
			continue;
		}
		out[(*at)++] = '%';
		out[(*at)++] = hex[*p >> 4];
		out[(*at)++] = hex[*p & 15];
	}
}

fz_code fz_oauth_form_encode(fz_arena *a, const fz_oauth_param *params,
			     size_t nparams, const char **out, size_t *len,
			     fz_err *err)
{
	size_t i, cap = 1, at = 0;
	char *buf;

	/* Three bytes per input byte at worst, plus '=' and '&'. */
	for (i = 0; i < nparams; i++)
		cap += 3 * (strlen(params[i].name) + strlen(params[i].value)) + 2;
	if ((buf = fz_arena_alloc(a, cap)) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	for (i = 0; i < nparams; i++) {
		if (i > 0)
			buf[at++] = '&';
		encode(params[i].name, buf, &at);
		buf[at++] = '=';
		encode(params[i].value, buf, &at);
	}
	buf[at] = '\0';
	*out = buf;
	*len = at;
	return FZ_OK;
}

/* --- client authentication (RFC 7523 §2.2, §3) ------------------------------ */

fz_code fz_oauth_client_assertion(const fz_oauth_client *oc, int64_t now,
				  char **out, fz_err *err)
{
	char jti[FZ_JTI_LEN + 1];
	int64_t ttl = oc->assertion_ttl > 0 ? oc->assertion_ttl : FZ_OAUTH_ASSERTION_TTL_DEFAULT;
	json_t *claims;
	fz_code rc = fz_random_b64url(FZ_JTI_BYTES, jti, sizeof(jti), err);

	*out = NULL;
	if (rc != FZ_OK)
		return rc;
	/* aud is the token endpoint, RFC 7523 §3's first choice; the AS
	 * takes its issuer too, but the endpoint names the one place the
	 * assertion is for. */
	claims = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "iss", oc->client_id, "sub",
			   oc->client_id, "aud", oc->token_endpoint, "jti", jti, "iat",
			   (json_int_t)now, "exp", (json_int_t)fz_time_add(now, ttl));
	if (claims == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = fz_jws_sign(oc->client_key, "JWT", NULL, claims, out, err);
	json_decref(claims);
	return rc;
}

/* --- the request --------------------------------------------------------------- */

static fz_code post(const fz_oauth_client *oc, fz_http_client *http, fz_arena *a,
		    const char *form, size_t len, const char *nonce, int64_t now,
		    fz_http_client_resp *resp, fz_err *err)
{
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_header h[3] = {
		{"Content-Type", "application/x-www-form-urlencoded"},
		{"Accept", "application/json"},
		{"DPoP", NULL},
	};
	char *proof = NULL;
	fz_code rc = fz_dpop_make(oc->dpop_key, "POST", oc->token_endpoint, NULL, nonce, now,
				  &proof, err);

	if (rc != FZ_OK)
		return rc;
	h[2].value = proof;
	rq.method = "POST";
	rq.url = oc->token_endpoint;
	rq.headers = h;
	rq.nheaders = 3;
	rq.body = form;
	rq.body_len = len;
	if (oc->resolve != NULL) {
		rq.resolve = &oc->resolve;
		rq.nresolve = 1;
	}
	rc = fz_http_client_request(http, a, &rq, resp, err);
	free(proof);
	if (rc != FZ_OK)
		fz_err_prefix(err, "token endpoint %s", oc->token_endpoint);
	return rc;
}

/* grant_type, the caller's params, then the client authentication. */
static fz_code build_form(const fz_oauth_client *oc, fz_arena *a,
			  const char *grant_type, const fz_oauth_param *params,
			  size_t nparams, const char *assertion, const char **form,
			  size_t *len, fz_err *err)
{
	fz_oauth_param all[FZ_OAUTH_MAX_PARAMS + 4];
	size_t n = 0, i;

	if (nparams > FZ_OAUTH_MAX_PARAMS)
		return fz_fail(err, FZ_ELIMIT, "more than %d token request parameters",
			       FZ_OAUTH_MAX_PARAMS);
	all[n++] = (fz_oauth_param){"grant_type", grant_type};
	for (i = 0; i < nparams; i++)
		all[n++] = params[i];
	all[n++] = (fz_oauth_param){"client_id", oc->client_id};
	all[n++] = (fz_oauth_param){"client_assertion_type", FZ_OAUTH_ASSERTION_TYPE};
	all[n++] = (fz_oauth_param){"client_assertion", assertion};
	return fz_oauth_form_encode(a, all, n, form, len, err);
}

/* One attempt with a fresh assertion (its jti is spent by the first). */
static fz_code attempt(const fz_oauth_client *oc, fz_http_client *http, fz_arena *a,
		       const char *grant_type, const fz_oauth_param *params,
		       size_t nparams, const char *nonce, int64_t now,
		       fz_http_client_resp *resp, fz_err *err)
{
	char *assertion = NULL;
	const char *form;
	size_t len;
	fz_code rc = fz_oauth_client_assertion(oc, now, &assertion, err);

	if (rc == FZ_OK)
		rc = build_form(oc, a, grant_type, params, nparams, assertion, &form, &len, err);
	if (rc == FZ_OK)
		rc = post(oc, http, a, form, len, nonce, now, resp, err);
	free(assertion);
	return rc;
}

fz_code fz_oauth_token_request(const fz_oauth_client *oc, fz_http_client *http,
			       fz_arena *a, const char *grant_type,
			       const fz_oauth_param *params, size_t nparams,
			       int64_t now, fz_oauth_token *out, fz_err *err)
{
	fz_http_client_resp resp;
	const char *nonce;
	char shown[FZ_DPOP_NONCE_MAX + 1];
	fz_code rc;

	memset(out, 0, sizeof(*out));
	if (oc->client_key == NULL || oc->dpop_key == NULL || oc->token_endpoint == NULL)
		return fz_fail(err, FZ_EINTERNAL, "OAuth client without keys or token endpoint");
	rc = attempt(oc, http, a, grant_type, params, nparams, NULL, now, &resp, err);
	if (rc != FZ_OK)
		return rc;
	/* RFC 9449 §8: the AS wants a nonce and sent one; ask once more. */
	nonce = fz_http_client_resp_header(&resp, "DPoP-Nonce");
	if (nonce != NULL && fz_oauth_wants_nonce(a, resp.status, resp.body, resp.body_len)) {
		if (strlen(nonce) > FZ_DPOP_NONCE_MAX)
			return fz_fail(err, FZ_ELIMIT, "DPoP-Nonce %s... is too long",
				       fz_jose_printable(nonce, shown, 16));
		rc = attempt(oc, http, a, grant_type, params, nparams, nonce, now, &resp, err);
		if (rc != FZ_OK)
			return rc;
	}
	return fz_oauth_token_read(a, resp.status, resp.body, resp.body_len, out, err);
}
