/* SPDX-License-Identifier: ISC */
/*
 * The PostgreSQL back end of the storage interface (see store.h, D65).
 *
 * A pool of libpq connections, opened as threads first need them, up to
 * the configured size; a thread that wants one while all are busy waits
 * for one to come back.  A thread keeps the connection it took from
 * begin to commit or rollback (and across the store operations called
 * in between), so a transaction is on one connection.  Statements are
 * prepared once per connection, on first use, and every value goes in
 * as a parameter (text, or binary for bytea).  Every commit is durable
 * when it returns (synchronous_commit as the server has it, on by
 * default); the relaxed writes of store.h are plain writes here.
 *
 * Unique conflicts never abort a caller's transaction: inserts say ON
 * CONFLICT DO NOTHING and count the rows they wrote, and the one update
 * that may conflict (a key change) runs inside a savepoint when a
 * transaction is open.  Schema versions are rows of schema_version,
 * numbered on their own (not SQLite's user_version numbers).
 */
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/rand.h>

#include <anvil/err.h>
#include <anvil/json.h>

#include "store.h"
#include "store_pg.h"
#include "store_rows.h"
#include "../policy/ratelimit.h"

#include "internal.h"

/* Bytes of libpq's error message kept in a problem's detail. */
#define PG_MSG_MAX 512
/* Digits of an int64 in decimal (19 and a sign), and its text with NUL. */
#define INT_DIGITS_MAX 20
#define INT_TEXT_MAX   24
/* Bytes of a prepared statement's name ("s" and its number). */
#define STMT_NAME_MAX 16
/* Bytes of one migration's bookkeeping statement. */
#define MIGRATE_Q_MAX 96

/*
 * Numbered migrations; entry i brings the schema to version i + 1.
 * migrate() records the number.  Never edit an entry that has shipped;
 * append a new one.  Text keys that are sorted on are COLLATE "C", so
 * the order is the bytes' order whatever the database's locale (as in
 * SQLite).  Statuses are the numbers of enum store_status.
 */
static const char *const migrations[] = {
	"CREATE TABLE accounts ("
	" id text PRIMARY KEY, status integer NOT NULL,"
	" thumbprint text NOT NULL UNIQUE, jwk text NOT NULL, contact text,"
	" tos_agreed integer NOT NULL, eab text, eab_kid text NOT NULL,"
	" created bigint NOT NULL);"
	"CREATE TABLE orders ("
	" seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE,"
	" account_id text NOT NULL, status integer NOT NULL,"
	" expires bigint NOT NULL, not_before bigint NOT NULL,"
	" not_after bigint NOT NULL, created bigint NOT NULL,"
	" identifiers text NOT NULL, authz_ids text NOT NULL, error text,"
	" cert_id text NOT NULL, profile text NOT NULL,"
	" replaces text NOT NULL);"
	"CREATE INDEX orders_by_account ON orders (account_id, seq);"
	"CREATE UNIQUE INDEX orders_replacing ON orders (replaces)"
	" WHERE replaces <> '' AND status <> 5;"
	"CREATE INDEX orders_replaced ON orders (replaces, seq)"
	" WHERE replaces <> '';"
	"CREATE INDEX orders_open ON orders (profile, expires)"
	" WHERE status < 4;"
	"CREATE INDEX orders_processing ON orders (id) WHERE status = 2;"
	"CREATE TABLE authzs ("
	" seq bigserial PRIMARY KEY, id text NOT NULL UNIQUE,"
	" account_id text NOT NULL, ident_type integer NOT NULL,"
	" ident_value text NOT NULL, wildcard integer NOT NULL,"
	" status integer NOT NULL, expires bigint NOT NULL,"
	" created bigint NOT NULL);"
	"CREATE INDEX authzs_valid ON authzs"
	" (account_id, ident_type, ident_value, wildcard, expires)"
	" WHERE status = 4;"
	"CREATE TABLE challs ("
	" id text COLLATE \"C\" PRIMARY KEY, authz_id text NOT NULL,"
	" type integer NOT NULL, status integer NOT NULL,"
	" token text NOT NULL, validated bigint NOT NULL, error text,"
	" attempts integer NOT NULL);"
	"CREATE INDEX challs_by_authz ON challs (authz_id);"
	"CREATE TABLE jobs ("
	" chall_id text COLLATE \"C\" PRIMARY KEY,"
	" not_before bigint NOT NULL);"
	"CREATE INDEX jobs_by_time ON jobs (not_before, chall_id);"
	"CREATE TABLE certs ("
	" id text PRIMARY KEY, serial text COLLATE \"C\" NOT NULL UNIQUE,"
	" account_id text NOT NULL, order_id text NOT NULL,"
	" chain_pem text NOT NULL, alt_chain_pem text,"
	" not_before bigint NOT NULL, not_after bigint NOT NULL,"
	" revoked_at bigint NOT NULL, reason integer NOT NULL,"
	" ari_start bigint NOT NULL DEFAULT 0,"
	" ari_end bigint NOT NULL DEFAULT 0, ari_explanation text,"
	" profile text NOT NULL DEFAULT '');"
	"CREATE INDEX certs_revoked ON certs (serial) WHERE revoked_at <> 0;"
	"CREATE TABLE eab ("
	" kid text PRIMARY KEY, key bytea NOT NULL, account_id text NOT NULL,"
	" created bigint NOT NULL);"
	"CREATE TABLE audit_outbox (seq bigserial PRIMARY KEY,"
	" line text NOT NULL);"
	"CREATE TABLE crls (number bigint PRIMARY KEY,"
	" this_update bigint NOT NULL, next_update bigint NOT NULL,"
	" revocations bigint NOT NULL, der bytea NOT NULL);"
	"CREATE TABLE ratelimits (key text PRIMARY KEY, tat bigint NOT NULL);"
	"CREATE INDEX ratelimits_by_tat ON ratelimits (tat);",
	/* 2: nonces every instance accepts once (D77). */
	"CREATE TABLE nonce_key (id integer PRIMARY KEY CHECK (id = 1),"
	" key bytea NOT NULL);"
	"CREATE TABLE nonces_spent (nonce bytea PRIMARY KEY,"
	" expires bigint NOT NULL);"
	"CREATE INDEX nonces_spent_by_expires ON nonces_spent (expires);",
	/* 3: the operator's actions (D74), as SQLite's 9. */
	"ALTER TABLE accounts ADD COLUMN paused bigint NOT NULL DEFAULT 0;"
	"CREATE TABLE blocked_names (name text COLLATE \"C\" PRIMARY KEY,"
	" created bigint NOT NULL);",
	/* 4: leases (D80, D81), as SQLite's 10. */
	"ALTER TABLE jobs ADD COLUMN owner text NOT NULL DEFAULT '',"
	" ADD COLUMN lease_until bigint NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN claim_owner text NOT NULL DEFAULT '',"
	" ADD COLUMN claim_until bigint NOT NULL DEFAULT 0;",
};

#define SCHEMA_NEWEST ((int)ACME_ARRAY_LEN(migrations))

/* The lock every migration takes (any constant: "anvl"). */
#define MIGRATE_LOCK "1634629228"

enum stmt {
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
	S_ORDER_LIST,
	S_ORDER_SEQ,
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
	S_JOB_CLAIM,
	S_JOB_RELEASE,
	S_LEASE_RENEW,
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
	S_RL_LOCK,
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
	S_NONCE_KEY_PUT,
	S_NONCE_KEY_GET,
	S_NONCE_SPEND,
	S_NONCE_PRUNE,
	S__COUNT
};

#define ACCT_COLS                                                              \
	"id, status, thumbprint, jwk, contact, tos_agreed, eab, eab_kid,"      \
	" created"
#define CHALL_COLS                                                             \
	"id, authz_id, type, status, token, validated, error, attempts"
#define CERT_COLS                                                              \
	"id, serial, account_id, order_id, chain_pem, alt_chain_pem,"          \
	" not_before, not_after, revoked_at, reason, ari_start, ari_end,"      \
	" ari_explanation, profile"

