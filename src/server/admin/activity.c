/* SPDX-License-Identifier: ISC */
/*
 * The operator page's counters (see activity.h, D86): a ring of
 * per-minute slots, each stamped with its minute so that a slot left
 * from an hour ago reads as zero, and a ring of validations.  One lock;
 * every feed is a few stores under it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/problem.h>

#include "activity.h"
#include "../srvlimits.h"

#include "internal.h"

/* Bytes kept of a validation's identifier and error. */
#define IDENT_MAX  256
#define DETAIL_MAX 600
/* Bytes of a challenge type's name ("tls-alpn-01"). */
#define TYPE_MAX 16
/* Printable ASCII: from the space up to the tilde. */
#define ASCII_FIRST ' '
#define ASCII_LAST  '~'

struct minute {
	long stamp; /* now / 60 of the counts, 0: none yet */
	unsigned long issued;
	unsigned long failed;
};

struct validation {
	time_t when; /* 0: a free slot */
	char type[TYPE_MAX];
	char identifier[IDENT_MAX];
	int ok;
	int prob_type;
	char detail[DETAIL_MAX];
};

struct activity {
	pthread_mutex_t mu;
	time_t since;
	struct minute minutes[ACTIVITY_MINUTES];
	unsigned long failures[ACME_PROB__COUNT];
	struct validation validations[ACTIVITY_VALIDATIONS];
	size_t next; /* the slot the next validation takes */
};

struct activity *
activity_new(time_t now)
{
	struct activity *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	pthread_mutex_init(&a->mu, NULL);
	a->since = now;
	return a;
}

void
activity_free(struct activity *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->mu);
	free(a);
}

/* now's slot, emptied when it held an older minute.  Under the lock. */
static struct minute *
minute_of(struct activity *a, time_t now)
{
	long stamp = (long)(now / MINUTE_SECS);
	struct minute *m = &a->minutes[stamp % ACTIVITY_MINUTES];

	if (m->stamp != stamp) {
		memset(m, 0, sizeof(*m));
		m->stamp = stamp;
	}
	return m;
}

void
activity_issuance(struct activity *a, time_t now)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	minute_of(a, now)->issued++;
	pthread_mutex_unlock(&a->mu);
}

/* Under the lock. */
static void
count_failure(struct activity *a, time_t now, int prob_type)
{
	minute_of(a, now)->failed++;
	if (prob_type > 0 && prob_type < ACME_PROB__COUNT)
		a->failures[prob_type]++;
}

void
activity_failure(struct activity *a, time_t now, int prob_type)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	count_failure(a, now, prob_type);
	pthread_mutex_unlock(&a->mu);
}

/*
 * Copies src into dst (size bytes), cut to fit, every byte outside
 * printable ASCII as '?': an error may quote what a requester's server
 * answered, and JSON wants UTF-8.
 */
static void
copy_text(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		dst[i] = src[i] >= ASCII_FIRST && src[i] <= ASCII_LAST ?
			     src[i] :
			     '?';
	dst[i] = '\0';
}

void
activity_validation(struct activity *a, time_t now, const char *type,
    const char *identifier, int ok, int prob_type, const char *detail)
{
	struct validation *v;

	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	v = &a->validations[a->next];
	a->next = (a->next + 1) % ACTIVITY_VALIDATIONS;
	v->when = now;
	copy_text(v->type, sizeof(v->type), type);
	copy_text(v->identifier, sizeof(v->identifier), identifier);
	v->ok = ok;
	v->prob_type = ok ? 0 : prob_type;
	copy_text(v->detail, sizeof(v->detail),
	    !ok && detail != NULL ? detail : "");
	if (!ok)
		count_failure(a, now, prob_type);
	pthread_mutex_unlock(&a->mu);
}

json_t *
activity_rates(struct activity *a, time_t now)
{
	json_t *issued = json_array(), *failed = json_array();
	long stamp = (long)(now / MINUTE_SECS), s;

	if (issued == NULL || failed == NULL) {
		json_decref(issued);
		json_decref(failed);
		return NULL;
	}
	pthread_mutex_lock(&a->mu);
	for (s = stamp - ACTIVITY_MINUTES + 1; s <= stamp; s++) {
		const struct minute *m = &a->minutes[s % ACTIVITY_MINUTES];
		int live = m->stamp == s;

		json_array_append_new(issued,
		    json_integer(live ? (json_int_t)m->issued : 0));
		json_array_append_new(failed,
		    json_integer(live ? (json_int_t)m->failed : 0));
	}
	pthread_mutex_unlock(&a->mu);
	return json_pack("{s:I, s:i, s:o, s:o}", "now", (json_int_t)now,
	    "minutes", ACTIVITY_MINUTES, "issued", issued, "failed", failed);
}

json_t *
activity_failures(struct activity *a)
{
	unsigned long counts[ACME_PROB__COUNT];
	json_t *types = json_array();
	int t, best;

	if (types == NULL)
		return NULL;
	pthread_mutex_lock(&a->mu);
	memcpy(counts, a->failures, sizeof(counts));
	pthread_mutex_unlock(&a->mu);
	/* Most first: a handful of types, a selection is enough. */
	for (;;) {
		best = 0;
		for (t = 1; t < ACME_PROB__COUNT; t++)
			if (counts[t] > counts[best])
				best = t;
		if (best == 0 || counts[best] == 0)
			break;
		json_array_append_new(types,
		    json_pack("{s:s, s:I}", "type",
			acme_problem_type_name((enum acme_prob_type)best),
			"count", (json_int_t)counts[best]));
		counts[best] = 0;
	}
	return json_pack("{s:I, s:o}", "since", (json_int_t)a->since, "types",
	    types);
}

json_t *
activity_validations(struct activity *a)
{
	json_t *out = json_array();
	size_t i;

	if (out == NULL)
		return NULL;
	pthread_mutex_lock(&a->mu);
	for (i = 1; i <= ACTIVITY_VALIDATIONS; i++) {
		const struct validation *v =
		    &a->validations[(a->next + ACTIVITY_VALIDATIONS - i) %
				    ACTIVITY_VALIDATIONS];

		if (v->when == 0)
			break;
		json_array_append_new(out,
		    json_pack("{s:I, s:s, s:s, s:s, s:s, s:s}", "time",
			(json_int_t)v->when, "type", v->type, "identifier",
			v->identifier, "status", v->ok ? "valid" : "invalid",
			"problem",
			v->ok ? "" :
				acme_problem_type_name(
				    (enum acme_prob_type)v->prob_type),
			"detail", v->detail));
	}
	pthread_mutex_unlock(&a->mu);
	return out;
}
