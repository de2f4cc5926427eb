/*
 * blob.c - the backend-independent half of the blob store: names are
 * checked here before any backend sees them (a path like "../x" never
 * reaches a filesystem), bytes are hashed and counted here as they pass,
 * and the put's steps are enforced in order.
 */
#include "blob_int.h"

#include <stdlib.h>
#include <string.h>

struct fz_blob_store {
	const fz_blob_ops *ops;
	void *impl;
};

typedef enum put_phase {
	PUT_WRITING,
	PUT_FINISHED,
	PUT_COMMITTED,
	PUT_SPOILED, /* a write failed: only abort is left */
} put_phase;

struct fz_blob_put {
	fz_blob_store *s;
	void *tmp;
	fz_sha256 *hash;
	uint64_t size, max;
	put_phase phase;
	bool keep; /* abort leaves the bytes (a resumable put) */
	fz_digest_str digest;
};

/* Hashing the bytes a resumed put already has, this many at a time. */
#define REHASH_CHUNK (64 * 1024)

fz_code fz_blob_full(fz_err *err, const char *what)
{
	return fz_fail_http(err, FZ_ELIMIT, 507, "insufficient_storage",
			    "%s: no space left for resources", what);
}

fz_code fz_blob_check_name(const char *name, fz_err *err)
{
	if (name == NULL || !fz_digest_valid(name, strlen(name)))
		return fz_fail_http(err, FZ_ESYNTAX, 400, "invalid_request",
				    "a resource is named by its digest: 43 base64url characters");
	return FZ_OK;
}

fz_code fz_blob_store_new(const fz_blob_ops *ops, void *impl,
			  fz_blob_store **out, fz_err *err)
{
	fz_blob_store *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL) {
		ops->close(impl);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	s->ops = ops;
	s->impl = impl;
	*out = s;
	return FZ_OK;
}

void fz_blob_close(fz_blob_store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s->impl);
	free(s);
}

