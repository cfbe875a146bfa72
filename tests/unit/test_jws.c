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

/*
 * The public half of a vector's private JWK, imported the way the server
 * imports a jwk header (acme_jwk_to_key), so the known answers also cover
 * that path.
 */
static EVP_PKEY *
vector_public_key(const json_t *v)
{
	static const char *priv[] = { "d", "p", "q", "dp", "dq", "qi" };
	json_t *jwk = json_deep_copy(json_object_get(v, "jwk"));
	struct acme_problem p = { 0 };
	EVP_PKEY *key;
	size_t i;

	for (i = 0; i < sizeof(priv) / sizeof(priv[0]); i++)
		json_object_del(jwk, priv[i]);
	key = acme_jwk_to_key(jwk, &p);
	if (key == NULL)
		fail_msg("vector jwk rejected: %s", p.detail);
	json_decref(jwk);
	return key;
}

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
	EVP_PKEY_free(key);
	key = vector_public_key(v);
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

	json_t *v = th_vector_json("rfc7515-a3.json");

	(void)state;
	vector_jws("rfc7515-a3.json", &key, &text);
	EVP_PKEY_free(key);
	key = vector_public_key(v);
	json_decref(v);
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
	EVP_PKEY_free(key);
	key = vector_public_key(v);
	jws = expect_ok(text, ACME_JWS_USE_PLAIN);
	assert_int_equal(acme_jws_alg(jws), ACME_JWS_EDDSA);
	assert_int_equal(acme_jws_verify(jws, key, &p), 0);
	acme_jws_free(jws);
	/* A.5 with one signature bit changed. */
	{
		char *sigpos = strstr(text, "hgyY0il");

		sigpos[0] = 'i';
		jws = expect_ok(text, ACME_JWS_USE_PLAIN);
		assert_int_equal(acme_jws_verify(jws, key, &p),
		    ACME_ERR_VERIFY);
		acme_jws_free(jws);
	}
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

/*
 * ES512 (RFC 7518 3.4): a P-521 key signs with a raw r||s of 2 * 66
 * bytes and verifies; ES512 with a P-256 jwk, or ES256 with a P-521
 * one, is badPublicKey; a DER or short signature fails.
 */
static void
jws__ES512_p521_accounts(void **state)
{
	EVP_PKEY *p521 = acme_key_generate(ACME_KEY_EC521, NULL);
	struct acme_problem p = { 0 };
	struct acme_jws *jws;
	json_t *o;
	char *text, *h;

	(void)state;
	assert_non_null(p521);
	o = acme_jws_sign_request(p521, NULL, NONCE, URL, "{}", 2, &p);
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT);
	jws = expect_ok(text, ACME_JWS_USE_ACCOUNT);
	assert_int_equal(acme_jws_alg(jws), ACME_JWS_ES512);
	assert_string_equal(acme_jws_alg_name(jws), "ES512");
	assert_int_equal(acme_jws_verify(jws, acme_jws_jwk_key(jws), &p), 0);
	assert_int_equal(acme_jws_verify(jws, ec256, &p), ACME_ERR_VERIFY);
	acme_jws_free(jws);
	free(text);
	/* The signature is 132 bytes: 176 base64url characters. */
	assert_int_equal(strlen(json_string_value(
			     json_object_get(o, "signature"))),
	    176);
	json_decref(o);
	h = hdr_with_jwk(ec256, "ES512", NULL);
	text = assemble(h, "e30", "AAAA");
	expect_fail(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_PUBLIC_KEY);
	free(text);
	free(h);
	h = hdr_with_jwk(p521, "ES256", NULL);
	text = assemble(h, "e30", "AAAA");
	expect_fail(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_PUBLIC_KEY);
	free(text);
	free(h);
	EVP_PKEY_free(p521);
}

/* The fast top-level reader is file-local in release builds (jws.c). */
int acme_jws_outer_fast(const char *t, size_t len, const char *val[3],
    size_t vlen[3]);

/* The path every text took before the fast reader: jansson's tree. */
static struct acme_jws *
parse_by_tree(const char *t, size_t len, enum acme_jws_use use,
    struct acme_problem *p)
{
	json_t *o = acme_json_parse(t, len, ACME_JSON_OBJECT, p);
	struct acme_jws *jws =
	    o != NULL ? acme_jws_parse_json(o, use, p) : NULL;

	json_decref(o);
	return jws;
}

/*
 * acme_jws_parse() and the tree path accept or refuse alike, with the
 * same problem, and agree on what they read.  fast: the fast reader must
 * take the text (1), must not (0), or either (-1).
 */
