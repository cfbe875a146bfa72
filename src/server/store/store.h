/* SPDX-License-Identifier: ISC */
/*
 * The storage interface of anvil-ca.  Handlers, the validator and the
 * issuer see only these typed records and the operations in struct
 * store_ops (through the store_*() wrappers below); a back end (SQLite,
 * PostgreSQL) implements the ops table and nothing else changes.  The
 * same contract test runs against every back end
 * (tests/unit/server/test_store.c).
 *
 * Threading: one struct store is shared by every thread, and every
 * operation may be called from any thread; the back end serialises what
 * it must (SQLite: one connection for the process under a lock, D33;
 * PostgreSQL: a pool, D65).  A write has reached the disk when the
 * operation returns, except where an op below says otherwise (D22).
 *
 * Ownership: get/list operations fill caller-provided records whose
 * pointer members (JSON text, PEM) are heap strings the caller releases
 * with the matching store_*_release().  Insert/update operations borrow.
 *
 * Errors: 0 on success, ACME_ERR_NOTFOUND when the record does not exist,
 * ACME_ERR_EXISTS on a unique-key conflict, ACME_ERR_CONFLICT when a
 * conditional update saw a state other than the one expected, and
 * another negative acme_err (with prob set to serverInternal) on failure.
 */
#ifndef ANVIL_STORE_H
#define ANVIL_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <anvil/err.h>
#include <anvil/ident.h>
#include <anvil/problem.h>

#include "contract.h"
#include "../nonce.h"
#include "../srvlimits.h"

#define STORE_ID_LEN      22 /* base64url of 16 random bytes */
#define STORE_ID_SIZE     (STORE_ID_LEN + 1)
#define STORE_TOKEN_SIZE  44  /* base64url of 32 random bytes + NUL */
#define STORE_SERIAL_SIZE 41  /* lowercase hex of up to 20 bytes + NUL */
#define STORE_THUMB_SIZE  44  /* base64url SHA-256 + NUL */
#define STORE_MAX_AUTHZ   100 /* authorizations per order */

/* Status values shared by every object (RFC 8555 7.1.6). */
enum store_status {
	ST_PENDING = 1,
	ST_PROCESSING,
	ST_READY,
	ST_VALID,
	ST_INVALID,
	ST_DEACTIVATED,
	ST_EXPIRED,
	ST_REVOKED,
};

const char *store_status_name(enum store_status s);
/* Returns 0 for an unknown name. */
enum store_status store_status_from_name(const char *name);

enum store_chall_type {
	CHALL_HTTP01 = 1,
	CHALL_DNS01,
	CHALL_TLSALPN01,
};

const char *store_chall_type_name(enum store_chall_type t);
enum store_chall_type store_chall_type_from_name(const char *name);

struct store_account {
	char id[STORE_ID_SIZE];
	enum store_status status;          /* valid, deactivated, revoked */
	char thumbprint[STORE_THUMB_SIZE]; /* RFC 7638, unique */
	char *jwk;                         /* public key, canonical JSON */
	char *contact;                     /* JSON array of URLs, or NULL */
	int tos_agreed;
	char *eab;         /* the verified EAB JWS as sent, or NULL */
	char eab_kid[128]; /* "" when none */
	time_t created;    /* seconds since the epoch */
	time_t paused;     /* when the operator paused it, 0: not (D74) */
};

/* What account_update changes: NULL or 0 members are left as stored. */
struct store_account_change {
	enum store_status status; /* new status, or 0 */
	const char *thumbprint;   /* new key: thumbprint and jwk, or NULL */
	const char *jwk;
	const char *contact; /* new JSON array of URLs, or NULL */
};

struct store_chall {
	char id[STORE_ID_SIZE];
	char authz_id[STORE_ID_SIZE];
	enum store_chall_type type;
	enum store_status status; /* pending, processing, valid, invalid */
	char token[STORE_TOKEN_SIZE];
	time_t validated; /* 0 until valid */
	char *error;      /* problem JSON, or NULL */
	int attempts;     /* validation attempts made */
};

struct store_authz {
	char id[STORE_ID_SIZE];
	char account_id[STORE_ID_SIZE];
	struct acme_ident ident; /* without "*." for wildcards */
	int wildcard;
	enum store_status status;
	time_t expires;
	time_t created;
	struct store_chall *challs; /* owned array */
	size_t nchall;
};

