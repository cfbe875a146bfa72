/* SPDX-License-Identifier: ISC */
/* Lifetimes of the CA's own certificates and their rotation (rotate.h). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <anvil/ari.h>
#include <anvil/csr.h>
#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/key.h>
#include <anvil/log.h>
#include <anvil/x509.h>

#include "certgen.h"
#include "rotate.h"

#include "internal.h"

#define YEAR (365L * 86400)
/* Certificates read of a chain file: the one rotated and its issuer. */
#define CHAIN_LEN 2u

/* The certificates of a PEM file, in order; at most max. */
static size_t
read_chain(const char *path, X509 **out, size_t max)
{
	size_t n = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (n < max && (out[n] = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		n++;
	fclose(f);
	return n;
}

static int
warn_one(const char *which, const char *path, time_t now)
{
	X509 *c = NULL;
	time_t nb, na;
	char when[ACME_RFC3339_SIZE];
	int rc = 0;

	if (read_chain(path, &c, 1) != 1 ||
	    acme_x509_validity(c, &nb, &na) != 0)
		goto out;
	acme_rfc3339(when, na);
	if (na <= now) {
		acme_log(ACME_LOG_ERROR, "certificate expired",
		    "cert=%s path=%s not_after=%s detail=\"run anvil-ca "
		    "rotate %s\"",
		    which, path, when, which);
		rc = 1;
	} else if (na - now <= ROTATE_WARN_DAYS * DAY_SECS) {
		acme_log(ACME_LOG_WARN, "certificate expires soon",
		    "cert=%s path=%s not_after=%s days_left=%ld "
		    "detail=\"run anvil-ca rotate %s\"",
		    which, path, when, (long)((na - now) / DAY_SECS), which);
		rc = 1;
	}
out:
	X509_free(c);
	return rc;
}

int
rotate_warn(const struct conf *cfg, time_t now)
{
	return warn_one("intermediate", cfg->issuer_cert, now) +
	       warn_one("tls", cfg->tls_cert, now);
}

/* The subject's attribute nid as text into out ("" when absent). */
static void
name_text(X509 *c, int nid, char *out, int size)
{
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(c), nid, out,
		size) < 0)
		out[0] = '\0';
}

/* A CSR for cert's subject and names, signed with key, to stdout. */
static int
print_csr(X509 *cert, EVP_PKEY *key, int leaf, const char *keypath)
{
	struct acme_problem prob = { 0 };
	struct acme_ident *ids = NULL;
	X509_REQ *req = NULL;
	size_t n = 0;
	int rc = 1;

	if (leaf) {
		if (acme_x509_sans(cert, &ids, &n) == 0)
			req = acme_csr_build(key, ids, n, &prob);
	} else if ((req = X509_REQ_new()) != NULL &&
		   (!X509_REQ_set_subject_name(req,
			X509_get_subject_name(cert)) ||
		       !X509_REQ_set_pubkey(req, key) ||
		       X509_REQ_sign(req, key, certgen_digest(key)) <= 0)) {
		X509_REQ_free(req);
		req = NULL;
	}
	if (req != NULL && PEM_write_X509_REQ(stdout, req) == 1) {
		fprintf(stderr,
		    "anvil-ca: rotate: %s is not on this host: have the CSR "
		    "on standard output signed by it\n",
		    keypath);
		rc = 0;
	} else
		fprintf(stderr, "anvil-ca: rotate: cannot make the CSR\n");
	X509_REQ_free(req);
	free(ids);
	return rc;
}

static void
rotate_usage(void)
{
	fprintf(stderr, "usage: anvil-ca rotate intermediate|tls -c FILE\n");
	exit(EXIT_USAGE);
}

