/* SPDX-License-Identifier: ISC */
/*
 * anvil-bench: N concurrent full ACME flows against any directory URL.
 *
 *   anvil-bench --directory URL [--ca-bundle FILE] --concurrency N
 *       (--orders M | --duration S) [--names-per-order K]
 *       [--key-type TYPE] [--http01-port P] [--domain D] [--poll-ms MS]
 *       [--timeout S] [--new-account-per-order | --account-keys DIR]
 *       [--json] [--record FILE]
 *
 * Each worker thread owns one acme_client (one keep-alive connection)
 * and, unless --new-account-per-order, one account made before the clock
 * starts.  Bad arguments: one line and exit 2; a run in which nothing
 * was issued: exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <anvil/err.h>

#include "bench.h"

#include "internal.h"

/* What the workers share while the run lasts. */
struct run {
	const struct bench_opts *opts;
	pthread_barrier_t ready; /* accounts made: the clock starts */
	unsigned long next;      /* orders claimed (atomic) */
	double deadline_ms;      /* --duration: no order starts after */
	int abort;               /* a worker's set-up failed: none starts */
	struct responder *resp;
};

/* The run's clocks, for the reports. */
struct timing {
	double wall_ms;       /* clock start to the last worker's exit */
	double active_ms;     /* clock start to the last issuance */
	double cpu_ms;        /* this process, user + system */
	unsigned long served; /* http-01 answers */
};

/* Issuances per second over the active time: a CA that stops answering
 * (pebble can wedge, see docs/performance.md) does not dilute the rate
 * of what it did issue with the client's time-outs. */
static double
rate(const struct bench_result *r, const struct timing *t)
{
	return t->active_ms > 0 ? (double)r->completed * 1e3 / t->active_ms :
				  0.0;
}

struct thread_arg {
	struct run *run;
	struct bench_worker w;
	int setup_rc;
	struct acme_problem setup_prob;
};

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double
cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static _Noreturn void
bad(const char *what)
{
	fprintf(stderr, "anvil-bench: %s (see anvil-bench(1))\n", what);
	exit(2);
}

static unsigned long
number(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	char msg[160], *end;
	unsigned long v;

	if (s[0] < '0' || s[0] > '9')
		goto fail;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		goto fail;
	return v;
fail:
	snprintf(msg, sizeof(msg),
	    "%s wants a number from %lu to %lu, not \"%.40s\"", opt, lo, hi, s);
	bad(msg);
}

