/* SPDX-License-Identifier: ISC */
/*
 * The registration authority: the one owner of the RFC 8555 state
 * machine (7.1.6) and of the transaction around each change (D70).
 * Every status an order, authorization or challenge takes is set here,
 * and nowhere else calls the store's status setters; the rate limits an
 * order, an issuance or a failed validation spends are taken here
 * (limits.c).  Handlers parse a request, call one ra_ function and
 * render what it returns; the validation authority checks and this
 * records.
 *
 * Every function returns 0, or an error with prob set to the problem
 * the client gets (the status it carries included).  Records filled are
 * the caller's, released with store_*_release().  A function given cfg
 * takes every setting from it, the request's one snapshot (D89); a
 * validation job takes its own.
 */
#ifndef ANVIL_RA_H
#define ANVIL_RA_H

#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <anvil/csr.h>
#include <anvil/problem.h>

#include "../srv.h"
#include "../store/store.h"

struct audit;
struct profile;
struct va_resolver;
struct caa_cache;

/*
 * Reads an authorization with its expiry applied: pending or valid past
 * expires becomes expired, persisted.  ACME_ERR_NOTFOUND when none.
 */
int ra_authz_get(struct srv *srv, const char *id, struct store_authz *z,
    struct acme_problem *prob);

/*
 * Reads an order brought up to date with its authorizations and its
 * expiry (pending -> ready / invalid, ready -> invalid once an
 * authorization is no longer valid, S-AUTHZ-10), persisting any change.
 * ACME_ERR_NOTFOUND when none.
 */
int ra_order_get(struct srv *srv, const char *id, struct store_order *o,
    struct acme_problem *prob);

/*
 * Identifiers the operator blocked (anvil-ca admin block, D74): a DNS
 * name (a wildcard's base) that is a blocked name or under one.
 * ACME_ERR_INVAL with prob rejectedIdentifier (403), one subproblem per
 * blocked identifier, or 0.  newOrder, newAuthz, a challenge's answer
 * and finalize ask (D88).
 */
int ra_idents_blocked(struct srv *srv, const struct acme_ident *ids, size_t n,
    struct acme_problem *prob);

/*
 * Places an order of account_id for ids (n of them; the array passes to
 * o in every case) under profile p.  o comes in with not_before,
 * not_after and replaces set by the request's checks; exempt says the
 * order is exempt from the rate limits (D57).  Meets the limits (D51),
 * reuses valid authorizations the profile allows and makes the others,
 * and stores it all; o is then the new order (ready when every
 * authorization was reused).  On ACME_ERR_LIMIT *retry is the seconds
 * to wait (0 when unknown).
 */
int ra_order_create(struct srv *srv, const struct conf *cfg,
    const char *account_id, struct acme_ident *ids, size_t n,
    const struct profile *p, int exempt, struct store_order *o, time_t *retry,
    struct acme_problem *prob);

/*
 * A pre-authorization (RFC 8555 7.4.1) of account_id for id, not a
 * wildcard: meets the limits of an order for it (D57) and stores a new
 * pending authorization in *z.  *retry as for ra_order_create.
 */
int ra_authz_create(struct srv *srv, const struct conf *cfg,
    const char *account_id, const struct acme_ident *id, struct store_authz *z,
    time_t *retry, struct acme_problem *prob);

/* Deactivates z (pending or valid; else malformed), updating *z. */
int ra_authz_deactivate(struct srv *srv, struct store_authz *z,
    struct acme_problem *prob);

/*
 * Answers challenge c of authorization z: refused when the operator
 * has blocked its identifier (D88); else a pending challenge of a
 * pending authorization becomes processing and its validation job is
 * stored in the same transaction, then queued; anything else is left
 * as it is.  *c is updated.
 */
int ra_chall_start(struct srv *srv, const struct conf *cfg,
    const struct store_authz *z, struct store_chall *c,
    struct acme_problem *prob);

/*
 * One stored validation job, run by a validation worker with its
 * resolver and the shared CAA cache (va_open's job function): reads the
 * challenge, its authorization and the account's current key
 * (S-CHAL-7), has va_check() decide, and records the outcome, the
 * finished job, the failure's rate-limit count and the audit line in
 * one transaction (D44), with conditional updates so a job repeated
 * after a restart cannot undo a newer state.
 */
void ra_chall_validate(struct srv *srv, struct va_resolver *res,
    struct caa_cache *caa, const char *chall_id);

/*
 * Whether the order o (read by ra_order_get) may be finalized: it is
 * ready (S-FIN-4, else orderNotReady) and its profile is still issued
 * (else invalidProfile, and the order becomes invalid, S-PROF-7).  Sets
 * *p to the profile.
 */
int ra_order_finalizable(struct srv *srv, const struct conf *cfg,
    struct store_order *o, const struct profile **p, struct acme_problem *prob);

