/*
 * config.c - the generic configuration reader: YAML events from libyaml
 * into a tree of mappings, lists and scalars that keeps each node's line
 * and path, and typed getters that mark what they read so the keys nobody
 * read can be refused as typos.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "url.h"

struct fz_cfg_node {
	fz_cfg_kind kind;
	size_t line;      /* 1-based */
	const char *path; /* for messages */
	const char *text; /* scalars */
	bool is_null;     /* a plain empty, "~" or "null" scalar */
	bool used;        /* a getter read it (mapping values) */
	const char **keys; /* mappings: keys[i] names items[i] */
	fz_cfg_node **items;
	size_t count, cap;
};

struct reader {
	yaml_parser_t parser;
	fz_cfg *cfg;
	fz_cfg_node *stack[FZ_CFG_MAX_DEPTH + 1];
	size_t depth;
	const char *pending_key[FZ_CFG_MAX_DEPTH + 1]; /* per open mapping */
	size_t nodes;
	fz_err *err;
};

static fz_code nomem(fz_err *err)
{
	return fz_fail(err, FZ_ENOMEM, "config: out of memory");
}

static fz_code fail_line(fz_err *err, size_t line, const char *what)
{
	return fz_fail(err, FZ_ESYNTAX, "line %zu: %s", line, what);
}

