/*
 * mbx_store_send.c - sending (mbx_store.h "sending, status, recall"):
 * the one transaction that turns a draft into a sent message, delivers
 * the local copies, queues the remote domains and records every
 * recipient's outcome; the status the sender reads; recall.
 *
 * One transaction, so the API can answer 202 only for what is durable:
 * after a crash either nothing of the send happened (the draft is still
 * a draft) or all of it did, queue entries included (SPEC §10).
 */
#include "mbx_store_int.h"

#include <stdio.h>
#include <string.h>

#include "jose.h"

static const char *const rcpt_state_names[] = {"delivered", "queued", "failed"};

const char *fz_rcpt_state_name(fz_rcpt_state s)
{
	return (unsigned)s < 3 ? rcpt_state_names[s] : "?";
}

static fz_code conflict(fz_err *err, const char *why)
{
	return fz_fail_http(err, FZ_ECONFLICT, 409, "conflict", "%s", why);
}

/* Runs a one-integer query: *out its value, 0 when there is no row. */
static fz_code scalar(sqlite3 *c, int64_t *out, fz_err *err, const char *sql,
		      const char *types, const char *a, const char *b)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err, sql, types, a, b);

	*out = 0;
	if (rc != FZ_OK)
		return rc;
	s = sqlite3_step(q);
	if (s == SQLITE_ROW)
		*out = sqlite3_column_int64(q, 0);
	else if (s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "query", err);
	fz_db_done(q);
	return rc;
}

/* --- mailboxes ----------------------------------------------------------------- */

fz_code fz_mbx_mailbox_exists(fz_mbx_store *st, const char *owner, bool *out,
			      fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	int64_t n = 0;
	fz_code rc = scalar(c, &n, err, "SELECT COUNT(*) FROM mailboxes WHERE owner = ?1",
			    "s", owner, NULL);

	fz_db_release(st->db, c);
	*out = rc == FZ_OK && n > 0;
	return rc;
}

fz_code fz_mbx_mailbox_open(fz_mbx_store *st, const char *owner, fz_err *err)
{
	bool exists = false;
	sqlite3 *c;
	fz_code rc = fz_mbx_mailbox_exists(st, owner, &exists, err);

	/* A read first: every request of a known user passes here, and a
	 * write would take the database's one write lock each time. */
	if (rc != FZ_OK || exists)
		return rc;
	c = fz_db_acquire(st->db);
	rc = fz_mbx_run(c, err, NULL,
			"INSERT INTO mailboxes (owner) VALUES (?1) ON CONFLICT DO NOTHING",
			"s", owner);
	fz_db_release(st->db, c);
	return rc;
}

/* --- the sent message ------------------------------------------------------------ */

/* The draft becomes the sent message, unless it was sent or changed. */
static fz_code seal_draft(sqlite3 *c, const fz_mbx_send *s, fz_err *err)
{
	int64_t sent = 0;
	int n = 0;
	fz_code rc = fz_mbx_run(c, err, &n,
				"UPDATE messages SET document = ?1, folder = 'sent', sent = 1, "
				"seen = 1, updated_at = ?2 WHERE id = ?3 AND owner = ?4 AND sent = 0 "
				"AND modseq = ?5",
				"sissu", s->document, s->now, s->id, s->owner, s->draft_modseq);

	if (rc != FZ_OK || n == 1)
		return rc;
	rc = scalar(c, &sent, err, "SELECT sent + 1 FROM messages WHERE id = ?1 AND owner = ?2",
		    "ss", s->id, s->owner);
	if (rc != FZ_OK)
		return rc;
	if (sent == 0)
		return fz_mbx_no_message(err, s->id);
	if (sent == 2)
		return conflict(err, "the message was sent already");
	return conflict(err, "the draft changed while it was being sent: send it again");
}

static fz_code add_outbox(sqlite3 *c, const fz_mbx_send *s, fz_err *err)
{
	int64_t taken = 0;
	fz_code rc = scalar(c, &taken, err, "SELECT COUNT(*) FROM outbox WHERE message_id = ?1",
			    "s", s->message_id, NULL);

	if (rc == FZ_OK && taken > 0)
		return conflict(err, "a message with this Message-ID was sent already");
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO outbox (message, owner, message_id, sent_at) "
				"VALUES (?1, ?2, ?3, ?4)",
				"sssi", s->id, s->owner, s->message_id, s->now);
	return rc;
}

