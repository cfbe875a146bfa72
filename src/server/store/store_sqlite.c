/* SPDX-License-Identifier: ISC */
/*
 * The SQLite back end of the storage interface (see store.h).
 *
 * One database file in WAL mode with synchronous=FULL: every commit is
 * on disk before the call returns.  Each thread gets its own connection,
 * opened on the thread's first call with SQLITE_OPEN_NOMUTEX (it is never
 * shared) and kept, with its prepared statements, until the thread exits
 * (a pthread key destructor closes it) or the store is closed, whichever
 * comes first.  Statements are prepared once per connection, indexed by
 * enum stmt, and reset after each use; every value goes in as a bound
 * parameter.  Schema changes are numbered migrations tracked in PRAGMA
 * user_version and applied in one transaction.  store_close() must only
 * be called once the threads that used the store have stopped using it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include <anvil/err.h>
#include <anvil/json.h>

#include "store.h"
#include "../gsync.h"
#include "store_rows.h"
#include "store_sqlite.h"

#include "internal.h"

/*
 * Numbered migrations; entry i brings the schema to version i + 1 and
 * ends by setting PRAGMA user_version to that number (a constant: PRAGMA
 * takes no parameters), which migrate() checks.  Never edit an entry that
 * has shipped; append a new one.
 */
static const char *const migrations[] = {
	"CREATE TABLE accounts ("
	" id TEXT PRIMARY KEY, status INTEGER NOT NULL,"
	" thumbprint TEXT NOT NULL UNIQUE, jwk TEXT NOT NULL, contact TEXT,"
	" tos_agreed INTEGER NOT NULL, eab TEXT, eab_kid TEXT NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE orders ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,"
	" account_id TEXT NOT NULL, status INTEGER NOT NULL,"
	" expires INTEGER NOT NULL, not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL, created INTEGER NOT NULL,"
	" identifiers TEXT NOT NULL, authz_ids TEXT NOT NULL, error TEXT,"
	" cert_id TEXT NOT NULL, profile TEXT NOT NULL,"
	" replaces TEXT NOT NULL);"
	"CREATE INDEX orders_by_account ON orders (account_id, seq);"
	"CREATE TABLE authzs ("
	" id TEXT PRIMARY KEY, account_id TEXT NOT NULL,"
	" ident_type INTEGER NOT NULL, ident_value TEXT NOT NULL,"
	" wildcard INTEGER NOT NULL, status INTEGER NOT NULL,"
	" expires INTEGER NOT NULL, created INTEGER NOT NULL);"
	"CREATE INDEX authzs_reuse ON authzs"
	" (account_id, ident_type, ident_value, wildcard, status, expires);"
	"CREATE TABLE challs ("
	" id TEXT PRIMARY KEY, authz_id TEXT NOT NULL, type INTEGER NOT NULL,"
	" status INTEGER NOT NULL, token TEXT NOT NULL,"
	" validated INTEGER NOT NULL, error TEXT, attempts INTEGER NOT NULL);"
	"CREATE INDEX challs_by_authz ON challs (authz_id);"
	"CREATE TABLE jobs ("
	" seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" chall_id TEXT NOT NULL UNIQUE, not_before INTEGER NOT NULL);"
	"CREATE TABLE certs ("
	" id TEXT PRIMARY KEY, serial TEXT NOT NULL UNIQUE,"
	" account_id TEXT NOT NULL, order_id TEXT NOT NULL,"
	" chain_pem TEXT NOT NULL, alt_chain_pem TEXT,"
	" not_before INTEGER NOT NULL, not_after INTEGER NOT NULL,"
	" revoked_at INTEGER NOT NULL, reason INTEGER NOT NULL);"
	"CREATE TABLE eab ("
	" kid TEXT PRIMARY KEY, key BLOB NOT NULL, account_id TEXT NOT NULL,"
	" created INTEGER NOT NULL);"
	"PRAGMA user_version = 1;",
	/* 2: renewal information (RFC 9773).  A window the operator set
	 * (0/0: none), and at most one order that is not invalid (status
	 * 5) replacing a given certificate, enforced by the index so that
	 * two racing newOrders cannot both win (S-ARI-13). */
	"ALTER TABLE certs ADD COLUMN ari_start INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE certs ADD COLUMN ari_end INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE certs ADD COLUMN ari_explanation TEXT;"
	"CREATE UNIQUE INDEX orders_replacing ON orders (replaces)"
	" WHERE replaces != '' AND status != 5;"
	"PRAGMA user_version = 2;",
	/* 3: the profile a certificate was issued under; open orders
	 * counted per profile while it drains (S-PROF-7). */
	"ALTER TABLE certs ADD COLUMN profile TEXT NOT NULL DEFAULT '';"
	"UPDATE certs SET profile = coalesce((SELECT o.profile FROM orders o"
	" WHERE o.id = certs.order_id), '');"
	"CREATE INDEX orders_by_profile ON orders (profile, status);"
	"PRAGMA user_version = 3;",
	/* 4: fewer pages written per issuance (D43).  jobs keyed by the
	 * challenge alone, without rowid: one B-tree, no sqlite_sequence
	 * (listed by not_before); orders.seq without AUTOINCREMENT, which
	 * wrote sqlite_sequence on every insert (orders are never deleted,
	 * so max + 1 is the same number); the per-profile and reuse
	 * indexes hold only the rows their queries look for, open orders
	 * (below ST_VALID 4: ST_PENDING 1, ST_PROCESSING 2, ST_READY 3) and
	 * valid authorizations (a range, not IN (1, 2, 3), which SQLite
	 * evaluates with a temporary table on every write of a row).  Both
	 * tables are rebuilt (SQLite cannot drop AUTOINCREMENT), orders'
	 * indexes made again. */
	"CREATE TABLE jobs_new ("
	" chall_id TEXT PRIMARY KEY, not_before INTEGER NOT NULL)"
	" WITHOUT ROWID;"
	"INSERT INTO jobs_new (chall_id, not_before)"
	" SELECT chall_id, not_before FROM jobs;"
	"DROP TABLE jobs;"
	"ALTER TABLE jobs_new RENAME TO jobs;"
	"CREATE TABLE orders_new ("
	" seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
	" account_id TEXT NOT NULL, status INTEGER NOT NULL,"
	" expires INTEGER NOT NULL, not_before INTEGER NOT NULL,"
	" not_after INTEGER NOT NULL, created INTEGER NOT NULL,"
	" identifiers TEXT NOT NULL, authz_ids TEXT NOT NULL, error TEXT,"
	" cert_id TEXT NOT NULL, profile TEXT NOT NULL,"
	" replaces TEXT NOT NULL);"
	"INSERT INTO orders_new (seq, id, account_id, status, expires,"
	" not_before, not_after, created, identifiers, authz_ids, error,"
	" cert_id, profile, replaces)"
	" SELECT seq, id, account_id, status, expires, not_before,"
	" not_after, created, identifiers, authz_ids, error, cert_id,"
	" profile, replaces FROM orders ORDER BY seq;"
	"DROP TABLE orders;"
	"ALTER TABLE orders_new RENAME TO orders;"
	"CREATE INDEX orders_by_account ON orders (account_id, seq);"
	"CREATE UNIQUE INDEX orders_replacing ON orders (replaces)"
	" WHERE replaces != '' AND status != 5;"
	"CREATE INDEX orders_open ON orders (profile, expires)"
	" WHERE status < 4;"
	"DROP INDEX authzs_reuse;"
	"CREATE INDEX authzs_valid ON authzs"
	" (account_id, ident_type, ident_value, wildcard, expires)"
	" WHERE status = 4;"
	"PRAGMA user_version = 4;",
	/* 5: the audit outbox (D44): each audit line is recorded in the
	 * transaction of its event and copied to audit.log afterwards. */
	"CREATE TABLE audit_outbox (seq INTEGER PRIMARY KEY,"
	" line TEXT NOT NULL);"
	"PRAGMA user_version = 5;",
	/* 6: CRLs (D50).  The revoked certificates alone in a partial
	 * index, which counting and listing them read instead of every
	 * certificate; the newest CRL signed, so that every process
	 * serves the same one and numbers keep rising across restarts. */
	"CREATE INDEX certs_revoked ON certs (serial) WHERE revoked_at != 0;"
	"CREATE TABLE crls (number INTEGER PRIMARY KEY,"
	" this_update INTEGER NOT NULL, next_update INTEGER NOT NULL,"
	" revocations INTEGER NOT NULL, der BLOB NOT NULL);"
	"PRAGMA user_version = 6;",
	/* 7: rate limits (D51): one row per key that is not full. */
	"CREATE TABLE ratelimits (key TEXT PRIMARY KEY,"
	" tat INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX ratelimits_by_tat ON ratelimits (tat);"
	"PRAGMA user_version = 7;",
	/* 8: every order replacing a certificate, invalid ones too, so
	 * that the first of them can be found (D57). */
	"CREATE INDEX orders_replaced ON orders (replaces)"
	" WHERE replaces != '';"
	"PRAGMA user_version = 8;",
	/* 9: the operator's actions (D74): paused accounts (when, 0 for
	 * not paused) and blocked names, each blocking its subtree. */
	"ALTER TABLE accounts ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE blocked_names (name TEXT PRIMARY KEY,"
	" created INTEGER NOT NULL) WITHOUT ROWID;"
	"PRAGMA user_version = 9;",
};

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
	S_AUDIT_ADD,
	S_AUDIT_PENDING,
	S_AUDIT_DONE,
	S__COUNT
};

/*
 * SQLite uses a partial index only for a query whose WHERE spells out
 * the index's own terms, so queries and indexes name statuses by their
 * numbers (migration 4), which are stored and so never change; the open
 * order statuses are the ones below ST_VALID.
 */
_Static_assert(ST_PENDING == 1 && ST_PROCESSING == 2 && ST_READY == 3 &&
		   ST_VALID == 4 && ST_INVALID == 5,
    "statuses are numbers in the schema");

