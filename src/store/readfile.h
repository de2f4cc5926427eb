/*
 * readfile.h - reading a small whole file (a configuration, a password
 * file, a JWKS) into memory with a bound, so no input can make a
 * command swallow a disk.
 */
#ifndef FZ_STORE_READFILE_H
#define FZ_STORE_READFILE_H

#include <stddef.h>
#include <stdio.h>

#include "err.h"

/* Reads path ("-" is stdin) into a malloc'd NUL-terminated buffer of at
 * most max bytes. A missing file is FZ_ENOTFOUND, a larger one FZ_ELIMIT;
 * every message names the file. */
fz_code fz_read_file(const char *path, size_t max, char **out, size_t *len,
		     fz_err *err);

/* As fz_read_file for an open stream. */
fz_code fz_read_stream(FILE *f, const char *name, size_t max, char **out,
		       size_t *len, fz_err *err);

#endif
