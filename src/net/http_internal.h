/*
 * http_internal.h - what the server's files (http_server.c, exchange.c,
 * request.c, router.c, response.c) share and handlers must not see: the
 * exchange behind each fz_http_req, the route table, the server itself.
 */
#ifndef FZ_NET_HTTP_INTERNAL_H
#define FZ_NET_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "http_server.h"
#include "ratelimit.h"

typedef struct fz_route {
	fz_http_route_def def; /* method and pattern point to our copies */
	size_t nseg;
	struct {
		const char *text; /* literal, or the param's name */
		bool param;
	} seg[FZ_ROUTE_MAX_SEGMENTS];
} fz_route;

typedef struct fz_router {
	fz_route *routes;
	size_t count;
	size_t cap;
	fz_arena *arena; /* patterns and names */
} fz_router;

/* Outcome of matching one request. */
typedef struct fz_route_match {
	const fz_route *route; /* NULL: 404, or 405 when allow[0] != 0 */
	char allow[128];       /* methods of the path's shape, for Allow */
	size_t nparams;
	struct {
		const char *name;
		const char *value;
	} params[FZ_ROUTE_MAX_PARAMS];
} fz_route_match;

fz_code fz_router_init(fz_router *r, fz_err *err);
void fz_router_fini(fz_router *r);
fz_code fz_router_add(fz_router *r, const fz_http_route_def *def, fz_err *err);
/* Splits and decodes path (percent-encoded, starting with '/') with the
 * arena, then matches it. FZ_ESYNTAX for an undecodable path; otherwise
 * FZ_OK with m->route set, or NULL for 404/405. */
fz_code fz_router_match(const fz_router *r, fz_arena *a, const char *method,
			const char *path, fz_route_match *m, fz_err *err);

typedef struct fz_http_hdr {
	const char *name;
	const char *value;
	struct fz_http_hdr *next;
} fz_http_hdr;

struct fz_http_server {
	fz_http_server_config cfg;
	fz_arena *arena; /* copies of config strings */
	fz_router router;
	struct MHD_Daemon *daemon;
	char *tls_cert; /* PEM read at start, kept while MHD runs */
	size_t tls_cert_len;
	char *tls_key;
	size_t tls_key_len;
	uint16_t port;
	fz_ratelimit *rate;        /* per client address */
	pthread_mutex_t rate_lock; /* initialised when rate is set */
	/* Suspension state of every exchange, and the list of suspended
	 * ones: MHD_stop_daemon needs them all resumed first. */
	pthread_mutex_t susp_lock;
	struct fz_http_exchange *suspended;
	bool stopping; /* under susp_lock: no new suspension */
	bool susp_lock_ok; /* susp_lock initialised */
	struct fz_http_reaper *reaper; /* the header timeout, while started */
};

typedef enum fz_phase {
	FZ_PHASE_NEW,  /* URI seen, headers not yet looked at */
	FZ_PHASE_BODY, /* routed, reading body */
	FZ_PHASE_DRAIN, /* answered early; dropping the rest of the body */
	FZ_PHASE_REPLY, /* body complete, the handler runs */
	FZ_PHASE_DONE, /* a response is queued */
} fz_phase;

/* One request from URI to completion. req comes first so a handler's
 * fz_http_req * converts back. */
typedef struct fz_http_exchange fz_http_exchange;

struct fz_http_exchange {
	fz_http_req req;
	fz_http_server *srv;
	struct MHD_Connection *conn;
	const char *uri; /* raw request-target */
	struct timespec start;
	fz_phase phase;
	const fz_route *route;
	fz_route_match match;
	char *buf; /* buffered body (malloc, freed by an arena cleanup) */
	size_t buf_len, buf_cap;
	struct MHD_Response *resp; /* built by a respond function, not yet queued */
	unsigned status;
	uint64_t resp_bytes;
	uint64_t discarded; /* body bytes dropped while draining */
	bool json; /* default Cache-Control: no-store applies */
	fz_http_hdr *headers; /* extra response headers, newest first */
	const char *log_id;
	char log_err[FZ_ERR_MSG_MAX]; /* the error behind an error answer */
	/* Suspend/resume: the handler asked for it (its thread only); the
	 * rest under srv->susp_lock. */
	bool suspend_wanted;
	bool suspended;      /* MHD_suspend_connection ran, no resume yet */
	bool resume_pending; /* resumed before the suspension took effect */
	bool dead;           /* completed: a resume is a no-op */
	fz_http_exchange *susp_prev, *susp_next;
};

static inline fz_http_exchange *fz_exchange_of(fz_http_req *req)
{
	return (fz_http_exchange *)req;
}

/* exchange.c: the MHD callbacks of one request. */
void *fz_http_on_uri(void *cls, const char *uri, struct MHD_Connection *conn);
enum MHD_Result fz_http_on_access(void *cls, struct MHD_Connection *conn,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **req_cls);
void fz_http_on_completed(void *cls, struct MHD_Connection *conn,
			  void **req_cls, enum MHD_RequestTerminationCode toe);
/* Refuses new suspensions and resumes every suspended connection, as
 * MHD_stop_daemon requires. */
void fz_http_resume_all(fz_http_server *s);

/* http_server.c: one line to the log, in one write so threads do not mix
 * their lines; fd < 0 writes nothing. */
void fz_http_log_write(int fd, const char *line, size_t n);

/* response.c: queue what the handler built (or a 500 when it built
 * nothing), adding the extra headers. Returns MHD's verdict. */
enum MHD_Result fz_http_queue(fz_http_exchange *x);

#endif