static const char *const sql[S__COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_BEGIN_READ] = "BEGIN",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_ACCT_INSERT] = "INSERT INTO accounts (id, status, thumbprint, jwk,"
			  " contact, tos_agreed, eab, eab_kid, created)"
			  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_ACCT_GET] = "SELECT id, status, thumbprint, jwk, contact,"
		       " tos_agreed, eab, eab_kid, created, paused"
		       " FROM accounts WHERE id = ?",
	[S_ACCT_BY_THUMB] = "SELECT id, status, thumbprint, jwk, contact,"
			    " tos_agreed, eab, eab_kid, created, paused"
			    " FROM accounts WHERE thumbprint = ?",
	/* D54: only the columns given, and only from the state read. */
	[S_ACCT_UPDATE] = "UPDATE accounts SET"
			  " status = coalesce(nullif(?, 0), status),"
			  " thumbprint = coalesce(?, thumbprint),"
			  " jwk = coalesce(?, jwk),"
			  " contact = coalesce(?, contact)"
			  " WHERE id = ? AND status = ? AND thumbprint = ?",
	[S_ACCT_EXISTS] = "SELECT 1 FROM accounts WHERE id = ?",
	[S_ORDER_INSERT] = "INSERT INTO orders (id, account_id, status,"
			   " expires, not_before, not_after, created,"
			   " identifiers, authz_ids, error, cert_id, profile,"
			   " replaces)"
			   " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_ORDER_GET] = "SELECT id, account_id, status, expires, not_before,"
			" not_after, created, identifiers, authz_ids, error,"
			" cert_id, profile, replaces FROM orders WHERE id = ?",
	[S_ORDER_EXISTS] = "SELECT 1 FROM orders WHERE id = ?",
	[S_ORDER_SET_STATUS] = "UPDATE orders SET status = ?,"
			       " error = coalesce(?, error),"
			       " cert_id = coalesce(?, cert_id)"
			       " WHERE id = ? AND status = ?",
	/* The second term, implied by the first, lets orders_open serve it. */
	[S_ORDER_UNCLAIM] = "UPDATE orders SET status = 3 WHERE status = 2"
			    " AND status < 4",
	[S_ORDER_SEQ] = "SELECT seq FROM orders WHERE id = ?"
			" AND account_id = ?",
	[S_ORDER_LIST] = "SELECT id FROM orders WHERE account_id = ?"
			 " AND seq > ? AND status != ? ORDER BY seq LIMIT ?",
	[S_ORDER_COUNT_OPEN] = "SELECT count(*) FROM orders WHERE profile = ?"
			       " AND status < 4 AND expires > ?",
	[S_AUTHZ_INSERT] = "INSERT INTO authzs (id, account_id, ident_type,"
			   " ident_value, wildcard, status, expires, created)"
			   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[S_AUTHZ_GET] = "SELECT id, account_id, ident_type, ident_value,"
			" wildcard, status, expires, created FROM authzs"
			" WHERE id = ?",
	[S_AUTHZ_EXISTS] = "SELECT 1 FROM authzs WHERE id = ?",
	[S_AUTHZ_FIND_VALID] = "SELECT id FROM authzs WHERE account_id = ?"
			       " AND ident_type = ? AND ident_value = ?"
			       " AND wildcard = ? AND status = 4"
			       " AND expires > ?"
			       " ORDER BY expires DESC, created DESC,"
			       " rowid DESC LIMIT 1",
	[S_AUTHZ_SET_STATUS] = "UPDATE authzs SET status = ?,"
			       " expires = CASE WHEN ? > 0 THEN ? ELSE expires"
			       " END WHERE id = ? AND status = ?",
	[S_CHALL_INSERT] = "INSERT INTO challs (id, authz_id, type, status,"
			   " token, validated, error, attempts)"
			   " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	[S_CHALL_BY_AUTHZ] = "SELECT id, authz_id, type, status, token,"
			     " validated, error, attempts FROM challs"
			     " WHERE authz_id = ? ORDER BY type, id",
	[S_CHALL_GET] = "SELECT id, authz_id, type, status, token, validated,"
			" error, attempts FROM challs WHERE id = ?",
	[S_CHALL_EXISTS] = "SELECT 1 FROM challs WHERE id = ?",
	[S_CHALL_UPDATE] = "UPDATE challs SET status = ?, validated = ?,"
			   " error = ?, attempts = ? WHERE id = ?"
			   " AND status = ?",
	[S_JOB_ADD] = "INSERT OR REPLACE INTO jobs (chall_id, not_before)"
		      " VALUES (?, ?)",
	[S_JOB_DONE] = "DELETE FROM jobs WHERE chall_id = ?",
	[S_JOB_LIST] = "SELECT chall_id, not_before FROM jobs"
		       " ORDER BY not_before, chall_id LIMIT ?",
	[S_CERT_INSERT] = "INSERT INTO certs (id, serial, account_id,"
			  " order_id, chain_pem, alt_chain_pem, not_before,"
			  " not_after, revoked_at, reason, profile)"
			  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	[S_CERT_GET] = "SELECT id, serial, account_id, order_id, chain_pem,"
		       " alt_chain_pem, not_before, not_after, revoked_at,"
		       " reason, ari_start, ari_end, ari_explanation,"
		       " profile FROM certs WHERE id = ?",
	[S_CERT_BY_SERIAL] = "SELECT id, serial, account_id, order_id,"
			     " chain_pem, alt_chain_pem, not_before,"
			     " not_after, revoked_at, reason, ari_start,"
			     " ari_end, ari_explanation, profile FROM certs"
			     " WHERE serial = ?",
	[S_CERT_EXISTS] = "SELECT 1 FROM certs WHERE id = ?",
	[S_CERT_REVOKE] = "UPDATE certs SET revoked_at = ?, reason = ?"
			  " WHERE id = ? AND revoked_at = 0",
	[S_CERT_WINDOW] = "UPDATE certs SET ari_start = ?, ari_end = ?,"
			  " ari_explanation = ? WHERE serial = ?",
	[S_CERT_WINDOW_ALL] = "UPDATE certs SET ari_start = ?, ari_end = ?,"
			      " ari_explanation = ? WHERE revoked_at = 0"
			      " AND not_after > ?",
	[S_ORDER_REPLACING] = "SELECT id FROM orders WHERE replaces = ?"
			      " AND replaces != '' AND status != 5"
			      " LIMIT 1",
	[S_ORDER_FIRST_REPLACING] = "SELECT id FROM orders"
				    " WHERE replaces != '' AND replaces = ?"
				    " ORDER BY seq LIMIT 1",
	/* Both spell out certs_revoked's own term (see above). */
	[S_REVOCATIONS] = "SELECT count(*) FROM certs WHERE revoked_at != 0",
	[S_CERT_REVOKED] = "SELECT serial, revoked_at, reason FROM certs"
			   " WHERE revoked_at != 0 AND not_after >= ?"
			   " ORDER BY serial",
	[S_CRL_LATEST] = "SELECT number, this_update, next_update,"
			 " revocations, der FROM crls WHERE number ="
			 " (SELECT max(number) FROM crls)",
	[S_CRL_MAX] = "SELECT coalesce(max(number), 0) FROM crls",
	[S_CRL_INSERT] = "INSERT INTO crls (number, this_update,"
			 " next_update, revocations, der)"
			 " VALUES (?, ?, ?, ?, ?)",
	[S_CRL_PRUNE] = "DELETE FROM crls WHERE number < ?",
	[S_RL_GET] = "SELECT tat FROM ratelimits WHERE key = ?",
	[S_RL_PUT] = "INSERT OR REPLACE INTO ratelimits (key, tat)"
		     " VALUES (?, ?)",
	[S_RL_PRUNE] = "DELETE FROM ratelimits WHERE tat < ?",
	[S_EAB_INSERT] = "INSERT INTO eab (kid, key, account_id, created)"
			 " VALUES (?, ?, '', ?)",
	[S_EAB_GET] = "SELECT kid, key, account_id, created FROM eab"
		      " WHERE kid = ?",
	[S_EAB_EXISTS] = "SELECT 1 FROM eab WHERE kid = ?",
	[S_EAB_BIND] = "UPDATE eab SET account_id = ? WHERE kid = ?"
		       " AND account_id = ''",
	[S_EAB_LIST] = "SELECT kid, account_id, created FROM eab"
		       " ORDER BY created, kid",
	[S_EAB_REMOVE] = "DELETE FROM eab WHERE kid = ?",
	[S_ACCT_PAUSE] = "UPDATE accounts SET paused = ? WHERE id = ?"
			 " AND paused = 0",
	/* The order's identifiers are compact JSON: "value":"NAME" is
	 * exactly an identifier NAME (D74). */
	[S_CERT_FIND] = "SELECT c.id FROM certs c LEFT JOIN orders o"
			" ON o.id = c.order_id"
			" WHERE (?1 IS NULL OR c.account_id = ?1)"
			" AND (?2 IS NULL OR instr(o.identifiers, ?2) > 0)"
			" ORDER BY c.not_before, c.id LIMIT ?3",
	[S_BLOCK_ADD] = "INSERT INTO blocked_names (name, created)"
			" VALUES (?, ?)",
	[S_BLOCK_MATCH] = "SELECT name FROM blocked_names WHERE name = ?1"
			  " OR substr(?1, -length(name) - 1) = '.' || name"
			  " ORDER BY length(name) LIMIT 1",
	[S_AUDIT_ADD] = "INSERT INTO audit_outbox (line) VALUES (?)",
	[S_AUDIT_PENDING] = "SELECT seq, line FROM audit_outbox ORDER BY seq"
			    " LIMIT ?",
	[S_AUDIT_DONE] = "DELETE FROM audit_outbox WHERE seq <= ?",
};

struct sq;

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
	int flush_errno;       /* why the last flush failed */
};

static const struct store_ops sqlite_ops;

