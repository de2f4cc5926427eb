/* A peer's discovery documents and Note 1's redirect, as the network
 * gives them: no crash, no leak. An input starting with 'R' is the
 * Location of a redirect from the base; any other is a metadata body,
 * read both as AS metadata and as an MBX's resource metadata. What is
 * accepted holds only https URLs, an identifier that names the base, a
 * printable client_id and no more authorization servers than allowed;
 * an accepted redirect names an https base ending in '/'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "discovery_doc.h"

#define AS_BASE "https://as.example.com:8443/"
#define RS_BASE "https://mbx.example.com:8443/"
#define RESOLVE "as.example.com:8443:127.0.0.1"
#define MAX_AS 4

/* Kept as the peer wrote it (an issuer is compared as a string), so the
 * scheme's case is the peer's (RFC 3986 §3.1). */
static void https(const char *s)
{
	if (s == NULL || strncasecmp(s, "https://", 8) != 0)
		abort();
}

static void check_printable(const char *s)
{
	if (s == NULL || *s == '\0')
		abort();
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			abort();
}

static void read_docs(fz_arena *a, const uint8_t *data, size_t size)
{
	fz_disc_svc *s = NULL;
	fz_err err = {0};
	json_t *j;
	size_t i;

	if (fz_disc_json_object(a, AS_BASE ".well-known/x", (const char *)data, size, &j,
				&err) != FZ_OK)
		return;
	if (fz_disc_read_as_doc(j, AS_BASE "x", AS_BASE, RESOLVE, &s, &err) == FZ_OK) {
		https(s->issuer);
		https(s->jwks_uri);
		if (s->token_endpoint != NULL)
			https(s->token_endpoint);
		if (strcmp(s->base_url, AS_BASE) != 0 || strcmp(s->resolve, RESOLVE) != 0)
			abort();
	} else if (s != NULL) {
		abort();
	}
	fz_disc_svc_free(s);
	s = NULL;
	if (fz_disc_read_rs_doc(j, RS_BASE "x", RS_BASE, NULL, MAX_AS, &s, &err) == FZ_OK) {
		https(s->resource);
		check_printable(s->mta_client_id);
		if (s->n_as > MAX_AS || s->resolve != NULL)
			abort();
		for (i = 0; i < s->n_as; i++)
			https(s->as_list[i]);
	} else if (s != NULL) {
		abort();
	}
	fz_disc_svc_free(s);
}

static void read_redirect(fz_arena *a, const uint8_t *data, size_t size)
{
	char *loc = malloc(size + 1), *out = NULL;
	fz_url u = {0};
	fz_err err = {0};
	size_t n;

	if (loc == NULL)
		return;
	memcpy(loc, data, size);
	loc[size] = '\0';
	if (fz_disc_redirect_target(a, AS_BASE, loc, &u, &out, &err) == FZ_OK) {
		https(out);
		n = strlen(out);
		if (out[n - 1] != '/')
			abort();
	}
	fz_url_clear(&u);
	free(loc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_arena *a = fz_arena_new(0, 0);

	if (a == NULL)
		return 0;
	if (size > 0 && data[0] == 'R')
		read_redirect(a, data + 1, size - 1);
	else
		read_docs(a, data, size);
	fz_arena_free(a);
	return 0;
}
