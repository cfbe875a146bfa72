/* SPDX-License-Identifier: ISC */
/* Unit tests for problem.c: the type table, filling, RFC 7807 JSON. */
#include <string.h>

#include <anvil/err.h>
#include <anvil/problem.h>

#include "helpers.h"

static void
problem__set_fills_type_status_detail(void **state)
{
	struct acme_problem p = { 0 };

	(void)state;
	assert_int_equal(acme_problem_set(&p, ACME_PROB_BAD_NONCE,
			     "nonce %s is stale", "abc"),
	    ACME_ERR_INVAL);
	assert_int_equal(p.type, ACME_PROB_BAD_NONCE);
	assert_int_equal(p.status, 400);
	assert_string_equal(p.detail, "nonce abc is stale");
	acme_problem_release(&p);
}

static void
problem__set_null_is_safe(void **state)
{
	(void)state;
	assert_int_equal(acme_problem_set(NULL, ACME_PROB_MALFORMED, "x"),
	    ACME_ERR_INVAL);
	acme_problem_release(NULL);
}

static void
problem__default_statuses(void **state)
{
	(void)state;
	assert_int_equal(acme_problem_default_status(ACME_PROB_MALFORMED), 400);
	assert_int_equal(acme_problem_default_status(ACME_PROB_ORDER_NOT_READY),
	    403);
	assert_int_equal(acme_problem_default_status(ACME_PROB_RATE_LIMITED),
	    429);
	assert_int_equal(acme_problem_default_status(ACME_PROB_SERVER_INTERNAL),
	    500);
	assert_int_equal(acme_problem_default_status(
			     ACME_PROB_ALREADY_REPLACED),
	    409);
	assert_int_equal(acme_problem_default_status(ACME_PROB_CAA), 403);
}

static void
problem__set_status_overrides(void **state)
{
	struct acme_problem p = { 0 };

	(void)state;
	acme_problem_set_status(&p, ACME_PROB_MALFORMED, 405, "use POST");
	assert_int_equal(p.status, 405);
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
}

/* Every registered type maps to its URN and back (S-ERR-2). */
static void
problem__S_ERR_2_urn_round_trip_all_types(void **state)
{
	int t;

	(void)state;
	for (t = ACME_PROB_NONE + 1; t < ACME_PROB_OTHER; t++) {
		const char *urn = acme_problem_type_urn((enum acme_prob_type)t);

		assert_true(
		    strncmp(urn, "urn:ietf:params:acme:error:", 27) == 0);
		assert_true(strlen(urn) > 27);
		assert_int_equal(acme_problem_type_from_urn(urn), t);
	}
	assert_string_equal(acme_problem_type_urn(ACME_PROB_BAD_CSR),
	    "urn:ietf:params:acme:error:badCSR");
	assert_int_equal(acme_problem_type_from_urn(
			     "urn:ietf:params:acme:error:nope"),
	    ACME_PROB_OTHER);
	assert_int_equal(acme_problem_type_from_urn("about:blank"),
	    ACME_PROB_OTHER);
	assert_int_equal(acme_problem_type_from_urn(NULL), ACME_PROB_OTHER);
	/* Unknown types never claim the ACME namespace. */
	assert_string_equal(acme_problem_type_urn(ACME_PROB_OTHER),
	    "about:blank");
}

static void
problem__to_json_has_rfc7807_members(void **state)
{
	struct acme_problem p = { 0 };
	json_t *doc;

	(void)state;
	acme_problem_set(&p, ACME_PROB_UNAUTHORIZED, "account is deactivated");
	doc = acme_problem_to_json(&p);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "type")),
	    "urn:ietf:params:acme:error:unauthorized");
	assert_string_equal(json_string_value(json_object_get(doc, "detail")),
	    "account is deactivated");
	assert_int_equal(json_integer_value(json_object_get(doc, "status")),
	    403);
	assert_null(json_object_get(doc, "subproblems"));
	json_decref(doc);
}

/* Subproblems carry identifiers; the top level never does (S-ERR-4/5). */
static void
problem__S_ERR_4_subproblems_carry_identifiers(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident a, b;
	json_t *doc, *subs, *id;

	(void)state;
	assert_int_equal(acme_ident_set(&a, "dns", "bad.example"), 0);
	assert_int_equal(acme_ident_set(&b, "ip", "192.0.2.1"), 0);
	acme_problem_set(&p, ACME_PROB_COMPOUND, "two identifiers refused");
	assert_int_equal(acme_problem_add_sub(&p, ACME_PROB_REJECTED_IDENTIFIER,
			     &a, "%s is blocked", a.value),
	    0);
	assert_int_equal(acme_problem_add_sub(&p,
			     ACME_PROB_UNSUPPORTED_IDENTIFIER, &b, "no IPs"),
	    0);
	/* A top-level identifier must be ignored on output (S-ERR-5). */
	p.has_identifier = 1;
	p.identifier = a;
	doc = acme_problem_to_json(&p);
	assert_non_null(doc);
	assert_null(json_object_get(doc, "identifier"));
	subs = json_object_get(doc, "subproblems");
	assert_int_equal(json_array_size(subs), 2);
	id = json_object_get(json_array_get(subs, 0), "identifier");
	assert_string_equal(json_string_value(json_object_get(id, "type")),
	    "dns");
	assert_string_equal(json_string_value(json_object_get(id, "value")),
	    "bad.example");
	assert_string_equal(json_string_value(
				json_object_get(json_array_get(subs, 1),
				    "type")),
	    "urn:ietf:params:acme:error:unsupportedIdentifier");
	json_decref(doc);
	acme_problem_release(&p);
	assert_int_equal(p.nsub, 0);
	assert_null(p.sub);
}

