/*
 * as_admin.c - what makes a user or a client acceptable to the AS. The
 * checks live here, not in the command, so the login and registration
 * code of later work can reuse them and tests can reach them.
 */
#include "as_admin.h"

#include <stdlib.h>
#include <string.h>

#include "as_password.h"
#include "jwk.h"
#include "url.h"

/* RFC 5322 §3.2.3 atext. */
static bool is_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool dot_atom(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (s[i] != '.' && !is_atext(s[i]))
			return false;
	}
	return true;
}

fz_code fz_as_admin_check_address(const fz_as_config *cfg, const char *address,
				  fz_err *err)
{
	const char *at = strrchr(address, '@');
	size_t local, n = strlen(address);

	if (at == NULL || n > FZ_AS_ADDRESS_MAX)
		return fz_fail(err, FZ_ESYNTAX, "'%.80s' is not an address like alice@example.com",
			       address);
	local = (size_t)(at - address);
	if (local > FZ_AS_LOCAL_PART_MAX || !dot_atom(address, local))
		return fz_fail(err, FZ_ESYNTAX, "'%.*s' is not a valid local part (letters, "
			       "digits, !#$%%&'*+-/=?^_`{|}~ and single dots, at most %d)",
			       (int)(local > 80 ? 80 : local), address, FZ_AS_LOCAL_PART_MAX);
	if (!fz_as_config_has_domain(cfg, at + 1, strlen(at + 1)))
		return fz_fail(err, FZ_EDENIED, "domain '%.80s' is not served by this AS "
			       "(domains: in the configuration)", at + 1);
	return FZ_OK;
}

static bool loopback(const char *host)
{
	return strcmp(host, "127.0.0.1") == 0 || strcmp(host, "[::1]") == 0 ||
	       strcmp(host, "localhost") == 0;
}

fz_code fz_as_admin_check_redirect_uri(const char *uri, fz_err *err)
{
	fz_err uerr = {0};
	fz_url u;
	fz_code rc = FZ_OK;

	if (fz_url_parse(uri, strlen(uri), &u, &uerr) != FZ_OK)
		return fz_fail(err, FZ_ESYNTAX, "redirect URI '%.100s': %s", uri, uerr.msg);
	if (u.fragment != NULL)
		rc = fz_fail(err, FZ_ESYNTAX, "redirect URI '%.100s' has a fragment "
			     "(RFC 6749 §3.1.2)", uri);
	else if (strcmp(u.scheme, "http") == 0 && !loopback(u.host))
		rc = fz_fail(err, FZ_ESYNTAX, "redirect URI '%.100s' is http: only https, "
			     "or http to 127.0.0.1, [::1] or localhost", uri);
	fz_url_clear(&u);
	return rc;
}

fz_code fz_as_admin_check_base_url(const char *what, const char *url,
				   fz_err *err)
{
	fz_err uerr = {0};
	fz_url u;
	fz_code rc = FZ_OK;

	if (fz_url_parse(url, strlen(url), &u, &uerr) != FZ_OK)
		return fz_fail(err, FZ_ESYNTAX, "%s '%.100s': %s", what, url, uerr.msg);
	if (strcmp(u.scheme, "https") != 0)
		rc = fz_fail(err, FZ_ESYNTAX, "%s '%.100s' must be an https URL", what, url);
	else if (u.query != NULL || u.fragment != NULL)
		rc = fz_fail(err, FZ_ESYNTAX, "%s '%.100s' must have no query or fragment",
			     what, url);
	fz_url_clear(&u);
	return rc;
}

fz_code fz_as_admin_check_client_id(const char *id, fz_err *err)
{
	size_t i, n = strlen(id);

	if (n == 0 || n > FZ_AS_CLIENT_ID_MAX)
		return fz_fail(err, FZ_ESYNTAX, "a client id has 1 to %d characters",
			       FZ_AS_CLIENT_ID_MAX);
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._~-", c) != NULL))
			return fz_fail(err, FZ_ESYNTAX, "client id '%.80s': only letters, "
				       "digits, '.', '_', '~' and '-'", id);
	}
	return FZ_OK;
}

fz_code fz_as_admin_user_add(const fz_as_config *cfg, fz_as_store *st,
			     const char *address, const char *password,
			     size_t len, int64_t now, fz_err *err)
{
	char hash[FZ_AS_PASSWORD_HASH_MAX];
	fz_code rc = fz_as_admin_check_address(cfg, address, err);

	if (rc != FZ_OK)
		return rc;
	if (len < FZ_AS_PASSWORD_MIN)
		return fz_fail(err, FZ_ESYNTAX, "password shorter than %d bytes",
			       FZ_AS_PASSWORD_MIN);
	if (memchr(password, '\0', len) != NULL)
		return fz_fail(err, FZ_ESYNTAX, "password contains a NUL byte");
	rc = fz_as_password_hash(password, len, hash, err);
	if (rc == FZ_OK)
		rc = fz_as_store_user_add(st, address, hash, now, err);
	return rc;
}

