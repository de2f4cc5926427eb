/*
 * blob_int.h - how a blob backend plugs into blob.c. The common layer
 * hashes, counts and checks names; a backend only moves bytes: a
 * temporary object it can append to, make durable, publish under a name
 * or drop, and objects it can open, read and remove.
 */
#ifndef FZ_STORE_BLOB_INT_H
#define FZ_STORE_BLOB_INT_H

#include "blob.h"

typedef struct fz_blob_ops {
	const char *name;
	/* A new temporary object; *tmp is the backend's handle. */
	fz_code (*tmp_open)(void *impl, void **tmp, fz_err *err);
	fz_code (*tmp_write)(void *tmp, const void *data, size_t n, fz_err *err);
	/* Durable, no more writes. */
	fz_code (*tmp_sync)(void *tmp, fz_err *err);
	/* Under digest, unless an object has it already (*existed then).
	 * The temporary object is gone after, on every path. */
	fz_code (*tmp_publish)(void *impl, void *tmp, const char *digest,
			       bool *existed, fz_err *err);
	/* Drops a temporary object and frees its handle; NULL is a no-op. */
	void (*tmp_discard)(void *tmp);
	/* The named temporary object of a resumable put, made when missing,
	 * held exclusively (FZ_ECONFLICT when another holds it), appended to;
	 * *size is what it has. */
	fz_code (*tmp_resume)(void *impl, const char *name, void **tmp,
			      uint64_t *size, fz_err *err);
	/* Reads up to n bytes at offset of a temporary object (*got less at
	 * its end), so its bytes can be hashed again. */
	fz_code (*tmp_read)(void *tmp, uint64_t offset, void *buf, size_t n,
			    size_t *got, fz_err *err);
	/* Empties a temporary object. */
	fz_code (*tmp_truncate)(void *tmp, fz_err *err);
	/* Frees the handle and leaves the object for a later resume. */
	void (*tmp_keep)(void *tmp);
	fz_code (*open)(void *impl, const char *digest, int *fd, uint64_t *size,
			fz_err *err);
	fz_code (*read)(void *impl, const char *digest, uint64_t offset,
			void *buf, size_t n, size_t *got, fz_err *err);
	fz_code (*exists)(void *impl, const char *digest, bool *exists,
			  fz_err *err);
	fz_code (*remove)(void *impl, const char *digest, fz_err *err);
	void (*close)(void *impl);
} fz_blob_ops;

/* Wraps a backend into a store; takes impl (closed on failure too). */
fz_code fz_blob_store_new(const fz_blob_ops *ops, void *impl,
			  fz_blob_store **out, fz_err *err);

/* fz_blob_fs_open as on a filesystem without O_TMPFILE: every put's
 * temporary file is named. For the tests of that fallback. */
fz_code fz_blob_fs_open_named(const char *dir, fz_blob_store **out,
			      size_t *removed, fz_err *err);

/* 507 insufficient_storage: the disk (or the backend) is full. */
fz_code fz_blob_full(fz_err *err, const char *what);

#endif
