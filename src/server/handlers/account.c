/* SPDX-License-Identifier: ISC */
/*
 * Accounts (RFC 8555 7.3): newAccount with contact validation, terms of
 * service, onlyReturnExisting and External Account Binding; the account
 * resource (POST-as-GET, contact update, deactivation).  What is stored
 * and changed, the RA stores and changes (ra/account.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>

#include "common.h"
#include "handlers.h"
#include "../http/authn.h"
#include "../http/reply.h"
#include "../paths.h"
#include "../ra/ra.h"
#include "../store/store.h"

#include "internal.h"

#define MAX_CONTACTS    10
#define MAX_CONTACT_LEN 254
/* The one contact scheme accepted (RFC 8555 7.3). */
#define MAILTO "mailto:"

json_t *
account_json(const struct req *req, const struct store_account *acct)
{
	char orders[URL_MAX];
	json_t *o, *contact = NULL, *eab = NULL;

	snprintf(orders, sizeof(orders), "%s%s%s/orders", req->base,
	    PATH_ACCOUNT, acct->id);
	if (acct->contact != NULL)
		contact = acme_json_load_stored(acct->contact);
	if (acct->eab != NULL)
		eab = acme_json_load_stored(acct->eab);
	o = json_pack("{s:s, s:s, s:o*, s:o*}", "status",
	    store_status_name(acct->status), "orders", orders, "contact",
	    contact != NULL ? contact : json_array(), "externalAccountBinding",
	    eab);
	if (o != NULL && acct->tos_agreed)
		json_object_set_new(o, "termsOfServiceAgreed", json_true());
	/* The account's public key, as boulder and pebble give it. */
	if (o != NULL && acct->jwk != NULL)
		json_object_set_new(o, "key", acme_json_load_stored(acct->jwk));
	return o;
}

/* A mailto: contact with one plain address, no hfields (S-ACCT-9). */
static int
check_mailto(const char *addr, struct acme_problem *prob)
{
	const char *at = strchr(addr, '@');
	struct acme_ident domain;
	const char *p;

	if (at == NULL || at == addr || strchr(at + 1, '@') != NULL)
		return acme_problem_set(prob, ACME_PROB_INVALID_CONTACT,
		    "contact \"mailto:%.100s\" is not one email address", addr);
	for (p = addr; p < at; p++)
		if (*p <= ' ' || *p >= ASCII_DEL ||
		    strchr("\"(),:;<>[\\]?&%", *p))
			return acme_problem_set(prob, ACME_PROB_INVALID_CONTACT,
			    "contact \"mailto:%.100s\" has characters not "
			    "allowed in an address",
			    addr);
	if (acme_ident_set(&domain, "dns", at + 1) != 0 ||
	    domain.value[0] == '*' || strchr(domain.value, '.') == NULL)
		return acme_problem_set(prob, ACME_PROB_INVALID_CONTACT,
		    "contact \"mailto:%.100s\" has no valid domain", addr);
	return 0;
}

/*
 * Validates the contact member (absent is fine) and returns its
 * canonical JSON text in *out (caller frees; NULL when absent).
 */
static int
check_contacts(const json_t *payload, char **out, struct acme_problem *prob)
{
	json_t *arr = NULL, *v;
	size_t i;
	int rc;

	*out = NULL;
	rc = acme_json_get_array(payload, "contact", ACME_JSON_OPTIONAL, &arr,
	    prob);
	if (rc == 1)
		return 0;
	if (rc != 0)
		return rc;
	if (json_array_size(arr) > MAX_CONTACTS)
		return acme_problem_set(prob, ACME_PROB_INVALID_CONTACT,
		    "at most %d contacts", MAX_CONTACTS);
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);

		if (s == NULL || strlen(s) > MAX_CONTACT_LEN)
			return acme_problem_set(prob, ACME_PROB_INVALID_CONTACT,
			    "contact %zu is not a string of at most %d bytes",
			    i, MAX_CONTACT_LEN);
		if (strncmp(s, MAILTO, LIT_LEN(MAILTO)) != 0)
			return acme_problem_set(prob,
			    ACME_PROB_UNSUPPORTED_CONTACT,
			    "contact \"%.100s\" uses an unsupported scheme; "
			    "only mailto: is accepted",
			    s);
		if ((rc = check_mailto(s + LIT_LEN(MAILTO), prob)) != 0)
			return rc;
	}
	if ((*out = json_dumps(arr, JSON_COMPACT)) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	return 0;
}

