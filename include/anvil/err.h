/* SPDX-License-Identifier: ISC */
/*
 * Status codes shared by every libanvil function.  Functions return 0 on
 * success and a negative enum acme_err on failure; the human explanation,
 * when there is one, goes into a struct acme_problem supplied by the caller
 * (see problem.h).  Nothing in libanvil prints or exits.
 */
#ifndef ANVIL_ERR_H
#define ANVIL_ERR_H

enum acme_err {
	ACME_OK = 0,
	ACME_ERR_NOMEM = -1,       /* allocation failed */
	ACME_ERR_INVAL = -2,       /* bad argument or malformed input */
	ACME_ERR_IO = -3,          /* file or socket operation failed */
	ACME_ERR_CRYPTO = -4,      /* an OpenSSL operation failed */
	ACME_ERR_UNSUPPORTED = -5, /* well-formed but not supported */
	ACME_ERR_VERIFY = -6,      /* signature or check did not verify */
	ACME_ERR_LIMIT = -7,       /* input exceeds a configured bound */
	ACME_ERR_NOTFOUND = -8,    /* the thing asked for does not exist */
	ACME_ERR_EXISTS = -9,      /* a record with that unique key exists */
	ACME_ERR_CONFLICT = -10,   /* the state changed since it was read */
};

/* Returns a static, lowercase description of code; never NULL. */
const char *acme_strerror(int code);

#endif
