/* SPDX-License-Identifier: ISC */
/*
 * Certificate profiles (see profile.h): the built-in set, loading and
 * saving the "profiles" object of anvil-ca.json, and the checks newOrder
 * and finalize make.  The built-in values are Let's Encrypt's (checklist
 * section 6): classic 90 days with CN and SKI for DNS names, tlsserver
 * 45 days without either, shortlived 160 hours for DNS names and IP
 * addresses; the last two keep orders 8 hours, pending authorizations 1
 * hour and reuse authorizations validated in the last 7 hours.
 */
#include <stdio.h>
#include <string.h>

#include <anvil/err.h>

#include "profile.h"

#include "internal.h"

#define HOUR 3600
#define DAY  (24 * HOUR)

static const struct profile builtin[] = {
	{
	    .name = "classic",
	    .description = "The default: 90-day certificates for DNS names "
			   "with the first name as subject CN and a "
			   "subject key identifier; up to 100 names",
	    .validity = 90 * DAY,
	    .common_name = 1,
	    .subject_key_id = 1,
	    .key_encipherment = 1,
	    .crl_distribution_point = 1,
	    .identifiers = PROFILE_IDENT_DNS,
	    .max_names = 100,
	    .order_lifetime = 7 * DAY,
	    .authz_lifetime = 7 * DAY,
	    .authz_reuse = 30 * DAY,
	},
	{
	    .name = "tlsserver",
	    .description = "45-day TLS server certificates for DNS names: "
			   "no subject CN, no subject key identifier; up "
			   "to 25 names",
	    .validity = 45 * DAY,
	    .crl_distribution_point = 1,
	    .identifiers = PROFILE_IDENT_DNS,
	    .max_names = 25,
	    .order_lifetime = 8 * HOUR,
	    .authz_lifetime = 1 * HOUR,
	    .authz_reuse = 7 * HOUR,
	},
	{
	    .name = "shortlived",
	    .description = "160-hour certificates for DNS names and IP "
			   "addresses, no subject CN; up to 25 names",
	    .validity = 160 * HOUR,
	    .crl_distribution_point = 1,
	    .identifiers = PROFILE_IDENT_DNS | PROFILE_IDENT_IP,
	    .max_names = 25,
	    .order_lifetime = 8 * HOUR,
	    .authz_lifetime = 1 * HOUR,
	    .authz_reuse = 7 * HOUR,
	},
};

void
profile_defaults(struct profile_set *set)
{
	memset(set, 0, sizeof(*set));
	memcpy(set->p, builtin, sizeof(builtin));
	set->n = ACME_ARRAY_LEN(builtin);
	snprintf(set->default_name, sizeof(set->default_name), "classic");
}

/* Profile names: 1-63 of [A-Za-z0-9._-] (they travel in JSON and logs). */
static int
name_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			s[i] == '_' || s[i] == '-'))
			return 0;
	return i > 0 && i < PROFILE_NAME_SIZE;
}

enum ptype { P_INT, P_BOOL };

static const struct pkey {
	const char *name;
	enum ptype type;
	size_t off;
	long min, max; /* P_INT; the CA-wide bounds come later */
} pkeys[] = {
	{ "validity", P_INT, offsetof(struct profile, validity), 3600,
	    398L * DAY },
	{ "common_name", P_BOOL, offsetof(struct profile, common_name), 0, 1 },
	{ "subject_key_id", P_BOOL, offsetof(struct profile, subject_key_id), 0,
	    1 },
	{ "key_encipherment", P_BOOL,
	    offsetof(struct profile, key_encipherment), 0, 1 },
	{ "crl_distribution_point", P_BOOL,
	    offsetof(struct profile, crl_distribution_point), 0, 1 },
	{ "max_names", P_INT, offsetof(struct profile, max_names), 1, 100 },
	{ "order_lifetime", P_INT, offsetof(struct profile, order_lifetime), 60,
	    30L * DAY },
	{ "authz_lifetime", P_INT, offsetof(struct profile, authz_lifetime), 60,
	    30L * DAY },
	{ "authz_reuse", P_INT, offsetof(struct profile, authz_reuse), 0,
	    398L * DAY },
	{ "retired", P_BOOL, offsetof(struct profile, retired), 0, 1 },
};

static int *
field(struct profile *p, const struct pkey *k)
{
	return (int *)(void *)((char *)p + k->off);
}

static int
field_value(const struct profile *p, const struct pkey *k)
{
	return *(const int *)(const void *)((const char *)p + k->off);
}

/* "identifiers": a non-empty array of "dns" and "ip". */
static int
load_idents(struct profile *p, json_t *v, struct acme_problem *prob)
{
	json_t *e;
	size_t i;

	p->identifiers = 0;
	if (!json_is_array(v) || json_array_size(v) == 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "profile %s: identifiers must be a non-empty array",
		    p->name);
	json_array_foreach(v, i, e)
	{
		const char *s = json_string_value(e);

		if (s != NULL && strcmp(s, "dns") == 0)
			p->identifiers |= PROFILE_IDENT_DNS;
		else if (s != NULL && strcmp(s, "ip") == 0)
			p->identifiers |= PROFILE_IDENT_IP;
		else
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "profile %s: identifiers may hold \"dns\" and "
			    "\"ip\"",
			    p->name);
	}
	return 0;
}

