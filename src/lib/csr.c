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

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <anvil/b64url.h>
#include <anvil/csr.h>
#include <anvil/err.h>
#include <anvil/x509.h>

#include "internal.h"

/*
 * A DER header (tag and definite length len) at p, or only its size when
 * p is NULL.  Returns the bytes it takes.
 */
static size_t
der_put_hdr(unsigned char *p, unsigned char tag, size_t len)
{
	size_t k = 0, i, v;

	if (len < 0x80) {
		if (p != NULL) {
			p[0] = tag;
			p[1] = (unsigned char)len;
		}
		return 2;
	}
	for (v = len; v != 0; v >>= 8)
		k++;
	if (p != NULL) {
		p[0] = tag;
		p[1] = (unsigned char)(0x80 | k);
		for (i = 0; i < k; i++)
			p[2 + i] = (unsigned char)(len >> (8 * (k - 1 - i)));
	}
	return 2 + k;
}

/* Content bytes of b as a DER INTEGER (b >= 0): a 0 before a high bit. */
static size_t
der_int_len(const BIGNUM *b)
{
	return (size_t)BN_num_bytes(b) + (BN_num_bits(b) % 8 == 0 ? 1 : 0);
}

/* Writes b as a DER INTEGER at p; returns the bytes written. */
static size_t
der_put_int(unsigned char *p, const BIGNUM *b)
{
	size_t clen = der_int_len(b), h = der_put_hdr(p, 0x02, clen);
	size_t nb = (size_t)BN_num_bytes(b);

	memset(p + h, 0, clen - nb);
	BN_bn2binpad(b, p + h + clen - nb, (int)nb);
	return h + clen;
}

/*
 * The RSAPublicKey SEQUENCE { n, e } of an RSA key in DER; *len its
 * size.  Returns OPENSSL_malloc'ed memory or NULL.
 */
static unsigned char *
rsa_pub_der(EVP_PKEY *key, size_t *len)
{
	BIGNUM *n = NULL, *e = NULL;
	unsigned char *der = NULL;
	size_t body, off;

	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e))
		goto out;
	body = der_put_hdr(NULL, 0x02, der_int_len(n)) + der_int_len(n) +
	       der_put_hdr(NULL, 0x02, der_int_len(e)) + der_int_len(e);
	*len = der_put_hdr(NULL, 0x30, body) + body;
	if ((der = OPENSSL_malloc(*len)) == NULL)
		goto out;
	off = der_put_hdr(der, 0x30, body);
	off += der_put_int(der + off, n);
	der_put_int(der + off, e);
out:
	BN_free(n);
	BN_free(e);
	return der;
}

/*
 * The uncompressed point 04||x||y of an EC key on a named curve and that
 * curve's nid.  Returns OPENSSL_malloc'ed memory or NULL.
 */
static unsigned char *
ec_point_der(EVP_PKEY *key, int *curve, size_t *len)
{
	BIGNUM *x = NULL, *y = NULL;
	unsigned char *pt = NULL;
	char group[64];
	size_t flen = (size_t)(EVP_PKEY_get_bits(key) + 7) / 8;

	if (!EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME,
		group, sizeof(group), NULL) ||
	    ((*curve = OBJ_sn2nid(group)) == NID_undef &&
		(*curve = EC_curve_nist2nid(group)) == NID_undef) ||
	    flen == 0 ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &x) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &y) ||
	    (pt = OPENSSL_malloc(1 + 2 * flen)) == NULL)
		goto out;
	pt[0] = 0x04;
	if (BN_bn2binpad(x, pt + 1, (int)flen) < 0 ||
	    BN_bn2binpad(y, pt + 1 + flen, (int)flen) < 0) {
		OPENSSL_free(pt);
		pt = NULL;
		goto out;
	}
	*len = 1 + 2 * flen;
out:
	BN_free(x);
	BN_free(y);
	return pt;
}

/*
 * Sets pub to key's SubjectPublicKeyInfo in its one DER form (D58): EC
 * with the namedCurve and the uncompressed point, RSA with NULL
 * parameters, Ed25519 without.  Made from the key's numbers, without
 * OpenSSL 3.0's encoder (D35).  Returns 1, 0 on failure, -1 for another
 * kind of key.
 */
