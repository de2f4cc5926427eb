/* tls_fixture.h - a throwaway PKI for tests that speak HTTPS: a CA, a
 * server certificate for localhost and 127.0.0.1 signed by it, one for
 * another name, and a second CA that signed nothing (a client trusting only
 * it must fail). Made with OpenSSL in the test process, so a test needs no
 * tool and no network. */
#ifndef FZ_TEST_TLS_FIXTURE_H
#define FZ_TEST_TLS_FIXTURE_H

#define FZ_TEST_PATH_MAX 512

typedef struct fz_test_pki {
	char dir[FZ_TEST_PATH_MAX - 32]; /* a fresh mkdtemp folder */
	char ca[FZ_TEST_PATH_MAX];       /* ca.pem */
	char cert[FZ_TEST_PATH_MAX];     /* cert.pem: server certificate, then the CA */
	char key[FZ_TEST_PATH_MAX];      /* key.pem */
	char other_ca[FZ_TEST_PATH_MAX]; /* other-ca.pem */
	/* wrong-name.pem: signed by ca, for other.example only (same key) */
	char wrong_name_cert[FZ_TEST_PATH_MAX];
} fz_test_pki;

/* 0 on success. */
int fz_test_pki_make(fz_test_pki *pki);
/* As fz_test_pki_make, with the server certificate for san (OpenSSL
 * subjectAltName syntax, "DNS:as.example.com,IP:127.0.0.1") instead of
 * localhost. */
int fz_test_pki_make_names(fz_test_pki *pki, const char *san);
/* Removes the files and the folder. */
void fz_test_pki_remove(fz_test_pki *pki);

#endif
