/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the client's TSIG key files (src/client/tsig_key.c):
 * what tsig-keygen and ddns-confgen write, the colon forms, and each way
 * a file can be wrong, which must be one clear message and a wiped key.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <anvil/err.h>

#include "tsig_key.h"

#include "helpers.h"

#define SECRET "IUwUh8MA9Bh5wXKum1yePF5rqX2VagMZySUqOEOnTTk="

/* Parses text; asserts success and returns the key. */
static struct tsig_key
parse_ok(const char *text)
{
	struct acme_problem p = { 0 };
	struct tsig_key k;

	if (tsig_key_parse(text, strlen(text), &k, &p) != 0)
		fail_msg("parse failed: %s", p.detail);
	return k;
}

/* Parses len bytes; asserts failure with needle in the detail and the
 * key wiped. */
static void
parse_bad_len(const char *text, size_t len, const char *needle)
{
	struct acme_problem p = { 0 };
	struct tsig_key k;
	static const struct tsig_key zero;

	assert_int_equal(tsig_key_parse(text, len, &k, &p), ACME_ERR_INVAL);
	if (strstr(p.detail, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", p.detail, needle);
	assert_memory_equal(&k, &zero, sizeof(k));
}

static void
parse_bad(const char *text, const char *needle)
{
	parse_bad_len(text, strlen(text), needle);
}

static void
tsig_key__tsig_keygen_output(void **state)
{
	struct tsig_key k = parse_ok("key \"anvil-test\" {\n"
				     "\talgorithm hmac-sha256;\n"
				     "\tsecret \"" SECRET "\";\n"
				     "};\n");

	(void)state;
	assert_string_equal(k.name, "anvil-test");
	assert_string_equal(k.alg, "hmac-sha256");
	assert_string_equal(k.secret, SECRET);
	assert_int_equal(k.weak, 0);
}

static void
tsig_key__ddns_confgen_output_with_comments_and_policy(void **state)
{
	struct tsig_key k = parse_ok(
	    "# To activate this key, place the following in named.conf, and\n"
	    "# in a separate keyfile on the system or systems from which "
	    "nsupdate\n"
	    "# will be run:\n"
	    "key \"ddns-key.example.net\" {\n"
	    "\talgorithm hmac-sha512;\n"
	    "\tsecret \"" SECRET "\";\n"
	    "};\n\n"
	    "# Then, in the \"zone\" definition statement for "
	    "\"example.net\",\n"
	    "update-policy {\n"
	    "\t  grant ddns-key.example.net zonesub ANY;\n"
	    "};\n"
	    "# After the keyfile has been placed, the following command will\n"
	    "nsupdate -k <keyfile>;\n");

	(void)state;
	assert_string_equal(k.name, "ddns-key.example.net");
	assert_string_equal(k.alg, "hmac-sha512");
	assert_string_equal(k.secret, SECRET);
}

static void
tsig_key__comment_styles_case_dots_and_unquoted_name(void **state)
{
	struct tsig_key k = parse_ok("/* a key\n for anvil */ key k1.example. "
				     "{ // the algorithm\n"
				     " algorithm HMAC-SHA256.; # dot and case\n"
				     " secret \"" SECRET "\"; };");

	(void)state;
	assert_string_equal(k.name, "k1.example");
	assert_string_equal(k.alg, "hmac-sha256");
}

static void
tsig_key__hmac_sha1_is_accepted_as_weak(void **state)
{
	struct tsig_key k = parse_ok(
	    "key \"old\" { secret \"" SECRET "\"; algorithm hmac-sha1; };");

	(void)state;
	assert_string_equal(k.alg, "hmac-sha1");
	assert_int_equal(k.weak, 1);
}

static void
tsig_key__colon_forms(void **state)
{
	struct tsig_key k;

	(void)state;
	k = parse_ok("hmac-sha512:name1:" SECRET "\n");
	assert_string_equal(k.name, "name1");
	assert_string_equal(k.alg, "hmac-sha512");
	assert_string_equal(k.secret, SECRET);
	k = parse_ok("  name2:hmac-sha1:" SECRET);
	assert_string_equal(k.name, "name2");
	assert_string_equal(k.alg, "hmac-sha1");
	assert_int_equal(k.weak, 1);
	k = parse_ok("name3.example:" SECRET "\n\n");
	assert_string_equal(k.name, "name3.example");
	assert_string_equal(k.alg, "hmac-sha256");
}

static void
tsig_key__structure_errors(void **state)
{
	(void)state;
	parse_bad("", "no key statement");
	parse_bad("options { directory \"/x\"; };\n", "no key statement");
	parse_bad("not a key\n", "line 1: a statement without its ';'");
	parse_bad("key \"a\" { algorithm hmac-sha256; secret \"" SECRET
		  "\"; };\nkey \"b\" { algorithm hmac-sha256; secret \"" SECRET
		  "\"; };\n",
	    "line 2: a second key statement");
	parse_bad("key \"a\" { algorithm hmac-sha256; secret \"" SECRET
		  "\"; }\n",
	    "expected ';' after the key statement");
	parse_bad("key \"a\" algorithm hmac-sha256;", "expected '{'");
	parse_bad("key { algorithm hmac-sha256; };", "expected the key's name");
	parse_bad("key \"a\" { algorithm hmac-sha256; };", "no secret");
	parse_bad("key \"a\" { secret \"" SECRET "\"; };", "no algorithm");
	parse_bad("key \"a\" { algorithm hmac-sha256 secret \"x\"; };",
	    "expected ';'");
	parse_bad("key \"a\" { port 53; };", "expected algorithm or secret");
	parse_bad("key \"a\" {\n\n algorithm hmac-sha256;\n secret \"" SECRET,
	    "line 4: unterminated quoted string");
	parse_bad("key \"a\n\" {};", "line break inside a quoted string");
	parse_bad("/* never closed\nkey \"a\" {};", "unterminated /* comment");
	parse_bad("key \"a\" { algorithm hmac-sha256;", "unterminated key");
	parse_bad("};", "unbalanced '}'");
	parse_bad_len("key \"a\0\" {};", 12, "NUL byte");
}

static void
tsig_key__algorithm_errors(void **state)
{
	(void)state;
	parse_bad("key a { algorithm hmac-md5; secret \"" SECRET "\"; };",
	    "hmac-md5 is broken");
	parse_bad("key a { algorithm hmac-md5.sig-alg.reg.int.; secret "
		  "\"" SECRET "\"; };",
	    "hmac-md5 is broken");
	parse_bad("key a { algorithm hmac-sha384; secret \"" SECRET "\"; };",
	    "hmac-sha384 is not supported");
	parse_bad("key a { algorithm hmac-sha224; secret \"" SECRET "\"; };",
	    "hmac-sha224 is not supported");
	parse_bad("key a { algorithm ed25519; secret \"" SECRET "\"; };",
	    "unknown TSIG algorithm");
	parse_bad("hmac-whirlpool:a:" SECRET, "unknown TSIG algorithm");
}

static void
tsig_key__secret_and_name_errors(void **state)
{
	char big[TSIG_SECRET_MAX + 64], label[128];

	(void)state;
	parse_bad("key a { algorithm hmac-sha256; secret \"abc\"; };",
	    "not base64");
	parse_bad("key a { algorithm hmac-sha256; secret \"ab=c\"; };",
	    "not base64");
	parse_bad("key a { algorithm hmac-sha256; secret \"a===\"; };",
	    "not base64");
	parse_bad("key a { algorithm hmac-sha256; secret \"ab-_\"; };",
	    "not base64");
	parse_bad("key a { algorithm hmac-sha256; secret \"\"; };",
	    "not base64");
	memset(big, 'A', sizeof(big));
	memcpy(big, "a:", 2);
	big[sizeof(big) - 1] = '\0';
	parse_bad(big, "too long");
	parse_bad("key \"a b\" { algorithm hmac-sha256; secret \"" SECRET
		  "\"; };",
	    "bad key name");
	parse_bad("key \"a..b\" { algorithm hmac-sha256; secret \"" SECRET
		  "\"; };",
	    "bad key name");
	memset(label, 'x', 64);
	memcpy(label + 64, ":" SECRET, sizeof(":" SECRET));
	parse_bad(label, "bad key name");
	parse_bad("a:b:c:" SECRET, "more than three");
	parse_bad("a:hmac-sha256:" SECRET "x", "not base64");
	parse_bad(":" SECRET, "bad key name");
}

static char *
write_file(const char *dir, const char *text, mode_t mode)
{
	char *path = malloc(4096);
	int fd;

	assert_non_null(path);
	snprintf(path, 4096, "%s/key", dir);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void
tsig_key__load_checks_the_file(void **state)
{
	struct acme_problem p = { 0 };
	struct tsig_key k;
	char *dir = th_tmpdir(), *path, missing[4096];
	const char *text = "k:" SECRET "\n";

	(void)state;
	path = write_file(dir, text, 0600);
	assert_int_equal(tsig_key_load(path, &k, &p), 0);
	assert_string_equal(k.name, "k");
	tsig_key_wipe(&k);
	assert_string_equal(k.secret, "");
	/* Group-readable is allowed (a "bind" group, say); others not. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(tsig_key_load(path, &k, &p), 0);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(tsig_key_load(path, &k, &p), ACME_ERR_INVAL);
	assert_non_null(strstr(p.detail, "chmod o-rwx"));
	assert_non_null(strstr(p.detail, path));
	free(path);
	path = write_file(dir, "key x { algorithm hmac-md5; };", 0600);
	assert_int_equal(tsig_key_load(path, &k, &p), ACME_ERR_INVAL);
	assert_non_null(strstr(p.detail, path));
	assert_non_null(strstr(p.detail, "line 1: hmac-md5"));
	snprintf(missing, sizeof(missing), "%s/none", dir);
	assert_int_equal(tsig_key_load(missing, &k, &p), ACME_ERR_INVAL);
	assert_non_null(strstr(p.detail, "No such file"));
	assert_int_equal(tsig_key_load(dir, &k, &p), ACME_ERR_INVAL);
	assert_non_null(strstr(p.detail, "not a regular file"));
	free(path);
	acme_problem_release(&p);
	th_rmtree(dir);
	free(dir);
}

static void
tsig_key__load_bounds_the_size(void **state)
{
	struct acme_problem p = { 0 };
	struct tsig_key k;
	char *dir = th_tmpdir(), *path, *text = malloc(70 * 1024);

	(void)state;
	assert_non_null(text);
	memset(text, '#', 70 * 1024 - 1);
	text[70 * 1024 - 1] = '\0';
	path = write_file(dir, text, 0600);
	assert_int_equal(tsig_key_load(path, &k, &p), ACME_ERR_INVAL);
	assert_non_null(strstr(p.detail, path));
	free(text);
	free(path);
	acme_problem_release(&p);
	th_rmtree(dir);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tsig_key__tsig_keygen_output),
		cmocka_unit_test(
		    tsig_key__ddns_confgen_output_with_comments_and_policy),
		cmocka_unit_test(
		    tsig_key__comment_styles_case_dots_and_unquoted_name),
		cmocka_unit_test(tsig_key__hmac_sha1_is_accepted_as_weak),
		cmocka_unit_test(tsig_key__colon_forms),
		cmocka_unit_test(tsig_key__structure_errors),
		cmocka_unit_test(tsig_key__algorithm_errors),
		cmocka_unit_test(tsig_key__secret_and_name_errors),
		cmocka_unit_test(tsig_key__load_checks_the_file),
		cmocka_unit_test(tsig_key__load_bounds_the_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
