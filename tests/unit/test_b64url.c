/* SPDX-License-Identifier: ISC */
/* Unit tests for b64url.c: RFC 4648 vectors and every strictness rule. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/b64url.h>
#include <anvil/err.h>

#include "helpers.h"

static int
decodes(const char *s)
{
	unsigned char *out = NULL;
	size_t len;
	int rc = acme_b64url_decode(s, strlen(s), &out, &len);

	free(out);
	return rc == 0;
}

/* RFC 4648 section 10, in the URL-safe alphabet without padding. */
static void
b64url__rfc4648_vectors(void **state)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob", "fooba",
		"foobar" };
	static const char *const out[] = { "", "Zg", "Zm8", "Zm9v", "Zm9vYg",
		"Zm9vYmE", "Zm9vYmFy" };
	size_t i;

	(void)state;
	for (i = 0; i < 7; i++) {
		char *e = acme_b64url_encode(in[i], strlen(in[i]));
		unsigned char *d = NULL;
		size_t dlen;

		assert_non_null(e);
		assert_string_equal(e, out[i]);
		assert_int_equal(acme_b64url_encoded_len(strlen(in[i])),
		    strlen(out[i]));
		assert_int_equal(acme_b64url_decode(e, strlen(e), &d, &dlen),
		    0);
		assert_int_equal(dlen, strlen(in[i]));
		assert_memory_equal(d, in[i], dlen);
		assert_int_equal(d[dlen], '\0');
		free(e);
		free(d);
	}
}

static void
b64url__url_alphabet(void **state)
{
	const unsigned char raw[] = { 0xfb, 0xff, 0xbf };
	char *e;

	(void)state;
	e = acme_b64url_encode(raw, sizeof(raw));
	assert_string_equal(e, "-_-_");
	free(e);
}

static void
b64url__round_trip_all_bytes_and_lengths(void **state)
{
	unsigned char data[256];
	size_t n, i;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)i;
	for (n = 0; n <= 256; n++) {
		char *e = acme_b64url_encode(data, n);
		unsigned char *d = NULL;
		size_t dlen;

		assert_non_null(e);
		assert_true(acme_b64url_valid(e, strlen(e)) || n == 0);
		assert_int_equal(acme_b64url_decode(e, strlen(e), &d, &dlen),
		    0);
		assert_int_equal(dlen, n);
		assert_memory_equal(d, data, n);
		free(e);
		free(d);
	}
}

static void
b64url__S_TRN_7_rejects_padding(void **state)
{
	(void)state;
	assert_false(decodes("Zg=="));
	assert_false(decodes("Zm8="));
	assert_false(decodes("Zm9v===="));
	assert_false(acme_b64url_valid("Zm8=", 4));
}

static void
b64url__rejects_whitespace(void **state)
{
	(void)state;
	assert_false(decodes("Zm9v Yg"));
	assert_false(decodes("Zm9v\nYg"));
	assert_false(decodes(" Zm9v"));
	assert_false(decodes("Zm9v\t"));
}

static void
b64url__rejects_standard_alphabet(void **state)
{
	(void)state;
	assert_false(decodes("-_+/"));
	assert_false(decodes("++++"));
	assert_false(decodes("////"));
}

static void
b64url__rejects_foreign_bytes(void **state)
{
	unsigned char *out = NULL;
	size_t len;

	(void)state;
	assert_false(decodes("Zm9v*g"));
	assert_false(decodes("Zm9v\xc3\xa9"));
	assert_false(decodes("Zm.v"));
	/* A NUL inside the counted length is a foreign byte too. */
	assert_int_equal(acme_b64url_decode("Zm\0v", 4, &out, &len),
	    ACME_ERR_INVAL);
	assert_null(out);
}

/*
 * Every byte value in each position of a group of four and of a final
 * group of three: accepted exactly when it is in the alphabet, with the
 * alphabet's value (the decoder's table against the encoder's alphabet).
 */
static void
b64url__every_byte_in_every_position(void **state)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char *out = NULL;
	size_t len, pos, n;
	int c;

	(void)state;
	for (n = 3; n <= 4; n++) {
		for (pos = 0; pos < n; pos++) {
			for (c = 0; c < 256; c++) {
				/* "AAAA" or "AAA" with c at pos; in the last
				 * place of three, only values with low bits
				 * 00 are canonical. */
				char in[4] = { 'A', 'A', 'A', 'A' };
				const char *at =
				    c != 0 ? strchr(alpha, c) : NULL;
				int v = at != NULL ? (int)(at - alpha) : -1;
				int ok = v >= 0 &&
					 !(n == 3 && pos == 2 && (v & 3) != 0);
				int rc;

				in[pos] = (char)c;
				rc = acme_b64url_decode(in, n, &out, &len);
				assert_int_equal(rc, ok ? 0 : ACME_ERR_INVAL);
				if (!ok) {
					assert_null(out);
					continue;
				}
				assert_int_equal(len, n - 1);
				/* The 24 (or 18) bits hold v at its place. */
				{
					uint32_t w = (uint32_t)out[0] << 16 |
						     (uint32_t)out[1] << 8 |
						     (n == 4 ? out[2] : 0);

					assert_int_equal(w >> (18 - 6 * pos) &
							     63,
					    (uint32_t)v);
				}
				free(out);
				out = NULL;
			}
		}
	}
}

static void
b64url__rejects_impossible_length(void **state)
{
	(void)state;
	assert_false(decodes("Z"));
	assert_false(decodes("Zm9vY"));
	assert_false(acme_b64url_valid("Zm9vY", 5));
}

/* "Zh" decodes to 'f' only if the unused low bits are ignored. */
static void
b64url__rejects_nonzero_trailing_bits(void **state)
{
	(void)state;
	assert_true(decodes("Zg"));
	assert_false(decodes("Zh"));
	assert_true(decodes("Zm8"));
	assert_false(decodes("Zm9"));
	assert_false(acme_b64url_valid("Zh", 2));
	assert_false(acme_b64url_valid("Zm9", 3));
	assert_true(acme_b64url_valid("Zm8", 3));
}

static void
b64url__encode_to_bounds(void **state)
{
	char out[5];

	(void)state;
	assert_int_equal(acme_b64url_encode_to("foo", 3, out, sizeof(out)), 0);
	assert_string_equal(out, "Zm9v");
	assert_int_equal(acme_b64url_encode_to("foo", 3, out, 4),
	    ACME_ERR_LIMIT);
	assert_int_equal(acme_b64url_encode_to("foob", 4, out, sizeof(out)),
	    ACME_ERR_LIMIT);
}

static void
b64url__valid_rejects_empty(void **state)
{
	(void)state;
	assert_false(acme_b64url_valid("", 0));
	assert_true(acme_b64url_valid("abcd", 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64url__rfc4648_vectors),
		cmocka_unit_test(b64url__url_alphabet),
		cmocka_unit_test(b64url__round_trip_all_bytes_and_lengths),
		cmocka_unit_test(b64url__S_TRN_7_rejects_padding),
		cmocka_unit_test(b64url__rejects_whitespace),
		cmocka_unit_test(b64url__rejects_standard_alphabet),
		cmocka_unit_test(b64url__rejects_foreign_bytes),
		cmocka_unit_test(b64url__every_byte_in_every_position),
		cmocka_unit_test(b64url__rejects_impossible_length),
		cmocka_unit_test(b64url__rejects_nonzero_trailing_bits),
		cmocka_unit_test(b64url__encode_to_bounds),
		cmocka_unit_test(b64url__valid_rejects_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