static void
jws_agree(const char *t, size_t len, int fast)
{
	struct acme_problem p1 = { 0 }, p2 = { 0 };
	struct acme_jws *a = acme_jws_parse(t, len, ACME_JWS_USE_ACCOUNT, &p1);
	struct acme_jws *b = parse_by_tree(t, len, ACME_JWS_USE_ACCOUNT, &p2);
	const char *val[3];
	size_t vlen[3], la, lb;

	assert_int_equal(a != NULL, b != NULL);
	if (a != NULL) {
		const unsigned char *pa = acme_jws_payload(a, &la),
				    *pb = acme_jws_payload(b, &lb);

		assert_int_equal(la, lb);
		assert_memory_equal(pa, pb, la);
		assert_string_equal(acme_jws_payload_b64(a),
		    acme_jws_payload_b64(b));
		assert_int_equal(acme_jws_alg(a), acme_jws_alg(b));
		assert_string_equal(acme_jws_nonce(a), acme_jws_nonce(b));
		assert_string_equal(acme_jws_url(a), acme_jws_url(b));
		assert_int_equal(acme_jws_verify(a, acme_jws_jwk_key(a), &p1),
		    acme_jws_verify(b, acme_jws_jwk_key(b), &p2));
	} else {
		assert_int_equal(p1.type, p2.type);
		assert_string_equal(p1.detail, p2.detail);
	}
	if (fast >= 0)
		assert_int_equal(acme_jws_outer_fast(t, len, val, vlen), fast);
	acme_jws_free(a);
	acme_jws_free(b);
	acme_problem_release(&p1);
	acme_problem_release(&p2);
}

/*
 * Runs agree on text (fast reader must take it), every truncation (it
 * must not) and every substitution from subst at every position.
 */
static void
mutations(const char *text, size_t n, const char *subst, size_t nsubst,
    void (*agree)(const char *, size_t, int))
{
	char *m = malloc(n);
	size_t i, k;

	assert_non_null(m);
	agree(text, n, 1);
	for (i = 0; i < n; i++)
		agree(text, i, 0);
	for (i = 0; i < n; i++)
		for (k = 0; k < nsubst; k++) {
			memcpy(m, text, n);
			m[i] = subst[k];
			agree(m, n, -1);
		}
	free(m);
}

static void
jws__outer_fast_agrees_with_the_json_tree(void **state)
{
	static const char subst[] = { ' ', '"', '\\', ',', '}', '{', ':', 'A',
		'=', '\0', '\n', (char)0xc3 };
	static const size_t flags[] = { JSON_COMPACT, JSON_INDENT(2),
		JSON_COMPACT | JSON_SORT_KEYS };
	struct acme_problem p = { 0 };
	json_t *o =
	    acme_jws_sign_request(ec256, NULL, NONCE, URL, "{\"a\":1}", 7, &p);
	size_t f;

	(void)state;
	assert_non_null(o);
	for (f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
		char *text = json_dumps(o, flags[f]);

		mutations(text, strlen(text), subst, sizeof(subst), jws_agree);
		free(text);
	}
	json_decref(o);
	/* What only the tree takes: escapes, a duplicate, another member. */
	{
		const char *h = "eyJhbGciOiJIUzI1NiJ9";
		char t[256];

		snprintf(t, sizeof(t),
		    "{\"protected\":\"\\u0065%s\",\"payload\":\"\","
		    "\"signature\":\"AA\"}",
		    h + 1);
		jws_agree(t, strlen(t), 0);
		snprintf(t, sizeof(t),
		    "{\"protected\":\"%s\",\"protected\":\"%s\","
		    "\"payload\":\"\",\"signature\":\"AA\"}",
		    h, h);
		jws_agree(t, strlen(t), 0);
		snprintf(t, sizeof(t),
		    "{\"protected\":\"%s\",\"payload\":\"\","
		    "\"signature\":\"AA\",\"header\":{}}",
		    h);
		jws_agree(t, strlen(t), 0);
		snprintf(t, sizeof(t),
		    "{\"protected\":\"%s\",\"payload\":\"\"}", h);
		jws_agree(t, strlen(t), 0);
	}
}

json_t *acme_jws_hdr_fast(const unsigned char *t, size_t len);

/* What the header's fast reader takes, jansson reads to an equal object. */
static void
hdr_agree(const char *t, size_t len, int fast)
{
	json_t *a = acme_jws_hdr_fast((const unsigned char *)t, len);
	json_t *b = acme_json_parse(t, len, ACME_JSON_OBJECT, NULL);

	if (fast >= 0)
		assert_int_equal(a != NULL, fast);
	if (a != NULL) {
		assert_non_null(b);
		assert_true(json_equal(a, b));
	}
	json_decref(a);
	json_decref(b);
}

