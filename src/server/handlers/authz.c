/* SPDX-License-Identifier: ISC */
/*
 * Authorizations and challenges (RFC 8555 7.5): reading them,
 * deactivating an authorization, and answering a challenge, which stores
 * a validation job and hands it to the validation authority.
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
#include "../http/router.h"
#include "../store/store.h"
#include "../va/va.h"

#include "internal.h"

static int
not_found(struct resp *resp, const char *what)
{
	struct acme_problem p = { 0 };

	acme_problem_set_status(&p, ACME_PROB_MALFORMED, 404, "no such %s",
	    what);
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

	rc = authz_load(srv, req->param, &z, &prob);
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
		if (status != NULL) {
			if (z.status != ST_PENDING && z.status != ST_VALID) {
				reply_error(resp, ACME_PROB_MALFORMED,
				    "a %s authorization cannot be deactivated",
				    store_status_name(z.status));
				goto out;
			}
			if (store_authz_set_status(srv->store, z.id, z.status,
				ST_DEACTIVATED, 0, &prob) != 0) {
				reply_problem(resp, &prob);
				goto out;
			}
			z.status = ST_DEACTIVATED;
		}
	}
	reply_json(resp, 200, authz_json(req, &z));
out:
	store_authz_release(&z);
done:
	json_decref(payload);
	acme_problem_release(&prob);
}

void
h_chall(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_authz z;
	struct store_chall *c = NULL;
	struct store_job job;
	char up[URL_MAX];
	size_t len = 0, i;
	int rc;

	memset(&z, 0, sizeof(z));
	{
		struct store_chall tmp;

		rc = store_chall_get(srv->store, req->param, &tmp, &prob);
		if (rc == ACME_ERR_NOTFOUND) {
			not_found(resp, "challenge");
			goto done;
		}
		if (rc == 0) {
			rc = authz_load(srv, tmp.authz_id, &z, &prob);
			store_chall_release(&tmp);
		}
		if (rc != 0) {
			reply_problem(resp, &prob);
			goto done;
		}
	}
	if (owner_check(resp, req, z.account_id) != 0)
		goto out;
	for (i = 0; i < z.nchall; i++)
		if (strcmp(z.challs[i].id, req->param) == 0)
			c = &z.challs[i];
	if (c == NULL) {
		not_found(resp, "challenge");
		goto out;
	}
	acme_jws_payload(req->jws, &len);
	/*
	 * Any JSON object starts validation (S-AUTHZ-4: unknown members are
	 * ignored); "" only reads.  Only a pending challenge of a pending
	 * authorization moves.
	 */
	if (len > 0) {
		json_t *payload = acme_jws_payload_json(req->jws, &prob);

		if (payload == NULL) {
			reply_problem(resp, &prob);
			goto out;
		}
		json_decref(payload);
		if (c->status == ST_PENDING && z.status == ST_PENDING) {
			c->status = ST_PROCESSING;
			memset(&job, 0, sizeof(job));
			snprintf(job.chall_id, sizeof(job.chall_id), "%s",
			    c->id);
			job.not_before = srv->now();
			/* The job and the new status in one transaction:
			 * after a crash both or neither are there. */
			if (store_begin(srv->store, &prob) != 0 ||
			    store_job_add(srv->store, &job, &prob) != 0 ||
			    (rc = store_chall_update(srv->store, c, ST_PENDING,
				 &prob)) != 0 ||
			    (rc = store_commit(srv->store, &prob)) != 0) {
				store_rollback(srv->store);
				if (rc == ACME_ERR_CONFLICT)
					acme_problem_set(&prob,
					    ACME_PROB_MALFORMED,
					    "challenge changed meanwhile");
				reply_problem(resp, &prob);
				goto out;
			}
			va_submit(srv->va, c->id, z.account_id);
		}
	}
	if (reply_json(resp, 200, chall_json(req, c)) == 0) {
		reply_link(resp, res_url(up, req, PATH_AUTHZ, z.id, NULL),
		    "up");
		if (c->status == ST_PROCESSING)
			reply_header(resp, "Retry-After", "1");
	}
out:
	store_authz_release(&z);
done:
	acme_problem_release(&prob);
}
