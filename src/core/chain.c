/*
 * chain.c - walking the envelope's chain of signed hops and deciding a
 * fetch over it (chain.h). The receiving MBX walks it to accept a
 * forwarded message (SPEC §7.5, §9); the origin MBX walks it before it
 * lets a fetcher have a byte (§8.3). Verification of each signature is
 * the caller's callback, so everything here is pure.
 */
#include "chain.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "jwt.h"

/* What an assertion must sign, beyond whatever else its ehl names: the
 * names the AS signs (SPEC §7.2, §9). An assertion whose eht covers less
 * would leave the sender, the recipients or the body unbound. */
static const char *const origin_names[] = {
	"Message-ID", "From", "Recipients-Digest", "Body-Digest", NULL,
};
static const char *const forward_names[] = {
	"Message-ID", "Forwarded-From", "Recipients-Digest", "JWT-Assertion-Digest", NULL,
};

static const fz_limits *limits(const fz_limits *lim)
{
	return lim != NULL ? lim : fz_limits_defaults();
}

/* A broken link of hop h: 403, the message naming the hop. */
static fz_code denied(fz_err *err, size_t h, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static fz_code denied(fz_err *err, size_t h, const char *fmt, ...)
{
	char what[FZ_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return fz_fail_http(err, FZ_EDENIED, 403, "access_denied", "hop %zu: %s", h, what);
}

/* --- shape ------------------------------------------------------------------ */

static const json_t *entry_block(const json_t *e)
{
	const json_t *v = json_object_size(e) == 1 ? json_object_get(e, "headers") : NULL;

	return json_is_array(v) ? v : NULL;
}

static const json_t *entry_jws(const json_t *e)
{
	const json_t *v = json_object_size(e) == 1 ? json_object_get(e, "jwt-assertion") : NULL;

	return json_is_string(v) ? v : NULL;
}

fz_code fz_chain_parse(const json_t *envelope, const fz_limits *lim,
		       fz_chain *out, fz_err *err)
{
	size_t n = json_array_size(envelope), first = 0, i, h;
	const json_t *jws;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(envelope) || n == 0)
		return fz_fail(err, FZ_ESTRUCT, "the envelope is not a non-empty list");
	while (first < n && entry_block(json_array_get(envelope, first)) != NULL)
		first++;
	if (first == n)
		return fz_fail(err, FZ_ESTRUCT, "the envelope carries no jwt-assertion");
	if ((n - first) % 2 != 0)
		return fz_fail(err, FZ_ESTRUCT, "below the newest assertion the envelope must "
			       "alternate jwt-assertion and header block");
	out->n = (n - first) / 2;
	if (out->n > limits(lim)->max_chain_hops)
		return fz_fail_http(err, FZ_ELIMIT, 403, "access_denied",
				    "the chain has %zu hops, more than max_chain_hops (%zu)",
				    out->n, limits(lim)->max_chain_hops);
	out->hops = calloc(out->n, sizeof(*out->hops));
	if (out->hops == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	out->first = first;
	for (h = 0; h < out->n; h++) {
		/* hop h, origin first: its block at the bottom end */
		i = n - 1 - 2 * h;
		out->hops[h].block = entry_block(json_array_get(envelope, i));
		jws = entry_jws(json_array_get(envelope, i - 1));
		if (out->hops[h].block == NULL || jws == NULL) {
			fz_chain_free(out);
			return fz_fail(err, FZ_ESTRUCT, "below the newest assertion the envelope "
				       "must alternate jwt-assertion and header block");
		}
		out->hops[h].jws = json_string_value(jws);
		out->hops[h].jws_len = json_string_length(jws);
	}
	return FZ_OK;
}

void fz_chain_free(fz_chain *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n && c->hops != NULL; i++) {
		json_decref(c->hops[i].claims);
		fz_addr_list_free(&c->hops[i].to);
	}
	free(c->hops);
	memset(c, 0, sizeof(*c));
}

/* --- addresses ---------------------------------------------------------------- */

static fz_code parse_header(const json_t *block, const char *name, size_t max,
			    fz_addr_list *out, fz_err *err)
{
	const char *v;
	size_t n;
	fz_code rc = fz_headers_get(block, name, &v, &n, err);

	if (rc != FZ_OK)
		return rc;
	return fz_addr_list_parse(v, n, max, out, err);
}

fz_code fz_chain_signer(const json_t *block, bool forward, fz_addr_list *out,
			fz_err *err)
{
	const char *name = forward ? "Forwarded-From" : "From";
	fz_code rc;

	memset(out, 0, sizeof(*out));
	rc = parse_header(block, name, 1, out, err);
	if (rc == FZ_OK && out->n != 1)
		rc = fz_fail(err, FZ_ESTRUCT, "%s must hold exactly one address", name);
	if (rc != FZ_OK)
		fz_addr_list_free(out);
	return rc;
}

fz_code fz_chain_origin_rcpts(const json_t *block, size_t max,
			      fz_addr_list *out, fz_err *err)
{
	static const char *const names[] = {"To", "Cc", "Bcc"};
	size_t i;
	fz_code rc = FZ_OK;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < 3 && rc == FZ_OK; i++)
		if (fz_headers_find(block, names[i]) != NULL)
			rc = parse_header(block, names[i], max, out, err);
	if (rc != FZ_OK)
		fz_addr_list_free(out);
	return rc;
}

