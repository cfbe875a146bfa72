/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the TSIG key file parser of the client's RFC 2136
 * solver (src/client/tsig_key.c, compiled in).  Accepted keys must have
 * a non-empty name, a known algorithm and a non-empty secret, each
 * NUL-terminated within its array; a refusal must wipe the key and say
 * why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/problem.h>

#include "tsig_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tsig_key zero;
	struct acme_problem p = { 0 };
	struct tsig_key k;

	memset(&k, 0x5a, sizeof(k));
	if (tsig_key_parse((const char *)data, size, &k, &p) == 0) {
		if (memchr(k.name, '\0', sizeof(k.name)) == NULL ||
		    memchr(k.alg, '\0', sizeof(k.alg)) == NULL ||
		    memchr(k.secret, '\0', sizeof(k.secret)) == NULL ||
		    k.name[0] == '\0' || k.secret[0] == '\0' ||
		    strncmp(k.alg, "hmac-", 5) != 0)
			abort();
	} else {
		if (p.detail[0] == '\0' || memcmp(&k, &zero, sizeof(k)) != 0)
			abort();
	}
	tsig_key_wipe(&k);
	acme_problem_release(&p);
	return 0;
}
