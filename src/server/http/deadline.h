/* SPDX-License-Identifier: ISC */
/*
 * Deadlines for connections waiting for a request (D55): the TLS
 * handshake and a request's headers must arrive within a time from the
 * moment the wait began, however busy the peer keeps the connection.
 * libmicrohttpd 0.9.75 times connections out on inactivity only, so a
 * peer that sends a byte every few seconds would hold one for ever.
 *
 * A set lists the connections that wait, each with its descriptor and
 * deadline, and a thread of its own shuts down (shutdown(2), both ways)
 * the socket of any entry past its deadline, then drops it from the
 * list; the owner (libmicrohttpd) sees the peer gone and closes the
 * connection as usual.  The owner must remove an entry before it closes
 * the descriptor: then a descriptor in the list is always still the
 * connection's, never a reused one.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef ANVIL_DEADLINE_H
#define ANVIL_DEADLINE_H

struct deadline_set;
struct deadline_entry;

/* A set and its thread; NULL when either cannot be made. */
struct deadline_set *deadline_set_new(void);

/*
 * Stops the thread and frees the set, whose entries must all have been
 * removed (their connections closed).  NULL is a no-op.
 */
void deadline_set_free(struct deadline_set *d);

/*
 * A new entry for the connected socket fd, due in seconds from now;
 * NULL when out of memory (the connection then has no deadline).
 * Released by deadline_remove().
 */
struct deadline_entry *deadline_add(struct deadline_set *d, int fd,
    int seconds);

/*
 * Sets e due in seconds from now, also when it was disarmed or already
 * past its deadline.  e NULL is a no-op.
 */
void deadline_arm(struct deadline_set *d, struct deadline_entry *e,
    int seconds);

/* The wait of e is over (the headers arrived).  e NULL is a no-op. */
void deadline_disarm(struct deadline_set *d, struct deadline_entry *e);

/* Disarms and frees e, before its descriptor is closed.  NULL: no-op. */
void deadline_remove(struct deadline_set *d, struct deadline_entry *e);

/* How many connections the set has shut down so far. */
unsigned long deadline_expired(struct deadline_set *d);

#endif
