/*
 * as_token.c - POST /token: the one door to every grant. It checks what
 * all grants share (a form body, no repeated parameter, a grant_type we
 * know), adds CORS for the webmail, and hands the request to the grant's
 * function (as_grants.h). A grant_type we do not know is 400
 * unsupported_grant_type (RFC 6749 §5.2).
 */
#include <string.h>
#include <strings.h>

#include "as_grants.h"
#include "as_http.h"

static const struct {
	const char *name;
	fz_as_grant_fn fn;
} grants[] = {
	{FZ_GRANT_AUTHORIZATION_CODE, fz_as_grant_authorization_code},
	{FZ_GRANT_REFRESH_TOKEN, fz_as_grant_refresh_token},
	{FZ_GRANT_TOKEN_EXCHANGE, fz_as_grant_token_exchange},
};

fz_code fz_as_token_param(const fz_as_token_req *tr, const char *name,
			  bool required, const char **value, fz_err *err)
{
	fz_code rc = fz_form_get_one(tr->form, name, value, err);

	if (rc != FZ_OK)
		return rc;
	if (*value == NULL && required)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "missing parameter %s", name);
	if (*value != NULL && strlen(*value) > tr->as->cfg->limits.max_param_bytes) {
		*value = NULL;
		return fz_fail_http(err, FZ_ELIMIT, 400, "invalid_request",
				    "parameter %s is longer than %llu bytes", name,
				    (unsigned long long)tr->as->cfg->limits.max_param_bytes);
	}
	return FZ_OK;
}

static fz_as_grant_fn find_grant(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(grants) / sizeof(grants[0]); i++)
		if (strcmp(grants[i].name, name) == 0)
			return grants[i].fn;
	return NULL;
}

/* RFC 6749 §5.2: a client that tried HTTP Basic and failed hears which
 * scheme to use. */
static const char *challenge(fz_http_req *req, const fz_err *e)
{
	const char *auth = fz_http_req_header(req, "Authorization");

	if (e->status == 401 && e->oauth != NULL &&
	    strcmp(e->oauth, "invalid_client") == 0 && auth != NULL &&
	    strncasecmp(auth, "Basic ", 6) == 0)
		return "Basic realm=\"token\"";
	return NULL;
}

static fz_code dispatch(fz_as *as, fz_http_req *req, fz_err *err)
{
	fz_as_token_req tr = {.as = as, .http = req};
	fz_form form;
	fz_as_grant_fn fn;
	fz_code rc = fz_http_req_form(req, &form, err);

	if (rc == FZ_OK)
		rc = fz_form_require_unique(&form, err);
	if (rc != FZ_OK)
		return rc;
	tr.form = &form;
	tr.now = fz_as_now(as);
	rc = fz_as_token_param(&tr, "grant_type", true, &tr.grant_type, err);
	if (rc != FZ_OK)
		return rc;
	fn = find_grant(tr.grant_type);
	if (fn == NULL)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "unsupported_grant_type",
				    "grant_type %.64s is not supported", tr.grant_type);
	return fn(&tr, err);
}

static fz_code h_token(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_as *as = ctx;
	fz_code rc = fz_as_cors(as, req, err);

	if (rc == FZ_OK)
		rc = dispatch(as, req, err);
	if (rc == FZ_OK)
		return FZ_OK;
	/* The grant may have answered before failing on a later step;
	 * then the response stands (respond_error fails harmlessly). */
	fz_http_respond_error(req, err, challenge(req, err));
	return rc;
}

fz_code fz_as_token_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	fz_code rc = fz_http_server_add(srv, "POST", FZ_AS_PATH_TOKEN, h_token, as, err);

	if (rc == FZ_OK)
		rc = fz_http_server_add(srv, "OPTIONS", FZ_AS_PATH_TOKEN,
					fz_as_cors_preflight, as, err);
	return rc;
}
