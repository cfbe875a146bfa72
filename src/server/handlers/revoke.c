/* SPDX-License-Identifier: ISC */
/*
 * Certificate revocation (RFC 8555 7.6).  Three kinds of requester may
 * revoke (S-REV-3): the account that ordered the certificate, any account
 * holding valid authorizations for every identifier in it, and whoever
 * holds the certificate's private key (a JWS signed with that key and
 * carrying it as jwk).  Reasons follow BR 7.2.2 (S-REV-8).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jws.h>
#include <anvil/key.h>
#include <anvil/x509.h>

#include "handlers.h"
#include "../audit.h"
#include "../http/reply.h"
#include "../store/store.h"

#include "internal.h"

/* 0 unspecified, 1 keyCompromise, 3 affiliationChanged, 4 superseded,
 * 5 cessationOfOperation; 2, 6, 8, 9, 10 are refused. */
static int
reason_ok(long long r)
{
	return r == 0 || r == 1 || r == 3 || r == 4 || r == 5;
}

/* Does acct hold valid authorizations for every identifier in cert? */
static int
holds_all_authz(struct srv *srv, const char *account_id, X509 *cert)
{
	struct acme_ident *ids = NULL;
	size_t n = 0, i;
	int ok = 0;

	if (acme_x509_sans(cert, &ids, &n) != 0 || n == 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct store_authz z;
		struct acme_ident base = ids[i];
		int wildcard = strncmp(base.value, "*.", 2) == 0;

		if (wildcard)
			memmove(base.value, base.value + 2,
			    strlen(base.value + 2) + 1);
		if (store_authz_find_valid(srv->store, account_id, &base,
			wildcard, srv->now(), &z, NULL) != 0)
			goto out;
		store_authz_release(&z);
	}
	ok = 1;
out:
	free(ids);
	return ok;
}

void
h_revoke(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_cert rec;
	json_t *payload = NULL, *ev;
	const char *b64 = NULL;
	unsigned char *der = NULL;
	X509 *cert = NULL, *stored = NULL;
	char serial[STORE_SERIAL_SIZE];
	long long reason = 0;
	size_t len = 0;
	int has_reason, rc, loaded = 0;

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
	if (acme_x509_serial_hex(cert, serial, sizeof(serial)) != 0 ||
	    (rc = store_cert_by_serial(srv->store, serial, &rec, &prob)) ==
		ACME_ERR_NOTFOUND) {
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED, 404,
		    "this CA did not issue that certificate");
		goto fail;
	}
	if (rc != 0)
		goto fail;
	loaded = 1;
	/* The serial must name exactly this certificate, not a lookalike. */
	{
		STACK_OF(X509) *chain = acme_x509_parse_chain(rec.chain_pem,
		    strlen(rec.chain_pem), NULL);

		if (chain != NULL)
			stored = sk_X509_shift(chain);
		sk_X509_pop_free(chain, X509_free);
	}
	if (stored == NULL || X509_cmp(stored, cert) != 0) {
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED, 404,
		    "this CA did not issue that certificate");
		goto fail;
	}
	if (req->acct == NULL) {
		/* Signed with a jwk: it must be the certificate's key. */
		if (!acme_key_public_equal(acme_jws_jwk_key(req->jws),
			X509_get0_pubkey(cert))) {
			acme_problem_set(&prob, ACME_PROB_UNAUTHORIZED,
			    "the JWS key is not the certificate's key");
			goto fail;
		}
	} else if (strcmp(req->acct->id, rec.account_id) != 0 &&
		   !holds_all_authz(srv, req->acct->id, cert)) {
		acme_problem_set(&prob, ACME_PROB_UNAUTHORIZED,
		    "this account may not revoke that certificate");
		goto fail;
	}
	ev = json_pack("{s:s, s:s, s:s*, s:I, s:s}", "serial", serial, "cert",
	    rec.id, "account", req->acct != NULL ? req->acct->id : NULL,
	    "reason", (json_int_t)(has_reason == 0 ? reason : -1), "by",
	    req->acct != NULL ? "account" : "certificate key");
	/* The revocation and its audit line in one transaction (D44). */
	if ((rc = store_begin(srv->store, &prob)) == 0) {
		if ((rc = store_cert_revoke(srv->store, rec.id, srv->now(),
			 has_reason == 0 ? (int)reason : -1, &prob)) == 0 &&
		    (rc = audit_record(srv->audit, "revocation", ev, &prob)) ==
			0)
			rc = store_commit(srv->store, &prob);
		if (rc != 0)
			store_rollback(srv->store);
	}
	json_decref(ev);
	if (rc == ACME_ERR_CONFLICT) {
		acme_problem_set(&prob, ACME_PROB_ALREADY_REVOKED,
		    "certificate %s is already revoked", serial);
		goto fail;
	}
	if (rc != 0)
		goto fail;
	audit_kick(srv->audit);
	resp->status = 200;
	resp->content_type = NULL;
	goto out;
fail:
	reply_problem(resp, &prob);
out:
	if (loaded)
		store_cert_release(&rec);
	X509_free(stored);
	X509_free(cert);
	free(der);
	json_decref(payload);
	acme_problem_release(&prob);
}
