/*
 * jws.c - compact JWS: our own strict parse decides what the token says,
 * and cjose only computes and checks signatures over the same bytes.
 *
 * Both read the header with jansson and we refuse duplicate members, so
 * the alg cjose acts on is the alg we checked; the signing input is the
 * received text itself, never a re-encoding.
 */
#include "jws.h"

#include <cjose/jws.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"
#include "jwk_int.h"

#define ES256_SIG_LEN 64 /* r||s, 32 bytes each (RFC 7518 §3.4) */

struct fz_jws {
	char *compact; /* the received text, NUL-terminated copy */
	size_t len;
	json_t *header, *payload;
	uint8_t *sig;
	size_t siglen;
	bool verified;
};

static fz_code nomem(fz_err *err)
{
	return fz_fail(err, FZ_ENOMEM, "jws: out of memory");
}

/* --- parsing -------------------------------------------------------------- */

static fz_code json_segment(const char *s, size_t n, const char *what,
			    json_t **out, fz_err *err)
{
	json_error_t jerr;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	json_t *j;
	fz_code rc;

	if (n == 0)
		return fz_fail(err, FZ_ESYNTAX, "JWS %s is empty", what);
	rc = fz_b64url_decode_alloc(s, n, &raw, &rawlen, err);
	if (rc != FZ_OK) {
		fz_err_prefix(err, "JWS %s", what);
		return rc;
	}
	/* Duplicates refused: two readers must never see two values. */
	j = json_loadb((const char *)raw, rawlen, JSON_REJECT_DUPLICATES, &jerr);
	free(raw);
	if (j == NULL)
		return fz_fail(err, FZ_ESYNTAX, "JWS %s is not JSON: %s", what, jerr.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return fz_fail(err, FZ_ESYNTAX, "JWS %s is not a JSON object", what);
	}
	*out = j;
	return FZ_OK;
}

static fz_code check_header(const json_t *h, fz_err *err)
{
	const json_t *kid = json_object_get(h, "kid");
	const json_t *typ = json_object_get(h, "typ");
	const json_t *alg = json_object_get(h, "alg");

	/* RFC 7515 §4.1.11: we understand no extension, so none may be
	 * critical. */
	if (json_object_get(h, "crit") != NULL)
		return fz_fail(err, FZ_ESTRUCT, "JWS crit header is not supported");
	if (alg != NULL && !json_is_string(alg))
		return fz_fail(err, FZ_ESTRUCT, "JWS alg is not a string");
	if (typ != NULL && !json_is_string(typ))
		return fz_fail(err, FZ_ESTRUCT, "JWS typ is not a string");
	if (kid != NULL && (!json_is_string(kid) || json_string_length(kid) == 0 ||
			    json_string_length(kid) > FZ_KID_MAX))
		return fz_fail(err, FZ_ESTRUCT, "JWS kid must be a string of 1..%d characters",
			       FZ_KID_MAX);
	return FZ_OK;
}

static fz_code split(const char *s, size_t len, size_t *dot1, size_t *dot2,
		     fz_err *err)
{
	size_t i, dots = 0;

	for (i = 0; i < len; i++) {
		if (s[i] != '.')
			continue;
		if (dots == 0)
			*dot1 = i;
		else if (dots == 1)
			*dot2 = i;
		dots++;
	}
	if (dots != 2)
		return fz_fail(err, FZ_ESYNTAX,
			       "compact JWS must have 3 segments, found %zu", dots + 1);
	return FZ_OK;
}

