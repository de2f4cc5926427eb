/* The Mailbox's APP API end to end, in one process: a stand-in AS (our
 * HTTP server over TLS serving RFC 8414 metadata and a JWKS for a test
 * key), the real MBX server with its store and blob directory, and
 * libcurl speaking HTTPS to both, certificates verified against a
 * throwaway CA. Tokens are signed here with the test key, so every way a
 * token can be wrong is one line.
 *
 * Covered: metadata; 401/403 for missing, expired, wrong-audience,
 * wrong-type, unsigned-by-us and scope-less tokens; a 5 MiB upload whose
 * digest is right, deduplicated, with Range, ETag and Repr-Digest;
 * another user's resource 404; bad digests 400; size 413 and quota 507
 * (declared and streamed) with nothing left behind; drafts through their
 * life; sync with state, paging, inline bodies, destroyed ids and 410;
 * long-poll woken by a change; forwarding settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config_mbx.h"
#include "digest.h"
#include "http_server.h"
#include "jwk.h"
#include "jws.h"
#include "mbx.h"
#include "mbx_token_cache.h"
#include "tls_fixture.h"

#define MAX_UPLOAD (6 * 1024 * 1024)
#define QUOTA (12 * 1024 * 1024)
#define BIG (5 * 1024 * 1024)
#define PAGE 3
#define ALICE "alice@example.com"
#define BOB "bob@example.com"

static struct {
	fz_test_pki pki;
	char dir[FZ_TEST_PATH_MAX];
	char blobs[FZ_TEST_PATH_MAX + 16];
	fz_key *key;        /* the AS's signing key */
	fz_key *other;      /* a key nobody published */
	fz_http_server *as;
	char issuer[64];
	fz_mbx_config cfg;
	fz_mbx *mbx;
	fz_http_server *srv;
	char base[64];      /* the MBX's base URL (aud) */
	char alice[2048], bob[2048];
} T;

/* --- the stand-in AS --------------------------------------------------- */

static fz_code h_as_meta(fz_http_req *req, void *ctx, fz_err *err)
{
	char jwks[128];

	(void)ctx;
	snprintf(jwks, sizeof(jwks), "%sjwks", T.issuer);
	return fz_http_respond_json(req, 200,
				    json_pack("{s:s,s:s}", "issuer", T.issuer, "jwks_uri", jwks),
				    err);
}

static fz_code h_jwks(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_keyset *ks = fz_keyset_new();
	const fz_key *pub = NULL;
	fz_key *copy = NULL;
	json_t *jwk = NULL, *out = NULL;

	(void)ctx;
	pub = T.key;
	/* a public copy of the key, through its JWK */
	if (fz_key_to_jwk(pub, &jwk, err) != FZ_OK || fz_key_from_jwk(jwk, &copy, err) != FZ_OK ||
	    fz_keyset_add(ks, copy, err) != FZ_OK || fz_keyset_to_jwks(ks, &out, err) != FZ_OK) {
		json_decref(jwk);
		fz_keyset_free(ks);
		return err->code;
	}
	json_decref(jwk);
	fz_keyset_free(ks);
	return fz_http_respond_json(req, 200, out, err);
}

static int start_as(void)
{
	fz_http_server_config hc;

	fz_http_server_config_defaults(&hc);
	hc.listen_address = "127.0.0.1";
	hc.port = 0;
	hc.tls_cert_file = T.pki.cert;
	hc.tls_key_file = T.pki.key;
	hc.threads = 2;
	hc.log_fd = -1;
	if (fz_http_server_new(&hc, &T.as, NULL) != FZ_OK ||
	    fz_http_server_add(T.as, "GET", "/.well-known/oauth-authorization-server",
			       h_as_meta, NULL, NULL) != FZ_OK ||
	    fz_http_server_add(T.as, "GET", "/jwks", h_jwks, NULL, NULL) != FZ_OK ||
	    fz_http_server_start(T.as, NULL) != FZ_OK)
		return -1;
	snprintf(T.issuer, sizeof(T.issuer), "https://localhost:%u/",
		 (unsigned)fz_http_server_port(T.as));
	return 0;
}

/* --- tokens -------------------------------------------------------------- */

typedef struct tok {
	const char *email, *aud, *scope, *typ;
	int64_t exp_in;
	const fz_key *key;
	bool cnf;
} tok;

static void mint(const tok *t, char *out, size_t size)
{
	int64_t now = (int64_t)time(NULL);
	json_t *claims = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "iss", T.issuer,
				   "sub", t->email, "email", t->email,
				   "aud", t->aud ? t->aud : T.base, "client_id", "webmail",
				   "iat", (json_int_t)now,
				   "exp", (json_int_t)(now + (t->exp_in ? t->exp_in : 600)),
				   "jti", "j1");
	char *jws = NULL;

	if (t->scope == NULL || t->scope[0] != '-')
		json_object_set_new(claims, "scope",
				    json_string(t->scope ? t->scope : "openid internet_mail"));
	if (t->cnf)
		json_object_set_new(claims, "cnf", json_pack("{s:s}", "jkt", "x"));
	assert_int_equal(fz_jws_sign(t->key ? t->key : T.key, t->typ ? t->typ : "at+jwt",
				     NULL, claims, &jws, NULL), FZ_OK);
	json_decref(claims);
	assert_true(strlen(jws) < size);
	snprintf(out, size, "%s", jws);
	free(jws);
}

