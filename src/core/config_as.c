/*
 * config_as.c - the Authorization Server's settings (`federizer as -c
 * as.yaml`): every key, its default and its bounds, checked before the
 * server opens anything, so a mistake is one clear line at start-up
 * rather than a surprise at the first request.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "jwk.h"

/* 1 day in seconds: the lowest bound worth a refresh token. */
#define DAY 86400

static void defaults(fz_as_config *c)
{
	c->listen_host = FZ_AS_LISTEN_HOST_DEFAULT;
	c->listen_port = FZ_AS_LISTEN_PORT_DEFAULT;
	c->keys_alg = FZ_AS_KEYS_ALG_DEFAULT;
	c->keys_rsa_bits = FZ_RSA_DEFAULT_BITS;
	c->keys_reload = FZ_AS_KEYS_RELOAD_DEFAULT;
	c->access_log = true;
	c->tokens = (fz_as_tokens_config){
		.access_ttl = FZ_AS_ACCESS_TTL_DEFAULT,
		.refresh_ttl = FZ_AS_REFRESH_TTL_DEFAULT,
		.code_ttl = FZ_AS_CODE_TTL_DEFAULT,
		.assertion_ttl = FZ_AS_ASSERTION_TTL_DEFAULT,
		.fetch_ttl = FZ_AS_FETCH_TTL_DEFAULT,
	};
	c->limits = (fz_as_limits_config){
		.max_connections = FZ_AS_MAX_CONNECTIONS_DEFAULT,
		.per_ip_connections = FZ_AS_PER_IP_CONNECTIONS_DEFAULT,
		.rate_per_ip = FZ_AS_RATE_PER_IP_DEFAULT,
		.rate_burst = FZ_AS_RATE_BURST_DEFAULT,
		.timeout = FZ_AS_TIMEOUT_DEFAULT,
		.header_timeout = FZ_AS_HEADER_TIMEOUT_DEFAULT,
		.threads = FZ_AS_THREADS_DEFAULT,
		.max_header_bytes = FZ_AS_MAX_HEADER_BYTES_DEFAULT,
		.max_body_bytes = FZ_AS_MAX_BODY_BYTES_DEFAULT,
		.max_form_params = FZ_AS_MAX_FORM_PARAMS_DEFAULT,
		.max_param_bytes = FZ_AS_MAX_PARAM_BYTES_DEFAULT,
		.arena_bytes = FZ_AS_ARENA_BYTES_DEFAULT,
	};
	c->login = (fz_as_login_config){
		.max_failures = FZ_AS_LOGIN_MAX_FAILURES_DEFAULT,
		.max_address_failures = FZ_AS_LOGIN_ADDRESS_FAILURES_DEFAULT,
		.window = FZ_AS_LOGIN_WINDOW_DEFAULT,
		.lockout = FZ_AS_LOGIN_LOCKOUT_DEFAULT,
		.session_ttl = FZ_AS_LOGIN_SESSION_TTL_DEFAULT,
		.form_ttl = FZ_AS_LOGIN_FORM_TTL_DEFAULT,
	};
	c->dpop.nonce = false;
	c->dpop.nonce_ttl = FZ_AS_DPOP_NONCE_TTL_DEFAULT;
	c->client_assertion_max_lifetime = FZ_AS_CLIENT_ASSERTION_MAX_LIFETIME_DEFAULT;
	fz_jose_config_defaults(&c->jose);
	fz_cfg_discovery_unset(&c->discovery);
}

static fz_code read_keys(fz_as_config *c, const fz_cfg_node *root, fz_err *err)
{
	const fz_cfg_node *keys;
	const char *alg = NULL;
	fz_err aerr = {0};
	fz_code rc = fz_cfg_map(root, "keys", true, &keys, err);

	if (rc == FZ_OK)
		rc = fz_cfg_string(keys, "dir", true, &c->keys_dir, err);
	if (rc == FZ_OK)
		rc = fz_cfg_string(keys, "alg", false, &alg, err);
	if (rc == FZ_OK && alg != NULL && fz_alg_parse(alg, &c->keys_alg, &aerr) != FZ_OK)
		rc = fz_cfg_fail(fz_cfg_get(keys, "alg"), err,
				 "must be ES256 or RS256, not '%.20s'", alg);
	if (rc == FZ_OK)
		rc = fz_cfg_uint(keys, "rsa_bits", FZ_RSA_MIN_BITS, FZ_RSA_MAX_BITS,
				 &c->keys_rsa_bits, err);
	if (rc == FZ_OK)
		rc = fz_cfg_uint(keys, "reload_interval", 1, FZ_AS_KEYS_RELOAD_MAX,
				 &c->keys_reload, err);
	return rc;
}

