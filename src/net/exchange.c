/*
 * exchange.c - the life of one request: URI seen -> headers routed -> body
 * read (buffered or streamed) -> handler -> response queued -> completed,
 * and the access log line written at the end.
 *
 * MHD calls the access handler several times per request: once when the
 * headers are in, once per piece of body, once more at the end. The
 * exchange's phase says which call this is. The exchange is created by the
 * URI log callback, the first thing MHD does with a request, and freed by
 * the completion callback, the last, so every path through MHD frees it.
 *
 * A handler may suspend its request (a long poll): the connection leaves
 * MHD's event loop, holding no worker thread, until fz_http_req_resume;
 * then MHD calls the access handler again and the handler runs again.
 */
#include "http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* The first body buffer; it doubles from there up to max_body_bytes. */
#define BODY_FIRST_CAP (16 * 1024)

/* Copies s into out for the log: printable ASCII, no quotes, bounded;
 * spaces only where a field is quoted, so fields stay split by spaces. */
static void log_clean(const char *s, size_t n, bool spaces, char *out,
		      size_t size)
{
	size_t i;

	for (i = 0; i < n && i + 1 < size && s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		out[i] = (c < 0x20 || c >= 0x7f || c == '"' || (c == ' ' && !spaces))
				 ? '?' : (char)c;
	}
	out[i] = '\0';
}

static const char *toe_name(enum MHD_RequestTerminationCode toe)
{
	switch (toe) {
	case MHD_REQUEST_TERMINATED_COMPLETED_OK:
		return NULL;
	case MHD_REQUEST_TERMINATED_WITH_ERROR:
		return "error";
	case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
		return "timeout";
	case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
		return "shutdown";
	case MHD_REQUEST_TERMINATED_READ_ERROR:
		return "read_error";
	case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
		return "client_abort";
	}
	return "unknown";
}

/* time client method path status bytes duration [mid=] [err=] [end=] */
static void access_log(fz_http_exchange *x, enum MHD_RequestTerminationCode toe)
{
	char line[1024], when[32], path[256], mid[128] = "", errs[FZ_ERR_MSG_MAX];
	const char *end = toe_name(toe), *uri = x->uri ? x->uri : "";
	struct timespec now, wall;
	struct tm tm;
	long long ms;
	int n;

	if (x->srv->cfg.log_fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - x->start.tv_sec) * 1000LL +
	     (now.tv_nsec - x->start.tv_nsec) / 1000000;
	clock_gettime(CLOCK_REALTIME, &wall);
	gmtime_r(&wall.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* The query is left out on purpose: it can carry codes and tokens. */
	log_clean(uri, strcspn(uri, "?"), false, path, sizeof(path));
	if (x->log_id != NULL)
		log_clean(x->log_id, strlen(x->log_id), false, mid, sizeof(mid));
	log_clean(x->log_err, sizeof(x->log_err), true, errs, sizeof(errs));
	n = snprintf(line, sizeof(line) - 1,
		     "%s %s %s %s %u %" PRIu64 " %lldms%s%s%s%s%s%s%s\n", when,
		     x->req.client ? x->req.client : "-",
		     x->req.method ? x->req.method : "-", path[0] ? path : "-",
		     x->status, x->resp_bytes, ms, mid[0] ? " mid=" : "", mid,
		     errs[0] ? " err=\"" : "", errs, errs[0] ? "\"" : "",
		     end ? " end=" : "", end ? end : "");
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	fz_http_log_write(x->srv->cfg.log_fd, line, (size_t)n);
}

static void client_text(struct MHD_Connection *conn, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	snprintf(out, size, "-");
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
			  out, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
			  &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
			  out, (socklen_t)size);
}

void *fz_http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	fz_http_server *s = cls;
	fz_http_exchange *x;
	char client[INET6_ADDRSTRLEN];
	fz_arena *a;

	a = fz_arena_new(0, s->cfg.arena_limit);
	if (a == NULL)
		return NULL;
	x = fz_arena_calloc(a, 1, sizeof(*x));
	if (x == NULL) {
		fz_arena_free(a);
		return NULL;
	}
	clock_gettime(CLOCK_MONOTONIC, &x->start);
	client_text(conn, client, sizeof(client));
	x->req.arena = a;
	x->req.client = fz_arena_strdup(a, client);
	x->srv = s;
	x->conn = conn;
	x->uri = fz_arena_strdup(a, uri);
	x->phase = FZ_PHASE_NEW;
	return x;
}

