/* SPDX-License-Identifier: ISC */
/*
 * Shared helpers for the cmocka unit tests: temporary directories and
 * reading known-answer vectors from tests/unit/vectors.
 */
#ifndef ANVIL_TEST_HELPERS_H
#define ANVIL_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/*
 * Reads vectors/NAME into a new NUL-terminated buffer; fails the test if
 * it cannot.  *len may be NULL.
 */
char *th_read_vector(const char *name, size_t *len);

/* Creates a fresh temporary directory; returns its path (caller frees). */
char *th_tmpdir(void);

/* Removes a directory made by th_tmpdir() and everything in it. */
void th_rmtree(const char *path);

#include <jansson.h>
#include <openssl/evp.h>

/*
 * Builds a private key from a private JWK (RSA with n/e/d/p/q/dp/dq/qi,
 * EC with crv/x/y/d, OKP Ed25519 with d/x), as the RFC examples give
 * them.  libanvil itself refuses private JWKs; only tests need this.
 */
EVP_PKEY *th_private_jwk(const json_t *jwk);

/* Reads vectors/NAME as a JSON object; fails the test if it cannot. */
json_t *th_vector_json(const char *name);
#endif
