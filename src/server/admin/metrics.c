/* SPDX-License-Identifier: ISC */
/*
 * Counters and histograms (see metrics.h, D73).  Every request-path
 * update is a relaxed atomic add on a fixed array: no lock, no
 * allocation, no label strings built per request.  Labels are indices
 * into the tables below, turned into text only when scraped.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <anvil/err.h>
#include <anvil/problem.h>

#include "metrics.h"
#include "../paths.h"
#include "../store/store.h"

#include "internal.h"

/* Routes by path prefix; the last is everything else. */
static const struct {
	const char *prefix;
	const char *name;
	int exact;
} routes[] = {
	{ PATH_DIRECTORY, "directory", 1 },
	{ PATH_NEW_NONCE, "new-nonce", 1 },
	{ PATH_NEW_ACCOUNT, "new-account", 1 },
	{ PATH_NEW_ORDER, "new-order", 1 },
	{ PATH_NEW_AUTHZ, "new-authz", 1 },
	{ PATH_REVOKE, "revoke-cert", 1 },
	{ PATH_KEY_CHANGE, "key-change", 1 },
	{ PATH_ACCOUNT, "account", 0 },
	{ PATH_ORDER, "order", 0 },
	{ PATH_AUTHZ, "authz", 0 },
	{ PATH_CHALL, "chall", 0 },
	{ PATH_CERT, "cert", 0 },
	{ PATH_RENEWAL_INFO, "renewal-info", 0 },
	{ PATH_CRL, "crl", 1 },
	{ "/metrics", "metrics", 1 },
	{ "", "other", 0 },
};
#define NROUTE ACME_ARRAY_LEN(routes)

/* Statuses counted by code; others count as "other". */
static const int codes[] = { HTTP_OK, HTTP_CREATED, HTTP_NO_CONTENT,
	HTTP_MOVED_PERMANENTLY, HTTP_BAD_REQUEST, HTTP_UNAUTHORIZED,
	HTTP_FORBIDDEN, HTTP_NOT_FOUND, HTTP_METHOD_NOT_ALLOWED, HTTP_CONFLICT,
	HTTP_PAYLOAD_TOO_LARGE, HTTP_UNSUPPORTED_MEDIA_TYPE,
	HTTP_TOO_MANY_REQUESTS, HTTP_SERVER_ERROR, HTTP_SERVICE_UNAVAILABLE,
	0 };
#define NCODE ACME_ARRAY_LEN(codes)

/* Upper bounds, seconds; +Inf is the extra last bucket. */
static const double req_bounds[] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NREQB (ACME_ARRAY_LEN(req_bounds) + 1)

static const double db_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1 };
#define NDBB (ACME_ARRAY_LEN(db_bounds) + 1)

static const char *const db_ops[] = { "commit", "order_insert",
	"account_insert" };
#define NDBOP ACME_ARRAY_LEN(db_ops)

#define NCHALL  4 /* enum store_chall_type, 0 unused */
#define NRESULT 2 /* a validation failed (0) or succeeded (1) */
/* Validation jobs read per scrape for the queue gauges. */
#define JOBS_READ_MAX 4096
/* Bytes of one series' labels, such as route="..." and code="...". */
#define LABELS_MAX 160

struct hist {
	uint64_t count[NREQB > NDBB ? NREQB : NDBB]; /* not cumulative */
	uint64_t sum_us;
};

struct metrics {
	uint64_t requests[NROUTE][NCODE];
	struct hist latency[NROUTE];
	uint64_t problems[ACME_PROB__COUNT];
	uint64_t validations[NCHALL][NRESULT]; /* [type][ok] */
	uint64_t issuances;
	struct hist db[NDBOP];
	time_t started;
};

static void
add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static uint64_t
get(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

static void
observe(struct hist *h, const double *bounds, size_t nb, double seconds)
{
	size_t i;

	for (i = 0; i < nb && seconds > bounds[i]; i++)
		;
	add(&h->count[i], 1);
	add(&h->sum_us, seconds > 0 ? (uint64_t)(seconds * US_PER_SEC) : 0);
}

struct metrics *
metrics_new(void)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m != NULL)
		m->started = time(NULL);
	return m;
}

static size_t
route_of(const char *path)
{
	size_t i;

	for (i = 0; i < NROUTE - 1; i++) {
		size_t n = strlen(routes[i].prefix);

		if (strncmp(path, routes[i].prefix, n) == 0 &&
		    (!routes[i].exact || path[n] == '\0'))
			return i;
	}
	return NROUTE - 1;
}