/* --- local copies ---------------------------------------------------------------- */

/* Would the resources of the sent message that rcpt does not own yet
 * take rcpt past quota? */
static fz_code over_quota(sqlite3 *c, const fz_mbx_send *s, const char *rcpt,
			  bool *over, fz_err *err)
{
	int64_t used = 0, more = 0;
	fz_code rc;

	*over = false;
	if (s->quota == 0)
		return FZ_OK;
	rc = scalar(c, &used, err, "SELECT COALESCE(SUM(size), 0) FROM resources WHERE owner = ?1",
		    "s", rcpt, NULL);
	if (rc == FZ_OK)
		rc = scalar(c, &more, err,
			    "SELECT COALESCE(SUM(r.size), 0) FROM resources r "
			    "JOIN message_refs m ON m.digest = r.digest AND m.message = ?2 "
			    "WHERE r.owner = (SELECT owner FROM messages WHERE id = ?2) "
			    "AND NOT EXISTS (SELECT 1 FROM resources x "
			    "  WHERE x.owner = ?1 AND x.digest = r.digest)",
			    "ss", rcpt, s->id);
	/* A copy of bytes they own already costs nothing, even over quota. */
	if (rc == FZ_OK && more > 0)
		*over = (uint64_t)more > s->quota || (uint64_t)used > s->quota - (uint64_t)more;
	return rc;
}

/* The copy's row, its references, and the recipient's ownership of the
 * same blobs: rows only, no byte is copied. */
static fz_code add_copy(sqlite3 *c, const fz_mbx_send *s, fz_mbx_send_rcpt *r,
			const char *thread_id, fz_err *err)
{
	uint64_t modseq;
	fz_code rc = fz_random_b64url(FZ_MBX_ID_BYTES, r->id, sizeof(r->id), err);

	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO messages (id, owner, folder, seen, flagged, sent, "
				"message_id, thread_id, document, created_at, updated_at) "
				"VALUES (?1, ?2, 'inbox', 0, 0, 1, ?3, ?4, ?5, ?6, ?6)",
				"sssssi", r->id, r->address, s->message_id, thread_id, r->document,
				s->now);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO message_refs (message, digest) "
				"SELECT ?1, digest FROM message_refs WHERE message = ?2",
				"ss", r->id, s->id);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO resources (owner, digest, size, type, created_at) "
				"SELECT ?1, r.digest, r.size, r.type, ?3 FROM resources r "
				"JOIN message_refs m ON m.digest = r.digest AND m.message = ?2 "
				"WHERE r.owner = ?4 ON CONFLICT DO NOTHING",
				"ssis", r->address, s->id, s->now, s->owner);
	if (rc == FZ_OK)
		rc = fz_mbx_touch(c, r->address, r->id, false, &modseq, err);
	if (rc == FZ_OK && r->forward_domain != NULL)
		rc = fz_queue_insert(c, r->id, FZ_QUEUE_FORWARD, r->forward_domain, s->now, err);
	return rc;
}

static fz_code deliver_local(sqlite3 *c, const fz_mbx_send *s,
			     fz_mbx_send_rcpt *r, const char *thread_id,
			     fz_err *err)
{
	int64_t exists = 0;
	bool over = false;
	fz_code rc = scalar(c, &exists, err, "SELECT COUNT(*) FROM mailboxes WHERE owner = ?1",
			    "s", r->address, NULL);

	if (rc == FZ_OK && exists == 0) {
		r->state = FZ_RCPT_FAILED;
		r->reason = FZ_RCPT_NO_USER;
		return FZ_OK;
	}
	if (rc == FZ_OK)
		rc = over_quota(c, s, r->address, &over, err);
	if (rc == FZ_OK && over) {
		r->state = FZ_RCPT_FAILED;
		r->reason = FZ_RCPT_FULL;
		return FZ_OK;
	}
	if (rc == FZ_OK)
		rc = add_copy(c, s, r, thread_id, err);
	if (rc == FZ_OK) {
		r->state = FZ_RCPT_DELIVERED;
		r->reason = NULL;
	}
	return rc;
}

/* --- remote domains ---------------------------------------------------------------- */

/* One transfer entry per remote domain: the first recipient there
 * queues it, the others find it. */
