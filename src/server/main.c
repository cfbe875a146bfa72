/* SPDX-License-Identifier: ISC */
/*
 * anvil-ca: the command line.  The commands (usage() has their options,
 * docs/man/anvil-ca.8 what they do):
 *
 *   anvil-ca init DIR [...]          a new CA in DIR
 *   anvil-ca serve -c FILE           the server
 *   anvil-ca migrate -c FILE         upgrade the database schema
 *   anvil-ca eab add -c FILE [...]   an external account binding key
 *   anvil-ca admin -c FILE COMMAND   find, revoke, block... (admin/admin.h)
 *   anvil-ca ari set -c FILE [...]   renewal windows (RFC 9773)
 *   anvil-ca crl -c FILE [...]       write the current CRL (D50)
 *   anvil-ca check -c FILE           what serve checks, without serving
 *   anvil-ca rotate intermediate|tls -c FILE   re-sign a certificate (D72)
 *
 * serve runs until SIGTERM or SIGINT, then drains requests in flight and
 * exits 0.  SIGHUP reloads the configuration and the listener's
 * certificate (D67).  Under systemd it reports READY, RELOADING and
 * STOPPING with sd_notify (Type=notify, D68).
 */
#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <anvil/ari.h>
#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/log.h>

#include <curl/curl.h>
#include <systemd/sd-daemon.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "conf.h"
#include "srv.h"
#include "http/front.h"
#include "http/keycache.h"
#include "nonce.h"
#include "store/store.h"
#include "ca/crl.h"
#include "ca/init.h"
#include "ca/issuer.h"
#include "audit.h"
#include "ra/ra.h"
#include "va/va.h"
#include "policy/weakkey.h"
#include "lease.h"
#include "reload.h"
#include "dbguard.h"
#include "ca/rotate.h"
#include "admin/admin.h"
#include "admin/activity.h"
#include "admin/login.h"
#include "admin/metrics.h"

#include "internal.h"

/* Bytes of "anvil-ca CMD", the head of a command's usage lines. */
#define USAGE_HEAD_MAX 64
/* What starts usage_text; its other lines are indented as wide. */
#define USAGE "usage: "
/* Milliseconds a reload or a stop waits for requests in flight. */
#define DRAIN_GRACE_MS 10000
/* Account keys the key cache holds (slots), imported once each. */
#define KEYCACHE_SLOTS 4096
/* parse_when(): "now", and the farthest "now+N" or "now-N" reaches
 * (seconds: ten years, beyond any certificate's life). */
#define NOW      "now"
#define WHEN_MAX (3650L * DAY_SECS)

static const char usage_text[] =
    "usage: anvil-ca init DIR [--listen ADDR:PORT] [--resolver "
    "ADDR:PORT]\n"
    "                [--http01-port N] [--tls-alpn01-port N]\n"
    "                [--allow-private-addresses] [--database URL] "
    "[--rsa]\n"
    "                [--crl-listen ADDR:PORT] [--name ORG] "
    "[--dns-name NAME]... [--tls-from-root]\n"
    "                [--root-cert F [--root-key F]] "
    "[--issuer-cert F --issuer-key F]\n"
    "                [--admin-listen ADDR:PORT]\n"
    "       anvil-ca serve -c DIR/anvil-ca.json\n"
    "       anvil-ca migrate -c FILE\n"
    "       anvil-ca check -c FILE\n"
    "       anvil-ca rotate intermediate|tls -c FILE\n"
    "       anvil-ca eab add -c FILE [--kid ID]\n"
    "       anvil-ca admin -c FILE (find | revoke | block | unblock | "
    "blocked |\n"
    "                pause | unpause | eab) ...\n"
    "       anvil-ca admin passwd\n"
    "       anvil-ca ari set -c FILE (--serial HEX | --all) "
    "--start T --end T\n"
    "                [--explanation-url URL]   (T: RFC 3339, now, "
    "now+SECONDS, now-SECONDS)\n"
    "       anvil-ca crl -c FILE [--out PATH] [--pem]\n"
    "       anvil-ca --version\n";

