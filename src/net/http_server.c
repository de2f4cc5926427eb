/*
 * http_server.c - the daemon: configuration, routes, TLS files, starting
 * and stopping libmicrohttpd, and its error log. What happens to one
 * request is in exchange.c; what a handler reads of it, in request.c.
 */
#include "http_internal.h"
#include "http_server_reaper.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Certificates and keys are small; anything larger is not one. */
#define PEM_MAX_BYTES (1024 * 1024)

void fz_http_server_config_defaults(fz_http_server_config *cfg)
{
	const fz_form_limits ql = FZ_QUERY_LIMITS_DEFAULT;
	const fz_form_limits fl = FZ_FORM_LIMITS_DEFAULT;

	memset(cfg, 0, sizeof(*cfg));
	cfg->listen_address = FZ_HTTP_LISTEN_DEFAULT;
	cfg->port = FZ_HTTP_PORT_DEFAULT;
	cfg->transport = FZ_HTTP_TLS;
	cfg->tls_priorities = FZ_HTTP_TLS_PRIORITIES_DEFAULT;
	cfg->max_connections = FZ_HTTP_MAX_CONNECTIONS_DEFAULT;
	cfg->per_ip_connections = FZ_HTTP_PER_IP_CONNECTIONS_DEFAULT;
	cfg->connection_timeout_s = FZ_HTTP_TIMEOUT_S_DEFAULT;
	cfg->header_timeout_s = FZ_HTTP_HEADER_TIMEOUT_S_DEFAULT;
	cfg->threads = FZ_HTTP_THREADS_DEFAULT;
	cfg->rate_per_ip = FZ_HTTP_RATE_PER_IP_DEFAULT;
	cfg->rate_burst = FZ_HTTP_RATE_BURST_DEFAULT;
	cfg->rate_slots = FZ_HTTP_RATE_SLOTS_DEFAULT;
	cfg->max_header_bytes = FZ_HTTP_MAX_HEADER_BYTES_DEFAULT;
	cfg->max_body_bytes = FZ_HTTP_MAX_BODY_BYTES_DEFAULT;
	cfg->max_stream_bytes = FZ_HTTP_MAX_STREAM_BYTES_DEFAULT;
	cfg->max_discard_bytes = FZ_HTTP_MAX_DISCARD_BYTES_DEFAULT;
	cfg->arena_limit = FZ_HTTP_ARENA_LIMIT_DEFAULT;
	cfg->query_limits = ql;
	cfg->form_limits = fl;
	cfg->log_fd = 2;
}

/* --- logging --------------------------------------------------------- */

