/*
 * as_exchange.h - the pieces of RFC 8693 token exchange (SPEC §7.2, §8.1,
 * §9), shared by the files that implement it:
 *
 *   as_exchange.c            the grant: client, DPoP proof, parameters,
 *                            which case, the RFC 8693 §2.2.1 response
 *   as_exchange_assertion.c  access token -> assertion (send, §7.2-7.3)
 *                            assertion -> assertion (forward, §9)
 *   as_exchange_fetch.c      assertion -> DPoP-bound access token (§8.1-8.2)
 *   as_exchange_subject.c    verifying the subject token: our own access
 *                            token, or an assertion of ours or of a
 *                            foreign issuer found through DNS
 *   as_exchange_headers.c    pure parts: the `headers` parameter, the eh
 *                            claim, the assertion's claims and shape
 *
 * Error codes follow RFC 8693 §2.2.2: a subject token that is invalid for
 * any reason, or unacceptable by policy, is 400 invalid_request; an
 * audience we will not issue for is invalid_target; a client that may not
 * make this exchange is unauthorized_client.
 */
#ifndef FZ_AS_EXCHANGE_H
#define FZ_AS_EXCHANGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "as.h"
#include "as_grants.h"
#include "as_store.h"
#include "digest.h"
#include "err.h"
#include "jwt.h"
#include "placeholder.h"

/* The header names of the `headers` parameter, in the order required. */
#define FZ_XCHG_NHEADERS 4
extern const char *const fz_xchg_send_headers[FZ_XCHG_NHEADERS];
extern const char *const fz_xchg_forward_headers[FZ_XCHG_NHEADERS];

/* The typ of the assertions we sign: "JWT", as the seed shows. An access
 * token is "at+jwt" and a DPoP proof "dpop+jwt", so the three cannot be
 * taken for one another. */
#define FZ_XCHG_ASSERTION_TYP FZ_TYP_JWT

/* One exchange request, after the common checks. */
typedef struct fz_xchg {
	fz_as_token_req *tr;
	fz_as_client client;          /* authenticated, confidential */
	fz_digest_str jkt;            /* the DPoP proof's key */
	const char *subject_token;
	const char *scope;            /* FZ_AS_SCOPE_MAIL */
	const char *audience;         /* NULL unless fetching */
	const char *headers;          /* NULL when fetching */
	const char *message_id;       /* NULL unless fetching */
} fz_xchg;

/* What a case issued: the RFC 8693 §2.2.1 response members. */
typedef struct fz_xchg_issued {
	char *token;                  /* malloc'd */
	const char *issued_token_type;
	const char *token_type;       /* "N_A" for an assertion, "DPoP" */
	int64_t expires_in;
} fz_xchg_issued;

/* The three cases (each fills *out on success). */
fz_code fz_xchg_send(fz_xchg *x, fz_xchg_issued *out, fz_err *err);
fz_code fz_xchg_forward(fz_xchg *x, fz_xchg_issued *out, fz_err *err);
fz_code fz_xchg_fetch(fz_xchg *x, fz_xchg_issued *out, fz_err *err);

/* --- as_exchange_subject.c ---------------------------------------------- */

/* A subject access token of ours (RFC 9068): signature under our
 * published keys, typ at+jwt, iss us, exp, and sub, email, aud, client_id,
 * scope with internet_mail. *claims belongs to the request's arena. */
fz_code fz_xchg_verify_access_token(fz_as *as, fz_arena *a, const char *token,
				    int64_t now, const json_t **claims,
				    fz_err *err);

/* A subject assertion (typ JWT, with eh): its issuer is the AS of the
 * domain of its sub, checked through DNS (fz_discovery_check_issuer) and
 * its keys fetched from there, or our own issuer and keys when that
 * domain is one of ours. Then exp, iat, jti, azp, scope and the eh shape.
 * *claims belongs to the arena. */
fz_code fz_xchg_verify_assertion(fz_as *as, fz_arena *a, const char *token,
				 int64_t now, const json_t **claims, fz_err *err);

/* --- as_exchange_headers.c (no I/O) ------------------------------------- */

/* Parses the `headers` parameter: a JSON array of exactly n objects, each
 * with one member whose name is names[i] (compared without case) and
 * whose value is a string of at most max_value bytes that
 * fz_header_value_check accepts. *block is a new reference: a header
 * block (placeholder.h) with the names spelled as in names. Errors are
 * 400 invalid_request naming the entry. */
fz_code fz_xchg_headers_parse(const char *text, size_t len,
			      const char *const *names, size_t n,
			      size_t max_value, json_t **block, fz_err *err);

/* The one address of a From or Forwarded-From value ("a@d" or
 * "Name <a@d>"), domain lowercased; none or several is 400
 * invalid_request. */
fz_code fz_xchg_one_address(const char *name, const char *value,
			    char out[FZ_AS_ADDRESS_MAX + 1], fz_err *err);

/* The lowercased domain of a Message-ID value "<left@right>". */
fz_code fz_xchg_msgid_domain(const char *value, char out[FZ_DOMAIN_MAX + 1],
			     fz_err *err);

/* A digest header value "<43 base64url characters>". */
fz_code fz_xchg_check_digest_header(const char *name, const char *value,
				    fz_err *err);

/* The domain part of an address local@domain (lowercased copy), or
 * FZ_ESTRUCT. */
fz_code fz_xchg_address_domain(const char *address, char out[FZ_DOMAIN_MAX + 1],
			       fz_err *err);

/* eh = {"eht": digest(E), "ehl": [names of block in order]} (SPEC §4).
 * *out is a new reference. */
fz_code fz_xchg_eh(const json_t *block, json_t **out, fz_err *err);

/* The claims of an assertion we sign (SPEC §7.3, §9). */
typedef struct fz_xchg_assertion {
	const char *iss;
	const char *sub;              /* the sender, or the forwarder */
	const char *azp;              /* the MTA's client_id */
	const char *jti;
	const fz_digest_str *jkt;     /* cnf.jkt */
	const json_t *eh;
	int64_t iat;
	int64_t exp;
} fz_xchg_assertion;

/* {iss, sub, azp, scope: internet_mail, iat, exp, jti, cnf: {jkt}, eh};
 * *out is a new reference. */
fz_code fz_xchg_assertion_claims(const fz_xchg_assertion *a, json_t **out,
				 fz_err *err);

/* Checks what every assertion must carry besides iss and the times: sub
 * an address, azp, jti, scope with internet_mail, cnf.jkt, and eh with a
 * digest eht and a non-empty ehl of distinct names. 400 invalid_request. */
fz_code fz_xchg_assertion_shape(const json_t *claims, fz_err *err);

/* True when the assertion signs an origin block (its ehl names From):
 * then its sub's domain is the Message-ID's domain (SPEC §3). */
bool fz_xchg_assertion_is_origin(const json_t *claims);

/* True when scope (space-separated) holds want. */
bool fz_xchg_scope_has(const char *scope, const char *want);

#endif
