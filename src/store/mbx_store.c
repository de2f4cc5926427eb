/*
 * mbx_store.c - the Mailbox's schema and migrations, the shared helpers,
 * resources with their quota, blob garbage collection and forwarding
 * settings. Messages and sync are in mbx_store_msg.c, the queue in
 * mbx_store_queue.c.
 */
#include "mbx_store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ordered migrations: step i is schema version i + 1. Never edit a step
 * that has shipped; add one. */
static const char *const schema[] = {
	/* 1: the first schema. */
	"CREATE TABLE mailboxes ("
	"  owner TEXT PRIMARY KEY,"
	"  modseq INTEGER NOT NULL DEFAULT 0,"
	"  floor INTEGER NOT NULL DEFAULT 0,"
	"  fwd_enabled INTEGER NOT NULL DEFAULT 0,"
	"  fwd_target TEXT NOT NULL DEFAULT '',"
	"  fwd_keep_copy INTEGER NOT NULL DEFAULT 1,"
	"  updated_at INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE TABLE resources ("
	"  owner TEXT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (owner, digest)) WITHOUT ROWID;"
	"CREATE INDEX resources_digest ON resources (digest);"
	"CREATE TABLE messages ("
	"  id TEXT PRIMARY KEY,"
	"  owner TEXT NOT NULL,"
	"  folder TEXT NOT NULL CHECK (folder IN ('inbox', 'sent', 'drafts', 'trash')),"
	"  seen INTEGER NOT NULL DEFAULT 0,"
	"  flagged INTEGER NOT NULL DEFAULT 0,"
	"  sent INTEGER NOT NULL DEFAULT 0,"
	"  message_id TEXT NOT NULL,"
	"  thread_id TEXT,"
	"  document TEXT NOT NULL,"
	"  modseq INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX messages_owner ON messages (owner, modseq);"
	"CREATE INDEX messages_message_id ON messages (message_id);"
	"CREATE TABLE message_refs ("
	"  message TEXT NOT NULL REFERENCES messages ON DELETE CASCADE,"
	"  digest TEXT NOT NULL,"
	"  PRIMARY KEY (message, digest)) WITHOUT ROWID;"
	"CREATE INDEX message_refs_digest ON message_refs (digest);"
	"CREATE TABLE changes ("
	"  owner TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  modseq INTEGER NOT NULL,"
	"  destroyed INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (owner, id)) WITHOUT ROWID;"
	"CREATE UNIQUE INDEX changes_modseq ON changes (owner, modseq);"
	"CREATE TABLE blob_gc ("
	"  digest TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE queue ("
	"  id INTEGER PRIMARY KEY,"
	"  message TEXT NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('transfer', 'push', 'fetch', 'forward')),"
	"  domain TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'queued'"
	"    CHECK (state IN ('queued', 'transferred', 'fetched', 'failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER NOT NULL,"
	"  lease_until INTEGER NOT NULL DEFAULT 0,"
	"  last_error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE INDEX queue_due ON queue (state, next_attempt_at);"
	"CREATE INDEX queue_message ON queue (message);",
	/* 2: sending (SPEC §7.1-7.4, §10; mbx_store_send.c). outbox: the
	 * origin copy of each sent message, by its unique Message-ID, and
	 * whether it was recalled. recipients: what happened to each
	 * recipient (a remote one's progress is its domain's transfer
	 * entry in queue). */
	"CREATE TABLE outbox ("
	"  message TEXT PRIMARY KEY REFERENCES messages ON DELETE CASCADE,"
	"  owner TEXT NOT NULL,"
	"  message_id TEXT NOT NULL UNIQUE,"
	"  recalled INTEGER NOT NULL DEFAULT 0,"
	"  sent_at INTEGER NOT NULL,"
	"  recalled_at INTEGER) WITHOUT ROWID;"
	"CREATE TABLE recipients ("
	"  message TEXT NOT NULL REFERENCES messages ON DELETE CASCADE,"
	"  pos INTEGER NOT NULL,"
	"  address TEXT NOT NULL,"
	"  domain TEXT NOT NULL,"
	"  local INTEGER NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('delivered', 'queued', 'failed')),"
	"  reason TEXT,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (message, address)) WITHOUT ROWID;",
	/* 3: receiving and serving fetches (SPEC §7.5, §7.7, §8;
	 * mbx_store_mta.c). replay: jtis of DPoP proofs the MTA endpoints
	 * accepted. A received copy stays out of sync (no change-log entry)
	 * while fetch_pending: pending_parts lists the resources it still
	 * waits for, fetch_queue the digest of each fetch queue entry,
	 * fetch_log which domain fetched what of a message sent from here. */
	"CREATE TABLE replay ("
	"  namespace TEXT NOT NULL,"
	"  jti TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  PRIMARY KEY (namespace, jti)) WITHOUT ROWID;"
	"CREATE INDEX replay_expiry ON replay (expires_at);"
	"ALTER TABLE messages ADD COLUMN fetch_pending INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE pending_parts ("
	"  message TEXT NOT NULL REFERENCES messages ON DELETE CASCADE,"
	"  digest TEXT NOT NULL,"
	"  inline INTEGER NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  type TEXT NOT NULL,"
	"  PRIMARY KEY (message, digest)) WITHOUT ROWID;"
	"CREATE INDEX pending_parts_digest ON pending_parts (digest);"
	"CREATE TABLE fetch_queue ("
	"  id INTEGER PRIMARY KEY REFERENCES queue ON DELETE CASCADE,"
	"  digest TEXT NOT NULL);"
	"CREATE TABLE fetch_log ("
	"  message TEXT NOT NULL REFERENCES messages ON DELETE CASCADE,"
	"  domain TEXT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  PRIMARY KEY (message, domain, digest)) WITHOUT ROWID;",
};

