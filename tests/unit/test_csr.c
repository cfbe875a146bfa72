/* SPDX-License-Identifier: ISC */
/* Unit tests for csr.c: build, strict parse, identifier extraction. */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <anvil/b64url.h>
#include <anvil/csr.h>
#include <anvil/err.h>
#include <anvil/key.h>

#include "helpers.h"

static EVP_PKEY *ec;

static int
setup(void **state)
{
	(void)state;
	ec = acme_key_generate(ACME_KEY_EC256, NULL);
	return ec != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ec);
	return 0;
}

static void
idents(struct acme_ident *ids, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(acme_ident_from_name(&ids[i], names[i]), 0);
}

/* A CSR made directly with OpenSSL, for contents acme_csr_build refuses. */
static X509_REQ *
raw_csr(EVP_PKEY *key, const char *cn, const char *san_conf)
{
	X509_REQ *req = X509_REQ_new();
	X509_NAME *name = X509_NAME_new();

	if (cn != NULL)
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		    (const unsigned char *)cn, -1, -1, 0);
	X509_REQ_set_subject_name(req, name);
	X509_NAME_free(name);
	if (san_conf != NULL) {
		STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL,
		    NID_subject_alt_name, san_conf);

		assert_non_null(ext);
		sk_X509_EXTENSION_push(exts, ext);
		X509_REQ_add_extensions(req, exts);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	}
	X509_REQ_set_pubkey(req, key);
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	return req;
}

static X509_REQ *
reparse(X509_REQ *req, struct acme_problem *p)
{
	size_t len = 0;
	unsigned char *der = acme_csr_to_der(req, &len);
	X509_REQ *out = acme_csr_parse_der(der, len, p);

	free(der);
	return out;
}

static void
csr__round_trip_every_key_type(void **state)
{
	static const enum acme_key_type types[] = { ACME_KEY_EC256,
		ACME_KEY_EC384, ACME_KEY_RSA2048, ACME_KEY_ED25519 };
	static const char *const names[] = { "www.example.com", "192.0.2.7",
		"example.com", "2001:db8::1" };
	struct acme_problem p = { 0 };
	struct acme_ident in[4], *out = NULL;
	size_t i, n = 0;

	(void)state;
	idents(in, names, 4);
	for (i = 0; i < 4; i++) {
		EVP_PKEY *k = acme_key_generate(types[i], &p);
		X509_REQ *req = acme_csr_build(k, in, 4, &p), *back;
		char *b64;
		enum acme_key_type t = ACME_KEY_UNKNOWN;

		assert_non_null(req);
		b64 = acme_csr_to_b64url(req);
		back = acme_csr_parse_b64url(b64, &p);
		assert_non_null(back);
		assert_int_equal(acme_csr_identifiers(back, &out, &n, &p), 0);
		/* Sorted: DNS names first, then IPs. */
		assert_int_equal(n, 4);
		assert_string_equal(out[0].value, "example.com");
		assert_string_equal(out[1].value, "www.example.com");
		assert_string_equal(out[2].value, "192.0.2.7");
		assert_int_equal(out[2].type, ACME_IDENT_IP);
		assert_string_equal(out[3].value, "2001:db8::1");
		assert_int_equal(acme_csr_key_info(back, &t, NULL, NULL), 0);
		assert_int_equal(t, types[i]);
		assert_true(acme_key_public_equal(acme_csr_pubkey(back), k));
		free(out);
		free(b64);
		X509_REQ_free(back);
		X509_REQ_free(req);
		EVP_PKEY_free(k);
	}
}

