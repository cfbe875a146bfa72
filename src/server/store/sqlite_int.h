/* SPDX-License-Identifier: ISC */
/*
 * What the files of the SQLite back end share (sqlite_schema.c,
 * sqlite_conn.c, store_sqlite.c); nothing outside src/server/store/
 * includes it.
 */
#ifndef ANVIL_SQLITE_INT_H
#define ANVIL_SQLITE_INT_H

#include <pthread.h>

#include <sqlite3.h>

#include <anvil/problem.h>

#include "gsync.h"
#include "store.h"

enum stmt {
	S_BEGIN,
	S_BEGIN_READ,
	S_COMMIT,
	S_ROLLBACK,
	S_ACCT_INSERT,
	S_ACCT_GET,
	S_ACCT_BY_THUMB,
	S_ACCT_UPDATE,
	S_ACCT_EXISTS,
	S_ORDER_INSERT,
	S_ORDER_GET,
	S_ORDER_EXISTS,
	S_ORDER_SET_STATUS,
	S_ORDER_UNCLAIM,
	S_ORDER_SEQ,
	S_ORDER_LIST,
	S_ORDER_COUNT_OPEN,
	S_AUTHZ_INSERT,
	S_AUTHZ_GET,
	S_AUTHZ_EXISTS,
	S_AUTHZ_FIND_VALID,
	S_AUTHZ_SET_STATUS,
	S_CHALL_INSERT,
	S_CHALL_BY_AUTHZ,
	S_CHALL_GET,
	S_CHALL_EXISTS,
	S_CHALL_UPDATE,
	S_JOB_ADD,
	S_JOB_DONE,
	S_JOB_LIST,
	S_JOBS_EXPIRED,
	S_JOB_TAKE,
	S_JOB_RELEASE,
	S_LEASE_JOBS,
	S_LEASE_ORDERS,
	S_ORDER_CLAIM,
	S_ORDER_CLAIM_END,
	S_CERT_INSERT,
	S_CERT_GET,
	S_CERT_BY_SERIAL,
	S_CERT_EXISTS,
	S_CERT_REVOKE,
	S_CERT_WINDOW,
	S_CERT_WINDOW_ALL,
	S_ORDER_REPLACING,
	S_ORDER_FIRST_REPLACING,
	S_REVOCATIONS,
	S_CERT_REVOKED,
	S_CRL_LATEST,
	S_CRL_MAX,
	S_CRL_INSERT,
	S_CRL_PRUNE,
	S_RL_GET,
	S_RL_PUT,
	S_RL_PRUNE,
	S_EAB_INSERT,
	S_EAB_GET,
	S_EAB_EXISTS,
	S_EAB_BIND,
	S_EAB_LIST,
	S_EAB_REMOVE,
	S_ACCT_PAUSE,
	S_CERT_FIND,
	S_BLOCK_ADD,
	S_BLOCK_MATCH,
	S_ACCT_UNPAUSE,
	S_BLOCK_EXISTS,
	S_BLOCK_REMOVE,
	S_BLOCK_LIST,
	S_AUDIT_ADD,
	S_AUDIT_PENDING,
	S_AUDIT_DONE,
	S__COUNT
};

/* One thread's connection and its statement cache. */
struct conn {
	sqlite3 *db;
	sqlite3_stmt *st[S__COUNT]; /* prepared on first use */
};

struct sq {
	struct store base; /* first: a struct store * is a struct sq * */
	char *path;
	/*
	 * One connection for the whole process (D33), used by one thread
	 * at a time: lock is held for a store operation, or from BEGIN to
	 * COMMIT or ROLLBACK.  A connection's own writes leave its page
	 * cache warm, where every write by one of many connections emptied
	 * the caches of all the others.
	 */
	pthread_mutex_t lock;
	struct conn *conn;
	int unflushed; /* a write under lock that durable() must cover */
	/*
	 * Group commit (see durable()).  keeper stays open for the store's
	 * life so SQLite never deletes the WAL file under walfd.
	 */
	sqlite3 *keeper;
	/*
	 * Checkpoints run on keeper, in their own thread (D47): the
	 * connection's WAL hook asks for one when the WAL holds
	 * CKPT_PAGES pages, instead of SQLite running it inside that
	 * commit, under lock, with its two fsyncs.
	 */
	pthread_t ck_thread;
	pthread_mutex_t ck_lock;
	pthread_cond_t ck_cond;
	int ck_want, ck_stop, ck_started;
	int ck_running;        /* the thread is inside a checkpoint */
	unsigned long ck_done; /* checkpoints finished, signalled on ck_cond */
	struct gsync gs;       /* flushes of the WAL */
	int walfd;             /* the WAL, for fdatasync; -1 until opened */
};

/* sqlite_schema.c */

/* The SQL of each statement, indexed by enum stmt. */
extern const char *const sq_sql[S__COUNT];
/* The schema version the migrations lead to. */
extern const int sq_schema_newest;
/*
 * Applies the pending migrations up to schema version target in one
 * IMMEDIATE transaction; ACME_ERR_IO with prob set on failure.
 */
int sq_migrate(sqlite3 *db, int target, struct acme_problem *prob);

/* sqlite_conn.c */

/* Fills prob with SQLite's message for db; returns ACME_ERR_IO. */
int sq_db_fail(sqlite3 *db, const char *what, struct acme_problem *prob);
/* Fills prob with "out of memory"; returns ACME_ERR_NOMEM. */
int sq_oom(struct acme_problem *prob);
/*
 * sq_enter() takes the connection for a store operation (nesting inside
 * a transaction); sq_leave() ends levels of it and, when the lock goes,
 * flushes a write made under it.  Returns rc, or the flush's error.
 */
void sq_enter(struct sq *s);
int sq_leave(struct sq *s, int levels, int rc, struct acme_problem *prob);
/*
 * Statement id, reset and bound from types ('s' text or NULL, 'i' long
 * long, 'b' pointer and size_t length); NULL with prob set.
 */
sqlite3_stmt *sq_prep(struct store *st, enum stmt id, struct acme_problem *prob,
    const char *types, ...);
/* Runs write statement q; 0, ACME_ERR_EXISTS or ACME_ERR_IO. */
int sq_run(struct store *st, sqlite3_stmt *q, struct acme_problem *prob);
/* One read transaction around several statements; see sqlite_conn.c. */
int sq_read_begin(struct store *st);
void sq_read_end(struct store *st, int began);
/* The transaction ops of store.h. */
int sq_begin(struct store *st, struct acme_problem *prob);
int sq_commit(struct store *st, struct acme_problem *prob);
void sq_rollback(struct store *st);
void sq_close(struct store *st);

/* store_sqlite.c */

extern const struct store_ops sq_ops;

#endif
