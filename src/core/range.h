/*
 * range.h - the HTTP Range request header (RFC 9110 §14.2), bytes unit,
 * one range only.
 *
 * A fetch of a large resource that broke off resumes with "bytes=N-"
 * (SPEC §8.3). We serve one range per response; a request for several
 * (which would need multipart/byteranges) is refused with its own error
 * so the caller can log and answer it distinctly.
 */
#ifndef FZ_CORE_RANGE_H
#define FZ_CORE_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct fz_range {
	uint64_t first; /* offset of the first byte */
	uint64_t last;  /* offset of the last byte, inclusive */
} fz_range;

/* Parses the value of a Range header for a representation of size bytes
 * into the single range it selects, clamped to the representation.
 * Accepts "bytes=a-b", "bytes=a-", "bytes=-n" (unit case-insensitive,
 * whitespace around list elements, empty list elements). Errors:
 *   FZ_ESYNTAX, 400   not a bytes range set (the caller may instead
 *                     ignore the header, as RFC 9110 allows)
 *   FZ_ESTRUCT, 416   more than one range
 *   FZ_ELIMIT,  416   well formed but unsatisfiable for size: first
 *                     byte at or past the end, a zero-length suffix, or
 *                     an empty representation
 * A 416 answer should carry "Content-Range: bytes * /size" (without the
 * space), which fz_range_unsatisfied_format writes. */
fz_code fz_range_parse(const char *s, size_t n, uint64_t size, fz_range *out,
		       fz_err *err);

/* Room for "bytes " + two 20-digit offsets + '-' + '/' + 20 digits + NUL. */
#define FZ_CONTENT_RANGE_MAX 72

/* "bytes first-last/size" for a 206 answer. */
void fz_range_format(const fz_range *r, uint64_t size,
		     char out[FZ_CONTENT_RANGE_MAX]);
/* "bytes * /size" (without the space) for a 416 answer. */
void fz_range_unsatisfied_format(uint64_t size, char out[FZ_CONTENT_RANGE_MAX]);

/* Reads a 206 answer's Content-Range (RFC 9110 §14.4), as a client that
 * resumed a fetch checks it: "bytes first-last/complete", or with a
 * star for an unknown complete length; unit case-insensitive, digits
 * only (no sign, no spaces inside), first <= last < complete. *complete
 * is 0 and *known false for the star. FZ_ESYNTAX for anything else, an
 * overflow included. */
fz_code fz_content_range_parse(const char *s, size_t n, fz_range *out,
			       uint64_t *complete, bool *known, fz_err *err);

static inline uint64_t fz_range_length(const fz_range *r)
{
	return r->last - r->first + 1;
}

#endif
