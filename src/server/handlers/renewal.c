/* SPDX-License-Identifier: ISC */
/*
 * ACME Renewal Information (RFC 9773): the unauthenticated renewalInfo
 * resource, which tells a client when to renew, and the newOrder
 * "replaces" member, which the RA checks (ra/renewal.c).  The suggested window opens when a third of the
 * lifetime is left (half for lifetimes of 10 days or less, as the anvil
 * client's own rule) and closes when a sixth (a third) is left; a
 * revoked certificate gets a window in the past, so clients renew at
 * once; an operator can set any window ("anvil-ca ari set").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/ari.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/x509.h>

#include "common.h"
#include "handlers.h"
#include "../http/reply.h"
#include "../ra/ra.h"

#include "internal.h"

/* The suggested window of c at now (S-ARI-4, S-ARI-5: end > start). */
static void
window(const struct store_cert *c, time_t now, time_t *start, time_t *end)
{
	time_t life = c->not_after - c->not_before;

	if (c->revoked_at != 0) {
		*start = now - 7200;
		*end = now - 3600;
	} else if (c->ari_end > c->ari_start) {
		*start = c->ari_start;
		*end = c->ari_end;
	} else if (life <= 10 * 86400) {
		*start = c->not_after - life / 2;
		*end = c->not_after - life / 3;
	} else {
		*start = c->not_after - life / 3;
		*end = c->not_after - life / 6;
	}
	if (*end <= *start)
		*end = *start + 1;
}

void
h_renewal_info(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_cert c;
	time_t start, end;
	char ts[32], te[32];
	json_t *body;

	if (ra_cert_by_ari_id(srv, req->param, &c, &prob) != 0) {
		reply_problem(resp, &prob);
		acme_problem_release(&prob);
		return;
	}
	window(&c, srv->now(), &start, &end);
	body = json_pack("{s:{s:s, s:s}}", "suggestedWindow", "start",
	    acme_rfc3339(ts, start), "end", acme_rfc3339(te, end));
	if (body != NULL && c.ari_explanation != NULL && c.revoked_at == 0)
		json_object_set_new(body, "explanationURL",
		    json_string(c.ari_explanation));
	if (reply_json(resp, 200, body) == 0)
		reply_headerf(resp, "Retry-After", "%d",
		    srv->cfg->ari_retry_after);
	store_cert_release(&c);
}

int
renewal_check_replaces(struct srv *srv, const struct req *req,
    const json_t *payload, const struct acme_ident *ids, size_t n,
    struct store_order *o, int *exempt, struct acme_problem *prob)
{
	const char *id = NULL;
	int rc = acme_json_get_string(payload, "replaces", ACME_JSON_OPTIONAL,
	    &id, prob);

	*exempt = 0;
	if (rc != 0)
		return rc < 0 ? rc : 0;
	return ra_order_replaces(srv, req->acct->id, id, ids, n, o, exempt,
	    prob);
}
