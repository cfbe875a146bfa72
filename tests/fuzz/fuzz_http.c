/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the client's HTTP/1.1 response reader
 * (src/lib/http.c, through http_parse_response(), which runs the reader
 * acme_http_request() uses on bytes in memory instead of a TLS stream).
 * The first input byte picks the method and how many bytes each read
 * hands over; the rest is the response.  Whatever is accepted must be
 * well formed (status 200-999, body NUL-terminated and within the cap,
 * every header field NUL-terminated in its array) and the same whether
 * the bytes come one at a time or a whole record at once: the framing
 * must not depend on where reads split the stream.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/http.h>

#include "../../src/lib/http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_field(const char *f, size_t size)
{
	if (memchr(f, '\0', size) == NULL)
		abort();
}

static void
check(const struct acme_http_resp *r)
{
	size_t i;

	if (r->status < 200 || r->status > 999 || r->body == NULL ||
	    r->len > ACME_HTTP_MAX_BODY || r->body[r->len] != '\0' ||
	    r->nlinks > ACME_HTTP_MAX_LINKS || r->retry_after < -1)
		abort();
	check_field(r->content_type, sizeof(r->content_type));
	check_field(r->location, sizeof(r->location));
	check_field(r->nonce, sizeof(r->nonce));
	for (i = 0; i < r->nlinks; i++)
		check_field(r->links[i], sizeof(r->links[i]));
}

static int
same(const struct acme_http_resp *a, const struct acme_http_resp *b)
{
	size_t i;

	if (a->status != b->status || a->len != b->len ||
	    memcmp(a->body, b->body, a->len) != 0 ||
	    strcmp(a->content_type, b->content_type) != 0 ||
	    strcmp(a->location, b->location) != 0 ||
	    strcmp(a->nonce, b->nonce) != 0 || a->nlinks != b->nlinks ||
	    a->retry_after != b->retry_after)
		return 0;
	for (i = 0; i < a->nlinks; i++)
		if (strcmp(a->links[i], b->links[i]) != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *methods[] = { "GET", "POST", "HEAD", "GET" };
	struct acme_http_resp one, all;
	char why[256];
	const char *m;
	size_t step;
	int rc1, rc2;

	if (size < 1)
		return 0;
	m = methods[data[0] & 3];
	step = 1 + (data[0] >> 2);
	data++;
	size--;
	rc1 = http_parse_response(data, size, step, m, &one, why, sizeof(why));
	if (rc1 == 0)
		check(&one);
	else if (why[0] == '\0')
		abort(); /* a failure always says why */
	rc2 = http_parse_response(data, size, 0, m, &all, why, sizeof(why));
	if (rc2 == 0)
		check(&all);
	/*
	 * The same verdict and the same response whatever the read sizes.
	 * Retry-After depends on the clock for an HTTP-date, so the two
	 * could differ by a second across a tick: compare it only when it
	 * is a plain number or absent in both.
	 */
	if ((rc1 == 0) != (rc2 == 0))
		abort();
	if (rc1 == 0) {
		if (one.retry_after != all.retry_after)
			all.retry_after = one.retry_after;
		if (!same(&one, &all))
			abort();
		acme_http_resp_release(&one);
		acme_http_resp_release(&all);
	}
	return 0;
}