static int
load_member(struct profile *p, const char *key, json_t *v,
    struct acme_problem *prob)
{
	size_t i;

	if (strcmp(key, "description") == 0) {
		const char *s = json_string_value(v);

		if (s == NULL || s[0] == '\0' ||
		    strlen(s) >= sizeof(p->description))
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "profile %s: description must be a string of 1 "
			    "to %zu bytes",
			    p->name, sizeof(p->description) - 1);
		snprintf(p->description, sizeof(p->description), "%s", s);
		return 0;
	}
	if (strcmp(key, "identifiers") == 0)
		return load_idents(p, v, prob);
	for (i = 0; i < ACME_ARRAY_LEN(pkeys); i++) {
		const struct pkey *k = &pkeys[i];
		json_int_t n;

		if (strcmp(k->name, key) != 0)
			continue;
		if (k->type == P_BOOL) {
			if (!json_is_boolean(v))
				return acme_problem_set(prob,
				    ACME_PROB_MALFORMED,
				    "profile %s: %s must be true or false",
				    p->name, key);
			*field(p, k) = json_is_true(v);
			return 0;
		}
		if (!json_is_integer(v) ||
		    (n = json_integer_value(v)) < k->min || n > k->max)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "profile %s: %s must be an integer from %ld to "
			    "%ld",
			    p->name, key, k->min, k->max);
		*field(p, k) = (int)n;
		return 0;
	}
	return acme_problem_set(prob, ACME_PROB_MALFORMED,
	    "profile %s: unknown key %s", p->name, key);
}

int
profile_set_load(struct profile_set *set, json_t *obj,
    struct acme_problem *prob)
{
	const char *name, *key;
	json_t *def, *v;
	int rc;

	if (!json_is_object(obj) || json_object_size(obj) == 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "config key profiles must be a non-empty object");
	if (json_object_size(obj) > PROFILE_MAX)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "config key profiles holds more than %d profiles",
		    PROFILE_MAX);
	set->n = 0;
	set->configured = 1;
	json_object_foreach(obj, name, def)
	{
		struct profile *p = &set->p[set->n];

		if (!name_ok(name))
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "profile names are 1 to %d of A-Z a-z 0-9 . _ -",
			    PROFILE_NAME_SIZE - 1);
		if (!json_is_object(def))
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "profile %s must be an object", name);
		*p = builtin[0];
		p->description[0] = '\0';
		snprintf(p->name, sizeof(p->name), "%s", name);
		json_object_foreach(def, key, v)
		{
			if ((rc = load_member(p, key, v, prob)) != 0)
				return rc;
		}
		if (p->description[0] == '\0')
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "profile %s needs a description", name);
		set->n++;
	}
	return 0;
}

/* Lowers *v to bound, or refuses, naming the profile and both keys. */
static int
bound(const struct profile_set *set, const struct profile *p, int *v,
    const char *key, int lim, const char *limkey, struct acme_problem *prob)
{
	if (*v <= lim)
		return 0;
	if (!set->configured) {
		*v = lim;
		return 0;
	}
	return acme_problem_set(prob, ACME_PROB_MALFORMED,
	    "profile %s: %s %d exceeds %s %d", p->name, key, *v, limkey, lim);
}

int
profile_set_check(struct profile_set *set, const struct profile_bounds *b,
    struct acme_problem *prob)
{
	const struct profile *def;
	size_t i;
	int rc;

	for (i = 0; i < set->n; i++) {
		struct profile *p = &set->p[i];

		if ((rc = bound(set, p, &p->validity, "validity",
			 b->cert_lifetime, "cert_lifetime", prob)) != 0 ||
		    (rc = bound(set, p, &p->max_names, "max_names",
			 b->max_names, "max_names", prob)) != 0 ||
		    (rc = bound(set, p, &p->order_lifetime, "order_lifetime",
			 b->order_lifetime, "order_lifetime", prob)) != 0 ||
		    (rc = bound(set, p, &p->authz_lifetime, "authz_lifetime",
			 b->authz_lifetime, "authz_lifetime", prob)) != 0 ||
		    (rc = bound(set, p, &p->authz_reuse, "authz_reuse",
			 b->valid_authz_lifetime, "valid_authz_lifetime",
			 prob)) != 0)
			return rc;
	}
	def = profile_find(set, set->default_name);
	if (def == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "default_profile %s is not among the profiles",
		    set->default_name);
	if (def->retired)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "default_profile %s is retired", set->default_name);
	return 0;
}

