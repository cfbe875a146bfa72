/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for key.c: generation and classification of every supported
 * key type, PKCS#8 PEM round trips through 0600 files, the traditional
 * PKCS#1 and SEC1 formats, and the refusal of garbage, public, encrypted
 * and unsupported keys.  Every key is generated once per binary in the
 * group setup, because RSA 4096 generation is slow.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <anvil/err.h>
#include <anvil/key.h>

#include "helpers.h"

#define NTYPES 6

static const enum acme_key_type all_types[NTYPES] = { ACME_KEY_RSA2048,
	ACME_KEY_RSA3072, ACME_KEY_RSA4096, ACME_KEY_EC256, ACME_KEY_EC384,
	ACME_KEY_ED25519 };
static EVP_PKEY *keys[NTYPES];

static int
setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NTYPES; i++)
		if ((keys[i] = acme_key_generate(all_types[i], NULL)) == NULL)
			return -1;
	return 0;
}

static int
teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < NTYPES; i++)
		EVP_PKEY_free(keys[i]);
	return 0;
}

/* Loads pem and expects a NULL result with a problem of type want. */
static void
expect_load_fails(const char *pem, size_t len, enum acme_prob_type want)
{
	struct acme_problem p = { 0 };
	EVP_PKEY *k = acme_key_load_pem(pem, len, &p);

	if (k != NULL) {
		EVP_PKEY_free(k);
		fail_msg("key loaded");
	}
	assert_int_equal(p.type, want);
	assert_true(p.detail[0] != '\0');
}

static void
key__generate_reports_type_family_bits(void **state)
{
	static const int bits[NTYPES] = { 2048, 3072, 4096, 256, 384, 256 };
	static const enum acme_key_family fam[NTYPES] = { ACME_KEYFAM_RSA,
		ACME_KEYFAM_RSA, ACME_KEYFAM_RSA, ACME_KEYFAM_EC,
		ACME_KEYFAM_EC, ACME_KEYFAM_ED25519 };
	size_t i;

	(void)state;
	for (i = 0; i < NTYPES; i++) {
		enum acme_key_type t = ACME_KEY_UNKNOWN;
		enum acme_key_family f = ACME_KEYFAM_UNKNOWN;
		int b = 0;

		assert_int_equal(acme_key_info(keys[i], &t, &f, &b), 0);
		assert_int_equal(t, all_types[i]);
		assert_int_equal(f, fam[i]);
		assert_int_equal(b, bits[i]);
		/* Every out pointer is optional. */
		assert_int_equal(acme_key_info(keys[i], NULL, NULL, NULL), 0);
	}
}

static void
key__generate_unknown_type_fails(void **state)
{
	struct acme_problem p = { 0 };

	(void)state;
	assert_null(acme_key_generate(ACME_KEY_UNKNOWN, &p));
	assert_int_equal(p.type, ACME_PROB_BAD_PUBLIC_KEY);
	assert_null(acme_key_generate((enum acme_key_type)99, NULL));
}

static void
key__info_rejects_other_algorithms(void **state)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	enum acme_key_type t = ACME_KEY_EC256;

	(void)state;
	assert_non_null(k);
	assert_int_equal(acme_key_info(k, &t, NULL, NULL),
	    ACME_ERR_UNSUPPORTED);
	assert_int_equal(t, ACME_KEY_EC256); /* left alone */
	assert_int_equal(acme_key_info(NULL, &t, NULL, NULL), ACME_ERR_INVAL);
	EVP_PKEY_free(k);
}

static void
key__to_pem_is_pkcs8(void **state)
{
	size_t i, len;

	(void)state;
	for (i = 0; i < NTYPES; i++) {
		char *pem = acme_key_to_pem(keys[i], &len);

		assert_non_null(pem);
		assert_int_equal(strlen(pem), len);
		assert_true(
		    strncmp(pem, "-----BEGIN PRIVATE KEY-----\n", 28) == 0);
		free(pem);
	}
	assert_null(acme_key_to_pem(NULL, &len));
}

