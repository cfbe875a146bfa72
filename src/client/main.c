/* SPDX-License-Identifier: ISC */
/*
 * anvil: the ACME client.  The commands (helps[] has their options,
 * docs/man/anvil.1 what they do):
 *
 *   anvil issue -d NAME ...        obtain a certificate
 *   anvil renew [NAME | --all]     renew what is due (RFC 9773 windows)
 *   anvil revoke NAME | --cert F   revoke a certificate
 *   anvil list                     the certificates in the state directory
 *   anvil delete NAME              stop managing a certificate
 *   anvil profiles                 the CA's certificate profiles
 *   anvil account show|update|rollover|deactivate
 *
 * On failure: one line "anvil: <what failed>: <the CA's detail>" on stderr
 * and exit status 1; usage errors: one line naming the mistake and the
 * command's synopsis, exit 2 (D76).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <anvil/ari.h>
#include <anvil/err.h>
#include <anvil/x509.h>

#include "cli.h"
#include "state.h"
#include "tsig_key.h"

#include "internal.h"

#define LE_PRODUCTION "https://acme-v02.api.letsencrypt.org/directory"
#define LE_STAGING    "https://acme-staging-v02.api.letsencrypt.org/directory"

/*
 * Help (stdout, exit 0) and usage mistakes (stderr: one line naming the
 * mistake, the command's synopsis, exit 2).  D76.
 */
struct cmd_help {
	const char *name;
	const char *synopsis;
	const char *options; /* one line per option */
};

static const struct cmd_help helps[] = {
	{ "issue", "anvil issue -d NAME [-d NAME ...] SOLVER [OPTIONS]",
	    "  -d, --domain NAME          a name (DNS name, *.wildcard or IP "
	    "address); repeatable\n"
	    "  --standalone               solver: answer http-01 on "
	    "--http-port (default 80)\n"
	    "  --http-port N              port for --standalone\n"
	    "  --webroot DIR              solver: write http-01 files under "
	    "DIR/.well-known/acme-challenge\n"
	    "  --tls-alpn                 solver: answer tls-alpn-01 on "
	    "--tls-port (default 443)\n"
	    "  --tls-port N               port for --tls-alpn\n"
	    "  --dns-hook SCRIPT          solver: dns-01 through SCRIPT "
	    "(add|remove FQDN VALUE)\n"
	    "  --dns-check-server ADDR    name server to watch for the "
	    "record (with --dns-hook)\n"
	    "  --dns-timeout SECONDS      how long to wait for the record to "
	    "be visible (default 120)\n"
	    "  --dns-hook-style STYLE     anvil (add|remove FQDN VALUE) or "
	    "lego (present|cleanup FQDN. VALUE)\n"
	    "  --dns-rfc2136 SERVER[:P]   solver: dns-01 through RFC 2136 "
	    "updates\n"
	    "  --tsig-key FILE            TSIG key for --dns-rfc2136\n"
	    "  --server URL               the CA's ACME directory URL "
	    "(default Let's Encrypt)\n"
	    "  --staging                  Let's Encrypt's staging "
	    "directory\n"
	    "  --ca-bundle FILE           CA certificates to trust for the "
	    "CA's TLS\n"
	    "  --key-type TYPE            ec256 (default), ec384, rsa2048, "
	    "rsa3072, rsa4096\n"
	    "  --email ADDR               contact for a new account\n"
	    "  --agree-tos                agree to the CA's terms of "
	    "service\n"
	    "  --eab-kid ID               external account binding key "
	    "id\n"
	    "  --eab-hmac-key KEY         external account binding MAC "
	    "key\n"
	    "  --profile NAME             the CA's certificate profile\n"
	    "  --preferred-chain CN       prefer the chain whose top issuer "
	    "is CN\n"
	    "  --cert-name NAME           the certificate (lineage) to "
	    "issue into\n"
	    "  --deploy-hook CMD          run after the certificate is "
	    "saved\n"
	    "  --pre-hook CMD             run before the solver starts (e.g. "
	    "stop a web server)\n"
	    "  --post-hook CMD            run after validation (e.g. start it "
	    "again)\n"
	    "  --force                    issue even when a certificate for "
	    "these names is not due\n"
	    "  --dry-run                  the whole flow against the CA, "
	    "nothing saved\n"
	    "  --state-dir DIR            state directory\n"
	    "  --poll-timeout SECONDS     polling per order (default 600)\n"
	    "  --hook-timeout SECONDS     per hook run\n"
	    "  --json                     one JSON object on stdout\n"
	    "  -v, --verbose              progress on stderr\n"
	    "  -h, --help                 this help\n" },
	{ "renew", "anvil renew (NAME | --all) [OPTIONS]",
	    "  --all                      every certificate in the state "
	    "directory\n"
	    "  --force                    renew even when not due\n"
	    "  --agree-tos                agree to the CA's terms when an "
	    "account must be registered\n"
	    "  --email ADDR               contact for a new account\n"
	    "  --eab-kid ID               external account binding key "
	    "id\n"
	    "  --eab-hmac-key KEY         external account binding MAC "
	    "key\n"
	    "  --deploy-hook CMD          (with NAME) saved: run after each "
	    "renewal\n"
	    "  --pre-hook CMD             (with NAME) saved: run once before "
	    "renewing\n"
	    "  --post-hook CMD            (with NAME) saved: run once after "
	    "renewing\n"
	    "  --standalone, --http-port N, --webroot DIR, --tls-alpn, "
	    "--tls-port N,\n"
	    "  --dns-hook SCRIPT, --dns-check-server ADDR, --dns-rfc2136 "
	    "SERVER, --tsig-key FILE\n"
	    "                             (with NAME) saved: the solver for "
	    "this and later renewals\n"
	    "  --state-dir DIR            state directory\n"
	    "  --poll-timeout SECONDS     polling per order\n"
	    "  --hook-timeout SECONDS     per hook run\n"
	    "  --json                     one JSON object on stdout\n"
	    "  -v, --verbose              progress on stderr\n"
	    "  -h, --help                 this help\n" },
	{ "revoke", "anvil revoke (NAME | --cert FILE --server URL) [OPTIONS]",
	    "  --cert FILE                the certificate to revoke (instead "
	    "of NAME)\n"
	    "  --key FILE                 with --cert: sign with the "
	    "certificate's own key, no account\n"
	    "  --server URL               the CA's directory URL (with "
	    "--cert)\n"
	    "  --ca-bundle FILE           CA certificates to trust for the "
	    "CA's TLS\n"
	    "  --agree-tos                agree to the CA's terms when an "
	    "account must be registered\n"
	    "  --delete-after-revoke      (with NAME) then delete its "
	    "files\n"
	    "  --reason R                 unspecified, keyCompromise, "
	    "affiliationChanged, superseded, cessationOfOperation or 0-10\n"
	    "  --state-dir DIR            state directory\n"
	    "  --json                     one JSON object on stdout\n"
	    "  -h, --help                 this help\n" },
	{ "delete", "anvil delete NAME [OPTIONS]",
	    "  --yes                      do not ask at a terminal\n"
	    "  --state-dir DIR            state directory\n"
	    "  -h, --help                 this help\n" },
	{ "list", "anvil list [OPTIONS]",
	    "  --state-dir DIR            state directory\n"
	    "  --json                     one JSON object on stdout\n"
	    "  -h, --help                 this help\n" },
	{ "profiles", "anvil profiles [OPTIONS]",
	    "  --server URL               the CA's directory URL\n"
	    "  --ca-bundle FILE           CA certificates to trust for the "
	    "CA's TLS\n"
	    "  --json                     one JSON object on stdout\n"
	    "  -h, --help                 this help\n" },
	{ "account",
	    "anvil account (show | update --email ADDR | rollover | "
	    "deactivate) [OPTIONS]",
	    "  --email ADDR               the new contact (update)\n"
	    "  --yes                      deactivate without asking at a "
	    "terminal\n"
	    "  --server URL               the CA's directory URL\n"
	    "  --ca-bundle FILE           CA certificates to trust for the "
	    "CA's TLS\n"
	    "  --state-dir DIR            state directory\n"
	    "  -v, --verbose              progress on stderr\n"
	    "  -h, --help                 this help\n" },
};

