/* SPDX-License-Identifier: ISC */
/*
 * Certificate profiles (ca/profile.c): the built-in set, loading from and
 * saving to anvil-ca.json, the CA-wide bounds, and the newOrder checks
 * (S-PROF-1, S-PROF-4, S-PROF-6).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/json.h>

#include "conf.h"
#include "ca/profile.h"

#include "../helpers.h"

static const struct profile_bounds wide = {
	.cert_lifetime = 398 * 86400,
	.max_names = 100,
	.order_lifetime = 30 * 86400,
	.authz_lifetime = 30 * 86400,
	.valid_authz_lifetime = 30 * 86400,
};

static void
profile__builtin_set_follows_lets_encrypt(void **state)
{
	struct profile_set set;
	const struct profile *c, *t, *s;

	(void)state;
	profile_defaults(&set);
	assert_int_equal(set.n, 3);
	assert_string_equal(set.default_name, "classic");
	c = profile_find(&set, "classic");
	t = profile_find(&set, "tlsserver");
	s = profile_find(&set, "shortlived");
	assert_non_null(c);
	assert_non_null(t);
	assert_non_null(s);
	assert_ptr_equal(profile_find(&set, ""), c);
	assert_ptr_equal(profile_find(&set, NULL), c);
	assert_null(profile_find(&set, "nope"));
	assert_int_equal(c->validity, 90 * 86400);
	assert_true(c->common_name && c->subject_key_id && c->key_encipherment);
	assert_int_equal(c->identifiers, PROFILE_IDENT_DNS);
	assert_int_equal(c->max_names, 100);
	assert_int_equal(c->authz_reuse, 30 * 86400);
	assert_int_equal(t->validity, 45 * 86400);
	assert_false(
	    t->common_name || t->subject_key_id || t->key_encipherment);
	assert_int_equal(t->max_names, 25);
	assert_int_equal(t->order_lifetime, 8 * 3600);
	assert_int_equal(t->authz_lifetime, 3600);
	assert_int_equal(t->authz_reuse, 7 * 3600);
	assert_int_equal(s->validity, 160 * 3600);
	assert_int_equal(s->identifiers, PROFILE_IDENT_DNS | PROFILE_IDENT_IP);
	assert_false(s->common_name);
	assert_int_equal(profile_set_check(&set, &wide, NULL), 0);
}

static json_t *
parse(const char *text)
{
	json_t *j = acme_json_parse(text, strlen(text), ACME_JSON_OBJECT, NULL);

	assert_non_null(j);
	return j;
}

static void
profile__load_takes_classic_for_missing_keys(void **state)
{
	struct profile_set set;
	const struct profile *p;
	json_t *j =
	    parse("{\"short\":{\"description\":\"d\",\"validity\":"
		  "7200,\"common_name\":false,\"identifiers\":[\"ip\"],"
		  "\"retired\":true},\"main\":{\"description\":\"m\"}}");

	(void)state;
	profile_defaults(&set);
	assert_int_equal(profile_set_load(&set, j, NULL), 0);
	assert_int_equal(set.n, 2);
	assert_true(set.configured);
	p = profile_find(&set, "short");
	assert_non_null(p);
	assert_string_equal(p->description, "d");
	assert_int_equal(p->validity, 7200);
	assert_false(p->common_name);
	assert_true(p->subject_key_id); /* from classic */
	assert_int_equal(p->identifiers, PROFILE_IDENT_IP);
	assert_true(p->retired);
	assert_null(profile_find(&set, "classic"));
	/* The default named classic, which is gone. */
	assert_int_not_equal(profile_set_check(&set, &wide, NULL), 0);
	snprintf(set.default_name, sizeof(set.default_name), "short");
	assert_int_not_equal(profile_set_check(&set, &wide, NULL), 0);
	snprintf(set.default_name, sizeof(set.default_name), "main");
	assert_int_equal(profile_set_check(&set, &wide, NULL), 0);
	json_decref(j);
}

