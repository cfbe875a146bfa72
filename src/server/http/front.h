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
 * Starts listening on the configuration's listen address with its TLS
 * certificate and key.  Returns 0 or a negative error with prob set.
 */
int front_start(struct srv *srv, struct acme_problem *prob);

/*
 * D67: serves next's TLS certificate and key (and http_threads,
 * per_ip_connections) from now on: a new daemon takes over the listening
 * socket.  The old daemon, which accepts nothing more but still serves
 * its requests in flight, is returned in *old for front_drain().  A pair
 * that does not load is refused (non-zero, prob set, *old NULL) and the
 * old daemon keeps serving.
 */
int front_reload(struct srv *srv, const struct conf *next,
    struct front_gen **old, struct acme_problem *prob);

/*
 * Waits up to grace_ms in all for the requests in flight and the
 * connections of the n daemons of old (NULL entries skipped; each
 * answered with Connection: close from now on, D89, D97), then closes
 * them.
 */
void front_drain(struct front_gen *const old[], size_t n, int grace_ms);

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

/*
 * The admin listener of admin_listen (D73): /metrics and the operator
 * page (D86), plain HTTP, or HTTPS with tls_cert and tls_key when
 * admin_tls is on (D95).  front_admin_start does nothing when
 * admin_listen is "".  front_admin_reload (SIGHUP) serves next's
 * certificate from then on, as front_reload does for the ACME listener
 * (D97): the old daemon, if replaced, is returned in *old for
 * front_drain(); an error (prob set) leaves the listener serving the
 * old certificate (lost, and logged, only if it cannot be started
 * again with it).  Plain HTTP: nothing changes, *old is NULL.
 */
int front_admin_start(struct srv *srv, struct acme_problem *prob);
int front_admin_reload(struct srv *srv, const struct conf *next,
    struct front_gen **old, struct acme_problem *prob);
void front_admin_stop(struct srv *srv);

#endif