static void
csr__key_info_reports_rsa_bits(void **state)
{
	EVP_PKEY *k = acme_key_generate(ACME_KEY_RSA3072, NULL);
	struct acme_ident id;
	X509_REQ *req;
	enum acme_key_type t;
	enum acme_key_family f;
	int bits = 0;

	(void)state;
	acme_ident_from_name(&id, "a.example");
	req = acme_csr_build(k, &id, 1, NULL);
	assert_int_equal(acme_csr_key_info(req, &t, &f, &bits), 0);
	assert_int_equal(t, ACME_KEY_RSA3072);
	assert_int_equal(f, ACME_KEYFAM_RSA);
	assert_int_equal(bits, 3072);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

static void
csr__S_FIN_7_tampered_signature_rejected(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident id;
	X509_REQ *req;
	unsigned char *der;
	size_t len = 0;
	char *where;

	(void)state;
	acme_ident_from_name(&id, "tamper.example");
	req = acme_csr_build(ec, &id, 1, &p);
	der = acme_csr_to_der(req, &len);
	/* Change one byte of the name, inside the signed part. */
	where = memmem(der, len, "tamper", 6);
	assert_non_null(where);
	where[0] = 'T';
	assert_null(acme_csr_parse_der(der, len, &p));
	assert_int_equal(p.type, ACME_PROB_BAD_CSR);
	assert_non_null(strstr(p.detail, "signature"));
	free(der);
	X509_REQ_free(req);
}

static void
csr__rejects_trailing_and_truncated_der(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident id;
	X509_REQ *req, *back;
	unsigned char *der, *longer;
	size_t len = 0;

	(void)state;
	acme_ident_from_name(&id, "a.example");
	req = acme_csr_build(ec, &id, 1, &p);
	der = acme_csr_to_der(req, &len);
	longer = malloc(len + 1);
	memcpy(longer, der, len);
	longer[len] = 0;
	assert_null(acme_csr_parse_der(longer, len + 1, &p));
	assert_non_null(strstr(p.detail, "trailing"));
	assert_null(acme_csr_parse_der(der, len - 1, &p));
	assert_int_equal(p.type, ACME_PROB_BAD_CSR);
	assert_null(acme_csr_parse_der(der, 0, &p));
	back = acme_csr_parse_der(der, len, &p);
	assert_non_null(back);
	X509_REQ_free(back);
	free(longer);
	free(der);
	X509_REQ_free(req);
}

static void
csr__S_TRN_7_rejects_padded_base64(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident id;
	X509_REQ *req;
	char *b64, *padded;
	size_t n;

	(void)state;
	acme_ident_from_name(&id, "a.example");
	req = acme_csr_build(ec, &id, 1, &p);
	b64 = acme_csr_to_b64url(req);
	n = strlen(b64);
	padded = malloc(n + 4);
	memcpy(padded, b64, n + 1);
	while (strlen(padded) % 4 != 0)
		strcat(padded, "=");
	if (strlen(padded) == n) {
		/* Already a multiple of 4: standard base64 would use '+'/'/'. */
		padded[n - 1] = '=';
	}
	assert_null(acme_csr_parse_b64url(padded, &p));
	assert_int_equal(p.type, ACME_PROB_BAD_CSR);
	assert_null(acme_csr_parse_b64url(NULL, &p));
	free(padded);
	free(b64);
	X509_REQ_free(req);
}

static void
csr__cn_not_in_san_is_an_identifier(void **state)
{
	struct acme_problem p = { 0 };
	X509_REQ *req = raw_csr(ec, "cn-only.example", "DNS:san.example");
	X509_REQ *back = reparse(req, &p);
	struct acme_ident *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_non_null(back);
	assert_int_equal(acme_csr_identifiers(back, &ids, &n, &p), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0].value, "cn-only.example");
	assert_string_equal(ids[1].value, "san.example");
	free(ids);
	X509_REQ_free(back);
	X509_REQ_free(req);
}

static void
csr__S_IDN_10_lowercases_and_dedupes(void **state)
{
	struct acme_problem p = { 0 };
	X509_REQ *req = raw_csr(ec, "WWW.Example.COM",
	    "DNS:www.example.com,DNS:WWW.EXAMPLE.com,IP:192.0.2.1");
	X509_REQ *back = reparse(req, &p);
	struct acme_ident *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(acme_csr_identifiers(back, &ids, &n, &p), 0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0].value, "www.example.com");
	assert_string_equal(ids[1].value, "192.0.2.1");
	free(ids);
	X509_REQ_free(back);
	X509_REQ_free(req);
}

static void
csr__S_FIN_2_rejects_other_san_types(void **state)
{
	static const char *const sans[] = { "email:a@example.com",
		"URI:https://example.com/", "DNS:bad_name.example",
		"DNS:trailing.example." };
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		struct acme_problem p = { 0 };
		X509_REQ *req = raw_csr(ec, NULL, sans[i]);
		X509_REQ *back = reparse(req, &p);
		struct acme_ident *ids = NULL;
		size_t n = 0;

		assert_non_null(back);
		assert_int_equal(acme_csr_identifiers(back, &ids, &n, &p),
		    ACME_ERR_INVAL);
		assert_int_equal(p.type, ACME_PROB_BAD_CSR);
		assert_null(ids);
		X509_REQ_free(back);
		X509_REQ_free(req);
	}
}

