/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the certificate key checks (weakkey.c, D58): RSA
 * exponent and modulus rules, Fermat-factorable and ROCA-fingerprinted
 * moduli made here from their published structure, the blocklist file,
 * and policy_cert_key() calling all of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <anvil/err.h>
#include <anvil/key.h>

#include "policy/policy.h"
#include "policy/weakkey.h"

#include "../helpers.h"

static struct conf cfg;

static int
setup(void **state)
{
	(void)state;
	conf_defaults(&cfg, "/tmp");
	return 0;
}

/* An RSA public key with modulus n and exponent e. */
static EVP_PKEY *
rsa_pub(const BIGNUM *n, const BIGNUM *e)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;

	assert_non_null(bld);
	assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n));
	assert_true(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e));
	params = OSSL_PARAM_BLD_to_param(bld);
	assert_true(EVP_PKEY_fromdata_init(ctx) == 1);
	assert_true(
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) == 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	return key;
}

/* policy_cert_key(key) is badCSR with why in the detail. */
static void
refused(EVP_PKEY *key, const char *why)
{
	struct acme_problem p = { 0 };

	assert_int_equal(policy_cert_key(&cfg, key, &p), ACME_ERR_INVAL);
	assert_int_equal(p.type, ACME_PROB_BAD_CSR);
	if (strstr(p.detail, why) == NULL)
		fail_msg("detail \"%s\" does not say \"%s\"", p.detail, why);
	acme_problem_release(&p);
}

static void
accepted(EVP_PKEY *key)
{
	struct acme_problem p = { 0 };

	if (policy_cert_key(&cfg, key, &p) != 0)
		fail_msg("refused: %s", p.detail);
	acme_problem_release(&p);
}

/* The modulus of a fresh 2048-bit key. */
static BIGNUM *
good_modulus(void)
{
	EVP_PKEY *k = acme_key_generate(ACME_KEY_RSA2048, NULL);
	BIGNUM *n = NULL;

	assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n));
	EVP_PKEY_free(k);
	return n;
}

/* e = 1 (issued before, review #5), 3, even, 2^256 + 1: all refused. */
static void
weakkey__rsa_exponent_rules(void **state)
{
	BIGNUM *n = good_modulus(), *e = BN_new();
	EVP_PKEY *k;
	static const unsigned long bad[] = { 1, 3, 65535, 65538 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(BN_set_word(e, bad[i]));
		k = rsa_pub(n, e);
		refused(k, "public exponent");
		EVP_PKEY_free(k);
	}
	assert_true(BN_set_word(e, 1));
	assert_true(BN_lshift(e, e, 256) && BN_add_word(e, 1));
	k = rsa_pub(n, e);
	refused(k, "public exponent");
	EVP_PKEY_free(k);
	/* The largest allowed, 2^256 - 1, and the usual one. */
	assert_true(BN_set_word(e, 1));
	assert_true(BN_lshift(e, e, 256) && BN_sub_word(e, 1));
	k = rsa_pub(n, e);
	accepted(k);
	EVP_PKEY_free(k);
	assert_true(BN_set_word(e, 65537));
	k = rsa_pub(n, e);
	accepted(k);
	EVP_PKEY_free(k);
	BN_free(n);
	BN_free(e);
}

/* The least prime factor of n below 1000, else 0. */
static unsigned long
smallest_factor(const BIGNUM *n)
{
	unsigned long r, d;

	for (r = 2; r < 1000; r++) {
		for (d = 2; d * d <= r && r % d != 0; d++)
			;
		if (d * d > r && BN_mod_word(n, r) == 0)
			return r;
	}
	return 0;
}

/* An even modulus, and one with a small factor (BR 6.1.6). */
static void
weakkey__rsa_modulus_even_or_small_factor(void **state)
{
	BIGNUM *n = good_modulus(), *e = BN_new();
	EVP_PKEY *k;

	(void)state;
	assert_true(BN_set_word(e, 65537));
	assert_true(BN_add_word(n, 1));
	k = rsa_pub(n, e);
	refused(k, "modulus is even");
	EVP_PKEY_free(k);
	/* The next multiple of 751 without a smaller prime factor. */
	assert_true(BN_sub_word(n, BN_mod_word(n, 751)));
	do
		assert_true(BN_add_word(n, 751));
	while (smallest_factor(n) != 751);
	k = rsa_pub(n, e);
	refused(k, "factor 751");
	EVP_PKEY_free(k);
	BN_free(n);
	BN_free(e);
}

