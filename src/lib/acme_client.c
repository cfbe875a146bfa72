/* SPDX-License-Identifier: ISC */
/*
 * The ACME client flow (see include/anvil/client.h).  Every signed
 * request goes through post_once(): take the saved nonce (or fetch one),
 * sign, send, save the response's nonce.  A badNonce answer is retried
 * with the nonce that came with it (S-NON-6), a few times; any other
 * problem document is handed to the caller as is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <anvil/ari.h>
#include <anvil/b64url.h>
#include <anvil/client.h>
#include <anvil/err.h>
#include <anvil/http.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>

#include "internal.h"

#define USER_AGENT "anvil/" ANVIL_VERSION

/*
 * Attempts per request while the CA answers badNonce, each with the nonce
 * that came with the refusal (S-NON-6).  More than one retry: a CA may
 * reject nonces at random (pebble does 5 %), and two in a row happen.
 */
#define BADNONCE_TRIES 5

struct key_signer {
	EVP_PKEY *key;
	char *thumb;
};

static json_t *
key_sign(void *ctx, const char *kid, const char *nonce, const char *url,
    const void *payload, size_t len, struct acme_problem *prob)
{
	struct key_signer *ks = ctx;

	return acme_jws_sign_request(ks->key, kid, nonce, url, payload, len,
	    prob);
}

static const char *
key_thumb(void *ctx)
{
	return ((struct key_signer *)ctx)->thumb;
}

int
acme_signer_from_key(struct acme_signer *s, EVP_PKEY *key,
    struct acme_problem *prob)
{
	struct key_signer *ks = calloc(1, sizeof(*ks));

	if (ks == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	ks->key = key;
	if ((ks->thumb = acme_jwk_thumbprint_b64(key, prob)) == NULL) {
		free(ks);
		return ACME_ERR_INVAL;
	}
	s->sign = key_sign;
	s->thumbprint = key_thumb;
	s->ctx = ks;
	return 0;
}

void
acme_signer_release(struct acme_signer *s)
{
	struct key_signer *ks;

	if (s == NULL || (ks = s->ctx) == NULL)
		return;
	free(ks->thumb);
	free(ks);
	s->ctx = NULL;
}

struct acme_client {
	struct acme_http *http;
	struct acme_signer *signer;
	char *dir_url;
	json_t *dir;
	char nonce[256];
	char kid[1024];
	unsigned poll_first_ms; /* first wait without Retry-After */
	unsigned poll_max_ms;   /* the doubling stops here */
	long retry_after;       /* of the last response, seconds; -1 none */
	acme_client_progress_fn progress;
	void *progress_arg;
};

struct acme_client *
acme_client_new(const char *directory_url, const char *ca_bundle,
    struct acme_signer *signer, struct acme_problem *prob)
{
	struct acme_client *c = calloc(1, sizeof(*c));

	if (strncmp(directory_url, "https://", 8) != 0) {
		/* S-TRN-2: ACME runs over HTTPS only. */
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the directory URL must be https://");
		free(c);
		return NULL;
	}
	if (c == NULL ||
	    (c->http = acme_http_new(ca_bundle, USER_AGENT)) == NULL ||
	    (c->dir_url = strdup(directory_url)) == NULL) {
		acme_client_free(c);
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot create the client");
		return NULL;
	}
	c->signer = signer;
	c->retry_after = -1;
	c->poll_first_ms = ACME_CLIENT_POLL_FIRST_MS;
	c->poll_max_ms = ACME_CLIENT_POLL_MAX_MS;
	return c;
}

void
acme_client_set_poll(struct acme_client *c, unsigned first_ms, unsigned max_ms)
{
	c->poll_first_ms = first_ms > 0 ? first_ms : 1;
	c->poll_max_ms = max_ms >= c->poll_first_ms ? max_ms : c->poll_first_ms;
}

void
acme_client_free(struct acme_client *c)
{
	if (c == NULL)
		return;
	acme_http_free(c->http);
	json_decref(c->dir);
	free(c->dir_url);
	free(c);
}

/* Keeps a Replay-Nonce if it is valid base64url (S-NON-9). */
static void
save_nonce(struct acme_client *c, const struct acme_http_resp *r)
{
	if (r->nonce[0] != '\0' &&
	    acme_b64url_valid(r->nonce, strlen(r->nonce)))
		snprintf(c->nonce, sizeof(c->nonce), "%s", r->nonce);
}

/* Turns an error response into prob: its problem document if any. */
static int
response_problem(const struct acme_http_resp *r, const char *what,
    struct acme_problem *prob)
{
	json_t *doc = NULL;

