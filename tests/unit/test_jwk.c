/* SPDX-License-Identifier: ISC */
/* Unit tests for jwk.c: export, import checks, RFC 7638 thumbprints. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/rsa.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/key.h>

#include "helpers.h"

static const enum acme_key_type types[] = { ACME_KEY_RSA2048, ACME_KEY_EC256,
	ACME_KEY_EC384, ACME_KEY_ED25519 };

static char *
thumb_b64(const unsigned char tp[ACME_JWK_THUMBPRINT_LEN])
{
	return acme_b64url_encode(tp, ACME_JWK_THUMBPRINT_LEN);
}

/* RFC 7638 3.1, both from the JSON and through an imported key. */
static void
jwk__rfc7638_thumbprint_vector(void **state)
{
	json_t *v = th_vector_json("rfc7638-3.1.json");
	const json_t *jwk = json_object_get(v, "jwk");
	const char *want = json_string_value(json_object_get(v, "thumbprint"));
	unsigned char tp[ACME_JWK_THUMBPRINT_LEN];
	struct acme_problem p = { 0 };
	EVP_PKEY *key;
	char *s;

	(void)state;
	assert_int_equal(acme_jwk_thumbprint_json(jwk, tp, &p), 0);
	s = thumb_b64(tp);
	assert_string_equal(s, want);
	free(s);
	key = acme_jwk_to_key(jwk, &p);
	assert_non_null(key);
	s = acme_jwk_thumbprint_b64(key, &p);
	assert_string_equal(s, want);
	free(s);
	EVP_PKEY_free(key);
	json_decref(v);
}

/* RFC 8037 A.3: the Ed25519 public key's thumbprint. */
static void
jwk__rfc8037_ed25519_thumbprint(void **state)
{
	json_t *v = th_vector_json("rfc8037-a4.json");
	json_t *pub = json_deep_copy(json_object_get(v, "jwk"));
	unsigned char tp[ACME_JWK_THUMBPRINT_LEN];
	struct acme_problem p = { 0 };
	EVP_PKEY *key;
	char *s;

	(void)state;
	json_object_del(pub, "d");
	key = acme_jwk_to_key(pub, &p);
	assert_non_null(key);
	assert_int_equal(acme_jwk_thumbprint(key, tp, &p), 0);
	s = thumb_b64(tp);
	assert_string_equal(s,
	    json_string_value(json_object_get(v, "thumbprint")));
	free(s);
	EVP_PKEY_free(key);
	json_decref(pub);
	json_decref(v);
}

static void
jwk__export_members_exact(void **state)
{
	struct acme_problem p = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		EVP_PKEY *k = acme_key_generate(types[i], &p);
		json_t *jwk = acme_jwk_from_key(k, &p);
		const char *kty =
		    json_string_value(json_object_get(jwk, "kty"));

		assert_non_null(jwk);
		if (i == 0) {
			assert_string_equal(kty, "RSA");
			assert_int_equal(json_object_size(jwk), 3);
			assert_string_equal(json_string_value(
						json_object_get(jwk, "e")),
			    "AQAB");
		} else if (i < 3) {
			size_t want = i == 1 ? 43 : 64; /* 32 or 48 bytes */

			assert_string_equal(kty, "EC");
			assert_int_equal(json_object_size(jwk), 4);
			assert_int_equal(strlen(json_string_value(
					     json_object_get(jwk, "x"))),
			    want);
			assert_int_equal(strlen(json_string_value(
					     json_object_get(jwk, "y"))),
			    want);
		} else {
			assert_string_equal(kty, "OKP");
			assert_string_equal(json_string_value(
						json_object_get(jwk, "crv")),
			    "Ed25519");
			assert_int_equal(json_object_size(jwk), 3);
		}
		json_decref(jwk);
		EVP_PKEY_free(k);
	}
}

static void
jwk__round_trip_every_type(void **state)
{
	struct acme_problem p = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		EVP_PKEY *k = acme_key_generate(types[i], &p), *back;
		json_t *jwk = acme_jwk_from_key(k, &p);
		unsigned char t1[32], t2[32];

		back = acme_jwk_to_key(jwk, &p);
		assert_non_null(back);
		assert_true(acme_key_public_equal(k, back));
		assert_int_equal(acme_jwk_thumbprint(k, t1, &p), 0);
		assert_int_equal(acme_jwk_thumbprint_json(jwk, t2, &p), 0);
		assert_memory_equal(t1, t2, 32);
		EVP_PKEY_free(back);
		EVP_PKEY_free(k);
		json_decref(jwk);
	}
}