static void
key__pem_round_trip_every_type_mode_0600(void **state)
{
	char *dir = th_tmpdir(), path[4096];
	struct acme_problem p = { 0 };
	mode_t old = umask(0);
	size_t i;

	(void)state;
	for (i = 0; i < NTYPES; i++) {
		struct stat st;
		EVP_PKEY *back;
		enum acme_key_type t = ACME_KEY_UNKNOWN;

		snprintf(path, sizeof(path), "%s/%s.pem", dir,
		    acme_key_type_name(all_types[i]));
		assert_int_equal(acme_key_save_file(keys[i], path, &p), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		back = acme_key_load_file(path, &p);
		assert_non_null(back);
		assert_true(acme_key_public_equal(back, keys[i]));
		assert_int_equal(acme_key_info(back, &t, NULL, NULL), 0);
		assert_int_equal(t, all_types[i]);
		EVP_PKEY_free(back);
	}
	umask(old);
	th_rmtree(dir);
	free(dir);
}

/* A world-readable file at the target path is replaced, not reused. */
static void
key__save_replaces_loose_file_with_0600(void **state)
{
	char *dir = th_tmpdir(), path[4096];
	struct acme_problem p = { 0 };
	mode_t old = umask(0);
	struct stat st;
	EVP_PKEY *back;
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old\n", 4), 4);
	close(fd);
	assert_int_equal(acme_key_save_file(keys[3], path, &p), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	back = acme_key_load_file(path, &p);
	assert_true(acme_key_public_equal(back, keys[3]));
	EVP_PKEY_free(back);
	umask(old);
	th_rmtree(dir);
	free(dir);
}

static void
key__save_into_missing_directory_fails(void **state)
{
	struct acme_problem p = { 0 };

	(void)state;
	assert_true(
	    acme_key_save_file(keys[3], "/nonexistent/dir/key.pem", &p) < 0);
	assert_int_not_equal(p.type, ACME_PROB_NONE);
}

/* Writes key in its traditional format and checks that it loads back. */
static void
check_traditional(EVP_PKEY *key, const char *label)
{
	struct acme_problem p = { 0 };
	BIO *b = BIO_new(BIO_s_mem());
	EVP_PKEY *back;
	char *data;
	long n;

	assert_non_null(b);
	assert_true(PEM_write_bio_PrivateKey_traditional(b, key, NULL, NULL, 0,
	    NULL, NULL));
	n = BIO_get_mem_data(b, &data);
	assert_true(n > 0);
	assert_non_null(memmem(data, (size_t)n, label, strlen(label)));
	back = acme_key_load_pem(data, (size_t)n, &p);
	assert_non_null(back);
	assert_true(acme_key_public_equal(back, key));
	EVP_PKEY_free(back);
	BIO_free(b);
}

static void
key__loads_sec1_ec(void **state)
{
	(void)state;
	check_traditional(keys[3], "BEGIN EC PRIVATE KEY");
	check_traditional(keys[4], "BEGIN EC PRIVATE KEY");
}

static void
key__loads_pkcs1_rsa(void **state)
{
	(void)state;
	check_traditional(keys[0], "BEGIN RSA PRIVATE KEY");
}

static void
key__rejects_garbage(void **state)
{
	static const char notpem[] = "not a key";
	static const char badb64[] = "-----BEGIN PRIVATE KEY-----\n"
				     "!!!!\n"
				     "-----END PRIVATE KEY-----\n";
	struct acme_problem p = { 0 };
	size_t len;
	char *pem;

	(void)state;
	expect_load_fails(notpem, sizeof(notpem) - 1, ACME_PROB_MALFORMED);
	expect_load_fails(badb64, sizeof(badb64) - 1, ACME_PROB_MALFORMED);
	expect_load_fails("", 0, ACME_PROB_MALFORMED);
	/* A truncated PKCS#8 block. */
	pem = acme_key_to_pem(keys[3], &len);
	assert_non_null(pem);
	expect_load_fails(pem, len / 2, ACME_PROB_MALFORMED);
	free(pem);
	assert_null(acme_key_load_file("/nonexistent/key.pem", &p));
	assert_non_null(strstr(p.detail, "/nonexistent/key.pem"));
}

/* A public key PEM is not a private key, and must not prompt either. */
static void
key__rejects_public_key_pem(void **state)
{
	size_t len;
	char *pub;

	(void)state;
	pub = acme_key_public_pem(keys[3], &len);
	assert_non_null(pub);
	assert_non_null(strstr(pub, "BEGIN PUBLIC KEY"));
	expect_load_fails(pub, len, ACME_PROB_MALFORMED);
	free(pub);
}

/*
 * An encrypted key fails without asking for a passphrase.  OpenSSL's
 * default callback would read one from /dev/tty, or from stdin when there
 * is no terminal, so the load runs in a child with no controlling
 * terminal and the right passphrase waiting on stdin: only a callback
 * that refuses to ask makes it fail.
 */
static void
key__encrypted_key_fails_without_prompt(void **state)
{
	BIO *b = BIO_new(BIO_s_mem());
	char pass[] = "secret";
	int fds[2], status = 0;
	char *data;
	pid_t pid;
	long n;

	(void)state;
	assert_true(PEM_write_bio_PKCS8PrivateKey(b, keys[3], EVP_aes_128_cbc(),
	    NULL, 0, NULL, pass));
	n = BIO_get_mem_data(b, &data);
	assert_non_null(memmem(data, (size_t)n, "ENCRYPTED", 9));
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "secret\n", 7), 7);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct acme_problem p = { 0 };
		EVP_PKEY *k;
		int null = open("/dev/null", O_WRONLY);

		alarm(20);
		close(fds[1]);
		if (setsid() < 0 || dup2(fds[0], STDIN_FILENO) < 0 ||
		    null < 0 || dup2(null, STDERR_FILENO) < 0)
			_exit(2);
		clearerr(stdin);
		k = acme_key_load_pem(data, (size_t)n, &p);
		_exit(k == NULL && p.type == ACME_PROB_MALFORMED ? 0 : 1);
	}
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Only now, with no prompt possible, also in this process. */
	expect_load_fails(data, (size_t)n, ACME_PROB_MALFORMED);
	BIO_free(b);
}

