/* SPDX-License-Identifier: ISC */
/*
 * Building replies: JSON bodies, problem documents, and the headers ACME
 * uses (Location, Link, Retry-After).  Header values are checked for
 * CR/LF before they are set; nothing here formats JSON by hand.  Every
 * pointer argument must be non-NULL unless its comment says otherwise,
 * and statuses are 200 to 599 (ACME_ASSERT, D69).
 */
#ifndef ANVIL_REPLY_H
#define ANVIL_REPLY_H

#include <jansson.h>

#include "../srv.h"

/* Adds a header (value copied).  Returns 0 or a negative error. */
int reply_header(struct resp *r, const char *name, const char *value);
/* Adds a header from format.  Returns 0 or a negative error. */
int reply_headerf(struct resp *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Link: <url>;rel="rel" */
int reply_link(struct resp *r, const char *url, const char *rel);

/*
 * Sets a JSON body (application/json) from obj, which is stolen
 * (decref'd here; NULL, as from a failed json_pack, sets a 500).  Returns 0 or a negative error (and sets a 500).
 */
int reply_json(struct resp *r, int status, json_t *obj);

/*
 * Sets a problem body (application/problem+json) from prob, with
 * prob->status as the HTTP status.  prob is copied into r->prob for the
 * request log; the caller keeps ownership of prob's subproblems.
 */
void reply_problem(struct resp *r, const struct acme_problem *prob);

/*
 * As reply_problem(), merging the members of extra (borrowed) into the
 * document, e.g. "algorithms" for badSignatureAlgorithm.
 */
void reply_problem_ex(struct resp *r, const struct acme_problem *prob,
    const json_t *extra);

/* Shorthand: a problem of type with a formatted detail. */
void reply_error(struct resp *r, enum acme_prob_type type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets a body of another type (content_type static), copying data. */
int reply_body(struct resp *r, int status, const char *content_type,
    const char *data, size_t len);

/* Frees everything the reply owns. */
void reply_release(struct resp *r);

#endif
