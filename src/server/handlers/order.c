/* SPDX-License-Identifier: ISC */
/*
 * Orders (RFC 8555 7.4): newOrder with identifier policy, the
 * certificate profile (draft-ietf-acme-profiles) and authorization reuse,
 * the order resource, finalize with the CSR checks of 7.4 and 11.1, and
 * the account's orders list (7.1.2.1).  The profile chosen at newOrder
 * is stored on the order and decides its lifetimes, which authorizations
 * it may reuse and, at finalize, the certificate's contents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/csr.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>
#include <anvil/key.h>

#include "common.h"
#include "handlers.h"
#include "../audit.h"
#include "../ca/issuer.h"
#include "../ca/profile.h"
#include "../http/reply.h"
#include "../paths.h"
#include "../policy/policy.h"
#include "../ra/ra.h"

#include "internal.h"

/* The query parameter of the orders list's cursor (Link rel="next"). */
#define AFTER "after="
/* Bytes of the "/orders?after=ID" after the account URL: an id fits. */
#define NEXT_QUERY_MAX 64
/* Optional RFC 3339 member; *out stays 0 when absent. */
static int
get_time(const json_t *payload, const char *key, time_t *out,
    struct acme_problem *prob)
{
	const char *s = NULL;
	int rc =
	    acme_json_get_string(payload, key, ACME_JSON_OPTIONAL, &s, prob);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (rfc3339_parse(s, out) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s is not an RFC 3339 time", key);
	return 0;
}

/*
 * notBefore/notAfter policy (S-ORD-2): honoured exactly when the
 * window fits the profile's validity and the bounds of D56
 * (profile_window); refused otherwise, never silently changed.
 */
static int
check_validity(struct srv *srv, const struct profile *p, time_t nb, time_t na,
    struct acme_problem *prob)
{
	time_t now = srv->now(), b, a;

	if (nb == 0 && na == 0)
		return 0;
	if (na != 0 && na - (nb != 0 ? nb : now) > p->validity)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the requested validity exceeds the %d seconds of "
		    "profile %s",
		    p->validity, p->name);
	return profile_window(p, now, nb, na, issuer_not_after(srv->issuer), &b,
	    &a, prob);
}

static void
reply_order(struct resp *resp, const struct req *req,
    const struct store_order *o, int status)
{
	char url[URL_MAX];

	if (reply_json(resp, status, order_json(req, o)) != 0)
		return;
	reply_header(resp, "Location",
	    res_url(url, req, PATH_ORDER, o->id, NULL));
	if (o->status == ST_PROCESSING)
		reply_header(resp, "Retry-After", "1");
}

/*
 * The newOrder "profile" member: the profile it names (or the default
 * when absent), which the identifiers must fit (S-PROF-4).
 */
static int
order_profile(const struct conf *cfg, const json_t *payload,
    const struct acme_ident *ids, size_t n, const struct profile **p,
    struct acme_problem *prob)
{
	const char *want = NULL;
	int rc = acme_json_get_string(payload, "profile", ACME_JSON_OPTIONAL,
	    &want, prob);

	if (rc < 0)
		return rc;
	if ((rc = profile_for_order(&cfg->profiles, want, p, prob)) != 0)
		return rc;
	return profile_check_identifiers(*p, ids, n, prob);
}

void
h_new_order(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_order o;
	struct acme_ident *ids = NULL;
	const struct profile *p = NULL;
	json_t *payload = NULL, *arr = NULL;
	size_t n = 0;
	time_t retry = 0;
	int exempt = 0;

	memset(&o, 0, sizeof(o));
	if ((payload = acme_jws_payload_json(req->jws, &prob)) == NULL ||
	    acme_json_get_array(payload, "identifiers", ACME_JSON_REQUIRED,
		&arr, &prob) != 0 ||
	    policy_identifiers(req->cfg, arr, &ids, &n, &prob) != 0 ||
	    ra_idents_blocked(srv, ids, n, &prob) != 0 ||
	    order_profile(req->cfg, payload, ids, n, &p, &prob) != 0 ||
	    get_time(payload, "notBefore", &o.not_before, &prob) != 0 ||
	    get_time(payload, "notAfter", &o.not_after, &prob) != 0 ||
	    check_validity(srv, p, o.not_before, o.not_after, &prob) != 0 ||
	    renewal_check_replaces(srv, req, payload, ids, n, &o, &exempt,
		&prob) != 0) {
		free(ids);
		reply_problem_after(resp, &prob, 0);
	} else if (ra_order_create(srv, req->cfg, req->acct->id, ids, n, p,
		       exempt, &o, &retry, &prob) != 0)
		reply_problem_after(resp, &prob, retry);
	else
		reply_order(resp, req, &o, HTTP_CREATED);
	store_order_release(&o);
	acme_problem_release(&prob);
	json_decref(payload);
}

/*
 * Pre-authorization (RFC 8555 7.4.1): one identifier, never a wildcard
 * (S-IDN-6); refusals are 403 (S-PRE-2); the new authorization is
 * pending (S-PRE-3).
 */