static fz_code read_domains(fz_as_config *c, const fz_cfg_node *root, fz_err *err)
{
	const fz_cfg_node *list;
	size_t i, j;
	fz_code rc = fz_cfg_strings(c->cfg, root, "domains", true, &c->domains,
				    &c->ndomains, err);

	if (rc != FZ_OK)
		return rc;
	list = fz_cfg_get(root, "domains");
	if (c->ndomains > FZ_AS_DOMAINS_MAX)
		return fz_cfg_fail(list, err, "more than %d domains", FZ_AS_DOMAINS_MAX);
	for (i = 0; i < c->ndomains; i++) {
		char *d = (char *)c->domains[i]; /* the tree's own copy */

		if (!fz_cfg_dns_name_valid(d, strlen(d)) || strchr(d, '.') == NULL)
			return fz_cfg_fail(fz_cfg_node_at(list, i), err,
					   "'%.60s' is not a domain name like example.com", d);
		for (j = 0; d[j]; j++)
			d[j] = (char)tolower((unsigned char)d[j]);
		for (j = 0; j < i; j++)
			if (strcmp(c->domains[j], d) == 0)
				return fz_cfg_fail(fz_cfg_node_at(list, i), err,
						   "'%s' is listed twice", d);
	}
	return FZ_OK;
}

