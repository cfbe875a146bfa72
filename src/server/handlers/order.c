/* SPDX-License-Identifier: ISC */
/*
 * Orders (RFC 8555 7.4): newOrder with identifier policy, the
 * certificate profile (draft-ietf-acme-profiles) and authorization reuse,
 * the order resource, finalize with the CSR checks of 7.4 and 11.1, and
 * the account's orders list (7.1.2.1).  The profile chosen at newOrder
 * is stored on the order and decides its lifetimes, which authorizations
 * it may reuse and, at finalize, the certificate's contents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/csr.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>
#include <anvil/key.h>

#include "common.h"
#include "handlers.h"
#include "../admin/metrics.h"
#include "../audit.h"
#include "../ca/issuer.h"
#include "../ca/profile.h"
#include "../http/reply.h"
#include "../http/router.h"
#include "../policy/policy.h"
#include "../va/va.h"

#include "internal.h"

/* Challenge types offered, by identifier kind (S-CHAL-4, S-IDN-7). */
static size_t
offered(const struct acme_ident *id, int wildcard, enum store_chall_type out[3])
{
	size_t n = 0;

	if (!wildcard)
		out[n++] = CHALL_HTTP01;
	/* No dns-01 for IP addresses (RFC 8738 7). */
	if (id->type == ACME_IDENT_DNS)
		out[n++] = CHALL_DNS01;
	if (!wildcard)
		out[n++] = CHALL_TLSALPN01;
	return n;
}

/*
 * D74: identifiers the operator blocked (anvil-ca admin block), a name
 * and everything under it, are rejectedIdentifier, one subproblem each.
 */
static int
operator_blocked(struct srv *srv, const struct acme_ident *ids, size_t n,
    struct acme_problem *prob)
{
	char match[256];
	size_t i, bad = 0;
	int rc;

	for (i = 0; i < n; i++) {
		const char *v = ids[i].value;

		if (ids[i].type != ACME_IDENT_DNS)
			continue;
		if (strncmp(v, "*.", 2) == 0)
			v += 2;
		rc = store_name_blocked(srv->store, v, match, sizeof(match),
		    prob);
		if (rc == ACME_ERR_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		if (bad++ == 0)
			acme_problem_set_status(prob,
			    ACME_PROB_REJECTED_IDENTIFIER, 403,
			    "%s is blocked by the CA's operator (%s)",
			    ids[i].value, match);
		acme_problem_add_sub(prob, ACME_PROB_REJECTED_IDENTIFIER,
		    &ids[i], "blocked by the CA's operator");
	}
	return bad > 0 ? ACME_ERR_INVAL : 0;
}

/*
 * A new pending authorization, pending for lifetime seconds, with one
 * challenge per offered type.
 */
static int
new_authz(struct srv *srv, const struct req *req, const struct acme_ident *id,
    int wildcard, int lifetime, struct store_authz *z,
    struct acme_problem *prob)
{
	enum store_chall_type types[3];
	size_t n = offered(id, wildcard, types), i;

	memset(z, 0, sizeof(*z));
	if (n == 0) {
		acme_problem_set(prob, ACME_PROB_REJECTED_IDENTIFIER,
		    "no challenge type offered here can validate %s%s",
		    wildcard ? "*." : "", id->value);
		acme_problem_add_sub(prob, ACME_PROB_REJECTED_IDENTIFIER, id,
		    "no challenge type can validate it");
		return ACME_ERR_INVAL;
	}
	if (store_new_id(z->id) != 0 ||
	    (z->challs = calloc(n, sizeof(*z->challs))) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot create an authorization");
	snprintf(z->account_id, sizeof(z->account_id), "%s", req->acct->id);
	z->ident = *id;
	z->wildcard = wildcard;
	z->status = ST_PENDING;
	z->created = srv->now();
	z->expires = z->created + lifetime;
	for (i = 0; i < n; i++) {
		struct store_chall *c = &z->challs[i];

		if (store_new_id(c->id) != 0 || store_new_token(c->token) != 0)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "no randomness");
		snprintf(c->authz_id, sizeof(c->authz_id), "%s", z->id);
		c->type = types[i];
		c->status = ST_PENDING;
	}
	z->nchall = n;
	return 0;
}

/* Optional RFC 3339 member; *out stays 0 when absent. */
static int
get_time(const json_t *payload, const char *key, time_t *out,
    struct acme_problem *prob)
{
	const char *s = NULL;
	int rc =
	    acme_json_get_string(payload, key, ACME_JSON_OPTIONAL, &s, prob);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	if (rfc3339_parse(s, out) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s is not an RFC 3339 time", key);
	return 0;
}

/*
 * notBefore/notAfter policy (S-ORD-2): honoured exactly when the
 * window fits the profile's validity and the bounds of D56
 * (profile_window); refused otherwise, never silently changed.
 */
static int
check_validity(struct srv *srv, const struct profile *p, time_t nb, time_t na,
    struct acme_problem *prob)
{
	time_t now = srv->now(), b, a;

