/* Discovery end to end against a real DNS server: the test starts
 * dnsmasq on 127.0.0.1 and a free port, answering SRV and A records for
 * a handful of made-up domains, and one HTTPS server of our own whose
 * certificate names every host; the server answers by Host header, so one
 * process plays every AS, MBX and redirect service.
 *
 * dnsmasq is required: when it cannot be found or started the whole group
 * fails (scripts/bootstrap.sh installs it). FZ_DNSMASQ may name the
 * binary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "discovery.h"
#include "dns_srv.h"
#include "http_client.h"
#include "http_server.h"
#include "jws.h"
#include "tls_fixture.h"

#define CLIENT_ID "mta.example.com"
#define REFETCH_S 10      /* jwks_refetch_interval_s of the tests */
#define NEGATIVE_S 5      /* negative_ttl_s of the tests */
#define SHORT_HOST_TTL 20 /* DNS TTL of as.ttl.test */
#define DNS_WAIT_TRIES 50 /* waiting for dnsmasq to answer */
#define MAX_ARGS 64
#define ARG_MAX_BYTES 160

/* Every name the test certificate is good for. */
static const char *const hosts[] = {
	"as.example.com", "mbx.example.com", "high.prio.test", "low.prio.test",
	"w0.weight.test", "w5.weight.test", "w95.weight.test", "dead.failover.test",
	"alive.failover.test", "noaddr.failover.test", "r.redir.test", "as.redir.test",
	"rel.redir.test", "r.httpredir.test", "r.dbl.test", "r2.dbl.test",
	"as.badiss.test", "as.ttl.test", "as.cc.test",
};
#define NHOSTS (sizeof(hosts) / sizeof(hosts[0]))

static struct {
	fz_test_pki pki;
	fz_http_server *srv;
	uint16_t port;      /* the HTTPS server */
	uint16_t dead_port; /* nothing listens there */
	uint16_t dns_port;
	char dns_server[32];
	pid_t keeper;       /* watches over dnsmasq, see keeper() */
	int keeper_fd;      /* closing it ends dnsmasq */
	atomic_uint hits_root, hits_meta, hits_jwks, hits_rs;
	pthread_mutex_t jwks_lock;
	char *jwks;         /* the JWKS served, JSON */
	fz_key *k1, *k2;    /* published first, then after the rotation */
	atomic_uint_fast64_t now; /* the clock discovery sees */
} T;

/* --- the HTTPS side: one server, many hosts ----------------------------- */

static void host_of(fz_http_req *req, char *out, size_t n)
{
	const char *h = fz_http_req_header(req, "Host");
	size_t len = h ? strcspn(h, ":") : 0;

	if (len >= n)
		len = n - 1;
	if (len > 0)
		memcpy(out, h, len);
	out[len] = '\0';
}

static fz_code h_root(fz_http_req *req, void *ctx, fz_err *err)
{
	char host[128], loc[256];
	const char *fmt = NULL;
	unsigned status = 302;

	(void)ctx;
	atomic_fetch_add(&T.hits_root, 1);
	host_of(req, host, sizeof(host));
	if (strcmp(host, "r.redir.test") == 0) {
		fmt = "https://as.redir.test:%u/as";
	} else if (strcmp(host, "rel.redir.test") == 0) {
		fmt = "/as/";
	} else if (strcmp(host, "r.httpredir.test") == 0) {
		fmt = "http://as.redir.test:%u/as/";
		status = 301;
	} else if (strcmp(host, "r.dbl.test") == 0) {
		fmt = "https://r2.dbl.test:%u/";
		status = 307;
	} else if (strcmp(host, "r2.dbl.test") == 0) {
		fmt = "https://as.example.com:%u/";
		status = 308;
	}
	/* no keep-alive here: a reused connection would hide whether a
	 * client's resolve pin outlived its request */
	if (strcmp(host, "as.ttl.test") == 0 &&
	    fz_http_add_header(req, "Connection", "close", err) != FZ_OK)
		return FZ_EINTERNAL;
	if (fmt == NULL)
		return fz_http_respond_bytes(req, 200, "text/plain", "hello\n", 6, err);
	snprintf(loc, sizeof(loc), fmt, (unsigned)T.port);
	return fz_http_respond_redirect(req, status, loc, err);
}

/* AS metadata naming the host it is asked on (ctx: a path prefix). */
static fz_code h_as_meta(fz_http_req *req, void *ctx, fz_err *err)
{
	char host[128], o[256], jwks[300], token[300];
	const char *issuer = o;

	atomic_fetch_add(&T.hits_meta, 1);
	host_of(req, host, sizeof(host));
	snprintf(o, sizeof(o), "https://%s:%u%s", host, (unsigned)T.port, (const char *)ctx);
	snprintf(jwks, sizeof(jwks), "https://%s:%u/jwks", host, (unsigned)T.port);
	snprintf(token, sizeof(token), "%s/token", o);
	if (strcmp(host, "as.badiss.test") == 0)
		issuer = "https://evil.test";
	if (fz_http_add_header(req, "Cache-Control",
			       strcmp(host, "as.cc.test") == 0 ? "max-age=7" : "max-age=600",
			       err) != FZ_OK)
		return FZ_EINTERNAL;
	return fz_http_respond_json(req, 200,
				    json_pack("{s:s,s:s,s:s}", "issuer", issuer, "jwks_uri",
					      jwks, "token_endpoint", token),
				    err);
}

static fz_code h_jwks(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_code rc;

	(void)ctx;
	atomic_fetch_add(&T.hits_jwks, 1);
	if (fz_http_add_header(req, "Cache-Control", "max-age=600", err) != FZ_OK)
		return FZ_EINTERNAL;
	pthread_mutex_lock(&T.jwks_lock);
	rc = fz_http_respond_bytes(req, 200, "application/jwk-set+json", T.jwks,
				   strlen(T.jwks), err);
	pthread_mutex_unlock(&T.jwks_lock);
	return rc;
}

