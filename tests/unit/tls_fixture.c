/* tls_fixture.c - P-256 keys and X.509 v3 certificates through the
 * OpenSSL 3 API, written as PEM into a temporary folder. */
#include "tls_fixture.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* issuer NULL: self-signed CA. */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *san,
		       X509 *issuer, EVP_PKEY *issuer_key, long serial)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_NAME *name;
	int bad = 0;

	if (x == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	bad |= add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (issuer == NULL) {
		bad |= add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
		bad |= add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		bad |= add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
		bad |= add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
		bad |= add_ext(x, &ctx, NID_ext_key_usage, "serverAuth");
		bad |= add_ext(x, &ctx, NID_subject_alt_name, san);
		bad |= add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	}
	if (bad || !X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static int write_certs(const char *path, X509 *a, X509 *b)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = PEM_write_X509(f, a) && (b == NULL || PEM_write_X509(f, b));
	return fclose(f) == 0 && ok ? 0 : -1;
}

static int write_key(const char *path, EVP_PKEY *key)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (f == NULL)
		return -1;
	ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	return fclose(f) == 0 && ok ? 0 : -1;
}

int fz_test_pki_make(fz_test_pki *pki)
{
	return fz_test_pki_make_names(pki, "DNS:localhost,IP:127.0.0.1");
}

int fz_test_pki_make_names(fz_test_pki *pki, const char *san)
{
	EVP_PKEY *ca_key = NULL, *key = NULL, *other_key = NULL;
	X509 *ca = NULL, *cert = NULL, *other = NULL, *wrong = NULL;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int rc = -1, n;

	memset(pki, 0, sizeof(*pki));
	n = snprintf(pki->dir, sizeof(pki->dir), "%s/fz-pki-XXXXXX", tmp);
	if (n < 0 || (size_t)n >= sizeof(pki->dir) || mkdtemp(pki->dir) == NULL)
		return -1;
	snprintf(pki->ca, sizeof(pki->ca), "%s/ca.pem", pki->dir);
	snprintf(pki->cert, sizeof(pki->cert), "%s/cert.pem", pki->dir);
	snprintf(pki->key, sizeof(pki->key), "%s/key.pem", pki->dir);
	snprintf(pki->other_ca, sizeof(pki->other_ca), "%s/other-ca.pem", pki->dir);
	snprintf(pki->wrong_name_cert, sizeof(pki->wrong_name_cert),
		 "%s/wrong-name.pem", pki->dir);
	ca_key = EVP_EC_gen("P-256");
	key = EVP_EC_gen("P-256");
	other_key = EVP_EC_gen("P-256");
	if (ca_key == NULL || key == NULL || other_key == NULL)
		goto out;
	ca = make_cert(ca_key, "Federizer Test CA", NULL, NULL, NULL, 1);
	other = make_cert(other_key, "Some Other CA", NULL, NULL, NULL, 1);
	if (ca == NULL || other == NULL)
		goto out;
	cert = make_cert(key, "localhost", san, ca, ca_key, 2);
	wrong = make_cert(key, "other.example", "DNS:other.example", ca, ca_key, 3);
	if (cert == NULL || wrong == NULL)
		goto out;
	if (write_certs(pki->ca, ca, NULL) || write_certs(pki->cert, cert, ca) ||
	    write_key(pki->key, key) || write_certs(pki->other_ca, other, NULL) ||
	    write_certs(pki->wrong_name_cert, wrong, ca))
		goto out;
	rc = 0;
out:
	X509_free(ca);
	X509_free(cert);
	X509_free(other);
	X509_free(wrong);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
	if (rc != 0)
		fz_test_pki_remove(pki);
	return rc;
}

void fz_test_pki_remove(fz_test_pki *pki)
{
	if (pki->dir[0] == '\0')
		return;
	unlink(pki->ca);
	unlink(pki->cert);
	unlink(pki->key);
	unlink(pki->other_ca);
	unlink(pki->wrong_name_cert);
	rmdir(pki->dir);
	pki->dir[0] = '\0';
}
