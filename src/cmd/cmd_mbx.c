/*
 * cmd_mbx.c - `federizer mbx -c mbx.yaml`: reads the configuration, opens
 * the Mailbox (database, blob store) and serves until SIGTERM or SIGINT.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "config_mbx.h"
#include "mbx.h"
#include "readfile.h"

static fz_code load_config(const char *path, fz_mbx_config *cfg, fz_err *err)
{
	char *buf = NULL;
	size_t len = 0;
	fz_code rc = fz_read_file(path, FZ_CFG_MAX_BYTES, &buf, &len, err);

	if (rc == FZ_OK) {
		rc = fz_mbx_config_parse(buf, len, cfg, err);
		if (rc != FZ_OK)
			fz_err_prefix(err, "%s", path);
	}
	free(buf);
	return rc;
}

static void mbx_usage(FILE *f)
{
	fprintf(f, "usage: federizer mbx -c mbx.yaml\n\n"
		   "Runs the Mailbox described by the configuration file (see\n"
		   "docs/operations.md). SIGTERM or SIGINT stops it.\n");
}

int fz_cmd_mbx(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	fz_mbx_config cfg;
	fz_mbx *m = NULL;
	fz_err err = {0};
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'h': mbx_usage(stdout); return 0;
		default: mbx_usage(stderr); return 2;
		}
	}
	if (path == NULL || optind != argc) {
		mbx_usage(stderr);
		return 2;
	}
	if (load_config(path, &cfg, &err) != FZ_OK) {
		fprintf(stderr, "federizer mbx: %s\n", err.msg);
		return 1;
	}
	if (fz_mbx_open(&cfg, &m, &err) == FZ_OK && fz_mbx_serve(m, &err) == FZ_OK)
		rc = 0;
	else
		fprintf(stderr, "federizer mbx: %s\n", err.msg);
	fz_mbx_close(m);
	fz_mbx_config_free(&cfg);
	return rc;
}
