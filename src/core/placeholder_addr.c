/*
 * placeholder_addr.c - the address lists of To, Cc, Bcc, Forwarded-To
 * (RFC 5322 §3.4) and Message-IDs (§3.6.4). Recipients are grouped by
 * domain to route copies, and a Message-ID's domain must be the sender's
 * (SPEC §3), so both parsers hand back a lowercased domain.
 *
 * The subset accepted is what mail clients write today: mailboxes with an
 * optional display name (atoms, dots, quoted strings, UTF-8), addr-specs
 * of dot-atom or quoted local part and a host-name domain. Groups,
 * comments, domain literals and the obsolete syntax are refused: a
 * recipient we cannot route is better refused at the door.
 */
#include "placeholder.h"

#include <stdlib.h>
#include <string.h>

#include "placeholder_int.h"

#define LOCAL_MAX 64
#define LABEL_MAX 63

struct scan {
	const char *s;
	size_t n, i;
};

static bool at_end(const struct scan *c)
{
	return c->i >= c->n;
}

static char peek(const struct scan *c)
{
	return at_end(c) ? '\0' : c->s[c->i];
}

static void skip_wsp(struct scan *c)
{
	while (!at_end(c) && (c->s[c->i] == ' ' || c->s[c->i] == '\t'))
		c->i++;
}

/* RFC 5322 atext. */
static bool is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static bool is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

/* dot-atom-text: atext runs joined by single dots. */
static size_t dot_atom(struct scan *c)
{
	size_t start = c->i;

	for (;;) {
		size_t run = c->i;
		while (!at_end(c) && is_atext((unsigned char)c->s[c->i]))
			c->i++;
		if (c->i == run) {
			/* an empty run: give back the dot before it */
			if (run > start)
				c->i = run - 1;
			return c->i - start;
		}
		if (peek(c) != '.')
			return c->i - start;
		c->i++;
	}
}

/* A quoted-string of printable ASCII, SP, HTAB and quoted pairs; in a
 * display name UTF-8 is allowed too (RFC 6532). */
static fz_code quoted(struct scan *c, bool utf8, fz_err *err)
{
	c->i++;
	while (!at_end(c) && c->s[c->i] != '"') {
		unsigned char ch = (unsigned char)c->s[c->i];

		if (ch == '\\') {
			if (++c->i == c->n)
				break;
			ch = (unsigned char)c->s[c->i];
		}
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f || (ch >= 0x80 && !utf8))
			return fz_fail(err, FZ_ESYNTAX,
				       "address: bad character in a quoted string");
		c->i++;
	}
	if (at_end(c))
		return fz_fail(err, FZ_ESYNTAX, "address: unterminated quoted string");
	c->i++;
	return FZ_OK;
}

/* A host name: LDH labels of 1..63, no hyphen at either end, at most 253
 * bytes. Written lowercased into out (FZ_DOMAIN_MAX + 1 bytes). */
static fz_code domain(struct scan *c, char *out, fz_err *err)
{
	size_t start = c->i, label = 0, len;

	if (peek(c) == '[')
		return fz_fail(err, FZ_ESYNTAX,
			       "address: domain literals are not supported");
	while (!at_end(c) && (is_ldh((unsigned char)c->s[c->i]) || c->s[c->i] == '.')) {
		char ch = c->s[c->i];
		if (ch == '.') {
			if (label == 0 || c->s[c->i - 1] == '-')
				return fz_fail(err, FZ_ESYNTAX, "address: bad domain");
			label = 0;
		} else {
			if (label == 0 && ch == '-')
				return fz_fail(err, FZ_ESYNTAX, "address: bad domain");
			if (++label > LABEL_MAX)
				return fz_fail(err, FZ_ESYNTAX,
					       "address: domain label longer than %d", LABEL_MAX);
		}
		c->i++;
	}
	len = c->i - start;
	if (len == 0 || label == 0 || c->s[c->i - 1] == '-')
		return fz_fail(err, FZ_ESYNTAX, "address: bad domain");
	if (len > FZ_DOMAIN_MAX)
		return fz_fail(err, FZ_ESYNTAX, "address: domain longer than %d",
			       FZ_DOMAIN_MAX);
	for (size_t k = 0; k < len; k++) {
		char ch = c->s[start + k];
		out[k] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
	}
	out[len] = '\0';
	return FZ_OK;
}

static fz_code push_addr(fz_addr_list *l, const char *local, size_t llen,
			 const char *dom, fz_err *err)
{
	size_t dlen = strlen(dom);
	fz_addr *v;
	char *spec;

	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL)
		return fz_fail(err, FZ_ENOMEM, "address: out of memory");
	l->v = v;
	spec = malloc(llen + 1 + dlen + 1);
	if (spec == NULL)
		return fz_fail(err, FZ_ENOMEM, "address: out of memory");
	memcpy(spec, local, llen);
	spec[llen] = '@';
	memcpy(spec + llen + 1, dom, dlen + 1);
	l->v[l->n].spec = spec;
	l->v[l->n].at = llen;
	l->n++;
	return FZ_OK;
}

/* local-part "@" domain, appended to l. *at_seen tells a caller trying
 * the bare form whether the text was an addr-spec gone wrong. */
