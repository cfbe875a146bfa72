/* SPDX-License-Identifier: ISC */
/*
 * X.509 certificate helpers (see include/anvil/x509.h): PEM chains and
 * the handful of fields ACME needs, with OpenSSL doing the DER work.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <anvil/err.h>
#include <anvil/x509.h>

#include "internal.h"

#define PEM_BEGIN "-----BEGIN "
#define PEM_CERT  "-----BEGIN CERTIFICATE-----"
#define PEM_MAX   (1024 * 1024)

STACK_OF(X509) * acme_x509_parse_chain(const char *pem, size_t len,
		     struct acme_problem *prob)
{
	STACK_OF(X509) *chain = NULL;
	const char *p = pem, *end = pem + len;
	BIO *b = NULL;

	if (len == 0 || len > PEM_MAX || len > INT32_MAX) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "certificate chain is empty or too large");
		return NULL;
	}
	if ((chain = sk_X509_new_null()) == NULL)
		goto nomem;
	/* Walk the blocks ourselves so a bad block cannot be skipped. */
	for (;;) {
		const char *blk = NULL, *q;
		X509 *cert;

		for (q = p; q + sizeof(PEM_BEGIN) - 1 <= end; q++)
			if (memcmp(q, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) == 0) {
				blk = q;
				break;
			}
		if (blk == NULL)
			break;
		if ((size_t)(end - blk) < sizeof(PEM_CERT) - 1 ||
		    memcmp(blk, PEM_CERT, sizeof(PEM_CERT) - 1) != 0) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "chain contains a PEM block that is not a "
			    "certificate");
			goto fail;
		}
		if (sk_X509_num(chain) >= ACME_X509_MAX_CHAIN) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "chain has more than %d certificates",
			    ACME_X509_MAX_CHAIN);
			goto fail;
		}
		BIO_free(b);
		if ((b = BIO_new_mem_buf(blk, (int)(end - blk))) == NULL)
			goto nomem;
		cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
		if (cert == NULL) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "certificate %d of the chain does not parse",
			    sk_X509_num(chain) + 1);
			goto fail;
		}
		if (!sk_X509_push(chain, cert)) {
			X509_free(cert);
			goto nomem;
		}
		/* Continue after what the PEM reader consumed. */
		p = end - BIO_pending(b);
	}
	if (sk_X509_num(chain) == 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "no certificate in the chain");
		goto fail;
	}
	BIO_free(b);
	ERR_clear_error();
	return chain;
nomem:
	acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL, "out of memory");
fail:
	BIO_free(b);
	sk_X509_pop_free(chain, X509_free);
	ERR_clear_error();
	return NULL;
}

X509 *
acme_x509_parse_one(const char *data, size_t len, struct acme_problem *prob)
{
	const unsigned char *p = (const unsigned char *)data;
	STACK_OF(X509) * chain;
	X509 *cert;

	size_t skip = 0;

	/* PEM starts with its BEGIN line (after any whitespace); a '-' byte
	 * elsewhere is just DER content, e.g. in a serial number. */
	while (skip < len && (data[skip] == ' ' || data[skip] == '\t' ||
				 data[skip] == '\r' || data[skip] == '\n'))
		skip++;
	if (len - skip >= sizeof(PEM_BEGIN) - 1 &&
	    memcmp(data + skip, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) == 0) {
		chain = acme_x509_parse_chain(data, len, prob);
		if (chain == NULL)
			return NULL;
		if (sk_X509_num(chain) != 1) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "expected exactly one certificate");
			sk_X509_pop_free(chain, X509_free);
			return NULL;
		}
		cert = sk_X509_shift(chain);
		sk_X509_free(chain);
		return cert;
	}
	if (len == 0 || len > PEM_MAX) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "certificate is empty or too large");
		return NULL;
	}
	cert = d2i_X509(NULL, &p, (long)len);
	if (cert == NULL || p != (const unsigned char *)data + len) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "not a DER certificate");
		X509_free(cert);
		ERR_clear_error();
		return NULL;
	}
	return cert;
}

int
acme_x509_sans(X509 *cert, struct acme_ident **ids, size_t *n)
{
	GENERAL_NAMES *gens;
	struct acme_ident *out = NULL;
	size_t cnt = 0;
	int i, rc = 0;

	*ids = NULL;
	*n = 0;
	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (gens == NULL)
		return 0;
	if (sk_GENERAL_NAME_num(gens) > 0 &&
	    (out = calloc((size_t)sk_GENERAL_NAME_num(gens), sizeof(*out))) ==
		NULL) {
		rc = ACME_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);
		int type;
		const ASN1_STRING *s = GENERAL_NAME_get0_value(gn, &type);
		char buf[ACME_IDENT_MAX + 1];
		int len = ASN1_STRING_length(s);

		if (type == GEN_DNS && len > 0 && len <= ACME_IDENT_MAX) {
			memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
			buf[len] = '\0';
			if (acme_ident_set(&out[cnt], "dns", buf) == 0)
				cnt++;
		} else if (type == GEN_IPADD && (len == 4 || len == 16) &&
			   inet_ntop(len == 4 ? AF_INET : AF_INET6,
			       ASN1_STRING_get0_data(s), buf,
			       sizeof(buf)) != NULL &&
			   acme_ident_set(&out[cnt], "ip", buf) == 0)
			cnt++;
	}
	if (cnt == 0) {
		free(out);
		out = NULL;
	}
	*ids = out;
	*n = cnt;
	out = NULL;
