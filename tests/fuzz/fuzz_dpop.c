/* DPoP proof verification for a fixed request (the RFC 9449 example's
 * method, URL and time), with a fresh in-memory replay cache per input:
 * no crash, no leak; a proof that verifies once is refused as a replay
 * the second time. The same bytes also go through the URL normaliser,
 * whose output must be a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dpop.h"
#include "url.h"

#define NOW 1562262616
#define METHOD "POST"
#define URL "https://server.example.com/token"
#define TOKEN "fuzz-token"
#define CACHE_MAX 4

struct cache {
	char jti[CACHE_MAX][FZ_JTI_MAX + 1];
	size_t n;
};

static fz_code replay_check(void *ctx, const char *jti, int64_t expires_at,
			    fz_err *err)
{
	struct cache *c = ctx;
	size_t i;

	if (expires_at <= NOW - FZ_DPOP_IAT_WINDOW)
		abort(); /* an entry must outlive the window it guards */
	for (i = 0; i < c->n; i++)
		if (strcmp(c->jti[i], jti) == 0)
			return fz_fail(err, FZ_EREPLAY, "jti seen");
	if (c->n == CACHE_MAX || strlen(jti) > FZ_JTI_MAX)
		abort();
	memcpy(c->jti[c->n++], jti, strlen(jti) + 1);
	return FZ_OK;
}

static void verify_twice(const char *s, size_t n, const fz_dpop_request *req,
			 const fz_jose_config *cfg)
{
	struct cache cache = {0};
	fz_dpop_result res;
	fz_err err = {0};

	if (fz_dpop_verify(s, n, req, cfg, NOW, replay_check, &cache, &res, &err) != FZ_OK)
		return;
	if (strlen(res.jkt.s) != FZ_DIGEST_LEN)
		abort();
	if (fz_dpop_verify(s, n, req, cfg, NOW, replay_check, &cache, &res, &err) != FZ_EREPLAY)
		abort();
}

static void normalise_twice(const char *s, size_t n)
{
	char *once = NULL, *twice = NULL;

	if (fz_url_htu(s, n, &once, NULL) != FZ_OK)
		return;
	if (fz_url_htu(once, strlen(once), &twice, NULL) != FZ_OK || strcmp(once, twice) != 0)
		abort();
	free(once);
	free(twice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_dpop_request plain = {.method = METHOD, .url = URL};
	fz_dpop_request bound = {.method = METHOD, .url = URL, .access_token = TOKEN,
				 .nonce = "n1"};
	fz_jose_config cfg;

	fz_jose_config_defaults(&cfg);
	verify_twice((const char *)data, size, &plain, &cfg);
	verify_twice((const char *)data, size, &bound, &cfg);
	normalise_twice((const char *)data, size);
	return 0;
}
