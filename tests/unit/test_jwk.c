/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for jwk.c: export of every supported key type, the RFC 7638
 * and RFC 8037 thumbprint vectors, EC coordinates with leading zero bytes,
 * and one case per import rejection, so that dropping any single check
 * fails a test.  The keys are generated once in the group setup.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/key.h>

#include "helpers.h"

enum { K_RSA, K_EC256, K_EC384, K_ED25519, K__MAX };

static const enum acme_key_type types[K__MAX] = { ACME_KEY_RSA2048,
	ACME_KEY_EC256, ACME_KEY_EC384, ACME_KEY_ED25519 };
static EVP_PKEY *keys[K__MAX];
static EVP_PKEY *lz_key; /* P-256 with a leading zero byte in x or y */

static int
setup(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < K__MAX; i++)
		if ((keys[i] = acme_key_generate(types[i], NULL)) == NULL)
			return -1;
	return 0;
}

static int
teardown(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < K__MAX; i++)
		EVP_PKEY_free(keys[i]);
	EVP_PKEY_free(lz_key);
	return 0;
}

/* Whether key's EC coordinate param is shorter than 32 bytes. */
static int
coord_is_short(EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;
	int small;

	assert_int_equal(EVP_PKEY_get_bn_param(key, param, &bn), 1);
	small = BN_num_bytes(bn) < 32;
	BN_free(bn);
	return small;
}

/*
 * A P-256 key whose x or y has a leading zero byte.  About one key in
 * 128 qualifies, so 4000 tries fail with probability below 1e-13.  The
 * key is found once and cached; the caller does not free it.
 */
static EVP_PKEY *
leading_zero_key(void)
{
	int tries;

	for (tries = 0; lz_key == NULL && tries < 4000; tries++) {
		EVP_PKEY *k = acme_key_generate(ACME_KEY_EC256, NULL);

		assert_non_null(k);
		if (coord_is_short(k, OSSL_PKEY_PARAM_EC_PUB_X) ||
		    coord_is_short(k, OSSL_PKEY_PARAM_EC_PUB_Y))
			lz_key = k;
		else
			EVP_PKEY_free(k);
	}
	if (lz_key == NULL)
		fail_msg("no key with a leading zero coordinate in 4000 tries");
	return lz_key;
}

/* A new JWK for keys[which]. */
static json_t *
jwk_of(int which)
{
	json_t *jwk = acme_jwk_from_key(keys[which], NULL);

	assert_non_null(jwk);
	return jwk;
}

/* Decodes the base64url member name of jwk; the caller frees. */
static unsigned char *
member_bytes(const json_t *jwk, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	unsigned char *raw = NULL;

	assert_non_null(s);
	assert_int_equal(acme_b64url_decode(s, strlen(s), &raw, len), 0);
	return raw;
}

/* Sets jwk[name] to the base64url encoding of p. */
static void
set_member_bytes(json_t *jwk, const char *name, const unsigned char *p,
    size_t len)
{
	char *s = acme_b64url_encode(p, len);

	assert_non_null(s);
	assert_int_equal(json_object_set_new(jwk, name, json_string(s)), 0);
	free(s);
}

/* Sets jwk[name] to a string. */
static void
set_member(json_t *jwk, const char *name, const char *value)
{
	assert_int_equal(json_object_set_new(jwk, name, json_string(value)), 0);
}

/* Imports jwk (taken) and expects a NULL result with a problem of type. */
static void
expect_reject(json_t *jwk, enum acme_prob_type type)
{
	struct acme_problem p = { 0 };
	EVP_PKEY *k;

	assert_non_null(jwk);
	k = acme_jwk_to_key(jwk, &p);
	json_decref(jwk);
	if (k != NULL) {
		EVP_PKEY_free(k);
		fail_msg("JWK accepted");
	}
	assert_int_equal(p.type, type);
	assert_true(p.detail[0] != '\0');
}

