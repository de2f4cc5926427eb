/*
 * as_cors.c - Cross-Origin Resource Sharing for the endpoints the
 * webmail calls from the browser (/token, /revoke). The webmail lives on
 * its MBX's origin, another origin than the AS, and is registered as a
 * public client whose redirect URI is on that origin: exactly those
 * origins are allowed, nothing is a wildcard, no credentials (cookies)
 * are ever allowed cross-origin.
 */
#include <stdlib.h>
#include <string.h>

#include "as_http.h"

#define CORS_ALLOW_METHODS "POST"
#define CORS_ALLOW_HEADERS "Authorization, Content-Type, DPoP"
#define CORS_EXPOSE_HEADERS "DPoP-Nonce, WWW-Authenticate"
#define CORS_MAX_AGE "600" /* seconds a browser may reuse a preflight */

/* The request's Origin when it is one we allow, else NULL. */
static fz_code allowed_origin(fz_as *as, fz_http_req *req, const char **out,
			      fz_err *err)
{
	const char *origin = NULL;
	char *norm = NULL;
	bool ok = false;
	fz_err ignored = {0};
	fz_code rc = fz_http_req_header_one(req, "Origin", &origin, err);

	*out = NULL;
	if (rc != FZ_OK || origin == NULL || strcmp(origin, "null") == 0)
		return rc;
	/* Compare in our normal form (lowercase host, no default port); a
	 * malformed Origin is simply not allowed. */
	if (fz_as_origin_of(origin, &norm, &ignored) != FZ_OK)
		return FZ_OK;
	rc = fz_as_store_origin_allowed(as->store, norm, &ok, err);
	free(norm);
	if (rc == FZ_OK && ok)
		*out = origin;
	return rc;
}

fz_code fz_as_cors(fz_as *as, fz_http_req *req, fz_err *err)
{
	const char *origin;
	fz_code rc = fz_http_add_header(req, "Vary", "Origin", err);

	if (rc == FZ_OK)
		rc = allowed_origin(as, req, &origin, err);
	if (rc != FZ_OK || origin == NULL)
		return rc;
	rc = fz_http_add_header(req, "Access-Control-Allow-Origin", origin, err);
	if (rc == FZ_OK)
		rc = fz_http_add_header(req, "Access-Control-Expose-Headers",
					CORS_EXPOSE_HEADERS, err);
	return rc;
}

fz_code fz_as_cors_preflight(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_as *as = ctx;
	const char *origin;
	fz_code rc = fz_http_add_header(req, "Vary", "Origin", err);

	if (rc == FZ_OK)
		rc = allowed_origin(as, req, &origin, err);
	if (rc != FZ_OK)
		return rc;
	if (origin == NULL)
		return fz_fail(err, FZ_EDENIED, "origin not allowed");
	if ((rc = fz_http_add_header(req, "Access-Control-Allow-Origin", origin, err)) ||
	    (rc = fz_http_add_header(req, "Access-Control-Allow-Methods",
				     CORS_ALLOW_METHODS, err)) ||
	    (rc = fz_http_add_header(req, "Access-Control-Allow-Headers",
				     CORS_ALLOW_HEADERS, err)) ||
	    (rc = fz_http_add_header(req, "Access-Control-Max-Age", CORS_MAX_AGE, err)))
		return rc;
	return fz_http_respond_empty(req, 204, err);
}