	if (strncmp(r->content_type, "application/problem+json", 24) == 0)
		doc = acme_json_parse(r->body, r->len, ACME_JSON_OBJECT, NULL);
	if (doc != NULL && prob != NULL &&
	    acme_problem_from_json(prob, doc) == 0) {
		json_decref(doc);
		return ACME_ERR_VERIFY;
	}
	json_decref(doc);
	return acme_problem_set_status(prob, ACME_PROB_OTHER, (int)r->status,
	    "%s: HTTP %ld", what, r->status);
}

int
acme_client_directory(struct acme_client *c, struct acme_problem *prob)
{
	struct acme_http_resp r;
	int rc;

	if ((rc = acme_http_request(c->http, "GET", c->dir_url, NULL, 0, &r,
		 prob)) != 0)
		return rc;
	if (r.status != 200) {
		rc = response_problem(&r, "directory", prob);
		acme_http_resp_release(&r);
		return rc;
	}
	json_decref(c->dir);
	c->dir = acme_json_parse(r.body, r.len, ACME_JSON_OBJECT, prob);
	acme_http_resp_release(&r);
	if (c->dir == NULL)
		return ACME_ERR_INVAL;
	if (acme_client_dir_url(c, "newNonce") == NULL ||
	    acme_client_dir_url(c, "newAccount") == NULL ||
	    acme_client_dir_url(c, "newOrder") == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the directory lacks newNonce, newAccount or newOrder");
	return 0;
}

const char *
acme_client_dir_url(struct acme_client *c, const char *name)
{
	return json_string_value(json_object_get(c->dir, name));
}

const json_t *
acme_client_dir_json(struct acme_client *c, const char *name)
{
	return json_object_get(c->dir, name);
}

const char *
acme_client_terms(struct acme_client *c)
{
	return json_string_value(
	    json_object_get(json_object_get(c->dir, "meta"), "termsOfService"));
}

json_t *
acme_client_profiles(struct acme_client *c)
{
	json_t *p =
	    json_object_get(json_object_get(c->dir, "meta"), "profiles");

	return json_is_object(p) ? p : NULL;
}

static int
fetch_nonce(struct acme_client *c, struct acme_problem *prob)
{
	struct acme_http_resp r;
	int rc;

	if ((rc = acme_http_request(c->http, "HEAD",
		 acme_client_dir_url(c, "newNonce"), NULL, 0, &r, prob)) != 0)
		return rc;
	save_nonce(c, &r);
	acme_http_resp_release(&r);
	if (c->nonce[0] == '\0')
		return acme_problem_set(prob, ACME_PROB_BAD_NONCE,
		    "the CA sent no usable nonce");
	return 0;
}

/*
 * One signed POST.  payload NULL is POST-as-GET.  use_kid 0 embeds the
 * jwk (newAccount).  Fills r.  Retries on badNonce (BADNONCE_TRIES).
 */
static int
post_once(struct acme_client *c, const char *url, const char *payload,
    int use_kid, struct acme_http_resp *r, struct acme_problem *prob)
{
	int attempt, rc;

	for (attempt = 0; attempt < BADNONCE_TRIES; attempt++) {
		char nonce[256];
		json_t *jws;
		char *body;

		if (c->nonce[0] == '\0' && (rc = fetch_nonce(c, prob)) != 0)
			return rc;
		snprintf(nonce, sizeof(nonce), "%s", c->nonce);
		c->nonce[0] = '\0'; /* a nonce is good for one request */
		/* No account URL (kid) yet: the jwk, as revocation with the
		 * certificate's own key needs (RFC 8555 7.6). */
		jws = c->signer->sign(c->signer->ctx,
		    use_kid && c->kid[0] != '\0' ? c->kid : NULL, nonce, url,
		    payload, payload != NULL ? strlen(payload) : 0, prob);
		if (jws == NULL)
			return ACME_ERR_CRYPTO;
		body = acme_json_compact(jws, NULL);
		json_decref(jws);
		if (body == NULL)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "out of memory");
		rc = acme_http_request(c->http, "POST", url, body, strlen(body),
		    r, prob);
		free(body);
		if (rc != 0)
			return rc;
		save_nonce(c, r);
		c->retry_after = r->retry_after;
		if (r->status == 400 &&
		    strstr(r->body, "urn:ietf:params:acme:error:badNonce") !=
			NULL &&
		    attempt + 1 < BADNONCE_TRIES) {
			acme_http_resp_release(r);
			continue;
		}
		return 0;
	}
	return 0;
}

static json_t *
post_json(struct acme_client *c, const char *url, const json_t *payload,
    int use_kid, char *loc, size_t locsz, struct acme_problem *prob)
{
	struct acme_http_resp r;
	char *text = NULL;
	json_t *out = NULL;

	if (payload != NULL &&
	    (text = acme_json_compact(payload, NULL)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return NULL;
	}
	if (post_once(c, url, text, use_kid, &r, prob) != 0) {
		free(text);
		return NULL;
	}
	free(text);
	if (r.status >= 400) {
		response_problem(&r, url, prob);
		acme_http_resp_release(&r);
		return NULL;
	}
	if (loc != NULL &&
	    (r.location[0] == '\0' ||
		acme_http_resolve(url, r.location, loc, locsz) != 0))
		snprintf(loc, locsz, "%s", r.location);
	if (r.len == 0)
		out = json_object();
	else
		out = acme_json_parse(r.body, r.len, ACME_JSON_OBJECT, prob);
	acme_http_resp_release(&r);
	return out;
}

json_t *
acme_client_post(struct acme_client *c, const char *url, const json_t *payload,
    char *loc, size_t locsz, struct acme_problem *prob)
{
	return post_json(c, url, payload, 1, loc, locsz, prob);
}

char *
acme_client_get_raw(struct acme_client *c, const char *url, size_t *len,
    struct acme_problem *prob)
{
	return acme_client_get_cert(c, url, len, NULL, 0, NULL, prob);
}

char *
acme_client_get_cert(struct acme_client *c, const char *url, size_t *len,
    char (*alts)[1024], size_t max, size_t *nalt, struct acme_problem *prob)
{
	struct acme_http_resp r;
	char *body;
	size_t i;

	if (nalt != NULL)
		*nalt = 0;
	if (post_once(c, url, NULL, 1, &r, prob) != 0)
		return NULL;
	if (r.status != 200) {
		response_problem(&r, url, prob);
		acme_http_resp_release(&r);
		return NULL;
	}
	/* S-CERT-3: alternate chains are announced with rel="alternate". */
	for (i = 0; alts != NULL && nalt != NULL && *nalt < max; i++)
		if (acme_http_link(&r, "alternate", i, alts[*nalt],
			sizeof(alts[0])) == NULL)
			break;
		else if (acme_http_resolve(url, alts[*nalt], alts[*nalt],
			     sizeof(alts[0])) == 0)
			(*nalt)++;
	body = r.body;
	if (len != NULL)
		*len = r.len;
	r.body = NULL;
	acme_http_resp_release(&r);
	return body;
}

int
acme_client_renewal_info(struct acme_client *c, const char *base,
    const char *cert_id, struct acme_renewal_info *ri,
    struct acme_problem *prob)
{
	struct acme_http_resp r;
	const char *why = NULL;
	char url[2048];
	json_t *doc;
	int rc;

	memset(ri, 0, sizeof(*ri));
	ri->retry_after = -1;
	if (base == NULL &&
	    (base = acme_client_dir_url(c, "renewalInfo")) == NULL) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the CA offers no renewal information");
		return ACME_ERR_UNSUPPORTED;
	}
	if (snprintf(url, sizeof(url), "%s%s%s", base,
		base[0] != '\0' && base[strlen(base) - 1] == '/' ? "" : "/",
		cert_id) >= (int)sizeof(url))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the renewalInfo URL is too long");
	if ((rc = acme_http_request(c->http, "GET", url, NULL, 0, &r, prob)) !=
	    0)
		return ACME_ERR_IO;
	ri->retry_after = r.retry_after;
	if (r.status != 200) {
		response_problem(&r, "renewalInfo", prob);
		rc = r.status >= 500 ? ACME_ERR_IO : ACME_ERR_INVAL;
		acme_http_resp_release(&r);
		return rc;
	}
	doc = acme_json_parse(r.body, r.len, ACME_JSON_OBJECT, prob);
	acme_http_resp_release(&r);
	if (doc == NULL)
		return ACME_ERR_INVAL;
	rc = acme_ari_window(doc, &ri->start, &ri->end, &why, prob);
	if (rc == 0 && why != NULL)
		snprintf(ri->explanation, sizeof(ri->explanation), "%s", why);
	json_decref(doc);
	return rc;
}

void
acme_client_set_kid(struct acme_client *c, const char *kid)
{
	snprintf(c->kid, sizeof(c->kid), "%s", kid);
}

const char *
acme_client_kid(struct acme_client *c)
{
	return c->kid[0] != '\0' ? c->kid : NULL;
}

int
acme_client_account(struct acme_client *c, const char *email, int agree_tos,
    const char *eab_kid, const char *eab_hmac_b64, struct acme_problem *prob)
{
	json_t *payload = json_object(), *acct;
	char loc[1024] = "";
	int rc = ACME_ERR_INVAL;

	if (payload == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	if (email != NULL) {
		char mailto[300];

		snprintf(mailto, sizeof(mailto), "mailto:%s", email);
		json_object_set_new(payload, "contact",
		    json_pack("[s]", mailto));
	}
	if (agree_tos)
		json_object_set_new(payload, "termsOfServiceAgreed",
		    json_true());
	if (eab_kid != NULL && eab_hmac_b64 != NULL) {
		unsigned char *mac = NULL;
		size_t maclen = 0;
		json_t *eab;

		/* Keys are handed out base64url; accept padded input too. */
		char clean[256];
		size_t n = strcspn(eab_hmac_b64, "=");

		snprintf(clean, sizeof(clean), "%.*s", (int)n, eab_hmac_b64);
		if (acme_b64url_decode(clean, strlen(clean), &mac, &maclen) !=
		    0) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "the EAB HMAC key is not base64url");
			goto out;
		}
		/* The EAB payload is the account key; sign it here. */
		{
			struct key_signer *ks = c->signer->ctx;

			eab = c->signer->sign == key_sign ?
				  acme_jws_sign_eab(mac, maclen, eab_kid,
				      acme_client_dir_url(c, "newAccount"),
				      ks->key, prob) :
				  NULL;
		}
		acme_wipe(mac, maclen);
		free(mac);
		if (eab == NULL)
			goto out;
		json_object_set_new(payload, "externalAccountBinding", eab);
	}
	acct = post_json(c, acme_client_dir_url(c, "newAccount"), payload, 0,
	    loc, sizeof(loc), prob);
	if (acct == NULL)
		goto out;
	json_decref(acct);
	if (loc[0] == '\0') {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "newAccount answered without a Location");
		goto out;
	}
	acme_client_set_kid(c, loc);
	rc = 0;
