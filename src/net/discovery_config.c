/*
 * discovery_config.c - discovery as a server configures it: the three
 * places that find other domains (the AS checking assertions, the MBX
 * checking tokens, its MTA) read the same keys and must not drift.
 */
#include "discovery.h"
#include "dns_srv.h"

#include <stdio.h>
#include <string.h>

/* The configured value, else the default. Config bounds keep every
 * value within its field's type. */
static uint64_t pick(uint64_t v, uint64_t dflt)
{
	return v == FZ_CFG_UNSET ? dflt : v;
}

fz_code fz_discovery_open(const char *dns_host, uint16_t dns_port, const char *ca_file,
			  const fz_cfg_discovery *c, uint64_t jwks_refetch_s,
			  fz_discovery **out, fz_err *err)
{
	fz_discovery_config dc;
	char server[FZ_DNS_SERVER_MAX];
	int n;

	fz_discovery_config_defaults(&dc);
	dc.ca_file = ca_file;
	if (dns_host != NULL) {
		/* c-ares wants an IPv6 address in brackets before its port. */
		n = snprintf(server, sizeof(server), strchr(dns_host, ':') ? "[%s]:%u" : "%s:%u",
			     dns_host, (unsigned)dns_port);
		if (n < 0 || (size_t)n >= sizeof(server))
			return fz_fail(err, FZ_ELIMIT, "dns_server too long");
		dc.dns_server = server;
	}
	if (jwks_refetch_s > 0)
		dc.jwks_refetch_interval_s = (uint32_t)jwks_refetch_s;
	if (c != NULL) {
		dc.dns_timeout_ms = (unsigned)pick(c->dns_timeout_ms, dc.dns_timeout_ms);
		dc.dns_tries = (unsigned)pick(c->dns_tries, dc.dns_tries);
		dc.dns_max_records = (size_t)pick(c->dns_max_records, dc.dns_max_records);
		dc.http_connect_timeout_s = (unsigned)pick(c->connect_timeout,
							   dc.http_connect_timeout_s);
		dc.http_timeout_s = (unsigned)pick(c->http_timeout, dc.http_timeout_s);
		dc.max_document_bytes = (size_t)pick(c->max_document_bytes, dc.max_document_bytes);
		dc.max_authorization_servers = (size_t)pick(c->max_authorization_servers,
							    dc.max_authorization_servers);
		dc.cache_max_entries = (size_t)pick(c->cache_max_entries, dc.cache_max_entries);
		dc.ttl_min_s = (uint32_t)pick(c->ttl_min, dc.ttl_min_s);
		dc.ttl_max_s = (uint32_t)pick(c->ttl_max, dc.ttl_max_s);
		dc.negative_ttl_s = (uint32_t)pick(c->negative_ttl, dc.negative_ttl_s);
	}
	return fz_discovery_new(&dc, out, err);
}
