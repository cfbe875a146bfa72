/* SPDX-License-Identifier: ISC */
/*
 * Certificate profiles (draft-ietf-acme-profiles): named sets of rules a
 * client picks with newOrder's "profile".  A profile decides what the
 * certificate holds beyond its names and key (validity, subject CN, SKI,
 * keyEncipherment; S-PROF-8), which identifiers and how many an order
 * may carry, and how long its orders and authorizations live.  Profiles
 * are configured in anvil-ca.json ("profiles", "default_profile"); the
 * built-in set follows Let's Encrypt's classic, tlsserver and shortlived.
 * A retired profile is still known, so its existing orders can be told
 * why they cannot be finalized, but it is neither advertised nor
 * accepted for new orders (S-PROF-7).
 */
#ifndef ANVIL_PROFILE_H
#define ANVIL_PROFILE_H

#include <stddef.h>
#include <time.h>

#include <jansson.h>

#include <anvil/ident.h>
#include <anvil/problem.h>

#define PROFILE_NAME_SIZE 64 /* matches store_order.profile */
#define PROFILE_DESC_SIZE 256
#define PROFILE_MAX       16 /* profiles in one configuration */

enum profile_ident_flags {
	PROFILE_IDENT_DNS = 1 << 0,
	PROFILE_IDENT_IP = 1 << 1,
};

struct profile {
	char name[PROFILE_NAME_SIZE];
	char description[PROFILE_DESC_SIZE]; /* meta.profiles value */
	int validity;         /* seconds of certificate validity */
	int common_name;      /* first DNS name of <= 64 bytes becomes CN */
	int subject_key_id;   /* subjectKeyIdentifier extension */
	int key_encipherment; /* keyEncipherment key usage for RSA keys */
	int crl_distribution_point; /* names the CA's CRL, when it has a
				     * URL for one (D50) */
	int identifiers;            /* enum profile_ident_flags */
	int max_names;              /* identifiers per order */
	int order_lifetime;         /* seconds a pending order lives */
	int authz_lifetime;         /* seconds a pending authorization lives */
	int authz_reuse;            /* seconds: reuse authorizations validated
			       * at most this long ago; 0 = never */
	int retired;                /* known, not offered, not finalized */
};

/* The CA-wide bounds every profile must stay within (from struct conf). */
struct profile_bounds {
	int cert_lifetime;
	int max_names;
	int order_lifetime;
	int authz_lifetime;
	int valid_authz_lifetime;
};

struct profile_set {
	struct profile p[PROFILE_MAX];
	size_t n;
	char default_name[PROFILE_NAME_SIZE];
	int configured; /* 1 when the file had a "profiles" key */
};

/* The built-in classic, tlsserver and shortlived profiles; default classic. */
void profile_defaults(struct profile_set *set);

/*
 * Replaces set's profiles with those of a "profiles" object from the
 * configuration file (name -> object).  Keys missing from a profile take
 * the built-in classic values; "description" is required.  Unknown keys,
 * wrong types and bad names are errors (prob: malformed, naming the
 * profile and key).  Bounds are checked later by profile_set_check().
 */
int profile_set_load(struct profile_set *set, json_t *obj,
    struct acme_problem *prob);

/*
 * Checks the set once the whole file is read: the default exists and is
 * not retired, and every profile stays within b (a configured profile
 * beyond a bound is an error naming both; the built-in set, used when the
 * file has no "profiles", is lowered to the bounds instead, so files
 * written before profiles existed keep issuing what they did).
 */
int profile_set_check(struct profile_set *set, const struct profile_bounds *b,
    struct acme_problem *prob);

/* The "profiles" object for the configuration file (new reference). */
json_t *profile_set_json(const struct profile_set *set);

/*
 * The profile called name, "" meaning the default (orders stored before
 * profiles existed carry ""); NULL when there is none.  Borrowed.
 */
const struct profile *profile_find(const struct profile_set *set,
    const char *name);

/*
 * The profile a newOrder asks for (requested NULL: the default).  An
 * unknown or retired name is invalidProfile, the detail listing what
 * the CA offers (S-PROF-4).
 */
int profile_for_order(const struct profile_set *set, const char *requested,
    const struct profile **out, struct acme_problem *prob);

/*
 * Whether identifiers fit p: their types and number.  A misfit is
 * invalidProfile (S-PROF-4) with a rejectedIdentifier subproblem for each
 * identifier of a type p does not issue for.
 */
int profile_check_identifiers(const struct profile *p,
    const struct acme_ident *ids, size_t n, struct acme_problem *prob);

/*
 * Validity (D56).  Without a requested notBefore a certificate starts
 * PROFILE_BACKDATE seconds before it is signed (clock skew); a requested
 * one may lie at most PROFILE_BACKDATE_MAX before the signing (BR
 * 7.1.2.7 allows 48 hours) and PROFILE_AHEAD_MAX after it.
 */
#define PROFILE_BACKDATE     60
#define PROFILE_BACKDATE_MAX 3600
#define PROFILE_AHEAD_MAX    86400

/*
 * The validity of a certificate signed at now under p, for an order that
 * asked for req_nb and req_na (0: not asked), issued by a certificate
 * that ends at issuer_na.  notBefore is the requested one (refused when
 * outside the bounds above) or now - PROFILE_BACKDATE; notAfter is the
 * requested one (refused when more than p->validity after notBefore:
 * the profile may have been shortened since the order was placed) or
 * notBefore + p->validity.  A notAfter after issuer_na is refused when
 * requested, cut to it otherwise.  The window must end after now and
 * after notBefore (S-ORD-2: a requested window is never changed).
 * Returns 0 with *nb and *na set; ACME_ERR_INVAL (malformed) when the
 * order's request cannot be honoured; ACME_ERR_UNSUPPORTED
 * (serverInternal) when the issuer has expired.
 */
int profile_window(const struct profile *p, time_t now, time_t req_nb,
    time_t req_na, time_t issuer_na, time_t *nb, time_t *na,
    struct acme_problem *prob);

/* meta.profiles: name -> description of every profile not retired. */
json_t *profile_set_meta(const struct profile_set *set);

#endif