static void
csr__rejects_no_identifiers_and_bad_cn(void **state)
{
	struct acme_problem p = { 0 };
	X509_REQ *req = raw_csr(ec, NULL, NULL), *back;
	struct acme_ident *ids = NULL;
	size_t n = 0;

	(void)state;
	back = reparse(req, &p);
	assert_int_equal(acme_csr_identifiers(back, &ids, &n, &p),
	    ACME_ERR_INVAL);
	assert_non_null(strstr(p.detail, "no identifiers"));
	X509_REQ_free(back);
	X509_REQ_free(req);
	req = raw_csr(ec, "not a hostname", "DNS:ok.example");
	back = reparse(req, &p);
	assert_int_equal(acme_csr_identifiers(back, &ids, &n, &p),
	    ACME_ERR_INVAL);
	X509_REQ_free(back);
	X509_REQ_free(req);
}

static void
csr__build_limits(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident *many =
	    calloc(ACME_CSR_MAX_IDENTS + 1, sizeof(*many));

	(void)state;
	assert_null(acme_csr_build(ec, many, 0, &p));
	assert_null(acme_csr_build(ec, many, ACME_CSR_MAX_IDENTS + 1, &p));
	free(many);
}

/*
 * The SubjectPublicKeyInfo acme_csr_build() writes from the key's
 * public bytes is byte for byte what OpenSSL's encoder makes
 * (i2d_PUBKEY), for 16 keys of each type (a BIT STRING written with
 * stray unused bits shows in about half of them).
 */
static void
csr__build_spki_matches_openssl_encoder(void **state)
{
	static const enum acme_key_type types[] = { ACME_KEY_EC256,
		ACME_KEY_EC384, ACME_KEY_ED25519, ACME_KEY_RSA2048 };
	struct acme_ident id;
	size_t t;
	int i;

	(void)state;
	acme_ident_from_name(&id, "spki.example");
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		for (i = 0; i < (types[t] == ACME_KEY_RSA2048 ? 2 : 16); i++) {
			EVP_PKEY *k = acme_key_generate(types[t], NULL);
			X509_REQ *req = acme_csr_build(k, &id, 1, NULL);
			unsigned char *want = NULL, *der;
			int lw = i2d_PUBKEY(k, &want);
			size_t len = 0;

			/* In the request as sent, not just in memory. */
			der = acme_csr_to_der(req, &len);
			assert_true(lw > 0 && der != NULL &&
				    memmem(der, len, want, (size_t)lw) != NULL);
			OPENSSL_free(want);
			free(der);
			X509_REQ_free(req);
			EVP_PKEY_free(k);
		}
}

/* Whether req's SubjectPublicKeyInfo is acme_csr_spki() of its key. */
static int
spki_is_canonical(X509_REQ *req)
{
	X509_PUBKEY *canon = acme_csr_spki(X509_REQ_get0_pubkey(req));
	unsigned char *a = NULL, *b = NULL;
	int la = canon != NULL ? i2d_X509_PUBKEY(canon, &a) : 0;
	int lb = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req), &b);
	int same = la > 0 && la == lb && memcmp(a, b, (size_t)la) == 0;

	OPENSSL_free(a);
	OPENSSL_free(b);
	X509_PUBKEY_free(canon);
	return same;
}

/* The fast reader is file-local in release builds (csr.c). */
int acme_csr_read_fast(const unsigned char *der, size_t len, struct acme_csr *c,
    X509_NAME **subj, STACK_OF(X509_EXTENSION) * *exts);

/*
 * acme_csr_read() against OpenSSL's parser on the same bytes: both
 * accept or both refuse, and agree on key, SubjectPublicKeyInfo and
 * identifiers.  fast: the fast reader must have taken it (1), must not
 * have (0), or either (-1).
 */
