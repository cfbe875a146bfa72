/* SPDX-License-Identifier: ISC */
/* Certificate download (RFC 8555 7.4.2): POST-as-GET, PEM chain. */
#include <stdio.h>
#include <string.h>

#include <anvil/err.h>

#include "common.h"
#include "handlers.h"
#include "../http/reply.h"
#include "../paths.h"

#include "internal.h"

/*
 * The default chain at /acme/cert/ID, the alternate at /acme/cert/ID/1;
 * each names the other with Link rel="alternate" (S-CERT-3).
 */
static void
serve(struct srv *srv, struct req *req, struct resp *resp, int alt)
{
	struct acme_problem prob = { 0 };
	struct store_cert c;
	char url[URL_MAX];
	const char *pem;
	int rc;

	rc = store_cert_get(srv->store, req->param, &c, &prob);
	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED,
		    HTTP_NOT_FOUND, "no such certificate");
		reply_problem(resp, &prob);
		goto done;
	}
	if (rc != 0) {
		reply_problem(resp, &prob);
		goto done;
	}
	pem = alt ? c.alt_chain_pem : c.chain_pem;
	if (pem == NULL) {
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED,
		    HTTP_NOT_FOUND, "no such chain");
		reply_problem(resp, &prob);
	} else if (owner_check(resp, req, c.account_id) == 0 &&
		   reply_body(resp, HTTP_OK,
		       "application/pem-certificate-chain", pem,
		       strlen(pem)) == 0) {
		if (alt)
			reply_link(resp,
			    res_url(url, req, PATH_CERT, c.id, NULL),
			    "alternate");
		else if (c.alt_chain_pem != NULL)
			reply_link(resp,
			    res_url(url, req, PATH_CERT, c.id, "/1"),
			    "alternate");
	}
	store_cert_release(&c);
done:
	acme_problem_release(&prob);
}

void
h_cert(struct srv *srv, struct req *req, struct resp *resp)
{
	serve(srv, req, resp, 0);
}

void
h_cert_alt(struct srv *srv, struct req *req, struct resp *resp)
{
	serve(srv, req, resp, 1);
}