struct store_order {
	char id[STORE_ID_SIZE];
	char account_id[STORE_ID_SIZE];
	enum store_status status;
	time_t expires;
	time_t not_before; /* 0 when not requested */
	time_t not_after;  /* 0 when not requested */
	time_t created;
	struct acme_ident *idents; /* owned, sorted */
	size_t nident;
	char (*authz_ids)[STORE_ID_SIZE]; /* owned, nauthz entries */
	size_t nauthz;
	char *error;                 /* problem JSON, or NULL */
	char cert_id[STORE_ID_SIZE]; /* "" until issued */
	char profile[64];            /* "" only in orders stored before
				      * profiles existed: the default */
	char replaces[256];          /* ARI certID, "" when none */
};

struct store_cert {
	char id[STORE_ID_SIZE];
	char serial[STORE_SERIAL_SIZE]; /* lowercase hex, unique */
	char account_id[STORE_ID_SIZE];
	char order_id[STORE_ID_SIZE];
	char *chain_pem;     /* leaf first, then issuers */
	char *alt_chain_pem; /* alternate chain, or NULL */
	time_t not_before;
	time_t not_after;
	time_t revoked_at; /* 0 when not revoked */
	int reason;        /* RFC 5280 CRLReason, -1 when none */
	/* A renewal window the operator set (RFC 9773), 0/0 for none. */
	time_t ari_start;
	time_t ari_end;
	char *ari_explanation; /* explanationURL, or NULL */
	char profile[64];      /* profile it was issued under, "" if unknown */
};

struct store_eab {
	char kid[128];
	unsigned char key[64]; /* HMAC key */
	size_t keylen;
	char account_id[STORE_ID_SIZE]; /* "" until bound */
	time_t created;
};

/* A name the operator blocked, with what is under it (D74). */
struct store_block {
	char name[256];
	time_t created;
};

/* A validation that must run (or resume after a restart). */
struct store_job {
	char chall_id[STORE_ID_SIZE];
	time_t not_before; /* do not run before this time */
	/* The instance that holds it, and until when (D80). */
	char owner[STORE_ID_SIZE];
	time_t lease_until;
};

/* A cutoff of jobs_claim and orders_unclaim that every lease is before:
 * all of them, for a back end one process serves (D71, D80). */
#define STORE_EVERY_LEASE ((time_t)INT64_MAX)

/* One entry of a CRL: a revoked certificate (store_ops.cert_revoked). */
struct store_revoked {
	char serial[STORE_SERIAL_SIZE]; /* lowercase hex */
	time_t revoked_at;
	int reason; /* RFC 5280 CRLReason, -1 when none was given */
};

/* A CRL as signed and published (D50). */
struct store_crl {
	int64_t number; /* cRLNumber: 1, 2, ... */
	time_t this_update;
	time_t next_update;
	long long revocations; /* store_ops.revocations when it was made */
	unsigned char *der;    /* owned */
	size_t len;
};

/* An audit line recorded with its event, not yet copied to the file. */
struct store_audit {
	int64_t seq; /* order of recording */
	char *line;  /* owned: one JSON object, no newline */
};

struct store;

struct store_ops {
	const char *name;
	void (*close)(struct store *s);

	/*
	 * Groups the single-record writes between begin and commit into one
	 * transaction with one flush to disk (several writes a handler
	 * makes in a row).  Operations that run their own transaction
	 * (order_insert, authz_insert, account_insert_eab) must not be
	 * called inside one.
	 * rollback undoes them and may be called after a failed commit.
	 */
	int (*begin)(struct store *s, struct acme_problem *prob);
	int (*commit)(struct store *s, struct acme_problem *prob);
	void (*rollback)(struct store *s);

	/* Accounts. */
	int (*account_insert)(struct store *s, const struct store_account *a,
	    struct acme_problem *prob);
	/*
	 * account_insert and eab_bind of a->eab_kid to a->id in one
	 * transaction of its own (D90): ACME_ERR_EXISTS when the
	 * thumbprint is another account's, ACME_ERR_CONFLICT when the kid
	 * is bound already, ACME_ERR_NOTFOUND when there is no such kid;
	 * on any error nothing is stored.
	 */
	int (*account_insert_eab)(struct store *s,
	    const struct store_account *a, struct acme_problem *prob);
	int (*account_get)(struct store *s, const char *id,
	    struct store_account *out, struct acme_problem *prob);
	int (*account_by_thumbprint)(struct store *s, const char *thumb,
	    struct store_account *out, struct acme_problem *prob);
	/*
	 * Applies chg to account seen->id only while the account still has
	 * the status and thumbprint of seen (as the caller read it), in one
	 * statement: members chg leaves NULL or 0 keep their stored value,
	 * so a change never writes back a column it did not mean to (D54).
	 * ACME_ERR_CONFLICT when the account's status or key changed
	 * since seen was read (nothing is changed), ACME_ERR_EXISTS when
	 * the new thumbprint is another account's, ACME_ERR_NOTFOUND when
	 * there is no such account.
	 */
	int (*account_update)(struct store *s, const struct store_account *seen,
	    const struct store_account_change *chg, struct acme_problem *prob);