/*
 * Makes the WAL durable, as gsync_commit()'s flush: (re)opens it when
 * needed (never opened, or unlinked and recreated since) and
 * fdatasyncs it.  Never runs in two threads at once.
 */
static int
flush_wal(void *arg)
{
	struct sq *s = arg;
	char path[4096];
	struct stat sb;

	if (s->walfd >= 0 && (fstat(s->walfd, &sb) != 0 || sb.st_nlink == 0)) {
		close(s->walfd);
		s->walfd = -1;
	}
	if (s->walfd < 0) {
		snprintf(path, sizeof(path), "%s-wal", s->path);
		s->walfd = open(path, O_RDWR | O_CLOEXEC);
	}
	if (s->walfd >= 0 && fdatasync(s->walfd) == 0)
		return 0;
	s->flush_errno = errno;
	return ACME_ERR_IO;
}

/*
 * Connections run with synchronous=NORMAL, so a commit in WAL mode only
 * writes; every write then comes here and returns only once its commit
 * is on disk (group commit, gsync.h), so no reply ever reports a change
 * that a power loss could take back.  After a crash SQLite drops WAL
 * frames that never reached the disk whole, so the database is the
 * state of the last flush.
 */
static int
durable(struct sq *s, struct acme_problem *prob)
{
	if (gsync_commit(&s->gs, flush_wal, s) != 0)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: cannot sync %s-wal: %s", s->path,
		    strerror(s->flush_errno));
	return 0;
}

/* Fills prob with SQLite's message for db; returns ACME_ERR_IO. */
static int
db_fail(sqlite3 *db, const char *what, struct acme_problem *prob)
{
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "database: %s: %s",
	    what, db != NULL ? sqlite3_errmsg(db) : "out of memory");
	return ACME_ERR_IO;
}

static int
oom(struct acme_problem *prob)
{
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "out of memory");
	return ACME_ERR_NOMEM;
}

/*
 * Opens path with the pragmas every connection needs: WAL (checked: a
 * file system without shared memory would silently keep the rollback
 * journal), synchronous=NORMAL (durability comes from the group commit
 * in durable()), a 5 s busy timeout and foreign keys.  A new database
 * gets 1 KiB pages (D42): every commit writes each page it touched to
 * the WAL, and ACME rows are a few hundred bytes, so 4 KiB pages wrote
 * 2.8x the bytes per issuance.  The pragma only takes effect before
 * the first page is written; an existing database keeps its size.
 * Returns 0 with *out set, or ACME_ERR_IO with prob set.
 */
/*
 * The database holds the EAB HMAC keys and every account: it and its
 * -wal and -shm are the owner's only, whatever the umask.  SQLite
 * creates -wal and -shm with the mode of the database file, so creating
 * that 0600 covers them; files an older anvil-ca left readable lose
 * their group and other bits.  Returns 0, or ACME_ERR_IO with prob set
 * when a file cannot be made private.
 */
static int
private_files(const char *path, struct acme_problem *prob)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[4096];
	struct stat sb;
	size_t i;
	int fd;

	if (strcmp(path, ":memory:") == 0)
		return 0;
	/*
	 * Only a file that does not exist is opened here: closing any
	 * descriptor of a database file would drop the POSIX locks this
	 * process's SQLite connections hold on it.
	 */
	if (stat(path, &sb) != 0 && errno == ENOENT &&
	    (fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) >= 0)
		close(fd);
	for (i = 0; i < ACME_ARRAY_LEN(suffix); i++) {
		if (snprintf(p, sizeof(p), "%s%s", path, suffix[i]) >=
			(int)sizeof(p) ||
		    stat(p, &sb) != 0 || (sb.st_mode & 077) == 0)
			continue;
		if (chmod(p, sb.st_mode & 07700) != 0)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "database: cannot make %s private: %s", p,
			    strerror(errno));
	}
	return 0;
}

static int
open_db(const char *path, sqlite3 **out, struct acme_problem *prob)
{
	static const char pragmas[] = "PRAGMA page_size = 1024;"
				      "PRAGMA busy_timeout = 5000;"
				      "PRAGMA synchronous = NORMAL;"
				      "PRAGMA foreign_keys = ON;";
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	const unsigned char *mode;
	int rc = ACME_ERR_IO;

	if (sqlite3_open_v2(path, &db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		db_fail(db, path, prob);
		goto out;
	}
	if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, "pragmas", prob);
		goto out;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &q, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		db_fail(db, "journal_mode", prob);
		goto out;
	}
	mode = sqlite3_column_text(q, 0);
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: %s: cannot use WAL mode", path);
		goto out;
	}
	*out = db;
	db = NULL;
	rc = 0;
out:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return rc;
}

static void
conn_free(struct conn *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

/*
 * How deep the calling thread is in the store's lock (0: it does not
 * hold it); a store operation inside a transaction nests.  Per thread,
 * so no thread ever reads another's.
 */
static _Thread_local int held;

/* Takes the connection for a store operation (or a transaction). */
static void
enter(struct sq *s)
{
	if (held++ == 0)
		pthread_mutex_lock(&s->lock);
}

/*
 * Ends what enter() began; levels: 1, or 2 where COMMIT or ROLLBACK also
 * ends BEGIN's hold.  When the lock goes, a write made under it is
 * flushed (durable()) outside it, so other threads use the connection
 * while this one waits for the disk.  Returns rc, or durable()'s error.
 */
static int
leave(struct sq *s, int levels, int rc, struct acme_problem *prob)
{
	int flush;

	held -= levels;
	if (held > 0)
		return rc;
	flush = s->unflushed;
	s->unflushed = 0;
	pthread_mutex_unlock(&s->lock);
	if (flush && rc == 0)
		rc = durable(s, prob);
	return rc;
}

/* SQLite's own automatic checkpoint threshold, in WAL pages. */
#define CKPT_PAGES 1000
#define CKPT_LIMIT (3 * CKPT_PAGES)

/*
 * The connection's WAL hook, after each commit, with the WAL's size in
 * pages: past CKPT_PAGES the checkpoint thread is woken.  Taking over
 * the hook turns SQLite's automatic checkpoint off for the connection.
 * The WAL only starts over when a commit finds all of it copied, which
 * under writes without a pause the thread may never let it see; past
 * CKPT_LIMIT the commit checkpoints itself, as SQLite's own would, so
 * the WAL stays bounded (the thread has copied most of it by then).
 */
static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct sq *s = arg;

	if (pages >= CKPT_LIMIT) {
		if (sqlite3_wal_checkpoint_v2(db, name,
			SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) != SQLITE_BUSY)
			return SQLITE_OK;
		/*
		 * Busy: the thread is copying (or another process is).
		 * Wait for the thread's checkpoint to end and take over,
		 * else the WAL would grow for as long as that one lasts.
		 */
		pthread_mutex_lock(&s->ck_lock);
		while (s->ck_running)
			pthread_cond_wait(&s->ck_cond, &s->ck_lock);
		pthread_mutex_unlock(&s->ck_lock);
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
		return SQLITE_OK;
	}
	if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&s->ck_lock);
		if (!s->ck_want) {
			s->ck_want = 1;
			/* store_sqlite_checkpoints() may wait on it too. */
			pthread_cond_broadcast(&s->ck_cond);
		}
		pthread_mutex_unlock(&s->ck_lock);
	}
	return SQLITE_OK;
}

/*
 * The checkpoint thread: a PASSIVE checkpoint on keeper each time one is
 * asked for.  It copies what no reader still needs into the database
 * and never waits for a writer, so the WAL keeps being written meanwhile
 * and starts over from its beginning once a checkpoint got all of it.
 */
static void *
checkpointer(void *arg)
{
	struct sq *s = arg;

	pthread_mutex_lock(&s->ck_lock);
	while (!s->ck_stop) {
		if (!s->ck_want) {
			pthread_cond_wait(&s->ck_cond, &s->ck_lock);
			continue;
		}
		s->ck_want = 0;
		s->ck_running = 1;
		pthread_mutex_unlock(&s->ck_lock);
		sqlite3_wal_checkpoint_v2(s->keeper, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&s->ck_lock);
		s->ck_running = 0;
		s->ck_done++;
		pthread_cond_broadcast(&s->ck_cond);
	}
	pthread_mutex_unlock(&s->ck_lock);
	return NULL;
}

/* The connection, opened on first use; NULL with prob set. */
static struct conn *
conn_get(struct sq *s, struct acme_problem *prob)
{
	struct conn *c = s->conn;

	if (c != NULL)
		return c;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		oom(prob);
		return NULL;
	}
	if (open_db(s->path, &c->db, prob) != 0) {
		free(c);
		return NULL;
	}
	if (s->ck_started)
		sqlite3_wal_hook(c->db, wal_hook, s);
	return s->conn = c;
}

/*
 * The prepared statement id on the connection, reset and with
 * its parameters bound from types: 's' text (NULL binds NULL), 'i'
 * long long, 'b' blob (pointer, size_t length).  Returns NULL with prob
 * set on failure; the callers then return ACME_ERR_IO.
 */
static sqlite3_stmt *
prep(struct store *st, enum stmt id, struct acme_problem *prob,
    const char *types, ...)
{
	struct sq *s = (struct sq *)st;
	struct conn *c = conn_get(s, prob);
	sqlite3_stmt *q;
	va_list ap;
	int i, rc = SQLITE_OK;

	if (c == NULL)
		return NULL;
	if (c->st[id] == NULL &&
	    sqlite3_prepare_v3(c->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT,
		&c->st[id], NULL) != SQLITE_OK) {
		db_fail(c->db, "prepare", prob);
		return NULL;
	}
	q = c->st[id];
	sqlite3_reset(q);
	sqlite3_clear_bindings(q);
	va_start(ap, types);
	for (i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
		switch (types[i]) {
		case 's': {
			const char *v = va_arg(ap, const char *);

			if (v != NULL)
				rc = sqlite3_bind_text(q, i + 1, v, -1,
				    SQLITE_TRANSIENT);
			else
				rc = sqlite3_bind_null(q, i + 1);
			break;
		}
		case 'i':
			rc = sqlite3_bind_int64(q, i + 1,
			    (sqlite3_int64)va_arg(ap, long long));
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			size_t n = va_arg(ap, size_t);

			rc = n > INT32_MAX ? SQLITE_TOOBIG :
					     sqlite3_bind_blob(q, i + 1, p,
						 (int)n, SQLITE_TRANSIENT);
			break;
		}
		default:
			rc = SQLITE_MISUSE;
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		db_fail(c->db, "bind", prob);
		sqlite3_clear_bindings(q);
		return NULL;
	}
	return q;
}

