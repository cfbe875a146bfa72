/* SPDX-License-Identifier: ISC */
/*
 * ACME problem documents (see include/anvil/problem.h): the table of
 * registered error types with their usual HTTP status, filling a problem,
 * and converting to and from RFC 7807 JSON.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>
#include <anvil/problem.h>

#include "internal.h"

#define URN_PREFIX "urn:ietf:params:acme:error:"

static const struct {
	const char *name;
	int status;
} types[ACME_PROB__COUNT] = {
	[ACME_PROB_NONE] = { "", 0 },
	[ACME_PROB_ACCOUNT_DOES_NOT_EXIST] = { "accountDoesNotExist", 400 },
	[ACME_PROB_ALREADY_REVOKED] = { "alreadyRevoked", 400 },
	[ACME_PROB_BAD_CSR] = { "badCSR", 400 },
	[ACME_PROB_BAD_NONCE] = { "badNonce", 400 },
	[ACME_PROB_BAD_PUBLIC_KEY] = { "badPublicKey", 400 },
	[ACME_PROB_BAD_REVOCATION_REASON] = { "badRevocationReason", 400 },
	[ACME_PROB_BAD_SIGNATURE_ALGORITHM] = { "badSignatureAlgorithm", 400 },
	[ACME_PROB_CAA] = { "caa", 403 },
	[ACME_PROB_COMPOUND] = { "compound", 400 },
	[ACME_PROB_CONNECTION] = { "connection", 400 },
	[ACME_PROB_DNS] = { "dns", 400 },
	[ACME_PROB_EXTERNAL_ACCOUNT_REQUIRED] = { "externalAccountRequired",
	    400 },
	[ACME_PROB_INCORRECT_RESPONSE] = { "incorrectResponse", 400 },
	[ACME_PROB_INVALID_CONTACT] = { "invalidContact", 400 },
	[ACME_PROB_MALFORMED] = { "malformed", 400 },
	[ACME_PROB_ORDER_NOT_READY] = { "orderNotReady", 403 },
	[ACME_PROB_RATE_LIMITED] = { "rateLimited", 429 },
	[ACME_PROB_REJECTED_IDENTIFIER] = { "rejectedIdentifier", 400 },
	[ACME_PROB_SERVER_INTERNAL] = { "serverInternal", 500 },
	[ACME_PROB_TLS] = { "tls", 400 },
	[ACME_PROB_UNAUTHORIZED] = { "unauthorized", 403 },
	[ACME_PROB_UNSUPPORTED_CONTACT] = { "unsupportedContact", 400 },
	[ACME_PROB_UNSUPPORTED_IDENTIFIER] = { "unsupportedIdentifier", 400 },
	[ACME_PROB_USER_ACTION_REQUIRED] = { "userActionRequired", 403 },
	[ACME_PROB_ALREADY_REPLACED] = { "alreadyReplaced", 409 },
	[ACME_PROB_INVALID_PROFILE] = { "invalidProfile", 400 },
	[ACME_PROB_OTHER] = { "", 500 },
};

static int
valid_type(enum acme_prob_type type)
{
	return type > ACME_PROB_NONE && type < ACME_PROB__COUNT;
}

const char *
acme_problem_type_name(enum acme_prob_type type)
{
	return valid_type(type) ? types[type].name : "";
}

const char *
acme_problem_type_urn(enum acme_prob_type type)
{
	/* One static string per type, built without formatting at run time. */
	static const char *const urns[ACME_PROB__COUNT] = {
#define U(t, n) [t] = URN_PREFIX n
		U(ACME_PROB_ACCOUNT_DOES_NOT_EXIST, "accountDoesNotExist"),
		U(ACME_PROB_ALREADY_REVOKED, "alreadyRevoked"),
		U(ACME_PROB_BAD_CSR, "badCSR"),
		U(ACME_PROB_BAD_NONCE, "badNonce"),
		U(ACME_PROB_BAD_PUBLIC_KEY, "badPublicKey"),
		U(ACME_PROB_BAD_REVOCATION_REASON, "badRevocationReason"),
		U(ACME_PROB_BAD_SIGNATURE_ALGORITHM, "badSignatureAlgorithm"),
		U(ACME_PROB_CAA, "caa"),
		U(ACME_PROB_COMPOUND, "compound"),
		U(ACME_PROB_CONNECTION, "connection"),
		U(ACME_PROB_DNS, "dns"),
		U(ACME_PROB_EXTERNAL_ACCOUNT_REQUIRED,
		    "externalAccountRequired"),
		U(ACME_PROB_INCORRECT_RESPONSE, "incorrectResponse"),
		U(ACME_PROB_INVALID_CONTACT, "invalidContact"),
		U(ACME_PROB_MALFORMED, "malformed"),
		U(ACME_PROB_ORDER_NOT_READY, "orderNotReady"),
		U(ACME_PROB_RATE_LIMITED, "rateLimited"),
		U(ACME_PROB_REJECTED_IDENTIFIER, "rejectedIdentifier"),
		U(ACME_PROB_SERVER_INTERNAL, "serverInternal"),
		U(ACME_PROB_TLS, "tls"),
		U(ACME_PROB_UNAUTHORIZED, "unauthorized"),
		U(ACME_PROB_UNSUPPORTED_CONTACT, "unsupportedContact"),
		U(ACME_PROB_UNSUPPORTED_IDENTIFIER, "unsupportedIdentifier"),
		U(ACME_PROB_USER_ACTION_REQUIRED, "userActionRequired"),
		U(ACME_PROB_ALREADY_REPLACED, "alreadyReplaced"),
		U(ACME_PROB_INVALID_PROFILE, "invalidProfile"),
#undef U
		/*
		 * Unknown types must not use the ACME namespace (RFC 8555
		 * 6.7); about:blank is RFC 7807's "no further semantics".
		 */
		[ACME_PROB_OTHER] = "about:blank",
	};

	if (!valid_type(type))
		return "about:blank";
	return urns[type];
}

