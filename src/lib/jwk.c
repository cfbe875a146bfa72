/* SPDX-License-Identifier: ISC */
/*
 * JSON Web Keys for public keys and RFC 7638 thumbprints (see
 * include/anvil/jwk.h).  Import is the security-relevant half: it
 * accepts only public keys of the supported types and sizes, with
 * members of exactly the right length, and refuses anything private.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/key.h>

#include "internal.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192

/* Members that only a private or symmetric key has (RFC 7518 6.3.2, 6.4). */
static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi",
	"oth", "k" };

/* Sets obj[name] to the base64url encoding of p.  Returns 0 or -1. */
static int
set_b64(json_t *obj, const char *name, const unsigned char *p, size_t n)
{
	char *s = acme_b64url_encode(p, n);
	int rc;

	if (s == NULL)
		return -1;
	rc = json_object_set_new(obj, name, json_string(s));
	free(s);
	return rc;
}

/*
 * Sets obj[name] to key's BIGNUM parameter param as unsigned big-endian
 * bytes without leading zeros (RFC 7518 6.3.1).  Returns 0 or -1.
 */
static int
set_bn(json_t *obj, const char *name, EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char *buf = NULL;
	int n, rc = -1;

	if (EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		goto out;
	n = BN_num_bytes(bn);
	if ((buf = malloc((size_t)(n > 0 ? n : 1))) == NULL)
		goto out;
	BN_bn2bin(bn, buf);
	rc = set_b64(obj, name, buf, (size_t)n);
out:
	free(buf);
	BN_free(bn);
	return rc;
}

/*
 * Sets obj[name] to an EC coordinate left-padded to exactly flen bytes
 * (RFC 7518 6.2.1.2), so a coordinate with leading zero bytes keeps its
 * full length.  Returns 0 or -1.
 */
static int
set_coord(json_t *obj, const char *name, EVP_PKEY *key, const char *param,
    int flen)
{
	BIGNUM *bn = NULL;
	unsigned char buf[66];
	int rc = -1;

	if (flen > (int)sizeof(buf) ||
	    EVP_PKEY_get_bn_param(key, param, &bn) != 1)
		goto out;
	if (BN_bn2binpad(bn, buf, flen) != flen)
		goto out;
	rc = set_b64(obj, name, buf, (size_t)flen);
out:
	BN_free(bn);
	return rc;
}

json_t *
acme_jwk_from_key(EVP_PKEY *key, struct acme_problem *prob)
{
	enum acme_key_type type = ACME_KEY_UNKNOWN;
	enum acme_key_family fam = ACME_KEYFAM_UNKNOWN;
	json_t *jwk = json_object();
	int ok = 0;

	if (jwk == NULL || acme_key_info(key, &type, &fam, NULL) != 0)
		goto out;
	switch (fam) {
	case ACME_KEYFAM_RSA:
		ok = json_object_set_new(jwk, "kty", json_string("RSA")) == 0 &&
		     set_bn(jwk, "n", key, OSSL_PKEY_PARAM_RSA_N) == 0 &&
		     set_bn(jwk, "e", key, OSSL_PKEY_PARAM_RSA_E) == 0;
		break;
	case ACME_KEYFAM_EC: {
		int flen = type == ACME_KEY_EC256 ? 32 :
			   type == ACME_KEY_EC384 ? 48 :
						    66;

		if (type != ACME_KEY_EC256 && type != ACME_KEY_EC384 &&
		    type != ACME_KEY_EC521)
			break;
		ok = json_object_set_new(jwk, "kty", json_string("EC")) == 0 &&
		     json_object_set_new(jwk, "crv",
			 json_string(flen == 32 ? "P-256" :
				     flen == 48 ? "P-384" :
						  "P-521")) == 0 &&
		     set_coord(jwk, "x", key, OSSL_PKEY_PARAM_EC_PUB_X, flen) ==
			 0 &&
		     set_coord(jwk, "y", key, OSSL_PKEY_PARAM_EC_PUB_Y, flen) ==
			 0;
		break;
	}
	case ACME_KEYFAM_ED25519: {
		unsigned char pub[32];
		size_t plen = sizeof(pub);

		ok = EVP_PKEY_get_raw_public_key(key, pub, &plen) == 1 &&
		     plen == 32 &&
		     json_object_set_new(jwk, "kty", json_string("OKP")) == 0 &&
		     json_object_set_new(jwk, "crv", json_string("Ed25519")) ==
			 0 &&
		     set_b64(jwk, "x", pub, plen) == 0;
		break;
	}
	default:
		break;
	}
out:
	if (!ok) {
		json_decref(jwk);
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "key cannot be expressed as a JWK");
		ERR_clear_error();
		return NULL;
	}
	return jwk;
}

