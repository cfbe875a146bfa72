/* SPDX-License-Identifier: ISC */
/*
 * Private header shared by libanvil's sources: build configuration, the
 * ACME_TESTABLE marker and the banned-function list.  Include it last.
 */
#ifndef ANVIL_INTERNAL_H
#define ANVIL_INTERNAL_H

#include "config.h"

/*
 * Marks a function that is file-local in release builds but visible to the
 * unit tests, which declare it themselves.  Test builds define
 * ANVIL_TESTING for the whole library.
 */
#ifdef ANVIL_TESTING
#define ACME_TESTABLE
#else
#define ACME_TESTABLE static
#endif

#define ACME_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Overwrites n bytes at p in a way the compiler will not elide. */
void acme_wipe(void *p, size_t n);

/*
 * A public key of OpenSSL type name type ("EC", "RSA") from the
 * parameters in bld (borrowed), which OpenSSL validates; NULL when it
 * refuses them.  Shared by the JWK and CSR readers.
 */
struct ossl_param_bld_st;
struct evp_pkey_st;
struct evp_pkey_st *acme_pkey_fromdata(const char *type,
    struct ossl_param_bld_st *bld);

#include "compat/banned.h"

#endif
