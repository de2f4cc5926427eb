/*
 * jwk_pem.c - private keys through OpenSSL: generation (EVP) and PKCS#8
 * PEM in and out. OpenSSL holds the key for PEM; its parameters are
 * handed to cjose, which signs.
 */
#include "jwk_int.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"

static fz_code nomem(fz_err *err)
{
	return fz_fail(err, FZ_ENOMEM, "jwk: out of memory");
}

/* A BIGNUM parameter of pkey as big-endian bytes: padded to pad bytes
 * when pad is non-zero, minimal otherwise. Secret values are cleansed by
 * the caller with OPENSSL_clear_free. */
static fz_code bn_param(const EVP_PKEY *pkey, const char *name, size_t pad,
			uint8_t **out, size_t *len, fz_err *err)
{
	BIGNUM *bn = NULL;
	uint8_t *buf;
	size_t n;

	if (!EVP_PKEY_get_bn_param(pkey, name, &bn)) {
		ERR_clear_error();
		return fz_fail(err, FZ_EKEY, "key has no %s parameter", name);
	}
	n = pad ? pad : (size_t)BN_num_bytes(bn);
	if (n == 0)
		n = 1;
	buf = OPENSSL_malloc(n);
	if (buf == NULL) {
		BN_clear_free(bn);
		return nomem(err);
	}
	if (BN_bn2binpad(bn, buf, (int)n) < 0) {
		BN_clear_free(bn);
		OPENSSL_clear_free(buf, n);
		return fz_fail(err, FZ_EKEY, "key parameter %s is too large", name);
	}
	BN_clear_free(bn);
	*out = buf;
	*len = n;
	return FZ_OK;
}

static fz_code ec_from_pkey(fz_key *key, fz_err *err)
{
	uint8_t *x = NULL, *y = NULL, *d = NULL;
	size_t xl = 0, yl = 0, dl = 0;
	char group[32];
	size_t glen = 0;
	cjose_jwk_ec_keyspec spec;
	cjose_err cerr;
	fz_code rc;

	if (!EVP_PKEY_get_group_name(key->pkey, group, sizeof(group), &glen) ||
	    (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
		ERR_clear_error();
		return fz_fail(err, FZ_EKEY, "EC key is not on curve P-256");
	}
	if ((rc = bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_X, FZ_EC_COORD_LEN, &x, &xl, err)) ||
	    (rc = bn_param(key->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, FZ_EC_COORD_LEN, &y, &yl, err)) ||
	    (rc = bn_param(key->pkey, OSSL_PKEY_PARAM_PRIV_KEY, FZ_EC_COORD_LEN, &d, &dl, err)))
		goto out;
	spec = (cjose_jwk_ec_keyspec){.crv = CJOSE_JWK_EC_P_256, .d = d, .dlen = dl,
				      .x = x, .xlen = xl, .y = y, .ylen = yl};
	key->cj = cjose_jwk_create_EC_spec(&spec, &cerr);
	key->x = fz_b64url_encode_alloc(x, xl);
	key->y = fz_b64url_encode_alloc(y, yl);
	if (key->cj == NULL || key->x == NULL || key->y == NULL) {
		rc = fz_fail(err, FZ_EINTERNAL, "EC key: cjose refused it");
		goto out;
	}
	key->alg = FZ_ALG_ES256;
	key->bits = 256;
	rc = FZ_OK;
out:
	OPENSSL_free(x);
	OPENSSL_free(y);
	OPENSSL_clear_free(d, dl);
	return rc;
}

enum { RSA_N, RSA_E, RSA_D, RSA_P, RSA_Q, RSA_DP, RSA_DQ, RSA_QI, RSA_NPARAM };

static const char *const rsa_param_names[RSA_NPARAM] = {
	OSSL_PKEY_PARAM_RSA_N,         OSSL_PKEY_PARAM_RSA_E,
	OSSL_PKEY_PARAM_RSA_D,         OSSL_PKEY_PARAM_RSA_FACTOR1,
	OSSL_PKEY_PARAM_RSA_FACTOR2,   OSSL_PKEY_PARAM_RSA_EXPONENT1,
	OSSL_PKEY_PARAM_RSA_EXPONENT2, OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};

