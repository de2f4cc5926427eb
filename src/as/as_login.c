/*
 * as_login.c - /login, the password form (SPEC §6, §12). GET shows it;
 * POST checks, in this order:
 *
 *   1. the CSRF token against the browser's session (403 otherwise), so
 *      another site cannot log a browser in or probe passwords through it;
 *   2. the throttles, per account typed and per client address (429 with
 *      Retry-After while either is locked; login.* settings);
 *   3. username (the full address) and password with Argon2id; an
 *      unknown user costs the same hash and gets the same answer as a
 *      wrong password, and counts against the same throttle, so neither
 *      the page nor its timing nor the lockout tells who exists.
 *
 * Success replaces the session by a signed-in one (new id) and sends the
 * browser back to the pending /authorize request it carried, rebuilt from
 * its parameters so the redirect can only ever go to our own endpoint.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "as_http.h"
#include "as_pages.h"
#include "as_password.h"
#include "as_session.h"
#include "as_web.h"

#define MSG_FAILED "Wrong email address or password."
#define MSG_THROTTLED "Too many failed sign-ins. Please wait and try again later."
#define MSG_STALE "The sign-in form expired or did not come from this server. Please try again."
#define MSG_MISSING "Enter your email address and password."

static fz_code h_login_get(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_as *as = ctx;
	fz_as_session s;
	fz_as_login_page p = {0};
	fz_code rc = fz_as_session_ensure(as, req, fz_as_now(as), &s, err);

	if (rc != FZ_OK)
		return rc;
	p.csrf = s.csrf;
	return fz_as_page_login(as, req, 200, &p, err);
}

/* The pending /authorize request, re-encoded from its parsed parameters:
 * only a well-formed query comes out, and it is only ever appended to
 * our authorization endpoint. NULL when the form carried none. */
static fz_code pending_authz(fz_as *as, fz_http_req *req, const fz_form *form,
			     const char **out, fz_err *err)
{
	const fz_as_limits_config *l = &as->cfg->limits;
	fz_form_limits lim = {(size_t)l->max_form_params, (size_t)l->max_param_bytes};
	const char *raw = fz_form_get(form, FZ_AS_AUTHZ_FIELD);
	fz_form q;
	fz_html h;
	size_t i, n;
	fz_code rc;

	*out = NULL;
	if (raw == NULL || *raw == '\0')
		return FZ_OK;
	rc = fz_query_parse(req->arena, raw, strlen(raw), &lim, &q, err);
	if (rc != FZ_OK)
		return rc;
	fz_html_init(&h, req->arena, FZ_HTML_PAGE_MAX);
	for (i = 0; i < q.count; i++)
		fz_query_add(&h, q.params[i].name, q.params[i].value);
	return fz_html_finish(&h, out, &n, err);
}

/* The form again, with why it is shown and what was typed (escaped by
 * the page), in the session s (or a new one when s has none). */
static fz_code again(fz_as *as, fz_http_req *req, unsigned status,
		     const fz_as_session *s, const char *authz,
		     const char *username, const char *msg, fz_err *err)
{
	fz_as_login_page p = {.authz = authz, .username = username, .message = msg};
	fz_as_session fresh;
	fz_code rc;

	if (s == NULL) {
		rc = fz_as_session_ensure(as, req, fz_as_now(as), &fresh, err);
		if (rc != FZ_OK)
			return rc;
		s = &fresh;
	}
	p.csrf = s->csrf;
	return fz_as_page_login(as, req, status, &p, err);
}

/* The throttle key of an account: the address as typed, lowercased and
 * bounded, so case variants of one name share one counter. */