static int
spki_fill(X509_PUBKEY *pub, EVP_PKEY *key)
{
	unsigned char *penc = NULL;
	size_t len = 0;
	int curve = NID_undef, ok;

	if (EVP_PKEY_is_a(key, "EC")) {
		if ((penc = ec_point_der(key, &curve, &len)) == NULL)
			return 0;
		ok = X509_PUBKEY_set0_param(pub,
		    OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
		    OBJ_nid2obj(curve), penc, (int)len);
	} else if (EVP_PKEY_is_a(key, "RSA")) {
		if ((penc = rsa_pub_der(key, &len)) == NULL)
			return 0;
		ok = X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_rsaEncryption),
		    V_ASN1_NULL, NULL, penc, (int)len);
	} else if (EVP_PKEY_is_a(key, "ED25519")) {
		len = 32;
		if ((penc = OPENSSL_malloc(len)) == NULL ||
		    !EVP_PKEY_get_raw_public_key(key, penc, &len) ||
		    len != 32) {
			OPENSSL_free(penc);
			return 0;
		}
		ok = X509_PUBKEY_set0_param(pub, OBJ_nid2obj(NID_ED25519),
		    V_ASN1_UNDEF, NULL, penc, 32);
	} else
		return -1;
	if (!ok)
		OPENSSL_free(penc);
	return ok ? 1 : 0;
}

X509_PUBKEY *
acme_csr_spki(EVP_PKEY *key)
{
	X509_PUBKEY *pub = key != NULL ? X509_PUBKEY_new() : NULL;

	if (pub != NULL && spki_fill(pub, key) != 1) {
		X509_PUBKEY_free(pub);
		pub = NULL;
	}
	ERR_clear_error();
	return pub;
}

/*
 * Sets req's SubjectPublicKeyInfo from an EC or Ed25519 key's numbers
 * (spki_fill).  X509_REQ_set_pubkey() encodes the key with OpenSSL 3.0's
 * encoder and decodes the result again, which cost more than signing the
 * request; RSA keys still go that way, so that the request keeps the key
 * for X509_REQ_get0_pubkey().  Returns 1 or 0.
 */
static int
set_spki(X509_REQ *req, EVP_PKEY *key)
{
	int rc = 0;

	if (EVP_PKEY_is_a(key, "RSA") ||
	    (rc = spki_fill(X509_REQ_get_X509_PUBKEY(req), key)) < 0)
		return X509_REQ_set_pubkey(req, key);
	return rc;
}

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
	if (!X509_REQ_add_extensions(req, exts) || !set_spki(req, key))
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

/* The identifiers of a request's subject and extensions (borrowed). */
static int
idents_of(const X509_NAME *subj, const STACK_OF(X509_EXTENSION) * exts,
    struct acme_ident **out, size_t *nout, struct acme_problem *prob)
{
	GENERAL_NAMES *gens = NULL;
	struct acme_ident *ids = NULL, id;
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
	ERR_clear_error();
	return rc;
}

int
acme_csr_identifiers(X509_REQ *req, struct acme_ident **out, size_t *nout,
    struct acme_problem *prob)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	int rc =
	    idents_of(X509_REQ_get_subject_name(req), exts, out, nout, prob);

	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
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

/* --- the CA's reader (acme_csr_read) --- */

/* A span of DER being walked. */
struct der {
	const unsigned char *p, *end;
};

/*
 * Takes the next element of d if its tag is tag: *val is its contents,
 * *tlv (when not NULL) the whole element.  Only DER's definite, minimal
 * lengths are read; anything else is -1, and so is a different tag.
 */
static int
der_take(struct der *d, unsigned char tag, struct der *val, struct der *tlv)
{
	const unsigned char *p = d->p;
	size_t len, n, i;

	if (d->end - p < 2 || p[0] != tag)
		return -1;
	len = p[1];
	p += 2;
	if (len & 0x80) {
		n = len & 0x7f;
		/* 1-3 length octets (ACME_CSR_MAX_DER fits), no leading 0. */
		if (n == 0 || n > 3 || (size_t)(d->end - p) < n || p[0] == 0)
			return -1;
		for (len = 0, i = 0; i < n; i++)
			len = len << 8 | p[i];
		p += n;
		if (len < 0x80 || (n > 1 && len < (size_t)1 << (8 * (n - 1))))
			return -1;
	}
	if ((size_t)(d->end - p) < len)
		return -1;
	if (tlv != NULL) {
		tlv->p = d->p;
		tlv->end = p + len;
	}
	val->p = p;
	val->end = p + len;
	d->p = p + len;
	return 0;
}

