/* SPDX-License-Identifier: ISC */
/*
 * The validation authority: a pool of worker threads that validate
 * challenges.  Every validation is recorded as a job in storage before it
 * is queued, and jobs still in storage at start are queued again, so a
 * validation in flight when the process died completes after restart.
 */
#ifndef ANVIL_VA_H
#define ANVIL_VA_H

#include <anvil/problem.h>

#include "../srv.h"

struct va;

/* Starts the workers and re-queues stored jobs. */
struct va *va_open(struct srv *srv, struct acme_problem *prob);
/* Stops the workers after the validations they are running. */
void va_close(struct va *va);
/* CAA results older than this are checked again at finalize (BR 3.2.2.8). */
#define VA_CAA_RECHECK_AFTER (8 * 3600)

struct store_authz;

/*
 * Re-checks CAA for a valid DNS authorization whose validation is older
 * than VA_CAA_RECHECK_AFTER.  Returns 0 when issuance may go ahead, else
 * an error with prob set (caa).  Thread-safe.
 */
int va_recheck_caa(struct va *va, const struct store_authz *z,
    struct acme_problem *prob);

/* Queues a challenge whose job is already stored.  Thread-safe. */
int va_submit(struct va *va, const char *chall_id);

#define VA_MAX_ADDRS 8

struct va_addrs {
	char addr[VA_MAX_ADDRS][46]; /* textual IPv4/IPv6 */
	size_t n;
};

struct ub_ctx;

/*
 * A libunbound context forwarding to resolver ("ADDR:PORT"), or to the
 * system's resolvers when resolver is "".  NULL on failure.
 */
struct ub_ctx *va_resolver_new(const char *resolver, const char *trust_anchor);

/*
 * Addresses of host: itself for an IP literal, else A then AAAA records
 * from ub (or the system resolver when ub is NULL).  Returns 0 or an
 * error with prob set to dns.
 */
int va_lookup(const struct conf *cfg, struct ub_ctx *ub, const char *host,
    struct va_addrs *out, struct acme_problem *prob);

/*
 * ub_resolve() bounded by timeout_ms (UB_SERVFAIL when it passes).
 * *out is freed with ub_resolve_free().
 */
struct ub_result;
int va_resolve_bounded(struct ub_ctx *ub, const char *host, int type,
    int timeout_ms, struct ub_result **out);

/* One dns-01 attempt for name (the base domain of a wildcard). */
int va_dns01(const struct conf *cfg, struct ub_ctx *ub, const char *name,
    const char *keyauth, struct acme_problem *prob);

/*
 * CAA check (RFC 8659, 8657) for a DNS name (the base name of a
 * wildcard, with wildcard set), for account_id validating with method.
 * Returns 0 when this CA may issue, else an error with prob set (caa).
 */
int va_caa(const struct conf *cfg, struct ub_ctx *ub, const char *name,
    int wildcard, const char *account_id, const char *method,
    struct acme_problem *prob);

/* One tls-alpn-01 attempt (RFC 8737) for an identifier value. */
int va_tlsalpn01(const struct conf *cfg, struct ub_ctx *ub, const char *value,
    const char *keyauth, struct acme_problem *prob);

/* Nonzero for loopback, private, link-local and reserved addresses. */
int va_addr_private(const char *addr);

/*
 * One http-01 attempt (RFC 8555 8.3) for the identifier value host.
 * Returns 0 when the key authorization was served, or a negative error
 * with prob set to connection, dns or incorrectResponse.
 */
int va_http01(const struct conf *cfg, struct ub_ctx *ub, const char *host,
    const char *token, const char *keyauth, struct acme_problem *prob);

#endif