/* One line per option of each command, for "anvil-ca CMD --help". */
static const struct {
	const char *cmd, *line;
} option_help[] = {
	{ "init",
	    "  --listen ADDR:PORT        the ACME listener (host names too)" },
	{ "init", "  --dns-name NAME           a name of the listener's "
		  "certificate (repeat)" },
	{ "init", "  --name ORG                organisation and CA names in "
		  "the subjects" },
	{ "init", "  --tls-from-root           the listener's certificate "
		  "signed by the main root" },
	{ "init", "  --root-cert F             an existing root (--root-key F: "
		  "its key)" },
	{ "init", "  --issuer-cert F           an existing intermediate "
		  "(with --issuer-key F)" },
	{ "init", "  --database URL            sqlite:PATH (default) or "
		  "postgresql://USER@HOST:PORT/DB" },
	{ "init", "  --resolver ADDR:PORT      DNS server for validation "
		  "(default: /etc/resolv.conf)" },
	{ "init", "  --http01-port N           validate http-01 on port N "
		  "(lab; default 80)" },
	{ "init", "  --tls-alpn01-port N       validate tls-alpn-01 on port N "
		  "(lab; default 443)" },
	{ "init", "  --allow-private-addresses validate private and loopback "
		  "addresses (lab only)" },
	{ "init",
	    "  --rsa                     RSA root and intermediate instead of "
	    "ECDSA" },
	{ "init", "  --crl-listen ADDR:PORT    a plain-HTTP listener serving "
		  "/crl" },
	{ "init", "  --admin-listen ADDR:PORT  a listener serving /metrics" },
	{ "init", "  --admin-tls               it speaks HTTPS with the "
		  "listener's certificate" },
	{ "serve", "  -c, --config FILE         the configuration anvil-ca "
		   "init wrote" },
	{ "migrate", "  -c, --config FILE         upgrade this CA's database "
		     "schema" },
	{ "check", "  -c, --config FILE         check a configuration without "
		   "serving" },
	{ "rotate", "  intermediate | tls        the certificate to re-issue "
		    "from its signer's key" },
	{ "rotate", "  -c, --config FILE         the CA's configuration" },
	{ "eab", "  -c, --config FILE         the CA's configuration" },
	{ "eab", "  --kid ID                  the key id (default: a random "
		 "one)" },
	{ "admin", "  -c, --config FILE         the CA's configuration" },
	{ "admin", "  find                      certificates and accounts by "
		   "--name, --serial or --account" },
	{ "admin", "  revoke                    by --serial, --account or "
		   "--name, with --reason R" },
	{ "admin", "  block --name NAME         refuse a name and every name "
		   "under it" },
	{ "admin", "  unblock --name NAME       remove the block on NAME" },
	{ "admin", "  blocked, block --list     the blocked names" },
	{ "admin", "  pause --account ID        refuse an account's requests" },
	{ "admin", "  unpause --account ID      serve a paused account again" },
	{ "admin", "  eab list|add|remove KID   external account keys" },
	{ "admin", "  --yes                     act on more than one match" },
	{ "admin", "  --json                    one JSON object on stdout" },
	{ "admin", "  passwd                    hash a password (stdin) for "
		   "admin_password_hash" },
	{ "ari", "  -c, --config FILE         the CA's configuration" },
	{ "ari", "  --serial HEX | --all      which certificates" },
	{ "ari", "  --start T, --end T        the renewal window" },
	{ "ari", "  --explanation-url URL     why, for the subscriber" },
	{ "crl", "  -c, --config FILE         the CA's configuration" },
	{ "crl", "  --out PATH                write the CRL to PATH (default: "
		 "stdout)" },
	{ "crl", "  --pem                     PEM instead of DER" },
};

/*
 * The synopsis on out: every command's, or with cmd only that command's
 * lines and one line per option (D76: "anvil-ca CMD --help" on stdout,
 * exit 0).
 */
static void
usage_to(FILE *out, const char *cmd)
{
	const char *line = usage_text, *nl;
	char head[USAGE_HEAD_MAX];
	int in = 0;

	snprintf(head, sizeof(head), "anvil-ca %s", cmd != NULL ? cmd : "");
	for (; *line != '\0'; line = nl + 1) {
		const char *at = strstr(line, "anvil-ca ");

		if ((nl = strchr(line, '\n')) == NULL)
			break;
		if (at != NULL && at < nl)
			in = cmd == NULL ||
			     (strncmp(at, head, strlen(head)) == 0 &&
				 strchr(" \n", at[strlen(head)]) != NULL);
		if (in) {
			int skip = cmd != NULL && at == line + LIT_LEN(USAGE) ?
				       (int)LIT_LEN(USAGE) :
				       0;

			fprintf(out, "%s%.*s\n", skip ? USAGE : "",
			    (int)(nl - line) - skip, skip ? at : line);
		}
	}
	if (cmd == NULL)
		return;
	for (size_t i = 0; i < ACME_ARRAY_LEN(option_help); i++)
		if (strcmp(option_help[i].cmd, cmd) == 0)
			fprintf(out, "%s\n", option_help[i].line);
	fprintf(out, "(anvil-ca(8) says more)\n");
}

