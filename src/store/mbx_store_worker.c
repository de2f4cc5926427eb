/*
 * mbx_store_worker.c - the store side of the MTA worker (src/mta/):
 * lease-checked reports of queue entries, the next due time the worker
 * sleeps until, and the lookups by id that queue entries need. The
 * claim itself is in mbx_store_queue.c.
 */
#include "mbx_store_int.h"

#include <stdio.h>
#include <string.h>

fz_code fz_queue_report_lease(fz_mbx_store *st, const fz_queue_report *r,
			      bool *applied, fz_err *err)
{
	const char *state = fz_queue_state_name(r->state);
	sqlite3 *c;
	int n = 0;
	fz_code rc;

	*applied = false;
	if (r->state == FZ_QUEUE_QUEUED && r->next_attempt_at < 0)
		return fz_fail(err, FZ_EINTERNAL, "queue: a retry without a time");
	c = fz_db_acquire(st->db);
	/* state = 'queued' AND lease_until = ours: still our claim. */
	rc = fz_mbx_run(c, err, &n,
			"UPDATE queue SET state = CASE WHEN ?1 = 'transferred' AND EXISTS "
			"(SELECT 1 FROM fetch_log f WHERE f.message = queue.message AND "
			"f.domain = queue.domain) THEN 'fetched' ELSE ?1 END, "
			"next_attempt_at = CASE WHEN ?1 = 'queued' THEN ?2 ELSE next_attempt_at END, "
			"last_error = ?3, lease_until = 0, updated_at = ?4 "
			"WHERE id = ?5 AND state = 'queued' AND lease_until = ?6",
			"sisiii", state, r->next_attempt_at, r->error, r->now, r->id,
			r->lease_until);
	fz_db_release(st->db, c);
	*applied = rc == FZ_OK && n > 0;
	return rc;
}

fz_code fz_queue_next_due(fz_mbx_store *st, int64_t *due, bool *any, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q = NULL;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT MIN(MAX(next_attempt_at, lease_until)) FROM queue "
				    "WHERE state = 'queued'", "");

	*any = false;
	if (rc == FZ_OK) {
		s = sqlite3_step(q);
		if (s == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
			*due = sqlite3_column_int64(q, 0);
			*any = true;
		} else if (s != SQLITE_ROW) {
			rc = fz_db_fail(c, s, "queue", err);
		}
	}
	fz_db_done(q);
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_mbx_msg_by_id(fz_mbx_store *st, fz_arena *a, const char *id,
			 fz_mbx_msg *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q = NULL;
	const char *owner = NULL;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err, "SELECT owner FROM messages WHERE id = ?1",
				    "s", id);

	if (rc == FZ_OK) {
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			owner = fz_mbx_col_dup(a, q, 0);
		else if (s == SQLITE_DONE)
			rc = fz_mbx_no_message(err, id);
		else
			rc = fz_db_fail(c, s, "message", err);
		if (rc == FZ_OK && owner == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	fz_db_done(q);
	fz_db_release(st->db, c);
	if (rc != FZ_OK)
		return rc;
	return fz_mbx_msg_get(st, a, owner, id, out, err);
}

fz_code fz_mbx_pending_part(fz_mbx_store *st, fz_arena *a, const char *digest,
			    uint64_t *size, const char **type, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q = NULL;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT size, type FROM pending_parts WHERE digest = ?1 LIMIT 1",
				    "s", digest);

	if (rc == FZ_OK) {
		s = sqlite3_step(q);
		if (s == SQLITE_ROW) {
			*size = (uint64_t)sqlite3_column_int64(q, 0);
			if ((*type = fz_mbx_col_dup(a, q, 1)) == NULL)
				rc = fz_fail(err, FZ_ENOMEM, "out of memory");
		} else if (s == SQLITE_DONE) {
			rc = fz_fail(err, FZ_ENOTFOUND, "no copy waits for %.43s", digest);
		} else {
			rc = fz_db_fail(c, s, "pending parts", err);
		}
	}
	fz_db_done(q);
	fz_db_release(st->db, c);
	return rc;
}
