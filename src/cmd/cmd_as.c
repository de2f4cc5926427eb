/*
 * cmd_as.c - `federizer as -c as.yaml`: reads the configuration, opens
 * the Authorization Server (database, keys) and serves until SIGTERM or
 * SIGINT; with --print-routes, lists the routes it would serve instead
 * (the API contract test compares them with api/as.yaml). Also loads the
 * AS configuration for `federizer admin`.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "as.h"
#include "as_server.h"
#include "cmd.h"
#include "config.h"
#include "readfile.h"

int fz_cmd_load_as_config(const char *path, fz_as_config *cfg, fz_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	fz_code rc = fz_read_file(path, FZ_CFG_MAX_BYTES, &buf, &len, err);

	if (rc == FZ_OK) {
		rc = fz_as_config_parse(buf, len, cfg, err);
		if (rc != FZ_OK)
			fz_err_prefix(err, "%s", path);
	}
	free(buf);
	return rc;
}

static void as_usage(FILE *f)
{
	fprintf(f, "usage: federizer as -c as.yaml [--print-routes]\n\n"
		   "Runs the Authorization Server described by the configuration file\n"
		   "(see docs/operations.md). SIGTERM or SIGINT stops it; SIGHUP makes it\n"
		   "reload its signing keys now.\n\n"
		   "--print-routes  print the routes it serves, one \"METHOD PATTERN\" per\n"
		   "                line, and exit without opening anything (for checking\n"
		   "                them against api/as.yaml)\n");
}

int fz_cmd_as(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"print-routes", no_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool print_routes = false;
	fz_as_config cfg;
	fz_as *as = NULL;
	fz_err err = {0};
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'h': as_usage(stdout); return 0;
		case 'R': print_routes = true; break;
		default: as_usage(stderr); return 2;
		}
	}
	if (path == NULL || optind != argc) {
		as_usage(stderr);
		return 2;
	}
	if (fz_cmd_load_as_config(path, &cfg, &err) != FZ_OK) {
		fprintf(stderr, "federizer as: %s\n", err.msg);
		return 1;
	}
	if (print_routes) {
		rc = fz_as_server_print_routes(&cfg, stdout, &err) == FZ_OK ? 0 : 1;
		if (rc != 0)
			fprintf(stderr, "federizer as: %s\n", err.msg);
		fz_as_config_free(&cfg);
		return rc;
	}
	if (fz_as_open(&cfg, &as, &err) == FZ_OK && fz_as_serve(as, &err) == FZ_OK)
		rc = 0;
	else
		fprintf(stderr, "federizer as: %s\n", err.msg);
	fz_as_close(as);
	fz_as_config_free(&cfg);
	return rc;
}