static fz_code h_rs_meta(fz_http_req *req, void *ctx, fz_err *err)
{
	char host[128], o[256], as[256];

	(void)ctx;
	atomic_fetch_add(&T.hits_rs, 1);
	host_of(req, host, sizeof(host));
	if (strcmp(host, "mbx.example.com") != 0)
		return fz_fail(err, FZ_ENOTFOUND, "no resource here");
	snprintf(o, sizeof(o), "https://%s:%u", host, (unsigned)T.port);
	snprintf(as, sizeof(as), "https://as.example.com:%u", (unsigned)T.port);
	if (fz_http_add_header(req, "Cache-Control", "max-age=600", err) != FZ_OK)
		return FZ_EINTERNAL;
	return fz_http_respond_json(req, 200,
				    json_pack("{s:s,s:[s],s:s}", "resource", o,
					      "authorization_servers", as,
					      "federizer_mta_client_id", CLIENT_ID),
				    err);
}

static int serve_jwks(const fz_key *key)
{
	fz_keyset *set = fz_keyset_new();
	fz_key *copy = NULL;
	json_t *j = NULL;
	json_t *jwk = NULL;
	char *text = NULL;

	/* a public copy of key, through its JWK */
	if (set == NULL || fz_key_to_jwk(key, &jwk, NULL) != FZ_OK ||
	    fz_key_from_jwk(jwk, &copy, NULL) != FZ_OK ||
	    fz_keyset_add(set, copy, NULL) != FZ_OK ||
	    fz_keyset_to_jwks(set, &j, NULL) != FZ_OK ||
	    (text = json_dumps(j, JSON_COMPACT)) == NULL) {
		json_decref(jwk);
		json_decref(j);
		fz_keyset_free(set);
		return -1;
	}
	json_decref(jwk);
	json_decref(j);
	fz_keyset_free(set);
	pthread_mutex_lock(&T.jwks_lock);
	free(T.jwks);
	T.jwks = text;
	pthread_mutex_unlock(&T.jwks_lock);
	return 0;
}

static int start_https(void)
{
	static const fz_http_route_def routes[] = {
		{"GET", "/", 0, h_root, NULL, NULL, NULL},
		{"GET", "/.well-known/oauth-authorization-server", 0, h_as_meta, NULL, NULL, ""},
		{"GET", "/as/.well-known/oauth-authorization-server", 0, h_as_meta, NULL, NULL,
		 "/as"},
		{"GET", "/jwks", 0, h_jwks, NULL, NULL, NULL},
		{"GET", "/.well-known/oauth-protected-resource", 0, h_rs_meta, NULL, NULL, NULL},
	};
	fz_http_server_config cfg;
	fz_err err = {0};
	size_t i;

	fz_http_server_config_defaults(&cfg);
	cfg.listen_address = "127.0.0.1";
	cfg.port = 0;
	cfg.threads = 4;
	cfg.log_fd = -1;
	cfg.tls_cert_file = T.pki.cert;
	cfg.tls_key_file = T.pki.key;
	if (fz_http_server_new(&cfg, &T.srv, &err) != FZ_OK)
		goto fail;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (fz_http_server_route(T.srv, &routes[i], &err) != FZ_OK)
			goto fail;
	if (fz_http_server_start(T.srv, &err) != FZ_OK)
		goto fail;
	T.port = fz_http_server_port(T.srv);
	return 0;
fail:
	fprintf(stderr, "https server: %s\n", err.msg);
	return -1;
}

/* --- ports ---------------------------------------------------------------- */

static int bound_socket(int type, uint16_t port, uint16_t *got)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);

	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	if (got != NULL)
		*got = ntohs(sa.sin_port);
	return fd;
}

/* A port free for both UDP and TCP on 127.0.0.1 (dnsmasq binds both). */
static uint16_t free_port(void)
{
	uint16_t port = 0;
	int u, t, i;

	for (i = 0; i < 20; i++) {
		u = bound_socket(SOCK_DGRAM, 0, &port);
		t = u >= 0 ? bound_socket(SOCK_STREAM, port, NULL) : -1;
		if (u >= 0)
			close(u);
		if (t >= 0) {
			close(t);
			return port;
		}
	}
	return 0;
}

/* --- dnsmasq --------------------------------------------------------------- */

