/* SPDX-License-Identifier: ISC */
/*
 * The validation authority's worker pool (see va.h, D70): a queue of
 * challenge ids served by a fixed pool of threads, each running the job
 * function va_open was given (the registration authority's
 * ra_chall_validate, which reads, calls va_check and records).
 *
 * Waiting jobs are kept per account, and accounts take turns: a worker
 * takes the next job of the next account that has fewer than
 * validation_per_account validations running, so one account's
 * challenges, however slow, leave the other workers to everyone else
 * (D53).
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/log.h>

#include "va.h"
#include "../store/store.h"

#include "internal.h"

#define QUEUE_MAX     65536 /* jobs waiting, over all accounts */
#define ACCT_BUCKETS  1024  /* hash buckets of accounts with jobs */
#define VA_TRIM_EVERY 1000  /* validations between malloc_trim() calls */
/* va_time_left()'s cap in ms, a day: it fits an int. */
#define LEFT_MAX_MS ((long long)DAY_SECS * MS_PER_SEC)

/* A job waiting for a worker. */
struct job {
	struct job *next;
	char chall_id[STORE_ID_SIZE];
};

/*
 * An account with jobs waiting or running; freed when it has neither.
 * It is on the ready list while it has jobs waiting and fewer than
 * validation_per_account running.
 */
struct acct {
	struct acct *next;       /* in its hash bucket */
	struct acct *next_ready; /* on the ready list */
	struct job *head, *tail; /* waiting, oldest first */
	int running;             /* validations in flight */
	int ready;               /* on the ready list */
	char id[STORE_ID_SIZE];
};

struct va {
	struct srv *srv;
	va_job_fn job; /* runs one stored job */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct acct **accts;                  /* ACCT_BUCKETS chains */
	struct acct *ready_head, *ready_tail; /* accounts whose turn comes */
	size_t count;                         /* jobs waiting */
	int per_account;                      /* validation_per_account */
	unsigned long validations;            /* started, for VA_TRIM_EVERY */
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

long long
va_deadline(int seconds)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * MS_PER_SEC + ts.tv_nsec / NS_PER_MS +
	       (long long)seconds * MS_PER_SEC;
}

int
va_time_left(long long deadline)
{
	long long left = deadline - va_deadline(0);

	if (left <= 0)
		return 0;
	return left > LEFT_MAX_MS ? LEFT_MAX_MS : (int)left;
}

