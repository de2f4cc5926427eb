/*
 * chain.h - the envelope's chain of signed hops (SPEC §7.5, §8.3, §9),
 * and the fetch ACL decided over it. Pure: the one thing that needs the
 * network (is this assertion signed by the AS that DNS names for this
 * domain?) is a callback, so every branch is unit-tested without one.
 *
 * A chain is the envelope read from the bottom: the origin header block
 * and the assertion above it, then per forward hop a header block
 * (Forwarded-From, Forwarded-To, Recipients-Digest, JWT-Assertion-Digest,
 * Message-ID) and its assertion. Header blocks above the newest
 * assertion are receipt blocks nobody signed: they are skipped.
 *
 *   envelope: [receipt..., A_n, H_n, ..., A_1, H_1, A_0, H_0]
 *   hops[0] = (A_0, H_0) origin, hops[i] = (A_i, H_i) forward
 *
 * The walk discharges hop by hop: A_i verifies under the AS of the
 * signer's domain (From on the origin, Forwarded-From after), its eht
 * covers at least the names the protocol signs, its sub is the signer,
 * H_i's JWT-Assertion-Digest is the digest of A_(i-1), its Message-ID is
 * the origin's, and its Forwarded-From is a recipient of the hop below
 * (To/Cc/Bcc of the origin, or the previous Forwarded-To).
 */
#ifndef FZ_CORE_CHAIN_H
#define FZ_CORE_CHAIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "fz_limits.h"
#include "placeholder.h"

/* Verifies one assertion: its signature by the AS that DNS names for
 * domain (issuer and keys), typ, exp and iat. On success *claims is the
 * verified payload, a new reference the chain keeps (and decrefs). The
 * error it fills (status included) is passed on, prefixed by the hop. */
typedef fz_code (*fz_chain_verify_fn)(void *ctx, const char *jws, size_t len,
				      const char *domain, json_t **claims,
				      fz_err *err);

typedef struct fz_chain_hop {
	const char *jws;     /* the compact assertion, inside the envelope */
	size_t jws_len;
	const json_t *block; /* the header block it signs */
	json_t *claims;      /* verified payload, after fz_chain_walk */
	char signer[FZ_DOMAIN_MAX + 1]; /* From / Forwarded-From domain */
	fz_addr_list to;     /* Forwarded-To of a forward hop (origin: empty) */
} fz_chain_hop;

typedef struct fz_chain {
	fz_chain_hop *hops;  /* origin first; malloc'd */
	size_t n;
	size_t first;        /* envelope index of the newest assertion */
	char msgid_domain[FZ_DOMAIN_MAX + 1];
} fz_chain;

/* Reads the chain's shape from an envelope (a JSON array checked by the
 * Placeholder model or not): receipt blocks skipped, then strictly an
 * assertion above each header block, at least one hop and at most
 * lim->max_chain_hops (lim NULL: the defaults). Nothing is verified.
 * FZ_ESTRUCT / FZ_ELIMIT. */
fz_code fz_chain_parse(const json_t *envelope, const fz_limits *lim,
		       fz_chain *out, fz_err *err);

/* Parses and discharges every hop, origin first (see above). rcpts is
 * the header block whose To/Cc/Bcc are the origin recipients (NULL: the
 * chain's own origin block; the origin MBX passes the block it stored,
 * which still has every Bcc). body, when not NULL, must match the
 * origin's Body-Digest. Failures: FZ_EDENIED (403 access_denied) for a
 * broken link, the callback's error otherwise; both name the hop. */
fz_code fz_chain_walk(const json_t *envelope, const json_t *rcpts,
		      const json_t *body, const fz_limits *lim,
		      fz_chain_verify_fn verify, void *ctx, fz_chain *out,
		      fz_err *err);

void fz_chain_free(fz_chain *c);

/* The signer's address of a parsed header block: From on the origin
 * (forward false), Forwarded-From otherwise; exactly one address. */
fz_code fz_chain_signer(const json_t *block, bool forward, fz_addr_list *out,
			fz_err *err);

/* --- the fetch ACL (SPEC §8.3) ------------------------------------------- */

typedef struct fz_fetch_request {
	const json_t *stored;    /* our sent document: envelope with its assertion, body */
	const json_t *envelope;  /* the chain the fetcher presented */
	const char *domain;      /* the requesting domain, lowercased */
	const char *digest;      /* the resource asked for (43 characters) */
	const fz_limits *lim;    /* NULL: the defaults */
} fz_fetch_request;

/* FZ_OK when the fetch may be served: the presented chain's origin is
 * the stored one (the same origin assertion, the same origin block but
 * for Bcc, which copies to other domains lack), every hop discharges,
 * the domain is a recipient domain of the stored origin block or a
 * discharged Forwarded-To's, and the stored body references the digest.
 * Else FZ_EDENIED (403 access_denied) saying which, or the callback's
 * error. */
fz_code fz_chain_fetch_allowed(const fz_fetch_request *r,
			       fz_chain_verify_fn verify, void *ctx,
			       fz_err *err);

/* The domains a fetch may come from before anything is verified: those
 * of the stored To/Cc/Bcc, then the presented Forwarded-To's, each once,
 * lowercased, at most lim->max_recipients of them, into out[] (malloc'd strings; free
 * with fz_chain_domains_free). The fetcher's token is checked against
 * the AS that DNS names for one of them; the walk later decides. */
fz_code fz_chain_candidate_domains(const json_t *stored, const json_t *envelope,
				   const fz_limits *lim, char ***out, size_t *n,
				   fz_err *err);
void fz_chain_domains_free(char **v, size_t n);

/* The addresses of To, Cc and Bcc of an origin block, in one list. */
fz_code fz_chain_origin_rcpts(const json_t *block, size_t max,
			      fz_addr_list *out, fz_err *err);

#endif
