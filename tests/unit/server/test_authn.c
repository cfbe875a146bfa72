/* SPDX-License-Identifier: ISC */
/*
 * authn_check(), the one place where anvil-ca authenticates a POST
 * (RFC 8555 6.2-6.5), driven by a table: each row builds one request
 * (media type, JWS shape, nonce, url, jwk or kid, signing key) against a
 * temporary SQLite store holding a valid and a deactivated account, and
 * says what must come of it: accepted, or refused with a status and a
 * problem type.  Rows that pass check that req->jws (and req->acct for
 * kid) are set; rows that fail check that nothing is left set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>
#include <anvil/key.h>

#include "http/authn.h"
#include "http/keycache.h"
#include "http/reply.h"
#include "nonce.h"
#include "srv.h"
#include "store/store.h"

#include "../helpers.h"

#define BASE     "https://ca.test"
#define URL      BASE "/acme/new-order"
#define ACCT_URL BASE "/acme/acct/"

struct fx {
	char *dir;
	struct srv srv;
	EVP_PKEY *k_valid, *k_deact, *k_other, *k_rsa;
	char id_valid[STORE_ID_SIZE], id_deact[STORE_ID_SIZE];
};

static struct fx fx;

static int
add_account(EVP_PKEY *k, enum store_status st, char *id)
{
	struct acme_problem p = { 0 };
	struct store_account a;
	json_t *jwk = acme_jwk_from_key(k, &p);
	char *thumb = acme_jwk_thumbprint_b64(k, &p);
	int rc;

	memset(&a, 0, sizeof(a));
	if (jwk == NULL || thumb == NULL || store_new_id(a.id) != 0)
		return -1;
	a.status = st;
	snprintf(a.thumbprint, sizeof(a.thumbprint), "%s", thumb);
	a.jwk = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	a.contact = NULL;
	a.created = 1000;
	rc = fx.srv.store->ops->account_insert(fx.srv.store, &a, &p);
	memcpy(id, a.id, STORE_ID_SIZE);
	free(a.jwk);
	free(thumb);
	json_decref(jwk);
	acme_problem_release(&p);
	return rc;
}

static int
setup(void **state)
{
	struct acme_problem p = { 0 };
	char url[4200];

	(void)state;
	fx.dir = th_tmpdir();
	snprintf(url, sizeof(url), "sqlite:%s/t.db", fx.dir);
	if ((fx.srv.store = store_open(url, NULL)) == NULL ||
	    (fx.srv.nonces = nonce_pool_new(0)) == NULL ||
	    (fx.srv.keys = keycache_new(64)) == NULL ||
	    (fx.k_valid = acme_key_generate(ACME_KEY_EC256, &p)) == NULL ||
	    (fx.k_deact = acme_key_generate(ACME_KEY_EC256, &p)) == NULL ||
	    (fx.k_other = acme_key_generate(ACME_KEY_EC256, &p)) == NULL ||
	    (fx.k_rsa = acme_key_generate(ACME_KEY_RSA2048, &p)) == NULL)
		return -1;
	if (add_account(fx.k_valid, ST_VALID, fx.id_valid) != 0 ||
	    add_account(fx.k_deact, ST_DEACTIVATED, fx.id_deact) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	keycache_free(fx.srv.keys);
	nonce_pool_free(fx.srv.nonces);
	store_close(fx.srv.store);
	EVP_PKEY_free(fx.k_valid);
	EVP_PKEY_free(fx.k_deact);
	EVP_PKEY_free(fx.k_other);
	EVP_PKEY_free(fx.k_rsa);
	th_rmtree(fx.dir);
	free(fx.dir);
	return 0;
}

/* How a row's request is made. */
enum nonce_kind { N_FRESH, N_UNKNOWN, N_SPENT, N_NONE };
enum who { W_JWK, W_KID_VALID, W_KID_DEACT, W_KID_UNKNOWN, W_KID_FOREIGN };

struct row {
	const char *name;
	enum authn_mode mode;
	const char *ctype;
	enum who who;
	enum nonce_kind nonce;
	const char *url;  /* NULL: the request URL */
	const char *alg;  /* NULL: the key's own */
	int sign_other;   /* signed with k_other, not the named key */
	const char *raw;  /* the body as is, instead of a JWS */
	int extra_member; /* an unknown top-level member beside the JWS */
	int want_status;  /* 0: accepted */
	enum acme_prob_type want;
	int want_algorithms; /* the problem lists the algorithms */
};