/* p and the next prime after it: Fermat's method finds them at once. */
static void
weakkey__rsa_fermat_close_primes(void **state)
{
	BIGNUM *p = BN_new(), *q = BN_new(), *n = BN_new(), *e = BN_new();
	BIGNUM *good = good_modulus();
	BN_CTX *ctx = BN_CTX_new();
	EVP_PKEY *k;

	(void)state;
	assert_true(BN_generate_prime_ex2(p, 1024, 0, NULL, NULL, NULL, ctx));
	assert_non_null(BN_copy(q, p));
	do
		assert_true(BN_add_word(q, 2));
	while (BN_check_prime(q, ctx, NULL) != 1);
	assert_true(BN_mul(n, p, q, ctx));
	assert_int_equal(BN_num_bits(n), 2048);
	assert_int_equal(weakkey_fermat(n, WEAKKEY_FERMAT_ROUNDS), 1);
	assert_int_equal(weakkey_fermat(good, WEAKKEY_FERMAT_ROUNDS), 0);
	assert_true(BN_set_word(e, 65537));
	k = rsa_pub(n, e);
	refused(k, "Fermat");
	EVP_PKEY_free(k);
	k = rsa_pub(good, e);
	accepted(k);
	EVP_PKEY_free(k);
	BN_free(p);
	BN_free(q);
	BN_free(n);
	BN_free(e);
	BN_free(good);
	BN_CTX_free(ctx);
}

/*
 * A prime of the flawed generator's form k*M + (65537^a mod M), M the
 * product of the first 126 primes (those of 2048-bit keys), of bits bits
 * with the top two set, so that two of them make 2 * bits.
 */
static BIGNUM *
roca_prime(int bits, BN_CTX *ctx)
{
	BIGNUM *m = BN_new(), *g = BN_new(), *a = BN_new(), *k = BN_new();
	BIGNUM *p = BN_new();
	unsigned long r, d;
	int count = 0;

	assert_true(BN_one(m));
	for (r = 2; count < 126; r++) {
		for (d = 2; d * d <= r && r % d != 0; d++)
			;
		if (d * d > r) {
			assert_true(BN_mul_word(m, r));
			count++;
		}
	}
	assert_true(BN_set_word(g, 65537));
	do {
		assert_true(
		    BN_rand(a, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY));
		assert_true(BN_mod_exp(g, g, a, m, ctx));
		assert_true(BN_rand(k, bits - BN_num_bits(m) + 1,
		    BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY));
		assert_true(BN_mul(p, k, m, ctx) && BN_add(p, p, g));
	} while (BN_num_bits(p) != bits || !BN_is_bit_set(p, bits - 2) ||
		 BN_check_prime(p, ctx, NULL) != 1);
	BN_free(m);
	BN_free(g);
	BN_free(a);
	BN_free(k);
	return p;
}

static void
weakkey__rsa_roca_fingerprint(void **state)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *n = BN_new(), *e = BN_new(), *good = good_modulus();
	BIGNUM *p = NULL, *q = NULL;
	EVP_PKEY *k;
	int i;

	(void)state;
	p = roca_prime(1024, ctx);
	q = roca_prime(1024, ctx);
	assert_true(BN_mul(n, p, q, ctx));
	assert_int_equal(BN_num_bits(n), 2048);
	assert_int_equal(weakkey_roca(n), 1);
	assert_int_equal(weakkey_fermat(n, WEAKKEY_FERMAT_ROUNDS), 0);
	/* Ordinary moduli do not have it (false positives 2^-167). */
	assert_int_equal(weakkey_roca(good), 0);
	for (i = 0; i < 5; i++) {
		BIGNUM *r = good_modulus();

		assert_int_equal(weakkey_roca(r), 0);
		BN_free(r);
	}
	assert_true(BN_set_word(e, 65537));
	k = rsa_pub(n, e);
	refused(k, "ROCA");
	EVP_PKEY_free(k);
	BN_free(p);
	BN_free(q);
	BN_free(n);
	BN_free(e);
	BN_free(good);
	BN_CTX_free(ctx);
}

/*
 * D91: the RSA checks in place of EVP_PKEY_public_check still refuse a
 * prime modulus (RFC 3526's 2048- and 4096-bit primes), a prime's cube
 * (Fermat's method finds only squares) and an even modulus, and take an
 * ordinary one.
 */
