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
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <anvil/err.h>
#include <anvil/x509.h>

#include "addrfilter.h"
#include "va.h"

#include "internal.h"

static const unsigned char alpn[] = "\x0a"
				    "acme-tls/1";

/* TCP connect with a deadline.  Returns the socket or -1. */
static int
connect_to(const char *addr, int port, int timeout_s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct timeval tv = { timeout_s, 0 };
	struct pollfd pfd;
	int fd, err = 0;
	socklen_t elen = sizeof(err);

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &((struct sockaddr_in *)&ss)->sin_addr) ==
	    1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, addr,
		       &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		ss.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		len = sizeof(struct sockaddr_in6);
	} else
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 &&
	    errno != EINPROGRESS)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_s * 1000) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0)
		goto fail;
	fcntl(fd, F_SETFL, 0);
	/* The handshake below is blocking, bounded by these. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
fail:
	close(fd);
	return -1;
}

/* The SNI for an identifier: the name, or the reverse name of an IP. */
static void
sni_for(const char *value, char *out, size_t size)
{
	unsigned char a[16];
	size_t o = 0;
	int i;

	if (inet_pton(AF_INET, value, a) == 1) {
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
		return;
	}
	if (inet_pton(AF_INET6, value, a) == 1) {
		static const char hex[] = "0123456789abcdef";

		for (i = 15; i >= 0 && o + 4 < size; i--) {
			out[o++] = hex[a[i] & 15];
			out[o++] = '.';
			out[o++] = hex[a[i] >> 4];
			out[o++] = '.';
		}
		snprintf(out + o, size - o, "ip6.arpa");
		return;
	}
	snprintf(out, size, "%s", value);
}

static int
check_cert(X509 *cert, const char *value, const char *keyauth,
    struct acme_problem *prob)
{
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	struct acme_ident *sans = NULL;
	const ASN1_OCTET_STRING *ext_data;
	ASN1_OCTET_STRING *inner = NULL;
	const unsigned char *p;
	unsigned char digest[32];
	unsigned int dlen = 0;
	X509_EXTENSION *ext;
	size_t n = 0;
	int idx, rc = ACME_ERR_VERIFY;

	if (acme_x509_sans(cert, &sans, &n) != 0 || n != 1 ||
	    strcmp(sans[0].value, value) != 0) {
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "the certificate must name exactly %.200s as its only "
		    "subjectAltName",
		    value);
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
	    ASN1_STRING_length(inner) != 32 ||
	    memcmp(ASN1_STRING_get0_data(inner), digest, 32) != 0) {
		acme_problem_set(prob, ACME_PROB_INCORRECT_RESPONSE,
		    "the acmeIdentifier extension does not hold the key "
		    "authorization digest");
		goto out;
	}
	rc = 0;
out:
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(oid);
	free(sans);
	return rc;
}

int
va_tlsalpn01(const struct conf *cfg, struct va_resolver *res, const char *value,
    const char *keyauth, struct acme_problem *prob)
{
	struct va_addrs a;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	X509 *cert = NULL;
	const unsigned char *sel = NULL;
	unsigned int sellen = 0;
	char sni[128];
	size_t i;
	int fd = -1, rc;

	if ((rc = va_lookup(cfg, res, value, &a, prob)) != 0)
		return rc;
	rc = ACME_ERR_VERIFY;
	for (i = 0; i < a.n && fd == -1; i++)
		if (cfg->allow_private_addresses || !va_addr_private(a.addr[i]))
			fd = connect_to(a.addr[i], cfg->tls_alpn01_port,
			    cfg->validation_timeout);
	if (fd == -1) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "cannot connect to %.200s port %d", value,
		    cfg->tls_alpn01_port);
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
	if (SSL_connect(ssl) != 1) {
		unsigned long e = ERR_peek_last_error();

		acme_problem_set(prob, ACME_PROB_TLS,
		    "TLS handshake with %.200s failed: %s", value,
		    e != 0 ? ERR_reason_error_string(e) : "connection closed");
		goto out;
	}
	SSL_get0_alpn_selected(ssl, &sel, &sellen);
	if (sellen != 10 || memcmp(sel, "acme-tls/1", 10) != 0) {
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