static const char *dnsmasq_path(void)
{
	static const char *const dirs[] = {"/usr/sbin", "/sbin", "/usr/local/sbin"};
	static char path[FZ_TEST_PATH_MAX];
	const char *env = getenv("FZ_DNSMASQ"), *p, *colon;
	size_t i, len;

	if (env != NULL && env[0] != '\0')
		return access(env, X_OK) == 0 ? env : NULL;
	for (p = getenv("PATH"); p != NULL && *p != '\0'; p = colon ? colon + 1 : NULL) {
		colon = strchr(p, ':');
		len = colon ? (size_t)(colon - p) : strlen(p);
		snprintf(path, sizeof(path), "%.*s/dnsmasq", (int)len, p);
		if (len > 0 && access(path, X_OK) == 0)
			return path;
		if (colon == NULL)
			break;
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/dnsmasq", dirs[i]);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

struct args {
	char buf[MAX_ARGS][ARG_MAX_BYTES];
	char *argv[MAX_ARGS + 1];
	size_t n;
};

static void arg(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void arg(struct args *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n == MAX_ARGS)
		return;
	va_start(ap, fmt);
	vsnprintf(a->buf[a->n], ARG_MAX_BYTES, fmt, ap);
	va_end(ap);
	a->argv[a->n] = a->buf[a->n];
	a->argv[++a->n] = NULL;
}

/* The zone the tests run against. SRV TTLs are --local-ttl (600 s);
 * as.ttl.test's address has a TTL of its own. */
static void zone(struct args *a)
{
	unsigned p = T.port, dead = T.dead_port;
	size_t i;

	arg(a, "--srv-host=_federizer._as._tcp.example.com,as.example.com,%u,10,5", p);
	arg(a, "--srv-host=_federizer._rs._tcp.example.com,mbx.example.com,%u,10,5", p);
	arg(a, "--srv-host=_federizer._as._tcp.prio.test,low.prio.test,%u,20,100", p);
	arg(a, "--srv-host=_federizer._as._tcp.prio.test,high.prio.test,%u,10,1", p);
	arg(a, "--srv-host=_federizer._as._tcp.weight.test,w0.weight.test,%u,10,0", p);
	arg(a, "--srv-host=_federizer._as._tcp.weight.test,w5.weight.test,%u,10,5", p);
	arg(a, "--srv-host=_federizer._as._tcp.weight.test,w95.weight.test,%u,10,95", p);
	arg(a, "--srv-host=_federizer._as._tcp.failover.test,noaddr.failover.test,%u,5,1", p);
	arg(a, "--srv-host=_federizer._as._tcp.failover.test,dead.failover.test,%u,10,1",
	    dead);
	arg(a, "--srv-host=_federizer._as._tcp.failover.test,alive.failover.test,%u,20,1", p);
	arg(a, "--srv-host=_federizer._as._tcp.none.test");
	arg(a, "--srv-host=_federizer._as._tcp.redir.test,r.redir.test,%u,10,1", p);
	arg(a, "--srv-host=_federizer._as._tcp.relredir.test,rel.redir.test,%u,10,1", p);
	arg(a, "--srv-host=_federizer._as._tcp.httpredir.test,r.httpredir.test,%u,10,1", p);
	arg(a, "--srv-host=_federizer._as._tcp.dbl.test,r.dbl.test,%u,10,1", p);
	arg(a, "--srv-host=_federizer._as._tcp.badiss.test,as.badiss.test,%u,10,1", p);
	arg(a, "--srv-host=_federizer._as._tcp.ttl.test,as.ttl.test,%u,10,1", p);
	arg(a, "--srv-host=_federizer._as._tcp.cc.test,as.cc.test,%u,10,1", p);
	arg(a, "--host-record=dual.example.com,127.0.0.1,::1");
	for (i = 0; i < NHOSTS; i++) {
		if (strcmp(hosts[i], "noaddr.failover.test") == 0)
			continue;
		if (strcmp(hosts[i], "as.ttl.test") == 0)
			arg(a, "--host-record=%s,127.0.0.1,%d", hosts[i], SHORT_HOST_TTL);
		else
			arg(a, "--host-record=%s,127.0.0.1", hosts[i]);
	}
}

/* Runs in a child of the test: starts dnsmasq, then waits until either
 * the test's end of the pipe closes (teardown, or the test dying in any
 * way at all, abort and SIGKILL included) or dnsmasq exits by itself
 * (the keeper exits too, which the test notices). A parent-death signal
 * would not do: dnsmasq changing its user clears it. The test has
 * threads, so only async-signal-safe calls here. */
static void keeper(const char *path, char *const argv[], int rd)
{
	struct pollfd pfd = {.fd = rd, .events = POLLIN};
	pid_t pid = fork();

	if (pid == 0) {
		execv(path, argv); /* rd is close-on-exec */
		_exit(127);
	}
	if (pid < 0)
		_exit(126);
	for (;;) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			_exit(1);
		if (poll(&pfd, 1, 100) > 0)
			break; /* EOF: the test is done with us */
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	_exit(0);
}

static int spawn_dnsmasq(const char *path)
{
	struct args a = {.n = 0};
	int p[2];

	arg(&a, "dnsmasq");
	arg(&a, "--keep-in-foreground");
	arg(&a, "--conf-file=/dev/null");
	arg(&a, "--pid-file=");
	arg(&a, "--no-resolv");
	arg(&a, "--no-hosts");
	arg(&a, "--no-poll");
	arg(&a, "--port=%u", (unsigned)T.dns_port);
	arg(&a, "--listen-address=127.0.0.1");
	arg(&a, "--bind-interfaces");
	/* names under these are ours alone: unknown ones are NXDOMAIN */
	arg(&a, "--local=/test/");
	arg(&a, "--local=/example.com/");
	arg(&a, "--local-ttl=600");
	/* root would drop to "nobody", which a container may not allow */
	if (getuid() == 0)
		arg(&a, "--user=root");
	zone(&a);
	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	T.keeper = fork();
	if (T.keeper == 0) {
		close(p[1]);
		keeper(path, a.argv, p[0]);
	}
	close(p[0]);
	if (T.keeper < 0) {
		close(p[1]);
		return -1;
	}
	T.keeper_fd = p[1];
	return 0;
}

/* True once dnsmasq answers the example.com SRV record. */
static bool dnsmasq_ready(void)
{
	fz_dns_config cfg;
	fz_srv_record *recs;
	fz_arena *a;
	fz_dns *dns = NULL;
	size_t n;
	uint32_t ttl;
	int i, status;
	bool ok = false;

	fz_dns_config_defaults(&cfg);
	cfg.server = T.dns_server;
	cfg.timeout_ms = 200;
	cfg.tries = 1;
	if (fz_dns_new(&cfg, &dns, NULL) != FZ_OK)
		return false;
	for (i = 0; i < DNS_WAIT_TRIES && !ok; i++) {
		if (waitpid(T.keeper, &status, WNOHANG) == T.keeper) {
			/* dnsmasq exited: a port taken, a bad option */
			T.keeper = 0;
			close(T.keeper_fd);
			break;
		}
		a = fz_arena_new(0, 0);
		ok = fz_dns_srv(dns, "_federizer._as._tcp.example.com", a, &recs, &n, &ttl,
				NULL) == FZ_OK;
		fz_arena_free(a);
		if (!ok)
			usleep(100 * 1000);
	}
	fz_dns_free(dns);
	return ok;
}

static void stop_dnsmasq(void);

static int start_dnsmasq(void)
{
	const char *path = dnsmasq_path();
	int attempt;

	if (path == NULL) {
		fprintf(stderr, "dnsmasq not found (install dnsmasq-base: "
				"scripts/bootstrap.sh), or set FZ_DNSMASQ\n");
		return -1;
	}
	for (attempt = 0; attempt < 3; attempt++) {
		T.dns_port = free_port();
		if (T.dns_port == 0)
			return -1;
		snprintf(T.dns_server, sizeof(T.dns_server), "127.0.0.1:%u",
			 (unsigned)T.dns_port);
		if (spawn_dnsmasq(path) != 0)
			return -1;
		if (dnsmasq_ready())
			return 0;
		stop_dnsmasq();
	}
	fprintf(stderr, "dnsmasq (%s) did not start answering\n", path);
	return -1;
}

static void stop_dnsmasq(void)
{
	if (T.keeper <= 0)
		return;
	close(T.keeper_fd);
	waitpid(T.keeper, NULL, 0);
	T.keeper = 0;
}

/* --- fixtures -------------------------------------------------------------- */

static int teardown(void **state)
{
	(void)state;
	stop_dnsmasq();
	fz_http_server_free(T.srv);
	fz_key_free(T.k1);
	fz_key_free(T.k2);
	free(T.jwks);
	fz_test_pki_remove(&T.pki);
	pthread_mutex_destroy(&T.jwks_lock);
	return 0;
}

static int setup_steps(void)
{
	char san[1024] = "IP:127.0.0.1";
	size_t i, off = strlen(san);
	uint16_t dead;
	int fd;

	for (i = 0; i < NHOSTS; i++)
		off += (size_t)snprintf(san + off, sizeof(san) - off, ",DNS:%s", hosts[i]);
	if (off >= sizeof(san) || fz_test_pki_make_names(&T.pki, san) != 0)
		return -1;
	if (fz_key_generate(FZ_ALG_ES256, 0, &T.k1, NULL) != FZ_OK ||
	    fz_key_generate(FZ_ALG_ES256, 0, &T.k2, NULL) != FZ_OK || serve_jwks(T.k1) != 0)
		return -1;
	if (start_https() != 0)
		return -1;
	fd = bound_socket(SOCK_STREAM, 0, &dead); /* bound, never listening */
	if (fd < 0)
		return -1;
	close(fd);
	T.dead_port = dead;
	return start_dnsmasq();
}

/* A failed setup is still torn down: cmocka runs the group teardown. */
static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&T.jwks_lock, NULL);
	atomic_store(&T.now, 1000);
	return setup_steps();
}