	/*
	 * Orders: insert stores the order, every authorization in authzs
	 * that is new (reused ones are only referenced) and their
	 * challenges, in one transaction.
	 */
	int (*order_insert)(struct store *s, const struct store_order *o,
	    const struct store_authz *authzs, size_t nnew,
	    struct acme_problem *prob);
	int (*order_get)(struct store *s, const char *id,
	    struct store_order *out, struct acme_problem *prob);
	/*
	 * Sets status (and error, cert_id when non-NULL) if the stored
	 * status is from; ACME_ERR_CONFLICT otherwise.
	 */
	int (*order_set_status)(struct store *s, const char *id,
	    enum store_status from, enum store_status to, const char *error,
	    const char *cert_id, struct acme_problem *prob);
	/*
	 * As order_set_status, for a change a crash may take back without
	 * harm, so it is not flushed on its own (the next flush covers it:
	 * the log is written in order): a status derived from durable state
	 * (ready once every authorization is valid, invalid once expired or
	 * an authorization failed; ra_order_get computes it again).  A back
	 * end may flush it anyway (PostgreSQL does, D65).
	 */
	int (*order_set_status_relaxed)(struct store *s, const char *id,
	    enum store_status from, enum store_status to, const char *error,
	    struct acme_problem *prob);
	/*
	 * Finalize's claim of order id (ready to processing) for instance
	 * owner until the time until (D81); ACME_ERR_CONFLICT when it is
	 * not ready.  Relaxed as above: the issuance's commit makes it
	 * durable, and orders_unclaim undoes it after a crash.
	 */
	int (*order_claim)(struct store *s, const char *id, const char *owner,
	    time_t until, struct acme_problem *prob);
	/*
	 * Ends the claim owner holds on order id: processing to to (valid
	 * with cert_id when non-NULL, or ready: given back), only while
	 * owner still holds it; ACME_ERR_CONFLICT when it does not (its
	 * lease ended and the order was given back, and maybe claimed by
	 * another instance since, D96).  Flushed, as order_set_status.
	 */
	int (*order_claim_end)(struct store *s, const char *id,
	    const char *owner, enum store_status to, const char *cert_id,
	    struct acme_problem *prob);
	/*
	 * Gives every processing order whose claim ends before
	 * expired_before back (ready): its finalize was cut off by a crash
	 * (D14: finalize issues within its request; a live instance renews
	 * its claims, lease_renew).  *n is the count.
	 */
	int (*orders_unclaim)(struct store *s, time_t expired_before, size_t *n,
	    struct acme_problem *prob);
	/*
	 * Up to max order ids of an account created after the order
	 * 'after' ("" for the start), oldest first, skipping invalid ones.
	 * ids is an array of max entries.  *n is the count filled.
	 */
	int (*order_list)(struct store *s, const char *account_id,
	    const char *after, char (*ids)[STORE_ID_SIZE], size_t max,
	    size_t *n, struct acme_problem *prob);
	/*
	 * How many orders of profile are still open (pending, ready or
	 * processing, expiring after now): what retiring it would strand.
	 */
	int (*order_count_open)(struct store *s, const char *profile,
	    time_t now, long long *n, struct acme_problem *prob);

	/* Authorizations, with their challenges. */
	/* Inserts a pre-authorization (newAuthz) and its challenges. */
	int (*authz_insert)(struct store *s, const struct store_authz *z,
	    struct acme_problem *prob);
	int (*authz_get)(struct store *s, const char *id,
	    struct store_authz *out, struct acme_problem *prob);
	/*
	 * The newest valid, unexpired authz of account for ident (and
	 * wildcard flag) expiring after min_expires; ACME_ERR_NOTFOUND.
	 */
	int (*authz_find_valid)(struct store *s, const char *account_id,
	    const struct acme_ident *ident, int wildcard, time_t min_expires,
	    struct store_authz *out, struct acme_problem *prob);
	/* Conditional status change, as order_set_status. */
	int (*authz_set_status)(struct store *s, const char *id,
	    enum store_status from, enum store_status to, time_t expires,
	    struct acme_problem *prob);
	int (*chall_get)(struct store *s, const char *id,
	    struct store_chall *out, struct acme_problem *prob);
	/* Conditional update of status, validated, error and attempts. */
	int (*chall_update)(struct store *s, const struct store_chall *c,
	    enum store_status from, struct acme_problem *prob);

