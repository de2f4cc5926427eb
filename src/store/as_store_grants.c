/*
 * as_store_grants.c - authorization codes and refresh token families:
 * the state whose races are attacks. Redeeming a code and rotating a
 * refresh token are each one BEGIN IMMEDIATE transaction, so two requests
 * presenting the same secret at once cannot both succeed: the second sees
 * the first one's mark and is treated as the replay it is.
 */
#include "as_store_int.h"
#include "jose.h"

#include <string.h>

/* --- codes -------------------------------------------------------------- */

fz_code fz_as_store_code_put(fz_as_store *st, const fz_as_code *cd, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "INSERT INTO auth_codes (code_hash, client_id,"
				      " user_id, redirect_uri, scope, code_challenge, dpop_jkt,"
				      " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
				   &q, err);

	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, cd->code_hash);
		fz_db_bind_text(q, 2, cd->client_id);
		sqlite3_bind_int64(q, 3, cd->user_id);
		fz_db_bind_text(q, 4, cd->redirect_uri);
		fz_db_bind_text(q, 5, cd->scope);
		fz_db_bind_text(q, 6, cd->code_challenge);
		fz_db_bind_text(q, 7, cd->dpop_jkt);
		sqlite3_bind_int64(q, 8, cd->created_at);
		sqlite3_bind_int64(q, 9, cd->expires_at);
		rc = fz_as_step_done(c, q, "store code", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

static fz_code read_code(fz_arena *a, sqlite3_stmt *q, fz_as_code *cd, fz_err *err)
{
	cd->code_hash = fz_as_col_dup(a, q, 0);
	cd->client_id = fz_as_col_dup(a, q, 1);
	cd->user_id = sqlite3_column_int64(q, 2);
	cd->redirect_uri = fz_as_col_dup(a, q, 3);
	cd->scope = fz_as_col_dup(a, q, 4);
	cd->code_challenge = fz_as_col_dup(a, q, 5);
	cd->dpop_jkt = fz_as_col_dup(a, q, 6);
	cd->created_at = sqlite3_column_int64(q, 7);
	cd->expires_at = sqlite3_column_int64(q, 8);
	cd->used_at = sqlite3_column_int64(q, 9);
	cd->issued_family = fz_as_col_dup(a, q, 10);
	cd->issued_jti = fz_as_col_dup(a, q, 11);
	if (cd->code_hash == NULL || cd->client_id == NULL || cd->redirect_uri == NULL ||
	    cd->scope == NULL || cd->code_challenge == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

/* Runs a one-parameter UPDATE inside the caller's transaction. */
static fz_code update_by(sqlite3 *c, const char *sql, const char *key,
			 int64_t num, const char *what, fz_err *err)
{
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, sql, &q, err);

	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(q, 1, key);
	if (sqlite3_bind_parameter_count(q) >= 2)
		sqlite3_bind_int64(q, 2, num);
	rc = fz_as_step_done(c, q, what, err);
	fz_db_done(q);
	return rc;
}

static fz_code revoke_family_in(sqlite3 *c, const char *family_id, fz_err *err)
{
	if (family_id == NULL)
		return FZ_OK;
	return update_by(c, "UPDATE refresh_families SET revoked = 1 WHERE family_id = ?",
			 family_id, 0, "revoke family", err);
}

/* Decides on a code row inside the transaction; may commit a revocation. */
static fz_code judge_code(sqlite3 *c, const fz_as_code *cd, int64_t now,
			  fz_err *err)
{
	fz_code rc;

	if (cd->used_at != 0) {
		rc = revoke_family_in(c, cd->issued_family, err);
		if (rc == FZ_OK)
			rc = fz_db_commit(c, err);
		if (rc != FZ_OK)
			return rc;
		return fz_as_grant_fail(err, FZ_EREPLAY, "authorization code used before;"
					" what it issued is revoked");
	}
	if (cd->expires_at <= now)
		return fz_as_grant_fail(err, FZ_ECLAIM, "authorization code expired");
	rc = update_by(c, "UPDATE auth_codes SET used_at = ?2 WHERE code_hash = ?1",
		       cd->code_hash, now, "redeem code", err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	return rc;
}

fz_code fz_as_store_code_redeem(fz_as_store *st, fz_arena *a,
				const char *code_hash, int64_t now,
				fz_as_code *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q = NULL;
	int s;
	fz_code rc = fz_db_begin(c, err);

	memset(out, 0, sizeof(*out));
	if (rc == FZ_OK)
		rc = fz_db_prepare(c, "SELECT code_hash, client_id, user_id, redirect_uri,"
				      " scope, code_challenge, dpop_jkt, created_at, expires_at,"
				      " coalesce(used_at, 0), issued_family, issued_jti"
				      " FROM auth_codes WHERE code_hash = ?", &q, err);
	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, code_hash);
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			rc = read_code(a, q, out, err);
		else if (s == SQLITE_DONE)
			rc = fz_as_grant_fail(err, FZ_ENOTFOUND, "unknown authorization code");
		else
			rc = fz_db_fail(c, s, "redeem code", err);
		fz_db_done(q);
	}
	if (rc == FZ_OK)
		rc = judge_code(c, out, now, err);
	fz_db_release(st->db, c); /* rolls back whatever was not committed */
	return rc;
}

fz_code fz_as_store_code_set_issued(fz_as_store *st, const char *code_hash,
				    const char *family_id, const char *jti,
				    fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "UPDATE auth_codes SET issued_family = ?,"
				      " issued_jti = ? WHERE code_hash = ?", &q, err);

	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, family_id);
		fz_db_bind_text(q, 2, jti);
		fz_db_bind_text(q, 3, code_hash);
		rc = fz_as_step_done(c, q, "record issued", err);
		fz_db_done(q);
		if (rc == FZ_OK && sqlite3_changes(c) == 0)
			rc = fz_fail(err, FZ_ENOTFOUND, "unknown authorization code");
	}
	fz_db_release(st->db, c);
	return rc;
}

