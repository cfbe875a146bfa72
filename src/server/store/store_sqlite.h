/* SPDX-License-Identifier: ISC */
/* The SQLite back end of the storage interface (see store.h). */
#ifndef ANVIL_STORE_SQLITE_H
#define ANVIL_STORE_SQLITE_H

#include "store.h"

/*
 * Opens (creating if needed) the database at path, in WAL mode with
 * synchronous=FULL so every commit is durable, and applies pending
 * migrations.  Returns a store or NULL with prob set.
 */
struct store *store_sqlite_open(const char *path, struct acme_problem *prob);

#endif
