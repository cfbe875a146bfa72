/* SPDX-License-Identifier: ISC */
/*
 * Address lookup for validation.  With a configured resolver
 * ("ADDR:PORT") queries go to it through libunbound as a forwarder (a
 * test DNS server such as pebble-challtestsrv, or the CA's own
 * resolver); otherwise the system resolver answers.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unbound.h>

#include <anvil/err.h>

#include "va.h"

#include "internal.h"

#define RR_A     1
#define RR_AAAA  28
#define CLASS_IN 1

/* "127.0.0.1:8053" -> "127.0.0.1@8053", the form libunbound takes. */
static int
fwd_spec(const char *resolver, char *out, size_t size)
{
	const char *colon = strrchr(resolver, ':');
	const char *host = resolver;
	size_t hl;

	if (colon == NULL)
		return snprintf(out, size, "%s", resolver) < (int)size ? 0 : -1;
	hl = (size_t)(colon - resolver);
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		host++;
		hl -= 2;
	}
	return snprintf(out, size, "%.*s@%s", (int)hl, host, colon + 1) <
		       (int)size ?
		   0 :
		   -1;
}

struct lookup {
	int done;
	int err;
	struct ub_result *result;
};

static void
on_result(void *arg, int err, struct ub_result *result)
{
	struct lookup *l = arg;

	l->done = 1;
	l->err = err;
	l->result = result;
}

/*
 * ub_resolve() with a deadline: libunbound has no per-query timeout of
 * its own and keeps retrying an unresponsive server, so the query runs
 * asynchronously and is cancelled when timeout_ms passes.
 */
int
va_resolve_bounded(struct ub_ctx *ub, const char *host, int type,
    int timeout_ms, struct ub_result **out)
{
	struct lookup l = { 0, 0, NULL };
	struct timespec start, now;
	int id = 0, rc, left;

	*out = NULL;
	rc = ub_resolve_async(ub, host, type, CLASS_IN, &l, on_result, &id);
	if (rc != 0)
		return rc;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!l.done) {
		struct pollfd pfd = { ub_fd(ub), POLLIN, 0 };

		clock_gettime(CLOCK_MONOTONIC, &now);
		left =
		    timeout_ms - (int)((now.tv_sec - start.tv_sec) * 1000 +
				       (now.tv_nsec - start.tv_nsec) / 1000000);
		if (left <= 0) {
			ub_cancel(ub, id);
			return UB_SERVFAIL;
		}
		if (poll(&pfd, 1, left) > 0)
			ub_process(ub);
	}
	*out = l.result;
	return l.err;
}

struct ub_ctx *
va_resolver_new(const char *resolver, const char *trust_anchor)
{
	struct ub_ctx *ctx = ub_ctx_create();
	char fwd[300];

	if (ctx == NULL || ub_ctx_async(ctx, 1) != 0 ||
	    ub_ctx_set_option(ctx, "do-not-query-localhost:", "no") != 0 ||
	    /* Bounded caches: a CA asks about new names all the time, and
	     * the defaults (4 MiB + 4 MiB per worker) only grow RSS. */
	    ub_ctx_set_option(ctx, "msg-cache-size:", "256k") != 0 ||
	    ub_ctx_set_option(ctx, "rrset-cache-size:", "256k") != 0 ||
	    (resolver[0] != '\0' &&
		(fwd_spec(resolver, fwd, sizeof(fwd)) != 0 ||
		    ub_ctx_set_fwd(ctx, fwd) != 0)) ||
	    /* No resolver configured: the system's, from resolv.conf. */
	    (resolver[0] == '\0' && ub_ctx_resolvconf(ctx, NULL) != 0) ||
	    (trust_anchor != NULL && trust_anchor[0] != '\0' &&
		ub_ctx_add_ta_file(ctx, trust_anchor) != 0)) {
		if (ctx != NULL)
			ub_ctx_delete(ctx);
		return NULL;
	}
	return ctx;
}

int
va_lookup(const struct conf *cfg, struct ub_ctx *ub, const char *host,
    struct va_addrs *out, struct acme_problem *prob)
{
	static const int types[2] = { RR_A, RR_AAAA };
	unsigned char bin[16];
	int t, i;

	memset(out, 0, sizeof(*out));
	/* An IP identifier is its own address. */
	if (inet_pton(AF_INET, host, bin) == 1 ||
	    inet_pton(AF_INET6, host, bin) == 1) {
		snprintf(out->addr[0], sizeof(out->addr[0]), "%s", host);
		out->n = 1;
		return 0;
	}
	/* No resolver configured: addresses come from the system (hosts
	 * file included), as any other program would see them. */
	if (ub == NULL || cfg->resolver[0] == '\0') {
		struct addrinfo hints, *res = NULL, *ai;
		int rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		rc = getaddrinfo(host, NULL, &hints, &res);
		if (rc != 0)
			return acme_problem_set(prob, ACME_PROB_DNS,
			    "no address for %.200s: %s", host,
			    gai_strerror(rc));
		for (ai = res; ai != NULL && out->n < VA_MAX_ADDRS;
		     ai = ai->ai_next)
			if (getnameinfo(ai->ai_addr, ai->ai_addrlen,
				out->addr[out->n], sizeof(out->addr[0]), NULL,
				0, NI_NUMERICHOST) == 0)
				out->n++;
		freeaddrinfo(res);
		return out->n > 0 ? 0 :
				    acme_problem_set(prob, ACME_PROB_DNS,
					"no address for %.200s", host);
	}
	for (t = 0; t < 2; t++) {
		struct ub_result *r = NULL;
		int rc = va_resolve_bounded(ub, host, types[t],
		    cfg->validation_timeout * 1000 / 2, &r);

		if (rc != 0) {
			acme_problem_set(prob, ACME_PROB_DNS,
			    "resolving %.200s: %s", host, ub_strerror(rc));
			return ACME_ERR_IO;
		}
		if (r->bogus) {
			acme_problem_set(prob, ACME_PROB_DNS,
			    "DNSSEC validation failed for %.200s: %s", host,
			    r->why_bogus != NULL ? r->why_bogus : "bogus");
			ub_resolve_free(r);
			return ACME_ERR_VERIFY;
		}
		for (i = 0;
		     r->havedata && r->data[i] != NULL && out->n < VA_MAX_ADDRS;
		     i++) {
			if (r->len[i] != (types[t] == RR_A ? 4 : 16))
				continue;
			inet_ntop(types[t] == RR_A ? AF_INET : AF_INET6,
			    r->data[i], out->addr[out->n],
			    sizeof(out->addr[0]));
			out->n++;
		}
		ub_resolve_free(r);
	}
	if (out->n == 0)
		return acme_problem_set(prob, ACME_PROB_DNS,
		    "no A or AAAA records for %.200s", host);
	return 0;
}
