/* SPDX-License-Identifier: ISC */
/* The database checks of serve (dbguard.h, D71). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <anvil/err.h>

#include "dbguard.h"
#include "srvlimits.h"

/* The file of a SQLite url, or NULL for other back ends. */
static const char *
sqlite_path(const char *url)
{
	if (strncmp(url, SQLITE_SCHEME, LIT_LEN(SQLITE_SCHEME)) == 0)
		url += LIT_LEN(SQLITE_SCHEME);
	else if (url[0] != '/' && url[0] != '.')
		return NULL;
	return strcmp(url, ":memory:") == 0 ? NULL : url;
}

/* dbguard_take, locking only when lock is set. */
static int
guard(const char *url, int lock, int *fd, struct acme_problem *prob)
{
	const char *path = sqlite_path(url);
	int d;

	*fd = -1;
	if (path == NULL)
		return 0;
	if ((d = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "%s does not exist (anvil-ca init creates a "
			    "database; check the \"database\" key)",
			    path);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "%s: %s", path, strerror(errno));
	}
	if (!lock) {
		close(d);
		return 0;
	}
	if (flock(d, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		close(d);
		if (e == EWOULDBLOCK)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "%s is served by another anvil-ca process", path);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot lock %s: %s", path, strerror(e));
	}
	*fd = d;
	return 0;
}

int
dbguard_take(const char *url, int *fd, struct acme_problem *prob)
{
	return guard(url, 1, fd, prob);
}

int
dbguard_exists(const char *url, struct acme_problem *prob)
{
	int fd;

	return guard(url, 0, &fd, prob);
}
