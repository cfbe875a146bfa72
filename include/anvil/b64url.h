/* SPDX-License-Identifier: ISC */
/*
 * base64url without padding (RFC 4648 section 5, RFC 7515 section 2),
 * strict: the decoder rejects padding, whitespace, characters outside the
 * URL-safe alphabet, impossible lengths and non-zero trailing bits, so
 * every value has exactly one encoding (RFC 8555 section 6.1).
 */
#ifndef ANVIL_B64URL_H
#define ANVIL_B64URL_H

#include <stddef.h>

/* Length of the encoding of n bytes, excluding a terminating NUL. */
size_t acme_b64url_encoded_len(size_t n);

/*
 * Encodes len bytes of data.  Returns a NUL-terminated string the caller
 * frees, or NULL on allocation failure.
 */
char *acme_b64url_encode(const void *data, size_t len);

/*
 * Encodes into out, which has room for outsz bytes including the NUL.
 * Returns 0 or ACME_ERR_LIMIT when out is too small.
 */
int acme_b64url_encode_to(const void *data, size_t len, char *out,
    size_t outsz);

/*
 * Decodes inlen characters of in.  On success *out is a buffer the caller
 * frees (with a NUL after the data, for convenience) and *outlen its
 * length.  Returns ACME_ERR_INVAL for input that is not canonical
 * unpadded base64url, ACME_ERR_NOMEM.  On failure *out is NULL.
 */
int acme_b64url_decode(const char *in, size_t inlen, unsigned char **out,
    size_t *outlen);

/* Nonzero when s (len bytes) is non-empty and canonical base64url. */
int acme_b64url_valid(const char *s, size_t len);

#endif