fz_code fz_jws_parse_unverified(const char *compact, size_t len,
				size_t max_bytes, fz_jws **out, fz_err *err)
{
	size_t d1 = 0, d2 = 0;
	fz_jws *jws;
	fz_code rc;

	if (len == 0)
		return fz_fail(err, FZ_ESYNTAX, "JWS is empty");
	if (len > max_bytes)
		return fz_fail(err, FZ_ELIMIT, "JWS of %zu bytes exceeds %zu", len, max_bytes);
	if ((rc = split(compact, len, &d1, &d2, err)) != FZ_OK)
		return rc;
	jws = calloc(1, sizeof(*jws));
	if (jws == NULL || (jws->compact = malloc(len + 1)) == NULL) {
		free(jws);
		return nomem(err);
	}
	memcpy(jws->compact, compact, len);
	jws->compact[len] = '\0';
	jws->len = len;
	if ((rc = json_segment(compact, d1, "header", &jws->header, err)) ||
	    (rc = check_header(jws->header, err)) ||
	    (rc = json_segment(compact + d1 + 1, d2 - d1 - 1, "payload", &jws->payload, err)))
		goto fail;
	/* An empty signature parses (alg none looks like that) and is
	 * refused by verification with the reason. */
	rc = fz_b64url_decode_alloc(compact + d2 + 1, len - d2 - 1, &jws->sig,
				    &jws->siglen, err);
	if (rc != FZ_OK) {
		fz_err_prefix(err, "JWS signature");
		goto fail;
	}
	*out = jws;
	return FZ_OK;
fail:
	fz_jws_free(jws);
	return rc;
}

/* --- verification --------------------------------------------------------- */

static fz_code check_sig_len(const fz_jws *jws, const fz_key *key, fz_err *err)
{
	size_t want = fz_key_alg(key) == FZ_ALG_ES256 ? ES256_SIG_LEN
						      : (fz_key_bits(key) + 7) / 8;

	if (jws->siglen != want)
		return fz_fail(err, FZ_ESIG, "%s signature must be %zu bytes, got %zu",
			       fz_alg_name(fz_key_alg(key)), want, jws->siglen);
	return FZ_OK;
}

static fz_code cjose_check(const fz_jws *jws, const fz_key *key, fz_err *err)
{
	cjose_jws_t *cj;
	cjose_err cerr;
	bool ok;

	cj = cjose_jws_import(jws->compact, jws->len, &cerr);
	if (cj == NULL)
		return fz_fail(err, FZ_ESYNTAX, "JWS refused by cjose: %s", cerr.message);
	ok = cjose_jws_verify(cj, fz_key_cjose(key), &cerr);
	cjose_jws_release(cj);
	if (!ok)
		return fz_fail(err, FZ_ESIG, "signature does not verify with key %s",
			       fz_key_kid(key));
	return FZ_OK;
}

fz_code fz_jws_verify_key(fz_jws *jws, const fz_key *key, unsigned algs,
			  fz_err *err)
{
	fz_alg alg;
	fz_code rc;

	jws->verified = false;
	if ((rc = fz_alg_allowed(fz_jws_alg_name(jws), algs, &alg, err)) != FZ_OK)
		return rc;
	/* The key decides the algorithm; a token that names another one is
	 * trying to make the key mean something else. */
	if (alg != fz_key_alg(key))
		return fz_fail(err, FZ_EALG, "alg %s does not fit key %s, a %s key",
			       fz_alg_name(alg), fz_key_kid(key),
			       fz_alg_name(fz_key_alg(key)));
	if ((rc = check_sig_len(jws, key, err)) != FZ_OK)
		return rc;
	if ((rc = cjose_check(jws, key, err)) != FZ_OK)
		return rc;
	jws->verified = true;
	return FZ_OK;
}

fz_code fz_jws_verify(const char *compact, size_t len, size_t max_bytes,
		      unsigned algs, const fz_keyset *keys, fz_jws **out,
		      fz_err *err)
{
	char shown[FZ_KID_MAX + 1];
	const fz_key *key;
	fz_jws *jws = NULL;
	const char *kid;
	fz_alg alg;
	fz_code rc;

	if ((rc = fz_jws_parse_unverified(compact, len, max_bytes, &jws, err)) != FZ_OK)
		return rc;
	/* alg first, so "none" and HS256 are named as such even when they
	 * come without a kid. */
	if ((rc = fz_alg_allowed(fz_jws_alg_name(jws), algs, &alg, err)) != FZ_OK)
		goto fail;
	if ((kid = fz_jws_kid(jws)) == NULL) {
		rc = fz_fail(err, FZ_EKEY, "JWS header has no kid");
		goto fail;
	}
	if ((key = fz_keyset_find(keys, kid)) == NULL) {
		rc = fz_fail(err, FZ_EKEY, FZ_JWS_UNKNOWN_KID_MSG " %s",
			     fz_jose_printable(kid, shown, sizeof(shown)));
		goto fail;
	}
	if ((rc = fz_jws_verify_key(jws, key, algs, err)) != FZ_OK)
		goto fail;
	*out = jws;
	return FZ_OK;
fail:
	fz_jws_free(jws);
	return rc;
}

