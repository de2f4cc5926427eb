/* The HTTP layer end to end: a server on 127.0.0.1, an ephemeral port and
 * a throwaway CA, spoken to by our own http_client over HTTPS (and, for
 * bytes no well-behaved client sends, by a raw socket to a plain-HTTP
 * server made for tests only). Routing, errors, limits, streaming, files
 * with Range, certificate verification, the access log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "http_client.h"
#include "http_server.h"
#include "tls_fixture.h"

#define FILE_SIZE 100000
#define BODY_LIMIT (64 * 1024)
#define STREAM_LIMIT (16 * 1024 * 1024)
#define BIG (5 * 1024 * 1024)

static struct {
	fz_test_pki pki;
	char data_file[FZ_TEST_PATH_MAX + 16];
	char log_file[FZ_TEST_PATH_MAX + 16];
	int log_fd;
	fz_http_server *srv;
	fz_http_client *cli;
	char base[64];
} T;

/* --- handlers -------------------------------------------------------- */

static fz_code h_hello(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_http_respond_json(req, 200, json_pack("{s:s}", "hello", "world"), err);
}

static fz_code h_message(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_http_respond_json(req, 200,
				    json_pack("{s:s,s:s,s:b}", "id",
					      fz_http_req_param(req, "id"), "method",
					      req->method, "head", req->head),
				    err);
}

static fz_code h_send(fz_http_req *req, void *ctx, fz_err *err)
{
	const char *a = fz_form_get(&req->query, "a");

	(void)ctx;
	return fz_http_respond_json(req, 202,
				    json_pack("{s:s,s:s?,s:s?}", "id",
					      fz_http_req_param(req, "id"), "a", a,
					      "nope", fz_http_req_param(req, "nope")),
				    err);
}

static fz_code h_drafts(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_http_respond_json(req, 200, json_pack("{s:b}", "drafts", 1), err);
}

static fz_code h_root(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_http_respond_bytes(req, 200, "text/plain", "root\n", 5, err);
}

static fz_code h_echo(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_http_respond_bytes(req, 200, "application/octet-stream", req->body,
				     req->body_len, err);
}

static fz_code h_form(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_form f;
	json_t *o;
	size_t i;
	fz_code rc;

	(void)ctx;
	rc = fz_http_req_form(req, &f, err);
	if (rc == FZ_OK)
		rc = fz_form_require_unique(&f, err);
	if (rc != FZ_OK)
		return rc;
	o = json_object();
	for (i = 0; i < f.count; i++)
		json_object_set_new(o, f.params[i].name, json_string(f.params[i].value));
	return fz_http_respond_json(req, 200, o, err);
}

static fz_code h_json(fz_http_req *req, void *ctx, fz_err *err)
{
	json_t *j;
	fz_code rc;

	(void)ctx;
	rc = fz_http_req_json(req, &j, err);
	if (rc != FZ_OK)
		return rc;
	/* the arena owns j; the response takes a reference of its own */
	return fz_http_respond_json(req, 200, json_incref(j), err);
}

/* Streamed upload hashed on the fly: the hash context is tied to the
 * arena, so an aborted upload frees it too. */
static void sha_free(void *h)
{
	fz_sha256_free(h);
}

static fz_code up_begin(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_sha256 *h;
	fz_err e = {0};

	if (ctx != NULL) {
		const char *auth = fz_http_req_header(req, "Authorization");

		if (auth == NULL || strcmp(auth, "Bearer ok") != 0) {
			fz_fail_http(&e, FZ_EKEY, 401, "invalid_token", "no token");
			return fz_http_respond_error(req, &e, "Bearer error=\"invalid_token\"");
		}
	}
	h = fz_sha256_new();
	if (h == NULL || fz_arena_on_free(req->arena, sha_free, h) == NULL)
		return fz_fail(err, FZ_ENOMEM, "no hash");
	req->state = h;
	return FZ_OK;
}

static fz_code up_chunk(fz_http_req *req, const void *data, size_t n, void *ctx,
			fz_err *err)
{
	(void)ctx;
	if (req->state == NULL)
		return fz_fail(err, FZ_EINTERNAL, "chunk before begin");
	fz_sha256_update(req->state, data, n);
	return FZ_OK;
}

static fz_code up_done(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_digest_str d;

	(void)ctx;
	fz_sha256_final(req->state, NULL, &d);
	return fz_http_respond_json(req, 201,
				    json_pack("{s:s,s:I}", "digest", d.s, "bytes",
					      (json_int_t)req->body_received),
				    err);
}

/* Refuses once a megabyte has arrived: an answer in the middle of a body. */
static fz_code up_chunk_refuse(fz_http_req *req, const void *data, size_t n,
			       void *ctx, fz_err *err)
{
	(void)data;
	(void)n;
	(void)ctx;
	if (req->body_received > 1024 * 1024)
		return fz_fail(err, FZ_EDENIED, "quota exceeded");
	return FZ_OK;
}

static fz_code h_file(fz_http_req *req, void *ctx, fz_err *err)
{
	int fd = open(T.data_file, O_RDONLY | O_CLOEXEC);

	(void)ctx;
	if (fd < 0)
		return fz_fail(err, FZ_EIO, "open");
	return fz_http_respond_file(req, "application/octet-stream", fd, FILE_SIZE, err);
}

static fz_code h_redirect(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_http_respond_redirect(req, 302, "https://example.com/next", err);
}

static fz_code h_notfound(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_fail(err, FZ_ENOTFOUND, "no message %s", fz_http_req_param(req, "id"));
}

static fz_code h_dpop(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_err e = {0};

	(void)ctx;
	(void)err;
	fz_fail_http(&e, FZ_ESIG, 401, "invalid_dpop_proof",
		     "proof \"signature\" does not verify\n");
	return fz_http_respond_error(req, &e, "DPoP error=\"invalid_dpop_proof\"");
}

static fz_code h_internal(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)req;
	(void)ctx;
	return fz_fail(err, FZ_EINTERNAL, "secret detail /var/lib/federizer");
}

static fz_code h_noresp(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)req;
	(void)ctx;
	(void)err;
	return FZ_OK;
}

/* Runs on a server thread: no cmocka asserts here (they longjmp); a
 * failed check shows as an X-Check header the test looks for. */
static fz_code h_twice(fz_http_req *req, void *ctx, fz_err *err)
{
	bool ok = true;
	int fd;

	(void)ctx;
	if (fz_http_respond_bytes(req, 200, "text/plain", "first", 5, err) != FZ_OK)
		return FZ_EINTERNAL;
	/* every later answer fails and releases what it was given */
	ok &= fz_http_respond_bytes(req, 201, NULL, "x", 1, err) == FZ_EINTERNAL;
	ok &= fz_http_respond_json(req, 201, json_object(), err) == FZ_EINTERNAL;
	fd = open(T.data_file, O_RDONLY | O_CLOEXEC);
	ok &= fz_http_respond_fd(req, 200, NULL, fd, 0, 1, err) == FZ_EINTERNAL;
	ok &= fcntl(fd, F_GETFD) == -1; /* closed */
	ok &= fz_http_respond_json(req, 201, NULL, err) == FZ_EINTERNAL;
	/* bad statuses and headers are refused */
	ok &= fz_http_add_header(req, "Bad Name", "v", err) == FZ_EINTERNAL;
	ok &= fz_http_add_header(req, "X-Split", "a\r\nb: c", err) == FZ_EINTERNAL;
	ok &= fz_http_respond_redirect(req, 200, "/x", err) == FZ_EINTERNAL;
	if (!ok)
		fz_http_add_header(req, "X-Check", "failed", err);
	return fz_fail(err, FZ_EINTERNAL, "the first answer stands");
}

static fz_code h_badstatus(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_http_respond_bytes(req, 99, NULL, "", 0, err);
}

static fz_code h_headers(fz_http_req *req, void *ctx, fz_err *err)
{
	const char *one;
	fz_code rc;

	(void)ctx;
	rc = fz_http_req_header_one(req, "X-Test", &one, err);
	if (rc != FZ_OK)
		return rc;
	fz_http_req_set_log_id(req, "<mid-1@example.com>");
	rc = fz_http_add_header(req, "X-Extra", "yes", err);
	if (rc == FZ_OK)
		rc = fz_http_add_header(req, "Cache-Control", "max-age=60", err);
	if (rc != FZ_OK)
		return rc;
	return fz_http_respond_json(req, 200,
				    json_pack("{s:s?,s:s?,s:s}", "one", one, "lower",
					      fz_http_req_header(req, "x-test"),
					      "client", req->client),
				    err);
}

static fz_code h_empty(fz_http_req *req, void *ctx, fz_err *err)
{
	(void)ctx;
	return fz_http_respond_empty(req, 204, err);
}

static fz_code h_stream_form(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_form f;
	json_t *j;
	bool ok = true;

	(void)ctx;
	/* a streaming route has no buffered body to parse */
	ok &= fz_http_req_form(req, &f, err) == FZ_EINTERNAL;
	ok &= fz_http_req_json(req, &j, err) == FZ_EINTERNAL;
	if (!ok)
		fz_http_add_header(req, "X-Check", "failed", err);
	return fz_http_respond_empty(req, 204, err);
}

