/*
 * db.c - the SQLite connection pool and migrations behind db.h.
 *
 * The pool is a stack of idle connections under a mutex, with a condition
 * variable for threads waiting on an empty stack: small, fair enough, and
 * one connection never serves two threads at once, so connections can be
 * opened without SQLite's own mutexes.
 *
 * Each pooled connection keeps the statements it has prepared: parsing
 * the SQL was a third of a sync poll's CPU. A statement handed out is
 * marked busy until fz_db_done resets it, so a query that runs while the
 * same one is open further up the stack gets a fresh statement instead.
 * fz_db_prepare only sees the sqlite3 handle, so the thread that
 * acquired a connection remembers which cache belongs to it.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cached_stmt {
	sqlite3_stmt *st;
	uint32_t hash; /* of the SQL text: most lookups end at a mismatch */
	bool busy;
};

struct conn {
	sqlite3 *c;
	struct cached_stmt stmt[FZ_DB_STMT_CACHE];
	size_t nstmt;
};

struct fz_db {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct conn *all;   /* every connection, for close */
	struct conn **idle; /* the stack of free ones */
	size_t n, nidle;
};

/* The connections this thread holds, newest last. A thread holding more
 * than FZ_DB_HELD_MAX at once (none does today) just goes uncached. */
static _Thread_local struct conn *held[FZ_DB_HELD_MAX];
static _Thread_local size_t nheld;

static struct conn *held_conn(sqlite3 *c)
{
	size_t i;

	for (i = nheld; i > 0; i--)
		if (held[i - 1]->c == c)
			return held[i - 1];
	return NULL;
}

static void hold(struct conn *k)
{
	if (nheld < FZ_DB_HELD_MAX)
		held[nheld++] = k;
}

static void unhold(struct conn *k)
{
	size_t i;

	for (i = 0; i < nheld; i++)
		if (held[i] == k) {
			memmove(&held[i], &held[i + 1], (nheld - i - 1) * sizeof(held[0]));
			nheld--;
			return;
		}
}

static uint32_t sql_hash(const char *sql)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *sql; sql++)
		h = (h ^ (unsigned char)*sql) * 16777619u;
	return h;
}

static sqlite3_stmt *cache_take(struct conn *k, const char *sql, uint32_t h)
{
	size_t i;

	for (i = 0; i < k->nstmt; i++) {
		struct cached_stmt *e = &k->stmt[i];

		if (e->hash != h || e->busy || strcmp(sqlite3_sql(e->st), sql) != 0)
			continue;
		e->busy = true;
		return e->st;
	}
	return NULL;
}

static void cache_put(struct conn *k, sqlite3_stmt *st, uint32_t h)
{
	if (k->nstmt == FZ_DB_STMT_CACHE)
		return;
	k->stmt[k->nstmt++] = (struct cached_stmt){ st, h, true };
}

/* Statements left busy by a caller that returned without fz_db_done must
 * not keep a read transaction open for the next borrower. */
static void cache_reset_all(struct conn *k)
{
	size_t i;

	for (i = 0; i < k->nstmt; i++)
		if (k->stmt[i].busy) {
			sqlite3_reset(k->stmt[i].st);
			sqlite3_clear_bindings(k->stmt[i].st);
			k->stmt[i].busy = false;
		}
}

static void cache_free(struct conn *k)
{
	size_t i;

	for (i = 0; i < k->nstmt; i++)
		sqlite3_finalize(k->stmt[i].st);
	k->nstmt = 0;
}

fz_code fz_db_fail(sqlite3 *conn, int rc, const char *what, fz_err *err)
{
	const char *msg = conn ? sqlite3_errmsg(conn) : sqlite3_errstr(rc);

	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return fz_fail(err, FZ_ECONFLICT, "%s: %s", what, msg);
	if ((rc & 0xff) == SQLITE_NOMEM)
		return fz_fail(err, FZ_ENOMEM, "%s: %s", what, msg);
	/* a full disk is the operator's to fix, not a fault of ours: 507
	 * as for a full blob store, and the client may come back later */
	if ((rc & 0xff) == SQLITE_FULL)
		return fz_fail_http(err, FZ_ELIMIT, 507, "insufficient_storage",
				    "%s: no space left: %s", what, msg);
	return fz_fail(err, FZ_EIO, "%s: %s", what, msg);
}

