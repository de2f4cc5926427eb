/* Envelope chain verification and the fetch ACL (chain.h, envelope.h).
 * The input is one JSON object: "envelope" (the chain a peer presents),
 * "body", "signed" (what the stand-in verifier accepts: for each compact
 * assertion, the domain whose AS signed it and its claims, since a peer's
 * AS may sign whatever claims it likes for its own domain), "stored"
 * (our own sent document, checked by the Placeholder model first, as the
 * store only holds such) and "domain" and "digest" of a fetch.
 * Signatures themselves are fuzz_jws's business. No crash, no leak; a
 * walk that succeeds has 1..max_chain_hops hops, each verified for its
 * signer's domain. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chain.h"
#include "envelope.h"

typedef struct table {
	const json_t *signed_map;
	size_t calls;
} table;

static fz_code verify(void *ctx, const char *jws, size_t len, const char *domain,
		      json_t **claims, fz_err *err)
{
	table *t = ctx;
	const json_t *e, *c;
	const char *key;

	t->calls++;
	json_object_foreach((json_t *)t->signed_map, key, e) {
		if (strlen(key) != len || memcmp(key, jws, len) != 0)
			continue;
		c = json_object_get(e, "claims");
		if (!json_is_string(json_object_get(e, "domain")) ||
		    strcmp(json_string_value(json_object_get(e, "domain")), domain) != 0 ||
		    !json_is_object(c))
			return fz_fail_http(err, FZ_EDENIED, 403, "access_denied",
					    "not signed by the AS of %s", domain);
		*claims = json_incref((json_t *)c);
		return FZ_OK;
	}
	return fz_fail_http(err, FZ_ESIG, 401, "invalid_token", "bad signature");
}

static void walk(const json_t *in, const fz_limits *lim)
{
	const json_t *env = json_object_get(in, "envelope");
	table t = {.signed_map = json_object_get(in, "signed")};
	fz_chain c;
	size_t i;

	if (fz_chain_parse(env, lim, &c, NULL) == FZ_OK) {
		if (c.n == 0 || c.n > lim->max_chain_hops)
			abort();
		fz_chain_free(&c);
	}
	if (fz_chain_walk(env, NULL, json_object_get(in, "body"), lim, verify, &t, &c, NULL) !=
	    FZ_OK)
		return;
	if (c.n == 0 || c.n > lim->max_chain_hops || t.calls < c.n)
		abort();
	for (i = 0; i < c.n; i++)
		if (c.hops[i].claims == NULL || c.hops[i].signer[0] == '\0')
			abort();
	fz_chain_free(&c);
}

static void candidates(const json_t *stored, const json_t *env, const fz_limits *lim)
{
	char **v = NULL;
	size_t i, j, n = 0;

	if (fz_chain_candidate_domains(stored, env, lim, &v, &n, NULL) != FZ_OK)
		return;
	if (n > lim->max_recipients)
		abort();
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (strcmp(v[i], v[j]) == 0)
				abort(); /* each domain once */
	fz_chain_domains_free(v, n);
}

static void fetch(const json_t *in, const fz_limits *lim)
{
	const json_t *stored = json_object_get(in, "stored");
	table t = {.signed_map = json_object_get(in, "signed")};
	fz_fetch_request r = {.stored = stored, .envelope = json_object_get(in, "envelope"),
			      .domain = json_string_value(json_object_get(in, "domain")),
			      .digest = json_string_value(json_object_get(in, "digest")),
			      .lim = lim};

	if (stored == NULL || fz_placeholder_check(stored, lim, NULL) != FZ_OK)
		return;
	candidates(stored, r.envelope, lim);
	if (r.domain == NULL || r.digest == NULL || !fz_digest_valid(r.digest, strlen(r.digest)))
		return;
	fz_chain_fetch_allowed(&r, verify, &t, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	fz_limits lim;

	if (!json_is_object(in))
		goto out;
	fz_limits_default(&lim);
	lim.max_chain_hops = 4;
	lim.max_recipients = 16;
	walk(in, &lim);
	fetch(in, &lim);
out:
	json_decref(in);
	return 0;
}
