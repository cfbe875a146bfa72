/* SPDX-License-Identifier: ISC */
/*
 * "anvil-ca init DIR": creates a CA directory.
 *
 *   DIR/anvil-ca.json          configuration (anvil-ca.conf(5))
 *   DIR/ca/root.pem            issuing root (self-signed)
 *   DIR/ca/root.key            its key, 0600 (kept for re-signing only)
 *   DIR/ca/intermediate.pem    the intermediate that signs leaves
 *   DIR/ca/intermediate.key    its key, 0600
 *   DIR/tls/ca.pem             a separate local CA for the listener
 *   DIR/tls/ca.key             its key, 0600
 *   DIR/tls/server.pem         listener chain (leaf, then tls/ca.pem)
 *   DIR/tls/server.key         listener key, 0600
 *   DIR/anvil-ca.db            empty database (schema applied), 0600
 *
 * DIR, DIR/ca and DIR/tls are 0700; the configuration is 0600.
 *
 * ECDSA P-256 everywhere by default; --rsa makes the issuing hierarchy
 * RSA 2048 (root 4096).  Refuses to overwrite an existing configuration.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/key.h>

#include "certgen.h"
#include "init.h"
#include "../conf.h"
#include "../store/store.h"

#include "internal.h"

#define YEAR         (365L * 86400)
#define INIT_DNS_MAX 32 /* --dns-name at most */
/* Names the listener's certificate has beside --dns-name: localhost,
 * 127.0.0.1, ::1 and the listen host. */
#define INIT_NAMES_OWN 4
/* CAs init makes: the root, the intermediate, the listener's CA. */
#define INIT_CAS 3
/* Bytes of a listen host: a DNS name (253) and its NUL fit. */
#define HOST_SIZE 256
/* Bytes of the name of the trust file beside the configuration. */
#define TRUST_NAME_MAX 16

/*
 * A directory of the CA, the owner's only (keys and the database are
 * inside): created 0700, or made 0700 when it exists already.
 */
static int
mkdir_private(const char *path, struct acme_problem *prob)
{
	if ((mkdir(path, 0700) != 0 && errno != EEXIST) ||
	    chmod(path, 0700) != 0)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "mkdir %s: %s", path, strerror(errno));
	return 0;
}

static int
path_in(char *out, size_t size, const char *dir, const char *rel)
{
	return snprintf(out, size, "%s/%s", dir, rel) < (int)size ?
		   0 :
		   ACME_ERR_LIMIT;
}

/*
 * The host of "HOST:PORT" / "[V6]:PORT" into host; "" for a wildcard
 * address (0.0.0.0, ::, or none) or a listen string without a port.
 */
static void
listen_host(const char *listen, char *host, size_t size)
{
	const char *colon = strrchr(listen, ':');
	size_t hl;

	host[0] = '\0';
	if (colon == NULL)
		return;
	hl = (size_t)(colon - listen);
	if (hl >= LIT_LEN("[]") && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= LIT_LEN("[]");
	}
	if (hl == 0 || hl >= size)
		return;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
		host[0] = '\0';
}

/* Adds name to ids unless it is there already. */
static void
add_name(struct acme_ident *ids, size_t *n, size_t max, const char *name)
{
	size_t i;

	if (*n >= max || acme_ident_from_name(&ids[*n], name) != 0)
		return;
	for (i = 0; i < *n; i++)
		if (acme_ident_equal(&ids[i], &ids[*n]))
			return;
	(*n)++;
}

/*
 * Listener names: localhost, loopback addresses, the listen host and
 * the operator's --dns-name names.
 */
static size_t
tls_names(const char *listen, const struct init_opts *o, struct acme_ident *ids,
    size_t max)
{
	char host[HOST_SIZE];
	size_t n = 0, i;

	add_name(ids, &n, max, "localhost");
	add_name(ids, &n, max, "127.0.0.1");
	add_name(ids, &n, max, "::1");
	listen_host(listen, host, sizeof(host));
	if (host[0] != '\0')
		add_name(ids, &n, max, host);
	for (i = 0; i < o->ndns; i++)
		add_name(ids, &n, max, o->dns_names[i]);
	return n;
}