	/*
	 * Validation jobs: queued with the challenge, survive restarts,
	 * each held by one instance at a time under a lease (D80).
	 * job_add stores j held by j->owner until j->lease_until.
	 */
	int (*job_add)(struct store *s, const struct store_job *j,
	    struct acme_problem *prob);
	int (*job_done)(struct store *s, const char *chall_id,
	    struct acme_problem *prob);
	/* Up to max jobs, oldest not_before first. */
	int (*job_list)(struct store *s, struct store_job *jobs, size_t max,
	    size_t *n, struct acme_problem *prob);
	/*
	 * Takes up to max jobs whose lease ends before expired_before for
	 * owner until the time until, oldest not_before first, into jobs
	 * (as now held); *n is the count.  A job is taken by one claimer
	 * only, however many race for it (on PostgreSQL, FOR UPDATE SKIP
	 * LOCKED); until must be at or after expired_before unless the
	 * cutoff is STORE_EVERY_LEASE.
	 */
	int (*jobs_claim)(struct store *s, const char *owner,
	    time_t expired_before, time_t until, struct store_job *jobs,
	    size_t max, size_t *n, struct acme_problem *prob);
	/* Ends the lease of job chall_id now: the next sweep may take it. */
	int (*job_release)(struct store *s, const char *chall_id,
	    struct acme_problem *prob);
	/*
	 * The heartbeat (D80): every job and every processing order's
	 * claim owner holds is held until until (0: given back now).
	 */
	int (*lease_renew)(struct store *s, const char *owner, time_t until,
	    struct acme_problem *prob);

	/* Certificates. */
	int (*cert_insert)(struct store *s, const struct store_cert *c,
	    struct acme_problem *prob);
	int (*cert_get)(struct store *s, const char *id, struct store_cert *out,
	    struct acme_problem *prob);
	int (*cert_by_serial)(struct store *s, const char *serial,
	    struct store_cert *out, struct acme_problem *prob);
	/* Sets revoked_at and reason if not yet revoked; else CONFLICT. */
	int (*cert_revoke)(struct store *s, const char *id, time_t when,
	    int reason, struct acme_problem *prob);
	/*
	 * Sets the renewal window (and explanation URL, or NULL) of the
	 * certificate with serial, or, when serial is NULL, of every
	 * certificate neither revoked nor expired at now.  *n is the count
	 * changed.
	 */
	int (*cert_set_window)(struct store *s, const char *serial,
	    time_t start, time_t end, const char *explanation, time_t now,
	    size_t *n, struct acme_problem *prob);
	/*
	 * The id of an order, not invalid, whose replaces is cert_id (an
	 * ARI certID); ACME_ERR_NOTFOUND when there is none.  order_insert
	 * of a second such order fails with ACME_ERR_EXISTS.
	 */
	int (*order_replacing)(struct store *s, const char *cert_id,
	    char out[STORE_ID_SIZE], struct acme_problem *prob);
	/*
	 * The id of the first order ever stored whose replaces is cert_id,
	 * whatever its status (D57: only it may be exempt from the rate
	 * limits); ACME_ERR_NOTFOUND when there is none.
	 */
	int (*order_first_replacing)(struct store *s, const char *cert_id,
	    char out[STORE_ID_SIZE], struct acme_problem *prob);

	/*
	 * CRLs (D50).  revocations counts every revocation ever made (a
	 * certificate is never unrevoked, so the count changes exactly
	 * when a CRL needs a new entry).  cert_revoked lists, in serial
	 * order, the revoked certificates whose not_after is at or after
	 * expiring_from, as a heap array the caller frees (*out NULL when
	 * *n is 0).  crl_latest reads the newest CRL (ACME_ERR_NOTFOUND
	 * when none was made); crl_insert stores c, which must be
	 * numbered one past the newest, and drops the older ones:
	 * ACME_ERR_EXISTS when that number was taken meanwhile (another
	 * process signed it first).
	 */
	int (*revocations)(struct store *s, long long *n,
	    struct acme_problem *prob);
	int (*cert_revoked)(struct store *s, time_t expiring_from,
	    struct store_revoked **out, size_t *n, struct acme_problem *prob);
	int (*crl_latest)(struct store *s, struct store_crl *out,
	    struct acme_problem *prob);
	int (*crl_insert)(struct store *s, const struct store_crl *c,
	    struct acme_problem *prob);

