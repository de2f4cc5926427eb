/*
 * mta_fetch.c - pulling a resource of a received message from the
 * origin mailbox (SPEC §8.1-8.2, §8.4):
 *
 *   1. the newest assertion of the stored chain is exchanged at our own
 *      AS for a DPoP-bound access token (RFC 8693: subject_token_type
 *      jwt, requested access_token, audience = the origin MBX's base URL
 *      by DNS, scope internet_mail, message_id);
 *   2. POST <origin MBX>/mta/v1/resources/{digest} with {"envelope":
 *      [the chain as stored]} (the receipt block on top is allowed and
 *      ignored by the origin), Authorization: DPoP <token>, proof + ath;
 *   3. the answer streams into a blob put while it is hashed (memory
 *      does not grow with the file), at most the size the part
 *      declares; bytes of another digest are dropped and retried;
 *   4. fz_mbx_resource_arrived hands the bytes to every copy waiting and
 *      reveals those whose inline parts are all in; their owners' long
 *      polls are woken.
 *
 * A broken download resumes (SPEC §8.3): the bytes go to a resumable put
 * named by the digest (blob.h), kept when the transfer breaks, in this
 * process or across a restart; the next attempt hashes what is there
 * and asks for `Range: bytes=N-`. A 206 must start at N. An origin that
 * answers 200 instead sends the whole resource: written after the N
 * bytes would overflow the declared size, so the put is emptied when
 * that answer's body begins and filled from zero. Bytes that do not hash
 * to the digest are dropped.
 */
#include "mta_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dpop.h"
#include "oauth_client.h"
#include "placeholder.h"
#include "range.h"

#define SCOPE "internet_mail"

/* 1. The access token for the origin MBX at base. */
static fz_mta_verdict token(fz_mta_job *j, const char *assertion, const char *mid,
			    const char *base, const char **out)
{
	const fz_oauth_param p[] = {
		{"subject_token", assertion},
		{"subject_token_type", FZ_OAUTH_TT_JWT},
		{"requested_token_type", FZ_OAUTH_TT_ACCESS},
		{"audience", base},
		{"scope", SCOPE},
		{"message_id", mid},
	};

	/* our AS refusing the assertion (expired, forged) is final */
	return fz_mta_exchange(j, "fetching", p, sizeof(p) / sizeof(p[0]), false, out);
}

/* 3. The download's sink: the blob put. */
static int sink(void *ctx, const void *data, size_t n)
{
	fz_err err = {0};

	return fz_blob_put_write(ctx, data, n, &err) == FZ_OK ? 0 : -1;
}

/* An origin that ignores Range sends the whole resource with a 200: the
 * bytes kept from the last attempt go, and this one starts from zero. */
static int sink_begin(void *ctx, long status)
{
	fz_err err = {0};

	if (status != 200 || fz_blob_put_size(ctx) == 0)
		return 0;
	return fz_blob_put_restart(ctx, &err) == FZ_OK ? 0 : -1;
}

