/* SPDX-License-Identifier: ISC */
/*
 * A small HTTPS client over libcurl for the ACME client flow: one
 * keep-alive connection per struct acme_http, bounded response bodies,
 * and the response headers ACME needs (Replay-Nonce, Location, Link,
 * Retry-After, Content-Type).  Not thread-safe: one per thread.
 */
#ifndef ANVIL_HTTP_H
#define ANVIL_HTTP_H

#include <stddef.h>

#include <anvil/problem.h>

#define ACME_HTTP_MAX_BODY  (1024 * 1024) /* bytes of one response */
#define ACME_HTTP_MAX_LINKS 8

struct acme_http;

struct acme_http_resp {
	long status;
	char *body; /* NUL-terminated, owned */
	size_t len;
	char content_type[128];
	char location[1024];
	char nonce[256];
	char links[ACME_HTTP_MAX_LINKS][1024]; /* raw Link values */
	size_t nlinks;
	long retry_after; /* seconds, -1 when absent */
};

/*
 * ca_bundle: PEM file of CAs to trust instead of the system's (NULL for
 * the system store).  Returns NULL on failure.
 */
struct acme_http *acme_http_new(const char *ca_bundle, const char *user_agent);
void acme_http_free(struct acme_http *h);

/*
 * Requests: method "GET", "HEAD" or "POST" (with body as
 * application/jose+json).  Returns 0 when a response arrived (any
 * status), or ACME_ERR_IO with prob set (connection, tls) when none did.
 */
int acme_http_request(struct acme_http *h, const char *method, const char *url,
    const char *body, size_t len, struct acme_http_resp *r,
    struct acme_problem *prob);

void acme_http_resp_release(struct acme_http_resp *r);

/*
 * The URL of the first Link with the given rel ("alternate", "up", ...)
 * after index skip, or NULL.  Points into r.
 */
const char *acme_http_link(const struct acme_http_resp *r, const char *rel,
    size_t skip, char *out, size_t outsz);

#endif