/* Imports jwk (taken) and expects a key. */
static void
expect_accept(json_t *jwk)
{
	struct acme_problem p = { 0 };
	EVP_PKEY *k;

	assert_non_null(jwk);
	k = acme_jwk_to_key(jwk, &p);
	json_decref(jwk);
	if (k == NULL)
		fail_msg("JWK refused: %s", p.detail);
	EVP_PKEY_free(k);
}

/* An RSA JWK with a random odd modulus of exactly bits bits and e 65537. */
static json_t *
rsa_jwk_random(int bits)
{
	BIGNUM *n = BN_new();
	unsigned char *buf;
	json_t *jwk;
	int len;

	assert_non_null(n);
	assert_int_equal(BN_rand(n, bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD),
	    1);
	len = BN_num_bytes(n);
	buf = malloc((size_t)len);
	assert_non_null(buf);
	BN_bn2bin(n, buf);
	jwk = json_pack("{s:s, s:s}", "kty", "RSA", "e", "AQAB");
	set_member_bytes(jwk, "n", buf, (size_t)len);
	free(buf);
	BN_free(n);
	return jwk;
}

static void
check_b64_thumbprint(const unsigned char tp[ACME_JWK_THUMBPRINT_LEN],
    const char *want)
{
	char *s = acme_b64url_encode(tp, ACME_JWK_THUMBPRINT_LEN);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
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
	assert_string_equal(want,
	    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	/* The vector carries alg and kid, which must not count. */
	assert_non_null(json_object_get(jwk, "kid"));
	assert_int_equal(acme_jwk_thumbprint_json(jwk, tp, &p), 0);
	check_b64_thumbprint(tp, want);
	key = acme_jwk_to_key(jwk, &p);
	assert_non_null(key);
	assert_int_equal(acme_jwk_thumbprint(key, tp, &p), 0);
	check_b64_thumbprint(tp, want);
	s = acme_jwk_thumbprint_b64(key, &p);
	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
	EVP_PKEY_free(key);
	json_decref(v);
}

/* RFC 8037 A.2 and A.3: the Ed25519 public key and its thumbprint. */
static void
jwk__rfc8037_ed25519_thumbprint(void **state)
{
	json_t *v = th_vector_json("rfc8037-a4.json");
	json_t *pub = json_deep_copy(json_object_get(v, "jwk"));
	const char *want = json_string_value(json_object_get(v, "thumbprint"));
	unsigned char tp[ACME_JWK_THUMBPRINT_LEN];
	struct acme_problem p = { 0 };
	json_t *back;
	EVP_PKEY *key;

	(void)state;
	assert_string_equal(want,
	    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	assert_int_equal(json_object_del(pub, "d"), 0); /* A.2 */
	assert_int_equal(acme_jwk_thumbprint_json(pub, tp, &p), 0);
	check_b64_thumbprint(tp, want);
	key = acme_jwk_to_key(pub, &p);
	assert_non_null(key);
	assert_int_equal(acme_jwk_thumbprint(key, tp, &p), 0);
	check_b64_thumbprint(tp, want);
	assert_string_equal(acme_jwk_alg_for_key(key), "EdDSA");
	back = acme_jwk_from_key(key, &p);
	assert_true(json_equal(back, pub));
	json_decref(back);
	EVP_PKEY_free(key);
	json_decref(pub);
	json_decref(v);
}

static void
jwk__export_rsa_members(void **state)
{
	json_t *jwk = jwk_of(K_RSA);
	unsigned char *n;
	size_t len = 0;

	(void)state;
	assert_int_equal(json_object_size(jwk), 3);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")),
	    "RSA");
	assert_string_equal(json_string_value(json_object_get(jwk, "e")),
	    "AQAB");
	/* 2048 bits in 256 bytes, with no leading zero octet. */
	n = member_bytes(jwk, "n", &len);
	assert_int_equal(len, 256);
	assert_int_not_equal(n[0], 0);
	free(n);
	json_decref(jwk);
}

static void
jwk__export_ec_members_full_length(void **state)
{
	static const struct {
		int key;
		const char *crv;
		size_t flen;
	} cases[] = { { K_EC256, "P-256", 32 }, { K_EC384, "P-384", 48 } };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		json_t *jwk = jwk_of(cases[i].key);
		unsigned char *c;
		size_t len = 0;

		assert_int_equal(json_object_size(jwk), 4);
		assert_string_equal(json_string_value(
					json_object_get(jwk, "kty")),
		    "EC");
		assert_string_equal(json_string_value(
					json_object_get(jwk, "crv")),
		    cases[i].crv);
		c = member_bytes(jwk, "x", &len);
		assert_int_equal(len, cases[i].flen);
		free(c);
		c = member_bytes(jwk, "y", &len);
		assert_int_equal(len, cases[i].flen);
		free(c);
		json_decref(jwk);
	}
}

