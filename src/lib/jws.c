/* SPDX-License-Identifier: ISC */
/*
 * Flattened JSON Web Signatures (see include/anvil/jws.h).  Parsing
 * checks the structure and the protected header rules for the JWS's use;
 * verification and signing are separate, over OpenSSL EVP.  ECDSA
 * signatures travel as raw r||s (RFC 7518 3.4) and are converted to and
 * from OpenSSL's DER form here, with the length checked first.  Rule
 * order matters for the problem type: the alg is judged (unknown, or not
 * allowed for the use) before a jwk is imported, so HS256 on an account
 * request is badSignatureAlgorithm even when it carries a jwk; a jwk that
 * does not suit the alg (RS256 with an EC key) is badPublicKey, as the
 * key is what the server cannot accept.  Every verification failure
 * returns ACME_ERR_VERIFY, whatever the problem type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>
#include <anvil/key.h>

#include "internal.h"

struct acme_jws {
	json_t *hdr;            /* parsed protected header */
	char *protected_b64;    /* as sent */
	char *payload_b64;      /* as sent */
	unsigned char *payload; /* decoded, NUL-terminated */
	size_t payload_len;
	char *sig_b64;      /* as sent */
	unsigned char *sig; /* decoded */
	size_t sig_len;
	enum acme_jws_alg alg;
	EVP_PKEY *jwk_key; /* imported from hdr.jwk, or NULL */
};

static const struct {
	const char *name;
	enum acme_jws_alg alg;
} algs[] = {
	{ "RS256", ACME_JWS_RS256 },
	{ "ES256", ACME_JWS_ES256 },
	{ "ES384", ACME_JWS_ES384 },
	{ "ES512", ACME_JWS_ES512 },
	{ "EdDSA", ACME_JWS_EDDSA },
	{ "Ed25519", ACME_JWS_EDDSA }, /* RFC 9864 */
	{ "HS256", ACME_JWS_HS256 },
};

enum acme_jws_alg
acme_jws_alg_from_name(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < ACME_ARRAY_LEN(algs); i++)
		if (strcmp(algs[i].name, name) == 0)
			return algs[i].alg;
	return ACME_JWS_ALG_NONE;
}

const char *
acme_jws_alg_to_name(enum acme_jws_alg alg)
{
	size_t i;

	for (i = 0; i < ACME_ARRAY_LEN(algs); i++)
		if (algs[i].alg == alg)
			return algs[i].name;
	return "none";
}

void
acme_jws_free(struct acme_jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->hdr);
	free(jws->protected_b64);
	free(jws->payload_b64);
	free(jws->payload);
	free(jws->sig_b64);
	free(jws->sig);
	EVP_PKEY_free(jws->jwk_key);
	free(jws);
}

/*
 * Checks that key is acceptable for alg: RSA >= 2048 bits for RS256, the
 * matching curve for ES256/ES384/ES512, Ed25519 for EdDSA.
 */
static int
key_suits(EVP_PKEY *key, enum acme_jws_alg alg, struct acme_problem *prob)
{
	enum acme_key_type type = ACME_KEY_UNKNOWN;
	enum acme_key_family fam = ACME_KEYFAM_UNKNOWN;
	int bits = 0, ok = 0;

	if (key != NULL && acme_key_info(key, &type, &fam, &bits) == 0) {
		switch (alg) {
		case ACME_JWS_RS256:
			ok = fam == ACME_KEYFAM_RSA && bits >= 2048;
			break;
		case ACME_JWS_ES256:
			ok = type == ACME_KEY_EC256;
			break;
		case ACME_JWS_ES384:
			ok = type == ACME_KEY_EC384;
			break;
		case ACME_JWS_ES512:
			ok = type == ACME_KEY_EC521;
			break;
		case ACME_JWS_EDDSA:
			ok = fam == ACME_KEYFAM_ED25519;
			break;
		default:
			break;
		}
	}
	if (!ok)
		return acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "key is not acceptable for alg %s",
		    acme_jws_alg_to_name(alg));
	return 0;
}

/*
 * Decodes the required base64url string member name of obj into *dec
 * (NUL-terminated, *len bytes) and keeps the text in *raw; both are new
 * and the caller frees them, also on failure.  An empty value is allowed
 * only when allow_empty is set.
 */
/*
 * One top-level member's value s (n bytes, as sent): not empty unless
 * allow_empty (the payload of a POST-as-GET), base64url; both forms kept.
 */
