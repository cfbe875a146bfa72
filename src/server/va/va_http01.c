/* SPDX-License-Identifier: ISC */
/*
 * http-01 validation (RFC 8555 8.3, BR 3.2.2.4.19) with libcurl.  The
 * validator resolves each host itself, refuses private addresses unless
 * configured for tests, and pins curl to the address it checked.
 * Redirects are followed by hand, at most 10, only to http or https on
 * ports 80, 443 or the configured test port.  Bodies are capped at
 * 64 KiB.  One deadline bounds the whole attempt, every lookup and hop
 * included (D53).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <curl/curl.h>

#include <anvil/buf.h>
#include <anvil/err.h>

#include "addrfilter.h"
#include "va.h"

#include "internal.h"

#define MAX_REDIRECTS 10
#define MAX_BODY      (64 * 1024)
/* Bytes of a URL's scheme ("https") and of its host (a DNS name, 253). */
#define SCHEME_MAX 8
#define HOST_SIZE  256
/* Bytes of its path and query. */
#define PATH_SIZE 2048
/* Bytes of the URL fetched: scheme, host, port and path. */
#define URL_SIZE 2600
/* Bytes of curl's pin "HOST:PORT:ADDR" (CURLOPT_RESOLVE). */
#define PIN_MAX 600

/*
 * Resolves host and picks the address to use (IPv4 first, then IPv6),
 * skipping private ones unless allowed.  Returns 0 or an error with prob
 * set (dns or connection).
 */
static int
resolve(const struct conf *cfg, struct va_resolver *res, long long deadline,
    const char *host, char *addr, size_t size, struct acme_problem *prob)
{
	struct va_addrs a;
	size_t i;
	int v6, rc;

	if ((rc = va_lookup(res, deadline, host, &a, prob)) != 0)
		return rc;
	for (v6 = 0; v6 <= 1; v6++)
		for (i = 0; i < a.n; i++) {
			if ((strchr(a.addr[i], ':') != NULL) != v6)
				continue;
			if (!conf_addr_allowed(cfg, a.addr[i]))
				continue;
			snprintf(addr, size, "%s", a.addr[i]);
			return 0;
		}
	return acme_problem_set(prob, ACME_PROB_CONNECTION,
	    "%.200s has no public address to validate: %s is %s", host,
	    a.n > 0 ? a.addr[0] : "-",
	    a.n > 0 ? va_addr_reserved_text(a.addr[0]) : "missing");
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct acme_buf *b = arg;

	/* Over the cap: stop the transfer (curl reports a write error). */
	if (acme_buf_append(b, p, size * n) != 0)
		return 0;
	return size * n;
}

struct target {
	char scheme[SCHEME_MAX];
	char host[HOST_SIZE];
	long port;
	char path[PATH_SIZE];
};

/* Splits a URL and applies the redirect policy. */
static int
parse_target(const struct conf *cfg, const char *url, struct target *t,
    struct acme_problem *prob)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL,
	     *query = NULL;
	int rc = ACME_ERR_INVAL;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
		CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "redirect to an invalid URL");
		goto out;
	}
	curl_url_get(u, CURLUPART_QUERY, &query, 0);
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "redirect to scheme %.20s is not allowed", scheme);
		goto out;
	}
	t->port = strtol(port, NULL, 10);
	if (t->port != HTTP_PORT && t->port != HTTPS_PORT &&
	    t->port != cfg->http01_port && t->port != cfg->tls_alpn01_port) {
		acme_problem_set(prob, ACME_PROB_CONNECTION,
		    "redirect to port %ld is not allowed", t->port);
		goto out;
	}
	snprintf(t->scheme, sizeof(t->scheme), "%s", scheme);
	/* IPv6 literals come back bracketed; getaddrinfo wants them bare. */
	if (host[0] == '[') {
		size_t hl = strlen(host);

		snprintf(t->host, sizeof(t->host), "%.*s",
		    (int)(hl - LIT_LEN("[]")), host + 1);
	} else
		snprintf(t->host, sizeof(t->host), "%s", host);
	snprintf(t->path, sizeof(t->path), "%s%s%s", path,
	    query != NULL ? "?" : "", query != NULL ? query : "");
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(query);
	curl_url_cleanup(u);
	return rc;
}

int
va_http01(const struct conf *cfg, struct va_resolver *res, long long deadline,
    const char *host, const char *token, const char *keyauth,
    struct acme_problem *prob)
{
	struct target t;
	struct acme_buf body;
	char url[URL_SIZE], addr[INET6_ADDRSTRLEN + LIT_LEN("[]")],
	    pin[PIN_MAX], *next = NULL;
	struct curl_slist *resolve_list = NULL;
	CURL *c = NULL;
	int hop, rc = ACME_ERR_INVAL;
	long code = 0;

