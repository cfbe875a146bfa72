/* SPDX-License-Identifier: ISC */
/*
 * The validator's address filter (D52): which addresses anvil-ca may
 * connect to for http-01 and tls-alpn-01, and which IP identifiers it
 * may certify.  An address is public only when it lies in no block of
 * the IANA IPv4 and IPv6 special-purpose registries that is not globally
 * reachable (plus IPv4 multicast and, for IPv6, everything outside the
 * global unicast space 2000::/3 but NAT64 64:ff9b::/96), and every IPv4
 * address it embeds (NAT64, 6to4, Teredo) is public too.  Pure
 * functions on bytes: no sockaddr, no allocation, thread-safe.
 */
#ifndef ANVIL_ADDRFILTER_H
#define ANVIL_ADDRFILTER_H

#include <stddef.h>

#include "../srvlimits.h"

/* IPv4 addresses one IPv6 address can embed: Teredo's two. */
#define VA_EMBEDDED_MAX 2

/*
 * Why addr is not public: the name of the registry block it falls in
 * (a static string such as "loopback" or "6to4 embedding a private IPv4
 * address"), or NULL when it is public.  family is AF_INET with 4 bytes
 * at addr or AF_INET6 with 16, in network order; any other family
 * yields "not an IP address".
 */
const char *va_addr_reserved(int family, const unsigned char *addr);

/* va_addr_reserved for a textual IPv4 or IPv6 address. */
const char *va_addr_reserved_text(const char *addr);

/*
 * Nonzero unless the textual IPv4 or IPv6 address addr is public (as
 * va_addr_reserved judges it); text that is not an address is private.
 */
int va_addr_private(const char *addr);

/*
 * The IPv4 addresses embedded in the IPv6 address v6 (16 bytes) that
 * route to IPv4 hosts: NAT64 64:ff9b::/96, IPv4-mapped ::ffff:0:0/96
 * and IPv4-compatible ::/96 (the last four bytes each), 6to4
 * 2002::/16 (bytes 2-5), Teredo 2001::/32 (the server, bytes 4-7, and
 * the client, bytes 12-15 inverted).  Writes up to two to out and
 * returns how many.
 */
size_t va_addr_embedded_v4(const unsigned char *v6,
    unsigned char out[VA_EMBEDDED_MAX][IPV4_LEN]);

#endif
