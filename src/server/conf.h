/* SPDX-License-Identifier: ISC */
/*
 * anvil-ca's configuration: DIR/anvil-ca.json, written by "anvil-ca init"
 * and read by "anvil-ca serve".  Every key is documented in
 * docs/man/anvil-ca.conf.5; the table in conf.c is the single list of
 * keys, types, defaults and bounds.
 */
#ifndef ANVIL_CONF_H
#define ANVIL_CONF_H

#include <stddef.h>

#include <anvil/problem.h>

#include "ca/profile.h"
#include "policy/ratelimit.h"
#include "srvlimits.h"

#define CONF_PATH_MAX 1024

struct keyblock;

/* An address block of validation_allowed_ranges (D72). */
#define CONF_RANGES_MAX 16
struct conf_range {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};

struct conf {
	char dir[CONF_PATH_MAX];      /* directory of the config file */
	char listen[256];             /* ADDR:PORT of the HTTPS listener */
	char base_url[512];           /* "" = derive from the Host header */
	char database[CONF_PATH_MAX]; /* sqlite:PATH or postgresql://... */
	int database_pool;            /* PostgreSQL connections at most (D65) */
	char resolver[256];           /* ADDR:PORT, "" = system resolver */
	char dnssec_trust_anchor[CONF_PATH_MAX]; /* "" = no DNSSEC */
	int http01_port;             /* port the validator connects to */
	int tls_alpn01_port;         /* likewise for tls-alpn-01 */
	int allow_private_addresses; /* validate loopback/private targets */
	/* Private blocks the validator may connect to and IP identifiers
	 * in them certified, as comma-separated CIDRs, and parsed (D72). */
	char validation_allowed_ranges[1024];
	struct conf_range ranges[CONF_RANGES_MAX];
	size_t nranges;
	/* DNS names certified: comma-separated suffixes, "" = any (D72). */
	char allowed_domains[2048];
	char denied_domains[2048];

	char root_cert[CONF_PATH_MAX];   /* issuing root, PEM */
	char root_key[CONF_PATH_MAX];    /* its key, "" = not on this host */
	char issuer_cert[CONF_PATH_MAX]; /* intermediate, PEM */
	char issuer_key[CONF_PATH_MAX];  /* intermediate key, PEM, 0600 */
	char alt_chain[CONF_PATH_MAX];   /* cross-signed chain, "" = none */
	char tls_cert[CONF_PATH_MAX];    /* listener certificate chain */
	char tls_key[CONF_PATH_MAX];     /* listener key */
	char audit_log[CONF_PATH_MAX];   /* JSON lines, append-only */

	/* CRLs (D50). */
	char crl_url[512];         /* CRL Distribution Points URL, "" =
				    * from crl_http_listen, or none */
	char crl_http_listen[256]; /* ADDR:PORT of a plain-HTTP listener
				    * serving /crl, "" = none */
	int crl_refresh;           /* seconds before a CRL is made anew */
	int crl_lifetime;          /* nextUpdate - thisUpdate, seconds */

	char terms_of_service[512];    /* meta.termsOfService, "" = none */
	char website[512];             /* meta.website */
	char caa_identities[512];      /* comma-separated */
	int caa_cache_seconds;         /* CAA RRsets kept (D41); 0: none */
	int external_account_required; /* meta.externalAccountRequired */

	int authz_reuse;          /* reuse valid authzs for new orders */
	int order_lifetime;       /* seconds a pending order lives */
	int authz_lifetime;       /* seconds a pending authz lives */
	int valid_authz_lifetime; /* seconds a valid authz is reusable */
	int cert_lifetime;        /* seconds of certificate validity */
	int max_names;            /* identifiers per order */
	int allow_ip_identifiers; /* accept "ip" identifiers */
	int allow_wildcards;      /* accept "*." names */
	int rsa_min_bits;         /* smallest RSA key accepted */
	int allow_ed25519_certs;  /* Ed25519 keys in CSRs */
	char blocked_keys_file[CONF_PATH_MAX]; /* "" = none (D58) */
	/* blocked_keys_file as loaded by serve (NULL: none; not owned). */
	const struct keyblock *blocked_keys;
	int orders_per_page;       /* orders list page size */
	int ari_retry_after;       /* Retry-After of renewalInfo, seconds */
	struct rl_set rate_limits; /* all off unless configured (D51) */
	/* Certificate profiles; the CA-wide keys above bound them. */
	struct profile_set profiles;

	int http_threads;           /* HTTP worker threads */
	int per_ip_connections;     /* connections one address may hold */
	int header_timeout;         /* seconds for handshake + headers */
	int validation_workers;     /* validation threads */
	int validation_timeout;     /* seconds for a whole validation (D53) */
	int validation_per_account; /* validations of one account at once */
	int lease_seconds;          /* of a job or finalize claim (D80) */
	char log_level[16];         /* debug, info, warn, error */
	char log_format[8];         /* text or json (D73) */
	char admin_listen[256];     /* ADDR:PORT of /metrics, "" = none */
	int admin_tls;              /* it speaks HTTPS with tls_cert (D95) */
	/* crypt(3) hash of the operator page's password, "" = off (D86) */
	char admin_password_hash[256];
};

/* Fills c with the defaults for a CA rooted at dir. */
void conf_defaults(struct conf *c, const char *dir);

/*
 * Loads path over the defaults.  Unknown keys, wrong types and values
 * out of bounds are errors (prob: malformed, detail names the key), as
 * are profiles beyond the CA-wide bounds (profile_set_check()).
 * Relative paths in the file are taken relative to its directory.
 */
int conf_load(struct conf *c, const char *path, struct acme_problem *prob);

/*
 * The URL issued certificates name for the CRL: crl_url, else
 * http://crl_http_listen/crl, else "" (no CRL Distribution Points).
 */
void conf_crl_url(const struct conf *c, char *out, size_t size);

/*
 * Nonzero when the validator may connect to the textual address addr:
 * a public one, any with allow_private_addresses, or one inside
 * validation_allowed_ranges (D52, D72).
 */
int conf_addr_allowed(const struct conf *c, const char *addr);

/*
 * Writes c to path atomically (0600); returns 0 or an error.  Paths
 * inside c->dir are written relative to it (D72), so path should be a
 * file in c->dir.
 */
int conf_save(const struct conf *c, const char *path,
    struct acme_problem *prob);

#endif
