/* What both placeholder fuzz targets check once a document is accepted:
 * the tree survives JSON (compact and pretty) and YAML unchanged, is still
 * accepted, keeps its Body-Digest, and every accessor runs clean. Any
 * difference is a bug worth a crash. */
#ifndef FZ_FUZZ_PLACEHOLDER_COMMON_H
#define FZ_FUZZ_PLACEHOLDER_COMMON_H

#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "placeholder.h"

static void fz_fuzz_same(const json_t *doc, json_t *back, const char *digest)
{
	char d[FZ_DIGEST_HDR_SIZE];

	if (back == NULL || !json_equal(doc, back))
		abort();
	if (fz_placeholder_check(back, NULL, NULL) != FZ_OK)
		abort();
	if (fz_envelope_body_digest(fz_placeholder_body(back), d, NULL) != FZ_OK ||
	    strcmp(d, digest) != 0)
		abort();
	json_decref(back);
}

static void fz_fuzz_reread(const json_t *doc, fz_ph_format fmt, bool pretty,
			   const char *digest)
{
	json_t *back = NULL;
	size_t n = 0;
	char *s = NULL;
	fz_code rc;

	if (fmt == FZ_PH_JSON)
		rc = fz_placeholder_to_json(doc, pretty, &s, &n, NULL);
	else
		rc = fz_placeholder_to_yaml(doc, &s, &n, NULL);
	if (rc != FZ_OK)
		abort();
	/* Written forms may grow past the input limit; read them back
	 * with room to spare, the tree is what must match. */
	{
		fz_limits lim;
		fz_limits_default(&lim);
		lim.max_document_bytes = n + 1;
		if (fmt == FZ_PH_JSON)
			rc = fz_placeholder_from_json(s, n, &lim, &back, NULL);
		else
			rc = fz_placeholder_from_yaml(s, n, &lim, &back, NULL);
	}
	if (rc != FZ_OK)
		abort();
	fz_fuzz_same(doc, back, digest);
	free(s);
}

static void fz_fuzz_accessors(const json_t *doc)
{
	const json_t *origin = fz_placeholder_origin(doc), *block;
	char d[FZ_DIGEST_HDR_SIZE], *c = NULL;
	fz_entry_kind kind;
	const char *jws;
	size_t i, n, jlen;
	fz_leaf *leaves = NULL;

	if (origin == NULL || fz_placeholder_newest_headers(doc) == NULL)
		abort();
	(void)fz_placeholder_is_sent(doc);
	for (i = 0; i < fz_placeholder_entry_count(doc); i++) {
		if (fz_placeholder_entry(doc, i, &kind, &block, &jws, &jlen, NULL) != FZ_OK)
			abort();
		if (kind == FZ_ENTRY_ASSERTION &&
		    fz_envelope_jws_digest(jws, jlen, d, NULL) != FZ_OK)
			abort();
	}
	if (fz_envelope_recipients_digest(origin, FZ_HOP_ORIGIN, d, NULL) == FZ_OK &&
	    fz_envelope_recipients_canon(origin, FZ_HOP_ORIGIN, &c, &n, NULL) != FZ_OK)
		abort();
	free(c);
	if (fz_placeholder_leaves(doc, &leaves, &n, NULL) != FZ_OK)
		abort();
	fz_leaves_free(leaves, n);
}

/* doc was accepted: check it every way, then free it. */
static void fz_fuzz_accepted(json_t *doc)
{
	char digest[FZ_DIGEST_HDR_SIZE];

	if (fz_envelope_body_digest(fz_placeholder_body(doc), digest, NULL) != FZ_OK)
		abort();
	fz_fuzz_reread(doc, FZ_PH_JSON, false, digest);
	fz_fuzz_reread(doc, FZ_PH_JSON, true, digest);
	fz_fuzz_reread(doc, FZ_PH_YAML, false, digest);
	fz_fuzz_accessors(doc);
	json_decref(doc);
}

#endif
