/*
 * mbx_token_cache.h - access tokens already verified, by the SHA-256 of
 * the token. A webmail polls with the same token for up to 15 minutes;
 * checking its ES256 signature each time was half of a sync poll's CPU.
 * A hit stands for the whole check (signature, claims, the user's
 * mailbox) and lasts until the token's exp, which bounds what a cached
 * verdict can outlive: a key the AS withdrew, say.
 */
#ifndef FZ_MBX_TOKEN_CACHE_H
#define FZ_MBX_TOKEN_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct fz_token_cache fz_token_cache;

/* entries 0: no cache (*out NULL, and get/put on NULL do nothing). */
fz_code fz_token_cache_new(size_t entries, fz_token_cache **out, fz_err *err);
void fz_token_cache_free(fz_token_cache *c);

/* True when token was verified and now < its exp: its user, copied into
 * user (cap bytes, NUL-terminated). */
bool fz_token_cache_get(fz_token_cache *c, const char *token, size_t len, int64_t now,
			char *user, size_t cap);
/* Remembers a token that passed every check; a user longer than an
 * address is not kept. */
void fz_token_cache_put(fz_token_cache *c, const char *token, size_t len, const char *user,
			int64_t exp);

#endif
