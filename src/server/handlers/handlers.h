/* SPDX-License-Identifier: ISC */
/*
 * The ACME resource handlers.  Each gets a request that already passed
 * the front end's checks (for POSTs: a verified JWS, the nonce redeemed,
 * the url matched, and for kid requests a valid account in req->acct)
 * and fills the reply.  A handler never sends anything itself.
 */
#ifndef ANVIL_HANDLERS_H
#define ANVIL_HANDLERS_H

#include "../srv.h"

typedef void (*handler_fn)(struct srv *srv, struct req *req, struct resp *resp);

void h_directory(struct srv *srv, struct req *req, struct resp *resp);
void h_new_nonce(struct srv *srv, struct req *req, struct resp *resp);
void h_new_account(struct srv *srv, struct req *req, struct resp *resp);
void h_account(struct srv *srv, struct req *req, struct resp *resp);
void h_account_orders(struct srv *srv, struct req *req, struct resp *resp);
void h_new_order(struct srv *srv, struct req *req, struct resp *resp);
void h_new_authz(struct srv *srv, struct req *req, struct resp *resp);
void h_order(struct srv *srv, struct req *req, struct resp *resp);
void h_finalize(struct srv *srv, struct req *req, struct resp *resp);
void h_authz(struct srv *srv, struct req *req, struct resp *resp);
void h_chall(struct srv *srv, struct req *req, struct resp *resp);
void h_cert(struct srv *srv, struct req *req, struct resp *resp);
void h_cert_alt(struct srv *srv, struct req *req, struct resp *resp);
void h_revoke(struct srv *srv, struct req *req, struct resp *resp);
void h_renewal_info(struct srv *srv, struct req *req, struct resp *resp);
void h_crl(struct srv *srv, struct req *req, struct resp *resp);
void h_key_change(struct srv *srv, struct req *req, struct resp *resp);

#endif
