/*
 * dns_srv.h - SRV and A/AAAA lookups with c-ares against the configured
 * DNS server (SPEC §5: `dns_server host:port`, so a local server can
 * answer for a whole test Internet), with the records' TTLs.
 *
 * TTLs: c-ares 1.18's ares_parse_srv_reply drops them, so the answer
 * section is walked by dns_answer.c (names expanded by ares_expand_name)
 * and every lookup reports the smallest TTL of the records it returns.
 * Callers clamp it (cache_ttl.h).
 *
 * Each lookup runs on a channel of its own, driven by poll until every
 * query has answered or failed, so an fz_dns may be used by many threads
 * at once and a lookup never waits longer than its timeout and tries
 * allow.
 */
#ifndef FZ_NET_DNS_SRV_H
#define FZ_NET_DNS_SRV_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "err.h"
#include "srv_select.h"

#define FZ_DNS_TIMEOUT_MS_DEFAULT 1000 /* first try; c-ares doubles it per round */
#define FZ_DNS_TRIES_DEFAULT 3
#define FZ_DNS_MAX_RECORDS_DEFAULT 32  /* records of one kind kept from an answer */
#define FZ_DNS_SERVER_MAX 64           /* bytes of a dns_server setting */
#define FZ_DNS_ADDR_TEXT_MAX 46        /* INET6_ADDRSTRLEN */

typedef struct fz_dns_config {
	const char *server;  /* "host:port" ("[v6]:port"), numeric; NULL: resolv.conf */
	unsigned timeout_ms; /* a query's first try */
	unsigned tries;      /* attempts per query */
	size_t max_records;  /* more in one answer is FZ_ELIMIT */
} fz_dns_config;

void fz_dns_config_defaults(fz_dns_config *cfg);

typedef struct fz_dns fz_dns;

/* Checks cfg (a server that c-ares cannot take is FZ_ESYNTAX) and keeps a
 * copy. Call from one thread while no other lookup runs: it initialises
 * the c-ares library. */
fz_code fz_dns_new(const fz_dns_config *cfg, fz_dns **out, fz_err *err);
void fz_dns_free(fz_dns *dns);

/* The SRV records of name (e.g. "_federizer._as._tcp.example.com"), in
 * answer order, with targets as the server wrote them ("" for the root).
 * Errors: FZ_ENOTFOUND for NXDOMAIN or no SRV record, FZ_EIO when the
 * server cannot be reached or answers with a failure (timeout, refused,
 * SERVFAIL), FZ_ESTRUCT for a malformed answer, FZ_ELIMIT for too many
 * records. *recs lives in arena. */
fz_code fz_dns_srv(fz_dns *dns, const char *name, fz_arena *arena,
		   fz_srv_record **recs, size_t *n, uint32_t *ttl, fz_err *err);

typedef struct fz_dns_addr {
	int family;                       /* AF_INET or AF_INET6 */
	char text[FZ_DNS_ADDR_TEXT_MAX]; /* numeric, without brackets */
} fz_dns_addr;

/* The IPv4 and IPv6 addresses of host, asked for at once; IPv4 first.
 * Either kind is enough: FZ_ENOTFOUND when neither exists, FZ_EIO when
 * none was found and a query could not be answered. *addrs lives in
 * arena. */
fz_code fz_dns_addrs(fz_dns *dns, const char *host, fz_arena *arena,
		     fz_dns_addr **addrs, size_t *n, uint32_t *ttl, fz_err *err);

#endif