static bool addr_in(const fz_addr_list *l, const char *spec)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].spec, spec) == 0)
			return true;
	return false;
}

static bool domain_in(const fz_addr_list *l, const char *domain)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].spec + l->v[i].at + 1, domain) == 0)
			return true;
	return false;
}

/* --- one hop ------------------------------------------------------------------ */

static bool ehl_has(const json_t *ehl, const char *name)
{
	size_t i;
	const json_t *v;

	json_array_foreach(ehl, i, v)
		if (json_is_string(v) && strcasecmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

/* The verified claims sign this block: eht over ehl, ehl covering the
 * names the protocol needs, sub the signer. */
static fz_code check_binding(const fz_chain_hop *hp, size_t h,
			     const char *signer, fz_err *err)
{
	const json_t *eh = json_object_get(hp->claims, "eh");
	const json_t *ehl = json_object_get(eh, "ehl");
	const char *eht = json_string_value(json_object_get(eh, "eht"));
	const char *sub = fz_jwt_str(hp->claims, "sub");
	const char *const *need = h == 0 ? origin_names : forward_names;
	fz_digest_str d;
	fz_err why = {0};

	if (!json_is_array(ehl) || eht == NULL)
		return denied(err, h, "the assertion has no eh");
	for (; *need != NULL; need++)
		if (!ehl_has(ehl, *need))
			return denied(err, h, "the assertion's ehl does not sign %s", *need);
	if (fz_envelope_eht(hp->block, ehl, &d, &why) != FZ_OK)
		return denied(err, h, "eht: %s", why.msg);
	if (strcmp(d.s, eht) != 0)
		return denied(err, h, "eht does not match the header block below the assertion");
	if (sub == NULL || strcmp(sub, signer) != 0)
		return denied(err, h, "the assertion's sub is not %s", signer);
	return FZ_OK;
}

static fz_code verify_hop(fz_chain_hop *hp, size_t h, const char *signer,
			  fz_chain_verify_fn verify, void *ctx, fz_err *err)
{
	fz_code rc = verify(ctx, hp->jws, hp->jws_len, hp->signer, &hp->claims, err);

	if (rc != FZ_OK)
		return fz_err_prefix(err, "hop %zu", h);
	return check_binding(hp, h, signer, err);
}

/* The origin: From's domain signs; the Message-ID is of that domain;
 * the body, when given, is the one Body-Digest names. */
static fz_code walk_origin(fz_chain *c, const json_t *body,
			   fz_chain_verify_fn verify, void *ctx, fz_err *err)
{
	fz_chain_hop *hp = &c->hops[0];
	char bd[FZ_DIGEST_HDR_SIZE];
	const char *v;
	size_t n;
	fz_addr_list from;
	fz_msgid mid;
	fz_err why = {0};
	fz_code rc;

	if (fz_headers_get(hp->block, "Message-ID", &v, &n, &why) != FZ_OK ||
	    fz_msgid_parse(v, n, &mid, &why) != FZ_OK)
		return denied(err, 0, "Message-ID: %s", why.msg);
	snprintf(c->msgid_domain, sizeof(c->msgid_domain), "%s", mid.domain);
	if (fz_chain_signer(hp->block, false, &from, &why) != FZ_OK)
		return denied(err, 0, "%s", why.msg);
	snprintf(hp->signer, sizeof(hp->signer), "%s", from.v[0].spec + from.v[0].at + 1);
	if (strcmp(hp->signer, c->msgid_domain) != 0)
		rc = denied(err, 0, "the Message-ID is not of the From domain %s", hp->signer);
	else
		rc = verify_hop(hp, 0, from.v[0].spec, verify, ctx, err);
	fz_addr_list_free(&from);
	if (rc != FZ_OK || body == NULL)
		return rc;
	if (fz_headers_get(hp->block, "Body-Digest", &v, &n, &why) != FZ_OK ||
	    fz_envelope_body_digest(body, bd, &why) != FZ_OK)
		return denied(err, 0, "Body-Digest: %s", why.msg);
	if (n != strlen(bd) || memcmp(v, bd, n) != 0)
		return denied(err, 0, "Body-Digest does not match the body");
	return FZ_OK;
}

/* A forward hop's links: to the assertion below (its digest), to the
 * message (the origin's Message-ID), to the hop below (Forwarded-From
 * is one of its recipients), and its own Recipients-Digest. */
static fz_code forward_links(fz_chain *c, size_t h, const json_t *origin_mid,
			     const fz_addr_list *below, const char *from,
			     fz_err *err)
{
	fz_chain_hop *hp = &c->hops[h], *prev = &c->hops[h - 1];
	char want[FZ_DIGEST_HDR_SIZE], rd[FZ_DIGEST_HDR_SIZE];
	const json_t *mid = fz_headers_find(hp->block, "Message-ID");
	const char *v;
	size_t n;
	fz_err why = {0};

	if (fz_envelope_jws_digest(prev->jws, prev->jws_len, want, &why) != FZ_OK)
		return denied(err, h, "the assertion below: %s", why.msg);
	if (fz_headers_get(hp->block, "JWT-Assertion-Digest", &v, &n, &why) != FZ_OK)
		return denied(err, h, "JWT-Assertion-Digest: %s", why.msg);
	if (n != strlen(want) || memcmp(v, want, n) != 0)
		return denied(err, h, "JWT-Assertion-Digest is not the digest of the assertion below");
	if (mid == NULL || !json_equal((json_t *)mid, (json_t *)origin_mid))
		return denied(err, h, "the Message-ID is not the origin's");
	if (!addr_in(below, from))
		return denied(err, h, "Forwarded-From %s is not a recipient of the hop below", from);
	if (fz_headers_get(hp->block, "Recipients-Digest", &v, &n, &why) != FZ_OK ||
	    fz_envelope_recipients_digest(hp->block, FZ_HOP_FORWARD, rd, &why) != FZ_OK)
		return denied(err, h, "Recipients-Digest: %s", why.msg);
	if (n != strlen(rd) || memcmp(v, rd, n) != 0)
		return denied(err, h, "Recipients-Digest does not match Forwarded-To");
	return FZ_OK;
}

static fz_code walk_forward(fz_chain *c, size_t h, const fz_addr_list *origin,
			    const fz_limits *lim, fz_chain_verify_fn verify,
			    void *ctx, fz_err *err)
{
	fz_chain_hop *hp = &c->hops[h];
	const fz_addr_list *below = h == 1 ? origin : &c->hops[h - 1].to;
	const json_t *omid = fz_headers_find(c->hops[0].block, "Message-ID");
	fz_addr_list from;
	fz_err why = {0};
	fz_code rc;

	if (fz_chain_signer(hp->block, true, &from, &why) != FZ_OK)
		return denied(err, h, "%s", why.msg);
	snprintf(hp->signer, sizeof(hp->signer), "%s", from.v[0].spec + from.v[0].at + 1);
	rc = parse_header(hp->block, "Forwarded-To", lim->max_recipients, &hp->to, &why);
	if (rc != FZ_OK)
		rc = denied(err, h, "Forwarded-To: %s", why.msg);
	if (rc == FZ_OK)
		rc = forward_links(c, h, omid, below, from.v[0].spec, err);
	/* Links first: they cost nothing, a signature may cost a lookup. */
	if (rc == FZ_OK)
		rc = verify_hop(hp, h, from.v[0].spec, verify, ctx, err);
	fz_addr_list_free(&from);
	return rc;
}

fz_code fz_chain_walk(const json_t *envelope, const json_t *rcpts,
		      const json_t *body, const fz_limits *lim,
		      fz_chain_verify_fn verify, void *ctx, fz_chain *out,
		      fz_err *err)
{
	fz_addr_list origin = {0};
	fz_err why = {0};
	size_t h;
	fz_code rc = fz_chain_parse(envelope, lim, out, err);

	if (rc != FZ_OK)
		return rc;
	lim = limits(lim);
	rc = walk_origin(out, body, verify, ctx, err);
	if (rc == FZ_OK && out->n > 1 &&
	    fz_chain_origin_rcpts(rcpts ? rcpts : out->hops[0].block, lim->max_recipients,
				  &origin, &why) != FZ_OK)
		rc = denied(err, 0, "origin recipients: %s", why.msg);
	for (h = 1; h < out->n && rc == FZ_OK; h++)
		rc = walk_forward(out, h, &origin, lim, verify, ctx, err);
	fz_addr_list_free(&origin);
	if (rc != FZ_OK)
		fz_chain_free(out);
	return rc;
}

/* --- the fetch ACL ------------------------------------------------------------ */

/* The same block but for Bcc: entries compared in order, by name
 * exactly and by value. */
static bool is_bcc(const json_t *block, size_t i)
{
	const char *name;
	const json_t *v;
	size_t n;

	return fz_headers_at(block, i, &name, &n, &v, NULL) == FZ_OK && n == 3 &&
	       strncasecmp(name, "Bcc", 3) == 0;
}

static bool same_but_bcc(const json_t *a, const json_t *b)
{
	size_t i = 0, j = 0, na = json_array_size(a), nb = json_array_size(b);

	for (;;) {
		while (i < na && is_bcc(a, i))
			i++;
		while (j < nb && is_bcc(b, j))
			j++;
		if (i == na || j == nb)
			return i == na && j == nb;
		if (!json_equal(json_array_get(a, i), json_array_get(b, j)))
			return false;
		i++;
		j++;
	}
}

/* The presented origin hop is the one we stored and signed for. */
static fz_code same_origin(const json_t *stored_env, const fz_chain *c,
			   fz_err *err)
{
	size_t n = json_array_size(stored_env);
	const json_t *sblock = n >= 2 ? entry_block(json_array_get(stored_env, n - 1)) : NULL;
	const json_t *sjws = n >= 2 ? entry_jws(json_array_get(stored_env, n - 2)) : NULL;

	if (sblock == NULL || sjws == NULL)
		return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				    "the message has no origin assertion yet");
	if (json_string_length(sjws) != c->hops[0].jws_len ||
	    memcmp(json_string_value(sjws), c->hops[0].jws, c->hops[0].jws_len) != 0)
		return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				    "the chain's origin assertion is not the one this message was sent with");
	if (!same_but_bcc(sblock, c->hops[0].block))
		return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				    "the chain's origin header block is not the one this message was sent with");
	return FZ_OK;
}