static fz_code nop_chunk(fz_http_req *req, const void *d, size_t n, void *ctx,
			 fz_err *err)
{
	(void)req;
	(void)d;
	(void)n;
	(void)ctx;
	(void)err;
	return FZ_OK;
}

/* Suspension: parked requests wait in LOT until the test resumes them.
 * A cleanup on the request's arena takes it out, under LOT's lock, which
 * resumes hold too: the way a real notifier keeps its pointers valid. */
#define LOT_MAX 64

static struct {
	pthread_mutex_t lock;
	fz_http_req *reqs[LOT_MAX];
	size_t n;
} LOT = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void lot_leave(void *data)
{
	fz_http_req *req = data;
	size_t i;

	pthread_mutex_lock(&LOT.lock);
	for (i = 0; i < LOT.n; i++) {
		if (LOT.reqs[i] == req) {
			LOT.reqs[i] = LOT.reqs[--LOT.n];
			break;
		}
	}
	pthread_mutex_unlock(&LOT.lock);
}

static size_t lot_count(void)
{
	size_t n;

	pthread_mutex_lock(&LOT.lock);
	n = LOT.n;
	pthread_mutex_unlock(&LOT.lock);
	return n;
}

/* Resumes every parked request; they leave the lot as they answer. */
static void lot_resume_all(void)
{
	size_t i;

	pthread_mutex_lock(&LOT.lock);
	for (i = 0; i < LOT.n; i++)
		fz_http_req_resume(LOT.reqs[i]);
	LOT.n = 0;
	pthread_mutex_unlock(&LOT.lock);
}

