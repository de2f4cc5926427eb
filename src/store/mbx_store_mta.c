/*
 * mbx_store_mta.c - what the MTA-facing endpoints keep (SPEC §7.5, §7.7,
 * §8.3): the DPoP replay cache, received copies that wait for their
 * resources before sync shows them, the fetch entries that will bring
 * those resources, and the log of which domain fetched what from here.
 *
 * A received copy is hidden by having no change-log entry: sync reads
 * only the change log, so a copy enters sync the moment fz_mbx_touch
 * gives it a modseq, in the same transaction that makes it whole.
 */
#include "mbx_store_int.h"

#include <stdio.h>
#include <string.h>

#include "jose.h"

/* --- replay cache ------------------------------------------------------------ */

fz_code fz_mbx_replay_check(void *ctx, const char *jti, int64_t expires_at,
			    fz_err *err)
{
	const fz_mbx_replay *r = ctx;
	sqlite3 *c = fz_db_acquire(r->store->db);
	int n = 0;
	/* One statement, so two threads with the same jti cannot both
	 * insert; an expired row is taken over (its proof is stale). */
	fz_code rc = fz_mbx_run(c, err, &n,
				"INSERT INTO replay (namespace, jti, expires_at) VALUES (?1, ?2, ?3) "
				"ON CONFLICT (namespace, jti) DO UPDATE SET expires_at = excluded.expires_at "
				"WHERE replay.expires_at <= ?4", "ssii", r->ns, jti, expires_at, r->now);

	fz_db_release(r->store->db, c);
	if (rc == FZ_OK && n == 0)
		rc = fz_fail(err, FZ_EREPLAY, "%s jti seen before", r->ns);
	return rc;
}

fz_code fz_mbx_replay_prune(fz_mbx_store *st, int64_t now, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc = fz_mbx_run(c, err, NULL, "DELETE FROM replay WHERE expires_at <= ?1",
				"i", now);

	fz_db_release(st->db, c);
	return rc;
}

/* --- delivery ------------------------------------------------------------------ */

/* One value of a one-column, one-row query; *found false on no row. */
static fz_code exists(sqlite3 *c, bool *found, fz_err *err, const char *sql,
		      const char *types, const char *a1, const char *a2)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err, sql, types, a1, a2);

	*found = false;
	if (rc != FZ_OK)
		return rc;
	s = sqlite3_step(q);
	if (s == SQLITE_ROW)
		*found = true;
	else if (s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "lookup", err);
	fz_db_done(q);
	return rc;
}

/* Present means a blob and a resource row: the row keeps collection
 * away from the blob for as long as this transaction holds the lock. */
static fz_code part_present(sqlite3 *c, const fz_mbx_part *p, bool *present,
			    fz_err *err)
{
	if (!p->present) {
		*present = false;
		return FZ_OK;
	}
	return exists(c, present, err, "SELECT 1 FROM resources WHERE digest = ?1 LIMIT 1",
		      "s", p->digest, NULL);
}

static fz_code queue_fetch(sqlite3 *c, const fz_mbx_delivery *d, const char *id,
			   const char *digest, size_t *queued, fz_err *err)
{
	bool found = false;
	fz_code rc = exists(c, &found, err,
			    "SELECT 1 FROM fetch_queue f JOIN queue q ON q.id = f.id "
			    "JOIN messages m ON m.id = q.message "
			    "WHERE f.digest = ?1 AND m.message_id = ?2 AND q.state = 'queued' LIMIT 1",
			    "ss", digest, d->message_id);

	if (rc != FZ_OK || found)
		return rc;
	rc = fz_queue_insert(c, id, FZ_QUEUE_FETCH, d->peer, d->now, err);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO fetch_queue (id, digest) VALUES (last_insert_rowid(), ?1)",
				"s", digest);
	if (rc == FZ_OK)
		(*queued)++;
	return rc;
}

/* The part for this copy: a reference, and either the owner's resource
 * row or a pending part. *waits becomes true for an absent inline one. */
