/* SPDX-License-Identifier: ISC */
/* Unit tests for key.c: generation, classification, PEM round trips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/pem.h>

#include <anvil/err.h>
#include <anvil/key.h>

#include "helpers.h"

static const enum acme_key_type all_types[] = { ACME_KEY_RSA2048,
	ACME_KEY_RSA3072, ACME_KEY_RSA4096, ACME_KEY_EC256, ACME_KEY_EC384,
	ACME_KEY_ED25519 };
static EVP_PKEY *keys[6];

static int
setup(void **state)
{
	size_t i;

	(void)state;
	/* RSA 4096 is slow: every key is generated once per binary. */
	for (i = 0; i < 6; i++)
		if ((keys[i] = acme_key_generate(all_types[i], NULL)) == NULL)
			return -1;
	return 0;
}

static int
teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++)
		EVP_PKEY_free(keys[i]);
	return 0;
}

static void
key__generate_reports_type_family_bits(void **state)
{
	static const int bits[] = { 2048, 3072, 4096, 256, 384, 253 };
	static const enum acme_key_family fam[] = { ACME_KEYFAM_RSA,
		ACME_KEYFAM_RSA, ACME_KEYFAM_RSA, ACME_KEYFAM_EC,
		ACME_KEYFAM_EC, ACME_KEYFAM_ED25519 };
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
		enum acme_key_type t = ACME_KEY_UNKNOWN;
		enum acme_key_family f = ACME_KEYFAM_UNKNOWN;
		int b = 0;

		assert_int_equal(acme_key_info(keys[i], &t, &f, &b), 0);
		assert_int_equal(t, all_types[i]);
		assert_int_equal(f, fam[i]);
		if (f != ACME_KEYFAM_ED25519)
			assert_int_equal(b, bits[i]);
	}
}

static void
key__pem_round_trip_every_type_mode_0600(void **state)
{
	char *dir = th_tmpdir(), path[4096];
	struct acme_problem p = { 0 };
	mode_t old = umask(0);
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++) {
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

static void
key__loads_traditional_formats(void **state)
{
	struct acme_problem p = { 0 };
	BIO *b = BIO_new(BIO_s_mem());
	EVP_PKEY *back;
	char *data;
	long n;

	(void)state;
	/* SEC1 "EC PRIVATE KEY" and PKCS#1 "RSA PRIVATE KEY" blocks. */
	assert_true(PEM_write_bio_PrivateKey_traditional(b, keys[3], NULL, NULL,
	    0, NULL, NULL));
	n = BIO_get_mem_data(b, &data);
	assert_non_null(strstr(data, "BEGIN EC PRIVATE KEY"));
	back = acme_key_load_pem(data, (size_t)n, &p);
	assert_non_null(back);
	assert_true(acme_key_public_equal(back, keys[3]));
	EVP_PKEY_free(back);
	BIO_reset(b);
	assert_true(PEM_write_bio_PrivateKey_traditional(b, keys[0], NULL, NULL,
	    0, NULL, NULL));
	n = BIO_get_mem_data(b, &data);
	assert_non_null(strstr(data, "BEGIN RSA PRIVATE KEY"));
	back = acme_key_load_pem(data, (size_t)n, &p);
	assert_non_null(back);
	EVP_PKEY_free(back);
	BIO_free(b);
}

static void
key__rejects_garbage_and_public_keys(void **state)
{
	struct acme_problem p = { 0 };
	size_t len;
	char *pub;

	(void)state;
	assert_null(acme_key_load_pem("not a key", 9, &p));
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	pub = acme_key_public_pem(keys[3], &len);
	assert_non_null(pub);
	assert_non_null(strstr(pub, "BEGIN PUBLIC KEY"));
	assert_null(acme_key_load_pem(pub, len, &p));
	free(pub);
	assert_null(acme_key_load_file("/nonexistent/key.pem", &p));
	assert_non_null(strstr(p.detail, "/nonexistent/key.pem"));
}

static void
key__encrypted_key_fails_without_prompt(void **state)
{
	struct acme_problem p = { 0 };
	BIO *b = BIO_new(BIO_s_mem());
	char pass[] = "secret";
	char *data;
	long n;

	(void)state;
	assert_true(PEM_write_bio_PKCS8PrivateKey(b, keys[3], EVP_aes_128_cbc(),
	    NULL, 0, NULL, pass));
	n = BIO_get_mem_data(b, &data);
	assert_null(acme_key_load_pem(data, (size_t)n, &p));
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	BIO_free(b);
}

static void
key__rejects_unsupported_algorithms(void **state)
{
	static const char *const algs[] = { "ED448", "X25519" };
	struct acme_problem p = { 0 };
	size_t i, len;

	(void)state;
	for (i = 0; i < 2; i++) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, algs[i]);
		char *pem = acme_key_to_pem(k, &len);

		assert_non_null(pem);
		assert_null(acme_key_load_pem(pem, len, &p));
		assert_int_equal(p.type, ACME_PROB_BAD_PUBLIC_KEY);
		free(pem);
		EVP_PKEY_free(k);
	}
	{
		/* P-521 is an EC key ACME clients may hold but we refuse. */
		EVP_PKEY *k = EVP_EC_gen("P-521");
		char *pem = acme_key_to_pem(k, &len);
		enum acme_key_type t = ACME_KEY_EC256;
		enum acme_key_family f = ACME_KEYFAM_UNKNOWN;

		assert_int_equal(acme_key_info(k, &t, &f, NULL), 0);
		assert_int_equal(t, ACME_KEY_UNKNOWN);
		assert_int_equal(f, ACME_KEYFAM_EC);
		assert_null(acme_key_load_pem(pem, len, &p));
		assert_int_equal(p.type, ACME_PROB_BAD_PUBLIC_KEY);
		free(pem);
		EVP_PKEY_free(k);
	}
}

static void
key__type_names_both_ways(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < 6; i++)
		assert_int_equal(acme_key_type_from_name(
				     acme_key_type_name(all_types[i])),
		    all_types[i]);
	assert_string_equal(acme_key_type_name(ACME_KEY_EC256), "ec256");
	assert_int_equal(acme_key_type_from_name("dsa"), ACME_KEY_UNKNOWN);
	assert_int_equal(acme_key_type_from_name(NULL), ACME_KEY_UNKNOWN);
	assert_null(acme_key_generate(ACME_KEY_UNKNOWN, NULL));
}

static void
key__public_equal_distinguishes(void **state)
{
	(void)state;
	assert_true(acme_key_public_equal(keys[3], keys[3]));
	assert_false(acme_key_public_equal(keys[3], keys[4]));
	assert_false(acme_key_public_equal(keys[3], NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key__generate_reports_type_family_bits),
		cmocka_unit_test(key__pem_round_trip_every_type_mode_0600),
		cmocka_unit_test(key__loads_traditional_formats),
		cmocka_unit_test(key__rejects_garbage_and_public_keys),
		cmocka_unit_test(key__encrypted_key_fails_without_prompt),
		cmocka_unit_test(key__rejects_unsupported_algorithms),
		cmocka_unit_test(key__type_names_both_ways),
		cmocka_unit_test(key__public_equal_distinguishes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