static void
key__rejects_ed448_and_x25519(void **state)
{
	static const char *const algs[] = { "ED448", "X25519" };
	size_t i, len;

	(void)state;
	for (i = 0; i < 2; i++) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, algs[i]);
		char *pem = acme_key_to_pem(k, &len);

		assert_non_null(pem);
		expect_load_fails(pem, len, ACME_PROB_BAD_PUBLIC_KEY);
		free(pem);
		EVP_PKEY_free(k);
	}
}

/* secp256k1 is an EC key that some hold, but libanvil refuses. */
static void
key__rejects_secp256k1(void **state)
{
	EVP_PKEY *k = EVP_EC_gen("secp256k1");
	enum acme_key_type t = ACME_KEY_EC256;
	enum acme_key_family f = ACME_KEYFAM_UNKNOWN;
	int bits = 0;
	size_t len;
	char *pem;

	(void)state;
	assert_non_null(k);
	assert_int_equal(acme_key_info(k, &t, &f, &bits), 0);
	assert_int_equal(t, ACME_KEY_UNKNOWN);
	assert_int_equal(f, ACME_KEYFAM_EC);
	assert_int_equal(bits, 256);
	pem = acme_key_to_pem(k, &len);
	assert_non_null(pem);
	expect_load_fails(pem, len, ACME_PROB_BAD_PUBLIC_KEY);
	free(pem);
	EVP_PKEY_free(k);
}

/* vectors/dsa-2048.pem: a throwaway key made by openssl genpkey. */
static void
key__rejects_dsa(void **state)
{
	size_t len;
	char *pem = th_read_vector("dsa-2048.pem", &len);

	(void)state;
	expect_load_fails(pem, len, ACME_PROB_BAD_PUBLIC_KEY);
	free(pem);
}