static void
agree(const unsigned char *der, size_t len, int fast)
{
	struct acme_problem p1 = { 0 }, p2 = { 0 };
	struct acme_csr c, f = { 0 };
	X509_REQ *req = acme_csr_parse_der(der, len, &p1);
	struct acme_ident *ids = NULL;
	size_t n = 0;
	char *b64 = acme_b64url_encode(der, len);
	X509_NAME *subj = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int rc2, took,
	    rc1 = req != NULL ? acme_csr_identifiers(req, &ids, &n, &p1) :
				ACME_ERR_INVAL;

	/* The CA also wants the key's one DER form (D58). */
	if (rc1 == 0 && !spki_is_canonical(req))
		rc1 = ACME_ERR_INVAL;
	rc2 = acme_csr_read(b64, &c, &p2);
	assert_int_equal(rc1 == 0, rc2 == 0);
	if (rc1 == 0) {
		const unsigned char *a, *b;
		X509_ALGOR *aa, *ab;
		int la, lb;

		/* The SubjectPublicKeyInfo the certificate gets, as sent. */
		assert_true(X509_PUBKEY_get0_param(NULL, &a, &la, &aa,
		    X509_REQ_get_X509_PUBKEY(req)));
		assert_true(X509_PUBKEY_get0_param(NULL, &b, &lb, &ab, c.spki));
		assert_true(la > 0 && la == lb && memcmp(a, b, la) == 0);
		assert_int_equal(X509_ALGOR_cmp(aa, ab), 0);
		assert_true(
		    acme_key_public_equal(c.key, X509_REQ_get0_pubkey(req)));
		assert_int_equal(c.nids, n);
		for (size_t i = 0; i < n; i++)
			assert_true(acme_ident_equal(&c.ids[i], &ids[i]));
	} else
		assert_int_equal(p2.type, ACME_PROB_BAD_CSR);
	took = acme_csr_read_fast(der, len, &f, &subj, &exts);
	if (fast >= 0)
		assert_int_equal(took, fast);
	if (took) /* it never takes what OpenSSL's parser refuses */
		assert_non_null(req);
	acme_csr_release(&f);
	X509_NAME_free(subj);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	acme_csr_release(&c);
	X509_REQ_free(req);
	free(ids);
	free(b64);
	acme_problem_release(&p1);
	acme_problem_release(&p2);
}

static void
csr__read_fast_agrees_with_openssl_every_key_type(void **state)
{
	static const enum acme_key_type types[] = { ACME_KEY_EC256,
		ACME_KEY_EC384, ACME_KEY_RSA2048, ACME_KEY_ED25519 };
	static const char *const names[] = { "b.example", "A.example",
		"192.0.2.1", "2001:db8::1" };
	struct acme_ident in[4];
	size_t i;

	(void)state;
	idents(in, names, 4);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *k = acme_key_generate(types[i], NULL);
		X509_REQ *req = acme_csr_build(k, in, 4, NULL);
		size_t len = 0;
		unsigned char *der = acme_csr_to_der(req, &len);

		agree(der, len, 1);
		free(der);
		X509_REQ_free(req);
		EVP_PKEY_free(k);
	}
}

/* CN only, no extensions; a SAN the CA refuses; SHA-512 signature. */
static void
csr__read_fast_other_shapes(void **state)
{
	X509_REQ *req;
	unsigned char *der;
	size_t len = 0;

	(void)state;
	req = raw_csr(ec, "cn-only.example", NULL);
	der = acme_csr_to_der(req, &len);
	agree(der, len, -1);
	free(der);
	X509_REQ_free(req);
	req = raw_csr(ec, NULL, "email:a@b.example");
	der = acme_csr_to_der(req, &len);
	agree(der, len, -1);
	free(der);
	assert_true(X509_REQ_sign(req, ec, EVP_sha512()) > 0);
	X509_REQ_free(req);
	req = raw_csr(ec, "sha512.example", "DNS:sha512.example");
	assert_true(X509_REQ_sign(req, ec, EVP_sha512()) > 0);
	der = acme_csr_to_der(req, &len);
	agree(der, len, 1);
	free(der);
	X509_REQ_free(req);
}

/*
 * Every truncation, every single-byte change and trailing bytes: the
 * two readers agree each time (and under ASan nothing reads out of
 * bounds).
 */
static void
csr__read_fast_agrees_on_damaged_der(void **state)
{
	struct acme_ident id;
	X509_REQ *req;
	unsigned char *der, *bad;
	size_t len = 0, i;

	(void)state;
	acme_ident_from_name(&id, "damage.example");
	req = acme_csr_build(ec, &id, 1, NULL);
	der = acme_csr_to_der(req, &len);
	bad = malloc(len + 2);
	for (i = 1; i < len; i++)
		agree(der, i, 0);
	for (i = 0; i < len; i++) {
		memcpy(bad, der, len);
		bad[i] ^= 0x01;
		agree(bad, len, -1);
		bad[i] ^= 0x81;
		agree(bad, len, -1);
	}
	memcpy(bad, der, len);
	bad[len] = 0;
	agree(bad, len + 1, 0);
	free(bad);
	free(der);
	X509_REQ_free(req);
}

