/*
 * auth_header.h - the Authorization request header (RFC 9110 §11.6.2):
 * `scheme 1*SP token68`, read the same way for Bearer (RFC 6750 §2.1),
 * DPoP (RFC 9449 §7.1) and Basic (RFC 7617) so that no server part splits
 * it by hand. Pure: the caller passes the header's value.
 */
#ifndef FZ_CORE_AUTH_HEADER_H
#define FZ_CORE_AUTH_HEADER_H

#include <stddef.h>

#include "err.h"

/* Reads h[0..n) as credentials of the given scheme (compared case-
 * insensitively). On success *token points into h at the token68 and
 * *token_len is its length; trailing spaces are allowed and not counted.
 * FZ_ESTRUCT when the scheme is another one (or there is no space after
 * it), FZ_ESYNTAX when the token is empty or holds a byte token68 does
 * not allow (RFC 9110 §11.2: ALPHA DIGIT -._~+/ then trailing '='). */
fz_code fz_auth_credentials(const char *h, size_t n, const char *scheme,
			    const char **token, size_t *token_len, fz_err *err);

#endif
