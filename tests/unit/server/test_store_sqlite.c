/* SPDX-License-Identifier: ISC */
/*
 * What only the SQLite back end has: its page size (D42) and its numbered
 * migrations.  For a migration, a database is put back into the shape of
 * the version before it (the additions of it and of every later
 * migration dropped, user_version lowered, rows written the old way),
 * then opened again: the migrations must bring it up and carry the old
 * rows over.  test_store.c holds the back-end-neutral contract.  A new
 * migration that changes what an older case builds on must extend that
 * case's way back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include <anvil/err.h>

#include "store/store.h"

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
 * Certificates issued before certs.profile existed take their order's
 * profile; the per-profile index exists afterwards.
 */
static void
store_sqlite__cert_profile_migration_backfills(void **state)
{
	char *dir = th_tmpdir(), path[4096], url[4200], sql[512];
	struct store *s;
	struct store_cert c;
	sqlite3 *db = NULL;
	int newest;

	(void)state;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	s = store_open(url, NULL);
	assert_non_null(s);
	store_close(s);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	newest = number(db, "PRAGMA user_version");
	assert_true(newest >= 4);
	/* Back to version 2: migration 4's outbox, then 3's profile. */
	exec_ok(db, "DROP TABLE audit_outbox;"
		    "DROP INDEX orders_by_profile;"
		    "ALTER TABLE certs DROP COLUMN profile;");
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", 2);
	exec_ok(db, sql);
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
	assert_int_equal(number(db, "PRAGMA user_version"), newest);
	assert_int_equal(number(db, "SELECT count(*) FROM sqlite_master WHERE"
				    " name = 'orders_by_profile'"),
	    1);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(store_sqlite__new_database_has_1k_pages),
		cmocka_unit_test(
		    store_sqlite__existing_database_keeps_its_page_size),
		cmocka_unit_test(
		    store_sqlite__cert_profile_migration_backfills),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
