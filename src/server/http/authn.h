/* SPDX-License-Identifier: ISC */
/*
 * The one place where ACME requests are authenticated (RFC 8555 6.2-6.5).
 * A POST reaches a handler only after authn_check() passed: media type
 * application/jose+json, a flattened JWS with an allowed alg, a nonce
 * this server issued and nobody used, a url equal to the request URL,
 * jwk or kid as the route demands, a valid account for kid, and a
 * signature that verifies.
 */
#ifndef ANVIL_AUTHN_H
#define ANVIL_AUTHN_H

#include "../srv.h"

enum authn_mode {
	AUTHN_KID = 1, /* kid only: every request of an account */
	AUTHN_JWK,     /* jwk only: newAccount */
	AUTHN_EITHER,  /* revokeCert: account or certificate key */
};

/*
 * Checks req's body for the route's mode.  On success returns 0 with
 * req->jws (and, for kid, req->acct) set; the caller releases them with
 * authn_release().  On failure fills resp with the problem and returns a
 * negative error.
 */
int authn_check(struct srv *srv, struct req *req, enum authn_mode mode,
    struct resp *resp);

/*
 * For a resource that is only read (RFC 8555 6.3): the authenticated
 * request's payload must be empty, else malformed (S-GET-5).  Returns 0,
 * or ACME_ERR_INVAL with resp filled.
 */
int authn_post_as_get(const struct req *req, struct resp *resp);

void authn_release(struct req *req);

/*
 * The account URL for an id on this server (base + /acme/acct/ + id), as
 * kid values and Location headers carry it.  Returns 0 or ACME_ERR_LIMIT.
 */
int authn_account_url(const struct req *req, const char *id, char *out,
    size_t outsz);

#endif
