/*
 * mbx_send.c - sending a draft, its delivery status, and recall (SPEC
 * §7.1-7.4, §7.6, §10):
 *
 *   POST /api/v1/messages/{id}/send     202 {message..., recipients: [...]}
 *   GET  /api/v1/messages/{id}/status   {id, domains: [...], recallable}
 *   POST /api/v1/messages/{id}/recall   the status after the recall
 *
 * Sending checks what only the mailbox can (every leaf names a resource
 * the sender owns, of exactly its size; there are recipients), dates the
 * draft and adds its digests (delivery.h), has the own AS sign it by
 * exchanging the user's access token for a JWT assertion as the MTA's
 * confidential client (oauth_client.h), then commits in one transaction
 * the sent message, a copy in each local recipient's inbox and a
 * transfer entry for each other domain (mbx_store_send.c). Only then is
 * the client answered, so a 202 is durable.
 */
#include "mbx_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "delivery.h"
#include "http_client.h"
#include "http_client_pool.h"
#include "keyfile.h"
#include "oauth_client.h"
#include "placeholder.h"

/* body.parts[i].parts[j]...: 16 levels of "parts[n]." at most. */
#define PART_PATH_MAX 512
#define ISO_DATE_SIZE 24 /* 2024-12-22T18:49:35Z */

/* --- the MTA's keys ---------------------------------------------------------- */

/* The DPoP key binds every assertion this MTA gets (cnf.jkt), and its
 * transfers present proofs with it, maybe after a restart: so it lives
 * in a file, made here the first time. */
static fz_code load_dpop_key(const char *path, fz_key **out, fz_err *err)
{
	fz_code rc = fz_keyfile_load(path, out, err);

	if (rc != FZ_ENOTFOUND)
		return rc;
	fz_err_clear(err);
	if ((rc = fz_key_generate(FZ_ALG_ES256, 0, out, err)) == FZ_OK &&
	    (rc = fz_keyfile_save(path, *out, false, err)) == FZ_OK)
		fprintf(stderr, "federizer mbx: made the MTA's DPoP key %s\n", path);
	if (rc != FZ_OK) {
		fz_key_free(*out);
		*out = NULL;
	}
	return rc;
}

fz_code fz_mbx_mta_open(fz_mbx *m, fz_err *err)
{
	const fz_mbx_config *c = m->cfg;
	fz_code rc;

	if (c->mta_key == NULL) {
		fprintf(stderr, "federizer mbx: mta.key is not set: sending is off\n");
		return FZ_OK;
	}
	if (c->mta_dpop_key == NULL)
		return fz_fail(err, FZ_ESTRUCT, "mta.dpop_key is required with mta.key");
	rc = fz_keyfile_load(c->mta_key, &m->mta_key, err);
	if (rc != FZ_OK)
		return fz_err_prefix(err, "mta.key");
	rc = load_dpop_key(c->mta_dpop_key, &m->mta_dpop_key, err);
	if (rc != FZ_OK)
		return fz_err_prefix(err, "mta.dpop_key");
	return FZ_OK;
}

void fz_mbx_mta_close(fz_mbx *m)
{
	fz_key_free(m->mta_key);
	fz_key_free(m->mta_dpop_key);
	m->mta_key = m->mta_dpop_key = NULL;
}

/* --- checks before sending --------------------------------------------------- */

static fz_code unprocessable(fz_err *err, const char *error, const char *path,
			     const char *msg)
{
	return fz_fail_http(err, FZ_ESTRUCT, 422, error, "%s: %s", path, msg);
}

/* A leaf part: its Content-ID must be a resource user owns, of the size
 * the part says (SPEC §3). The error names the part by its path. */
static fz_code check_leaf(fz_mbx *m, fz_http_req *req, const char *user,
			  const json_t *part, const char *path, fz_err *err)
{
	fz_leaf leaf;
	fz_mbx_resource r;
	fz_err e = {0};
	char msg[FZ_ERR_MSG_MAX];
	fz_code rc = fz_leaf_parse(json_object_get(part, "headers"), &leaf, &e);

	if (rc != FZ_OK)
		return unprocessable(err, "invalid_document", path, e.msg);
	free(leaf.media_type);
	free(leaf.filename);
	rc = fz_mbx_resource_find(m->store, req->arena, user, leaf.cid.s, &r, &e);
	if (rc == FZ_ENOTFOUND) {
		snprintf(msg, sizeof(msg), "resource <%s> is not in your mailbox: upload it first",
			 leaf.cid.s);
		return unprocessable(err, "invalid_resource", path, msg);
	}
	if (rc != FZ_OK) {
		*err = e;
		return rc;
	}
	if (r.size != leaf.size) {
		snprintf(msg, sizeof(msg), "resource <%s> has %llu bytes, the part says %llu",
			 leaf.cid.s, (unsigned long long)r.size, (unsigned long long)leaf.size);
		return unprocessable(err, "invalid_resource", path, msg);
	}
	return FZ_OK;
}

