/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for jws.c: the RFC 7515 and RFC 8037 known answers, every
 * structural and header rule of RFC 8555 6.2, and sign/verify round trips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>
#include <anvil/key.h>

#include "helpers.h"

#define URL   "https://ca.example/acme/new-order"
#define NONCE "bm9uY2UtMQ"

static EVP_PKEY *ec256, *ec384, *rsa, *ed;

static int
setup(void **state)
{
	(void)state;
	ec256 = acme_key_generate(ACME_KEY_EC256, NULL);
	ec384 = acme_key_generate(ACME_KEY_EC384, NULL);
	rsa = acme_key_generate(ACME_KEY_RSA2048, NULL);
	ed = acme_key_generate(ACME_KEY_ED25519, NULL);
	return ec256 && ec384 && rsa && ed ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ec384);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	return 0;
}

static char *
b64(const char *s)
{
	return acme_b64url_encode(s, strlen(s));
}

/* A flattened JWS text from raw protected-header JSON, payload, signature. */
static char *
assemble(const char *hdr_json, const char *payload_b64, const char *sig_b64)
{
	char *h = b64(hdr_json), *out;
	json_t *o = json_pack("{s:s, s:s, s:s}", "protected", h, "payload",
	    payload_b64, "signature", sig_b64);

	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(h);
	return out;
}

/* Signs an arbitrary header JSON text with key, honestly. */
static char *
signed_with(EVP_PKEY *key, enum acme_jws_alg alg, const char *hdr_json,
    const char *payload)
{
	char *h = b64(hdr_json), *p = b64(payload), *in, *s, *out;
	unsigned char *sig;
	size_t siglen = 0, n = strlen(h) + strlen(p) + 2;
	json_t *o;

	in = malloc(n);
	snprintf(in, n, "%s.%s", h, p);
	sig = acme_jws_sign_raw(key, alg, in, strlen(in), &siglen, NULL);
	assert_non_null(sig);
	s = acme_b64url_encode(sig, siglen);
	o = json_pack("{s:s, s:s, s:s}", "protected", h, "payload", p,
	    "signature", s);
	out = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(h);
	free(p);
	free(in);
	free(sig);
	free(s);
	return out;
}

/* A header {"alg":..,"nonce":..,"url":..,"jwk":<key>} as JSON text. */
static char *
hdr_with_jwk(EVP_PKEY *key, const char *alg, const char *extra)
{
	json_t *jwk = acme_jwk_from_key(key, NULL);
	char *j = json_dumps(jwk, JSON_COMPACT), *out;
	size_t n = strlen(j) + 256 + (extra ? strlen(extra) : 0);

	out = malloc(n);
	snprintf(out, n,
	    "{\"alg\":\"%s\",\"nonce\":\"" NONCE "\",\"url\":\"" URL
	    "\",\"jwk\":%s%s}",
	    alg, j, extra != NULL ? extra : "");
	free(j);
	json_decref(jwk);
	return out;
}

/* Parses text for use and expects a failure of the given type. */
static void
expect_fail(const char *text, enum acme_jws_use use, enum acme_prob_type t)
{
	struct acme_problem p = { 0 };
	struct acme_jws *jws = acme_jws_parse(text, strlen(text), use, &p);

	if (jws != NULL) {
		acme_jws_free(jws);
		fail_msg("accepted: %s", text);
	}
	if (p.type != t)
		fail_msg("wrong problem %s (%s)",
		    acme_problem_type_name(p.type), p.detail);
}

/*
 * As expect_fail(), and the detail must name the rule (why), so a test
 * fails when its own check is removed even if a later check would still
 * refuse the input.
 */
static void
expect_fail_why(const char *text, enum acme_jws_use use, enum acme_prob_type t,
    const char *why)
{
	struct acme_problem p = { 0 };
	struct acme_jws *jws = acme_jws_parse(text, strlen(text), use, &p);

	if (jws != NULL) {
		acme_jws_free(jws);
		fail_msg("accepted: %s", text);
	}
	if (p.type != t || strstr(p.detail, why) == NULL)
		fail_msg("wrong problem %s (%s), wanted %s",
		    acme_problem_type_name(p.type), p.detail, why);
}

static struct acme_jws *
expect_ok(const char *text, enum acme_jws_use use)
{
	struct acme_problem p = { 0 };
	struct acme_jws *jws = acme_jws_parse(text, strlen(text), use, &p);

	if (jws == NULL)
		fail_msg("rejected: %s", p.detail);
	return jws;
}

/* --- known answers --- */