static fz_code read_tokens(fz_as_config *c, const fz_cfg_node *root, fz_err *err)
{
	fz_as_tokens_config *t = &c->tokens;
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(root, "tokens", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	if ((rc = fz_cfg_uint(m, "access_ttl", 1, FZ_AS_ACCESS_TTL_MAX, &t->access_ttl, err)) ||
	    (rc = fz_cfg_uint(m, "refresh_ttl", DAY, FZ_AS_REFRESH_TTL_MAX, &t->refresh_ttl, err)) ||
	    (rc = fz_cfg_uint(m, "code_ttl", 1, FZ_AS_CODE_TTL_MAX, &t->code_ttl, err)) ||
	    (rc = fz_cfg_uint(m, "assertion_ttl", 1, FZ_AS_ASSERTION_TTL_MAX,
			      &t->assertion_ttl, err)) ||
	    (rc = fz_cfg_uint(m, "fetch_ttl", 1, FZ_AS_FETCH_TTL_MAX, &t->fetch_ttl, err)))
		return rc;
	return FZ_OK;
}

static fz_code read_limits(fz_as_config *c, const fz_cfg_node *root, fz_err *err)
{
	fz_as_limits_config *l = &c->limits;
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(root, "limits", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	if ((rc = fz_cfg_uint(m, "max_connections", 1, 1000000, &l->max_connections, err)) ||
	    (rc = fz_cfg_uint(m, "per_ip_connections", 1, 1000000, &l->per_ip_connections, err)) ||
	    (rc = fz_cfg_uint(m, "rate_per_ip", 1, 1000000, &l->rate_per_ip, err)) ||
	    (rc = fz_cfg_uint(m, "rate_burst", 1, 10000000, &l->rate_burst, err)) ||
	    (rc = fz_cfg_uint(m, "timeout", 1, 3600, &l->timeout, err)) ||
	    (rc = fz_cfg_uint(m, "header_timeout", 1, 3600, &l->header_timeout, err)) ||
	    (rc = fz_cfg_uint(m, "threads", 1, FZ_AS_THREADS_MAX, &l->threads, err)) ||
	    (rc = fz_cfg_uint(m, "max_header_bytes", FZ_AS_MAX_HEADER_BYTES_MIN,
			      1024 * 1024, &l->max_header_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "max_body_bytes", 1024, 16 * 1024 * 1024,
			      &l->max_body_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "max_form_params", 1, 1000, &l->max_form_params, err)) ||
	    (rc = fz_cfg_uint(m, "max_param_bytes", 64, 16 * 1024 * 1024,
			      &l->max_param_bytes, err)) ||
	    (rc = fz_cfg_uint(m, "arena_bytes", 64 * 1024, 256 * 1024 * 1024,
			      &l->arena_bytes, err)))
		return rc;
	return FZ_OK;
}

static fz_code read_login(fz_as_config *c, const fz_cfg_node *root, fz_err *err)
{
	fz_as_login_config *l = &c->login;
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(root, "login", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	if ((rc = fz_cfg_uint(m, "max_failures", 1, 1000, &l->max_failures, err)) ||
	    (rc = fz_cfg_uint(m, "max_address_failures", 1, 100000,
			      &l->max_address_failures, err)) ||
	    (rc = fz_cfg_uint(m, "window", 1, 30 * DAY, &l->window, err)) ||
	    (rc = fz_cfg_uint(m, "lockout", 1, 30 * DAY, &l->lockout, err)) ||
	    (rc = fz_cfg_uint(m, "session_ttl", 60, 30 * DAY, &l->session_ttl, err)) ||
	    (rc = fz_cfg_uint(m, "form_ttl", 60, DAY, &l->form_ttl, err)))
		return rc;
	return FZ_OK;
}

static fz_code read_dpop(fz_as_config *c, const fz_cfg_node *root, fz_err *err)
{
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(root, "dpop", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	if ((rc = fz_cfg_bool(m, "nonce", &c->dpop.nonce, err)) ||
	    (rc = fz_cfg_uint(m, "nonce_ttl", 10, DAY, &c->dpop.nonce_ttl, err)))
		return rc;
	return FZ_OK;
}

static fz_code read_client_auth(fz_as_config *c, const fz_cfg_node *root,
				fz_err *err)
{
	const fz_cfg_node *m;
	fz_code rc = fz_cfg_map(root, "client_auth", false, &m, err);

	if (rc != FZ_OK || m == NULL)
		return rc;
	return fz_cfg_uint(m, "assertion_max_lifetime", 1,
			   FZ_AS_CLIENT_ASSERTION_MAX_LIFETIME_MAX,
			   &c->client_assertion_max_lifetime, err);
}


static fz_code read_top(fz_as_config *c, fz_err *err)
{
	const fz_cfg_node *root = fz_cfg_root(c->cfg);
	fz_code rc;

	if ((rc = fz_cfg_root_url(root, "issuer", &c->issuer, err)) ||
	    (rc = fz_cfg_hostport(c->cfg, root, "listen", false, &c->listen_host,
				  &c->listen_port, err)) ||
	    (rc = fz_cfg_tls(root, &c->tls_cert, &c->tls_key, err)) ||
	    (rc = fz_cfg_string(root, "database", true, &c->database, err)) ||
	    (rc = read_keys(c, root, err)) ||
	    (rc = read_domains(c, root, err)) ||
	    (rc = fz_cfg_string(root, "ca_file", false, &c->ca_file, err)) ||
	    (rc = fz_cfg_hostport(c->cfg, root, "dns_server", true, &c->dns_host,
				  &c->dns_port, err)) ||
	    (rc = fz_cfg_bool(root, "access_log", &c->access_log, err)) ||
	    (rc = fz_cfg_string(root, "docs_file", false, &c->docs_file, err)) ||
	    (rc = read_tokens(c, root, err)) || (rc = read_limits(c, root, err)) ||
	    (rc = read_login(c, root, err)) || (rc = read_dpop(c, root, err)) ||
	    (rc = read_client_auth(c, root, err)) ||
	    (rc = fz_cfg_jose(root, &c->jose, err)) ||
	    (rc = fz_cfg_discovery_read(root, &c->discovery, err)))
		return rc;
	return fz_cfg_check_unused(c->cfg, err);
}

fz_code fz_as_config_parse(const char *buf, size_t len, fz_as_config *out,
			   fz_err *err)
{
	fz_code rc;

	memset(out, 0, sizeof(*out));
	defaults(out);
	rc = fz_cfg_parse(buf, len, &out->cfg, err);
	if (rc == FZ_OK)
		rc = read_top(out, err);
	if (rc != FZ_OK)
		fz_as_config_free(out);
	return rc;
}

void fz_as_config_free(fz_as_config *c)
{
	if (c == NULL)
		return;
	fz_cfg_free(c->cfg);
	memset(c, 0, sizeof(*c));
}

bool fz_as_config_has_domain(const fz_as_config *c, const char *domain, size_t n)
{
	size_t i;

	for (i = 0; i < c->ndomains; i++)
		if (strlen(c->domains[i]) == n && strncasecmp(c->domains[i], domain, n) == 0)
			return true;
	return false;
}

uint64_t fz_as_config_max_signed_ttl(const fz_as_config *c)
{
	uint64_t m = c->tokens.access_ttl;

	if (c->tokens.assertion_ttl > m)
		m = c->tokens.assertion_ttl;
	if (c->tokens.fetch_ttl > m)
		m = c->tokens.fetch_ttl;
	return m;
}
