/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the validator's address filter (va/addrfilter.c, D52):
 * every block of the IANA special-purpose registries that is not
 * globally reachable, with the addresses on both sides of each edge, and
 * the IPv4 addresses embedded in NAT64, 6to4 and Teredo addresses.  The
 * filter is called in libanvilca, the static library that anvil-ca
 * links, as compiled for this build (-O2 in build/), so this is the
 * object code that ships: the old filter passed the same cases at -O0
 * and judged every address private at -O2 (security.md, D52).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "va/addrfilter.h"

#include "../helpers.h"

struct row {
	const char *addr;
	int private;
};

/* P: not globally reachable; G: public.  Edges on both sides. */
#define P 1
#define G 0
static const struct row v4_rows[] = {
	{ "8.8.8.8", G },
	{ "1.1.1.1", G },
	{ "93.184.216.34", G },
	{ "0.0.0.0", P },
	{ "0.255.255.255", P },
	{ "1.0.0.0", G },
	{ "9.255.255.255", G },
	{ "10.0.0.0", P },
	{ "10.255.255.255", P },
	{ "11.0.0.0", G },
	{ "100.63.255.255", G },
	{ "100.64.0.0", P },
	{ "100.127.255.255", P },
	{ "100.128.0.0", G },
	{ "126.255.255.255", G },
	{ "127.0.0.0", P },
	{ "127.0.0.1", P },
	{ "127.255.255.255", P },
	{ "128.0.0.0", G },
	{ "169.253.255.255", G },
	{ "169.254.0.0", P },
	{ "169.254.169.254", P },
	{ "169.254.255.255", P },
	{ "169.255.0.0", G },
	{ "172.15.255.255", G },
	{ "172.16.0.0", P },
	{ "172.31.255.255", P },
	{ "172.32.0.0", G },
	{ "191.255.255.255", G },
	{ "192.0.0.0", P },
	{ "192.0.0.8", P },
	{ "192.0.0.9", P }, /* PCP anycast: stricter than IANA (D52) */
	{ "192.0.0.10", P },
	{ "192.0.0.255", P },
	{ "192.0.1.0", G },
	{ "192.0.1.255", G },
	{ "192.0.2.0", P },
	{ "192.0.2.1", P },
	{ "192.0.2.255", P },
	{ "192.0.3.0", G },
	{ "192.31.196.1", G }, /* AS112-v4: globally reachable */
	{ "192.52.193.1", G }, /* AMT: globally reachable */
	{ "192.88.98.255", G },
	{ "192.88.99.0", P },
	{ "192.88.99.255", P },
	{ "192.88.100.0", G },
	{ "192.167.255.255", G },
	{ "192.168.0.0", P },
	{ "192.168.255.255", P },
	{ "192.169.0.0", G },
	{ "192.175.48.1", G }, /* AS112 direct delegation */
	{ "198.17.255.255", G },
	{ "198.18.0.0", P },
	{ "198.18.0.1", P },
	{ "198.19.255.255", P },
	{ "198.20.0.0", G },
	{ "198.51.99.255", G },
	{ "198.51.100.0", P },
	{ "198.51.100.255", P },
	{ "198.51.101.0", G },
	{ "203.0.112.255", G },
	{ "203.0.113.0", P },
	{ "203.0.113.255", P },
	{ "203.0.114.0", G },
	{ "223.255.255.255", G },
	{ "224.0.0.0", P },
	{ "239.255.255.255", P },
	{ "240.0.0.0", P },
	{ "255.255.255.254", P },
	{ "255.255.255.255", P },
};