/* base64url of s. */
static char *
b64(const char *s)
{
	return acme_b64url_encode(s, strlen(s));
}

/*
 * A flattened JWS with the given protected header members, signed by
 * key with alg (ES256 for the EC keys here); sig "" for alg none.
 */
static int extra_member;

static char *
make_jws(EVP_PKEY *key, json_t *hdr, const char *alg)
{
	struct acme_problem p = { 0 };
	char *hdr_text, *ph, *pl, *input, *out;
	unsigned char *sig = NULL;
	size_t siglen = 0, n;
	char *sigb = NULL;
	enum acme_jws_alg a = acme_jws_alg_from_name(alg);

	json_object_set_new(hdr, "alg", json_string(alg));
	hdr_text = json_dumps(hdr, JSON_COMPACT);
	ph = b64(hdr_text);
	pl = b64("{}");
	n = strlen(ph) + strlen(pl) + 2;
	input = malloc(n);
	snprintf(input, n, "%s.%s", ph, pl);
	if (a != ACME_JWS_ALG_NONE && a != ACME_JWS_HS256)
		sig = acme_jws_sign_raw(key, a, input, strlen(input), &siglen,
		    &p);
	else if (a == ACME_JWS_HS256) {
		static const unsigned char mac[32] = { 1 };

		sig = malloc(32);
		memcpy(sig, mac, 32); /* any MAC: it must not be looked at */
		siglen = 32;
	}
	if (sig == NULL && a != ACME_JWS_ALG_NONE) {
		/* The key cannot make this alg: a signature of its size. */
		sig = calloc(1, 96);
		siglen = 96;
	}
	sigb = sig != NULL ? acme_b64url_encode(sig, siglen) : strdup("");
	n = strlen(ph) + strlen(pl) + strlen(sigb) + 64;
	out = malloc(n);
	snprintf(out, n,
	    "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"%s}",
	    ph, pl, sigb, extra_member ? ",\"x-unknown\":[1]" : "");
	free(hdr_text);
	free(ph);
	free(pl);
	free(input);
	free(sig);
	free(sigb);
	acme_problem_release(&p);
	return out;
}

