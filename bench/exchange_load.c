/*
 * exchange_load.c - the load generator of the token-exchange benchmark
 * (bench/exchange.mjs, issue #8 benchmark 4), in C so that the client
 * costs less CPU than the AS it measures: the Node.js generator took more
 * than twice the AS's CPU and so bounded the figure on a 2-core machine.
 *
 * Every request is what the MTA sends in production, through the same
 * code (net/oauth_client.c): a fresh private_key_jwt client assertion
 * (RFC 7523, fresh jti and iat), a fresh DPoP proof (RFC 9449, fresh jti,
 * iat, htm, htu) made with the thread's DPoP key as an MTA makes it with
 * its mta.dpop_key, and the RFC 8693 access token -> assertion exchange,
 * over a keep-alive HTTPS connection per thread that verifies the AS's
 * certificate.
 *
 *   exchange_load CONFIG.json
 *
 * CONFIG: {"token_endpoint", "resolve" ("host:port:address"), "ca_file",
 * "client_id", "client_key_pem", "client_kid", "subject_token",
 * "headers", "seconds", "threads"}. Prints one JSON line: ok, failed,
 * first_error, p50_ms, p99_ms, cpu_s (this process's user + system).
 */
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "jwk.h"
#include "oauth_client.h"

/* Threads (one connection and one request in flight each). */
#define LOAD_THREADS_MAX 256
/* Latency histogram: 0.1 ms buckets up to 5 s; slower lands in the last. */
#define LAT_BUCKET_US 100
#define LAT_BUCKETS 50000
/* Per-request arena: the response and the encoded form. */
#define LOAD_ARENA_LIMIT (1024 * 1024)
#define LOAD_ERROR_MAX 512

typedef struct load_config {
	const char *token_endpoint, *resolve, *ca_file, *client_id;
	const char *subject_token, *headers;
	const fz_key *client_key;
	double seconds;
	size_t threads;
} load_config;

typedef struct worker {
	pthread_t tid;
	const load_config *cfg;
	unsigned long ok, failed;
	uint32_t *lat; /* LAT_BUCKETS counters */
	char first_error[LOAD_ERROR_MAX];
} worker;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void record(worker *w, double seconds)
{
	size_t b = (size_t)(seconds * 1e6 / LAT_BUCKET_US);

	w->lat[b < LAT_BUCKETS ? b : LAT_BUCKETS - 1]++;
}

static void note_failure(worker *w, const fz_err *err)
{
	if (w->failed++ == 0)
		snprintf(w->first_error, sizeof(w->first_error), "%ld %s", (long)err->status,
			 err->msg);
}

/* One exchange as the MTA makes it; the wall clock decides iat. */
static void one(worker *w, const fz_oauth_client *oc, fz_http_client *http, fz_arena *a)
{
	const fz_oauth_param p[] = {
		{"subject_token", w->cfg->subject_token},
		{"subject_token_type", FZ_OAUTH_TT_ACCESS},
		{"requested_token_type", FZ_OAUTH_TT_JWT},
		{"scope", "internet_mail"},
		{"headers", w->cfg->headers},
	};
	fz_oauth_token tok;
	fz_err err = {0};
	double t0 = now_s();

	if (fz_oauth_token_request(oc, http, a, FZ_OAUTH_GRANT_TOKEN_EXCHANGE, p,
				   sizeof(p) / sizeof(p[0]), (int64_t)time(NULL), &tok,
				   &err) != FZ_OK) {
		note_failure(w, &err);
		return;
	}
	w->ok++;
	record(w, now_s() - t0);
}

static void *run(void *arg)
{
	worker *w = arg;
	const load_config *cfg = w->cfg;
	fz_http_client_config hc;
	fz_http_client *http = NULL;
	fz_key *dpop = NULL;
	fz_err err = {0};
	double end = now_s() + cfg->seconds;
	fz_oauth_client oc = {.client_id = cfg->client_id, .client_key = cfg->client_key,
			      .token_endpoint = cfg->token_endpoint, .resolve = cfg->resolve};

	fz_http_client_config_defaults(&hc);
	hc.ca_file = cfg->ca_file;
	if (fz_key_generate(FZ_ALG_ES256, 0, &dpop, &err) != FZ_OK ||
	    fz_http_client_new(&hc, &http, &err) != FZ_OK) {
		note_failure(w, &err);
		goto out;
	}
	oc.dpop_key = dpop;
	while (now_s() < end) {
		fz_arena *a = fz_arena_new(FZ_ARENA_BLOCK_DEFAULT, LOAD_ARENA_LIMIT);

		if (a == NULL) {
			err = (fz_err){.msg = "out of memory"};
			note_failure(w, &err);
			break;
		}
		one(w, &oc, http, a);
		fz_arena_free(a);
	}
out:
	fz_http_client_free(http);
	fz_key_free(dpop);
	return NULL;
}

