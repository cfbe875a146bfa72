/* SPDX-License-Identifier: ISC */
/*
 * The standalone responders' listener (see responder.h): an accept
 * thread, and one detached thread per connection that the close call
 * waits for through a counter, never through a blocked read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <anvil/err.h>

#include "responder.h"

#include "internal.h"

struct responder {
	int fd;
	int stop[2];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t idle;
	unsigned active; /* connection threads running */
	struct conn_job *jobs[RESPONDER_MAX_CONNS]; /* the running ones */
	responder_serve_fn serve;
	void *arg;
};

struct conn_job {
	struct responder *r;
	struct responder_conn c;
	unsigned char peer[16]; /* the client's address, IPv4 mapped */
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
responder_wait(const struct responder_conn *c, short events)
{
	for (;;) {
		struct pollfd p[2] = { { c->fd, events, 0 },
			{ c->stop_fd, POLLIN, 0 } };
		long long left = c->deadline - now_ms();
		int n;

		if (left <= 0)
			return -1;
		n = poll(p, 2, left > 1000000 ? 1000000 : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || p[1].revents != 0)
			return -1;
		if (p[0].revents != 0)
			return 0;
	}
}

static void *
conn_main(void *arg)
{
	struct conn_job *j = arg;
	struct responder *r = j->r;

	size_t i;

	r->serve(r->arg, &j->c);
	close(j->c.fd);
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < RESPONDER_MAX_CONNS; i++)
		if (r->jobs[i] == j)
			r->jobs[i] = NULL;
	if (--r->active == 0)
		pthread_cond_broadcast(&r->idle);
	pthread_mutex_unlock(&r->lock);
	free(j);
	return NULL;
}

/*
 * The peer's address as 16 bytes (IPv4 as ::ffff:a.b.c.d), copied out
 * with memcpy: no access through another struct type (see D52).
 */
static void
peer_key(const struct sockaddr_storage *ss, unsigned char out[16])
{
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;

	memset(out, 0, 16);
	if (ss->ss_family == AF_INET6) {
		memcpy(&a6, ss, sizeof(a6));
		memcpy(out, &a6.sin6_addr, 16);
	} else if (ss->ss_family == AF_INET) {
		memcpy(&a4, ss, sizeof(a4));
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4.sin_addr, 4);
	}
}

/* Connections running from peer, under r->lock; at most one free slot. */
static unsigned
from_peer(const struct responder *r, const unsigned char peer[16], size_t *slot)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < RESPONDER_MAX_CONNS; i++)
		if (r->jobs[i] == NULL)
			*slot = i;
		else if (memcmp(r->jobs[i]->peer, peer, 16) == 0)
			n++;
	return n;
}

/*
 * Starts a thread for connection fd, or closes it when at the bound or
 * when its peer holds RESPONDER_PER_PEER already: one host cannot fill
 * the responder and keep the CA's validation out.
 */
static void
conn_start(struct responder *r, int fd, const struct sockaddr_storage *ss)
{
	struct conn_job *j = NULL;
	unsigned char peer[16];
	size_t slot = RESPONDER_MAX_CONNS;
	pthread_attr_t at;
	pthread_t t;
	int ok = 0;

	peer_key(ss, peer);
	pthread_mutex_lock(&r->lock);
	if (r->active < RESPONDER_MAX_CONNS &&
	    from_peer(r, peer, &slot) < RESPONDER_PER_PEER &&
	    slot < RESPONDER_MAX_CONNS && (j = calloc(1, sizeof(*j))) != NULL) {
		memcpy(j->peer, peer, 16);
		r->jobs[slot] = j;
		j->r = r;
		j->c.fd = fd;
		j->c.stop_fd = r->stop[0];
		j->c.deadline = now_ms() + RESPONDER_DEADLINE_MS;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, conn_main, j) == 0) {
			r->active++;
			ok = 1;
		} else
			r->jobs[slot] = NULL;
		pthread_attr_destroy(&at);
	}
	pthread_mutex_unlock(&r->lock);
	if (!ok) {
		free(j);
		close(fd);
	}
}

static void *
accept_main(void *arg)
{
	struct responder *r = arg;

	for (;;) {
		struct pollfd p[2] = { { r->fd, POLLIN, 0 },
			{ r->stop[0], POLLIN, 0 } };
		int c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents != 0)
			break;
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		memset(&ss, 0, sizeof(ss));
		c = accept4(r->fd, (struct sockaddr *)&ss, &len,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c >= 0)
			conn_start(r, c, &ss);
	}
	return NULL;
}

/* A socket bound to port on every address: IPv6 dual-stack, else IPv4. */
static int
listen_any(int port)
{
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	int one = 1, zero = 0, fd, e;

	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons((uint16_t)port);
	a6.sin6_addr = in6addr_any;
	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0 &&
		    listen(fd, 64) == 0)
			return fd;
		e = errno;
		close(fd);
		/* Taken is taken; only a host without IPv6 falls back. */
		if (e == EADDRINUSE || e == EACCES) {
			errno = e;
			return -1;
		}
	}
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	a4.sin_port = htons((uint16_t)port);
	a4.sin_addr.s_addr = htonl(INADDR_ANY);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) == 0 &&
	    listen(fd, 64) == 0)
		return fd;
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

int
responder_open(struct responder **out, int port, const char *what,
    responder_serve_fn serve, void *arg, struct acme_problem *prob)
{
	struct responder *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	r->stop[0] = r->stop[1] = -1;
	if ((r->fd = listen_any(port)) < 0) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "cannot listen on port %d for %s: %s", port, what,
		    strerror(errno));
		free(r);
		return ACME_ERR_IO;
	}
	if (pipe2(r->stop, O_CLOEXEC) != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot start the %s responder: %s", what, strerror(errno));
		close(r->fd);
		free(r);
		return ACME_ERR_IO;
	}
	r->serve = serve;
	r->arg = arg;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->idle, NULL);
	if (pthread_create(&r->thread, NULL, accept_main, r) != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot start the %s responder", what);
		pthread_cond_destroy(&r->idle);
		pthread_mutex_destroy(&r->lock);
		close(r->fd);
		close(r->stop[0]);
		close(r->stop[1]);
		free(r);
		return ACME_ERR_IO;
	}
	*out = r;
	return 0;
}

void
responder_close(struct responder *r)
{
	if (r == NULL)
		return;
	/* The pipe stays readable: the accept thread and every
	 * connection see the stop, whatever their peers do. */
	while (write(r->stop[1], "x", 1) < 0 && errno == EINTR)
		;
	pthread_join(r->thread, NULL);
	close(r->fd);
	pthread_mutex_lock(&r->lock);
	while (r->active > 0)
		pthread_cond_wait(&r->idle, &r->lock);
	pthread_mutex_unlock(&r->lock);
	pthread_cond_destroy(&r->idle);
	pthread_mutex_destroy(&r->lock);
	close(r->stop[0]);
	close(r->stop[1]);
	free(r);
}
