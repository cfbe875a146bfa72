/* SPDX-License-Identifier: ISC */
/*
 * Allocation-failure injection: every libanvil parser and the JWS check
 * run again and again, the first time with the first allocation failing,
 * then the second, and so on until a run makes no more allocations than
 * the failure point.  Each run must either give the right answer or fail
 * cleanly (an error return with a problem set), and must leave no
 * allocation behind.
 *
 * Every allocation is counted here: libanvil's own through the linker's
 * --wrap (meson.build), jansson's too (libanvil hands jansson its own
 * allocator, see json.c, whose calls are wrapped) and OpenSSL's through
 * CRYPTO_set_mem_functions().  The live blocks are kept
 * in a table, so a leak is seen in the plain build as well as under ASan
 * (which checks the same runs again at exit).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <anvil/ari.h>
#include <anvil/b64url.h>
#include <anvil/csr.h>
#include <anvil/http.h>
#include <anvil/ident.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>
#include <anvil/key.h>
#include <anvil/problem.h>

#include "helpers.h"
#include "http_parse.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

/* --- the counting allocator --- */

#define LIVE_MAX 65536 /* open addressing; far more than any one run */

static void *live[LIVE_MAX];
static size_t nlive;
static int from_openssl;      /* the allocation in progress is OpenSSL's */
static unsigned long calls;   /* allocations since the count started */
static unsigned long fail_at; /* 1-based; 0: none fails */
static int injected;

static size_t
slot(const void *p)
{
	return (size_t)(((uintptr_t)p >> 4) * 2654435761u) % LIVE_MAX;
}

static void
track(void *p)
{
	size_t i = slot(p);

	if (p == NULL)
		return;
	while (live[i] != NULL)
		i = (i + 1) % LIVE_MAX;
	live[i] = p;
	nlive++;
}

/* Removes p; 0 when it was not ours (allocated before, or by libc). */
static int
untrack(void *p)
{
	size_t i = slot(p), j, k;

	while (live[i] != NULL && live[i] != p)
		i = (i + 1) % LIVE_MAX;
	if (live[i] == NULL)
		return 0;
	/* Deletion with backward shift keeps the probe chains whole. */
	live[i] = NULL;
	nlive--;
	for (j = (i + 1) % LIVE_MAX; live[j] != NULL; j = (j + 1) % LIVE_MAX) {
		k = slot(live[j]);
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && k <= i && k > j)) {
			live[i] = live[j];
			live[j] = NULL;
			i = j;
		}
	}
	return 1;
}

static int
fail_now(void)
{
	if (fail_at != 0 && ++calls == fail_at) {
		injected = 1;
		return 1;
	}
	return 0;
}

void *
__wrap_malloc(size_t n)
{
	void *p;

	if (fail_now())
		return NULL;
	p = __real_malloc(n);
	if (!from_openssl)
		track(p);
	return p;
}

void *
__wrap_calloc(size_t n, size_t m)
{
	void *p;

	if (fail_now())
		return NULL;
	p = __real_calloc(n, m);
	track(p);
	return p;
}

void *
__wrap_realloc(void *p, size_t n)
{
	void *q;

	if (fail_now())
		return NULL;
	q = __real_realloc(p, n);
	if (!from_openssl) {
		if (q != NULL && p != NULL)
			untrack(p);
		track(q);
	}
	return q;
}

void
__wrap_free(void *p)
{
	if (p != NULL)
		untrack(p);
	__real_free(p);
}

char *
__wrap_strdup(const char *s)
{
	return __wrap_strndup(s, strlen(s));
}

