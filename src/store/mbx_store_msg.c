/*
 * mbx_store_msg.c - messages (drafts, received and sent copies), their
 * references to resources, and the change log that sync reads (SPEC
 * §11). Every function that changes a message calls fz_mbx_touch in the
 * same transaction, so the modseq a client is given always covers the
 * change it saw.
 */
#include "mbx_store_int.h"

#include <stdio.h>
#include <string.h>

#include "jose.h"

static const char *const folder_names[FZ_FOLDER_COUNT] = {
	"inbox", "sent", "drafts", "trash",
};

const char *fz_mbx_folder_name(fz_mbx_folder f)
{
	return (unsigned)f < FZ_FOLDER_COUNT ? folder_names[f] : "?";
}

fz_code fz_mbx_folder_parse(const char *name, fz_mbx_folder *out, fz_err *err)
{
	size_t i;

	for (i = 0; name != NULL && i < FZ_FOLDER_COUNT; i++) {
		if (strcmp(name, folder_names[i]) == 0) {
			*out = (fz_mbx_folder)i;
			return FZ_OK;
		}
	}
	return fz_fail_http(err, FZ_ESYNTAX, 400, "invalid_request",
			    "folder must be inbox, sent, drafts or trash");
}

static fz_code add_refs(sqlite3 *c, const char *id, const fz_digest_str *refs,
			size_t nrefs, fz_err *err)
{
	size_t i;
	fz_code rc = FZ_OK;

	for (i = 0; i < nrefs && rc == FZ_OK; i++)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO message_refs (message, digest) VALUES (?1, ?2) "
				"ON CONFLICT DO NOTHING", "ss", id, refs[i].s);
	return rc;
}

/* The message's references go to collection and then away. */
static fz_code drop_refs(sqlite3 *c, const char *id, fz_err *err)
{
	fz_code rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO blob_gc (digest) SELECT digest FROM message_refs "
				"WHERE message = ?1 ON CONFLICT DO NOTHING", "s", id);

	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL, "DELETE FROM message_refs WHERE message = ?1",
				"s", id);
	return rc;
}

fz_code fz_mbx_msg_add(fz_mbx_store *st, fz_mbx_msg *m,
		       const fz_digest_str *refs, size_t nrefs, int64_t now,
		       fz_err *err)
{
	sqlite3 *c;
	fz_code rc = fz_random_b64url(FZ_MBX_ID_BYTES, m->id, sizeof(m->id), err);

	if (rc != FZ_OK)
		return rc;
	c = fz_db_acquire(st->db);
	rc = fz_db_begin(c, err);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"INSERT INTO messages (id, owner, folder, seen, flagged, sent, "
				"message_id, thread_id, document, created_at, updated_at) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
				"sssiiisssi", m->id, m->owner, fz_mbx_folder_name(m->folder),
				(int64_t)m->seen, (int64_t)m->flagged, (int64_t)m->sent,
				m->message_id, m->thread_id, m->document, now);
	if (rc == FZ_OK)
		rc = add_refs(c, m->id, refs, nrefs, err);
	if (rc == FZ_OK)
		rc = fz_mbx_touch(c, m->owner, m->id, false, &m->modseq, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	if (rc == FZ_OK)
		m->created_at = m->updated_at = now;
	return rc;
}

#define MSG_COLUMNS \
	"m.id, m.owner, m.folder, m.seen, m.flagged, m.sent, m.message_id, " \
	"m.thread_id, m.document, m.modseq, m.created_at, m.updated_at"