static int
member_slice(const char *name, const char *s, size_t n, int allow_empty,
    char **raw, unsigned char **dec, size_t *len, struct acme_problem *prob)
{
	if (n == 0 && !allow_empty)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS member \"%s\" is empty", name);
	if (acme_b64url_decode(s, n, dec, len) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS member \"%s\" is not base64url", name);
	if ((*raw = strndup(s, n)) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	return 0;
}

static int
member_b64(const json_t *obj, const char *name, int allow_empty, char **raw,
    unsigned char **dec, size_t *len, struct acme_problem *prob)
{
	const char *s = NULL;

	if (acme_json_get_string(obj, name, ACME_JSON_REQUIRED, &s, prob) != 0)
		return ACME_ERR_INVAL;
	return member_slice(name, s, strlen(s), allow_empty, raw, dec, len,
	    prob);
}

/* Optional string header member; wrong type is malformed. */
static int
hdr_string(const json_t *hdr, const char *name, const char **out,
    struct acme_problem *prob)
{
	*out = NULL;
	if (acme_json_get_string(hdr, name, ACME_JSON_OPTIONAL, out, prob) < 0)
		return ACME_ERR_INVAL;
	return 0;
}

/*
 * The top level: a JSON object with protected, payload and signature,
 * no general serialization and no unprotected header (S-JWS-2, S-JWS-3,
 * S-JWS-5), which get their own messages.
 */
static int
check_members(const json_t *obj, struct acme_problem *prob)
{
	if (!json_is_object(obj))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS is not a JSON object");
	if (json_object_get(obj, "signatures") != NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS general serialization is not allowed; use the "
		    "flattened form");
	if (json_object_get(obj, "header") != NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS unprotected header is not allowed");
	/* Other members are ignored (RFC 7515 7.2.1, S-JWS-1). */
	return 0;
}

/*
 * The alg for the use, judged as soon as the protected header is read
 * and before anything else about the signature (S-JWS-8): none, a MAC
 * outside EAB and unknown names are badSignatureAlgorithm (S-JWS-14).
 * Sets jws->alg.
 */
static int
check_alg(struct acme_jws *jws, enum acme_jws_use use,
    struct acme_problem *prob)
{
	const char *alg = NULL;

	if (acme_json_get_string(jws->hdr, "alg", ACME_JSON_REQUIRED, &alg,
		prob) != 0)
		return ACME_ERR_INVAL;
	jws->alg = acme_jws_alg_from_name(alg);
	if (jws->alg == ACME_JWS_ALG_NONE)
		return acme_problem_set(prob, ACME_PROB_BAD_SIGNATURE_ALGORITHM,
		    "JWS algorithm \"%.20s\" is not supported", alg);
	if ((use == ACME_JWS_USE_ACCOUNT || use == ACME_JWS_USE_KEYCHANGE) &&
	    jws->alg == ACME_JWS_HS256)
		return acme_problem_set(prob, ACME_PROB_BAD_SIGNATURE_ALGORITHM,
		    "MAC algorithms are not allowed for account signatures");
	if (use == ACME_JWS_USE_EAB && jws->alg != ACME_JWS_HS256)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "external account binding must use a MAC algorithm "
		    "(HS256)");
	return 0;
}

/*
 * The other header rules, the alg being judged: no b64 (S-JWS-4) or
 * crit (S-JWS-18), and a jwk that imports as a public key suiting the
 * alg (S-JWS-15, S-JWS-19).  Sets jws->jwk_key.
 */
static int
check_header(struct acme_jws *jws, struct acme_problem *prob)
{
	const json_t *jwk;

	if (json_object_get(jws->hdr, "b64") != NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "unencoded payloads (b64) are not allowed");
	if (json_object_get(jws->hdr, "crit") != NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "no critical JWS extensions are supported");
	if ((jwk = json_object_get(jws->hdr, "jwk")) == NULL)
		return 0;
	if (jws->alg == ACME_JWS_HS256)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "a MAC JWS must not carry a jwk");
	if ((jws->jwk_key = acme_jwk_to_key(jwk, prob)) == NULL)
		return ACME_ERR_INVAL;
	return key_suits(jws->jwk_key, jws->alg, prob);
}

/*
 * The ACME members for the use: nonce, url, kid and jwk presence.  The
 * alg was judged by check_header().
 */
static int
check_use(const struct acme_jws *jws, enum acme_jws_use use,
    struct acme_problem *prob)
{
	const char *nonce, *url, *kid;
	const json_t *jwk = json_object_get(jws->hdr, "jwk");

