/*
 * mbx_mta.h - what the MTA-facing endpoints (mbx_mta_receive.c,
 * mbx_mta_fetch.c) share: the DPoP check of a request presenting a token
 * with the DPoP scheme (RFC 9449 §7), verification of a JWT under the AS
 * that DNS names for a domain (SPEC §5), the refusal that carries a
 * WWW-Authenticate: DPoP challenge and a log line naming the message.
 */
#ifndef FZ_MBX_MTA_H
#define FZ_MBX_MTA_H

#include "chain.h"
#include "digest.h"
#include "jws.h"
#include "mbx_http.h"

#define FZ_MTA_REPLAY_NS "dpop"

/* The token and the proof's key, once the proof passed. */
typedef struct fz_mta_auth {
	const char *token;   /* the DPoP-scheme token, in the request arena */
	fz_digest_str jkt;   /* the proof key's thumbprint */
} fz_mta_auth;

/* Authorization: DPoP <token> and one DPoP proof for this request: the
 * proof's signature, htm, htu (base_url + path), iat window, ath of the
 * token, jti not seen before (replay cache "dpop"), and its key equal to
 * the token's cnf.jkt (read before the token is verified: the caller
 * verifies it next, and a forged cnf gains nothing once it does).
 * Failures: 401 invalid_token (no usable token) or invalid_dpop_proof. */
fz_code fz_mta_dpop(fz_mbx *m, fz_http_req *req, fz_mta_auth *out, fz_err *err);

/* Verifies token under the keys of the AS that DNS names for domain,
 * after checking that its iss is that AS's issuer. Failures: 403
 * access_denied (iss is another AS), 503 temporarily_unavailable (the
 * domain's AS cannot be reached: the peer retries), 401 invalid_token
 * (signature, key, shape). *out is the verified JWS. */
fz_code fz_mta_verify_foreign(fz_mbx *m, fz_arena *a, const char *domain,
			      const char *token, fz_jws **out, fz_err *err);

/* The chain's callback (chain.h): a JWT-typed assertion verified under
 * the AS of domain, exp and iat checked. known/known_claims, when set,
 * is an assertion verified already (the presented one): it is not
 * looked up again. ctx is an fz_mta_verifier. */
typedef struct fz_mta_verifier {
	fz_mbx *m;
	fz_arena *arena;
	const char *known;
	const json_t *known_claims;
} fz_mta_verifier;

fz_code fz_mta_verify_assertion(void *ctx, const char *jws, size_t len,
				const char *domain, json_t **claims,
				fz_err *err);

/* Logs "<what> <message-id>: <status> <error>: <message>", puts the
 * Message-ID on the access log line, and answers e (with a DPoP
 * challenge when it is a 401). Returns e->code. */
fz_code fz_mta_fail(fz_http_req *req, const char *what, const char *mid,
		    const fz_err *e);

/* mbx_mta_push.c: PUT /mta/v1/messages/{message-id}/resources/{digest}
 * (registered by fz_mbx_receive_routes). */
fz_code fz_mta_push_route(fz_http_server *srv, fz_mbx *m, fz_err *err);

/* RFC 9530 Repr-Digest of a resource named by its digest. */
void fz_mta_repr_digest(const char *digest, char *out, size_t size);

/* The string at name in the unverified payload of a compact JWS (for
 * choosing keys), copied to the arena; NULL when absent. */
const char *fz_mta_peek(fz_mbx *m, fz_arena *a, const char *token,
			const char *name);

#endif
