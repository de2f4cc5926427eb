/*
 * dns_answer.h - the answer section of a DNS response read into SRV or
 * address records with their smallest TTL. No I/O: dns_srv.c hands it
 * what c-ares received, the fuzz target and unit tests hand it bytes.
 * Names are expanded by ares_expand_name (compression pointers, loops
 * and escaping as c-ares does them), hence its place in net.
 */
#ifndef FZ_NET_DNS_ANSWER_H
#define FZ_NET_DNS_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "dns_srv.h"
#include "err.h"

#define FZ_DNS_TYPE_A 1
#define FZ_DNS_TYPE_AAAA 28
#define FZ_DNS_TYPE_SRV 33

/* What is asked (name, type, room) and what the answer held (n, ttl). */
typedef struct fz_dns_answer {
	const char *name;   /* the name asked, for messages */
	int type;           /* FZ_DNS_TYPE_* */
	size_t max_records; /* room in srv or addr; more is FZ_ELIMIT */
	fz_srv_record *srv; /* type SRV */
	fz_dns_addr *addr;  /* type A or AAAA */
	size_t n;
	uint32_t ttl;       /* smallest of the records kept; 0 when none */
} fz_dns_answer;

/* Walks the question and answer sections of abuf[0..alen); records of
 * other types (the CNAMEs of a chain) and classes are skipped. A
 * malformed answer is FZ_ESTRUCT ("dns: NAME: malformed answer (WHY)"),
 * one with more than max_records wanted records FZ_ELIMIT. */
fz_code fz_dns_answer_parse(fz_dns_answer *ans, const unsigned char *abuf, size_t alen,
			    fz_err *err);

#endif