static void
vector_jws(const char *file, EVP_PKEY **keyp, char **text)
{
	json_t *v = th_vector_json(file);

	*keyp = th_private_jwk(json_object_get(v, "jwk"));
	*text = NULL;
	{
		json_t *o = json_pack("{s:O, s:O, s:O}", "protected",
		    json_object_get(v, "protected"), "payload",
		    json_object_get(v, "payload"), "signature",
		    json_object_get(v, "signature"));

		*text = json_dumps(o, JSON_COMPACT);
		json_decref(o);
	}
	json_decref(v);
}

/* RFC 7515 A.2: RS256 is deterministic, so signing must give the RFC's bytes. */
static void
jws__rfc7515_a2_rs256_sign_and_verify(void **state)
{
	json_t *v = th_vector_json("rfc7515-a2.json");
	const char *prot = json_string_value(json_object_get(v, "protected"));
	const char *pay = json_string_value(json_object_get(v, "payload"));
	const char *want = json_string_value(json_object_get(v, "signature"));
	struct acme_problem p = { 0 };
	struct acme_jws *jws;
	unsigned char *sig;
	size_t siglen = 0;
	EVP_PKEY *key;
	char input[512], *s, *text;

	(void)state;
	key = th_private_jwk(json_object_get(v, "jwk"));
	snprintf(input, sizeof(input), "%s.%s", prot, pay);
	sig = acme_jws_sign_raw(key, ACME_JWS_RS256, input, strlen(input),
	    &siglen, &p);
	assert_non_null(sig);
	s = acme_b64url_encode(sig, siglen);
	assert_string_equal(s, want);
	free(s);
	free(sig);
	{
		EVP_PKEY *same = NULL;

		vector_jws("rfc7515-a2.json", &same, &text);
		EVP_PKEY_free(same);
	}
	jws = expect_ok(text, ACME_JWS_USE_PLAIN);
	assert_int_equal(acme_jws_alg(jws), ACME_JWS_RS256);
	assert_int_equal(acme_jws_verify(jws, key, &p), 0);
	acme_jws_free(jws);
	free(text);
	EVP_PKEY_free(key);
	json_decref(v);
}

static void
jws__rfc7515_a3_es256_verify(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_jws *jws;
	EVP_PKEY *key;
	char *text;
	size_t len;
	const unsigned char *payload;

	(void)state;
	vector_jws("rfc7515-a3.json", &key, &text);
	jws = expect_ok(text, ACME_JWS_USE_PLAIN);
	assert_int_equal(acme_jws_alg(jws), ACME_JWS_ES256);
	assert_int_equal(acme_jws_verify(jws, key, &p), 0);
	payload = acme_jws_payload(jws, &len);
	assert_non_null(strstr((const char *)payload, "\"iss\":\"joe\""));
	acme_jws_free(jws);
	/* The same signature with one byte changed must fail. */
	{
		char *sigpos = strstr(text, "DtEhU3");

		sigpos[2] = sigpos[2] == 'E' ? 'F' : 'E';
		jws = expect_ok(text, ACME_JWS_USE_PLAIN);
		assert_int_equal(acme_jws_verify(jws, key, &p),
		    ACME_ERR_VERIFY);
		acme_jws_free(jws);
	}
	free(text);
	EVP_PKEY_free(key);
}

/* RFC 8037 A.4 (sign, deterministic) and A.5 (verify). */
static void
jws__rfc8037_a4_a5_ed25519(void **state)
{
	json_t *v = th_vector_json("rfc8037-a4.json");
	const char *prot = json_string_value(json_object_get(v, "protected"));
	const char *pay = json_string_value(json_object_get(v, "payload"));
	const char *want = json_string_value(json_object_get(v, "signature"));
	struct acme_problem p = { 0 };
	struct acme_jws *jws;
	unsigned char *sig;
	size_t siglen = 0;
	EVP_PKEY *key;
	char input[256], *s, *text;

	(void)state;
	key = th_private_jwk(json_object_get(v, "jwk"));
	snprintf(input, sizeof(input), "%s.%s", prot, pay);
	sig = acme_jws_sign_raw(key, ACME_JWS_EDDSA, input, strlen(input),
	    &siglen, &p);
	assert_non_null(sig);
	assert_int_equal(siglen, 64);
	s = acme_b64url_encode(sig, siglen);
	assert_string_equal(s, want);
	free(s);
	free(sig);
	EVP_PKEY_free(key);
	vector_jws("rfc8037-a4.json", &key, &text);
	jws = expect_ok(text, ACME_JWS_USE_PLAIN);
	assert_int_equal(acme_jws_alg(jws), ACME_JWS_EDDSA);
	assert_int_equal(acme_jws_verify(jws, key, &p), 0);
	acme_jws_free(jws);
	free(text);
	EVP_PKEY_free(key);
	json_decref(v);
}

