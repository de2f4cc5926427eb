/*
 * jwk.c - a key's public half as the protocol sees it: the JWK members
 * (kept as base64url text, since export and the RFC 7638 thumbprint need
 * nothing else), strict JWK import, export, and the accessors.
 *
 * Every way a key is made (jwk_pem.c for generated and PEM keys, here for
 * JWK) ends in fz_key_finish(), which fills the thumbprint and the default
 * kid, so no key exists without them.
 */
#include "jwk_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"

static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

static fz_code nomem(fz_err *err)
{
	return fz_fail(err, FZ_ENOMEM, "jwk: out of memory");
}

static bool kid_valid(const char *kid)
{
	size_t i, n = strlen(kid);

	if (n == 0 || n > FZ_KID_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)kid[i] < 0x20 || (unsigned char)kid[i] >= 0x7f)
			return false;
	return true;
}

/* The RFC 7638 input: required members only, sorted, no whitespace. The
 * members are base64url we encoded ourselves, so nothing needs escaping. */
static fz_code thumbprint(fz_key *key, fz_err *err)
{
	size_t cap;
	char *json;
	int len;

	if (key->alg == FZ_ALG_ES256)
		cap = strlen(key->x) + strlen(key->y) + 64;
	else
		cap = strlen(key->n) + strlen(key->e) + 64;
	json = malloc(cap);
	if (json == NULL)
		return nomem(err);
	if (key->alg == FZ_ALG_ES256)
		len = snprintf(json, cap,
			       "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
			       key->x, key->y);
	else
		len = snprintf(json, cap, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}",
			       key->e, key->n);
	if (len < 0 || (size_t)len >= cap) {
		free(json);
		return fz_fail(err, FZ_EINTERNAL, "jwk: thumbprint input overflow");
	}
	fz_digest(json, (size_t)len, &key->jkt);
	free(json);
	return FZ_OK;
}

fz_code fz_key_finish(fz_key *key, const char *kid, fz_err *err)
{
	fz_code rc = thumbprint(key, err);

	if (rc != FZ_OK)
		return rc;
	if (kid == NULL)
		kid = key->jkt.s;
	return fz_key_set_kid(key, kid, err);
}

/* --- from JWK ------------------------------------------------------------- */

bool fz_jwk_has_private(const json_t *jwk)
{
	size_t i;

	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_object_get(jwk, private_members[i]) != NULL)
			return true;
	return false;
}

static const char *first_private(const json_t *jwk)
{
	size_t i;

	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
		if (json_object_get(jwk, private_members[i]) != NULL)
			return private_members[i];
	return NULL;
}

/* A base64url member, strictly decoded. */
static fz_code member_bytes(const json_t *jwk, const char *name, uint8_t **out,
			    size_t *len, fz_err *err)
{
	const json_t *v = json_object_get(jwk, name);
	const char *s = json_string_value(v);
	fz_code rc;

	if (s == NULL || json_string_length(v) == 0)
		return fz_fail(err, FZ_EKEY, "jwk member %s is missing or not a string", name);
	rc = fz_b64url_decode_alloc(s, json_string_length(v), out, len, err);
	if (rc != FZ_OK) {
		fz_err_prefix(err, "jwk member %s", name);
		return rc;
	}
	return FZ_OK;
}

static fz_code ec_from_jwk(fz_key *key, const json_t *jwk, bool *skip,
			   fz_err *err)
{
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	uint8_t *x = NULL, *y = NULL;
	size_t xl = 0, yl = 0;
	cjose_jwk_ec_keyspec spec;
	char shown[32];
	cjose_err cerr;
	fz_code rc;

	if (crv == NULL)
		return fz_fail(err, FZ_EKEY, "jwk has no crv");
	if (strcmp(crv, "P-256") != 0) {
		*skip = true;
		return fz_fail(err, FZ_EKEY, "jwk curve %s is not supported (P-256 only)",
			       fz_jose_printable(crv, shown, sizeof(shown)));
	}
	if ((rc = member_bytes(jwk, "x", &x, &xl, err)) ||
	    (rc = member_bytes(jwk, "y", &y, &yl, err)))
		goto out;
	/* RFC 7518 §6.2.1.2: full-length coordinates, or two texts would
	 * name one key and their thumbprints would differ. */
	if (xl != FZ_EC_COORD_LEN || yl != FZ_EC_COORD_LEN) {
		rc = fz_fail(err, FZ_EKEY, "jwk x and y must be %d bytes", FZ_EC_COORD_LEN);
		goto out;
	}
	spec = (cjose_jwk_ec_keyspec){.crv = CJOSE_JWK_EC_P_256, .x = x, .xlen = xl,
				      .y = y, .ylen = yl};
	/* cjose refuses a point that is not on the curve. */
	key->cj = cjose_jwk_create_EC_spec(&spec, &cerr);
	if (key->cj == NULL) {
		rc = fz_fail(err, FZ_EKEY, "jwk is not a valid P-256 public key");
		goto out;
	}
	key->x = fz_b64url_encode_alloc(x, xl);
	key->y = fz_b64url_encode_alloc(y, yl);
	if (key->x == NULL || key->y == NULL) {
		rc = nomem(err);
		goto out;
	}
	key->alg = FZ_ALG_ES256;
	key->bits = 256;
out:
	free(x);
	free(y);
	return rc;
}

