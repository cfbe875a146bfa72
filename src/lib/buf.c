/* SPDX-License-Identifier: ISC */
/*
 * Bounded growable buffer (see include/anvil/buf.h).  Growth doubles the
 * allocation but never past max + 1 bytes, and every size computation is
 * checked before it is used.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/buf.h>
#include <anvil/err.h>

#include "internal.h"

void
acme_buf_init(struct acme_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* Makes room for n more bytes plus the NUL.  Returns 0 or an error. */
static int
grow(struct acme_buf *b, size_t n)
{
	size_t need, cap;
	char *p;

	if (n > b->max || b->len > b->max - n)
		return ACME_ERR_LIMIT;
	need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	/* max + 1 would wrap for an unbounded (SIZE_MAX) buffer. */
	if (b->max < SIZE_MAX && cap > b->max + 1)
		cap = b->max + 1;
	p = realloc(b->data, cap);
	if (p == NULL)
		return ACME_ERR_NOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
acme_buf_append(struct acme_buf *b, const void *p, size_t n)
{
	int rc;

	if ((rc = grow(b, n)) != 0)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
acme_buf_puts(struct acme_buf *b, const char *s)
{
	return acme_buf_append(b, s, strlen(s));
}

int
acme_buf_printf(struct acme_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ACME_ERR_INVAL;
	if ((rc = grow(b, (size_t)n)) != 0)
		return rc;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ACME_ERR_INVAL;
	b->len += (size_t)n;
	return 0;
}

void
acme_buf_clear(struct acme_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void
acme_buf_release(struct acme_buf *b)
{
	if (b->data != NULL)
		acme_wipe(b->data, b->cap);
	free(b->data);
	acme_buf_init(b, b->max);
}

char *
acme_buf_detach(struct acme_buf *b, size_t *len)
{
	char *p = b->data;

	if (p == NULL && (p = strdup("")) == NULL)
		return NULL;
	if (len != NULL)
		*len = b->len;
	acme_buf_init(b, b->max);
	return p;
}
