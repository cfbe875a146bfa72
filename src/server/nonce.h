/* SPDX-License-Identifier: ISC */
/*
 * Replay nonces (RFC 8555 6.5).  A nonce is the AES-128 encryption, under
 * a key made at start, of a 64-bit counter, a 32-bit instance number and
 * 32 zero bits.  Redeeming decrypts it, checks the zero bits (a forged
 * nonce passes with probability 2^-32), checks that the counter lies in
 * the window of the last NONCE_WINDOW issued, and sets its bit in a used
 * bitmap.  So nonces are unpredictable, single use, and need neither a
 * table lookup nor storage: memory is fixed at NONCE_WINDOW bits.
 *
 * Instances sharing a database use a shared pool instead (D77): the key
 * is the database's, the 32 bits of the instance number carry the time
 * of issue, and a nonce is spent in the database, so any instance
 * accepts it once within NONCE_SHARED_TTL.
 */
#ifndef ANVIL_NONCE_H
#define ANVIL_NONCE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define NONCE_WINDOW (1u << 20) /* outstanding nonces accepted */
#define NONCE_LEN    22         /* base64url of 16 bytes */
/* Bytes of a nonce as sent: one AES-128 block, and of the pool's key. */
#define NONCE_BLOCK   16
#define NONCE_KEY_LEN 16

struct nonce_pool;

/* Returns a new pool with a fresh random key, or NULL. */
struct nonce_pool *nonce_pool_new(unsigned instance);

#define NONCE_SHARED_TTL  3600 /* seconds a shared nonce is accepted */
#define NONCE_SHARED_SKEW 60   /* seconds an issuer's clock may be ahead */

/*
 * Records a nonce (its 16 bytes as sent) spent until expires: 0 the
 * first time, non-zero when it was spent before or cannot be recorded.
 */
typedef int (*nonce_spend_fn)(void *arg, const unsigned char nonce[NONCE_BLOCK],
    int64_t expires, int64_t now);

/*
 * A pool whose nonces every pool with the same key accepts once, spent
 * through spend(arg, ...) (D77); now is the clock.  NULL on failure.
 */
struct nonce_pool *nonce_pool_new_shared(const unsigned char key[NONCE_KEY_LEN],
    time_t (*now)(void), nonce_spend_fn spend, void *arg);
void nonce_pool_free(struct nonce_pool *p);

/* Writes a new nonce (NONCE_LEN chars + NUL) to out.  Returns 0 or < 0. */
int nonce_issue(struct nonce_pool *p, char out[NONCE_LEN + 1]);

/*
 * Redeems a nonce: returns 0 the first time a nonce this pool issued is
 * presented within the window, ACME_ERR_VERIFY otherwise (forged, reused,
 * too old, malformed).  Thread-safe.
 */
int nonce_redeem(struct nonce_pool *p, const char *nonce);

#endif
