/*
 * placeholder_util.c - small helpers the placeholder files share: error
 * paths, the strings-only tree rule, ASCII case folding.
 */
#include "placeholder_int.h"

#include <stdio.h>
#include <string.h>

static size_t path_add(fz_path *p, const char *fmt, const char *key, size_t i)
{
	size_t mark = p->len;
	int w;

	if (p->len >= sizeof(p->s) - 1)
		return mark;
	if (key != NULL)
		w = snprintf(p->s + p->len, sizeof(p->s) - p->len, fmt, key);
	else
		w = snprintf(p->s + p->len, sizeof(p->s) - p->len, fmt, i);
	if (w < 0)
		w = 0;
	p->len += (size_t)w;
	if (p->len > sizeof(p->s) - 1)
		p->len = sizeof(p->s) - 1;
	return mark;
}

size_t fz_path_key(fz_path *p, const char *key)
{
	return path_add(p, p->len == 0 ? "%s" : ".%s", key, 0);
}

size_t fz_path_index(fz_path *p, size_t i)
{
	return path_add(p, "[%zu]", NULL, i);
}

void fz_path_pop(fz_path *p, size_t mark)
{
	p->len = mark;
	p->s[mark] = '\0';
}

fz_code fz_path_prefix(const fz_path *p, fz_code rc, fz_err *err)
{
	if (err != NULL && p->len > 0 && rc != FZ_OK)
		fz_err_prefix(err, "%s", p->s);
	return rc;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	default:
		return "a container";
	}
}

static fz_code walk(const json_t *v, size_t depth, size_t max, fz_path *path,
		    fz_err *err)
{
	const char *key;
	json_t *child;
	size_t i, mark;
	fz_code rc;

	if (json_is_string(v))
		return FZ_OK;
	if (!json_is_object(v) && !json_is_array(v)) {
		return fz_path_prefix(path, fz_fail(err, FZ_ESTRUCT,
			"%s is not allowed in a Placeholder Message; quote it as a string",
			type_name(v)), err);
	}
	if (depth > max)
		return fz_fail(err, FZ_ELIMIT,
			       "nesting deeper than max_depth (%zu)", max);
	if (json_is_array(v)) {
		json_array_foreach(v, i, child) {
			mark = fz_path_index(path, i);
			rc = walk(child, depth + 1, max, path, err);
			fz_path_pop(path, mark);
			if (rc != FZ_OK)
				return rc;
		}
		return FZ_OK;
	}
	json_object_foreach((json_t *)v, key, child) {
		mark = fz_path_key(path, key);
		rc = walk(child, depth + 1, max, path, err);
		fz_path_pop(path, mark);
		if (rc != FZ_OK)
			return rc;
	}
	return FZ_OK;
}

fz_code fz_ph_check_tree(const json_t *v, size_t max_depth, fz_err *err)
{
	fz_path path = {{0}, 0};

	if (v == NULL)
		return fz_fail(err, FZ_EINTERNAL, "no document");
	return walk(v, 1, max_depth, &path, err);
}

const fz_limits *fz_limits_or_default(const fz_limits *lim)
{
	return lim != NULL ? lim : fz_limits_defaults();
}

size_t fz_ph_max_depth(const fz_limits *lim)
{
	lim = fz_limits_or_default(lim);
	return lim->max_depth < FZ_LIMIT_DEPTH_CEILING ? lim->max_depth
						       : FZ_LIMIT_DEPTH_CEILING;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

bool fz_ascii_ieq(const char *a, size_t an, const char *b)
{
	size_t i;

	for (i = 0; i < an; i++)
		if (b[i] == '\0' || lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
			return false;
	return b[an] == '\0';
}

void fz_trim_wsp(const char **s, size_t *n)
{
	while (*n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}