	if (nb == 0 && na == 0)
		return 0;
	if (na != 0 && na - (nb != 0 ? nb : now) > p->validity)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the requested validity exceeds the %d seconds of "
		    "profile %s",
		    p->validity, p->name);
	return profile_window(p, now, nb, na, issuer_not_after(srv->issuer), &b,
	    &a, prob);
}

static void
reply_order(struct resp *resp, const struct req *req,
    const struct store_order *o, int status)
{
	char url[URL_MAX];

	if (reply_json(resp, status, order_json(req, o)) != 0)
		return;
	reply_header(resp, "Location",
	    res_url(url, req, PATH_ORDER, o->id, NULL));
	if (o->status == ST_PROCESSING)
		reply_header(resp, "Retry-After", "1");
}

/*
 * The newOrder "profile" member: the profile it names (or the default
 * when absent), which the identifiers must fit (S-PROF-4).
 */
static int
order_profile(struct srv *srv, const json_t *payload,
    const struct acme_ident *ids, size_t n, const struct profile **p,
    struct acme_problem *prob)
{
	const char *want = NULL;
	int rc = acme_json_get_string(payload, "profile", ACME_JSON_OPTIONAL,
	    &want, prob);

	if (rc < 0)
		return rc;
	if ((rc = profile_for_order(&srv->cfg->profiles, want, p, prob)) != 0)
		return rc;
	return profile_check_identifiers(*p, ids, n, prob);
}

/*
 * The earliest expiry of a valid authorization the profile may reuse:
 * validated at most authz_reuse seconds ago (its expiry was set to
 * validation + valid_authz_lifetime), and valid for a day more at least.
 */
static time_t
reuse_min_expires(struct srv *srv, const struct profile *p)
{
	time_t now = srv->now(), day = now + 86400;
	time_t fresh = now - p->authz_reuse + srv->cfg->valid_authz_lifetime;

	return fresh > day ? fresh : day;
}

/*
 * The limits a new order meets (D51): failed authorizations of each
 * identifier and, when set is nonzero, certificates for the set are
 * looked at, new orders of the account spent last, so an order refused
 * by the others costs none.  A pre-authorization meets the same limits
 * but the set's (D57).  0, or ACME_ERR_LIMIT with *retry set (0 on
 * other errors).
 */
static int
order_rate_limits(struct srv *srv, const char *account_id,
    const struct acme_ident *ids, size_t n, int set, time_t *retry,
    struct acme_problem *prob)
{
	const struct rl_set *rl = &srv->cfg->rate_limits;
	time_t now = srv->now();
	char key[600];
	size_t i;
	int rc;

