/*
 * envelope.c - canonical header lines and the digests over them. The
 * lines end in CRLF and values may hold neither, so the concatenation
 * parses back into the same (name, value) pairs: no two header sets hash
 * alike by sliding bytes from one value into the next.
 */
#include "envelope.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"
#include "placeholder.h"
#include "placeholder_int.h"

/* Appends the canonical line of name to out[*len..), or only counts its
 * length when out is NULL. */
static fz_code line(const json_t *block, const char *name, char *out,
		    size_t *len, fz_err *err)
{
	size_t nlen = strlen(name), vlen, i;
	const char *v;
	fz_code rc;

	if (!fz_header_name_valid(name, nlen))
		return fz_fail(err, FZ_ESTRUCT, "%.64s is not a header name", name);
	rc = fz_headers_get(block, name, &v, &vlen, err);
	if (rc == FZ_ENOTFOUND)
		return fz_fail(err, FZ_ESTRUCT, "header %s is missing from the block",
			       name);
	if (rc != FZ_OK)
		return fz_fail(err, FZ_ESTRUCT, "header %s has a list value", name);
	rc = fz_header_value_check(v, vlen, SIZE_MAX, err);
	if (rc != FZ_OK) {
		if (err != NULL)
			fz_err_prefix(err, "header %s", name);
		return rc;
	}
	fz_trim_wsp(&v, &vlen);
	if (out != NULL) {
		for (i = 0; i < nlen; i++) {
			char c = name[i];
			out[*len + i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		out[*len + nlen] = ':';
		memcpy(out + *len + nlen + 1, v, vlen);
		memcpy(out + *len + nlen + 1 + vlen, "\r\n", 2);
	}
	*len += nlen + 1 + vlen + 2;
	return FZ_OK;
}

static bool repeated(const char *const *names, size_t i)
{
	size_t j;

	for (j = 0; j < i; j++)
		if (fz_ascii_ieq(names[i], strlen(names[i]), names[j]))
			return true;
	return false;
}

fz_code fz_envelope_canon(const json_t *block, const char *const *names,
			  size_t nnames, char **out, size_t *outlen, fz_err *err)
{
	size_t i, len = 0;
	char *buf;
	fz_code rc;

	if (nnames == 0)
		return fz_fail(err, FZ_ESTRUCT, "no header names to digest");
	/* First pass sizes and checks; the second cannot fail. */
	for (i = 0; i < nnames; i++) {
		if (repeated(names, i))
			return fz_fail(err, FZ_ESTRUCT, "header %.64s is named twice",
				       names[i]);
		rc = line(block, names[i], NULL, &len, err);
		if (rc != FZ_OK)
			return rc;
	}
	buf = malloc(len + 1);
	if (buf == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	len = 0;
	for (i = 0; i < nnames; i++)
		line(block, names[i], buf, &len, NULL);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return FZ_OK;
}

fz_code fz_envelope_canon_ehl(const json_t *block, const json_t *ehl, char **out,
			      size_t *outlen, fz_err *err)
{
	size_t i, n = json_array_size(ehl);
	const char **names;
	fz_code rc = FZ_OK;

	if (!json_is_array(ehl) || n == 0)
		return fz_fail(err, FZ_ESTRUCT, "ehl must be a non-empty list of names");
	names = calloc(n, sizeof(*names));
	if (names == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	for (i = 0; i < n && rc == FZ_OK; i++) {
		const json_t *s = json_array_get(ehl, i);
		if (!json_is_string(s) || strlen(json_string_value(s)) != json_string_length(s))
			rc = fz_fail(err, FZ_ESTRUCT, "ehl must hold header names");
		else
			names[i] = json_string_value(s);
	}
	if (rc == FZ_OK)
		rc = fz_envelope_canon(block, names, n, out, outlen, err);
	free(names);
	return rc;
}

fz_code fz_envelope_eht(const json_t *block, const json_t *ehl,
			fz_digest_str *out, fz_err *err)
{
	char *c = NULL;
	size_t n = 0;
	fz_code rc = fz_envelope_canon_ehl(block, ehl, &c, &n, err);

	if (rc != FZ_OK)
		return rc;
	fz_digest(c, n, out);
	free(c);
	return FZ_OK;
}

fz_code fz_envelope_recipients_canon(const json_t *block, fz_hop hop,
				     char **out, size_t *outlen, fz_err *err)
{
	static const char *const all[] = {"To", "Cc", "Bcc"};
	const char *names[3];
	size_t i, n = 0;

	if (hop == FZ_HOP_FORWARD) {
		names[n++] = "Forwarded-To";
	} else {
		for (i = 0; i < 3; i++)
			if (fz_headers_find(block, all[i]) != NULL)
				names[n++] = all[i];
	}
	if (n == 0)
		return fz_fail(err, FZ_ESTRUCT, "no To, Cc or Bcc header");
	return fz_envelope_canon(block, names, n, out, outlen, err);
}

static void bracket(const char *data, size_t n, char out[FZ_DIGEST_HDR_SIZE])
{
	fz_digest_str d;

	fz_digest(data, n, &d);
	fz_content_id_format(&d, out);
}

fz_code fz_envelope_recipients_digest(const json_t *block, fz_hop hop,
				      char out[FZ_DIGEST_HDR_SIZE], fz_err *err)
{
	char *c = NULL;
	size_t n = 0;
	fz_code rc = fz_envelope_recipients_canon(block, hop, &c, &n, err);

	if (rc != FZ_OK)
		return rc;
	bracket(c, n, out);
	free(c);
	return FZ_OK;
}

fz_code fz_envelope_body_digest(const json_t *body, char out[FZ_DIGEST_HDR_SIZE],
				fz_err *err)
{
	char *c = NULL;
	size_t n = 0;
	fz_code rc;

	if (!json_is_object(body))
		return fz_fail(err, FZ_ESTRUCT, "body must be a mapping");
	rc = fz_jcs(body, &c, &n, err);
	if (rc != FZ_OK)
		return rc;
	bracket(c, n, out);
	free(c);
	return FZ_OK;
}

fz_code fz_envelope_jws_digest(const char *jws, size_t n,
			       char out[FZ_DIGEST_HDR_SIZE], fz_err *err)
{
	size_t i;

	if (n == 0)
		return fz_fail(err, FZ_ESYNTAX, "empty JWS");
	for (i = 0; i < n; i++)
		if ((unsigned char)jws[i] < 33 || (unsigned char)jws[i] > 126)
			return fz_fail(err, FZ_ESYNTAX,
				       "JWS is not printable ASCII at byte %zu", i);
	bracket(jws, n, out);
	return FZ_OK;
}
