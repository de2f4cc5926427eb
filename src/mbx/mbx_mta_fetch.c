/*
 * mbx_mta_fetch.c - serving a resource of a message sent from here to a
 * recipient domain's MTA (SPEC §8.3): POST /mta/v1/resources/{digest}
 * with body {"envelope": [...the whole chain...]}, Authorization: DPoP
 * <access token from the fetcher's own AS> and a proof with ath.
 *
 * The token says which message (message_id) but not which domain asks:
 * that is found by DNS. The candidates are the message's recipient
 * domains (and the presented Forwarded-To's); the one whose AS is the
 * token's issuer is the requesting domain, and its MBX must name the
 * token's azp as its MTA. Then the chain decides (chain.h): the origin
 * part must be what we stored, every forward hop must discharge, and the
 * domain must be a recipient or a discharged Forwarded-To. POST keeps
 * caches out; Range resumes a broken fetch; Repr-Digest lets the fetcher
 * check the bytes.
 */
#include "mbx_mta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jwt.h"

typedef struct fetch {
	fz_mbx *m;
	fz_http_req *req;
	const char *digest;
	const char *mid;           /* the token's message_id (for logs first) */
	fz_mta_auth auth;
	fz_mbx_msg msg;            /* our origin copy */
	bool recalled;
	json_t *stored;            /* its document */
	const json_t *envelope;    /* the presented chain */
	char domain[FZ_DOMAIN_MAX + 1]; /* the requesting domain */
	const char *type;          /* the resource's media type */
} fetch;

static fz_code denied(fz_err *err, const char *msg)
{
	return fz_fail_http(err, FZ_EDENIED, 403, "access_denied", "%s", msg);
}

static fz_code read_request(fetch *f, fz_err *err)
{
	fz_err why = {0};
	json_t *body = NULL;

	if (fz_blob_check_name(f->digest, &why) != FZ_OK)
		return fz_fail_http(err, FZ_ESYNTAX, 400, "invalid_request", "%s", why.msg);
	if (fz_http_req_json(f->req, &body, &why) != FZ_OK)
		return fz_fail_http(err, why.code, why.status ? why.status : 400,
				    "invalid_request", "the body: %s", why.msg);
	f->envelope = json_object_get(body, "envelope");
	if (!json_is_array(f->envelope) || json_object_size(body) != 1)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request",
				    "the body must be {\"envelope\": [...the whole chain...]}");
	return FZ_OK;
}

/* The token's message, as sent from here. */
static fz_code load_message(fetch *f, fz_err *err)
{
	fz_err why = {0};

	f->mid = fz_mta_peek(f->m, f->req->arena, f->auth.token, "message_id");
	if (f->mid == NULL)
		return fz_fail_http(err, FZ_ECLAIM, 401, "invalid_token", "the token has no message_id");
	if (fz_mbx_outbox_find(f->m->store, f->req->arena, f->mid, &f->msg, &f->recalled,
			       &why) != FZ_OK)
		return why.code == FZ_ENOTFOUND
			       ? fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found",
					      "no message with this message_id was sent from here")
			       : fz_fail(err, why.code, "%s", why.msg);
	if (fz_placeholder_from_json(f->msg.document, strlen(f->msg.document), NULL,
				     &f->stored, &why) != FZ_OK)
		return fz_fail(err, FZ_EINTERNAL, "stored message %s: %s", f->msg.id, why.msg);
	if (fz_arena_own_json(f->req->arena, f->stored) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

/* The candidate whose AS issued the token; a peer we could not reach
 * is 503 only when no other candidate matched. */
static fz_code find_domain(fetch *f, const char *iss, fz_err *err)
{
	char **v = NULL;
	size_t i, n = 0;
	bool unreachable = false;
	fz_err why = {0};
	fz_code rc = fz_chain_candidate_domains(f->stored, f->envelope, &f->m->cfg->document,
						&v, &n, err);

	for (i = 0; i < n && rc == FZ_OK && f->domain[0] == '\0'; i++) {
		if (fz_mbx_config_has_domain(f->m->cfg, v[i], strlen(v[i])))
			continue;
		fz_err_clear(&why);
		if (fz_discovery_check_issuer(f->m->disc, v[i], iss, &why) == FZ_OK)
			snprintf(f->domain, sizeof(f->domain), "%s", v[i]);
		else if (why.code == FZ_EIO)
			unreachable = true;
	}
	fz_chain_domains_free(v, n);
	if (rc != FZ_OK || f->domain[0] != '\0')
		return rc;
	if (unreachable)
		return fz_fail_http(err, FZ_EIO, 503, "temporarily_unavailable",
				    "a recipient domain's AS cannot be reached");
	return denied(err, "the token's issuer is the AS of no recipient domain of this message");
}

/* The access token: from the requesting domain's AS, for us, bound to
 * the proof's key (checked already), issued to that domain's MTA. */
static fz_code check_token(fetch *f, fz_err *err)
{
	static const char *const required[] = {"azp", "message_id", "scope", NULL};
	const char *iss = fz_mta_peek(f->m, f->req->arena, f->auth.token, "iss");
	const json_t *c;
	const char *azp;
	fz_jws *jws = NULL;
	fz_jwt_expect x;
	fz_err why = {0};
	fz_code rc;

	if (iss == NULL)
		return fz_fail_http(err, FZ_ECLAIM, 401, "invalid_token", "the token has no iss");
	if ((rc = find_domain(f, iss, err)) ||
	    (rc = fz_mta_verify_foreign(f->m, f->req->arena, f->domain, f->auth.token, &jws, err)))
		return rc;
	fz_jwt_expect_defaults(&x);
	x.typ = FZ_TYP_AT_JWT;
	x.iss = iss;
	x.aud = f->m->cfg->base_url;
	x.leeway = f->m->cfg->jose.leeway;
	x.required = required;
	rc = fz_jwt_check(jws, &x, fz_mbx_now(), &why);
	c = fz_jws_payload(jws);
	azp = fz_jwt_str(c, "azp");
	if (rc != FZ_OK)
		rc = fz_fail_http(err, rc, 401, "invalid_token", "%s", why.msg);
	else if (strcmp(fz_jwt_str(c, "message_id"), f->mid) != 0)
		rc = fz_fail_http(err, FZ_ECLAIM, 401, "invalid_token", "message_id changed");
	else if (fz_jwt_str(c, "client_id") != NULL && strcmp(fz_jwt_str(c, "client_id"), azp) != 0)
		rc = fz_fail_http(err, FZ_ECLAIM, 401, "invalid_token", "client_id is not azp");
	else if (fz_discovery_check_azp(f->m->disc, f->domain, azp, &why) != FZ_OK)
		rc = why.code == FZ_EIO
			     ? fz_fail_http(err, FZ_EIO, 503, "temporarily_unavailable",
					    "the MBX of %s: %s", f->domain, why.msg)
			     : fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
					    "azp is not the federizer_mta_client_id of %s's MBX",
					    f->domain);
	fz_jws_free(jws);
	return rc;
}

