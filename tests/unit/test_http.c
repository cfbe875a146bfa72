/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the parsers of http.c: https URLs (names, IPv4, bracketed
 * IPv6, ports, paths), https_proxy values, no_proxy lists and the three
 * forms of HTTP-date that Retry-After may carry (S-RL-4).  The exchange
 * itself is tested against real servers in tests/interop/
 * test_client_http.py.
 */
#include <string.h>
#include <time.h>

#include <anvil/http.h>

#include "helpers.h"
#include "http_parse.h"

static void
http__url_parts(void **state)
{
	struct http_url u;
	char why[128];

	(void)state;
	assert_int_equal(http_parse_url("https://acme.example.com/dir", &u, why,
			     sizeof(why)),
	    0);
	assert_string_equal(u.host, "acme.example.com");
	assert_string_equal(u.port, "443");
	assert_false(u.is_ip);
	assert_int_equal(u.pathlen, 4);
	assert_memory_equal(u.path, "/dir", 4);

	assert_int_equal(http_parse_url("HTTPS://127.0.0.1:14000/a/b?c=d#frag",
			     &u, why, sizeof(why)),
	    0);
	assert_string_equal(u.host, "127.0.0.1");
	assert_string_equal(u.port, "14000");
	assert_true(u.is_ip);
	assert_false(u.is_v6);
	assert_int_equal(u.pathlen, strlen("/a/b?c=d"));

	assert_int_equal(http_parse_url("https://[::1]:8443?x", &u, why,
			     sizeof(why)),
	    0);
	assert_string_equal(u.host, "::1");
	assert_string_equal(u.port, "8443");
	assert_true(u.is_ip);
	assert_true(u.is_v6);
	assert_memory_equal(u.path, "?x", 2);

	assert_int_equal(http_parse_url("https://h", &u, why, sizeof(why)), 0);
	assert_int_equal(u.pathlen, 0);
}

static void
http__url_rejects(void **state)
{
	static const char *const bad[] = {
		"http://example.com/",
		"ftp://example.com/",
		"example.com/dir",
		"https://",
		"https:///path",
		"https://user:pw@example.com/",
		"https://example.com:0/",
		"https://example.com:65536/",
		"https://example.com:/",
		"https://example.com:12ab/",
		"https://[::1/",
		"https://[not-v6]/",
		"https://exa mple.com/",
		"https://example.com/a b",
		"https://example.com/a\r\nX-Injected: 1",
		"https://ex%41mple.com/",
	};
	struct http_url u;
	char why[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (http_parse_url(bad[i], &u, why, sizeof(why)) != -1)
			fail_msg("accepted %s", bad[i]);
		assert_true(why[0] != '\0');
	}
	http_parse_url("http://example.com/", &u, why, sizeof(why));
	assert_non_null(strstr(why, "https"));
	/* A long host is refused, not truncated. */
	{
		char url[400];

		memset(url, 'a', sizeof(url));
		memcpy(url, "https://", 8);
		url[sizeof(url) - 1] = '\0';
		assert_int_equal(http_parse_url(url, &u, why, sizeof(why)), -1);
	}
}

static void
http__proxy_values(void **state)
{
	struct http_proxy p;
	char why[128];

	(void)state;
	assert_int_equal(http_parse_proxy("http://proxy.example:3128", &p, why,
			     sizeof(why)),
	    0);
	assert_string_equal(p.host, "proxy.example");
	assert_string_equal(p.port, "3128");
	assert_string_equal(p.auth, "");

	/* No scheme means http://, no port 1080 (both as curl). */
	assert_int_equal(http_parse_proxy("10.0.0.1", &p, why, sizeof(why)), 0);
	assert_string_equal(p.port, "1080");
	assert_true(p.is_ip);

	/* "Aladdin:open sesame", RFC 7617's example, percent-encoded. */
	assert_int_equal(http_parse_proxy("http://"
					  "Aladdin:open%20sesame@[::1]:8/",
			     &p, why, sizeof(why)),
	    0);
	assert_string_equal(p.host, "::1");
	assert_string_equal(p.auth, "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");

	assert_int_equal(http_parse_proxy("http://u@h:1", &p, why, sizeof(why)),
	    0);
	assert_string_equal(p.auth, "dTo="); /* "u:" */

	assert_int_equal(http_parse_proxy("https://h:1", &p, why, sizeof(why)),
	    -1);
	assert_int_equal(http_parse_proxy("socks5://h:1", &p, why, sizeof(why)),
	    -1);
	assert_int_equal(http_parse_proxy("http://h:1/path", &p, why,
			     sizeof(why)),
	    -1);
	assert_int_equal(http_parse_proxy("http://u:%zz@h:1", &p, why,
			     sizeof(why)),
	    -1);
	assert_int_equal(http_parse_proxy("http://u:%4@h:1", &p, why,
			     sizeof(why)),
	    -1);
	assert_int_equal(http_parse_proxy("", &p, why, sizeof(why)), -1);
}

