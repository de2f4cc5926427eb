/*
 * delivery.c - envelope edits of sending and delivering (delivery.h):
 * sealing a draft, the exchange's headers, the assertion and receipt
 * entries, and per-copy Bcc. Every edit works on a checked document and
 * leaves one that still passes fz_placeholder_check.
 */
#include "delivery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "placeholder.h"
#include "placeholder_int.h"

static const char *const day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

fz_code fz_delivery_date(int64_t t, char out[FZ_DATE_SIZE], fz_err *err)
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* By hand rather than strftime: %a and %b follow the locale, and
	 * RFC 5322 names are English whatever the locale says. */
	if (gmtime_r(&tt, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_year + 1900 > 9999)
		return fz_fail(err, FZ_ESYNTAX, "time %lld has no RFC 5322 date", (long long)t);
	snprintf(out, FZ_DATE_SIZE, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		 day_names[tm.tm_wday], tm.tm_mday, month_names[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return FZ_OK;
}

/* --- recipients ------------------------------------------------------------ */

void fz_rcpts_free(fz_rcpts *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++)
		free(r->v[i].address);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* Parses header name of block (absent is nothing) into list. */
static fz_code parse_header(const json_t *block, const char *name, size_t max,
			    fz_addr_list *list, fz_err *err)
{
	const char *v;
	size_t n;
	fz_code rc = fz_headers_get(block, name, &v, &n, NULL);

	if (rc == FZ_ENOTFOUND)
		return FZ_OK;
	if (rc != FZ_OK)
		return fz_fail(err, FZ_ESTRUCT, "%s must be a single value", name);
	rc = fz_addr_list_parse(v, n, max, list, err);
	if (rc != FZ_OK && err != NULL)
		fz_err_prefix(err, "%s", name);
	return rc;
}

static bool has_rcpt(const fz_rcpts *r, const char *address)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->v[i].address, address) == 0)
			return true;
	return false;
}

static fz_code add_rcpts(fz_rcpts *r, const fz_addr_list *l, bool bcc,
			 fz_err *err)
{
	size_t i;
	fz_rcpt *x;

	for (i = 0; i < l->n; i++) {
		if (has_rcpt(r, l->v[i].spec))
			continue;
		x = &r->v[r->n];
		x->address = strdup(l->v[i].spec);
		if (x->address == NULL)
			return fz_fail(err, FZ_ENOMEM, "out of memory");
		x->domain = x->address + l->v[i].at + 1;
		x->bcc_only = bcc;
		r->n++;
	}
	return FZ_OK;
}

