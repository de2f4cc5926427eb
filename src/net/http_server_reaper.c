/*
 * http_server_reaper.c - the header timeout (http_server_reaper.h).
 *
 * Every connection MHD accepts gets a watch: its socket and since when
 * it has been waiting for headers. The watcher thread shuts down the
 * socket of one waiting too long; MHD then sees the connection end and
 * closes it on its own thread, so MHD's state is only ever touched by
 * MHD. The socket is read on the connection's own thread when it
 * starts, and the watch leaves the list (under the lock) before MHD
 * closes the socket, so a shutdown never reaches a reused descriptor.
 */
#include "http_server_reaper.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "http_internal.h"

/* How often the watcher looks: a cut comes at most this late. */
#define REAPER_TICK_MS 250

typedef struct watch {
	int fd;
	bool waiting;  /* no headers yet for the current request */
	bool cut;      /* shut down once; MHD will close it */
	struct timespec since;
	struct watch *prev, *next;
} watch;

struct fz_http_reaper {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool stop;
	unsigned timeout_s;
	int log_fd;
	watch *head;
};

static void now_mono(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static double elapsed_s(const struct timespec *from, const struct timespec *to)
{
	return (double)(to->tv_sec - from->tv_sec) +
	       (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

static void sweep(fz_http_reaper *r)
{
	struct timespec now;
	char line[128];
	int n;
	watch *w;

	now_mono(&now);
	for (w = r->head; w != NULL; w = w->next) {
		if (!w->waiting || w->cut || elapsed_s(&w->since, &now) < r->timeout_s)
			continue;
		w->cut = true;
		shutdown(w->fd, SHUT_RDWR);
		n = snprintf(line, sizeof(line),
			     "http: closed a connection without headers after %u s\n",
			     r->timeout_s);
		if (n > 0 && (size_t)n < sizeof(line))
			fz_http_log_write(r->log_fd, line, (size_t)n);
	}
}

static void *run(void *arg)
{
	fz_http_reaper *r = arg;
	struct timespec until;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REAPER_TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&r->wake, &r->lock, &until);
		if (!r->stop)
			sweep(r);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

fz_code fz_http_reaper_start(unsigned timeout_s, int log_fd,
			     fz_http_reaper **out, fz_err *err)
{
	fz_http_reaper *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	r->timeout_s = timeout_s;
	r->log_fd = log_fd;
	if (pthread_mutex_init(&r->lock, NULL) != 0) {
		free(r);
		return fz_fail(err, FZ_ENOMEM, "cannot create the header timeout's lock");
	}
	if (pthread_cond_init(&r->wake, NULL) != 0) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return fz_fail(err, FZ_ENOMEM, "cannot create the header timeout's condition");
	}
	if (pthread_create(&r->thread, NULL, run, r) != 0) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		free(r);
		return fz_fail(err, FZ_EIO, "cannot start the header timeout's thread");
	}
	*out = r;
	return FZ_OK;
}

void fz_http_reaper_stop(fz_http_reaper *r)
{
	watch *w;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	while ((w = r->head) != NULL) {
		r->head = w->next;
		free(w);
	}
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static void started(fz_http_reaper *r, struct MHD_Connection *conn, void **ctx)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	watch *w;

	*ctx = NULL;
	if (ci == NULL)
		return;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return; /* unwatched: MHD's idle timeout still holds */
	w->fd = ci->connect_fd;
	w->waiting = true;
	now_mono(&w->since);
	pthread_mutex_lock(&r->lock);
	w->next = r->head;
	if (r->head != NULL)
		r->head->prev = w;
	r->head = w;
	pthread_mutex_unlock(&r->lock);
	*ctx = w;
}

static void closed(fz_http_reaper *r, void **ctx)
{
	watch *w = *ctx;

	if (w == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		r->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&r->lock);
	free(w);
	*ctx = NULL;
}

void fz_http_reaper_notify(void *cls, struct MHD_Connection *conn,
			   void **socket_context,
			   enum MHD_ConnectionNotificationCode code)
{
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		started(cls, conn, socket_context);
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
		closed(cls, socket_context);
}

static watch *watch_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

void fz_http_reaper_headers_done(fz_http_reaper *r, struct MHD_Connection *conn)
{
	watch *w = watch_of(conn);

	if (w == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	w->waiting = false;
	pthread_mutex_unlock(&r->lock);
}

void fz_http_reaper_request_done(fz_http_reaper *r, struct MHD_Connection *conn)
{
	watch *w = watch_of(conn);

	if (w == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	w->waiting = true;
	now_mono(&w->since);
	pthread_mutex_unlock(&r->lock);
}
