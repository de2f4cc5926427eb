/*
 * mbx_sync.c - GET /api/v1/sync?since=<state>&wait=<s> (SPEC §11), in
 * the manner of JMAP's /changes (RFC 8620 §5.2):
 *
 *   {state, changed: [message...], destroyed: [id...],
 *    inline: {digest: {type, text}}, more}
 *
 * The state is an opaque string naming a modseq of the mailbox ("1." and
 * the number: the prefix versions the format). Without since, the
 * answer is every message (a full sync); with it, what changed after.
 * Pages hold limits.sync_page_size messages; "more" asks the client to
 * call again at once with the state it got. A state the server can no
 * longer answer (below the floor, from the future, or not a state at
 * all) is 410 Gone, and the client starts over with a full sync.
 *
 * "inline" carries the text/plain and text/html bodies of the changed
 * messages that their owner has, up to limits.inline_max_bytes each and
 * limits.inline_page_bytes in all, so a mail can be shown without a
 * second round trip; attachments are fetched on demand by digest.
 *
 * With wait (seconds, capped by limits.long_poll_max_wait) and nothing
 * new, the call waits for a change first (mbx_notify.c says how).
 */
#include "mbx_http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placeholder.h"

#define STATE_PREFIX "1."
#define STATE_MAX 32

static void format_state(uint64_t modseq, char out[STATE_MAX])
{
	snprintf(out, STATE_MAX, STATE_PREFIX "%" PRIu64, modseq);
}

static fz_code gone(fz_err *err)
{
	return fz_fail_http(err, FZ_ENOTFOUND, 410, "state_too_old",
			    "this sync state cannot be answered: sync again without since");
}

static fz_code parse_state(const char *s, uint64_t *out, fz_err *err)
{
	size_t p = strlen(STATE_PREFIX);
	char *end;

	if (strncmp(s, STATE_PREFIX, p) != 0 || s[p] < '0' || s[p] > '9' ||
	    strlen(s) >= STATE_MAX)
		return gone(err);
	errno = 0;
	*out = strtoull(s + p, &end, 10);
	if (errno != 0 || *end != '\0')
		return gone(err);
	return FZ_OK;
}

static fz_code parse_wait(const char *s, uint64_t max, unsigned *out, fz_err *err)
{
	unsigned long long v;
	char *end;

	*out = 0;
	if (s == NULL)
		return FZ_OK;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0)
		return fz_fail_http(err, FZ_ESYNTAX, 400, "invalid_request",
				    "wait is a number of seconds");
	*out = (unsigned)(v > max ? max : v);
	return FZ_OK;
}

typedef struct modseq_ctx {
	fz_mbx *m;
	const char *user;
} modseq_ctx;

static fz_code current_modseq(void *ctx, uint64_t *out, fz_err *err)
{
	modseq_ctx *c = ctx;

	return fz_mbx_modseq(c->m->store, c->user, out, err);
}

/* Adds the inline text bodies of doc to inl, within the page's budget. */
static void add_inline(fz_mbx *m, fz_http_req *req, const char *user,
		       const json_t *doc, json_t *inl, uint64_t *budget)
{
	fz_leaf *leaves = NULL;
	fz_mbx_resource r;
	size_t n = 0, i, got;
	char *buf;
	json_t *text;

	if (fz_placeholder_leaves(doc, &leaves, &n, NULL) != FZ_OK)
		return;
	for (i = 0; i < n; i++) {
		const fz_leaf *l = &leaves[i];

		if (l->disposition != FZ_DISP_INLINE ||
		    (strcmp(l->media_type, "text/plain") != 0 &&
		     strcmp(l->media_type, "text/html") != 0) ||
		    json_object_get(inl, l->cid.s) != NULL)
			continue;
		/* Only bytes the user may read: a document can name any
		 * digest, ownership is what grants access. */
		if (fz_mbx_resource_find(m->store, req->arena, user, l->cid.s, &r, NULL) != FZ_OK ||
		    r.size > m->cfg->limits.inline_max_bytes || r.size > *budget)
			continue;
		buf = malloc((size_t)r.size + 1);
		if (buf == NULL)
			break;
		if (fz_blob_read(m->blobs, l->cid.s, 0, buf, (size_t)r.size, &got, NULL) == FZ_OK &&
		    got == r.size) {
			/* Not UTF-8: no text to give; the client downloads it. */
			text = json_stringn(buf, got);
			if (text != NULL) {
				json_object_set_new(inl, l->cid.s,
						    json_pack("{s:s,s:o}", "type", l->content_type,
							      "text", text));
				*budget -= r.size;
			}
		}
		free(buf);
	}
	fz_leaves_free(leaves, n);
}

static fz_code build(fz_mbx *m, fz_http_req *req, const char *user,
		     const fz_mbx_changes *ch, json_t **out, fz_err *err)
{
	json_t *changed = json_array(), *destroyed = json_array(), *inl = json_object();
	uint64_t budget = m->cfg->limits.inline_page_bytes;
	char state[STATE_MAX];
	json_t *o;
	size_t i;

	if (changed == NULL || destroyed == NULL || inl == NULL)
		goto nomem;
	for (i = 0; i < ch->n; i++) {
		if (ch->v[i].destroyed) {
			if (json_array_append_new(destroyed, json_string(ch->v[i].id)) != 0)
				goto nomem;
			continue;
		}
		o = fz_mbx_msg_json(&ch->v[i].msg);
		if (o == NULL || json_array_append_new(changed, o) != 0)
			goto nomem;
		add_inline(m, req, user, json_object_get(o, "document"), inl, &budget);
	}
	format_state(ch->state, state);
	*out = json_pack("{s:s,s:o,s:o,s:o,s:b}", "state", state, "changed", changed,
			 "destroyed", destroyed, "inline", inl, "more", ch->more);
	return *out ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
nomem:
	json_decref(changed);
	json_decref(destroyed);
	json_decref(inl);
	return fz_fail(err, FZ_ENOMEM, "out of memory building a sync answer");
}

static fz_code h_sync(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user, *since_s = fz_form_get(&req->query, "since");
	modseq_ctx mc = {.m = m};
	fz_mbx_changes ch;
	uint64_t since = 0, now = 0;
	unsigned wait = 0;
	json_t *body;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK && since_s != NULL)
		rc = parse_state(since_s, &since, err);
	if (rc == FZ_OK)
		rc = parse_wait(fz_form_get(&req->query, "wait"),
				m->cfg->limits.long_poll_max_wait, &wait, err);
	if (rc == FZ_OK && since_s != NULL && wait > 0)
		rc = fz_mbx_modseq(m->store, user, &now, err);
	/* Nothing new yet: wait for a change, then answer whatever there is. */
	if (rc == FZ_OK && since_s != NULL && wait > 0 && now == since) {
		mc.user = user;
		rc = fz_mbx_notify_wait(m->notify, user, since, wait, current_modseq, &mc, err);
	}
	if (rc == FZ_OK)
		rc = fz_mbx_changes_since(m->store, req->arena, user, since_s != NULL, since,
					  (size_t)m->cfg->limits.sync_page_size, &ch, err);
	if (rc == FZ_OK)
		rc = build(m, req, user, &ch, &body, err);
	if (rc != FZ_OK)
		return rc;
	return fz_http_respond_json(req, 200, body, err);
}

fz_code fz_mbx_sync_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	return fz_http_server_add(srv, "GET", "/api/v1/sync", h_sync, m, err);
}