static int
make_pair(enum certgen_kind kind, const char *org, const char *cn,
    enum acme_key_type kt, X509 *issuer, EVP_PKEY *issuer_key, long lifetime,
    const struct acme_ident *sans, size_t nsans, X509 **cert_out,
    EVP_PKEY **key_out, struct acme_problem *prob)
{
	struct certgen g;
	EVP_PKEY *key;
	time_t now = time(NULL);

	if ((key = acme_key_generate(kt, prob)) == NULL)
		return ACME_ERR_CRYPTO;
	memset(&g, 0, sizeof(g));
	g.kind = kind;
	g.cn = cn;
	g.org = org;
	g.pubkey = key;
	g.issuer = issuer;
	g.issuer_key = issuer != NULL ? issuer_key : key;
	g.not_before = now - CERTGEN_BACKDATE;
	g.not_after = now + lifetime;
	g.sans = sans;
	g.nsans = nsans;
	g.leaf_ski = 1;
	g.leaf_key_encipherment = 1;
	if ((*cert_out = certgen_make(&g, prob)) == NULL) {
		EVP_PKEY_free(key);
		return ACME_ERR_CRYPTO;
	}
	*key_out = key;
	return 0;
}

static X509 *
load_cert(const char *path, struct acme_problem *prob)
{
	X509 *c = NULL;
	FILE *f;

	if ((f = fopen(path, "r")) != NULL) {
		c = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (c == NULL)
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "%s: not a PEM certificate", path);
	return c;
}

/*
 * Bring your own hierarchy (D72): the root, its key when given, and an
 * intermediate with its key when given, each checked against the other.
 */
static int
byo_load(const struct init_opts *o, X509 **root, EVP_PKEY **root_key,
    X509 **inter, EVP_PKEY **inter_key, struct acme_problem *prob)
{
	if ((*root = load_cert(o->root_cert, prob)) == NULL)
		return ACME_ERR_INVAL;
	if (o->root_key != NULL &&
	    ((*root_key = acme_key_load_file(o->root_key, prob)) == NULL ||
		X509_check_private_key(*root, *root_key) != 1))
		return *root_key == NULL ?
			   ACME_ERR_INVAL :
			   acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			       "%s is not the key of %s", o->root_key,
			       o->root_cert);
	if (X509_check_ca(*root) < 1)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "%s is not a CA certificate", o->root_cert);
	if (o->issuer_cert == NULL)
		return 0;
	if ((*inter = load_cert(o->issuer_cert, prob)) == NULL ||
	    (*inter_key = acme_key_load_file(o->issuer_key, prob)) == NULL)
		return ACME_ERR_INVAL;
	if (X509_check_private_key(*inter, *inter_key) != 1)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "%s is not the key of %s", o->issuer_key, o->issuer_cert);
	if (X509_check_ca(*inter) < 1 ||
	    X509_verify(*inter, X509_get0_pubkey(*root)) != 1)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "%s is not a CA certificate signed by %s", o->issuer_cert,
		    o->root_cert);
	return 0;
}

int
init_ca_dir(const struct conf *cfg, const struct init_opts *o,
    struct acme_problem *prob)
{
	X509 *root = NULL, *inter = NULL, *tlsca = NULL, *leaf = NULL;
	EVP_PKEY *root_key = NULL, *inter_key = NULL, *tlsca_key = NULL,
		 *leaf_key = NULL;
	struct acme_ident names[INIT_DNS_MAX + INIT_NAMES_OWN];
	char path[CONF_PATH_MAX], cn[INIT_CAS][CERTGEN_NAME_SIZE], *pem = NULL;
	const char *org = o->name != NULL ? o->name : "anvil";
	X509 *tls_issuer;
	EVP_PKEY *tls_issuer_key;
	size_t n, len;
	struct store *st = NULL;
	BIO *b = NULL;
	int rc;

	if ((rc = mkdir_private(cfg->dir, prob)) != 0)
		goto out;
	if ((rc = path_in(path, sizeof(path), cfg->dir, "ca")) != 0 ||
	    (rc = mkdir_private(path, prob)) != 0)
		goto out;
	if ((rc = path_in(path, sizeof(path), cfg->dir, "tls")) != 0 ||
	    (rc = mkdir_private(path, prob)) != 0)
		goto out;

