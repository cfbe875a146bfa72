/* SPDX-License-Identifier: ISC */
/*
 * Replay nonces: encrypted counters with a used-bitmap window (see
 * nonce.h for the scheme and its reasoning).
 */
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

struct nonce_pool {
	pthread_mutex_t lock;
	EVP_CIPHER_CTX *enc;
	EVP_CIPHER_CTX *dec;
	uint64_t next; /* counter of the next nonce */
	uint32_t instance;
	uint8_t used[NONCE_WINDOW / 8]; /* bit per counter mod window */
};

struct nonce_pool *
nonce_pool_new(unsigned instance)
{
	struct nonce_pool *p;
	unsigned char key[16];

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (RAND_bytes(key, sizeof(key)) != 1)
		goto fail;
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
	acme_wipe(key, sizeof(key));
	/* Start at a random point so counters say nothing about uptime. */
	if (RAND_bytes((unsigned char *)&p->next, sizeof(p->next)) != 1)
		goto fail;
	p->next &= 0x7fffffffffffffffULL;
	p->instance = instance;
	pthread_mutex_init(&p->lock, NULL);
	return p;
fail:
	acme_wipe(key, sizeof(key));
	EVP_CIPHER_CTX_free(p->enc);
	EVP_CIPHER_CTX_free(p->dec);
	free(p);
	return NULL;
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

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static uint64_t
get64(const unsigned char *b)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

int
nonce_issue(struct nonce_pool *p, char out[NONCE_LEN + 1])
{
	unsigned char block[16], ct[16];
	uint64_t ctr;
	int n = 0, rc = ACME_ERR_CRYPTO;

	memset(block, 0, sizeof(block));
	pthread_mutex_lock(&p->lock);
	ctr = p->next++;
	/* Clear the bit this counter reuses in the window. */
	p->used[(ctr % NONCE_WINDOW) / 8] &=
	    (uint8_t) ~(1u << (ctr % NONCE_WINDOW % 8));
	put64(block, ctr);
	block[8] = (unsigned char)(p->instance >> 24);
	block[9] = (unsigned char)(p->instance >> 16);
	block[10] = (unsigned char)(p->instance >> 8);
	block[11] = (unsigned char)p->instance;
	if (EVP_EncryptUpdate(p->enc, ct, &n, block, sizeof(block)) == 1 &&
	    n == 16)
		rc = 0;
	pthread_mutex_unlock(&p->lock);
	if (rc != 0)
		return rc;
	return acme_b64url_encode_to(ct, sizeof(ct), out, NONCE_LEN + 1);
}

int
nonce_redeem(struct nonce_pool *p, const char *nonce)
{
	unsigned char *ct = NULL, pt[16];
	size_t len = 0;
	uint64_t ctr;
	uint8_t bit;
	size_t idx;
	int n = 0, rc = ACME_ERR_VERIFY;

	if (nonce == NULL || strlen(nonce) != NONCE_LEN ||
	    acme_b64url_decode(nonce, NONCE_LEN, &ct, &len) != 0 || len != 16)
		goto out;
	pthread_mutex_lock(&p->lock);
	if (EVP_DecryptUpdate(p->dec, pt, &n, ct, 16) != 1 || n != 16) {
		pthread_mutex_unlock(&p->lock);
		goto out;
	}
	ctr = get64(pt);
	if (memcmp(pt + 12, "\0\0\0\0", 4) != 0 ||
	    (uint32_t)((unsigned)pt[8] << 24 | (unsigned)pt[9] << 16 |
		       (unsigned)pt[10] << 8 | pt[11]) != p->instance ||
	    ctr >= p->next || p->next - ctr > NONCE_WINDOW) {
		pthread_mutex_unlock(&p->lock);
		goto out;
	}
	idx = (size_t)(ctr % NONCE_WINDOW);
	bit = (uint8_t)(1u << (idx % 8));
	if ((p->used[idx / 8] & bit) == 0) {
		p->used[idx / 8] |= bit;
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
out:
	free(ct);
	return rc;
}