/* S-CHAL-6: an EC coordinate with a leading zero byte keeps full length. */
static void
jwk__S_CHAL_6_ec_leading_zero_full_length(void **state)
{
	struct acme_problem p = { 0 };
	int tries;

	(void)state;
	for (tries = 0; tries < 4000; tries++) {
		EVP_PKEY *k = acme_key_generate(ACME_KEY_EC256, &p);
		BIGNUM *x = NULL, *y = NULL;
		int small;

		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &x);
		EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &y);
		small = BN_num_bytes(x) < 32 || BN_num_bytes(y) < 32;
		BN_free(x);
		BN_free(y);
		if (small) {
			json_t *jwk = acme_jwk_from_key(k, &p);
			unsigned char *raw = NULL;
			size_t len = 0;
			const char *xs =
			    json_string_value(json_object_get(jwk, "x"));
			const char *ys =
			    json_string_value(json_object_get(jwk, "y"));
			EVP_PKEY *back;

			assert_int_equal(strlen(xs), 43);
			assert_int_equal(strlen(ys), 43);
			assert_int_equal(acme_b64url_decode(xs, 43, &raw, &len),
			    0);
			assert_int_equal(len, 32);
			free(raw);
			back = acme_jwk_to_key(jwk, &p);
			assert_true(acme_key_public_equal(k, back));
			EVP_PKEY_free(back);
			json_decref(jwk);
			EVP_PKEY_free(k);
			return;
		}
		EVP_PKEY_free(k);
	}
	fail_msg("no key with a leading zero coordinate in 4000 tries");
}

static json_t *
ec_jwk(void)
{
	EVP_PKEY *k = acme_key_generate(ACME_KEY_EC256, NULL);
	json_t *jwk = acme_jwk_from_key(k, NULL);

	EVP_PKEY_free(k);
	return jwk;
}

static void
expect_reject(json_t *jwk, enum acme_prob_type type)
{
	struct acme_problem p = { 0 };
	EVP_PKEY *k = acme_jwk_to_key(jwk, &p);

	if (k != NULL)
		fail_msg("JWK accepted");
	assert_int_equal(p.type, type);
	json_decref(jwk);
}

static void
jwk__S_JWS_19_rejects_private_members(void **state)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi",
		"oth", "k" };
	size_t i;

	(void)state;
	for (i = 0; i < 8; i++) {
		json_t *jwk = ec_jwk();

		json_object_set_new(jwk, priv[i], json_string("AQAB"));
		expect_reject(jwk, ACME_PROB_MALFORMED);
	}
}

static void
jwk__rejects_symmetric_and_unknown_types(void **state)
{
	(void)state;
	expect_reject(json_pack("{s:s}", "kty", "oct"), ACME_PROB_MALFORMED);
	expect_reject(json_pack("{s:s, s:s}", "kty", "DSA", "y", "AQAB"),
	    ACME_PROB_BAD_PUBLIC_KEY);
	expect_reject(json_pack("{s:s}", "crv", "P-256"), ACME_PROB_MALFORMED);
	expect_reject(json_string("EC"), ACME_PROB_MALFORMED);
}

static void
jwk__rejects_unknown_curves(void **state)
{
	json_t *jwk = ec_jwk();

	(void)state;
	json_object_set_new(jwk, "crv", json_string("P-521"));
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	jwk = json_pack("{s:s, s:s, s:s}", "kty", "OKP", "crv", "Ed448", "x",
	    "AQAB");
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
}

static void
jwk__rejects_short_ec_coordinates(void **state)
{
	json_t *jwk = ec_jwk();
	const char *x = json_string_value(json_object_get(jwk, "x"));
	unsigned char *raw = NULL;
	size_t len = 0;
	char *shorter;

	(void)state;
	/* Drop the first byte: 31 bytes is not the P-256 field length. */
	assert_int_equal(acme_b64url_decode(x, strlen(x), &raw, &len), 0);
	shorter = acme_b64url_encode(raw + 1, len - 1);
	json_object_set_new(jwk, "x", json_string(shorter));
	free(shorter);
	free(raw);
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
}