/*
 * Verifies an External Account Binding (RFC 8555 7.3.4, S-EAB-4) against
 * the outer request and returns its MAC key id in kid.
 */
static int
check_eab(struct srv *srv, const struct req *req, const json_t *eab, char *kid,
    size_t kidsz, struct acme_problem *prob)
{
	struct store_eab rec;
	struct acme_jws *jws = NULL;
	json_t *payload = NULL;
	unsigned char t1[ACME_JWK_THUMBPRINT_LEN], t2[ACME_JWK_THUMBPRINT_LEN];
	int rc = ACME_ERR_INVAL;

	memset(&rec, 0, sizeof(rec));
	if ((jws = acme_jws_parse_json(eab, ACME_JWS_USE_EAB, prob)) == NULL)
		goto out;
	if (strcmp(acme_jws_url(jws), req->url) != 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "external account binding url differs from the request's");
		goto out;
	}
	rc = store_eab_get(srv->store, acme_jws_kid(jws), &rec, prob);
	if (rc == ACME_ERR_NOTFOUND) {
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "unknown external account key id");
		goto out;
	}
	if (rc != 0)
		goto out;
	rc = ACME_ERR_INVAL;
	if (rec.account_id[0] != '\0') {
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "external account key is already bound to an account");
		goto out;
	}
	if (acme_jws_verify_hmac(jws, rec.key, rec.keylen, prob) != 0) {
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "external account binding MAC does not verify");
		goto out;
	}
	if ((payload = acme_jws_payload_json(jws, prob)) == NULL ||
	    acme_jwk_thumbprint_json(payload, t1, prob) != 0 ||
	    acme_jwk_thumbprint(acme_jws_jwk_key(req->jws), t2, prob) != 0 ||
	    memcmp(t1, t2, sizeof(t1)) != 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "external account binding does not bind the account key");
		goto out;
	}
	snprintf(kid, kidsz, "%s", acme_jws_kid(jws));
	rc = 0;
out:
	acme_wipe(rec.key, sizeof(rec.key));
	json_decref(payload);
	acme_jws_free(jws);
	return rc;
}

static void
reply_account(struct resp *resp, const struct req *req,
    const struct store_account *acct, int status)
{
	char loc[URL_MAX];

	if (reply_json(resp, status, account_json(req, acct)) != 0)
		return;
	if (authn_account_url(req, acct->id, loc, sizeof(loc)) == 0)
		reply_header(resp, "Location", loc);
}

/*
 * The members of a newAccount payload that make the account, checked
 * into a in this order: terms of service, contacts (S-ACCT-9), external
 * account binding (S-EAB-4); then a's key.
 */
static int
new_account_fields(struct srv *srv, const struct req *req,
    const json_t *payload, int tos, const json_t *eab, struct store_account *a,
    struct acme_problem *prob)
{
	int rc;

	if (req->cfg->terms_of_service[0] != '\0' && !tos)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "you must agree to the terms of service at %s",
		    req->cfg->terms_of_service);
	if ((rc = check_contacts(payload, &a->contact, prob)) != 0)
		return rc;
	if (eab == NULL && req->cfg->external_account_required)
		return acme_problem_set(prob,
		    ACME_PROB_EXTERNAL_ACCOUNT_REQUIRED,
		    "this CA requires an external account binding");
	if (eab != NULL) {
		if ((rc = check_eab(srv, req, eab, a->eab_kid,
			 sizeof(a->eab_kid), prob)) != 0)
			return rc;
		a->eab = json_dumps(eab, JSON_COMPACT);
	}
	a->tos_agreed = tos;
	if ((a->jwk = acme_json_dump_canonical(acme_jws_jwk(req->jws))) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot create the account");
	return 0;
}