static uint64_t test_clock(void *ctx)
{
	(void)ctx;
	return atomic_load(&T.now);
}

static void advance(uint64_t s)
{
	atomic_fetch_add(&T.now, s);
}

static void base_config(fz_discovery_config *cfg)
{
	fz_discovery_config_defaults(cfg);
	cfg->dns_server = T.dns_server;
	cfg->ca_file = T.pki.ca;
	cfg->dns_timeout_ms = 500;
	cfg->dns_tries = 2;
	cfg->ttl_min_s = 1;
	cfg->ttl_max_s = 3600;
	cfg->negative_ttl_s = NEGATIVE_S;
	cfg->jwks_refetch_interval_s = REFETCH_S;
	cfg->clock = test_clock;
}

static fz_discovery *disc_cfg(const fz_discovery_config *cfg)
{
	fz_discovery *d = NULL;
	fz_err err = {0};

	if (fz_discovery_new(cfg, &d, &err) != FZ_OK)
		fail_msg("fz_discovery_new: %s", err.msg);
	return d;
}

static fz_discovery *disc(void)
{
	fz_discovery_config cfg;

	base_config(&cfg);
	return disc_cfg(&cfg);
}

static char *url(const char *host, const char *path)
{
	static char buf[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "https://%s:%u%s", host, (unsigned)T.port, path);
	return buf[i];
}

/* as_for_domain that must succeed; the info lives in a. */
static fz_discovery_as_info as_ok(fz_discovery *d, fz_arena *a, const char *domain)
{
	fz_discovery_as_info info;
	fz_err err = {0};

	if (fz_discovery_as_for_domain(d, domain, a, &info, &err) != FZ_OK)
		fail_msg("%s: %s", domain, err.msg);
	return info;
}

static void as_fails(fz_discovery *d, const char *domain, fz_code code, const char *why)
{
	fz_discovery_as_info info;
	fz_arena *a = fz_arena_new(0, 0);
	fz_err err = {0};
	fz_code rc = fz_discovery_as_for_domain(d, domain, a, &info, &err);

	fz_arena_free(a);
	if (rc != code || strstr(err.msg, why) == NULL)
		fail_msg("%s: %s (%s), want %s with \"%s\"", domain, fz_code_name(rc), err.msg,
			 fz_code_name(code), why);
}

/* --- SRV to base URL ------------------------------------------------------- */

static void test_srv_base(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);
	fz_discovery_as_info info;
	char want[128];
	unsigned meta = atomic_load(&T.hits_meta);

	(void)state;
	info = as_ok(d, a, "example.com");
	assert_string_equal(info.base_url, url("as.example.com", "/"));
	assert_string_equal(info.issuer, url("as.example.com", ""));
	assert_string_equal(info.jwks_uri, url("as.example.com", "/jwks"));
	assert_string_equal(info.token_endpoint, url("as.example.com", "/token"));
	snprintf(want, sizeof(want), "as.example.com:%u:127.0.0.1", (unsigned)T.port);
	assert_string_equal(info.resolve, want);
	assert_int_equal(atomic_load(&T.hits_meta), meta + 1);
	/* the same domain in another spelling is the same cache entry */
	info = as_ok(d, a, "EXAMPLE.com.");
	assert_string_equal(info.base_url, url("as.example.com", "/"));
	assert_int_equal(atomic_load(&T.hits_meta), meta + 1);
	fz_arena_free(a);
	fz_discovery_free(d);
}

static void test_priority(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);

	(void)state;
	/* priority 10 beats 20 whatever the weights say */
	assert_string_equal(as_ok(d, a, "prio.test").base_url, url("high.prio.test", "/"));
	fz_arena_free(a);
	fz_discovery_free(d);
}

static uint32_t fixed_rng(void *ctx, uint32_t bound)
{
	uint32_t v = *(uint32_t *)ctx;

	return v > bound ? bound : v;
}

