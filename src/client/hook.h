/* SPDX-License-Identifier: ISC */
/*
 * Running hooks (the deploy hook, the dns-01 hook): one child in its own
 * process group, its stdout sent to anvil's stderr (anvil's stdout is
 * its result, --json included), stopped when it runs too long.
 */
#ifndef ANVIL_HOOK_H
#define ANVIL_HOOK_H

#include <anvil/problem.h>

#define HOOK_TIMEOUT_DEFAULT 600 /* seconds, --hook-timeout */
#define HOOK_GRACE           5   /* seconds between SIGTERM and SIGKILL */

/*
 * Runs argv (argv[0] is the program, found without PATH) and waits at
 * most timeout seconds; then its process group gets SIGTERM and, if it
 * is still there HOOK_GRACE seconds later, SIGKILL.  setup(arg), when
 * not NULL, runs in the child before exec (environment).  what names
 * the hook in messages ("deploy hook", "dns hook \"x add y\"").
 * Returns the exit status (0-255), or -1 with prob set when it could
 * not run, was killed by a signal or timed out.
 */
int hook_run(const char *what, char *const argv[], void (*setup)(const void *),
    const void *arg, int timeout, struct acme_problem *prob);

#endif
