/*
 * err.c - filling fz_err. The defaults map each kind of failure to the HTTP
 * status and OAuth error a client most likely expects, so most call sites
 * need only say what went wrong.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int status;
	const char *oauth;
} defaults[] = {
	[FZ_OK] = {"ok", 200, NULL},
	[FZ_ENOMEM] = {"out_of_memory", 503, "temporarily_unavailable"},
	[FZ_EINTERNAL] = {"internal", 500, "server_error"},
	[FZ_EIO] = {"io", 500, "server_error"},
	[FZ_ESYNTAX] = {"syntax", 400, "invalid_request"},
	[FZ_ELIMIT] = {"limit", 413, "invalid_request"},
	[FZ_ESTRUCT] = {"structure", 400, "invalid_request"},
	[FZ_EALG] = {"algorithm", 400, "invalid_request"},
	[FZ_EKEY] = {"key", 401, "invalid_token"},
	[FZ_ESIG] = {"signature", 401, "invalid_token"},
	[FZ_ECLAIM] = {"claim", 401, "invalid_token"},
	[FZ_EREPLAY] = {"replay", 401, "invalid_token"},
	[FZ_ENOTFOUND] = {"not_found", 404, "not_found"},
	[FZ_EDENIED] = {"denied", 403, "access_denied"},
	[FZ_ECONFLICT] = {"conflict", 409, "invalid_request"},
};

const char *fz_code_name(fz_code code)
{
	if ((size_t)code >= sizeof(defaults) / sizeof(defaults[0]))
		return "unknown";
	return defaults[code].name;
}

static void fill(fz_err *err, fz_code code, int status, const char *oauth,
		 const char *fmt, va_list ap)
{
	err->code = code;
	err->status = status;
	err->oauth = oauth;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

fz_code fz_fail(fz_err *err, fz_code code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	if ((size_t)code >= sizeof(defaults) / sizeof(defaults[0]))
		code = FZ_EINTERNAL;
	va_start(ap, fmt);
	fill(err, code, defaults[code].status, defaults[code].oauth, fmt, ap);
	va_end(ap);
	return code;
}

fz_code fz_fail_http(fz_err *err, fz_code code, int status, const char *oauth,
		     const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return code;
	va_start(ap, fmt);
	fill(err, code, status, oauth, fmt, ap);
	va_end(ap);
	return code;
}

fz_code fz_err_prefix(fz_err *err, const char *fmt, ...)
{
	char head[FZ_ERR_MSG_MAX];
	size_t hl, ol, room;
	va_list ap;

	if (err == NULL)
		return FZ_EINTERNAL;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head) - 2, fmt, ap);
	va_end(ap);
	/* Truncation keeps the head, which says where; the tail is detail. */
	hl = strlen(head);
	memcpy(head + hl, ": ", 3);
	hl += 2;
	ol = strnlen(err->msg, sizeof(err->msg) - 1);
	room = sizeof(err->msg) - 1 - hl;
	if (ol > room)
		ol = room;
	memmove(err->msg + hl, err->msg, ol);
	memcpy(err->msg, head, hl);
	err->msg[hl + ol] = '\0';
	return err->code;
}

void fz_err_clear(fz_err *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
}
