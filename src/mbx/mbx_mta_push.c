/*
 * mbx_mta_push.c - the sender pushing a resource right after the
 * transfer instead of waiting to be fetched (SPEC §7.7):
 * PUT /mta/v1/messages/{message-id}/resources/{digest}, with the same
 * assertion the message came with and a fresh DPoP proof.
 *
 * Everything is decided before a byte of the body is read (the route's
 * begin): the proof, the assertion being the one we received the
 * message with (verified then; exp checked again now), and the digest
 * being one the stored body references. The bytes then stream into the
 * blob store while they are hashed, bounded by the size the part
 * declares; bytes that do not hash to the digest are dropped (400).
 * Bytes that do are handed to every copy waiting for them, which may
 * make a copy visible, and the queued fetch of that digest is done.
 */
#include "mbx_mta.h"

#include <string.h>

#include "jwt.h"

typedef struct push {
	const char *mid;
	const char *digest;
	uint64_t size;             /* the part's declared size */
	fz_blob_put *put;
	fz_arena_cleanup *cleanup; /* aborts put when the request ends */
} push;

/* exp of a token we verified before (the same string), read again. */
static bool expired(fz_mbx *m, const char *token)
{
	fz_jws *jws = NULL;
	int64_t exp = 0;
	bool gone = true;

	if (fz_jws_parse_unverified(token, strlen(token), m->cfg->jose.jws_max_bytes, &jws,
				    NULL) == FZ_OK &&
	    fz_jwt_int(fz_jws_payload(jws), "exp", &exp, NULL) == FZ_OK)
		gone = fz_time_add(exp, m->cfg->jose.leeway) <= fz_mbx_now();
	fz_jws_free(jws);
	return gone;
}

/* The stored copy was received with this very assertion: the entry
 * below its receipt block, verified on arrival. */
static fz_code same_assertion(fz_mbx *m, const json_t *doc, const char *token,
			      fz_err *err)
{
	const json_t *a = json_object_get(json_array_get(fz_placeholder_envelope(doc), 1),
					  "jwt-assertion");

	if (!json_is_string(a) || strcmp(json_string_value(a), token) != 0)
		return fz_fail_http(err, FZ_ECLAIM, 401, "invalid_token",
				    "not the assertion this message was delivered with");
	if (expired(m, token))
		return fz_fail_http(err, FZ_ECLAIM, 401, "invalid_token", "the assertion has expired");
	return FZ_OK;
}

/* The declared size of the part the body names digest by; 403 when the
 * body names no such part. */
static fz_code referenced(const json_t *doc, const char *digest, uint64_t *size,
			  fz_err *err)
{
	fz_leaf *leaves = NULL;
	size_t i, n = 0;
	bool found = false;
	fz_code rc = fz_placeholder_leaves(doc, &leaves, &n, err);

	for (i = 0; i < n && rc == FZ_OK && !found; i++)
		if (strcmp(leaves[i].cid.s, digest) == 0) {
			*size = leaves[i].size;
			found = true;
		}
	fz_leaves_free(leaves, n);
	if (rc == FZ_OK && !found)
		rc = fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				  "the message does not reference %.43s", digest);
	return rc;
}

static fz_code authorize(fz_mbx *m, fz_http_req *req, push *p, fz_err *err)
{
	fz_mta_auth auth;
	fz_mbx_msg msg;
	json_t *doc = NULL;
	fz_err why = {0};
	fz_code rc = fz_blob_check_name(p->digest, err);

	if (rc == FZ_OK)
		rc = fz_mta_dpop(m, req, &auth, err);
	if (rc == FZ_OK && fz_mbx_received_find(m->store, req->arena, p->mid, &msg, &why) != FZ_OK)
		rc = why.code == FZ_ENOTFOUND
			     ? fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found",
					    "no message with this Message-ID was delivered here")
			     : fz_fail(err, why.code, "%s", why.msg);
	if (rc == FZ_OK &&
	    fz_placeholder_from_json(msg.document, strlen(msg.document), NULL, &doc, &why) != FZ_OK)
		rc = fz_fail(err, FZ_EINTERNAL, "stored message %s: %s", msg.id, why.msg);
	if (rc == FZ_OK)
		rc = same_assertion(m, doc, auth.token, err);
	if (rc == FZ_OK)
		rc = referenced(doc, p->digest, &p->size, err);
	json_decref(doc);
	return rc;
}