static const struct cmd_help *
find_help(const char *cmd)
{
	size_t i;

	for (i = 0; i < ACME_ARRAY_LEN(helps); i++)
		if (cmd != NULL && strcmp(helps[i].name, cmd) == 0)
			return &helps[i];
	return NULL;
}

/* anvil --help, or anvil CMD --help: stdout, exit 0. */
static void help(const char *cmd) __attribute__((noreturn));

static void
help(const char *cmd)
{
	const struct cmd_help *h = find_help(cmd);
	size_t i;

	if (h != NULL) {
		printf("usage: %s\n\noptions:\n%s", h->synopsis, h->options);
		exit(0);
	}
	printf("usage: anvil COMMAND [OPTIONS]\n\ncommands:\n"
	       "  issue      get a certificate\n"
	       "  renew      renew certificates that are due\n"
	       "  revoke     revoke a certificate\n"
	       "  list       the certificates managed here\n"
	       "  delete     stop managing a certificate (removes its "
	       "files)\n"
	       "  profiles   the profiles a CA offers\n"
	       "  account    show, update, roll over or deactivate the "
	       "account\n"
	       "  --version  the version\n\n"
	       "\"anvil COMMAND --help\" lists a command's options:\n");
	for (i = 0; i < ACME_ARRAY_LEN(helps); i++)
		printf("  %s\n", helps[i].synopsis);
	exit(0);
}

