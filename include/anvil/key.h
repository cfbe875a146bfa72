/* SPDX-License-Identifier: ISC */
/*
 * Private keys: generate, load and save PEM, and classify.  Keys are
 * OpenSSL EVP_PKEY objects; the types libanvil supports are RSA 2048,
 * 3072 and 4096, EC P-256, P-384 and P-521, and Ed25519.
 */
#ifndef ANVIL_KEY_H
#define ANVIL_KEY_H

#include <stddef.h>
#include <openssl/evp.h>

#include <anvil/problem.h>

enum acme_key_type {
	ACME_KEY_UNKNOWN = 0,
	ACME_KEY_RSA2048,
	ACME_KEY_RSA3072,
	ACME_KEY_RSA4096,
	ACME_KEY_EC256,
	ACME_KEY_EC384,
	ACME_KEY_ED25519,
	ACME_KEY_EC521, /* P-521: ES512 account keys (RFC 7518 3.4) */
};

/* Key families, independent of size. */
enum acme_key_family {
	ACME_KEYFAM_UNKNOWN = 0,
	ACME_KEYFAM_RSA,
	ACME_KEYFAM_EC,
	ACME_KEYFAM_ED25519,
};

/* "rsa2048" ... "ed25519"; "unknown" for ACME_KEY_UNKNOWN. */
const char *acme_key_type_name(enum acme_key_type type);
/* Parses a name as printed by acme_key_type_name(); ACME_KEY_UNKNOWN if none. */
enum acme_key_type acme_key_type_from_name(const char *name);

/* Returns a new key of the given type, or NULL with prob set. */
EVP_PKEY *acme_key_generate(enum acme_key_type type, struct acme_problem *prob);

/*
 * Describes key: its family and size in bits (curve size for EC).  For an
 * RSA key of another size or an EC key on another curve, *type is
 * ACME_KEY_UNKNOWN but *family and *bits are still set.  Either out
 * pointer may be NULL.  Returns 0, or ACME_ERR_UNSUPPORTED for other
 * algorithms.
 */
int acme_key_info(EVP_PKEY *key, enum acme_key_type *type,
    enum acme_key_family *family, int *bits);

/*
 * Loads a PEM private key (PKCS#8, traditional RSA or SEC1 EC).  Returns a
 * new key, or NULL with prob set: ACME_PROB_MALFORMED for unparsable data
 * and ACME_PROB_BAD_PUBLIC_KEY for a supported-format key of an
 * unsupported type.
 */
EVP_PKEY *acme_key_load_pem(const char *pem, size_t len,
    struct acme_problem *prob);
EVP_PKEY *acme_key_load_file(const char *path, struct acme_problem *prob);

/*
 * Serialises the private key as PKCS#8 PEM.  Returns a string the caller
 * frees (and should wipe), or NULL.
 */
char *acme_key_to_pem(EVP_PKEY *key, size_t *len);
/* The public key as SubjectPublicKeyInfo PEM; caller frees. */
char *acme_key_public_pem(EVP_PKEY *key, size_t *len);

/*
 * Writes the private key to path atomically (temporary file in the same
 * directory, mode 0600, fsync, rename).  Returns 0 or a negative error
 * with prob set.
 */
int acme_key_save_file(EVP_PKEY *key, const char *path,
    struct acme_problem *prob);

/* Nonzero when a and b have the same public key. */
int acme_key_public_equal(EVP_PKEY *a, EVP_PKEY *b);

#endif