/* --- helpers ------------------------------------------------------------- */

static fz_code vbind(sqlite3 *c, sqlite3_stmt *st, const char *types,
		     va_list ap, fz_err *err)
{
	int i, rc = SQLITE_OK;

	for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 's':
			rc = fz_db_bind_text(st, i + 1, va_arg(ap, const char *));
			break;
		case 'i':
			rc = sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'u':
			rc = sqlite3_bind_int64(st, i + 1, (sqlite3_int64)va_arg(ap, uint64_t));
			break;
		default:
			return fz_fail(err, FZ_EINTERNAL, "bind type %c", types[i]);
		}
	}
	if (rc != SQLITE_OK)
		return fz_db_fail(c, rc, "database bind", err);
	return FZ_OK;
}

fz_code fz_mbx_prepare(sqlite3 *c, sqlite3_stmt **st, fz_err *err,
		       const char *sql, const char *types, ...)
{
	va_list ap;
	fz_code rc = fz_db_prepare(c, sql, st, err);

	if (rc != FZ_OK)
		return rc;
	va_start(ap, types);
	rc = vbind(c, *st, types, ap, err);
	va_end(ap);
	if (rc != FZ_OK) {
		fz_db_done(*st);
		*st = NULL;
	}
	return rc;
}

fz_code fz_mbx_run(sqlite3 *c, fz_err *err, int *changes, const char *sql,
		   const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int s;
	fz_code rc = fz_db_prepare(c, sql, &st, err);

	if (rc != FZ_OK)
		return rc;
	va_start(ap, types);
	rc = vbind(c, st, types, ap, err);
	va_end(ap);
	if (rc == FZ_OK && (s = sqlite3_step(st)) != SQLITE_DONE)
		rc = fz_db_fail(c, s, "database", err);
	fz_db_done(st);
	if (changes != NULL)
		*changes = rc == FZ_OK ? sqlite3_changes(c) : 0;
	return rc;
}

const char *fz_mbx_col_dup(fz_arena *a, sqlite3_stmt *st, int i)
{
	const char *s = fz_db_col_text(st, i);

	return s ? fz_arena_strdup(a, s) : NULL;
}

fz_code fz_mbx_no_message(fz_err *err, const char *id)
{
	return fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found", "no message %.40s", id);
}

fz_code fz_mbx_touch(sqlite3 *c, const char *owner, const char *id,
		     bool destroyed, uint64_t *modseq, fz_err *err)
{
	sqlite3_stmt *st = NULL;
	int s;
	fz_code rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO mailboxes (owner) VALUES (?1) ON CONFLICT DO NOTHING",
				"s", owner);

	if (rc == FZ_OK)
		rc = fz_mbx_prepare(c, &st, err,
				    "UPDATE mailboxes SET modseq = modseq + 1 WHERE owner = ?1 "
				    "RETURNING modseq", "s", owner);
	if (rc == FZ_OK) {
		s = sqlite3_step(st);
		if (s == SQLITE_ROW)
			*modseq = (uint64_t)sqlite3_column_int64(st, 0);
		else
			rc = fz_db_fail(c, s, "modseq", err);
		/* RETURNING finishes its work on the next step */
		if (rc == FZ_OK && (s = sqlite3_step(st)) != SQLITE_DONE)
			rc = fz_db_fail(c, s, "modseq", err);
	}
	fz_db_done(st);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO changes (owner, id, modseq, destroyed) VALUES (?1, ?2, ?3, ?4) "
				"ON CONFLICT (owner, id) DO UPDATE SET modseq = excluded.modseq, "
				"destroyed = excluded.destroyed",
				"ssui", owner, id, *modseq, (int64_t)destroyed);
	if (rc == FZ_OK && !destroyed)
		rc = fz_mbx_run(c, err, NULL, "UPDATE messages SET modseq = ?1 WHERE id = ?2",
				"us", *modseq, id);
	return rc;
}

