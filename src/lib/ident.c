/* SPDX-License-Identifier: ISC */
/*
 * ACME identifiers (see include/anvil/ident.h): syntax checks and the
 * canonical text forms that every comparison in anvil relies on.  Policy
 * (which names a CA accepts) lives in the server; this file only decides
 * what is a well-formed DNS name or IP address.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <anvil/err.h>
#include <anvil/ident.h>

#include "internal.h"

#define LABEL_MAX    63
#define NAME_MAX_LEN 253

const char *
acme_ident_type_name(enum acme_ident_type type)
{
	switch (type) {
	case ACME_IDENT_DNS:
		return "dns";
	case ACME_IDENT_IP:
		return "ip";
	}
	return "unknown";
}

static int
is_ldh(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/*
 * Copies value into out lowercased and checks it is a DNS name made of
 * LDH labels, optionally led by a "*." wildcard label.  Returns 0 or
 * ACME_ERR_INVAL.
 */
static int
set_dns(char *out, size_t outsz, const char *value)
{
	size_t len = strlen(value), i, label = 0;
	const char *p = value;

	if (len == 0 || len > NAME_MAX_LEN || len >= outsz)
		return ACME_ERR_INVAL;
	if (len > 2 && p[0] == '*' && p[1] == '.')
		p += 2;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)value[i];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		out[i] = (char)c;
	}
	out[len] = '\0';
	for (p = out + (p - value); *p != '\0'; p++) {
		if (*p == '.') {
			/* Empty label, or one ending in a hyphen. */
			if (label == 0 || p[-1] == '-')
				return ACME_ERR_INVAL;
			label = 0;
			continue;
		}
		if (!is_ldh((unsigned char)*p))
			return ACME_ERR_INVAL;
		if (label == 0 && *p == '-')
			return ACME_ERR_INVAL;
		if (++label > LABEL_MAX)
			return ACME_ERR_INVAL;
	}
	/* A trailing dot leaves an empty last label. */
	if (label == 0 || p[-1] == '-')
		return ACME_ERR_INVAL;
	return 0;
}

static int
set_ip(char *out, size_t outsz, const char *value)
{
	unsigned char addr[16];

	if (inet_pton(AF_INET, value, addr) == 1)
		return inet_ntop(AF_INET, addr, out, (socklen_t)outsz) ?
			   0 :
			   ACME_ERR_INVAL;
	if (inet_pton(AF_INET6, value, addr) == 1)
		return inet_ntop(AF_INET6, addr, out, (socklen_t)outsz) ?
			   0 :
			   ACME_ERR_INVAL;
	return ACME_ERR_INVAL;
}

int
acme_ident_set(struct acme_ident *id, const char *type, const char *value)
{
	struct acme_ident tmp;
	int rc;

	if (type == NULL || value == NULL)
		return ACME_ERR_INVAL;
	memset(&tmp, 0, sizeof(tmp));
	if (strcmp(type, "dns") == 0) {
		tmp.type = ACME_IDENT_DNS;
		rc = set_dns(tmp.value, sizeof(tmp.value), value);
	} else if (strcmp(type, "ip") == 0) {
		tmp.type = ACME_IDENT_IP;
		rc = set_ip(tmp.value, sizeof(tmp.value), value);
	} else
		rc = ACME_ERR_INVAL;
	if (rc == 0)
		*id = tmp;
	return rc;
}

int
acme_ident_from_name(struct acme_ident *id, const char *name)
{
	unsigned char addr[16];

	if (name == NULL)
		return ACME_ERR_INVAL;
	if (inet_pton(AF_INET, name, addr) == 1 ||
	    inet_pton(AF_INET6, name, addr) == 1)
		return acme_ident_set(id, "ip", name);
	return acme_ident_set(id, "dns", name);
}

int
acme_ident_equal(const struct acme_ident *a, const struct acme_ident *b)
{
	return a->type == b->type && strcmp(a->value, b->value) == 0;
}

int
acme_ident_cmp(const void *a, const void *b)
{
	const struct acme_ident *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	return strcmp(x->value, y->value);
}
