/* SPDX-License-Identifier: ISC */
/*
 * Private to the registration authority's files (see ra.h).
 */
#ifndef ANVIL_RA_INT_H
#define ANVIL_RA_INT_H

#include "ra.h"

/* p as compact RFC 7807 JSON text (malloc'd), or NULL. */
char *ra__problem_text(const struct acme_problem *p);

/*
 * Makes o invalid (from the status o holds) with why (borrowed) as its
 * error document; when another request moved it on meanwhile, o is
 * what the store holds now.  prob may be NULL.
 */
int ra__order_invalidate(struct srv *srv, struct store_order *o,
    const struct acme_problem *why, struct acme_problem *prob);

/*
 * A new pending authorization of account_id for id (the base name of a
 * wildcard), pending for lifetime seconds, with one challenge per type
 * offered for it (S-CHAL-4); not stored.  On failure *z holds what must
 * still be released.
 */
int ra__authz_new(struct srv *srv, const char *account_id,
    const struct acme_ident *id, int wildcard, int lifetime,
    struct store_authz *z, struct acme_problem *prob);

/*
 * The limits a new order meets (D51, limits.c): failed authorizations
 * of each identifier and, when set is nonzero, certificates for the
 * set are looked at, new orders of the account spent last, so an order
 * refused by the others costs none.  ACME_ERR_LIMIT with *retry set.
 */
int ra__limits_order(struct srv *srv, const struct conf *cfg,
    const char *account_id, const struct acme_ident *ids, size_t n, int set,
    time_t *retry, struct acme_problem *prob);

/* Whether an issuance for o is counted for its identifier set (D51,
 * D57): 1, 0, or a negative error with prob set. */
int ra__limits_issuance_counted(struct srv *srv, const struct conf *cfg,
    const struct store_order *o, struct acme_problem *prob);

/* Spends the issuance of o for its identifier set, inside the issuance's
 * transaction; spent even past the limit, the certificate being made. */
int ra__limits_issued(struct srv *srv, const struct conf *cfg,
    const struct store_order *o, struct acme_problem *prob);

/* Counts a failed validation of z, inside the transaction recording it;
 * a failure to count is logged, never undoes the outcome. */
void ra__limits_failed(struct srv *srv, const struct conf *cfg,
    const struct store_authz *z);

/*
 * Whether the stored order o is exempt from the rate limits (D57), as
 * ra_order_replaces decided when it was placed: 1, 0, or a negative
 * error with prob set.
 */
int ra__renewal_exempt(struct srv *srv, const struct store_order *o,
    struct acme_problem *prob);

/*
 * The new-account limit of the client address ip (D51), spent; "" is
 * not limited.  *retry as for ra_order_create.
 */
int ra__account_limit(struct srv *srv, const struct conf *cfg, const char *ip,
    time_t *retry, struct acme_problem *prob);

#endif
