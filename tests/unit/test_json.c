/* SPDX-License-Identifier: ISC */
/* Unit tests for json.c: strict parsing bounds and the typed getters. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/json.h>

#include "helpers.h"

static json_t *
parse(const char *s, unsigned flags, struct acme_problem *p)
{
	return acme_json_parse(s, strlen(s), flags, p);
}

static void
json__parses_object(void **state)
{
	struct acme_problem p = { 0 };
	json_t *v = parse("{\"a\":1,\"b\":[true,null]}", ACME_JSON_OBJECT, &p);

	(void)state;
	assert_non_null(v);
	assert_int_equal(json_integer_value(json_object_get(v, "a")), 1);
	json_decref(v);
}

static void
json__S_JWS_18_rejects_duplicate_keys(void **state)
{
	struct acme_problem p = { 0 };

	(void)state;
	assert_null(parse("{\"nonce\":\"a\",\"nonce\":\"b\"}", 0, &p));
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	assert_non_null(strstr(p.detail, "duplicate"));
	/* Nested objects too. */
	assert_null(parse("{\"x\":{\"k\":1,\"k\":2}}", 0, &p));
}

static void
json__rejects_nul_byte(void **state)
{
	struct acme_problem p = { 0 };
	static const char text[] = "{\"a\":\"x\0y\"}";

	(void)state;
	assert_null(acme_json_parse(text, sizeof(text) - 1, 0, &p));
	assert_non_null(strstr(p.detail, "NUL"));
	/* The escaped form is refused by the parser itself. */
	assert_null(parse("{\"a\":\"x\\u0000y\"}", 0, &p));
}

static void
json__S_TRN_1_rejects_invalid_utf8(void **state)
{
	struct acme_problem p = { 0 };

	(void)state;
	assert_null(parse("{\"a\":\"\xc3\x28\"}", 0, &p));
	assert_int_equal(p.type, ACME_PROB_MALFORMED);
	assert_null(parse("{\"a\":\"\xed\xa0\x80\"}", 0, &p));
}

static void
json__depth_limit_exact(void **state)
{
	struct acme_problem p = { 0 };
	char text[2 * ACME_JSON_MAX_DEPTH + 4];
	json_t *v;
	int i;

	(void)state;
	for (i = 0; i < ACME_JSON_MAX_DEPTH; i++) {
		text[i] = '[';
		text[ACME_JSON_MAX_DEPTH + i] = ']';
	}
	text[2 * ACME_JSON_MAX_DEPTH] = '\0';
	v = parse(text, 0, &p);
	assert_non_null(v);
	json_decref(v);
	/* One deeper is refused before jansson sees it. */
	memmove(text + 1, text, 2 * ACME_JSON_MAX_DEPTH + 1);
	text[0] = '[';
	text[2 * ACME_JSON_MAX_DEPTH + 1] = ']';
	text[2 * ACME_JSON_MAX_DEPTH + 2] = '\0';
	assert_null(parse(text, 0, &p));
	assert_non_null(strstr(p.detail, "nesting"));
}

