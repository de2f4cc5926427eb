/*
 * as_issue.h - what the authorization_code and refresh_token grants
 * share once they have decided to issue: a new refresh token, the RFC
 * 9068 access token, and the RFC 6749 §5.1 response carrying both.
 */
#ifndef FZ_AS_ISSUE_H
#define FZ_AS_ISSUE_H

#include "as_grants.h"
#include "digest.h"

#define FZ_AS_REFRESH_BYTES 32 /* 256 bits */
#define FZ_AS_FAMILY_BYTES 16

/* What the tokens say. */
typedef struct fz_as_issue {
	const char *address;        /* the user: sub and email */
	const char *client_id;
	const char *audience;       /* aud: the MBX base URL */
	const char *scope;
	const fz_digest_str *jkt;   /* DPoP key: cnf.jkt and token_type DPoP; NULL: Bearer */
	const char *refresh_token;  /* given out beside the access token */
} fz_as_issue;

/* The access token of is, minted now. */
typedef struct fz_as_issued {
	const char *access_token;   /* in the arena */
	const char *jti;
	int64_t expires_in;
} fz_as_issued;

/* A fresh random secret (refresh token, family id) of nbytes, base64url,
 * and its digest (what the store keeps), both in the arena; hash may be
 * NULL when only the value is wanted. */
fz_code fz_as_secret_new(fz_arena *a, size_t nbytes, const char **value,
			 const char **hash, fz_err *err);

/* RFC 6749 §3.3 scope: space-separated, every member internet_mail (the
 * one scope there is); NULL is fine (the default). 400 invalid_scope. */
fz_code fz_as_scope_check(const char *scope, fz_err *err);

/* Mints the access token of is. */
fz_code fz_as_issue_mint(fz_as_token_req *tr, const fz_as_issue *is,
			 fz_as_issued *out, fz_err *err);

/* Answers 200 {access_token, token_type, expires_in, refresh_token,
 * scope}, no-store. */
fz_code fz_as_issue_respond(fz_as_token_req *tr, const fz_as_issue *is,
			    const fz_as_issued *at, fz_err *err);

#endif
