/*
 * as_store.c - the Authorization Server's schema and its migrations,
 * purging, users and clients. Codes and refresh tokens are in
 * as_store_grants.c; replay cache, login counters and keys in
 * as_store_misc.c.
 */
#include "as_store_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

/* Ordered migrations: step i is schema version i + 1. Never edit a step
 * that has shipped; add one. */
static const char *const schema[] = {
	/* 1: the first schema. */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  address TEXT NOT NULL UNIQUE,"
	"  password_hash TEXT NOT NULL,"
	"  forwarding INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE clients ("
	"  client_id TEXT PRIMARY KEY,"
	"  type TEXT NOT NULL CHECK (type IN ('public', 'confidential')),"
	"  auth_method TEXT NOT NULL CHECK (auth_method IN"
	"    ('none', 'private_key_jwt', 'client_secret_basic')),"
	"  first_party INTEGER NOT NULL DEFAULT 0,"
	"  jwks TEXT,"
	"  secret_hash TEXT,"
	"  audience TEXT,"
	"  sibling_of TEXT,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE client_redirect_uris ("
	"  client_id TEXT NOT NULL REFERENCES clients ON DELETE CASCADE,"
	"  position INTEGER NOT NULL,"
	"  uri TEXT NOT NULL,"
	"  origin TEXT NOT NULL,"
	"  PRIMARY KEY (client_id, uri));"
	"CREATE INDEX client_redirect_origin ON client_redirect_uris (origin);"
	"CREATE TABLE auth_codes ("
	"  code_hash TEXT PRIMARY KEY,"
	"  client_id TEXT NOT NULL REFERENCES clients ON DELETE CASCADE,"
	"  user_id INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,"
	"  redirect_uri TEXT NOT NULL,"
	"  scope TEXT NOT NULL,"
	"  code_challenge TEXT NOT NULL,"
	"  dpop_jkt TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER,"
	"  issued_family TEXT,"
	"  issued_jti TEXT);"
	"CREATE INDEX auth_codes_expiry ON auth_codes (expires_at);"
	"CREATE TABLE refresh_families ("
	"  family_id TEXT PRIMARY KEY,"
	"  client_id TEXT NOT NULL REFERENCES clients ON DELETE CASCADE,"
	"  user_id INTEGER NOT NULL REFERENCES users ON DELETE CASCADE,"
	"  revoked INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL);"
	"CREATE TABLE refresh_tokens ("
	"  token_hash TEXT PRIMARY KEY,"
	"  family_id TEXT NOT NULL REFERENCES refresh_families ON DELETE CASCADE,"
	"  scope TEXT NOT NULL,"
	"  audience TEXT,"
	"  dpop_jkt TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER);"
	"CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);"
	"CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);"
	"CREATE TABLE replay ("
	"  namespace TEXT NOT NULL,"
	"  jti TEXT NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  PRIMARY KEY (namespace, jti)) WITHOUT ROWID;"
	"CREATE INDEX replay_expiry ON replay (expires_at);"
	"CREATE TABLE login_failures ("
	"  kind INTEGER NOT NULL,"
	"  key TEXT NOT NULL,"
	"  window_start INTEGER NOT NULL,"
	"  failures INTEGER NOT NULL,"
	"  locked_until INTEGER NOT NULL DEFAULT 0,"
	"  PRIMARY KEY (kind, key)) WITHOUT ROWID;"
	"CREATE TABLE signing_keys ("
	"  kid TEXT PRIMARY KEY,"
	"  alg TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  retired_at INTEGER);",
	/* 2: browser sessions of the login form (as_store_session.c) and
	 * the DPoP-Nonce values the token endpoint hands out. */
	"CREATE TABLE sessions ("
	"  id_hash TEXT PRIMARY KEY,"
	"  csrf TEXT NOT NULL,"
	"  user_id INTEGER REFERENCES users ON DELETE CASCADE,"
	"  auth_time INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX sessions_expiry ON sessions (expires_at);"
	"CREATE TABLE dpop_nonces ("
	"  nonce TEXT PRIMARY KEY,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL) WITHOUT ROWID;",
};