/*
 * Finalizes o under p with csr: the CSR names the order's identifiers
 * (S-FIN-2), its key meets the key policy and is no account's (S-FIN-6); the order is claimed (ready -> processing), its
 * authorizations read again with CAA re-checked (S-AUTHZ-10), its
 * identifiers checked against the operator's blocks (D88: a blocked
 * one makes the order invalid with rejectedIdentifier), the validity
 * decided (D56), and the certificate, the valid order, the
 * audit line and the issuance's rate-limit spend committed in one
 * transaction.  On a failure that a retry may cure the order is ready
 * again.  o is then the valid order.
 */
int ra_order_finalize(struct srv *srv, const struct conf *cfg,
    struct store_order *o, const struct profile *p, const struct acme_csr *csr,
    struct acme_problem *prob);

/*
 * Orders a finalize left processing when its process stopped are ready
 * again (each finalize may then be retried), with one warning line
 * naming how many: those whose claim ended before expired_before (D81),
 * at start before any request (STORE_EVERY_LEASE on a back end one
 * process serves) and at every sweep of lease.c.
 */
int ra_orders_unclaim(struct srv *srv, time_t expired_before,
    struct acme_problem *prob);

/*
 * The certificate an ARI certID (RFC 9773 4.1) names, in *c: the serial
 * selects the row, and the whole certID, recomputed from the stored
 * certificate, must match, so an identifier with another issuer's key
 * id is unknown here (404 malformed, ACME_ERR_NOTFOUND).
 */
int ra_cert_by_ari_id(struct srv *srv, const char *id, struct store_cert *c,
    struct acme_problem *prob);

/*
 * The "replaces" certID id of a newOrder of account_id for ids (n,
 * sorted; RFC 9773 5): it names a certificate of this CA issued to this
 * account that shares an identifier with ids and is not already being
 * replaced; copied into o->replaces.  *exempt is set when the order is
 * exempt from the rate limits (D57: exactly the certificate's
 * identifiers, and no order replaced it before, not even an invalid
 * one).
 */
int ra_order_replaces(struct srv *srv, const char *account_id, const char *id,
    const struct acme_ident *ids, size_t n, struct store_order *o, int *exempt,
    struct acme_problem *prob);

/*
 * Revokes cert (parsed from a revokeCert request) for reason (-1: none
 * given).  account_id is the requesting account, which must have
 * ordered it or hold valid authorizations for every identifier in it;
 * NULL when the request was signed with a jwk, key, which must be the
 * certificate's (S-REV-3).  A certificate this CA did not issue is
 * 404 malformed; one already revoked, alreadyRevoked.  The revocation
 * and its audit line are one transaction (ra_revoke_record).
 */
int ra_revoke(struct srv *srv, const char *account_id, EVP_PKEY *key,
    X509 *cert, int reason, struct acme_problem *prob);

/*
 * Revokes the stored certificate c at when for reason (-1: none given)
 * and records its audit line (account: who asked, NULL for nobody; by:
 * how) in one transaction of st (D44), then kicks au's copier.
 * ACME_ERR_CONFLICT when c is already revoked.  For ra_revoke and for
 * the operator's "anvil-ca admin revoke", which has no struct srv.
 */
int ra_revoke_record(struct store *st, struct audit *au,
    const struct store_cert *c, time_t when, int reason, const char *account,
    const char *by, struct acme_problem *prob);

/*
 * Stores the new account a for a newAccount from client address ip,
 * every check of the request passed: a comes with thumbprint, jwk,
 * contact, tos_agreed and, when bound, eab and eab_kid set; its id,
 * status (valid) and created are set here.  Spends the new-account
 * limit first (D51, *retry as for ra_order_create), then stores it
 * bound to its external account key (S-EAB-4) in one transaction
 * (D90): when another account bound the key meanwhile, nothing is
 * stored (unauthorized, ACME_ERR_CONFLICT).  ACME_ERR_EXISTS with *existing
 * filled (the caller releases it) when a concurrent newAccount with
 * the same key won (S-ACCT-5).
 */
int ra_account_new(struct srv *srv, const struct conf *cfg, const char *ip,
    struct store_account *a, struct store_account *existing, time_t *retry,
    struct acme_problem *prob);

/*
 * Applies chg to seen, the account authn read for this request (D54):
 * it applies only while the account is still valid with the key that
 * signed the request.  A request that lost the race to a keyChange or
 * a deactivation changes nothing and gets unauthorized (401).  Returns
 * 0 or the store's error (ACME_ERR_EXISTS: the new key is another
 * account's).  seen is left as it was.
 */
int ra_account_update(struct srv *srv, const struct store_account *seen,
    const struct store_account_change *chg, struct acme_problem *prob);

/*
 * Rolls acct over to the key with thumbprint thumb and canonical JWK
 * text jwk (RFC 8555 7.3.5), through ra_account_update.  A key another
 * account holds is ACME_ERR_EXISTS with 409 malformed (S-KEY-5), and
 * that account's id in other when it was found ("" otherwise).
 */
int ra_key_change(struct srv *srv, const struct store_account *acct,
    const char *thumb, const char *jwk, char other[STORE_ID_SIZE],
    struct acme_problem *prob);

#endif
