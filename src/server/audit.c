/* SPDX-License-Identifier: ISC */
/*
 * The audit log (see audit.h): lines recorded in the store's outbox by
 * the transactions they describe, copied to the file by one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/log.h>

#include "audit.h"
#include "srvlimits.h"

#include "internal.h"

/* Bytes a tail read adds to the file's: the separator before it, the
 * newline that ends a cut-short line, and the NUL. */
#define TAIL_EXTRA 3
/* Bytes of a record's "time" (RFC 3339 with milliseconds) and spare. */
#define TIME_MAX 96
/* struct tm counts years from 1900. */
#define TM_YEAR_BASE 1900

/* Lines read from the outbox per round; the file tail checked at start. */
#define AUDIT_ROWS 128
#define AUDIT_TAIL (1 << 20)
/* After a failed copy (a full disk), the next try. */
#define AUDIT_RETRY_MS 1000

struct audit {
	int fd;
	struct store *st;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* kicked or stopping */
	int kicked, stopping, failed;
	int reopen; /* SIGHUP: the copier opens path anew (D79) */
	char *path;
	char *tail; /* at start: the file's last bytes, for copy() */
};

static void
nap_ms(long ms)
{
	struct timespec ts = { ms / MS_PER_SEC, ms % MS_PER_SEC * NS_PER_MS };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Whether line is one of the whole lines of tail (see read_tail): found
 * between two newlines.
 */
static int
in_tail(const char *tail, const char *line)
{
	size_t n = strlen(line);
	const char *p = tail;

	while ((p = strstr(p, line)) != NULL) {
		if (p > tail && p[-1] == '\n' && p[n] == '\n')
			return 1;
		p++;
	}
	return 0;
}

/*
 * Appends the lines pending in the outbox to the file, flushes it, then
 * drops them from the outbox; rounds of AUDIT_ROWS until none is left.
 * At start, lines the file already holds (a crash after the flush and
 * before the drop) are dropped without a second copy.  Returns 0, or -1
 * with the lines left pending for the next try.
 */
static int
copy(struct audit *a)
{
	struct store_audit rows[AUDIT_ROWS];
	struct acme_problem prob = { 0 };
	size_t n, i, from, len;
	char *buf, *p;
	int rc = 0, shared;

	do {
		/*
		 * One copier at a time across processes (anvil-ca admin
		 * beside serve, D74): the outbox read, the append and the
		 * drop happen under the file's lock, so no line is copied
		 * twice.
		 */
		(void)flock(a->fd, LOCK_EX);
		/* Instances sharing the outbox each copy rows no other holds
		 * (D77): the rows read stay locked until the commit. */
		shared = store_shared(a->st);
		if (shared && store_begin(a->st, &prob) != 0) {
			(void)flock(a->fd, LOCK_UN);
			acme_log(ACME_LOG_ERROR, "audit log", "detail=\"%s\"",
			    prob.detail);
			acme_problem_release(&prob);
			return -1;
		}
		if (store_audit_pending(a->st, rows, AUDIT_ROWS, &n, &prob) !=
		    0) {
			(void)flock(a->fd, LOCK_UN);
			acme_log(ACME_LOG_ERROR, "audit log", "detail=\"%s\"",
			    prob.detail);
			acme_problem_release(&prob);
			if (shared)
				store_rollback(a->st);
			return -1;
		}
		from = 0;
		if (a->tail != NULL)
			while (from < n && in_tail(a->tail, rows[from].line))
				from++;
		for (len = 0, i = from; i < n; i++)
			len += strlen(rows[i].line) + 1;
		if ((p = buf = malloc(len + 1)) == NULL)
			rc = -1;
		for (i = from; buf != NULL && i < n; i++) {
			size_t l = strlen(rows[i].line);

			memcpy(p, rows[i].line, l);
			p[l] = '\n';
			p += l + 1;
		}
		if (rc == 0 && len > 0 &&
		    (write_all(a->fd, buf, len) != 0 ||
			fdatasync(a->fd) != 0)) {
			acme_log(ACME_LOG_ERROR, "audit log",
			    "detail=\"cannot write: %s; %zu lines kept to "
			    "copy again\"",
			    strerror(errno), n - from);
			rc = -1;
		}
		if (rc == 0 && n > 0 &&
		    store_audit_done(a->st, rows[n - 1].seq, &prob) != 0) {
			acme_log(ACME_LOG_ERROR, "audit log", "detail=\"%s\"",
			    prob.detail);
			acme_problem_release(&prob);
			rc = -1;
		}
		if (shared && rc == 0 && store_commit(a->st, &prob) != 0) {
			acme_log(ACME_LOG_ERROR, "audit log", "detail=\"%s\"",
			    prob.detail);
			acme_problem_release(&prob);
			rc = -1;
		} else if (shared && rc != 0)
			store_rollback(a->st);
		(void)flock(a->fd, LOCK_UN);
		free(buf);
		for (i = 0; i < n; i++)
			free(rows[i].line);
	} while (rc == 0 && n == AUDIT_ROWS);
	return rc;
}

/*
 * Opens the file anew for a rotated audit.log (D79).  Only the copier
 * writes a->fd, so lines never go half to the old file.  If the new one
 * cannot be opened, the old one stays in use.
 */
static void
reopen(struct audit *a)
{
	int fd = open(a->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	if (fd == -1 || fchmod(fd, 0600) != 0) {
		acme_log(ACME_LOG_ERROR, "audit log",
		    "path=%s detail=\"cannot reopen: %s; writing the old "
		    "file\"",
		    a->path, strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	close(a->fd);
	a->fd = fd;
	acme_log(ACME_LOG_INFO, "audit log reopened", "path=%s", a->path);
}

static void *
copier(void *arg)
{
	struct audit *a = arg;
	struct timespec until;
	int stop;

	for (;;) {
		pthread_mutex_lock(&a->lock);
		while (!a->kicked && !a->stopping) {
			if (!a->failed) {
				pthread_cond_wait(&a->cond, &a->lock);
				continue;
			}
			clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_sec += AUDIT_RETRY_MS / MS_PER_SEC;
			if (pthread_cond_timedwait(&a->cond, &a->lock,
				&until) != 0)
				break;
		}
		a->kicked = 0;
		stop = a->stopping;
		if (a->reopen) {
			a->reopen = 0;
			pthread_mutex_unlock(&a->lock);
			reopen(a);
		} else
			pthread_mutex_unlock(&a->lock);
		a->failed = copy(a) != 0;
		if (stop)
			break;
		/* Lines committed meanwhile share the next flush. */
		nap_ms(AUDIT_BATCH_MS);
	}
	return NULL;
}

/*
 * The file's last AUDIT_TAIL bytes for in_tail(), led by a newline when
 * they start at the file's start (else the first line may be cut, and
 * is left without one so that it matches nothing), NULL when the file
 * is empty.  If a crash cut the last line short, a newline is appended
 * to the file so that the next line starts on its own.  Returns 0, or
 * -1 with errno set.
 */
static int
read_tail(int fd, char **out)
{
	struct stat sb;
	off_t from;
	ssize_t r;
	size_t got = 0, want;
	char *t;

	*out = NULL;
	if (fstat(fd, &sb) != 0)
		return -1;
	if (sb.st_size == 0)
		return 0;
	from = sb.st_size > AUDIT_TAIL ? sb.st_size - AUDIT_TAIL : 0;
	want = (size_t)(sb.st_size - from);
	if ((t = malloc(want + TAIL_EXTRA)) == NULL)
		return -1;
	t[0] = from == 0 ? '\n' : ' ';
	while (got < want) {
		r = pread(fd, t + 1 + got, want - got, from + (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got == 0 || t[got] != '\n') {
		/* Cut short (or unreadable): the rest goes after a newline. */
		if (write_all(fd, "\n", 1) != 0) {
			free(t);
			return -1;
		}
		t[1 + got++] = '\n';
	}
	t[1 + got] = '\0';
	*out = t;
	return 0;
}

struct audit *
audit_open(const char *path, struct store *st, struct acme_problem *prob)
{
	struct audit *a = calloc(1, sizeof(*a));
	pthread_condattr_t ca;

	if (a == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return NULL;
	}
	a->st = st;
	if ((a->path = strdup(path)) == NULL) {
		a->fd = -1;
		errno = ENOMEM;
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto fail;
	}
	a->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	/* 0600 also when an older anvil-ca left it readable. */
	if (a->fd == -1 || fchmod(a->fd, 0600) != 0 ||
	    read_tail(a->fd, &a->tail) != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "audit log %s: %s", path, strerror(errno));
		goto fail;
	}
	/* What a crash left recorded and not copied goes first. */
	if (copy(a) != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "audit log %s: cannot copy the recorded lines", path);
		goto fail;
	}
	free(a->tail);
	a->tail = NULL;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&a->lock, NULL);
	if (pthread_create(&a->thread, NULL, copier, a) != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "audit log: cannot start its thread");
		pthread_cond_destroy(&a->cond);
		pthread_mutex_destroy(&a->lock);
		goto fail;
	}
	return a;
fail:
	free(a->tail);
	free(a->path);
	if (a->fd != -1)
		close(a->fd);
	free(a);
	return NULL;
}

void
audit_close(struct audit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	close(a->fd);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a->path);
	free(a);
}

void
audit_reopen(struct audit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->reopen = 1;
	a->kicked = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

int
audit_record(struct audit *a, const char *kind, json_t *event,
    struct acme_problem *prob)
{
	struct timespec ts;
	struct tm tm;
	char when[TIME_MAX], *line = NULL;
	json_t *rec;
	int rc;

	if (a == NULL)
		return 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + TM_YEAR_BASE, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / NS_PER_MS);
	rec = json_pack("{s:s, s:s}", "time", when, "event", kind);
	if (rec == NULL || event == NULL ||
	    json_object_update(rec, event) != 0 ||
	    (line = acme_json_compact(rec, NULL)) == NULL) {
		json_decref(rec);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	}
	rc = store_audit_add(a->st, line, prob);
	free(line);
	json_decref(rec);
	return rc;
}

void
audit_kick(struct audit *a)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	a->kicked = 1;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}
