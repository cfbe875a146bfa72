/* SPDX-License-Identifier: ISC */
/*
 * The validation authority (see va.h): a queue of challenge ids served by
 * a fixed pool of threads.  A validation reads the challenge, its
 * authorization and the account's current key (S-CHAL-7), runs the
 * check for the challenge type, then records the outcome with
 * conditional updates, so a validation repeated after a restart cannot
 * undo a newer state.  Each attempt goes to the audit log.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/log.h>

#include "va.h"
#include "../audit.h"
#include "../store/store.h"

#include "internal.h"

#define QUEUE_MAX     65536
#define QUEUE_FIRST   64   /* ids the ring holds before it first grows */
#define VA_TRIM_EVERY 1000 /* validations between malloc_trim() calls */

struct va {
	struct srv *srv;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/*
	 * Ring of cap ids, doubled when full up to QUEUE_MAX.  It starts
	 * small because every slot the head passes stays resident: a ring
	 * of QUEUE_MAX made up front grew anvil-ca's RSS by 1.5 MiB over
	 * its first 65,536 validations.
	 */
	char (*queue)[STORE_ID_SIZE];
	size_t head, count, cap;
	unsigned long validations; /* started, for VA_TRIM_EVERY */
	int stopping;
	pthread_t *threads;
	struct va_resolver **resolvers;  /* one per worker, its own */
	struct va_resolver *recheck_res; /* for CAA re-checks at finalize */
	pthread_mutex_t recheck_lock;    /* guards recheck_res and its base */
	struct caa_cache *caa;           /* shared by the workers, or NULL */
	int nthreads;
};

struct worker_arg {
	struct va *va;
	struct va_resolver *res;
};

static char *
problem_text(const struct acme_problem *p)
{
	json_t *doc = acme_problem_to_json(p);
	char *s = doc != NULL ? acme_json_compact(doc, NULL) : NULL;

	json_decref(doc);
	return s;
}

/*
 * A failed validation counts against its account and identifier (D51),
 * in the transaction that records it; a failure to count is logged, not
 * allowed to undo the outcome.
 */
static void
count_failure(struct srv *srv, const struct store_authz *z)
{
	struct acme_problem p = { 0 };
	char key[600];
	time_t retry;

	if (srv->cfg->rate_limits.l[RL_FAILED_AUTHZ_PER_IDENT].count == 0 ||
	    rl_key_failed_authz(z->account_id, &z->ident, key, sizeof(key)) !=
		0)
		return;
	if (rl_apply(srv->store, &srv->cfg->rate_limits,
		RL_FAILED_AUTHZ_PER_IDENT, key, srv->now(), RL_FORCE, &retry,
		&p) == ACME_ERR_LIMIT ||
	    p.type == ACME_PROB_NONE) {
		acme_problem_release(&p);
		return;
	}
	acme_log(ACME_LOG_WARN, "rate limit not counted",
	    "authz=%s detail=\"%s\"", z->id, p.detail);
	acme_problem_release(&p);
}

