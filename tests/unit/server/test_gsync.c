/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for group commit: every commit returns only after a flush
 * that started once its write was done, concurrent writers share
 * flushes, flushes never overlap, and a failed flush is reported.
 */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "store/gsync.h"

#include "../helpers.h"

#define THREADS 8
#define WRITES  50

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long writes;  /* writes finished */
static unsigned long durable; /* writes covered by a finished flush */
static unsigned long flushes, in_flush, overlap, late;
static int fail_flush;

static int
flush(void *arg)
{
	struct timespec ms = { 0, 1000 * 1000 };
	unsigned long upto;

	(void)arg;
	pthread_mutex_lock(&mu);
	if (in_flush++ != 0)
		overlap++;
	upto = writes; /* what this flush covers */
	pthread_mutex_unlock(&mu);
	nanosleep(&ms, NULL); /* a disk flush takes about this */
	pthread_mutex_lock(&mu);
	in_flush--;
	flushes++;
	if (!fail_flush && upto > durable)
		durable = upto;
	pthread_mutex_unlock(&mu);
	return fail_flush ? -3 : 0;
}

static void *
writer(void *arg)
{
	struct gsync *g = arg;
	int i;

	for (i = 0; i < WRITES; i++) {
		unsigned long mine;

		pthread_mutex_lock(&mu);
		mine = ++writes;
		pthread_mutex_unlock(&mu);
		if (gsync_commit(g, flush, NULL) != 0)
			abort();
		pthread_mutex_lock(&mu);
		if (durable < mine)
			late++; /* returned before its write was flushed */
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void
gsync__commits_wait_for_a_shared_flush(void **state)
{
	pthread_t t[THREADS];
	struct gsync g;
	int i;

	(void)state;
	assert_int_equal(gsync_init(&g), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer, &g), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(writes, THREADS * WRITES);
	assert_int_equal(late, 0);
	assert_int_equal(overlap, 0);
	/* Eight writers at a time: far fewer flushes than writes. */
	assert_true(flushes < THREADS * WRITES / 2);
	gsync_destroy(&g);
}

static void
gsync__failed_flush_is_reported(void **state)
{
	struct gsync g;

	(void)state;
	assert_int_equal(gsync_init(&g), 0);
	fail_flush = 1;
	assert_int_equal(gsync_commit(&g, flush, NULL), -3);
	fail_flush = 0;
	/* The next commit flushes again and succeeds. */
	assert_int_equal(gsync_commit(&g, flush, NULL), 0);
	gsync_destroy(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gsync__commits_wait_for_a_shared_flush),
		cmocka_unit_test(gsync__failed_flush_is_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
