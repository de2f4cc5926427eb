/*
 * digest.c - SHA-256 through OpenSSL's EVP interface, written as base64url.
 */
#include "digest.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"

struct fz_sha256 {
	EVP_MD_CTX *ctx;
};

fz_sha256 *fz_sha256_new(void)
{
	fz_sha256 *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL || !EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL)) {
		fz_sha256_free(h);
		return NULL;
	}
	return h;
}

void fz_sha256_update(fz_sha256 *h, const void *data, size_t n)
{
	EVP_DigestUpdate(h->ctx, data, n);
}

void fz_sha256_final(fz_sha256 *h, uint8_t raw[FZ_SHA256_LEN], fz_digest_str *out)
{
	uint8_t md[FZ_SHA256_LEN];
	unsigned int len = 0;

	EVP_DigestFinal_ex(h->ctx, md, &len);
	EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL);
	if (raw != NULL)
		memcpy(raw, md, sizeof(md));
	if (out != NULL)
		fz_b64url_encode(md, sizeof(md), out->s, sizeof(out->s), NULL);
}

void fz_sha256_free(fz_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void fz_sha256_raw(const void *data, size_t n, uint8_t raw[FZ_SHA256_LEN])
{
	unsigned int len = 0;

	EVP_Digest(data, n, raw, &len, EVP_sha256(), NULL);
}

void fz_digest(const void *data, size_t n, fz_digest_str *out)
{
	uint8_t md[FZ_SHA256_LEN];

	fz_sha256_raw(data, n, md);
	fz_b64url_encode(md, sizeof(md), out->s, sizeof(out->s), NULL);
}

bool fz_digest_valid(const char *s, size_t n)
{
	uint8_t raw[FZ_SHA256_LEN + 3];
	size_t len = 0;

	if (n != FZ_DIGEST_LEN)
		return false;
	if (fz_b64url_decode(s, n, raw, sizeof(raw), &len, NULL) != FZ_OK)
		return false;
	return len == FZ_SHA256_LEN;
}

fz_code fz_content_id_parse(const char *s, size_t n, fz_digest_str *out,
			    fz_err *err)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n < 2 || s[0] != '<' || s[n - 1] != '>')
		return fz_fail(err, FZ_ESYNTAX,
			       "Content-ID must be written <digest>");
	if (!fz_digest_valid(s + 1, n - 2))
		return fz_fail(err, FZ_ESYNTAX,
			       "Content-ID is not a SHA-256 digest of %d base64url characters",
			       FZ_DIGEST_LEN);
	memcpy(out->s, s + 1, FZ_DIGEST_LEN);
	out->s[FZ_DIGEST_LEN] = '\0';
	return FZ_OK;
}

void fz_content_id_format(const fz_digest_str *d, char out[FZ_DIGEST_LEN + 3])
{
	out[0] = '<';
	memcpy(out + 1, d->s, FZ_DIGEST_LEN);
	out[FZ_DIGEST_LEN + 1] = '>';
	out[FZ_DIGEST_LEN + 2] = '\0';
}
