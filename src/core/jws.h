/*
 * jws.h - compact JWS (RFC 7515) with JSON object payloads: the form of
 * every JWT, assertion and DPoP proof in Federizer (SPEC §2).
 *
 * Verification is strict before it is cryptographic: exactly three
 * segments, strict base64url, header and payload JSON objects without
 * duplicate members, alg on the allow-list and bound to the key's type,
 * a signature of the exact length the algorithm produces (ES256 is raw
 * r||s, 64 bytes, never DER), no "crit" extensions.
 */
#ifndef FZ_CORE_JWS_H
#define FZ_CORE_JWS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "jose.h"
#include "jwk.h"

/* The message an unknown kid fails with (FZ_EKEY), so a caller can tell
 * it from other key failures and refetch the issuer's JWKS once. */
#define FZ_JWS_UNKNOWN_KID_MSG "unknown kid"

typedef struct fz_jws fz_jws;

/* Signs payload with key. The header is {alg, typ, kid} plus the members
 * of extra (may be NULL), which may not set alg, kid, typ or crit. When
 * extra carries "jwk" the kid is left out: the key travels in the header
 * and there is nothing to look up. typ may be NULL. *out is malloc'd. */
fz_code fz_jws_sign(const fz_key *key, const char *typ, const json_t *extra,
		    const json_t *payload, char **out, fz_err *err);

/* Parses and verifies a compact JWS against keys, choosing the key by
 * the header's kid (required). algs is the allow-list; max_bytes bounds
 * the input. On success *out holds the decoded header and payload. */
fz_code fz_jws_verify(const char *compact, size_t len, size_t max_bytes,
		      unsigned algs, const fz_keyset *keys, fz_jws **out,
		      fz_err *err);

/* Parses without checking the signature: for reading a header (kid, iss)
 * before choosing keys, or a DPoP proof's embedded jwk. Nothing read
 * from the result may be trusted until fz_jws_verify_key succeeds. */
fz_code fz_jws_parse_unverified(const char *compact, size_t len,
				size_t max_bytes, fz_jws **out, fz_err *err);

/* Verifies a parsed JWS with one given key (kid not needed). */
fz_code fz_jws_verify_key(fz_jws *jws, const fz_key *key, unsigned algs,
			  fz_err *err);

/* True when fz_jws_err_is_unknown_kid: the failure was FZ_EKEY with
 * FZ_JWS_UNKNOWN_KID_MSG. */
bool fz_jws_err_is_unknown_kid(const fz_err *err);

const json_t *fz_jws_header(const fz_jws *jws);
const json_t *fz_jws_payload(const fz_jws *jws);
/* NULL when absent or not a string. */
const char *fz_jws_kid(const fz_jws *jws);
const char *fz_jws_typ(const fz_jws *jws);
const char *fz_jws_alg_name(const fz_jws *jws);
bool fz_jws_is_verified(const fz_jws *jws);
void fz_jws_free(fz_jws *jws);

#endif