static void
profile__load_rejects_bad_definitions(void **state)
{
	static const char *const bad[] = {
		"{}",
		"{\"x\":{}}",
		"{\"x\":{\"description\":\"\"}}",
		"{\"x\":{\"description\":\"d\",\"validity\":60}}",
		"{\"x\":{\"description\":\"d\",\"validity\":\"1\"}}",
		"{\"x\":{\"description\":\"d\",\"retired\":1}}",
		"{\"x\":{\"description\":\"d\",\"identifiers\":[]}}",
		"{\"x\":{\"description\":\"d\",\"identifiers\":[\"email\"]}}",
		"{\"x\":{\"description\":\"d\",\"colour\":\"red\"}}",
		"{\"bad name\":{\"description\":\"d\"}}",
		"{\"x\":5}",
	};
	struct acme_problem p = { 0 };
	struct profile_set set;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *j = parse(bad[i]);

		profile_defaults(&set);
		assert_int_not_equal(profile_set_load(&set, j, &p), 0);
		assert_int_equal(p.type, ACME_PROB_MALFORMED);
		assert_true(p.detail[0] != '\0');
		acme_problem_release(&p);
		json_decref(j);
	}
}

/*
 * Configured profiles beyond a CA-wide bound are refused; the built-in
 * set is lowered to the bounds, as files without profiles expect.
 */
static void
profile__bounds_refuse_configured_and_lower_builtin(void **state)
{
	struct profile_bounds tight = wide;
	struct acme_problem p = { 0 };
	struct profile_set set;
	json_t *j = parse("{\"classic\":{\"description\":\"c\"}}");

	(void)state;
	tight.cert_lifetime = 30 * 86400;
	tight.max_names = 10;
	profile_defaults(&set);
	assert_int_equal(profile_set_check(&set, &tight, NULL), 0);
	assert_int_equal(profile_find(&set, "classic")->validity, 30 * 86400);
	assert_int_equal(profile_find(&set, "shortlived")->validity,
	    160 * 3600);
	assert_int_equal(profile_find(&set, "tlsserver")->max_names, 10);
	profile_defaults(&set);
	assert_int_equal(profile_set_load(&set, j, NULL), 0);
	assert_int_not_equal(profile_set_check(&set, &tight, &p), 0);
	assert_non_null(strstr(p.detail, "cert_lifetime"));
	acme_problem_release(&p);
	json_decref(j);
}

static void
profile__for_order_default_unknown_retired(void **state)
{
	struct acme_problem p = { 0 };
	struct profile_set set;
	const struct profile *got = NULL;

	(void)state;
	profile_defaults(&set);
	set.p[1].retired = 1; /* tlsserver */
	assert_int_equal(profile_for_order(&set, NULL, &got, NULL), 0);
	assert_string_equal(got->name, "classic");
	assert_int_equal(profile_for_order(&set, "shortlived", &got, NULL), 0);
	assert_string_equal(got->name, "shortlived");
	assert_int_not_equal(profile_for_order(&set, "nope", &got, &p), 0);
	assert_null(got);
	assert_int_equal(p.type, ACME_PROB_INVALID_PROFILE);
	assert_non_null(strstr(p.detail, "classic, shortlived"));
	assert_null(strstr(p.detail, "tlsserver"));
	acme_problem_release(&p);
	assert_int_not_equal(profile_for_order(&set, "tlsserver", &got, &p), 0);
	assert_int_equal(p.type, ACME_PROB_INVALID_PROFILE);
	acme_problem_release(&p);
	/* "" is not a name a client may send. */
	assert_int_not_equal(profile_for_order(&set, "", &got, &p), 0);
	assert_int_equal(p.type, ACME_PROB_INVALID_PROFILE);
	acme_problem_release(&p);
}

static void
profile__identifiers_must_fit(void **state)
{
	struct acme_problem p = { 0 };
	struct profile_set set;
	struct acme_ident ids[26];
	size_t i;

	(void)state;
	profile_defaults(&set);
	assert_int_equal(acme_ident_set(&ids[0], "dns", "a.example.com"), 0);
	assert_int_equal(acme_ident_set(&ids[1], "ip", "192.0.2.1"), 0);
	assert_int_not_equal(profile_check_identifiers(profile_find(&set,
							   "classic"),
				 ids, 2, &p),
	    0);
	assert_int_equal(p.type, ACME_PROB_INVALID_PROFILE);
	assert_non_null(strstr(p.detail, "192.0.2.1"));
	assert_int_equal(p.nsub, 1);
	assert_int_equal(p.sub[0].type, ACME_PROB_REJECTED_IDENTIFIER);
	assert_string_equal(p.sub[0].identifier.value, "192.0.2.1");
	acme_problem_release(&p);
	assert_int_equal(profile_check_identifiers(profile_find(&set,
						       "shortlived"),
			     ids, 2, NULL),
	    0);
	for (i = 0; i < 26; i++) {
		char name[64];

		snprintf(name, sizeof(name), "n%zu.example.com", i);
		assert_int_equal(acme_ident_set(&ids[i], "dns", name), 0);
	}
	assert_int_not_equal(profile_check_identifiers(profile_find(&set,
							   "tlsserver"),
				 ids, 26, &p),
	    0);
	assert_int_equal(p.type, ACME_PROB_INVALID_PROFILE);
	assert_non_null(strstr(p.detail, "at most 25"));
	acme_problem_release(&p);
	assert_int_equal(profile_check_identifiers(profile_find(&set,
						       "classic"),
			     ids, 26, NULL),
	    0);
}

