/* SPDX-License-Identifier: ISC */
/*
 * Finalize in the registration authority (see ra.h): the checks on the
 * CSR against the order, the claim, the authorizations read again, the
 * validity window, and the issuance with everything it writes in one
 * transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/err.h>
#include <anvil/jwk.h>
#include <anvil/log.h>

#include "ra_int.h"
#include "../admin/activity.h"
#include "../admin/metrics.h"
#include "../audit.h"
#include "../ca/issuer.h"
#include "../ca/profile.h"
#include "../policy/policy.h"
#include "../va/va.h"

#include "contract.h"
#include "internal.h"

int
ra_order_finalizable(struct srv *srv, const struct conf *cfg,
    struct store_order *o, const struct profile **p, struct acme_problem *prob)
{
	ACME_ASSERT(srv != NULL && o != NULL && p != NULL);
	/* S-FIN-4: only a ready order can be finalized. */
	if (o->status != ST_READY)
		return acme_problem_set(prob, ACME_PROB_ORDER_NOT_READY,
		    "order is %s, not ready", store_status_name(o->status));
	/*
	 * A profile the CA no longer issues (retired, or gone from the
	 * configuration) is invalidProfile (S-PROF-7), and the order
	 * becomes invalid with that error: no later finalize could
	 * succeed, and a client polling the order learns why.
	 */
	*p = profile_find(&cfg->profiles, o->profile);
	if (*p != NULL && !(*p)->retired)
		return 0;
	acme_problem_set(prob, ACME_PROB_INVALID_PROFILE,
	    "profile %s is no longer issued; place a new order",
	    o->profile[0] != '\0' ? o->profile : cfg->profiles.default_name);
	ra__order_invalidate(srv, o, prob, NULL);
	return ACME_ERR_INVAL;
}

/* S-FIN-2: the CSR names exactly the order's identifiers. */
static int
same_names(const struct store_order *o, const struct acme_ident *ids, size_t n,
    struct acme_problem *prob)
{
	size_t i;

	if (n != o->nident)
		return acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR names %zu identifiers, the order %zu", n, o->nident);
	for (i = 0; i < n; i++)
		if (!acme_ident_equal(&ids[i], &o->idents[i]))
			return acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "CSR identifier %s is not in the order",
			    ids[i].value);
	return 0;
}

/*
 * S-FIN-6: the certificate key is no account's key, the requester's or
 * another's, looked up by its RFC 7638 thumbprint as accounts are
 * stored.  A key with no JWK form cannot be an account key.  0, or
 * badCSR (or serverInternal when the lookup fails).
 */
static int
not_an_account_key(struct srv *srv, EVP_PKEY *key, struct acme_problem *prob)
{
	struct store_account a;
	char *thumb = acme_jwk_thumbprint_b64(key, prob);
	int rc;

	if (thumb == NULL) {
		if (acme_jwk_alg_for_key(key) != NULL)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "cannot compute the CSR key's thumbprint");
		acme_problem_release(prob);
		return 0;
	}
	rc = store_account_by_thumbprint(srv->store, thumb, &a, prob);
	free(thumb);
	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_release(prob);
		return 0;
	}
	if (rc != 0)
		return rc;
	store_account_release(&a);
	return acme_problem_set(prob, ACME_PROB_BAD_CSR,
	    "the CSR key is an account key");
}

/*
 * The authorizations of an order finalize has claimed, read again
 * (S-AUTHZ-10, RFC 8555 7.5.2): each must still be valid and unexpired,
 * else the order becomes invalid with the reason as its error and the
 * reply is orderNotReady; CAA results older than 8 hours are checked
 * again (S-CAA).  Under the claim, so a deactivation that another
 * request makes before it is seen.  0, ACME_ERR_VERIFY when the order
 * was made invalid, or another error (the caller gives the order back).
 */
static int
recheck_authzs(struct srv *srv, const struct conf *cfg, struct store_order *o,
    struct acme_problem *prob)
{
	struct acme_problem why = { 0 };
	struct store_authz z;
	size_t i;
	int rc;

