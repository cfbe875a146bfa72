/* SPDX-License-Identifier: ISC */
/*
 * The heartbeat and sweep of the leases (see lease.h, D80, D81).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <anvil/err.h>
#include <anvil/log.h>

#include "lease.h"
#include "ra/ra.h"
#include "store/store.h"
#include "va/va.h"

_Static_assert(sizeof(((struct srv *)0)->instance) == STORE_ID_SIZE,
    "srv->instance holds a store id");

struct lease {
	struct srv *srv;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */
	int stopping;
};

void
lease_beat(struct srv *srv, time_t now)
{
	struct acme_problem prob = { 0 };
	size_t n = 0;

	/* Own leases first, so a slow beat never sweeps its own. */
	if (store_lease_renew(srv->store, srv->instance,
		now + srv_conf(srv)->lease_seconds, &prob) != 0)
		acme_log(ACME_LOG_ERROR, "cannot renew leases", "detail=\"%s\"",
		    prob.detail);
	acme_problem_release(&prob);
	if (ra_orders_unclaim(srv, now, &prob) != 0)
		acme_log(ACME_LOG_ERROR, "cannot give back orders",
		    "detail=\"%s\"", prob.detail);
	acme_problem_release(&prob);
	if (va_takeover(srv->va, now, &n) == 0 && n > 0)
		acme_log(ACME_LOG_WARN, "validations taken over", "count=%zu",
		    n);
}

static void *
beater(void *arg)
{
	struct lease *l = arg;
	struct timespec at;
	int beat;

	pthread_mutex_lock(&l->lock);
	while (!l->stopping) {
		beat = srv_conf(l->srv)->lease_seconds / LEASE_BEATS;
		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_sec += beat > 0 ? beat : 1;
		while (!l->stopping && pthread_cond_timedwait(&l->cond,
					   &l->lock, &at) != ETIMEDOUT)
			;
		if (l->stopping)
			break;
		pthread_mutex_unlock(&l->lock);
		lease_beat(l->srv, l->srv->now());
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

struct lease *
lease_start(struct srv *srv, struct acme_problem *prob)
{
	struct lease *l = calloc(1, sizeof(*l));
	pthread_condattr_t ca;

	ACME_ASSERT(srv != NULL && srv->va != NULL);
	if (l == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return NULL;
	}
	l->srv = srv;
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&l->thread, NULL, beater, l) != 0) {
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->lock);
		free(l);
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot start the lease thread");
		return NULL;
	}
	return l;
}

void
lease_stop(struct lease *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

void
lease_give_back(struct srv *srv)
{
	store_lease_renew(srv->store, srv->instance, 0, NULL);
}
