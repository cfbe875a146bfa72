/* SPDX-License-Identifier: ISC */
/*
 * DNS for validation.  A va_resolver is a libunbound event context on
 * its own libevent event_base: the thread that asks a question runs the
 * base until the answer or a deadline, so no libunbound thread and no
 * pipe hand-off is involved (D40).  With a configured resolver
 * ("ADDR:PORT") queries go to it as a forwarder (a test DNS server such
 * as pebble-challtestsrv, or the CA's own resolver); otherwise to the
 * nameservers resolv.conf names.  The addresses http-01 and tls-alpn-01
 * connect to come from here too, never from getaddrinfo: no hosts file,
 * no search list, and bounded by the validation's deadline (D53).
 * Answers come back as DNS packets, read by dnsmsg.c into a
 * va_dns_result.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <unbound-event.h>
#include <unbound.h>

#include <anvil/err.h>

#include "va.h"

#include "internal.h"

#define RR_A     DNSMSG_TYPE_A
#define RR_AAAA  DNSMSG_TYPE_AAAA
#define CLASS_IN DNSMSG_CLASS_IN
/* libunbound's sec of an answer (ub_callback_type): bogus, secure. */
#define UB_SEC_BOGUS  1
#define UB_SEC_SECURE 2
/* Bytes of the forwarder as libunbound spells it, "ADDR@PORT". */
#define FWD_MAX 300

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
	if (hl >= LIT_LEN("[]") && host[0] == '[' && host[hl - 1] == ']') {
		host++;
		hl -= LIT_LEN("[]");
	}
	return snprintf(out, size, "%.*s@%s", (int)hl, host, colon + 1) <
		       (int)size ?
		   0 :
		   -1;
}

/* libunbound's process-wide state: what sets it up or tears it down
 * (creating, finalizing, deleting a context) runs under this (D93). */
static pthread_mutex_t ub_global = PTHREAD_MUTEX_INITIALIZER;

struct va_resolver {
	struct event_base *base; /* runs ub's events, on the caller's thread */
	struct ub_ctx *ub;       /* an event context on base */
	struct event *deadline;  /* timer bounding one query */
	int expired;             /* set by deadline */
	int finalized;           /* its first query ran, under ub_global */
};

/* One query in flight: where its answer goes. */
struct lookup {
	int done;
	int err; /* a UB_* code when the answer could not be kept */
	int type;
	struct va_dns_result *out;
};

void
va_dns_result_release(struct va_dns_result *r)
{
	free(r->pkt);
	memset(r, 0, sizeof(*r));
}

/*
 * ub_resolve_event's callback.  rcode is libunbound's own verdict: not
 * 0 (mostly SERVFAIL) means there is no packet worth reading.  Else the
 * packet's header and answer section give what ub_resolve() would have
 * put in a ub_result, and a packet that does not parse is a SERVFAIL, as
 * libunbound makes it.  The packet and why_bogus belong to libunbound
 * and live only during the call, so what is kept is copied.
 */