	for (i = 0; i < o->nauthz; i++) {
		if ((rc = ra_authz_get(srv, o->authz_ids[i], &z, prob)) != 0)
			return rc;
		if (z.status != ST_VALID || z.expires <= srv->now()) {
			acme_problem_set(&why, ACME_PROB_UNAUTHORIZED,
			    "authorization for %s is %s", z.ident.value,
			    z.status == ST_VALID ? "expired" :
						   store_status_name(z.status));
			store_authz_release(&z);
			rc = ra__order_invalidate(srv, o, &why, prob);
			if (rc == 0) {
				acme_problem_set(prob,
				    ACME_PROB_ORDER_NOT_READY,
				    "order is invalid: %s", why.detail);
				rc = ACME_ERR_VERIFY;
			}
			acme_problem_release(&why);
			return rc;
		}
		rc = va_recheck_caa(srv->va, cfg, &z, prob);
		store_authz_release(&z);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * D88: a name the operator blocked after the order was placed is not
 * issued: the order becomes invalid with rejectedIdentifier as its
 * error, which is also the reply.  0, ACME_ERR_VERIFY when the order
 * was made invalid, or the store's error.
 */
static int
blocked_since(struct srv *srv, struct store_order *o, struct acme_problem *prob)
{
	int rc = ra_idents_blocked(srv, o->idents, o->nident, prob);

	if (rc != ACME_ERR_INVAL)
		return rc;
	if ((rc = ra__order_invalidate(srv, o, prob, NULL)) != 0)
		return rc;
	return ACME_ERR_VERIFY;
}

/* The issuance's audit event (new reference, or NULL). */
static json_t *
issuance_event(const struct store_cert *cert, const struct store_order *o)
{
	json_t *names = json_array();
	size_t i;

	for (i = 0; names != NULL && i < o->nident; i++)
		json_array_append_new(names, json_string(o->idents[i].value));
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:I}", "serial",
	    cert->serial, "cert", cert->id, "order", o->id, "account",
	    o->account_id, "names", names, "profile", cert->profile,
	    "not_before", (json_int_t)cert->not_before, "not_after",
	    (json_int_t)cert->not_after);
}

/*
 * The certificate, the valid order, the audit line and, when counted,
 * the rate-limit spend in one transaction (D44, D51); the order turns
 * valid only while this instance still holds its claim (D96).
 */
static int
store_issuance(struct srv *srv, const struct conf *cfg, struct store_order *o,
    const struct store_cert *cert, int counted, struct acme_problem *prob)
{
	struct store *st = srv->store;
	json_t *ev = issuance_event(cert, o);
	int rc;

	rc = store_begin(st, prob);
	if (rc == 0)
		rc = store_cert_insert(st, cert, prob);
	if (rc == 0 && (rc = store_order_claim_end(st, o->id, srv->instance,
			    ST_VALID, cert->id, prob)) == ACME_ERR_CONFLICT)
		acme_problem_set(prob, ACME_PROB_ORDER_NOT_READY,
		    "order %s was given back to be finalized again: this "
		    "finalize took longer than its claim",
		    o->id);
	if (rc == 0)
		rc = audit_record(srv->audit, "issuance", ev, prob);
	if (rc == 0 && counted)
		rc = ra__limits_issued(srv, cfg, o, prob);
	if (rc == 0)
		rc = store_commit(st, prob);
	if (rc != 0)
		store_rollback(st);
	json_decref(ev);
	if (rc == 0) {
		audit_kick(srv->audit);
		metrics_issuance(srv->metrics);
		activity_issuance(srv->activity, srv->now());
		o->status = ST_VALID;
		snprintf(o->cert_id, sizeof(o->cert_id), "%s", cert->id);
	}
	return rc;
}

/* Signs and stores the certificate for o, valid from nb to na (D56). */
static int
issue(struct srv *srv, const struct conf *cfg, const struct profile *p,
    struct store_order *o, const struct acme_csr *csr, time_t nb, time_t na,
    struct acme_problem *prob)
{
	struct issued out;
	struct store_cert cert;
	int rc, counted;

