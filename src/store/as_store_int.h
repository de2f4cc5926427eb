/*
 * as_store_int.h - what the as_store*.c files share: the store itself and
 * small helpers for running one statement.
 */
#ifndef FZ_STORE_AS_STORE_INT_H
#define FZ_STORE_AS_STORE_INT_H

#include "as_store.h"
#include "db.h"

struct fz_as_store {
	fz_db *db;
};

/* Copies column i into the arena (NULL stays NULL). */
const char *fz_as_col_dup(fz_arena *a, sqlite3_stmt *st, int i);

/* Steps st once expecting no row; FZ_OK on SQLITE_DONE. Does not
 * finalize. what names the operation in the error. */
fz_code fz_as_step_done(sqlite3 *c, sqlite3_stmt *st, const char *what,
			fz_err *err);

/* Sets the 400 invalid_grant a grant answers with. */
fz_code fz_as_grant_fail(fz_err *err, fz_code code, const char *msg);

#endif
