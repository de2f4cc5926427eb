/*
 * http_server.h - the HTTP server both Federizer servers (AS and MBX) stand
 * on: libmicrohttpd over TLS, a router with path parameters, a per-request
 * arena, bounded buffered bodies or streamed ones, and responses built from
 * jansson values, bytes, file descriptors (with Range) or an fz_err.
 *
 * Handlers are synchronous and run on MHD's worker threads: many at once,
 * each with its own request and arena. The server holds no mutable state
 * after fz_http_server_start, so routes are registered before it. A
 * handler that must wait for an event (a long poll) does not block: it
 * suspends the request (fz_http_req_suspend) and is called again once
 * something resumes it, holding no thread meanwhile.
 *
 * The process should ignore SIGPIPE: a peer that goes away while a TLS
 * record is being written must not end the server.
 */
#ifndef FZ_NET_HTTP_SERVER_H
#define FZ_NET_HTTP_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "err.h"
#include "form.h"

/* Configuration defaults; every input limit is one of these. */
#define FZ_HTTP_LISTEN_DEFAULT "0.0.0.0"
#define FZ_HTTP_PORT_DEFAULT 443
#define FZ_HTTP_MAX_CONNECTIONS_DEFAULT 1024
#define FZ_HTTP_PER_IP_CONNECTIONS_DEFAULT 64
#define FZ_HTTP_TIMEOUT_S_DEFAULT 30
#define FZ_HTTP_HEADER_TIMEOUT_S_DEFAULT 10
#define FZ_HTTP_THREADS_DEFAULT 4
#define FZ_HTTP_MAX_HEADER_BYTES_DEFAULT (32 * 1024)
#define FZ_HTTP_MAX_BODY_BYTES_DEFAULT (1024 * 1024)
#define FZ_HTTP_MAX_STREAM_BYTES_DEFAULT (1024ULL * 1024 * 1024)
#define FZ_HTTP_MAX_DISCARD_BYTES_DEFAULT (1024 * 1024)
#define FZ_HTTP_ARENA_LIMIT_DEFAULT (8 * 1024 * 1024)
/* Requests per second each client address may make, and the burst it may
 * spend at once; addresses remembered at a time. Generous: they stop a
 * flood from one address, not a busy client. */
#define FZ_HTTP_RATE_PER_IP_DEFAULT 200
#define FZ_HTTP_RATE_BURST_DEFAULT 1000
#define FZ_HTTP_RATE_SLOTS_DEFAULT 4096
#define FZ_HTTP_TLS_PRIORITIES_DEFAULT "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

/* Smallest max_header_bytes MHD can work with: the connection's memory
 * pool also holds the read buffer and the response headers. */
#define FZ_HTTP_MAX_HEADER_BYTES_MIN (8 * 1024)

typedef enum fz_http_transport {
	FZ_HTTP_TLS = 0, /* the normal and default mode */
	/* Plain HTTP, for unit tests that must write raw bytes to the
	 * socket. Never the result of a default or of a config file that
	 * does not name it; the server logs a warning when it starts so. */
	FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY,
} fz_http_transport;

typedef struct fz_http_server_config {
	const char *listen_address; /* numeric IPv4 or IPv6; "::" is dual stack */
	uint16_t port;              /* 0: an ephemeral port, see fz_http_server_port */
	fz_http_transport transport;
	const char *tls_cert_file;  /* PEM: the certificate, then its chain */
	const char *tls_key_file;   /* PEM private key */
	const char *tls_priorities; /* GnuTLS priority string */
	unsigned max_connections;
	unsigned per_ip_connections;
	unsigned connection_timeout_s; /* idle time before MHD closes */
	/* Seconds a connection may take, from its start or the end of its
	 * last request, to deliver a request line and headers, however
	 * slowly it trickles them (slowloris); 0: no limit. */
	unsigned header_timeout_s;
	unsigned threads;              /* MHD thread pool size */
	unsigned rate_per_ip;          /* requests/s per address; more is 429 */
	unsigned rate_burst;           /* requests an idle address may send at once */
	unsigned rate_slots;           /* addresses the rate limiter remembers */
	size_t max_header_bytes;       /* MHD per-connection memory: request line + headers */
	size_t max_body_bytes;         /* buffered bodies; more is 413 */
	uint64_t max_stream_bytes;     /* streamed bodies; more is 413 */
	/* An answer given in the middle of a body (413 on a chunked body, a
	 * chunk callback's refusal) can only be sent once the body is read
	 * (libmicrohttpd 0.9.75): up to this many more bytes are read and
	 * dropped, past it the connection is closed without an answer. */
	uint64_t max_discard_bytes;
	size_t arena_limit;            /* bytes one request's arena may hold */
	fz_form_limits query_limits;   /* URL query strings */
	fz_form_limits form_limits;    /* urlencoded bodies (fz_http_req_form) */
	int log_fd;                    /* access and MHD error log; -1: none */
} fz_http_server_config;

