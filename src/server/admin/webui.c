/* SPDX-License-Identifier: ISC */
/*
 * The operator page (see webui.h, D86).  Read-only: the only state a
 * request changes is the login's own (sessions, failure counts).  The
 * HTML is static; every value from the store or from requesters
 * reaches the browser as JSON and is put in the page as text by
 * www/app.js, never as markup.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/buf.h>
#include <anvil/err.h>
#include <anvil/log.h>

#include "activity.h"
#include "assets.h"
#include "login.h"
#include "webui.h"
#include "../http/reply.h"
#include "../srvlimits.h"
#include "../store/store.h"

#include "internal.h"

/* Certificates one search lists. */
#define SEARCH_MAX 100
/* Bytes of a searched name (a DNS name is at most 253). */
#define SEARCH_NAME_MAX 255
/* Bytes of the login page as sent. */
#define LOGIN_PAGE_MAX (16 * 1024)
/* Bytes of the login page's message. */
#define LOGIN_MESSAGE_MAX 128
/* Hex digits: 0-9, then a-f from ten; two make a %XX byte. */
#define HEX_BASE  16
#define HEX_ALPHA 10

/* 303 See Other: after a login or logout, and to the login. */
#define WEBUI_SEE_OTHER 303

enum { P_GET = 1, P_POST = 2 };

typedef void (
    *page_fn)(struct srv *srv, const struct webui_req *rq, struct resp *resp);

/* Where the page's problems come from: none is ACME. */
static void
problem(struct resp *resp, int status, enum acme_prob_type type,
    const char *detail)
{
	struct acme_problem p = { 0 };

	acme_problem_set_status(&p, type, status, "%s", detail);
	reply_problem(resp, &p);
	acme_problem_release(&p);
}

static const struct webui_asset *
asset(const char *name)
{
	size_t i;

	for (i = 0; i < webui_nassets; i++)
		if (strcmp(webui_assets[i].name, name) == 0)
			return &webui_assets[i];
	return NULL;
}

static void
send_asset(struct resp *resp, int status, const char *name)
{
	const struct webui_asset *a = asset(name);

	ACME_ASSERT(a != NULL);
	reply_body(resp, status, a->content_type, (const char *)a->data,
	    a->len);
}

static void
redirect(struct resp *resp, const char *to)
{
	reply_body(resp, WEBUI_SEE_OTHER, "text/plain; charset=utf-8", "", 0);
	reply_header(resp, "Location", to);
}

/* srv_hash of the configured password hash: a session's key. */
static uint64_t
hash_key(const struct webui_req *rq)
{
	return srv_hash(rq->cfg->admin_password_hash);
}

static void
p_index(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	(void)srv;
	(void)rq;
	send_asset(resp, HTTP_OK, "index.html");
}

static void
p_static(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	const char *name = rq->path + strlen("/static/");

	(void)srv;
	/* Only the page's own script and style; its HTML has routes. */
	if (strstr(name, ".html") != NULL || asset(name) == NULL) {
		problem(resp, HTTP_NOT_FOUND, ACME_PROB_MALFORMED,
		    "no such file");
		return;
	}
	send_asset(resp, HTTP_OK, name);
}

/*
 * The login form, with message (a fixed text of ours, never input)
 * where login.html has its <!--MESSAGE--> mark.
 */
