/* SPDX-License-Identifier: ISC */
/*
 * Strict unpadded base64url (see include/anvil/b64url.h).  The decoder
 * accepts exactly the strings the encoder produces: the URL-safe
 * alphabet, no padding, no whitespace, a length that is not 1 mod 4, and
 * zero bits in the unused low bits of the last character.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/b64url.h>
#include <anvil/err.h>

#include "internal.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of a character, or -1 when it is not in the alphabet. */
static int
value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

size_t
acme_b64url_encoded_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

int
acme_b64url_encode_to(const void *data, size_t len, char *out, size_t outsz)
{
	const unsigned char *p = data;
	size_t i, o = 0;

	if (len > (SIZE_MAX - 4) / 4 * 3 ||
	    acme_b64url_encoded_len(len) >= outsz)
		return ACME_ERR_LIMIT;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v =
		    (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];

		out[o++] = alphabet[v >> 18 & 63];
		out[o++] = alphabet[v >> 12 & 63];
		out[o++] = alphabet[v >> 6 & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		out[o++] = alphabet[p[i] >> 2];
		out[o++] = alphabet[(p[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 8 | p[i + 1];

		out[o++] = alphabet[v >> 10 & 63];
		out[o++] = alphabet[v >> 4 & 63];
		out[o++] = alphabet[(v & 15) << 2];
	}
	out[o] = '\0';
	return 0;
}

char *
acme_b64url_encode(const void *data, size_t len)
{
	size_t n;
	char *out;

	if (len > (SIZE_MAX - 4) / 4 * 3)
		return NULL;
	n = acme_b64url_encoded_len(len) + 1;
	if ((out = malloc(n)) == NULL)
		return NULL;
	if (acme_b64url_encode_to(data, len, out, n) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int
acme_b64url_decode(const char *in, size_t inlen, unsigned char **out,
    size_t *outlen)
{
	unsigned char *buf;
	size_t i, o = 0, rem = inlen % 4, n;
	int v[4];

	*out = NULL;
	*outlen = 0;
	if (rem == 1)
		return ACME_ERR_INVAL;
	n = inlen / 4 * 3 + (rem == 0 ? 0 : rem - 1);
	if ((buf = malloc(n + 1)) == NULL)
		return ACME_ERR_NOMEM;
	for (i = 0; i < inlen; i += 4) {
		size_t k, m = inlen - i < 4 ? inlen - i : 4;

		for (k = 0; k < m; k++)
			if ((v[k] = value((unsigned char)in[i + k])) < 0)
				goto bad;
		buf[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (m == 2) {
			/* The low 4 bits of the second character are unused. */
			if ((v[1] & 15) != 0)
				goto bad;
			break;
		}
		buf[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (m == 3) {
			if ((v[2] & 3) != 0)
				goto bad;
			break;
		}
		buf[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	buf[o] = '\0';
	*out = buf;
	*outlen = o;
	return 0;
bad:
	acme_wipe(buf, n + 1);
	free(buf);
	return ACME_ERR_INVAL;
}

int
acme_b64url_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len % 4 == 1)
		return 0;
	for (i = 0; i < len; i++)
		if (value((unsigned char)s[i]) < 0)
			return 0;
	/* The last character must leave the unused bits zero. */
	if (len % 4 == 2)
		return (value((unsigned char)s[len - 1]) & 15) == 0;
	if (len % 4 == 3)
		return (value((unsigned char)s[len - 1]) & 3) == 0;
	return 1;
}
