/* SPDX-License-Identifier: ISC */
/* Unit tests for csr.c: build, strict parse, identifier extraction. */
#include <stdlib.h>
#include <string.h>

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
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
