/* SPDX-License-Identifier: ISC */
/* Unit tests for ident.c: DNS and IP identifier syntax and canonical form. */
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/ident.h>

#include "helpers.h"

static void
ident__dns_lowercased(void **state)
{
	struct acme_ident id;

	(void)state;
	assert_int_equal(acme_ident_set(&id, "dns", "WWW.Example.COM"), 0);
	assert_int_equal(id.type, ACME_IDENT_DNS);
	assert_string_equal(id.value, "www.example.com");
	assert_string_equal(acme_ident_type_name(id.type), "dns");
}

static void
ident__wildcard_only_as_first_label(void **state)
{
	struct acme_ident id;

	(void)state;
	assert_int_equal(acme_ident_set(&id, "dns", "*.example.com"), 0);
	assert_string_equal(id.value, "*.example.com");
	assert_int_equal(acme_ident_set(&id, "dns", "www.*.example.com"),
	    ACME_ERR_INVAL);
	assert_int_equal(acme_ident_set(&id, "dns", "*"), ACME_ERR_INVAL);
	assert_int_equal(acme_ident_set(&id, "dns", "*."), ACME_ERR_INVAL);
	assert_int_equal(acme_ident_set(&id, "dns", "*.*.example.com"),
	    ACME_ERR_INVAL);
	assert_int_equal(acme_ident_set(&id, "dns", "w*.example.com"),
	    ACME_ERR_INVAL);
}

static void
ident__dns_rejects_bad_syntax(void **state)
{
	static const char *const bad[] = {
		"",
		".",
		"example.com.",
		".example.com",
		"a..b",
		"-a.com",
		"a-.com",
		"a.-b.com",
		"exa mple.com",
		"under_score.com",
		"caf\xc3\xa9.com",
		"a/b.com",
		"a.com\n",
	};
	struct acme_ident id;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (acme_ident_set(&id, "dns", bad[i]) != ACME_ERR_INVAL)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
ident__dns_length_limits(void **state)
{
	struct acme_ident id;
	char name[300];

	(void)state;
	/* A 63-byte label is fine, 64 is not. */
	memset(name, 'a', 63);
	memcpy(name + 63, ".com", 5);
	assert_int_equal(acme_ident_set(&id, "dns", name), 0);
	memset(name, 'a', 64);
	memcpy(name + 64, ".com", 5);
	assert_int_equal(acme_ident_set(&id, "dns", name), ACME_ERR_INVAL);
	/* 253 bytes in all is the longest name. */
	for (size_t i = 0; i < 253; i++)
		name[i] = (i % 2) ? '.' : 'a';
	name[253] = '\0';
	assert_int_equal(acme_ident_set(&id, "dns", name), 0);
	name[253] = '.';
	name[254] = 'a';
	name[255] = '\0';
	assert_int_equal(acme_ident_set(&id, "dns", name), ACME_ERR_INVAL);
}

static void
ident__ip_canonical(void **state)
{
	struct acme_ident id;

	(void)state;
	assert_int_equal(acme_ident_set(&id, "ip", "192.0.2.1"), 0);
	assert_int_equal(id.type, ACME_IDENT_IP);
	assert_string_equal(id.value, "192.0.2.1");
	assert_int_equal(acme_ident_set(&id, "ip", "2001:DB8:0:0:0:0:0:1"), 0);
	assert_string_equal(id.value, "2001:db8::1");
	assert_string_equal(acme_ident_type_name(id.type), "ip");
	assert_int_equal(acme_ident_set(&id, "ip", "example.com"),
	    ACME_ERR_INVAL);
	assert_int_equal(acme_ident_set(&id, "ip", "1.2.3"), ACME_ERR_INVAL);
	assert_int_equal(acme_ident_set(&id, "ip", "1.2.3.4/24"),
	    ACME_ERR_INVAL);
}

static void
ident__unknown_type_and_null(void **state)
{
	struct acme_ident id;

	(void)state;
	assert_int_equal(acme_ident_set(&id, "email", "a@b.c"), ACME_ERR_INVAL);
	assert_int_equal(acme_ident_set(&id, NULL, "a.b"), ACME_ERR_INVAL);
	assert_int_equal(acme_ident_set(&id, "dns", NULL), ACME_ERR_INVAL);
	assert_int_equal(acme_ident_from_name(&id, NULL), ACME_ERR_INVAL);
}

static void
ident__failed_set_leaves_id_unchanged(void **state)
{
	struct acme_ident id;

	(void)state;
	assert_int_equal(acme_ident_set(&id, "dns", "keep.example"), 0);
	assert_int_equal(acme_ident_set(&id, "dns", "bad..example"),
	    ACME_ERR_INVAL);
	assert_string_equal(id.value, "keep.example");
}

static void
ident__from_name_classifies(void **state)
{
	struct acme_ident id;

	(void)state;
	assert_int_equal(acme_ident_from_name(&id, "::1"), 0);
	assert_int_equal(id.type, ACME_IDENT_IP);
	assert_int_equal(acme_ident_from_name(&id, "127.0.0.1"), 0);
	assert_int_equal(id.type, ACME_IDENT_IP);
	assert_int_equal(acme_ident_from_name(&id, "LocalHost"), 0);
	assert_int_equal(id.type, ACME_IDENT_DNS);
	assert_string_equal(id.value, "localhost");
}

static void
ident__compare_and_sort(void **state)
{
	struct acme_ident v[3];

	(void)state;
	acme_ident_set(&v[0], "ip", "10.0.0.1");
	acme_ident_set(&v[1], "dns", "b.example");
	acme_ident_set(&v[2], "dns", "a.example");
	qsort(v, 3, sizeof(v[0]), acme_ident_cmp);
	assert_string_equal(v[0].value, "a.example");
	assert_string_equal(v[1].value, "b.example");
	assert_string_equal(v[2].value, "10.0.0.1");
	assert_true(acme_ident_equal(&v[0], &v[0]));
	assert_false(acme_ident_equal(&v[0], &v[1]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ident__dns_lowercased),
		cmocka_unit_test(ident__wildcard_only_as_first_label),
		cmocka_unit_test(ident__dns_rejects_bad_syntax),
		cmocka_unit_test(ident__dns_length_limits),
		cmocka_unit_test(ident__ip_canonical),
		cmocka_unit_test(ident__unknown_type_and_null),
		cmocka_unit_test(ident__failed_set_leaves_id_unchanged),
		cmocka_unit_test(ident__from_name_classifies),
		cmocka_unit_test(ident__compare_and_sort),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
