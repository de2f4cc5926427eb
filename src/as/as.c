/*
 * as.c - building and tearing down the AS context: store, keyring,
 * endpoint URLs. Nothing here listens; as_server.c does.
 */
#include "as.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Connections beyond the HTTP threads: the maintenance loop and one
 * spare, so a slow handler never starves the purge. */
#define AS_DB_SPARE_CONNECTIONS 2
/* "[address]:port" of the DNS server, IPv6 at its longest. */

int64_t fz_as_now(const fz_as *as)
{
	if (as != NULL && as->clock != NULL)
		return as->clock(as->clock_ctx);
	return (int64_t)time(NULL);
}

fz_code fz_as_url(const fz_as_config *cfg, const char *path, char **out,
		  fz_err *err)
{
	size_t n = strlen(cfg->issuer);

	/* The issuer has no path but an optional "/" (config_as.c). */
	if (n > 0 && cfg->issuer[n - 1] == '/')
		n--;
	if (asprintf(out, "%.*s%s", (int)n, cfg->issuer, path) < 0) {
		*out = NULL;
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	}
	return FZ_OK;
}

static fz_code make_urls(fz_as *as, fz_err *err)
{
	const fz_as_config *c = as->cfg;
	fz_code rc;

	if ((rc = fz_as_url(c, FZ_AS_PATH_METADATA, &as->metadata_url, err)) ||
	    (rc = fz_as_url(c, FZ_AS_PATH_AUTHORIZE, &as->authorization_endpoint, err)) ||
	    (rc = fz_as_url(c, FZ_AS_PATH_TOKEN, &as->token_endpoint, err)) ||
	    (rc = fz_as_url(c, FZ_AS_PATH_REVOKE, &as->revocation_endpoint, err)) ||
	    (rc = fz_as_url(c, FZ_AS_PATH_JWKS, &as->jwks_uri, err)) ||
	    (rc = fz_as_url(c, FZ_AS_PATH_LOGIN, &as->login_endpoint, err)))
		return rc;
	return FZ_OK;
}

/* Discovery with the configured resolver, CA bundle and `discovery:`. */
static fz_code open_discovery(fz_as *as, fz_err *err)
{
	const fz_as_config *c = as->cfg;

	return fz_discovery_open(c->dns_host, c->dns_port, c->ca_file, &c->discovery, 0,
				 &as->discovery, err);
}

fz_code fz_as_open(const fz_as_config *cfg, fz_as **out, fz_err *err)
{
	fz_as *as = calloc(1, sizeof(*as));
	fz_code rc;

	*out = NULL;
	if (as == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	as->cfg = cfg;
	rc = make_urls(as, err);
	if (rc == FZ_OK)
		rc = fz_as_store_open(cfg->database,
				      (size_t)cfg->limits.threads + AS_DB_SPARE_CONNECTIONS,
				      &as->store, err);
	if (rc == FZ_OK)
		rc = fz_as_keys_open(cfg, as->store, fz_as_now(as), &as->keys, err);
	if (rc == FZ_OK)
		rc = open_discovery(as, err);
	if (rc != FZ_OK) {
		fz_as_close(as);
		return rc;
	}
	*out = as;
	return FZ_OK;
}

void fz_as_close(fz_as *as)
{
	if (as == NULL)
		return;
	fz_discovery_free(as->discovery);
	fz_as_keys_close(as->keys);
	fz_as_store_close(as->store);
	free(as->metadata_url);
	free(as->authorization_endpoint);
	free(as->token_endpoint);
	free(as->revocation_endpoint);
	free(as->jwks_uri);
	free(as->login_endpoint);
	free(as);
}