static fz_code add_part(sqlite3 *c, const fz_mbx_delivery *d, const char *owner,
			const char *id, const fz_mbx_part *p, bool *waits,
			size_t *queued, fz_err *err)
{
	bool present = false;
	fz_code rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO message_refs (message, digest) VALUES (?1, ?2) "
				"ON CONFLICT DO NOTHING", "ss", id, p->digest);

	if (rc == FZ_OK)
		rc = part_present(c, p, &present, err);
	if (rc == FZ_OK && present)
		return fz_mbx_run(c, err, NULL,
				  "INSERT INTO resources (owner, digest, size, type, created_at) "
				  "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
				  "ssusi", owner, p->digest, p->size, p->type, d->now);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO pending_parts (message, digest, inline, size, type) "
				"VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
				"ssius", id, p->digest, (int64_t)p->inline_part, p->size, p->type);
	if (rc == FZ_OK)
		rc = queue_fetch(c, d, id, p->digest, queued, err);
	if (rc == FZ_OK && p->inline_part)
		*waits = true;
	return rc;
}

static fz_code add_copy(sqlite3 *c, fz_arena *a, const fz_mbx_delivery *d,
			size_t i, fz_mbx_delivered *out, fz_err *err)
{
	const char *owner = d->owners[i];
	char id[FZ_MBX_ID_LEN + 1];
	bool found = false, waits = false;
	uint64_t modseq;
	size_t k;
	fz_code rc = exists(c, &found, err,
			    "SELECT 1 FROM messages WHERE owner = ?1 AND message_id = ?2",
			    "ss", owner, d->message_id);

	if (rc != FZ_OK)
		return rc;
	if (found) {
		out->existed++;
		return FZ_OK;
	}
	rc = fz_random_b64url(FZ_MBX_ID_BYTES, id, sizeof(id), err);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO messages (id, owner, folder, sent, message_id, thread_id, "
				"document, fetch_pending, created_at, updated_at) "
				"VALUES (?1, ?2, 'inbox', 1, ?3, ?4, ?5, 1, ?6, ?6)",
				"sssssi", id, owner, d->message_id, d->thread_id, d->documents[i],
				d->now);
	for (k = 0; k < d->nparts && rc == FZ_OK; k++)
		rc = add_part(c, d, owner, id, &d->parts[k], &waits, &out->fetches, err);
	if (rc == FZ_OK && !waits)
		rc = fz_mbx_run(c, err, NULL, "UPDATE messages SET fetch_pending = 0 WHERE id = ?1",
				"s", id);
	if (rc == FZ_OK && !waits && (rc = fz_mbx_touch(c, owner, id, false, &modseq, err)) == FZ_OK)
		out->visible[out->nvisible++] = fz_arena_strdup(a, owner);
	if (rc == FZ_OK && d->forwards != NULL && d->forwards[i] != NULL &&
	    (rc = fz_queue_insert(c, id, FZ_QUEUE_FORWARD, d->forwards[i], d->now, err)) == FZ_OK)
		out->forwards++;
	if (rc == FZ_OK)
		out->added++;
	return rc;
}

/* Puts off, until `until`, the fetches queued for the parts of
 * message_id of at most max_bytes: the sender pushes those right after
 * its transfer (SPEC §7.7), and a pull racing the push would bring the
 * same bytes twice. */
static fz_code fetch_postpone(sqlite3 *c, const char *message_id, uint64_t max_bytes,
			      int64_t now, int64_t until, fz_err *err)
{
	return fz_mbx_run(c, err, NULL,
			  "UPDATE queue SET next_attempt_at = ?1 WHERE kind = 'fetch' "
			  "AND state = 'queued' AND next_attempt_at < ?1 AND lease_until <= ?2 "
			  "AND id IN (SELECT f.id FROM fetch_queue f JOIN queue q ON q.id = f.id "
			  "JOIN messages m ON m.id = q.message JOIN pending_parts p "
			  "ON p.message = m.id AND p.digest = f.digest "
			  "WHERE m.message_id = ?3 AND p.size <= ?4)",
			  "iisu", until, now, message_id, max_bytes);
}

