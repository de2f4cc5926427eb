/*
 * as_dpop.c - the DPoP proof of a token-endpoint request (as_dpop.h,
 * RFC 9449 §5): checked with the core verifier against this request's
 * method and our token endpoint URL, its jti recorded in the database
 * replay cache (namespace "dpop"), and, when dpop.nonce is on, a server
 * nonce (§8) demanded.
 *
 * Nonces: random values (128 bits) kept in the store with an expiry of
 * dpop.nonce_ttl. The one handed out is the newest issued less than
 * nonce_ttl/2 ago, so a client's nonce stays good at least half a ttl,
 * and every AS process sharing the database accepts every other's. Any
 * unexpired nonce is accepted; each response carries the current one in
 * DPoP-Nonce. A proof without a good nonce is 400 use_dpop_nonce.
 */
#include <string.h>

#include "as_dpop.h"
#include "dpop.h"
#include "jose.h"
#include "jws.h"
#include "jwt.h"

#define NONCE_BYTES 16
#define NONCE_LEN 22
#define REPLAY_NS_DPOP "dpop"

/* Token endpoints answer a bad proof with 400 (RFC 9449 §5, §8); the
 * core's errors carry the 401 a resource server would answer. */
static fz_code at_token_endpoint(fz_code rc, fz_err *err)
{
	if (rc != FZ_OK && err != NULL && err->status == 401)
		err->status = 400;
	return rc;
}

/* The nonce claim of a proof not yet verified, or NULL. Only used to
 * pick which valid nonce the verifier must then find, signed, in it. */
static const char *claimed_nonce(fz_as *as, fz_arena *a, const char *proof)
{
	fz_jws *jws = NULL;
	fz_err ignored = {0};
	const char *n = NULL;

	if (fz_jws_parse_unverified(proof, strlen(proof), as->cfg->jose.dpop_max_bytes,
				    &jws, &ignored) == FZ_OK)
		n = fz_jwt_str(fz_jws_payload(jws), "nonce");
	if (n != NULL && strlen(n) <= FZ_AS_NONCE_MAX)
		n = fz_arena_strdup(a, n);
	else
		n = NULL;
	fz_jws_free(jws);
	return n;
}

/* Sends the current nonce and says which one the proof must carry:
 * its own when that one is valid, else the current one (so the verifier
 * answers use_dpop_nonce). */
static fz_code expected_nonce(fz_as_token_req *tr, const char *proof,
			      const char **out, fz_err *err)
{
	fz_as *as = tr->as;
	char candidate[NONCE_LEN + 1];
	const char *current, *claimed;
	bool valid = false;
	fz_code rc = fz_random_b64url(NONCE_BYTES, candidate, sizeof(candidate), err);

	if (rc == FZ_OK)
		rc = fz_as_store_nonce_current(as->store, tr->http->arena, tr->now,
					       (int64_t)as->cfg->dpop.nonce_ttl, candidate,
					       &current, err);
	if (rc == FZ_OK)
		rc = fz_http_add_header(tr->http, "DPoP-Nonce", current, err);
	if (rc != FZ_OK)
		return rc;
	*out = current;
	claimed = claimed_nonce(as, tr->http->arena, proof);
	if (claimed == NULL)
		return FZ_OK;
	rc = fz_as_store_nonce_valid(as->store, claimed, tr->now, &valid, err);
	if (rc == FZ_OK && valid)
		*out = claimed;
	return rc;
}

/* A replay "check" that only notes the jti: the caller records it
 * together with the request's other jtis, in one transaction. */
typedef struct deferred {
	fz_arena *arena;
	fz_as_jti *out;
} deferred;

static fz_code defer_jti(void *ctx, const char *jti, int64_t expires_at, fz_err *err)
{
	const deferred *d = ctx;
	char *copy = fz_arena_strdup(d->arena, jti);

	if (copy == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	*d->out = (fz_as_jti){.ns = REPLAY_NS_DPOP, .jti = copy, .expires_at = expires_at};
	return FZ_OK;
}

static fz_code check(fz_as_token_req *tr, const char *access_token, bool *present,
		     fz_digest_str *jkt, fz_as_jti *pending, fz_err *err)
{
	fz_as *as = tr->as;
	fz_as_replay replay = {as->store, REPLAY_NS_DPOP, tr->now};
	deferred later = {tr->http->arena, pending};
	fz_dpop_request dr = {.method = tr->http->method, .url = as->token_endpoint,
			      .access_token = access_token};
	fz_dpop_result res;
	const char *proof = NULL;
	fz_code rc;

	*present = false;
	memset(jkt, 0, sizeof(*jkt));
	rc = fz_http_req_header_one(tr->http, "DPoP", &proof, err);
	if (rc != FZ_OK)
		return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_dpop_proof",
				    "more than one DPoP header");
	if (proof == NULL)
		return FZ_OK;
	*present = true;
	if (as->cfg->dpop.nonce && (rc = expected_nonce(tr, proof, &dr.nonce, err)) != FZ_OK)
		return rc;
	if (pending != NULL)
		rc = fz_dpop_verify(proof, strlen(proof), &dr, &as->cfg->jose, tr->now,
				    defer_jti, &later, &res, err);
	else
		rc = fz_dpop_verify(proof, strlen(proof), &dr, &as->cfg->jose, tr->now,
				    fz_as_store_replay_check, &replay, &res, err);
	if (rc != FZ_OK)
		return at_token_endpoint(rc, err);
	*jkt = res.jkt;
	return FZ_OK;
}

fz_code fz_as_dpop_check(fz_as_token_req *tr, const char *access_token,
			 bool *present, fz_digest_str *jkt, fz_err *err)
{
	return check(tr, access_token, present, jkt, NULL, err);
}

fz_code fz_as_dpop_check_deferred(fz_as_token_req *tr, const char *access_token,
				  bool *present, fz_digest_str *jkt,
				  fz_as_jti *pending, fz_err *err)
{
	memset(pending, 0, sizeof(*pending));
	return check(tr, access_token, present, jkt, pending, err);
}

fz_code fz_as_dpop_replayed(fz_err *err)
{
	/* What fz_dpop_verify makes of the store's FZ_EREPLAY, at a token
	 * endpoint. */
	return fz_fail_http(err, FZ_EREPLAY, 400, "invalid_dpop_proof",
			    REPLAY_NS_DPOP " jti seen before");
}
