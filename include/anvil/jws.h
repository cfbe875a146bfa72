/* SPDX-License-Identifier: ISC */
/*
 * JSON Web Signatures in the flattened JSON serialization (RFC 7515
 * section 7.2.2), the only form ACME uses (RFC 8555 section 6.2).
 *
 * Parsing is strict and separate from verification: acme_jws_parse()
 * checks structure and the protected header and exposes it; the caller
 * picks the key (the jwk in the header, or the account that kid names)
 * and calls acme_jws_verify().  Algorithms: RS256, ES256, ES384, ES512, EdDSA
 * (Ed25519; "Ed25519" is accepted as a synonym, RFC 9864) and, for
 * External Account Binding only, HS256.  ECDSA signatures are raw r||s of
 * exactly twice the field length; DER is rejected.
 */
#ifndef ANVIL_JWS_H
#define ANVIL_JWS_H

#include <stddef.h>
#include <jansson.h>
#include <openssl/evp.h>

#include <anvil/problem.h>

#define ACME_JWS_MAX_SIZE (256 * 1024) /* bytes of one serialized JWS */

enum acme_jws_alg {
	ACME_JWS_ALG_NONE = 0, /* not a valid algorithm; never accepted */
	ACME_JWS_RS256,
	ACME_JWS_ES256,
	ACME_JWS_ES384,
	ACME_JWS_EDDSA,
	ACME_JWS_HS256,
	ACME_JWS_ES512, /* P-521 (RFC 7518 3.4) */
};

/* What the JWS is for; decides which header rules apply. */
enum acme_jws_use {
	/*
	 * Structure only: alg must be one of the algorithms above; no
	 * ACME header members are required.  For known-answer tests.
	 */
	ACME_JWS_USE_PLAIN = 0,
	/*
	 * An ACME request (RFC 8555 6.2): asymmetric alg only (none and HS*
	 * give badSignatureAlgorithm), nonce present (else badNonce) and
	 * base64url, url present, exactly one of jwk and kid.
	 */
	ACME_JWS_USE_ACCOUNT,
	/*
	 * The inner JWS of keyChange (7.3.5): asymmetric alg, jwk present,
	 * no kid, url present, no nonce.
	 */
	ACME_JWS_USE_KEYCHANGE,
	/*
	 * External Account Binding (7.3.4): alg HS256 only, kid and url
	 * present, no nonce, no jwk.
	 */
	ACME_JWS_USE_EAB,
};

struct acme_jws;

/*
 * Parses a flattened JWS of len bytes for the given use.  Rejects, as
 * malformed unless stated: non-JSON, the general serialization
 * ("signatures"), an unprotected "header", a protected header that is
 * not a base64url JSON object or has duplicate names; then the alg for
 * the use, before anything about the signature (S-JWS-8); then a
 * missing or non-string payload or signature, "crit", "b64", a jwk with
 * private members, and the use's rules above.  Other top-level members
 * are ignored (RFC 7515 7.2.1).
 * Returns a new object or NULL with prob set.
 */
struct acme_jws *acme_jws_parse(const char *text, size_t len,
    enum acme_jws_use use, struct acme_problem *prob);
/* As acme_jws_parse(), from an already parsed JSON object (borrowed). */
struct acme_jws *acme_jws_parse_json(const json_t *obj, enum acme_jws_use use,
    struct acme_problem *prob);
void acme_jws_free(struct acme_jws *jws);

/* Protected-header accessors; strings are borrowed, NULL when absent. */
enum acme_jws_alg acme_jws_alg(const struct acme_jws *jws);
const char *acme_jws_alg_name(const struct acme_jws *jws);
const char *acme_jws_nonce(const struct acme_jws *jws);
const char *acme_jws_url(const struct acme_jws *jws);
const char *acme_jws_kid(const struct acme_jws *jws);
const json_t *acme_jws_jwk(const struct acme_jws *jws);
/*
 * The key in the jwk header, imported at parse time (so a bad key fails
 * parsing with badPublicKey); borrowed, NULL when there is no jwk.
 */
EVP_PKEY *acme_jws_jwk_key(const struct acme_jws *jws);
/* The whole protected header object (borrowed). */
const json_t *acme_jws_protected(const struct acme_jws *jws);

/*
 * The decoded payload, borrowed, NUL-terminated; *len excludes the NUL.
 * An empty payload ("" in the serialization, POST-as-GET) has *len 0.
 */
const unsigned char *acme_jws_payload(const struct acme_jws *jws, size_t *len);
/* The raw base64url payload member as sent (borrowed). */
const char *acme_jws_payload_b64(const struct acme_jws *jws);

/*
 * Parses the payload with acme_json_parse() (object required).  Returns a
 * new reference or NULL with prob set (malformed, also for an empty
 * payload).
 */
json_t *acme_jws_payload_json(const struct acme_jws *jws,
    struct acme_problem *prob);

/*
 * Verifies the signature with key, which must suit the alg (RSA >= 2048
 * bits for RS256, P-256 for ES256, P-384 for ES384, P-521 for ES512,
 * Ed25519 for EdDSA).
 * Returns 0, or ACME_ERR_VERIFY with prob set (malformed: "signature does
 * not verify"; badPublicKey when the key does not suit alg).
 */
int acme_jws_verify(const struct acme_jws *jws, EVP_PKEY *key,
    struct acme_problem *prob);
/* Verifies an HS256 JWS with a MAC key; as acme_jws_verify(). */
int acme_jws_verify_hmac(const struct acme_jws *jws, const unsigned char *key,
    size_t keylen, struct acme_problem *prob);

/*
 * Signs payload (len bytes; NULL/0 for POST-as-GET) with key.  The
 * protected header gets alg from the key, then the members of hdr
 * (borrowed; e.g. nonce, url and kid or jwk) in that object's order.
 * Returns the flattened JWS as a new JSON object, or NULL with prob set.
 */
json_t *acme_jws_sign(EVP_PKEY *key, const json_t *hdr, const void *payload,
    size_t len, struct acme_problem *prob);

/*
 * Convenience for ACME requests: header {alg, nonce, url} plus jwk (when
 * kid is NULL) or kid.  nonce may be NULL (keyChange inner JWS).
 */
json_t *acme_jws_sign_request(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, const void *payload, size_t len,
    struct acme_problem *prob);

/*
 * An External Account Binding JWS (RFC 8555 7.3.4): HS256 with the MAC
 * key, header {alg, kid, url}, payload the account key's JWK.
 */
json_t *acme_jws_sign_eab(const unsigned char *mac, size_t maclen,
    const char *kid, const char *url, EVP_PKEY *account_key,
    struct acme_problem *prob);

/*
 * Raw signature primitives over a JWS signing input.  acme_jws_sign_raw()
 * returns a buffer the caller frees with the raw signature (r||s for
 * ECDSA) in *siglen; acme_jws_verify_raw() returns 0 or ACME_ERR_VERIFY.
 */
unsigned char *acme_jws_sign_raw(EVP_PKEY *key, enum acme_jws_alg alg,
    const void *input, size_t inlen, size_t *siglen, struct acme_problem *prob);
int acme_jws_verify_raw(EVP_PKEY *key, enum acme_jws_alg alg, const void *input,
    size_t inlen, const unsigned char *sig, size_t siglen,
    struct acme_problem *prob);

/* Maps alg names and back; ACME_JWS_ALG_NONE for unknown names. */
enum acme_jws_alg acme_jws_alg_from_name(const char *name);
const char *acme_jws_alg_to_name(enum acme_jws_alg alg);

#endif
