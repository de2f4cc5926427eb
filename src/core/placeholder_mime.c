/*
 * placeholder_mime.c - MIME header values (RFC 2045 §5.1, RFC 2183) and
 * the external leaf part they describe. A leaf part names its resource by
 * Content-ID and says, in an outer message/external-body Content-Type, that
 * the resource is fetched by digest and how big it is (SPEC §3):
 *
 *   message/external-body; access-type="x-content-addressed-uri";
 *       hash-algorithm="sha256"; size="42"
 *
 * Values are tokens or double-quoted strings, as RFC 2045 has them. The
 * seed's single quotes are not quotes in MIME: 'sha256' is the token
 * "'sha256'", which is not sha256, so such a part is refused.
 */
#include "placeholder.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "placeholder_int.h"

/* RFC 2045 token characters: printable ASCII minus tspecials. */
static bool is_token_char(unsigned char c)
{
	return c > 32 && c < 127 && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

struct cursor {
	const char *s;
	size_t n, i;
	char *o; /* output in the fz_mime's buffer */
	size_t olen;
};

static void skip_wsp(struct cursor *c)
{
	while (c->i < c->n && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
		c->i++;
}

/* Copies a token, lowercased when fold, and NUL-terminates it. */
static size_t take_token(struct cursor *c, bool fold)
{
	size_t start = c->i;

	while (c->i < c->n && is_token_char((unsigned char)c->s[c->i])) {
		c->o[c->olen++] = fold ? lower(c->s[c->i]) : c->s[c->i];
		c->i++;
	}
	return c->i - start;
}

/* RFC 5322 §3.2.4: no control character but HTAB in a quoted string, not
 * even escaped; a NUL would cut a filename short where C reads it. */
static bool is_ctl(unsigned char c)
{
	return (c < 32 && c != '\t') || c == 127;
}

static fz_code take_quoted(struct cursor *c, fz_err *err)
{
	c->i++; /* the opening quote */
	while (c->i < c->n && c->s[c->i] != '"') {
		if (c->s[c->i] == '\\') {
			if (++c->i == c->n)
				break;
		}
		if (is_ctl((unsigned char)c->s[c->i]))
			return fz_fail(err, FZ_ESYNTAX,
				       "MIME: control character in a quoted string at %zu", c->i);
		c->o[c->olen++] = c->s[c->i++];
	}
	if (c->i == c->n)
		return fz_fail(err, FZ_ESYNTAX, "MIME: unterminated quoted string");
	c->i++;
	return FZ_OK;
}

static fz_code take_param(struct cursor *c, fz_mime *m, fz_err *err)
{
	fz_mime_param *p;
	size_t vstart;
	fz_code rc;

	if (m->nparams == FZ_MIME_MAX_PARAMS)
		return fz_fail(err, FZ_ELIMIT,
			       "MIME: more than FZ_MIME_MAX_PARAMS (%d) parameters",
			       FZ_MIME_MAX_PARAMS);
	p = &m->params[m->nparams];
	p->name = c->o + c->olen;
	if (take_token(c, true) == 0)
		return fz_fail(err, FZ_ESYNTAX, "MIME: parameter name expected at %zu",
			       c->i);
	c->o[c->olen++] = '\0';
	if (fz_mime_param_get(m, p->name) != NULL)
		return fz_fail(err, FZ_ESYNTAX, "MIME: parameter %s given twice",
			       p->name);
	skip_wsp(c);
	if (c->i == c->n || c->s[c->i] != '=')
		return fz_fail(err, FZ_ESYNTAX, "MIME: '=' expected after %s", p->name);
	c->i++;
	skip_wsp(c);
	p->value = c->o + c->olen;
	vstart = c->olen;
	if (c->i < c->n && c->s[c->i] == '"') {
		rc = take_quoted(c, err);
		if (rc != FZ_OK)
			return rc;
	} else if (take_token(c, false) == 0) {
		return fz_fail(err, FZ_ESYNTAX, "MIME: value expected for %s", p->name);
	}
	p->value_len = c->olen - vstart;
	c->o[c->olen++] = '\0';
	m->nparams++;
	return FZ_OK;
}

static fz_code take_type(struct cursor *c, bool with_subtype, fz_err *err)
{
	skip_wsp(c);
	if (take_token(c, true) == 0)
		return fz_fail(err, FZ_ESYNTAX, "MIME: type expected");
	if (with_subtype) {
		if (c->i == c->n || c->s[c->i] != '/')
			return fz_fail(err, FZ_ESYNTAX, "MIME: type/subtype expected");
		c->o[c->olen++] = '/';
		c->i++;
		if (take_token(c, true) == 0)
			return fz_fail(err, FZ_ESYNTAX, "MIME: subtype expected");
	}
	c->o[c->olen++] = '\0';
	return FZ_OK;
}

fz_code fz_mime_parse(const char *s, size_t n, bool with_subtype, fz_mime *out,
		      fz_err *err)
{
	struct cursor c = {s, n, 0, NULL, 0};
	fz_code rc;

	memset(out, 0, sizeof(*out));
	/* Unquoting only shrinks, and every NUL written replaces a ';', '='
	 * or '/' of the input, so n + 1 bytes always suffice. */
	out->buf = malloc(n + 1);
	if (out->buf == NULL)
		return fz_fail(err, FZ_ENOMEM, "MIME: out of memory");
	c.o = out->buf;
	out->type = out->buf;
	rc = take_type(&c, with_subtype, err);
	while (rc == FZ_OK) {
		skip_wsp(&c);
		if (c.i == c.n)
			break;
		if (c.s[c.i] != ';') {
			rc = fz_fail(err, FZ_ESYNTAX, "MIME: ';' expected at %zu", c.i);
			break;
		}
		c.i++;
		skip_wsp(&c);
		if (c.i == c.n) /* a trailing ';' is common and harmless */
			break;
		rc = take_param(&c, out, err);
	}
	if (rc != FZ_OK)
		fz_mime_free(out);
	return rc;
}

const fz_mime_param *fz_mime_param_get(const fz_mime *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nparams; i++)
		if (strcmp(m->params[i].name, name) == 0)
			return &m->params[i];
	return NULL;
}

void fz_mime_free(fz_mime *m)
{
	if (m == NULL)
		return;
	free(m->buf);
	memset(m, 0, sizeof(*m));
}

/* ---- leaf parts ---- */

static fz_code param_is(const fz_mime *m, const char *name, const char *want,
			fz_err *err)
{
	const fz_mime_param *p = fz_mime_param_get(m, name);

	if (p == NULL)
		return fz_fail(err, FZ_ESTRUCT,
			       "external Content-Type lacks the %s parameter", name);
	if (!fz_ascii_ieq(p->value, p->value_len, want))
		return fz_fail(err, FZ_ESTRUCT,
			       "external Content-Type needs %s=\"%s\"", name, want);
	return FZ_OK;
}

/* size="N": decimal digits, no sign, no leading zero, fits in 64 bits,
 * so equal sizes are equal strings. */
static fz_code parse_size(const fz_mime *m, uint64_t *size, fz_err *err)
{
	const fz_mime_param *p = fz_mime_param_get(m, "size");
	uint64_t v = 0;
	size_t i;

	if (p == NULL)
		return fz_fail(err, FZ_ESTRUCT,
			       "external Content-Type lacks the size parameter");
	if (p->value_len == 0 || (p->value[0] == '0' && p->value_len > 1))
		return fz_fail(err, FZ_ESYNTAX,
			       "size parameter must be a decimal number");
	for (i = 0; i < p->value_len; i++) {
		unsigned d = (unsigned char)p->value[i] - '0';
		if (d > 9)
			return fz_fail(err, FZ_ESYNTAX,
				       "size parameter must be a decimal number");
		if (v > (UINT64_MAX - d) / 10)
			return fz_fail(err, FZ_ESYNTAX, "size parameter is too large");
		v = v * 10 + d;
	}
	*size = v;
	return FZ_OK;
}

static fz_code check_outer(const char *s, size_t n, uint64_t *size, fz_err *err)
{
	fz_mime m;
	fz_code rc = fz_mime_parse(s, n, true, &m, err);

	if (rc != FZ_OK)
		return rc;
	if (strcmp(m.type, "message/external-body") != 0)
		rc = fz_fail(err, FZ_ESTRUCT,
			     "a leaf part's outer Content-Type must be message/external-body");
	if (rc == FZ_OK)
		rc = param_is(&m, "access-type", "x-content-addressed-uri", err);
	if (rc == FZ_OK)
		rc = param_is(&m, "hash-algorithm", "sha256", err);
	if (rc == FZ_OK)
		rc = parse_size(&m, size, err);
	fz_mime_free(&m);
	return rc;
}

static fz_code check_inner(const char *s, size_t n, char **media, fz_err *err)
{
	fz_mime m;
	fz_code rc = fz_mime_parse(s, n, true, &m, err);

	if (rc != FZ_OK)
		return rc;
	if (strncmp(m.type, "multipart/", 10) == 0 ||
	    strcmp(m.type, "message/external-body") == 0)
		rc = fz_fail(err, FZ_ESTRUCT,
			     "a leaf part's real Content-Type cannot be %s", m.type);
	if (rc == FZ_OK && media != NULL) {
		*media = strdup(m.type);
		if (*media == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	fz_mime_free(&m);
	return rc;
}

static fz_code check_disposition(const json_t *block, fz_disposition *disp,
				 char **filename, fz_err *err)
{
	const fz_mime_param *fn;
	const char *s;
	size_t n;
	fz_mime m;
	fz_code rc;

	*disp = FZ_DISP_ATTACHMENT;
	rc = fz_headers_get(block, "Content-Disposition", &s, &n, err);
	if (rc == FZ_ENOTFOUND)
		return FZ_OK;
	if (rc != FZ_OK)
		return rc;
	rc = fz_mime_parse(s, n, false, &m, err);
	if (rc != FZ_OK) {
		if (err != NULL)
			fz_err_prefix(err, "Content-Disposition");
		return rc;
	}
	if (strcmp(m.type, "inline") == 0)
		*disp = FZ_DISP_INLINE;
	fn = fz_mime_param_get(&m, "filename");
	if (fn != NULL && filename != NULL) {
		*filename = strndup(fn->value, fn->value_len);
		if (*filename == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	fz_mime_free(&m);
	return rc;
}

static fz_code content_type_pair(const json_t *block, const json_t **outer,
				 const json_t **inner, fz_err *err)
{
	const json_t *ct = fz_headers_find(block, "Content-Type");

	if (ct == NULL)
		return fz_fail(err, FZ_ESTRUCT, "leaf part has no Content-Type");
	if (!json_is_array(ct) || json_array_size(ct) != 2 ||
	    !json_is_string(json_array_get(ct, 0)) ||
	    !json_is_string(json_array_get(ct, 1)))
		return fz_fail(err, FZ_ESTRUCT,
			       "a leaf part's Content-Type must be a list: the outer "
			       "message/external-body, then the real type");
	*outer = json_array_get(ct, 0);
	*inner = json_array_get(ct, 1);
	return FZ_OK;
}

fz_code fz_leaf_parse(const json_t *block, fz_leaf *out, fz_err *err)
{
	fz_leaf tmp;
	fz_leaf *l = out != NULL ? out : &tmp;
	const json_t *outer = NULL, *inner = NULL;
	const char *s;
	size_t n;
	fz_code rc;

	memset(l, 0, sizeof(*l));
	rc = fz_headers_get(block, "Content-ID", &s, &n, err);
	if (rc == FZ_ENOTFOUND)
		return fz_fail(err, FZ_ESTRUCT, "leaf part has no Content-ID");
	if (rc != FZ_OK)
		return rc;
	rc = fz_content_id_parse(s, n, &l->cid, err);
	if (rc != FZ_OK)
		return rc;
	rc = content_type_pair(block, &outer, &inner, err);
	if (rc != FZ_OK)
		return rc;
	rc = check_outer(json_string_value(outer), json_string_length(outer),
			 &l->size, err);
	if (rc != FZ_OK)
		return rc;
	rc = check_inner(json_string_value(inner), json_string_length(inner),
			 out != NULL ? &l->media_type : NULL, err);
	if (rc != FZ_OK)
		return rc;
	l->content_type = json_string_value(inner);
	rc = check_disposition(block, &l->disposition,
			       out != NULL ? &l->filename : NULL, err);
	if (rc != FZ_OK && out != NULL) {
		free(l->media_type);
		free(l->filename);
		memset(l, 0, sizeof(*l));
	}
	return rc;
}

void fz_leaves_free(fz_leaf *leaves, size_t n)
{
	size_t i;

	if (leaves == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(leaves[i].media_type);
		free(leaves[i].filename);
	}
	free(leaves);
}
