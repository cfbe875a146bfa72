/* SPDX-License-Identifier: ISC */
/*
 * Renewals in the registration authority (RFC 9773, see ra.h): finding
 * the certificate an ARI certID names, the checks of a newOrder's
 * "replaces", and whether an order is exempt from the rate limits for
 * replacing a certificate (D57).
 */
#include <stdio.h>
#include <string.h>

#include <anvil/ari.h>
#include <anvil/err.h>
#include <anvil/x509.h>

#include "ra_int.h"

#include "contract.h"
#include "internal.h"

/* Bytes of an ARI id's key identifier: SHA-1's 20, or up to SHA-512's. */
#define AKI_MAX 64
/* The line that ends the first (leaf) certificate of a PEM chain. */
#define PEM_CERT_END "-----END CERTIFICATE-----"

int
ra_cert_by_ari_id(struct srv *srv, const char *id, struct store_cert *c,
    struct acme_problem *prob)
{
	unsigned char aki[AKI_MAX];
	char serial[STORE_SERIAL_SIZE], mine[ACME_ARI_ID_SIZE];
	size_t akilen = 0;
	const char *end;
	X509 *leaf;
	int rc;

	memset(c, 0, sizeof(*c));
	if (acme_ari_cert_id_parse(id, aki, sizeof(aki), &akilen, serial,
		sizeof(serial)) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "\"%s\" is not an ARI certificate identifier", id);
	rc = store_cert_by_serial(srv->store, serial, c, prob);
	if (rc == ACME_ERR_NOTFOUND)
		goto unknown;
	if (rc != 0)
		return rc;
	/* The leaf only: the chain's issuers are not needed here. */
	end = strstr(c->chain_pem, PEM_CERT_END);
	leaf =
	    end == NULL ?
		NULL :
		acme_x509_parse_one(c->chain_pem,
		    (size_t)(end - c->chain_pem) + LIT_LEN(PEM_CERT_END), NULL);
	rc = leaf != NULL && acme_ari_cert_id(leaf, mine, sizeof(mine)) == 0 &&
	     strcmp(mine, id) == 0;
	X509_free(leaf);
	if (rc)
		return 0;
	store_cert_release(c);
unknown:
	acme_problem_release(prob);
	acme_problem_set_status(prob, ACME_PROB_MALFORMED, HTTP_NOT_FOUND,
	    "no certificate %s was issued here", id);
	return ACME_ERR_NOTFOUND;
}

/* Nonzero when the two sorted identifier lists share one. */
static int
share_ident(const struct acme_ident *a, size_t na, const struct acme_ident *b,
    size_t nb)
{
	size_t i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (acme_ident_equal(&a[i], &b[j]))
				return 1;
	return 0;
}

/* Nonzero when the two sorted identifier lists are the same. */
static int
same_idents(const struct acme_ident *a, size_t na, const struct acme_ident *b,
    size_t nb)
{
	size_t i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (!acme_ident_equal(&a[i], &b[i]))
			return 0;
	return 1;
}

/*
 * Whether self (NULL: an order not yet stored) is the first order to
 * replace certificate id (D57).  1, 0, or a negative error.
 */
static int
first_replacing(struct srv *srv, const char *id, const char *self,
    struct acme_problem *prob)
{
	char first[STORE_ID_SIZE];
	int rc = store_order_first_replacing(srv->store, id, first, prob);

	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_release(prob);
		return self == NULL;
	}
	if (rc != 0)
		return rc;
	return self != NULL && strcmp(first, self) == 0;
}

int
ra__renewal_exempt(struct srv *srv, const struct store_order *o,
    struct acme_problem *prob)
{
	struct store_cert c;
	struct store_order prev;
	int rc, same;

	if (o->replaces[0] == '\0')
		return 0;
	rc = ra_cert_by_ari_id(srv, o->replaces, &c, prob);
	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_release(prob);
		return 0;
	}
	if (rc != 0)
		return rc;
	rc = store_order_get(srv->store, c.order_id, &prev, prob);
	store_cert_release(&c);
	if (rc != 0)
		return rc;
	same = same_idents(prev.idents, prev.nident, o->idents, o->nident);
	store_order_release(&prev);
	return same ? first_replacing(srv, o->replaces, o->id, prob) : 0;
}

/* Whether an order other than an invalid one already replaces id. */
static int
replaced(struct srv *srv, const char *id, struct acme_problem *prob)
{
	char oid[STORE_ID_SIZE];
	struct store_order o;
	int rc = store_order_replacing(srv->store, id, oid, prob);

	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_release(prob);
		return 0;
	}
	/* ra_order_get() expires a stale pending order, freeing the slot. */
	if (rc != 0 || (rc = ra_order_get(srv, oid, &o, prob)) != 0)
		return rc;
	rc = o.status != ST_INVALID;
	store_order_release(&o);
	if (rc)
		return acme_problem_set(prob, ACME_PROB_ALREADY_REPLACED,
		    "certificate %s is already being replaced by order %s", id,
		    oid);
	return 0;
}

int
ra_order_replaces(struct srv *srv, const char *account_id, const char *id,
    const struct acme_ident *ids, size_t n, struct store_order *o, int *exempt,
    struct acme_problem *prob)
{
	struct store_cert c;
	struct store_order prev;
	int rc;

	ACME_ASSERT(srv != NULL && account_id != NULL && id != NULL &&
		    o != NULL && exempt != NULL);
	*exempt = 0;
	if (strlen(id) >= sizeof(o->replaces))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "replaces is too long");
	if ((rc = ra_cert_by_ari_id(srv, id, &c, prob)) != 0) {
		/* A certificate that does not exist is a bad request. */
		prob->status = HTTP_BAD_REQUEST;
		return rc;
	}
	rc = ACME_ERR_INVAL;
	if (strcmp(c.account_id, account_id) != 0) {
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "certificate %s was not issued to this account", id);
		goto out;
	}
	if (store_order_get(srv->store, c.order_id, &prev, prob) != 0)
		goto out;
	if (!share_ident(prev.idents, prev.nident, ids, n)) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the order shares no identifier with certificate %s", id);
		store_order_release(&prev);
		goto out;
	}
	*exempt = same_idents(prev.idents, prev.nident, ids, n);
	store_order_release(&prev);
	if ((rc = replaced(srv, id, prob)) != 0)
		goto out;
	if (*exempt && (rc = first_replacing(srv, id, NULL, prob)) < 0)
		goto out;
	*exempt = *exempt && rc == 1;
	rc = 0;
	snprintf(o->replaces, sizeof(o->replaces), "%s", id);
out:
	store_cert_release(&c);
	return rc;
}