json_t *
profile_set_json(const struct profile_set *set)
{
	json_t *all = json_object(), *o, *ids;
	size_t i, k;

	for (i = 0; all != NULL && i < set->n; i++) {
		const struct profile *p = &set->p[i];

		ids = json_array();
		if (p->identifiers & PROFILE_IDENT_DNS)
			json_array_append_new(ids, json_string("dns"));
		if (p->identifiers & PROFILE_IDENT_IP)
			json_array_append_new(ids, json_string("ip"));
		o = json_pack("{s:s, s:o}", "description", p->description,
		    "identifiers", ids);
		for (k = 0; o != NULL && k < ACME_ARRAY_LEN(pkeys); k++) {
			int v = field_value(p, &pkeys[k]);

			json_object_set_new(o, pkeys[k].name,
			    pkeys[k].type == P_BOOL ? json_boolean(v) :
						      json_integer(v));
		}
		if (o == NULL || json_object_set_new(all, p->name, o) != 0) {
			json_decref(all);
			return NULL;
		}
	}
	return all;
}

const struct profile *
profile_find(const struct profile_set *set, const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		name = set->default_name;
	for (i = 0; i < set->n; i++)
		if (strcmp(set->p[i].name, name) == 0)
			return &set->p[i];
	return NULL;
}

/* "a, b, c": the names of the profiles offered, for error details. */
static void
offered(const struct profile_set *set, char *out, size_t size)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < set->n; i++) {
		int w;

		if (set->p[i].retired)
			continue;
		w = snprintf(out + len, size - len, "%s%s", len > 0 ? ", " : "",
		    set->p[i].name);
		if (w < 0 || (size_t)w >= size - len)
			break;
		len += (size_t)w;
	}
}

int
profile_for_order(const struct profile_set *set, const char *requested,
    const struct profile **out, struct acme_problem *prob)
{
	const struct profile *p = profile_find(set,
	    requested != NULL ? requested : set->default_name);
	char list[PROFILE_MAX * PROFILE_NAME_SIZE];

	*out = NULL;
	/* "" is how old orders say "the default"; a client must name one. */
	if (p == NULL || p->retired ||
	    (requested != NULL && requested[0] == '\0')) {
		offered(set, list, sizeof(list));
		return acme_problem_set(prob, ACME_PROB_INVALID_PROFILE,
		    "profile \"%.64s\" is not offered; this CA offers %s",
		    requested != NULL ? requested : "", list);
	}
	*out = p;
	return 0;
}

int
profile_window(const struct profile *p, time_t now, time_t req_nb,
    time_t req_na, time_t issuer_na, time_t *nb, time_t *na,
    struct acme_problem *prob)
{
	time_t b = req_nb != 0 ? req_nb : now - PROFILE_BACKDATE;
	time_t a = req_na != 0 ? req_na : b + p->validity;

	if (issuer_na <= now) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "the issuing certificate has expired");
		return ACME_ERR_UNSUPPORTED;
	}
	if (b < now - PROFILE_BACKDATE_MAX || b > now + PROFILE_AHEAD_MAX)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "notBefore must be from %d seconds before now to %d "
		    "seconds after",
		    PROFILE_BACKDATE_MAX, PROFILE_AHEAD_MAX);
	if (a - b > p->validity) /* requested: S-ORD-2, never cut */
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the requested validity exceeds the %d seconds of "
		    "profile %s",
		    p->validity, p->name);
	if (a > issuer_na) {
		if (req_na != 0)
			return acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "notAfter is after the issuing certificate's");
		a = issuer_na;
	}
	if (a <= b || a <= now)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the validity window %s",
		    a <= now ? "has passed" : "is empty");
	*nb = b;
	*na = a;
	return 0;
}

int
profile_check_identifiers(const struct profile *p, const struct acme_ident *ids,
    size_t n, struct acme_problem *prob)
{
	size_t i;
	int bad = 0;

	if (n > (size_t)p->max_names)
		return acme_problem_set(prob, ACME_PROB_INVALID_PROFILE,
		    "profile %s allows at most %d identifiers, the order has "
		    "%zu",
		    p->name, p->max_names, n);
	for (i = 0; i < n; i++) {
		int flag = ids[i].type == ACME_IDENT_IP ? PROFILE_IDENT_IP :
							  PROFILE_IDENT_DNS;

		if (p->identifiers & flag)
			continue;
		if (!bad)
			acme_problem_set(prob, ACME_PROB_INVALID_PROFILE,
			    "profile %s does not issue for %s identifiers "
			    "(%s)",
			    p->name,
			    flag == PROFILE_IDENT_IP ? "IP address" : "DNS",
			    ids[i].value);
		acme_problem_add_sub(prob, ACME_PROB_REJECTED_IDENTIFIER,
		    &ids[i], "profile %s does not issue for this type",
		    p->name);
		bad = 1;
	}
	return bad ? ACME_ERR_INVAL : 0;
}

json_t *
profile_set_meta(const struct profile_set *set)
{
	json_t *m = json_object();
	size_t i;

	for (i = 0; m != NULL && i < set->n; i++)
		if (!set->p[i].retired)
			json_object_set_new(m, set->p[i].name,
			    json_string(set->p[i].description));
	return m;
}