/* Ends, as failed with why, the queued fetches of message_id: nobody
 * here keeps a copy. */
static fz_code fetch_cancel(sqlite3 *c, const char *message_id, const char *why,
			    int64_t now, fz_err *err)
{
	return fz_mbx_run(c, err, NULL,
			  "UPDATE queue SET state = 'failed', last_error = ?1, updated_at = ?2 "
			  "WHERE kind = 'fetch' AND state = 'queued' AND lease_until <= ?2 "
			  "AND message IN (SELECT id FROM messages WHERE message_id = ?3)",
			  "sis", why, now, message_id);
}

/* Settled before the commit: once committed, a worker may lease a fetch
 * (poll_interval), and no later update touches a leased entry. */
static fz_code settle_fetches(sqlite3 *c, const fz_mbx_delivery *d,
			      const fz_mbx_delivered *out, fz_err *err)
{
	fz_code rc = FZ_OK;

	if (out->fetches == 0)
		return FZ_OK;
	if (d->push_until > 0)
		rc = fetch_postpone(c, d->message_id, d->push_max_bytes, d->now, d->push_until, err);
	if (rc == FZ_OK && d->fetch_not_needed != NULL)
		rc = fetch_cancel(c, d->message_id, d->fetch_not_needed, d->now, err);
	return rc;
}