/* A usage mistake: one line naming it, the synopsis, exit 2. */
static void usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void
usage_error(const char *cmd, const char *fmt, ...)
{
	const struct cmd_help *h = find_help(cmd);
	va_list ap;

	fputs("anvil: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (h != NULL)
		fprintf(stderr,
		    "\nusage: %s\n(anvil %s --help lists the "
		    "options)\n",
		    h->synopsis, h->name);
	else
		fprintf(stderr, "\nusage: anvil COMMAND [OPTIONS] (anvil "
				"--help lists the commands)\n");
	exit(2);
}

/* getopt_long's '?': the option it refused, named. */
static void bad_option(const char *cmd, char **argv) __attribute__((noreturn));

static void
bad_option(const char *cmd, char **argv)
{
	const char *arg = argv[optind - 1];

	if (strncmp(arg, "--", 2) != 0) {
		if (optopt == 'd')
			usage_error(cmd, "option -d needs a value");
		usage_error(cmd, "unknown option -%c", optopt);
	}
	if (optopt != 0)
		usage_error(cmd, "option %s needs a value", arg);
	usage_error(cmd, "unknown option %.*s", (int)strcspn(arg, "="), arg);
}

void
cli_progress(const struct cli *o, const char *step)
{
	if (o->tty || o->verbose)
		fprintf(stderr, "anvil: %s...\n", step);
}

void
cli_issued(const struct cli *o, const char *certdir, X509 *leaf)
{
	time_t nb = 0, na = 0;
	char serial[64] = "", exp[32];
	struct tm tm;

	acme_x509_validity(leaf, &nb, &na);
	acme_x509_serial_hex(leaf, serial, sizeof(serial));
	gmtime_r(&na, &tm);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (o->collect != NULL) /* renew reports it (D76) */
		json_array_append_new(o->collect,
		    json_pack("{s:s, s:s, s:s, s:s}", "name", o->cert_name,
			"directory", certdir, "serial", serial, "not_after",
			exp));
	if (o->collect != NULL && o->json)
		return;
	if (o->json) {
		cli_json_out(json_pack("{s:s, s:s, s:s, s:s}", "status",
		    "issued", "directory", certdir, "serial", serial,
		    "not_after", exp));
		return;
	}
	if (o->collect != NULL) {
		printf("renewed %s: %s/fullchain.pem (serial %s, expires %s)\n",
		    o->cert_name, certdir, serial, exp);
		return;
	}
	printf("issued %s: %s/fullchain.pem (serial %s, expires %s)\n",
	    o->names[0], certdir, serial, exp);
}

/* Whether this run printed its JSON object already (one per command). */
static int json_printed;

void
cli_json_out(json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_printed = 1;
	if (s != NULL)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}

void
cli_not_due(const struct cli *o, const char *dn, time_t due, time_t not_after)
{
	char d[32], na[32];

	acme_rfc3339(d, due);
	acme_rfc3339(na, not_after);
	if (o->json) {
		char dir[STATE_PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/certs/%s", o->state_dir, dn);
		cli_json_out(json_pack("{s:s, s:s, s:s, s:s, s:s}", "status",
		    "not_due", "name", dn, "directory", dir, "not_after", na,
		    "renew_after", d));
		return;
	}
	printf("%s: not due until %s (expires %s); kept %s/certs/%s "
	       "(--force to reissue)\n",
	    dn, d, na, o->state_dir, dn);
}

void
cli_dry_run(const struct cli *o, const char *dn, X509 *leaf)
{
	time_t nb = 0, na = 0;
	char serial[64] = "", exp[32];

	acme_x509_validity(leaf, &nb, &na);
	acme_x509_serial_hex(leaf, serial, sizeof(serial));
	acme_rfc3339(exp, na);
	if (o->json) {
		cli_json_out(json_pack("{s:s, s:s, s:s, s:s}", "status",
		    "dry_run", "name", dn, "serial", serial, "not_after", exp));
		return;
	}
	printf("dry run: the CA issued %s (serial %s, expires %s); nothing "
	       "was saved\n",
	    dn, serial, exp);
}

static int
port_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end != '\0' || v < 1 || v > 65535) {
		fprintf(stderr, "anvil: bad port \"%s\"\n", s);
		exit(2);
	}
	return (int)v;
}

/* --poll-timeout, --hook-timeout: 1 s to a day. */
static int
seconds_arg(const char *opt, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end != '\0' || end == s || v < 1 || v > 86400) {
		fprintf(stderr, "anvil: bad --%s \"%s\" (1 to 86400 seconds)\n",
		    opt, s);
		exit(2);
	}
	return (int)v;
}

/* Where users get stuck: a hint after the failure line (D76). */
static const char *
failure_hint(const struct cli *o, const char *detail)
{
	if (strstr(detail, "TLS certificate verification failed") != NULL)
		return o->ca_bundle == NULL ?
			   " (a private CA? pass --ca-bundle FILE with its "
			   "root "
			   "certificate)" :
			   " (is --ca-bundle the certificate of the CA that "
			   "signed "
			   "the server's?)";
	if (strncmp(detail, "state directory ", 16) == 0)
		return " (choose another with --state-dir DIR)";
	return "";
}

/*
 * The failure line: what a CA wrote goes out on one line, its control
 * characters (a newline, an escape sequence) as spaces.
 */
static void
print_failure(const struct cli *o, const char *what, const char *name,
    const char *detail)
{
	char line[ACME_PROB_DETAIL_MAX];
	size_t i;

	snprintf(line, sizeof(line), "%s", detail);
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = ' ';
	fprintf(stderr, "anvil: %s%s%s: %s%s\n", what, name != NULL ? " " : "",
	    name != NULL ? name : "", line, failure_hint(o, detail));
	/* --json: the failure is the command's one object too (D76),
	 * unless it has one already (renew's lists it; an issuance whose
	 * deploy hook failed printed "issued"). */
	if (o->json && !json_printed)
		cli_json_out(json_pack("{s:s, s:s, s:s?, s:s}", "status",
		    "failed", "command", what, "name", name, "reason", line));
}

