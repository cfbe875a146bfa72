/* SPDX-License-Identifier: ISC */
/*
 * Prometheus metrics of anvil-ca (D73), served as text at /metrics on
 * admin_listen.  The request path only adds to relaxed atomic counters;
 * what the database knows (revocations, the validation queue, the CRL)
 * is read when the page is scraped.  docs/operations.md lists the
 * series.
 */
#ifndef ANVIL_METRICS_H
#define ANVIL_METRICS_H

#include <anvil/buf.h>

#include "../srv.h"

struct metrics;
struct store;

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * One HTTP request done: its path (routes are told apart by prefix),
 * status, the problem type it carried (0 for none) and its duration.
 */
void metrics_request(struct metrics *m, const char *path, int status,
    int prob_type, double seconds);

/* One validation finished (type: enum store_chall_type). */
void metrics_validation(struct metrics *m, int type, int ok);

/* One certificate issued. */
void metrics_issuance(struct metrics *m);

/*
 * Times st's transactions (commit) and the writes that make their own
 * (order_insert, account_insert) into m's database histogram, from now
 * until metrics_free.  One store per process.
 */
void metrics_time_store(struct metrics *m, struct store *st);

/*
 * Appends the whole exposition (text format 0.0.4) to out, reading the
 * scrape-time gauges from srv's store.  Returns 0 or a negative error.
 */
int metrics_render(struct srv *srv, struct acme_buf *out);

#endif