static void
jwk__export_okp_members(void **state)
{
	json_t *jwk = jwk_of(K_ED25519);
	unsigned char *x;
	size_t len = 0;

	(void)state;
	assert_int_equal(json_object_size(jwk), 3);
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")),
	    "OKP");
	assert_string_equal(json_string_value(json_object_get(jwk, "crv")),
	    "Ed25519");
	x = member_bytes(jwk, "x", &len);
	assert_int_equal(len, 32);
	free(x);
	json_decref(jwk);
}

static void
jwk__export_refuses_unsupported_keys(void **state)
{
	EVP_PKEY *k1 = EVP_EC_gen("secp256k1");
	EVP_PKEY *ed448 = EVP_PKEY_Q_keygen(NULL, NULL, "ED448");
	struct acme_problem p = { 0 };
	unsigned char tp[ACME_JWK_THUMBPRINT_LEN];

	(void)state;
	assert_null(acme_jwk_from_key(k1, &p));
	assert_int_equal(p.type, ACME_PROB_BAD_PUBLIC_KEY);
	p.type = ACME_PROB_NONE;
	assert_null(acme_jwk_from_key(ed448, &p));
	assert_int_equal(p.type, ACME_PROB_BAD_PUBLIC_KEY);
	assert_null(acme_jwk_from_key(NULL, NULL));
	assert_true(acme_jwk_thumbprint(ed448, tp, NULL) < 0);
	assert_null(acme_jwk_thumbprint_b64(k1, NULL));
	EVP_PKEY_free(k1);
	EVP_PKEY_free(ed448);
}

static void
jwk__round_trip_every_type(void **state)
{
	struct acme_problem p = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < K__MAX; i++) {
		json_t *jwk = jwk_of((int)i), *again;
		unsigned char t1[32], t2[32], t3[32];
		EVP_PKEY *back = acme_jwk_to_key(jwk, &p);
		enum acme_key_type t = ACME_KEY_UNKNOWN;

		assert_non_null(back);
		assert_true(acme_key_public_equal(keys[i], back));
		assert_int_equal(acme_key_info(back, &t, NULL, NULL), 0);
		assert_int_equal(t, types[i]);
		again = acme_jwk_from_key(back, &p);
		assert_true(json_equal(jwk, again));
		assert_int_equal(acme_jwk_thumbprint(keys[i], t1, &p), 0);
		assert_int_equal(acme_jwk_thumbprint_json(jwk, t2, &p), 0);
		assert_int_equal(acme_jwk_thumbprint(back, t3, &p), 0);
		assert_memory_equal(t1, t2, 32);
		assert_memory_equal(t1, t3, 32);
		json_decref(again);
		json_decref(jwk);
		EVP_PKEY_free(back);
	}
}

/*
 * S-CHAL-6: an EC coordinate with a leading zero byte keeps its full
 * length, and the thumbprint is the SHA-256 of exactly
 * {"crv":"P-256","kty":"EC","x":...,"y":...}, built here by hand.
 */