/* Reads the MSG_COLUMNS starting at column first. */
static fz_code read_msg(sqlite3_stmt *q, int first, fz_arena *a,
			fz_mbx_msg *m, fz_err *err)
{
	const char *id = fz_db_col_text(q, first);
	fz_mbx_folder f = FZ_FOLDER_INBOX;

	snprintf(m->id, sizeof(m->id), "%s", id ? id : "");
	m->owner = fz_mbx_col_dup(a, q, first + 1);
	if (fz_mbx_folder_parse(fz_db_col_text(q, first + 2), &f, NULL) != FZ_OK)
		return fz_fail(err, FZ_EINTERNAL, "message %s: bad folder", m->id);
	m->folder = f;
	m->seen = sqlite3_column_int(q, first + 3) != 0;
	m->flagged = sqlite3_column_int(q, first + 4) != 0;
	m->sent = sqlite3_column_int(q, first + 5) != 0;
	m->message_id = fz_mbx_col_dup(a, q, first + 6);
	m->thread_id = fz_mbx_col_dup(a, q, first + 7);
	m->document = fz_mbx_col_dup(a, q, first + 8);
	m->modseq = (uint64_t)sqlite3_column_int64(q, first + 9);
	m->created_at = sqlite3_column_int64(q, first + 10);
	m->updated_at = sqlite3_column_int64(q, first + 11);
	if (m->owner == NULL || m->message_id == NULL || m->document == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

static fz_code get_msg(sqlite3 *c, fz_arena *a, const char *owner,
		       const char *id, fz_mbx_msg *out, fz_err *err)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT " MSG_COLUMNS " FROM messages m "
				    "WHERE m.id = ?1 AND m.owner = ?2", "ss", id, owner);

	if (rc != FZ_OK)
		return rc;
	s = sqlite3_step(q);
	if (s == SQLITE_ROW)
		rc = read_msg(q, 0, a, out, err);
	else if (s == SQLITE_DONE)
		rc = fz_mbx_no_message(err, id);
	else
		rc = fz_db_fail(c, s, "message", err);
	fz_db_done(q);
	return rc;
}

fz_code fz_mbx_msg_get(fz_mbx_store *st, fz_arena *a, const char *owner,
		       const char *id, fz_mbx_msg *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc = get_msg(c, a, owner, id, out, err);

	fz_db_release(st->db, c);
	return rc;
}

/* Inside a write transaction: the message's sent flag and folder, or 404. */
static fz_code msg_state(sqlite3 *c, const char *owner, const char *id,
			 bool *sent, fz_mbx_folder *folder, fz_err *err)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT sent, folder FROM messages WHERE id = ?1 AND owner = ?2",
				    "ss", id, owner);

	if (rc != FZ_OK)
		return rc;
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		*sent = sqlite3_column_int(q, 0) != 0;
		if (fz_mbx_folder_parse(fz_db_col_text(q, 1), folder, NULL) != FZ_OK)
			rc = fz_fail(err, FZ_EINTERNAL, "message %s: bad folder", id);
	} else if (s == SQLITE_DONE) {
		rc = fz_mbx_no_message(err, id);
	} else {
		rc = fz_db_fail(c, s, "message", err);
	}
	fz_db_done(q);
	return rc;
}

