/* SPDX-License-Identifier: ISC */
/*
 * The audit log: an append-only file of JSON lines, one per validation
 * attempt, issuance and revocation, each written with one write(2) and
 * fsync'd before the call returns, so an event the CA acted on is on
 * disk.
 */
#ifndef ANVIL_AUDIT_H
#define ANVIL_AUDIT_H

#include <jansson.h>

#include <anvil/problem.h>

struct audit;

/* Opens path for appending (0600, created if missing). */
struct audit *audit_open(const char *path, struct acme_problem *prob);
void audit_close(struct audit *a);

/*
 * Appends event (borrowed) with a "time" member added, as one line.
 * Returns 0 or a negative error.  Thread-safe.
 */
int audit_write(struct audit *a, const char *kind, json_t *event);

#endif
