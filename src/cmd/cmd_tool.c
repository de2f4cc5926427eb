/*
 * cmd_tool.c - `federizer tool`: the protocol core from the command line.
 *
 * An operator uses it to make keys, read a Placeholder Message, or craft a
 * DPoP proof for a hand-made curl request; the system tests use it to hold
 * our JOSE and digest code against independent libraries (jose, a JS JCS).
 * Inputs come from files or stdin, never from argv when secret.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "digest.h"
#include "dpop.h"
#include "envelope.h"
#include "jwk.h"
#include "jws.h"
#include "keyfile.h"
#include "placeholder.h"

/* Bounds what the tool reads from stdin: a Placeholder document or a JWS. */
#define TOOL_STDIN_MAX (4u * 1024 * 1024)
#define TOOL_READ_CHUNK 65536

static int fail(const char *what, const fz_err *err)
{
	fprintf(stderr, "federizer tool %s: %s (%s)\n", what, err->msg,
		fz_code_name(err->code));
	return 1;
}

static int usage_error(const char *what, const char *msg)
{
	fprintf(stderr, "federizer tool %s: %s; see 'federizer tool help'\n", what, msg);
	return 2;
}

/* Reads all of f, up to max bytes, into a NUL-terminated buffer. */
static fz_code read_all(FILE *f, size_t max, char **out, size_t *len, fz_err *err)
{
	size_t cap = TOOL_READ_CHUNK, n = 0, got;
	char *buf = malloc(cap + 1), *bigger;

	if (buf == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n > max) {
			free(buf);
			return fz_fail(err, FZ_ELIMIT, "input is larger than %zu bytes", max);
		}
		if (n < cap)
			continue;
		cap *= 2;
		bigger = realloc(buf, cap + 1);
		if (bigger == NULL) {
			free(buf);
			return fz_fail(err, FZ_ENOMEM, "out of memory");
		}
		buf = bigger;
	}
	if (ferror(f)) {
		free(buf);
		return fz_fail(err, FZ_EIO, "read: %s", strerror(errno));
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return FZ_OK;
}

/* Input text without the trailing newline a shell pipe adds. */
static fz_code read_token(char **out, size_t *len, fz_err *err)
{
	fz_code rc = read_all(stdin, TOOL_STDIN_MAX, out, len, err);

	while (rc == FZ_OK && *len > 0 &&
	       ((*out)[*len - 1] == '\n' || (*out)[*len - 1] == '\r'))
		(*out)[--*len] = '\0';
	return rc;
}

static int tool_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"alg", required_argument, NULL, 'a'},
		{"bits", required_argument, NULL, 'b'},
		{"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *alg_name = "ES256", *out = NULL;
	unsigned bits = FZ_RSA_DEFAULT_BITS;
	bool force = false;
	fz_key *key = NULL;
	fz_err err = {0};
	fz_alg alg;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "a:b:o:f", opts, NULL)) != -1) {
		switch (c) {
		case 'a': alg_name = optarg; break;
		case 'b': bits = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'o': out = optarg; break;
		case 'f': force = true; break;
		default: return usage_error("keygen", "unknown option");
		}
	}
	if (out == NULL)
		return usage_error("keygen", "--out FILE is required");
	if (fz_alg_parse(alg_name, &alg, &err) != FZ_OK ||
	    fz_key_generate(alg, bits, &key, &err) != FZ_OK ||
	    fz_keyfile_save(out, key, force, &err) != FZ_OK) {
		rc = fail("keygen", &err);
		goto out;
	}
	printf("%s\n", fz_key_kid(key));
	rc = 0;
out:
	fz_key_free(key);
	return rc;
}

static int print_json(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (s == NULL)
		return 1;
	printf("%s\n", s);
	free(s);
	return 0;
}

static int tool_jwks(int argc, char **argv)
{
	fz_keyset *set = fz_keyset_new();
	json_t *jwks = NULL;
	fz_key *key = NULL;
	fz_err err = {0};
	int i, rc = 1;

	if (argc < 2)
		return usage_error("jwks", "name one or more key files");
	if (set == NULL)
		return 1;
	for (i = 1; i < argc; i++) {
		if (fz_keyfile_load(argv[i], &key, &err) != FZ_OK ||
		    fz_keyset_add(set, key, &err) != FZ_OK) {
			fz_key_free(key);
			rc = fail("jwks", &err);
			goto out;
		}
		key = NULL;
	}
	if (fz_keyset_to_jwks(set, &jwks, &err) != FZ_OK) {
		rc = fail("jwks", &err);
		goto out;
	}
	rc = print_json(jwks);
out:
	json_decref(jwks);
	fz_keyset_free(set);
	return rc;
}

