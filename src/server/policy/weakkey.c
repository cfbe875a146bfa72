/* SPDX-License-Identifier: ISC */
/*
 * Known-weak certificate keys (see weakkey.h and D58).  The RSA tests
 * work on the modulus only and cost little next to a signature: Fermat's
 * method is 100 additions with a quadratic-residue filter that sends
 * about one step in 200 to an integer square root, and the ROCA test is
 * 38 remainders of one word.  The one exponentiation of
 * weakkey_composite is the expensive part (D91).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <anvil/csr.h>
#include <anvil/err.h>
#include <anvil/fileio.h>

#include "weakkey.h"
#include "../srvlimits.h"

#include "internal.h"

#define DIGEST_LEN 32
/* Moduli of the quick perfect-square test: squares are 12 of 64, 16 of
 * 63, 21 of 65 and 6 of 11 residues, so most non-squares fail early. */
#define SQ_MOD_A 64
#define SQ_MOD_B 63
#define SQ_MOD_C 65
#define SQ_MOD_D 11
/* The ROCA generator's base: a flawed key's n mod r lies in <65537>. */
#define ROCA_GENERATOR 65537
/* An RSA exponent's size in bits: above 2^16 (65537, 17 bits, is the
 * least) and below 2^256 (BR 6.1.6). */
#define RSA_E_MIN_BITS 17
#define RSA_E_MAX_BITS 256
/* BR 6.1.6: the modulus has no prime factor smaller than this. */
#define BR_MIN_FACTOR 752

struct keyblock {
	unsigned char (*d)[DIGEST_LEN]; /* sorted */
	size_t n;
};

/* r = floor(sqrt(n)) by Newton's method from above.  Returns 1 or 0. */
static int
isqrt(BIGNUM *r, const BIGNUM *n, BN_CTX *ctx)
{
	BIGNUM *x, *y;
	int ok = 0;

	BN_CTX_start(ctx);
	x = BN_CTX_get(ctx);
	y = BN_CTX_get(ctx);
	if (y == NULL)
		goto out;
	if (BN_is_zero(n)) {
		BN_zero(r);
		ok = 1;
		goto out;
	}
	/* 2^ceil(bits/2) > sqrt(n): the iteration falls to the root. */
	BN_zero(x);
	if (!BN_set_bit(x, (BN_num_bits(n) + 1) / 2))
		goto out;
	for (;;) {
		if (!BN_div(y, NULL, n, x, ctx) || !BN_add(y, y, x) ||
		    !BN_rshift1(y, y))
			goto out;
		if (BN_cmp(y, x) >= 0)
			break;
		if (BN_copy(x, y) == NULL)
			goto out;
	}
	ok = BN_copy(r, x) != NULL;
out:
	BN_CTX_end(ctx);
	return ok;
}

/* Whether v mod m is a square mod m, for the filter moduli below. */
static int
maybe_square_mod(const BIGNUM *v, BN_ULONG m)
{
	BN_ULONG r = BN_mod_word(v, m), i;

	for (i = 0; i < m; i++)
		if (i * i % m == r)
			return 1;
	return 0;
}

/* 1 when v is a perfect square, 0 when not, -1 on failure. */
static int
is_square(const BIGNUM *v, BN_CTX *ctx)
{
	BIGNUM *s;
	int rc = -1;

	/* Squares are 12 of 64, 16 of 63, 21 of 65, 6 of 11 residues. */
	if (!maybe_square_mod(v, SQ_MOD_A) || !maybe_square_mod(v, SQ_MOD_B) ||
	    !maybe_square_mod(v, SQ_MOD_C) || !maybe_square_mod(v, SQ_MOD_D))
		return 0;
	BN_CTX_start(ctx);
	if ((s = BN_CTX_get(ctx)) != NULL && isqrt(s, v, ctx) &&
	    BN_sqr(s, s, ctx))
		rc = BN_cmp(s, v) == 0;
	BN_CTX_end(ctx);
	return rc;
}

int
weakkey_fermat(const BIGNUM *n, int rounds)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *a, *b2;
	int i, rc = -1;

	if (ctx == NULL)
		return -1;
	BN_CTX_start(ctx);
	a = BN_CTX_get(ctx);
	b2 = BN_CTX_get(ctx);
	/* a = ceil(sqrt(n)), b2 = a^2 - n; n = (a - b)(a + b) if square. */
	if (b2 == NULL || !isqrt(a, n, ctx) || !BN_sqr(b2, a, ctx))
		goto out;
	if (BN_cmp(b2, n) != 0 && (!BN_add_word(a, 1) || !BN_sqr(b2, a, ctx)))
		goto out;
	if (!BN_sub(b2, b2, n))
		goto out;
	for (i = 0; i < rounds; i++) {
		if ((rc = is_square(b2, ctx)) != 0)
			goto out;
		/* (a + 1)^2 - n = b2 + 2a + 1 */
		if (!BN_add(b2, b2, a) || !BN_add(b2, b2, a) ||
		    !BN_add_word(b2, 1) || !BN_add_word(a, 1)) {
			rc = -1;
			goto out;
		}
	}
	rc = 0;
