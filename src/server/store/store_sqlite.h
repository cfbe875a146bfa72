/* SPDX-License-Identifier: ISC */
/* The SQLite back end of the storage interface (see store.h). */
#ifndef ANVIL_STORE_SQLITE_H
#define ANVIL_STORE_SQLITE_H

#include "store.h"

/*
 * Opens (creating if needed) the database at path, in WAL mode, and
 * applies pending migrations.  A write returns once it is on disk
 * (group commit, D22).  Returns a store or NULL with prob set.
 */
struct store *store_sqlite_open(const char *path, struct acme_problem *prob);

/*
 * Creates the database at path, or brings it up, to schema version
 * (not past the newest) and closes it: an older anvil-ca's database,
 * for tests of the migrations after it.  Returns 0 or ACME_ERR_IO
 * with prob set.
 */
int store_sqlite_migrate_to(const char *path, int version,
    struct acme_problem *prob);

/*
 * The SQL of the back end's prepared statement i (0 up; static), or
 * NULL past the last: for tests of the query plans.
 */
const char *store_sqlite_statement(size_t i);

/*
 * For tests of the checkpoint thread (D47): waits, at most timeout_s
 * seconds, until the thread has finished more than after checkpoints on
 * st (a store of store_sqlite_open()); returns how many it has finished.
 * after 0 and timeout_s 0 just reads the count.
 */
unsigned long store_sqlite_checkpoints(struct store *st, unsigned long after,
    int timeout_s);

#endif
