/* SPDX-License-Identifier: ISC */
/*
 * What only the SQLite back end has: its page size (D42), its numbered
 * migrations and its query plans.  For a migration, a database is made
 * in the shape of the version before it by the shipped migrations up to
 * there (store_sqlite_migrate_to()), rows are written the old way, and
 * opening it applies the rest, which must carry the rows over.
 * test_store.c holds the back-end-neutral contract.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <anvil/err.h>

#include "store/store.h"
#include "store/store_sqlite.h"

#include "../helpers.h"

/* The integer in the first column of the first row of sql. */
static int
number(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *q = NULL;
	int v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
	if (sqlite3_step(q) == SQLITE_ROW)
		v = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	return v;
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err != NULL ? err : "?");
	sqlite3_free(err);
}

/*
 * A database of schema version (the shipped migrations up to there) at
 * dir/t.db; path and url are set for it.
 */
static sqlite3 *
old_database(const char *dir, int version, char *path, size_t pathsize,
    char *url, size_t urlsize)
{
	sqlite3 *db = NULL;

	snprintf(path, pathsize, "%s/t.db", dir);
	snprintf(url, urlsize, "sqlite:%s", path);
	assert_int_equal(store_sqlite_migrate_to(path, version, NULL), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(number(db, "PRAGMA user_version"), version);
	return db;
}

/* A new database made by the store at dir/name, open in sqlite3. */
static sqlite3 *
new_database(const char *dir, const char *name)
{
	char path[4096], url[4200];
	struct store *s;
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	s = store_open(url, NULL);
	assert_non_null(s);
	store_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	return db;
}

/* The newest schema version: that of a new database. */
static int
newest_version(const char *dir)
{
	sqlite3 *db = new_database(dir, "new.db");
	int v = number(db, "PRAGMA user_version");

	sqlite3_close(db);
	return v;
}

/*
 * Migration 3: certificates issued before certs.profile existed take
 * their order's profile.
 */
static void
store_sqlite__cert_profile_migration_backfills(void **state)
{
	char *dir = th_tmpdir(), path[4096], url[4200];
	struct store *s;
	struct store_cert c;
	sqlite3 *db;

	(void)state;
	db = old_database(dir, 2, path, sizeof(path), url, sizeof(url));
	exec_ok(db,
	    "INSERT INTO orders (id, account_id, status, expires, not_before,"
	    " not_after, created, identifiers, authz_ids, error, cert_id,"
	    " profile, replaces) VALUES ('o1', 'a1', 4, 9, 0, 0, 1, '[]',"
	    " '[]', NULL, 'c1', 'shortlived', '');"
	    "INSERT INTO certs (id, serial, account_id, order_id, chain_pem,"
	    " alt_chain_pem, not_before, not_after, revoked_at, reason)"
	    " VALUES ('c1', '0a', 'a1', 'o1', 'pem', NULL, 1, 2, 0, -1),"
	    " ('c2', '0b', 'a1', 'gone', 'pem', NULL, 1, 2, 0, -1);");
	sqlite3_close(db);

	s = store_open(url, NULL);
	assert_non_null(s);
	assert_int_equal(s->ops->cert_get(s, "c1", &c, NULL), 0);
	assert_string_equal(c.profile, "shortlived");
	store_cert_release(&c);
	/* An order that is gone leaves the profile unknown (""). */
	assert_int_equal(s->ops->cert_get(s, "c2", &c, NULL), 0);
	assert_string_equal(c.profile, "");
	store_cert_release(&c);
	store_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(number(db, "PRAGMA user_version"),
	    newest_version(dir));
	sqlite3_close(db);
	th_rmtree(dir);
	free(dir);
}

/* Asserts that order_list gives account a1 the ids want, in order. */
static void
assert_order_list(struct store *s, const char *after, size_t max,
    const char *const *want, size_t nwant)
{
	char ids[8][STORE_ID_SIZE];
	size_t n = 0, i;

	assert_true(max <= 8);
	assert_int_equal(s->ops->order_list(s, "a1", after, ids, max, &n, NULL),
	    0);
	assert_int_equal(n, nwant);
	for (i = 0; i < n; i++)
		assert_string_equal(ids[i], want[i]);
}

/*
 * Migration 4 (D43) rebuilds jobs and orders and remakes the status
 * indexes: a database of version 3 keeps its queued jobs (oldest first),
 * its orders paginate in the order they had, a new order comes after
 * every old one, and the open-order count and valid-authorization
 * lookup find what they found before.
 */
static void
store_sqlite__jobs_orders_migration_keeps_rows(void **state)
{
	static const char *const page1[] = { "o-c", "o-a" };
	static const char *const page2[] = { "o-b", "o-d" };
	static const char *const page3[] = { "o-new" };
	char *dir = th_tmpdir(), path[4096], url[4200], wal[4200];
	struct store *s;
	struct stat sb;
	struct store_job jobs[4], j;
	struct store_order o;
	struct store_authz z;
	struct acme_ident ident;
	sqlite3 *db;
	long long open = -1;
	size_t n = 0;

	(void)state;
	db = old_database(dir, 3, path, sizeof(path), url, sizeof(url));
	/*
	 * a1's orders in seq order o-c, o-a, o-i (invalid: never listed),
	 * o-b, o-d, not the order of their ids; a2's o-x takes seq 1000
	 * first, so a1's later ones follow it.
	 */
	exec_ok(db,
	    "INSERT INTO orders (id, account_id, status, expires, not_before,"
	    " not_after, created, identifiers, authz_ids, error, cert_id,"
	    " profile, replaces) VALUES"
	    " ('o-c', 'a1', 1, 5000, 0, 0, 1, '[]', '[]', NULL, '', 'p', ''),"
	    " ('o-a', 'a1', 4, 5000, 0, 0, 1, '[]', '[]', NULL, 'c', 'p', ''),"
	    " ('o-i', 'a1', 5, 5000, 0, 0, 1, '[]', '[]', '{}', '', 'p', '');"
	    "INSERT INTO orders (seq, id, account_id, status, expires,"
	    " not_before, not_after, created, identifiers, authz_ids, error,"
	    " cert_id, profile, replaces) VALUES (1000, 'o-x', 'a2', 3, 5000,"
	    " 0, 0, 1, '[]', '[]', NULL, '', 'p', '');"
	    "INSERT INTO orders (id, account_id, status, expires, not_before,"
	    " not_after, created, identifiers, authz_ids, error, cert_id,"
	    " profile, replaces) VALUES"
	    " ('o-b', 'a1', 3, 5000, 0, 0, 1, '[]', '[]', NULL, '', 'p', ''),"
	    " ('o-d', 'a1', 2, 500, 0, 0, 1, '[]', '[]', NULL, '', 'p', '');"
	    "INSERT INTO jobs (chall_id, not_before) VALUES ('c-b', 100),"
	    " ('c-a', 200);"
	    "INSERT INTO authzs (id, account_id, ident_type, ident_value,"
	    " wildcard, status, expires, created) VALUES"
	    " ('z-pending', 'a1', 1, 'example.com', 0, 1, 6000, 2),"
	    " ('z-valid', 'a1', 1, 'example.com', 0, 4, 5000, 1);");
	sqlite3_close(db);

	s = store_open(url, NULL);
	assert_non_null(s);
	/* The rebuilt tables are in the database, not left in the WAL. */
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(s->ops->job_list(s, jobs, 4, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(jobs[0].chall_id, "c-b");
	assert_int_equal(jobs[0].not_before, 100);
	assert_string_equal(jobs[1].chall_id, "c-a");
	assert_int_equal(jobs[1].not_before, 200);
	memset(&j, 0, sizeof(j));
	snprintf(j.chall_id, sizeof(j.chall_id), "c-0");
	j.not_before = 300;
	assert_int_equal(s->ops->job_add(s, &j, NULL), 0);
	assert_int_equal(s->ops->job_list(s, jobs, 4, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(jobs[2].chall_id, "c-0");

	assert_order_list(s, NULL, 2, page1, 2);
	assert_order_list(s, "o-a", 8, page2, 2);
	memset(&o, 0, sizeof(o));
	snprintf(o.id, sizeof(o.id), "o-new");
	snprintf(o.account_id, sizeof(o.account_id), "a1");
	snprintf(o.profile, sizeof(o.profile), "p");
	o.status = ST_PENDING;
	o.expires = 5000;
	assert_int_equal(s->ops->order_insert(s, &o, NULL, 0, NULL), 0);
	assert_order_list(s, "o-d", 8, page3, 1);

	/* Pending o-c and o-new, ready o-b and o-x; processing o-d has
	 * expired, valid o-a and invalid o-i are closed. */
	assert_int_equal(s->ops->order_count_open(s, "p", 1000, &open, NULL),
	    0);
	assert_int_equal(open, 4);
	assert_int_equal(acme_ident_set(&ident, "dns", "example.com"), 0);
	assert_int_equal(s->ops->authz_find_valid(s, "a1", &ident, 0, 1000, &z,
			     NULL),
	    0);
	assert_string_equal(z.id, "z-valid");
	store_authz_release(&z);
	store_close(s);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(number(db,
			     "SELECT seq FROM orders WHERE id = 'o-new'"),
	    1003);
	/* No AUTOINCREMENT counter is kept any more. */
	assert_int_equal(number(db, "SELECT count(*) FROM sqlite_sequence"), 0);
	sqlite3_close(db);
	th_rmtree(dir);
	free(dir);
}

/*
 * The query plan of sql on db, one detail a line, into out; returns
 * how many of its steps read a whole table (a whole partial index is
 * "SCAN t USING INDEX i", no table).
 */
static int
query_plan(sqlite3 *db, const char *sql, char *out, size_t size)
{
	char text[2048];
	sqlite3_stmt *q = NULL;
	const char *detail;
	size_t used = 0;
	int n, scans = 0;

	snprintf(text, sizeof(text), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &q, NULL), SQLITE_OK);
	out[0] = '\0';
	while (sqlite3_step(q) == SQLITE_ROW) {
		detail = (const char *)sqlite3_column_text(q, 3);
		if (strncmp(detail, "SCAN ", 5) == 0 &&
		    strstr(detail, " USING ") == NULL)
			scans++;
		n = snprintf(out + used, size - used, "%s\n", detail);
		assert_true(n >= 0 && (size_t)n < size - used);
		used += (size_t)n;
	}
	sqlite3_finalize(q);
	return scans;
}

/*
 * On the newest schema every statement finds its rows through an
 * index, save the three meant to read a whole table (the queue of jobs
 * at start and its leases, D80, only validations in flight; a renewal
 * window for every certificate; the audit outbox,
 * read oldest first and emptied as it is copied, D44), and the status
 * queries use the partial indexes made for them (D43): a status bound
 * as a parameter, or a partial index's terms not spelled out, and
 * SQLite reads all of orders or authzs instead.
 */
static void
store_sqlite__statements_use_indexes(void **state)
{
	static const struct {
		const char *part, *index;
	} want[] = {
		{ "SELECT count(*) FROM orders", "USING INDEX orders_open" },
		{ "UPDATE orders SET status = 3", "USING INDEX orders_open" },
		{ "FROM authzs WHERE account_id", "USING INDEX authzs_valid" },
		{ "WHERE replaces = ?", "USING INDEX orders_replacing" },
		{ "AND replaces = ?", "USING INDEX orders_replaced" },
		/* D50: the revoked certificates alone, not all of them. */
		{ "SELECT count(*) FROM certs", "INDEX certs_revoked" },
		{ "revoked_at != 0 AND not_after", "INDEX certs_revoked" },
	};
	enum { NWANT = sizeof(want) / sizeof(want[0]) };
	char *dir = th_tmpdir(), plan[4096];
	int seen[NWANT] = { 0 }, scans;
	const char *text;
	sqlite3 *db;
	size_t i, k;

	(void)state;
	db = new_database(dir, "t.db");
	for (i = 0; (text = store_sqlite_statement(i)) != NULL; i++) {
		scans = query_plan(db, text, plan, sizeof(plan));
		if (scans > 0 && strstr(text, " FROM jobs") == NULL &&
		    strstr(text, "jobs SET lease_until = ? WHERE owner") ==
			NULL &&
		    strstr(text, "WHERE revoked_at = 0") == NULL &&
		    strstr(text, " FROM audit_outbox") == NULL &&
		    /* The operator's searches and the blocked names: D74. */
		    strstr(text, " FROM eab ORDER BY") == NULL &&
		    strstr(text, " FROM certs c LEFT JOIN") == NULL &&
		    strstr(text, " FROM blocked_names") == NULL)
			fail_msg("%s: reads a whole table:\n%s", text, plan);
		for (k = 0; k < NWANT; k++) {
			if (strstr(text, want[k].part) == NULL)
				continue;
			seen[k]++;
			if (strstr(plan, want[k].index) == NULL)
				fail_msg("%s: not %s:\n%s", text, want[k].index,
				    plan);
		}
	}
	assert_true(i > 30);
	for (k = 0; k < NWANT; k++)
		assert_int_equal(seen[k], 1);
	sqlite3_close(db);
	th_rmtree(dir);
	free(dir);
}

/* How many times the program of sql on db has opcode op. */
static int
opcodes(sqlite3 *db, const char *sql, const char *op)
{
	char text[2048];
	sqlite3_stmt *q = NULL;
	int n = 0;

	snprintf(text, sizeof(text), "EXPLAIN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, text, -1, &q, NULL), SQLITE_OK);
	while (sqlite3_step(q) == SQLITE_ROW)
		if (strcmp((const char *)sqlite3_column_text(q, 1), op) == 0)
			n++;
	sqlite3_finalize(q);
	return n;
}

/*
 * No insert, update or delete of a row builds a temporary table each
 * time it runs, as a partial index on "status IN (1, 2, 3)" made every
 * write of an order do (D43: 3.5 % more instructions per issuance).
 * The start-up unclaim of every processing order may.
 */
static void
store_sqlite__row_writes_make_no_temp_table(void **state)
{
	char *dir = th_tmpdir();
	const char *text;
	sqlite3 *db;
	size_t i, writes = 0;

	(void)state;
	db = new_database(dir, "t.db");
	for (i = 0; (text = store_sqlite_statement(i)) != NULL; i++) {
		if (strncmp(text, "INSERT", 6) != 0 &&
		    strncmp(text, "UPDATE", 6) != 0 &&
		    strncmp(text, "DELETE", 6) != 0)
			continue;
		writes++;
		if (strstr(text, "UPDATE orders SET status = 3") == NULL &&
		    opcodes(db, text, "OpenEphemeral") > 0)
			fail_msg("%s: makes a temporary table", text);
	}
	assert_true(writes > 10);
	sqlite3_close(db);
	th_rmtree(dir);
	free(dir);
}

/*
 * A certificate chain several pages long goes in, is read back whole
 * after the store is opened again, and the database has the page size
 * want.
 */
static void
long_chain_round_trip(const char *path, int want)
{
	char url[4200], *chain;
	struct store *s;
	struct store_cert c, got;
	sqlite3 *db = NULL;
	size_t i, n = 6000;

	snprintf(url, sizeof(url), "sqlite:%s", path);
	chain = malloc(n + 1);
	assert_non_null(chain);
	for (i = 0; i < n; i++)
		chain[i] = i % 65 == 64 ? '\n' : (char)('A' + i % 26);
	chain[n] = '\0';
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_new_id(c.id), 0);
	snprintf(c.serial, sizeof(c.serial), "01");
	snprintf(c.account_id, sizeof(c.account_id), "acct1");
	snprintf(c.order_id, sizeof(c.order_id), "order1");
	c.chain_pem = chain;
	c.not_before = 1000;
	c.not_after = 2000;
	c.reason = -1;
	s = store_open(url, NULL);
	assert_non_null(s);
	assert_int_equal(s->ops->cert_insert(s, &c, NULL), 0);
	store_close(s);
	s = store_open(url, NULL);
	assert_non_null(s);
	assert_int_equal(s->ops->cert_get(s, c.id, &got, NULL), 0);
	assert_string_equal(got.chain_pem, chain);
	store_cert_release(&got);
	store_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(number(db, "PRAGMA page_size"), want);
	assert_string_equal(sqlite3_errmsg(db), "not an error");
	sqlite3_close(db);
	free(chain);
}

/* A new database is made with 1 KiB pages (D42). */
static void
store_sqlite__new_database_has_1k_pages(void **state)
{
	char *dir = th_tmpdir(), path[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	long_chain_round_trip(path, 1024);
	th_rmtree(dir);
	free(dir);
}

/*
 * Stores order number i, pending, of one of seven accounts; returns
 * order_insert's result, with prob (may be NULL) set on failure.
 */
static int
try_insert_order(struct store *s, int i, struct acme_problem *prob)
{
	struct store_order o;
	char ids[1][STORE_ID_SIZE];

	memset(&o, 0, sizeof(o));
	assert_int_equal(store_new_id(o.id), 0);
	snprintf(o.account_id, sizeof(o.account_id), "a%d", i % 7);
	snprintf(o.profile, sizeof(o.profile), "p");
	snprintf(ids[0], sizeof(ids[0]), "z-%d", i);
	o.authz_ids = ids;
	o.nauthz = 1;
	o.status = ST_PENDING;
	o.expires = 5000 + i;
	return s->ops->order_insert(s, &o, NULL, 0, prob);
}

static void
insert_order(struct store *s, int i)
{
	assert_int_equal(try_insert_order(s, i, NULL), 0);
}

/*
 * D47: the committing connection leaves checkpoints to the store's own
 * thread, which must still run them: after more than a thousand pages
 * of writes, and then none, the database file grows (the WAL copied
 * into it) without anyone asking; under writes without a pause the WAL
 * stays under CKPT_LIMIT pages and a commit.
 */
static void
store_sqlite__wal_is_checkpointed_by_the_thread(void **state)
{
	char *dir = th_tmpdir(), path[4096], url[4200], wal[4200];
	struct store *s;
	struct stat db0, sb;
	unsigned long ck0;
	int i;

	(void)state;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_non_null(s = store_open(url, NULL));
	assert_int_equal(stat(path, &db0), 0);
	ck0 = store_sqlite_checkpoints(s, 0, 0);
	/*
	 * Writes until the WAL holds 1,200 pages: past the thread's 1,000,
	 * short of the 3,000 at which a commit would checkpoint itself.
	 */
	for (i = 0; i < 20000; i++) {
		insert_order(s, i);
		assert_int_equal(stat(wal, &sb), 0);
		if (sb.st_size >= 1200 * (1024 + 24))
			break;
	}
	assert_true(sb.st_size < 3000 * (1024 + 24));
	/* Nothing writes now: the thread's checkpoint, at most 10 s away. */
	assert_true(store_sqlite_checkpoints(s, ck0, 10) > ck0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > db0.st_size);
	/*
	 * Under writes without a pause (about 14,000 pages, CKPT_LIMIT
	 * crossed four times) the WAL stays bounded too: a commit past
	 * CKPT_LIMIT that finds the thread mid-checkpoint waits for it and
	 * copies the rest, so the file, which never shrinks, holds at most
	 * CKPT_LIMIT pages and one commit.
	 */
	for (i = 0; i < 3000; i++) {
		insert_order(s, 20000 + i);
	}
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size < 3100 * (1024 + 24));
	store_close(s);
	th_rmtree(dir);
	free(dir);
}

/*
 * authz_get reads the authorization and its challenges in one read
 * transaction and ends it on every path: afterwards another connection
 * can write and then checkpoint the whole WAL away (a read transaction
 * left open would pin its snapshot: busy, frames left).  Inside a write
 * transaction it reads in that one.
 */
static void
store_sqlite__authz_get_leaves_no_read_transaction(void **state)
{
	char *dir = th_tmpdir(), path[4096], url[4200];
	struct store *s;
	struct store_order o;
	struct store_authz z, got;
	struct acme_ident idents[1];
	char authz_ids[1][STORE_ID_SIZE];
	size_t k;
	sqlite3 *db;

	(void)state;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	assert_non_null(s = store_open(url, NULL));
	memset(&z, 0, sizeof(z));
	assert_int_equal(store_new_id(z.id), 0);
	snprintf(z.account_id, sizeof(z.account_id), "a1");
	assert_int_equal(acme_ident_set(&z.ident, "dns", "example.com"), 0);
	z.status = ST_PENDING;
	z.expires = 5000;
	z.nchall = 3;
	assert_non_null(z.challs = calloc(3, sizeof(*z.challs)));
	for (k = 0; k < 3; k++) {
		assert_int_equal(store_new_id(z.challs[k].id), 0);
		assert_int_equal(store_new_token(z.challs[k].token), 0);
		snprintf(z.challs[k].authz_id, sizeof(z.challs[k].authz_id),
		    "%s", z.id);
		z.challs[k].type = (enum store_chall_type)(k + 1);
		z.challs[k].status = ST_PENDING;
	}
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_new_id(o.id), 0);
	snprintf(o.account_id, sizeof(o.account_id), "a1");
	snprintf(o.profile, sizeof(o.profile), "p");
	o.status = ST_PENDING;
	o.expires = 5000;
	snprintf(authz_ids[0], sizeof(authz_ids[0]), "%s", z.id);
	idents[0] = z.ident;
	o.authz_ids = authz_ids;
	o.nauthz = 1;
	o.idents = idents;
	o.nident = 1;
	assert_int_equal(s->ops->order_insert(s, &o, &z, 1, NULL), 0);

	assert_int_equal(s->ops->authz_get(s, z.id, &got, NULL), 0);
	assert_int_equal(got.nchall, 3);
	store_authz_release(&got);
	assert_int_equal(s->ops->authz_get(s, "no-such-authz", &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(s->ops->begin(s, NULL), 0);
	assert_int_equal(s->ops->authz_get(s, z.id, &got, NULL), 0);
	assert_int_equal(got.nchall, 3);
	store_authz_release(&got);
	assert_int_equal(s->ops->commit(s, NULL), 0);

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, "UPDATE authzs SET created = created + 1");
	/* busy, frames in the WAL, frames checkpointed: 0, 0, 0. */
	assert_int_equal(number(db, "PRAGMA wal_checkpoint(TRUNCATE)"), 0);
	assert_int_equal(number(db, "PRAGMA wal_checkpoint(PASSIVE)"), 0);
	sqlite3_close(db);
	assert_int_equal(s->ops->authz_get(s, z.id, &got, NULL), 0);
	assert_int_equal(got.created, 1);
	store_authz_release(&got);
	store_close(s);
	free(z.challs);
	th_rmtree(dir);
	free(dir);
}

/* A database made with 4 KiB pages (before D42) keeps them and works. */
static void
store_sqlite__existing_database_keeps_its_page_size(void **state)
{
	char *dir = th_tmpdir(), path[4096];
	sqlite3 *db = NULL;

	(void)state;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, "PRAGMA page_size = 4096; CREATE TABLE t (x);"
		    " DROP TABLE t;");
	assert_int_equal(number(db, "PRAGMA page_size"), 4096);
	sqlite3_close(db);
	long_chain_round_trip(path, 4096);
	th_rmtree(dir);
	free(dir);
}

/* The mode bits of path, or -1 when it does not exist. */
static int
mode_of(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (int)(sb.st_mode & 07777) : -1;
}

/* The database at path and its -wal and -shm are 0600. */
static void
assert_private(const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[4200];
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		assert_int_equal(mode_of(p), 0600);
	}
}

/*
 * The database, its -wal and -shm hold the EAB keys: 0600 whatever the
 * umask, and an existing readable file is made private on open.
 */
static void
store_sqlite__database_files_are_private(void **state)
{
	char *dir = th_tmpdir(), path[4096], url[4200];
	struct store *s;
	mode_t old = umask(022);

	(void)state;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	s = store_open(url, NULL);
	assert_non_null(s);
	assert_private(path);
	store_close(s);
	/* As an older anvil-ca left them. */
	assert_int_equal(chmod(path, 0644), 0);
	s = store_open(url, NULL);
	assert_non_null(s);
	assert_private(path);
	store_close(s);
	umask(old);
	th_rmtree(dir);
	free(dir);
}

struct unsynced {
	struct store *s;
	int first; /* the writer's first order number */
	int said;  /* writes refused with the WAL's sync error */
};

/* Writes 50 orders, counting those refused for the WAL's sync. */
static void *
unsynced_writer(void *arg)
{
	struct unsynced *u = arg;
	struct acme_problem prob;
	int i;

	for (i = 0; i < 50; i++) {
		memset(&prob, 0, sizeof(prob));
		if (try_insert_order(u->s, u->first + i, &prob) != 0 &&
		    prob.type == ACME_PROB_SERVER_INTERNAL &&
		    strstr(prob.detail, "cannot sync") != NULL &&
		    strstr(prob.detail, strerror(ENOENT)) != NULL)
			u->said++;
		acme_problem_release(&prob);
	}
	return NULL;
}

/*
 * D94: a write whose WAL cannot be made durable is refused with the
 * reason, in every thread: here the -wal file is unlinked under the
 * store (SQLite writes on into its open descriptor; the flush finds
 * the file gone).  Four writers share the failing group commit, so a
 * leader reports its failure while the next one flushes: with the
 * reason kept in the store, ThreadSanitizer (make test-tsan) sees that
 * race.
 */
static void
store_sqlite__D94_unsyncable_wal_refuses_every_write(void **state)
{
	char *dir = th_tmpdir(), path[4096], url[4200], wal[4200];
	struct unsynced u[4];
	pthread_t t[4];
	struct store *s;
	size_t i;

	(void)state;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	snprintf(wal, sizeof(wal), "%s-wal", path);
	assert_non_null(s = store_open(url, NULL));
	insert_order(s, 0); /* the WAL exists and the flush has it open */
	assert_int_equal(unlink(wal), 0);
	for (i = 0; i < 4; i++) {
		u[i].s = s;
		u[i].first = 1000 * ((int)i + 1);
		u[i].said = 0;
		assert_int_equal(pthread_create(&t[i], NULL, unsynced_writer,
				     &u[i]),
		    0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(u[i].said, 50);
	}
	store_close(s);
	th_rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(store_sqlite__new_database_has_1k_pages),
		cmocka_unit_test(store_sqlite__database_files_are_private),
		cmocka_unit_test(
		    store_sqlite__existing_database_keeps_its_page_size),
		cmocka_unit_test(
		    store_sqlite__cert_profile_migration_backfills),
		cmocka_unit_test(
		    store_sqlite__jobs_orders_migration_keeps_rows),
		cmocka_unit_test(store_sqlite__statements_use_indexes),
		cmocka_unit_test(store_sqlite__row_writes_make_no_temp_table),
		cmocka_unit_test(
		    store_sqlite__authz_get_leaves_no_read_transaction),
		cmocka_unit_test(
		    store_sqlite__wal_is_checkpointed_by_the_thread),
		cmocka_unit_test(
		    store_sqlite__D94_unsyncable_wal_refuses_every_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