static fz_code download(fz_mta_job *j, const char *url, const char *tok,
			const char *resolve, const char *body, fz_blob_put *put,
			uint64_t from, fz_http_client_resp *resp, fz_err *err)
{
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_header h[4];
	char *proof = NULL;
	fz_code rc = fz_dpop_make(j->env->dpop_key, "POST", url, tok, NULL, j->now, &proof, err);

	if (rc != FZ_OK)
		return rc;
	h[0] = (fz_http_header){"Content-Type", "application/json"};
	h[1] = (fz_http_header){"Authorization", fz_arena_printf(j->arena, "DPoP %s", tok)};
	h[2] = (fz_http_header){"DPoP", fz_arena_strdup(j->arena, proof)};
	h[3] = (fz_http_header){"Range", fz_arena_printf(j->arena, "bytes=%llu-",
							 (unsigned long long)from)};
	free(proof);
	if (h[1].value == NULL || h[2].value == NULL || h[3].value == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rq.method = "POST";
	rq.url = url;
	rq.headers = h;
	rq.nheaders = from > 0 ? 4 : 3;
	rq.body = body;
	rq.body_len = strlen(body);
	rq.resolve = resolve ? &resolve : NULL;
	rq.nresolve = resolve ? 1 : 0;
	rq.sink = sink;
	rq.sink_begin = sink_begin;
	rq.sink_ctx = put;
	return fz_http_client_request(j->download, j->arena, &rq, resp, err);
}

/* True when a 2xx answer carries the bytes from `from` on: the whole
 * resource (200, written from zero: sink_begin), else a 206 from there. */
static bool continues_at(const fz_http_client_resp *resp, uint64_t from)
{
	const char *cr = fz_http_client_resp_header(resp, "Content-Range");
	uint64_t whole = 0;
	bool known = false;
	fz_range r;

	if (resp->status == 200)
		return true;
	return from > 0 && resp->status == 206 && cr != NULL &&
	       fz_content_range_parse(cr, strlen(cr), &r, &whole, &known, NULL) == FZ_OK &&
	       r.first == from;
}

/* 4. The bytes are here: every copy waiting gets them. */
static fz_mta_verdict arrived(fz_mta_job *j, const char *digest)
{
	const char **owners = NULL;
	size_t i, n = 0;
	fz_err err = {0};

	if (fz_mbx_resource_arrived(j->env->store, j->arena, digest, j->now, &owners, &n,
				    &err) != FZ_OK)
		return fz_mta_error(j, "recording the arrival", &err);
	for (i = 0; i < n; i++)
		j->env->changed(j->env->ctx, owners[i]);
	return FZ_MTA_DONE;
}

/* 2. The request, resumed where an earlier attempt broke off. The put
 * keeps its bytes only when the download broke (or the origin failed
 * for now) with every byte so far good. */
static fz_mta_verdict download_rest(fz_mta_job *j, const char *url, const char *tok,
			       const char *resolve, const char *body, const char *digest,
			       fz_blob_put *put)
{
	fz_http_client_resp resp;
	uint64_t from = fz_blob_put_size(put);
	fz_err err = {0};
	fz_mta_verdict v;

	if (from > 0)
		fprintf(stderr, "federizer mta: resuming %s at byte %llu from %s\n", digest,
			(unsigned long long)from, j->e->domain);
	if (download(j, url, tok, resolve, body, put, from, &resp, &err) != FZ_OK) {
		if (fz_blob_put_writing(put))
			fz_blob_put_keep(put);
		return fz_mta_say(j, FZ_MTA_RETRY, "fetch of %s broke after %llu bytes: %s", digest,
				  (unsigned long long)fz_blob_put_size(put), err.msg);
	}
	if (resp.status >= 300) {
		v = fz_mta_answer(j, "fetch refused", &resp);
		if (v == FZ_MTA_RETRY)
			fz_blob_put_keep(put);
		return v;
	}
	if (!continues_at(&resp, from))
		return fz_mta_say(j, FZ_MTA_RETRY, "the origin answered %ld to a fetch from byte "
				  "%llu: starting over", resp.status, (unsigned long long)from);
	return FZ_MTA_DONE;
}

/* 3. Every byte is in: it must hash to digest before anyone sees it. */
static fz_mta_verdict settle(fz_mta_job *j, fz_blob_put *put, const char *digest,
			     uint64_t size)
{
	fz_digest_str got;
	uint64_t got_size = 0;
	fz_err err = {0};

	if (fz_blob_put_finish(put, &got, &got_size, &err) != FZ_OK)
		return fz_mta_error(j, "the blob store", &err);
	if (strcmp(got.s, digest) != 0 || got_size != size)
		return fz_mta_say(j, FZ_MTA_RETRY, "the origin's bytes hash to %s (%llu bytes), not %s",
				  got.s, (unsigned long long)got_size, digest);
	if (fz_blob_put_commit(put, NULL, &err) != FZ_OK)
		return fz_mta_error(j, "the blob store", &err);
	return FZ_MTA_DONE;
}

/* 2-3: the request and the put; the verdict of the answer. */
static fz_mta_verdict pull(fz_mta_job *j, const char *url, const char *tok,
			   const char *resolve, const char *body, const char *digest,
			   uint64_t size)
{
	fz_blob_put *put = NULL;
	fz_err err = {0};
	fz_mta_verdict v = FZ_MTA_DONE;
	fz_code rc = fz_blob_put_resume(j->env->blobs, digest, size, &put, &err);

	if (rc == FZ_ECONFLICT)
		return fz_mta_say(j, FZ_MTA_RETRY, "%s", err.msg); /* another fetch of it runs */
	if (rc != FZ_OK)
		return fz_mta_error(j, "the blob store", &err);
	/* all there already when an earlier attempt ended between its last
	 * byte and the commit */
	if (fz_blob_put_size(put) < size || size == 0)
		v = download_rest(j, url, tok, resolve, body, digest, put);
	if (v == FZ_MTA_DONE)
		v = settle(j, put, digest, size);
	fz_blob_put_abort(put);
	if (v != FZ_MTA_DONE)
		return v;
	fprintf(stderr, "federizer mta: fetched %s (%llu bytes) from %s\n", digest,
		(unsigned long long)size, j->e->domain);
	return arrived(j, digest);
}

/* {"envelope": [...]} of the stored copy, in the arena. */
static const char *fetch_body(fz_mta_job *j, const json_t *doc)
{
	json_t *o = json_pack("{s:O}", "envelope", fz_placeholder_envelope(doc));
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	const char *out = s ? fz_arena_strdup(j->arena, s) : NULL;

	free(s);
	json_decref(o);
	return out;
}

fz_mta_verdict fz_mta_fetch(fz_mta_job *j)
{
	fz_discovery_mbx_info origin;
	fz_digest_str digest;
	json_t *doc = NULL;
	const char *mid = NULL, *assertion = NULL, *type = NULL, *tok = NULL, *body;
	uint64_t size = 0;
	bool here = false;
	fz_err err = {0};
	fz_code rc = fz_mbx_fetch_digest(j->env->store, j->e->id, &digest, &err);
	fz_mta_verdict v;

	if (rc == FZ_OK)
		rc = fz_mbx_pending_part(j->env->store, j->arena, digest.s, &size, &type, &err);
	if (rc == FZ_ENOTFOUND)
		return FZ_MTA_DONE; /* a push or another fetch brought it */
	if (rc != FZ_OK)
		return fz_mta_error(j, "the fetch", &err);
	if (fz_blob_exists(j->env->blobs, digest.s, &here, &err) == FZ_OK && here)
		return arrived(j, digest.s);
	if (fz_mta_load(j, &doc, &mid, &err) != FZ_OK ||
	    fz_mta_newest_assertion(j, doc, &assertion, &err) != FZ_OK)
		return fz_mta_error(j, "the received message", &err);
	if ((body = fetch_body(j, doc)) == NULL)
		return fz_mta_say(j, FZ_MTA_RETRY, "out of memory");
	if (fz_discovery_mbx_for_domain(j->env->disc, j->e->domain, j->arena, &origin, &err) != FZ_OK)
		return fz_mta_say(j, FZ_MTA_RETRY, "discovery of %s: %s", j->e->domain, err.msg);
	if ((v = token(j, assertion, mid, origin.base_url, &tok)) != FZ_MTA_DONE)
		return v;
	return pull(j, fz_mta_url(j, origin.base_url,
				  fz_arena_printf(j->arena, "mta/v1/resources/%s", digest.s)),
		    tok, origin.resolve, body, digest.s, size);
}
