/*
 * as_metadata.c - what the AS tells the world about itself: RFC 8414
 * metadata at /.well-known/oauth-authorization-server (SPEC §5, §12) and
 * the public keys at /jwks. Other domains find both through DNS and check
 * every token we sign against them, so the metadata says exactly what is
 * implemented and the JWKS holds every key a live token may name.
 */
#include <stdlib.h>
#include <string.h>

#include "as_http.h"

/* Seconds clients may cache the documents. Short: a rotated key must
 * reach other domains well within a reload interval. */
#define METADATA_MAX_AGE "max-age=300"
#define JWKS_MAX_AGE "max-age=60"

static json_t *strings(const char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

#define STRINGS(...) strings((const char *const[]){__VA_ARGS__}, \
	sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* The RFC 8414 §2 document. Built per request from read-only data: cheap,
 * and nothing cached to go stale. */
static json_t *metadata(const fz_as *as)
{
	return json_pack(
		"{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b}",
		"issuer", as->cfg->issuer,
		"authorization_endpoint", as->authorization_endpoint,
		"token_endpoint", as->token_endpoint,
		"revocation_endpoint", as->revocation_endpoint,
		"jwks_uri", as->jwks_uri,
		"response_types_supported", STRINGS("code"),
		"response_modes_supported", STRINGS("query"),
		"grant_types_supported",
		STRINGS("authorization_code", "refresh_token",
			"urn:ietf:params:oauth:grant-type:token-exchange"),
		"code_challenge_methods_supported", STRINGS("S256"),
		"token_endpoint_auth_methods_supported",
		STRINGS("private_key_jwt", "client_secret_basic", "none"),
		"token_endpoint_auth_signing_alg_values_supported", STRINGS("ES256", "RS256"),
		"revocation_endpoint_auth_methods_supported",
		STRINGS("private_key_jwt", "client_secret_basic", "none"),
		"revocation_endpoint_auth_signing_alg_values_supported",
		STRINGS("ES256", "RS256"),
		"dpop_signing_alg_values_supported", STRINGS("ES256", "RS256"),
		"scopes_supported", STRINGS(FZ_AS_SCOPE_MAIL),
		/* RFC 9207: /authorize adds iss to its redirect. */
		"authorization_response_iss_parameter_supported", 1);
}

static fz_code h_metadata(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_code rc = fz_http_add_header(req, "Cache-Control", METADATA_MAX_AGE, err);

	if (rc != FZ_OK)
		return rc;
	/* Discovery may run in a browser too (the webmail). */
	rc = fz_http_add_header(req, "Access-Control-Allow-Origin", "*", err);
	if (rc != FZ_OK)
		return rc;
	return fz_http_respond_json(req, 200, metadata(ctx), err);
}

static fz_code h_jwks(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_as *as = ctx;
	fz_as_keysnap *s = fz_as_keys_get(as->keys);
	const char *jwks;
	size_t n;
	fz_code rc;

	jwks = fz_as_keysnap_jwks(s, &n);
	rc = fz_http_add_header(req, "Cache-Control", JWKS_MAX_AGE, err);
	if (rc == FZ_OK)
		rc = fz_http_add_header(req, "Access-Control-Allow-Origin", "*", err);
	if (rc == FZ_OK)
		rc = fz_http_respond_bytes(req, 200, "application/json", jwks, n, err);
	fz_as_keys_put(as->keys, s);
	return rc;
}

fz_code fz_as_metadata_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	fz_code rc = fz_http_server_add(srv, "GET", FZ_AS_PATH_METADATA, h_metadata,
					as, err);

	if (rc == FZ_OK)
		rc = fz_http_server_add(srv, "GET", FZ_AS_PATH_JWKS, h_jwks, as, err);
	return rc;
}