static const char *token_for(const char *email)
{
	tok t = {.email = email};
	static char buf[4][2048];
	static int i;

	i = (i + 1) % 4;
	mint(&t, buf[i], sizeof(buf[i]));
	return buf[i];
}

/* --- the HTTP client ------------------------------------------------------ */

typedef struct resp {
	long status;
	char *body;
	size_t len;
	char headers[8192];
	size_t hlen;
	double seconds;
} resp;

typedef struct rq {
	const char *method;
	const char *path;        /* appended to the MBX's base, as is */
	const char *token;       /* Bearer token, or NULL */
	const char *const *headers; /* NULL-terminated extra headers */
	const void *body;
	size_t len;
	bool chunked;            /* send the body without Content-Length */
} rq;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
	resp *r = ud;
	char *grown = realloc(r->body, r->len + sz * n + 1);

	assert_non_null(grown);
	r->body = grown;
	memcpy(r->body + r->len, p, sz * n);
	r->len += sz * n;
	r->body[r->len] = '\0';
	return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
	resp *r = ud;
	size_t k = sz * n;

	if (r->hlen + k < sizeof(r->headers)) {
		memcpy(r->headers + r->hlen, p, k);
		r->hlen += k;
		r->headers[r->hlen] = '\0';
	}
	return k;
}

typedef struct reader {
	const char *p;
	size_t left;
} reader;

static size_t on_read(char *buf, size_t sz, size_t n, void *ud)
{
	reader *rd = ud;
	size_t k = sz * n < rd->left ? sz * n : rd->left;

	memcpy(buf, rd->p, k);
	rd->p += k;
	rd->left -= k;
	return k;
}

static resp request(const rq *q)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[4096], auth[2200];
	reader rd = {q->body, q->len};
	resp r = {0};
	size_t i;

	assert_non_null(c);
	snprintf(url, sizeof(url), "https://localhost:%u%s",
		 (unsigned)fz_http_server_port(T.srv), q->path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L); /* "../" reaches the server */
	curl_easy_setopt(c, CURLOPT_CAINFO, T.pki.ca);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	if (strcmp(q->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (q->token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", q->token);
		h = curl_slist_append(h, auth);
	}
	for (i = 0; q->headers && q->headers[i]; i++)
		h = curl_slist_append(h, q->headers[i]);
	/* Large bodies go with "Expect: 100-continue" (curl's default), as
	 * a well-behaved client sends them: a refusal from the headers
	 * alone then arrives before any of the body is sent. */
	if (q->chunked) {
		h = curl_slist_append(h, "Expect:");
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, &rd);
	} else if (q->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &r.seconds);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (r.body == NULL)
		r.body = calloc(1, 1);
	return r;
}

static void resp_free(resp *r)
{
	free(r->body);
	r->body = NULL;
}

static resp call(const char *method, const char *path, const char *token)
{
	rq q = {.method = method, .path = path, .token = token};

	return request(&q);
}

static resp send_json(const char *method, const char *path, const char *token,
		      const char *ctype, const char *body)
{
	char ct[128];
	const char *hdrs[] = {ct, NULL};
	rq q = {.method = method, .path = path, .token = token, .headers = hdrs,
		.body = body, .len = strlen(body)};

	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	return request(&q);
}

static json_t *body_json(const resp *r)
{
	json_t *j = json_loadb(r->body, r->len, 0, NULL);

	if (j == NULL)
		fprintf(stderr, "not JSON (%ld): %s\n", r->status, r->body);
	assert_non_null(j);
	return j;
}

/* The value of header name (lowercase) in r, or NULL. */
static const char *header(const resp *r, const char *name, char *buf, size_t size)
{
	const char *p = r->headers;
	size_t n = strlen(name);

	while ((p = strcasestr(p, name)) != NULL) {
		if ((p == r->headers || p[-1] == '\n') && p[n] == ':') {
			p += n + 1;
			while (*p == ' ')
				p++;
			snprintf(buf, size, "%.*s", (int)strcspn(p, "\r\n"), p);
			return buf;
		}
		p += n;
	}
	return NULL;
}

static void expect_status(resp r, long status)
{
	if (r.status != status)
		fprintf(stderr, "expected %ld, got %ld: %s\n", status, r.status, r.body);
	assert_int_equal(r.status, status);
	resp_free(&r);
}

/* --- set-up ------------------------------------------------------------------ */

/* Regular files in the blob tree, tmp/ included, and in tmp/ alone. */
static void count_files(const char *dir, bool in_tmp, size_t *all, size_t *tmp)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[1024];
	struct stat st;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (stat(p, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			count_files(p, in_tmp || strcmp(e->d_name, "tmp") == 0, all, tmp);
		} else {
			(*all)++;
			*tmp += in_tmp;
		}
	}
	closedir(d);
}

static size_t blob_count(void)
{
	size_t all = 0, tmp = 0;

	count_files(T.blobs, false, &all, &tmp);
	assert_int_equal(tmp, 0); /* nothing half-written, ever, between requests */
	return all;
}

