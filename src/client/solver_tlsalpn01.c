/* SPDX-License-Identifier: ISC */
/*
 * tls-alpn-01 (RFC 8737) from a built-in TLS responder: for each
 * identifier a self-signed certificate with that single subjectAltName
 * and a critical acmeIdentifier extension holding SHA-256 of the key
 * authorization, chosen by SNI; only ALPN "acme-tls/1" is accepted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <anvil/err.h>
#include <anvil/key.h>

#include "responder.h"
#include "solver.h"

#include "internal.h"

#define MAX_CERTS 64

struct alpn {
	struct responder *r;
	pthread_mutex_t lock;
	SSL_CTX *ctx;
	EVP_PKEY *key; /* one key for every challenge certificate */
	struct {
		char name[256]; /* the SNI it answers */
		char token[130];
		X509 *cert;
	} tab[MAX_CERTS];
	size_t n;
};

/*
 * The SNI of an identifier: the name, or the reverse name of an IP
 * address (RFC 8738 section 6: in-addr.arpa, or ip6.arpa nibbles).
 */
static void
sni_of(const char *value, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char a[16];
	size_t o = 0;
	int i;

	if (inet_pton(AF_INET, value, a) == 1)
		snprintf(out, size, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
	else if (inet_pton(AF_INET6, value, a) == 1 && size >= 73) {
		for (i = 15; i >= 0; i--) {
			out[o++] = hex[a[i] & 0x0f];
			out[o++] = '.';
			out[o++] = hex[a[i] >> 4];
			out[o++] = '.';
		}
		snprintf(out + o, size - o, "ip6.arpa");
	} else
		snprintf(out, size, "%s", value);
}

static X509 *
challenge_cert(EVP_PKEY *key, const char *name, const char *keyauth)
{
	unsigned char digest[32], der[34];
	unsigned int dlen = 0;
	X509 *x = X509_new();
	X509_EXTENSION *ext = NULL;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	X509V3_CTX v3;
	X509_EXTENSION *san;
	char sanval[300];
	unsigned char a[16];
	time_t now = time(NULL), end = now + 7 * 86400;
	int ok = 0;

	if (x == NULL || os == NULL || oid == NULL)
		goto out;
	EVP_Digest(keyauth, strlen(keyauth), digest, &dlen, EVP_sha256(), NULL);
	der[0] = 0x04; /* OCTET STRING of 32 bytes, DER */
	der[1] = 0x20;
	memcpy(der + 2, digest, 32);
	if (!ASN1_OCTET_STRING_set(os, der, sizeof(der)) ||
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 1, os)) == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)now);
	X509_time_adj_ex(X509_getm_notBefore(x), 0, -3600, &now);
	X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &end);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"acme tls-alpn-01", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, key);
	snprintf(sanval, sizeof(sanval), "%s:%s",
	    inet_pton(AF_INET, name, a) == 1 ||
		    inet_pton(AF_INET6, name, a) == 1 ?
		"IP" :
		"DNS",
	    name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if ((san = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
		 sanval)) == NULL)
		goto out;
	X509_add_ext(x, san, -1);
	X509_EXTENSION_free(san);
	X509_add_ext(x, ext, -1);
	ok = X509_sign(x, key, EVP_sha256()) > 0;
out:
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	if (!ok) {
		X509_free(x);
		ERR_clear_error();
		return NULL;
	}
	return x;
}

