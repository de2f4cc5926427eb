/*
 * response.c - the ways a handler answers, and the one place a response is
 * queued. A handler builds at most one MHD response; headers it adds are
 * kept aside and put on whichever response goes out, so it may add them
 * before or after choosing the body.
 */
#include "http_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "range.h"

static bool valid_status(unsigned status)
{
	return status >= 100 && status <= 599;
}

/* Takes resp on every path: it is destroyed when it cannot be kept. */
static fz_code keep(fz_http_exchange *x, unsigned status,
		    struct MHD_Response *resp, uint64_t bytes, fz_err *err)
{
	if (resp == NULL)
		return fz_fail(err, FZ_ENOMEM, "cannot create a response");
	if (x->resp != NULL || x->phase == FZ_PHASE_DONE) {
		MHD_destroy_response(resp);
		return fz_fail(err, FZ_EINTERNAL, "a second response to one request");
	}
	if (!valid_status(status)) {
		MHD_destroy_response(resp);
		return fz_fail(err, FZ_EINTERNAL, "status %u is not an HTTP status",
			       status);
	}
	x->resp = resp;
	x->status = status;
	x->resp_bytes = bytes;
	return FZ_OK;
}

static fz_code typed(struct MHD_Response *resp, const char *content_type,
		     fz_err *err)
{
	if (content_type == NULL ||
	    MHD_add_response_header(resp, "Content-Type", content_type) == MHD_YES)
		return FZ_OK;
	MHD_destroy_response(resp);
	return fz_fail(err, FZ_EINTERNAL, "bad Content-Type %s", content_type);
}

fz_code fz_http_respond_json(fz_http_req *req, unsigned status, json_t *body,
			     fz_err *err)
{
	fz_http_exchange *x = fz_exchange_of(req);
	struct MHD_Response *resp;
	char *text;
	size_t n;
	fz_code rc;

	/* NULL is what a json_pack with a NULL string or no memory gave. */
	if (body == NULL)
		return fz_fail(err, FZ_EINTERNAL, "no JSON value to send");
	text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(body);
	if (text == NULL)
		return fz_fail(err, FZ_ENOMEM, "cannot serialize JSON");
	n = strlen(text);
	resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return fz_fail(err, FZ_ENOMEM, "cannot create a response");
	}
	rc = typed(resp, "application/json", err);
	if (rc == FZ_OK)
		rc = keep(x, status, resp, n, err);
	if (rc == FZ_OK)
		x->json = true;
	return rc;
}