out:
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return rc;
}

enum weakkey_modulus
weakkey_composite(const BIGNUM *n)
{
	BN_CTX *ctx = BN_CTX_new();
	BIGNUM *x, *m1;
	enum weakkey_modulus rc = WEAKKEY_NOMEM;

	if (ctx == NULL)
		return WEAKKEY_NOMEM;
	BN_CTX_start(ctx);
	x = BN_CTX_get(ctx);
	m1 = BN_CTX_get(ctx);
	/* x = 2^(n-1) mod n: 1 for every prime n (Fermat). */
	if (m1 == NULL || BN_copy(m1, n) == NULL || !BN_sub_word(m1, 1) ||
	    !BN_set_word(x, WEAKKEY_FERMAT_BASE) ||
	    !BN_mod_exp(x, x, m1, n, ctx))
		goto out;
	if (BN_is_one(x)) {
		rc = WEAKKEY_PRIME;
		goto out;
	}
	/* n = p^k: p - 1 divides n - 1, so p divides x - 1. */
	if (!BN_sub_word(x, 1) || !BN_gcd(x, x, n, ctx))
		goto out;
	rc = BN_is_one(x) ? WEAKKEY_COMPOSITE : WEAKKEY_PRIME_POWER;
out:
	BN_CTX_end(ctx);
	BN_CTX_free(ctx);
	return rc;
}

/* The count of primes in the flawed generator's M for n's size. */
static int
roca_primes(int bits)
{
	return bits < 992 ? 39 : bits < 1984 ? 71 : bits < 3968 ? 126 : 225;
}

