/* SPDX-License-Identifier: ISC */
/*
 * The CRL anvil-ca publishes (D50): one full CRL of the intermediate,
 * made when it is asked for and the newest one is no longer current (a
 * revocation since, or older than crl_refresh), signed by the issuer
 * and stored, so that every process serving the database serves the
 * same CRL and its number keeps rising across restarts.
 */
#ifndef ANVIL_CRL_H
#define ANVIL_CRL_H

#include <time.h>

#include <anvil/problem.h>

#include "../conf.h"
#include "../store/store.h"
#include "issuer.h"

struct crl;

struct crl *crl_new(void);
void crl_free(struct crl *c);

/*
 * The current CRL at now, signed anew if needed (c may be NULL: no
 * copy kept in memory, as "anvil-ca crl" runs it).  Fills out (the
 * caller releases it with store_crl_release()).  Returns 0 or a
 * negative error with prob set.
 */
int crl_current(struct crl *c, struct store *st, struct issuer *is,
    const struct conf *cfg, time_t now, struct store_crl *out,
    struct acme_problem *prob);

#endif
