/* SPDX-License-Identifier: ISC */
/*
 * Orders in the registration authority (see ra.h): reading one with the
 * status rules of RFC 8555 7.1.6 applied, and placing a new one with
 * its rate limits and authorization reuse.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/json.h>

#include "ra_int.h"
#include "../ca/profile.h"
#include "../srvlimits.h"

#include "contract.h"
#include "internal.h"

char *
ra__problem_text(const struct acme_problem *p)
{
	json_t *doc = acme_problem_to_json(p);
	char *s = doc != NULL ? acme_json_compact(doc, NULL) : NULL;

	json_decref(doc);
	return s;
}

/* Bytes of the blocklist entry a name matched: a DNS name (253) fits. */
#define BLOCK_MATCH_MAX 256

/* D74; at finalize too (D88). */
int
ra_idents_blocked(struct srv *srv, const struct acme_ident *ids, size_t n,
    struct acme_problem *prob)
{
	char match[BLOCK_MATCH_MAX];
	size_t i, bad = 0;
	int rc;

	ACME_ASSERT(srv != NULL && (ids != NULL || n == 0));
	for (i = 0; i < n; i++) {
		const char *v = ids[i].value;

		if (ids[i].type != ACME_IDENT_DNS)
			continue;
		if (strncmp(v, WILDCARD, LIT_LEN(WILDCARD)) == 0)
			v += LIT_LEN(WILDCARD);
		rc = store_name_blocked(srv->store, v, match, sizeof(match),
		    prob);
		if (rc == ACME_ERR_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		if (bad++ == 0)
			acme_problem_set_status(prob,
			    ACME_PROB_REJECTED_IDENTIFIER, HTTP_FORBIDDEN,
			    "%s is blocked by the CA's operator (%s)",
			    ids[i].value, match);
		acme_problem_add_sub(prob, ACME_PROB_REJECTED_IDENTIFIER,
		    &ids[i], "blocked by the CA's operator");
	}
	return bad > 0 ? ACME_ERR_INVAL : 0;
}

int
ra_authz_get(struct srv *srv, const char *id, struct store_authz *z,
    struct acme_problem *prob)
{
	int rc = store_authz_get(srv->store, id, z, prob);

