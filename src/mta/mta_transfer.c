/*
 * mta_transfer.c - handing a sent message to a recipient domain (SPEC
 * §7.4): the domain's copy of the signed document (Bcc only of that
 * domain, delivery.h) POSTed to <its MBX>/mta/v1/messages, presented
 * with Authorization: DPoP <the assertion> and a proof by the key the
 * assertion is bound to (cnf.jkt), with ath over the assertion.
 *
 * Then push (§7.7): each resource of at most queue.push_max_bytes is
 * PUT to .../messages/{message-id}/resources/{digest} with the same
 * assertion and a fresh proof. Pushes are a shortcut, not a duty: the
 * receiver queued a fetch of every resource it lacks, so a push that
 * fails costs nothing and is not retried. When every resource went by
 * push, nothing is left to fetch and the domain is recorded `fetched`;
 * so also when a transfer is repeated (the peer answers 200) and every
 * resource is pushed again: the first attempt's outcome may have been
 * lost to a kill -9 after its pushes.
 */
#include "mta_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "dpop.h"
#include "placeholder.h"

/* One request with the DPoP-scheme token and a fresh proof. */
static fz_code dpop_request(fz_mta_job *j, fz_http_client *http, const char *method,
			    const char *url, const char *token, const char *type,
			    const void *body, size_t len, const char *resolve,
			    fz_http_client_resp *resp, fz_err *err)
{
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_header h[3];
	char *proof = NULL;
	fz_code rc = fz_dpop_make(j->env->dpop_key, method, url, token, NULL, j->now, &proof, err);

	if (rc != FZ_OK)
		return rc;
	h[0] = (fz_http_header){"Content-Type", type};
	h[1] = (fz_http_header){"Authorization", fz_arena_printf(j->arena, "DPoP %s", token)};
	h[2] = (fz_http_header){"DPoP", fz_arena_strdup(j->arena, proof)};
	free(proof);
	if (h[1].value == NULL || h[2].value == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rq.method = method;
	rq.url = url;
	rq.headers = h;
	rq.nheaders = 3;
	rq.body = body;
	rq.body_len = len;
	rq.resolve = resolve ? &resolve : NULL;
	rq.nresolve = resolve ? 1 : 0;
	return fz_http_client_request(http, j->arena, &rq, resp, err);
}

/* --- push (SPEC §7.7) ---------------------------------------------------------- */

typedef struct sending {
	const char *assertion;
	const char *message_id;
	const char *base;       /* the peer MBX */
	const char *resolve;
} sending;

typedef enum push_outcome {
	PUSHED,  /* the peer has it */
	REFUSED, /* it will fetch it */
	BROKE,   /* unknown: the exchange broke off, the peer may have it */
} push_outcome;

/* PUTs one resource. */
static push_outcome push_one(fz_mta_job *j, const sending *s, const fz_leaf *l)
{
	fz_http_client_resp resp;
	fz_err err = {0};
	size_t got = 0;
	char *buf = malloc(l->size ? (size_t)l->size : 1);
	const char *url = fz_mta_url(j, s->base,
				     fz_arena_printf(j->arena, "mta/v1/messages/%s/resources/%s",
						     fz_mta_escape(j, s->message_id), l->cid.s));
	push_outcome o = REFUSED;

	if (buf == NULL || url == NULL)
		goto out;
	if (fz_blob_read(j->env->blobs, l->cid.s, 0, buf, (size_t)l->size, &got, &err) != FZ_OK ||
	    got != l->size)
		goto out;
	if (dpop_request(j, j->api, "PUT", url, s->assertion, "application/octet-stream", buf,
			 got, s->resolve, &resp, &err) != FZ_OK) {
		o = BROKE;
		goto out;
	}
	o = resp.status == 200 || resp.status == 201 ? PUSHED : REFUSED;
out:
	if (o != PUSHED)
		fprintf(stderr, "federizer mta: push of %s to %s: %s\n", l->cid.s, j->e->domain,
			err.msg[0] ? err.msg : "refused (the peer will fetch it)");
	free(buf);
	return o;
}

/* Pushes the small resources; true when every resource went so. *broke:
 * some push broke off, so whether the peer has it is unknown. */
static bool push_all(fz_mta_job *j, const sending *s, const json_t *copy, bool *broke)
{
	uint64_t max = j->env->cfg->queue.push_max_bytes;
	fz_leaf *leaves = NULL;
	size_t i, n = 0, pushed = 0;
	push_outcome o;
	fz_err err = {0};

	*broke = false;
	if (max == 0 || fz_placeholder_leaves(copy, &leaves, &n, &err) != FZ_OK)
		return false;
	for (i = 0; i < n; i++) {
		if (leaves[i].size > max)
			continue;
		o = push_one(j, s, &leaves[i]);
		pushed += o == PUSHED;
		*broke = *broke || o == BROKE;
	}
	fz_leaves_free(leaves, n);
	return n > 0 && pushed == n;
}

/* --- transfer (SPEC §7.4) -------------------------------------------------------- */

/* The domain's copy as JSON text in the arena. */
static fz_code domain_copy(fz_mta_job *j, const json_t *doc, json_t **copy,
			   const char **text, size_t *len, fz_err *err)
{
	char *s = NULL;
	fz_code rc = fz_delivery_copy(doc, j->e->domain, NULL, copy, err);

	if (rc != FZ_OK)
		return rc;
	if (fz_arena_own_json(j->arena, *copy) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if ((rc = fz_placeholder_to_json(*copy, false, &s, len, err)) != FZ_OK)
		return rc;
	*text = fz_arena_memdup(j->arena, s, *len);
	free(s);
	return *text ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

fz_mta_verdict fz_mta_post(fz_mta_job *j, const char *message_id, const char *assertion,
			   const char *text, size_t len, const json_t *push)
{
	fz_discovery_mbx_info peer;
	fz_http_client_resp resp;
	sending s = {.assertion = assertion, .message_id = message_id};
	bool broke = false;
	fz_err err = {0};

	if (fz_discovery_mbx_for_domain(j->env->disc, j->e->domain, j->arena, &peer, &err) != FZ_OK)
		return fz_mta_say(j, FZ_MTA_RETRY, "discovery of %s: %s", j->e->domain, err.msg);
	s.base = peer.base_url;
	s.resolve = peer.resolve;
	if (dpop_request(j, j->api, "POST", fz_mta_url(j, s.base, "mta/v1/messages"), s.assertion,
			 "application/json", text, len, s.resolve, &resp, &err) != FZ_OK)
		return fz_mta_say(j, FZ_MTA_RETRY, "%s: %s", s.base, err.msg);
	if (resp.status != 201 && resp.status != 200)
		return fz_mta_answer(j, "transfer refused", &resp);
	fprintf(stderr, "federizer mta: %s %.200s to %s (%ld)\n",
		j->e->kind == FZ_QUEUE_FORWARD ? "forwarded" : "transferred", s.message_id,
		j->e->domain, resp.status);
	/* A 200 (the peer had the message) may answer the retry of an attempt
	 * whose pushes all went but whose outcome was lost to a crash: push
	 * again (a resource the peer has is a 200 too), or the domain would
	 * stay "transferred" with nothing left to fetch. */
	j->delivered = true;
	if (push == NULL)
		return FZ_MTA_DONE;
	if (push_all(j, &s, push, &broke))
		j->done = FZ_QUEUE_FETCHED;
	/* A push that broke off may have landed (the peer died before its
	 * answer): then the peer never fetches it and the domain would never
	 * be "fetched". Transfer again (a 200) and push again to learn. */
	else if (broke)
		return fz_mta_say(j, FZ_MTA_RETRY, "a push to %s broke off: transferring again to "
				  "learn whether it landed", j->e->domain);
	return FZ_MTA_DONE;
}

fz_mta_verdict fz_mta_transfer(fz_mta_job *j)
{
	json_t *doc = NULL, *copy = NULL;
	const char *text = NULL, *message_id = NULL, *assertion = NULL;
	size_t len = 0;
	fz_err err = {0};

	if (j->env->dpop_key == NULL)
		return fz_mta_say(j, FZ_MTA_RETRY, "sending is not configured (mta.dpop_key)");
	if (fz_mta_load(j, &doc, &message_id, &err) != FZ_OK ||
	    fz_mta_newest_assertion(j, doc, &assertion, &err) != FZ_OK ||
	    domain_copy(j, doc, &copy, &text, &len, &err) != FZ_OK)
		return fz_mta_error(j, "the message", &err);
	return fz_mta_post(j, message_id, assertion, text, len, copy);
}
