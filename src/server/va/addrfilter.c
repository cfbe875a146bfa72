/* SPDX-License-Identifier: ISC */
/*
 * The validator's address filter (see addrfilter.h and D52).  The tables
 * transcribe the IANA IPv4 and IPv6 special-purpose address registries
 * (iana-ipv4-special-registry, iana-ipv6-special-registry, as of
 * 2024-10): every block whose "Globally Reachable" is False, and the
 * blocks that hold a few globally reachable anycast or identifier
 * assignments (192.0.0.0/24, 2001::/23) as a whole.  Addresses are
 * handled as bytes only: D52 records why no sockaddr is built here.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "addrfilter.h"

/* Where va_addr_embedded_v4() finds IPv4 addresses (see addrfilter.h):
 * after a 96-bit prefix, in 6to4, in Teredo's server and client. */
#define V4_IN_V6_AT      (IPV6_LEN - IPV4_LEN)
#define SIX_TO_FOUR_AT   2
#define TEREDO_SERVER_AT 4
#define TEREDO_CLIENT_AT 12

struct block {
	const char *prefix; /* textual address of the block */
	unsigned bits;      /* prefix length */
	const char *name;
};

/* Most specific first: the first match names the block. */
static const struct block v4_blocks[] = {
	{ "0.0.0.0", 8, "\"this network\" (0.0.0.0/8)" },
	{ "10.0.0.0", 8, "private-use (10.0.0.0/8)" },
	{ "100.64.0.0", 10, "shared address space (100.64.0.0/10)" },
	{ "127.0.0.0", 8, "loopback (127.0.0.0/8)" },
	{ "169.254.0.0", 16, "link-local (169.254.0.0/16)" },
	{ "172.16.0.0", 12, "private-use (172.16.0.0/12)" },
	{ "192.0.0.0", 24, "IETF protocol assignments (192.0.0.0/24)" },
	{ "192.0.2.0", 24, "documentation (192.0.2.0/24)" },
	{ "192.88.99.0", 24, "6to4 relay anycast (192.88.99.0/24)" },
	{ "192.168.0.0", 16, "private-use (192.168.0.0/16)" },
	{ "198.18.0.0", 15, "benchmarking (198.18.0.0/15)" },
	{ "198.51.100.0", 24, "documentation (198.51.100.0/24)" },
	{ "203.0.113.0", 24, "documentation (203.0.113.0/24)" },
	{ "224.0.0.0", 4, "multicast (224.0.0.0/4)" },
	{ "255.255.255.255", 32, "limited broadcast (255.255.255.255/32)" },
	{ "240.0.0.0", 4, "reserved (240.0.0.0/4)" },
};

static const struct block v6_blocks[] = {
	{ "::", 128, "unspecified (::/128)" },
	{ "::1", 128, "loopback (::1/128)" },
	{ "::ffff:0:0", 96, "IPv4-mapped (::ffff:0:0/96)" },
	{ "::", 96, "IPv4-compatible, deprecated (::/96)" },
	{ "64:ff9b:1::", 48, "local-use NAT64 (64:ff9b:1::/48)" },
	{ "100::", 64, "discard-only (100::/64)" },
	{ "2001::", 32, "Teredo (2001::/32)" },
	{ "2001::", 23, "IETF protocol assignments (2001::/23)" },
	{ "2001:db8::", 32, "documentation (2001:db8::/32)" },
	{ "3fff::", 20, "documentation (3fff::/20)" },
	{ "5f00::", 16, "SRv6 SIDs (5f00::/16)" },
	{ "fc00::", 7, "unique-local (fc00::/7)" },
	{ "fe80::", 10, "link-local (fe80::/10)" },
	{ "fec0::", 10, "site-local, deprecated (fec0::/10)" },
	{ "ff00::", 8, "multicast (ff00::/8)" },
};