static const char *const sql[S__COUNT] = {
	[S_ACCT_INSERT] = "INSERT INTO accounts (" ACCT_COLS ")"
			  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
			  " ON CONFLICT DO NOTHING",
	[S_ACCT_GET] = "SELECT " ACCT_COLS ", paused FROM accounts"
		       " WHERE id = $1",
	[S_ACCT_BY_THUMB] = "SELECT " ACCT_COLS ", paused FROM accounts"
			    " WHERE thumbprint = $1",
	/* D54: only the columns given, and only from the state read. */
	[S_ACCT_UPDATE] = "UPDATE accounts SET"
			  " status = coalesce(nullif($1::integer, 0), status),"
			  " thumbprint = coalesce($2::text, thumbprint),"
			  " jwk = coalesce($3::text, jwk),"
			  " contact = coalesce($4::text, contact)"
			  " WHERE id = $5 AND status = $6 AND thumbprint = $7",
	[S_ACCT_EXISTS] = "SELECT 1 FROM accounts WHERE id = $1",
	[S_ORDER_INSERT] = "INSERT INTO orders (id, account_id, status,"
			   " expires, not_before, not_after, created,"
			   " identifiers, authz_ids, error, cert_id, profile,"
			   " replaces) VALUES ($1, $2, $3, $4, $5, $6, $7,"
			   " $8, $9, $10, $11, $12, $13)"
			   " ON CONFLICT DO NOTHING",
	[S_ORDER_GET] = "SELECT id, account_id, status, expires, not_before,"
			" not_after, created, identifiers, authz_ids, error,"
			" cert_id, profile, replaces FROM orders WHERE id = $1",
	[S_ORDER_EXISTS] = "SELECT 1 FROM orders WHERE id = $1",
	[S_ORDER_SET_STATUS] = "UPDATE orders SET status = $1,"
			       " error = coalesce($2::text, error),"
			       " cert_id = coalesce($3::text, cert_id)"
			       " WHERE id = $4 AND status = $5",
	[S_ORDER_UNCLAIM] = "UPDATE orders SET status = 3 WHERE status = 2"
			    " AND claim_until < $1",
	[S_ORDER_CLAIM] = "UPDATE orders SET status = 2, claim_owner = $1,"
			  " claim_until = $2 WHERE id = $3 AND status = 3",
	[S_ORDER_CLAIM_END] =
	    "UPDATE orders SET status = $1,"
	    " cert_id = coalesce($2::text, cert_id)"
	    " WHERE id = $3 AND status = 2 AND claim_owner = $4",
	[S_ORDER_LIST] = "SELECT id FROM orders WHERE account_id = $1"
			 " AND seq > $2 AND status <> $3 ORDER BY seq"
			 " LIMIT $4",
	[S_ORDER_SEQ] = "SELECT seq FROM orders WHERE id = $1"
			" AND account_id = $2",
	[S_ORDER_COUNT_OPEN] = "SELECT count(*) FROM orders WHERE profile = $1"
			       " AND status < 4 AND expires > $2",
	[S_AUTHZ_INSERT] = "INSERT INTO authzs (id, account_id, ident_type,"
			   " ident_value, wildcard, status, expires, created)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
			   " ON CONFLICT DO NOTHING",
	[S_AUTHZ_GET] = "SELECT id, account_id, ident_type, ident_value,"
			" wildcard, status, expires, created FROM authzs"
			" WHERE id = $1",
	[S_AUTHZ_EXISTS] = "SELECT 1 FROM authzs WHERE id = $1",
	[S_AUTHZ_FIND_VALID] = "SELECT id FROM authzs WHERE account_id = $1"
			       " AND ident_type = $2 AND ident_value = $3"
			       " AND wildcard = $4 AND status = 4"
			       " AND expires > $5"
			       " ORDER BY expires DESC, created DESC,"
			       " seq DESC LIMIT 1",
	[S_AUTHZ_SET_STATUS] = "UPDATE authzs SET status = $1,"
			       " expires = CASE WHEN $2::bigint > 0 THEN $2"
			       " ELSE expires END WHERE id = $3"
			       " AND status = $4",
	[S_CHALL_INSERT] = "INSERT INTO challs (" CHALL_COLS ")"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
			   " ON CONFLICT DO NOTHING",
	[S_CHALL_BY_AUTHZ] = "SELECT " CHALL_COLS " FROM challs"
			     " WHERE authz_id = $1 ORDER BY type, id",
	[S_CHALL_GET] = "SELECT " CHALL_COLS " FROM challs WHERE id = $1",
	[S_CHALL_EXISTS] = "SELECT 1 FROM challs WHERE id = $1",
	[S_CHALL_UPDATE] = "UPDATE challs SET status = $1, validated = $2,"
			   " error = $3, attempts = $4 WHERE id = $5"
			   " AND status = $6",
	[S_JOB_ADD] = "INSERT INTO jobs (chall_id, not_before, owner,"
		      " lease_until) VALUES ($1, $2, $3, $4)"
		      " ON CONFLICT (chall_id) DO UPDATE"
		      " SET not_before = excluded.not_before,"
		      " owner = excluded.owner,"
		      " lease_until = excluded.lease_until",
	[S_JOB_DONE] = "DELETE FROM jobs WHERE chall_id = $1",
	[S_JOB_LIST] = "SELECT chall_id, not_before, owner, lease_until"
		       " FROM jobs ORDER BY not_before, chall_id LIMIT $1",
	/* One claimer per job: rows another holds are skipped, and one
	 * it took meanwhile no longer matches (D80). */
	[S_JOB_CLAIM] = "WITH c AS (SELECT chall_id FROM jobs"
			" WHERE lease_until < $1 ORDER BY not_before, chall_id"
			" LIMIT $2 FOR UPDATE SKIP LOCKED)"
			" UPDATE jobs j SET owner = $3, lease_until = $4"
			" FROM c WHERE j.chall_id = c.chall_id"
			" RETURNING j.chall_id, j.not_before",
	[S_JOB_RELEASE] = "UPDATE jobs SET lease_until = 0 WHERE chall_id = $1",
	/* The heartbeat: one round trip for both tables (D80). */
	[S_LEASE_RENEW] = "WITH j AS (UPDATE jobs SET lease_until = $2"
			  " WHERE owner = $1)"
			  " UPDATE orders SET claim_until = $2"
			  " WHERE status = 2 AND claim_owner = $1",
	[S_CERT_INSERT] = "INSERT INTO certs (id, serial, account_id,"
			  " order_id, chain_pem, alt_chain_pem, not_before,"
			  " not_after, revoked_at, reason, profile)"
			  " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
			  " $11) ON CONFLICT DO NOTHING",
	[S_CERT_GET] = "SELECT " CERT_COLS " FROM certs WHERE id = $1",
	[S_CERT_BY_SERIAL] = "SELECT " CERT_COLS " FROM certs"
			     " WHERE serial = $1",
	[S_CERT_EXISTS] = "SELECT 1 FROM certs WHERE id = $1",
	[S_CERT_REVOKE] = "UPDATE certs SET revoked_at = $1, reason = $2"
			  " WHERE id = $3 AND revoked_at = 0",
	[S_CERT_WINDOW] = "UPDATE certs SET ari_start = $1, ari_end = $2,"
			  " ari_explanation = $3 WHERE serial = $4",
	[S_CERT_WINDOW_ALL] = "UPDATE certs SET ari_start = $1, ari_end = $2,"
			      " ari_explanation = $3 WHERE revoked_at = 0"
			      " AND not_after > $4",
	[S_ORDER_REPLACING] = "SELECT id FROM orders WHERE replaces = $1"
			      " AND replaces <> '' AND status <> 5 LIMIT 1",
	[S_ORDER_FIRST_REPLACING] = "SELECT id FROM orders"
				    " WHERE replaces <> '' AND replaces = $1"
				    " ORDER BY seq LIMIT 1",
	[S_REVOCATIONS] = "SELECT count(*) FROM certs WHERE revoked_at <> 0",
	[S_CERT_REVOKED] = "SELECT serial, revoked_at, reason FROM certs"
			   " WHERE revoked_at <> 0 AND not_after >= $1"
			   " ORDER BY serial",
	[S_CRL_LATEST] = "SELECT number, this_update, next_update,"
			 " revocations, der FROM crls ORDER BY number DESC"
			 " LIMIT 1",
	[S_CRL_MAX] = "SELECT coalesce(max(number), 0) FROM crls",
	[S_CRL_INSERT] = "INSERT INTO crls (number, this_update,"
			 " next_update, revocations, der)"
			 " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
	[S_CRL_PRUNE] = "DELETE FROM crls WHERE number < $1",
	/* One spender of a key at a time, across instances (D65). */
	[S_RL_LOCK] = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
	[S_RL_GET] = "SELECT tat FROM ratelimits WHERE key = $1",
	[S_RL_PUT] = "INSERT INTO ratelimits (key, tat) VALUES ($1, $2)"
		     " ON CONFLICT (key) DO UPDATE SET tat = excluded.tat",
	/* Rows another spender holds are left for a later prune. */
	[S_RL_PRUNE] = "DELETE FROM ratelimits WHERE key IN (SELECT key"
		       " FROM ratelimits WHERE tat < $1 AND key <> $2"
		       " LIMIT 100 FOR UPDATE SKIP LOCKED)",
	[S_EAB_INSERT] = "INSERT INTO eab (kid, key, account_id, created)"
			 " VALUES ($1, $2, '', $3) ON CONFLICT DO NOTHING",
	[S_EAB_GET] = "SELECT kid, key, account_id, created FROM eab"
		      " WHERE kid = $1",
	[S_EAB_EXISTS] = "SELECT 1 FROM eab WHERE kid = $1",
	[S_EAB_LIST] = "SELECT kid, account_id, created FROM eab"
		       " ORDER BY created, kid",
	[S_EAB_REMOVE] = "DELETE FROM eab WHERE kid = $1",
	[S_ACCT_PAUSE] = "UPDATE accounts SET paused = $1 WHERE id = $2"
			 " AND paused = 0",
	[S_CERT_FIND] =
	    "SELECT c.id FROM certs c LEFT JOIN orders o"
	    " ON o.id = c.order_id"
	    " WHERE ($1::text IS NULL OR c.account_id = $1)"
	    " AND ($2::text IS NULL OR strpos(o.identifiers, $2) > 0)"
	    " ORDER BY c.not_before, c.id LIMIT $3",
	[S_BLOCK_ADD] = "INSERT INTO blocked_names (name, created)"
			" VALUES ($1, $2) ON CONFLICT DO NOTHING",
	[S_BLOCK_MATCH] = "SELECT name FROM blocked_names WHERE name = $1"
			  " OR right($1, length(name) + 1) = '.' || name"
			  " ORDER BY length(name) LIMIT 1",
	[S_ACCT_UNPAUSE] = "UPDATE accounts SET paused = 0 WHERE id = $1"
			   " AND paused <> 0",
	[S_BLOCK_EXISTS] = "SELECT 1 FROM blocked_names WHERE name = $1",
	[S_BLOCK_REMOVE] = "DELETE FROM blocked_names WHERE name = $1",
	[S_BLOCK_LIST] = "SELECT name, created FROM blocked_names"
			 " ORDER BY name",
	[S_EAB_BIND] = "UPDATE eab SET account_id = $1 WHERE kid = $2"
		       " AND account_id = ''",
	[S_AUDIT_ADD] = "INSERT INTO audit_outbox (line) VALUES ($1)",
	/* D77: each instance's copier takes rows no other copier holds, and
	 * drops exactly those (a row committed late with a lower seq stays). */
	[S_AUDIT_PENDING] = "SELECT seq, line FROM audit_outbox ORDER BY seq"
			    " LIMIT $1 FOR UPDATE SKIP LOCKED",
	[S_AUDIT_DONE] = "DELETE FROM audit_outbox WHERE seq <= $1"
			 " AND seq = ANY($2::bigint[])",
	[S_NONCE_KEY_PUT] = "INSERT INTO nonce_key VALUES (1, $1)"
			    " ON CONFLICT DO NOTHING",
	[S_NONCE_KEY_GET] = "SELECT key FROM nonce_key WHERE id = 1",
	[S_NONCE_SPEND] = "INSERT INTO nonces_spent VALUES ($1, $2)"
			  " ON CONFLICT DO NOTHING",
	[S_NONCE_PRUNE] = "DELETE FROM nonces_spent WHERE expires < $1",
};

/* One connection of the pool, with the statements prepared on it. */
struct pconn {
	PGconn *db;
	unsigned char prepared[S__COUNT];
	struct pconn *next;  /* in the idle list */
	struct store *owner; /* whose round trips it counts (D84) */
};

struct pg {
	struct store base; /* first: a struct store * is a struct pg * */
	char *url;
	pthread_mutex_t lock; /* guards idle and open */
	pthread_cond_t freed; /* a connection came back */
	struct pconn *idle;
	int open; /* connections that exist, idle or taken */
	int max;
};

/*
 * The connection the calling thread holds and how deep it is in it
 * (0: none); a store operation inside begin/commit nests.
 */
static _Thread_local struct {
	struct pg *s;
	struct pconn *c;
	int depth;
} held;

static const struct store_ops pg_ops;

static int
oom(struct acme_problem *prob)
{
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "out of memory");
	return ACME_ERR_NOMEM;
}

