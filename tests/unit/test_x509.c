/* SPDX-License-Identifier: ISC */
/* Unit tests for x509.c: chains and the fields ACME reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <anvil/err.h>
#include <anvil/key.h>
#include <anvil/x509.h>

#include "helpers.h"

#define NB 1700000000 /* 2023-11-14T22:13:20Z */
#define NA 1800000000 /* 2027-01-15T08:00:00Z */

static EVP_PKEY *ca_key, *leaf_key;
static X509 *ca, *leaf;

static void
ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(e);
	X509_add_ext(cert, e, -1);
	X509_EXTENSION_free(e);
}

static X509 *
make(EVP_PKEY *key, X509 *issuer, EVP_PKEY *ikey, const char *cn,
    const char *serial_hex, int with_aki)
{
	X509 *c = X509_new();
	X509_NAME *n = X509_NAME_new();
	BIGNUM *bn = NULL;
	time_t nb = NB, na = NA;

	X509_set_version(c, 2);
	BN_hex2bn(&bn, serial_hex);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c));
	BN_free(bn);
	X509_time_adj_ex(X509_getm_notBefore(c), 0, 0, &nb);
	X509_time_adj_ex(X509_getm_notAfter(c), 0, 0, &na);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(c, n);
	X509_set_issuer_name(c,
	    issuer != NULL ? X509_get_subject_name(issuer) : n);
	X509_NAME_free(n);
	X509_set_pubkey(c, key);
	ext(c, issuer != NULL ? issuer : c, NID_subject_key_identifier, "hash");
	if (with_aki)
		ext(c, issuer, NID_authority_key_identifier, "keyid:always");
	if (issuer != NULL)
		ext(c, issuer, NID_subject_alt_name,
		    "DNS:www.example.com,IP:192.0.2.1,DNS:Example.COM,"
		    "email:x@example.com,IP:2001:db8::5");
	assert_true(X509_sign(c, ikey != NULL ? ikey : key, EVP_sha256()) > 0);
	return c;
}

static int
setup(void **state)
{
	(void)state;
	ca_key = acme_key_generate(ACME_KEY_EC256, NULL);
	leaf_key = acme_key_generate(ACME_KEY_EC256, NULL);
	ca = make(ca_key, NULL, NULL, "test CA", "01", 0);
	leaf = make(leaf_key, ca, ca_key, "www.example.com",
	    "8A0000000000000000000000000000FF", 1);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(leaf_key);
	return 0;
}

static char *
pem_of(X509 *c)
{
	char *s = acme_x509_to_pem(c, NULL);

	assert_non_null(s);
	return s;
}

static char *
concat(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(n);

	snprintf(s, n, "%s%s%s", a, b, c);
	return s;
}

static void
x509__chain_in_order_with_text_between(void **state)
{
	struct acme_problem p = { 0 };
	char *l = pem_of(leaf), *c = pem_of(ca);
	char *text = concat(l, "some explanatory text\n", c);
	STACK_OF(X509) *chain = acme_x509_parse_chain(text, strlen(text), &p);

	(void)state;
	assert_non_null(chain);
	assert_int_equal(sk_X509_num(chain), 2);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 0), leaf), 0);
	assert_int_equal(X509_cmp(sk_X509_value(chain, 1), ca), 0);
	sk_X509_pop_free(chain, X509_free);
	free(text);
	free(l);
	free(c);
}

static void
x509__S_CERT_6_rejects_other_pem_blocks(void **state)
{
	struct acme_problem p = { 0 };
	char *l = pem_of(leaf);
	size_t klen = 0;
	char *k = acme_key_to_pem(leaf_key, &klen);
	char *text = concat(l, k, "");

	(void)state;
	assert_null(acme_x509_parse_chain(text, strlen(text), &p));
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	assert_non_null(strstr(p.detail, "not a certificate"));
	free(text);
	free(k);
	free(l);
}

static void
x509__rejects_corrupt_block(void **state)
{
	struct acme_problem p = { 0 };
	char *l = pem_of(leaf), *c = pem_of(ca), *text;
	char *mid;

	(void)state;
	/* Corrupt the base64 body of the second certificate. */
	mid = strstr(c, "\n") + 5;
	mid[0] = mid[0] == '!' ? '?' : '!';
	text = concat(l, c, "");
	assert_null(acme_x509_parse_chain(text, strlen(text), &p));
	assert_non_null(strstr(p.detail, "certificate 2"));
	free(text);
	free(l);
	free(c);
}

