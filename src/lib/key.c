/* SPDX-License-Identifier: ISC */
/*
 * Private keys (see include/anvil/key.h): generation, PEM load/save and
 * classification, on OpenSSL 3's EVP interface only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/key.h>

#include "internal.h"

#define KEY_FILE_MAX (64 * 1024)

static const struct {
	enum acme_key_type type;
	const char *name;
} names[] = {
	{ ACME_KEY_RSA2048, "rsa2048" },
	{ ACME_KEY_RSA3072, "rsa3072" },
	{ ACME_KEY_RSA4096, "rsa4096" },
	{ ACME_KEY_EC256, "ec256" },
	{ ACME_KEY_EC384, "ec384" },
	{ ACME_KEY_ED25519, "ed25519" },
	{ ACME_KEY_EC521, "ec521" },
};

const char *
acme_key_type_name(enum acme_key_type type)
{
	size_t i;

	for (i = 0; i < ACME_ARRAY_LEN(names); i++)
		if (names[i].type == type)
			return names[i].name;
	return "unknown";
}

enum acme_key_type
acme_key_type_from_name(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < ACME_ARRAY_LEN(names); i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].type;
	return ACME_KEY_UNKNOWN;
}

/* The reason of OpenSSL's newest error, for problem details. */
static const char *
ossl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : "unknown error";
}

EVP_PKEY *
acme_key_generate(enum acme_key_type type, struct acme_problem *prob)
{
	EVP_PKEY *key = NULL;

	switch (type) {
	case ACME_KEY_RSA2048:
		key = EVP_RSA_gen(2048);
		break;
	case ACME_KEY_RSA3072:
		key = EVP_RSA_gen(3072);
		break;
	case ACME_KEY_RSA4096:
		key = EVP_RSA_gen(4096);
		break;
	case ACME_KEY_EC256:
		key = EVP_EC_gen("P-256");
		break;
	case ACME_KEY_EC384:
		key = EVP_EC_gen("P-384");
		break;
	case ACME_KEY_EC521:
		key = EVP_EC_gen("P-521");
		break;
	case ACME_KEY_ED25519:
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "unsupported key type");
		return NULL;
	}
	if (key == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "key generation failed: %s", ossl_reason());
		ERR_clear_error();
	}
	return key;
}

int
acme_key_info(EVP_PKEY *key, enum acme_key_type *type,
    enum acme_key_family *family, int *bits)
{
	enum acme_key_family fam = ACME_KEYFAM_UNKNOWN;
	enum acme_key_type t = ACME_KEY_UNKNOWN;
	int b = key != NULL ? EVP_PKEY_get_bits(key) : 0;
	char curve[64];
	size_t clen = 0;

	if (key == NULL)
		return ACME_ERR_INVAL;
	if (EVP_PKEY_is_a(key, "RSA")) {
		fam = ACME_KEYFAM_RSA;
		t = b == 2048 ? ACME_KEY_RSA2048 :
		    b == 3072 ? ACME_KEY_RSA3072 :
		    b == 4096 ? ACME_KEY_RSA4096 :
				ACME_KEY_UNKNOWN;
	} else if (EVP_PKEY_is_a(key, "EC")) {
		fam = ACME_KEYFAM_EC;
		if (EVP_PKEY_get_utf8_string_param(key,
			OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof(curve),
			&clen) == 1) {
			if (strcmp(curve, "prime256v1") == 0 ||
			    strcmp(curve, "P-256") == 0)
				t = ACME_KEY_EC256;
			else if (strcmp(curve, "secp384r1") == 0 ||
				 strcmp(curve, "P-384") == 0)
				t = ACME_KEY_EC384;
			else if (strcmp(curve, "secp521r1") == 0 ||
				 strcmp(curve, "P-521") == 0)
				t = ACME_KEY_EC521;
		}
	} else if (EVP_PKEY_is_a(key, "ED25519")) {
		fam = ACME_KEYFAM_ED25519;
		t = ACME_KEY_ED25519;
	} else
		return ACME_ERR_UNSUPPORTED;
	if (type != NULL)
		*type = t;
	if (family != NULL)
		*family = fam;
	if (bits != NULL)
		*bits = b;
	return 0;
}

