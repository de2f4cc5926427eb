/*
 * placeholder_check.c - is this tree a Placeholder Message (SPEC §3)?
 *
 * Strict on shape: unknown keys are refused. Only `body` is digested and
 * only the header names an assertion lists are signed, so an extra key
 * anywhere else would ride along unsigned and unchecked.
 * Header values are strings, except Content-Type, which may be a list
 * (the outer external-body type, then the real type): one rule keeps
 * every other header's canonical line (SPEC §4) unambiguous.
 */
#include "placeholder.h"

#include <stdlib.h>
#include <string.h>

#include "placeholder_int.h"

struct ck {
	const fz_limits *lim;
	fz_path path;
	size_t parts;
	fz_err *err;
};

static fz_code fail(struct ck *k, fz_code code, const char *msg)
{
	return fz_path_prefix(&k->path, fz_fail(k->err, code, "%s", msg), k->err);
}

static fz_code prefix(struct ck *k, fz_code rc)
{
	return fz_path_prefix(&k->path, rc, k->err);
}

/* ---- header blocks ---- */

static fz_code check_value(struct ck *k, const char *name, size_t name_len,
			   const json_t *v)
{
	size_t i, total = 0;
	json_t *s;
	fz_code rc;

	if (json_is_string(v))
		return prefix(k, fz_header_value_check(json_string_value(v),
						       json_string_length(v),
						       k->lim->max_header_value_bytes,
						       k->err));
	if (!json_is_array(v) || json_array_size(v) == 0)
		return fail(k, FZ_ESTRUCT,
			    "a header value is a string or a non-empty list of strings");
	if (!fz_ascii_ieq(name, name_len, "Content-Type"))
		return fail(k, FZ_ESTRUCT, "only Content-Type may have a list value");
	json_array_foreach(v, i, s) {
		if (!json_is_string(s))
			return fail(k, FZ_ESTRUCT,
				    "a header value list holds only strings");
		total += json_string_length(s);
		rc = fz_header_value_check(json_string_value(s), json_string_length(s),
					   SIZE_MAX, k->err);
		if (rc != FZ_OK)
			return prefix(k, rc);
	}
	if (total > k->lim->max_header_value_bytes)
		return prefix(k, fz_fail(k->err, FZ_ELIMIT,
					 "header value of %zu bytes exceeds max_header_value_bytes (%zu)",
					 total, k->lim->max_header_value_bytes));
	return FZ_OK;
}

/* Adds the lowercased name to seen; a second sighting is a duplicate. */
static fz_code note_name(struct ck *k, json_t *seen, const char *name,
			 size_t len)
{
	char *low = malloc(len + 1);
	fz_code rc = FZ_OK;
	size_t i;

	if (low == NULL)
		return fail(k, FZ_ENOMEM, "out of memory");
	for (i = 0; i < len; i++)
		low[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char)(name[i] + 32) : name[i];
	low[len] = '\0';
	if (json_object_getn(seen, low, len) != NULL)
		rc = prefix(k, fz_fail(k->err, FZ_ESTRUCT,
				       "duplicate header %.*s (names compare case-insensitively)",
				       (int)(len > 64 ? 64 : len), name));
	else if (json_object_setn_new_nocheck(seen, low, len, json_true()) != 0)
		rc = fail(k, FZ_ENOMEM, "out of memory");
	free(low);
	return rc;
}

static fz_code check_block(struct ck *k, const json_t *block)
{
	const json_t *value;
	const char *name;
	size_t i, nlen, mark;
	json_t *seen;
	fz_code rc = FZ_OK;

	if (!json_is_array(block))
		return fail(k, FZ_ESTRUCT, "a header block is a list of single-key mappings");
	seen = json_object();
	if (seen == NULL)
		return fail(k, FZ_ENOMEM, "out of memory");
	for (i = 0; i < json_array_size(block) && rc == FZ_OK; i++) {
		mark = fz_path_index(&k->path, i);
		rc = fz_headers_at(block, i, &name, &nlen, &value, k->err);
		if (rc != FZ_OK)
			rc = prefix(k, rc);
		else if (!fz_header_name_valid(name, nlen))
			rc = fail(k, FZ_ESYNTAX,
				  "header name is not an RFC 5322 field name "
				  "(printable ASCII, no ':')");
		else
			rc = note_name(k, seen, name, nlen);
		if (rc == FZ_OK)
			rc = check_value(k, name, nlen, value);
		fz_path_pop(&k->path, mark);
	}
	json_decref(seen);
	return rc;
}

/* ---- envelope ---- */

/* header: payload: signature, base64url each, all three non-empty. The
 * signature itself is checked by the JOSE code; this only keeps junk out
 * of the chain. */
static bool jws_compact_shape(const char *s, size_t n)
{
	size_t i, dots = 0, seg = 0;

	for (i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (seg == 0 || ++dots > 2)
				return false;
			seg = 0;
			continue;
		}
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		seg++;
	}
	return dots == 2 && seg > 0;
}

