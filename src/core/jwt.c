/*
 * jwt.c - claim checks. Times are integers (NumericDate without
 * fractions: we issue none, and a fraction would only add rounding
 * questions); arithmetic on them saturates, since they come from tokens.
 */
#include "jwt.h"

#include <string.h>
#include <strings.h>

void fz_jwt_expect_defaults(fz_jwt_expect *exp)
{
	memset(exp, 0, sizeof(*exp));
	exp->require_exp = true;
	exp->leeway = FZ_JOSE_LEEWAY;
}

bool fz_jwt_typ_is(const char *t, const char *want)
{
	static const char prefix[] = "application/";

	if (t == NULL || want == NULL)
		return false;
	if (strncasecmp(t, prefix, sizeof(prefix) - 1) == 0)
		t += sizeof(prefix) - 1;
	return strcasecmp(t, want) == 0;
}

const char *fz_jwt_str(const json_t *claims, const char *name)
{
	return json_string_value(json_object_get(claims, name));
}

fz_code fz_jwt_int(const json_t *claims, const char *name, int64_t *out,
		   fz_err *err)
{
	const json_t *v = json_object_get(claims, name);

	if (v == NULL)
		return fz_fail(err, FZ_ECLAIM, "claim %s is missing", name);
	if (!json_is_integer(v))
		return fz_fail(err, FZ_ECLAIM, "claim %s is not an integer", name);
	*out = (int64_t)json_integer_value(v);
	return FZ_OK;
}

static fz_code check_typ(const fz_jws *jws, const char *want, fz_err *err)
{
	const char *typ = fz_jws_typ(jws);
	char shown[32];

	if (want == NULL)
		return FZ_OK;
	if (typ == NULL)
		return fz_fail(err, FZ_ECLAIM, "header typ is missing, %s expected", want);
	if (!fz_jwt_typ_is(typ, want))
		return fz_fail(err, FZ_ECLAIM, "header typ %s is not %s",
			       fz_jose_printable(typ, shown, sizeof(shown)), want);
	return FZ_OK;
}

static fz_code check_iss(const json_t *c, const char *want, fz_err *err)
{
	const char *iss = fz_jwt_str(c, "iss");

	if (want == NULL)
		return FZ_OK;
	if (iss == NULL)
		return fz_fail(err, FZ_ECLAIM, "claim iss is missing");
	if (strcmp(iss, want) != 0)
		return fz_fail(err, FZ_ECLAIM, "claim iss is not %s", want);
	return FZ_OK;
}

static fz_code check_aud(const json_t *c, const char *want, fz_err *err)
{
	const json_t *aud = json_object_get(c, "aud"), *v;
	size_t i;

	if (want == NULL)
		return FZ_OK;
	if (aud == NULL)
		return fz_fail(err, FZ_ECLAIM, "claim aud is missing");
	if (!json_is_string(aud) && !json_is_array(aud))
		return fz_fail(err, FZ_ECLAIM, "claim aud is neither string nor array");
	if (json_is_string(aud) && strcmp(json_string_value(aud), want) == 0)
		return FZ_OK;
	json_array_foreach(aud, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return FZ_OK;
	}
	return fz_fail(err, FZ_ECLAIM, "claim aud does not include %s", want);
}

/* Reads an optional time claim; *present tells whether it was there. */
static fz_code time_claim(const json_t *c, const char *name, bool required,
			  int64_t *out, bool *present, fz_err *err)
{
	*present = json_object_get(c, name) != NULL;
	if (!*present && !required)
		return FZ_OK;
	return fz_jwt_int(c, name, out, err);
}

static fz_code check_times(const json_t *c, const fz_jwt_expect *x, int64_t now,
			   fz_err *err)
{
	int64_t exp = 0, nbf = 0, iat = 0;
	bool has_exp, has_nbf, has_iat;
	fz_code rc;

	if ((rc = time_claim(c, "exp", x->require_exp, &exp, &has_exp, err)) ||
	    (rc = time_claim(c, "nbf", false, &nbf, &has_nbf, err)) ||
	    (rc = time_claim(c, "iat", x->require_iat || x->max_age > 0, &iat,
			     &has_iat, err)))
		return rc;
	if (has_exp && exp <= fz_time_add(now, -x->leeway))
		return fz_fail(err, FZ_ECLAIM, "claim exp: the token has expired");
	if (has_nbf && nbf > fz_time_add(now, x->leeway))
		return fz_fail(err, FZ_ECLAIM, "claim nbf: the token is not valid yet");
	if (has_iat && iat > fz_time_add(now, x->leeway))
		return fz_fail(err, FZ_ECLAIM, "claim iat is in the future");
	if (x->max_age > 0 &&
	    iat < fz_time_add(now, -fz_time_add(x->max_age, x->leeway)))
		return fz_fail(err, FZ_ECLAIM, "claim iat: the token is older than %lld s",
			       (long long)x->max_age);
	return FZ_OK;
}

static fz_code check_required(const json_t *c, const char *const *names,
			      fz_err *err)
{
	for (; names != NULL && *names != NULL; names++)
		if (json_object_get(c, *names) == NULL)
			return fz_fail(err, FZ_ECLAIM, "claim %s is missing", *names);
	return FZ_OK;
}

fz_code fz_jwt_check(const fz_jws *jws, const fz_jwt_expect *x, int64_t now,
		     fz_err *err)
{
	const json_t *c = fz_jws_payload(jws);
	fz_code rc;

	if (!fz_jws_is_verified(jws))
		return fz_fail(err, FZ_EINTERNAL, "jwt: claims of an unverified JWS");
	if (x->leeway < 0 || x->leeway > FZ_JOSE_LEEWAY_MAX)
		return fz_fail(err, FZ_EINTERNAL, "jwt: leeway out of range");
	if ((rc = check_typ(jws, x->typ, err)) ||
	    (rc = check_iss(c, x->iss, err)) ||
	    (rc = check_aud(c, x->aud, err)) ||
	    (rc = check_times(c, x, now, err)) ||
	    (rc = check_required(c, x->required, err)))
		return rc;
	return FZ_OK;
}

fz_code fz_jwt_new_jti(char out[FZ_JTI_LEN + 1], fz_err *err)
{
	return fz_random_b64url(FZ_JTI_BYTES, out, FZ_JTI_LEN + 1, err);
}

fz_code fz_jwt_cnf_jkt(const json_t *claims, fz_digest_str *out, fz_err *err)
{
	const json_t *cnf = json_object_get(claims, "cnf");
	const json_t *jkt = json_object_get(cnf, "jkt");

	if (!json_is_object(cnf))
		return fz_fail(err, FZ_ECLAIM, "claim cnf is missing: the token is not DPoP-bound");
	if (!json_is_string(jkt) || !fz_digest_valid(json_string_value(jkt),
						     json_string_length(jkt)))
		return fz_fail(err, FZ_ECLAIM,
			       "claim cnf.jkt is missing or not a SHA-256 thumbprint");
	memcpy(out->s, json_string_value(jkt), FZ_DIGEST_LEN + 1);
	return FZ_OK;
}
