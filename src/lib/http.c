/* SPDX-License-Identifier: ISC */
/*
 * HTTPS client of libanvil (see include/anvil/http.h): HTTP/1.1 over
 * OpenSSL on one non-blocking socket, kept alive between requests.  Every
 * wait is a poll() bounded by the request's deadline, so a stalled peer
 * costs at most the time-out, never a hang.  Response headers, chunk-size
 * lines and trailers are capped at HDR_MAX bytes and bodies at
 * ACME_HTTP_MAX_BODY.  Header values longer than their field in struct
 * acme_http_resp are truncated, which can only make a later step fail
 * cleanly.  See docs/decisions.md D36 for why this is not libcurl.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <anvil/buf.h>
#include <anvil/err.h>
#include <anvil/http.h>

#include "http_parse.h"
#include "internal.h"

#define CONNECT_MS     10000       /* TCP, proxy CONNECT and TLS handshake */
#define REQUEST_MS     60000       /* one whole request, connecting included */
#define HDR_MAX        (64 * 1024) /* response header block, bytes */
#define REQ_HDR_MAX    8192        /* our request line and headers, bytes */
#define IN_SIZE        16384       /* read buffer, one TLS record */
#define PROXY_PORT     "1080"      /* curl's default for a proxy URL */
#define TIMEOUT_ENV    "ANVIL_HTTP_TIMEOUT_MS"
#define TIMEOUT_ENVMAX 600000

struct acme_http {
	SSL_CTX *ctx; /* NULL when ctx_err says why */
	char ctx_err[300];
	BIO_METHOD *bio_meth; /* the socket under TLS, see bio_write() */
	char *user_agent;
	long timeout_ms; /* whole request */
	long connect_ms; /* connecting, part of timeout_ms */

	/* The kept-alive connection, or fd -1. */
	int fd;
	int eof; /* recv() returned 0 */
	SSL *ssl;
	char key[2 * HTTP_HOST_MAX + 16]; /* origin host:port and proxy */
	unsigned char in[IN_SIZE];        /* read ahead */
	size_t ipos, ilen;

	/* http_parse_response() only: the bytes that stand in for the TLS
	 * stream, handed out step bytes at a time. */
	const unsigned char *mem;
	size_t memlen, step;
};

/* One request's progress and, on failure, the reason. */
struct xfer {
	struct acme_http *h;
	long long deadline; /* monotonic ms */
	long budget_ms;     /* of the phase, for the time-out message */
	int got;            /* a response byte arrived */
	int timed_out;
	enum acme_prob_type type; /* of the first failure */
	char why[ACME_PROB_DETAIL_MAX];
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Records the first failure of a request; returns ACME_ERR_IO. */
static int __attribute__((format(printf, 3, 4)))
fail(struct xfer *x, enum acme_prob_type type, const char *fmt, ...)
{
	va_list ap;

	if (x->why[0] != '\0')
		return ACME_ERR_IO;
	x->type = type;
	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
	return ACME_ERR_IO;
}

/* OpenSSL's reason for the last failure, and an empty error queue. */
static const char *
ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *s = e != 0 ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return s != NULL ? s : "unknown error";
}

/* ---- parsers (http_parse.h) ---- */

static int __attribute__((format(printf, 3, 4)))
why_set(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Parses "host", "host:port", "[v6]" or "[v6]:port" at *cur, stopping at
 * '/', '?', '#' or the end; advances *cur.  Host names are letters,
 * digits, '-', '.' and '_'.
 */
static int
parse_authority(const char **cur, char *host, char *port, const char *defport,
    int *is_ip, int *is_v6, char *why, size_t whysz)
{
	const char *p = *cur, *h, *he;
	unsigned char a[16];
	size_t n;

	*is_ip = *is_v6 = 0;
	if (*p == '[') {
		h = ++p;
		if ((he = strchr(h, ']')) == NULL)
			return why_set(why, whysz, "unterminated IPv6 literal");
		p = he + 1;
		*is_ip = *is_v6 = 1;
	} else {
		h = p;
		while (isalnum((unsigned char)*p) || *p == '-' || *p == '.' ||
		       *p == '_')
			p++;
		he = p;
	}
	n = (size_t)(he - h);
	if (n == 0)
		return why_set(why, whysz, "no host");
	if (n >= HTTP_HOST_MAX)
		return why_set(why, whysz, "host name too long");
	memcpy(host, h, n);
	host[n] = '\0';
	if (*is_v6 && inet_pton(AF_INET6, host, a) != 1)
		return why_set(why, whysz, "bad IPv6 literal");
	if (!*is_v6 && inet_pton(AF_INET, host, a) == 1)
		*is_ip = 1;
	if (*p == ':') {
		unsigned long v = 0;
		const char *d = ++p;

		while (isdigit((unsigned char)*p) && p - d < 6)
			v = v * 10 + (unsigned long)(*p++ - '0');
		if (p == d || p - d > 5 || v == 0 || v > 65535)
			return why_set(why, whysz, "bad port");
		snprintf(port, 6, "%lu", v);
	} else
		snprintf(port, 6, "%s", defport);
	if (*p != '\0' && *p != '/' && *p != '?' && *p != '#')
		return why_set(why, whysz, "bad character in the host");
	*cur = p;
	return 0;
}

ACME_TESTABLE int
http_parse_url(const char *url, struct http_url *u, char *why, size_t whysz)
{
	const char *p = url, *q;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(p, "https://", 8) != 0)
		return why_set(why, whysz, "unsupported scheme (only https)");
	p += 8;
	for (q = p; *q != '\0' && *q != '/' && *q != '?' && *q != '#'; q++)
		if (*q == '@')
			return why_set(why, whysz,
			    "credentials in the URL are not supported");
	if (parse_authority(&p, u->host, u->port, "443", &u->is_ip, &u->is_v6,
		why, whysz) < 0)
		return -1;
	u->path = p;
	for (q = p; *q != '\0' && *q != '#'; q++)
		/* Nothing a request line could be split on. */
		if ((unsigned char)*q <= 0x20 || *q == 0x7f)
			return why_set(why, whysz, "bad character in the path");
	u->pathlen = (size_t)(q - p);
	return 0;
}

/* Decodes %XX escapes of [s, s + n) into out; -1 when too long or bad. */
static int
pct_decode(const char *s, size_t n, char *out, size_t outsz)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			char hex[3] = { 0 };
			char *end;

			if (i + 2 >= n)
				return -1;
			hex[0] = s[i + 1];
			hex[1] = s[i + 2];
			if (!isxdigit((unsigned char)hex[0]) ||
			    !isxdigit((unsigned char)hex[1]))
				return -1;
			c = (int)strtol(hex, &end, 16);
			i += 2;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

