/* SPDX-License-Identifier: ISC */
/*
 * ACME problem documents (RFC 8555 section 6.7, RFC 7807).  A struct
 * acme_problem is the error object of libanvil: fallible functions take a
 * pointer to one (which may be NULL) and fill it only on failure, so calls
 * chain and the server can serialise the first failure as is.
 *
 * The struct is public so that callers can keep one on the stack; detail
 * has a fixed bound and only subproblems are allocated.  Release a problem
 * that may hold subproblems with acme_problem_release().
 */
#ifndef ANVIL_PROBLEM_H
#define ANVIL_PROBLEM_H

#include <stddef.h>
#include <jansson.h>

#include <anvil/ident.h>

/* Every registered ACME error type (RFC 8555 section 9.7 and extensions). */
enum acme_prob_type {
	ACME_PROB_NONE = 0,
	ACME_PROB_ACCOUNT_DOES_NOT_EXIST,
	ACME_PROB_ALREADY_REVOKED,
	ACME_PROB_BAD_CSR,
	ACME_PROB_BAD_NONCE,
	ACME_PROB_BAD_PUBLIC_KEY,
	ACME_PROB_BAD_REVOCATION_REASON,
	ACME_PROB_BAD_SIGNATURE_ALGORITHM,
	ACME_PROB_CAA,
	ACME_PROB_COMPOUND,
	ACME_PROB_CONNECTION,
	ACME_PROB_DNS,
	ACME_PROB_EXTERNAL_ACCOUNT_REQUIRED,
	ACME_PROB_INCORRECT_RESPONSE,
	ACME_PROB_INVALID_CONTACT,
	ACME_PROB_MALFORMED,
	ACME_PROB_ORDER_NOT_READY,
	ACME_PROB_RATE_LIMITED,
	ACME_PROB_REJECTED_IDENTIFIER,
	ACME_PROB_SERVER_INTERNAL,
	ACME_PROB_TLS,
	ACME_PROB_UNAUTHORIZED,
	ACME_PROB_UNSUPPORTED_CONTACT,
	ACME_PROB_UNSUPPORTED_IDENTIFIER,
	ACME_PROB_USER_ACTION_REQUIRED,
	ACME_PROB_ALREADY_REPLACED, /* RFC 9773 */
	ACME_PROB_INVALID_PROFILE,  /* draft-ietf-acme-profiles */
	ACME_PROB_OTHER,            /* a type URI we do not know */
	ACME_PROB__COUNT
};

#define ACME_PROB_DETAIL_MAX 512
#define ACME_PROB_SUB_MAX    100 /* subproblems kept; more are dropped */

struct acme_problem {
	enum acme_prob_type type;
	int status; /* HTTP status code */
	char detail[ACME_PROB_DETAIL_MAX];
	int has_identifier; /* subproblems only */
	struct acme_ident identifier;
	struct acme_problem *sub; /* owned array of nsub entries */
	size_t nsub;
};

/*
 * Fills prob (if not NULL) with type, its usual HTTP status and a detail
 * formatted from fmt.  An earlier problem in prob is released first.
 * Returns ACME_ERR_INVAL, so that callers can write
 * "return acme_problem_set(prob, ...)".  Use acme_problem_set_status() to
 * choose a status other than the default for the type.
 */
int acme_problem_set(struct acme_problem *prob, enum acme_prob_type type,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int acme_problem_set_status(struct acme_problem *prob, enum acme_prob_type type,
    int status, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Appends a subproblem about identifier id (copied) to prob.  Returns 0, or
 * ACME_ERR_NOMEM / ACME_ERR_LIMIT (more than ACME_PROB_SUB_MAX).
 */
int acme_problem_add_sub(struct acme_problem *prob, enum acme_prob_type type,
    const struct acme_ident *id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Frees subproblems and resets prob to ACME_PROB_NONE.  NULL is a no-op. */
void acme_problem_release(struct acme_problem *prob);

/* The full type URN ("urn:ietf:params:acme:error:malformed"). */
const char *acme_problem_type_urn(enum acme_prob_type type);
/* The short name ("malformed"). */
const char *acme_problem_type_name(enum acme_prob_type type);
/* The usual HTTP status of a type (400 for most). */
int acme_problem_default_status(enum acme_prob_type type);
/* Maps a type URN back; ACME_PROB_OTHER when unknown. */
enum acme_prob_type acme_problem_type_from_urn(const char *urn);

/*
 * Serialises prob as an RFC 7807 document: type, detail, status and, for
 * subproblems, identifier (never at the top level, RFC 8555 6.7.1).
 * Returns a new reference, or NULL on allocation failure.
 */
json_t *acme_problem_to_json(const struct acme_problem *prob);

/*
 * Parses a problem document received from a server into prob.  Unknown
 * types map to ACME_PROB_OTHER, missing status to the type's default.
 * Returns 0 or ACME_ERR_INVAL when doc is not an object with a string type.
 */
int acme_problem_from_json(struct acme_problem *prob, const json_t *doc);

#endif
