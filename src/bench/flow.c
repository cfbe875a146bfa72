/* SPDX-License-Identifier: ISC */
/*
 * One worker's ACME flow over libanvil's client: account (once, or per
 * order), then per issuance newOrder, every authorization fetched and
 * its http-01 challenge answered, polled until valid, finalize with a
 * fresh key, download, and a check that the certificate is for that key.
 * The signer is wrapped so the run can report how many JWS requests an
 * issuance costs the CA (each one a signature verification there).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include <anvil/csr.h>
#include <anvil/err.h>
#include <anvil/x509.h>

#include "bench.h"

#include "internal.h"

#define LOC_MAX 1024

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The counting signer: one more JWS, then the account key's signature. */
static json_t *
count_sign(void *ctx, const char *kid, const char *nonce, const char *url,
    const void *payload, size_t len, struct acme_problem *prob)
{
	struct bench_worker *w = ctx;

	w->res.jws++;
	return w->inner.sign(w->inner.ctx, kid, nonce, url, payload, len, prob);
}

static const char *
count_thumb(void *ctx)
{
	struct bench_worker *w = ctx;

	return w->inner.thumbprint(w->inner.ctx);
}

int
flow_connect(struct bench_worker *w, struct acme_problem *prob)
{
	w->signer.sign = count_sign;
	w->signer.thumbprint = count_thumb;
	w->signer.ctx = w;
	if ((w->client = acme_client_new(w->opts->directory, w->opts->ca_bundle,
		 &w->signer, prob)) == NULL)
		return ACME_ERR_INVAL;
	acme_client_set_poll(w->client, w->opts->poll_ms,
	    ACME_CLIENT_POLL_MAX_MS);
	return acme_client_directory(w->client, prob);
}

/*
 * The worker's account key: a new P-256 key, or with --account-keys the
 * one kept in DIR/account-N.pem from an earlier run (made and kept there
 * on the first), so successive runs find their accounts again
 * (newAccount with a known key answers the existing account).
 */
static EVP_PKEY *
account_key(struct bench_worker *w, struct acme_problem *prob)
{
	char path[4096];
	EVP_PKEY *key;

	if (w->opts->account_keys == NULL)
		return acme_key_generate(ACME_KEY_EC256, prob);
	if (snprintf(path, sizeof(path), "%s/account-%u.pem",
		w->opts->account_keys, w->id) >= (int)sizeof(path)) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "--account-keys: path too long");
		return NULL;
	}
	if (access(path, F_OK) == 0)
		return acme_key_load_file(path, prob);
	if ((key = acme_key_generate(ACME_KEY_EC256, prob)) != NULL &&
	    acme_key_save_file(key, path, prob) != 0) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

int
flow_account(struct bench_worker *w, int timed, struct acme_problem *prob)
{
	double t0 = now_ms();
	int rc;

	/* A fresh key replaces the last one; the connection stays. */
	acme_signer_release(&w->inner);
	EVP_PKEY_free(w->key);
	if ((w->key = account_key(w, prob)) == NULL)
		return ACME_ERR_CRYPTO;
	if ((rc = acme_signer_from_key(&w->inner, w->key, prob)) != 0)
		return rc;
	/* A CA with terms gets agreement: the operator chose this CA. */
	if ((rc = acme_client_account(w->client, NULL, 1, NULL, NULL, prob)) !=
	    0)
		return rc;
	responder_set_thumb(w->resp, w->id, w->inner.thumbprint(w->inner.ctx));
	if (timed)
		return bench_samples_add(&w->res.step[STEP_ACCOUNT],
		    now_ms() - t0);
	return 0;
}

void
flow_release(struct bench_worker *w)
{
	acme_client_free(w->client);
	w->client = NULL;
	acme_signer_release(&w->inner);
	EVP_PKEY_free(w->key);
	w->key = NULL;
	bench_result_release(&w->res);
}

/* n random unique names RANDOM.wN.domain, sorted as the CSR wants. */
static int
make_names(struct bench_worker *w, struct acme_ident *ids, size_t n,
    struct acme_problem *prob)
{
	unsigned char rnd[8];
	char name[300];
	size_t i;

	for (i = 0; i < n; i++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "no randomness");
		snprintf(name, sizeof(name),
		    "%02x%02x%02x%02x%02x%02x%02x%02x.w%u.%s", rnd[0], rnd[1],
		    rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7], w->id,
		    w->opts->domain);
		if (acme_ident_from_name(&ids[i], name) != 0)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "\"%s\" is not a DNS name (check --domain)", name);
	}
	qsort(ids, n, sizeof(*ids), acme_ident_cmp);
	return 0;
}

/* The identifiers as a newOrder payload (new reference). */
static json_t *
order_payload(const struct acme_ident *ids, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr,
		    json_pack("{s:s, s:s}", "type",
			acme_ident_type_name(ids[i].type), "value",
			ids[i].value));
	return arr != NULL ? json_pack("{s:o}", "identifiers", arr) : NULL;
}