void
h_new_account(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_account acct, found;
	json_t *payload = NULL, *eab = NULL;
	char *thumb = NULL;
	int only_existing = 0, tos = 0, rc;
	time_t retry = 0;

	memset(&acct, 0, sizeof(acct));
	memset(&found, 0, sizeof(found));
	if ((payload = acme_jws_payload_json(req->jws, &prob)) == NULL ||
	    acme_json_get_bool(payload, "onlyReturnExisting",
		ACME_JSON_OPTIONAL, &only_existing, &prob) < 0 ||
	    acme_json_get_bool(payload, "termsOfServiceAgreed",
		ACME_JSON_OPTIONAL, &tos, &prob) < 0 ||
	    acme_json_get_object(payload, "externalAccountBinding",
		ACME_JSON_OPTIONAL, &eab, &prob) < 0 ||
	    (thumb = acme_jwk_thumbprint_b64(acme_jws_jwk_key(req->jws),
		 &prob)) == NULL)
		goto fail;
	/* S-ACCT-5: an existing key gets its account back, unchanged. */
	rc = store_account_by_thumbprint(srv->store, thumb, &found, &prob);
	if (rc == 0)
		goto found;
	if (rc != ACME_ERR_NOTFOUND)
		goto fail;
	acme_problem_release(&prob);
	if (only_existing) {
		acme_problem_set(&prob, ACME_PROB_ACCOUNT_DOES_NOT_EXIST,
		    "no account for this key");
		goto fail;
	}
	snprintf(acct.thumbprint, sizeof(acct.thumbprint), "%s", thumb);
	if (new_account_fields(srv, req, payload, tos, eab, &acct, &prob) != 0)
		goto fail;
	rc = ra_account_new(srv, req->cfg, req->client_ip, &acct, &found,
	    &retry, &prob);
	if (rc == ACME_ERR_EXISTS)
		goto found;
	if (rc != 0)
		goto fail;
	reply_account(resp, req, &acct, HTTP_CREATED);
	goto out;
found:
	reply_account(resp, req, &found, HTTP_OK);
	goto out;
fail:
	reply_problem_after(resp, &prob, retry);
out:
	acme_problem_release(&prob);
	store_account_release(&found);
	store_account_release(&acct);
	free(thumb);
	json_decref(payload);
}

/*
 * The changes an account POST asks for (RFC 8555 7.3.2, 7.3.6) into
 * chg: contacts (their text in *contact, the caller's) and
 * deactivation; any other status is refused (S-ACCT-13).
 */
static int
account_update_fields(const json_t *payload, const struct store_account *acct,
    struct store_account_change *chg, char **contact, struct acme_problem *prob)
{
	const char *status = NULL;
	int rc;

	if ((rc = acme_json_get_string(payload, "status", ACME_JSON_OPTIONAL,
		 &status, prob)) < 0 ||
	    (rc = check_contacts(payload, contact, prob)) != 0)
		return rc;
	if (status != NULL && strcmp(status, "deactivated") != 0 &&
	    strcmp(status, store_status_name(acct->status)) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "an account can only be deactivated");
	if (status != NULL && strcmp(status, "deactivated") == 0)
		chg->status = ST_DEACTIVATED;
	chg->contact = *contact;
	return 0;
}

void
h_account(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_account *acct = req->acct;
	struct store_account_change chg = { 0 };
	json_t *payload = NULL;
	char *contact = NULL, *old = NULL;
	size_t len = 0;

	/* S-GET-3: an account can only see and change itself. */
	if (strcmp(req->param, acct->id) != 0) {
		reply_error(resp, ACME_PROB_UNAUTHORIZED,
		    "account URL does not match the requesting account");
		return;
	}
	acme_jws_payload(req->jws, &len);
	if (len == 0) {
		reply_account(resp, req, acct, HTTP_OK);
		return;
	}
	if ((payload = acme_jws_payload_json(req->jws, &prob)) == NULL ||
	    account_update_fields(payload, acct, &chg, &contact, &prob) != 0 ||
	    ((chg.status != 0 || chg.contact != NULL) &&
		ra_account_update(srv, acct, &chg, &prob) != 0)) {
		reply_problem(resp, &prob);
		goto out;
	}
	if (chg.status != 0)
		acct->status = chg.status;
	if (contact != NULL) {
		old = acct->contact;
		acct->contact = contact;
		contact = NULL;
	}
	reply_account(resp, req, acct, HTTP_OK);
out:
	acme_problem_release(&prob);
	free(old);
	free(contact);
	json_decref(payload);
}
