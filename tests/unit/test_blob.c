/* The filesystem blob store in a scratch directory: a put lands under its
 * digest in the ab/cd fan-out, the same bytes twice are one file, abort
 * and the size limit leave nothing behind, leftovers of a crash are
 * removed on open, and a name that is not a digest never reaches the
 * filesystem. Everything twice: with nameless temporary files
 * (O_TMPFILE, where the filesystem has them) and with named ones, the
 * fallback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob.h"
#include "blob_int.h"

struct fixture {
	char dir[128];
	fz_blob_store *bs;
	size_t named; /* 1 when a put in progress has a name in tmp/ */
};

static void rm_tree(const char *path)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	assert_int_equal(system(cmd), 0);
}

/* Whether this filesystem makes nameless files: the store should then. */
static bool has_tmpfile(const char *dir)
{
	char p[200];
	int fd;

	snprintf(p, sizeof(p), "%s/tmp", dir);
	fd = open(p, O_WRONLY | O_TMPFILE | O_CLOEXEC, 0600);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static int setup_with(void **state, bool named)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	fz_code rc;

	snprintf(f->dir, sizeof(f->dir), "%s/fz-blob-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	strcat(f->dir, "/blobs"); /* the store creates its own root */
	rc = named ? fz_blob_fs_open_named(f->dir, &f->bs, NULL, NULL)
		   : fz_blob_fs_open(f->dir, &f->bs, NULL, NULL);
	if (rc != FZ_OK)
		return -1;
	f->named = named || !has_tmpfile(f->dir);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, false);
}

static int setup_named(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fz_blob_close(f->bs);
	*strrchr(f->dir, '/') = '\0';
	rm_tree(f->dir);
	free(f);
	return 0;
}