/*
 * Steps write statement q to completion; autowrite: it is a write
 * outside a transaction, which must reach the disk (durable(), when the
 * lock goes) before it counts.  Returns 0, ACME_ERR_EXISTS on a
 * unique or primary key conflict, or ACME_ERR_IO with prob set.
 */
static int
step_write(struct store *st, sqlite3_stmt *q, int autowrite,
    struct acme_problem *prob)
{
	struct sq *s = (struct sq *)st;
	sqlite3 *db;
	int rc, ext;

	if (q == NULL)
		return ACME_ERR_IO;
	db = sqlite3_db_handle(q);
	rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		if (autowrite)
			s->unflushed = 1;
		sqlite3_reset(q);
		return 0;
	}
	ext = sqlite3_extended_errcode(db);
	if (ext == SQLITE_CONSTRAINT_UNIQUE ||
	    ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = ACME_ERR_EXISTS;
	else
		rc = db_fail(db, "write", prob);
	sqlite3_reset(q);
	return rc;
}

/* Runs a write statement (in a transaction or on its own). */
static int
run(struct store *st, sqlite3_stmt *q, struct acme_problem *prob)
{
	return step_write(st, q,
	    q != NULL && !sqlite3_stmt_readonly(q) &&
		sqlite3_get_autocommit(sqlite3_db_handle(q)),
	    prob);
}

/*
 * Steps a single-row query.  Returns 0 with the row current (the caller
 * resets q), ACME_ERR_NOTFOUND when there is no row, or ACME_ERR_IO.
 */
static int
one_row(sqlite3_stmt *q, struct acme_problem *prob)
{
	int rc;

	if (q == NULL)
		return ACME_ERR_IO;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		rc = ACME_ERR_NOTFOUND;
	else
		rc = db_fail(sqlite3_db_handle(q), "read", prob);
	sqlite3_reset(q);
	return rc;
}

/* Steps a count(*) query into *n (0 on failure). */
static int
one_count(sqlite3_stmt *q, long long *n, struct acme_problem *prob)
{
	int rc = one_row(q, prob);

	*n = 0;
	if (rc != 0)
		return rc;
	*n = (long long)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

/*
 * A write whose WHERE names the expected state (q, bound).  When no row
 * changed, the statement exists (bound with id) tells a missing record
 * (ACME_ERR_NOTFOUND) from one in another state (ACME_ERR_CONFLICT).
 * Records are never deleted, so the answer cannot go stale.
 */
static int
run_cond(struct store *st, sqlite3_stmt *q, enum stmt exists, const char *id,
    struct acme_problem *prob)
{
	int rc = run(st, q, prob);

	if (rc != 0)
		return rc;
	if (sqlite3_changes(sqlite3_db_handle(q)) > 0)
		return 0;
	q = prep(st, exists, prob, "s", id);
	if ((rc = one_row(q, prob)) != 0)
		return rc;
	sqlite3_reset(q);
	return ACME_ERR_CONFLICT;
}

/* A new copy of text column i, or NULL when it is NULL; *err on OOM. */
static char *
col_dup(sqlite3_stmt *q, int i, int *err)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	char *s;

	if (t == NULL)
		return NULL;
	if ((s = strdup((const char *)t)) == NULL)
		*err = 1;
	return s;
}

/* Copies a text column into out[size], cut at size - 1 bytes as
 * snprintf() would cut it, without a format to interpret. */
static void
col_copy(sqlite3_stmt *q, int i, char *out, size_t size)
{
	const char *t = (const char *)sqlite3_column_text(q, i);
	size_t n = t != NULL ? strnlen(t, size - 1) : 0;

	if (n > 0)
		memcpy(out, t, n);
	out[n] = '\0';
}

/*
 * BEGIN keeps the connection's lock (enter()) until COMMIT or ROLLBACK,
 * so this process's writers queue on a mutex instead of polling
 * SQLite's busy handler; a commit then waits for its flush outside the
 * lock (leave()).  A failed COMMIT keeps it for the ROLLBACK.
 */
static int
sq_begin(struct store *st, struct acme_problem *prob)
{
	struct sq *s = (struct sq *)st;
	int rc;

	enter(s);
	rc = step_write(st, prep(st, S_BEGIN, prob, ""), 0, prob);
	return rc != 0 ? leave(s, 1, rc, prob) : 0;
}

static int
sq_commit(struct store *st, struct acme_problem *prob)
{
	struct sq *s = (struct sq *)st;
	int rc;

	enter(s);
	rc = step_write(st, prep(st, S_COMMIT, prob, ""), 0, prob);
	/* COMMIT counts as read-only to SQLite; it is the write here. */
	if (rc == 0)
		s->unflushed = 1;
	return leave(s, rc == 0 ? 2 : 1, rc, prob);
}

static void
sq_rollback(struct store *st)
{
	struct sq *s = (struct sq *)st;

	enter(s);
	step_write(st, prep(st, S_ROLLBACK, NULL, ""), 0, NULL);
	/* BEGIN's hold too, unless BEGIN itself failed (and let it go). */
	leave(s, held > 1 ? 2 : 1, 0, NULL);
}

/*
 * A read of more than one statement in one read transaction, unless one
 * is open already: one snapshot for all of it, and one WAL read lock
 * (two fcntl calls) instead of one per statement.  Returns whether it
 * began one, for read_end(); a failed BEGIN only costs the saving.
 */
static int
read_begin(struct store *st)
{
	sqlite3_stmt *q = prep(st, S_BEGIN_READ, NULL, "");

	if (q == NULL || !sqlite3_get_autocommit(sqlite3_db_handle(q)))
		return 0;
	return step_write(st, q, 0, NULL) == 0;
}

/* Ends what read_begin() began (a read-only COMMIT: nothing to flush). */
static void
read_end(struct store *st, int began)
{
	if (began)
		step_write(st, prep(st, S_COMMIT, NULL, ""), 0, NULL);
}

/* --- accounts --- */

static int
account_insert(struct store *st, const struct store_account *a,
    struct acme_problem *prob)
{
	return run(st,
	    prep(st, S_ACCT_INSERT, prob, "sisssissi", a->id,
		(long long)a->status, a->thumbprint, a->jwk, a->contact,
		(long long)a->tos_agreed, a->eab, a->eab_kid,
		(long long)a->created),
	    prob);
}

/* Reads the row of an account query into out. */
static int
account_fetch(sqlite3_stmt *q, struct store_account *a,
    struct acme_problem *prob)
{
	int rc = one_row(q, prob), err = 0;

	if (rc != 0)
		return rc;
	memset(a, 0, sizeof(*a));
	col_copy(q, 0, a->id, sizeof(a->id));
	a->status = (enum store_status)sqlite3_column_int(q, 1);
	col_copy(q, 2, a->thumbprint, sizeof(a->thumbprint));
	a->jwk = col_dup(q, 3, &err);
	a->contact = col_dup(q, 4, &err);
	a->tos_agreed = sqlite3_column_int(q, 5);
	a->eab = col_dup(q, 6, &err);
	col_copy(q, 7, a->eab_kid, sizeof(a->eab_kid));
	a->created = (time_t)sqlite3_column_int64(q, 8);
	a->paused = (time_t)sqlite3_column_int64(q, 9);
	sqlite3_reset(q);
	if (err || a->jwk == NULL) {
		store_account_release(a);
		return oom(prob);
	}
	return 0;
}

static int
account_get(struct store *st, const char *id, struct store_account *out,
    struct acme_problem *prob)
{
	return account_fetch(prep(st, S_ACCT_GET, prob, "s", id), out, prob);
}

static int
account_by_thumbprint(struct store *st, const char *thumb,
    struct store_account *out, struct acme_problem *prob)
{
	return account_fetch(prep(st, S_ACCT_BY_THUMB, prob, "s", thumb), out,
	    prob);
}

static int
account_update(struct store *st, const struct store_account *seen,
    const struct store_account_change *chg, struct acme_problem *prob)
{
	/* A key is its thumbprint and its JWK: both or neither. */
	if ((chg->thumbprint == NULL) != (chg->jwk == NULL))
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "account_update: thumbprint without jwk");
	return run_cond(st,
	    prep(st, S_ACCT_UPDATE, prob, "issssis", (long long)chg->status,
		chg->thumbprint, chg->jwk, chg->contact, seen->id,
		(long long)seen->status, seen->thumbprint),
	    S_ACCT_EXISTS, seen->id, prob);
}

/* --- orders, authorizations, challenges --- */

/* Inserts z and its challenges; the caller holds the transaction. */
static int
insert_authz(struct store *st, const struct store_authz *z,
    struct acme_problem *prob)
{
	size_t i;
	int rc;

	rc = run(st,
	    prep(st, S_AUTHZ_INSERT, prob, "ssisiiii", z->id, z->account_id,
		(long long)z->ident.type, z->ident.value,
		(long long)(z->wildcard != 0), (long long)z->status,
		(long long)z->expires, (long long)z->created),
	    prob);
	for (i = 0; rc == 0 && i < z->nchall; i++) {
		const struct store_chall *c = &z->challs[i];

		rc = run(st,
		    prep(st, S_CHALL_INSERT, prob, "ssiisisi", c->id, z->id,
			(long long)c->type, (long long)c->status, c->token,
			(long long)c->validated, c->error,
			(long long)c->attempts),
		    prob);
	}
	return rc;
}

