/* SPDX-License-Identifier: ISC */
/*
 * The SQLite back end of the storage interface (see store.h): the
 * operations, each a few statements of sqlite_schema.c run on the
 * connection of sqlite_conn.c under its lock, and the ops table.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include <anvil/err.h>
#include <anvil/json.h>

#include "sqlite_int.h"
#include "store_rows.h"
#include "../policy/ratelimit.h"
#include "store_sqlite.h"

#include "internal.h"

/* Rows a growing result array first holds; it doubles from there. */
#define ROWS_FIRST     16
#define ROWS_FIRST_BIG 64 /* of the revoked certificates, for a CRL */

/*
 * Steps a single-row query.  Returns 0 with the row current (the caller
 * resets q), ACME_ERR_NOTFOUND when there is no row, or ACME_ERR_IO.
 */
static int
one_row(sqlite3_stmt *q, struct acme_problem *prob)
{
	int rc;

	if (q == NULL)
		return ACME_ERR_IO;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		rc = ACME_ERR_NOTFOUND;
	else
		rc = sq_db_fail(sqlite3_db_handle(q), "read", prob);
	sqlite3_reset(q);
	return rc;
}

/* Steps a count(*) query into *n (0 on failure). */
static int
one_count(sqlite3_stmt *q, long long *n, struct acme_problem *prob)
{
	int rc = one_row(q, prob);

	*n = 0;
	if (rc != 0)
		return rc;
	*n = (long long)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

/*
 * A write whose WHERE names the expected state (q, bound).  When no row
 * changed, the statement exists (bound with id) tells a missing record
 * (ACME_ERR_NOTFOUND) from one in another state (ACME_ERR_CONFLICT).
 * Records are never deleted, so the answer cannot go stale.
 */
static int
run_cond(struct store *st, sqlite3_stmt *q, enum stmt exists, const char *id,
    struct acme_problem *prob)
{
	int rc = sq_run(st, q, prob);

	if (rc != 0)
		return rc;
	if (sqlite3_changes(sqlite3_db_handle(q)) > 0)
		return 0;
	q = sq_prep(st, exists, prob, "s", id);
	if ((rc = one_row(q, prob)) != 0)
		return rc;
	sqlite3_reset(q);
	return ACME_ERR_CONFLICT;
}

/* A new copy of text column i, or NULL when it is NULL; *err on OOM. */
static char *
col_dup(sqlite3_stmt *q, int i, int *err)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	char *s;

	if (t == NULL)
		return NULL;
	if ((s = strdup((const char *)t)) == NULL)
		*err = 1;
	return s;
}

/* Copies a text column into out[size], cut at size - 1 bytes as
 * snprintf() would cut it, without a format to interpret. */
static void
col_copy(sqlite3_stmt *q, int i, char *out, size_t size)
{
	const char *t = (const char *)sqlite3_column_text(q, i);
	size_t n = t != NULL ? strnlen(t, size - 1) : 0;

	if (n > 0)
		memcpy(out, t, n);
	out[n] = '\0';
}

/* --- accounts --- */

static int
account_insert(struct store *st, const struct store_account *a,
    struct acme_problem *prob)
{
	return sq_run(st,
	    sq_prep(st, S_ACCT_INSERT, prob, "sisssissi", a->id,
		(long long)a->status, a->thumbprint, a->jwk, a->contact,
		(long long)a->tos_agreed, a->eab, a->eab_kid,
		(long long)a->created),
	    prob);
}

/* Reads the row of an account query into out. */
static int
account_fetch(sqlite3_stmt *q, struct store_account *a,
    struct acme_problem *prob)
{
	int rc = one_row(q, prob), err = 0;

	if (rc != 0)
		return rc;
	memset(a, 0, sizeof(*a));
	col_copy(q, 0, a->id, sizeof(a->id));
	a->status = (enum store_status)sqlite3_column_int(q, 1);
	col_copy(q, 2, a->thumbprint, sizeof(a->thumbprint));
	a->jwk = col_dup(q, 3, &err);
	a->contact = col_dup(q, 4, &err);
	a->tos_agreed = sqlite3_column_int(q, 5);
	a->eab = col_dup(q, 6, &err);
	col_copy(q, 7, a->eab_kid, sizeof(a->eab_kid));
	a->created = (time_t)sqlite3_column_int64(q, 8);
	a->paused = (time_t)sqlite3_column_int64(q, 9);
	sqlite3_reset(q);
	if (err || a->jwk == NULL) {
		store_account_release(a);
		return sq_oom(prob);
	}
	return 0;
}

static int
account_get(struct store *st, const char *id, struct store_account *out,
    struct acme_problem *prob)
{
	return account_fetch(sq_prep(st, S_ACCT_GET, prob, "s", id), out, prob);
}

static int
account_by_thumbprint(struct store *st, const char *thumb,
    struct store_account *out, struct acme_problem *prob)
{
	return account_fetch(sq_prep(st, S_ACCT_BY_THUMB, prob, "s", thumb),
	    out, prob);
}

static int
account_update(struct store *st, const struct store_account *seen,
    const struct store_account_change *chg, struct acme_problem *prob)
{
	/* A key is its thumbprint and its JWK: both or neither. */
	if ((chg->thumbprint == NULL) != (chg->jwk == NULL))
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "account_update: thumbprint without jwk");
	return run_cond(st,
	    sq_prep(st, S_ACCT_UPDATE, prob, "issssis", (long long)chg->status,
		chg->thumbprint, chg->jwk, chg->contact, seen->id,
		(long long)seen->status, seen->thumbprint),
	    S_ACCT_EXISTS, seen->id, prob);
}

/* --- orders, authorizations, challenges --- */

/* Inserts z and its challenges; the caller holds the transaction. */
static int
insert_authz(struct store *st, const struct store_authz *z,
    struct acme_problem *prob)
{
	size_t i;
	int rc;

	rc = sq_run(st,
	    sq_prep(st, S_AUTHZ_INSERT, prob, "ssisiiii", z->id, z->account_id,
		(long long)z->ident.type, z->ident.value,
		(long long)(z->wildcard != 0), (long long)z->status,
		(long long)z->expires, (long long)z->created),
	    prob);
	for (i = 0; rc == 0 && i < z->nchall; i++) {
		const struct store_chall *c = &z->challs[i];

		rc = sq_run(st,
		    sq_prep(st, S_CHALL_INSERT, prob, "ssiisisi", c->id, z->id,
			(long long)c->type, (long long)c->status, c->token,
			(long long)c->validated, c->error,
			(long long)c->attempts),
		    prob);
	}
	return rc;
}