/*
 * Decodes the base64url string member name of jwk.  Returns 0 with *out
 * (caller frees) or an error with prob set.
 */
static int
get_b64(const json_t *jwk, const char *name, unsigned char **out, size_t *len,
    struct acme_problem *prob)
{
	const char *s = NULL;
	int rc;

	*out = NULL;
	rc = acme_json_get_string(jwk, name, ACME_JSON_REQUIRED, &s, prob);
	if (rc != 0)
		return rc;
	if (*s == '\0' || acme_b64url_decode(s, strlen(s), out, len) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWK member \"%s\" is not base64url", name);
	return 0;
}

/*
 * Makes a public key of OpenSSL type name type from the parameters in
 * bld (borrowed).  OpenSSL validates them; a rejection is badPublicKey.
 * Returns a new key or NULL with prob set.
 */
static EVP_PKEY *
from_params(const char *type, OSSL_PARAM_BLD *bld, struct acme_problem *prob)
{
	EVP_PKEY *key = acme_pkey_fromdata(type, bld);

	if (key == NULL)
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "JWK does not describe a valid %s public key", type);
	return key;
}

/*
 * Builds an RSA public key from the JWK's n and e after checking them:
 * no leading zero octets (malformed), a modulus of RSA_MIN_BITS to
 * RSA_MAX_BITS that is odd, and an odd exponent from 3 to 2^32 - 1
 * (badPublicKey).  Returns a new key or NULL with prob set.
 */
static EVP_PKEY *
import_rsa(const json_t *jwk, struct acme_problem *prob)
{
	unsigned char *n = NULL, *e = NULL;
	size_t nlen = 0, elen = 0;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *key = NULL;
	int bits;

	if (get_b64(jwk, "n", &n, &nlen, prob) != 0 ||
	    get_b64(jwk, "e", &e, &elen, prob) != 0)
		goto out;
	/* RFC 7518 6.3.1: no leading zero octets. */
	if (n[0] == 0 || e[0] == 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "RSA JWK members must not have leading zero octets");
		goto out;
	}
	/* Bound the lengths before any conversion to int. */
	if (nlen > RSA_MAX_BITS / 8) {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "RSA modulus over %d bits", RSA_MAX_BITS);
		goto out;
	}
	if (elen > 4) {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "RSA public exponent over 32 bits");
		goto out;
	}
	if ((bn = BN_bin2bn(n, (int)nlen, NULL)) == NULL ||
	    (be = BN_bin2bn(e, (int)elen, NULL)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	/* No leading zeros and at most RSA_MAX_BITS / 8 bytes: not too big. */
	bits = BN_num_bits(bn);
	if (bits < RSA_MIN_BITS) {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "RSA modulus of %d bits; %d to %d are accepted", bits,
		    RSA_MIN_BITS, RSA_MAX_BITS);
		goto out;
	}
	if (!BN_is_odd(be) || BN_num_bits(be) < 2) {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "RSA public exponent must be odd and at least 3");
		goto out;
	}
	if (!BN_is_odd(bn)) {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "RSA modulus is even");
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	key = from_params("RSA", bld, prob);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return key;
}