	/*
	 * The audit outbox (D44): audit_add records a line in the
	 * transaction of the change it describes; audit_pending reads up
	 * to max of them, oldest first (free each line); audit_done drops
	 * those up to seq (on a shared back end: those of them this thread's
	 * last audit_pending read, which inside begin/commit no other
	 * instance reads meanwhile, D77) once the file has them, without a flush of its
	 * own (a crash before the next flush only makes them pending
	 * again, and the copier skips lines the file already ends with).
	 */
	int (*audit_add)(struct store *s, const char *line,
	    struct acme_problem *prob);
	int (*audit_pending)(struct store *s, struct store_audit *rows,
	    size_t max, size_t *n, struct acme_problem *prob);
	int (*audit_done)(struct store *s, int64_t seq,
	    struct acme_problem *prob);

	/*
	 * Nonces shared by the instances of one database (D77); NULL on a
	 * back end one process serves (SQLite), whose nonces stay in
	 * memory.  nonce_key gives the key every instance encrypts nonces
	 * with, made by the first caller.  nonce_spend records a nonce
	 * spent until expires: 0 the first time, ACME_ERR_EXISTS after;
	 * rows past their expiry (now) are dropped now and then.
	 */
	int (*nonce_key)(struct store *s, unsigned char key[NONCE_KEY_LEN],
	    struct acme_problem *prob);
	int (*nonce_spend)(struct store *s,
	    const unsigned char nonce[NONCE_BLOCK], int64_t expires,
	    int64_t now, struct acme_problem *prob);

	/*
	 * Rate limits (D51), by the generic cell rate algorithm: each key
	 * holds a theoretical arrival time, tat, in milliseconds.  At now
	 * (ms) a request is allowed when max(tat, now) - now <= burst, and
	 * *retry_ms is 0; else *retry_ms is how long until it would be.
	 * mode 0 only looks; 1 spends when allowed, 2 spends even when not
	 * (for events that happened anyway).  Spending sets tat to
	 * max(tat, now) + interval.  The write is not flushed on its own
	 * (a crash may give a spent token back); inside begin/commit it is
	 * part of that transaction.  Keys whose tat has passed are dropped
	 * as others spend: a full bucket needs no row.
	 */
	int (*rl_take)(struct store *s, const char *key, int64_t now,
	    int64_t interval, int64_t burst, int mode, int64_t *retry_ms,
	    struct acme_problem *prob);

	/* External account binding keys. */
	int (*eab_insert)(struct store *s, const struct store_eab *e,
	    struct acme_problem *prob);
	int (*eab_get)(struct store *s, const char *kid, struct store_eab *out,
	    struct acme_problem *prob);
	/* Binds kid to account if still unbound; else CONFLICT. */
	int (*eab_bind)(struct store *s, const char *kid,
	    const char *account_id, struct acme_problem *prob);
	/*
	 * Every key, oldest first, as a heap array the caller frees (*out
	 * NULL when *n is 0); key and keylen are left empty.
	 */
	int (*eab_list)(struct store *s, struct store_eab **out, size_t *n,
	    struct acme_problem *prob);
	/* Deletes kid (bound or not); ACME_ERR_NOTFOUND when none. */
	int (*eab_remove)(struct store *s, const char *kid,
	    struct acme_problem *prob);

	/*
	 * The operator's actions (D74).  account_pause sets the account's
	 * paused time; ACME_ERR_CONFLICT when it is paused already,
	 * ACME_ERR_NOTFOUND when there is no such account.  cert_find
	 * lists up to max certificate ids, oldest first, of account_id
	 * (NULL: any) whose order named the identifier value name exactly
	 * (NULL: any).  block_add blocks name and every name under it
	 * (ACME_ERR_EXISTS when it is blocked already); name_blocked
	 * copies into match the shortest blocked name that is name or one
	 * of its parents, ACME_ERR_NOTFOUND when none is.
	 *
	 * Their undoing (D88): account_unpause clears the paused time
	 * (ACME_ERR_CONFLICT when it is not paused, ACME_ERR_NOTFOUND when
	 * there is no such account); block_remove removes exactly the
	 * block on name (ACME_ERR_NOTFOUND when name itself is not
	 * blocked); block_list returns every block in *out (heap, name
	 * order, the caller frees it; NULL when *n is 0).
	 */
	int (*account_pause)(struct store *s, const char *id, time_t when,
	    struct acme_problem *prob);
	int (*cert_find)(struct store *s, const char *account_id,
	    const char *name, char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
	    struct acme_problem *prob);
	int (*block_add)(struct store *s, const char *name, time_t when,
	    struct acme_problem *prob);
	int (*name_blocked)(struct store *s, const char *name, char *match,
	    size_t size, struct acme_problem *prob);
	int (*account_unpause)(struct store *s, const char *id,
	    struct acme_problem *prob);
	int (*block_remove)(struct store *s, const char *name,
	    struct acme_problem *prob);
	int (*block_list)(struct store *s, struct store_block **out, size_t *n,
	    struct acme_problem *prob);
};

