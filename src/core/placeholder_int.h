/*
 * placeholder_int.h - helpers shared by the placeholder_*.c files and
 * envelope.c; not part of the public API.
 */
#ifndef FZ_CORE_PLACEHOLDER_INT_H
#define FZ_CORE_PLACEHOLDER_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "fz_limits.h"

/* Where in the tree a check is, for error messages: "body.parts[0]". */
typedef struct fz_path {
	char s[160];
	size_t len;
} fz_path;

/* Appends ".key" or "[i]" and returns the previous length, which
 * fz_path_pop restores. A path too long for s is cut, never overrun. */
size_t fz_path_key(fz_path *p, const char *key);
size_t fz_path_index(fz_path *p, size_t i);
void fz_path_pop(fz_path *p, size_t mark);

/* Prefixes err's message with the path, when there is one; returns rc,
 * so a call reads `return fz_path_prefix(path, rc, err);`. */
fz_code fz_path_prefix(const fz_path *p, fz_code rc, fz_err *err);

/* Checks that v holds only objects, arrays and strings, nested at most
 * max_depth deep (the root container is depth 1). */
fz_code fz_ph_check_tree(const json_t *v, size_t max_depth, fz_err *err);

const fz_limits *fz_limits_or_default(const fz_limits *lim);

/* lim's max_depth, at most FZ_LIMIT_DEPTH_CEILING. */
size_t fz_ph_max_depth(const fz_limits *lim);

/* ASCII case-insensitive equality of a[0..an) and the C string b. */
bool fz_ascii_ieq(const char *a, size_t an, const char *b);

/* Drops leading and trailing SP and HTAB. */
void fz_trim_wsp(const char **s, size_t *n);

#endif
