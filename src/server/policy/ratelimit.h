/* SPDX-License-Identifier: ISC */
/*
 * Rate limits (RFC 8555 6.6, 10.3; D51): token buckets kept in the
 * store, so every process sharing the database counts together and a
 * restart forgets nothing.  Each limit is a count per window, refilled
 * gradually (one token per window / count), and off unless configured
 * ("rate_limits" in anvil-ca.json).  A request over one gets rateLimited
 * (429) with Retry-After: when the same request would be allowed.
 * An order that replaces a certificate (RFC 9773 "replaces") with
 * exactly its identifiers, the first to replace it, is exempt from all
 * of them, as at Let's Encrypt (S-ARI-16, D57).
 */
#ifndef ANVIL_RATELIMIT_H
#define ANVIL_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include <anvil/ident.h>
#include <anvil/problem.h>

struct store;

enum rl_kind {
	RL_NEW_ACCOUNTS_PER_IP,    /* newAccount per IPv4 address or IPv6 /48 */
	RL_NEW_ORDERS_PER_ACCOUNT, /* newOrder per account */
	RL_CERTS_PER_IDENT_SET,    /* issuances per exact identifier set */
	RL_FAILED_AUTHZ_PER_IDENT, /* failed validations per account and
				    * identifier; blocks new orders for it */
	RL__COUNT
};

struct rl_limit {
	int count;  /* 0: off */
	int window; /* seconds */
};

struct rl_set {
	struct rl_limit l[RL__COUNT];
};

/* The configuration name of a limit ("new_orders_per_account", ...). */
const char *rl_name(enum rl_kind k);

/*
 * Reads a "rate_limits" object: name -> {"count": N, "window": S}.
 * Unknown names and keys, and values out of bounds, are malformed.
 */
int rl_set_load(struct rl_set *set, json_t *obj, struct acme_problem *prob);
json_t *rl_set_json(const struct rl_set *set);

enum rl_mode {
	RL_CHECK = 0, /* would one more be allowed? */
	RL_SPEND = 1, /* take one if allowed */
	RL_FORCE = 2, /* take one even if not: the event happened */
};

/*
 * Applies limit k to key at now.  Returns 0 when allowed (or the limit
 * is off), ACME_ERR_LIMIT with prob set to rateLimited and *retry_after
 * to the seconds to wait, or another negative error.
 */
int rl_apply(struct store *st, const struct rl_set *set, enum rl_kind k,
    const char *key, time_t now, enum rl_mode mode, time_t *retry_after,
    struct acme_problem *prob);

/* Bytes of a rate-limit key, NUL included: one of an identifier set
 * is a hash, of an account and identifier a store id and a DNS name (253). */
#define RL_KEY_MAX 600
/* Bytes of a key made of an account id alone ("orders:" and the id). */
#define RL_KEY_ACCOUNT_MAX 80

/* Keys: an IP address (IPv6 cut to its /48), an identifier set (sorted,
 * as orders hold them), an account and identifier, an account's new
 * orders.  0 or -1 if cut. */
int rl_key_ip(const char *ip, char *out, size_t size);
int rl_key_ident_set(const struct acme_ident *ids, size_t n, char *out,
    size_t size);
int rl_key_failed_authz(const char *account_id, const struct acme_ident *id,
    char *out, size_t size);
int rl_key_new_orders(const char *account_id, char *out, size_t size);

#endif
