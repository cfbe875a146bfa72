/* SPDX-License-Identifier: ISC */
/*
 * Certificate construction shared by "anvil-ca init" (root,
 * intermediate, listener TLS certificates) and issuance (end-entity
 * certificates).  Serials are 128 random bits with the top bit clear, so
 * they are positive and carry 127 bits of entropy (CA/B BR 7.1: >= 64).
 */
#ifndef ANVIL_CERTGEN_H
#define ANVIL_CERTGEN_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include <anvil/ident.h>
#include <anvil/problem.h>

#include "../srvlimits.h"

/* Bytes of a random serial: 128 bits (see above). */
#define CERTGEN_SERIAL_BYTES 16
/* A subject CN longer than this is not set: RFC 5280's ub-common-name. */
#define CERTGEN_CN_MAX 64
/* Bytes of a buffer for a CN or O being made: CERTGEN_CN_MAX fits. */
#define CERTGEN_NAME_SIZE 256
/* Seconds a new CA or listener certificate is backdated, so a relying
 * party whose clock lags by up to an hour accepts it at once. */
#define CERTGEN_BACKDATE HOUR_SECS
/* Years of validity "anvil-ca init" and "rotate" give: a root, an
 * intermediate, the listener's TLS certificate (renewed by rotate). */
#define CERTGEN_ROOT_YEARS  20
#define CERTGEN_INTER_YEARS 5
#define CERTGEN_LEAF_YEARS  2

enum certgen_kind {
	CERTGEN_ROOT = 1,     /* self-signed CA, no path length limit */
	CERTGEN_INTERMEDIATE, /* CA, pathlen 0 */
	CERTGEN_LEAF,         /* end entity: serverAuth */
};

/* Leaf extensions made once per issuer (certgen_fixed_new). */
struct certgen_fixed;

struct certgen {
	enum certgen_kind kind;
	const char *cn;   /* subject CN, or NULL */
	const char *org;  /* subject O, or NULL */
	EVP_PKEY *pubkey; /* the subject's key */
	/* The same key as the CSR encoded it, or NULL: copied as is, which
	 * spares OpenSSL 3's encoder a fifth of an issuance's CPU. */
	const X509_PUBKEY *spki;
	X509 *issuer;         /* NULL for a root */
	EVP_PKEY *issuer_key; /* signs; the subject key for a root */
	time_t not_before;
	time_t not_after;
	const struct acme_ident *sans; /* leaf only */
	size_t nsans;
	/* Leaf extensions a profile may leave out (CAs always have SKI). */
	int leaf_ski;              /* subjectKeyIdentifier */
	int leaf_key_encipherment; /* keyEncipherment, RSA keys only */
	int leaf_crl;              /* CRL Distribution Points, when the
				    * fixed extensions have a URL */
	/* The issuer's fixed leaf extensions, or NULL: made for this one. */
	const struct certgen_fixed *fixed;
};

/*
 * The leaf extensions that depend only on issuer (basicConstraints,
 * keyUsage, EKU, the DV policy, authorityKeyIdentifier, and CRL
 * Distribution Points naming crl_url unless it is NULL or ""), for
 * certgen_make() to copy; NULL when out of memory.
 */
struct certgen_fixed *certgen_fixed_new(X509 *issuer, const char *crl_url);
void certgen_fixed_free(struct certgen_fixed *fx);

/*
 * Builds and signs a certificate.  Returns a new X509 or NULL with prob
 * set (serverInternal).
 */
X509 *certgen_make(const struct certgen *g, struct acme_problem *prob);

/* The digest key signs with (NULL for Ed25519, which takes none). */
const EVP_MD *certgen_digest(EVP_PKEY *key);

/* Writes cert as PEM to path atomically with mode. */
int certgen_save_pem(X509 *cert, const char *path, mode_t mode,
    struct acme_problem *prob);

#endif
