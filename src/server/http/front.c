/* SPDX-License-Identifier: ISC */
/*
 * libmicrohttpd glue (see front.h).  Per request: a context created on
 * the first callback holds the bounded body; the last callback builds the
 * struct req, runs the router and queues the reply; the completion
 * callback logs the request with its latency and frees the context.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <anvil/buf.h>
#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/log.h>

#include "deadline.h"
#include "front.h"
#include "reply.h"
#include "router.h"
#include "../admin/activity.h"
#include "../admin/metrics.h"
#include "../admin/webui.h"
#include "../nonce.h"

#include "internal.h"

#define HOST_MAX 255

#define CONN_LIMIT       4096 /* connections of the ACME listener */
#define CRL_CONN_LIMIT   256  /* connections of the CRL listener */
#define ADMIN_CONN_LIMIT 16   /* connections of the admin listener */
#define CONN_TIMEOUT     30   /* seconds idle before a connection closes */
/* One client gets at most this share of a plain listener's connections. */
#define PLAIN_PER_IP_SHARE 4
/* Descriptors beyond the connections: store, logs, resolver, CA files. */
#define FD_SPARE 256
/* Memory of one connection: any ACME request's headers fit (bodies
 * are copied out as they arrive). */
#define CONN_MEMORY (32 * 1024)
/* Bytes of the listener's certificate chain or key file. */
#define TLS_FILE_MAX (1 << 20)
/* How often a drain looks at the requests still in flight, in ms. */
#define DRAIN_POLL_MS 10
/* Bytes of the quoted URI and User-Agent in the request log line. */
#define LOG_URI_MAX 600
#define LOG_UA_MAX  300
/* Bytes of a listen address's host part. */
#define LISTEN_HOST_MAX 256
/* Bytes of a request method: the longest we route is "DELETE"/"OPTIONS". */
#define LOG_METHOD_MAX 8
/* Bytes of a problem type name for the log, such as "badSignatureAlgorithm". */
#define LOG_PTYPE_MAX 48
/* Bytes of the client's address: INET6_ADDRSTRLEN, the longest IPv6 text. */
#define LOG_CLIENT_MAX 46
/* Bytes of the account id logged: a store id (STORE_ID_SIZE) fits. */
#define LOG_ACCT_MAX 40
/* Bytes of the User-Agent kept before quoting (LOG_UA_MAX after). */
#define LOG_UA_KEEP 128
/* Bytes of one libmicrohttpd message, and of it quoted for the log. */
#define MHD_MSG_MAX    512
#define MHD_MSG_QUOTED 600
/* Bytes of a 5xx's quoted detail in its error line. */
#define LOG_DETAIL_MAX 600
/* Bytes the metrics page may grow to (D73): far above its real size. */
#define METRICS_PAGE_MAX (4 << 20)
/* MHD_OPTION_ARRAY entries for the listening socket: it and the end. */
#define LISTEN_OPTS 2
/* The same for a plain listener: the socket, TLS's three, the end. */
#define PLAIN_OPTS 5
/* TLS versions a listener offers: 1.2 and 1.3. */
#define TLS_PRIORITIES "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-SSL3.0"

/* A listener's certificate chain and key, PEM, as libmicrohttpd takes them. */
struct front_pair {
	char *cert;
	char *key;
};

/*
 * One libmicrohttpd daemon of the ACME listener, or of the admin
 * listener, with its own count of requests in flight.  A reload (D67,
 * D97) starts a new one on the same listening socket and lets the old
 * one drain.
 */
struct front_gen {
	struct srv *srv;
	struct MHD_Daemon *mhd;
	int inflight; /* requests being served (atomic) */
	int draining; /* replaced by a reload: close after each reply (atomic) */
	struct front_pair *pair; /* what it serves; NULL: plain HTTP */
};

struct reqctx {
	struct acme_buf body;
	int too_big;
	int too_long;  /* URI did not fit in uri */
	int started;   /* the headers-only first call was seen */
	int *inflight; /* the server's counter, once started */
	struct timespec start;
	int status;
	char method[LOG_METHOD_MAX];
	char uri[REQ_MAX_URI]; /* as requested, with the query */
	char ptype[LOG_PTYPE_MAX];
	int prob_type; /* enum acme_prob_type of the reply, for metrics */
	/* Who asked, for the request log. */
	char client[LOG_CLIENT_MAX];
	char acct[LOG_ACCT_MAX];
	char ua[LOG_UA_KEEP];
};

