/*
 * as_pages.c - the HTML of the login, consent, error and signed-in
 * pages. Plain forms, no script (the CSP forbids it): they work in any
 * browser and in a test that posts them with fetch. Every value that
 * came from a request or the database is added with fz_html_text.
 */
#include <string.h>

#include "as_pages.h"
#include "as_session.h"
#include "as_web.h"

#define STYLE \
	"body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;" \
	"padding:0 1rem;color:#222}h1{font-size:1.4rem}label{display:block;" \
	"margin:.8rem 0 .2rem}input[type=email],input[type=password]{width:100%;" \
	"padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1.2rem}" \
	".error{color:#a00;border:1px solid #a00;padding:.5rem}"

static void head(fz_html *h, const char *title)
{
	fz_html_raw(h, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		       "<title>");
	fz_html_text(h, title);
	fz_html_raw(h, "</title><style>" STYLE "</style></head><body><h1>");
	fz_html_text(h, title);
	fz_html_raw(h, "</h1>\n");
}

static fz_code finish(fz_http_req *req, fz_html *h, unsigned status, fz_err *err)
{
	const char *page;
	size_t len;
	fz_code rc;

	fz_html_raw(h, "</body></html>\n");
	rc = fz_html_finish(h, &page, &len, err);
	if (rc != FZ_OK)
		return rc;
	return fz_as_respond_html(req, status, page, len, err);
}

static void hidden(fz_html *h, const char *name, const char *value)
{
	if (value == NULL)
		return;
	fz_html_raw(h, "<input type=\"hidden\" name=\"");
	fz_html_text(h, name);
	fz_html_raw(h, "\" value=\"");
	fz_html_text(h, value);
	fz_html_raw(h, "\">\n");
}

static void message(fz_html *h, const char *msg)
{
	if (msg == NULL)
		return;
	fz_html_raw(h, "<p class=\"error\" role=\"alert\">");
	fz_html_text(h, msg);
	fz_html_raw(h, "</p>\n");
}

fz_code fz_as_page_login(fz_as *as, fz_http_req *req, unsigned status,
			 const fz_as_login_page *p, fz_err *err)
{
	fz_html h;

	fz_html_init(&h, req->arena, FZ_HTML_PAGE_MAX);
	head(&h, "Sign in");
	message(&h, p->message);
	fz_html_raw(&h, "<form method=\"post\" action=\"");
	fz_html_text(&h, as->login_endpoint);
	fz_html_raw(&h, "\">\n");
	hidden(&h, FZ_AS_CSRF_FIELD, p->csrf);
	hidden(&h, FZ_AS_AUTHZ_FIELD, p->authz);
	fz_html_raw(&h, "<label for=\"username\">Email address</label>"
			"<input type=\"email\" id=\"username\" name=\"username\""
			" autocomplete=\"username\" required autofocus value=\"");
	fz_html_text(&h, p->username ? p->username : "");
	fz_html_raw(&h, "\">\n<label for=\"password\">Password</label>"
			"<input type=\"password\" id=\"password\" name=\"password\""
			" autocomplete=\"current-password\" required>\n"
			"<button type=\"submit\">Sign in</button>\n</form>\n");
	return finish(req, &h, status, err);
}

fz_code fz_as_page_consent(fz_as *as, fz_http_req *req, const fz_as_authz *az,
			   const char *user, const char *csrf, fz_err *err)
{
	fz_html h;

	fz_html_init(&h, req->arena, FZ_HTML_PAGE_MAX);
	head(&h, "Allow access?");
	fz_html_raw(&h, "<p>The application <strong>");
	fz_html_text(&h, az->client_id);
	fz_html_raw(&h, "</strong> asks to read and send mail as <strong>");
	fz_html_text(&h, user);
	fz_html_raw(&h, "</strong>.</p>\n<p>It will return to <code>");
	fz_html_text(&h, az->redirect_uri);
	fz_html_raw(&h, "</code>.</p>\n<form method=\"post\" action=\"");
	fz_html_text(&h, as->authorization_endpoint);
	fz_html_raw(&h, "\">\n");
	hidden(&h, FZ_AS_CSRF_FIELD, csrf);
	hidden(&h, "response_type", az->response_type);
	hidden(&h, "client_id", az->client_id);
	hidden(&h, "redirect_uri", az->redirect_uri);
	hidden(&h, "scope", az->scope);
	hidden(&h, "state", az->state);
	hidden(&h, "code_challenge", az->code_challenge);
	hidden(&h, "code_challenge_method", az->code_challenge_method);
	hidden(&h, "dpop_jkt", az->dpop_jkt);
	fz_html_raw(&h, "<button type=\"submit\" name=\"" FZ_AS_CONSENT_FIELD
			"\" value=\"allow\">Allow</button>\n"
			"<button type=\"submit\" name=\"" FZ_AS_CONSENT_FIELD
			"\" value=\"deny\">Deny</button>\n</form>\n");
	return finish(req, &h, 200, err);
}

fz_code fz_as_page_error(fz_http_req *req, unsigned status, const char *title,
			 const char *detail, fz_err *err)
{
	fz_html h;

	fz_html_init(&h, req->arena, FZ_HTML_PAGE_MAX);
	head(&h, title);
	if (detail != NULL) {
		fz_html_raw(&h, "<p class=\"error\" role=\"alert\">");
		fz_html_text(&h, detail);
		fz_html_raw(&h, "</p>\n");
	}
	fz_html_raw(&h, "<p>Go back to the application and try again.</p>\n");
	return finish(req, &h, status, err);
}

fz_code fz_as_page_signed_in(fz_http_req *req, const char *user, fz_err *err)
{
	fz_html h;

	fz_html_init(&h, req->arena, FZ_HTML_PAGE_MAX);
	head(&h, "Signed in");
	fz_html_raw(&h, "<p>You are signed in as <strong>");
	fz_html_text(&h, user);
	fz_html_raw(&h, "</strong>.</p>\n");
	return finish(req, &h, 200, err);
}
