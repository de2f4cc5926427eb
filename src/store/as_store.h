/*
 * as_store.h - what the Authorization Server keeps: users, clients,
 * authorization codes, refresh token families, the replay cache, login
 * failure counters and the signing key registry. Functions are named for
 * what they do; the SQL behind them (as_store*.c) is SQLite today and
 * could be another database tomorrow without touching a caller.
 *
 * Secrets are never stored: codes and refresh tokens by their digest
 * (digest.h), passwords and client secrets as Argon2id strings that the
 * caller computed (as_password.h).
 *
 * Threads: every function may be called from any thread; each borrows a
 * pooled connection (db.h) for its duration. Strings returned live in
 * the arena given. Operations that must not race (redeeming a code,
 * rotating a refresh token) are one transaction each.
 *
 * Errors of the grant-facing functions (codes, refresh tokens) carry HTTP
 * 400 and OAuth error invalid_grant, what RFC 6749 §5.2 answers, so a
 * grant can pass them on unchanged; the code tells which case it was.
 */
#ifndef FZ_STORE_AS_STORE_H
#define FZ_STORE_AS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"

#define FZ_AS_STORE_COMPONENT "as" /* the schema_version row */
#define FZ_AS_ADDRESS_MAX 254      /* RFC 5321 §4.5.3.1.3 path, less brackets */
#define FZ_AS_CLIENT_ID_MAX 128
#define FZ_AS_REDIRECT_URIS_MAX 16

typedef struct fz_as_store fz_as_store;

/* Opens the database at path with pool_size connections and brings its
 * schema up to date. */
fz_code fz_as_store_open(const char *path, size_t pool_size,
			 fz_as_store **out, fz_err *err);
void fz_as_store_close(fz_as_store *st);

/* Deletes what has expired: replay entries, codes and refresh tokens past
 * their expiry, idle login counters. *removed (may be NULL) says how many
 * rows went. */
fz_code fz_as_store_purge(fz_as_store *st, int64_t now, uint64_t *removed,
			  fz_err *err);

/* --- users -------------------------------------------------------------
 * An address is local@domain; the domain part compares without case (it
 * is stored lowercased), the local part exactly. */

typedef struct fz_as_user {
	int64_t id;
	const char *address;       /* local@domain, domain lowercased */
	const char *password_hash; /* Argon2id PHC string */
	bool forwarding;           /* SPEC §9: may mail be forwarded out */
	int64_t created_at;
} fz_as_user;

/* FZ_ECONFLICT when the address exists. */
fz_code fz_as_store_user_add(fz_as_store *st, const char *address,
			     const char *password_hash, int64_t now, fz_err *err);
/* FZ_ENOTFOUND when absent. Removes the user's codes and refresh tokens. */
fz_code fz_as_store_user_remove(fz_as_store *st, const char *address,
				fz_err *err);
fz_code fz_as_store_user_find(fz_as_store *st, fz_arena *a,
			      const char *address, fz_as_user *out, fz_err *err);
/* By id (what codes, refresh tokens and sessions record). */
fz_code fz_as_store_user_get(fz_as_store *st, fz_arena *a, int64_t id,
			     fz_as_user *out, fz_err *err);
fz_code fz_as_store_user_set_forwarding(fz_as_store *st, const char *address,
					bool allowed, fz_err *err);
fz_code fz_as_store_user_set_password(fz_as_store *st, const char *address,
				      const char *password_hash, fz_err *err);
/* Every user, by address. */
fz_code fz_as_store_user_list(fz_as_store *st, fz_arena *a, fz_as_user **out,
			      size_t *count, fz_err *err);

/* --- clients ------------------------------------------------------------ */

typedef enum fz_as_client_type {
	FZ_CLIENT_PUBLIC,       /* the webmail: PKCE, no secret */
	FZ_CLIENT_CONFIDENTIAL, /* an MTA: private_key_jwt or a secret */
} fz_as_client_type;

typedef enum fz_as_auth_method {
	FZ_AUTH_NONE,                /* public clients */
	FZ_AUTH_PRIVATE_KEY_JWT,     /* RFC 7523 client assertion, keys in jwks */
	FZ_AUTH_CLIENT_SECRET_BASIC, /* RFC 6749 §2.3.1, secret_hash */
} fz_as_auth_method;

typedef struct fz_as_client {
	const char *client_id;
	fz_as_client_type type;
	fz_as_auth_method auth_method;
	bool first_party;          /* no consent page */
	const char *jwks;          /* JWKS JSON text (private_key_jwt), else NULL */
	const char *secret_hash;   /* Argon2id (client_secret_basic), else NULL */
	const char *audience;      /* MBX base URL its access tokens are for, or NULL */
	const char *sibling_of;    /* MBX base URL whose MTA this client is, or NULL */
	const char *const *redirect_uris; /* exact strings */
	size_t nredirect_uris;
	int64_t created_at;
} fz_as_client;

/* FZ_ECONFLICT when client_id exists. The origin of each redirect URI is
 * recorded for CORS (fz_as_store_origin_allowed). */