static void
jwk__S_CHAL_6_ec_leading_zero_full_length(void **state)
{
	EVP_PKEY *k = leading_zero_key(), *back;
	struct acme_problem p = { 0 };
	json_t *jwk = acme_jwk_from_key(k, &p);
	unsigned char *x, *y, tp[32], want[32];
	size_t xlen = 0, ylen = 0;
	unsigned int dlen = 0;
	char text[256];
	int n;

	(void)state;
	assert_non_null(jwk);
	x = member_bytes(jwk, "x", &xlen);
	y = member_bytes(jwk, "y", &ylen);
	assert_int_equal(xlen, 32);
	assert_int_equal(ylen, 32);
	assert_true(x[0] == 0 || y[0] == 0);
	free(x);
	free(y);

	n = snprintf(text, sizeof(text),
	    "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
	    json_string_value(json_object_get(jwk, "x")),
	    json_string_value(json_object_get(jwk, "y")));
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(EVP_Digest(text, (size_t)n, want, &dlen, EVP_sha256(),
			     NULL),
	    1);
	assert_int_equal(acme_jwk_thumbprint(k, tp, &p), 0);
	assert_memory_equal(tp, want, 32);
	assert_int_equal(acme_jwk_thumbprint_json(jwk, tp, &p), 0);
	assert_memory_equal(tp, want, 32);

	back = acme_jwk_to_key(jwk, &p);
	assert_non_null(back);
	assert_true(acme_key_public_equal(k, back));
	assert_int_equal(acme_jwk_thumbprint(back, tp, &p), 0);
	assert_memory_equal(tp, want, 32);
	EVP_PKEY_free(back);
	json_decref(jwk);
}

static void
jwk__S_JWS_19_rejects_private_members(void **state)
{
	static const char *const priv[] = { "d", "p", "q", "dp", "dq", "qi",
		"oth", "k" };
	json_t *v = th_vector_json("rfc8037-a4.json");
	size_t i;

	(void)state;
	for (i = 0; i < 8; i++) {
		json_t *jwk = jwk_of(i < 6 ? K_RSA : K_EC256);

		set_member(jwk, priv[i], "AQAB");
		expect_reject(jwk, ACME_PROB_MALFORMED);
	}
	/* The RFC 8037 example as given, with its private "d". */
	expect_reject(json_deep_copy(json_object_get(v, "jwk")),
	    ACME_PROB_MALFORMED);
	json_decref(v);
}

/* A symmetric key has no public part: malformed, not badPublicKey. */
static void
jwk__rejects_symmetric_key(void **state)
{
	(void)state;
	expect_reject(json_pack("{s:s}", "kty", "oct"), ACME_PROB_MALFORMED);
	expect_reject(json_pack("{s:s, s:s}", "kty", "oct", "alg", "HS256"),
	    ACME_PROB_MALFORMED);
}

static void
jwk__rejects_unknown_kty(void **state)
{
	(void)state;
	expect_reject(json_pack("{s:s, s:s}", "kty", "DSA", "y", "AQAB"),
	    ACME_PROB_BAD_PUBLIC_KEY);
	expect_reject(json_pack("{s:s, s:s, s:s, s:s}", "kty", "ec", "crv",
			  "P-256", "x", "AQAB", "y", "AQAB"),
	    ACME_PROB_BAD_PUBLIC_KEY);
}

static void
jwk__S_JWS_15_rejects_unknown_ec_curve(void **state)
{
	json_t *jwk = jwk_of(K_EC256);

	(void)state;
	set_member(jwk, "crv", "P-521");
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	jwk = jwk_of(K_EC256);
	set_member(jwk, "crv", "secp256k1");
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
}

static void
jwk__S_JWS_15_rejects_ed448(void **state)
{
	json_t *jwk = jwk_of(K_ED25519);

	(void)state;
	set_member(jwk, "crv", "Ed448");
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	jwk = jwk_of(K_ED25519);
	set_member(jwk, "crv", "X25519");
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
}

/*
 * A coordinate one byte short: first an arbitrary y with its first byte
 * dropped, then the realistic case, a leading zero byte stripped.
 */