void
h_new_authz(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct acme_ident *ids = NULL;
	struct store_authz z;
	json_t *payload = NULL, *id = NULL, *arr = NULL;
	char url[URL_MAX];
	size_t n = 0;
	time_t retry = 0;

	memset(&z, 0, sizeof(z));
	if ((payload = acme_jws_payload_json(req->jws, &prob)) == NULL ||
	    acme_json_get_object(payload, "identifier", ACME_JSON_REQUIRED, &id,
		&prob) != 0)
		goto fail;
	if ((arr = json_pack("[O]", id)) == NULL) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto fail;
	}
	if (policy_identifiers(req->cfg, arr, &ids, &n, &prob) != 0) {
		prob.status = HTTP_FORBIDDEN;
		goto fail;
	}
	if (ra_idents_blocked(srv, ids, n, &prob) != 0)
		goto fail;
	if (strncmp(ids[0].value, WILDCARD, LIT_LEN(WILDCARD)) == 0) {
		acme_problem_set_status(&prob, ACME_PROB_REJECTED_IDENTIFIER,
		    HTTP_FORBIDDEN,
		    "wildcards cannot be pre-authorized; order them");
		goto fail;
	}
	if (ra_authz_create(srv, req->cfg, req->acct->id, &ids[0], &z, &retry,
		&prob) != 0)
		goto fail;
	if (reply_json(resp, HTTP_CREATED, authz_json(req, &z)) == 0)
		reply_header(resp, "Location",
		    res_url(url, req, PATH_AUTHZ, z.id, NULL));
	goto out;
fail:
	reply_problem_after(resp, &prob, retry);
out:
	store_authz_release(&z);
	free(ids);
	json_decref(arr);
	json_decref(payload);
	acme_problem_release(&prob);
}

void
h_order(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_order o;
	int rc;

	rc = ra_order_get(srv, req->param, &o, &prob);
	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED,
		    HTTP_NOT_FOUND, "no such order");
		reply_problem(resp, &prob);
	} else if (rc != 0)
		reply_problem(resp, &prob);
	else {
		if (owner_check(resp, req, o.account_id) == 0)
			reply_order(resp, req, &o, HTTP_OK);
		store_order_release(&o);
	}
	acme_problem_release(&prob);
}

void
h_finalize(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_order o;
	const struct profile *profile;
	struct acme_csr csr = { 0 };
	json_t *payload = NULL;
	const char *b64 = NULL;
	int rc;

	rc = ra_order_get(srv, req->param, &o, &prob);
	if (rc == ACME_ERR_NOTFOUND)
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED,
		    HTTP_NOT_FOUND, "no such order");
	if (rc != 0) {
		reply_problem(resp, &prob);
		goto done;
	}
	if (owner_check(resp, req, o.account_id) != 0)
		goto out;
	if (ra_order_finalizable(srv, req->cfg, &o, &profile, &prob) != 0 ||
	    (payload = acme_jws_payload_json(req->jws, &prob)) == NULL ||
	    acme_json_get_string(payload, "csr", ACME_JSON_REQUIRED, &b64,
		&prob) != 0 ||
	    acme_csr_read(b64, &csr, &prob) != 0 ||
	    ra_order_finalize(srv, req->cfg, &o, profile, &csr, &prob) != 0)
		reply_problem(resp, &prob);
	else
		reply_order(resp, req, &o, HTTP_OK);
out:
	store_order_release(&o);
done:
	acme_csr_release(&csr);
	json_decref(payload);
	acme_problem_release(&prob);
}

void
h_account_orders(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	char(*ids)[STORE_ID_SIZE] = NULL;
	size_t n = 0, i, page = (size_t)req->cfg->orders_per_page;
	char url[URL_MAX];
	json_t *list;
	const char *after = "";
	const char *q;

	if (strcmp(req->param, req->acct->id) != 0) {
		reply_error(resp, ACME_PROB_UNAUTHORIZED,
		    "orders of another account");
		return;
	}
	/* The cursor travels in the query string of Link rel="next". */
	q = req->query != NULL ? strstr(req->query, AFTER) : NULL;
	if (q != NULL)
		after = q + LIT_LEN(AFTER);
	if ((ids = calloc(page + 1, sizeof(*ids))) == NULL) {
		reply_error(resp, ACME_PROB_SERVER_INTERNAL, "out of memory");
		return;
	}
	if (store_order_list(srv->store, req->acct->id, after, ids, page + 1,
		&n, &prob) != 0) {
		reply_problem(resp, &prob);
		goto out;
	}
	list = json_array();
	for (i = 0; list != NULL && i < n && i < page; i++)
		json_array_append_new(list,
		    json_string(res_url(url, req, PATH_ORDER, ids[i], NULL)));
	if (reply_json(resp, HTTP_OK, json_pack("{s:o}", "orders", list)) ==
		0 &&
	    n > page) {
		char next[URL_MAX + NEXT_QUERY_MAX];

		snprintf(next, sizeof(next), "%s%s%s/orders?after=%s",
		    req->base, PATH_ACCOUNT, req->acct->id, ids[page - 1]);
		reply_link(resp, next, "next");
	}
out:
	acme_problem_release(&prob);
	free(ids);
}
