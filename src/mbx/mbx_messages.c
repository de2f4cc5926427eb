/*
 * mbx_messages.c - messages as the webmail sees them (SPEC §3, §12):
 *
 *   POST   /api/v1/messages        a new draft (JSON or YAML)
 *   GET    /api/v1/messages/{id}   {id, folder, flags, document}
 *   PUT    /api/v1/messages/{id}   replace a draft (409 once sent)
 *   PATCH  /api/v1/messages/{id}   move, flag
 *   DELETE /api/v1/messages/{id}   to the trash; from the trash, for good
 *
 * A draft is checked by the Placeholder model (placeholder.h) and then
 * against what only the server knows: its From is the signed-in user, it
 * has no Date (a Date makes it sent and immutable), and its Message-ID's
 * domain is the From domain (SPEC §3). The server adds a Message-ID
 * (<uuid@domain>) and an X-Thread-ID when absent, and keeps them across
 * replacements of the same draft. Sending, status and recall (§7, §10)
 * are in mbx_send.c.
 */
#include "mbx_http.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "placeholder.h"

#define UUID_LEN 36

typedef struct draft {
	json_t *doc;            /* belongs to the request's arena */
	const char *message_id;
	const char *thread_id;
	char *json;             /* compact text; the arena frees it */
	fz_digest_str *refs;    /* distinct leaf digests */
	size_t nrefs;
} draft;

json_t *fz_mbx_msg_json(const fz_mbx_msg *msg)
{
	json_t *doc = json_loads(msg->document, JSON_REJECT_DUPLICATES, NULL);

	if (doc == NULL)
		return NULL;
	return json_pack("{s:s,s:s,s:{s:b,s:b},s:o}", "id", msg->id, "folder",
			 fz_mbx_folder_name(msg->folder), "flags", "seen", msg->seen,
			 "flagged", msg->flagged, "document", doc);
}

static fz_code bad_document(fz_err *err, const char *msg)
{
	return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_document", "%s", msg);
}

/* The body's format from Content-Type: JSON, or YAML (the seed's). */
static fz_code body_format(fz_http_req *req, fz_ph_format *fmt, fz_err *err)
{
	const char *ct = fz_http_req_header(req, "Content-Type");
	size_t n = ct ? strcspn(ct, "; \t") : 0;

	if (n == 16 && strncasecmp(ct, "application/json", n) == 0)
		*fmt = FZ_PH_JSON;
	else if ((n == 16 && strncasecmp(ct, "application/yaml", n) == 0) ||
		 (n == 18 && strncasecmp(ct, "application/x-yaml", n) == 0) ||
		 (n == 9 && strncasecmp(ct, "text/yaml", n) == 0))
		*fmt = FZ_PH_YAML;
	else
		return fz_fail_http(err, FZ_ESYNTAX, 415, "invalid_request",
				    "a message is application/json or application/yaml");
	return FZ_OK;
}

/* Parses and checks the document; every refusal is 400 invalid_document
 * with the model's reason (limits included: the body is within the
 * HTTP limit, it is the document that is too big or deep). */
