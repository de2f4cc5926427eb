/*
 * pkce.c - S256 challenges and the constant-time compare. The plain
 * method is not offered: RFC 9700 §2.1.1 recommends S256 and a public
 * client can always compute it.
 */
#include "pkce.h"

#include <openssl/crypto.h>

#include "b64url.h"
#include "jose.h"

bool fz_ct_equal(const void *a, size_t an, const void *b, size_t bn)
{
	if (an != bn)
		return false;
	return an == 0 || CRYPTO_memcmp(a, b, an) == 0;
}

static bool verifier_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

fz_code fz_pkce_verifier_check(const char *v, size_t n, fz_err *err)
{
	size_t i;

	if (n < FZ_PKCE_VERIFIER_MIN || n > FZ_PKCE_VERIFIER_MAX)
		return fz_fail_http(err, FZ_ESYNTAX, 400, "invalid_grant",
				    "code_verifier must be %d..%d characters, got %zu",
				    FZ_PKCE_VERIFIER_MIN, FZ_PKCE_VERIFIER_MAX, n);
	for (i = 0; i < n; i++)
		if (!verifier_char((unsigned char)v[i]))
			return fz_fail_http(err, FZ_ESYNTAX, 400, "invalid_grant",
					    "code_verifier has a character outside "
					    "[A-Za-z0-9-._~]");
	return FZ_OK;
}

fz_code fz_pkce_verifier_new(char out[FZ_PKCE_VERIFIER_MAX + 1], fz_err *err)
{
	return fz_random_b64url(FZ_PKCE_VERIFIER_BYTES, out, FZ_PKCE_VERIFIER_MAX + 1, err);
}

fz_code fz_pkce_challenge_s256(const char *v, size_t n, fz_digest_str *out,
			       fz_err *err)
{
	fz_code rc = fz_pkce_verifier_check(v, n, err);

	if (rc != FZ_OK)
		return rc;
	fz_digest(v, n, out);
	return FZ_OK;
}

fz_code fz_pkce_challenge_check(const char *c, size_t n, fz_err *err)
{
	if (!fz_digest_valid(c, n))
		return fz_fail(err, FZ_ESYNTAX,
			       "code_challenge must be %d base64url characters (S256)",
			       FZ_PKCE_CHALLENGE_LEN);
	return FZ_OK;
}

fz_code fz_pkce_verify(const char *verifier, size_t vn, const char *challenge,
		       size_t cn, fz_err *err)
{
	fz_digest_str d;
	fz_code rc = fz_pkce_challenge_s256(verifier, vn, &d, err);

	if (rc != FZ_OK)
		return rc;
	if (!fz_ct_equal(d.s, FZ_DIGEST_LEN, challenge, cn))
		return fz_fail_http(err, FZ_EDENIED, 400, "invalid_grant",
				    "code_verifier does not match the code_challenge");
	return FZ_OK;
}