	if (rl->l[RL_FAILED_AUTHZ_PER_IDENT].count == 0 &&
	    rl->l[RL_CERTS_PER_IDENT_SET].count == 0 &&
	    rl->l[RL_NEW_ORDERS_PER_ACCOUNT].count == 0)
		return 0; /* all off: not even a key to make */
	for (i = 0; rl->l[RL_FAILED_AUTHZ_PER_IDENT].count > 0 && i < n; i++) {
		struct acme_ident base = ids[i];

		if (strncmp(base.value, "*.", 2) == 0)
			memmove(base.value, base.value + 2,
			    strlen(base.value + 2) + 1);
		if (rl_key_failed_authz(account_id, &base, key, sizeof(key)) ==
			0 &&
		    (rc = rl_apply(srv->store, rl, RL_FAILED_AUTHZ_PER_IDENT,
			 key, now, RL_CHECK, retry, prob)) != 0) {
			if (rc == ACME_ERR_LIMIT)
				snprintf(prob->detail + strlen(prob->detail),
				    sizeof(prob->detail) - strlen(prob->detail),
				    " (%s)", base.value);
			return rc;
		}
	}
	if (set && rl_key_ident_set(ids, n, key, sizeof(key)) == 0 &&
	    (rc = rl_apply(srv->store, rl, RL_CERTS_PER_IDENT_SET, key, now,
		 RL_CHECK, retry, prob)) != 0)
		return rc;
	snprintf(key, sizeof(key), "order:%s", account_id);
	return rl_apply(srv->store, rl, RL_NEW_ORDERS_PER_ACCOUNT, key, now,
	    RL_SPEND, retry, prob);
}

void
h_new_order(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_order o;
	struct store_authz *fresh = NULL;
	struct acme_ident *ids = NULL;
	const struct profile *p = NULL;
	json_t *payload = NULL, *arr = NULL;
	size_t n = 0, i, nfresh = 0, nvalid = 0;
	time_t retry = 0;
	int rc, exempt = 0;

	memset(&o, 0, sizeof(o));
	if ((payload = acme_jws_payload_json(req->jws, &prob)) == NULL ||
	    acme_json_get_array(payload, "identifiers", ACME_JSON_REQUIRED,
		&arr, &prob) != 0 ||
	    policy_identifiers(srv->cfg, arr, &ids, &n, &prob) != 0 ||
	    operator_blocked(srv, ids, n, &prob) != 0 ||
	    order_profile(srv, payload, ids, n, &p, &prob) != 0 ||
	    get_time(payload, "notBefore", &o.not_before, &prob) != 0 ||
	    get_time(payload, "notAfter", &o.not_after, &prob) != 0 ||
	    check_validity(srv, p, o.not_before, o.not_after, &prob) != 0 ||
	    renewal_check_replaces(srv, req, payload, ids, n, &o, &exempt,
		&prob) != 0)
		goto fail;
	/* ARI renewals of the same names are exempt (S-ARI-16, D57). */
	if (!exempt && order_rate_limits(srv, req->acct->id, ids, n, 1, &retry,
			   &prob) != 0) {
		if (retry > 0)
			reply_headerf(resp, "Retry-After", "%lld",
			    (long long)retry);
		goto fail;
	}
	if ((fresh = calloc(n, sizeof(*fresh))) == NULL ||
	    (o.authz_ids = calloc(n, sizeof(*o.authz_ids))) == NULL ||
	    store_new_id(o.id) != 0) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		struct acme_ident base = ids[i];
		int wildcard = strncmp(ids[i].value, "*.", 2) == 0;
		struct store_authz z;

		/* S-IDN-5: the authorization names the base domain. */
		if (wildcard)
			memmove(base.value, base.value + 2,
			    strlen(base.value + 2) + 1);
		rc =
		    srv->cfg->authz_reuse && p->authz_reuse > 0 ?
			store_authz_find_valid(srv->store, req->acct->id, &base,
			    wildcard, reuse_min_expires(srv, p), &z, &prob) :
			ACME_ERR_NOTFOUND;
		if (rc == 0) {
			snprintf(o.authz_ids[i], STORE_ID_SIZE, "%s", z.id);
			store_authz_release(&z);
			nvalid++;
			continue;
		}
		if (rc != ACME_ERR_NOTFOUND)
			goto fail;
		acme_problem_release(&prob);
		if (new_authz(srv, req, &base, wildcard, p->authz_lifetime,
			&fresh[nfresh], &prob) != 0) {
			nfresh++; /* release what it allocated */
			goto fail;
		}
		snprintf(o.authz_ids[i], STORE_ID_SIZE, "%s", fresh[nfresh].id);
		nfresh++;
	}
	snprintf(o.account_id, sizeof(o.account_id), "%s", req->acct->id);
	o.idents = ids;
	o.nident = n;
	o.nauthz = n;
	o.created = srv->now();
	o.expires = o.created + p->order_lifetime;
	/* S-PROF-6: the default is recorded too, not left implicit. */
	snprintf(o.profile, sizeof(o.profile), "%s", p->name);
	o.status = nvalid == n ? ST_READY : ST_PENDING;
	rc = store_order_insert(srv->store, &o, fresh, nfresh, &prob);
	if (rc == ACME_ERR_EXISTS && o.replaces[0] != '\0') {
		/* Another newOrder replacing it won the race (S-ARI-13). */
		acme_problem_release(&prob);
		acme_problem_set(&prob, ACME_PROB_ALREADY_REPLACED,
		    "certificate %s is already being replaced", o.replaces);
	}
	if (rc != 0)
		goto fail;
	reply_order(resp, req, &o, 201);
	goto out;
fail:
	reply_problem(resp, &prob);
out:
	for (i = 0; fresh != NULL && i < nfresh; i++)
		store_authz_release(&fresh[i]);
	free(fresh);
	if (o.idents == NULL)
		free(ids); /* not yet handed to the order */
	store_order_release(&o);
	acme_problem_release(&prob);
	json_decref(payload);
}

