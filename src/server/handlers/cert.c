/* SPDX-License-Identifier: ISC */
/* Certificate download (RFC 8555 7.4.2): POST-as-GET, PEM chain. */
#include <stdio.h>
#include <string.h>

#include <anvil/err.h>

#include "common.h"
#include "handlers.h"
#include "../http/reply.h"

#include "internal.h"

void
h_cert(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_cert c;
	int rc;

	rc = srv->store->ops->cert_get(srv->store, req->param, &c, &prob);
	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED, 404,
		    "no such certificate");
		reply_problem(resp, &prob);
		goto done;
	}
	if (rc != 0) {
		reply_problem(resp, &prob);
		goto done;
	}
	if (owner_check(resp, req, c.account_id) == 0)
		reply_body(resp, 200, "application/pem-certificate-chain",
		    c.chain_pem, strlen(c.chain_pem));
	store_cert_release(&c);
done:
	acme_problem_release(&prob);
}