/* Appends the addresses of header name, if present, to l. */
static fz_code parse_into(struct ck *k, const json_t *block, const char *name,
			  fz_addr_list *l)
{
	const char *s;
	size_t n;
	fz_code rc;

	if (fz_headers_get(block, name, &s, &n, NULL) != FZ_OK)
		return FZ_OK;
	rc = fz_addr_list_parse(s, n, k->lim->max_recipients, l, k->err);
	if (rc != FZ_OK && k->err != NULL)
		fz_err_prefix(k->err, "%s", name);
	return rc;
}

/* To, Cc, Bcc and Forwarded-To must parse, and count together against
 * max_recipients; From and Forwarded-From must parse; Message-ID must
 * parse wherever it appears. */
static fz_code check_addresses(struct ck *k, const json_t *block)
{
	static const char *const names[] = {"To", "Cc", "Bcc", "Forwarded-To"};
	fz_addr_list rcpt = {0}, from = {0}, fwd_from = {0};
	fz_msgid mid;
	const char *s;
	size_t i, n;
	fz_code rc = FZ_OK;

	for (i = 0; i < sizeof(names) / sizeof(names[0]) && rc == FZ_OK; i++)
		rc = parse_into(k, block, names[i], &rcpt);
	if (rc == FZ_OK)
		rc = parse_into(k, block, "From", &from);
	if (rc == FZ_OK)
		rc = parse_into(k, block, "Forwarded-From", &fwd_from);
	fz_addr_list_free(&rcpt);
	fz_addr_list_free(&from);
	fz_addr_list_free(&fwd_from);
	if (rc != FZ_OK)
		return prefix(k, rc);
	if (fz_headers_get(block, "Message-ID", &s, &n, NULL) == FZ_OK)
		return prefix(k, fz_msgid_parse(s, n, &mid, k->err));
	return FZ_OK;
}

static fz_code check_entry(struct ck *k, const json_t *entry, size_t *hops)
{
	const char *key;
	json_t *v;
	fz_code rc;
	size_t mark;

	if (!json_is_object(entry) || json_object_size(entry) != 1)
		return fail(k, FZ_ESTRUCT,
			    "an envelope entry has exactly one of headers or jwt-assertion");
	key = json_object_iter_key(json_object_iter((json_t *)entry));
	v = json_object_iter_value(json_object_iter((json_t *)entry));
	mark = fz_path_key(&k->path, key);
	if (strcmp(key, "headers") == 0) {
		rc = check_block(k, v);
		if (rc == FZ_OK && json_array_size(v) == 0)
			rc = fail(k, FZ_ESTRUCT, "an envelope header block is empty");
		if (rc == FZ_OK)
			rc = check_addresses(k, v);
	} else if (strcmp(key, "jwt-assertion") == 0) {
		if (!json_is_string(v) ||
		    !jws_compact_shape(json_string_value(v), json_string_length(v)))
			rc = fail(k, FZ_ESTRUCT,
				  "jwt-assertion must be a compact JWS string");
		else if (++*hops > k->lim->max_chain_hops)
			rc = prefix(k, fz_fail(k->err, FZ_ELIMIT,
					       "more than max_chain_hops (%zu) assertions",
					       k->lim->max_chain_hops));
		else
			rc = FZ_OK;
	} else {
		rc = fail(k, FZ_ESTRUCT,
			  "an envelope entry has exactly one of headers or jwt-assertion");
	}
	fz_path_pop(&k->path, mark);
	return rc;
}

static bool is_headers_entry(const json_t *entry)
{
	return json_is_object(entry) && json_object_get(entry, "headers") != NULL;
}

static fz_code check_envelope(struct ck *k, const json_t *env)
{
	size_t i, n = json_array_size(env), hops = 0, mark;
	fz_code rc = FZ_OK;

	if (!json_is_array(env) || n == 0)
		return fail(k, FZ_ESTRUCT, "envelope must be a non-empty list");
	for (i = 0; i < n && rc == FZ_OK; i++) {
		const json_t *e = json_array_get(env, i);

		mark = fz_path_index(&k->path, i);
		rc = check_entry(k, e, &hops);
		/* An assertion signs the block below it (its eht); the origin,
		 * the oldest entry, is a header block. */
		if (rc == FZ_OK && !is_headers_entry(e) &&
		    (i + 1 == n || !is_headers_entry(json_array_get(env, i + 1))))
			rc = fail(k, FZ_ESTRUCT,
				  "a jwt-assertion must sit directly above a header block");
		fz_path_pop(&k->path, mark);
	}
	return rc;
}

/* ---- body ---- */

static fz_code check_parts(struct ck *k, const json_t *parts);