fz_code fz_as_store_client_add(fz_as_store *st, const fz_as_client *c,
			       int64_t now, fz_err *err);
/* FZ_ENOTFOUND when absent; its codes and refresh tokens go with it. */
fz_code fz_as_store_client_remove(fz_as_store *st, const char *client_id,
				  fz_err *err);
fz_code fz_as_store_client_find(fz_as_store *st, fz_arena *a,
				const char *client_id, fz_as_client *out,
				fz_err *err);
fz_code fz_as_store_client_list(fz_as_store *st, fz_arena *a,
				fz_as_client **out, size_t *count, fz_err *err);
/* True when origin ("https://host[:port]", as a browser sends it) is the
 * origin of a public client's redirect URI: the webmail may then call
 * /token and /revoke from the browser. */
fz_code fz_as_store_origin_allowed(fz_as_store *st, const char *origin,
				   bool *allowed, fz_err *err);
/* "scheme://host[:port]" of an absolute URL, the port only when not the
 * default; malloc'd. */
fz_code fz_as_origin_of(const char *url, char **out, fz_err *err);

/* --- authorization codes (RFC 6749 §4.1, RFC 7636) ---------------------- */

typedef struct fz_as_code {
	const char *code_hash;      /* digest of the code */
	const char *client_id;
	int64_t user_id;
	const char *redirect_uri;   /* as sent to /authorize */
	const char *scope;
	const char *code_challenge; /* S256 */
	const char *dpop_jkt;       /* RFC 9449 §10 dpop_jkt, or NULL */
	int64_t created_at;
	int64_t expires_at;
	/* Read back only: */
	int64_t used_at;            /* 0 until redeemed */
	const char *issued_family;  /* refresh family issued with it, or NULL */
	const char *issued_jti;     /* access token issued with it, or NULL */
} fz_as_code;

fz_code fz_as_store_code_put(fz_as_store *st, const fz_as_code *c, fz_err *err);

/* Marks the code used and returns it, in one transaction. Refusals, all
 * 400 invalid_grant: FZ_ENOTFOUND unknown code; FZ_ECLAIM expired;
 * FZ_EREPLAY used before, and then the refresh family it issued is
 * revoked (RFC 6749 §4.1.2: a replayed code revokes what it issued) and
 * *out is filled, so the caller can log what was revoked. */
fz_code fz_as_store_code_redeem(fz_as_store *st, fz_arena *a,
				const char *code_hash, int64_t now,
				fz_as_code *out, fz_err *err);

/* Records what a redeemed code issued, for revoke-on-replay. */
fz_code fz_as_store_code_set_issued(fz_as_store *st, const char *code_hash,
				    const char *family_id, const char *jti,
				    fz_err *err);

/* --- refresh tokens: rotated on every use; families (SPEC §6) ----------- */

typedef struct fz_as_refresh {
	const char *token_hash; /* digest of the token */
	const char *family_id;  /* shared by a token and all its successors */
	const char *client_id;
	int64_t user_id;
	const char *scope;
	const char *audience;   /* aud of the access tokens it mints, or NULL */
	const char *dpop_jkt;   /* RFC 9449 §5 binding, or NULL */
	int64_t created_at;
	int64_t expires_at;
} fz_as_refresh;

/* Stores a refresh token, opening its family when new. Into a revoked
 * family: FZ_EDENIED (400 invalid_grant). */
fz_code fz_as_store_refresh_put(fz_as_store *st, const fz_as_refresh *r,
				fz_err *err);

typedef struct fz_as_refresh_rotation {
	const char *token_hash;     /* the presented token's digest */
	const char *client_id;      /* the authenticated client */
	const char *dpop_jkt;       /* the proof's key; NULL when no proof */
	const char *new_token_hash; /* the successor's digest */
	int64_t now;
	int64_t ttl;                /* the successor's lifetime */
} fz_as_refresh_rotation;

/* One transaction: checks the presented token, marks it used, stores its
 * successor in the same family, and returns the successor (same client,
 * user, scope, audience, binding) in *out. Refusals, 400 invalid_grant:
 * FZ_ENOTFOUND unknown; FZ_ECLAIM expired; FZ_EDENIED revoked, or issued
 * to another client, or bound to another DPoP key; FZ_EREPLAY used
 * before, and then the whole family is revoked. */
fz_code fz_as_store_refresh_rotate(fz_as_store *st, fz_arena *a,
				   const fz_as_refresh_rotation *rot,
				   fz_as_refresh *out, fz_err *err);

/* RFC 7009: revokes the family of the token. FZ_ENOTFOUND when unknown
 * (the endpoint still answers 200); FZ_EDENIED when it was issued to
 * another client than client_id (NULL: not checked). */
fz_code fz_as_store_refresh_revoke(fz_as_store *st, const char *token_hash,
				   const char *client_id, fz_err *err);
fz_code fz_as_store_family_revoke(fz_as_store *st, const char *family_id,
				  fz_err *err);

/* --- replay cache (jti of DPoP proofs and client assertions) ----------- */

