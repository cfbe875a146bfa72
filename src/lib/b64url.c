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

/* One more than the value of each character of the alphabet; 0 for
 * every other byte.  A table: the decoder reads every JWS a server gets. */
static const unsigned char dec[256] = { ['A'] = 1,
	['B'] = 2,
	['C'] = 3,
	['D'] = 4,
	['E'] = 5,
	['F'] = 6,
	['G'] = 7,
	['H'] = 8,
	['I'] = 9,
	['J'] = 10,
	['K'] = 11,
	['L'] = 12,
	['M'] = 13,
	['N'] = 14,
	['O'] = 15,
	['P'] = 16,
	['Q'] = 17,
	['R'] = 18,
	['S'] = 19,
	['T'] = 20,
	['U'] = 21,
	['V'] = 22,
	['W'] = 23,
	['X'] = 24,
	['Y'] = 25,
	['Z'] = 26,
	['a'] = 27,
	['b'] = 28,
	['c'] = 29,
	['d'] = 30,
	['e'] = 31,
	['f'] = 32,
	['g'] = 33,
	['h'] = 34,
	['i'] = 35,
	['j'] = 36,
	['k'] = 37,
	['l'] = 38,
	['m'] = 39,
	['n'] = 40,
	['o'] = 41,
	['p'] = 42,
	['q'] = 43,
	['r'] = 44,
	['s'] = 45,
	['t'] = 46,
	['u'] = 47,
	['v'] = 48,
	['w'] = 49,
	['x'] = 50,
	['y'] = 51,
	['z'] = 52,
	['0'] = 53,
	['1'] = 54,
	['2'] = 55,
	['3'] = 56,
	['4'] = 57,
	['5'] = 58,
	['6'] = 59,
	['7'] = 60,
	['8'] = 61,
	['9'] = 62,
	['-'] = 63,
	['_'] = 64 };

/* Value of a character, or -1 when it is not in the alphabet. */
static inline int
value(unsigned char c)
{
	return (int)dec[c] - 1;
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
	/* Whole groups of four characters: three bytes each. */
	for (i = 0; i + 4 <= inlen; i += 4) {
		uint32_t a = dec[(unsigned char)in[i]],
			 b = dec[(unsigned char)in[i + 1]],
			 c = dec[(unsigned char)in[i + 2]],
			 d = dec[(unsigned char)in[i + 3]], w;

		if (a == 0 || b == 0 || c == 0 || d == 0)
			goto bad;
		w = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
		buf[o++] = (unsigned char)(w >> 16);
		buf[o++] = (unsigned char)(w >> 8);
		buf[o++] = (unsigned char)w;
	}
	/* A last group of two or three characters. */
	if (rem != 0) {
		size_t k;

		for (k = 0; k < rem; k++)
			if ((v[k] = value((unsigned char)in[i + k])) < 0)
				goto bad;
		buf[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (rem == 2) {
			/* The low 4 bits of the second character are unused. */
			if ((v[1] & 15) != 0)
				goto bad;
		} else {
			if ((v[2] & 3) != 0)
				goto bad;
			buf[o++] =
			    (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		}
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
