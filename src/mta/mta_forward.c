/*
 * mta_forward.c - an auto-forward (SPEC §9): a received copy whose
 * owner's forwarding rule was enabled on delivery (mbx_mta_receive.c
 * queued the entry; its domain is the target's) goes on as a new hop:
 *
 *   1. the hop block {Message-ID, JWT-Assertion-Digest (of the newest
 *      assertion of the stored chain, the one received), Forwarded-From
 *      (the owner), Forwarded-To (the rule's target), Recipients-Digest
 *      (over Forwarded-To), Date};
 *   2. the received assertion exchanged at our AS for one over that
 *      block (subject_token_type and requested_token_type jwt, headers
 *      [Message-ID, Forwarded-From, Recipients-Digest,
 *      JWT-Assertion-Digest], DPoP-bound to our MTA key); the AS refuses
 *      unless the owner's forwarding policy allows it - final;
 *   3. the chain without our receipt block(s) above the received
 *      assertion (the receiver allows receipt blocks only on top),
 *      under the new block and assertion, POSTed to the target domain's
 *      MBX as a transfer is (mta_transfer.c), Bcc left as received (the
 *      origin MBX discharges Forwarded-From against it). Nothing is
 *      pushed: the forwarding MBX does not fetch; the target fetches
 *      from the origin MBX presenting the whole chain (mta_fetch.c);
 *   4. without keep_copy the owner's copy is destroyed once forwarded
 *      (its pending fetches then end without fetching).
 */
#include "mta_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "delivery.h"
#include "envelope.h"
#include "oauth_client.h"
#include "placeholder.h"

#define SCOPE "internet_mail"

static json_t *hdr(const char *name, const char *value)
{
	return json_pack("{s:s}", name, value);
}