static void
jwk__rejects_short_ec_coordinate(void **state)
{
	json_t *jwk = jwk_of(K_EC256);
	unsigned char *c;
	size_t len = 0;
	const char *name;

	(void)state;
	c = member_bytes(jwk, "y", &len);
	set_member_bytes(jwk, "y", c + 1, len - 1);
	free(c);
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);

	jwk = acme_jwk_from_key(leading_zero_key(), NULL);
	assert_non_null(jwk);
	name = coord_is_short(lz_key, OSSL_PKEY_PARAM_EC_PUB_X) ? "x" : "y";
	c = member_bytes(jwk, name, &len);
	assert_int_equal(c[0], 0);
	set_member_bytes(jwk, name, c + 1, len - 1);
	free(c);
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
}

/*
 * A coordinate one byte too long: with a zero byte prepended (the same
 * value) or with a byte appended (the right value in its first bytes).
 */
static void
jwk__rejects_long_ec_coordinate(void **state)
{
	static const int which[] = { K_EC256, K_EC384 };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		json_t *jwk = jwk_of(which[i]);
		unsigned char *c, buf[49];
		size_t len = 0;

		c = member_bytes(jwk, "x", &len);
		buf[0] = 0;
		memcpy(buf + 1, c, len);
		set_member_bytes(jwk, "x", buf, len + 1);
		expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
		jwk = jwk_of(which[i]);
		memcpy(buf, c, len);
		buf[len] = 0x41;
		set_member_bytes(jwk, "x", buf, len + 1);
		expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
		free(c);
	}
}

static void
jwk__S_JWS_15_rejects_point_not_on_curve(void **state)
{
	static const int which[] = { K_EC256, K_EC384 };
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		json_t *jwk = jwk_of(which[i]);
		unsigned char *c;
		size_t len = 0;

		c = member_bytes(jwk, "y", &len);
		c[len - 1] ^= 1;
		set_member_bytes(jwk, "y", c, len);
		free(c);
		expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	}
}

static void
jwk__S_JWS_15_rejects_small_rsa(void **state)
{
	EVP_PKEY *k = EVP_RSA_gen(1024);
	json_t *jwk = acme_jwk_from_key(k, NULL);

	(void)state;
	/* A real RSA-1024 key, as in the checklist, then the boundary. */
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	expect_reject(rsa_jwk_random(2047), ACME_PROB_BAD_PUBLIC_KEY);
	expect_accept(rsa_jwk_random(2048));
	EVP_PKEY_free(k);
}

static void
jwk__rejects_large_rsa(void **state)
{
	(void)state;
	expect_reject(rsa_jwk_random(8193), ACME_PROB_BAD_PUBLIC_KEY);
	expect_reject(rsa_jwk_random(16384), ACME_PROB_BAD_PUBLIC_KEY);
	expect_accept(rsa_jwk_random(8192));
}

static void
jwk__rejects_even_rsa_exponent(void **state)
{
	json_t *jwk = jwk_of(K_RSA);

	(void)state;
	set_member(jwk, "e", "AQAA"); /* 65536 */
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	jwk = jwk_of(K_RSA);
	set_member(jwk, "e", "Ag"); /* 2 */
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
}

static void
jwk__rejects_rsa_exponent_below_3(void **state)
{
	json_t *jwk = jwk_of(K_RSA);

	(void)state;
	set_member(jwk, "e", "AQ"); /* 1 */
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	jwk = jwk_of(K_RSA);
	set_member(jwk, "e", "Aw"); /* 3, the smallest accepted */
	expect_accept(jwk);
}

static void
jwk__rejects_rsa_exponent_over_32_bits(void **state)
{
	json_t *jwk = jwk_of(K_RSA);

	(void)state;
	set_member(jwk, "e", "AQAAAAE"); /* 2^32 + 1 */
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	jwk = jwk_of(K_RSA);
	set_member(jwk, "e", "_____w"); /* 2^32 - 1 */
	expect_accept(jwk);
}

static void
jwk__rejects_even_rsa_modulus(void **state)
{
	json_t *jwk = jwk_of(K_RSA);
	unsigned char *n;
	size_t len = 0;

	(void)state;
	n = member_bytes(jwk, "n", &len);
	n[len - 1] &= 0xfe;
	set_member_bytes(jwk, "n", n, len);
	free(n);
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
}

