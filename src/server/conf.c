/* SPDX-License-Identifier: ISC */
/*
 * anvil-ca configuration (see conf.h): one table of keys drives the
 * defaults' documentation, loading with bounds checks, and saving.
 */
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/ident.h>
#include <anvil/json.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "conf.h"
#include "admin/login.h"
#include "va/addrfilter.h"

#include "internal.h"

/* Bytes of the address part of "ADDR/N": an IPv6 address fits. */
#define CIDR_HOST_MAX 64
/* The schemes a crl_url or a URL key may have. */
#define HTTP_SCHEME  "http://"
#define HTTPS_SCHEME "https://"
/* crl_http_listen hosts that name no address clients can reach. */
#define ANY_V4 "0.0.0.0:"
#define ANY_V6 "[::]:"
/* Bytes of a configuration file: far above any real one. */
#define CONF_FILE_MAX (1024 * 1024)
/* Spaces per level when conf_save() writes the file. */
#define CONF_INDENT 2

enum ktype {
	K_STR,
	K_PATH,
	K_INT,
	K_BOOL,
	K_PROFILES,
	K_RATELIMITS,
	K_DOMAINS, /* array of DNS names, kept comma-separated */
	K_RANGES,  /* array of CIDR blocks, kept comma-separated */
};

struct key {
	const char *name;
	enum ktype type;
	size_t off;
	size_t size;   /* strings: buffer size */
	long min, max; /* ints */
};

#define S(n, f)                                                                \
	{                                                                      \
		n, K_STR, offsetof(struct conf, f),                            \
		    sizeof(((struct conf *)0)->f), 0, 0                        \
	}
#define P(n, f)                                                                \
	{                                                                      \
		n, K_PATH, offsetof(struct conf, f),                           \
		    sizeof(((struct conf *)0)->f), 0, 0                        \
	}
#define I(n, f, lo, hi)                                                        \
	{                                                                      \
		n, K_INT, offsetof(struct conf, f), 0, lo, hi                  \
	}
#define L(n, f, t)                                                             \
	{                                                                      \
		n, t, offsetof(struct conf, f), sizeof(((struct conf *)0)->f), \
		    0, 0                                                       \
	}
#define B(n, f)                                                                \
	{                                                                      \
		n, K_BOOL, offsetof(struct conf, f), 0, 0, 1                   \
	}

static const struct key keys[] = {
	S("listen", listen),
	S("base_url", base_url),
	S("database", database),
	I("database_pool", database_pool, 1, 1000),
	S("resolver", resolver),
	P("dnssec_trust_anchor", dnssec_trust_anchor),
	I("http01_port", http01_port, 1, PORT_MAX),
	I("tls_alpn01_port", tls_alpn01_port, 1, PORT_MAX),
	B("allow_private_addresses", allow_private_addresses),
	L("validation_allowed_ranges", validation_allowed_ranges, K_RANGES),
	L("allowed_domains", allowed_domains, K_DOMAINS),
	L("denied_domains", denied_domains, K_DOMAINS),
	P("root_cert", root_cert),
	P("root_key", root_key),
	P("issuer_cert", issuer_cert),
	P("issuer_key", issuer_key),
	P("alt_chain", alt_chain),
	P("tls_cert", tls_cert),
	P("tls_key", tls_key),
	P("audit_log", audit_log),
	S("crl_url", crl_url),
	S("crl_http_listen", crl_http_listen),
	/* BR 4.9.7: nextUpdate at most 10 days after thisUpdate. */
	I("crl_refresh", crl_refresh, 60, 4 * DAY_SECS),
	I("crl_lifetime", crl_lifetime, 3600, 10 * DAY_SECS),
	S("terms_of_service", terms_of_service),
	S("website", website),
	S("caa_identities", caa_identities),
	B("external_account_required", external_account_required),
	B("authz_reuse", authz_reuse),
	I("order_lifetime", order_lifetime, 60, 30 * DAY_SECS),
	I("authz_lifetime", authz_lifetime, 60, 30 * DAY_SECS),
	I("valid_authz_lifetime", valid_authz_lifetime, 0, 398 * DAY_SECS),
	I("cert_lifetime", cert_lifetime, 3600, 398 * DAY_SECS),
	I("max_names", max_names, 1, 100),
	B("allow_ip_identifiers", allow_ip_identifiers),
	B("allow_wildcards", allow_wildcards),
	I("rsa_min_bits", rsa_min_bits, 2048, RSA_MAX_BITS),
	B("allow_ed25519_certs", allow_ed25519_certs),
	P("blocked_keys_file", blocked_keys_file),
	I("orders_per_page", orders_per_page, 1, 1000),
	I("ari_retry_after", ari_retry_after, 1, 7 * DAY_SECS),
	S("default_profile", profiles.default_name),
	{ "profiles", K_PROFILES, offsetof(struct conf, profiles), 0, 0, 0 },
	{ "rate_limits", K_RATELIMITS, offsetof(struct conf, rate_limits), 0, 0,
	    0 },
	I("http_threads", http_threads, 1, 256),
	I("per_ip_connections", per_ip_connections, 1, 4096),
	I("header_timeout", header_timeout, 1, 30),
	I("validation_workers", validation_workers, 1, 256),
	I("validation_timeout", validation_timeout, 1, 120),
	I("validation_per_account", validation_per_account, 1, 256),
	I("lease_seconds", lease_seconds, 2, 3600),
	/* BR 3.2.2.8: a CAA lookup serves for its TTL or 8 hours. */
	I("caa_cache_seconds", caa_cache_seconds, 0, 8 * HOUR_SECS),
	S("log_level", log_level),
	S("log_format", log_format),
	S("admin_listen", admin_listen),
	B("admin_tls", admin_tls),
	S("admin_password_hash", admin_password_hash),
};