static fz_code lot_enter(fz_http_req *req, fz_err *err)
{
	bool full;

	if (fz_arena_on_free(req->arena, lot_leave, req) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	pthread_mutex_lock(&LOT.lock);
	full = LOT.n == LOT_MAX;
	if (!full)
		LOT.reqs[LOT.n++] = req;
	pthread_mutex_unlock(&LOT.lock);
	return full ? fz_fail(err, FZ_ELIMIT, "lot full") : FZ_OK;
}

/* First call: park; second call (resumed): answer with the run count. */
static fz_code h_park(fz_http_req *req, void *ctx, fz_err *err)
{
	unsigned *runs = req->state;
	fz_code rc;

	if (runs != NULL) {
		(*runs)++;
		return fz_http_respond_json(req, 200, json_pack("{s:i}", "runs", (int)*runs), err);
	}
	runs = fz_arena_calloc(req->arena, 1, sizeof(*runs));
	if (runs == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	*runs = 1;
	req->state = runs;
	rc = lot_enter(req, err);
	if (rc == FZ_OK)
		rc = fz_http_req_suspend(req, err);
	/* ctx set: the resume comes before the handler returns, as when a
	 * notifier fires at once on another thread. */
	if (rc == FZ_OK && ctx != NULL)
		lot_resume_all();
	return rc;
}

static const fz_http_route_def routes[] = {
	{"GET", "/", 0, h_root, NULL, NULL, NULL},
	{"GET", "/hello", 0, h_hello, NULL, NULL, NULL},
	{"GET", "/api/v1/messages/{id}", 0, h_message, NULL, NULL, NULL},
	{"PUT", "/api/v1/messages/{id}", 0, h_message, NULL, NULL, NULL},
	{"DELETE", "/api/v1/messages/{id}", 0, h_message, NULL, NULL, NULL},
	{"GET", "/api/v1/messages/drafts", 0, h_drafts, NULL, NULL, NULL},
	{"POST", "/api/v1/messages/{id}/send", 0, h_send, NULL, NULL, NULL},
	{"GET", "/api/v1/missing/{id}", 0, h_notfound, NULL, NULL, NULL},
	{"POST", "/echo", 0, h_echo, NULL, NULL, NULL},
	{"POST", "/form", 0, h_form, NULL, NULL, NULL},
	{"POST", "/json", 0, h_json, NULL, NULL, NULL},
	{"POST", "/upload", FZ_ROUTE_STREAM, up_done, up_begin, up_chunk, NULL},
	{"POST", "/upload-auth", FZ_ROUTE_STREAM, up_done, up_begin, up_chunk, &T},
	{"POST", "/upload-quota", FZ_ROUTE_STREAM, up_done, NULL, up_chunk_refuse, NULL},
	{"POST", "/upload-noparse", FZ_ROUTE_STREAM, h_stream_form, NULL, nop_chunk, NULL},
	{"GET", "/file", 0, h_file, NULL, NULL, NULL},
	{"POST", "/fetch", 0, h_file, NULL, NULL, NULL},
	{"GET", "/redirect", 0, h_redirect, NULL, NULL, NULL},
	{"GET", "/dpop", 0, h_dpop, NULL, NULL, NULL},
	{"GET", "/internal", 0, h_internal, NULL, NULL, NULL},
	{"GET", "/noresp", 0, h_noresp, NULL, NULL, NULL},
	{"GET", "/twice", 0, h_twice, NULL, NULL, NULL},
	{"GET", "/badstatus", 0, h_badstatus, NULL, NULL, NULL},
	{"GET", "/headers", 0, h_headers, NULL, NULL, NULL},
	{"HEAD", "/empty", 0, h_empty, NULL, NULL, NULL},
	{"GET", "/empty", 0, h_hello, NULL, NULL, NULL},
	{"GET", "/park", 0, h_park, NULL, NULL, NULL},
	{"GET", "/park-race", 0, h_park, NULL, NULL, &T},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

/* --- fixtures -------------------------------------------------------- */

static int write_data_file(void)
{
	unsigned char buf[FILE_SIZE];
	int fd;
	size_t i;

	for (i = 0; i < FILE_SIZE; i++)
		buf[i] = (unsigned char)(i * 7 % 251);
	snprintf(T.data_file, sizeof(T.data_file), "%s/data.bin", T.pki.dir);
	fd = open(T.data_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static void test_config(fz_http_server_config *cfg)
{
	fz_http_server_config_defaults(cfg);
	cfg->listen_address = "127.0.0.1";
	cfg->port = 0;
	cfg->threads = 2;
	cfg->max_body_bytes = BODY_LIMIT;
	cfg->max_stream_bytes = STREAM_LIMIT;
	cfg->max_discard_bytes = 2 * BIG;
	cfg->log_fd = T.log_fd;
}

static int setup(void **state)
{
	fz_http_server_config cfg;
	fz_http_client_config ccfg;
	fz_err err = {0};
	size_t i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	if (fz_test_pki_make(&T.pki) != 0 || write_data_file() != 0)
		return -1;
	snprintf(T.log_file, sizeof(T.log_file), "%s/access.log", T.pki.dir);
	T.log_fd = open(T.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (T.log_fd < 0)
		return -1;
	test_config(&cfg);
	cfg.tls_cert_file = T.pki.cert;
	cfg.tls_key_file = T.pki.key;
	if (fz_http_server_new(&cfg, &T.srv, &err) != FZ_OK)
		goto fail;
	for (i = 0; i < NROUTES; i++)
		if (fz_http_server_route(T.srv, &routes[i], &err) != FZ_OK)
			goto fail;
	if (fz_http_server_start(T.srv, &err) != FZ_OK)
		goto fail;
	snprintf(T.base, sizeof(T.base), "https://localhost:%u",
		 (unsigned)fz_http_server_port(T.srv));
	fz_http_client_config_defaults(&ccfg);
	ccfg.ca_file = T.pki.ca;
	ccfg.max_body_bytes = 8 * 1024 * 1024;
	if (fz_http_client_new(&ccfg, &T.cli, &err) != FZ_OK)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "setup: %s\n", err.msg);
	return -1;
}

static int teardown(void **state)
{
	(void)state;
	fz_http_client_free(T.cli);
	fz_http_server_free(T.srv);
	close(T.log_fd);
	unlink(T.data_file);
	unlink(T.log_file);
	fz_test_pki_remove(&T.pki);
	return 0;
}

/* --- client helpers -------------------------------------------------- */

typedef struct call {
	fz_arena *arena;
	fz_http_client_resp resp;
	json_t *json;
} call;

static void call_free(call *c)
{
	json_decref(c->json);
	fz_arena_free(c->arena);
}

static fz_code do_call(call *c, const char *method, const char *path,
		       const fz_http_header *h, size_t nh, const void *body,
		       size_t len, fz_err *err)
{
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	char url[512];
	fz_code rc;

	memset(c, 0, sizeof(*c));
	c->arena = fz_arena_new(0, 0);
	snprintf(url, sizeof(url), "%s%s", T.base, path);
	rq.method = method;
	rq.url = url;
	rq.headers = h;
	rq.nheaders = nh;
	rq.body = body;
	rq.body_len = len;
	rc = fz_http_client_request(T.cli, c->arena, &rq, &c->resp, err);
	if (rc == FZ_OK && c->resp.body_len > 0)
		c->json = json_loadb(c->resp.body, c->resp.body_len, 0, NULL);
	return rc;
}

static call get(const char *method, const char *path)
{
	call c;
	fz_err err = {0};

	if (do_call(&c, method, path, NULL, 0, NULL, 0, &err) != FZ_OK)
		fail_msg("%s %s: %s", method, path, err.msg);
	return c;
}

static call post(const char *path, const char *ctype, const void *body, size_t n)
{
	fz_http_header h[] = {{"Content-Type", ctype}};
	call c;
	fz_err err = {0};

	if (do_call(&c, "POST", path, h, ctype ? 1 : 0, body, n, &err) != FZ_OK)
		fail_msg("POST %s: %s", path, err.msg);
	return c;
}

static const char *jstr(const call *c, const char *key)
{
	return json_string_value(json_object_get(c->json, key));
}

static const char *hdr(const call *c, const char *name)
{
	return fz_http_client_resp_header(&c->resp, name);
}

/* The shape SPEC §12 fixes for every error. */
static void expect_error(const call *c, long status, const char *code)
{
	assert_int_equal(c->resp.status, status);
	assert_non_null(c->json);
	assert_int_equal(json_object_size(c->json), 2);
	assert_string_equal(jstr(c, "error"), code);
	assert_non_null(jstr(c, "error_description"));
	assert_string_equal(hdr(c, "Content-Type"), "application/json");
	assert_string_equal(hdr(c, "Cache-Control"), "no-store");
}

/* --- routing --------------------------------------------------------- */

static void test_json_and_headers(void **state)
{
	call c = get("GET", "/hello");

	(void)state;
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(jstr(&c, "hello"), "world");
	assert_string_equal(hdr(&c, "content-type"), "application/json");
	assert_string_equal(hdr(&c, "Cache-Control"), "no-store");
	assert_string_equal(hdr(&c, "X-Content-Type-Options"), "nosniff");
	call_free(&c);
	c = get("GET", "/");
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(c.resp.body, "root\n");
	assert_null(hdr(&c, "Cache-Control"));
	call_free(&c);
}

static void test_path_params(void **state)
{
	call c = get("GET", "/api/v1/messages/%3Cb07d0cdf%40example.com%3E");

	(void)state;
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(jstr(&c, "id"), "<b07d0cdf@example.com>");
	assert_string_equal(jstr(&c, "method"), "GET");
	call_free(&c);
	c = post("/api/v1/messages/m1/send?a=x+y%21", NULL, NULL, 0);
	assert_int_equal(c.resp.status, 202);
	assert_string_equal(jstr(&c, "id"), "m1");
	assert_string_equal(jstr(&c, "a"), "x y!");
	assert_true(json_is_null(json_object_get(c.json, "nope")));
	call_free(&c);
	/* an encoded slash stays inside its segment */
	c = get("GET", "/api/v1/messages/a%2Fb");
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(jstr(&c, "id"), "a/b");
	call_free(&c);
}

static void test_literal_beats_param(void **state)
{
	call c = get("GET", "/api/v1/messages/drafts");

	(void)state;
	assert_int_equal(c.resp.status, 200);
	assert_true(json_is_true(json_object_get(c.json, "drafts")));
	call_free(&c);
	/* the literal route owns the path: PUT there is 405, not {id} */
	c = get("PUT", "/api/v1/messages/drafts");
	expect_error(&c, 405, "invalid_request");
	assert_string_equal(hdr(&c, "Allow"), "GET, HEAD");
	call_free(&c);
}

static void test_not_found(void **state)
{
	const char *paths[] = {"/nope", "/hello/", "/api/v1/messages",
			       "/api/v1/messages/x/send/more", "//hello",
			       "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		call c = get("GET", paths[i]);

		expect_error(&c, 404, "not_found");
		call_free(&c);
	}
}

static void test_method_not_allowed(void **state)
{
	call c = get("POST", "/api/v1/messages/m1");

	(void)state;
	expect_error(&c, 405, "invalid_request");
	assert_string_equal(hdr(&c, "Allow"), "GET, PUT, DELETE, HEAD");
	call_free(&c);
	c = get("DELETE", "/api/v1/messages/m1");
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(jstr(&c, "method"), "DELETE");
	call_free(&c);
	c = get("GET", "/echo");
	expect_error(&c, 405, "invalid_request");
	assert_string_equal(hdr(&c, "Allow"), "POST");
	call_free(&c);
	c = get("PATCH", "/hello");
	expect_error(&c, 405, "invalid_request");
	call_free(&c);
}

static void test_head(void **state)
{
	call c = get("HEAD", "/api/v1/messages/m1");

	(void)state;
	/* a GET route answers HEAD: the headers, no body */
	assert_int_equal(c.resp.status, 200);
	assert_int_equal(c.resp.body_len, 0);
	assert_non_null(hdr(&c, "Content-Length"));
	assert_string_not_equal(hdr(&c, "Content-Length"), "0");
	call_free(&c);
	/* unless the resource has a HEAD route of its own */
	c = get("HEAD", "/empty");
	assert_int_equal(c.resp.status, 204);
	call_free(&c);
	c = get("HEAD", "/file");
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(hdr(&c, "Content-Length"), "100000");
	assert_string_equal(hdr(&c, "Accept-Ranges"), "bytes");
	assert_int_equal(c.resp.body_len, 0);
	call_free(&c);
}

/* --- errors from handlers ------------------------------------------- */

static void test_handler_failure(void **state)
{
	call c = get("GET", "/api/v1/missing/m9");

	(void)state;
	expect_error(&c, 404, "not_found");
	assert_string_equal(jstr(&c, "error_description"), "no message m9");
	call_free(&c);
}

static void test_www_authenticate(void **state)
{
	call c = get("GET", "/dpop");

	(void)state;
	expect_error(&c, 401, "invalid_dpop_proof");
	assert_string_equal(hdr(&c, "WWW-Authenticate"), "DPoP error=\"invalid_dpop_proof\"");
	/* RFC 6749 §5.2 charset: no quote, no backslash, no control */
	assert_string_equal(jstr(&c, "error_description"),
			    "proof ?signature? does not verify?");
	call_free(&c);
}

static void test_internal_detail_hidden(void **state)
{
	call c = get("GET", "/internal");

	(void)state;
	expect_error(&c, 500, "server_error");
	assert_string_equal(jstr(&c, "error_description"), "internal error");
	call_free(&c);
	c = get("GET", "/noresp");
	expect_error(&c, 500, "server_error");
	call_free(&c);
	c = get("GET", "/badstatus");
	expect_error(&c, 500, "server_error");
	call_free(&c);
}

static void test_first_response_stands(void **state)
{
	call c = get("GET", "/twice");

	(void)state;
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(c.resp.body, "first");
	assert_null(hdr(&c, "X-Check"));
	call_free(&c);
}

static void test_redirect(void **state)
{
	call c = get("GET", "/redirect");

	(void)state;
	assert_int_equal(c.resp.status, 302);
	assert_string_equal(hdr(&c, "Location"), "https://example.com/next");
	assert_int_equal(c.resp.body_len, 0);
	call_free(&c);
}

/* --- request headers, query ----------------------------------------- */

static void test_request_headers(void **state)
{
	fz_http_header one[] = {{"x-TEST", "v1"}};
	fz_http_header two[] = {{"X-Test", "v1"}, {"X-Test", "v2"}};
	call c;
	fz_err err = {0};

	(void)state;
	assert_int_equal(do_call(&c, "GET", "/headers", one, 1, NULL, 0, &err), FZ_OK);
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(jstr(&c, "one"), "v1");
	assert_string_equal(jstr(&c, "lower"), "v1");
	assert_string_equal(jstr(&c, "client"), "127.0.0.1");
	assert_string_equal(hdr(&c, "X-Extra"), "yes");
	/* the handler's own Cache-Control replaces the default */
	assert_string_equal(hdr(&c, "Cache-Control"), "max-age=60");
	call_free(&c);
	assert_int_equal(do_call(&c, "GET", "/headers", two, 2, NULL, 0, &err), FZ_OK);
	expect_error(&c, 400, "invalid_request");
	assert_non_null(strstr(jstr(&c, "error_description"), "X-Test sent 2 times"));
	call_free(&c);
}

static void test_bad_query(void **state)
{
	call c = get("GET", "/hello?a=%zz");

	(void)state;
	expect_error(&c, 400, "invalid_request");
	assert_non_null(strstr(jstr(&c, "error_description"), "query string"));
	call_free(&c);
	c = get("GET", "/hello?a=1&a=2&b");
	assert_int_equal(c.resp.status, 200); /* repeats are the handler's call */
	call_free(&c);
}

/* --- bodies ---------------------------------------------------------- */

static void test_buffered_body(void **state)
{
	char *big = malloc(BODY_LIMIT);
	call c;

	(void)state;
	memset(big, 'z', BODY_LIMIT);
	c = post("/echo", "application/octet-stream", big, BODY_LIMIT);
	assert_int_equal(c.resp.status, 200);
	assert_int_equal(c.resp.body_len, BODY_LIMIT);
	assert_memory_equal(c.resp.body, big, BODY_LIMIT);
	call_free(&c);
	c = post("/echo", NULL, NULL, 0);
	assert_int_equal(c.resp.status, 200);
	assert_int_equal(c.resp.body_len, 0);
	call_free(&c);
	free(big);
}

static void test_buffered_body_too_large(void **state)
{
	size_t n = BODY_LIMIT + 1;
	char *big = calloc(1, n);
	call c;

	(void)state;
	c = post("/echo", "application/octet-stream", big, n);
	expect_error(&c, 413, "invalid_request");
	assert_non_null(strstr(jstr(&c, "error_description"), "65536"));
	call_free(&c);
	free(big);
}

static void test_form_body(void **state)
{
	const char *f = "grant_type=authorization_code&code=a%2Fb&redirect_uri=x";
	call c = post("/form", "application/x-www-form-urlencoded; charset=UTF-8", f,
		      strlen(f));

	(void)state;
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(jstr(&c, "code"), "a/b");
	call_free(&c);
	c = post("/form", "application/x-www-form-urlencoded", "a=1&a=2", 7);
	expect_error(&c, 400, "invalid_request");
	assert_non_null(strstr(jstr(&c, "error_description"), "a is repeated"));
	call_free(&c);
	c = post("/form", "application/x-www-form-urlencoded", "a=%", 3);
	expect_error(&c, 400, "invalid_request");
	call_free(&c);
	c = post("/form", "application/json", "{}", 2);
	expect_error(&c, 415, "invalid_request");
	call_free(&c);
	c = post("/form", "text/plain", "a=1", 3);
	expect_error(&c, 415, "invalid_request");
	call_free(&c);
}

static void test_json_body(void **state)
{
	call c = post("/json", "application/json", "{\"a\":[1,2]}", 11);

	(void)state;
	assert_int_equal(c.resp.status, 200);
	assert_int_equal(json_array_size(json_object_get(c.json, "a")), 2);
	call_free(&c);
	c = post("/json", "application/json", "{\"a\":1,\"a\":2}", 13);
	expect_error(&c, 400, "invalid_request");
	assert_non_null(strstr(jstr(&c, "error_description"), "duplicate"));
	call_free(&c);
	c = post("/json", "application/json", "{} x", 4);
	expect_error(&c, 400, "invalid_request");
	call_free(&c);
	c = post("/json", "application/jsonx", "{}", 2);
	expect_error(&c, 415, "invalid_request");
	call_free(&c);
}

static void test_streaming_upload(void **state)
{
	unsigned char *big = malloc(BIG);
	fz_digest_str want;
	call c;
	size_t i;

	(void)state;
	for (i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 31 + (i >> 12));
	fz_digest(big, BIG, &want);
	c = post("/upload", "application/octet-stream", big, BIG);
	assert_int_equal(c.resp.status, 201);
	assert_string_equal(jstr(&c, "digest"), want.s);
	assert_int_equal(json_integer_value(json_object_get(c.json, "bytes")), BIG);
	call_free(&c);
	/* empty uploads still go through begin and the handler */
	fz_digest("", 0, &want);
	c = post("/upload", "application/octet-stream", NULL, 0);
	assert_int_equal(c.resp.status, 201);
	assert_string_equal(jstr(&c, "digest"), want.s);
	call_free(&c);
	free(big);
}

static void test_streaming_refused_before_body(void **state)
{
	fz_http_header h[] = {{"Authorization", "Bearer ok"}};
	char *big = calloc(1, BIG);
	call c;
	fz_err err = {0};

	(void)state;
	c = post("/upload-auth", "application/octet-stream", big, BIG);
	expect_error(&c, 401, "invalid_token");
	assert_string_equal(hdr(&c, "WWW-Authenticate"), "Bearer error=\"invalid_token\"");
	call_free(&c);
	assert_int_equal(do_call(&c, "POST", "/upload-auth", h, 1, big, 1000, &err), FZ_OK);
	assert_int_equal(c.resp.status, 201);
	call_free(&c);
	free(big);
}

static void test_streaming_refused_midway(void **state)
{
	char *big = calloc(1, BIG);
	call c;
	fz_err err = {0};
	fz_code rc;

	(void)state;
	/* the refusal goes out once the rest of the body has been dropped */
	rc = do_call(&c, "POST", "/upload-quota", NULL, 0, big, BIG, &err);
	assert_int_equal(rc, FZ_OK);
	expect_error(&c, 403, "access_denied");
	assert_string_equal(jstr(&c, "error_description"), "quota exceeded");
	call_free(&c);
	free(big);
	/* and the server is fine afterwards */
	c = get("GET", "/hello");
	assert_int_equal(c.resp.status, 200);
	call_free(&c);
}

static void test_streaming_too_large(void **state)
{
	size_t n = STREAM_LIMIT + 1;
	char *big = calloc(1, n);
	call c;

	(void)state;
	c = post("/upload", "application/octet-stream", big, n);
	expect_error(&c, 413, "invalid_request");
	call_free(&c);
	free(big);
}

static void test_streaming_route_has_no_buffer(void **state)
{
	call c = post("/upload-noparse", "application/json", "{}", 2);

	(void)state;
	assert_int_equal(c.resp.status, 204);
	assert_null(hdr(&c, "X-Check"));
	call_free(&c);
}

/* --- files and ranges ------------------------------------------------ */

static void expect_file_bytes(const call *c, size_t first, size_t n)
{
	size_t i;

	assert_int_equal(c->resp.body_len, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)c->resp.body[i] != (unsigned char)((first + i) * 7 % 251))
			fail_msg("byte %zu differs", first + i);
}

static call ranged(const char *method, const char *path, const char *range)
{
	fz_http_header h[] = {{"Range", range}};
	call c;
	fz_err err = {0};

	if (do_call(&c, method, path, h, 1, NULL, 0, &err) != FZ_OK)
		fail_msg("%s %s: %s", method, path, err.msg);
	return c;
}

static void test_file_whole(void **state)
{
	call c = get("GET", "/file");

	(void)state;
	assert_int_equal(c.resp.status, 200);
	assert_string_equal(hdr(&c, "Accept-Ranges"), "bytes");
	assert_string_equal(hdr(&c, "Content-Type"), "application/octet-stream");
	assert_null(hdr(&c, "Content-Range"));
	expect_file_bytes(&c, 0, FILE_SIZE);
	call_free(&c);
}

static void test_file_ranges(void **state)
{
	call c = ranged("GET", "/file", "bytes=100-199");

	(void)state;
	assert_int_equal(c.resp.status, 206);
	assert_string_equal(hdr(&c, "Content-Range"), "bytes 100-199/100000");
	expect_file_bytes(&c, 100, 100);
	call_free(&c);
	c = ranged("GET", "/file", "bytes=99990-");
	assert_int_equal(c.resp.status, 206);
	assert_string_equal(hdr(&c, "Content-Range"), "bytes 99990-99999/100000");
	expect_file_bytes(&c, 99990, 10);
	call_free(&c);
	c = ranged("GET", "/file", "bytes=-5");
	assert_int_equal(c.resp.status, 206);
	expect_file_bytes(&c, 99995, 5);
	call_free(&c);
	/* a resumed fetch is a POST (SPEC §8.3) */
	c = ranged("POST", "/fetch", "bytes=50000-");
	assert_int_equal(c.resp.status, 206);
	assert_string_equal(hdr(&c, "Content-Range"), "bytes 50000-99999/100000");
	expect_file_bytes(&c, 50000, 50000);
	call_free(&c);
}

static void test_file_range_refused(void **state)
{
	call c = ranged("GET", "/file", "bytes=100000-");

	(void)state;
	expect_error(&c, 416, "invalid_request");
	assert_string_equal(hdr(&c, "Content-Range"), "bytes */100000");
	call_free(&c);
	c = ranged("GET", "/file", "bytes=0-1,5-6");
	expect_error(&c, 416, "invalid_request");
	assert_string_equal(hdr(&c, "Content-Range"), "bytes */100000");
	assert_non_null(strstr(jstr(&c, "error_description"), "multiple"));
	call_free(&c);
	c = ranged("GET", "/file", "bytes=9-1");
	expect_error(&c, 400, "invalid_request");
	assert_null(hdr(&c, "Content-Range"));
	call_free(&c);
}

/* --- the client ------------------------------------------------------ */

static void test_untrusted_ca_fails(void **state)
{
	fz_http_client_config cfg;
	fz_http_client *cli;
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_client_resp resp;
	fz_arena *a = fz_arena_new(0, 0);
	char url[128];
	fz_err err = {0};

	(void)state;
	snprintf(url, sizeof(url), "%s/hello", T.base);
	rq.url = url;
	fz_http_client_config_defaults(&cfg);
	cfg.ca_file = T.pki.other_ca;
	assert_int_equal(fz_http_client_new(&cfg, &cli, &err), FZ_OK);
	assert_int_equal(fz_http_client_request(cli, a, &rq, &resp, &err), FZ_EIO);
	assert_non_null(strstr(err.msg, "certificate"));
	assert_int_equal(resp.status, 0);
	fz_http_client_free(cli);
	/* the system store does not know our CA either */
	cfg.ca_file = NULL;
	assert_int_equal(fz_http_client_new(&cfg, &cli, &err), FZ_OK);
	assert_int_equal(fz_http_client_request(cli, a, &rq, &resp, &err), FZ_EIO);
	fz_http_client_free(cli);
	fz_arena_free(a);
}

/* A certificate from the trusted CA, but for another name. */
static void test_wrong_name_fails(void **state)
{
	fz_http_server_config scfg;
	fz_http_server *s;
	fz_http_client_config cfg;
	fz_http_client *cli;
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_client_resp resp;
	fz_arena *a = fz_arena_new(0, 0);
	char url[128];
	fz_err err = {0};

	(void)state;
	test_config(&scfg);
	scfg.tls_cert_file = T.pki.wrong_name_cert;
	scfg.tls_key_file = T.pki.key;
	scfg.threads = 1;
	assert_int_equal(fz_http_server_new(&scfg, &s, &err), FZ_OK);
	assert_int_equal(fz_http_server_add(s, "GET", "/hello", h_hello, NULL, &err), FZ_OK);
	assert_int_equal(fz_http_server_start(s, &err), FZ_OK);
	snprintf(url, sizeof(url), "https://localhost:%u/hello",
		 (unsigned)fz_http_server_port(s));
	rq.url = url;
	fz_http_client_config_defaults(&cfg);
	cfg.ca_file = T.pki.ca;
	assert_int_equal(fz_http_client_new(&cfg, &cli, &err), FZ_OK);
	assert_int_equal(fz_http_client_request(cli, a, &rq, &resp, &err), FZ_EIO);
	assert_non_null(strstr(err.msg, "localhost"));
	fz_http_client_free(cli);
	fz_http_server_free(s);
	fz_arena_free(a);
}

static void test_ip_in_certificate(void **state)
{
	fz_http_client_config cfg;
	fz_http_client *cli;
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_client_resp resp;
	fz_arena *a = fz_arena_new(0, 0);
	char url[128];
	fz_err err = {0};

	(void)state;
	rq.url = url;
	fz_http_client_config_defaults(&cfg);
	/* the IP address is in the certificate too */
	cfg.ca_file = T.pki.ca;
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/hello",
		 (unsigned)fz_http_server_port(T.srv));
	assert_int_equal(fz_http_client_new(&cfg, &cli, &err), FZ_OK);
	assert_int_equal(fz_http_client_request(cli, a, &rq, &resp, &err), FZ_OK);
	assert_int_equal(resp.status, 200);
	fz_http_client_free(cli);
	fz_arena_free(a);
}

static void test_client_refusals(void **state)
{
	fz_http_header bad[] = {{"X-A", "1\r\nX-B: 2"}};
	fz_http_header badname[] = {{"X A", "1"}};
	call c;
	fz_err err = {0};
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_arena *a = fz_arena_new(0, 0);

	(void)state;
	assert_int_equal(do_call(&c, "GET", "/hello", bad, 1, NULL, 0, &err), FZ_ESYNTAX);
	call_free(&c);
	assert_int_equal(do_call(&c, "GET", "/hello", badname, 1, NULL, 0, &err),
			 FZ_ESYNTAX);
	call_free(&c);
	assert_int_equal(do_call(&c, "GET", "/hello", NULL, 0, "x", 1, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "GET with a body"));
	call_free(&c);
	rq.url = "http://127.0.0.1:1/hello";
	assert_int_equal(fz_http_client_request(T.cli, a, &rq, &c.resp, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "only https"));
	rq.url = "not a url";
	assert_int_equal(fz_http_client_request(T.cli, a, &rq, &c.resp, &err), FZ_ESYNTAX);
	rq.url = NULL;
	assert_int_equal(fz_http_client_request(T.cli, a, &rq, &c.resp, &err), FZ_ESYNTAX);
	/* nobody listens on port 1 */
	rq.url = "https://127.0.0.1:1/hello";
	assert_int_equal(fz_http_client_request(T.cli, a, &rq, &c.resp, &err), FZ_EIO);
	fz_arena_free(a);
}

static void test_client_limits(void **state)
{
	fz_http_client_config cfg;
	fz_http_client *cli;
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_client_resp resp;
	fz_arena *a = fz_arena_new(0, 0);
	char url[128];
	fz_err err = {0};

	(void)state;
	snprintf(url, sizeof(url), "%s/file", T.base);
	rq.url = url;
	fz_http_client_config_defaults(&cfg);
	cfg.ca_file = T.pki.ca;
	cfg.max_body_bytes = FILE_SIZE - 1;
	assert_int_equal(fz_http_client_new(&cfg, &cli, &err), FZ_OK);
	assert_int_equal(fz_http_client_request(cli, a, &rq, &resp, &err), FZ_ELIMIT);
	assert_non_null(strstr(err.msg, "max_body_bytes"));
	fz_http_client_free(cli);
	cfg.max_body_bytes = FILE_SIZE;
	cfg.max_headers = 2;
	assert_int_equal(fz_http_client_new(&cfg, &cli, &err), FZ_OK);
	assert_int_equal(fz_http_client_request(cli, a, &rq, &resp, &err), FZ_ELIMIT);
	assert_non_null(strstr(err.msg, "max_headers"));
	fz_http_client_free(cli);
	cfg.max_headers = 100;
	cfg.max_header_bytes = 40;
	assert_int_equal(fz_http_client_new(&cfg, &cli, &err), FZ_OK);
	assert_int_equal(fz_http_client_request(cli, a, &rq, &resp, &err), FZ_ELIMIT);
	fz_http_client_free(cli);
	fz_arena_free(a);
}

static void test_client_download_to_fd(void **state)
{
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_client_config cfg;
	fz_http_client *cli;
	fz_http_client_resp resp;
	fz_arena *a = fz_arena_new(0, 0);
	char url[128], path[FZ_TEST_PATH_MAX + 16];
	unsigned char *back = malloc(FILE_SIZE);
	struct stat st;
	fz_err err = {0};
	size_t i;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/download.bin", T.pki.dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	snprintf(url, sizeof(url), "%s/file", T.base);
	rq.url = url;
	rq.out_fd = fd;
	assert_int_equal(fz_http_client_request(T.cli, a, &rq, &resp, &err), FZ_OK);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.written, FILE_SIZE);
	assert_int_equal(resp.body_len, 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, FILE_SIZE);
	assert_int_equal(pread(fd, back, FILE_SIZE, 0), FILE_SIZE);
	for (i = 0; i < FILE_SIZE; i++)
		assert_int_equal(back[i], (unsigned char)(i * 7 % 251));
	/* bounded too */
	fz_http_client_config_defaults(&cfg);
	cfg.ca_file = T.pki.ca;
	cfg.max_download_bytes = 1000;
	assert_int_equal(fz_http_client_new(&cfg, &cli, &err), FZ_OK);
	assert_int_equal(fz_http_client_request(cli, a, &rq, &resp, &err), FZ_ELIMIT);
	fz_http_client_free(cli);
	/* and a descriptor that cannot be written is an I/O error */
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	rq.out_fd = fd;
	assert_int_equal(fz_http_client_request(T.cli, a, &rq, &resp, &err), FZ_EIO);
	close(fd);
	unlink(path);
	free(back);
	fz_arena_free(a);
}

/* Many clients at once, each on its own thread with its own client, as the
 * MTA will: every answer must be the one asked for. */
#define WORKERS 8
#define CALLS 25

static void *worker(void *arg)
{
	uintptr_t id = (uintptr_t)arg, bad = 0;
	fz_http_client_config cfg;
	fz_http_client *cli;
	fz_err err = {0};
	int i;

	fz_http_client_config_defaults(&cfg);
	cfg.ca_file = T.pki.ca;
	if (fz_http_client_new(&cfg, &cli, &err) != FZ_OK)
		return (void *)1;
	for (i = 0; i < CALLS; i++) {
		fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
		fz_http_client_resp resp;
		fz_arena *a = fz_arena_new(0, 0);
		char url[128], want[64];

		snprintf(url, sizeof(url), "%s/api/v1/messages/w%zu-%d", T.base, (size_t)id, i);
		snprintf(want, sizeof(want), "\"id\":\"w%zu-%d\"", (size_t)id, i);
		rq.url = url;
		if (fz_http_client_request(cli, a, &rq, &resp, &err) != FZ_OK ||
		    resp.status != 200 || strstr(resp.body, want) == NULL)
			bad++;
		fz_arena_free(a);
	}
	fz_http_client_free(cli);
	return (void *)bad;
}

static void test_concurrent_clients(void **state)
{
	pthread_t th[WORKERS];
	void *bad;
	uintptr_t i;

	(void)state;
	for (i = 0; i < WORKERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker, (void *)i), 0);
	for (i = 0; i < WORKERS; i++) {
		assert_int_equal(pthread_join(th[i], &bad), 0);
		assert_ptr_equal(bad, NULL);
	}
}

/* --- suspend and resume -------------------------------------------- */

static double since_s(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

/* Waits up to 5 s for n requests to be parked. */
static bool lot_wait(size_t n)
{
	int i;

	for (i = 0; i < 500 && lot_count() < n; i++)
		sleep_ms(10);
	return lot_count() == n;
}

typedef struct parker {
	const char *base;
	long status;
	int runs;
	double seconds;
} parker;

/* One GET /park on its own client; records what came back. */
static void *park_call(void *arg)
{
	parker *p = arg;
	fz_http_client_req rq = FZ_HTTP_CLIENT_REQ_INIT;
	fz_http_client_config cfg;
	fz_http_client_resp resp;
	fz_http_client *cli;
	fz_arena *a = fz_arena_new(0, 0);
	struct timespec t0;
	fz_err err = {0};
	char url[128];
	json_t *j;

	fz_http_client_config_defaults(&cfg);
	cfg.ca_file = T.pki.ca;
	p->status = -1;
	if (a == NULL || fz_http_client_new(&cfg, &cli, &err) != FZ_OK) {
		fz_arena_free(a);
		return NULL;
	}
	snprintf(url, sizeof(url), "%s/park", p->base);
	rq.url = url;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fz_http_client_request(cli, a, &rq, &resp, &err) == FZ_OK) {
		p->status = resp.status;
		j = json_loadb(resp.body, resp.body_len, 0, NULL);
		p->runs = (int)json_integer_value(json_object_get(j, "runs"));
		json_decref(j);
	}
	p->seconds = since_s(&t0);
	fz_http_client_free(cli);
	fz_arena_free(a);
	return NULL;
}

static void test_suspend_resume(void **state)
{
	parker p = {.base = T.base};
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, park_call, &p), 0);
	assert_true(lot_wait(1));
	sleep_ms(200);
	lot_resume_all();
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(p.status, 200);
	assert_int_equal(p.runs, 2);
	assert_true(p.seconds >= 0.2);
}