/* n and e as base64urlUInt (RFC 7518 §2): no leading zero octets. */
static fz_code rsa_check_numbers(const uint8_t *n, size_t nl, const uint8_t *e,
				 size_t el, unsigned *bits, fz_err *err)
{
	unsigned lead;
	uint64_t ev = 0;
	size_t i;

	if (n[0] == 0 || e[0] == 0)
		return fz_fail(err, FZ_EKEY, "jwk n and e must not have leading zero bytes");
	if (el > FZ_RSA_E_MAX_BYTES)
		return fz_fail(err, FZ_EKEY, "jwk e is longer than %d bytes", FZ_RSA_E_MAX_BYTES);
	for (i = 0; i < el; i++)
		ev = ev << 8 | e[i];
	if (ev < 3 || (ev & 1) == 0 || (n[nl - 1] & 1) == 0)
		return fz_fail(err, FZ_EKEY, "jwk n and e are not an RSA public key");
	if (nl > FZ_RSA_MAX_BITS / 8)
		return fz_fail(err, FZ_EKEY, "RSA key over %d bits", FZ_RSA_MAX_BITS);
	for (lead = 8; lead > 0 && !(n[0] & (1u << (lead - 1))); lead--)
		;
	*bits = (unsigned)(nl - 1) * 8 + lead;
	if (*bits < FZ_RSA_MIN_BITS || *bits > FZ_RSA_MAX_BITS)
		return fz_fail(err, FZ_EKEY, "RSA key of %u bits: %d..%d allowed", *bits,
			       FZ_RSA_MIN_BITS, FZ_RSA_MAX_BITS);
	return FZ_OK;
}

static fz_code rsa_from_jwk(fz_key *key, const json_t *jwk, fz_err *err)
{
	uint8_t *n = NULL, *e = NULL;
	size_t nl = 0, el = 0;
	cjose_jwk_rsa_keyspec spec;
	cjose_err cerr;
	unsigned bits = 0;
	fz_code rc;

	if ((rc = member_bytes(jwk, "n", &n, &nl, err)) ||
	    (rc = member_bytes(jwk, "e", &e, &el, err)))
		goto out;
	if (nl == 0 || el == 0) {
		rc = fz_fail(err, FZ_EKEY, "jwk n and e must not be empty");
		goto out;
	}
	if ((rc = rsa_check_numbers(n, nl, e, el, &bits, err)) != FZ_OK)
		goto out;
	spec = (cjose_jwk_rsa_keyspec){.e = e, .elen = el, .n = n, .nlen = nl};
	key->cj = cjose_jwk_create_RSA_spec(&spec, &cerr);
	key->n = fz_b64url_encode_alloc(n, nl);
	key->e = fz_b64url_encode_alloc(e, el);
	if (key->cj == NULL || key->n == NULL || key->e == NULL) {
		rc = fz_fail(err, FZ_EKEY, "jwk is not a usable RSA public key");
		goto out;
	}
	key->alg = FZ_ALG_RS256;
	key->bits = bits;
out:
	free(n);
	free(e);
	return rc;
}

/* use and alg are optional; when present they must fit what we do with
 * the key, or it is meant for something else and we leave it alone. */
static fz_code check_use_alg(const fz_key *key, const json_t *jwk, bool *skip,
			     fz_err *err)
{
	const json_t *use = json_object_get(jwk, "use");
	const json_t *alg = json_object_get(jwk, "alg");
	char shown[FZ_ALG_NAME_MAX + 1];

	if (use != NULL && (!json_is_string(use) ||
			    strcmp(json_string_value(use), "sig") != 0)) {
		*skip = true;
		return fz_fail(err, FZ_EKEY, "jwk use is not sig");
	}
	if (alg == NULL)
		return FZ_OK;
	if (!json_is_string(alg) ||
	    strcmp(json_string_value(alg), fz_alg_name(key->alg)) != 0) {
		*skip = true;
		return fz_fail(err, FZ_EKEY, "jwk alg %s does not fit its %s key",
			       fz_jose_printable(json_string_value(alg), shown, sizeof(shown)),
			       key->alg == FZ_ALG_ES256 ? "EC" : "RSA");
	}
	return FZ_OK;
}