ACME_TESTABLE int
http_parse_proxy(const char *s, struct http_proxy *px, char *why, size_t whysz)
{
	const char *p = s, *at = NULL, *q;
	char cred[512];
	int is_v6, n;

	memset(px, 0, sizeof(*px));
	if ((q = strstr(p, "://")) != NULL) {
		if ((size_t)(q - p) != 4 || strncasecmp(p, "http", 4) != 0)
			return why_set(why, whysz,
			    "unsupported proxy scheme (only http://)");
		p = q + 3;
	}
	for (q = p; *q != '\0' && *q != '/' && *q != '?' && *q != '#'; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		const char *colon = memchr(p, ':', (size_t)(at - p));
		size_t ul =
		    colon != NULL ? (size_t)(colon - p) : (size_t)(at - p);
		int a, b = 0;

		if ((a = pct_decode(p, ul, cred, sizeof(cred) - 1)) < 0)
			return why_set(why, whysz, "bad proxy user name");
		cred[a++] = ':';
		if (colon != NULL &&
		    (b = pct_decode(colon + 1, (size_t)(at - colon - 1),
			 cred + a, sizeof(cred) - (size_t)a)) < 0)
			return why_set(why, whysz, "bad proxy password");
		n = EVP_EncodeBlock((unsigned char *)px->auth,
		    (const unsigned char *)cred, a + b);
		acme_wipe(cred, sizeof(cred));
		if (n < 0)
			return why_set(why, whysz, "bad proxy credentials");
		p = at + 1;
	}
	if (parse_authority(&p, px->host, px->port, PROXY_PORT, &px->is_ip,
		&is_v6, why, whysz) < 0)
		return -1;
	if (*p != '\0' && strcmp(p, "/") != 0)
		return why_set(why, whysz, "a proxy URL has no path");
	return 0;
}

/* 1 when IP literal host lies in "addr/bits" (or equals addr). */
static int
ip_match(const char *entry, size_t n, const char *host)
{
	unsigned char a[16], b[16];
	char tmp[64];
	const char *slash = memchr(entry, '/', n);
	size_t al = slash != NULL ? (size_t)(slash - entry) : n;
	long bits;
	int fam, len;

	if (al >= sizeof(tmp))
		return 0;
	memcpy(tmp, entry, al);
	tmp[al] = '\0';
	fam = strchr(tmp, ':') != NULL ? AF_INET6 : AF_INET;
	len = fam == AF_INET6 ? 16 : 4;
	if (inet_pton(fam, tmp, a) != 1 || inet_pton(fam, host, b) != 1)
		return 0;
	bits = len * 8;
	if (slash != NULL) {
		char *end;
		size_t bl = n - al - 1;

		if (bl == 0 || bl >= sizeof(tmp))
			return 0;
		memcpy(tmp, slash + 1, bl);
		tmp[bl] = '\0';
		bits = strtol(tmp, &end, 10);
		if (*end != '\0' || bits < 0 || bits > len * 8)
			return 0;
	}
	if (memcmp(a, b, (size_t)bits / 8) != 0)
		return 0;
	if (bits % 8 != 0) {
		unsigned mask = (0xffu << (8 - bits % 8)) & 0xffu;

		return (a[bits / 8] & mask) == (b[bits / 8] & mask);
	}
	return 1;
}

ACME_TESTABLE int
http_no_proxy(const char *list, const char *host)
{
	size_t hl = strlen(host);
	const char *p = list;
	unsigned char a[16];
	/* Addresses match addresses (or ranges), names match names. */
	int ip = inet_pton(AF_INET, host, a) == 1 ||
		 inet_pton(AF_INET6, host, a) == 1;

	while (hl > 0 && host[hl - 1] == '.')
		hl--;
	while (*p != '\0') {
		const char *e;
		size_t n;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		for (e = p; *e != '\0' && *e != ',' && *e != ' ' && *e != '\t';
		     e++)
			;
		n = (size_t)(e - p);
		if (n > 1 && *p == '[' && memchr(p, ']', n) != NULL) {
			/* "[::1]" and "[fd00::]/8" as in curl. */
			const char *rb = memchr(p, ']', n);
			char tmp[80];
			size_t al = (size_t)(rb - p - 1), rest = n - al - 2;

			if (al + rest < sizeof(tmp)) {
				memcpy(tmp, p + 1, al);
				memcpy(tmp + al, rb + 1, rest);
				if (ip_match(tmp, al + rest, host))
					return 1;
			}
		} else if (n == 1 && *p == '*')
			return 1;
		else if (ip) {
			if (n > 0 && ip_match(p, n, host))
				return 1;
		} else if (n > 0) {
			while (n > 0 && *p == '.') {
				p++;
				n--;
			}
			while (n > 0 && p[n - 1] == '.')
				n--;
			if (n > 0 && n <= hl &&
			    strncasecmp(host + hl - n, p, n) == 0 &&
			    (n == hl || host[hl - n - 1] == '.'))
				return 1;
		}
		p = e;
	}
	return 0;
}

/* Reads between min and max digits at *p into *v. */
static int
digits(const char **p, int min, int max, int *v)
{
	int n = 0;

	*v = 0;
	while (n < max && isdigit((unsigned char)**p)) {
		*v = *v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	return n >= min ? 0 : -1;
}

static int
lit(const char **p, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(*p, s, n) != 0)
		return -1;
	*p += n;
	return 0;
}

static int
month(const char **p, int *m)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	int i;

	for (i = 0; i < 12; i++)
		if (strncmp(*p, names + 3 * i, 3) == 0) {
			*m = i + 1;
			*p += 3;
			return 0;
		}
	return -1;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static long long
days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

ACME_TESTABLE int
http_parse_date(const char *s, time_t *out)
{
	static const char *const days[] = { "Monday", "Tuesday", "Wednesday",
		"Thursday", "Friday", "Saturday", "Sunday" };
	const char *p = s, *w = s;
	int y = 0, mo = 0, d, hh, mm, ss, asc, mdays;
	size_t i, wl;

	while (isalpha((unsigned char)*p))
		p++;
	wl = (size_t)(p - w);
	for (i = 0; i < ACME_ARRAY_LEN(days); i++)
		if ((wl == 3 && strncmp(w, days[i], 3) == 0) ||
		    (wl == strlen(days[i]) && strncmp(w, days[i], wl) == 0))
			break;
	if (i == ACME_ARRAY_LEN(days))
		return -1;
	asc = *p == ' ';
	if (asc) {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		p++;
		if (month(&p, &mo) < 0 || lit(&p, " ") < 0)
			return -1;
		if (*p == ' ')
			p++;
		if (digits(&p, 1, 2, &d) < 0 || lit(&p, " ") < 0)
			return -1;
	} else {
		/* "Sun, 06 Nov 1994 ..." or "Sunday, 06-Nov-94 ..." */
		char sep;

		if (lit(&p, ", ") < 0 || digits(&p, 2, 2, &d) < 0)
			return -1;
		sep = *p;
		if ((sep != ' ' && sep != '-') || (p++, month(&p, &mo)) < 0 ||
		    *p++ != sep)
			return -1;
		if (sep == ' ') {
			if (wl != 3 || digits(&p, 4, 4, &y) < 0)
				return -1;
		} else {
			if (wl == 3 || digits(&p, 2, 2, &y) < 0)
				return -1;
			/* RFC 9110: a two-digit year more than 50 years
			 * ahead is in the past; 70 keeps 1970 on. */
			y += y < 70 ? 2000 : 1900;
		}
		if (lit(&p, " ") < 0)
			return -1;
	}
	if (digits(&p, 2, 2, &hh) < 0 || lit(&p, ":") < 0 ||
	    digits(&p, 2, 2, &mm) < 0 || lit(&p, ":") < 0 ||
	    digits(&p, 2, 2, &ss) < 0)
		return -1;
	if (asc) {
		if (lit(&p, " ") < 0 || digits(&p, 4, 4, &y) < 0)
			return -1;
	} else if (lit(&p, " GMT") < 0)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0')
		return -1;
	mdays = mo == 2 ?
		    ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28) :
		    30 + ((mo + (mo > 7)) & 1);
	if (y < 1970 || d < 1 || d > mdays || hh > 23 || mm > 59 || ss > 60)
		return -1;
	*out = (time_t)(days_from_civil(y, mo, d) * 86400 + hh * 3600 +
			mm * 60 + ss);
	return 0;
}

