/*
 * mbx_mta_receive.c - a message arriving from another domain's MTA
 * (SPEC §7.5): POST /mta/v1/messages with the Placeholder document,
 * Authorization: DPoP <assertion> and a DPoP proof.
 *
 * The checks run in a fixed order, cheapest and most local first, each
 * failure its own status and log line naming the Message-ID (the order
 * and the statuses are in docs/protocol.md, "Receiving"). What passes
 * gets a receipt block on top and one copy per local recipient, hidden
 * from sync until its inline parts are here; the resources not here yet
 * become fetch entries for the MTA worker. The same Message-ID again
 * for the same recipients is answered 200 and changes nothing.
 */
#include "mbx_mta.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "delivery.h"
#include "envelope.h"
#include "jwt.h"

#define RECEIVED_DATE_MAX 64

typedef struct rcv {
	fz_mbx *m;
	fz_http_req *req;
	json_t *doc;             /* owned by the request arena */
	const char *mid;         /* the Message-ID, for every log line */
	fz_chain shape;          /* the hops, as parsed */
	fz_chain chain;          /* the hops, discharged */
	const fz_chain_hop *top; /* the newest hop (in shape) */
	bool forward;            /* the newest hop is a forward */
	char sender[FZ_DOMAIN_MAX + 1]; /* the newest hop's signer domain */
	fz_mta_auth auth;
	const json_t *claims;    /* the presented assertion's, verified */
	fz_addr_list rcpts;      /* the newest hop's recipients */
} rcv;

static fz_code bad(fz_err *err, const char *what, const char *why)
{
	return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request", "%s%s", what, why);
}