static int tool_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"typ", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *keypath = NULL, *typ = "JWT";
	char *in = NULL, *jws = NULL;
	json_t *payload = NULL;
	json_error_t jerr;
	fz_key *key = NULL;
	fz_err err = {0};
	size_t len;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "k:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keypath = optarg; break;
		case 't': typ = optarg; break;
		default: return usage_error("sign", "unknown option");
		}
	}
	if (keypath == NULL)
		return usage_error("sign", "--key FILE is required");
	if (fz_keyfile_load(keypath, &key, &err) != FZ_OK ||
	    read_all(stdin, TOOL_STDIN_MAX, &in, &len, &err) != FZ_OK) {
		rc = fail("sign", &err);
		goto out;
	}
	payload = json_loadb(in, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(payload)) {
		fprintf(stderr, "federizer tool sign: the payload on stdin must be a JSON object\n");
		goto out;
	}
	if (fz_jws_sign(key, typ, NULL, payload, &jws, &err) != FZ_OK) {
		rc = fail("sign", &err);
		goto out;
	}
	printf("%s\n", jws);
	rc = 0;
out:
	free(jws);
	free(in);
	json_decref(payload);
	fz_key_free(key);
	return rc;
}

static fz_code load_jwks_file(const char *path, fz_keyset **out, fz_err *err)
{
	json_error_t jerr;
	json_t *jwks = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	fz_code rc;

	if (jwks == NULL)
		return fz_fail(err, FZ_ESYNTAX, "%s: %s", path, jerr.text);
	rc = fz_keyset_from_jwks(jwks, out, err);
	json_decref(jwks);
	return rc;
}

static int tool_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"jwks", required_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	const char *jwkspath = NULL;
	fz_keyset *set = NULL;
	fz_jws *jws = NULL;
	char *in = NULL;
	fz_err err = {0};
	size_t len;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "j:", opts, NULL)) != -1) {
		if (c != 'j')
			return usage_error("verify", "unknown option");
		jwkspath = optarg;
	}
	if (jwkspath == NULL)
		return usage_error("verify", "--jwks FILE is required");
	if (load_jwks_file(jwkspath, &set, &err) != FZ_OK ||
	    read_token(&in, &len, &err) != FZ_OK ||
	    fz_jws_verify(in, len, FZ_JWS_MAX_BYTES, FZ_ALGS_ALL, set, &jws, &err) != FZ_OK) {
		rc = fail("verify", &err);
		goto out;
	}
	rc = print_json(fz_jws_payload(jws));
out:
	fz_jws_free(jws);
	free(in);
	fz_keyset_free(set);
	return rc;
}

static int tool_dpop(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key", required_argument, NULL, 'k'},
		{"htm", required_argument, NULL, 'm'},
		{"htu", required_argument, NULL, 'u'},
		{"token-file", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *keypath = NULL, *htm = NULL, *htu = NULL, *tokpath = NULL;
	char *token = NULL, *proof = NULL;
	fz_key *key = NULL;
	fz_err err = {0};
	FILE *f = NULL;
	size_t len;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "k:m:u:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keypath = optarg; break;
		case 'm': htm = optarg; break;
		case 'u': htu = optarg; break;
		case 't': tokpath = optarg; break;
		default: return usage_error("dpop", "unknown option");
		}
	}
	if (keypath == NULL || htm == NULL || htu == NULL)
		return usage_error("dpop", "--key FILE --htm METHOD --htu URL are required");
	if (tokpath != NULL) {
		f = fopen(tokpath, "r");
		if (f == NULL) {
			fprintf(stderr, "federizer tool dpop: %s: %s\n", tokpath, strerror(errno));
			return 1;
		}
		if (read_all(f, FZ_JWS_MAX_BYTES, &token, &len, &err) != FZ_OK) {
			rc = fail("dpop", &err);
			goto out;
		}
		while (len > 0 && (token[len - 1] == '\n' || token[len - 1] == '\r'))
			token[--len] = '\0';
	}
	if (fz_keyfile_load(keypath, &key, &err) != FZ_OK ||
	    fz_dpop_make(key, htm, htu, token, NULL, (int64_t)time(NULL), &proof, &err) != FZ_OK) {
		rc = fail("dpop", &err);
		goto out;
	}
	printf("%s\n", proof);
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	free(proof);
	free(token);
	fz_key_free(key);
	return rc;
}

/* A one-shot tool remembers nothing, so every jti is new to it. */
static fz_code no_replay_memory(void *ctx, const char *jti, int64_t exp, fz_err *err)
{
	(void)ctx;
	(void)jti;
	(void)exp;
	(void)err;
	return FZ_OK;
}

