/* SPDX-License-Identifier: ISC */
/*
 * Authorizations and challenges (RFC 8555 7.5): reading them,
 * deactivating an authorization, and answering a challenge, whose
 * validation the registration authority starts (ra_chall_start).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jws.h>

#include "common.h"
#include "handlers.h"
#include "../http/reply.h"
#include "../paths.h"
#include "../store/store.h"
#include "../ra/ra.h"

#include "internal.h"

static int
not_found(struct resp *resp, const char *what)
{
	struct acme_problem p = { 0 };

	acme_problem_set_status(&p, ACME_PROB_MALFORMED, HTTP_NOT_FOUND,
	    "no such %s", what);
	reply_problem(resp, &p);
	return ACME_ERR_NOTFOUND;
}

void
h_authz(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_authz z;
	json_t *payload = NULL;
	const char *status = NULL;
	size_t len = 0;
	int rc;

	rc = ra_authz_get(srv, req->param, &z, &prob);
	if (rc == ACME_ERR_NOTFOUND) {
		not_found(resp, "authorization");
		goto done;
	}
	if (rc != 0) {
		reply_problem(resp, &prob);
		goto done;
	}
	if (owner_check(resp, req, z.account_id) != 0)
		goto out;
	acme_jws_payload(req->jws, &len);
	if (len > 0) {
		/* S-GET-5: {} is an empty update; deactivation (7.5.2). */
		if ((payload = acme_jws_payload_json(req->jws, &prob)) ==
			NULL ||
		    acme_json_get_string(payload, "status", ACME_JSON_OPTIONAL,
			&status, &prob) < 0) {
			reply_problem(resp, &prob);
			goto out;
		}
		if (status != NULL && strcmp(status, "deactivated") != 0) {
			reply_error(resp, ACME_PROB_MALFORMED,
			    "an authorization can only be deactivated");
			goto out;
		}
		if (status != NULL &&
		    ra_authz_deactivate(srv, &z, &prob) != 0) {
			reply_problem(resp, &prob);
			goto out;
		}
	}
	reply_json(resp, HTTP_OK, authz_json(req, &z));
out:
	store_authz_release(&z);
done:
	json_decref(payload);
	acme_problem_release(&prob);
}

/* The authorization of challenge id, and the challenge in it. */
static int
chall_load(struct srv *srv, const char *id, struct store_authz *z,
    struct store_chall **c, struct acme_problem *prob)
{
	struct store_chall tmp;
	size_t i;
	int rc;

	memset(z, 0, sizeof(*z));
	*c = NULL;
	if ((rc = store_chall_get(srv->store, id, &tmp, prob)) != 0)
		return rc;
	rc = ra_authz_get(srv, tmp.authz_id, z, prob);
	store_chall_release(&tmp);
	for (i = 0; rc == 0 && i < z->nchall; i++)
		if (strcmp(z->challs[i].id, id) == 0)
			*c = &z->challs[i];
	return rc;
}

void
h_chall(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_authz z;
	struct store_chall *c = NULL;
	json_t *payload;
	char up[URL_MAX];
	size_t len = 0;
	int rc;

	rc = chall_load(srv, req->param, &z, &c, &prob);
	if (rc == ACME_ERR_NOTFOUND)
		not_found(resp, "challenge");
	else if (rc != 0)
		reply_problem(resp, &prob);
	if (rc != 0 || owner_check(resp, req, z.account_id) != 0)
		goto out;
	if (c == NULL) {
		not_found(resp, "challenge");
		goto out;
	}
	/*
	 * Any JSON object starts validation (S-AUTHZ-4: unknown members are
	 * ignored); "" only reads.
	 */
	acme_jws_payload(req->jws, &len);
	if (len > 0) {
		payload = acme_jws_payload_json(req->jws, &prob);
		rc = payload == NULL ?
			 ACME_ERR_INVAL :
			 ra_chall_start(srv, req->cfg, &z, c, &prob);
		json_decref(payload);
		if (rc != 0) {
			reply_problem(resp, &prob);
			goto out;
		}
	}
	if (reply_json(resp, HTTP_OK, chall_json(req, c)) == 0) {
		reply_link(resp, res_url(up, req, PATH_AUTHZ, z.id, NULL),
		    "up");
		if (c->status == ST_PROCESSING)
			reply_header(resp, "Retry-After", "1");
	}
out:
	store_authz_release(&z);
	acme_problem_release(&prob);
}
