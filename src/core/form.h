/*
 * form.h - application/x-www-form-urlencoded bodies and URL query strings.
 *
 * OAuth endpoints (/token, /authorize, /revoke) and the login form speak
 * this encoding, so the parser is strict where laxness would let two
 * readers disagree: a bad percent escape, an encoded NUL, invalid UTF-8,
 * a raw control or non-ASCII byte, or an empty name is refused. A repeated
 * name is kept and reported, because RFC 6749 §3.1 makes a repeated
 * parameter an error and only the caller knows which parameters count.
 */
#ifndef FZ_CORE_FORM_H
#define FZ_CORE_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"

#define FZ_FORM_MAX_PARAMS_DEFAULT 64
#define FZ_FORM_MAX_BYTES_DEFAULT (64 * 1024)
#define FZ_QUERY_MAX_BYTES_DEFAULT (8 * 1024)

typedef struct fz_form_limits {
	size_t max_params; /* name=value pairs, empty pairs not counted */
	size_t max_bytes;  /* length of the encoded input */
} fz_form_limits;

#define FZ_FORM_LIMITS_DEFAULT \
	{ FZ_FORM_MAX_PARAMS_DEFAULT, FZ_FORM_MAX_BYTES_DEFAULT }
#define FZ_QUERY_LIMITS_DEFAULT \
	{ FZ_FORM_MAX_PARAMS_DEFAULT, FZ_QUERY_MAX_BYTES_DEFAULT }

typedef struct fz_param {
	const char *name; /* decoded, NUL-terminated, never empty */
	size_t name_len;
	const char *value; /* decoded, NUL-terminated, may be empty */
	size_t value_len;
} fz_param;

typedef struct fz_form {
	fz_param *params; /* in input order */
	size_t count;
	const char *repeated; /* first name that occurs twice, or NULL */
} fz_form;

/* Parses a request body. Strings live in the arena. On failure *out is
 * left empty. Errors: FZ_ESYNTAX (400) for malformed input, FZ_ELIMIT for
 * too many pairs (400) or too many bytes (413). */
fz_code fz_form_parse(fz_arena *a, const char *s, size_t n,
		      const fz_form_limits *lim, fz_form *out, fz_err *err);

/* The same grammar for the part of a URL after '?' (without the '?');
 * too many bytes answer 414. */
fz_code fz_query_parse(fz_arena *a, const char *s, size_t n,
		       const fz_form_limits *lim, fz_form *out, fz_err *err);

/* Strict percent-decoding of s[0..n) into the arena; '+' becomes a space
 * when plus_is_space (forms, queries) and stays '+' otherwise (paths).
 * Refuses bad escapes, %00, and raw bytes that are controls, space or
 * non-ASCII; the result must be UTF-8. */
fz_code fz_pct_decode(fz_arena *a, const char *s, size_t n, bool plus_is_space,
		      char **out, size_t *outlen, fz_err *err);

/* First value of name, or NULL. */
const char *fz_form_get(const fz_form *f, const char *name);
/* How many times name occurs. */
size_t fz_form_count(const fz_form *f, const char *name);

/* The OAuth way to read one parameter: *value is NULL when name is absent
 * or its value is empty (RFC 6749 §3.1: sent without a value = omitted);
 * a repeated name is FZ_ESYNTAX, invalid_request. */
fz_code fz_form_get_one(const fz_form *f, const char *name, const char **value,
			fz_err *err);

/* Fails with FZ_ESYNTAX, invalid_request, naming the parameter, when any
 * name occurs twice. */
fz_code fz_form_require_unique(const fz_form *f, fz_err *err);

#endif