void
metrics_request(struct metrics *m, const char *path, int status, int prob_type,
    double seconds)
{
	size_t r, c;

	if (m == NULL)
		return;
	r = route_of(path);
	for (c = 0; c < NCODE - 1 && codes[c] != status; c++)
		;
	add(&m->requests[r][c], 1);
	observe(&m->latency[r], req_bounds, NREQB - 1, seconds);
	if (prob_type > 0 && prob_type < ACME_PROB__COUNT)
		add(&m->problems[prob_type], 1);
}

void
metrics_validation(struct metrics *m, int type, int ok)
{
	if (m != NULL && type > 0 && type < NCHALL)
		add(&m->validations[type][ok != 0], 1);
}

void
metrics_issuance(struct metrics *m)
{
	if (m != NULL)
		add(&m->issuances, 1);
}

/*
 * The timed store: a copy of the back end's ops table whose timed
 * members call the originals.  Back ends take struct store * as their
 * own record, so only the table changes.  Process-wide: one serve.
 */
static struct store_ops timed_ops;
static const struct store_ops *inner_ops;
static struct metrics *timed_m;

static double
since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / NS_PER_SEC;
}

static int
timed_commit(struct store *s, struct acme_problem *prob)
{
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = inner_ops->commit(s, prob);
	observe(&timed_m->db[0], db_bounds, NDBB - 1, since(&t0));
	return rc;
}

static int
timed_order_insert(struct store *s, const struct store_order *o,
    const struct store_authz *authzs, size_t nnew, struct acme_problem *prob)
{
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = inner_ops->order_insert(s, o, authzs, nnew, prob);
	observe(&timed_m->db[1], db_bounds, NDBB - 1, since(&t0));
	return rc;
}

static int
timed_account_insert(struct store *s, const struct store_account *a,
    struct acme_problem *prob)
{
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = inner_ops->account_insert(s, a, prob);
	observe(&timed_m->db[2], db_bounds, NDBB - 1, since(&t0));
	return rc;
}

/* Counted as account_insert: the same insert, with its binding (D90). */
static int
timed_account_insert_eab(struct store *s, const struct store_account *a,
    struct acme_problem *prob)
{
	struct timespec t0;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = inner_ops->account_insert_eab(s, a, prob);
	observe(&timed_m->db[2], db_bounds, NDBB - 1, since(&t0));
	return rc;
}

