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
	responder_serve_fn serve;
	void *arg;
};

struct conn_job {
	struct responder *r;
	struct responder_conn c;
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

	r->serve(r->arg, &j->c);
	close(j->c.fd);
	free(j);
	pthread_mutex_lock(&r->lock);
	if (--r->active == 0)
		pthread_cond_broadcast(&r->idle);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* Starts a thread for connection fd, or closes it when at the bound. */
static void
conn_start(struct responder *r, int fd)
{
	struct conn_job *j = NULL;
	pthread_attr_t at;
	pthread_t t;
	int ok = 0;

	pthread_mutex_lock(&r->lock);
	if (r->active < RESPONDER_MAX_CONNS &&
	    (j = calloc(1, sizeof(*j))) != NULL) {
		j->r = r;
		j->c.fd = fd;
		j->c.stop_fd = r->stop[0];
		j->c.deadline = now_ms() + RESPONDER_DEADLINE_MS;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &at, conn_main, j) == 0) {
			r->active++;
			ok = 1;
		}
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
		c = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c >= 0)
			conn_start(r, c);
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
