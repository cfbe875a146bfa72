/* SPDX-License-Identifier: ISC */
/* Unit tests for fileio.c: atomic writes, modes, bounded reads. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <anvil/err.h>
#include <anvil/fileio.h>

#include "helpers.h"

static size_t
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
fileio__write_mode_exact_despite_umask(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), path[4096];
	struct stat st;
	mode_t old;

	(void)state;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	old = umask(0);
	assert_int_equal(acme_file_write_atomic(path, "secret", 6, 0600, &p),
	    0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Rewriting keeps the mode asked for, not the old file's. */
	assert_int_equal(acme_file_write_atomic(path, "public", 6, 0644, &p),
	    0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	th_rmtree(dir);
	free(dir);
}

static void
fileio__round_trip_and_no_temp_left(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), path[4096], *data = NULL;
	size_t len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(acme_file_write_atomic(path, "one", 3, 0600, &p), 0);
	assert_int_equal(acme_file_write_atomic(path, "second", 6, 0600, &p),
	    0);
	assert_int_equal(acme_file_read(path, 100, &data, &len, &p), 0);
	assert_int_equal(len, 6);
	assert_string_equal(data, "second");
	assert_int_equal(count_entries(dir), 1);
	free(data);
	th_rmtree(dir);
	free(dir);
}

static void
fileio__write_failure_leaves_nothing(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), path[4096];

	(void)state;
	snprintf(path, sizeof(path), "%s/missing/f", dir);
	assert_int_equal(acme_file_write_atomic(path, "x", 1, 0600, &p),
	    ACME_ERR_IO);
	assert_int_equal(p.type, ACME_PROB_SERVER_INTERNAL);
	assert_non_null(strstr(p.detail, path));
	assert_int_equal(count_entries(dir), 0);
	th_rmtree(dir);
	free(dir);
}

/* Renaming over a directory fails: the temp file must be removed. */
static void
fileio__rename_failure_keeps_old_and_cleans_up(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), path[4096];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/d", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(acme_file_write_atomic(path, "x", 1, 0600, &p),
	    ACME_ERR_IO);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(count_entries(dir), 1);
	th_rmtree(dir);
	free(dir);
}

static void
fileio__read_limit_and_missing(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), path[4096], *data = NULL;
	size_t len = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/f", dir);
	assert_int_equal(acme_file_write_atomic(path, "0123456789", 10, 0600,
			     &p),
	    0);
	assert_int_equal(acme_file_read(path, 9, &data, &len, &p),
	    ACME_ERR_LIMIT);
	assert_null(data);
	assert_int_equal(acme_file_read(path, 10, &data, &len, &p), 0);
	assert_int_equal(len, 10);
	free(data);
	snprintf(path, sizeof(path), "%s/nope", dir);
	assert_int_equal(acme_file_read(path, 10, &data, &len, &p),
	    ACME_ERR_IO);
	assert_non_null(strstr(p.detail, "nope"));
	/* A directory is not a file. */
	assert_int_equal(acme_file_read(dir, 10, &data, &len, &p), ACME_ERR_IO);
	th_rmtree(dir);
	free(dir);
}

static void
fileio__empty_file(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), path[4096], *data = NULL;
	size_t len = 1;

	(void)state;
	snprintf(path, sizeof(path), "%s/empty", dir);
	assert_int_equal(acme_file_write_atomic(path, "", 0, 0600, &p), 0);
	assert_int_equal(acme_file_read(path, 10, &data, &len, &p), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	free(data);
	th_rmtree(dir);
	free(dir);
}

/* Reads path whole (test helper); "" when missing. */
static char *
slurp(const char *path)
{
	char *data = NULL;
	size_t len = 0;

	if (acme_file_read(path, 1 << 20, &data, &len, NULL) != 0)
		return strdup("");
	return data;
}

static void
fileio__write_set_writes_all_with_modes(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), a[4096], b[4096], *got;
	struct stat st;
	struct acme_file_out set[2];

	(void)state;
	snprintf(a, sizeof(a), "%s/key.pem", dir);
	snprintf(b, sizeof(b), "%s/cert.pem", dir);
	set[0] = (struct acme_file_out){ a, "KEY", 3, 0600 };
	set[1] = (struct acme_file_out){ b, "CERT", 4, 0644 };
	assert_int_equal(acme_file_write_set(set, 2, &p), 0);
	assert_string_equal(got = slurp(a), "KEY");
	free(got);
	assert_string_equal(got = slurp(b), "CERT");
	free(got);
	assert_int_equal(stat(a, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(b, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(count_entries(dir), 2); /* no temporary left */
	th_rmtree(dir);
	free(dir);
}

/*
 * A file of the set that cannot be written (its directory is missing):
 * none of the set replaces its old file, and no temporary is left.
 */
static void
fileio__write_set_failure_replaces_nothing(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), a[4096], b[4096], bad[4096], *got;
	struct acme_file_out set[3];

	(void)state;
	snprintf(a, sizeof(a), "%s/key.pem", dir);
	snprintf(b, sizeof(b), "%s/cert.pem", dir);
	snprintf(bad, sizeof(bad), "%s/missing/chain.pem", dir);
	assert_int_equal(acme_file_write_atomic(a, "old key", 7, 0600, &p), 0);
	assert_int_equal(acme_file_write_atomic(b, "old cert", 8, 0644, &p), 0);
	set[0] = (struct acme_file_out){ a, "new key", 7, 0600 };
	set[1] = (struct acme_file_out){ b, "new cert", 8, 0644 };
	set[2] = (struct acme_file_out){ bad, "chain", 5, 0644 };
	assert_int_equal(acme_file_write_set(set, 3, &p), ACME_ERR_IO);
	assert_non_null(strstr(p.detail, "missing"));
	assert_string_equal(got = slurp(a), "old key");
	free(got);
	assert_string_equal(got = slurp(b), "old cert");
	free(got);
	assert_int_equal(count_entries(dir), 2);
	acme_problem_release(&p);
	th_rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fileio__write_mode_exact_despite_umask),
		cmocka_unit_test(fileio__round_trip_and_no_temp_left),
		cmocka_unit_test(fileio__write_failure_leaves_nothing),
		cmocka_unit_test(
		    fileio__rename_failure_keeps_old_and_cleans_up),
		cmocka_unit_test(fileio__read_limit_and_missing),
		cmocka_unit_test(fileio__empty_file),
		cmocka_unit_test(fileio__write_set_writes_all_with_modes),
		cmocka_unit_test(fileio__write_set_failure_replaces_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
