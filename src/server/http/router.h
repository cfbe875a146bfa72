/* SPDX-License-Identifier: ISC */
/*
 * The route tables, one per listener: every URL it serves (paths.h),
 * the methods each accepts, the JWS rule for POSTs (none, jwk, kid,
 * either), and the handler.  The whole API is readable in router.c on
 * one screen.
 */
#ifndef ANVIL_ROUTER_H
#define ANVIL_ROUTER_H

#include "../srv.h"

/* The listeners, each with its own route table. */
enum router_listener {
	ROUTER_ACME, /* the ACME API over HTTPS */
	ROUTER_CRL,  /* plain HTTP: the CRL only, nothing ACME (D50) */
};

/*
 * Routes req by the table of listener and fills resp: 404 for a path
 * it does not serve, 405 malformed for a method, the JWS checks of
 * authn for POSTs, then the handler.  Always leaves a complete reply in
 * resp; on the ACME listener it carries Replay-Nonce and Link
 * rel="index", on the CRL listener neither (no nonces, no JWS).
 */
void router_dispatch(struct srv *srv, enum router_listener listener,
    struct req *req, struct resp *resp);

#endif