/*
 * Builds a P-256, P-384 or P-521 public key from crv, x and y; each
 * coordinate
 * must be exactly the field length and the point must lie on the curve.
 * Returns a new key or NULL with prob set.
 */
static EVP_PKEY *
import_ec(const json_t *jwk, struct acme_problem *prob)
{
	unsigned char *x = NULL, *y = NULL, point[1 + 2 * 66];
	size_t xlen = 0, ylen = 0, flen;
	const char *crv = NULL, *group;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *key = NULL;

	if (acme_json_get_string(jwk, "crv", ACME_JSON_REQUIRED, &crv, prob) !=
	    0)
		return NULL;
	if (strcmp(crv, "P-256") == 0) {
		flen = 32;
		group = "prime256v1";
	} else if (strcmp(crv, "P-384") == 0) {
		flen = 48;
		group = "secp384r1";
	} else if (strcmp(crv, "P-521") == 0) {
		flen = 66;
		group = "secp521r1";
	} else {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "EC curve \"%.40s\" is not supported", crv);
		return NULL;
	}
	if (get_b64(jwk, "x", &x, &xlen, prob) != 0 ||
	    get_b64(jwk, "y", &y, &ylen, prob) != 0)
		goto out;
	if (xlen != flen || ylen != flen) {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "EC coordinates must be exactly %zu bytes", flen);
		goto out;
	}
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, x, flen);
	memcpy(point + 1 + flen, y, flen);
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
		point, 1 + 2 * flen)) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	/* fromdata checks that the point is on the curve. */
	key = from_params("EC", bld, prob);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return key;
}

/*
 * Builds an Ed25519 public key from crv and a 32-byte x.  Returns a new
 * key or NULL with prob set.
 */
static EVP_PKEY *
import_okp(const json_t *jwk, struct acme_problem *prob)
{
	const char *crv = NULL;
	unsigned char *x = NULL;
	size_t xlen = 0;
	EVP_PKEY *key = NULL;

	if (acme_json_get_string(jwk, "crv", ACME_JSON_REQUIRED, &crv, prob) !=
	    0)
		return NULL;
	if (strcmp(crv, "Ed25519") != 0) {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "OKP curve \"%.40s\" is not supported", crv);
		return NULL;
	}
	if (get_b64(jwk, "x", &x, &xlen, prob) != 0)
		goto out;
	if (xlen != 32) {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "Ed25519 public key must be 32 bytes");
		goto out;
	}
	key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, xlen);
	if (key == NULL)
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "invalid Ed25519 public key");
out:
	ERR_clear_error();
	free(x);
	return key;
}

EVP_PKEY *
acme_jwk_to_key(const json_t *jwk, struct acme_problem *prob)
{
	const char *kty = NULL;
	size_t i;

	if (!json_is_object(jwk)) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWK is not an object");
		return NULL;
	}
	for (i = 0; i < ACME_ARRAY_LEN(private_members); i++)
		if (json_object_get(jwk, private_members[i]) != NULL) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "JWK has private member \"%s\"; send the public "
			    "key only",
			    private_members[i]);
			return NULL;
		}
	if (acme_json_get_string(jwk, "kty", ACME_JSON_REQUIRED, &kty, prob) !=
	    0)
		return NULL;
	if (strcmp(kty, "RSA") == 0)
		return import_rsa(jwk, prob);
	if (strcmp(kty, "EC") == 0)
		return import_ec(jwk, prob);
	if (strcmp(kty, "OKP") == 0)
		return import_okp(jwk, prob);
	if (strcmp(kty, "oct") == 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "symmetric JWK is not a public key");
		return NULL;
	}
	acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
	    "JWK key type \"%.40s\" is not supported", kty);
	return NULL;
}

