/* SPDX-License-Identifier: ISC */
/*
 * anvil-ca's explicit context.  Everything a request needs is reachable
 * from struct srv, passed to every layer; there are no other globals
 * beyond the logger and signal flags.
 */
#ifndef ANVIL_SRV_H
#define ANVIL_SRV_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <jansson.h>

#include <anvil/problem.h>

#include "conf.h"
#include "srvlimits.h"

struct store;
struct nonce_pool;
struct issuer;
struct va;
struct audit;
struct keycache;
struct crl;
struct deadline_set;
struct front_gen;
struct metrics;
struct activity;
struct login;

struct srv {
	/*
	 * The running configuration, owned by main.  Only reload stores it
	 * and everything else reads it through srv_conf(), once per unit of
	 * work (D89): a request, a validation job, a lease beat.
	 */
	const struct conf *live_cfg;
	struct store *store;
	struct nonce_pool *nonces;
	struct issuer *issuer;
	struct va *va;
	struct audit *audit;
	struct keycache *keys;          /* imported account keys */
	struct crl *crl;                /* the CRL served (D50) */
	struct front_gen *front;        /* the ACME listener (http/front.c) */
	struct MHD_Daemon *crl_mhd;     /* crl_http_listen, or NULL */
	struct deadline_set *deadlines; /* of the listeners (D55) */
	struct front_gen *admin;        /* admin_listen, or NULL (D73) */
	struct metrics *metrics;        /* counters (D73), or NULL */
	struct activity *activity;      /* the operator page's (D86), or NULL */
	struct login *login;            /* its sessions (D86), or NULL */
	time_t (*now)(void);            /* clock; tests may replace it */
	/* This process in the leases of jobs and claims (D80): random, a
	 * STORE_ID_SIZE string. */
	char instance[23];
};

/*
 * The configuration now in force: one snapshot, which stays valid until
 * exit however many reloads follow (D67, D89).  Pairs with the release
 * store of srv_conf_swap().
 */
static inline const struct conf *
srv_conf(const struct srv *srv)
{
	return __atomic_load_n(&srv->live_cfg, __ATOMIC_ACQUIRE);
}

/* Makes next the configuration in force (SIGHUP, D89). */
static inline void
srv_conf_swap(struct srv *srv, const struct conf *next)
{
	__atomic_store_n(&srv->live_cfg, next, __ATOMIC_RELEASE);
}

/*
 * FNV-1a of a string: spreads keys (random ids, DNS names) over the
 * slots of the server's direct-mapped caches.
 */
static inline uint64_t
srv_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

#define REQ_MAX_BODY    (64 * 1024) /* bytes of one request body */
#define REQ_MAX_HEADERS 64          /* response headers per reply */
/* Bytes of a request path; a longer one is refused as malformed. */
#define REQ_MAX_PATH 512
/* Bytes kept of the URI as requested (path and query), NUL included;
 * one that does not fit is refused as too long. */
#define REQ_MAX_URI 2048
/* Bytes of scheme://host[:port] of this server, NUL included. */
#define REQ_MAX_BASE 600
/* Bytes of the absolute URL (base and URI), NUL included: both fit. */
#define REQ_MAX_URL 2700

/* One HTTP request as the router and handlers see it. */
struct req {
	/* The configuration this request uses throughout, taken once by
	 * the front end when it starts (D89). */
	const struct conf *cfg;
	const char *method;       /* "GET", "HEAD", "POST" */
	const char *path;         /* path without query, as sent */
	const char *query;        /* after '?', or NULL */
	const char *url;          /* absolute URL, with query, as the JWS
					 * must name it */
	const char *base;         /* scheme://host[:port] of this server */
	const char *content_type; /* NULL when absent */
	const char *accept;       /* NULL when absent */
	const char *body;         /* NUL-terminated, body_len bytes */
	size_t body_len;
	const char *param;  /* the {id} part of the path, or NULL */
	char client_ip[46]; /* the peer's address, "" when unknown */
	/* Set by authn for POSTs that passed the JWS checks. */
	struct acme_jws *jws;
	struct store_account *acct; /* the kid's account, NULL for jwk */
	char acct_id[40];           /* its id, kept for the request log */
};

struct resp_header {
	const char *name; /* static string */
	char *value;      /* owned */
};

/* A reply being built; sent and released by the front end. */
struct resp {
	int status;
	const char *content_type; /* static string, NULL for no body */
	char *body;               /* owned */
	size_t body_len;
	struct resp_header headers[REQ_MAX_HEADERS];
	size_t nheaders;
	struct acme_problem prob; /* for the request log */
};

#endif
