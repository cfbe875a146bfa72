/* SPDX-License-Identifier: ISC */
/*
 * Descriptions of enum acme_err codes, and acme_wipe(), the one memory
 * scrubber every module uses for keys and secrets.
 */
#include <stddef.h>
#include <string.h>

#include <anvil/err.h>

#include "internal.h"

const char *
acme_strerror(int code)
{
	switch (code) {
	case ACME_OK:
		return "success";
	case ACME_ERR_NOMEM:
		return "out of memory";
	case ACME_ERR_INVAL:
		return "invalid input";
	case ACME_ERR_IO:
		return "input/output error";
	case ACME_ERR_CRYPTO:
		return "cryptographic operation failed";
	case ACME_ERR_UNSUPPORTED:
		return "not supported";
	case ACME_ERR_VERIFY:
		return "verification failed";
	case ACME_ERR_LIMIT:
		return "limit exceeded";
	case ACME_ERR_NOTFOUND:
		return "not found";
	case ACME_ERR_EXISTS:
		return "already exists";
	case ACME_ERR_CONFLICT:
		return "changed meanwhile";
	default:
		return "unknown error";
	}
}

void
acme_wipe(void *p, size_t n)
{
	if (p == NULL || n == 0)
		return;
#if HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	{
		volatile unsigned char *v = p;

		while (n-- > 0)
			*v++ = 0;
	}
#endif
}
