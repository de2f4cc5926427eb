/*
 * mbx_notify.c - long-poll wake-ups for sync (SPEC §11 `wait`).
 *
 * The HTTP layer's handlers are synchronous on libmicrohttpd's worker
 * threads, so a waiting sync holds its thread (and stalls the other
 * connections that thread serves) until its mailbox changes or the wait
 * ends. That is why waiters are bounded (limits.long_poll_max_waiters,
 * below limits.threads): past the bound a sync answers at once and the
 * client simply polls again.
 *
 * One slot per mailbox being waited on, each with its own condition
 * variable and a generation counter a commit bumps; a waiter notes the
 * generation before it reads the modseq, so a change committed between
 * the read and the wait is never missed.
 */
#include "mbx_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OWNER_MAX 255

typedef struct slot {
	char owner[OWNER_MAX + 1];
	unsigned users; /* 0: free */
	uint64_t gen;
	pthread_cond_t cond;
} slot;

struct fz_mbx_notify {
	pthread_mutex_t lock;
	slot *slots;
	size_t nslots;
	size_t waiting;
	bool stopping;
};

fz_code fz_mbx_notify_new(size_t max_waiters, fz_mbx_notify **out, fz_err *err)
{
	fz_mbx_notify *n = calloc(1, sizeof(*n));
	pthread_condattr_t ca;
	size_t i;

	*out = NULL;
	if (n == NULL || (max_waiters > 0 &&
			  (n->slots = calloc(max_waiters, sizeof(*n->slots))) == NULL)) {
		free(n);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&n->lock, NULL);
	/* Deadlines on the monotonic clock: a wall-clock step must not
	 * stretch or cut a wait. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	for (i = 0; i < max_waiters; i++)
		pthread_cond_init(&n->slots[i].cond, &ca);
	pthread_condattr_destroy(&ca);
	n->nslots = max_waiters;
	*out = n;
	return FZ_OK;
}

void fz_mbx_notify_free(fz_mbx_notify *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nslots; i++)
		pthread_cond_destroy(&n->slots[i].cond);
	pthread_mutex_destroy(&n->lock);
	free(n->slots);
	free(n);
}

static slot *find(fz_mbx_notify *n, const char *owner)
{
	size_t i;

	for (i = 0; i < n->nslots; i++)
		if (n->slots[i].users > 0 && strcmp(n->slots[i].owner, owner) == 0)
			return &n->slots[i];
	return NULL;
}

void fz_mbx_notify_changed(fz_mbx_notify *n, const char *owner)
{
	slot *s;

	pthread_mutex_lock(&n->lock);
	s = find(n, owner);
	if (s != NULL) {
		s->gen++;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&n->lock);
}

void fz_mbx_notify_shutdown(fz_mbx_notify *n)
{
	size_t i;

	pthread_mutex_lock(&n->lock);
	n->stopping = true;
	for (i = 0; i < n->nslots; i++)
		pthread_cond_broadcast(&n->slots[i].cond);
	pthread_mutex_unlock(&n->lock);
}

/* A slot for owner, shared with its other waiters; NULL when the bound
 * is reached or shutdown began. Called with the lock held. */
static slot *enter(fz_mbx_notify *n, const char *owner)
{
	slot *s;
	size_t i;

	if (n->stopping || n->waiting >= n->nslots || strlen(owner) > OWNER_MAX)
		return NULL;
	s = find(n, owner);
	for (i = 0; s == NULL && i < n->nslots; i++) {
		if (n->slots[i].users == 0) {
			s = &n->slots[i];
			snprintf(s->owner, sizeof(s->owner), "%s", owner);
		}
	}
	if (s == NULL)
		return NULL;
	s->users++;
	n->waiting++;
	return s;
}

fz_code fz_mbx_notify_wait(fz_mbx_notify *n, const char *owner, uint64_t since,
			   unsigned timeout_s, fz_mbx_modseq_fn current,
			   void *ctx, fz_err *err)
{
	struct timespec deadline;
	uint64_t gen, now = 0;
	slot *s;
	fz_code rc;

	pthread_mutex_lock(&n->lock);
	s = enter(n, owner);
	gen = s ? s->gen : 0;
	pthread_mutex_unlock(&n->lock);
	if (s == NULL || timeout_s == 0)
		return FZ_OK;
	rc = current(ctx, &now, err);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)timeout_s;
	pthread_mutex_lock(&n->lock);
	while (rc == FZ_OK && now == since && s->gen == gen && !n->stopping) {
		if (pthread_cond_timedwait(&s->cond, &n->lock, &deadline) == ETIMEDOUT)
			break;
	}
	s->users--;
	n->waiting--;
	pthread_mutex_unlock(&n->lock);
	return rc;
}
