/* SPDX-License-Identifier: ISC */
/* Group commit (see gsync.h). */
#include "gsync.h"

#include "internal.h"

int
gsync_init(struct gsync *g)
{
	g->written = g->flushed = 0;
	g->flushing = 0;
	if (pthread_mutex_init(&g->lock, NULL) != 0)
		return -1;
	if (pthread_cond_init(&g->cond, NULL) != 0) {
		pthread_mutex_destroy(&g->lock);
		return -1;
	}
	return 0;
}

void
gsync_destroy(struct gsync *g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

int
gsync_commit(struct gsync *g, int (*flush)(void *arg), void *arg)
{
	uint64_t mine, target;
	int rc = 0;

	pthread_mutex_lock(&g->lock);
	mine = ++g->written;
	while (g->flushed < mine) {
		if (g->flushing) {
			pthread_cond_wait(&g->cond, &g->lock);
			continue;
		}
		/* Lead: one flush for every write finished until now. */
		target = g->written;
		g->flushing = 1;
		pthread_mutex_unlock(&g->lock);
		rc = flush(arg);
		pthread_mutex_lock(&g->lock);
		g->flushing = 0;
		if (rc == 0 && target > g->flushed)
			g->flushed = target;
		pthread_cond_broadcast(&g->cond);
		if (rc != 0)
			break;
	}
	pthread_mutex_unlock(&g->lock);
	return rc;
}