static void
json__brackets_in_strings_do_not_count(void **state)
{
	struct acme_problem p = { 0 };
	char text[200];
	json_t *v;

	(void)state;
	snprintf(text, sizeof(text), "{\"a\":\"%s\\\"[[\",\"b\":1}",
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{{");
	v = parse(text, ACME_JSON_OBJECT, &p);
	assert_non_null(v);
	json_decref(v);
}

static void
json__size_limit(void **state)
{
	struct acme_problem p = { 0 };
	size_t n = ACME_JSON_MAX_SIZE + 1;
	char *big = malloc(n + 1);

	(void)state;
	assert_non_null(big);
	memset(big, ' ', n);
	big[0] = '1';
	big[n] = '\0';
	assert_null(acme_json_parse(big, n, 0, &p));
	assert_non_null(strstr(p.detail, "limit"));
	free(big);
}

static void
json__rejects_trailing_garbage_and_non_object(void **state)
{
	struct acme_problem p = { 0 };
	json_t *v;

	(void)state;
	assert_null(parse("{\"a\":1} x", 0, &p));
	assert_null(parse("{\"a\":1}{}", 0, &p));
	assert_null(parse("[1,2]", ACME_JSON_OBJECT, &p));
	assert_non_null(strstr(p.detail, "not an object"));
	assert_null(parse("\"s\"", ACME_JSON_OBJECT, &p));
	v = parse("[1,2]", 0, &p);
	assert_non_null(v);
	json_decref(v);
	assert_null(parse("", 0, &p));
}

static void
json__get_string(void **state)
{
	struct acme_problem p = { 0 };
	json_t *v = parse("{\"s\":\"x\",\"n\":null,\"i\":1}", 0, &p);
	const char *s = "untouched";

	(void)state;
	assert_int_equal(acme_json_get_string(v, "s", ACME_JSON_REQUIRED, &s,
			     &p),
	    0);
	assert_string_equal(s, "x");
	s = "untouched";
	assert_int_equal(acme_json_get_string(v, "absent", ACME_JSON_OPTIONAL,
			     &s, &p),
	    1);
	assert_int_equal(acme_json_get_string(v, "n", ACME_JSON_OPTIONAL, &s,
			     &p),
	    1);
	assert_string_equal(s, "untouched");
	assert_int_equal(acme_json_get_string(v, "absent", ACME_JSON_REQUIRED,
			     &s, &p),
	    ACME_ERR_INVAL);
	assert_non_null(strstr(p.detail, "\"absent\""));
	assert_int_equal(acme_json_get_string(v, "i", ACME_JSON_REQUIRED, &s,
			     &p),
	    ACME_ERR_INVAL);
	assert_non_null(strstr(p.detail, "must be a string"));
	json_decref(v);
}

static void
json__get_bool_int(void **state)
{
	struct acme_problem p = { 0 };
	json_t *v =
	    parse("{\"t\":true,\"f\":false,\"i\":42,\"r\":1.5,\"s\":\"1\"}", 0,
		&p);
	long long i = 0;
	int b = -1;

	(void)state;
	assert_int_equal(acme_json_get_bool(v, "t", 0, &b, &p), 0);
	assert_int_equal(b, 1);
	assert_int_equal(acme_json_get_bool(v, "f", 0, &b, &p), 0);
	assert_int_equal(b, 0);
	assert_int_equal(acme_json_get_bool(v, "i", 0, &b, &p), ACME_ERR_INVAL);
	assert_int_equal(acme_json_get_bool(v, "s", 0, &b, &p), ACME_ERR_INVAL);
	assert_int_equal(acme_json_get_int(v, "i", 0, &i, &p), 0);
	assert_int_equal(i, 42);
	assert_int_equal(acme_json_get_int(v, "r", 0, &i, &p), ACME_ERR_INVAL);
	assert_int_equal(acme_json_get_int(v, "s", 0, &i, &p), ACME_ERR_INVAL);
	assert_int_equal(acme_json_get_int(v, "x", ACME_JSON_OPTIONAL, &i, &p),
	    1);
	json_decref(v);
}

static void
json__get_object_array(void **state)
{
	struct acme_problem p = { 0 };
	json_t *v = parse("{\"o\":{},\"a\":[]}", 0, &p);
	json_t *o = NULL;

	(void)state;
	assert_int_equal(acme_json_get_object(v, "o", 0, &o, &p), 0);
	assert_true(json_is_object(o));
	assert_int_equal(acme_json_get_object(v, "a", 0, &o, &p),
	    ACME_ERR_INVAL);
	assert_int_equal(acme_json_get_array(v, "a", 0, &o, &p), 0);
	assert_true(json_is_array(o));
	assert_int_equal(acme_json_get_array(v, "o", 0, &o, &p),
	    ACME_ERR_INVAL);
	/* A non-object container has no members. */
	assert_int_equal(acme_json_get_array(o, "x", 0, &o, &p),
	    ACME_ERR_INVAL);
	json_decref(v);
}

static void
json__canonical_dump_sorted_compact(void **state)
{
	struct acme_problem p = { 0 };
	json_t *v =
	    parse("{ \"kty\" : \"EC\", \"crv\":\"P-256\",\n \"y\":\"b\", "
		  "\"x\":\"a\", \"z\":{\"b\":1,\"a\":[2, 1]} }",
		0, &p);
	char *s;

	(void)state;
	s = acme_json_dump_canonical(v);
	assert_string_equal(s, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"a\","
			       "\"y\":\"b\",\"z\":{\"a\":[2,1],\"b\":1}}");
	free(s);
	json_decref(v);
}

/* acme_json_compact against json_dumps(v, JSON_COMPACT), byte for byte. */
static void
same_as_jansson(const json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT), *got;
	size_t len = 0;

	got = acme_json_compact(v, &len);
	if (want == NULL) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(want);
	free(got);
}

static void
json__compact_matches_jansson(void **state)
{
	char all[128];
	json_t *v, *deep, *cur;
	int i;

	(void)state;
	for (i = 0; i < 127; i++)
		all[i] = (char)(i + 1);
	all[127] = '\0';
	v = json_pack("{s:s, s:i, s:I, s:I, s:b, s:b, s:n, s:[], s:{}, "
		      "s:[s, i, {s:[]}], s:s}",
	    "status", "valid", "zero", 0, "min", (json_int_t)LLONG_MIN, "max",
	    (json_int_t)LLONG_MAX, "t", 1, "f", 0, "null", "empty", "obj",
	    "arr", "x", -7, "y", "quote\"back\\slash/", all);
	assert_non_null(v);
	same_as_jansson(v);
	/* Control characters, DEL and a NUL inside a string and a key. */
	json_object_set_new(v, all, json_stringn("a\0b\x7f\x1f", 5));
	same_as_jansson(v);
	/* What goes to jansson: UTF-8, a real, deep nesting. */
	json_object_set_new(v, "utf8", json_string("caf\xc3\xa9"));
	same_as_jansson(v);
	json_object_del(v, "utf8");
	json_object_set_new(v, "real", json_real(0.5));
	same_as_jansson(v);
	json_object_del(v, "real");
	deep = cur = json_array();
	for (i = 0; i < 40; i++) {
		json_t *next = json_array();

		json_array_append_new(cur, next);
		cur = next;
	}
	json_object_set_new(v, "deep", deep);
	same_as_jansson(v);
	json_decref(v);
	/* Empty containers at the top; a scalar is refused by both. */
	v = json_object();
	same_as_jansson(v);
	json_decref(v);
	v = json_array();
	same_as_jansson(v);
	json_decref(v);
	v = json_string("x");
	same_as_jansson(v);
	json_decref(v);
	assert_null(acme_json_compact(NULL, NULL));
}

/* Random documents of ASCII strings, integers and containers. */
static json_t *
random_value(unsigned *seed, int depth)
{
	int kind =
	    depth > 4 ? (int)(rand_r(seed) % 5) : (int)(rand_r(seed) % 7);
	char s[24];
	json_t *v;
	int i, n;

	switch (kind) {
	case 0:
		n = (int)(rand_r(seed) % sizeof(s));
		for (i = 0; i < n; i++)
			s[i] = (char)(rand_r(seed) % 128);
		return json_stringn(s, (size_t)n);
	case 1:
		return json_integer((json_int_t)rand_r(seed) - RAND_MAX / 2);
	case 2:
		return json_true();
	case 3:
		return json_false();
	case 4:
		return json_null();
	case 5:
		v = json_array();
		n = (int)(rand_r(seed) % 5);
		for (i = 0; i < n; i++)
			json_array_append_new(v, random_value(seed, depth + 1));
		return v;
	default:
		v = json_object();
		n = (int)(rand_r(seed) % 5);
		for (i = 0; i < n; i++) {
			snprintf(s, sizeof(s), "k%u\t%d", rand_r(seed) % 100,
			    i);
			json_object_set_new(v, s,
			    random_value(seed, depth + 1));
		}
		return v;
	}
}

static void
json__compact_matches_jansson_random(void **state)
{
	unsigned seed = 8555;
	int i;

	(void)state;
	for (i = 0; i < 2000; i++) {
		json_t *v = json_pack("{s:o}", "v", random_value(&seed, 0));

		assert_non_null(v);
		same_as_jansson(v);
		json_decref(v);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json__parses_object),
		cmocka_unit_test(json__S_JWS_18_rejects_duplicate_keys),
		cmocka_unit_test(json__rejects_nul_byte),
		cmocka_unit_test(json__S_TRN_1_rejects_invalid_utf8),
		cmocka_unit_test(json__depth_limit_exact),
		cmocka_unit_test(json__brackets_in_strings_do_not_count),
		cmocka_unit_test(json__size_limit),
		cmocka_unit_test(json__rejects_trailing_garbage_and_non_object),
		cmocka_unit_test(json__get_string),
		cmocka_unit_test(json__get_bool_int),
		cmocka_unit_test(json__get_object_array),
		cmocka_unit_test(json__canonical_dump_sorted_compact),
		cmocka_unit_test(json__compact_matches_jansson),
		cmocka_unit_test(json__compact_matches_jansson_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