static int setup(void **state)
{
	char yaml[4096];
	const char *tmp = getenv("TMPDIR");
	fz_err err = {0};

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (fz_test_pki_make(&T.pki) != 0)
		return -1;
	snprintf(T.dir, sizeof(T.dir), "%s/fz-mbxapi-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(T.dir) == NULL)
		return -1;
	snprintf(T.blobs, sizeof(T.blobs), "%s/blobs", T.dir);
	if (fz_key_generate(FZ_ALG_ES256, 0, &T.key, NULL) != FZ_OK ||
	    fz_key_generate(FZ_ALG_ES256, 0, &T.other, NULL) != FZ_OK ||
	    fz_key_set_kid(T.other, fz_key_kid(T.key), NULL) != FZ_OK || start_as() != 0)
		return -1;
	/* The base URL is the token audience; the port is the one bound. */
	snprintf(T.base, sizeof(T.base), "https://localhost:1/");
	snprintf(yaml, sizeof(yaml),
		 "base_url: %s\n"
		 "listen: 127.0.0.1:1\n"
		 "tls: {cert: %s, key: %s}\n"
		 "database: %s/mbx.db\n"
		 "blobs: %s\n"
		 "domains: [example.com]\n"
		 "authorization_server: %s\n"
		 "mta: {client_id: mta.example.com}\n"
		 "ca_file: %s\n"
		 "access_log: false\n"
		 "jwks_refetch_interval: 1\n"
		 "limits:\n"
		 "  max_upload_bytes: %d\n"
		 "  quota_bytes: %d\n"
		 "  sync_page_size: %d\n"
		 "  max_discard_bytes: 16777216\n"
		 "  threads: 4\n"
		 "  long_poll_max_waiters: 2\n"
		 "  long_poll_max_wait: 10\n",
		 T.base, T.pki.cert, T.pki.key, T.dir, T.blobs, T.issuer, T.pki.ca,
		 MAX_UPLOAD, QUOTA, PAGE);
	if (fz_mbx_config_parse(yaml, strlen(yaml), &T.cfg, &err) != FZ_OK) {
		fprintf(stderr, "config: %s\n", err.msg);
		return -1;
	}
	T.cfg.listen_port = 0; /* an ephemeral port */
	if (fz_mbx_open(&T.cfg, &T.mbx, &err) != FZ_OK ||
	    fz_mbx_server_new(T.mbx, &T.srv, &err) != FZ_OK ||
	    fz_http_server_start(T.srv, &err) != FZ_OK) {
		fprintf(stderr, "mbx: %s\n", err.msg);
		return -1;
	}
	snprintf(T.alice, sizeof(T.alice), "%s", token_for(ALICE));
	snprintf(T.bob, sizeof(T.bob), "%s", token_for(BOB));
	return 0;
}

static int teardown(void **state)
{
	char cmd[FZ_TEST_PATH_MAX + 16];

	(void)state;
	fz_mbx_shutdown(T.mbx);
	fz_http_server_free(T.srv);
	fz_mbx_close(T.mbx);
	fz_mbx_config_free(&T.cfg);
	fz_http_server_free(T.as);
	fz_key_free(T.key);
	fz_key_free(T.other);
	fz_test_pki_remove(&T.pki);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", T.dir);
	if (system(cmd) != 0)
		return -1;
	curl_global_cleanup();
	return 0;
}

/* --- tests ----------------------------------------------------------------------- */

static void test_metadata(void **state)
{
	resp r = call("GET", "/.well-known/oauth-protected-resource", NULL);
	json_t *j;

	(void)state;
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "resource")), T.base);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "authorization_servers"), 0)),
			    T.issuer);
	assert_string_equal(json_string_value(json_object_get(j, "federizer_mta_client_id")),
			    "mta.example.com");
	json_decref(j);
	resp_free(&r);
}

static void expect_401(const char *token, const char *error)
{
	char buf[512];
	resp r = call("GET", "/api/v1/settings/forwarding", token);

	assert_int_equal(r.status, 401);
	assert_non_null(header(&r, "www-authenticate", buf, sizeof(buf)));
	assert_non_null(strstr(buf, "Bearer"));
	assert_non_null(strstr(buf, "resource_metadata="));
	if (error != NULL)
		assert_non_null(strstr(buf, error));
	resp_free(&r);
}

