/*
 * as_dpop.h - the DPoP proof of a token-endpoint request (RFC 9449 §5):
 * verified with the core code against this request's method and URL,
 * jti recorded in the database replay cache, DPoP-Nonce demanded when the
 * configuration says so. Implemented in as_dpop.c.
 */
#ifndef FZ_AS_DPOP_H
#define FZ_AS_DPOP_H

#include <stdbool.h>

#include "as_grants.h"
#include "as_store.h"
#include "digest.h"

/* Checks the DPoP header of tr, if any. *present says whether there was
 * one; when present and valid, *jkt is its key's thumbprint (to bind the
 * issued token with cnf.jkt). access_token is the token the proof must
 * carry an ath for, or NULL at the token endpoint. A bad proof is 400
 * invalid_dpop_proof (use_dpop_nonce with a fresh DPoP-Nonce header when
 * the nonce is missing or stale). */
fz_code fz_as_dpop_check(fz_as_token_req *tr, const char *access_token,
			 bool *present, fz_digest_str *jkt, fz_err *err);

/* fz_as_dpop_check that leaves the proof's jti to the caller: *pending
 * (ns NULL when no proof) goes with the request's other jtis into one
 * fz_as_store_replay_check_all; a taken one is fz_as_dpop_replayed. */
fz_code fz_as_dpop_check_deferred(fz_as_token_req *tr, const char *access_token,
				  bool *present, fz_digest_str *jkt,
				  fz_as_jti *pending, fz_err *err);

/* The refusal of a proof whose jti was seen before, as fz_as_dpop_check
 * answers it. */
fz_code fz_as_dpop_replayed(fz_err *err);

#endif
