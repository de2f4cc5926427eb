/*
 * as_store_session.c - the two small tables of the browser-facing and
 * DPoP-facing AS: login-form sessions (by the digest of their cookie)
 * and the DPoP-Nonce values handed out by the token endpoint. Both are
 * short-lived; fz_as_store_purge drops them once expired.
 */
#include "as_store_int.h"
#include "jose.h"

#include <string.h>

/* --- sessions ------------------------------------------------------------- */

fz_code fz_as_store_session_put(fz_as_store *st, const fz_as_session *s,
				fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "INSERT INTO sessions (id_hash, csrf, user_id,"
				      " auth_time, created_at, expires_at)"
				      " VALUES (?, ?, ?, ?, ?, ?)", &q, err);

	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, s->id_hash);
		fz_db_bind_text(q, 2, s->csrf);
		/* 0 is "nobody": NULL keeps the foreign key quiet. */
		if (s->user_id != 0)
			sqlite3_bind_int64(q, 3, s->user_id);
		else
			sqlite3_bind_null(q, 3);
		sqlite3_bind_int64(q, 4, s->auth_time);
		sqlite3_bind_int64(q, 5, s->created_at);
		sqlite3_bind_int64(q, 6, s->expires_at);
		rc = fz_as_step_done(c, q, "store session", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

static fz_code read_session(fz_arena *a, sqlite3_stmt *q, fz_as_session *s,
			    fz_err *err)
{
	s->id_hash = fz_as_col_dup(a, q, 0);
	s->csrf = fz_as_col_dup(a, q, 1);
	s->user_id = sqlite3_column_int64(q, 2); /* NULL reads as 0 */
	s->auth_time = sqlite3_column_int64(q, 3);
	s->created_at = sqlite3_column_int64(q, 4);
	s->expires_at = sqlite3_column_int64(q, 5);
	if (s->id_hash == NULL || s->csrf == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

fz_code fz_as_store_session_get(fz_as_store *st, fz_arena *a,
				const char *id_hash, int64_t now,
				fz_as_session *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT id_hash, csrf, user_id, auth_time,"
				      " created_at, expires_at FROM sessions"
				      " WHERE id_hash = ? AND expires_at > ?", &q, err);

	memset(out, 0, sizeof(*out));
	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, id_hash);
		sqlite3_bind_int64(q, 2, now);
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			rc = read_session(a, q, out, err);
		else if (s == SQLITE_DONE)
			rc = fz_fail(err, FZ_ENOTFOUND, "no such session");
		else
			rc = fz_db_fail(c, s, "session", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_as_store_session_delete(fz_as_store *st, const char *id_hash,
				   fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "DELETE FROM sessions WHERE id_hash = ?", &q, err);

	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, id_hash);
		rc = fz_as_step_done(c, q, "delete session", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

/* --- DPoP nonces ---------------------------------------------------------- */

/* The newest nonce issued after since, into the arena; NULL when none. */
static fz_code newest_nonce(sqlite3 *c, fz_arena *a, int64_t since,
			    const char **out, fz_err *err)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT nonce FROM dpop_nonces WHERE created_at > ?"
				      " ORDER BY created_at DESC LIMIT 1", &q, err);

	*out = NULL;
	if (rc != FZ_OK)
		return rc;
	sqlite3_bind_int64(q, 1, since);
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		*out = fz_as_col_dup(a, q, 0);
		if (*out == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	} else if (s != SQLITE_DONE) {
		rc = fz_db_fail(c, s, "dpop nonce", err);
	}
	fz_db_done(q);
	return rc;
}

static fz_code insert_nonce(sqlite3 *c, const char *nonce, int64_t now,
			    int64_t ttl, fz_err *err)
{
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "INSERT INTO dpop_nonces (nonce, created_at,"
				      " expires_at) VALUES (?, ?, ?)", &q, err);

	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(q, 1, nonce);
	sqlite3_bind_int64(q, 2, now);
	sqlite3_bind_int64(q, 3, fz_time_add(now, ttl));
	rc = fz_as_step_done(c, q, "store dpop nonce", err);
	fz_db_done(q);
	return rc;
}

fz_code fz_as_store_nonce_current(fz_as_store *st, fz_arena *a, int64_t now,
				  int64_t ttl, const char *candidate,
				  const char **out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc;

	*out = NULL;
	if (strlen(candidate) > FZ_AS_NONCE_MAX) {
		fz_db_release(st->db, c);
		return fz_fail(err, FZ_EINTERNAL, "dpop nonce candidate too long");
	}
	/* One transaction, so processes starting at once agree on one
	 * nonce instead of each inserting its own. */
	rc = fz_db_begin(c, err);
	if (rc == FZ_OK)
		rc = newest_nonce(c, a, fz_time_add(now, -(ttl / 2)), out, err);
	if (rc == FZ_OK && *out == NULL) {
		rc = insert_nonce(c, candidate, now, ttl, err);
		*out = rc == FZ_OK ? fz_arena_strdup(a, candidate) : NULL;
		if (rc == FZ_OK && *out == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	if (rc != FZ_OK)
		*out = NULL;
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_as_store_nonce_valid(fz_as_store *st, const char *nonce,
				int64_t now, bool *valid, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT 1 FROM dpop_nonces WHERE nonce = ?"
				      " AND expires_at > ?", &q, err);

	*valid = false;
	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, nonce);
		sqlite3_bind_int64(q, 2, now);
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			*valid = true;
		else if (s != SQLITE_DONE)
			rc = fz_db_fail(c, s, "dpop nonce", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}