static void test_tokens(void **state)
{
	char t[2048];
	tok expired = {.email = ALICE, .exp_in = -3600};
	tok wrong_aud = {.email = ALICE, .aud = "https://other.example.com/"};
	tok wrong_typ = {.email = ALICE, .typ = "JWT"};
	tok forged = {.email = ALICE, .key = T.other};
	tok foreign = {.email = "eve@example.org"};
	tok bound = {.email = ALICE, .cnf = true};
	tok no_scope = {.email = ALICE, .scope = "openid"};
	resp r;

	(void)state;
	expect_401(NULL, NULL);
	expect_401("not-a-jwt", "invalid_token");
	mint(&expired, t, sizeof(t));
	expect_401(t, "invalid_token");
	mint(&wrong_aud, t, sizeof(t));
	expect_401(t, "invalid_token");
	mint(&wrong_typ, t, sizeof(t));
	expect_401(t, "invalid_token");
	mint(&forged, t, sizeof(t));
	expect_401(t, "invalid_token");
	mint(&foreign, t, sizeof(t));
	expect_401(t, "invalid_token");
	mint(&bound, t, sizeof(t));
	expect_401(t, "invalid_token");
	mint(&no_scope, t, sizeof(t));
	r = call("GET", "/api/v1/settings/forwarding", t);
	assert_int_equal(r.status, 403);
	resp_free(&r);
	/* DPoP scheme is not how the APP calls */
	{
		char h[2100];
		const char *hdrs[] = {h, NULL};
		rq q = {.method = "GET", .path = "/api/v1/settings/forwarding", .headers = hdrs};

		snprintf(h, sizeof(h), "Authorization: DPoP %s", T.alice);
		expect_status(request(&q), 401);
	}
	expect_status(call("GET", "/api/v1/settings/forwarding", T.alice), 200);
}

static char *pattern(size_t n, unsigned seed)
{
	char *b = malloc(n);
	size_t i;

	assert_non_null(b);
	for (i = 0; i < n; i++)
		b[i] = (char)((i * 2654435761u + seed) >> 13);
	return b;
}

static resp upload(const char *token, const void *data, size_t n, const char *type,
		   bool chunked)
{
	char ct[128];
	const char *hdrs[] = {ct, NULL};
	rq q = {.method = "POST", .path = "/api/v1/resources", .token = token,
		.headers = hdrs, .body = data, .len = n, .chunked = chunked};

	snprintf(ct, sizeof(ct), "Content-Type: %s", type);
	return request(&q);
}

static void test_upload_download(void **state)
{
	char *big = pattern(BIG, 1), buf[512], path[256], file[FZ_TEST_PATH_MAX + 128];
	fz_digest_str want;
	struct stat st;
	size_t before = blob_count();
	json_t *j;
	resp r;

	(void)state;
	fz_digest(big, BIG, &want);
	r = upload(T.alice, big, BIG, "image/png", false);
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "digest")), want.s);
	snprintf(buf, sizeof(buf), "<%s>", want.s);
	assert_string_equal(json_string_value(json_object_get(j, "content_id")), buf);
	assert_int_equal(json_integer_value(json_object_get(j, "size")), BIG);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "image/png");
	json_decref(j);
	resp_free(&r);
	/* the file sits under its digest, whole */
	snprintf(file, sizeof(file), "%s/%.2s/%.2s/%s", T.blobs, want.s, want.s + 2, want.s);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_size, BIG);
	assert_int_equal(blob_count(), before + 1);

	/* again, and by Bob: still one file */
	r = upload(T.alice, big, BIG, "image/png", false);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	r = upload(T.bob, big, BIG, "application/octet-stream", false);
	assert_int_equal(r.status, 201);
	resp_free(&r);
	assert_int_equal(blob_count(), before + 1);

	/* a middle slice */
	snprintf(path, sizeof(path), "/api/v1/resources/%s", want.s);
	{
		const char *hdrs[] = {"Range: bytes=1000000-1000999", NULL};
		rq q = {.method = "GET", .path = path, .token = T.alice, .headers = hdrs};

		r = request(&q);
	}
	assert_int_equal(r.status, 206);
	assert_int_equal(r.len, 1000);
	assert_memory_equal(r.body, big + 1000000, 1000);
	assert_string_equal(header(&r, "content-range", buf, sizeof(buf)),
			    "bytes 1000000-1000999/5242880");
	resp_free(&r);

	/* the whole, with its digest headers */
	r = call("GET", path, T.alice);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.len, BIG);
	assert_memory_equal(r.body, big, BIG);
	assert_string_equal(header(&r, "content-type", buf, sizeof(buf)), "image/png");
	snprintf(file, sizeof(file), "\"%s\"", want.s);
	assert_string_equal(header(&r, "etag", buf, sizeof(buf)), file);
	{
		uint8_t raw[FZ_SHA256_LEN];
		char b64[64], rd[80];

		fz_sha256_raw(big, BIG, raw);
		EVP_EncodeBlock((unsigned char *)b64, raw, FZ_SHA256_LEN);
		snprintf(rd, sizeof(rd), "sha-256=:%s:", b64);
		assert_string_equal(header(&r, "repr-digest", buf, sizeof(buf)), rd);
	}
	resp_free(&r);
	r = call("HEAD", path, T.alice);
	assert_int_equal(r.status, 200);
	assert_string_equal(header(&r, "content-length", buf, sizeof(buf)), "5242880");
	resp_free(&r);

	/* Bob has his own row for it; Carol has none */
	expect_status(call("GET", path, T.bob), 200);
	expect_status(call("GET", path, token_for("carol@example.com")), 404);
	expect_status(call("GET", path, NULL), 401);
	free(big);
}

