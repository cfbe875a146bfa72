/* SPDX-License-Identifier: ISC */
/* Unit tests for log.c: quoting and one-line output. */
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <anvil/log.h>

#include "helpers.h"

static void
log__quote_plain_and_special(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(acme_log_quote("plain", out, sizeof(out)), "plain");
	assert_string_equal(acme_log_quote("", out, sizeof(out)), "\"\"");
	assert_string_equal(acme_log_quote("a b", out, sizeof(out)), "\"a b\"");
	assert_string_equal(acme_log_quote("x=\"y\"\n", out, sizeof(out)),
	    "\"x=\\\"y\\\"\\x0a\"");
	/* Truncation keeps the closing quote and the NUL. */
	assert_string_equal(acme_log_quote("a b c d e", out, 6), "\"a b\"");
}

static void
log__one_line_with_level_filter(void **state)
{
	int fds[2];
	char buf[1024];
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	acme_log_init(fds[1], ACME_LOG_INFO);
	acme_log(ACME_LOG_DEBUG, "hidden", NULL);
	acme_log(ACME_LOG_WARN, "disk low", "free_mb=%d path=%s", 12, "/var");
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_null(strstr(buf, "hidden"));
	assert_non_null(
	    strstr(buf, " level=warn msg=\"disk low\" free_mb=12 path=/var\n"));
	assert_int_equal(strchr(buf, '\n') - buf, n - 1);
	assert_true(acme_log_enabled(ACME_LOG_ERROR));
	assert_false(acme_log_enabled(ACME_LOG_DEBUG));
	acme_log_init(2, ACME_LOG_INFO);
}

/* D73: the same line as one JSON object, checked with jansson. */
static void
log__json_format_same_fields(void **state)
{
	json_t *o;
	int fds[2];
	char buf[4096], q[128];
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	acme_log_init(fds[1], ACME_LOG_INFO);
	acme_log_set_json(1);
	acme_log(ACME_LOG_ERROR, "request done",
	    "status=404 latency_ms=0.25 path=%s code=007 neg=-3 flag",
	    acme_log_quote("/a b\"\n", q, sizeof(q)));
	acme_log_set_json(0);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(strchr(buf, '\n') - buf, n - 1);
	o = json_loads(buf, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "level")),
	    "error");
	assert_string_equal(json_string_value(json_object_get(o, "msg")),
	    "request done");
	assert_int_equal(json_integer_value(json_object_get(o, "status")), 404);
	assert_true(json_real_value(json_object_get(o, "latency_ms")) == 0.25);
	assert_string_equal(json_string_value(json_object_get(o, "path")),
	    "/a b\"\n");
	assert_string_equal(json_string_value(json_object_get(o, "code")),
	    "007");
	assert_int_equal(json_integer_value(json_object_get(o, "neg")), -3);
	assert_true(json_is_true(json_object_get(o, "flag")));
	assert_non_null(
	    strchr(json_string_value(json_object_get(o, "time")), 'Z'));
	json_decref(o);
	acme_log_init(2, ACME_LOG_INFO);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(log__quote_plain_and_special),
		cmocka_unit_test(log__one_line_with_level_filter),
		cmocka_unit_test(log__json_format_same_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