/* Called with srv->susp_lock held. */
static void unlink_suspended(fz_http_exchange *x)
{
	if (x->susp_prev != NULL)
		x->susp_prev->susp_next = x->susp_next;
	else
		x->srv->suspended = x->susp_next;
	if (x->susp_next != NULL)
		x->susp_next->susp_prev = x->susp_prev;
	x->susp_prev = x->susp_next = NULL;
	x->suspended = false;
}

void fz_http_on_completed(void *cls, struct MHD_Connection *conn,
			  void **req_cls, enum MHD_RequestTerminationCode toe)
{
	fz_http_exchange *x = *req_cls;

	(void)cls;
	(void)conn;
	if (x == NULL)
		return;
	*req_cls = NULL;
	/* From here a resume must not touch the connection: MHD is done
	 * with it. (Shutdown resumed every suspended one first; the unlink
	 * is for safety.) */
	pthread_mutex_lock(&x->srv->susp_lock);
	x->dead = true;
	if (x->suspended)
		unlink_suspended(x);
	pthread_mutex_unlock(&x->srv->susp_lock);
	access_log(x, toe);
	if (x->resp != NULL)
		MHD_destroy_response(x->resp);
	fz_arena_free(x->req.arena);
}

/* True when a body is on its way that the client did not hold back for
 * "100 Continue", and that is small enough to read and drop. Answering
 * before reading it would close the connection over unread bytes: the
 * kernel then resets it and the client loses the answer. A larger one is
 * refused at once, connection and all (max_discard_bytes). */
static bool body_coming_unasked(fz_http_exchange *x)
{
	const char *expect = MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_EXPECT);
	const char *cl = MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	const char *te = MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_TRANSFER_ENCODING);
	unsigned long long n;
	char *end;

	if (expect != NULL && strcasecmp(expect, "100-continue") == 0)
		return false;
	if (cl == NULL)
		return te != NULL; /* chunked: dropped up to max_discard_bytes */
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno != 0 || end == cl || *end != '\0')
		return false;
	return n > 0 && n <= x->srv->cfg.max_discard_bytes;
}

/* Answers with the response the handler built, else with err: now when no
 * body has been read, else once the rest of the body has been dropped,
 * since MHD refuses a response while a body is still coming. */
static enum MHD_Result fail(fz_http_exchange *x, const fz_err *err)
{
	if (x->resp == NULL)
		fz_http_respond_error(&x->req, err, NULL);
	if (x->phase == FZ_PHASE_NEW && body_coming_unasked(x))
		x->phase = FZ_PHASE_BODY;
	if (x->phase != FZ_PHASE_BODY)
		return fz_http_queue(x);
	x->phase = FZ_PHASE_DRAIN;
	return MHD_YES;
}

static enum MHD_Result drain(fz_http_exchange *x, size_t n)
{
	if (n == 0)
		return fz_http_queue(x);
	x->discarded += n;
	if (x->discarded > x->srv->cfg.max_discard_bytes) {
		snprintf(x->log_err, sizeof(x->log_err),
			 "closed after dropping %" PRIu64 " bytes of body", x->discarded);
		return MHD_NO;
	}
	return MHD_YES;
}

static uint64_t body_limit(const fz_http_exchange *x)
{
	if (x->route->def.flags & FZ_ROUTE_STREAM)
		return x->srv->cfg.max_stream_bytes;
	return x->srv->cfg.max_body_bytes;
}

static enum MHD_Result too_large(fz_http_exchange *x)
{
	fz_err err = {0};

	fz_fail(&err, FZ_ELIMIT, "body exceeds the limit of %" PRIu64 " bytes",
		body_limit(x));
	return fail(x, &err);
}

/* A declared Content-Length over the limit is refused before a byte of
 * the body is read (and before "100 Continue"). MHD has already refused
 * a malformed one. */
static bool declared_too_large(fz_http_exchange *x)
{
	const char *cl = MHD_lookup_connection_value(x->conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t n;
	char *end;

	if (cl == NULL)
		return false;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno != 0 || end == cl)
		return true;
	return n > body_limit(x);
}

/* Spends one of the client address's tokens; an address over its rate
 * is answered 429 before any routing or body work is done for it. */
static bool rate_allowed(fz_http_exchange *x, fz_err *err)
{
	fz_http_server *s = x->srv;
	char secs[16];
	uint32_t retry = 1;
	uint64_t now_ms = (uint64_t)x->start.tv_sec * 1000u +
			  (uint64_t)x->start.tv_nsec / 1000000u;
	bool ok;

	pthread_mutex_lock(&s->rate_lock);
	ok = fz_ratelimit_take(s->rate, x->req.client, now_ms, &retry);
	pthread_mutex_unlock(&s->rate_lock);
	if (ok)
		return true;
	snprintf(secs, sizeof(secs), "%u", retry);
	fz_http_add_header(&x->req, "Retry-After", secs, NULL);
	fz_fail_http(err, FZ_ELIMIT, 429, "slow_down",
		     "more than %u requests a second from %s", s->cfg.rate_per_ip,
		     x->req.client);
	return false;
}