	/* Without --name, the subjects anvil always had. */
	snprintf(cn[0], sizeof(cn[0]), "%s root CA", org);
	snprintf(cn[1], sizeof(cn[1]), "%s intermediate CA", org);
	if (o->name != NULL)
		snprintf(cn[2], sizeof(cn[2]), "%s ACME listener CA", org);
	else
		snprintf(cn[2], sizeof(cn[2]), "anvil-ca listener CA");
	if (o->root_cert != NULL)
		rc = byo_load(o, &root, &root_key, &inter, &inter_key, prob);
	else
		rc = make_pair(CERTGEN_ROOT, org, cn[0],
		    o->rsa ? ACME_KEY_RSA4096 : ACME_KEY_EC384, NULL, NULL,
		    CERTGEN_ROOT_YEARS * YEAR, NULL, 0, &root, &root_key, prob);
	if (rc != 0)
		goto out;
	if (inter == NULL && (rc = make_pair(CERTGEN_INTERMEDIATE, org, cn[1],
				  o->rsa ? ACME_KEY_RSA2048 : ACME_KEY_EC256,
				  root, root_key, CERTGEN_INTER_YEARS * YEAR,
				  NULL, 0, &inter, &inter_key, prob)) != 0)
		goto out;
	tls_issuer = root;
	tls_issuer_key = root_key;
	if (!o->tls_from_root) {
		rc = make_pair(CERTGEN_ROOT, org, cn[2], ACME_KEY_EC256, NULL,
		    NULL, CERTGEN_ROOT_YEARS * YEAR, NULL, 0, &tlsca,
		    &tlsca_key, prob);
		if (rc != 0)
			goto out;
		tls_issuer = tlsca;
		tls_issuer_key = tlsca_key;
	}
	n = tls_names(cfg->listen, o, names, ACME_ARRAY_LEN(names));
	rc = make_pair(CERTGEN_LEAF, NULL, NULL, ACME_KEY_EC256, tls_issuer,
	    tls_issuer_key, CERTGEN_LEAF_YEARS * YEAR, names, n, &leaf,
	    &leaf_key, prob);
	if (rc != 0)
		goto out;

	if ((rc = certgen_save_pem(root, cfg->root_cert, 0644, prob)) != 0 ||
	    (root_key != NULL && (rc = acme_key_save_file(root_key,
				      cfg->root_key, prob)) != 0) ||
	    (rc = certgen_save_pem(inter, cfg->issuer_cert, 0644, prob)) != 0 ||
	    (rc = acme_key_save_file(inter_key, cfg->issuer_key, prob)) != 0 ||
	    (rc = acme_key_save_file(leaf_key, cfg->tls_key, prob)) != 0)
		goto out;
	if (tlsca != NULL &&
	    ((rc = path_in(path, sizeof(path), cfg->dir, "tls/ca.pem")) != 0 ||
		(rc = certgen_save_pem(tlsca, path, 0644, prob)) != 0 ||
		(rc = path_in(path, sizeof(path), cfg->dir, "tls/ca.key")) !=
		    0 ||
		(rc = acme_key_save_file(tlsca_key, path, prob)) != 0))
		goto out;
	/* The listener sends its chain: leaf, then its CA. */
	rc = ACME_ERR_CRYPTO;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(b, leaf) ||
	    !PEM_write_bio_X509(b, tls_issuer)) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot encode the listener chain");
		goto out;
	}
	len = (size_t)BIO_get_mem_data(b, &pem);
	if ((rc = acme_file_write_atomic(cfg->tls_cert, pem, len, 0644,
		 prob)) != 0)
		goto out;

	if ((st = store_open(cfg->database, prob)) == NULL) {
		rc = ACME_ERR_IO;
		goto out;
	}
	rc = 0;
out:
	store_close(st);
	BIO_free(b);
	X509_free(root);
	X509_free(inter);
	X509_free(tlsca);
	X509_free(leaf);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(inter_key);
	EVP_PKEY_free(tlsca_key);
	EVP_PKEY_free(leaf_key);
	return rc;
}

static void
init_usage(void)
{
	fprintf(stderr,
	    "usage: anvil-ca init DIR [--listen ADDR:PORT] [--resolver "
	    "ADDR:PORT]\n"
	    "                [--http01-port N] [--tls-alpn01-port N]\n"
	    "                [--allow-private-addresses] [--database URL] "
	    "[--rsa]\n"
	    "                [--crl-listen ADDR:PORT] [--name ORG] "
	    "[--dns-name NAME]...\n"
	    "                [--tls-from-root] [--root-cert F [--root-key F]]\n"
	    "                [--issuer-cert F --issuer-key F] [--admin-listen "
	    "ADDR:PORT]\n"
	    "                [--admin-tls]\n");
	exit(EXIT_USAGE);
}