out:
	json_decref(payload);
	return rc;
}

char *
acme_client_key_authorization(struct acme_client *c, const char *token)
{
	const char *tp = c->signer->thumbprint(c->signer->ctx);
	size_t n = strlen(token) + strlen(tp) + 2;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s.%s", token, tp);
	return s;
}

long
acme_client_retry_after(const struct acme_client *c)
{
	return c->retry_after;
}

void
acme_client_set_progress(struct acme_client *c, acme_client_progress_fn fn,
    void *arg)
{
	c->progress = fn;
	c->progress_arg = arg;
}

static void
sleep_ms(long long ms)
{
	struct timespec ts = { (time_t)(ms / 1000),
		(long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) != 0)
		;
}

json_t *
acme_client_poll(struct acme_client *c, const char *url, int timeout,
    struct acme_problem *prob)
{
	return acme_client_poll_after(c, url, -1, timeout, prob);
}

json_t *
acme_client_poll_after(struct acme_client *c, const char *url, long first_wait,
    int timeout, struct acme_problem *prob)
{
	time_t start = time(NULL), end = start + timeout;
	unsigned delay_ms = c->poll_first_ms;
	long ra = first_wait;
	const char *st;
	char last[32] = "processing";
	int first = 1;

	for (;;) {
		struct acme_http_resp r;
		json_t *obj;

		/* The CA's Retry-After as sent (RFC 8555 8.2), within the
		 * caller's total; else a doubling backoff. */
		if (ra > 0) {
			time_t now = time(NULL);

			if (ra > end - now) {
				acme_problem_set(prob, ACME_PROB_OTHER,
				    "%.200s is still %s and the CA asks to "
				    "wait %ld s more, past the %d s allowed "
				    "for polling",
				    url, last, ra, timeout);
				return NULL;
			}
			if (c->progress != NULL)
				c->progress(c->progress_arg, url, last, ra,
				    (long)(end - now));
			sleep_ms((long long)ra * 1000);
		} else if (!first) {
			sleep_ms(delay_ms);
			if (delay_ms < c->poll_max_ms)
				delay_ms = delay_ms * 2 < c->poll_max_ms ?
					       delay_ms * 2 :
					       c->poll_max_ms;
		}
		first = 0;
		if (post_once(c, url, NULL, 1, &r, prob) != 0)
			return NULL;
		if (r.status >= 400) {
			response_problem(&r, url, prob);
			acme_http_resp_release(&r);
			return NULL;
		}
		obj = acme_json_parse(r.body, r.len, ACME_JSON_OBJECT, prob);
		ra = r.retry_after;
		acme_http_resp_release(&r);
		if (obj == NULL)
			return NULL;
		st = json_string_value(json_object_get(obj, "status"));
		if (st == NULL || (strcmp(st, "pending") != 0 &&
				      strcmp(st, "processing") != 0))
			return obj;
		snprintf(last, sizeof(last), "%s", st);
		json_decref(obj);
		if (time(NULL) >= end) {
			acme_problem_set(prob, ACME_PROB_OTHER,
			    "%.200s still %s after %d seconds", url, last,
			    timeout);
			return NULL;
		}
	}
}
