/*
 * as_exchange_headers.c - the parts of token exchange that are pure
 * functions of their input: reading the `headers` parameter (SPEC §7.2,
 * §9), the values in it, the eh claim over it, and the claims of the
 * assertion the AS signs. No I/O, so unit tests reach every branch.
 */
#include "as_exchange.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "jose.h"

/* The `headers` JSON is an array of objects of strings; one more level
 * lets a list value be refused by name rather than as nesting. */
#define XCHG_HEADERS_MAX_DEPTH 3

const char *const fz_xchg_send_headers[FZ_XCHG_NHEADERS] = {
	"Message-ID", "From", "Recipients-Digest", "Body-Digest",
};
const char *const fz_xchg_forward_headers[FZ_XCHG_NHEADERS] = {
	"Message-ID", "Forwarded-From", "Recipients-Digest", "JWT-Assertion-Digest",
};

static fz_code bad(fz_err *err, const char *fmt, const char *arg)
{
	return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request", fmt, arg);
}

/* jansson recurses while parsing: count the nesting first, outside
 * strings, so a deeply nested parameter is refused before it is parsed. */
static bool depth_ok(const char *s, size_t n, size_t max)
{
	size_t i, depth = 0;
	bool in_str = false;

	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return false;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return true;
}

/* Entry i: one member named names[i], a string value within limits;
 * appended to block under the canonical spelling. */
static fz_code take_entry(const json_t *item, size_t i, const char *want,
			  size_t max_value, json_t *block, fz_err *err)
{
	const char *name;
	json_t *v;
	fz_err verr = {0};

	if (!json_is_object(item) || json_object_size(item) != 1)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "headers[%zu] is not an object with one member", i);
	json_object_foreach((json_t *)item, name, v) {
		if (strcasecmp(name, want) != 0)
			return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
					    "headers[%zu] must be %s", i, want);
		if (!json_is_string(v))
			return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
					    "headers[%zu] %s is not a string", i, want);
		if (fz_header_value_check(json_string_value(v), json_string_length(v),
					  max_value, &verr) != FZ_OK)
			return fz_fail_http(err, verr.code, 400, "invalid_request",
					    "headers[%zu] %s: %s", i, want, verr.msg);
		if (json_array_append_new(block, json_pack("{s:O}", want, v)) != 0)
			return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	return FZ_OK;
}

fz_code fz_xchg_headers_parse(const char *text, size_t len,
			      const char *const *names, size_t n,
			      size_t max_value, json_t **block, fz_err *err)
{
	json_error_t jerr;
	json_t *in, *out;
	size_t i;
	fz_code rc = FZ_OK;

	*block = NULL;
	if (!depth_ok(text, len, XCHG_HEADERS_MAX_DEPTH))
		return bad(err, "%s", "headers is nested too deeply");
	in = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (in == NULL)
		return bad(err, "headers is not JSON: %s", jerr.text);
	if (!json_is_array(in) || json_array_size(in) != n) {
		json_decref(in);
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "headers must be an array of %zu objects", n);
	}
	out = json_array();
	if (out == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	for (i = 0; rc == FZ_OK && i < n; i++)
		rc = take_entry(json_array_get(in, i), i, names[i], max_value, out, err);
	json_decref(in);
	if (rc != FZ_OK) {
		json_decref(out);
		return rc;
	}
	*block = out;
	return FZ_OK;
}

fz_code fz_xchg_one_address(const char *name, const char *value,
			    char out[FZ_AS_ADDRESS_MAX + 1], fz_err *err)
{
	fz_addr_list l = {0};
	fz_err perr = {0};
	fz_code rc = fz_addr_list_parse(value, strlen(value), 2, &l, &perr);

	out[0] = '\0';
	if (rc != FZ_OK || l.n != 1) {
		fz_addr_list_free(&l);
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "%s must hold exactly one address%s%s", name,
				    rc != FZ_OK ? ": " : "", rc != FZ_OK ? perr.msg : "");
	}
	if (strlen(l.v[0].spec) > FZ_AS_ADDRESS_MAX)
		rc = bad(err, "%s address is too long", name);
	else
		memcpy(out, l.v[0].spec, strlen(l.v[0].spec) + 1);
	fz_addr_list_free(&l);
	return rc;
}

fz_code fz_xchg_msgid_domain(const char *value, char out[FZ_DOMAIN_MAX + 1],
			     fz_err *err)
{
	fz_msgid id;
	fz_err perr = {0};

	out[0] = '\0';
	if (fz_msgid_parse(value, strlen(value), &id, &perr) != FZ_OK)
		return bad(err, "Message-ID: %s", perr.msg);
	memcpy(out, id.domain, strlen(id.domain) + 1);
	return FZ_OK;
}

fz_code fz_xchg_check_digest_header(const char *name, const char *value,
				    fz_err *err)
{
	fz_digest_str d;

	/* The Content-ID grammar is exactly "<digest>". */
	if (fz_content_id_parse(value, strlen(value), &d, NULL) != FZ_OK)
		return bad(err, "%s must be <digest>", name);
	return FZ_OK;
}