static int
order_insert(struct store *st, const struct store_order *o,
    const struct store_authz *authzs, size_t nnew, struct acme_problem *prob)
{
	char *idents = store_idents_json(o->idents, o->nident);
	char *authz_ids = store_ids_json(o->authz_ids, o->nauthz);
	size_t i;
	int rc;

	if (idents == NULL || authz_ids == NULL) {
		rc = oom(prob);
		goto out;
	}
	if ((rc = sq_begin(st, prob)) != 0)
		goto out;
	rc = run(st,
	    prep(st, S_ORDER_INSERT, prob, "ssiiiiissssss", o->id,
		o->account_id, (long long)o->status, (long long)o->expires,
		(long long)o->not_before, (long long)o->not_after,
		(long long)o->created, idents, authz_ids, o->error, o->cert_id,
		o->profile, o->replaces),
	    prob);
	for (i = 0; rc == 0 && i < nnew; i++)
		rc = insert_authz(st, &authzs[i], prob);
	if (rc == 0)
		rc = sq_commit(st, prob);
	if (rc != 0)
		sq_rollback(st);
out:
	free(idents);
	free(authz_ids);
	return rc;
}

static int
authz_insert(struct store *st, const struct store_authz *z,
    struct acme_problem *prob)
{
	int rc;

	if ((rc = sq_begin(st, prob)) != 0)
		return rc;
	rc = insert_authz(st, z, prob);
	if (rc == 0)
		rc = sq_commit(st, prob);
	if (rc != 0)
		sq_rollback(st);
	return rc;
}

static int
order_get(struct store *st, const char *id, struct store_order *o,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_ORDER_GET, prob, "s", id);
	int rc = one_row(q, prob), err = 0;

	if (rc != 0)
		return rc;
	memset(o, 0, sizeof(*o));
	col_copy(q, 0, o->id, sizeof(o->id));
	col_copy(q, 1, o->account_id, sizeof(o->account_id));
	o->status = (enum store_status)sqlite3_column_int(q, 2);
	o->expires = (time_t)sqlite3_column_int64(q, 3);
	o->not_before = (time_t)sqlite3_column_int64(q, 4);
	o->not_after = (time_t)sqlite3_column_int64(q, 5);
	o->created = (time_t)sqlite3_column_int64(q, 6);
	rc =
	    store_parse_order_arrays(o, (const char *)sqlite3_column_text(q, 7),
		(const char *)sqlite3_column_text(q, 8));
	o->error = col_dup(q, 9, &err);
	col_copy(q, 10, o->cert_id, sizeof(o->cert_id));
	col_copy(q, 11, o->profile, sizeof(o->profile));
	col_copy(q, 12, o->replaces, sizeof(o->replaces));
	sqlite3_reset(q);
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
order_set_status(struct store *st, const char *id, enum store_status from,
    enum store_status to, const char *error, const char *cert_id,
    struct acme_problem *prob)
{
	return run_cond(st,
	    prep(st, S_ORDER_SET_STATUS, prob, "isssi", (long long)to, error,
		cert_id, id, (long long)from),
	    S_ORDER_EXISTS, id, prob);
}

static int
orders_unclaim(struct store *st, size_t *n, struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_ORDER_UNCLAIM, prob, "");
	int rc = run(st, q, prob);

	*n = rc == 0 ? (size_t)sqlite3_changes(sqlite3_db_handle(q)) : 0;
	return rc;
}

static int
order_list(struct store *st, const char *account_id, const char *after,
    char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
    struct acme_problem *prob)
{
	sqlite3_stmt *q;
	long long seq = 0;
	int rc = SQLITE_DONE;

	*n = 0;
	if (after != NULL && after[0] != '\0') {
		q = prep(st, S_ORDER_SEQ, prob, "ss", after, account_id);
		rc = one_row(q, prob);
		if (rc == ACME_ERR_NOTFOUND)
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "unknown order list cursor");
		if (rc != 0)
			return rc;
		seq = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		rc = SQLITE_DONE;
	}
	q = prep(st, S_ORDER_LIST, prob, "siii", account_id, seq,
	    (long long)ST_INVALID,
	    (long long)(max > INT64_MAX ? INT64_MAX : max));
	if (q == NULL)
		return ACME_ERR_IO;
	while (*n < max && (rc = sqlite3_step(q)) == SQLITE_ROW)
		col_copy(q, 0, ids[(*n)++], STORE_ID_SIZE);
	if (*n < max && rc != SQLITE_DONE)
		rc = db_fail(sqlite3_db_handle(q), "read", prob);
	else
		rc = 0;
	sqlite3_reset(q);
	return rc;
}

static int
order_count_open(struct store *st, const char *profile, time_t now,
    long long *n, struct acme_problem *prob)
{
	return one_count(prep(st, S_ORDER_COUNT_OPEN, prob, "si", profile,
			     (long long)now),
	    n, prob);
}

static int
read_chall(sqlite3_stmt *q, struct store_chall *c)
{
	int err = 0;

	memset(c, 0, sizeof(*c));
	col_copy(q, 0, c->id, sizeof(c->id));
	col_copy(q, 1, c->authz_id, sizeof(c->authz_id));
	c->type = (enum store_chall_type)sqlite3_column_int(q, 2);
	c->status = (enum store_status)sqlite3_column_int(q, 3);
	col_copy(q, 4, c->token, sizeof(c->token));
	c->validated = (time_t)sqlite3_column_int64(q, 5);
	c->error = col_dup(q, 6, &err);
	c->attempts = sqlite3_column_int(q, 7);
	return err ? ACME_ERR_NOMEM : 0;
}

static int
authz_get(struct store *st, const char *id, struct store_authz *z,
    struct acme_problem *prob)
{
	int began = read_begin(st);
	sqlite3_stmt *q = prep(st, S_AUTHZ_GET, prob, "s", id);
	struct store_chall *c;
	int rc = one_row(q, prob);

	if (rc != 0) {
		read_end(st, began);
		return rc;
	}
	memset(z, 0, sizeof(*z));
	col_copy(q, 0, z->id, sizeof(z->id));
	col_copy(q, 1, z->account_id, sizeof(z->account_id));
	/* Stored canonical by acme_ident_set(); copied back as is. */
	z->ident.type = (enum acme_ident_type)sqlite3_column_int(q, 2);
	col_copy(q, 3, z->ident.value, sizeof(z->ident.value));
	z->wildcard = sqlite3_column_int(q, 4);
	z->status = (enum store_status)sqlite3_column_int(q, 5);
	z->expires = (time_t)sqlite3_column_int64(q, 6);
	z->created = (time_t)sqlite3_column_int64(q, 7);
	sqlite3_reset(q);
	if ((q = prep(st, S_CHALL_BY_AUTHZ, prob, "s", id)) == NULL) {
		read_end(st, began);
		return ACME_ERR_IO;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		c = realloc(z->challs, (z->nchall + 1) * sizeof(*c));
		if (c == NULL) {
			rc = oom(prob);
			goto out;
		}
		z->challs = c;
		if (read_chall(q, &z->challs[z->nchall++]) != 0) {
			rc = oom(prob);
			goto out;
		}
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = db_fail(sqlite3_db_handle(q), "read", prob);
out:
	sqlite3_reset(q);
	read_end(st, began);
	if (rc != 0)
		store_authz_release(z);
	return rc;
}

static int
authz_find_valid(struct store *st, const char *account_id,
    const struct acme_ident *ident, int wildcard, time_t min_expires,
    struct store_authz *out, struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_AUTHZ_FIND_VALID, prob, "sisii",
	    account_id, (long long)ident->type, ident->value,
	    (long long)(wildcard != 0), (long long)min_expires);
	char id[STORE_ID_SIZE];
	int rc = one_row(q, prob);

	if (rc != 0)
		return rc;
	col_copy(q, 0, id, sizeof(id));
	sqlite3_reset(q);
	return authz_get(st, id, out, prob);
}

static int
authz_set_status(struct store *st, const char *id, enum store_status from,
    enum store_status to, time_t expires, struct acme_problem *prob)
{
	return run_cond(st,
	    prep(st, S_AUTHZ_SET_STATUS, prob, "iiisi", (long long)to,
		(long long)expires, (long long)expires, id, (long long)from),
	    S_AUTHZ_EXISTS, id, prob);
}

static int
chall_get(struct store *st, const char *id, struct store_chall *out,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_CHALL_GET, prob, "s", id);
	int rc = one_row(q, prob);

	if (rc != 0)
		return rc;
	rc = read_chall(q, out);
	sqlite3_reset(q);
	if (rc != 0) {
		store_chall_release(out);
		return oom(prob);
	}
	return 0;
}

static int
chall_update(struct store *st, const struct store_chall *c,
    enum store_status from, struct acme_problem *prob)
{
	return run_cond(st,
	    prep(st, S_CHALL_UPDATE, prob, "iisisi", (long long)c->status,
		(long long)c->validated, c->error, (long long)c->attempts,
		c->id, (long long)from),
	    S_CHALL_EXISTS, c->id, prob);
}

/* --- validation jobs --- */

/* Queues a job; queueing one for the same challenge replaces it. */
static int
job_add(struct store *st, const struct store_job *j, struct acme_problem *prob)
{
	return run(st,
	    prep(st, S_JOB_ADD, prob, "si", j->chall_id,
		(long long)j->not_before),
	    prob);
}

static int
job_done(struct store *st, const char *chall_id, struct acme_problem *prob)
{
	return run(st, prep(st, S_JOB_DONE, prob, "s", chall_id), prob);
}

static int
job_list(struct store *st, struct store_job *jobs, size_t max, size_t *n,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_JOB_LIST, prob, "i",
	    (long long)(max > INT64_MAX ? INT64_MAX : max));
	int rc = SQLITE_DONE;

	*n = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	while (*n < max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		col_copy(q, 0, jobs[*n].chall_id, sizeof(jobs[*n].chall_id));
		jobs[*n].not_before = (time_t)sqlite3_column_int64(q, 1);
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE)
		rc = db_fail(sqlite3_db_handle(q), "read", prob);
	else
		rc = 0;
	sqlite3_reset(q);
	return rc;
}

