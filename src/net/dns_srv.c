/*
 * dns_srv.c - c-ares queries on a private channel per lookup, a poll loop
 * with a hard deadline; the answer is read by dns_answer.c.
 */
#include "dns_srv.h"
#include "dns_answer.h"

#include <ares.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DNS_CLASS_IN 1
#define DNS_TRIES_SHIFT_MAX 16 /* bounds the deadline arithmetic */
#define DNS_POLL_SLICE_MS 1000 /* longest single wait; the deadline is rechecked */

struct fz_dns {
	fz_dns_config cfg;
	char server[FZ_DNS_SERVER_MAX]; /* "" when resolv.conf decides */
};

/* One query in flight and what its callback made of the answer. */
struct query {
	const fz_dns *dns;
	fz_arena *arena;
	bool done;
	int status;   /* ARES_* */
	fz_code rc;   /* of parsing, when status is ARES_SUCCESS */
	fz_err err;
	fz_dns_answer ans; /* name, type, records and their TTL */
};

void fz_dns_config_defaults(fz_dns_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->timeout_ms = FZ_DNS_TIMEOUT_MS_DEFAULT;
	cfg->tries = FZ_DNS_TRIES_DEFAULT;
	cfg->max_records = FZ_DNS_MAX_RECORDS_DEFAULT;
}

static fz_code channel_open(const fz_dns *dns, ares_channel *ch, fz_err *err)
{
	struct ares_options o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.timeout = (int)dns->cfg.timeout_ms;
	o.tries = (int)dns->cfg.tries;
	/* no HOSTALIASES file, no search list: we ask for exact names */
	o.flags = ARES_FLAG_NOALIASES | ARES_FLAG_NOSEARCH;
	rc = ares_init_options(ch, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS);
	if (rc != ARES_SUCCESS)
		return fz_fail(err, rc == ARES_ENOMEM ? FZ_ENOMEM : FZ_EINTERNAL,
			       "dns: cannot start a resolver: %s", ares_strerror(rc));
	if (dns->server[0] == '\0')
		return FZ_OK;
	rc = ares_set_servers_ports_csv(*ch, dns->server);
	if (rc == ARES_SUCCESS)
		return FZ_OK;
	ares_destroy(*ch);
	return fz_fail(err, FZ_ESYNTAX, "dns: server \"%s\" refused: %s", dns->server,
		       ares_strerror(rc));
}

fz_code fz_dns_new(const fz_dns_config *cfg, fz_dns **out, fz_err *err)
{
	ares_channel ch;
	fz_dns *dns;
	fz_code code;
	size_t len;
	int rc;

	*out = NULL;
	if (cfg->timeout_ms == 0 || cfg->timeout_ms > INT32_MAX / 2 || cfg->tries == 0 ||
	    cfg->tries > DNS_TRIES_SHIFT_MAX || cfg->max_records == 0)
		return fz_fail(err, FZ_ESYNTAX, "dns: timeout, tries and max_records must be set");
	len = cfg->server ? strlen(cfg->server) : 0;
	if (cfg->server != NULL && (len == 0 || len >= FZ_DNS_SERVER_MAX))
		return fz_fail(err, FZ_ESYNTAX, "dns: dns_server must be host:port");
	rc = ares_library_init(ARES_LIB_INIT_ALL);
	if (rc != ARES_SUCCESS)
		return fz_fail(err, FZ_EINTERNAL, "dns: %s", ares_strerror(rc));
	dns = calloc(1, sizeof(*dns));
	if (dns == NULL) {
		ares_library_cleanup();
		return fz_fail(err, FZ_ENOMEM, "dns: out of memory");
	}
	dns->cfg = *cfg;
	dns->cfg.server = NULL;
	if (cfg->server != NULL)
		memcpy(dns->server, cfg->server, len + 1);
	/* a server setting c-ares refuses fails here, not at the first lookup */
	code = channel_open(dns, &ch, err);
	if (code != FZ_OK) {
		fz_dns_free(dns);
		return code;
	}
	ares_destroy(ch);
	*out = dns;
	return FZ_OK;
}

void fz_dns_free(fz_dns *dns)
{
	if (dns == NULL)
		return;
	free(dns);
	ares_library_cleanup();
}

