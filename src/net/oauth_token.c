/*
 * oauth_token.c - the token endpoint's answer: a token, or the AS's
 * RFC 6749 §5.2 error kept in an fz_err (oauth_token.h).
 */
#include "oauth_token.h"

#include <jansson.h>
#include <string.h>

#include "jose.h"

/* RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 9449 §5 and §8: the codes an AS
 * answers; err->oauth must point at a static string. */
static const char *const known_errors[] = {
	"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "invalid_target",
	"invalid_dpop_proof", "use_dpop_nonce", "temporarily_unavailable",
	"server_error", "slow_down",
};

static const char *static_error(const char *code)
{
	size_t i;

	for (i = 0; code != NULL && i < sizeof(known_errors) / sizeof(known_errors[0]); i++)
		if (strcmp(code, known_errors[i]) == 0)
			return known_errors[i];
	return "server_error";
}

static const char *dup_str(fz_arena *a, const json_t *obj, const char *name)
{
	const char *s = json_string_value(json_object_get(obj, name));

	return s ? fz_arena_strdup(a, s) : NULL;
}

/* RFC 6749 §5.2: {"error", "error_description"?}; anything else from a
 * failing AS is described by its status. */
static fz_code refused(long status, const json_t *body, fz_err *err)
{
	const char *code = json_string_value(json_object_get(body, "error"));
	const char *desc = json_string_value(json_object_get(body, "error_description"));
	char c[64], d[FZ_ERR_MSG_MAX];
	int answer = status >= 400 && status <= 599 ? (int)status : 502;

	if (code == NULL)
		return fz_fail_http(err, FZ_EIO, answer, "server_error",
				    "the token endpoint answered %ld", status);
	return fz_fail_http(err, FZ_EDENIED, answer, static_error(code), "%s: %s",
			    fz_jose_printable(code, c, sizeof(c)),
			    desc ? fz_jose_printable(desc, d, sizeof(d)) : "(no description)");
}

fz_code fz_oauth_token_read(fz_arena *a, long status, const char *body, size_t len,
			    fz_oauth_token *out, fz_err *err)
{
	json_t *j = fz_arena_own_json(a, json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL));
	const json_t *exp;

	if (status != 200)
		return refused(status, j, err);
	if (!json_is_object(j))
		return fz_fail(err, FZ_ESTRUCT, "the token endpoint's answer is not a JSON object");
	out->access_token = dup_str(a, j, "access_token");
	out->issued_token_type = dup_str(a, j, "issued_token_type");
	out->token_type = dup_str(a, j, "token_type");
	out->scope = dup_str(a, j, "scope");
	exp = json_object_get(j, "expires_in");
	out->expires_in = json_is_integer(exp) ? (int64_t)json_integer_value(exp) : -1;
	if (out->access_token == NULL || out->token_type == NULL)
		return fz_fail(err, FZ_ESTRUCT,
			       "the token endpoint's answer lacks access_token or token_type");
	return FZ_OK;
}

bool fz_oauth_wants_nonce(fz_arena *a, long status, const char *body, size_t len)
{
	json_t *j;

	if (status != 400 && status != 401)
		return false;
	j = fz_arena_own_json(a, json_loadb(body, len, 0, NULL));
	return json_is_string(json_object_get(j, "error")) &&
	       strcmp(json_string_value(json_object_get(j, "error")), "use_dpop_nonce") == 0;
}
