/* SPDX-License-Identifier: ISC */
/*
 * http-01 solvers: a built-in responder ("standalone"); files in a web
 * server's document root ("webroot") are solver_webroot.c's.  Tokens are
 * checked against the base64url alphabet before they become paths or
 * table keys (S-HTTP-7).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/net.h>

#include "solver.h"

#include "internal.h"

#define MAX_TOKENS 128
#define PREFIX     "/.well-known/acme-challenge/"

int
solver_token_ok(const char *token)
{
	size_t n = strlen(token);

	return n >= 16 && n <= 128 && acme_b64url_valid(token, n);
}

/* --- standalone --- */

struct standalone {
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	pthread_mutex_t lock;
	struct {
		char token[130];
		char keyauth[256];
	} tab[MAX_TOKENS];
	size_t n;
};

static void
serve_one(struct standalone *st, int c)
{
	char req[2048], path[1024], method[8], body[256], out[512];
	struct timeval tv = { 5, 0 };
	ssize_t got = 0, r;
	size_t i;
	int found = 0;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (got < (ssize_t)sizeof(req) - 1 &&
	       (r = read(c, req + got, sizeof(req) - 1 - (size_t)got)) > 0) {
		got += r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	req[got > 0 ? got : 0] = '\0';
	if (sscanf(req, "%7s %1023s", method, path) != 2)
		goto done;
	if (strncmp(path, PREFIX, sizeof(PREFIX) - 1) == 0) {
		pthread_mutex_lock(&st->lock);
		for (i = 0; i < st->n; i++)
			if (strcmp(st->tab[i].token,
				path + sizeof(PREFIX) - 1) == 0) {
				snprintf(body, sizeof(body), "%s",
				    st->tab[i].keyauth);
				found = 1;
			}
		pthread_mutex_unlock(&st->lock);
	}
	if (found)
		snprintf(out, sizeof(out),
		    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		    strlen(body), body);
	else
		snprintf(out, sizeof(out),
		    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
		    "Connection: close\r\n\r\n");
	if (write(c, out, strlen(out)) < 0)
		goto done;
done:
	close(c);
}

static void *
standalone_loop(void *arg)
{
	struct standalone *st = arg;
	int c;

	while ((c = acme_net_accept(st->fd, st->stop_pipe[0], 5)) >= 0)
		serve_one(st, c);
	return NULL;
}

static int
standalone_publish(struct solver *s, const char *name, const char *token,
    const char *keyauth, struct acme_problem *prob)
{
	struct standalone *st = s->ctx;

	(void)name;
	if (!solver_token_ok(token))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the CA sent an unusable token");
	pthread_mutex_lock(&st->lock);
	if (st->n >= MAX_TOKENS) {
		pthread_mutex_unlock(&st->lock);
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "too many challenges at once");
	}
	snprintf(st->tab[st->n].token, sizeof(st->tab[0].token), "%s", token);
	snprintf(st->tab[st->n].keyauth, sizeof(st->tab[0].keyauth), "%s",
	    keyauth);
	st->n++;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

static void
standalone_unpublish(struct solver *s, const char *name, const char *token)
{
	struct standalone *st = s->ctx;
	size_t i;

	(void)name;
	pthread_mutex_lock(&st->lock);
	for (i = 0; i < st->n; i++)
		if (strcmp(st->tab[i].token, token) == 0) {
			st->tab[i] = st->tab[--st->n];
			break;
		}
	pthread_mutex_unlock(&st->lock);
}

static void
standalone_close(struct solver *s)
{
	struct standalone *st = s->ctx;

	if (write(st->stop_pipe[1], "x", 1) < 0)
		return;
	pthread_join(st->thread, NULL);
	close(st->fd);
	close(st->stop_pipe[0]);
	close(st->stop_pipe[1]);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int
solver_standalone_open(struct solver *s, int port, struct acme_problem *prob)
{
	struct standalone *st = calloc(1, sizeof(*st));
	struct sockaddr_in6 a6;
	struct sockaddr_in a4;
	int one = 1, zero = 0;

	if (st == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	/* Dual-stack where IPv6 exists, else IPv4 only. */
	memset(&a6, 0, sizeof(a6));
	a6.sin6_family = AF_INET6;
	a6.sin6_port = htons((uint16_t)port);
	a6.sin6_addr = in6addr_any;
	st->fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (st->fd >= 0) {
		setsockopt(st->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(st->fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero,
		    sizeof(zero));
		if (bind(st->fd, (struct sockaddr *)&a6, sizeof(a6)) != 0) {
			close(st->fd);
			st->fd = -1;
		}
	}
	if (st->fd < 0) {
		memset(&a4, 0, sizeof(a4));
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)port);
		a4.sin_addr.s_addr = htonl(INADDR_ANY);
		st->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (st->fd >= 0)
			setsockopt(st->fd, SOL_SOCKET, SO_REUSEADDR, &one,
			    sizeof(one));
		if (st->fd < 0 ||
		    bind(st->fd, (struct sockaddr *)&a4, sizeof(a4)) != 0) {
			int e = errno;

			if (st->fd >= 0)
				close(st->fd);
			free(st);
			return acme_problem_set(prob, ACME_PROB_CONNECTION,
			    "cannot listen on port %d for http-01: %s", port,
			    strerror(e));
		}
	}
	if (listen(st->fd, 64) != 0 || pipe(st->stop_pipe) != 0) {
		close(st->fd);
		free(st);
		return acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "cannot listen on port %d: %s", port, strerror(errno));
	}
	pthread_mutex_init(&st->lock, NULL);
	if (pthread_create(&st->thread, NULL, standalone_loop, st) != 0) {
		close(st->fd);
		free(st);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot start the http-01 responder");
	}
	s->type = "http-01";
	s->publish = standalone_publish;
	s->unpublish = standalone_unpublish;
	s->close = standalone_close;
	s->ctx = st;
	return 0;
}
