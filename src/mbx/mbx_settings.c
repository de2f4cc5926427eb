/*
 * mbx_settings.c - GET|PUT /api/v1/settings/forwarding: the user's
 * auto-forward rule {enabled, to, keep_copy} (SPEC §9). The MBX only
 * keeps it here and queues a forward with each copy that arrives
 * (fz_mbx_forward_rule); the MTA sends it (mta_forward.c), and the AS's
 * policy decides whether a forward may leave at all.
 */
#include "mbx_http.h"

#include <string.h>

#include "placeholder.h"

#define TARGET_MAX 254

static fz_code respond_rule(fz_http_req *req, const fz_mbx_forwarding *f,
			    fz_err *err)
{
	return fz_http_respond_json(req, 200,
				    json_pack("{s:b,s:s,s:b}", "enabled", f->enabled, "to",
					      f->target, "keep_copy", f->keep_copy),
				    err);
}

static fz_code h_get(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user;
	fz_mbx_forwarding f;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_mbx_forwarding_get(m->store, req->arena, user, &f, err);
	if (rc != FZ_OK)
		return rc;
	return respond_rule(req, &f, err);
}

static fz_code bad_rule(fz_err *err, const char *msg)
{
	return fz_fail_http(err, FZ_ESTRUCT, 400, "invalid_request", "%s", msg);
}

/* A single plain address, not our own user (a loop). */
static fz_code check_target(const char *to, const char *user, fz_err *err)
{
	fz_addr_list l = {0};
	fz_code rc = fz_addr_list_parse(to, strlen(to), 1, &l, NULL);
	bool ok = rc == FZ_OK && l.n == 1 && strcmp(l.v[0].spec, to) == 0;

	fz_addr_list_free(&l);
	if (!ok || strlen(to) > TARGET_MAX)
		return bad_rule(err, "to must be one address, local@domain");
	if (strcmp(to, user) == 0)
		return bad_rule(err, "a mailbox cannot forward to itself");
	return FZ_OK;
}

static fz_code h_put(fz_http_req *req, void *ctx, fz_err *err)
{
	fz_mbx *m = ctx;
	const char *user;
	fz_mbx_forwarding f;
	json_t *j, *en, *to, *keep;
	fz_code rc = fz_mbx_authenticate(m, req, &user, err);

	if (rc == FZ_OK)
		rc = fz_http_req_json(req, &j, err);
	if (rc != FZ_OK)
		return rc;
	en = json_object_get(j, "enabled");
	to = json_object_get(j, "to");
	keep = json_object_get(j, "keep_copy");
	if (!json_is_object(j) || json_object_size(j) != 3 || !json_is_boolean(en) ||
	    !json_is_string(to) || !json_is_boolean(keep))
		return bad_rule(err, "a rule is {enabled: bool, to: address, keep_copy: bool}");
	f.enabled = json_is_true(en);
	f.target = json_string_value(to);
	f.keep_copy = json_is_true(keep);
	if (f.enabled || f.target[0] != '\0')
		rc = check_target(f.target, user, err);
	if (rc == FZ_OK)
		rc = fz_mbx_forwarding_set(m->store, user, &f, fz_mbx_now(), err);
	if (rc != FZ_OK)
		return rc;
	return respond_rule(req, &f, err);
}

fz_code fz_mbx_settings_routes(fz_http_server *srv, fz_mbx *m, fz_err *err)
{
	fz_code rc = fz_http_server_add(srv, "GET", "/api/v1/settings/forwarding", h_get, m, err);

	if (rc == FZ_OK)
		rc = fz_http_server_add(srv, "PUT", "/api/v1/settings/forwarding", h_put, m, err);
	return rc;
}

fz_code fz_mbx_forward_rule(fz_mbx *m, fz_arena *a, const char *owner,
			    const char **domain, bool *keep_copy, fz_err *err)
{
	fz_mbx_forwarding f;
	const char *at;
	char *d;
	size_t k;
	fz_code rc = fz_mbx_forwarding_get(m->store, a, owner, &f, err);

	*domain = NULL;
	*keep_copy = true;
	if (rc != FZ_OK)
		return rc;
	if (!f.enabled || f.target == NULL || (at = strrchr(f.target, '@')) == NULL)
		return FZ_OK;
	if ((d = fz_arena_strdup(a, at + 1)) == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	for (k = 0; d[k] != '\0'; k++)
		d[k] = (char)((d[k] >= 'A' && d[k] <= 'Z') ? d[k] + 32 : d[k]);
	*domain = d;
	*keep_copy = f.keep_copy;
	return FZ_OK;
}
