/* SPDX-License-Identifier: ISC */
/*
 * The route table: every URL anvil-ca serves, the methods each accepts,
 * the JWS rule for POSTs (none, jwk, kid, either), and the handler.  The
 * whole API is readable in router.c on one screen.
 */
#ifndef ANVIL_ROUTER_H
#define ANVIL_ROUTER_H

#include "../srv.h"

/* URL paths of the resources (the directory lists these). */
#define PATH_DIRECTORY    "/directory"
#define PATH_NEW_NONCE    "/acme/new-nonce"
#define PATH_NEW_ACCOUNT  "/acme/new-account"
#define PATH_NEW_ORDER    "/acme/new-order"
#define PATH_NEW_AUTHZ    "/acme/new-authz"
#define PATH_REVOKE       "/acme/revoke-cert"
#define PATH_KEY_CHANGE   "/acme/key-change"
#define PATH_ACCOUNT      "/acme/acct/"
#define PATH_ORDER        "/acme/order/"
#define PATH_AUTHZ        "/acme/authz/"
#define PATH_CHALL        "/acme/chall/"
#define PATH_CERT         "/acme/cert/"
#define PATH_RENEWAL_INFO "/acme/renewal-info"
#define PATH_CRL          "/crl"

/*
 * Routes req and fills resp: method checks (405 malformed), the JWS
 * checks of authn for POSTs, then the handler.  Always leaves a complete
 * reply in resp, including Replay-Nonce and Link rel="index".
 */
void router_dispatch(struct srv *srv, struct req *req, struct resp *resp);

#endif
