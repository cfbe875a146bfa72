/* SPDX-License-Identifier: ISC */
/* Unit tests for identifier and key policy (S-IDN-3/4/9/10, S-FIN). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/key.h>

#include <openssl/ec.h>

#include "policy/policy.h"
#include "policy/ratelimit.h"

#include "../helpers.h"

static struct conf cfg;

static int
setup(void **state)
{
	(void)state;
	conf_defaults(&cfg, "/tmp");
	return 0;
}

static int
run(const char *json, struct acme_ident **ids, size_t *n,
    struct acme_problem *p)
{
	json_t *arr = json_loads(json, 0, NULL);
	int rc;

	assert_non_null(arr);
	rc = policy_identifiers(&cfg, arr, ids, n, p);
	json_decref(arr);
	return rc;
}

/* Loads a configuration file with body json; 0 or the error. */
static int
load_conf(const char *json, struct conf *c, struct acme_problem *p)
{
	char *dir = th_tmpdir(), path[512];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/anvil-ca.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs(json, f);
	fclose(f);
	rc = conf_load(c, path, p);
	th_rmtree(dir);
	free(dir);
	return rc;
}

static int
one(const char *type, const char *value, struct acme_problem *p)
{
	char json[512];
	struct acme_ident *ids = NULL;
	size_t n = 0;
	int rc;

	snprintf(json, sizeof(json), "[{\"type\":\"%s\",\"value\":\"%s\"}]",
	    type, value);
	rc = run(json, &ids, &n, p);
	free(ids);
	return rc;
}

static void
policy__D72_allowed_and_denied_domains(void **state)
{
	struct acme_problem p = { 0 };
	static const char *const ok[] = { "corp.example", "a.corp.example",
		"*.corp.example", "A.B.Corp.Example", "lab.example" };
	static const char *const no[] = { "xcorp.example", "other.example",
		"secret.corp.example", "x.secret.corp.example",
		"*.secret.corp.example" };
	size_t i;

	(void)state;
	assert_int_equal(load_conf("{\"allowed_domains\": [\"corp.example\", "
				   "\"lab.example\"], \"denied_domains\": "
				   "[\"secret.corp.example\"]}",
			     &cfg, &p),
	    0);
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_int_equal(one("dns", ok[i], &p), 0);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		assert_int_equal(one("dns", no[i], &p), ACME_ERR_INVAL);
		assert_int_equal(p.type, ACME_PROB_REJECTED_IDENTIFIER);
		assert_non_null(strstr(p.sub[0].detail, "allowed_domains"));
		acme_problem_release(&p);
	}
	/* The lists are of DNS names; IP identifiers keep their rules. */
	assert_int_equal(one("ip", "93.184.216.34", &p), 0);
	/* Not a list of names: refused like any bad key. */
	assert_int_equal(load_conf("{\"denied_domains\": \"x.example\"}", &cfg,
			     &p),
	    ACME_ERR_INVAL);
	assert_string_equal(p.detail,
	    "config key denied_domains must be an array of strings");
	acme_problem_release(&p);
	assert_int_equal(load_conf("{\"allowed_domains\": [\"*.x.example\"]}",
			     &cfg, &p),
	    ACME_ERR_INVAL);
	assert_string_equal(p.detail,
	    "config key allowed_domains: \"*.x.example\" is not a DNS name");
	acme_problem_release(&p);
	conf_defaults(&cfg, "/tmp");
}

