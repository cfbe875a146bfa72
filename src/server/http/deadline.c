/* SPDX-License-Identifier: ISC */
/*
 * Connection deadlines (see deadline.h): a list under one mutex and a
 * thread that looks at it every SWEEP_MS.  The list holds only the
 * connections waiting for a request, at most the listeners' connection
 * limits, so a sweep over all of it costs microseconds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include <anvil/log.h>

#include "deadline.h"
#include "../srvlimits.h"

#include "internal.h"

#define SWEEP_MS 250 /* how late past its deadline a socket may be shut */

struct deadline_entry {
	struct deadline_entry *prev, *next; /* in the list while armed */
	int armed;
	int fd;
	struct timespec due; /* CLOCK_MONOTONIC */
};

struct deadline_set {
	pthread_mutex_t lock;
	pthread_cond_t cond;        /* CLOCK_MONOTONIC; signalled to stop */
	struct deadline_entry head; /* sentinel of a circular list */
	int stop;
	unsigned long expired;
	pthread_t thread;
};

static void
unlink_entry(struct deadline_entry *e)
{
	if (!e->armed)
		return;
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
	e->armed = 0;
}

static int
past(const struct timespec *now, const struct timespec *due)
{
	return now->tv_sec > due->tv_sec ||
	       (now->tv_sec == due->tv_sec && now->tv_nsec >= due->tv_nsec);
}

static void *
sweeper(void *arg)
{
	struct deadline_set *d = arg;
	struct deadline_entry *e, *next;
	struct timespec now, wake;
	unsigned long n;

	pthread_mutex_lock(&d->lock);
	while (!d->stop) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		n = 0;
		for (e = d->head.next; e != &d->head; e = next) {
			next = e->next;
			if (!past(&now, &e->due))
				continue;
			/* Still the connection's: removed before closed. */
			shutdown(e->fd, SHUT_RDWR);
			unlink_entry(e);
			n++;
		}
		d->expired += n;
		if (n > 0) {
			pthread_mutex_unlock(&d->lock);
			acme_log(ACME_LOG_WARN, "header deadline",
			    "closed=%lu detail=\"handshake or request "
			    "headers too slow\"",
			    n);
			pthread_mutex_lock(&d->lock);
		}
		wake = now;
		wake.tv_nsec += SWEEP_MS * NS_PER_MS;
		if (wake.tv_nsec >= NS_PER_SEC) {
			wake.tv_sec++;
			wake.tv_nsec -= NS_PER_SEC;
		}
		while (!d->stop && pthread_cond_timedwait(&d->cond, &d->lock,
				       &wake) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct deadline_set *
deadline_set_new(void)
{
	struct deadline_set *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;
	int ok;

	if (d == NULL)
		return NULL;
	d->head.next = d->head.prev = &d->head;
	if (pthread_mutex_init(&d->lock, NULL) != 0) {
		free(d);
		return NULL;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	ok = pthread_cond_init(&d->cond, &ca) == 0;
	pthread_condattr_destroy(&ca);
	if (!ok) {
		pthread_mutex_destroy(&d->lock);
		free(d);
		return NULL;
	}
	if (pthread_create(&d->thread, NULL, sweeper, d) != 0) {
		pthread_cond_destroy(&d->cond);
		pthread_mutex_destroy(&d->lock);
		free(d);
		return NULL;
	}
	return d;
}

void
deadline_set_free(struct deadline_set *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = 1;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

struct deadline_entry *
deadline_add(struct deadline_set *d, int fd, int seconds)
{
	struct deadline_entry *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->fd = fd;
	deadline_arm(d, e, seconds);
	return e;
}

void
deadline_arm(struct deadline_set *d, struct deadline_entry *e, int seconds)
{
	struct timespec now;

	if (e == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&d->lock);
	e->due.tv_sec = now.tv_sec + seconds;
	e->due.tv_nsec = now.tv_nsec;
	if (!e->armed) {
		e->prev = d->head.prev;
		e->next = &d->head;
		d->head.prev->next = e;
		d->head.prev = e;
		e->armed = 1;
	}
	pthread_mutex_unlock(&d->lock);
}

void
deadline_disarm(struct deadline_set *d, struct deadline_entry *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	unlink_entry(e);
	pthread_mutex_unlock(&d->lock);
}

void
deadline_remove(struct deadline_set *d, struct deadline_entry *e)
{
	if (e == NULL)
		return;
	deadline_disarm(d, e);
	free(e);
}

unsigned long
deadline_expired(struct deadline_set *d)
{
	unsigned long n;

	pthread_mutex_lock(&d->lock);
	n = d->expired;
	pthread_mutex_unlock(&d->lock);
	return n;
}
