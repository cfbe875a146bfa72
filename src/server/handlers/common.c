/* SPDX-License-Identifier: ISC */
/*
 * Helpers shared by the order, authorization and challenge handlers (see
 * common.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <anvil/ari.h>
#include <anvil/err.h>
#include <anvil/json.h>

#include "common.h"
#include "../http/reply.h"
#include "../http/router.h"

#include "internal.h"

const char *
res_url(char out[URL_MAX], const struct req *req, const char *prefix,
    const char *id, const char *suffix)
{
	if (snprintf(out, URL_MAX, "%s%s%s%s", req->base, prefix, id,
		suffix != NULL ? suffix : "") >= URL_MAX)
		out[0] = '\0';
	return out;
}

const char *
rfc3339(char out[32], time_t t)
{
	return acme_rfc3339(out, t);
}

int
rfc3339_parse(const char *s, time_t *out)
{
	return acme_rfc3339_parse(s, out);
}

json_t *
chall_json(const struct req *req, const struct store_chall *c)
{
	char url[URL_MAX], t[32];
	json_t *o;

	o = json_pack("{s:s, s:s, s:s, s:s}", "type",
	    store_chall_type_name(c->type), "url",
	    res_url(url, req, PATH_CHALL, c->id, NULL), "status",
	    store_status_name(c->status), "token", c->token);
	if (o == NULL)
		return NULL;
	if (c->validated != 0)
		json_object_set_new(o, "validated",
		    json_string(rfc3339(t, c->validated)));
	if (c->error != NULL)
		json_object_set_new(o, "error",
		    acme_json_load_stored(c->error));
	return o;
}

json_t *
authz_json(const struct req *req, const struct store_authz *z)
{
	json_t *o, *challs;
	char t[32];
	size_t i;

	challs = json_array();
	for (i = 0; challs != NULL && i < z->nchall; i++) {
		/* A valid authorization lists only the challenge that won. */
		if (z->status == ST_VALID && z->challs[i].status != ST_VALID)
			continue;
		json_array_append_new(challs, chall_json(req, &z->challs[i]));
	}
	o = json_pack("{s:{s:s, s:s}, s:s, s:s, s:o}", "identifier", "type",
	    acme_ident_type_name(z->ident.type), "value", z->ident.value,
	    "status", store_status_name(z->status), "expires",
	    rfc3339(t, z->expires), "challenges", challs);
	if (o != NULL && z->wildcard)
		json_object_set_new(o, "wildcard", json_true());
	return o;
}

json_t *
order_json(const struct req *req, const struct store_order *o)
{
	json_t *obj, *ids, *authzs;
	char url[URL_MAX], t[32];
	size_t i;

	ids = json_array();
	for (i = 0; ids != NULL && i < o->nident; i++)
		json_array_append_new(ids,
		    json_pack("{s:s, s:s}", "type",
			acme_ident_type_name(o->idents[i].type), "value",
			o->idents[i].value));
	authzs = json_array();
	for (i = 0; authzs != NULL && i < o->nauthz; i++)
		json_array_append_new(authzs,
		    json_string(
			res_url(url, req, PATH_AUTHZ, o->authz_ids[i], NULL)));
	obj = json_pack("{s:s, s:s, s:o, s:o, s:s}", "status",
	    store_status_name(o->status), "expires", rfc3339(t, o->expires),
	    "identifiers", ids, "authorizations", authzs, "finalize",
	    res_url(url, req, PATH_ORDER, o->id, "/finalize"));
	if (obj == NULL)
		return NULL;
	if (o->not_before != 0)
		json_object_set_new(obj, "notBefore",
		    json_string(rfc3339(t, o->not_before)));
	if (o->not_after != 0)
		json_object_set_new(obj, "notAfter",
		    json_string(rfc3339(t, o->not_after)));
	/* S-PROF-5/6; orders stored before profiles existed carry "". */
	if (o->profile[0] != '\0')
		json_object_set_new(obj, "profile", json_string(o->profile));
	if (o->error != NULL)
		json_object_set_new(obj, "error",
		    acme_json_load_stored(o->error));
	if (o->replaces[0] != '\0') /* S-ARI-14 */
		json_object_set_new(obj, "replaces", json_string(o->replaces));
	if (o->status == ST_VALID && o->cert_id[0] != '\0')
		json_object_set_new(obj, "certificate",
		    json_string(
			res_url(url, req, PATH_CERT, o->cert_id, NULL)));
	return obj;
}

