/* SPDX-License-Identifier: ISC */
/*
 * The parsers inside src/lib/http.c that the unit tests reach: URLs,
 * proxy settings, no_proxy lists and HTTP-dates.  In release builds the
 * functions are static (ACME_TESTABLE) and only the structs are shared.
 */
#ifndef ANVIL_HTTP_PARSE_H
#define ANVIL_HTTP_PARSE_H

#include <stddef.h>
#include <time.h>

#define HTTP_HOST_MAX 256

/* An https URL split for connecting and for the request line. */
struct http_url {
	char host[HTTP_HOST_MAX]; /* IPv6 literals without brackets */
	char port[6];             /* decimal, "443" by default */
	int is_ip;                /* an IPv4 or IPv6 literal: no SNI */
	int is_v6;                /* needs brackets in Host */
	const char *path;         /* into the URL: "/x?y", "?y" or "" */
	size_t pathlen;           /* up to any fragment */
};

/* An http:// proxy from https_proxy. */
struct http_proxy {
	char host[HTTP_HOST_MAX];
	char port[6]; /* "1080" by default, as curl */
	int is_ip;
	char auth[700]; /* base64 of "user:pass", "" without credentials */
};

struct acme_http_resp;

/*
 * Reads one HTTP/1.1 response to a request made with method from the len
 * bytes at buf, as acme_http_request() reads it from a connection, handed
 * to the reader step bytes at a time (0: as much as one TLS record).  For
 * the fuzz target and the tests: the same code, no socket.  Returns 0
 * with r filled (release it with acme_http_resp_release), or ACME_ERR_IO
 * with the reason in why.
 */
int http_parse_response(const void *buf, size_t len, size_t step,
    const char *method, struct acme_http_resp *r, char *why, size_t whysz);

#ifdef ANVIL_TESTING
/*
 * Parses an https URL into u (which then points into url).  Returns 0, or
 * -1 with a lowercase reason in why.
 */
int http_parse_url(const char *url, struct http_url *u, char *why,
    size_t whysz);
/* Parses an https_proxy value; as http_parse_url(). */
int http_parse_proxy(const char *s, struct http_proxy *p, char *why,
    size_t whysz);
/* 1 when host (no brackets) matches the no_proxy list, else 0. */
int http_no_proxy(const char *list, const char *host);
/* Parses an HTTP-date (RFC 9110 5.6.7, all three forms).  Returns 0/-1. */
int http_parse_date(const char *s, time_t *out);
#endif

#endif
