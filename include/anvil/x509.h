/* SPDX-License-Identifier: ISC */
/*
 * X.509 certificates: PEM chains and the fields ACME needs (SANs,
 * serial, AKI/SKI, validity).
 */
#ifndef ANVIL_X509_H
#define ANVIL_X509_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <anvil/ident.h>
#include <anvil/problem.h>

#define ACME_X509_MAX_CHAIN 10 /* certificates in one chain */

/*
 * Parses a PEM chain (leaf first).  Text between certificates is
 * ignored; anything that starts like a PEM block but does not parse is
 * an error, as are an empty input and more than ACME_X509_MAX_CHAIN
 * certificates.  Returns a new stack (free with
 * sk_X509_pop_free(chain, X509_free)) or NULL with prob set (malformed).
 */
STACK_OF(X509) * acme_x509_parse_chain(const char *pem, size_t len,
		     struct acme_problem *prob);
/* Parses exactly one PEM or DER certificate; NULL with prob set. */
X509 *acme_x509_parse_one(const char *data, size_t len,
    struct acme_problem *prob);

/*
 * DNS and IP subjectAltNames of cert in certificate order, canonicalised.
 * *ids is an array the caller frees (NULL when *n is 0).  Returns 0 or a
 * negative error.
 */
int acme_x509_sans(X509 *cert, struct acme_ident **ids, size_t *n);

/*
 * Serial as lowercase hex without leading zeros (at least one digit)
 * into out (size outsz).  Returns 0 or ACME_ERR_LIMIT.
 */
int acme_x509_serial_hex(X509 *cert, char *out, size_t outsz);

/*
 * The keyIdentifier of the authorityKeyIdentifier / the
 * subjectKeyIdentifier.  Copies up to outsz bytes into out and sets *len.
 * Returns 0, ACME_ERR_NOTFOUND when absent, ACME_ERR_LIMIT if too long.
 */
int acme_x509_aki(X509 *cert, unsigned char *out, size_t outsz, size_t *len);
int acme_x509_ski(X509 *cert, unsigned char *out, size_t outsz, size_t *len);

/* notBefore and notAfter as time_t (UTC).  Returns 0 or ACME_ERR_INVAL. */
int acme_x509_validity(X509 *cert, time_t *not_before, time_t *not_after);

/*
 * subjectAltName entries for identifiers: dNSName for DNS, iPAddress (4 or
 * 16 octets) for IP.  Returns a new GENERAL_NAMES (free with
 * GENERAL_NAMES_free) or NULL on failure.  Used for CSRs and certificates.
 */
GENERAL_NAMES *acme_x509_general_names(const struct acme_ident *ids, size_t n);

/* PEM of one certificate, appended to a new string the caller frees. */
char *acme_x509_to_pem(X509 *cert, size_t *len);

/*
 * Sets dst (a certificate's or request's SubjectPublicKeyInfo, or a new
 * X509_PUBKEY) to the algorithm alg and the key bits bits[0..len) as
 * they are, without decoding or re-encoding the key.  Returns 1 or 0.
 */
int acme_x509_set_spki(X509_PUBKEY *dst, const X509_ALGOR *alg,
    const unsigned char *bits, int len);

#endif