static fz_code check_parts(fz_mbx *m, fz_http_req *req, const char *user,
			   const json_t *parts, char *path, size_t len, fz_err *err)
{
	const json_t *part;
	size_t i, n;
	fz_code rc = FZ_OK;

	json_array_foreach(parts, i, part) {
		n = (size_t)snprintf(path + len, PART_PATH_MAX - len, ".parts[%zu]", i);
		if (n >= PART_PATH_MAX - len)
			return fz_fail(err, FZ_ELIMIT, "parts nested too deep");
		if (json_object_get(part, "parts") != NULL)
			rc = check_parts(m, req, user, json_object_get(part, "parts"), path,
					 len + n, err);
		else
			rc = check_leaf(m, req, user, part, path, err);
		path[len] = '\0';
		if (rc != FZ_OK)
			return rc;
	}
	return FZ_OK;
}

static fz_code check_resources(fz_mbx *m, fz_http_req *req, const char *user,
			       const json_t *doc, fz_err *err)
{
	char path[PART_PATH_MAX] = "body";

	return check_parts(m, req, user, json_object_get(fz_placeholder_body(doc), "parts"),
			   path, strlen(path), err);
}

/* The stored draft, checked again: it was checked when stored, but the
 * model may have grown stricter since. */
static fz_code load_draft(fz_mbx *m, fz_http_req *req, const char *user,
			  const char *id, fz_mbx_msg *msg, json_t **doc, fz_err *err)
{
	fz_err e = {0};
	fz_code rc = fz_mbx_msg_get(m->store, req->arena, user, id, msg, err);

	if (rc != FZ_OK)
		return rc;
	if (msg->sent)
		return fz_fail_http(err, FZ_ECONFLICT, 409, "conflict",
				    "the message was sent already");
	*doc = fz_arena_own_json(req->arena, json_loads(msg->document, JSON_REJECT_DUPLICATES,
							 NULL));
	if (*doc == NULL)
		return fz_fail(err, FZ_EINTERNAL, "message %s: stored document unreadable", id);
	if (fz_placeholder_check(*doc, &m->cfg->document, &e) != FZ_OK)
		return fz_fail_http(err, FZ_ESTRUCT, 422, "invalid_document", "%s", e.msg);
	return FZ_OK;
}

/* --- the token exchange (SPEC §7.2-7.3) ---------------------------------------- */

/* The request's bearer token, which fz_mbx_authenticate accepted. */
static const char *bearer_token(fz_http_req *req)
{
	const char *t = fz_http_req_header(req, "Authorization");

	if (t == NULL || strncasecmp(t, "Bearer ", 7) != 0)
		return NULL;
	for (t += 7; *t == ' '; t++)
		;
	return t;
}

/* An AS that refuses is our misconfiguration or a token gone stale:
 * 502, the AS's words in the log. One that cannot answer: 503, retry. */