/* Nonzero when the first bits of a and b are equal. */
static int
prefix_equal(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned whole = bits / CHAR_BIT, rest = bits % CHAR_BIT;

	if (memcmp(a, b, whole) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xffu) == 0;
}

/* The name of the first block of t[0..n) holding addr, or NULL. */
static const char *
lookup(const struct block *t, size_t n, int family, const unsigned char *addr)
{
	unsigned char p[IPV6_LEN];
	size_t i;

	for (i = 0; i < n; i++)
		if (inet_pton(family, t[i].prefix, p) == 1 &&
		    prefix_equal(addr, p, t[i].bits))
			return t[i].name;
	return NULL;
}

size_t
va_addr_embedded_v4(const unsigned char *v6,
    unsigned char out[VA_EMBEDDED_MAX][IPV4_LEN])
{
	static const unsigned char nat64[V4_IN_V6_AT] = { 0x00, 0x64, 0xff,
		0x9b };
	static const unsigned char
	    mapped[V4_IN_V6_AT] = { [10] = 0xff, [11] = 0xff };
	static const unsigned char compat[V4_IN_V6_AT] = { 0 };
	int i;

	if (memcmp(v6, nat64, V4_IN_V6_AT) == 0 ||
	    memcmp(v6, mapped, V4_IN_V6_AT) == 0 ||
	    memcmp(v6, compat, V4_IN_V6_AT) == 0) {
		memcpy(out[0], v6 + V4_IN_V6_AT, IPV4_LEN);
		return 1;
	}
	if (v6[0] == 0x20 && v6[1] == 0x02) { /* 6to4: 2002:V4ADDR::/48 */
		memcpy(out[0], v6 + SIX_TO_FOUR_AT, IPV4_LEN);
		return 1;
	}
	if (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0 && v6[3] == 0) {
		/* Teredo (RFC 4380 4): server, then the obfuscated client. */
		memcpy(out[0], v6 + TEREDO_SERVER_AT, IPV4_LEN);
		for (i = 0; i < IPV4_LEN; i++)
			out[1][i] = (unsigned char)~v6[TEREDO_CLIENT_AT + i];
		return VA_EMBEDDED_MAX;
	}
	return 0;
}

const char *
va_addr_reserved(int family, const unsigned char *addr)
{
	static const unsigned char nat64[V4_IN_V6_AT] = { 0x00, 0x64, 0xff,
		0x9b };
	unsigned char v4[VA_EMBEDDED_MAX][IPV4_LEN];
	const char *name;
	size_t i, n;

	if (family == AF_INET)
		return lookup(v4_blocks,
		    sizeof(v4_blocks) / sizeof(v4_blocks[0]), AF_INET, addr);
	if (family != AF_INET6)
		return "not an IP address";
	name = lookup(v6_blocks, sizeof(v6_blocks) / sizeof(v6_blocks[0]),
	    AF_INET6, addr);
	if (name != NULL)
		return name;
	n = va_addr_embedded_v4(addr, v4);
	for (i = 0; i < n; i++)
		if (va_addr_reserved(AF_INET, v4[i]) != NULL)
			return addr[0] == 0x20 ?
				   "6to4 embedding a reserved IPv4 address" :
				   "NAT64 embedding a reserved IPv4 address";
	/* IANA assigns global unicast from 2000::/3 only (RFC 4291 2.4). */
	if ((addr[0] & 0xe0) != 0x20 && memcmp(addr, nat64, V4_IN_V6_AT) != 0)
		return "outside the global unicast space 2000::/3";
	return NULL;
}

const char *
va_addr_reserved_text(const char *addr)
{
	unsigned char b[IPV6_LEN];

	if (inet_pton(AF_INET, addr, b) == 1)
		return va_addr_reserved(AF_INET, b);
	if (inet_pton(AF_INET6, addr, b) == 1)
		return va_addr_reserved(AF_INET6, b);
	return "not an IP address";
}

int
va_addr_private(const char *addr)
{
	return va_addr_reserved_text(addr) != NULL;
}