static void
weakkey__D91_rsa_prime_prime_power_or_even_modulus_refused(void **state)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *e = BN_new(), *p = BN_new(), *n = BN_new();
	BIGNUM *good = good_modulus();
	BIGNUM *primes[2];
	EVP_PKEY *k;
	size_t i;

	(void)state;
	assert_true(BN_set_word(e, 65537));
	primes[0] = BN_get_rfc3526_prime_2048(NULL);
	primes[1] = BN_get_rfc3526_prime_4096(NULL);
	for (i = 0; i < 2; i++) {
		assert_int_equal(weakkey_composite(primes[i]), WEAKKEY_PRIME);
		k = rsa_pub(primes[i], e);
		refused(k, "modulus is prime");
		EVP_PKEY_free(k);
		BN_free(primes[i]);
	}
	/* p^3 of 2048 bits, p a prime of 683 bits. */
	do {
		assert_true(
		    BN_generate_prime_ex2(p, 683, 0, NULL, NULL, NULL, ctx));
		assert_true(BN_sqr(n, p, ctx) && BN_mul(n, n, p, ctx));
	} while (BN_num_bits(n) != 2048);
	assert_int_equal(weakkey_fermat(n, WEAKKEY_FERMAT_ROUNDS), 0);
	assert_int_equal(weakkey_composite(n), WEAKKEY_PRIME_POWER);
	k = rsa_pub(n, e);
	refused(k, "prime power");
	EVP_PKEY_free(k);
	assert_int_equal(weakkey_composite(good), WEAKKEY_COMPOSITE);
	k = rsa_pub(good, e);
	accepted(k);
	EVP_PKEY_free(k);
	assert_true(BN_add_word(good, 1));
	k = rsa_pub(good, e);
	refused(k, "modulus is even");
	EVP_PKEY_free(k);
	BN_free(e);
	BN_free(p);
	BN_free(n);
	BN_free(good);
	BN_CTX_free(ctx);
}

/* Writes text to a new file in dir; returns its path (caller frees). */
static char *
write_file(const char *dir, const char *text)
{
	char *path = malloc(strlen(dir) + 16);
	FILE *f;

	assert_non_null(path);
	snprintf(path, strlen(dir) + 16, "%s/blocked", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/*
 * blocked_keys_file: SHA-256 of the DER SubjectPublicKeyInfo as OpenSSL
 * writes it (`openssl pkey -pubout -outform DER | sha256sum`), in
 * either case, sha256sum's "HEX  -" form, comments and blank lines.
 */
static void
weakkey__blocklist_file(void **state)
{
	EVP_PKEY *bad = acme_key_generate(ACME_KEY_EC256, NULL);
	EVP_PKEY *rsa = acme_key_generate(ACME_KEY_RSA2048, NULL);
	EVP_PKEY *ok = acme_key_generate(ACME_KEY_EC256, NULL);
	struct acme_problem p = { 0 };
	unsigned char *der = NULL, md[32];
	char text[512], *dir = th_tmpdir(), *path;
	struct keyblock *kb;
	size_t off = 0;
	int len, i;

	(void)state;
	off += (size_t)snprintf(text, sizeof(text), "# compromised\n\n");
	len = i2d_PUBKEY(bad, &der);
	SHA256(der, (size_t)len, md);
	OPENSSL_free(der);
	der = NULL;
	for (i = 0; i < 32; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%02x",
		    md[i]);
	off += (size_t)snprintf(text + off, sizeof(text) - off, "  -\r\n");
	len = i2d_PUBKEY(rsa, &der);
	SHA256(der, (size_t)len, md);
	OPENSSL_free(der);
	for (i = 0; i < 32; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%02X",
		    md[i]);
	path = write_file(dir, text);
	kb = keyblock_load(path, &p);
	assert_non_null(kb);
	assert_int_equal(keyblock_count(kb), 2);
	cfg.blocked_keys = kb;
	refused(bad, "compromised");
	refused(rsa, "compromised");
	accepted(ok);
	cfg.blocked_keys = NULL;
	accepted(bad);
	keyblock_free(kb);
	free(path);
	/* A line that is not a digest names its line. */
	path = write_file(dir, "# x\nabc\n");
	assert_null(keyblock_load(path, &p));
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	assert_non_null(strstr(p.detail, "line 2"));
	acme_problem_release(&p);
	free(path);
	th_rmtree(dir);
	free(dir);
	EVP_PKEY_free(bad);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ok);
}

/* RSA moduli of a whole number of octets only (BR 6.1.5). */
static void
weakkey__rsa_bits_multiple_of_8(void **state)
{
	EVP_PKEY *k = acme_key_generate(ACME_KEY_RSA2048, NULL);
	BIGNUM *n = NULL, *e = BN_new();
	EVP_PKEY *odd;

	(void)state;
	assert_true(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n));
	assert_true(BN_set_word(e, 65537));
	/* 2052 bits: n * 16 + 1, odd. */
	assert_true(BN_lshift(n, n, 4) && BN_add_word(n, 1));
	odd = rsa_pub(n, e);
	refused(odd, "multiple of 8");
	EVP_PKEY_free(odd);
	EVP_PKEY_free(k);
	BN_free(n);
	BN_free(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(weakkey__rsa_exponent_rules),
		cmocka_unit_test(weakkey__rsa_modulus_even_or_small_factor),
		cmocka_unit_test(weakkey__rsa_fermat_close_primes),
		cmocka_unit_test(weakkey__rsa_roca_fingerprint),
		cmocka_unit_test(weakkey__blocklist_file),
		cmocka_unit_test(weakkey__rsa_bits_multiple_of_8),
		cmocka_unit_test(
		    weakkey__D91_rsa_prime_prime_power_or_even_modulus_refused),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