/* Login counters idle this long are forgotten by the purge: longer than
 * any window or lockout the configuration allows. */
#define LOGIN_IDLE_PURGE (31LL * 86400)

const char *fz_as_col_dup(fz_arena *a, sqlite3_stmt *st, int i)
{
	const char *s = fz_db_col_text(st, i);

	return s ? fz_arena_strdup(a, s) : NULL;
}

fz_code fz_as_step_done(sqlite3 *c, sqlite3_stmt *st, const char *what,
			fz_err *err)
{
	int s = sqlite3_step(st);

	if (s != SQLITE_DONE)
		return fz_db_fail(c, s, what, err);
	return FZ_OK;
}

fz_code fz_as_grant_fail(fz_err *err, fz_code code, const char *msg)
{
	return fz_fail_http(err, code, 400, "invalid_grant", "%s", msg);
}

fz_code fz_as_store_open(const char *path, size_t pool_size,
			 fz_as_store **out, fz_err *err)
{
	fz_as_store *st = calloc(1, sizeof(*st));
	fz_code rc;

	*out = NULL;
	if (st == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = fz_db_open(path, pool_size, &st->db, err);
	if (rc == FZ_OK)
		rc = fz_db_migrate(st->db, FZ_AS_STORE_COMPONENT, schema,
				   sizeof(schema) / sizeof(schema[0]), err);
	if (rc != FZ_OK) {
		fz_as_store_close(st);
		return rc;
	}
	*out = st;
	return FZ_OK;
}

void fz_as_store_close(fz_as_store *st)
{
	if (st == NULL)
		return;
	fz_db_close(st->db);
	free(st);
}

fz_code fz_as_store_purge(fz_as_store *st, int64_t now, uint64_t *removed,
			  fz_err *err)
{
	static const char *const sql[] = {
		"DELETE FROM replay WHERE expires_at <= ?1",
		"DELETE FROM auth_codes WHERE expires_at <= ?1",
		/* A family goes when its last token has expired. */
		"DELETE FROM refresh_tokens WHERE expires_at <= ?1",
		("DELETE FROM refresh_families WHERE NOT EXISTS (SELECT 1 FROM"
		 "  refresh_tokens t WHERE t.family_id = refresh_families.family_id)"),
		"DELETE FROM login_failures WHERE locked_until <= ?1 AND window_start <= ?1 - ?2",
		"DELETE FROM sessions WHERE expires_at <= ?1",
		"DELETE FROM dpop_nonces WHERE expires_at <= ?1",
	};
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	uint64_t n = 0;
	size_t i;
	fz_code rc = fz_db_begin(c, err);

	for (i = 0; rc == FZ_OK && i < sizeof(sql) / sizeof(sql[0]); i++) {
		rc = fz_db_prepare(c, sql[i], &q, err);
		if (rc != FZ_OK)
			break;
		if (sqlite3_bind_parameter_count(q) >= 1)
			sqlite3_bind_int64(q, 1, now);
		if (sqlite3_bind_parameter_count(q) >= 2)
			sqlite3_bind_int64(q, 2, LOGIN_IDLE_PURGE);
		rc = fz_as_step_done(c, q, "purge", err);
		fz_db_done(q);
		n += (uint64_t)sqlite3_changes(c);
	}
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	fz_db_release(st->db, c);
	if (removed != NULL)
		*removed = rc == FZ_OK ? n : 0;
	return rc;
}

/* --- users --------------------------------------------------------------- */

/* local@domain with the domain lowercased, into buf. */
static fz_code normalise_address(const char *address, char *buf, size_t size,
				 fz_err *err)
{
	size_t n = strlen(address), i;
	const char *at = strrchr(address, '@');

	if (n == 0 || n >= size || n > FZ_AS_ADDRESS_MAX || at == NULL)
		return fz_fail(err, FZ_ESYNTAX, "'%.80s' is not an address local@domain",
			       address);
	memcpy(buf, address, n + 1);
	for (i = (size_t)(at - address) + 1; i < n; i++)
		buf[i] = (char)tolower((unsigned char)buf[i]);
	return FZ_OK;
}

fz_code fz_as_store_user_add(fz_as_store *st, const char *address,
			     const char *password_hash, int64_t now, fz_err *err)
{
	char addr[FZ_AS_ADDRESS_MAX + 1];
	sqlite3 *c;
	sqlite3_stmt *q;
	fz_code rc = normalise_address(address, addr, sizeof(addr), err);

	if (rc != FZ_OK)
		return rc;
	c = fz_db_acquire(st->db);
	rc = fz_db_prepare(c, "INSERT INTO users (address, password_hash, created_at)"
			      " VALUES (?, ?, ?)", &q, err);
	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, addr);
		fz_db_bind_text(q, 2, password_hash);
		sqlite3_bind_int64(q, 3, now);
		rc = fz_as_step_done(c, q, "add user", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	if (rc == FZ_ECONFLICT)
		return fz_fail(err, FZ_ECONFLICT, "user %s exists already", addr);
	return rc;
}

/* Runs one UPDATE or DELETE keyed by an address; FZ_ENOTFOUND when it
 * touched nothing. */
static fz_code user_change(fz_as_store *st, const char *sql, const char *address,
			   const char *text, int64_t num, fz_err *err)
{
	char addr[FZ_AS_ADDRESS_MAX + 1];
	sqlite3 *c;
	sqlite3_stmt *q;
	fz_code rc = normalise_address(address, addr, sizeof(addr), err);

	if (rc != FZ_OK)
		return rc;
	c = fz_db_acquire(st->db);
	rc = fz_db_prepare(c, sql, &q, err);
	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, addr);
		if (sqlite3_bind_parameter_count(q) >= 2) {
			if (text != NULL)
				fz_db_bind_text(q, 2, text);
			else
				sqlite3_bind_int64(q, 2, num);
		}
		rc = fz_as_step_done(c, q, "change user", err);
		fz_db_done(q);
		if (rc == FZ_OK && sqlite3_changes(c) == 0)
			rc = fz_fail(err, FZ_ENOTFOUND, "no user %s", addr);
	}
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_as_store_user_remove(fz_as_store *st, const char *address, fz_err *err)
{
	return user_change(st, "DELETE FROM users WHERE address = ?1", address,
			   NULL, 0, err);
}