char *
__wrap_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = __wrap_malloc(len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static void *
ossl_malloc(size_t n, const char *file, int line)
{
	void *p;

	(void)file;
	(void)line;
	from_openssl = 1;
	p = __wrap_malloc(n);
	from_openssl = 0;
	return p;
}

static void *
ossl_realloc(void *p, size_t n, const char *file, int line)
{
	void *q;

	(void)file;
	(void)line;
	from_openssl = 1;
	q = __wrap_realloc(p, n);
	from_openssl = 0;
	return q;
}

static void
ossl_free(void *p, const char *file, int line)
{
	(void)file;
	(void)line;
	__wrap_free(p);
}

/*
 * A case: 0 for the right answer, 1 for a clean refusal (error return
 * and a problem set), -1 for anything else.  It frees all it made.
 */
typedef int (*case_fn)(void);

/*
 * Runs fn with allocation 1, 2, ... failing until a run makes fewer
 * allocations than the failure point.  Returns the number of failure
 * points tried.
 */
static unsigned long
inject(case_fn fn)
{
	unsigned long n;
	size_t base;
	int rc;

	/* Once unhindered first: OpenSSL's lazily made tables and this
	 * thread's error state are not the case's to free. */
	assert_int_equal(fn(), 0);
	ERR_clear_error();
	base = nlive;
	for (n = 1;; n++) {
		calls = 0;
		injected = 0;
		fail_at = n;
		rc = fn();
		fail_at = 0;
		ERR_clear_error();
		if (rc < 0 || nlive != base)
			fail_msg("failing allocation %lu: result %d, %zu "
				 "blocks "
				 "left behind",
			    n, rc, nlive - base);
		if (!injected) {
			assert_int_equal(rc, 0);
			return n - 1;
		}
	}
}

static int
verdict(int ok, int failed, struct acme_problem *p)
{
	int v = ok ? 0 : failed && p->type != ACME_PROB_NONE ? 1 : -1;

	acme_problem_release(p);
	return v;
}

/* --- the cases --- */

static const char jwk_text[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static int
c_b64url(void)
{
	unsigned char *out = NULL;
	size_t n = 0;
	int rc = acme_b64url_decode("aGVsbG8gd29ybGQ", 15, &out, &n);
	int ok = rc == 0 && n == 11 && memcmp(out, "hello world", 11) == 0;

	free(out);
	return ok ? 0 : rc < 0 ? 1 : -1;
}

static int
c_json(void)
{
	static const char t[] = "{\"a\":[1,2,{\"b\":\"c\"}],\"d\":true,\"e\":"
				"null,\"f\":\"\\u00e9\"}";
	struct acme_problem p = { 0 };
	json_t *v = acme_json_parse(t, sizeof(t) - 1, ACME_JSON_OBJECT, &p);
	int ok = v != NULL && json_object_size(v) == 4;

	json_decref(v);
	return verdict(ok, v == NULL, &p);
}

static int
c_problem(void)
{
	static const char t[] =
	    "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
	    "\"detail\":\"no\",\"subproblems\":[{\"type\":"
	    "\"urn:ietf:params:acme:error:caa\",\"identifier\":{\"type\":"
	    "\"dns\",\"value\":\"a.example\"}}]}";
	struct acme_problem p = { 0 }, q = { 0 };
	json_t *v = acme_json_parse(t, sizeof(t) - 1, 0, &p);
	int rc, ok;

	if (v == NULL)
		return verdict(0, 1, &p);
	rc = acme_problem_from_json(&q, v);
	json_decref(v);
	ok = rc == 0 && q.type == ACME_PROB_REJECTED_IDENTIFIER &&
	     q.nsub == 1 && strcmp(q.sub[0].identifier.value, "a.example") == 0;
	acme_problem_release(&q);
	if (!ok && rc < 0)
		acme_problem_set(&p, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	return verdict(ok, rc < 0, &p);
}

static int
c_jwk(void)
{
	struct acme_problem p = { 0 };
	unsigned char tp[ACME_JWK_THUMBPRINT_LEN];
	json_t *v = acme_json_parse(jwk_text, sizeof(jwk_text) - 1,
	    ACME_JSON_OBJECT, &p);
	EVP_PKEY *k;
	int ok;

	if (v == NULL)
		return verdict(0, 1, &p);
	k = acme_jwk_to_key(v, &p);
	ok = k != NULL && acme_jwk_thumbprint_json(v, tp, &p) == 0;
	json_decref(v);
	EVP_PKEY_free(k);
	return verdict(ok, p.type != ACME_PROB_NONE, &p);
}

/* A request JWS signed with a fresh key, made once outside the runs. */
static char *signed_req;
static EVP_PKEY *signer;

static int
c_jws(void)
{
	struct acme_problem p = { 0 };
	struct acme_jws *j = acme_jws_parse(signed_req, strlen(signed_req),
	    ACME_JWS_USE_ACCOUNT, &p);
	EVP_PKEY *k = NULL;
	json_t *payload = NULL;
	int ok = 0;

	if (j == NULL)
		return verdict(0, 1, &p);
	if ((k = acme_jwk_to_key(acme_jws_jwk(j), &p)) != NULL &&
	    acme_jws_verify(j, k, &p) == 0 &&
	    (payload = acme_jws_payload_json(j, &p)) != NULL)
		ok = json_is_true(
		    json_object_get(payload, "termsOfServiceAgreed"));
	json_decref(payload);
	EVP_PKEY_free(k);
	acme_jws_free(j);
	return verdict(ok, !ok && p.type != ACME_PROB_NONE, &p);
}

/* A finalize CSR for two names, made once outside the runs. */
static char *csr_b64;

static int
c_csr(void)
{
	struct acme_problem p = { 0 };
	struct acme_csr c = { 0 };
	int rc = acme_csr_read(csr_b64, &c, &p);
	int ok = rc == 0 && c.nids == 2 &&
		 strcmp(c.ids[0].value, "a.example.com") == 0;

	if (rc == 0)
		acme_csr_release(&c);
	return verdict(ok, rc != 0, &p);
}

static int
c_ari(void)
{
	unsigned char aki[64];
	char serial[64];
	size_t akilen = 0;
	int rc = acme_ari_cert_id_parse("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE",
	    aki, sizeof(aki), &akilen, serial, sizeof(serial));

	return rc == 0 && akilen == 20 ? 0 : rc < 0 ? 1 : -1;
}

static int
c_http(void)
{
	static const char t[] =
	    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n"
	    "Location: https://ca.example/acct/1\r\n"
	    "Link: <https://ca.example/dir>;rel=\"index\"\r\n\r\n"
	    "3\r\nabc\r\n0\r\n\r\n";
	struct acme_http_resp r;
	char why[128] = "";
	int rc = http_parse_response(t, sizeof(t) - 1, 7, "POST", &r, why,
	    sizeof(why));
	int ok = rc == 0 && r.status == 201 && r.len == 3 && r.nlinks == 1;

	if (rc == 0)
		acme_http_resp_release(&r);
	return ok ? 0 : rc != 0 && why[0] != '\0' ? 1 : -1;
}

static void
alloc__parsers_fail_cleanly(void **state)
{
	static const struct {
		const char *name;
		case_fn fn;
	} cases[] = {
		{ "b64url", c_b64url },
		{ "json", c_json },
		{ "problem", c_problem },
		{ "jwk", c_jwk },
		{ "jws", c_jws },
		{ "csr", c_csr },
		{ "ari", c_ari },
		{ "http", c_http },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned long n = inject(cases[i].fn);

		print_message("%s: %lu allocations, each failed in turn\n",
		    cases[i].name, n);
	}
}

static int
setup(void **state)
{
	struct acme_problem p = { 0 };
	struct acme_ident ids[2];
	json_t *jws;
	X509_REQ *req;
	EVP_PKEY *ck;

	(void)state;
	if ((signer = acme_key_generate(ACME_KEY_EC256, &p)) == NULL ||
	    (ck = acme_key_generate(ACME_KEY_EC256, &p)) == NULL)
		return -1;
	static const char payload[] = "{\"termsOfServiceAgreed\":true}";
	jws = acme_jws_sign_request(signer, NULL, "bm9uY2U",
	    "https://ca.example/new-account", payload, sizeof(payload) - 1, &p);
	if (jws == NULL || (signed_req = json_dumps(jws, JSON_COMPACT)) == NULL)
		return -1;
	json_decref(jws);
	if (acme_ident_set(&ids[0], "dns", "a.example.com") != 0 ||
	    acme_ident_set(&ids[1], "dns", "b.example.com") != 0)
		return -1;
	if ((req = acme_csr_build(ck, ids, 2, &p)) == NULL ||
	    (csr_b64 = acme_csr_to_b64url(req)) == NULL)
		return -1;
	X509_REQ_free(req);
	EVP_PKEY_free(ck);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(signed_req);
	free(csr_b64);
	EVP_PKEY_free(signer);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alloc__parsers_fail_cleanly),
	};

	/* Before anything allocates: OpenSSL refuses a change later. */
	if (!CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free))
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
