/*
 * request.c - what a handler reads of its request: path parameters,
 * headers (one-only where the protocol says so), and the buffered body as
 * a form or as JSON, checked against its Content-Type.
 */
#include "http_internal.h"

#include <string.h>
#include <strings.h>

const char *fz_http_req_param(const fz_http_req *req, const char *name)
{
	const fz_http_exchange *x = (const fz_http_exchange *)req;
	size_t i;

	for (i = 0; i < x->match.nparams; i++)
		if (strcmp(x->match.params[i].name, name) == 0)
			return x->match.params[i].value;
	return NULL;
}

const char *fz_http_req_header(const fz_http_req *req, const char *name)
{
	const fz_http_exchange *x = (const fz_http_exchange *)req;

	return MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND, name);
}

struct header_count {
	const char *name;
	const char *value;
	unsigned count;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
				    const char *key, const char *value)
{
	struct header_count *hc = cls;

	(void)kind;
	if (strcasecmp(key, hc->name) == 0 && hc->count++ == 0)
		hc->value = value;
	return MHD_YES;
}

fz_code fz_http_req_header_one(const fz_http_req *req, const char *name,
			       const char **value, fz_err *err)
{
	const fz_http_exchange *x = (const fz_http_exchange *)req;
	struct header_count hc = {.name = name};

	*value = NULL;
	MHD_get_connection_values(x->conn, MHD_HEADER_KIND, count_header, &hc);
	if (hc.count > 1)
		return fz_fail(err, FZ_ESYNTAX, "header %s sent %u times", name, hc.count);
	*value = hc.value;
	return FZ_OK;
}

/* Whether the Content-Type's media type (before any ';') is want. */
static bool media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static fz_code buffered_body(fz_http_req *req, const char *type, fz_err *err)
{
	if (req->body == NULL)
		return fz_fail(err, FZ_EINTERNAL, "no buffered body on this route");
	if (!media_type_is(fz_http_req_header(req, "Content-Type"), type))
		return fz_fail_http(err, FZ_ESYNTAX, 415, "invalid_request",
				    "Content-Type must be %s", type);
	return FZ_OK;
}

fz_code fz_http_req_form(fz_http_req *req, fz_form *out, fz_err *err)
{
	fz_http_exchange *x = fz_exchange_of(req);
	fz_code rc;

	memset(out, 0, sizeof(*out));
	rc = buffered_body(req, "application/x-www-form-urlencoded", err);
	if (rc != FZ_OK)
		return rc;
	return fz_form_parse(req->arena, req->body, req->body_len,
			     &x->srv->cfg.form_limits, out, err);
}

fz_code fz_http_req_json(fz_http_req *req, json_t **out, fz_err *err)
{
	json_error_t jerr;
	json_t *j;
	fz_code rc;

	*out = NULL;
	rc = buffered_body(req, "application/json", err);
	if (rc != FZ_OK)
		return rc;
	j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
		return fz_fail(err, FZ_ESYNTAX, "JSON body: %s at line %d column %d",
			       jerr.text, jerr.line, jerr.column);
	*out = fz_arena_own_json(req->arena, j);
	if (*out == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

void fz_http_req_set_log_id(fz_http_req *req, const char *message_id)
{
	fz_exchange_of(req)->log_id = fz_arena_strdup(req->arena, message_id);
}
