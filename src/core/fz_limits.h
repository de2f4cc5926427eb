/*
 * fz_limits.h - the input limits of SPEC §3 in one place. Every parser that
 * reads a Placeholder Message takes an fz_limits, so a deployment can
 * tighten or loosen them in its configuration, and every breach names the
 * limit and its configured value in the error (FZ_ELIMIT, HTTP 413).
 */
#ifndef FZ_CORE_FZ_LIMITS_H
#define FZ_CORE_FZ_LIMITS_H

#include <stddef.h>

typedef struct fz_limits {
	size_t max_document_bytes;     /* bytes of one YAML or JSON document */
	size_t max_depth;              /* nested objects/arrays; the root is 1 */
	size_t max_parts;              /* MIME parts in body, multiparts included */
	size_t max_recipients;         /* addresses in To + Cc + Bcc of a block */
	size_t max_header_value_bytes; /* one header value (a list: its sum) */
	size_t max_chain_hops;         /* jwt-assertion entries in an envelope */
} fz_limits;

#define FZ_LIMIT_DOCUMENT_BYTES (1024 * 1024)
#define FZ_LIMIT_DEPTH 16
#define FZ_LIMIT_PARTS 1000
#define FZ_LIMIT_RECIPIENTS 1000
#define FZ_LIMIT_HEADER_VALUE_BYTES (16 * 1024)
#define FZ_LIMIT_CHAIN_HOPS 8

/* The tree code (and jansson's own free) recurses once per level, so a
 * configured max_depth above this ceiling is treated as the ceiling. */
#define FZ_LIMIT_DEPTH_CEILING 1024

/* Fills l with the SPEC §3 defaults. */
void fz_limits_default(fz_limits *l);

/* The defaults as a shared constant: functions taking a const fz_limits *
 * accept NULL and use this. */
const fz_limits *fz_limits_defaults(void);

#endif