fz_code fz_mbx_msg_replace_draft(fz_mbx_store *st, const char *owner,
				 const char *id, const char *document,
				 const char *message_id, const char *thread_id,
				 const fz_digest_str *refs, size_t nrefs,
				 int64_t now, uint64_t *modseq, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_mbx_folder folder;
	bool sent = false;
	fz_code rc = fz_db_begin(c, err);

	if (rc == FZ_OK)
		rc = msg_state(c, owner, id, &sent, &folder, err);
	if (rc == FZ_OK && sent)
		rc = fz_fail_http(err, FZ_ECONFLICT, 409, "conflict",
				  "message %s was sent: it cannot change", id);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"UPDATE messages SET document = ?1, message_id = ?2, thread_id = ?3, "
				"updated_at = ?4 WHERE id = ?5",
				"sssis", document, message_id, thread_id, now, id);
	if (rc == FZ_OK)
		rc = drop_refs(c, id, err);
	if (rc == FZ_OK)
		rc = add_refs(c, id, refs, nrefs, err);
	if (rc == FZ_OK)
		rc = fz_mbx_touch(c, owner, id, false, modseq, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_mbx_msg_update(fz_mbx_store *st, const char *owner, const char *id,
			  const fz_mbx_msg_patch *p, int64_t now,
			  uint64_t *modseq, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_mbx_folder folder;
	bool sent;
	fz_code rc = fz_db_begin(c, err);

	if (rc == FZ_OK)
		rc = msg_state(c, owner, id, &sent, &folder, err);
	if (rc == FZ_OK && p->folder != NULL)
		folder = *p->folder;
	/* COALESCE keeps what the patch leaves out. */
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"UPDATE messages SET folder = ?1, seen = COALESCE(?2, seen), "
				"flagged = COALESCE(?3, flagged), updated_at = ?4 WHERE id = ?5",
				"sssis", fz_mbx_folder_name(folder),
				p->seen ? (*p->seen ? "1" : "0") : NULL,
				p->flagged ? (*p->flagged ? "1" : "0") : NULL, now, id);
	if (rc == FZ_OK)
		rc = fz_mbx_touch(c, owner, id, false, modseq, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	return rc;
}

/* Destroys message id of owner: its resource rows that no other of
 * owner's messages refers to go first (the owner's quota is freed), then
 * its references, then the row. */
static fz_code destroy(sqlite3 *c, const char *owner, const char *id,
		       fz_err *err)
{
	fz_code rc = fz_mbx_run(c, err, NULL,
				"DELETE FROM resources WHERE owner = ?1 AND digest IN "
				"(SELECT digest FROM message_refs WHERE message = ?2) AND NOT EXISTS "
				"(SELECT 1 FROM message_refs r JOIN messages m ON m.id = r.message "
				" WHERE r.digest = resources.digest AND m.owner = ?1 AND m.id <> ?2)",
				"ss", owner, id);

	if (rc == FZ_OK)
		rc = drop_refs(c, id, err);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL, "DELETE FROM messages WHERE id = ?1", "s", id);
	return rc;
}

fz_code fz_mbx_msg_delete(fz_mbx_store *st, const char *owner, const char *id,
			  int64_t now, bool *destroyed, uint64_t *modseq,
			  fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_mbx_folder folder = FZ_FOLDER_INBOX;
	bool sent;
	fz_code rc = fz_db_begin(c, err);

	*destroyed = false;
	if (rc == FZ_OK)
		rc = msg_state(c, owner, id, &sent, &folder, err);
	if (rc == FZ_OK && folder == FZ_FOLDER_TRASH) {
		*destroyed = true;
		rc = destroy(c, owner, id, err);
	} else if (rc == FZ_OK) {
		rc = fz_mbx_run(c, err, NULL,
				"UPDATE messages SET folder = 'trash', updated_at = ?1 WHERE id = ?2",
				"is", now, id);
	}
	if (rc == FZ_OK)
		rc = fz_mbx_touch(c, owner, id, *destroyed, modseq, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	if (rc != FZ_OK)
		*destroyed = false;
	return rc;
}

/* --- sync ------------------------------------------------------------------ */

static fz_code mailbox_marks(sqlite3 *c, const char *owner, uint64_t *modseq,
			     uint64_t *floor, fz_err *err)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_mbx_prepare(c, &q, err,
				    "SELECT modseq, floor FROM mailboxes WHERE owner = ?1",
				    "s", owner);

	*modseq = *floor = 0;
	if (rc != FZ_OK)
		return rc;
	s = sqlite3_step(q);
	if (s == SQLITE_ROW) {
		*modseq = (uint64_t)sqlite3_column_int64(q, 0);
		*floor = (uint64_t)sqlite3_column_int64(q, 1);
	} else if (s != SQLITE_DONE) {
		rc = fz_db_fail(c, s, "mailbox", err);
	}
	fz_db_done(q);
	return rc;
}