fz_code fz_db_exec(sqlite3 *conn, const char *sql, fz_err *err)
{
	int rc = sqlite3_exec(conn, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return fz_db_fail(conn, rc, "database", err);
	return FZ_OK;
}

fz_code fz_db_prepare(sqlite3 *conn, const char *sql, sqlite3_stmt **out,
		      fz_err *err)
{
	struct conn *k = held_conn(conn);
	uint32_t h = sql_hash(sql);
	int rc;

	if (k != NULL && (*out = cache_take(k, sql, h)) != NULL)
		return FZ_OK;
	rc = sqlite3_prepare_v3(conn, sql, -1, k ? SQLITE_PREPARE_PERSISTENT : 0,
				out, NULL);
	if (rc != SQLITE_OK) {
		*out = NULL;
		return fz_db_fail(conn, rc, "database prepare", err);
	}
	if (k != NULL)
		cache_put(k, *out, h);
	return FZ_OK;
}

void fz_db_done(sqlite3_stmt *st)
{
	struct conn *k;
	size_t i;

	if (st == NULL)
		return;
	k = held_conn(sqlite3_db_handle(st));
	for (i = 0; k != NULL && i < k->nstmt; i++)
		if (k->stmt[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			k->stmt[i].busy = false;
			return;
		}
	sqlite3_finalize(st);
}

fz_code fz_db_begin(sqlite3 *conn, fz_err *err)
{
	return fz_db_exec(conn, "BEGIN IMMEDIATE", err);
}

fz_code fz_db_commit(sqlite3 *conn, fz_err *err)
{
	fz_code rc = fz_db_exec(conn, "COMMIT", err);

	if (rc != FZ_OK)
		fz_db_rollback(conn);
	return rc;
}

void fz_db_rollback(sqlite3 *conn)
{
	if (!sqlite3_get_autocommit(conn))
		sqlite3_exec(conn, "ROLLBACK", NULL, NULL, NULL);
}

int fz_db_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

const char *fz_db_col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* SQLite would create the file 0644; the AS keeps password hashes in it.
 * Its -wal and -shm files take the database file's mode. */
static fz_code create_private(const char *path, fz_err *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, FZ_DB_FILE_MODE);

	if (fd < 0)
		return fz_fail(err, FZ_EIO, "cannot create database %s: %s", path,
			       strerror(errno));
	close(fd);
	return FZ_OK;
}

static fz_code open_one(const char *path, sqlite3 **out, fz_err *err)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	sqlite3 *c = NULL;
	int rc = sqlite3_open_v2(path, &c, flags, NULL);
	fz_code frc;

	if (rc != SQLITE_OK) {
		frc = fz_fail(err, FZ_EIO, "cannot open database %s: %s", path,
			      c ? sqlite3_errmsg(c) : sqlite3_errstr(rc));
		sqlite3_close(c);
		return frc;
	}
	sqlite3_busy_timeout(c, FZ_DB_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(c, 1);
	/* WAL: readers never block the writer. NORMAL sync in WAL mode keeps
	 * the database consistent through any crash; only a power loss can
	 * undo the last transactions. */
	frc = fz_db_exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
			    "PRAGMA foreign_keys=ON;", err);
	if (frc != FZ_OK) {
		fz_err_prefix(err, "%s", path);
		sqlite3_close(c);
		return frc;
	}
	*out = c;
	return FZ_OK;
}

fz_code fz_db_open(const char *path, size_t pool_size, fz_db **out, fz_err *err)
{
	fz_db *db;
	fz_code rc;
	size_t i;

	*out = NULL;
	if (pool_size == 0 || pool_size > FZ_DB_POOL_MAX)
		return fz_fail(err, FZ_EINTERNAL, "database pool of %zu connections", pool_size);
	rc = create_private(path, err);
	if (rc != FZ_OK)
		return rc;
	db = calloc(1, sizeof(*db));
	if (db == NULL || (db->all = calloc(pool_size, sizeof(*db->all))) == NULL ||
	    (db->idle = calloc(pool_size, sizeof(*db->idle))) == NULL) {
		if (db != NULL)
			free(db->all);
		free(db);
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&db->lock, NULL);
	pthread_cond_init(&db->freed, NULL);
	for (i = 0; i < pool_size; i++) {
		rc = open_one(path, &db->all[i].c, err);
		if (rc != FZ_OK) {
			fz_db_close(db);
			return rc;
		}
		db->idle[db->nidle++] = &db->all[i];
		db->n++;
	}
	*out = db;
	return FZ_OK;
}