fz_code fz_delivery_recipients(const json_t *block, size_t max, fz_rcpts *out,
			       fz_err *err)
{
	fz_addr_list open = {0}, bcc = {0};
	fz_code rc;

	memset(out, 0, sizeof(*out));
	/* One list for To and Cc: fz_addr_list_parse appends and counts
	 * against max; Bcc gets what is left of it. */
	if ((rc = parse_header(block, "To", max, &open, err)) == FZ_OK &&
	    (rc = parse_header(block, "Cc", max, &open, err)) == FZ_OK)
		rc = parse_header(block, "Bcc", max - open.n, &bcc, err);
	if (rc == FZ_OK && open.n + bcc.n == 0)
		rc = fz_fail(err, FZ_ESTRUCT, "the message has no recipients (To, Cc, Bcc)");
	if (rc == FZ_OK && (out->v = calloc(open.n + bcc.n, sizeof(*out->v))) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	if (rc == FZ_OK)
		rc = add_rcpts(out, &open, false, err);
	if (rc == FZ_OK)
		rc = add_rcpts(out, &bcc, true, err);
	fz_addr_list_free(&open);
	fz_addr_list_free(&bcc);
	if (rc != FZ_OK)
		fz_rcpts_free(out);
	return rc;
}

/* --- sealing ------------------------------------------------------------- */

/* The origin block, writable: the documents here are the caller's. */
static json_t *origin_of(json_t *doc)
{
	return (json_t *)fz_placeholder_origin(doc);
}

static fz_code insert(json_t *block, size_t at, const char *name,
		      const char *value, fz_err *err)
{
	json_t *h = json_pack("{s:s}", name, value);

	if (h == NULL || json_array_insert_new(block, at, h) != 0)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

fz_code fz_delivery_seal(json_t *doc, const char *date, fz_err *err)
{
	static const char *const added[] = {"Date", "Recipients-Digest", "Body-Digest"};
	json_t *origin = origin_of(doc);
	char rd[FZ_DIGEST_HDR_SIZE], bd[FZ_DIGEST_HDR_SIZE];
	size_t i;
	fz_code rc;

	if (origin == NULL)
		return fz_fail(err, FZ_ESTRUCT, "the document has no origin header block");
	for (i = 0; i < sizeof(added) / sizeof(added[0]); i++)
		if (fz_headers_find(origin, added[i]) != NULL)
			return fz_fail_http(err, FZ_ECONFLICT, 409, "conflict",
					    "the message has a %s already: it was sent", added[i]);
	if ((rc = fz_envelope_recipients_digest(origin, FZ_HOP_ORIGIN, rd, err)) ||
	    (rc = fz_envelope_body_digest(fz_placeholder_body(doc), bd, err)))
		return rc;
	/* Inserted at the top in reverse, so they read Date, Recipients-
	 * Digest, Body-Digest: the order of the seed's Fig. 2. */
	if ((rc = insert(origin, 0, "Body-Digest", bd, err)) ||
	    (rc = insert(origin, 0, "Recipients-Digest", rd, err)) ||
	    (rc = insert(origin, 0, "Date", date, err)))
		return rc;
	return FZ_OK;
}

fz_code fz_delivery_exchange_headers(const json_t *origin, char **out,
				     fz_err *err)
{
	static const char *const names[] = {"Message-ID", "From", "Recipients-Digest",
					    "Body-Digest"};
	json_t *arr = json_array(), *h;
	const char *v;
	size_t i, n;
	fz_code rc = arr ? FZ_OK : fz_fail(err, FZ_ENOMEM, "out of memory");

	*out = NULL;
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && rc == FZ_OK; i++) {
		rc = fz_headers_get(origin, names[i], &v, &n, err);
		if (rc != FZ_OK) {
			rc = fz_fail(err, FZ_ESTRUCT, "the origin block needs one %s", names[i]);
			break;
		}
		h = json_object();
		if (h == NULL || json_object_set_new(h, names[i], json_stringn(v, n)) != 0 ||
		    json_array_append_new(arr, h) != 0)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	if (rc == FZ_OK && (*out = json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII)) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	json_decref(arr);
	return rc;
}

static fz_code prepend(json_t *doc, json_t *entry, fz_err *err)
{
	json_t *env = (json_t *)fz_placeholder_envelope(doc);

	if (entry == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if (!json_is_array(env)) {
		json_decref(entry);
		return fz_fail(err, FZ_ESTRUCT, "the document has no envelope");
	}
	if (json_array_insert_new(env, 0, entry) != 0)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	return FZ_OK;
}

fz_code fz_delivery_add_assertion(json_t *doc, const char *jws, fz_err *err)
{
	return prepend(doc, json_pack("{s:s}", "jwt-assertion", jws), err);
}

fz_code fz_delivery_add_receipt(json_t *doc, const char *from_domain,
				const char *by_domain, const char *date,
				fz_err *err)
{
	const json_t *origin = fz_placeholder_origin(doc);
	const char *mid, *jws = NULL;
	const json_t *block;
	fz_entry_kind kind;
	char jd[FZ_DIGEST_HDR_SIZE], received[2 * FZ_DOMAIN_MAX + FZ_DATE_SIZE + 16];
	size_t n, jn = 0;
	fz_code rc;

	if (origin == NULL || fz_headers_get(origin, "Message-ID", &mid, &n, NULL) != FZ_OK)
		return fz_fail(err, FZ_ESTRUCT, "the origin block has no Message-ID");
	rc = fz_placeholder_entry(doc, 0, &kind, &block, &jws, &jn, err);
	if (rc == FZ_OK && kind != FZ_ENTRY_ASSERTION)
		rc = fz_fail(err, FZ_ESTRUCT, "the newest entry is not a jwt-assertion");
	if (rc == FZ_OK)
		rc = fz_envelope_jws_digest(jws, jn, jd, err);
	if (rc != FZ_OK)
		return rc;
	if ((size_t)snprintf(received, sizeof(received), "from %s by %s; %s", from_domain,
			     by_domain, date) >= sizeof(received))
		return fz_fail(err, FZ_ELIMIT, "Received header too long");
	return prepend(doc, json_pack("{s:[{s:s%},{s:s},{s:s}]}", "headers", "Message-ID",
				      mid, n, "JWT-Assertion-Digest", jd, "Received", received),
		       err);
}

/* --- Bcc per copy ---------------------------------------------------------- */

/* Index of header name in block, or -1. */
static long header_index(const json_t *block, const char *name)
{
	const json_t *value;
	const char *key;
	size_t i, klen;

	for (i = 0; i < json_array_size(block); i++)
		if (fz_headers_at(block, i, &key, &klen, &value, NULL) == FZ_OK &&
		    fz_ascii_ieq(key, klen, name))
			return (long)i;
	return -1;
}

/* ", "-joined addresses of l the copy may show, or NULL when none.
 * *out is malloc'd. */
static fz_code kept_bcc(const fz_addr_list *l, const char *domain,
			const char *address, char **out, fz_err *err)
{
	size_t i, len = 0, at = 0;
	char *buf;

	*out = NULL;
	for (i = 0; i < l->n; i++)
		len += strlen(l->v[i].spec) + 2;
	if (len == 0)
		return FZ_OK;
	if ((buf = malloc(len + 1)) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	for (i = 0; i < l->n; i++) {
		const fz_addr *a = &l->v[i];
		bool keep = address ? strcmp(a->spec, address) == 0
				    : strcmp(a->spec + a->at + 1, domain) == 0;

		if (!keep)
			continue;
		at += (size_t)snprintf(buf + at, len + 1 - at, "%s%s", at ? ", " : "", a->spec);
	}
	if (at == 0) {
		free(buf);
		return FZ_OK;
	}
	*out = buf;
	return FZ_OK;
}

fz_code fz_delivery_copy(const json_t *doc, const char *domain,
			 const char *address, json_t **out, fz_err *err)
{
	json_t *copy = json_deep_copy(doc), *origin;
	fz_addr_list bcc = {0};
	char *kept = NULL;
	const char *v;
	size_t n;
	long i;
	fz_code rc = FZ_OK;

	*out = NULL;
	if (copy == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	origin = origin_of(copy);
	i = origin ? header_index(origin, "Bcc") : -1;
	if (i >= 0 && fz_headers_get(origin, "Bcc", &v, &n, NULL) != FZ_OK)
		rc = fz_fail(err, FZ_ESTRUCT, "Bcc must be a single value");
	if (i >= 0 && rc == FZ_OK)
		rc = fz_addr_list_parse(v, n, SIZE_MAX, &bcc, err);
	if (i >= 0 && rc == FZ_OK)
		rc = kept_bcc(&bcc, domain, address, &kept, err);
	if (i >= 0 && rc == FZ_OK) {
		if (kept == NULL)
			json_array_remove(origin, (size_t)i);
		else if (json_array_set_new(origin, (size_t)i, json_pack("{s:s}", "Bcc", kept)) != 0)
			rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	free(kept);
	fz_addr_list_free(&bcc);
	if (rc != FZ_OK) {
		json_decref(copy);
		return rc;
	}
	*out = copy;
	return FZ_OK;
}