/* --- refresh tokens ----------------------------------------------------- */

/* Opens family unless it exists; a revoked one refuses new tokens. */
static fz_code ensure_family(sqlite3 *c, const fz_as_refresh *r, fz_err *err)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "INSERT INTO refresh_families (family_id, client_id,"
				      " user_id, created_at) VALUES (?, ?, ?, ?)"
				      " ON CONFLICT (family_id) DO NOTHING", &q, err);

	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(q, 1, r->family_id);
	fz_db_bind_text(q, 2, r->client_id);
	sqlite3_bind_int64(q, 3, r->user_id);
	sqlite3_bind_int64(q, 4, r->created_at);
	rc = fz_as_step_done(c, q, "open family", err);
	fz_db_done(q);
	if (rc != FZ_OK)
		return rc;
	rc = fz_db_prepare(c, "SELECT revoked FROM refresh_families WHERE family_id = ?",
			   &q, err);
	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(q, 1, r->family_id);
	s = sqlite3_step(q);
	if (s != SQLITE_ROW)
		rc = fz_db_fail(c, s, "family", err);
	else if (sqlite3_column_int(q, 0) != 0)
		rc = fz_as_grant_fail(err, FZ_EDENIED, "refresh token family revoked");
	fz_db_done(q);
	return rc;
}

static fz_code insert_refresh(sqlite3 *c, const fz_as_refresh *r, fz_err *err)
{
	sqlite3_stmt *q;
	fz_code rc = ensure_family(c, r, err);

	if (rc == FZ_OK)
		rc = fz_db_prepare(c, "INSERT INTO refresh_tokens (token_hash, family_id,"
				      " scope, audience, dpop_jkt, created_at, expires_at)"
				      " VALUES (?, ?, ?, ?, ?, ?, ?)", &q, err);
	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(q, 1, r->token_hash);
	fz_db_bind_text(q, 2, r->family_id);
	fz_db_bind_text(q, 3, r->scope);
	fz_db_bind_text(q, 4, r->audience);
	fz_db_bind_text(q, 5, r->dpop_jkt);
	sqlite3_bind_int64(q, 6, r->created_at);
	sqlite3_bind_int64(q, 7, r->expires_at);
	rc = fz_as_step_done(c, q, "store refresh token", err);
	fz_db_done(q);
	return rc;
}

