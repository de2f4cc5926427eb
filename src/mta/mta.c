/*
 * mta.c - the worker loop (mta.h): threads that claim due queue entries
 * one at a time under a lease, run them, and report the verdict; idle,
 * they sleep on a condition variable until a kick (something was
 * queued), the next entry's due time, or queue.poll_interval, whichever
 * comes first. Reports count only while the lease is ours
 * (fz_queue_report_lease), so a recall or an overtaking push wins.
 */
#include "mta_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jose.h"
#include "mta_policy.h"
#include "placeholder.h"

#define ARENA_BLOCK (64 * 1024)
#define ARENA_LIMIT (16 * 1024 * 1024) /* one attempt: documents, tokens */

struct fz_mta {
	fz_mta_env env;
	pthread_mutex_t mu;
	pthread_cond_t cv;     /* CLOCK_MONOTONIC */
	bool stopping;
	uint64_t kicks;        /* bumped by fz_mta_kick */
	pthread_t *threads;
	size_t nthreads;
};

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
}

/* --- verdicts ----------------------------------------------------------------- */

fz_mta_verdict fz_mta_say(fz_mta_job *j, fz_mta_verdict v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->why, sizeof(j->why), fmt, ap);
	va_end(ap);
	return v;
}

fz_mta_verdict fz_mta_error(fz_mta_job *j, const char *what, const fz_err *e)
{
	bool final = e->code == FZ_ESTRUCT || e->code == FZ_ESYNTAX;

	return fz_mta_say(j, final ? FZ_MTA_FAIL : FZ_MTA_RETRY, "%s: %s", what, e->msg);
}

fz_mta_verdict fz_mta_answer(fz_mta_job *j, const char *what,
			     const fz_http_client_resp *r)
{
	json_t *body = r->body_len ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
	const char *error = json_string_value(json_object_get(body, "error"));
	const char *desc = json_string_value(json_object_get(body, "error_description"));
	fz_mta_verdict v = fz_mta_status_permanent(r->status) ? FZ_MTA_FAIL : FZ_MTA_RETRY;

	fz_mta_say(j, v, "%s: %ld %s%s%s", what, r->status, error ? error : "",
		   desc ? ": " : "", desc ? desc : "");
	json_decref(body);
	return v;
}

/* --- shared helpers ------------------------------------------------------------ */

fz_mta_verdict fz_mta_exchange(fz_mta_job *j, const char *purpose,
			       const fz_oauth_param *p, size_t np, bool any_4xx_final,
			       const char **out)
{
	const fz_mbx_config *cfg = j->env->cfg;
	fz_oauth_client oc = {
		.client_id = cfg->mta_client_id,
		.client_key = j->env->client_key,
		.dpop_key = j->env->dpop_key,
		.assertion_ttl = (int64_t)cfg->mta_assertion_ttl,
	};
	fz_oauth_token tok;
	fz_err err = {0};
	bool final;

	if (oc.client_key == NULL || oc.dpop_key == NULL)
		return fz_mta_say(j, FZ_MTA_RETRY, "%s needs mta.key and mta.dpop_key", purpose);
	if (j->env->token_endpoint(j->env->ctx, j->arena, &oc.token_endpoint, &oc.resolve,
				   &err) != FZ_OK)
		return fz_mta_say(j, FZ_MTA_RETRY, "the own AS: %s", err.msg);
	if (fz_oauth_token_request(&oc, j->api, j->arena, FZ_OAUTH_GRANT_TOKEN_EXCHANGE, p, np,
				   j->now, &tok, &err) != FZ_OK) {
		final = err.status >= 400 && err.status < 500 &&
			(any_4xx_final || err.code == FZ_EDENIED);
		return fz_mta_say(j, final ? FZ_MTA_FAIL : FZ_MTA_RETRY,
				  "token exchange at the own AS: %s", err.msg);
	}
	*out = tok.access_token;
	return FZ_MTA_DONE;
}