/*
 * Reads the --tsig-key file once up front, so that a bad one is a usage
 * error (exit 2) before anything is ordered, and records its absolute
 * path (in abs, PATH_MAX bytes) for renewal.json: "anvil renew" runs from
 * any directory.  Warns about hmac-sha1.
 */
static int
tsig_key_check(struct cli *o, char *abs)
{
	struct acme_problem prob = { 0 };
	struct tsig_key k;

	if (tsig_key_load(o->tsig_key, &k, &prob) != 0) {
		fprintf(stderr, "anvil: %s\n", prob.detail);
		acme_problem_release(&prob);
		return -1;
	}
	if (k.weak)
		fprintf(stderr,
		    "anvil: warning: TSIG key \"%s\" uses %s; prefer "
		    "hmac-sha256 (tsig-keygen -a hmac-sha256)\n",
		    k.name, k.alg);
	tsig_key_wipe(&k);
	if (realpath(o->tsig_key, abs) != NULL)
		o->tsig_key = abs;
	return 0;
}

/*
 * Makes the path option *path absolute (into buf, PATH_MAX bytes), so
 * that renewal.json works from any directory: cron and systemd run
 * "anvil renew" from /.  A path that does not exist is a usage error.
 */
static int
abs_arg(const char *opt, const char **path, char *buf)
{
	if (*path == NULL)
		return 0;
	if (realpath(*path, buf) == NULL) {
		fprintf(stderr, "anvil: %s %s: %s\n", opt, *path,
		    strerror(errno));
		return -1;
	}
	*path = buf;
	return 0;
}

/*
 * A deploy hook is a command line; when its first word is a relative
 * path ("./deploy.sh --reload"), that word is made absolute (into buf)
 * as abs_arg() does.  Commands found through PATH are left alone.
 */
static int
abs_command(const char *opt, const char **cmd, char *buf, size_t size)
{
	char word[PATH_MAX], real[PATH_MAX];
	size_t n;

	if (*cmd == NULL)
		return 0;
	n = strcspn(*cmd, " \t");
	if (n == 0 || n >= sizeof(word) || (*cmd)[0] == '/' ||
	    memchr(*cmd, '/', n) == NULL)
		return 0;
	memcpy(word, *cmd, n);
	word[n] = '\0';
	if (realpath(word, real) == NULL) {
		fprintf(stderr, "anvil: %s %s: %s\n", opt, word,
		    strerror(errno));
		return -1;
	}
	if (snprintf(buf, size, "%s%s", real, *cmd + n) >= (int)size) {
		fprintf(stderr, "anvil: %s: too long\n", opt);
		return -1;
	}
	*cmd = buf;
	return 0;
}

/*
 * The defaults an admin would otherwise repeat, from the environment
 * (D76): ANVIL_SERVER, ANVIL_CA_BUNDLE, ANVIL_STATE_DIR, ANVIL_EMAIL.
 * Options given on the command line win.
 */
static void
cli_env_defaults(struct cli *o)
{
	const char *v;

	o->server = LE_PRODUCTION;
	if ((v = getenv("ANVIL_SERVER")) != NULL && v[0] != '\0')
		o->server = v;
	if ((v = getenv("ANVIL_CA_BUNDLE")) != NULL && v[0] != '\0')
		o->ca_bundle = v;
	if ((v = getenv("ANVIL_EMAIL")) != NULL && v[0] != '\0')
		o->email = v;
	if ((v = getenv("ANVIL_STATE_DIR")) != NULL && v[0] != '\0')
		snprintf(o->state_dir, sizeof(o->state_dir), "%s", v);
	else
		state_default_dir(o->state_dir, sizeof(o->state_dir));
}

/*
 * Asks "question [y/N]" when stdin and stderr are a terminal (D76);
 * yes (--yes), or no terminal, answers yes.  Returns 1 to go on.
 */
static int
confirm(const char *question, int yes)
{
	char line[16];

	if (yes || !isatty(0) || !isatty(2))
		return 1;
	fprintf(stderr, "%s [y/N] ", question);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 0;
	return strcasecmp(line, "y\n") == 0 || strcasecmp(line, "yes\n") == 0;
}

/*
 * Opens the state directory for a command (state_open: absolute, trusted,
 * and locked for commands that write, D62).  Returns 0, 1 when it does
 * not exist and create is not set, or -1 after one line on stderr.
 */
static int
open_state(struct cli *o, int write)
{
	struct acme_problem prob = { 0 };
	int rc = state_open(o->state_dir, sizeof(o->state_dir), write, write,
	    o->verbose || o->tty, &prob);

	if (rc < 0) {
		fprintf(stderr, "anvil: %s%s\n", prob.detail,
		    failure_hint(o, prob.detail));
		acme_problem_release(&prob);
		return -1;
	}
	return rc;
}

/* The options issue and the other commands share; 0: not one. */
static int
common_option(struct cli *o, int c, const char *arg)
{
	switch (c) {
	case 'e':
		o->email = arg;
		return 1;
	case 'A':
		o->agree_tos = 1;
		return 1;
	case 'K':
		o->eab_kid = arg;
		return 1;
	case 'H':
		o->eab_hmac = arg;
		return 1;
	case 'D':
		snprintf(o->state_dir, sizeof(o->state_dir), "%s", arg);
		return 1;
	case 'j':
		o->json = 1;
		return 1;
	case 'v':
		o->verbose = 1;
		return 1;
	case 'W' + 256:
		o->poll_timeout = seconds_arg("poll-timeout", arg);
		return 1;
	case 'O' + 256:
		o->hook_timeout = seconds_arg("hook-timeout", arg);
		return 1;
	}
	return 0;
}