static void
policy__D72_validation_ranges_without_loopback(void **state)
{
	struct acme_problem p = { 0 };

	(void)state;
	/* The default: no private address at all. */
	assert_int_equal(conf_addr_allowed(&cfg, "10.1.2.3"), 0);
	assert_int_equal(conf_addr_allowed(&cfg, "93.184.216.34"), 1);
	assert_int_equal(load_conf("{\"validation_allowed_ranges\": "
				   "[\"10.0.0.0/8\", \"fd00:1::/32\", "
				   "\"192.168.7.0/25\"]}",
			     &cfg, &p),
	    0);
	assert_int_equal(conf_addr_allowed(&cfg, "10.1.2.3"), 1);
	assert_int_equal(conf_addr_allowed(&cfg, "10.255.255.255"), 1);
	assert_int_equal(conf_addr_allowed(&cfg, "fd00:1:2::3"), 1);
	assert_int_equal(conf_addr_allowed(&cfg, "192.168.7.127"), 1);
	assert_int_equal(conf_addr_allowed(&cfg, "192.168.7.128"), 0);
	assert_int_equal(conf_addr_allowed(&cfg, "fd00:2::1"), 0);
	assert_int_equal(conf_addr_allowed(&cfg, "127.0.0.1"), 0);
	assert_int_equal(conf_addr_allowed(&cfg, "::1"), 0);
	assert_int_equal(conf_addr_allowed(&cfg, "172.16.0.1"), 0);
	/* IP identifiers in the ranges may be certified; loopback not. */
	assert_int_equal(one("ip", "10.9.8.7", &p), 0);
	assert_int_equal(one("ip", "127.0.0.1", &p), ACME_ERR_INVAL);
	assert_int_equal(p.type, ACME_PROB_REJECTED_IDENTIFIER);
	acme_problem_release(&p);
	assert_int_equal(one("dns", "localhost", &p), ACME_ERR_INVAL);
	acme_problem_release(&p);
	assert_int_equal(load_conf("{\"validation_allowed_ranges\": "
				   "[\"10.0.0.0/33\"]}",
			     &cfg, &p),
	    ACME_ERR_INVAL);
	assert_string_equal(p.detail,
	    "config key validation_allowed_ranges: \"10.0.0.0/33\" is not "
	    "an address block such as 10.0.0.0/8 (at most 16)");
	acme_problem_release(&p);
	conf_defaults(&cfg, "/tmp");
}

static void
policy__sorted_deduplicated(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(run("[{\"type\":\"dns\",\"value\":\"B.example.com\"},"
			     "{\"type\":\"ip\",\"value\":\"93.184.216.34\"},"
			     "{\"type\":\"dns\",\"value\":\"a.example.com\"},"
			     "{\"type\":\"dns\",\"value\":\"b.EXAMPLE.com\"}]",
			     &ids, &n, &p),
	    0);
	assert_int_equal(n, 3);
	assert_string_equal(ids[0].value, "a.example.com");
	assert_string_equal(ids[1].value, "b.example.com");
	assert_string_equal(ids[2].value, "93.184.216.34");
	free(ids);
}

static void
policy__S_IDN_3_every_refusal_is_a_subproblem(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(run("[{\"type\":\"email\",\"value\":\"a@b.c\"},"
			     "{\"type\":\"dns\",\"value\":\"ok.example.com\"},"
			     "{\"type\":\"dns\",\"value\":\"bad..example\"}]",
			     &ids, &n, &p),
	    ACME_ERR_INVAL);
	assert_null(ids);
	assert_int_equal(p.type, ACME_PROB_UNSUPPORTED_IDENTIFIER);
	assert_int_equal(p.nsub, 2);
	assert_int_equal(p.sub[0].type, ACME_PROB_UNSUPPORTED_IDENTIFIER);
	assert_string_equal(p.sub[0].identifier.value, "a@b.c");
	assert_int_equal(p.sub[1].type, ACME_PROB_REJECTED_IDENTIFIER);
	acme_problem_release(&p);
}

static void
policy__S_IDN_9_internal_names_need_the_switch(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(run("[{\"type\":\"dns\",\"value\":\"localhost\"}]",
			     &ids, &n, &p),
	    ACME_ERR_INVAL);
	acme_problem_release(&p);
	cfg.allow_private_addresses = 1;
	assert_int_equal(run("[{\"type\":\"dns\",\"value\":\"localhost\"}]",
			     &ids, &n, &p),
	    0);
	cfg.allow_private_addresses = 0;
	free(ids);
	/* An address spelled as a DNS name is never one. */
	assert_int_equal(run("[{\"type\":\"dns\",\"value\":\"10.0.0.1\"}]",
			     &ids, &n, &p),
	    ACME_ERR_INVAL);
	acme_problem_release(&p);
}

/* One IP identifier: 0 when accepted, else the top-level problem type. */
static int
ip_verdict(const char *addr)
{
	struct acme_problem p = { 0 };
	struct acme_ident *ids = NULL;
	char json[200];
	size_t n = 0;
	int rc;

	snprintf(json, sizeof(json), "[{\"type\":\"ip\",\"value\":\"%s\"}]",
	    addr);
	if (run(json, &ids, &n, &p) == 0) {
		free(ids);
		return 0;
	}
	assert_null(ids);
	assert_int_equal(p.nsub, 1);
	assert_int_equal(p.sub[0].type, ACME_PROB_REJECTED_IDENTIFIER);
	rc = (int)p.type;
	acme_problem_release(&p);
	return rc;
}