	if (hdr_string(jws->hdr, "nonce", &nonce, prob) != 0 ||
	    hdr_string(jws->hdr, "url", &url, prob) != 0 ||
	    hdr_string(jws->hdr, "kid", &kid, prob) != 0)
		return ACME_ERR_INVAL;
	switch (use) {
	case ACME_JWS_USE_PLAIN:
		return 0;
	case ACME_JWS_USE_EAB:
		/* A jwk was refused with the MAC alg in check_header(). */
		if (nonce != NULL)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "external account binding must not have a nonce");
		if (kid == NULL || *kid == '\0')
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "external account binding needs a kid");
		if (url == NULL)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "external account binding needs a url");
		return 0;
	case ACME_JWS_USE_KEYCHANGE:
		if (url == NULL)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "keyChange inner JWS has no url");
		if (jwk == NULL)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "keyChange inner JWS needs a jwk");
		if (kid != NULL)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "keyChange inner JWS must not have a kid");
		if (nonce != NULL)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "keyChange inner JWS must not have a nonce");
		return 0;
	case ACME_JWS_USE_ACCOUNT:
		break;
	default:
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "unknown JWS use %d", (int)use);
	}
	if (nonce == NULL)
		return acme_problem_set(prob, ACME_PROB_BAD_NONCE,
		    "JWS protected header has no nonce");
	if (!acme_b64url_valid(nonce, strlen(nonce)))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "nonce is not base64url");
	if (url == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS protected header has no url");
	if (jwk != NULL && kid != NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS has both jwk and kid");
	if (jwk == NULL && kid == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS has neither jwk nor kid");
	return 0;
}

static int
json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int
b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* The index of the first byte at or after i that is not JSON space. */
static size_t
skip_ws(const char *t, size_t i, size_t len)
{
	while (i < len && json_space(t[i]))
		i++;
	return i;
}

/*
 * After an object member of the fast readers: 1 at a comma (another
 * member follows), 0 at the closing brace, -1 for anything else; *i is
 * moved past what was read.
 */
static int
member_end(const char *t, size_t len, size_t *i)
{
	size_t j = skip_ws(t, *i, len);

	if (j < len && (t[j] == ',' || t[j] == '}')) {
		*i = j + 1;
		return t[j] == ',';
	}
	return -1;
}

/* A name or string value of the header's fast reader: no escapes. */
static size_t
plain_string(const unsigned char *t, size_t i, size_t len, int name)
{
	for (; i < len && t[i] != '"'; i++)
		if (name ? !((t[i] >= 'a' && t[i] <= 'z') ||
			       (t[i] >= 'A' && t[i] <= 'Z') ||
			       (t[i] >= '0' && t[i] <= '9')) :
			   (t[i] < 0x20 || t[i] > 0x7e || t[i] == '\\'))
			return 0;
	return i < len ? i : 0;
}

/*
 * Reads {"name":"value",...} at t[*pos] into a new object, values plain
 * strings or, at depth 0, one level of such an object (the jwk).
 * Returns NULL for anything else (the JSON parser then decides).
 */
static json_t *
plain_object(const unsigned char *t, size_t len, size_t *pos, int depth)
{
	json_t *obj = json_object(), *v;
	size_t i = *pos, ns, ne, vs, ve;
	int end;

	if (obj == NULL)
		return NULL;
	i = skip_ws((const char *)t, i, len);
	if (i >= len || t[i++] != '{')
		goto fail;
	for (;;) {
		i = skip_ws((const char *)t, i, len);
		if (i >= len || t[i++] != '"')
			goto fail;
		ns = i;
		if ((ne = plain_string(t, i, len, 1)) == 0 || ne == ns)
			goto fail;
		i = ne + 1;
		i = skip_ws((const char *)t, i, len);
		if (i >= len || t[i++] != ':')
			goto fail;
		i = skip_ws((const char *)t, i, len);
		if (i < len && t[i] == '"') {
			vs = ++i;
			if ((ve = plain_string(t, i, len, 0)) == 0)
				goto fail;
			i = ve + 1;
			v = json_stringn((const char *)t + vs, ve - vs);
		} else if (i < len && t[i] == '{' && depth == 0)
			v = plain_object(t, len, &i, 1);
		else
			goto fail;
		/* A repeated name goes to the parser, which refuses it. */
		if (v == NULL || json_object_getn(obj, (const char *)t + ns,
				     ne - ns) != NULL) {
			json_decref(v);
			goto fail;
		}
		/* The _new setters take v even when they fail. */
		if (json_object_setn_new(obj, (const char *)t + ns, ne - ns,
			v) != 0)
			goto fail;
		if ((end = member_end((const char *)t, len, &i)) < 0)
			goto fail;
		if (end == 0)
			break;
	}
	*pos = i;
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

/*
 * The protected header as clients send it, read without jansson's
 * lexer: an object of plain strings (no escapes, printable ASCII) and
 * one nested object of them (the jwk).  NULL for anything else, which
 * the JSON parser then reads; what this takes, that parser takes to an
 * equal object (tests/unit/test_jws.c compares them).
 */
ACME_TESTABLE json_t *acme_jws_hdr_fast(const unsigned char *t, size_t len);

ACME_TESTABLE json_t *
acme_jws_hdr_fast(const unsigned char *t, size_t len)
{
	size_t i = 0;
	json_t *obj = plain_object(t, len, &i, 0);

	if (obj != NULL && skip_ws((const char *)t, i, len) != len) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

/*
 * The protected header (hdr_raw, decoded; freed here) parsed and its alg
 * judged for use, before the payload and signature are looked at
 * (S-JWS-8).  Returns 0 or an error with prob set.
 */
static int
read_header(struct acme_jws *jws, unsigned char *hdr_raw, size_t hdr_len,
    enum acme_jws_use use, struct acme_problem *prob)
{
	/* Strict: duplicate names are refused here (S-JWS-18). */
	jws->hdr = acme_jws_hdr_fast(hdr_raw, hdr_len);
	if (jws->hdr == NULL)
		jws->hdr = acme_json_parse((const char *)hdr_raw, hdr_len,
		    ACME_JSON_OBJECT, prob);
	free(hdr_raw);
	if (jws->hdr == NULL)
		return ACME_ERR_INVAL;
	return check_alg(jws, use, prob);
}

/*
 * The header rules after the alg, for use.  Returns jws, or NULL with
 * prob set and jws freed.
 */
static struct acme_jws *
finish(struct acme_jws *jws, enum acme_jws_use use, struct acme_problem *prob)
{
	if (check_header(jws, prob) != 0 || check_use(jws, use, prob) != 0) {
		acme_jws_free(jws);
		return NULL;
	}
	return jws;
}

static struct acme_jws *
jws_new(struct acme_problem *prob)
{
	struct acme_jws *jws = calloc(1, sizeof(*jws));

	if (jws == NULL)
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	return jws;
}

struct acme_jws *
acme_jws_parse_json(const json_t *obj, enum acme_jws_use use,
    struct acme_problem *prob)
{
	struct acme_jws *jws;
	unsigned char *hdr_raw = NULL;
	size_t hdr_len = 0;

	if (check_members(obj, prob) != 0 || (jws = jws_new(prob)) == NULL)
		return NULL;
	if (member_b64(obj, "protected", 0, &jws->protected_b64, &hdr_raw,
		&hdr_len, prob) != 0) {
		free(hdr_raw);
		acme_jws_free(jws);
		return NULL;
	}
	if (read_header(jws, hdr_raw, hdr_len, use, prob) != 0 ||
	    member_b64(obj, "payload", 1, &jws->payload_b64, &jws->payload,
		&jws->payload_len, prob) != 0 ||
	    member_b64(obj, "signature", 0, &jws->sig_b64, &jws->sig,
		&jws->sig_len, prob) != 0) {
		acme_jws_free(jws);
		return NULL;
	}
	return finish(jws, use, prob);
}

/*
 * The top level as clients send it, read without building a JSON tree:
 * one object holding protected, payload and signature, each once, each a
 * string of base64url characters only, with JSON white space between the
 * tokens.  Returns 1 with the three values (in that order) as slices of
 * t, or 0 for anything else, which goes to the JSON parser and its
 * messages.  It takes only documents that parser takes, to the same
 * result (tests/unit/test_jws.c compares the two on every truncation and
 * many byte changes); it spares a JSON tree whose strings jansson copies
 * a byte at a time (about 60,000 instructions per request, callgrind).
 */
ACME_TESTABLE int acme_jws_outer_fast(const char *t, size_t len,
    const char *val[3], size_t vlen[3]);

ACME_TESTABLE int
acme_jws_outer_fast(const char *t, size_t len, const char *val[3],
    size_t vlen[3])
{
	static const char *const names[3] = { "protected", "payload",
		"signature" };
	size_t i = 0, start, k;
	unsigned seen = 0;
	int end;

	i = skip_ws(t, i, len);
	if (i >= len || t[i++] != '{')
		return 0;
	for (;;) {
		i = skip_ws(t, i, len);
		if (i >= len || t[i++] != '"')
			return 0;
		for (start = i; i < len && t[i] >= 'a' && t[i] <= 'z'; i++)
			;
		if (i >= len || t[i] != '"')
			return 0;
		for (k = 0; k < 3; k++)
			if (strlen(names[k]) == i - start &&
			    memcmp(names[k], t + start, i - start) == 0)
				break;
		if (k == 3 || (seen & (1U << k)) != 0)
			return 0;
		i++;
		i = skip_ws(t, i, len);
		if (i >= len || t[i++] != ':')
			return 0;
		i = skip_ws(t, i, len);
		if (i >= len || t[i++] != '"')
			return 0;
		for (start = i; i < len && b64url_char(t[i]); i++)
			;
		if (i >= len || t[i] != '"')
			return 0;
		val[k] = t + start;
		vlen[k] = i - start;
		seen |= 1U << k;
		i++;
		if ((end = member_end(t, len, &i)) < 0)
			return 0;
		if (end == 0)
			break;
	}
	i = skip_ws(t, i, len);
	return i == len && seen == 7;
}

struct acme_jws *
acme_jws_parse(const char *text, size_t len, enum acme_jws_use use,
    struct acme_problem *prob)
{
	struct acme_jws *jws;
	const char *val[3];
	size_t vlen[3];
	unsigned char *hdr_raw = NULL;
	size_t hdr_len = 0;
	json_t *obj;

	if (len > ACME_JWS_MAX_SIZE) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS of %zu bytes exceeds the limit of %d", len,
		    ACME_JWS_MAX_SIZE);
		return NULL;
	}
	if (!acme_jws_outer_fast(text, len, val, vlen)) {
		obj = acme_json_parse(text, len, ACME_JSON_OBJECT, prob);
		if (obj == NULL)
			return NULL;
		jws = acme_jws_parse_json(obj, use, prob);
		json_decref(obj);
		return jws;
	}
	if ((jws = jws_new(prob)) == NULL)
		return NULL;
	if (member_slice("protected", val[0], vlen[0], 0, &jws->protected_b64,
		&hdr_raw, &hdr_len, prob) != 0) {
		free(hdr_raw);
		acme_jws_free(jws);
		return NULL;
	}
	if (read_header(jws, hdr_raw, hdr_len, use, prob) != 0 ||
	    member_slice("payload", val[1], vlen[1], 1, &jws->payload_b64,
		&jws->payload, &jws->payload_len, prob) != 0 ||
	    member_slice("signature", val[2], vlen[2], 0, &jws->sig_b64,
		&jws->sig, &jws->sig_len, prob) != 0) {
		acme_jws_free(jws);
		return NULL;
	}
	return finish(jws, use, prob);
}

enum acme_jws_alg
acme_jws_alg(const struct acme_jws *jws)
{
	return jws->alg;
}

const char *
acme_jws_alg_name(const struct acme_jws *jws)
{
	return json_string_value(json_object_get(jws->hdr, "alg"));
}

const char *
acme_jws_nonce(const struct acme_jws *jws)
{
	return json_string_value(json_object_get(jws->hdr, "nonce"));
}

const char *
acme_jws_url(const struct acme_jws *jws)
{
	return json_string_value(json_object_get(jws->hdr, "url"));
}

const char *
acme_jws_kid(const struct acme_jws *jws)
{
	return json_string_value(json_object_get(jws->hdr, "kid"));
}

const json_t *
acme_jws_jwk(const struct acme_jws *jws)
{
	return json_object_get(jws->hdr, "jwk");
}

EVP_PKEY *
acme_jws_jwk_key(const struct acme_jws *jws)
{
	return jws->jwk_key;
}

const json_t *
acme_jws_protected(const struct acme_jws *jws)
{
	return jws->hdr;
}

const unsigned char *
acme_jws_payload(const struct acme_jws *jws, size_t *len)
{
	if (len != NULL)
		*len = jws->payload_len;
	return jws->payload;
}

const char *
acme_jws_payload_b64(const struct acme_jws *jws)
{
	return jws->payload_b64;
}

json_t *
acme_jws_payload_json(const struct acme_jws *jws, struct acme_problem *prob)
{
	if (jws->payload_len == 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "empty payload where a JSON object is required");
		return NULL;
	}
	return acme_json_parse((const char *)jws->payload, jws->payload_len,
	    ACME_JSON_OBJECT, prob);
}

/* The signing input "protected.payload"; caller frees. */
static char *
signing_input(const char *p, const char *q, size_t *len)
{
	size_t a = strlen(p), b = strlen(q);
	char *s = malloc(a + b + 2);

	if (s == NULL)
		return NULL;
	memcpy(s, p, a);
	s[a] = '.';
	memcpy(s + a + 1, q, b);
	s[a + b + 1] = '\0';
	*len = a + b + 1;
	return s;
}

/* The digest name for alg; NULL for EdDSA, which hashes internally. */
static const char *
alg_md(enum acme_jws_alg alg)
{
	switch (alg) {
	case ACME_JWS_RS256:
	case ACME_JWS_ES256:
	case ACME_JWS_HS256:
		return "SHA256";
	case ACME_JWS_ES384:
		return "SHA384";
	case ACME_JWS_ES512:
		return "SHA512";
	default:
		return NULL;
	}
}

/* Bytes of r (and of s) in an ECDSA signature; 0 for other algs. */
static size_t
ec_field_len(enum acme_jws_alg alg)
{
	switch (alg) {
	case ACME_JWS_ES256:
		return 32;
	case ACME_JWS_ES384:
		return 48;
	case ACME_JWS_ES512:
		return 66;
	default:
		return 0;
	}
}

/*
 * Raw r||s (2 * flen bytes) to DER.  Returns a buffer the caller frees
 * with OPENSSL_free(), or NULL.
 */
static unsigned char *
ecdsa_raw_to_der(const unsigned char *sig, size_t flen, size_t *derlen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	int n;

	if ((es = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(sig, (int)flen, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + flen, (int)flen, NULL)) == NULL ||
	    ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL; /* owned by es now */
	if ((n = i2d_ECDSA_SIG(es, &der)) <= 0) {
		der = NULL;
		goto out;
	}
	*derlen = (size_t)n;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return der;
}

int
acme_jws_verify_raw(EVP_PKEY *key, enum acme_jws_alg alg, const void *input,
    size_t inlen, const unsigned char *sig, size_t siglen,
    struct acme_problem *prob)
{
	EVP_MD_CTX *ctx = NULL;
	unsigned char *der = NULL;
	const unsigned char *s = sig;
	size_t slen = siglen, flen = ec_field_len(alg);
	int rc = ACME_ERR_VERIFY;

	if (alg == ACME_JWS_HS256 || alg == ACME_JWS_ALG_NONE) {
		acme_problem_set(prob, ACME_PROB_BAD_SIGNATURE_ALGORITHM,
		    "alg %s is not a public key algorithm",
		    acme_jws_alg_to_name(alg));
		return ACME_ERR_VERIFY;
	}
	if (key_suits(key, alg, prob) != 0)
		return ACME_ERR_VERIFY;
	if (flen != 0) {
		/* S-JWS-17: exactly r||s; a DER signature has another length. */
		if (siglen != 2 * flen) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "JWS signature does not verify: ECDSA signature "
			    "must be %zu bytes (r||s), not %zu",
			    2 * flen, siglen);
			return ACME_ERR_VERIFY;
		}
		if ((der = ecdsa_raw_to_der(sig, flen, &slen)) == NULL) {
			acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "out of memory");
			rc = ACME_ERR_NOMEM;
			goto out;
		}
		s = der;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		rc = ACME_ERR_NOMEM;
		goto out;
	}
	if (EVP_DigestVerifyInit_ex(ctx, NULL, alg_md(alg), NULL, NULL, key,
		NULL) != 1 ||
	    EVP_DigestVerify(ctx, s, slen, input, inlen) != 1) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS signature does not verify");
		goto out;
	}
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return rc;
}