static fz_code exchange_failed(fz_err *err)
{
	char msg[FZ_ERR_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s", err->msg);
	if (err->code == FZ_EDENIED && err->status < 500)
		return fz_fail_http(err, FZ_EDENIED, 502, "server_error",
				    "the AS refused the token exchange: %s", msg);
	return fz_fail_http(err, FZ_EIO, 503, "temporarily_unavailable",
			    "the token exchange failed: %s", msg);
}

static fz_code exchange(fz_mbx *m, fz_http_req *req, const json_t *origin,
			const char **assertion, fz_err *err)
{
	fz_oauth_client oc = {
		.client_id = m->cfg->mta_client_id,
		.client_key = m->mta_key,
		.dpop_key = m->mta_dpop_key,
		.assertion_ttl = (int64_t)m->cfg->mta_assertion_ttl,
	};
	fz_http_client *http = NULL;
	fz_oauth_token tok;
	char *headers = NULL;
	fz_code rc = fz_mbx_token_endpoint(m->keys, req->arena, &oc.token_endpoint,
					   &oc.resolve, err);

	/* the own AS unreachable (down, or DNS down): 503, the client retries */
	if (rc != FZ_OK)
		return exchange_failed(err);
	if (bearer_token(req) == NULL)
		rc = fz_fail(err, FZ_EINTERNAL, "no bearer token to exchange");
	if (rc == FZ_OK)
		rc = fz_delivery_exchange_headers(origin, &headers, err);
	if (rc == FZ_OK)
		rc = fz_http_client_pool_get(m->as_clients, &http, err);
	if (rc == FZ_OK) {
		const fz_oauth_param p[] = {
			{"subject_token", bearer_token(req)},
			{"subject_token_type", FZ_OAUTH_TT_ACCESS},
			{"requested_token_type", FZ_OAUTH_TT_JWT},
			{"scope", FZ_MBX_SCOPE},
			{"headers", headers},
		};

		rc = fz_oauth_token_request(&oc, http, req->arena, FZ_OAUTH_GRANT_TOKEN_EXCHANGE, p,
					    sizeof(p) / sizeof(p[0]), fz_mbx_now(), &tok, err);
		if (rc != FZ_OK)
			rc = exchange_failed(err);
	}
	if (rc == FZ_OK && (tok.issued_token_type == NULL ||
			    strcmp(tok.issued_token_type, FZ_OAUTH_TT_JWT) != 0))
		rc = fz_fail_http(err, FZ_ESTRUCT, 502, "server_error",
				  "the AS issued %.80s, not a JWT assertion",
				  tok.issued_token_type ? tok.issued_token_type : "(no type)");
	if (rc == FZ_OK)
		*assertion = tok.access_token;
	fz_http_client_pool_put(m->as_clients, http);
	free(headers);
	return rc;
}

/* --- building the copies --------------------------------------------------------- */

static fz_code json_text(fz_http_req *req, const json_t *doc, const char **out,
			 fz_err *err)
{
	char *s = NULL;
	size_t n;
	fz_code rc = fz_placeholder_to_json(doc, false, &s, &n, err);

	if (rc != FZ_OK)
		return rc;
	*out = fz_arena_strdup(req->arena, s);
	free(s);
	return *out ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

/* A local recipient's copy: Bcc only if they are one, and the receipt
 * block a remote mailbox would add (SPEC §7.5), so local and remote
 * copies read alike. */
static fz_code local_copy(fz_http_req *req, const json_t *doc, const char *from_domain,
			  const char *date, fz_mbx_send_rcpt *r, fz_err *err)
{
	json_t *copy = NULL;
	fz_code rc = fz_delivery_copy(doc, r->domain, r->address, &copy, err);

	if (rc == FZ_OK)
		rc = fz_delivery_add_receipt(copy, from_domain, r->domain, date, err);
	if (rc == FZ_OK)
		rc = json_text(req, copy, &r->document, err);
	json_decref(copy);
	return rc;
}

/* A local recipient who auto-forwards gets the forward queued with the
 * copy. A rule that cannot be read forwards nothing: the mail must not
 * wait for it. */
static fz_code local_forward(fz_mbx *m, fz_http_req *req, fz_mbx_send_rcpt *r,
			     fz_err *err)
{
	bool keep = true;
	fz_err e = {0};

	if (fz_mbx_forward_rule(m, req->arena, r->address, &r->forward_domain, &keep, &e) ==
	    FZ_OK)
		return FZ_OK;
	r->forward_domain = NULL;
	if (e.code == FZ_ENOMEM)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	fprintf(stderr, "federizer mbx: forwarding rule of %s unread: %s\n", r->address, e.msg);
	return FZ_OK;
}

static fz_code plan(fz_mbx *m, fz_http_req *req, const json_t *doc,
		    const fz_rcpts *rcpts, const char *from_domain, const char *date,
		    fz_mbx_send *s, fz_err *err)
{
	size_t i;
	fz_code rc = FZ_OK;

	s->rcpts = fz_arena_calloc(req->arena, rcpts->n, sizeof(*s->rcpts));
	if (s->rcpts == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	for (i = 0; i < rcpts->n && rc == FZ_OK; i++) {
		fz_mbx_send_rcpt *r = &s->rcpts[i];

		r->address = fz_arena_strdup(req->arena, rcpts->v[i].address);
		r->domain = r->address ? strrchr(r->address, '@') + 1 : NULL;
		if (r->address == NULL)
			return fz_fail(err, FZ_ENOMEM, "out of memory");
		r->local = fz_mbx_config_has_domain(m->cfg, r->domain, strlen(r->domain));
		if (r->local)
			rc = local_copy(req, doc, from_domain, date, r, err);
		if (rc == FZ_OK && r->local)
			rc = local_forward(m, req, r, err);
	}
	s->nrcpts = rcpts->n;
	return rc;
}

/* --- answers ------------------------------------------------------------------------ */

static json_t *outcome_json(const fz_mbx_send *s)
{
	json_t *arr = json_array(), *o;
	size_t i;

	for (i = 0; arr != NULL && i < s->nrcpts; i++) {
		const fz_mbx_send_rcpt *r = &s->rcpts[i];

		o = json_pack("{s:s,s:s,s:s}", "address", r->address, "domain", r->domain,
			      "state", fz_rcpt_state_name(r->state));
		if (o != NULL && r->reason != NULL)
			json_object_set_new(o, "reason", json_string(r->reason));
		if (o == NULL || json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static fz_code respond_sent(fz_mbx *m, fz_http_req *req, const fz_mbx_send *s,
			    fz_err *err)
{
	fz_mbx_msg msg;
	json_t *j;
	fz_code rc = fz_mbx_msg_get(m->store, req->arena, s->owner, s->id, &msg, err);

	if (rc != FZ_OK)
		return rc;
	j = fz_mbx_msg_json(&msg);
	if (j == NULL || json_object_set_new(j, "recipients", outcome_json(s)) != 0) {
		json_decref(j);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	fz_http_req_set_log_id(req, msg.message_id);
	return fz_http_respond_json(req, 202, j, err);
}

static void notify_all(fz_mbx *m, const fz_mbx_send *s)
{
	size_t i;

	fz_mbx_notify_changed(m->notify, s->owner);
	for (i = 0; i < s->nrcpts; i++)
		if (s->rcpts[i].state == FZ_RCPT_DELIVERED && s->rcpts[i].local)
			fz_mbx_notify_changed(m->notify, s->rcpts[i].address);
}

/* --- POST .../send ------------------------------------------------------------------ */

typedef struct sending {
	fz_mbx_msg draft;
	json_t *doc;
	const json_t *origin;
	fz_rcpts rcpts;
	const char *from_domain;
	char date[FZ_DATE_SIZE];
} sending;

/* Everything that can refuse the send without the network. */
static fz_code prepare(fz_mbx *m, fz_http_req *req, const char *user, const char *id,
		       sending *x, fz_err *err)
{
	fz_err e = {0};
	fz_code rc;

	if (m->mta_key == NULL)
		return fz_fail_http(err, FZ_EDENIED, 503, "temporarily_unavailable",
				    "sending is not configured (mta.key)");
	if ((rc = load_draft(m, req, user, id, &x->draft, &x->doc, err)) != FZ_OK)
		return rc;
	fz_http_req_set_log_id(req, x->draft.message_id);
	if ((rc = check_resources(m, req, user, x->doc, err)) != FZ_OK)
		return rc;
	x->origin = fz_placeholder_origin(x->doc);
	if (fz_delivery_recipients(x->origin, m->cfg->document.max_recipients, &x->rcpts,
				   &e) != FZ_OK)
		return fz_fail_http(err, FZ_ESTRUCT, 422, "invalid_document", "%s", e.msg);
	/* The draft's From is the user (mbx_messages.c checks it). */
	x->from_domain = strrchr(user, '@') + 1;
	if ((rc = fz_delivery_date(fz_mbx_now(), x->date, err)) ||
	    (rc = fz_delivery_seal(x->doc, x->date, err)))
		return rc;
	return FZ_OK;
}

/* Signs, plans and commits a prepared send; s says what happened. */
static fz_code send_draft(fz_mbx *m, fz_http_req *req, const char *user,
			  const char *id, sending *x, fz_mbx_send *s, fz_err *err)
{
	const char *assertion = NULL;
	fz_code rc = prepare(m, req, user, id, x, err);

	if (rc == FZ_OK)
		rc = exchange(m, req, x->origin, &assertion, err);
	if (rc == FZ_OK)
		rc = fz_delivery_add_assertion(x->doc, assertion, err);
	if (rc != FZ_OK)
		return rc;
	s->owner = user;
	s->id = id;
	s->draft_modseq = x->draft.modseq;
	s->message_id = x->draft.message_id;
	s->quota = m->cfg->limits.quota_bytes;
	s->now = fz_mbx_now();
	if ((rc = json_text(req, x->doc, &s->document, err)) ||
	    (rc = plan(m, req, x->doc, &x->rcpts, x->from_domain, x->date, s, err)))
		return rc;
	return fz_mbx_send_commit(m->store, s, err);
}

static fz_code h_send(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user = NULL, *id = NULL;
	sending x = {0};
	fz_mbx_send s = {0};
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_mbx_path_id(req, &id, err);
	if (rc == FZ_OK)
		rc = send_draft(m, req, user, id, &x, &s, err);
	fz_rcpts_free(&x.rcpts);
	if (rc != FZ_OK)
		return rc;
	notify_all(m, &s);
	fz_mbx_queued(m);
	return respond_sent(m, req, &s, err);
}

/* --- status and recall ---------------------------------------------------------------- */

static void iso_date(int64_t t, char out[ISO_DATE_SIZE])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, ISO_DATE_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, ISO_DATE_SIZE, "1970-01-01T00:00:00Z");
}

static bool same_group(const fz_mbx_rcpt_status *a, const fz_mbx_rcpt_status *b)
{
	return strcmp(a->domain, b->domain) == 0 && strcmp(a->state, b->state) == 0 &&
	       (a->reason == b->reason ||
		(a->reason && b->reason && strcmp(a->reason, b->reason) == 0));
}

/* One entry per domain and outcome, in the order the message names them:
 * a remote domain is one transfer; local recipients of one domain may
 * differ (one delivered, one unknown). */
static json_t *domain_entry(const fz_mbx_send_status *st, size_t first, bool *done)
{
	const fz_mbx_rcpt_status *r = &st->v[first];
	char when[ISO_DATE_SIZE];
	json_t *o, *rcpts = json_array();
	size_t i;

	for (i = first; rcpts != NULL && i < st->n; i++) {
		if (!done[i] && same_group(r, &st->v[i])) {
			json_array_append_new(rcpts, json_string(st->v[i].address));
			done[i] = true;
		}
	}
	iso_date(r->updated_at, when);
	o = json_pack("{s:s,s:o,s:s,s:s}", "domain", r->domain, "recipients", rcpts,
		      "state", r->state, "updated", when);
	if (o != NULL && r->reason != NULL)
		json_object_set_new(o, "reason", json_string(r->reason));
	return o;
}

/* Recallable while a remote domain is still waiting for it and none has
 * fetched it (SPEC §10). */
static bool recallable(const fz_mbx_send_status *st)
{
	bool open = false;
	size_t i;

	for (i = 0; i < st->n; i++) {
		if (st->v[i].local)
			continue;
		if (strcmp(st->v[i].state, "fetched") == 0)
			return false;
		open |= strcmp(st->v[i].state, "queued") == 0 ||
			strcmp(st->v[i].state, "transferred") == 0;
	}
	return open && !st->recalled;
}

static fz_code respond_status(fz_mbx *m, fz_http_req *req, const char *user,
			      const char *id, fz_err *err)
{
	fz_mbx_send_status st;
	json_t *domains, *o;
	bool *done;
	size_t i;
	fz_code rc = fz_mbx_send_status_get(m->store, req->arena, user, id, &st, err);

	if (rc != FZ_OK)
		return rc;
	done = fz_arena_calloc(req->arena, st.n + 1, sizeof(*done));
	domains = json_array();
	if (done == NULL || domains == NULL) {
		json_decref(domains);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	for (i = 0; i < st.n; i++)
		if (!done[i] && json_array_append_new(domains, domain_entry(&st, i, done)) != 0) {
			json_decref(domains);
			return fz_fail(err, FZ_ENOMEM, "out of memory");
		}
	/* The shape web/src/api/types.ts and api/mbx.yaml give DeliveryStatus;
	 * a recall shows as its domains' "recalled by the sender". */
	o = json_pack("{s:s,s:o,s:b}", "id", id, "domains", domains, "recallable",
		      recallable(&st));
	return fz_http_respond_json(req, 200, o, err);
}

static fz_code h_status(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user, *id;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_mbx_path_id(req, &id, err);
	if (rc != FZ_OK)
		return rc;
	return respond_status(m, req, user, id, err);
}

static fz_code h_recall(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user, *id;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_mbx_path_id(req, &id, err);
	if (rc == FZ_OK)
		rc = fz_mbx_recall(m->store, user, id, fz_mbx_now(), err);
	if (rc != FZ_OK)
		return rc;
	return respond_status(m, req, user, id, err);
}

fz_code fz_mbx_send_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	fz_code rc;

	if ((rc = fz_http_server_add(srv, "POST", "/api/v1/messages/{id}/send", h_send, m, err)) ||
	    (rc = fz_http_server_add(srv, "GET", "/api/v1/messages/{id}/status", h_status, m,
				     err)) ||
	    (rc = fz_http_server_add(srv, "POST", "/api/v1/messages/{id}/recall", h_recall, m,
				     err)))
		return rc;
	return FZ_OK;
}
