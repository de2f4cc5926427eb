/*
 * jose.c - the algorithm allow-list, configuration defaults and random
 * identifiers shared by the JOSE files.
 */
#include "jose.h"

#include <openssl/rand.h>
#include <string.h>

#include "b64url.h"

void fz_jose_config_defaults(fz_jose_config *cfg)
{
	cfg->jws_max_bytes = FZ_JWS_MAX_BYTES;
	cfg->dpop_max_bytes = FZ_DPOP_MAX_BYTES;
	cfg->leeway = FZ_JOSE_LEEWAY;
	cfg->dpop_iat_window = FZ_DPOP_IAT_WINDOW;
	cfg->algs = FZ_ALGS_ALL;
}

fz_code fz_jose_config_check(const fz_jose_config *cfg, fz_err *err)
{
	if (cfg->jws_max_bytes == 0 || cfg->dpop_max_bytes == 0)
		return fz_fail(err, FZ_EINTERNAL, "jose: size limits must not be 0");
	if (cfg->algs == 0 || (cfg->algs & ~(unsigned)FZ_ALGS_ALL) != 0)
		return fz_fail(err, FZ_EINTERNAL,
			       "jose: algorithms must be a non-empty subset of ES256, RS256");
	if (cfg->leeway < 0 || cfg->leeway > FZ_JOSE_LEEWAY_MAX)
		return fz_fail(err, FZ_EINTERNAL, "jose: leeway must be 0..%d s",
			       FZ_JOSE_LEEWAY_MAX);
	if (cfg->dpop_iat_window <= 0 || cfg->dpop_iat_window > FZ_JOSE_LEEWAY_MAX)
		return fz_fail(err, FZ_EINTERNAL, "jose: DPoP iat window must be 1..%d s",
			       FZ_JOSE_LEEWAY_MAX);
	return FZ_OK;
}

const char *fz_alg_name(fz_alg alg)
{
	switch (alg) {
	case FZ_ALG_ES256:
		return "ES256";
	case FZ_ALG_RS256:
		return "RS256";
	}
	return "?";
}

fz_code fz_alg_parse(const char *name, fz_alg *out, fz_err *err)
{
	char shown[FZ_ALG_NAME_MAX + 1];

	if (name == NULL)
		return fz_fail(err, FZ_EALG, "alg is missing");
	if (strcmp(name, "ES256") == 0) {
		*out = FZ_ALG_ES256;
		return FZ_OK;
	}
	if (strcmp(name, "RS256") == 0) {
		*out = FZ_ALG_RS256;
		return FZ_OK;
	}
	/* Case-insensitive: a "None" must not slip past as "unsupported"
	 * with a message that hides what was attempted. */
	if (strcasecmp(name, "none") == 0)
		return fz_fail(err, FZ_EALG,
			       "alg none (unsecured JWS) is never accepted");
	fz_jose_printable(name, shown, sizeof(shown));
	if (strncasecmp(name, "HS", 2) == 0)
		return fz_fail(err, FZ_EALG,
			       "HMAC alg %s is never accepted (asymmetric keys only)",
			       shown);
	return fz_fail(err, FZ_EALG, "alg %s is not supported (ES256, RS256 only)",
		       shown);
}

fz_code fz_alg_allowed(const char *name, unsigned allowed, fz_alg *out,
		       fz_err *err)
{
	fz_code rc = fz_alg_parse(name, out, err);

	if (rc != FZ_OK)
		return rc;
	if ((allowed & (unsigned)*out) == 0)
		return fz_fail(err, FZ_EALG, "alg %s is not allowed here",
			       fz_alg_name(*out));
	return FZ_OK;
}

fz_code fz_random_b64url(size_t nbytes, char *out, size_t outsz, fz_err *err)
{
	uint8_t raw[64];

	if (nbytes == 0 || nbytes > sizeof(raw))
		return fz_fail(err, FZ_EINTERNAL, "random: %zu bytes asked", nbytes);
	if (RAND_bytes(raw, (int)nbytes) != 1)
		return fz_fail(err, FZ_EINTERNAL, "random: CSPRNG failed");
	return fz_b64url_encode(raw, nbytes, out, outsz, err);
}

const char *fz_jose_printable(const char *s, char *buf, size_t bufsz)
{
	size_t i;

	if (bufsz == 0)
		return "";
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < bufsz; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	buf[i] = '\0';
	return buf;
}

int64_t fz_time_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	if (b < 0 && a < INT64_MIN - b)
		return INT64_MIN;
	return a + b;
}