/* The combinations of an existing hierarchy init accepts; 0 or 2. */
static int
byo_usage(const struct init_opts *o)
{
	const char *why = NULL;

	if ((o->issuer_cert == NULL) != (o->issuer_key == NULL))
		why = "--issuer-cert and --issuer-key go together";
	else if (o->root_cert == NULL &&
		 (o->root_key != NULL || o->issuer_cert != NULL))
		why = "--root-key and --issuer-cert need --root-cert";
	else if (o->root_cert != NULL && o->root_key == NULL &&
		 o->issuer_cert == NULL)
		why = "without --root-key, give the intermediate with "
		      "--issuer-cert and --issuer-key";
	else if (o->tls_from_root && o->root_cert != NULL &&
		 o->root_key == NULL)
		why = "--tls-from-root needs --root-key";
	if (why == NULL)
		return 0;
	fprintf(stderr, "anvil-ca: init: %s\n", why);
	return EXIT_USAGE;
}

static int
port_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > PORT_MAX) {
		fprintf(stderr, "anvil-ca: init: bad port \"%s\"\n", s);
		exit(EXIT_USAGE);
	}
	return (int)v;
}

/*
 * What init prints: the files, the root's SHA-256 fingerprint (as
 * "openssl x509 -fingerprint -sha256" shows it) and the next commands.
 */
static int
next_steps(const struct conf *cfg, const struct init_opts *o,
    const char *cfgpath)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0, i;
	char host[HOST_SIZE], trust[CONF_PATH_MAX + TRUST_NAME_MAX];
	const char *port = strrchr(cfg->listen, ':');
	X509 *root = NULL;
	FILE *f;

	if ((f = fopen(cfg->root_cert, "r")) != NULL) {
		root = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (root == NULL || !X509_digest(root, EVP_sha256(), md, &mdlen)) {
		X509_free(root);
		fprintf(stderr, "anvil-ca: init: cannot read %s back\n",
		    cfg->root_cert);
		return 1;
	}
	X509_free(root);
	if (o->tls_from_root)
		snprintf(trust, sizeof(trust), "%s", cfg->root_cert);
	else
		snprintf(trust, sizeof(trust), "%s/tls/ca.pem", cfg->dir);
	listen_host(cfg->listen, host, sizeof(host));
	if (o->ndns > 0)
		snprintf(host, sizeof(host), "%s", o->dns_names[0]);
	else if (host[0] == '\0')
		snprintf(host, sizeof(host), "localhost");
	printf("created %s\n", cfgpath);
	printf("issuing root: %s\n", cfg->root_cert);
	printf("root fingerprint (SHA-256): ");
	for (i = 0; i < mdlen; i++)
		printf("%02X%s", md[i], i + 1 < mdlen ? ":" : "\n");
	printf("listener CA:  %s\n", trust);
	printf("next:\n"
	       "  anvil-ca serve -c %s\n"
	       "  anvil issue -d NAME --standalone --server "
	       "https://%s%s%s%s/directory --ca-bundle %s\n",
	    cfgpath, strchr(host, ':') != NULL ? "[" : "", host,
	    strchr(host, ':') != NULL ? "]" : "", port != NULL ? port : "",
	    trust);
	return 0;
}

