/*
 * envelope.h - the digests the envelope carries (SPEC §4): Body-Digest,
 * Recipients-Digest, the assertion's eht, JWT-Assertion-Digest. Each is
 * computed over a canonical string built here, and the builders are
 * public so tests and logs can show the exact bytes that were hashed.
 *
 * A canonical header line is `lowercase(name) ":" trimmed value CRLF`,
 * trimmed meaning leading and trailing SP and HTAB removed.
 */
#ifndef FZ_CORE_ENVELOPE_H
#define FZ_CORE_ENVELOPE_H

#include <jansson.h>
#include <stddef.h>

#include "digest.h"
#include "err.h"

/* "<digest>" and its NUL, the form a digest header's value takes. */
#define FZ_DIGEST_HDR_SIZE (FZ_DIGEST_LEN + 3)

typedef enum fz_hop {
	FZ_HOP_ORIGIN,  /* over To, Cc, Bcc, those present, in that order */
	FZ_HOP_FORWARD, /* over the single Forwarded-To */
} fz_hop;

/* The canonical lines of the named headers of block, in the given order,
 * into a malloc'd NUL-terminated buffer. A name missing from the block, a
 * list value, an invalid or repeated name, or an empty list of names is
 * FZ_ESTRUCT. */
fz_code fz_envelope_canon(const json_t *block, const char *const *names,
			  size_t nnames, char **out, size_t *outlen, fz_err *err);

/* As fz_envelope_canon with the names from a JSON array of strings (the
 * assertion's ehl claim). */
fz_code fz_envelope_canon_ehl(const json_t *block, const json_t *ehl, char **out,
			      size_t *outlen, fz_err *err);

/* eht = digest(E), E the canonical lines of ehl over block (no brackets:
 * it is a claim, not a header). */
fz_code fz_envelope_eht(const json_t *block, const json_t *ehl,
			fz_digest_str *out, fz_err *err);

/* The Recipients-Digest input: To/Cc/Bcc lines (FZ_HOP_ORIGIN) or the
 * Forwarded-To line (FZ_HOP_FORWARD) of block. No recipient header at
 * all is FZ_ESTRUCT. */
fz_code fz_envelope_recipients_canon(const json_t *block, fz_hop hop,
				     char **out, size_t *outlen, fz_err *err);

/* Recipients-Digest = "<digest(C)>". */
fz_code fz_envelope_recipients_digest(const json_t *block, fz_hop hop,
				      char out[FZ_DIGEST_HDR_SIZE], fz_err *err);

/* Body-Digest = "<digest(JCS(body))>", body the document's body member. */
fz_code fz_envelope_body_digest(const json_t *body, char out[FZ_DIGEST_HDR_SIZE],
				fz_err *err);

/* JWT-Assertion-Digest = "<digest(ASCII of the compact JWS)>"; anything
 * but printable ASCII in jws is FZ_ESYNTAX. */
fz_code fz_envelope_jws_digest(const char *jws, size_t n,
			       char out[FZ_DIGEST_HDR_SIZE], fz_err *err);

#endif
