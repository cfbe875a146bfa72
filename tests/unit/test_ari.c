/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for ari.c: the RFC 9773 certID (the RFC's own example,
 * S-ARI-2), its strict parser, the window rules (S-ARI-5), the random
 * renewal time (S-ARI-6), Retry-After clamping (S-ARI-8) and RFC 3339.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <anvil/ari.h>
#include <anvil/err.h>

#include "helpers.h"

static const unsigned char rfc_aki[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46,
	0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01,
	0xC8, 0xD4 };
static const char rfc_id[] = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE";

/* S-ARI-2: RFC 9773 section 4.1's example from its raw parts. */
static void
ari__s_ari_2_rfc_vector(void **state)
{
	static const unsigned char serial[] = { 0x00, 0x87, 0x65, 0x43, 0x21 };
	char id[ACME_ARI_ID_SIZE];

	(void)state;
	assert_int_equal(acme_ari_cert_id_from(rfc_aki, sizeof(rfc_aki), serial,
			     sizeof(serial), id, sizeof(id)),
	    0);
	assert_string_equal(id, rfc_id);
	assert_int_not_equal(acme_ari_cert_id_from(rfc_aki, sizeof(rfc_aki),
				 serial, sizeof(serial), id, 20),
	    0);
}

/* The same example from a certificate carrying that AKI and serial. */
static void
ari__s_ari_2_from_certificate(void **state)
{
	X509 *cert = X509_new(), *parsed;
	EVP_PKEY *key;
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	unsigned char *der = NULL;
	const unsigned char *p;
	char id[ACME_ARI_ID_SIZE];
	int n;

	(void)state;
	assert_non_null(cert);
	assert_int_equal(ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert),
			     0x87654321),
	    1);
	akid->keyid = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(akid->keyid, rfc_aki, sizeof(rfc_aki));
	assert_int_equal(X509_add1_ext_i2d(cert, NID_authority_key_identifier,
			     akid, 0, X509V3_ADD_DEFAULT),
	    1);
	/* A complete, signed certificate so that it encodes. */
	key = EVP_EC_gen("P-256");
	assert_non_null(key);
	X509_set_version(cert, 2);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN",
	    MBSTRING_ASC, (const unsigned char *)"ari", -1, -1, 0);
	X509_set_issuer_name(cert, X509_get_subject_name(cert));
	X509_gmtime_adj(X509_getm_notBefore(cert), 0);
	X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
	X509_set_pubkey(cert, key);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	/* Through DER, as certificates arrive: OpenSSL caches the AKI
	 * of parsed certificates only. */
	assert_true((n = i2d_X509(cert, &der)) > 0);
	p = der;
	assert_non_null(parsed = d2i_X509(NULL, &p, n));
	assert_int_equal(acme_ari_cert_id(parsed, id, sizeof(id)), 0);
	assert_string_equal(id, rfc_id);
	AUTHORITY_KEYID_free(akid);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
	X509_free(parsed);
	X509_free(cert);
}

/* A certificate without an AKI has no certID. */
static void
ari__no_aki(void **state)
{
	X509 *cert = X509_new();
	char id[ACME_ARI_ID_SIZE];

	(void)state;
	ASN1_INTEGER_set(X509_get_serialNumber(cert), 5);
	assert_int_equal(acme_ari_cert_id(cert, id, sizeof(id)),
	    ACME_ERR_NOTFOUND);
	X509_free(cert);
}

static void
ari__parse_roundtrip(void **state)
{
	unsigned char aki[64];
	size_t akilen = 0;
	char hex[64];

	(void)state;
	assert_int_equal(acme_ari_cert_id_parse(rfc_id, aki, sizeof(aki),
			     &akilen, hex, sizeof(hex)),
	    0);
	assert_int_equal(akilen, sizeof(rfc_aki));
	assert_memory_equal(aki, rfc_aki, sizeof(rfc_aki));
	assert_string_equal(hex, "87654321");
	/* A small serial keeps one digit at least. */
	assert_int_equal(acme_ari_cert_id_parse("aYhb.AQ", aki, sizeof(aki),
			     &akilen, hex, sizeof(hex)),
	    0);
	assert_string_equal(hex, "1");
}

/* Not base64url, no dot, two dots, negative, non-minimal, too long. */
static void
ari__parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "aYhba4dGQEHhs3uEe6CuLN4ByNQ",
		"aYhba4dGQEHhs3uEe6CuLN4ByNQ.", ".AIdlQyE", "aYhb.AIdl.QyE",
		"aYhb.AIdlQyE=", "aYh+.AIdlQyE",
		"aYhb.h2VDIQ",                       /* 0x87...: negative */
		"aYhb.AAE",                          /* 00 01: not minimal */
		"aYhb.AQIDBAUGBwgJCgsMDQ4PEBESExQV", /* 21 octets, no 00 */
	};
	unsigned char aki[64];
	size_t akilen, i;
	char hex[64];

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(acme_ari_cert_id_parse(bad[i], aki,
				     sizeof(aki), &akilen, hex, sizeof(hex)),
		    ACME_ERR_INVAL);
}