fz_code fz_jwk_import(const json_t *jwk, fz_key **out, bool *skip,
		      fz_err *err)
{
	const json_t *kidv;
	const char *kty, *kid = NULL, *priv;
	char shown[32];
	fz_key *key;
	fz_code rc;

	*skip = false;
	if (!json_is_object(jwk))
		return fz_fail(err, FZ_EKEY, "jwk is not a JSON object");
	if ((priv = first_private(jwk)) != NULL)
		return fz_fail(err, FZ_EKEY, FZ_JWK_PRIVATE_MSG " (member \"%s\")", priv);
	kty = json_string_value(json_object_get(jwk, "kty"));
	if (kty == NULL)
		return fz_fail(err, FZ_EKEY, "jwk has no kty");
	if (strcmp(kty, "oct") == 0)
		return fz_fail(err, FZ_EKEY, "jwk kty oct (a shared secret) is never accepted");
	if (strcmp(kty, "EC") != 0 && strcmp(kty, "RSA") != 0) {
		*skip = true;
		return fz_fail(err, FZ_EKEY, "jwk kty %s is not supported",
			       fz_jose_printable(kty, shown, sizeof(shown)));
	}
	kidv = json_object_get(jwk, "kid");
	if (kidv != NULL && (kid = json_string_value(kidv)) == NULL)
		return fz_fail(err, FZ_EKEY, "jwk kid is not a string");
	key = calloc(1, sizeof(*key));
	if (key == NULL)
		return nomem(err);
	if (strcmp(kty, "EC") == 0)
		rc = ec_from_jwk(key, jwk, skip, err);
	else
		rc = rsa_from_jwk(key, jwk, err);
	if (rc == FZ_OK)
		rc = check_use_alg(key, jwk, skip, err);
	if (rc == FZ_OK)
		rc = fz_key_finish(key, kid, err);
	if (rc != FZ_OK) {
		fz_key_free(key);
		return rc;
	}
	*out = key;
	return FZ_OK;
}

fz_code fz_key_from_jwk(const json_t *jwk, fz_key **out, fz_err *err)
{
	bool skip;

	return fz_jwk_import(jwk, out, &skip, err);
}

fz_code fz_jwk_thumbprint(const json_t *jwk, fz_digest_str *out, fz_err *err)
{
	fz_key *key = NULL;
	fz_code rc = fz_key_from_jwk(jwk, &key, err);

	if (rc != FZ_OK)
		return rc;
	*out = key->jkt;
	fz_key_free(key);
	return FZ_OK;
}

/* --- to JWK ------------------------------------------------------------- */

fz_code fz_key_to_jwk_bare(const fz_key *key, json_t **out, fz_err *err)
{
	json_t *j;

	if (key->alg == FZ_ALG_ES256)
		j = json_pack("{s:s, s:s, s:s, s:s}", "kty", "EC", "crv", "P-256",
			      "x", key->x, "y", key->y);
	else
		j = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", key->n, "e", key->e);
	if (j == NULL)
		return nomem(err);
	*out = j;
	return FZ_OK;
}

fz_code fz_key_to_jwk(const fz_key *key, json_t **out, fz_err *err)
{
	json_t *j = NULL;
	fz_code rc = fz_key_to_jwk_bare(key, &j, err);

	if (rc != FZ_OK)
		return rc;
	if (json_object_set_new(j, "kid", json_string(key->kid)) ||
	    json_object_set_new(j, "alg", json_string(fz_alg_name(key->alg))) ||
	    json_object_set_new(j, "use", json_string("sig"))) {
		json_decref(j);
		return nomem(err);
	}
	*out = j;
	return FZ_OK;
}

/* --- accessors ------------------------------------------------------------ */

void fz_key_free(fz_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	if (key->cj != NULL)
		cjose_jwk_release(key->cj);
	free(key->x);
	free(key->y);
	free(key->n);
	free(key->e);
	free(key);
}

fz_alg fz_key_alg(const fz_key *key)
{
	return key->alg;
}

bool fz_key_is_private(const fz_key *key)
{
	return key->priv;
}

const char *fz_key_kid(const fz_key *key)
{
	return key->kid;
}

unsigned fz_key_bits(const fz_key *key)
{
	return key->bits;
}

fz_code fz_key_set_kid(fz_key *key, const char *kid, fz_err *err)
{
	if (!kid_valid(kid))
		return fz_fail(err, FZ_EKEY, "kid must be 1..%d printable ASCII characters",
			       FZ_KID_MAX);
	memcpy(key->kid, kid, strlen(kid) + 1);
	return FZ_OK;
}

const fz_digest_str *fz_key_thumbprint(const fz_key *key)
{
	return &key->jkt;
}

const cjose_jwk_t *fz_key_cjose(const fz_key *key)
{
	return key->cj;
}