static int
order_insert(struct store *st, const struct store_order *o,
    const struct store_authz *authzs, size_t nnew, struct acme_problem *prob)
{
	char *idents = store_idents_json(o->idents, o->nident);
	char *authz_ids = store_ids_json(o->authz_ids, o->nauthz);
	size_t i;
	int rc;

	if (idents == NULL || authz_ids == NULL) {
		rc = sq_oom(prob);
		goto out;
	}
	if ((rc = sq_begin(st, prob)) != 0)
		goto out;
	rc = sq_run(st,
	    sq_prep(st, S_ORDER_INSERT, prob, "ssiiiiissssss", o->id,
		o->account_id, (long long)o->status, (long long)o->expires,
		(long long)o->not_before, (long long)o->not_after,
		(long long)o->created, idents, authz_ids, o->error, o->cert_id,
		o->profile, o->replaces),
	    prob);
	for (i = 0; rc == 0 && i < nnew; i++)
		rc = insert_authz(st, &authzs[i], prob);
	if (rc == 0)
		rc = sq_commit(st, prob);
	if (rc != 0)
		sq_rollback(st);
out:
	free(idents);
	free(authz_ids);
	return rc;
}

static int
authz_insert(struct store *st, const struct store_authz *z,
    struct acme_problem *prob)
{
	int rc;

	if ((rc = sq_begin(st, prob)) != 0)
		return rc;
	rc = insert_authz(st, z, prob);
	if (rc == 0)
		rc = sq_commit(st, prob);
	if (rc != 0)
		sq_rollback(st);
	return rc;
}

static int
order_get(struct store *st, const char *id, struct store_order *o,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, S_ORDER_GET, prob, "s", id);
	int rc = one_row(q, prob), err = 0;

	if (rc != 0)
		return rc;
	memset(o, 0, sizeof(*o));
	col_copy(q, 0, o->id, sizeof(o->id));
	col_copy(q, 1, o->account_id, sizeof(o->account_id));
	o->status = (enum store_status)sqlite3_column_int(q, 2);
	o->expires = (time_t)sqlite3_column_int64(q, 3);
	o->not_before = (time_t)sqlite3_column_int64(q, 4);
	o->not_after = (time_t)sqlite3_column_int64(q, 5);
	o->created = (time_t)sqlite3_column_int64(q, 6);
	rc =
	    store_parse_order_arrays(o, (const char *)sqlite3_column_text(q, 7),
		(const char *)sqlite3_column_text(q, 8));
	o->error = col_dup(q, 9, &err);
	col_copy(q, 10, o->cert_id, sizeof(o->cert_id));
	col_copy(q, 11, o->profile, sizeof(o->profile));
	col_copy(q, 12, o->replaces, sizeof(o->replaces));
	sqlite3_reset(q);
	if (rc == 0 && !err)
		return 0;
	store_order_release(o);
	if (err || rc == ACME_ERR_NOMEM)
		return sq_oom(prob);
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
	    "database: stored order %s is unreadable", id);
	return ACME_ERR_IO;
}

static int
order_set_status(struct store *st, const char *id, enum store_status from,
    enum store_status to, const char *error, const char *cert_id,
    struct acme_problem *prob)
{
	return run_cond(st,
	    sq_prep(st, S_ORDER_SET_STATUS, prob, "isssi", (long long)to, error,
		cert_id, id, (long long)from),
	    S_ORDER_EXISTS, id, prob);
}

static int
order_claim(struct store *st, const char *id, const char *owner, time_t until,
    struct acme_problem *prob)
{
	return run_cond(st,
	    sq_prep(st, S_ORDER_CLAIM, prob, "sis", owner, (long long)until,
		id),
	    S_ORDER_EXISTS, id, prob);
}

static int
order_claim_end(struct store *st, const char *id, const char *owner,
    enum store_status to, const char *cert_id, struct acme_problem *prob)
{
	return run_cond(st,
	    sq_prep(st, S_ORDER_CLAIM_END, prob, "isss", (long long)to, cert_id,
		id, owner),
	    S_ORDER_EXISTS, id, prob);
}

static int
orders_unclaim(struct store *st, time_t expired_before, size_t *n,
    struct acme_problem *prob)
{
	sqlite3_stmt *q =
	    sq_prep(st, S_ORDER_UNCLAIM, prob, "i", (long long)expired_before);
	int rc = sq_run(st, q, prob);

	*n = rc == 0 ? (size_t)sqlite3_changes(sqlite3_db_handle(q)) : 0;
	return rc;
}

static int
order_list(struct store *st, const char *account_id, const char *after,
    char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
    struct acme_problem *prob)
{
	sqlite3_stmt *q;
	long long seq = 0;
	int rc = SQLITE_DONE;

	*n = 0;
	if (after != NULL && after[0] != '\0') {
		q = sq_prep(st, S_ORDER_SEQ, prob, "ss", after, account_id);
		rc = one_row(q, prob);
		if (rc == ACME_ERR_NOTFOUND)
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "unknown order list cursor");
		if (rc != 0)
			return rc;
		seq = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
		rc = SQLITE_DONE;
	}
	q = sq_prep(st, S_ORDER_LIST, prob, "siii", account_id, seq,
	    (long long)ST_INVALID,
	    (long long)(max > INT64_MAX ? INT64_MAX : max));
	if (q == NULL)
		return ACME_ERR_IO;
	while (*n < max && (rc = sqlite3_step(q)) == SQLITE_ROW)
		col_copy(q, 0, ids[(*n)++], STORE_ID_SIZE);
	if (*n < max && rc != SQLITE_DONE)
		rc = sq_db_fail(sqlite3_db_handle(q), "read", prob);
	else
		rc = 0;
	sqlite3_reset(q);
	return rc;
}

static int
order_count_open(struct store *st, const char *profile, time_t now,
    long long *n, struct acme_problem *prob)
{
	return one_count(sq_prep(st, S_ORDER_COUNT_OPEN, prob, "si", profile,
			     (long long)now),
	    n, prob);
}

