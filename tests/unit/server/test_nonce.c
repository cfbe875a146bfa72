/* SPDX-License-Identifier: ISC */
/* Unit tests for the server's nonce pool (S-NON-4, S-NON-7, S-NON-8). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <anvil/b64url.h>
#include <anvil/err.h>

#include "nonce.h"

#include "../helpers.h"

static int
cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
nonce__S_NON_7_S_NON_8_unique_and_base64url(void **state)
{
	struct nonce_pool *p = nonce_pool_new(0);
	size_t n = 100000, i;
	char(*all)[NONCE_LEN + 1] = calloc(n, sizeof(*all));

	(void)state;
	assert_non_null(p);
	for (i = 0; i < n; i++) {
		assert_int_equal(nonce_issue(p, all[i]), 0);
		assert_int_equal(strlen(all[i]), NONCE_LEN);
		assert_true(acme_b64url_valid(all[i], NONCE_LEN));
	}
	qsort(all, n, sizeof(*all), cmp);
	for (i = 1; i < n; i++)
		assert_string_not_equal(all[i - 1], all[i]);
	free(all);
	nonce_pool_free(p);
}

static void
nonce__S_NON_4_redeemed_once(void **state)
{
	struct nonce_pool *p = nonce_pool_new(0);
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1];

	(void)state;
	nonce_issue(p, a);
	nonce_issue(p, b);
	assert_int_equal(nonce_redeem(p, b), 0);
	assert_int_equal(nonce_redeem(p, b), ACME_ERR_VERIFY);
	assert_int_equal(nonce_redeem(p, a), 0);
	assert_int_equal(nonce_redeem(p, a), ACME_ERR_VERIFY);
	nonce_pool_free(p);
}

static void
nonce__forged_and_foreign_rejected(void **state)
{
	struct nonce_pool *p = nonce_pool_new(0), *q = nonce_pool_new(0);
	char a[NONCE_LEN + 1];

	(void)state;
	nonce_issue(q, a);
	/* Another pool's nonce decrypts to garbage here. */
	assert_int_equal(nonce_redeem(p, a), ACME_ERR_VERIFY);
	assert_int_equal(nonce_redeem(p, "AAAAAAAAAAAAAAAAAAAAAA"),
	    ACME_ERR_VERIFY);
	assert_int_equal(nonce_redeem(p, "short"), ACME_ERR_VERIFY);
	assert_int_equal(nonce_redeem(p, NULL), ACME_ERR_VERIFY);
	assert_int_equal(nonce_redeem(p, "AAAAAAAAAAAAAAAAAAAAA="),
	    ACME_ERR_VERIFY);
	nonce_pool_free(p);
	nonce_pool_free(q);
}

static void
nonce__old_nonces_expire_past_the_window(void **state)
{
	struct nonce_pool *p = nonce_pool_new(0);
	char first[NONCE_LEN + 1], x[NONCE_LEN + 1], last[NONCE_LEN + 1];
	size_t i;

	(void)state;
	nonce_issue(p, first);
	for (i = 0; i < NONCE_WINDOW; i++)
		nonce_issue(p, x);
	nonce_issue(p, last);
	assert_int_equal(nonce_redeem(p, first), ACME_ERR_VERIFY);
	assert_int_equal(nonce_redeem(p, last), 0);
	nonce_pool_free(p);
}

/* The shared pools' clock and spent set: what the database keeps. */
static time_t fake_now = 1800000000;
static unsigned char spent[8][16];
static size_t nspent;

static time_t
clock_now(void)
{
	return fake_now;
}

static int
spend(void *arg, const unsigned char nonce[16], int64_t expires, int64_t now)
{
	size_t i;

	(void)arg;
	/* Kept until the nonce could no longer be accepted anyway. */
	assert_true(expires >= now &&
		    expires <= now + NONCE_SHARED_TTL + NONCE_SHARED_SKEW);
	for (i = 0; i < nspent; i++)
		if (memcmp(spent[i], nonce, 16) == 0)
			return ACME_ERR_EXISTS;
	assert_true(nspent < 8);
	memcpy(spent[nspent++], nonce, 16);
	return 0;
}

static void
nonce__D77_shared_pools_spend_once_within_the_ttl(void **state)
{
	unsigned char key[16] = { 7 }, other[16] = { 8 };
	struct nonce_pool *a =
	    nonce_pool_new_shared(key, clock_now, spend, NULL);
	struct nonce_pool *b =
	    nonce_pool_new_shared(key, clock_now, spend, NULL);
	struct nonce_pool *c =
	    nonce_pool_new_shared(other, clock_now, spend, NULL);
	struct nonce_pool *local = nonce_pool_new(0);
	char n1[NONCE_LEN + 1], n2[NONCE_LEN + 1], n3[NONCE_LEN + 1];

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	/* Issued by a, spent at b once, refused after at either. */
	assert_int_equal(nonce_issue(a, n1), 0);
	assert_int_equal(nonce_redeem(b, n1), 0);
	assert_int_equal(nonce_redeem(b, n1), ACME_ERR_VERIFY);
	assert_int_equal(nonce_redeem(a, n1), ACME_ERR_VERIFY);
	/* Another key's nonce, and a local pool's, are forged here. */
	assert_int_equal(nonce_issue(c, n2), 0);
	assert_int_equal(nonce_redeem(a, n2), ACME_ERR_VERIFY);
	assert_int_equal(nonce_issue(local, n2), 0);
	assert_int_equal(nonce_redeem(a, n2), ACME_ERR_VERIFY);
	/* Accepted up to the TTL, not past it. */
	assert_int_equal(nonce_issue(a, n2), 0);
	assert_int_equal(nonce_issue(a, n3), 0);
	fake_now += NONCE_SHARED_TTL;
	assert_int_equal(nonce_redeem(b, n2), 0);
	fake_now += 1;
	assert_int_equal(nonce_redeem(b, n3), ACME_ERR_VERIFY);
	/* An issuer whose clock runs ahead by more than the skew. */
	fake_now += NONCE_SHARED_SKEW + 1;
	assert_int_equal(nonce_issue(a, n3), 0);
	fake_now -= NONCE_SHARED_SKEW + 1;
	assert_int_equal(nonce_redeem(b, n3), ACME_ERR_VERIFY);
	assert_int_equal(nspent, 2);
	nonce_pool_free(a);
	nonce_pool_free(b);
	nonce_pool_free(c);
	nonce_pool_free(local);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nonce__S_NON_7_S_NON_8_unique_and_base64url),
		cmocka_unit_test(nonce__S_NON_4_redeemed_once),
		cmocka_unit_test(nonce__forged_and_foreign_rejected),
		cmocka_unit_test(nonce__old_nonces_expire_past_the_window),
		cmocka_unit_test(
		    nonce__D77_shared_pools_spend_once_within_the_ttl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
