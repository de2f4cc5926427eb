/*
 * as_http.h - how the AS's endpoint files meet the HTTP server: one
 * registration function per file, called by as_server.c, and the few
 * helpers several endpoints share (CORS for the webmail, the JSON error
 * answer).
 *
 * To add an endpoint: write its handlers in a new as_*.c with one
 * fz_as_*_routes function, declare it here, and call it from
 * register_routes in as_server.c. Every handler gets the fz_as as ctx.
 */
#ifndef FZ_AS_HTTP_H
#define FZ_AS_HTTP_H

#include "as.h"
#include "http_server.h"

/* as_metadata.c: RFC 8414 metadata and /jwks. */
fz_code fz_as_metadata_routes(fz_http_server *srv, fz_as *as, fz_err *err);
/* as_login.c: GET and POST /login, the password form (SPEC §6, §12). */
fz_code fz_as_login_routes(fz_http_server *srv, fz_as *as, fz_err *err);
/* as_authorize.c: GET /authorize (RFC 6749 §4.1.1, RFC 7636). */
fz_code fz_as_authorize_routes(fz_http_server *srv, fz_as *as, fz_err *err);
/* as_token.c: POST /token, dispatching on grant_type (as_grants.h). */
fz_code fz_as_token_routes(fz_http_server *srv, fz_as *as, fz_err *err);
/* as_revoke.c: POST /revoke (RFC 7009). */
fz_code fz_as_revoke_routes(fz_http_server *srv, fz_as *as, fz_err *err);
/* as_docs.c: GET /docs, the rendered API reference (api/as.yaml). */
fz_code fz_as_docs_routes(fz_http_server *srv, fz_as *as, fz_err *err);

/* --- as_cors.c ----------------------------------------------------------
 * The webmail calls /token and /revoke from the browser. Allowed origins
 * are those of registered public clients' redirect URIs. */

/* Adds Access-Control-Allow-Origin (and Vary, Expose-Headers) when the
 * request's Origin is allowed; nothing otherwise. */
fz_code fz_as_cors(fz_as *as, fz_http_req *req, fz_err *err);
/* An OPTIONS handler (ctx: fz_as) answering a CORS preflight for POST:
 * 204 with the Allow-* headers for an allowed origin, 403 otherwise. */
fz_code fz_as_cors_preflight(fz_http_req *req, void *ctx, fz_err *err);

/* 501 {"error":"server_error","error_description":"not implemented yet"}:
 * what the endpoints built by later work answer until then. */
fz_code fz_as_respond_not_implemented(fz_http_req *req, fz_err *err);

#endif
