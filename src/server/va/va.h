/* SPDX-License-Identifier: ISC */
/*
 * The validation authority.  va_check() is its one entry point for a
 * validation: a pure function of a request (challenge type, identifier,
 * token, key authorization) and its context (configuration, resolver,
 * CAA cache, deadline), with no store and no state; the validators of
 * every challenge type sit in one table behind it (check.c).  The
 * request and the outcome are plain data, so a remote perspective can
 * answer the same request later.
 *
 * va_open() runs the pool of validation workers (va.c, D70): every
 * validation is recorded as a job in storage before it is queued, jobs
 * still in storage at start, or left by an instance that died, are
 * claimed and queued again (D80), and a worker runs each
 * with the job function it was given (ra_chall_validate), which reads
 * the challenge, calls va_check() and records the outcome.
 */
#ifndef ANVIL_VA_H
#define ANVIL_VA_H

#include <anvil/ident.h>
#include <anvil/problem.h>

#include "../srv.h"
#include "dnsmsg.h"

struct va;
struct va_resolver;
struct caa_cache;

/* One validation asked of the VA: plain strings and integers. */
struct va_request {
	char type[16];           /* "http-01", "dns-01", "tls-alpn-01" */
	struct acme_ident ident; /* the base name of a wildcard */
	int wildcard;            /* the order asked for *.ident (CAA) */
	char token[44];          /* the challenge's token */
	char keyauth[96];        /* token "." account key thumbprint */
	char account_id[32];     /* for CAA accounturi (RFC 8657) */
};

/* What a validation may use; the deadline bounds every step (D53). */
struct va_ctx {
	const struct conf *cfg;
	struct va_resolver *res; /* the calling thread's own */
	struct caa_cache *caa;   /* shared, or NULL: always ask */
	long long deadline;      /* va_deadline() */
};

/*
 * Validates rq: the challenge of its type, then CAA for a DNS
 * identifier once control is shown (S-CAA, BR 3.2.2.8).  Returns 0 when
 * valid, else a negative error with prob set to the problem the
 * challenge records (serverInternal for a type no validator handles).
 * Touches no storage.
 */
int va_check(const struct va_ctx *ctx, const struct va_request *rq,
    struct acme_problem *prob);

/* A stored validation job, run by a worker (ra_chall_validate). */
typedef void (*va_job_fn)(struct srv *srv, struct va_resolver *res,
    struct caa_cache *caa, const char *chall_id);

/*
 * Starts the workers, each running job for the jobs it takes, and
 * claims and queues stored jobs: all of them on a back end one process
 * serves, those whose lease ended on a shared one (D80).
 */
struct va *va_open(struct srv *srv, va_job_fn job, struct acme_problem *prob);
/*
 * The sweep (D80): claims and queues the stored jobs whose lease ended
 * before now (their instance died), at most VA_TAKEOVER_MAX and what the
 * queue has room for.  *n is the count.  Thread-safe.
 */
int va_takeover(struct va *va, time_t now, size_t *n);
#define VA_TAKEOVER_MAX 256
/* Stops the workers after the validations they are running. */
void va_close(struct va *va);
/* CAA results older than this are checked again at finalize (BR 3.2.2.8). */
#define VA_CAA_RECHECK_AFTER (8 * 3600)

struct store_authz;

/*
 * Re-checks CAA for a valid DNS authorization whose validation is older
 * than VA_CAA_RECHECK_AFTER, under cfg, the finalize request's
 * configuration (D89).  Returns 0 when issuance may go ahead, else an
 * error with prob set (caa).  Thread-safe.
 */
int va_recheck_caa(struct va *va, const struct conf *cfg,
    const struct store_authz *z, struct acme_problem *prob);

/*
 * Queues a challenge of account_id whose job is already stored, held
 * by this instance (D80); a job it cannot queue (ACME_ERR_LIMIT) is
 * given back to the sweeps.  At most
 * validation_per_account validations of one account run at a time; the
 * account's other jobs wait their turn, and accounts take turns (D53).
 * Thread-safe.
 */
int va_submit(struct va *va, const char *chall_id, const char *account_id);

/*
 * The end of a validation (D53): a CLOCK_MONOTONIC time in milliseconds.
 * One deadline, set when a job starts, bounds every step of it: DNS
 * lookups, each connection and redirect hop, the TLS handshake, the
 * body, CAA.
 */
long long va_deadline(int seconds);
/* Milliseconds left before deadline, 0 once it has passed. */
int va_time_left(long long deadline);

