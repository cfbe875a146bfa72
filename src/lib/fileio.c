/* SPDX-License-Identifier: ISC */
/*
 * Atomic file writes and bounded reads (see include/anvil/fileio.h).
 * The write path: mkstemp next to the target, fchmod to the final mode
 * (so a key is never readable by others, whatever the umask), write all,
 * fsync, rename over the target, fsync the directory so the rename
 * itself survives a crash.  A set of files is written whole before the
 * first rename, and each directory is synced once.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <anvil/err.h>
#include <anvil/fileio.h>

#include "internal.h"

static int
io_error(struct acme_problem *prob, const char *what, const char *path, int err)
{
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "%s %s: %s", what,
	    path, strerror(err));
	return ACME_ERR_IO;
}

/*
 * Writes len bytes to a new temporary file next to path, with mode,
 * and fsyncs it; its name goes to tmp.  Returns 0, or ACME_ERR_IO with
 * prob set and nothing left behind.
 */
static int
write_tmp(const char *path, const void *data, size_t len, mode_t mode,
    char tmp[PATH_MAX], struct acme_problem *prob)
{
	const char *p = data;
	int fd, rc, err;
	size_t off = 0;

	if (snprintf(tmp, PATH_MAX, "%s.tmpXXXXXX", path) >= PATH_MAX)
		return io_error(prob, "write", path, ENAMETOOLONG);
	/* mkstemp, not mkostemp: tests interpose it to inject failures. */
	if ((fd = mkstemp(tmp)) == -1)
		return io_error(prob, "create temporary file for", path, errno);
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (fchmod(fd, mode) != 0) {
		rc = io_error(prob, "chmod", tmp, errno);
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, p + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = io_error(prob, "write", tmp, errno);
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		rc = io_error(prob, "fsync", tmp, errno);
		goto fail;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = io_error(prob, "close", tmp, errno);
		goto fail;
	}
	return 0;
fail:
	err = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = err;
	return rc;
}

/*
 * fsyncs the directory of each path once, so the renames survive a
 * crash.  Best effort: the data is in place even if this fails.
 */
static void
sync_dirs(const struct acme_file_out *files, size_t n)
{
	char buf[PATH_MAX], cur[PATH_MAX], prev[PATH_MAX] = "";
	size_t i;
	int dfd;

	for (i = 0; i < n; i++) {
		if (snprintf(buf, sizeof(buf), "%s", files[i].path) >=
		    (int)sizeof(buf))
			continue;
		/* dirname() may return a pointer into buf or a constant. */
		snprintf(cur, sizeof(cur), "%s", dirname(buf));
		if (strcmp(cur, prev) == 0)
			continue;
		if ((dfd = open(cur, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) !=
		    -1) {
			(void)fsync(dfd);
			close(dfd);
		}
		memcpy(prev, cur, sizeof(prev));
	}
}

int
acme_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode, struct acme_problem *prob)
{
	struct acme_file_out f = { path, data, len, mode };

	return acme_file_write_set(&f, 1, prob);
}

int
acme_file_write_set(const struct acme_file_out *files, size_t n,
    struct acme_problem *prob)
{
	char(*tmp)[PATH_MAX];
	size_t made = 0, renamed = 0, i;
	int rc = 0;

	if (n == 0)
		return 0;
	if ((tmp = calloc(n, sizeof(*tmp))) == NULL)
		return io_error(prob, "write", files[0].path, ENOMEM);
	while (made < n &&
	       (rc = write_tmp(files[made].path, files[made].data,
		    files[made].len, files[made].mode, tmp[made], prob)) == 0)
		made++;
	/* Every new file is on disk before any of them replaces an old. */
	while (rc == 0 && renamed < n) {
		if (rename(tmp[renamed], files[renamed].path) != 0)
			rc = io_error(prob, "rename to", files[renamed].path,
			    errno);
		else
			renamed++;
	}
	for (i = renamed; i < made; i++)
		unlink(tmp[i]);
	if (rc == 0)
		sync_dirs(files, n);
	free(tmp);
	return rc;
}

int
acme_file_create(const char *path, const void *data, size_t len, mode_t mode,
    struct acme_problem *prob)
{
	char tmp[PATH_MAX];
	struct acme_file_out f = { path, data, len, mode };
	int rc;

	if ((rc = write_tmp(path, data, len, mode, tmp, prob)) != 0)
		return rc;
	/* link() never replaces: of two runs creating path, one wins. */
	if (link(tmp, path) != 0) {
		int err = errno;

		unlink(tmp);
		if (err == EEXIST) {
			acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "%s exists already", path);
			return ACME_ERR_LIMIT;
		}
		return io_error(prob, "create", path, err);
	}
	unlink(tmp);
	sync_dirs(&f, 1);
	return 0;
}

/* acme_file_read() and acme_file_read_nofollow(): open flags differ. */
static int
file_read(const char *path, int flags, size_t max, char **out, size_t *len,
    struct acme_problem *prob)
{
	struct stat st;
	char *buf = NULL;
	size_t off = 0;
	int fd, rc = ACME_ERR_IO;

	*out = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | flags)) == -1)
		return io_error(prob, "open", path, errno);
	if (fstat(fd, &st) != 0) {
		rc = io_error(prob, "stat", path, errno);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = io_error(prob, "read", path, EINVAL);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "%s is larger than %zu bytes", path, max);
		rc = ACME_ERR_LIMIT;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory reading %s", path);
		rc = ACME_ERR_NOMEM;
		goto out;
	}
	/* Read to the size seen; a file that grows meanwhile is cut there. */
	while (off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = io_error(prob, "read", path, errno);
			goto out;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	*out = buf;
	*len = off;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int
acme_file_read(const char *path, size_t max, char **out, size_t *len,
    struct acme_problem *prob)
{
	return file_read(path, 0, max, out, len, prob);
}

int
acme_file_read_nofollow(const char *path, size_t max, char **out, size_t *len,
    struct acme_problem *prob)
{
	return file_read(path, O_NOFOLLOW, max, out, len, prob);
}
