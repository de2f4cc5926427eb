/*
 * oauth_token.h - reading a token endpoint's answer (a peer AS's bytes)
 * into a token or an fz_err that keeps the AS's error code and
 * description. No I/O: oauth_client.c hands it the response it received,
 * the fuzz target hands it bytes.
 */
#ifndef FZ_NET_OAUTH_TOKEN_H
#define FZ_NET_OAUTH_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "err.h"
#include "oauth_client.h"

/* The answer with HTTP status and body[0..len): a 200 token response
 * (RFC 6749 §5.1) into out, its strings in a; else the errors
 * fz_oauth_token_request documents. */
fz_code fz_oauth_token_read(fz_arena *a, long status, const char *body, size_t len,
			    fz_oauth_token *out, fz_err *err);

/* True when the answer is RFC 9449 §8's use_dpop_nonce error. */
bool fz_oauth_wants_nonce(fz_arena *a, long status, const char *body, size_t len);

#endif