static void
setstr(char *dst, size_t size, const char *dir, const char *rel)
{
	if (dir != NULL)
		snprintf(dst, size, "%s/%s", dir, rel);
	else
		snprintf(dst, size, "%s", rel);
}

void
conf_defaults(struct conf *c, const char *dir)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "%s", dir);
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:14000");
	snprintf(c->database, sizeof(c->database), "sqlite:%s/anvil-ca.db",
	    dir);
	c->http01_port = 80;
	c->tls_alpn01_port = 443;
	setstr(c->root_cert, sizeof(c->root_cert), dir, "ca/root.pem");
	setstr(c->root_key, sizeof(c->root_key), dir, "ca/root.key");
	setstr(c->issuer_cert, sizeof(c->issuer_cert), dir,
	    "ca/intermediate.pem");
	setstr(c->issuer_key, sizeof(c->issuer_key), dir,
	    "ca/intermediate.key");
	setstr(c->tls_cert, sizeof(c->tls_cert), dir, "tls/server.pem");
	setstr(c->tls_key, sizeof(c->tls_key), dir, "tls/server.key");
	setstr(c->audit_log, sizeof(c->audit_log), dir, "audit.log");
	c->authz_reuse = 1;
	c->order_lifetime = 7 * DAY_SECS;
	c->authz_lifetime = 7 * DAY_SECS;
	c->valid_authz_lifetime = 30 * DAY_SECS;
	c->cert_lifetime = 90 * DAY_SECS;
	c->max_names = 100;
	c->allow_ip_identifiers = 1;
	c->allow_wildcards = 1;
	c->rsa_min_bits = 2048;
	c->allow_ed25519_certs = 0;
	c->orders_per_page = 100;
	c->ari_retry_after = 6 * HOUR_SECS;
	profile_defaults(&c->profiles);
	c->http_threads = 4;
	c->database_pool = 16; /* STORE_POOL_DEFAULT */
	c->per_ip_connections = 128;
	c->header_timeout = 10;
	c->validation_workers = 4;
	c->validation_timeout = 10;
	c->validation_per_account = 2;
	c->lease_seconds = 30;
	c->caa_cache_seconds = 300;
	c->crl_refresh = DAY_SECS;
	c->crl_lifetime = 7 * DAY_SECS;
	snprintf(c->log_level, sizeof(c->log_level), "info");
	snprintf(c->log_format, sizeof(c->log_format), "text");
}

/* "A.B.C.D/N" or "V6/N" into r; 0 or -1. */
static int
parse_range(const char *s, struct conf_range *r)
{
	char host[CIDR_HOST_MAX], *end;
	const char *slash = strchr(s, '/');
	long bits;
	int max;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(slash - s));
	host[slash - s] = '\0';
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, host, r->addr) == 1) {
		r->family = AF_INET;
		max = IPV4_LEN * CHAR_BIT;
	} else if (inet_pton(AF_INET6, host, r->addr) == 1) {
		r->family = AF_INET6;
		max = IPV6_LEN * CHAR_BIT;
	} else
		return -1;
	bits = strtol(slash + 1, &end, 10);
	if (end == slash + 1 || *end != '\0' || bits < 0 || bits > max)
		return -1;
	r->bits = (int)bits;
	return 0;
}

