/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the JWS parser, under every use, followed by the
 * accessors, payload parsing and verification with a fixed P-256 key
 * (generated once), the jwk's own key and a fixed MAC key.  Aborts when
 * an accepted JWS breaks an invariant the parser promises.
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
		if (acme_jws_alg_name(jws) == NULL ||
		    acme_jws_alg_from_name(acme_jws_alg_name(jws)) !=
			acme_jws_alg(jws))
			abort();
		(void)acme_jws_alg_to_name(acme_jws_alg(jws));
		(void)acme_jws_nonce(jws);
		(void)acme_jws_url(jws);
		(void)acme_jws_kid(jws);
		/* A jwk is imported at parse time or the parse fails. */
		if ((acme_jws_jwk(jws) != NULL) !=
		    (acme_jws_jwk_key(jws) != NULL))
			abort();
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
