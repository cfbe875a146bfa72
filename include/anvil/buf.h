/* SPDX-License-Identifier: ISC */
/*
 * A bounded, growable byte buffer.  Every buffer has a maximum set at
 * init, so data read from the network can never grow it without limit.
 * The contents are always followed by a NUL byte (not counted in len), so
 * text can be used as a C string.  Embedded objects: init/release/clear.
 */
#ifndef ANVIL_BUF_H
#define ANVIL_BUF_H

#include <stddef.h>

struct acme_buf {
	char *data; /* NULL until the first append */
	size_t len; /* bytes used, excluding the trailing NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* largest len allowed */
};

/* Prepares an empty buffer that may hold up to max bytes. */
void acme_buf_init(struct acme_buf *b, size_t max);

/*
 * Appends n bytes.  Returns 0, ACME_ERR_LIMIT when len would exceed max
 * (the buffer is unchanged) or ACME_ERR_NOMEM.
 */
int acme_buf_append(struct acme_buf *b, const void *p, size_t n);
/* Appends a NUL-terminated string; as acme_buf_append(). */
int acme_buf_puts(struct acme_buf *b, const char *s);
/* Appends formatted text; as acme_buf_append(). */
int acme_buf_printf(struct acme_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sets len to 0 and keeps the allocation. */
void acme_buf_clear(struct acme_buf *b);
/* Frees the allocation (wiping it first) and resets to empty. */
void acme_buf_release(struct acme_buf *b);
/*
 * Hands the data to the caller, who frees it with free(); the buffer is
 * reset.  Never returns NULL for an empty buffer (returns "").  Returns
 * NULL only on allocation failure.
 */
char *acme_buf_detach(struct acme_buf *b, size_t *len);

#endif