/* 20 parked requests on a 2-thread server hold no thread: other requests
 * are answered at once meanwhile. */
#define PARKED 20

static void test_suspended_hold_no_thread(void **state)
{
	parker p[PARKED];
	pthread_t th[PARKED];
	struct timespec t0;
	size_t i;

	(void)state;
	for (i = 0; i < PARKED; i++) {
		p[i] = (parker){.base = T.base};
		assert_int_equal(pthread_create(&th[i], NULL, park_call, &p[i]), 0);
	}
	assert_true(lot_wait(PARKED));
	for (i = 0; i < 10; i++) {
		call c;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		c = get("GET", "/hello");
		assert_int_equal(c.resp.status, 200);
		assert_true(since_s(&t0) < 1.0);
		call_free(&c);
	}
	lot_resume_all();
	for (i = 0; i < PARKED; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(p[i].status, 200);
		assert_int_equal(p[i].runs, 2);
	}
}

/* A resume that comes before the suspension took effect is not lost. */
static void test_resume_before_suspend(void **state)
{
	struct timespec t0;
	call c;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = get("GET", "/park-race");
	assert_int_equal(c.resp.status, 200);
	assert_int_equal(json_integer_value(json_object_get(c.json, "runs")), 2);
	assert_true(since_s(&t0) < 2.0);
	call_free(&c);
	assert_int_equal(lot_count(), 0);
}