/* Fetches authz_url and triggers its http-01 challenge. */
static int
answer(struct bench_worker *w, const char *authz_url, double *t_authz,
    struct acme_problem *prob)
{
	json_t *az, *ch, *resp = NULL, *empty = NULL;
	const char *url = NULL, *st;
	double t0 = now_ms();
	size_t i;
	int rc = ACME_ERR_INVAL;

	if ((az = acme_client_post(w->client, authz_url, NULL, NULL, 0,
		 prob)) == NULL)
		return ACME_ERR_IO;
	*t_authz += now_ms() - t0;
	st = json_string_value(json_object_get(az, "status"));
	if (st != NULL && strcmp(st, "valid") == 0) {
		rc = 0; /* reused: nothing to answer */
		goto out;
	}
	json_array_foreach(json_object_get(az, "challenges"), i, ch)
	{
		const char *type =
		    json_string_value(json_object_get(ch, "type"));

		if (type != NULL && strcmp(type, "http-01") == 0)
			url = json_string_value(json_object_get(ch, "url"));
	}
	if (url == NULL) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "authorization without an http-01 challenge");
		goto out;
	}
	/* No publishing: the responder derives the answer (bench.h). */
	if ((empty = json_object()) == NULL ||
	    (resp = acme_client_post(w->client, url, empty, NULL, 0, prob)) ==
		NULL)
		goto out;
	rc = 0;
out:
	json_decref(resp);
	json_decref(empty);
	json_decref(az);
	return rc;
}

/* The error of an authorization's failed challenge, as prob. */
static int
authz_problem(const json_t *az, const char *st, struct acme_problem *prob)
{
	const json_t *ch, *err = NULL;
	size_t k;

	json_array_foreach(json_object_get(az, "challenges"), k, ch)
	{
		if (json_object_get(ch, "error") != NULL)
			err = json_object_get(ch, "error");
	}
	if (err == NULL || acme_problem_from_json(prob, err) != 0)
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "authorization is %s", st != NULL ? st : "without status");
	return ACME_ERR_VERIFY;
}

/* Polls every authorization until it is valid. */
static int
await_authzs(struct bench_worker *w, json_t *list, struct acme_problem *prob)
{
	json_t *u, *done;
	const char *st;
	size_t i;
	int rc = 0;

	json_array_foreach(list, i, u)
	{
		if ((done = acme_client_poll(w->client, json_string_value(u),
			 (int)w->opts->timeout, prob)) == NULL)
			return ACME_ERR_IO;
		st = json_string_value(json_object_get(done, "status"));
		if (st == NULL || strcmp(st, "valid") != 0)
			rc = authz_problem(done, st, prob);
		json_decref(done);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * The download starts with a certificate for the CSR's key: the
 * issuance worked.  The leaf's DER must be one whole SEQUENCE that
 * carries the CSR's SubjectPublicKeyInfo byte for byte; it is not
 * parsed, because OpenSSL 3.0 decodes a certificate's key through its
 * decoder framework, which cost an eighth of this client's CPU per
 * issuance, and the CA's own tests parse what it issues.
 */
static int
check_cert(const char *pem, size_t len, X509_REQ *csr,
    struct acme_problem *prob)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	const char *b = memmem(pem, len, begin, sizeof(begin) - 1), *e;
	unsigned char *der = NULL, *spki = NULL;
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int n = 0, fin = 0, spkilen, ok = 0;
	size_t body, dlen, hdr, seqlen = 0, i;

	e = b != NULL ?
		memmem(b, len - (size_t)(b - pem), end, sizeof(end) - 1) :
		NULL;
	if (e == NULL || ctx == NULL)
		goto out;
	b += sizeof(begin) - 1;
	body = (size_t)(e - b);
	spkilen = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(csr), &spki);
	if (spkilen <= 0 || body > INT32_MAX || (der = malloc(body)) == NULL)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, der, &n, (const unsigned char *)b,
		(int)body) < 0 ||
	    EVP_DecodeFinal(ctx, der + n, &fin) != 1)
		goto out;
	dlen = (size_t)n + (size_t)fin;
	/* SEQUENCE, long-form length of 1-3 octets, covering the rest. */
	if (dlen < 4 || der[0] != 0x30 || (der[1] & 0x80) == 0 ||
	    (hdr = 2 + (der[1] & 0x7f)) > 5 || hdr > dlen)
		goto out;
	for (i = 2; i < hdr; i++)
		seqlen = seqlen << 8 | der[i];
	ok = hdr + seqlen == dlen &&
	     memmem(der, dlen, spki, (size_t)spkilen) != NULL;
out:
	EVP_ENCODE_CTX_free(ctx);
	OPENSSL_free(spki);
	free(der);
	return ok ? 0 :
		    acme_problem_set(prob, ACME_PROB_MALFORMED,
			"the download does not begin with a certificate for "
			"the key in the CSR");
}