static void test_bad_digests(void **state)
{
	static const char *const bad[] = {
		"/api/v1/resources/..",
		"/api/v1/resources/..%2F..%2Fetc%2Fpasswd",
		"/api/v1/resources/%2e%2e",
		"/api/v1/resources/%2e%2e%2f%2e%2e%2fmbx.db",
		"/api/v1/resources/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* 44 */
		"/api/v1/resources/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",    /* 42 */
		"/api/v1/resources/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%2B", /* '+' */
	};
	resp r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = call("GET", bad[i], T.alice);
		if (r.status != 400)
			fprintf(stderr, "%s: %ld\n", bad[i], r.status);
		assert_int_equal(r.status, 400);
		resp_free(&r);
	}
	/* a literal ../ is no resource path at all */
	r = call("GET", "/api/v1/resources/../../mbx.db", T.alice);
	assert_true(r.status == 404 || r.status == 400);
	resp_free(&r);
	/* well formed, nobody's */
	expect_status(call("GET", "/api/v1/resources/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
			   T.alice), 404);
}

static void test_limits_leave_nothing(void **state)
{
	char *b = pattern(MAX_UPLOAD + 1, 7);
	const char *dave = token_for("dave@example.com");
	size_t before = blob_count();
	resp r;

	(void)state;
	/* over the size limit: refused from Content-Length */
	r = upload(dave, b, MAX_UPLOAD + 1, "x/y", false);
	assert_int_equal(r.status, 413);
	resp_free(&r);
	/* ... and while streaming */
	r = upload(dave, b, MAX_UPLOAD + 1, "x/y", true);
	assert_int_equal(r.status, 413);
	resp_free(&r);
	assert_int_equal(blob_count(), before);

	/* Dave fills 10 of his 12 MiB, then 4 more are over the quota */
	r = upload(dave, b, BIG, "x/y", false);
	assert_int_equal(r.status, 201);
	resp_free(&r);
	r = upload(dave, b + 10, BIG, "x/y", false);
	assert_int_equal(r.status, 201);
	resp_free(&r);
	before = blob_count();
	r = upload(dave, b + 1, 4 * 1024 * 1024, "x/y", false);
	assert_int_equal(r.status, 507);
	assert_non_null(strstr(r.body, "insufficient_storage"));
	resp_free(&r);
	r = upload(dave, b + 2, 4 * 1024 * 1024, "x/y", true);
	assert_int_equal(r.status, 507);
	resp_free(&r);
	assert_int_equal(blob_count(), before);
	/* under the quota still works */
	expect_status(upload(dave, b + 3, 1024, "x/y", true), 201);
	/* a bad media type is refused before the body */
	expect_status(upload(dave, b, 10, "not a type", false), 400);
	/* and an unauthenticated upload never gets in */
	expect_status(upload(NULL, b, 1024, "x/y", false), 401);
	free(b);
}

/* --- messages ---------------------------------------------------------------- */

static const char *upload_text(const char *token, const char *text, fz_digest_str *d)
{
	resp r = upload(token, text, strlen(text), "text/plain; charset=UTF-8", false);

	assert_true(r.status == 201 || r.status == 200);
	resp_free(&r);
	fz_digest(text, strlen(text), d);
	return d->s;
}

/* A draft from `from` whose body is one inline text part. */
static char *draft_json(const char *from, const char *extra_header, const fz_digest_str *d,
			size_t size)
{
	char *s = NULL;

	assert_true(asprintf(&s,
			     "{\"envelope\":[{\"headers\":[{\"From\":\"%s\"},{\"To\":\"bob@example.net\"},"
			     "{\"Subject\":\"Hello\"}%s,{\"Content-Type\":\"multipart/mixed\"}]}],"
			     "\"body\":{\"parts\":[{\"headers\":[{\"Content-Disposition\":\"inline\"},"
			     "{\"Content-ID\":\"<%s>\"},{\"Content-Type\":[\"message/external-body; "
			     "access-type=\\\"x-content-addressed-uri\\\"; hash-algorithm=\\\"sha256\\\"; "
			     "size=\\\"%zu\\\"\",\"text/plain; charset=UTF-8\"]}]}]}}",
			     from, extra_header ? extra_header : "", d->s, size) > 0);
	return s;
}

static const char *origin_header(json_t *msg, const char *name)
{
	json_t *block = json_object_get(json_array_get(json_object_get(json_object_get(msg, "document"),
									 "envelope"), 0), "headers");
	size_t i;

	for (i = 0; i < json_array_size(block); i++) {
		json_t *v = json_object_get(json_array_get(block, i), name);
		if (v != NULL)
			return json_string_value(v);
	}
	return NULL;
}