/* Fills every field with its default. */
void fz_http_server_config_defaults(fz_http_server_config *cfg);

typedef struct fz_http_server fz_http_server;

/* A request as handlers see it. Fields are read-only to handlers, except
 * state, which is theirs. Strings live in arena. */
typedef struct fz_http_req {
	const char *method;  /* as sent: "GET", "POST", ... */
	const char *path;    /* as sent, percent-encoded, without the query */
	fz_form query;       /* parsed query string (strict, see form.h) */
	const char *client;  /* client IP address as text */
	fz_arena *arena;     /* freed when the request ends, on every path */
	bool head;           /* a HEAD served by a GET route */
	const char *body;    /* buffered routes, in the handler: NUL-terminated */
	size_t body_len;
	uint64_t body_received; /* bytes of body so far (streamed or buffered) */
	void *state;         /* the handler's own, kept across its calls */
} fz_http_req;

/* Called once the whole body is in (buffered) or has been passed to the
 * chunk callback (streaming). It answers with one fz_http_respond_*, or
 * fails: a non-FZ_OK return without a response answers with err. */
typedef fz_code (*fz_http_handler_fn)(fz_http_req *req, void *ctx, fz_err *err);
/* Called when the headers are in and no body byte has been read: the place
 * to authenticate, so a refused upload is never received (an answer here
 * ends the request and MHD does not send "100 Continue"). */
typedef fz_code (*fz_http_begin_fn)(fz_http_req *req, void *ctx, fz_err *err);
/* Streaming routes: each piece of body as it arrives. */
typedef fz_code (*fz_http_chunk_fn)(fz_http_req *req, const void *data,
				    size_t n, void *ctx, fz_err *err);

enum {
	FZ_ROUTE_BUFFERED = 0,    /* body collected up to max_body_bytes */
	FZ_ROUTE_STREAM = 1 << 0, /* body passed to chunk, up to max_stream_bytes */
};

typedef struct fz_http_route_def {
	const char *method;  /* "GET", "POST", ...; GET also answers HEAD */
	const char *pattern; /* "/api/v1/messages/{id}/send" */
	unsigned flags;      /* FZ_ROUTE_* */
	fz_http_handler_fn handler; /* required */
	fz_http_begin_fn begin;     /* optional */
	fz_http_chunk_fn chunk;     /* required with FZ_ROUTE_STREAM only */
	void *ctx;
} fz_http_route_def;

/* Route limits: segments of a pattern, and {params} in it. */
#define FZ_ROUTE_MAX_SEGMENTS 16
#define FZ_ROUTE_MAX_PARAMS 8

typedef struct fz_http_route_info {
	const char *method;
	const char *pattern;
	unsigned flags;
} fz_http_route_info;

/* A server configured but not yet listening. Copies cfg (and its
 * strings). Errors: FZ_ESYNTAX for an unusable setting. */
fz_code fz_http_server_new(const fz_http_server_config *cfg,
			   fz_http_server **out, fz_err *err);

/* Registers a route. Patterns are absolute, segments non-empty, a segment
 * is either literal or a whole {name}. When several patterns match a path
 * the one whose first differing segment is literal wins, and its methods
 * alone decide between the handler and 405. Fails after start, on a
 * duplicate (same method, same shape) and on a malformed pattern. */
fz_code fz_http_server_route(fz_http_server *s, const fz_http_route_def *def,
			     fz_err *err);
/* Shorthand for a buffered route without begin. */
fz_code fz_http_server_add(fz_http_server *s, const char *method,
			   const char *pattern, fz_http_handler_fn handler,
			   void *ctx, fz_err *err);

/* Registered routes in registration order (the implicit HEAD of a GET
 * route not listed): writes up to max into out, returns how many exist. */
size_t fz_http_server_routes(const fz_http_server *s, fz_http_route_info *out,
			     size_t max);

/* Writes "METHOD PATTERN" lines, one per registered route, to out: what
 * a test compares with the API documents. */
fz_code fz_http_server_print_routes(const fz_http_server *s, FILE *out,
				    fz_err *err);

