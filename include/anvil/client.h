/* SPDX-License-Identifier: ISC */
/*
 * The ACME client flow (RFC 8555 section 7), shared by the anvil command
 * and anvil-bench.  It speaks to one CA over one keep-alive connection,
 * keeps the freshest Replay-Nonce, retries on badNonce (S-NON-6),
 * and signs through a struct acme_signer so the account key can live
 * elsewhere (another process, an HSM) later.
 */
#ifndef ANVIL_CLIENT_H
#define ANVIL_CLIENT_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>
#include <openssl/evp.h>

#include <anvil/ident.h>
#include <anvil/problem.h>

/* Signs JWS requests with the account key, wherever that key lives. */
struct acme_signer {
	/* Flattened JWS for url with kid (NULL: embed the jwk) and nonce. */
	json_t *(*sign)(void *ctx, const char *kid, const char *nonce,
	    const char *url, const void *payload, size_t len,
	    struct acme_problem *prob);
	/* The RFC 7638 thumbprint, base64url (static storage in ctx). */
	const char *(*thumbprint)(void *ctx);
	void *ctx;
};

/* A signer over an in-process key (borrowed; must outlive the signer). */
int acme_signer_from_key(struct acme_signer *s, EVP_PKEY *key,
    struct acme_problem *prob);
void acme_signer_release(struct acme_signer *s);

struct acme_client;

struct acme_client *acme_client_new(const char *directory_url,
    const char *ca_bundle, struct acme_signer *signer,
    struct acme_problem *prob);
void acme_client_free(struct acme_client *c);

/* Fetches the directory.  Returns 0 or an error with prob set. */
int acme_client_directory(struct acme_client *c, struct acme_problem *prob);
/* A directory member ("newOrder", ...) or meta member; NULL if absent. */
const char *acme_client_dir_url(struct acme_client *c, const char *name);
const char *acme_client_terms(struct acme_client *c);
/* A directory member as JSON (borrowed), e.g. "meta"; NULL if absent. */
const json_t *acme_client_dir_json(struct acme_client *c, const char *name);
/*
 * meta.profiles (draft-ietf-acme-profiles): an object of profile name ->
 * description, borrowed from the directory; NULL when the CA advertises
 * none (or sends something that is not an object).
 */
json_t *acme_client_profiles(struct acme_client *c);

/*
 * newAccount: contact email (or NULL), terms agreement, optional EAB.
 * On success the account URL is stored in the client (acme_client_kid).
 */
int acme_client_account(struct acme_client *c, const char *email, int agree_tos,
    const char *eab_kid, const char *eab_hmac_b64, struct acme_problem *prob);
/* Uses an account URL already known (from the state directory). */
void acme_client_set_kid(struct acme_client *c, const char *kid);
const char *acme_client_kid(struct acme_client *c);

/*
 * Signed POST of payload (NULL for POST-as-GET) to url; returns the
 * parsed JSON body (new reference) or NULL with prob set to the CA's
 * problem document.  loc (optional) gets the Location header, resolved
 * against url when relative (RFC 3986 section 5).
 */
json_t *acme_client_post(struct acme_client *c, const char *url,
    const json_t *payload, char *loc, size_t locsz, struct acme_problem *prob);

/* POST-as-GET returning the raw body (certificates); caller frees. */
char *acme_client_get_raw(struct acme_client *c, const char *url, size_t *len,
    struct acme_problem *prob);

/*
 * As acme_client_get_raw() for a certificate URL, also returning up to
 * max alternate chain URLs (Link rel="alternate", RFC 8288, resolved
 * against url) in alts (*nalt).
 */
char *acme_client_get_cert(struct acme_client *c, const char *url, size_t *len,
    char (*alts)[1024], size_t max, size_t *nalt, struct acme_problem *prob);

/* keyAuthorization = token "." thumbprint (RFC 8555 8.1); caller frees. */
char *acme_client_key_authorization(struct acme_client *c, const char *token);

/* What a renewalInfo resource said (RFC 9773 4.2). */
struct acme_renewal_info {
	time_t start; /* suggestedWindow, start < end */
	time_t end;
	char explanation[512]; /* explanationURL, "" when none */
	long retry_after;      /* seconds, -1 when absent */
};

/*
 * Fetches renewalInfo for cert_id (an unauthenticated GET, S-ARI-3)
 * from the directory's renewalInfo URL, or from base when not NULL (no
 * directory needed).  Returns 0; ACME_ERR_UNSUPPORTED when the CA offers
 * no renewal information; ACME_ERR_IO for a temporary failure (no
 * response, a 5xx: worth retrying soon); another error for a long-term
 * one (a bad window, 4xx), S-ARI-10.  prob says which.
 */
int acme_client_renewal_info(struct acme_client *c, const char *base,
    const char *cert_id, struct acme_renewal_info *ri,
    struct acme_problem *prob);

/*
 * Polls url (POST-as-GET) until status is not one of the pending states
 * (pending, processing), for at most timeout seconds.  Every
 * Retry-After is honoured as sent; one that would end past the timeout
 * fails at once, saying so.  Returns the final object (new reference),
 * or NULL with prob set.
 */
json_t *acme_client_poll(struct acme_client *c, const char *url, int timeout,
    struct acme_problem *prob);

/*
 * As acme_client_poll(), first waiting first_wait seconds (a Retry-After
 * that came with the request that started the work, finalize's say;
 * -1 or 0: poll at once).
 */
json_t *acme_client_poll_after(struct acme_client *c, const char *url,
    long first_wait, int timeout, struct acme_problem *prob);

/* The Retry-After of the last response, in seconds; -1 when absent. */
long acme_client_retry_after(const struct acme_client *c);

/*
 * Called before each wait of a poll of at least a second: what is
 * polled, its status, the wait and the seconds left (for progress
 * lines; the library prints nothing).  NULL turns it off.
 */
typedef void (*acme_client_progress_fn)(void *arg, const char *url,
    const char *status, long wait_s, long left_s);
void acme_client_set_progress(struct acme_client *c, acme_client_progress_fn fn,
    void *arg);

/*
 * Without Retry-After, acme_client_poll() waits first_ms after the first
 * pending answer and doubles the wait up to max_ms.  5 ms first: a CA
 * nearby has validated by then, and one on the Internet (a second or
 * two) costs a few more cheap polls than a 100 ms start would (D29,
 * D38).
 */
#define ACME_CLIENT_POLL_FIRST_MS 5
#define ACME_CLIENT_POLL_MAX_MS   2000
void acme_client_set_poll(struct acme_client *c, unsigned first_ms,
    unsigned max_ms);

#endif
