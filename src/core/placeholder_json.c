/*
 * placeholder_json.c - the Placeholder Message as JSON, through jansson.
 * jansson's decoder recurses once per nesting level, so the depth limit is
 * enforced on the raw bytes first: a megabyte of '[' costs one pass and no
 * stack.
 */
#include "placeholder.h"

#include <stdlib.h>

#include "placeholder_int.h"

/* Deepest bracket nesting outside strings; stops counting past max. */
static fz_code scan_depth(const char *buf, size_t len, size_t max, fz_err *err)
{
	size_t i, depth = 0;
	int in_string = 0;

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"') {
			in_string = 1;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return fz_fail(err, FZ_ELIMIT,
					       "JSON nesting deeper than max_depth (%zu) at byte %zu",
					       max, i);
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return FZ_OK;
}

fz_code fz_placeholder_from_json(const char *buf, size_t len,
				 const fz_limits *lim, json_t **out, fz_err *err)
{
	json_error_t je;
	json_t *doc;
	fz_code rc;

	lim = fz_limits_or_default(lim);
	if (len > lim->max_document_bytes)
		return fz_fail(err, FZ_ELIMIT,
			       "document of %zu bytes exceeds max_document_bytes (%zu)",
			       len, lim->max_document_bytes);
	rc = scan_depth(buf, len, fz_ph_max_depth(lim), err);
	if (rc != FZ_OK)
		return rc;
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL)
		return fz_fail(err, FZ_ESYNTAX, "JSON: %s at line %d column %d",
			       je.text, je.line, je.column);
	rc = fz_ph_check_tree(doc, fz_ph_max_depth(lim), err);
	if (rc != FZ_OK) {
		json_decref(doc);
		return rc;
	}
	*out = doc;
	return FZ_OK;
}

fz_code fz_placeholder_to_json(const json_t *doc, bool pretty, char **out,
			       size_t *outlen, fz_err *err)
{
	size_t flags = pretty ? JSON_INDENT(2) : JSON_COMPACT;
	size_t n;
	char *s;

	/* Sized by a dry run into our own allocation, so the caller frees
	 * with free() whatever allocator jansson was given. */
	n = json_dumpb(doc, NULL, 0, flags);
	if (n == 0)
		return fz_fail(err, FZ_EINTERNAL, "JSON: cannot encode the document");
	s = malloc(n + 1);
	if (s == NULL)
		return fz_fail(err, FZ_ENOMEM, "JSON: out of memory");
	if (json_dumpb(doc, s, n, flags) != n) {
		free(s);
		return fz_fail(err, FZ_EINTERNAL, "JSON: encoding changed size");
	}
	s[n] = '\0';
	*out = s;
	*outlen = n;
	return FZ_OK;
}