/* Reads the TLS files and starts listening. */
fz_code fz_http_server_start(fz_http_server *s, fz_err *err);
/* The port bound (the chosen one when configured with 0); 0 if stopped. */
uint16_t fz_http_server_port(const fz_http_server *s);
/* Stops listening and ends open connections; idempotent. */
void fz_http_server_stop(fz_http_server *s);
/* Stops if needed and frees; NULL is a no-op. */
void fz_http_server_free(fz_http_server *s);

/* --- reading the request -------------------------------------------- */

/* Decoded value of path parameter {name}, or NULL. */
const char *fz_http_req_param(const fz_http_req *req, const char *name);
/* First value of a request header, name compared case-insensitively. */
const char *fz_http_req_header(const fz_http_req *req, const char *name);
/* As fz_http_req_header, refusing a header sent more than once (400),
 * as DPoP and Authorization must be. *value is NULL when absent. */
fz_code fz_http_req_header_one(const fz_http_req *req, const char *name,
			       const char **value, fz_err *err);
/* The buffered body as an urlencoded form: Content-Type must say so (415
 * otherwise), parsed with form_limits. Repeated names: see fz_form. */
fz_code fz_http_req_form(fz_http_req *req, fz_form *out, fz_err *err);
/* The buffered body as JSON: Content-Type application/json (415
 * otherwise), duplicate keys refused; the value belongs to the arena. */
fz_code fz_http_req_json(fz_http_req *req, json_t **out, fz_err *err);
/* Puts "mid=<id>" on this request's access log line. */
void fz_http_req_set_log_id(fz_http_req *req, const char *message_id);

/* --- waiting without a thread ---------------------------------------- */

/* Called by a handler that cannot answer yet, which then returns FZ_OK
 * without responding: the connection is parked (MHD suspend) and holds
 * no thread until fz_http_req_resume, after which the same handler is
 * called again with the same req (state kept) to answer or suspend
 * again. Suspended requests do not time out. While the server stops,
 * FZ_EINTERNAL (503): the handler should answer at once. */
fz_code fz_http_req_suspend(fz_http_req *req, fz_err *err);
/* Makes a suspended (or suspending) request's handler run again. Any
 * thread may call it; a resume that comes before the suspension took
 * effect is not lost, and one after the request completed is a no-op.
 * The caller must know req's memory is alive: typically it drops its
 * pointer in a cleanup on req->arena (fz_arena_on_free), under the same
 * lock it holds while calling this. */
void fz_http_req_resume(fz_http_req *req);

/* --- answering -------------------------------------------------------- */
/* One response per request; a second is FZ_EINTERNAL. Functions that take
 * a resource (json_t reference, fd) take it on every path, failure too. */

/* JSON with Cache-Control: no-store unless the handler set its own. body
 * NULL (a json_pack that failed) is FZ_EINTERNAL. */
fz_code fz_http_respond_json(fz_http_req *req, unsigned status, json_t *body,
			     fz_err *err);
/* Bytes, copied. content_type may be NULL (no Content-Type header). */
fz_code fz_http_respond_bytes(fz_http_req *req, unsigned status,
			      const char *content_type, const void *data,
			      size_t n, fz_err *err);
/* length bytes of fd from offset; the fd is closed when sent. */
fz_code fz_http_respond_fd(fz_http_req *req, unsigned status,
			   const char *content_type, int fd, uint64_t offset,
			   uint64_t length, fz_err *err);
/* A whole file of size bytes, honouring a Range header whatever the
 * method (SPEC §8.3 resumes fetches made with POST): 200 with
 * Accept-Ranges, 206 with Content-Range, 416 with "Content-Range: bytes
 * * /size" (without the space) for unsatisfiable or multiple ranges, 400
 * for a malformed one. Takes fd. */
fz_code fz_http_respond_file(fz_http_req *req, const char *content_type,
			     int fd, uint64_t size, fz_err *err);
/* 301, 302, 303, 307 or 308 to location, empty body. */
fz_code fz_http_respond_redirect(fz_http_req *req, unsigned status,
				 const char *location, fz_err *err);
/* A body-less answer such as 204. */
fz_code fz_http_respond_empty(fz_http_req *req, unsigned status, fz_err *err);
/* {"error": e->oauth, "error_description": e->msg} with e->status, and
 * WWW-Authenticate when www_authenticate is not NULL. A 5xx keeps its
 * message for the log and tells the client only "internal error". */
fz_code fz_http_respond_error(fz_http_req *req, const fz_err *e,
			      const char *www_authenticate);
/* A header for whichever response this request sends (copied). */
fz_code fz_http_add_header(fz_http_req *req, const char *name,
			   const char *value, fz_err *err);

#endif