static void
jws__header_fast_agrees_with_the_json_parser(void **state)
{
	static const char subst[] = { ' ', '"', '\\', ',', '}', '{', ':', 'A',
		'1', '\0', '\n', (char)0xc3, (char)0x7f };
	struct acme_problem p = { 0 };
	EVP_PKEY *keys[] = { ec256, ed };
	size_t k, n;

	(void)state;
	for (k = 0; k < 2 * sizeof(keys) / sizeof(keys[0]); k++) {
		json_t *o = acme_jws_sign_request(keys[k / 2],
		    k % 2 ? "https://ca.example/acme/acct/1" : NULL, NONCE, URL,
		    "{}", 2, &p);
		const char *b =
		    json_string_value(json_object_get(o, "protected"));
		unsigned char *raw;

		assert_int_equal(acme_b64url_decode(b, strlen(b), &raw, &n), 0);
		mutations((const char *)raw, n, subst, sizeof(subst),
		    hdr_agree);
		free(raw);
		json_decref(o);
	}
	/* Escapes, numbers, repeated names: the parser's to judge. */
	hdr_agree("{\"alg\":\"ES\\u0032256\"}", 20, 0);
	hdr_agree("{\"alg\":\"ES256\",\"b64\":false}", 27, 0);
	hdr_agree("{\"alg\":\"ES256\",\"alg\":\"ES256\"}", 29, 0);
	hdr_agree("{\"jwk\":{\"x\":\"1\",\"x\":\"2\"}}", 26, 0);
	hdr_agree(" {\"alg\" : \"ES256\" , \"url\":\"\"} \n", 31, 1);
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

/* RFC 7515 7.2.1: members not understood are ignored. */
static void
jws__S_JWS_1_unknown_top_level_members_ignored(void **state)
{
	json_t *o =
	    acme_jws_sign_request(ec256, "kid", NONCE, URL, "{}", 2, NULL);
	struct acme_problem p = { 0 };
	struct acme_jws *jws;
	char *text;

	(void)state;
	json_object_set_new(o, "extra", json_true());
	json_object_set_new(o, "x", json_pack("{s:[i]}", "y", 1));
	text = json_dumps(o, JSON_COMPACT);
	jws = acme_jws_parse(text, strlen(text), ACME_JWS_USE_ACCOUNT, &p);
	assert_non_null(jws);
	assert_int_equal(acme_jws_verify(jws, ec256, &p), 0);
	acme_jws_free(jws);
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

/*
 * none and the MACs are badSignatureAlgorithm before anything else is
 * said about the signature: an empty or missing one (as alg none
 * sends), or one that is not base64url.
 */
static void
jws__S_JWS_8_alg_judged_before_the_signature(void **state)
{
	static const char *const algs[] = { "none", "HS256", "HS384", "HS512" };
	static const char *const sigs[] = { "\"\"", "\"!!\"", NULL };
	size_t i, j;
	char hdr[256], t[1024], *h64;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(hdr, sizeof(hdr),
		    "{\"alg\":\"%s\",\"nonce\":\"" NONCE "\",\"url\":\"" URL
		    "\",\"kid\":\"k\"}",
		    algs[i]);
		h64 = acme_b64url_encode(hdr, strlen(hdr));
		for (j = 0; j < 3; j++) {
			if (sigs[j] != NULL)
				snprintf(t, sizeof(t),
				    "{\"protected\":\"%s\",\"payload\":\"e30\","
				    "\"signature\":%s}",
				    h64, sigs[j]);
			else
				snprintf(t, sizeof(t),
				    "{\"protected\":\"%s\",\"payload\":"
				    "\"e30\"}",
				    h64);
			expect_fail(t, ACME_JWS_USE_ACCOUNT,
			    ACME_PROB_BAD_SIGNATURE_ALGORITHM);
		}
		free(h64);
	}
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
	/* ES384 with a P-256 key, EdDSA with an RSA key, ES256 with Ed25519. */
	h = hdr_with_jwk(ec256, "ES384", NULL);
	t = assemble(h, "e30", "AAAA");
	expect_fail(t, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_PUBLIC_KEY);
	free(t);
	free(h);
	h = hdr_with_jwk(rsa, "EdDSA", NULL);
	t = assemble(h, "e30", "AAAA");
	expect_fail(t, ACME_JWS_USE_KEYCHANGE, ACME_PROB_BAD_PUBLIC_KEY);
	free(t);
	free(h);
	h = hdr_with_jwk(ed, "ES256", NULL);
	t = assemble(h, "e30", "AAAA");
	expect_fail(t, ACME_JWS_USE_PLAIN, ACME_PROB_BAD_PUBLIC_KEY);
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
	EVP_PKEY_free(weak);
}

/* --- keyChange inner JWS and EAB --- */

/* Signs hdr_json honestly with ec384 and expects KEYCHANGE to refuse it. */
static void
keychange_refuses(const char *hdr_json, const char *why)
{
	char *text = signed_with(ec384, ACME_JWS_ES384, hdr_json, "{}");

	expect_fail_why(text, ACME_JWS_USE_KEYCHANGE, ACME_PROB_MALFORMED, why);
	free(text);
}

static void
jws__keychange_inner_rules(void **state)
{
	struct acme_problem p = { 0 };
	json_t *o;
	char *text, *h;

	(void)state;
	/* Valid inner: jwk, url, no nonce. */
	o = acme_jws_sign_request(ec384, NULL, NULL, URL, "{}", 2, &p);
	text = json_dumps(o, JSON_COMPACT);
	acme_jws_free(expect_ok(text, ACME_JWS_USE_KEYCHANGE));
	/* The same JWS is not a valid account request (no nonce). */
	expect_fail(text, ACME_JWS_USE_ACCOUNT, ACME_PROB_BAD_NONCE);
	free(text);
	json_decref(o);
	/* With a nonce. */
	o = acme_jws_sign_request(ec384, NULL, NONCE, URL, "{}", 2, &p);
	text = json_dumps(o, JSON_COMPACT);
	expect_fail_why(text, ACME_JWS_USE_KEYCHANGE, ACME_PROB_MALFORMED,
	    "must not have a nonce");
	free(text);
	json_decref(o);
	/* With a kid instead of a jwk. */
	o = acme_jws_sign_request(ec384, "kid", NULL, URL, "{}", 2, &p);
	text = json_dumps(o, JSON_COMPACT);
	expect_fail_why(text, ACME_JWS_USE_KEYCHANGE, ACME_PROB_MALFORMED,
	    "needs a jwk");
	free(text);
	json_decref(o);
	/* With a kid as well as the jwk (and no nonce). */
	h = hdr_with_jwk(ec384, "ES384", ",\"kid\":\"k\"");
	{
		char *q = strstr(h, "\"nonce\":\"" NONCE "\",");

		memmove(q, q + strlen("\"nonce\":\"" NONCE "\","),
		    strlen(q + strlen("\"nonce\":\"" NONCE "\",")) + 1);
	}
	keychange_refuses(h, "must not have a kid");
	/* Without a url. */
	memcpy(strstr(h, "\"url\""), "\"uri\"", 5);
	keychange_refuses(h, "no url");
	free(h);
}

/* An HS256 header with the given extra members and a dummy MAC. */
static void
eab_refuses(const char *hdr_json, const char *why)
{
	char *text = assemble(hdr_json, "e30", "AAAA");

	expect_fail_why(text, ACME_JWS_USE_EAB, ACME_PROB_MALFORMED, why);
	free(text);
}

static void
jws__eab_sign_verify_and_rules(void **state)
{
	static const unsigned char mac[] = "0123456789abcdef0123456789abcdef";
	struct acme_problem p = { 0 };
	struct acme_jws *jws;
	json_t *o, *payload, *jwk;
	char *text, *h;

	(void)state;
	o = acme_jws_sign_eab(mac, 32, "kid-1", URL, ec256, &p);
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT);
	jws = expect_ok(text, ACME_JWS_USE_EAB);
	assert_int_equal(acme_jws_alg(jws), ACME_JWS_HS256);
	assert_string_equal(acme_jws_kid(jws), "kid-1");
	assert_string_equal(acme_jws_url(jws), URL);
	assert_null(acme_jws_nonce(jws));
	assert_null(acme_jws_jwk_key(jws));
	assert_int_equal(acme_jws_verify_hmac(jws, mac, 32, &p), 0);
	assert_int_equal(acme_jws_verify_hmac(jws, mac, 31, &p),
	    ACME_ERR_VERIFY);
	assert_int_equal(acme_jws_verify_hmac(jws, mac, 0, &p),
	    ACME_ERR_VERIFY);
	assert_non_null(strstr(p.detail, "empty MAC key"));
	/* The payload is the account key's JWK. */
	payload = acme_jws_payload_json(jws, &p);
	jwk = acme_jwk_from_key(ec256, NULL);
	assert_true(json_equal(payload, jwk));
	/* An HS256 JWS is never verified as a signature. */
	assert_int_equal(acme_jws_verify(jws, ec256, &p), ACME_ERR_VERIFY);
	assert_int_equal(p.type, ACME_PROB_BAD_SIGNATURE_ALGORITHM);
	json_decref(payload);
	json_decref(jwk);
	acme_jws_free(jws);
	/* And is no account signature. */
	expect_fail(text, ACME_JWS_USE_ACCOUNT,
	    ACME_PROB_BAD_SIGNATURE_ALGORITHM);
	free(text);
	json_decref(o);
	/* EAB must be HS256. */
	o = acme_jws_sign_request(ec256, "kid-1", NULL, URL, "{}", 2, &p);
	text = json_dumps(o, JSON_COMPACT);
	expect_fail_why(text, ACME_JWS_USE_EAB, ACME_PROB_MALFORMED, "HS256");
	free(text);
	json_decref(o);
	eab_refuses("{\"alg\":\"HS256\",\"kid\":\"k\",\"url\":\"" URL
		    "\",\"nonce\":\"" NONCE "\"}",
	    "must not have a nonce");
	eab_refuses("{\"alg\":\"HS256\",\"url\":\"" URL "\"}", "needs a kid");
	eab_refuses("{\"alg\":\"HS256\",\"kid\":\"k\"}", "needs a url");
	/* A jwk never rides on a MAC JWS. */
	h = hdr_with_jwk(ec256, "HS256", ",\"kid\":\"k\"");
	eab_refuses(h, "must not carry a jwk");
	free(h);
}

