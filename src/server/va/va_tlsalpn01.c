/* SPDX-License-Identifier: ISC */
/*
 * tls-alpn-01 validation (RFC 8737, RFC 8738 for IP identifiers): a TLS
 * handshake to the resolved address with SNI naming the identifier and
 * ALPN offering only "acme-tls/1"; the certificate presented must carry
 * exactly one subjectAltName, the identifier, and a critical
 * acmeIdentifier extension (1.3.6.1.5.5.7.1.31) holding an OCTET STRING
 * with SHA-256 of the key authorization.  TLS 1.2 at least; the
 * certificate itself is not otherwise verified.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <anvil/err.h>
#include <anvil/x509.h>

#include "addrfilter.h"
#include "va.h"

#include "internal.h"

/* connect_to()'s answer when the deadline passed first. */
#define TIMED_OUT (-2)
/* Characters each byte of an IPv6 address adds to its ip6.arpa name:
 * two nibbles, each and a dot. */
#define NIBBLE_LABELS 4
/* Bytes of the SNI sent: any DNS name (DNS_NAME_MAX) and an ip6.arpa
 * name (73) fit, with the NUL. */
#define SNI_MAX (DNS_NAME_MAX + 1)
/* The ALPN protocol of tls-alpn-01 (RFC 8737 6.2). */
#define ACME_TLS_1 "acme-tls/1"

static const unsigned char alpn[] = "\x0a"
				    "acme-tls/1";

/*
 * Waits until fd is ready for events or deadline passes.  Returns 1
 * when ready, 0 when the time ran out, -1 on a poll error.
 */
static int
wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd;
	int n, left;

	for (;;) {
		if ((left = va_time_left(deadline)) == 0)
			return 0;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, left);
		if (n >= 0)
			return n > 0 ? 1 : 0;
		if (errno != EINTR)
			return -1;
	}
}

/*
 * TCP connect before deadline.  Returns a non-blocking socket, -1 on
 * failure, or TIMED_OUT when the time ran out.
 */
static int
connect_to(const char *addr, int port, long long deadline)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	const struct sockaddr *sa;
	socklen_t len;
	int family, fd, err = 0, w;
	socklen_t elen = sizeof(err);

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		sa = (const struct sockaddr *)&sin;
		len = sizeof(sin);
	} else if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		sa = (const struct sockaddr *)&sin6;
		len = sizeof(sin6);
	} else
		return -1;
	/* family from its own variable: no read of what was written
	 * through another type (review finding 10). */
	if ((fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) == -1)
		return -1;
	if (connect(fd, sa, len) != 0) {
		if (errno != EINPROGRESS)
			goto fail;
		if ((w = wait_fd(fd, POLLOUT, deadline)) != 1) {
			close(fd);
			return w == 0 ? TIMED_OUT : -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 ||
		    err != 0)
			goto fail;
	}
	/* The handshake below stays non-blocking, under the deadline. */
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * The TLS handshake on ssl's non-blocking socket fd, before deadline
 * (D53): a peer that sends a byte now and then cannot stretch it.
 * Returns 1 when done, 0 when the time ran out, -1 when it failed.
 */
static int
handshake(SSL *ssl, int fd, long long deadline)
{
	int r, w;

	for (;;) {
		if ((r = SSL_connect(ssl)) == 1)
			return 1;
		switch (SSL_get_error(ssl, r)) {
		case SSL_ERROR_WANT_READ:
			w = wait_fd(fd, POLLIN, deadline);
			break;
		case SSL_ERROR_WANT_WRITE:
			w = wait_fd(fd, POLLOUT, deadline);
			break;
		default:
			return -1;
		}
		if (w != 1)
			return w == 0 ? 0 : -1;
	}
}

/* The SNI for an identifier: the name, or the reverse name of an IP. */
static void
sni_for(const char *value, char *out, size_t size)
{
	unsigned char a[IPV6_LEN];
	size_t o = 0;
	int i;

	if (inet_pton(AF_INET, value, a) == 1) {
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
		return;
	}
	if (inet_pton(AF_INET6, value, a) == 1) {
		static const char hex[] = "0123456789abcdef";

		for (i = IPV6_LEN - 1; i >= 0 && o + NIBBLE_LABELS < size;
		     i--) {
			out[o++] = hex[a[i] & 0xf];
			out[o++] = '.';
			out[o++] = hex[a[i] >> 4];
			out[o++] = '.';
		}
		snprintf(out + o, size - o, "ip6.arpa");
		return;
	}
	snprintf(out, size, "%s", value);
}

/* The identifier type of value: an IP address or a DNS name. */
static enum acme_ident_type
ident_type(const char *value)
{
	unsigned char a[IPV6_LEN];

	if (inet_pton(AF_INET, value, a) == 1 ||
	    inet_pton(AF_INET6, value, a) == 1)
		return ACME_IDENT_IP;
	return ACME_IDENT_DNS;
}

/*
 * The certificate names exactly the identifier (value) in its one
 * subjectAltName entry, of the identifier's type: a dNSName for a name,
 * an iPAddress for an address (RFC 8737 3, RFC 8738 6).
 */
static int
check_cert(X509 *cert, const char *value, const char *keyauth,
    struct acme_problem *prob)
{
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	GENERAL_NAMES *gens =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	enum acme_ident_type want = ident_type(value);
	struct acme_ident *sans = NULL;
	const ASN1_OCTET_STRING *ext_data;
	ASN1_OCTET_STRING *inner = NULL;
	const unsigned char *p;
	unsigned char digest[SHA256_DIGEST_LENGTH];
	unsigned int dlen = 0;
	X509_EXTENSION *ext;
	size_t n = 0;
	int idx, rc = ACME_ERR_VERIFY;

