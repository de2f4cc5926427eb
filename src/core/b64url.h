/*
 * b64url.h - base64url (RFC 4648 §5) without padding, strict on input:
 * no '=', no whitespace, no characters outside the alphabet, and no
 * non-zero bits in the last character, so every byte string has exactly
 * one accepted encoding (digests are compared as strings).
 */
#ifndef FZ_CORE_B64URL_H
#define FZ_CORE_B64URL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Characters needed to encode n bytes, without the terminating NUL. */
size_t fz_b64url_enclen(size_t n);

/* Writes the encoding of in[0..n) and a NUL into out[0..outsz). */
fz_code fz_b64url_encode(const void *in, size_t n, char *out, size_t outsz,
			 fz_err *err);

/* As fz_b64url_encode into a malloc'd string; NULL when out of memory. */
char *fz_b64url_encode_alloc(const void *in, size_t n);

/* Decodes in[0..n) into out[0..outsz), the decoded length in *outlen. */
fz_code fz_b64url_decode(const char *in, size_t n, uint8_t *out, size_t outsz,
			 size_t *outlen, fz_err *err);

/* As fz_b64url_decode into a malloc'd buffer (NUL-terminated for
 * convenience, the NUL not counted in *outlen). */
fz_code fz_b64url_decode_alloc(const char *in, size_t n, uint8_t **out,
			       size_t *outlen, fz_err *err);

#endif
