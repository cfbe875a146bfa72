/* SPDX-License-Identifier: ISC */
/*
 * ACME_ASSERT(cond): a precondition that only a bug in anvil's own code
 * can break (a NULL where the contract forbids one), never a check of
 * input: bad input gets a problem document.  When cond is false the
 * process writes one line naming the condition, file, line and function
 * to stderr and aborts, so the bug is found where it is, not later as a
 * wrong reply.  Active in every build but one configured with
 * -Db_ndebug=true (NDEBUG), which compiles it out; the cost otherwise is
 * one predicted branch (D69).
 */
#ifndef ANVIL_CONTRACT_H
#define ANVIL_CONTRACT_H

#include <stdio.h>
#include <stdlib.h>

#ifdef NDEBUG
#define ACME_ASSERT(cond) ((void)0)
#else
#define ACME_ASSERT(cond)                                                      \
	(__builtin_expect(!!(cond), 1) ?                                       \
		(void)0 :                                                      \
		acme_assert_fail(#cond, __FILE__, __LINE__, __func__))

/* Reports a failed ACME_ASSERT and aborts; never returns. */
__attribute__((cold, noreturn)) static inline void
acme_assert_fail(const char *cond, const char *file, int line, const char *func)
{
	fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", file, line, func,
	    cond);
	abort();
}
#endif

#endif