static fz_code drop(push *p, fz_code rc)
{
	if (p->put != NULL) {
		fz_arena_cleanup_disarm(p->cleanup);
		fz_blob_put_abort(p->put);
		p->put = NULL;
	}
	return rc;
}

static fz_code push_begin(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	push *p = fz_arena_calloc(req->arena, 1, sizeof(*p));
	fz_err e = {0};
	uint64_t max;
	fz_code rc;

	if (p == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	p->mid = fz_http_req_param(req, "mid");
	p->digest = fz_http_req_param(req, "digest");
	rc = authorize(m, req, p, &e);
	max = p->size < m->cfg->limits.max_upload_bytes ? p->size : m->cfg->limits.max_upload_bytes;
	if (rc == FZ_OK)
		rc = fz_blob_put_begin(m->blobs, max, &p->put, &e);
	if (rc != FZ_OK)
		return fz_mta_fail(req, "push", p->mid, &e);
	p->cleanup = fz_arena_on_free(req->arena, fz_blob_put_abort_cb, p->put);
	if (p->cleanup == NULL) {
		p->put = NULL; /* on_free ran the abort already */
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	req->state = p;
	return FZ_OK;
}

static fz_code push_chunk(fz_http_req *req, const void *data, size_t n, void *ctx,
			  fz_err *err)
{
	push *p = req->state;

	(void)ctx;
	if (fz_blob_put_write(p->put, data, n, err) != FZ_OK)
		return drop(p, err->code);
	return FZ_OK;
}

/* The bytes are in and hash right: visible under their digest, then
 * handed to the copies waiting for them. */
static fz_code keep(fz_mbx *m, fz_http_req *req, push *p, bool *existed, fz_err *err)
{
	const char **owners = NULL;
	size_t i, n = 0;
	fz_code rc = fz_blob_put_commit(p->put, existed, err);

	if (rc == FZ_OK)
		rc = fz_mbx_resource_arrived(m->store, req->arena, p->digest, fz_mbx_now(),
					     &owners, &n, err);
	for (i = 0; i < n; i++)
		fz_mbx_notify_changed(m->notify, owners[i]);
	return rc;
}

static fz_code push_done(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	push *p = req->state;
	fz_digest_str d;
	uint64_t size = 0;
	bool existed = false;
	fz_err e = {0};
	fz_code rc = fz_blob_put_finish(p->put, &d, &size, &e);

	if (rc == FZ_OK && (size != p->size || strcmp(d.s, p->digest) != 0))
		rc = fz_fail_http(&e, FZ_ECONFLICT, 400, "invalid_request",
				  "the bytes do not hash to %.43s (or are not the size the part declares)",
				  p->digest);
	if (rc == FZ_OK)
		rc = keep(m, req, p, &existed, &e);
	if (rc != FZ_OK) {
		drop(p, rc);
		return fz_mta_fail(req, "push", p->mid, &e);
	}
	fz_http_req_set_log_id(req, p->mid);
	return fz_http_respond_json(req, existed ? 200 : 201,
				    json_pack("{s:s,s:s,s:I}", "message_id", p->mid, "digest", d.s,
					      "size", (json_int_t)size), err);
}

fz_code fz_mta_push_route(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	fz_http_route_def def = {
		.method = "PUT",
		.pattern = "/mta/v1/messages/{mid}/resources/{digest}",
		.flags = FZ_ROUTE_STREAM,
		.handler = push_done,
		.begin = push_begin,
		.chunk = push_chunk,
		.ctx = m,
	};

	return fz_http_server_route(srv, &def, err);
}
