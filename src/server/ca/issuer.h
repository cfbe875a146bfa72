/* SPDX-License-Identifier: ISC */
/*
 * The issuer: the only module that holds the CA signing key.  Handlers
 * ask it for a certificate through issuer_issue(); the interface is
 * narrow so that it can move into its own process (or an HSM) later.
 */
#ifndef ANVIL_ISSUER_H
#define ANVIL_ISSUER_H

#include <stddef.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <anvil/ident.h>
#include <anvil/problem.h>

#include "../conf.h"
#include "../store/store.h"
#include "profile.h"

struct issuer;

/* Loads the intermediate certificate and key named by cfg. */
struct issuer *issuer_open(const struct conf *cfg, struct acme_problem *prob);
void issuer_free(struct issuer *is);

struct issued {
	char serial[41];     /* lowercase hex */
	char *chain_pem;     /* leaf then intermediate; caller frees */
	char *alt_chain_pem; /* leaf then the alternate chain, or NULL */
	time_t not_before;
	time_t not_after;
};

/*
 * Issues an end-entity certificate for pubkey (spki: the same key as the
 * CSR encoded it, copied as is; NULL to encode pubkey) with the names and
 * validity, its other contents (subject CN, SKI, keyEncipherment) as the
 * profile p says (borrowed).  Fills out; returns 0 or a negative error
 * with prob set.
 */
int issuer_issue(struct issuer *is, const struct profile *p, EVP_PKEY *pubkey,
    const X509_PUBKEY *spki, const struct acme_ident *names, size_t n,
    time_t not_before, time_t not_after, struct issued *out,
    struct acme_problem *prob);

/*
 * Signs a CRL (RFC 5280 5, BR 7.2) with the intermediate key: version 2,
 * the entries in r (a reasonCode only for reasons other than 0 and -1,
 * S-REV-6), authorityKeyIdentifier and cRLNumber number.  A full CRL of
 * the issuer, so no issuingDistributionPoint.  *der is the DER, heap,
 * the caller frees it.  Returns 0 or a negative error with prob set.
 */
int issuer_sign_crl(struct issuer *is, const struct store_revoked *r, size_t n,
    int64_t number, time_t this_update, time_t next_update, unsigned char **der,
    size_t *len, struct acme_problem *prob);

/* The intermediate certificate (borrowed), which signs the CRL too. */
X509 *issuer_cert(struct issuer *is);

/* The intermediate's notAfter: no leaf outlives it (D56). */
time_t issuer_not_after(const struct issuer *is);

#endif
