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

#include "responder.h"
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
	struct responder *r;
	pthread_mutex_t lock;
	struct {
		char token[130];
		char keyauth[256];
	} tab[MAX_TOKENS];
	size_t n;
};

/* Reads a request head within the connection's deadline; 0 or -1. */
static int
read_head(const struct responder_conn *c, char *req, size_t size)
{
	size_t got = 0;
	ssize_t r;

	req[0] = '\0';
	while (got < size - 1) {
		if (responder_wait(c, POLLIN) != 0)
			return -1;
		r = read(c->fd, req + got, size - 1 - got);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			return 0;
	}
	return got > 0 ? 0 : -1;
}

/* Writes all of buf within the connection's deadline. */
static void
write_all(const struct responder_conn *c, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		if (responder_wait(c, POLLOUT) != 0)
			return;
		w = write(c->fd, buf, len);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w <= 0)
			return;
		buf += w;
		len -= (size_t)w;
	}
}

static void
serve_one(void *arg, const struct responder_conn *c)
{
	struct standalone *st = arg;
	char req[2048], path[1024], method[8], body[256], out[512];
	size_t i;
	int found = 0;

	if (read_head(c, req, sizeof(req)) != 0 ||
	    sscanf(req, "%7s %1023s", method, path) != 2)
		return;
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
	write_all(c, out, strlen(out));
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

	responder_close(st->r);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int
solver_standalone_open(struct solver *s, int port, struct acme_problem *prob)
{
	struct standalone *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	pthread_mutex_init(&st->lock, NULL);
	if (responder_open(&st->r, port, "http-01", serve_one, st, prob) != 0) {
		pthread_mutex_destroy(&st->lock);
		free(st);
		return ACME_ERR_IO;
	}
	s->type = "http-01";
	s->publish = standalone_publish;
	s->unpublish = standalone_unpublish;
	s->close = standalone_close;
	s->ctx = st;
	return 0;
}