int
acme_jws_verify(const struct acme_jws *jws, EVP_PKEY *key,
    struct acme_problem *prob)
{
	char *input;
	size_t len = 0;
	int rc;

	/* acme_jws_verify_raw() refuses HS256 (badSignatureAlgorithm). */
	if ((input = signing_input(jws->protected_b64, jws->payload_b64,
		 &len)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return ACME_ERR_NOMEM;
	}
	rc = acme_jws_verify_raw(key, jws->alg, input, len, jws->sig,
	    jws->sig_len, prob);
	free(input);
	return rc;
}

/* HMAC-SHA256 of in under key into out.  Returns 0 or ACME_ERR_CRYPTO. */
static int
hmac256(const unsigned char *key, size_t keylen, const void *in, size_t inlen,
    unsigned char out[32])
{
	size_t outlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, in,
		inlen, out, 32, &outlen) == NULL ||
	    outlen != 32) {
		ERR_clear_error();
		return ACME_ERR_CRYPTO;
	}
	return 0;
}

int
acme_jws_verify_hmac(const struct acme_jws *jws, const unsigned char *key,
    size_t keylen, struct acme_problem *prob)
{
	unsigned char mac[32];
	char *input = NULL;
	size_t len = 0;
	int rc = ACME_ERR_VERIFY;

	if (jws->alg != ACME_JWS_HS256) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "expected an HS256 JWS");
		return ACME_ERR_VERIFY;
	}
	if (key == NULL || keylen == 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "empty MAC key");
		return ACME_ERR_VERIFY;
	}
	if ((input = signing_input(jws->protected_b64, jws->payload_b64,
		 &len)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return ACME_ERR_NOMEM;
	}
	/* The length is public; the comparison of the bytes is not. */
	if (jws->sig_len != sizeof(mac) ||
	    hmac256(key, keylen, input, len, mac) != 0 ||
	    CRYPTO_memcmp(mac, jws->sig, sizeof(mac)) != 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "JWS MAC does not verify");
		goto out;
	}
	rc = 0;