/*
 * Pre-authorization (RFC 8555 7.4.1): one identifier, never a wildcard
 * (S-IDN-6); refusals are 403 (S-PRE-2); the new authorization is
 * pending (S-PRE-3).
 */
void
h_new_authz(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct acme_ident *ids = NULL;
	struct store_authz z;
	json_t *payload = NULL, *id = NULL, *arr = NULL;
	char url[URL_MAX];
	size_t n = 0;
	time_t retry = 0;

	memset(&z, 0, sizeof(z));
	if ((payload = acme_jws_payload_json(req->jws, &prob)) == NULL ||
	    acme_json_get_object(payload, "identifier", ACME_JSON_REQUIRED, &id,
		&prob) != 0)
		goto fail;
	if ((arr = json_pack("[O]", id)) == NULL) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto fail;
	}
	if (policy_identifiers(srv->cfg, arr, &ids, &n, &prob) != 0) {
		prob.status = 403;
		goto fail;
	}
	if (operator_blocked(srv, ids, n, &prob) != 0)
		goto fail;
	if (strncmp(ids[0].value, "*.", 2) == 0) {
		acme_problem_set_status(&prob, ACME_PROB_REJECTED_IDENTIFIER,
		    403, "wildcards cannot be pre-authorized; order them");
		goto fail;
	}
	/* The limits of an order for the identifier (D57). */
	if (order_rate_limits(srv, req->acct->id, ids, 1, 0, &retry, &prob) !=
	    0) {
		if (retry > 0)
			reply_headerf(resp, "Retry-After", "%lld",
			    (long long)retry);
		goto fail;
	}
	/* No order, so no profile: the CA-wide pending lifetime. */
	if (new_authz(srv, req, &ids[0], 0, srv->cfg->authz_lifetime, &z,
		&prob) != 0 ||
	    store_authz_insert(srv->store, &z, &prob) != 0)
		goto fail;
	if (reply_json(resp, 201, authz_json(req, &z)) == 0)
		reply_header(resp, "Location",
		    res_url(url, req, PATH_AUTHZ, z.id, NULL));
	goto out;
fail:
	reply_problem(resp, &prob);
out:
	store_authz_release(&z);
	free(ids);
	json_decref(arr);
	json_decref(payload);
	acme_problem_release(&prob);
}

void
h_order(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_order o;
	int rc;

	rc = order_load(srv, req->param, &o, &prob);
	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED, 404,
		    "no such order");
		reply_problem(resp, &prob);
	} else if (rc != 0)
		reply_problem(resp, &prob);
	else {
		if (owner_check(resp, req, o.account_id) == 0)
			reply_order(resp, req, &o, 200);
		store_order_release(&o);
	}
	acme_problem_release(&prob);
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