/* ---- the connection ---- */

/*
 * Waits until fd is ready for events or the request's deadline passes.
 * Returns 0 or ACME_ERR_IO (failure recorded).
 */
static int
wait_fd(struct xfer *x, int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd p = { fd, events, 0 };
		int n;

		if (left <= 0) {
			x->timed_out = 1;
			return fail(x, ACME_PROB_CONNECTION,
			    "timed out after %ld ms", x->budget_ms);
		}
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return fail(x, ACME_PROB_CONNECTION, "poll: %s",
			    strerror(errno));
	}
}

/*
 * After an SSL_* call on h->ssl returned ret: waits when OpenSSL wants to
 * read or write (0: call again), 1 when the peer closed the connection,
 * ACME_ERR_IO on failure.
 */
static int
ssl_wait(struct xfer *x, int ret, long long deadline)
{
	struct acme_http *h = x->h;
	int e = SSL_get_error(h->ssl, ret);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(x, h->fd, POLLIN, deadline);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(x, h->fd, POLLOUT, deadline);
	case SSL_ERROR_ZERO_RETURN:
		return 1;
	case SSL_ERROR_SYSCALL:
		if (errno == 0 || errno == EPIPE)
			return 1;
		ERR_clear_error();
		return fail(x, ACME_PROB_CONNECTION, "connection lost: %s",
		    strerror(errno));
	default:
		return fail(x, ACME_PROB_CONNECTION, "TLS: %s", ssl_reason());
	}
}

/* Closes the connection; a clean one gets a close_notify first. */
static void
conn_close(struct acme_http *h, int clean)
{
	if (h->ssl != NULL) {
		if (clean)
			/* Non-blocking: sends what fits, never waits. */
			SSL_shutdown(h->ssl);
		SSL_free(h->ssl);
		h->ssl = NULL;
	}
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->key[0] = '\0';
	h->ipos = h->ilen = 0;
	ERR_clear_error();
}

/*
 * Whether the idle connection can carry another request: nothing to
 * read (a TLS 1.3 ticket is read and fine), not closed by the server.
 */
static int
conn_alive(struct acme_http *h)
{
	struct pollfd p = { h->fd, POLLIN, 0 };
	unsigned char c;
	size_t n;
	int ret, ok;

	if (h->ipos < h->ilen)
		return 0; /* bytes nobody asked for */
	if (SSL_pending(h->ssl) == 0 && poll(&p, 1, 0) == 0)
		return 1;
	ret = SSL_peek_ex(h->ssl, &c, 1, &n);
	ok = ret != 1 && SSL_get_error(h->ssl, ret) == SSL_ERROR_WANT_READ;
	ERR_clear_error();
	return ok;
}

/*
 * Connects a non-blocking TCP socket to host:port, trying each address
 * with a share of the time left before deadline.  Returns the socket or
 * ACME_ERR_IO.
 */
static int
tcp_connect(struct xfer *x, const char *host, const char *port, int numeric,
    long long deadline)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, err = 0, rc, left = 0, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (numeric ? AI_NUMERICHOST : 0);
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return fail(x, ACME_PROB_CONNECTION,
		    "could not resolve host %s: %s", host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next)
		left++;
	for (ai = res; ai != NULL; ai = ai->ai_next, left--) {
		long long share = now_ms() + (deadline - now_ms()) / left;
		socklen_t sl = sizeof(err);

		fd = socket(ai->ai_family,
		    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			if (wait_fd(x, fd, POLLOUT, share) == 0 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) ==
				0 &&
			    err == 0)
				break;
			if (x->timed_out && ai->ai_next != NULL &&
			    now_ms() < deadline) {
				/* Only this address's share ran out. */
				x->timed_out = 0;
				x->why[0] = '\0';
			}
			if (x->timed_out)
				err = ETIMEDOUT;
		}
		close(fd);
		fd = -1;
		if (x->timed_out)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		x->why[0] = '\0';
		return fail(x, ACME_PROB_CONNECTION,
		    "could not connect to server %s port %s: %s", host, port,
		    err == ETIMEDOUT ? "timed out" : strerror(err));
	}
	/* An earlier address's failure is no longer the story. */
	x->why[0] = '\0';
	x->timed_out = 0;
	/* Requests are one write each; do not hold back their tail. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Sends all of [p, p + n) on the plain socket fd. */
static int
send_plain(struct xfer *x, int fd, const char *p, size_t n, long long deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w > 0) {
			p += w;
			n -= (size_t)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(x, fd, POLLOUT, deadline) < 0)
				return ACME_ERR_IO;
		} else
			return fail(x, ACME_PROB_CONNECTION, "send: %s",
			    strerror(errno));
	}
	return 0;
}

/*
 * Parses "HTTP/1.x SSS ..." at the start of l.  Returns 0 with the status
 * and minor version, or -1.
 */
static int
parse_status(const char *l, long *status, int *minor)
{
	if (strncmp(l, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)l[7]) ||
	    l[8] != ' ' || !isdigit((unsigned char)l[9]) ||
	    !isdigit((unsigned char)l[10]) || !isdigit((unsigned char)l[11]) ||
	    (l[12] != ' ' && l[12] != '\r' && l[12] != '\0'))
		return -1;
	*minor = l[7] - '0';
	*status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	return *status >= 100 && *status <= 599 ? 0 : -1;
}

/*
 * Asks the proxy on fd for a tunnel to u.  Reads the proxy's answer up to
 * its blank line and no further: what follows is TLS.
 */