/* Fills prob with libpq's message; returns ACME_ERR_IO. */
static int
db_fail(PGconn *db, const char *what, struct acme_problem *prob)
{
	char msg[PG_MSG_MAX];
	size_t n;

	snprintf(msg, sizeof(msg), "%s",
	    db != NULL ? PQerrorMessage(db) : "out of memory");
	/* libpq's messages end in a newline (or several lines). */
	n = strcspn(msg, "\n");
	msg[n] = '\0';
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "database: %s: %s",
	    what, msg);
	return ACME_ERR_IO;
}

static void
conn_free(struct pconn *c)
{
	if (c == NULL)
		return;
	PQfinish(c->db);
	free(c);
}

/* The server's notices ("already exists, skipping") are not errors;
 * libpq would print them on standard error. */
static void
no_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* A new connection to url; NULL with prob set. */
static struct pconn *
conn_new(const char *url, struct acme_problem *prob)
{
	struct pconn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		oom(prob);
		return NULL;
	}
	c->db = PQconnectdb(url);
	if (c->db == NULL || PQstatus(c->db) != CONNECTION_OK) {
		db_fail(c->db, "connect", prob);
		conn_free(c);
		return NULL;
	}
	PQsetNoticeProcessor(c->db, no_notice, NULL);
	return c;
}

/* Whether the server sent c something (or closed it): poll, no wait. */
static int
readable(struct pconn *c)
{
	struct pollfd p = { .fd = PQsocket(c->db), .events = POLLIN };

	return p.fd < 0 || poll(&p, 1, 0) != 0;
}

/*
 * The calling thread's connection: the one it holds, or one of the
 * pool (waiting while all are taken).  NULL with prob set when a new
 * one cannot be opened.  Each acquire() is ended by release().
 */
static struct pconn *
acquire(struct pg *s, struct acme_problem *prob)
{
	struct pconn *c = NULL;

	if (held.s == s && held.c != NULL) {
		held.depth++;
		return held.c;
	}
	pthread_mutex_lock(&s->lock);
	while (s->idle == NULL && s->open >= s->max)
		pthread_cond_wait(&s->freed, &s->lock);
	if (s->idle != NULL) {
		c = s->idle;
		s->idle = c->next;
	} else
		s->open++;
	pthread_mutex_unlock(&s->lock);
	/*
	 * An idle connection has nothing to read unless the server is
	 * closing it (it restarted, or a proxy timed it out): its goodbye,
	 * then the end of the stream.  Such a one is opened anew here
	 * instead of failing the request that would use it.
	 */
	if (c != NULL && (readable(c) || PQstatus(c->db) != CONNECTION_OK)) {
		conn_free(c);
		c = NULL;
	}
	if (c == NULL && (c = conn_new(s->url, prob)) == NULL) {
		pthread_mutex_lock(&s->lock);
		s->open--;
		pthread_cond_signal(&s->freed);
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	c->owner = &s->base;
	held.s = s;
	held.c = c;
	held.depth = 1;
	return c;
}

/*
 * Ends levels acquire()s.  When the thread no longer holds the
 * connection it goes back to the pool, or, when it broke (the server
 * restarted, say), is closed so that the next thread opens a new one.
 */
static void
release(struct pg *s, int levels)
{
	struct pconn *c = held.c;

	if ((held.depth -= levels) > 0)
		return;
	held.s = NULL;
	held.c = NULL;
	held.depth = 0;
	if (PQstatus(c->db) != CONNECTION_OK ||
	    PQtransactionStatus(c->db) != PQTRANS_IDLE) {
		conn_free(c);
		c = NULL;
	}
	pthread_mutex_lock(&s->lock);
	if (c != NULL) {
		c->next = s->idle;
		s->idle = c;
	} else
		s->open--;
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
}

/* Whether c is inside a transaction (begin, or an operation's own). */
static int
in_txn(struct pconn *c)
{
	return PQtransactionStatus(c->db) != PQTRANS_IDLE;
}

/* Runs a statement without parameters; 0 or ACME_ERR_IO. */
static int
exec_simple(struct pconn *c, const char *q, struct acme_problem *prob)
{
	PGresult *r;
	ExecStatusType st;
	int rc = 0;

	store_count_roundtrip(c->owner);
	r = PQexec(c->db, q);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		rc = db_fail(c->db, q, prob);
	PQclear(r);
	return rc;
}

#define MAXPARAM 16

/*
 * Runs prepared statement id on c with its parameters from types: 's'
 * text (NULL sends NULL), 'i' long long, 'b' bytea (pointer, size_t
 * length).  Returns the result (the caller PQclear()s it), or NULL with
 * *rc set: ACME_ERR_EXISTS on a unique violation, else ACME_ERR_IO
 * with prob set.
 */
static PGresult *
px(struct pconn *c, enum stmt id, int *rc, struct acme_problem *prob,
    const char *types, ...)
{
	char nums[MAXPARAM][INT_TEXT_MAX], name[STMT_NAME_MAX];
	const char *vals[MAXPARAM];
	int lens[MAXPARAM], fmts[MAXPARAM], n = 0;
	PGresult *r;
	ExecStatusType st;
	const char *state;
	va_list ap;

	*rc = 0;
	snprintf(name, sizeof(name), "a%d", (int)id);
	if (!c->prepared[id]) {
		store_count_roundtrip(c->owner);
		r = PQprepare(c->db, name, sql[id], 0, NULL);
		st = PQresultStatus(r);
		PQclear(r);
		if (st != PGRES_COMMAND_OK) {
			*rc = db_fail(c->db, "prepare", prob);
			return NULL;
		}
		c->prepared[id] = 1;
	}
	va_start(ap, types);
	for (n = 0; types[n] != '\0' && n < MAXPARAM; n++) {
		lens[n] = 0;
		fmts[n] = 0;
		switch (types[n]) {
		case 's':
			vals[n] = va_arg(ap, const char *);
			break;
		case 'i':
			snprintf(nums[n], sizeof(nums[n]), "%lld",
			    va_arg(ap, long long));
			vals[n] = nums[n];
			break;
		default: /* 'b' */
			vals[n] = va_arg(ap, const char *);
			lens[n] = (int)va_arg(ap, size_t);
			fmts[n] = 1;
			break;
		}
	}
	va_end(ap);
	store_count_roundtrip(c->owner);
	r = PQexecPrepared(c->db, name, n, vals, lens, fmts, 0);
	st = PQresultStatus(r);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return r;
	state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	if (state != NULL && strcmp(state, "23505") == 0)
		*rc = ACME_ERR_EXISTS;
	else
		*rc = db_fail(c->db, "query", prob);
	PQclear(r);
	return NULL;
}

/* Rows a write changed. */
static long long
changed(PGresult *r)
{
	return strtoll(PQcmdTuples(r), NULL, 10);
}

static long long
col_ll(PGresult *r, int row, int col)
{
	return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* A new copy of a column, or NULL when it is NULL; *err on OOM. */
static char *
col_dup(PGresult *r, int row, int col, int *err)
{
	char *s;

	if (PQgetisnull(r, row, col))
		return NULL;
	if ((s = strdup(PQgetvalue(r, row, col))) == NULL)
		*err = 1;
	return s;
}

/* Copies a column into out[size], cut at size - 1 bytes. */
static void
col_copy(PGresult *r, int row, int col, char *out, size_t size)
{
	const char *t = PQgetvalue(r, row, col);
	size_t n = strnlen(t, size - 1);

	memcpy(out, t, n);
	out[n] = '\0';
}

/* A bytea column, decoded into a heap buffer; NULL on failure. */
static unsigned char *
col_bytea(PGresult *r, int row, int col, size_t *len)
{
	unsigned char *b =
	    PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col),
		len);
	unsigned char *copy;

	if (b == NULL)
		return NULL;
	if ((copy = malloc(*len > 0 ? *len : 1)) != NULL)
		memcpy(copy, b, *len);
	PQfreemem(b);
	return copy;
}

/*
 * A statement whose one row is wanted: the result with a row, or NULL
 * with *rc ACME_ERR_NOTFOUND (no row) or the failure.
 */
static PGresult *
row1(PGresult *r, int *rc)
{
	if (r != NULL && PQntuples(r) == 0) {
		PQclear(r);
		*rc = ACME_ERR_NOTFOUND;
		return NULL;
	}
	return r;
}

/* An insert of ON CONFLICT DO NOTHING: 0, EXISTS when it wrote none,
 * or px()'s failure *rc. */
static int
insert_done(PGresult *r, const int *rc)
{
	int ret;

	if (r == NULL)
		return *rc;
	ret = changed(r) > 0 ? 0 : ACME_ERR_EXISTS;
	PQclear(r);
	return ret;
}

/*
 * A write whose WHERE names the expected state.  When no row changed,
 * the statement exists (with id) tells a missing record
 * (ACME_ERR_NOTFOUND) from one in another state (ACME_ERR_CONFLICT).
 */
static int
cond_done(struct pconn *c, PGresult *r, int rc, enum stmt exists,
    const char *id, struct acme_problem *prob)
{
	if (r == NULL)
		return rc;
	if (changed(r) > 0) {
		PQclear(r);
		return 0;
	}
	PQclear(r);
	if ((r = row1(px(c, exists, &rc, prob, "s", id), &rc)) == NULL)
		return rc;
	PQclear(r);
	return ACME_ERR_CONFLICT;
}

/* --- transactions --- */

static int
pg_begin(struct store *st, struct acme_problem *prob)
{
	struct pg *s = (struct pg *)st;
	struct pconn *c = acquire(s, prob);
	int rc;

	if (c == NULL)
		return ACME_ERR_IO;
	if ((rc = exec_simple(c, "BEGIN", prob)) != 0)
		release(s, 1);
	return rc;
}