/* --- the audit outbox --- */

static int
audit_add(struct store *st, const char *line, struct acme_problem *prob)
{
	return run(st, prep(st, S_AUDIT_ADD, prob, "s", line), prob);
}

static int
audit_pending(struct store *st, struct store_audit *rows, size_t max, size_t *n,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_AUDIT_PENDING, prob, "i",
	    (long long)(max > INT64_MAX ? INT64_MAX : max));
	int rc = SQLITE_DONE, err = 0;

	*n = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	while (*n < max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		rows[*n].seq = sqlite3_column_int64(q, 0);
		if ((rows[*n].line = col_dup(q, 1, &err)) == NULL)
			break;
		(*n)++;
	}
	if (err || (*n < max && rc == SQLITE_ROW))
		rc = oom(prob);
	else if (*n < max && rc != SQLITE_DONE)
		rc = db_fail(sqlite3_db_handle(q), "read", prob);
	else
		rc = 0;
	sqlite3_reset(q);
	if (rc != 0) {
		while (*n > 0)
			free(rows[--*n].line);
	}
	return rc;
}

static int
audit_done(struct store *st, int64_t seq, struct acme_problem *prob)
{
	return run(st, prep(st, S_AUDIT_DONE, prob, "i", (long long)seq), prob);
}

/* --- certificates --- */

static int
cert_insert(struct store *st, const struct store_cert *c,
    struct acme_problem *prob)
{
	return run(st,
	    prep(st, S_CERT_INSERT, prob, "ssssssiiiis", c->id, c->serial,
		c->account_id, c->order_id, c->chain_pem, c->alt_chain_pem,
		(long long)c->not_before, (long long)c->not_after,
		(long long)c->revoked_at, (long long)c->reason, c->profile),
	    prob);
}

/* Reads the row of a certificate query into c. */
static int
cert_fetch(sqlite3_stmt *q, struct store_cert *c, struct acme_problem *prob)
{
	int rc = one_row(q, prob), err = 0;

	if (rc != 0)
		return rc;
	memset(c, 0, sizeof(*c));
	col_copy(q, 0, c->id, sizeof(c->id));
	col_copy(q, 1, c->serial, sizeof(c->serial));
	col_copy(q, 2, c->account_id, sizeof(c->account_id));
	col_copy(q, 3, c->order_id, sizeof(c->order_id));
	c->chain_pem = col_dup(q, 4, &err);
	c->alt_chain_pem = col_dup(q, 5, &err);
	c->not_before = (time_t)sqlite3_column_int64(q, 6);
	c->not_after = (time_t)sqlite3_column_int64(q, 7);
	c->revoked_at = (time_t)sqlite3_column_int64(q, 8);
	c->reason = sqlite3_column_int(q, 9);
	c->ari_start = (time_t)sqlite3_column_int64(q, 10);
	c->ari_end = (time_t)sqlite3_column_int64(q, 11);
	c->ari_explanation = col_dup(q, 12, &err);
	col_copy(q, 13, c->profile, sizeof(c->profile));
	sqlite3_reset(q);
	if (err || c->chain_pem == NULL) {
		store_cert_release(c);
		return oom(prob);
	}
	return 0;
}

static int
cert_get(struct store *st, const char *id, struct store_cert *out,
    struct acme_problem *prob)
{
	return cert_fetch(prep(st, S_CERT_GET, prob, "s", id), out, prob);
}

static int
cert_by_serial(struct store *st, const char *serial, struct store_cert *out,
    struct acme_problem *prob)
{
	return cert_fetch(prep(st, S_CERT_BY_SERIAL, prob, "s", serial), out,
	    prob);
}

static int
cert_revoke(struct store *st, const char *id, time_t when, int reason,
    struct acme_problem *prob)
{
	return run_cond(st,
	    prep(st, S_CERT_REVOKE, prob, "iis", (long long)when,
		(long long)reason, id),
	    S_CERT_EXISTS, id, prob);
}

static int
cert_set_window(struct store *st, const char *serial, time_t start, time_t end,
    const char *explanation, time_t now, size_t *n, struct acme_problem *prob)
{
	sqlite3_stmt *q =
	    serial != NULL ?
		prep(st, S_CERT_WINDOW, prob, "iiss", (long long)start,
		    (long long)end, explanation, serial) :
		prep(st, S_CERT_WINDOW_ALL, prob, "iisi", (long long)start,
		    (long long)end, explanation, (long long)now);
	int rc = run(st, q, prob);

	if (rc == 0)
		*n = (size_t)sqlite3_changes(sqlite3_db_handle(q));
	return rc;
}

/* The order id statement s finds for cert_id (S_ORDER_*REPLACING). */
static int
replacing_id(struct store *st, enum stmt s, const char *cert_id,
    char out[STORE_ID_SIZE], struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, s, prob, "s", cert_id);
	int rc = one_row(q, prob);

	if (rc != 0)
		return rc;
	col_copy(q, 0, out, STORE_ID_SIZE);
	sqlite3_reset(q);
	return 0;
}

static int
order_replacing(struct store *st, const char *cert_id, char out[STORE_ID_SIZE],
    struct acme_problem *prob)
{
	return replacing_id(st, S_ORDER_REPLACING, cert_id, out, prob);
}

static int
order_first_replacing(struct store *st, const char *cert_id,
    char out[STORE_ID_SIZE], struct acme_problem *prob)
{
	return replacing_id(st, S_ORDER_FIRST_REPLACING, cert_id, out, prob);
}

/* --- CRLs (D50) --- */

static int
revocations(struct store *st, long long *n, struct acme_problem *prob)
{
	return one_count(prep(st, S_REVOCATIONS, prob, ""), n, prob);
}

static int
cert_revoked(struct store *st, time_t expiring_from, struct store_revoked **out,
    size_t *n, struct acme_problem *prob)
{
	sqlite3_stmt *q =
	    prep(st, S_CERT_REVOKED, prob, "i", (long long)expiring_from);
	struct store_revoked *v = NULL, *nv;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		col_copy(q, 0, v[*n].serial, sizeof(v[*n].serial));
		v[*n].revoked_at = (time_t)sqlite3_column_int64(q, 1);
		v[*n].reason = sqlite3_column_int(q, 2);
		(*n)++;
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == SQLITE_NOMEM)
		rc = oom(prob);
	else
		rc = db_fail(sqlite3_db_handle(q), "read", prob);
	sqlite3_reset(q);
	if (rc != 0) {
		free(v);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int
crl_latest(struct store *st, struct store_crl *out, struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_CRL_LATEST, prob, "");
	int rc = one_row(q, prob), len;

	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->number = sqlite3_column_int64(q, 0);
	out->this_update = (time_t)sqlite3_column_int64(q, 1);
	out->next_update = (time_t)sqlite3_column_int64(q, 2);
	out->revocations = (long long)sqlite3_column_int64(q, 3);
	len = sqlite3_column_bytes(q, 4);
	if (len <= 0 || (out->der = malloc((size_t)len)) == NULL) {
		sqlite3_reset(q);
		if (len <= 0)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "database: CRL %lld is empty",
			    (long long)out->number);
		return oom(prob);
	}
	memcpy(out->der, sqlite3_column_blob(q, 4), (size_t)len);
	out->len = (size_t)len;
	sqlite3_reset(q);
	return 0;
}

static int
crl_insert(struct store *st, const struct store_crl *c,
    struct acme_problem *prob)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = sq_begin(st, prob)) != 0)
		return rc;
	/* Only one past the newest: never a number below one served. */
	q = prep(st, S_CRL_MAX, prob, "");
	if ((rc = one_row(q, prob)) == 0) {
		if (sqlite3_column_int64(q, 0) != c->number - 1)
			rc = ACME_ERR_EXISTS;
		sqlite3_reset(q);
	}
	if (rc == 0)
		rc = run(st,
		    prep(st, S_CRL_INSERT, prob, "iiiib", (long long)c->number,
			(long long)c->this_update, (long long)c->next_update,
			c->revocations, (const void *)c->der, c->len),
		    prob);
	if (rc == 0)
		rc = run(st,
		    prep(st, S_CRL_PRUNE, prob, "i", (long long)c->number),
		    prob);
	if (rc == 0)
		rc = sq_commit(st, prob);
	if (rc != 0)
		sq_rollback(st);
	return rc;
}

/* --- rate limits (D51) --- */

static int
rl_take(struct store *st, const char *key, int64_t now, int64_t interval,
    int64_t burst, int mode, int64_t *retry_ms, struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_RL_GET, prob, "s", key);
	int64_t tat = now;
	int rc, own;

	*retry_ms = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	/* Its own transaction unless the caller's is open. */
	own = sqlite3_get_autocommit(sqlite3_db_handle(q));
	if (own && (rc = sq_begin(st, prob)) != 0)
		return rc;
	if ((rc = one_row(q, prob)) == 0) {
		if (sqlite3_column_int64(q, 0) > now)
			tat = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	} else if (rc == ACME_ERR_NOTFOUND)
		rc = 0;
	if (rc == 0 && tat - now > burst)
		*retry_ms = tat - now - burst;
	if (rc == 0 && (mode == 2 || (mode == 1 && *retry_ms == 0))) {
		rc = run(st, prep(st, S_RL_PRUNE, prob, "i", (long long)now),
		    prob);
		if (rc == 0)
			rc = run(st,
			    prep(st, S_RL_PUT, prob, "si", key,
				(long long)(tat + interval)),
			    prob);
	}
	if (own) {
		if (rc == 0)
			rc = sq_commit(st, prob);
		if (rc != 0)
			sq_rollback(st);
	}
	return rc;
}

/* --- external account binding keys --- */

