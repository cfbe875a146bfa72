/* SPDX-License-Identifier: ISC */
/*
 * A small HTTPS client for the ACME client flow: HTTP/1.1 over OpenSSL
 * (TLS 1.2 or later, the server's name or IP address checked), one
 * keep-alive connection per struct acme_http, bounded response headers
 * and bodies, and the response headers ACME needs (Replay-Nonce,
 * Location, Link, Retry-After, Content-Type).  https_proxy / HTTPS_PROXY
 * name an http:// proxy used through CONNECT, except for the hosts in
 * no_proxy / NO_PROXY.  A request, connecting included, takes at most
 * 60 s (ANVIL_HTTP_TIMEOUT_MS, in ms, overrides it), connecting at most
 * 10 s.  No HTTP/2, no redirects, no content codings.  Not thread-safe:
 * one per thread.
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
 * OpenSSL's default locations).  A bundle that cannot be read is not an
 * error here: every request then fails with the reason.  user_agent is
 * sent as is (no control characters).  Returns NULL on allocation
 * failure or a bad user_agent.  Free with acme_http_free().
 */
struct acme_http *acme_http_new(const char *ca_bundle, const char *user_agent);
void acme_http_free(struct acme_http *h);

/*
 * Requests: method "GET", "HEAD" or "POST" (with body as
 * application/jose+json) to an https URL.  Returns 0 when a response
 * arrived (any status; r filled, release it with acme_http_resp_release),
 * or ACME_ERR_IO with prob set when none did: type tls when the server's
 * certificate did not verify, connection otherwise (detail "METHOD URL:
 * reason", e.g. "response too large", "timed out after 60000 ms").  A
 * kept-alive connection that fails before any byte of the answer (the
 * server closed it while idle) is replaced and the request sent once
 * more; a request is never sent again after part of an answer came.
 * Sends with MSG_NOSIGNAL: a closed peer raises no SIGPIPE.
 */
int acme_http_request(struct acme_http *h, const char *method, const char *url,
    const char *body, size_t len, struct acme_http_resp *r,
    struct acme_problem *prob);

void acme_http_resp_release(struct acme_http_resp *r);

/*
 * The target of the link after index skip (RFC 8288: among every Link
 * header and every comma-separated link of each) whose rel parameter,
 * quoted or a token, lists rel ("alternate", "up"; case-insensitive),
 * copied into out as sent (maybe relative: see acme_http_resolve), or
 * NULL.
 */
const char *acme_http_link(const struct acme_http_resp *r, const char *rel,
    size_t skip, char *out, size_t outsz);

/*
 * ref resolved against base (RFC 3986 section 5.2; base an absolute
 * URL) into out, which may be ref itself.  Returns 0, or -1 when it
 * does not fit or base has no scheme.
 */
int acme_http_resolve(const char *base, const char *ref, char *out,
    size_t outsz);

#endif