static void
usage(void)
{
	usage_to(stderr, NULL);
	exit(EXIT_USAGE);
}

static void
die(const char *what, const struct acme_problem *prob)
{
	fprintf(stderr, "anvil-ca: %s: %s\n", what,
	    prob->detail[0] != '\0' ? prob->detail : "failed");
	exit(1);
}

/*
 * The configured database.  Only init and migrate create or upgrade a
 * schema; every other command refuses one other than the newest (D65:
 * SQLite upgrades at open, as it always has).  Errors name "database",
 * not the URL, which may hold a password.
 */
static struct store *
open_store(const struct conf *cfg, int migrate)
{
	const struct store_open_opts o = { .migrate = migrate,
		.pool = cfg->database_pool };
	struct acme_problem prob = { 0 };
	struct store *st;

	if ((st = store_open_with(cfg->database, &o, &prob)) == NULL)
		die("database", &prob);
	return st;
}

static time_t
wall_clock(void)
{
	return time(NULL);
}

static enum acme_log_level
level_from_name(const char *s)
{
	if (strcmp(s, "debug") == 0)
		return ACME_LOG_DEBUG;
	if (strcmp(s, "warn") == 0)
		return ACME_LOG_WARN;
	if (strcmp(s, "error") == 0)
		return ACME_LOG_ERROR;
	return ACME_LOG_INFO;
}

/*
 * S-PROF-7 asks operators to drain orders before retiring a profile: say
 * at start how many orders of each retired profile are still open (they
 * will get invalidProfile at finalize).
 */
static void
log_retired(struct srv *srv)
{
	const struct profile_set *set = &srv_conf(srv)->profiles;
	size_t i;

	for (i = 0; i < set->n; i++) {
		long long n = 0;

		if (!set->p[i].retired ||
		    store_order_count_open(srv->store, set->p[i].name,
			srv->now(), &n, NULL) != 0)
			continue;
		acme_log(n > 0 ? ACME_LOG_WARN : ACME_LOG_INFO,
		    "profile_retired", "profile=%s open_orders=%lld",
		    set->p[i].name, n);
	}
}

/*
 * The configurations reloads loaded, the one in force and those it
 * replaced: all freed at exit (D67, D89).
 */
struct loaded_confs {
	struct conf **v;
	size_t n;
};

/*
 * SIGHUP (D67): loads path anew; settings that need a restart keep their
 * running value (one warning each); the listener takes the new
 * certificate while its requests in flight finish.  A file that does
 * not load, or a certificate that does not, leaves everything as it
 * was, with one error line.
 */
static void
reload(struct srv *srv, const char *path, struct loaded_confs *loaded)
{
	struct acme_problem prob = { 0 };
	/* The replaced ACME and admin daemons (D67, D97). */
	struct front_gen *drain[] = { NULL, NULL };
	struct conf *next, **v;

	sd_notify(0, "RELOADING=1");
	if ((next = malloc(sizeof(*next))) == NULL ||
	    (v = realloc(loaded->v, (loaded->n + 1) * sizeof(*v))) == NULL) {
		free(next);
		acme_log(ACME_LOG_ERROR, "reload refused",
		    "detail=\"out of memory\"");
		goto out;
	}
	loaded->v = v;
	if (conf_load(next, path, &prob) != 0) {
		free(next);
		acme_log(ACME_LOG_ERROR, "reload refused",
		    "config=%s detail=\"%s; the running configuration stays\"",
		    path, prob.detail);
		goto out;
	}
	(void)reload_keep_restart_only(srv_conf(srv), next);
	if (front_reload(srv, next, &drain[0], &prob) != 0) {
		free(next);
		acme_log(ACME_LOG_ERROR, "reload refused",
		    "config=%s detail=\"%s; the running configuration stays\"",
		    path, prob.detail);
		goto out;
	}
	/* The same pair the ACME listener just took (D95). */
	if (front_admin_reload(srv, next, &drain[1], &prob) != 0)
		acme_log(ACME_LOG_ERROR, "admin listener not reloaded",
		    "detail=\"%s; it keeps its certificate\"", prob.detail);
	/* The replaced one stays valid for the work holding it (D89). */
	loaded->v[loaded->n++] = next;
	srv_conf_swap(srv, next);
	acme_log_init(STDERR_FILENO, level_from_name(next->log_level));
	acme_log_set_json(strcmp(next->log_format, "json") == 0);
	acme_log(ACME_LOG_INFO, "reloaded", "config=%s", path);
out:
	sd_notify(0, "READY=1");
	/* Signals wait while the old daemons finish their requests. */
	front_drain(drain, ACME_ARRAY_LEN(drain), DRAIN_GRACE_MS);
}