static int
read_chall(sqlite3_stmt *q, struct store_chall *c)
{
	int err = 0;

	memset(c, 0, sizeof(*c));
	col_copy(q, 0, c->id, sizeof(c->id));
	col_copy(q, 1, c->authz_id, sizeof(c->authz_id));
	c->type = (enum store_chall_type)sqlite3_column_int(q, 2);
	c->status = (enum store_status)sqlite3_column_int(q, 3);
	col_copy(q, 4, c->token, sizeof(c->token));
	c->validated = (time_t)sqlite3_column_int64(q, 5);
	c->error = col_dup(q, 6, &err);
	c->attempts = sqlite3_column_int(q, 7);
	return err ? ACME_ERR_NOMEM : 0;
}

static int
authz_get(struct store *st, const char *id, struct store_authz *z,
    struct acme_problem *prob)
{
	int began = sq_read_begin(st);
	sqlite3_stmt *q = sq_prep(st, S_AUTHZ_GET, prob, "s", id);
	struct store_chall *c;
	int rc = one_row(q, prob);

	if (rc != 0) {
		sq_read_end(st, began);
		return rc;
	}
	memset(z, 0, sizeof(*z));
	col_copy(q, 0, z->id, sizeof(z->id));
	col_copy(q, 1, z->account_id, sizeof(z->account_id));
	/* Stored canonical by acme_ident_set(); copied back as is. */
	z->ident.type = (enum acme_ident_type)sqlite3_column_int(q, 2);
	col_copy(q, 3, z->ident.value, sizeof(z->ident.value));
	z->wildcard = sqlite3_column_int(q, 4);
	z->status = (enum store_status)sqlite3_column_int(q, 5);
	z->expires = (time_t)sqlite3_column_int64(q, 6);
	z->created = (time_t)sqlite3_column_int64(q, 7);
	sqlite3_reset(q);
	if ((q = sq_prep(st, S_CHALL_BY_AUTHZ, prob, "s", id)) == NULL) {
		sq_read_end(st, began);
		return ACME_ERR_IO;
	}
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		c = realloc(z->challs, (z->nchall + 1) * sizeof(*c));
		if (c == NULL) {
			rc = sq_oom(prob);
			goto out;
		}
		z->challs = c;
		if (read_chall(q, &z->challs[z->nchall++]) != 0) {
			rc = sq_oom(prob);
			goto out;
		}
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else
		rc = sq_db_fail(sqlite3_db_handle(q), "read", prob);
out:
	sqlite3_reset(q);
	sq_read_end(st, began);
	if (rc != 0)
		store_authz_release(z);
	return rc;
}

static int
authz_find_valid(struct store *st, const char *account_id,
    const struct acme_ident *ident, int wildcard, time_t min_expires,
    struct store_authz *out, struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, S_AUTHZ_FIND_VALID, prob, "sisii",
	    account_id, (long long)ident->type, ident->value,
	    (long long)(wildcard != 0), (long long)min_expires);
	char id[STORE_ID_SIZE];
	int rc = one_row(q, prob);

	if (rc != 0)
		return rc;
	col_copy(q, 0, id, sizeof(id));
	sqlite3_reset(q);
	return authz_get(st, id, out, prob);
}

static int
authz_set_status(struct store *st, const char *id, enum store_status from,
    enum store_status to, time_t expires, struct acme_problem *prob)
{
	return run_cond(st,
	    sq_prep(st, S_AUTHZ_SET_STATUS, prob, "iiisi", (long long)to,
		(long long)expires, (long long)expires, id, (long long)from),
	    S_AUTHZ_EXISTS, id, prob);
}

static int
chall_get(struct store *st, const char *id, struct store_chall *out,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, S_CHALL_GET, prob, "s", id);
	int rc = one_row(q, prob);

	if (rc != 0)
		return rc;
	rc = read_chall(q, out);
	sqlite3_reset(q);
	if (rc != 0) {
		store_chall_release(out);
		return sq_oom(prob);
	}
	return 0;
}

static int
chall_update(struct store *st, const struct store_chall *c,
    enum store_status from, struct acme_problem *prob)
{
	return run_cond(st,
	    sq_prep(st, S_CHALL_UPDATE, prob, "iisisi", (long long)c->status,
		(long long)c->validated, c->error, (long long)c->attempts,
		c->id, (long long)from),
	    S_CHALL_EXISTS, c->id, prob);
}

/* --- validation jobs --- */

/* Queues a job; queueing one for the same challenge replaces it. */
static int
job_add(struct store *st, const struct store_job *j, struct acme_problem *prob)
{
	return sq_run(st,
	    sq_prep(st, S_JOB_ADD, prob, "sisi", j->chall_id,
		(long long)j->not_before, j->owner, (long long)j->lease_until),
	    prob);
}

static int
job_done(struct store *st, const char *chall_id, struct acme_problem *prob)
{
	return sq_run(st, sq_prep(st, S_JOB_DONE, prob, "s", chall_id), prob);
}

/* Reads the jobs q (S_JOB_LIST or S_JOBS_EXPIRED) lists, up to max. */
static int
jobs_read(sqlite3_stmt *q, struct store_job *jobs, size_t max, size_t *n,
    struct acme_problem *prob)
{
	int rc = SQLITE_DONE;

	*n = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	while (*n < max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct store_job *j = &jobs[*n];

		col_copy(q, 0, j->chall_id, sizeof(j->chall_id));
		j->not_before = (time_t)sqlite3_column_int64(q, 1);
		col_copy(q, 2, j->owner, sizeof(j->owner));
		j->lease_until = (time_t)sqlite3_column_int64(q, 3);
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE)
		rc = sq_db_fail(sqlite3_db_handle(q), "read", prob);
	else
		rc = 0;
	sqlite3_reset(q);
	return rc;
}

static long long
clamp_max(size_t max)
{
	return max > INT64_MAX ? INT64_MAX : (long long)max;
}

static int
job_list(struct store *st, struct store_job *jobs, size_t max, size_t *n,
    struct acme_problem *prob)
{
	return jobs_read(sq_prep(st, S_JOB_LIST, prob, "i", clamp_max(max)),
	    jobs, max, n, prob);
}

/*
 * The expired jobs are read, then each is taken only from the holder
 * and lease read: a claimer on another handle that took it meanwhile
 * changed them, and this one skips it (D80).
 */