/* S-JWS-8: the MAC alg is judged before the jwk, for accounts too. */
static void
jws__S_JWS_8_hs256_with_jwk_is_bad_signature_algorithm(void **state)
{
	char *h = hdr_with_jwk(ec256, "HS256", NULL);
	char *t = assemble(h, "e30", "AAAA");

	(void)state;
	expect_fail_why(t, ACME_JWS_USE_ACCOUNT,
	    ACME_PROB_BAD_SIGNATURE_ALGORITHM, "MAC");
	expect_fail_why(t, ACME_JWS_USE_KEYCHANGE,
	    ACME_PROB_BAD_SIGNATURE_ALGORITHM, "MAC");
	/* With no use rules, a jwk on a MAC JWS is still refused. */
	expect_fail_why(t, ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED,
	    "must not carry a jwk");
	free(t);
	free(h);
}

/* Every key type under every use it may sign for; each verifies. */
static void
jws__round_trip_every_use_and_key(void **state)
{
	static const unsigned char mac[32] = { 7, 7, 7 };
	EVP_PKEY *keys[] = { ec256, ec384, rsa, ed };
	struct acme_problem p = { 0 };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		json_t *o[3];
		struct acme_jws *jws;
		char *text;
		size_t j;

		o[0] = acme_jws_sign_request(keys[i], "https://ca/acct/7",
		    NONCE, URL, "{\"b\":2}", 7, &p);
		o[1] = acme_jws_sign_request(keys[i], NULL, NULL, URL,
		    "{\"b\":2}", 7, &p);
		o[2] = acme_jws_sign_eab(mac, sizeof(mac), "eab-kid", URL,
		    keys[i], &p);
		for (j = 0; j < 3; j++) {
			static const enum acme_jws_use uses[] = {
				ACME_JWS_USE_ACCOUNT, ACME_JWS_USE_KEYCHANGE,
				ACME_JWS_USE_EAB
			};

			assert_non_null(o[j]);
			text = json_dumps(o[j], JSON_COMPACT);
			jws = expect_ok(text, uses[j]);
			if (uses[j] == ACME_JWS_USE_EAB) {
				assert_int_equal(acme_jws_verify_hmac(jws, mac,
						     sizeof(mac), &p),
				    0);
			} else {
				assert_int_equal(acme_jws_verify(jws, keys[i],
						     &p),
				    0);
			}
			if (uses[j] == ACME_JWS_USE_KEYCHANGE)
				assert_int_equal(acme_jws_verify(jws,
						     acme_jws_jwk_key(jws), &p),
				    0);
			acme_jws_free(jws);
			free(text);
			json_decref(o[j]);
		}
	}
}

