/* The header value readers we own, one per input chosen by its first
 * byte, the rest being the value: header names and values of the
 * Placeholder model, Content-Type and Content-Disposition (MIME), address
 * lists, Message-IDs, mail domains as DNS names, Cache-Control, and the
 * Authorization scheme/token split; and the SRV records of a DNS answer
 * (ordered as RFC 2782 says). No crash, no leak, and what is
 * accepted holds together: a value check never lets CR, LF or NUL
 * through, parsed addresses and domains are lowercase and parse again, a
 * chosen lifetime never exceeds 2^31, a token is a non-empty token68
 * inside the value, usable SRV records have a port and a host name and
 * keep their order by priority. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth_header.h"
#include "cache_ttl.h"
#include "placeholder.h"
#include "srv_select.h"

static void value_check(const char *s, size_t n)
{
	bool name = fz_header_name_valid(s, n);

	if (name && (memchr(s, ':', n) != NULL || memchr(s, ' ', n) != NULL))
		abort();
	if (fz_header_value_check(s, n, 256, NULL) != FZ_OK)
		return;
	if (n > 256 || memchr(s, '\r', n) || memchr(s, '\n', n) || memchr(s, '\0', n))
		abort();
}

static void mime(const char *s, size_t n, bool subtype)
{
	fz_mime m;
	size_t i;

	if (fz_mime_parse(s, n, subtype, &m, NULL) != FZ_OK)
		return;
	if (m.nparams > FZ_MIME_MAX_PARAMS || (subtype && strchr(m.type, '/') == NULL))
		abort();
	for (i = 0; i < m.nparams; i++)
		if (fz_mime_param_get(&m, m.params[i].name) != &m.params[i] ||
		    strlen(m.params[i].value) != m.params[i].value_len)
			abort();
	fz_mime_free(&m);
}

static void lower_domain(const char *d)
{
	for (; *d; d++)
		if (*d >= 'A' && *d <= 'Z')
			abort();
}

static void addrs(const char *s, size_t n)
{
	fz_addr_list l = {0}, again = {0};
	size_t i;

	if (fz_addr_list_parse(s, n, 8, &l, NULL) != FZ_OK) {
		fz_addr_list_free(&l);
		return;
	}
	if (l.n == 0 || l.n > 8)
		abort();
	for (i = 0; i < l.n; i++) {
		if (l.v[i].spec[l.v[i].at] != '@')
			abort();
		lower_domain(l.v[i].spec + l.v[i].at + 1);
		/* a bare addr-spec we produced reads back as itself */
		if (fz_addr_list_parse(l.v[i].spec, strlen(l.v[i].spec), 8, &again, NULL) !=
			    FZ_OK ||
		    again.n != 1 || strcmp(again.v[0].spec, l.v[i].spec) != 0)
			abort();
		fz_addr_list_free(&again);
		memset(&again, 0, sizeof(again));
	}
	fz_addr_list_free(&l);
}

static void msgid(const char *s, size_t n)
{
	fz_msgid m;

	if (fz_msgid_parse(s, n, &m, NULL) != FZ_OK)
		return;
	if (m.left < s || m.left + m.left_len > s + n || m.left_len == 0)
		abort();
	lower_domain(m.domain);
}

static void dns_name(const char *s, size_t n)
{
	char out[FZ_DNS_NAME_MAX + 1], again[FZ_DNS_NAME_MAX + 1];
	bool ok = fz_dns_name_ok(s, n);

	if ((fz_dns_name_normalize(s, n, out, NULL) == FZ_OK) != ok)
		abort();
	if (!ok)
		return;
	lower_domain(out);
	if (fz_dns_name_normalize(out, strlen(out), again, NULL) != FZ_OK ||
	    strcmp(out, again) != 0)
		abort();
}

static void cache_control(const char *s, size_t n)
{
	char *cc = malloc(n + 1);
	uint32_t secs = 7;

	if (cc == NULL)
		return;
	memcpy(cc, s, n);
	cc[n] = '\0';
	if (fz_cache_control_max_age(cc, &secs)) {
		if (secs > FZ_CACHE_DELTA_SECONDS_MAX)
			abort();
	} else if (secs != 7) {
		abort(); /* false leaves *seconds alone */
	}
	free(cc);
}

static void credentials(const char *s, size_t n)
{
	static const char *const schemes[] = {"Bearer", "DPoP", "Basic"};
	const char *t;
	size_t i, j, len;

	for (i = 0; i < 3; i++) {
		if (fz_auth_credentials(s, n, schemes[i], &t, &len, NULL) != FZ_OK)
			continue;
		if (len == 0 || t < s + strlen(schemes[i]) + 1 || t + len > s + n)
			abort();
		for (j = 0; j < len; j++)
			if (t[j] == ' ' || t[j] == ',' || (unsigned char)t[j] <= 32 ||
			    (unsigned char)t[j] >= 127)
				abort();
	}
}

#define SRV_MAX 8

struct bytes {
	const uint8_t *p;
	size_t n;
};

static uint32_t take(struct bytes *b, size_t k)
{
	uint32_t v = 0;

	for (; k > 0; k--) {
		v = v << 8 | (b->n > 0 ? *b->p : 0);
		if (b->n > 0) {
			b->p++;
			b->n--;
		}
	}
	return v;
}

static uint32_t rng(void *ctx, uint32_t bound)
{
	uint32_t v = take(ctx, 4);

	return bound == UINT32_MAX ? v : v % (bound + 1);
}

/* Records: priority, weight, port (2 bytes each), a length byte and the
 * target; the bytes left over feed the draw. */
static void srv(const char *s, size_t n)
{
	struct bytes b = {(const uint8_t *)s, n};
	fz_srv_record r[SRV_MAX];
	size_t i, k = 0, len, before[65536 / 8] = {0};

	memset(r, 0, sizeof(r));
	while (k < SRV_MAX && b.n >= 7) {
		r[k].priority = (uint16_t)take(&b, 2);
		r[k].weight = (uint16_t)take(&b, 2);
		r[k].port = (uint16_t)take(&b, 2);
		len = take(&b, 1) % (FZ_DNS_NAME_MAX + 1);
		len = len < b.n ? len : b.n;
		memcpy(r[k].target, b.p, len);
		r[k].target[len] = '\0';
		b.p += len;
		b.n -= len;
		k++;
	}
	if (fz_srv_usable(r, &k, NULL) != FZ_OK)
		return;
	for (i = 0; i < k; i++) {
		if (r[i].port == 0 || !fz_dns_name_ok(r[i].target, strlen(r[i].target)))
			abort();
		lower_domain(r[i].target);
		before[r[i].priority / 8] += 1;
	}
	fz_srv_order(r, k, rng, &b);
	for (i = 0; i < k; i++) {
		if (i > 0 && r[i].priority < r[i - 1].priority)
			abort();
		if (before[r[i].priority / 8]-- == 0)
			abort(); /* a record the order made up */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;
	size_t n = size - 1;

	if (size == 0)
		return 0;
	switch (data[0] % 9) {
	case 0: value_check(s, n); break;
	case 1: mime(s, n, true); break;
	case 2: mime(s, n, false); break;
	case 3: addrs(s, n); break;
	case 4: msgid(s, n); break;
	case 5: dns_name(s, n); break;
	case 6: cache_control(s, n); break;
	case 7: credentials(s, n); break;
	default: srv(s, n); break;
	}
	return 0;
}