static fz_code invalid_token(fz_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static fz_code invalid_token(fz_err *err, const char *fmt, ...)
{
	char msg[FZ_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fz_fail_http(err, FZ_ECLAIM, 401, "invalid_token", "%s", msg);
}

/* --- 1. the document ------------------------------------------------------------ */

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

/* The Message-ID of the origin block, and its domain against From's
 * (SPEC §3: one domain cannot take another's ids). */
static fz_code read_msgid(rcv *r, fz_err *err)
{
	const json_t *origin = fz_placeholder_origin(r->doc);
	char from_dom[FZ_DOMAIN_MAX + 1];
	fz_addr_list from;
	const char *v;
	size_t n;
	fz_msgid mid;
	fz_err why = {0};

	if (fz_headers_get(origin, "Message-ID", &v, &n, &why) != FZ_OK ||
	    fz_msgid_parse(v, n, &mid, &why) != FZ_OK)
		return bad(err, "Message-ID: ", why.msg);
	if ((r->mid = fz_arena_strndup(r->req->arena, v, n)) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if (fz_chain_signer(origin, false, &from, &why) != FZ_OK)
		return bad(err, "", why.msg);
	snprintf(from_dom, sizeof(from_dom), "%s", from.v[0].spec + from.v[0].at + 1);
	fz_addr_list_free(&from);
	if (strcmp(mid.domain, from_dom) != 0)
		return bad(err, "the Message-ID is not of the From domain ", from_dom);
	return FZ_OK;
}

static fz_code load(rcv *r, fz_err *err)
{
	fz_ph_format fmt = FZ_PH_JSON;
	fz_addr_list signer;
	fz_err why = {0};
	fz_code rc = body_format(r->req, &fmt, err);

	if (rc != FZ_OK)
		return rc;
	if (fz_placeholder_load(fmt, r->req->body, r->req->body_len, &r->m->cfg->document,
				&r->doc, &why) != FZ_OK)
		return fz_fail_http(err, why.code, why.code == FZ_ELIMIT ? 413 : 400,
				    "invalid_request", "the document: %s", why.msg);
	if (fz_arena_own_json(r->req->arena, r->doc) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if ((rc = read_msgid(r, err)) != FZ_OK)
		return rc;
	if (!fz_placeholder_is_sent(r->doc))
		return bad(err, "the origin block has no Date: a draft is not sent", "");
	if (fz_chain_parse(fz_placeholder_envelope(r->doc), &r->m->cfg->document, &r->shape,
			   &why) != FZ_OK)
		return bad(err, "the envelope: ", why.msg);
	r->top = &r->shape.hops[r->shape.n - 1];
	r->forward = r->shape.n > 1;
	if (fz_chain_signer(r->top->block, r->forward, &signer, &why) != FZ_OK)
		return bad(err, "the newest hop: ", why.msg);
	snprintf(r->sender, sizeof(r->sender), "%s", signer.v[0].spec + signer.v[0].at + 1);
	fz_addr_list_free(&signer);
	return FZ_OK;
}

/* --- 2-6. the proof, the assertion, its headers, the chain --------------------- */

static fz_code check_newest(rcv *r, fz_err *err)
{
	if (r->shape.first != 0)
		return invalid_token(err, "the newest envelope entry is not a jwt-assertion");
	if (strlen(r->auth.token) != r->top->jws_len ||
	    memcmp(r->auth.token, r->top->jws, r->top->jws_len) != 0)
		return invalid_token(err, "the presented assertion is not the newest envelope entry");
	return FZ_OK;
}

static fz_code verify_assertion(rcv *r, fz_err *err)
{
	static const char *const required[] = {"sub", "azp", "jti", "eh", "cnf", NULL};
	fz_jws *jws = NULL;
	fz_jwt_expect x;
	fz_err why = {0};
	fz_code rc = fz_mta_verify_foreign(r->m, r->req->arena, r->sender, r->auth.token,
					   &jws, err);

	if (rc != FZ_OK)
		return rc;
	fz_jwt_expect_defaults(&x);
	x.typ = FZ_TYP_JWT;
	x.require_iat = true;
	x.leeway = r->m->cfg->jose.leeway;
	x.required = required;
	rc = fz_jwt_check(jws, &x, fz_mbx_now(), &why);
	if (rc != FZ_OK)
		rc = invalid_token(err, "the assertion: %s", why.msg);
	else if ((r->claims = fz_arena_own_json(r->req->arena,
						json_incref((json_t *)fz_jws_payload(jws)))) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	fz_jws_free(jws);
	return rc;
}

static fz_code check_eht(rcv *r, fz_err *err)
{
	const json_t *eh = json_object_get(r->claims, "eh");
	const char *eht = json_string_value(json_object_get(eh, "eht"));
	fz_digest_str d;
	fz_err why = {0};

	if (eht == NULL ||
	    fz_envelope_eht(r->top->block, json_object_get(eh, "ehl"), &d, &why) != FZ_OK)
		return invalid_token(err, "the assertion's eh: %s", why.msg[0] ? why.msg : "missing");
	if (strcmp(d.s, eht) != 0)
		return invalid_token(err, "eht does not match the header block below the assertion");
	return FZ_OK;
}

/* Every hop, the presented one included (its claims are reused), with
 * the body against the origin's Body-Digest. */
static fz_code check_chain(rcv *r, fz_err *err)
{
	fz_mta_verifier v = {r->m, r->req->arena, r->auth.token, r->claims};

	return fz_chain_walk(fz_placeholder_envelope(r->doc), NULL, fz_placeholder_body(r->doc),
			     &r->m->cfg->document, fz_mta_verify_assertion, &v, &r->chain, err);
}

/* --- 7-8. the sender's MTA, the recipients ------------------------------------- */

static fz_code check_azp(rcv *r, fz_err *err)
{
	const char *azp = fz_jwt_str(r->claims, "azp");
	fz_err why = {0};

	if (fz_discovery_check_azp(r->m->disc, r->sender, azp, &why) == FZ_OK)
		return FZ_OK;
	if (why.code == FZ_ECLAIM)
		return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				    "azp is not the federizer_mta_client_id of %s's MBX", r->sender);
	if (why.code == FZ_EIO)
		return fz_fail_http(err, FZ_EIO, 503, "temporarily_unavailable",
				    "the MBX of %s: %s", r->sender, why.msg);
	return fz_fail_http(err, FZ_EDENIED, 403, "access_denied", "the MBX of %s: %s",
			    r->sender, why.msg);
}

/* Local users among the newest hop's recipients, each once: addresses
 * of our domains whose mailbox exists (fz_mbx_mailbox_open). */
static fz_code local_recipients(rcv *r, const char ***owners, size_t *n,
				fz_err *err)
{
	const fz_limits *lim = &r->m->cfg->document;
	const char **v;
	size_t i, j;
	bool here;
	fz_err why = {0};
	fz_code rc;

	if (r->forward)
		rc = fz_addr_list_parse(json_string_value(fz_headers_find(r->top->block, "Forwarded-To")),
					json_string_length(fz_headers_find(r->top->block, "Forwarded-To")),
					lim->max_recipients, &r->rcpts, &why);
	else
		rc = fz_chain_origin_rcpts(r->top->block, lim->max_recipients, &r->rcpts, &why);
	if (rc != FZ_OK)
		return bad(err, "recipients: ", why.msg);
	if ((v = fz_arena_calloc(r->req->arena, r->rcpts.n + 1, sizeof(*v))) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	*n = 0;
	for (i = 0; i < r->rcpts.n; i++) {
		const fz_addr *a = &r->rcpts.v[i];
		const char *dom = a->spec + a->at + 1;

		if (!fz_mbx_config_has_domain(r->m->cfg, dom, strlen(dom)))
			continue;
		for (j = 0; j < *n && strcmp(v[j], a->spec) != 0; j++)
			;
		if (j < *n)
			continue;
		if ((rc = fz_mbx_mailbox_exists(r->m->store, a->spec, &here, err)) != FZ_OK)
			return rc;
		if (here)
			v[(*n)++] = a->spec;
	}
	if (*n == 0)
		return fz_fail_http(err, FZ_ENOTFOUND, 422, "unknown_recipient",
				    "no recipient is a user here (like SMTP 550 5.1.1)");
	*owners = v;
	return FZ_OK;
}

/* --- 9. delivery --------------------------------------------------------------- */

/* RFC 5322 date-time, in UTC. */
static void rfc5322_now(char *out, size_t size)
{
	time_t t = (time_t)fz_mbx_now();
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* The copy for the local recipient owner of domain: the receipt block on
 * top, and the Bcc only when owner is named there (SPEC §7.4: the
 * sender's copy for the domain still names every Bcc of it). */
static fz_code copy_for(rcv *r, const char *domain, const char *owner, const char **out,
			fz_err *err)
{
	char jad[FZ_DIGEST_HDR_SIZE], date[RECEIVED_DATE_MAX];
	json_t *doc = NULL, *receipt = NULL;
	char *text = NULL, *received;
	size_t n;
	fz_code rc = fz_envelope_jws_digest(r->top->jws, r->top->jws_len, jad, err);

	if (rc != FZ_OK)
		return rc;
	rfc5322_now(date, sizeof(date));
	received = fz_arena_printf(r->req->arena, "from %s by %s; %s", r->sender, domain, date);
	if (received != NULL)
		receipt = json_pack("{s:[{s:s},{s:s},{s:s}]}", "headers", "Message-ID", r->mid,
				    "JWT-Assertion-Digest", jad, "Received", received);
	if (receipt != NULL && (rc = fz_delivery_copy(r->doc, domain, owner, &doc, err)) != FZ_OK) {
		json_decref(receipt);
		return rc;
	}
	/* insert_new takes the receipt whatever it answers */
	if (doc == NULL || json_array_insert_new(json_object_get(doc, "envelope"), 0, receipt)) {
		if (doc == NULL)
			json_decref(receipt);
		json_decref(doc);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	rc = fz_placeholder_to_json(doc, false, &text, &n, err);
	json_decref(doc);
	if (rc == FZ_OK && (*out = fz_arena_strndup(r->req->arena, text, n)) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	free(text);
	return rc;
}

/* One document per local recipient: the same but for the Bcc. */
static fz_code documents(rcv *r, const char *const *owners, size_t n,
			 const char ***out, fz_err *err)
{
	const char **docs = fz_arena_calloc(r->req->arena, n + 1, sizeof(*docs));
	size_t i;
	fz_code rc = FZ_OK;

	if (docs == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	for (i = 0; i < n && rc == FZ_OK; i++)
		rc = copy_for(r, strrchr(owners[i], '@') + 1, owners[i], &docs[i], err);
	*out = docs;
	return rc;
}

/* Each referenced digest once, inline when any part naming it is. */
static fz_code parts(rcv *r, fz_mbx_part **out, size_t *n, fz_err *err)
{
	fz_leaf *leaves = NULL;
	fz_mbx_part *v;
	size_t i, j, nl = 0;
	fz_code rc = fz_placeholder_leaves(r->doc, &leaves, &nl, err);

	*n = 0;
	if (rc != FZ_OK)
		return rc;
	v = fz_arena_calloc(r->req->arena, nl + 1, sizeof(*v));
	for (i = 0; i < nl && v != NULL && rc == FZ_OK; i++) {
		for (j = 0; j < *n && strcmp(v[j].digest, leaves[i].cid.s) != 0; j++)
			;
		if (j == *n) {
			v[j].digest = fz_arena_strdup(r->req->arena, leaves[i].cid.s);
			v[j].type = fz_arena_strdup(r->req->arena, leaves[i].content_type);
			v[j].size = leaves[i].size;
			if (v[j].digest == NULL || v[j].type == NULL)
				rc = fz_fail(err, FZ_ENOMEM, "out of memory");
			else
				rc = fz_blob_exists(r->m->blobs, v[j].digest, &v[j].present, err);
			(*n)++;
		}
		v[j].inline_part |= leaves[i].disposition == FZ_DISP_INLINE;
	}
	fz_leaves_free(leaves, nl);
	if (v == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	*out = v;
	return rc;
}

/* SPEC §9: the domain each owner's enabled forwarding rule sends to
 * (NULL: none), for fz_mbx_deliver to queue with the copy; *gone counts
 * the owners who forward without keeping a copy. A rule that cannot be
 * read forwards nothing: the mail itself must not wait for it. */
static fz_code forward_rules(rcv *r, const char *const *owners, size_t n,
			     const char ***out, size_t *gone, fz_err *err)
{
	const char **v = fz_arena_calloc(r->req->arena, n + 1, sizeof(*v));
	size_t i;

	*gone = 0;
	if (v == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		bool keep = true;
		fz_err e = {0};

		if (fz_mbx_forward_rule(r->m, r->req->arena, owners[i], &v[i], &keep, &e) != FZ_OK) {
			if (e.code == FZ_ENOMEM)
				return fz_fail(err, FZ_ENOMEM, "out of memory");
			fprintf(stderr, "federizer mbx: forwarding rule of %s unread: %s\n",
				owners[i], e.msg);
			v[i] = NULL;
			continue;
		}
		*gone += v[i] != NULL && !keep ? 1 : 0;
	}
	*out = v;
	return FZ_OK;
}

#define FETCH_NOT_NEEDED "not needed: every local copy is forwarded without a copy kept"

/* How the fetches this delivery queues are settled, in its own
 * transaction: once committed a worker may lease one (poll_interval),
 * and a leased entry is no longer put off or cancelled. SPEC §7.7: the
 * sender pushes the parts up to its push size right after this answer;
 * their fetches wait queue.push_wait (our own push_max_bytes stands for
 * the peer's), so the pull does not race the push; only the origin
 * pushes, a forwarding MBX has no bytes (mta_forward.c). SPEC §9:
 * forwarded without a copy, the resources are the next domain's to
 * fetch, not ours. True when every fetch of the delivery is put off. */
static bool settle_fetches(const rcv *r, fz_mbx_delivery *d, size_t gone)
{
	const fz_mbx_queue_config *q = &r->m->cfg->queue;
	bool all = true;
	size_t i;

	if (gone == d->nowners)
		d->fetch_not_needed = FETCH_NOT_NEEDED;
	if (r->chain.n != 1 || q->push_max_bytes == 0 || q->push_wait == 0)
		return false;
	d->push_until = d->now + (int64_t)q->push_wait;
	d->push_max_bytes = q->push_max_bytes;
	for (i = 0; i < d->nparts; i++)
		all &= d->parts[i].size <= q->push_max_bytes;
	return all;
}

static fz_code deliver(rcv *r, fz_err *err)
{
	fz_mbx_delivery d = {.message_id = r->mid, .peer = r->chain.msgid_domain,
			     .now = fz_mbx_now()};
	const json_t *tid = fz_headers_find(fz_placeholder_origin(r->doc), "X-Thread-ID");
	const char **owners = NULL, **docs = NULL;
	fz_mbx_delivered out;
	fz_mbx_part *pv = NULL;
	const char **fwd = NULL;
	size_t i, gone = 0;
	bool put_off = false;
	fz_code rc = local_recipients(r, &owners, &d.nowners, err);

	if (rc == FZ_OK)
		rc = documents(r, owners, d.nowners, &docs, err);
	if (rc == FZ_OK)
		rc = parts(r, &pv, &d.nparts, err);
	if (rc == FZ_OK)
		rc = forward_rules(r, owners, d.nowners, &fwd, &gone, err);
	if (rc != FZ_OK)
		return rc;
	d.owners = owners;
	d.documents = docs;
	d.parts = pv;
	d.forwards = fwd;
	d.thread_id = json_string_value(tid);
	put_off = settle_fetches(r, &d, gone);
	rc = fz_mbx_deliver(r->m->store, r->req->arena, &d, &out, err);
	if (rc != FZ_OK)
		return rc;
	for (i = 0; i < out.nvisible; i++)
		fz_mbx_notify_changed(r->m->notify, out.visible[i]);
	if (out.forwards > 0)
		fprintf(stderr, "federizer mbx: %zu forward%s of %.200s queued\n", out.forwards,
			out.forwards == 1 ? "" : "s", r->mid);
	/* Fetches put off are not due: a wake-up would find nothing to do. */
	if ((out.fetches > 0 && !put_off) || out.forwards > 0)
		fz_mbx_queued(r->m);
	fprintf(stderr, "federizer mbx: received %.200s from %s: %zu cop%s, %zu fetch%s queued\n",
		r->mid, r->sender, out.added, out.added == 1 ? "y" : "ies", out.fetches,
		out.fetches == 1 ? "" : "es");
	fz_http_req_set_log_id(r->req, r->mid);
	if (out.added == 0)
		return fz_http_respond_json(r->req, 200,
					    json_pack("{s:s,s:s}", "message_id", r->mid,
						      "status", "already delivered"), err);
	return fz_http_respond_json(r->req, 201,
				    json_pack("{s:s,s:s,s:I,s:I}", "message_id", r->mid,
					      "status", "delivered", "copies", (json_int_t)out.added,
					      "fetches", (json_int_t)out.fetches), err);
}

static fz_code h_receive(fz_http_req *req, void *ctx, fz_err *err)
{
	rcv r = {.m = ctx, .req = req};
	fz_err e = {0};
	fz_code rc;

	if ((rc = load(&r, &e)) ||
	    (rc = fz_mta_dpop(r.m, req, &r.auth, &e)) ||
	    (rc = check_newest(&r, &e)) ||
	    (rc = verify_assertion(&r, &e)) ||
	    (rc = check_eht(&r, &e)) ||
	    (rc = check_chain(&r, &e)) ||
	    (rc = check_azp(&r, &e)) ||
	    (rc = deliver(&r, &e)))
		rc = fz_mta_fail(req, "receive", r.mid, &e);
	fz_chain_free(&r.shape);
	fz_chain_free(&r.chain);
	fz_addr_list_free(&r.rcpts);
	(void)err;
	return rc;
}

fz_code fz_mbx_receive_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	fz_code rc = fz_http_server_add(srv, "POST", "/mta/v1/messages", h_receive, m, err);

	if (rc == FZ_OK)
		rc = fz_mta_push_route(srv, m, err);
	return rc;
}
