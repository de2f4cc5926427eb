/*
 * as_client_auth.h - who is calling the token and revocation endpoints.
 *
 * Confidential clients prove themselves with private_key_jwt (RFC 7523:
 * client_assertion_type + client_assertion, aud = the token endpoint, jti
 * replay-checked) or client_secret_basic (RFC 6749 §2.3.1); a public
 * client only names itself with client_id. Exactly one method per
 * request: two is 400 invalid_request, a failure 401 invalid_client.
 * Implemented in as_client_auth.c.
 */
#ifndef FZ_AS_CLIENT_AUTH_H
#define FZ_AS_CLIENT_AUTH_H

#include <stdint.h>

#include "as.h"
#include "as_store.h"
#include "form.h"
#include "http_server.h"

/* Authenticates the client of http/form at time now; the record (strings
 * in http->arena) goes to *out. A confidential client that sends only
 * client_id is refused: it registered a method and must use it. */
fz_code fz_as_client_authenticate(fz_as *as, fz_http_req *http,
				  const fz_form *form, int64_t now,
				  fz_as_client *out, fz_err *err);

/* fz_as_client_authenticate that leaves a client assertion's jti to the
 * caller: *pending (ns NULL when there is none) goes with the request's
 * other jtis into one fz_as_store_replay_check_all, and a taken one is
 * answered with fz_as_client_assertion_replayed. */
fz_code fz_as_client_authenticate_deferred(fz_as *as, fz_http_req *http,
					   const fz_form *form, int64_t now,
					   fz_as_client *out, fz_as_jti *pending,
					   fz_err *err);

/* The refusal of a client assertion whose jti was seen before. */
fz_code fz_as_client_assertion_replayed(fz_err *err);

#endif
