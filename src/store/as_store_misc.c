/*
 * as_store_misc.c - the small tables: the jti replay cache shared by DPoP
 * proofs and client assertions, login failure counters, and the registry
 * of signing keys (which key signs, which are retired and since when).
 */
#include "as_store_int.h"
#include "jose.h"

#include <string.h>

/* --- replay cache ---------------------------------------------------------- */

/* Takes the place of (ns, jti) in one statement, so two threads with
 * the same jti cannot both insert: an unexpired row blocks the upsert,
 * an expired one is taken over (its token could not pass the freshness
 * check anyway). FZ_EREPLAY when the place was taken. */
static fz_code replay_take(sqlite3 *c, const fz_as_jti *j, int64_t now, fz_err *err)
{
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "INSERT INTO replay (namespace, jti, expires_at)"
				      " VALUES (?1, ?2, ?3) ON CONFLICT (namespace, jti) DO UPDATE"
				      " SET expires_at = excluded.expires_at WHERE replay.expires_at <= ?4",
				   &q, err);

	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(q, 1, j->ns);
	fz_db_bind_text(q, 2, j->jti);
	sqlite3_bind_int64(q, 3, j->expires_at);
	sqlite3_bind_int64(q, 4, now);
	rc = fz_as_step_done(c, q, "replay cache", err);
	fz_db_done(q);
	if (rc == FZ_OK && sqlite3_changes(c) == 0)
		rc = fz_fail(err, FZ_EREPLAY, "%s jti seen before", j->ns);
	return rc;
}

fz_code fz_as_store_replay_check(void *ctx, const char *jti,
				 int64_t expires_at, fz_err *err)
{
	const fz_as_replay *r = ctx;
	fz_as_jti j = {.ns = r->ns, .jti = jti, .expires_at = expires_at};
	sqlite3 *c = fz_db_acquire(r->store->db);
	fz_code rc = replay_take(c, &j, r->now, err);

	fz_db_release(r->store->db, c);
	return rc;
}

fz_code fz_as_store_replay_check_all(fz_as_store *st, const fz_as_jti *jtis,
				     size_t n, int64_t now, size_t *which,
				     fz_err *err)
{
	sqlite3 *c;
	size_t i, used = 0;
	fz_code rc;

	*which = n;
	for (i = 0; i < n; i++)
		used += jtis[i].ns != NULL;
	if (used == 0)
		return FZ_OK;
	c = fz_db_acquire(st->db);
	/* One jti is one statement, which is its own transaction. */
	rc = used > 1 ? fz_db_begin(c, err) : FZ_OK;
	for (i = 0; rc == FZ_OK && i < n; i++) {
		if (jtis[i].ns == NULL)
			continue;
		rc = replay_take(c, &jtis[i], now, err);
		if (rc == FZ_EREPLAY)
			*which = i;
	}
	if (rc == FZ_OK && used > 1)
		rc = fz_db_commit(c, err);
	/* A refused request records none of its jtis; release rolls back. */
	fz_db_release(st->db, c);
	return rc;
}

/* --- login throttling ------------------------------------------------------ */

fz_code fz_as_store_login_locked(fz_as_store *st, fz_as_throttle_kind kind,
				 const char *key, int64_t now, int64_t *until,
				 fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT locked_until FROM login_failures"
				      " WHERE kind = ? AND key = ?", &q, err);

	*until = 0;
	if (rc == FZ_OK) {
		sqlite3_bind_int(q, 1, (int)kind);
		fz_db_bind_text(q, 2, key);
		s = sqlite3_step(q);
		if (s == SQLITE_ROW && sqlite3_column_int64(q, 0) > now)
			*until = sqlite3_column_int64(q, 0);
		else if (s != SQLITE_ROW && s != SQLITE_DONE)
			rc = fz_db_fail(c, s, "login counter", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

/* A counter as stored: failures within the window that began at start. */
struct counter {
	int64_t start, failures, locked_until;
};

static fz_code counter_read(sqlite3 *c, fz_as_throttle_kind kind, const char *key,
			    struct counter *k, fz_err *err)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT window_start, failures, locked_until"
				      " FROM login_failures WHERE kind = ? AND key = ?", &q, err);

	memset(k, 0, sizeof(*k));
	if (rc != FZ_OK)
		return rc;
	sqlite3_bind_int(q, 1, (int)kind);
	fz_db_bind_text(q, 2, key);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		k->start = sqlite3_column_int64(q, 0);
		k->failures = sqlite3_column_int64(q, 1);
		k->locked_until = sqlite3_column_int64(q, 2);
	} else if (s != SQLITE_DONE) {
		rc = fz_db_fail(c, s, "login counter", err);
	}
	fz_db_done(q);
	return rc;
}

static fz_code counter_write(sqlite3 *c, fz_as_throttle_kind kind, const char *key,
			     const struct counter *k, fz_err *err)
{
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "INSERT OR REPLACE INTO login_failures (kind, key,"
				      " window_start, failures, locked_until) VALUES (?, ?, ?, ?, ?)",
				   &q, err);

	if (rc != FZ_OK)
		return rc;
	sqlite3_bind_int(q, 1, (int)kind);
	fz_db_bind_text(q, 2, key);
	sqlite3_bind_int64(q, 3, k->start);
	sqlite3_bind_int64(q, 4, k->failures);
	sqlite3_bind_int64(q, 5, k->locked_until);
	rc = fz_as_step_done(c, q, "login counter", err);
	fz_db_done(q);
	return rc;
}