int
weakkey_roca(const BIGNUM *n)
{
	BN_ULONG m, r, g, x, d;
	int want = roca_primes(BN_num_bits(n)), seen = 1; /* 2 */

	/* Every odd prime r of M: n mod r is in <65537> mod r. */
	for (r = 3; seen < want; r += 2) {
		for (d = 3; d * d <= r && r % d != 0; d += 2)
			;
		if (d * d <= r)
			continue;
		seen++;
		if ((m = BN_mod_word(n, r)) == (BN_ULONG)-1)
			return -1;
		g = ROCA_GENERATOR % r;
		x = 1;
		while (x != m) {
			x = x * g % r;
			if (x == 1)
				return 0;
		}
	}
	return 1;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
digest_cmp(const void *a, const void *b)
{
	return memcmp(a, b, DIGEST_LEN);
}

/*
 * One line (len bytes, no newline): a digest into out (1), nothing to
 * read (0: blank or '#'), or not a digest (-1).  The digest may be
 * followed by white space and anything (sha256sum's "HEX  -" form).
 */
static int
parse_line(const char *s, size_t len, unsigned char *out)
{
	size_t i;

	while (len > 0 &&
	       (s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || s[0] == '#')
		return 0;
	if (len < HEX_PER_BYTE * DIGEST_LEN ||
	    (len > HEX_PER_BYTE * DIGEST_LEN &&
		s[HEX_PER_BYTE * DIGEST_LEN] != ' ' &&
		s[HEX_PER_BYTE * DIGEST_LEN] != '\t'))
		return -1;
	for (i = 0; i < DIGEST_LEN; i++) {
		int hi = hexval((unsigned char)s[HEX_PER_BYTE * i]);
		int lo = hexval((unsigned char)s[HEX_PER_BYTE * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 1;
}

struct keyblock *
keyblock_load(const char *path, struct acme_problem *prob)
{
	struct keyblock *kb = NULL;
	char *text = NULL, *p, *nl;
	size_t len = 0, cap, line = 0;
	int rc;

	if (acme_file_read(path, KEYBLOCK_FILE_MAX, &text, &len, prob) != 0)
		return NULL;
	if ((kb = calloc(1, sizeof(*kb))) == NULL)
		goto nomem;
	/* At most one digest per 64 bytes. */
	cap = len / (HEX_PER_BYTE * DIGEST_LEN) + 1;
	if ((kb->d = calloc(cap, DIGEST_LEN)) == NULL)
		goto nomem;
	for (p = text; p < text + len; p = nl + 1) {
		line++;
		if ((nl = memchr(p, '\n', (size_t)(text + len - p))) == NULL)
			nl = text + len;
		rc = parse_line(p, (size_t)(nl - p), kb->d[kb->n]);
		if (rc < 0) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "%s line %zu: not a SHA-256 digest in hex", path,
			    line);
			goto fail;
		}
		kb->n += (size_t)rc;
	}
	qsort(kb->d, kb->n, DIGEST_LEN, digest_cmp);
	free(text);
	return kb;
nomem:
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "out of memory");
fail:
	keyblock_free(kb);
	free(text);
	return NULL;
}

size_t
keyblock_count(const struct keyblock *kb)
{
	return kb != NULL ? kb->n : 0;
}

int
keyblock_has(const struct keyblock *kb, const unsigned char *digest)
{
	return kb != NULL && kb->n > 0 &&
	       bsearch(digest, kb->d, kb->n, DIGEST_LEN, digest_cmp) != NULL;
}

void
keyblock_free(struct keyblock *kb)
{
	if (kb == NULL)
		return;
	free(kb->d);
	free(kb);
}

/*
 * The outcome f of a weak-key test (1 weak, 0 not, -1 failed) as a
 * problem: badCSR naming what, or serverInternal.  Returns f != 0.
 */
static int
found(int f, const char *what, struct acme_problem *prob)
{
	if (f < 0)
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	else if (f > 0)
		acme_problem_set(prob, ACME_PROB_BAD_CSR, "CSR key: %s", what);
	return f != 0;
}

/* BR 6.1.6 and the weak-modulus tests for an RSA key. */
static int
check_rsa(EVP_PKEY *key, struct acme_problem *prob)
{
	BIGNUM *n = NULL, *e = NULL;
	BN_ULONG r;
	int rc = ACME_ERR_INVAL;

	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e)) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR key: RSA key without a modulus or exponent");
		goto out;
	}
	/* Odd and 2^16 < e < 2^256: 17 to 256 bits (65537 is the least). */
	if (!BN_is_odd(e) || BN_num_bits(e) < RSA_E_MIN_BITS ||
	    BN_num_bits(e) > RSA_E_MAX_BITS) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR key: the RSA public exponent must be odd, at least "
		    "65537 and below 2^256");
		goto out;
	}
	if (!BN_is_odd(n)) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR key: the RSA modulus is even");
		goto out;
	}
	/* BR 6.1.6: no factors smaller than 752. */
	for (r = 3; r < BR_MIN_FACTOR; r += 2) {
		BN_ULONG d;

		for (d = 3; d * d <= r && r % d != 0; d += 2)
			;
		if (d * d <= r)
			continue;
		if (BN_mod_word(n, r) == 0) {
			acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "CSR key: the RSA modulus has the factor %lu",
			    (unsigned long)r);
			goto out;
		}
	}
	/* BR 6.1.6: not a power of a prime, in place of OpenSSL's (D91). */
	switch (weakkey_composite(n)) {
	case WEAKKEY_COMPOSITE:
		break;
	case WEAKKEY_PRIME:
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR key: the RSA modulus is prime (2^(n-1) mod n is 1)");
		goto out;
	case WEAKKEY_PRIME_POWER:
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR key: the RSA modulus is a prime power or shows a "
		    "factor in 2^(n-1) mod n");
		goto out;
	default:
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	if (found(weakkey_fermat(n, WEAKKEY_FERMAT_ROUNDS),
		"the RSA modulus factors by Fermat's method (its primes are "
		"too close)",
		prob) ||
	    found(weakkey_roca(n),
		"the RSA modulus has the ROCA fingerprint (CVE-2017-15361)",
		prob))
		goto out;
	rc = 0;
out:
	BN_free(n);
	BN_free(e);
	return rc;
}

/* Whether key's canonical SubjectPublicKeyInfo is in kb: 1, 0 or -1. */
static int
blocked(const struct keyblock *kb, EVP_PKEY *key)
{
	unsigned char *der = NULL, md[DIGEST_LEN];
	X509_PUBKEY *spki;
	int len, rc = -1;

	if (keyblock_count(kb) == 0)
		return 0;
	if ((spki = acme_csr_spki(key)) != NULL &&
	    (len = i2d_X509_PUBKEY(spki, &der)) > 0) {
		SHA256(der, (size_t)len, md);
		rc = keyblock_has(kb, md) ? 1 : 0;
	}
	OPENSSL_free(der);
	X509_PUBKEY_free(spki);
	return rc;
}

int
weakkey_check(const struct keyblock *kb, EVP_PKEY *key,
    struct acme_problem *prob)
{
	EVP_PKEY_CTX *ctx = NULL;
	int rc = ACME_ERR_INVAL, b;

	/* RSA: check_rsa does what SP 800-56B's public check asks (D91). */
	if (EVP_PKEY_is_a(key, "RSA")) {
		if (check_rsa(key, prob) != 0)
			goto out;
	} else {
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
		if (ctx == NULL || EVP_PKEY_public_check(ctx) != 1) {
			acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "CSR key fails the public-key checks");
			goto out;
		}
	}
	if ((b = blocked(kb, key)) != 0) {
		acme_problem_set(prob,
		    b < 0 ? ACME_PROB_SERVER_INTERNAL : ACME_PROB_BAD_CSR,
		    b < 0 ? "cannot encode the CSR key" :
			    "CSR key is on this CA's list of compromised keys");
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}