/* --- reading the answer ------------------------------------------------ */

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct query *q = arg;
	size_t cap = q->dns->cfg.max_records;

	(void)timeouts;
	q->done = true;
	q->status = status;
	if (status != ARES_SUCCESS || abuf == NULL || alen < 0)
		return;
	q->ans.max_records = cap;
	if (q->ans.type == FZ_DNS_TYPE_SRV)
		q->ans.srv = fz_arena_calloc(q->arena, cap, sizeof(*q->ans.srv));
	else
		q->ans.addr = fz_arena_calloc(q->arena, cap, sizeof(*q->ans.addr));
	if (q->ans.srv == NULL && q->ans.addr == NULL) {
		q->rc = fz_fail(&q->err, FZ_ENOMEM, "dns: out of memory");
		return;
	}
	q->rc = fz_dns_answer_parse(&q->ans, abuf, (size_t)alen, &q->err);
}

/* --- running queries ----------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool all_done(const struct query *qs, size_t nq)
{
	size_t i;

	for (i = 0; i < nq; i++)
		if (!qs[i].done)
			return false;
	return true;
}

/* ares_getsock's bitmask read unsigned: c-ares's own macros shift a
 * signed 1 into the sign bit for the last socket. */
static bool sock_readable(int bits, int i)
{
	return ((unsigned)bits >> i) & 1u;
}

static bool sock_writable(int bits, int i)
{
	return ((unsigned)bits >> (i + ARES_GETSOCK_MAXNUM)) & 1u;
}

/* One round: wait for the channel's sockets or its next timeout, then let
 * c-ares read, write and retry. */
static void run_once(ares_channel ch, uint64_t deadline)
{
	ares_socket_t socks[ARES_GETSOCK_MAXNUM];
	struct pollfd pfd[ARES_GETSOCK_MAXNUM];
	struct timeval max, tv, *tvp;
	uint64_t now = now_ms(), left = deadline > now ? deadline - now : 0;
	int bits, i, nfd = 0, ready;

	bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
	for (i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
		if (!sock_readable(bits, i) && !sock_writable(bits, i))
			continue;
		pfd[nfd].fd = socks[i];
		pfd[nfd].events = (short)((sock_readable(bits, i) ? POLLIN : 0) |
					  (sock_writable(bits, i) ? POLLOUT : 0));
		pfd[nfd].revents = 0;
		nfd++;
	}
	if (left > DNS_POLL_SLICE_MS)
		left = DNS_POLL_SLICE_MS;
	max.tv_sec = (time_t)(left / 1000);
	max.tv_usec = (suseconds_t)(left % 1000 * 1000);
	tvp = ares_timeout(ch, &max, &tv);
	ready = poll(pfd, (nfds_t)nfd, (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000));
	if (ready <= 0) {
		/* a timeout (or EINTR): let c-ares retry or give up */
		ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
		return;
	}
	for (i = 0; i < nfd; i++) {
		if (pfd[i].revents == 0)
			continue;
		ares_process_fd(ch,
				pfd[i].revents & (POLLIN | POLLERR | POLLHUP) ? pfd[i].fd
									      : ARES_SOCKET_BAD,
				pfd[i].revents & (POLLOUT | POLLERR) ? pfd[i].fd : ARES_SOCKET_BAD);
	}
}

/* The longest c-ares should take: each round doubles the first try's
 * timeout, so tries rounds need less than timeout * 2^tries. Past it the
 * queries are cancelled, whatever c-ares thinks. */
static uint64_t deadline_for(const fz_dns *dns)
{
	return now_ms() + (uint64_t)dns->cfg.timeout_ms * ((uint64_t)1 << dns->cfg.tries);
}

static fz_code run_queries(const fz_dns *dns, struct query *qs, size_t nq, fz_err *err)
{
	ares_channel ch;
	uint64_t deadline;
	fz_code rc;
	size_t i;

	rc = channel_open(dns, &ch, err);
	if (rc != FZ_OK)
		return rc;
	for (i = 0; i < nq; i++)
		ares_query(ch, qs[i].ans.name, DNS_CLASS_IN, qs[i].ans.type, on_answer, &qs[i]);
	deadline = deadline_for(dns);
	while (!all_done(qs, nq)) {
		if (now_ms() >= deadline) {
			ares_cancel(ch); /* runs the callbacks with ARES_ECANCELLED */
			break;
		}
		run_once(ch, deadline);
	}
	ares_destroy(ch);
	return FZ_OK;
}

static const char *type_name(int type)
{
	return type == FZ_DNS_TYPE_SRV ? "SRV" : type == FZ_DNS_TYPE_A ? "A" : "AAAA";
}

