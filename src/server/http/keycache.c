/* SPDX-License-Identifier: ISC */
/*
 * The account key cache (see keycache.h): a direct-mapped table, each
 * slot guarded by its own mutex so that threads looking up different
 * accounts do not wait for each other.  An entry is only ever replaced
 * whole; a caller gets its own reference and may use the key after the
 * entry is gone.  References are given back and dropped under the
 * slot's mutex (D92).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/json.h>
#include <anvil/jwk.h>

#include "keycache.h"
#include "../srv.h"

#include "internal.h"

struct slot {
	pthread_mutex_t lock;
	char *id;  /* account id, or NULL when empty */
	char *jwk; /* the JWK text key was imported from */
	EVP_PKEY *key;
};

struct keycache {
	size_t mask; /* slots - 1 */
	struct slot *slot;
};

struct keycache *
keycache_new(size_t slots)
{
	struct keycache *kc = calloc(1, sizeof(*kc));
	size_t n = 1, i;

	while (n < slots)
		n <<= 1;
	if (kc == NULL || (kc->slot = calloc(n, sizeof(*kc->slot))) == NULL) {
		free(kc);
		return NULL;
	}
	kc->mask = n - 1;
	for (i = 0; i < n; i++)
		pthread_mutex_init(&kc->slot[i].lock, NULL);
	return kc;
}

void
keycache_free(struct keycache *kc)
{
	size_t i;

	if (kc == NULL)
		return;
	for (i = 0; i <= kc->mask; i++) {
		free(kc->slot[i].id);
		free(kc->slot[i].jwk);
		EVP_PKEY_free(kc->slot[i].key);
		pthread_mutex_destroy(&kc->slot[i].lock);
	}
	free(kc->slot);
	free(kc);
}

static EVP_PKEY *
import(const char *jwk_text, struct acme_problem *prob)
{
	json_t *jwk =
	    acme_json_parse(jwk_text, strlen(jwk_text), ACME_JSON_OBJECT, prob);
	EVP_PKEY *key = jwk != NULL ? acme_jwk_to_key(jwk, prob) : NULL;

	json_decref(jwk);
	return key;
}

EVP_PKEY *
keycache_get(struct keycache *kc, const char *id, const char *jwk_text,
    struct acme_problem *prob)
{
	struct slot *s = &kc->slot[srv_hash(id) & kc->mask];
	EVP_PKEY *key = NULL, *old = NULL;
	char *nid, *njwk;

	pthread_mutex_lock(&s->lock);
	if (s->id != NULL && strcmp(s->id, id) == 0 &&
	    strcmp(s->jwk, jwk_text) == 0 && EVP_PKEY_up_ref(s->key) == 1)
		key = s->key;
	pthread_mutex_unlock(&s->lock);
	if (key != NULL)
		return key;
	/* Imported outside the lock: a slow import blocks nobody. */
	if ((key = import(jwk_text, prob)) == NULL)
		return NULL;
	nid = strdup(id);
	njwk = strdup(jwk_text);
	if (nid == NULL || njwk == NULL || EVP_PKEY_up_ref(key) != 1) {
		free(nid);
		free(njwk);
		return key; /* uncached, still usable */
	}
	pthread_mutex_lock(&s->lock);
	free(s->id);
	free(s->jwk);
	old = s->key;
	s->id = nid;
	s->jwk = njwk;
	s->key = key;
	EVP_PKEY_free(old);
	pthread_mutex_unlock(&s->lock);
	return key;
}

void
keycache_put(struct keycache *kc, const char *id, EVP_PKEY *key)
{
	struct slot *s = &kc->slot[srv_hash(id) & kc->mask];

	if (key == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	EVP_PKEY_free(key);
	pthread_mutex_unlock(&s->lock);
}