#define DER_LEN(d) ((size_t)((d).end - (d).p))

/* The BIT STRING's bits when it has no unused bits, else -1. */
static int
der_bits(struct der *d, struct der *bits)
{
	if (der_take(d, 0x03, bits, NULL) != 0 || DER_LEN(*bits) < 2 ||
	    bits->p[0] != 0)
		return -1;
	bits->p++;
	return 0;
}

/* An AlgorithmIdentifier as OpenSSL's X509_ALGOR, or NULL. */
static X509_ALGOR *
der_algor(struct der *d)
{
	struct der v, tlv;
	const unsigned char *p;

	if (der_take(d, 0x30, &v, &tlv) != 0)
		return NULL;
	p = tlv.p;
	return d2i_X509_ALGOR(NULL, &p, (long)DER_LEN(tlv));
}

/* The nid of alg's OID, and its parameter type (V_ASN1_UNDEF if none). */
static int
algor_nid(const X509_ALGOR *alg, int *ptype, const void **pval)
{
	const ASN1_OBJECT *obj;

	X509_ALGOR_get0(&obj, ptype, pval, alg);
	return OBJ_obj2nid(obj);
}

/* An unsigned big-endian INTEGER of RSAPublicKey as a BIGNUM, or NULL. */
static BIGNUM *
der_uint(struct der *d)
{
	struct der v;

	if (der_take(d, 0x02, &v, NULL) != 0 || DER_LEN(v) == 0 ||
	    (v.p[0] & 0x80) != 0 ||
	    (DER_LEN(v) > 1 && v.p[0] == 0 && (v.p[1] & 0x80) == 0) ||
	    DER_LEN(v) > 16384 / 8 + 1)
		return NULL;
	return BN_bin2bn(v.p, (int)DER_LEN(v), NULL);
}

/*
 * The key of an EC (named P-256, P-384 or P-521), RSA or Ed25519
 * SubjectPublicKeyInfo without OpenSSL 3.0's decoders, which cost more
 * than the rest of finalize (D32); *kind is 'e', 'r' or 'd'.  NULL when
 * the key is of another kind or the fast reader cannot tell.
 */
static EVP_PKEY *
spki_key(int nid, int ptype, const void *pval, struct der bits, int *kind)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY *key = NULL;
	struct der seq;
	const char *group;
	int curve;

	if (nid == NID_X9_62_id_ecPublicKey && ptype == V_ASN1_OBJECT) {
		curve = OBJ_obj2nid(pval);
		group = curve == NID_X9_62_prime256v1 ? "prime256v1" :
			curve == NID_secp384r1        ? "secp384r1" :
			curve == NID_secp521r1        ? "secp521r1" :
							NULL;
		*kind = 'e';
		if (group != NULL && (bld = OSSL_PARAM_BLD_new()) != NULL &&
		    OSSL_PARAM_BLD_push_utf8_string(bld,
			OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
		    OSSL_PARAM_BLD_push_octet_string(bld,
			OSSL_PKEY_PARAM_PUB_KEY, bits.p, DER_LEN(bits)))
			key = acme_pkey_fromdata("EC", bld);
	} else if (nid == NID_rsaEncryption && ptype == V_ASN1_NULL) {
		*kind = 'r';
		if (der_take(&bits, 0x30, &seq, NULL) == 0 &&
		    bits.p == bits.end && (n = der_uint(&seq)) != NULL &&
		    (e = der_uint(&seq)) != NULL && seq.p == seq.end &&
		    (bld = OSSL_PARAM_BLD_new()) != NULL &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
			key = acme_pkey_fromdata("RSA", bld);
	} else if (nid == NID_ED25519 && ptype == V_ASN1_UNDEF &&
		   DER_LEN(bits) == 32) {
		*kind = 'd';
		key = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL,
		    bits.p, 32);
	}
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return key;
}