static int
jobs_claim(struct store *st, const char *owner, time_t expired_before,
    time_t until, struct store_job *jobs, size_t max, size_t *n,
    struct acme_problem *prob)
{
	size_t i, got = 0;
	int rc;

	if ((rc = jobs_read(sq_prep(st, S_JOBS_EXPIRED, prob, "ii",
				(long long)expired_before, clamp_max(max)),
		 jobs, max, n, prob)) != 0)
		return rc;
	for (i = 0; i < *n; i++) {
		struct store_job *j = &jobs[i];
		sqlite3_stmt *q = sq_prep(st, S_JOB_TAKE, prob, "sissi", owner,
		    (long long)until, j->chall_id, j->owner,
		    (long long)j->lease_until);

		if ((rc = sq_run(st, q, prob)) != 0)
			break;
		if (sqlite3_changes(sqlite3_db_handle(q)) == 0)
			continue;
		jobs[got] = *j;
		snprintf(jobs[got].owner, sizeof(jobs[got].owner), "%s", owner);
		jobs[got].lease_until = until;
		got++;
	}
	*n = got;
	return rc;
}

static int
job_release(struct store *st, const char *chall_id, struct acme_problem *prob)
{
	return sq_run(st, sq_prep(st, S_JOB_RELEASE, prob, "s", chall_id),
	    prob);
}

static int
lease_renew(struct store *st, const char *owner, time_t until,
    struct acme_problem *prob)
{
	int rc = sq_run(st,
	    sq_prep(st, S_LEASE_JOBS, prob, "is", (long long)until, owner),
	    prob);

	return rc != 0 ? rc :
			 sq_run(st,
			     sq_prep(st, S_LEASE_ORDERS, prob, "is",
				 (long long)until, owner),
			     prob);
}

/* --- the audit outbox --- */

static int
audit_add(struct store *st, const char *line, struct acme_problem *prob)
{
	return sq_run(st, sq_prep(st, S_AUDIT_ADD, prob, "s", line), prob);
}

static int
audit_pending(struct store *st, struct store_audit *rows, size_t max, size_t *n,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, S_AUDIT_PENDING, prob, "i",
	    (long long)(max > INT64_MAX ? INT64_MAX : max));
	int rc = SQLITE_DONE, err = 0;

	*n = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	while (*n < max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		rows[*n].seq = sqlite3_column_int64(q, 0);
		if ((rows[*n].line = col_dup(q, 1, &err)) == NULL)
			break;
		(*n)++;
	}
	if (err || (*n < max && rc == SQLITE_ROW))
		rc = sq_oom(prob);
	else if (*n < max && rc != SQLITE_DONE)
		rc = sq_db_fail(sqlite3_db_handle(q), "read", prob);
	else
		rc = 0;
	sqlite3_reset(q);
	if (rc != 0) {
		while (*n > 0)
			free(rows[--*n].line);
	}
	return rc;
}

static int
audit_done(struct store *st, int64_t seq, struct acme_problem *prob)
{
	return sq_run(st, sq_prep(st, S_AUDIT_DONE, prob, "i", (long long)seq),
	    prob);
}

/* --- certificates --- */

static int
cert_insert(struct store *st, const struct store_cert *c,
    struct acme_problem *prob)
{
	return sq_run(st,
	    sq_prep(st, S_CERT_INSERT, prob, "ssssssiiiis", c->id, c->serial,
		c->account_id, c->order_id, c->chain_pem, c->alt_chain_pem,
		(long long)c->not_before, (long long)c->not_after,
		(long long)c->revoked_at, (long long)c->reason, c->profile),
	    prob);
}

/* Reads the row of a certificate query into c. */
static int
cert_fetch(sqlite3_stmt *q, struct store_cert *c, struct acme_problem *prob)
{
	int rc = one_row(q, prob), err = 0;

	if (rc != 0)
		return rc;
	memset(c, 0, sizeof(*c));
	col_copy(q, 0, c->id, sizeof(c->id));
	col_copy(q, 1, c->serial, sizeof(c->serial));
	col_copy(q, 2, c->account_id, sizeof(c->account_id));
	col_copy(q, 3, c->order_id, sizeof(c->order_id));
	c->chain_pem = col_dup(q, 4, &err);
	c->alt_chain_pem = col_dup(q, 5, &err);
	c->not_before = (time_t)sqlite3_column_int64(q, 6);
	c->not_after = (time_t)sqlite3_column_int64(q, 7);
	c->revoked_at = (time_t)sqlite3_column_int64(q, 8);
	c->reason = sqlite3_column_int(q, 9);
	c->ari_start = (time_t)sqlite3_column_int64(q, 10);
	c->ari_end = (time_t)sqlite3_column_int64(q, 11);
	c->ari_explanation = col_dup(q, 12, &err);
	col_copy(q, 13, c->profile, sizeof(c->profile));
	sqlite3_reset(q);
	if (err || c->chain_pem == NULL) {
		store_cert_release(c);
		return sq_oom(prob);
	}
	return 0;
}

static int
cert_get(struct store *st, const char *id, struct store_cert *out,
    struct acme_problem *prob)
{
	return cert_fetch(sq_prep(st, S_CERT_GET, prob, "s", id), out, prob);
}

static int
cert_by_serial(struct store *st, const char *serial, struct store_cert *out,
    struct acme_problem *prob)
{
	return cert_fetch(sq_prep(st, S_CERT_BY_SERIAL, prob, "s", serial), out,
	    prob);
}

static int
cert_revoke(struct store *st, const char *id, time_t when, int reason,
    struct acme_problem *prob)
{
	return run_cond(st,
	    sq_prep(st, S_CERT_REVOKE, prob, "iis", (long long)when,
		(long long)reason, id),
	    S_CERT_EXISTS, id, prob);
}

static int
cert_set_window(struct store *st, const char *serial, time_t start, time_t end,
    const char *explanation, time_t now, size_t *n, struct acme_problem *prob)
{
	sqlite3_stmt *q =
	    serial != NULL ?
		sq_prep(st, S_CERT_WINDOW, prob, "iiss", (long long)start,
		    (long long)end, explanation, serial) :
		sq_prep(st, S_CERT_WINDOW_ALL, prob, "iisi", (long long)start,
		    (long long)end, explanation, (long long)now);
	int rc = sq_run(st, q, prob);

	if (rc == 0)
		*n = (size_t)sqlite3_changes(sqlite3_db_handle(q));
	return rc;
}

