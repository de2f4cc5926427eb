/*
 * mbx_server.c - the MBX's HTTPS server: net-layer settings from the MBX
 * config, the route table (one registration function per endpoint file,
 * mbx_http.h), and the main loop that waits for signals and runs the
 * maintenance (blob collection) meanwhile.
 */
#include "mbx_http.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define STREAM_SLACK (1024 * 1024)

static void http_config(const fz_mbx_config *c, fz_http_server_config *h)
{
	const fz_mbx_limits_config *l = &c->limits;

	fz_http_server_config_defaults(h);
	h->listen_address = c->listen_host;
	h->port = c->listen_port;
	h->transport = FZ_HTTP_TLS;
	h->tls_cert_file = c->tls_cert;
	h->tls_key_file = c->tls_key;
	h->max_connections = (unsigned)l->max_connections;
	h->per_ip_connections = (unsigned)l->per_ip_connections;
	h->rate_per_ip = (unsigned)l->rate_per_ip;
	h->rate_burst = (unsigned)l->rate_burst;
	h->connection_timeout_s = (unsigned)l->timeout;
	h->header_timeout_s = (unsigned)l->header_timeout;
	h->threads = (unsigned)l->threads;
	h->max_header_bytes = (size_t)l->max_header_bytes;
	h->max_body_bytes = (size_t)l->max_body_bytes;
	/* Uploads are the only streamed bodies. The put enforces
	 * max_upload_bytes itself and drops its file the moment it is
	 * exceeded; the HTTP layer's bound, a little higher (more than one
	 * chunk), is the backstop. */
	h->max_stream_bytes = l->max_upload_bytes + STREAM_SLACK;
	h->max_discard_bytes = l->max_discard_bytes;
	h->arena_limit = (size_t)l->arena_bytes;
	h->log_fd = c->access_log ? 2 : -1;
}

static fz_code register_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	fz_code rc;

	if ((rc = fz_mbx_metadata_routes(srv, m, err)) ||
	    (rc = fz_mbx_resource_routes(srv, m, err)) ||
	    (rc = fz_mbx_message_routes(srv, m, err)) ||
	    (rc = fz_mbx_send_routes(srv, m, err)) ||
	    (rc = fz_mbx_sync_routes(srv, m, err)) ||
	    (rc = fz_mbx_settings_routes(srv, m, err)) ||
	    (rc = fz_mbx_receive_routes(srv, m, err)) ||
	    (rc = fz_mbx_fetch_routes(srv, m, err)) ||
	    (rc = fz_mbx_docs_routes(srv, m, err)) ||
	    (rc = fz_mbx_web_routes(srv, m, err)))
		return rc;
	return FZ_OK;
}

fz_code fz_mbx_server_new(fz_mbx *m, fz_http_server **out, fz_err *err)
{
	fz_http_server_config hc;
	fz_http_server *srv = NULL;
	fz_code rc;

	http_config(m->cfg, &hc);
	rc = fz_http_server_new(&hc, &srv, err);
	if (rc == FZ_OK)
		rc = register_routes(srv, m, err);
	if (rc != FZ_OK) {
		fz_http_server_free(srv);
		srv = NULL;
	}
	*out = srv;
	return rc;
}

fz_code fz_mbx_server_print_routes(const fz_mbx_config *cfg, FILE *out, fz_err *err)
{
	/* Registering only stores the context pointer (and reads cfg): the
	 * handlers that would open the store never run, nothing listens. */
	fz_mbx m = {.cfg = cfg};
	fz_http_server *srv = NULL;
	fz_code rc = fz_mbx_server_new(&m, &srv, err);

	if (rc != FZ_OK)
		return rc;
	rc = fz_http_server_print_routes(srv, out, err);
	fz_http_server_free(srv);
	return rc;
}

/* Waits for signals; returns on SIGTERM or SIGINT. */
static void wait_loop(fz_mbx *m, const sigset_t *set)
{
	struct timespec tick = {.tv_sec = (time_t)m->cfg->maintenance_interval};
	int sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			return;
		if (sig < 0 && errno != EAGAIN && errno != EINTR)
			return;
		fz_mbx_maintain(m);
	}
}

fz_code fz_mbx_serve(fz_mbx *m, fz_err *err)
{
	fz_http_server *srv = NULL;
	fz_err kerr = {0};
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
	/* The AS may start after us: its keys are fetched again on the
	 * first token they are needed for. */
	if (fz_mbx_keys_refresh(m->keys, &kerr) != FZ_OK)
		fprintf(stderr, "federizer mbx: AS keys not fetched yet: %s\n", kerr.msg);
	rc = fz_mbx_server_new(m, &srv, err);
	if (rc == FZ_OK)
		rc = fz_http_server_start(srv, err);
	if (rc == FZ_OK) {
		fprintf(stderr, "federizer mbx: %s listening on %s port %u\n",
			m->cfg->base_url, m->cfg->listen_host,
			(unsigned)fz_http_server_port(srv));
		fz_mbx_maintain(m);
		wait_loop(m, &set);
		fprintf(stderr, "federizer mbx: stopping\n");
	}
	fz_mbx_shutdown(m);
	fz_http_server_free(srv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