int
flow_record(FILE *f, const char *pem, size_t len, struct acme_problem *prob)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	BIO *b = len <= INT32_MAX ? BIO_new_mem_buf(pem, (int)len) : NULL;
	X509 *cert = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	char serial[80];
	int ok;

	ok = cert != NULL &&
	     acme_x509_serial_hex(cert, serial, sizeof(serial)) == 0;
	X509_free(cert);
	BIO_free(b);
	if (!ok)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "cannot read the serial of the certificate received");
	pthread_mutex_lock(&mu);
	ok = fprintf(f, "%s\n", serial) > 0 && fflush(f) == 0;
	pthread_mutex_unlock(&mu);
	return ok ? 0 :
		    acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			"--record: cannot write: %s", strerror(errno));
}

int
flow_issue(struct bench_worker *w, struct acme_problem *prob)
{
	struct acme_ident ids[BENCH_MAX_NAMES];
	double t[STEP__COUNT] = { 0 }, t0, start = now_ms();
	json_t *payload = NULL, *order = NULL, *fin = NULL, *list, *u;
	EVP_PKEY *cert_key = NULL;
	X509_REQ *csr = NULL;
	char order_url[LOC_MAX] = "", *b64 = NULL, *pem = NULL;
	const char *st, *cert_url;
	size_t n = w->opts->names, i, pemlen = 0;
	int rc = ACME_ERR_INVAL;

	if (w->opts->new_account_per_order &&
	    (rc = flow_account(w, 1, prob)) != 0)
		return rc;
	if ((rc = make_names(w, ids, n, prob)) != 0)
		return rc;
	rc = ACME_ERR_INVAL;
	if ((payload = order_payload(ids, n)) == NULL)
		goto nomem;
	t0 = now_ms();
	if ((order = acme_client_post(w->client,
		 acme_client_dir_url(w->client, "newOrder"), payload, order_url,
		 sizeof(order_url), prob)) == NULL)
		goto out;
	t[STEP_NEW_ORDER] = now_ms() - t0;
	list = json_object_get(order, "authorizations");
	if (json_array_size(list) == 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "order without authorizations");
		goto out;
	}
	/* Answer all, then wait for all: validations run side by side. */
	t0 = now_ms();
	json_array_foreach(list, i, u)
	{
		if (!json_is_string(u)) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "authorization URL is not a string");
			goto out;
		}
		if (answer(w, json_string_value(u), &t[STEP_AUTHZ], prob) != 0)
			goto out;
	}
	if (await_authzs(w, list, prob) != 0)
		goto out;
	t[STEP_CHALLENGE] = now_ms() - t0 - t[STEP_AUTHZ];
	/* The key and CSR are client work: outside the finalize step. */
	json_decref(payload);
	payload = NULL;
	if ((cert_key = acme_key_generate(w->opts->key_type, prob)) == NULL ||
	    (csr = acme_csr_build(cert_key, ids, n, prob)) == NULL)
		goto out;
	if ((b64 = acme_csr_to_b64url(csr)) == NULL ||
	    (payload = json_pack("{s:s}", "csr", b64)) == NULL)
		goto nomem;
	t0 = now_ms();
	if ((fin = acme_client_post(w->client,
		 json_string_value(json_object_get(order, "finalize")), payload,
		 NULL, 0, prob)) == NULL)
		goto out;
	st = json_string_value(json_object_get(fin, "status"));
	/* A CA that issues in the request needs no poll (anvil-ca, D14). */
	if (st == NULL || strcmp(st, "valid") != 0) {
		json_decref(fin);
		if ((fin = acme_client_poll(w->client, order_url,
			 (int)w->opts->timeout, prob)) == NULL)
			goto out;
	}
	if ((cert_url = json_string_value(
		 json_object_get(fin, "certificate"))) == NULL) {
		st = json_string_value(json_object_get(fin, "status"));
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "order ended %s without a certificate",
		    st != NULL ? st : "without status");
		goto out;
	}
	t[STEP_FINALIZE] = now_ms() - t0;
	t0 = now_ms();
	if ((pem = acme_client_get_raw(w->client, cert_url, &pemlen, prob)) ==
	    NULL)
		goto out;
	t[STEP_DOWNLOAD] = now_ms() - t0;
	if (check_cert(pem, pemlen, csr, prob) != 0 ||
	    (w->opts->record != NULL &&
		flow_record(w->opts->record, pem, pemlen, prob) != 0))
		goto out;
	w->res.last_done_ms = now_ms();
	t[STEP_TOTAL] = w->res.last_done_ms - start;
	for (i = STEP_NEW_ORDER; i < STEP__COUNT; i++)
		if (bench_samples_add(&w->res.step[i], t[i]) != 0)
			goto nomem;
	w->res.completed++;
	rc = 0;
	goto out;
nomem:
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "out of memory");
	rc = ACME_ERR_NOMEM;
out:
	free(pem);
	free(b64);
	X509_REQ_free(csr);
	EVP_PKEY_free(cert_key);
	json_decref(fin);
	json_decref(order);
	json_decref(payload);
	return rc;
}