/* Stopping a server with parked requests neither hangs nor leaks. */
static void test_stop_with_suspended(void **state)
{
	fz_http_server_config cfg;
	fz_http_server *s;
	fz_err err = {0};
	parker p[3];
	pthread_t th[3];
	char base[64];
	size_t i;

	(void)state;
	test_config(&cfg);
	cfg.tls_cert_file = T.pki.cert;
	cfg.tls_key_file = T.pki.key;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_OK);
	assert_int_equal(fz_http_server_route(s, &routes[NROUTES - 2], &err), FZ_OK);
	assert_int_equal(fz_http_server_start(s, &err), FZ_OK);
	snprintf(base, sizeof(base), "https://localhost:%u", (unsigned)fz_http_server_port(s));
	for (i = 0; i < 3; i++) {
		p[i] = (parker){.base = base};
		assert_int_equal(pthread_create(&th[i], NULL, park_call, &p[i]), 0);
	}
	assert_true(lot_wait(3));
	fz_http_server_free(s);
	/* every request ended with the server: none is left parked */
	assert_int_equal(lot_count(), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
}

/* --- the access log -------------------------------------------------- */

static void test_access_log(void **state)
{
	fz_http_header one[] = {{"X-Test", "v"}};
	char buf[65536];
	call c;
	fz_err err = {0};
	ssize_t n = 0;
	int i, fd;

	(void)state;
	assert_int_equal(do_call(&c, "GET", "/headers?code=SECRET", one, 1, NULL, 0, &err),
			 FZ_OK);
	call_free(&c);
	/* the line is written when MHD completes the request, just after the
	 * client has its answer */
	for (i = 0; i < 200; i++) {
		fd = open(T.log_file, O_RDONLY | O_CLOEXEC);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, "mid=<mid-1@example.com>") != NULL)
			break;
		nanosleep(&(struct timespec){0, 10000000}, NULL);
	}
	assert_non_null(strstr(buf, " 127.0.0.1 GET /headers 200 "));
	assert_non_null(strstr(buf, "ms mid=<mid-1@example.com>\n"));
	assert_null(strstr(buf, "SECRET"));
	/* errors carry their internal message, for the operator only */
	assert_non_null(strstr(buf, "err=\"secret detail /var/lib/federizer\""));
	assert_non_null(strstr(buf, " GET /api/v1/missing/m9 404 "));
}

