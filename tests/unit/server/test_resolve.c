/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the validation resolvers (resolve.c): several workers'
 * first queries at once.  A context's first query sets up libunbound's
 * process-wide state, which it does without a lock; `make test-tsan`
 * runs this file under ThreadSanitizer, which reports the unguarded
 * set-up unless resolve.c runs it one at a time (D93).  localhost is
 * answered from libunbound's own local zone, so nothing leaves the
 * process.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "va/dnsmsg.h"
#include "va/va.h"

#include "../helpers.h"

#define WORKERS 4
/* Rounds of fresh resolvers: deleting the last context tears the global
 * state down, so every round sets it up again. */
#define ROUNDS     200
#define TIMEOUT_MS 5000

struct first_query {
	struct va_resolver *res;
	pthread_barrier_t *go;
	int rc;
	size_t n;
	unsigned char addr[4];
};

static void *
first_query_run(void *arg)
{
	struct first_query *q = arg;
	struct va_dns_result r;

	pthread_barrier_wait(q->go);
	q->rc = va_resolve_bounded(q->res, "localhost", DNSMSG_TYPE_A,
	    TIMEOUT_MS, &r);
	q->n = r.n;
	if (r.n == 1 && r.len[0] == sizeof(q->addr))
		memcpy(q->addr, r.data[0], sizeof(q->addr));
	va_dns_result_release(&r);
	return NULL;
}

static void
resolve__D93_first_queries_at_once(void **state)
{
	static const unsigned char loopback[4] = { 127, 0, 0, 1 };
	struct first_query q[WORKERS];
	pthread_t t[WORKERS];
	pthread_barrier_t go;
	int round, i;

	(void)state;
	for (round = 0; round < ROUNDS; round++) {
		memset(q, 0, sizeof(q));
		assert_int_equal(pthread_barrier_init(&go, NULL, WORKERS), 0);
		for (i = 0; i < WORKERS; i++) {
			/* A forwarder nothing listens on: only local data
			 * answers. */
			q[i].res = va_resolver_new("127.0.0.1:9", NULL);
			assert_non_null(q[i].res);
			q[i].go = &go;
		}
		for (i = 0; i < WORKERS; i++)
			assert_int_equal(pthread_create(&t[i], NULL,
					     first_query_run, &q[i]),
			    0);
		for (i = 0; i < WORKERS; i++)
			assert_int_equal(pthread_join(t[i], NULL), 0);
		for (i = 0; i < WORKERS; i++) {
			assert_int_equal(q[i].rc, 0);
			assert_int_equal(q[i].n, 1);
			assert_memory_equal(q[i].addr, loopback, 4);
			va_resolver_free(q[i].res);
		}
		pthread_barrier_destroy(&go);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resolve__D93_first_queries_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
