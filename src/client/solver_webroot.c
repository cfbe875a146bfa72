/* SPDX-License-Identifier: ISC */
/*
 * The webroot http-01 solver: key authorizations as files in
 * WEBROOT/.well-known/acme-challenge/ for a web server to serve.  The
 * webroot usually belongs to the web server's user while anvil runs as
 * root, so everything below the webroot is reached with openat() and
 * O_NOFOLLOW: a symlink planted there is refused, never written
 * through.  The directories anvil creates get mode 0755 and the files
 * 0644 whatever the umask, so the web server can read them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <anvil/err.h>

#include "solver.h"

#include "internal.h"

struct webroot {
	char *path; /* the webroot as given */
	int dir;    /* .well-known/acme-challenge, or -1 until published */
};

/*
 * Opens (making it 0755 first if missing) the directory name below the
 * directory at, without following a symlink.  One of anvil's user's own
 * that others cannot read (made under umask 077 by an anvil before
 * this) gets 0755 too.  Returns the descriptor or -1 with errno set.
 */
static int
subdir(int at, const char *name)
{
	int fd, made = mkdirat(at, name, 0755) == 0;
	struct stat st;

	if (!made && errno != EEXIST)
		return -1;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) != 0)
		goto fail;
	/* The umask does not decide what the web server may read. */
	if ((made || (st.st_uid == geteuid() && (st.st_mode & 0555) != 0555)) &&
	    fchmod(fd, 0755) != 0)
		goto fail;
	return fd;
fail : {
	int err = errno;

	if (fd != -1)
		close(fd);
	errno = err;
	return -1;
}
}

static int
challenge_dir(struct webroot *w, struct acme_problem *prob)
{
	int root, wk = -1;

	if (w->dir != -1)
		return 0;
	if ((root = open(w->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (wk = subdir(root, ".well-known")) == -1 ||
	    (w->dir = subdir(wk, "acme-challenge")) == -1) {
		int err = errno;

		if (root != -1)
			close(root);
		if (wk != -1)
			close(wk);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "webroot %s/.well-known/acme-challenge: %s", w->path,
		    err == ELOOP || err == ENOTDIR ?
			"a symlink or not a directory; refusing to write "
			"through it" :
			strerror(err));
	}
	close(root);
	close(wk);
	return 0;
}

static int
webroot_publish(struct solver *s, const char *name, const char *token,
    const char *keyauth, struct acme_problem *prob)
{
	struct webroot *w = s->ctx;
	char tmp[200];
	size_t len = strlen(keyauth), off = 0;
	int fd;

	(void)name;
	if (!solver_token_ok(token))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the CA sent an unusable token");
	if (challenge_dir(w, prob) != 0)
		return ACME_ERR_IO;
	/* A new file (O_EXCL: never an existing one, never a symlink's
	 * target), renamed over the token's name within the directory. */
	snprintf(tmp, sizeof(tmp), ".%s.%ld", token, (long)getpid());
	unlinkat(w->dir, tmp, 0);
	fd = openat(w->dir, tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1)
		goto fail;
	if (fchmod(fd, 0644) != 0)
		goto fail;
	while (off < len) {
		ssize_t n = write(fd, keyauth + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		off += (size_t)n;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(w->dir, tmp, w->dir, token) != 0)
		goto fail;
	return 0;
fail : {
	int err = errno;

	if (fd != -1)
		close(fd);
	unlinkat(w->dir, tmp, 0);
	return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
	    "webroot %s: writing the challenge file: %s", w->path,
	    strerror(err));
}
}

static void
webroot_unpublish(struct solver *s, const char *name, const char *token)
{
	struct webroot *w = s->ctx;

	(void)name;
	if (solver_token_ok(token) && w->dir != -1)
		unlinkat(w->dir, token, 0);
}

static void
webroot_close(struct solver *s)
{
	struct webroot *w = s->ctx;

	if (w->dir != -1)
		close(w->dir);
	free(w->path);
	free(w);
}

int
solver_webroot_open(struct solver *s, const char *webroot,
    struct acme_problem *prob)
{
	struct webroot *w;
	struct stat st;

	if (stat(webroot, &st) != 0 || !S_ISDIR(st.st_mode))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "webroot %s is not a directory", webroot);
	if ((w = calloc(1, sizeof(*w))) == NULL ||
	    (w->path = strdup(webroot)) == NULL) {
		free(w);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	}
	w->dir = -1;
	s->type = "http-01";
	s->publish = webroot_publish;
	s->unpublish = webroot_unpublish;
	s->close = webroot_close;
	s->ctx = w;
	return 0;
}