/*
 * allowed_domains, denied_domains (DNS names) and
 * validation_allowed_ranges (CIDR blocks): a JSON array of strings,
 * kept comma-separated; the ranges are parsed into c->ranges too.
 */
static int
load_list(struct conf *c, const struct key *k, json_t *v,
    struct acme_problem *prob)
{
	char *dst = (char *)c + k->off;
	size_t i, used = 0;
	json_t *e;

	dst[0] = '\0';
	if (k->type == K_RANGES)
		c->nranges = 0;
	if (!json_is_array(v))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "config key %s must be an array of strings", k->name);
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);
		struct acme_ident id;
		size_t n;

		if (s == NULL)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "config key %s must be an array of strings",
			    k->name);
		if (k->type == K_DOMAINS &&
		    (acme_ident_set(&id, "dns", s) != 0 || s[0] == '*'))
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "config key %s: \"%s\" is not a DNS name", k->name,
			    s);
		if (k->type == K_RANGES &&
		    (c->nranges == CONF_RANGES_MAX ||
			parse_range(s, &c->ranges[c->nranges++]) != 0))
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "config key %s: \"%s\" is not an address block "
			    "such as 10.0.0.0/8 (at most %d)",
			    k->name, s, CONF_RANGES_MAX);
		n = strlen(s);
		if (used + n + LIT_LEN(",") + 1 > k->size)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "config key %s is too long", k->name);
		if (used > 0)
			dst[used++] = ',';
		memcpy(dst + used, s, n + 1);
		used += n;
	}
	return 0;
}

static int
in_range(const struct conf_range *r, int family, const unsigned char *a)
{
	int full = r->bits / CHAR_BIT, rest = r->bits % CHAR_BIT;

	if (r->family != family || memcmp(r->addr, a, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((r->addr[full] ^ a[full]) &
				(0xff << (CHAR_BIT - rest)) & 0xff) == 0;
}

int
conf_addr_allowed(const struct conf *c, const char *addr)
{
	unsigned char a[IPV6_LEN];
	int family;
	size_t i;

	if (c->allow_private_addresses || !va_addr_private(addr))
		return 1;
	if (inet_pton(AF_INET, addr, a) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, addr, a) == 1)
		family = AF_INET6;
	else
		return 0;
	for (i = 0; i < c->nranges; i++)
		if (in_range(&c->ranges[i], family, a))
			return 1;
	return 0;
}

static int
load_key(struct conf *c, const struct key *k, json_t *v,
    struct acme_problem *prob)
{
	char *base = (char *)c;

	switch (k->type) {
	case K_STR:
	case K_PATH: {
		const char *s = json_string_value(v);
		int n;

		if (s == NULL)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "config key %s must be a string", k->name);
		if (k->type == K_PATH && s[0] != '\0' && s[0] != '/') {
			char dir[CONF_PATH_MAX];

			/* c->dir lives in the same struct: copy it first. */
			memcpy(dir, c->dir, sizeof(dir));
			n = snprintf(base + k->off, k->size, "%s/%s", dir, s);
		} else
			n = snprintf(base + k->off, k->size, "%s", s);
		if (n < 0 || (size_t)n >= k->size)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "config key %s is too long", k->name);
		return 0;
	}
	case K_INT: {
		json_int_t i;

		if (!json_is_integer(v))
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "config key %s must be an integer", k->name);
		i = json_integer_value(v);
		if (i < k->min || i > k->max)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "config key %s must be between %ld and %ld",
			    k->name, k->min, k->max);
		*(int *)(void *)(base + k->off) = (int)i;
		return 0;
	}
	case K_DOMAINS:
	case K_RANGES:
		return load_list(c, k, v, prob);
	case K_PROFILES:
		return profile_set_load(&c->profiles, v, prob);
	case K_RATELIMITS:
		return rl_set_load(&c->rate_limits, v, prob);
	case K_BOOL:
		if (!json_is_boolean(v))
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "config key %s must be true or false", k->name);
		*(int *)(void *)(base + k->off) = json_is_true(v);
		return 0;
	}
	return ACME_ERR_INVAL;
}

/*
 * The CRL keys together: a CRL is made anew before it expires, its URL
 * is http(s) without characters that would need escaping, and a
 * listener on a wildcard address cannot stand for the URL.
 */
