/* SPDX-License-Identifier: ISC */
/*
 * URL routing for anvil-ca (see router.h).  The tables below are the
 * whole API.  A pattern is a literal path in which "*" stands for one id
 * segment ([A-Za-z0-9_.-], 1 to 128 bytes), handed to the handler as
 * req->param.
 */
#include <stdio.h>
#include <string.h>

#include <anvil/err.h>

#include "authn.h"
#include "reply.h"
#include "router.h"
#include "../handlers/handlers.h"
#include "../nonce.h"
#include "../paths.h"

#include "contract.h"

#include "internal.h"

enum { M_GET = 1, M_HEAD = 2, M_POST = 4 };

struct route {
	const char *pattern;
	unsigned methods;
	enum authn_mode auth; /* for POST */
	handler_fn fn;
	int as_get; /* POST-as-GET only: the payload must be empty */
};

/*
 * The ACME listener (HTTPS).  as_get: resources only read, with
 * POST-as-GET (S-GET-5).
 */
static const struct route routes_acme[] = {
	{ PATH_DIRECTORY, M_GET | M_HEAD, 0, h_directory, 0 },
	{ PATH_NEW_NONCE, M_GET | M_HEAD | M_POST, AUTHN_KID, h_new_nonce, 1 },
	{ PATH_NEW_ACCOUNT, M_POST, AUTHN_JWK, h_new_account, 0 },
	{ PATH_NEW_ORDER, M_POST, AUTHN_KID, h_new_order, 0 },
	{ PATH_NEW_AUTHZ, M_POST, AUTHN_KID, h_new_authz, 0 },
	{ PATH_REVOKE, M_POST, AUTHN_EITHER, h_revoke, 0 },
	{ PATH_KEY_CHANGE, M_POST, AUTHN_KID, h_key_change, 0 },
	/* RFC 9773 4.1: a plain GET, no JWS (S-ARI-3). */
	{ PATH_RENEWAL_INFO "/*", M_GET | M_HEAD, 0, h_renewal_info, 0 },
	/* The CRL (D50), also on the plain-HTTP listener (below). */
	{ PATH_CRL, M_GET | M_HEAD, 0, h_crl, 0 },
	{ PATH_ACCOUNT "*", M_POST, AUTHN_KID, h_account, 0 },
	{ PATH_ACCOUNT "*/orders", M_POST, AUTHN_KID, h_account_orders, 1 },
	{ PATH_ORDER "*", M_POST, AUTHN_KID, h_order, 1 },
	{ PATH_ORDER "*/finalize", M_POST, AUTHN_KID, h_finalize, 0 },
	{ PATH_AUTHZ "*", M_POST, AUTHN_KID, h_authz, 0 },
	{ PATH_CHALL "*", M_POST, AUTHN_KID, h_chall, 0 },
	{ PATH_CERT "*", M_POST, AUTHN_KID, h_cert, 1 },
	{ PATH_CERT "*/1", M_POST, AUTHN_KID, h_cert_alt, 1 },
};

/* The plain-HTTP listener (D50): the CRL and nothing else. */
static const struct route routes_crl[] = {
	{ PATH_CRL, M_GET | M_HEAD, 0, h_crl, 0 },
};

/*
 * A listener: its table, what its 404 says, and whether it speaks ACME
 * (a nonce and the index link on every reply).
 */
static const struct listener {
	const struct route *routes;
	size_t nroutes;
	const char *not_found;
	int acme;
} listeners[] = {
	[ROUTER_ACME] = { routes_acme, ACME_ARRAY_LEN(routes_acme),
	    "no such resource", 1 },
	[ROUTER_CRL] = { routes_crl, ACME_ARRAY_LEN(routes_crl),
	    "no such resource: this listener serves " PATH_CRL " only", 0 },
};

#define PARAM_MAX 128

static int
is_id_char(int c)
{
	/* '.' for ARI certIDs; no other id holds one. */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/*
 * Matches path against pattern.  On a match with a "*", copies the
 * segment into param.  Returns nonzero on a match.
 */
static int
match(const char *pattern, const char *path, char *param, size_t psize)
{
	const char *star = strchr(pattern, '*');
	size_t pre, n = 0;

	param[0] = '\0';
	if (star == NULL)
		return strcmp(pattern, path) == 0;
	pre = (size_t)(star - pattern);
	if (strncmp(pattern, path, pre) != 0)
		return 0;
	path += pre;
	while (is_id_char((unsigned char)path[n]))
		n++;
	if (n == 0 || n > PARAM_MAX || n >= psize)
		return 0;
	memcpy(param, path, n);
	param[n] = '\0';
	return strcmp(star + 1, path + n) == 0;
}

static unsigned
method_bit(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return M_GET;
	if (strcmp(m, "HEAD") == 0)
		return M_HEAD;
	if (strcmp(m, "POST") == 0)
		return M_POST;
	return 0;
}

/* Headers every reply carries: a fresh nonce, and the index link. */
static void
common_headers(struct srv *srv, struct req *req, struct resp *resp)
{
	char nonce[NONCE_LEN + 1], dir[REQ_MAX_BASE + sizeof(PATH_DIRECTORY)];

	if (nonce_issue(srv->nonces, nonce) == 0)
		reply_header(resp, "Replay-Nonce", nonce);
	if (strcmp(req->path, PATH_DIRECTORY) != 0 &&
	    snprintf(dir, sizeof(dir), "%s%s", req->base, PATH_DIRECTORY) <
		(int)sizeof(dir))
		reply_link(resp, dir, "index");
}

void
router_dispatch(struct srv *srv, enum router_listener listener, struct req *req,
    struct resp *resp)
{
	const struct listener *l;
	const struct route *rt = NULL;
	char pbuf[PARAM_MAX + 1];
	unsigned m;
	size_t i;

	ACME_ASSERT(
	    srv != NULL && req != NULL && req->cfg != NULL && resp != NULL);
	ACME_ASSERT((size_t)listener < ACME_ARRAY_LEN(listeners));
	l = &listeners[listener];
	for (i = 0; i < l->nroutes; i++)
		if (match(l->routes[i].pattern, req->path, pbuf,
			sizeof(pbuf))) {
			rt = &l->routes[i];
			break;
		}
	if (rt == NULL) {
		struct acme_problem p = { 0 };

		acme_problem_set_status(&p, ACME_PROB_MALFORMED, HTTP_NOT_FOUND,
		    "%s", l->not_found);
		reply_problem(resp, &p);
		goto out;
	}
	req->param = pbuf[0] != '\0' ? pbuf : NULL;
	m = method_bit(req->method);
	if ((rt->methods & m) == 0) {
		struct acme_problem p = { 0 };

		/* RFC 8555 6.3: GET of a POST-as-GET resource is 405. */
		acme_problem_set_status(&p, ACME_PROB_MALFORMED,
		    HTTP_METHOD_NOT_ALLOWED, "method %s not allowed here",
		    req->method);
		reply_problem(resp, &p);
		reply_header(resp, "Allow",
		    rt->methods & M_GET ? "GET, HEAD" : "POST");
		goto out;
	}
	if (m == M_POST &&
	    (authn_check(srv, req, rt->auth, resp) != 0 ||
		(rt->as_get && authn_post_as_get(req, resp) != 0)))
		goto out;
	rt->fn(srv, req, resp);
	req->param = NULL;
out:
	authn_release(req);
	if (l->acme)
		common_headers(srv, req, resp);
}