/*
 * The protected header is {"alg", then hdr's members in order}, compact,
 * and the same every time; an "alg" in hdr does not override the key's.
 */
static void
jws__sign_protected_header_is_deterministic(void **state)
{
	json_t *hdr = json_pack("{s:s, s:s, s:s, s:s}", "nonce", NONCE, "url",
	    URL, "alg", "HS256", "kid", "k");
	json_t *a = acme_jws_sign(ec256, hdr, "{}", 2, NULL);
	json_t *b = acme_jws_sign(ec256, hdr, "{}", 2, NULL);
	const char *pa = json_string_value(json_object_get(a, "protected"));
	unsigned char *dec = NULL;
	size_t len = 0;

	(void)state;
	assert_non_null(pa);
	assert_string_equal(pa,
	    json_string_value(json_object_get(b, "protected")));
	assert_int_equal(acme_b64url_decode(pa, strlen(pa), &dec, &len), 0);
	assert_string_equal((char *)dec,
	    "{\"alg\":\"ES256\",\"nonce\":\"" NONCE "\",\"url\":\"" URL
	    "\",\"kid\":\"k\"}");
	free(dec);
	json_decref(a);
	json_decref(b);
	json_decref(hdr);
}

/*
 * A request body, acme_json_compact of a signed JWS, is what json_dumps
 * writes, for a payload and for POST-as-GET, and so are objects of
 * other shapes (a member that needs escaping, one too many).
 */
