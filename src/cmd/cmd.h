/*
 * cmd.h - the subcommands of the one federizer binary, in the manner of git.
 */
#ifndef FZ_CMD_CMD_H
#define FZ_CMD_CMD_H

typedef struct fz_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} fz_command;

int fz_cmd_version(int argc, char **argv);
int fz_cmd_help(int argc, char **argv);
int fz_cmd_tool(int argc, char **argv);
int fz_cmd_as(int argc, char **argv);
int fz_cmd_admin(int argc, char **argv);
int fz_cmd_mbx(int argc, char **argv);

/* Reads and parses an AS configuration file (cmd_as.c); errors name the
 * file. Returns an fz_code. */
struct fz_as_config;
struct fz_err;
int fz_cmd_load_as_config(const char *path, struct fz_as_config *cfg,
			  struct fz_err *err);

#endif