static const char *account_key(fz_arena *a, const char *username)
{
	char *k = fz_arena_strndup(a, username, FZ_AS_ADDRESS_MAX);
	char *p;

	for (p = k; p != NULL && *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

/* *until: the later lock of the two keys, 0 when neither is locked. */
static fz_code locked(fz_as *as, const char *account, const char *client,
		      int64_t now, int64_t *until, fz_err *err)
{
	int64_t a = 0, b = 0;
	fz_code rc = fz_as_store_login_locked(as->store, FZ_THROTTLE_ACCOUNT, account,
					      now, &a, err);

	if (rc == FZ_OK)
		rc = fz_as_store_login_locked(as->store, FZ_THROTTLE_ADDRESS, client, now,
					      &b, err);
	*until = a > b ? a : b;
	return rc;
}

static fz_code count_failure(fz_as *as, const char *account, const char *client,
			     int64_t now, fz_err *err)
{
	const fz_as_login_config *l = &as->cfg->login;
	fz_as_throttle_policy acc = {l->max_failures, (int64_t)l->window, (int64_t)l->lockout};
	fz_as_throttle_policy adr = {l->max_address_failures, (int64_t)l->window,
				     (int64_t)l->lockout};
	fz_code rc = fz_as_store_login_failed(as->store, FZ_THROTTLE_ACCOUNT, account, now,
					      &acc, NULL, err);

	if (rc == FZ_OK)
		rc = fz_as_store_login_failed(as->store, FZ_THROTTLE_ADDRESS, client, now,
					      &adr, NULL, err);
	return rc;
}

/* FZ_OK and the user when the password is theirs; FZ_EDENIED when not
 * (or no such user: the same hash's time is spent on a NULL record). */
static fz_code check_password(fz_as *as, fz_http_req *req, const char *username,
			      const char *password, fz_as_user *user, fz_err *err)
{
	size_t n = strlen(password);
	fz_code rc = FZ_ENOTFOUND;

	memset(user, 0, sizeof(*user));
	if (strlen(username) <= FZ_AS_ADDRESS_MAX)
		rc = fz_as_store_user_find(as->store, req->arena, username, user, err);
	if (rc != FZ_OK && rc != FZ_ENOTFOUND && rc != FZ_ESYNTAX)
		return rc;
	fz_err_clear(err);
	/* Over FZ_AS_PASSWORD_MAX verify refuses at once, for anyone. */
	return fz_as_password_verify(rc == FZ_OK ? user->password_hash : NULL,
				     password, n, err);
}

static fz_code throttled(fz_as *as, fz_http_req *req, const fz_as_session *s,
			 const char *authz, const char *username, int64_t wait,
			 fz_err *err)
{
	char secs[24];
	fz_code rc;

	snprintf(secs, sizeof(secs), "%lld", (long long)(wait > 0 ? wait : 1));
	rc = fz_http_add_header(req, "Retry-After", secs, err);
	if (rc != FZ_OK)
		return rc;
	return again(as, req, 429, s, authz, username, MSG_THROTTLED, err);
}

/* Signed in: a new session, then back to /authorize (or a page). */
static fz_code succeed(fz_as *as, fz_http_req *req, const fz_as_session *old,
		       const fz_as_user *user, const char *authz, int64_t now,
		       fz_err *err)
{
	fz_as_session s;
	const char *loc;
	fz_code rc = fz_as_session_login(as, req, old, user->id, now, &s, err);

	if (rc != FZ_OK)
		return rc;
	if (authz == NULL)
		return fz_as_page_signed_in(req, user->address, err);
	loc = fz_arena_printf(req->arena, "%s?%s", as->authorization_endpoint, authz);
	if (loc == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if ((rc = fz_http_add_header(req, "Cache-Control", "no-store", err)) ||
	    (rc = fz_http_add_header(req, "Referrer-Policy", "no-referrer", err)))
		return rc;
	return fz_http_respond_redirect(req, 303, loc, err);
}

/* Steps 2 and 3 of the header, in a session whose CSRF token matched. */
static fz_code attempt(fz_as *as, fz_http_req *req, const fz_as_session *s,
		       const char *authz, const char *username,
		       const char *password, int64_t now, fz_err *err)
{
	const char *account = account_key(req->arena, username);
	const char *client = req->client ? req->client : "";
	fz_as_user user;
	int64_t until;
	fz_code rc;

	if (account == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	if ((rc = locked(as, account, client, now, &until, err)) != FZ_OK)
		return rc;
	if (until > now)
		return throttled(as, req, s, authz, username, until - now, err);
	rc = check_password(as, req, username, password, &user, err);
	if (rc == FZ_OK) {
		if ((rc = fz_as_store_login_clear(as->store, FZ_THROTTLE_ACCOUNT, account,
						  err)) != FZ_OK)
			return rc;
		return succeed(as, req, s, &user, authz, now, err);
	}
	if (rc != FZ_EDENIED)
		return rc;
	fz_err_clear(err);
	if ((rc = count_failure(as, account, client, now, err)) != FZ_OK)
		return rc;
	return again(as, req, 200, s, authz, username, MSG_FAILED, err);
}

static fz_code h_login_post(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_as *as = ctx;
	int64_t now = fz_as_now(as);
	const char *authz, *username, *password;
	fz_as_session s;
	fz_form form;
	fz_err why = {0};
	bool found;
	fz_code rc;

	if (fz_http_req_form(req, &form, &why) != FZ_OK ||
	    fz_form_require_unique(&form, &why) != FZ_OK ||
	    pending_authz(as, req, &form, &authz, &why) != FZ_OK)
		return fz_as_page_error(req, 400, "Sign-in refused", why.msg, err);
	username = fz_form_get(&form, "username");
	password = fz_form_get(&form, "password");
	if ((rc = fz_as_session_load(as, req, now, &s, &found, err)) != FZ_OK)
		return rc;
	if (!found || !fz_as_csrf_ok(&s, fz_form_get(&form, FZ_AS_CSRF_FIELD)))
		return again(as, req, 403, found ? &s : NULL, authz, username, MSG_STALE, err);
	if (username == NULL || *username == '\0' || password == NULL || *password == '\0')
		return again(as, req, 400, &s, authz, username, MSG_MISSING, err);
	return attempt(as, req, &s, authz, username, password, now, err);
}

fz_code fz_as_login_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	fz_code rc = fz_http_server_add(srv, "GET", FZ_AS_PATH_LOGIN, h_login_get, as, err);

	if (rc == FZ_OK)
		rc = fz_http_server_add(srv, "POST", FZ_AS_PATH_LOGIN, h_login_post, as, err);
	return rc;
}