static fz_code load_document(fz_mbx *m, fz_http_req *req, json_t **doc,
			     fz_err *err)
{
	fz_ph_format fmt = FZ_PH_JSON;
	fz_err e = {0};
	fz_code rc = body_format(req, &fmt, err);

	if (rc != FZ_OK)
		return rc;
	if (fz_placeholder_load(fmt, req->body, req->body_len, &m->cfg->document, doc,
				&e) != FZ_OK)
		return bad_document(err, e.msg);
	if (fz_arena_own_json(req->arena, *doc) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

/* Adds {name: value} to a header block, before a final Content-Type so
 * the MIME header stays last as the webmail writes it. */
static fz_code add_header(json_t *block, const char *name, const char *value,
			  fz_err *err)
{
	size_t n = json_array_size(block);
	json_t *last = n ? json_array_get(block, n - 1) : NULL;
	json_t *h = json_pack("{s:s}", name, value);
	int rc;

	if (h == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if (last != NULL && json_object_get(last, "Content-Type") != NULL)
		rc = json_array_insert_new(block, n - 1, h);
	else
		rc = json_array_append_new(block, h);
	return rc == 0 ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

static fz_code new_message_id(fz_arena *a, const char *domain, const char **out,
			      fz_err *err)
{
	unsigned char b[16];
	char uuid[UUID_LEN + 1];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return fz_fail(err, FZ_EINTERNAL, "no randomness for a Message-ID");
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* RFC 9562 version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(uuid, sizeof(uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
		 b[11], b[12], b[13], b[14], b[15]);
	*out = fz_arena_printf(a, "<%s@%s>", uuid, domain);
	return *out ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

/* From must be exactly the signed-in user; *domain is its domain. */
static fz_code check_from(fz_http_req *req, const json_t *block,
			  const char *user, const char **domain, fz_err *err)
{
	fz_addr_list from = {0};
	const char *v;
	size_t n;
	fz_err e = {0};
	fz_code rc;

	if (fz_headers_get(block, "From", &v, &n, &e) != FZ_OK)
		return bad_document(err, "a draft needs one From header with one address");
	rc = fz_addr_list_parse(v, n, 1, &from, &e);
	if (rc != FZ_OK || from.n != 1) {
		fz_addr_list_free(&from);
		return bad_document(err, rc != FZ_OK ? e.msg : "From must hold one address");
	}
	if (strcmp(from.v[0].spec, user) != 0) {
		fz_addr_list_free(&from);
		return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				    "From must be the signed-in user %s", user);
	}
	*domain = fz_arena_strdup(req->arena, from.v[0].spec + from.v[0].at + 1);
	fz_addr_list_free(&from);
	return *domain ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

/* A given id header must be a string and a Message-ID in form; for
 * Message-ID its domain must be the From domain (SPEC §3). */
static fz_code check_id_header(const json_t *block, const char *name,
			       const char *domain, const char **out, fz_err *err)
{
	const json_t *v = fz_headers_find(block, name);
	fz_msgid id;
	fz_err e = {0};
	char msg[FZ_ERR_MSG_MAX];

	*out = NULL;
	if (v == NULL)
		return FZ_OK;
	if (!json_is_string(v) || fz_msgid_parse(json_string_value(v), json_string_length(v),
						 &id, &e) != FZ_OK) {
		snprintf(msg, sizeof(msg), "%s: %.200s", name,
			 e.msg[0] ? e.msg : "must be one <id@domain>");
		return bad_document(err, msg);
	}
	if (domain != NULL && strcmp(id.domain, domain) != 0) {
		snprintf(msg, sizeof(msg), "%s must end in @%s, the From domain", name, domain);
		return bad_document(err, msg);
	}
	*out = json_string_value(v);
	return FZ_OK;
}

static void free_text(void *p)
{
	free(p);
}

static fz_code collect_refs(fz_http_req *req, draft *d, fz_err *err)
{
	fz_leaf *leaves = NULL;
	size_t n = 0, i, j;
	fz_err e = {0};

	if (fz_placeholder_leaves(d->doc, &leaves, &n, &e) != FZ_OK)
		return bad_document(err, e.msg);
	d->refs = fz_arena_calloc(req->arena, n ? n : 1, sizeof(*d->refs));
	if (d->refs == NULL) {
		fz_leaves_free(leaves, n);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < d->nrefs && strcmp(d->refs[j].s, leaves[i].cid.s) != 0; j++)
			;
		if (j == d->nrefs)
			d->refs[d->nrefs++] = leaves[i].cid;
	}
	fz_leaves_free(leaves, n);
	return FZ_OK;
}

/* Checks a loaded document as a draft of user and completes its ids;
 * old is the stored draft it replaces, or NULL. */
static fz_code prepare_draft(fz_http_req *req, const char *user,
			     const fz_mbx_msg *old, draft *d, fz_err *err)
{
	json_t *block;
	const char *domain = NULL;
	size_t n;
	fz_code rc;

	if (fz_placeholder_entry_count(d->doc) != 1 ||
	    (block = (json_t *)fz_placeholder_newest_headers(d->doc)) == NULL)
		return bad_document(err, "a draft's envelope is one header block");
	if (fz_placeholder_is_sent(d->doc))
		return bad_document(err, "a draft has no Date: send it to date it");
	if ((rc = check_from(req, block, user, &domain, err)) ||
	    (rc = check_id_header(block, "Message-ID", domain, &d->message_id, err)) ||
	    (rc = check_id_header(block, "X-Thread-ID", NULL, &d->thread_id, err)))
		return rc;
	if (d->message_id == NULL) {
		if (old != NULL)
			d->message_id = old->message_id;
		else if ((rc = new_message_id(req->arena, domain, &d->message_id, err)) != FZ_OK)
			return rc;
		if ((rc = add_header(block, "Message-ID", d->message_id, err)) != FZ_OK)
			return rc;
	}
	if (d->thread_id == NULL) {
		d->thread_id = old && old->thread_id ? old->thread_id : d->message_id;
		if ((rc = add_header(block, "X-Thread-ID", d->thread_id, err)) != FZ_OK)
			return rc;
	}
	if ((rc = collect_refs(req, d, err)) != FZ_OK)
		return rc;
	rc = fz_placeholder_to_json(d->doc, false, &d->json, &n, err);
	if (rc == FZ_OK && fz_arena_on_free(req->arena, free_text, d->json) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return rc;
}

static fz_code respond_msg(fz_http_req *req, unsigned status,
			   const fz_mbx_msg *msg, fz_err *err)
{
	json_t *j = fz_mbx_msg_json(msg);

	if (j == NULL)
		return fz_fail(err, FZ_EINTERNAL, "message %s: stored document unreadable",
			       msg->id);
	fz_http_req_set_log_id(req, msg->message_id);
	return fz_http_respond_json(req, status, j, err);
}

/* Answers the message as stored now. */
static fz_code respond_stored(fz_mbx *m, fz_http_req *req, const char *user,
			      const char *id, unsigned status, fz_err *err)
{
	fz_mbx_msg msg;
	fz_code rc = fz_mbx_msg_get(m->store, req->arena, user, id, &msg, err);

	if (rc != FZ_OK)
		return rc;
	return respond_msg(req, status, &msg, err);
}

static fz_code h_create(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user;
	draft d = {0};
	fz_mbx_msg msg = {.folder = FZ_FOLDER_DRAFTS, .seen = true};
	char *loc;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = load_document(m, req, &d.doc, err);
	if (rc == FZ_OK)
		rc = prepare_draft(req, user, NULL, &d, err);
	if (rc != FZ_OK)
		return rc;
	msg.owner = user;
	msg.message_id = d.message_id;
	msg.thread_id = d.thread_id;
	msg.document = d.json;
	rc = fz_mbx_msg_add(m->store, &msg, d.refs, d.nrefs, fz_mbx_now(), err);
	if (rc != FZ_OK)
		return rc;
	fz_mbx_notify_changed(m->notify, user);
	loc = fz_arena_printf(req->arena, "%sapi/v1/messages/%s", m->cfg->base_url, msg.id);
	if (loc == NULL || fz_http_add_header(req, "Location", loc, err) != FZ_OK)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return respond_msg(req, 201, &msg, err);
}

/* The {id} of the path: our ids are 22 base64url characters; anything
 * else is no message of anyone's. */
fz_code fz_mbx_path_id(fz_http_req *req, const char **id, fz_err *err)
{
	const char *s = fz_http_req_param(req, "id");
	size_t i;

	*id = s;
	for (i = 0; s != NULL && s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			break;
	}
	if (s == NULL || s[i] != '\0' || i != FZ_MBX_ID_LEN)
		return fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found", "no such message");
	return FZ_OK;
}

static bool wants_yaml(fz_http_req *req)
{
	const char *a = fz_http_req_header(req, "Accept");

	return a != NULL && (strncasecmp(a, "application/yaml", 16) == 0 ||
			     strncasecmp(a, "text/yaml", 9) == 0);
}

/* Accept: application/yaml gets the Placeholder document itself in the
 * seed's format; everything else the JSON message object. */
static fz_code respond_yaml(fz_http_req *req, const fz_mbx_msg *msg, fz_err *err)
{
	json_t *doc = fz_arena_own_json(req->arena, json_loads(msg->document, 0, NULL));
	char *yaml = NULL;
	size_t n = 0;
	fz_code rc;

	if (doc == NULL)
		return fz_fail(err, FZ_EINTERNAL, "message %s: stored document unreadable",
			       msg->id);
	rc = fz_placeholder_to_yaml(doc, &yaml, &n, err);
	if (rc == FZ_OK)
		rc = fz_http_respond_bytes(req, 200, "application/yaml; charset=utf-8", yaml, n, err);
	if (rc == FZ_OK)
		rc = fz_http_add_header(req, "Cache-Control", "no-store", err);
	free(yaml);
	return rc;
}

static fz_code h_get(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user, *id;
	fz_mbx_msg msg;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_mbx_path_id(req, &id, err);
	if (rc == FZ_OK)
		rc = fz_mbx_msg_get(m->store, req->arena, user, id, &msg, err);
	if (rc != FZ_OK)
		return rc;
	if (wants_yaml(req))
		return respond_yaml(req, &msg, err);
	return respond_msg(req, 200, &msg, err);
}

static fz_code h_replace(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user, *id;
	fz_mbx_msg old;
	draft d = {0};
	uint64_t modseq;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_mbx_path_id(req, &id, err);
	if (rc == FZ_OK)
		rc = fz_mbx_msg_get(m->store, req->arena, user, id, &old, err);
	if (rc == FZ_OK && old.sent)
		rc = fz_fail_http(err, FZ_ECONFLICT, 409, "conflict",
				  "the message was sent: it cannot change");
	if (rc == FZ_OK)
		rc = load_document(m, req, &d.doc, err);
	if (rc == FZ_OK)
		rc = prepare_draft(req, user, &old, &d, err);
	if (rc == FZ_OK)
		rc = fz_mbx_msg_replace_draft(m->store, user, id, d.json, d.message_id,
					      d.thread_id, d.refs, d.nrefs, fz_mbx_now(),
					      &modseq, err);
	if (rc != FZ_OK)
		return rc;
	fz_mbx_notify_changed(m->notify, user);
	return respond_stored(m, req, user, id, 200, err);
}

/* {folder?, flags?: {seen?, flagged?}}; anything else is refused so a
 * typo does not pass for a no-op. */
static fz_code read_patch(fz_http_req *req, fz_mbx_msg_patch *p,
			  fz_mbx_folder *folder, bool *seen, bool *flagged,
			  fz_err *err)
{
	json_t *j, *v, *fv;
	const char *k, *fk;
	fz_code rc = fz_http_req_json(req, &j, err);

	if (rc != FZ_OK)
		return rc;
	if (!json_is_object(j))
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request", "a patch is an object");
	json_object_foreach(j, k, v) {
		if (strcmp(k, "folder") == 0) {
			if (fz_mbx_folder_parse(json_string_value(v), folder, err) != FZ_OK)
				return err->code;
			p->folder = folder;
		} else if (strcmp(k, "flags") == 0 && json_is_object(v)) {
			json_object_foreach(v, fk, fv) {
				if (!json_is_boolean(fv) ||
				    (strcmp(fk, "seen") != 0 && strcmp(fk, "flagged") != 0))
					return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
							    "flags has seen and flagged, true or false");
				if (strcmp(fk, "seen") == 0) {
					*seen = json_is_true(fv);
					p->seen = seen;
				} else {
					*flagged = json_is_true(fv);
					p->flagged = flagged;
				}
			}
		} else {
			return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
					    "a patch has folder and flags only");
		}
	}
	return FZ_OK;
}

static fz_code h_patch(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user, *id;
	fz_mbx_msg_patch p = {0};
	fz_mbx_folder folder;
	bool seen, flagged;
	uint64_t modseq;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_mbx_path_id(req, &id, err);
	if (rc == FZ_OK)
		rc = read_patch(req, &p, &folder, &seen, &flagged, err);
	if (rc == FZ_OK)
		rc = fz_mbx_msg_update(m->store, user, id, &p, fz_mbx_now(), &modseq, err);
	if (rc != FZ_OK)
		return rc;
	fz_mbx_notify_changed(m->notify, user);
	return respond_stored(m, req, user, id, 200, err);
}

static fz_code h_delete(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user, *id;
	bool destroyed = false;
	uint64_t modseq;
	fz_err gerr = {0};
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_mbx_path_id(req, &id, err);
	if (rc == FZ_OK)
		rc = fz_mbx_msg_delete(m->store, user, id, fz_mbx_now(), &destroyed, &modseq, err);
	if (rc != FZ_OK)
		return rc;
	fz_mbx_notify_changed(m->notify, user);
	/* Its bytes may now be nobody's: collect them now rather than at
	 * the next maintenance round. A failure is the next round's job. */
	if (destroyed && fz_mbx_gc(m->store, m->blobs, 0, NULL, &gerr) != FZ_OK)
		fprintf(stderr, "federizer mbx: collecting blobs: %s\n", gerr.msg);
	return fz_http_respond_empty(req, 204, err);
}

fz_code fz_mbx_message_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	static const struct {
		const char *method, *pattern;
		fz_http_handler_fn fn;
	} routes[] = {
		{"POST", "/api/v1/messages", h_create},
		{"GET", "/api/v1/messages/{id}", h_get},
		{"PUT", "/api/v1/messages/{id}", h_replace},
		{"PATCH", "/api/v1/messages/{id}", h_patch},
		{"DELETE", "/api/v1/messages/{id}", h_delete},
	};
	size_t i;
	fz_code rc = FZ_OK;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]) && rc == FZ_OK; i++)
		rc = fz_http_server_add(srv, routes[i].method, routes[i].pattern,
					routes[i].fn, m, err);
	return rc;
}
