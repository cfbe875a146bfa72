/* SPDX-License-Identifier: ISC */
/*
 * Identifier and key policy (see policy.h).  Single-label names such as
 * "localhost" and IP addresses that are not globally reachable (the
 * validator's address filter, D52) are internal names and reserved
 * addresses a public CA must refuse (BR 4.2.2); anvil-ca accepts them
 * only when the operator set allow_private_addresses, the switch for
 * private and test deployments.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>

#include <anvil/err.h>
#include <anvil/key.h>

#include "../va/addrfilter.h"
#include "policy.h"
#include "weakkey.h"

#include "internal.h"

/* Bytes of one DNS label (63, RFC 1035 2.3.4) and its NUL. */
#define LABEL_SIZE 64
/* What starts an IDNA A-label (RFC 5890 2.3.2.1). */
#define ACE_PREFIX "xn--"
/* Bytes of a refusal's detail: a label or an address and a sentence. */
#define WHY_MAX 160

/*
 * Nonzero when name is one of the comma-separated suffixes of list or
 * below one of them (at a label boundary, D72).
 */
static int
in_list(const char *list, const char *name)
{
	size_t nl = strlen(name);

	while (*list != '\0') {
		const char *e = strchr(list, ',');
		size_t n = e != NULL ? (size_t)(e - list) : strlen(list);

		if (n > 0 && n <= nl &&
		    strncasecmp(name + nl - n, list, n) == 0 &&
		    (n == nl || name[nl - n - 1] == '.'))
			return 1;
		list += n + (e != NULL);
	}
	return 0;
}

static int
refuse(struct acme_problem *prob, enum acme_prob_type type,
    const struct acme_ident *id, const char *type_s, const char *value,
    const char *why)
{
	struct acme_ident shown;

	if (id == NULL) {
		/* Not even parsable: name it as sent, as far as it fits. */
		memset(&shown, 0, sizeof(shown));
		shown.type = type_s != NULL && strcmp(type_s, "ip") == 0 ?
				 ACME_IDENT_IP :
				 ACME_IDENT_DNS;
		snprintf(shown.value, sizeof(shown.value), "%s",
		    value != NULL ? value : "");
		id = &shown;
	}
	if (prob->type == ACME_PROB_NONE)
		acme_problem_set(prob, type, "%s: %s", id->value, why);
	return acme_problem_add_sub(prob, type, id, "%s", why);
}

/*
 * S-IDN-2 (RFC 8555 7.1.4): every "xn--" label of a DNS identifier
 * (lowercase already) must be an A-label: valid Punycode that decodes to
 * a label IDNA2008 allows and that encodes back to the same text.
 * libidn2 decides (D59).  Returns 0, or ACME_ERR_INVAL with a refusal.
 */
static int
bad_alabel(const struct acme_ident *id, struct acme_problem *prob)
{
	char label[LABEL_SIZE];
	const char *p = id->value, *dot;
	uint8_t *back = NULL;
	size_t n;
	int rc;

	for (; *p != '\0'; p = *dot != '\0' ? dot + 1 : dot) {
		if ((dot = strchr(p, '.')) == NULL)
			dot = p + strlen(p);
		n = (size_t)(dot - p);
		if (n < LIT_LEN(ACE_PREFIX) ||
		    strncmp(p, ACE_PREFIX, LIT_LEN(ACE_PREFIX)) != 0)
			continue;
		if (n >= sizeof(label))
			return ACME_ERR_INVAL; /* acme_ident_set() refused it */
		memcpy(label, p, n);
		label[n] = '\0';
		rc = idn2_register_u8(NULL, (const uint8_t *)label, &back, 0);
		if (rc == IDN2_OK && strcmp((const char *)back, label) != 0)
			rc = IDN2_ALABEL_ROUNDTRIP_FAILED;
		idn2_free(back);
		back = NULL;
		if (rc != IDN2_OK) {
			char why[WHY_MAX];

			snprintf(why, sizeof(why),
			    "%s is not a valid IDNA2008 A-label (%s)", label,
			    idn2_strerror(rc));
			refuse(prob, ACME_PROB_REJECTED_IDENTIFIER, id, NULL,
			    NULL, why);
			return ACME_ERR_INVAL;
		}
	}
	return 0;
}

static int
check_one(const struct conf *cfg, const char *type, const char *value,
    struct acme_ident *out, struct acme_problem *prob)
{
	struct acme_ident id;
	const char *base, *reserved;

