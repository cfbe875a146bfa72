/* SPDX-License-Identifier: ISC */
/*
 * Strict JSON over jansson (see include/anvil/json.h).  jansson already
 * rejects invalid UTF-8 and, with JSON_REJECT_DUPLICATES, repeated keys;
 * what it lacks is a run-time nesting bound, so a pre-scan counts depth
 * (ignoring brackets inside strings) before jansson sees the text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/json.h>

#include "internal.h"

/*
 * Returns the deepest nesting of arrays and objects in text, stopping
 * early once it exceeds max.  Malformed text is left for jansson.
 */
static int
max_depth(const char *text, size_t len, int max)
{
	int depth = 0, deepest = 0, in_str = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = text[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"')
			in_str = 1;
		else if (c == '[' || c == '{') {
			if (++depth > deepest)
				deepest = depth;
			if (deepest > max)
				break;
		} else if (c == ']' || c == '}')
			depth--;
	}
	return deepest;
}

json_t *
acme_json_parse(const char *text, size_t len, unsigned flags,
    struct acme_problem *prob)
{
	json_error_t err;
	json_t *v;

	if (len > ACME_JSON_MAX_SIZE) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JSON document of %zu bytes exceeds the limit of %d", len,
		    ACME_JSON_MAX_SIZE);
		return NULL;
	}
	if (memchr(text, '\0', len) != NULL) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JSON document contains a NUL byte");
		return NULL;
	}
	if (max_depth(text, len, ACME_JSON_MAX_DEPTH) > ACME_JSON_MAX_DEPTH) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JSON nesting deeper than %d", ACME_JSON_MAX_DEPTH);
		return NULL;
	}
	v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &err);
	if (v == NULL) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "invalid JSON at line %d column %d: %s", err.line,
		    err.column, err.text);
		return NULL;
	}
	if ((flags & ACME_JSON_OBJECT) && !json_is_object(v)) {
		json_decref(v);
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JSON document is not an object");
		return NULL;
	}
	return v;
}

/*
 * Looks up key; returns the member, NULL when absent (or null), and
 * decides between "optional absent" and "required missing".
 */
static int
lookup(const json_t *obj, const char *key, enum acme_json_need need,
    json_t **member, struct acme_problem *prob)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;

	if (v == NULL || json_is_null(v)) {
		if (need == ACME_JSON_OPTIONAL)
			return 1;
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "missing required member \"%s\"", key);
	}
	*member = v;
	return 0;
}

static int
wrong_type(const char *key, const char *want, struct acme_problem *prob)
{
	return acme_problem_set(prob, ACME_PROB_MALFORMED,
	    "member \"%s\" must be %s", key, want);
}

int
acme_json_get_string(const json_t *obj, const char *key,
    enum acme_json_need need, const char **out, struct acme_problem *prob)
{
	json_t *v = NULL;
	int rc;

	if ((rc = lookup(obj, key, need, &v, prob)) != 0)
		return rc;
	if (!json_is_string(v))
		return wrong_type(key, "a string", prob);
	/* An embedded NUL would make the C string differ from the JSON. */
	if (strlen(json_string_value(v)) != json_string_length(v))
		return wrong_type(key, "a string without NUL characters", prob);
	*out = json_string_value(v);
	return 0;
}

int
acme_json_get_bool(const json_t *obj, const char *key, enum acme_json_need need,
    int *out, struct acme_problem *prob)
{
	json_t *v = NULL;
	int rc;

	if ((rc = lookup(obj, key, need, &v, prob)) != 0)
		return rc;
	if (!json_is_boolean(v))
		return wrong_type(key, "true or false", prob);
	*out = json_is_true(v);
	return 0;
}

int
acme_json_get_int(const json_t *obj, const char *key, enum acme_json_need need,
    long long *out, struct acme_problem *prob)
{
	json_t *v = NULL;
	int rc;

	if ((rc = lookup(obj, key, need, &v, prob)) != 0)
		return rc;
	if (!json_is_integer(v))
		return wrong_type(key, "an integer", prob);
	*out = (long long)json_integer_value(v);
	return 0;
}

int
acme_json_get_object(const json_t *obj, const char *key,
    enum acme_json_need need, json_t **out, struct acme_problem *prob)
{
	json_t *v = NULL;
	int rc;

	if ((rc = lookup(obj, key, need, &v, prob)) != 0)
		return rc;
	if (!json_is_object(v))
		return wrong_type(key, "an object", prob);
	*out = v;
	return 0;
}

int
acme_json_get_array(const json_t *obj, const char *key,
    enum acme_json_need need, json_t **out, struct acme_problem *prob)
{
	json_t *v = NULL;
	int rc;

	if ((rc = lookup(obj, key, need, &v, prob)) != 0)
		return rc;
	if (!json_is_array(v))
		return wrong_type(key, "an array", prob);
	*out = v;
	return 0;
}

char *
acme_json_dump_canonical(const json_t *v)
{
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}
