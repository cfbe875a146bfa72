/* SPDX-License-Identifier: ISC */
/*
 * Rate limits (see ratelimit.h).  A limit of count per window is a
 * bucket of count tokens that refills one token every window / count:
 * in the store's terms (rl_take) an interval of window / count and a
 * burst of window - interval, in milliseconds, so a full bucket allows
 * count requests at once and then one per interval.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <anvil/err.h>

#include "ratelimit.h"
#include "../srvlimits.h"
#include "../store/store.h"

#include "internal.h"

/* Bytes of an IPv6 client's address kept in its key: its /48, the
 * smallest range one customer usually gets. */
#define V6_PREFIX_BYTES 6
/* What starts the key of an identifier set, before its SHA-256 in hex. */
#define SET_PREFIX "set:"

#define RL_MAX_COUNT  1000000
#define RL_MAX_WINDOW (31 * 86400)

static const struct {
	const char *name;
	const char *what; /* "too many %s" */
} kinds[RL__COUNT] = {
	[RL_NEW_ACCOUNTS_PER_IP] = { "new_accounts_per_ip",
	    "new accounts from this address" },
	[RL_NEW_ORDERS_PER_ACCOUNT] = { "new_orders_per_account",
	    "new orders for this account" },
	[RL_CERTS_PER_IDENT_SET] = { "certificates_per_identifier_set",
	    "certificates for this exact set of identifiers" },
	[RL_FAILED_AUTHZ_PER_IDENT] = { "failed_authorizations_per_identifier",
	    "failed authorizations for this identifier" },
};

const char *
rl_name(enum rl_kind k)
{
	return k < RL__COUNT ? kinds[k].name : "?";
}

static int
get_bounded(json_t *o, const char *limit, const char *key, long max, int *out,
    struct acme_problem *prob)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > max)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "rate_limits.%s.%s must be an integer from 1 to %ld", limit,
		    key, max);
	*out = (int)json_integer_value(v);
	return 0;
}

int
rl_set_load(struct rl_set *set, json_t *obj, struct acme_problem *prob)
{
	const char *name, *key;
	json_t *v, *x;
	size_t k;

	memset(set, 0, sizeof(*set));
	if (!json_is_object(obj))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "rate_limits must be an object");
	json_object_foreach(obj, name, v)
	{
		for (k = 0; k < RL__COUNT; k++)
			if (strcmp(kinds[k].name, name) == 0)
				break;
		if (k == RL__COUNT)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "rate_limits: unknown limit %s", name);
		if (!json_is_object(v))
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "rate_limits.%s must be an object", name);
		json_object_foreach(v, key, x)
		{
			if (strcmp(key, "count") != 0 &&
			    strcmp(key, "window") != 0)
				return acme_problem_set(prob,
				    ACME_PROB_MALFORMED,
				    "rate_limits.%s: unknown key %s", name,
				    key);
		}
		if (get_bounded(v, name, "count", RL_MAX_COUNT,
			&set->l[k].count, prob) != 0 ||
		    get_bounded(v, name, "window", RL_MAX_WINDOW,
			&set->l[k].window, prob) != 0)
			return ACME_ERR_INVAL;
	}
	return 0;
}

json_t *
rl_set_json(const struct rl_set *set)
{
	json_t *o = json_object();
	size_t k;

	for (k = 0; o != NULL && k < RL__COUNT; k++)
		if (set->l[k].count > 0)
			json_object_set_new(o, kinds[k].name,
			    json_pack("{s:i, s:i}", "count", set->l[k].count,
				"window", set->l[k].window));
	return o;
}

int
rl_apply(struct store *st, const struct rl_set *set, enum rl_kind k,
    const char *key, time_t now, enum rl_mode mode, time_t *retry_after,
    struct acme_problem *prob)
{
	const struct rl_limit *l = &set->l[k];
	int64_t interval, burst, retry = 0;
	int rc;

