/* SPDX-License-Identifier: ISC */
/*
 * Identifier policy: which names and addresses this CA will certify.
 * Syntax is libanvil's (ident.c); this layer adds the CA's rules.
 */
#ifndef ANVIL_POLICY_H
#define ANVIL_POLICY_H

#include <jansson.h>
#include <openssl/evp.h>

#include <anvil/ident.h>
#include <anvil/problem.h>

#include "../conf.h"

/*
 * Reads an "identifiers" array from a newOrder payload into a new sorted,
 * deduplicated array (*ids, caller frees).  Each refused identifier adds
 * a subproblem naming it; the top-level type is that of the first
 * refusal (rejectedIdentifier, unsupportedIdentifier or malformed).
 * Returns 0 or ACME_ERR_INVAL with prob set.
 */
int policy_identifiers(const struct conf *cfg, const json_t *arr,
    struct acme_ident **ids, size_t *n, struct acme_problem *prob);

/*
 * Key policy for certificates (S-FIN): RSA from rsa_min_bits to 8192
 * bits in whole octets, P-256 and P-384, Ed25519 when allowed; then
 * weakkey_check() against cfg->blocked_keys (D58).  Returns 0 or badCSR.
 */
int policy_cert_key(const struct conf *cfg, EVP_PKEY *key,
    struct acme_problem *prob);

#endif
