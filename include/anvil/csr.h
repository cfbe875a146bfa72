/* SPDX-License-Identifier: ISC */
/*
 * PKCS#10 certificate signing requests: built by the client for a set of
 * identifiers (DNS and IP subjectAltNames), parsed and checked by the CA.
 */
#ifndef ANVIL_CSR_H
#define ANVIL_CSR_H

#include <stddef.h>
#include <openssl/x509.h>

#include <anvil/ident.h>
#include <anvil/key.h>
#include <anvil/problem.h>

#define ACME_CSR_MAX_IDENTS 100         /* identifiers in one CSR */
#define ACME_CSR_MAX_DER    (64 * 1024) /* bytes of one DER CSR */

/*
 * Builds and signs a CSR with key for n identifiers (copied): all as
 * subjectAltName entries, the first DNS name (if it fits in 64 bytes) as
 * the subject CN.  Returns a new request or NULL with prob set.
 */
X509_REQ *acme_csr_build(EVP_PKEY *key, const struct acme_ident *ids, size_t n,
    struct acme_problem *prob);

/* DER encoding; caller frees; NULL on failure. */
unsigned char *acme_csr_to_der(X509_REQ *req, size_t *len);
/* DER encoding as base64url, the form finalize carries; caller frees. */
char *acme_csr_to_b64url(X509_REQ *req);

/*
 * Parses DER (at most ACME_CSR_MAX_DER bytes, no trailing data) and
 * verifies the self-signature.  Returns a new request or NULL with prob
 * set to badCSR.
 */
X509_REQ *acme_csr_parse_der(const unsigned char *der, size_t len,
    struct acme_problem *prob);
/* As acme_csr_parse_der() from the base64url finalize value. */
X509_REQ *acme_csr_parse_b64url(const char *b64, struct acme_problem *prob);

/*
 * The identifiers a CSR asks for: every DNS and IP subjectAltName and the
 * subject CN (DNS name or IP literal), lowercased, deduplicated and
 * sorted with acme_ident_cmp().  *ids is an array the caller frees.
 * Returns 0, or ACME_ERR_INVAL with prob set to badCSR for other SAN
 * types, invalid names, none at all or more than ACME_CSR_MAX_IDENTS.
 */
int acme_csr_identifiers(X509_REQ *req, struct acme_ident **ids, size_t *n,
    struct acme_problem *prob);

/*
 * key's SubjectPublicKeyInfo in its one DER form (D58), made from the
 * key's numbers: EC with the namedCurve OID and the uncompressed point,
 * RSA (rsaEncryption, NULL parameters) with minimal INTEGERs, Ed25519
 * without parameters.  Returns a new object, or NULL for other keys, an
 * EC key without a named curve, or no memory.
 */
X509_PUBKEY *acme_csr_spki(EVP_PKEY *key);

/*
 * A CSR as the CA reads it from finalize: its public key, that key's
 * SubjectPublicKeyInfo as acme_csr_spki() makes it (what the certificate
 * gets, D58) and its identifiers as by acme_csr_identifiers().
 */
struct acme_csr {
	EVP_PKEY *key;
	X509_PUBKEY *spki;
	struct acme_ident *ids;
	size_t nids;
};

/*
 * Reads and checks the base64url finalize value as acme_csr_parse_b64url()
 * and acme_csr_identifiers() do together, and accepts and refuses the
 * same requests, except that the request's SubjectPublicKeyInfo must be
 * byte for byte the one acme_csr_spki() makes of its key (D58).  The common shapes (EC P-256/384/521, RSA and Ed25519
 * keys with ECDSA, PKCS#1 v1.5 or Ed25519 signatures, DER) are read
 * without OpenSSL 3.0's key decoders, which cost more than the rest of
 * finalize; any other request goes through OpenSSL's parser (D32).
 * Returns 0 with c filled (release with acme_csr_release()), or
 * ACME_ERR_INVAL with prob set to badCSR.
 */
int acme_csr_read(const char *b64, struct acme_csr *c,
    struct acme_problem *prob);
void acme_csr_release(struct acme_csr *c);

/*
 * The public key of the request (borrowed from req; do not free) and its
 * description as by acme_key_info().
 */
EVP_PKEY *acme_csr_pubkey(X509_REQ *req);
int acme_csr_key_info(X509_REQ *req, enum acme_key_type *type,
    enum acme_key_family *family, int *bits);

#endif
