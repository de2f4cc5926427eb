/* Key files in a scratch directory: mode 0600, no overwrite unless
 * asked, no temp files left behind, and a loud refusal of a key file
 * others can read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"

struct fixture {
	char dir[64];
	char path[128];
	fz_key *key;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	snprintf(f->dir, sizeof(f->dir), "%s/fz-keyfile-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/signing.pem", f->dir);
	if (fz_key_generate(FZ_ALG_ES256, 0, &f->key, NULL) != FZ_OK)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct dirent *e;
	char p[512];
	DIR *d = opendir(f->dir);

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(f->dir);
	fz_key_free(f->key);
	free(f);
	return 0;
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_save_load(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	fz_key *back = NULL;

	assert_int_equal(fz_keyfile_save(f->path, f->key, false, NULL), FZ_OK);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(entries(f->dir), 1); /* no temp file left */
	assert_int_equal(fz_keyfile_load(f->path, &back, NULL), FZ_OK);
	assert_true(fz_key_is_private(back));
	assert_string_equal(fz_key_thumbprint(back)->s, fz_key_thumbprint(f->key)->s);
	fz_key_free(back);
}

static void test_mode_ignores_umask(void **state)
{
	struct fixture *f = *state;
	mode_t old = umask(0);
	struct stat st;

	assert_int_equal(fz_keyfile_save(f->path, f->key, false, NULL), FZ_OK);
	umask(old);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_refuses_overwrite(void **state)
{
	struct fixture *f = *state;
	fz_key *other = NULL, *back = NULL;
	fz_err err = {0};

	assert_int_equal(fz_keyfile_save(f->path, f->key, false, NULL), FZ_OK);
	fz_key_generate(FZ_ALG_RS256, 0, &other, NULL);
	assert_int_equal(fz_keyfile_save(f->path, other, false, &err), FZ_ECONFLICT);
	assert_non_null(strstr(err.msg, "refusing to overwrite"));
	assert_int_equal(entries(f->dir), 1);
	assert_int_equal(fz_keyfile_load(f->path, &back, NULL), FZ_OK);
	assert_string_equal(fz_key_kid(back), fz_key_kid(f->key));
	fz_key_free(back);
	/* asked to: replaced */
	assert_int_equal(fz_keyfile_save(f->path, other, true, NULL), FZ_OK);
	assert_int_equal(fz_keyfile_load(f->path, &back, NULL), FZ_OK);
	assert_string_equal(fz_key_kid(back), fz_key_kid(other));
	assert_int_equal(entries(f->dir), 1);
	fz_key_free(back);
	fz_key_free(other);
}

static void test_refuses_group_readable(void **state)
{
	struct fixture *f = *state;
	fz_key *back = NULL;
	fz_err err = {0};

	assert_int_equal(fz_keyfile_save(f->path, f->key, false, NULL), FZ_OK);
	chmod(f->path, 0640);
	assert_int_equal(fz_keyfile_load(f->path, &back, &err), FZ_EDENIED);
	assert_null(back);
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_non_null(strstr(err.msg, "0640"));
	chmod(f->path, 0604);
	assert_int_equal(fz_keyfile_load(f->path, &back, &err), FZ_EDENIED);
	chmod(f->path, 0620);
	assert_int_equal(fz_keyfile_load(f->path, &back, &err), FZ_EDENIED);
	chmod(f->path, 0400);
	assert_int_equal(fz_keyfile_load(f->path, &back, NULL), FZ_OK);
	fz_key_free(back);
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	fz_key *back = NULL;
	fz_err err = {0};

	assert_int_equal(fz_keyfile_load(f->path, &back, &err), FZ_ENOTFOUND);
	assert_non_null(strstr(err.msg, "does not exist"));
}

static void test_not_a_key(void **state)
{
	struct fixture *f = *state;
	fz_key *back = NULL;
	fz_err err = {0};

	assert_int_equal(fz_keyfile_write(f->path, "hello\n", 6, false, NULL), FZ_OK);
	assert_int_equal(fz_keyfile_load(f->path, &back, &err), FZ_EKEY);
	assert_non_null(strstr(err.msg, f->path));
}

static void test_directory_refused(void **state)
{
	struct fixture *f = *state;
	fz_key *back = NULL;
	fz_err err = {0};

	assert_int_equal(fz_keyfile_load(f->dir, &back, &err), FZ_EIO);
	assert_non_null(strstr(err.msg, "not a regular file"));
}

static void test_too_large(void **state)
{
	struct fixture *f = *state;
	int fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	fz_key *back = NULL;
	fz_err err = {0};

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, FZ_KEYFILE_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(fz_keyfile_load(f->path, &back, &err), FZ_ELIMIT);
}

static void test_unwritable_directory(void **state)
{
	struct fixture *f = *state;
	char path[192];
	fz_err err = {0};

	snprintf(path, sizeof(path), "%s/no/such/dir/key.pem", f->dir);
	assert_int_equal(fz_keyfile_save(path, f->key, false, &err), FZ_EIO);
	assert_non_null(strstr(err.msg, "create temp file"));
}

static void test_public_key_not_saved(void **state)
{
	struct fixture *f = *state;
	json_t *jwk = NULL;
	fz_key *pub = NULL;
	fz_err err = {0};

	fz_key_to_jwk(f->key, &jwk, NULL);
	fz_key_from_jwk(jwk, &pub, NULL);
	assert_int_equal(fz_keyfile_save(f->path, pub, false, &err), FZ_EKEY);
	assert_int_equal(entries(f->dir), 0);
	fz_key_free(pub);
	json_decref(jwk);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_save_load),
		T(test_mode_ignores_umask),
		T(test_refuses_overwrite),
		T(test_refuses_group_readable),
		T(test_missing_file),
		T(test_not_a_key),
		T(test_directory_refused),
		T(test_too_large),
		T(test_unwritable_directory),
		T(test_public_key_not_saved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
