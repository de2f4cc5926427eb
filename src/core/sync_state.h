/*
 * sync_state.h - the sync state string (SPEC §11): an opaque token to the
 * client, "1." and a mailbox modseq in decimal to us, the prefix
 * versioning the format. The client sends it back as ?since=, so it is
 * read as untrusted input: only the exact form we write is accepted.
 */
#ifndef FZ_CORE_SYNC_STATE_H
#define FZ_CORE_SYNC_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FZ_SYNC_STATE_PREFIX "1."
/* "1." + 20 digits of UINT64_MAX + NUL */
#define FZ_SYNC_STATE_MAX 32

/* Writes the state naming modseq. */
void fz_sync_state_format(uint64_t modseq, char out[FZ_SYNC_STATE_MAX]);

/* Reads s[0..n) as a state: the prefix, then a decimal number without
 * sign, spaces or leading zeros that fits 64 bits. Anything else is no
 * state this server can answer: FZ_ENOTFOUND, 410 state_too_old, so the
 * client starts over with a full sync. */
fz_code fz_sync_state_parse(const char *s, size_t n, uint64_t *out, fz_err *err);

#endif
