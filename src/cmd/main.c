/*
 * main.c - dispatch to a subcommand. Each subcommand lives in its own file
 * and owns its options; main only finds it.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"

#ifndef FZ_VERSION
#define FZ_VERSION "unknown"
#endif

static const fz_command commands[] = {
	{"as", "run the Authorization Server (-c as.yaml)", fz_cmd_as},
	{"mbx", "run the Mailbox and MTA (-c mbx.yaml)", fz_cmd_mbx},
	{"admin", "manage users, clients, keys and policies (-c as.yaml)", fz_cmd_admin},
	{"tool", "keys, JWS, DPoP proofs, digests and Placeholder conversion", fz_cmd_tool},
	{"version", "print the version", fz_cmd_version},
	{"help", "list the subcommands", fz_cmd_help},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

int fz_cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("federizer %s\n", FZ_VERSION);
	return 0;
}

int fz_cmd_help(int argc, char **argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	printf("usage: federizer <command> [options]\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		printf("  %-8s %s\n", commands[i].name, commands[i].summary);
	printf("\n'federizer <command> --help' describes one command.\n");
	return 0;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		fz_cmd_help(0, NULL);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return fz_cmd_help(0, NULL);
	if (strcmp(argv[1], "--version") == 0)
		return fz_cmd_version(0, NULL);
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "federizer: '%s' is not a command; see 'federizer help'\n",
		argv[1]);
	return 2;
}