static int tool_dpop_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"htm", required_argument, NULL, 'm'},
		{"htu", required_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	fz_dpop_request req = {0};
	fz_jose_config cfg;
	fz_dpop_result res;
	fz_err err = {0};
	char *in = NULL;
	size_t len;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "m:u:", opts, NULL)) != -1) {
		switch (c) {
		case 'm': req.method = optarg; break;
		case 'u': req.url = optarg; break;
		default: return usage_error("dpop-verify", "unknown option");
		}
	}
	if (req.method == NULL || req.url == NULL)
		return usage_error("dpop-verify", "--htm METHOD --htu URL are required");
	fz_jose_config_defaults(&cfg);
	if (read_token(&in, &len, &err) != FZ_OK ||
	    fz_dpop_verify(in, len, &req, &cfg, (int64_t)time(NULL), no_replay_memory,
			   NULL, &res, &err) != FZ_OK) {
		rc = fail("dpop-verify", &err);
		goto out;
	}
	printf("%s\n", res.jkt.s);
	rc = 0;
out:
	free(in);
	return rc;
}

static int tool_digest(int argc, char **argv)
{
	char buf[TOOL_READ_CHUNK];
	fz_sha256 *h = fz_sha256_new();
	fz_digest_str d;
	FILE *f = stdin;
	size_t n;

	if (h == NULL)
		return 1;
	if (argc > 1 && (f = fopen(argv[1], "rb")) == NULL) {
		fprintf(stderr, "federizer tool digest: %s: %s\n", argv[1], strerror(errno));
		fz_sha256_free(h);
		return 1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fz_sha256_update(h, buf, n);
	fz_sha256_final(h, NULL, &d);
	fz_sha256_free(h);
	if (f != stdin)
		fclose(f);
	printf("%s\n", d.s);
	return 0;
}

/* Reads a Placeholder document (YAML or JSON), checks it, and writes it in
 * the other form or reports its digests. */
static int tool_placeholder(int argc, char **argv)
{
	static const struct option opts[] = {
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	const char *from = "yaml", *to = "digest";
	char *in = NULL, *text = NULL, bd[FZ_DIGEST_HDR_SIZE];
	json_t *doc = NULL;
	fz_err err = {0};
	size_t len, tlen;
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "f:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		default: return usage_error("placeholder", "unknown option");
		}
	}
	if (strcmp(from, "yaml") != 0 && strcmp(from, "json") != 0)
		return usage_error("placeholder", "--from is yaml or json");
	if (read_all(stdin, TOOL_STDIN_MAX, &in, &len, &err) != FZ_OK ||
	    fz_placeholder_load(strcmp(from, "yaml") == 0 ? FZ_PH_YAML : FZ_PH_JSON,
				in, len, NULL, &doc, &err) != FZ_OK) {
		rc = fail("placeholder", &err);
		goto out;
	}
	if (strcmp(to, "json") == 0)
		c = fz_placeholder_to_json(doc, true, &text, &tlen, &err);
	else if (strcmp(to, "yaml") == 0)
		c = fz_placeholder_to_yaml(doc, &text, &tlen, &err);
	else if (strcmp(to, "digest") == 0)
		c = fz_envelope_body_digest(fz_placeholder_body(doc), bd, &err);
	else {
		rc = usage_error("placeholder", "--to is yaml, json or digest");
		goto out;
	}
	if (c != FZ_OK) {
		rc = fail("placeholder", &err);
		goto out;
	}
	if (text != NULL)
		fwrite(text, 1, tlen, stdout);
	else
		printf("Body-Digest: %s\n", bd);
	rc = 0;
out:
	free(text);
	free(in);
	json_decref(doc);
	return rc;
}

static const fz_command tools[] = {
	{"keygen", "--alg ES256|RS256 [--bits N] --out FILE [--force]: make a signing key (0600 PEM)", tool_keygen},
	{"jwks", "FILE...: print the public JWKS of key files", tool_jwks},
	{"sign", "--key FILE [--typ T]: sign the JSON object on stdin as a compact JWS", tool_sign},
	{"verify", "--jwks FILE: verify the JWS on stdin, print its payload", tool_verify},
	{"dpop", "--key FILE --htm M --htu URL [--token-file F]: make a DPoP proof", tool_dpop},
	{"dpop-verify", "--htm M --htu URL: verify the DPoP proof on stdin, print its jkt", tool_dpop_verify},
	{"digest", "[FILE]: the protocol digest of a file (or stdin)", tool_digest},
	{"placeholder", "[--from yaml|json] [--to yaml|json|digest]: check and convert a Placeholder Message on stdin", tool_placeholder},
};

#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

static int tool_help(void)
{
	size_t i;

	printf("usage: federizer tool <name> [options]\n\n");
	for (i = 0; i < NTOOLS; i++)
		printf("  %-12s %s\n", tools[i].name, tools[i].summary);
	return 0;
}

int fz_cmd_tool(int argc, char **argv)
{
	size_t i;

	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0)
		return argc < 2 ? (tool_help(), 2) : tool_help();
	for (i = 0; i < NTOOLS; i++)
		if (strcmp(argv[1], tools[i].name) == 0)
			return tools[i].run(argc - 1, argv + 1);
	fprintf(stderr, "federizer tool: '%s' is not a tool; see 'federizer tool help'\n",
		argv[1]);
	return 2;
}
