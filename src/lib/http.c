/* SPDX-License-Identifier: ISC */
/*
 * HTTPS client over libcurl (see include/anvil/http.h).  Bodies are
 * capped at ACME_HTTP_MAX_BODY; header values longer than their field
 * are truncated, which can only make a later step fail cleanly.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include <anvil/buf.h>
#include <anvil/err.h>
#include <anvil/http.h>

#include "internal.h"

struct acme_http {
	CURL *curl;
	char *ca_bundle;
	char *user_agent;
};

struct acme_http *
acme_http_new(const char *ca_bundle, const char *user_agent)
{
	struct acme_http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	if ((h->curl = curl_easy_init()) == NULL ||
	    (ca_bundle != NULL && (h->ca_bundle = strdup(ca_bundle)) == NULL) ||
	    (h->user_agent = strdup(user_agent)) == NULL) {
		acme_http_free(h);
		return NULL;
	}
	return h;
}

void
acme_http_free(struct acme_http *h)
{
	if (h == NULL)
		return;
	curl_easy_cleanup(h->curl);
	free(h->ca_bundle);
	free(h->user_agent);
	free(h);
}

void
acme_http_resp_release(struct acme_http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	return acme_buf_append(arg, p, size * n) == 0 ? size * n : 0;
}

static void
copy_value(char *out, size_t size, const char *v, size_t len)
{
	while (len > 0 &&
	       (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
		len--;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	if (len >= size)
		len = size - 1;
	memcpy(out, v, len);
	out[len] = '\0';
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct acme_http_resp *r = arg;
	size_t len = size * n;
	const char *colon = memchr(p, ':', len);
	size_t nl;

	if (colon == NULL)
		return len;
	nl = (size_t)(colon - p);
	colon++;
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(p, name, nl) == 0)
	if (IS("Replay-Nonce"))
		copy_value(r->nonce, sizeof(r->nonce), colon,
		    len - (size_t)(colon - p));
	else if (IS("Location"))
		copy_value(r->location, sizeof(r->location), colon,
		    len - (size_t)(colon - p));
	else if (IS("Content-Type"))
		copy_value(r->content_type, sizeof(r->content_type), colon,
		    len - (size_t)(colon - p));
	else if (IS("Link") && r->nlinks < ACME_HTTP_MAX_LINKS)
		copy_value(r->links[r->nlinks++], sizeof(r->links[0]), colon,
		    len - (size_t)(colon - p));
	else if (IS("Retry-After")) {
		char v[64];
		char *end;
		long s;

		copy_value(v, sizeof(v), colon, len - (size_t)(colon - p));
		s = strtol(v, &end, 10);
		if (end != v && *end == '\0' && s >= 0)
			r->retry_after = s;
		else {
			/* An HTTP-date (RFC 9110): seconds from now. */
			time_t when = curl_getdate(v, NULL);

			if (when > 0)
				r->retry_after = when > time(NULL) ?
						     (long)(when - time(NULL)) :
						     0;
		}
	}
#undef IS
	return len;
}

int
acme_http_request(struct acme_http *h, const char *method, const char *url,
    const char *body, size_t len, struct acme_http_resp *r,
    struct acme_problem *prob)
{
	struct curl_slist *hdrs = NULL;
	struct acme_buf b;
	CURLcode cc;

	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	acme_buf_init(&b, ACME_HTTP_MAX_BODY);
	curl_easy_reset(h->curl);
	curl_easy_setopt(h->curl, CURLOPT_URL, url);
	curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, h->user_agent);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 60L);
	if (h->ca_bundle != NULL)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, h->ca_bundle);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, r);
	hdrs = curl_slist_append(hdrs, "Accept-Language: en");
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
	else if (strcmp(method, "POST") == 0) {
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/jose+json");
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(h->curl);
	curl_slist_free_all(hdrs);
	if (cc != CURLE_OK) {
		acme_buf_release(&b);
		acme_problem_set(prob,
		    cc == CURLE_SSL_CACERT ||
			    cc == CURLE_PEER_FAILED_VERIFICATION ?
			ACME_PROB_TLS :
			ACME_PROB_CONNECTION,
		    "%s %.300s: %s", method, url,
		    cc == CURLE_WRITE_ERROR ? "response too large" :
					      curl_easy_strerror(cc));
		return ACME_ERR_IO;
	}
	curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = acme_buf_detach(&b, &r->len);
	if (r->body == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	return 0;
}

const char *
acme_http_link(const struct acme_http_resp *r, const char *rel, size_t skip,
    char *out, size_t outsz)
{
	char want[64];
	size_t i;

	snprintf(want, sizeof(want), "rel=\"%s\"", rel);
	for (i = 0; i < r->nlinks; i++) {
		const char *l = r->links[i], *lt, *gt;

		if (strstr(l, want) == NULL)
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		lt = strchr(l, '<');
		gt = lt != NULL ? strchr(lt, '>') : NULL;
		if (gt == NULL || (size_t)(gt - lt - 1) >= outsz)
			return NULL;
		memcpy(out, lt + 1, (size_t)(gt - lt - 1));
		out[gt - lt - 1] = '\0';
		return out;
	}
	return NULL;
}