fz_code fz_mta_load(fz_mta_job *j, json_t **doc, const char **message_id,
		    fz_err *err)
{
	fz_mbx_msg m;
	fz_code rc = fz_mbx_msg_by_id(j->env->store, j->arena, j->e->message, &m, err);

	if (rc != FZ_OK)
		return rc;
	rc = fz_placeholder_from_json(m.document, strlen(m.document), NULL, doc, err);
	if (rc != FZ_OK)
		return rc;
	if (fz_arena_own_json(j->arena, *doc) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	*message_id = m.message_id;
	return FZ_OK;
}

fz_code fz_mta_newest_assertion(fz_mta_job *j, const json_t *doc,
				const char **out, fz_err *err)
{
	fz_entry_kind kind;
	const json_t *block;
	const char *jws;
	size_t i, len;
	fz_code rc;

	for (i = 0;; i++) {
		rc = fz_placeholder_entry(doc, i, &kind, &block, &jws, &len, err);
		if (rc == FZ_ENOTFOUND)
			return fz_fail(err, FZ_ESTRUCT, "the envelope has no assertion");
		if (rc != FZ_OK)
			return rc;
		if (kind == FZ_ENTRY_ASSERTION)
			break;
	}
	*out = fz_arena_strndup(j->arena, jws, len);
	return *out ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");
}

const char *fz_mta_url(fz_mta_job *j, const char *base, const char *path)
{
	return fz_arena_printf(j->arena, "%s%s", base, path);
}

const char *fz_mta_escape(fz_mta_job *j, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s), o = 0;
	char *out = fz_arena_alloc(j->arena, n * 3 + 1);

	for (; out != NULL && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '%';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	if (out != NULL)
		out[o] = '\0';
	return out;
}

/* --- one entry ------------------------------------------------------------------ */

static fz_mta_verdict run(fz_mta_job *j)
{
	switch (j->e->kind) {
	case FZ_QUEUE_TRANSFER:
		j->done = FZ_QUEUE_TRANSFERRED;
		return fz_mta_transfer(j);
	case FZ_QUEUE_FETCH:
		j->done = FZ_QUEUE_FETCHED;
		return fz_mta_fetch(j);
	case FZ_QUEUE_FORWARD:
		j->done = FZ_QUEUE_TRANSFERRED;
		return fz_mta_forward(j);
	default:
		/* pushes ride on their transfer (mta_transfer.c) */
		return fz_mta_say(j, FZ_MTA_FAIL, "%s entries are not worked by this MTA",
				  fz_queue_kind_name(j->e->kind));
	}
}

/* The verdict into the store; a final failure of a transfer tells the
 * sender. */
static void report(fz_mta *w, fz_mta_job *j, fz_mta_verdict v, int64_t lease_until)
{
	const fz_mbx_queue_config *q = &w->env.cfg->queue;
	const fz_queue_entry *e = j->e;
	fz_queue_report r = {.id = e->id, .lease_until = lease_until, .now = wall_now()};
	char why[FZ_ERR_MSG_MAX + 64];
	int64_t delay = 0;
	bool applied = false;
	fz_err err = {0};

	r.state = v == FZ_MTA_DONE ? j->done : v == FZ_MTA_FAIL ? FZ_QUEUE_FAILED : FZ_QUEUE_QUEUED;
	if (v == FZ_MTA_RETRY) {
		delay = fz_mta_backoff(e->attempts, (int64_t)q->initial_retry,
				       (int64_t)q->max_retry, arc4random());
		/* delivered, only the pushes' outcome unknown: never a failure */
		if (j->delivered &&
		    !fz_mta_retry_allowed(e->created_at, r.now, delay, (int64_t)q->give_up_after)) {
			r.state = j->done;
			v = FZ_MTA_DONE;
		} else if (!fz_mta_retry_allowed(e->created_at, r.now, delay,
						 (int64_t)q->give_up_after)) {
			snprintf(why, sizeof(why), "gave up after %u attempts: %s", e->attempts, j->why);
			memcpy(j->why, why, sizeof(j->why) - 1);
			j->why[sizeof(j->why) - 1] = '\0';
			r.state = FZ_QUEUE_FAILED;
			v = FZ_MTA_FAIL;
		}
		r.next_attempt_at = r.now + delay;
	}
	r.error = v == FZ_MTA_DONE ? NULL : j->why;
	if (fz_queue_report_lease(w->env.store, &r, &applied, &err) != FZ_OK) {
		fprintf(stderr, "federizer mta: %s %lld: recording the outcome: %s\n",
			fz_queue_kind_name(e->kind), (long long)e->id, err.msg);
		return;
	}
	if (v != FZ_MTA_DONE)
		fprintf(stderr, "federizer mta: %s %lld to %s, attempt %u: %s%s\n",
			fz_queue_kind_name(e->kind), (long long)e->id, e->domain, e->attempts,
			j->why, v == FZ_MTA_RETRY ? " (will retry)" : " (failed)");
	if (applied && v == FZ_MTA_FAIL && e->kind == FZ_QUEUE_TRANSFER)
		fz_mta_notice(&w->env, e, j->why, r.now);
}

/* Claims and runs one due entry; false when there was none. */
static bool run_one(fz_mta *w, fz_http_client *api, fz_http_client *download)
{
	const fz_mbx_queue_config *q = &w->env.cfg->queue;
	fz_arena *a = fz_arena_new(ARENA_BLOCK, ARENA_LIMIT);
	fz_queue_entry *v = NULL;
	size_t n = 0;
	int64_t now = wall_now();
	fz_err err = {0};

	if (a == NULL)
		return false;
	if (fz_queue_claim(w->env.store, a, now, (int64_t)q->lease, 1, &v, &n, &err) != FZ_OK)
		fprintf(stderr, "federizer mta: claiming queue entries: %s\n", err.msg);
	if (n == 1) {
		fz_mta_job j = {.env = &w->env, .api = api, .download = download, .arena = a,
				.e = &v[0], .now = now};

		report(w, &j, run(&j), fz_time_add(now, (int64_t)q->lease));
	}
	fz_arena_free(a);
	return n == 1;
}

/* --- the threads ------------------------------------------------------------------- */

static bool stopping(fz_mta *w, uint64_t *kicks)
{
	bool s;

	pthread_mutex_lock(&w->mu);
	s = w->stopping;
	*kicks = w->kicks;
	pthread_mutex_unlock(&w->mu);
	return s;
}

/* Sleeps until a kick since seen, the next due entry, or the poll
 * interval. */
static void idle(fz_mta *w, uint64_t seen)
{
	int64_t now = wall_now(), due = 0, wait = (int64_t)w->env.cfg->queue.poll_interval;
	bool any = false;
	struct timespec until;
	fz_err err = {0};

	if (fz_queue_next_due(w->env.store, &due, &any, &err) == FZ_OK && any && due - now < wait)
		wait = due - now < 1 ? 1 : due - now;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)wait;
	pthread_mutex_lock(&w->mu);
	while (!w->stopping && w->kicks == seen &&
	       pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	pthread_mutex_unlock(&w->mu);
}

static fz_code http_clients(const fz_mbx_config *cfg, fz_http_client **api,
			    fz_http_client **download, fz_err *err)
{
	fz_http_client_config hc;
	fz_code rc;

	fz_http_client_config_defaults(&hc);
	hc.ca_file = cfg->ca_file;
	hc.timeout_s = (unsigned)cfg->queue.timeout;
	rc = fz_http_client_new(&hc, api, err);
	/* a download may take long: only a stall ends it */
	hc.timeout_s = 0;
	hc.max_download_bytes = cfg->limits.max_upload_bytes;
	if (rc == FZ_OK)
		rc = fz_http_client_new(&hc, download, err);
	return rc;
}

static void *worker(void *arg)
{
	fz_mta *w = arg;
	fz_http_client *api = NULL, *download = NULL;
	fz_err err = {0};
	uint64_t seen;

	if (http_clients(w->env.cfg, &api, &download, &err) != FZ_OK) {
		fprintf(stderr, "federizer mta: worker not started: %s\n", err.msg);
		goto out;
	}
	while (!stopping(w, &seen)) {
		if (!run_one(w, api, download))
			idle(w, seen);
	}
out:
	fz_http_client_free(api);
	fz_http_client_free(download);
	return NULL;
}

fz_code fz_mta_start(const fz_mta_env *env, fz_mta **out, fz_err *err)
{
	fz_mta *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	size_t i, n = (size_t)env->cfg->queue.workers;

	*out = NULL;
	if (w == NULL || (n > 0 && (w->threads = calloc(n, sizeof(*w->threads))) == NULL)) {
		free(w);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	w->env = *env;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	for (i = 0; i < n; i++) {
		if (pthread_create(&w->threads[i], NULL, worker, w) != 0) {
			fz_mta_stop(w);
			return fz_fail(err, FZ_EIO, "cannot start MTA worker thread %zu", i);
		}
		w->nthreads++;
	}
	if (n > 0)
		fprintf(stderr, "federizer mta: %zu worker%s started\n", n, n == 1 ? "" : "s");
	*out = w;
	return FZ_OK;
}

void fz_mta_kick(fz_mta *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->kicks++;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void fz_mta_stop(fz_mta *w)
{
	size_t i;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->threads);
	free(w);
}
