/* SPDX-License-Identifier: ISC */
/*
 * What serve checks about its database before opening it (decision
 * D71): a SQLite file must exist (only init and migrate create one) and
 * no other process may serve it.
 */
#ifndef ANVIL_DBGUARD_H
#define ANVIL_DBGUARD_H

#include <anvil/problem.h>

/*
 * For a SQLite url ("sqlite:PATH" or a bare path): fails when PATH does
 * not exist, or when another process holds its lock; otherwise takes an
 * exclusive flock(2) on PATH and returns its descriptor in *fd, which the
 * caller keeps open while it serves and closes only after the store is
 * closed (closing it earlier would drop SQLite's POSIX locks).  For other
 * back ends (PostgreSQL, which several CAs may share) *fd is -1.
 */
int dbguard_take(const char *url, int *fd, struct acme_problem *prob);

/* dbguard_take's first check alone: 0 unless a SQLite url's file is
 * missing (or cannot be opened). */
int dbguard_exists(const char *url, struct acme_problem *prob);

#endif