struct store {
	const struct store_ops *ops;
	/*
	 * Statements sent to the database and waited for since open (D84):
	 * on PostgreSQL each is one round trip to the server (a PREPARE on
	 * a connection's first use of a statement is one more); on SQLite
	 * one statement run in the calling thread.  Relaxed atomic; read
	 * with store_roundtrips().
	 */
	uint64_t roundtrips;
};

/* Counts one statement on s (the back ends, D84). */
static inline void
store_count_roundtrip(struct store *s)
{
	__atomic_fetch_add(&s->roundtrips, 1, __ATOMIC_RELAXED);
}

/* Statements s has sent so far (see struct store). */
static inline uint64_t
store_roundtrips(const struct store *s)
{
	ACME_ASSERT(s != NULL);
	return __atomic_load_n(&s->roundtrips, __ATOMIC_RELAXED);
}

/*
 * Callers use these wrappers, never s->ops directly: one store_NAME(s, ...)
 * per operation NAME above, with its contract.  Each asserts (D69) that
 * s and every pointer the contract needs are not NULL; prob, error,
 * cert_id, explanation and cert_set_window's serial may be.
 */
static inline int
store_begin(struct store *s, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	return s->ops->begin(s, prob);
}

static inline int
store_commit(struct store *s, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	return s->ops->commit(s, prob);
}

static inline void
store_rollback(struct store *s)
{
	ACME_ASSERT(s != NULL);
	s->ops->rollback(s);
}

static inline int
store_account_insert(struct store *s, const struct store_account *a,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(a != NULL);
	return s->ops->account_insert(s, a, prob);
}

static inline int
store_account_insert_eab(struct store *s, const struct store_account *a,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(a != NULL && a->eab_kid[0] != '\0');
	return s->ops->account_insert_eab(s, a, prob);
}

static inline int
store_account_get(struct store *s, const char *id, struct store_account *out,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->account_get(s, id, out, prob);
}

static inline int
store_account_by_thumbprint(struct store *s, const char *thumb,
    struct store_account *out, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(thumb != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->account_by_thumbprint(s, thumb, out, prob);
}

static inline int
store_account_update(struct store *s, const struct store_account *seen,
    const struct store_account_change *chg, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(seen != NULL);
	ACME_ASSERT(chg != NULL);
	return s->ops->account_update(s, seen, chg, prob);
}

static inline int
store_order_insert(struct store *s, const struct store_order *o,
    const struct store_authz *authzs, size_t nnew, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(o != NULL);
	ACME_ASSERT(authzs != NULL);
	return s->ops->order_insert(s, o, authzs, nnew, prob);
}

static inline int
store_order_get(struct store *s, const char *id, struct store_order *out,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->order_get(s, id, out, prob);
}

static inline int
store_order_set_status(struct store *s, const char *id, enum store_status from,
    enum store_status to, const char *error, const char *cert_id,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL);
	return s->ops->order_set_status(s, id, from, to, error, cert_id, prob);
}

static inline int
store_order_set_status_relaxed(struct store *s, const char *id,
    enum store_status from, enum store_status to, const char *error,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL);
	return s->ops->order_set_status_relaxed(s, id, from, to, error, prob);
}

static inline int
store_order_claim(struct store *s, const char *id, const char *owner,
    time_t until, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL && owner != NULL);
	return s->ops->order_claim(s, id, owner, until, prob);
}

static inline int
store_order_claim_end(struct store *s, const char *id, const char *owner,
    enum store_status to, const char *cert_id, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL && owner != NULL);
	ACME_ASSERT(to == ST_VALID || to == ST_READY);
	return s->ops->order_claim_end(s, id, owner, to, cert_id, prob);
}

static inline int
store_orders_unclaim(struct store *s, time_t expired_before, size_t *n,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(n != NULL);
	return s->ops->orders_unclaim(s, expired_before, n, prob);
}

static inline int
store_order_list(struct store *s, const char *account_id, const char *after,
    char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(account_id != NULL);
	ACME_ASSERT(after != NULL);
	ACME_ASSERT(ids != NULL);
	ACME_ASSERT(n != NULL);
	return s->ops->order_list(s, account_id, after, ids, max, n, prob);
}

static inline int
store_order_count_open(struct store *s, const char *profile, time_t now,
    long long *n, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(profile != NULL);
	ACME_ASSERT(n != NULL);
	return s->ops->order_count_open(s, profile, now, n, prob);
}

static inline int
store_authz_insert(struct store *s, const struct store_authz *z,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(z != NULL);
	return s->ops->authz_insert(s, z, prob);
}

static inline int
store_authz_get(struct store *s, const char *id, struct store_authz *out,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->authz_get(s, id, out, prob);
}

