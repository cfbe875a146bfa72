/* SPDX-License-Identifier: ISC */
/*
 * ACME Renewal Information (RFC 9773), the parts both sides share: the
 * certificate identifier (certID, section 4.1), the suggested window
 * (section 4.2) and the client's choice of a renewal time in it, and
 * RFC 3339 times, which the window is written in.
 */
#ifndef ANVIL_ARI_H
#define ANVIL_ARI_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>
#include <openssl/x509.h>

#include <anvil/problem.h>

/* base64url(keyIdentifier) "." base64url(serial): 27 + 1 + 28 at most. */
#define ACME_ARI_ID_SIZE 128

/* The shortest and longest wait between two renewalInfo fetches. */
#define ACME_ARI_RETRY_MIN 60
#define ACME_ARI_RETRY_MAX 86400
/* The wait after a long-term error (S-ARI-10). */
#define ACME_ARI_RETRY_ERROR (6 * 3600)

/*
 * The certID of cert: its AKI keyIdentifier and the DER content octets
 * of its serial.  Returns 0, ACME_ERR_NOTFOUND (no AKI keyIdentifier)
 * or ACME_ERR_LIMIT.
 */
int acme_ari_cert_id(X509 *cert, char *out, size_t outsz);

/* The same from the raw parts (serial: DER INTEGER content octets). */
int acme_ari_cert_id_from(const unsigned char *aki, size_t akilen,
    const unsigned char *serial, size_t seriallen, char *out, size_t outsz);

/*
 * Splits a certID into the keyIdentifier (up to akisz bytes into aki,
 * *akilen) and the serial as lowercase hex without leading zeros (the
 * form acme_x509_serial_hex() writes).  The serial must be a positive,
 * minimally encoded DER INTEGER of at most 20 octets (RFC 5280 4.1.2.2).
 * Returns 0 or ACME_ERR_INVAL.
 */
int acme_ari_cert_id_parse(const char *id, unsigned char *aki, size_t akisz,
    size_t *akilen, char *serial_hex, size_t hexsz);

/*
 * Reads a renewalInfo response: suggestedWindow.start < end, both RFC
 * 3339; explanationURL (optional) points into body.  A window whose end
 * is not after its start is no window (S-ARI-5): ACME_ERR_INVAL with
 * prob set, as for any malformed body.
 */
int acme_ari_window(const json_t *body, time_t *start, time_t *end,
    const char **explanation, struct acme_problem *prob);

/*
 * The renewal time for a window (S-ARI-6): uniformly random in
 * [start, end) from rnd; a time already past becomes now.
 */
time_t acme_ari_pick(time_t start, time_t end, time_t now, uint64_t rnd);

/* Retry-After seconds (-1: absent) clamped to [RETRY_MIN, RETRY_MAX]. */
long acme_ari_retry(long retry_after);

/* Bytes of acme_rfc3339()'s out: its 21 rounded up to leave room. */
#define ACME_RFC3339_SIZE 32
/* "2026-11-22T15:04:05Z" into out (at least 21 bytes); returns out. */
const char *acme_rfc3339(char out[ACME_RFC3339_SIZE], time_t t);
/* Parses RFC 3339 (Z or numeric offset, optional fraction); 0 or -1. */
int acme_rfc3339_parse(const char *s, time_t *out);

#endif