/* Signs and stores the certificate for o, valid from nb to na (D56). */
static int
issue(struct srv *srv, const struct profile *p, struct store_order *o,
    const struct acme_csr *csr, time_t nb, time_t na, struct acme_problem *prob)
{
	struct issued out;
	struct store_cert cert;
	json_t *ev, *names;
	size_t i;
	int rc, counted;

	/* The issuance counts for its set unless exempt (D51, D57). */
	counted = srv->cfg->rate_limits.l[RL_CERTS_PER_IDENT_SET].count > 0;
	if (counted && (rc = renewal_exempt(srv, o, prob)) != 0) {
		if (rc < 0)
			return rc;
		counted = 0;
	}
	rc = issuer_issue(srv->issuer, p, csr->key, csr->spki, o->idents,
	    o->nident, nb, na, &out, prob);
	if (rc != 0)
		return rc;
	memset(&cert, 0, sizeof(cert));
	if (store_new_id(cert.id) != 0) {
		free(out.chain_pem);
		free(out.alt_chain_pem);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "no randomness");
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
	names = json_array();
	for (i = 0; names != NULL && i < o->nident; i++)
		json_array_append_new(names, json_string(o->idents[i].value));
	ev = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:I, s:I}", "serial",
	    cert.serial, "cert", cert.id, "order", o->id, "account",
	    o->account_id, "names", names, "profile", p->name, "not_before",
	    (json_int_t)cert.not_before, "not_after",
	    (json_int_t)cert.not_after);
	/* The certificate, the valid order and the audit line in one
	 * transaction (D44). */
	rc = store_begin(srv->store, prob);
	if (rc == 0)
		rc = store_cert_insert(srv->store, &cert, prob);
	if (rc == 0)
		rc = store_order_set_status(srv->store, o->id, ST_PROCESSING,
		    ST_VALID, NULL, cert.id, prob);
	if (rc == 0)
		rc = audit_record(srv->audit, "issuance", ev, prob);
	/* The issuance counts for its identifier set (D51), as part of it. */
	if (rc == 0 && counted) {
		char key[80];
		time_t retry;

		if (rl_key_ident_set(o->idents, o->nident, key, sizeof(key)) ==
		    0) {
			rc = rl_apply(srv->store, &srv->cfg->rate_limits,
			    RL_CERTS_PER_IDENT_SET, key, srv->now(), RL_FORCE,
			    &retry, prob);
			if (rc == ACME_ERR_LIMIT) {
				/* Spent anyway: the certificate is made. */
				acme_problem_release(prob);
				rc = 0;
			}
		}
	}
	if (rc == 0)
		rc = store_commit(srv->store, prob);
	if (rc != 0)
		store_rollback(srv->store);
	json_decref(ev);
	if (rc == 0) {
		audit_kick(srv->audit);
		metrics_issuance(srv->metrics);
		o->status = ST_VALID;
		snprintf(o->cert_id, sizeof(o->cert_id), "%s", cert.id);
	}
	free(out.chain_pem);
	free(out.alt_chain_pem);
	return rc;
}

/*
 * The profile a ready order is finalized under.  One the CA no longer
 * issues (retired, or gone from the configuration) is invalidProfile
 * (S-PROF-7), and the order becomes invalid with that error: no later
 * finalize could succeed, and a client polling the order learns why.
 */
static const struct profile *
finalize_profile(struct srv *srv, struct store_order *o,
    struct acme_problem *prob)
{
	const struct profile *p = profile_find(&srv->cfg->profiles, o->profile);

	if (p != NULL && !p->retired)
		return p;
	acme_problem_set(prob, ACME_PROB_INVALID_PROFILE,
	    "profile %s is no longer issued; place a new order",
	    o->profile[0] != '\0' ? o->profile :
				    srv->cfg->profiles.default_name);
	order_invalidate(srv, o, prob, NULL);
	return NULL;
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
recheck_authzs(struct srv *srv, struct store_order *o,
    struct acme_problem *prob)
{
	struct acme_problem why = { 0 };
	struct store_authz z;
	size_t i;
	int rc;