static enum MHD_Result route_request(fz_http_exchange *x, const char *method)
{
	fz_http_req *req = &x->req;
	const char *q;
	char *path;
	fz_err err = {0};
	fz_code rc;

	req->method = fz_arena_strdup(req->arena, method);
	q = strchr(x->uri, '?');
	path = fz_arena_strndup(req->arena, x->uri, q ? (size_t)(q - x->uri) : strlen(x->uri));
	if (req->method == NULL || path == NULL)
		return MHD_NO;
	req->path = path;
	if (!rate_allowed(x, &err))
		return fail(x, &err);
	if (q != NULL) {
		rc = fz_query_parse(req->arena, q + 1, strlen(q + 1),
				    &x->srv->cfg.query_limits, &req->query, &err);
		if (rc != FZ_OK)
			return fail(x, &err);
	}
	rc = fz_router_match(&x->srv->router, req->arena, method, path, &x->match, &err);
	if (rc != FZ_OK)
		return fail(x, &err);
	if (x->match.route == NULL && x->match.allow[0] == '\0') {
		fz_fail(&err, FZ_ENOTFOUND, "no resource at %s", path);
		return fail(x, &err);
	}
	if (x->match.route == NULL) {
		/* If the Allow header cannot be added, err says why instead. */
		if (fz_http_add_header(req, "Allow", x->match.allow, &err) == FZ_OK)
			fz_fail_http(&err, FZ_ESTRUCT, 405, "invalid_request",
				     "%s not allowed here", req->method);
		return fail(x, &err);
	}
	x->route = x->match.route;
	req->head = strcmp(method, "HEAD") == 0 &&
		    strcmp(x->route->def.method, "HEAD") != 0;
	return MHD_YES;
}

static enum MHD_Result start_request(fz_http_exchange *x, const char *method)
{
	const fz_route *rt;
	enum MHD_Result ret;
	fz_err err = {0};
	fz_code rc;

	ret = route_request(x, method);
	/* A refusal while routing left no route: it is answered (DONE) or
	 * drops the body first (DRAIN). */
	if (ret != MHD_YES || x->phase != FZ_PHASE_NEW)
		return ret;
	rt = x->route;
	if (declared_too_large(x))
		return too_large(x);
	if (rt->def.begin != NULL) {
		rc = rt->def.begin(&x->req, rt->def.ctx, &err);
		if (rc != FZ_OK || x->resp != NULL)
			return fail(x, &err);
	}
	x->phase = FZ_PHASE_BODY;
	return MHD_YES;
}

static void free_body(void *data)
{
	fz_http_exchange *x = data;

	free(x->buf);
	x->buf = NULL;
}

