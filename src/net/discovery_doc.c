/*
 * discovery_doc.c - a peer's discovery documents read strictly before any
 * of them is believed (discovery_doc.h): every URL is https, every
 * identifier names the base it was fetched under.
 */
#include "discovery_doc.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTTPS_PORT 443

static fz_code nomem(fz_err *err)
{
	return fz_fail(err, FZ_ENOMEM, "discovery: out of memory");
}

fz_code fz_disc_json_object(fz_arena *a, const char *url, const char *body, size_t len,
			    json_t **out, fz_err *err)
{
	json_error_t jerr;
	json_t *j;

	*out = NULL;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return fz_fail(err, FZ_ESTRUCT, "%s: not JSON: %s", url, jerr.text);
	if (fz_arena_own_json(a, j) == NULL)
		return nomem(err);
	if (!json_is_object(j))
		return fz_fail(err, FZ_ESTRUCT, "%s: not a JSON object", url);
	*out = j;
	return FZ_OK;
}

fz_code fz_disc_redirect_target(fz_arena *a, const char *base, const char *loc, fz_url *u,
				char **out, fz_err *err)
{
	const char *abs = loc, *slash;
	size_t plen;
	fz_code rc;

	if (loc == NULL || loc[0] == '\0')
		return fz_fail(err, FZ_ESTRUCT, "%s redirects without a Location", base);
	if (loc[0] == '/' && loc[1] != '/') /* base is "https://host[:port]/" */
		abs = fz_arena_printf(a, "%.*s%s", (int)strlen(base) - 1, base, loc);
	if (abs == NULL)
		return nomem(err);
	rc = fz_url_parse(abs, strlen(abs), u, err);
	if (rc != FZ_OK)
		return fz_err_prefix(err, "%s redirects to a bad URL: ", base);
	if (strcmp(u->scheme, "https") != 0)
		return fz_fail(err, FZ_EDENIED, "%s redirects to http (%.100s): refused", base,
			       loc);
	if (u->query != NULL || u->fragment != NULL)
		return fz_fail(err, FZ_ESTRUCT, "%s redirects to a URL with a query or fragment",
			       base);
	plen = strlen(u->path);
	slash = u->path[plen - 1] == '/' ? "" : "/";
	if (u->port == HTTPS_PORT)
		*out = fz_arena_printf(a, "https://%s%s%s", u->host, u->path, slash);
	else
		*out = fz_arena_printf(a, "https://%s:%u%s%s", u->host, (unsigned)u->port,
				       u->path, slash);
	return *out ? FZ_OK : nomem(err);
}

/* An https URL value v, named name in doc; NULL when absent and not
 * required. */
static fz_code url_value(const json_t *v, const char *doc, const char *name,
			 bool required, bool query_ok, const char **out, fz_err *err)
{
	const char *s;
	fz_url u;
	fz_code rc;

	*out = NULL;
	if (v == NULL && !required)
		return FZ_OK;
	if (!json_is_string(v))
		return fz_fail(err, FZ_ESTRUCT, "%s: %s is %s", doc, name,
			       v ? "not a string" : "missing");
	s = json_string_value(v);
	if (json_string_length(v) > FZ_URL_MAX || strlen(s) != json_string_length(v))
		return fz_fail(err, FZ_ESTRUCT, "%s: %s is not a URL", doc, name);
	rc = fz_url_parse(s, strlen(s), &u, err);
	if (rc != FZ_OK)
		return fz_err_prefix(err, "%s: %s: ", doc, name);
	if (strcmp(u.scheme, "https") != 0 || u.fragment != NULL ||
	    (!query_ok && u.query != NULL))
		rc = fz_fail(err, FZ_ESTRUCT, "%s: %s must be an https URL without %s", doc,
			     name, query_ok ? "fragment" : "query or fragment");
	fz_url_clear(&u);
	if (rc == FZ_OK)
		*out = s;
	return rc;
}

static fz_code member_url(const json_t *o, const char *doc, const char *name,
			  bool required, bool query_ok, const char **out, fz_err *err)
{
	return url_value(json_object_get(o, name), doc, name, required, query_ok, out, err);
}

/* RFC 8414 §3.3 / RFC 9728 §3.3: the identifier in the document is the
 * URL the document was fetched under; compared in normal form, a final
 * '/' ignored (a base always has one, an issuer often not). */
static bool names_base(const char *id, const char *base)
{
	char *a = NULL, *b = NULL;
	size_t la, lb;
	bool same = false;

	if (fz_url_htu(id, strlen(id), &a, NULL) == FZ_OK &&
	    fz_url_htu(base, strlen(base), &b, NULL) == FZ_OK) {
		la = strlen(a);
		lb = strlen(b);
		la -= la > 0 && a[la - 1] == '/';
		lb -= lb > 0 && b[lb - 1] == '/';
		same = la == lb && memcmp(a, b, la) == 0;
	}
	free(a);
	free(b);
	return same;
}