static void
jws__text_is_json_dumps_output(void **state)
{
	json_t *hdr = json_pack("{s:s, s:s}", "nonce", NONCE, "url", URL);
	json_t *cases[4];
	size_t i;

	(void)state;
	cases[0] = acme_jws_sign(ec256, hdr, "{\"a\":1}", 7, NULL);
	cases[1] = acme_jws_sign(ec256, hdr, NULL, 0, NULL);
	cases[2] = json_pack("{s:s, s:s, s:s}", "protected", "a\"b", "payload",
	    "", "signature", "c");
	cases[3] = json_pack("{s:s, s:s, s:s, s:s}", "protected", "YQ",
	    "payload", "YQ", "signature", "YQ", "extra", "x");
	for (i = 0; i < 4; i++) {
		char *want, *got;

		assert_non_null(cases[i]);
		want = json_dumps(cases[i], JSON_COMPACT);
		got = acme_json_compact(cases[i], NULL);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(want);
		free(got);
		json_decref(cases[i]);
	}
	json_decref(hdr);
}

/* S-JWS-1: one flipped signature byte fails under every algorithm. */
static void
jws__S_JWS_1_flipped_signature_byte_fails_every_alg(void **state)
{
	static const unsigned char mac[32] = { 9 };
	EVP_PKEY *keys[] = { ec256, ec384, rsa, ed, NULL };
	size_t i;

	(void)state;
	for (i = 0; i < 5; i++) {
		json_t *o = keys[i] != NULL ?
				acme_jws_sign_request(keys[i], "k", NONCE, URL,
				    "{}", 2, NULL) :
				acme_jws_sign_eab(mac, sizeof(mac), "k", URL,
				    ec256, NULL);
		const char *sig64 =
		    json_string_value(json_object_get(o, "signature"));
		struct acme_problem p = { 0 };
		struct acme_jws *jws;
		unsigned char *raw = NULL;
		size_t len = 0;
		char *s, *text;

		assert_int_equal(acme_b64url_decode(sig64, strlen(sig64), &raw,
				     &len),
		    0);
		raw[len / 2] ^= 0x01;
		s = acme_b64url_encode(raw, len);
		json_object_set_new(o, "signature", json_string(s));
		text = json_dumps(o, JSON_COMPACT);
		jws = expect_ok(text,
		    keys[i] != NULL ? ACME_JWS_USE_ACCOUNT : ACME_JWS_USE_EAB);
		if (keys[i] != NULL)
			assert_int_equal(acme_jws_verify(jws, keys[i], &p),
			    ACME_ERR_VERIFY);
		else
			assert_int_equal(acme_jws_verify_hmac(jws, mac,
					     sizeof(mac), &p),
			    ACME_ERR_VERIFY);
		assert_int_equal(p.type, ACME_PROB_MALFORMED);
		assert_non_null(strstr(p.detail, "does not verify"));
		acme_jws_free(jws);
		free(text);
		free(s);
		free(raw);
		json_decref(o);
	}
}

/* S-JWS-17: ECDSA signatures of any other length never reach OpenSSL. */
static void
jws__S_JWS_17_rejects_wrong_length_ecdsa(void **state)
{
	unsigned char sig[97];
	struct acme_problem p = { 0 };
	size_t i;
	static const struct {
		enum acme_jws_alg alg;
		size_t len;
	} cases[] = {
		{ ACME_JWS_ES256, 63 },
		{ ACME_JWS_ES256, 65 },
		{ ACME_JWS_ES256, 96 },
		{ ACME_JWS_ES384, 64 },
		{ ACME_JWS_ES384, 97 },
	};

	(void)state;
	memset(sig, 0x11, sizeof(sig));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *k = cases[i].alg == ACME_JWS_ES256 ? ec256 : ec384;

		assert_int_equal(acme_jws_verify_raw(k, cases[i].alg, "x", 1,
				     sig, cases[i].len, &p),
		    ACME_ERR_VERIFY);
		assert_non_null(strstr(p.detail, "r||s"));
	}
}