static void
problem__sub_limit(void **state)
{
	struct acme_problem p = { 0 };
	size_t i;

	(void)state;
	acme_problem_set(&p, ACME_PROB_COMPOUND, "many");
	for (i = 0; i < ACME_PROB_SUB_MAX; i++)
		assert_int_equal(acme_problem_add_sub(&p, ACME_PROB_MALFORMED,
				     NULL, "n%zu", i),
		    0);
	assert_int_equal(acme_problem_add_sub(&p, ACME_PROB_MALFORMED, NULL,
			     "one too many"),
	    ACME_ERR_LIMIT);
	assert_int_equal(p.nsub, ACME_PROB_SUB_MAX);
	acme_problem_release(&p);
}

static void
problem__detail_truncated_not_overflowed(void **state)
{
	struct acme_problem p = { 0 };
	char big[2000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	acme_problem_set(&p, ACME_PROB_MALFORMED, "%s", big);
	assert_int_equal(strlen(p.detail), ACME_PROB_DETAIL_MAX - 1);
}

static void
problem__from_json_parses_server_document(void **state)
{
	struct acme_problem p = { 0 };
	json_t *doc;

	(void)state;
	doc = json_pack("{s:s, s:s, s:i, s:[{s:s, s:s, s:{s:s, s:s}}]}", "type",
	    "urn:ietf:params:acme:error:rateLimited", "detail", "too many",
	    "status", 429, "subproblems", "type",
	    "urn:ietf:params:acme:error:caa", "detail", "caa forbids",
	    "identifier", "type", "dns", "value", "Example.COM");
	assert_non_null(doc);
	assert_int_equal(acme_problem_from_json(&p, doc), 0);
	assert_int_equal(p.type, ACME_PROB_RATE_LIMITED);
	assert_int_equal(p.status, 429);
	assert_string_equal(p.detail, "too many");
	assert_int_equal(p.nsub, 1);
	assert_int_equal(p.sub[0].type, ACME_PROB_CAA);
	assert_true(p.sub[0].has_identifier);
	assert_string_equal(p.sub[0].identifier.value, "example.com");
	acme_problem_release(&p);
	json_decref(doc);
}

static void
problem__from_json_rejects_non_problem(void **state)
{
	struct acme_problem p = { 0 };
	json_t *doc = json_pack("{s:i}", "type", 3);

	(void)state;
	assert_int_equal(acme_problem_from_json(&p, doc), ACME_ERR_INVAL);
	assert_int_equal(acme_problem_from_json(&p, NULL), ACME_ERR_INVAL);
	json_decref(doc);
	/* Unknown type: kept as OTHER, default status, type as detail. */
	doc = json_pack("{s:s}", "type", "https://example.com/oops");
	assert_int_equal(acme_problem_from_json(&p, doc), 0);
	assert_int_equal(p.type, ACME_PROB_OTHER);
	assert_int_equal(p.status, 500);
	assert_string_equal(p.detail, "https://example.com/oops");
	json_decref(doc);
}

static void
err__strerror_covers_codes(void **state)
{
	(void)state;
	assert_string_equal(acme_strerror(ACME_OK), "success");
	assert_string_equal(acme_strerror(ACME_ERR_LIMIT), "limit exceeded");
	assert_string_equal(acme_strerror(-999), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(problem__set_fills_type_status_detail),
		cmocka_unit_test(problem__set_null_is_safe),
		cmocka_unit_test(problem__default_statuses),
		cmocka_unit_test(problem__set_status_overrides),
		cmocka_unit_test(problem__S_ERR_2_urn_round_trip_all_types),
		cmocka_unit_test(problem__to_json_has_rfc7807_members),
		cmocka_unit_test(
		    problem__S_ERR_4_subproblems_carry_identifiers),
		cmocka_unit_test(problem__sub_limit),
		cmocka_unit_test(problem__detail_truncated_not_overflowed),
		cmocka_unit_test(problem__from_json_parses_server_document),
		cmocka_unit_test(problem__from_json_rejects_non_problem),
		cmocka_unit_test(err__strerror_covers_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