/* The mistakes an issue command line can make, each named (D76). */
static void
issue_check(const struct cli *o, int standalone, int argc, char **argv)
{
	int solvers = standalone + (o->webroot != NULL) +
		      (o->dns_hook != NULL) + (o->rfc2136 != NULL) +
		      o->tls_alpn;
	size_t i;

	if (optind != argc)
		usage_error("issue", "unexpected argument \"%s\"",
		    argv[optind]);
	if (o->nnames == 0)
		usage_error("issue", "no name given: use -d NAME");
	if (solvers == 0)
		usage_error("issue",
		    "no solver given: use --standalone, --webroot DIR, "
		    "--tls-alpn, --dns-hook SCRIPT or --dns-rfc2136 SERVER");
	if (solvers > 1)
		usage_error("issue", "give one solver, not %d", solvers);
	if (o->dns_check != NULL && o->dns_hook == NULL)
		usage_error("issue", "--dns-check-server goes with --dns-hook");
	if ((o->dns_timeout > 0 || o->dns_lego) && o->dns_hook == NULL)
		usage_error("issue",
		    "--dns-timeout and --dns-hook-style go with --dns-hook");
	if (o->tsig_key != NULL && o->rfc2136 == NULL)
		usage_error("issue", "--tsig-key goes with --dns-rfc2136");
	if ((o->eab_kid == NULL) != (o->eab_hmac == NULL))
		usage_error("issue",
		    "--eab-kid and --eab-hmac-key go together");
	if (o->dns_hook != NULL || o->rfc2136 != NULL)
		return;
	for (i = 0; i < o->nnames; i++)
		if (strncmp(o->names[i], "*.", 2) == 0)
			usage_error("issue",
			    "%s: wildcards need dns-01: use --dns-hook or "
			    "--dns-rfc2136",
			    o->names[i]);
}