/* --- round trips --- */

static void
jws__sign_request_round_trip_every_key(void **state)
{
	EVP_PKEY *keys[] = { ec256, ec384, rsa, ed };
	static const enum acme_jws_alg algs[] = { ACME_JWS_ES256,
		ACME_JWS_ES384, ACME_JWS_RS256, ACME_JWS_EDDSA };
	struct acme_problem p = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		json_t *o = acme_jws_sign_request(keys[i], NULL, NONCE, URL,
		    "{\"a\":1}", 7, &p);
		char *text = json_dumps(o, JSON_COMPACT);
		struct acme_jws *jws = expect_ok(text, ACME_JWS_USE_ACCOUNT);
		json_t *payload;

		assert_int_equal(acme_jws_alg(jws), algs[i]);
		assert_string_equal(acme_jws_url(jws), URL);
		assert_string_equal(acme_jws_nonce(jws), NONCE);
		assert_null(acme_jws_kid(jws));
		assert_non_null(acme_jws_jwk(jws));
		assert_true(
		    acme_key_public_equal(acme_jws_jwk_key(jws), keys[i]));
		assert_int_equal(acme_jws_verify(jws, acme_jws_jwk_key(jws),
				     &p),
		    0);
		payload = acme_jws_payload_json(jws, &p);
		assert_int_equal(json_integer_value(
				     json_object_get(payload, "a")),
		    1);
		json_decref(payload);
		acme_jws_free(jws);
		free(text);
		json_decref(o);
	}
}

/* S-JWS-17: ES256 signatures are 64 raw bytes. */
static void
jws__S_JWS_17_ecdsa_signature_is_raw_r_s(void **state)
{
	struct acme_problem p = { 0 };
	size_t len = 0;
	unsigned char *sig =
	    acme_jws_sign_raw(ec256, ACME_JWS_ES256, "x", 1, &len, &p);

	(void)state;
	assert_non_null(sig);
	assert_int_equal(len, 64);
	free(sig);
	sig = acme_jws_sign_raw(ec384, ACME_JWS_ES384, "x", 1, &len, &p);
	assert_int_equal(len, 96);
	free(sig);
}

static void
jws__post_as_get_payload_is_empty(void **state)
{
	struct acme_problem p = { 0 };
	json_t *o = acme_jws_sign_request(ec256, "https://ca.example/acct/1",
	    NONCE, URL, NULL, 0, &p);
	char *text = json_dumps(o, JSON_COMPACT);
	struct acme_jws *jws = expect_ok(text, ACME_JWS_USE_ACCOUNT);
	size_t len = 99;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(o, "payload")),
	    "");
	assert_non_null(acme_jws_payload(jws, &len));
	assert_int_equal(len, 0);
	assert_string_equal(acme_jws_kid(jws), "https://ca.example/acct/1");
	assert_null(acme_jws_jwk(jws));
	assert_int_equal(acme_jws_verify(jws, ec256, &p), 0);
	/* An empty payload is not a JSON object. */
	assert_null(acme_jws_payload_json(jws, &p));
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	acme_jws_free(jws);
	free(text);
	json_decref(o);
}

/* S-JWS-1: one changed payload byte breaks the signature. */
static void
jws__S_JWS_1_tampered_payload_fails(void **state)
{
	struct acme_problem p = { 0 };
	json_t *o =
	    acme_jws_sign_request(rsa, NULL, NONCE, URL, "{\"a\":1}", 7, &p);
	char *evil = b64("{\"a\":2}"), *text;
	struct acme_jws *jws;

	(void)state;
	json_object_set_new(o, "payload", json_string(evil));
	text = json_dumps(o, JSON_COMPACT);
	jws = expect_ok(text, ACME_JWS_USE_ACCOUNT);
	assert_int_equal(acme_jws_verify(jws, rsa, &p), ACME_ERR_VERIFY);
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	acme_jws_free(jws);
	free(text);
	free(evil);
	json_decref(o);
}

