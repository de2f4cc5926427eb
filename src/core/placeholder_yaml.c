/*
 * placeholder_yaml.c - the Placeholder Message as YAML (the seed's form),
 * read with libyaml's event parser straight into the jansson tree.
 *
 * Only the part of YAML a mail document needs is accepted: no anchors or
 * aliases (no alias bombs, no shared nodes), no explicit tags (nothing
 * but strings), one document, scalar and unique keys. Depth is counted as
 * events arrive, so a deep document is refused before it is built.
 */
#include "placeholder.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "placeholder_int.h"

struct frame {
	json_t *node; /* borrowed: the parent (or the root) holds it */
	json_t *key;  /* a mapping's pending key, owned */
};

struct reader {
	yaml_parser_t parser;
	struct frame *stack;
	size_t depth, max_depth;
	json_t *root;
	size_t documents;
	bool done;
	fz_err *err;
};

static fz_code fail_at(struct reader *r, const yaml_event_t *ev, fz_code code,
		       const char *what)
{
	return fz_fail(r->err, code, "YAML: %s at line %zu column %zu", what,
		       ev->start_mark.line + 1, ev->start_mark.column + 1);
}

static fz_code parser_error(struct reader *r)
{
	const yaml_parser_t *p = &r->parser;

	if (p->error == YAML_MEMORY_ERROR)
		return fz_fail(r->err, FZ_ENOMEM, "YAML: out of memory");
	return fz_fail(r->err, FZ_ESYNTAX, "YAML: %s%s%s at line %zu column %zu",
		       p->context ? p->context : "", p->context ? ", " : "",
		       p->problem ? p->problem : "parse error",
		       p->problem_mark.line + 1, p->problem_mark.column + 1);
}

/* Hangs v (a new reference) under the current container, or makes it the
 * root. In a mapping a scalar without a pending key becomes the key. */
static fz_code attach(struct reader *r, const yaml_event_t *ev, json_t *v)
{
	struct frame *top;
	fz_code rc = FZ_OK;

	if (r->depth == 0) {
		r->root = v;
		return FZ_OK;
	}
	top = &r->stack[r->depth - 1];
	if (json_is_array(top->node)) {
		if (json_array_append_new(top->node, v) != 0)
			return fz_fail(r->err, FZ_ENOMEM, "YAML: out of memory");
		return FZ_OK;
	}
	if (top->key == NULL) {
		if (!json_is_string(v)) {
			rc = fail_at(r, ev, FZ_ESTRUCT,
				     "mapping keys must be plain scalars");
		} else if (json_object_getn(top->node, json_string_value(v),
					    json_string_length(v)) != NULL) {
			rc = fail_at(r, ev, FZ_ESTRUCT, "duplicate mapping key");
		}
		if (rc != FZ_OK) {
			json_decref(v);
			return rc;
		}
		top->key = v;
		return FZ_OK;
	}
	if (json_object_setn_new(top->node, json_string_value(top->key),
				 json_string_length(top->key), v) != 0)
		rc = fz_fail(r->err, FZ_ENOMEM, "YAML: out of memory");
	json_decref(top->key);
	top->key = NULL;
	return rc;
}

/* The node properties Placeholder Messages never use. */
static fz_code refuse_props(struct reader *r, const yaml_event_t *ev,
			    const yaml_char_t *anchor, const yaml_char_t *tag)
{
	if (anchor != NULL)
		return fail_at(r, ev, FZ_ESYNTAX, "anchors are not allowed");
	if (tag != NULL)
		return fail_at(r, ev, FZ_ESYNTAX, "explicit tags are not allowed");
	return FZ_OK;
}

