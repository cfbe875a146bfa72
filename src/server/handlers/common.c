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
#include "../paths.h"

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
rfc3339(char out[ACME_RFC3339_SIZE], time_t t)
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
	char url[URL_MAX], t[ACME_RFC3339_SIZE];
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
	char t[ACME_RFC3339_SIZE];
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
	char url[URL_MAX], t[ACME_RFC3339_SIZE];
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

void
reply_problem_after(struct resp *resp, const struct acme_problem *prob,
    time_t retry)
{
	if (retry > 0)
		reply_headerf(resp, "Retry-After", "%lld", (long long)retry);
	reply_problem(resp, prob);
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