/* --- open ------------------------------------------------------------------ */

fz_code fz_mbx_store_open(const char *path, size_t pool_size,
			  fz_mbx_store **out, fz_err *err)
{
	fz_mbx_store *st = calloc(1, sizeof(*st));
	fz_code rc;

	*out = NULL;
	if (st == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = fz_db_open(path, pool_size, &st->db, err);
	if (rc == FZ_OK)
		rc = fz_db_migrate(st->db, FZ_MBX_STORE_COMPONENT, schema,
				   sizeof(schema) / sizeof(schema[0]), err);
	if (rc != FZ_OK) {
		fz_mbx_store_close(st);
		return rc;
	}
	*out = st;
	return FZ_OK;
}

void fz_mbx_store_close(fz_mbx_store *st)
{
	if (st == NULL)
		return;
	fz_db_close(st->db);
	free(st);
}

/* --- resources ------------------------------------------------------------- */

static fz_code usage_of(sqlite3 *c, const char *owner, uint64_t *bytes,
			fz_err *err)
{
	sqlite3_stmt *st;
	int s;
	fz_code rc = fz_mbx_prepare(c, &st, err,
				    "SELECT COALESCE(SUM(size), 0) FROM resources WHERE owner = ?1",
				    "s", owner);

	if (rc != FZ_OK)
		return rc;
	s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*bytes = (uint64_t)sqlite3_column_int64(st, 0);
	else
		rc = fz_db_fail(c, s, "usage", err);
	fz_db_done(st);
	return rc;
}

fz_code fz_mbx_usage(fz_mbx_store *st, const char *owner, uint64_t *bytes,
		     fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc = usage_of(c, owner, bytes, err);

	fz_db_release(st->db, c);
	return rc;
}

static fz_code over_quota(fz_err *err, uint64_t quota)
{
	return fz_fail_http(err, FZ_ELIMIT, 507, "insufficient_storage",
			    "the mailbox quota of %llu bytes would be exceeded",
			    (unsigned long long)quota);
}

fz_code fz_mbx_resource_add(fz_mbx_store *st, const char *owner,
			    const fz_mbx_resource *r, uint64_t quota,
			    int64_t now, bool *added, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	uint64_t used = 0;
	int n = 0;
	fz_code rc = fz_db_begin(c, err);

	*added = false;
	/* The sum and the insert in one write transaction: two uploads at
	 * once cannot both squeeze under the quota. */
	if (rc == FZ_OK && quota > 0)
		rc = usage_of(c, owner, &used, err);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, &n,
				"INSERT INTO resources (owner, digest, size, type, created_at) "
				"VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
				"ssusi", owner, r->digest, r->size, r->type, now);
	if (rc == FZ_OK && n > 0 && quota > 0 &&
	    (r->size > quota || used > quota - r->size))
		rc = over_quota(err, quota);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	if (rc == FZ_OK)
		*added = n > 0;
	return rc;
}

fz_code fz_mbx_resource_find(fz_mbx_store *st, fz_arena *a, const char *owner,
			     const char *digest, fz_mbx_resource *out,
			     fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT digest, size, type, created_at FROM resources "
				    "WHERE owner = ?1 AND digest = ?2", "ss", owner, digest);

	if (rc == FZ_OK) {
		s = sqlite3_step(q);
		if (s == SQLITE_ROW) {
			out->digest = fz_mbx_col_dup(a, q, 0);
			out->size = (uint64_t)sqlite3_column_int64(q, 1);
			out->type = fz_mbx_col_dup(a, q, 2);
			out->created_at = sqlite3_column_int64(q, 3);
			if (out->digest == NULL || out->type == NULL)
				rc = fz_fail(err, FZ_ENOMEM, "out of memory");
		} else if (s == SQLITE_DONE) {
			/* Not owned and absent answer alike: a digest must not
			 * tell whether someone else has those bytes. */
			rc = fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found",
					  "no resource %.43s", digest);
		} else {
			rc = fz_db_fail(c, s, "resource", err);
		}
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_mbx_resource_remove(fz_mbx_store *st, const char *owner,
			       const char *digest, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	int n = 0;
	fz_code rc = fz_db_begin(c, err);

	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, &n,
				"DELETE FROM resources WHERE owner = ?1 AND digest = ?2",
				"ss", owner, digest);
	if (rc == FZ_OK && n == 0)
		rc = fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found",
				  "no resource %.43s", digest);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO blob_gc (digest) VALUES (?1) ON CONFLICT DO NOTHING",
				"s", digest);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	return rc;
}

