/*
 * mbx_store_queue.c - the durable queue of SPEC §10: transfers, pushes,
 * fetches and forwards that must survive a crash or kill -9. An entry is
 * a committed row before anyone is told it exists; a worker leases due
 * entries so no two workers take the same one, and a worker that dies
 * mid-attempt gives its entries back when the lease runs out. (On
 * PostgreSQL the claim would be SELECT ... FOR UPDATE SKIP LOCKED.)
 */
#include "mbx_store_int.h"

#include <string.h>

#include "jose.h"

static const char *const kind_names[] = {"transfer", "push", "fetch", "forward"};
static const char *const state_names[] = {"queued", "transferred", "fetched", "failed"};

#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))
#define NSTATES (sizeof(state_names) / sizeof(state_names[0]))

const char *fz_queue_kind_name(fz_queue_kind k)
{
	return (unsigned)k < NKINDS ? kind_names[k] : "?";
}

const char *fz_queue_state_name(fz_queue_state s)
{
	return (unsigned)s < NSTATES ? state_names[s] : "?";
}

static int index_of(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

#define ENTRY_COLUMNS \
	"id, message, kind, domain, state, attempts, next_attempt_at, " \
	"last_error, created_at, updated_at"

static fz_code read_entry(sqlite3_stmt *q, fz_arena *a, fz_queue_entry *e,
			  fz_err *err)
{
	int k = index_of(kind_names, NKINDS, fz_db_col_text(q, 2));
	int s = index_of(state_names, NSTATES, fz_db_col_text(q, 4));

	if (k < 0 || s < 0)
		return fz_fail(err, FZ_EINTERNAL, "queue entry with a bad kind or state");
	e->id = sqlite3_column_int64(q, 0);
	e->message = fz_mbx_col_dup(a, q, 1);
	e->kind = (fz_queue_kind)k;
	e->domain = fz_mbx_col_dup(a, q, 3);
	e->state = (fz_queue_state)s;
	e->attempts = (uint32_t)sqlite3_column_int64(q, 5);
	e->next_attempt_at = sqlite3_column_int64(q, 6);
	e->last_error = fz_mbx_col_dup(a, q, 7);
	e->created_at = sqlite3_column_int64(q, 8);
	e->updated_at = sqlite3_column_int64(q, 9);
	if (e->message == NULL || e->domain == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

/* Steps q and copies every row into a new arena array. */
static fz_code read_entries(sqlite3 *c, sqlite3_stmt *q, fz_arena *a,
			    size_t max, fz_queue_entry **out, size_t *count,
			    fz_err *err)
{
	fz_queue_entry *v = fz_arena_calloc(a, max ? max : 1, sizeof(*v));
	size_t n = 0;
	int s = SQLITE_DONE;
	fz_code rc = FZ_OK;

	if (v == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	while (n < max && (s = sqlite3_step(q)) == SQLITE_ROW && rc == FZ_OK)
		rc = read_entry(q, a, &v[n++], err);
	if (rc == FZ_OK && s != SQLITE_ROW && s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "queue", err);
	*out = v;
	*count = rc == FZ_OK ? n : 0;
	return rc;
}

fz_code fz_queue_insert(sqlite3 *c, const char *message, fz_queue_kind kind,
			const char *domain, int64_t now, fz_err *err)
{
	return fz_mbx_run(c, err, NULL,
			  "INSERT INTO queue (message, kind, domain, next_attempt_at, "
			  "created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4, ?4)",
			  "sssi", message, fz_queue_kind_name(kind), domain, now);
}

fz_code fz_queue_add(fz_mbx_store *st, const char *message, fz_queue_kind kind,
		     const char *domain, int64_t now, int64_t *id, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc = fz_queue_insert(c, message, kind, domain, now, err);

	if (rc == FZ_OK && id != NULL)
		*id = sqlite3_last_insert_rowid(c);
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_queue_claim(fz_mbx_store *st, fz_arena *a, int64_t now,
		       int64_t lease, size_t max, fz_queue_entry **out,
		       size_t *count, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q = NULL;
	fz_code rc = fz_db_begin(c, err);

	*out = NULL;
	*count = 0;
	if (rc == FZ_OK)
		rc = fz_mbx_prepare(c, &q, err,
				    "UPDATE queue SET lease_until = ?2, attempts = attempts + 1, "
				    "updated_at = ?1 WHERE id IN (SELECT id FROM queue "
				    "WHERE state = 'queued' AND next_attempt_at <= ?1 AND lease_until <= ?1 "
				    "ORDER BY next_attempt_at, id LIMIT ?3) RETURNING " ENTRY_COLUMNS,
				    "iii", now, fz_time_add(now, lease), (int64_t)max);
	if (rc == FZ_OK)
		rc = read_entries(c, q, a, max, out, count, err);
	fz_db_done(q);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	if (rc != FZ_OK)
		*count = 0;
	return rc;
}

/* next < 0 keeps next_attempt_at as it is. */
static fz_code update(fz_mbx_store *st, int64_t id, const char *state,
		      int64_t next, const char *error, int64_t now, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	int n = 0;
	fz_code rc = fz_mbx_run(c, err, &n,
				"UPDATE queue SET state = ?1, next_attempt_at = CASE WHEN ?2 < 0 "
				"THEN next_attempt_at ELSE ?2 END, last_error = ?3, lease_until = 0, "
				"updated_at = ?4 WHERE id = ?5",
				"sisii", state, next, error, now, id);

	fz_db_release(st->db, c);
	if (rc == FZ_OK && n == 0)
		rc = fz_fail(err, FZ_ENOTFOUND, "no queue entry %lld", (long long)id);
	return rc;
}

fz_code fz_queue_done(fz_mbx_store *st, int64_t id, fz_queue_state state,
		      int64_t now, fz_err *err)
{
	if (state != FZ_QUEUE_TRANSFERRED && state != FZ_QUEUE_FETCHED)
		return fz_fail(err, FZ_EINTERNAL, "queue: done with state %s",
			       fz_queue_state_name(state));
	return update(st, id, fz_queue_state_name(state), -1, NULL, now, err);
}

fz_code fz_queue_retry(fz_mbx_store *st, int64_t id, int64_t next_attempt_at,
		       const char *error, int64_t now, fz_err *err)
{
	return update(st, id, "queued", next_attempt_at < 0 ? 0 : next_attempt_at,
		      error, now, err);
}

fz_code fz_queue_fail(fz_mbx_store *st, int64_t id, const char *error,
		      int64_t now, fz_err *err)
{
	return update(st, id, "failed", -1, error, now, err);
}

fz_code fz_queue_list(fz_mbx_store *st, fz_arena *a, const char *message,
		      fz_queue_entry **out, size_t *count, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q = NULL;
	int64_t n = 0;
	fz_code rc = fz_mbx_prepare(c, &q, err, "SELECT COUNT(*) FROM queue WHERE message = ?1",
				    "s", message);

	if (rc == FZ_OK && sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	fz_db_done(q);
	q = NULL;
	if (rc == FZ_OK)
		rc = fz_mbx_prepare(c, &q, err,
				    "SELECT " ENTRY_COLUMNS " FROM queue WHERE message = ?1 ORDER BY id",
				    "s", message);
	if (rc == FZ_OK)
		rc = read_entries(c, q, a, (size_t)n, out, count, err);
	fz_db_done(q);
	fz_db_release(st->db, c);
	return rc;
}
