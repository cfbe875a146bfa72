/* SPDX-License-Identifier: ISC */
/*
 * Authorizations and challenges in the registration authority (see
 * ra.h): making and deactivating an authorization, starting a
 * challenge's validation, and running and recording one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/err.h>
#include <anvil/log.h>

#include "ra_int.h"
#include "../admin/activity.h"
#include "../admin/metrics.h"
#include "../audit.h"
#include "../va/va.h"

#include "contract.h"
#include "internal.h"

/* Challenge types one authorization may offer: http-01, dns-01 and
 * tls-alpn-01 (enum store_chall_type). */
#define CHALL_TYPES 3
/* Bytes of a validation's problem detail quoted for its log line. */
#define DETAIL_QUOTED_MAX 600

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

int
ra__authz_new(struct srv *srv, const char *account_id,
    const struct acme_ident *id, int wildcard, int lifetime,
    struct store_authz *z, struct acme_problem *prob)
{
	enum store_chall_type types[CHALL_TYPES];
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
	snprintf(z->account_id, sizeof(z->account_id), "%s", account_id);
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

int
ra_authz_create(struct srv *srv, const struct conf *cfg, const char *account_id,
    const struct acme_ident *id, struct store_authz *z, time_t *retry,
    struct acme_problem *prob)
{
	int rc;

	ACME_ASSERT(srv != NULL && account_id != NULL && id != NULL &&
		    z != NULL && retry != NULL);
	memset(z, 0, sizeof(*z));
	*retry = 0;
	/* The limits of an order for the identifier (D57). */
	if ((rc = ra__limits_order(srv, cfg, account_id, id, 1, 0, retry,
		 prob)) != 0)
		return rc;
	/* No order, so no profile: the CA-wide pending lifetime. */
	if ((rc = ra__authz_new(srv, account_id, id, 0, cfg->authz_lifetime, z,
		 prob)) != 0)
		return rc;
	return store_authz_insert(srv->store, z, prob);
}

int
ra_authz_deactivate(struct srv *srv, struct store_authz *z,
    struct acme_problem *prob)
{
	int rc;

	ACME_ASSERT(srv != NULL && z != NULL);
	if (z->status != ST_PENDING && z->status != ST_VALID)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "a %s authorization cannot be deactivated",
		    store_status_name(z->status));
	if ((rc = store_authz_set_status(srv->store, z->id, z->status,
		 ST_DEACTIVATED, 0, prob)) != 0)
		return rc;
	z->status = ST_DEACTIVATED;
	return 0;
}

int
ra_chall_start(struct srv *srv, const struct conf *cfg,
    const struct store_authz *z, struct store_chall *c,
    struct acme_problem *prob)
{
	struct store *st = srv->store;
	struct store_job job;
	int rc = 0;

	ACME_ASSERT(srv != NULL && z != NULL && c != NULL);
	if (c->status != ST_PENDING || z->status != ST_PENDING)
		return 0;
	/* D88: no validation of a name the operator blocked since. */
	if ((rc = ra_idents_blocked(srv, &z->ident, 1, prob)) != 0)
		return rc;
	c->status = ST_PROCESSING;
	memset(&job, 0, sizeof(job));
	snprintf(job.chall_id, sizeof(job.chall_id), "%s", c->id);
	job.not_before = srv->now();
	/* Held by this instance from the start (D80). */
	snprintf(job.owner, sizeof(job.owner), "%s", srv->instance);
	job.lease_until = job.not_before + cfg->lease_seconds;
	/* The job and the new status in one transaction: after a crash
	 * both or neither are there (va_open or a sweep resumes it, D80). */
	if (store_begin(st, prob) != 0 || store_job_add(st, &job, prob) != 0 ||
	    (rc = store_chall_update(st, c, ST_PENDING, prob)) != 0 ||
	    (rc = store_commit(st, prob)) != 0) {
		store_rollback(st);
		c->status = ST_PENDING;
		if (rc == ACME_ERR_CONFLICT)
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "challenge changed meanwhile");
		return rc != 0 ? rc : ACME_ERR_INVAL;
	}
	va_submit(srv->va, c->id, z->account_id);
	return 0;
}

/*
 * The outcome of a validation of ch (processing) for z (pending): the
 * challenge and the authorization move on, a failure counts against
 * the identifier (D51), the job is done and the audit line written, in
 * one transaction (D44).  1 when it committed.
 */