static void
parse(int argc, char **argv, struct bench_opts *o)
{
	enum {
		O_DIR = 256,
		O_BUNDLE,
		O_CONC,
		O_ORDERS,
		O_DURATION,
		O_NAMES,
		O_KEY,
		O_PORT,
		O_DOMAIN,
		O_POLL,
		O_TIMEOUT,
		O_NEWACCT,
		O_ACCTKEYS,
		O_JSON,
		O_RECORD
	};
	static const struct option longs[] = {
		{ "directory", required_argument, NULL, O_DIR },
		{ "ca-bundle", required_argument, NULL, O_BUNDLE },
		{ "concurrency", required_argument, NULL, O_CONC },
		{ "orders", required_argument, NULL, O_ORDERS },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "names-per-order", required_argument, NULL, O_NAMES },
		{ "key-type", required_argument, NULL, O_KEY },
		{ "http01-port", required_argument, NULL, O_PORT },
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "poll-ms", required_argument, NULL, O_POLL },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "new-account-per-order", no_argument, NULL, O_NEWACCT },
		{ "account-keys", required_argument, NULL, O_ACCTKEYS },
		{ "json", no_argument, NULL, O_JSON },
		{ "record", required_argument, NULL, O_RECORD },
		{ NULL, 0, NULL, 0 },
	};
	char msg[160];
	int c;

	memset(o, 0, sizeof(*o));
	o->domain = "bench.example.com";
	o->names = 1;
	o->key_type = ACME_KEY_EC256;
	o->http01_port = 5002; /* pebble's default httpPort */
	o->poll_ms = 10;
	o->timeout = 60;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1)
		switch (c) {
		case O_DIR:
			o->directory = optarg;
			break;
		case O_BUNDLE:
			o->ca_bundle = optarg;
			break;
		case O_CONC:
			o->concurrency = (unsigned)number("--concurrency",
			    optarg, 1, BENCH_MAX_CONCURRENCY);
			break;
		case O_ORDERS:
			o->orders = number("--orders", optarg, 1, 100000000);
			break;
		case O_DURATION:
			o->duration =
			    (unsigned)number("--duration", optarg, 1, 86400);
			break;
		case O_NAMES:
			o->names = (unsigned)number("--names-per-order", optarg,
			    1, BENCH_MAX_NAMES);
			break;
		case O_KEY:
			if ((o->key_type = acme_key_type_from_name(optarg)) ==
			    ACME_KEY_UNKNOWN) {
				snprintf(msg, sizeof(msg),
				    "unknown --key-type \"%.40s\" (ec256, "
				    "ec384, rsa2048, rsa3072, rsa4096, "
				    "ed25519)",
				    optarg);
				bad(msg);
			}
			break;
		case O_PORT:
			o->http01_port =
			    (int)number("--http01-port", optarg, 1, 65535);
			break;
		case O_DOMAIN:
			o->domain = optarg;
			break;
		case O_POLL:
			o->poll_ms =
			    (unsigned)number("--poll-ms", optarg, 1, 10000);
			break;
		case O_TIMEOUT:
			o->timeout =
			    (unsigned)number("--timeout", optarg, 1, 3600);
			break;
		case O_NEWACCT:
			o->new_account_per_order = 1;
			break;
		case O_ACCTKEYS:
			o->account_keys = optarg;
			break;
		case O_JSON:
			o->json = 1;
			break;
		case O_RECORD:
			/* Appended to: a crash test runs several times. */
			if ((o->record = fopen(optarg, "ae")) == NULL) {
				snprintf(msg, sizeof(msg), "--record %.60s: %s",
				    optarg, strerror(errno));
				bad(msg);
			}
			break;
		default:
			snprintf(msg, sizeof(msg),
			    "unknown option or missing "
			    "value: \"%.60s\"",
			    argv[optind - 1]);
			bad(msg);
		}
	if (optind < argc) {
		snprintf(msg, sizeof(msg), "unexpected argument \"%.60s\"",
		    argv[optind]);
		bad(msg);
	}
	if (o->directory == NULL)
		bad("--directory URL is required");
	if (strncmp(o->directory, "https://", 8) != 0)
		bad("--directory must be an https:// URL");
	if (o->concurrency == 0)
		bad("--concurrency N is required");
	if (o->account_keys != NULL && o->new_account_per_order)
		bad("--account-keys and --new-account-per-order exclude each "
		    "other");
	if (o->account_keys != NULL && access(o->account_keys, W_OK) != 0) {
		snprintf(msg, sizeof(msg), "--account-keys %.60s: %s",
		    o->account_keys, strerror(errno));
		bad(msg);
	}
	if ((o->orders == 0) == (o->duration == 0))
		bad("give exactly one of --orders M and --duration S");
	if (o->orders != 0 && o->orders < o->concurrency)
		o->concurrency = (unsigned)o->orders; /* idle workers cost */
}

/* Claims the next order: 1 if this worker should start one. */
static int
claim(struct run *run)
{
	if (run->abort) /* set before the second barrier */
		return 0;
	if (run->opts->orders != 0)
		return __atomic_fetch_add(&run->next, 1, __ATOMIC_RELAXED) <
		       run->opts->orders;
	return now_ms() < run->deadline_ms;
}

static void *
worker(void *arg)
{
	struct thread_arg *ta = arg;
	struct bench_worker *w = &ta->w;
	struct acme_problem prob;

	memset(&ta->setup_prob, 0, sizeof(ta->setup_prob));
	ta->setup_rc = flow_connect(w, &ta->setup_prob);
	if (ta->setup_rc == 0 && !w->opts->new_account_per_order)
		ta->setup_rc = flow_account(w, 0, &ta->setup_prob);
	pthread_barrier_wait(&ta->run->ready);
	/* Let main read the clock (or call the run off) first. */
	pthread_barrier_wait(&ta->run->ready);
	if (ta->setup_rc != 0)
		return NULL;
	while (claim(ta->run)) {
		memset(&prob, 0, sizeof(prob));
		w->seq++;
		if (flow_issue(w, &prob) != 0)
			bench_result_error(&w->res, &prob);
		acme_problem_release(&prob);
	}
	return NULL;
}

