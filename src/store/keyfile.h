/*
 * keyfile.h - private signing keys on disk: PKCS#8 PEM, mode 0600,
 * written durably (temp file, fsync, rename, fsync of the directory) so a
 * crash leaves the old key or the new one, never half of either.
 *
 * Loading refuses a file that group or others may read or write, as
 * OpenSSH does: a key others could read is no longer a secret, and the
 * operator should hear about it rather than run on it.
 */
#ifndef FZ_STORE_KEYFILE_H
#define FZ_STORE_KEYFILE_H

#include <stdbool.h>

#include "err.h"
#include "jwk.h"

#define FZ_KEYFILE_MAX_BYTES FZ_PEM_MAX_BYTES
#define FZ_KEYFILE_MODE 0600

/* Writes key's PEM to path. An existing file is FZ_ECONFLICT unless
 * overwrite is set; then it is replaced atomically. */
fz_code fz_keyfile_save(const char *path, const fz_key *key, bool overwrite,
			fz_err *err);

/* As fz_keyfile_save, for PEM bytes already in hand. */
fz_code fz_keyfile_write(const char *path, const char *pem, size_t len,
			 bool overwrite, fz_err *err);

/* Reads the private key at path. A missing file is FZ_ENOTFOUND; a file
 * open to group or others is FZ_EDENIED, with the chmod to run. */
fz_code fz_keyfile_load(const char *path, fz_key **out, fz_err *err);

#endif
