/*
 * as_password.h - passwords and client secrets, hashed with Argon2id
 * (RFC 9106) into PHC strings ("$argon2id$v=19$m=...,t=...,p=...$salt$hash")
 * that carry their own parameters, so raising the cost later leaves old
 * hashes verifiable.
 */
#ifndef FZ_AS_PASSWORD_H
#define FZ_AS_PASSWORD_H

#include <stddef.h>

#include "err.h"

/* OWASP's Argon2id baseline: 19 MiB, two passes, one lane. A login costs
 * tens of milliseconds of one core and 19 MiB while it runs. */
#define FZ_AS_ARGON2_T_COST 2
#define FZ_AS_ARGON2_M_COST_KIB 19456
#define FZ_AS_ARGON2_PARALLELISM 1
#define FZ_AS_ARGON2_SALT_BYTES 16
#define FZ_AS_ARGON2_HASH_BYTES 32
/* Blocks from this size up are mmapped, and given back once freed: see
 * as_password.c. Below the 19 MiB, above any buffer of a request. */
#define FZ_AS_MMAP_THRESHOLD_BYTES (1024 * 1024)

#define FZ_AS_PASSWORD_MIN 8      /* bytes, for passwords set by admin */
#define FZ_AS_PASSWORD_MAX 1024   /* bounds the work one login can ask for */
#define FZ_AS_SECRET_MIN 16       /* bytes of a client secret */
#define FZ_AS_PASSWORD_HASH_MAX 160

/* Hashes pw[0..n) with a fresh salt into out. Lengths are checked by the
 * caller (admin: FZ_AS_PASSWORD_MIN; login: nothing below the max). */
fz_code fz_as_password_hash(const char *pw, size_t n,
			    char out[FZ_AS_PASSWORD_HASH_MAX], fz_err *err);

/* FZ_OK when pw matches encoded; FZ_EDENIED otherwise. encoded NULL (no
 * such user) still spends one hash's time before refusing, so the answer
 * time does not tell which accounts exist. */
fz_code fz_as_password_verify(const char *encoded, const char *pw, size_t n,
			      fz_err *err);

#endif