static void
jws__verify_with_wrong_key_fails(void **state)
{
	struct acme_problem p = { 0 };
	EVP_PKEY *other = acme_key_generate(ACME_KEY_EC256, NULL);
	json_t *o =
	    acme_jws_sign_request(ec256, "kid", NONCE, URL, "{}", 2, &p);
	char *text = json_dumps(o, JSON_COMPACT);
	struct acme_jws *jws = expect_ok(text, ACME_JWS_USE_ACCOUNT);

	(void)state;
	assert_int_equal(acme_jws_verify(jws, other, &p), ACME_ERR_VERIFY);
	/* A key of another type does not suit ES256 at all. */
	assert_int_equal(acme_jws_verify(jws, rsa, &p), ACME_ERR_VERIFY);
	assert_int_equal(p.type, ACME_PROB_BAD_PUBLIC_KEY);
	acme_jws_free(jws);
	free(text);
	json_decref(o);
	EVP_PKEY_free(other);
}

/* --- structure (S-JWS-2 .. S-JWS-6) --- */

static void
jws__S_JWS_2_rejects_general_serialization(void **state)
{
	json_t *o =
	    acme_jws_sign_request(ec256, "kid", NONCE, URL, "{}", 2, NULL);
	json_t *g = json_pack("{s:O, s:[{s:O, s:O}]}", "payload",
	    json_object_get(o, "payload"), "signatures", "protected",
	    json_object_get(o, "protected"), "signature",
	    json_object_get(o, "signature"));
	char *text = json_dumps(g, JSON_COMPACT);

	(void)state;
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "general serialization");
	free(text);
	json_decref(g);
	json_decref(o);
}

static void
jws__S_JWS_3_rejects_two_signatures(void **state)
{
	json_t *o =
	    acme_jws_sign_request(ec256, "kid", NONCE, URL, "{}", 2, NULL);
	char *text;

	(void)state;
	/* A flattened JWS with "signatures" too: two signatures at once. */
	json_object_set_new(o, "signatures",
	    json_pack("[{s:O, s:O}]", "protected",
		json_object_get(o, "protected"), "signature",
		json_object_get(o, "signature")));
	text = json_dumps(o, JSON_COMPACT);
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "general serialization");
	free(text);
	json_decref(o);
}

static void
jws__S_JWS_4_rejects_b64_false(void **state)
{
	char *h =
	    hdr_with_jwk(ec256, "ES256", ",\"b64\":false,\"crit\":[\"b64\"]");
	char *text = signed_with(ec256, ACME_JWS_ES256, h, "{}");

	(void)state;
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED, "b64");
	free(text);
	free(h);
	h = hdr_with_jwk(ec256, "ES256", ",\"b64\":false");
	text = signed_with(ec256, ACME_JWS_ES256, h, "{}");
	expect_fail(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED);
	free(text);
	free(h);
}

static void
jws__S_JWS_5_rejects_unprotected_header(void **state)
{
	json_t *o =
	    acme_jws_sign_request(ec256, "kid", NONCE, URL, "{}", 2, NULL);
	char *text;

	(void)state;
	json_object_set_new(o, "header", json_object());
	text = json_dumps(o, JSON_COMPACT);
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "unprotected header");
	free(text);
	json_decref(o);
}

static void
jws__S_JWS_6_rejects_missing_payload(void **state)
{
	json_t *o =
	    acme_jws_sign_request(ec256, "kid", NONCE, URL, "{}", 2, NULL);
	char *text;

	(void)state;
	json_object_del(o, "payload");
	text = json_dumps(o, JSON_COMPACT);
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "\"payload\"");
	free(text);
	json_decref(o);
}

static void
jws__rejects_unknown_top_level_member(void **state)
{
	json_t *o =
	    acme_jws_sign_request(ec256, "kid", NONCE, URL, "{}", 2, NULL);
	char *text;

	(void)state;
	json_object_set_new(o, "extra", json_true());
	text = json_dumps(o, JSON_COMPACT);
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "unknown JWS member");
	free(text);
	json_decref(o);
}