/* The order id statement s finds for cert_id (S_ORDER_*REPLACING). */
static int
replacing_id(struct store *st, enum stmt s, const char *cert_id,
    char out[STORE_ID_SIZE], struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, s, prob, "s", cert_id);
	int rc = one_row(q, prob);

	if (rc != 0)
		return rc;
	col_copy(q, 0, out, STORE_ID_SIZE);
	sqlite3_reset(q);
	return 0;
}

static int
order_replacing(struct store *st, const char *cert_id, char out[STORE_ID_SIZE],
    struct acme_problem *prob)
{
	return replacing_id(st, S_ORDER_REPLACING, cert_id, out, prob);
}

static int
order_first_replacing(struct store *st, const char *cert_id,
    char out[STORE_ID_SIZE], struct acme_problem *prob)
{
	return replacing_id(st, S_ORDER_FIRST_REPLACING, cert_id, out, prob);
}

/* --- CRLs (D50) --- */

static int
revocations(struct store *st, long long *n, struct acme_problem *prob)
{
	return one_count(sq_prep(st, S_REVOCATIONS, prob, ""), n, prob);
}

static int
cert_revoked(struct store *st, time_t expiring_from, struct store_revoked **out,
    size_t *n, struct acme_problem *prob)
{
	sqlite3_stmt *q =
	    sq_prep(st, S_CERT_REVOKED, prob, "i", (long long)expiring_from);
	struct store_revoked *v = NULL, *nv;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? ROWS_FIRST_BIG : cap * 2;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			v = nv;
		}
		col_copy(q, 0, v[*n].serial, sizeof(v[*n].serial));
		v[*n].revoked_at = (time_t)sqlite3_column_int64(q, 1);
		v[*n].reason = sqlite3_column_int(q, 2);
		(*n)++;
	}
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc == SQLITE_NOMEM)
		rc = sq_oom(prob);
	else
		rc = sq_db_fail(sqlite3_db_handle(q), "read", prob);
	sqlite3_reset(q);
	if (rc != 0) {
		free(v);
		*n = 0;
		return rc;
	}
	*out = v;
	return 0;
}

static int
crl_latest(struct store *st, struct store_crl *out, struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, S_CRL_LATEST, prob, "");
	int rc = one_row(q, prob), len;

	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->number = sqlite3_column_int64(q, 0);
	out->this_update = (time_t)sqlite3_column_int64(q, 1);
	out->next_update = (time_t)sqlite3_column_int64(q, 2);
	out->revocations = (long long)sqlite3_column_int64(q, 3);
	len = sqlite3_column_bytes(q, 4);
	if (len <= 0 || (out->der = malloc((size_t)len)) == NULL) {
		sqlite3_reset(q);
		if (len <= 0)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "database: CRL %lld is empty",
			    (long long)out->number);
		return sq_oom(prob);
	}
	memcpy(out->der, sqlite3_column_blob(q, 4), (size_t)len);
	out->len = (size_t)len;
	sqlite3_reset(q);
	return 0;
}

static int
crl_insert(struct store *st, const struct store_crl *c,
    struct acme_problem *prob)
{
	sqlite3_stmt *q;
	int rc;

	if ((rc = sq_begin(st, prob)) != 0)
		return rc;
	/* Only one past the newest: never a number below one served. */
	q = sq_prep(st, S_CRL_MAX, prob, "");
	if ((rc = one_row(q, prob)) == 0) {
		if (sqlite3_column_int64(q, 0) != c->number - 1)
			rc = ACME_ERR_EXISTS;
		sqlite3_reset(q);
	}
	if (rc == 0)
		rc = sq_run(st,
		    sq_prep(st, S_CRL_INSERT, prob, "iiiib",
			(long long)c->number, (long long)c->this_update,
			(long long)c->next_update, c->revocations,
			(const void *)c->der, c->len),
		    prob);
	if (rc == 0)
		rc = sq_run(st,
		    sq_prep(st, S_CRL_PRUNE, prob, "i", (long long)c->number),
		    prob);
	if (rc == 0)
		rc = sq_commit(st, prob);
	if (rc != 0)
		sq_rollback(st);
	return rc;
}

/* --- rate limits (D51) --- */

static int
rl_take(struct store *st, const char *key, int64_t now, int64_t interval,
    int64_t burst, int mode, int64_t *retry_ms, struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, S_RL_GET, prob, "s", key);
	int64_t tat = now;
	int rc, own;

	*retry_ms = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	/* Its own transaction unless the caller's is open. */
	own = sqlite3_get_autocommit(sqlite3_db_handle(q));
	if (own && (rc = sq_begin(st, prob)) != 0)
		return rc;
	if ((rc = one_row(q, prob)) == 0) {
		if (sqlite3_column_int64(q, 0) > now)
			tat = sqlite3_column_int64(q, 0);
		sqlite3_reset(q);
	} else if (rc == ACME_ERR_NOTFOUND)
		rc = 0;
	if (rc == 0 && tat - now > burst)
		*retry_ms = tat - now - burst;
	if (rc == 0 &&
	    (mode == RL_FORCE || (mode == RL_SPEND && *retry_ms == 0))) {
		rc = sq_run(st,
		    sq_prep(st, S_RL_PRUNE, prob, "i", (long long)now), prob);
		if (rc == 0)
			rc = sq_run(st,
			    sq_prep(st, S_RL_PUT, prob, "si", key,
				(long long)(tat + interval)),
			    prob);
	}
	if (own) {
		if (rc == 0)
			rc = sq_commit(st, prob);
		if (rc != 0)
			sq_rollback(st);
	}
	return rc;
}

/* --- external account binding keys --- */

static int
eab_insert(struct store *st, const struct store_eab *e,
    struct acme_problem *prob)
{
	if (e->keylen > sizeof(e->key))
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "EAB key is too long");
	return sq_run(st,
	    sq_prep(st, S_EAB_INSERT, prob, "sbi", e->kid, (const void *)e->key,
		e->keylen, (long long)e->created),
	    prob);
}

