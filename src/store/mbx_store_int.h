/*
 * mbx_store_int.h - what the mbx_store*.c files share: the store, a
 * one-statement runner, and the bookkeeping every mailbox change does in
 * its own transaction (bump the modseq, log the change).
 */
#ifndef FZ_STORE_MBX_STORE_INT_H
#define FZ_STORE_MBX_STORE_INT_H

#include "db.h"
#include "mbx_store.h"

struct fz_mbx_store {
	fz_db *db;
};

/* Prepares sql and binds the variadic arguments by the letters of types:
 * 's' const char * (NULL binds NULL), 'i' int64_t, 'u' uint64_t. */
fz_code fz_mbx_prepare(sqlite3 *c, sqlite3_stmt **st, fz_err *err,
		       const char *sql, const char *types, ...);
/* As fz_mbx_prepare, then steps once expecting no row and finalizes.
 * *changes (may be NULL) is how many rows it changed. */
fz_code fz_mbx_run(sqlite3 *c, fz_err *err, int *changes, const char *sql,
		   const char *types, ...);

/* A queue entry for message (a message row's id), due now; inside the
 * caller's transaction, so the work is queued with what it is for. */
fz_code fz_queue_insert(sqlite3 *c, const char *message, fz_queue_kind kind,
			const char *domain, int64_t now, fz_err *err);

/* Copies column i into the arena (NULL stays NULL). */
const char *fz_mbx_col_dup(fz_arena *a, sqlite3_stmt *st, int i);

/* Inside a write transaction: the next modseq of owner's mailbox (the
 * mailbox row is made on its first change), recorded in the change log
 * for message id, and on the message row itself unless destroyed. */
fz_code fz_mbx_touch(sqlite3 *c, const char *owner, const char *id,
		     bool destroyed, uint64_t *modseq, fz_err *err);

/* 404 not_found for a message owner does not have. */
fz_code fz_mbx_no_message(fz_err *err, const char *id);

#endif
