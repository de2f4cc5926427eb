/*
 * http_client.h - a thin libcurl wrapper for server-to-server calls
 * (discovery, token exchange, transfer, fetch) and for tests.
 *
 * HTTPS only, certificates always verified against the configured CA
 * bundle (SPEC §5: there is no switch that turns verification off), no
 * automatic redirects (discovery follows one by hand, https only), bodies
 * bounded or streamed to a file descriptor. One client per thread: it
 * keeps a curl easy handle and its connection cache.
 */
#ifndef FZ_NET_HTTP_CLIENT_H
#define FZ_NET_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

#define FZ_HTTP_CLIENT_CONNECT_TIMEOUT_S_DEFAULT 10
#define FZ_HTTP_CLIENT_TIMEOUT_S_DEFAULT 60 /* whole exchange, buffered bodies */
#define FZ_HTTP_CLIENT_STALL_TIMEOUT_S_DEFAULT 30 /* no byte for this long */
#define FZ_HTTP_CLIENT_MAX_BODY_DEFAULT (2 * 1024 * 1024)
#define FZ_HTTP_CLIENT_MAX_DOWNLOAD_DEFAULT (1024ULL * 1024 * 1024)
#define FZ_HTTP_CLIENT_MAX_HEADERS_DEFAULT 100
#define FZ_HTTP_CLIENT_MAX_HEADER_BYTES_DEFAULT (64 * 1024)
#define FZ_HTTP_CLIENT_MAX_RESOLVE 16 /* resolve entries of one request */

typedef struct fz_http_client_config {
	const char *ca_file;         /* PEM bundle; NULL: the system store */
	unsigned connect_timeout_s;
	unsigned timeout_s;          /* 0: none (streamed downloads rely on stall) */
	unsigned stall_timeout_s;    /* abort below 1 byte/s for this long */
	size_t max_body_bytes;       /* buffered response bodies */
	uint64_t max_download_bytes; /* bodies streamed to a descriptor */
	size_t max_headers;          /* response header fields */
	size_t max_header_bytes;     /* response header bytes */
	const char *user_agent;
} fz_http_client_config;

void fz_http_client_config_defaults(fz_http_client_config *cfg);

typedef struct fz_http_client fz_http_client;

typedef struct fz_http_header {
	const char *name;
	const char *value;
} fz_http_header;

typedef struct fz_http_client_req {
	const char *method; /* GET, HEAD, POST, PUT, DELETE, ... */
	const char *url;    /* https:// */
	const fz_http_header *headers;
	size_t nheaders;
	const void *body;   /* sent when body or body_len is set */
	size_t body_len;
	int out_fd;         /* >= 0: write the response body there, unbuffered */
	/* Optional, instead of out_fd: the body of a 2xx response, chunk by
	 * chunk as it arrives (a download hashed into the blob store); the
	 * bodies of other statuses are buffered as usual so their errors can
	 * be read. A sink returning non-zero stops the transfer (FZ_EIO). */
	int (*sink)(void *ctx, const void *data, size_t n);
	/* Optional, with sink: called once with the status before the first
	 * byte of a 2xx body reaches the sink (a resumed download learns
	 * whether the server sent a 206 from where it asked or the whole
	 * resource again). Non-zero stops the transfer (FZ_EIO). */
	int (*sink_begin)(void *ctx, long status);
	void *sink_ctx;
	/* Optional: where to connect, as "host:port:address[,address...]"
	 * (CURLOPT_RESOLVE form, IPv6 addresses in brackets), for a host the
	 * caller resolved itself (discovery asks the configured DNS server).
	 * The certificate is still verified against host. Pins last for this
	 * request only. */
	const char *const *resolve;
	size_t nresolve;
} fz_http_client_req;

/* Initialise with FZ_HTTP_CLIENT_REQ_INIT so out_fd starts at -1. */
#define FZ_HTTP_CLIENT_REQ_INIT { .method = "GET", .out_fd = -1 }

typedef struct fz_http_client_resp {
	long status;
	fz_http_header *headers; /* in arrival order, names as sent */
	size_t nheaders;
	char *body;              /* NUL-terminated; "" when streamed to out_fd */
	size_t body_len;
	uint64_t written;        /* bytes written to out_fd */
} fz_http_client_resp;

fz_code fz_http_client_new(const fz_http_client_config *cfg,
			   fz_http_client **out, fz_err *err);
void fz_http_client_free(fz_http_client *c);

/* One exchange. The response (headers, body) lives in arena. Any HTTP
 * status is FZ_OK: the caller judges it. Errors: FZ_EIO for transport and
 * TLS failures (certificate not trusted included), FZ_ELIMIT for a body
 * or headers over the limits, FZ_ESYNTAX for a bad request. */
fz_code fz_http_client_request(fz_http_client *c, fz_arena *arena,
			       const fz_http_client_req *rq,
			       fz_http_client_resp *resp, fz_err *err);

/* First value of a response header, name compared case-insensitively. */
const char *fz_http_client_resp_header(const fz_http_client_resp *resp,
				       const char *name);

#endif