static const char *str(const json_t *cfg, const char *name)
{
	const char *v = json_string_value(json_object_get(cfg, name));

	if (v == NULL)
		fprintf(stderr, "exchange_load: config has no string %s\n", name);
	return v;
}

static int read_config(const json_t *j, load_config *cfg, fz_key **key)
{
	const char *pem = str(j, "client_key_pem"), *kid = str(j, "client_kid");
	fz_err err = {0};

	cfg->token_endpoint = str(j, "token_endpoint");
	cfg->resolve = json_string_value(json_object_get(j, "resolve"));
	cfg->ca_file = str(j, "ca_file");
	cfg->client_id = str(j, "client_id");
	cfg->subject_token = str(j, "subject_token");
	cfg->headers = str(j, "headers");
	cfg->seconds = json_number_value(json_object_get(j, "seconds"));
	cfg->threads = (size_t)json_integer_value(json_object_get(j, "threads"));
	if (!pem || !kid || !cfg->token_endpoint || !cfg->ca_file || !cfg->client_id ||
	    !cfg->subject_token || !cfg->headers)
		return -1;
	if (cfg->seconds <= 0 || cfg->threads == 0 || cfg->threads > LOAD_THREADS_MAX) {
		fprintf(stderr, "exchange_load: seconds > 0 and 1..%d threads\n", LOAD_THREADS_MAX);
		return -1;
	}
	if (fz_key_from_pem(pem, strlen(pem), key, &err) != FZ_OK ||
	    fz_key_set_kid(*key, kid, &err) != FZ_OK) {
		fprintf(stderr, "exchange_load: client key: %s\n", err.msg);
		return -1;
	}
	cfg->client_key = *key;
	return 0;
}

/* The latency below which a share p of the requests finished, in ms. */
static double percentile(const uint64_t *lat, uint64_t n, double p)
{
	uint64_t want = (uint64_t)((double)n * p), seen = 0;
	size_t b;

	for (b = 0; b < LAT_BUCKETS; b++) {
		seen += lat[b];
		if (seen > want)
			break;
	}
	return (double)(b + 1) * LAT_BUCKET_US / 1000.0;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void report(const worker *w, size_t n, double cpu)
{
	uint64_t *lat = calloc(LAT_BUCKETS, sizeof(*lat));
	unsigned long ok = 0, bad = 0;
	const char *first = "";
	json_t *out;
	char *line;
	size_t i, b;

	for (i = 0; i < n; i++) {
		ok += w[i].ok;
		bad += w[i].failed;
		if (*first == '\0')
			first = w[i].first_error;
		for (b = 0; lat != NULL && b < LAT_BUCKETS; b++)
			lat[b] += w[i].lat[b];
	}
	out = json_pack("{s:I,s:I,s:s,s:f,s:f,s:f}", "ok", (json_int_t)ok, "failed",
			(json_int_t)bad, "first_error", first, "p50_ms",
			lat && ok ? percentile(lat, ok, 0.5) : 0.0, "p99_ms",
			lat && ok ? percentile(lat, ok, 0.99) : 0.0, "cpu_s", cpu);
	line = out ? json_dumps(out, JSON_COMPACT) : NULL;
	puts(line ? line : "{\"failed\":1,\"first_error\":\"out of memory\"}");
	free(line);
	json_decref(out);
	free(lat);
}

int main(int argc, char **argv)
{
	json_error_t jerr;
	json_t *j = argc == 2 ? json_load_file(argv[1], 0, &jerr) : NULL;
	load_config cfg = {0};
	fz_key *key = NULL;
	worker *w = NULL;
	double cpu0;
	size_t i, started = 0;
	int rc = 1;

	if (j == NULL) {
		fprintf(stderr, "usage: exchange_load CONFIG.json%s%s\n", argc == 2 ? ": " : "",
			argc == 2 ? jerr.text : "");
		return 2;
	}
	if (read_config(j, &cfg, &key) != 0)
		goto out;
	w = calloc(cfg.threads, sizeof(*w));
	if (w == NULL)
		goto out;
	cpu0 = cpu_seconds();
	for (i = 0; i < cfg.threads; i++) {
		w[i].cfg = &cfg;
		w[i].lat = calloc(LAT_BUCKETS, sizeof(*w[i].lat));
		if (w[i].lat == NULL || pthread_create(&w[i].tid, NULL, run, &w[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	if (started == cfg.threads) {
		report(w, started, cpu_seconds() - cpu0);
		rc = 0;
	}
out:
	for (i = 0; w != NULL && i < cfg.threads; i++)
		free(w[i].lat);
	free(w);
	fz_key_free(key);
	json_decref(j);
	return rc;
}