static void
http__no_proxy_lists(void **state)
{
	(void)state;
	assert_true(http_no_proxy("*", "anything.example"));
	assert_true(http_no_proxy("example.com", "example.com"));
	assert_true(http_no_proxy("example.com", "acme.example.com"));
	assert_true(http_no_proxy(".example.com", "acme.example.com"));
	assert_true(http_no_proxy("EXAMPLE.com", "acme.example.COM."));
	assert_false(http_no_proxy("example.com", "badexample.com"));
	assert_false(http_no_proxy("acme.example.com", "example.com"));
	assert_true(http_no_proxy("a.test, b.test ,c.test", "c.test"));
	assert_true(http_no_proxy("a.test b.test", "b.test"));
	assert_false(http_no_proxy("", "a.test"));
	assert_false(http_no_proxy(",,", "a.test"));
	assert_true(http_no_proxy("localhost,127.0.0.1", "127.0.0.1"));
	assert_false(http_no_proxy("127.0.0.1", "127.0.0.2"));
	assert_true(http_no_proxy("10.0.0.0/8", "10.1.2.3"));
	assert_false(http_no_proxy("10.0.0.0/8", "11.1.2.3"));
	assert_true(http_no_proxy("192.168.0.0/17", "192.168.127.1"));
	assert_false(http_no_proxy("192.168.0.0/17", "192.168.128.1"));
	assert_true(http_no_proxy("::1", "::1"));
	assert_true(http_no_proxy("[::1]", "::1"));
	assert_true(http_no_proxy("[fd00::]/8", "fd12::5"));
	assert_false(http_no_proxy("fd00::/8", "fe80::1"));
	assert_false(http_no_proxy("10.0.0.0/33", "10.0.0.1"));
	/* A name entry never matches an address by accident. */
	assert_false(http_no_proxy("0.0.1", "10.0.0.1"));
}

static void
http__s_rl_4_http_date(void **state)
{
	time_t t;

	(void)state;
	/* RFC 9110 5.6.7's three forms of the same instant. */
	assert_int_equal(http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", &t),
	    0);
	assert_int_equal((long long)t, 784111777LL);
	assert_int_equal(http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", &t),
	    0);
	assert_int_equal((long long)t, 784111777LL);
	assert_int_equal(http_parse_date("Sun Nov  6 08:49:37 1994", &t), 0);
	assert_int_equal((long long)t, 784111777LL);

	assert_int_equal(http_parse_date("Thu, 01 Jan 1970 00:00:00 GMT", &t),
	    0);
	assert_int_equal((long long)t, 0);
	assert_int_equal(http_parse_date("Tue, 29 Feb 2028 23:59:59 GMT", &t),
	    0);
	assert_int_equal((long long)t, 1835481599LL);
	assert_int_equal(http_parse_date("Fri, 31 Dec 2100 12:00:00 GMT", &t),
	    0);
	assert_int_equal((long long)t, 4133937600LL);
	assert_int_equal(http_parse_date("Thursday, 01-Jan-30 00:00:00 GMT",
			     &t),
	    0);
	assert_int_equal((long long)t, 1893456000LL);
}

