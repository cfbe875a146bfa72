/* SPDX-License-Identifier: ISC */
/*
 * The shared http-01 responder (see bench.h).  A few threads accept on
 * one listening socket; each connection carries one GET, answered and
 * closed.  The answer is derived from the request (token from the path,
 * worker from the Host header), so publishing a challenge costs the
 * workers nothing and the responder never becomes the bottleneck.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/net.h>

#include "bench.h"

#include "internal.h"

#define THREADS    4
#define REQ_MAX    4096
#define PREFIX     "/.well-known/acme-challenge/"
#define TOKEN_MAX  128
#define READ_LIMIT 5 /* seconds a peer may take to send its request */

struct responder {
	int fd;
	int stop[2];
	pthread_t threads[THREADS];
	unsigned nthreads;
	pthread_mutex_t lock; /* guards thumbs */
	char (*thumbs)[BENCH_THUMB_MAX];
	unsigned workers;
	unsigned long served; /* atomic */
};

/* Reads until the end of the headers; returns the length or -1. */
static ssize_t
read_request(int c, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;

	while (got < size - 1) {
		n = read(c, buf + got, size - 1 - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		buf[got] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			return (ssize_t)got;
	}
	return -1;
}

/* The Host header's value up to any port, lowercase, or "" if absent. */
static void
host_of(const char *req, char *out, size_t size)
{
	const char *p = req, *v;
	size_t n = 0;

	out[0] = '\0';
	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, "Host:", 5) != 0)
			continue;
		v = p + 5;
		while (*v == ' ' || *v == '\t')
			v++;
		while (v[n] != '\0' && v[n] != '\r' && v[n] != ':' &&
		       n + 1 < size) {
			char ch = v[n];

			out[n++] =
			    (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
		}
		out[n] = '\0';
		return;
	}
}

/* Worker number from a name RANDOM.wN.domain, or -1. */
static long
worker_of(const char *host)
{
	const char *dot = strchr(host, '.');
	char *end;
	long w;

	if (dot == NULL || dot[1] != 'w' || dot[2] < '0' || dot[2] > '9')
		return -1;
	w = strtol(dot + 2, &end, 10);
	return *end == '.' ? w : -1;
}

static void
serve(struct responder *r, int c)
{
	char req[REQ_MAX], host[256], token[TOKEN_MAX + 1], thumb[64];
	char out[512];
	const char *path;
	size_t tl;
	long w;
	int n;

	if (read_request(c, req, sizeof(req)) < 0)
		return;
	thumb[0] = '\0';
	if (strncmp(req, "GET " PREFIX, 4 + sizeof(PREFIX) - 1) == 0) {
		path = req + 4 + sizeof(PREFIX) - 1;
		tl = strcspn(path, " ?\r\n");
		host_of(req, host, sizeof(host));
		w = worker_of(host);
		/* A token is base64url (S-HTTP-7): never echo anything else. */
		if (tl >= 16 && tl <= TOKEN_MAX &&
		    acme_b64url_valid(path, tl) && w >= 0 &&
		    (unsigned long)w < r->workers) {
			memcpy(token, path, tl);
			token[tl] = '\0';
			pthread_mutex_lock(&r->lock);
			snprintf(thumb, sizeof(thumb), "%s", r->thumbs[w]);
			pthread_mutex_unlock(&r->lock);
		}
	}
	if (thumb[0] != '\0') {
		n = snprintf(out, sizeof(out),
		    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s.%s",
		    strlen(token) + 1 + strlen(thumb), token, thumb);
		__atomic_add_fetch(&r->served, 1, __ATOMIC_RELAXED);
	} else
		n = snprintf(out, sizeof(out),
		    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n");
	if (n > 0 && (size_t)n < sizeof(out) && write(c, out, (size_t)n) != n)
		return; /* the peer went away: nothing to tell anyone */
}

static void *
loop(void *arg)
{
	struct responder *r = arg;
	int c;

	/* The listener is non-blocking: a thread that loses the race for a
	 * connection goes back to waiting. */
	while ((c = acme_net_accept(r->fd, r->stop[0], READ_LIMIT)) >= 0) {
		serve(r, c);
		close(c);
	}
	return NULL;
}

struct responder *
responder_open(int port, unsigned workers, struct acme_problem *prob)
{
	struct responder *r = calloc(1, sizeof(*r));
	struct sockaddr_in a;
	int one = 1;

	if (r == NULL ||
	    (r->thumbs = calloc(workers, sizeof(*r->thumbs))) == NULL) {
		free(r);
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return NULL;
	}
	r->workers = workers;
	r->stop[0] = r->stop[1] = -1;
	pthread_mutex_init(&r->lock, NULL);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->fd < 0 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) !=
		0 ||
	    bind(r->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(r->fd, 1024) != 0 || pipe(r->stop) != 0) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "cannot listen on 127.0.0.1:%d for http-01: %s", port,
		    strerror(errno));
		responder_close(r);
		return NULL;
	}
	for (r->nthreads = 0; r->nthreads < THREADS; r->nthreads++)
		if (pthread_create(&r->threads[r->nthreads], NULL, loop, r) !=
		    0) {
			acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "cannot start the http-01 responder");
			responder_close(r);
			return NULL;
		}
	return r;
}

void
responder_set_thumb(struct responder *r, unsigned w, const char *thumb)
{
	if (w >= r->workers)
		return;
	pthread_mutex_lock(&r->lock);
	snprintf(r->thumbs[w], sizeof(r->thumbs[w]), "%s", thumb);
	pthread_mutex_unlock(&r->lock);
}

unsigned long
responder_served(struct responder *r)
{
	return __atomic_load_n(&r->served, __ATOMIC_RELAXED);
}

void
responder_close(struct responder *r)
{
	unsigned i;

	if (r == NULL)
		return;
	/* The pipe stays readable, so every thread sees the stop. */
	if (r->stop[1] >= 0 && write(r->stop[1], "x", 1) == 1)
		for (i = 0; i < r->nthreads; i++)
			pthread_join(r->threads[i], NULL);
	if (r->fd >= 0)
		close(r->fd);
	if (r->stop[0] >= 0)
		close(r->stop[0]);
	if (r->stop[1] >= 0)
		close(r->stop[1]);
	pthread_mutex_destroy(&r->lock);
	free(r->thumbs);
	free(r);
}