fz_code fz_xchg_address_domain(const char *address, char out[FZ_DOMAIN_MAX + 1],
			       fz_err *err)
{
	const char *at = address ? strrchr(address, '@') : NULL;
	size_t i, n;

	out[0] = '\0';
	if (at == NULL || at == address || at[1] == '\0')
		return bad(err, "%s", "not an address local@domain");
	n = strlen(at + 1);
	if (n > FZ_DOMAIN_MAX)
		return bad(err, "%s", "address domain too long");
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)at[1 + i]);
	out[n] = '\0';
	return FZ_OK;
}

fz_code fz_xchg_eh(const json_t *block, json_t **out, fz_err *err)
{
	json_t *ehl = json_array(), *eh = NULL;
	fz_digest_str eht;
	const char *name;
	size_t i, len;
	const json_t *v;
	fz_code rc = ehl ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");

	*out = NULL;
	for (i = 0; rc == FZ_OK && i < json_array_size(block); i++) {
		rc = fz_headers_at(block, i, &name, &len, &v, err);
		if (rc == FZ_OK && json_array_append_new(ehl, json_stringn(name, len)) != 0)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	if (rc == FZ_OK)
		rc = fz_envelope_eht(block, ehl, &eht, err);
	if (rc == FZ_OK && (eh = json_pack("{s:s,s:O}", "eht", eht.s, "ehl", ehl)) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	json_decref(ehl);
	*out = eh;
	return rc;
}

fz_code fz_xchg_assertion_claims(const fz_xchg_assertion *a, json_t **out,
				 fz_err *err)
{
	*out = NULL;
	if (a->iss == NULL || a->sub == NULL || a->azp == NULL || a->jti == NULL ||
	    a->jkt == NULL || a->eh == NULL)
		return fz_fail(err, FZ_EINTERNAL, "assertion needs iss, sub, azp, jti, jkt, eh");
	*out = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:{s:s},s:O}", "iss", a->iss,
			 "sub", a->sub, "azp", a->azp, "scope", FZ_AS_SCOPE_MAIL,
			 "iat", (json_int_t)a->iat, "exp", (json_int_t)a->exp,
			 "jti", a->jti, "cnf", "jkt", a->jkt->s, "eh", a->eh);
	if (*out == NULL)
		return fz_fail(err, FZ_ENOMEM, "cannot build assertion claims");
	return FZ_OK;
}

bool fz_xchg_scope_has(const char *scope, const char *want)
{
	size_t n = strlen(want);
	const char *p = scope;

	while (p != NULL && *p != '\0') {
		size_t len = strcspn(p, " ");

		if (len == n && strncmp(p, want, n) == 0)
			return true;
		p += len;
		p += strspn(p, " ");
	}
	return false;
}

/* ehl: a non-empty array of distinct header names. */
static fz_code check_ehl(const json_t *ehl, fz_err *err)
{
	size_t i, j, n = json_array_size(ehl);
	const char *a;

	if (!json_is_array(ehl) || n == 0 || n > FZ_XCHG_NHEADERS * 4)
		return bad(err, "%s", "subject assertion eh.ehl is not a list of names");
	for (i = 0; i < n; i++) {
		a = json_string_value(json_array_get(ehl, i));
		if (a == NULL || !fz_header_name_valid(a, strlen(a)))
			return bad(err, "%s", "subject assertion eh.ehl holds a bad name");
		for (j = 0; j < i; j++)
			if (strcasecmp(a, json_string_value(json_array_get(ehl, j))) == 0)
				return bad(err, "%s", "subject assertion eh.ehl repeats a name");
	}
	return FZ_OK;
}

fz_code fz_xchg_assertion_shape(const json_t *c, fz_err *err)
{
	const json_t *eh = json_object_get(c, "eh");
	const char *eht = json_string_value(json_object_get(eh, "eht"));
	const char *azp = json_string_value(json_object_get(c, "azp"));
	const char *jti = json_string_value(json_object_get(c, "jti"));
	const char *scope = json_string_value(json_object_get(c, "scope"));
	char dom[FZ_DOMAIN_MAX + 1];
	fz_digest_str jkt;

	if (fz_xchg_address_domain(json_string_value(json_object_get(c, "sub")), dom,
				   NULL) != FZ_OK)
		return bad(err, "%s", "subject assertion sub is not an address");
	if (azp == NULL || *azp == '\0' || jti == NULL || *jti == '\0')
		return bad(err, "%s", "subject assertion lacks azp or jti");
	if (scope == NULL || !fz_xchg_scope_has(scope, FZ_AS_SCOPE_MAIL))
		return bad(err, "%s", "subject assertion scope lacks " FZ_AS_SCOPE_MAIL);
	if (fz_jwt_cnf_jkt(c, &jkt, NULL) != FZ_OK)
		return bad(err, "%s", "subject assertion is not DPoP-bound (cnf.jkt)");
	if (!json_is_object(eh) || eht == NULL || !fz_digest_valid(eht, strlen(eht)))
		return bad(err, "%s", "subject assertion eh.eht is not a digest");
	return check_ehl(json_object_get(eh, "ehl"), err);
}

bool fz_xchg_assertion_is_origin(const json_t *c)
{
	const json_t *ehl = json_object_get(json_object_get(c, "eh"), "ehl"), *v;
	size_t i;

	json_array_foreach(ehl, i, v) {
		if (json_is_string(v) && strcasecmp(json_string_value(v), "From") == 0)
			return true;
	}
	return false;
}