static int
eab_insert(struct store *st, const struct store_eab *e,
    struct acme_problem *prob)
{
	if (e->keylen > sizeof(e->key))
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "EAB key is too long");
	return run(st,
	    prep(st, S_EAB_INSERT, prob, "sbi", e->kid, (const void *)e->key,
		e->keylen, (long long)e->created),
	    prob);
}

static int
eab_get(struct store *st, const char *kid, struct store_eab *out,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_EAB_GET, prob, "s", kid);
	int rc = one_row(q, prob), n;

	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	col_copy(q, 0, out->kid, sizeof(out->kid));
	n = sqlite3_column_bytes(q, 1);
	if (n < 0 || (size_t)n > sizeof(out->key)) {
		sqlite3_reset(q);
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: stored EAB key %s is too long", kid);
		return ACME_ERR_IO;
	}
	if (n > 0)
		memcpy(out->key, sqlite3_column_blob(q, 1), (size_t)n);
	out->keylen = (size_t)n;
	col_copy(q, 2, out->account_id, sizeof(out->account_id));
	out->created = (time_t)sqlite3_column_int64(q, 3);
	sqlite3_reset(q);
	return 0;
}

static int
eab_bind(struct store *st, const char *kid, const char *account_id,
    struct acme_problem *prob)
{
	return run_cond(st, prep(st, S_EAB_BIND, prob, "ss", account_id, kid),
	    S_EAB_EXISTS, kid, prob);
}

static int
eab_list(struct store *st, struct store_eab **out, size_t *n,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_EAB_LIST, prob, "");
	struct store_eab *v = NULL, *nv;
	size_t cap = 0;
	int rc = SQLITE_DONE;

	*out = NULL;
	*n = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				sqlite3_reset(q);
				free(v);
				return oom(prob);
			}
			v = nv;
		}
		memset(&v[*n], 0, sizeof(v[*n]));
		col_copy(q, 0, v[*n].kid, sizeof(v[*n].kid));
		col_copy(q, 1, v[*n].account_id, sizeof(v[*n].account_id));
		v[*n].created = (time_t)sqlite3_column_int64(q, 2);
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(sqlite3_db_handle(q), "read", prob);
		sqlite3_reset(q);
		free(v);
		*n = 0;
		return rc;
	}
	sqlite3_reset(q);
	*out = v;
	return 0;
}

static int
eab_remove(struct store *st, const char *kid, struct acme_problem *prob)
{
	int rc = run_cond(st, prep(st, S_EAB_REMOVE, prob, "s", kid),
	    S_EAB_EXISTS, kid, prob);

	/* Nothing deleted and no such key: run_cond found no row. */
	return rc;
}

/* --- the operator's actions (D74) --- */

static int
account_pause(struct store *st, const char *id, time_t when,
    struct acme_problem *prob)
{
	return run_cond(st,
	    prep(st, S_ACCT_PAUSE, prob, "is", (long long)when, id),
	    S_ACCT_EXISTS, id, prob);
}

static int
cert_find(struct store *st, const char *account_id, const char *name,
    char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
    struct acme_problem *prob)
{
	char needle[300];
	sqlite3_stmt *q;
	int rc = SQLITE_DONE;

	*n = 0;
	if (name != NULL && (size_t)snprintf(needle, sizeof(needle),
				"\"value\":\"%s\"", name) >= sizeof(needle))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "name too long");
	q = prep(st, S_CERT_FIND, prob, "ssi", account_id,
	    name != NULL ? needle : NULL,
	    (long long)(max > INT64_MAX ? INT64_MAX : max));
	if (q == NULL)
		return ACME_ERR_IO;
	while (*n < max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		col_copy(q, 0, ids[*n], sizeof(ids[*n]));
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE)
		rc = db_fail(sqlite3_db_handle(q), "read", prob);
	else
		rc = 0;
	sqlite3_reset(q);
	return rc;
}

static int
block_add(struct store *st, const char *name, time_t when,
    struct acme_problem *prob)
{
	return run(st, prep(st, S_BLOCK_ADD, prob, "si", name, (long long)when),
	    prob);
}

static int
name_blocked(struct store *st, const char *name, char *match, size_t size,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = prep(st, S_BLOCK_MATCH, prob, "s", name);
	int rc = one_row(q, prob);

	if (rc != 0)
		return rc;
	col_copy(q, 0, match, size);
	sqlite3_reset(q);
	return 0;
}

/* --- open, migrate, close --- */

/* PRAGMA user_version of db into *version. */
static int
schema_version(sqlite3 *db, int *version, struct acme_problem *prob)
{
	sqlite3_stmt *q = NULL;
	int rc = ACME_ERR_IO;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		db_fail(db, "schema version", prob);
		goto out;
	}
	*version = sqlite3_column_int(q, 0);
	rc = 0;
out:
	sqlite3_finalize(q);
	return rc;
}

/*
 * Applies the pending migrations up to schema version target in one
 * IMMEDIATE transaction, so two processes opening a new file at once
 * cannot both apply them.
 */
static int
migrate(sqlite3 *db, int target, struct acme_problem *prob)
{
	int version = 0, i = 0, start = 0, n = (int)ACME_ARRAY_LEN(migrations);
	int intxn = 0, rc = ACME_ERR_IO;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		db_fail(db, "migration", prob);
		goto out;
	}
	intxn = 1;
	if (schema_version(db, &version, prob) != 0)
		goto out;
	if (version > n) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database schema %d is newer than this anvil-ca (%d)",
		    version, n);
		goto out;
	}
	for (i = start = version; i < target && i < n; i++) {
		if (sqlite3_exec(db, migrations[i], NULL, NULL, NULL) !=
		    SQLITE_OK) {
			db_fail(db, "migration", prob);
			goto out;
		}
		if (schema_version(db, &version, prob) != 0)
			goto out;
		if (version != i + 1) {
			acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "database: migration %d did not set"
			    " user_version",
			    i + 1);
			goto out;
		}
	}
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_fail(db, "migration", prob);
		goto out;
	}
	intxn = 0;
	/*
	 * A migration that rebuilds a table writes it whole to the WAL
	 * (600 MiB for 1,000,000 orders, operations.md), and SQLite keeps
	 * the file that long while the database is open, copying it back
	 * at the first automatic checkpoint, in some request.  Copy it now
	 * and truncate the WAL; when another process is reading, the
	 * checkpoint does what it can and the rest waits for those.
	 */
	if (i > start)
		sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL,
		    NULL);
	rc = 0;
out:
	if (intxn)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

unsigned long
store_sqlite_checkpoints(struct store *st, unsigned long after, int timeout_s)
{
	struct sq *s = (struct sq *)st;
	struct timespec until;
	unsigned long n;

	if (!s->ck_started)
		return 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_s;
	pthread_mutex_lock(&s->ck_lock);
	while (s->ck_done <= after &&
	       pthread_cond_timedwait(&s->ck_cond, &s->ck_lock, &until) == 0)
		;
	n = s->ck_done;
	pthread_mutex_unlock(&s->ck_lock);
	return n;
}

const char *
store_sqlite_statement(size_t i)
{
	return i < S__COUNT ? sql[i] : NULL;
}

int
store_sqlite_migrate_to(const char *path, int version,
    struct acme_problem *prob)
{
	sqlite3 *db = NULL;
	int rc;

	if ((rc = open_db(path, &db, prob)) == 0)
		rc = migrate(db, version, prob);
	sqlite3_close(db);
	return rc;
}

static void
sqlite_close(struct store *st)
{
	struct sq *s = (struct sq *)st;

	if (s->ck_started) {
		pthread_mutex_lock(&s->ck_lock);
		s->ck_stop = 1;
		pthread_cond_broadcast(&s->ck_cond);
		pthread_mutex_unlock(&s->ck_lock);
		pthread_join(s->ck_thread, NULL);
		pthread_cond_destroy(&s->ck_cond);
		pthread_mutex_destroy(&s->ck_lock);
	}
	conn_free(s->conn);
	pthread_mutex_destroy(&s->lock);
	gsync_destroy(&s->gs);
	if (s->walfd >= 0)
		close(s->walfd);
	sqlite3_close(s->keeper);
	free(s->path);
	free(s);
}

struct store *
store_sqlite_open(const char *path, struct acme_problem *prob)
{
	struct sq *s = NULL;
	sqlite3 *db = NULL;
	int haslock = 0;
	struct store *ret = NULL;

	if (sqlite3_threadsafe() == 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: SQLite was built without thread support");
		goto out;
	}
	if (private_files(path, prob) != 0 || open_db(path, &db, prob) != 0 ||
	    migrate(db, (int)ACME_ARRAY_LEN(migrations), prob) != 0)
		goto out;
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->path = strdup(path)) == NULL) {
		oom(prob);
		goto out;
	}
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		oom(prob);
		goto out;
	}
	haslock = 1;
	if (gsync_init(&s->gs) != 0) {
		oom(prob);
		goto out;
	}
	s->walfd = -1;
	s->keeper = db;
	db = NULL;
	s->base.ops = &sqlite_ops;
	/* Without the thread the connection keeps SQLite's checkpoints. */
	if (pthread_mutex_init(&s->ck_lock, NULL) == 0) {
		if (pthread_cond_init(&s->ck_cond, NULL) != 0)
			pthread_mutex_destroy(&s->ck_lock);
		else if (pthread_create(&s->ck_thread, NULL, checkpointer, s) !=
			 0) {
			pthread_cond_destroy(&s->ck_cond);
			pthread_mutex_destroy(&s->ck_lock);
		} else
			s->ck_started = 1;
	}
	/* The migrations committed without a flush; flush them now (and
	 * learn at once if the WAL cannot be synced). */
	if (durable(s, prob) != 0) {
		sqlite_close(&s->base);
		s = NULL;
		goto out;
	}
	ret = &s->base;
	s = NULL;
out:
	sqlite3_close(db);
	if (s != NULL) {
		if (haslock)
			pthread_mutex_destroy(&s->lock);
		free(s->path);
		free(s);
	}
	return ret;
}

