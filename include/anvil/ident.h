/* SPDX-License-Identifier: ISC */
/*
 * ACME identifiers (RFC 8555 section 9.7.7, RFC 8738): a type and a
 * value.  Values are kept in canonical form: DNS names lowercase without a
 * trailing dot, IP addresses in the textual form inet_ntop() produces.
 */
#ifndef ANVIL_IDENT_H
#define ANVIL_IDENT_H

#include <stddef.h>

enum acme_ident_type {
	ACME_IDENT_DNS = 1,
	ACME_IDENT_IP = 2,
};

#define ACME_IDENT_MAX 254 /* longest DNS name in text form, + NUL */

struct acme_ident {
	enum acme_ident_type type;
	char value[ACME_IDENT_MAX + 1];
};

/* "dns" or "ip". */
const char *acme_ident_type_name(enum acme_ident_type type);

/*
 * Fills id from a type name and a value, canonicalising the value.
 * Returns 0, or ACME_ERR_INVAL for an unknown type, a value that is not a
 * syntactically valid DNS name (LDH labels, optional leading "*." wildcard
 * label) or IP address, or one that does not fit.
 */
int acme_ident_set(struct acme_ident *id, const char *type, const char *value);

/*
 * Classifies a bare name as it appears on a command line: an IPv4 or IPv6
 * literal becomes an IP identifier, anything else a DNS identifier.
 * Returns as acme_ident_set().
 */
int acme_ident_from_name(struct acme_ident *id, const char *name);

/* Nonzero when a and b are the same identifier. */
int acme_ident_equal(const struct acme_ident *a, const struct acme_ident *b);

/* qsort() comparator: by type, then by value. */
int acme_ident_cmp(const void *a, const void *b);

#endif
