/* DNS answers as the configured server sends them: whatever the bytes,
 * no crash, no leak, no read past the buffer. An accepted answer keeps
 * at most max_records records, a TTL below 2^31 (0 when none) and
 * terminated targets; the SRV records then go through the selection
 * discovery makes (usable, ordered) as they would in production.
 * Each input is read as an SRV, an A and an AAAA answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns_answer.h"
#include "srv_select.h"

#define MAX_RECORDS FZ_DNS_MAX_RECORDS_DEFAULT

static uint32_t fixed_rng(void *ctx, uint32_t bound)
{
	uint32_t *state = ctx;

	*state = *state * 1103515245u + 12345u;
	return bound == UINT32_MAX ? *state : *state % (bound + 1);
}

static void read_as(int type, const uint8_t *data, size_t size)
{
	static fz_srv_record srv[MAX_RECORDS];
	static fz_dns_addr addr[MAX_RECORDS];
	fz_dns_answer ans = {.name = "_federizer._as._tcp.example.com", .type = type,
			     .max_records = MAX_RECORDS, .srv = srv, .addr = addr};
	fz_err err = {0};
	uint32_t state = (uint32_t)size;
	size_t i, n;
	fz_code rc;

	rc = fz_dns_answer_parse(&ans, data, size, &err);
	if (rc != FZ_OK) {
		if ((rc != FZ_ESTRUCT && rc != FZ_ELIMIT) || strncmp(err.msg, "dns: ", 5) != 0)
			abort();
		return;
	}
	if (ans.n > MAX_RECORDS || ans.ttl > INT32_MAX || (ans.n == 0 && ans.ttl != 0))
		abort();
	if (type != FZ_DNS_TYPE_SRV)
		return;
	for (i = 0; i < ans.n; i++)
		if (memchr(srv[i].target, '\0', sizeof(srv[i].target)) == NULL)
			abort();
	n = ans.n;
	rc = fz_srv_usable(srv, &n, &err);
	if (rc != FZ_OK && rc != FZ_ENOTFOUND && rc != FZ_ESTRUCT)
		abort();
	if (rc == FZ_OK) {
		if (n == 0 || n > ans.n)
			abort();
		fz_srv_order(srv, n, fixed_rng, &state);
		for (i = 1; i < n; i++)
			if (srv[i].priority < srv[i - 1].priority)
				abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	read_as(FZ_DNS_TYPE_SRV, data, size);
	read_as(FZ_DNS_TYPE_A, data, size);
	read_as(FZ_DNS_TYPE_AAAA, data, size);
	return 0;
}
