/* SPDX-License-Identifier: ISC */
/*
 * JSON Web Keys (RFC 7517, RFC 7518 section 6, RFC 8037) for public keys
 * of the types in key.h, and JWK thumbprints (RFC 7638).
 */
#ifndef ANVIL_JWK_H
#define ANVIL_JWK_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

#include <anvil/problem.h>

#define ACME_JWK_THUMBPRINT_LEN 32 /* SHA-256 */

/*
 * Exports the public part of key as a JWK object with exactly the
 * required members (RSA: kty, n, e; EC: kty, crv, x, y at full field
 * length; OKP: kty, crv, x).  Returns a new reference, or NULL with prob
 * set (badPublicKey for an unsupported key).
 */
json_t *acme_jwk_from_key(EVP_PKEY *key, struct acme_problem *prob);

/*
 * Imports a public JWK.  Rejects, with prob set: private members (d, p,
 * q, dp, dq, qi, oth, k) and symmetric keys as malformed; an unknown kty
 * or crv, EC coordinates not of the curve's exact length, a point not on
 * the curve, RSA moduli under 2048 or over 8192 bits, or even/tiny
 * exponents as badPublicKey.  Returns a new key or NULL.
 */
EVP_PKEY *acme_jwk_to_key(const json_t *jwk, struct acme_problem *prob);

/*
 * RFC 7638 thumbprint (SHA-256 over the required members in lexical
 * order, no whitespace) of key or of a JWK object.  Returns 0 or a
 * negative error with prob set.
 */
int acme_jwk_thumbprint(EVP_PKEY *key,
    unsigned char out[ACME_JWK_THUMBPRINT_LEN], struct acme_problem *prob);
int acme_jwk_thumbprint_json(const json_t *jwk,
    unsigned char out[ACME_JWK_THUMBPRINT_LEN], struct acme_problem *prob);
/* The thumbprint as base64url; a string the caller frees, or NULL. */
char *acme_jwk_thumbprint_b64(EVP_PKEY *key, struct acme_problem *prob);

/*
 * The JWS alg name used to sign with key: "RS256" (RSA), "ES256" (P-256),
 * "ES384" (P-384), "EdDSA" (Ed25519); NULL for other keys.
 */
const char *acme_jwk_alg_for_key(EVP_PKEY *key);

#endif