/* RFC 7518 6.3.1: n and e are unsigned with no leading zero octets. */
static void
jwk__rejects_rsa_leading_zero_octets(void **state)
{
	json_t *jwk = jwk_of(K_RSA);
	unsigned char *n, buf[257];
	size_t len = 0;

	(void)state;
	n = member_bytes(jwk, "n", &len);
	assert_int_equal(len, 256);
	buf[0] = 0;
	memcpy(buf + 1, n, len);
	set_member_bytes(jwk, "n", buf, len + 1);
	free(n);
	expect_reject(jwk, ACME_PROB_MALFORMED);
	jwk = jwk_of(K_RSA);
	set_member(jwk, "e", "AAEAAQ"); /* 65537 with a leading zero */
	expect_reject(jwk, ACME_PROB_MALFORMED);
}

static void
jwk__rejects_okp_wrong_length(void **state)
{
	json_t *jwk = jwk_of(K_ED25519);
	unsigned char *x, buf[33];
	size_t len = 0;

	(void)state;
	x = member_bytes(jwk, "x", &len);
	set_member_bytes(jwk, "x", x, len - 1);
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
	jwk = jwk_of(K_ED25519);
	memcpy(buf, x, 32);
	buf[32] = 0;
	set_member_bytes(jwk, "x", buf, 33);
	free(x);
	expect_reject(jwk, ACME_PROB_BAD_PUBLIC_KEY);
}

static void
jwk__rejects_non_base64url_members(void **state)
{
	static const struct {
		int key;
		const char *name, *value;
	} cases[] = {
		{ K_EC256, "x", "abc=" },    /* padding */
		{ K_EC256, "y", "ab+/cd" },  /* plain base64 alphabet */
		{ K_EC256, "x", "" },        /* empty */
		{ K_RSA, "n", "AQAB.AQAB" }, /* a dot */
		{ K_RSA, "e", "A" },         /* impossible length */
		{ K_ED25519, "x", "AQ AB" }, /* whitespace */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *jwk = jwk_of(cases[i].key);

		set_member(jwk, cases[i].name, cases[i].value);
		expect_reject(jwk, ACME_PROB_MALFORMED);
	}
}