static bool dup(char **dst, const char *src)
{
	if (src == NULL)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

static fz_code svc_new(const char *base, const char *resolve, fz_disc_svc **out,
		       fz_err *err)
{
	fz_disc_svc *s = calloc(1, sizeof(*s));

	*out = s;
	if (s == NULL || !dup(&s->base_url, base) || !dup(&s->resolve, resolve))
		return nomem(err);
	return FZ_OK;
}

void fz_disc_svc_free(fz_disc_svc *s)
{
	size_t i;

	if (s == NULL)
		return;
	free(s->base_url);
	free(s->resolve);
	free(s->issuer);
	free(s->jwks_uri);
	free(s->token_endpoint);
	free(s->resource);
	free(s->mta_client_id);
	for (i = 0; i < s->n_as; i++)
		free(s->as_list[i]);
	free(s->as_list);
	free(s);
}

fz_code fz_disc_read_as_doc(const json_t *j, const char *url, const char *base,
			    const char *resolve, fz_disc_svc **out, fz_err *err)
{
	const char *issuer, *jwks_uri, *token_endpoint;
	fz_disc_svc *s;
	fz_code rc;

	*out = NULL;
	rc = member_url(j, url, "issuer", true, false, &issuer, err);
	if (rc == FZ_OK)
		rc = member_url(j, url, "jwks_uri", true, true, &jwks_uri, err);
	if (rc == FZ_OK)
		rc = member_url(j, url, "token_endpoint", false, true, &token_endpoint, err);
	if (rc != FZ_OK)
		return rc;
	if (!names_base(issuer, base))
		return fz_fail(err, FZ_ESTRUCT, "%s: issuer %.200s does not name the base %s",
			       url, issuer, base);
	rc = svc_new(base, resolve, &s, err);
	if (rc == FZ_OK && (!dup(&s->issuer, issuer) || !dup(&s->jwks_uri, jwks_uri) ||
			    !dup(&s->token_endpoint, token_endpoint)))
		rc = nomem(err);
	if (rc != FZ_OK) {
		fz_disc_svc_free(s);
		return rc;
	}
	*out = s;
	return FZ_OK;
}

/* RFC 6749 Appendix A.1: a client_id is VSCHAR, %x20-7E. */
static bool client_id_ok(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t i, n = json_string_length(v);

	if (s == NULL || n == 0 || n > FZ_DISCOVERY_CLIENT_ID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

static fz_code read_as_list(const json_t *j, const char *url, size_t max_as,
			    fz_disc_svc *s, fz_err *err)
{
	const json_t *list = json_object_get(j, "authorization_servers");
	const char *v;
	size_t i, n;
	fz_code rc;

	if (list == NULL)
		return FZ_OK;
	if (!json_is_array(list))
		return fz_fail(err, FZ_ESTRUCT, "%s: authorization_servers is not an array", url);
	n = json_array_size(list);
	if (n > max_as)
		return fz_fail(err, FZ_ELIMIT, "%s: more than %zu authorization_servers", url,
			       max_as);
	s->as_list = calloc(n ? n : 1, sizeof(*s->as_list));
	if (s->as_list == NULL)
		return nomem(err);
	for (i = 0; i < n; i++) {
		rc = url_value(json_array_get(list, i), url, "authorization_servers[]", true,
			       false, &v, err);
		if (rc == FZ_OK && !dup(&s->as_list[s->n_as], v))
			rc = nomem(err);
		if (rc != FZ_OK)
			return rc;
		s->n_as++;
	}
	return FZ_OK;
}

fz_code fz_disc_read_rs_doc(const json_t *j, const char *url, const char *base,
			    const char *resolve, size_t max_as, fz_disc_svc **out,
			    fz_err *err)
{
	const char *resource;
	const json_t *cid;
	fz_disc_svc *s = NULL;
	fz_code rc;

	*out = NULL;
	rc = member_url(j, url, "resource", true, false, &resource, err);
	if (rc != FZ_OK)
		return rc;
	if (!names_base(resource, base))
		return fz_fail(err, FZ_ESTRUCT, "%s: resource %.200s does not name the base %s",
			       url, resource, base);
	cid = json_object_get(j, "federizer_mta_client_id");
	if (!client_id_ok(cid))
		return fz_fail(err, FZ_ESTRUCT, "%s: federizer_mta_client_id is %s", url,
			       cid ? "not a client_id" : "missing");
	rc = svc_new(base, resolve, &s, err);
	if (rc == FZ_OK && (!dup(&s->resource, resource) ||
			    !dup(&s->mta_client_id, json_string_value(cid))))
		rc = nomem(err);
	if (rc == FZ_OK)
		rc = read_as_list(j, url, max_as, s, err);
	if (rc != FZ_OK) {
		fz_disc_svc_free(s);
		return rc;
	}
	*out = s;
	return FZ_OK;
}