static inline int
store_authz_find_valid(struct store *s, const char *account_id,
    const struct acme_ident *ident, int wildcard, time_t min_expires,
    struct store_authz *out, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(account_id != NULL);
	ACME_ASSERT(ident != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->authz_find_valid(s, account_id, ident, wildcard,
	    min_expires, out, prob);
}

static inline int
store_authz_set_status(struct store *s, const char *id, enum store_status from,
    enum store_status to, time_t expires, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL);
	return s->ops->authz_set_status(s, id, from, to, expires, prob);
}

static inline int
store_chall_get(struct store *s, const char *id, struct store_chall *out,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->chall_get(s, id, out, prob);
}

static inline int
store_chall_update(struct store *s, const struct store_chall *c,
    enum store_status from, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(c != NULL);
	return s->ops->chall_update(s, c, from, prob);
}

static inline int
store_job_add(struct store *s, const struct store_job *j,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(j != NULL);
	return s->ops->job_add(s, j, prob);
}

static inline int
store_job_done(struct store *s, const char *chall_id, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(chall_id != NULL);
	return s->ops->job_done(s, chall_id, prob);
}

static inline int
store_job_list(struct store *s, struct store_job *jobs, size_t max, size_t *n,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(jobs != NULL);
	ACME_ASSERT(n != NULL);
	return s->ops->job_list(s, jobs, max, n, prob);
}

static inline int
store_jobs_claim(struct store *s, const char *owner, time_t expired_before,
    time_t until, struct store_job *jobs, size_t max, size_t *n,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(owner != NULL && jobs != NULL && n != NULL);
	return s->ops->jobs_claim(s, owner, expired_before, until, jobs, max, n,
	    prob);
}

static inline int
store_job_release(struct store *s, const char *chall_id,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(chall_id != NULL);
	return s->ops->job_release(s, chall_id, prob);
}

static inline int
store_lease_renew(struct store *s, const char *owner, time_t until,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(owner != NULL);
	return s->ops->lease_renew(s, owner, until, prob);
}

static inline int
store_cert_insert(struct store *s, const struct store_cert *c,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(c != NULL);
	return s->ops->cert_insert(s, c, prob);
}

static inline int
store_cert_get(struct store *s, const char *id, struct store_cert *out,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->cert_get(s, id, out, prob);
}

static inline int
store_cert_by_serial(struct store *s, const char *serial,
    struct store_cert *out, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(serial != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->cert_by_serial(s, serial, out, prob);
}

static inline int
store_cert_revoke(struct store *s, const char *id, time_t when, int reason,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(id != NULL);
	return s->ops->cert_revoke(s, id, when, reason, prob);
}

static inline int
store_cert_set_window(struct store *s, const char *serial, time_t start,
    time_t end, const char *explanation, time_t now, size_t *n,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(n != NULL);
	return s->ops->cert_set_window(s, serial, start, end, explanation, now,
	    n, prob);
}

static inline int
store_order_replacing(struct store *s, const char *cert_id,
    char out[STORE_ID_SIZE], struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->order_replacing(s, cert_id, out, prob);
}

static inline int
store_order_first_replacing(struct store *s, const char *cert_id,
    char out[STORE_ID_SIZE], struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->order_first_replacing(s, cert_id, out, prob);
}

static inline int
store_revocations(struct store *s, long long *n, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(n != NULL);
	return s->ops->revocations(s, n, prob);
}

static inline int
store_cert_revoked(struct store *s, time_t expiring_from,
    struct store_revoked **out, size_t *n, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(out != NULL);
	ACME_ASSERT(n != NULL);
	return s->ops->cert_revoked(s, expiring_from, out, n, prob);
}

static inline int
store_crl_latest(struct store *s, struct store_crl *out,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->crl_latest(s, out, prob);
}

static inline int
store_crl_insert(struct store *s, const struct store_crl *c,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(c != NULL);
	return s->ops->crl_insert(s, c, prob);
}

static inline int
store_audit_add(struct store *s, const char *line, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(line != NULL);
	return s->ops->audit_add(s, line, prob);
}

static inline int
store_audit_pending(struct store *s, struct store_audit *rows, size_t max,
    size_t *n, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(rows != NULL);
	ACME_ASSERT(n != NULL);
	return s->ops->audit_pending(s, rows, max, n, prob);
}

static inline int
store_audit_done(struct store *s, int64_t seq, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	return s->ops->audit_done(s, seq, prob);
}

static inline int
store_rl_take(struct store *s, const char *key, int64_t now, int64_t interval,
    int64_t burst, int mode, int64_t *retry_ms, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(key != NULL);
	ACME_ASSERT(retry_ms != NULL);
	return s->ops->rl_take(s, key, now, interval, burst, mode, retry_ms,
	    prob);
}

static inline int
store_eab_insert(struct store *s, const struct store_eab *e,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(e != NULL);
	return s->ops->eab_insert(s, e, prob);
}

static inline int
store_eab_get(struct store *s, const char *kid, struct store_eab *out,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(kid != NULL);
	ACME_ASSERT(out != NULL);
	return s->ops->eab_get(s, kid, out, prob);
}

static inline int
store_eab_bind(struct store *s, const char *kid, const char *account_id,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL);
	ACME_ASSERT(kid != NULL);
	ACME_ASSERT(account_id != NULL);
	return s->ops->eab_bind(s, kid, account_id, prob);
}

