/* SPDX-License-Identifier: ISC */
/*
 * Accounts in the registration authority (RFC 8555 7.3, see ra.h): a
 * new account with its new-account limit and its external account
 * binding, and every later change of one (contact, deactivation, key
 * rollover) as a conditional update on the account as the request
 * found it (D54).
 */
#include <stdio.h>
#include <string.h>

#include <anvil/err.h>

#include "ra_int.h"

#include "contract.h"
#include "internal.h"

int
ra_account_new(struct srv *srv, const struct conf *cfg, const char *ip,
    struct store_account *a, struct store_account *existing, time_t *retry,
    struct acme_problem *prob)
{
	int rc;

	ACME_ASSERT(srv != NULL && ip != NULL && a != NULL &&
		    existing != NULL && retry != NULL);
	memset(existing, 0, sizeof(*existing));
	/* D51: after every other check, so a refused request costs none. */
	if ((rc = ra__account_limit(srv, cfg, ip, retry, prob)) != 0)
		return rc;
	if (store_new_id(a->id) != 0)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot create the account");
	a->status = ST_VALID;
	a->created = srv->now();
	/* D90: with its binding, or not at all. */
	rc = a->eab_kid[0] != '\0' ?
		 store_account_insert_eab(srv->store, a, prob) :
		 store_account_insert(srv->store, a, prob);
	if (rc == ACME_ERR_EXISTS) {
		/* A concurrent newAccount with the same key won the race. */
		acme_problem_release(prob);
		rc = store_account_by_thumbprint(srv->store, a->thumbprint,
		    existing, prob);
		return rc != 0 ? rc : ACME_ERR_EXISTS;
	}
	/* The key was bound (or removed) since the request's check. */
	if (rc == ACME_ERR_CONFLICT || rc == ACME_ERR_NOTFOUND) {
		acme_problem_release(prob);
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    rc == ACME_ERR_CONFLICT ?
			"external account key is already bound to an account" :
			"unknown external account key id");
	}
	return rc;
}

int
ra_account_update(struct srv *srv, const struct store_account *seen,
    const struct store_account_change *chg, struct acme_problem *prob)
{
	struct store_account now;
	int rc;

	ACME_ASSERT(srv != NULL && seen != NULL && chg != NULL);
	rc = store_account_update(srv->store, seen, chg, prob);
	if (rc != ACME_ERR_CONFLICT)
		return rc;
	/* D54: lost to a keyChange or deactivation; say which. */
	memset(&now, 0, sizeof(now));
	if (store_account_get(srv->store, seen->id, &now, NULL) == 0 &&
	    now.status != seen->status)
		acme_problem_set_status(prob, ACME_PROB_UNAUTHORIZED,
		    HTTP_UNAUTHORIZED, "account is %s; request not applied",
		    store_status_name(now.status));
	else
		acme_problem_set_status(prob, ACME_PROB_UNAUTHORIZED,
		    HTTP_UNAUTHORIZED,
		    "account key changed while this request was processed; "
		    "request not applied");
	store_account_release(&now);
	return rc;
}

/* S-KEY-5: 409 (with the holder's Location where known). */
static int
key_in_use(struct acme_problem *prob)
{
	acme_problem_set_status(prob, ACME_PROB_MALFORMED, HTTP_CONFLICT,
	    "the new key is already in use by an account");
	return ACME_ERR_EXISTS;
}

int
ra_key_change(struct srv *srv, const struct store_account *acct,
    const char *thumb, const char *jwk, char other[STORE_ID_SIZE],
    struct acme_problem *prob)
{
	struct store_account_change chg = { .thumbprint = thumb, .jwk = jwk };
	struct store_account found;
	int rc;

	ACME_ASSERT(srv != NULL && acct != NULL && thumb != NULL &&
		    jwk != NULL && other != NULL);
	other[0] = '\0';
	rc = store_account_by_thumbprint(srv->store, thumb, &found, prob);
	if (rc == 0) {
		snprintf(other, STORE_ID_SIZE, "%s", found.id);
		store_account_release(&found);
		return key_in_use(prob);
	}
	if (rc != ACME_ERR_NOTFOUND)
		return rc;
	acme_problem_release(prob);
	rc = ra_account_update(srv, acct, &chg, prob);
	/* Taken since the look-up: the store's unique thumbprint says so. */
	return rc == ACME_ERR_EXISTS ? key_in_use(prob) : rc;
}
