/*
 * digest.h - the protocol's one digest: base64url(SHA-256(x)) without
 * padding, 43 characters (SPEC §2). A resource's Content-ID is "<digest>".
 */
#ifndef FZ_CORE_DIGEST_H
#define FZ_CORE_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FZ_DIGEST_LEN 43       /* characters, without NUL */
#define FZ_SHA256_LEN 32       /* raw bytes */

typedef struct fz_digest_str {
	char s[FZ_DIGEST_LEN + 1];
} fz_digest_str;

/* Streaming SHA-256, for bytes that arrive in pieces (uploads, fetches). */
typedef struct fz_sha256 fz_sha256;

fz_sha256 *fz_sha256_new(void);
void fz_sha256_update(fz_sha256 *h, const void *data, size_t n);
/* Finishes the hash; raw may be NULL. The context can be reused after. */
void fz_sha256_final(fz_sha256 *h, uint8_t raw[FZ_SHA256_LEN], fz_digest_str *out);
void fz_sha256_free(fz_sha256 *h);

void fz_sha256_raw(const void *data, size_t n, uint8_t raw[FZ_SHA256_LEN]);
void fz_digest(const void *data, size_t n, fz_digest_str *out);

/* True when s[0..n) is a digest: 43 base64url characters whose last
 * character carries no stray bits. */
bool fz_digest_valid(const char *s, size_t n);

/* Parses a Content-ID header value "<digest>" (surrounding whitespace
 * allowed) into out. */
fz_code fz_content_id_parse(const char *s, size_t n, fz_digest_str *out,
			    fz_err *err);

/* Writes "<digest>" and a NUL: needs FZ_DIGEST_LEN + 3 bytes. */
void fz_content_id_format(const fz_digest_str *d, char out[FZ_DIGEST_LEN + 3]);

#endif
