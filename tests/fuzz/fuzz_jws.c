/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the JWS parser, under every use, followed by the
 * accessors, payload parsing and verification with fixed keys.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/jws.h>
#include <anvil/key.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *ec_key;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum acme_jws_use uses[] = { ACME_JWS_USE_PLAIN,
		ACME_JWS_USE_ACCOUNT, ACME_JWS_USE_KEYCHANGE,
		ACME_JWS_USE_EAB };
	static const unsigned char mac[32] = { 1, 2, 3 };
	struct acme_problem p = { 0 };
	size_t i, len;

	if (ec_key == NULL &&
	    (ec_key = acme_key_generate(ACME_KEY_EC256, NULL)) == NULL)
		abort();
	for (i = 0; i < 4; i++) {
		struct acme_jws *jws =
		    acme_jws_parse((const char *)data, size, uses[i], &p);
		json_t *payload;

		if (jws == NULL)
			continue;
		(void)acme_jws_alg_name(jws);
		(void)acme_jws_nonce(jws);
		(void)acme_jws_url(jws);
		(void)acme_jws_kid(jws);
		(void)acme_jws_jwk(jws);
		(void)acme_jws_protected(jws);
		(void)acme_jws_payload_b64(jws);
		if (acme_jws_payload(jws, &len) == NULL)
			abort();
		payload = acme_jws_payload_json(jws, &p);
		json_decref(payload);
		if (acme_jws_alg(jws) == ACME_JWS_HS256)
			(void)acme_jws_verify_hmac(jws, mac, sizeof(mac), &p);
		else {
			(void)acme_jws_verify(jws, ec_key, &p);
			if (acme_jws_jwk_key(jws) != NULL)
				(void)acme_jws_verify(jws,
				    acme_jws_jwk_key(jws), &p);
		}
		acme_jws_free(jws);
	}
	acme_problem_release(&p);
	return 0;
}
