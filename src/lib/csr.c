/* SPDX-License-Identifier: ISC */
/*
 * PKCS#10 requests (see include/anvil/csr.h).  The parser is strict:
 * bounded size, no trailing bytes, a self-signature that verifies, and
 * only DNS and IP subjectAltNames; the identifiers it returns are
 * canonical, deduplicated and sorted, ready to compare with an order's.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <anvil/b64url.h>
#include <anvil/csr.h>
#include <anvil/err.h>
#include <anvil/x509.h>

#include "internal.h"

X509_REQ *
acme_csr_build(EVP_PKEY *key, const struct acme_ident *ids, size_t n,
    struct acme_problem *prob)
{
	X509_REQ *req = NULL;
	X509_NAME *name = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_EXTENSION *ext = NULL;
	const EVP_MD *md;
	size_t i;
	int ok = 0;

	if (n == 0 || n > ACME_CSR_MAX_IDENTS) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "a CSR needs 1 to %d identifiers", ACME_CSR_MAX_IDENTS);
		return NULL;
	}
	if ((req = X509_REQ_new()) == NULL || !X509_REQ_set_version(req, 0) ||
	    (name = X509_NAME_new()) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		if (ids[i].type == ACME_IDENT_DNS &&
		    X509_NAME_entry_count(name) == 0 &&
		    strlen(ids[i].value) <= 64 &&
		    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
			(const unsigned char *)ids[i].value, -1, -1, 0))
			goto out;
	}
	if (!X509_REQ_set_subject_name(req, name))
		goto out;
	if ((gens = acme_x509_general_names(ids, n)) == NULL)
		goto out;
	if ((exts = sk_X509_EXTENSION_new_null()) == NULL ||
	    (ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    !sk_X509_EXTENSION_push(exts, ext))
		goto out;
	ext = NULL;
	if (!X509_REQ_add_extensions(req, exts) ||
	    !X509_REQ_set_pubkey(req, key))
		goto out;
	md = EVP_PKEY_is_a(key, "ED25519") ? NULL : EVP_sha256();
	if (X509_REQ_sign(req, key, md) <= 0)
		goto out;
	ok = 1;
out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(name);
	if (!ok) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot build CSR");
		ERR_clear_error();
		X509_REQ_free(req);
		return NULL;
	}
	return req;
}

unsigned char *
acme_csr_to_der(X509_REQ *req, size_t *len)
{
	unsigned char *der = NULL, *out;
	int n = i2d_X509_REQ(req, &der);

	if (n <= 0)
		return NULL;
	/* Hand back malloc memory, not OpenSSL's, so callers use free(). */
	if ((out = malloc((size_t)n)) != NULL) {
		memcpy(out, der, (size_t)n);
		*len = (size_t)n;
	}
	OPENSSL_free(der);
	return out;
}

char *
acme_csr_to_b64url(X509_REQ *req)
{
	size_t len = 0;
	unsigned char *der = acme_csr_to_der(req, &len);
	char *out;

	if (der == NULL)
		return NULL;
	out = acme_b64url_encode(der, len);
	free(der);
	return out;
}

X509_REQ *
acme_csr_parse_der(const unsigned char *der, size_t len,
    struct acme_problem *prob)
{
	const unsigned char *p = der;
	X509_REQ *req;
	EVP_PKEY *key;

	if (len == 0 || len > ACME_CSR_MAX_DER) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR must be 1 to %d bytes of DER", ACME_CSR_MAX_DER);
		return NULL;
	}
	req = d2i_X509_REQ(NULL, &p, (long)len);
	if (req == NULL) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR is not a DER PKCS#10 request");
		goto fail;
	}
	if (p != der + len) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR has %zu bytes of trailing data",
		    (size_t)(der + len - p));
		goto fail;
	}
	if ((key = X509_REQ_get0_pubkey(req)) == NULL) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR public key cannot be decoded");
		goto fail;
	}
	if (X509_REQ_verify(req, key) != 1) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR signature does not verify");
		goto fail;
	}
	ERR_clear_error();
	return req;
fail:
	ERR_clear_error();
	X509_REQ_free(req);
	return NULL;
}

X509_REQ *
acme_csr_parse_b64url(const char *b64, struct acme_problem *prob)
{
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req;

	if (b64 == NULL ||
	    acme_b64url_decode(b64, strlen(b64), &der, &len) != 0) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR is not unpadded base64url");
		return NULL;
	}
	req = acme_csr_parse_der(der, len, prob);
	free(der);
	return req;
}