static int
record(struct srv *srv, const struct conf *cfg, struct store_chall *ch,
    const struct store_authz *z, int ok, const struct acme_problem *result)
{
	struct acme_problem prob = { 0 };
	struct store *st = srv->store;
	int finished = 0;
	json_t *ev;

	ch->attempts++;
	if (ok) {
		ch->status = ST_VALID;
		ch->validated = srv->now();
	} else {
		ch->status = ST_INVALID;
		free(ch->error);
		ch->error = ra__problem_text(result);
	}
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s*}", "chall",
	    ch->id, "authz", z->id, "account", z->account_id, "type",
	    store_chall_type_name(ch->type), "identifier_type",
	    acme_ident_type_name(z->ident.type), "identifier", z->ident.value,
	    "valid", ok, "error", ok ? NULL : result->detail);
	if (store_begin(st, &prob) == 0) {
		if (store_chall_update(st, ch, ST_PROCESSING, &prob) == 0)
			store_authz_set_status(st, z->id, ST_PENDING,
			    ok ? ST_VALID : ST_INVALID,
			    ok ? srv->now() + cfg->valid_authz_lifetime : 0,
			    &prob);
		if (!ok)
			ra__limits_failed(srv, cfg, z);
		if (store_job_done(st, ch->id, &prob) == 0 &&
		    audit_record(srv->audit, "validation", ev, &prob) == 0 &&
		    store_commit(st, &prob) == 0)
			finished = 1;
		else
			store_rollback(st);
	}
	json_decref(ev);
	acme_problem_release(&prob);
	if (finished) {
		audit_kick(srv->audit);
		metrics_validation(srv->metrics, (int)ch->type, ok);
		activity_validation(srv->activity, srv->now(),
		    store_chall_type_name(ch->type), z->ident.value, ok,
		    ok ? 0 : (int)result->type, ok ? NULL : result->detail);
	}
	return finished;
}

void
ra_chall_validate(struct srv *srv, struct va_resolver *res,
    struct caa_cache *caa, const char *chall_id)
{
	struct acme_problem prob = { 0 }, result = { 0 };
	const struct conf *cfg = srv_conf(srv); /* this job's (D89) */
	struct store *st = srv->store;
	struct store_chall ch;
	struct store_authz z;
	struct store_account acct;
	struct va_request rq;
	struct va_ctx ctx;
	char d[DETAIL_QUOTED_MAX];
	int ok, finished = 0;

	ACME_ASSERT(srv != NULL && chall_id != NULL);
	memset(&ch, 0, sizeof(ch));
	memset(&z, 0, sizeof(z));
	memset(&acct, 0, sizeof(acct));
	if (store_chall_get(st, chall_id, &ch, &prob) != 0 ||
	    store_authz_get(st, ch.authz_id, &z, &prob) != 0 ||
	    store_account_get(st, z.account_id, &acct, &prob) != 0) {
		acme_log(ACME_LOG_ERROR, "validation lookup failed",
		    "chall=%s detail=\"%s\"", chall_id, prob.detail);
		goto done;
	}
	if (ch.status != ST_PROCESSING || z.status != ST_PENDING)
		goto done;
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.type, sizeof(rq.type), "%s",
	    store_chall_type_name(ch.type));
	rq.ident = z.ident;
	rq.wildcard = z.wildcard;
	snprintf(rq.token, sizeof(rq.token), "%s", ch.token);
	snprintf(rq.keyauth, sizeof(rq.keyauth), "%s.%s", ch.token,
	    acct.thumbprint);
	snprintf(rq.account_id, sizeof(rq.account_id), "%s", z.account_id);
	ctx.cfg = cfg;
	ctx.res = res;
	ctx.caa = caa;
	/* One deadline for all of it, CAA included (D53). */
	ctx.deadline = va_deadline(cfg->validation_timeout);
	ok = va_check(&ctx, &rq, &result) == 0;
	finished = record(srv, cfg, &ch, &z, ok, &result);
	/* Why it failed, as the audit log and the client see it. */
	acme_log(ACME_LOG_INFO, "validation",
	    "chall=%s type=%s name=%s ok=%d account=%s problem=%s detail=%s",
	    ch.id, rq.type, z.ident.value, ok, z.account_id,
	    ok ? "-" : acme_problem_type_name(result.type),
	    ok ? "-" : acme_log_quote(result.detail, d, sizeof(d)));
done:
	if (!finished)
		store_job_done(st, chall_id, NULL);
	acme_problem_release(&prob);
	acme_problem_release(&result);
	store_chall_release(&ch);
	store_authz_release(&z);
	store_account_release(&acct);
}