static fz_code buffer_body(fz_http_exchange *x, const char *data, size_t n,
			   fz_err *err)
{
	size_t cap;
	char *grown;

	if (x->buf == NULL) {
		/* Freed with the arena whatever happens to the request. */
		if (fz_arena_on_free(x->req.arena, free_body, x) == NULL)
			return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	if (x->buf_cap - x->buf_len < n + 1) {
		cap = x->buf_cap ? x->buf_cap : BODY_FIRST_CAP;
		while (cap - x->buf_len < n + 1)
			cap *= 2;
		if (cap > x->srv->cfg.max_body_bytes + 1)
			cap = x->srv->cfg.max_body_bytes + 1;
		grown = realloc(x->buf, cap);
		if (grown == NULL)
			return fz_fail(err, FZ_ENOMEM, "out of memory for the body");
		x->buf = grown;
		x->buf_cap = cap;
	}
	memcpy(x->buf + x->buf_len, data, n);
	x->buf_len += n;
	x->buf[x->buf_len] = '\0';
	return FZ_OK;
}

static enum MHD_Result take_body(fz_http_exchange *x, const char *data, size_t n)
{
	const fz_route *rt = x->route;
	fz_err err = {0};
	fz_code rc;

	x->req.body_received += n;
	if (x->req.body_received > body_limit(x))
		return too_large(x);
	if (rt->def.flags & FZ_ROUTE_STREAM)
		rc = rt->def.chunk(&x->req, data, n, rt->def.ctx, &err);
	else
		rc = buffer_body(x, data, n, &err);
	if (rc != FZ_OK || x->resp != NULL)
		return fail(x, &err);
	return MHD_YES;
}

/* --- suspend and resume ---------------------------------------------- */

fz_code fz_http_req_suspend(fz_http_req *req, fz_err *err)
{
	fz_http_exchange *x = fz_exchange_of(req);
	bool stopping;

	if (x->phase != FZ_PHASE_REPLY)
		return fz_fail(err, FZ_EINTERNAL, "only a handler may suspend its request");
	pthread_mutex_lock(&x->srv->susp_lock);
	stopping = x->srv->stopping;
	pthread_mutex_unlock(&x->srv->susp_lock);
	if (stopping)
		return fz_fail_http(err, FZ_EINTERNAL, 503, "temporarily_unavailable",
				    "the server is stopping");
	x->suspend_wanted = true;
	return FZ_OK;
}

void fz_http_req_resume(fz_http_req *req)
{
	fz_http_exchange *x = fz_exchange_of(req);
	fz_http_server *s = x->srv;

	pthread_mutex_lock(&s->susp_lock);
	if (x->dead) {
		/* completed: nothing to wake */
	} else if (x->suspended) {
		unlink_suspended(x);
		MHD_resume_connection(x->conn);
	} else {
		/* The handler has not returned yet: park() sees this and
		 * runs it again instead of suspending. */
		x->resume_pending = true;
	}
	pthread_mutex_unlock(&s->susp_lock);
}

void fz_http_resume_all(fz_http_server *s)
{
	fz_http_exchange *x;

	pthread_mutex_lock(&s->susp_lock);
	s->stopping = true;
	while ((x = s->suspended) != NULL) {
		unlink_suspended(x);
		MHD_resume_connection(x->conn);
	}
	pthread_mutex_unlock(&s->susp_lock);
}

/* The handler asked to wait: suspends the connection and returns true,
 * or returns false when the handler must run again at once because a
 * resume already came (or the server stops and will not wait). The
 * check and the suspension are under one lock, so no resume falls
 * between them. */
static bool park(fz_http_exchange *x)
{
	fz_http_server *s = x->srv;
	bool parked = false;

	x->suspend_wanted = false;
	pthread_mutex_lock(&s->susp_lock);
	if (x->resume_pending || s->stopping) {
		x->resume_pending = false;
	} else {
		MHD_suspend_connection(x->conn);
		x->suspended = true;
		x->susp_prev = NULL;
		x->susp_next = s->suspended;
		if (s->suspended != NULL)
			s->suspended->susp_prev = x;
		s->suspended = x;
		parked = true;
	}
	pthread_mutex_unlock(&s->susp_lock);
	return parked;
}

/* Runs the handler until it answers, fails or parks the connection. */
static enum MHD_Result run_handler(fz_http_exchange *x)
{
	const fz_route *rt = x->route;
	fz_err err = {0};
	fz_code rc;

	for (;;) {
		rc = rt->def.handler(&x->req, rt->def.ctx, &err);
		if (rc != FZ_OK || x->resp != NULL || !x->suspend_wanted)
			break;
		if (park(x))
			return MHD_YES;
	}
	x->suspend_wanted = false;
	if (rc != FZ_OK && x->resp == NULL)
		return fail(x, &err);
	if (rc != FZ_OK)
		snprintf(x->log_err, sizeof(x->log_err), "%s", err.msg);
	return fz_http_queue(x);
}

static enum MHD_Result finish_request(fz_http_exchange *x)
{
	x->phase = FZ_PHASE_REPLY;
	if (!(x->route->def.flags & FZ_ROUTE_STREAM)) {
		x->req.body = x->buf ? x->buf : "";
		x->req.body_len = x->buf_len;
	}
	return run_handler(x);
}

enum MHD_Result fz_http_on_access(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls)
{
	fz_http_exchange *x = *req_cls;
	size_t n = *upload_data_size;

	(void)cls;
	(void)conn;
	(void)url;
	(void)version;
	if (x == NULL)
		return MHD_NO; /* the URI callback ran out of memory */
	*upload_data_size = 0;
	switch (x->phase) {
	case FZ_PHASE_NEW:
		*upload_data_size = n;
		return start_request(x, method);
	case FZ_PHASE_BODY:
		if (n > 0)
			return take_body(x, upload_data, n);
		return finish_request(x);
	case FZ_PHASE_DRAIN:
		return drain(x, n);
	case FZ_PHASE_REPLY:
		/* Only a resumed (suspended) handler is called again here. */
		return run_handler(x);
	case FZ_PHASE_DONE:
		return MHD_YES;
	}
	return MHD_NO;
}