static int
spend_nonce(void *arg, const unsigned char nonce[NONCE_BLOCK], int64_t expires,
    int64_t now)
{
	struct store *st = arg;
	struct acme_problem prob = { 0 };
	int rc = store_nonce_spend(st, nonce, expires, now, &prob);

	if (rc != 0 && rc != ACME_ERR_EXISTS)
		acme_log(ACME_LOG_ERROR, "cannot spend a nonce", "error=%s",
		    prob.detail);
	acme_problem_release(&prob);
	return rc;
}

/* Nonces of the database's key, spent in it: any instance takes them
 * once (D77). */
static void
share_nonces(struct srv *srv)
{
	struct acme_problem prob = { 0 };
	unsigned char key[NONCE_KEY_LEN];

	if (store_nonce_key(srv->store, key, &prob) != 0)
		die("nonces", &prob);
	nonce_pool_free(srv->nonces);
	srv->nonces =
	    nonce_pool_new_shared(key, srv->now, spend_nonce, srv->store);
	acme_wipe(key, sizeof(key));
	if (srv->nonces == NULL) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot create the nonce pool");
		die("nonces", &prob);
	}
}

static int
cmd_serve(int argc, char **argv)
{
	struct acme_problem prob = { 0 };
	struct conf cfg;
	struct srv srv;
	struct keyblock *blocked = NULL;
	struct loaded_confs loaded = { NULL, 0 };
	struct lease *lease = NULL;
	const char *path = NULL;
	sigset_t set;
	int c, sig, dbfd = -1;

	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			path = optarg;
		else
			usage();
	}
	if (path == NULL)
		usage();
	if (conf_load(&cfg, path, &prob) != 0)
		die(path, &prob);
	acme_log_init(STDERR_FILENO, level_from_name(cfg.log_level));
	acme_log_set_json(strcmp(cfg.log_format, "json") == 0);
	if (cfg.blocked_keys_file[0] != '\0') {
		if ((blocked = keyblock_load(cfg.blocked_keys_file, &prob)) ==
		    NULL)
			die("blocked_keys_file", &prob);
		cfg.blocked_keys = blocked;
		acme_log(ACME_LOG_INFO, "blocked keys", "count=%zu",
		    keyblock_count(blocked));
	}

	/* Signals are taken synchronously by the main thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&srv, 0, sizeof(srv));
	srv_conf_swap(&srv, &cfg);
	srv.now = wall_clock;
	if ((srv.nonces = nonce_pool_new(0)) == NULL) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot create the nonce pool");
		die("nonces", &prob);
	}
	/* Only init creates a database; one process serves it (D71). */
	if (dbguard_take(cfg.database, &dbfd, &prob) != 0)
		die("database", &prob);
	srv.store = open_store(&cfg, 0);
	if (store_shared(srv.store))
		share_nonces(&srv);
	if (cfg.admin_listen[0] != '\0') {
		if ((srv.metrics = metrics_new()) == NULL) {
			acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
			    "out of memory");
			die("metrics", &prob);
		}
		metrics_time_store(srv.metrics, srv.store);
		if ((srv.activity = activity_new(srv.now())) == NULL ||
		    (srv.login = login_new()) == NULL) {
			acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
			    "out of memory");
			die("admin page", &prob);
		}
	}
	if (store_new_id(srv.instance) != 0) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "no randomness");
		die("instance", &prob);
	}
	/* On a shared database only the claims whose lease ended (D81). */
	if (ra_orders_unclaim(&srv,
		store_shared(srv.store) ? srv.now() : STORE_EVERY_LEASE,
		&prob) != 0)
		die(cfg.database, &prob);
	if ((srv.keys = keycache_new(KEYCACHE_SLOTS)) == NULL) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		die("key cache", &prob);
	}
	log_retired(&srv);
	if ((srv.issuer = issuer_open(&cfg, &prob)) == NULL)
		die("issuer", &prob);
	/* The CA's own certificates: at start, then daily (D72). */
	(void)rotate_warn(&cfg, srv.now());
	if ((srv.audit = audit_open(cfg.audit_log, srv.store, &prob)) == NULL)
		die("audit log", &prob);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((srv.va = va_open(&srv, ra_chall_validate, &prob)) == NULL)
		die("validation", &prob);
	if (store_shared(srv.store) &&
	    (lease = lease_start(&srv, &prob)) == NULL)
		die("leases", &prob);
	if ((srv.crl = crl_new()) == NULL) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		die("crl", &prob);
	}
	/* The CRL listener first: once the ACME port answers, both do. */
	if (front_crl_start(&srv, &prob) != 0)
		die("crl_http_listen", &prob);
	if (front_admin_start(&srv, &prob) != 0)
		die("admin_listen", &prob);
	if (front_start(&srv, &prob) != 0)
		die("listen", &prob);
	acme_log(ACME_LOG_INFO, "listening", "addr=%s pid=%ld", cfg.listen,
	    (long)getpid());
	if (cfg.crl_http_listen[0] != '\0')
		acme_log(ACME_LOG_INFO, "listening", "addr=%s crl=1",
		    cfg.crl_http_listen);
	if (cfg.admin_listen[0] != '\0')
		acme_log(ACME_LOG_INFO, "listening", "addr=%s admin=1",
		    cfg.admin_listen);
	/* Both listeners answer: systemd may start what needs the CA. */
	sd_notifyf(0, "READY=1\nMAINPID=%ld\nSTATUS=listening on %s",
	    (long)getpid(), cfg.listen);

	for (;;) {
		const struct timespec day = { DAY_SECS, 0 };

		if ((sig = sigtimedwait(&set, NULL, &day)) < 0) {
			if (errno == EAGAIN)
				(void)rotate_warn(srv_conf(&srv), srv.now());
			continue;
		}
		if (sig == SIGHUP) {
			audit_reopen(srv.audit); /* D79 */
			reload(&srv, path, &loaded);
			continue;
		}
		break;
	}
	sd_notify(0, "STOPPING=1");
	acme_log(ACME_LOG_INFO, "stopping", "signal=%d", sig);
	front_crl_stop(&srv);
	front_admin_stop(&srv);
	front_stop(&srv, DRAIN_GRACE_MS);
	lease_stop(lease);
	va_close(srv.va);
	if (lease != NULL)
		lease_give_back(&srv);
	crl_free(srv.crl);
	issuer_free(srv.issuer);
	audit_close(srv.audit);
	store_close(srv.store);
	if (dbfd >= 0)
		close(dbfd);
	metrics_free(srv.metrics);
	activity_free(srv.activity);
	login_free(srv.login);
	keycache_free(srv.keys);
	curl_global_cleanup();
	nonce_pool_free(srv.nonces);
	keyblock_free(blocked);
	while (loaded.n > 0)
		free(loaded.v[--loaded.n]);
	free(loaded.v);
	acme_log(ACME_LOG_INFO, "stopped", NULL);
	return 0;
}

