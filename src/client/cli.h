/* SPDX-License-Identifier: ISC */
/* The anvil command line: parsed options and output helpers. */
#ifndef ANVIL_CLI_H
#define ANVIL_CLI_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>
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
	const char *rfc2136;   /* --dns-rfc2136 SERVER[:PORT], or NULL */
	int dns_timeout;       /* --dns-timeout: seconds; 0: the default */
	int dns_lego;          /* --dns-hook-style lego */
	const char *tsig_key;  /* --tsig-key FILE, or NULL (unsigned) */
	int http_port;
	int tls_alpn; /* --tls-alpn */
	int tls_port;
	enum acme_key_type key_type;
	const char *email;
	int agree_tos;
	const char *preferred_chain; /* issuer CN to prefer, or NULL */
	const char *profile;         /* --profile NAME, or NULL */
	const char *eab_kid;
	const char *eab_hmac;
	const char *replaces;    /* ARI certID of the predecessor, or NULL */
	const char *deploy_hook; /* run after issuance (sh -c), or NULL */
	const char *cert_name;   /* --cert-name: the lineage, or NULL */
	const char *pre_hook;    /* before the solver starts (sh -c), or NULL */
	const char *post_hook;   /* after validation, or NULL */
	int hook_timeout;        /* seconds per hook run; 0: the default */
	int poll_timeout;        /* seconds of polling per order; 0: default */
	char state_dir[1024];
	int force;       /* --force: issue even when a lineage is not due */
	int dry_run;     /* --dry-run: the whole flow, nothing saved (D75) */
	int json;        /* --json output */
	json_t *collect; /* renew: issued certificates go here, not out */
	int verbose;
	int tty; /* stdout is a terminal: progress lines (on stderr) */
};

/* Progress line when stderr is a terminal (or -v). */
void cli_progress(const struct cli *o, const char *step);
/* The success line (or JSON object) for an issued certificate. */
void cli_issued(const struct cli *o, const char *certdir, X509 *leaf);

/*
 * The line (or JSON object) for a lineage kept because it is not due
 * (D75), and for a --dry-run issuance (nothing saved).
 */
void cli_not_due(const struct cli *o, const char *dn, time_t due,
    time_t not_after);
void cli_dry_run(const struct cli *o, const char *dn, X509 *leaf);
/* Prints a JSON object on one line of stdout and frees it. */
void cli_json_out(json_t *j);

struct acme_client;
struct acme_signer;

/*
 * The account key for o->server in the state directory (client/
 * account.c): loaded, or made and created once (never replacing one
 * another run made).  Returns 0 or an error with prob set.
 */
int account_load(const struct cli *o, EVP_PKEY **key,
    struct acme_problem *prob);
/*
 * Makes sure the CA knows the account for key: registers it when this
 * state directory has none for o->server, checks a known one (a CA that
 * forgot it gets it registered again with the same key), and finishes a
 * key rollover that stopped half-way (*key and signer may change).
 * Returns 0 or an error with prob set.
 */
int account_ensure(const struct cli *o, struct acme_client *c, EVP_PKEY **key,
    struct acme_signer *signer, struct acme_problem *prob);

/*
 * Loads or creates the account key for o->server, connects, reads the
 * directory and makes sure an account exists (registering it once).
 */
int client_open(const struct cli *o, struct acme_client **c, EVP_PKEY **key,
    struct acme_signer *signer, struct acme_problem *prob);

/*
 * Renewal information (client/ari.c).  ari_after_issue() builds the
 * "ari" object of renewal.json for a new certificate, asking the CA at
 * once; NULL when the CA offers none.  ari_refresh() asks again and
 * records the answer in ari (0, or an error with prob set; the object
 * is updated either way).  ari_check_due() says whether next_check has
 * passed, ari_renew_at() gives the time picked (0: none known).
 */
json_t *ari_after_issue(struct acme_client *c, X509 *leaf);
int ari_refresh(json_t *ari, struct acme_client *c, time_t now,
    struct acme_problem *prob);
int ari_check_due(const json_t *ari, time_t now);
time_t ari_renew_at(const json_t *ari);

/*
 * Runs o->deploy_hook (if any) for the certificate just saved in
 * certdir.  Returns 0, or an error with prob set when the hook failed
 * or timed out (the new files stay in place).
 */
int hook_deploy(const struct cli *o, const char *certdir, X509 *leaf,
    struct acme_problem *prob);

/*
 * Whether lineage dn of o->state_dir holds a certificate that is not yet
 * due for renewal at now (renew.c's schedule, ARI included); when so,
 * *due and *not_after are set.  Returns 1 (not due), 0 (due, or no
 * readable certificate).
 */
int renew_not_due(const struct cli *o, const char *dn, time_t now, time_t *due,
    time_t *not_after);

/*
 * Runs a pre or post hook (what: "pre hook", "post hook") through
 * /bin/sh.  Returns 0 or an error with prob set.
 */
int hook_shell(const struct cli *o, const char *what, const char *cmd,
    struct acme_problem *prob);

/*
 * Applies the issuance options in set (renewal.json keys; a "solver"
 * drops the keys of the previous solver) to the renewal.json of lineage
 * name, so that this and later renewals use them (D76).  Returns 0 or an
 * error with prob set.
 */
int renew_reconfigure(const struct cli *o, const char *name, json_t *set,
    struct acme_problem *prob);

int cmd_issue(const struct cli *o, struct acme_problem *prob);
int cmd_renew(struct cli *o, const char *name, int all, int force,
    struct acme_problem *prob);
/*
 * Revokes lineage name, or certfile: with the account (and the account
 * key), or with keyfile, the certificate's own private key, as a JWS
 * with that key's jwk and no account (RFC 8555 7.6).
 */
int cmd_revoke(const struct cli *o, const char *name, const char *certfile,
    const char *keyfile, int reason, struct acme_problem *prob);
/* Removes lineage name (certs/ link and archive/), under the lock. */
int cmd_delete(const struct cli *o, const char *name,
    struct acme_problem *prob);
int cmd_list(const struct cli *o, struct acme_problem *prob);
int cmd_profiles(const struct cli *o, struct acme_problem *prob);
int cmd_account(const struct cli *o, const char *action, const char *email,
    struct acme_problem *prob);

#endif