static void test_weight(void **state)
{
	/* weights 0, 5, 95: running sums 0, 5, 100 */
	const struct {
		uint32_t draw;
		const char *host;
	} cases[] = {{0, "w0.weight.test"}, {3, "w5.weight.test"}, {100, "w95.weight.test"}};
	fz_discovery_config cfg;
	fz_discovery *d;
	fz_arena *a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		base_config(&cfg);
		cfg.rng = fixed_rng;
		cfg.rng_ctx = (void *)&cases[i].draw;
		d = disc_cfg(&cfg);
		a = fz_arena_new(0, 0);
		assert_string_equal(as_ok(d, a, "weight.test").base_url, url(cases[i].host, "/"));
		fz_arena_free(a);
		fz_discovery_free(d);
	}
}

static void test_failover(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);

	(void)state;
	/* priority 5 has no address, 10 refuses connections: 20 is used */
	assert_string_equal(as_ok(d, a, "failover.test").base_url,
			    url("alive.failover.test", "/"));
	fz_arena_free(a);
	fz_discovery_free(d);
}

static void test_dot_target(void **state)
{
	fz_discovery *d = disc();

	(void)state;
	as_fails(d, "none.test", FZ_ENOTFOUND, "decidedly not available");
	fz_discovery_free(d);
}

static void test_nxdomain_and_negative_cache(void **state)
{
	fz_discovery *d = disc();
	fz_discovery_as_info info;
	fz_arena *a = fz_arena_new(0, 0);
	fz_err err = {0};

	(void)state;
	as_fails(d, "nx.test", FZ_ENOTFOUND, "NXDOMAIN");
	/* remembered for negative_ttl_s, then asked again */
	assert_int_equal(fz_discovery_as_for_domain(d, "nx.test", a, &info, &err),
			 FZ_ENOTFOUND);
	assert_non_null(strstr(err.msg, "(cached)"));
	assert_non_null(strstr(err.msg, "NXDOMAIN"));
	advance(NEGATIVE_S + 1);
	assert_int_equal(fz_discovery_as_for_domain(d, "nx.test", a, &info, &err),
			 FZ_ENOTFOUND);
	assert_null(strstr(err.msg, "(cached)"));
	/* a domain with records, but not this one */
	as_fails(d, "example.com.invalid-label-", FZ_ESYNTAX, "not a domain name");
	as_fails(d, "bad_domain.test", FZ_ESYNTAX, "not a domain name");
	as_fails(d, "", FZ_ESYNTAX, "not a domain name");
	/* an MBX lookup where only an AS is published */
	{
		fz_discovery_mbx_info mi;

		assert_int_equal(fz_discovery_mbx_for_domain(d, "prio.test", a, &mi, &err),
				 FZ_ENOTFOUND);
		assert_non_null(strstr(err.msg, "_federizer._rs._tcp.prio.test"));
	}
	fz_arena_free(a);
	fz_discovery_free(d);
}

/* --- Note 1 ------------------------------------------------------------------ */

static void test_redirect_followed(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);
	fz_discovery_as_info info;
	char want[128];

	(void)state;
	info = as_ok(d, a, "redir.test");
	assert_string_equal(info.base_url, url("as.redir.test", "/as/"));
	assert_string_equal(info.issuer, url("as.redir.test", "/as"));
	/* the new host was resolved by our DNS server too */
	snprintf(want, sizeof(want), "as.redir.test:%u:127.0.0.1", (unsigned)T.port);
	assert_string_equal(info.resolve, want);
	/* a Location that is an absolute path stays on the SRV target */
	info = as_ok(d, a, "relredir.test");
	assert_string_equal(info.base_url, url("rel.redir.test", "/as/"));
	fz_arena_free(a);
	fz_discovery_free(d);
}

static void test_redirect_refused(void **state)
{
	fz_discovery *d = disc();

	(void)state;
	as_fails(d, "httpredir.test", FZ_EDENIED, "redirects to http");
	as_fails(d, "dbl.test", FZ_EDENIED, "redirects again");
	fz_discovery_free(d);
}

/* --- issuer and keys ------------------------------------------------------- */

static void test_issuer(void **state)
{
	fz_discovery *d = disc();
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_discovery_check_issuer(d, "example.com", url("as.example.com", ""),
						   &err),
			 FZ_OK);
	assert_int_equal(fz_discovery_check_issuer(d, "example.com", "https://evil.test", &err),
			 FZ_ECLAIM);
	assert_non_null(strstr(err.msg, "is not the issuer"));
	/* a trailing slash is another issuer: iss compares byte for byte */
	assert_int_equal(fz_discovery_check_issuer(d, "example.com", url("as.example.com", "/"),
						   &err),
			 FZ_ECLAIM);
	assert_int_equal(fz_discovery_check_issuer(d, "example.com", NULL, &err), FZ_ECLAIM);
	/* another domain's AS is not this one's */
	assert_int_equal(fz_discovery_check_issuer(d, "prio.test", url("as.example.com", ""),
						   &err),
			 FZ_ECLAIM);
	/* metadata whose issuer is not where it was fetched is refused */
	as_fails(d, "badiss.test", FZ_ESTRUCT, "does not name the base");
	fz_discovery_free(d);
}

static const fz_keyset *keys(fz_discovery *d, fz_arena *a, const char *kid, fz_code want,
			     fz_err *err)
{
	const fz_keyset *set = NULL;
	fz_code rc = fz_discovery_keys(d, "example.com", url("as.example.com", ""), kid, a,
				       &set, err);

	if (rc != want)
		fail_msg("keys(%s): %s (%s), want %s", kid ? kid : "-", fz_code_name(rc),
			 err->msg, fz_code_name(want));
	return set;
}