static fz_code addr_spec(struct scan *c, fz_addr_list *l, bool *at_seen,
			 fz_err *err)
{
	char dom[FZ_DOMAIN_MAX + 1];
	size_t start = c->i, llen;
	fz_code rc;

	if (peek(c) == '"') {
		rc = quoted(c, false, err);
		if (rc != FZ_OK)
			return rc;
	} else if (dot_atom(c) == 0) {
		return fz_fail(err, FZ_ESYNTAX, "address: local part expected at %zu",
			       c->i);
	}
	llen = c->i - start;
	if (peek(c) != '@')
		return fz_fail(err, FZ_ESYNTAX, "address: '@' expected at %zu", c->i);
	c->i++;
	*at_seen = true;
	if (llen > LOCAL_MAX)
		return fz_fail(err, FZ_ESYNTAX, "address: local part longer than %d",
			       LOCAL_MAX);
	rc = domain(c, dom, err);
	if (rc != FZ_OK)
		return rc;
	return push_addr(l, c->s + start, llen, dom, err);
}

/* A display name, up to the '<'. */
static fz_code display_name(struct scan *c, fz_err *err)
{
	fz_code rc;

	for (;;) {
		unsigned char ch = (unsigned char)peek(c);

		if (at_end(c) || ch == '<')
			return FZ_OK;
		if (ch == '"') {
			rc = quoted(c, true, err);
			if (rc != FZ_OK)
				return rc;
		} else if (is_atext(ch) || ch == '.' || ch == ' ' || ch == '\t' ||
			   ch >= 0x80) {
			c->i++;
		} else if (ch == ':' || ch == ';') {
			return fz_fail(err, FZ_ESYNTAX,
				       "address: groups are not supported");
		} else if (ch == '(') {
			return fz_fail(err, FZ_ESYNTAX,
				       "address: comments are not supported");
		} else {
			return fz_fail(err, FZ_ESYNTAX,
				       "address: unexpected '%c' at %zu", ch, c->i);
		}
	}
}

/* addr-spec, or [display-name] "<" addr-spec ">". */
static fz_code mailbox(struct scan *c, fz_addr_list *l, fz_err *err)
{
	size_t start = c->i;
	bool at_seen = false;
	fz_err tmp;
	fz_code rc;

	rc = addr_spec(c, l, &at_seen, &tmp);
	/* Past an '@' the text cannot be a display name (which holds no bare
	 * '@'), so the bare form either stands or is the error. */
	if (at_seen) {
		if (rc != FZ_OK) {
			if (err != NULL)
				*err = tmp;
			return rc;
		}
		skip_wsp(c);
		if (peek(c) == '(')
			return fz_fail(err, FZ_ESYNTAX,
				       "address: comments are not supported");
		return FZ_OK;
	}
	if (rc == FZ_ENOMEM)
		return fz_fail(err, FZ_ENOMEM, "address: out of memory");
	c->i = start;
	rc = display_name(c, err);
	if (rc != FZ_OK)
		return rc;
	if (peek(c) != '<')
		return fz_fail(err, FZ_ESYNTAX, "address: '<' or addr-spec expected");
	c->i++;
	rc = addr_spec(c, l, &at_seen, err);
	if (rc != FZ_OK)
		return rc;
	if (peek(c) != '>')
		return fz_fail(err, FZ_ESYNTAX, "address: '>' expected at %zu", c->i);
	c->i++;
	return FZ_OK;
}

fz_code fz_addr_list_parse(const char *s, size_t n, size_t max,
			   fz_addr_list *out, fz_err *err)
{
	struct scan c = {s, n, 0};
	fz_code rc;

	for (;;) {
		skip_wsp(&c);
		rc = mailbox(&c, out, err);
		if (rc != FZ_OK)
			return rc;
		if (out->n > max)
			return fz_fail(err, FZ_ELIMIT,
				       "more than max_recipients (%zu) addresses", max);
		skip_wsp(&c);
		if (at_end(&c))
			return FZ_OK;
		if (peek(&c) != ',')
			return fz_fail(err, FZ_ESYNTAX, "address: ',' expected at %zu",
				       c.i);
		c.i++;
	}
}

void fz_addr_list_free(fz_addr_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].spec);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

fz_code fz_msgid_parse(const char *s, size_t n, fz_msgid *out, fz_err *err)
{
	struct scan c;
	size_t left;
	fz_code rc;

	fz_trim_wsp(&s, &n);
	c = (struct scan){s, n, 0};
	if (peek(&c) != '<')
		return fz_fail(err, FZ_ESYNTAX, "Message-ID must be <id@domain>");
	c.i++;
	left = c.i;
	if (dot_atom(&c) == 0 || peek(&c) != '@')
		return fz_fail(err, FZ_ESYNTAX, "Message-ID must be <id@domain>");
	out->left = s + left;
	out->left_len = c.i - left;
	c.i++;
	rc = domain(&c, out->domain, err);
	if (rc != FZ_OK) {
		if (err != NULL)
			fz_err_prefix(err, "Message-ID");
		return rc;
	}
	if (peek(&c) != '>' || c.i + 1 != c.n)
		return fz_fail(err, FZ_ESYNTAX, "Message-ID must be <id@domain>");
	return FZ_OK;
}
