/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the base64url codec.  Beyond "no crash, no leak":
 * anything that decodes must re-encode to exactly the input (the decoder
 * is canonical), and encoding any bytes must decode back to them.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/b64url.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *dec = NULL, *back = NULL;
	size_t dlen = 0, blen = 0;
	char *enc;

	if (acme_b64url_decode((const char *)data, size, &dec, &dlen) == 0) {
		enc = acme_b64url_encode(dec, dlen);
		if (enc == NULL || strlen(enc) != size ||
		    memcmp(enc, data, size) != 0)
			abort();
		if (!acme_b64url_valid((const char *)data, size) && size != 0)
			abort();
		free(enc);
		free(dec);
	} else if (acme_b64url_valid((const char *)data, size))
		abort();
	enc = acme_b64url_encode(data, size);
	if (enc == NULL ||
	    acme_b64url_decode(enc, strlen(enc), &back, &blen) != 0 ||
	    blen != size || (size > 0 && memcmp(back, data, size) != 0))
		abort();
	free(back);
	free(enc);
	return 0;
}