/*
 * 1 when several instances may share the back end (PostgreSQL): nonces
 * are spent in it and the audit outbox is copied in a transaction (D77).
 */
static inline int
store_shared(const struct store *s)
{
	return s->ops->nonce_key != NULL;
}

static inline int
store_nonce_key(struct store *s, unsigned char key[NONCE_KEY_LEN],
    struct acme_problem *prob)
{
	return s->ops->nonce_key(s, key, prob);
}

static inline int
store_nonce_spend(struct store *s, const unsigned char nonce[NONCE_BLOCK],
    int64_t expires, int64_t now, struct acme_problem *prob)
{
	return s->ops->nonce_spend(s, nonce, expires, now, prob);
}

static inline int
store_eab_list(struct store *s, struct store_eab **out, size_t *n,
    struct acme_problem *prob)
{
	return s->ops->eab_list(s, out, n, prob);
}

static inline int
store_eab_remove(struct store *s, const char *kid, struct acme_problem *prob)
{
	return s->ops->eab_remove(s, kid, prob);
}

static inline int
store_account_pause(struct store *s, const char *id, time_t when,
    struct acme_problem *prob)
{
	return s->ops->account_pause(s, id, when, prob);
}

static inline int
store_cert_find(struct store *s, const char *account_id, const char *name,
    char (*ids)[STORE_ID_SIZE], size_t max, size_t *n,
    struct acme_problem *prob)
{
	return s->ops->cert_find(s, account_id, name, ids, max, n, prob);
}

static inline int
store_block_add(struct store *s, const char *name, time_t when,
    struct acme_problem *prob)
{
	return s->ops->block_add(s, name, when, prob);
}

static inline int
store_name_blocked(struct store *s, const char *name, char *match, size_t size,
    struct acme_problem *prob)
{
	return s->ops->name_blocked(s, name, match, size, prob);
}

static inline int
store_account_unpause(struct store *s, const char *id,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL && id != NULL);
	return s->ops->account_unpause(s, id, prob);
}

static inline int
store_block_remove(struct store *s, const char *name, struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL && name != NULL);
	return s->ops->block_remove(s, name, prob);
}

static inline int
store_block_list(struct store *s, struct store_block **out, size_t *n,
    struct acme_problem *prob)
{
	ACME_ASSERT(s != NULL && out != NULL && n != NULL);
	return s->ops->block_list(s, out, n, prob);
}

/*
 * Opens the back end named by url: "sqlite:PATH" (or a bare path) or a
 * libpq URI, "postgresql://USER@HOST:PORT/DB" or "postgres://..."
 * (D65).  Creates and migrates the schema.  Files it keeps are the
 * owner's only (0600), whatever the umask, also when they existed with
 * a wider mode.  Returns a store or NULL with prob set.
 */
struct store *store_open(const char *url, struct acme_problem *prob);

#define STORE_POOL_DEFAULT 16 /* PostgreSQL connections per process */

struct store_open_opts {
	/*
	 * 1: create or upgrade the schema (init, migrate); 0: refuse a
	 * schema other than the newest with one line (serve and the
	 * other commands).  SQLite upgrades at open either way (D65).
	 */
	int migrate;
	int pool; /* PostgreSQL connections at most; 0: the default */
};

/* As store_open(), as o says. */
struct store *store_open_with(const char *url, const struct store_open_opts *o,
    struct acme_problem *prob);
void store_close(struct store *s);

/* Random unpredictable identifiers and tokens (S-DIR-8, S-CHAL-8). */
int store_new_id(char out[STORE_ID_SIZE]);
int store_new_token(char out[STORE_TOKEN_SIZE]);

void store_account_release(struct store_account *a);
void store_authz_release(struct store_authz *a);
void store_chall_release(struct store_chall *c);
void store_order_release(struct store_order *o);
void store_cert_release(struct store_cert *c);
void store_crl_release(struct store_crl *c);

#endif
