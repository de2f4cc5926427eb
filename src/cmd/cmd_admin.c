/*
 * cmd_admin.c - `federizer admin -c as.yaml AREA VERB ...`: users,
 * clients and signing keys of an Authorization Server, straight in its
 * database (safe beside a running AS: SQLite WAL and busy timeouts).
 *
 * Thin on purpose: this file reads the command line and prints; the
 * checks are in src/as/as_admin.c. Secrets (passwords, client secrets)
 * come from a file or stdin, never from argv, which other users can see
 * in the process list. Exit codes: 0 done, 1 refused or failed, 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "as_admin.h"
#include "as_keys.h"
#include "as_password.h"
#include "as_store.h"
#include "cmd.h"
#include "config.h"
#include "readfile.h"

#define ADMIN_JWKS_MAX (256 * 1024)
#define ADMIN_USAGE 2

struct admin {
	fz_as_config cfg;
	fz_as_store *st;
	fz_arena *arena;
	int64_t now;
	const char *what; /* "user add", for messages */
};

static int fail(const struct admin *a, const fz_err *err)
{
	fprintf(stderr, "federizer admin %s: %s\n", a->what, err->msg);
	return 1;
}

static int usage(const struct admin *a, const char *msg)
{
	fprintf(stderr, "federizer admin %s: %s; see 'federizer admin help'\n", a->what, msg);
	return ADMIN_USAGE;
}

/* getopt_long takes any unambiguous prefix of a long option: "--password"
 * would pass for "--password-file" and its value, a password typed on the
 * command line, would be read as a file name and echoed in an error.
 * Every long option must be spelled out. */
static int exact_options(const struct admin *a, int argc, char **argv,
			 const struct option *opts)
{
	const struct option *o;
	size_t n;
	int i;

	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0')
			continue;
		n = strcspn(argv[i] + 2, "=");
		for (o = opts; o->name != NULL; o++)
			if (strlen(o->name) == n && strncmp(o->name, argv[i] + 2, n) == 0)
				break;
		if (o->name == NULL) {
			fprintf(stderr, "federizer admin %s: unknown option '%.*s'; see "
				"'federizer admin help'\n", a->what, (int)(n + 2), argv[i]);
			return ADMIN_USAGE;
		}
	}
	return 0;
}

/* Reads a secret from path, or from stdin (without echo on a terminal),
 * dropping one trailing newline. *out is malloc'd; wipe it after use. */
static fz_code read_secret(const char *what, const char *path, char **out,
			   size_t *len, fz_err *err)
{
	struct termios old, quiet;
	bool tty = path == NULL && isatty(STDIN_FILENO);
	fz_code rc;

	if (tty) {
		fprintf(stderr, "%s: ", what);
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
	}
	rc = path ? fz_read_file(path, FZ_AS_PASSWORD_MAX + 2, out, len, err)
		  : fz_read_stream(stdin, "stdin", FZ_AS_PASSWORD_MAX + 2, out, len, err);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &old);
		fprintf(stderr, "\n");
	}
	if (rc != FZ_OK)
		return rc;
	if (*len > 0 && (*out)[*len - 1] == '\n')
		(*out)[--*len] = '\0';
	if (*len > 0 && (*out)[*len - 1] == '\r')
		(*out)[--*len] = '\0';
	return FZ_OK;
}

