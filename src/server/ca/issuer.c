/* SPDX-License-Identifier: ISC */
/*
 * The issuer (see issuer.h): signs end-entity certificates with the
 * intermediate key.  When the profile asks for a subject CN it is the
 * first DNS name that fits in 64 bytes; when there is none (or the
 * profile wants none) the subject is empty and the SAN extension is
 * critical, as RFC 5280 4.2.1.6 requires.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>

#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/key.h>
#include <anvil/x509.h>

#include "certgen.h"
#include "issuer.h"

#include "internal.h"

struct issuer {
	X509 *cert;
	EVP_PKEY *key;
	char *cert_pem;
	char *alt_pem; /* alternate chain after the leaf, or NULL */
	struct certgen_fixed *fixed;
};

struct issuer *
issuer_open(const struct conf *cfg, struct acme_problem *prob)
{
	struct issuer *is = calloc(1, sizeof(*is));
	char *pem = NULL;
	size_t len = 0;

	if (is == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return NULL;
	}
	if ((is->key = acme_key_load_file(cfg->issuer_key, prob)) == NULL)
		goto fail;
	if (acme_file_read(cfg->issuer_cert, 1 << 20, &pem, &len, prob) != 0)
		goto fail;
	if ((is->cert = acme_x509_parse_one(pem, len, prob)) == NULL)
		goto fail;
	if (X509_check_private_key(is->cert, is->key) != 1) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "%s does not match %s", cfg->issuer_key, cfg->issuer_cert);
		goto fail;
	}
	if ((is->cert_pem = acme_x509_to_pem(is->cert, NULL)) == NULL)
		goto fail;
	if ((is->fixed = certgen_fixed_new(is->cert)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot make the leaf extensions of %s", cfg->issuer_cert);
		goto fail;
	}
	if (cfg->alt_chain[0] != '\0') {
		STACK_OF(X509) * alt;
		X509 *first;

		free(pem);
		pem = NULL;
		/* S-CERT-3: the alternate chain must start with a
		 * certificate for the same issuer name and key. */
		if (acme_file_read(cfg->alt_chain, 1 << 20, &pem, &len, prob) !=
			0 ||
		    (alt = acme_x509_parse_chain(pem, len, prob)) == NULL)
			goto fail;
		first = sk_X509_value(alt, 0);
		if (X509_NAME_cmp(X509_get_subject_name(first),
			X509_get_subject_name(is->cert)) != 0 ||
		    X509_check_private_key(first, is->key) != 1) {
			sk_X509_pop_free(alt, X509_free);
			acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "%s does not start with the intermediate's name "
			    "and key",
			    cfg->alt_chain);
			goto fail;
		}
		sk_X509_pop_free(alt, X509_free);
		is->alt_pem = pem;
		pem = NULL;
	}
	free(pem);
	return is;
fail:
	free(pem);
	issuer_free(is);
	return NULL;
}

void
issuer_free(struct issuer *is)
{
	if (is == NULL)
		return;
	X509_free(is->cert);
	EVP_PKEY_free(is->key);
	free(is->cert_pem);
	free(is->alt_pem);
	certgen_fixed_free(is->fixed);
	free(is);
}

int
issuer_issue(struct issuer *is, const struct profile *p, EVP_PKEY *pubkey,
    const X509_PUBKEY *spki, const struct acme_ident *names, size_t n,
    time_t not_before, time_t not_after, struct issued *out,
    struct acme_problem *prob)
{
	struct certgen g;
	X509 *cert;
	char *leaf;
	size_t i, llen = 0, clen = strlen(is->cert_pem);

	memset(&g, 0, sizeof(g));
	memset(out, 0, sizeof(*out));
	g.kind = CERTGEN_LEAF;
	for (i = 0; p->common_name && i < n && g.cn == NULL; i++)
		if (names[i].type == ACME_IDENT_DNS &&
		    strlen(names[i].value) <= 64)
			g.cn = names[i].value;
	g.pubkey = pubkey;
	g.spki = spki;
	g.issuer = is->cert;
	g.issuer_key = is->key;
	g.not_before = not_before;
	g.not_after = not_after;
	g.sans = names;
	g.nsans = n;
	g.leaf_ski = p->subject_key_id;
	g.leaf_key_encipherment = p->key_encipherment;
	g.fixed = is->fixed;
	if ((cert = certgen_make(&g, prob)) == NULL)
		return ACME_ERR_CRYPTO;
	leaf = acme_x509_to_pem(cert, &llen);
	if (leaf == NULL ||
	    acme_x509_serial_hex(cert, out->serial, sizeof(out->serial)) != 0 ||
	    (out->chain_pem = malloc(llen + clen + 1)) == NULL) {
		free(leaf);
		X509_free(cert);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot encode the certificate");
	}
	memcpy(out->chain_pem, leaf, llen);
	memcpy(out->chain_pem + llen, is->cert_pem, clen + 1);
	if (is->alt_pem != NULL) {
		size_t alen = strlen(is->alt_pem);

		if ((out->alt_chain_pem = malloc(llen + alen + 1)) == NULL) {
			free(out->chain_pem);
			out->chain_pem = NULL;
			free(leaf);
			X509_free(cert);
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "out of memory");
		}
		memcpy(out->alt_chain_pem, leaf, llen);
		memcpy(out->alt_chain_pem + llen, is->alt_pem, alen + 1);
	}
	acme_x509_validity(cert, &out->not_before, &out->not_after);
	free(leaf);
	X509_free(cert);
	return 0;
}