out:
	acme_wipe(mac, sizeof(mac));
	free(input);
	return rc;
}

unsigned char *
acme_jws_sign_raw(EVP_PKEY *key, enum acme_jws_alg alg, const void *input,
    size_t inlen, size_t *siglen, struct acme_problem *prob)
{
	EVP_MD_CTX *ctx = NULL;
	ECDSA_SIG *es = NULL;
	unsigned char *der = NULL, *raw = NULL, *ret = NULL;
	const unsigned char *p;
	const BIGNUM *r = NULL, *s = NULL;
	size_t dlen = 0, flen = ec_field_len(alg);

	if (alg == ACME_JWS_HS256 || alg == ACME_JWS_ALG_NONE) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "alg %s does not sign with a key",
		    acme_jws_alg_to_name(alg));
		return NULL;
	}
	if (key_suits(key, alg, prob) != 0)
		return NULL;
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit_ex(ctx, NULL, alg_md(alg), NULL, NULL, key,
		NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &dlen, input, inlen) != 1 ||
	    (der = OPENSSL_malloc(dlen)) == NULL ||
	    EVP_DigestSign(ctx, der, &dlen, input, inlen) != 1)
		goto out;
	if (flen == 0) {
		/* RSA and Ed25519 signatures are already in JWS form. */
		if ((raw = malloc(dlen)) == NULL)
			goto out;
		memcpy(raw, der, dlen);
		*siglen = dlen;
	} else {
		/* S-JWS-17: DER to fixed-length r||s. */
		p = der;
		if ((es = d2i_ECDSA_SIG(NULL, &p, (long)dlen)) == NULL ||
		    (raw = malloc(2 * flen)) == NULL)
			goto out;
		ECDSA_SIG_get0(es, &r, &s);
		if (BN_bn2binpad(r, raw, (int)flen) != (int)flen ||
		    BN_bn2binpad(s, raw + flen, (int)flen) != (int)flen)
			goto out;
		*siglen = 2 * flen;
	}
	ret = raw;
	raw = NULL;