/* --- routes and configuration --------------------------------------- */

static void test_route_listing(void **state)
{
	fz_http_route_info info[64];
	size_t n, i;

	(void)state;
	n = fz_http_server_routes(T.srv, info, 64);
	assert_int_equal(n, NROUTES);
	for (i = 0; i < n; i++) {
		assert_string_equal(info[i].method, routes[i].method);
		assert_string_equal(info[i].pattern, routes[i].pattern);
		assert_int_equal(info[i].flags, routes[i].flags);
	}
	assert_int_equal(fz_http_server_routes(T.srv, info, 2), NROUTES);
}

static void expect_route_error(fz_http_server *s, const char *method,
			       const char *pattern, unsigned flags,
			       fz_http_chunk_fn chunk, fz_code code, const char *why)
{
	fz_http_route_def def = {method, pattern, flags, h_hello, NULL, chunk, NULL};
	fz_err err = {0};

	assert_int_equal(fz_http_server_route(s, &def, &err), code);
	if (strstr(err.msg, why) == NULL)
		fail_msg("%s %s: expected \"%s\" in \"%s\"", method,
			 pattern != NULL ? pattern : "(no pattern)", why, err.msg);
}

static void test_route_errors(void **state)
{
	fz_http_server_config cfg;
	fz_http_server *s;
	fz_err err = {0};

	(void)state;
	test_config(&cfg);
	cfg.transport = FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_OK);
	assert_int_equal(fz_http_server_add(s, "GET", "/a/{id}", h_hello, NULL, &err), FZ_OK);
	expect_route_error(s, "GET", "/a/{other}", 0, NULL, FZ_ECONFLICT, "duplicates");
	expect_route_error(s, "GET", "a", 0, NULL, FZ_ESYNTAX, "start with '/'");
	expect_route_error(s, "GET", NULL, 0, NULL, FZ_ESYNTAX, "start with '/'");
	expect_route_error(s, "GET", "/a//b", 0, NULL, FZ_ESYNTAX, "empty segment");
	expect_route_error(s, "GET", "/a/", 0, NULL, FZ_ESYNTAX, "empty segment");
	expect_route_error(s, "GET", "/{}", 0, NULL, FZ_ESYNTAX, "bad parameter");
	expect_route_error(s, "GET", "/{a b}", 0, NULL, FZ_ESYNTAX, "bad parameter");
	expect_route_error(s, "GET", "/{a", 0, NULL, FZ_ESYNTAX, "bad parameter");
	expect_route_error(s, "GET", "/x{a}", 0, NULL, FZ_ESYNTAX, "bad parameter");
	expect_route_error(s, "GET", "/a{b/c", 0, NULL, FZ_ESYNTAX, "braces");
	expect_route_error(s, "GET", "/{a}/{a}", 0, NULL, FZ_ESYNTAX, "twice");
	expect_route_error(s, "GET", "/%zz", 0, NULL, FZ_ESYNTAX, "percent");
	expect_route_error(s, "GET", "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17", 0,
			   NULL, FZ_ELIMIT, "segments");
	expect_route_error(s, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", 0, NULL,
			   FZ_ELIMIT, "parameters");
	expect_route_error(s, "G T", "/b", 0, NULL, FZ_ESYNTAX, "bad method");
	expect_route_error(s, "", "/b", 0, NULL, FZ_ESYNTAX, "bad method");
	expect_route_error(s, "POST", "/b", FZ_ROUTE_STREAM, NULL, FZ_ESYNTAX,
			   "FZ_ROUTE_STREAM");
	expect_route_error(s, "POST", "/b", 0, nop_chunk, FZ_ESYNTAX, "FZ_ROUTE_STREAM");
	expect_route_error(s, "POST", "/b", 1 << 4 | FZ_ROUTE_STREAM, nop_chunk,
			   FZ_ESYNTAX, "flags");
	assert_int_equal(fz_http_server_add(s, "POST", "/b", NULL, NULL, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "no handler"));
	assert_int_equal(fz_http_server_start(s, &err), FZ_OK);
	expect_route_error(s, "GET", "/late", 0, NULL, FZ_EINTERNAL, "fixed");
	assert_int_equal(fz_http_server_start(s, &err), FZ_EINTERNAL);
	fz_http_server_stop(s);
	fz_http_server_stop(s);
	assert_int_equal(fz_http_server_port(s), 0);
	fz_http_server_free(s);
	fz_http_server_free(NULL);
}

