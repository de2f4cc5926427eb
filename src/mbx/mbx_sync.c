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
 * new, the call waits for a change first, suspended so that it holds no
 * thread (mbx_notify.c says how).
 */
#include "mbx_http.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placeholder.h"
#include "sync_state.h"

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
	char state[FZ_SYNC_STATE_MAX];
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
	fz_sync_state_format(ch->state, state);
	*out = json_pack("{s:s,s:o,s:o,s:o,s:b}", "state", state, "changed", changed,
			 "destroyed", destroyed, "inline", inl, "more", ch->more);
	return *out ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
nomem:
	json_decref(changed);
	json_decref(destroyed);
	json_decref(inl);
	return fz_fail(err, FZ_ENOMEM, "out of memory building a sync answer");
}

/* One sync's arguments, kept in req->state across a wait: the handler
 * runs again when the wait ends and must not authenticate again (the
 * token may have expired meanwhile). */
typedef struct sync_call {
	const char *user;
	bool has_since;
	uint64_t since;
	unsigned wait;
	fz_mbx_waiter *waiter;
} sync_call;

static fz_code read_call(fz_mbx *m, fz_http_req *req, sync_call **out,
			 fz_err *err)
{
	const char *since_s = fz_form_get(&req->query, "since");
	sync_call *c = fz_arena_calloc(req->arena, 1, sizeof(*c));
	fz_code rc;

	if (c == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = fz_mbx_authenticate(m, req, &c->user, err);
	if (rc == FZ_OK && since_s != NULL)
		rc = fz_sync_state_parse(since_s, strlen(since_s), &c->since, err);
	if (rc == FZ_OK)
		rc = parse_wait(fz_form_get(&req->query, "wait"),
				m->cfg->limits.long_poll_max_wait, &c->wait, err);
	c->has_since = since_s != NULL;
	*out = c;
	return rc;
}

/* Nothing new since c->since: registers a waiter and suspends the
 * request (*parked), to answer when it is resumed. The waiter is in
 * place before the modseq is read, so a commit in between resumes it
 * (and the request runs again at once) rather than being missed. */
static fz_code park(fz_mbx *m, fz_http_req *req, sync_call *c, bool *parked,
		    fz_err *err)
{
	uint64_t now = 0;
	fz_code rc;

	*parked = false;
	rc = fz_mbx_notify_wait(m->notify, req, c->user, c->wait, &c->waiter, err);
	if (rc != FZ_OK || c->waiter == NULL)
		return rc; /* full or stopping: answer at once */
	rc = fz_mbx_modseq(m->store, c->user, &now, err);
	/* A server that is stopping refuses to suspend: answer at once. */
	if (rc == FZ_OK && now == c->since && fz_http_req_suspend(req, NULL) == FZ_OK) {
		*parked = true;
		return FZ_OK;
	}
	fz_mbx_notify_leave(c->waiter);
	return rc;
}

static fz_code answer(fz_mbx *m, fz_http_req *req, const sync_call *c,
		      fz_err *err)
{
	fz_mbx_changes ch;
	json_t *body;
	fz_code rc;

	rc = fz_mbx_changes_since(m->store, req->arena, c->user, c->has_since, c->since,
				  (size_t)m->cfg->limits.sync_page_size, &ch, err);
	if (rc == FZ_OK)
		rc = build(m, req, c->user, &ch, &body, err);
	if (rc != FZ_OK)
		return rc;
	return fz_http_respond_json(req, 200, body, err);
}

/* First run: read the call, and wait when asked to and nothing is new.
 * Second run (resumed: a change, the deadline or shutdown): answer with
 * whatever there is, an empty page with the same state included. */
static fz_code h_sync(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	sync_call *c = req->state;
	bool parked = false;
	fz_code rc;

	if (c != NULL) {
		fz_mbx_notify_leave(c->waiter);
		return answer(m, req, c, err);
	}
	rc = read_call(m, req, &c, err);
	if (rc != FZ_OK)
		return rc;
	req->state = c;
	if (c->has_since && c->wait > 0)
		rc = park(m, req, c, &parked, err);
	if (rc != FZ_OK || parked)
		return rc;
	return answer(m, req, c, err);
}

fz_code fz_mbx_sync_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	return fz_http_server_add(srv, "GET", "/api/v1/sync", h_sync, m, err);
}