/* Members of the wrong JSON type are malformed, never ignored. */
static void
jws__rejects_members_of_wrong_type(void **state)
{
	static const char *bad[] = {
		"{\"protected\":1,\"payload\":\"\",\"signature\":\"AA\"}",
		"{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":{},"
		"\"signature\":\"AA\"}",
		"{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"\","
		"\"signature\":null}",
		"{\"protected\":\"eyJhbGciOiJFUzI1NiJ9\",\"payload\":\"\","
		"\"signature\":[\"AA\"]}",
	};
	static const char *hdrs[] = {
		"{\"alg\":\"ES256\",\"nonce\":5,\"url\":\"" URL
		"\",\"kid\":\"k\"}",
		"{\"alg\":\"ES256\",\"nonce\":\"" NONCE "\",\"url\":true,"
		"\"kid\":\"k\"}",
		"{\"alg\":\"ES256\",\"nonce\":\"" NONCE "\",\"url\":\"" URL
		"\",\"kid\":{}}",
		"{\"alg\":\"ES256\",\"nonce\":\"" NONCE "\",\"url\":\"" URL
		"\",\"jwk\":\"not an object\"}",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_fail(bad[i], ACME_JWS_USE_PLAIN, ACME_PROB_MALFORMED);
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		char *t = assemble(hdrs[i], "e30", "AAAA");

		expect_fail(t, ACME_JWS_USE_ACCOUNT, ACME_PROB_MALFORMED);
		free(t);
	}
}

/* acme_jws_parse_json() takes a borrowed object and applies the same rules. */
static void
jws__parse_json_borrows_and_checks(void **state)
{
	json_t *o = acme_jws_sign_request(ed, NULL, NONCE, URL, "{}", 2, NULL);
	json_t *arr = json_array();
	struct acme_problem p = { 0 };
	struct acme_jws *jws;

	(void)state;
	jws = acme_jws_parse_json(o, ACME_JWS_USE_ACCOUNT, &p);
	assert_non_null(jws);
	assert_int_equal(o->refcount, 1);
	assert_int_equal(acme_jws_verify(jws, ed, &p), 0);
	acme_jws_free(jws);
	assert_null(acme_jws_parse_json(o, ACME_JWS_USE_KEYCHANGE, &p));
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	assert_null(acme_jws_parse_json(arr, ACME_JWS_USE_PLAIN, &p));
	assert_null(acme_jws_parse_json(NULL, ACME_JWS_USE_PLAIN, NULL));
	acme_jws_free(NULL);
	json_decref(arr);
	json_decref(o);
}

/* Signing refuses keys and algs that could never verify. */
static void
jws__sign_refuses_unsuitable_keys(void **state)
{
	EVP_PKEY *weak = EVP_RSA_gen(1024);
	struct acme_problem p = { 0 };
	size_t len = 0;

	(void)state;
	assert_null(acme_jws_sign_request(weak, "k", NONCE, URL, "{}", 2, &p));
	assert_int_equal(p.type, ACME_PROB_BAD_PUBLIC_KEY);
	assert_null(acme_jws_sign_raw(ec256, ACME_JWS_ES384, "x", 1, &len, &p));
	assert_int_equal(p.type, ACME_PROB_BAD_PUBLIC_KEY);
	assert_null(acme_jws_sign_raw(ec256, ACME_JWS_HS256, "x", 1, &len, &p));
	assert_null(acme_jws_sign_raw(ed, ACME_JWS_ALG_NONE, "x", 1, &len, &p));
	assert_int_equal(acme_jws_verify_raw(ed, ACME_JWS_HS256, "x", 1,
			     (const unsigned char *)"x", 1, &p),
	    ACME_ERR_VERIFY);
	assert_int_equal(p.type, ACME_PROB_BAD_SIGNATURE_ALGORITHM);
	assert_null(acme_jws_sign_eab(NULL, 0, "k", URL, ec256, &p));
	assert_null(acme_jws_sign_request(ec256, "k", NONCE, NULL, "", 0, &p));
	EVP_PKEY_free(weak);
}

/* A MAC is exactly 32 bytes: a correct MAC with a byte appended fails. */
static void
jws__hmac_length_and_alg_are_checked(void **state)
{
	static const unsigned char mac[32] = { 5, 4, 3 };
	json_t *o = acme_jws_sign_eab(mac, sizeof(mac), "k", URL, ed, NULL);
	const char *sig64 = json_string_value(json_object_get(o, "signature"));
	unsigned char *raw = NULL, longer[33];
	struct acme_problem p = { 0 };
	struct acme_jws *jws;
	size_t len = 0;
	char *s, *text;

	(void)state;
	assert_int_equal(acme_b64url_decode(sig64, strlen(sig64), &raw, &len),
	    0);
	assert_int_equal(len, 32);
	memcpy(longer, raw, 32);
	longer[32] = 0;
	s = acme_b64url_encode(longer, sizeof(longer));
	json_object_set_new(o, "signature", json_string(s));
	text = json_dumps(o, JSON_COMPACT);
	jws = expect_ok(text, ACME_JWS_USE_EAB);
	assert_int_equal(acme_jws_verify_hmac(jws, mac, sizeof(mac), &p),
	    ACME_ERR_VERIFY);
	acme_jws_free(jws);
	free(text);
	free(s);
	free(raw);
	json_decref(o);
	/* verify_hmac() only takes HS256 JWSs. */
	o = acme_jws_sign_request(ec256, "k", NONCE, URL, "{}", 2, NULL);
	text = json_dumps(o, JSON_COMPACT);
	jws = expect_ok(text, ACME_JWS_USE_ACCOUNT);
	assert_int_equal(acme_jws_verify_hmac(jws, mac, sizeof(mac), &p),
	    ACME_ERR_VERIFY);
	assert_non_null(strstr(p.detail, "expected an HS256"));
	acme_jws_free(jws);
	free(text);
	json_decref(o);
}

