/*
 * mbx_resources.c - the bytes of bodies and attachments (SPEC §2, §12):
 *
 *   POST /api/v1/resources            stream an upload into the blob store
 *   GET|HEAD /api/v1/resources/{digest}  stream it back, with Range
 *
 * An upload is authenticated before a byte of its body is read (the
 * route's begin), hashed while it streams to a temporary file, checked
 * against the size limit (413) and the user's quota (507) up front from
 * Content-Length and again as bytes arrive, recorded in the database,
 * and only then made visible under its digest (blob.h explains the
 * order). The same bytes uploaded again are the same file. Memory use
 * does not grow with the upload: each chunk goes straight to the file.
 *
 * A resource is served only to a user who owns it; anyone else, like a
 * digest nobody has, gets 404, so a digest reveals nothing.
 */
#include "mbx_http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "placeholder.h"

#define DEFAULT_TYPE "application/octet-stream"
/* Content-addressed bytes never change; only their owner may read them. */
#define RESOURCE_CACHE "private, max-age=31536000, immutable"

typedef struct upload {
	const char *user;
	const char *type;
	uint64_t used;   /* the user's usage when the upload began */
	fz_blob_put *put;
	fz_arena_cleanup *cleanup; /* aborts put when the request ends */
} upload;

/* A refused upload's bytes go at once, before the answer is sent, not
 * when the connection's request is finally freed. */
static fz_code drop(upload *u, fz_code rc)
{
	if (u->put != NULL) {
		fz_arena_cleanup_disarm(u->cleanup);
		fz_blob_put_abort(u->put);
		u->put = NULL;
	}
	return rc;
}

static fz_code drop_if(upload *u, fz_code rc)
{
	return rc == FZ_OK ? rc : drop(u, rc);
}

static fz_code over_quota(fz_err *err, uint64_t quota)
{
	return fz_fail_http(err, FZ_ELIMIT, 507, "insufficient_storage",
			    "the mailbox quota of %" PRIu64 " bytes would be exceeded", quota);
}

/* The media type the resource will be served with: a well-formed
 * type/subtype with parameters, printable ASCII, bounded. */
static fz_code upload_type(fz_http_req *req, const char **out, fz_err *err)
{
	const char *h = fz_http_req_header(req, "Content-Type");
	fz_mime mime;
	size_t i, n;

	if (h == NULL || *h == '\0') {
		*out = DEFAULT_TYPE;
		return FZ_OK;
	}
	n = strlen(h);
	for (i = 0; i < n; i++)
		if ((unsigned char)h[i] < 0x20 || (unsigned char)h[i] > 0x7e)
			n = 0;
	if (n == 0 || n > FZ_MBX_TYPE_MAX || fz_mime_parse(h, n, true, &mime, NULL) != FZ_OK)
		return fz_fail_http(err, FZ_ESYNTAX, 400, "invalid_request",
				    "Content-Type must be a media type of at most %d characters",
				    FZ_MBX_TYPE_MAX);
	fz_mime_free(&mime);
	*out = h;
	return FZ_OK;
}

/* A declared length over the size limit or the quota is refused before
 * the body is read. A user re-uploading bytes they already have is
 * counted too: which bytes they are is known only once they are in. */
static fz_code check_declared(fz_http_req *req, uint64_t used, uint64_t max,
			      uint64_t quota, fz_err *err)
{
	const char *cl = fz_http_req_header(req, "Content-Length");
	unsigned long long n = 0;
	char *end;

	if (quota > 0 && used >= quota)
		return over_quota(err, quota);
	if (cl == NULL)
		return FZ_OK;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno != 0 || end == cl)
		return FZ_OK; /* the HTTP layer refused a malformed one already */
	if (n > max)
		return fz_fail_http(err, FZ_ELIMIT, 413, "invalid_request",
				    "a resource may have at most %" PRIu64 " bytes", max);
	if (quota > 0 && n > quota - used)
		return over_quota(err, quota);
	return FZ_OK;
}

