/* SPDX-License-Identifier: ISC */
/*
 * Account key rollover (RFC 8555 7.3.5): the nine checks of S-KEY-3.  The
 * outer JWS (kid, nonce, url) was checked by authn; here: the inner JWS
 * is a keyChange JWS (jwk, same url, no nonce) signed by the new key, its
 * payload names this account and its current key, and no account holds
 * the new key already (409 with that account's Location, S-KEY-5).  The
 * rollover itself is the RA's (ra_key_change).
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
#include "../ra/ra.h"

#include "internal.h"

/*
 * The inner JWS of a keyChange request into *inner: a keyChange JWS
 * (jwk, no nonce) with the outer url, signed by its own key, whose
 * payload names acct (its URL in url, the outer kid) and acct's current
 * key as oldKey (S-KEY-3).
 */
static int
inner_jws(const struct req *req, const struct store_account *acct,
    struct acme_jws **inner, char url[URL_MAX], struct acme_problem *prob)
{
	json_t *outer = NULL, *payload = NULL, *oldkey = NULL;
	const char *account = NULL;
	unsigned char t_old[ACME_JWK_THUMBPRINT_LEN];
	char *t_old_b64 = NULL;
	int rc = ACME_ERR_INVAL;

	if ((outer = acme_jws_payload_json(req->jws, prob)) == NULL ||
	    (*inner = acme_jws_parse_json(outer, ACME_JWS_USE_KEYCHANGE,
		 prob)) == NULL)
		goto out;
	if (strcmp(acme_jws_url(*inner), req->url) != 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "inner JWS url differs from the outer one");
		goto out;
	}
	if (acme_jws_verify(*inner, acme_jws_jwk_key(*inner), prob) != 0 ||
	    (payload = acme_jws_payload_json(*inner, prob)) == NULL ||
	    acme_json_get_string(payload, "account", ACME_JSON_REQUIRED,
		&account, prob) != 0 ||
	    acme_json_get_object(payload, "oldKey", ACME_JSON_REQUIRED, &oldkey,
		prob) != 0)
		goto out;
	if (authn_account_url(req, acct->id, url, URL_MAX) != 0 ||
	    strcmp(account, url) != 0 ||
	    strcmp(account, acme_jws_kid(req->jws)) != 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "inner payload names another account");
		goto out;
	}
	if (acme_jwk_thumbprint_json(oldkey, t_old, prob) != 0 ||
	    (t_old_b64 = acme_b64url_encode(t_old, sizeof(t_old))) == NULL ||
	    strcmp(t_old_b64, acct->thumbprint) != 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "oldKey is not the account's current key");
		goto out;
	}
	rc = 0;
out:
	free(t_old_b64);
	json_decref(payload);
	json_decref(outer);
	return rc;
}

void
h_key_change(struct srv *srv, struct req *req, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_account now;
	struct acme_jws *inner = NULL;
	char *thumb = NULL, *jwk_text = NULL, url[URL_MAX],
	     other[STORE_ID_SIZE];

	other[0] = '\0';
	if (inner_jws(req, req->acct, &inner, url, &prob) != 0 ||
	    (thumb = acme_jwk_thumbprint_b64(acme_jws_jwk_key(inner), &prob)) ==
		NULL)
		goto fail;
	if ((jwk_text = acme_json_dump_canonical(acme_jws_jwk(inner))) ==
	    NULL) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto fail;
	}
	if (ra_key_change(srv, req->acct, thumb, jwk_text, other, &prob) != 0)
		goto fail;
	/* The account as it is now, with the new key (S-KEY-4). */
	now = *req->acct;
	now.jwk = jwk_text;
	snprintf(now.thumbprint, sizeof(now.thumbprint), "%s", thumb);
	if (reply_json(resp, HTTP_OK, account_json(req, &now)) == 0)
		reply_header(resp, "Location", url);
	goto out;
fail:
	reply_problem(resp, &prob);
	if (other[0] != '\0' &&
	    authn_account_url(req, other, url, sizeof(url)) == 0)
		reply_header(resp, "Location", url);
out:
	free(jwk_text);
	free(thumb);
	acme_jws_free(inner);
	acme_problem_release(&prob);
}
