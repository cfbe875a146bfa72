/* SPDX-License-Identifier: ISC */
/*
 * The HTTPS front end on libmicrohttpd: accepts connections, bounds
 * request bodies, turns each request into a struct req for the router,
 * sends the struct resp back, and writes one request-log line.
 */
#ifndef ANVIL_FRONT_H
#define ANVIL_FRONT_H

#include "../srv.h"

/*
 * Starts listening on srv->cfg->listen with the TLS certificate and key
 * of the configuration.  Returns 0 or a negative error with prob set.
 */
int front_start(struct srv *srv, struct acme_problem *prob);

/*
 * Stops accepting, waits up to grace_ms for requests in flight to finish,
 * then stops the daemon.
 */
void front_stop(struct srv *srv, int grace_ms);

/*
 * The plain-HTTP listener of crl_http_listen (D50): GET and HEAD of
 * /crl, nothing else.  front_crl_start does nothing when it is "".
 */
int front_crl_start(struct srv *srv, struct acme_problem *prob);
void front_crl_stop(struct srv *srv);

#endif