	if (gens == NULL || sk_GENERAL_NAME_num(gens) != 1 ||
	    acme_x509_sans(cert, &sans, &n) != 0 || n != 1 ||
	    sans[0].type != want || strcmp(sans[0].value, value) != 0) {
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "the certificate must name exactly %.200s as its only "
		    "subjectAltName, as %s",
		    value,
		    want == ACME_IDENT_IP ? "an iPAddress" : "a dNSName");
		goto out;
	}
	idx = oid != NULL ? X509_get_ext_by_OBJ(cert, oid, -1) : -1;
	if (idx < 0 || (ext = X509_get_ext(cert, idx)) == NULL) {
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "the certificate has no acmeIdentifier extension");
		goto out;
	}
	if (!X509_EXTENSION_get_critical(ext) ||
	    X509_get_ext_by_OBJ(cert, oid, idx) >= 0) {
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "the acmeIdentifier extension must be critical and single");
		goto out;
	}
	ext_data = X509_EXTENSION_get_data(ext);
	p = ASN1_STRING_get0_data(ext_data);
	inner =
	    d2i_ASN1_OCTET_STRING(NULL, &p, (long)ASN1_STRING_length(ext_data));
	EVP_Digest(keyauth, strlen(keyauth), digest, &dlen, EVP_sha256(), NULL);
	if (inner == NULL ||
	    p != ASN1_STRING_get0_data(ext_data) +
		     ASN1_STRING_length(ext_data) ||
	    ASN1_STRING_length(inner) != SHA256_DIGEST_LENGTH ||
	    memcmp(ASN1_STRING_get0_data(inner), digest,
		SHA256_DIGEST_LENGTH) != 0) {
		acme_problem_set(prob, ACME_PROB_INCORRECT_RESPONSE,
		    "the acmeIdentifier extension does not hold the key "
		    "authorization digest");
		goto out;
	}
	rc = 0;
out:
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(oid);
	GENERAL_NAMES_free(gens);
	free(sans);
	return rc;
}

/* Whether any of the addresses is one the validator may connect to. */
static int
any_allowed(const struct conf *cfg, const struct va_addrs *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (conf_addr_allowed(cfg, a->addr[i]))
			return 1;
	return 0;
}

int
va_tlsalpn01(const struct conf *cfg, struct va_resolver *res,
    long long deadline, const char *value, const char *keyauth,
    struct acme_problem *prob)
{
	struct va_addrs a;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *cert = NULL;
	const unsigned char *sel = NULL;
	unsigned int sellen = 0;
	char sni[SNI_MAX];
	size_t i, refused = 0;
	int fd = -1, rc, hs;

	if ((rc = va_lookup(res, deadline, value, &a, prob)) != 0)
		return rc;
	rc = ACME_ERR_VERIFY;
	/* Refused, not unreachable: the problem says so, as http-01's. */
	if (!any_allowed(cfg, &a)) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "%.200s has no public address to validate: %s is %s", value,
		    a.n > 0 ? a.addr[0] : "-",
		    a.n > 0 ? va_addr_reserved_text(a.addr[0]) : "missing");
		goto out;
	}
	for (i = 0; i < a.n && fd < 0 && fd != TIMED_OUT; i++)
		if (conf_addr_allowed(cfg, a.addr[i]))
			fd = connect_to(a.addr[i], cfg->tls_alpn01_port,
			    deadline);
		else
			refused++;
	if (refused == a.n) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "%.200s has no public address to validate: %s is %s", value,
		    a.n > 0 ? a.addr[0] : "-",
		    a.n > 0 ? va_addr_reserved_text(a.addr[0]) : "missing");
		goto out;
	}
	if (fd < 0) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "cannot connect to %.200s port %d%s", value,
		    cfg->tls_alpn01_port,
		    fd == TIMED_OUT ? ": validation timed out" : "");
		fd = -1;
		goto out;
	}
	sni_for(value, sni, sizeof(sni));
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0 ||
	    (ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_tlsext_host_name(ssl, sni)) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot set up TLS");
		goto out;
	}
	SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
	if ((hs = handshake(ssl, fd, deadline)) == 0) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "TLS handshake with %.200s timed out (validation timeout "
		    "%d s)",
		    value, cfg->validation_timeout);
		goto out;
	}
	if (hs != 1) {
		unsigned long e = ERR_peek_last_error();

		acme_problem_set(prob, ACME_PROB_TLS,
		    "TLS handshake with %.200s failed: %s", value,
		    e != 0 ? ERR_reason_error_string(e) : "connection closed");
		goto out;
	}
	SSL_get0_alpn_selected(ssl, &sel, &sellen);
	if (sellen != LIT_LEN(ACME_TLS_1) ||
	    memcmp(sel, ACME_TLS_1, LIT_LEN(ACME_TLS_1)) != 0) {
		acme_problem_set(prob, ACME_PROB_TLS,
		    "%.200s did not negotiate ALPN acme-tls/1", value);
		goto out;
	}
	if ((cert = SSL_get1_peer_certificate(ssl)) == NULL) {
		acme_problem_set(prob, ACME_PROB_TLS,
		    "%.200s presented no certificate", value);
		goto out;
	}
	rc = check_cert(cert, value, keyauth, prob);
out:
	ERR_clear_error();
	X509_free(cert);
	if (ssl != NULL)
		SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd != -1)
		close(fd);
	return rc;
}
