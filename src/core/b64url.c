/*
 * b64url.c - base64url by hand: OpenSSL's EVP_EncodeBlock speaks the
 * standard alphabet with padding, and translating afterwards would still
 * leave the strict decoder to write.
 */
#include "b64url.h"

#include <stdlib.h>

static const char alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int value_of(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t fz_b64url_enclen(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

fz_code fz_b64url_encode(const void *in, size_t n, char *out, size_t outsz,
			 fz_err *err)
{
	const uint8_t *p = in;
	size_t i, o = 0;

	if (outsz < fz_b64url_enclen(n) + 1)
		return fz_fail(err, FZ_EINTERNAL, "base64url: output buffer too small");
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
	}
	out[o] = '\0';
	return FZ_OK;
}

char *fz_b64url_encode_alloc(const void *in, size_t n)
{
	size_t sz = fz_b64url_enclen(n) + 1;
	char *out = malloc(sz);

	if (out == NULL)
		return NULL;
	fz_b64url_encode(in, n, out, sz, NULL);
	return out;
}

fz_code fz_b64url_decode(const char *in, size_t n, uint8_t *out, size_t outsz,
			 size_t *outlen, fz_err *err)
{
	size_t i, o = 0, tail = n % 4;
	uint32_t acc = 0;
	int bits = 0;

	if (tail == 1)
		return fz_fail(err, FZ_ESYNTAX,
			       "base64url: length %zu is not a possible encoding", n);
	if (n / 4 * 3 + (tail ? tail - 1 : 0) > outsz)
		return fz_fail(err, FZ_EINTERNAL, "base64url: output buffer too small");
	for (i = 0; i < n; i++) {
		int v = value_of((unsigned char)in[i]);
		if (v < 0)
			return fz_fail(err, FZ_ESYNTAX,
				       "base64url: character %zu is not in the alphabet", i);
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero, or two strings would decode alike. */
	if (acc != 0)
		return fz_fail(err, FZ_ESYNTAX,
			       "base64url: non-zero padding bits in the last character");
	*outlen = o;
	return FZ_OK;
}

fz_code fz_b64url_decode_alloc(const char *in, size_t n, uint8_t **out,
			       size_t *outlen, fz_err *err)
{
	size_t cap = n / 4 * 3 + 3;
	uint8_t *buf = malloc(cap + 1);
	fz_code rc;

	if (buf == NULL)
		return fz_fail(err, FZ_ENOMEM, "base64url: out of memory");
	rc = fz_b64url_decode(in, n, buf, cap, outlen, err);
	if (rc != FZ_OK) {
		free(buf);
		return rc;
	}
	buf[*outlen] = '\0';
	*out = buf;
	return FZ_OK;
}
