/* SPDX-License-Identifier: ISC */
/*
 * CAA checking (RFC 8659, RFC 8657): find the relevant CAA RRset by
 * climbing from the name towards the root, then decide whether this CA
 * (one of the configured caaIdentities) may issue: "issuewild" governs
 * wildcards when present, else "issue"; an unknown tag with the critical
 * flag forbids issuance; the accounturi and validationmethods parameters
 * of RFC 8657 are honoured.  Lookup failures forbid issuance (fail
 * closed).  IP identifiers have no CAA (RFC 8738 7).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <anvil/err.h>

#include "va.h"

#include "internal.h"

#define RR_CAA       DNSMSG_TYPE_CAA
#define CAA_CRITICAL 0x80
/* RFC 8659 4.1: the flags and tag length bytes before the tag. */
#define CAA_FIXED 2
/* Bytes kept of a tag (which SHOULD be at most 15 octets, RFC 8659
 * 4.1) and of a value, NUL included; a longer one is cut. */
#define CAA_TAG_SIZE   16
#define CAA_VALUE_SIZE 512
/* Bytes of "/acme/acct/ID", the end of this CA's account URLs. */
#define ACCT_SUFFIX_MAX 64
/* The scheme an accounturi must have (RFC 8657 3). */
#define HTTPS "https://"

struct caa_rr {
	int flags;
	int cut; /* tag or value longer than the buffer: unusable */
	char tag[CAA_TAG_SIZE];
	char value[CAA_VALUE_SIZE];
};

/* Trims spaces at both ends in place; returns the start. */
static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Is issuer one of the configured identities (comma-separated)? */
static int
our_identity(const struct conf *cfg, const char *issuer)
{
	char list[sizeof(cfg->caa_identities)], *p, *save = NULL;

	snprintf(list, sizeof(list), "%s", cfg->caa_identities);
	for (p = strtok_r(list, ",", &save); p != NULL;
	     p = strtok_r(NULL, ",", &save))
		if (strcasecmp(trim(p), issuer) == 0)
			return 1;
	return 0;
}

