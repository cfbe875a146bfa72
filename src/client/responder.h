/* SPDX-License-Identifier: ISC */
/*
 * The listener shared by the standalone http-01 and tls-alpn-01 solvers:
 * one port on every address (dual-stack, or IPv4 where the host has no
 * IPv6), each connection served in its own thread with one deadline for
 * the whole exchange, at most RESPONDER_MAX_CONNS at once and
 * RESPONDER_PER_PEER from one address.  A peer that sends slowly holds
 * only its own connections, and only until the deadline; closing the
 * responder wakes every connection at once and never waits on a peer
 * (issue 21 item 7).  Every descriptor is
 * close-on-exec, so hooks inherit none of them.
 */
#ifndef ANVIL_RESPONDER_H
#define ANVIL_RESPONDER_H

#include <anvil/problem.h>

#define RESPONDER_MAX_CONNS   64    /* connections served at once */
#define RESPONDER_PER_PEER    8     /* of them from one address */
#define RESPONDER_DEADLINE_MS 10000 /* whole exchange, per connection */

struct responder;

/* What a connection's serve function gets; fd is non-blocking. */
struct responder_conn {
	int fd;
	int stop_fd;        /* readable once the responder closes */
	long long deadline; /* CLOCK_MONOTONIC, milliseconds */
};

/*
 * serve(arg, conn) answers one connection, waiting only through
 * responder_wait(); the responder closes conn->fd afterwards.  It runs
 * in many threads at once: arg must be locked by serve as needed.
 */
typedef void (*responder_serve_fn)(void *arg, const struct responder_conn *c);

/*
 * Listens on port (what names the challenge type for messages) and
 * starts serving.  Returns 0 with *out set, or an error with prob set
 * (the port is taken, say).
 */
int responder_open(struct responder **out, int port, const char *what,
    responder_serve_fn serve, void *arg, struct acme_problem *prob);

/*
 * Stops listening, wakes every connection, waits for their threads to
 * return (promptly: they wait only in responder_wait) and frees r.
 * The port is free again when it returns.  NULL is a no-op.
 */
void responder_close(struct responder *r);

/*
 * Waits until c->fd is ready for events (POLLIN, POLLOUT).  Returns 0
 * when ready, -1 when the deadline passed or the responder is closing.
 */
int responder_wait(const struct responder_conn *c, short events);

#endif