static void
profile__meta_leaves_out_retired(void **state)
{
	struct profile_set set;
	json_t *m;

	(void)state;
	profile_defaults(&set);
	set.p[2].retired = 1; /* shortlived */
	m = profile_set_meta(&set);
	assert_int_equal(json_object_size(m), 2);
	assert_string_equal(json_string_value(json_object_get(m, "classic")),
	    set.p[0].description);
	assert_non_null(json_object_get(m, "tlsserver"));
	assert_null(json_object_get(m, "shortlived"));
	json_decref(m);
}

/* anvil-ca init writes the profiles; serve reads them back unchanged. */
static void
profile__conf_round_trip(void **state)
{
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), path[4096];
	struct conf a, b;
	size_t i;

	(void)state;
	conf_defaults(&a, dir);
	a.profiles.p[2].retired = 1;
	snprintf(a.profiles.default_name, sizeof(a.profiles.default_name),
	    "tlsserver");
	snprintf(path, sizeof(path), "%s/anvil-ca.json", dir);
	assert_int_equal(conf_save(&a, path, &p), 0);
	assert_int_equal(conf_load(&b, path, &p), 0);
	assert_true(b.profiles.configured);
	assert_string_equal(b.profiles.default_name, "tlsserver");
	assert_int_equal(b.profiles.n, a.profiles.n);
	for (i = 0; i < a.profiles.n; i++) {
		const struct profile *x = &a.profiles.p[i];
		const struct profile *y = profile_find(&b.profiles, x->name);

		assert_non_null(y);
		assert_string_equal(y->description, x->description);
		assert_int_equal(y->validity, x->validity);
		assert_int_equal(y->common_name, x->common_name);
		assert_int_equal(y->subject_key_id, x->subject_key_id);
		assert_int_equal(y->key_encipherment, x->key_encipherment);
		assert_int_equal(y->identifiers, x->identifiers);
		assert_int_equal(y->max_names, x->max_names);
		assert_int_equal(y->order_lifetime, x->order_lifetime);
		assert_int_equal(y->authz_lifetime, x->authz_lifetime);
		assert_int_equal(y->authz_reuse, x->authz_reuse);
		assert_int_equal(y->retired, x->retired);
	}
	th_rmtree(dir);
	free(dir);
}

/* A file from before profiles: the built-in set within its bounds. */
static void
profile__conf_without_profiles(void **state)
{
	static const char text[] = "{\"cert_lifetime\":864000}";
	struct acme_problem p = { 0 };
	char *dir = th_tmpdir(), path[4096];
	struct conf c;

	(void)state;
	snprintf(path, sizeof(path), "%s/anvil-ca.json", dir);
	assert_int_equal(acme_file_write_atomic(path, text, strlen(text), 0644,
			     NULL),
	    0);
	assert_int_equal(conf_load(&c, path, &p), 0);
	assert_false(c.profiles.configured);
	assert_int_equal(profile_find(&c.profiles, "classic")->validity,
	    864000);
	assert_int_equal(profile_find(&c.profiles, "shortlived")->validity,
	    160 * 3600);
	th_rmtree(dir);
	free(dir);
}

/*
 * D56: the validity is decided at signing.  Defaults start
 * PROFILE_BACKDATE before now; a requested window that has passed or is
 * empty, or starts too far back, is refused; no leaf outlives its
 * issuer (cut when the CA chose notAfter, refused when the order did).
 */
