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

/* A revoked certificate's window is in the past, from 2 h to 1 h ago
 * (seconds): renew now (S-ARI-4 still holds, end > start). */
#define REVOKED_OPEN_AGO  (2 * HOUR_SECS)
#define REVOKED_CLOSE_AGO HOUR_SECS
/* Seconds of life up to which a certificate is short-lived: its window
 * opens with 1/2 of its life left and closes with 1/3 left; a longer
 * one's opens with 1/3 left and closes with 1/6, so the client renews
 * around two thirds of the way through, as RFC 9773 suggests. */
#define SHORT_LIFE      (10 * DAY_SECS)
#define SHORT_OPEN_DIV  2
#define SHORT_CLOSE_DIV 3
#define LONG_OPEN_DIV   3
#define LONG_CLOSE_DIV  6

/* The suggested window of c at now (S-ARI-4, S-ARI-5: end > start). */
static void
window(const struct store_cert *c, time_t now, time_t *start, time_t *end)
{
	time_t life = c->not_after - c->not_before;

	if (c->revoked_at != 0) {
		*start = now - REVOKED_OPEN_AGO;
		*end = now - REVOKED_CLOSE_AGO;
	} else if (c->ari_end > c->ari_start) {
		*start = c->ari_start;
		*end = c->ari_end;
	} else if (life <= SHORT_LIFE) {
		*start = c->not_after - life / SHORT_OPEN_DIV;
		*end = c->not_after - life / SHORT_CLOSE_DIV;
	} else {
		*start = c->not_after - life / LONG_OPEN_DIV;
		*end = c->not_after - life / LONG_CLOSE_DIV;
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
	char ts[ACME_RFC3339_SIZE], te[ACME_RFC3339_SIZE];
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
	if (reply_json(resp, HTTP_OK, body) == 0)
		reply_headerf(resp, "Retry-After", "%d",
		    req->cfg->ari_retry_after);
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