static int
eab_get(struct store *st, const char *kid, struct store_eab *out,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, S_EAB_GET, prob, "s", kid);
	int rc = one_row(q, prob), n;

	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	col_copy(q, 0, out->kid, sizeof(out->kid));
	n = sqlite3_column_bytes(q, 1);
	if (n < 0 || (size_t)n > sizeof(out->key)) {
		sqlite3_reset(q);
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "database: stored EAB key %s is too long", kid);
		return ACME_ERR_IO;
	}
	if (n > 0)
		memcpy(out->key, sqlite3_column_blob(q, 1), (size_t)n);
	out->keylen = (size_t)n;
	col_copy(q, 2, out->account_id, sizeof(out->account_id));
	out->created = (time_t)sqlite3_column_int64(q, 3);
	sqlite3_reset(q);
	return 0;
}

static int
eab_bind(struct store *st, const char *kid, const char *account_id,
    struct acme_problem *prob)
{
	return run_cond(st,
	    sq_prep(st, S_EAB_BIND, prob, "ss", account_id, kid), S_EAB_EXISTS,
	    kid, prob);
}

/* Nothing stored unless both are (D90). */
static int
account_insert_eab(struct store *st, const struct store_account *a,
    struct acme_problem *prob)
{
	int rc;

	if ((rc = sq_begin(st, prob)) != 0)
		return rc;
	rc = account_insert(st, a, prob);
	if (rc == 0)
		rc = eab_bind(st, a->eab_kid, a->id, prob);
	if (rc == 0)
		rc = sq_commit(st, prob);
	if (rc != 0)
		sq_rollback(st);
	return rc;
}

/*
 * Every row of statement which (no parameters), each filled by fill into
 * a new zeroed element of elem bytes: *out (heap, NULL when *n is 0).
 */
static int
sq_rows(struct store *st, enum stmt which, size_t elem,
    void (*fill)(sqlite3_stmt *q, void *row), void **out, size_t *n,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, which, prob, "");
	unsigned char *v = NULL, *nv;
	size_t cap = 0;
	int rc = SQLITE_DONE;

	*out = NULL;
	*n = 0;
	if (q == NULL)
		return ACME_ERR_IO;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : ROWS_FIRST;
			if ((nv = realloc(v, cap * elem)) == NULL) {
				sqlite3_reset(q);
				free(v);
				*n = 0;
				return sq_oom(prob);
			}
			v = nv;
		}
		memset(v + *n * elem, 0, elem);
		fill(q, v + *n * elem);
		(*n)++;
	}
	if (rc != SQLITE_DONE) {
		rc = sq_db_fail(sqlite3_db_handle(q), "read", prob);
		sqlite3_reset(q);
		free(v);
		*n = 0;
		return rc;
	}
	sqlite3_reset(q);
	*out = v;
	return 0;
}

static void
eab_row(sqlite3_stmt *q, void *row)
{
	struct store_eab *e = row;

	col_copy(q, 0, e->kid, sizeof(e->kid));
	col_copy(q, 1, e->account_id, sizeof(e->account_id));
	e->created = (time_t)sqlite3_column_int64(q, 2);
}

static int
eab_list(struct store *st, struct store_eab **out, size_t *n,
    struct acme_problem *prob)
{
	void *v;
	int rc = sq_rows(st, S_EAB_LIST, sizeof(**out), eab_row, &v, n, prob);

	*out = v;
	return rc;
}

static int
eab_remove(struct store *st, const char *kid, struct acme_problem *prob)
{
	int rc = run_cond(st, sq_prep(st, S_EAB_REMOVE, prob, "s", kid),
	    S_EAB_EXISTS, kid, prob);

	/* Nothing deleted and no such key: run_cond found no row. */
	return rc;
}

/* --- the operator's actions (D74) --- */

static int
account_pause(struct store *st, const char *id, time_t when,
    struct acme_problem *prob)
{
	return run_cond(st,
	    sq_prep(st, S_ACCT_PAUSE, prob, "is", (long long)when, id),
	    S_ACCT_EXISTS, id, prob);
}

static int
cert_find(struct store *st, const char *account_id, const char *name,
    char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
    struct acme_problem *prob)
{
	char needle[STORE_NEEDLE_MAX];
	sqlite3_stmt *q;
	int rc = SQLITE_DONE;

	*n = 0;
	if (name != NULL && (size_t)snprintf(needle, sizeof(needle),
				"\"value\":\"%s\"", name) >= sizeof(needle))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "name too long");
	q = sq_prep(st, S_CERT_FIND, prob, "ssi", account_id,
	    name != NULL ? needle : NULL,
	    (long long)(max > INT64_MAX ? INT64_MAX : max));
	if (q == NULL)
		return ACME_ERR_IO;
	while (*n < max && (rc = sqlite3_step(q)) == SQLITE_ROW) {
		col_copy(q, 0, ids[*n], sizeof(ids[*n]));
		(*n)++;
	}
	if (*n < max && rc != SQLITE_DONE)
		rc = sq_db_fail(sqlite3_db_handle(q), "read", prob);
	else
		rc = 0;
	sqlite3_reset(q);
	return rc;
}

static int
block_add(struct store *st, const char *name, time_t when,
    struct acme_problem *prob)
{
	return sq_run(st,
	    sq_prep(st, S_BLOCK_ADD, prob, "si", name, (long long)when), prob);
}

static int
name_blocked(struct store *st, const char *name, char *match, size_t size,
    struct acme_problem *prob)
{
	sqlite3_stmt *q = sq_prep(st, S_BLOCK_MATCH, prob, "s", name);
	int rc = one_row(q, prob);

	if (rc != 0)
		return rc;
	col_copy(q, 0, match, size);
	sqlite3_reset(q);
	return 0;
}

/* --- their undoing (D88) --- */

static int
account_unpause(struct store *st, const char *id, struct acme_problem *prob)
{
	return run_cond(st, sq_prep(st, S_ACCT_UNPAUSE, prob, "s", id),
	    S_ACCT_EXISTS, id, prob);
}

static int
block_remove(struct store *st, const char *name, struct acme_problem *prob)
{
	/* No row deleted: run_cond's lookup finds none, NOTFOUND. */
	return run_cond(st, sq_prep(st, S_BLOCK_REMOVE, prob, "s", name),
	    S_BLOCK_EXISTS, name, prob);
}