static fz_code queue_remote(sqlite3 *c, const fz_mbx_send *s, fz_mbx_send_rcpt *r,
			    fz_err *err)
{
	int64_t queued = 0;
	fz_code rc = scalar(c, &queued, err,
			    "SELECT COUNT(*) FROM queue WHERE message = ?1 AND kind = 'transfer' "
			    "AND domain = ?2", "ss", s->id, r->domain);

	r->state = FZ_RCPT_QUEUED;
	r->reason = NULL;
	if (rc == FZ_OK && queued == 0)
		rc = fz_queue_insert(c, s->id, FZ_QUEUE_TRANSFER, r->domain, s->now, err);
	return rc;
}

static fz_code record(sqlite3 *c, const fz_mbx_send *s, size_t pos,
		      const fz_mbx_send_rcpt *r, fz_err *err)
{
	return fz_mbx_run(c, err, NULL,
			  "INSERT INTO recipients (message, pos, address, domain, local, state, "
			  "reason, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			  "sississi",
			  s->id, (int64_t)pos, r->address, r->domain, (int64_t)r->local,
			  fz_rcpt_state_name(r->state), r->reason, s->now);
}

static fz_code thread_of(sqlite3 *c, fz_arena *a, const char *id,
			 const char **out, fz_err *err)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err, "SELECT thread_id FROM messages WHERE id = ?1",
				    "s", id);

	*out = NULL;
	if (rc != FZ_OK)
		return rc;
	s = sqlite3_step(q);
	if (s == SQLITE_ROW)
		*out = fz_mbx_col_dup(a, q, 0);
	else if (s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "message", err);
	fz_db_done(q);
	return rc;
}

static fz_code send_all(sqlite3 *c, fz_mbx_send *s, fz_arena *a, fz_err *err)
{
	const char *thread_id = NULL;
	uint64_t modseq;
	size_t i;
	fz_code rc;

	if ((rc = seal_draft(c, s, err)) || (rc = add_outbox(c, s, err)) ||
	    (rc = fz_mbx_touch(c, s->owner, s->id, false, &modseq, err)) ||
	    (rc = thread_of(c, a, s->id, &thread_id, err)))
		return rc;
	for (i = 0; i < s->nrcpts && rc == FZ_OK; i++) {
		fz_mbx_send_rcpt *r = &s->rcpts[i];

		r->id[0] = '\0';
		rc = r->local ? deliver_local(c, s, r, thread_id, err) : queue_remote(c, s, r, err);
		if (rc == FZ_OK)
			rc = record(c, s, i, r, err);
	}
	return rc;
}