static fz_code check_multipart(struct ck *k, const json_t *headers,
			       const json_t *parts)
{
	const char *s;
	size_t n, mark;
	fz_mime m;
	fz_code rc;

	rc = fz_headers_get(headers, "Content-Type", &s, &n, k->err);
	if (rc == FZ_ENOTFOUND)
		return fail(k, FZ_ESTRUCT, "a part with parts needs a multipart Content-Type");
	if (rc != FZ_OK)
		return prefix(k, rc);
	rc = fz_mime_parse(s, n, true, &m, k->err);
	if (rc != FZ_OK)
		return prefix(k, rc);
	if (strncmp(m.type, "multipart/", 10) != 0)
		rc = fail(k, FZ_ESTRUCT, "a part with parts needs a multipart Content-Type");
	fz_mime_free(&m);
	if (rc != FZ_OK)
		return rc;
	if (!json_is_array(parts) || json_array_size(parts) == 0)
		return fail(k, FZ_ESTRUCT, "parts must be a non-empty list");
	mark = fz_path_key(&k->path, "parts");
	rc = check_parts(k, parts);
	fz_path_pop(&k->path, mark);
	return rc;
}

static fz_code check_part(struct ck *k, const json_t *part)
{
	const json_t *headers, *parts;
	const char *key;
	json_t *v;
	size_t mark;
	fz_code rc;

	if (++k->parts > k->lim->max_parts)
		return prefix(k, fz_fail(k->err, FZ_ELIMIT,
					 "body has more than max_parts (%zu) parts",
					 k->lim->max_parts));
	if (!json_is_object(part))
		return fail(k, FZ_ESTRUCT, "a part is a mapping of headers and parts");
	json_object_foreach((json_t *)part, key, v) {
		if (strcmp(key, "headers") != 0 && strcmp(key, "parts") != 0)
			return fail(k, FZ_ESTRUCT,
				    "a part has only headers and parts");
	}
	headers = json_object_get(part, "headers");
	parts = json_object_get(part, "parts");
	if (headers == NULL)
		return fail(k, FZ_ESTRUCT, "a part needs headers");
	mark = fz_path_key(&k->path, "headers");
	rc = check_block(k, headers);
	fz_path_pop(&k->path, mark);
	if (rc != FZ_OK)
		return rc;
	if (parts != NULL)
		return check_multipart(k, headers, parts);
	return prefix(k, fz_leaf_parse(headers, NULL, k->err));
}

static fz_code check_parts(struct ck *k, const json_t *parts)
{
	size_t i, mark;
	json_t *p;
	fz_code rc;

	json_array_foreach(parts, i, p) {
		mark = fz_path_index(&k->path, i);
		rc = check_part(k, p);
		fz_path_pop(&k->path, mark);
		if (rc != FZ_OK)
			return rc;
	}
	return FZ_OK;
}

static fz_code check_body(struct ck *k, const json_t *body)
{
	const json_t *parts = json_object_get(body, "parts");
	size_t mark;
	fz_code rc;

	if (!json_is_object(body) || json_object_size(body) != 1 || parts == NULL)
		return fail(k, FZ_ESTRUCT, "body must be a mapping with only parts");
	if (!json_is_array(parts))
		return fail(k, FZ_ESTRUCT, "body.parts must be a list");
	mark = fz_path_key(&k->path, "parts");
	rc = check_parts(k, parts);
	fz_path_pop(&k->path, mark);
	return rc;
}

fz_code fz_placeholder_check(const json_t *doc, const fz_limits *lim,
			     fz_err *err)
{
	struct ck k = {fz_limits_or_default(lim), {{0}, 0}, 0, err};
	const char *key;
	json_t *v;
	fz_code rc;

	rc = fz_ph_check_tree(doc, fz_ph_max_depth(k.lim), err);
	if (rc != FZ_OK)
		return rc;
	if (!json_is_object(doc))
		return fz_fail(err, FZ_ESTRUCT,
			       "a Placeholder Message is a mapping of envelope and body");
	json_object_foreach((json_t *)doc, key, v) {
		if (strcmp(key, "envelope") != 0 && strcmp(key, "body") != 0)
			return fz_fail(err, FZ_ESTRUCT,
				       "unknown top-level key (only envelope and body)");
	}
	if (json_object_get(doc, "envelope") == NULL)
		return fz_fail(err, FZ_ESTRUCT, "the document has no envelope");
	if (json_object_get(doc, "body") == NULL)
		return fz_fail(err, FZ_ESTRUCT, "the document has no body");
	fz_path_key(&k.path, "envelope");
	rc = check_envelope(&k, json_object_get(doc, "envelope"));
	fz_path_pop(&k.path, 0);
	if (rc != FZ_OK)
		return rc;
	fz_path_key(&k.path, "body");
	rc = check_body(&k, json_object_get(doc, "body"));
	fz_path_pop(&k.path, 0);
	return rc;
}