/* Ends the transaction begin opened: COMMIT or ROLLBACK. */
static int
txn_end(struct pg *s, const char *q, struct acme_problem *prob)
{
	struct pconn *c = held.s == s ? held.c : NULL;
	int rc;

	if (c == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: %s without a transaction", q);
	/* COMMIT of a failed transaction rolls it back and says OK. */
	if (strcmp(q, "COMMIT") == 0 &&
	    PQtransactionStatus(c->db) == PQTRANS_INERROR) {
		exec_simple(c, "ROLLBACK", NULL);
		release(s, 1);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: commit of a failed transaction");
	}
	rc = exec_simple(c, q, prob);
	release(s, 1);
	return rc;
}

static int
pg_commit(struct store *st, struct acme_problem *prob)
{
	return txn_end((struct pg *)st, "COMMIT", prob);
}

static void
pg_rollback(struct store *st)
{
	txn_end((struct pg *)st, "ROLLBACK", NULL);
}

/* An operation's own transaction, unless the caller's is open. */
static int
own_begin(struct pconn *c, int *own, struct acme_problem *prob)
{
	*own = !in_txn(c);
	return *own ? exec_simple(c, "BEGIN", prob) : 0;
}

/* Commits (rc 0) or rolls back what own_begin() began; returns rc. */
static int
own_end(struct pconn *c, int own, int rc, struct acme_problem *prob)
{
	if (!own)
		return rc;
	if (rc == 0)
		return exec_simple(c, "COMMIT", prob);
	exec_simple(c, "ROLLBACK", NULL);
	return rc;
}

/* --- accounts --- */

static int
account_insert(struct pconn *c, const struct store_account *a,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_ACCT_INSERT, &rc, prob, "sisssissi", a->id,
	    (long long)a->status, a->thumbprint, a->jwk, a->contact,
	    (long long)a->tos_agreed, a->eab, a->eab_kid,
	    (long long)a->created);

	return insert_done(r, &rc);
}

static int
account_fetch(PGresult *r, int rc, struct store_account *a,
    struct acme_problem *prob)
{
	int err = 0;

	if ((r = row1(r, &rc)) == NULL)
		return rc;
	memset(a, 0, sizeof(*a));
	col_copy(r, 0, 0, a->id, sizeof(a->id));
	a->status = (enum store_status)col_ll(r, 0, 1);
	col_copy(r, 0, 2, a->thumbprint, sizeof(a->thumbprint));
	a->jwk = col_dup(r, 0, 3, &err);
	a->contact = col_dup(r, 0, 4, &err);
	a->tos_agreed = (int)col_ll(r, 0, 5);
	a->eab = col_dup(r, 0, 6, &err);
	col_copy(r, 0, 7, a->eab_kid, sizeof(a->eab_kid));
	a->created = (time_t)col_ll(r, 0, 8);
	a->paused = (time_t)col_ll(r, 0, 9);
	PQclear(r);
	if (err || a->jwk == NULL) {
		store_account_release(a);
		return oom(prob);
	}
	return 0;
}

static int
account_get(struct pconn *c, const char *id, struct store_account *out,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_ACCT_GET, &rc, prob, "s", id);

	return account_fetch(r, rc, out, prob);
}

static int
account_by_thumbprint(struct pconn *c, const char *thumb,
    struct store_account *out, struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_ACCT_BY_THUMB, &rc, prob, "s", thumb);

	return account_fetch(r, rc, out, prob);
}

static int
account_update(struct pconn *c, const struct store_account *seen,
    const struct store_account_change *chg, struct acme_problem *prob)
{
	PGresult *r;
	int rc, sp = 0;

	/* A key is its thumbprint and its JWK: both or neither. */
	if ((chg->thumbprint == NULL) != (chg->jwk == NULL))
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "account_update: thumbprint without jwk");
	/* A new key may be another account's: keep the caller's
	 * transaction usable after the unique violation. */
	if (chg->thumbprint != NULL && in_txn(c)) {
		if ((rc = exec_simple(c, "SAVEPOINT k", prob)) != 0)
			return rc;
		sp = 1;
	}
	r = px(c, S_ACCT_UPDATE, &rc, prob, "issssis", (long long)chg->status,
	    chg->thumbprint, chg->jwk, chg->contact, seen->id,
	    (long long)seen->status, seen->thumbprint);
	if (sp)
		exec_simple(c,
		    r != NULL ? "RELEASE SAVEPOINT k" :
				"ROLLBACK TO SAVEPOINT k",
		    NULL);
	return cond_done(c, r, rc, S_ACCT_EXISTS, seen->id, prob);
}

/* --- orders, authorizations, challenges --- */

static int
insert_authz(struct pconn *c, const struct store_authz *z,
    struct acme_problem *prob)
{
	size_t i;
	int rc;

	rc = insert_done(px(c, S_AUTHZ_INSERT, &rc, prob, "ssisiiii", z->id,
			     z->account_id, (long long)z->ident.type,
			     z->ident.value, (long long)(z->wildcard != 0),
			     (long long)z->status, (long long)z->expires,
			     (long long)z->created),
	    &rc);
	for (i = 0; rc == 0 && i < z->nchall; i++) {
		const struct store_chall *ch = &z->challs[i];

		rc = insert_done(px(c, S_CHALL_INSERT, &rc, prob, "ssiisisi",
				     ch->id, z->id, (long long)ch->type,
				     (long long)ch->status, ch->token,
				     (long long)ch->validated, ch->error,
				     (long long)ch->attempts),
		    &rc);
	}
	return rc;
}

static int
order_insert(struct pconn *c, const struct store_order *o,
    const struct store_authz *authzs, size_t nnew, struct acme_problem *prob)
{
	char *idents = store_idents_json(o->idents, o->nident);
	char *authz_ids = store_ids_json(o->authz_ids, o->nauthz);
	size_t i;
	int rc, own;

	if (idents == NULL || authz_ids == NULL) {
		rc = oom(prob);
		goto out;
	}
	if ((rc = own_begin(c, &own, prob)) != 0)
		goto out;
	rc = insert_done(px(c, S_ORDER_INSERT, &rc, prob, "ssiiiiissssss",
			     o->id, o->account_id, (long long)o->status,
			     (long long)o->expires, (long long)o->not_before,
			     (long long)o->not_after, (long long)o->created,
			     idents, authz_ids, o->error, o->cert_id,
			     o->profile, o->replaces),
	    &rc);
	for (i = 0; rc == 0 && i < nnew; i++)
		rc = insert_authz(c, &authzs[i], prob);
	rc = own_end(c, own, rc, prob);
out:
	free(idents);
	free(authz_ids);
	return rc;
}

static int
authz_insert(struct pconn *c, const struct store_authz *z,
    struct acme_problem *prob)
{
	int rc, own;

	if ((rc = own_begin(c, &own, prob)) != 0)
		return rc;
	return own_end(c, own, insert_authz(c, z, prob), prob);
}

static int
order_get(struct pconn *c, const char *id, struct store_order *o,
    struct acme_problem *prob)
{
	int rc, err = 0;
	PGresult *r = row1(px(c, S_ORDER_GET, &rc, prob, "s", id), &rc);

	if (r == NULL)
		return rc;
	memset(o, 0, sizeof(*o));
	col_copy(r, 0, 0, o->id, sizeof(o->id));
	col_copy(r, 0, 1, o->account_id, sizeof(o->account_id));
	o->status = (enum store_status)col_ll(r, 0, 2);
	o->expires = (time_t)col_ll(r, 0, 3);
	o->not_before = (time_t)col_ll(r, 0, 4);
	o->not_after = (time_t)col_ll(r, 0, 5);
	o->created = (time_t)col_ll(r, 0, 6);
	rc = store_parse_order_arrays(o, PQgetvalue(r, 0, 7),
	    PQgetvalue(r, 0, 8));
	o->error = col_dup(r, 0, 9, &err);
	col_copy(r, 0, 10, o->cert_id, sizeof(o->cert_id));
	col_copy(r, 0, 11, o->profile, sizeof(o->profile));
	col_copy(r, 0, 12, o->replaces, sizeof(o->replaces));
	PQclear(r);
	if (rc == 0 && !err)
		return 0;
	store_order_release(o);
	if (err || rc == ACME_ERR_NOMEM)
		return oom(prob);
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
	    "database: stored order %s is unreadable", id);
	return ACME_ERR_IO;
}

static int
order_set_status(struct pconn *c, const char *id, enum store_status from,
    enum store_status to, const char *error, const char *cert_id,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_ORDER_SET_STATUS, &rc, prob, "isssi",
	    (long long)to, error, cert_id, id, (long long)from);

	return cond_done(c, r, rc, S_ORDER_EXISTS, id, prob);
}

static int
order_set_status_relaxed(struct pconn *c, const char *id,
    enum store_status from, enum store_status to, const char *error,
    struct acme_problem *prob)
{
	return order_set_status(c, id, from, to, error, NULL, prob);
}

static int
order_claim(struct pconn *c, const char *id, const char *owner, time_t until,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r =
	    px(c, S_ORDER_CLAIM, &rc, prob, "sis", owner, (long long)until, id);

	return cond_done(c, r, rc, S_ORDER_EXISTS, id, prob);
}

static int
order_claim_end(struct pconn *c, const char *id, const char *owner,
    enum store_status to, const char *cert_id, struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_ORDER_CLAIM_END, &rc, prob, "isss", (long long)to,
	    cert_id, id, owner);

	return cond_done(c, r, rc, S_ORDER_EXISTS, id, prob);
}

static int
orders_unclaim(struct pconn *c, time_t expired_before, size_t *n,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r =
	    px(c, S_ORDER_UNCLAIM, &rc, prob, "i", (long long)expired_before);

	*n = 0;
	if (r == NULL)
		return rc;
	*n = (size_t)changed(r);
	PQclear(r);
	return 0;
}

static long long
clamp_max(size_t max)
{
	return max > INT64_MAX ? INT64_MAX : (long long)max;
}

static int
order_list(struct pconn *c, const char *account_id, const char *after,
    char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
    struct acme_problem *prob)
{
	long long seq = 0;
	PGresult *r;
	int rc, i;

	*n = 0;
	if (after != NULL && after[0] != '\0') {
		r = row1(px(c, S_ORDER_SEQ, &rc, prob, "ss", after, account_id),
		    &rc);
		if (rc == ACME_ERR_NOTFOUND)
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "unknown order list cursor");
		if (r == NULL)
			return rc;
		seq = col_ll(r, 0, 0);
		PQclear(r);
	}
	r = px(c, S_ORDER_LIST, &rc, prob, "siii", account_id, seq,
	    (long long)ST_INVALID, clamp_max(max));
	if (r == NULL)
		return rc;
	for (i = 0; i < PQntuples(r) && *n < max; i++)
		col_copy(r, i, 0, ids[(*n)++], STORE_ID_SIZE);
	PQclear(r);
	return 0;
}

/* A count(*) query's result into *n. */
static int
count_done(PGresult *r, int rc, long long *n)
{
	*n = 0;
	if ((r = row1(r, &rc)) == NULL)
		return rc;
	*n = col_ll(r, 0, 0);
	PQclear(r);
	return 0;
}

static int
order_count_open(struct pconn *c, const char *profile, time_t now, long long *n,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r =
	    px(c, S_ORDER_COUNT_OPEN, &rc, prob, "si", profile, (long long)now);

	return count_done(r, rc, n);
}