int
acme_problem_default_status(enum acme_prob_type type)
{
	return valid_type(type) ? types[type].status : 500;
}

enum acme_prob_type
acme_problem_type_from_urn(const char *urn)
{
	size_t plen = sizeof(URN_PREFIX) - 1;
	int t;

	if (urn == NULL || strncmp(urn, URN_PREFIX, plen) != 0)
		return ACME_PROB_OTHER;
	for (t = ACME_PROB_NONE + 1; t < ACME_PROB_OTHER; t++)
		if (strcmp(urn + plen, types[t].name) == 0)
			return (enum acme_prob_type)t;
	return ACME_PROB_OTHER;
}

static void
vset(struct acme_problem *prob, enum acme_prob_type type, int status,
    const char *fmt, va_list ap)
{
	acme_problem_release(prob);
	prob->type = type;
	prob->status = status;
	if (vsnprintf(prob->detail, sizeof(prob->detail), fmt, ap) < 0)
		prob->detail[0] = '\0';
}

int
acme_problem_set(struct acme_problem *prob, enum acme_prob_type type,
    const char *fmt, ...)
{
	va_list ap;

	if (prob == NULL)
		return ACME_ERR_INVAL;
	va_start(ap, fmt);
	vset(prob, type, acme_problem_default_status(type), fmt, ap);
	va_end(ap);
	return ACME_ERR_INVAL;
}

int
acme_problem_set_status(struct acme_problem *prob, enum acme_prob_type type,
    int status, const char *fmt, ...)
{
	va_list ap;

	if (prob == NULL)
		return ACME_ERR_INVAL;
	va_start(ap, fmt);
	vset(prob, type, status, fmt, ap);
	va_end(ap);
	return ACME_ERR_INVAL;
}

int
acme_problem_add_sub(struct acme_problem *prob, enum acme_prob_type type,
    const struct acme_ident *id, const char *fmt, ...)
{
	struct acme_problem *sub, *p;
	va_list ap;

	if (prob == NULL)
		return ACME_ERR_INVAL;
	if (prob->nsub >= ACME_PROB_SUB_MAX)
		return ACME_ERR_LIMIT;
	p = realloc(prob->sub, (prob->nsub + 1) * sizeof(*p));
	if (p == NULL)
		return ACME_ERR_NOMEM;
	prob->sub = p;
	sub = &p[prob->nsub];
	memset(sub, 0, sizeof(*sub));
	va_start(ap, fmt);
	vset(sub, type, acme_problem_default_status(type), fmt, ap);
	va_end(ap);
	if (id != NULL) {
		sub->has_identifier = 1;
		sub->identifier = *id;
	}
	prob->nsub++;
	return 0;
}