static const struct row v6_rows[] = {
	{ "2606:4700:4700::1111", G },
	{ "2a00:1450:4001:80b::200e", G },
	{ "2620:4f:8000::1", G }, /* AS112-v6: globally reachable */
	{ "::", P },
	{ "::1", P },
	{ "::2", P },
	/* IPv4-compatible (deprecated) and IPv4-mapped */
	{ "::127.0.0.1", P },
	{ "::7f00:1", P },
	{ "::8.8.8.8", P },
	{ "::ffff:127.0.0.1", P },
	{ "::ffff:10.0.0.1", P },
	{ "::ffff:8.8.8.8", P },
	{ "::fffe:ffff:ffff", P },
	{ "::1:0:0:0", P },
	/* NAT64 well-known prefix: judged by the IPv4 address it embeds */
	{ "64:ff9b::8.8.8.8", G },
	{ "64:ff9b::93.184.216.34", G },
	{ "64:ff9b::7f00:1", P },
	{ "64:ff9b::a00:1", P },
	{ "64:ff9b::192.168.1.1", P },
	{ "64:ff9b::169.254.169.254", P },
	{ "64:ff9b::192.0.2.1", P },
	{ "64:ff9b::198.18.0.1", P },
	{ "64:ff9b::0.0.0.0", P },
	{ "64:ff9b::255.255.255.255", P },
	{ "64:ff9b::1:808:808", P }, /* past the /96 */
	{ "64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "64:ff9b:1::", P },
	{ "64:ff9b:1::808:808", P },
	{ "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", P },
	{ "64:ff9b:2::", P },
	{ "100::", P },
	{ "100::1", P },
	{ "100::ffff:ffff:ffff:ffff", P },
	{ "100:0:0:1::", P }, /* outside 2000::/3 */
	{ "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "2000::", G },
	{ "2000::1", G },
	/* 2001::/23 with Teredo 2001::/32 */
	{ "2001::", P },
	{ "2001::1", P },
	{ "2001:0:4136:e378:8000:63bf:3fff:fdd2", P },
	{ "2001:0:808:808:8000:63bf:f7f7:f7f7", P }, /* all public inside */
	{ "2001:1::1", P },
	{ "2001:2::", P },
	{ "2001:3::1", P },
	{ "2001:20::1", P },
	{ "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "2001:200::", G },
	{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", G },
	{ "2001:db8::", P },
	{ "2001:db8::1", P },
	{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "2001:db9::", G },
	/* 6to4: judged by the IPv4 address it embeds */
	{ "2001:ffff:ffff:ffff:ffff:ffff:ffff:ffff", G },
	{ "2002:808:808::1", G },
	{ "2002:5db8:d822::1", G },
	{ "2002:a00:1::1", P },
	{ "2002:7f00:1::", P },
	{ "2002:c0a8:101::1", P },
	{ "2002:a9fe:a9fe::1", P },
	{ "2002:c000:201::1", P },
	{ "2002:6440::1", P },
	{ "2002::", P },
	{ "2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "2003::", G },
	{ "3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", G },
	{ "3fff::", P },
	{ "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "3fff:1000::", G },
	{ "3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", G },
	{ "4000::", P },
	{ "5eff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "5f00::", P },
	{ "5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "5f01::", P },
	{ "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "fc00::", P },
	{ "fd00::1", P },
	{ "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "fe00::", P },
	{ "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "fe80::", P },
	{ "fe80::1", P },
	{ "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "fec0::", P },
	{ "fec0::1", P },
	{ "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
	{ "ff00::", P },
	{ "ff02::1", P },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", P },
};

static void
check_rows(const struct row *rows, size_t n, int family)
{
	unsigned char b[16];
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		const char *why;
		int got;

		assert_int_equal(inet_pton(family, rows[i].addr, b), 1);
		why = va_addr_reserved(family, b);
		got = va_addr_private(rows[i].addr);
		if ((why != NULL) != rows[i].private ||
		    got != rows[i].private) {
			print_error("%s: expected %s, got %s (%s)\n",
			    rows[i].addr,
			    rows[i].private ? "private" : "public",
			    got ? "private" : "public", why ? why : "-");
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

static void
addrfilter__ipv4_special_registry(void **state)
{
	(void)state;
	check_rows(v4_rows, sizeof(v4_rows) / sizeof(v4_rows[0]), AF_INET);
}

static void
addrfilter__ipv6_special_registry(void **state)
{
	(void)state;
	check_rows(v6_rows, sizeof(v6_rows) / sizeof(v6_rows[0]), AF_INET6);
}

/* The optimised build once judged these private (review #10). */
static void
addrfilter__public_addresses_are_public(void **state)
{
	(void)state;
	assert_int_equal(va_addr_private("8.8.8.8"), 0);
	assert_int_equal(va_addr_private("93.184.216.34"), 0);
	assert_int_equal(va_addr_private("2606:4700::1111"), 0);
	assert_int_equal(va_addr_private("127.0.0.1"), 1);
	assert_int_equal(va_addr_private("::1"), 1);
}

static void
addrfilter__not_an_address_is_private(void **state)
{
	unsigned char b[16] = { 8, 8, 8, 8 };

	(void)state;
	assert_int_equal(va_addr_private(""), 1);
	assert_int_equal(va_addr_private("example.com"), 1);
	assert_int_equal(va_addr_private("8.8.8.8 "), 1);
	assert_int_equal(va_addr_private("[2606:4700::1111]"), 1);
	assert_non_null(va_addr_reserved(AF_UNIX, b));
}

/* va_addr_reserved names the block addr (of family) falls in. */
static void
expect_name(int family, const char *addr, const char *name)
{
	unsigned char b[16];

	assert_int_equal(inet_pton(family, addr, b), 1);
	assert_string_equal(va_addr_reserved(family, b), name);
}

static void
addrfilter__names_the_block(void **state)
{
	(void)state;
	expect_name(AF_INET6, "2001:db8::1", "documentation (2001:db8::/32)");
	expect_name(AF_INET6, "2001::1", "Teredo (2001::/32)");
	expect_name(AF_INET6, "2002:a00:1::1",
	    "6to4 embedding a reserved IPv4 address");
	expect_name(AF_INET6, "64:ff9b::a00:1",
	    "NAT64 embedding a reserved IPv4 address");
	expect_name(AF_INET6, "4000::1",
	    "outside the global unicast space 2000::/3");
	expect_name(AF_INET, "255.255.255.255",
	    "limited broadcast (255.255.255.255/32)");
	expect_name(AF_INET, "10.0.0.1", "private-use (10.0.0.0/8)");
}

/* v6 embeds n IPv4 addresses, the first two of them first and second. */
static void
expect_embedded(const char *v6, size_t n, const char *first, const char *second)
{
	unsigned char b[16], v4[2][4];
	const char *want[2] = { first, second };
	char s[16];
	size_t i;

	assert_int_equal(inet_pton(AF_INET6, v6, b), 1);
	assert_int_equal(va_addr_embedded_v4(b, v4), n);
	for (i = 0; i < n; i++) {
		assert_non_null(inet_ntop(AF_INET, v4[i], s, sizeof(s)));
		assert_string_equal(s, want[i]);
	}
}

static void
addrfilter__embedded_ipv4_decoded(void **state)
{
	(void)state;
	/* RFC 4380 example: server 65.54.227.120, client 192.0.2.45. */
	expect_embedded("2001:0:4136:e378:8000:63bf:3fff:fdd2", 2,
	    "65.54.227.120", "192.0.2.45");
	expect_embedded("2002:c000:22d::1", 1, "192.0.2.45", NULL);
	expect_embedded("64:ff9b::c000:22d", 1, "192.0.2.45", NULL);
	expect_embedded("::ffff:10.1.2.3", 1, "10.1.2.3", NULL);
	expect_embedded("::10.1.2.3", 1, "10.1.2.3", NULL);
	expect_embedded("2606:4700::1111", 0, NULL, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addrfilter__public_addresses_are_public),
		cmocka_unit_test(addrfilter__ipv4_special_registry),
		cmocka_unit_test(addrfilter__ipv6_special_registry),
		cmocka_unit_test(addrfilter__not_an_address_is_private),
		cmocka_unit_test(addrfilter__names_the_block),
		cmocka_unit_test(addrfilter__embedded_ipv4_decoded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
