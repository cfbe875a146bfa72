/* SPDX-License-Identifier: ISC */
/*
 * Account keys, imported once.  Turning a stored JWK into an EVP_PKEY
 * costs more than verifying the signature with it (OpenSSL 3's
 * fromdata), and every kid request needs one, so the front end keeps
 * them: a fixed table indexed by account id, each entry holding the
 * JWK text it was imported from, so a keyChange (a new JWK) simply
 * misses and replaces it.  Shared by every thread.
 */
#ifndef ANVIL_KEYCACHE_H
#define ANVIL_KEYCACHE_H

#include <stddef.h>
#include <openssl/evp.h>

#include <anvil/problem.h>

struct keycache;

/* A cache of slots entries (rounded up to a power of two); NULL on OOM. */
struct keycache *keycache_new(size_t slots);
void keycache_free(struct keycache *kc);

/*
 * A new reference to the key of account id whose JWK is jwk_text
 * (canonical JSON as stored), importing and keeping it on a miss.
 * Returns NULL with prob set when the JWK does not import.  While kc
 * lives, the caller gives it back with keycache_put(), not
 * EVP_PKEY_free() (D92).
 */
EVP_PKEY *keycache_get(struct keycache *kc, const char *id,
    const char *jwk_text, struct acme_problem *prob);

/* Gives back a reference keycache_get(kc, id, ...) returned; key may be
 * NULL.  The key may be freed by this call, or later by the slot (D92). */
void keycache_put(struct keycache *kc, const char *id, EVP_PKEY *key);

#endif