static bool referenced(const json_t *stored, const char *digest)
{
	fz_leaf *leaves = NULL;
	size_t i, n = 0;
	bool found = false;

	if (fz_placeholder_leaves(stored, &leaves, &n, NULL) != FZ_OK)
		return false;
	for (i = 0; i < n && !found; i++)
		found = strcmp(leaves[i].cid.s, digest) == 0;
	fz_leaves_free(leaves, n);
	return found;
}

static fz_code domain_allowed(const fz_chain *c, const json_t *sblock,
			      const fz_limits *lim, const char *domain,
			      fz_err *err)
{
	fz_addr_list rc_list;
	fz_err why = {0};
	bool ok;
	size_t h;

	if (fz_chain_origin_rcpts(sblock, lim->max_recipients, &rc_list, &why) != FZ_OK)
		return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				    "stored recipients: %s", why.msg);
	ok = domain_in(&rc_list, domain);
	fz_addr_list_free(&rc_list);
	for (h = 1; h < c->n && !ok; h++)
		ok = domain_in(&c->hops[h].to, domain);
	if (!ok)
		return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				    "%s is neither a recipient domain of the message nor a "
				    "discharged Forwarded-To", domain);
	return FZ_OK;
}

fz_code fz_chain_fetch_allowed(const fz_fetch_request *r,
			       fz_chain_verify_fn verify, void *ctx,
			       fz_err *err)
{
	const fz_limits *lim = limits(r->lim);
	const json_t *senv = fz_placeholder_envelope(r->stored);
	const json_t *sblock = fz_placeholder_origin(r->stored);
	fz_chain c, shape;
	fz_err why = {0};
	fz_code rc = fz_chain_parse(r->envelope, lim, &shape, &why);

	if (rc != FZ_OK)
		return fz_fail_http(err, FZ_EDENIED, 403, "access_denied", "the chain: %s",
				    why.msg);
	rc = same_origin(senv, &shape, err);
	fz_chain_free(&shape);
	if (rc != FZ_OK)
		return rc;
	/* The stored block has every Bcc: recipients come from it. */
	rc = fz_chain_walk(r->envelope, sblock, NULL, lim, verify, ctx, &c, err);
	if (rc != FZ_OK)
		return rc;
	rc = domain_allowed(&c, sblock, lim, r->domain, err);
	if (rc == FZ_OK && !referenced(r->stored, r->digest))
		rc = fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
				  "the message does not reference %.43s", r->digest);
	fz_chain_free(&c);
	return rc;
}