/* A JWKS with at least one public signing key we can verify with,
 * reserialized compactly for the database. */
static fz_code check_jwks(const char *text, char **out, fz_err *err)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	fz_keyset *set = NULL;
	fz_code rc = FZ_OK;

	*out = NULL;
	if (j == NULL)
		return fz_fail(err, FZ_ESYNTAX, "JWKS is not JSON: %s (line %d)", jerr.text,
			       jerr.line);
	rc = fz_keyset_from_jwks(j, &set, err);
	if (rc != FZ_OK)
		fz_err_prefix(err, "JWKS");
	else if (fz_keyset_count(set) == 0)
		rc = fz_fail(err, FZ_EKEY, "JWKS holds no ES256 or RS256 signing key");
	if (rc == FZ_OK && (*out = json_dumps(j, JSON_COMPACT)) == NULL)
		rc = fz_fail(err, FZ_ENOMEM, "out of memory");
	fz_keyset_free(set);
	json_decref(j);
	return rc;
}

static fz_code check_spec(const fz_as_client_spec *s, fz_err *err)
{
	size_t i;
	fz_code rc = fz_as_admin_check_client_id(s->client_id, err);

	for (i = 0; rc == FZ_OK && i < s->nredirect_uris; i++)
		rc = fz_as_admin_check_redirect_uri(s->redirect_uris[i], err);
	if (rc == FZ_OK && s->audience != NULL)
		rc = fz_as_admin_check_base_url("audience", s->audience, err);
	if (rc == FZ_OK && s->sibling_of != NULL)
		rc = fz_as_admin_check_base_url("sibling-of", s->sibling_of, err);
	if (rc != FZ_OK)
		return rc;
	if (s->type == FZ_CLIENT_PUBLIC) {
		if (s->jwks != NULL || s->secret != NULL)
			return fz_fail(err, FZ_ESTRUCT, "a public client has no JWKS or secret");
		if (s->nredirect_uris == 0)
			return fz_fail(err, FZ_ESTRUCT, "a public client needs a redirect URI");
		if (s->sibling_of != NULL)
			return fz_fail(err, FZ_ESTRUCT, "only a confidential client (an MTA) "
				       "can be the sibling of a mailbox");
		return FZ_OK;
	}
	if ((s->jwks != NULL) == (s->secret != NULL))
		return fz_fail(err, FZ_ESTRUCT, "a confidential client needs a JWKS "
			       "(private_key_jwt) or a secret (client_secret_basic), one of them");
	if (s->secret != NULL && s->secret_len < FZ_AS_SECRET_MIN)
		return fz_fail(err, FZ_ESYNTAX, "client secret shorter than %d bytes",
			       FZ_AS_SECRET_MIN);
	if (s->secret != NULL && memchr(s->secret, '\0', s->secret_len) != NULL)
		return fz_fail(err, FZ_ESYNTAX, "client secret contains a NUL byte");
	return FZ_OK;
}

fz_code fz_as_admin_client_add(fz_as_store *st, const fz_as_client_spec *s,
			       int64_t now, fz_err *err)
{
	char hash[FZ_AS_PASSWORD_HASH_MAX];
	fz_as_client c = {0};
	char *jwks = NULL;
	fz_code rc = check_spec(s, err);

	if (rc == FZ_OK && s->jwks != NULL)
		rc = check_jwks(s->jwks, &jwks, err);
	if (rc == FZ_OK && s->secret != NULL)
		rc = fz_as_password_hash(s->secret, s->secret_len, hash, err);
	if (rc != FZ_OK) {
		free(jwks);
		return rc;
	}
	c.client_id = s->client_id;
	c.type = s->type;
	c.first_party = s->first_party;
	c.auth_method = s->type == FZ_CLIENT_PUBLIC ? FZ_AUTH_NONE
			: jwks != NULL ? FZ_AUTH_PRIVATE_KEY_JWT
				       : FZ_AUTH_CLIENT_SECRET_BASIC;
	c.jwks = jwks;
	c.secret_hash = s->secret != NULL ? hash : NULL;
	c.audience = s->audience;
	c.sibling_of = s->sibling_of;
	c.redirect_uris = s->redirect_uris;
	c.nredirect_uris = s->nredirect_uris;
	rc = fz_as_store_client_add(st, &c, now, err);
	free(jwks);
	return rc;
}