fz_code fz_as_store_user_set_forwarding(fz_as_store *st, const char *address,
					bool allowed, fz_err *err)
{
	return user_change(st, "UPDATE users SET forwarding = ?2 WHERE address = ?1",
			   address, NULL, allowed ? 1 : 0, err);
}

fz_code fz_as_store_user_set_password(fz_as_store *st, const char *address,
				      const char *password_hash, fz_err *err)
{
	return user_change(st, "UPDATE users SET password_hash = ?2 WHERE address = ?1",
			   address, password_hash, 0, err);
}

static fz_code read_user(fz_arena *a, sqlite3_stmt *q, fz_as_user *u, fz_err *err)
{
	u->id = sqlite3_column_int64(q, 0);
	u->address = fz_as_col_dup(a, q, 1);
	u->password_hash = fz_as_col_dup(a, q, 2);
	u->forwarding = sqlite3_column_int(q, 3) != 0;
	u->created_at = sqlite3_column_int64(q, 4);
	if (u->address == NULL || u->password_hash == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

#define USER_COLUMNS "id, address, password_hash, forwarding, created_at"

fz_code fz_as_store_user_find(fz_as_store *st, fz_arena *a,
			      const char *address, fz_as_user *out, fz_err *err)
{
	char addr[FZ_AS_ADDRESS_MAX + 1];
	sqlite3 *c;
	sqlite3_stmt *q;
	int s;
	fz_code rc = normalise_address(address, addr, sizeof(addr), err);

	memset(out, 0, sizeof(*out));
	if (rc != FZ_OK)
		return rc;
	c = fz_db_acquire(st->db);
	rc = fz_db_prepare(c, "SELECT " USER_COLUMNS " FROM users WHERE address = ?",
			   &q, err);
	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, addr);
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			rc = read_user(a, q, out, err);
		else if (s == SQLITE_DONE)
			rc = fz_fail(err, FZ_ENOTFOUND, "no user %s", addr);
		else
			rc = fz_db_fail(c, s, "find user", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_as_store_user_get(fz_as_store *st, fz_arena *a, int64_t id,
			     fz_as_user *out, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT " USER_COLUMNS " FROM users WHERE id = ?",
				   &q, err);

	memset(out, 0, sizeof(*out));
	if (rc == FZ_OK) {
		sqlite3_bind_int64(q, 1, id);
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			rc = read_user(a, q, out, err);
		else if (s == SQLITE_DONE)
			rc = fz_fail(err, FZ_ENOTFOUND, "no user %lld", (long long)id);
		else
			rc = fz_db_fail(c, s, "get user", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}

/* Reads every row of q with fn into a growing array in the arena. */
static fz_code collect(sqlite3 *c, sqlite3_stmt *q, fz_arena *a, size_t elem,
		       fz_code (*fn)(fz_arena *, sqlite3_stmt *, void *, fz_err *),
		       void **out, size_t *count, fz_err *err)
{
	size_t n = 0, cap = 0;
	char *items = NULL, *grown;
	fz_code rc = FZ_OK;
	int s;

	while (rc == FZ_OK && (s = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = fz_arena_calloc(a, cap, elem);
			if (grown == NULL)
				return fz_fail(err, FZ_ENOMEM, "out of memory");
			if (n > 0)
				memcpy(grown, items, n * elem);
			items = grown;
		}
		rc = fn(a, q, items + n * elem, err);
		n++;
	}
	if (rc == FZ_OK && s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "list", err);
	*out = items;
	*count = rc == FZ_OK ? n : 0;
	return rc;
}

static fz_code user_row(fz_arena *a, sqlite3_stmt *q, void *item, fz_err *err)
{
	return read_user(a, q, item, err);
}

fz_code fz_as_store_user_list(fz_as_store *st, fz_arena *a, fz_as_user **out,
			      size_t *count, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	void *items = NULL;
	fz_code rc = fz_db_prepare(c, "SELECT " USER_COLUMNS " FROM users ORDER BY address",
				   &q, err);

	*count = 0;
	if (rc == FZ_OK) {
		rc = collect(c, q, a, sizeof(fz_as_user), user_row, &items, count, err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	*out = items;
	return rc;
}

/* --- clients --------------------------------------------------------------- */

static const char *type_name(fz_as_client_type t)
{
	return t == FZ_CLIENT_PUBLIC ? "public" : "confidential";
}

static const char *method_name(fz_as_auth_method m)
{
	switch (m) {
	case FZ_AUTH_PRIVATE_KEY_JWT:
		return "private_key_jwt";
	case FZ_AUTH_CLIENT_SECRET_BASIC:
		return "client_secret_basic";
	case FZ_AUTH_NONE:
		break;
	}
	return "none";
}

fz_code fz_as_origin_of(const char *url, char **out, fz_err *err)
{
	bool dflt;
	fz_url u;
	fz_code rc = fz_url_parse(url, strlen(url), &u, err);
	int n;

	*out = NULL;
	if (rc != FZ_OK)
		return rc;
	dflt = (strcmp(u.scheme, "https") == 0 && u.port == 443) ||
	       (strcmp(u.scheme, "http") == 0 && u.port == 80);
	n = dflt ? asprintf(out, "%s://%s", u.scheme, u.host)
		 : asprintf(out, "%s://%s:%u", u.scheme, u.host, (unsigned)u.port);
	fz_url_clear(&u);
	if (n < 0) {
		*out = NULL;
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	return FZ_OK;
}

static fz_code insert_redirects(sqlite3 *c, const fz_as_client *cl, fz_err *err)
{
	sqlite3_stmt *q;
	char *origin;
	size_t i;
	fz_code rc = fz_db_prepare(c, "INSERT INTO client_redirect_uris"
				      " (client_id, position, uri, origin) VALUES (?, ?, ?, ?)",
				   &q, err);

	for (i = 0; rc == FZ_OK && i < cl->nredirect_uris; i++) {
		rc = fz_as_origin_of(cl->redirect_uris[i], &origin, err);
		if (rc != FZ_OK)
			break;
		sqlite3_reset(q);
		fz_db_bind_text(q, 1, cl->client_id);
		sqlite3_bind_int64(q, 2, (int64_t)i);
		fz_db_bind_text(q, 3, cl->redirect_uris[i]);
		fz_db_bind_text(q, 4, origin);
		free(origin);
		rc = fz_as_step_done(c, q, "add redirect URI", err);
		if (rc == FZ_ECONFLICT)
			rc = fz_fail(err, FZ_ECONFLICT, "redirect URI %s given twice",
				     cl->redirect_uris[i]);
	}
	fz_db_done(q);
	return rc;
}

static fz_code insert_client(sqlite3 *c, const fz_as_client *cl, int64_t now,
			     fz_err *err)
{
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "INSERT INTO clients (client_id, type, auth_method,"
				      " first_party, jwks, secret_hash, audience, sibling_of,"
				      " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
				   &q, err);

	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(q, 1, cl->client_id);
	fz_db_bind_text(q, 2, type_name(cl->type));
	fz_db_bind_text(q, 3, method_name(cl->auth_method));
	sqlite3_bind_int(q, 4, cl->first_party ? 1 : 0);
	fz_db_bind_text(q, 5, cl->jwks);
	fz_db_bind_text(q, 6, cl->secret_hash);
	fz_db_bind_text(q, 7, cl->audience);
	fz_db_bind_text(q, 8, cl->sibling_of);
	sqlite3_bind_int64(q, 9, now);
	rc = fz_as_step_done(c, q, "add client", err);
	fz_db_done(q);
	if (rc == FZ_ECONFLICT)
		return fz_fail(err, FZ_ECONFLICT, "client %s exists already", cl->client_id);
	return rc;
}

fz_code fz_as_store_client_add(fz_as_store *st, const fz_as_client *cl,
			       int64_t now, fz_err *err)
{
	sqlite3 *c;
	fz_code rc;

	if (cl->nredirect_uris > FZ_AS_REDIRECT_URIS_MAX)
		return fz_fail(err, FZ_ELIMIT, "more than %d redirect URIs",
			       FZ_AS_REDIRECT_URIS_MAX);
	c = fz_db_acquire(st->db);
	rc = fz_db_begin(c, err);
	if (rc == FZ_OK)
		rc = insert_client(c, cl, now, err);
	if (rc == FZ_OK)
		rc = insert_redirects(c, cl, err);
	if (rc == FZ_OK)
		rc = fz_db_commit(c, err);
	fz_db_release(st->db, c);
	return rc;
}

fz_code fz_as_store_client_remove(fz_as_store *st, const char *client_id,
				  fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	fz_code rc = fz_db_prepare(c, "DELETE FROM clients WHERE client_id = ?", &q, err);

	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, client_id);
		rc = fz_as_step_done(c, q, "remove client", err);
		fz_db_done(q);
		if (rc == FZ_OK && sqlite3_changes(c) == 0)
			rc = fz_fail(err, FZ_ENOTFOUND, "no client %s", client_id);
	}
	fz_db_release(st->db, c);
	return rc;
}

static fz_code read_redirects(sqlite3 *c, fz_arena *a, fz_as_client *cl,
			      fz_err *err)
{
	const char **uris = NULL, **grown;
	size_t n = 0, cap = 0;
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT uri FROM client_redirect_uris"
				      " WHERE client_id = ? ORDER BY position", &q, err);

	if (rc != FZ_OK)
		return rc;
	fz_db_bind_text(q, 1, cl->client_id);
	while (rc == FZ_OK && (s = sqlite3_step(q)) == SQLITE_ROW) {
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 4;
			grown = fz_arena_calloc(a, cap, sizeof(*grown));
			if (grown == NULL) {
				rc = fz_fail(err, FZ_ENOMEM, "out of memory");
				break;
			}
			if (n > 0)
				memcpy(grown, uris, n * sizeof(*uris));
			uris = grown;
		}
		uris[n] = fz_as_col_dup(a, q, 0);
		if (uris[n++] == NULL)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	if (rc == FZ_OK && s != SQLITE_DONE)
		rc = fz_db_fail(c, s, "redirect URIs", err);
	fz_db_done(q);
	cl->redirect_uris = uris;
	cl->nredirect_uris = n;
	return rc;
}

#define CLIENT_COLUMNS "client_id, type, auth_method, first_party, jwks," \
	" secret_hash, audience, sibling_of, created_at"

static fz_code read_client(fz_arena *a, sqlite3_stmt *q, fz_as_client *cl,
			   fz_err *err)
{
	const char *type = fz_db_col_text(q, 1), *method = fz_db_col_text(q, 2);

	memset(cl, 0, sizeof(*cl));
	cl->client_id = fz_as_col_dup(a, q, 0);
	cl->type = type && strcmp(type, "public") == 0 ? FZ_CLIENT_PUBLIC
						       : FZ_CLIENT_CONFIDENTIAL;
	cl->auth_method = FZ_AUTH_NONE;
	if (method && strcmp(method, "private_key_jwt") == 0)
		cl->auth_method = FZ_AUTH_PRIVATE_KEY_JWT;
	else if (method && strcmp(method, "client_secret_basic") == 0)
		cl->auth_method = FZ_AUTH_CLIENT_SECRET_BASIC;
	cl->first_party = sqlite3_column_int(q, 3) != 0;
	cl->jwks = fz_as_col_dup(a, q, 4);
	cl->secret_hash = fz_as_col_dup(a, q, 5);
	cl->audience = fz_as_col_dup(a, q, 6);
	cl->sibling_of = fz_as_col_dup(a, q, 7);
	cl->created_at = sqlite3_column_int64(q, 8);
	if (cl->client_id == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

fz_code fz_as_store_client_find(fz_as_store *st, fz_arena *a,
				const char *client_id, fz_as_client *out,
				fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT " CLIENT_COLUMNS " FROM clients"
				      " WHERE client_id = ?", &q, err);

	memset(out, 0, sizeof(*out));
	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, client_id);
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			rc = read_client(a, q, out, err);
		else if (s == SQLITE_DONE)
			rc = fz_fail(err, FZ_ENOTFOUND, "no client %.128s", client_id);
		else
			rc = fz_db_fail(c, s, "find client", err);
		fz_db_done(q);
	}
	if (rc == FZ_OK)
		rc = read_redirects(c, a, out, err);
	fz_db_release(st->db, c);
	return rc;
}

static fz_code client_row(fz_arena *a, sqlite3_stmt *q, void *item, fz_err *err)
{
	return read_client(a, q, item, err);
}

fz_code fz_as_store_client_list(fz_as_store *st, fz_arena *a,
				fz_as_client **out, size_t *count, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	void *items = NULL;
	fz_as_client *cl;
	size_t i;
	fz_code rc = fz_db_prepare(c, "SELECT " CLIENT_COLUMNS " FROM clients"
				      " ORDER BY client_id", &q, err);

	*count = 0;
	if (rc == FZ_OK) {
		rc = collect(c, q, a, sizeof(fz_as_client), client_row, &items, count, err);
		fz_db_done(q);
	}
	cl = items;
	for (i = 0; rc == FZ_OK && i < *count; i++)
		rc = read_redirects(c, a, &cl[i], err);
	fz_db_release(st->db, c);
	*out = cl;
	return rc;
}

fz_code fz_as_store_origin_allowed(fz_as_store *st, const char *origin,
				   bool *allowed, fz_err *err)
{
	sqlite3 *c = fz_db_acquire(st->db);
	sqlite3_stmt *q;
	int s;
	fz_code rc = fz_db_prepare(c, "SELECT 1 FROM client_redirect_uris r JOIN clients c"
				      " USING (client_id) WHERE r.origin = ? AND"
				      " c.type = 'public' LIMIT 1", &q, err);

	*allowed = false;
	if (rc == FZ_OK) {
		fz_db_bind_text(q, 1, origin);
		s = sqlite3_step(q);
		if (s == SQLITE_ROW)
			*allowed = true;
		else if (s != SQLITE_DONE)
			rc = fz_db_fail(c, s, "origin", err);
		fz_db_done(q);
	}
	fz_db_release(st->db, c);
	return rc;
}
