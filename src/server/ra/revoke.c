/* SPDX-License-Identifier: ISC */
/*
 * Certificate revocation in the registration authority (RFC 8555 7.6,
 * see ra.h): who may revoke (S-REV-3), and the revocation with its
 * audit line in one transaction (D44), for revokeCert and the
 * operator's "anvil-ca admin revoke" alike (D82).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/err.h>
#include <anvil/key.h>
#include <anvil/x509.h>

#include "ra_int.h"
#include "../audit.h"

#include "contract.h"
#include "internal.h"

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
		int wildcard =
		    strncmp(base.value, WILDCARD, LIT_LEN(WILDCARD)) == 0;

		if (wildcard)
			memmove(base.value, base.value + LIT_LEN(WILDCARD),
			    strlen(base.value + LIT_LEN(WILDCARD)) + 1);
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

int
ra_revoke_record(struct store *st, struct audit *au, const struct store_cert *c,
    time_t when, int reason, const char *account, const char *by,
    struct acme_problem *prob)
{
	json_t *ev;
	int rc;

	ACME_ASSERT(st != NULL && c != NULL && by != NULL);
	ev = json_pack("{s:s, s:s, s:s*, s:I, s:s}", "serial", c->serial,
	    "cert", c->id, "account", account, "reason", (json_int_t)reason,
	    "by", by);
	if ((rc = store_begin(st, prob)) == 0) {
		if ((rc = store_cert_revoke(st, c->id, when, reason, prob)) ==
			0 &&
		    (rc = audit_record(au, "revocation", ev, prob)) == 0)
			rc = store_commit(st, prob);
		if (rc != 0)
			store_rollback(st);
		else
			audit_kick(au);
	}
	json_decref(ev);
	return rc;
}

int
ra_revoke(struct srv *srv, const char *account_id, EVP_PKEY *key, X509 *cert,
    int reason, struct acme_problem *prob)
{
	struct store_cert rec;
	char serial[STORE_SERIAL_SIZE];
	X509 *stored = NULL;
	STACK_OF(X509) * chain;
	int rc;

	ACME_ASSERT(srv != NULL && cert != NULL);
	if (acme_x509_serial_hex(cert, serial, sizeof(serial)) != 0 ||
	    (rc = store_cert_by_serial(srv->store, serial, &rec, prob)) ==
		ACME_ERR_NOTFOUND)
		return acme_problem_set_status(prob, ACME_PROB_MALFORMED,
		    HTTP_NOT_FOUND, "this CA did not issue that certificate");
	if (rc != 0)
		return rc;
	/* The serial must name exactly this certificate, not a lookalike. */
	chain =
	    acme_x509_parse_chain(rec.chain_pem, strlen(rec.chain_pem), NULL);
	if (chain != NULL)
		stored = sk_X509_shift(chain);
	sk_X509_pop_free(chain, X509_free);
	if (stored == NULL || X509_cmp(stored, cert) != 0)
		rc = acme_problem_set_status(prob, ACME_PROB_MALFORMED,
		    HTTP_NOT_FOUND, "this CA did not issue that certificate");
	else if (account_id == NULL) {
		/* Signed with a jwk: it must be the certificate's key. */
		if (!acme_key_public_equal(key, X509_get0_pubkey(cert)))
			rc = acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
			    "the JWS key is not the certificate's key");
	} else if (strcmp(account_id, rec.account_id) != 0 &&
		   !holds_all_authz(srv, account_id, cert))
		rc = acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "this account may not revoke that certificate");
	if (rc == 0) {
		rc = ra_revoke_record(srv->store, srv->audit, &rec, srv->now(),
		    reason, account_id,
		    account_id != NULL ? "account" : "certificate key", prob);
		if (rc == ACME_ERR_CONFLICT)
			acme_problem_set(prob, ACME_PROB_ALREADY_REVOKED,
			    "certificate %s is already revoked", serial);
	}
	X509_free(stored);
	store_cert_release(&rec);
	return rc;
}