static void
x509__rejects_empty_and_too_long(void **state)
{
	struct acme_problem p = { 0 };
	char *one = pem_of(ca), *all;
	size_t n = strlen(one), i;

	(void)state;
	assert_null(acme_x509_parse_chain("", 0, &p));
	assert_null(acme_x509_parse_chain("no pem here", 11, &p));
	assert_non_null(strstr(p.detail, "no certificate"));
	all = malloc(n * (ACME_X509_MAX_CHAIN + 1) + 1);
	for (i = 0; i <= ACME_X509_MAX_CHAIN; i++)
		memcpy(all + i * n, one, n);
	all[n * (ACME_X509_MAX_CHAIN + 1)] = '\0';
	assert_null(acme_x509_parse_chain(all, strlen(all), &p));
	assert_non_null(strstr(p.detail, "more than"));
	{
		STACK_OF(X509) *ok =
		    acme_x509_parse_chain(all, n * ACME_X509_MAX_CHAIN, &p);

		assert_non_null(ok);
		assert_int_equal(sk_X509_num(ok), ACME_X509_MAX_CHAIN);
		sk_X509_pop_free(ok, X509_free);
	}
	free(all);
	free(one);
}

static void
x509__parse_one_pem_and_der(void **state)
{
	struct acme_problem p = { 0 };
	unsigned char *der = NULL;
	char *pem = pem_of(leaf);
	X509 *c;
	int n;

	(void)state;
	c = acme_x509_parse_one(pem, strlen(pem), &p);
	assert_non_null(c);
	assert_int_equal(X509_cmp(c, leaf), 0);
	X509_free(c);
	n = i2d_X509(leaf, &der);
	c = acme_x509_parse_one((const char *)der, (size_t)n, &p);
	assert_non_null(c);
	assert_int_equal(X509_cmp(c, leaf), 0);
	X509_free(c);
	/* Trailing bytes after the DER are refused. */
	assert_null(acme_x509_parse_one((const char *)der, (size_t)n - 1, &p));
	OPENSSL_free(der);
	free(pem);
}

/* A '-' byte early in DER (here in the serial) is not PEM. */
static void
x509__der_with_dash_bytes_is_der(void **state)
{
	struct acme_problem p = { 0 };
	unsigned char *der = NULL;
	X509 *c = make(leaf_key, ca, ca_key, "dash", "2D2D2D2D2D2D2D2D", 1),
	     *back;
	int n;

	(void)state;
	n = i2d_X509(c, &der);
	assert_non_null(memchr(der, '-', 32));
	back = acme_x509_parse_one((const char *)der, (size_t)n, &p);
	assert_non_null(back);
	assert_int_equal(X509_cmp(back, c), 0);
	X509_free(back);
	X509_free(c);
	OPENSSL_free(der);
}

static void
x509__sans_dns_and_ip_canonical(void **state)
{
	struct acme_ident *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(acme_x509_sans(leaf, &ids, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(ids[0].value, "www.example.com");
	assert_int_equal(ids[1].type, ACME_IDENT_IP);
	assert_string_equal(ids[1].value, "192.0.2.1");
	assert_string_equal(ids[2].value, "example.com");
	assert_string_equal(ids[3].value, "2001:db8::5");
	free(ids);
	assert_int_equal(acme_x509_sans(ca, &ids, &n), 0);
	assert_int_equal(n, 0);
	assert_null(ids);
}

static void
x509__serial_hex(void **state)
{
	char buf[64];
	X509 *c;

	(void)state;
	assert_int_equal(acme_x509_serial_hex(leaf, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "8a0000000000000000000000000000ff");
	assert_int_equal(acme_x509_serial_hex(ca, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1");
	assert_int_equal(acme_x509_serial_hex(leaf, buf, 8), ACME_ERR_LIMIT);
	c = make(leaf_key, ca, ca_key, "x", "00FF", 1);
	assert_int_equal(acme_x509_serial_hex(c, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ff");
	X509_free(c);
}

static void
x509__aki_matches_issuer_ski(void **state)
{
	unsigned char aki[64], ski[64];
	size_t alen = 0, slen = 0;

	(void)state;
	assert_int_equal(acme_x509_aki(leaf, aki, sizeof(aki), &alen), 0);
	assert_int_equal(acme_x509_ski(ca, ski, sizeof(ski), &slen), 0);
	assert_int_equal(alen, 20);
	assert_int_equal(alen, slen);
	assert_memory_equal(aki, ski, alen);
	assert_int_equal(acme_x509_aki(ca, aki, sizeof(aki), &alen),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(acme_x509_ski(ca, ski, 4, &slen), ACME_ERR_LIMIT);
}

static void
x509__validity(void **state)
{
	time_t nb = 0, na = 0;

	(void)state;
	assert_int_equal(acme_x509_validity(leaf, &nb, &na), 0);
	assert_int_equal(nb, NB);
	assert_int_equal(na, NA);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(x509__chain_in_order_with_text_between),
		cmocka_unit_test(x509__S_CERT_6_rejects_other_pem_blocks),
		cmocka_unit_test(x509__rejects_corrupt_block),
		cmocka_unit_test(x509__rejects_empty_and_too_long),
		cmocka_unit_test(x509__parse_one_pem_and_der),
		cmocka_unit_test(x509__der_with_dash_bytes_is_der),
		cmocka_unit_test(x509__sans_dns_and_ip_canonical),
		cmocka_unit_test(x509__serial_hex),
		cmocka_unit_test(x509__aki_matches_issuer_ski),
		cmocka_unit_test(x509__validity),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