fz_code fz_cfg_fail(const fz_cfg_node *n, fz_err *err, const char *fmt, ...)
{
	char msg[FZ_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fz_fail(err, FZ_ESTRUCT, "line %zu: %s: %s", n->line,
		       n->path[0] ? n->path : "(top)", msg);
}

static fz_code append(fz_arena *a, fz_cfg_node *parent, const char *key,
		      fz_cfg_node *child, fz_err *err)
{
	size_t cap;
	fz_cfg_node **items;
	const char **keys;

	if (parent->count == parent->cap) {
		cap = parent->cap ? parent->cap * 2 : 8;
		items = fz_arena_calloc(a, cap, sizeof(*items));
		keys = fz_arena_calloc(a, cap, sizeof(*keys));
		if (items == NULL || keys == NULL)
			return nomem(err);
		if (parent->count > 0) {
			memcpy(items, parent->items, parent->count * sizeof(*items));
			memcpy(keys, parent->keys, parent->count * sizeof(*keys));
		}
		parent->items = items;
		parent->keys = keys;
		parent->cap = cap;
	}
	parent->keys[parent->count] = key;
	parent->items[parent->count++] = child;
	return FZ_OK;
}

static bool scalar_is_null(const yaml_event_t *ev)
{
	const char *v = (const char *)ev->data.scalar.value;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	       strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

/* A new node for event ev, placed under the current container. In a
 * mapping awaiting a key, a scalar becomes that key instead. */
static fz_code place(struct reader *r, const yaml_event_t *ev, fz_cfg_kind kind,
		     fz_cfg_node **out)
{
	fz_arena *a = r->cfg->arena;
	fz_cfg_node *parent = r->depth ? r->stack[r->depth - 1] : NULL, *n;
	size_t line = ev->start_mark.line + 1, i;
	const char *key = NULL;

	*out = NULL;
	if (parent != NULL && parent->kind == FZ_CFG_MAP &&
	    r->pending_key[r->depth - 1] == NULL) {
		if (kind != FZ_CFG_SCALAR)
			return fail_line(r->err, line, "mapping keys must be plain scalars");
		key = fz_arena_strdup(a, (const char *)ev->data.scalar.value);
		if (key == NULL)
			return nomem(r->err);
		for (i = 0; i < parent->count; i++)
			if (strcmp(parent->keys[i], key) == 0)
				return fz_fail(r->err, FZ_ESTRUCT, "line %zu: duplicate key '%s'",
					       line, key);
		r->pending_key[r->depth - 1] = key;
		return FZ_OK;
	}
	if (++r->nodes > FZ_CFG_MAX_NODES)
		return fz_fail(r->err, FZ_ELIMIT, "line %zu: more than %d nodes", line,
			       FZ_CFG_MAX_NODES);
	n = fz_arena_calloc(a, 1, sizeof(*n));
	if (n == NULL)
		return nomem(r->err);
	n->kind = kind;
	n->line = line;
	if (parent == NULL) {
		n->path = "";
	} else if (parent->kind == FZ_CFG_MAP) {
		key = r->pending_key[r->depth - 1];
		r->pending_key[r->depth - 1] = NULL;
		n->path = parent->path[0]
				  ? fz_arena_printf(a, "%s.%s", parent->path, key)
				  : key;
	} else {
		n->path = fz_arena_printf(a, "%s[%zu]", parent->path, parent->count);
	}
	if (n->path == NULL)
		return nomem(r->err);
	if (kind == FZ_CFG_SCALAR) {
		n->text = fz_arena_memdup(a, ev->data.scalar.value, ev->data.scalar.length);
		if (n->text == NULL)
			return nomem(r->err);
		if (strlen(n->text) != ev->data.scalar.length)
			return fail_line(r->err, line, "NUL byte in a value");
		n->is_null = scalar_is_null(ev);
	}
	if (parent == NULL)
		r->cfg->root = n;
	else if (append(a, parent, key, n, r->err) != FZ_OK)
		return FZ_ENOMEM;
	*out = n;
	return FZ_OK;
}

static fz_code open_container(struct reader *r, const yaml_event_t *ev,
			      fz_cfg_kind kind)
{
	fz_cfg_node *n;
	fz_code rc;

	if (r->depth >= FZ_CFG_MAX_DEPTH)
		return fz_fail(r->err, FZ_ELIMIT, "line %zu: nested deeper than %d",
			       ev->start_mark.line + 1, FZ_CFG_MAX_DEPTH);
	rc = place(r, ev, kind, &n);
	if (rc != FZ_OK)
		return rc;
	if (n == NULL)
		return fail_line(r->err, ev->start_mark.line + 1,
				 "mapping keys must be plain scalars");
	r->pending_key[r->depth] = NULL;
	r->stack[r->depth++] = n;
	return FZ_OK;
}

/* Refuses what a config never needs and a reader could be fooled by. */
static fz_code refuse_extras(struct reader *r, const yaml_event_t *ev)
{
	const yaml_char_t *anchor = NULL, *tag = NULL;
	bool implicit = true;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		implicit = ev->data.scalar.plain_implicit || ev->data.scalar.quoted_implicit;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		implicit = ev->data.sequence_start.implicit;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		implicit = ev->data.mapping_start.implicit;
		break;
	case YAML_ALIAS_EVENT:
		return fail_line(r->err, ev->start_mark.line + 1, "aliases are not allowed");
	default:
		return FZ_OK;
	}
	if (anchor != NULL)
		return fail_line(r->err, ev->start_mark.line + 1, "anchors are not allowed");
	if (tag != NULL || !implicit)
		return fail_line(r->err, ev->start_mark.line + 1, "tags are not allowed");
	return FZ_OK;
}

static fz_code handle(struct reader *r, const yaml_event_t *ev, bool *done)
{
	fz_cfg_node *n;
	fz_code rc = refuse_extras(r, ev);

	if (rc != FZ_OK)
		return rc;
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (r->cfg->root != NULL)
			return fail_line(r->err, ev->start_mark.line + 1,
					 "only one YAML document is allowed");
		return FZ_OK;
	case YAML_SCALAR_EVENT:
		return place(r, ev, FZ_CFG_SCALAR, &n);
	case YAML_SEQUENCE_START_EVENT:
		return open_container(r, ev, FZ_CFG_SEQ);
	case YAML_MAPPING_START_EVENT:
		return open_container(r, ev, FZ_CFG_MAP);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		r->depth--;
		return FZ_OK;
	case YAML_STREAM_END_EVENT:
		*done = true;
		return FZ_OK;
	default:
		return FZ_OK;
	}
}

static fz_code parser_error(const yaml_parser_t *p, fz_err *err)
{
	if (p->error == YAML_MEMORY_ERROR)
		return nomem(err);
	return fz_fail(err, FZ_ESYNTAX, "line %zu: YAML: %s", p->problem_mark.line + 1,
		       p->problem ? p->problem : "parse error");
}

static fz_code read_events(struct reader *r)
{
	yaml_event_t ev;
	bool done = false;
	fz_code rc = FZ_OK;

	while (!done && rc == FZ_OK) {
		if (!yaml_parser_parse(&r->parser, &ev))
			return parser_error(&r->parser, r->err);
		rc = handle(r, &ev, &done);
		yaml_event_delete(&ev);
	}
	return rc;
}