void
metrics_time_store(struct metrics *m, struct store *st)
{
	if (m == NULL || inner_ops != NULL)
		return;
	inner_ops = st->ops;
	timed_m = m;
	timed_ops = *st->ops;
	timed_ops.commit = timed_commit;
	timed_ops.order_insert = timed_order_insert;
	timed_ops.account_insert = timed_account_insert;
	timed_ops.account_insert_eab = timed_account_insert_eab;
	st->ops = &timed_ops;
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

static void
head(struct acme_buf *b, const char *name, const char *type, const char *help)
{
	acme_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

static void
hist_out(struct acme_buf *b, const char *name, const char *labels,
    const struct hist *h, const double *bounds, size_t nb)
{
	uint64_t cum = 0;
	size_t i;

	for (i = 0; i <= nb; i++) {
		cum += get(&h->count[i]);
		if (i < nb)
			acme_buf_printf(b, "%s_bucket{%s,le=\"%g\"} %llu\n",
			    name, labels, bounds[i], (unsigned long long)cum);
		else
			acme_buf_printf(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n",
			    name, labels, (unsigned long long)cum);
	}
	acme_buf_printf(b, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels,
	    (double)get(&h->sum_us) / US_PER_SEC, name, labels,
	    (unsigned long long)cum);
}

/* What only the database knows, read at scrape time. */
static void
store_gauges(struct srv *srv, struct acme_buf *b)
{
	static struct store_job jobs[JOBS_READ_MAX];
	struct store *st = srv->store;
	struct acme_problem prob = { 0 };
	struct store_crl crl;
	long long n = 0;
	size_t nj = 0;
	time_t now = srv->now();

	head(b, "anvil_revocations_total", "counter",
	    "Certificates revoked, by any means, ever.");
	if (store_revocations(st, &n, &prob) == 0)
		acme_buf_printf(b, "anvil_revocations_total %lld\n", n);
	acme_problem_release(&prob);

	/* jobs: only the scrape uses it, and scrapes run one at a time. */
	head(b, "anvil_validation_queue_depth", "gauge",
	    "Validations waiting or running (at most 4096 counted).");
	head(b, "anvil_validation_queue_oldest_seconds", "gauge",
	    "Age of the oldest queued validation.");
	if (store_job_list(st, jobs, ACME_ARRAY_LEN(jobs), &nj, &prob) == 0) {
		acme_buf_printf(b, "anvil_validation_queue_depth %zu\n", nj);
		acme_buf_printf(b,
		    "anvil_validation_queue_oldest_seconds %lld\n",
		    nj > 0 && now > jobs[0].not_before ?
			(long long)(now - jobs[0].not_before) :
			0LL);
	}
	acme_problem_release(&prob);

	head(b, "anvil_crl_age_seconds", "gauge",
	    "Seconds since the newest CRL's thisUpdate (absent: none made).");
	head(b, "anvil_crl_number", "gauge", "cRLNumber of the newest CRL.");
	memset(&crl, 0, sizeof(crl));
	if (store_crl_latest(st, &crl, &prob) == 0) {
		acme_buf_printf(b, "anvil_crl_age_seconds %lld\n",
		    (long long)(now - crl.this_update));
		acme_buf_printf(b, "anvil_crl_number %lld\n",
		    (long long)crl.number);
		store_crl_release(&crl);
	}
	acme_problem_release(&prob);
}

int
metrics_render(struct srv *srv, struct acme_buf *b)
{
	struct metrics *m = srv->metrics;
	char labels[LABELS_MAX];
	size_t r, c, t;

	head(b, "anvil_build_info", "gauge", "Version of anvil-ca.");
	acme_buf_printf(b, "anvil_build_info{version=\"%s\"} 1\n",
	    ANVIL_VERSION);
	head(b, "anvil_start_time_seconds", "gauge",
	    "When this process started, seconds since the epoch.");
	acme_buf_printf(b, "anvil_start_time_seconds %lld\n",
	    (long long)m->started);

	head(b, "anvil_http_requests_total", "counter",
	    "HTTP requests answered, by route and status code.");
	for (r = 0; r < NROUTE; r++)
		for (c = 0; c < NCODE; c++) {
			uint64_t v = get(&m->requests[r][c]);

			if (v == 0)
				continue;
			if (codes[c] != 0)
				acme_buf_printf(b,
				    "anvil_http_requests_total{route=\"%s\","
				    "code=\"%d\"} %llu\n",
				    routes[r].name, codes[c],
				    (unsigned long long)v);
			else
				acme_buf_printf(b,
				    "anvil_http_requests_total{route=\"%s\","
				    "code=\"other\"} %llu\n",
				    routes[r].name, (unsigned long long)v);
		}
	head(b, "anvil_http_request_duration_seconds", "histogram",
	    "Time from a request's first byte to its reply, by route.");
	for (r = 0; r < NROUTE; r++) {
		snprintf(labels, sizeof(labels), "route=\"%s\"",
		    routes[r].name);
		hist_out(b, "anvil_http_request_duration_seconds", labels,
		    &m->latency[r], req_bounds, NREQB - 1);
	}
	head(b, "anvil_problems_total", "counter",
	    "Problem documents sent, by type.");
	for (t = 1; t < ACME_PROB__COUNT; t++)
		if (get(&m->problems[t]) > 0)
			acme_buf_printf(b,
			    "anvil_problems_total{type=\"%s\"} %llu\n",
			    acme_problem_type_name((enum acme_prob_type)t),
			    (unsigned long long)get(&m->problems[t]));
	head(b, "anvil_ratelimit_refusals_total", "counter",
	    "Requests refused with rateLimited.");
	acme_buf_printf(b, "anvil_ratelimit_refusals_total %llu\n",
	    (unsigned long long)get(&m->problems[ACME_PROB_RATE_LIMITED]));

	head(b, "anvil_validations_total", "counter",
	    "Challenge validations finished, by type and result.");
	for (t = 1; t < NCHALL; t++)
		for (c = 0; c < NRESULT; c++)
			acme_buf_printf(b,
			    "anvil_validations_total{type=\"%s\","
			    "result=\"%s\"} %llu\n",
			    store_chall_type_name((enum store_chall_type)t),
			    c ? "valid" : "invalid",
			    (unsigned long long)get(&m->validations[t][c]));
	head(b, "anvil_issuances_total", "counter",
	    "Certificates issued by this process.");
	acme_buf_printf(b, "anvil_issuances_total %llu\n",
	    (unsigned long long)get(&m->issuances));

	head(b, "anvil_db_duration_seconds", "histogram",
	    "Database transaction commits and self-committing writes.");
	for (t = 0; t < NDBOP; t++) {
		snprintf(labels, sizeof(labels), "op=\"%s\"", db_ops[t]);
		hist_out(b, "anvil_db_duration_seconds", labels, &m->db[t],
		    db_bounds, NDBB - 1);
	}
	head(b, "anvil_db_roundtrips_total", "counter",
	    "Statements sent to the database and waited for (PostgreSQL: "
	    "one round trip each; SQLite: run in this process).");
	acme_buf_printf(b, "anvil_db_roundtrips_total %llu\n",
	    (unsigned long long)store_roundtrips(srv->store));
	store_gauges(srv, b);
	return b->len > 0 ? 0 : ACME_ERR_NOMEM;
}
