/*
 * delivery.h - the envelope edits of sending and delivering (SPEC §7):
 * what the origin mailbox adds to a draft to send it, the `headers`
 * parameter it gives the AS, the assertion it prepends, the receipt block
 * a receiving mailbox prepends, and the Bcc each copy may show.
 *
 * Pure: documents in, documents out, no clock (dates are passed in) and
 * no I/O, so the sending mailbox and the MTA that transfers build copies
 * the same way, and tests can show every byte.
 */
#ifndef FZ_CORE_DELIVERY_H
#define FZ_CORE_DELIVERY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* "Sun, 22 Dec 2024 20:49:35 +0000" is 31 bytes. */
#define FZ_DATE_SIZE 40

/* RFC 5322 §3.3 date-time of t (seconds since the epoch), in UTC. */
fz_code fz_delivery_date(int64_t t, char out[FZ_DATE_SIZE], fz_err *err);

/* One recipient of an origin block. */
typedef struct fz_rcpt {
	char *address;      /* local@domain, the domain lowercased; malloc'd */
	const char *domain; /* into address */
	bool bcc_only;      /* named in Bcc and not in To or Cc */
} fz_rcpt;

typedef struct fz_rcpts {
	fz_rcpt *v;
	size_t n;
} fz_rcpts;

/* The To, Cc and Bcc addresses of block, each once (the same address in
 * To and Bcc is a To recipient), in the order first named. At most max
 * addresses (FZ_ELIMIT); none at all is FZ_ESTRUCT. */
fz_code fz_delivery_recipients(const json_t *block, size_t max, fz_rcpts *out,
			       fz_err *err);
void fz_rcpts_free(fz_rcpts *r);

/* Turns a draft into a sent message: puts Date (date), Recipients-Digest
 * and Body-Digest at the top of the origin block, in that order, as the
 * seed's Fig. 2 shows (the newest header first). A block with a Date, or
 * one of the two digests, already is FZ_ECONFLICT. */
fz_code fz_delivery_seal(json_t *doc, const char *date, fz_err *err);

/* The `headers` parameter of the send exchange (docs/protocol.md §8.1):
 * compact JSON [{"Message-ID":..},{"From":..},{"Recipients-Digest":..},
 * {"Body-Digest":..}] from the sealed origin block; *out is malloc'd. */
fz_code fz_delivery_exchange_headers(const json_t *origin, char **out,
				     fz_err *err);

/* Prepends {"jwt-assertion": jws} to the envelope. */
fz_code fz_delivery_add_assertion(json_t *doc, const char *jws, fz_err *err);

/* Prepends the receipt block of SPEC §7.5:
 *   {headers: [{Message-ID}, {JWT-Assertion-Digest}, {Received: from <from> by <by>; <date>}]}
 * The Message-ID is the origin block's, the digest that of the newest
 * entry, which must be an assertion. */
fz_code fz_delivery_add_receipt(json_t *doc, const char *from_domain,
				const char *by_domain, const char *date,
				fz_err *err);

/* A copy of doc (a new reference) in which the origin block's Bcc names
 * only the Bcc recipients the copy goes to, or is gone when none:
 * address set, the copy for that one local recipient; else the copy for
 * every recipient at domain (SPEC §7.4). */
fz_code fz_delivery_copy(const json_t *doc, const char *domain,
			 const char *address, json_t **out, fz_err *err);

#endif