/* --- garbage collection ---------------------------------------------------- */

/* One queued digest: *done when the queue was empty. */
static fz_code gc_one(sqlite3 *c, fz_blob_store *blobs, bool *done,
		      bool *deleted, fz_err *err)
{
	sqlite3_stmt *q;
	char digest[FZ_DIGEST_LEN + 1] = "";
	bool used = false;
	int s;
	fz_code rc = fz_db_begin(c, err);

	*done = *deleted = false;
	if (rc == FZ_OK)
		rc = fz_mbx_prepare(c, &q, err, "SELECT digest, "
				    "EXISTS (SELECT 1 FROM resources r WHERE r.digest = g.digest) OR "
				    "EXISTS (SELECT 1 FROM message_refs m WHERE m.digest = g.digest) "
				    "FROM blob_gc g LIMIT 1", "");
	if (rc == FZ_OK) {
		s = sqlite3_step(q);
		if (s == SQLITE_ROW) {
			snprintf(digest, sizeof(digest), "%s", fz_db_col_text(q, 0));
			used = sqlite3_column_int(q, 1) != 0;
		} else if (s == SQLITE_DONE) {
			*done = true;
		} else {
			rc = fz_db_fail(c, s, "gc", err);
		}
		fz_db_done(q);
	}
	/* Deleted while the write lock is held: see fz_mbx_gc. A queued
	 * name that is not a digest was never a blob; it just leaves. */
	if (rc == FZ_OK && !*done && !used && fz_blob_check_name(digest, NULL) == FZ_OK) {
		rc = fz_blob_delete(blobs, digest, err);
		*deleted = rc == FZ_OK;
	}
	if (rc == FZ_OK && !*done)
		rc = fz_mbx_run(c, err, NULL, "DELETE FROM blob_gc WHERE digest = ?1", "s", digest);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	return rc;
}

fz_code fz_mbx_gc(fz_mbx_store *st, fz_blob_store *blobs, size_t max,
		  size_t *deleted, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	bool done = false, one;
	size_t i, n = 0;
	fz_code rc = FZ_OK;

	/* One transaction per digest keeps the write lock short. */
	for (i = 0; (max == 0 || i < max) && !done && rc == FZ_OK; i++) {
		rc = gc_one(c, blobs, &done, &one, err);
		n += one;
	}
	fz_db_release(st->db, c);
	if (deleted != NULL)
		*deleted = n;
	return rc;
}

/* --- forwarding ------------------------------------------------------------- */

fz_code fz_mbx_forwarding_get(fz_mbx_store *st, fz_arena *a, const char *owner,
			      fz_mbx_forwarding *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT fwd_enabled, fwd_target, fwd_keep_copy FROM mailboxes "
				    "WHERE owner = ?1", "s", owner);

	out->enabled = false;
	out->target = "";
	out->keep_copy = true;
	if (rc == FZ_OK) {
		s = sqlite3_step(q);
		if (s == SQLITE_ROW) {
			out->enabled = sqlite3_column_int(q, 0) != 0;
			out->target = fz_mbx_col_dup(a, q, 1);
			out->keep_copy = sqlite3_column_int(q, 2) != 0;
			if (out->target == NULL)
				rc = fz_fail(err, FZ_ENOMEM, "out of memory");
		} else if (s != SQLITE_DONE) {
			rc = fz_db_fail(c, s, "forwarding", err);
		}
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_mbx_forwarding_set(fz_mbx_store *st, const char *owner,
			      const fz_mbx_forwarding *f, int64_t now,
			      fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO mailboxes (owner, fwd_enabled, fwd_target, fwd_keep_copy, "
				"updated_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (owner) DO UPDATE SET "
				"fwd_enabled = excluded.fwd_enabled, fwd_target = excluded.fwd_target, "
				"fwd_keep_copy = excluded.fwd_keep_copy, updated_at = excluded.updated_at",
				"sisii", owner, (int64_t)f->enabled, f->target ? f->target : "",
				(int64_t)f->keep_copy, now);

	fz_db_release(st->db, c);
	return rc;
}