out:
	if (ret == NULL)
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "signing failed");
	ERR_clear_error();
	ECDSA_SIG_free(es);
	free(raw);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ret;
}

/*
 * Assembles the flattened JWS {protected, payload, signature} over hdr
 * (borrowed), signed with key or, when key is NULL, HS256 with mac.  The
 * header is serialized compactly in its insertion order (jansson keeps
 * it), so the same inputs give the same protected member.  Returns a new
 * object or NULL with prob set.
 */
static json_t *
assemble(const json_t *hdr, const void *payload, size_t len, EVP_PKEY *key,
    const unsigned char *mac, size_t maclen, struct acme_problem *prob)
{
	char *hdr_text = NULL, *p64 = NULL, *pl64 = NULL, *s64 = NULL;
	char *input = NULL;
	unsigned char *sig = NULL, macbuf[32];
	size_t inlen = 0, siglen = 0, hdr_len = 0;
	json_t *ret = NULL;

	if ((hdr_text = acme_json_compact(hdr, &hdr_len)) == NULL ||
	    (p64 = acme_b64url_encode(hdr_text, hdr_len)) == NULL ||
	    (pl64 = acme_b64url_encode(payload != NULL ? payload : "", len)) ==
		NULL ||
	    (input = signing_input(p64, pl64, &inlen)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	if (key != NULL) {
		sig = acme_jws_sign_raw(key,
		    acme_jws_alg_from_name(
			json_string_value(json_object_get(hdr, "alg"))),
		    input, inlen, &siglen, prob);
		if (sig == NULL)
			goto out;
		s64 = acme_b64url_encode(sig, siglen);
	} else {
		if (hmac256(mac, maclen, input, inlen, macbuf) != 0) {
			acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "HMAC failed");
			goto out;
		}
		s64 = acme_b64url_encode(macbuf, sizeof(macbuf));
	}
	if (s64 == NULL || (ret = json_pack("{s:s, s:s, s:s}", "protected", p64,
				"payload", pl64, "signature", s64)) == NULL)
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
out:
	acme_wipe(macbuf, sizeof(macbuf));
	free(hdr_text);
	free(p64);
	free(pl64);
	free(s64);
	free(input);
	free(sig);
	return ret;
}

/*
 * {"alg": alg} followed by the members of hdr (borrowed; may be NULL)
 * other than alg, in hdr's order.  Returns a new object or NULL.
 */
static json_t *
full_header(const char *alg, const json_t *hdr)
{
	json_t *full, *v;
	const char *k;

	if ((full = json_pack("{s:s}", "alg", alg)) == NULL)
		return NULL;
	json_object_foreach((json_t *)(uintptr_t)hdr, k, v)
	{
		if (strcmp(k, "alg") != 0 && json_object_set(full, k, v) != 0) {
			json_decref(full);
			return NULL;
		}
	}
	return full;
}

json_t *
acme_jws_sign(EVP_PKEY *key, const json_t *hdr, const void *payload, size_t len,
    struct acme_problem *prob)
{
	const char *alg = acme_jwk_alg_for_key(key);
	json_t *full, *ret;

	if (alg == NULL) {
		acme_problem_set(prob, ACME_PROB_BAD_PUBLIC_KEY,
		    "unsupported signing key");
		return NULL;
	}
	if (hdr != NULL && !json_is_object(hdr)) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "JWS header is not an object");
		return NULL;
	}
	if ((full = full_header(alg, hdr)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		return NULL;
	}
	ret = assemble(full, payload, len, key, NULL, 0, prob);
	json_decref(full);
	return ret;
}