	if (type == NULL || value == NULL)
		return refuse(prob, ACME_PROB_MALFORMED, NULL, type, value,
			   "identifier needs a string type and value") == 0 ?
			   ACME_ERR_INVAL :
			   ACME_ERR_INVAL;
	if (strcmp(type, "dns") != 0 && strcmp(type, "ip") != 0) {
		refuse(prob, ACME_PROB_UNSUPPORTED_IDENTIFIER, NULL, type,
		    value, "identifier type is not supported");
		return ACME_ERR_INVAL;
	}
	if (acme_ident_set(&id, type, value) != 0) {
		refuse(prob, ACME_PROB_REJECTED_IDENTIFIER, NULL, type, value,
		    strcmp(type, "ip") == 0 ? "not an IP address" :
					      "not a valid DNS name");
		return ACME_ERR_INVAL;
	}
	if (id.type == ACME_IDENT_IP) {
		if (!cfg->allow_ip_identifiers) {
			refuse(prob, ACME_PROB_REJECTED_IDENTIFIER, &id, NULL,
			    NULL, "IP identifiers are not allowed here");
			return ACME_ERR_INVAL;
		}
		reserved = va_addr_reserved_text(id.value);
		if (reserved != NULL && !conf_addr_allowed(cfg, id.value)) {
			char why[WHY_MAX];

			snprintf(why, sizeof(why),
			    "a reserved address, %s, is not certified here",
			    reserved);
			refuse(prob, ACME_PROB_REJECTED_IDENTIFIER, &id, NULL,
			    NULL, why);
			return ACME_ERR_INVAL;
		}
		*out = id;
		return 0;
	}
	/* A DNS identifier that is really an address (S-IDN-9). */
	{
		struct acme_ident tmp;

		if (acme_ident_set(&tmp, "ip", value) == 0) {
			refuse(prob, ACME_PROB_REJECTED_IDENTIFIER, &id, NULL,
			    NULL, "an IP address is not a DNS name");
			return ACME_ERR_INVAL;
		}
	}
	if (bad_alabel(&id, prob) != 0)
		return ACME_ERR_INVAL;
	base = id.value;
	if (strncmp(base, WILDCARD, LIT_LEN(WILDCARD)) == 0) {
		if (!cfg->allow_wildcards) {
			refuse(prob, ACME_PROB_REJECTED_IDENTIFIER, &id, NULL,
			    NULL, "wildcard names are not allowed here");
			return ACME_ERR_INVAL;
		}
		base += LIT_LEN(WILDCARD);
		if (strchr(base, '.') == NULL) {
			refuse(prob, ACME_PROB_REJECTED_IDENTIFIER, &id, NULL,
			    NULL,
			    "a wildcard needs at least two labels "
			    "below it");
			return ACME_ERR_INVAL;
		}
	}
	if (strchr(base, '.') == NULL && !cfg->allow_private_addresses) {
		refuse(prob, ACME_PROB_REJECTED_IDENTIFIER, &id, NULL, NULL,
		    "single-label names are internal names");
		return ACME_ERR_INVAL;
	}
	if (in_list(cfg->denied_domains, base) ||
	    (cfg->allowed_domains[0] != '\0' &&
		!in_list(cfg->allowed_domains, base))) {
		refuse(prob, ACME_PROB_REJECTED_IDENTIFIER, &id, NULL, NULL,
		    "this CA does not issue for this name (allowed_domains, "
		    "denied_domains)");
		return ACME_ERR_INVAL;
	}
	*out = id;
	return 0;
}

int
policy_identifiers(const struct conf *cfg, const json_t *arr,
    struct acme_ident **ids, size_t *n, struct acme_problem *prob)
{
	struct acme_ident *out;
	const json_t *v;
	size_t i, k, cnt = 0;
	int bad = 0;

	*ids = NULL;
	*n = 0;
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "identifiers must be a non-empty array");
	if (json_array_size(arr) > (size_t)cfg->max_names)
		return acme_problem_set(prob, ACME_PROB_REJECTED_IDENTIFIER,
		    "at most %d identifiers per order", cfg->max_names);
	if ((out = calloc(json_array_size(arr), sizeof(*out))) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	json_array_foreach(arr, i, v)
	{
		struct acme_ident id;

		if (check_one(cfg,
			json_string_value(json_object_get(v, "type")),
			json_string_value(json_object_get(v, "value")), &id,
			prob) != 0) {
			bad = 1;
			continue;
		}
		for (k = 0; k < cnt; k++)
			if (acme_ident_equal(&out[k], &id))
				break;
		if (k == cnt)
			out[cnt++] = id;
	}
	if (bad) {
		free(out);
		return ACME_ERR_INVAL;
	}
	qsort(out, cnt, sizeof(*out), acme_ident_cmp);
	*ids = out;
	*n = cnt;
	return 0;
}

int
policy_cert_key(const struct conf *cfg, EVP_PKEY *key,
    struct acme_problem *prob)
{
	enum acme_key_type type = ACME_KEY_UNKNOWN;
	enum acme_key_family fam = ACME_KEYFAM_UNKNOWN;
	int bits = 0;

	if (acme_key_info(key, &type, &fam, &bits) != 0)
		return acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR key algorithm is not accepted");
	switch (fam) {
	case ACME_KEYFAM_RSA:
		/* BR 6.1.5: a whole number of octets. */
		if (bits < cfg->rsa_min_bits || bits > RSA_MAX_BITS ||
		    bits % CHAR_BIT != 0)
			return acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "RSA keys of %d to 8192 bits, a multiple of 8, are "
			    "accepted, not %d",
			    cfg->rsa_min_bits, bits);
		break;
	case ACME_KEYFAM_EC:
		if (type != ACME_KEY_EC256 && type != ACME_KEY_EC384)
			return acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "only P-256 and P-384 EC keys are accepted");
		break;
	case ACME_KEYFAM_ED25519:
		if (!cfg->allow_ed25519_certs)
			return acme_problem_set(prob, ACME_PROB_BAD_CSR,
			    "Ed25519 certificate keys are not accepted here");
		break;
	default:
		return acme_problem_set(prob, ACME_PROB_BAD_CSR,
		    "CSR key algorithm is not accepted");
	}
	/* Known-weak and blocked keys (D58). */
	return weakkey_check(cfg->blocked_keys, key, prob);
}