static int
proxy_connect(struct xfer *x, int fd, const struct http_proxy *px,
    const struct http_url *u, long long deadline)
{
	struct acme_buf b;
	char tmp[4096];
	long status;
	int minor, rc = ACME_ERR_IO;
	const char *lb = u->is_v6 ? "[" : "", *rb = u->is_v6 ? "]" : "";

	acme_buf_init(&b, HDR_MAX);
	if (acme_buf_printf(&b,
		"CONNECT %s%s%s:%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n"
		"User-Agent: %s\r\n",
		lb, u->host, rb, u->port, lb, u->host, rb, u->port,
		x->h->user_agent) < 0 ||
	    (px->auth[0] != '\0' &&
		acme_buf_printf(&b, "Proxy-Authorization: Basic %s\r\n",
		    px->auth) < 0) ||
	    acme_buf_puts(&b, "\r\n") < 0) {
		fail(x, ACME_PROB_SERVER_INTERNAL, "out of memory");
		goto out;
	}
	if (send_plain(x, fd, b.data, b.len, deadline) < 0)
		goto out;
	acme_buf_clear(&b);
	for (;;) {
		ssize_t n = recv(fd, tmp, sizeof(tmp), MSG_PEEK);
		size_t old = b.len, take;
		char *end;

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(x, fd, POLLIN, deadline) < 0)
				goto out;
			continue;
		}
		if (n <= 0) {
			fail(x, ACME_PROB_CONNECTION,
			    "proxy %s port %s closed the connection%s%s",
			    px->host, px->port, n < 0 ? ": " : "",
			    n < 0 ? strerror(errno) : "");
			goto out;
		}
		if (acme_buf_append(&b, tmp, (size_t)n) < 0) {
			fail(x, ACME_PROB_CONNECTION,
			    "proxy response header too large");
			goto out;
		}
		if (memchr(b.data, '\0', b.len) != NULL) {
			fail(x, ACME_PROB_CONNECTION,
			    "malformed proxy response");
			goto out;
		}
		end = strstr(b.data + (old >= 3 ? old - 3 : 0), "\r\n\r\n");
		take =
		    end != NULL ? (size_t)(end + 4 - b.data) - old : (size_t)n;
		b.len = old + take;
		b.data[b.len] = '\0';
		if (recv(fd, tmp, take, 0) != (ssize_t)take) {
			fail(x, ACME_PROB_CONNECTION, "proxy: recv: %s",
			    strerror(errno));
			goto out;
		}
		if (end != NULL)
			break;
	}
	if (parse_status(b.data, &status, &minor) < 0) {
		fail(x, ACME_PROB_CONNECTION, "malformed proxy response");
		goto out;
	}
	if (status / 100 != 2) {
		fail(x, ACME_PROB_CONNECTION,
		    "proxy %s port %s refused the tunnel with status %ld%s",
		    px->host, px->port, status,
		    status == 407 ? " (proxy authentication required)" : "");
		goto out;
	}
	rc = 0;
out:
	acme_buf_release(&b);
	return rc;
}

/*
 * The socket under TLS.  OpenSSL's own socket BIO writes with write(),
 * which raises SIGPIPE on a connection the server has closed; a library
 * must not kill its caller for that, so this one sends with MSG_NOSIGNAL.
 */
static int
bio_write(BIO *b, const char *p, int n)
{
	struct acme_http *h = BIO_get_data(b);
	ssize_t w = send(h->fd, p, (size_t)n, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (w < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_write(b);
	return (int)w;
}

static int
bio_read(BIO *b, char *p, int n)
{
	struct acme_http *h = BIO_get_data(b);
	ssize_t r = recv(h->fd, p, (size_t)n, 0);

	BIO_clear_retry_flags(b);
	if (r < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		BIO_set_retry_read(b);
	if (r == 0)
		h->eof = 1;
	return (int)r;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct acme_http *h = BIO_get_data(b);

	(void)num;
	(void)ptr;
	if (cmd == BIO_CTRL_FLUSH)
		return 1;
	if (cmd == BIO_CTRL_EOF)
		return h->eof;
	return 0;
}

/*
 * The TLS handshake on h->fd for u: TLS 1.2 or later, SNI for names, the
 * peer's certificate checked against the name or the IP literal.
 */
static int
tls_connect(struct xfer *x, const struct http_url *u, long long deadline)
{
	static const unsigned char alpn[] = "\x08http/1.1";
	struct acme_http *h = x->h;
	X509_VERIFY_PARAM *vp;
	int ret;

	BIO *bio;

	h->eof = 0;
	if ((h->ssl = SSL_new(h->ctx)) == NULL ||
	    (bio = BIO_new(h->bio_meth)) == NULL)
		return fail(x, ACME_PROB_CONNECTION, "TLS: %s", ssl_reason());
	BIO_set_data(bio, h);
	BIO_set_init(bio, 1);
	SSL_set_bio(h->ssl, bio, bio);
	vp = SSL_get0_param(h->ssl);
	X509_VERIFY_PARAM_set_hostflags(vp,
	    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (u->is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, u->host) != 1 :
		       (SSL_set_tlsext_host_name(h->ssl, u->host) != 1 ||
			   X509_VERIFY_PARAM_set1_host(vp, u->host, 0) != 1))
		return fail(x, ACME_PROB_CONNECTION, "TLS: %s", ssl_reason());
	/* Returns 0 on success, unlike the rest of OpenSSL. */
	if (SSL_set_alpn_protos(h->ssl, alpn, sizeof(alpn) - 1) != 0)
		return fail(x, ACME_PROB_CONNECTION, "TLS: %s", ssl_reason());
	for (;;) {
		long v;
		int e;

		errno = 0;
		if ((ret = SSL_connect(h->ssl)) == 1)
			break;
		v = SSL_get_verify_result(h->ssl);
		e = SSL_get_error(h->ssl, ret);

		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(x, h->fd,
				e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
				deadline) < 0)
				return ACME_ERR_IO;
			continue;
		}
		if (v != X509_V_OK) {
			ERR_clear_error();
			return fail(x, ACME_PROB_TLS,
			    "TLS certificate verification failed: %s",
			    X509_verify_cert_error_string(v));
		}
		if (e == SSL_ERROR_SYSCALL) {
			ERR_clear_error();
			return fail(x, ACME_PROB_CONNECTION,
			    "TLS handshake failed: connection %s",
			    errno != 0 ? strerror(errno) :
					 "closed by the peer");
		}
		return fail(x, ACME_PROB_CONNECTION, "TLS handshake failed: %s",
		    ssl_reason());
	}
	return 0;
}

/*
 * A new connection to u, through the proxy px when not NULL, within the
 * connect time-out.  On failure the caller closes what was opened.
 */
static int
conn_open(struct xfer *x, const struct http_url *u, const struct http_proxy *px)
{
	struct acme_http *h = x->h;
	long long cd = now_ms() + h->connect_ms;
	int rc;

	if (cd >= x->deadline)
		cd = x->deadline;
	else
		x->budget_ms = h->connect_ms;
	h->fd = px != NULL ? tcp_connect(x, px->host, px->port, px->is_ip, cd) :
			     tcp_connect(x, u->host, u->port, u->is_ip, cd);
	if (h->fd < 0)
		return ACME_ERR_IO;
	rc = px != NULL ? proxy_connect(x, h->fd, px, u, cd) : 0;
	if (rc == 0)
		rc = tls_connect(x, u, cd);
	x->budget_ms = h->timeout_ms;
	return rc;
}

/*
 * Makes bytes available in h->in.  Returns 1, 0 at the end of the
 * stream, or ACME_ERR_IO.
 */
static int
fill(struct xfer *x)
{
	struct acme_http *h = x->h;
	size_t n;
	int ret, rc;

	if (h->ipos < h->ilen)
		return 1;
	h->ipos = h->ilen = 0;
	if (h->mem != NULL) {
		n = h->memlen < h->step ? h->memlen : h->step;
		memcpy(h->in, h->mem, n);
		h->mem += n;
		h->memlen -= n;
		h->ilen = n;
		x->got |= n > 0;
		return n > 0;
	}
	for (;;) {
		errno = 0;
		ret = SSL_read_ex(h->ssl, h->in, sizeof(h->in), &n);
		if (ret == 1) {
			h->ilen = n;
			x->got = 1;
			return 1;
		}
		if ((rc = ssl_wait(x, ret, x->deadline)) != 0)
			return rc == 1 ? 0 : rc;
	}
}

/*
 * Appends one line to b (which caps the header block); it starts at
 * *start, without its CR LF.  toobig says which cap b enforces.
 */
static int
read_line(struct xfer *x, struct acme_buf *b, size_t *start, const char *toobig)
{
	struct acme_http *h = x->h;
	unsigned char *p, *nl;
	size_t take;
	int rc;

	*start = b->len;
	do {
		if ((rc = fill(x)) < 0)
			return rc;
		if (rc == 0)
			return fail(x, ACME_PROB_CONNECTION, "%s",
			    x->got ? "connection closed in the middle of the "
				     "response" :
				     "connection closed before a response");
		p = h->in + h->ipos;
		nl = memchr(p, '\n', h->ilen - h->ipos);
		take = nl != NULL ? (size_t)(nl - p) + 1 : h->ilen - h->ipos;
		if ((rc = acme_buf_append(b, p, take)) < 0)
			return fail(x, ACME_PROB_CONNECTION, "%s",
			    rc == ACME_ERR_LIMIT ? toobig : "out of memory");
		h->ipos += take;
	} while (nl == NULL);
	if (memchr(b->data + *start, '\0', b->len - *start) != NULL)
		return fail(x, ACME_PROB_CONNECTION,
		    "NUL in the response header");
	b->data[--b->len] = '\0';
	if (b->len > *start && b->data[b->len - 1] == '\r')
		b->data[--b->len] = '\0';
	return 0;
}

/* What a response's header says about its framing. */
struct head {
	long status;
	int minor;     /* HTTP/1.minor */
	int close;     /* the connection ends with this response */
	int chunked;   /* Transfer-Encoding: chunked */
	int have_clen; /* Content-Length seen */
	size_t clen;   /* saturates at SIZE_MAX */
};

static void
copy_value(char *out, size_t size, const char *v, size_t len)
{
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	if (len >= size)
		len = size - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

/* Each link of a Link value (RFC 8288: comma-separated) as one entry. */
static void
add_links(struct acme_http_resp *r, const char *v)
{
	const char *p = v, *s;
	int inq, inb;

	while (*p != '\0' && r->nlinks < ACME_HTTP_MAX_LINKS) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		inq = inb = 0;
		for (s = p; *p != '\0'; p++) {
			if (inq) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '"')
					inq = 0;
			} else if (*p == '"')
				inq = 1;
			else if (*p == '<')
				inb = 1;
			else if (*p == '>')
				inb = 0;
			else if (*p == ',' && !inb)
				break;
		}
		if (p > s)
			copy_value(r->links[r->nlinks++], sizeof(r->links[0]),
			    s, (size_t)(p - s));
	}
}

