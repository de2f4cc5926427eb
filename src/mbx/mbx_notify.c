/*
 * mbx_notify.c - long-poll wake-ups for sync (SPEC §11 `wait`).
 *
 * A waiting sync holds no thread: its handler registers a waiter here and
 * suspends its HTTP request (fz_http_req_suspend). The waiter is resumed,
 * and the handler runs again to answer, when a commit changes its
 * mailbox, when its deadline passes (one timer thread watches them all)
 * or at shutdown. limits.long_poll_max_waiters bounds only the memory
 * waiters take: past it a sync answers at once and the client polls
 * again.
 *
 * A waiter lives in its request's arena; a cleanup on that arena takes
 * it out of the list under the lock that every resume holds, so a resume
 * never reaches a request that has ended.
 */
#include "mbx_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fz_mbx_waiter {
	fz_mbx_notify *n;
	fz_http_req *req;
	const char *owner;
	struct timespec deadline; /* CLOCK_MONOTONIC */
	bool linked;              /* in n's list: not yet resumed */
	fz_mbx_waiter *prev, *next;
};

struct fz_mbx_notify {
	pthread_mutex_t lock;
	pthread_cond_t timer_cond; /* a new deadline, or quit */
	pthread_t timer;
	fz_mbx_waiter *waiters;
	size_t waiting, max;
	bool stopping; /* no new waiters */
	bool quit;     /* the timer thread ends */
};

/* Called with the lock held. */
static void unlink_waiter(fz_mbx_waiter *w)
{
	fz_mbx_notify *n = w->n;

	if (!w->linked)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		n->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->linked = false;
	n->waiting--;
}

/* Takes w out and resumes its request; the handler then answers. Called
 * with the lock held, which keeps the request alive (see the top). */
static void wake(fz_mbx_waiter *w)
{
	unlink_waiter(w);
	fz_http_req_resume(w->req);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Resumes the waiters whose deadline passed; *next is the earliest
 * deadline left, and false is returned when none is. Lock held. */
static bool expire(fz_mbx_notify *n, struct timespec *next)
{
	fz_mbx_waiter *w, *after;
	struct timespec now;
	bool any = false;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (w = n->waiters; w != NULL; w = after) {
		after = w->next;
		if (!before(&now, &w->deadline)) {
			wake(w);
		} else if (!any || before(&w->deadline, next)) {
			*next = w->deadline;
			any = true;
		}
	}
	return any;
}

static void *timer_main(void *p)
{
	fz_mbx_notify *n = p;
	struct timespec next;

	pthread_mutex_lock(&n->lock);
	while (!n->quit) {
		if (expire(n, &next))
			pthread_cond_timedwait(&n->timer_cond, &n->lock, &next);
		else
			pthread_cond_wait(&n->timer_cond, &n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

fz_code fz_mbx_notify_new(size_t max_waiters, fz_mbx_notify **out, fz_err *err)
{
	fz_mbx_notify *n = calloc(1, sizeof(*n));
	pthread_condattr_t ca;

	*out = NULL;
	if (n == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	n->max = max_waiters;
	pthread_mutex_init(&n->lock, NULL);
	/* Deadlines on the monotonic clock: a wall-clock step must not
	 * stretch or cut a wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&n->timer, NULL, timer_main, n) != 0) {
		pthread_cond_destroy(&n->timer_cond);
		pthread_mutex_destroy(&n->lock);
		free(n);
		return fz_fail(err, FZ_ENOMEM, "cannot start the long-poll timer");
	}
	*out = n;
	return FZ_OK;
}

/* Call once the HTTP server is stopped: no request, so no waiter, is
 * left. */
void fz_mbx_notify_free(fz_mbx_notify *n)
{
	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->quit = true;
	pthread_cond_signal(&n->timer_cond);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->timer, NULL);
	pthread_cond_destroy(&n->timer_cond);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

void fz_mbx_notify_changed(fz_mbx_notify *n, const char *owner)
{
	fz_mbx_waiter *w, *after;

	pthread_mutex_lock(&n->lock);
	for (w = n->waiters; w != NULL; w = after) {
		after = w->next;
		if (strcmp(w->owner, owner) == 0)
			wake(w);
	}
	pthread_mutex_unlock(&n->lock);
}

void fz_mbx_notify_shutdown(fz_mbx_notify *n)
{
	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	while (n->waiters != NULL)
		wake(n->waiters);
	pthread_mutex_unlock(&n->lock);
}

/* The request ended (answered, aborted or shut down): forget it. */
static void waiter_gone(void *data)
{
	fz_mbx_waiter *w = data;

	pthread_mutex_lock(&w->n->lock);
	unlink_waiter(w);
	pthread_mutex_unlock(&w->n->lock);
}

fz_code fz_mbx_notify_wait(fz_mbx_notify *n, fz_http_req *req, const char *owner,
			   unsigned timeout_s, fz_mbx_waiter **out, fz_err *err)
{
	fz_mbx_waiter *w = fz_arena_calloc(req->arena, 1, sizeof(*w));

	*out = NULL;
	if (w == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	w->n = n;
	w->req = req;
	w->owner = fz_arena_strdup(req->arena, owner);
	if (w->owner == NULL || fz_arena_on_free(req->arena, waiter_gone, w) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	w->deadline.tv_sec += (time_t)timeout_s;
	pthread_mutex_lock(&n->lock);
	if (!n->stopping && n->waiting < n->max) {
		w->next = n->waiters;
		if (n->waiters != NULL)
			n->waiters->prev = w;
		n->waiters = w;
		w->linked = true;
		n->waiting++;
		*out = w;
		pthread_cond_signal(&n->timer_cond);
	}
	pthread_mutex_unlock(&n->lock);
	return FZ_OK;
}

void fz_mbx_notify_leave(fz_mbx_waiter *w)
{
	if (w != NULL)
		waiter_gone(w);
}
