/* SPDX-License-Identifier: ISC */
/*
 * Small file helpers: whole-file reads with a bound, and atomic writes
 * (mkstemp in the target directory, fchmod, write, fsync, rename, fsync
 * of the directory) so a reader sees the old file or the new one, never
 * a torn one.
 */
#ifndef ANVIL_FILEIO_H
#define ANVIL_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include <anvil/problem.h>

/*
 * Writes len bytes to path atomically with the given mode.  Returns 0, or
 * ACME_ERR_IO with prob set (serverInternal, detail with path and errno
 * text); on failure the previous file, if any, is untouched.
 */
int acme_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct acme_problem *prob);

/* One file of a set written by acme_file_write_set(). */
struct acme_file_out {
	const char *path;
	const void *data;
	size_t len;
	mode_t mode;
};

/*
 * Writes n files as acme_file_write_atomic() does each, but every new
 * file is written and fsynced before the first replaces its old one
 * (renamed in array order), and each directory is fsynced once after
 * the last rename.  A failure while writing leaves every old file as
 * it was; only a failed rename (the target became a directory, say)
 * can leave the files before it replaced.  Returns 0 or ACME_ERR_IO
 * with prob set.
 */
int acme_file_write_set(const struct acme_file_out *files, size_t n,
    struct acme_problem *prob);

/*
 * Reads all of path into a new NUL-terminated buffer the caller frees.
 * Returns 0, ACME_ERR_IO or ACME_ERR_LIMIT (file larger than max) with
 * prob set.
 */
int acme_file_read(const char *path, size_t max, char **out, size_t *len,
    struct acme_problem *prob);

/* As acme_file_read(), refusing a symlink as the last component. */
int acme_file_read_nofollow(const char *path, size_t max, char **out,
    size_t *len, struct acme_problem *prob);

/*
 * Creates path with len bytes and mode, written and fsynced in full
 * before it appears (link() from a temporary file), and only if no file
 * of that name exists: returns 0, ACME_ERR_LIMIT when path exists
 * already (nothing changed), or ACME_ERR_IO, each with prob set.
 */
int acme_file_create(const char *path, const void *data, size_t len,
    mode_t mode, struct acme_problem *prob);

#endif