static void test_key_rotation(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);
	const char *kid1 = fz_key_kid(T.k1), *kid2 = fz_key_kid(T.k2);
	const fz_keyset *set;
	json_t *payload = json_pack("{s:s}", "iss", url("as.example.com", ""));
	fz_jws *jws = NULL;
	char *compact = NULL;
	fz_err err = {0};
	unsigned j0 = atomic_load(&T.hits_jwks);

	(void)state;
	assert_int_equal(serve_jwks(T.k1), 0);
	set = keys(d, a, kid1, FZ_OK, &err);
	assert_non_null(fz_keyset_find(set, kid1));
	assert_int_equal(atomic_load(&T.hits_jwks), j0 + 1);
	keys(d, a, kid1, FZ_OK, &err); /* cached */
	keys(d, a, NULL, FZ_OK, &err);
	assert_int_equal(atomic_load(&T.hits_jwks), j0 + 1);
	/* the AS rotates; a token under the new key arrives */
	assert_int_equal(serve_jwks(T.k2), 0);
	/* just after a fetch, an unknown kid does not refetch */
	keys(d, a, kid2, FZ_EKEY, &err);
	assert_true(fz_jws_err_is_unknown_kid(&err));
	assert_non_null(strstr(err.msg, "rate-limited"));
	assert_int_equal(atomic_load(&T.hits_jwks), j0 + 1);
	advance(REFETCH_S + 1);
	set = keys(d, a, kid2, FZ_OK, &err); /* one refetch finds it */
	assert_int_equal(atomic_load(&T.hits_jwks), j0 + 2);
	assert_null(fz_keyset_find(set, kid1));
	assert_int_equal(fz_jws_sign(T.k2, "JWT", NULL, payload, &compact, &err), FZ_OK);
	assert_int_equal(fz_jws_verify(compact, strlen(compact), FZ_JWS_MAX_BYTES, FZ_ALGS_ALL,
				       set, &jws, &err),
			 FZ_OK);
	/* random kids within the interval cost the peer nothing */
	keys(d, a, "random-kid-1", FZ_EKEY, &err);
	keys(d, a, "random-kid-2", FZ_EKEY, &err);
	assert_true(fz_jws_err_is_unknown_kid(&err));
	assert_int_equal(atomic_load(&T.hits_jwks), j0 + 2);
	/* past it, one refetch, and still unknown */
	advance(REFETCH_S + 1);
	keys(d, a, "random-kid-3", FZ_EKEY, &err);
	assert_non_null(strstr(err.msg, "not in the refetched"));
	assert_int_equal(atomic_load(&T.hits_jwks), j0 + 3);
	/* the wrong issuer never reaches the keys */
	assert_int_equal(fz_discovery_keys(d, "example.com", "https://evil.test", kid2, a, &set,
					   &err),
			 FZ_ECLAIM);
	assert_null(set);
	/* a key set handed out survives the cache dropping it */
	set = keys(d, a, kid2, FZ_OK, &err);
	fz_discovery_flush(d);
	assert_non_null(fz_keyset_find(set, kid2));
	fz_jws_free(jws);
	free(compact);
	json_decref(payload);
	fz_arena_free(a);
	fz_discovery_free(d);
}

/* --- MBX metadata (Note 2) ------------------------------------------------- */

static void test_rs_metadata(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);
	fz_discovery_mbx_info info;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_discovery_mbx_for_domain(d, "example.com", a, &info, &err), FZ_OK);
	assert_string_equal(info.base_url, url("mbx.example.com", "/"));
	assert_string_equal(info.resource, url("mbx.example.com", ""));
	assert_string_equal(info.mta_client_id, CLIENT_ID);
	assert_int_equal(info.n_authorization_servers, 1);
	assert_string_equal(info.authorization_servers[0], url("as.example.com", ""));
	assert_non_null(info.resolve);
	assert_int_equal(fz_discovery_check_azp(d, "example.com", CLIENT_ID, &err), FZ_OK);
	assert_int_equal(fz_discovery_check_azp(d, "example.com", "mta.evil.test", &err),
			 FZ_ECLAIM);
	assert_non_null(strstr(err.msg, "is not the MTA of example.com"));
	assert_int_equal(fz_discovery_check_azp(d, "example.com", NULL, &err), FZ_ECLAIM);
	/* a domain without an MBX has no MTA to match */
	assert_int_equal(fz_discovery_check_azp(d, "nx.test", CLIENT_ID, &err), FZ_ENOTFOUND);
	fz_arena_free(a);
	fz_discovery_free(d);
}

/* --- lifetimes --------------------------------------------------------------- */

static void test_ttl_capped(void **state)
{
	fz_discovery_config cfg;
	fz_discovery *d;
	fz_arena *a = fz_arena_new(0, 0);
	unsigned m0;

	(void)state;
	base_config(&cfg);
	cfg.ttl_max_s = 5; /* below the DNS TTL and max-age of 600 */
	d = disc_cfg(&cfg);
	m0 = atomic_load(&T.hits_meta);
	as_ok(d, a, "example.com");
	advance(3);
	as_ok(d, a, "example.com");
	assert_int_equal(atomic_load(&T.hits_meta), m0 + 1);
	advance(3);
	as_ok(d, a, "example.com");
	assert_int_equal(atomic_load(&T.hits_meta), m0 + 2);
	fz_arena_free(a);
	fz_discovery_free(d);
}

static void test_ttl_from_dns(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);
	unsigned m0 = atomic_load(&T.hits_meta);

	(void)state;
	/* the target's A record lives 20 s; SRV and max-age 600 s */
	as_ok(d, a, "ttl.test");
	advance(SHORT_HOST_TTL - 5);
	as_ok(d, a, "ttl.test");
	assert_int_equal(atomic_load(&T.hits_meta), m0 + 1);
	advance(10);
	as_ok(d, a, "ttl.test");
	assert_int_equal(atomic_load(&T.hits_meta), m0 + 2);
	fz_arena_free(a);
	fz_discovery_free(d);
}

static void test_ttl_from_max_age(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);
	unsigned m0 = atomic_load(&T.hits_meta);

	(void)state;
	/* as.cc.test's metadata says max-age=7 */
	as_ok(d, a, "cc.test");
	advance(5);
	as_ok(d, a, "cc.test");
	assert_int_equal(atomic_load(&T.hits_meta), m0 + 1);
	advance(4);
	as_ok(d, a, "cc.test");
	assert_int_equal(atomic_load(&T.hits_meta), m0 + 2);
	fz_arena_free(a);
	fz_discovery_free(d);
}