static void
login_page(struct resp *resp, int status, const char *message)
{
	const struct webui_asset *a = asset("login.html");
	const char *mark = "<!--MESSAGE-->";
	const char *at = strstr((const char *)a->data, mark);
	struct acme_buf b;
	size_t len;
	char *out;

	ACME_ASSERT(at != NULL);
	acme_buf_init(&b, LOGIN_PAGE_MAX);
	if (acme_buf_append(&b, a->data,
		(size_t)(at - (const char *)a->data)) != 0 ||
	    acme_buf_puts(&b, message) != 0 ||
	    acme_buf_puts(&b, at + strlen(mark)) != 0) {
		acme_buf_release(&b);
		problem(resp, HTTP_SERVER_ERROR, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return;
	}
	out = acme_buf_detach(&b, &len);
	reply_body(resp, status, a->content_type, out, len);
	free(out);
}

static void
p_login_form(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	(void)rq;
	if (login_session_ok(srv->login, rq->cookie, hash_key(rq), srv->now()))
		redirect(resp, "/");
	else
		login_page(resp, HTTP_OK, "");
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + HEX_ALPHA : -1;
}

/*
 * The value of field in an application/x-www-form-urlencoded body,
 * decoded into out (size bytes).  0, or ACME_ERR_NOTFOUND when the
 * field is absent, ACME_ERR_INVAL when it is malformed or too long.
 */
static int
form_field(const char *body, const char *field, char *out, size_t size)
{
	size_t fl = strlen(field), n = 0;
	const char *p = body;

	for (;;) {
		if (strncmp(p, field, fl) == 0 && p[fl] == '=')
			break;
		if ((p = strchr(p, '&')) == NULL)
			return ACME_ERR_NOTFOUND;
		p++;
	}
	for (p += fl + 1; *p != '\0' && *p != '&'; p++) {
		int c = (unsigned char)*p;

		if (c == '+')
			c = ' ';
		else if (c == '%') {
			int hi = hexval((unsigned char)p[1]), lo;

			if (hi < 0 || (lo = hexval((unsigned char)p[2])) < 0)
				return ACME_ERR_INVAL;
			c = hi * HEX_BASE + lo;
			p += HEX_PER_BYTE;
		}
		if (c == '\0' || n + 1 >= size)
			return ACME_ERR_INVAL;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

static void
p_login(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	char password[LOGIN_PASSWORD_MAX], token[LOGIN_TOKEN_LEN + 1];
	time_t now = srv->now();
	long wait;
	int ok;

	if ((wait = login_wait(srv->login, rq->client_ip, now)) > 0) {
		char msg[LOGIN_MESSAGE_MAX];

		snprintf(msg, sizeof(msg),
		    "Too many failed logins: try again in %ld seconds.", wait);
		login_page(resp, HTTP_TOO_MANY_REQUESTS, msg);
		reply_headerf(resp, "Retry-After", "%ld", wait);
		return;
	}
	ok =
	    form_field(rq->body, "password", password, sizeof(password)) == 0 &&
	    login_password_ok(rq->cfg->admin_password_hash, password);
	acme_wipe(password, sizeof(password));
	if (!ok) {
		login_failed(srv->login, rq->client_ip, now);
		acme_log(ACME_LOG_WARN, "admin login refused", "client=%s",
		    rq->client_ip[0] ? rq->client_ip : "-");
		login_page(resp, HTTP_UNAUTHORIZED, "Wrong password.");
		return;
	}
	login_succeeded(srv->login, rq->client_ip);
	if (login_session_new(srv->login, hash_key(rq), now, token) != 0) {
		problem(resp, HTTP_SERVER_ERROR, ACME_PROB_SERVER_INTERNAL,
		    "cannot make a session token");
		return;
	}
	acme_log(ACME_LOG_INFO, "admin login", "client=%s",
	    rq->client_ip[0] ? rq->client_ip : "-");
	redirect(resp, "/");
	/* Secure only over HTTPS (D95): a browser drops it on plain HTTP. */
	reply_headerf(resp, "Set-Cookie",
	    WEBUI_COOKIE "=%s; Path=/; Max-Age=%d; HttpOnly; "
			 "SameSite=Strict%s",
	    token, LOGIN_SESSION_SECONDS, rq->cfg->admin_tls ? "; Secure" : "");
	acme_wipe(token, sizeof(token));
}

static void
p_logout(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	login_session_end(srv->login, rq->cookie);
	redirect(resp, "/login");
	reply_headerf(resp, "Set-Cookie",
	    WEBUI_COOKIE "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s",
	    rq->cfg->admin_tls ? "; Secure" : "");
}

/* obj (new, stolen) as a 200, or a 500 when it is NULL. */
static void
send_json(struct resp *resp, json_t *obj)
{
	if (obj == NULL)
		problem(resp, HTTP_SERVER_ERROR, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	else
		reply_json(resp, HTTP_OK, obj);
}

static void
p_rates(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	(void)rq;
	send_json(resp, activity_rates(srv->activity, srv->now()));
}

static void
p_failures(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	(void)rq;
	send_json(resp, activity_failures(srv->activity));
}

static void
p_validations(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	(void)rq;
	send_json(resp, activity_validations(srv->activity));
}

/* One certificate as the search lists it, or NULL. */
static json_t *
cert_json(const struct store_cert *c, time_t now)
{
	const char *status = c->revoked_at != 0 ? "revoked" :
			     c->not_after < now ? "expired" :
						  "valid";

	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "serial",
	    c->serial, "account", c->account_id, "order", c->order_id,
	    "not_before", (json_int_t)c->not_before, "not_after",
	    (json_int_t)c->not_after, "status", status, "revoked_at",
	    (json_int_t)c->revoked_at);
}

static void
p_certs(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	struct acme_problem prob = { 0 };
	char name[SEARCH_NAME_MAX + 1], (*ids)[STORE_ID_SIZE] = NULL;
	json_t *list = NULL;
	size_t i, n = 0;
	time_t now = srv->now();

	if (rq->name == NULL || rq->name[0] == '\0' ||
	    strlen(rq->name) > SEARCH_NAME_MAX) {
		problem(resp, HTTP_BAD_REQUEST, ACME_PROB_MALFORMED,
		    "name= must be 1 to 255 bytes");
		return;
	}
	/* Identifiers are stored in lowercase (S-IDN-10). */
	for (i = 0; rq->name[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)rq->name[i]);
	name[i] = '\0';
	if ((ids = calloc(SEARCH_MAX, sizeof(*ids))) == NULL ||
	    (list = json_array()) == NULL) {
		problem(resp, HTTP_SERVER_ERROR, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	if (store_cert_find(srv->store, NULL, name, ids, SEARCH_MAX, &n,
		&prob) != 0) {
		reply_problem(resp, &prob);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct store_cert c;

		memset(&c, 0, sizeof(c));
		if (store_cert_get(srv->store, ids[i], &c, &prob) != 0) {
			reply_problem(resp, &prob);
			goto out;
		}
		json_array_append_new(list, cert_json(&c, now));
		store_cert_release(&c);
	}
	send_json(resp,
	    json_pack("{s:s, s:O, s:b}", "name", name, "certificates", list,
		"truncated", n == SEARCH_MAX));
out:
	json_decref(list);
	free(ids);
	acme_problem_release(&prob);
}

/* The page's routes; session: only with a login (HTML: else 303). */
static const struct page {
	const char *path; /* exact, or a prefix when it ends in '/' */
	unsigned methods;
	int session;
	int html;
	page_fn fn;
} pages[] = {
	{ "/", P_GET, 1, 1, p_index },
	{ "/login", P_GET, 0, 1, p_login_form },
	{ "/login", P_POST, 0, 1, p_login },
	{ "/logout", P_POST, 0, 1, p_logout },
	{ "/static/", P_GET, 0, 0, p_static },
	{ "/api/rates", P_GET, 1, 0, p_rates },
	{ "/api/failures", P_GET, 1, 0, p_failures },
	{ "/api/validations", P_GET, 1, 0, p_validations },
	{ "/api/certs", P_GET, 1, 0, p_certs },
};

static int
path_match(const char *pattern, const char *path)
{
	size_t n = strlen(pattern);

	if (n > 1 && pattern[n - 1] == '/')
		return strncmp(pattern, path, n) == 0 && path[n] != '\0' &&
		       strchr(path + n, '/') == NULL;
	return strcmp(pattern, path) == 0;
}

/* Headers every page reply carries. */
static void
page_headers(struct resp *resp)
{
	reply_header(resp, "Cache-Control", "no-store");
	reply_header(resp, "X-Content-Type-Options", "nosniff");
	reply_header(resp, "X-Frame-Options", "DENY");
	reply_header(resp, "Referrer-Policy", "no-referrer");
	reply_header(resp, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "connect-src 'self'; img-src 'self'; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'");
}

void
webui_dispatch(struct srv *srv, const struct webui_req *rq, struct resp *resp)
{
	const struct page *pg = NULL;
	unsigned m = 0, allowed = 0;
	size_t i;

	ACME_ASSERT(srv != NULL && rq != NULL && resp != NULL);
	page_headers(resp);
	if (rq->cfg->admin_password_hash[0] == '\0' || srv->login == NULL ||
	    srv->activity == NULL) {
		problem(resp, HTTP_NOT_FOUND, ACME_PROB_MALFORMED,
		    "no such resource: this listener serves /metrics; the "
		    "operator page is off until admin_password_hash is set "
		    "(anvil-ca admin passwd makes one)");
		return;
	}
	if (strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0)
		m = P_GET;
	else if (strcmp(rq->method, "POST") == 0)
		m = P_POST;
	for (i = 0; i < ACME_ARRAY_LEN(pages); i++) {
		if (!path_match(pages[i].path, rq->path))
			continue;
		allowed |= pages[i].methods;
		if (pages[i].methods & m)
			pg = &pages[i];
	}
	if (allowed == 0) {
		problem(resp, HTTP_NOT_FOUND, ACME_PROB_MALFORMED,
		    "no such resource");
		return;
	}
	if (pg == NULL) {
		problem(resp, HTTP_METHOD_NOT_ALLOWED, ACME_PROB_MALFORMED,
		    "method not allowed here");
		reply_header(resp, "Allow",
		    allowed == P_POST ? "POST" :
		    allowed == P_GET  ? "GET, HEAD" :
					"GET, HEAD, POST");
		return;
	}
	if (pg->session && !login_session_ok(srv->login, rq->cookie,
			       hash_key(rq), srv->now())) {
		if (pg->html)
			redirect(resp, "/login");
		else
			problem(resp, HTTP_UNAUTHORIZED, ACME_PROB_UNAUTHORIZED,
			    "log in at /login first");
		return;
	}
	pg->fn(srv, rq, resp);
}