static void
jwk__rejects_missing_members(void **state)
{
	static const struct {
		int key;
		const char *name;
	} cases[] = {
		{ K_EC256, "kty" },
		{ K_EC256, "crv" },
		{ K_EC256, "x" },
		{ K_EC256, "y" },
		{ K_RSA, "n" },
		{ K_RSA, "e" },
		{ K_ED25519, "crv" },
		{ K_ED25519, "x" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *jwk = jwk_of(cases[i].key);

		assert_int_equal(json_object_del(jwk, cases[i].name), 0);
		expect_reject(jwk, ACME_PROB_MALFORMED);
		/* Present with the wrong type, or null, counts the same. */
		jwk = jwk_of(cases[i].key);
		json_object_set_new(jwk, cases[i].name, json_integer(5));
		expect_reject(jwk, ACME_PROB_MALFORMED);
		jwk = jwk_of(cases[i].key);
		json_object_set_new(jwk, cases[i].name, json_null());
		expect_reject(jwk, ACME_PROB_MALFORMED);
	}
}

static void
jwk__rejects_non_object(void **state)
{
	struct acme_problem p = { 0 };

	(void)state;
	expect_reject(json_string("EC"), ACME_PROB_MALFORMED);
	expect_reject(json_array(), ACME_PROB_MALFORMED);
	assert_null(acme_jwk_to_key(NULL, &p));
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
}

static void
jwk__thumbprint_ignores_optional_members(void **state)
{
	json_t *jwk = jwk_of(K_EC256);
	unsigned char a[32], b[32];

	(void)state;
	assert_int_equal(acme_jwk_thumbprint_json(jwk, a, NULL), 0);
	set_member(jwk, "kid", "k1");
	set_member(jwk, "use", "sig");
	set_member(jwk, "alg", "ES256");
	assert_int_equal(acme_jwk_thumbprint_json(jwk, b, NULL), 0);
	assert_memory_equal(a, b, 32);
	json_decref(jwk);
}

static void
jwk__thumbprint_json_rejects_bad_input(void **state)
{
	unsigned char tp[ACME_JWK_THUMBPRINT_LEN];
	struct acme_problem p = { 0 };
	json_t *jwk;

	(void)state;
	jwk = json_pack("{s:s}", "crv", "P-256");
	assert_true(acme_jwk_thumbprint_json(jwk, tp, &p) < 0);
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	json_decref(jwk);
	jwk = json_pack("{s:s}", "kty", "DSA");
	assert_true(acme_jwk_thumbprint_json(jwk, tp, &p) < 0);
	assert_int_equal(p.type, ACME_PROB_BAD_PUBLIC_KEY);
	json_decref(jwk);
	jwk = jwk_of(K_EC256);
	json_object_del(jwk, "y");
	assert_true(acme_jwk_thumbprint_json(jwk, tp, &p) < 0);
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	json_decref(jwk);
}

static void
jwk__alg_for_key(void **state)
{
	static const char *const want[K__MAX] = { "RS256", "ES256", "ES384",
		"EdDSA" };
	EVP_PKEY *p521 = EVP_EC_gen("P-521"), *k1 = EVP_EC_gen("secp256k1");
	size_t i;

	(void)state;
	for (i = 0; i < K__MAX; i++)
		assert_string_equal(acme_jwk_alg_for_key(keys[i]), want[i]);
	assert_string_equal(acme_jwk_alg_for_key(p521), "ES512");
	assert_null(acme_jwk_alg_for_key(k1));
	assert_null(acme_jwk_alg_for_key(NULL));
	EVP_PKEY_free(p521);
	EVP_PKEY_free(k1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jwk__rfc7638_thumbprint_vector),
		cmocka_unit_test(jwk__rfc8037_ed25519_thumbprint),
		cmocka_unit_test(jwk__export_rsa_members),
		cmocka_unit_test(jwk__export_ec_members_full_length),
		cmocka_unit_test(jwk__export_okp_members),
		cmocka_unit_test(jwk__export_refuses_unsupported_keys),
		cmocka_unit_test(jwk__round_trip_every_type),
		cmocka_unit_test(jwk__S_CHAL_6_ec_leading_zero_full_length),
		cmocka_unit_test(jwk__S_JWS_19_rejects_private_members),
		cmocka_unit_test(jwk__rejects_symmetric_key),
		cmocka_unit_test(jwk__rejects_unknown_kty),
		cmocka_unit_test(jwk__S_JWS_15_rejects_unknown_ec_curve),
		cmocka_unit_test(jwk__S_JWS_15_rejects_ed448),
		cmocka_unit_test(jwk__rejects_short_ec_coordinate),
		cmocka_unit_test(jwk__rejects_long_ec_coordinate),
		cmocka_unit_test(jwk__S_JWS_15_rejects_point_not_on_curve),
		cmocka_unit_test(jwk__S_JWS_15_rejects_small_rsa),
		cmocka_unit_test(jwk__rejects_large_rsa),
		cmocka_unit_test(jwk__rejects_even_rsa_exponent),
		cmocka_unit_test(jwk__rejects_rsa_exponent_below_3),
		cmocka_unit_test(jwk__rejects_rsa_exponent_over_32_bits),
		cmocka_unit_test(jwk__rejects_even_rsa_modulus),
		cmocka_unit_test(jwk__rejects_rsa_leading_zero_octets),
		cmocka_unit_test(jwk__rejects_okp_wrong_length),
		cmocka_unit_test(jwk__rejects_non_base64url_members),
		cmocka_unit_test(jwk__rejects_missing_members),
		cmocka_unit_test(jwk__rejects_non_object),
		cmocka_unit_test(jwk__thumbprint_ignores_optional_members),
		cmocka_unit_test(jwk__thumbprint_json_rejects_bad_input),
		cmocka_unit_test(jwk__alg_for_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
