/*
 * srv_select.h - the pure half of DNS service discovery (SPEC §5): which
 * domain names we accept, and in which order the SRV records of a service
 * are tried (RFC 2782: lowest priority first, weighted random choice among
 * equal priorities). No I/O: the resolver in net/dns_srv.c feeds records
 * in, and randomness comes through a callback so tests can seed it.
 */
#ifndef FZ_CORE_SRV_SELECT_H
#define FZ_CORE_SRV_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FZ_DNS_NAME_MAX 253  /* RFC 1035 §2.3.4, without the final dot */
#define FZ_DNS_LABEL_MAX 63

typedef struct fz_srv_record {
	uint16_t priority;
	uint16_t weight;
	uint16_t port;
	char target[FZ_DNS_NAME_MAX + 1]; /* "" or "." is the root */
} fz_srv_record;

/* A uniform random integer in [0, bound], bound included (RFC 2782 draws
 * "between 0 and the sum, inclusive"). */
typedef uint32_t (*fz_srv_rng_fn)(void *ctx, uint32_t bound);

/* True when name[0..len) is a host name we look up: dot-separated labels
 * of letters, digits and inner hyphens (RFC 1123 §2.1; IDNs come as
 * A-labels), 1..63 bytes each, 253 in all, at least two labels, one
 * optional final dot. Mail domains come from message headers, so nothing
 * looser reaches a DNS query. */
bool fz_dns_name_ok(const char *name, size_t len);

/* Copies name[0..len) to out lowercased and without a final dot, after
 * fz_dns_name_ok. out must hold FZ_DNS_NAME_MAX + 1 bytes. FZ_ESYNTAX
 * for a name it refuses. */
fz_code fz_dns_name_normalize(const char *name, size_t len,
			      char out[FZ_DNS_NAME_MAX + 1], fz_err *err);

/* Keeps the records that can be used, in place: a target "." means the
 * service is decidedly not available (RFC 2782), and a target that is not
 * a host name (fz_dns_name_ok) or a port 0 cannot be connected to. Targets
 * are normalised. FZ_ENOTFOUND when there were no records, or only "."
 * ones ("not available" in the message); FZ_ESTRUCT when none is usable
 * for another reason. */
fz_code fz_srv_usable(fz_srv_record *recs, size_t *n, fz_err *err);

/* Reorders recs[0..n) into the order to try them: ascending priority;
 * within one priority, the RFC 2782 weighted draw repeated until none is
 * left, weight-0 records first in the draw list (so they are chosen only
 * when the draw is 0, or when all weights are 0) and shuffled among
 * themselves, since the RFC leaves their order free. Deterministic for a
 * deterministic rng. */
void fz_srv_order(fz_srv_record *recs, size_t n, fz_srv_rng_fn rng, void *ctx);

#endif