static int
read_chall(PGresult *r, int row, struct store_chall *ch)
{
	int err = 0;

	memset(ch, 0, sizeof(*ch));
	col_copy(r, row, 0, ch->id, sizeof(ch->id));
	col_copy(r, row, 1, ch->authz_id, sizeof(ch->authz_id));
	ch->type = (enum store_chall_type)col_ll(r, row, 2);
	ch->status = (enum store_status)col_ll(r, row, 3);
	col_copy(r, row, 4, ch->token, sizeof(ch->token));
	ch->validated = (time_t)col_ll(r, row, 5);
	ch->error = col_dup(r, row, 6, &err);
	ch->attempts = (int)col_ll(r, row, 7);
	return err ? ACME_ERR_NOMEM : 0;
}

/*
 * The authorization and its challenges: two reads, which need no shared
 * snapshot because the challenges are written with the authorization,
 * in its transaction, and never deleted.
 */
static int
authz_get(struct pconn *c, const char *id, struct store_authz *z,
    struct acme_problem *prob)
{
	int rc, i, nrow;
	PGresult *r = row1(px(c, S_AUTHZ_GET, &rc, prob, "s", id), &rc);

	if (r == NULL)
		return rc;
	memset(z, 0, sizeof(*z));
	col_copy(r, 0, 0, z->id, sizeof(z->id));
	col_copy(r, 0, 1, z->account_id, sizeof(z->account_id));
	/* Stored canonical by acme_ident_set(); copied back as is. */
	z->ident.type = (enum acme_ident_type)col_ll(r, 0, 2);
	col_copy(r, 0, 3, z->ident.value, sizeof(z->ident.value));
	z->wildcard = (int)col_ll(r, 0, 4);
	z->status = (enum store_status)col_ll(r, 0, 5);
	z->expires = (time_t)col_ll(r, 0, 6);
	z->created = (time_t)col_ll(r, 0, 7);
	PQclear(r);
	if ((r = px(c, S_CHALL_BY_AUTHZ, &rc, prob, "s", id)) == NULL)
		return rc;
	nrow = PQntuples(r);
	if (nrow > 0 &&
	    (z->challs = calloc((size_t)nrow, sizeof(*z->challs))) == NULL)
		rc = oom(prob);
	for (i = 0; rc == 0 && i < nrow; i++) {
		z->nchall++;
		if (read_chall(r, i, &z->challs[i]) != 0)
			rc = oom(prob);
	}
	PQclear(r);
	if (rc != 0)
		store_authz_release(z);
	return rc;
}

static int
authz_find_valid(struct pconn *c, const char *account_id,
    const struct acme_ident *ident, int wildcard, time_t min_expires,
    struct store_authz *out, struct acme_problem *prob)
{
	char id[STORE_ID_SIZE];
	int rc;
	PGresult *r =
	    row1(px(c, S_AUTHZ_FIND_VALID, &rc, prob, "sisii", account_id,
		     (long long)ident->type, ident->value,
		     (long long)(wildcard != 0), (long long)min_expires),
		&rc);

	if (r == NULL)
		return rc;
	col_copy(r, 0, 0, id, sizeof(id));
	PQclear(r);
	return authz_get(c, id, out, prob);
}

static int
authz_set_status(struct pconn *c, const char *id, enum store_status from,
    enum store_status to, time_t expires, struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_AUTHZ_SET_STATUS, &rc, prob, "iisi",
	    (long long)to, (long long)expires, id, (long long)from);

	return cond_done(c, r, rc, S_AUTHZ_EXISTS, id, prob);
}

static int
chall_get(struct pconn *c, const char *id, struct store_chall *out,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = row1(px(c, S_CHALL_GET, &rc, prob, "s", id), &rc);

	if (r == NULL)
		return rc;
	rc = read_chall(r, 0, out);
	PQclear(r);
	if (rc != 0) {
		store_chall_release(out);
		return oom(prob);
	}
	return 0;
}

static int
chall_update(struct pconn *c, const struct store_chall *ch,
    enum store_status from, struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_CHALL_UPDATE, &rc, prob, "iisisi",
	    (long long)ch->status, (long long)ch->validated, ch->error,
	    (long long)ch->attempts, ch->id, (long long)from);

	return cond_done(c, r, rc, S_CHALL_EXISTS, ch->id, prob);
}

/* --- validation jobs --- */

/* A write whose count does not matter: 0 or its failure (*rc, read
 * after px() set it). */
static int
done(PGresult *r, const int *rc)
{
	PQclear(r);
	return r != NULL ? 0 : *rc;
}

/* Queues a job; queueing one for the same challenge replaces it. */
static int
job_add(struct pconn *c, const struct store_job *j, struct acme_problem *prob)
{
	int rc;

	return done(px(c, S_JOB_ADD, &rc, prob, "sisi", j->chall_id,
			(long long)j->not_before, j->owner,
			(long long)j->lease_until),
	    &rc);
}

static int
job_done(struct pconn *c, const char *chall_id, struct acme_problem *prob)
{
	int rc;

	return done(px(c, S_JOB_DONE, &rc, prob, "s", chall_id), &rc);
}

static int
job_list(struct pconn *c, struct store_job *jobs, size_t max, size_t *n,
    struct acme_problem *prob)
{
	int rc, i;
	PGresult *r = px(c, S_JOB_LIST, &rc, prob, "i", clamp_max(max));

	*n = 0;
	if (r == NULL)
		return rc;
	for (i = 0; i < PQntuples(r) && *n < max; i++) {
		col_copy(r, i, 0, jobs[*n].chall_id, sizeof(jobs[*n].chall_id));
		jobs[*n].not_before = (time_t)col_ll(r, i, 1);
		col_copy(r, i, 2, jobs[*n].owner, sizeof(jobs[*n].owner));
		jobs[*n].lease_until = (time_t)col_ll(r, i, 3);
		(*n)++;
	}
	PQclear(r);
	return 0;
}

static int
jobs_claim(struct pconn *c, const char *owner, time_t expired_before,
    time_t until, struct store_job *jobs, size_t max, size_t *n,
    struct acme_problem *prob)
{
	int rc, i;
	PGresult *r = px(c, S_JOB_CLAIM, &rc, prob, "iisi",
	    (long long)expired_before, clamp_max(max), owner, (long long)until);

	*n = 0;
	if (r == NULL)
		return rc;
	for (i = 0; i < PQntuples(r) && *n < max; i++) {
		struct store_job *j = &jobs[*n];

		col_copy(r, i, 0, j->chall_id, sizeof(j->chall_id));
		j->not_before = (time_t)col_ll(r, i, 1);
		snprintf(j->owner, sizeof(j->owner), "%s", owner);
		j->lease_until = until;
		(*n)++;
	}
	PQclear(r);
	return 0;
}

static int
job_release(struct pconn *c, const char *chall_id, struct acme_problem *prob)
{
	int rc;

	return done(px(c, S_JOB_RELEASE, &rc, prob, "s", chall_id), &rc);
}

static int
lease_renew(struct pconn *c, const char *owner, time_t until,
    struct acme_problem *prob)
{
	int rc;

	return done(px(c, S_LEASE_RENEW, &rc, prob, "si", owner,
			(long long)until),
	    &rc);
}

/* --- the audit outbox --- */

static int
audit_add(struct pconn *c, const char *line, struct acme_problem *prob)
{
	int rc;

	return done(px(c, S_AUDIT_ADD, &rc, prob, "s", line), &rc);
}

/* The seqs the calling thread's last audit_pending read (D77); it reads
 * at most AUDIT_READ_MAX rows a call. */
#define AUDIT_READ_MAX 256
static _Thread_local struct {
	int64_t seq[AUDIT_READ_MAX];
	size_t n;
} audit_read;

static int
audit_pending(struct pconn *c, struct store_audit *rows, size_t max, size_t *n,
    struct acme_problem *prob)
{
	int rc, i, err = 0;
	PGresult *r;

	if (max > AUDIT_READ_MAX)
		max = AUDIT_READ_MAX;
	r = px(c, S_AUDIT_PENDING, &rc, prob, "i", clamp_max(max));
	*n = 0;
	audit_read.n = 0;
	if (r == NULL)
		return rc;
	for (i = 0; i < PQntuples(r) && *n < max && !err; i++) {
		rows[*n].seq = (int64_t)col_ll(r, i, 0);
		audit_read.seq[*n] = rows[*n].seq;
		if ((rows[*n].line = col_dup(r, i, 1, &err)) != NULL)
			(*n)++;
	}
	PQclear(r);
	if (err) {
		while (*n > 0)
			free(rows[--*n].line);
		return oom(prob);
	}
	audit_read.n = *n;
	return 0;
}

static int
audit_done(struct pconn *c, int64_t seq, struct acme_problem *prob)
{
	char list[AUDIT_READ_MAX * (INT_DIGITS_MAX + 1) + LIT_LEN("{}") + 1];
	size_t i, len = 0;
	int rc;

	/* The rows this thread read last, as an array literal "{1,2}". */
	list[len++] = '{';
	for (i = 0; i < audit_read.n; i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len,
		    "%s%lld", i > 0 ? "," : "", (long long)audit_read.seq[i]);
	snprintf(list + len, sizeof(list) - len, "}");
	audit_read.n = 0;
	return done(px(c, S_AUDIT_DONE, &rc, prob, "is", (long long)seq, list),
	    &rc);
}

/* --- shared nonces (D77) --- */

static int
nonce_key(struct pconn *c, unsigned char key[NONCE_KEY_LEN],
    struct acme_problem *prob)
{
	unsigned char fresh[NONCE_KEY_LEN], *got;
	size_t n = 0;
	int rc;
	PGresult *r;

	if (RAND_bytes(fresh, sizeof(fresh)) != 1)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot make a nonce key");
	/* The first instance's key stays; the others read it. */
	r = px(c, S_NONCE_KEY_PUT, &rc, prob, "b", (const char *)fresh,
	    sizeof(fresh));
	acme_wipe(fresh, sizeof(fresh));
	if (r == NULL)
		return rc;
	PQclear(r);
	if ((r = row1(px(c, S_NONCE_KEY_GET, &rc, prob, ""), &rc)) == NULL)
		return rc;
	got = col_bytea(r, 0, 0, &n);
	PQclear(r);
	if (got == NULL)
		return oom(prob);
	rc = 0;
	if (n == NONCE_KEY_LEN)
		memcpy(key, got, NONCE_KEY_LEN);
	else
		rc = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: the nonce key is %zu bytes, not 16", n);
	acme_wipe(got, n);
	free(got);
	return rc;
}

/* Spent nonces past their expiry go every this many spends. */
#define NONCE_PRUNE_EVERY 1024