static char *
build(const struct row *r)
{
	json_t *hdr = json_object();
	char nonce[NONCE_LEN + 1], kid[512];
	EVP_PKEY *key = fx.k_valid;
	char *body;

	switch (r->nonce) {
	case N_FRESH:
	case N_SPENT:
		assert_int_equal(nonce_issue(fx.srv.nonces, nonce), 0);
		if (r->nonce == N_SPENT)
			assert_int_equal(nonce_redeem(fx.srv.nonces, nonce), 0);
		json_object_set_new(hdr, "nonce", json_string(nonce));
		break;
	case N_UNKNOWN:
		json_object_set_new(hdr, "nonce",
		    json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
		break;
	case N_NONE:
		break;
	}
	json_object_set_new(hdr, "url", json_string(r->url ? r->url : URL));
	switch (r->who) {
	case W_JWK:
		json_object_set_new(hdr, "jwk",
		    acme_jwk_from_key(r->alg && strcmp(r->alg, "RS256") == 0 ?
					  fx.k_rsa :
					  fx.k_valid,
			NULL));
		if (r->alg && strcmp(r->alg, "RS256") == 0)
			key = fx.k_rsa;
		break;
	case W_KID_VALID:
	case W_KID_DEACT:
	case W_KID_UNKNOWN:
		snprintf(kid, sizeof(kid), ACCT_URL "%s",
		    r->who == W_KID_VALID ? fx.id_valid :
		    r->who == W_KID_DEACT ? fx.id_deact :
					    "AAAAAAAAAAAAAAAAAAAAAA");
		if (r->who == W_KID_DEACT)
			key = fx.k_deact;
		json_object_set_new(hdr, "kid", json_string(kid));
		break;
	case W_KID_FOREIGN:
		snprintf(kid, sizeof(kid), "https://other.test/acme/acct/%s",
		    fx.id_valid);
		json_object_set_new(hdr, "kid", json_string(kid));
		break;
	}
	if (r->sign_other)
		key = fx.k_other;
	extra_member = r->extra_member;
	body = make_jws(key, hdr, r->alg ? r->alg : "ES256");
	extra_member = 0;
	json_decref(hdr);
	return body;
}

static void
run_row(const struct row *r)
{
	struct req req;
	struct resp resp;
	char *body = r->raw != NULL ? strdup(r->raw) : build(r);
	int rc;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = "POST";
	req.path = "/acme/new-order";
	req.url = URL;
	req.base = BASE;
	req.content_type = r->ctype ? r->ctype : "application/jose+json";
	req.body = body;
	req.body_len = strlen(body);
	rc = authn_check(&fx.srv, &req, r->mode, &resp);
	if (r->want_status == 0) {
		if (rc != 0)
			fail_msg("%s: refused (%d %s: %s)", r->name,
			    resp.status, acme_problem_type_name(resp.prob.type),
			    resp.prob.detail);
		assert_non_null(req.jws);
		assert_true((req.acct != NULL) == (r->who == W_KID_VALID));
		if (req.acct != NULL)
			assert_string_equal(req.acct->id, fx.id_valid);
	} else {
		if (rc == 0)
			fail_msg("%s: accepted", r->name);
		if (resp.status != r->want_status || resp.prob.type != r->want)
			fail_msg("%s: %d %s (%s), want %d %s", r->name,
			    resp.status, acme_problem_type_name(resp.prob.type),
			    resp.prob.detail, r->want_status,
			    acme_problem_type_name(r->want));
		assert_null(req.jws);
		assert_null(req.acct);
		if (r->want_algorithms) {
			json_t *doc =
			    json_loadb(resp.body, resp.body_len, 0, NULL);

			assert_true(json_array_size(json_object_get(doc,
					"algorithms")) > 0);
			json_decref(doc);
		}
	}
	authn_release(&req);
	reply_release(&resp);
	free(body);
}

static void
authn__table(void **state)
{
	static const struct row rows[] = {
		{ .name = "jwk accepted for newAccount",
		    .mode = AUTHN_JWK,
		    .who = W_JWK,
		    .nonce = N_FRESH },
		{ .name = "RS256 jwk accepted",
		    .mode = AUTHN_JWK,
		    .who = W_JWK,
		    .nonce = N_FRESH,
		    .alg = "RS256" },
		{ .name = "kid accepted",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH },
		{ .name = "either: kid",
		    .mode = AUTHN_EITHER,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH },
		{ .name = "either: jwk",
		    .mode = AUTHN_EITHER,
		    .who = W_JWK,
		    .nonce = N_FRESH },
		{ .name = "S-JWS-4 media type",
		    .mode = AUTHN_KID,
		    .ctype = "application/json",
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .want_status = 415,
		    .want = ACME_PROB_MALFORMED },
		{ .name = "media type with parameters",
		    .mode = AUTHN_KID,
		    .ctype = "application/jose+json; charset=utf-8",
		    .who = W_KID_VALID,
		    .nonce = N_FRESH },
		{ .name = "not JSON",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .raw = "{\"protected\":",
		    .want_status = 400,
		    .want = ACME_PROB_MALFORMED },
		{ .name = "compact serialization",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .raw = "eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
		    .want_status = 400,
		    .want = ACME_PROB_MALFORMED },
		{ .name = "S-NON-2 unknown nonce",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_UNKNOWN,
		    .want_status = 400,
		    .want = ACME_PROB_BAD_NONCE },
		{ .name = "S-NON-3 spent nonce",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_SPENT,
		    .want_status = 400,
		    .want = ACME_PROB_BAD_NONCE },
		{ .name = "no nonce",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_NONE,
		    .want_status = 400,
		    .want = ACME_PROB_BAD_NONCE },
		{ .name = "S-JWS-9 url is not the request URL",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .url = BASE "/acme/new-account",
		    .want_status = 403,
		    .want = ACME_PROB_UNAUTHORIZED },
		{ .name = "url with another host",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .url = "https://evil.test/acme/new-order",
		    .want_status = 403,
		    .want = ACME_PROB_UNAUTHORIZED },
		{ .name = "kid where jwk is needed",
		    .mode = AUTHN_JWK,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .want_status = 400,
		    .want = ACME_PROB_MALFORMED },
		{ .name = "jwk where kid is needed",
		    .mode = AUTHN_KID,
		    .who = W_JWK,
		    .nonce = N_FRESH,
		    .want_status = 400,
		    .want = ACME_PROB_MALFORMED },
		{ .name = "kid of no account",
		    .mode = AUTHN_KID,
		    .who = W_KID_UNKNOWN,
		    .nonce = N_FRESH,
		    .want_status = 400,
		    .want = ACME_PROB_ACCOUNT_DOES_NOT_EXIST },
		{ .name = "kid of another server",
		    .mode = AUTHN_KID,
		    .who = W_KID_FOREIGN,
		    .nonce = N_FRESH,
		    .want_status = 400,
		    .want = ACME_PROB_ACCOUNT_DOES_NOT_EXIST },
		{ .name = "S-ACCT-12 deactivated account",
		    .mode = AUTHN_KID,
		    .who = W_KID_DEACT,
		    .nonce = N_FRESH,
		    .want_status = 401,
		    .want = ACME_PROB_UNAUTHORIZED },
		{ .name = "kid signed by another key",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .sign_other = 1,
		    .want_status = 400,
		    .want = ACME_PROB_MALFORMED },
		{ .name = "jwk signed by another key",
		    .mode = AUTHN_JWK,
		    .who = W_JWK,
		    .nonce = N_FRESH,
		    .sign_other = 1,
		    .want_status = 400,
		    .want = ACME_PROB_MALFORMED },
		{ .name = "S-JWS-8 alg none",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .alg = "none",
		    .want_status = 400,
		    .want = ACME_PROB_BAD_SIGNATURE_ALGORITHM,
		    .want_algorithms = 1 },
		{ .name = "S-JWS-8 alg none with a spent nonce",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_SPENT,
		    .alg = "none",
		    .want_status = 400,
		    .want = ACME_PROB_BAD_SIGNATURE_ALGORITHM,
		    .want_algorithms = 1 },
		{ .name = "S-JWS-1 unknown top-level member ignored",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .extra_member = 1 },
		{ .name = "S-JWS-8 alg HS256",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .alg = "HS256",
		    .want_status = 400,
		    .want = ACME_PROB_BAD_SIGNATURE_ALGORITHM,
		    .want_algorithms = 1 },
		{ .name = "alg that does not fit the key",
		    .mode = AUTHN_KID,
		    .who = W_KID_VALID,
		    .nonce = N_FRESH,
		    .alg = "ES384",
		    .want_status = 400,
		    .want = ACME_PROB_BAD_PUBLIC_KEY },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
}

/*
 * S-NON-4: the nonce is spent as soon as it is read, so a request that
 * fails a later check cannot be replayed with the same nonce.
 */
static void
authn__S_NON_4_nonce_spent_by_a_failed_request(void **state)
{
	struct req req;
	struct resp resp;
	json_t *hdr = json_object();
	char nonce[NONCE_LEN + 1], *body;

	(void)state;
	assert_int_equal(nonce_issue(fx.srv.nonces, nonce), 0);
	json_object_set_new(hdr, "nonce", json_string(nonce));
	json_object_set_new(hdr, "url", json_string(BASE "/elsewhere"));
	json_object_set_new(hdr, "jwk", acme_jwk_from_key(fx.k_valid, NULL));
	body = make_jws(fx.k_valid, hdr, "ES256");
	json_decref(hdr);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.url = URL;
	req.base = BASE;
	req.content_type = "application/jose+json";
	req.body = body;
	req.body_len = strlen(body);
	assert_int_not_equal(authn_check(&fx.srv, &req, AUTHN_JWK, &resp), 0);
	assert_int_equal(resp.prob.type, ACME_PROB_UNAUTHORIZED);
	reply_release(&resp);
	assert_int_not_equal(nonce_redeem(fx.srv.nonces, nonce), 0);
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(authn__table),
		cmocka_unit_test(
		    authn__S_NON_4_nonce_spent_by_a_failed_request),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
