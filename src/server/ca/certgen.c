/* SPDX-License-Identifier: ISC */
/*
 * Certificate construction (see certgen.h).  Extensions follow the CA/B
 * Forum profiles in outline: CAs get basicConstraints (critical),
 * keyUsage keyCertSign+cRLSign (critical) and SKI; leaves get
 * basicConstraints CA:FALSE, keyUsage digitalSignature (+keyEncipherment
 * for RSA when asked), EKU serverAuth, SAN (critical when the subject is
 * empty), AKI, and SKI when asked: the certificate profile decides those
 * two (S-PROF-8).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/x509.h>

#include "certgen.h"

#include "internal.h"

/* Bits of the largest key signed with SHA-256 (P-256); above, SHA-384. */
#define SHA256_KEY_BITS 256

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : cert, cert, NULL, NULL,
	    0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

/* subjectAltName from identifiers (critical when the subject is empty). */
static int
add_sans(X509 *cert, const struct acme_ident *sans, size_t n, int critical)
{
	GENERAL_NAMES *gens = acme_x509_general_names(sans, n);
	int ok;

	if (gens == NULL)
		return 0;
	ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, gens, critical,
		 X509V3_ADD_DEFAULT) == 1;
	GENERAL_NAMES_free(gens);
	return ok;
}

/* certificatePolicies: the CA/B Forum domain-validated OID (BR 7.1.6.1). */
static X509_EXTENSION *
dv_policy(void)
{
	CERTIFICATEPOLICIES *cp = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	X509_EXTENSION *ext = NULL;

	if (cp == NULL || pi == NULL)
		goto out;
	ASN1_OBJECT_free(pi->policyid);
	if ((pi->policyid = OBJ_txt2obj("2.23.140.1.2.1", 1)) == NULL ||
	    !sk_POLICYINFO_push(cp, pi))
		goto out;
	pi = NULL;
	ext = X509V3_EXT_i2d(NID_certificate_policies, 0, cp);
out:
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(cp);
	return ext;
}

/*
 * The leaf extensions that depend only on the issuer, encoded once
 * instead of parsed from their configuration strings on every issuance.
 */
struct certgen_fixed {
	X509_EXTENSION *bc, *ku, *ku_encipher, *eku, *policy, *aki;
	X509_EXTENSION *cdp; /* NULL without a CRL URL */
};

/*
 * cRLDistributionPoints with one distribution point whose full name is
 * url (RFC 5280 4.2.1.13; BR 7.1.2.11.2: no reasons, no cRLIssuer).
 */
static X509_EXTENSION *
crl_dp(const char *url)
{
	CRL_DIST_POINTS *dps = sk_DIST_POINT_new_null();
	DIST_POINT *dp = DIST_POINT_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *uri = ASN1_IA5STRING_new();
	X509_EXTENSION *ext = NULL;

	if (dps == NULL || dp == NULL || gn == NULL || uri == NULL ||
	    !ASN1_STRING_set(uri, url, -1))
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_URI, uri);
	uri = NULL;
	if ((dp->distpoint = DIST_POINT_NAME_new()) == NULL)
		goto out;
	dp->distpoint->type = 0; /* fullName */
	if ((dp->distpoint->name.fullname = sk_GENERAL_NAME_new_null()) ==
		NULL ||
	    !sk_GENERAL_NAME_push(dp->distpoint->name.fullname, gn))
		goto out;
	gn = NULL;
	if (!sk_DIST_POINT_push(dps, dp))
		goto out;
	dp = NULL;
	ext = X509V3_EXT_i2d(NID_crl_distribution_points, 0, dps);
out:
	ASN1_IA5STRING_free(uri);
	GENERAL_NAME_free(gn);
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(dps);
	return ext;
}

struct certgen_fixed *
certgen_fixed_new(X509 *issuer, const char *crl_url)
{
	struct certgen_fixed *fx = calloc(1, sizeof(*fx));
	X509V3_CTX ctx;

	if (fx == NULL)
		return NULL;
	/* keyid:always reads the issuer's subjectKeyIdentifier. */
	X509V3_set_ctx(&ctx, issuer, NULL, NULL, NULL, 0);
	fx->bc = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	    "critical,CA:FALSE");
	fx->ku = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
	    "critical,digitalSignature");
	fx->ku_encipher = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
	    "critical,digitalSignature,keyEncipherment");
	fx->eku =
	    X509V3_EXT_conf_nid(NULL, NULL, NID_ext_key_usage, "serverAuth");
	fx->policy = dv_policy();
	fx->aki = X509V3_EXT_conf_nid(NULL, &ctx, NID_authority_key_identifier,
	    "keyid:always");
	if (crl_url != NULL && crl_url[0] != '\0')
		fx->cdp = crl_dp(crl_url);
	if (fx->bc == NULL || fx->ku == NULL || fx->ku_encipher == NULL ||
	    fx->eku == NULL || fx->policy == NULL || fx->aki == NULL ||
	    (crl_url != NULL && crl_url[0] != '\0' && fx->cdp == NULL)) {
		ERR_clear_error();
		certgen_fixed_free(fx);
		return NULL;
	}
	return fx;
}

void
certgen_fixed_free(struct certgen_fixed *fx)
{
	if (fx == NULL)
		return;
	X509_EXTENSION_free(fx->bc);
	X509_EXTENSION_free(fx->ku);
	X509_EXTENSION_free(fx->ku_encipher);
	X509_EXTENSION_free(fx->eku);
	X509_EXTENSION_free(fx->policy);
	X509_EXTENSION_free(fx->aki);
	X509_EXTENSION_free(fx->cdp);
	free(fx);
}