	acme_buf_init(&body, MAX_BODY);
	memset(&t, 0, sizeof(t));
	snprintf(t.scheme, sizeof(t.scheme), "http");
	snprintf(t.host, sizeof(t.host), "%s", host);
	t.port = cfg->http01_port;
	snprintf(t.path, sizeof(t.path), "/.well-known/acme-challenge/%s",
	    token);
	if ((c = curl_easy_init()) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot start an HTTP client");
		goto out;
	}
	for (hop = 0;; hop++) {
		int v6, left;
		CURLcode cc;

		if ((rc = resolve(cfg, res, deadline, t.host, addr,
			 sizeof(addr), prob)) != 0)
			goto out;
		/* Every hop runs in what is left of the one deadline (D53);
		 * for curl a timeout of 0 would mean none. */
		if ((left = va_time_left(deadline)) == 0) {
			acme_problem_set(prob, ACME_PROB_CONNECTION,
			    "validation of %.200s timed out after %d s", host,
			    cfg->validation_timeout);
			rc = ACME_ERR_IO;
			goto out;
		}
		rc = ACME_ERR_INVAL;
		v6 = strchr(addr, ':') != NULL;
		snprintf(url, sizeof(url), "%s://%s%s%s:%ld%s", t.scheme,
		    strchr(t.host, ':') ? "[" : "", t.host,
		    strchr(t.host, ':') ? "]" : "", t.port, t.path);
		/* Pin curl to the address checked above. */
		snprintf(pin, sizeof(pin), "%s%s%s:%ld:%s%s%s",
		    strchr(t.host, ':') ? "[" : "", t.host,
		    strchr(t.host, ':') ? "]" : "", t.port, v6 ? "[" : "", addr,
		    v6 ? "]" : "");
		curl_slist_free_all(resolve_list);
		resolve_list = curl_slist_append(NULL, pin);
		acme_buf_clear(&body);
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_RESOLVE, resolve_list);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		/* Never a proxy from the environment: it would bypass the pin. */
		curl_easy_setopt(c, CURLOPT_PROXY, "");
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
		/* LE policy: no certificate checks on https redirects. */
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_USERAGENT,
		    "anvil-ca/" ANVIL_VERSION " (validation)");
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
		cc = curl_easy_perform(c);
		if (cc == CURLE_OPERATION_TIMEDOUT) {
			acme_problem_set(prob, ACME_PROB_CONNECTION,
			    "fetching %.300s: validation timed out after %d s",
			    url, cfg->validation_timeout);
			goto out;
		}
		if (cc != CURLE_OK) {
			acme_problem_set(prob,
			    cc == CURLE_WRITE_ERROR ?
				ACME_PROB_INCORRECT_RESPONSE :
				ACME_PROB_CONNECTION,
			    "fetching %.300s: %s", url,
			    cc == CURLE_WRITE_ERROR ?
				"response larger than 64 KiB" :
				curl_easy_strerror(cc));
			goto out;
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (code == HTTP_MOVED_PERMANENTLY || code == HTTP_FOUND ||
		    code == HTTP_TEMPORARY_REDIRECT ||
		    code == HTTP_PERMANENT_REDIRECT) {
			char *loc = NULL;

			if (hop >= MAX_REDIRECTS) {
				acme_problem_set(prob, ACME_PROB_CONNECTION,
				    "more than %d redirects", MAX_REDIRECTS);
				goto out;
			}
			curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
			if (loc == NULL || (next = strdup(loc)) == NULL) {
				acme_problem_set(prob, ACME_PROB_CONNECTION,
				    "redirect without a location");
				goto out;
			}
			rc = parse_target(cfg, next, &t, prob);
			free(next);
			next = NULL;
			if (rc != 0)
				goto out;
			rc = ACME_ERR_INVAL;
			continue;
		}
		break;
	}
	if (code < HTTP_OK || code > HTTP_SUCCESS_MAX) {
		acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "%.300s answered HTTP %ld", url, code);
		goto out;
	}
	/* S-HTTP-3: trailing whitespace is tolerated, nothing else. */
	while (body.len > 0 && strchr(" \t\r\n", body.data[body.len - 1]))
		body.data[--body.len] = '\0';
	if (body.len != strlen(keyauth) ||
	    memcmp(body.data, keyauth, body.len) != 0) {
		acme_problem_set(prob, ACME_PROB_INCORRECT_RESPONSE,
		    "%.300s returned \"%.100s\", not the key authorization",
		    url, body.data != NULL ? body.data : "");
		goto out;
	}
	rc = 0;
out:
	acme_buf_release(&body);
	curl_slist_free_all(resolve_list);
	curl_easy_cleanup(c);
	return rc;
}
