/* URLs and the DPoP htu normal form: whatever comes in, no crash and no
 * leak; an accepted URL has a lowercase scheme and host and a path that
 * starts with '/', its htu parses back to the same parts, and the htu of
 * an htu is itself (normalising twice changes nothing). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

static void check_lower(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			abort();
}

static void check_htu(const fz_url *u, const char *htu)
{
	fz_url back;
	char *again = NULL;

	if (fz_url_parse(htu, strlen(htu), &back, NULL) != FZ_OK)
		abort();
	if (strcmp(back.scheme, u->scheme) != 0 || strcmp(back.host, u->host) != 0 ||
	    back.port != u->port || strcmp(back.path, u->path) != 0 ||
	    back.query != NULL || back.fragment != NULL)
		abort();
	if (fz_url_format_htu(&back, &again, NULL) != FZ_OK || strcmp(again, htu) != 0)
		abort();
	free(again);
	fz_url_clear(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char *htu = NULL, *direct = NULL;
	fz_url u;

	if (fz_url_parse(s, size, &u, NULL) != FZ_OK) {
		if (fz_url_htu(s, size, &direct, NULL) == FZ_OK)
			abort(); /* the two entry points must agree */
		return 0;
	}
	check_lower(u.scheme);
	check_lower(u.host);
	if (u.path[0] != '/' || u.port == 0 || strchr(u.host, '@') != NULL)
		abort();
	if (fz_url_format_htu(&u, &htu, NULL) != FZ_OK)
		abort();
	check_htu(&u, htu);
	if (fz_url_htu(s, size, &direct, NULL) != FZ_OK || strcmp(direct, htu) != 0)
		abort();
	free(direct);
	free(htu);
	fz_url_clear(&u);
	return 0;
}
