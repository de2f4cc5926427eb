/*
 * as_authorize.c - /authorize (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 9207,
 * SPEC §6). GET carries the request from the client; POST is the
 * consent form posting the same request back with the user's answer and
 * the session's CSRF token.
 *
 * The request is checked in the two steps of as_authz.h (error page,
 * then error redirect). A browser without a signed-in session gets the
 * login form, which carries the request and comes back here after a
 * login (as_login.c); a client not marked first-party gets the consent
 * form; then a code goes to the redirect URI with state and iss.
 */
#include <string.h>

#include "as_authz.h"
#include "as_http.h"
#include "as_pages.h"
#include "as_session.h"

#define REFUSED_TITLE "Authorization request refused"

/* Step 1 failed: a page, never a redirect. Our own failure (5xx) goes
 * to the server's error answer so the log keeps its message. */
static fz_code refuse_page(fz_http_req *req, const fz_err *why, fz_err *err)
{
	if (why->status >= 500) {
		*err = *why;
		return why->code;
	}
	return fz_as_page_error(req, 400, REFUSED_TITLE, why->msg, err);
}

/* Step 2 failed: the client hears it at its redirect URI. */
static fz_code refuse_redirect(fz_as *as, fz_http_req *req, const fz_as_authz *az,
			       const fz_err *why, unsigned status, fz_err *err)
{
	if (why->status >= 500) {
		*err = *why;
		return why->code;
	}
	return fz_as_authz_redirect_error(as, req, az, why, status, err);
}

/* The login form, carrying the request, in a session that binds its
 * CSRF token to this browser. */
static fz_code ask_login(fz_as *as, fz_http_req *req, const fz_as_authz *az,
			 int64_t now, fz_err *err)
{
	fz_as_session s;
	fz_as_login_page p = {0};
	fz_code rc = fz_as_session_ensure(as, req, now, &s, err);

	if (rc == FZ_OK)
		rc = fz_as_authz_query(req->arena, az, &p.authz, err);
	if (rc != FZ_OK)
		return rc;
	p.csrf = s.csrf;
	return fz_as_page_login(as, req, 200, &p, err);
}

/* The signed-in user of the request's session; *user NULL when there is
 * none (no cookie, expired, anonymous, or the user was removed since). */
static fz_code signed_in(fz_as *as, fz_http_req *req, int64_t now,
			 fz_as_session *s, fz_as_user *user, bool *yes, fz_err *err)
{
	bool found;
	fz_code rc = fz_as_session_load(as, req, now, s, &found, err);

	*yes = false;
	if (rc != FZ_OK || !found || s->user_id == 0)
		return rc;
	rc = fz_as_store_user_get(as->store, req->arena, s->user_id, user, err);
	if (rc == FZ_ENOTFOUND) {
		fz_err_clear(err);
		return FZ_OK;
	}
	*yes = rc == FZ_OK;
	return rc;
}

static fz_code h_authorize_get(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_as *as = ctx;
	int64_t now = fz_as_now(as);
	fz_as_authz az;
	fz_as_session s;
	fz_as_user user;
	fz_err why = {0};
	bool yes;
	fz_code rc;

	if (fz_as_authz_client(as, req, &req->query, &az, &why) != FZ_OK)
		return refuse_page(req, &why, err);
	if (fz_as_authz_check(as, &req->query, &az, &why) != FZ_OK)
		return refuse_redirect(as, req, &az, &why, 302, err);
	if ((rc = signed_in(as, req, now, &s, &user, &yes, err)) != FZ_OK)
		return rc;
	if (!yes)
		return ask_login(as, req, &az, now, err);
	if (!az.client.first_party)
		return fz_as_page_consent(as, req, &az, user.address, s.csrf, err);
	return fz_as_authz_grant(as, req, &az, user.id, now, 302, err);
}

/* The consent form's answer. Its CSRF token is checked before anything
 * is granted or redirected: another site cannot post a consent. */
static fz_code h_authorize_post(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_as *as = ctx;
	int64_t now = fz_as_now(as);
	fz_as_authz az;
	fz_as_session s;
	fz_as_user user;
	fz_form form;
	fz_err why = {0};
	const char *answer;
	bool yes;
	fz_code rc;

	if (fz_http_req_form(req, &form, &why) != FZ_OK ||
	    fz_as_authz_client(as, req, &form, &az, &why) != FZ_OK)
		return refuse_page(req, &why, err);
	if ((rc = signed_in(as, req, now, &s, &user, &yes, err)) != FZ_OK)
		return rc;
	if (!yes) {
		/* The session ended while the form was open: sign in again. */
		if (fz_as_authz_check(as, &form, &az, &why) != FZ_OK)
			return refuse_redirect(as, req, &az, &why, 303, err);
		return ask_login(as, req, &az, now, err);
	}
	if (!fz_as_csrf_ok(&s, fz_form_get(&form, FZ_AS_CSRF_FIELD)))
		return fz_as_page_error(req, 403, REFUSED_TITLE,
					"The form is stale or did not come from this server.", err);
	if (fz_as_authz_check(as, &form, &az, &why) != FZ_OK)
		return refuse_redirect(as, req, &az, &why, 303, err);
	answer = fz_form_get(&form, FZ_AS_CONSENT_FIELD);
	if (answer != NULL && strcmp(answer, "allow") == 0)
		return fz_as_authz_grant(as, req, &az, user.id, now, 303, err);
	if (answer != NULL && strcmp(answer, "deny") == 0) {
		fz_fail_http(&why, FZ_EDENIED, 400, "access_denied",
			     "the user denied the request");
		return refuse_redirect(as, req, &az, &why, 303, err);
	}
	return fz_as_page_error(req, 400, REFUSED_TITLE, "The form has no answer.", err);
}

fz_code fz_as_authorize_routes(fz_http_server *srv, fz_as *as, fz_err *err)
{
	fz_code rc = fz_http_server_add(srv, "GET", FZ_AS_PATH_AUTHORIZE, h_authorize_get,
					as, err);

	if (rc == FZ_OK)
		rc = fz_http_server_add(srv, "POST", FZ_AS_PATH_AUTHORIZE, h_authorize_post,
					as, err);
	return rc;
}