/*
 * libmicrohttpd's own messages ("Failed to bind to port 0: ...") go to
 * the log at debug level, one line each: what failed is said in anvil's
 * words by the caller ("cannot listen on ADDR: ...", D72).
 */
__attribute__((format(printf, 2, 0))) static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[MHD_MSG_MAX], q[MHD_MSG_QUOTED];
	size_t n;
	int e = errno; /* the caller reports strerror(errno) */

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	acme_log(ACME_LOG_DEBUG, "libmicrohttpd", "detail=%s",
	    acme_log_quote(line, q, sizeof(q)));
	errno = e;
}

static void *
log_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	struct reqctx *rc;

	(void)cls;
	(void)con;
	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return NULL;
	acme_buf_init(&rc->body, REQ_MAX_BODY);
	clock_gettime(CLOCK_MONOTONIC, &rc->start);
	if (strlen(uri) >= sizeof(rc->uri))
		rc->too_long = 1;
	snprintf(rc->uri, sizeof(rc->uri), "%s", uri);
	return rc;
}

/*
 * D55: a connection has header_timeout seconds from its accept for the
 * TLS handshake and its first request's headers, however busy the peer
 * keeps it, and CONN_TIMEOUT from the end of a request for the next
 * one's.  The entry lives in the connection's socket context.
 */
static void
conn_notify(void *cls, struct MHD_Connection *con, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct srv *srv = cls;
	const union MHD_ConnectionInfo *ci;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		ci = MHD_get_connection_info(con,
		    MHD_CONNECTION_INFO_CONNECTION_FD);
		*socket_context =
		    ci == NULL ? NULL :
				 deadline_add(srv->deadlines, ci->connect_fd,
				     srv_conf(srv)->header_timeout);
		return;
	}
	/* Closed: libmicrohttpd closes the descriptor after this. */
	deadline_remove(srv->deadlines, *socket_context);
	*socket_context = NULL;
}