static void
jws__rejects_bad_protected_header(void **state)
{
	char *t;

	(void)state;
	/* Not base64url, not JSON, not an object, empty. */
	expect_fail("{\"protected\":\"e30=\",\"payload\":\"\",\"signature\":"
		    "\"AA\"}",
	    ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
	t = assemble("not json", "", "AA");
	expect_fail(t, ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
	free(t);
	t = assemble("[1]", "", "AA");
	expect_fail(t, ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
	free(t);
	expect_fail("{\"protected\":\"\",\"payload\":\"\",\"signature\":"
		    "\"AA\"}",
	    ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
	expect_fail("[]", ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
	expect_fail("not json at all", ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
}

static void
jws__rejects_missing_or_empty_signature(void **state)
{
	char *t = assemble("{\"alg\":\"ES256\"}", "", "");

	(void)state;
	expect_fail(t, ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
	free(t);
	expect_fail("{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"\"}",
	    ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
}

static void
jws__rejects_padded_payload(void **state)
{
	char *t = assemble("{\"alg\":\"ES256\"}", "e30=", "AAAA");

	(void)state;
	expect_fail(t, ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
	free(t);
}

/* S-JWS-18: duplicate names in the protected header. */
static void
jws__S_JWS_18_rejects_duplicate_header_names(void **state)
{
	char *h = hdr_with_jwk(ec256, "ES256", ",\"nonce\":\"b3RoZXI\"");
	char *text = signed_with(ec256, ACME_JWS_ES256, h, "{}");

	(void)state;
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "duplicate");
	free(text);
	free(h);
}

static void
jws__rejects_crit(void **state)
{
	char *h = hdr_with_jwk(ec256, "ES256", ",\"crit\":[\"exp\"],\"exp\":1");
	char *text = signed_with(ec256, ACME_JWS_ES256, h, "{}");

	(void)state;
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "critical");
	free(text);
	free(h);
}

static void
jws__rejects_oversize(void **state)
{
	size_t n = ACME_JWS_MAX_SIZE + 1;
	char *big = malloc(n + 1);
	struct acme_problem p = { 0 };

	(void)state;
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	assert_null(acme_jws_parse(big, n, ACME_JWS_USE_PLAIN, &p));
	assert_non_null(strstr(p.detail, "limit"));
	free(big);
}

/* --- algorithms (S-JWS-8, S-JWS-14, S-JWS-17, S-JWS-21) --- */

static void
jws__S_JWS_8_rejects_alg_none(void **state)
{
	char *h = hdr_with_jwk(ec256, "none", NULL);
	char *t = assemble(h, "e30", "AA");

	(void)state;
	expect_fail(t, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_SIGNATURE_ALGORITHM);
	expect_fail(t, ACME_JWS_USE_PLAIN, ACME_PROB_BAD_SIGNATURE_ALGORITHM);
	free(t);
	free(h);
}

static void
jws__S_JWS_8_rejects_hs256_for_accounts(void **state)
{
	char *t = assemble("{\"alg\":\"HS256\",\"nonce\":\"" NONCE
			   "\",\"url\":\"" URL "\",\"kid\":\"k\"}",
	    "e30", "AAAA");

	(void)state;
	expect_fail(t, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_SIGNATURE_ALGORITHM);
	expect_fail(t, ACME_JWS_USE_KEYCHANGE,
	    ACME_PROB_BAD_SIGNATURE_ALGORITHM);
	free(t);
}

static void
jws__S_JWS_14_rejects_unknown_alg(void **state)
{
	char *h = hdr_with_jwk(rsa, "PS256", NULL);
	char *t = assemble(h, "e30", "AAAA");

	(void)state;
	expect_fail(t, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_SIGNATURE_ALGORITHM);
	free(t);
	free(h);
	t = assemble("{\"alg\":5,\"nonce\":\"" NONCE "\",\"url\":\"" URL
		     "\",\"kid\":\"k\"}",
	    "e30", "AAAA");
	expect_fail(t, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED);
	free(t);
}

/* S-JWS-17: an ECDSA signature in DER form has the wrong length. */
static void
jws__S_JWS_17_rejects_der_ecdsa_signature(void **state)
{
	json_t *o =
	    acme_jws_sign_request(ec256, NULL, NONCE, URL, "{}", 2, NULL);
	const char *sig64 = json_string_value(json_object_get(o, "signature"));
	unsigned char *raw = NULL, *der = NULL;
	size_t len = 0;
	ECDSA_SIG *es = ECDSA_SIG_new();
	struct acme_problem p = { 0 };
	struct acme_jws *jws;
	char *s, *text;
	int dlen;

	(void)state;
	assert_int_equal(acme_b64url_decode(sig64, strlen(sig64), &raw, &len),
	    0);
	assert_int_equal(len, 64);
	ECDSA_SIG_set0(es, BN_bin2bn(raw, 32, NULL),
	    BN_bin2bn(raw + 32, 32, NULL));
	dlen = i2d_ECDSA_SIG(es, &der);
	assert_true(dlen > 0);
	s = acme_b64url_encode(der, (size_t)dlen);
	json_object_set_new(o, "signature", json_string(s));
	text = json_dumps(o, JSON_COMPACT);
	jws = expect_ok(text, ACME_JWS_USE_ACCOUNT);
	assert_int_equal(acme_jws_verify(jws, ec256, &p), ACME_ERR_VERIFY);
	assert_non_null(strstr(p.detail, "r||s"));
	acme_jws_free(jws);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	free(raw);
	free(s);
	free(text);
	json_decref(o);
}

static void
jws__rejects_truncated_signature(void **state)
{
	json_t *o = acme_jws_sign_request(ed, NULL, NONCE, URL, "{}", 2, NULL);
	const char *sig64 = json_string_value(json_object_get(o, "signature"));
	unsigned char *raw = NULL;
	size_t len = 0;
	char *shorter, *text;
	struct acme_problem p = { 0 };
	struct acme_jws *jws;

	(void)state;
	assert_int_equal(acme_b64url_decode(sig64, strlen(sig64), &raw, &len),
	    0);
	shorter = acme_b64url_encode(raw, len - 3);
	free(raw);
	json_object_set_new(o, "signature", json_string(shorter));
	text = json_dumps(o, JSON_COMPACT);
	jws = expect_ok(text, ACME_JWS_USE_ACCOUNT);
	assert_int_equal(acme_jws_verify(jws, ed, &p), ACME_ERR_VERIFY);
	acme_jws_free(jws);
	free(text);
	free(shorter);
	json_decref(o);
}

static void
jws__S_JWS_21_accepts_ed25519_alg_name(void **state)
{
	char *h = hdr_with_jwk(ed, "Ed25519", NULL);
	char *text = signed_with(ed, ACME_JWS_EDDSA, h, "{}");
	struct acme_problem p = { 0 };
	struct acme_jws *jws = expect_ok(text, ACME_JWS_USE_ACCOUNT);

	(void)state;
	assert_int_equal(acme_jws_alg(jws), ACME_JWS_EDDSA);
	assert_string_equal(acme_jws_alg_name(jws), "Ed25519");
	assert_int_equal(acme_jws_verify(jws, ed, &p), 0);
	acme_jws_free(jws);
	free(text);
	free(h);
}

static void
jws__alg_key_mismatch_is_bad_public_key(void **state)
{
	char *h = hdr_with_jwk(ec256, "RS256", NULL);
	char *t = assemble(h, "e30", "AAAA");

	(void)state;
	expect_fail(t, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_PUBLIC_KEY);
	free(t);
	free(h);
	/* ES384 with a P-256 key. */
	h = hdr_with_jwk(ec256, "ES384", NULL);
	t = assemble(h, "e30", "AAAA");
	expect_fail(t, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_PUBLIC_KEY);
	free(t);
	free(h);
}

/* --- ACME header rules (S-JWS-7, S-JWS-11, S-NON-3, S-NON-11, S-JWS-19) --- */

static void
jws__S_NON_3_missing_nonce_is_bad_nonce(void **state)
{
	json_t *o =
	    acme_jws_sign_request(ec256, "kid", NULL, URL, "{}", 2, NULL);
	char *text = json_dumps(o, JSON_COMPACT);

	(void)state;
	expect_fail(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_NONCE);
	free(text);
	json_decref(o);
}

static void
jws__S_NON_11_nonce_must_be_base64url(void **state)
{
	json_t *o =
	    acme_jws_sign_request(ec256, "kid", "a+b/", URL, "{}", 2, NULL);
	char *text = json_dumps(o, JSON_COMPACT);

	(void)state;
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "nonce");
	free(text);
	json_decref(o);
}

static void
jws__S_JWS_7_missing_url(void **state)
{
	char *h = hdr_with_jwk(ec256, "ES256", NULL), *text, *p;

	(void)state;
	/* Rename "url" so the header has none. */
	p = strstr(h, "\"url\"");
	memcpy(p, "\"uri\"", 5);
	text = signed_with(ec256, ACME_JWS_ES256, h, "{}");
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "no url");
	free(text);
	free(h);
}

static void
jws__S_JWS_11_rejects_jwk_and_kid(void **state)
{
	char *h = hdr_with_jwk(ec256, "ES256", ",\"kid\":\"k\"");
	char *text = signed_with(ec256, ACME_JWS_ES256, h, "{}");

	(void)state;
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "both jwk and kid");
	free(text);
	free(h);
}

static void
jws__S_JWS_7_rejects_neither_jwk_nor_kid(void **state)
{
	char *text = signed_with(ec256, ACME_JWS_ES256,
	    "{\"alg\":\"ES256\",\"nonce\":\"" NONCE "\",\"url\":\"" URL "\"}",
	    "{}");

	(void)state;
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "neither jwk nor kid");
	free(text);
}

static void
jws__S_JWS_19_rejects_private_jwk(void **state)
{
	char *h = hdr_with_jwk(ec256, "ES256", NULL), *text, *p;

	(void)state;
	/* Inject "d" into the jwk object. */
	p = strstr(h, "\"kty\"");
	{
		size_t n = strlen(h) + 32;
		char *h2 = malloc(n);

		snprintf(h2, n, "%.*s\"d\":\"AQAB\",%s", (int)(p - h), h, p);
		free(h);
		h = h2;
	}
	text = signed_with(ec256, ACME_JWS_ES256, h, "{}");
	expect_fail_why(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED,
	    "private member");
	free(text);
	free(h);
}

static void
jws__S_JWS_15_weak_jwk_is_bad_public_key(void **state)
{
	EVP_PKEY *weak = EVP_RSA_gen(1024);
	json_t *jwk = json_object();
	char *n64, *h, *t;
	BIGNUM *n = NULL;
	unsigned char buf[256];
	int len;
	size_t hn;

	(void)state;
	EVP_PKEY_get_bn_param(weak, "n", &n);
	len = BN_bn2bin(n, buf);
	n64 = acme_b64url_encode(buf, (size_t)len);
	hn = strlen(n64) + 200;
	h = malloc(hn);
	snprintf(h, hn,
	    "{\"alg\":\"RS256\",\"nonce\":\"" NONCE "\",\"url\":\"" URL
	    "\",\"jwk\":{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}}",
	    n64);
	t = assemble(h, "e30", "AAAA");
	expect_fail(t, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_PUBLIC_KEY);
	free(t);
	free(h);
	free(n64);
	BN_free(n);
	json_decref(jwk);
	EVP_PKEY_free(weak);
}

/* --- keyChange inner JWS and EAB --- */

static void
jws__keychange_inner_rules(void **state)
{
	struct acme_problem p = { 0 };
	json_t *o;
	char *text;

	(void)state;
	/* Valid inner: jwk, url, no nonce. */
	o = acme_jws_sign_request(ec384, NULL, NULL, URL, "{}", 2, &p);
	text = json_dumps(o, JSON_COMPACT);
	acme_jws_free(expect_ok(text, ACME_JWS_USE_KEYCHANGE));
	/* The same JWS is not a valid account request (no nonce). */
	expect_fail(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_NONCE);
	free(text);
	json_decref(o);
	/* With a nonce: refused. */
	o = acme_jws_sign_request(ec384, NULL, NONCE, URL, "{}", 2, &p);
	text = json_dumps(o, JSON_COMPACT);
	expect_fail(text, ACME_JWS_USE_KEYCHANGE, ACME_PROB_MALFORMED);
	free(text);
	json_decref(o);
	/* With a kid instead of a jwk: refused. */
	o = acme_jws_sign_request(ec384, "kid", NULL, URL, "{}", 2, &p);
	text = json_dumps(o, JSON_COMPACT);
	expect_fail(text, ACME_JWS_USE_KEYCHANGE, ACME_PROB_MALFORMED);
	free(text);
	json_decref(o);
}

static void
jws__eab_sign_verify_and_rules(void **state)
{
	static const unsigned char mac[] = "0123456789abcdef0123456789abcdef";
	struct acme_problem p = { 0 };
	struct acme_jws *jws;
	json_t *o, *payload, *jwk;
	char *text;

	(void)state;
	o = acme_jws_sign_eab(mac, 32, "kid-1", URL, ec256, &p);
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT);
	jws = expect_ok(text, ACME_JWS_USE_EAB);
	assert_int_equal(acme_jws_alg(jws), ACME_JWS_HS256);
	assert_string_equal(acme_jws_kid(jws), "kid-1");
	assert_int_equal(acme_jws_verify_hmac(jws, mac, 32, &p), 0);
	assert_int_equal(acme_jws_verify_hmac(jws, mac, 31, &p),
	    ACME_ERR_VERIFY);
	/* The payload is the account key's JWK. */
	payload = acme_jws_payload_json(jws, &p);
	jwk = acme_jwk_from_key(ec256, NULL);
	assert_true(json_equal(payload, jwk));
	/* An HS256 JWS is never verified as a signature. */
	assert_int_equal(acme_jws_verify(jws, ec256, &p), ACME_ERR_INVAL);
	json_decref(payload);
	json_decref(jwk);
	acme_jws_free(jws);
	/* And is no account signature. */
	expect_fail(text, ACME_JWS_USE_ACCOUNT,
	    ACME_PROB_BAD_SIGNATURE_ALGORITHM);
	free(text);
	json_decref(o);
	/* EAB must be HS256 and must not carry a nonce. */
	o = acme_jws_sign_request(ec256, "kid-1", NULL, URL, "{}", 2, &p);
	text = json_dumps(o, JSON_COMPACT);
	expect_fail(text, ACME_JWS_USE_EAB, ACME_PROB_MALFORMED);
	free(text);
	json_decref(o);
	text = assemble("{\"alg\":\"HS256\",\"kid\":\"k\",\"url\":\"" URL
			"\",\"nonce\":\"" NONCE "\"}",
	    "e30", "AAAA");
	expect_fail(text, ACME_JWS_USE_EAB, ACME_PROB_MALFORMED);
	free(text);
	text =
	    assemble("{\"alg\":\"HS256\",\"url\":\"" URL "\"}", "e30", "AAAA");
	expect_fail(text, ACME_JWS_USE_EAB, ACME_PROB_MALFORMED);
	free(text);
}

static void
jws__alg_names(void **state)
{
	(void)state;
	assert_int_equal(acme_jws_alg_from_name("ES256"), ACME_JWS_ES256);
	assert_int_equal(acme_jws_alg_from_name("none"), ACME_JWS_ALG_NONE);
	assert_int_equal(acme_jws_alg_from_name(NULL), ACME_JWS_ALG_NONE);
	assert_string_equal(acme_jws_alg_to_name(ACME_JWS_EDDSA), "EdDSA");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jws__rfc7515_a2_rs256_sign_and_verify),
		cmocka_unit_test(jws__rfc7515_a3_es256_verify),
		cmocka_unit_test(jws__rfc8037_a4_a5_ed25519),
		cmocka_unit_test(jws__sign_request_round_trip_every_key),
		cmocka_unit_test(jws__S_JWS_17_ecdsa_signature_is_raw_r_s),
		cmocka_unit_test(jws__post_as_get_payload_is_empty),
		cmocka_unit_test(jws__S_JWS_1_tampered_payload_fails),
		cmocka_unit_test(jws__verify_with_wrong_key_fails),
		cmocka_unit_test(jws__S_JWS_2_rejects_general_serialization),
		cmocka_unit_test(jws__S_JWS_3_rejects_two_signatures),
		cmocka_unit_test(jws__S_JWS_4_rejects_b64_false),
		cmocka_unit_test(jws__S_JWS_5_rejects_unprotected_header),
		cmocka_unit_test(jws__S_JWS_6_rejects_missing_payload),
		cmocka_unit_test(jws__rejects_unknown_top_level_member),
		cmocka_unit_test(jws__rejects_bad_protected_header),
		cmocka_unit_test(jws__rejects_missing_or_empty_signature),
		cmocka_unit_test(jws__rejects_padded_payload),
		cmocka_unit_test(jws__S_JWS_18_rejects_duplicate_header_names),
		cmocka_unit_test(jws__rejects_crit),
		cmocka_unit_test(jws__rejects_oversize),
		cmocka_unit_test(jws__S_JWS_8_rejects_alg_none),
		cmocka_unit_test(jws__S_JWS_8_rejects_hs256_for_accounts),
		cmocka_unit_test(jws__S_JWS_14_rejects_unknown_alg),
		cmocka_unit_test(jws__S_JWS_17_rejects_der_ecdsa_signature),
		cmocka_unit_test(jws__rejects_truncated_signature),
		cmocka_unit_test(jws__S_JWS_21_accepts_ed25519_alg_name),
		cmocka_unit_test(jws__alg_key_mismatch_is_bad_public_key),
		cmocka_unit_test(jws__S_NON_3_missing_nonce_is_bad_nonce),
		cmocka_unit_test(jws__S_NON_11_nonce_must_be_base64url),
		cmocka_unit_test(jws__S_JWS_7_missing_url),
		cmocka_unit_test(jws__S_JWS_11_rejects_jwk_and_kid),
		cmocka_unit_test(jws__S_JWS_7_rejects_neither_jwk_nor_kid),
		cmocka_unit_test(jws__S_JWS_19_rejects_private_jwk),
		cmocka_unit_test(jws__S_JWS_15_weak_jwk_is_bad_public_key),
		cmocka_unit_test(jws__keychange_inner_rules),
		cmocka_unit_test(jws__eab_sign_verify_and_rules),
		cmocka_unit_test(jws__alg_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
