/* SPDX-License-Identifier: ISC */
/* Shared helpers for the unit tests; see helpers.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include <anvil/b64url.h>

#include "helpers.h"

char *
th_read_vector(const char *name, size_t *len)
{
	const char *dir = getenv("ANVIL_VECTORS");
	char path[4096];
	FILE *f;
	char *buf;
	long sz = 0;

	if (dir == NULL)
		dir = "tests/unit/vectors";
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		fail_msg("vector path too long");
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0)
		fail_msg("cannot size %s", path);
	buf = malloc((size_t)sz + 1);
	assert_non_null(buf);
	if (fread(buf, 1, (size_t)sz, f) != (size_t)sz)
		fail_msg("short read on %s", path);
	buf[sz] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t)sz;
	return buf;
}

char *
th_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	char *p;

	if (base == NULL)
		base = "/tmp";
	if (snprintf(tmpl, sizeof(tmpl), "%s/anvil-test-XXXXXX", base) >=
	    (int)sizeof(tmpl))
		fail_msg("TMPDIR too long");
	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp: %s", strerror(errno));
	p = strdup(tmpl);
	assert_non_null(p);
	return p;
}

void
th_rmtree(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char sub[4096];
	struct stat st;

	if (d == NULL) {
		unlink(path);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >=
		    (int)sizeof(sub))
			continue;
		if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
			th_rmtree(sub);
		else
			unlink(sub);
	}
	closedir(d);
	rmdir(path);
}

json_t *
th_vector_json(const char *name)
{
	json_error_t err;
	size_t len;
	char *text = th_read_vector(name, &len);
	json_t *v = json_loadb(text, len, 0, &err);

	if (v == NULL)
		fail_msg("%s: %s", name, err.text);
	free(text);
	return v;
}

static unsigned char *
member(const json_t *jwk, const char *name, size_t *len)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	unsigned char *out = NULL;

	if (s == NULL || acme_b64url_decode(s, strlen(s), &out, len) != 0)
		fail_msg("JWK member %s missing or bad", name);
	return out;
}

static void
push_bn(OSSL_PARAM_BLD *bld, const char *param, const json_t *jwk,
    const char *name, BIGNUM **keep)
{
	size_t len;
	unsigned char *b = member(jwk, name, &len);

	*keep = BN_bin2bn(b, (int)len, NULL);
	free(b);
	if (*keep == NULL || !OSSL_PARAM_BLD_push_BN(bld, param, *keep))
		fail_msg("cannot build %s", name);
}

EVP_PKEY *
th_private_jwk(const json_t *jwk)
{
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *key = NULL;
	BIGNUM *bn[8] = { 0 };
	unsigned char pt[97]; /* the builder keeps a pointer until to_param */
	const char *type;
	size_t i;

	assert_non_null(kty);
	if (strcmp(kty, "OKP") == 0) {
		size_t len;
		unsigned char *d = member(jwk, "d", &len);

		key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d,
		    len);
		free(d);
		OSSL_PARAM_BLD_free(bld);
		assert_non_null(key);
		return key;
	}
	if (strcmp(kty, "RSA") == 0) {
		type = "RSA";
		push_bn(bld, OSSL_PKEY_PARAM_RSA_N, jwk, "n", &bn[0]);
		push_bn(bld, OSSL_PKEY_PARAM_RSA_E, jwk, "e", &bn[1]);
		push_bn(bld, OSSL_PKEY_PARAM_RSA_D, jwk, "d", &bn[2]);
		push_bn(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, jwk, "p", &bn[3]);
		push_bn(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, jwk, "q", &bn[4]);
		push_bn(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, jwk, "dp", &bn[5]);
		push_bn(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, jwk, "dq", &bn[6]);
		push_bn(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, jwk, "qi",
		    &bn[7]);
	} else {
		const char *crv =
		    json_string_value(json_object_get(jwk, "crv"));
		unsigned char *x, *y;
		size_t xl, yl;

		type = "EC";
		assert_non_null(crv);
		x = member(jwk, "x", &xl);
		y = member(jwk, "y", &yl);
		pt[0] = 4;
		memcpy(pt + 1, x, xl);
		memcpy(pt + 1 + xl, y, yl);
		free(x);
		free(y);
		if (!OSSL_PARAM_BLD_push_utf8_string(bld,
			OSSL_PKEY_PARAM_GROUP_NAME,
			strcmp(crv, "P-256") == 0 ? "prime256v1" : "secp384r1",
			0) ||
		    !OSSL_PARAM_BLD_push_octet_string(bld,
			OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + xl + yl))
			fail_msg("cannot build EC params");
		push_bn(bld, OSSL_PKEY_PARAM_PRIV_KEY, jwk, "d", &bn[0]);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) != 1)
		fail_msg("cannot build %s private key", type);
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_BLD_free(bld);
	for (i = 0; i < 8; i++)
		BN_free(bn[i]);
	return key;
}