/* The deadline entry of con, or NULL. */
static struct deadline_entry *
conn_deadline(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

static void
completed(void *cls, struct MHD_Connection *con, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct srv *srv = cls;
	struct reqctx *rc = *con_cls;
	struct timespec end;
	double ms;
	char q[LOG_URI_MAX], u[LOG_UA_MAX];

	/* Waiting for the next request on this connection (D55). */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		deadline_arm(srv->deadlines, conn_deadline(con), CONN_TIMEOUT);
	if (rc == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	ms = (double)(end.tv_sec - rc->start.tv_sec) * MS_PER_SEC +
	     (double)(end.tv_nsec - rc->start.tv_nsec) / NS_PER_MS;
	acme_log(ACME_LOG_INFO, "request",
	    "method=%s path=%s status=%d problem=%s latency_ms=%.2f "
	    "client=%s account=%s ua=%s%s",
	    rc->method[0] ? rc->method : "-",
	    acme_log_quote(rc->uri, q, sizeof(q)), rc->status,
	    rc->ptype[0] ? rc->ptype : "-", ms,
	    rc->client[0] ? rc->client : "-", rc->acct[0] ? rc->acct : "-",
	    acme_log_quote(rc->ua[0] ? rc->ua : "-", u, sizeof(u)),
	    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
	metrics_request(srv->metrics, rc->uri, rc->status, rc->prob_type,
	    ms / MS_PER_SEC);
	if (rc->inflight != NULL)
		__atomic_sub_fetch(rc->inflight, 1, __ATOMIC_SEQ_CST);
	acme_buf_release(&rc->body);
	free(rc);
	*con_cls = NULL;
}

/*
 * A Host header is used to build URLs, so only host names, IPv4 and
 * bracketed IPv6 literals with an optional port are accepted.
 */
static int
host_ok(const char *h)
{
	size_t n = 0;

	if (h == NULL || *h == '\0')
		return 0;
	for (; h[n] != '\0'; n++) {
		char c = h[n];

		if (n >= HOST_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '-' ||
			c == ':' || c == '[' || c == ']'))
			return 0;
	}
	return 1;
}

static enum MHD_Result
send_resp(struct MHD_Connection *con, struct resp *resp, int head)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	size_t i;

	r = MHD_create_response_from_buffer(head ? 0 : resp->body_len,
	    resp->body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (resp->content_type != NULL)
		MHD_add_response_header(r, "Content-Type", resp->content_type);
	for (i = 0; i < resp->nheaders; i++)
		MHD_add_response_header(r, resp->headers[i].name,
		    resp->headers[i].value);
	ret = MHD_queue_response(con, (unsigned)resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* The peer's address as text (rate limits per address, D51). */
static void
client_ip(struct MHD_Connection *con, char *out, size_t size)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci != NULL ? ci->client_addr : NULL;

	out[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, (socklen_t)size);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
		    (socklen_t)size);
}

/* Notes the reply for the request log, queues it and releases it. */
static enum MHD_Result
finish(struct MHD_Connection *con, struct reqctx *rc, struct resp *resp,
    int head)
{
	enum MHD_Result ret;

	rc->status = resp->status;
	rc->prob_type = (int)resp->prob.type;
	if (resp->prob.type != ACME_PROB_NONE)
		snprintf(rc->ptype, sizeof(rc->ptype), "%s",
		    acme_problem_type_name(resp->prob.type));
	/* A 5xx is the operator's to act on: its cause, at error level. */
	if (resp->status >= HTTP_SERVER_ERROR) {
		char q[LOG_URI_MAX], d[LOG_DETAIL_MAX];

		acme_log(ACME_LOG_ERROR, "server error",
		    "method=%s path=%s status=%d problem=%s detail=%s",
		    rc->method[0] ? rc->method : "-",
		    acme_log_quote(rc->uri, q, sizeof(q)), resp->status,
		    rc->ptype[0] ? rc->ptype : "-",
		    acme_log_quote(resp->prob.detail[0] ? resp->prob.detail :
							  "-",
			d, sizeof(d)));
	}
	ret = send_resp(con, resp, head);
	reply_release(resp);
	return ret;
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct front_gen *gen = cls;
	struct srv *srv = gen->srv;
	struct reqctx *rc = *con_cls;
	struct resp resp;
	struct req req;
	const char *host;
	char base[REQ_MAX_BASE], full[REQ_MAX_URL];
	const char *qm;

	(void)version;
	if (rc == NULL)
		return MHD_NO;
	if (!rc->started) {
		/* MHD's first call carries headers only; the body follows. */
		rc->started = 1;
		deadline_disarm(srv->deadlines, conn_deadline(con));
		rc->inflight = &gen->inflight;
		__atomic_add_fetch(rc->inflight, 1, __ATOMIC_SEQ_CST);
		snprintf(rc->method, sizeof(rc->method), "%s", method);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (!rc->too_big &&
		    acme_buf_append(&rc->body, upload_data, *upload_size) != 0)
			rc->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	resp.status = HTTP_SERVER_ERROR;
	req.cfg = srv_conf(srv); /* the request's one snapshot (D89) */
	client_ip(con, rc->client, sizeof(rc->client));
	if (req.cfg->base_url[0] != '\0')
		snprintf(base, sizeof(base), "%s", req.cfg->base_url);
	else {
		host = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_HOST);
		if (!host_ok(host)) {
			struct acme_problem p = { 0 };

			acme_problem_set(&p, ACME_PROB_MALFORMED,
			    "missing or invalid Host header");
			reply_problem(&resp, &p);
			goto send;
		}
		snprintf(base, sizeof(base), "https://%s", host);
	}
	if (rc->too_long || strlen(url) > REQ_MAX_PATH) {
		reply_error(&resp, ACME_PROB_MALFORMED, "URL too long");
		goto send;
	}
	snprintf(full, sizeof(full), "%s%s", base, rc->uri);
	qm = strchr(rc->uri, '?');
	req.method = method;
	req.path = url;
	req.query = qm != NULL ? qm + 1 : NULL;
	req.url = full;
	req.base = base;
	req.content_type = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	req.accept = MHD_lookup_connection_value(con, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT);
	client_ip(con, req.client_ip, sizeof(req.client_ip));
	{
		const char *ua = MHD_lookup_connection_value(con,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_USER_AGENT);

		snprintf(rc->ua, sizeof(rc->ua), "%s", ua != NULL ? ua : "");
	}
	req.body = rc->body.data != NULL ? rc->body.data : "";
	req.body_len = rc->body.len;
	if (rc->too_big) {
		struct acme_problem p = { 0 };

		acme_problem_set_status(&p, ACME_PROB_MALFORMED,
		    HTTP_PAYLOAD_TOO_LARGE, "request body larger than %d bytes",
		    REQ_MAX_BODY);
		reply_problem(&resp, &p);
		goto send;
	}
	router_dispatch(srv, ROUTER_ACME, &req, &resp);
	snprintf(rc->acct, sizeof(rc->acct), "%s", req.acct_id);
	goto sent;
send:
	/* Refused before routing: still a fresh nonce (S-NON-2). */
	{
		char nonce[NONCE_LEN + 1];

		if (nonce_issue(srv->nonces, nonce) == 0)
			reply_header(&resp, "Replay-Nonce", nonce);
	}
sent:
	if (resp.prob.type != ACME_PROB_NONE)
		activity_failure(srv->activity, srv->now(),
		    (int)resp.prob.type);
	/* D89: the client takes its next request to the new listener. */
	if (__atomic_load_n(&gen->draining, __ATOMIC_SEQ_CST))
		reply_header(&resp, "Connection", "close");
	return finish(con, rc, &resp, strcmp(method, "HEAD") == 0);
}

/*
 * The plain-HTTP listener's requests: the CRL and nothing else; a body
 * is read and dropped.  No nonces, no JWS: nothing here is ACME.
 */
static enum MHD_Result
crl_access_cb(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct srv *srv = cls;
	struct reqctx *rc = *con_cls;
	struct resp resp;
	struct req req;
	int head = strcmp(method, "HEAD") == 0;

	(void)version;
	(void)upload_data;
	if (rc == NULL)
		return MHD_NO;
	if (!rc->started) {
		rc->started = 1;
		deadline_disarm(srv->deadlines, conn_deadline(con));
		snprintf(rc->method, sizeof(rc->method), "%s", method);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	resp.status = HTTP_SERVER_ERROR;
	req.cfg = srv_conf(srv); /* D89 */
	req.method = method;
	req.path = url;
	router_dispatch(srv, ROUTER_CRL, &req, &resp);
	return finish(con, rc, &resp, head);
}

/*
 * The admin listener's requests (D73): GET and HEAD of /metrics, in the
 * Prometheus text format, without a login: bind it where only the
 * scraper and the operator reach it.  Every other path is the
 * operator page's (D86), behind its own login.
 */
static enum MHD_Result
admin_access_cb(void *cls, struct MHD_Connection *con, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_size, void **con_cls)
{
	struct front_gen *gen = cls;
	struct srv *srv = gen->srv;
	struct reqctx *rc = *con_cls;
	struct acme_problem p = { 0 };
	struct resp resp;
	int head = strcmp(method, "HEAD") == 0;

	(void)version;
	if (rc == NULL)
		return MHD_NO;
	if (!rc->started) {
		rc->started = 1;
		deadline_disarm(srv->deadlines, conn_deadline(con));
		rc->inflight = &gen->inflight;
		__atomic_add_fetch(rc->inflight, 1, __ATOMIC_SEQ_CST);
		snprintf(rc->method, sizeof(rc->method), "%s", method);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* A login form's body; a larger one is refused below. */
		if (!rc->too_big &&
		    acme_buf_append(&rc->body, upload_data, *upload_size) != 0)
			rc->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	memset(&resp, 0, sizeof(resp));
	resp.status = HTTP_SERVER_ERROR;
	if (strcmp(url, "/metrics") != 0) {
		struct webui_req wr;
		char ip[INET6_ADDRSTRLEN];

		client_ip(con, ip, sizeof(ip));
		memset(&wr, 0, sizeof(wr));
		wr.cfg = srv_conf(srv); /* D89 */
		wr.method = method;
		wr.path = url;
		wr.name = MHD_lookup_connection_value(con,
		    MHD_GET_ARGUMENT_KIND, "name");
		wr.cookie = MHD_lookup_connection_value(con, MHD_COOKIE_KIND,
		    WEBUI_COOKIE);
		wr.body = rc->body.data != NULL ? rc->body.data : "";
		wr.body_len = rc->body.len;
		wr.client_ip = ip;
		if (rc->too_big || rc->too_long) {
			acme_problem_set_status(&p, ACME_PROB_MALFORMED,
			    HTTP_PAYLOAD_TOO_LARGE, "request too large");
			reply_problem(&resp, &p);
		} else
			webui_dispatch(srv, &wr, &resp);
	} else if (!head && strcmp(method, "GET") != 0) {
		acme_problem_set_status(&p, ACME_PROB_MALFORMED,
		    HTTP_METHOD_NOT_ALLOWED, "method %s not allowed here",
		    method);
		reply_problem(&resp, &p);
		reply_header(&resp, "Allow", "GET, HEAD");
	} else {
		struct acme_buf b;

		acme_buf_init(&b, METRICS_PAGE_MAX);
		if (metrics_render(srv, &b) == 0) {
			resp.status = HTTP_OK;
			resp.content_type = "text/plain; version=0.0.4";
			resp.body = acme_buf_detach(&b, &resp.body_len);
		} else {
			acme_problem_set(&p, ACME_PROB_SERVER_INTERNAL,
			    "cannot render the metrics");
			reply_problem(&resp, &p);
		}
		acme_buf_release(&b);
	}
	acme_problem_release(&p);
	/* D97: a scraper's next request goes to the new daemon. */
	if (__atomic_load_n(&gen->draining, __ATOMIC_SEQ_CST))
		reply_header(&resp, "Connection", "close");
	return finish(con, rc, &resp, head);
}

/* A host name's first address for a listener. */
static int
resolve_listen(const char *host, const char *port, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct addrinfo hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	if (host[0] == '\0' || getaddrinfo(host, port, &hints, &res) != 0 ||
	    res == NULL || res->ai_addrlen > sizeof(*ss)) {
		if (res != NULL)
			freeaddrinfo(res);
		return ACME_ERR_INVAL;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = (socklen_t)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * Splits "ADDR:PORT" / "[V6]:PORT" / "NAME:PORT" into a socket address;
 * a name is resolved once, here, to its first address (D72).
 */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[LISTEN_HOST_MAX];
	const char *colon;
	char *end;
	long port;
	size_t hl;

	colon = strrchr(s, ':');
	if (colon == NULL)
		return ACME_ERR_INVAL;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > PORT_MAX)
		return ACME_ERR_INVAL;
	hl = (size_t)(colon - s);
	if (hl >= LIT_LEN("[]") && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= LIT_LEN("[]");
	}
	if (hl >= sizeof(host))
		return ACME_ERR_INVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) ==
	    1) {
		((struct sockaddr_in *)ss)->sin_family = AF_INET;
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in);
		return 0;
	}
	if (inet_pton(AF_INET6, host,
		&((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
		*len = sizeof(struct sockaddr_in6);
		return 0;
	}
	return resolve_listen(host, colon + 1, ss, len);
}

/*
 * The deadline set the listeners share (D55), made by the first to
 * start and freed when the last has stopped.
 */
static int
deadlines_up(struct srv *srv, struct acme_problem *prob)
{
	if (srv->deadlines == NULL &&
	    (srv->deadlines = deadline_set_new()) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot start the connection deadline thread");
	return 0;
}

static void
deadlines_down(struct srv *srv)
{
	if (srv->front != NULL || srv->crl_mhd != NULL || srv->admin != NULL)
		return;
	deadline_set_free(srv->deadlines);
	srv->deadlines = NULL;
}

/*
 * A descriptor per connection: the soft limit a service often starts
 * with (1024 under systemd) is below CONN_LIMIT, and at the limit
 * accept() fails for every client.  Raised to the hard limit; a hard
 * limit below what the listeners need is logged.
 */
static void
raise_fd_limit(void)
{
	struct rlimit rl;
	rlim_t want = CONN_LIMIT + CRL_CONN_LIMIT + ADMIN_CONN_LIMIT + FD_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			return;
	}
	if (rl.rlim_cur < want)
		acme_log(ACME_LOG_WARN, "descriptor limit",
		    "limit=%llu want=%llu detail=\"raise the hard "
		    "RLIMIT_NOFILE (LimitNOFILE=)\"",
		    (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static void
pair_free(struct front_pair *pair)
{
	if (pair == NULL)
		return;
	if (pair->key != NULL)
		acme_wipe(pair->key, strlen(pair->key));
	free(pair->key);
	free(pair->cert);
	free(pair);
}

/*
 * The certificate and key files of cfg (tls_cert, tls_key), checked
 * with OpenSSL first so that a reload with a broken pair is refused
 * before a running daemon is touched.  NULL with prob set on failure.
 */
static struct front_pair *
pair_read(const struct conf *cfg, struct acme_problem *prob)
{
	struct front_pair *pair;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	BIO *b;
	size_t len;

	if ((pair = calloc(1, sizeof(*pair))) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return NULL;
	}
	if (acme_file_read(cfg->tls_cert, TLS_FILE_MAX, &pair->cert, &len,
		prob) != 0 ||
	    acme_file_read(cfg->tls_key, TLS_FILE_MAX, &pair->key, &len,
		prob) != 0) {
		pair_free(pair);
		return NULL;
	}
	if ((b = BIO_new_mem_buf(pair->cert, -1)) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if ((b = BIO_new_mem_buf(pair->key, -1)) != NULL)
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL || k == NULL || X509_check_private_key(x, k) != 1) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s and %s are not a PEM certificate and its key",
		    cfg->tls_cert, cfg->tls_key);
		pair_free(pair);
		pair = NULL;
	}
	X509_free(x);
	EVP_PKEY_free(k);
	return pair;
}

static void
gen_free(struct front_gen *gen)
{
	if (gen == NULL)
		return;
	pair_free(gen->pair);
	free(gen);
}

/*
 * A generation serving the certificate and key files of cfg, or plain
 * HTTP when tls is 0.
 */
static struct front_gen *
gen_new(struct srv *srv, const struct conf *cfg, int tls,
    struct acme_problem *prob)
{
	struct front_gen *gen;

	if ((gen = calloc(1, sizeof(*gen))) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return NULL;
	}
	gen->srv = srv;
	if (tls && (gen->pair = pair_read(cfg, prob)) == NULL) {
		gen_free(gen);
		return NULL;
	}
	return gen;
}

/*
 * Starts gen's daemon on ls, a socket a previous generation listened
 * on, or on cfg->listen when ls is MHD_INVALID_SOCKET.
 */
static int
gen_start(struct front_gen *gen, const struct conf *cfg, MHD_socket ls,
    struct acme_problem *prob)
{
	struct srv *srv = gen->srv;
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct MHD_OptionItem where[LISTEN_OPTS];
	unsigned flags;

	if (parse_listen(cfg->listen, &ss, &sslen) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "listen address \"%s\" is not ADDR:PORT or a name that "
		    "resolves",
		    cfg->listen);
	memset(where, 0, sizeof(where));
	if (ls == MHD_INVALID_SOCKET) {
		where[0].option = MHD_OPTION_SOCK_ADDR;
		where[0].ptr_value = &ss;
	} else {
		where[0].option = MHD_OPTION_LISTEN_SOCKET;
		where[0].value = (intptr_t)ls;
	}
	where[1].option = MHD_OPTION_END;
	/*
	 * poll(), not epoll: with epoll and a thread pool, libmicrohttpd
	 * 0.9.75 can abort in MHD_quiesce_daemon ("Failed to remove listen
	 * FD from epoll set") when a request is in flight (decision D20).
	 * 32 KiB per connection holds any ACME request's headers (bodies
	 * are copied out as they arrive); libmicrohttpd zeroes the whole
	 * pool after every request, so a larger one costs per request
	 * (128 KiB was 1.3 M instructions per issuance, D34).
	 */
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_TLS |
		MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	gen->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, gen,
	    MHD_OPTION_ARRAY, where, MHD_OPTION_HTTPS_MEM_CERT, gen->pair->cert,
	    MHD_OPTION_HTTPS_MEM_KEY, gen->pair->key,
	    MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    (unsigned)cfg->per_ip_connections,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	    MHD_OPTION_URI_LOG_CALLBACK, log_uri, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, conn_notify, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, srv, MHD_OPTION_END);
	if (gen->mhd == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot listen on %s: %s", cfg->listen, strerror(errno));
	return 0;
}

/* The connections gen's daemon holds, requests or not. */
static unsigned
gen_connections(const struct front_gen *gen)
{
	const union MHD_DaemonInfo *di =
	    MHD_get_daemon_info(gen->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return di != NULL ? di->num_connections : 0;
}

/*
 * Whether gen still serves a request or, when conns is set, holds a
 * connection.
 */
static int
gen_busy(const struct front_gen *gen, int conns)
{
	return __atomic_load_n(&gen->inflight, __ATOMIC_SEQ_CST) > 0 ||
	       (conns && gen_connections(gen) > 0);
}

/*
 * Drains the n generations of gens (NULL entries skipped), which accept
 * nothing more: each answers with Connection: close from now on; all
 * together get up to grace_ms for their requests in flight and, when
 * conns is set, for their connections to close; then their daemons
 * stop, closing the connections left, and they are freed.
 */
static void
gens_drain(struct front_gen *const gens[], size_t n, int grace_ms, int conns)
{
	size_t i;
	int waited = 0, busy;

	for (i = 0; i < n; i++)
		if (gens[i] != NULL)
			__atomic_store_n(&gens[i]->draining, 1,
			    __ATOMIC_SEQ_CST);
	for (;;) {
		busy = 0;
		for (i = 0; i < n; i++)
			if (gens[i] != NULL && gen_busy(gens[i], conns))
				busy = 1;
		if (!busy || waited >= grace_ms)
			break;
		usleep(DRAIN_POLL_MS * US_PER_MS);
		waited += DRAIN_POLL_MS;
	}
	/* All stopped before the deadline set may end (D55). */
	for (i = 0; i < n; i++)
		if (gens[i] != NULL)
			MHD_stop_daemon(gens[i]->mhd);
	for (i = 0; i < n; i++)
		if (gens[i] != NULL) {
			deadlines_down(gens[i]->srv);
			gen_free(gens[i]);
		}
}

int
front_start(struct srv *srv, struct acme_problem *prob)
{
	struct front_gen *gen;
	int rc;

	raise_fd_limit();
	if ((rc = deadlines_up(srv, prob)) != 0)
		return rc;
	if ((gen = gen_new(srv, srv_conf(srv), 1, prob)) == NULL) {
		deadlines_down(srv);
		return ACME_ERR_INVAL;
	}
	if ((rc = gen_start(gen, srv_conf(srv), MHD_INVALID_SOCKET, prob)) !=
	    0) {
		gen_free(gen);
		deadlines_down(srv);
		return rc;
	}
	srv->front = gen;
	return 0;
}

/* Starts a generation's daemon: gen_start or admin_gen_start. */
typedef int (*gen_start_fn)(struct front_gen *, const struct conf *, MHD_socket,
    struct acme_problem *);

/*
 * D67, D97: a new generation with next's pair takes over the listening
 * socket of *slot (the listener of the configuration key named key); connections that arrive meanwhile wait in the
 * socket's backlog, none is refused.  The old one is handed back in
 * *oldp to be drained with front_drain().  A pair that does not load,
 * or a socket that cannot be taken over, changes nothing (non-zero,
 * prob set, *oldp NULL).  A new daemon GnuTLS refuses is started again
 * with the running configuration's pair (non-zero, prob set, *oldp
 * handed back), and only if that fails too is the listener lost
 * (logged, *slot NULL).
 */
static int
gen_replace(struct srv *srv, const char *key, struct front_gen **slot, int tls,
    gen_start_fn start, const struct conf *next, struct front_gen **oldp,
    struct acme_problem *prob)
{
	struct front_gen *old = *slot, *gen;
	MHD_socket ls;
	int rc;

	*oldp = NULL;
	if ((gen = gen_new(srv, next, tls, prob)) == NULL)
		return ACME_ERR_INVAL;
	if ((ls = MHD_quiesce_daemon(old->mhd)) == MHD_INVALID_SOCKET) {
		gen_free(gen);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot take over the listening socket");
	}
	if ((rc = start(gen, next, ls, prob)) != 0) {
		/* GnuTLS refused what OpenSSL took: the old pair again. */
		struct acme_problem again = { 0 };

		gen_free(gen);
		gen = gen_new(srv, srv_conf(srv), tls, &again);
		if (gen == NULL || start(gen, srv_conf(srv), ls, &again) != 0) {
			acme_log(ACME_LOG_ERROR, "listener lost",
			    "listener=%s detail=%s", key, again.detail);
			gen_free(gen);
			gen = NULL;
			close(ls);
		}
		acme_problem_release(&again);
	}
	*slot = gen;
	*oldp = old;
	return rc;
}

int
front_reload(struct srv *srv, const struct conf *next, struct front_gen **oldp,
    struct acme_problem *prob)
{
	*oldp = NULL;
	if (srv->front == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "not listening");
	return gen_replace(srv, "listen", &srv->front, 1, gen_start, next, oldp,
	    prob);
}

void
front_drain(struct front_gen *const old[], size_t n, int grace_ms)
{
	gens_drain(old, n, grace_ms, 1);
}

void
front_stop(struct srv *srv, int grace_ms)
{
	MHD_socket ls;

	if (srv->front == NULL) {
		deadlines_down(srv); /* a reload lost the listener */
		return;
	}
	ls = MHD_quiesce_daemon(srv->front->mhd);
	gens_drain(&srv->front, 1, grace_ms, 0);
	srv->front = NULL;
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	deadlines_down(srv);
}

/*
 * Starts a one-thread daemon with cb and its cls on addr (the value of
 * the configuration key named key) into *out; nothing when addr is "".
 * It speaks HTTPS with pair, or plain HTTP when pair is NULL, and
 * listens on ls, a socket a daemon before it listened on, or binds
 * addr when ls is MHD_INVALID_SOCKET.  One thread: relying parties
 * fetch a CRL a few times a day, a scraper asks every few seconds.
 * Whoever stops the daemon calls deadlines_down() after.
 */
static int
plain_start(struct srv *srv, const char *key, const char *addr,
    const struct front_pair *pair, MHD_socket ls, MHD_AccessHandlerCallback cb,
    void *cls, unsigned limit, struct MHD_Daemon **out,
    struct acme_problem *prob)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	/* An array, not a literal: ptr_value is not const. */
	static char priorities[] = TLS_PRIORITIES;
	struct MHD_OptionItem opt[PLAIN_OPTS];
	unsigned flags, per_ip = (unsigned)srv_conf(srv)->per_ip_connections;
	size_t n = 0;

	if (addr[0] == '\0')
		return 0;
	if (parse_listen(addr, &ss, &sslen) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s address \"%s\" is not ADDR:PORT", key, addr);
	memset(opt, 0, sizeof(opt));
	if (ls == MHD_INVALID_SOCKET) {
		opt[n].option = MHD_OPTION_SOCK_ADDR;
		opt[n++].ptr_value = &ss;
	} else {
		opt[n].option = MHD_OPTION_LISTEN_SOCKET;
		opt[n++].value = (intptr_t)ls;
	}
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
		MHD_USE_ERROR_LOG;
	if (pair != NULL) {
		flags |= MHD_USE_TLS;
		opt[n].option = MHD_OPTION_HTTPS_MEM_CERT;
		opt[n++].ptr_value = pair->cert;
		opt[n].option = MHD_OPTION_HTTPS_MEM_KEY;
		opt[n++].ptr_value = pair->key;
		opt[n].option = MHD_OPTION_HTTPS_PRIORITIES;
		opt[n++].ptr_value = priorities;
	}
	opt[n].option = MHD_OPTION_END;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (deadlines_up(srv, prob) != 0)
		return ACME_ERR_NOMEM;
	*out = MHD_start_daemon(flags, 0, NULL, NULL, cb, cls, MHD_OPTION_ARRAY,
	    opt, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_LIMIT, limit,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT,
	    per_ip < limit / PLAIN_PER_IP_SHARE ? per_ip :
						  limit / PLAIN_PER_IP_SHARE,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
	    MHD_OPTION_URI_LOG_CALLBACK, log_uri, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, conn_notify, srv,
	    MHD_OPTION_NOTIFY_COMPLETED, completed, srv, MHD_OPTION_END);
	if (*out == NULL) {
		deadlines_down(srv);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot listen on %s: %s", addr, strerror(errno));
	}
	return 0;
}

int
front_crl_start(struct srv *srv, struct acme_problem *prob)
{
	return plain_start(srv, "crl_http_listen",
	    srv_conf(srv)->crl_http_listen, NULL, MHD_INVALID_SOCKET,
	    crl_access_cb, srv, CRL_CONN_LIMIT, &srv->crl_mhd, prob);
}

void
front_crl_stop(struct srv *srv)
{
	if (srv->crl_mhd == NULL)
		return;
	MHD_stop_daemon(srv->crl_mhd);
	srv->crl_mhd = NULL;
	deadlines_down(srv);
}

/* Starts gen's admin daemon (D73) on ls, or on cfg->admin_listen. */
static int
admin_gen_start(struct front_gen *gen, const struct conf *cfg, MHD_socket ls,
    struct acme_problem *prob)
{
	return plain_start(gen->srv, "admin_listen", cfg->admin_listen,
	    gen->pair, ls, admin_access_cb, gen, ADMIN_CONN_LIMIT, &gen->mhd,
	    prob);
}

int
front_admin_start(struct srv *srv, struct acme_problem *prob)
{
	const struct conf *cfg = srv_conf(srv);
	struct front_gen *gen;
	int rc;

	if (cfg->admin_listen[0] == '\0')
		return 0;
	if ((gen = gen_new(srv, cfg, cfg->admin_tls, prob)) == NULL)
		return ACME_ERR_INVAL;
	if ((rc = admin_gen_start(gen, cfg, MHD_INVALID_SOCKET, prob)) != 0) {
		gen_free(gen);
		return rc;
	}
	srv->admin = gen;
	return 0;
}

/* D95, D97: only an HTTPS admin listener has anything to take anew. */
int
front_admin_reload(struct srv *srv, const struct conf *next,
    struct front_gen **oldp, struct acme_problem *prob)
{
	*oldp = NULL;
	if (srv->admin == NULL || srv->admin->pair == NULL)
		return 0;
	return gen_replace(srv, "admin_listen", &srv->admin, 1, admin_gen_start,
	    next, oldp, prob);
}

void
front_admin_stop(struct srv *srv)
{
	struct front_gen *gen = srv->admin;
	MHD_socket ls;

	if (gen == NULL)
		return;
	srv->admin = NULL; /* so that deadlines_down() may end the set */
	ls = MHD_quiesce_daemon(gen->mhd);
	gens_drain(&gen, 1, 0, 0);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
}