/*
 * RFC 7638 section 3: SHA-256 over the canonical JSON (sorted keys, no
 * whitespace) of a copy of jwk holding only its kty's required members.
 * Other members, such as alg or kid, do not change the result.  Returns
 * 0 or a negative error with prob set.
 */
static int
thumb_of(const json_t *jwk, unsigned char out[ACME_JWK_THUMBPRINT_LEN],
    struct acme_problem *prob)
{
	static const char *const rsa[] = { "e", "kty", "n", NULL };
	static const char *const ec[] = { "crv", "kty", "x", "y", NULL };
	static const char *const okp[] = { "crv", "kty", "x", NULL };
	const char *const *req;
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	json_t *min = NULL;
	char *text = NULL;
	unsigned int len = 0;
	int rc = ACME_ERR_NOMEM;
	size_t i;

	if (kty == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWK has no kty");
	req = strcmp(kty, "RSA") == 0 ? rsa :
	      strcmp(kty, "EC") == 0  ? ec :
	      strcmp(kty, "OKP") == 0 ? okp :
					NULL;
	if (req == NULL)
		return acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "JWK key type \"%.40s\" is not supported", kty);
	if ((min = json_object()) == NULL)
		goto out;
	for (i = 0; req[i] != NULL; i++) {
		json_t *v = json_object_get(jwk, req[i]);

		if (!json_is_string(v)) {
			rc = acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "JWK lacks member \"%s\"", req[i]);
			goto out;
		}
		if (json_object_set(min, req[i], v) != 0)
			goto out;
	}
	if ((text = acme_json_dump_canonical(min)) == NULL)
		goto out;
	if (EVP_Digest(text, strlen(text), out, &len, EVP_sha256(), NULL) !=
		1 ||
	    len != ACME_JWK_THUMBPRINT_LEN) {
		rc = ACME_ERR_CRYPTO;
		goto out;
	}
	rc = 0;
out:
	if (rc == ACME_ERR_NOMEM || rc == ACME_ERR_CRYPTO) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot compute the JWK thumbprint: %s", acme_strerror(rc));
		ERR_clear_error();
	}
	free(text);
	json_decref(min);
	return rc;
}

int
acme_jwk_thumbprint_json(const json_t *jwk,
    unsigned char out[ACME_JWK_THUMBPRINT_LEN], struct acme_problem *prob)
{
	return thumb_of(jwk, out, prob);
}

int
acme_jwk_thumbprint(EVP_PKEY *key, unsigned char out[ACME_JWK_THUMBPRINT_LEN],
    struct acme_problem *prob)
{
	json_t *jwk = acme_jwk_from_key(key, prob);
	int rc;

	if (jwk == NULL)
		return ACME_ERR_INVAL;
	rc = thumb_of(jwk, out, prob);
	json_decref(jwk);
	return rc;
}

char *
acme_jwk_thumbprint_b64(EVP_PKEY *key, struct acme_problem *prob)
{
	unsigned char tp[ACME_JWK_THUMBPRINT_LEN];

	if (acme_jwk_thumbprint(key, tp, prob) != 0)
		return NULL;
	return acme_b64url_encode(tp, sizeof(tp));
}

const char *
acme_jwk_alg_for_key(EVP_PKEY *key)
{
	enum acme_key_type type = ACME_KEY_UNKNOWN;
	enum acme_key_family fam = ACME_KEYFAM_UNKNOWN;

	if (acme_key_info(key, &type, &fam, NULL) != 0)
		return NULL;
	switch (fam) {
	case ACME_KEYFAM_RSA:
		return "RS256";
	case ACME_KEYFAM_EC:
		return type == ACME_KEY_EC256 ? "ES256" :
		       type == ACME_KEY_EC384 ? "ES384" :
		       type == ACME_KEY_EC521 ? "ES512" :
						NULL;
	case ACME_KEYFAM_ED25519:
		return "EdDSA";
	default:
		return NULL;
	}
}