static json_t *
window(const char *start, const char *end)
{
	return json_pack("{s:{s:s, s:s}, s:s}", "suggestedWindow", "start",
	    start, "end", end, "explanationURL", "https://ca.example/why");
}

/* S-ARI-4/5: a good window; end <= start, missing or bad times refused. */
static void
ari__s_ari_5_window(void **state)
{
	struct acme_problem p = { 0 };
	const char *why = NULL;
	time_t s = 0, e = 0;
	json_t *w;

	(void)state;
	w = window("2026-12-01T00:00:00Z", "2026-12-02T00:00:00+00:00");
	assert_int_equal(acme_ari_window(w, &s, &e, &why, &p), 0);
	assert_int_equal(e - s, 86400);
	assert_string_equal(why, "https://ca.example/why");
	json_decref(w);
	w = window("2026-12-02T00:00:00Z", "2026-12-02T00:00:00Z");
	assert_int_not_equal(acme_ari_window(w, &s, &e, &why, &p), 0);
	assert_non_null(strstr(p.detail, "ends before"));
	acme_problem_release(&p);
	json_decref(w);
	w = window("2026-12-03T00:00:00Z", "2026-12-02T00:00:00Z");
	assert_int_not_equal(acme_ari_window(w, &s, &e, &why, &p), 0);
	acme_problem_release(&p);
	json_decref(w);
	w = window("yesterday", "2026-12-02T00:00:00Z");
	assert_int_not_equal(acme_ari_window(w, &s, &e, &why, &p), 0);
	acme_problem_release(&p);
	json_decref(w);
	w = json_pack("{s:s}", "suggestedWindow", "soon");
	assert_int_not_equal(acme_ari_window(w, &s, &e, &why, &p), 0);
	acme_problem_release(&p);
	json_decref(w);
}

/* S-ARI-6: inside the window, spread over it; a past time is now. */
static void
ari__s_ari_6_pick(void **state)
{
	time_t lo = 1000000, hi = lo + 3600, t, min = hi, max = lo;
	uint64_t r;

	(void)state;
	for (r = 0; r < 5000; r++) {
		t = acme_ari_pick(lo, hi, 0, r * 2654435761u);
		assert_true(t >= lo && t < hi);
		if (t < min)
			min = t;
		if (t > max)
			max = t;
	}
	assert_true(min < lo + 60 && max > hi - 60);
	/* Window in the past: now.  Window open: never before now. */
	assert_int_equal(acme_ari_pick(lo, hi, hi + 5, 77), hi + 5);
	for (r = 0; r < 100; r++)
		assert_true(
		    acme_ari_pick(lo, hi, lo + 1800, r * 7919) >= lo + 1800);
}

/* S-ARI-8/10: Retry-After clamped to a minute .. a day; absent: 6 h. */
static void
ari__s_ari_8_retry_clamp(void **state)
{
	(void)state;
	assert_int_equal(acme_ari_retry(1), 60);
	assert_int_equal(acme_ari_retry(0), 60);
	assert_int_equal(acme_ari_retry(3600), 3600);
	assert_int_equal(acme_ari_retry(10 * 86400), 86400);
	assert_int_equal(acme_ari_retry(-1), 6 * 3600);
}

static void
ari__rfc3339(void **state)
{
	time_t t = 0;
	char buf[32];

	(void)state;
	assert_int_equal(acme_rfc3339_parse("2026-11-22T15:04:05Z", &t), 0);
	assert_string_equal(acme_rfc3339(buf, t), "2026-11-22T15:04:05Z");
	assert_int_equal(acme_rfc3339_parse("2026-11-22T17:04:05.25+02:00", &t),
	    0);
	assert_string_equal(acme_rfc3339(buf, t), "2026-11-22T15:04:05Z");
	assert_int_equal(acme_rfc3339_parse("2026-11-22 15:04:05Z", &t), -1);
	assert_int_equal(acme_rfc3339_parse("2026-11-22T15:04:05", &t), -1);
	assert_int_equal(acme_rfc3339_parse("2026-11-22T15:04:05Zx", &t), -1);
	assert_int_equal(acme_rfc3339_parse("2026-11-22T15:04:05+25:00", &t),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ari__s_ari_2_rfc_vector),
		cmocka_unit_test(ari__s_ari_2_from_certificate),
		cmocka_unit_test(ari__no_aki),
		cmocka_unit_test(ari__parse_roundtrip),
		cmocka_unit_test(ari__parse_rejects),
		cmocka_unit_test(ari__s_ari_5_window),
		cmocka_unit_test(ari__s_ari_6_pick),
		cmocka_unit_test(ari__s_ari_8_retry_clamp),
		cmocka_unit_test(ari__rfc3339),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
