/*
 * keyfile.c - the one place a private key touches the disk. Writing goes
 * through a temp file created O_EXCL with mode 0600 in the target's own
 * directory (so rename stays atomic), fsynced before it takes the name;
 * a save that must not overwrite takes the name with link(), which fails
 * when the name exists, so two writers cannot both win.
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jose.h"

#define TMP_SUFFIX_BYTES 9 /* 12 base64url characters */
#define TMP_TRIES 5

static fz_code io_fail(fz_err *err, const char *what, const char *path)
{
	return fz_fail(err, FZ_EIO, "key file %s: %s: %s", path, what, strerror(errno));
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	char *d;

	if (slash == NULL)
		return strdup(".");
	n = slash == path ? 1 : (size_t)(slash - path);
	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, path, n);
	d[n] = '\0';
	return d;
}

static fz_code write_all(int fd, const char *buf, size_t len, const char *path,
			 fz_err *err)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return io_fail(err, "write", path);
		buf += w;
		len -= (size_t)w;
	}
	return FZ_OK;
}

static fz_code fsync_dir(const char *path, fz_err *err)
{
	char *dir = dir_of(path);
	fz_code rc = FZ_OK;
	int fd;

	if (dir == NULL)
		return fz_fail(err, FZ_ENOMEM, "keyfile: out of memory");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = io_fail(err, "fsync of its directory", path);
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

/* Creates path.tmp-XXXX exclusively, mode 0600 whatever the umask. */
static fz_code open_temp(const char *path, char **tmp, int *fd, fz_err *err)
{
	size_t cap = strlen(path) + 6 + 16;
	char suffix[16];
	char *name;
	fz_code rc;
	int i;

	if ((name = malloc(cap)) == NULL)
		return fz_fail(err, FZ_ENOMEM, "keyfile: out of memory");
	for (i = 0; i < TMP_TRIES; i++) {
		if ((rc = fz_random_b64url(TMP_SUFFIX_BYTES, suffix, sizeof(suffix), err))) {
			free(name);
			return rc;
		}
		snprintf(name, cap, "%s.tmp-%s", path, suffix);
		*fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			   FZ_KEYFILE_MODE);
		if (*fd >= 0)
			break;
		if (errno != EEXIST) {
			free(name);
			return io_fail(err, "create temp file", path);
		}
	}
	if (*fd < 0) {
		free(name);
		return fz_fail(err, FZ_EIO, "key file %s: no free temp name", path);
	}
	if (fchmod(*fd, FZ_KEYFILE_MODE) != 0) {
		rc = io_fail(err, "chmod temp file", path);
		close(*fd);
		unlink(name);
		free(name);
		return rc;
	}
	*tmp = name;
	return FZ_OK;
}

/* Gives tmp the final name. */
static fz_code publish(const char *tmp, const char *path, bool overwrite,
		       fz_err *err)
{
	if (overwrite) {
		if (rename(tmp, path) != 0)
			return io_fail(err, "rename", path);
		return FZ_OK;
	}
	if (link(tmp, path) != 0) {
		if (errno == EEXIST)
			return fz_fail(err, FZ_ECONFLICT,
				       "key file %s exists; refusing to overwrite it", path);
		return io_fail(err, "link", path);
	}
	unlink(tmp);
	return FZ_OK;
}

fz_code fz_keyfile_write(const char *path, const char *pem, size_t len,
			 bool overwrite, fz_err *err)
{
	struct stat st;
	char *tmp = NULL;
	fz_code rc;
	int fd = -1;

	/* Early, for a clear answer; publish() decides under a race. */
	if (!overwrite && lstat(path, &st) == 0)
		return fz_fail(err, FZ_ECONFLICT, "key file %s exists; refusing to overwrite it",
			       path);
	if ((rc = open_temp(path, &tmp, &fd, err)) != FZ_OK)
		return rc;
	if ((rc = write_all(fd, pem, len, path, err)) != FZ_OK)
		goto fail;
	if (fsync(fd) != 0) {
		rc = io_fail(err, "fsync", path);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = io_fail(err, "close", path);
		goto fail;
	}
	fd = -1;
	if ((rc = publish(tmp, path, overwrite, err)) != FZ_OK)
		goto fail;
	free(tmp);
	return fsync_dir(path, err);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return rc;
}

fz_code fz_keyfile_save(const char *path, const fz_key *key, bool overwrite,
			fz_err *err)
{
	char *pem = NULL;
	size_t len = 0;
	fz_code rc = fz_key_to_pem(key, &pem, &len, err);

	if (rc != FZ_OK)
		return rc;
	rc = fz_keyfile_write(path, pem, len, overwrite, err);
	fz_secret_free(pem, len);
	return rc;
}

static fz_code check_mode(const struct stat *st, const char *path, fz_err *err)
{
	if (!S_ISREG(st->st_mode))
		return fz_fail(err, FZ_EIO, "key file %s is not a regular file", path);
	if ((st->st_mode & 077) != 0)
		return fz_fail(err, FZ_EDENIED,
			       "key file %s is open to group or others (mode %04o): "
			       "run chmod 600 %s",
			       path, (unsigned)(st->st_mode & 07777), path);
	if (st->st_size > FZ_KEYFILE_MAX_BYTES)
		return fz_fail(err, FZ_ELIMIT, "key file %s is larger than %d bytes", path,
			       FZ_KEYFILE_MAX_BYTES);
	return FZ_OK;
}

static fz_code read_all(int fd, char *buf, size_t cap, size_t *len,
			const char *path, fz_err *err)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return io_fail(err, "read", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return FZ_OK;
}

fz_code fz_keyfile_load(const char *path, fz_key **out, fz_err *err)
{
	size_t cap = FZ_KEYFILE_MAX_BYTES + 1, len = 0;
	struct stat st;
	char *buf = NULL;
	fz_code rc;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT)
		return fz_fail(err, FZ_ENOTFOUND, "key file %s does not exist", path);
	if (fd < 0)
		return io_fail(err, "open", path);
	/* fstat of the open file: the checked file is the read file. */
	if (fstat(fd, &st) != 0) {
		rc = io_fail(err, "stat", path);
		goto out;
	}
	if ((rc = check_mode(&st, path, err)) != FZ_OK)
		goto out;
	if ((buf = malloc(cap)) == NULL) {
		rc = fz_fail(err, FZ_ENOMEM, "keyfile: out of memory");
		goto out;
	}
	if ((rc = read_all(fd, buf, cap, &len, path, err)) != FZ_OK)
		goto out;
	if (len == cap) {
		rc = fz_fail(err, FZ_ELIMIT, "key file %s grew past %d bytes", path,
			     FZ_KEYFILE_MAX_BYTES);
		goto out;
	}
	if ((rc = fz_key_from_pem(buf, len, out, err)) != FZ_OK)
		fz_err_prefix(err, "key file %s", path);
out:
	close(fd);
	fz_secret_free(buf, buf ? cap : 0);
	return rc;
}
