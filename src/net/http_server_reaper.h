/*
 * http_server_reaper.h - the header timeout: a connection that takes
 * longer than a set time to deliver a request's line and headers (a
 * slowloris client trickling a byte at a time, which MHD's idle timeout
 * never catches) is cut off. One watcher thread per server; MHD tells
 * it of connections (NOTIFY_CONNECTION), the server's access and
 * completion callbacks of where each request is.
 */
#ifndef FZ_NET_HTTP_SERVER_REAPER_H
#define FZ_NET_HTTP_SERVER_REAPER_H

#include <microhttpd.h>

#include "err.h"

typedef struct fz_http_reaper fz_http_reaper;

/* Starts the watcher: connections waiting for headers longer than
 * timeout_s seconds are shut down; each one is logged to log_fd. */
fz_code fz_http_reaper_start(unsigned timeout_s, int log_fd,
			     fz_http_reaper **out, fz_err *err);
/* Stops the thread and frees; call after MHD_stop_daemon. NULL: no-op. */
void fz_http_reaper_stop(fz_http_reaper *r);
/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the reaper. */
void fz_http_reaper_notify(void *cls, struct MHD_Connection *conn,
			   void **socket_context,
			   enum MHD_ConnectionNotificationCode code);
/* The connection's request has its headers (MHD called the access
 * handler): the clock stops. Called on the connection's thread. */
void fz_http_reaper_headers_done(fz_http_reaper *r, struct MHD_Connection *conn);
/* The request ended: the next one's headers are awaited from now. */
void fz_http_reaper_request_done(fz_http_reaper *r, struct MHD_Connection *conn);

#endif