/* What a finished query means, as an fz_code. */
static fz_code query_result(struct query *q, fz_err *err)
{
	switch (q->status) {
	case ARES_SUCCESS:
		if (q->rc != FZ_OK) {
			if (err != NULL)
				*err = q->err;
			return q->rc;
		}
		if (q->ans.n == 0)
			return fz_fail(err, FZ_ENOTFOUND, "dns: %s has no %s record", q->ans.name,
				       type_name(q->ans.type));
		return FZ_OK;
	case ARES_ENOTFOUND:
		return fz_fail(err, FZ_ENOTFOUND, "dns: %s does not exist (NXDOMAIN)", q->ans.name);
	case ARES_ENODATA:
		return fz_fail(err, FZ_ENOTFOUND, "dns: %s has no %s record", q->ans.name,
			       type_name(q->ans.type));
	case ARES_ENOMEM:
		return fz_fail(err, FZ_ENOMEM, "dns: out of memory");
	case ARES_ECANCELLED:
	case ARES_ETIMEOUT:
		return fz_fail(err, FZ_EIO, "dns: %s %s: no answer from the DNS server (timed out)",
			       type_name(q->ans.type), q->ans.name);
	default:
		return fz_fail(err, FZ_EIO, "dns: %s %s: %s", type_name(q->ans.type), q->ans.name,
			       ares_strerror(q->status));
	}
}

static fz_code check_name(const char *name, fz_err *err)
{
	/* SRV owner names carry "_service._proto." labels, so only the
	 * length is checked here; callers build names from checked domains */
	if (name == NULL || name[0] == '\0' || strlen(name) > FZ_DNS_NAME_MAX)
		return fz_fail(err, FZ_ESYNTAX, "dns: bad name to look up");
	return FZ_OK;
}

fz_code fz_dns_srv(fz_dns *dns, const char *name, fz_arena *arena,
		   fz_srv_record **recs, size_t *n, uint32_t *ttl, fz_err *err)
{
	struct query q = {.dns = dns, .arena = arena,
			  .ans = {.name = name, .type = FZ_DNS_TYPE_SRV}};
	fz_code rc;

	*recs = NULL;
	*n = 0;
	*ttl = 0;
	rc = check_name(name, err);
	if (rc == FZ_OK)
		rc = run_queries(dns, &q, 1, err);
	if (rc == FZ_OK)
		rc = query_result(&q, err);
	if (rc != FZ_OK)
		return rc;
	*recs = q.ans.srv;
	*n = q.ans.n;
	*ttl = q.ans.ttl;
	return FZ_OK;
}

/* Both queries are in; joins their records, IPv4 first. */
static fz_code join_addrs(struct query qs[2], fz_arena *arena, fz_dns_addr **addrs,
			  size_t *n, uint32_t *ttl, fz_err *err)
{
	fz_err e[2] = {{0}, {0}};
	fz_code rc[2];
	size_t i, total = 0;

	for (i = 0; i < 2; i++) {
		rc[i] = query_result(&qs[i], &e[i]);
		if (rc[i] == FZ_OK)
			total += qs[i].ans.n;
	}
	if (total == 0) {
		/* report the failure that says most: trouble beats absence */
		i = rc[0] == FZ_ENOTFOUND ? 1 : 0;
		if (rc[i] == FZ_ENOTFOUND)
			return fz_fail(err, FZ_ENOTFOUND, "dns: %s has no address", qs[0].ans.name);
		if (err != NULL)
			*err = e[i];
		return rc[i];
	}
	*addrs = fz_arena_calloc(arena, total, sizeof(**addrs));
	if (*addrs == NULL)
		return fz_fail(err, FZ_ENOMEM, "dns: out of memory");
	*ttl = UINT32_MAX;
	for (i = 0; i < 2; i++) {
		if (rc[i] != FZ_OK)
			continue;
		memcpy(*addrs + *n, qs[i].ans.addr, qs[i].ans.n * sizeof(**addrs));
		*n += qs[i].ans.n;
		if (qs[i].ans.ttl < *ttl)
			*ttl = qs[i].ans.ttl;
	}
	return FZ_OK;
}

fz_code fz_dns_addrs(fz_dns *dns, const char *host, fz_arena *arena,
		     fz_dns_addr **addrs, size_t *n, uint32_t *ttl, fz_err *err)
{
	struct query qs[2] = {
		{.dns = dns, .arena = arena, .ans = {.name = host, .type = FZ_DNS_TYPE_A}},
		{.dns = dns, .arena = arena, .ans = {.name = host, .type = FZ_DNS_TYPE_AAAA}},
	};
	fz_code rc;

	*addrs = NULL;
	*n = 0;
	*ttl = 0;
	rc = check_name(host, err);
	if (rc == FZ_OK)
		rc = run_queries(dns, qs, 2, err);
	if (rc != FZ_OK)
		return rc;
	return join_addrs(qs, arena, addrs, n, ttl, err);
}