static void test_drafts(void **state)
{
	fz_digest_str d;
	const char *text = "Hi Bob,\nsee you.\n";
	char *doc, path[128], mid[128];
	json_t *j;
	resp r;

	(void)state;
	upload_text(T.alice, text, &d);
	doc = draft_json(ALICE, NULL, &d, strlen(text));
	r = send_json("POST", "/api/v1/messages", T.alice, "application/json", doc);
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	resp_free(&r);
	assert_string_equal(json_string_value(json_object_get(j, "folder")), "drafts");
	assert_true(json_is_true(json_object_get(json_object_get(j, "flags"), "seen")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "flags"), "flagged")));
	snprintf(mid, sizeof(mid), "%s", origin_header(j, "Message-ID"));
	assert_non_null(strstr(mid, "@example.com>"));
	assert_string_equal(origin_header(j, "X-Thread-ID"), mid);
	snprintf(path, sizeof(path), "/api/v1/messages/%s",
		 json_string_value(json_object_get(j, "id")));
	json_decref(j);

	/* read back, as JSON and as YAML */
	r = call("GET", path, T.alice);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(origin_header(j, "Message-ID"), mid);
	json_decref(j);
	resp_free(&r);
	{
		const char *hdrs[] = {"Accept: application/yaml", NULL};
		rq q = {.method = "GET", .path = path, .token = T.alice, .headers = hdrs};

		r = request(&q);
		assert_int_equal(r.status, 200);
		assert_non_null(strstr(r.body, "envelope:"));
		assert_non_null(strstr(r.body, mid));
		resp_free(&r);
	}
	expect_status(call("GET", path, T.bob), 404);
	expect_status(call("GET", "/api/v1/messages/nope", T.alice), 404);

	/* replaced: the ids stay */
	r = send_json("PUT", path, T.alice, "application/json", doc);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(origin_header(j, "Message-ID"), mid);
	json_decref(j);
	resp_free(&r);
	free(doc);

	/* patched */
	r = send_json("PATCH", path, T.alice, "application/json",
		      "{\"flags\":{\"flagged\":true},\"folder\":\"inbox\"}");
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "folder")), "inbox");
	assert_true(json_is_true(json_object_get(json_object_get(j, "flags"), "flagged")));
	json_decref(j);
	resp_free(&r);
	expect_status(send_json("PATCH", path, T.alice, "application/json", "{\"folder\":\"spam\"}"), 400);
	expect_status(send_json("PATCH", path, T.alice, "application/json", "{\"colour\":1}"), 400);

	/* refusals */
	doc = draft_json(ALICE, ",{\"Date\":\"Sun, 22 Dec 2024 20:49:35 +0200\"}", &d, strlen(text));
	expect_status(send_json("POST", "/api/v1/messages", T.alice, "application/json", doc), 400);
	free(doc);
	doc = draft_json(BOB, NULL, &d, strlen(text));
	expect_status(send_json("POST", "/api/v1/messages", T.alice, "application/json", doc), 403);
	free(doc);
	doc = draft_json(ALICE, ",{\"Message-ID\":\"<x@example.net>\"}", &d, strlen(text));
	expect_status(send_json("POST", "/api/v1/messages", T.alice, "application/json", doc), 400);
	free(doc);
	r = send_json("POST", "/api/v1/messages", T.alice, "application/json", "{\"envelope\":");
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body, "invalid_document"));
	resp_free(&r);
	expect_status(send_json("POST", "/api/v1/messages", T.alice, "text/plain", "{}"), 415);
	expect_status(send_json("POST", "/api/v1/messages", NULL, "application/json", "{}"), 401);

	/* a YAML draft with its own ids */
	{
		char *y = NULL;

		assert_true(asprintf(&y,
				     "envelope:\n  - headers:\n      - From: Alice <alice@example.com>\n"
				     "      - Message-ID: <given@example.com>\n"
				     "      - Content-Type: multipart/mixed\n"
				     "body:\n  parts:\n    - headers:\n        - Content-ID: <%s>\n"
				     "        - Content-Type:\n            - message/external-body; "
				     "access-type=\"x-content-addressed-uri\"; hash-algorithm=\"sha256\"; "
				     "size=\"%zu\"\n            - text/plain\n", d.s, strlen(text)) > 0);
		r = send_json("POST", "/api/v1/messages", T.alice, "application/yaml", y);
		free(y);
		assert_int_equal(r.status, 201);
		j = body_json(&r);
		assert_string_equal(origin_header(j, "Message-ID"), "<given@example.com>");
		assert_string_equal(origin_header(j, "X-Thread-ID"), "<given@example.com>");
		json_decref(j);
		resp_free(&r);
	}

	/* deleted: to the trash, then for good */
	expect_status(call("DELETE", path, T.alice), 204);
	r = call("GET", path, T.alice);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"folder\":\"trash\""));
	resp_free(&r);
	expect_status(call("DELETE", path, T.alice), 204);
	expect_status(call("GET", path, T.alice), 404);
	/* no mta.key here: sending is off (tests/system/mbx-send.test.mjs sends) */
	expect_status(call("POST", "/api/v1/messages/AAAAAAAAAAAAAAAAAAAAAA/send", T.alice), 503);
}

/* --- sync -------------------------------------------------------------------- */

static json_t *sync_call(const char *token, const char *since, int wait, long status)
{
	char path[256];
	resp r;
	json_t *j = NULL;

	if (since == NULL)
		snprintf(path, sizeof(path), "/api/v1/sync");
	else
		snprintf(path, sizeof(path), "/api/v1/sync?since=%s&wait=%d", since, wait);
	r = call("GET", path, token);
	if (r.status != status)
		fprintf(stderr, "sync: %ld %s\n", r.status, r.body);
	assert_int_equal(r.status, status);
	if (status == 200)
		j = body_json(&r);
	resp_free(&r);
	return j;
}