	ACME_ASSERT(srv != NULL && id != NULL && z != NULL);
	if (rc != 0)
		return rc;
	if ((z->status == ST_PENDING || z->status == ST_VALID) &&
	    z->expires <= srv->now()) {
		/* A lost race means someone else already moved it on. */
		if (store_authz_set_status(srv->store, id, z->status,
			ST_EXPIRED, 0, NULL) == 0)
			z->status = ST_EXPIRED;
	}
	return 0;
}

static int
set_order_status(struct srv *srv, struct store_order *o, enum store_status to,
    const char *error, struct acme_problem *prob)
{
	/* Derived from durable state and computed again after a crash. */
	int rc = store_order_set_status_relaxed(srv->store, o->id, o->status,
	    to, error, prob);

	if (rc == ACME_ERR_CONFLICT) {
		/* Moved on concurrently: read the current state. */
		struct store_order fresh;

		if ((rc = store_order_get(srv->store, o->id, &fresh, prob)) !=
		    0)
			return rc;
		store_order_release(o);
		*o = fresh;
		return 0;
	}
	if (rc != 0)
		return rc;
	o->status = to;
	if (error != NULL) {
		free(o->error);
		o->error = strdup(error);
	}
	return 0;
}

int
ra__order_invalidate(struct srv *srv, struct store_order *o,
    const struct acme_problem *why, struct acme_problem *prob)
{
	char *text = ra__problem_text(why);
	int rc;

	if (text == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	rc = set_order_status(srv, o, ST_INVALID, text, prob);
	free(text);
	return rc;
}

int
ra_order_get(struct srv *srv, const char *id, struct store_order *o,
    struct acme_problem *prob)
{
	struct acme_problem why = { 0 };
	size_t i, valid = 0;
	int rc;

	ACME_ASSERT(srv != NULL && id != NULL && o != NULL);
	if ((rc = store_order_get(srv->store, id, o, prob)) != 0)
		return rc;
	if (o->status != ST_PENDING && o->status != ST_READY)
		return 0;
	if (o->expires <= srv->now())
		return set_order_status(srv, o, ST_INVALID,
		    "{\"type\":\"urn:ietf:params:acme:error:malformed\","
		    "\"detail\":\"order expired\",\"status\":400}",
		    prob);
	/* A ready order too: an authorization deactivated or expired
	 * since makes it invalid (S-AUTHZ-10). */
	for (i = 0; i < o->nauthz; i++) {
		struct store_authz z;

		if ((rc = ra_authz_get(srv, o->authz_ids[i], &z, prob)) != 0)
			return rc;
		if (z.status == ST_VALID)
			valid++;
		else if (z.status != ST_PENDING && why.type == ACME_PROB_NONE)
			acme_problem_set(&why, ACME_PROB_UNAUTHORIZED,
			    "authorization for %s is %s", z.ident.value,
			    store_status_name(z.status));
		store_authz_release(&z);
	}
	if (why.type != ACME_PROB_NONE) {
		rc = ra__order_invalidate(srv, o, &why, prob);
		acme_problem_release(&why);
		return rc;
	}
	if (o->status == ST_PENDING && valid == o->nauthz)
		return set_order_status(srv, o, ST_READY, NULL, prob);
	return 0;
}

/*
 * The earliest expiry of a valid authorization the profile may reuse:
 * validated at most authz_reuse seconds ago (its expiry was set to
 * validation + valid_authz_lifetime), and valid for a day more at least.
 */
static time_t
reuse_min_expires(struct srv *srv, const struct conf *cfg,
    const struct profile *p)
{
	time_t now = srv->now(), day = now + DAY_SECS;
	time_t fresh = now - p->authz_reuse + cfg->valid_authz_lifetime;

	return fresh > day ? fresh : day;
}

/*
 * The authorization of the order's i-th identifier: a valid one reused
 * (*reused set) or a new one in fresh.
 */
static int
order_authz(struct srv *srv, const struct conf *cfg, const struct profile *p,
    struct store_order *o, size_t i, struct store_authz *fresh, int *reused,
    struct acme_problem *prob)
{
	struct acme_ident base = o->idents[i];
	int wildcard = strncmp(base.value, WILDCARD, LIT_LEN(WILDCARD)) == 0;
	struct store_authz z;
	int rc;

	/* S-IDN-5: the authorization names the base domain. */
	if (wildcard)
		memmove(base.value, base.value + LIT_LEN(WILDCARD),
		    strlen(base.value + LIT_LEN(WILDCARD)) + 1);
	*reused = 0;
	rc = cfg->authz_reuse && p->authz_reuse > 0 ?
		 store_authz_find_valid(srv->store, o->account_id, &base,
		     wildcard, reuse_min_expires(srv, cfg, p), &z, prob) :
		 ACME_ERR_NOTFOUND;
	if (rc == 0) {
		snprintf(o->authz_ids[i], STORE_ID_SIZE, "%s", z.id);
		store_authz_release(&z);
		*reused = 1;
		return 0;
	}
	if (rc != ACME_ERR_NOTFOUND)
		return rc;
	acme_problem_release(prob);
	if ((rc = ra__authz_new(srv, o->account_id, &base, wildcard,
		 p->authz_lifetime, fresh, prob)) != 0)
		return rc;
	snprintf(o->authz_ids[i], STORE_ID_SIZE, "%s", fresh->id);
	return 0;
}

int
ra_order_create(struct srv *srv, const struct conf *cfg, const char *account_id,
    struct acme_ident *ids, size_t n, const struct profile *p, int exempt,
    struct store_order *o, time_t *retry, struct acme_problem *prob)
{
	struct store_authz *fresh = NULL;
	size_t i, nfresh = 0, nvalid = 0;
	int rc, reused;

	ACME_ASSERT(srv != NULL && account_id != NULL &&
		    (ids != NULL || n == 0) && p != NULL && o != NULL &&
		    retry != NULL);
	o->idents = ids;
	o->nident = n;
	snprintf(o->account_id, sizeof(o->account_id), "%s", account_id);
	*retry = 0;
	/* ARI renewals of the same names are exempt (S-ARI-16, D57). */
	if (!exempt && (rc = ra__limits_order(srv, cfg, account_id, ids, n, 1,
			    retry, prob)) != 0)
		return rc;
	if ((fresh = calloc(n, sizeof(*fresh))) == NULL ||
	    (o->authz_ids = calloc(n, sizeof(*o->authz_ids))) == NULL ||
	    store_new_id(o->id) != 0) {
		rc = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		rc = order_authz(srv, cfg, p, o, i, &fresh[nfresh], &reused,
		    prob);
		if (rc != 0) {
			nfresh++; /* release what it allocated */
			goto out;
		}
		if (reused)
			nvalid++;
		else
			nfresh++;
	}
	o->nauthz = n;
	o->created = srv->now();
	o->expires = o->created + p->order_lifetime;
	/* S-PROF-6: the default is recorded too, not left implicit. */
	snprintf(o->profile, sizeof(o->profile), "%s", p->name);
	o->status = nvalid == n ? ST_READY : ST_PENDING;
	rc = store_order_insert(srv->store, o, fresh, nfresh, prob);
	if (rc == ACME_ERR_EXISTS && o->replaces[0] != '\0') {
		/* Another newOrder replacing it won the race (S-ARI-13). */
		acme_problem_release(prob);
		acme_problem_set(prob, ACME_PROB_ALREADY_REPLACED,
		    "certificate %s is already being replaced", o->replaces);
	}
out:
	for (i = 0; fresh != NULL && i < nfresh; i++)
		store_authz_release(&fresh[i]);
	free(fresh);
	return rc;
}