/* Reserved addresses (D52) are refused unless in lab mode (S-IP-8). */
static void
policy__S_IP_8_reserved_addresses_need_the_switch(void **state)
{
	static const char *const reserved[] = { "127.0.0.1", "10.0.0.1",
		"100.64.0.1", "169.254.169.254", "192.0.0.8", "192.0.2.1",
		"198.18.0.1", "198.51.100.1", "203.0.113.1", "224.0.0.1",
		"255.255.255.255", "::1", "::", "::ffff:127.0.0.1",
		"::127.0.0.1", "64:ff9b::a00:1", "64:ff9b:1::1",
		"2002:a00:1::1", "2001::1", "2001:db8::1", "3fff::1", "fc00::1",
		"fe80::1", "fec0::1", "ff02::1", "100::1", "5f00::1" };
	static const char *const public[] = { "8.8.8.8", "93.184.216.34",
		"2606:4700:4700::1111", "64:ff9b::808:808", "2002:808:808::1" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		assert_int_equal(ip_verdict(reserved[i]),
		    ACME_PROB_REJECTED_IDENTIFIER);
	for (i = 0; i < sizeof(public) / sizeof(public[0]); i++)
		assert_int_equal(ip_verdict(public[i]), 0);
	cfg.allow_private_addresses = 1;
	for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		assert_int_equal(ip_verdict(reserved[i]), 0);
	cfg.allow_private_addresses = 0;
}

static void
policy__wildcards(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(run("[{\"type\":\"dns\",\"value\":\"*.example.com\"}]",
			     &ids, &n, &p),
	    0);
	free(ids);
	assert_int_equal(run("[{\"type\":\"dns\",\"value\":\"*.com\"}]", &ids,
			     &n, &p),
	    ACME_ERR_INVAL);
	acme_problem_release(&p);
	cfg.allow_wildcards = 0;
	assert_int_equal(run("[{\"type\":\"dns\",\"value\":\"*.example.com\"}]",
			     &ids, &n, &p),
	    ACME_ERR_INVAL);
	cfg.allow_wildcards = 1;
	acme_problem_release(&p);
}

static void
policy__limits(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident *ids = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(run("[]", &ids, &n, &p), ACME_ERR_INVAL);
	cfg.max_names = 1;
	assert_int_equal(run("[{\"type\":\"dns\",\"value\":\"a.example.com\"},"
			     "{\"type\":\"dns\",\"value\":\"b.example.com\"}]",
			     &ids, &n, &p),
	    ACME_ERR_INVAL);
	cfg.max_names = 100;
	cfg.allow_ip_identifiers = 0;
	assert_int_equal(run("[{\"type\":\"ip\",\"value\":\"192.0.2.1\"}]",
			     &ids, &n, &p),
	    ACME_ERR_INVAL);
	cfg.allow_ip_identifiers = 1;
	acme_problem_release(&p);
}

/*
 * S-IDN-2: an "xn--" label must be valid Punycode of an IDNA2008 label:
 * bad Punycode, one that decodes to ASCII only, a disallowed code point
 * (an emoji) are refused, each naming its label; real IDNs pass.
 */
static void
policy__S_IDN_2_xn_labels_must_be_a_labels(void **state)
{
	static const char *const bad[] = { "xn--zz.example", "a.xn--x.example",
		"xn--ls8h.example", "*.xn--ls8h.example",
		"xn--bcher-kva0.example" };
	static const char *const good[] = { "xn--bcher-kva.example",
		"*.xn--mnchen-3ya.example", "a.xn--80ak6aa92e.example",
		"xnxn--a.example", "ab--c.example" };
	struct acme_problem p = { 0 };
	struct acme_ident *ids = NULL;
	char json[256];
	size_t n = 0, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json),
		    "[{\"type\":\"dns\",\"value\":\"%s\"}]", bad[i]);
		assert_int_equal(run(json, &ids, &n, &p), ACME_ERR_INVAL);
		assert_int_equal(p.type, ACME_PROB_REJECTED_IDENTIFIER);
		assert_int_equal(p.nsub, 1);
		if (strstr(p.detail, "IDNA2008") == NULL)
			fail_msg("%s: %s", bad[i], p.detail);
		acme_problem_release(&p);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(json, sizeof(json),
		    "[{\"type\":\"dns\",\"value\":\"%s\"}]", good[i]);
		if (run(json, &ids, &n, &p) != 0)
			fail_msg("%s refused: %s", good[i], p.detail);
		free(ids);
		ids = NULL;
	}
}

