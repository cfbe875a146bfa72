/* SPDX-License-Identifier: ISC */
/*
 * JWS request authentication for every POST (see authn.h).  The order of
 * checks: media type, JWS structure and header rules, nonce (redeemed as
 * soon as it is read, so it is spent even when a later check fails,
 * S-NON-4), url, jwk/kid per route, account, signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <anvil/ari.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>

#include "authn.h"
#include "keycache.h"
#include "reply.h"
#include "../paths.h"
#include "../nonce.h"
#include "../store/store.h"

#include "internal.h"

/* Bytes of this server's account URL prefix (base and path), NUL
 * included: far above any base REQ_MAX_BASE allows. */
#define ACCT_PREFIX_MAX 1024

int
authn_account_url(const struct req *req, const char *id, char *out,
    size_t outsz)
{
	int n = snprintf(out, outsz, "%s%s%s", req->base, PATH_ACCOUNT, id);

	return n < 0 || (size_t)n >= outsz ? ACME_ERR_LIMIT : 0;
}

/* Media type check: "application/jose+json", parameters ignored. */
static int
is_jose(const char *ct)
{
	static const char want[] = "application/jose+json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static void
bad_alg(struct resp *resp, const struct acme_problem *prob)
{
	json_t *extra;

	extra = json_pack("{s:[s,s,s,s,s]}", "algorithms", "ES256", "ES384",
	    "ES512", "EdDSA", "RS256");
	reply_problem_ex(resp, prob, extra);
	json_decref(extra);
}

/*
 * Resolves kid to a valid account: the kid must be this server's account
 * URL for an existing account whose status is valid.
 */
static int
load_account(struct srv *srv, struct req *req, const char *kid,
    struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct store_account *acct;
	size_t plen;
	char prefix[ACCT_PREFIX_MAX];
	int rc;

	if (authn_account_url(req, "", prefix, sizeof(prefix)) != 0)
		return ACME_ERR_LIMIT;
	plen = strlen(prefix);
	if (strncmp(kid, prefix, plen) != 0 || kid[plen] == '\0' ||
	    strlen(kid + plen) >= STORE_ID_SIZE) {
		reply_error(resp, ACME_PROB_ACCOUNT_DOES_NOT_EXIST,
		    "kid is not an account URL of this server");
		return ACME_ERR_NOTFOUND;
	}
	if ((acct = calloc(1, sizeof(*acct))) == NULL) {
		reply_error(resp, ACME_PROB_SERVER_INTERNAL, "out of memory");
		return ACME_ERR_NOMEM;
	}
	rc = store_account_get(srv->store, kid + plen, acct, &prob);
	if (rc == ACME_ERR_NOTFOUND) {
		reply_error(resp, ACME_PROB_ACCOUNT_DOES_NOT_EXIST,
		    "no account %s", kid + plen);
		goto fail;
	}
	if (rc != 0) {
		reply_problem(resp, &prob);
		goto fail;
	}
	if (acct->status != ST_VALID) {
		/* RFC 8555 7.3.6: a deactivated account gets 401. */
		struct acme_problem p = { 0 };

		acme_problem_set_status(&p, ACME_PROB_UNAUTHORIZED,
		    HTTP_UNAUTHORIZED, "account is %s",
		    store_status_name(acct->status));
		reply_problem(resp, &p);
		rc = ACME_ERR_VERIFY;
		goto fail;
	}
	if (acct->paused != 0) {
		/* D74: the operator paused it (anvil-ca admin pause). */
		struct acme_problem p = { 0 };
		char when[ACME_RFC3339_SIZE];

		acme_rfc3339(when, acct->paused);
		acme_problem_set_status(&p, ACME_PROB_UNAUTHORIZED,
		    HTTP_FORBIDDEN,
		    "account %s was paused by the CA's operator at %s; "
		    "contact the CA",
		    acct->id, when);
		reply_problem(resp, &p);
		rc = ACME_ERR_VERIFY;
		goto fail;
	}
	req->acct = acct;
	snprintf(req->acct_id, sizeof(req->acct_id), "%s", acct->id);
	acme_problem_release(&prob);
	return 0;
fail:
	acme_problem_release(&prob);
	store_account_release(acct);
	free(acct);
	return rc != 0 ? rc : ACME_ERR_INVAL;
}

int
authn_check(struct srv *srv, struct req *req, enum authn_mode mode,
    struct resp *resp)
{
	struct acme_problem prob = { 0 };
	struct acme_jws *jws = NULL;
	EVP_PKEY *key = NULL, *acct_key = NULL;
	const char *kid, *url;
	int rc = ACME_ERR_INVAL;

	if (!is_jose(req->content_type)) {
		acme_problem_set_status(&prob, ACME_PROB_MALFORMED,
		    HTTP_UNSUPPORTED_MEDIA_TYPE,
		    "content type must be application/jose+json");
		reply_problem(resp, &prob);
		goto out;
	}
	jws = acme_jws_parse(req->body, req->body_len, ACME_JWS_USE_ACCOUNT,
	    &prob);
	if (jws == NULL) {
		if (prob.type == ACME_PROB_BAD_SIGNATURE_ALGORITHM)
			bad_alg(resp, &prob);
		else
			reply_problem(resp, &prob);
		goto out;
	}
	if (nonce_redeem(srv->nonces, acme_jws_nonce(jws)) != 0) {
		reply_error(resp, ACME_PROB_BAD_NONCE,
		    "nonce is unknown, used or expired");
		goto out;
	}
	url = acme_jws_url(jws);
	if (strcmp(url, req->url) != 0) {
		reply_error(resp, ACME_PROB_UNAUTHORIZED,
		    "JWS url \"%.200s\" is not the request URL", url);
		goto out;
	}
	kid = acme_jws_kid(jws);
	if (mode == AUTHN_JWK && kid != NULL) {
		reply_error(resp, ACME_PROB_MALFORMED,
		    "this resource needs a jwk, not a kid");
		goto out;
	}
	if (mode == AUTHN_KID && kid == NULL) {
		reply_error(resp, ACME_PROB_MALFORMED,
		    "this resource needs a kid, not a jwk");
		goto out;
	}
	if (kid != NULL) {
		if ((rc = load_account(srv, req, kid, resp)) != 0)
			goto out;
		rc = ACME_ERR_INVAL;
		if ((acct_key = keycache_get(srv->keys, req->acct->id,
			 req->acct->jwk, &prob)) == NULL) {
			reply_error(resp, ACME_PROB_SERVER_INTERNAL,
			    "stored account key unusable");
			goto out;
		}
		key = acct_key;
	} else
		key = acme_jws_jwk_key(jws);
	if (acme_jws_verify(jws, key, &prob) != 0) {
		reply_problem(resp, &prob);
		goto out;
	}
	req->jws = jws;
	jws = NULL;
	rc = 0;
out:
	if (acct_key != NULL)
		keycache_put(srv->keys, req->acct->id, acct_key);
	if (rc != 0 && req->acct != NULL) {
		store_account_release(req->acct);
		free(req->acct);
		req->acct = NULL;
	}
	acme_jws_free(jws);
	acme_problem_release(&prob);
	return rc;
}

int
authn_post_as_get(const struct req *req, struct resp *resp)
{
	size_t len = 0;

	acme_jws_payload(req->jws, &len);
	if (len == 0)
		return 0;
	reply_error(resp, ACME_PROB_MALFORMED,
	    "this resource is read with POST-as-GET: the payload must be "
	    "empty");
	return ACME_ERR_INVAL;
}

void
authn_release(struct req *req)
{
	acme_jws_free(req->jws);
	req->jws = NULL;
	if (req->acct != NULL) {
		store_account_release(req->acct);
		free(req->acct);
		req->acct = NULL;
	}
}