	for (i = 0; i < o->nauthz; i++) {
		if ((rc = authz_load(srv, o->authz_ids[i], &z, prob)) != 0)
			return rc;
		if (z.status != ST_VALID || z.expires <= srv->now()) {
			acme_problem_set(&why, ACME_PROB_UNAUTHORIZED,
			    "authorization for %s is %s", z.ident.value,
			    z.status == ST_VALID ? "expired" :
						   store_status_name(z.status));
			store_authz_release(&z);
			rc = order_invalidate(srv, o, &why, prob);
			if (rc == 0) {
				acme_problem_set(prob,
				    ACME_PROB_ORDER_NOT_READY,
				    "order is invalid: %s", why.detail);
				rc = ACME_ERR_VERIFY;
			}
			acme_problem_release(&why);
			return rc;
		}
		rc = va_recheck_caa(srv->va, &z, prob);
		store_authz_release(&z);
		if (rc != 0)
			return rc;
	}
	return 0;
}

void
h_finalize(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_order o;
	const struct profile *profile;
	struct acme_csr csr = { 0 };
	json_t *payload = NULL;
	const char *b64 = NULL;
	time_t nb = 0, na = 0;
	int rc, loaded = 0;

	rc = order_load(srv, req->param, &o, &prob);
	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED, 404,
		    "no such order");
		goto fail;
	}
	if (rc != 0)
		goto fail;
	loaded = 1;
	if (owner_check(resp, req, o.account_id) != 0)
		goto out;
	/* S-FIN-4: only a ready order can be finalized. */
	if (o.status != ST_READY) {
		acme_problem_set(&prob, ACME_PROB_ORDER_NOT_READY,
		    "order is %s, not ready", store_status_name(o.status));
		goto fail;
	}
	if ((profile = finalize_profile(srv, &o, &prob)) == NULL)
		goto fail;
	if ((payload = acme_jws_payload_json(req->jws, &prob)) == NULL ||
	    acme_json_get_string(payload, "csr", ACME_JSON_REQUIRED, &b64,
		&prob) != 0)
		goto fail;
	if (acme_csr_read(b64, &csr, &prob) != 0 ||
	    same_names(&o, csr.ids, csr.nids, &prob) != 0 ||
	    policy_cert_key(srv->cfg, csr.key, &prob) != 0)
		goto fail;
	if (not_an_account_key(srv, csr.key, &prob) != 0)
		goto fail;
	/* The claim needs no flush of its own: the issuance's commit makes
	 * it durable, and orders_unclaim gives back one a crash cut off. */
	rc = store_order_set_status_relaxed(srv->store, o.id, ST_READY,
	    ST_PROCESSING, NULL, &prob);
	if (rc == ACME_ERR_CONFLICT) {
		acme_problem_set(&prob, ACME_PROB_ORDER_NOT_READY,
		    "order is being finalized already");
		goto fail;
	}
	if (rc != 0)
		goto fail;
	o.status = ST_PROCESSING;
	if ((rc = recheck_authzs(srv, &o, &prob)) == ACME_ERR_VERIFY)
		goto fail; /* made invalid */
	/* The validity is decided now, at signing (D56); an order whose
	 * window can no longer be honoured never will be. */
	if (rc == 0 && (rc = profile_window(profile, srv->now(), o.not_before,
			    o.not_after, issuer_not_after(srv->issuer), &nb,
			    &na, &prob)) == ACME_ERR_INVAL) {
		order_invalidate(srv, &o, &prob, NULL);
		goto fail;
	}
	if (rc != 0 || issue(srv, profile, &o, &csr, nb, na, &prob) != 0) {
		/* Give the order back so the client can try again. */
		store_order_set_status(srv->store, o.id, ST_PROCESSING,
		    ST_READY, NULL, NULL, NULL);
		goto fail;
	}
	reply_order(resp, req, &o, 200);
	goto out;
fail:
	reply_problem(resp, &prob);
out:
	if (loaded)
		store_order_release(&o);
	acme_csr_release(&csr);
	json_decref(payload);
	acme_problem_release(&prob);
}

void
h_account_orders(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	char(*ids)[STORE_ID_SIZE] = NULL;
	size_t n = 0, i, page = (size_t)srv->cfg->orders_per_page;
	char url[URL_MAX];
	json_t *list;
	const char *after = "";
	const char *q;

	if (strcmp(req->param, req->acct->id) != 0) {
		reply_error(resp, ACME_PROB_UNAUTHORIZED,
		    "orders of another account");
		return;
	}
	/* The cursor travels in the query string of Link rel="next". */
	q = req->query != NULL ? strstr(req->query, "after=") : NULL;
	if (q != NULL)
		after = q + 6;
	if ((ids = calloc(page + 1, sizeof(*ids))) == NULL) {
		reply_error(resp, ACME_PROB_SERVER_INTERNAL, "out of memory");
		return;
	}
	if (store_order_list(srv->store, req->acct->id, after, ids, page + 1,
		&n, &prob) != 0) {
		reply_problem(resp, &prob);
		goto out;
	}
	list = json_array();
	for (i = 0; list != NULL && i < n && i < page; i++)
		json_array_append_new(list,
		    json_string(res_url(url, req, PATH_ORDER, ids[i], NULL)));
	if (reply_json(resp, 200, json_pack("{s:o}", "orders", list)) == 0 &&
	    n > page) {
		char next[URL_MAX + 64];

		snprintf(next, sizeof(next), "%s%s%s/orders?after=%s",
		    req->base, PATH_ACCOUNT, req->acct->id, ids[page - 1]);
		reply_link(resp, next, "next");
	}
out:
	acme_problem_release(&prob);
	free(ids);
}
