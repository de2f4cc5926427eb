/*
 * blob.h - the content-addressed store of resource bytes (SPEC §2, §7.7,
 * §8.4): every file is named by its digest, so the same bytes uploaded
 * twice, or by two users, or fetched from another domain, are one file.
 *
 * It is an interface with backends behind it (the filesystem first, an
 * object store later, ARCHITECTURE "Growing past one machine"): put a
 * stream, open or read a range, delete. The digest is never given by a
 * caller on a put: the store hashes the bytes itself (SPEC §2).
 *
 * A put is Postfix-style: bytes go to a temporary object while they are
 * hashed, are made durable (fsync), and only then appear under their
 * digest. It runs in two steps so a caller can record the new resource
 * in its database between them (blob_gc in mbx_store.h explains why):
 *
 *   fz_blob_put_begin -> fz_blob_put_write ... -> fz_blob_put_finish
 *     (digest known, bytes durable, not yet visible)
 *   -> fz_blob_put_commit (visible under the digest; an existing object
 *     with that digest is kept and the new copy dropped: dedupe)
 *   -> fz_blob_put_abort (always: frees; drops the bytes unless committed)
 *
 * A crash at any point leaves either no object or a whole one under the
 * digest; leftovers of unfinished puts are removed when the store opens.
 *
 * Errors: FZ_ESYNTAX (400) for a name that is not a digest, before any
 * backend sees it; FZ_ELIMIT 413 over the put's size limit; FZ_ELIMIT
 * 507 insufficient_storage when the disk is full; FZ_ENOTFOUND for an
 * absent object; FZ_EIO otherwise.
 *
 * Threads: a store may be used from any thread; one put belongs to one
 * thread at a time.
 */
#ifndef FZ_STORE_BLOB_H
#define FZ_STORE_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"

typedef struct fz_blob_store fz_blob_store;
typedef struct fz_blob_put fz_blob_put;

/* Temporary files of puts live in <dir>/FZ_BLOB_TMP_DIR and start with
 * FZ_BLOB_TMP_PREFIX; objects live in <dir>/ab/cd/<digest>, "ab" and "cd"
 * the digest's first four characters. */
#define FZ_BLOB_TMP_DIR "tmp"
#define FZ_BLOB_TMP_PREFIX "put-"
/* Resumable puts (a fetch from another domain) keep their bytes across
 * attempts and restarts in <dir>/tmp/part-<digest expected>. */
#define FZ_BLOB_PART_PREFIX "part-"
#define FZ_BLOB_DIR_MODE 0700
#define FZ_BLOB_FILE_MODE 0600

/* Opens the filesystem store rooted at dir, creating it (and tmp/) when
 * missing, and removes leftover temporary files of puts a crash cut off.
 * *removed (may be NULL) says how many. */
fz_code fz_blob_fs_open(const char *dir, fz_blob_store **out, size_t *removed,
			fz_err *err);
/* Frees the store; every put must have been aborted. NULL is a no-op. */
void fz_blob_close(fz_blob_store *s);

/* A new put of at most max_bytes. */
fz_code fz_blob_put_begin(fz_blob_store *s, uint64_t max_bytes,
			  fz_blob_put **out, fz_err *err);
/* The next n bytes. Past max_bytes: FZ_ELIMIT 413, and the put is spoiled
 * (abort it). */
fz_code fz_blob_put_write(fz_blob_put *p, const void *data, size_t n,
			  fz_err *err);
/* Ends the stream: the bytes are durable and hashed. */
fz_code fz_blob_put_finish(fz_blob_put *p, fz_digest_str *digest,
			   uint64_t *size, fz_err *err);
/* Makes the finished bytes visible under their digest. *existed (may be
 * NULL) is true when an object with that digest was there already and
 * the new copy was dropped. */
fz_code fz_blob_put_commit(fz_blob_put *p, bool *existed, fz_err *err);
/* Frees the put; the bytes go unless it was committed. NULL is a no-op.
 * Safe as an arena cleanup (void * argument form: fz_blob_put_abort_cb). */
void fz_blob_put_abort(fz_blob_put *p);
void fz_blob_put_abort_cb(void *p);
/* Bytes written so far. */
uint64_t fz_blob_put_size(const fz_blob_put *p);

/* A resumable put (SPEC §8.3: a broken fetch resumes with Range): its
 * temporary object is named after the digest the caller expects, so the
 * next attempt, in this process or after a restart, finds the bytes an
 * earlier one got. They are hashed again on opening (the hash state is
 * not kept), so fz_blob_put_size says where to go on; more than
 * max_bytes already there starts over. Only one put of a name at a time:
 * FZ_ECONFLICT while another holds it. The expected digest is a name,
 * not a promise: finish still computes the real one. */
fz_code fz_blob_put_resume(fz_blob_store *s, const char *expected,
			   uint64_t max_bytes, fz_blob_put **out, fz_err *err);
/* Abort keeps the bytes of a resumable put for the next attempt
 * (default: they go, as with any put). */
void fz_blob_put_keep(fz_blob_put *p);
/* Empties a put that is still writing (the peer ignored the Range and
 * sends from the start): size and hash from zero. */
fz_code fz_blob_put_restart(fz_blob_put *p, fz_err *err);
/* True while writes are accepted (no write failed). */
bool fz_blob_put_writing(const fz_blob_put *p);

/* Opens the object for reading: *fd (the caller closes it) and its size.
 * The HTTP layer serves ranges from the descriptor with sendfile. */
fz_code fz_blob_open(fz_blob_store *s, const char *digest, int *fd,
		     uint64_t *size, fz_err *err);
/* Reads up to n bytes from offset into buf; *got says how many (less
 * than n only at the end of the object). */
fz_code fz_blob_read(fz_blob_store *s, const char *digest, uint64_t offset,
		     void *buf, size_t n, size_t *got, fz_err *err);
/* True in *exists when an object has that digest. */
fz_code fz_blob_exists(fz_blob_store *s, const char *digest, bool *exists,
		       fz_err *err);
/* Removes the object. An absent object is FZ_OK: delete is idempotent. */
fz_code fz_blob_delete(fz_blob_store *s, const char *digest, fz_err *err);

/* FZ_ESYNTAX (400) unless name is a digest: 43 base64url characters. */
fz_code fz_blob_check_name(const char *name, fz_err *err);

#endif