static void when(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- users --------------------------------------------------------------- */

static int user_add(struct admin *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{"password-file", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	const char *file = NULL;
	char *pw = NULL;
	size_t len = 0;
	fz_err err = {0};
	int c, rc = 1;

	if (exact_options(a, argc, argv, opts) != 0)
		return ADMIN_USAGE;
	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (c != 'p')
			return usage(a, "unknown option");
		file = optarg;
	}
	if (optind != argc - 1)
		return usage(a, "give one ADDRESS");
	/* Refuse a bad address before asking for a password. */
	if (fz_as_admin_check_address(&a->cfg, argv[optind], &err) != FZ_OK)
		return fail(a, &err);
	if (read_secret("password", file, &pw, &len, &err) == FZ_OK &&
	    fz_as_admin_user_add(&a->cfg, a->st, argv[optind], pw, len, a->now, &err) == FZ_OK) {
		printf("added %s\n", argv[optind]);
		rc = 0;
	} else {
		rc = fail(a, &err);
	}
	if (pw != NULL)
		fz_secret_free(pw, len);
	return rc;
}

static int user_password(struct admin *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{"password-file", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	char hash[FZ_AS_PASSWORD_HASH_MAX];
	const char *file = NULL;
	char *pw = NULL;
	size_t len = 0;
	fz_err err = {0};
	fz_as_user u;
	int c, rc = 1;

	if (exact_options(a, argc, argv, opts) != 0)
		return ADMIN_USAGE;
	while ((c = getopt_long(argc, argv, "p:", opts, NULL)) != -1) {
		if (c != 'p')
			return usage(a, "unknown option");
		file = optarg;
	}
	if (optind != argc - 1)
		return usage(a, "give one ADDRESS");
	if (fz_as_store_user_find(a->st, a->arena, argv[optind], &u, &err) != FZ_OK)
		return fail(a, &err);
	if (read_secret("password", file, &pw, &len, &err) != FZ_OK)
		rc = fail(a, &err);
	else if (len < FZ_AS_PASSWORD_MIN)
		rc = (fz_fail(&err, FZ_ESYNTAX, "password shorter than %d bytes",
			      FZ_AS_PASSWORD_MIN), fail(a, &err));
	else if (fz_as_password_hash(pw, len, hash, &err) != FZ_OK ||
		 fz_as_store_user_set_password(a->st, argv[optind], hash, &err) != FZ_OK)
		rc = fail(a, &err);
	else
		rc = (printf("password of %s changed\n", u.address), 0);
	if (pw != NULL)
		fz_secret_free(pw, len);
	return rc;
}

/* Verbs that take exactly one positional argument and no option. */
static int one_arg(struct admin *a, int argc, char **argv, const char *name)
{
	if (argc != 2 || argv[1][0] == '-') {
		char msg[64];

		snprintf(msg, sizeof(msg), "give one %s", name);
		return usage(a, msg);
	}
	return 0;
}

static int user_remove(struct admin *a, int argc, char **argv)
{
	fz_err err = {0};
	int u = one_arg(a, argc, argv, "ADDRESS");

	if (u != 0)
		return u;
	if (fz_as_store_user_remove(a->st, argv[1], &err) != FZ_OK)
		return fail(a, &err);
	printf("removed %s\n", argv[1]);
	return 0;
}

static int user_list(struct admin *a, int argc, char **argv)
{
	fz_as_user *users;
	size_t n, i;
	fz_err err = {0};
	char t[32];

	(void)argv;
	if (argc != 1)
		return usage(a, "takes no argument");
	if (fz_as_store_user_list(a->st, a->arena, &users, &n, &err) != FZ_OK)
		return fail(a, &err);
	for (i = 0; i < n; i++) {
		when(users[i].created_at, t, sizeof(t));
		printf("%s\tforwarding=%s\tcreated=%s\n", users[i].address,
		       users[i].forwarding ? "allow" : "deny", t);
	}
	return 0;
}

static int user_policy(struct admin *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{"forwarding", required_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *fwd = NULL;
	fz_err err = {0};
	int c;

	if (exact_options(a, argc, argv, opts) != 0)
		return ADMIN_USAGE;
	while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (c != 'f')
			return usage(a, "unknown option");
		fwd = optarg;
	}
	if (optind != argc - 1)
		return usage(a, "give one ADDRESS");
	if (fwd == NULL || (strcmp(fwd, "allow") != 0 && strcmp(fwd, "deny") != 0))
		return usage(a, "--forwarding allow|deny is required");
	if (fz_as_store_user_set_forwarding(a->st, argv[optind], strcmp(fwd, "allow") == 0,
					    &err) != FZ_OK)
		return fail(a, &err);
	printf("forwarding %s for %s\n", fwd, argv[optind]);
	return 0;
}

/* --- clients -------------------------------------------------------------- */

struct client_args {
	fz_as_client_spec spec;
	const char *uris[FZ_AS_REDIRECT_URIS_MAX];
	const char *jwks_file, *secret_file;
	int public, confidential;
};

static int client_options(struct admin *a, int argc, char **argv,
			  struct client_args *ca)
{
	static const struct option opts[] = {
		{"public", no_argument, NULL, 'P'},
		{"confidential", no_argument, NULL, 'C'},
		{"redirect-uri", required_argument, NULL, 'r'},
		{"jwks-file", required_argument, NULL, 'j'},
		{"secret-file", required_argument, NULL, 's'},
		{"first-party", no_argument, NULL, 'f'},
		{"audience", required_argument, NULL, 'a'},
		{"sibling-of", required_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	int c;

	if (exact_options(a, argc, argv, opts) != 0)
		return ADMIN_USAGE;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'P': ca->public = 1; break;
		case 'C': ca->confidential = 1; break;
		case 'f': ca->spec.first_party = true; break;
		case 'j': ca->jwks_file = optarg; break;
		case 's': ca->secret_file = optarg; break;
		case 'a': ca->spec.audience = optarg; break;
		case 'S': ca->spec.sibling_of = optarg; break;
		case 'r':
			if (ca->spec.nredirect_uris == FZ_AS_REDIRECT_URIS_MAX)
				return usage(a, "too many --redirect-uri");
			ca->uris[ca->spec.nredirect_uris++] = optarg;
			break;
		default: return usage(a, "unknown option");
		}
	}
	if (optind != argc - 1)
		return usage(a, "give one client ID");
	if (ca->public + ca->confidential != 1)
		return usage(a, "say --public or --confidential");
	if (ca->jwks_file != NULL && ca->secret_file != NULL)
		return usage(a, "give --jwks-file or --secret-file, not both");
	ca->spec.client_id = argv[optind];
	ca->spec.type = ca->public ? FZ_CLIENT_PUBLIC : FZ_CLIENT_CONFIDENTIAL;
	ca->spec.redirect_uris = ca->uris;
	return 0;
}

static int client_add(struct admin *a, int argc, char **argv)
{
	struct client_args ca;
	char *jwks = NULL, *secret = NULL;
	size_t jlen = 0, slen = 0;
	fz_err err = {0};
	int rc;

	memset(&ca, 0, sizeof(ca));
	rc = client_options(a, argc, argv, &ca);
	if (rc != 0)
		return rc;
	if (ca.jwks_file != NULL &&
	    fz_read_file(ca.jwks_file, ADMIN_JWKS_MAX, &jwks, &jlen, &err) != FZ_OK)
		return fail(a, &err);
	if (ca.secret_file != NULL &&
	    read_secret("client secret", ca.secret_file, &secret, &slen, &err) != FZ_OK) {
		free(jwks);
		return fail(a, &err);
	}
	ca.spec.jwks = jwks;
	ca.spec.secret = secret;
	ca.spec.secret_len = slen;
	if (fz_as_admin_client_add(a->st, &ca.spec, a->now, &err) == FZ_OK)
		rc = (printf("added %s client %s\n", ca.public ? "public" : "confidential",
			     ca.spec.client_id), 0);
	else
		rc = fail(a, &err);
	free(jwks);
	if (secret != NULL)
		fz_secret_free(secret, slen);
	return rc;
}

static int client_remove(struct admin *a, int argc, char **argv)
{
	fz_err err = {0};
	int u = one_arg(a, argc, argv, "client ID");

	if (u != 0)
		return u;
	if (fz_as_store_client_remove(a->st, argv[1], &err) != FZ_OK)
		return fail(a, &err);
	printf("removed %s\n", argv[1]);
	return 0;
}

static const char *method_name(fz_as_auth_method m)
{
	return m == FZ_AUTH_PRIVATE_KEY_JWT     ? "private_key_jwt"
	       : m == FZ_AUTH_CLIENT_SECRET_BASIC ? "client_secret_basic"
						  : "none";
}

static int client_list(struct admin *a, int argc, char **argv)
{
	fz_as_client *cl;
	size_t n, i, j;
	fz_err err = {0};

	(void)argv;
	if (argc != 1)
		return usage(a, "takes no argument");
	if (fz_as_store_client_list(a->st, a->arena, &cl, &n, &err) != FZ_OK)
		return fail(a, &err);
	for (i = 0; i < n; i++) {
		printf("%s\t%s\t%s%s", cl[i].client_id,
		       cl[i].type == FZ_CLIENT_PUBLIC ? "public" : "confidential",
		       method_name(cl[i].auth_method), cl[i].first_party ? "\tfirst-party" : "");
		for (j = 0; j < cl[i].nredirect_uris; j++)
			printf("\tredirect-uri=%s", cl[i].redirect_uris[j]);
		if (cl[i].audience)
			printf("\taudience=%s", cl[i].audience);
		if (cl[i].sibling_of)
			printf("\tsibling-of=%s", cl[i].sibling_of);
		printf("\n");
	}
	return 0;
}

/* --- keys ------------------------------------------------------------------- */

static int keys_rotate(struct admin *a, int argc, char **argv)
{
	char kid[FZ_KID_MAX + 1];
	fz_err err = {0};

	(void)argv;
	if (argc != 1)
		return usage(a, "takes no argument");
	if (fz_as_keys_rotate(&a->cfg, a->st, a->now, kid, &err) != FZ_OK)
		return fail(a, &err);
	printf("%s\n", kid);
	return 0;
}

static int keys_list(struct admin *a, int argc, char **argv)
{
	fz_as_key_row *rows;
	size_t n, i;
	fz_err err = {0};
	char created[32], retired[32];

	(void)argv;
	if (argc != 1)
		return usage(a, "takes no argument");
	if (fz_as_store_key_list(a->st, a->arena, &rows, &n, &err) != FZ_OK)
		return fail(a, &err);
	for (i = 0; i < n; i++) {
		when(rows[i].created_at, created, sizeof(created));
		when(rows[i].retired_at, retired, sizeof(retired));
		printf("%s\t%s\tcreated=%s\t%s%s\t%s\n", rows[i].kid, rows[i].alg, created,
		       rows[i].retired_at ? "retired=" : "current",
		       rows[i].retired_at ? retired : "",
		       fz_as_key_published(&a->cfg, &rows[i], a->now) ? "published"
								      : "unpublished");
	}
	return 0;
}

/* --- dispatch ---------------------------------------------------------------- */

static const struct verb {
	const char *area, *verb, *args;
	int (*run)(struct admin *, int, char **);
} verbs[] = {
	{"user", "add", "ADDRESS [--password-file F]  (else the password is read from stdin)", user_add},
	{"user", "remove", "ADDRESS", user_remove},
	{"user", "list", "", user_list},
	{"user", "policy", "ADDRESS --forwarding allow|deny", user_policy},
	{"user", "password", "ADDRESS [--password-file F]", user_password},
	{"client", "add", "ID --public|--confidential [--redirect-uri URI]...\n"
			  "        [--jwks-file F | --secret-file F] [--first-party]\n"
			  "        [--audience URL] [--sibling-of URL]", client_add},
	{"client", "remove", "ID", client_remove},
	{"client", "list", "", client_list},
	{"keys", "rotate", "", keys_rotate},
	{"keys", "list", "", keys_list},
};

#define NVERBS (sizeof(verbs) / sizeof(verbs[0]))

static void admin_help(FILE *f)
{
	size_t i;

	fprintf(f, "usage: federizer admin -c as.yaml AREA VERB [ARGS]\n\n");
	for (i = 0; i < NVERBS; i++)
		fprintf(f, "  %s %s %s\n", verbs[i].area, verbs[i].verb, verbs[i].args);
	fprintf(f, "\nSecrets are read from a file or stdin, never from the command line.\n"
		   "Exit status: 0 done, 1 refused or failed, 2 wrong usage.\n");
}

static int run_verb(const char *path, const struct verb *v, int argc, char **argv)
{
	struct admin a;
	fz_err err = {0};
	char what[32];
	int rc;

	memset(&a, 0, sizeof(a));
	snprintf(what, sizeof(what), "%s %s", v->area, v->verb);
	a.what = what;
	a.now = (int64_t)time(NULL);
	if (fz_cmd_load_as_config(path, &a.cfg, &err) != FZ_OK)
		return fail(&a, &err);
	a.arena = fz_arena_new(0, 0);
	if (a.arena == NULL) {
		fz_as_config_free(&a.cfg);
		fz_fail(&err, FZ_ENOMEM, "out of memory");
		return fail(&a, &err);
	}
	if (fz_as_store_open(a.cfg.database, 1, &a.st, &err) != FZ_OK) {
		rc = fail(&a, &err);
	} else {
		optind = 0; /* glibc: start getopt afresh on the verb's arguments */
		rc = v->run(&a, argc, argv);
	}
	fz_as_store_close(a.st);
	fz_arena_free(a.arena);
	fz_as_config_free(&a.cfg);
	return rc;
}

int fz_cmd_admin(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	size_t i;
	int c;

	/* '+': stop at the first non-option, the area. */
	while ((c = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'h': admin_help(stdout); return 0;
		default: admin_help(stderr); return ADMIN_USAGE;
		}
	}
	if (optind < argc && strcmp(argv[optind], "help") == 0) {
		admin_help(stdout);
		return 0;
	}
	if (argc - optind < 2) {
		admin_help(stderr);
		return ADMIN_USAGE;
	}
	for (i = 0; i < NVERBS; i++) {
		if (strcmp(verbs[i].area, argv[optind]) != 0 ||
		    strcmp(verbs[i].verb, argv[optind + 1]) != 0)
			continue;
		if (path == NULL) {
			fprintf(stderr, "federizer admin: -c as.yaml is required\n");
			return ADMIN_USAGE;
		}
		return run_verb(path, &verbs[i], argc - optind - 1, argv + optind + 1);
	}
	fprintf(stderr, "federizer admin: '%s %s' is not a command; see 'federizer admin help'\n",
		argv[optind], argv[optind + 1]);
	return ADMIN_USAGE;
}
