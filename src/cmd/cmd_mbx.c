/*
 * cmd_mbx.c - `federizer mbx -c mbx.yaml`: reads the configuration, opens
 * the Mailbox (database, blob store), starts the MTA worker beside it
 * and serves until SIGTERM or SIGINT. Here the two halves of the seed's
 * MBX/MTA dual role meet: mbx/ and mta/ do not include each other, so
 * this file hands the worker the Mailbox's handles (fz_mta_env) and the
 * Mailbox the worker's kick (m->queued). With --print-routes it lists
 * the routes it would serve instead (compared with api/mbx.yaml).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd.h"
#include "config_mbx.h"
#include "mbx.h"
#include "mbx_memory.h"
#include "mta.h"
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

static void kick(void *w)
{
	fz_mta_kick(w);
}

static fz_code start_mta(fz_mbx *m, fz_mta **out, fz_err *err)
{
	const fz_mta_env env = {
		.cfg = m->cfg,
		.store = m->store,
		.blobs = m->blobs,
		.disc = m->disc,
		.client_key = m->mta_key,
		.dpop_key = m->mta_dpop_key,
		.token_endpoint = fz_mbx_token_endpoint_cb,
		.changed = fz_mbx_changed_cb,
		.ctx = m,
	};
	fz_code rc = fz_mta_start(&env, out, err);

	if (rc == FZ_OK) {
		m->queued = kick;
		m->queued_ctx = *out;
	}
	return rc;
}

static void mbx_usage(FILE *f)
{
	fprintf(f, "usage: federizer mbx -c mbx.yaml [--print-routes]\n\n"
		   "Runs the Mailbox described by the configuration file (see\n"
		   "docs/operations.md). SIGTERM or SIGINT stops it.\n\n"
		   "--print-routes  print the routes it serves, one \"METHOD PATTERN\" per\n"
		   "                line, and exit without opening anything (for checking\n"
		   "                them against api/mbx.yaml)\n");
}

int fz_cmd_mbx(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"print-routes", no_argument, NULL, 'R'},
		{NULL, 0, NULL, 0},
	};
	const char *path = NULL;
	bool print_routes = false;
	fz_mbx_config cfg;
	fz_mbx *m = NULL;
	fz_mta *w = NULL;
	fz_err err = {0};
	int c, rc = 1;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'h': mbx_usage(stdout); return 0;
		case 'R': print_routes = true; break;
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
	if (print_routes) {
		rc = fz_mbx_server_print_routes(&cfg, stdout, &err) == FZ_OK ? 0 : 1;
		if (rc != 0)
			fprintf(stderr, "federizer mbx: %s\n", err.msg);
		fz_mbx_config_free(&cfg);
		return rc;
	}
	/* Before the first thread: arenas are made as threads need them. */
	fz_mbx_memory_setup(&cfg);
	/* The worker stops after the server: a handler may still kick it. */
	if (fz_mbx_open(&cfg, &m, &err) == FZ_OK && start_mta(m, &w, &err) == FZ_OK &&
	    fz_mbx_serve(m, &err) == FZ_OK)
		rc = 0;
	else
		fprintf(stderr, "federizer mbx: %s\n", err.msg);
	if (m != NULL)
		m->queued = NULL;
	fz_mta_stop(w);
	fz_mbx_close(m);
	fz_mbx_config_free(&cfg);
	return rc;
}
