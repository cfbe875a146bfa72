/* SPDX-License-Identifier: ISC */
/*
 * The append-only JSON-lines audit log (see audit.h): each line is
 * written whole under a lock and is on disk before audit_write()
 * returns, through a group commit shared by concurrent writers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <anvil/err.h>

#include "audit.h"
#include "gsync.h"

#include "internal.h"

struct audit {
	int fd;
	pthread_mutex_t lock; /* one line at a time */
	struct gsync gs;      /* then a shared fdatasync (group commit) */
};

static int
flush_log(void *arg)
{
	struct audit *a = arg;

	return fdatasync(a->fd) == 0 ? 0 : ACME_ERR_IO;
}

struct audit *
audit_open(const char *path, struct acme_problem *prob)
{
	struct audit *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return NULL;
	}
	a->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (a->fd == -1) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "audit log %s: %s", path, strerror(errno));
		free(a);
		return NULL;
	}
	if (gsync_init(&a->gs) != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		close(a->fd);
		free(a);
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	return a;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	gsync_destroy(&a->gs);
	free(a);
}

int
audit_write(struct audit *a, const char *kind, json_t *event)
{
	struct timespec ts;
	struct tm tm;
	char when[96], *line = NULL;
	json_t *rec;
	size_t len;
	int rc = ACME_ERR_NOMEM;

	if (a == NULL)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, ts.tv_nsec / 1000000);
	rec = json_pack("{s:s, s:s}", "time", when, "event", kind);
	if (rec == NULL || json_object_update(rec, event) != 0)
		goto out;
	if ((line = json_dumps(rec, JSON_COMPACT)) == NULL)
		goto out;
	len = strlen(line);
	line[len++] = '\n'; /* json_dumps left room for the NUL */
	pthread_mutex_lock(&a->lock);
	rc = write(a->fd, line, len) == (ssize_t)len ? 0 : ACME_ERR_IO;
	pthread_mutex_unlock(&a->lock);
	/* The line is on disk before the caller goes on. */
	if (rc == 0)
		rc = gsync_commit(&a->gs, flush_log, a);
out:
	free(line);
	json_decref(rec);
	return rc;
}