static void test_config_errors(void **state)
{
	fz_http_server_config cfg;
	fz_http_server *s;
	fz_err err = {0};

	(void)state;
	/* HTTPS is the default and needs its files */
	test_config(&cfg);
	assert_int_equal(cfg.transport, FZ_HTTP_TLS);
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_ESYNTAX);
	assert_null(s);
	assert_non_null(strstr(err.msg, "certificate"));
	cfg.tls_cert_file = "/nonexistent/cert.pem";
	cfg.tls_key_file = T.pki.key;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_OK);
	assert_int_equal(fz_http_server_start(s, &err), FZ_EIO);
	assert_non_null(strstr(err.msg, "cannot open"));
	fz_http_server_free(s);
	cfg.tls_cert_file = T.pki.dir; /* a folder */
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_OK);
	assert_int_equal(fz_http_server_start(s, &err), FZ_EIO);
	fz_http_server_free(s);
	/* a key that is not a key: GnuTLS refuses, MHD does not start */
	cfg.tls_cert_file = T.pki.cert;
	cfg.tls_key_file = T.pki.ca;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_OK);
	assert_int_equal(fz_http_server_start(s, &err), FZ_EIO);
	fz_http_server_free(s);
	test_config(&cfg);
	cfg.transport = FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY;
	cfg.listen_address = "localhost";
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_OK);
	assert_int_equal(fz_http_server_start(s, &err), FZ_ESYNTAX);
	fz_http_server_free(s);
	test_config(&cfg);
	cfg.transport = FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY;
	cfg.max_header_bytes = 1024;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_ESYNTAX);
	cfg.max_header_bytes = FZ_HTTP_MAX_HEADER_BYTES_DEFAULT;
	cfg.threads = 0;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_ESYNTAX);
	cfg.threads = 1;
	cfg.max_body_bytes = 0;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_ESYNTAX);
	cfg.max_body_bytes = 10;
	cfg.listen_address = NULL;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_ESYNTAX);
	cfg.listen_address = "127.0.0.1";
	cfg.transport = (fz_http_transport)7;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_ESYNTAX);
	/* the port in use: a second server on the first one's port */
	test_config(&cfg);
	cfg.transport = FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY;
	cfg.port = fz_http_server_port(T.srv);
	cfg.log_fd = -1;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_OK);
	assert_int_equal(fz_http_server_start(s, &err), FZ_EIO);
	fz_http_server_free(s);
}

/* --- raw bytes over plain HTTP --------------------------------------- */

static fz_http_server *plain;

static int plain_start(fz_http_server_config *cfg)
{
	fz_err err = {0};
	size_t i;

	if (fz_http_server_new(cfg, &plain, &err) != FZ_OK)
		return -1;
	for (i = 0; i < NROUTES; i++)
		if (fz_http_server_route(plain, &routes[i], &err) != FZ_OK)
			return -1;
	return fz_http_server_start(plain, &err) == FZ_OK ? 0 : -1;
}

/* Sends req (n bytes), then reads until the server closes; returns the
 * status of the first response line, or -1. */
