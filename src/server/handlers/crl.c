/* SPDX-License-Identifier: ISC */
/*
 * GET /crl: the current CRL of the intermediate, DER (RFC 5280 5;
 * application/pkix-crl, RFC 2585 4.2), served on the ACME listener and
 * on the plain-HTTP one of crl_http_listen (D50).  Caches may keep it
 * until a new one would be made anyway; a revocation before then shows
 * in the next fetch that reaches the server.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <anvil/problem.h>

#include "handlers.h"
#include "../ca/crl.h"
#include "../http/reply.h"

#include "internal.h"

/* Bytes of an HTTP date (RFC 9110 5.6.7, 29) with room to spare. */
#define HTTP_DATE_MAX 64

void
h_crl(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_crl crl;
	time_t now = srv->now(), until;
	char date[HTTP_DATE_MAX];
	struct tm tm;

	(void)req;
	if (crl_current(srv->crl, srv->store, srv->issuer, req->cfg, now, &crl,
		&prob) != 0) {
		reply_problem(resp, &prob);
		acme_problem_release(&prob);
		return;
	}
	if (reply_body(resp, HTTP_OK, "application/pkix-crl",
		(const char *)crl.der, crl.len) == 0) {
		until = crl.this_update + req->cfg->crl_refresh;
		if (until > crl.next_update)
			until = crl.next_update;
		reply_headerf(resp, "Cache-Control", "public, max-age=%lld",
		    (long long)(until > now ? until - now : 0));
		if (gmtime_r(&crl.this_update, &tm) != NULL &&
		    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT",
			&tm) > 0)
			reply_header(resp, "Last-Modified", date);
	}
	store_crl_release(&crl);
}
