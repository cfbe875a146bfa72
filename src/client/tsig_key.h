/* SPDX-License-Identifier: ISC */
/*
 * TSIG keys (RFC 8945) for the RFC 2136 solver, read from a file in
 * BIND's key format, as tsig-keygen and ddns-confgen write it:
 *
 *   key "NAME" { algorithm hmac-sha256; secret "BASE64"; };
 *
 * (comments in #, // and C style; other statements such as ddns-confgen's
 * update-policy are skipped; exactly one key statement), or one line
 * "ALG:NAME:SECRET", "NAME:ALG:SECRET" or "NAME:SECRET" (hmac-sha256).
 * Algorithms: hmac-sha256, hmac-sha512 and hmac-sha1 (accepted, marked
 * weak so that the caller can warn).
 */
#ifndef ANVIL_TSIG_KEY_H
#define ANVIL_TSIG_KEY_H

#include <stddef.h>

#include <anvil/problem.h>

#define TSIG_NAME_MAX   255  /* a DNS name in text, without the last dot */
#define TSIG_SECRET_MAX 1024 /* base64 characters */

struct tsig_key {
	char name[TSIG_NAME_MAX + 1];     /* key name, no trailing dot */
	char alg[16];                     /* "hmac-sha256" etc. */
	char secret[TSIG_SECRET_MAX + 1]; /* base64 (RFC 4648 section 4) */
	int weak;                         /* nonzero for hmac-sha1 */
};

/*
 * Parses len bytes of text into k.  Returns 0, or ACME_ERR_INVAL with
 * prob's detail saying what is wrong (and on which line).  k is wiped
 * on failure.
 */
int tsig_key_parse(const char *text, size_t len, struct tsig_key *k,
    struct acme_problem *prob);

/*
 * Reads and parses the key file at path.  Refuses a file that other
 * users may read or write (it holds a secret; see docs/decisions.md).
 * Returns 0 or ACME_ERR_INVAL with prob's detail naming the file.
 */
int tsig_key_load(const char *path, struct tsig_key *k,
    struct acme_problem *prob);

/* Overwrites the secret; call when done with k. */
void tsig_key_wipe(struct tsig_key *k);

#endif