/* Appends id to the list unless present.  Returns 0 or an error. */
static int
add_ident(struct acme_ident **ids, size_t *n, const struct acme_ident *id,
    struct acme_problem *prob)
{
	struct acme_ident *p;
	size_t i;

	for (i = 0; i < *n; i++)
		if (acme_ident_equal(&(*ids)[i], id))
			return 0;
	if (*n >= ACME_CSR_MAX_IDENTS)
		return acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR names more than %d identifiers", ACME_CSR_MAX_IDENTS);
	if ((p = realloc(*ids, (*n + 1) * sizeof(*p))) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	p[*n] = *id;
	*ids = p;
	(*n)++;
	return 0;
}

/* A GENERAL_NAME of type DNS or IP as an identifier. */
static int
gen_to_ident(const GENERAL_NAME *gn, struct acme_ident *id,
    struct acme_problem *prob)
{
	int type;
	void *v = GENERAL_NAME_get0_value(gn, &type);
	const ASN1_STRING *s = v;
	char buf[ACME_IDENT_MAX + 1];
	int len;

	if (type == GEN_DNS) {
		len = ASN1_STRING_length(s);
		if (len <= 0 || len > ACME_IDENT_MAX ||
		    memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len) != NULL)
			return acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "CSR has an invalid DNS name");
		memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
		buf[len] = '\0';
		if (acme_ident_set(id, "dns", buf) != 0)
			return acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "CSR has an invalid DNS name \"%.100s\"", buf);
		return 0;
	}
	if (type == GEN_IPADD) {
		len = ASN1_STRING_length(s);
		if ((len != 4 && len != 16) ||
		    inet_ntop(len == 4 ? AF_INET : AF_INET6,
			ASN1_STRING_get0_data(s), buf, sizeof(buf)) == NULL ||
		    acme_ident_set(id, "ip", buf) != 0)
			return acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "CSR has an invalid IP address");
		return 0;
	}
	return acme_problem_set(prob, ACME_PROB_BAD_CSR,
	    "CSR has a subjectAltName that is neither a DNS name nor an IP "
	    "address");
}

int
acme_csr_identifiers(X509_REQ *req, struct acme_ident **out, size_t *nout,
    struct acme_problem *prob)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	GENERAL_NAMES *gens = NULL;
	struct acme_ident *ids = NULL, id;
	X509_NAME *subj = X509_REQ_get_subject_name(req);
	size_t n = 0;
	int i, idx, rc = ACME_ERR_INVAL, crit = 0;

	*out = NULL;
	*nout = 0;
	if (exts != NULL) {
		gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
		if (gens == NULL && crit != -1) {
			acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "CSR subjectAltName extension is malformed or "
			    "repeated");
			goto out;
		}
	}
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++)
		if (gen_to_ident(sk_GENERAL_NAME_value(gens, i), &id, prob) !=
			0 ||
		    add_ident(&ids, &n, &id, prob) != 0)
			goto out;
	/* The CN, when present, must be one of the identifiers too. */
	for (idx = -1; (idx = X509_NAME_get_index_by_NID(subj, NID_commonName,
			    idx)) >= 0;) {
		ASN1_STRING *s =
		    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
		unsigned char *utf8 = NULL;
		int len = ASN1_STRING_to_UTF8(&utf8, s);

		if (len <= 0 || (size_t)len != strlen((char *)utf8) ||
		    acme_ident_from_name(&id, (char *)utf8) != 0) {
			acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "CSR common name is not a DNS name or IP address");
			OPENSSL_free(utf8);
			goto out;
		}
		OPENSSL_free(utf8);
		if (add_ident(&ids, &n, &id, prob) != 0)
			goto out;
	}
	if (n == 0) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR names no identifiers");
		goto out;
	}
	qsort(ids, n, sizeof(*ids), acme_ident_cmp);
	*out = ids;
	*nout = n;
	ids = NULL;
	rc = 0;
out:
	free(ids);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	return rc;
}

EVP_PKEY *
acme_csr_pubkey(X509_REQ *req)
{
	return X509_REQ_get0_pubkey(req);
}

int
acme_csr_key_info(X509_REQ *req, enum acme_key_type *type,
    enum acme_key_family *family, int *bits)
{
	EVP_PKEY *key = X509_REQ_get0_pubkey(req);

	if (key == NULL)
		return ACME_ERR_INVAL;
	return acme_key_info(key, type, family, bits);
}
