/*
 * db.h - SQLite for the servers' metadata: opening with the settings we
 * rely on, a small pool of connections for threaded servers, ordered
 * schema migrations, and error mapping into fz_err.
 *
 * Threads: libmicrohttpd runs handlers on several threads at once. Each
 * SQLite connection is used by one thread at a time: a caller takes one
 * with fz_db_acquire and gives it back with fz_db_release. With WAL,
 * readers on different connections run in parallel and writers wait for
 * each other up to the busy timeout. Every write transaction starts with
 * BEGIN IMMEDIATE, so two writers never deadlock upgrading read locks.
 *
 * Only store/ includes this header: callers use the functions named for
 * what they do (as_store.h), never SQL.
 */
#ifndef FZ_STORE_DB_H
#define FZ_STORE_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define FZ_DB_BUSY_TIMEOUT_MS 5000 /* a writer waits this long for another */
#define FZ_DB_POOL_MAX 256
#define FZ_DB_FILE_MODE 0600       /* password hashes live here */
#define FZ_DB_STMT_CACHE 128 /* prepared statements kept per connection */
#define FZ_DB_HELD_MAX 4     /* connections one thread holds with a cache */

typedef struct fz_db fz_db;

/* Opens (creating it mode 0600 when missing) the database at path with a
 * pool of pool_size connections (1..FZ_DB_POOL_MAX), each in WAL mode
 * with foreign keys on and the busy timeout set. */
fz_code fz_db_open(const char *path, size_t pool_size, fz_db **out, fz_err *err);
/* Closes every connection; all must have been released. NULL is a no-op. */
void fz_db_close(fz_db *db);

/* A connection for this thread's exclusive use, waiting for one to be
 * free. Never NULL. */
sqlite3 *fz_db_acquire(fz_db *db);
void fz_db_release(fz_db *db, sqlite3 *conn);

/* Brings component's tables to the last of steps: step i (0-based) is
 * schema version i + 1 and runs once, in its own transaction, in order.
 * A database newer than steps is FZ_ECONFLICT: this binary is too old. */
fz_code fz_db_migrate(fz_db *db, const char *component,
		      const char *const *steps, size_t nsteps, fz_err *err);

/* The version migrations reached for component; 0 when none. */
fz_code fz_db_version(fz_db *db, const char *component, int *out, fz_err *err);

/* --- helpers for store/ files ----------------------------------------- */

/* FZ_EIO "what: sqlite message"; FZ_ECONFLICT for a constraint failure;
 * FZ_ELIMIT 507 insufficient_storage when the disk is full. */
fz_code fz_db_fail(sqlite3 *conn, int rc, const char *what, fz_err *err);
fz_code fz_db_exec(sqlite3 *conn, const char *sql, fz_err *err);
fz_code fz_db_prepare(sqlite3 *conn, const char *sql, sqlite3_stmt **out,
		      fz_err *err);
/* Gives back a statement from fz_db_prepare: a cached one is reset for
 * its next use, any other finalized. NULL is a no-op. */
void fz_db_done(sqlite3_stmt *st);
fz_code fz_db_begin(sqlite3 *conn, fz_err *err);  /* BEGIN IMMEDIATE */
fz_code fz_db_commit(sqlite3 *conn, fz_err *err);
void fz_db_rollback(sqlite3 *conn);

/* Binds a string (NULL binds SQL NULL); copies. */
int fz_db_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Column text or NULL. */
const char *fz_db_col_text(sqlite3_stmt *st, int i);

#endif
