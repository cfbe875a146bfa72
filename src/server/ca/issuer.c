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

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/key.h>
#include <anvil/x509.h>

#include "certgen.h"
#include "issuer.h"

#include "internal.h"

/* Bytes the CRL's path may add to crl_url (the issuer's id and "/crl"). */
#define CRL_PATH_MAX 300

struct issuer {
	X509 *cert;
	EVP_PKEY *key;
	char *cert_pem;
	char *alt_pem; /* alternate chain after the leaf, or NULL */
	struct certgen_fixed *fixed;
	time_t not_after; /* the intermediate's */
};

struct issuer *
issuer_open(const struct conf *cfg, struct acme_problem *prob)
{
	struct issuer *is = calloc(1, sizeof(*is));
	char *pem = NULL, crl_url[sizeof(cfg->crl_url) + CRL_PATH_MAX];
	size_t len = 0;
	time_t nb;

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
	if (acme_x509_validity(is->cert, &nb, &is->not_after) != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot read the validity of %s", cfg->issuer_cert);
		goto fail;
	}
	conf_crl_url(cfg, crl_url, sizeof(crl_url));
	if ((is->fixed = certgen_fixed_new(is->cert, crl_url)) == NULL) {
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
		    strlen(names[i].value) <= CERTGEN_CN_MAX)
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
	g.leaf_crl = p->crl_distribution_point;
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

X509 *
issuer_cert(struct issuer *is)
{
	return is->cert;
}

time_t
issuer_not_after(const struct issuer *is)
{
	return is->not_after;
}

/* One CRL entry: serial (hex), revocationDate, and reasonCode. */
static int
add_revoked(X509_CRL *crl, const struct store_revoked *r)
{
	X509_REVOKED *rv = X509_REVOKED_new();
	ASN1_INTEGER *serial = NULL;
	ASN1_TIME *when = NULL;
	ASN1_ENUMERATED *reason = NULL;
	BIGNUM *bn = NULL;
	int ok = 0;

	if (rv == NULL || BN_hex2bn(&bn, r->serial) != (int)strlen(r->serial) ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    !X509_REVOKED_set_serialNumber(rv, serial) ||
	    (when = ASN1_TIME_set(NULL, r->revoked_at)) == NULL ||
	    !X509_REVOKED_set_revocationDate(rv, when))
		goto out;
	/* 0 (unspecified) is never encoded (BR 7.2.2, S-REV-6). */
	if (r->reason > 0 && ((reason = ASN1_ENUMERATED_new()) == NULL ||
				 !ASN1_ENUMERATED_set(reason, r->reason) ||
				 X509_REVOKED_add1_ext_i2d(rv, NID_crl_reason,
				     reason, 0, 0) != 1))
		goto out;
	if (!X509_CRL_add0_revoked(crl, rv))
		goto out;
	rv = NULL;
	ok = 1;
out:
	ASN1_ENUMERATED_free(reason);
	ASN1_TIME_free(when);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_REVOKED_free(rv);
	return ok;
}

int
issuer_sign_crl(struct issuer *is, const struct store_revoked *r, size_t n,
    int64_t number, time_t this_update, time_t next_update, unsigned char **der,
    size_t *len, struct acme_problem *prob)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *tu = ASN1_TIME_set(NULL, this_update);
	ASN1_TIME *nu = ASN1_TIME_set(NULL, next_update);
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;
	unsigned char *out = NULL;
	size_t i;
	int dlen, ok = 0;

	*der = NULL;
	*len = 0;
	if (crl == NULL || tu == NULL || nu == NULL || num == NULL ||
	    !X509_CRL_set_version(crl, 1) || /* v2 */
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(is->cert)) ||
	    !X509_CRL_set1_lastUpdate(crl, tu) ||
	    !X509_CRL_set1_nextUpdate(crl, nu))
		goto out;
	for (i = 0; i < n; i++)
		if (!add_revoked(crl, &r[i]))
			goto out;
	if (!X509_CRL_sort(crl))
		goto out;
	X509V3_set_ctx(&ctx, is->cert, NULL, NULL, crl, 0);
	if ((aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
		 "keyid:always")) == NULL ||
	    !X509_CRL_add_ext(crl, aki, -1) ||
	    !ASN1_INTEGER_set_int64(num, number) ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
		goto out;
	if (X509_CRL_sign(crl, is->key, certgen_digest(is->key)) <= 0 ||
	    (dlen = i2d_X509_CRL(crl, &out)) <= 0)
		goto out;
	/* Released with free() like every store record. */
	if ((*der = malloc((size_t)dlen)) == NULL)
		goto out;
	memcpy(*der, out, (size_t)dlen);
	*len = (size_t)dlen;
	ok = 1;
out:
	OPENSSL_free(out);
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(nu);
	ASN1_TIME_free(tu);
	X509_CRL_free(crl);
	if (!ok) {
		unsigned long e = ERR_get_error();

		ERR_clear_error();
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot sign CRL %lld: %s", (long long)number,
		    e != 0 ? ERR_reason_error_string(e) : "unknown error");
	}
	return 0;
}