void
acme_problem_release(struct acme_problem *prob)
{
	size_t i;

	if (prob == NULL)
		return;
	for (i = 0; i < prob->nsub; i++)
		acme_problem_release(&prob->sub[i]);
	free(prob->sub);
	memset(prob, 0, sizeof(*prob));
}

/* Builds one document; identifiers only when allowed (subproblems). */
static json_t *
to_json(const struct acme_problem *prob, int allow_identifier)
{
	json_t *doc, *subs = NULL, *s;
	size_t i;

	doc = json_object();
	if (doc == NULL)
		return NULL;
	if (json_object_set_new(doc, "type",
		json_string(acme_problem_type_urn(prob->type))) != 0 ||
	    json_object_set_new(doc, "detail", json_string(prob->detail)) !=
		0 ||
	    json_object_set_new(doc, "status", json_integer(prob->status)) != 0)
		goto fail;
	if (allow_identifier && prob->has_identifier &&
	    json_object_set_new(doc, "identifier",
		json_pack("{s:s, s:s}", "type",
		    acme_ident_type_name(prob->identifier.type), "value",
		    prob->identifier.value)) != 0)
		goto fail;
	if (prob->nsub > 0) {
		if ((subs = json_array()) == NULL)
			goto fail;
		for (i = 0; i < prob->nsub; i++) {
			s = to_json(&prob->sub[i], 1);
			if (json_array_append_new(subs, s) != 0)
				goto fail;
		}
		if (json_object_set_new(doc, "subproblems", subs) != 0) {
			subs = NULL;
			goto fail;
		}
	}
	return doc;
fail:
	json_decref(subs);
	json_decref(doc);
	return NULL;
}

json_t *
acme_problem_to_json(const struct acme_problem *prob)
{
	return to_json(prob, 0);
}

static int
from_json(struct acme_problem *prob, const json_t *doc, int depth)
{
	const json_t *v, *subs, *s;
	const char *type, *detail;
	size_t i;

	if (!json_is_object(doc))
		return ACME_ERR_INVAL;
	type = json_string_value(json_object_get(doc, "type"));
	if (type == NULL)
		return ACME_ERR_INVAL;
	detail = json_string_value(json_object_get(doc, "detail"));
	acme_problem_release(prob);
	prob->type = acme_problem_type_from_urn(type);
	v = json_object_get(doc, "status");
	if (json_is_integer(v) && json_integer_value(v) >= 100 &&
	    json_integer_value(v) <= 599)
		prob->status = (int)json_integer_value(v);
	else
		prob->status = acme_problem_default_status(prob->type);
	if (prob->type == ACME_PROB_OTHER && detail == NULL)
		detail = type;
	snprintf(prob->detail, sizeof(prob->detail), "%s",
	    detail != NULL ? detail : "");
	v = json_object_get(doc, "identifier");
	if (depth > 0 && json_is_object(v) &&
	    acme_ident_set(&prob->identifier,
		json_string_value(json_object_get(v, "type")),
		json_string_value(json_object_get(v, "value"))) == 0)
		prob->has_identifier = 1;
	subs = json_object_get(doc, "subproblems");
	if (depth == 0 && json_is_array(subs)) {
		json_array_foreach(subs, i, s)
		{
			struct acme_problem tmp;
			struct acme_problem *p;

			if (prob->nsub >= ACME_PROB_SUB_MAX)
				break;
			memset(&tmp, 0, sizeof(tmp));
			if (from_json(&tmp, s, 1) != 0)
				continue;
			p = realloc(prob->sub, (prob->nsub + 1) * sizeof(*p));
			if (p == NULL) {
				acme_problem_release(&tmp);
				return ACME_ERR_NOMEM;
			}
			prob->sub = p;
			prob->sub[prob->nsub++] = tmp;
		}
	}
	return 0;
}

int
acme_problem_from_json(struct acme_problem *prob, const json_t *doc)
{
	if (prob == NULL)
		return ACME_ERR_INVAL;
	return from_json(prob, doc, 0);
}
