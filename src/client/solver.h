/* SPDX-License-Identifier: ISC */
/*
 * Challenge solvers: small modules behind one interface.  A solver
 * publishes the response for a challenge and removes it afterwards.
 */
#ifndef ANVIL_SOLVER_H
#define ANVIL_SOLVER_H

#include <stddef.h>

#include <anvil/problem.h>

struct solver {
	const char *type; /* the ACME challenge type it answers */
	/* Makes keyauth answerable for token (and identifier name). */
	int (*publish)(struct solver *s, const char *name, const char *token,
	    const char *keyauth, struct acme_problem *prob);
	void (
	    *unpublish)(struct solver *s, const char *name, const char *token);
	void (*close)(struct solver *s);
	void *ctx;
};

/*
 * http-01 from a built-in HTTP server listening on port (all addresses).
 * Returns 0 or an error with prob set (e.g. the port is taken).
 */
int solver_standalone_open(struct solver *s, int port,
    struct acme_problem *prob);

/* tls-alpn-01 from a built-in TLS responder on port (all addresses). */
int solver_tlsalpn_open(struct solver *s, int port, struct acme_problem *prob);

/* http-01 by files under webroot/.well-known/acme-challenge/. */
int solver_webroot_open(struct solver *s, const char *webroot,
    struct acme_problem *prob);

/*
 * dns-01 through a hook script ("SCRIPT add|remove FQDN VALUE", or with
 * lego set lego's "SCRIPT present|cleanup FQDN. VALUE"; certbot's
 * CERTBOT_DOMAIN and CERTBOT_VALIDATION are in its environment either
 * way), each run stopped after timeout seconds (hook.h), waiting at most
 * wait seconds (0: the default, 120) until the record is visible at
 * check_server (ADDR[:PORT]) or, when NULL, at the zone's authoritative
 * servers, with a progress line while it waits.
 */
int solver_dnshook_open(struct solver *s, const char *script,
    const char *check_server, int timeout, int wait, int lego,
    struct acme_problem *prob);

/*
 * dns-01 by RFC 2136 UPDATE to server (ADDR[:PORT], [V6]:PORT or a host
 * name; port 53 by default), signed with the TSIG key in keyfile (see
 * tsig_key.h) or unsigned when keyfile is NULL.  Waits until server
 * answers each record it added.
 */
int solver_rfc2136_open(struct solver *s, const char *server,
    const char *keyfile, struct acme_problem *prob);

/* The dns-01 TXT value, base64url(SHA-256(keyauth)) (S-DNS-1). */
#define SOLVER_DNS01_VALUE_MAX 64 /* 43 characters and a NUL, with room */
void solver_dns01_value(const char *keyauth, char out[SOLVER_DNS01_VALUE_MAX]);

/* "_acme-challenge.<name>", a leading "*." dropped (S-DNS-2). */
void solver_dns01_fqdn(const char *name, char *out, size_t size);

/* Nonzero when token is a plausible ACME token (S-HTTP-7). */
int solver_token_ok(const char *token);

#endif