/* The digest a signature algorithm uses with a key of kind, or NULL. */
static const char *
sig_digest(int nid, int ptype, int kind, int *ok)
{
	*ok = 1;
	switch (nid) {
	case NID_ecdsa_with_SHA256:
	case NID_ecdsa_with_SHA384:
	case NID_ecdsa_with_SHA512:
		*ok = kind == 'e' && ptype == V_ASN1_UNDEF;
		return nid == NID_ecdsa_with_SHA256 ? "SHA256" :
		       nid == NID_ecdsa_with_SHA384 ? "SHA384" :
						      "SHA512";
	case NID_sha256WithRSAEncryption:
	case NID_sha384WithRSAEncryption:
	case NID_sha512WithRSAEncryption:
		*ok = kind == 'r' &&
		      (ptype == V_ASN1_NULL || ptype == V_ASN1_UNDEF);
		return nid == NID_sha256WithRSAEncryption ? "SHA256" :
		       nid == NID_sha384WithRSAEncryption ? "SHA384" :
							    "SHA512";
	case NID_ED25519:
		*ok = kind == 'd' && ptype == V_ASN1_UNDEF;
		return NULL;
	default:
		*ok = 0;
		return NULL;
	}
}

/*
 * Whether the SubjectPublicKeyInfo as sent (alg, bits) is canon, the
 * key's one DER form (D58).
 */
static int
spki_same(const X509_PUBKEY *canon, const X509_ALGOR *alg,
    const unsigned char *bits, size_t len)
{
	const unsigned char *cb;
	X509_ALGOR *calg;
	int clen;

	return X509_PUBKEY_get0_param(NULL, &cb, &clen, &calg, canon) &&
	       X509_ALGOR_cmp(alg, calg) == 0 && (size_t)clen == len &&
	       memcmp(cb, bits, len) == 0;
}

/*
 * Reads the common shapes of CSR: version 0, a subject, an EC, RSA or
 * Ed25519 key, no attribute but one extensionRequest, an ECDSA,
 * PKCS#1 v1.5 or Ed25519 signature, all in DER.  Returns 1 with c, *subj
 * and *exts filled when the CSR is of that shape and its signature
 * verifies; 0 when it is not of that shape or does not verify, and then
 * OpenSSL's full parser decides (it also names what is wrong).
 */
ACME_TESTABLE int acme_csr_read_fast(const unsigned char *der, size_t len,
    struct acme_csr *c, X509_NAME **subj, STACK_OF(X509_EXTENSION) * *exts);