static void
profile__S_ORD_2_window_at_signing(void **state)
{
	struct profile_set set;
	const struct profile *c;
	struct acme_problem prob = { 0 };
	const time_t now = 1800000000, far = now + 400 * 86400;
	time_t nb = 0, na = 0;

	(void)state;
	profile_defaults(&set);
	c = profile_find(&set, "classic");
	/* Nothing requested: now - 60 for the profile's validity. */
	assert_int_equal(profile_window(c, now, 0, 0, far, &nb, &na, &prob), 0);
	assert_int_equal(nb, now - PROFILE_BACKDATE);
	assert_int_equal(na, nb + c->validity);
	/* A request within the bounds is honoured exactly. */
	assert_int_equal(profile_window(c, now, now - 1800, now + 86400, far,
			     &nb, &na, &prob),
	    0);
	assert_int_equal(nb, now - 1800);
	assert_int_equal(na, now + 86400);
	/* notAfter passed by the time of signing, whatever notBefore. */
	nb = na = 0;
	assert_int_equal(profile_window(c, now, 0, now - 5, far, &nb, &na,
			     &prob),
	    ACME_ERR_INVAL);
	assert_int_equal(prob.type, ACME_PROB_MALFORMED);
	assert_non_null(strstr(prob.detail, "passed"));
	assert_int_equal(nb, 0);
	acme_problem_release(&prob);
	assert_int_equal(profile_window(c, now, now - 600, now - 700, far, &nb,
			     &na, &prob),
	    ACME_ERR_INVAL);
	acme_problem_release(&prob);
	/* notAfter == now is past too: the window must end after now. */
	assert_int_equal(profile_window(c, now, 0, now, far, &nb, &na, &prob),
	    ACME_ERR_INVAL);
	acme_problem_release(&prob);
	/* notBefore at most PROFILE_BACKDATE_MAX back, a day ahead. */
	assert_int_equal(profile_window(c, now, now - PROFILE_BACKDATE_MAX, 0,
			     far, &nb, &na, &prob),
	    0);
	assert_int_equal(profile_window(c, now, now - PROFILE_BACKDATE_MAX - 1,
			     0, far, &nb, &na, &prob),
	    ACME_ERR_INVAL);
	assert_non_null(strstr(prob.detail, "notBefore"));
	acme_problem_release(&prob);
	assert_int_equal(profile_window(c, now, now - 8 * 86400, 0, far, &nb,
			     &na, &prob),
	    ACME_ERR_INVAL);
	acme_problem_release(&prob);
	assert_int_equal(profile_window(c, now, now + PROFILE_AHEAD_MAX + 1, 0,
			     far, &nb, &na, &prob),
	    ACME_ERR_INVAL);
	acme_problem_release(&prob);
	/* A requested span beyond the profile (shortened since the order
	 * was placed) is refused, not cut (S-ORD-2). */
	assert_int_equal(profile_window(c, now, 0, now + 2 * c->validity,
			     now + 3 * (time_t)c->validity, &nb, &na, &prob),
	    ACME_ERR_INVAL);
	assert_non_null(strstr(prob.detail, "profile classic"));
	acme_problem_release(&prob);
	/* The issuer ends in 10 days: the default is cut to it... */
	assert_int_equal(profile_window(c, now, 0, 0, now + 10 * 86400, &nb,
			     &na, &prob),
	    0);
	assert_int_equal(na, now + 10 * 86400);
	/* ...a requested notAfter beyond it is refused... */
	assert_int_equal(profile_window(c, now, 0, now + 20 * 86400,
			     now + 10 * 86400, &nb, &na, &prob),
	    ACME_ERR_INVAL);
	assert_non_null(strstr(prob.detail, "issuing certificate"));
	acme_problem_release(&prob);
	/* ...and an expired issuer is the CA's fault, not the order's. */
	assert_int_equal(profile_window(c, now, 0, 0, now, &nb, &na, &prob),
	    ACME_ERR_UNSUPPORTED);
	assert_int_equal(prob.type, ACME_PROB_SERVER_INTERNAL);
	acme_problem_release(&prob);
	/* An issuer that ends before a requested notBefore: empty. */
	assert_int_equal(profile_window(c, now, now + 7200, 0, now + 3600, &nb,
			     &na, &prob),
	    ACME_ERR_INVAL);
	assert_non_null(strstr(prob.detail, "empty"));
	acme_problem_release(&prob);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(profile__builtin_set_follows_lets_encrypt),
		cmocka_unit_test(profile__load_takes_classic_for_missing_keys),
		cmocka_unit_test(profile__load_rejects_bad_definitions),
		cmocka_unit_test(
		    profile__bounds_refuse_configured_and_lower_builtin),
		cmocka_unit_test(profile__for_order_default_unknown_retired),
		cmocka_unit_test(profile__identifiers_must_fit),
		cmocka_unit_test(profile__meta_leaves_out_retired),
		cmocka_unit_test(profile__conf_round_trip),
		cmocka_unit_test(profile__conf_without_profiles),
		cmocka_unit_test(profile__S_ORD_2_window_at_signing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