/* Never prompts: an encrypted key simply fails to load. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Whether a loaded key is one libanvil accepts: RSA of 2048 bits or more,
 * EC on P-256, P-384 or P-521, or Ed25519.  Fills prob with badPublicKey
 * if not.
 */
static int
key_supported(EVP_PKEY *key, struct acme_problem *prob)
{
	enum acme_key_type t = ACME_KEY_UNKNOWN;
	enum acme_key_family f = ACME_KEYFAM_UNKNOWN;
	const char *name = EVP_PKEY_get0_type_name(key);
	int bits = 0;

	if (acme_key_info(key, &t, &f, &bits) == 0 &&
	    !(f == ACME_KEYFAM_EC && t == ACME_KEY_UNKNOWN) &&
	    !(f == ACME_KEYFAM_RSA && bits < 2048))
		return 1;
	acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
	    "unsupported key type %s (%d bits)", name != NULL ? name : "?",
	    bits);
	return 0;
}

EVP_PKEY *
acme_key_load_pem(const char *pem, size_t len, struct acme_problem *prob)
{
	EVP_PKEY *key = NULL;
	BIO *b = NULL;

	if (pem == NULL || len > KEY_FILE_MAX) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "key PEM missing or too large");
		return NULL;
	}
	if ((b = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	/*
	 * The callback refuses every passphrase, so an encrypted key fails
	 * instead of prompting on the terminal.
	 */
	key = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
	if (key == NULL) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "not a PEM private key: %s", ossl_reason());
		goto out;
	}
	if (!key_supported(key, prob)) {
		EVP_PKEY_free(key);
		key = NULL;
	}
out:
	BIO_free(b);
	ERR_clear_error();
	return key;
}

EVP_PKEY *
acme_key_load_file(const char *path, struct acme_problem *prob)
{
	EVP_PKEY *key;
	char *pem = NULL;
	size_t len = 0;

	if (acme_file_read(path, KEY_FILE_MAX, &pem, &len, prob) != 0)
		return NULL;
	key = acme_key_load_pem(pem, len, prob);
	if (key == NULL && prob != NULL) {
		char why[ACME_PROB_DETAIL_MAX];

		memcpy(why, prob->detail, sizeof(why));
		snprintf(prob->detail, sizeof(prob->detail), "%.100s: %.400s",
		    path, why);
	}
	acme_wipe(pem, len);
	free(pem);
	return key;
}

/* Copies a memory BIO's contents into a new NUL-terminated string. */
static char *
bio_string(BIO *b, size_t *len)
{
	char *data, *out;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0 || (out = malloc((size_t)n + 1)) == NULL)
		return NULL;
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	if (len != NULL)
		*len = (size_t)n;
	return out;
}

char *
acme_key_to_pem(EVP_PKEY *key, size_t *len)
{
	BIO *b = NULL;
	char *out = NULL;

	if (key == NULL)
		return NULL;
	/* A secure-heap BIO cleanses the PEM text when it is freed. */
	b = BIO_new(BIO_s_secmem());
	if (b == NULL)
		b = BIO_new(BIO_s_mem());
	if (b != NULL &&
	    PEM_write_bio_PKCS8PrivateKey(b, key, NULL, NULL, 0, NULL, NULL))
		out = bio_string(b, len);
	BIO_free(b);
	ERR_clear_error();
	return out;
}

char *
acme_key_public_pem(EVP_PKEY *key, size_t *len)
{
	BIO *b = NULL;
	char *out = NULL;

	if (key == NULL || (b = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if (PEM_write_bio_PUBKEY(b, key))
		out = bio_string(b, len);
	BIO_free(b);
	ERR_clear_error();
	return out;
}

int
acme_key_save_file(EVP_PKEY *key, const char *path, struct acme_problem *prob)
{
	size_t len = 0;
	char *pem = acme_key_to_pem(key, &len);
	int rc;

	if (pem == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot encode private key");
	rc = acme_file_write_atomic(path, pem, len, 0600, prob);
	acme_wipe(pem, len);
	free(pem);
	return rc;
}

int
acme_key_public_equal(EVP_PKEY *a, EVP_PKEY *b)
{
	if (a == NULL || b == NULL)
		return 0;
	return EVP_PKEY_eq(a, b) == 1;
}

EVP_PKEY *
acme_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *key = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
		key = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return key;
}