/*
 * S-JWS-17: r and s are left-padded to the field length.  About one
 * signature in 128 has an r or s with a leading zero byte, so a thousand
 * P-256 signatures all but surely include some.
 */
static void
jws__S_JWS_17_short_r_or_s_is_padded(void **state)
{
	struct acme_problem p = { 0 };
	unsigned char msg[8];
	int i, k;

	(void)state;
	for (k = 0; k < 2; k++) {
		EVP_PKEY *key = k == 0 ? ec256 : ec384;
		enum acme_jws_alg alg =
		    k == 0 ? ACME_JWS_ES256 : ACME_JWS_ES384;

		/* The padding code is shared; P-384 needs fewer rounds. */
		for (i = 0; i < (k == 0 ? 1000 : 200); i++) {
			unsigned char *sig;
			size_t len = 0;

			memcpy(msg, &i, sizeof(i));
			sig = acme_jws_sign_raw(key, alg, msg, sizeof(msg),
			    &len, &p);
			assert_non_null(sig);
			assert_int_equal(len, k == 0 ? 64 : 96);
			assert_int_equal(acme_jws_verify_raw(key, alg, msg,
					     sizeof(msg), sig, len, &p),
			    0);
			free(sig);
		}
	}
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
		cmocka_unit_test(jws__ES512_p521_accounts),
		cmocka_unit_test(jws__S_JWS_17_ecdsa_signature_is_raw_r_s),
		cmocka_unit_test(jws__post_as_get_payload_is_empty),
		cmocka_unit_test(jws__S_JWS_1_tampered_payload_fails),
		cmocka_unit_test(jws__verify_with_wrong_key_fails),
		cmocka_unit_test(jws__S_JWS_2_rejects_general_serialization),
		cmocka_unit_test(jws__S_JWS_3_rejects_two_signatures),
		cmocka_unit_test(jws__S_JWS_4_rejects_b64_false),
		cmocka_unit_test(jws__S_JWS_5_rejects_unprotected_header),
		cmocka_unit_test(jws__S_JWS_6_rejects_missing_payload),
		cmocka_unit_test(
		    jws__S_JWS_1_unknown_top_level_members_ignored),
		cmocka_unit_test(jws__rejects_bad_protected_header),
		cmocka_unit_test(jws__rejects_missing_or_empty_signature),
		cmocka_unit_test(jws__rejects_padded_payload),
		cmocka_unit_test(jws__S_JWS_18_rejects_duplicate_header_names),
		cmocka_unit_test(jws__rejects_crit),
		cmocka_unit_test(jws__rejects_oversize),
		cmocka_unit_test(jws__S_JWS_8_rejects_alg_none),
		cmocka_unit_test(jws__S_JWS_8_rejects_hs256_for_accounts),
		cmocka_unit_test(jws__S_JWS_8_alg_judged_before_the_signature),
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
		cmocka_unit_test(
		    jws__S_JWS_8_hs256_with_jwk_is_bad_signature_algorithm),
		cmocka_unit_test(jws__round_trip_every_use_and_key),
		cmocka_unit_test(jws__sign_protected_header_is_deterministic),
		cmocka_unit_test(
		    jws__S_JWS_1_flipped_signature_byte_fails_every_alg),
		cmocka_unit_test(jws__S_JWS_17_rejects_wrong_length_ecdsa),
		cmocka_unit_test(jws__rejects_members_of_wrong_type),
		cmocka_unit_test(jws__parse_json_borrows_and_checks),
		cmocka_unit_test(jws__sign_refuses_unsuitable_keys),
		cmocka_unit_test(jws__hmac_length_and_alg_are_checked),
		cmocka_unit_test(jws__S_JWS_17_short_r_or_s_is_padded),
		cmocka_unit_test(jws__outer_fast_agrees_with_the_json_tree),
		cmocka_unit_test(jws__text_is_json_dumps_output),
		cmocka_unit_test(jws__header_fast_agrees_with_the_json_parser),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
