/*
 * as_password.c - Argon2id through libargon2, salts from OpenSSL's CSPRNG.
 */
#include "as_password.h"

#include <argon2.h>
#include <malloc.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

/* A hash of a password nobody has, made once, for verifying against when
 * the account does not exist. */
static char dummy[FZ_AS_PASSWORD_HASH_MAX];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

/* libargon2 mallocs its 19 MiB for every hash. glibc's threshold for
 * mmapping a block rises to the size of the last one freed, so from the
 * second login on those 19 MiB come from the arena of the thread, which
 * keeps them: the RSS grew by 19 MiB for every worker thread that ever
 * checked a password (`make soak`). A fixed threshold keeps them mmapped. */
static pthread_once_t malloc_once = PTHREAD_ONCE_INIT;

static void keep_big_blocks_mmapped(void)
{
	(void)mallopt(M_MMAP_THRESHOLD, FZ_AS_MMAP_THRESHOLD_BYTES);
}

static void make_dummy(void)
{
	if (fz_as_password_hash("no such user", 12, dummy, NULL) != FZ_OK)
		dummy[0] = '\0';
}

fz_code fz_as_password_hash(const char *pw, size_t n,
			    char out[FZ_AS_PASSWORD_HASH_MAX], fz_err *err)
{
	unsigned char salt[FZ_AS_ARGON2_SALT_BYTES];
	int rc;

	out[0] = '\0';
	if (n > FZ_AS_PASSWORD_MAX)
		return fz_fail(err, FZ_ELIMIT, "password longer than %d bytes",
			       FZ_AS_PASSWORD_MAX);
	pthread_once(&malloc_once, keep_big_blocks_mmapped);
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return fz_fail(err, FZ_EINTERNAL, "no randomness for a salt");
	rc = argon2id_hash_encoded(FZ_AS_ARGON2_T_COST, FZ_AS_ARGON2_M_COST_KIB,
				   FZ_AS_ARGON2_PARALLELISM, pw, n, salt, sizeof(salt),
				   FZ_AS_ARGON2_HASH_BYTES, out, FZ_AS_PASSWORD_HASH_MAX);
	if (rc != ARGON2_OK) {
		out[0] = '\0';
		if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
			return fz_fail(err, FZ_ENOMEM, "argon2: %s", argon2_error_message(rc));
		return fz_fail(err, FZ_EINTERNAL, "argon2: %s", argon2_error_message(rc));
	}
	return FZ_OK;
}

fz_code fz_as_password_verify(const char *encoded, const char *pw, size_t n,
			      fz_err *err)
{
	int rc;

	if (n > FZ_AS_PASSWORD_MAX)
		return fz_fail(err, FZ_EDENIED, "wrong password");
	pthread_once(&malloc_once, keep_big_blocks_mmapped);
	if (encoded == NULL) {
		pthread_once(&dummy_once, make_dummy);
		if (dummy[0] != '\0')
			(void)argon2id_verify(dummy, pw, n);
		return fz_fail(err, FZ_EDENIED, "wrong password");
	}
	rc = argon2id_verify(encoded, pw, n);
	if (rc == ARGON2_OK)
		return FZ_OK;
	if (rc == ARGON2_VERIFY_MISMATCH)
		return fz_fail(err, FZ_EDENIED, "wrong password");
	if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
		return fz_fail(err, FZ_ENOMEM, "argon2: %s", argon2_error_message(rc));
	return fz_fail(err, FZ_EINTERNAL, "argon2: stored hash unusable: %s",
		       argon2_error_message(rc));
}