fz_code fz_cfg_parse(const char *buf, size_t len, fz_cfg **out, fz_err *err)
{
	struct reader r;
	fz_cfg *cfg;
	fz_arena *a;
	fz_code rc;

	*out = NULL;
	if (len > FZ_CFG_MAX_BYTES)
		return fz_fail(err, FZ_ELIMIT, "config is larger than %d bytes",
			       FZ_CFG_MAX_BYTES);
	a = fz_arena_new(0, 0);
	if (a == NULL || (cfg = fz_arena_calloc(a, 1, sizeof(*cfg))) == NULL) {
		fz_arena_free(a);
		return nomem(err);
	}
	cfg->arena = a;
	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.err = err;
	if (!yaml_parser_initialize(&r.parser)) {
		fz_arena_free(a);
		return nomem(err);
	}
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)buf, len);
	yaml_parser_set_encoding(&r.parser, YAML_UTF8_ENCODING);
	rc = read_events(&r);
	yaml_parser_delete(&r.parser);
	if (rc == FZ_OK && cfg->root == NULL) {
		/* An empty file: an empty mapping, so required keys say so. */
		cfg->root = fz_arena_calloc(a, 1, sizeof(*cfg->root));
		if (cfg->root == NULL)
			rc = nomem(err);
		else {
			cfg->root->kind = FZ_CFG_MAP;
			cfg->root->line = 1;
			cfg->root->path = "";
		}
	}
	if (rc == FZ_OK && cfg->root->kind != FZ_CFG_MAP)
		rc = fz_fail(err, FZ_ESTRUCT, "line %zu: the top of the file must be a mapping of keys",
			     cfg->root->line);
	if (rc != FZ_OK) {
		fz_arena_free(a);
		return rc;
	}
	*out = cfg;
	return FZ_OK;
}

void fz_cfg_free(fz_cfg *cfg)
{
	if (cfg != NULL)
		fz_arena_free(cfg->arena);
}

const fz_cfg_node *fz_cfg_root(const fz_cfg *cfg)
{
	return cfg->root;
}

fz_cfg_kind fz_cfg_node_kind(const fz_cfg_node *n)
{
	return n->kind;
}

size_t fz_cfg_node_line(const fz_cfg_node *n)
{
	return n->line;
}

const char *fz_cfg_node_path(const fz_cfg_node *n)
{
	return n->path;
}

const char *fz_cfg_node_text(const fz_cfg_node *n)
{
	return n->kind == FZ_CFG_SCALAR ? n->text : NULL;
}

size_t fz_cfg_node_count(const fz_cfg_node *n)
{
	return n->kind == FZ_CFG_SCALAR ? 0 : n->count;
}

const fz_cfg_node *fz_cfg_node_at(const fz_cfg_node *n, size_t i)
{
	return i < fz_cfg_node_count(n) ? n->items[i] : NULL;
}

const fz_cfg_node *fz_cfg_get(const fz_cfg_node *map, const char *key)
{
	size_t i;

	if (map == NULL || map->kind != FZ_CFG_MAP)
		return NULL;
	for (i = 0; i < map->count; i++) {
		if (strcmp(map->keys[i], key) != 0)
			continue;
		/* The tree is the reader's own; marking is its bookkeeping. */
		((fz_cfg_node *)map->items[i])->used = true;
		if (map->items[i]->kind == FZ_CFG_SCALAR && map->items[i]->is_null)
			return NULL;
		return map->items[i];
	}
	return NULL;
}

/* Levenshtein distance of two short keys, or a large number. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, prev[33], cur[33];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* A required key is absent. When an unread key beside it is one or two
 * edits away, that typo is the real story: say so. */
static fz_code missing(const fz_cfg_node *map, const char *key, fz_err *err)
{
	size_t i;

	for (i = 0; i < map->count; i++)
		if (!map->items[i]->used && distance(map->keys[i], key) <= 2)
			return fz_fail(err, FZ_ESTRUCT, "line %zu: unknown key '%s' "
				       "(did you mean '%s'?)", map->items[i]->line,
				       map->keys[i], key);
	if (map->path[0])
		return fz_fail(err, FZ_ESTRUCT, "line %zu: %s.%s is required",
			       map->line, map->path, key);
	return fz_fail(err, FZ_ESTRUCT, "%s is required", key);
}