fz_code fz_blob_put_begin(fz_blob_store *s, uint64_t max_bytes,
			  fz_blob_put **out, fz_err *err)
{
	fz_blob_put *p = calloc(1, sizeof(*p));
	fz_code rc;

	*out = NULL;
	if (p == NULL || (p->hash = fz_sha256_new()) == NULL) {
		free(p);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	p->s = s;
	p->max = max_bytes;
	rc = s->ops->tmp_open(s->impl, &p->tmp, err);
	if (rc != FZ_OK) {
		fz_blob_put_abort(p);
		return rc;
	}
	*out = p;
	return FZ_OK;
}

fz_code fz_blob_put_write(fz_blob_put *p, const void *data, size_t n,
			  fz_err *err)
{
	fz_code rc;

	if (p->phase != PUT_WRITING)
		return fz_fail(err, FZ_EINTERNAL, "blob put: write after the end");
	if (n > p->max || p->size > p->max - n) {
		p->phase = PUT_SPOILED;
		return fz_fail_http(err, FZ_ELIMIT, 413, "invalid_request",
				    "a resource may have at most %llu bytes",
				    (unsigned long long)p->max);
	}
	rc = p->s->ops->tmp_write(p->tmp, data, n, err);
	if (rc != FZ_OK) {
		p->phase = PUT_SPOILED;
		return rc;
	}
	fz_sha256_update(p->hash, data, n);
	p->size += n;
	return FZ_OK;
}

fz_code fz_blob_put_finish(fz_blob_put *p, fz_digest_str *digest,
			   uint64_t *size, fz_err *err)
{
	fz_code rc;

	if (p->phase != PUT_WRITING)
		return fz_fail(err, FZ_EINTERNAL, "blob put: finish out of order");
	rc = p->s->ops->tmp_sync(p->tmp, err);
	if (rc != FZ_OK) {
		p->phase = PUT_SPOILED;
		return rc;
	}
	fz_sha256_final(p->hash, NULL, &p->digest);
	p->phase = PUT_FINISHED;
	if (digest != NULL)
		*digest = p->digest;
	if (size != NULL)
		*size = p->size;
	return FZ_OK;
}

fz_code fz_blob_put_commit(fz_blob_put *p, bool *existed, fz_err *err)
{
	bool had = false;
	void *tmp = p->tmp;
	fz_code rc;

	if (p->phase != PUT_FINISHED)
		return fz_fail(err, FZ_EINTERNAL, "blob put: commit before finish");
	p->tmp = NULL; /* publish consumes it on every path */
	rc = p->s->ops->tmp_publish(p->s->impl, tmp, p->digest.s, &had, err);
	if (rc != FZ_OK) {
		p->phase = PUT_SPOILED;
		return rc;
	}
	p->phase = PUT_COMMITTED;
	if (existed != NULL)
		*existed = had;
	return FZ_OK;
}

void fz_blob_put_abort(fz_blob_put *p)
{
	if (p == NULL)
		return;
	if (p->tmp != NULL && p->keep && p->phase == PUT_WRITING)
		p->s->ops->tmp_keep(p->tmp);
	else if (p->tmp != NULL)
		p->s->ops->tmp_discard(p->tmp);
	fz_sha256_free(p->hash);
	free(p);
}

void fz_blob_put_abort_cb(void *p)
{
	fz_blob_put_abort(p);
}

uint64_t fz_blob_put_size(const fz_blob_put *p)
{
	return p->size;
}

bool fz_blob_put_writing(const fz_blob_put *p)
{
	return p->phase == PUT_WRITING;
}

void fz_blob_put_keep(fz_blob_put *p)
{
	p->keep = true;
}

fz_code fz_blob_put_restart(fz_blob_put *p, fz_err *err)
{
	fz_code rc;

	if (p->phase != PUT_WRITING)
		return fz_fail(err, FZ_EINTERNAL, "blob put: restart after the end");
	rc = p->s->ops->tmp_truncate(p->tmp, err);
	if (rc != FZ_OK) {
		p->phase = PUT_SPOILED;
		return rc;
	}
	fz_sha256_free(p->hash);
	p->size = 0;
	if ((p->hash = fz_sha256_new()) == NULL) {
		p->phase = PUT_SPOILED;
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	return FZ_OK;
}

/* The hash over the n bytes a resumed temporary object has. */
static fz_code rehash(fz_blob_put *p, uint64_t n, fz_err *err)
{
	char *buf = malloc(REHASH_CHUNK);
	size_t got = 0;
	fz_code rc = FZ_OK;

	if (buf == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	while (rc == FZ_OK && p->size < n) {
		rc = p->s->ops->tmp_read(p->tmp, p->size, buf, REHASH_CHUNK, &got, err);
		if (rc == FZ_OK && got == 0)
			rc = fz_fail(err, FZ_EIO, "blob store: a partial file shrank");
		if (rc == FZ_OK) {
			fz_sha256_update(p->hash, buf, got);
			p->size += got;
		}
	}
	free(buf);
	return rc;
}

fz_code fz_blob_put_resume(fz_blob_store *s, const char *expected,
			   uint64_t max_bytes, fz_blob_put **out, fz_err *err)
{
	fz_blob_put *p = NULL;
	uint64_t have = 0;
	fz_code rc = fz_blob_check_name(expected, err);

	*out = NULL;
	if (rc != FZ_OK)
		return rc;
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->hash = fz_sha256_new()) == NULL) {
		free(p);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	p->s = s;
	p->max = max_bytes;
	rc = s->ops->tmp_resume(s->impl, expected, &p->tmp, &have, err);
	/* more than the part may have cannot be its first bytes */
	if (rc == FZ_OK && have > max_bytes)
		rc = fz_blob_put_restart(p, err);
	else if (rc == FZ_OK)
		rc = rehash(p, have, err);
	if (rc != FZ_OK) {
		fz_blob_put_abort(p);
		return rc;
	}
	*out = p;
	return FZ_OK;
}

fz_code fz_blob_open(fz_blob_store *s, const char *digest, int *fd,
		     uint64_t *size, fz_err *err)
{
	fz_code rc = fz_blob_check_name(digest, err);

	*fd = -1;
	if (rc != FZ_OK)
		return rc;
	return s->ops->open(s->impl, digest, fd, size, err);
}

fz_code fz_blob_read(fz_blob_store *s, const char *digest, uint64_t offset,
		     void *buf, size_t n, size_t *got, fz_err *err)
{
	fz_code rc = fz_blob_check_name(digest, err);

	*got = 0;
	if (rc != FZ_OK)
		return rc;
	return s->ops->read(s->impl, digest, offset, buf, n, got, err);
}

fz_code fz_blob_exists(fz_blob_store *s, const char *digest, bool *exists,
		       fz_err *err)
{
	fz_code rc = fz_blob_check_name(digest, err);

	*exists = false;
	if (rc != FZ_OK)
		return rc;
	return s->ops->exists(s->impl, digest, exists, err);
}

fz_code fz_blob_delete(fz_blob_store *s, const char *digest, fz_err *err)
{
	fz_code rc = fz_blob_check_name(digest, err);

	if (rc != FZ_OK)
		return rc;
	return s->ops->remove(s->impl, digest, err);
}
