/* SPDX-License-Identifier: ISC */
/*
 * va_check() (see va.h): the validators of every challenge type in one
 * table sharing one signature, then CAA.  No storage, no state.
 */
#include <string.h>

#include <anvil/err.h>

#include "va.h"

#include "internal.h"

typedef int (*validator_fn)(const struct va_ctx *ctx,
    const struct va_request *rq, struct acme_problem *prob);

static int
http01(const struct va_ctx *ctx, const struct va_request *rq,
    struct acme_problem *prob)
{
	return va_http01(ctx->cfg, ctx->res, ctx->deadline, rq->ident.value,
	    rq->token, rq->keyauth, prob);
}

static int
tlsalpn01(const struct va_ctx *ctx, const struct va_request *rq,
    struct acme_problem *prob)
{
	return va_tlsalpn01(ctx->cfg, ctx->res, ctx->deadline, rq->ident.value,
	    rq->keyauth, prob);
}

static int
dns01(const struct va_ctx *ctx, const struct va_request *rq,
    struct acme_problem *prob)
{
	return va_dns01(ctx->res, ctx->deadline, rq->ident.value, rq->keyauth,
	    prob);
}

static const struct {
	const char *type;
	validator_fn check;
} validators[] = {
	{ "http-01", http01 },
	{ "dns-01", dns01 },
	{ "tls-alpn-01", tlsalpn01 },
};

int
va_check(const struct va_ctx *ctx, const struct va_request *rq,
    struct acme_problem *prob)
{
	size_t i;
	int rc;

	for (i = 0; i < ACME_ARRAY_LEN(validators); i++)
		if (strcmp(validators[i].type, rq->type) == 0)
			break;
	if (i == ACME_ARRAY_LEN(validators))
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "challenge type %s cannot be validated", rq->type);
	if ((rc = validators[i].check(ctx, rq, prob)) != 0)
		return rc < 0 ? rc : ACME_ERR_VERIFY;
	/* CAA is checked once control is shown (S-CAA, BR 3.2.2.8). */
	if (rq->ident.type == ACME_IDENT_DNS)
		return va_caa(ctx->cfg, ctx->res, ctx->caa, ctx->deadline,
		    rq->ident.value, rq->wildcard, rq->account_id, rq->type,
		    prob);
	return 0;
}
