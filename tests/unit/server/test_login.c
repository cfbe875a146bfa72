/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the operator page's login and counters (D86): crypt(3)
 * password checks, sessions (expiry, logout, a changed hash), the
 * per-address throttle, and the per-minute ring.
 */
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <anvil/problem.h>

#include "admin/activity.h"
#include "admin/login.h"

#include "../helpers.h"

static void
login__D86_password_checked_against_its_crypt_hash(void **state)
{
	char hash[256];

	(void)state;
	assert_int_equal(login_hash("correct horse", hash, sizeof(hash)), 0);
	assert_true(login_hash_usable(hash));
	assert_int_equal(login_password_ok(hash, "correct horse"), 1);
	assert_int_equal(login_password_ok(hash, "correct horsE"), 0);
	assert_int_equal(login_password_ok(hash, ""), 0);
	/* sha512-crypt from openssl passwd -6 -salt saltsalt pw. */
	assert_int_equal(login_password_ok("$6$saltsalt$pauPrmdmG4BTE9h2HPmywiw"
					   "152IFch6BJCEsaY6D."
					   "PLTfpV8sqvXwWdyfsgV"
					   "gozkYH9B80bAip/08R2BPH2xk/",
			     "pw"),
	    1);
	/* Not a hash: nothing matches it, not even itself. */
	assert_false(login_hash_usable("plaintext"));
	assert_false(login_hash_usable(""));
	assert_int_equal(login_password_ok("plaintext", "plaintext"), 0);
	assert_int_equal(login_password_ok("", ""), 0);
}

static void
login__D86_sessions_expire_end_and_follow_the_hash(void **state)
{
	struct login *l = login_new();
	char t1[LOGIN_TOKEN_LEN + 1], t2[LOGIN_TOKEN_LEN + 1];
	time_t now = 1000000;

	(void)state;
	assert_non_null(l);
	assert_int_equal(login_session_new(l, 7, now, t1), 0);
	assert_int_equal(login_session_new(l, 7, now, t2), 0);
	assert_int_equal(strlen(t1), LOGIN_TOKEN_LEN);
	assert_string_not_equal(t1, t2);
	assert_int_equal(login_session_ok(l, t1, 7, now + 1), 1);
	assert_int_equal(login_session_ok(l, NULL, 7, now + 1), 0);
	assert_int_equal(login_session_ok(l, "", 7, now + 1), 0);
	/* Another password hash: no longer logged in. */
	assert_int_equal(login_session_ok(l, t1, 8, now + 1), 0);
	/* One character off. */
	t2[5] = t2[5] == 'a' ? 'b' : 'a';
	assert_int_equal(login_session_ok(l, t2, 7, now + 1), 0);
	t2[5] = t2[5] == 'a' ? 'b' : 'a';
	assert_int_equal(login_session_ok(l, t1, 7,
			     now + LOGIN_SESSION_SECONDS - 1),
	    1);
	assert_int_equal(login_session_ok(l, t1, 7,
			     now + LOGIN_SESSION_SECONDS),
	    0);
	login_session_end(l, t2);
	assert_int_equal(login_session_ok(l, t2, 7, now + 1), 0);
	login_free(l);
}

static void
login__D86_the_oldest_session_gives_way(void **state)
{
	struct login *l = login_new();
	char first[LOGIN_TOKEN_LEN + 1], t[LOGIN_TOKEN_LEN + 1];
	int i;

	(void)state;
	assert_int_equal(login_session_new(l, 1, 100, first), 0);
	for (i = 1; i < LOGIN_SESSIONS_MAX; i++)
		assert_int_equal(login_session_new(l, 1, 100 + i, t), 0);
	assert_int_equal(login_session_ok(l, first, 1, 200), 1);
	assert_int_equal(login_session_new(l, 1, 300, t), 0);
	assert_int_equal(login_session_ok(l, first, 1, 300), 0);
	assert_int_equal(login_session_ok(l, t, 1, 300), 1);
	login_free(l);
}