/*
 * D58: a P-256 key with explicit curve parameters, or with its point
 * compressed, is badCSR, though OpenSSL's parser takes both; the same
 * key written the usual way is read, and its SubjectPublicKeyInfo is the
 * key's one DER form (what i2d_PUBKEY writes).
 */
static void
csr__D58_explicit_or_compressed_ec_refused(void **state)
{
	static const char *const enc[][2] = {
		{ OSSL_PKEY_PARAM_EC_ENCODING, OSSL_PKEY_EC_ENCODING_EXPLICIT },
		{ OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
		    OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED },
	};
	struct acme_problem p = { 0 };
	struct acme_csr c;
	unsigned char *der, *want = NULL;
	size_t len = 0, i;
	char *b64;
	int lw;

	(void)state;
	for (i = 0; i < 2; i++) {
		EVP_PKEY *k = acme_key_generate(ACME_KEY_EC256, NULL);
		X509_REQ *req;

		assert_true(
		    EVP_PKEY_set_utf8_string_param(k, enc[i][0], enc[i][1]));
		req = raw_csr(k, NULL, "DNS:explicit.example");
		der = acme_csr_to_der(req, &len);
		/* OpenSSL's parser takes it... */
		X509_REQ_free(req);
		req = acme_csr_parse_der(der, len, &p);
		assert_non_null(req);
		X509_REQ_free(req);
		/* ...the CA does not. */
		b64 = acme_b64url_encode(der, len);
		assert_int_equal(acme_csr_read(b64, &c, &p), ACME_ERR_INVAL);
		assert_int_equal(p.type, ACME_PROB_BAD_CSR);
		assert_non_null(strstr(p.detail, "DER form"));
		acme_problem_release(&p);
		agree(der, len, 0);
		free(b64);
		free(der);
		EVP_PKEY_free(k);
	}
	/* The usual encoding is read; the SPKI kept is i2d_PUBKEY's. */
	for (i = 0; i < 2; i++) {
		EVP_PKEY *k =
		    i == 0 ? ec : acme_key_generate(ACME_KEY_RSA2048, NULL);
		X509_REQ *req = raw_csr(k, NULL, "DNS:usual.example");
		unsigned char *got = NULL;
		int lg;

		der = acme_csr_to_der(req, &len);
		b64 = acme_b64url_encode(der, len);
		assert_int_equal(acme_csr_read(b64, &c, &p), 0);
		lw = i2d_PUBKEY(k, &want);
		lg = i2d_X509_PUBKEY(c.spki, &got);
		assert_true(lw > 0 && lw == lg && memcmp(want, got, lw) == 0);
		OPENSSL_free(want);
		OPENSSL_free(got);
		want = NULL;
		acme_csr_release(&c);
		free(b64);
		free(der);
		X509_REQ_free(req);
		if (k != ec)
			EVP_PKEY_free(k);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(csr__round_trip_every_key_type),
		cmocka_unit_test(csr__key_info_reports_rsa_bits),
		cmocka_unit_test(csr__S_FIN_7_tampered_signature_rejected),
		cmocka_unit_test(csr__rejects_trailing_and_truncated_der),
		cmocka_unit_test(csr__S_TRN_7_rejects_padded_base64),
		cmocka_unit_test(csr__cn_not_in_san_is_an_identifier),
		cmocka_unit_test(csr__S_IDN_10_lowercases_and_dedupes),
		cmocka_unit_test(csr__S_FIN_2_rejects_other_san_types),
		cmocka_unit_test(csr__rejects_no_identifiers_and_bad_cn),
		cmocka_unit_test(csr__build_limits),
		cmocka_unit_test(csr__build_spki_matches_openssl_encoder),
		cmocka_unit_test(
		    csr__read_fast_agrees_with_openssl_every_key_type),
		cmocka_unit_test(csr__read_fast_other_shapes),
		cmocka_unit_test(csr__read_fast_agrees_on_damaged_der),
		cmocka_unit_test(csr__D58_explicit_or_compressed_ec_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