int
init_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "resolver", required_argument, NULL, 'r' },
		{ "http01-port", required_argument, NULL, 'h' },
		{ "tls-alpn01-port", required_argument, NULL, 't' },
		{ "allow-private-addresses", no_argument, NULL, 'p' },
		{ "database", required_argument, NULL, 'd' },
		{ "rsa", no_argument, NULL, 'R' },
		{ "crl-listen", required_argument, NULL, 'C' },
		{ "name", required_argument, NULL, 'N' },
		{ "dns-name", required_argument, NULL, 'D' },
		{ "tls-from-root", no_argument, NULL, 'T' },
		{ "root-cert", required_argument, NULL, '1' },
		{ "root-key", required_argument, NULL, '2' },
		{ "issuer-cert", required_argument, NULL, '3' },
		{ "issuer-key", required_argument, NULL, '4' },
		{ "admin-listen", required_argument, NULL, 'A' },
		{ "admin-tls", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct acme_problem prob = { 0 };
	struct conf cfg;
	char cfgpath[CONF_PATH_MAX], dir[CONF_PATH_MAX], real[PATH_MAX];
	const char *listen = NULL, *resolver = NULL, *database = NULL;
	const char *crl_listen = NULL, *admin_listen = NULL;
	const char *dns[INIT_DNS_MAX];
	struct init_opts io = { .dns_names = dns };
	struct acme_ident id;
	char host[HOST_SIZE];
	int http01 = 0, alpn = 0, private_ok = 0, admin_tls = 0, c;
	struct stat st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen = optarg;
			break;
		case 'r':
			resolver = optarg;
			break;
		case 'h':
			http01 = port_arg(optarg);
			break;
		case 't':
			alpn = port_arg(optarg);
			break;
		case 'p':
			private_ok = 1;
			break;
		case 'd':
			database = optarg;
			break;
		case 'R':
			io.rsa = 1;
			break;
		case 'N':
			if (optarg[0] == '\0' ||
			    strlen(optarg) > CERTGEN_CN_MAX) {
				fprintf(stderr, "anvil-ca: init: --name must "
						"be 1 to 64 characters\n");
				exit(EXIT_USAGE);
			}
			io.name = optarg;
			break;
		case 'D':
			if (acme_ident_from_name(&id, optarg) != 0) {
				fprintf(stderr,
				    "anvil-ca: init: --dns-name %s is not a "
				    "host name or address\n",
				    optarg);
				exit(EXIT_USAGE);
			}
			if (io.ndns == INIT_DNS_MAX) {
				fprintf(stderr,
				    "anvil-ca: init: at most %d --dns-name\n",
				    INIT_DNS_MAX);
				exit(EXIT_USAGE);
			}
			dns[io.ndns++] = optarg;
			break;
		case 'T':
			io.tls_from_root = 1;
			break;
		case '1':
			io.root_cert = optarg;
			break;
		case '2':
			io.root_key = optarg;
			break;
		case '3':
			io.issuer_cert = optarg;
			break;
		case '4':
			io.issuer_key = optarg;
			break;
		case 'C':
			crl_listen = optarg;
			break;
		case 'A':
			admin_listen = optarg;
			break;
		case 'S':
			admin_tls = 1;
			break;
		default:
			init_usage();
		}
	}
	if (optind + 1 != argc)
		init_usage();
	if ((c = byo_usage(&io)) != 0)
		return c;
	/* Clients on other hosts need a name the certificate holds. */
	if (listen != NULL && io.ndns == 0) {
		listen_host(listen, host, sizeof(host));
		if (host[0] == '\0') {
			fprintf(stderr,
			    "anvil-ca: init: --listen %s is a wildcard "
			    "address: give the names clients reach the CA "
			    "by with --dns-name\n",
			    listen);
			return EXIT_USAGE;
		}
	}
	/* realpath() writes up to PATH_MAX bytes, more than dir holds. */
	if (realpath(argv[optind], real) == NULL) {
		if (mkdir(argv[optind], 0700) != 0 ||
		    realpath(argv[optind], real) == NULL) {
			fprintf(stderr, "anvil-ca: init: %s: %s\n",
			    argv[optind], strerror(errno));
			return 1;
		}
	}
	if (strlen(real) >= sizeof(dir)) {
		fprintf(stderr, "anvil-ca: init: %s: path too long\n",
		    argv[optind]);
		return 1;
	}
	memcpy(dir, real, strlen(real) + 1);
	if (snprintf(cfgpath, sizeof(cfgpath), "%s/anvil-ca.json", dir) >=
	    (int)sizeof(cfgpath)) {
		fprintf(stderr, "anvil-ca: init: path too long\n");
		return 1;
	}
	if (stat(cfgpath, &st) == 0) {
		fprintf(stderr, "anvil-ca: init: %s exists; not overwriting\n",
		    cfgpath);
		return 1;
	}
	conf_defaults(&cfg, dir);
	if (listen != NULL)
		snprintf(cfg.listen, sizeof(cfg.listen), "%s", listen);
	if (resolver != NULL)
		snprintf(cfg.resolver, sizeof(cfg.resolver), "%s", resolver);
	if (database != NULL)
		snprintf(cfg.database, sizeof(cfg.database), "%s", database);
	if (crl_listen != NULL &&
	    snprintf(cfg.crl_http_listen, sizeof(cfg.crl_http_listen), "%s",
		crl_listen) >= (int)sizeof(cfg.crl_http_listen))
		init_usage();
	if (admin_listen != NULL &&
	    snprintf(cfg.admin_listen, sizeof(cfg.admin_listen), "%s",
		admin_listen) >= (int)sizeof(cfg.admin_listen))
		init_usage();
	if (http01 != 0)
		cfg.http01_port = http01;
	if (alpn != 0)
		cfg.tls_alpn01_port = alpn;
	cfg.allow_private_addresses = private_ok;
	cfg.admin_tls = admin_tls;
	if (io.root_cert != NULL && io.root_key == NULL)
		cfg.root_key[0] = '\0'; /* kept off this host */
	if (init_ca_dir(&cfg, &io, &prob) != 0 ||
	    conf_save(&cfg, cfgpath, &prob) != 0) {
		fprintf(stderr, "anvil-ca: init: %s\n", prob.detail);
		acme_problem_release(&prob);
		return 1;
	}
	return next_steps(&cfg, &io, cfgpath);
}