static const char *
skip_wsp(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/*
 * A label or a parameter tag of RFC 8659 4.2: letters and digits, with
 * hyphens only between them.  Returns the end of it, or NULL.
 */
static const char *
alnum_hyphen(const char *p)
{
	if (!isalnum((unsigned char)*p))
		return NULL;
	for (;;) {
		const char *q = p + 1;

		while (*q == '-')
			q++;
		if (!isalnum((unsigned char)*q))
			return p + 1;
		p = q;
	}
}

/*
 * Does value match issue-value (RFC 8659 4.2)?
 *
 *   *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
 *
 * with parameters "tag *WSP = *WSP value" separated by ";", a value
 * being printable ASCII without ";" or spaces.  One ";" after the last
 * parameter is let through, as zone files are written.  A value that
 * does not match counts as naming no issuer (S-CAA-5).
 */
static int
issue_value_ok(const char *p)
{
	p = skip_wsp(p);
	if (isalnum((unsigned char)*p))
		for (;;) {
			if ((p = alnum_hyphen(p)) == NULL)
				return 0;
			if (*p != '.')
				break;
			p++;
		}
	/* Then, each time round: the end, or ";" and a parameter. */
	for (;;) {
		p = skip_wsp(p);
		if (*p == '\0')
			return 1;
		if (*p++ != ';')
			return 0;
		p = skip_wsp(p);
		if (*p == '\0')
			return 1;
		if ((p = alnum_hyphen(p)) == NULL)
			return 0;
		p = skip_wsp(p);
		if (*p++ != '=')
			return 0;
		p = skip_wsp(p);
		while (*p > ' ' && *p < ASCII_DEL && *p != ';')
			p++;
	}
}

/*
 * Does one issue/issuewild value permit us?  value is
 * "issuer-domain [; key=value]*" (RFC 8659 4.2).
 */
static int
permits(const struct conf *cfg, const char *value, const char *account_id,
    const char *method)
{
	char buf[CAA_VALUE_SIZE], *params, *issuer, *p, *save = NULL;
	int accounturis = 0;

	if (!issue_value_ok(value))
		return 0;
	snprintf(buf, sizeof(buf), "%s", value);
	params = strchr(buf, ';');
	if (params != NULL)
		*params++ = '\0';
	issuer = trim(buf);
	if (*issuer == '\0' || !our_identity(cfg, issuer))
		return 0;
	for (p = params != NULL ? strtok_r(params, ";", &save) : NULL;
	     p != NULL; p = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(p, '='), *key, *val;

		if (eq == NULL)
			continue;
		*eq = '\0';
		key = trim(p);
		val = trim(eq + 1);
		if (strcasecmp(key, "accounturi") == 0) {
			/* RFC 8657 3: the account URL; this CA's paths end in
			 * /acme/acct/<id>, the host is whatever clients used.
			 * Given twice, the property is unsatisfiable
			 * (S-CAA-12). */
			char suffix[ACCT_SUFFIX_MAX];
			size_t vl = strlen(val), sl;

			if (++accounturis > 1)
				return 0;

			snprintf(suffix, sizeof(suffix), "/acme/acct/%s",
			    account_id);
			sl = strlen(suffix);
			if (strncmp(val, HTTPS, LIT_LEN(HTTPS)) != 0 ||
			    vl < sl || strcmp(val + vl - sl, suffix) != 0)
				return 0;
		} else if (strcasecmp(key, "validationmethods") == 0) {
			char *m, *save2 = NULL;
			int found = 0;

			for (m = strtok_r(val, ",", &save2); m != NULL;
			     m = strtok_r(NULL, ",", &save2))
				if (strcmp(trim(m), method) == 0)
					found = 1;
			if (!found)
				return 0;
		}
	}
	return 1;
}

/*
 * One CAA record's rdata: flags, tag length, tag, value.  -1 when it is
 * malformed (a zero-length tag, or one running past the rdata).  A tag
 * or value too long for the buffers is kept cut and marked: a cut tag
 * is 15 octets, so it never equals a tag this CA knows and counts as
 * an unknown one; a cut value permits nothing.
 */
static int
parse_rr(const unsigned char *d, size_t len, struct caa_rr *rr)
{
	size_t tl, vl, i, keep;

	if (len < CAA_FIXED)
		return -1;
	rr->flags = d[0];
	rr->cut = 0;
	tl = d[1];
	if (tl == 0 || CAA_FIXED + tl > len)
		return -1;
	keep = tl < sizeof(rr->tag) ? tl : sizeof(rr->tag) - 1;
	for (i = 0; i < keep; i++)
		rr->tag[i] = (char)tolower(d[CAA_FIXED + i]);
	rr->tag[keep] = '\0';
	vl = len - CAA_FIXED - tl;
	if (keep < tl || vl >= sizeof(rr->value)) {
		rr->cut = 1;
		if (vl >= sizeof(rr->value))
			vl = sizeof(rr->value) - 1;
	}
	memcpy(rr->value, d + CAA_FIXED + tl, vl);
	rr->value[vl] = '\0';
	return 0;
}

/*
 * The CAA cache (D41): RRsets by name, kept for cfg caa_cache_seconds.
 * The Baseline Requirements (3.2.2.8) let a CA act on a CAA lookup for
 * the record's TTL or 8 hours, whichever is greater; a CA sees the same
 * parent names (example.com, com) in order after order, and
 * pebble-challtestsrv and many zones answer with TTL 0.  Only definite
 * answers are kept (records, no records, NXDOMAIN; not failures or
 * DNSSEC-bogus ones), as the rdata bytes of the answer.  Direct-mapped
 * slots under one mutex: a lookup holds it for a hash and a copy.
 */
#define CAA_CACHE_SLOTS 4096
#define CAA_CACHE_MAX   1024 /* rdata bytes an entry may hold */
/* Records an entry may hold; larger sets are looked up each time. */
#define CAA_CACHE_RRS 32

struct caa_entry {
	char *name; /* NULL: empty */
	time_t expires;
	int rcode;
	size_t n;
	uint16_t len[CAA_CACHE_RRS];
	unsigned char *rdata; /* the n records back to back */
};

struct caa_cache {
	pthread_mutex_t lock;
	int seconds;
	struct caa_entry slot[CAA_CACHE_SLOTS];
};

struct caa_cache *
caa_cache_new(int seconds)
{
	struct caa_cache *c;

	if (seconds <= 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->seconds = seconds;
	return c;
}

static void
entry_clear(struct caa_entry *e)
{
	free(e->name);
	free(e->rdata);
	memset(e, 0, sizeof(*e));
}

void
caa_cache_free(struct caa_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CAA_CACHE_SLOTS; i++)
		entry_clear(&c->slot[i]);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static time_t
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static struct caa_entry *
slot_of(struct caa_cache *c, const char *name)
{
	return &c->slot[srv_hash(name) % CAA_CACHE_SLOTS];
}

/* A cached answer for name into *r (as va_resolve_bounded fills it). */
static int
cache_get(struct caa_cache *c, const char *name, struct va_dns_result *r)
{
	struct caa_entry *e;
	size_t i, off = 0, total = 0;
	int hit = 0;

	pthread_mutex_lock(&c->lock);
	e = slot_of(c, name);
	if (e->name != NULL && strcmp(e->name, name) == 0 &&
	    e->expires > now_s()) {
		for (i = 0; i < e->n; i++)
			total += e->len[i];
		memset(r, 0, sizeof(*r));
		if ((r->pkt = malloc(total + 1)) != NULL) {
			memcpy(r->pkt, e->rdata, total);
			for (i = 0; i < e->n; i++) {
				r->data[i] = r->pkt + off;
				r->len[i] = e->len[i];
				off += e->len[i];
			}
			r->n = e->n;
			r->havedata = r->n > 0;
			r->rcode = e->rcode;
			r->nxdomain = e->rcode == DNSMSG_RCODE_NXDOMAIN;
			hit = 1;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

static void
cache_put(struct caa_cache *c, const char *name, const struct va_dns_result *r)
{
	struct caa_entry fresh = { 0 }, *e;
	size_t i, off = 0, total = 0;

	if (r->n > CAA_CACHE_RRS)
		return;
	for (i = 0; i < r->n; i++)
		total += r->len[i];
	if (total > CAA_CACHE_MAX || (fresh.name = strdup(name)) == NULL ||
	    (fresh.rdata = malloc(total + 1)) == NULL) {
		free(fresh.name);
		return;
	}
	for (i = 0; i < r->n; i++) {
		memcpy(fresh.rdata + off, r->data[i], r->len[i]);
		fresh.len[i] = (uint16_t)r->len[i];
		off += r->len[i];
	}
	fresh.n = r->n;
	fresh.rcode = r->rcode;
	fresh.expires = now_s() + c->seconds;
	pthread_mutex_lock(&c->lock);
	e = slot_of(c, name);
	entry_clear(e);
	*e = fresh;
	pthread_mutex_unlock(&c->lock);
}

/*
 * The CAA RRset at name, from cache when it holds a fresh one, else
 * from DNS (kept when definite).  As va_resolve_bounded.
 */
static int
caa_rrset(struct va_resolver *res, struct caa_cache *cache, long long deadline,
    const char *name, struct va_dns_result *r)
{
	int rc;

	if (cache != NULL && cache_get(cache, name, r))
		return 0;
	rc = va_resolve_bounded(res, name, RR_CAA, va_time_left(deadline), r);
	if (rc == 0 && cache != NULL && !r->bogus &&
	    (r->rcode == 0 || r->rcode == DNSMSG_RCODE_NXDOMAIN))
		cache_put(cache, name, r);
	return rc;
}

int
va_caa(const struct conf *cfg, struct va_resolver *res, struct caa_cache *cache,
    long long deadline, const char *name, int wildcard, const char *account_id,
    const char *method, struct acme_problem *prob)
{
	const char *at = name;
	int rc;

	if (res == NULL)
		return acme_problem_set(prob, ACME_PROB_CAA,
		    "no resolver to check CAA");
	for (;;) {
		struct caa_rr rr;
		struct va_dns_result r;
		int has_issue = 0, has_wild = 0, ok = 0;
		const char *tag;
		size_t k;

		rc = caa_rrset(res, cache, deadline, at, &r);
		if (rc != 0 || r.bogus ||
		    (r.rcode != 0 && r.rcode != DNSMSG_RCODE_NXDOMAIN)) {
			va_dns_result_release(&r);
			return acme_problem_set(prob, ACME_PROB_CAA,
			    "CAA lookup for %.200s failed", at);
		}
		if (r.n == 0) {
			va_dns_result_release(&r);
			at = strchr(at, '.');
			if (at == NULL || at[1] == '\0')
				return 0; /* no CAA up to the root */
			at++;
			continue;
		}
		/*
		 * Fail closed: the answer reader keeps DNSMSG_MAX_RR records,
		 * so a full set may have lost some (a critical one among
		 * them), and a record that does not parse may be anything.
		 */
		if (r.n >= DNSMSG_MAX_RR) {
			va_dns_result_release(&r);
			return acme_problem_set(prob, ACME_PROB_CAA,
			    "CAA at %.200s has %d or more records", at,
			    DNSMSG_MAX_RR);
		}
		for (k = 0; k < r.n; k++) {
			if (parse_rr(r.data[k], r.len[k], &rr) != 0) {
				va_dns_result_release(&r);
				return acme_problem_set(prob, ACME_PROB_CAA,
				    "CAA at %.200s has a malformed record", at);
			}
			if (strcmp(rr.tag, "issue") == 0)
				has_issue = 1;
			else if (strcmp(rr.tag, "issuewild") == 0)
				has_wild = 1;
			else if ((rr.flags & CAA_CRITICAL) &&
				 strcmp(rr.tag, "iodef") != 0) {
				va_dns_result_release(&r);
				return acme_problem_set(prob, ACME_PROB_CAA,
				    "CAA at %.200s has an unknown critical "
				    "property \"%s%s\"",
				    at, rr.tag, rr.cut ? "..." : "");
			}
		}
		/*
		 * This is the relevant RRset (RFC 8659 3).  issuewild wins
		 * for wildcards (4.3); without the property that governs,
		 * any CA may issue.
		 */
		if (!has_issue && !(wildcard && has_wild)) {
			va_dns_result_release(&r);
			return 0;
		}
		tag = wildcard && has_wild ? "issuewild" : "issue";
		for (k = 0; k < r.n && !ok; k++)
			if (parse_rr(r.data[k], r.len[k], &rr) == 0 &&
			    !rr.cut && strcmp(rr.tag, tag) == 0 &&
			    permits(cfg, rr.value, account_id, method))
				ok = 1;
		va_dns_result_release(&r);
		if (!ok)
			return acme_problem_set(prob, ACME_PROB_CAA,
			    "CAA records at %.200s do not allow this CA to "
			    "issue for %s%.200s",
			    at, wildcard ? "*." : "", name);
		return 0;
	}
}
