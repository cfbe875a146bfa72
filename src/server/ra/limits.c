/* SPDX-License-Identifier: ISC */
/*
 * The rate limits the registration authority meets and spends (D51):
 * every key of a limit is built by policy/ratelimit.c, and every spend
 * happens here, in the transaction of the event it counts where there
 * is one.
 */
#include <stdio.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/log.h>

#include "ra_int.h"
#include "../policy/ratelimit.h"

#include "contract.h"
#include "internal.h"

int
ra__limits_order(struct srv *srv, const struct conf *cfg,
    const char *account_id, const struct acme_ident *ids, size_t n, int set,
    time_t *retry, struct acme_problem *prob)
{
	const struct rl_set *rl = &cfg->rate_limits;
	time_t now = srv->now();
	char key[RL_KEY_MAX];
	size_t i;
	int rc;

	if (rl->l[RL_FAILED_AUTHZ_PER_IDENT].count == 0 &&
	    rl->l[RL_CERTS_PER_IDENT_SET].count == 0 &&
	    rl->l[RL_NEW_ORDERS_PER_ACCOUNT].count == 0)
		return 0; /* all off: not even a key to make */
	for (i = 0; rl->l[RL_FAILED_AUTHZ_PER_IDENT].count > 0 && i < n; i++) {
		struct acme_ident base = ids[i];

		if (strncmp(base.value, WILDCARD, LIT_LEN(WILDCARD)) == 0)
			memmove(base.value, base.value + LIT_LEN(WILDCARD),
			    strlen(base.value + LIT_LEN(WILDCARD)) + 1);
		if (rl_key_failed_authz(account_id, &base, key, sizeof(key)) ==
			0 &&
		    (rc = rl_apply(srv->store, rl, RL_FAILED_AUTHZ_PER_IDENT,
			 key, now, RL_CHECK, retry, prob)) != 0) {
			if (rc == ACME_ERR_LIMIT)
				snprintf(prob->detail + strlen(prob->detail),
				    sizeof(prob->detail) - strlen(prob->detail),
				    " (%s)", base.value);
			return rc;
		}
	}
	if (set && rl_key_ident_set(ids, n, key, sizeof(key)) == 0 &&
	    (rc = rl_apply(srv->store, rl, RL_CERTS_PER_IDENT_SET, key, now,
		 RL_CHECK, retry, prob)) != 0)
		return rc;
	if (rl_key_new_orders(account_id, key, sizeof(key)) != 0)
		return 0;
	return rl_apply(srv->store, rl, RL_NEW_ORDERS_PER_ACCOUNT, key, now,
	    RL_SPEND, retry, prob);
}

int
ra__limits_issuance_counted(struct srv *srv, const struct conf *cfg,
    const struct store_order *o, struct acme_problem *prob)
{
	int rc;

	if (cfg->rate_limits.l[RL_CERTS_PER_IDENT_SET].count == 0)
		return 0;
	if ((rc = ra__renewal_exempt(srv, o, prob)) != 0)
		return rc < 0 ? rc : 0;
	return 1;
}

int
ra__limits_issued(struct srv *srv, const struct conf *cfg,
    const struct store_order *o, struct acme_problem *prob)
{
	char key[RL_KEY_ACCOUNT_MAX];
	time_t retry;
	int rc;

	if (rl_key_ident_set(o->idents, o->nident, key, sizeof(key)) != 0)
		return 0;
	rc = rl_apply(srv->store, &cfg->rate_limits, RL_CERTS_PER_IDENT_SET,
	    key, srv->now(), RL_FORCE, &retry, prob);
	if (rc == ACME_ERR_LIMIT) {
		/* Spent anyway: the certificate is made. */
		acme_problem_release(prob);
		rc = 0;
	}
	return rc;
}

void
ra__limits_failed(struct srv *srv, const struct conf *cfg,
    const struct store_authz *z)
{
	struct acme_problem p = { 0 };
	char key[RL_KEY_MAX];
	time_t retry;

	if (cfg->rate_limits.l[RL_FAILED_AUTHZ_PER_IDENT].count == 0 ||
	    rl_key_failed_authz(z->account_id, &z->ident, key, sizeof(key)) !=
		0)
		return;
	if (rl_apply(srv->store, &cfg->rate_limits, RL_FAILED_AUTHZ_PER_IDENT,
		key, srv->now(), RL_FORCE, &retry, &p) == ACME_ERR_LIMIT ||
	    p.type == ACME_PROB_NONE) {
		acme_problem_release(&p);
		return;
	}
	acme_log(ACME_LOG_WARN, "rate limit not counted",
	    "authz=%s detail=\"%s\"", z->id, p.detail);
	acme_problem_release(&p);
}

int
ra__account_limit(struct srv *srv, const struct conf *cfg, const char *ip,
    time_t *retry, struct acme_problem *prob)
{
	char key[RL_KEY_ACCOUNT_MAX];

	ACME_ASSERT(srv != NULL && ip != NULL && retry != NULL);
	*retry = 0;
	if (cfg->rate_limits.l[RL_NEW_ACCOUNTS_PER_IP].count == 0 ||
	    ip[0] == '\0' || rl_key_ip(ip, key, sizeof(key)) != 0)
		return 0;
	return rl_apply(srv->store, &cfg->rate_limits, RL_NEW_ACCOUNTS_PER_IP,
	    key, srv->now(), RL_SPEND, retry, prob);
}