fz_code fz_http_respond_bytes(fz_http_req *req, unsigned status,
			      const char *content_type, const void *data,
			      size_t n, fz_err *err)
{
	struct MHD_Response *resp;
	fz_code rc;

	resp = MHD_create_response_from_buffer(n, (void *)(n ? data : ""),
					       MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return fz_fail(err, FZ_ENOMEM, "cannot create a response");
	rc = typed(resp, content_type, err);
	if (rc != FZ_OK)
		return rc;
	return keep(fz_exchange_of(req), status, resp, n, err);
}

fz_code fz_http_respond_empty(fz_http_req *req, unsigned status, fz_err *err)
{
	return fz_http_respond_bytes(req, status, NULL, NULL, 0, err);
}

fz_code fz_http_respond_fd(fz_http_req *req, unsigned status,
			   const char *content_type, int fd, uint64_t offset,
			   uint64_t length, fz_err *err)
{
	struct MHD_Response *resp;
	fz_code rc;

	/* MHD keeps offsets in off_t: the sum must fit in a signed 64 bits. */
	if (offset > INT64_MAX || length > INT64_MAX - offset) {
		close(fd);
		return fz_fail(err, FZ_EINTERNAL, "file range out of bounds");
	}
	resp = MHD_create_response_from_fd_at_offset64(length, fd, offset);
	if (resp == NULL) {
		close(fd);
		return fz_fail(err, FZ_ENOMEM, "cannot create a file response");
	}
	rc = typed(resp, content_type, err);
	if (rc != FZ_OK)
		return rc;
	return keep(fz_exchange_of(req), status, resp, length, err);
}

/* 416 for unsatisfiable or multiple ranges carries the size, so a client
 * can ask again; 400 for a malformed header. */
static fz_code range_refused(fz_http_req *req, const fz_err *rerr,
			     uint64_t size, fz_err *err)
{
	char cr[FZ_CONTENT_RANGE_MAX];
	fz_code rc;

	if (rerr->status == 416) {
		fz_range_unsatisfied_format(size, cr);
		rc = fz_http_add_header(req, "Content-Range", cr, err);
		if (rc != FZ_OK)
			return rc;
	}
	return fz_http_respond_error(req, rerr, NULL);
}

fz_code fz_http_respond_file(fz_http_req *req, const char *content_type,
			     int fd, uint64_t size, fz_err *err)
{
	const char *h = fz_http_req_header(req, "Range");
	char cr[FZ_CONTENT_RANGE_MAX];
	fz_range r = {0, 0};
	fz_err rerr = {0};
	unsigned status = 200;
	uint64_t offset = 0, length = size;
	fz_code rc;

	if (h != NULL) {
		if (fz_range_parse(h, strlen(h), size, &r, &rerr) != FZ_OK) {
			close(fd);
			return range_refused(req, &rerr, size, err);
		}
		fz_range_format(&r, size, cr);
		rc = fz_http_add_header(req, "Content-Range", cr, err);
		if (rc != FZ_OK) {
			close(fd);
			return rc;
		}
		status = 206;
		offset = r.first;
		length = fz_range_length(&r);
	}
	rc = fz_http_respond_fd(req, status, content_type, fd, offset, length, err);
	if (rc == FZ_OK)
		rc = fz_http_add_header(req, "Accept-Ranges", "bytes", err);
	return rc;
}

fz_code fz_http_respond_redirect(fz_http_req *req, unsigned status,
				 const char *location, fz_err *err)
{
	fz_code rc;

	if (status != 301 && status != 302 && status != 303 && status != 307 &&
	    status != 308)
		return fz_fail(err, FZ_EINTERNAL, "%u is not a redirect status", status);
	rc = fz_http_respond_empty(req, status, err);
	if (rc == FZ_OK)
		rc = fz_http_add_header(req, "Location", location, err);
	return rc;
}

/* RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E; the
 * message may quote client input, so anything else becomes '?'. */
static void describe(const char *msg, char *out, size_t size)
{
	size_t i;

	for (i = 0; i + 1 < size && msg[i] != '\0'; i++) {
		unsigned char c = (unsigned char)msg[i];

		out[i] = (c < 0x20 || c > 0x7e || c == '"' || c == '\\') ? '?' : (char)c;
	}
	out[i] = '\0';
}

fz_code fz_http_respond_error(fz_http_req *req, const fz_err *e,
			      const char *www_authenticate)
{
	static char fallback[] = "{\"error\":\"temporarily_unavailable\"}";
	fz_http_exchange *x = fz_exchange_of(req);
	unsigned status = valid_status((unsigned)e->status) ? (unsigned)e->status : 500;
	const char *code = e->oauth;
	char desc[FZ_ERR_MSG_MAX];
	struct MHD_Response *resp;
	fz_code rc;

	if (code == NULL)
		code = status >= 500 ? "server_error" : "invalid_request";
	/* A 5xx message names our internals: the log gets it, the client not.
	 * 507 is the exception: "over quota" is what the user must read. */
	if (status >= 500 && status != 507)
		snprintf(desc, sizeof(desc), "internal error");
	else
		describe(e->msg, desc, sizeof(desc));
	snprintf(x->log_err, sizeof(x->log_err), "%s", e->msg);
	rc = fz_http_respond_json(req, status,
				  json_pack("{s:s,s:s}", "error", code,
					    "error_description", desc), NULL);
	if (rc != FZ_OK && x->resp == NULL) {
		resp = MHD_create_response_from_buffer(sizeof(fallback) - 1, fallback,
						       MHD_RESPMEM_PERSISTENT);
		rc = keep(x, 503, resp, sizeof(fallback) - 1, NULL);
		x->json = rc == FZ_OK;
	}
	if (rc == FZ_OK && www_authenticate != NULL)
		rc = fz_http_add_header(req, "WWW-Authenticate", www_authenticate, NULL);
	return rc;
}

static bool valid_header(const char *name, const char *value)
{
	const char *p;

	if (name == NULL || value == NULL || *name == '\0')
		return false;
	for (p = name; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == ':')
			return false;
	for (p = value; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n')
			return false;
	return true;
}

fz_code fz_http_add_header(fz_http_req *req, const char *name,
			   const char *value, fz_err *err)
{
	fz_http_exchange *x = fz_exchange_of(req);
	fz_http_hdr *h;

	if (!valid_header(name, value))
		return fz_fail(err, FZ_EINTERNAL, "bad response header %s",
			       name ? name : "(null)");
	h = fz_arena_alloc(req->arena, sizeof(*h));
	if (h == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory for a header");
	h->name = fz_arena_strdup(req->arena, name);
	h->value = fz_arena_strdup(req->arena, value);
	if (h->name == NULL || h->value == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory for a header");
	h->next = x->headers;
	x->headers = h;
	return FZ_OK;
}

/* Headers go out in the order they were added; the list is newest first.
 * An error answer drops the handler's Cache-Control: a handler sets it for
 * the content it meant to serve, and a 416 or a 404 must not be kept for a
 * year in its place. */
static void add_headers(fz_http_exchange *x, const fz_http_hdr *h,
			bool *cache_control)
{
	if (h == NULL)
		return;
	add_headers(x, h->next, cache_control);
	if (strcasecmp(h->name, "Cache-Control") == 0) {
		if (x->status >= 400)
			return;
		*cache_control = true;
	}
	if (MHD_add_response_header(x->resp, h->name, h->value) != MHD_YES)
		snprintf(x->log_err, sizeof(x->log_err),
			 "response header %s refused by MHD", h->name);
}

enum MHD_Result fz_http_queue(fz_http_exchange *x)
{
	bool cache_control = false;
	enum MHD_Result ret;
	fz_err err = {0};

	if (x->resp == NULL) {
		if (x->log_err[0] == '\0')
			fz_fail(&err, FZ_EINTERNAL, "handler sent no response");
		else
			fz_fail(&err, FZ_EINTERNAL, "%s", x->log_err);
		if (fz_http_respond_error(&x->req, &err, NULL) != FZ_OK && x->resp == NULL)
			return MHD_NO;
	}
	add_headers(x, x->headers, &cache_control);
	/* Tokens and mail are private: JSON is never cached unless said. */
	if ((x->json || x->status >= 400) && !cache_control)
		MHD_add_response_header(x->resp, "Cache-Control", "no-store");
	MHD_add_response_header(x->resp, "X-Content-Type-Options", "nosniff");
	ret = MHD_queue_response(x->conn, x->status, x->resp);
	MHD_destroy_response(x->resp);
	x->resp = NULL;
	x->phase = FZ_PHASE_DONE;
	if (x->req.method != NULL && strcmp(x->req.method, "HEAD") == 0)
		x->resp_bytes = 0; /* MHD sends the headers only */
	return ret;
}