	if ((counted = ra__limits_issuance_counted(srv, cfg, o, prob)) < 0)
		return counted;
	rc = issuer_issue(srv->issuer, p, csr->key, csr->spki, o->idents,
	    o->nident, nb, na, &out, prob);
	if (rc != 0)
		return rc;
	memset(&cert, 0, sizeof(cert));
	if (store_new_id(cert.id) != 0) {
		rc = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "no randomness");
		goto out;
	}
	snprintf(cert.serial, sizeof(cert.serial), "%s", out.serial);
	snprintf(cert.account_id, sizeof(cert.account_id), "%s", o->account_id);
	snprintf(cert.order_id, sizeof(cert.order_id), "%s", o->id);
	snprintf(cert.profile, sizeof(cert.profile), "%s", p->name);
	cert.chain_pem = out.chain_pem;
	cert.alt_chain_pem = out.alt_chain_pem;
	cert.not_before = out.not_before;
	cert.not_after = out.not_after;
	cert.reason = -1;
	rc = store_issuance(srv, cfg, o, &cert, counted, prob);
out:
	free(out.chain_pem);
	free(out.alt_chain_pem);
	return rc;
}

int
ra_order_finalize(struct srv *srv, const struct conf *cfg,
    struct store_order *o, const struct profile *p, const struct acme_csr *csr,
    struct acme_problem *prob)
{
	time_t nb = 0, na = 0;
	int rc;

	ACME_ASSERT(srv != NULL && o != NULL && p != NULL && csr != NULL);
	if ((rc = same_names(o, csr->ids, csr->nids, prob)) != 0 ||
	    (rc = policy_cert_key(cfg, csr->key, prob)) != 0 ||
	    (rc = not_an_account_key(srv, csr->key, prob)) != 0)
		return rc;
	/* The claim needs no flush of its own: the issuance's commit makes
	 * it durable, and orders_unclaim gives back one a crash cut off,
	 * once its lease has ended (D81). */
	rc = store_order_claim(srv->store, o->id, srv->instance,
	    srv->now() + cfg->lease_seconds, prob);
	if (rc == ACME_ERR_CONFLICT)
		return acme_problem_set(prob, ACME_PROB_ORDER_NOT_READY,
		    "order is being finalized already");
	if (rc != 0)
		return rc;
	o->status = ST_PROCESSING;
	if ((rc = recheck_authzs(srv, cfg, o, prob)) == ACME_ERR_VERIFY ||
	    (rc == 0 && (rc = blocked_since(srv, o, prob)) == ACME_ERR_VERIFY))
		return rc; /* made invalid */
	/* The validity is decided now, at signing (D56); an order whose
	 * window can no longer be honoured never will be. */
	if (rc == 0 && (rc = profile_window(p, srv->now(), o->not_before,
			    o->not_after, issuer_not_after(srv->issuer), &nb,
			    &na, prob)) == ACME_ERR_INVAL) {
		ra__order_invalidate(srv, o, prob, NULL);
		return rc;
	}
	if (rc != 0 || (rc = issue(srv, cfg, p, o, csr, nb, na, prob)) != 0) {
		/* Give the order back so the client can try again, unless
		 * the claim is no longer ours to give (D96). */
		store_order_claim_end(srv->store, o->id, srv->instance,
		    ST_READY, NULL, NULL);
		o->status = ST_READY;
		return rc;
	}
	return 0;
}

int
ra_orders_unclaim(struct srv *srv, time_t expired_before,
    struct acme_problem *prob)
{
	size_t n = 0;
	int rc;

	ACME_ASSERT(srv != NULL);
	if ((rc = store_orders_unclaim(srv->store, expired_before, &n, prob)) ==
		0 &&
	    n > 0)
		acme_log(ACME_LOG_WARN, "finalize cut off",
		    "orders=%zu detail=\"processing orders are ready again\"",
		    n);
	return rc;
}
