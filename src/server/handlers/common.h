/* SPDX-License-Identifier: ISC */
/*
 * Shared by the order, authorization and challenge handlers: resource
 * URLs, RFC 3339 times and the JSON form of each object.  The status
 * rules of RFC 8555 7.1.6 are the registration authority's (ra/ra.h).
 */
#ifndef ANVIL_HANDLERS_COMMON_H
#define ANVIL_HANDLERS_COMMON_H

#include <time.h>
#include <jansson.h>

#include <anvil/ari.h>

#include "../srv.h"
#include "../store/store.h"

#define URL_MAX 1024

/* base + prefix + id + suffix into out; returns out ("" if too long). */
const char *res_url(char out[URL_MAX], const struct req *req,
    const char *prefix, const char *id, const char *suffix);

/* "2026-11-22T15:04:05Z" into out (at least 21 bytes). */
const char *rfc3339(char out[ACME_RFC3339_SIZE], time_t t);
/* Parses RFC 3339 (Z or numeric offset, optional fraction); 0 or -1. */
int rfc3339_parse(const char *s, time_t *out);

/* The account object of RFC 8555 7.1.2 for acct (new reference). */
json_t *account_json(const struct req *req, const struct store_account *acct);
json_t *chall_json(const struct req *req, const struct store_chall *c);
json_t *authz_json(const struct req *req, const struct store_authz *z);
json_t *order_json(const struct req *req, const struct store_order *o);

/* A refusal, with Retry-After when retry (seconds) is positive. */
void reply_problem_after(struct resp *resp, const struct acme_problem *prob,
    time_t retry);

/*
 * The "replaces" member of a newOrder payload (RFC 9773 5), if any,
 * checked by ra_order_replaces (which sets o->replaces and *exempt).
 * Returns 0 or an error with prob set.
 */
int renewal_check_replaces(struct srv *srv, const struct req *req,
    const json_t *payload, const struct acme_ident *ids, size_t n,
    struct store_order *o, int *exempt, struct acme_problem *prob);

/* Replies 404 malformed for a missing object or 403 for a foreign one. */
int owner_check(struct resp *resp, const struct req *req,
    const char *account_id);

#endif