static void new_draft(const char *token, const char *from, char *id, size_t size)
{
	fz_digest_str d;
	const char *text = "sync me";
	char *doc;
	json_t *j;
	resp r;

	upload_text(token, text, &d);
	doc = draft_json(from, NULL, &d, strlen(text));
	r = send_json("POST", "/api/v1/messages", token, "application/json", doc);
	free(doc);
	assert_int_equal(r.status, 201);
	j = body_json(&r);
	if (id != NULL)
		snprintf(id, size, "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	resp_free(&r);
}

/* The verified-token cache: a hit only for the same token before its
 * exp; a slot holds the newest token; 0 entries is no cache at all. */
static void test_token_cache(void **state)
{
	static const char a[] = "header.payload-a.sig", b[] = "header.payload-b.sig";
	char user[64], longest[300];
	fz_token_cache *c = NULL;
	fz_err err = {0};

	(void)state;
	assert_int_equal(fz_token_cache_new(0, &c, &err), FZ_OK);
	assert_null(c);
	fz_token_cache_put(c, a, strlen(a), "alice@example.com", 2000);
	assert_false(fz_token_cache_get(c, a, strlen(a), 1000, user, sizeof(user)));

	assert_int_equal(fz_token_cache_new(1, &c, &err), FZ_OK);
	assert_false(fz_token_cache_get(c, a, strlen(a), 1000, user, sizeof(user)));
	fz_token_cache_put(c, a, strlen(a), "alice@example.com", 2000);
	assert_true(fz_token_cache_get(c, a, strlen(a), 1999, user, sizeof(user)));
	assert_string_equal(user, "alice@example.com");
	assert_false(fz_token_cache_get(c, a, strlen(a), 2000, user, sizeof(user)));
	assert_false(fz_token_cache_get(c, a, strlen(a) - 1, 1000, user, sizeof(user)));
	assert_false(fz_token_cache_get(c, b, strlen(b), 1000, user, sizeof(user)));
	assert_false(fz_token_cache_get(c, a, strlen(a), 1000, user, 5)); /* no room */
	/* one slot: b replaces a */
	fz_token_cache_put(c, b, strlen(b), "bob@example.com", 2000);
	assert_true(fz_token_cache_get(c, b, strlen(b), 1000, user, sizeof(user)));
	assert_false(fz_token_cache_get(c, a, strlen(a), 1000, user, sizeof(user)));
	/* no user longer than an address, no token without exp */
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	fz_token_cache_put(c, a, strlen(a), longest, 2000);
	assert_false(fz_token_cache_get(c, a, strlen(a), 1000, user, sizeof(user)));
	fz_token_cache_put(c, a, strlen(a), "alice@example.com", 0);
	assert_false(fz_token_cache_get(c, a, strlen(a), 1000, user, sizeof(user)));
	fz_token_cache_free(c);
}

static void test_sync(void **state)
{
	const char *erin = token_for("erin@example.com");
	char state1[64], state2[64], id[64], path[128];
	fz_digest_str d;
	json_t *j, *inl;
	int pages = 0, total = 0;
	bool more = true;

	(void)state;
	/* an empty mailbox */
	j = sync_call(erin, NULL, 0, 200);
	assert_int_equal(json_array_size(json_object_get(j, "changed")), 0);
	json_decref(j);

	new_draft(erin, "erin@example.com", id, sizeof(id));
	for (int i = 0; i < 4; i++)
		new_draft(erin, "erin@example.com", NULL, 0);
	/* a full sync in pages of PAGE */
	state1[0] = '\0';
	while (more) {
		j = sync_call(erin, state1[0] ? state1 : NULL, 0, 200);
		more = json_is_true(json_object_get(j, "more"));
		total += (int)json_array_size(json_object_get(j, "changed"));
		snprintf(state1, sizeof(state1), "%s", json_string_value(json_object_get(j, "state")));
		inl = json_object_get(j, "inline");
		fz_digest("sync me", 7, &d);
		assert_string_equal(json_string_value(json_object_get(json_object_get(inl, d.s), "text")),
				    "sync me");
		assert_string_equal(json_string_value(json_object_get(json_object_get(inl, d.s), "type")),
				    "text/plain; charset=UTF-8");
		json_decref(j);
		pages++;
	}
	assert_int_equal(total, 5);
	assert_int_equal(pages, 2);

	/* nothing new: nothing */
	j = sync_call(erin, state1, 0, 200);
	assert_int_equal(json_array_size(json_object_get(j, "changed")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "destroyed")), 0);
	assert_string_equal(json_string_value(json_object_get(j, "state")), state1);
	assert_false(json_is_true(json_object_get(j, "more")));
	json_decref(j);

	/* a flag change, then a destroy */
	snprintf(path, sizeof(path), "/api/v1/messages/%s", id);
	expect_status(send_json("PATCH", path, erin, "application/json", "{\"flags\":{\"seen\":false}}"), 200);
	j = sync_call(erin, state1, 0, 200);
	assert_int_equal(json_array_size(json_object_get(j, "changed")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(j, "changed"), 0), "id")), id);
	snprintf(state2, sizeof(state2), "%s", json_string_value(json_object_get(j, "state")));
	json_decref(j);
	expect_status(call("DELETE", path, erin), 204);
	expect_status(call("DELETE", path, erin), 204);
	j = sync_call(erin, state2, 0, 200);
	assert_int_equal(json_array_size(json_object_get(j, "changed")), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "destroyed"), 0)), id);
	snprintf(state2, sizeof(state2), "%s", json_string_value(json_object_get(j, "state")));
	json_decref(j);

	/* 410: garbage, the future, and below the floor after pruning */
	sync_call(erin, "garbage", 0, 410);
	sync_call(erin, "1.999999", 0, 410);
	assert_int_equal(fz_mbx_changes_prune(T.mbx->store, "erin@example.com",
					      strtoull(state2 + 2, NULL, 10), NULL), FZ_OK);
	sync_call(erin, state1, 0, 410);
	j = sync_call(erin, state2, 0, 200);
	json_decref(j);
	{
		resp r = call("GET", "/api/v1/sync?since=1.1&wait=soon", erin);
		assert_int_equal(r.status, 400);
		resp_free(&r);
	}
	/* the other mailboxes are untouched by Erin's */
	j = sync_call(token_for("frank@example.com"), NULL, 0, 200);
	assert_int_equal(json_array_size(json_object_get(j, "changed")), 0);
	json_decref(j);
}

