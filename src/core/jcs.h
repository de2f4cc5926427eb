/*
 * jcs.h - the JSON Canonicalization Scheme (RFC 8785): one byte string for
 * one JSON value, so two parties hash the same bytes whatever whitespace,
 * member order or number spelling they received. Body-Digest is
 * digest(JCS(body)) (SPEC §4).
 */
#ifndef FZ_CORE_JCS_H
#define FZ_CORE_JCS_H

#include <jansson.h>
#include <stddef.h>

#include "digest.h"
#include "err.h"

/* Longest number text fz_jcs_number writes, with its NUL. */
#define FZ_JCS_NUM_MAX 32

/* Deepest nesting fz_jcs serializes: jansson's own parser limit. */
#define FZ_JCS_MAX_DEPTH 2048

/* Serializes v canonically into a malloc'd buffer, NUL-terminated for
 * convenience (the NUL not counted in *outlen; strings may hold NUL).
 * Integers are treated as IEEE doubles, as RFC 8785 requires; NaN and
 * infinities are refused (FZ_ESYNTAX). */
fz_code fz_jcs(const json_t *v, char **out, size_t *outlen, fz_err *err);

/* digest(JCS(v)). */
fz_code fz_jcs_digest(const json_t *v, fz_digest_str *out, fz_err *err);

/* Writes d in ECMAScript Number.prototype.toString form: the shortest
 * digits that read back as d, "1e+21" style past 21 digits, "0.000001"
 * down to 1e-6, and -0 as "0". */
fz_code fz_jcs_number(double d, char out[FZ_JCS_NUM_MAX], size_t *outlen,
		      fz_err *err);

#endif
