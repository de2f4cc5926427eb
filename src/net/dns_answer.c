/*
 * dns_answer.c - a walk over the answer section that keeps each record's
 * TTL (which ares_parse_srv_reply would drop). Every length is checked
 * against the buffer before it is read: the bytes come from the network.
 */
#include "dns_answer.h"

#include <arpa/inet.h>
#include <ares.h>
#include <stdbool.h>
#include <string.h>

#define DNS_HEADER_BYTES 12
#define DNS_QUESTION_FIXED 4
#define DNS_RR_FIXED 10
#define DNS_SRV_FIXED 6
#define DNS_CLASS_IN 1

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Expands the name at *p, advancing past its encoding. The text is kept
 * in out (when not NULL) if it fits. */
static bool take_name(const unsigned char *abuf, size_t alen, const unsigned char **p,
		      char *out, size_t outsz)
{
	char *s = NULL;
	long enclen = 0;
	bool ok;

	if (ares_expand_name(*p, abuf, (int)alen, &s, &enclen) != ARES_SUCCESS)
		return false;
	ok = enclen > 0 && (size_t)enclen <= (size_t)(abuf + alen - *p);
	if (ok && out != NULL) {
		ok = strlen(s) < outsz;
		if (ok)
			memcpy(out, s, strlen(s) + 1);
	}
	ares_free_string(s);
	if (ok)
		*p += enclen;
	return ok;
}

static fz_code bad_answer(const fz_dns_answer *ans, const char *why, fz_err *err)
{
	return fz_fail(err, FZ_ESTRUCT, "dns: %s: malformed answer (%s)", ans->name, why);
}

/* One record of the wanted type: rdata[0..rdlen). */
static fz_code take_record(fz_dns_answer *ans, const unsigned char *abuf, size_t alen,
			   const unsigned char *rdata, uint16_t rdlen, fz_err *err)
{
	const unsigned char *t = rdata + DNS_SRV_FIXED;
	fz_srv_record *r;
	fz_dns_addr *a;

	if (ans->n == ans->max_records)
		return fz_fail(err, FZ_ELIMIT, "dns: %s: more than %zu records", ans->name,
			       ans->max_records);
	if (ans->type == FZ_DNS_TYPE_SRV) {
		r = &ans->srv[ans->n];
		if (rdlen < DNS_SRV_FIXED + 1 ||
		    !take_name(abuf, alen, &t, r->target, sizeof(r->target)) ||
		    t > rdata + rdlen)
			return bad_answer(ans, "SRV record", err);
		r->priority = rd16(rdata);
		r->weight = rd16(rdata + 2);
		r->port = rd16(rdata + 4);
	} else {
		a = &ans->addr[ans->n];
		a->family = ans->type == FZ_DNS_TYPE_A ? AF_INET : AF_INET6;
		if (rdlen != (ans->type == FZ_DNS_TYPE_A ? 4 : 16) ||
		    inet_ntop(a->family, rdata, a->text, sizeof(a->text)) == NULL)
			return bad_answer(ans, "address record", err);
	}
	ans->n++;
	return FZ_OK;
}

fz_code fz_dns_answer_parse(fz_dns_answer *ans, const unsigned char *abuf, size_t alen,
			    fz_err *err)
{
	const unsigned char *p, *end = abuf + alen;
	unsigned qd, an, i;
	uint16_t type, class, rdlen;
	uint32_t ttl;
	fz_code rc;

	ans->n = 0;
	ans->ttl = 0;
	if (alen < DNS_HEADER_BYTES)
		return bad_answer(ans, "short header", err);
	p = abuf + DNS_HEADER_BYTES;
	qd = rd16(abuf + 4);
	an = rd16(abuf + 6);
	for (i = 0; i < qd; i++) {
		if (!take_name(abuf, alen, &p, NULL, 0) || end - p < DNS_QUESTION_FIXED)
			return bad_answer(ans, "question", err);
		p += DNS_QUESTION_FIXED;
	}
	ans->ttl = UINT32_MAX;
	for (i = 0; i < an; i++) {
		if (!take_name(abuf, alen, &p, NULL, 0) || end - p < DNS_RR_FIXED)
			return bad_answer(ans, "record header", err);
		type = rd16(p);
		class = rd16(p + 2);
		ttl = rd32(p + 4);
		rdlen = rd16(p + 8);
		p += DNS_RR_FIXED;
		if (end - p < rdlen)
			return bad_answer(ans, "record data", err);
		if (type == ans->type && class == DNS_CLASS_IN) {
			rc = take_record(ans, abuf, alen, p, rdlen, err);
			if (rc != FZ_OK)
				return rc;
			/* RFC 2181 §8: a TTL with the top bit set means 0 */
			if (ttl > INT32_MAX)
				ttl = 0;
			if (ttl < ans->ttl)
				ans->ttl = ttl;
		}
		p += rdlen;
	}
	if (ans->n == 0)
		ans->ttl = 0;
	return FZ_OK;
}