static fz_code scalar(const fz_cfg_node *map, const char *key, bool required,
		      const fz_cfg_node **out, fz_err *err)
{
	const fz_cfg_node *n = fz_cfg_get(map, key);

	*out = n;
	if (n == NULL)
		return required ? missing(map, key, err) : FZ_OK;
	if (n->kind != FZ_CFG_SCALAR)
		return fz_cfg_fail(n, err, "must be a single value, not a %s",
				   n->kind == FZ_CFG_MAP ? "mapping" : "list");
	return FZ_OK;
}

fz_code fz_cfg_string(const fz_cfg_node *map, const char *key, bool required,
		      const char **out, fz_err *err)
{
	const fz_cfg_node *n;
	fz_code rc = scalar(map, key, required, &n, err);

	if (rc != FZ_OK || n == NULL)
		return rc;
	if (n->text[0] == '\0')
		return fz_cfg_fail(n, err, "must not be empty");
	*out = n->text;
	return FZ_OK;
}

fz_code fz_cfg_uint(const fz_cfg_node *map, const char *key, uint64_t min,
		    uint64_t max, uint64_t *out, fz_err *err)
{
	const fz_cfg_node *n;
	unsigned long long v;
	char *end;
	fz_code rc = scalar(map, key, false, &n, err);

	if (rc != FZ_OK || n == NULL)
		return rc;
	errno = 0;
	v = strtoull(n->text, &end, 10);
	if (n->text[0] < '0' || n->text[0] > '9' || *end != '\0' || errno != 0 ||
	    v < min || v > max)
		return fz_cfg_fail(n, err, "must be a whole number from %llu to %llu, not '%.40s'",
				   (unsigned long long)min, (unsigned long long)max, n->text);
	*out = v;
	return FZ_OK;
}

fz_code fz_cfg_bool(const fz_cfg_node *map, const char *key, bool *out,
		    fz_err *err)
{
	const fz_cfg_node *n;
	fz_code rc = scalar(map, key, false, &n, err);

	if (rc != FZ_OK || n == NULL)
		return rc;
	if (strcmp(n->text, "true") == 0)
		*out = true;
	else if (strcmp(n->text, "false") == 0)
		*out = false;
	else
		return fz_cfg_fail(n, err, "must be true or false, not '%.40s'", n->text);
	return FZ_OK;
}

fz_code fz_cfg_map(const fz_cfg_node *map, const char *key, bool required,
		   const fz_cfg_node **out, fz_err *err)
{
	const fz_cfg_node *n = fz_cfg_get(map, key);

	*out = NULL;
	if (n == NULL)
		return required ? missing(map, key, err) : FZ_OK;
	if (n->kind != FZ_CFG_MAP)
		return fz_cfg_fail(n, err, "must be a mapping of keys");
	*out = n;
	return FZ_OK;
}

fz_code fz_cfg_strings(const fz_cfg *cfg, const fz_cfg_node *map,
		       const char *key, bool required, const char ***out,
		       size_t *count, fz_err *err)
{
	const fz_cfg_node *n = fz_cfg_get(map, key);
	const char **v;
	size_t i;

	*out = NULL;
	*count = 0;
	if (n == NULL)
		return required ? missing(map, key, err) : FZ_OK;
	if (n->kind != FZ_CFG_SEQ)
		return fz_cfg_fail(n, err, "must be a list");
	if (required && n->count == 0)
		return fz_cfg_fail(n, err, "must not be empty");
	v = fz_arena_calloc(cfg->arena, n->count + 1, sizeof(*v));
	if (v == NULL)
		return nomem(err);
	for (i = 0; i < n->count; i++) {
		if (n->items[i]->kind != FZ_CFG_SCALAR || n->items[i]->is_null ||
		    n->items[i]->text[0] == '\0')
			return fz_cfg_fail(n->items[i], err, "must be a non-empty value");
		v[i] = n->items[i]->text;
	}
	*out = v;
	*count = n->count;
	return FZ_OK;
}

static fz_code check_node(const fz_cfg_node *n, fz_err *err)
{
	size_t i;
	fz_code rc;

	for (i = 0; i < n->count; i++) {
		if (n->kind == FZ_CFG_MAP && !n->items[i]->used) {
			if (n->path[0])
				return fz_fail(err, FZ_ESTRUCT, "line %zu: unknown key '%s' in %s",
					       n->items[i]->line, n->keys[i], n->path);
			return fz_fail(err, FZ_ESTRUCT, "line %zu: unknown key '%s'",
				       n->items[i]->line, n->keys[i]);
		}
		/* Below an unread key nothing was read either: it was
		 * reported above, so only read subtrees are walked. */
		rc = check_node(n->items[i], err);
		if (rc != FZ_OK)
			return rc;
	}
	return FZ_OK;
}