/* One more failure: a window that has passed starts anew; reaching the
 * limit locks the key and empties the count, so after the lockout the
 * key has the full allowance again, and no more. */
static void count_failure(struct counter *k, int64_t now,
			  const fz_as_throttle_policy *p)
{
	if (k->failures == 0 || fz_time_add(k->start, p->window) <= now) {
		k->start = now;
		k->failures = 0;
	}
	k->failures++;
	if ((uint64_t)k->failures >= p->max_failures) {
		k->locked_until = fz_time_add(now, p->lockout);
		k->failures = 0;
	}
}

fz_code fz_as_store_login_failed(fz_as_store *st, fz_as_throttle_kind kind,
				 const char *key, int64_t now,
				 const fz_as_throttle_policy *p, int64_t *until,
				 fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	struct counter k;
	fz_code rc = fz_db_begin(c, err);

	if (until != NULL)
		*until = 0;
	if (rc == FZ_OK)
		rc = counter_read(c, kind, key, &k, err);
	if (rc == FZ_OK) {
		count_failure(&k, now, p);
		rc = counter_write(c, kind, key, &k, err);
	}
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	if (rc == FZ_OK && until != NULL && k.locked_until > now)
		*until = k.locked_until;
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_as_store_login_clear(fz_as_store *st, fz_as_throttle_kind kind,
				const char *key, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "DELETE FROM login_failures WHERE kind = ? AND key = ?",
				   &q, err);

	if (rc == FZ_OK) {
		sqlite3_bind_int(q, 1, (int)kind);
		fz_db_bind_text(q, 2, key);
		rc = fz_as_step_done(c, q, "login counter", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

/* --- signing keys ------------------------------------------------------------ */

fz_code fz_as_store_key_add(fz_as_store *st, const char *kid, const char *alg,
			    int64_t now, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q = NULL;
	fz_code rc = fz_db_begin(c, err);

	if (rc == FZ_OK)
		rc = fz_db_prepare(c, "UPDATE signing_keys SET retired_at = ?"
				      " WHERE retired_at IS NULL", &q, err);
	if (rc == FZ_OK) {
		sqlite3_bind_int64(q, 1, now);
		rc = fz_as_step_done(c, q, "retire key", err);
		fz_db_done(q);
	}
	if (rc == FZ_OK)
		rc = fz_db_prepare(c, "INSERT INTO signing_keys (kid, alg, created_at)"
				      " VALUES (?, ?, ?)", &q, err);
	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, kid);
		fz_db_bind_text(q, 2, alg);
		sqlite3_bind_int64(q, 3, now);
		rc = fz_as_step_done(c, q, "add key", err);
		fz_db_done(q);
	}
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	fz_db_release(st->db, c);
	return rc;
}

static fz_code key_row(fz_arena *a, sqlite3_stmt *q, fz_as_key_row *k, fz_err *err)
{
	k->kid = fz_as_col_dup(a, q, 0);
	k->alg = fz_as_col_dup(a, q, 1);
	k->created_at = sqlite3_column_int64(q, 2);
	k->retired_at = sqlite3_column_int64(q, 3);
	if (k->kid == NULL || k->alg == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

fz_code fz_as_store_key_list(fz_as_store *st, fz_arena *a, fz_as_key_row **out,
			     size_t *count, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	fz_as_key_row *rows = NULL, *grown;
	size_t n = 0, cap = 0;
	int s = SQLITE_DONE;
	fz_code rc = fz_db_prepare(c, "SELECT kid, alg, created_at, coalesce(retired_at, 0)"
				      " FROM signing_keys ORDER BY created_at DESC, rowid DESC",
				   &q, err);

	while (rc == FZ_OK && (s = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = fz_arena_calloc(a, cap, sizeof(*grown));
			if (grown == NULL) {
				rc = fz_fail(err, FZ_ENOMEM, "out of memory");
				break;
			}
			if (n > 0)
				memcpy(grown, rows, n * sizeof(*rows));
			rows = grown;
		}
		rc = key_row(a, q, &rows[n++], err);
	}
	if (rc == FZ_OK && s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "list keys", err);
	if (q != NULL)
		fz_db_done(q);
	fz_db_release(st->db, c);
	*out = rows;
	*count = rc == FZ_OK ? n : 0;
	return rc;
}

fz_code fz_as_store_key_remove(fz_as_store *st, const char *kid, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "DELETE FROM signing_keys WHERE kid = ?", &q, err);

	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, kid);
		rc = fz_as_step_done(c, q, "remove key", err);
		fz_db_done(q);
		if (rc == FZ_OK && sqlite3_changes(c) == 0)
			rc = fz_fail(err, FZ_ENOTFOUND, "no key %s", kid);
	}
	fz_db_release(st->db, c);
	return rc;
}