fz_code fz_as_store_refresh_put(fz_as_store *st, const fz_as_refresh *r,
				fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc = fz_db_begin(c, err);

	if (rc == FZ_OK)
		rc = insert_refresh(c, r, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	fz_db_release(st->db, c);
	return rc;
}

/* The presented token's row, with its family's state. */
struct presented {
	fz_as_refresh r;
	int64_t used_at;
	bool revoked;
};

static fz_code load_presented(sqlite3 *c, fz_arena *a, const char *hash,
			      struct presented *p, fz_err *err)
{
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT t.token_hash, t.family_id, f.client_id,"
				      " f.user_id, t.scope, t.audience, t.dpop_jkt, t.created_at,"
				      " t.expires_at, coalesce(t.used_at, 0), f.revoked"
				      " FROM refresh_tokens t JOIN refresh_families f USING (family_id)"
				      " WHERE t.token_hash = ?", &q, err);

	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(q, 1, hash);
	s = sqlite3_step(q);
	if (s == SQLITE_DONE) {
		rc = fz_as_grant_fail(err, FZ_ENOTFOUND, "unknown refresh token");
	} else if (s != SQLITE_ROW) {
		rc = fz_db_fail(c, s, "refresh token", err);
	} else {
		p->r.token_hash = fz_as_col_dup(a, q, 0);
		p->r.family_id = fz_as_col_dup(a, q, 1);
		p->r.client_id = fz_as_col_dup(a, q, 2);
		p->r.user_id = sqlite3_column_int64(q, 3);
		p->r.scope = fz_as_col_dup(a, q, 4);
		p->r.audience = fz_as_col_dup(a, q, 5);
		p->r.dpop_jkt = fz_as_col_dup(a, q, 6);
		p->r.created_at = sqlite3_column_int64(q, 7);
		p->r.expires_at = sqlite3_column_int64(q, 8);
		p->used_at = sqlite3_column_int64(q, 9);
		p->revoked = sqlite3_column_int(q, 10) != 0;
		if (p->r.family_id == NULL || p->r.client_id == NULL || p->r.scope == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	fz_db_done(q);
	return rc;
}

/* Every refusal of a presented refresh token, in order of precedence. */
static fz_code judge_refresh(sqlite3 *c, const struct presented *p,
			     const fz_as_refresh_rotation *rot, fz_err *err)
{
	fz_code rc;

	if (p->revoked)
		return fz_as_grant_fail(err, FZ_EDENIED, "refresh token revoked");
	if (strcmp(p->r.client_id, rot->client_id) != 0)
		return fz_as_grant_fail(err, FZ_EDENIED,
					"refresh token was issued to another client");
	if (p->used_at != 0) {
		/* SPEC §6: a reused refresh token revokes its family. */
		rc = revoke_family_in(c, p->r.family_id, err);
		if (rc == FZ_OK)
			rc = fz_db_commit(c, err);
		if (rc != FZ_OK)
			return rc;
		return fz_as_grant_fail(err, FZ_EREPLAY, "refresh token used before;"
					" its family is revoked");
	}
	if (p->r.expires_at <= rot->now)
		return fz_as_grant_fail(err, FZ_ECLAIM, "refresh token expired");
	if (p->r.dpop_jkt != NULL &&
	    (rot->dpop_jkt == NULL || strcmp(p->r.dpop_jkt, rot->dpop_jkt) != 0))
		return fz_as_grant_fail(err, FZ_EDENIED,
					"refresh token is bound to another DPoP key");
	return FZ_OK;
}

fz_code fz_as_store_refresh_rotate(fz_as_store *st, fz_arena *a,
				   const fz_as_refresh_rotation *rot,
				   fz_as_refresh *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	struct presented p;
	fz_code rc = fz_db_begin(c, err);

	memset(&p, 0, sizeof(p));
	memset(out, 0, sizeof(*out));
	if (rc == FZ_OK)
		rc = load_presented(c, a, rot->token_hash, &p, err);
	if (rc == FZ_OK)
		rc = judge_refresh(c, &p, rot, err);
	if (rc == FZ_OK)
		rc = update_by(c, "UPDATE refresh_tokens SET used_at = ?2 WHERE token_hash = ?1",
			       rot->token_hash, rot->now, "rotate", err);
	if (rc == FZ_OK) {
		*out = p.r;
		out->token_hash = fz_arena_strdup(a, rot->new_token_hash);
		out->created_at = rot->now;
		out->expires_at = fz_time_add(rot->now, rot->ttl);
		rc = out->token_hash ? insert_refresh(c, out, err)
				     : fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	if (rc != FZ_OK && rc != FZ_EREPLAY)
		memset(out, 0, sizeof(*out));
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_as_store_refresh_revoke(fz_as_store *st, const char *token_hash,
				   const char *client_id, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_arena *a = fz_arena_new(0, 0);
	struct presented p;
	fz_code rc = a ? fz_db_begin(c, err) : fz_fail(err, FZ_ENOMEM, "out of memory");

	memset(&p, 0, sizeof(p));
	if (rc == FZ_OK)
		rc = load_presented(c, a, token_hash, &p, err);
	if (rc == FZ_OK && client_id != NULL && strcmp(p.r.client_id, client_id) != 0)
		rc = fz_fail(err, FZ_EDENIED, "token was issued to another client");
	if (rc == FZ_OK)
		rc = revoke_family_in(c, p.r.family_id, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	fz_db_release(st->db, c);
	fz_arena_free(a);
	return rc;
}

fz_code fz_as_store_family_revoke(fz_as_store *st, const char *family_id,
				  fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	fz_code rc = revoke_family_in(c, family_id, err);

	if (rc == FZ_OK && sqlite3_changes(c) == 0)
		rc = fz_fail(err, FZ_ENOTFOUND, "no refresh family %s", family_id);
	fz_db_release(st->db, c);
	return rc;
}