fz_code fz_cfg_check_unused(const fz_cfg *cfg, fz_err *err)
{
	return check_node(cfg->root, err);
}

bool fz_cfg_dns_name_valid(const char *s, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253 || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (label == 0 && c == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return s[n - 1] != '-';
}

static bool numeric_host(const char *h, bool v6)
{
	unsigned char buf[16];

	return inet_pton(v6 ? AF_INET6 : AF_INET, h, buf) == 1;
}

fz_code fz_cfg_hostport(const fz_cfg *cfg, const fz_cfg_node *map,
			const char *key, bool names_ok, const char **host,
			uint16_t *port, fz_err *err)
{
	const fz_cfg_node *n;
	const char *s, *colon;
	unsigned long p;
	char *h, *end;
	bool v6;
	fz_code rc = scalar(map, key, false, &n, err);

	if (rc != FZ_OK || n == NULL)
		return rc;
	s = n->text;
	v6 = s[0] == '[';
	colon = v6 ? strstr(s, "]:") : strrchr(s, ':');
	if (colon == NULL || (!v6 && memchr(s, ':', (size_t)(colon - s)) != NULL))
		return fz_cfg_fail(n, err, "must be host:port (IPv6 as [addr]:port), not '%.60s'", s);
	if (v6)
		colon++;
	h = fz_arena_strndup(cfg->arena, s + v6, (size_t)(colon - s) - 2 * v6);
	if (h == NULL)
		return nomem(err);
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 ||
	    p == 0 || p > 65535)
		return fz_cfg_fail(n, err, "bad port '%.20s': must be 1 to 65535", colon + 1);
	if (!numeric_host(h, v6) &&
	    (v6 || !names_ok || !fz_cfg_dns_name_valid(h, strlen(h))))
		return fz_cfg_fail(n, err, "'%.60s' is not %s", h,
				   names_ok ? "an IP address or a DNS name"
					    : "a numeric IP address");
	*host = h;
	*port = (uint16_t)p;
	return FZ_OK;
}

fz_code fz_cfg_root_url(const fz_cfg_node *map, const char *key,
			const char **out, fz_err *err)
{
	const fz_cfg_node *n;
	fz_url u;
	fz_err uerr = {0};
	fz_code rc = fz_cfg_string(map, key, true, out, err);

	if (rc != FZ_OK)
		return rc;
	n = fz_cfg_get(map, key);
	if (fz_url_parse(*out, strlen(*out), &u, &uerr) != FZ_OK)
		return fz_cfg_fail(n, err, "not a URL: %s", uerr.msg);
	if (strcmp(u.scheme, "https") != 0)
		rc = fz_cfg_fail(n, err, "must be an https URL");
	else if (u.query != NULL || u.fragment != NULL)
		rc = fz_cfg_fail(n, err, "must have no query or fragment");
	else if (strcmp(u.path, "/") != 0)
		rc = fz_cfg_fail(n, err, "must have no path: the server is at the root of its host");
	fz_url_clear(&u);
	return rc;
}

fz_code fz_cfg_tls(const fz_cfg_node *map, const char **cert, const char **key,
		   fz_err *err)
{
	const fz_cfg_node *tls;
	fz_code rc = fz_cfg_map(map, "tls", true, &tls, err);

	if (rc == FZ_OK)
		rc = fz_cfg_string(tls, "cert", true, cert, err);
	if (rc == FZ_OK)
		rc = fz_cfg_string(tls, "key", true, key, err);
	return rc;
}

/* Bounds of the jose block: a leeway up to FZ_JOSE_LEEWAY_MAX, a proof
 * window of at most an hour, token and proof sizes a server can hold. */
#define CFG_DPOP_WINDOW_MAX 3600
#define CFG_JWS_BYTES_MIN 1024
#define CFG_JWS_BYTES_MAX (1024 * 1024)
#define CFG_DPOP_BYTES_MIN 512
#define CFG_DPOP_BYTES_MAX (64 * 1024)

