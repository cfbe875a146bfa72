/* SPDX-License-Identifier: ISC */
/*
 * Names that more than one module of anvil-ca uses: units of time, HTTP
 * statuses, exit statuses.  A limit that one module owns is named in that
 * module's header, or atop its one file; scripts/check-limits keeps
 * literals named (D85).
 * (Not plain "limits": with -Isrc/server that would shadow the C library's.)
 */
#ifndef ANVIL_SRVLIMITS_H
#define ANVIL_SRVLIMITS_H

/* Units of time, for converting between clocks' fields and config keys. */
#define MS_PER_SEC  1000        /* milliseconds in a second */
#define US_PER_MS   1000        /* microseconds in a millisecond */
#define US_PER_SEC  1000000     /* microseconds in a second */
#define NS_PER_MS   1000000L    /* nanoseconds in a millisecond */
#define NS_PER_SEC  1000000000L /* nanoseconds in a second */
#define MINUTE_SECS 60          /* seconds in a minute */
#define HOUR_SECS   3600        /* seconds in an hour */
#define DAY_SECS    86400       /* seconds in a day (UTC, no leap) */

/* Exit status of a command given bad arguments (as getopt users do). */
#define EXIT_USAGE 2

/* Bytes of a string literal without its NUL, counted by the compiler. */
#define LIT_LEN(s) (sizeof(s "") - 1)

/* The label that makes a DNS identifier a wildcard (RFC 8555 7.1.3). */
#define WILDCARD "*."

/* What starts a SQLite database URL (the rest is its file). */
#define SQLITE_SCHEME "sqlite:"

/* Bytes of a DNS name in text, without a trailing dot (RFC 1035 2.3.4). */
#define DNS_NAME_MAX 253

/* Hex digits that spell one byte. */
#define HEX_PER_BYTE 2

/* Bytes of an IPv4 and of an IPv6 address. */
#define IPV4_LEN 4
#define IPV6_LEN 16

/* The largest RSA modulus accepted, in bits: BR 6.1.5 sets no upper
 * bound; this keeps a CSR's signature check cheap (rsa_min_bits's top). */
#define RSA_MAX_BITS 8192

/* DEL, the first byte past printable ASCII. */
#define ASCII_DEL 0x7f

/* The ports of HTTP and HTTPS (RFC 9110 4.2). */
#define HTTP_PORT  80
#define HTTPS_PORT 443

/* The highest TCP port number. */
#define PORT_MAX 65535

/* The HTTP statuses anvil-ca sends (RFC 9110, RFC 6585 for 429). */
enum http_status {
	HTTP_STATUS_MIN = 200, /* the lowest final status a reply may carry */
	HTTP_OK = 200,
	HTTP_CREATED = 201,
	HTTP_NO_CONTENT = 204,
	HTTP_SUCCESS_MAX = 299, /* the highest 2xx */
	HTTP_MOVED_PERMANENTLY = 301,
	HTTP_FOUND = 302,
	HTTP_TEMPORARY_REDIRECT = 307,
	HTTP_PERMANENT_REDIRECT = 308,
	HTTP_BAD_REQUEST = 400,
	HTTP_UNAUTHORIZED = 401,
	HTTP_FORBIDDEN = 403,
	HTTP_NOT_FOUND = 404,
	HTTP_METHOD_NOT_ALLOWED = 405,
	HTTP_CONFLICT = 409,
	HTTP_PAYLOAD_TOO_LARGE = 413,
	HTTP_UNSUPPORTED_MEDIA_TYPE = 415,
	HTTP_TOO_MANY_REQUESTS = 429,
	HTTP_SERVER_ERROR = 500, /* 500 Internal Server Error; 5xx start here */
	HTTP_SERVICE_UNAVAILABLE = 503,
	HTTP_STATUS_MAX = 599, /* the highest status a reply may carry */
};

#endif
