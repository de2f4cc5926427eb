/*
 * as_admin.h - the checks and steps behind `federizer admin` (cmd_admin.c
 * parses the command line; this file decides what is acceptable). Every
 * refusal is a sentence an operator can act on.
 */
#ifndef FZ_AS_ADMIN_H
#define FZ_AS_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "as_store.h"
#include "config.h"
#include "err.h"

#define FZ_AS_LOCAL_PART_MAX 64 /* RFC 5321 §4.5.3.1.1 */

/* local@domain: a dot-atom local part (RFC 5322 §3.2.3) of at most 64
 * bytes, and a domain the AS serves (domains: in the config). */
fz_code fz_as_admin_check_address(const fz_as_config *cfg, const char *address,
				  fz_err *err);

/* A redirect URI a client may register: absolute, no fragment (RFC 6749
 * §3.1.2), https, or http to a loopback host only (RFC 8252 §7.3). */
fz_code fz_as_admin_check_redirect_uri(const char *uri, fz_err *err);

/* An https base URL: no query, no fragment (audience, sibling_of). */
fz_code fz_as_admin_check_base_url(const char *what, const char *url,
				   fz_err *err);

/* A client_id: 1..FZ_AS_CLIENT_ID_MAX of [A-Za-z0-9._~-]. */
fz_code fz_as_admin_check_client_id(const char *id, fz_err *err);

/* Hashes the password (at least FZ_AS_PASSWORD_MIN bytes) and adds the
 * user. */
fz_code fz_as_admin_user_add(const fz_as_config *cfg, fz_as_store *st,
			     const char *address, const char *password,
			     size_t len, int64_t now, fz_err *err);

/* What `admin client add` was told. */
typedef struct fz_as_client_spec {
	const char *client_id;
	fz_as_client_type type;
	bool first_party;
	const char *const *redirect_uris;
	size_t nredirect_uris;
	const char *jwks;    /* JWKS JSON text: private_key_jwt */
	const char *secret;  /* the secret itself: client_secret_basic */
	size_t secret_len;
	const char *audience;
	const char *sibling_of;
} fz_as_client_spec;

/* Checks the spec as a whole (a public client has redirect URIs and no
 * credentials; a confidential one exactly one of jwks and secret; a JWKS
 * holds public signing keys we can use), hashes a secret, adds it. */
fz_code fz_as_admin_client_add(fz_as_store *st, const fz_as_client_spec *spec,
			       int64_t now, fz_err *err);

#endif