static fz_code rsa_from_pkey(fz_key *key, fz_err *err)
{
	uint8_t *v[RSA_NPARAM] = {0};
	size_t l[RSA_NPARAM] = {0};
	cjose_jwk_rsa_keyspec spec;
	BIGNUM *third = NULL;
	cjose_err cerr;
	fz_code rc = FZ_OK;
	int bits, i;

	bits = EVP_PKEY_get_bits(key->pkey);
	if (bits < FZ_RSA_MIN_BITS || bits > FZ_RSA_MAX_BITS)
		return fz_fail(err, FZ_EKEY, "RSA key of %d bits: %d..%d allowed", bits,
			       FZ_RSA_MIN_BITS, FZ_RSA_MAX_BITS);
	/* cjose speaks two-prime RSA only. */
	if (EVP_PKEY_get_bn_param(key->pkey, OSSL_PKEY_PARAM_RSA_FACTOR3, &third)) {
		BN_free(third);
		return fz_fail(err, FZ_EKEY, "multi-prime RSA keys are not supported");
	}
	ERR_clear_error();
	for (i = 0; i < RSA_NPARAM && rc == FZ_OK; i++)
		rc = bn_param(key->pkey, rsa_param_names[i], 0, &v[i], &l[i], err);
	if (rc != FZ_OK)
		goto out;
	spec = (cjose_jwk_rsa_keyspec){
		.e = v[RSA_E], .elen = l[RSA_E], .n = v[RSA_N], .nlen = l[RSA_N],
		.d = v[RSA_D], .dlen = l[RSA_D], .p = v[RSA_P], .plen = l[RSA_P],
		.q = v[RSA_Q], .qlen = l[RSA_Q], .dp = v[RSA_DP], .dplen = l[RSA_DP],
		.dq = v[RSA_DQ], .dqlen = l[RSA_DQ], .qi = v[RSA_QI], .qilen = l[RSA_QI],
	};
	key->cj = cjose_jwk_create_RSA_spec(&spec, &cerr);
	key->n = fz_b64url_encode_alloc(v[RSA_N], l[RSA_N]);
	key->e = fz_b64url_encode_alloc(v[RSA_E], l[RSA_E]);
	if (key->cj == NULL || key->n == NULL || key->e == NULL) {
		rc = fz_fail(err, FZ_EINTERNAL, "RSA key: cjose refused it");
		goto out;
	}
	key->alg = FZ_ALG_RS256;
	key->bits = (unsigned)bits;
out:
	for (i = 0; i < RSA_NPARAM; i++)
		OPENSSL_clear_free(v[i], l[i]);
	return rc;
}

/* Takes ownership of pkey. */
static fz_code key_from_pkey(EVP_PKEY *pkey, fz_key **out, fz_err *err)
{
	fz_key *key = calloc(1, sizeof(*key));
	fz_code rc;

	if (key == NULL) {
		EVP_PKEY_free(pkey);
		return nomem(err);
	}
	key->pkey = pkey;
	key->priv = true;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		rc = ec_from_pkey(key, err);
		break;
	case EVP_PKEY_RSA:
		rc = rsa_from_pkey(key, err);
		break;
	default:
		rc = fz_fail(err, FZ_EKEY, "key is neither EC P-256 nor RSA");
		break;
	}
	if (rc == FZ_OK)
		rc = fz_key_finish(key, NULL, err);
	if (rc != FZ_OK) {
		fz_key_free(key);
		return rc;
	}
	*out = key;
	return FZ_OK;
}

fz_code fz_key_generate(fz_alg alg, unsigned rsa_bits, fz_key **out,
			fz_err *err)
{
	EVP_PKEY *pkey = NULL;

	if (alg == FZ_ALG_ES256) {
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	} else if (alg == FZ_ALG_RS256) {
		if (rsa_bits == 0)
			rsa_bits = FZ_RSA_DEFAULT_BITS;
		if (rsa_bits < FZ_RSA_MIN_BITS || rsa_bits > FZ_RSA_MAX_BITS)
			return fz_fail(err, FZ_EKEY, "RSA size %u: %d..%d allowed",
				       rsa_bits, FZ_RSA_MIN_BITS, FZ_RSA_MAX_BITS);
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)rsa_bits);
	} else {
		return fz_fail(err, FZ_EALG, "cannot generate a key for this alg");
	}
	if (pkey == NULL) {
		ERR_clear_error();
		return fz_fail(err, FZ_EINTERNAL, "key generation failed");
	}
	return key_from_pkey(pkey, out, err);
}

/* A passphrase callback that refuses: OpenSSL's default would prompt on
 * the terminal of a server. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

fz_code fz_key_from_pem(const char *pem, size_t len, fz_key **out,
			fz_err *err)
{
	EVP_PKEY *pkey;
	BIO *bio;

	if (len > FZ_PEM_MAX_BYTES)
		return fz_fail(err, FZ_ELIMIT, "PEM of %zu bytes exceeds %d", len,
			       FZ_PEM_MAX_BYTES);
	bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		return nomem(err);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		ERR_clear_error();
		return fz_fail(err, FZ_EKEY,
			       "PEM does not hold an unencrypted private key");
	}
	return key_from_pkey(pkey, out, err);
}

fz_code fz_key_to_pem(const fz_key *key, char **pem, size_t *len, fz_err *err)
{
	BUF_MEM *mem = NULL;
	fz_code rc = FZ_OK;
	char *buf;
	BIO *bio;

	if (!key->priv || key->pkey == NULL)
		return fz_fail(err, FZ_EKEY, "key %s is public: no PEM to write", key->kid);
	/* secmem: the BIO's buffer is wiped when freed. */
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		return nomem(err);
	if (!PEM_write_bio_PKCS8PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) ||
	    !BIO_get_mem_ptr(bio, &mem) || mem == NULL) {
		ERR_clear_error();
		rc = fz_fail(err, FZ_EINTERNAL, "PEM export failed");
		goto out;
	}
	buf = malloc(mem->length + 1);
	if (buf == NULL) {
		rc = nomem(err);
		goto out;
	}
	memcpy(buf, mem->data, mem->length);
	buf[mem->length] = '\0';
	*pem = buf;
	*len = mem->length;
out:
	BIO_free(bio);
	return rc;
}

void fz_secret_free(char *buf, size_t len)
{
	if (buf == NULL)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}