out:
	free(out);
	GENERAL_NAMES_free(gens);
	return rc;
}

int
acme_x509_serial_hex(X509 *cert, char *out, size_t outsz)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = NULL, *h;
	int rc = ACME_ERR_LIMIT;
	size_t i;

	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL)
		goto out;
	h = hex;
	if (*h == '-')
		h++;
	while (h[0] == '0' && h[1] != '\0')
		h++;
	if (strlen(h) + 1 > outsz)
		goto out;
	for (i = 0; h[i] != '\0'; i++)
		out[i] = (char)(h[i] >= 'A' && h[i] <= 'F' ? h[i] - 'A' + 'a' :
							     h[i]);
	out[i] = '\0';
	rc = 0;
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

static int
copy_octets(const ASN1_OCTET_STRING *s, unsigned char *out, size_t outsz,
    size_t *len)
{
	size_t n;

	if (s == NULL)
		return ACME_ERR_NOTFOUND;
	n = (size_t)ASN1_STRING_length(s);
	if (n > outsz)
		return ACME_ERR_LIMIT;
	memcpy(out, ASN1_STRING_get0_data(s), n);
	*len = n;
	return 0;
}

int
acme_x509_aki(X509 *cert, unsigned char *out, size_t outsz, size_t *len)
{
	return copy_octets(X509_get0_authority_key_id(cert), out, outsz, len);
}

int
acme_x509_ski(X509 *cert, unsigned char *out, size_t outsz, size_t *len)
{
	return copy_octets(X509_get0_subject_key_id(cert), out, outsz, len);
}

static int
asn1_to_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return ACME_ERR_INVAL;
	*out = timegm(&tm);
	return 0;
}

int
acme_x509_validity(X509 *cert, time_t *not_before, time_t *not_after)
{
	if (asn1_to_time(X509_get0_notBefore(cert), not_before) != 0 ||
	    asn1_to_time(X509_get0_notAfter(cert), not_after) != 0)
		return ACME_ERR_INVAL;
	return 0;
}

char *
acme_x509_to_pem(X509 *cert, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *out = NULL;
	long n;

	if (b != NULL && PEM_write_bio_X509(b, cert)) {
		n = BIO_get_mem_data(b, &data);
		if (n >= 0 && (out = malloc((size_t)n + 1)) != NULL) {
			memcpy(out, data, (size_t)n);
			out[n] = '\0';
			if (len != NULL)
				*len = (size_t)n;
		}
	}
	BIO_free(b);
	return out;
}

GENERAL_NAMES *
acme_x509_general_names(const struct acme_ident *ids, size_t n)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	size_t i;

	if (gens == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		GENERAL_NAME *gn = GENERAL_NAME_new();
		unsigned char a[16];
		int alen = 0;

		if (gn == NULL)
			goto fail;
		if (ids[i].type == ACME_IDENT_DNS) {
			ASN1_IA5STRING *s = ASN1_IA5STRING_new();

			if (s == NULL ||
			    !ASN1_STRING_set(s, ids[i].value, -1)) {
				ASN1_IA5STRING_free(s);
				GENERAL_NAME_free(gn);
				goto fail;
			}
			GENERAL_NAME_set0_value(gn, GEN_DNS, s);
		} else {
			ASN1_OCTET_STRING *o = ASN1_OCTET_STRING_new();

			if (inet_pton(AF_INET, ids[i].value, a) == 1)
				alen = 4;
			else if (inet_pton(AF_INET6, ids[i].value, a) == 1)
				alen = 16;
			if (o == NULL || alen == 0 ||
			    !ASN1_OCTET_STRING_set(o, a, alen)) {
				ASN1_OCTET_STRING_free(o);
				GENERAL_NAME_free(gn);
				goto fail;
			}
			GENERAL_NAME_set0_value(gn, GEN_IPADD, o);
		}
		if (!sk_GENERAL_NAME_push(gens, gn)) {
			GENERAL_NAME_free(gn);
			goto fail;
		}
	}
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	return NULL;
}

int
acme_x509_set_spki(X509_PUBKEY *dst, const X509_ALGOR *alg,
    const unsigned char *bits, int len)
{
	ASN1_OBJECT *aobj_copy = NULL;
	const ASN1_OBJECT *aobj;
	unsigned char *penc = NULL;
	const void *pval =
	    NULL; /* X509_ALGOR_get0 leaves it without a parameter */
	void *pcopy = NULL;
	int ptype;

	if (len <= 0)
		return 0;
	X509_ALGOR_get0(&aobj, &ptype, &pval, alg);
	if (ptype == V_ASN1_OBJECT)
		pcopy = OBJ_dup(pval);
	else if (ptype == V_ASN1_SEQUENCE)
		pcopy = ASN1_STRING_dup(pval);
	else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
		return 0;
	if ((aobj_copy = OBJ_dup(aobj)) == NULL ||
	    ((ptype == V_ASN1_OBJECT || ptype == V_ASN1_SEQUENCE) &&
		pcopy == NULL) ||
	    (penc = OPENSSL_memdup(bits, (size_t)len)) == NULL ||
	    !X509_PUBKEY_set0_param(dst, aobj_copy, ptype, pcopy, penc, len)) {
		ASN1_OBJECT_free(aobj_copy);
		if (ptype == V_ASN1_OBJECT)
			ASN1_OBJECT_free(pcopy);
		else
			ASN1_STRING_free(pcopy);
		OPENSSL_free(penc);
		return 0;
	}
	return 1;
}
