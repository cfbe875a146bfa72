/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the account key cache: a hit is the same key, a new
 * JWK for the account (keyChange) is a miss that replaces it, two
 * accounts sharing a slot evict each other correctly, a JWK that does
 * not import is refused and not kept, and keys outlive their entries.
 * `make test-tsan` also runs this file under ThreadSanitizer (D92).
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <anvil/jwk.h>
#include <anvil/jws.h>
#include <anvil/key.h>

#include "http/keycache.h"

#include "../helpers.h"

static char *
jwk_text(EVP_PKEY **keyp)
{
	EVP_PKEY *key = acme_key_generate(ACME_KEY_EC256, NULL);
	json_t *jwk = acme_jwk_from_key(key, NULL);
	char *s = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(jwk);
	*keyp = key;
	return s;
}

static void
keycache__hit_miss_replace(void **state)
{
	struct keycache *kc = keycache_new(1); /* one slot: every id collides */
	struct acme_problem p = { 0 };
	EVP_PKEY *k1, *k2, *a, *b, *c, *d;
	char *j1 = jwk_text(&k1), *j2 = jwk_text(&k2);

	(void)state;
	assert_non_null(kc);
	a = keycache_get(kc, "acct1", j1, &p);
	b = keycache_get(kc, "acct1", j1, &p);
	assert_non_null(a);
	assert_ptr_equal(a, b); /* imported once */
	assert_int_equal(EVP_PKEY_eq(a, k1), 1);
	/* keyChange: the same account with a new JWK gets the new key. */
	c = keycache_get(kc, "acct1", j2, &p);
	assert_ptr_not_equal(c, a);
	assert_int_equal(EVP_PKEY_eq(c, k2), 1);
	/* Another account in the same slot. */
	d = keycache_get(kc, "acct2", j1, &p);
	assert_int_equal(EVP_PKEY_eq(d, k1), 1);
	assert_ptr_not_equal(d, a);
	/* Keys handed out stay valid after eviction and after the cache. */
	keycache_free(kc);
	assert_int_equal(EVP_PKEY_eq(a, k1), 1);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	EVP_PKEY_free(c);
	EVP_PKEY_free(d);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	free(j1);
	free(j2);
}

static void
keycache__bad_jwk_refused(void **state)
{
	struct keycache *kc = keycache_new(64);
	struct acme_problem p = { 0 };

	(void)state;
	assert_null(keycache_get(kc, "acct1",
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}",
	    &p));
	assert_true(p.detail[0] != '\0');
	acme_problem_release(&p);
	assert_null(keycache_get(kc, "acct1", "not json", &p));
	acme_problem_release(&p);
	keycache_free(kc);
	keycache_free(NULL);
}

/*
 * D92: one request verifies with an account's key and gives it back;
 * then another evicts that account from the slot and the key is freed.
 * The reader says it is done through a relaxed atomic, which orders
 * nothing for ThreadSanitizer, as in the server, where OpenSSL's own
 * reference count (invisible to it) is all that orders the two.  Under
 * TSan the free races with the reader's last use unless giving back
 * synchronises with the eviction.
 */
struct reader {
	struct keycache *kc;
	const char *jwk;
	const unsigned char *sig;
	size_t siglen;
	int verified;
	int done; /* relaxed only */
};

#define SIGNED "the JWS signing input"

static void *
reader_run(void *arg)
{
	struct reader *r = arg;
	struct acme_problem p = { 0 };
	EVP_PKEY *key = keycache_get(r->kc, "acct1", r->jwk, &p);

	r->verified =
	    key != NULL && acme_jws_verify_raw(key, ACME_JWS_ES256, SIGNED,
			       strlen(SIGNED), r->sig, r->siglen, &p) == 0;
	keycache_put(r->kc, "acct1", key);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void
keycache__D92_given_back_before_evicted(void **state)
{
	struct keycache *kc = keycache_new(1); /* one slot: every id collides */
	struct acme_problem p = { 0 };
	struct reader r = { 0 };
	EVP_PKEY *k1, *k2, *got;
	char *j1 = jwk_text(&k1), *j2 = jwk_text(&k2);
	unsigned char *sig;
	pthread_t t;

	(void)state;
	sig = acme_jws_sign_raw(k1, ACME_JWS_ES256, SIGNED, strlen(SIGNED),
	    &r.siglen, &p);
	assert_non_null(sig);
	r.kc = kc;
	r.jwk = j1;
	r.sig = sig;
	assert_int_equal(pthread_create(&t, NULL, reader_run, &r), 0);
	while (!__atomic_load_n(&r.done, __ATOMIC_RELAXED))
		sched_yield();
	/* acct2 takes the slot: acct1's key loses its last reference. */
	got = keycache_get(kc, "acct2", j2, &p);
	assert_non_null(got);
	keycache_put(kc, "acct2", got);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(r.verified);
	keycache_free(kc);
	free(sig);
	EVP_PKEY_free(k1);
	EVP_PKEY_free(k2);
	free(j1);
	free(j2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keycache__hit_miss_replace),
		cmocka_unit_test(keycache__bad_jwk_refused),
		cmocka_unit_test(keycache__D92_given_back_before_evicted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
