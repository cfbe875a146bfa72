/* SPDX-License-Identifier: ISC */
/*
 * The audit log: an append-only file of JSON lines, one per validation
 * attempt, issuance and revocation (decision D44).  A line is recorded
 * in the database in the same transaction as the change it describes
 * (the audit outbox), so no change is ever on disk without its record;
 * a copier thread then appends recorded lines to the file, in order,
 * and flushes them in batches, at most AUDIT_BATCH_MS after the commit.
 * Lines a crash left in the outbox are copied at the next start, and
 * lines the file already ends with are not copied twice.
 */
#ifndef ANVIL_AUDIT_H
#define ANVIL_AUDIT_H

#include <jansson.h>

#include <anvil/problem.h>

#include "store/store.h"

/* The copier's pause after a batch: more lines share one flush. */
#define AUDIT_BATCH_MS 20

struct audit;

/*
 * Opens path for appending (0600, created if missing), copies the lines
 * st's outbox still holds, and starts the copier.  st must outlive it.
 */
struct audit *audit_open(const char *path, struct store *st,
    struct acme_problem *prob);

/* Copies what is still recorded, then stops the copier and closes. */
void audit_close(struct audit *a);

/*
 * Records event (borrowed) with "time" and "event" members added, as
 * one line in the outbox: call it inside the transaction of the change
 * it records, and audit_kick() once that has committed.  Returns 0 (also
 * when a is NULL: no audit log) or a negative error with prob set.
 */
int audit_record(struct audit *a, const char *kind, json_t *event,
    struct acme_problem *prob);

/*
 * Makes the copier open the file anew by its path before it writes
 * again, for logrotate's rename-then-SIGHUP (D79).  Thread-safe.
 */
void audit_reopen(struct audit *a);

/* Wakes the copier for lines just committed.  Thread-safe. */
void audit_kick(struct audit *a);

#endif