fz_code fz_mbx_deliver(fz_mbx_store *st, fz_arena *a, const fz_mbx_delivery *d,
		       fz_mbx_delivered *out, fz_err *err)
{
	sqlite3 *c;
	size_t i;
	fz_code rc;

	memset(out, 0, sizeof(*out));
	out->visible = fz_arena_calloc(a, d->nowners + 1, sizeof(*out->visible));
	if (out->visible == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	c = fz_db_acquire(st->db);
	rc = fz_db_begin(c, err);
	for (i = 0; i < d->nowners && rc == FZ_OK; i++)
		rc = add_copy(c, a, d, i, out, err);
	for (i = 0; i < out->nvisible && rc == FZ_OK; i++)
		if (out->visible[i] == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	if (rc == FZ_OK)
		rc = settle_fetches(c, d, out, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	if (rc != FZ_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* --- arrival ------------------------------------------------------------------- */

typedef struct waiting {
	char id[FZ_MBX_ID_LEN + 1];
	const char *owner;
} waiting;

/* The copies waiting for digest, at most max. */
static fz_code read_waiting(sqlite3 *c, fz_arena *a, const char *digest,
			    waiting **out, size_t *n, fz_err *err)
{
	sqlite3_stmt *q = NULL;
	waiting *v = NULL;
	size_t cap = 0;
	int s = SQLITE_DONE;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT m.id, m.owner FROM pending_parts p JOIN messages m "
				    "ON m.id = p.message WHERE p.digest = ?1", "s", digest);

	*n = 0;
	while (rc == FZ_OK && (s = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			waiting *grown = fz_arena_calloc(a, cap * 2 + 8, sizeof(*grown));

			if (grown == NULL) {
				rc = fz_fail(err, FZ_ENOMEM, "out of memory");
				break;
			}
			if (*n > 0)
				memcpy(grown, v, *n * sizeof(*v));
			v = grown;
			cap = cap * 2 + 8;
		}
		snprintf(v[*n].id, sizeof(v[*n].id), "%s", fz_db_col_text(q, 0));
		if ((v[*n].owner = fz_mbx_col_dup(a, q, 1)) == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
		(*n)++;
	}
	if (rc == FZ_OK && s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "pending parts", err);
	if (q != NULL)
		fz_db_done(q);
	*out = v;
	return rc;
}

/* The copy gets the bytes; when nothing inline is pending any more and
 * it was hidden, it is revealed (*revealed). */
static fz_code hand_over(sqlite3 *c, const waiting *w, const char *digest,
			 int64_t now, bool *revealed, fz_err *err)
{
	bool inline_left = false, hidden = false;
	uint64_t modseq;
	fz_code rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO resources (owner, digest, size, type, created_at) "
				"SELECT ?1, digest, size, type, ?2 FROM pending_parts "
				"WHERE message = ?3 AND digest = ?4 ON CONFLICT DO NOTHING",
				"siss", w->owner, now, w->id, digest);

	*revealed = false;
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"DELETE FROM pending_parts WHERE message = ?1 AND digest = ?2",
				"ss", w->id, digest);
	if (rc == FZ_OK)
		rc = exists(c, &inline_left, err,
			    "SELECT 1 FROM pending_parts WHERE message = ?1 AND inline = 1 LIMIT 1",
			    "s", w->id, NULL);
	if (rc == FZ_OK && !inline_left)
		rc = exists(c, &hidden, err,
			    "SELECT 1 FROM messages WHERE id = ?1 AND fetch_pending = 1",
			    "s", w->id, NULL);
	if (rc != FZ_OK || inline_left || !hidden)
		return rc;
	rc = fz_mbx_run(c, err, NULL, "UPDATE messages SET fetch_pending = 0 WHERE id = ?1",
			"s", w->id);
	if (rc == FZ_OK)
		rc = fz_mbx_touch(c, w->owner, w->id, false, &modseq, err);
	*revealed = rc == FZ_OK;
	return rc;
}

fz_code fz_mbx_resource_arrived(fz_mbx_store *st, fz_arena *a,
				const char *digest, int64_t now,
				const char ***owners, size_t *n, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	waiting *w = NULL;
	size_t i, nw = 0;
	bool revealed;
	const char **v = NULL;
	fz_code rc = fz_db_begin(c, err);

	*owners = NULL;
	*n = 0;
	if (rc == FZ_OK)
		rc = read_waiting(c, a, digest, &w, &nw, err);
	/* whatever was to fetch these bytes has nothing left to do */
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"UPDATE queue SET state = 'fetched', updated_at = ?1 WHERE state = 'queued' "
				"AND id IN (SELECT id FROM fetch_queue WHERE digest = ?2)",
				"is", now, digest);
	if (rc == FZ_OK && (v = fz_arena_calloc(a, nw + 1, sizeof(*v))) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	for (i = 0; i < nw && rc == FZ_OK; i++) {
		rc = hand_over(c, &w[i], digest, now, &revealed, err);
		if (rc == FZ_OK && revealed)
			v[(*n)++] = w[i].owner;
	}
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	if (rc != FZ_OK)
		*n = 0;
	else
		*owners = v;
	return rc;
}

fz_code fz_mbx_fetch_digest(fz_mbx_store *st, int64_t queue_id,
			    fz_digest_str *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err, "SELECT digest FROM fetch_queue WHERE id = ?1",
				    "i", queue_id);

	if (rc == FZ_OK) {
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			snprintf(out->s, sizeof(out->s), "%s", fz_db_col_text(q, 0));
		else if (s == SQLITE_DONE)
			rc = fz_fail(err, FZ_ENOTFOUND, "queue entry %lld is no fetch",
				     (long long)queue_id);
		else
			rc = fz_db_fail(c, s, "fetch queue", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

/* --- lookups by Message-ID ----------------------------------------------------- */

/* The first row of sql (id, owner, [recalled]) into id/owner. */
static fz_code find_one(fz_mbx_store *st, fz_arena *a, const char *sql,
			const char *message_id, fz_mbx_msg *out, bool *recalled,
			fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	char id[FZ_MBX_ID_LEN + 1] = "";
	const char *owner = NULL;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err, sql, "s", message_id);

	if (rc == FZ_OK) {
		s = sqlite3_step(q);
		if (s == SQLITE_ROW) {
			snprintf(id, sizeof(id), "%s", fz_db_col_text(q, 0));
			owner = fz_mbx_col_dup(a, q, 1);
			if (recalled != NULL)
				*recalled = sqlite3_column_int(q, 2) != 0;
			if (owner == NULL)
				rc = fz_fail(err, FZ_ENOMEM, "out of memory");
		} else if (s == SQLITE_DONE) {
			rc = fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found",
					  "no message %.200s", message_id);
		} else {
			rc = fz_db_fail(c, s, "message", err);
		}
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	if (rc != FZ_OK)
		return rc;
	return fz_mbx_msg_get(st, a, owner, id, out, err);
}

fz_code fz_mbx_received_find(fz_mbx_store *st, fz_arena *a,
			     const char *message_id, fz_mbx_msg *out,
			     fz_err *err)
{
	return find_one(st, a,
			"SELECT m.id, m.owner FROM messages m WHERE m.message_id = ?1 AND "
			"NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message = m.id) "
			"ORDER BY m.created_at LIMIT 1", message_id, out, NULL, err);
}

fz_code fz_mbx_copy_of(fz_mbx_store *st, const char *owner, const char *message_id,
		       char id[FZ_MBX_ID_LEN + 1], fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT id FROM messages WHERE owner = ?1 AND message_id = ?2 "
				    "ORDER BY created_at DESC LIMIT 1", "ss", owner, message_id);

	if (rc == FZ_OK) {
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			snprintf(id, FZ_MBX_ID_LEN + 1, "%s", fz_db_col_text(q, 0));
		else if (s == SQLITE_DONE)
			rc = fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found",
					  "no message %.200s", message_id);
		else
			rc = fz_db_fail(c, s, "message", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_mbx_outbox_find(fz_mbx_store *st, fz_arena *a,
			   const char *message_id, fz_mbx_msg *out,
			   bool *recalled, fz_err *err)
{
	*recalled = false;
	return find_one(st, a,
			"SELECT m.id, m.owner, o.recalled FROM outbox o JOIN messages m "
			"ON m.id = o.message WHERE o.message_id = ?1", message_id, out,
			recalled, err);
}

/* --- the fetch log ------------------------------------------------------------- */

fz_code fz_mbx_fetch_log_add(fz_mbx_store *st, const char *message,
			     const char *domain, const char *digest,
			     int64_t now, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc = fz_db_begin(c, err);

	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO fetch_log (message, domain, digest, at) "
				"VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
				"sssi", message, domain, digest, now);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"UPDATE queue SET state = 'fetched', updated_at = ?1 WHERE message = ?2 "
				"AND kind = 'transfer' AND domain = ?3 AND state = 'transferred'",
				"iss", now, message, domain);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_mbx_fetch_log_list(fz_mbx_store *st, fz_arena *a, const char *message,
			      fz_mbx_fetch_rec **out, size_t *n, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q = NULL;
	fz_mbx_fetch_rec *v = NULL, *grown;
	size_t cap = 0;
	int s = SQLITE_DONE;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT domain, digest, at FROM fetch_log WHERE message = ?1 "
				    "ORDER BY at, domain, digest", "s", message);

	*n = 0;
	while (rc == FZ_OK && (s = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			if ((grown = fz_arena_calloc(a, cap * 2 + 8, sizeof(*grown))) == NULL) {
				rc = fz_fail(err, FZ_ENOMEM, "out of memory");
				break;
			}
			if (*n > 0)
				memcpy(grown, v, *n * sizeof(*v));
			v = grown;
			cap = cap * 2 + 8;
		}
		v[*n].domain = fz_mbx_col_dup(a, q, 0);
		v[*n].digest = fz_mbx_col_dup(a, q, 1);
		v[*n].at = sqlite3_column_int64(q, 2);
		if (v[*n].domain == NULL || v[*n].digest == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
		(*n)++;
	}
	if (rc == FZ_OK && s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "fetch log", err);
	if (q != NULL)
		fz_db_done(q);
	fz_db_release(st->db, c);
	*out = v;
	return rc;
}
