/*
 * readfile.c - bounded whole-file reads for configuration and secrets.
 */
#include "readfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536

fz_code fz_read_stream(FILE *f, const char *name, size_t max, char **out,
		       size_t *len, fz_err *err)
{
	size_t cap = READ_CHUNK < max + 1 ? READ_CHUNK : max + 1, n = 0, got;
	char *buf = malloc(cap + 1), *grown;

	*out = NULL;
	*len = 0;
	if (buf == NULL)
		return fz_fail(err, FZ_ENOMEM, "out of memory");
	while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n > max) {
			free(buf);
			return fz_fail(err, FZ_ELIMIT, "%s: larger than %zu bytes", name, max);
		}
		if (n < cap)
			continue;
		cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
		grown = realloc(buf, cap + 1);
		if (grown == NULL) {
			free(buf);
			return fz_fail(err, FZ_ENOMEM, "out of memory");
		}
		buf = grown;
	}
	if (ferror(f)) {
		free(buf);
		return fz_fail(err, FZ_EIO, "%s: %s", name, strerror(errno));
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return FZ_OK;
}

fz_code fz_read_file(const char *path, size_t max, char **out, size_t *len,
		     fz_err *err)
{
	FILE *f;
	fz_code rc;

	if (strcmp(path, "-") == 0)
		return fz_read_stream(stdin, "stdin", max, out, len, err);
	f = fopen(path, "re");
	if (f == NULL) {
		*out = NULL;
		*len = 0;
		if (errno == ENOENT)
			return fz_fail(err, FZ_ENOTFOUND, "%s: no such file", path);
		return fz_fail(err, FZ_EIO, "%s: %s", path, strerror(errno));
	}
	rc = fz_read_stream(f, path, max, out, len, err);
	fclose(f);
	return rc;
}
