/*
 * router.c - method + path pattern to handler. A table scanned in order is
 * plenty for the few dozen routes a server has, and keeps the rules
 * obvious: a path matches a pattern segment by segment, the most literal
 * pattern wins, and the winner's shape decides 405 and Allow.
 */
#include "http_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fz_code fz_router_init(fz_router *r, fz_err *err)
{
	memset(r, 0, sizeof(*r));
	r->arena = fz_arena_new(0, 0);
	if (r->arena == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory for the router");
	return FZ_OK;
}

void fz_router_fini(fz_router *r)
{
	free(r->routes);
	fz_arena_free(r->arena);
	memset(r, 0, sizeof(*r));
}

static bool is_tchar(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool valid_method(const char *m)
{
	if (m == NULL || *m == '\0' || strlen(m) > 16)
		return false;
	for (; *m != '\0'; m++)
		if (!is_tchar(*m))
			return false;
	return true;
}

static bool valid_param_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!(s[i] == '_' || s[i] == '-' || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/* A literal segment is stored decoded, so "/a%20b" routes "/a b" paths. */
static fz_code compile_segment(fz_router *r, fz_route *rt, const char *s,
			       size_t n, size_t *nparams, fz_err *err)
{
	char *text;
	size_t len;
	fz_code rc;

	if (n == 0)
		return fz_fail(err, FZ_ESYNTAX, "empty segment");
	if (rt->nseg == FZ_ROUTE_MAX_SEGMENTS)
		return fz_fail(err, FZ_ELIMIT, "more than %d segments",
			       FZ_ROUTE_MAX_SEGMENTS);
	if (s[0] == '{' || s[n - 1] == '}') {
		if (n < 3 || s[0] != '{' || s[n - 1] != '}' ||
		    !valid_param_name(s + 1, n - 2))
			return fz_fail(err, FZ_ESYNTAX, "bad parameter segment %.*s",
				       (int)n, s);
		if (++*nparams > FZ_ROUTE_MAX_PARAMS)
			return fz_fail(err, FZ_ELIMIT, "more than %d parameters",
				       FZ_ROUTE_MAX_PARAMS);
		text = fz_arena_strndup(r->arena, s + 1, n - 2);
		if (text == NULL)
			return fz_fail(err, FZ_ENOMEM, "out of memory");
		rt->seg[rt->nseg].param = true;
	} else {
		if (memchr(s, '{', n) != NULL || memchr(s, '}', n) != NULL)
			return fz_fail(err, FZ_ESYNTAX, "braces inside segment %.*s",
				       (int)n, s);
		rc = fz_pct_decode(r->arena, s, n, false, &text, &len, err);
		if (rc != FZ_OK)
			return rc;
		rt->seg[rt->nseg].param = false;
	}
	rt->seg[rt->nseg].text = text;
	rt->nseg++;
	return FZ_OK;
}

static fz_code compile(fz_router *r, fz_route *rt, const char *pattern,
		       fz_err *err)
{
	const char *p, *slash;
	size_t nparams = 0, i, j;
	fz_code rc;

	if (pattern == NULL || pattern[0] != '/')
		return fz_fail(err, FZ_ESYNTAX, "pattern must start with '/'");
	if (strcmp(pattern, "/") == 0)
		return FZ_OK;
	for (p = pattern + 1;; p = slash + 1) {
		slash = strchr(p, '/');
		rc = compile_segment(r, rt, p, slash ? (size_t)(slash - p) : strlen(p),
				     &nparams, err);
		if (rc != FZ_OK)
			return rc;
		if (slash == NULL)
			break;
	}
	for (i = 0; i < rt->nseg; i++)
		for (j = i + 1; j < rt->nseg; j++)
			if (rt->seg[i].param && rt->seg[j].param &&
			    strcmp(rt->seg[i].text, rt->seg[j].text) == 0)
				return fz_fail(err, FZ_ESYNTAX, "parameter {%s} twice",
					       rt->seg[i].text);
	return FZ_OK;
}

/* Same shape: same segment count, literals equal where both are literal,
 * params at the same places. Routes of one shape are one resource. */
static bool same_shape(const fz_route *a, const fz_route *b)
{
	size_t i;

	if (a->nseg != b->nseg)
		return false;
	for (i = 0; i < a->nseg; i++) {
		if (a->seg[i].param != b->seg[i].param)
			return false;
		if (!a->seg[i].param && strcmp(a->seg[i].text, b->seg[i].text) != 0)
			return false;
	}
	return true;
}

static fz_code check_def(const fz_http_route_def *def, fz_err *err)
{
	bool stream = (def->flags & FZ_ROUTE_STREAM) != 0;

	if (!valid_method(def->method))
		return fz_fail(err, FZ_ESYNTAX, "bad method");
	if (def->handler == NULL)
		return fz_fail(err, FZ_ESYNTAX, "route %s %s has no handler",
			       def->method, def->pattern ? def->pattern : "");
	if (stream != (def->chunk != NULL))
		return fz_fail(err, FZ_ESYNTAX,
			       "route %s %s: a chunk callback goes with FZ_ROUTE_STREAM",
			       def->method, def->pattern ? def->pattern : "");
	if ((def->flags & ~(unsigned)FZ_ROUTE_STREAM) != 0)
		return fz_fail(err, FZ_ESYNTAX, "unknown route flags");
	return FZ_OK;
}

fz_code fz_router_add(fz_router *r, const fz_http_route_def *def, fz_err *err)
{
	fz_route rt = {.def = *def};
	fz_route *grown;
	size_t i;
	fz_code rc;

	rc = check_def(def, err);
	if (rc == FZ_OK)
		rc = compile(r, &rt, def->pattern, err);
	if (rc != FZ_OK) {
		fz_err_prefix(err, "route %s", def->pattern ? def->pattern : "(null)");
		return rc;
	}
	for (i = 0; i < r->count; i++)
		if (same_shape(&r->routes[i], &rt) &&
		    strcmp(r->routes[i].def.method, def->method) == 0)
			return fz_fail(err, FZ_ECONFLICT, "route %s %s duplicates %s %s",
				       def->method, def->pattern,
				       r->routes[i].def.method, r->routes[i].def.pattern);
	rt.def.method = fz_arena_strdup(r->arena, def->method);
	rt.def.pattern = fz_arena_strdup(r->arena, def->pattern);
	if (rt.def.method == NULL || rt.def.pattern == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if (r->count == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;

		grown = realloc(r->routes, cap * sizeof(*grown));
		if (grown == NULL)
			return fz_fail(err, FZ_ENOMEM, "out of memory");
		r->routes = grown;
		r->cap = cap;
	}
	r->routes[r->count++] = rt;
	return FZ_OK;
}

static bool seg_matches(const fz_route *rt, char **segs, size_t nseg)
{
	size_t i;

	if (rt->nseg != nseg)
		return false;
	for (i = 0; i < nseg; i++) {
		if (segs[i][0] == '\0')
			return false;
		if (!rt->seg[i].param && strcmp(rt->seg[i].text, segs[i]) != 0)
			return false;
	}
	return true;
}

/* Whether a beats b: the first segment where they differ is literal in a. */
static bool more_literal(const fz_route *a, const fz_route *b)
{
	size_t i;

	for (i = 0; i < a->nseg; i++)
		if (a->seg[i].param != b->seg[i].param)
			return !a->seg[i].param;
	return false;
}

static fz_code split_path(fz_arena *a, const char *path, char ***out,
			  size_t *nseg, fz_err *err)
{
	char **segs;
	const char *p, *slash;
	size_t n = 0, len;
	fz_code rc;

	*nseg = 0;
	if (path[0] != '/')
		return fz_fail(err, FZ_ESYNTAX, "request target is not a path");
	if (path[1] == '\0')
		return FZ_OK;
	/* One more segment than a pattern may have is enough to say 404. */
	segs = fz_arena_calloc(a, FZ_ROUTE_MAX_SEGMENTS + 1, sizeof(*segs));
	if (segs == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	for (p = path + 1; n <= FZ_ROUTE_MAX_SEGMENTS; p = slash + 1) {
		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		rc = fz_pct_decode(a, p, len, false, &segs[n], &len, err);
		if (rc != FZ_OK) {
			fz_err_prefix(err, "path");
			return rc;
		}
		n++;
		if (slash == NULL)
			break;
	}
	*out = segs;
	*nseg = n;
	return FZ_OK;
}

static void add_allow(char *allow, size_t size, const char *method)
{
	size_t used = strlen(allow);

	snprintf(allow + used, size - used, "%s%s", used ? ", " : "", method);
}

static void collect(const fz_router *r, const fz_route *best, const char *method,
		    fz_route_match *m)
{
	const fz_route *get = NULL;
	bool head = false;
	size_t i;

	for (i = 0; i < r->count; i++) {
		const fz_route *rt = &r->routes[i];

		if (!same_shape(rt, best))
			continue;
		add_allow(m->allow, sizeof(m->allow), rt->def.method);
		if (strcmp(rt->def.method, method) == 0)
			m->route = rt;
		if (strcmp(rt->def.method, "GET") == 0)
			get = rt;
		if (strcmp(rt->def.method, "HEAD") == 0)
			head = true;
	}
	/* GET answers HEAD unless the resource has a HEAD of its own. */
	if (get != NULL && !head) {
		add_allow(m->allow, sizeof(m->allow), "HEAD");
		if (m->route == NULL && strcmp(method, "HEAD") == 0)
			m->route = get;
	}
}

fz_code fz_router_match(const fz_router *r, fz_arena *a, const char *method,
			const char *path, fz_route_match *m, fz_err *err)
{
	const fz_route *best = NULL;
	char **segs = NULL;
	size_t nseg, i;
	fz_code rc;

	memset(m, 0, sizeof(*m));
	rc = split_path(a, path, &segs, &nseg, err);
	if (rc != FZ_OK)
		return rc;
	for (i = 0; i < r->count; i++) {
		const fz_route *rt = &r->routes[i];

		if (seg_matches(rt, segs, nseg) && (best == NULL || more_literal(rt, best)))
			best = rt;
	}
	if (best == NULL)
		return FZ_OK;
	collect(r, best, method, m);
	if (m->route == NULL)
		return FZ_OK;
	for (i = 0; i < nseg; i++) {
		if (!m->route->seg[i].param)
			continue;
		m->params[m->nparams].name = m->route->seg[i].text;
		m->params[m->nparams].value = segs[i];
		m->nparams++;
	}
	return FZ_OK;
}
