/* SPDX-License-Identifier: ISC */
/*
 * The leases of an instance on a shared database (D80, D81): every
 * validation job and every finalize claim names the instance holding it
 * (srv->instance) and until when.  A thread renews this instance's
 * leases every lease_seconds / LEASE_BEATS seconds (the heartbeat) and,
 * in the same beat, gives back the orders and claims the jobs whose
 * lease ended (the sweep): an instance that died leaves them to the
 * others within a lease and a beat.  Not started on a back end one
 * process serves (SQLite, D71), whose start takes everything back.
 */
#ifndef ANVIL_LEASE_H
#define ANVIL_LEASE_H

#include <anvil/problem.h>

#include "srv.h"

/* Heartbeats per lease: a lease outlives two missed beats. */
#define LEASE_BEATS 3

struct lease;

/* Starts the heartbeat and sweep of srv (srv->va open); NULL with prob
 * set on failure. */
struct lease *lease_start(struct srv *srv, struct acme_problem *prob);
/* Stops the thread; NULL is a no-op.  The leases stay until given back. */
void lease_stop(struct lease *l);
/*
 * Ends every lease this instance holds now, for a clean stop after the
 * validation workers stopped: the other instances' next sweep takes
 * the jobs still queued here.
 */
void lease_give_back(struct srv *srv);
/* One heartbeat and sweep at now (the thread's body; tests call it). */
void lease_beat(struct srv *srv, time_t now);

#endif