static int
nonce_spend(struct pconn *c, const unsigned char nonce[NONCE_BLOCK],
    int64_t expires, int64_t now, struct acme_problem *prob)
{
	static _Atomic unsigned spends;
	int rc;

	rc = insert_done(px(c, S_NONCE_SPEND, &rc, prob, "bi",
			     (const char *)nonce, (size_t)NONCE_BLOCK,
			     (long long)expires),
	    &rc);
	if (rc == 0 && ++spends % NONCE_PRUNE_EVERY == 0)
		(void)done(px(c, S_NONCE_PRUNE, &rc, NULL, "i", (long long)now),
		    &rc);
	return rc;
}

/* --- certificates --- */

static int
cert_insert(struct pconn *c, const struct store_cert *ct,
    struct acme_problem *prob)
{
	int rc;

	return insert_done(px(c, S_CERT_INSERT, &rc, prob, "ssssssiiiis",
			       ct->id, ct->serial, ct->account_id, ct->order_id,
			       ct->chain_pem, ct->alt_chain_pem,
			       (long long)ct->not_before,
			       (long long)ct->not_after,
			       (long long)ct->revoked_at, (long long)ct->reason,
			       ct->profile),
	    &rc);
}

static int
cert_fetch(PGresult *r, int rc, struct store_cert *ct,
    struct acme_problem *prob)
{
	int err = 0;

	if ((r = row1(r, &rc)) == NULL)
		return rc;
	memset(ct, 0, sizeof(*ct));
	col_copy(r, 0, 0, ct->id, sizeof(ct->id));
	col_copy(r, 0, 1, ct->serial, sizeof(ct->serial));
	col_copy(r, 0, 2, ct->account_id, sizeof(ct->account_id));
	col_copy(r, 0, 3, ct->order_id, sizeof(ct->order_id));
	ct->chain_pem = col_dup(r, 0, 4, &err);
	ct->alt_chain_pem = col_dup(r, 0, 5, &err);
	ct->not_before = (time_t)col_ll(r, 0, 6);
	ct->not_after = (time_t)col_ll(r, 0, 7);
	ct->revoked_at = (time_t)col_ll(r, 0, 8);
	ct->reason = (int)col_ll(r, 0, 9);
	ct->ari_start = (time_t)col_ll(r, 0, 10);
	ct->ari_end = (time_t)col_ll(r, 0, 11);
	ct->ari_explanation = col_dup(r, 0, 12, &err);
	col_copy(r, 0, 13, ct->profile, sizeof(ct->profile));
	PQclear(r);
	if (err || ct->chain_pem == NULL) {
		store_cert_release(ct);
		return oom(prob);
	}
	return 0;
}

static int
cert_get(struct pconn *c, const char *id, struct store_cert *out,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_CERT_GET, &rc, prob, "s", id);

	return cert_fetch(r, rc, out, prob);
}

static int
cert_by_serial(struct pconn *c, const char *serial, struct store_cert *out,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_CERT_BY_SERIAL, &rc, prob, "s", serial);

	return cert_fetch(r, rc, out, prob);
}

static int
cert_revoke(struct pconn *c, const char *id, time_t when, int reason,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_CERT_REVOKE, &rc, prob, "iis", (long long)when,
	    (long long)reason, id);

	return cond_done(c, r, rc, S_CERT_EXISTS, id, prob);
}

static int
cert_set_window(struct pconn *c, const char *serial, time_t start, time_t end,
    const char *explanation, time_t now, size_t *n, struct acme_problem *prob)
{
	int rc;
	PGresult *r =
	    serial != NULL ?
		px(c, S_CERT_WINDOW, &rc, prob, "iiss", (long long)start,
		    (long long)end, explanation, serial) :
		px(c, S_CERT_WINDOW_ALL, &rc, prob, "iisi", (long long)start,
		    (long long)end, explanation, (long long)now);

	if (r == NULL)
		return rc;
	*n = (size_t)changed(r);
	PQclear(r);
	return 0;
}

static int
replacing_id(struct pconn *c, enum stmt s, const char *cert_id,
    char out[STORE_ID_SIZE], struct acme_problem *prob)
{
	int rc;
	PGresult *r = row1(px(c, s, &rc, prob, "s", cert_id), &rc);

	if (r == NULL)
		return rc;
	col_copy(r, 0, 0, out, STORE_ID_SIZE);
	PQclear(r);
	return 0;
}

static int
order_replacing(struct pconn *c, const char *cert_id, char out[STORE_ID_SIZE],
    struct acme_problem *prob)
{
	return replacing_id(c, S_ORDER_REPLACING, cert_id, out, prob);
}

static int
order_first_replacing(struct pconn *c, const char *cert_id,
    char out[STORE_ID_SIZE], struct acme_problem *prob)
{
	return replacing_id(c, S_ORDER_FIRST_REPLACING, cert_id, out, prob);
}

/* --- CRLs (D50) --- */

static int
revocations(struct pconn *c, long long *n, struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_REVOCATIONS, &rc, prob, "");

	return count_done(r, rc, n);
}

static int
cert_revoked(struct pconn *c, time_t expiring_from, struct store_revoked **out,
    size_t *n, struct acme_problem *prob)
{
	int rc, i, nrow;
	PGresult *r =
	    px(c, S_CERT_REVOKED, &rc, prob, "i", (long long)expiring_from);
	struct store_revoked *v = NULL;

	*out = NULL;
	*n = 0;
	if (r == NULL)
		return rc;
	nrow = PQntuples(r);
	if (nrow > 0 && (v = calloc((size_t)nrow, sizeof(*v))) == NULL) {
		PQclear(r);
		return oom(prob);
	}
	for (i = 0; i < nrow; i++) {
		col_copy(r, i, 0, v[i].serial, sizeof(v[i].serial));
		v[i].revoked_at = (time_t)col_ll(r, i, 1);
		v[i].reason = (int)col_ll(r, i, 2);
	}
	PQclear(r);
	*out = v;
	*n = (size_t)nrow;
	return 0;
}

static int
crl_latest(struct pconn *c, struct store_crl *out, struct acme_problem *prob)
{
	int rc;
	PGresult *r = row1(px(c, S_CRL_LATEST, &rc, prob, ""), &rc);

	if (r == NULL)
		return rc;
	memset(out, 0, sizeof(*out));
	out->number = (int64_t)col_ll(r, 0, 0);
	out->this_update = (time_t)col_ll(r, 0, 1);
	out->next_update = (time_t)col_ll(r, 0, 2);
	out->revocations = col_ll(r, 0, 3);
	out->der = col_bytea(r, 0, 4, &out->len);
	PQclear(r);
	if (out->der == NULL)
		return oom(prob);
	if (out->len == 0) {
		store_crl_release(out);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: CRL %lld is empty", (long long)out->number);
	}
	return 0;
}

static int
crl_insert(struct pconn *c, const struct store_crl *crl,
    struct acme_problem *prob)
{
	PGresult *r;
	int rc, own;

	if ((rc = own_begin(c, &own, prob)) != 0)
		return rc;
	/* Only one past the newest: never a number below one served.  A
	 * racing insert of the same number conflicts on the key. */
	if ((r = row1(px(c, S_CRL_MAX, &rc, prob, ""), &rc)) != NULL) {
		if (col_ll(r, 0, 0) != crl->number - 1)
			rc = ACME_ERR_EXISTS;
		PQclear(r);
	}
	if (rc == 0)
		rc = insert_done(px(c, S_CRL_INSERT, &rc, prob, "iiiib",
				     (long long)crl->number,
				     (long long)crl->this_update,
				     (long long)crl->next_update,
				     crl->revocations, (const char *)crl->der,
				     crl->len),
		    &rc);
	if (rc == 0)
		rc = done(px(c, S_CRL_PRUNE, &rc, prob, "i",
			      (long long)crl->number),
		    &rc);
	return own_end(c, own, rc, prob);
}

/* --- rate limits (D51) --- */

static int
rl_take(struct pconn *c, const char *key, int64_t now, int64_t interval,
    int64_t burst, int mode, int64_t *retry_ms, struct acme_problem *prob)
{
	PGresult *r;
	int64_t tat = now;
	int rc, own = 0, spend = mode == RL_SPEND || mode == RL_FORCE;

	*retry_ms = 0;
	/* A look needs no lock: it reads one row. */
	if (spend) {
		if ((rc = own_begin(c, &own, prob)) != 0)
			return rc;
		rc = done(px(c, S_RL_LOCK, &rc, prob, "s", key), &rc);
		if (rc != 0)
			return own_end(c, own, rc, prob);
	}
	if ((r = row1(px(c, S_RL_GET, &rc, prob, "s", key), &rc)) != NULL) {
		if (col_ll(r, 0, 0) > now)
			tat = (int64_t)col_ll(r, 0, 0);
		PQclear(r);
	} else if (rc == ACME_ERR_NOTFOUND)
		rc = 0;
	if (rc == 0 && tat - now > burst)
		*retry_ms = tat - now - burst;
	if (rc == 0 &&
	    (mode == RL_FORCE || (mode == RL_SPEND && *retry_ms == 0))) {
		rc = done(px(c, S_RL_PRUNE, &rc, prob, "is", (long long)now,
			      key),
		    &rc);
		if (rc == 0)
			rc = done(px(c, S_RL_PUT, &rc, prob, "si", key,
				      (long long)(tat + interval)),
			    &rc);
	}
	return spend ? own_end(c, own, rc, prob) : rc;
}

/* --- external account binding keys --- */

static int
eab_insert(struct pconn *c, const struct store_eab *e,
    struct acme_problem *prob)
{
	int rc;

	if (e->keylen > sizeof(e->key))
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "EAB key is too long");
	return insert_done(px(c, S_EAB_INSERT, &rc, prob, "sbi", e->kid,
			       (const char *)e->key, e->keylen,
			       (long long)e->created),
	    &rc);
}

static int
eab_get(struct pconn *c, const char *kid, struct store_eab *out,
    struct acme_problem *prob)
{
	unsigned char *key;
	size_t n = 0;
	int rc;
	PGresult *r = row1(px(c, S_EAB_GET, &rc, prob, "s", kid), &rc);

	if (r == NULL)
		return rc;
	memset(out, 0, sizeof(*out));
	col_copy(r, 0, 0, out->kid, sizeof(out->kid));
	key = col_bytea(r, 0, 1, &n);
	col_copy(r, 0, 2, out->account_id, sizeof(out->account_id));
	out->created = (time_t)col_ll(r, 0, 3);
	PQclear(r);
	if (key == NULL)
		return oom(prob);
	if (n > sizeof(out->key)) {
		free(key);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: stored EAB key %s is too long", kid);
	}
	memcpy(out->key, key, n);
	out->keylen = n;
	free(key);
	return 0;
}