/* Files in dir/tmp. */
static size_t tmp_count(const char *dir)
{
	char p[200];
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	snprintf(p, sizeof(p), "%s/tmp", dir);
	d = opendir(p);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void put_bytes(fz_blob_store *bs, const void *data, size_t n,
		      fz_digest_str *d, bool *existed)
{
	fz_blob_put *p;
	uint64_t size;

	assert_int_equal(fz_blob_put_begin(bs, 1 << 20, &p, NULL), FZ_OK);
	/* in two pieces, as an upload arrives */
	assert_int_equal(fz_blob_put_write(p, data, n / 2, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, (const char *)data + n / 2, n - n / 2, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_finish(p, d, &size, NULL), FZ_OK);
	assert_int_equal(size, n);
	assert_int_equal(fz_blob_put_commit(p, existed, NULL), FZ_OK);
	fz_blob_put_abort(p);
}

static void test_put_and_read(void **state)
{
	struct fixture *f = *state;
	const char *text = "hello, resources\n";
	fz_digest_str d, want;
	char path[300], buf[64];
	struct stat st;
	bool existed = true, exists = false;
	uint64_t size;
	size_t got;
	int fd;

	fz_digest(text, strlen(text), &want);
	put_bytes(f->bs, text, strlen(text), &d, &existed);
	assert_string_equal(d.s, want.s);
	assert_false(existed);
	/* fan-out from the digest's first characters, mode 0600 */
	snprintf(path, sizeof(path), "%s/%.2s/%.2s/%s", f->dir, d.s, d.s + 2, d.s);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, strlen(text));
	assert_int_equal(tmp_count(f->dir), 0);

	assert_int_equal(fz_blob_open(f->bs, d.s, &fd, &size, NULL), FZ_OK);
	assert_int_equal(size, strlen(text));
	close(fd);
	assert_int_equal(fz_blob_read(f->bs, d.s, 7, buf, sizeof(buf), &got, NULL), FZ_OK);
	assert_int_equal(got, strlen(text) - 7);
	assert_memory_equal(buf, text + 7, got);
	assert_int_equal(fz_blob_exists(f->bs, d.s, &exists, NULL), FZ_OK);
	assert_true(exists);

	assert_int_equal(fz_blob_delete(f->bs, d.s, NULL), FZ_OK);
	assert_int_equal(fz_blob_exists(f->bs, d.s, &exists, NULL), FZ_OK);
	assert_false(exists);
	assert_int_equal(fz_blob_open(f->bs, d.s, &fd, &size, NULL), FZ_ENOTFOUND);
	/* deleting again is not an error */
	assert_int_equal(fz_blob_delete(f->bs, d.s, NULL), FZ_OK);
}

static void test_dedupe(void **state)
{
	struct fixture *f = *state;
	const char *text = "the same bytes";
	fz_digest_str d1, d2;
	char path[300];
	struct stat st1, st2;
	bool e1, e2;

	put_bytes(f->bs, text, strlen(text), &d1, &e1);
	snprintf(path, sizeof(path), "%s/%.2s/%.2s/%s", f->dir, d1.s, d1.s + 2, d1.s);
	assert_int_equal(stat(path, &st1), 0);
	put_bytes(f->bs, text, strlen(text), &d2, &e2);
	assert_string_equal(d1.s, d2.s);
	assert_false(e1);
	assert_true(e2);
	/* the first file was kept, not replaced */
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(tmp_count(f->dir), 0);
}

static void test_empty(void **state)
{
	struct fixture *f = *state;
	fz_digest_str d, want;
	bool existed;

	fz_digest("", 0, &want);
	put_bytes(f->bs, "", 0, &d, &existed);
	assert_string_equal(d.s, want.s);
}

static void test_abort_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	fz_blob_put *p;
	fz_digest_str d;

	assert_int_equal(fz_blob_put_begin(f->bs, 100, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, "abc", 3, NULL), FZ_OK);
	assert_int_equal(tmp_count(f->dir), f->named);
	fz_blob_put_abort(p);
	assert_int_equal(tmp_count(f->dir), 0);

	/* finished but not committed: still nothing */
	assert_int_equal(fz_blob_put_begin(f->bs, 100, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, "abc", 3, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_finish(p, &d, NULL, NULL), FZ_OK);
	fz_blob_put_abort(p);
	assert_int_equal(tmp_count(f->dir), 0);
	bool exists = true;
	assert_int_equal(fz_blob_exists(f->bs, d.s, &exists, NULL), FZ_OK);
	assert_false(exists);
	fz_blob_put_abort(NULL);
}

static void test_size_limit(void **state)
{
	struct fixture *f = *state;
	fz_blob_put *p;
	fz_err err = {0};

	assert_int_equal(fz_blob_put_begin(f->bs, 5, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, "abc", 3, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, "def", 3, &err), FZ_ELIMIT);
	assert_int_equal(err.status, 413);
	assert_int_equal(fz_blob_put_size(p), 3);
	/* a spoiled put cannot be finished */
	assert_int_not_equal(fz_blob_put_finish(p, NULL, NULL, NULL), FZ_OK);
	fz_blob_put_abort(p);
	assert_int_equal(tmp_count(f->dir), 0);

	/* exactly at the limit is fine */
	assert_int_equal(fz_blob_put_begin(f->bs, 5, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, "abcde", 5, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_finish(p, NULL, NULL, NULL), FZ_OK);
	fz_blob_put_abort(p);
}

static void test_order_enforced(void **state)
{
	struct fixture *f = *state;
	fz_blob_put *p;

	assert_int_equal(fz_blob_put_begin(f->bs, 5, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_commit(p, NULL, NULL), FZ_EINTERNAL);
	assert_int_equal(fz_blob_put_finish(p, NULL, NULL, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, "x", 1, NULL), FZ_EINTERNAL);
	fz_blob_put_abort(p);
}

static void test_leftovers_removed(void **state)
{
	struct fixture *f = *state;
	fz_blob_store *again;
	char p[256];
	size_t removed = 0;
	int fd;

	/* what a kill -9 during an upload leaves */
	snprintf(p, sizeof(p), "%s/tmp/%sdeadbeef", f->dir, FZ_BLOB_TMP_PREFIX);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "half", 4), 4);
	close(fd);
	/* a stranger's file in tmp/ is not ours to remove */
	snprintf(p, sizeof(p), "%s/tmp/README", f->dir);
	fd = open(p, O_WRONLY | O_CREAT, 0600);
	close(fd);
	assert_int_equal(fz_blob_fs_open(f->dir, &again, &removed, NULL), FZ_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(tmp_count(f->dir), 1);
	fz_blob_close(again);
}

static void test_bad_names(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"../../etc/passwd",
		"..",
		"%2e%2e",
		"",
		/* 42 and 44 characters */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		/* 43, but with a character outside base64url */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/A",
		/* 43, stray bits in the last character */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB",
	};
	fz_err err = {0};
	uint64_t size;
	size_t i, got;
	bool exists;
	char buf[4];
	int fd;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fz_err_clear(&err);
		assert_int_equal(fz_blob_open(f->bs, bad[i], &fd, &size, &err), FZ_ESYNTAX);
		assert_int_equal(err.status, 400);
		assert_int_equal(fd, -1);
		assert_int_equal(fz_blob_read(f->bs, bad[i], 0, buf, 4, &got, NULL), FZ_ESYNTAX);
		assert_int_equal(fz_blob_exists(f->bs, bad[i], &exists, NULL), FZ_ESYNTAX);
		assert_int_equal(fz_blob_delete(f->bs, bad[i], NULL), FZ_ESYNTAX);
	}
	assert_int_equal(fz_blob_check_name(NULL, NULL), FZ_ESYNTAX);
}

