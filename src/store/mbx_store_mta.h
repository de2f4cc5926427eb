/*
 * mbx_store_mta.h - what the receiving side of the MTA keeps beyond
 * mbx_store.h (mbx_store_mta.c).
 */
#ifndef FZ_STORE_MBX_STORE_MTA_H
#define FZ_STORE_MBX_STORE_MTA_H

#include <stdint.h>

#include "err.h"
#include "mbx_store.h"

/* Puts off, until `until`, the fetches queued for the parts of the
 * received message message_id that have at most max_bytes: the sender
 * pushes those right after its transfer (SPEC §7.7), and a pull racing
 * the push would bring the same bytes twice. Entries a worker holds are
 * left alone. */
fz_code fz_mbx_fetch_postpone(fz_mbx_store *st, const char *message_id,
			      uint64_t max_bytes, int64_t now, int64_t until,
			      fz_err *err);

/* Ends, as failed with why, the queued fetches of the received message
 * message_id that no worker holds (nobody here keeps a copy). */
fz_code fz_mbx_fetch_cancel(fz_mbx_store *st, const char *message_id,
			    const char *why, int64_t now, fz_err *err);

#endif
