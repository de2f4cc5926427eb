/*
 * placeholder.h - the Placeholder Message (SPEC §3): one tree, read and
 * written as YAML or JSON, then checked against the protocol's shape.
 *
 * The tree is a jansson json_t holding only objects, arrays and strings:
 * YAML scalars always become strings, and JSON numbers, booleans and null
 * are refused, so both forms carry the same tree and the same Body-Digest.
 *
 *   { "envelope": [ entry, ... ]       newest first; the last is the origin
 *     "body": { "parts": [ part, ... ] } }
 *   entry = { "headers": block } | { "jwt-assertion": "<compact JWS>" }
 *   part  = { "headers": block, "parts"?: [ part, ... ] }
 *   block = [ { "Name": "value" | ["value", ...] }, ... ]
 *
 * Parsing (fz_placeholder_from_yaml/json) enforces the syntax, the size
 * and depth limits and the scalar rule; fz_placeholder_check enforces the
 * rest. The accessors below assume a document the check accepted.
 */
#ifndef FZ_CORE_PLACEHOLDER_H
#define FZ_CORE_PLACEHOLDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "fz_limits.h"

/* ---- reading and writing (placeholder_yaml.c, placeholder_json.c) ----
 * lim may be NULL for the defaults. On success *out is a new reference the
 * caller json_decref()s. */

typedef enum fz_ph_format {
	FZ_PH_YAML,
	FZ_PH_JSON,
} fz_ph_format;

/* YAML: one document, UTF-8; anchors, aliases, explicit tags, complex keys
 * and duplicate keys refused; depth counted while parsing. */
fz_code fz_placeholder_from_yaml(const char *buf, size_t len,
				 const fz_limits *lim, json_t **out, fz_err *err);

/* JSON: duplicate keys refused; nesting depth counted on the bytes before
 * jansson (which recurses) sees them. */
fz_code fz_placeholder_from_json(const char *buf, size_t len,
				 const fz_limits *lim, json_t **out, fz_err *err);

/* Parses in the given format and checks (fz_placeholder_check). */
fz_code fz_placeholder_load(fz_ph_format fmt, const char *buf, size_t len,
			    const fz_limits *lim, json_t **out, fz_err *err);

/* Block-style YAML whose every scalar reads back as the same string.
 * *out is malloc'd and NUL-terminated. */
fz_code fz_placeholder_to_yaml(const json_t *doc, char **out, size_t *outlen,
			       fz_err *err);

/* JSON, compact or indented by two; *out malloc'd and NUL-terminated. */
fz_code fz_placeholder_to_json(const json_t *doc, bool pretty, char **out,
			       size_t *outlen, fz_err *err);

/* ---- the protocol's shape (placeholder_check.c) ---- */

/* Checks everything SPEC §3 says about a document: the envelope and body
 * shapes, every header block, every leaf part's Content-ID and external
 * Content-Type, the part and recipient counts and the chain length.
 * Error messages start with the path of the offending node, e.g.
 * "body.parts[0].parts[1]: ...". */
fz_code fz_placeholder_check(const json_t *doc, const fz_limits *lim,
			     fz_err *err);

/* ---- access to a checked document (placeholder.c) ---- */

typedef enum fz_entry_kind {
	FZ_ENTRY_HEADERS,
	FZ_ENTRY_ASSERTION,
} fz_entry_kind;

/* The envelope array, the body object. */
const json_t *fz_placeholder_envelope(const json_t *doc);
const json_t *fz_placeholder_body(const json_t *doc);
size_t fz_placeholder_entry_count(const json_t *doc);

/* Entry i, 0 being the newest. Sets *block for a headers entry, or *jws
 * (and *jws_len) for an assertion; the others to NULL / 0. Returns
 * FZ_ENOTFOUND past the end, FZ_ESTRUCT for a malformed entry. */
fz_code fz_placeholder_entry(const json_t *doc, size_t i, fz_entry_kind *kind,
			     const json_t **block, const char **jws,
			     size_t *jws_len, fz_err *err);

/* The origin header block (the last entry, i.e. the oldest), and the
 * newest header block; NULL when there is none. */
const json_t *fz_placeholder_origin(const json_t *doc);
const json_t *fz_placeholder_newest_headers(const json_t *doc);

/* Sent = the origin block carries Date; without it the message is a draft. */
bool fz_placeholder_is_sent(const json_t *doc);

/* ---- header blocks (headers.c) ---- */

/* RFC 5322 field name: one or more of printable ASCII 33..126 but ':'. */
bool fz_header_name_valid(const char *s, size_t n);