static int
set_serial(X509 *cert)
{
	unsigned char b[CERTGEN_SERIAL_BYTES];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return 0;
	b[0] &= 0x7f; /* positive */
	b[0] |= 0x40; /* full length, so the DER size is constant */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	return ok != 0;
}

/*
 * Copies spki's algorithm and key bits into cert's subjectPublicKeyInfo
 * without re-encoding the key.  Returns 1 or 0.
 */
static int
copy_spki(X509 *cert, const X509_PUBKEY *spki)
{
	const unsigned char *bits;
	X509_ALGOR *algor;
	int len;

	return X509_PUBKEY_get0_param(NULL, &bits, &len, &algor, spki) &&
	       acme_x509_set_spki(X509_get_X509_PUBKEY(cert), algor, bits, len);
}

X509 *
certgen_make(const struct certgen *g, struct acme_problem *prob)
{
	X509 *cert = NULL;
	X509_NAME *name = NULL;
	const EVP_MD *md = NULL;
	const struct certgen_fixed *fx;
	struct certgen_fixed *own = NULL;
	time_t nb = g->not_before, na = g->not_after;
	int rsa, ok = 0;

	if ((cert = X509_new()) == NULL ||
	    !X509_set_version(cert, X509_VERSION_3) || !set_serial(cert))
		goto out;
	if (X509_time_adj_ex(X509_getm_notBefore(cert), 0, 0, &nb) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), 0, 0, &na) == NULL)
		goto out;
	if ((name = X509_NAME_new()) == NULL)
		goto out;
	if (g->org != NULL &&
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
		(const unsigned char *)g->org, -1, -1, 0))
		goto out;
	if (g->cn != NULL &&
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		(const unsigned char *)g->cn, -1, -1, 0))
		goto out;
	if (!X509_set_subject_name(cert, name) ||
	    !X509_set_issuer_name(cert,
		g->issuer != NULL ? X509_get_subject_name(g->issuer) : name) ||
	    !(g->spki != NULL ? copy_spki(cert, g->spki) :
				X509_set_pubkey(cert, g->pubkey)))
		goto out;
	rsa = EVP_PKEY_is_a(g->pubkey, "RSA");
	switch (g->kind) {
	case CERTGEN_ROOT:
		ok = add_ext(cert, NULL, NID_basic_constraints,
			 "critical,CA:TRUE") &&
		     add_ext(cert, NULL, NID_key_usage,
			 "critical,keyCertSign,cRLSign") &&
		     add_ext(cert, NULL, NID_subject_key_identifier, "hash");
		break;
	case CERTGEN_INTERMEDIATE:
		ok = add_ext(cert, g->issuer, NID_basic_constraints,
			 "critical,CA:TRUE,pathlen:0") &&
		     add_ext(cert, g->issuer, NID_key_usage,
			 "critical,digitalSignature,keyCertSign,cRLSign") &&
		     add_ext(cert, g->issuer, NID_ext_key_usage,
			 "serverAuth,clientAuth") &&
		     add_ext(cert, g->issuer, NID_subject_key_identifier,
			 "hash") &&
		     add_ext(cert, g->issuer, NID_authority_key_identifier,
			 "keyid:always");
		break;
	case CERTGEN_LEAF:
		if ((fx = g->fixed) == NULL &&
		    (fx = own = certgen_fixed_new(g->issuer, NULL)) == NULL)
			break;
		/* X509_add_ext() adds a copy. */
		ok =
		    X509_add_ext(cert, fx->bc, -1) &&
		    X509_add_ext(cert,
			rsa && g->leaf_key_encipherment ? fx->ku_encipher :
							  fx->ku,
			-1) &&
		    X509_add_ext(cert, fx->eku, -1) &&
		    X509_add_ext(cert, fx->policy, -1) &&
		    (!g->leaf_ski || add_ext(cert, g->issuer,
					 NID_subject_key_identifier, "hash")) &&
		    X509_add_ext(cert, fx->aki, -1) &&
		    (!g->leaf_crl || fx->cdp == NULL ||
			X509_add_ext(cert, fx->cdp, -1)) &&
		    add_sans(cert, g->sans, g->nsans, g->cn == NULL);
		break;
	}
	if (!ok)
		goto out;
	ok = 0;
	md = certgen_digest(g->issuer_key);
	if (X509_sign(cert, g->issuer_key, md) <= 0)
		goto out;
	ok = 1;
out:
	X509_NAME_free(name);
	certgen_fixed_free(own);
	if (!ok) {
		unsigned long e = ERR_get_error();

		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot build certificate: %s",
		    e != 0 ? ERR_reason_error_string(e) : "unknown error");
		ERR_clear_error();
		X509_free(cert);
		return NULL;
	}
	return cert;
}

const EVP_MD *
certgen_digest(EVP_PKEY *key)
{
	/* Ed25519 signs without a separate digest; P-384 with SHA-384. */
	if (EVP_PKEY_is_a(key, "ED25519"))
		return NULL;
	return EVP_PKEY_get_bits(key) > SHA256_KEY_BITS &&
		       !EVP_PKEY_is_a(key, "RSA") ?
		   EVP_sha384() :
		   EVP_sha256();
}

int
certgen_save_pem(X509 *cert, const char *path, mode_t mode,
    struct acme_problem *prob)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc;

	if (b == NULL || !PEM_write_bio_X509(b, cert)) {
		BIO_free(b);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot encode certificate");
	}
	len = BIO_get_mem_data(b, &data);
	rc = acme_file_write_atomic(path, data, (size_t)len, mode, prob);
	BIO_free(b);
	return rc;
}