static int
on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int i = 0;

	(void)ssl;
	(void)arg;
	while (i < inlen) {
		unsigned int n = in[i];

		if (n == 10 && i + 1 + n <= inlen &&
		    memcmp(in + i + 1, "acme-tls/1", 10) == 0) {
			*out = in + i + 1;
			*outlen = 10;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int
on_sni(SSL *ssl, int *alert, void *arg)
{
	struct alpn *a = arg;
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	size_t i;
	int rc = SSL_TLSEXT_ERR_ALERT_FATAL;

	(void)alert;
	if (sni == NULL)
		return rc;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->n; i++)
		if (strcasecmp(a->tab[i].name, sni) == 0 &&
		    SSL_use_certificate(ssl, a->tab[i].cert) == 1 &&
		    SSL_use_PrivateKey(ssl, a->key) == 1) {
			rc = SSL_TLSEXT_ERR_OK;
			break;
		}
	pthread_mutex_unlock(&a->lock);
	return rc;
}

/*
 * One handshake on a non-blocking socket, within the connection's
 * deadline; the certificate is picked by on_sni().
 */
static void
alpn_serve(void *arg, const struct responder_conn *c)
{
	struct alpn *a = arg;
	SSL *ssl;
	int rc, err;

	if ((ssl = SSL_new(a->ctx)) == NULL || SSL_set_fd(ssl, c->fd) != 1)
		goto out;
	for (;;) {
		if ((rc = SSL_accept(ssl)) == 1) {
			SSL_shutdown(ssl); /* once: no wait for the peer's */
			break;
		}
		err = SSL_get_error(ssl, rc);
		if ((err != SSL_ERROR_WANT_READ &&
			err != SSL_ERROR_WANT_WRITE) ||
		    responder_wait(c,
			err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT) != 0)
			break;
	}
out:
	SSL_free(ssl);
	ERR_clear_error();
}

static int
alpn_publish(struct solver *s, const char *name, const char *token,
    const char *keyauth, struct acme_problem *prob)
{
	struct alpn *a = s->ctx;
	X509 *x = challenge_cert(a->key, name, keyauth);

	if (x == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot make the tls-alpn-01 certificate");
	pthread_mutex_lock(&a->lock);
	if (a->n >= MAX_CERTS) {
		pthread_mutex_unlock(&a->lock);
		X509_free(x);
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "too many challenges at once");
	}
	sni_of(name, a->tab[a->n].name, sizeof(a->tab[0].name));
	snprintf(a->tab[a->n].token, sizeof(a->tab[0].token), "%s", token);
	a->tab[a->n].cert = x;
	a->n++;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static void
alpn_unpublish(struct solver *s, const char *name, const char *token)
{
	struct alpn *a = s->ctx;
	size_t i;

	(void)name;
	pthread_mutex_lock(&a->lock);
	for (i = 0; i < a->n; i++)
		if (strcmp(a->tab[i].token, token) == 0) {
			X509_free(a->tab[i].cert);
			a->tab[i] = a->tab[--a->n];
			break;
		}
	pthread_mutex_unlock(&a->lock);
}

static void
alpn_close(struct solver *s)
{
	struct alpn *a = s->ctx;
	size_t i;

	responder_close(a->r);
	for (i = 0; i < a->n; i++)
		X509_free(a->tab[i].cert);
	SSL_CTX_free(a->ctx);
	EVP_PKEY_free(a->key);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int
solver_tlsalpn_open(struct solver *s, int port, struct acme_problem *prob)
{
	struct alpn *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	pthread_mutex_init(&a->lock, NULL);
	if ((a->key = acme_key_generate(ACME_KEY_EC256, prob)) == NULL ||
	    (a->ctx = SSL_CTX_new(TLS_server_method())) == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(a->ctx, TLS1_2_VERSION);
	SSL_CTX_set_alpn_select_cb(a->ctx, on_alpn, a);
	SSL_CTX_set_tlsext_servername_callback(a->ctx, on_sni);
	SSL_CTX_set_tlsext_servername_arg(a->ctx, a);
	if (responder_open(&a->r, port, "tls-alpn-01", alpn_serve, a, prob) !=
	    0)
		goto fail;
	s->type = "tls-alpn-01";
	s->publish = alpn_publish;
	s->unpublish = alpn_unpublish;
	s->close = alpn_close;
	s->ctx = a;
	return 0;
fail:
	if (a->ctx == NULL && prob != NULL && prob->type == ACME_PROB_NONE)
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot make a TLS context");
	SSL_CTX_free(a->ctx);
	EVP_PKEY_free(a->key);
	pthread_mutex_destroy(&a->lock);
	free(a);
	return ACME_ERR_IO;
}
