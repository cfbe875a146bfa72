/* SPDX-License-Identifier: ISC */
/*
 * The SQLite back end's schema: the numbered migrations, which PRAGMA
 * user_version tracks and which are applied in one transaction, and
 * the SQL of every prepared statement (enum stmt).  Data, and the code
 * that applies the migrations; nothing else.
 */
#include <sqlite3.h>

#include <anvil/err.h>

#include "sqlite_int.h"
#include "store_sqlite.h"

#include "internal.h"

/*
 * Numbered migrations; entry i brings the schema to version i + 1 and
 * ends by setting PRAGMA user_version to that number (a constant: PRAGMA
 * takes no parameters), which sq_migrate() checks.  Never edit an entry that
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
	/* 10: leases (D80, D81): the instance holding a validation job
	 * or a finalize's claim, and until when. */
	"ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE orders ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE orders ADD COLUMN claim_until INTEGER NOT NULL"
	" DEFAULT 0;"
	"PRAGMA user_version = 10;",
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

const char *const sq_sql[S__COUNT] = {
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
			    " AND status < 4 AND claim_until < ?",
	[S_ORDER_CLAIM] = "UPDATE orders SET status = 2, claim_owner = ?,"
			  " claim_until = ? WHERE id = ? AND status = 3",
	[S_ORDER_CLAIM_END] =
	    "UPDATE orders SET status = ?,"
	    " cert_id = coalesce(?, cert_id)"
	    " WHERE id = ? AND status = 2 AND claim_owner = ?",
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
	[S_JOB_ADD] = "INSERT OR REPLACE INTO jobs (chall_id, not_before,"
		      " owner, lease_until) VALUES (?, ?, ?, ?)",
	[S_JOB_DONE] = "DELETE FROM jobs WHERE chall_id = ?",
	[S_JOB_LIST] = "SELECT chall_id, not_before, owner, lease_until"
		       " FROM jobs ORDER BY not_before, chall_id LIMIT ?",
	[S_JOBS_EXPIRED] = "SELECT chall_id, not_before, owner, lease_until"
			   " FROM jobs WHERE lease_until < ?"
			   " ORDER BY not_before, chall_id LIMIT ?",
	/* Taken only from the holder and lease read (D80). */
	[S_JOB_TAKE] = "UPDATE jobs SET owner = ?, lease_until = ?"
		       " WHERE chall_id = ? AND owner = ? AND lease_until = ?",
	[S_JOB_RELEASE] = "UPDATE jobs SET lease_until = 0 WHERE chall_id = ?",
	[S_LEASE_JOBS] = "UPDATE jobs SET lease_until = ? WHERE owner = ?",
	[S_LEASE_ORDERS] = "UPDATE orders SET claim_until = ? WHERE status = 2"
			   " AND status < 4 AND claim_owner = ?",
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
	[S_ACCT_UNPAUSE] = "UPDATE accounts SET paused = 0 WHERE id = ?"
			   " AND paused <> 0",
	[S_BLOCK_EXISTS] = "SELECT 1 FROM blocked_names WHERE name = ?",
	[S_BLOCK_REMOVE] = "DELETE FROM blocked_names WHERE name = ?",
	[S_BLOCK_LIST] = "SELECT name, created FROM blocked_names"
			 " ORDER BY name",
	[S_AUDIT_ADD] = "INSERT INTO audit_outbox (line) VALUES (?)",
	[S_AUDIT_PENDING] = "SELECT seq, line FROM audit_outbox ORDER BY seq"
			    " LIMIT ?",
	[S_AUDIT_DONE] = "DELETE FROM audit_outbox WHERE seq <= ?",
};

const int sq_schema_newest = (int)ACME_ARRAY_LEN(migrations);

const char *
store_sqlite_statement(size_t i)
{
	return i < S__COUNT ? sq_sql[i] : NULL;
}

/* PRAGMA user_version of db into *version. */
static int
schema_version(sqlite3 *db, int *version, struct acme_problem *prob)
{
	sqlite3_stmt *q = NULL;
	int rc = ACME_ERR_IO;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) !=
		SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		sq_db_fail(db, "schema version", prob);
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
int
sq_migrate(sqlite3 *db, int target, struct acme_problem *prob)
{
	int version = 0, i = 0, start = 0, n = (int)ACME_ARRAY_LEN(migrations);
	int intxn = 0, rc = ACME_ERR_IO;

	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		sq_db_fail(db, "migration", prob);
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
			sq_db_fail(db, "migration", prob);
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
		sq_db_fail(db, "migration", prob);
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