static void
http__http_date_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"120",
		"Sun, 06 Nov 1994 08:49:37",
		"Sun, 06 Nov 1994 08:49:37 UTC",
		"Sun, 6 Nov 1994 08:49:37 GMT",
		"Sun, 06 Nov 94 08:49:37 GMT",
		"Sun, 06 Now 1994 08:49:37 GMT",
		"Sun, 31 Nov 1994 08:49:37 GMT",
		"Sun, 29 Feb 2027 08:49:37 GMT",
		"Sun, 06 Nov 1994 24:00:00 GMT",
		"Sun, 06 Nov 1994 08:60:00 GMT",
		"Sun, 06 Nov 1994 08:49:37 GMT junk",
		"Xyz, 06 Nov 1994 08:49:37 GMT",
		"Sunday, 06 Nov 1994 08:49:37 GMT",
		"Sun, 06-Nov-94 08:49:37 GMT",
		"Sun Nov  6 08:49:37",
		"Sun, 01 Jan 1969 00:00:00 GMT",
		"Sun, 00 Jan 2000 00:00:00 GMT",
	};
	time_t t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_parse_date(bad[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

/*
 * The response reader (the seam fuzz_http drives) gives the same answer
 * whatever sizes the reads come in, and says why it refuses.
 */
static void
http__response_reader_framing(void **state)
{
	static const char chunked[] =
	    "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
	    "Location: https://ca.example/acct/1\r\nReplay-Nonce: n1\r\n"
	    "Retry-After: 7\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\n"
	    "Trailer: x\r\n\r\n";
	static const char *bad[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
		"",
	};
	struct acme_http_resp r;
	char why[128];
	size_t step, i;

	(void)state;
	for (step = 0; step < 40; step++) {
		assert_int_equal(http_parse_response(chunked,
				     sizeof(chunked) - 1, step, "POST", &r, why,
				     sizeof(why)),
		    0);
		assert_int_equal(r.status, 201);
		assert_int_equal(r.len, 5);
		assert_string_equal(r.body, "abcde");
		assert_string_equal(r.location, "https://ca.example/acct/1");
		assert_string_equal(r.nonce, "n1");
		assert_int_equal(r.retry_after, 7);
		acme_http_resp_release(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_not_equal(http_parse_response(bad[i],
					 i == 3 ? 30 : strlen(bad[i]), 1, "GET",
					 &r, why, sizeof(why)),
		    0);
		assert_true(why[0] != '\0');
	}
}

/* Issue 21 item 16: RFC 8288 links, every form a CA may send. */
static void
http__rfc8288_link_forms(void **state)
{
	static const char *const links[] = {
		"<https://ca.example/up>;rel=\"up\"",
		"<alt/1>;rel=alternate",
		" </alt/2> ; title=\"a;b,c\" ; REL = \"index Alternate\"",
		"<https://ca.example/x>;rel=\"alternate-not\"",
		"<https://ca.example/y>;anchor=\"#rel=alternate\"",
		"<https://ca.example/z>;rel=up;rel=alternate",
	};
	struct acme_http_resp r;
	char out[256];
	size_t i;

	(void)state;
	memset(&r, 0, sizeof(r));
	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		snprintf(r.links[r.nlinks++], sizeof(r.links[0]), "%s",
		    links[i]);
	assert_non_null(acme_http_link(&r, "alternate", 0, out, sizeof(out)));
	assert_string_equal(out, "alt/1");
	assert_non_null(acme_http_link(&r, "alternate", 1, out, sizeof(out)));
	assert_string_equal(out, "/alt/2");
	/* Neither a longer name, another parameter, nor a second rel. */
	assert_null(acme_http_link(&r, "alternate", 2, out, sizeof(out)));
	assert_non_null(acme_http_link(&r, "up", 0, out, sizeof(out)));
	assert_string_equal(out, "https://ca.example/up");
	assert_non_null(acme_http_link(&r, "index", 0, out, sizeof(out)));
	assert_string_equal(out, "/alt/2");
	assert_non_null(acme_http_link(&r, "up", 1, out, sizeof(out)));
	assert_string_equal(out, "https://ca.example/z");
	assert_null(acme_http_link(&r, "up", 0, out, 4)); /* too long */
}

/* RFC 3986 5.4's examples (those an ACME URL can meet). */
static void
http__rfc3986_resolve(void **state)
{
	static const char *const base = "https://a:8443/b/c/d;p?q";
	static const char *const ex[][2] = {
		{ "g", "https://a:8443/b/c/g" },
		{ "./g", "https://a:8443/b/c/g" },
		{ "g/", "https://a:8443/b/c/g/" },
		{ "/g", "https://a:8443/g" },
		{ "//g/x", "https://g/x" },
		{ "?y", "https://a:8443/b/c/d;p?y" },
		{ "g?y", "https://a:8443/b/c/g?y" },
		{ ".", "https://a:8443/b/c/" },
		{ "..", "https://a:8443/b/" },
		{ "../g", "https://a:8443/b/g" },
		{ "../..", "https://a:8443/" },
		{ "../../../g", "https://a:8443/g" },
		{ "/./g", "https://a:8443/g" },
		{ "/../g", "https://a:8443/g" },
		{ "g.", "https://a:8443/b/c/g." },
		{ "..g", "https://a:8443/b/c/..g" },
		{ "./g/.", "https://a:8443/b/c/g/" },
		{ "g/../h", "https://a:8443/b/c/h" },
		{ "g?y/../x", "https://a:8443/b/c/g?y/../x" },
		{ "https://other/x", "https://other/x" },
	};
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		assert_int_equal(acme_http_resolve(base, ex[i][0], out,
				     sizeof(out)),
		    0);
		if (strcmp(out, ex[i][1]) != 0)
			fail_msg("\"%s\" gave \"%s\", not \"%s\"", ex[i][0],
			    out, ex[i][1]);
	}
	assert_int_equal(acme_http_resolve("https://h", "x", out, sizeof(out)),
	    0);
	assert_string_equal(out, "https://h/x");
	snprintf(out, sizeof(out), "/order/1");
	assert_int_equal(acme_http_resolve("https://h:1/new-order", out, out,
			     sizeof(out)),
	    0);
	assert_string_equal(out, "https://h:1/order/1");
	assert_int_equal(acme_http_resolve("no-scheme", "x", out, sizeof(out)),
	    -1);
	assert_int_equal(acme_http_resolve(base, "/long", out, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(http__url_parts),
		cmocka_unit_test(http__url_rejects),
		cmocka_unit_test(http__proxy_values),
		cmocka_unit_test(http__no_proxy_lists),
		cmocka_unit_test(http__s_rl_4_http_date),
		cmocka_unit_test(http__http_date_rejects),
		cmocka_unit_test(http__response_reader_framing),
		cmocka_unit_test(http__rfc8288_link_forms),
		cmocka_unit_test(http__rfc3986_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