int
rotate_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct acme_problem prob = { 0 };
	struct conf cfg;
	X509 *chain[CHAIN_LEN] = { NULL, NULL }, *root = NULL, *made = NULL;
	X509 *signer;
	EVP_PKEY *key = NULL, *signer_key = NULL;
	struct acme_ident *ids = NULL;
	struct certgen g;
	char keypath[CONF_PATH_MAX], dirbuf[CONF_PATH_MAX],
	    cn[CERTGEN_NAME_SIZE], org[CERTGEN_NAME_SIZE];
	const char *path = NULL, *which, *certpath;
	char *pem = NULL;
	size_t n = 0, len;
	time_t now = time(NULL), nb, root_na;
	int c, leaf, rc = 1;

	if (argc < 2 || (strcmp(argv[1], "intermediate") != 0 &&
			    strcmp(argv[1], "tls") != 0))
		rotate_usage();
	which = argv[1];
	leaf = strcmp(which, "tls") == 0;
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (c == 'c')
			path = optarg;
		else
			rotate_usage();
	}
	if (path == NULL || optind != argc)
		rotate_usage();
	if (conf_load(&cfg, path, &prob) != 0) {
		fprintf(stderr, "anvil-ca: %s: %s\n", path, prob.detail);
		return 1;
	}
	certpath = leaf ? cfg.tls_cert : cfg.issuer_cert;
	if (read_chain(certpath, chain, CHAIN_LEN) < (leaf ? CHAIN_LEN : 1u) ||
	    (key = acme_key_load_file(leaf ? cfg.tls_key : cfg.issuer_key,
		 &prob)) == NULL ||
	    read_chain(cfg.root_cert, &root, 1) != 1) {
		fprintf(stderr,
		    "anvil-ca: rotate: cannot read %s, its key or %s\n",
		    certpath, cfg.root_cert);
		goto out;
	}
	/* Who signs: the root, or the listener CA beside tls_cert. */
	signer = leaf ? chain[1] : root;
	if (signer == root || X509_cmp(signer, root) == 0)
		snprintf(keypath, sizeof(keypath), "%s", cfg.root_key);
	else {
		snprintf(dirbuf, sizeof(dirbuf), "%s", cfg.tls_cert);
		snprintf(keypath, sizeof(keypath), "%s/ca.key",
		    dirname(dirbuf));
	}
	if (keypath[0] == '\0' || access(keypath, F_OK) != 0) {
		rc = print_csr(chain[0], key, leaf,
		    keypath[0] != '\0' ? keypath : "the root key");
		goto out;
	}
	if ((signer_key = acme_key_load_file(keypath, &prob)) == NULL) {
		fprintf(stderr, "anvil-ca: rotate: %s\n", prob.detail);
		goto out;
	}
	if (acme_x509_validity(signer, &nb, &root_na) != 0 ||
	    (leaf && acme_x509_sans(chain[0], &ids, &n) != 0)) {
		fprintf(stderr, "anvil-ca: rotate: cannot read %s\n", certpath);
		goto out;
	}
	/* The same key, subject and names; a new validity. */
	name_text(chain[0], NID_commonName, cn, sizeof(cn));
	name_text(chain[0], NID_organizationName, org, sizeof(org));
	memset(&g, 0, sizeof(g));
	g.kind = leaf ? CERTGEN_LEAF : CERTGEN_INTERMEDIATE;
	g.cn = cn[0] != '\0' ? cn : NULL;
	g.org = org[0] != '\0' ? org : NULL;
	g.pubkey = key;
	g.issuer = signer;
	g.issuer_key = signer_key;
	g.not_before = now - CERTGEN_BACKDATE;
	g.not_after =
	    now + (leaf ? CERTGEN_LEAF_YEARS : CERTGEN_INTER_YEARS) * YEAR;
	if (g.not_after > root_na)
		g.not_after = root_na;
	g.sans = ids;
	g.nsans = n;
	g.leaf_ski = 1;
	g.leaf_key_encipherment = 1;
	if ((made = certgen_make(&g, &prob)) == NULL) {
		fprintf(stderr, "anvil-ca: rotate: %s\n", prob.detail);
		goto out;
	}
	/* The listener's file holds its chain: the leaf, then its CA. */
	if ((pem = acme_x509_to_pem(made, &len)) != NULL && leaf) {
		size_t l2;
		char *p2 = acme_x509_to_pem(signer, &l2), *both;

		both = p2 != NULL ? realloc(pem, len + l2) : NULL;
		if (both != NULL) {
			memcpy(both + len, p2, l2);
			len += l2;
			pem = both;
		} else {
			free(pem);
			pem = NULL;
		}
		free(p2);
	}
	if (pem == NULL ||
	    acme_file_write_atomic(certpath, pem, len, 0644, &prob) != 0) {
		fprintf(stderr, "anvil-ca: rotate: cannot write %s\n",
		    certpath);
		goto out;
	}
	acme_rfc3339(cn, g.not_after);
	printf("%s: re-signed, valid until %s; %s\n", certpath, cn,
	    leaf ? "send SIGHUP to serve" : "restart serve");
	rc = 0;
out:
	free(pem);
	free(ids);
	X509_free(chain[0]);
	X509_free(chain[1]);
	X509_free(root);
	X509_free(made);
	EVP_PKEY_free(key);
	EVP_PKEY_free(signer_key);
	return rc;
}
