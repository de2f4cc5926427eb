/*
 * err.h - the one error type of Federizer.
 *
 * Every fallible function returns an fz_code and, when it fails, fills the
 * caller's fz_err with a message for the log, the HTTP status to answer, and
 * the RFC 6749 error code for the JSON body. Like curl's CURLcode plus error
 * buffer: one enum to branch on, one place that explains.
 */
#ifndef FZ_CORE_ERR_H
#define FZ_CORE_ERR_H

#include <stddef.h>

typedef enum fz_code {
	FZ_OK = 0,
	FZ_ENOMEM,    /* allocation failed */
	FZ_EINTERNAL, /* a bug or an unexpected library failure */
	FZ_EIO,       /* file, socket or database trouble */
	FZ_ESYNTAX,   /* input is not well formed (base64url, JSON, YAML, URL) */
	FZ_ELIMIT,    /* input exceeds a configured limit */
	FZ_ESTRUCT,   /* well formed, but not the shape the protocol requires */
	FZ_EALG,      /* algorithm not on the allow-list */
	FZ_EKEY,      /* key unknown, unusable, or of the wrong kind */
	FZ_ESIG,      /* signature does not verify */
	FZ_ECLAIM,    /* a JWT claim is missing or fails its check */
	FZ_EREPLAY,   /* a one-time value was seen before */
	FZ_ENOTFOUND, /* the named thing does not exist */
	FZ_EDENIED,   /* authenticated, but not allowed */
	FZ_ECONFLICT, /* the request contradicts stored state */
} fz_code;

#define FZ_ERR_MSG_MAX 256

typedef struct fz_err {
	fz_code code;
	int status;        /* HTTP status to answer with, e.g. 400 */
	const char *oauth; /* RFC 6749 style error code, e.g. "invalid_request" */
	char msg[FZ_ERR_MSG_MAX];
} fz_err;

/* Records a failure and returns code, so callers can write
 * `return fz_fail(err, FZ_ESYNTAX, "bad base64url at %zu", i);`.
 * err may be NULL. The status and OAuth code default from the fz_code. */
fz_code fz_fail(fz_err *err, fz_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As fz_fail, with an explicit HTTP status and OAuth error code. */
fz_code fz_fail_http(fz_err *err, fz_code code, int status, const char *oauth,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Prefixes err->msg with context, keeping code and status. Returns err->code. */
fz_code fz_err_prefix(fz_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void fz_err_clear(fz_err *err);
const char *fz_code_name(fz_code code);

#endif