static void test_big_streamed(void **state)
{
	struct fixture *f = *state;
	fz_sha256 *h = fz_sha256_new();
	fz_digest_str want, d;
	fz_blob_put *p;
	char chunk[65536];
	uint64_t size;
	size_t i;

	for (i = 0; i < sizeof(chunk); i++)
		chunk[i] = (char)(i * 7);
	assert_int_equal(fz_blob_put_begin(f->bs, 8 << 20, &p, NULL), FZ_OK);
	for (i = 0; i < 64; i++) {
		chunk[0] = (char)i;
		fz_sha256_update(h, chunk, sizeof(chunk));
		assert_int_equal(fz_blob_put_write(p, chunk, sizeof(chunk), NULL), FZ_OK);
	}
	fz_sha256_final(h, NULL, &want);
	fz_sha256_free(h);
	assert_int_equal(fz_blob_put_finish(p, &d, &size, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_commit(p, NULL, NULL), FZ_OK);
	fz_blob_put_abort(p);
	assert_string_equal(d.s, want.s);
	assert_int_equal(size, 64 * sizeof(chunk));
}

/* A resumable put: kept across abort (and a reopened store), hashed
 * again on resume, finished under the real digest; a second holder is
 * refused; restart empties; spoiled or committed, nothing stays. */
static void test_resume(void **state)
{
	struct fixture *f = *state;
	const char *text = "the first half|and the second half\n";
	size_t n = strlen(text), half = 15;
	fz_digest_str want, got;
	fz_blob_put *p, *q;
	fz_blob_store *again;
	size_t removed = 9;
	uint64_t size = 0;
	fz_err err = {0};

	fz_digest(text, n, &want);
	assert_int_equal(fz_blob_put_resume(f->bs, want.s, n, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_size(p), 0);
	assert_int_equal(fz_blob_put_write(p, text, half, NULL), FZ_OK);
	/* one holder at a time */
	assert_int_equal(fz_blob_put_resume(f->bs, want.s, n, &q, &err), FZ_ECONFLICT);
	fz_blob_put_keep(p);
	fz_blob_put_abort(p); /* the download broke */
	assert_int_equal(tmp_count(f->dir), 1);
	/* a restart keeps parts (only put- leftovers go) */
	assert_int_equal(fz_blob_fs_open(f->dir, &again, &removed, NULL), FZ_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(fz_blob_put_resume(again, want.s, n, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_size(p), half);
	assert_int_equal(fz_blob_put_write(p, text + half, n - half, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_finish(p, &got, &size, NULL), FZ_OK);
	assert_string_equal(got.s, want.s);
	assert_int_equal(size, n);
	assert_int_equal(fz_blob_put_commit(p, NULL, NULL), FZ_OK);
	fz_blob_put_abort(p);
	assert_int_equal(tmp_count(f->dir), 0);
	fz_blob_close(again);
}

static void test_resume_restart_and_spoil(void **state)
{
	struct fixture *f = *state;
	fz_digest_str want;
	fz_blob_put *p;
	fz_err err = {0};

	fz_digest("0123456789", 10, &want);
	assert_int_equal(fz_blob_put_resume(f->bs, want.s, 10, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, "01234", 5, NULL), FZ_OK);
	/* the origin ignored the Range: from the start */
	assert_int_equal(fz_blob_put_restart(p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_size(p), 0);
	assert_int_equal(fz_blob_put_write(p, "0123456789", 10, NULL), FZ_OK);
	/* more than declared spoils it: kept or not, it goes */
	assert_int_equal(fz_blob_put_write(p, "x", 1, &err), FZ_ELIMIT);
	assert_false(fz_blob_put_writing(p));
	fz_blob_put_keep(p);
	fz_blob_put_abort(p);
	assert_int_equal(tmp_count(f->dir), 0);
	/* not kept: dropped */
	assert_int_equal(fz_blob_put_resume(f->bs, want.s, 10, &p, NULL), FZ_OK);
	assert_int_equal(fz_blob_put_write(p, "012", 3, NULL), FZ_OK);
	fz_blob_put_abort(p);
	assert_int_equal(tmp_count(f->dir), 0);
	assert_int_equal(fz_blob_put_resume(f->bs, "../etc", 10, &p, &err), FZ_ESYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_and_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dedupe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_enforced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftovers_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_streamed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_restart_and_spoil, setup, teardown),
	};

	const struct CMUnitTest named[] = {
		cmocka_unit_test_setup_teardown(test_put_and_read, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_dedupe, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_size_limit, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_order_enforced, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_leftovers_removed, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_big_streamed, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_resume, setup_named, teardown),
		cmocka_unit_test_setup_teardown(test_resume_restart_and_spoil, setup_named, teardown),
	};
	int failed = cmocka_run_group_tests_name("blob store", tests, NULL, NULL);

	return failed + cmocka_run_group_tests_name("blob store, named temporary files",
						    named, NULL, NULL);
}
