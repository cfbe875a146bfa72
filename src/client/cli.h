/* SPDX-License-Identifier: ISC */
/* The anvil command line: parsed options and output helpers. */
#ifndef ANVIL_CLI_H
#define ANVIL_CLI_H

#include <stddef.h>
#include <openssl/x509.h>

#include <anvil/key.h>
#include <anvil/problem.h>

#define CLI_MAX_NAMES 100

struct cli {
	const char *names[CLI_MAX_NAMES];
	size_t nnames;
	const char *server;    /* directory URL */
	const char *ca_bundle; /* NULL: system trust store */
	const char *webroot;   /* NULL: standalone */
	const char *dns_hook;  /* dns-01 hook script, or NULL */
	const char *dns_check; /* --dns-check-server, or NULL */
	int http_port;
	int tls_alpn; /* --tls-alpn */
	int tls_port;
	enum acme_key_type key_type;
	const char *email;
	int agree_tos;
	const char *preferred_chain; /* issuer CN to prefer, or NULL */
	const char *eab_kid;
	const char *eab_hmac;
	char state_dir[1024];
	int json; /* --json output */
	int verbose;
	int tty; /* progress lines on stderr */
};

/* Progress line when stderr is a terminal (or -v). */
void cli_progress(const struct cli *o, const char *step);
/* The success line (or JSON object) for an issued certificate. */
void cli_issued(const struct cli *o, const char *certdir, X509 *leaf);

struct acme_client;
struct acme_signer;

/*
 * Loads or creates the account key for o->server, connects, reads the
 * directory and makes sure an account exists (registering it once).
 */
int client_open(const struct cli *o, struct acme_client **c, EVP_PKEY **key,
    struct acme_signer *signer, struct acme_problem *prob);

int cmd_issue(const struct cli *o, struct acme_problem *prob);
int cmd_renew(struct cli *o, const char *name, int all, int force,
    struct acme_problem *prob);
int cmd_revoke(const struct cli *o, const char *name, const char *certfile,
    int reason, struct acme_problem *prob);
int cmd_list(const struct cli *o, struct acme_problem *prob);
int cmd_account(const struct cli *o, const char *action, const char *email,
    struct acme_problem *prob);

#endif
