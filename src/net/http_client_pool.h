/*
 * http_client_pool.h - HTTP clients kept between requests, so that the
 * next request to the same server reuses the connection and its TLS
 * session instead of paying a handshake (a new client per token exchange
 * was a quarter of the sending MBX's CPU). Each client serves one thread
 * at a time; the pool hands them out and takes them back.
 */
#ifndef FZ_NET_HTTP_CLIENT_POOL_H
#define FZ_NET_HTTP_CLIENT_POOL_H

#include <stddef.h>

#include "err.h"
#include "http_client.h"

typedef struct fz_http_client_pool fz_http_client_pool;

/* cfg is copied (its strings must outlive the pool); at most max_idle
 * clients wait between requests, more are made when needed. */
fz_code fz_http_client_pool_new(const fz_http_client_config *cfg, size_t max_idle,
				fz_http_client_pool **out, fz_err *err);
/* NULL is a no-op; every client must have been put back. */
void fz_http_client_pool_free(fz_http_client_pool *p);

/* A waiting client, else a new one. */
fz_code fz_http_client_pool_get(fz_http_client_pool *p, fz_http_client **out, fz_err *err);
/* Back for the next request; freed when max_idle wait already. NULL is a no-op. */
void fz_http_client_pool_put(fz_http_client_pool *p, fz_http_client *c);

#endif