static int
cmd_issue_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "standalone", no_argument, NULL, 'S' },
		{ "http-port", required_argument, NULL, 'P' },
		{ "webroot", required_argument, NULL, 'w' },
		{ "dns-hook", required_argument, NULL, 'H' + 256 },
		{ "tls-alpn", no_argument, NULL, 'L' + 256 },
		{ "preferred-chain", required_argument, NULL, 'P' + 256 },
		{ "profile", required_argument, NULL, 'F' + 256 },
		{ "tls-port", required_argument, NULL, 'Q' + 256 },
		{ "dns-check-server", required_argument, NULL, 'C' + 256 },
		{ "dns-timeout", required_argument, NULL, 'T' + 256 },
		{ "dns-hook-style", required_argument, NULL, 'V' + 256 },
		{ "deploy-hook", required_argument, NULL, 'Y' + 256 },
		{ "cert-name", required_argument, NULL, 'N' + 256 },
		{ "poll-timeout", required_argument, NULL, 'W' + 256 },
		{ "hook-timeout", required_argument, NULL, 'O' + 256 },
		{ "dns-rfc2136", required_argument, NULL, 'R' + 256 },
		{ "tsig-key", required_argument, NULL, 'K' + 256 },
		{ "server", required_argument, NULL, 's' },
		{ "staging", no_argument, NULL, 'T' },
		{ "ca-bundle", required_argument, NULL, 'b' },
		{ "key-type", required_argument, NULL, 'k' },
		{ "email", required_argument, NULL, 'e' },
		{ "agree-tos", no_argument, NULL, 'A' },
		{ "eab-kid", required_argument, NULL, 'K' },
		{ "eab-hmac-key", required_argument, NULL, 'H' },
		{ "state-dir", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "force", no_argument, NULL, 'f' },
		{ "dry-run", no_argument, NULL, 'n' + 256 },
		{ "pre-hook", required_argument, NULL, 'p' + 256 },
		{ "post-hook", required_argument, NULL, 'q' + 256 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct acme_problem prob = { 0 };
	struct cli o;
	char keypath[PATH_MAX], bundle[PATH_MAX], webroot[PATH_MAX];
	char dnshook[PATH_MAX], deploy[PATH_MAX + 1024];
	char prehook[PATH_MAX + 1024], posthook[PATH_MAX + 1024];
	int c, standalone = 0, rc;

	memset(&o, 0, sizeof(o));
	o.http_port = 80;
	o.tls_port = 443;
	o.key_type = ACME_KEY_EC256;
	cli_env_defaults(&o);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "d:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (o.nnames >= CLI_MAX_NAMES)
				usage_error("issue", "more than %d names",
				    CLI_MAX_NAMES);
			o.names[o.nnames++] = optarg;
			break;
		case 'f':
			o.force = 1;
			break;
		case 'n' + 256:
			o.dry_run = 1;
			break;
		case 'p' + 256:
			o.pre_hook = optarg;
			break;
		case 'q' + 256:
			o.post_hook = optarg;
			break;
		case 'h':
			help("issue");
		case 'S':
			standalone = 1;
			break;
		case 'P':
			o.http_port = port_arg(optarg);
			break;
		case 'w':
			o.webroot = optarg;
			break;
		case 'H' + 256:
			o.dns_hook = optarg;
			break;
		case 'L' + 256:
			o.tls_alpn = 1;
			break;
		case 'P' + 256:
			o.preferred_chain = optarg;
			break;
		case 'F' + 256:
			o.profile = optarg;
			break;
		case 'Q' + 256:
			o.tls_port = port_arg(optarg);
			break;
		case 'C' + 256:
			o.dns_check = optarg;
			break;
		case 'T' + 256:
			o.dns_timeout = seconds_arg("dns-timeout", optarg);
			break;
		case 'V' + 256:
			if (strcmp(optarg, "lego") != 0 &&
			    strcmp(optarg, "anvil") != 0)
				usage_error("issue",
				    "--dns-hook-style is anvil (add|remove "
				    "FQDN VALUE) or lego (present|cleanup "
				    "FQDN. VALUE)");
			o.dns_lego = strcmp(optarg, "lego") == 0;
			break;
		case 'Y' + 256:
			o.deploy_hook = optarg;
			break;
		case 'N' + 256:
			o.cert_name = optarg;
			break;
		case 'R' + 256:
			o.rfc2136 = optarg;
			break;
		case 'K' + 256:
			o.tsig_key = optarg;
			break;
		case 's':
			o.server = optarg;
			break;
		case 'T':
			o.server = LE_STAGING;
			break;
		case 'b':
			o.ca_bundle = optarg;
			break;
		case 'k':
			if ((o.key_type = acme_key_type_from_name(optarg)) ==
				ACME_KEY_UNKNOWN ||
			    o.key_type == ACME_KEY_ED25519 ||
			    o.key_type == ACME_KEY_EC521) {
				fprintf(stderr,
				    "anvil: unknown key type "
				    "\"%s\"\n",
				    optarg);
				return 2;
			}
			break;
		default:
			if (!common_option(&o, c, optarg))
				bad_option("issue", argv);
		}
	}
	issue_check(&o, standalone, argc, argv);
	if (o.tsig_key != NULL && tsig_key_check(&o, keypath) != 0)
		return 2;
	if (abs_arg("--ca-bundle", &o.ca_bundle, bundle) != 0 ||
	    abs_arg("--webroot", &o.webroot, webroot) != 0 ||
	    abs_arg("--dns-hook", &o.dns_hook, dnshook) != 0 ||
	    abs_command("--deploy-hook", &o.deploy_hook, deploy,
		sizeof(deploy)) != 0 ||
	    abs_command("--pre-hook", &o.pre_hook, prehook, sizeof(prehook)) !=
		0 ||
	    abs_command("--post-hook", &o.post_hook, posthook,
		sizeof(posthook)) != 0)
		return 2;
	o.tty = isatty(1) && !o.json;
	if (open_state(&o, 1) != 0)
		return 1;
	rc = cmd_issue(&o, &prob);
	if (rc != 0) {
		print_failure(&o, "issue", o.names[0],
		    prob.detail[0] != '\0' ? prob.detail : acme_strerror(rc));
		acme_problem_release(&prob);
		return 1;
	}
	return 0;
}

static int
reason_arg(const char *s)
{
	static const struct {
		const char *name;
		int code;
	} names[] = { { "unspecified", 0 }, { "keycompromise", 1 },
		{ "affiliationchanged", 3 }, { "superseded", 4 },
		{ "cessationofoperation", 5 } };
	char *end;
	long v;
	size_t i;

	for (i = 0; i < ACME_ARRAY_LEN(names); i++)
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].code;
	v = strtol(s, &end, 10);
	if (*end != '\0' || end == s || v < 0 || v > 10) {
		fprintf(stderr,
		    "anvil: bad revocation reason \"%s\" (unspecified, "
		    "keyCompromise, affiliationChanged, superseded, "
		    "cessationOfOperation, or 0-10)\n",
		    s);
		exit(2);
	}
	return (int)v;
}

/*
 * An issuance option given to "renew NAME", into set (renewal.json's
 * keys): paths made absolute as at issue time.  Returns 0, or -1 after
 * one line on stderr.
 */