static int
crl_check(const struct conf *c, const char *path, struct acme_problem *prob)
{
	const char *u = c->crl_url, *h = c->crl_http_listen;
	size_t i;

	if (c->crl_refresh >= c->crl_lifetime)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s: crl_refresh (%d) must be below crl_lifetime (%d)",
		    path, c->crl_refresh, c->crl_lifetime);
	if (u[0] != '\0') {
		if (strncmp(u, HTTP_SCHEME, LIT_LEN(HTTP_SCHEME)) != 0 &&
		    strncmp(u, HTTPS_SCHEME, LIT_LEN(HTTPS_SCHEME)) != 0)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "%s: crl_url must be an http:// URL", path);
		for (i = 0; u[i] != '\0'; i++)
			if ((unsigned char)u[i] <= ' ' ||
			    (unsigned char)u[i] >= ASCII_DEL)
				return acme_problem_set(prob,
				    ACME_PROB_MALFORMED,
				    "%s: crl_url holds a space or a control "
				    "or non-ASCII character",
				    path);
	}
	if (u[0] == '\0' && h[0] != '\0' &&
	    (strncmp(h, ANY_V4, LIT_LEN(ANY_V4)) == 0 ||
		strncmp(h, ANY_V6, LIT_LEN(ANY_V6)) == 0 || h[0] == ':'))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s: crl_http_listen %s is a wildcard address; set "
		    "crl_url to the name clients reach it by",
		    path, h);
	return 0;
}

/* An http(s) URL without spaces, controls or non-ASCII characters. */
static int
is_url(const char *u)
{
	size_t i;

	if (strncmp(u, HTTPS_SCHEME, LIT_LEN(HTTPS_SCHEME)) != 0 &&
	    strncmp(u, HTTP_SCHEME, LIT_LEN(HTTP_SCHEME)) != 0)
		return 0;
	for (i = 0; u[i] != '\0'; i++)
		if ((unsigned char)u[i] <= ' ' ||
		    (unsigned char)u[i] >= ASCII_DEL)
			return 0;
	return strchr(u, '/')[2] != '\0';
}

/* Values a string key must take: log_level's names, URLs (D72). */
static int
value_check(const struct conf *c, const char *path, struct acme_problem *prob)
{
	static const char *const levels[] = { "debug", "info", "warn",
		"error" };
	size_t i;

	for (i = 0; i < ACME_ARRAY_LEN(levels); i++)
		if (strcmp(c->log_level, levels[i]) == 0)
			break;
	if (i == ACME_ARRAY_LEN(levels))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s: log_level must be debug, info, warn or error, not "
		    "\"%s\"",
		    path, c->log_level);
	if (c->terms_of_service[0] != '\0' && !is_url(c->terms_of_service))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s: terms_of_service must be an http:// or https:// URL",
		    path);
	return 0;
}

/*
 * "sqlite:PATH" with a relative PATH is relative to the file's directory,
 * as the other paths are (D72).
 */
static int
database_path(struct conf *c, const char *path, struct acme_problem *prob)
{
	char rel[CONF_PATH_MAX];

	if (strncmp(c->database, SQLITE_SCHEME, LIT_LEN(SQLITE_SCHEME)) != 0 ||
	    c->database[LIT_LEN(SQLITE_SCHEME)] == '/' ||
	    strcmp(c->database + LIT_LEN(SQLITE_SCHEME), ":memory:") == 0)
		return 0;
	snprintf(rel, sizeof(rel), "%s", c->database + LIT_LEN(SQLITE_SCHEME));
	if (snprintf(c->database, sizeof(c->database), "sqlite:%s/%s", c->dir,
		rel) >= (int)sizeof(c->database))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s: config key database is too long", path);
	return 0;
}

/*
 * s without the prefix "DIR/" when it names a file inside c->dir (D72:
 * a copied CA directory keeps working); s otherwise.
 */
static const char *
relative(const struct conf *c, const char *s)
{
	size_t n = strlen(c->dir);

	if (n > 0 && strncmp(s, c->dir, n) == 0 && s[n] == '/' &&
	    s[n + 1] != '\0')
		return s + n + 1;
	return s;
}

void
conf_crl_url(const struct conf *c, char *out, size_t size)
{
	if (c->crl_url[0] != '\0')
		snprintf(out, size, "%s", c->crl_url);
	else if (c->crl_http_listen[0] != '\0')
		snprintf(out, size, "http://%s/crl", c->crl_http_listen);
	else if (size > 0)
		out[0] = '\0';
}