/*
 * "anvil-ca eab add -c FILE [--kid ID]": creates an External Account
 * Binding key (S-EAB-1), as "anvil-ca admin -c FILE eab add" does.
 */
static int
cmd_eab(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "kid", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *kid = NULL;
	int c;

	if (argc < 2 || strcmp(argv[1], "add") != 0)
		usage();
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			path = optarg;
		else if (c == 'k')
			kid = optarg;
		else
			usage();
	}
	if (path == NULL || optind != argc)
		usage();
	return admin_eab_add(path, kid, 0);
}

/* RFC 3339, "now", "now+N" or "now-N" (seconds). */
static int
parse_when(const char *s, time_t now, time_t *out)
{
	char *end;
	long n;

	if (strncmp(s, NOW, LIT_LEN(NOW)) != 0)
		return acme_rfc3339_parse(s, out);
	if (s[LIT_LEN(NOW)] == '\0') {
		*out = now;
		return 0;
	}
	if (s[LIT_LEN(NOW)] != '+' && s[LIT_LEN(NOW)] != '-')
		return -1;
	n = strtol(s + LIT_LEN(NOW "+"), &end, 10);
	if (end == s + LIT_LEN(NOW "+") || *end != '\0' || n < 0 ||
	    n > WHEN_MAX)
		return -1;
	*out = s[LIT_LEN(NOW)] == '+' ? now + n : now - n;
	return 0;
}