static void
login__D86_failed_logins_throttled_per_address(void **state)
{
	struct login *l = login_new();
	time_t now = 5000;
	int i;

	(void)state;
	for (i = 0; i < LOGIN_FAILS_MAX - 1; i++) {
		assert_int_equal(login_wait(l, "192.0.2.1", now), 0);
		login_failed(l, "192.0.2.1", now);
	}
	assert_int_equal(login_wait(l, "192.0.2.1", now), 0);
	login_failed(l, "192.0.2.1", now);
	assert_int_equal(login_wait(l, "192.0.2.1", now), LOGIN_LOCK_SECONDS);
	assert_int_equal(login_wait(l, "192.0.2.1", now + 10),
	    LOGIN_LOCK_SECONDS - 10);
	/* Another address is not held up. */
	assert_int_equal(login_wait(l, "192.0.2.2", now), 0);
	assert_int_equal(login_wait(l, "192.0.2.1", now + LOGIN_LOCK_SECONDS),
	    0);
	/* A success forgets the failures before it. */
	login_failed(l, "192.0.2.2", now);
	login_succeeded(l, "192.0.2.2");
	for (i = 0; i < LOGIN_FAILS_MAX - 1; i++)
		login_failed(l, "192.0.2.2", now);
	assert_int_equal(login_wait(l, "192.0.2.2", now), 0);
	login_free(l);
}

static long
sum(json_t *arr)
{
	size_t i;
	json_t *v;
	long s = 0;

	json_array_foreach(arr, i, v) s += (long)json_integer_value(v);
	return s;
}

static void
activity__D86_minutes_ring_forgets_the_old_hour(void **state)
{
	struct activity *a = activity_new(600000);
	time_t t0 = 600000; /* a minute's start */
	json_t *r, *f, *v;

	(void)state;
	activity_issuance(a, t0);
	activity_issuance(a, t0 + 59);
	activity_issuance(a, t0 + 60);
	activity_failure(a, t0 + 60, ACME_PROB_BAD_NONCE);
	activity_validation(a, t0 + 61, "http-01", "a.example", 0,
	    ACME_PROB_INCORRECT_RESPONSE, "got \"<b>\xff\"");
	r = activity_rates(a, t0 + 60);
	assert_int_equal(json_array_size(json_object_get(r, "issued")),
	    ACTIVITY_MINUTES);
	assert_int_equal(json_integer_value(
			     json_array_get(json_object_get(r, "issued"),
				 ACTIVITY_MINUTES - 1)),
	    1);
	assert_int_equal(json_integer_value(
			     json_array_get(json_object_get(r, "issued"),
				 ACTIVITY_MINUTES - 2)),
	    2);
	assert_int_equal(sum(json_object_get(r, "failed")), 2);
	json_decref(r);
	/* An hour on, t0's minute is out of the window; t0 + 60's is in. */
	r = activity_rates(a, t0 + 60 * ACTIVITY_MINUTES);
	assert_int_equal(sum(json_object_get(r, "issued")), 1);
	json_decref(r);
	/* Its slot taken by a new minute: counted from zero. */
	activity_issuance(a, t0 + 60 * ACTIVITY_MINUTES);
	r = activity_rates(a, t0 + 60 * ACTIVITY_MINUTES);
	assert_int_equal(sum(json_object_get(r, "issued")), 2);
	json_decref(r);
	f = activity_failures(a);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(f, "types"), 0),
				"type")),
	    "badNonce");
	assert_int_equal(json_array_size(json_object_get(f, "types")), 2);
	json_decref(f);
	v = activity_validations(a);
	assert_int_equal(json_array_size(v), 1);
	/* Bytes that are not printable ASCII become '?'. */
	assert_string_equal(json_string_value(
				json_object_get(json_array_get(v, 0),
				    "detail")),
	    "got \"<b>?\"");
	json_decref(v);
	activity_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    login__D86_password_checked_against_its_crypt_hash),
		cmocka_unit_test(
		    login__D86_sessions_expire_end_and_follow_the_hash),
		cmocka_unit_test(login__D86_the_oldest_session_gives_way),
		cmocka_unit_test(
		    login__D86_failed_logins_throttled_per_address),
		cmocka_unit_test(
		    activity__D86_minutes_ring_forgets_the_old_hour),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