static void
jwk__rejects_point_not_on_curve(void **state)
{
	json_t *jwk = ec_jwk();
	const char *y = json_string_value(json_object_get(jwk, "y"));
	unsigned char *raw = NULL;
	size_t len = 0;
	char *bad;

	(void)state;
	assert_int_equal(acme_b64url_decode(y, strlen(y), &raw, &len), 0);
	raw[len - 1] ^= 1;
	bad = acme_b64url_encode(raw, len);
	json_object_set_new(jwk, "y", json_string(bad));
	free(bad);
	free(raw);
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
}

static json_t *
rsa_jwk_bits(int bits)
{
	EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);
	json_t *jwk = NULL;
	BIGNUM *n = NULL;
	unsigned char buf[512];
	char *s;
	int len;

	/* Export by hand: acme_jwk_from_key would work, but be explicit. */
	EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
	len = BN_bn2bin(n, buf);
	s = acme_b64url_encode(buf, (size_t)len);
	jwk = json_pack("{s:s, s:s, s:s}", "kty", "RSA", "n", s, "e", "AQAB");
	free(s);
	BN_free(n);
	EVP_PKEY_free(k);
	return jwk;
}

static void
jwk__S_JWS_15_rejects_small_rsa(void **state)
{
	(void)state;
	expect_reject(rsa_jwk_bits(1024), ACME_PROB_BAD_PUBLIC_KEY);
}

static void
jwk__rejects_bad_rsa_exponent(void **state)
{
	json_t *jwk = rsa_jwk_bits(2048);

	(void)state;
	json_object_set_new(jwk, "e", json_string("Ag")); /* 2: even */
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	jwk = rsa_jwk_bits(2048);
	json_object_set_new(jwk, "e", json_string("AQ")); /* 1: too small */
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	jwk = rsa_jwk_bits(2048);
	json_object_set_new(jwk, "e", json_string("AAEAAQ")); /* leading 0 */
	expect_reject(jwk, ACME_PROB_MALFORMED);
}

static void
jwk__rejects_non_base64url_and_missing_members(void **state)
{
	json_t *jwk = ec_jwk();

	(void)state;
	json_object_set_new(jwk, "x", json_string("abc="));
	expect_reject(jwk, ACME_PROB_MALFORMED);
	jwk = ec_jwk();
	json_object_del(jwk, "y");
	expect_reject(jwk, ACME_PROB_MALFORMED);
	jwk = ec_jwk();
	json_object_set_new(jwk, "x", json_integer(5));
	expect_reject(jwk, ACME_PROB_MALFORMED);
}

static void
jwk__thumbprint_ignores_optional_members(void **state)
{
	json_t *jwk = ec_jwk();
	unsigned char a[32], b[32];

	(void)state;
	assert_int_equal(acme_jwk_thumbprint_json(jwk, a, NULL), 0);
	json_object_set_new(jwk, "kid", json_string("k1"));
	json_object_set_new(jwk, "use", json_string("sig"));
	assert_int_equal(acme_jwk_thumbprint_json(jwk, b, NULL), 0);
	assert_memory_equal(a, b, 32);
	json_decref(jwk);
}

static void
jwk__alg_for_key(void **state)
{
	static const char *const want[] = { "RS256", "ES256", "ES384",
		"EdDSA" };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		EVP_PKEY *k = acme_key_generate(types[i], NULL);

		assert_string_equal(acme_jwk_alg_for_key(k), want[i]);
		EVP_PKEY_free(k);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jwk__rfc7638_thumbprint_vector),
		cmocka_unit_test(jwk__rfc8037_ed25519_thumbprint),
		cmocka_unit_test(jwk__export_members_exact),
		cmocka_unit_test(jwk__round_trip_every_type),
		cmocka_unit_test(jwk__S_CHAL_6_ec_leading_zero_full_length),
		cmocka_unit_test(jwk__S_JWS_19_rejects_private_members),
		cmocka_unit_test(jwk__rejects_symmetric_and_unknown_types),
		cmocka_unit_test(jwk__rejects_unknown_curves),
		cmocka_unit_test(jwk__rejects_short_ec_coordinates),
		cmocka_unit_test(jwk__rejects_point_not_on_curve),
		cmocka_unit_test(jwk__S_JWS_15_rejects_small_rsa),
		cmocka_unit_test(jwk__rejects_bad_rsa_exponent),
		cmocka_unit_test(
		    jwk__rejects_non_base64url_and_missing_members),
		cmocka_unit_test(jwk__thumbprint_ignores_optional_members),
		cmocka_unit_test(jwk__alg_for_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