int
authz_load(struct srv *srv, const char *id, struct store_authz *z,
    struct acme_problem *prob)
{
	int rc = store_authz_get(srv->store, id, z, prob);

	if (rc != 0)
		return rc;
	if ((z->status == ST_PENDING || z->status == ST_VALID) &&
	    z->expires <= srv->now()) {
		/* A lost race means someone else already moved it on. */
		if (store_authz_set_status(srv->store, id, z->status,
			ST_EXPIRED, 0, NULL) == 0)
			z->status = ST_EXPIRED;
	}
	return 0;
}

static int
set_order_status(struct srv *srv, struct store_order *o, enum store_status to,
    const char *error, struct acme_problem *prob)
{
	/* Derived from durable state and computed again after a crash. */
	int rc = store_order_set_status_relaxed(srv->store, o->id, o->status,
	    to, error, prob);

	if (rc == ACME_ERR_CONFLICT) {
		/* Moved on concurrently: read the current state. */
		struct store_order fresh;

		if ((rc = store_order_get(srv->store, o->id, &fresh, prob)) !=
		    0)
			return rc;
		store_order_release(o);
		*o = fresh;
		return 0;
	}
	if (rc != 0)
		return rc;
	o->status = to;
	if (error != NULL) {
		free(o->error);
		o->error = strdup(error);
	}
	return 0;
}

int
order_invalidate(struct srv *srv, struct store_order *o,
    const struct acme_problem *why, struct acme_problem *prob)
{
	json_t *doc = acme_problem_to_json(why);
	char *text = doc != NULL ? acme_json_compact(doc, NULL) : NULL;
	int rc;

	json_decref(doc);
	if (text == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	rc = set_order_status(srv, o, ST_INVALID, text, prob);
	free(text);
	return rc;
}

int
order_load(struct srv *srv, const char *id, struct store_order *o,
    struct acme_problem *prob)
{
	struct acme_problem why = { 0 };
	size_t i, valid = 0;
	int rc;

	if ((rc = store_order_get(srv->store, id, o, prob)) != 0)
		return rc;
	if (o->status != ST_PENDING && o->status != ST_READY)
		return 0;
	if (o->expires <= srv->now())
		return set_order_status(srv, o, ST_INVALID,
		    "{\"type\":\"urn:ietf:params:acme:error:malformed\","
		    "\"detail\":\"order expired\",\"status\":400}",
		    prob);
	/* A ready order too: an authorization deactivated or expired
	 * since makes it invalid (S-AUTHZ-10). */
	for (i = 0; i < o->nauthz; i++) {
		struct store_authz z;

		if ((rc = authz_load(srv, o->authz_ids[i], &z, prob)) != 0)
			return rc;
		if (z.status == ST_VALID)
			valid++;
		else if (z.status != ST_PENDING && why.type == ACME_PROB_NONE)
			acme_problem_set(&why, ACME_PROB_UNAUTHORIZED,
			    "authorization for %s is %s", z.ident.value,
			    store_status_name(z.status));
		store_authz_release(&z);
	}
	if (why.type != ACME_PROB_NONE) {
		rc = order_invalidate(srv, o, &why, prob);
		acme_problem_release(&why);
		return rc;
	}
	if (o->status == ST_PENDING && valid == o->nauthz)
		return set_order_status(srv, o, ST_READY, NULL, prob);
	return 0;
}

int
owner_check(struct resp *resp, const struct req *req, const char *account_id)
{
	if (strcmp(account_id, req->acct->id) == 0)
		return 0;
	reply_error(resp, ACME_PROB_UNAUTHORIZED,
	    "this resource belongs to another account");
	return ACME_ERR_VERIFY;
}
