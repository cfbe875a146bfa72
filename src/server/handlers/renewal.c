/* SPDX-License-Identifier: ISC */
/*
 * ACME Renewal Information (RFC 9773): the unauthenticated renewalInfo
 * resource, which tells a client when to renew, and the newOrder
 * "replaces" checks.  The suggested window opens when a third of the
 * lifetime is left (half for lifetimes of 10 days or less, as the anvil
 * client's own rule) and closes when a sixth (a third) is left; a
 * revoked certificate gets a window in the past, so clients renew at
 * once; an operator can set any window ("anvil-ca ari set").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/ari.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/x509.h>

#include "common.h"
#include "handlers.h"
#include "../http/reply.h"
#include "../ra/ra.h"

#include "internal.h"

/*
 * Finds the certificate a certID names.  The serial selects the row;
 * the whole certID, recomputed from the stored certificate, must match,
 * so an identifier with another issuer's key id is unknown here.
 */
static int
cert_by_ari_id(struct srv *srv, const char *id, struct store_cert *c,
    struct acme_problem *prob)
{
	unsigned char aki[64];
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
	end = strstr(c->chain_pem, "-----END CERTIFICATE-----");
	leaf = end == NULL ? NULL :
			     acme_x509_parse_one(c->chain_pem,
				 (size_t)(end - c->chain_pem) + 25, NULL);
	rc = leaf != NULL && acme_ari_cert_id(leaf, mine, sizeof(mine)) == 0 &&
	     strcmp(mine, id) == 0;
	X509_free(leaf);
	if (rc)
		return 0;
	store_cert_release(c);
unknown:
	acme_problem_release(prob);
	acme_problem_set_status(prob, ACME_PROB_MALFORMED, 404,
	    "no certificate %s was issued here", id);
	return ACME_ERR_NOTFOUND;
}

/* The suggested window of c at now (S-ARI-4, S-ARI-5: end > start). */
static void
window(const struct store_cert *c, time_t now, time_t *start, time_t *end)
{
	time_t life = c->not_after - c->not_before;

	if (c->revoked_at != 0) {
		*start = now - 7200;
		*end = now - 3600;
	} else if (c->ari_end > c->ari_start) {
		*start = c->ari_start;
		*end = c->ari_end;
	} else if (life <= 10 * 86400) {
		*start = c->not_after - life / 2;
		*end = c->not_after - life / 3;
	} else {
		*start = c->not_after - life / 3;
		*end = c->not_after - life / 6;
	}
	if (*end <= *start)
		*end = *start + 1;
}

void
h_renewal_info(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_cert c;
	time_t start, end;
	char ts[32], te[32];
	json_t *body;

	if (cert_by_ari_id(srv, req->param, &c, &prob) != 0) {
		reply_problem(resp, &prob);
		acme_problem_release(&prob);
		return;
	}
	window(&c, srv->now(), &start, &end);
	body = json_pack("{s:{s:s, s:s}}", "suggestedWindow", "start",
	    acme_rfc3339(ts, start), "end", acme_rfc3339(te, end));
	if (body != NULL && c.ari_explanation != NULL && c.revoked_at == 0)
		json_object_set_new(body, "explanationURL",
		    json_string(c.ari_explanation));
	if (reply_json(resp, 200, body) == 0)
		reply_headerf(resp, "Retry-After", "%d",
		    srv->cfg->ari_retry_after);
	store_cert_release(&c);
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
renewal_exempt(struct srv *srv, const struct store_order *o,
    struct acme_problem *prob)
{
	struct store_cert c;
	struct store_order prev;
	int rc, same;

	if (o->replaces[0] == '\0')
		return 0;
	rc = cert_by_ari_id(srv, o->replaces, &c, prob);
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
renewal_check_replaces(struct srv *srv, const struct req *req,
    const json_t *payload, const struct acme_ident *ids, size_t n,
    struct store_order *o, int *exempt, struct acme_problem *prob)
{
	const char *id = NULL;
	struct store_cert c;
	struct store_order prev;
	int rc = acme_json_get_string(payload, "replaces", ACME_JSON_OPTIONAL,
	    &id, prob);

	*exempt = 0;
	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (strlen(id) >= sizeof(o->replaces))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "replaces is too long");
	if ((rc = cert_by_ari_id(srv, id, &c, prob)) != 0) {
		/* A certificate that does not exist is a bad request. */
		prob->status = 400;
		return rc;
	}
	rc = ACME_ERR_INVAL;
	if (strcmp(c.account_id, req->acct->id) != 0) {
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
