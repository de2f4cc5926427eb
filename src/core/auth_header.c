/*
 * auth_header.c - splitting an Authorization value (auth_header.h).
 */
#include "auth_header.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_token68(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

fz_code fz_auth_credentials(const char *h, size_t n, const char *scheme,
			    const char **token, size_t *token_len, fz_err *err)
{
	size_t sl = strlen(scheme), i, start, end;

	*token = NULL;
	*token_len = 0;
	if (n <= sl || strncasecmp(h, scheme, sl) != 0 || h[sl] != ' ')
		return fz_fail(err, FZ_ESTRUCT, "the Authorization scheme is not %s", scheme);
	for (i = sl; i < n && h[i] == ' '; i++)
		;
	start = i;
	while (i < n && is_token68((unsigned char)h[i]))
		i++;
	if (i == start)
		return fz_fail(err, FZ_ESYNTAX, "the %s credentials are empty", scheme);
	while (i < n && h[i] == '=')
		i++;
	end = i;
	while (i < n && h[i] == ' ')
		i++;
	if (i != n)
		return fz_fail(err, FZ_ESYNTAX, "the %s credentials are not a token68", scheme);
	*token = h + start;
	*token_len = end - start;
	return FZ_OK;
}