void fz_http_log_write(int fd, const char *line, size_t n)
{
	ssize_t w;

	/* One write per line, so lines from worker threads do not mix. */
	while (n > 0 && fd >= 0) {
		w = write(fd, line, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		line += w;
		n -= (size_t)w;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	fz_http_server *s = cls;
	char line[512];
	int n;

	memcpy(line, "http: ", 6);
	n = vsnprintf(line + 6, sizeof(line) - 7, fmt, ap);
	if (n < 0)
		return;
	n += 6;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (line[n - 1] != '\n')
		line[n++] = '\n';
	fz_http_log_write(s->cfg.log_fd, line, (size_t)n);
}

/* --- the server ------------------------------------------------------ */

static fz_code copy_str(fz_arena *a, const char **field, fz_err *err)
{
	if (*field == NULL)
		return FZ_OK;
	*field = fz_arena_strdup(a, *field);
	return *field ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

static fz_code check_config(const fz_http_server_config *c, fz_err *err)
{
	if (c->transport == FZ_HTTP_TLS &&
	    (c->tls_cert_file == NULL || c->tls_key_file == NULL))
		return fz_fail(err, FZ_ESYNTAX,
			       "HTTPS needs a certificate file and a key file");
	if (c->transport != FZ_HTTP_TLS && c->transport != FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY)
		return fz_fail(err, FZ_ESYNTAX, "unknown transport");
	if (c->rate_per_ip == 0 || c->rate_burst == 0 || c->rate_slots == 0)
		return fz_fail(err, FZ_ESYNTAX,
			       "rate_per_ip, rate_burst and rate_slots must be at least 1");
	if (c->threads == 0 || c->max_connections == 0 || c->per_ip_connections == 0)
		return fz_fail(err, FZ_ESYNTAX,
			       "threads and connection limits must be at least 1");
	if (c->max_header_bytes < FZ_HTTP_MAX_HEADER_BYTES_MIN)
		return fz_fail(err, FZ_ESYNTAX, "max_header_bytes below %d",
			       FZ_HTTP_MAX_HEADER_BYTES_MIN);
	if (c->max_body_bytes == 0 || c->max_body_bytes > SIZE_MAX / 4)
		return fz_fail(err, FZ_ESYNTAX, "max_body_bytes out of range");
	if (c->listen_address == NULL)
		return fz_fail(err, FZ_ESYNTAX, "no listen address");
	return FZ_OK;
}

fz_code fz_http_server_new(const fz_http_server_config *cfg,
			   fz_http_server **out, fz_err *err)
{
	fz_http_server *s;
	fz_code rc;

	*out = NULL;
	rc = check_config(cfg, err);
	if (rc != FZ_OK)
		return rc;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	s->cfg = *cfg;
	s->arena = fz_arena_new(0, 0);
	if (s->arena == NULL) {
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
		goto out;
	}
	rc = fz_router_init(&s->router, err);
	if (rc == FZ_OK)
		rc = fz_ratelimit_new(cfg->rate_per_ip, cfg->rate_burst,
				      cfg->rate_slots, &s->rate, err);
	if (rc == FZ_OK && pthread_mutex_init(&s->rate_lock, NULL) != 0) {
		fz_ratelimit_free(s->rate);
		s->rate = NULL;
		rc = fz_fail(err, FZ_ENOMEM, "cannot create the rate limiter's lock");
	}
	if (rc == FZ_OK && pthread_mutex_init(&s->susp_lock, NULL) != 0)
		rc = fz_fail(err, FZ_ENOMEM, "cannot create the suspension lock");
	if (rc == FZ_OK)
		s->susp_lock_ok = true;
	if (rc == FZ_OK)
		rc = copy_str(s->arena, &s->cfg.listen_address, err);
	if (rc == FZ_OK)
		rc = copy_str(s->arena, &s->cfg.tls_cert_file, err);
	if (rc == FZ_OK)
		rc = copy_str(s->arena, &s->cfg.tls_key_file, err);
	if (rc == FZ_OK)
		rc = copy_str(s->arena, &s->cfg.tls_priorities, err);
out:
	if (rc != FZ_OK) {
		fz_http_server_free(s);
		return rc;
	}
	*out = s;
	return FZ_OK;
}

fz_code fz_http_server_route(fz_http_server *s, const fz_http_route_def *def,
			     fz_err *err)
{
	if (s->daemon != NULL)
		return fz_fail(err, FZ_EINTERNAL, "routes are fixed once the server runs");
	return fz_router_add(&s->router, def, err);
}

fz_code fz_http_server_add(fz_http_server *s, const char *method,
			   const char *pattern, fz_http_handler_fn handler,
			   void *ctx, fz_err *err)
{
	fz_http_route_def def = {
		.method = method,
		.pattern = pattern,
		.flags = FZ_ROUTE_BUFFERED,
		.handler = handler,
		.ctx = ctx,
	};

	return fz_http_server_route(s, &def, err);
}

size_t fz_http_server_routes(const fz_http_server *s, fz_http_route_info *out,
			     size_t max)
{
	size_t i;

	for (i = 0; i < s->router.count && i < max; i++) {
		out[i].method = s->router.routes[i].def.method;
		out[i].pattern = s->router.routes[i].def.pattern;
		out[i].flags = s->router.routes[i].def.flags;
	}
	return s->router.count;
}

fz_code fz_http_server_print_routes(const fz_http_server *s, FILE *out,
				    fz_err *err)
{
	const fz_router *r = &s->router;
	size_t i;

	for (i = 0; i < r->count; i++)
		fprintf(out, "%s %s\n", r->routes[i].def.method, r->routes[i].def.pattern);
	if (fflush(out) != 0)
		return fz_fail(err, FZ_EIO, "cannot write the routes");
	return FZ_OK;
}

static fz_code read_pem(const char *path, char **out, size_t *len, fz_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	ssize_t r;
	int fd;
	fz_code rc = FZ_OK;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fz_fail(err, FZ_EIO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > PEM_MAX_BYTES) {
		rc = fz_fail(err, FZ_EIO, "%s is not a PEM file of at most %d bytes",
			     path, PEM_MAX_BYTES);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = fz_fail(err, FZ_ENOMEM, "out of memory reading %s", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = fz_fail(err, FZ_EIO, "cannot read %s", path);
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

static void free_pem(char **p, size_t *len)
{
	if (*p != NULL)
		explicit_bzero(*p, *len);
	free(*p);
	*p = NULL;
	*len = 0;
}

static fz_code listen_addr(const fz_http_server *s, struct sockaddr_storage *ss,
			   unsigned *flags, fz_err *err)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	const char *a = s->cfg.listen_address;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, a, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons(s->cfg.port);
		return FZ_OK;
	}
	if (inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(s->cfg.port);
		*flags |= strcmp(a, "::") == 0 ? MHD_USE_DUAL_STACK : MHD_USE_IPv6;
		return FZ_OK;
	}
	return fz_fail(err, FZ_ESYNTAX, "listen address %s is not a numeric IP address", a);
}

/* The access and completion callbacks, through the header timeout's
 * watcher when there is one: a request's headers are in when MHD first
 * calls the access handler; the next request's wait starts when one
 * completes. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **req_cls)
{
	fz_http_reaper *r = ((fz_http_server *)cls)->reaper;

	if (r != NULL && *req_cls != NULL &&
	    fz_exchange_of(*req_cls)->phase == FZ_PHASE_NEW)
		fz_http_reaper_headers_done(r, conn);
	return fz_http_on_access(cls, conn, url, method, version, upload_data,
				 upload_data_size, req_cls);
}

static void on_completed(void *cls, struct MHD_Connection *conn,
			 void **req_cls, enum MHD_RequestTerminationCode toe)
{
	fz_http_reaper *r = ((fz_http_server *)cls)->reaper;

	fz_http_on_completed(cls, conn, req_cls, toe);
	if (r != NULL)
		fz_http_reaper_request_done(r, conn);
}

#define OPT(o, v, p) \
	(opts[n++] = (struct MHD_OptionItem){ (o), (intptr_t)(v), (p) })

static struct MHD_Daemon *start_daemon(fz_http_server *s, unsigned flags,
				       struct sockaddr_storage *ss)
{
	struct MHD_OptionItem opts[20];
	size_t n = 0;

	/* The logger first, so MHD logs nothing through its own. */
	OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s);
	OPT(MHD_OPTION_SOCK_ADDR, 0, ss);
	OPT(MHD_OPTION_CONNECTION_LIMIT, s->cfg.max_connections, NULL);
	OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, s->cfg.per_ip_connections, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, s->cfg.connection_timeout_s, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->cfg.max_header_bytes, NULL);
	OPT(MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, fz_http_on_uri, s);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, s);
	if (s->reaper != NULL)
		OPT(MHD_OPTION_NOTIFY_CONNECTION, fz_http_reaper_notify, s->reaper);
	if (s->cfg.threads > 1)
		OPT(MHD_OPTION_THREAD_POOL_SIZE, s->cfg.threads, NULL);
	if (s->cfg.transport == FZ_HTTP_TLS) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)s->cfg.tls_priorities);
	}
	OPT(MHD_OPTION_END, 0, NULL);
	return MHD_start_daemon(flags, s->cfg.port, NULL, NULL, on_access, s,
				MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
}

