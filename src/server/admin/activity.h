/* SPDX-License-Identifier: ISC */
/*
 * What the operator page plots and lists (D86): issuances and failures
 * per minute over the last ACTIVITY_MINUTES, failures by problem type
 * since the start, and the last ACTIVITY_VALIDATIONS validations with
 * their errors.  In memory only; fed by the RA (issuances,
 * validations) and the ACME listener (requests answered with a
 * problem).  Safe to call from any thread; every feed is a no-op on a
 * NULL activity (no admin listener).
 */
#ifndef ANVIL_ACTIVITY_H
#define ANVIL_ACTIVITY_H

#include <time.h>

#include <jansson.h>

#define ACTIVITY_MINUTES     60
#define ACTIVITY_VALIDATIONS 50

struct activity;

struct activity *activity_new(time_t now);
void activity_free(struct activity *a);

/* One certificate issued at now. */
void activity_issuance(struct activity *a, time_t now);
/*
 * One failure at now of problem type prob_type (enum acme_prob_type):
 * a request refused, or a validation that failed.
 */
void activity_failure(struct activity *a, time_t now, int prob_type);
/*
 * One validation finished at now: its challenge type and identifier,
 * and for a failure (ok 0) its problem type and detail (borrowed,
 * copied; counted as a failure too).
 */
void activity_validation(struct activity *a, time_t now, const char *type,
    const char *identifier, int ok, int prob_type, const char *detail);

/*
 * New JSON, or NULL when out of memory.  rates: {"now", "minutes",
 * "issued": [...], "failed": [...]}, oldest minute first, the last
 * being now's.  failures: {"since", "types": [{"type", "count"}...]},
 * most first.  validations: [{"time", "type", "identifier", "status",
 * "problem", "detail"}...], newest first.
 */
json_t *activity_rates(struct activity *a, time_t now);
json_t *activity_failures(struct activity *a);
json_t *activity_validations(struct activity *a);

#endif
