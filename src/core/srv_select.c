/*
 * srv_select.c - host name checks and RFC 2782 ordering of SRV records.
 *
 * The records are first sorted into a total order (priority, weight,
 * target, port) so the result depends only on the rng, never on the order
 * a DNS server happened to answer in; then each priority group is drawn
 * from as the RFC describes.
 */
#include "srv_select.h"

#include <stdlib.h>
#include <string.h>

static bool is_let_dig(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool fz_dns_name_ok(const char *name, size_t len)
{
	size_t i, label = 0, labels = 0;

	if (name == NULL)
		return false;
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > FZ_DNS_NAME_MAX)
		return false;
	for (i = 0; i <= len; i++) {
		char c = i < len ? name[i] : '.';

		if (c == '.') {
			/* a label starts and ends with a letter or digit */
			if (label == 0 || name[i - 1] == '-')
				return false;
			labels++;
			label = 0;
			continue;
		}
		if (!is_let_dig(c) && !(c == '-' && label > 0))
			return false;
		if (++label > FZ_DNS_LABEL_MAX)
			return false;
	}
	return labels >= 2;
}

fz_code fz_dns_name_normalize(const char *name, size_t len,
			      char out[FZ_DNS_NAME_MAX + 1], fz_err *err)
{
	size_t i;

	out[0] = '\0';
	if (!fz_dns_name_ok(name, len))
		return fz_fail(err, FZ_ESYNTAX, "not a domain name: \"%.*s\"",
			       (int)(len > 64 ? 64 : len), name ? name : "");
	if (name[len - 1] == '.')
		len--;
	for (i = 0; i < len; i++)
		out[i] = lower(name[i]);
	out[len] = '\0';
	return FZ_OK;
}

static bool is_root(const char *target)
{
	return target[0] == '\0' || strcmp(target, ".") == 0;
}

fz_code fz_srv_usable(fz_srv_record *recs, size_t *n, fz_err *err)
{
	char norm[FZ_DNS_NAME_MAX + 1];
	size_t i, kept = 0, roots = 0;

	if (*n == 0)
		return fz_fail(err, FZ_ENOTFOUND, "no SRV records");
	for (i = 0; i < *n; i++) {
		if (is_root(recs[i].target)) {
			roots++;
			continue;
		}
		if (recs[i].port == 0 ||
		    fz_dns_name_normalize(recs[i].target, strlen(recs[i].target),
					  norm, NULL) != FZ_OK)
			continue;
		recs[kept] = recs[i];
		memcpy(recs[kept].target, norm, sizeof(norm));
		kept++;
	}
	*n = kept;
	if (kept > 0)
		return FZ_OK;
	if (roots == i)
		return fz_fail(err, FZ_ENOTFOUND,
			       "service decidedly not available (SRV target \".\")");
	return fz_fail(err, FZ_ESTRUCT, "no SRV record has a usable target");
}

static int cmp_record(const void *pa, const void *pb)
{
	const fz_srv_record *a = pa, *b = pb;
	int c;

	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	if (a->weight != b->weight)
		return a->weight < b->weight ? -1 : 1;
	c = strcmp(a->target, b->target);
	if (c != 0)
		return c;
	return (a->port > b->port) - (a->port < b->port);
}

static void swap(fz_srv_record *a, fz_srv_record *b)
{
	fz_srv_record t = *a;

	*a = *b;
	*b = t;
}

/* Fisher-Yates over the weight-0 records at the head of the group. */
static void shuffle_zeros(fz_srv_record *g, size_t n, fz_srv_rng_fn rng,
			  void *ctx)
{
	size_t zeros = 0, i;

	while (zeros < n && g[zeros].weight == 0)
		zeros++;
	for (i = zeros; i > 1; i--)
		swap(&g[i - 1], &g[rng(ctx, (uint32_t)(i - 1))]);
}

/* One priority group g[0..n), weight-0 records first: draw the first
 * record, move it to the front keeping the rest in order, repeat on what
 * is left. Moving by rotation keeps the weight-0 records at the head. */
static void draw_group(fz_srv_record *g, size_t n, fz_srv_rng_fn rng, void *ctx)
{
	size_t i, pick;
	uint32_t sum, r, run;
	fz_srv_record chosen;

	for (; n > 1; g++, n--) {
		sum = 0;
		for (i = 0; i < n; i++)
			sum += g[i].weight; /* a DNS message holds < 4096 SRV records: no overflow */
		r = rng(ctx, sum);
		if (r > sum)
			r = sum; /* a misbehaving rng must not walk off the end */
		run = 0;
		for (pick = 0; pick < n - 1; pick++) {
			run += g[pick].weight;
			if (run >= r)
				break;
		}
		chosen = g[pick];
		memmove(&g[1], &g[0], pick * sizeof(*g));
		g[0] = chosen;
	}
}

void fz_srv_order(fz_srv_record *recs, size_t n, fz_srv_rng_fn rng, void *ctx)
{
	size_t start = 0, end;

	if (n < 2)
		return;
	qsort(recs, n, sizeof(*recs), cmp_record);
	while (start < n) {
		for (end = start + 1; end < n && recs[end].priority == recs[start].priority;
		     end++)
			;
		shuffle_zeros(&recs[start], end - start, rng, ctx);
		draw_group(&recs[start], end - start, rng, ctx);
		start = end;
	}
}