static void
key__rejects_small_rsa(void **state)
{
	EVP_PKEY *k = EVP_RSA_gen(1024);
	enum acme_key_type t = ACME_KEY_RSA2048;
	size_t len;
	char *pem;

	(void)state;
	assert_non_null(k);
	assert_int_equal(acme_key_info(k, &t, NULL, NULL), 0);
	assert_int_equal(t, ACME_KEY_UNKNOWN);
	pem = acme_key_to_pem(k, &len);
	assert_non_null(pem);
	expect_load_fails(pem, len, ACME_PROB_BAD_PUBLIC_KEY);
	free(pem);
	EVP_PKEY_free(k);
}

static void
key__type_names_both_ways(void **state)
{
	static const char *const want[NTYPES] = { "rsa2048", "rsa3072",
		"rsa4096", "ec256", "ec384", "ed25519" };
	size_t i;

	(void)state;
	for (i = 0; i < NTYPES; i++) {
		assert_string_equal(acme_key_type_name(all_types[i]), want[i]);
		assert_int_equal(acme_key_type_from_name(want[i]),
		    all_types[i]);
	}
	assert_string_equal(acme_key_type_name(ACME_KEY_UNKNOWN), "unknown");
	assert_int_equal(acme_key_type_from_name("unknown"), ACME_KEY_UNKNOWN);
	assert_int_equal(acme_key_type_from_name("dsa"), ACME_KEY_UNKNOWN);
	assert_int_equal(acme_key_type_from_name("EC256"), ACME_KEY_UNKNOWN);
	assert_int_equal(acme_key_type_from_name(""), ACME_KEY_UNKNOWN);
	assert_int_equal(acme_key_type_from_name(NULL), ACME_KEY_UNKNOWN);
}

static void
key__public_equal_distinguishes(void **state)
{
	EVP_PKEY *other = acme_key_generate(ACME_KEY_EC256, NULL);
	size_t len;
	char *pub = acme_key_public_pem(keys[3], &len);
	BIO *b = BIO_new_mem_buf(pub, (int)len);
	EVP_PKEY *pubkey = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);

	(void)state;
	assert_true(acme_key_public_equal(keys[3], keys[3]));
	/* A public-only copy equals its private key. */
	assert_non_null(pubkey);
	assert_true(acme_key_public_equal(keys[3], pubkey));
	assert_false(acme_key_public_equal(keys[3], other));
	assert_false(acme_key_public_equal(keys[3], keys[4]));
	assert_false(acme_key_public_equal(keys[0], keys[3]));
	assert_false(acme_key_public_equal(keys[3], NULL));
	assert_false(acme_key_public_equal(NULL, NULL));
	EVP_PKEY_free(pubkey);
	EVP_PKEY_free(other);
	BIO_free(b);
	free(pub);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key__generate_reports_type_family_bits),
		cmocka_unit_test(key__generate_unknown_type_fails),
		cmocka_unit_test(key__info_rejects_other_algorithms),
		cmocka_unit_test(key__to_pem_is_pkcs8),
		cmocka_unit_test(key__pem_round_trip_every_type_mode_0600),
		cmocka_unit_test(key__save_replaces_loose_file_with_0600),
		cmocka_unit_test(key__save_into_missing_directory_fails),
		cmocka_unit_test(key__loads_sec1_ec),
		cmocka_unit_test(key__loads_pkcs1_rsa),
		cmocka_unit_test(key__rejects_garbage),
		cmocka_unit_test(key__rejects_public_key_pem),
		cmocka_unit_test(key__encrypted_key_fails_without_prompt),
		cmocka_unit_test(key__rejects_ed448_and_x25519),
		cmocka_unit_test(key__rejects_secp256k1),
		cmocka_unit_test(key__rejects_dsa),
		cmocka_unit_test(key__rejects_small_rsa),
		cmocka_unit_test(key__type_names_both_ways),
		cmocka_unit_test(key__public_equal_distinguishes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
