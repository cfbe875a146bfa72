/* SPDX-License-Identifier: ISC */
/*
 * Strict JSON over jansson (see include/anvil/json.h).  jansson already
 * rejects invalid UTF-8 and, with JSON_REJECT_DUPLICATES, repeated keys;
 * what it lacks is a run-time nesting bound, so a pre-scan counts depth
 * (ignoring brackets inside strings) before jansson sees the text.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/buf.h>
#include <anvil/err.h>
#include <anvil/json.h>

#include "internal.h"

/*
 * jansson's reader ignores a failed allocation while it collects the
 * bytes of a string or number (load.c's lex_save drops the byte and goes
 * on), so under memory pressure it can return a document with a
 * character missing from a string: "urn:ietf:param:..." for
 * "urn:ietf:params:...", found by tests/unit/test_allocfail.c.  Every
 * allocation jansson makes goes through jalloc(), which notes a failure
 * in its thread; a parse during which one failed is refused.
 */
static __thread int jansson_oom;
static pthread_once_t jansson_once = PTHREAD_ONCE_INIT;

static void *
jalloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		jansson_oom = 1;
	return p;
}

static void
jfree(void *p)
{
	free(p);
}

static void
jansson_hooks(void)
{
	json_set_alloc_funcs(jalloc, jfree);
}

/* json_loadb, refusing (NULL) a parse during which an allocation failed. */
static json_t *
load(const char *text, size_t len, size_t flags, json_error_t *err, int *oom)
{
	json_t *v;

	pthread_once(&jansson_once, jansson_hooks);
	jansson_oom = 0;
	v = json_loadb(text, len, flags, err);
	if ((*oom = jansson_oom) != 0) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

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
	int oom;

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
	v = load(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err,
	    &oom);
	if (oom) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory reading JSON");
		return NULL;
	}
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

json_t *
acme_json_load_stored(const char *text)
{
	json_error_t err;
	int oom;

	return load(text, strlen(text), JSON_DECODE_ANY, &err, &oom);
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

/*
 * The compact writer: what json_dumps(v, JSON_COMPACT) writes, without
 * jansson's per-character UTF-8 decoding and its callback per chunk.
 * Strings of ASCII only, integers, true, false and null are written
 * here; a string with a byte above 0x7f, a real, a nesting deeper than
 * COMPACT_DEPTH or a value that is neither an object nor an array at
 * the top is left to jansson (fall back), so what jansson would check
 * or refuse stays jansson's to decide.
 */
#define COMPACT_DEPTH 32

struct compact {
	struct acme_buf b;
	int fail; /* 1: out of memory, 2: fall back to jansson */
};

static void
compact_put(struct compact *w, const char *s, size_t n)
{
	if (!w->fail && acme_buf_append(&w->b, s, n) != 0)
		w->fail = 1;
}

static void
compact_string(struct compact *w, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	/* The characters with a two-byte escape, and the letter of each. */
	static const char short_from[] = "\"\\\b\f\n\r\t";
	static const char short_to[] = "\"\\bfnrt";
	const char *p;
	size_t i, run;

	compact_put(w, "\"", 1);
	for (i = 0; i < n && !w->fail; i += run) {
		unsigned char c;

		/* The longest run that needs no escape goes out at once. */
		for (run = 0; i + run < n; run++) {
			c = (unsigned char)s[i + run];
			if (c < 0x20 || c == '"' || c == '\\' || c > 0x7f)
				break;
		}
		if (run > 0) {
			compact_put(w, s + i, run);
			continue;
		}
		c = (unsigned char)s[i];
		run = 1;
		if (c > 0x7f) {
			w->fail = 2;
		} else if ((p = memchr(short_from, c,
				sizeof(short_from) - 1))) {
			char e[2] = { '\\', short_to[p - short_from] };

			compact_put(w, e, sizeof(e));
		} else {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4],
				hex[c & 15] };

			compact_put(w, u, sizeof(u));
		}
	}
	compact_put(w, "\"", 1);
}

static void
compact_value(struct compact *w, const json_t *v, int depth)
{
	char num[32];
	size_t i;
	int n;

	if (w->fail)
		return;
	if (depth > COMPACT_DEPTH) {
		w->fail = 2;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		json_t *o = (json_t *)(uintptr_t)v, *val;
		const char *key;
		size_t klen;
		int first = 1;

		compact_put(w, "{", 1);
#ifdef json_object_keylen_foreach
		json_object_keylen_foreach(o, key, klen, val)
		{
#else
		json_object_foreach(o, key, val)
		{
			klen = strlen(key);
#endif
			if (!first)
				compact_put(w, ",", 1);
			first = 0;
			compact_string(w, key, klen);
			compact_put(w, ":", 1);
			compact_value(w, val, depth + 1);
		}
		compact_put(w, "}", 1);
		break;
	}
	case JSON_ARRAY:
		compact_put(w, "[", 1);
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				compact_put(w, ",", 1);
			compact_value(w, json_array_get(v, i), depth + 1);
		}
		compact_put(w, "]", 1);
		break;
	case JSON_STRING:
		compact_string(w, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		if (n > 0 && (size_t)n < sizeof(num))
			compact_put(w, num, (size_t)n);
		else
			w->fail = 2;
		break;
	case JSON_TRUE:
		compact_put(w, "true", 4);
		break;
	case JSON_FALSE:
		compact_put(w, "false", 5);
		break;
	case JSON_NULL:
		compact_put(w, "null", 4);
		break;
	default:
		w->fail = 2;
		break;
	}
}

char *
acme_json_compact(const json_t *v, size_t *lenp)
{
	struct compact w = { .fail = 0 };
	char *s;

	acme_buf_init(&w.b, SIZE_MAX);
	if (v != NULL && (json_is_object(v) || json_is_array(v))) {
		compact_value(&w, v, 0);
		if (!w.fail)
			return acme_buf_detach(&w.b, lenp);
	}
	acme_buf_release(&w.b);
	if (w.fail == 1 || v == NULL ||
	    (s = json_dumps(v, JSON_COMPACT)) == NULL)
		return NULL;
	if (lenp != NULL)
		*lenp = strlen(s);
	return s;
}
