/* SPDX-License-Identifier: ISC */
/*
 * Back-end selection and the helpers every back end shares: status and
 * challenge-type names, random ids and tokens, record release.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include <anvil/b64url.h>
#include <anvil/err.h>

#include "store.h"
#include "store_pg.h"
#include "store_sqlite.h"

#include "internal.h"

/* The schemes of a PostgreSQL URL (libpq takes both). */
#define PG_SCHEME       "postgresql://"
#define PG_SCHEME_SHORT "postgres://"
/* Random bytes of an id (128 bits) and of a challenge token (256 bits,
 * RFC 8555 8.1 asks for at least 128); RANDOM_MAX bounds both. */
#define ID_BYTES    16
#define TOKEN_BYTES 32
#define RANDOM_MAX  32

static const char *const status_names[] = {
	[ST_PENDING] = "pending",
	[ST_PROCESSING] = "processing",
	[ST_READY] = "ready",
	[ST_VALID] = "valid",
	[ST_INVALID] = "invalid",
	[ST_DEACTIVATED] = "deactivated",
	[ST_EXPIRED] = "expired",
	[ST_REVOKED] = "revoked",
};

const char *
store_status_name(enum store_status s)
{
	if ((size_t)s < ACME_ARRAY_LEN(status_names) && status_names[s] != NULL)
		return status_names[s];
	return "unknown";
}

enum store_status
store_status_from_name(const char *name)
{
	size_t i;

	for (i = 1; i < ACME_ARRAY_LEN(status_names); i++)
		if (strcmp(status_names[i], name) == 0)
			return (enum store_status)i;
	return 0;
}

const char *
store_chall_type_name(enum store_chall_type t)
{
	switch (t) {
	case CHALL_HTTP01:
		return "http-01";
	case CHALL_DNS01:
		return "dns-01";
	case CHALL_TLSALPN01:
		return "tls-alpn-01";
	}
	return "unknown";
}

enum store_chall_type
store_chall_type_from_name(const char *name)
{
	if (strcmp(name, "http-01") == 0)
		return CHALL_HTTP01;
	if (strcmp(name, "dns-01") == 0)
		return CHALL_DNS01;
	if (strcmp(name, "tls-alpn-01") == 0)
		return CHALL_TLSALPN01;
	return 0;
}

struct store *
store_open_with(const char *url, const struct store_open_opts *o,
    struct acme_problem *prob)
{
	if (strncmp(url, SQLITE_SCHEME, LIT_LEN(SQLITE_SCHEME)) == 0)
		return store_sqlite_open(url + LIT_LEN(SQLITE_SCHEME), prob);
	if (strncmp(url, PG_SCHEME, LIT_LEN(PG_SCHEME)) == 0 ||
	    strncmp(url, PG_SCHEME_SHORT, LIT_LEN(PG_SCHEME_SHORT)) == 0)
		return store_pg_open(url,
		    o->pool > 0 ? o->pool : STORE_POOL_DEFAULT, o->migrate,
		    prob);
	if (url[0] == '/' || url[0] == '.')
		return store_sqlite_open(url, prob);
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
	    "unknown database URL \"%s\"", url);
	return NULL;
}

struct store *
store_open(const char *url, struct acme_problem *prob)
{
	const struct store_open_opts o = { .migrate = 1 };

	return store_open_with(url, &o, prob);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

static int
random_b64(char *out, size_t outsz, size_t nbytes)
{
	unsigned char b[RANDOM_MAX];

	if (nbytes > sizeof(b) || RAND_bytes(b, (int)nbytes) != 1)
		return ACME_ERR_CRYPTO;
	return acme_b64url_encode_to(b, nbytes, out, outsz);
}

int
store_new_id(char out[STORE_ID_SIZE])
{
	return random_b64(out, STORE_ID_SIZE, ID_BYTES);
}

int
store_new_token(char out[STORE_TOKEN_SIZE])
{
	return random_b64(out, STORE_TOKEN_SIZE, TOKEN_BYTES);
}

void
store_account_release(struct store_account *a)
{
	if (a == NULL)
		return;
	free(a->jwk);
	free(a->contact);
	free(a->eab);
	a->jwk = a->contact = a->eab = NULL;
}

void
store_chall_release(struct store_chall *c)
{
	if (c == NULL)
		return;
	free(c->error);
	c->error = NULL;
}

void
store_authz_release(struct store_authz *a)
{
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < a->nchall; i++)
		store_chall_release(&a->challs[i]);
	free(a->challs);
	a->challs = NULL;
	a->nchall = 0;
}

void
store_order_release(struct store_order *o)
{
	if (o == NULL)
		return;
	free(o->idents);
	free(o->authz_ids);
	free(o->error);
	o->idents = NULL;
	o->authz_ids = NULL;
	o->error = NULL;
	o->nident = o->nauthz = 0;
}

void
store_cert_release(struct store_cert *c)
{
	if (c == NULL)
		return;
	free(c->chain_pem);
	free(c->alt_chain_pem);
	free(c->ari_explanation);
	c->chain_pem = c->alt_chain_pem = c->ari_explanation = NULL;
}

void
store_crl_release(struct store_crl *c)
{
	if (c == NULL)
		return;
	free(c->der);
	c->der = NULL;
	c->len = 0;
}
