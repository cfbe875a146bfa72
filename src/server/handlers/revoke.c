/* SPDX-License-Identifier: ISC */
/*
 * Certificate revocation (RFC 8555 7.6).  Three kinds of requester may
 * revoke (S-REV-3): the account that ordered the certificate, any account
 * holding valid authorizations for every identifier in it, and whoever
 * holds the certificate's private key (a JWS signed with that key and
 * carrying it as jwk).  Reasons follow BR 7.2.2 (S-REV-8).  Who may,
 * and the revocation itself, are the RA's (ra/revoke.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509v3.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jws.h>
#include <anvil/x509.h>

#include "handlers.h"
#include "../http/reply.h"
#include "../ra/ra.h"

#include "internal.h"

/* 0 unspecified, 1 keyCompromise, 3 affiliationChanged, 4 superseded,
 * 5 cessationOfOperation; 2, 6, 8, 9, 10 are refused. */
static int
reason_ok(long long r)
{
	return r == CRL_REASON_UNSPECIFIED || r == CRL_REASON_KEY_COMPROMISE ||
	       r == CRL_REASON_AFFILIATION_CHANGED ||
	       r == CRL_REASON_SUPERSEDED ||
	       r == CRL_REASON_CESSATION_OF_OPERATION;
}

void
h_revoke(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	json_t *payload = NULL;
	const char *b64 = NULL;
	unsigned char *der = NULL;
	X509 *cert = NULL;
	long long reason = 0;
	size_t len = 0;
	int has_reason;

	if ((payload = acme_jws_payload_json(req->jws, &prob)) == NULL ||
	    acme_json_get_string(payload, "certificate", ACME_JSON_REQUIRED,
		&b64, &prob) != 0 ||
	    (has_reason = acme_json_get_int(payload, "reason",
		 ACME_JSON_OPTIONAL, &reason, &prob)) < 0)
		goto fail;
	if (has_reason == 0 && !reason_ok(reason)) {
		acme_problem_set(&prob, ACME_PROB_BAD_REVOCATION_REASON,
		    "reason %lld is not allowed; use 0, 1, 3, 4 or 5", reason);
		goto fail;
	}
	if (acme_b64url_decode(b64, strlen(b64), &der, &len) != 0 ||
	    (cert = acme_x509_parse_one((const char *)der, len, &prob)) ==
		NULL) {
		acme_problem_set(&prob, ACME_PROB_MALFORMED,
		    "certificate is not base64url DER");
		goto fail;
	}
	if (ra_revoke(srv, req->acct != NULL ? req->acct->id : NULL,
		acme_jws_jwk_key(req->jws), cert,
		has_reason == 0 ? (int)reason : -1, &prob) != 0)
		goto fail;
	resp->status = HTTP_OK;
	resp->content_type = NULL;
	goto out;
fail:
	reply_problem(resp, &prob);
out:
	X509_free(cert);
	free(der);
	json_decref(payload);
	acme_problem_release(&prob);
}
