/*
 * as_server.h - the Authorization Server as a running HTTPS server:
 * `federizer as -c as.yaml` opens the context (as.h), then serves here
 * until told to stop.
 */
#ifndef FZ_AS_SERVER_H
#define FZ_AS_SERVER_H

#include <stdio.h>

#include "as.h"
#include "http_server.h"

/* The HTTPS server for as, configured from as->cfg (listen, tls, limits)
 * with every AS route registered, not yet started: tests start it on
 * their own terms. */
fz_code fz_as_server_new(fz_as *as, fz_http_server **out, fz_err *err);

/* Writes the routes the server registers, one "METHOD PATTERN" line
 * each, to out: what the API document (api/as.yaml) must list, for the
 * contract test. Needs only the configuration: nothing is opened, bound
 * or created. */
fz_code fz_as_server_print_routes(const fz_as_config *cfg, FILE *out, fz_err *err);

/* Starts the server and runs until SIGTERM or SIGINT, reloading the
 * keyring and purging expired rows every keys.reload_interval seconds
 * and on SIGHUP; then stops cleanly. Ignores SIGPIPE (a client that goes
 * away mid-write must not end the server). Call from the main thread
 * before any other thread exists. */
fz_code fz_as_serve(fz_as *as, fz_err *err);

#endif