fz_code fz_mbx_modseq(fz_mbx_store *st, const char *owner, uint64_t *out,
		      fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	uint64_t floor;
	fz_code rc = mailbox_marks(c, owner, out, &floor, err);

	fz_db_release(st->db, c);
	return rc;
}

static fz_code gone(fz_err *err, uint64_t since)
{
	return fz_fail_http(err, FZ_ENOTFOUND, 410, "state_too_old",
			    "sync state %llu can no longer be answered: sync again without since",
			    (unsigned long long)since);
}

static fz_code read_changes(sqlite3 *c, fz_arena *a, const char *owner,
			    bool full, uint64_t since, size_t page,
			    fz_mbx_changes *out, fz_err *err)
{
	sqlite3_stmt *q = NULL;
	fz_mbx_change *ch;
	int s = SQLITE_DONE;
	fz_code rc;

	out->v = fz_arena_calloc(a, page + 1, sizeof(*out->v));
	if (out->v == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory for a sync page");
	/* One more than the page: its presence is what "more" means. */
	rc = fz_mbx_prepare(c, &q, err,
			    "SELECT c.id, c.modseq, c.destroyed, " MSG_COLUMNS " FROM changes c "
			    "LEFT JOIN messages m ON m.id = c.id "
			    "WHERE c.owner = ?1 AND c.modseq > ?2 AND (?3 = 0 OR c.destroyed = 0) "
			    "ORDER BY c.modseq LIMIT ?4",
			    "suii", owner, since, (int64_t)full, (int64_t)page + 1);
	while (rc == FZ_OK && (s = sqlite3_step(q)) == SQLITE_ROW) {
		if (out->n == page) {
			out->more = true;
			break;
		}
		ch = &out->v[out->n];
		snprintf(ch->id, sizeof(ch->id), "%s", fz_db_col_text(q, 0));
		ch->modseq = (uint64_t)sqlite3_column_int64(q, 1);
		ch->destroyed = sqlite3_column_int(q, 2) != 0 ||
				sqlite3_column_type(q, 3) == SQLITE_NULL;
		if (!ch->destroyed)
			rc = read_msg(q, 3, a, &ch->msg, err);
		out->n++;
	}
	if (rc == FZ_OK && !out->more && s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "sync", err);
	if (q != NULL)
		fz_db_done(q);
	if (rc == FZ_OK && out->more)
		out->state = out->v[out->n - 1].modseq;
	return rc;
}

fz_code fz_mbx_changes_since(fz_mbx_store *st, fz_arena *a, const char *owner,
			     bool has_since, uint64_t since, size_t page,
			     fz_mbx_changes *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	uint64_t modseq = 0, floor = 0;
	/* A read transaction: the marks and the rows from one snapshot. */
	fz_code rc = fz_db_exec(c, "BEGIN", err);

	memset(out, 0, sizeof(*out));
	if (page == 0)
		page = 1;
	if (rc == FZ_OK)
		rc = mailbox_marks(c, owner, &modseq, &floor, err);
	if (rc == FZ_OK && has_since && (since > modseq || since < floor))
		rc = gone(err, since);
	if (rc == FZ_OK)
		rc = read_changes(c, a, owner, !has_since, has_since ? since : 0, page,
				  out, err);
	if (rc == FZ_OK && !out->more)
		out->state = modseq;
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_mbx_changes_prune(fz_mbx_store *st, const char *owner,
			     uint64_t upto, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc = fz_db_begin(c, err);

	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"DELETE FROM changes WHERE owner = ?1 AND destroyed = 1 AND modseq <= ?2",
				"su", owner, upto);
	if (rc == FZ_OK)
		rc = fz_mbx_run(c, err, NULL,
				"UPDATE mailboxes SET floor = MAX(floor, MIN(?2, modseq)) WHERE owner = ?1",
				"su", owner, upto);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	else
		fz_db_rollback(c);
	fz_db_release(st->db, c);
	return rc;
}
