/* SPDX-License-Identifier: ISC */
/*
 * The accept loop of anvil-bench's http-01 responder: wait for a
 * connection or for the owner's signal to stop, whichever comes first.
 * (anvil's own responders use src/client/responder.c: one deadline per
 * connection instead of one per read.)
 */
#ifndef ANVIL_NET_H
#define ANVIL_NET_H

/*
 * Waits until listening socket fd has a connection or stop_fd is
 * readable.  Returns the accepted socket (close-on-exec, blocking, reads
 * and writes bounded by timeout_s seconds; the caller closes it), or -1
 * once stop_fd is readable or poll fails.  A failed accept (the peer
 * left, another thread took it) is retried, not returned.
 */
int acme_net_accept(int fd, int stop_fd, int timeout_s);

#endif