bool fz_jws_err_is_unknown_kid(const fz_err *err)
{
	return err != NULL && err->code == FZ_EKEY &&
	       strncmp(err->msg, FZ_JWS_UNKNOWN_KID_MSG " ",
		       sizeof(FZ_JWS_UNKNOWN_KID_MSG)) == 0;
}

/* --- signing -------------------------------------------------------------- */

static fz_code build_header(const fz_key *key, const char *typ,
			    const json_t *extra, json_t **out, fz_err *err)
{
	static const char *const reserved[] = {"alg", "kid", "typ", "crit"};
	json_t *h;
	size_t i;

	if (extra != NULL && !json_is_object(extra))
		return fz_fail(err, FZ_EINTERNAL, "jws: extra header is not an object");
	for (i = 0; extra != NULL && i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (json_object_get(extra, reserved[i]) != NULL)
			return fz_fail(err, FZ_EINTERNAL, "jws: extra header sets %s",
				       reserved[i]);
	h = json_object();
	if (h == NULL ||
	    json_object_set_new(h, "alg", json_string(fz_alg_name(fz_key_alg(key)))) ||
	    (typ != NULL && json_object_set_new(h, "typ", json_string(typ))) ||
	    ((extra == NULL || json_object_get(extra, "jwk") == NULL) &&
	     json_object_set_new(h, "kid", json_string(fz_key_kid(key)))) ||
	    (extra != NULL && json_object_update(h, (json_t *)extra))) {
		json_decref(h);
		return nomem(err);
	}
	*out = h;
	return FZ_OK;
}

fz_code fz_jws_sign(const fz_key *key, const char *typ, const json_t *extra,
		    const json_t *payload, char **out, fz_err *err)
{
	cjose_jws_t *cj = NULL;
	const char *ser = NULL;
	json_t *header = NULL;
	char *body = NULL;
	cjose_err cerr;
	fz_code rc;

	if (!fz_key_is_private(key))
		return fz_fail(err, FZ_EKEY, "key %s is public: cannot sign", fz_key_kid(key));
	if (!json_is_object(payload))
		return fz_fail(err, FZ_EINTERNAL, "jws: payload is not an object");
	if ((rc = build_header(key, typ, extra, &header, err)) != FZ_OK)
		return rc;
	body = json_dumps(payload, JSON_COMPACT);
	if (body == NULL) {
		rc = nomem(err);
		goto out;
	}
	cj = cjose_jws_sign(fz_key_cjose(key), header, (const uint8_t *)body,
			    strlen(body), &cerr);
	if (cj == NULL || !cjose_jws_export(cj, &ser, &cerr)) {
		rc = fz_fail(err, FZ_EINTERNAL, "jws: signing failed: %s", cerr.message);
		goto out;
	}
	if ((*out = strdup(ser)) == NULL)
		rc = nomem(err);
out:
	if (cj != NULL)
		cjose_jws_release(cj);
	free(body);
	json_decref(header);
	return rc;
}

/* --- accessors ------------------------------------------------------------ */

const json_t *fz_jws_header(const fz_jws *jws)
{
	return jws->header;
}

const json_t *fz_jws_payload(const fz_jws *jws)
{
	return jws->payload;
}

const char *fz_jws_kid(const fz_jws *jws)
{
	return json_string_value(json_object_get(jws->header, "kid"));
}

const char *fz_jws_typ(const fz_jws *jws)
{
	return json_string_value(json_object_get(jws->header, "typ"));
}

const char *fz_jws_alg_name(const fz_jws *jws)
{
	return json_string_value(json_object_get(jws->header, "alg"));
}

bool fz_jws_is_verified(const fz_jws *jws)
{
	return jws->verified;
}

void fz_jws_free(fz_jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->header);
	json_decref(jws->payload);
	free(jws->sig);
	free(jws->compact);
	free(jws);
}
