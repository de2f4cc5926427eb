/*
 * as_server.c - the AS's HTTPS server: net-layer configuration from the
 * AS config, the route table (one registration function per endpoint
 * file, as_http.h), and the main loop that waits for signals and keeps
 * the keyring and the database tidy meanwhile.
 */
#include "as_server.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "as_http.h"

fz_code fz_as_respond_not_implemented(fz_http_req *req, fz_err *err)
{
	return fz_http_respond_json(req, 501,
				    json_pack("{s:s,s:s}", "error", "server_error",
					      "error_description", "not implemented yet"),
				    err);
}

static void http_config(const fz_as_config *c, fz_http_server_config *h)
{
	fz_http_server_config_defaults(h);
	h->listen_address = c->listen_host;
	h->port = c->listen_port;
	h->transport = FZ_HTTP_TLS;
	h->tls_cert_file = c->tls_cert;
	h->tls_key_file = c->tls_key;
	h->max_connections = (unsigned)c->limits.max_connections;
	h->per_ip_connections = (unsigned)c->limits.per_ip_connections;
	h->rate_per_ip = (unsigned)c->limits.rate_per_ip;
	h->rate_burst = (unsigned)c->limits.rate_burst;
	h->connection_timeout_s = (unsigned)c->limits.timeout;
	h->header_timeout_s = (unsigned)c->limits.header_timeout;
	h->threads = (unsigned)c->limits.threads;
	h->max_header_bytes = (size_t)c->limits.max_header_bytes;
	h->max_body_bytes = (size_t)c->limits.max_body_bytes;
	/* The AS takes no streamed uploads: every route is buffered. */
	h->max_stream_bytes = c->limits.max_body_bytes;
	h->max_discard_bytes = c->limits.max_body_bytes;
	h->arena_limit = (size_t)c->limits.arena_bytes;
	h->form_limits.max_params = (size_t)c->limits.max_form_params;
	h->form_limits.max_bytes = (size_t)c->limits.max_body_bytes;
	h->query_limits.max_params = (size_t)c->limits.max_form_params;
	h->log_fd = c->access_log ? 2 : -1;
}

/* Every endpoint file's routes, in one place. */
static fz_code register_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	fz_code rc;

	if ((rc = fz_as_metadata_routes(srv, as, err)) ||
	    (rc = fz_as_login_routes(srv, as, err)) ||
	    (rc = fz_as_authorize_routes(srv, as, err)) ||
	    (rc = fz_as_token_routes(srv, as, err)) ||
	    (rc = fz_as_revoke_routes(srv, as, err)) ||
	    (rc = fz_as_docs_routes(srv, as, err)))
		return rc;
	return FZ_OK;
}

fz_code fz_as_server_new(fz_as *as, fz_http_server **out, fz_err *err)
{
	fz_http_server_config hc;
	fz_http_server *srv = NULL;
	fz_code rc;

	http_config(as->cfg, &hc);
	rc = fz_http_server_new(&hc, &srv, err);
	if (rc == FZ_OK)
		rc = register_routes(srv, as, err);
	if (rc != FZ_OK) {
		fz_http_server_free(srv);
		srv = NULL;
	}
	*out = srv;
	return rc;
}

fz_code fz_as_server_print_routes(const fz_as_config *cfg, FILE *out, fz_err *err)
{
	/* Registering only stores the context pointer; the handlers that
	 * would read the store and keys never run: the server never starts. */
	fz_as as = {.cfg = cfg};
	fz_http_server *srv = NULL;
	fz_code rc = fz_as_server_new(&as, &srv, err);

	if (rc != FZ_OK)
		return rc;
	rc = fz_http_server_print_routes(srv, out, err);
	fz_http_server_free(srv);
	return rc;
}

/* Periodic work: pick up rotated keys, let retired ones expire from
 * /jwks, drop expired codes, tokens and replay entries. A failure is
 * logged and tried again next time: serving goes on with what it has. */
static void maintain(fz_as *as)
{
	fz_err err = {0};
	int64_t now = fz_as_now(as);

	if (fz_as_keys_reload(as->keys, now, &err) != FZ_OK)
		fprintf(stderr, "federizer as: key reload: %s\n", err.msg);
	fz_err_clear(&err);
	if (fz_as_store_purge(as->store, now, NULL, &err) != FZ_OK)
		fprintf(stderr, "federizer as: purge: %s\n", err.msg);
}

/* Waits for signals; returns on SIGTERM or SIGINT. */
static void wait_loop(fz_as *as, const sigset_t *set)
{
	struct timespec tick = {.tv_sec = (time_t)as->cfg->keys_reload};
	int sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			return;
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			return;
		maintain(as);
	}
}

fz_code fz_as_serve(fz_as *as, fz_err *err)
{
	fz_http_server *srv = NULL;
	sigset_t set, old;
	fz_code rc;

	signal(SIGPIPE, SIG_IGN);
	/* Blocked before MHD makes its threads, so they inherit the mask
	 * and the signals reach sigtimedwait here. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	rc = fz_as_server_new(as, &srv, err);
	if (rc == FZ_OK)
		rc = fz_http_server_start(srv, err);
	if (rc == FZ_OK) {
		fprintf(stderr, "federizer as: %s listening on %s port %u\n",
			as->cfg->issuer, as->cfg->listen_host,
			(unsigned)fz_http_server_port(srv));
		maintain(as);
		wait_loop(as, &set);
		fprintf(stderr, "federizer as: stopping\n");
	}
	fz_http_server_free(srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
