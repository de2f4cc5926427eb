/*
 * mbx_http.h - how the MBX's endpoint files meet the HTTP server and each
 * other: one registration function per file (called by mbx_server.c),
 * the bearer check every APP route starts with, the long-poll notifier,
 * and the message object every message answer shares.
 *
 * Every handler gets the fz_mbx as ctx.
 */
#ifndef FZ_MBX_HTTP_H
#define FZ_MBX_HTTP_H

#include <jansson.h>

#include "mbx.h"

#define FZ_MBX_PATH_METADATA "/.well-known/oauth-protected-resource"
#define FZ_MBX_SCOPE "internet_mail"

/* mbx_metadata.c: RFC 9728 metadata; the webmail's static files. */
fz_code fz_mbx_metadata_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);
fz_code fz_mbx_web_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);
/* mbx_docs.c: GET /api/docs, the rendered api/mbx.yaml (docs_file). */
fz_code fz_mbx_docs_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);
/* mbx_resources.c: POST /api/v1/resources, GET|HEAD /api/v1/resources/{digest}. */
fz_code fz_mbx_resource_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);
/* mbx_messages.c: /api/v1/messages and /api/v1/messages/{id}. */
fz_code fz_mbx_message_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);
/* mbx_sync.c: GET /api/v1/sync. */
fz_code fz_mbx_sync_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);
/* mbx_settings.c: GET|PUT /api/v1/settings/forwarding. */
fz_code fz_mbx_settings_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);
/* The domain owner's enabled auto-forward rule sends to (lowercased, in
 * a), or NULL; *keep_copy as the rule says. Mail arriving for owner,
 * from another domain or this one, gets a forward entry with its copy. */
fz_code fz_mbx_forward_rule(fz_mbx *m, fz_arena *a, const char *owner,
			    const char **domain, bool *keep_copy, fz_err *err);
/* mbx_send.c: POST .../send, GET .../status, POST .../recall. */
fz_code fz_mbx_send_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);
/* mbx_send.c: loads the MTA's keys (mta.key, mta.dpop_key), making the
 * DPoP key file when it is missing; without mta.key sending is off. */
fz_code fz_mbx_mta_open(fz_mbx *m, fz_err *err);
void fz_mbx_mta_close(fz_mbx *m);
/* mbx_mta.c: the discovery of peers the MTA-facing endpoints verify
 * senders and fetchers with (m->disc). */
fz_code fz_mbx_federation_open(fz_mbx *m, fz_err *err);
/* mbx_mta_receive.c: POST /mta/v1/messages and
 * PUT /mta/v1/messages/{message-id}/resources/{digest}. */
fz_code fz_mbx_receive_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);
/* mbx_mta_fetch.c: POST /mta/v1/resources/{digest}. */
fz_code fz_mbx_fetch_routes(fz_http_server *srv, fz_mbx *m, fz_err *err);

/* --- mbx_auth.c: access tokens (RFC 6750, RFC 9068) ----------------------- */

fz_code fz_mbx_keys_new(const fz_mbx_config *cfg, fz_mbx_keys **out,
			fz_err *err);
void fz_mbx_keys_free(fz_mbx_keys *k);
/* Fetches the AS metadata and JWKS now (at start-up; a failure is not
 * fatal, the first request tries again). */
fz_code fz_mbx_keys_refresh(fz_mbx_keys *k, fz_err *err);

/* The own AS's token endpoint from its RFC 8414 metadata (fetched now
 * if not yet known) and *resolve, the address to reach its host at when
 * dns_server is set (else NULL); both in the arena. 503 when unknown. */
fz_code fz_mbx_token_endpoint(fz_mbx_keys *k, fz_arena *a, const char **url,
			      const char **resolve, fz_err *err);

/* Checks the request's bearer access token: signature by the own AS,
 * typ at+jwt, iss, aud = base_url, exp, scope internet_mail, no DPoP
 * binding, and an email of a local domain, which becomes *user (in the
 * request's arena). On failure it has answered 401 or 403 with
 * WWW-Authenticate (RFC 6750 §3, RFC 9728 §5.1) and returns the code. */
fz_code fz_mbx_authenticate(fz_mbx *m, fz_http_req *req, const char **user,
			    fz_err *err);

/* --- mbx_notify.c: long-poll wake-ups ------------------------------------- */

typedef struct fz_mbx_waiter fz_mbx_waiter;

/* max_waiters bounds the memory waiting syncs take, not threads: a
 * waiting sync holds none. Starts the thread that ends waits on time. */
fz_code fz_mbx_notify_new(size_t max_waiters, fz_mbx_notify **out, fz_err *err);
/* After the HTTP server stopped. NULL is a no-op. */
void fz_mbx_notify_free(fz_mbx_notify *n);
/* After a commit that changed owner's mailbox: resumes its waiters. */
void fz_mbx_notify_changed(fz_mbx_notify *n, const char *owner);
/* Registers req as waiting for a change of owner's mailbox: the request
 * is resumed (fz_http_req_resume) on such a change, after timeout_s, or
 * at shutdown, whichever comes first, once. *out is NULL when nothing was
 * registered (max_waiters wait already, or shutdown began): answer at
 * once. The waiter lives in req's arena and leaves with it. */
fz_code fz_mbx_notify_wait(fz_mbx_notify *n, fz_http_req *req, const char *owner,
			   unsigned timeout_s, fz_mbx_waiter **out, fz_err *err);
/* Withdraws a waiter before its request ends; NULL or done: no-op. */
void fz_mbx_notify_leave(fz_mbx_waiter *w);
/* Resumes every waiter and refuses new ones. */
void fz_mbx_notify_shutdown(fz_mbx_notify *n);

/* --- shared by the message and sync files (mbx_messages.c) ---------------- */

/* {id, folder, flags: {seen, flagged}, document}; NULL when out of memory
 * or when the stored document is not JSON (a bug: logged by the caller). */
json_t *fz_mbx_msg_json(const fz_mbx_msg *msg);

/* The {id} of a message path, or 404: ids are FZ_MBX_ID_LEN base64url
 * characters. */
fz_code fz_mbx_path_id(fz_http_req *req, const char **id, fz_err *err);

/* Seconds since the epoch. */
int64_t fz_mbx_now(void);

#endif
