/* SPDX-License-Identifier: ISC */
/* Unit tests for anvil-ca's configuration file handling. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/fileio.h>

#include "conf.h"

#include "../helpers.h"

static char *
write_conf(const char *dir, const char *text)
{
	char *path = malloc(4096);

	snprintf(path, 4096, "%s/anvil-ca.json", dir);
	assert_int_equal(acme_file_write_atomic(path, text, strlen(text), 0644,
			     NULL),
	    0);
	return path;
}

static void
conf__defaults(void **state)
{
	struct conf c;

	(void)state;
	conf_defaults(&c, "/srv/ca");
	assert_string_equal(c.listen, "127.0.0.1:14000");
	assert_int_equal(c.http01_port, 80);
	assert_int_equal(c.tls_alpn01_port, 443);
	assert_int_equal(c.allow_private_addresses, 0);
	assert_string_equal(c.root_cert, "/srv/ca/ca/root.pem");
	assert_string_equal(c.database, "sqlite:/srv/ca/anvil-ca.db");
	assert_string_equal(c.resolver, "");
	assert_int_equal(c.validation_per_account, 2); /* D53 */
}

static void
conf__save_load_round_trip(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), path[4096];
	struct conf a, b;

	(void)state;
	conf_defaults(&a, dir);
	snprintf(a.listen, sizeof(a.listen), "127.0.0.1:9999");
	a.http01_port = 5002;
	a.allow_private_addresses = 1;
	snprintf(path, sizeof(path), "%s/anvil-ca.json", dir);
	assert_int_equal(conf_save(&a, path, &p), 0);
	assert_int_equal(conf_load(&b, path, &p), 0);
	assert_string_equal(b.listen, "127.0.0.1:9999");
	assert_int_equal(b.http01_port, 5002);
	assert_int_equal(b.allow_private_addresses, 1);
	assert_string_equal(b.issuer_key, a.issuer_key);
	th_rmtree(dir);
	free(dir);
}

static void
conf__rejects_unknown_keys_types_and_bounds(void **state)
{
	static const char *const bad[] = {
		"{\"lisen\":\"x\"}",
		"{\"http01_port\":\"80\"}",
		"{\"http01_port\":0}",
		"{\"http01_port\":70000}",
		"{\"validation_per_account\":0}",
		"{\"allow_private_addresses\":1}",
		"{\"listen\":5}",
		"[]",
		"{\"a\":1,\"a\":2}",
	};
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir();
	struct conf c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *path = write_conf(dir, bad[i]);

		if (conf_load(&c, path, &p) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_int_equal(p.type, ACME_PROB_MALFORMED);
		free(path);
	}
	th_rmtree(dir);
	free(dir);
}

static void
conf__relative_paths_are_relative_to_the_file(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), want[4096];
	char *path = write_conf(dir, "{\"issuer_key\":\"keys/i.key\"}");
	struct conf c;

	(void)state;
	assert_int_equal(conf_load(&c, path, &p), 0);
	snprintf(want, sizeof(want), "%s/keys/i.key", dir);
	assert_string_equal(c.issuer_key, want);
	free(path);
	th_rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf__defaults),
		cmocka_unit_test(conf__save_load_round_trip),
		cmocka_unit_test(conf__rejects_unknown_keys_types_and_bounds),
		cmocka_unit_test(conf__relative_paths_are_relative_to_the_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
