/* SPDX-License-Identifier: ISC */
/*
 * The published CRL (see crl.h).  A CRL is current while no revocation
 * was made after it (store_ops.revocations, read on every request: one
 * count over the partial index of revoked certificates), it is younger
 * than crl_refresh and it has not reached its nextUpdate.  A revoked
 * certificate stays on the CRLs until one was signed after it expired
 * (RFC 5280 3.3): each new CRL lists those expiring at or after the
 * thisUpdate of the one before it.  Building runs under the cache's
 * lock, so one thread signs while the others wait for its result; two
 * processes that sign the same number at once both find out through
 * crl_insert, and the loser serves the winner's.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/log.h>

#include "crl.h"

#include "internal.h"

/* Times a CRL is built when another instance keeps winning the race
 * to store the next number; more means something else is wrong. */
#define CRL_TRIES 3

struct crl {
	pthread_mutex_t lock;
	struct store_crl cur; /* cur.der NULL until the first */
};

struct crl *
crl_new(void)
{
	struct crl *c = calloc(1, sizeof(*c));

	if (c != NULL && pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		c = NULL;
	}
	return c;
}

void
crl_free(struct crl *c)
{
	if (c == NULL)
		return;
	store_crl_release(&c->cur);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int
is_current(const struct store_crl *x, long long revocations, time_t now,
    const struct conf *cfg)
{
	return x->der != NULL && x->revocations == revocations &&
	       now >= x->this_update &&
	       now - x->this_update < (time_t)cfg->crl_refresh &&
	       now < x->next_update;
}

static int
copy_crl(struct store_crl *dst, const struct store_crl *src,
    struct acme_problem *prob)
{
	*dst = *src;
	if ((dst->der = malloc(src->len)) == NULL) {
		dst->len = 0;
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	}
	memcpy(dst->der, src->der, src->len);
	return 0;
}

/*
 * Signs the CRL after prev (NULL: the first) and stores it in *made.
 * ACME_ERR_EXISTS when another process stored that number first.
 */
static int
make_next(struct store *st, struct issuer *is, const struct conf *cfg,
    time_t now, long long revocations, const struct store_crl *prev,
    struct store_crl *made, struct acme_problem *prob)
{
	struct store_revoked *r = NULL;
	size_t n = 0;
	int rc;

	memset(made, 0, sizeof(*made));
	made->number = prev != NULL ? prev->number + 1 : 1;
	made->this_update = now;
	made->next_update = now + cfg->crl_lifetime;
	made->revocations = revocations;
	if ((rc = store_cert_revoked(st, prev != NULL ? prev->this_update : 0,
		 &r, &n, prob)) != 0)
		return rc;
	rc = issuer_sign_crl(is, r, n, made->number, made->this_update,
	    made->next_update, &made->der, &made->len, prob);
	free(r);
	if (rc == 0 && (rc = store_crl_insert(st, made, prob)) == 0)
		acme_log(ACME_LOG_INFO, "crl signed",
		    "number=%lld entries=%zu bytes=%zu",
		    (long long)made->number, n, made->len);
	if (rc != 0)
		store_crl_release(made);
	return rc;
}

/* crl_current() without the cache: the stored CRL, or a new one. */
static int
current_stored(struct store *st, struct issuer *is, const struct conf *cfg,
    time_t now, long long revocations, struct store_crl *out,
    struct acme_problem *prob)
{
	struct store_crl latest;
	int rc, tries, have;

	for (tries = 0; tries < CRL_TRIES; tries++) {
		rc = store_crl_latest(st, &latest, prob);
		if (rc != 0 && rc != ACME_ERR_NOTFOUND)
			return rc;
		have = rc == 0;
		if (have && is_current(&latest, revocations, now, cfg)) {
			*out = latest;
			return 0;
		}
		rc = make_next(st, is, cfg, now, revocations,
		    have ? &latest : NULL, out, prob);
		if (have)
			store_crl_release(&latest);
		if (rc != ACME_ERR_EXISTS)
			return rc;
		/* Another process signed that number: read it. */
	}
	return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
	    "CRL numbers kept being taken by another process");
}

int
crl_current(struct crl *c, struct store *st, struct issuer *is,
    const struct conf *cfg, time_t now, struct store_crl *out,
    struct acme_problem *prob)
{
	struct store_crl fresh;
	long long revocations = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_revocations(st, &revocations, prob)) != 0)
		return rc;
	if (c == NULL)
		return current_stored(st, is, cfg, now, revocations, out, prob);
	pthread_mutex_lock(&c->lock);
	if (is_current(&c->cur, revocations, now, cfg)) {
		rc = copy_crl(out, &c->cur, prob);
		goto out;
	}
	if ((rc = current_stored(st, is, cfg, now, revocations, &fresh,
		 prob)) != 0)
		goto out;
	store_crl_release(&c->cur);
	c->cur = fresh;
	rc = copy_crl(out, &c->cur, prob);
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}