static int
renew_option(json_t *set, int c, const char *arg)
{
	char buf[PATH_MAX + 1024];
	const char *v = arg;

	switch (c) {
	case 'Y' + 256:
	case 'p' + 256:
	case 'q' + 256:
		if (abs_command(c == 'Y' + 256 ? "--deploy-hook" :
				c == 'p' + 256 ? "--pre-hook" :
						 "--post-hook",
			&v, buf, sizeof(buf)) != 0)
			return -1;
		json_object_set_new(set,
		    c == 'Y' + 256 ? "deploy_hook" :
		    c == 'p' + 256 ? "pre_hook" :
				     "post_hook",
		    json_string(v));
		return 0;
	case 'P':
		json_object_set_new(set, "http_port",
		    json_integer(port_arg(arg)));
		return 0;
	case 'Q' + 256:
		json_object_set_new(set, "tls_port",
		    json_integer(port_arg(arg)));
		return 0;
	case 'C' + 256:
		json_object_set_new(set, "dns_check_server", json_string(arg));
		return 0;
	case 'S':
		json_object_set_new(set, "solver", json_string("standalone"));
		return 0;
	case 'L' + 256:
		json_object_set_new(set, "solver", json_string("tls-alpn"));
		return 0;
	case 'R' + 256:
		json_object_set_new(set, "solver", json_string("rfc2136"));
		json_object_set_new(set, "rfc2136_server", json_string(arg));
		return 0;
	}
	if (abs_arg(c == 'w'       ? "--webroot" :
		    c == 'H' + 256 ? "--dns-hook" :
				     "--tsig-key",
		&v, buf) != 0)
		return -1;
	if (c == 'w')
		json_object_set_new(set, "solver", json_string("webroot"));
	if (c == 'H' + 256)
		json_object_set_new(set, "solver", json_string("dns-hook"));
	json_object_set_new(set,
	    c == 'w'       ? "webroot" :
	    c == 'H' + 256 ? "dns_hook" :
			     "tsig_key",
	    json_string(v));
	return 0;
}