/*
 * "anvil-ca ari set": the operator's renewal window for one certificate
 * or for every live one (before a mass revocation, say).  Clients that
 * follow RFC 9773 renew inside it once their Retry-After has passed.
 */
static int
cmd_ari(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "serial", required_argument, NULL, 's' },
		{ "all", no_argument, NULL, 'a' },
		{ "start", required_argument, NULL, 'b' },
		{ "end", required_argument, NULL, 'e' },
		{ "explanation-url", required_argument, NULL, 'x' },
		{ NULL, 0, NULL, 0 },
	};
	struct acme_problem prob = { 0 };
	const char *path = NULL, *serial = NULL, *ts = NULL, *te = NULL;
	const char *why = NULL;
	char hex[STORE_SERIAL_SIZE];
	time_t now = time(NULL), start, end;
	struct store *st;
	struct conf cfg;
	size_t n = 0;
	int c, all = 0, rc;

	if (argc < 2 || strcmp(argv[1], "set") != 0)
		usage();
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 's':
			serial = optarg;
			break;
		case 'a':
			all = 1;
			break;
		case 'b':
			ts = optarg;
			break;
		case 'e':
			te = optarg;
			break;
		case 'x':
			why = optarg;
			break;
		default:
			usage();
		}
	}
	if (path == NULL || optind != argc || ts == NULL || te == NULL ||
	    (serial == NULL) == (all == 0))
		usage();
	if (serial != NULL &&
	    admin_norm_serial(serial, hex, sizeof(hex)) != 0) {
		fprintf(stderr, "anvil-ca: ari: %s is not a serial number\n",
		    serial);
		return EXIT_USAGE;
	}
	if (parse_when(ts, now, &start) != 0 ||
	    parse_when(te, now, &end) != 0 || end <= start) {
		/* A window must end after it starts (S-ARI-5). */
		fprintf(stderr, "anvil-ca: ari: --start and --end must be "
				"times, the end after the start\n");
		return EXIT_USAGE;
	}
	if (conf_load(&cfg, path, &prob) != 0)
		die(path, &prob);
	st = open_store(&cfg, 0);
	rc = store_cert_set_window(st, serial != NULL ? hex : NULL, start, end,
	    why, now, &n, &prob);
	store_close(st);
	if (rc != 0)
		die("ari", &prob);
	if (serial != NULL && n == 0) {
		fprintf(stderr, "anvil-ca: ari: no certificate has serial %s\n",
		    hex);
		return 1;
	}
	printf("renewal window set for %zu certificate(s)\n", n);
	return 0;
}

int main(int argc, char **argv);

/*
 * For commands whose only option is "-c FILE": loads FILE into cfg
 * (usage or one line and exit 1 on failure); returns the path.
 */
static const char *
load_config_only(int argc, char **argv, struct conf *cfg)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct acme_problem prob = { 0 };
	const char *path = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			path = optarg;
		else
			usage();
	}
	if (path == NULL || optind != argc)
		usage();
	if (conf_load(cfg, path, &prob) != 0)
		die(path, &prob);
	return path;
}

/*
 * "anvil-ca check -c FILE": what serve checks before it listens, without
 * serving: the configuration's keys and values, the blocked-keys file,
 * the issuer's certificate and key, and that a SQLite database exists
 * (D72).  Prints one line; exit 0, or 1 with the first problem.
 */
static int
cmd_check(int argc, char **argv)
{
	struct acme_problem prob = { 0 };
	struct keyblock *blocked = NULL;
	struct issuer *is;
	struct conf cfg;
	const char *path = load_config_only(argc, argv, &cfg);

	if (cfg.blocked_keys_file[0] != '\0') {
		if ((blocked = keyblock_load(cfg.blocked_keys_file, &prob)) ==
		    NULL)
			die("blocked_keys_file", &prob);
		keyblock_free(blocked);
	}
	if ((is = issuer_open(&cfg, &prob)) == NULL)
		die("issuer", &prob);
	issuer_free(is);
	if (dbguard_exists(cfg.database, &prob) != 0)
		die("database", &prob);
	printf("%s: configuration is valid\n", path);
	return 0;
}

