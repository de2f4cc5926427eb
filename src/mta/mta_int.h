/*
 * mta_int.h - what the worker's files share: one attempt at one queue
 * entry (fz_mta_job), its verdict, and the helpers that turn an error
 * or a peer's answer into that verdict.
 */
#ifndef FZ_MTA_MTA_INT_H
#define FZ_MTA_MTA_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "http_client.h"
#include "mta.h"
#include "oauth_client.h"

typedef enum fz_mta_verdict {
	FZ_MTA_DONE,  /* the entry reached j->done */
	FZ_MTA_RETRY, /* try again after the backoff; j->why says why */
	FZ_MTA_FAIL,  /* no retry can heal it; j->why says why */
} fz_mta_verdict;

typedef struct fz_mta_job {
	const fz_mta_env *env;
	fz_http_client *api;      /* bounded exchanges: timeout queue.timeout */
	fz_http_client *download; /* streamed fetches: only a stall ends them */
	fz_arena *arena;          /* freed after the attempt */
	const fz_queue_entry *e;
	int64_t now;
	fz_queue_state done;      /* what success records */
	bool delivered;           /* the peer has the message: a retry only learns
				   * what became of pushes that broke off */
	char why[FZ_ERR_MSG_MAX];
} fz_mta_job;

/* mta_transfer.c: SPEC §7.4 and §7.7. */
fz_mta_verdict fz_mta_transfer(fz_mta_job *j);
/* The POST of text (a document) to j->e->domain's MBX presented with
 * assertion, then (push not NULL) the push of push's resources. */
fz_mta_verdict fz_mta_post(fz_mta_job *j, const char *message_id, const char *assertion,
			   const char *text, size_t len, const json_t *push);
/* mta_forward.c: SPEC §9. */
fz_mta_verdict fz_mta_forward(fz_mta_job *j);
/* mta_fetch.c: SPEC §8.1-8.2, §8.4. */
fz_mta_verdict fz_mta_fetch(fz_mta_job *j);
/* mta_notice.c: the delivery-failure notice in the sender's inbox once
 * the transfer entry e failed for good, why. Failures are logged. */
void fz_mta_notice(const fz_mta_env *env, const fz_queue_entry *e,
		   const char *why, int64_t now);

/* Sets j->why from fmt and returns v. */
fz_mta_verdict fz_mta_say(fz_mta_job *j, fz_mta_verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A local or network error: retried (a peer or DNS may come back),
 * except what cannot change by waiting (a bad document). */
fz_mta_verdict fz_mta_error(fz_mta_job *j, const char *what, const fz_err *e);
/* A peer's HTTP answer that is no success: failed for a permanent status
 * (mta_policy.h), else retried; why carries its error and description. */
fz_mta_verdict fz_mta_answer(fz_mta_job *j, const char *what,
			     const fz_http_client_resp *r);

/* The origin copy's or received copy's document, parsed (owned by the
 * arena), and its Message-ID. */
/* The MTA's token exchange at its own AS (private_key_jwt and DPoP, both
 * keys required, else a retry naming `purpose`): the issued token in
 * *out. The AS refusing is final when it answered 4xx and, unless
 * any_4xx_final, said access_denied-like (FZ_EDENIED); else a retry. */
fz_mta_verdict fz_mta_exchange(fz_mta_job *j, const char *purpose,
			       const fz_oauth_param *p, size_t np, bool any_4xx_final,
			       const char **out);
fz_code fz_mta_load(fz_mta_job *j, json_t **doc, const char **message_id,
		    fz_err *err);
/* The newest assertion of the envelope (receipt blocks above it skipped),
 * NUL-terminated in the arena. */
fz_code fz_mta_newest_assertion(fz_mta_job *j, const json_t *doc,
				const char **out, fz_err *err);
/* base + path, base ending in "/" and path not starting with one. */
const char *fz_mta_url(fz_mta_job *j, const char *base, const char *path);
/* Percent-encodes everything but RFC 3986 unreserved characters. */
const char *fz_mta_escape(fz_mta_job *j, const char *s);

#endif
