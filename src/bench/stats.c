/* SPDX-License-Identifier: ISC */
/*
 * Latency samples and error counts.  Each worker keeps its own, so the
 * hot path takes no lock; main merges them once the run is over and
 * sorts each step's samples for the percentiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>

#include "bench.h"

#include "internal.h"

static const char *const step_names[STEP__COUNT] = {
	[STEP_ACCOUNT] = "account",
	[STEP_NEW_ORDER] = "new_order",
	[STEP_AUTHZ] = "authz",
	[STEP_CHALLENGE] = "challenge",
	[STEP_FINALIZE] = "finalize",
	[STEP_DOWNLOAD] = "download",
	[STEP_TOTAL] = "total",
};

const char *
bench_step_name(enum bench_step s)
{
	return s < STEP__COUNT ? step_names[s] : "?";
}

int
bench_samples_add(struct bench_samples *s, double ms)
{
	if (s->n == s->cap) {
		size_t cap = s->cap != 0 ? s->cap * 2 : 256;
		double *v = realloc(s->v, cap * sizeof(*v));

		if (v == NULL)
			return ACME_ERR_NOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = ms;
	return 0;
}

int
bench_samples_merge(struct bench_samples *to, const struct bench_samples *from)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		if (bench_samples_add(to, from->v[i]) != 0)
			return ACME_ERR_NOMEM;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
bench_samples_pct(struct bench_samples *s, double p)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(*s->v), cmp_double);
	/* Nearest rank: the smallest sample with p % at or below it. */
	rank = (size_t)((p / 100.0) * (double)s->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

void
bench_samples_release(struct bench_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

void
bench_result_error(struct bench_result *r, const struct acme_problem *p)
{
	enum acme_prob_type t =
	    p->type < ACME_PROB__COUNT ? p->type : ACME_PROB_OTHER;

	r->errors++;
	if (r->by_type[t]++ == 0)
		snprintf(r->first_detail[t], sizeof(r->first_detail[t]),
		    "%.159s", p->detail);
}

int
bench_result_merge(struct bench_result *to, const struct bench_result *from)
{
	size_t i;

	to->completed += from->completed;
	to->errors += from->errors;
	to->jws += from->jws;
	if (from->last_done_ms > to->last_done_ms)
		to->last_done_ms = from->last_done_ms;
	for (i = 0; i < ACME_PROB__COUNT; i++) {
		if (to->by_type[i] == 0 && from->by_type[i] != 0)
			memcpy(to->first_detail[i], from->first_detail[i],
			    sizeof(to->first_detail[i]));
		to->by_type[i] += from->by_type[i];
	}
	for (i = 0; i < STEP__COUNT; i++)
		if (bench_samples_merge(&to->step[i], &from->step[i]) != 0)
			return ACME_ERR_NOMEM;
	return 0;
}

void
bench_result_release(struct bench_result *r)
{
	size_t i;

	for (i = 0; i < STEP__COUNT; i++)
		bench_samples_release(&r->step[i]);
}
