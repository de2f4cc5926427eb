/*
 * placeholder.c - reading a checked Placeholder Message: the envelope
 * entries newest first, the origin block at the bottom, draft or sent.
 * Callers ask these rather than walk the tree, so the shape lives here.
 */
#include "placeholder.h"

#include <stdlib.h>
#include <string.h>

#include "placeholder_int.h"

fz_code fz_placeholder_load(fz_ph_format fmt, const char *buf, size_t len,
			    const fz_limits *lim, json_t **out, fz_err *err)
{
	json_t *doc = NULL;
	fz_code rc;

	if (fmt == FZ_PH_YAML)
		rc = fz_placeholder_from_yaml(buf, len, lim, &doc, err);
	else
		rc = fz_placeholder_from_json(buf, len, lim, &doc, err);
	if (rc != FZ_OK)
		return rc;
	rc = fz_placeholder_check(doc, lim, err);
	if (rc != FZ_OK) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return FZ_OK;
}

const json_t *fz_placeholder_envelope(const json_t *doc)
{
	const json_t *env = json_object_get(doc, "envelope");

	return json_is_array(env) ? env : NULL;
}

const json_t *fz_placeholder_body(const json_t *doc)
{
	const json_t *body = json_object_get(doc, "body");

	return json_is_object(body) ? body : NULL;
}

size_t fz_placeholder_entry_count(const json_t *doc)
{
	return json_array_size(fz_placeholder_envelope(doc));
}

fz_code fz_placeholder_entry(const json_t *doc, size_t i, fz_entry_kind *kind,
			     const json_t **block, const char **jws,
			     size_t *jws_len, fz_err *err)
{
	const json_t *e = json_array_get(fz_placeholder_envelope(doc), i);
	const json_t *v;

	*block = NULL;
	*jws = NULL;
	*jws_len = 0;
	if (e == NULL)
		return fz_fail(err, FZ_ENOTFOUND, "no envelope entry %zu", i);
	if (json_object_size(e) != 1)
		return fz_fail(err, FZ_ESTRUCT, "envelope entry %zu is malformed", i);
	if ((v = json_object_get(e, "headers")) != NULL && json_is_array(v)) {
		*kind = FZ_ENTRY_HEADERS;
		*block = v;
		return FZ_OK;
	}
	if ((v = json_object_get(e, "jwt-assertion")) != NULL && json_is_string(v)) {
		*kind = FZ_ENTRY_ASSERTION;
		*jws = json_string_value(v);
		*jws_len = json_string_length(v);
		return FZ_OK;
	}
	return fz_fail(err, FZ_ESTRUCT, "envelope entry %zu is malformed", i);
}

static const json_t *entry_block(const json_t *doc, size_t i)
{
	const json_t *v = json_object_get(json_array_get(fz_placeholder_envelope(doc), i),
					  "headers");

	return json_is_array(v) ? v : NULL;
}

const json_t *fz_placeholder_origin(const json_t *doc)
{
	size_t n = fz_placeholder_entry_count(doc);

	return n == 0 ? NULL : entry_block(doc, n - 1);
}

const json_t *fz_placeholder_newest_headers(const json_t *doc)
{
	size_t i, n = fz_placeholder_entry_count(doc);

	for (i = 0; i < n; i++)
		if (entry_block(doc, i) != NULL)
			return entry_block(doc, i);
	return NULL;
}

bool fz_placeholder_is_sent(const json_t *doc)
{
	return fz_headers_find(fz_placeholder_origin(doc), "Date") != NULL;
}

/* ---- leaves ---- */

struct leaves {
	fz_leaf *v;
	size_t n, cap;
};

static fz_code collect(const json_t *parts, struct leaves *l, int depth,
		       fz_err *err)
{
	const json_t *part, *sub;
	size_t i;
	fz_code rc;

	if (depth > FZ_LIMIT_DEPTH_CEILING)
		return fz_fail(err, FZ_ELIMIT, "body nested too deep");
	json_array_foreach(parts, i, part) {
		sub = json_object_get(part, "parts");
		if (sub != NULL) {
			rc = collect(sub, l, depth + 1, err);
			if (rc != FZ_OK)
				return rc;
			continue;
		}
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 8;
			fz_leaf *v = realloc(l->v, cap * sizeof(*v));
			if (v == NULL)
				return fz_fail(err, FZ_ENOMEM, "out of memory");
			l->v = v;
			l->cap = cap;
		}
		rc = fz_leaf_parse(json_object_get(part, "headers"), &l->v[l->n], err);
		if (rc != FZ_OK)
			return rc;
		l->n++;
	}
	return FZ_OK;
}

fz_code fz_placeholder_leaves(const json_t *doc, fz_leaf **out, size_t *n,
			      fz_err *err)
{
	const json_t *parts = json_object_get(fz_placeholder_body(doc), "parts");
	struct leaves l = {NULL, 0, 0};
	fz_code rc;

	if (!json_is_array(parts))
		return fz_fail(err, FZ_ESTRUCT, "the document has no body.parts");
	rc = collect(parts, &l, 1, err);
	if (rc != FZ_OK) {
		fz_leaves_free(l.v, l.n);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return FZ_OK;
}