static fz_code check_acl(fetch *f, fz_err *err)
{
	fz_mta_verifier v = {f->m, f->req->arena, NULL, NULL};
	fz_fetch_request r = {.stored = f->stored, .envelope = f->envelope,
			      .domain = f->domain, .digest = f->digest,
			      .lim = &f->m->cfg->document};
	fz_code rc = fz_chain_fetch_allowed(&r, fz_mta_verify_assertion, &v, err);

	if (rc == FZ_OK && f->recalled)
		rc = fz_fail_http(err, FZ_EDENIED, 410, "recalled",
				  "the sender recalled this message");
	return rc;
}

/* The media type the sender gave the part. */
static fz_code part_type(fetch *f, fz_err *err)
{
	fz_leaf *leaves = NULL;
	size_t i, n = 0;
	fz_code rc = fz_placeholder_leaves(f->stored, &leaves, &n, err);

	f->type = "application/octet-stream";
	for (i = 0; i < n && rc == FZ_OK; i++)
		if (strcmp(leaves[i].cid.s, f->digest) == 0 && leaves[i].content_type != NULL) {
			f->type = fz_arena_strdup(f->req->arena, leaves[i].content_type);
			break;
		}
	fz_leaves_free(leaves, n);
	if (rc == FZ_OK && f->type == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	return rc;
}

static fz_code serve(fetch *f, fz_err *err)
{
	char rd[FZ_DIGEST_LEN + 16];
	uint64_t size = 0;
	int fd = -1;
	fz_err why = {0};
	const char *range;
	fz_code rc = part_type(f, err);

	if (rc == FZ_OK && fz_blob_open(f->m->blobs, f->digest, &fd, &size, &why) != FZ_OK)
		rc = why.code == FZ_ENOTFOUND
			     ? fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found",
					    "the resource is not here")
			     : fz_fail(err, why.code, "%s", why.msg);
	if (rc != FZ_OK)
		return rc;
	fz_mta_repr_digest(f->digest, rd, sizeof(rd));
	/* Logged before the bytes go: the fetcher was allowed, that is the
	 * receipt (SPEC §10); a broken transfer is retried with Range. */
	if ((rc = fz_http_add_header(f->req, "Repr-Digest", rd, err)) ||
	    (rc = fz_http_add_header(f->req, "Cache-Control", "no-store", err)) ||
	    (rc = fz_mbx_fetch_log_add(f->m->store, f->msg.id, f->domain, f->digest,
				       fz_mbx_now(), err))) {
		close(fd);
		return rc;
	}
	range = fz_http_req_header(f->req, "Range");
	/* the Range shows a fetch resumed after a break */
	fprintf(stderr, "federizer mbx: serving %.200s %.43s to %s%s%.40s%s\n", f->mid, f->digest,
		f->domain, range ? " (" : "", range ? range : "", range ? ")" : "");
	fz_http_req_set_log_id(f->req, f->mid);
	return fz_http_respond_file(f->req, f->type, fd, size, err);
}

static fz_code h_fetch(fz_http_req *req, void *ctx, fz_err *err)
{
	fetch f = {.m = ctx, .req = req, .digest = fz_http_req_param(req, "digest")};
	fz_err e = {0};
	fz_code rc;

	if ((rc = read_request(&f, &e)) ||
	    (rc = fz_mta_dpop(f.m, req, &f.auth, &e)) ||
	    (rc = load_message(&f, &e)) ||
	    (rc = check_token(&f, &e)) ||
	    (rc = check_acl(&f, &e)) ||
	    (rc = serve(&f, &e)))
		rc = fz_mta_fail(req, "fetch", f.mid, &e);
	(void)err;
	return rc;
}

fz_code fz_mbx_fetch_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	return fz_http_server_add(srv, "POST", "/mta/v1/resources/{digest}", h_fetch, m, err);
}