fz_code fz_http_server_start(fz_http_server *s, fz_err *err)
{
	/* Suspend/resume lets a long poll wait without holding a thread. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	const union MHD_DaemonInfo *di;
	struct sockaddr_storage ss;
	fz_code rc;

	if (s->daemon != NULL)
		return fz_fail(err, FZ_EINTERNAL, "server already started");
	rc = listen_addr(s, &ss, &flags, err);
	if (rc != FZ_OK)
		return rc;
	if (s->cfg.transport == FZ_HTTP_TLS) {
		flags |= MHD_USE_TLS;
		rc = read_pem(s->cfg.tls_cert_file, &s->tls_cert, &s->tls_cert_len, err);
		if (rc == FZ_OK)
			rc = read_pem(s->cfg.tls_key_file, &s->tls_key, &s->tls_key_len, err);
		if (rc != FZ_OK)
			goto out;
	} else {
		static const char warn[] =
			"http: WARNING: plain HTTP, for unit tests only\n";

		fz_http_log_write(s->cfg.log_fd, warn, sizeof(warn) - 1);
	}
	s->stopping = false; /* a stopped server may start again */
	if (s->cfg.header_timeout_s > 0)
		rc = fz_http_reaper_start(s->cfg.header_timeout_s, s->cfg.log_fd,
					  &s->reaper, err);
	if (rc != FZ_OK)
		goto out;
	s->daemon = start_daemon(s, flags, &ss);
	if (s->daemon == NULL) {
		rc = fz_fail(err, FZ_EIO, "cannot listen on %s port %u (see the log)",
			     s->cfg.listen_address, (unsigned)s->cfg.port);
		goto out;
	}
	di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di != NULL ? di->port : s->cfg.port;
out:
	if (rc != FZ_OK) {
		fz_http_reaper_stop(s->reaper);
		s->reaper = NULL;
		free_pem(&s->tls_cert, &s->tls_cert_len);
		free_pem(&s->tls_key, &s->tls_key_len);
	}
	return rc;
}

uint16_t fz_http_server_port(const fz_http_server *s)
{
	return s->daemon != NULL ? s->port : 0;
}

void fz_http_server_stop(fz_http_server *s)
{
	if (s == NULL || s->daemon == NULL)
		return;
	/* MHD cannot stop with suspended connections. */
	fz_http_resume_all(s);
	MHD_stop_daemon(s->daemon);
	/* after MHD: every connection has said it closed */
	fz_http_reaper_stop(s->reaper);
	s->reaper = NULL;
	s->daemon = NULL;
	s->port = 0;
	free_pem(&s->tls_cert, &s->tls_cert_len);
	free_pem(&s->tls_key, &s->tls_key_len);
}

void fz_http_server_free(fz_http_server *s)
{
	if (s == NULL)
		return;
	fz_http_server_stop(s);
	fz_router_fini(&s->router);
	if (s->susp_lock_ok)
		pthread_mutex_destroy(&s->susp_lock);
	if (s->rate != NULL) {
		pthread_mutex_destroy(&s->rate_lock);
		fz_ratelimit_free(s->rate);
	}
	fz_arena_free(s->arena);
	free(s);
}