static fz_code up_begin(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	uint64_t quota = m->cfg->limits.quota_bytes;
	upload *u = fz_arena_calloc(req->arena, 1, sizeof(*u));
	fz_code rc;

	if (u == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = fz_mbx_authenticate(m, req, &u->user, err);
	if (rc == FZ_OK)
		rc = upload_type(req, &u->type, err);
	if (rc == FZ_OK)
		rc = fz_mbx_usage(m->store, u->user, &u->used, err);
	if (rc == FZ_OK)
		rc = check_declared(req, u->used, m->cfg->limits.max_upload_bytes, quota, err);
	if (rc == FZ_OK)
		rc = fz_blob_put_begin(m->blobs, m->cfg->limits.max_upload_bytes, &u->put, err);
	if (rc != FZ_OK)
		return rc;
	/* Whatever becomes of the request (refused, cut off, finished),
	 * the put is freed with it, and its bytes unless committed. */
	u->cleanup = fz_arena_on_free(req->arena, fz_blob_put_abort_cb, u->put);
	if (u->cleanup == NULL) {
		u->put = NULL; /* on_free ran the abort already */
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	req->state = u;
	return FZ_OK;
}

static fz_code up_chunk(fz_http_req *req, const void *data, size_t n, void *ctx,
			fz_err *err)
{
	fz_mbx *m = ctx;
	upload *u = req->state;
	uint64_t quota = m->cfg->limits.quota_bytes;

	/* body_received already counts this chunk. */
	if (quota > 0 && (req->body_received > quota || u->used > quota - req->body_received))
		return drop(u, over_quota(err, quota));
	return drop_if(u, fz_blob_put_write(u->put, data, n, err));
}

static json_t *resource_json(const char *digest, uint64_t size, const char *type)
{
	char cid[FZ_DIGEST_LEN + 3];
	fz_digest_str d;

	snprintf(d.s, sizeof(d.s), "%s", digest);
	fz_content_id_format(&d, cid);
	return json_pack("{s:s,s:s,s:I,s:s}", "digest", digest, "content_id", cid,
			 "size", (json_int_t)size, "type", type);
}

static fz_code up_done(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	upload *u = req->state;
	fz_mbx_resource r = {.type = u->type};
	fz_digest_str d;
	bool added = false;
	char *loc;
	fz_code rc = fz_blob_put_finish(u->put, &d, &r.size, err);

	r.digest = d.s;
	/* The row first, then the name: see blob.h and fz_mbx_gc. */
	if (rc == FZ_OK)
		rc = fz_mbx_resource_add(m->store, u->user, &r, m->cfg->limits.quota_bytes,
					 fz_mbx_now(), &added, err);
	if (rc == FZ_OK && (rc = fz_blob_put_commit(u->put, NULL, err)) != FZ_OK && added)
		fz_mbx_resource_remove(m->store, u->user, d.s, NULL);
	if (rc != FZ_OK)
		return drop(u, rc);
	/* A user who had these bytes keeps the type recorded first. */
	if (!added && fz_mbx_resource_find(m->store, req->arena, u->user, d.s, &r, err) != FZ_OK)
		return err->code;
	loc = fz_arena_printf(req->arena, "%sapi/v1/resources/%s", m->cfg->base_url, d.s);
	if (loc == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = fz_http_add_header(req, "Location", loc, err);
	if (rc != FZ_OK)
		return rc;
	return fz_http_respond_json(req, added ? 201 : 200,
				    resource_json(d.s, r.size, r.type), err);
}

/* RFC 9530: "sha-256=:<standard base64 of the raw hash>:". The digest is
 * the same bytes in base64url without padding: only the alphabet and the
 * padding differ. */
static void repr_digest(const char *digest, char *out, size_t size)
{
	char b64[FZ_DIGEST_LEN + 2];
	size_t i;

	for (i = 0; i < FZ_DIGEST_LEN; i++)
		b64[i] = digest[i] == '-' ? '+' : digest[i] == '_' ? '/' : digest[i];
	b64[FZ_DIGEST_LEN] = '=';
	b64[FZ_DIGEST_LEN + 1] = '\0';
	snprintf(out, size, "sha-256=:%s:", b64);
}

static fz_code resource_headers(fz_http_req *req, const char *digest, fz_err *err)
{
	char etag[FZ_DIGEST_LEN + 3], rd[FZ_DIGEST_LEN + 16];
	fz_code rc;

	snprintf(etag, sizeof(etag), "\"%s\"", digest);
	repr_digest(digest, rd, sizeof(rd));
	if ((rc = fz_http_add_header(req, "ETag", etag, err)) ||
	    (rc = fz_http_add_header(req, "Repr-Digest", rd, err)) ||
	    (rc = fz_http_add_header(req, "Cache-Control", RESOURCE_CACHE, err)) ||
	    /* Served on the webmail's origin: a resource is never a page. */
	    (rc = fz_http_add_header(req, "Content-Security-Policy", "sandbox", err)))
		return rc;
	return FZ_OK;
}

static bool etag_matches(const char *inm, const char *digest)
{
	return inm != NULL && (strstr(inm, digest) != NULL || strcmp(inm, "*") == 0);
}

static fz_code h_get(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user, *digest = fz_http_req_param(req, "digest");
	fz_mbx_resource r;
	uint64_t size;
	int fd;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_blob_check_name(digest, err);
	if (rc == FZ_OK)
		rc = fz_mbx_resource_find(m->store, req->arena, user, digest, &r, err);
	if (rc == FZ_OK)
		rc = resource_headers(req, digest, err);
	if (rc != FZ_OK)
		return rc;
	if (etag_matches(fz_http_req_header(req, "If-None-Match"), digest))
		return fz_http_respond_empty(req, 304, err);
	rc = fz_blob_open(m->blobs, digest, &fd, &size, err);
	if (rc == FZ_ENOTFOUND)
		return fz_fail(err, FZ_EINTERNAL, "resource %s has a row but no blob", digest);
	if (rc != FZ_OK)
		return rc;
	return fz_http_respond_file(req, r.type, fd, size, err);
}

fz_code fz_mbx_resource_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	fz_http_route_def up = {
		.method = "POST",
		.pattern = "/api/v1/resources",
		.flags = FZ_ROUTE_STREAM,
		.handler = up_done,
		.begin = up_begin,
		.chunk = up_chunk,
		.ctx = m,
	};
	fz_code rc = fz_http_server_route(srv, &up, err);

	if (rc == FZ_OK)
		rc = fz_http_server_add(srv, "GET", "/api/v1/resources/{digest}", h_get, m, err);
	return rc;
}