static int raw(const char *req, size_t n, char *out, size_t outsz)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timeval tv = {10, 0};
	size_t off = 0, got = 0;
	int fd, status = -1;
	ssize_t r;

	sa.sin_port = htons(fz_http_server_port(plain));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (off < n) {
		r = send(fd, req + off, n - off, MSG_NOSIGNAL);
		if (r <= 0)
			break; /* the server may answer and close before all is sent */
		off += (size_t)r;
	}
	while (got + 1 < outsz && (r = recv(fd, out + got, outsz - 1 - got, 0)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(fd);
	sscanf(out, "HTTP/1.%*d %d", &status);
	return status;
}

static int raw_str(const char *req, char *out, size_t outsz)
{
	return raw(req, strlen(req), out, outsz);
}

static void test_plain_http_raw(void **state)
{
	fz_http_server_config cfg;
	char out[8192];
	char *big;
	size_t n, hl;

	(void)state;
	test_config(&cfg);
	cfg.transport = FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY;
	cfg.threads = 1;
	cfg.max_discard_bytes = FZ_HTTP_MAX_DISCARD_BYTES_DEFAULT;
	assert_int_equal(plain_start(&cfg), 0);
	assert_int_equal(raw_str("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				 out, sizeof(out)), 200);
	assert_non_null(strstr(out, "{\"hello\":\"world\"}"));
	/* undecodable paths are 400, not 404 */
	assert_int_equal(raw_str("GET /api/v1/messages/%zz HTTP/1.1\r\nHost: x\r\n"
				 "Connection: close\r\n\r\n", out, sizeof(out)), 400);
	assert_non_null(strstr(out, "bad percent escape"));
	assert_int_equal(raw_str("GET /api/v1/messages/a%00b HTTP/1.1\r\nHost: x\r\n"
				 "Connection: close\r\n\r\n", out, sizeof(out)), 400);
	assert_non_null(strstr(out, "encoded NUL"));
	assert_int_equal(raw_str("GET /api/v1/messages/%ff HTTP/1.1\r\nHost: x\r\n"
				 "Connection: close\r\n\r\n", out, sizeof(out)), 400);
	/* a chunked body has no Content-Length to refuse up front: the 413
	 * goes out once the rest is read and dropped */
	n = 2 * BODY_LIMIT + 256;
	big = malloc(n);
	hl = (size_t)snprintf(big, n, "POST /echo HTTP/1.1\r\nHost: x\r\n"
				      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
				      "%x\r\n", BODY_LIMIT + 10);
	memset(big + hl, 'a', BODY_LIMIT + 10);
	memcpy(big + hl + BODY_LIMIT + 10, "\r\n0\r\n\r\n", 7);
	assert_int_equal(raw(big, hl + BODY_LIMIT + 17, out, sizeof(out)), 413);
	assert_non_null(strstr(out, "exceeds the limit of 65536"));
	free(big);
	/* but not without end: past max_discard_bytes the connection closes */
	n = FZ_HTTP_MAX_DISCARD_BYTES_DEFAULT + 2 * BODY_LIMIT;
	big = malloc(n + 256);
	hl = (size_t)snprintf(big, 256, "POST /echo HTTP/1.1\r\nHost: x\r\n"
					"Transfer-Encoding: chunked\r\n\r\n%zx\r\n", n);
	memset(big + hl, 'a', n);
	memcpy(big + hl + n, "\r\n0\r\n\r\n", 7);
	assert_int_equal(raw(big, hl + n + 7, out, sizeof(out)), -1);
	free(big);
	big = malloc(FZ_HTTP_MAX_HEADER_BYTES_DEFAULT + 1024);
	/* headers larger than the connection's memory: MHD answers itself,
	 * and the exchange made for the request is still freed */
	n = FZ_HTTP_MAX_HEADER_BYTES_DEFAULT + 1024;
	hl = (size_t)snprintf(big, n, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(big + hl, 'b', n - hl - 4);
	memcpy(big + n - 4, "\r\n\r\n", 4);
	assert_int_equal(raw(big, n, out, sizeof(out)), 431);
	free(big);
	/* an over-long query string */
	big = malloc(FZ_QUERY_MAX_BYTES_DEFAULT + 200);
	hl = (size_t)snprintf(big, 64, "GET /hello?a=");
	memset(big + hl, 'q', FZ_QUERY_MAX_BYTES_DEFAULT);
	snprintf(big + hl + FZ_QUERY_MAX_BYTES_DEFAULT, 100,
		 " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_int_equal(raw_str(big, out, sizeof(out)), 414);
	free(big);
	/* keep-alive: two requests on one connection, two exchanges */
	assert_int_equal(raw_str("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
				 "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				 out, sizeof(out)), 200);
	assert_non_null(strstr(out, "HTTP/1.1 404"));
	/* a client that sends headers and vanishes */
	assert_int_equal(raw_str("POST /upload HTTP/1.1\r\nHost: x\r\n"
				 "Content-Length: 1000\r\n\r\nabc", out, 1), -1);
	fz_http_server_free(plain);
	plain = NULL;
}

/* A request refused while routing (404, 405, an undecodable path) that
 * carries a small body: the refusal waits for the body to be dropped,
 * and no route is looked at meanwhile (this once crashed the server). */
static void test_refused_with_body(void **state)
{
	fz_http_server_config cfg;
	char out[8192];

	(void)state;
	test_config(&cfg);
	cfg.transport = FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY;
	cfg.threads = 1;
	assert_int_equal(plain_start(&cfg), 0);
	assert_int_equal(raw_str("POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
				 "Connection: close\r\n\r\nabc", out, sizeof(out)), 404);
	assert_int_equal(raw_str("PUT /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
				 "Connection: close\r\n\r\n{}", out, sizeof(out)), 405);
	assert_int_equal(raw_str("PUT /api/v1/messages/%00 HTTP/1.1\r\nHost: x\r\n"
				 "Content-Length: 2\r\nConnection: close\r\n\r\n{}",
				 out, sizeof(out)), 400);
	assert_int_equal(raw_str("POST /nope HTTP/1.1\r\nHost: x\r\n"
				 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
				 "3\r\nabc\r\n0\r\n\r\n", out, sizeof(out)), 404);
	/* the server is still there */
	assert_int_equal(raw_str("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				 out, sizeof(out)), 200);
	fz_http_server_free(plain);
	plain = NULL;
}

/* Connects to the plain server and writes the bytes of s one at a time,
 * every gap_ms, then waits; returns the seconds until the server closed
 * (or -1 after max_s) and what it sent in out. */
static double trickle(const char *s, long gap_ms, double max_s, char *out, size_t outsz)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct timespec t0;
	size_t got = 0, i = 0;
	double closed = -1;
	ssize_t r;
	int fd;

	sa.sin_port = htons(fz_http_server_port(plain));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (since_s(&t0) < max_s) {
		if (s[i] != '\0' && send(fd, s + i, 1, MSG_NOSIGNAL) == 1)
			i++;
		r = recv(fd, out + got, outsz - 1 - got, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			closed = since_s(&t0);
			break;
		}
		if (r > 0)
			got += (size_t)r;
		if (got + 1 >= outsz)
			break;
		sleep_ms(gap_ms);
	}
	out[got] = '\0';
	close(fd);
	return closed;
}

/* Slowloris: headers trickled a byte at a time never end the idle
 * timeout, but header_timeout_s cuts the connection off; the clock runs
 * from the connection's start and again after each answered request. */
static void test_header_timeout(void **state)
{
	const char *slow = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	fz_http_server_config cfg;
	char out[4096];
	double t;

	(void)state;
	test_config(&cfg);
	cfg.transport = FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY;
	cfg.threads = 1;
	cfg.connection_timeout_s = 30;
	cfg.header_timeout_s = 1;
	assert_int_equal(plain_start(&cfg), 0);
	t = trickle(slow, 50, 5, out, sizeof(out));
	assert_true(t >= 0.9 && t < 2.0);
	assert_string_equal(out, "");
	/* silent after connecting: the same */
	t = trickle("", 50, 5, out, sizeof(out));
	assert_true(t >= 0.9 && t < 2.0);
	/* one answered request, then a trickle: cut a second after the answer */
	t = trickle("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nX: yyyyyyyyyyyyyyyyyy", 20, 5, out, sizeof(out));
	assert_true(t >= 0.9 && t < 2.5);
	assert_non_null(strstr(out, "HTTP/1.1 200"));
	assert_null(strstr(strstr(out, "HTTP/1.1 200") + 1, "HTTP/1.1"));
	fz_http_server_free(plain);
	/* 0: no header timeout, only the idle one (which the trickle defeats) */
	cfg.header_timeout_s = 0;
	cfg.connection_timeout_s = 1;
	assert_int_equal(plain_start(&cfg), 0);
	t = trickle(slow, 100, 2.5, out, sizeof(out));
	assert_true(t < 0);
	fz_http_server_free(plain);
	plain = NULL;
}

static void test_ipv6_listen(void **state)
{
	fz_http_server_config cfg;
	fz_http_server *s;
	fz_err err = {0};

	(void)state;
	test_config(&cfg);
	cfg.transport = FZ_HTTP_PLAINTEXT_FOR_TESTS_ONLY;
	cfg.listen_address = "::1";
	cfg.threads = 1;
	assert_int_equal(fz_http_server_new(&cfg, &s, &err), FZ_OK);
	/* a host without IPv6 cannot bind ::1: that is not our failure */
	if (fz_http_server_start(s, &err) == FZ_OK)
		assert_true(fz_http_server_port(s) != 0);
	else
		assert_int_equal(err.code, FZ_EIO);
	fz_http_server_free(s);
}

/* An address over its rate gets 429 with Retry-After before routing, and
 * other servers' limits are their own. */
static void test_rate_limited(void **state)
{
	fz_http_server_config cfg;
	fz_http_server *srv = NULL;
	char saved[sizeof(T.base)];
	fz_err err = {0};
	call c;
	size_t i;

	(void)state;
	test_config(&cfg);
	cfg.tls_cert_file = T.pki.cert;
	cfg.tls_key_file = T.pki.key;
	cfg.rate_per_ip = 1;
	cfg.rate_burst = 2;
	assert_int_equal(fz_http_server_new(&cfg, &srv, &err), FZ_OK);
	for (i = 0; i < NROUTES; i++)
		assert_int_equal(fz_http_server_route(srv, &routes[i], &err), FZ_OK);
	assert_int_equal(fz_http_server_start(srv, &err), FZ_OK);
	memcpy(saved, T.base, sizeof(saved));
	snprintf(T.base, sizeof(T.base), "https://localhost:%u",
		 (unsigned)fz_http_server_port(srv));
	for (i = 0; i < 2; i++) {
		c = get("GET", "/hello");
		assert_int_equal(c.resp.status, 200);
		call_free(&c);
	}
	c = get("GET", "/nope");
	expect_error(&c, 429, "slow_down");
	assert_non_null(hdr(&c, "Retry-After"));
	call_free(&c);
	memcpy(T.base, saved, sizeof(saved));
	fz_http_server_free(srv);
	c = get("GET", "/hello");
	assert_int_equal(c.resp.status, 200);
	call_free(&c);
}

static void test_rate_config_refused(void **state)
{
	fz_http_server_config cfg;
	fz_http_server *srv = NULL;
	fz_err err = {0};

	(void)state;
	test_config(&cfg);
	cfg.tls_cert_file = T.pki.cert;
	cfg.tls_key_file = T.pki.key;
	cfg.rate_per_ip = 0;
	assert_int_equal(fz_http_server_new(&cfg, &srv, &err), FZ_ESYNTAX);
	assert_non_null(strstr(err.msg, "rate_per_ip"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_and_headers),
		cmocka_unit_test(test_path_params),
		cmocka_unit_test(test_literal_beats_param),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_rate_limited),
		cmocka_unit_test(test_rate_config_refused),
		cmocka_unit_test(test_head),
		cmocka_unit_test(test_handler_failure),
		cmocka_unit_test(test_www_authenticate),
		cmocka_unit_test(test_internal_detail_hidden),
		cmocka_unit_test(test_first_response_stands),
		cmocka_unit_test(test_redirect),
		cmocka_unit_test(test_request_headers),
		cmocka_unit_test(test_bad_query),
		cmocka_unit_test(test_buffered_body),
		cmocka_unit_test(test_buffered_body_too_large),
		cmocka_unit_test(test_form_body),
		cmocka_unit_test(test_json_body),
		cmocka_unit_test(test_streaming_upload),
		cmocka_unit_test(test_streaming_refused_before_body),
		cmocka_unit_test(test_streaming_refused_midway),
		cmocka_unit_test(test_streaming_too_large),
		cmocka_unit_test(test_streaming_route_has_no_buffer),
		cmocka_unit_test(test_file_whole),
		cmocka_unit_test(test_file_ranges),
		cmocka_unit_test(test_file_range_refused),
		cmocka_unit_test(test_untrusted_ca_fails),
		cmocka_unit_test(test_wrong_name_fails),
		cmocka_unit_test(test_ip_in_certificate),
		cmocka_unit_test(test_client_refusals),
		cmocka_unit_test(test_client_limits),
		cmocka_unit_test(test_client_download_to_fd),
		cmocka_unit_test(test_concurrent_clients),
		cmocka_unit_test(test_suspend_resume),
		cmocka_unit_test(test_suspended_hold_no_thread),
		cmocka_unit_test(test_resume_before_suspend),
		cmocka_unit_test(test_stop_with_suspended),
		cmocka_unit_test(test_access_log),
		cmocka_unit_test(test_route_listing),
		cmocka_unit_test(test_route_errors),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_plain_http_raw),
		cmocka_unit_test(test_refused_with_body),
		cmocka_unit_test(test_header_timeout),
		cmocka_unit_test(test_ipv6_listen),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
