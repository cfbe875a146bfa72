/* SPDX-License-Identifier: ISC */
/*
 * ACME_ASSERT on the preconditions of the store wrappers and the reply
 * functions (D69): a call that breaks one aborts in a child process with
 * one line naming the condition on stderr; the same call with its
 * arguments right does its work.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <anvil/err.h>

#include "http/reply.h"
#include "srv.h"
#include "store/store.h"

#include "../helpers.h"

struct fx {
	char *dir;
	struct store *s;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char url[4096];

	if (f == NULL)
		return -1;
	f->dir = th_tmpdir();
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	f->s = store_open(url, NULL);
	*state = f;
	return f->s != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	th_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/*
 * Runs fn(arg) in a child with stderr on a pipe; returns the signal
 * that ended it (0 when it exited) and what it wrote in out.
 */
static int
in_child(void (*fn)(void *), void *arg, char *out, size_t size)
{
	int fds[2], status = 0;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	while (
	    got + 1 < size && (n = read(fds[0], out + got, size - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void
order_get_null_id(void *arg)
{
	struct store_order o;

	store_order_get(arg, NULL, &o, NULL);
}

static void
order_get_unknown_id(void *arg)
{
	struct store_order o;

	if (store_order_get(arg, "nosuchorder", &o, NULL) != ACME_ERR_NOTFOUND)
		abort();
}

static void
contract__store_wrapper_aborts_on_null_id(void **state)
{
	struct fx *f = *state;
	char err[1024];

	assert_int_equal(in_child(order_get_null_id, f->s, err, sizeof(err)),
	    SIGABRT);
	assert_non_null(strstr(err, "assertion failed: id != NULL"));
	assert_int_equal(in_child(order_get_unknown_id, f->s, err, sizeof(err)),
	    0);
	assert_string_equal(err, "");
}

static void
header_null_value(void *arg)
{
	struct resp r;

	(void)arg;
	memset(&r, 0, sizeof(r));
	reply_header(&r, "Location", NULL);
}

static void
body_bad_status(void *arg)
{
	struct resp r;

	(void)arg;
	memset(&r, 0, sizeof(r));
	reply_body(&r, 0, "text/plain", "x", 1);
}

static void
body_ok(void *arg)
{
	struct resp r;

	(void)arg;
	memset(&r, 0, sizeof(r));
	if (reply_header(&r, "Location", "https://ca.test/x") != 0 ||
	    reply_body(&r, 200, "text/plain", "x", 1) != 0 || r.status != 200)
		abort();
	reply_release(&r);
}

static void
contract__reply_aborts_on_broken_precondition(void **state)
{
	char err[1024];

	(void)state;
	assert_int_equal(in_child(header_null_value, NULL, err, sizeof(err)),
	    SIGABRT);
	assert_non_null(strstr(err, "value != NULL"));
	assert_int_equal(in_child(body_bad_status, NULL, err, sizeof(err)),
	    SIGABRT);
	assert_non_null(strstr(err, "status >= HTTP_STATUS_MIN"));
	assert_int_equal(in_child(body_ok, NULL, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    contract__store_wrapper_aborts_on_null_id, setup, teardown),
		cmocka_unit_test(contract__reply_aborts_on_broken_precondition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