/* The context fz_as_store_replay_check takes: namespace keeps DPoP jtis
 * apart from client-assertion jtis ("dpop", "client_assertion"); now lets
 * an entry past its expiry be reused. */
typedef struct fz_as_replay {
	fz_as_store *store;
	const char *ns;
	int64_t now;
} fz_as_replay;

/* An fz_replay_check_fn (dpop.h) over the database: ctx is an
 * fz_as_replay. FZ_EREPLAY when (ns, jti) is present and unexpired. */
fz_code fz_as_store_replay_check(void *ctx, const char *jti,
				 int64_t expires_at, fz_err *err);

/* One jti of a request: ns NULL marks an unused slot. */
typedef struct fz_as_jti {
	const char *ns;
	const char *jti;
	int64_t expires_at;
} fz_as_jti;

/* Records the n jtis of one request (a client assertion's and a DPoP
 * proof's) in one write transaction, all or none. FZ_EREPLAY when one
 * is present and unexpired: *which is its index (else n). */
fz_code fz_as_store_replay_check_all(fz_as_store *st, const fz_as_jti *jtis,
				     size_t n, int64_t now, size_t *which,
				     fz_err *err);

/* --- login throttling ---------------------------------------------------- */

typedef enum fz_as_throttle_kind {
	FZ_THROTTLE_ACCOUNT, /* key: the address tried */
	FZ_THROTTLE_ADDRESS, /* key: the client's IP address */
} fz_as_throttle_kind;

typedef struct fz_as_throttle_policy {
	uint64_t max_failures; /* within window; reaching it locks */
	int64_t window;        /* seconds */
	int64_t lockout;       /* seconds */
} fz_as_throttle_policy;

/* *until is the time the key is locked until, or 0 when it is not. */
fz_code fz_as_store_login_locked(fz_as_store *st, fz_as_throttle_kind kind,
				 const char *key, int64_t now, int64_t *until,
				 fz_err *err);
/* Counts a failure; *until (may be NULL) as for login_locked after it. */
fz_code fz_as_store_login_failed(fz_as_store *st, fz_as_throttle_kind kind,
				 const char *key, int64_t now,
				 const fz_as_throttle_policy *p, int64_t *until,
				 fz_err *err);
/* Forgets the failures of key (a successful login). */
fz_code fz_as_store_login_clear(fz_as_store *st, fz_as_throttle_kind kind,
				const char *key, fz_err *err);

/* --- browser sessions of the login form (as_store_session.c) -----------
 * A session is known by the digest of its cookie value, so the database
 * does not hold what a browser presents. Before login (user_id 0) it only
 * binds the CSRF token of the login form to the browser; login replaces
 * it with a new one (a fresh id: no session fixation). */

typedef struct fz_as_session {
	const char *id_hash;  /* digest of the cookie value */
	const char *csrf;     /* the token every form of this session carries */
	int64_t user_id;      /* 0: not signed in */
	int64_t auth_time;    /* when the user signed in; 0 before */
	int64_t created_at;
	int64_t expires_at;
} fz_as_session;

/* FZ_ECONFLICT when id_hash exists (a random id never does). */
fz_code fz_as_store_session_put(fz_as_store *st, const fz_as_session *s,
				fz_err *err);
/* FZ_ENOTFOUND when absent or expired at now. */
fz_code fz_as_store_session_get(fz_as_store *st, fz_arena *a,
				const char *id_hash, int64_t now,
				fz_as_session *out, fz_err *err);
/* Absent is not an error: the point is that it is gone. */
fz_code fz_as_store_session_delete(fz_as_store *st, const char *id_hash,
				   fz_err *err);

/* --- DPoP-Nonce values (RFC 9449 §8) --------------------------------------
 * Kept in the database so that every AS process behind one name accepts
 * the nonces any of them handed out. */

#define FZ_AS_NONCE_MAX 64

/* The nonce to hand out at now: the newest one issued less than ttl/2
 * ago (so it stays valid at least ttl/2 more), else candidate, recorded
 * with expiry now + ttl. *out is in the arena. */
fz_code fz_as_store_nonce_current(fz_as_store *st, fz_arena *a, int64_t now,
				  int64_t ttl, const char *candidate,
				  const char **out, fz_err *err);
/* *valid: nonce was handed out and has not expired at now. */
fz_code fz_as_store_nonce_valid(fz_as_store *st, const char *nonce,
				int64_t now, bool *valid, fz_err *err);

/* --- signing key registry: which key files exist, since when ----------- */

typedef struct fz_as_key_row {
	const char *kid;
	const char *alg;     /* "ES256", "RS256" */
	int64_t created_at;
	int64_t retired_at;  /* 0: the current signing key */
} fz_as_key_row;

/* Records a new current key and retires the previous one at now. */
fz_code fz_as_store_key_add(fz_as_store *st, const char *kid, const char *alg,
			    int64_t now, fz_err *err);
/* Newest first. */
fz_code fz_as_store_key_list(fz_as_store *st, fz_arena *a, fz_as_key_row **out,
			     size_t *count, fz_err *err);
fz_code fz_as_store_key_remove(fz_as_store *st, const char *kid, fz_err *err);

#endif
