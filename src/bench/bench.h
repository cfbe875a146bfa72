/* SPDX-License-Identifier: ISC */
/*
 * anvil-bench's pieces: the options, one worker's state, the latency
 * samples of the flow's steps, the shared http-01 responder and the
 * issuance flow itself.  main.c wires them; every function here returns
 * 0 or a negative enum acme_err and fills a struct acme_problem.
 */
#ifndef ANVIL_BENCH_H
#define ANVIL_BENCH_H

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include <anvil/client.h>
#include <anvil/key.h>
#include <anvil/problem.h>

#define BENCH_MAX_CONCURRENCY 4096
#define BENCH_MAX_NAMES       100 /* ACME_CSR_MAX_IDENTS */
#define BENCH_THUMB_MAX       64  /* base64url SHA-256 is 43 characters */

/* The steps of one issuance whose latency is reported. */
enum bench_step {
	STEP_ACCOUNT = 0, /* only with --new-account-per-order */
	STEP_NEW_ORDER,
	STEP_AUTHZ,     /* POST-as-GET of every authorization */
	STEP_CHALLENGE, /* challenge POSTs until every authz is valid */
	STEP_FINALIZE,  /* finalize until the order is valid */
	STEP_DOWNLOAD,
	STEP_TOTAL, /* the whole flow, key and CSR included */
	STEP__COUNT
};

const char *bench_step_name(enum bench_step s);

struct bench_opts {
	const char *directory;
	const char *ca_bundle;       /* NULL: the system's trust store */
	const char *domain;          /* names are RANDOM.wN.domain */
	unsigned concurrency;        /* worker threads */
	unsigned long orders;        /* 0: run for duration seconds */
	unsigned duration;           /* seconds; 0 with orders */
	unsigned names;              /* identifiers per order */
	enum acme_key_type key_type; /* certificate key */
	int http01_port;
	unsigned poll_ms; /* first poll wait, doubling */
	unsigned timeout; /* seconds per poll loop */
	int new_account_per_order;
	const char *account_keys; /* directory of kept account keys, or NULL */
	int json;
	FILE *record; /* --record: one serial per certificate received */
};

/* Growable array of milliseconds. */
struct bench_samples {
	double *v;
	size_t n, cap;
};

int bench_samples_add(struct bench_samples *s, double ms);
/* Appends all of from to to; from is left as it was. */
int bench_samples_merge(struct bench_samples *to,
    const struct bench_samples *from);
/* Nearest-rank percentile (0 < p <= 100) after sorting; 0 when empty. */
double bench_samples_pct(struct bench_samples *s, double p);
void bench_samples_release(struct bench_samples *s);

/* What one worker measured; main adds them up at the end. */
struct bench_result {
	unsigned long completed;
	unsigned long errors;
	unsigned long by_type[ACME_PROB__COUNT];
	char first_detail[ACME_PROB__COUNT][160]; /* one example per type */
	unsigned long jws;                        /* signed requests sent */
	double last_done_ms; /* CLOCK_MONOTONIC of the last issuance */
	struct bench_samples step[STEP__COUNT];
};

void bench_result_error(struct bench_result *r, const struct acme_problem *p);
int bench_result_merge(struct bench_result *to,
    const struct bench_result *from);
void bench_result_release(struct bench_result *r);

/*
 * The http-01 responder: one listener on port, a few threads accepting
 * on it.  It keeps no token table: a name is RANDOM.wN.domain, so the
 * Host header says which worker's account is being validated, and the
 * answer is token "." that worker's thumbprint.  A CA asking for any
 * other token gets an answer that cannot match what it expects.
 */
struct responder;

struct responder *responder_open(int port, unsigned workers,
    struct acme_problem *prob);
/* Sets the thumbprint answered for worker w's names (copied). */
void responder_set_thumb(struct responder *r, unsigned w, const char *thumb);
/* Requests answered 200 so far. */
unsigned long responder_served(struct responder *r);
void responder_close(struct responder *r);

/* One worker: its connection, its account, its share of the run. */
struct bench_worker {
	unsigned id;
	const struct bench_opts *opts;
	struct responder *resp;
	struct acme_signer signer; /* counts, then signs with key */
	struct acme_signer inner;
	EVP_PKEY *key; /* account key */
	struct acme_client *client;
	unsigned long seq; /* orders started by this worker */
	struct bench_result res;
};

/*
 * Makes w's account key, connection and account (the account step is
 * timed into w->res when timed is nonzero).  Returns 0 or an error.
 */
int flow_account(struct bench_worker *w, int timed, struct acme_problem *prob);
/* Connects w to the CA and fetches the directory. */
int flow_connect(struct bench_worker *w, struct acme_problem *prob);
/* One full issuance; step latencies go into w->res on success. */
int flow_issue(struct bench_worker *w, struct acme_problem *prob);
void flow_release(struct bench_worker *w);
/*
 * Appends the serial of the leaf at the head of pem (lowercase hex, as
 * the CA stores it) to f as one line, flushed: the list of certificates
 * the run received, for crash tests that compare it with the CA's
 * database.  Safe to call from every worker.  Returns 0 or an error.
 */
int flow_record(FILE *f, const char *pem, size_t len,
    struct acme_problem *prob);

#endif
