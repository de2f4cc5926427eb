/*
 * mta_notice.c - the delivery-failure notice (SPEC §10): when a
 * transfer fails for good, the sender finds in their inbox a small
 * Placeholder message from the postmaster of their own domain, whose
 * one inline text part says which message, which domain and why. The
 * text is a resource like any other (blob store, owned by the sender),
 * so sync carries it as it carries every inline body. It is not signed:
 * it never leaves this mailbox.
 */
#include "mta_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "jose.h"
#include "placeholder.h"

#define NOTICE_MAX 4096
#define NOTICE_TYPE "text/plain; charset=UTF-8"
#define NOTICE_ID_BYTES 16

/* The text into the blob store, owned by owner; *digest names it. */
static fz_code store_text(const fz_mta_env *env, const char *owner, const char *text,
			  size_t len, int64_t now, fz_digest_str *digest, fz_err *err)
{
	fz_blob_put *put = NULL;
	uint64_t size = 0;
	bool added = false;
	fz_mbx_resource r = {.type = NOTICE_TYPE, .created_at = now};
	fz_code rc = fz_blob_put_begin(env->blobs, len, &put, err);

	if (rc == FZ_OK)
		rc = fz_blob_put_write(put, text, len, err);
	if (rc == FZ_OK)
		rc = fz_blob_put_finish(put, digest, &size, err);
	r.digest = digest->s;
	r.size = size;
	/* the row before the name (blob.h): collection cannot take it */
	if (rc == FZ_OK)
		rc = fz_mbx_resource_add(env->store, owner, &r, 0, now, &added, err);
	if (rc == FZ_OK)
		rc = fz_blob_put_commit(put, NULL, err);
	fz_blob_put_abort(put);
	return rc;
}

static json_t *header(const char *name, const char *value)
{
	return json_pack("{s:s}", name, value);
}

/* The notice's document as JSON text (malloc'd). */
static char *notice_document(const char *domain, const char *owner, const char *date,
			     const char *mid, const char *in_reply_to,
			     const fz_digest_str *d, size_t len)
{
	char from[FZ_DOMAIN_MAX + 64], ext[160], cid[FZ_DIGEST_LEN + 3];
	json_t *doc;
	char *s;

	snprintf(from, sizeof(from), "Mail Delivery System <postmaster@%s>", domain);
	snprintf(ext, sizeof(ext), "message/external-body; access-type=\"x-content-addressed-uri\"; "
		 "hash-algorithm=\"sha256\"; size=\"%zu\"", len);
	snprintf(cid, sizeof(cid), "<%s>", d->s);
	doc = json_pack("{s:[{s:[o,o,o,o,o,o,o]}],s:{s:[{s:[o,o,{s:[s,s]}]}]}}",
			"envelope", "headers", header("Date", date), header("From", from),
			header("To", owner), header("Subject", "Undelivered Mail Returned to Sender"),
			header("Message-ID", mid), header("In-Reply-To", in_reply_to),
			header("Content-Type", "multipart/mixed"),
			"body", "parts", "headers", header("Content-Disposition", "inline"),
			header("Content-ID", cid), "Content-Type", ext, NOTICE_TYPE);
	s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return s;
}

static fz_code notice(const fz_mta_env *env, fz_arena *a, const fz_queue_entry *e,
		      const char *why, int64_t now, const char **owner, fz_err *err)
{
	fz_mbx_msg orig, m = {.folder = FZ_FOLDER_INBOX, .sent = true};
	char text[NOTICE_MAX], date[FZ_DATE_SIZE], rnd[NOTICE_ID_BYTES * 2];
	const char *domain;
	fz_digest_str d;
	char *doc = NULL;
	int len;
	fz_code rc = fz_mbx_msg_by_id(env->store, a, e->message, &orig, err);

	if (rc != FZ_OK)
		return rc;
	domain = strrchr(orig.owner, '@') ? strrchr(orig.owner, '@') + 1 : orig.owner;
	len = snprintf(text, sizeof(text),
		       "This is the mail system at %s.\n\n"
		       "Your message %s could not be delivered to the recipients at %s, "
		       "and will not be tried again:\n\n    %s\n",
		       domain, orig.message_id, e->domain, why);
	if (len < 0 || (size_t)len >= sizeof(text))
		len = (int)strlen(text);
	if ((rc = fz_delivery_date(now, date, err)) ||
	    (rc = fz_random_b64url(NOTICE_ID_BYTES, rnd, sizeof(rnd), err)) ||
	    (rc = store_text(env, orig.owner, text, (size_t)len, now, &d, err)))
		return rc;
	m.owner = orig.owner;
	m.message_id = fz_arena_printf(a, "<%s@%s>", rnd, domain);
	m.thread_id = orig.thread_id;
	doc = notice_document(domain, orig.owner, date, m.message_id, orig.message_id, &d,
			      (size_t)len);
	m.document = doc;
	if (m.message_id == NULL || doc == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	if (rc == FZ_OK)
		rc = fz_mbx_msg_add(env->store, &m, &d, 1, now, err);
	free(doc);
	*owner = orig.owner;
	return rc;
}

void fz_mta_notice(const fz_mta_env *env, const fz_queue_entry *e,
		   const char *why, int64_t now)
{
	fz_arena *a = fz_arena_new(16 * 1024, 1024 * 1024);
	const char *owner = NULL;
	fz_err err = {0};

	if (a == NULL)
		return;
	if (notice(env, a, e, why, now, &owner, &err) != FZ_OK)
		fprintf(stderr, "federizer mta: the failure notice for %s: %s\n", e->message, err.msg);
	else
		env->changed(env->ctx, owner);
	fz_arena_free(a);
}