static void
validate(struct srv *srv, struct va_resolver *res, struct caa_cache *caa,
    const char *chall_id)
{
	struct acme_problem prob = { 0 }, result = { 0 };
	struct store *st = srv->store;
	struct store_chall ch;
	struct store_authz z;
	struct store_account acct;
	char keyauth[STORE_TOKEN_SIZE + STORE_THUMB_SIZE + 2];
	const char *value;
	int ok = 0, loaded = 0, finished = 0;
	json_t *ev;

	memset(&ch, 0, sizeof(ch));
	memset(&z, 0, sizeof(z));
	memset(&acct, 0, sizeof(acct));
	if (st->ops->chall_get(st, chall_id, &ch, &prob) != 0 ||
	    st->ops->authz_get(st, ch.authz_id, &z, &prob) != 0 ||
	    st->ops->account_get(st, z.account_id, &acct, &prob) != 0) {
		acme_log(ACME_LOG_ERROR, "validation lookup failed",
		    "chall=%s detail=\"%s\"", chall_id, prob.detail);
		goto done;
	}
	loaded = 1;
	if (ch.status != ST_PROCESSING || z.status != ST_PENDING)
		goto done;
	snprintf(keyauth, sizeof(keyauth), "%s.%s", ch.token, acct.thumbprint);
	value = z.ident.value;
	switch (ch.type) {
	case CHALL_HTTP01:
		ok = va_http01(srv->cfg, res, value, ch.token, keyauth,
			 &result) == 0;
		break;
	case CHALL_TLSALPN01:
		ok = va_tlsalpn01(srv->cfg, res, value, keyauth, &result) == 0;
		break;
	case CHALL_DNS01:
		ok = va_dns01(srv->cfg, res, value, keyauth, &result) == 0;
		break;
	default:
		acme_problem_set(&result, ACME_PROB_SERVER_INTERNAL,
		    "challenge type %s cannot be validated",
		    store_chall_type_name(ch.type));
		break;
	}
	/* CAA is checked once control is shown (S-CAA, BR 3.2.2.8). */
	if (ok && z.ident.type == ACME_IDENT_DNS &&
	    va_caa(srv->cfg, res, caa, value, z.wildcard, z.account_id,
		store_chall_type_name(ch.type), &result) != 0)
		ok = 0;
	ch.attempts++;
	if (ok) {
		ch.status = ST_VALID;
		ch.validated = srv->now();
	} else {
		ch.status = ST_INVALID;
		free(ch.error);
		ch.error = problem_text(&result);
	}
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s*}", "chall",
	    ch.id, "authz", z.id, "account", z.account_id, "type",
	    store_chall_type_name(ch.type), "identifier_type",
	    acme_ident_type_name(z.ident.type), "identifier", value, "valid",
	    ok, "error", ok ? NULL : result.detail);
	/* The outcome, the finished job and the audit line in one
	 * transaction (D44). */
	if (st->ops->begin(st, &prob) == 0) {
		if (st->ops->chall_update(st, &ch, ST_PROCESSING, &prob) == 0)
			st->ops->authz_set_status(st, z.id, ST_PENDING,
			    ok ? ST_VALID : ST_INVALID,
			    ok ? srv->now() + srv->cfg->valid_authz_lifetime :
				 0,
			    &prob);
		if (!ok)
			count_failure(srv, &z);
		if (st->ops->job_done(st, chall_id, &prob) == 0 &&
		    audit_record(srv->audit, "validation", ev, &prob) == 0 &&
		    st->ops->commit(st, &prob) == 0)
			finished = 1;
		else
			st->ops->rollback(st);
	}
	json_decref(ev);
	if (finished)
		audit_kick(srv->audit);
	acme_log(ACME_LOG_INFO, "validation", "chall=%s type=%s name=%s ok=%d",
	    ch.id, store_chall_type_name(ch.type), value, ok);
done:
	if (!finished)
		st->ops->job_done(st, chall_id, NULL);
	(void)loaded;
	acme_problem_release(&prob);
	acme_problem_release(&result);
	store_chall_release(&ch);
	store_authz_release(&z);
	store_account_release(&acct);
}

static void *
worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct va *va = wa->va;
	struct va_resolver *res = wa->res;
	char id[STORE_ID_SIZE];
	int trim;

	free(wa);
	for (;;) {
		pthread_mutex_lock(&va->lock);
		while (va->count == 0 && !va->stopping)
			pthread_cond_wait(&va->cond, &va->lock);
		if (va->stopping) {
			pthread_mutex_unlock(&va->lock);
			return NULL;
		}
		memcpy(id, va->queue[va->head], STORE_ID_SIZE);
		va->head = (va->head + 1) % va->cap;
		va->count--;
		trim = ++va->validations % VA_TRIM_EVERY == 0;
		pthread_mutex_unlock(&va->lock);
		validate(va->srv, res, va->caa, id);
		/*
		 * glibc keeps the pages freed in each thread's arena; over a
		 * long run the arenas of the HTTP and validation threads grow
		 * by fragments.  Handing free pages back now and then keeps
		 * the RSS flat (D36); it takes about a millisecond.
		 */
		if (trim)
			malloc_trim(0);
	}
}

int
va_recheck_caa(struct va *va, const struct store_authz *z,
    struct acme_problem *prob)
{
	const struct store_chall *won = NULL;
	size_t i;
	int rc;

	if (z->ident.type != ACME_IDENT_DNS)
		return 0;
	for (i = 0; i < z->nchall; i++)
		if (z->challs[i].status == ST_VALID)
			won = &z->challs[i];
	if (won == NULL ||
	    va->srv->now() - won->validated <= VA_CAA_RECHECK_AFTER)
		return 0;
	pthread_mutex_lock(&va->recheck_lock);
	/* No cache: the check is made again because the last is old. */
	rc = va_caa(va->srv->cfg, va->recheck_res, NULL, z->ident.value,
	    z->wildcard, z->account_id, store_chall_type_name(won->type), prob);
	pthread_mutex_unlock(&va->recheck_lock);
	return rc;
}