static int
eab_bind(struct pconn *c, const char *kid, const char *account_id,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_EAB_BIND, &rc, prob, "ss", account_id, kid);

	return cond_done(c, r, rc, S_EAB_EXISTS, kid, prob);
}

/* Nothing stored unless both are (D90). */
static int
account_insert_eab(struct pconn *c, const struct store_account *a,
    struct acme_problem *prob)
{
	int rc, own;

	if ((rc = own_begin(c, &own, prob)) != 0)
		return rc;
	rc = account_insert(c, a, prob);
	/* A second binder waits here for the first's commit (row lock). */
	if (rc == 0)
		rc = eab_bind(c, a->eab_kid, a->id, prob);
	return own_end(c, own, rc, prob);
}

/*
 * Every row of statement which (no parameters), each filled by fill into
 * a new zeroed element of elem bytes: *out (heap, NULL when *n is 0).
 */
static int
pg_rows(struct pconn *c, enum stmt which, size_t elem,
    void (*fill)(PGresult *r, int i, void *row), void **out, size_t *n,
    struct acme_problem *prob)
{
	int rc, i;
	PGresult *r = px(c, which, &rc, prob, "");
	unsigned char *v = NULL;

	*out = NULL;
	*n = 0;
	if (r == NULL)
		return rc;
	if (PQntuples(r) > 0 &&
	    (v = calloc((size_t)PQntuples(r), elem)) == NULL) {
		PQclear(r);
		return oom(prob);
	}
	for (i = 0; i < PQntuples(r); i++)
		fill(r, i, v + (size_t)i * elem);
	*n = (size_t)PQntuples(r);
	*out = v;
	PQclear(r);
	return 0;
}

static void
eab_row(PGresult *r, int i, void *row)
{
	struct store_eab *e = row;

	col_copy(r, i, 0, e->kid, sizeof(e->kid));
	col_copy(r, i, 1, e->account_id, sizeof(e->account_id));
	e->created = (time_t)col_ll(r, i, 2);
}

static int
eab_list(struct pconn *c, struct store_eab **out, size_t *n,
    struct acme_problem *prob)
{
	void *v;
	int rc = pg_rows(c, S_EAB_LIST, sizeof(**out), eab_row, &v, n, prob);

	*out = v;
	return rc;
}

static int
eab_remove(struct pconn *c, const char *kid, struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_EAB_REMOVE, &rc, prob, "s", kid);

	return cond_done(c, r, rc, S_EAB_EXISTS, kid, prob);
}

/* --- the operator's actions (D74) --- */

static int
account_pause(struct pconn *c, const char *id, time_t when,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_ACCT_PAUSE, &rc, prob, "is", (long long)when, id);

	return cond_done(c, r, rc, S_ACCT_EXISTS, id, prob);
}

static int
cert_find(struct pconn *c, const char *account_id, const char *name,
    char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
    struct acme_problem *prob)
{
	char needle[STORE_NEEDLE_MAX];
	int rc, i;
	PGresult *r;

	*n = 0;
	if (name != NULL && (size_t)snprintf(needle, sizeof(needle),
				"\"value\":\"%s\"", name) >= sizeof(needle))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "name too long");
	r = px(c, S_CERT_FIND, &rc, prob, "ssi", account_id,
	    name != NULL ? needle : NULL, clamp_max(max));
	if (r == NULL)
		return rc;
	for (i = 0; i < PQntuples(r) && *n < max; i++) {
		col_copy(r, i, 0, ids[*n], sizeof(ids[*n]));
		(*n)++;
	}
	PQclear(r);
	return 0;
}

static int
block_add(struct pconn *c, const char *name, time_t when,
    struct acme_problem *prob)
{
	int rc;

	return insert_done(px(c, S_BLOCK_ADD, &rc, prob, "si", name,
			       (long long)when),
	    &rc);
}

static int
name_blocked(struct pconn *c, const char *name, char *match, size_t size,
    struct acme_problem *prob)
{
	int rc;
	PGresult *r = row1(px(c, S_BLOCK_MATCH, &rc, prob, "s", name), &rc);

	if (r == NULL)
		return rc;
	col_copy(r, 0, 0, match, size);
	PQclear(r);
	return 0;
}

/* --- their undoing (D88) --- */

static int
account_unpause(struct pconn *c, const char *id, struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_ACCT_UNPAUSE, &rc, prob, "s", id);

	return cond_done(c, r, rc, S_ACCT_EXISTS, id, prob);
}

static int
block_remove(struct pconn *c, const char *name, struct acme_problem *prob)
{
	int rc;
	PGresult *r = px(c, S_BLOCK_REMOVE, &rc, prob, "s", name);

	return cond_done(c, r, rc, S_BLOCK_EXISTS, name, prob);
}

static void
block_row(PGresult *r, int i, void *row)
{
	struct store_block *b = row;

	col_copy(r, i, 0, b->name, sizeof(b->name));
	b->created = (time_t)col_ll(r, i, 1);
}

static int
block_list(struct pconn *c, struct store_block **out, size_t *n,
    struct acme_problem *prob)
{
	void *v;
	int rc =
	    pg_rows(c, S_BLOCK_LIST, sizeof(**out), block_row, &v, n, prob);

	*out = v;
	return rc;
}

/* --- open, migrate, close --- */

/*
 * The schema's version into *version: 0 when there is no schema yet.
 * Returns 0 or ACME_ERR_IO.
 */
static int
schema_version(struct pconn *c, int *version, struct acme_problem *prob)
{
	PGresult *r;
	int rc = 0;

	store_count_roundtrip(c->owner);
	r = PQexec(c->db, "SELECT to_regclass('schema_version') IS NOT NULL");
	*version = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		rc = db_fail(c->db, "schema version", prob);
	} else if (strcmp(PQgetvalue(r, 0, 0), "t") == 0) {
		PQclear(r);
		store_count_roundtrip(c->owner);
		r = PQexec(c->db, "SELECT max(version) FROM schema_version");
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
			rc = db_fail(c->db, "schema version", prob);
		else
			*version = (int)strtol(PQgetvalue(r, 0, 0), NULL, 10);
	}
	PQclear(r);
	return rc;
}

/*
 * Brings the schema to the newest version in one transaction, under an
 * advisory lock so that instances starting together apply it once.
 */
static int
migrate(struct pconn *c, struct acme_problem *prob)
{
	char q[MIGRATE_Q_MAX];
	int version = 0, i, rc;

	if ((rc = exec_simple(c, "BEGIN", prob)) != 0)
		return rc;
	if ((rc = exec_simple(c,
		 "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", prob)) !=
		0 ||
	    (rc = exec_simple(c,
		 "CREATE TABLE IF NOT EXISTS schema_version"
		 " (version integer NOT NULL)",
		 prob)) != 0 ||
	    (rc = schema_version(c, &version, prob)) != 0)
		goto out;
	if (version > SCHEMA_NEWEST) {
		rc = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database schema %d is newer than this anvil-ca (%d)",
		    version, SCHEMA_NEWEST);
		goto out;
	}
	for (i = version; i < SCHEMA_NEWEST; i++)
		if ((rc = exec_simple(c, migrations[i], prob)) != 0)
			goto out;
	if (version < SCHEMA_NEWEST) {
		snprintf(q, sizeof(q),
		    "DELETE FROM schema_version;"
		    " INSERT INTO schema_version VALUES (%d)",
		    SCHEMA_NEWEST);
		rc = exec_simple(c, q, prob);
	}
out:
	return own_end(c, 1, rc, prob);
}

/* The schema must be the newest; serve does not upgrade it (D65). */
static int
check_schema(struct pconn *c, struct acme_problem *prob)
{
	int version = 0, rc;

	if ((rc = schema_version(c, &version, prob)) != 0)
		return rc;
	if (version < SCHEMA_NEWEST)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database schema %d is older than this anvil-ca (%d):"
		    " run anvil-ca migrate -c FILE",
		    version, SCHEMA_NEWEST);
	if (version > SCHEMA_NEWEST)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database schema %d is newer than this anvil-ca (%d)",
		    version, SCHEMA_NEWEST);
	return 0;
}

static void
pg_close(struct store *st)
{
	struct pg *s = (struct pg *)st;
	struct pconn *c;

	while ((c = s->idle) != NULL) {
		s->idle = c->next;
		conn_free(c);
	}
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free(s->url);
	free(s);
}

struct store *
store_pg_open(const char *url, int pool, int migrate_now,
    struct acme_problem *prob)
{
	struct pg *s = calloc(1, sizeof(*s));
	struct pconn *c;
	int rc;

	if (s == NULL || (s->url = strdup(url)) == NULL) {
		free(s);
		oom(prob);
		return NULL;
	}
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s->url);
		free(s);
		oom(prob);
		return NULL;
	}
	if (pthread_cond_init(&s->freed, NULL) != 0) {
		pthread_mutex_destroy(&s->lock);
		free(s->url);
		free(s);
		oom(prob);
		return NULL;
	}
	s->base.ops = &pg_ops;
	s->max = pool > 0 ? pool : 1;
	/* The first connection, at once: a wrong URL fails here. */
	if ((c = acquire(s, prob)) == NULL) {
		pg_close(&s->base);
		return NULL;
	}
	rc = migrate_now ? migrate(c, prob) : check_schema(c, prob);
	release(s, 1);
	if (rc != 0) {
		pg_close(&s->base);
		return NULL;
	}
	return &s->base;
}

/*
 * The operations as the store's table holds them: each runs on the
 * calling thread's connection (acquire(), release()).
 */
#define POOLED(fn, params, args)                                               \
	static int pooled_##fn params                                          \
	{                                                                      \
		struct pg *s = (struct pg *)st;                                \
		struct pconn *c = acquire(s, prob);                            \
		int rc;                                                        \
                                                                               \
		if (c == NULL)                                                 \
			return ACME_ERR_IO;                                    \
		rc = fn args;                                                  \
		release(s, 1);                                                 \
		return rc;                                                     \
	}

POOLED(account_insert,
    (struct store * st, const struct store_account *a,
	struct acme_problem *prob),
    (c, a, prob))
POOLED(account_insert_eab,
    (struct store * st, const struct store_account *a,
	struct acme_problem *prob),
    (c, a, prob))
POOLED(account_get,
    (struct store * st, const char *id, struct store_account *out,
	struct acme_problem *prob),
    (c, id, out, prob))
POOLED(account_by_thumbprint,
    (struct store * st, const char *thumb, struct store_account *out,
	struct acme_problem *prob),
    (c, thumb, out, prob))
POOLED(account_update,
    (struct store * st, const struct store_account *seen,
	const struct store_account_change *chg, struct acme_problem *prob),
    (c, seen, chg, prob))