/* 1. The new hop's block and the exchange's headers parameter. */
static fz_code hop_block(fz_mta_job *j, const char *mid, const char *jad, const char *from,
			 const char *to, json_t **block, const char **headers, fz_err *err)
{
	char rd[FZ_DIGEST_HDR_SIZE], date[FZ_DATE_SIZE];
	json_t *b = json_array(), *h = NULL;
	char *s = NULL;
	fz_code rc;

	if (b == NULL || json_array_append_new(b, hdr("Forwarded-To", to)) != 0) {
		json_decref(b);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	if ((rc = fz_envelope_recipients_digest(b, FZ_HOP_FORWARD, rd, err)) != FZ_OK ||
	    (rc = fz_delivery_date(j->now, date, err)) != FZ_OK) {
		json_decref(b);
		return rc;
	}
	/* newest header first, as the seed's figures show */
	json_array_insert_new(b, 0, hdr("Date", date));
	json_array_insert_new(b, 1, hdr("Recipients-Digest", rd));
	json_array_insert_new(b, 3, hdr("Forwarded-From", from));
	json_array_insert_new(b, 4, hdr("JWT-Assertion-Digest", jad));
	json_array_insert_new(b, 5, hdr("Message-ID", mid));
	h = json_pack("[{s:s},{s:s},{s:s},{s:s}]", "Message-ID", mid, "Forwarded-From", from,
		      "Recipients-Digest", rd, "JWT-Assertion-Digest", jad);
	s = h ? json_dumps(h, JSON_COMPACT) : NULL;
	json_decref(h);
	*headers = s ? fz_arena_strdup(j->arena, s) : NULL;
	free(s);
	if (json_array_size(b) != 6 || *headers == NULL || fz_arena_own_json(j->arena, b) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	*block = b;
	return FZ_OK;
}

/* 2. The exchange at our AS. */
static fz_mta_verdict exchange(fz_mta_job *j, const char *assertion, const char *headers,
			       const char **out)
{
	const fz_oauth_param p[] = {
		{"subject_token", assertion},
		{"subject_token_type", FZ_OAUTH_TT_JWT},
		{"requested_token_type", FZ_OAUTH_TT_JWT},
		{"scope", SCOPE},
		{"headers", headers},
	};

	/* the AS refusing (policy, an expired assertion) is final */
	return fz_mta_exchange(j, "forwarding", p, sizeof(p) / sizeof(p[0]), true, out);
}

/* 3. The document to send: receipt blocks above the received assertion
 * dropped, the block and the new assertion on top; as JSON text. */
static fz_code forward_doc(fz_mta_job *j, const json_t *doc, json_t *block,
			   const char *assertion, const char **text, size_t *len,
			   fz_err *err)
{
	json_t *d = json_deep_copy(doc), *env = d ? json_object_get(d, "envelope") : NULL;
	char *s = NULL;
	fz_code rc = FZ_OK;

	if (env == NULL) {
		json_decref(d);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	while (json_array_size(env) > 0 &&
	       json_object_get(json_array_get(env, 0), "jwt-assertion") == NULL)
		json_array_remove(env, 0);
	if (json_array_insert_new(env, 0, json_pack("{s:O}", "headers", block)) != 0)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	if (rc == FZ_OK)
		rc = fz_delivery_add_assertion(d, assertion, err);
	if (rc == FZ_OK)
		rc = fz_placeholder_to_json(d, false, &s, len, err);
	json_decref(d);
	if (rc == FZ_OK && (*text = fz_arena_memdup(j->arena, s, *len)) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	free(s);
	return rc;
}

/* 4. Without keep_copy: trash, then destroy. */
static void drop_copy(fz_mta_job *j, const fz_mbx_msg *m)
{
	bool destroyed = false;
	uint64_t modseq = 0;
	fz_err err = {0};

	if (fz_mbx_msg_delete(j->env->store, m->owner, m->id, j->now, &destroyed, &modseq,
			      &err) == FZ_OK && !destroyed)
		fz_mbx_msg_delete(j->env->store, m->owner, m->id, j->now, &destroyed, &modseq,
				  &err);
	if (err.msg[0])
		fprintf(stderr, "federizer mta: dropping %s's forwarded copy: %s\n", m->owner,
			err.msg);
	j->env->changed(j->env->ctx, m->owner);
}

fz_mta_verdict fz_mta_forward(fz_mta_job *j)
{
	fz_mbx_msg m;
	fz_mbx_forwarding f;
	json_t *doc = NULL, *block = NULL;
	const char *received = NULL, *headers = NULL, *issued = NULL, *text = NULL, *dom;
	char jad[FZ_DIGEST_HDR_SIZE];
	size_t len = 0;
	fz_err err = {0};
	fz_mta_verdict v;

	if (j->env->dpop_key == NULL)
		return fz_mta_say(j, FZ_MTA_RETRY, "sending is not configured (mta.dpop_key)");
	if (fz_mbx_msg_by_id(j->env->store, j->arena, j->e->message, &m, &err) != FZ_OK)
		return fz_mta_say(j, FZ_MTA_FAIL, "the copy to forward: %s", err.msg);
	if (fz_mbx_forwarding_get(j->env->store, j->arena, m.owner, &f, &err) != FZ_OK)
		return fz_mta_error(j, "the forwarding rule", &err);
	dom = f.enabled && f.target ? strrchr(f.target, '@') : NULL;
	if (dom == NULL || strcasecmp(dom + 1, j->e->domain) != 0)
		return fz_mta_say(j, FZ_MTA_FAIL, "the forwarding rule of %s changed", m.owner);
	if (fz_placeholder_from_json(m.document, strlen(m.document), NULL, &doc, &err) != FZ_OK ||
	    fz_arena_own_json(j->arena, doc) == NULL ||
	    fz_mta_newest_assertion(j, doc, &received, &err) != FZ_OK ||
	    fz_envelope_jws_digest(received, strlen(received), jad, &err) != FZ_OK ||
	    hop_block(j, m.message_id, jad, m.owner, f.target, &block, &headers, &err) != FZ_OK)
		return fz_mta_error(j, "the message", &err);
	if ((v = exchange(j, received, headers, &issued)) != FZ_MTA_DONE)
		return v;
	if (forward_doc(j, doc, block, issued, &text, &len, &err) != FZ_OK)
		return fz_mta_error(j, "the forward", &err);
	if ((v = fz_mta_post(j, m.message_id, issued, text, len, NULL)) != FZ_MTA_DONE)
		return v;
	fprintf(stderr, "federizer mta: %s's copy of %.200s forwarded to %s%s\n", m.owner,
		m.message_id, f.target, f.keep_copy ? " (copy kept)" : "");
	if (!f.keep_copy)
		drop_copy(j, &m);
	return FZ_MTA_DONE;
}