fz_code fz_cfg_jose(const fz_cfg_node *map, fz_jose_config *j, fz_err *err)
{
	const fz_cfg_node *m;
	uint64_t leeway = (uint64_t)j->leeway, window = (uint64_t)j->dpop_iat_window;
	uint64_t jws = j->jws_max_bytes, dpop = j->dpop_max_bytes;
	fz_code rc = fz_cfg_map(map, "jose", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	if ((rc = fz_cfg_uint(m, "leeway", 0, FZ_JOSE_LEEWAY_MAX, &leeway, err)) ||
	    (rc = fz_cfg_uint(m, "dpop_iat_window", 1, CFG_DPOP_WINDOW_MAX, &window, err)) ||
	    (rc = fz_cfg_uint(m, "max_jws_bytes", CFG_JWS_BYTES_MIN, CFG_JWS_BYTES_MAX,
			      &jws, err)) ||
	    (rc = fz_cfg_uint(m, "max_dpop_bytes", CFG_DPOP_BYTES_MIN, CFG_DPOP_BYTES_MAX,
			      &dpop, err)))
		return rc;
	j->leeway = (int64_t)leeway;
	j->dpop_iat_window = (int64_t)window;
	j->jws_max_bytes = (size_t)jws;
	j->dpop_max_bytes = (size_t)dpop;
	return FZ_OK;
}

/* Bounds of the discovery block: a resolver that needs more than 30 s or
 * a cache that keeps a domain's servers past a day is a mistake. */
#define CFG_DNS_TIMEOUT_MS_MAX 30000
#define CFG_DNS_TRIES_MAX 10
#define CFG_DISC_HTTP_TIMEOUT_MAX 300
#define CFG_DISC_ENTRIES_MAX 1000000
#define CFG_DISC_TTL_MAX 86400
#define CFG_DISC_RECORDS_MAX 1024
#define CFG_DISC_DOC_MIN 1024
#define CFG_DISC_DOC_MAX (16 * 1024 * 1024)
#define CFG_DISC_AS_MAX 64

void fz_cfg_discovery_unset(fz_cfg_discovery *d)
{
	d->dns_timeout_ms = d->dns_tries = d->dns_max_records = FZ_CFG_UNSET;
	d->connect_timeout = d->http_timeout = d->max_document_bytes = FZ_CFG_UNSET;
	d->max_authorization_servers = FZ_CFG_UNSET;
	d->cache_max_entries = d->ttl_min = d->ttl_max = d->negative_ttl = FZ_CFG_UNSET;
}

fz_code fz_cfg_discovery_read(const fz_cfg_node *map, fz_cfg_discovery *d, fz_err *err)
{
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(map, "discovery", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	if ((rc = fz_cfg_uint(m, "dns_timeout_ms", 10, CFG_DNS_TIMEOUT_MS_MAX,
			      &d->dns_timeout_ms, err)) ||
	    (rc = fz_cfg_uint(m, "dns_tries", 1, CFG_DNS_TRIES_MAX, &d->dns_tries, err)) ||
	    (rc = fz_cfg_uint(m, "dns_max_records", 1, CFG_DISC_RECORDS_MAX,
			      &d->dns_max_records, err)) ||
	    (rc = fz_cfg_uint(m, "connect_timeout", 1, CFG_DISC_HTTP_TIMEOUT_MAX,
			      &d->connect_timeout, err)) ||
	    (rc = fz_cfg_uint(m, "http_timeout", 1, CFG_DISC_HTTP_TIMEOUT_MAX,
			      &d->http_timeout, err)) ||
	    (rc = fz_cfg_uint(m, "max_document_bytes", CFG_DISC_DOC_MIN, CFG_DISC_DOC_MAX,
			      &d->max_document_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "max_authorization_servers", 1, CFG_DISC_AS_MAX,
			      &d->max_authorization_servers, err)) ||
	    (rc = fz_cfg_uint(m, "cache_max_entries", 1, CFG_DISC_ENTRIES_MAX,
			      &d->cache_max_entries, err)) ||
	    (rc = fz_cfg_uint(m, "ttl_min", 0, CFG_DISC_TTL_MAX, &d->ttl_min, err)) ||
	    (rc = fz_cfg_uint(m, "ttl_max", 1, CFG_DISC_TTL_MAX, &d->ttl_max, err)) ||
	    (rc = fz_cfg_uint(m, "negative_ttl", 0, CFG_DISC_TTL_MAX, &d->negative_ttl, err)))
		return rc;
	return FZ_OK;
}
