/* SPDX-License-Identifier: ISC */
/*
 * Certificate key checks beyond type and size (D58): the public-key
 * checks, RSA's exponent and modulus rules (BR 6.1.6), and the known
 * weak keys BR 6.1.1.3 makes a CA refuse: primes close enough for
 * Fermat's factorisation method, the ROCA fingerprint of Infineon's key
 * generator (Nemec et al., CCS 2017), and the operator's list of
 * compromised keys (blocked_keys_file).
 */
#ifndef ANVIL_WEAKKEY_H
#define ANVIL_WEAKKEY_H

#include <stddef.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include <anvil/problem.h>

/* Fermat rounds, as many as Let's Encrypt's boulder tries. */
#define WEAKKEY_FERMAT_ROUNDS 100

/* Bytes of blocked_keys_file at most (2 million keys). */
#define KEYBLOCK_FILE_MAX (2000000 * 66)

/*
 * 1 when Fermat's method factors n (odd, > 0) within rounds steps from
 * ceil(sqrt(n)), that is when n = p*q with |p - q| small; 0 when not;
 * -1 without memory.
 */
int weakkey_fermat(const BIGNUM *n, int rounds);

/* What weakkey_composite found. */
enum weakkey_modulus {
	WEAKKEY_NOMEM = -1,     /* without memory */
	WEAKKEY_COMPOSITE = 0,  /* composite, not a prime power */
	WEAKKEY_PRIME = 1,      /* x = 1: every prime, and rare composites */
	WEAKKEY_PRIME_POWER = 2 /* gcd(x - 1, n) > 1 */
};

/* The Fermat base of weakkey_composite. */
#define WEAKKEY_FERMAT_BASE 2

/*
 * Whether n (odd, > 2) is a product of two or more distinct primes, by
 * x = 2^(n-1) mod n (D91): WEAKKEY_COMPOSITE when x != 1 and
 * gcd(x - 1, n) = 1, which proves n composite and not a prime power;
 * WEAKKEY_PRIME when x = 1; WEAKKEY_PRIME_POWER when gcd(x - 1, n) > 1
 * (every prime power p^k whose x is not 1, as p - 1 divides n - 1).
 */
enum weakkey_modulus weakkey_composite(const BIGNUM *n);

/*
 * 1 when n has the ROCA fingerprint: the flawed generator's primes are
 * k*M + (65537^a mod M), M the product of the first 39, 71, 126 or 225
 * primes as n has fewer than 992, 1984, 3968 bits or more, so for every
 * odd prime r of M, n mod r lies in the subgroup that 65537 generates in
 * (Z/rZ)*.  An ordinary 2048-bit modulus does so with a probability of
 * 2^-167.  0 when not, -1 on failure.
 */
int weakkey_roca(const BIGNUM *n);

/* A set of SHA-256 digests of DER SubjectPublicKeyInfos. */
struct keyblock;

/*
 * Loads path: one digest per line in hex (64 digits, either case);
 * blank lines and lines starting with '#' are skipped.  Returns a new set
 * or NULL with prob set (malformed naming the line, or an I/O error).
 */
struct keyblock *keyblock_load(const char *path, struct acme_problem *prob);
size_t keyblock_count(const struct keyblock *kb);
/* Nonzero when the 32-byte digest is in kb (NULL: never). */
int keyblock_has(const struct keyblock *kb, const unsigned char *digest);
void keyblock_free(struct keyblock *kb);

/*
 * Every check above for a certificate key that passed the type and size
 * policy: EVP_PKEY_public_check for other keys; for RSA an odd e with
 * 2^16 < e < 2^256, an odd modulus without a prime factor below 752,
 * weakkey_composite WEAKKEY_COMPOSITE, no Fermat factor in
 * WEAKKEY_FERMAT_ROUNDS, no ROCA fingerprint; and the key's canonical
 * SubjectPublicKeyInfo (acme_csr_spki) not in kb (may be NULL).
 * Returns 0 or ACME_ERR_INVAL with prob set to badCSR.
 */
int weakkey_check(const struct keyblock *kb, EVP_PKEY *key,
    struct acme_problem *prob);

#endif