static void
block_row(sqlite3_stmt *q, void *row)
{
	struct store_block *b = row;

	col_copy(q, 0, b->name, sizeof(b->name));
	b->created = (time_t)sqlite3_column_int64(q, 1);
}

static int
block_list(struct store *st, struct store_block **out, size_t *n,
    struct acme_problem *prob)
{
	void *v;
	int rc =
	    sq_rows(st, S_BLOCK_LIST, sizeof(**out), block_row, &v, n, prob);

	*out = v;
	return rc;
}

/*
 * The operations as the store's table holds them: each runs with the
 * connection's lock (sq_enter(), sq_leave()).
 */
#define LOCKED(fn, params, args)                                               \
	static int locked_##fn params                                          \
	{                                                                      \
		struct sq *s = (struct sq *)st;                                \
                                                                               \
		sq_enter(s);                                                   \
		return sq_leave(s, 1, fn args, prob);                          \
	}

LOCKED(account_insert,
    (struct store * st, const struct store_account *a,
	struct acme_problem *prob),
    (st, a, prob))
LOCKED(account_insert_eab,
    (struct store * st, const struct store_account *a,
	struct acme_problem *prob),
    (st, a, prob))
LOCKED(account_get,
    (struct store * st, const char *id, struct store_account *out,
	struct acme_problem *prob),
    (st, id, out, prob))
LOCKED(account_by_thumbprint,
    (struct store * st, const char *thumb, struct store_account *out,
	struct acme_problem *prob),
    (st, thumb, out, prob))
LOCKED(account_update,
    (struct store * st, const struct store_account *seen,
	const struct store_account_change *chg, struct acme_problem *prob),
    (st, seen, chg, prob))
LOCKED(order_insert,
    (struct store * st, const struct store_order *o,
	const struct store_authz *authzs, size_t nnew,
	struct acme_problem *prob),
    (st, o, authzs, nnew, prob))
LOCKED(order_get,
    (struct store * st, const char *id, struct store_order *o,
	struct acme_problem *prob),
    (st, id, o, prob))
LOCKED(order_set_status,
    (struct store * st, const char *id, enum store_status from,
	enum store_status to, const char *error, const char *cert_id,
	struct acme_problem *prob),
    (st, id, from, to, error, cert_id, prob))
LOCKED(order_list,
    (struct store * st, const char *account_id, const char *after,
	char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
	struct acme_problem *prob),
    (st, account_id, after, ids, max, n, prob))
LOCKED(order_count_open,
    (struct store * st, const char *profile, time_t now, long long *n,
	struct acme_problem *prob),
    (st, profile, now, n, prob))
LOCKED(authz_insert,
    (struct store * st, const struct store_authz *z, struct acme_problem *prob),
    (st, z, prob))
LOCKED(authz_get,
    (struct store * st, const char *id, struct store_authz *z,
	struct acme_problem *prob),
    (st, id, z, prob))
LOCKED(authz_find_valid,
    (struct store * st, const char *account_id, const struct acme_ident *ident,
	int wildcard, time_t min_expires, struct store_authz *out,
	struct acme_problem *prob),
    (st, account_id, ident, wildcard, min_expires, out, prob))
LOCKED(authz_set_status,
    (struct store * st, const char *id, enum store_status from,
	enum store_status to, time_t expires, struct acme_problem *prob),
    (st, id, from, to, expires, prob))
LOCKED(chall_get,
    (struct store * st, const char *id, struct store_chall *out,
	struct acme_problem *prob),
    (st, id, out, prob))
LOCKED(chall_update,
    (struct store * st, const struct store_chall *c, enum store_status from,
	struct acme_problem *prob),
    (st, c, from, prob))
LOCKED(job_add,
    (struct store * st, const struct store_job *j, struct acme_problem *prob),
    (st, j, prob))
LOCKED(job_done,
    (struct store * st, const char *chall_id, struct acme_problem *prob),
    (st, chall_id, prob))
LOCKED(job_list,
    (struct store * st, struct store_job *jobs, size_t max, size_t *n,
	struct acme_problem *prob),
    (st, jobs, max, n, prob))
LOCKED(cert_insert,
    (struct store * st, const struct store_cert *c, struct acme_problem *prob),
    (st, c, prob))
LOCKED(cert_get,
    (struct store * st, const char *id, struct store_cert *out,
	struct acme_problem *prob),
    (st, id, out, prob))
LOCKED(cert_by_serial,
    (struct store * st, const char *serial, struct store_cert *out,
	struct acme_problem *prob),
    (st, serial, out, prob))
LOCKED(cert_set_window,
    (struct store * st, const char *serial, time_t start, time_t end,
	const char *explanation, time_t now, size_t *n,
	struct acme_problem *prob),
    (st, serial, start, end, explanation, now, n, prob))
LOCKED(order_replacing,
    (struct store * st, const char *cert_id, char out[STORE_ID_SIZE],
	struct acme_problem *prob),
    (st, cert_id, out, prob))
LOCKED(order_first_replacing,
    (struct store * st, const char *cert_id, char out[STORE_ID_SIZE],
	struct acme_problem *prob),
    (st, cert_id, out, prob))
LOCKED(cert_revoke,
    (struct store * st, const char *id, time_t when, int reason,
	struct acme_problem *prob),
    (st, id, when, reason, prob))
LOCKED(revocations,
    (struct store * st, long long *n, struct acme_problem *prob), (st, n, prob))
LOCKED(cert_revoked,
    (struct store * st, time_t expiring_from, struct store_revoked **out,
	size_t *n, struct acme_problem *prob),
    (st, expiring_from, out, n, prob))
LOCKED(crl_latest,
    (struct store * st, struct store_crl *out, struct acme_problem *prob),
    (st, out, prob))
LOCKED(crl_insert,
    (struct store * st, const struct store_crl *c, struct acme_problem *prob),
    (st, c, prob))
LOCKED(eab_insert,
    (struct store * st, const struct store_eab *e, struct acme_problem *prob),
    (st, e, prob))
LOCKED(eab_get,
    (struct store * st, const char *kid, struct store_eab *out,
	struct acme_problem *prob),
    (st, kid, out, prob))
LOCKED(eab_bind,
    (struct store * st, const char *kid, const char *account_id,
	struct acme_problem *prob),
    (st, kid, account_id, prob))