struct poll_arg {
	const char *token;
	char since[64];
	json_t *got;
	double seconds;
};

static void *long_poll(void *p)
{
	struct poll_arg *a = p;
	char path[256];
	resp r;

	snprintf(path, sizeof(path), "/api/v1/sync?since=%s&wait=10", a->since);
	r = call("GET", path, a->token);
	a->seconds = r.seconds;
	if (r.status == 200)
		a->got = json_loadb(r.body, r.len, 0, NULL);
	resp_free(&r);
	return NULL;
}

static void test_long_poll(void **state)
{
	struct poll_arg a = {.token = token_for("gina@example.com")};
	struct timespec pause = {.tv_nsec = 300 * 1000 * 1000};
	pthread_t t;
	json_t *j;

	(void)state;
	new_draft(a.token, "gina@example.com", NULL, 0);
	j = sync_call(a.token, NULL, 0, 200);
	snprintf(a.since, sizeof(a.since), "%s", json_string_value(json_object_get(j, "state")));
	json_decref(j);

	/* nothing happens: the wait runs out (1 s) with nothing */
	{
		char path[256];
		resp r;

		snprintf(path, sizeof(path), "/api/v1/sync?since=%s&wait=1", a.since);
		r = call("GET", path, a.token);
		assert_int_equal(r.status, 200);
		assert_true(r.seconds >= 0.9);
		assert_non_null(strstr(r.body, "\"changed\":[]"));
		resp_free(&r);
	}

	assert_int_equal(pthread_create(&t, NULL, long_poll, &a), 0);
	nanosleep(&pause, NULL);
	new_draft(a.token, "gina@example.com", NULL, 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_non_null(a.got);
	assert_int_equal(json_array_size(json_object_get(a.got, "changed")), 1);
	/* woken by the change, not by the 10 s timeout */
	assert_true(a.seconds < 2.0);
	json_decref(a.got);
}

static void test_forwarding(void **state)
{
	json_t *j;
	resp r;

	(void)state;
	r = call("GET", "/api/v1/settings/forwarding", T.bob);
	assert_int_equal(r.status, 200);
	j = body_json(&r);
	assert_true(json_is_false(json_object_get(j, "enabled")));
	assert_true(json_is_true(json_object_get(j, "keep_copy")));
	json_decref(j);
	resp_free(&r);
	r = send_json("PUT", "/api/v1/settings/forwarding", T.bob, "application/json",
		      "{\"enabled\":true,\"to\":\"bobby@example.org\",\"keep_copy\":false}");
	assert_int_equal(r.status, 200);
	resp_free(&r);
	r = call("GET", "/api/v1/settings/forwarding", T.bob);
	j = body_json(&r);
	assert_true(json_is_true(json_object_get(j, "enabled")));
	assert_string_equal(json_string_value(json_object_get(j, "to")), "bobby@example.org");
	json_decref(j);
	resp_free(&r);
	expect_status(send_json("PUT", "/api/v1/settings/forwarding", T.bob, "application/json",
				"{\"enabled\":true,\"to\":\"not an address\",\"keep_copy\":false}"), 400);
	expect_status(send_json("PUT", "/api/v1/settings/forwarding", T.bob, "application/json",
				"{\"enabled\":true,\"to\":\"bob@example.com\",\"keep_copy\":false}"), 400);
	expect_status(send_json("PUT", "/api/v1/settings/forwarding", T.bob, "application/json",
				"{\"enabled\":true}"), 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metadata),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_upload_download),
		cmocka_unit_test(test_bad_digests),
		cmocka_unit_test(test_limits_leave_nothing),
		cmocka_unit_test(test_drafts),
		cmocka_unit_test(test_token_cache),
		cmocka_unit_test(test_sync),
		cmocka_unit_test(test_long_poll),
		cmocka_unit_test(test_forwarding),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