/*
 * The operations as the store's table holds them: each runs with the
 * connection's lock (enter(), leave()).
 */
#define LOCKED(fn, params, args)                                               \
	static int locked_##fn params                                          \
	{                                                                      \
		struct sq *s = (struct sq *)st;                                \
                                                                               \
		enter(s);                                                      \
		return leave(s, 1, fn args, prob);                             \
	}

LOCKED(account_insert,
    (struct store * st, const struct store_account *a,
	struct acme_problem *prob),
    (st, a, prob))
LOCKED(account_get,
    (struct store * st, const char *id, struct store_account *out,
	struct acme_problem *prob),
    (st, id, out, prob))
LOCKED(account_by_thumbprint,
    (struct store * st, const char *thumb, struct store_account *out,
	struct acme_problem *prob),
    (st, thumb, out, prob))
LOCKED(account_update,
    (struct store * st, const struct store_account *seen,
	const struct store_account_change *chg, struct acme_problem *prob),
    (st, seen, chg, prob))
LOCKED(order_insert,
    (struct store * st, const struct store_order *o,
	const struct store_authz *authzs, size_t nnew,
	struct acme_problem *prob),
    (st, o, authzs, nnew, prob))
LOCKED(order_get,
    (struct store * st, const char *id, struct store_order *o,
	struct acme_problem *prob),
    (st, id, o, prob))
LOCKED(order_set_status,
    (struct store * st, const char *id, enum store_status from,
	enum store_status to, const char *error, const char *cert_id,
	struct acme_problem *prob),
    (st, id, from, to, error, cert_id, prob))
LOCKED(order_list,
    (struct store * st, const char *account_id, const char *after,
	char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
	struct acme_problem *prob),
    (st, account_id, after, ids, max, n, prob))
LOCKED(order_count_open,
    (struct store * st, const char *profile, time_t now, long long *n,
	struct acme_problem *prob),
    (st, profile, now, n, prob))
LOCKED(authz_insert,
    (struct store * st, const struct store_authz *z, struct acme_problem *prob),
    (st, z, prob))
LOCKED(authz_get,
    (struct store * st, const char *id, struct store_authz *z,
	struct acme_problem *prob),
    (st, id, z, prob))
LOCKED(authz_find_valid,
    (struct store * st, const char *account_id, const struct acme_ident *ident,
	int wildcard, time_t min_expires, struct store_authz *out,
	struct acme_problem *prob),
    (st, account_id, ident, wildcard, min_expires, out, prob))
LOCKED(authz_set_status,
    (struct store * st, const char *id, enum store_status from,
	enum store_status to, time_t expires, struct acme_problem *prob),
    (st, id, from, to, expires, prob))
LOCKED(chall_get,
    (struct store * st, const char *id, struct store_chall *out,
	struct acme_problem *prob),
    (st, id, out, prob))
LOCKED(chall_update,
    (struct store * st, const struct store_chall *c, enum store_status from,
	struct acme_problem *prob),
    (st, c, from, prob))
LOCKED(job_add,
    (struct store * st, const struct store_job *j, struct acme_problem *prob),
    (st, j, prob))
LOCKED(job_done,
    (struct store * st, const char *chall_id, struct acme_problem *prob),
    (st, chall_id, prob))
LOCKED(job_list,
    (struct store * st, struct store_job *jobs, size_t max, size_t *n,
	struct acme_problem *prob),
    (st, jobs, max, n, prob))
LOCKED(cert_insert,
    (struct store * st, const struct store_cert *c, struct acme_problem *prob),
    (st, c, prob))
LOCKED(cert_get,
    (struct store * st, const char *id, struct store_cert *out,
	struct acme_problem *prob),
    (st, id, out, prob))
LOCKED(cert_by_serial,
    (struct store * st, const char *serial, struct store_cert *out,
	struct acme_problem *prob),
    (st, serial, out, prob))
LOCKED(cert_set_window,
    (struct store * st, const char *serial, time_t start, time_t end,
	const char *explanation, time_t now, size_t *n,
	struct acme_problem *prob),
    (st, serial, start, end, explanation, now, n, prob))
LOCKED(order_replacing,
    (struct store * st, const char *cert_id, char out[STORE_ID_SIZE],
	struct acme_problem *prob),
    (st, cert_id, out, prob))
LOCKED(order_first_replacing,
    (struct store * st, const char *cert_id, char out[STORE_ID_SIZE],
	struct acme_problem *prob),
    (st, cert_id, out, prob))
LOCKED(cert_revoke,
    (struct store * st, const char *id, time_t when, int reason,
	struct acme_problem *prob),
    (st, id, when, reason, prob))
LOCKED(revocations,
    (struct store * st, long long *n, struct acme_problem *prob), (st, n, prob))
LOCKED(cert_revoked,
    (struct store * st, time_t expiring_from, struct store_revoked **out,
	size_t *n, struct acme_problem *prob),
    (st, expiring_from, out, n, prob))
LOCKED(crl_latest,
    (struct store * st, struct store_crl *out, struct acme_problem *prob),
    (st, out, prob))
LOCKED(crl_insert,
    (struct store * st, const struct store_crl *c, struct acme_problem *prob),
    (st, c, prob))
LOCKED(eab_insert,
    (struct store * st, const struct store_eab *e, struct acme_problem *prob),
    (st, e, prob))
LOCKED(eab_get,
    (struct store * st, const char *kid, struct store_eab *out,
	struct acme_problem *prob),
    (st, kid, out, prob))
LOCKED(eab_bind,
    (struct store * st, const char *kid, const char *account_id,
	struct acme_problem *prob),
    (st, kid, account_id, prob))
LOCKED(eab_list,
    (struct store * st, struct store_eab **out, size_t *n,
	struct acme_problem *prob),
    (st, out, n, prob))
LOCKED(eab_remove,
    (struct store * st, const char *kid, struct acme_problem *prob),
    (st, kid, prob))
LOCKED(account_pause,
    (struct store * st, const char *id, time_t when, struct acme_problem *prob),
    (st, id, when, prob))
LOCKED(cert_find,
    (struct store * st, const char *account_id, const char *name,
	char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
	struct acme_problem *prob),
    (st, account_id, name, ids, max, n, prob))
LOCKED(block_add,
    (struct store * st, const char *name, time_t when,
	struct acme_problem *prob),
    (st, name, when, prob))
LOCKED(name_blocked,
    (struct store * st, const char *name, char *match, size_t size,
	struct acme_problem *prob),
    (st, name, match, size, prob))
LOCKED(audit_add,
    (struct store * st, const char *line, struct acme_problem *prob),
    (st, line, prob))
LOCKED(audit_pending,
    (struct store * st, struct store_audit *rows, size_t max, size_t *n,
	struct acme_problem *prob),
    (st, rows, max, n, prob))
LOCKED(orders_unclaim,
    (struct store * st, size_t *n, struct acme_problem *prob), (st, n, prob))
#undef LOCKED

/*
 * As LOCKED, for a write a crash may take back harmlessly (see store.h):
 * it leaves its flush to the next write that is flushed.
 */
#define RELAXED(name, params, call)                                            \
	static int locked_##name params                                        \
	{                                                                      \
		struct sq *s = (struct sq *)st;                                \
		int before, rc;                                                \
                                                                               \
		enter(s);                                                      \
		before = s->unflushed;                                         \
		rc = call;                                                     \
		s->unflushed = before;                                         \
		return leave(s, 1, rc, prob);                                  \
	}

RELAXED(rl_take,
    (struct store * st, const char *key, int64_t now, int64_t interval,
	int64_t burst, int mode, int64_t *retry_ms, struct acme_problem *prob),
    rl_take(st, key, now, interval, burst, mode, retry_ms, prob))
RELAXED(audit_done, (struct store * st, int64_t seq, struct acme_problem *prob),
    audit_done(st, seq, prob))
RELAXED(order_set_status_relaxed,
    (struct store * st, const char *id, enum store_status from,
	enum store_status to, const char *error, struct acme_problem *prob),
    order_set_status(st, id, from, to, error, NULL, prob))
#undef RELAXED

static const struct store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sqlite_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.account_insert = locked_account_insert,
	.account_get = locked_account_get,
	.account_by_thumbprint = locked_account_by_thumbprint,
	.account_update = locked_account_update,
	.order_insert = locked_order_insert,
	.order_get = locked_order_get,
	.order_set_status = locked_order_set_status,
	.order_set_status_relaxed = locked_order_set_status_relaxed,
	.orders_unclaim = locked_orders_unclaim,
	.order_list = locked_order_list,
	.order_count_open = locked_order_count_open,
	.authz_insert = locked_authz_insert,
	.authz_get = locked_authz_get,
	.authz_find_valid = locked_authz_find_valid,
	.authz_set_status = locked_authz_set_status,
	.chall_get = locked_chall_get,
	.chall_update = locked_chall_update,
	.job_add = locked_job_add,
	.job_done = locked_job_done,
	.job_list = locked_job_list,
	.cert_insert = locked_cert_insert,
	.cert_get = locked_cert_get,
	.cert_by_serial = locked_cert_by_serial,
	.cert_set_window = locked_cert_set_window,
	.order_replacing = locked_order_replacing,
	.order_first_replacing = locked_order_first_replacing,
	.cert_revoke = locked_cert_revoke,
	.revocations = locked_revocations,
	.cert_revoked = locked_cert_revoked,
	.crl_latest = locked_crl_latest,
	.crl_insert = locked_crl_insert,
	.rl_take = locked_rl_take,
	.eab_insert = locked_eab_insert,
	.eab_get = locked_eab_get,
	.eab_bind = locked_eab_bind,
	.eab_list = locked_eab_list,
	.eab_remove = locked_eab_remove,
	.account_pause = locked_account_pause,
	.cert_find = locked_cert_find,
	.block_add = locked_block_add,
	.name_blocked = locked_name_blocked,
	.audit_add = locked_audit_add,
	.audit_pending = locked_audit_pending,
	.audit_done = locked_audit_done,
};
