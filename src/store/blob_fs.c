/*
 * blob_fs.c - the filesystem backend of the blob store: objects in
 * <dir>/ab/cd/<digest>, temporary files in <dir>/tmp.
 *
 * Durability in Postfix's manner: a temporary file (0600) takes the
 * bytes, is fsynced, then linked under its digest and the directory
 * fsynced, and only then does the caller answer. link() rather than
 * rename() because link refuses to replace: an existing object with the
 * digest stays untouched (same bytes by construction) and the new copy is
 * dropped. Everything works relative to directory descriptors opened
 * once, so no path is ever built from more than a digest.
 *
 * The temporary file has no name where the filesystem allows it
 * (O_TMPFILE): no directory entry is made and removed per put, and a
 * crash leaves nothing behind. Where it does not (checked once at open),
 * the file is named tmp/put-<random> (O_EXCL) and unlinked after the
 * link. Resumable puts keep named tmp/part-<digest> files either way:
 * they must outlive a restart.
 *
 * The filesystem must be case-sensitive: base64url digests differ by
 * case alone.
 */
#include "blob_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jose.h"

/* "put-" + 22 random base64url characters: collisions are not a concern,
 * O_EXCL catches one anyway; or "part-" + a digest. */
#define TMP_NAME_MAX 64
/* "ab/cd/" + digest */
#define OBJ_PATH_MAX (6 + FZ_DIGEST_LEN + 1)
/* "/proc/self/fd/" + a descriptor */
#define FD_PATH_MAX 32

typedef struct fs_store {
	int root;  /* <dir> */
	int tmp;   /* <dir>/tmp */
	bool anon; /* puts' temporary files are O_TMPFILE ones */
} fs_store;

typedef struct fs_tmp {
	fs_store *fs;
	int fd;
	bool part; /* a resumable put's: fd holds its lock until the end */
	bool anon; /* no name: linked from fd, which stays open until then */
	char name[TMP_NAME_MAX];
} fs_tmp;