static json_t *
pcts(struct bench_samples *s)
{
	return json_pack("{s:f, s:f, s:f, s:I}", "p50",
	    bench_samples_pct(s, 50), "p90", bench_samples_pct(s, 90), "p99",
	    bench_samples_pct(s, 99), "n", (json_int_t)s->n);
}

static int
report_json(const struct bench_opts *o, struct bench_result *r,
    const struct timing *t)
{
	json_t *doc, *steps, *errs, *samples;
	size_t i;
	int rc;

	steps = json_object();
	errs = json_object();
	samples = json_object();
	for (i = 0; i < STEP__COUNT; i++)
		if (i != STEP_TOTAL && r->step[i].n > 0)
			json_object_set_new(steps, bench_step_name(i),
			    pcts(&r->step[i]));
	for (i = 0; i < ACME_PROB__COUNT; i++)
		if (r->by_type[i] != 0) {
			json_object_set_new(errs, acme_problem_type_name(i),
			    json_integer((json_int_t)r->by_type[i]));
			json_object_set_new(samples, acme_problem_type_name(i),
			    json_string(r->first_detail[i]));
		}
	doc = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:f, s:f, s:f, "
			"s:o, s:o, s:f, s:f, s:f, s:I}",
	    "directory", o->directory, "concurrency",
	    (json_int_t)o->concurrency, "names_per_order", (json_int_t)o->names,
	    "completed", (json_int_t)r->completed, "errors",
	    (json_int_t)r->errors, "errors_by_type", errs, "error_examples",
	    samples, "elapsed_s", t->active_ms / 1e3, "wall_s",
	    t->wall_ms / 1e3, "issuances_per_second", rate(r, t), "latency_ms",
	    pcts(&r->step[STEP_TOTAL]), "steps_ms", steps, "jws_per_issuance",
	    r->completed > 0 ? (double)r->jws / (double)r->completed : 0.0,
	    "client_cpu_ms", t->cpu_ms, "client_cpu_ms_per_issuance",
	    r->completed > 0 ? t->cpu_ms / (double)r->completed : 0.0,
	    "http01_served", (json_int_t)t->served);
	if (doc == NULL)
		return ACME_ERR_NOMEM;
	rc = json_dumpf(doc, stdout, JSON_COMPACT) == 0 ? 0 : ACME_ERR_IO;
	fputc('\n', stdout);
	json_decref(doc);
	return rc;
}

static void
report_text(const struct bench_opts *o, struct bench_result *r,
    const struct timing *t)
{
	size_t i;

	printf("anvil-bench: %lu issued, %lu failed in %.2f s: %.1f "
	       "issuances/s at concurrency %u, %u name%s per order\n",
	    r->completed, r->errors, t->active_ms / 1e3, rate(r, t),
	    o->concurrency, o->names, o->names == 1 ? "" : "s");
	printf("%-10s %9s %9s %9s %8s\n", "step (ms)", "p50", "p90", "p99",
	    "n");
	for (i = 0; i < STEP__COUNT; i++)
		if (r->step[i].n > 0)
			printf("%-10s %9.2f %9.2f %9.2f %8zu\n",
			    bench_step_name(i),
			    bench_samples_pct(&r->step[i], 50),
			    bench_samples_pct(&r->step[i], 90),
			    bench_samples_pct(&r->step[i], 99), r->step[i].n);
	if (r->completed > 0)
		printf("JWS requests per issuance: %.2f\n",
		    (double)r->jws / (double)r->completed);
	printf("client CPU: %.0f ms (%.2f ms per issuance)\n", t->cpu_ms,
	    r->completed > 0 ? t->cpu_ms / (double)r->completed : 0.0);
	if (t->wall_ms > t->active_ms + 1000)
		printf("the last issuance ended %.1f s before the run did\n",
		    (t->wall_ms - t->active_ms) / 1e3);
	for (i = 0; i < ACME_PROB__COUNT; i++)
		if (r->by_type[i] != 0)
			printf("error %s: %lu (e.g. %s)\n",
			    acme_problem_type_name(i), r->by_type[i],
			    r->first_detail[i]);
}