fz_code fz_mbx_send_commit(fz_mbx_store *st, fz_mbx_send *s, fz_err *err)
{
	fz_arena *a = fz_arena_new(0, 0);
	sqlite3 *c;
	fz_code rc;

	if (a == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	c = fz_db_acquire(st->db);
	rc = fz_db_begin(c, err);
	if (rc == FZ_OK)
		rc = send_all(c, s, a, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	fz_arena_free(a);
	return rc;
}

/* --- status and recall ---------------------------------------------------------------- */

/* The outbox row of owner's message id: 404 unless there is one. */
static fz_code outbox_of(sqlite3 *c, const char *owner, const char *id,
			 bool *recalled, fz_err *err)
{
	int64_t v = 0;
	fz_code rc = scalar(c, &v, err,
			    "SELECT 1 + recalled FROM outbox WHERE message = ?1 AND owner = ?2",
			    "ss", id, owner);

	if (rc != FZ_OK)
		return rc;
	if (v == 0)
		return fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found",
				    "message %.40s was not sent from here", id);
	*recalled = v == 2;
	return FZ_OK;
}

static fz_code read_status(sqlite3_stmt *q, fz_arena *a, fz_mbx_rcpt_status *r,
			   fz_err *err)
{
	bool remote = sqlite3_column_int(q, 2) == 0;
	bool queued = remote && sqlite3_column_type(q, 6) != SQLITE_NULL;

	r->address = fz_mbx_col_dup(a, q, 0);
	r->domain = fz_mbx_col_dup(a, q, 1);
	r->local = !remote;
	/* A remote recipient's progress is its domain's transfer entry. */
	r->state = fz_mbx_col_dup(a, q, queued ? 6 : 3);
	r->reason = fz_mbx_col_dup(a, q, queued ? 7 : 4);
	r->updated_at = sqlite3_column_int64(q, queued ? 8 : 5);
	if (r->address == NULL || r->domain == NULL || r->state == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

static fz_code read_statuses(sqlite3 *c, fz_arena *a, const char *id,
			     fz_mbx_send_status *out, fz_err *err)
{
	sqlite3_stmt *q = NULL;
	int64_t n = 0;
	int s = SQLITE_DONE;
	fz_code rc = scalar(c, &n, err, "SELECT COUNT(*) FROM recipients WHERE message = ?1",
			    "s", id, NULL);

	if (rc == FZ_OK && (out->v = fz_arena_calloc(a, (size_t)n + 1, sizeof(*out->v))) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	if (rc == FZ_OK)
		rc = fz_mbx_prepare(c, &q, err,
				    "SELECT r.address, r.domain, r.local, r.state, r.reason, "
				    "r.updated_at, q.state, q.last_error, q.updated_at "
				    "FROM recipients r LEFT JOIN queue q ON q.message = r.message "
				    "AND q.kind = 'transfer' AND q.domain = r.domain AND r.local = 0 "
				    "WHERE r.message = ?1 ORDER BY r.pos", "s", id);
	while (rc == FZ_OK && out->n < (size_t)n && (s = sqlite3_step(q)) == SQLITE_ROW)
		rc = read_status(q, a, &out->v[out->n++], err);
	if (rc == FZ_OK && s != SQLITE_ROW && s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "status", err);
	fz_db_done(q);
	return rc;
}

fz_code fz_mbx_send_status_get(fz_mbx_store *st, fz_arena *a, const char *owner,
			       const char *id, fz_mbx_send_status *out,
			       fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	/* A read transaction: the outbox row and the entries from one snapshot. */
	fz_code rc = fz_db_exec(c, "BEGIN", err);

	memset(out, 0, sizeof(*out));
	if (rc == FZ_OK)
		rc = outbox_of(c, owner, id, &out->recalled, err);
	if (rc == FZ_OK)
		rc = read_statuses(c, a, id, out, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	return rc;
}

static fz_code recall_check(sqlite3 *c, const char *id, fz_err *err)
{
	int64_t fetched = 0, open = 0;
	fz_code rc = scalar(c, &fetched, err,
			    "SELECT COUNT(*) FROM queue WHERE message = ?1 AND kind = 'transfer' "
			    "AND state = 'fetched'", "s", id, NULL);

	if (rc == FZ_OK && fetched > 0)
		return conflict(err, "a recipient domain has fetched the message: it can no "
				"longer be recalled");
	if (rc == FZ_OK)
		rc = scalar(c, &open, err,
			    "SELECT COUNT(*) FROM queue WHERE message = ?1 AND kind = 'transfer' "
			    "AND state IN ('queued', 'transferred')", "s", id, NULL);
	if (rc == FZ_OK && open == 0)
		return conflict(err, "no remote recipient is left to recall the message from");
	return rc;
}

fz_code fz_mbx_recall(fz_mbx_store *st, const char *owner, const char *id,
		      int64_t now, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	bool recalled = false;
	fz_code rc = fz_db_begin(c, err);

	if (rc == FZ_OK)
		rc = outbox_of(c, owner, id, &recalled, err);
	if (rc == FZ_OK && recalled)
		rc = conflict(err, "the message was recalled already");
	if (rc == FZ_OK)
		rc = recall_check(c, id, err);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"UPDATE outbox SET recalled = 1, recalled_at = ?1 WHERE message = ?2",
				"is", now, id);
	/* A transferred domain holds the placeholder but never the bytes:
	 * its fetches are refused from now on, so it failed as well. */
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"UPDATE queue SET state = 'failed', last_error = ?1, lease_until = 0, "
				"updated_at = ?2 WHERE message = ?3 AND kind IN ('transfer', 'push') "
				"AND state IN ('queued', 'transferred')",
				"sis", FZ_RCPT_RECALLED, now, id);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_mbx_store_message_recalled(fz_mbx_store *st, const char *message_id,
				      bool *recalled, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	int64_t v = 0;
	fz_code rc = scalar(c, &v, err, "SELECT 1 + recalled FROM outbox WHERE message_id = ?1",
			    "s", message_id, NULL);

	fz_db_release(st->db, c);
	*recalled = false;
	if (rc != FZ_OK)
		return rc;
	if (v == 0)
		return fz_fail_http(err, FZ_ENOTFOUND, 404, "not_found",
				    "no message with this Message-ID was sent from here");
	*recalled = v == 2;
	return FZ_OK;
}