static void
set_retry_after(struct acme_http_resp *r, const char *v)
{
	const char *p;
	time_t when, now;
	long s = 0;

	for (p = v; isdigit((unsigned char)*p); p++)
		s = s > (LONG_MAX - 9) / 10 ? LONG_MAX : s * 10 + (*p - '0');
	if (p != v && *p == '\0') {
		r->retry_after = s;
		return;
	}
	/* An HTTP-date (RFC 9110 10.2.3): seconds from now. */
	if (http_parse_date(v, &when) == 0) {
		now = time(NULL);
		r->retry_after = when > now ? (long)(when - now) : 0;
	}
}

/* 1 for a token character of a field name (RFC 9110 5.6.2). */
static int
tchar(int c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/*
 * One header line l (n bytes, no CR LF; changed in place).  The fields
 * ACME needs go into r, framing into hd; r NULL for an interim (1xx)
 * response, whose fields are only checked.
 */
static int
header(struct xfer *x, char *l, size_t n, struct head *hd,
    struct acme_http_resp *r)
{
	char *colon = memchr(l, ':', n), *v, *e, *p;
	size_t nl;

	if (colon == NULL || colon == l)
		return fail(x, ACME_PROB_CONNECTION,
		    "malformed response header");
	/* No space before the colon; no obsolete line folding. */
	for (p = l; p < colon; p++)
		if (!tchar((unsigned char)*p))
			return fail(x, ACME_PROB_CONNECTION,
			    "malformed response header");
	nl = (size_t)(colon - l);
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (e = l + n; e > v && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	*e = '\0';
	if (r == NULL)
		return 0;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(l, name, nl) == 0)
	if (IS("Content-Length")) {
		size_t len = 0;

		if (*v == '\0')
			return fail(x, ACME_PROB_CONNECTION,
			    "malformed Content-Length");
		for (p = v; *p != '\0'; p++) {
			if (!isdigit((unsigned char)*p))
				return fail(x, ACME_PROB_CONNECTION,
				    "malformed Content-Length");
			len = len > (SIZE_MAX - 9) / 10 ?
				  SIZE_MAX :
				  len * 10 + (size_t)(*p - '0');
		}
		if (hd->have_clen && hd->clen != len)
			return fail(x, ACME_PROB_CONNECTION,
			    "conflicting Content-Length");
		hd->have_clen = 1;
		hd->clen = len;
	} else if (IS("Transfer-Encoding")) {
		/* We ask for no coding; chunked is the only one allowed. */
		if (strcasecmp(v, "chunked") != 0 || hd->chunked)
			return fail(x, ACME_PROB_CONNECTION,
			    "unsupported Transfer-Encoding %.40s", v);
		hd->chunked = 1;
	} else if (IS("Connection")) {
		for (p = v; *p != '\0';) {
			size_t tl = strcspn(p, ", \t");

			if (tl == 5 && strncasecmp(p, "close", 5) == 0)
				hd->close = 1;
			p += tl;
			p += strspn(p, ", \t");
		}
	} else if (IS("Replay-Nonce"))
		copy_value(r->nonce, sizeof(r->nonce), v, strlen(v));
	else if (IS("Location"))
		copy_value(r->location, sizeof(r->location), v, strlen(v));
	else if (IS("Content-Type"))
		copy_value(r->content_type, sizeof(r->content_type), v,
		    strlen(v));
	else if (IS("Link"))
		add_links(r, v);
	else if (IS("Retry-After"))
		set_retry_after(r, v);
#undef IS
	return 0;
}

/*
 * Reads the status line and header of the final response into hd and r,
 * skipping interim (1xx) responses.  All of it counts against HDR_MAX.
 */
static int
read_head(struct xfer *x, struct head *hd, struct acme_http_resp *r)
{
	struct acme_buf b;
	size_t start;
	int rc = ACME_ERR_IO;

	acme_buf_init(&b, HDR_MAX);
	do {
		memset(hd, 0, sizeof(*hd));
		if (read_line(x, &b, &start, "response header too large") < 0)
			goto out;
		if (parse_status(b.data + start, &hd->status, &hd->minor) < 0) {
			fail(x, ACME_PROB_CONNECTION, "malformed status line");
			goto out;
		}
		if (hd->status == 101) {
			fail(x, ACME_PROB_CONNECTION, "unexpected status 101");
			goto out;
		}
		for (;;) {
			if (read_line(x, &b, &start,
				"response header too large") < 0)
				goto out;
			if (b.len == start)
				break;
			if (header(x, b.data + start, b.len - start, hd,
				hd->status >= 200 ? r : NULL) < 0)
				goto out;
		}
	} while (hd->status < 200);
	rc = 0;
out:
	acme_buf_release(&b);
	return rc;
}

/* Adds body bytes, failing cleanly at ACME_HTTP_MAX_BODY. */
static int
body_append(struct xfer *x, struct acme_buf *b, const void *p, size_t n)
{
	int rc = acme_buf_append(b, p, n);

	if (rc == 0)
		return 0;
	return fail(x, ACME_PROB_CONNECTION, "%s",
	    rc == ACME_ERR_LIMIT ? "response too large" : "out of memory");
}

/* Reads exactly n body bytes into b. */
static int
read_n(struct xfer *x, struct acme_buf *b, size_t n)
{
	struct acme_http *h = x->h;

	if (n > b->max - b->len)
		return fail(x, ACME_PROB_CONNECTION, "response too large");
	while (n > 0) {
		size_t take;
		int rc = fill(x);

		if (rc < 0)
			return rc;
		if (rc == 0)
			return fail(x, ACME_PROB_CONNECTION,
			    "connection closed before the end of the response");
		take = h->ilen - h->ipos < n ? h->ilen - h->ipos : n;
		if (body_append(x, b, h->in + h->ipos, take) < 0)
			return ACME_ERR_IO;
		h->ipos += take;
		n -= take;
	}
	return 0;
}

/* A chunked body (RFC 9112 7.1) into b; trailers are read and dropped. */
static int
read_chunked(struct xfer *x, struct acme_buf *b)
{
	struct acme_buf l;
	size_t start, size;
	const char *p;
	int rc = ACME_ERR_IO;

	acme_buf_init(&l, HDR_MAX);
	for (;;) {
		acme_buf_clear(&l);
		if (read_line(x, &l, &start, "chunk header too large") < 0)
			goto out;
		for (p = l.data, size = 0; isxdigit((unsigned char)*p); p++) {
			if (size > ACME_HTTP_MAX_BODY) {
				fail(x, ACME_PROB_CONNECTION,
				    "response too large");
				goto out;
			}
			size =
			    size * 16 +
			    (size_t)(isdigit((unsigned char)*p) ?
					 *p - '0' :
					 tolower((unsigned char)*p) - 'a' + 10);
		}
		if (p == l.data ||
		    (*p != '\0' && *p != ';' && *p != ' ' && *p != '\t')) {
			fail(x, ACME_PROB_CONNECTION, "malformed chunk");
			goto out;
		}
		if (size == 0)
			break;
		if (read_n(x, b, size) < 0)
			goto out;
		acme_buf_clear(&l);
		if (read_line(x, &l, &start, "chunk header too large") < 0)
			goto out;
		if (l.len != 0) {
			fail(x, ACME_PROB_CONNECTION, "malformed chunk");
			goto out;
		}
	}
	acme_buf_clear(&l);
	do
		if (read_line(x, &l, &start, "response trailer too large") < 0)
			goto out;
	while (l.len > start);
	rc = 0;
out:
	acme_buf_release(&l);
	return rc;
}

/* A body that ends when the server closes the connection. */
static int
read_to_close(struct xfer *x, struct acme_buf *b)
{
	struct acme_http *h = x->h;
	int rc;

	while ((rc = fill(x)) == 1) {
		if (body_append(x, b, h->in + h->ipos, h->ilen - h->ipos) < 0)
			return ACME_ERR_IO;
		h->ipos = h->ilen;
	}
	return rc;
}

/*
 * Reads one response to a request made with method into r.  Closes the
 * connection afterwards when the response says so.
 */
static int
read_response(struct xfer *x, const char *method, struct acme_http_resp *r)
{
	struct head hd;
	struct acme_buf b;
	int rc = ACME_ERR_IO;

	acme_buf_init(&b, ACME_HTTP_MAX_BODY);
	if (read_head(x, &hd, r) < 0)
		goto out;
	r->status = hd.status;
	if (hd.minor == 0)
		hd.close = 1;
	if (strcmp(method, "HEAD") == 0 || hd.status == 204 || hd.status == 304)
		; /* no body, whatever Content-Length says */
	else if (hd.chunked) {
		/* With Content-Length too, the framing is suspect. */
		hd.close |= hd.have_clen;
		if (read_chunked(x, &b) < 0)
			goto out;
	} else if (hd.have_clen) {
		if (read_n(x, &b, hd.clen) < 0)
			goto out;
	} else {
		hd.close = 1;
		if (read_to_close(x, &b) < 0)
			goto out;
	}
	if ((r->body = acme_buf_detach(&b, &r->len)) == NULL) {
		fail(x, ACME_PROB_SERVER_INTERNAL, "out of memory");
		goto out;
	}
	if (hd.close)
		conn_close(x->h, 1);
	rc = 0;
out:
	acme_buf_release(&b);
	return rc;
}

/*
 * Sends the request q on the open connection and reads the response into
 * r.  Closes the connection afterwards when the response says so.
 */
static int
exchange(struct xfer *x, const char *method, const struct acme_buf *q,
    struct acme_http_resp *r)
{
	struct acme_http *h = x->h;
	size_t off = 0, w;
	int ret;

	while (off < q->len) {
		/* A retry after WANT_WRITE repeats the same arguments. */
		errno = 0;
		ret = SSL_write_ex(h->ssl, q->data + off, q->len - off, &w);
		if (ret == 1) {
			off += w;
			continue;
		}
		if ((ret = ssl_wait(x, ret, x->deadline)) == 1)
			fail(x, ACME_PROB_CONNECTION,
			    "connection closed while sending the request");
		if (ret != 0)
			return ACME_ERR_IO;
	}
	return read_response(x, method, r);
}

/* The request line, headers and body of one request, into q. */
static int
build_request(struct xfer *x, struct acme_buf *q, const char *method,
    const struct http_url *u, const char *body, size_t len)
{
	int post = strcmp(method, "POST") == 0, dflt;
	const char *lb = u->is_v6 ? "[" : "", *rb = u->is_v6 ? "]" : "";

	if (!post && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return fail(x, ACME_PROB_CONNECTION, "unsupported method");
	if (u->pathlen > REQ_HDR_MAX / 2)
		return fail(x, ACME_PROB_CONNECTION, "URL too long");
	if (!post)
		len = 0;
	acme_buf_init(q,
	    len > SIZE_MAX - REQ_HDR_MAX ? SIZE_MAX : REQ_HDR_MAX + len);
	dflt = strcmp(u->port, "443") == 0;
	if (acme_buf_printf(q,
		"%s %s%.*s HTTP/1.1\r\nHost: %s%s%s%s%s\r\n"
		"User-Agent: %s\r\nAccept-Language: en\r\n",
		method, u->pathlen == 0 || u->path[0] == '?' ? "/" : "",
		(int)u->pathlen, u->path, lb, u->host, rb, dflt ? "" : ":",
		dflt ? "" : u->port, x->h->user_agent) < 0 ||
	    (post && acme_buf_printf(q,
			 "Content-Type: application/jose+json\r\n"
			 "Content-Length: %zu\r\n",
			 len) < 0) ||
	    acme_buf_puts(q, "\r\n") < 0 ||
	    (len > 0 && acme_buf_append(q, body, len) < 0))
		return fail(x, ACME_PROB_SERVER_INTERNAL, "out of memory");
	return 0;
}

/*
 * The proxy for u from https_proxy / HTTPS_PROXY, unless no_proxy /
 * NO_PROXY lists u's host: *via is px or NULL.
 */
static int
proxy_for(struct xfer *x, const struct http_url *u, struct http_proxy *px,
    const struct http_proxy **via)
{
	const char *s = getenv("https_proxy"), *np = getenv("no_proxy");
	char why[200];

	*via = NULL;
	if (s == NULL || *s == '\0')
		s = getenv("HTTPS_PROXY");
	if (np == NULL || *np == '\0')
		np = getenv("NO_PROXY");
	if (s == NULL || *s == '\0' ||
	    (np != NULL && http_no_proxy(np, u->host)))
		return 0;
	if (http_parse_proxy(s, px, why, sizeof(why)) < 0)
		return fail(x, ACME_PROB_CONNECTION, "https_proxy: %s", why);
	*via = px;
	return 0;
}

struct acme_http *
acme_http_new(const char *ca_bundle, const char *user_agent)
{
	struct acme_http *h = calloc(1, sizeof(*h));
	const char *t = getenv(TIMEOUT_ENV), *p;
	FILE *f;

	if (h == NULL)
		return NULL;
	h->fd = -1;
	h->timeout_ms = REQUEST_MS;
	if (t != NULL && *t != '\0') {
		char *end;
		long v = strtol(t, &end, 10);

		if (*end == '\0' && v > 0 && v <= TIMEOUT_ENVMAX)
			h->timeout_ms = v;
	}
	h->connect_ms = h->timeout_ms < CONNECT_MS ? h->timeout_ms : CONNECT_MS;
	for (p = user_agent; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			goto fail;
	if ((h->user_agent = strdup(user_agent)) == NULL ||
	    (h->bio_meth =
		    BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
			"anvil socket")) == NULL ||
	    BIO_meth_set_write(h->bio_meth, bio_write) != 1 ||
	    BIO_meth_set_read(h->bio_meth, bio_read) != 1 ||
	    BIO_meth_set_ctrl(h->bio_meth, bio_ctrl) != 1 ||
	    (h->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(h->ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_verify(h->ctx, SSL_VERIFY_PEER, NULL);
	/* A body read to the close needs no close_notify (as browsers). */
	SSL_CTX_set_options(h->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Problems with the trust store are reported by each request. */
	if (ca_bundle != NULL && (f = fopen(ca_bundle, "re")) == NULL)
		snprintf(h->ctx_err, sizeof(h->ctx_err),
		    "cannot read CA bundle %.200s: %s", ca_bundle,
		    strerror(errno));
	else if (ca_bundle != NULL) {
		fclose(f);
		if (SSL_CTX_load_verify_locations(h->ctx, ca_bundle, NULL) != 1)
			snprintf(h->ctx_err, sizeof(h->ctx_err),
			    "cannot load CA bundle %.200s: %s", ca_bundle,
			    ssl_reason());
	} else if (SSL_CTX_set_default_verify_paths(h->ctx) != 1)
		snprintf(h->ctx_err, sizeof(h->ctx_err),
		    "cannot load the system's CA certificates: %s",
		    ssl_reason());
	if (h->ctx_err[0] != '\0') {
		SSL_CTX_free(h->ctx);
		h->ctx = NULL;
	}
	ERR_clear_error();
	return h;
fail:
	acme_http_free(h);
	ERR_clear_error();
	return NULL;
}

void
acme_http_free(struct acme_http *h)
{
	if (h == NULL)
		return;
	conn_close(h, 1);
	SSL_CTX_free(h->ctx);
	BIO_meth_free(h->bio_meth);
	free(h->user_agent);
	free(h);
}

void
acme_http_resp_release(struct acme_http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

int
acme_http_request(struct acme_http *h, const char *method, const char *url,
    const char *body, size_t len, struct acme_http_resp *r,
    struct acme_problem *prob)
{
	struct xfer x;
	struct http_url u;
	struct http_proxy px;
	const struct http_proxy *via = NULL;
	struct acme_buf q;
	char key[sizeof(h->key)];
	int rc = ACME_ERR_IO, attempt, reused;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	memset(&x, 0, sizeof(x));
	x.h = h;
	x.budget_ms = h->timeout_ms;
	x.deadline = now_ms() + h->timeout_ms;
	acme_buf_init(&q, 0);
	ERR_clear_error();
	if (h->ctx == NULL) {
		fail(&x, ACME_PROB_CONNECTION, "%s", h->ctx_err);
		goto out;
	}
	if (http_parse_url(url, &u, x.why, sizeof(x.why)) < 0) {
		x.type = ACME_PROB_CONNECTION;
		goto out;
	}
	if (proxy_for(&x, &u, &px, &via) < 0 ||
	    build_request(&x, &q, method, &u, body, len) < 0)
		goto out;
	snprintf(key, sizeof(key), "%s %s %s %s", u.host, u.port,
	    via != NULL ? via->host : "", via != NULL ? via->port : "");
	for (attempt = 0;; attempt++) {
		reused =
		    h->ssl != NULL && strcmp(h->key, key) == 0 && conn_alive(h);
		if (!reused) {
			conn_close(h, h->ssl != NULL);
			if (conn_open(&x, &u, via) < 0) {
				conn_close(h, 0);
				goto out;
			}
			snprintf(h->key, sizeof(h->key), "%s", key);
		}
		x.got = 0;
		if (exchange(&x, method, &q, r) == 0)
			break;
		conn_close(h, 0);
		acme_http_resp_release(r);
		r->retry_after = -1;
		/*
		 * A kept-alive connection that the server had closed fails
		 * before any answer: send once more on a new one.  Never
		 * after part of an answer, which may have been acted on.
		 */
		if (!reused || x.got || x.timed_out || attempt > 0)
			goto out;
		x.why[0] = '\0';
	}
	rc = 0;
out:
	acme_buf_release(&q);
	if (rc != 0)
		acme_problem_set(prob, x.type, "%s %.300s: %s", method, url,
		    x.why);
	return rc;
}

/*
 * RFC 8288 section 3: link-value = "<" URI-Reference ">" *( OWS ";" OWS
 * link-param ), link-param = token BWS [ "=" BWS ( token /
 * quoted-string ) ].  Copies the value of the first parameter named
 * name (case-insensitive; later ones are ignored, section 3.3) into
 * out, unquoted; 0, or -1 when there is none or it does not fit.
 */
static int
link_param(const char *p, const char *name, char *out, size_t outsz)
{
	size_t nlen = strlen(name), o;
	const char *n0;

	while (*p != '\0') {
		while (*p != '\0' && *p != ';')
			p++;
		if (*p == '\0')
			return -1;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		n0 = p;
		while (tchar((unsigned char)*p))
			p++;
		{
			size_t len = (size_t)(p - n0);

			while (*p == ' ' || *p == '\t')
				p++;
			if (*p != '=')
				continue;
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (len != nlen || strncasecmp(n0, name, nlen) != 0) {
				/* Skip this value, quoted or not. */
				if (*p == '"')
					for (p++; *p != '\0' && *p != '"'; p++)
						if (*p == '\\' && p[1] != '\0')
							p++;
				continue;
			}
		}
		o = 0;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (o + 1 >= outsz)
					return -1;
				out[o++] = *p;
			}
		} else
			for (; tchar((unsigned char)*p); p++) {
				if (o + 1 >= outsz)
					return -1;
				out[o++] = *p;
			}
		out[o] = '\0';
		return 0;
	}
	return -1;
}

/* 1 when the space-separated relation types in rels include rel. */
static int
has_rel(const char *rels, const char *rel)
{
	size_t n = strlen(rel), len;

	while (*rels != '\0') {
		while (*rels == ' ' || *rels == '\t')
			rels++;
		len = strcspn(rels, " \t");
		if (len == n && strncasecmp(rels, rel, n) == 0)
			return 1;
		rels += len;
	}
	return 0;
}

const char *
acme_http_link(const struct acme_http_resp *r, const char *rel, size_t skip,
    char *out, size_t outsz)
{
	char rels[256];
	size_t i;

	for (i = 0; i < r->nlinks; i++) {
		const char *l = r->links[i], *gt;

		while (*l == ' ' || *l == '\t')
			l++;
		if (*l != '<' || (gt = strchr(l, '>')) == NULL ||
		    link_param(gt + 1, "rel", rels, sizeof(rels)) != 0 ||
		    !has_rel(rels, rel))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		if ((size_t)(gt - l - 1) >= outsz)
			return NULL;
		memcpy(out, l + 1, (size_t)(gt - l - 1));
		out[gt - l - 1] = '\0';
		return out;
	}
	return NULL;
}

int
http_parse_response(const void *buf, size_t len, size_t step,
    const char *method, struct acme_http_resp *r, char *why, size_t whysz)
{
	struct acme_http h = { 0 };
	struct xfer x = { 0 };
	int rc;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	h.fd = -1;
	h.mem = buf;
	h.memlen = len;
	h.step = step == 0 || step > sizeof(h.in) ? sizeof(h.in) : step;
	x.h = &h;
	if ((rc = read_response(&x, method, r)) < 0) {
		snprintf(why, whysz, "%s", x.why);
		acme_http_resp_release(r);
	}
	return rc;
}

/* RFC 3986 5.2.4: path without "." and ".." segments, in place. */
static void
remove_dots(char *path)
{
	char *in = path, *out = path;

	while (*in != '\0') {
		if (strncmp(in, "../", 3) == 0)
			in += 3;
		else if (strncmp(in, "./", 2) == 0)
			in += 2;
		else if (strncmp(in, "/./", 3) == 0)
			in += 2;
		else if (strcmp(in, "/.") == 0)
			in[1] = '\0';
		else if (strncmp(in, "/../", 4) == 0 ||
			 strcmp(in, "/..") == 0) {
			in += 3;
			if (*in == '\0')
				*--in = '/';
			else
				in[0] = '/';
			while (out > path && *--out != '/')
				;
			*out = '\0';
		} else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0)
			in += strlen(in);
		else {
			if (*in == '/')
				*out++ = *in++;
			while (*in != '\0' && *in != '/')
				*out++ = *in++;
		}
	}
	*out = '\0';
}

int
acme_http_resolve(const char *base, const char *ref, char *out, size_t outsz)
{
	char r[2048], buf[4096];
	const char *auth, *path, *p;
	size_t slen, alen, plen, q;
	int n;

	if (snprintf(r, sizeof(r), "%s", ref) >= (int)sizeof(r))
		return -1;
	/* A scheme: absolute already. */
	for (p = r;
	     isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.';
	     p++)
		;
	if (p > r && *p == ':' && isalpha((unsigned char)r[0]))
		return snprintf(out, outsz, "%s", r) < (int)outsz ? 0 : -1;
	if ((auth = strstr(base, "://")) == NULL)
		return -1;
	slen = (size_t)(auth - base); /* scheme */
	auth += 3;
	alen = strcspn(auth, "/?#");
	path = auth + alen;
	plen = strcspn(path, "?#");
	if (strncmp(r, "//", 2) == 0)
		n = snprintf(buf, sizeof(buf), "%.*s:%s", (int)slen, base, r);
	else if (r[0] == '/')
		n = snprintf(buf, sizeof(buf), "%.*s%s", (int)(path - base),
		    base, r);
	else if (r[0] == '?' || r[0] == '\0')
		n = snprintf(buf, sizeof(buf), "%.*s%s",
		    (int)(path + plen - base), base, r);
	else {
		/* Merge: the base path up to its last "/", then ref. */
		const char *slash = path;

		for (p = path; p < path + plen; p++)
			if (*p == '/')
				slash = p + 1;
		if (slash == path) /* no path: RFC 3986 5.2.3 */
			n = snprintf(buf, sizeof(buf), "%.*s/%s",
			    (int)(path - base), base, r);
		else
			n = snprintf(buf, sizeof(buf), "%.*s%s",
			    (int)(slash - base), base, r);
	}
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	/* Dots only in the path: between the authority and ? or #. */
	p = buf + (auth - base) + alen;
	q = strcspn(p, "?#");
	{
		char tail[4096], *pp = (char *)(uintptr_t)p;

		snprintf(tail, sizeof(tail), "%s", p + q);
		pp[q] = '\0';
		remove_dots(pp);
		if (snprintf(out, outsz, "%s%s", buf, tail) >= (int)outsz)
			return -1;
	}
	return 0;
}