int
main(int argc, char **argv)
{
	struct bench_opts o;
	struct run run;
	struct thread_arg *ta = NULL;
	pthread_t *tids = NULL;
	struct bench_result total;
	struct acme_problem prob = { 0 };
	struct timing tm;
	double t0;
	unsigned i, started = 0, ready = 0;
	int rc = 1;

	parse(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	/* Global set-up that is not safe to race from the workers. */
	json_object_seed(0);
	memset(&total, 0, sizeof(total));
	memset(&run, 0, sizeof(run));
	run.opts = &o;
	if ((run.resp = responder_open(o.http01_port, o.concurrency, &prob)) ==
	    NULL) {
		fprintf(stderr, "anvil-bench: %s\n", prob.detail);
		goto out;
	}
	ta = calloc(o.concurrency, sizeof(*ta));
	tids = calloc(o.concurrency, sizeof(*tids));
	if (ta == NULL || tids == NULL) {
		fprintf(stderr, "anvil-bench: out of memory\n");
		goto out;
	}
	pthread_barrier_init(&run.ready, NULL, o.concurrency + 1);
	for (i = 0; i < o.concurrency; i++) {
		ta[i].run = &run;
		ta[i].w.id = i;
		ta[i].w.opts = &o;
		ta[i].w.resp = run.resp;
		if (pthread_create(&tids[i], NULL, worker, &ta[i]) != 0)
			break;
	}
	started = i;
	if (started < o.concurrency) {
		/* The barrier counts on every thread: stop here. */
		fprintf(stderr, "anvil-bench: cannot start %u threads\n",
		    o.concurrency);
		exit(1);
	}
	pthread_barrier_wait(&run.ready);
	for (i = 0; i < started; i++)
		if (ta[i].setup_rc == 0)
			ready++;
	if (ready < started) {
		/* Every worker must start or the run measures fewer. */
		for (i = 0; i < started; i++)
			if (ta[i].setup_rc != 0) {
				fprintf(stderr,
				    "anvil-bench: account set-up: %s\n",
				    ta[i].setup_prob.detail);
				break;
			}
		/* Let the others go and end too, so every thread's OpenSSL
		 * state is freed before the process exits. */
		run.abort = 1;
	}
	memset(&tm, 0, sizeof(tm));
	tm.cpu_ms = cpu_ms();
	t0 = now_ms();
	run.deadline_ms = t0 + (double)o.duration * 1e3;
	pthread_barrier_wait(&run.ready);
	for (i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	if (run.abort) {
		rc = 1;
		pthread_barrier_destroy(&run.ready);
		goto out;
	}
	tm.wall_ms = now_ms() - t0;
	tm.cpu_ms = cpu_ms() - tm.cpu_ms;
	tm.served = responder_served(run.resp);
	for (i = 0; i < started; i++)
		if (bench_result_merge(&total, &ta[i].w.res) != 0) {
			fprintf(stderr, "anvil-bench: out of memory\n");
			goto out;
		}
	tm.active_ms =
	    total.completed > 0 ? total.last_done_ms - t0 : tm.wall_ms;
	if (o.json)
		report_json(&o, &total, &tm);
	else
		report_text(&o, &total, &tm);
	if (total.completed == 0)
		fprintf(stderr, "anvil-bench: nothing was issued\n");
	rc = total.completed > 0 ? 0 : 1;
	pthread_barrier_destroy(&run.ready);
out:
	for (i = 0; ta != NULL && i < started; i++)
		flow_release(&ta[i].w);
	free(ta);
	free(tids);
	bench_result_release(&total);
	responder_close(run.resp);
	acme_problem_release(&prob);
	if (o.record != NULL)
		fclose(o.record);
	return rc;
}