/* --- candidate domains ---------------------------------------------------------- */

static fz_code add_domains(const fz_addr_list *l, size_t max, char **v,
			   size_t *n, fz_err *err)
{
	size_t i, j;
	const char *d;

	for (i = 0; i < l->n; i++) {
		d = l->v[i].spec + l->v[i].at + 1;
		for (j = 0; j < *n && strcmp(v[j], d) != 0; j++)
			;
		if (j < *n)
			continue;
		if (*n == max)
			return fz_fail(err, FZ_ELIMIT, "more than %zu candidate domains", max);
		if ((v[*n] = strdup(d)) == NULL)
			return fz_fail(err, FZ_ENOMEM, "out of memory");
		(*n)++;
	}
	return FZ_OK;
}

fz_code fz_chain_candidate_domains(const json_t *stored, const json_t *envelope,
				   const fz_limits *lim, char ***out, size_t *n,
				   fz_err *err)
{
	size_t max = limits(lim)->max_recipients, i, ne = json_array_size(envelope);
	char **v = calloc(max, sizeof(*v));
	const json_t *block;
	fz_addr_list l;
	fz_code rc;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	rc = fz_chain_origin_rcpts(fz_placeholder_origin(stored), max, &l, err);
	if (rc == FZ_OK) {
		rc = add_domains(&l, max, v, n, err);
		fz_addr_list_free(&l);
	}
	for (i = 0; i < ne && rc == FZ_OK; i++) {
		block = entry_block(json_array_get(envelope, i));
		if (block == NULL || fz_headers_find(block, "Forwarded-To") == NULL)
			continue;
		memset(&l, 0, sizeof(l));
		/* unverified: a malformed one is simply no candidate */
		if (parse_header(block, "Forwarded-To", max, &l, NULL) == FZ_OK)
			rc = add_domains(&l, max, v, n, err);
		fz_addr_list_free(&l);
	}
	if (rc != FZ_OK) {
		fz_chain_domains_free(v, *n);
		*n = 0;
		return rc;
	}
	*out = v;
	return FZ_OK;
}

void fz_chain_domains_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n && v != NULL; i++)
		free(v[i]);
	free(v);
}