static fz_code on_scalar(struct reader *r, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	fz_code rc;
	json_t *v;

	rc = refuse_props(r, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
	if (rc != FZ_OK)
		return rc;
	/* JSON text cannot carry NUL either; both forms must hold one tree. */
	if (memchr(s, '\0', n) != NULL)
		return fail_at(r, ev, FZ_ESYNTAX, "NUL in a scalar");
	v = json_stringn(s, n);
	if (v == NULL)
		return fail_at(r, ev, FZ_ESYNTAX, "scalar is not UTF-8");
	return attach(r, ev, v);
}

static fz_code on_start(struct reader *r, const yaml_event_t *ev, bool mapping)
{
	const yaml_char_t *anchor = mapping ? ev->data.mapping_start.anchor
					    : ev->data.sequence_start.anchor;
	const yaml_char_t *tag = mapping ? ev->data.mapping_start.tag
					 : ev->data.sequence_start.tag;
	fz_code rc;
	json_t *v;

	rc = refuse_props(r, ev, anchor, tag);
	if (rc != FZ_OK)
		return rc;
	if (r->depth >= r->max_depth)
		return fz_fail(r->err, FZ_ELIMIT,
			       "YAML nesting deeper than max_depth (%zu) at line %zu",
			       r->max_depth, ev->start_mark.line + 1);
	v = mapping ? json_object() : json_array();
	if (v == NULL)
		return fz_fail(r->err, FZ_ENOMEM, "YAML: out of memory");
	rc = attach(r, ev, v);
	if (rc != FZ_OK)
		return rc;
	r->stack[r->depth].node = v;
	r->stack[r->depth].key = NULL;
	r->depth++;
	return FZ_OK;
}

static fz_code on_event(struct reader *r, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++r->documents > 1)
			return fail_at(r, ev, FZ_ESYNTAX,
				       "only one document is allowed");
		return FZ_OK;
	case YAML_ALIAS_EVENT:
		return fail_at(r, ev, FZ_ESYNTAX, "aliases are not allowed");
	case YAML_SCALAR_EVENT:
		return on_scalar(r, ev);
	case YAML_SEQUENCE_START_EVENT:
		return on_start(r, ev, false);
	case YAML_MAPPING_START_EVENT:
		return on_start(r, ev, true);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (r->depth > 0)
			r->depth--;
		return FZ_OK;
	case YAML_STREAM_END_EVENT:
		r->done = true;
		return FZ_OK;
	default:
		return FZ_OK;
	}
}

fz_code fz_placeholder_from_yaml(const char *buf, size_t len,
				 const fz_limits *lim, json_t **out, fz_err *err)
{
	struct reader r;
	yaml_event_t ev;
	fz_code rc = FZ_OK;
	size_t i;

	lim = fz_limits_or_default(lim);
	if (len > lim->max_document_bytes)
		return fz_fail(err, FZ_ELIMIT,
			       "document of %zu bytes exceeds max_document_bytes (%zu)",
			       len, lim->max_document_bytes);
	memset(&r, 0, sizeof(r));
	r.err = err;
	r.max_depth = fz_ph_max_depth(lim);
	r.stack = calloc(r.max_depth + 1, sizeof(*r.stack));
	if (r.stack == NULL || !yaml_parser_initialize(&r.parser)) {
		free(r.stack);
		return fz_fail(err, FZ_ENOMEM, "YAML: out of memory");
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&r.parser, YAML_UTF8_ENCODING);
	while (!r.done && rc == FZ_OK) {
		if (!yaml_parser_parse(&r.parser, &ev)) {
			rc = parser_error(&r);
			break;
		}
		rc = on_event(&r, &ev);
		yaml_event_delete(&ev);
	}
	if (rc == FZ_OK && r.root == NULL)
		rc = fz_fail(err, FZ_ESYNTAX, "YAML: empty document");
	for (i = 0; i < r.max_depth + 1; i++)
		json_decref(r.stack[i].key);
	free(r.stack);
	yaml_parser_delete(&r.parser);
	if (rc != FZ_OK) {
		json_decref(r.root);
		return rc;
	}
	*out = r.root;
	return FZ_OK;
}

/* ---- writing ---- */

struct out {
	char *p;
	size_t len, cap;
};

static int write_cb(void *data, unsigned char *buffer, size_t size)
{
	struct out *o = data;
	char *p;
	size_t cap;

	if (size + 1 > o->cap - o->len) {
		cap = o->cap ? o->cap : 1024;
		while (size + 1 > cap - o->len) {
			if (cap > SIZE_MAX / 2)
				return 0;
			cap *= 2;
		}
		p = realloc(o->p, cap);
		if (p == NULL)
			return 0;
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, buffer, size);
	o->len += size;
	o->p[o->len] = '\0';
	return 1;
}

/* Plain scalars that some YAML reader would not take for a string
 * (YAML 1.1 booleans, null, numbers, timestamps, merge keys). Quoting a
 * few strings too many costs nothing. */
static bool looks_typed(const char *s, size_t n)
{
	static const char *const words[] = {
		"y", "n", "yes", "no", "true", "false", "on", "off", "null",
		"<<", "=",
	};
	size_t i;

	if (strchr("0123456789+-.~", s[0]) != NULL)
		return true;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (fz_ascii_ieq(s, n, words[i]))
			return true;
	return false;
}

/* Bytes libyaml would write raw in plain or single-quoted style but that
 * a reader folds or rejects: C0, DEL, C1 (NEL), U+2028/9, BOM. */