ACME_TESTABLE int
acme_csr_read_fast(const unsigned char *der, size_t len, struct acme_csr *c,
    X509_NAME **subj, STACK_OF(X509_EXTENSION) * *exts)
{
	struct der top = { der, der + len }, req, info, cri, v, name, spki,
		   keybits, attrs, attr, vals, extseq, sig;
	X509_ALGOR *kalg = NULL, *salg = NULL;
	EVP_MD_CTX *md = NULL;
	const unsigned char *p;
	const void *kval, *sval;
	const char *digest;
	int knid, snid, kptype, sptype, kind = 0, ok = 0, sigok;

	if (der_take(&top, 0x30, &req, NULL) != 0 || top.p != top.end ||
	    der_take(&req, 0x30, &info, &cri) != 0 ||
	    der_take(&info, 0x02, &v, NULL) != 0 || DER_LEN(v) != 1 ||
	    v.p[0] != 0 || der_take(&info, 0x30, &v, &name) != 0 ||
	    der_take(&info, 0x30, &spki, NULL) != 0 ||
	    (kalg = der_algor(&spki)) == NULL ||
	    der_bits(&spki, &keybits) != 0 || spki.p != spki.end)
		goto out;
	/* attributes [0] IMPLICIT SET: at most one, an extensionRequest. */
	if (der_take(&info, 0xa0, &attrs, NULL) != 0 || info.p != info.end)
		goto out;
	if (attrs.p != attrs.end) {
		static const unsigned char ext_req[] = { 0x2a, 0x86, 0x48, 0x86,
			0xf7, 0x0d, 0x01, 0x09, 0x0e };
		struct der oid;

		if (der_take(&attrs, 0x30, &attr, NULL) != 0 ||
		    attrs.p != attrs.end ||
		    der_take(&attr, 0x06, &oid, NULL) != 0 ||
		    DER_LEN(oid) != sizeof(ext_req) ||
		    memcmp(oid.p, ext_req, sizeof(ext_req)) != 0 ||
		    der_take(&attr, 0x31, &vals, NULL) != 0 ||
		    attr.p != attr.end ||
		    der_take(&vals, 0x30, &v, &extseq) != 0 ||
		    vals.p != vals.end)
			goto out;
		p = extseq.p;
		if ((*exts = d2i_X509_EXTENSIONS(NULL, &p,
			 (long)DER_LEN(extseq))) == NULL ||
		    p != extseq.end)
			goto out;
	}
	if ((salg = der_algor(&req)) == NULL || der_bits(&req, &sig) != 0 ||
	    req.p != req.end)
		goto out;
	knid = algor_nid(kalg, &kptype, &kval);
	snid = algor_nid(salg, &sptype, &sval);
	if ((c->key = spki_key(knid, kptype, kval, keybits, &kind)) == NULL)
		goto out;
	digest = sig_digest(snid, sptype, kind, &sigok);
	if (!sigok || (md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(md, NULL, digest, NULL, NULL, c->key,
		NULL) != 1 ||
	    EVP_DigestVerify(md, sig.p, DER_LEN(sig), cri.p, DER_LEN(cri)) != 1)
		goto out;
	p = name.p;
	if ((*subj = d2i_X509_NAME(NULL, &p, (long)DER_LEN(name))) == NULL ||
	    p != name.end || (c->spki = acme_csr_spki(c->key)) == NULL ||
	    !spki_same(c->spki, kalg, keybits.p, DER_LEN(keybits)))
		goto out;
	ok = 1;
out:
	EVP_MD_CTX_free(md);
	X509_ALGOR_free(kalg);
	X509_ALGOR_free(salg);
	ERR_clear_error();
	return ok;
}

/*
 * The certificate's SubjectPublicKeyInfo for a request OpenSSL's parser
 * read: the key's one DER form, which must be what the request holds
 * (D58: no explicit curve parameters, compressed points or RSA without
 * NULL parameters).  Returns 0 with *out new, or badCSR.
 */
static int
spki_canonical(X509_REQ *req, X509_PUBKEY **out, struct acme_problem *prob)
{
	X509_PUBKEY *sent = X509_REQ_get_X509_PUBKEY(req);
	const unsigned char *bits;
	X509_ALGOR *alg;
	int len;

	if ((*out = acme_csr_spki(X509_REQ_get0_pubkey(req))) == NULL)
		return acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR key is not of a type this CA certifies");
	if (!X509_PUBKEY_get0_param(NULL, &bits, &len, &alg, sent) || len < 0 ||
	    !spki_same(*out, alg, bits, (size_t)len))
		return acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR public key is not in its DER form (EC keys must "
		    "name their curve and send the point uncompressed, RSA "
		    "keys need NULL parameters)");
	return 0;
}

int
acme_csr_read(const char *b64, struct acme_csr *c, struct acme_problem *prob)
{
	unsigned char *der = NULL;
	size_t len = 0;
	X509_REQ *req = NULL;
	X509_NAME *subj = NULL;
	STACK_OF(X509_EXTENSION) *exts = NULL;
	int rc = ACME_ERR_INVAL;

	memset(c, 0, sizeof(*c));
	if (b64 == NULL ||
	    acme_b64url_decode(b64, strlen(b64), &der, &len) != 0)
		return acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR is not unpadded base64url");
	if (len == 0 || len > ACME_CSR_MAX_DER) {
		acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR must be 1 to %d bytes of DER", ACME_CSR_MAX_DER);
		goto out;
	}
	if (!acme_csr_read_fast(der, len, c, &subj, &exts)) {
		/* Not the common shape: OpenSSL's parser decides. */
		acme_csr_release(c);
		X509_NAME_free(subj);
		subj = NULL;
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		exts = NULL;
		if ((req = acme_csr_parse_der(der, len, prob)) == NULL)
			goto out;
		if ((c->key = X509_REQ_get_pubkey(req)) == NULL ||
		    (subj = X509_NAME_dup(X509_REQ_get_subject_name(req))) ==
			NULL) {
			rc = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "out of memory");
			goto out;
		}
		if (spki_canonical(req, &c->spki, prob) != 0)
			goto out;
		exts = X509_REQ_get_extensions(req);
	}
	rc = idents_of(subj, exts, &c->ids, &c->nids, prob);
out:
	if (rc != 0)
		acme_csr_release(c);
	X509_REQ_free(req);
	X509_NAME_free(subj);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	free(der);
	ERR_clear_error();
	return rc;
}

void
acme_csr_release(struct acme_csr *c)
{
	if (c == NULL)
		return;
	EVP_PKEY_free(c->key);
	X509_PUBKEY_free(c->spki);
	free(c->ids);
	memset(c, 0, sizeof(*c));
}
