/* SPDX-License-Identifier: ISC */
/*
 * Replay nonces: encrypted counters with a used-bitmap window (see
 * nonce.h for the scheme and its reasoning).
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <anvil/b64url.h>
#include <anvil/err.h>

#include "nonce.h"

#include "internal.h"

/* The nonce block: the counter (8 bytes), at INST_AT the instance or,
 * shared, the issue second (4), at ZERO_AT zeros (4) that a forged or
 * other pool's nonce fails to decrypt to. */
#define INST_AT  8
#define ZERO_AT  12
#define ZERO_LEN 4

struct nonce_pool {
	pthread_mutex_t lock;
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
	uint64_t next; /* counter of the next nonce */
	uint32_t instance;
	/* Shared pools (D77): the clock and where nonces are spent. */
	time_t (*now)(void);
	nonce_spend_fn spend;
	void *arg;
	uint8_t used[NONCE_WINDOW / CHAR_BIT]; /* bit per counter mod window */
};

static struct nonce_pool *
pool_new(const unsigned char *key)
{
	struct nonce_pool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->enc = EVP_CIPHER_CTX_new();
	p->dec = EVP_CIPHER_CTX_new();
	if (p->enc == NULL || p->dec == NULL ||
	    EVP_EncryptInit_ex(p->enc, EVP_aes_128_ecb(), NULL, key, NULL) !=
		1 ||
	    EVP_DecryptInit_ex(p->dec, EVP_aes_128_ecb(), NULL, key, NULL) !=
		1 ||
	    EVP_CIPHER_CTX_set_padding(p->enc, 0) != 1 ||
	    EVP_CIPHER_CTX_set_padding(p->dec, 0) != 1)
		goto fail;
	/*
	 * Start at a random point so counters say nothing about uptime (and
	 * so instances sharing a key count in ranges apart).
	 */
	if (RAND_bytes((unsigned char *)&p->next, sizeof(p->next)) != 1)
		goto fail;
	p->next &= 0x7fffffffffffffffULL;
	pthread_mutex_init(&p->lock, NULL);
	return p;
fail:
	EVP_CIPHER_CTX_free(p->enc);
	EVP_CIPHER_CTX_free(p->dec);
	free(p);
	return NULL;
}

struct nonce_pool *
nonce_pool_new(unsigned instance)
{
	struct nonce_pool *p;
	unsigned char key[NONCE_KEY_LEN];

	if (RAND_bytes(key, sizeof(key)) != 1)
		return NULL;
	p = pool_new(key);
	acme_wipe(key, sizeof(key));
	if (p != NULL)
		p->instance = instance;
	return p;
}

struct nonce_pool *
nonce_pool_new_shared(const unsigned char key[NONCE_KEY_LEN],
    time_t (*now)(void), nonce_spend_fn spend, void *arg)
{
	struct nonce_pool *p = pool_new(key);

	if (p != NULL) {
		p->now = now;
		p->spend = spend;
		p->arg = arg;
	}
	return p;
}

void
nonce_pool_free(struct nonce_pool *p)
{
	if (p == NULL)
		return;
	EVP_CIPHER_CTX_free(p->enc);
	EVP_CIPHER_CTX_free(p->dec);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static void
put64(unsigned char *b, uint64_t v)
{
	int i;

	for (i = (int)sizeof(v) - 1; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static void
put32(unsigned char *b, uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/*
 * A shared pool's check (D77): issued within NONCE_SHARED_TTL by the
 * clock of 32-bit seconds, then spent in the database.  Unlocked.
 */
static int
redeem_shared(struct nonce_pool *p, const unsigned char *ct, uint32_t issued)
{
	int64_t now = (int64_t)p->now();
	int64_t t = (int64_t)issued;

	/* The seconds wrap in 2106; the clock's high bits are the issue's. */
	t |= now & ~(int64_t)UINT32_MAX;
	if (t > now + NONCE_SHARED_SKEW || now - t > NONCE_SHARED_TTL)
		return ACME_ERR_VERIFY;
	return p->spend(p->arg, ct, t + NONCE_SHARED_TTL, now) == 0 ?
		   0 :
		   ACME_ERR_VERIFY;
}

static uint64_t
get64(const unsigned char *b)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < (int)sizeof(v); i++)
		v = (v << 8) | b[i];
	return v;
}

int
nonce_issue(struct nonce_pool *p, char out[NONCE_LEN + 1])
{
	unsigned char block[NONCE_BLOCK], ct[NONCE_BLOCK];
	uint64_t ctr;
	int n = 0, rc = ACME_ERR_CRYPTO;

	memset(block, 0, sizeof(block));
	pthread_mutex_lock(&p->lock);
	ctr = p->next++;
	/* Clear the bit this counter reuses in the window. */
	p->used[(ctr % NONCE_WINDOW) / CHAR_BIT] &=
	    (uint8_t) ~(1u << (ctr % NONCE_WINDOW % CHAR_BIT));
	put64(block, ctr);
	put32(block + INST_AT,
	    p->spend != NULL ? (uint32_t)p->now() : (uint32_t)p->instance);
	if (EVP_EncryptUpdate(p->enc, ct, &n, block, sizeof(block)) == 1 &&
	    n == NONCE_BLOCK)
		rc = 0;
	pthread_mutex_unlock(&p->lock);
	if (rc != 0)
		return rc;
	return acme_b64url_encode_to(ct, sizeof(ct), out, NONCE_LEN + 1);
}

int
nonce_redeem(struct nonce_pool *p, const char *nonce)
{
	unsigned char *ct = NULL, pt[NONCE_BLOCK];
	size_t len = 0;
	uint64_t ctr;
	uint8_t bit;
	size_t idx;
	int n = 0, rc = ACME_ERR_VERIFY;

	if (nonce == NULL || strlen(nonce) != NONCE_LEN ||
	    acme_b64url_decode(nonce, NONCE_LEN, &ct, &len) != 0 ||
	    len != NONCE_BLOCK)
		goto out;
	pthread_mutex_lock(&p->lock);
	if (EVP_DecryptUpdate(p->dec, pt, &n, ct, NONCE_BLOCK) != 1 ||
	    n != NONCE_BLOCK) {
		pthread_mutex_unlock(&p->lock);
		goto out;
	}
	ctr = get64(pt);
	if (memcmp(pt + ZERO_AT, "\0\0\0\0", ZERO_LEN) == 0 &&
	    p->spend != NULL) {
		pthread_mutex_unlock(&p->lock);
		rc = redeem_shared(p, ct, get32(pt + INST_AT));
		goto out;
	}
	if (memcmp(pt + ZERO_AT, "\0\0\0\0", ZERO_LEN) != 0 ||
	    p->spend != NULL || get32(pt + INST_AT) != p->instance ||
	    ctr >= p->next || p->next - ctr > NONCE_WINDOW) {
		pthread_mutex_unlock(&p->lock);
		goto out;
	}
	idx = (size_t)(ctr % NONCE_WINDOW);
	bit = (uint8_t)(1u << (idx % CHAR_BIT));
	if ((p->used[idx / CHAR_BIT] & bit) == 0) {
		p->used[idx / CHAR_BIT] |= bit;
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
out:
	free(ct);
	return rc;
}