static bool needs_escape(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return true;
		if (p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return true;
		if (p[i] == 0xe2 && i + 2 < n && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
			return true;
		if (p[i] == 0xef && i + 2 < n && p[i + 1] == 0xbb && p[i + 2] == 0xbf)
			return true;
	}
	return false;
}

static yaml_scalar_style_t scalar_style(const char *s, size_t n)
{
	if (n == 0 || looks_typed(s, n) || needs_escape(s, n) || s[0] == ' ' ||
	    s[n - 1] == ' ')
		return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	/* libyaml falls back to quotes when plain cannot say it. */
	return YAML_PLAIN_SCALAR_STYLE;
}

static fz_code emit(yaml_emitter_t *e, yaml_event_t *ev, fz_err *err)
{
	if (yaml_emitter_emit(e, ev))
		return FZ_OK;
	if (e->error == YAML_MEMORY_ERROR || e->error == YAML_WRITER_ERROR)
		return fz_fail(err, FZ_ENOMEM, "YAML: out of memory");
	return fz_fail(err, FZ_EINTERNAL, "YAML: %s",
		       e->problem ? e->problem : "emitter error");
}

static fz_code emit_scalar(yaml_emitter_t *e, const char *s, size_t n,
			   fz_err *err)
{
	yaml_event_t ev;

	if (n > INT32_MAX)
		return fz_fail(err, FZ_ELIMIT, "YAML: scalar too long");
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s,
					  (int)n, 1, 1, scalar_style(s, n)))
		return fz_fail(err, FZ_ENOMEM, "YAML: out of memory");
	return emit(e, &ev, err);
}

static fz_code emit_node(yaml_emitter_t *e, const json_t *v, int depth,
			 fz_err *err);

static fz_code emit_object(yaml_emitter_t *e, const json_t *v, int depth,
			   fz_err *err)
{
	yaml_event_t ev;
	const char *key;
	json_t *child;
	fz_code rc;

	if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
						 YAML_BLOCK_MAPPING_STYLE))
		return fz_fail(err, FZ_ENOMEM, "YAML: out of memory");
	rc = emit(e, &ev, err);
	json_object_foreach((json_t *)v, key, child) {
		if (rc != FZ_OK)
			return rc;
		rc = emit_scalar(e, key,
				 json_object_iter_key_len(json_object_key_to_iter(key)),
				 err);
		if (rc == FZ_OK)
			rc = emit_node(e, child, depth + 1, err);
	}
	if (rc != FZ_OK)
		return rc;
	yaml_mapping_end_event_initialize(&ev);
	return emit(e, &ev, err);
}

static fz_code emit_array(yaml_emitter_t *e, const json_t *v, int depth,
			  fz_err *err)
{
	yaml_event_t ev;
	json_t *child;
	size_t i;
	fz_code rc;

	if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
						  YAML_BLOCK_SEQUENCE_STYLE))
		return fz_fail(err, FZ_ENOMEM, "YAML: out of memory");
	rc = emit(e, &ev, err);
	json_array_foreach(v, i, child) {
		if (rc != FZ_OK)
			return rc;
		rc = emit_node(e, child, depth + 1, err);
	}
	if (rc != FZ_OK)
		return rc;
	yaml_sequence_end_event_initialize(&ev);
	return emit(e, &ev, err);
}

static fz_code emit_node(yaml_emitter_t *e, const json_t *v, int depth,
			 fz_err *err)
{
	if (depth > 2048)
		return fz_fail(err, FZ_ELIMIT, "YAML: nesting too deep to write");
	if (json_is_object(v))
		return emit_object(e, v, depth, err);
	if (json_is_array(v))
		return emit_array(e, v, depth, err);
	if (json_is_string(v))
		return emit_scalar(e, json_string_value(v), json_string_length(v),
				   err);
	return fz_fail(err, FZ_ESTRUCT,
		       "YAML: only mappings, lists and strings can be written");
}

fz_code fz_placeholder_to_yaml(const json_t *doc, char **out, size_t *outlen,
			       fz_err *err)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	struct out o = {0};
	fz_code rc;

	if (!yaml_emitter_initialize(&e))
		return fz_fail(err, FZ_ENOMEM, "YAML: out of memory");
	yaml_emitter_set_output(&e, write_cb, &o);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_indent(&e, 2);
	/* No folding: a long header value stays one line, as it hashes. */
	yaml_emitter_set_width(&e, -1);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	rc = emit(&e, &ev, err);
	if (rc == FZ_OK) {
		yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
		rc = emit(&e, &ev, err);
	}
	if (rc == FZ_OK)
		rc = emit_node(&e, doc, 1, err);
	if (rc == FZ_OK) {
		yaml_document_end_event_initialize(&ev, 1);
		rc = emit(&e, &ev, err);
	}
	if (rc == FZ_OK) {
		yaml_stream_end_event_initialize(&ev);
		rc = emit(&e, &ev, err);
	}
	if (rc == FZ_OK && !yaml_emitter_flush(&e))
		rc = fz_fail(err, FZ_ENOMEM, "YAML: out of memory");
	yaml_emitter_delete(&e);
	if (rc != FZ_OK) {
		free(o.p);
		return rc;
	}
	*out = o.p;
	*outlen = o.len;
	return FZ_OK;
}