#define VA_MAX_ADDRS 8

struct va_addrs {
	char addr[VA_MAX_ADDRS][46]; /* textual IPv4/IPv6 */
	size_t n;
};

struct va_resolver;

/*
 * A resolver for one thread at a time: a libunbound context driven by
 * its own libevent event_base, both owned by the returned object, so
 * queries run on the calling thread (no libunbound thread).  It forwards
 * to resolver ("ADDR:PORT"), or to the nameservers of resolv.conf when
 * resolver is "" (no hosts file, no search list); with trust_anchor set
 * answers are validated (DNSSEC).  NULL on failure.  Freed with
 * va_resolver_free().
 */
struct va_resolver *va_resolver_new(const char *resolver,
    const char *trust_anchor);
/* Frees r and any query still in flight; NULL is a no-op. */
void va_resolver_free(struct va_resolver *r);

/*
 * Addresses of host: itself for an IP literal, else A then AAAA records
 * from res, the resolver dns-01 and CAA use (never getaddrinfo: D53),
 * asked before deadline.  Returns 0 or an error with prob set to dns.
 */
int va_lookup(struct va_resolver *res, long long deadline, const char *host,
    struct va_addrs *out, struct acme_problem *prob);

/* One answer: the fields of libunbound's ub_result the validators use. */
struct va_dns_result {
	int rcode;           /* DNS RCODE: 0, 2 SERVFAIL, 3 NXDOMAIN, ... */
	int havedata;        /* n > 0 */
	int nxdomain;        /* rcode == 3 */
	int secure;          /* DNSSEC validated */
	int bogus;           /* DNSSEC validation failed */
	char why_bogus[256]; /* libunbound's reason when bogus, else "" */
	size_t n;            /* records of the queried type */
	const unsigned char *data[DNSMSG_MAX_RR]; /* rdata, into pkt */
	size_t len[DNSMSG_MAX_RR];                /* bytes */
	unsigned char *pkt;                       /* the answer packet, owned */
};

/* Frees what r holds (not r itself); safe on a zeroed or released r. */
void va_dns_result_release(struct va_dns_result *r);

/*
 * Resolves host/type through res, bounded by timeout_ms: libunbound has
 * no per-query timeout and keeps retrying an unresponsive server.
 * Returns 0 with *out filled (release it with va_dns_result_release), or
 * a libunbound error code (UB_SERVFAIL when the time ran out; name it
 * with ub_strerror) with *out empty.
 */
int va_resolve_bounded(struct va_resolver *res, const char *host, int type,
    int timeout_ms, struct va_dns_result *out);

/*
 * One dns-01 attempt for name (the base domain of a wildcard), ending by
 * deadline.
 */
int va_dns01(struct va_resolver *res, long long deadline, const char *name,
    const char *keyauth, struct acme_problem *prob);

struct caa_cache;

/*
 * The CAA RRsets looked up lately, shared by every thread (D41): each
 * kept for seconds.  NULL when seconds is 0 (no cache) or out of memory.
 */
struct caa_cache *caa_cache_new(int seconds);
void caa_cache_free(struct caa_cache *c);

/*
 * CAA check (RFC 8659, 8657) for a DNS name (the base name of a
 * wildcard, with wildcard set), for account_id validating with method,
 * with RRsets from cache when it holds fresh ones (NULL: always asks),
 * every lookup ending by deadline.  Returns 0 when this CA may issue,
 * else an error with prob set (caa).
 */
int va_caa(const struct conf *cfg, struct va_resolver *res,
    struct caa_cache *cache, long long deadline, const char *name, int wildcard,
    const char *account_id, const char *method, struct acme_problem *prob);

/*
 * One tls-alpn-01 attempt (RFC 8737) for an identifier value, lookup,
 * connection and handshake ending by deadline (connection problem when
 * it passes).
 */
int va_tlsalpn01(const struct conf *cfg, struct va_resolver *res,
    long long deadline, const char *value, const char *keyauth,
    struct acme_problem *prob);

/*
 * One http-01 attempt (RFC 8555 8.3) for the identifier value host:
 * every lookup, redirect hop and body ending by deadline.  Returns 0
 * when the key authorization was served, or a negative error with prob
 * set to connection, dns or incorrectResponse.
 */
int va_http01(const struct conf *cfg, struct va_resolver *res,
    long long deadline, const char *host, const char *token,
    const char *keyauth, struct acme_problem *prob);

#endif