/* --- the DNS server gone ------------------------------------------------------ */

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void dns_down(const char *server, const char *why)
{
	fz_discovery_config cfg;
	fz_discovery *d;
	fz_discovery_as_info info;
	fz_arena *a = fz_arena_new(0, 0);
	struct timespec t0;
	fz_err err = {0};

	base_config(&cfg);
	cfg.dns_server = server;
	cfg.dns_timeout_ms = 200;
	cfg.dns_tries = 2;
	d = disc_cfg(&cfg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(fz_discovery_as_for_domain(d, "example.com", a, &info, &err), FZ_EIO);
	if (strstr(err.msg, why) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", server, err.msg, why);
	/* 200 ms, then 400 ms: well under the bound */
	assert_true(seconds_since(&t0) < 5.0);
	fz_arena_free(a);
	fz_discovery_free(d);
}

static void test_dns_down(void **state)
{
	char server[32];
	uint16_t port = 0;
	int fd;

	(void)state;
	/* a socket that takes queries and never answers: a timeout */
	fd = bound_socket(SOCK_DGRAM, 0, &port);
	assert_true(fd >= 0);
	snprintf(server, sizeof(server), "127.0.0.1:%u", (unsigned)port);
	dns_down(server, "timed out");
	close(fd);
	/* nobody at all: refused at once (or timed out, if ICMP is lost) */
	dns_down(server, "dns:");
}

/* --- the HTTP client's resolve entries ---------------------------------------- */

static fz_code fetch(fz_http_client *c, const char *u, const char *resolve, fz_err *err)
{
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_client_resp resp;
	fz_arena *a = fz_arena_new(0, 0);
	fz_code rc;

	rq.url = u;
	rq.resolve = resolve ? &resolve : NULL;
	rq.nresolve = resolve ? 1 : 0;
	rc = fz_http_client_request(c, a, &rq, &resp, err);
	if (rc == FZ_OK && resp.status != 200)
		rc = fz_fail(err, FZ_EINTERNAL, "status %ld", resp.status);
	fz_arena_free(a);
	return rc;
}

static void test_client_resolve(void **state)
{
	const char *bad[] = {
		"as.ttl.test:%u",             /* no address */
		"-as.ttl.test:%u:127.0.0.1",  /* a removal in disguise */
		"+as.ttl.test:%u:127.0.0.1",
		"as.ttl.test:0:127.0.0.1",
		"as.ttl.test:99999:127.0.0.1",
		"as ttl.test:%u:127.0.0.1",
		"as.ttl.test:%u:127.0.0.1 x",
		"as.ttl.test:%u:",
		":%u:127.0.0.1",
	};
	fz_http_client_config cfg;
	fz_http_client *c;
	char entry[128];
	fz_err err = {0};
	size_t i;

	(void)state;
	fz_http_client_config_defaults(&cfg);
	cfg.ca_file = T.pki.ca;
	assert_int_equal(fz_http_client_new(&cfg, &c, &err), FZ_OK);
	snprintf(entry, sizeof(entry), "as.ttl.test:%u:127.0.0.1", (unsigned)T.port);
	/* .test never resolves anywhere: only the entry gets us there */
	assert_int_equal(fetch(c, url("as.ttl.test", "/"), entry, &err), FZ_OK);
	assert_int_equal(fetch(c, url("as.ttl.test", "/"), entry, &err), FZ_OK);
	/* and the pin is gone with its request */
	assert_int_equal(fetch(c, url("as.ttl.test", "/"), NULL, &err), FZ_EIO);
	/* the certificate is checked against the name, not the address */
	snprintf(entry, sizeof(entry), "unnamed.test:%u:127.0.0.1", (unsigned)T.port);
	assert_int_equal(fetch(c, url("unnamed.test", "/"), entry, &err), FZ_EIO);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(entry, sizeof(entry), bad[i], (unsigned)T.port);
#pragma GCC diagnostic pop
		if (fetch(c, url("as.ttl.test", "/"), entry, &err) != FZ_ESYNTAX)
			fail_msg("resolve entry \"%s\" was accepted", entry);
	}
	fz_http_client_free(c);
}

/* What the sink callbacks saw of one download. */
struct sink_seen {
	long status;       /* given to sink_begin */
	int begins;        /* sink_begin calls */
	size_t before;     /* bytes sunk before sink_begin ran */
	size_t bytes;
	int refuse;        /* sink_begin's answer */
};

static int seen_begin(void *ctx, long status)
{
	struct sink_seen *s = ctx;

	s->status = status;
	s->begins++;
	s->before = s->bytes;
	return s->refuse;
}

static int seen_bytes(void *ctx, const void *data, size_t n)
{
	struct sink_seen *s = ctx;

	(void)data;
	s->bytes += n;
	return 0;
}

static fz_code sink_fetch(fz_http_client *c, const char *entry, struct sink_seen *seen,
			  fz_err *err)
{
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_client_resp resp;
	fz_arena *a = fz_arena_new(0, 0);
	fz_code rc;

	rq.url = url("as.ttl.test", "/jwks");
	rq.resolve = &entry;
	rq.nresolve = 1;
	rq.sink = seen_bytes;
	rq.sink_begin = seen_begin;
	rq.sink_ctx = seen;
	rc = fz_http_client_request(c, a, &rq, &resp, err);
	fz_arena_free(a);
	return rc;
}

/* A resumed download must learn the status before its first byte lands
 * (mta_fetch.c empties its partial file on a 200); refusing stops it. */
static void test_client_sink_begin(void **state)
{
	fz_http_client_config cfg;
	fz_http_client *c;
	struct sink_seen seen = {0};
	char entry[128];
	fz_err err = {0};

	(void)state;
	fz_http_client_config_defaults(&cfg);
	cfg.ca_file = T.pki.ca;
	assert_int_equal(fz_http_client_new(&cfg, &c, &err), FZ_OK);
	snprintf(entry, sizeof(entry), "as.ttl.test:%u:127.0.0.1", (unsigned)T.port);
	assert_int_equal(sink_fetch(c, entry, &seen, &err), FZ_OK);
	assert_int_equal(seen.begins, 1);
	assert_int_equal(seen.status, 200);
	assert_int_equal(seen.before, 0);
	assert_true(seen.bytes > 0);

	memset(&seen, 0, sizeof(seen));
	seen.refuse = -1;
	assert_int_equal(sink_fetch(c, entry, &seen, &err), FZ_EIO);
	assert_int_equal(seen.begins, 1);
	assert_int_equal(seen.bytes, 0);
	fz_http_client_free(c);
}

static void test_resolve_url(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);
	const char *entry = NULL;
	char want[128];
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_discovery_resolve(d, url("mbx.example.com", "/x"), a, &entry, &err),
			 FZ_OK);
	snprintf(want, sizeof(want), "mbx.example.com:%u:127.0.0.1", (unsigned)T.port);
	assert_string_equal(entry, want);
	/* both families, IPv4 first, IPv6 in brackets as curl wants it */
	assert_int_equal(fz_discovery_resolve(d, "https://dual.example.com/", a, &entry, &err),
			 FZ_OK);
	assert_string_equal(entry, "dual.example.com:443:127.0.0.1,[::1]");
	assert_int_equal(fz_discovery_resolve(d, "https://127.0.0.1:8443/", a, &entry, &err),
			 FZ_OK);
	assert_null(entry);
	assert_int_equal(fz_discovery_resolve(d, "https://[::1]/", a, &entry, &err), FZ_OK);
	assert_null(entry);
	assert_int_equal(fz_discovery_resolve(d, "http://mbx.example.com/", a, &entry, &err),
			 FZ_ESYNTAX);
	assert_int_equal(fz_discovery_resolve(d, "https://nx.test/", a, &entry, &err),
			 FZ_ENOTFOUND);
	fz_arena_free(a);
	fz_discovery_free(d);
}