void fz_db_close(fz_db *db)
{
	size_t i;

	if (db == NULL)
		return;
	for (i = 0; i < db->n; i++) {
		cache_free(&db->all[i]);
		sqlite3_close(db->all[i].c);
	}
	pthread_cond_destroy(&db->freed);
	pthread_mutex_destroy(&db->lock);
	free(db->all);
	free(db->idle);
	free(db);
}

sqlite3 *fz_db_acquire(fz_db *db)
{
	struct conn *k;

	pthread_mutex_lock(&db->lock);
	while (db->nidle == 0)
		pthread_cond_wait(&db->freed, &db->lock);
	k = db->idle[--db->nidle];
	pthread_mutex_unlock(&db->lock);
	hold(k);
	return k->c;
}

void fz_db_release(fz_db *db, sqlite3 *conn)
{
	struct conn *k = held_conn(conn);

	if (k == NULL) { /* held beyond FZ_DB_HELD_MAX: find it the slow way */
		size_t i;

		for (i = 0; i < db->n && db->all[i].c != conn; i++)
			;
		k = &db->all[i];
	}
	/* A transaction left open by an error path must not leak into the
	 * next borrower's work. */
	cache_reset_all(k);
	fz_db_rollback(conn);
	unhold(k);
	pthread_mutex_lock(&db->lock);
	db->idle[db->nidle++] = k;
	pthread_cond_signal(&db->freed);
	pthread_mutex_unlock(&db->lock);
}

static fz_code read_version(sqlite3 *c, const char *component, int *out,
			    fz_err *err)
{
	sqlite3_stmt *st;
	fz_code rc;
	int s;

	*out = 0;
	rc = fz_db_prepare(c, "SELECT version FROM schema_version WHERE component = ?",
			   &st, err);
	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(st, 1, component);
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	else if (s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "schema version", err);
	fz_db_done(st);
	return rc;
}

static fz_code run_step(sqlite3 *c, const char *component, int version,
			const char *sql, fz_err *err)
{
	sqlite3_stmt *st = NULL;
	fz_code rc = fz_db_begin(c, err);
	int s, have = 0;

	/* Another process (admin beside a running AS) may have migrated
	 * since we looked: re-read under the write lock. */
	if (rc == FZ_OK)
		rc = read_version(c, component, &have, err);
	if (rc == FZ_OK && have >= version) {
		fz_db_rollback(c);
		return FZ_OK;
	}
	if (rc == FZ_OK)
		rc = fz_db_exec(c, sql, err);
	if (rc == FZ_OK)
		rc = fz_db_prepare(c, "INSERT INTO schema_version (component, version) "
				      "VALUES (?, ?) ON CONFLICT (component) "
				      "DO UPDATE SET version = excluded.version",
				   &st, err);
	if (rc == FZ_OK) {
		fz_db_bind_text(st, 1, component);
		sqlite3_bind_int(st, 2, version);
		s = sqlite3_step(st);
		if (s != SQLITE_DONE)
			rc = fz_db_fail(c, s, "schema version", err);
	}
	fz_db_done(st);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	if (rc != FZ_OK) {
		fz_db_rollback(c);
		fz_err_prefix(err, "migration %s %d", component, version);
	}
	return rc;
}

fz_code fz_db_version(fz_db *db, const char *component, int *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(db);
	fz_code rc = fz_db_exec(c, "CREATE TABLE IF NOT EXISTS schema_version ("
				   "component TEXT PRIMARY KEY, version INTEGER NOT NULL)",
				err);

	if (rc == FZ_OK)
		rc = read_version(c, component, out, err);
	fz_db_release(db, c);
	return rc;
}

fz_code fz_db_migrate(fz_db *db, const char *component,
		      const char *const *steps, size_t nsteps, fz_err *err)
{
	sqlite3 *c;
	int have;
	size_t i;
	fz_code rc = fz_db_version(db, component, &have, err);

	if (rc != FZ_OK)
		return rc;
	if (have < 0 || (size_t)have > nsteps)
		return fz_fail(err, FZ_ECONFLICT,
			       "database schema '%s' is at version %d, newer than the %zu "
			       "this federizer knows: upgrade federizer", component, have, nsteps);
	c = fz_db_acquire(db);
	for (i = (size_t)have; i < nsteps && rc == FZ_OK; i++)
		rc = run_step(c, component, (int)i + 1, steps[i], err);
	fz_db_release(db, c);
	return rc;
}