/* Checks a value's bytes: valid UTF-8, no control characters (C0, DEL,
 * C1) except HTAB; and at most max bytes. FZ_ESYNTAX / FZ_ELIMIT. */
fz_code fz_header_value_check(const char *s, size_t n, size_t max, fz_err *err);

/* Entry i of a block: its name and value (a string or an array). */
fz_code fz_headers_at(const json_t *block, size_t i, const char **name,
		      size_t *name_len, const json_t **value, fz_err *err);

/* The value of the header called name (case-insensitive), a json string
 * or array; NULL when absent. */
const json_t *fz_headers_find(const json_t *block, const char *name);

/* The string value of name: FZ_ENOTFOUND when absent, FZ_ESTRUCT when the
 * value is a list (fz_headers_find gives the list). */
fz_code fz_headers_get(const json_t *block, const char *name, const char **val,
		       size_t *len, fz_err *err);

/* ---- MIME values (placeholder_mime.c) ---- */

#define FZ_MIME_MAX_PARAMS 32

typedef struct fz_mime_param {
	const char *name;  /* lowercased, NUL-terminated */
	const char *value; /* unquoted, NUL-terminated */
	size_t value_len;
} fz_mime_param;

typedef struct fz_mime {
	char *buf;        /* owns every string below */
	const char *type; /* lowercased "type/subtype", or the disposition */
	fz_mime_param params[FZ_MIME_MAX_PARAMS];
	size_t nparams;
} fz_mime;

/* Parses `type/subtype *(";" name "=" value)` (with_subtype) or
 * `token *(";" name "=" value)` (a Content-Disposition). A value is an
 * RFC 2045 token or a double-quoted string with backslash escapes; single
 * quotes are token characters, not quotes. Comments and RFC 2231
 * continuations are not supported. Duplicate parameters are refused. */
fz_code fz_mime_parse(const char *s, size_t n, bool with_subtype, fz_mime *out,
		      fz_err *err);
/* Parameter by lowercase name, or NULL. */
const fz_mime_param *fz_mime_param_get(const fz_mime *m, const char *name);
void fz_mime_free(fz_mime *m);

typedef enum fz_disposition {
	FZ_DISP_ATTACHMENT, /* also when absent or unknown (RFC 2183 §2.8) */
	FZ_DISP_INLINE,
} fz_disposition;

typedef struct fz_leaf {
	fz_digest_str cid;          /* the Content-ID's digest */
	uint64_t size;              /* the size="N" parameter */
	char *media_type;           /* lowercased real type/subtype, malloc'd */
	const char *content_type;   /* the real Content-Type as written */
	fz_disposition disposition;
	char *filename;             /* Content-Disposition filename, or NULL */
} fz_leaf;

/* The leaf parts of body, depth first in document order, into a malloc'd
 * array of *n (freed with fz_leaves_free). */
fz_code fz_placeholder_leaves(const json_t *doc, fz_leaf **out, size_t *n,
			      fz_err *err);
void fz_leaves_free(fz_leaf *leaves, size_t n);

/* Checks one leaf part's header block, filling out (may be NULL). */
fz_code fz_leaf_parse(const json_t *block, fz_leaf *out, fz_err *err);

/* ---- addresses and Message-IDs (placeholder_addr.c) ---- */

typedef struct fz_addr {
	char *spec; /* "local@domain", domain lowercased, local part as is */
	size_t at;  /* spec[at] == '@'; the domain is spec + at + 1 */
} fz_addr;

typedef struct fz_addr_list {
	fz_addr *v;
	size_t n;
} fz_addr_list;

/* Parses an RFC 5322 address list: `addr@dom`, `Name <addr@dom>`,
 * `"Quoted, Name" <addr@dom>`, separated by commas. Groups, comments,
 * domain literals and non-ASCII addresses are refused. Appends to out
 * (zero it first), so To, Cc and Bcc gather in one list; when out would
 * hold more than max addresses, FZ_ELIMIT naming max_recipients. On
 * failure out may hold part of the list: free it all the same. */
fz_code fz_addr_list_parse(const char *s, size_t n, size_t max,
			   fz_addr_list *out, fz_err *err);
void fz_addr_list_free(fz_addr_list *l);

#define FZ_DOMAIN_MAX 253

typedef struct fz_msgid {
	const char *left; /* id-left, pointing into the parsed text */
	size_t left_len;
	char domain[FZ_DOMAIN_MAX + 1]; /* id-right, lowercased */
} fz_msgid;

/* Parses "<id-left@id-right>" (dot-atom-text on both sides, surrounding
 * SP/HTAB allowed). */
fz_code fz_msgid_parse(const char *s, size_t n, fz_msgid *out, fz_err *err);

#endif
