/* SPDX-License-Identifier: ISC */
/* Unit tests for buf.c: the bounded growable buffer. */
#include <stdlib.h>
#include <string.h>

#include <anvil/buf.h>
#include <anvil/err.h>

#include "helpers.h"

static void
buf__append_and_nul_terminate(void **state)
{
	struct acme_buf b;

	(void)state;
	acme_buf_init(&b, 100);
	assert_int_equal(acme_buf_puts(&b, "hello"), 0);
	assert_int_equal(acme_buf_append(&b, " world", 6), 0);
	assert_int_equal(b.len, 11);
	assert_string_equal(b.data, "hello world");
	acme_buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.max, 100);
}

static void
buf__limit_is_exact_and_leaves_buffer_unchanged(void **state)
{
	struct acme_buf b;
	char chunk[10];

	(void)state;
	memset(chunk, 'x', sizeof(chunk));
	acme_buf_init(&b, 20);
	assert_int_equal(acme_buf_append(&b, chunk, 10), 0);
	assert_int_equal(acme_buf_append(&b, chunk, 10), 0);
	assert_int_equal(b.len, 20);
	assert_int_equal(acme_buf_append(&b, chunk, 1), ACME_ERR_LIMIT);
	assert_int_equal(b.len, 20);
	assert_int_equal(acme_buf_printf(&b, "%d", 7), ACME_ERR_LIMIT);
	assert_int_equal(b.len, 20);
	assert_true(b.cap <= 21);
	acme_buf_release(&b);
}

static void
buf__huge_length_does_not_overflow(void **state)
{
	struct acme_buf b;

	(void)state;
	acme_buf_init(&b, SIZE_MAX);
	assert_int_equal(acme_buf_puts(&b, "ab"), 0);
	/* len + n would wrap around: must be refused, not allocated. */
	assert_int_equal(acme_buf_append(&b, "x", SIZE_MAX - 1),
	    ACME_ERR_LIMIT);
	assert_int_equal(b.len, 2);
	acme_buf_release(&b);
}

static void
buf__printf_grows(void **state)
{
	struct acme_buf b;
	int i;

	(void)state;
	acme_buf_init(&b, 1 << 20);
	for (i = 0; i < 1000; i++)
		assert_int_equal(acme_buf_printf(&b, "%04d,", i), 0);
	assert_int_equal(b.len, 5000);
	assert_memory_equal(b.data + 4995, "0999,", 5);
	assert_int_equal(b.data[b.len], '\0');
	acme_buf_release(&b);
}

static void
buf__clear_and_detach(void **state)
{
	struct acme_buf b;
	size_t len = 99;
	char *p;

	(void)state;
	acme_buf_init(&b, 64);
	p = acme_buf_detach(&b, &len);
	assert_non_null(p);
	assert_string_equal(p, "");
	assert_int_equal(len, 0);
	free(p);
	acme_buf_puts(&b, "abc");
	acme_buf_clear(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	acme_buf_puts(&b, "xyz");
	p = acme_buf_detach(&b, &len);
	assert_string_equal(p, "xyz");
	assert_int_equal(len, 3);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buf__append_and_nul_terminate),
		cmocka_unit_test(
		    buf__limit_is_exact_and_leaves_buffer_unchanged),
		cmocka_unit_test(buf__huge_length_does_not_overflow),
		cmocka_unit_test(buf__printf_grows),
		cmocka_unit_test(buf__clear_and_detach),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