json_t *
acme_jws_sign_request(EVP_PKEY *key, const char *kid, const char *nonce,
    const char *url, const void *payload, size_t len, struct acme_problem *prob)
{
	json_t *hdr = NULL, *jwk = NULL, *ret = NULL;

	if (url == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "JWS request without a url");
		return NULL;
	}
	if (kid == NULL && (jwk = acme_jwk_from_key(key, prob)) == NULL)
		return NULL;
	/* json_string() refuses invalid UTF-8, hence no "out of memory". */
	if ((hdr = json_object()) == NULL ||
	    (nonce != NULL &&
		json_object_set_new(hdr, "nonce", json_string(nonce)) != 0) ||
	    json_object_set_new(hdr, "url", json_string(url)) != 0 ||
	    (kid != NULL &&
		json_object_set_new(hdr, "kid", json_string(kid)) != 0) ||
	    (jwk != NULL && json_object_set(hdr, "jwk", jwk) != 0)) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot build the JWS header");
		goto out;
	}
	ret = acme_jws_sign(key, hdr, payload, len, prob);
out:
	json_decref(jwk);
	json_decref(hdr);
	return ret;
}

json_t *
acme_jws_sign_eab(const unsigned char *mac, size_t maclen, const char *kid,
    const char *url, EVP_PKEY *account_key, struct acme_problem *prob)
{
	json_t *hdr = NULL, *jwk = NULL, *ret = NULL;
	char *payload = NULL;

	if (mac == NULL || maclen == 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "empty MAC key");
		return NULL;
	}
	if ((jwk = acme_jwk_from_key(account_key, prob)) == NULL)
		return NULL;
	if ((payload = json_dumps(jwk, JSON_COMPACT)) == NULL || kid == NULL ||
	    url == NULL ||
	    (hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", kid,
		 "url", url)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot build the external account binding");
		goto out;
	}
	ret = assemble(hdr, payload, strlen(payload), NULL, mac, maclen, prob);
out:
	free(payload);
	json_decref(hdr);
	json_decref(jwk);
	return ret;
}