static void
policy__cert_keys(void **state)
{
	struct acme_problem p = { 0 };
	EVP_PKEY *ec = acme_key_generate(ACME_KEY_EC256, NULL);
	EVP_PKEY *ed = acme_key_generate(ACME_KEY_ED25519, NULL);
	EVP_PKEY *p521 = EVP_EC_gen("P-521");

	(void)state;
	assert_int_equal(policy_cert_key(&cfg, ec, &p), 0);
	assert_int_equal(policy_cert_key(&cfg, ed, &p), ACME_ERR_INVAL);
	assert_int_equal(p.type, ACME_PROB_BAD_CSR);
	cfg.allow_ed25519_certs = 1;
	assert_int_equal(policy_cert_key(&cfg, ed, &p), 0);
	assert_int_equal(policy_cert_key(&cfg, p521, &p), ACME_ERR_INVAL);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(p521);
}

/* D51: bucket keys: IPv6 by /48, IPv4 (and IPv4-mapped) whole. */
static void
ratelimit__keys(void **state)
{
	struct acme_ident a[2] = { { ACME_IDENT_DNS, "a.example" },
		{ ACME_IDENT_DNS, "b.example" } };
	struct acme_ident ip = { ACME_IDENT_IP, "a.example" };
	char k1[80], k2[80];

	(void)state;
	assert_int_equal(rl_key_ip("2001:db8:1:2::5", k1, sizeof(k1)), 0);
	assert_string_equal(k1, "ip:2001:db8:1::/48");
	assert_int_equal(rl_key_ip("2001:db8:1:ffff::9", k2, sizeof(k2)), 0);
	assert_string_equal(k1, k2);
	assert_int_equal(rl_key_ip("192.0.2.7", k1, sizeof(k1)), 0);
	assert_string_equal(k1, "ip:192.0.2.7");
	assert_int_equal(rl_key_ip("::ffff:192.0.2.7", k2, sizeof(k2)), 0);
	assert_string_equal(k2, "ip:192.0.2.7");
	assert_int_equal(rl_key_ip("192.0.2.7", k1, 8), -1);
	/* A set's key: the same set the same key, another type another. */
	assert_int_equal(rl_key_ident_set(a, 2, k1, sizeof(k1)), 0);
	assert_int_equal(strlen(k1), 4 + 64);
	assert_int_equal(rl_key_ident_set(a, 1, k2, sizeof(k2)), 0);
	assert_string_not_equal(k1, k2);
	assert_int_equal(rl_key_ident_set(&ip, 1, k1, sizeof(k1)), 0);
	assert_string_not_equal(k1, k2);
}

/* D51: "rate_limits" read and written back; refusals name the key. */
static void
ratelimit__config(void **state)
{
	struct acme_problem p = { 0 };
	struct rl_set set;
	json_t *o = json_loads("{\"new_orders_per_account\":{\"count\":300,"
			       "\"window\":10800}}",
		   0, NULL),
	       *back;

	(void)state;
	assert_int_equal(rl_set_load(&set, o, &p), 0);
	assert_int_equal(set.l[RL_NEW_ORDERS_PER_ACCOUNT].count, 300);
	assert_int_equal(set.l[RL_NEW_ORDERS_PER_ACCOUNT].window, 10800);
	assert_int_equal(set.l[RL_NEW_ACCOUNTS_PER_IP].count, 0);
	back = rl_set_json(&set);
	assert_true(json_equal(o, back));
	json_decref(back);
	json_decref(o);
	o = json_loads("{\"certificates_per_identifier_set\":{\"count\":5,"
		       "\"window\":99999999}}",
	    0, NULL);
	assert_int_not_equal(rl_set_load(&set, o, &p), 0);
	assert_non_null(strstr(p.detail, "window"));
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy__sorted_deduplicated),
		cmocka_unit_test(ratelimit__keys),
		cmocka_unit_test(ratelimit__config),
		cmocka_unit_test(policy__S_IDN_3_every_refusal_is_a_subproblem),
		cmocka_unit_test(
		    policy__S_IDN_9_internal_names_need_the_switch),
		cmocka_unit_test(
		    policy__S_IP_8_reserved_addresses_need_the_switch),
		cmocka_unit_test(policy__wildcards),
		cmocka_unit_test(policy__limits),
		cmocka_unit_test(policy__S_IDN_2_xn_labels_must_be_a_labels),
		cmocka_unit_test(policy__cert_keys),
		cmocka_unit_test(policy__D72_allowed_and_denied_domains),
		cmocka_unit_test(
		    policy__D72_validation_ranges_without_loopback),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