LOCKED(eab_list,
    (struct store * st, struct store_eab **out, size_t *n,
	struct acme_problem *prob),
    (st, out, n, prob))
LOCKED(eab_remove,
    (struct store * st, const char *kid, struct acme_problem *prob),
    (st, kid, prob))
LOCKED(account_pause,
    (struct store * st, const char *id, time_t when, struct acme_problem *prob),
    (st, id, when, prob))
LOCKED(cert_find,
    (struct store * st, const char *account_id, const char *name,
	char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
	struct acme_problem *prob),
    (st, account_id, name, ids, max, n, prob))
LOCKED(block_add,
    (struct store * st, const char *name, time_t when,
	struct acme_problem *prob),
    (st, name, when, prob))
LOCKED(name_blocked,
    (struct store * st, const char *name, char *match, size_t size,
	struct acme_problem *prob),
    (st, name, match, size, prob))
LOCKED(account_unpause,
    (struct store * st, const char *id, struct acme_problem *prob),
    (st, id, prob))
LOCKED(block_remove,
    (struct store * st, const char *name, struct acme_problem *prob),
    (st, name, prob))
LOCKED(block_list,
    (struct store * st, struct store_block **out, size_t *n,
	struct acme_problem *prob),
    (st, out, n, prob))
LOCKED(audit_add,
    (struct store * st, const char *line, struct acme_problem *prob),
    (st, line, prob))
LOCKED(audit_pending,
    (struct store * st, struct store_audit *rows, size_t max, size_t *n,
	struct acme_problem *prob),
    (st, rows, max, n, prob))
LOCKED(order_claim_end,
    (struct store * st, const char *id, const char *owner, enum store_status to,
	const char *cert_id, struct acme_problem *prob),
    (st, id, owner, to, cert_id, prob))
LOCKED(orders_unclaim,
    (struct store * st, time_t expired_before, size_t *n,
	struct acme_problem *prob),
    (st, expired_before, n, prob))
LOCKED(jobs_claim,
    (struct store * st, const char *owner, time_t expired_before, time_t until,
	struct store_job *jobs, size_t max, size_t *n,
	struct acme_problem *prob),
    (st, owner, expired_before, until, jobs, max, n, prob))
LOCKED(job_release,
    (struct store * st, const char *chall_id, struct acme_problem *prob),
    (st, chall_id, prob))
LOCKED(lease_renew,
    (struct store * st, const char *owner, time_t until,
	struct acme_problem *prob),
    (st, owner, until, prob))
#undef LOCKED

/*
 * As LOCKED, for a write a crash may take back harmlessly (see store.h):
 * it leaves its flush to the next write that is flushed.
 */
#define RELAXED(name, params, call)                                            \
	static int locked_##name params                                        \
	{                                                                      \
		struct sq *s = (struct sq *)st;                                \
		int before, rc;                                                \
                                                                               \
		sq_enter(s);                                                   \
		before = s->unflushed;                                         \
		rc = call;                                                     \
		s->unflushed = before;                                         \
		return sq_leave(s, 1, rc, prob);                               \
	}

RELAXED(rl_take,
    (struct store * st, const char *key, int64_t now, int64_t interval,
	int64_t burst, int mode, int64_t *retry_ms, struct acme_problem *prob),
    rl_take(st, key, now, interval, burst, mode, retry_ms, prob))
RELAXED(audit_done, (struct store * st, int64_t seq, struct acme_problem *prob),
    audit_done(st, seq, prob))
RELAXED(order_set_status_relaxed,
    (struct store * st, const char *id, enum store_status from,
	enum store_status to, const char *error, struct acme_problem *prob),
    order_set_status(st, id, from, to, error, NULL, prob))
RELAXED(order_claim,
    (struct store * st, const char *id, const char *owner, time_t until,
	struct acme_problem *prob),
    order_claim(st, id, owner, until, prob))
#undef RELAXED

const struct store_ops sq_ops = {
	.name = "sqlite",
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.account_insert = locked_account_insert,
	.account_insert_eab = locked_account_insert_eab,
	.account_get = locked_account_get,
	.account_by_thumbprint = locked_account_by_thumbprint,
	.account_update = locked_account_update,
	.order_insert = locked_order_insert,
	.order_get = locked_order_get,
	.order_set_status = locked_order_set_status,
	.order_set_status_relaxed = locked_order_set_status_relaxed,
	.order_claim = locked_order_claim,
	.order_claim_end = locked_order_claim_end,
	.orders_unclaim = locked_orders_unclaim,
	.order_list = locked_order_list,
	.order_count_open = locked_order_count_open,
	.authz_insert = locked_authz_insert,
	.authz_get = locked_authz_get,
	.authz_find_valid = locked_authz_find_valid,
	.authz_set_status = locked_authz_set_status,
	.chall_get = locked_chall_get,
	.chall_update = locked_chall_update,
	.job_add = locked_job_add,
	.job_done = locked_job_done,
	.job_list = locked_job_list,
	.jobs_claim = locked_jobs_claim,
	.job_release = locked_job_release,
	.lease_renew = locked_lease_renew,
	.cert_insert = locked_cert_insert,
	.cert_get = locked_cert_get,
	.cert_by_serial = locked_cert_by_serial,
	.cert_set_window = locked_cert_set_window,
	.order_replacing = locked_order_replacing,
	.order_first_replacing = locked_order_first_replacing,
	.cert_revoke = locked_cert_revoke,
	.revocations = locked_revocations,
	.cert_revoked = locked_cert_revoked,
	.crl_latest = locked_crl_latest,
	.crl_insert = locked_crl_insert,
	.rl_take = locked_rl_take,
	.eab_insert = locked_eab_insert,
	.eab_get = locked_eab_get,
	.eab_bind = locked_eab_bind,
	.eab_list = locked_eab_list,
	.eab_remove = locked_eab_remove,
	.account_pause = locked_account_pause,
	.cert_find = locked_cert_find,
	.block_add = locked_block_add,
	.name_blocked = locked_name_blocked,
	.account_unpause = locked_account_unpause,
	.block_remove = locked_block_remove,
	.block_list = locked_block_list,
	.audit_add = locked_audit_add,
	.audit_pending = locked_audit_pending,
	.audit_done = locked_audit_done,
};