/* The own AS's token endpoint is resolved for every message sent: the
 * answer is kept for its TTL, so it holds while the DNS server is away
 * and is asked again once it expired. */
static void test_resolve_url_cached(void **state)
{
	fz_discovery *d = disc();
	fz_arena *a = fz_arena_new(0, 0);
	const char *first = NULL, *entry = NULL;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_discovery_resolve(d, url("mbx.example.com", "/x"), a, &first, &err),
			 FZ_OK);
	stop_dnsmasq();
	assert_int_equal(fz_discovery_resolve(d, url("mbx.example.com", "/x"), a, &entry, &err),
			 FZ_OK);
	assert_string_equal(entry, first);
	advance(3601); /* past ttl_max */
	assert_int_not_equal(fz_discovery_resolve(d, url("mbx.example.com", "/x"), a, &entry,
						  &err), FZ_OK);
	assert_int_equal(start_dnsmasq(), 0);
	fz_arena_free(a);
	fz_discovery_free(d);
}

static void test_config_refused(void **state)
{
	fz_discovery_config cfg;
	fz_discovery *d = NULL;
	fz_err err = {0};

	(void)state;
	base_config(&cfg);
	cfg.dns_server = "dns.example.com:53"; /* c-ares takes addresses only */
	assert_int_equal(fz_discovery_new(&cfg, &d, &err), FZ_ESYNTAX);
	base_config(&cfg);
	cfg.dns_server = "";
	assert_int_equal(fz_discovery_new(&cfg, &d, &err), FZ_ESYNTAX);
	base_config(&cfg);
	cfg.ttl_min_s = 10;
	cfg.ttl_max_s = 5;
	assert_int_equal(fz_discovery_new(&cfg, &d, &err), FZ_ESYNTAX);
	base_config(&cfg);
	cfg.dns_tries = 0;
	assert_int_equal(fz_discovery_new(&cfg, &d, &err), FZ_ESYNTAX);
	base_config(&cfg);
	cfg.cache_max_entries = 0;
	assert_int_equal(fz_discovery_new(&cfg, &d, &err), FZ_ESYNTAX);
	assert_null(d);
}

/* A table of one entry: each domain evicts the other, nothing breaks. */
static void test_cache_eviction(void **state)
{
	fz_discovery_config cfg;
	fz_discovery *d;
	fz_arena *a = fz_arena_new(0, 0);
	unsigned m0 = atomic_load(&T.hits_meta);

	(void)state;
	base_config(&cfg);
	cfg.cache_max_entries = 1;
	d = disc_cfg(&cfg);
	as_ok(d, a, "prio.test");
	as_ok(d, a, "ttl.test");
	as_ok(d, a, "prio.test");
	assert_int_equal(atomic_load(&T.hits_meta), m0 + 3);
	fz_arena_free(a);
	fz_discovery_free(d);
}

/* --- threads ---------------------------------------------------------------- */

struct worker {
	fz_discovery *d;
	int failures;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	const fz_keyset *set;
	fz_err err = {0};
	int i;

	for (i = 0; i < 20; i++) {
		fz_arena *a = fz_arena_new(0, 0);
		fz_discovery_as_info info;

		if (fz_discovery_as_for_domain(w->d, "example.com", a, &info, &err) != FZ_OK ||
		    fz_discovery_keys(w->d, "example.com", info.issuer, NULL, a, &set, &err) !=
			    FZ_OK ||
		    fz_discovery_check_azp(w->d, "example.com", CLIENT_ID, &err) != FZ_OK)
			w->failures++;
		if (i % 7 == 3)
			fz_discovery_flush(w->d);
		fz_arena_free(a);
	}
	return NULL;
}

static void test_threads(void **state)
{
	enum { N = 4 };
	fz_discovery *d = disc();
	struct worker w[N];
	pthread_t t[N];
	int i;

	(void)state;
	for (i = 0; i < N; i++) {
		w[i].d = d;
		w[i].failures = 0;
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	fz_discovery_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_srv_base),
		cmocka_unit_test(test_priority),
		cmocka_unit_test(test_weight),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_dot_target),
		cmocka_unit_test(test_nxdomain_and_negative_cache),
		cmocka_unit_test(test_redirect_followed),
		cmocka_unit_test(test_redirect_refused),
		cmocka_unit_test(test_issuer),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_rs_metadata),
		cmocka_unit_test(test_ttl_capped),
		cmocka_unit_test(test_ttl_from_dns),
		cmocka_unit_test(test_ttl_from_max_age),
		cmocka_unit_test(test_dns_down),
		cmocka_unit_test(test_client_resolve),
		cmocka_unit_test(test_client_sink_begin),
		cmocka_unit_test(test_resolve_url),
		cmocka_unit_test(test_resolve_url_cached),
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
