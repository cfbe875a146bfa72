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

#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/key.h>

#include "certgen.h"
#include "init.h"
#include "../conf.h"
#include "../store/store.h"

#include "internal.h"

#define YEAR (365L * 86400)

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

/* Listener names: localhost, loopback addresses and the listen host. */
static size_t
tls_names(const char *listen, struct acme_ident *ids, size_t max)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	size_t n = 0, hl;

	acme_ident_set(&ids[n++], "dns", "localhost");
	acme_ident_set(&ids[n++], "ip", "127.0.0.1");
	acme_ident_set(&ids[n++], "ip", "::1");
	if (colon == NULL)
		return n;
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host) || n >= max)
		return n;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
		return n;
	if (acme_ident_from_name(&ids[n], host) == 0) {
		size_t i;

		for (i = 0; i < n; i++)
			if (acme_ident_equal(&ids[i], &ids[n]))
				return n;
		n++;
	}
	return n;
}

static int
make_pair(enum certgen_kind kind, const char *cn, enum acme_key_type kt,
    X509 *issuer, EVP_PKEY *issuer_key, long lifetime,
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
	g.org = "anvil";
	g.pubkey = key;
	g.issuer = issuer;
	g.issuer_key = issuer != NULL ? issuer_key : key;
	g.not_before = now - 3600;
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

int
init_ca_dir(const struct conf *cfg, int rsa, struct acme_problem *prob)
{
	X509 *root = NULL, *inter = NULL, *tlsca = NULL, *leaf = NULL;
	EVP_PKEY *root_key = NULL, *inter_key = NULL, *tlsca_key = NULL,
		 *leaf_key = NULL;
	struct acme_ident names[4];
	char path[CONF_PATH_MAX], *pem1 = NULL, *pem2 = NULL;
	size_t n, l1 = 0, l2 = 0;
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

	rc = make_pair(CERTGEN_ROOT, "anvil root CA",
	    rsa ? ACME_KEY_RSA4096 : ACME_KEY_EC384, NULL, NULL, 20 * YEAR,
	    NULL, 0, &root, &root_key, prob);
	if (rc != 0)
		goto out;
	rc = make_pair(CERTGEN_INTERMEDIATE, "anvil intermediate CA",
	    rsa ? ACME_KEY_RSA2048 : ACME_KEY_EC256, root, root_key, 5 * YEAR,
	    NULL, 0, &inter, &inter_key, prob);
	if (rc != 0)
		goto out;
	rc = make_pair(CERTGEN_ROOT, "anvil-ca listener CA", ACME_KEY_EC256,
	    NULL, NULL, 20 * YEAR, NULL, 0, &tlsca, &tlsca_key, prob);
	if (rc != 0)
		goto out;
	n = tls_names(cfg->listen, names, ACME_ARRAY_LEN(names));
	rc = make_pair(CERTGEN_LEAF, NULL, ACME_KEY_EC256, tlsca, tlsca_key,
	    2 * YEAR, names, n, &leaf, &leaf_key, prob);
	if (rc != 0)
		goto out;

	if ((rc = certgen_save_pem(root, cfg->root_cert, 0644, prob)) != 0 ||
	    (rc = path_in(path, sizeof(path), cfg->dir, "ca/root.key")) != 0 ||
	    (rc = acme_key_save_file(root_key, path, prob)) != 0 ||
	    (rc = certgen_save_pem(inter, cfg->issuer_cert, 0644, prob)) != 0 ||
	    (rc = acme_key_save_file(inter_key, cfg->issuer_key, prob)) != 0 ||
	    (rc = path_in(path, sizeof(path), cfg->dir, "tls/ca.pem")) != 0 ||
	    (rc = certgen_save_pem(tlsca, path, 0644, prob)) != 0 ||
	    (rc = path_in(path, sizeof(path), cfg->dir, "tls/ca.key")) != 0 ||
	    (rc = acme_key_save_file(tlsca_key, path, prob)) != 0 ||
	    (rc = acme_key_save_file(leaf_key, cfg->tls_key, prob)) != 0)
		goto out;
	/* The listener sends its chain: leaf, then the local CA. */
	rc = ACME_ERR_CRYPTO;
	if ((b = BIO_new(BIO_s_mem())) == NULL ||
	    !PEM_write_bio_X509(b, leaf) || !PEM_write_bio_X509(b, tlsca)) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot encode the listener chain");
		goto out;
	}
	l1 = (size_t)BIO_get_mem_data(b, &pem1);
	if ((rc = acme_file_write_atomic(cfg->tls_cert, pem1, l1, 0644,
		 prob)) != 0)
		goto out;
	(void)pem2;
	(void)l2;

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
	    "                [--crl-listen ADDR:PORT]\n");
	exit(2);
}

static int
port_arg(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 65535) {
		fprintf(stderr, "anvil-ca: init: bad port \"%s\"\n", s);
		exit(2);
	}
	return (int)v;
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
		{ NULL, 0, NULL, 0 },
	};
	struct acme_problem prob = { 0 };
	struct conf cfg;
	char cfgpath[CONF_PATH_MAX], dir[CONF_PATH_MAX], real[PATH_MAX];
	const char *listen = NULL, *resolver = NULL, *database = NULL;
	const char *crl_listen = NULL;
	int http01 = 0, alpn = 0, private_ok = 0, rsa = 0, c;
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
			rsa = 1;
			break;
		case 'C':
			crl_listen = optarg;
			break;
		default:
			init_usage();
		}
	}
	if (optind + 1 != argc)
		init_usage();
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
	if (http01 != 0)
		cfg.http01_port = http01;
	if (alpn != 0)
		cfg.tls_alpn01_port = alpn;
	cfg.allow_private_addresses = private_ok;
	if (init_ca_dir(&cfg, rsa, &prob) != 0 ||
	    conf_save(&cfg, cfgpath, &prob) != 0) {
		fprintf(stderr, "anvil-ca: init: %s\n", prob.detail);
		acme_problem_release(&prob);
		return 1;
	}
	printf("created %s\n", cfgpath);
	printf("issuing root: %s\n", cfg.root_cert);
	printf("listener CA:  %s/tls/ca.pem\n", dir);
	return 0;
}
