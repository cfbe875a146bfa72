/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for connection deadlines (D55): an armed entry past its
 * deadline has its socket shut down (the peer reads end of file), a
 * disarmed one is left alone, and arming again moves the deadline.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/deadline.h"

#include "../helpers.h"

/* Whether the peer of sv[1] has shut sv[0] down (EOF on sv[1]). */
static int
shut(const int sv[2])
{
	char c;

	return recv(sv[1], &c, 1, MSG_DONTWAIT) == 0;
}

/* Whether sv[1] sees its peer shut within 10 s, looking every 50 ms. */
static int
wait_shut(int sv[2])
{
	int i;

	for (i = 0; i < 200; i++) {
		if (shut(sv))
			return 1;
		usleep(50 * 1000);
	}
	return 0;
}

static void
deadline__expired_shut_disarmed_kept(void **state)
{
	struct deadline_set *d = deadline_set_new();
	struct deadline_entry *late, *done, *moved;
	int a[2], b[2], c[2];

	(void)state;
	assert_non_null(d);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, c), 0);
	late = deadline_add(d, a[0], 1);
	done = deadline_add(d, b[0], 1);
	moved = deadline_add(d, c[0], 1);
	assert_non_null(late);
	assert_non_null(done);
	assert_non_null(moved);
	deadline_disarm(d, done);
	deadline_arm(d, moved, 30);
	/* Past the 1 s deadline and a sweep (250 ms) later; a loaded
	 * machine may take longer, so wait for it (10 s at most). */
	assert_true(wait_shut(a));
	assert_false(shut(b));
	assert_int_equal(errno, EAGAIN);
	assert_false(shut(c));
	assert_int_equal(deadline_expired(d), 1);
	/* Armed again after the wait ended: due again. */
	deadline_arm(d, done, 1);
	assert_true(wait_shut(b));
	assert_false(shut(c));
	assert_int_equal(deadline_expired(d), 2);
	deadline_remove(d, late);
	deadline_remove(d, done);
	deadline_remove(d, moved);
	deadline_set_free(d);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	close(c[0]);
	close(c[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deadline__expired_shut_disarmed_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