int
conf_load(struct conf *c, const char *path, struct acme_problem *prob)
{
	char *text = NULL, dirbuf[CONF_PATH_MAX], *dir;
	json_t *root = NULL, *v;
	const char *name;
	size_t len, i;
	int rc;

	if (snprintf(dirbuf, sizeof(dirbuf), "%s", path) >= (int)sizeof(dirbuf))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "config path too long");
	dir = dirname(dirbuf);
	conf_defaults(c, dir);
	rc = acme_file_read(path, CONF_FILE_MAX, &text, &len, prob);
	if (rc != 0)
		goto out;
	root = acme_json_parse(text, len, ACME_JSON_OBJECT, prob);
	if (root == NULL) {
		rc = ACME_ERR_INVAL;
		goto out;
	}
	json_object_foreach(root, name, v)
	{
		for (i = 0; i < ACME_ARRAY_LEN(keys); i++)
			if (strcmp(keys[i].name, name) == 0)
				break;
		if (i == ACME_ARRAY_LEN(keys)) {
			rc = acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "%s: unknown config key %s", path, name);
			goto out;
		}
		if ((rc = load_key(c, &keys[i], v, prob)) != 0)
			goto out;
	}
	if ((rc = database_path(c, path, prob)) != 0 ||
	    (rc = value_check(c, path, prob)) != 0)
		goto out;
	if ((rc = crl_check(c, path, prob)) != 0)
		goto out;
	if (strcmp(c->log_format, "text") != 0 &&
	    strcmp(c->log_format, "json") != 0) {
		rc = acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s: log_format must be \"text\" or \"json\"", path);
		goto out;
	}
	if (c->admin_password_hash[0] != '\0' &&
	    !login_hash_usable(c->admin_password_hash)) {
		rc = acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s: admin_password_hash is not a crypt(3) hash this "
		    "system checks (anvil-ca admin passwd makes one)",
		    path);
		goto out;
	}
	/* Profiles are checked once every bound they meet is known. */
	{
		struct profile_bounds b = {
			.cert_lifetime = c->cert_lifetime,
			.max_names = c->max_names,
			.order_lifetime = c->order_lifetime,
			.authz_lifetime = c->authz_lifetime,
			.valid_authz_lifetime = c->valid_authz_lifetime,
		};

		if ((rc = profile_set_check(&c->profiles, &b, prob)) != 0)
			goto out;
	}
	rc = 0;
out:
	json_decref(root);
	free(text);
	return rc;
}

/* A comma-separated list as a new JSON array of strings, or NULL. */
static json_t *
list_json(const char *s)
{
	json_t *a = json_array();
	const char *p = s;

	while (a != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t n = e != NULL ? (size_t)(e - p) : strlen(p);

		if (json_array_append_new(a, json_stringn(p, n)) != 0) {
			json_decref(a);
			return NULL;
		}
		p += n + (e != NULL);
	}
	return a;
}

int
conf_save(const struct conf *c, const char *path, struct acme_problem *prob)
{
	const char *base = (const char *)c;
	json_t *root;
	char *text = NULL;
	size_t i;
	int rc = ACME_ERR_NOMEM;

	if ((root = json_object()) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	for (i = 0; i < ACME_ARRAY_LEN(keys); i++) {
		const struct key *k = &keys[i];
		json_t *v;

		switch (k->type) {
		case K_STR:
			v = json_string(base + k->off);
			break;
		case K_PATH:
			v = json_string(relative(c, base + k->off));
			break;
		case K_DOMAINS:
		case K_RANGES:
			v = list_json(base + k->off);
			break;
		case K_PROFILES:
			v = profile_set_json(&c->profiles);
			break;
		case K_RATELIMITS:
			v = rl_set_json(&c->rate_limits);
			break;
		case K_INT:
			v = json_integer(
			    *(const int *)(const void *)(base + k->off));
			break;
		default:
			v = json_boolean(
			    *(const int *)(const void *)(base + k->off));
			break;
		}
		if (json_object_set_new(root, k->name, v) != 0)
			goto out;
	}
	if (strncmp(c->database, SQLITE_SCHEME, LIT_LEN(SQLITE_SCHEME)) == 0) {
		char db[CONF_PATH_MAX + sizeof(SQLITE_SCHEME)];

		snprintf(db, sizeof(db), "sqlite:%s",
		    relative(c, c->database + LIT_LEN(SQLITE_SCHEME)));
		if (json_object_set_new(root, "database", json_string(db)) != 0)
			goto out;
	}
	text = json_dumps(root, JSON_INDENT(CONF_INDENT) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		goto out;
	rc = acme_file_write_atomic(path, text, strlen(text), 0600, prob);
out:
	if (rc == ACME_ERR_NOMEM)
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	free(text);
	json_decref(root);
	return rc;
}
