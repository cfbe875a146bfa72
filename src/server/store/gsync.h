/* SPDX-License-Identifier: ISC */
/*
 * Group commit for anything flushed with fsync: the SQLite WAL, the
 * audit log.  A writer first writes (to the page cache), then calls
 * gsync_commit(), which returns once a flush that began after the write
 * has completed.  The first waiter runs the flush for every write
 * finished so far and later ones wait for it or lead the next, so under
 * load one flush (about 1 ms here) covers many writers instead of
 * serialising them at one flush each.
 */
#ifndef ANVIL_GSYNC_H
#define ANVIL_GSYNC_H

#include <pthread.h>
#include <stdint.h>

struct gsync {
	pthread_mutex_t lock; /* guards the three below */
	pthread_cond_t cond;
	uint64_t written; /* writes finished */
	uint64_t flushed; /* writes known to be on disk */
	int flushing;     /* a thread runs flush() */
};

/* Returns 0, or -1 when the mutex or condition cannot be made. */
int gsync_init(struct gsync *g);
void gsync_destroy(struct gsync *g);

/*
 * Waits until the write the caller just finished is flushed; flush(arg)
 * returns 0 or a negative error, which is returned (the write may then
 * not be durable).  flush is never run by two threads at once.
 */
int gsync_commit(struct gsync *g, int (*flush)(void *arg), void *arg);

#endif
