/*
 * dpop.h - DPoP proofs (RFC 9449): made by the MTA for every token
 * request and every inter-domain call, verified by the AS and the MBX
 * (SPEC §7, §8).
 *
 * Verification follows RFC 9449 §4.3 in order, and consults the replay
 * cache last, so a proof that fails any other check cannot fill the
 * cache. Its result carries the key's thumbprint (jkt): the AS binds a
 * token to it (cnf.jkt), a resource server compares it with the token's
 * with fz_dpop_check_binding. The proof's key is imported once per
 * distinct JWK (jwk_cache.h); its signature is checked every time.
 *
 * Failures carry OAuth error "invalid_dpop_proof" (or "use_dpop_nonce"
 * for a missing or stale nonce) and HTTP status 401, what a resource
 * server answers (with WWW-Authenticate: DPoP); a token endpoint answers
 * 400 with the same error (RFC 9449 §5, §8).
 */
#ifndef FZ_CORE_DPOP_H
#define FZ_CORE_DPOP_H

#include <jansson.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "jose.h"
#include "jwk.h"

#define FZ_DPOP_HTM_MAX 32    /* an HTTP method name */
#define FZ_DPOP_NONCE_MAX 256

/* A server's replay cache: records jti and answers FZ_OK the first time,
 * FZ_EREPLAY (via fz_fail) when jti was seen before. It may forget jti
 * once its clock reaches expires_at: the proof is stale from then on. */
typedef fz_code (*fz_replay_check_fn)(void *ctx, const char *jti,
				      int64_t expires_at, fz_err *err);

/* What the server knows of the request the proof came with. */
typedef struct fz_dpop_request {
	const char *method;       /* "POST" */
	const char *url;          /* the request's URL; query and fragment are ignored */
	const char *access_token; /* presented with the proof, or NULL */
	const char *nonce;        /* the DPoP-Nonce the server expects, or NULL */
} fz_dpop_request;

/* What a verified proof tells the server. */
typedef struct fz_dpop_result {
	fz_digest_str jkt; /* RFC 7638 thumbprint of the proof's key */
	char jti[FZ_JTI_MAX + 1];
	int64_t iat;
} fz_dpop_result;

/* Makes a proof for htm and htu (normalised, query and fragment dropped)
 * at time now. access_token and nonce may be NULL; with an access token
 * the proof carries its ath. *out is malloc'd. */
fz_code fz_dpop_make(const fz_key *key, const char *htm, const char *htu,
		     const char *access_token, const char *nonce, int64_t now,
		     char **out, fz_err *err);

/* Verifies proof[0..len) for req at time now under cfg (size limit,
 * algorithms, leeway, iat window); replay must not be NULL. */
fz_code fz_dpop_verify(const char *proof, size_t len, const fz_dpop_request *req,
		       const fz_jose_config *cfg, int64_t now,
		       fz_replay_check_fn replay, void *replay_ctx,
		       fz_dpop_result *out, fz_err *err);

/* The token's cnf.jkt must equal the proof's jkt. No cnf.jkt is
 * FZ_ECLAIM (not a DPoP-bound token); another key is FZ_EKEY. */
fz_code fz_dpop_check_binding(const json_t *token_claims,
			      const fz_digest_str *jkt, fz_err *err);

/* ath = base64url(SHA-256(ASCII(access_token))) (RFC 9449 §4.2). */
void fz_dpop_ath(const char *access_token, fz_digest_str *out);

#endif