/* Doubles the full ring, its ids moved to the front in order. */
static int
queue_grow(struct va *va)
{
	char(*q)[STORE_ID_SIZE];
	size_t i;

	if (va->cap >= QUEUE_MAX ||
	    (q = calloc(va->cap * 2, sizeof(*q))) == NULL)
		return ACME_ERR_LIMIT;
	for (i = 0; i < va->count; i++)
		memcpy(q[i], va->queue[(va->head + i) % va->cap], sizeof(q[i]));
	free(va->queue);
	va->queue = q;
	va->head = 0;
	va->cap *= 2;
	return 0;
}

int
va_submit(struct va *va, const char *chall_id)
{
	int rc = 0;

	pthread_mutex_lock(&va->lock);
	if (va->count == va->cap && queue_grow(va) != 0)
		rc = ACME_ERR_LIMIT; /* the stored job runs at restart */
	else {
		snprintf(va->queue[(va->head + va->count) % va->cap],
		    STORE_ID_SIZE, "%s", chall_id);
		va->count++;
		pthread_cond_signal(&va->cond);
	}
	pthread_mutex_unlock(&va->lock);
	return rc;
}

struct va *
va_open(struct srv *srv, struct acme_problem *prob)
{
	struct store_job *jobs = NULL;
	struct va *va;
	size_t n = 0, i;
	int t;

	if ((va = calloc(1, sizeof(*va))) == NULL ||
	    (va->queue = calloc(QUEUE_FIRST, sizeof(*va->queue))) == NULL ||
	    (va->threads = calloc((size_t)srv->cfg->validation_workers,
		 sizeof(*va->threads))) == NULL ||
	    (va->resolvers = calloc((size_t)srv->cfg->validation_workers,
		 sizeof(*va->resolvers))) == NULL ||
	    (jobs = calloc(QUEUE_MAX, sizeof(*jobs))) == NULL)
		goto nomem;
	va->srv = srv;
	va->cap = QUEUE_FIRST;
	pthread_mutex_init(&va->lock, NULL);
	pthread_cond_init(&va->cond, NULL);
	/* Validations interrupted by a stop or crash resume now. */
	if (srv->store->ops->job_list(srv->store, jobs, QUEUE_MAX, &n, prob) !=
	    0)
		goto fail;
	for (i = 0; i < n; i++)
		va_submit(va, jobs[i].chall_id);
	if (n > 0)
		acme_log(ACME_LOG_INFO, "resuming validations", "count=%zu", n);
	pthread_mutex_init(&va->recheck_lock, NULL);
	va->recheck_res =
	    va_resolver_new(srv->cfg->resolver, srv->cfg->dnssec_trust_anchor);
	va->caa = caa_cache_new(srv->cfg->caa_cache_seconds);
	free(jobs);
	jobs = NULL;
	for (t = 0; t < srv->cfg->validation_workers; t++) {
		struct worker_arg *wa = malloc(sizeof(*wa));

		/*
		 * Resolver contexts are made here, one after the other:
		 * libunbound's global set-up is not safe to run from several
		 * threads at once.
		 */
		va->resolvers[t] = va_resolver_new(srv->cfg->resolver,
		    srv->cfg->dnssec_trust_anchor);
		if (va->resolvers[t] == NULL)
			acme_log(ACME_LOG_ERROR, "cannot set up the resolver",
			    "resolver=%s", srv->cfg->resolver);
		if (wa == NULL)
			break;
		wa->va = va;
		wa->res = va->resolvers[t];
		if (pthread_create(&va->threads[t], NULL, worker, wa) != 0) {
			free(wa);
			break;
		}
		va->nthreads++;
	}
	return va;
nomem:
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "out of memory");
fail:
	free(jobs);
	if (va != NULL) {
		free(va->queue);
		free(va->threads);
		free(va->resolvers);
		free(va);
	}
	return NULL;
}

void
va_close(struct va *va)
{
	int t;

	if (va == NULL)
		return;
	pthread_mutex_lock(&va->lock);
	va->stopping = 1;
	pthread_cond_broadcast(&va->cond);
	pthread_mutex_unlock(&va->lock);
	for (t = 0; t < va->nthreads; t++)
		pthread_join(va->threads[t], NULL);
	for (t = 0; t < va->srv->cfg->validation_workers; t++)
		va_resolver_free(va->resolvers[t]);
	free(va->resolvers);
	va_resolver_free(va->recheck_res);
	caa_cache_free(va->caa);
	pthread_mutex_destroy(&va->recheck_lock);
	pthread_mutex_destroy(&va->lock);
	pthread_cond_destroy(&va->cond);
	free(va->queue);
	free(va->threads);
	free(va);
}
