/* SPDX-License-Identifier: ISC */
/*
 * The URL paths anvil-ca serves: the route tables (http/router.c) match
 * them and the handlers write them into URLs and the directory, so they
 * sit here, below both, and handlers need no header of the HTTP layer
 * to name a resource.
 */
#ifndef ANVIL_PATHS_H
#define ANVIL_PATHS_H

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

#endif