POOLED(order_insert,
    (struct store * st, const struct store_order *o,
	const struct store_authz *authzs, size_t nnew,
	struct acme_problem *prob),
    (c, o, authzs, nnew, prob))
POOLED(order_get,
    (struct store * st, const char *id, struct store_order *o,
	struct acme_problem *prob),
    (c, id, o, prob))
POOLED(order_set_status,
    (struct store * st, const char *id, enum store_status from,
	enum store_status to, const char *error, const char *cert_id,
	struct acme_problem *prob),
    (c, id, from, to, error, cert_id, prob))
POOLED(order_set_status_relaxed,
    (struct store * st, const char *id, enum store_status from,
	enum store_status to, const char *error, struct acme_problem *prob),
    (c, id, from, to, error, prob))
POOLED(order_claim,
    (struct store * st, const char *id, const char *owner, time_t until,
	struct acme_problem *prob),
    (c, id, owner, until, prob))
POOLED(order_claim_end,
    (struct store * st, const char *id, const char *owner, enum store_status to,
	const char *cert_id, struct acme_problem *prob),
    (c, id, owner, to, cert_id, prob))
POOLED(orders_unclaim,
    (struct store * st, time_t expired_before, size_t *n,
	struct acme_problem *prob),
    (c, expired_before, n, prob))
POOLED(order_list,
    (struct store * st, const char *account_id, const char *after,
	char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
	struct acme_problem *prob),
    (c, account_id, after, ids, max, n, prob))
POOLED(order_count_open,
    (struct store * st, const char *profile, time_t now, long long *n,
	struct acme_problem *prob),
    (c, profile, now, n, prob))
POOLED(authz_insert,
    (struct store * st, const struct store_authz *z, struct acme_problem *prob),
    (c, z, prob))
POOLED(authz_get,
    (struct store * st, const char *id, struct store_authz *z,
	struct acme_problem *prob),
    (c, id, z, prob))
POOLED(authz_find_valid,
    (struct store * st, const char *account_id, const struct acme_ident *ident,
	int wildcard, time_t min_expires, struct store_authz *out,
	struct acme_problem *prob),
    (c, account_id, ident, wildcard, min_expires, out, prob))
POOLED(authz_set_status,
    (struct store * st, const char *id, enum store_status from,
	enum store_status to, time_t expires, struct acme_problem *prob),
    (c, id, from, to, expires, prob))
POOLED(chall_get,
    (struct store * st, const char *id, struct store_chall *out,
	struct acme_problem *prob),
    (c, id, out, prob))
POOLED(chall_update,
    (struct store * st, const struct store_chall *ch, enum store_status from,
	struct acme_problem *prob),
    (c, ch, from, prob))
POOLED(job_add,
    (struct store * st, const struct store_job *j, struct acme_problem *prob),
    (c, j, prob))
POOLED(job_done,
    (struct store * st, const char *chall_id, struct acme_problem *prob),
    (c, chall_id, prob))
POOLED(job_list,
    (struct store * st, struct store_job *jobs, size_t max, size_t *n,
	struct acme_problem *prob),
    (c, jobs, max, n, prob))
POOLED(jobs_claim,
    (struct store * st, const char *owner, time_t expired_before, time_t until,
	struct store_job *jobs, size_t max, size_t *n,
	struct acme_problem *prob),
    (c, owner, expired_before, until, jobs, max, n, prob))
POOLED(job_release,
    (struct store * st, const char *chall_id, struct acme_problem *prob),
    (c, chall_id, prob))
POOLED(lease_renew,
    (struct store * st, const char *owner, time_t until,
	struct acme_problem *prob),
    (c, owner, until, prob))
POOLED(cert_insert,
    (struct store * st, const struct store_cert *ct, struct acme_problem *prob),
    (c, ct, prob))
POOLED(cert_get,
    (struct store * st, const char *id, struct store_cert *out,
	struct acme_problem *prob),
    (c, id, out, prob))
POOLED(cert_by_serial,
    (struct store * st, const char *serial, struct store_cert *out,
	struct acme_problem *prob),
    (c, serial, out, prob))
POOLED(cert_revoke,
    (struct store * st, const char *id, time_t when, int reason,
	struct acme_problem *prob),
    (c, id, when, reason, prob))
POOLED(cert_set_window,
    (struct store * st, const char *serial, time_t start, time_t end,
	const char *explanation, time_t now, size_t *n,
	struct acme_problem *prob),
    (c, serial, start, end, explanation, now, n, prob))
POOLED(order_replacing,
    (struct store * st, const char *cert_id, char out[STORE_ID_SIZE],
	struct acme_problem *prob),
    (c, cert_id, out, prob))
POOLED(order_first_replacing,
    (struct store * st, const char *cert_id, char out[STORE_ID_SIZE],
	struct acme_problem *prob),
    (c, cert_id, out, prob))
POOLED(revocations,
    (struct store * st, long long *n, struct acme_problem *prob), (c, n, prob))
POOLED(cert_revoked,
    (struct store * st, time_t expiring_from, struct store_revoked **out,
	size_t *n, struct acme_problem *prob),
    (c, expiring_from, out, n, prob))
POOLED(crl_latest,
    (struct store * st, struct store_crl *out, struct acme_problem *prob),
    (c, out, prob))
POOLED(crl_insert,
    (struct store * st, const struct store_crl *crl, struct acme_problem *prob),
    (c, crl, prob))
POOLED(rl_take,
    (struct store * st, const char *key, int64_t now, int64_t interval,
	int64_t burst, int mode, int64_t *retry_ms, struct acme_problem *prob),
    (c, key, now, interval, burst, mode, retry_ms, prob))
POOLED(eab_insert,
    (struct store * st, const struct store_eab *e, struct acme_problem *prob),
    (c, e, prob))
POOLED(eab_get,
    (struct store * st, const char *kid, struct store_eab *out,
	struct acme_problem *prob),
    (c, kid, out, prob))
POOLED(eab_bind,
    (struct store * st, const char *kid, const char *account_id,
	struct acme_problem *prob),
    (c, kid, account_id, prob))
POOLED(eab_list,
    (struct store * st, struct store_eab **out, size_t *n,
	struct acme_problem *prob),
    (c, out, n, prob))
POOLED(eab_remove,
    (struct store * st, const char *kid, struct acme_problem *prob),
    (c, kid, prob))
POOLED(account_pause,
    (struct store * st, const char *id, time_t when, struct acme_problem *prob),
    (c, id, when, prob))
POOLED(cert_find,
    (struct store * st, const char *account_id, const char *name,
	char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
	struct acme_problem *prob),
    (c, account_id, name, ids, max, n, prob))
POOLED(block_add,
    (struct store * st, const char *name, time_t when,
	struct acme_problem *prob),
    (c, name, when, prob))
POOLED(name_blocked,
    (struct store * st, const char *name, char *match, size_t size,
	struct acme_problem *prob),
    (c, name, match, size, prob))
POOLED(account_unpause,
    (struct store * st, const char *id, struct acme_problem *prob),
    (c, id, prob))
POOLED(block_remove,
    (struct store * st, const char *name, struct acme_problem *prob),
    (c, name, prob))
POOLED(block_list,
    (struct store * st, struct store_block **out, size_t *n,
	struct acme_problem *prob),
    (c, out, n, prob))
POOLED(audit_add,
    (struct store * st, const char *line, struct acme_problem *prob),
    (c, line, prob))
POOLED(audit_pending,
    (struct store * st, struct store_audit *rows, size_t max, size_t *n,
	struct acme_problem *prob),
    (c, rows, max, n, prob))
POOLED(audit_done, (struct store * st, int64_t seq, struct acme_problem *prob),
    (c, seq, prob))
POOLED(nonce_key,
    (struct store * st, unsigned char key[NONCE_KEY_LEN],
	struct acme_problem *prob),
    (c, key, prob))
POOLED(nonce_spend,
    (struct store * st, const unsigned char nonce[NONCE_BLOCK], int64_t expires,
	int64_t now, struct acme_problem *prob),
    (c, nonce, expires, now, prob))
#undef POOLED

static const struct store_ops pg_ops = {
	.name = "postgresql",
	.close = pg_close,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.account_insert = pooled_account_insert,
	.account_insert_eab = pooled_account_insert_eab,
	.account_get = pooled_account_get,
	.account_by_thumbprint = pooled_account_by_thumbprint,
	.account_update = pooled_account_update,
	.order_insert = pooled_order_insert,
	.order_get = pooled_order_get,
	.order_set_status = pooled_order_set_status,
	.order_set_status_relaxed = pooled_order_set_status_relaxed,
	.order_claim = pooled_order_claim,
	.order_claim_end = pooled_order_claim_end,
	.orders_unclaim = pooled_orders_unclaim,
	.order_list = pooled_order_list,
	.order_count_open = pooled_order_count_open,
	.authz_insert = pooled_authz_insert,
	.authz_get = pooled_authz_get,
	.authz_find_valid = pooled_authz_find_valid,
	.authz_set_status = pooled_authz_set_status,
	.chall_get = pooled_chall_get,
	.chall_update = pooled_chall_update,
	.job_add = pooled_job_add,
	.job_done = pooled_job_done,
	.job_list = pooled_job_list,
	.jobs_claim = pooled_jobs_claim,
	.job_release = pooled_job_release,
	.lease_renew = pooled_lease_renew,
	.cert_insert = pooled_cert_insert,
	.cert_get = pooled_cert_get,
	.cert_by_serial = pooled_cert_by_serial,
	.cert_set_window = pooled_cert_set_window,
	.order_replacing = pooled_order_replacing,
	.order_first_replacing = pooled_order_first_replacing,
	.cert_revoke = pooled_cert_revoke,
	.revocations = pooled_revocations,
	.cert_revoked = pooled_cert_revoked,
	.crl_latest = pooled_crl_latest,
	.crl_insert = pooled_crl_insert,
	.rl_take = pooled_rl_take,
	.eab_insert = pooled_eab_insert,
	.eab_get = pooled_eab_get,
	.eab_bind = pooled_eab_bind,
	.eab_list = pooled_eab_list,
	.eab_remove = pooled_eab_remove,
	.account_pause = pooled_account_pause,
	.cert_find = pooled_cert_find,
	.block_add = pooled_block_add,
	.name_blocked = pooled_name_blocked,
	.account_unpause = pooled_account_unpause,
	.block_remove = pooled_block_remove,
	.block_list = pooled_block_list,
	.audit_add = pooled_audit_add,
	.audit_pending = pooled_audit_pending,
	.audit_done = pooled_audit_done,
	.nonce_key = pooled_nonce_key,
	.nonce_spend = pooled_nonce_spend,
};