/* The account entry for id, made when make is set; NULL if none. */
static struct acct *
acct_find(struct va *va, const char *id, int make)
{
	struct acct **bucket = &va->accts[srv_hash(id) % ACCT_BUCKETS];
	struct acct *a;

	for (a = *bucket; a != NULL; a = a->next)
		if (strcmp(a->id, id) == 0)
			return a;
	if (!make || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	snprintf(a->id, sizeof(a->id), "%s", id);
	a->next = *bucket;
	*bucket = a;
	return a;
}

/* Frees a once it has no job waiting or running. */
static void
acct_drop_idle(struct va *va, struct acct *a)
{
	struct acct **pp = &va->accts[srv_hash(a->id) % ACCT_BUCKETS];

	if (a->head != NULL || a->running > 0 || a->ready)
		return;
	while (*pp != a)
		pp = &(*pp)->next;
	*pp = a->next;
	free(a);
}

/* Puts a at the end of the ready list if its turn may come. */
static void
acct_offer(struct va *va, struct acct *a)
{
	if (a->ready || a->head == NULL || a->running >= va->per_account)
		return;
	a->ready = 1;
	a->next_ready = NULL;
	if (va->ready_tail != NULL)
		va->ready_tail->next_ready = a;
	else
		va->ready_head = a;
	va->ready_tail = a;
	pthread_cond_signal(&va->cond);
}

/*
 * The oldest job of the account whose turn it is; the account goes to
 * the back of the list (if it may run more).  Called with the lock held
 * and the ready list not empty.
 */
static struct job *
take_job(struct va *va, struct acct **owner)
{
	struct acct *a = va->ready_head;
	struct job *j = a->head;

	va->ready_head = a->next_ready;
	if (va->ready_head == NULL)
		va->ready_tail = NULL;
	a->ready = 0;
	a->head = j->next;
	if (a->head == NULL)
		a->tail = NULL;
	a->running++;
	va->count--;
	acct_offer(va, a);
	*owner = a;
	return j;
}

static void *
worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct va *va = wa->va;
	struct va_resolver *res = wa->res;
	struct acct *a;
	struct job *j;
	int trim;

	free(wa);
	for (;;) {
		pthread_mutex_lock(&va->lock);
		while (va->ready_head == NULL && !va->stopping)
			pthread_cond_wait(&va->cond, &va->lock);
		if (va->stopping) {
			pthread_mutex_unlock(&va->lock);
			return NULL;
		}
		j = take_job(va, &a);
		trim = ++va->validations % VA_TRIM_EVERY == 0;
		pthread_mutex_unlock(&va->lock);
		va->job(va->srv, res, va->caa, j->chall_id);
		free(j);
		pthread_mutex_lock(&va->lock);
		a->running--;
		acct_offer(va, a);
		acct_drop_idle(va, a);
		pthread_mutex_unlock(&va->lock);
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
va_recheck_caa(struct va *va, const struct conf *cfg,
    const struct store_authz *z, struct acme_problem *prob)
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
	rc = va_caa(cfg, va->recheck_res, NULL,
	    va_deadline(cfg->validation_timeout), z->ident.value, z->wildcard,
	    z->account_id, store_chall_type_name(won->type), prob);
	pthread_mutex_unlock(&va->recheck_lock);
	return rc;
}

/* A job this instance holds but cannot queue: its lease ends now, so
 * the next sweep of any instance takes it (D80), or the next start. */
static int
job_give_back(struct va *va, const char *chall_id)
{
	store_job_release(va->srv->store, chall_id, NULL);
	return ACME_ERR_LIMIT;
}

int
va_submit(struct va *va, const char *chall_id, const char *account_id)
{
	struct job *j = calloc(1, sizeof(*j));
	struct acct *a;

	if (j == NULL)
		return job_give_back(va, chall_id);
	snprintf(j->chall_id, sizeof(j->chall_id), "%s", chall_id);
	pthread_mutex_lock(&va->lock);
	if (va->count >= QUEUE_MAX ||
	    (a = acct_find(va, account_id, 1)) == NULL) {
		pthread_mutex_unlock(&va->lock);
		free(j);
		return job_give_back(va, chall_id);
	}
	if (a->tail != NULL)
		a->tail->next = j;
	else
		a->head = j;
	a->tail = j;
	va->count++;
	acct_offer(va, a);
	pthread_mutex_unlock(&va->lock);
	return 0;
}

/*
 * The account a stored job belongs to, for resuming it; "" when it
 * cannot be read (the job then runs and finds out itself).
 */
static void
job_account(struct store *st, const char *chall_id, char *out, size_t size)
{
	struct store_chall ch;
	struct store_authz z;

	memset(&ch, 0, sizeof(ch));
	memset(&z, 0, sizeof(z));
	out[0] = '\0';
	if (store_chall_get(st, chall_id, &ch, NULL) == 0 &&
	    store_authz_get(st, ch.authz_id, &z, NULL) == 0)
		snprintf(out, size, "%s", z.account_id);
	store_chall_release(&ch);
	store_authz_release(&z);
}

/*
 * Claims up to max jobs whose lease ended before cutoff and queues
 * them; *n is the count claimed.
 */
static int
claim(struct va *va, time_t cutoff, struct store_job *jobs, size_t max,
    size_t *n, struct acme_problem *prob)
{
	struct srv *srv = va->srv;
	size_t i;

	if (store_jobs_claim(srv->store, srv->instance, cutoff,
		srv->now() + srv_conf(srv)->lease_seconds, jobs, max, n,
		prob) != 0)
		return ACME_ERR_IO;
	for (i = 0; i < *n; i++) {
		char acct[STORE_ID_SIZE];

		job_account(srv->store, jobs[i].chall_id, acct, sizeof(acct));
		va_submit(va, jobs[i].chall_id, acct);
	}
	return 0;
}

int
va_takeover(struct va *va, time_t now, size_t *n)
{
	struct store_job *jobs;
	struct acme_problem prob = { 0 };
	size_t room;
	int rc;

	*n = 0;
	pthread_mutex_lock(&va->lock);
	room = QUEUE_MAX - va->count;
	pthread_mutex_unlock(&va->lock);
	if (room > VA_TAKEOVER_MAX)
		room = VA_TAKEOVER_MAX;
	if (room == 0)
		return 0;
	if ((jobs = calloc(room, sizeof(*jobs))) == NULL)
		return ACME_ERR_NOMEM;
	if ((rc = claim(va, now, jobs, room, n, &prob)) != 0)
		acme_log(ACME_LOG_ERROR, "cannot take over validations",
		    "detail=\"%s\"", prob.detail);
	acme_problem_release(&prob);
	free(jobs);
	return rc;
}

struct va *
va_open(struct srv *srv, va_job_fn job, struct acme_problem *prob)
{
	const struct conf *cfg = srv_conf(srv); /* restart-only settings */
	struct store_job *jobs = NULL;
	struct va *va;
	size_t n = 0;
	int t;

	if ((va = calloc(1, sizeof(*va))) == NULL ||
	    (va->accts = calloc(ACCT_BUCKETS, sizeof(*va->accts))) == NULL ||
	    (va->threads = calloc((size_t)cfg->validation_workers,
		 sizeof(*va->threads))) == NULL ||
	    (va->resolvers = calloc((size_t)cfg->validation_workers,
		 sizeof(*va->resolvers))) == NULL ||
	    (jobs = calloc(QUEUE_MAX, sizeof(*jobs))) == NULL)
		goto nomem;
	va->srv = srv;
	va->job = job;
	va->per_account = cfg->validation_per_account;
	pthread_mutex_init(&va->lock, NULL);
	pthread_cond_init(&va->cond, NULL);
	/*
	 * Validations interrupted by a stop or crash resume now: every
	 * stored job when one process serves the database (D71), else
	 * those whose holder's lease has ended (D80).
	 */
	if (claim(va, store_shared(srv->store) ? srv->now() : STORE_EVERY_LEASE,
		jobs, QUEUE_MAX, &n, prob) != 0)
		goto fail;
	if (n > 0)
		acme_log(ACME_LOG_INFO, "resuming validations", "count=%zu", n);
	pthread_mutex_init(&va->recheck_lock, NULL);
	va->recheck_res =
	    va_resolver_new(cfg->resolver, cfg->dnssec_trust_anchor);
	va->caa = caa_cache_new(cfg->caa_cache_seconds);
	free(jobs);
	jobs = NULL;
	for (t = 0; t < cfg->validation_workers; t++) {
		struct worker_arg *wa = malloc(sizeof(*wa));

		/*
		 * Resolver contexts are made here, one after the other:
		 * libunbound's global set-up is not safe to run from several
		 * threads at once.
		 */
		va->resolvers[t] =
		    va_resolver_new(cfg->resolver, cfg->dnssec_trust_anchor);
		if (va->resolvers[t] == NULL)
			acme_log(ACME_LOG_ERROR, "cannot set up the resolver",
			    "resolver=%s", cfg->resolver);
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
		free(va->accts);
		free(va->threads);
		free(va->resolvers);
		free(va);
	}
	return NULL;
}

void
va_close(struct va *va)
{
	struct acct *a;
	struct job *j;
	size_t b;
	int t;

	if (va == NULL)
		return;
	pthread_mutex_lock(&va->lock);
	va->stopping = 1;
	pthread_cond_broadcast(&va->cond);
	pthread_mutex_unlock(&va->lock);
	for (t = 0; t < va->nthreads; t++)
		pthread_join(va->threads[t], NULL);
	for (t = 0; t < srv_conf(va->srv)->validation_workers; t++)
		va_resolver_free(va->resolvers[t]);
	free(va->resolvers);
	va_resolver_free(va->recheck_res);
	caa_cache_free(va->caa);
	pthread_mutex_destroy(&va->recheck_lock);
	pthread_mutex_destroy(&va->lock);
	pthread_cond_destroy(&va->cond);
	for (b = 0; b < ACCT_BUCKETS; b++)
		while ((a = va->accts[b]) != NULL) {
			va->accts[b] = a->next;
			while ((j = a->head) != NULL) {
				a->head = j->next;
				free(j);
			}
			free(a);
		}
	free(va->accts);
	free(va->threads);
	free(va);
}