/* renew, revoke, list, account and profiles share their option parsing. */
static int
cmd_other_main(const char *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'f' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "reason", required_argument, NULL, 'r' },
		{ "server", required_argument, NULL, 's' },
		{ "ca-bundle", required_argument, NULL, 'b' },
		{ "state-dir", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "email", required_argument, NULL, 'e' },
		{ "poll-timeout", required_argument, NULL, 'W' + 256 },
		{ "hook-timeout", required_argument, NULL, 'O' + 256 },
		{ "yes", no_argument, NULL, 'y' },
		{ "delete-after-revoke", no_argument, NULL, 'X' + 256 },
		{ "help", no_argument, NULL, 'h' },
		{ "agree-tos", no_argument, NULL, 'A' },
		{ "eab-kid", required_argument, NULL, 'K' },
		{ "eab-hmac-key", required_argument, NULL, 'H' },
		/* renew NAME: saved into renewal.json (D76) */
		{ "deploy-hook", required_argument, NULL, 'Y' + 256 },
		{ "pre-hook", required_argument, NULL, 'p' + 256 },
		{ "post-hook", required_argument, NULL, 'q' + 256 },
		{ "standalone", no_argument, NULL, 'S' },
		{ "http-port", required_argument, NULL, 'P' },
		{ "webroot", required_argument, NULL, 'w' },
		{ "tls-alpn", no_argument, NULL, 'L' + 256 },
		{ "tls-port", required_argument, NULL, 'Q' + 256 },
		{ "dns-hook", required_argument, NULL, 'H' + 256 },
		{ "dns-check-server", required_argument, NULL, 'C' + 256 },
		{ "dns-rfc2136", required_argument, NULL, 'R' + 256 },
		{ "tsig-key", required_argument, NULL, 'K' + 256 },
		{ NULL, 0, NULL, 0 },
	};
	struct acme_problem prob = { 0 };
	struct cli o;
	json_t *set = json_object();
	const char *set_opt = NULL;
	const char *certfile = NULL, *name = NULL, *email = NULL;
	const char *ca_opt = NULL, *keyfile = NULL;
	int c, li = 0, all = 0, force = 0, reason = -1, yes = 0, rc;
	int del_after = 0;

	memset(&o, 0, sizeof(o));
	o.http_port = 80;
	o.tls_port = 443;
	o.key_type = ACME_KEY_EC256;
	cli_env_defaults(&o);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vh", opts, &li)) != -1) {
		switch (c) {
		case 'h':
			help(cmd);
		case 'y':
			yes = 1;
			break;
		case 'X' + 256:
			del_after = 1;
			break;
		case 'a':
			all = 1;
			break;
		case 'f':
			force = 1;
			break;
		case 'c':
			certfile = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'r':
			reason = reason_arg(optarg);
			break;
		case 's':
			o.server = optarg;
			ca_opt = "--server";
			break;
		case 'b':
			o.ca_bundle = optarg;
			ca_opt = "--ca-bundle";
			break;
		case 'e':
			email = optarg;
			o.email = optarg;
			break;
		case 'Y' + 256:
		case 'p' + 256:
		case 'q' + 256:
		case 'S':
		case 'P':
		case 'w':
		case 'L' + 256:
		case 'Q' + 256:
		case 'H' + 256:
		case 'C' + 256:
		case 'R' + 256:
		case 'K' + 256:
			set_opt = opts[li].name;
			if (renew_option(set, c, optarg) != 0) {
				json_decref(set);
				return 2;
			}
			break;
		default:
			if (!common_option(&o, c, optarg))
				bad_option(cmd, argv);
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind != argc)
		usage_error(cmd, "unexpected argument \"%s\"", argv[optind]);
	if (strcmp(cmd, "renew") == 0 && ca_opt != NULL) {
		/* D64: a lineage renews from the CA it came from. */
		fprintf(stderr,
		    "anvil: renew takes the CA from renewal.json and does not "
		    "accept %s; to move a certificate to another CA, run "
		    "anvil issue with the new --server and --ca-bundle\n",
		    ca_opt);
		json_decref(set);
		return 2;
	}
	if (set_opt != NULL && strcmp(cmd, "renew") != 0)
		usage_error(cmd, "--%s goes with renew NAME", set_opt);
	if (set_opt != NULL && name == NULL)
		usage_error(cmd, "--%s changes one certificate: name it",
		    set_opt);
	if ((o.eab_kid == NULL) != (o.eab_hmac == NULL))
		usage_error(cmd, "--eab-kid and --eab-hmac-key go together");
	o.tty = isatty(1) && !o.json;
	if (strcmp(cmd, "delete") == 0 && name == NULL)
		usage_error(cmd, "name a certificate");
	if (keyfile != NULL && strcmp(cmd, "revoke") != 0)
		usage_error(cmd, "--key goes with revoke --cert FILE");
	/* revoke --key needs no account and no state directory. */
	if (strcmp(cmd, "profiles") != 0 && keyfile == NULL) {
		/* Only list reads without writing (D62). */
		/* list finds nothing managed when there is no directory. */
		if (open_state(&o, strcmp(cmd, "list") != 0) < 0) {
			json_decref(set);
			return 1;
		}
	}
	if (strcmp(cmd, "renew") == 0) {
		if (name == NULL && !all)
			usage_error(cmd, "name a certificate or use --all");
		if (name != NULL && all)
			usage_error(cmd, "name a certificate or use --all, "
					 "not both");
		rc = 0;
		if (json_object_size(set) > 0)
			rc = renew_reconfigure(&o, name, set, &prob);
		if (rc == 0)
			rc = cmd_renew(&o, name, all, force, &prob);
	} else if (strcmp(cmd, "account") == 0) {
		if (name == NULL)
			usage_error(cmd, "no action given");
		if (strcmp(name, "show") != 0 && strcmp(name, "update") != 0 &&
		    strcmp(name, "rollover") != 0 &&
		    strcmp(name, "deactivate") != 0)
			usage_error(cmd, "unknown action \"%s\"", name);
		if (strcmp(name, "update") == 0 && email == NULL)
			usage_error(cmd, "account update needs --email ADDR");
		if (strcmp(name, "update") != 0 && email != NULL)
			usage_error(cmd, "--email goes with account update");
		if (strcmp(name, "deactivate") == 0 &&
		    !confirm("Deactivate the account? The CA will refuse it "
			     "from then on; this cannot be undone.",
			yes)) {
			fprintf(stderr, "anvil: account not deactivated\n");
			json_decref(set);
			return 1;
		}
		rc = cmd_account(&o, name, email, &prob);
	} else if (strcmp(cmd, "revoke") == 0) {
		if (name == NULL && certfile == NULL)
			usage_error(cmd,
			    "name a certificate or use --cert FILE");
		if (name != NULL && certfile != NULL)
			usage_error(cmd,
			    "name a certificate or use --cert FILE, "
			    "not both");
		if (keyfile != NULL && certfile == NULL)
			usage_error(cmd, "--key goes with --cert FILE");
		if (del_after && name == NULL)
			usage_error(cmd,
			    "--delete-after-revoke goes with revoke NAME");
		rc = cmd_revoke(&o, name, certfile, keyfile, reason, &prob);
		/* certbot's --delete-after-revoke, or asked at a terminal. */
		if (rc == 0 && name != NULL &&
		    (del_after ||
			(isatty(0) && isatty(2) &&
			    confirm("Delete the revoked certificate's files "
				    "too?",
				0))))
			rc = cmd_delete(&o, name, &prob);
	} else if (strcmp(cmd, "delete") == 0) {
		if (!confirm("Delete this certificate and all its versions "
			     "(it is not revoked)?",
			yes)) {
			fprintf(stderr, "anvil: not deleted\n");
			json_decref(set);
			return 1;
		}
		rc = cmd_delete(&o, name, &prob);
	} else if (strcmp(cmd, "profiles") == 0) {
		if (name != NULL)
			usage_error(cmd, "unexpected argument \"%s\"", name);
		rc = cmd_profiles(&o, &prob);
	} else {
		if (name != NULL)
			usage_error(cmd, "unexpected argument \"%s\"", name);
		rc = cmd_list(&o, &prob);
	}
	json_decref(set);
	if (rc != 0) {
		print_failure(&o, cmd, name,
		    prob.detail[0] != '\0' ? prob.detail : acme_strerror(rc));
		acme_problem_release(&prob);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	int rc;

	if (argc < 2)
		usage_error(NULL, "no command given");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		help(argc > 2 ? argv[2] : NULL);
	if (strcmp(argv[1], "--version") == 0) {
		printf("anvil %s\n", ANVIL_VERSION);
		return 0;
	}
	/* Responders write to peers that may hang up: errors, not signals. */
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[1], "issue") == 0)
		rc = cmd_issue_main(argc - 1, argv + 1);
	else if (strcmp(argv[1], "renew") == 0 ||
		 strcmp(argv[1], "revoke") == 0 ||
		 strcmp(argv[1], "list") == 0 ||
		 strcmp(argv[1], "profiles") == 0 ||
		 strcmp(argv[1], "delete") == 0 ||
		 strcmp(argv[1], "account") == 0)
		rc = cmd_other_main(argv[1], argc - 1, argv + 1);
	else
		usage_error(NULL, "unknown command \"%s\"", argv[1]);
	return rc;
}