static void
on_answer(void *arg, int rcode, void *packet, int len, int sec, char *why_bogus,
    int was_ratelimited)
{
	struct lookup *l = arg;
	struct va_dns_result *r = l->out;
	struct dnsmsg_answer a;
	size_t i;

	(void)was_ratelimited;
	l->done = 1;
	if (why_bogus != NULL)
		snprintf(r->why_bogus, sizeof(r->why_bogus), "%s", why_bogus);
	if (rcode != 0) {
		r->rcode = rcode;
		r->nxdomain = rcode == DNSMSG_RCODE_NXDOMAIN;
		return;
	}
	r->rcode = DNSMSG_RCODE_SERVFAIL;
	if (packet == NULL || len <= 0)
		return;
	if ((r->pkt = malloc((size_t)len)) == NULL) {
		l->err = UB_NOMEM;
		return;
	}
	memcpy(r->pkt, packet, (size_t)len);
	if (dnsmsg_answer_parse(r->pkt, (size_t)len, l->type, &a) != 0)
		return;
	r->rcode = a.rcode;
	r->nxdomain = a.rcode == DNSMSG_RCODE_NXDOMAIN;
	for (i = 0; i < a.n; i++) {
		r->data[i] = r->pkt + a.rr[i].off;
		r->len[i] = a.rr[i].len;
	}
	r->n = a.n;
	r->havedata = a.n > 0;
	r->secure = sec == UB_SEC_SECURE;
	r->bogus = sec == UB_SEC_BOGUS;
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/*
 * The query runs on res's event_base, which this thread drives until the
 * answer came or the deadline timer fired.  On the deadline the query is
 * cancelled: for an event context ub_cancel() only marks it, libunbound
 * keeps working on it in later runs of the base (a later identical
 * question joins it) but never calls back into this, by then dead,
 * stack frame.
 */
int
va_resolve_bounded(struct va_resolver *res, const char *host, int type,
    int timeout_ms, struct va_dns_result *out)
{
	struct lookup l = { 0, 0, type, out };
	struct timeval tv;
	int id = 0, rc, first;

	memset(out, 0, sizeof(*out));
	/* A context's first query finalizes it: one at a time (D93). */
	if ((first = !res->finalized))
		pthread_mutex_lock(&ub_global);
	rc =
	    ub_resolve_event(res->ub, host, type, CLASS_IN, &l, on_answer, &id);
	if (first) {
		res->finalized = rc == 0;
		pthread_mutex_unlock(&ub_global);
	}
	if (rc != 0)
		return rc;
	/* Local data (libunbound's own zones) is answered in the call. */
	if (!l.done) {
		if (timeout_ms < 0)
			timeout_ms = 0;
		tv.tv_sec = timeout_ms / MS_PER_SEC;
		tv.tv_usec = (timeout_ms % MS_PER_SEC) * US_PER_MS;
		res->expired = 0;
		if (evtimer_add(res->deadline, &tv) == 0)
			while (!l.done && !res->expired &&
			       event_base_loop(res->base, EVLOOP_ONCE) == 0)
				;
		evtimer_del(res->deadline);
		if (!l.done) {
			ub_cancel(res->ub, id);
			return UB_SERVFAIL;
		}
	}
	if (l.err != 0) {
		va_dns_result_release(out);
		return l.err;
	}
	return 0;
}

void
va_resolver_free(struct va_resolver *r)
{
	if (r == NULL)
		return;
	/* The context first: deleting it removes its events from base. */
	if (r->ub != NULL) {
		pthread_mutex_lock(&ub_global);
		ub_ctx_delete(r->ub);
		pthread_mutex_unlock(&ub_global);
	}
	if (r->deadline != NULL)
		event_free(r->deadline);
	if (r->base != NULL)
		event_base_free(r->base);
	free(r);
}

struct va_resolver *
va_resolver_new(const char *resolver, const char *trust_anchor)
{
	struct va_resolver *r = calloc(1, sizeof(*r));
	struct ub_ctx *ctx;
	char fwd[FWD_MAX];

	if (r == NULL)
		return NULL;
	if ((r->base = event_base_new()) == NULL ||
	    (r->deadline = evtimer_new(r->base, on_deadline, &r->expired)) ==
		NULL)
		goto fail;
	pthread_mutex_lock(&ub_global);
	r->ub = ub_ctx_create_event(r->base);
	pthread_mutex_unlock(&ub_global);
	if (r->ub == NULL)
		goto fail;
	ctx = r->ub;
	if (ub_ctx_set_option(ctx, "do-not-query-localhost:", "no") != 0 ||
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
		ub_ctx_add_ta_file(ctx, trust_anchor) != 0))
		goto fail;
	return r;
fail:
	va_resolver_free(r);
	return NULL;
}

int
va_lookup(struct va_resolver *res, long long deadline, const char *host,
    struct va_addrs *out, struct acme_problem *prob)
{
	static const int types[] = { RR_A, RR_AAAA };
	unsigned char bin[IPV6_LEN];
	size_t i;
	int t;

	memset(out, 0, sizeof(*out));
	/* An IP identifier is its own address. */
	if (inet_pton(AF_INET, host, bin) == 1 ||
	    inet_pton(AF_INET6, host, bin) == 1) {
		snprintf(out->addr[0], sizeof(out->addr[0]), "%s", host);
		out->n = 1;
		return 0;
	}
	/* The resolver of dns-01 and CAA, also with resolver "" (D53). */
	if (res == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "no DNS resolver available");
	for (t = 0; t < (int)ACME_ARRAY_LEN(types); t++) {
		struct va_dns_result r;
		int rc = va_resolve_bounded(res, host, types[t],
		    va_time_left(deadline), &r);

		if (rc != 0) {
			acme_problem_set(prob, ACME_PROB_DNS,
			    "resolving %.200s: %s", host,
			    rc == UB_SERVFAIL ? "timeout or server failure" :
						ub_strerror(rc));
			return ACME_ERR_IO;
		}
		if (r.bogus) {
			acme_problem_set(prob, ACME_PROB_DNS,
			    "DNSSEC validation failed for %.200s: %s", host,
			    r.why_bogus[0] != '\0' ? r.why_bogus : "bogus");
			va_dns_result_release(&r);
			return ACME_ERR_VERIFY;
		}
		for (i = 0; i < r.n && out->n < VA_MAX_ADDRS; i++) {
			if (r.len[i] !=
			    (types[t] == RR_A ? IPV4_LEN : IPV6_LEN))
				continue;
			inet_ntop(types[t] == RR_A ? AF_INET : AF_INET6,
			    r.data[i], out->addr[out->n], sizeof(out->addr[0]));
			out->n++;
		}
		va_dns_result_release(&r);
	}
	if (out->n == 0)
		return acme_problem_set(prob, ACME_PROB_DNS,
		    "no A or AAAA records for %.200s", host);
	return 0;
}