/*
 * "anvil-ca crl -c FILE [--out PATH] [--pem]": writes the current CRL
 * (signed now if the newest one is no longer current, D50) to PATH
 * atomically, or to standard output, as DER or PEM, for an operator who
 * publishes it with a web server of their own.  Prints its number and
 * times on standard error.
 */
static int
cmd_crl(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "pem", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct acme_problem prob = { 0 };
	struct store_crl crl;
	struct store *st;
	struct issuer *is;
	struct conf cfg;
	const char *path = NULL, *out = NULL;
	char *text = NULL;
	const void *data;
	size_t len;
	int c, pem = 0, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:", opts, NULL)) != -1) {
		if (c == 'c')
			path = optarg;
		else if (c == 'o')
			out = optarg;
		else if (c == 'p')
			pem = 1;
		else
			usage();
	}
	if (path == NULL || optind != argc)
		usage();
	if (conf_load(&cfg, path, &prob) != 0)
		die(path, &prob);
	st = open_store(&cfg, 0);
	if ((is = issuer_open(&cfg, &prob)) == NULL) {
		store_close(st);
		die("issuer", &prob);
	}
	rc = crl_current(NULL, st, is, &cfg, wall_clock(), &crl, &prob);
	issuer_free(is);
	store_close(st);
	if (rc != 0)
		die("crl", &prob);
	data = crl.der;
	len = crl.len;
	if (pem) {
		BIO *b = BIO_new(BIO_s_mem());
		char *p;
		long n;

		if (b == NULL ||
		    PEM_write_bio(b, "X509 CRL", "", crl.der, (long)crl.len) <=
			0 ||
		    (n = BIO_get_mem_data(b, &p)) <= 0 ||
		    (text = malloc((size_t)n)) == NULL) {
			BIO_free(b);
			store_crl_release(&crl);
			acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
			    "cannot encode the CRL as PEM");
			die("crl", &prob);
		}
		memcpy(text, p, (size_t)n);
		BIO_free(b);
		data = text;
		len = (size_t)n;
	}
	if (out != NULL)
		rc = acme_file_write_atomic(out, data, len, 0644, &prob);
	else if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
		rc = acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot write the CRL to standard output");
	if (rc == 0)
		fprintf(stderr,
		    "crl number %lld this_update %lld next_update %lld "
		    "bytes %zu\n",
		    (long long)crl.number, (long long)crl.this_update,
		    (long long)crl.next_update, crl.len);
	free(text);
	store_crl_release(&crl);
	if (rc != 0)
		die(out != NULL ? out : "crl", &prob);
	return 0;
}

/*
 * "anvil-ca migrate -c FILE": creates the database's schema or brings it
 * to the version this anvil-ca understands (D65), for either back end.
 */
static int
cmd_migrate(int argc, char **argv)
{
	struct conf cfg;

	(void)load_config_only(argc, argv, &cfg);
	store_close(open_store(&cfg, 1));
	printf("database schema is current\n");
	return 0;
}

int
main(int argc, char **argv)
{
	/*
	 * What anvil-ca creates is the owner's only (docs/operations.md),
	 * files SQLite or a library makes on demand included.  Public files
	 * (certificates, a CRL written with --out) get their mode set.
	 */
	umask(077);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage_to(stdout, NULL);
		return 0;
	}
	if (argc > 2 &&
	    (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		usage_to(stdout, argv[1]);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("anvil-ca %s\n", ANVIL_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "init") == 0)
		return init_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "admin") == 0) {
		/* Needs no configuration (D86). */
		if (argc >= 3 && strcmp(argv[2], "passwd") == 0)
			return login_passwd_main(argc - 2, argv + 2);
		return admin_main(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "eab") == 0)
		return cmd_eab(argc - 1, argv + 1);
	if (strcmp(argv[1], "ari") == 0)
		return cmd_ari(argc - 1, argv + 1);
	if (strcmp(argv[1], "crl") == 0)
		return cmd_crl(argc - 1, argv + 1);
	if (strcmp(argv[1], "migrate") == 0)
		return cmd_migrate(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return rotate_main(argc - 1, argv + 1);
	usage();
	return EXIT_USAGE;
}
