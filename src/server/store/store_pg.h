/* SPDX-License-Identifier: ISC */
/* The PostgreSQL back end of the storage interface (see store.h, D65). */
#ifndef ANVIL_STORE_PG_H
#define ANVIL_STORE_PG_H

#include "store.h"

/*
 * Opens a pool of up to pool connections (opened as threads need them)
 * to the database named by url, a libpq connection URI
 * ("postgresql://USER@HOST:PORT/DB" or "postgres://...").  With migrate
 * the schema is created or brought to the newest version (in one
 * transaction, under an advisory lock, so instances starting together
 * apply it once); without, a schema other than the newest is refused
 * with one line that says what to run.  Returns a store or NULL with
 * prob set.
 */
struct store *store_pg_open(const char *url, int pool, int migrate,
    struct acme_problem *prob);

#endif