	*retry_after = 0;
	if (l->count <= 0)
		return 0;
	interval = (int64_t)l->window * MS_PER_SEC / l->count;
	if (interval < 1)
		interval = 1;
	burst = (int64_t)l->window * MS_PER_SEC - interval;
	if ((rc = store_rl_take(st, key, (int64_t)now * MS_PER_SEC, interval,
		 burst, (int)mode, &retry, prob)) != 0)
		return rc;
	if (retry == 0)
		return 0;
	/* Whole seconds, rounded up: retrying then is allowed (S-RL-2). */
	*retry_after = (time_t)((retry + MS_PER_SEC - 1) / MS_PER_SEC);
	acme_problem_set(prob, ACME_PROB_RATE_LIMITED,
	    "too many %s: at most %d per %d seconds; retry after %lld "
	    "seconds",
	    kinds[k].what, l->count, l->window, (long long)*retry_after);
	return ACME_ERR_LIMIT;
}

int
rl_key_ip(const char *ip, char *out, size_t size)
{
	unsigned char a[IPV6_LEN];
	char text[INET6_ADDRSTRLEN];
	int n;

	if (inet_pton(AF_INET6, ip, a) == 1 &&
	    IN6_IS_ADDR_V4MAPPED((struct in6_addr *)(void *)a)) {
		/* An IPv4 client of a dual-stack listener. */
		if (inet_ntop(AF_INET, a + IPV6_LEN - IPV4_LEN, text,
			sizeof(text)) == NULL)
			return -1;
		n = snprintf(out, size, "ip:%s", text);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		/* A /48, the smallest range one customer usually gets. */
		memset(a + V6_PREFIX_BYTES, 0, sizeof(a) - V6_PREFIX_BYTES);
		if (inet_ntop(AF_INET6, a, text, sizeof(text)) == NULL)
			return -1;
		n = snprintf(out, size, "ip:%s/48", text);
	} else
		n = snprintf(out, size, "ip:%s", ip);
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

int
rl_key_ident_set(const struct acme_ident *ids, size_t n, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	size_t i;
	int ok;

	if (size < LIT_LEN(SET_PREFIX) + HEX_PER_BYTE * sizeof(md) + 1 ||
	    c == NULL) {
		EVP_MD_CTX_free(c);
		return -1;
	}
	ok = EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	for (i = 0; ok && i < n; i++) {
		const char *t = acme_ident_type_name(ids[i].type);

		ok = EVP_DigestUpdate(c, t, strlen(t)) &&
		     EVP_DigestUpdate(c, ":", 1) &&
		     EVP_DigestUpdate(c, ids[i].value, strlen(ids[i].value)) &&
		     EVP_DigestUpdate(c, "\n", 1);
	}
	ok = ok && EVP_DigestFinal_ex(c, md, NULL);
	EVP_MD_CTX_free(c);
	if (!ok)
		return -1;
	memcpy(out, SET_PREFIX, LIT_LEN(SET_PREFIX));
	for (i = 0; i < sizeof(md); i++) {
		out[LIT_LEN(SET_PREFIX) + HEX_PER_BYTE * i] = hex[md[i] >> 4];
		out[LIT_LEN(SET_PREFIX) + HEX_PER_BYTE * i + 1] =
		    hex[md[i] & 0xf];
	}
	out[LIT_LEN(SET_PREFIX) + HEX_PER_BYTE * sizeof(md)] = '\0';
	return 0;
}

int
rl_key_failed_authz(const char *account_id, const struct acme_ident *id,
    char *out, size_t size)
{
	int n = snprintf(out, size, "fail:%s:%s:%s", account_id,
	    acme_ident_type_name(id->type), id->value);

	return n >= 0 && (size_t)n < size ? 0 : -1;
}

int
rl_key_new_orders(const char *account_id, char *out, size_t size)
{
	int n = snprintf(out, size, "order:%s", account_id);

	return n >= 0 && (size_t)n < size ? 0 : -1;
}