static bool is_full(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

static fz_code io_fail(int e, const char *what, fz_err *err)
{
	if (is_full(e))
		return fz_blob_full(err, what);
	return fz_fail(err, FZ_EIO, "blob store: %s: %s", what, strerror(e));
}

static void obj_path(const char *digest, char out[OBJ_PATH_MAX])
{
	snprintf(out, OBJ_PATH_MAX, "%.2s/%.2s/%s", digest, digest + 2, digest);
}

static fz_code sync_dir(int dirfd, const char *rel, fz_err *err)
{
	int fd = openat(dirfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return io_fail(errno, "open directory", err);
	rc = fsync(fd);
	close(fd);
	if (rc != 0)
		return io_fail(errno, "fsync directory", err);
	return FZ_OK;
}

/* mkdir that tolerates an existing directory; a new one is made durable
 * in its parent. */
static fz_code ensure_dir(int dirfd, const char *rel, const char *parent,
			  fz_err *err)
{
	if (mkdirat(dirfd, rel, FZ_BLOB_DIR_MODE) == 0)
		return sync_dir(dirfd, parent, err);
	if (errno == EEXIST)
		return FZ_OK;
	return io_fail(errno, "create directory", err);
}

/* A nameless file in dir, or -1 with errno. */
static int anon_open(int dir)
{
	return openat(dir, ".", O_WRONLY | O_TMPFILE | O_CLOEXEC, FZ_BLOB_FILE_MODE);
}

/* Gives the nameless file fd the name path under dir. Through /proc
 * because linkat(fd, "", AT_EMPTY_PATH) wants a capability we lack. */
static int anon_link(int fd, int dir, const char *path)
{
	char self[FD_PATH_MAX];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, self, dir, path, AT_SYMLINK_FOLLOW);
}

/* tmp/put-<random>, created. */
static fz_code named_open(fs_tmp *t, fz_err *err)
{
	char rnd[FZ_JTI_LEN + 1];
	fz_code rc = fz_random_b64url(FZ_JTI_BYTES, rnd, sizeof(rnd), err);

	if (rc != FZ_OK)
		return rc;
	snprintf(t->name, sizeof(t->name), "%s%s", FZ_BLOB_TMP_PREFIX, rnd);
	t->fd = openat(t->fs->tmp, t->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		       FZ_BLOB_FILE_MODE);
	if (t->fd < 0)
		return io_fail(errno, "create temporary file", err);
	return FZ_OK;
}

static fz_code fs_tmp_open(void *impl, void **out, fz_err *err)
{
	fs_store *fs = impl;
	fs_tmp *t = calloc(1, sizeof(*t));
	fz_code rc;

	*out = NULL;
	if (t == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	t->fs = fs;
	t->anon = fs->anon;
	if (!t->anon)
		rc = named_open(t, err);
	else if ((t->fd = anon_open(fs->tmp)) < 0)
		rc = io_fail(errno, "create temporary file", err);
	else
		rc = FZ_OK;
	if (rc != FZ_OK) {
		free(t);
		return rc;
	}
	*out = t;
	return FZ_OK;
}

static fz_code fs_tmp_write(void *tmp, const void *data, size_t n, fz_err *err)
{
	fs_tmp *t = tmp;
	const char *p = data;
	ssize_t w;

	while (n > 0) {
		w = write(t->fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return io_fail(errno, "write", err);
		p += w;
		n -= (size_t)w;
	}
	return FZ_OK;
}

static fz_code fs_tmp_sync(void *tmp, fz_err *err)
{
	fs_tmp *t = tmp;
	int rc = fsync(t->fd);
	int e = errno;

	/* a part stays locked (open) until published or dropped, so no
	 * resumer appends to the bytes being linked into place; a nameless
	 * file can only be linked from its descriptor */
	if (t->part || t->anon)
		return rc == 0 ? FZ_OK : io_fail(e, "fsync", err);
	if (close(t->fd) != 0 && rc == 0) {
		rc = -1;
		e = errno;
	}
	t->fd = -1;
	if (rc != 0)
		return io_fail(e, "fsync", err);
	return FZ_OK;
}

static void fs_tmp_discard(void *tmp)
{
	fs_tmp *t = tmp;

	if (t == NULL)
		return;
	/* unlinked before the lock goes with the close: a resumer waiting
	 * for it then makes a new file rather than take this one's bytes */
	if (!t->anon)
		unlinkat(t->fs->tmp, t->name, 0);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static fz_code fs_tmp_resume(void *impl, const char *name, void **out,
			     uint64_t *size, fz_err *err)
{
	fs_store *fs = impl;
	fs_tmp *t = calloc(1, sizeof(*t));
	struct stat st;
	fz_code rc = FZ_OK;

	*out = NULL;
	if (t == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	t->fs = fs;
	t->part = true;
	snprintf(t->name, sizeof(t->name), "%s%s", FZ_BLOB_PART_PREFIX, name);
	t->fd = openat(fs->tmp, t->name, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC,
		       FZ_BLOB_FILE_MODE);
	if (t->fd < 0)
		rc = io_fail(errno, "open partial file", err);
	else if (flock(t->fd, LOCK_EX | LOCK_NB) != 0)
		rc = errno == EWOULDBLOCK
			     ? fz_fail(err, FZ_ECONFLICT, "blob store: %s is being written", t->name)
			     : io_fail(errno, "lock partial file", err);
	else if (fstat(t->fd, &st) != 0 || !S_ISREG(st.st_mode))
		rc = fz_fail(err, FZ_EIO, "blob store: %s is not a regular file", t->name);
	else if (st.st_nlink == 0) /* dropped by its holder between our open and lock */
		rc = fz_fail(err, FZ_ECONFLICT, "blob store: %s was just dropped", t->name);
	if (rc != FZ_OK) {
		if (t->fd >= 0)
			close(t->fd);
		free(t);
		return rc;
	}
	*size = (uint64_t)st.st_size;
	*out = t;
	return FZ_OK;
}

static fz_code fs_tmp_read(void *tmp, uint64_t offset, void *buf, size_t n,
			   size_t *got, fz_err *err)
{
	fs_tmp *t = tmp;
	ssize_t r;

	do
		r = pread(t->fd, buf, n, (off_t)offset);
	while (r < 0 && errno == EINTR);
	*got = r > 0 ? (size_t)r : 0;
	return r < 0 ? io_fail(errno, "read partial file", err) : FZ_OK;
}

static fz_code fs_tmp_truncate(void *tmp, fz_err *err)
{
	fs_tmp *t = tmp;

	return ftruncate(t->fd, 0) == 0 ? FZ_OK : io_fail(errno, "truncate", err);
}

static void fs_tmp_keep(void *tmp)
{
	fs_tmp *t = tmp;

	if (t == NULL)
		return;
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static int link_tmp(fs_tmp *t, const char *path)
{
	if (t->anon)
		return anon_link(t->fd, t->fs->root, path);
	return linkat(t->fs->tmp, t->name, t->fs->root, path, 0);
}

/* An object with the digest already is no failure: same bytes. */
static fz_code link_failed(int e, bool *existed, fz_err *err)
{
	if (e != EEXIST)
		return io_fail(e, "link into place", err);
	*existed = true;
	return FZ_OK;
}

/* The link first: the fan-out directories exist but in a young store,
 * so they are made (and made durable) only when it says they are
 * missing. One that exists is taken as made durable by whoever made it,
 * as when mkdir finds it (EEXIST): no weaker than before. */
static fz_code link_into_place(fs_tmp *t, const char *path, const char *l1,
			       const char *l2, bool *existed, fz_err *err)
{
	fz_code rc;

	if (link_tmp(t, path) == 0)
		return FZ_OK;
	if (errno != ENOENT)
		return link_failed(errno, existed, err);
	rc = ensure_dir(t->fs->root, l1, ".", err);
	if (rc == FZ_OK)
		rc = ensure_dir(t->fs->root, l2, l1, err);
	if (rc != FZ_OK)
		return rc;
	return link_tmp(t, path) == 0 ? FZ_OK : link_failed(errno, existed, err);
}

static fz_code fs_tmp_publish(void *impl, void *tmp, const char *digest,
			      bool *existed, fz_err *err)
{
	fs_store *fs = impl;
	fs_tmp *t = tmp;
	char path[OBJ_PATH_MAX], l1[3], l2[6];
	fz_code rc;

	*existed = false;
	obj_path(digest, path);
	snprintf(l1, sizeof(l1), "%.2s", digest);
	snprintf(l2, sizeof(l2), "%.5s", path);
	rc = link_into_place(t, path, l1, l2, existed, err);
	/* The object (new or old) stands under its name; the new entry is
	 * made durable before anyone is told it exists. */
	if (rc == FZ_OK && !*existed)
		rc = sync_dir(fs->root, l2, err);
	fs_tmp_discard(t);
	return rc;
}

static fz_code fs_open(void *impl, const char *digest, int *fd, uint64_t *size,
		       fz_err *err)
{
	fs_store *fs = impl;
	char path[OBJ_PATH_MAX];
	struct stat st;
	int f;

	obj_path(digest, path);
	f = openat(fs->root, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (f < 0 && errno == ENOENT)
		return fz_fail(err, FZ_ENOTFOUND, "no resource %s", digest);
	if (f < 0)
		return io_fail(errno, "open", err);
	if (fstat(f, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(f);
		return fz_fail(err, FZ_EIO, "blob store: %s is not a regular file", path);
	}
	*fd = f;
	*size = (uint64_t)st.st_size;
	return FZ_OK;
}

static fz_code fs_read(void *impl, const char *digest, uint64_t offset,
		       void *buf, size_t n, size_t *got, fz_err *err)
{
	uint64_t size;
	size_t have = 0;
	ssize_t r;
	int fd;
	fz_code rc = fs_open(impl, digest, &fd, &size, err);

	if (rc != FZ_OK)
		return rc;
	while (have < n) {
		r = pread(fd, (char *)buf + have, n - have, (off_t)(offset + have));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = io_fail(errno, "read", err);
			break;
		}
		if (r == 0)
			break;
		have += (size_t)r;
	}
	close(fd);
	*got = have;
	return rc;
}

static fz_code fs_exists(void *impl, const char *digest, bool *exists,
			 fz_err *err)
{
	fs_store *fs = impl;
	char path[OBJ_PATH_MAX];
	struct stat st;

	obj_path(digest, path);
	if (fstatat(fs->root, path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		*exists = S_ISREG(st.st_mode);
		return FZ_OK;
	}
	if (errno == ENOENT)
		return FZ_OK;
	return io_fail(errno, "stat", err);
}

static fz_code fs_remove(void *impl, const char *digest, fz_err *err)
{
	fs_store *fs = impl;
	char path[OBJ_PATH_MAX], dir[6];

	obj_path(digest, path);
	snprintf(dir, sizeof(dir), "%.5s", path);
	if (unlinkat(fs->root, path, 0) != 0)
		return errno == ENOENT ? FZ_OK : io_fail(errno, "delete", err);
	return sync_dir(fs->root, dir, err);
}

static void fs_close(void *impl)
{
	fs_store *fs = impl;

	if (fs == NULL)
		return;
	if (fs->root >= 0)
		close(fs->root);
	if (fs->tmp >= 0)
		close(fs->tmp);
	free(fs);
}

static const fz_blob_ops fs_ops = {
	.name = "fs",
	.tmp_open = fs_tmp_open,
	.tmp_write = fs_tmp_write,
	.tmp_sync = fs_tmp_sync,
	.tmp_publish = fs_tmp_publish,
	.tmp_discard = fs_tmp_discard,
	.tmp_resume = fs_tmp_resume,
	.tmp_read = fs_tmp_read,
	.tmp_truncate = fs_tmp_truncate,
	.tmp_keep = fs_tmp_keep,
	.open = fs_open,
	.read = fs_read,
	.exists = fs_exists,
	.remove = fs_remove,
	.close = fs_close,
};

/* Crash recovery: a put cut off before its link left a temporary file
 * nobody will finish. Objects under a digest are whole by construction. */
static fz_code remove_leftovers(fs_store *fs, size_t *removed, fz_err *err)
{
	int fd = dup(fs->tmp);
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return io_fail(errno, "read tmp directory", err);
	}
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, FZ_BLOB_TMP_PREFIX, strlen(FZ_BLOB_TMP_PREFIX)) != 0)
			continue;
		if (unlinkat(fs->tmp, e->d_name, 0) == 0)
			n++;
	}
	closedir(d);
	if (removed != NULL)
		*removed = n;
	return FZ_OK;
}

/* Whether nameless temporary files work here: made and linked (then
 * unlinked) once. Refusals are EOPNOTSUPP, EISDIR (a kernel without
 * O_TMPFILE) or EINVAL; a /proc we cannot link from is one too. The
 * probe's name is a put-'s, so a crash in between leaves a leftover
 * that the next open removes. */
static fz_code probe_anon(fs_store *fs, fz_err *err)
{
	char rnd[FZ_JTI_LEN + 1], name[TMP_NAME_MAX];
	int fd;
	fz_code rc = fz_random_b64url(FZ_JTI_BYTES, rnd, sizeof(rnd), err);

	fs->anon = false;
	if (rc != FZ_OK)
		return rc;
	snprintf(name, sizeof(name), "%s%s", FZ_BLOB_TMP_PREFIX, rnd);
	fd = anon_open(fs->tmp);
	if (fd < 0)
		return is_full(errno) ? io_fail(errno, "create temporary file", err) : FZ_OK;
	if (anon_link(fd, fs->tmp, name) == 0) {
		fs->anon = true;
		unlinkat(fs->tmp, name, 0);
	}
	close(fd);
	return FZ_OK;
}

static fz_code fs_store_open(const char *dir, bool anon, fz_blob_store **out,
			     size_t *removed, fz_err *err)
{
	fs_store *fs = calloc(1, sizeof(*fs));
	fz_code rc;

	*out = NULL;
	if (removed != NULL)
		*removed = 0;
	if (fs == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	fs->root = fs->tmp = -1;
	if (mkdir(dir, FZ_BLOB_DIR_MODE) != 0 && errno != EEXIST) {
		rc = fz_fail(err, FZ_EIO, "blob store %s: %s", dir, strerror(errno));
		goto fail;
	}
	fs->root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->root < 0) {
		rc = fz_fail(err, FZ_EIO, "blob store %s: %s", dir, strerror(errno));
		goto fail;
	}
	rc = ensure_dir(fs->root, FZ_BLOB_TMP_DIR, ".", err);
	if (rc != FZ_OK)
		goto fail;
	fs->tmp = openat(fs->root, FZ_BLOB_TMP_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->tmp < 0) {
		rc = io_fail(errno, "open tmp directory", err);
		goto fail;
	}
	rc = remove_leftovers(fs, removed, err);
	if (rc == FZ_OK && anon)
		rc = probe_anon(fs, err);
	if (rc != FZ_OK)
		goto fail;
	return fz_blob_store_new(&fs_ops, fs, out, err);
fail:
	fs_close(fs);
	return rc;
}

fz_code fz_blob_fs_open(const char *dir, fz_blob_store **out, size_t *removed,
			fz_err *err)
{
	return fs_store_open(dir, true, out, removed, err);
}

fz_code fz_blob_fs_open_named(const char *dir, fz_blob_store **out,
			      size_t *removed, fz_err *err)
{
	return fs_store_open(dir, false, out, removed, err);
}
