/* SPDX-License-Identifier: ISC */
/*
 * dns-01 by RFC 2136 dynamic update, signed with TSIG (RFC 8945), through
 * ldns.  For each challenge: find the zone holding _acme-challenge.<name>
 * by asking the server for SOA records while climbing labels, send one
 * UPDATE adding the TXT record, check the reply's RCODE (and TSIG error),
 * then wait, at most RFC2136_WAIT seconds, until the same server answers
 * the record, so that the CA's lookup cannot beat it (S-DNS-7).  Removal
 * deletes exactly the record added (class NONE, RFC 2136 section 2.5.4),
 * so other TXT records at the name, such as the wildcard's and the
 * apex's sharing _acme-challenge.<name>, stay.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include <anvil/err.h>

#include "dnslib.h"
#include "solver.h"
#include "tsig_key.h"

#include "internal.h"

#define RFC2136_WAIT 120 /* seconds to wait for the record to be served */
#define RFC2136_TTL  60  /* seconds; short, the record lives minutes */
#define MAX_RECORDS  128

/* TSIG error codes (RFC 8945 section 5.3), not in ldns's tables. */
#define TSIG_BADSIG  16
#define TSIG_BADKEY  17
#define TSIG_BADTIME 18

struct published {
	char token[130];
	char fqdn[300];
	char zone[300];
	char value[64];
};

struct rfc2136 {
	char server[300];    /* as given, for messages */
	ldns_resolver *upd;  /* updates: signed when a key is set */
	ldns_resolver *look; /* SOA and TXT queries, unsigned */
	struct tsig_key key;
	int has_key;
	struct published pub[MAX_RECORDS];
	size_t npub;
};

/*
 * Splits "HOST", "HOST:PORT", "[V6]:PORT" or a bare IPv6 address into a
 * host and a port (default 53).  Returns 0 or -1.
 */
static int
split_server(const char *s, char *host, size_t size, uint16_t *port)
{
	const char *colon = strrchr(s, ':'), *h = s, *hend;
	char *end;
	long v = 53;

	if (s[0] == '[') {
		h = s + 1;
		if ((hend = strchr(h, ']')) == NULL ||
		    (hend[1] != '\0' && hend[1] != ':'))
			return -1;
		colon = hend[1] == ':' ? hend + 1 : NULL;
	} else if (colon != NULL && strchr(s, ':') != colon) {
		colon = NULL; /* several ':': an IPv6 address, no port */
		hend = s + strlen(s);
	} else {
		hend = colon != NULL ? colon : s + strlen(s);
	}
	if (colon != NULL) {
		v = strtol(colon + 1, &end, 10);
		if (*end != '\0' || end == colon + 1 || v < 1 || v > 65535)
			return -1;
	}
	if (hend == h || (size_t)(hend - h) >= size)
		return -1;
	memcpy(host, h, (size_t)(hend - h));
	host[hend - h] = '\0';
	*port = (uint16_t)v;
	return 0;
}

/* A resolver that asks only server, without recursion. */
static ldns_resolver *
resolver_for(const ldns_rdf *addr, uint16_t port)
{
	ldns_resolver *r = ldns_resolver_new();
	struct timeval tv = { .tv_sec = 3, .tv_usec = 0 };

	if (r == NULL)
		return NULL;
	if (ldns_resolver_push_nameserver(r, addr) != LDNS_STATUS_OK) {
		ldns_resolver_deep_free(r);
		return NULL;
	}
	ldns_resolver_set_port(r, port);
	ldns_resolver_set_recursive(r, false);
	ldns_resolver_set_timeout(r, tv);
	ldns_resolver_set_retry(r, 2);
	ldns_resolver_set_retrans(r, 1);
	ldns_resolver_set_fallback(r, true); /* TCP when truncated */
	return r;
}

/* The server's address as an ldns A/AAAA rdf (host names resolved). */
static ldns_rdf *
server_addr(const char *host)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	char text[INET6_ADDRSTRLEN];
	ldns_rdf *rdf = NULL;

	if (getaddrinfo(host, NULL, &hints, &ai) != 0 || ai == NULL)
		return NULL;
	if (ai->ai_family == AF_INET &&
	    inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr,
		text, sizeof(text)) != NULL)
		rdf = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_A, text);
	else if (ai->ai_family == AF_INET6 &&
		 inet_ntop(AF_INET6,
		     &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, text,
		     sizeof(text)) != NULL)
		rdf = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_AAAA, text);
	freeaddrinfo(ai);
	return rdf;
}

/* Asks the server for name's records of type; NULL on no reply. */
static ldns_pkt *
ask(struct rfc2136 *r, const char *name, ldns_rr_type type, ldns_status *st)
{
	ldns_rdf *dname = ldns_dname_new_frm_str(name);
	ldns_pkt *reply = NULL;

	if (dname == NULL) {
		*st = LDNS_STATUS_SYNTAX_ERR;
		return NULL;
	}
	*st = ldns_resolver_send(&reply, r->look, dname, type, LDNS_RR_CLASS_IN,
	    0);
	ldns_rdf_deep_free(dname);
	if (*st != LDNS_STATUS_OK) {
		ldns_pkt_free(reply);
		return NULL;
	}
	return reply;
}

/* The name one label up, or NULL at the top. */
static const char *
parent(const char *name)
{
	const char *dot = strchr(name, '.');

	return dot != NULL ? dot + 1 : NULL;
}

/*
 * The zone holding fqdn at the server: the closest enclosing name for
 * which it answers an SOA record.  Written to zone without the last dot.
 */
static int
find_zone(struct rfc2136 *r, const char *fqdn, char *zone, size_t size,
    struct acme_problem *prob)
{
	const char *at;
	ldns_status st;

	for (at = fqdn; at != NULL && *at != '\0'; at = parent(at)) {
		ldns_pkt *reply = ask(r, at, LDNS_RR_TYPE_SOA, &st);
		ldns_rdf *want;
		size_t i;
		int found = 0;

		if (reply == NULL)
			return acme_problem_set(prob, ACME_PROB_DNS,
			    "no answer from %s to an SOA query for %s: %s",
			    r->server, at, ldns_get_errorstr_by_id(st));
		want = ldns_dname_new_frm_str(at);
		for (i = 0; want != NULL &&
			    ldns_pkt_get_rcode(reply) == LDNS_RCODE_NOERROR &&
			    i < ldns_rr_list_rr_count(ldns_pkt_answer(reply));
		     i++) {
			ldns_rr *rr =
			    ldns_rr_list_rr(ldns_pkt_answer(reply), i);

			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA &&
			    ldns_dname_compare(ldns_rr_owner(rr), want) == 0)
				found = 1;
		}
		ldns_rdf_deep_free(want);
		ldns_pkt_free(reply);
		if (found) {
			snprintf(zone, size, "%s", at);
			return 0;
		}
	}
	return acme_problem_set(prob, ACME_PROB_DNS,
	    "%s serves no zone holding %s (no SOA record at any of its "
	    "parents)",
	    r->server, fqdn);
}

/* The TXT record fqdn IN TXT value, with ttl and class. */
static ldns_rr *
txt_rr(const char *fqdn, const char *value, uint32_t ttl, ldns_rr_class cls)
{
	ldns_rr *rr = ldns_rr_new();
	ldns_rdf *owner = ldns_dname_new_frm_str(fqdn);
	ldns_rdf *txt = ldns_rdf_new_frm_str(LDNS_RDF_TYPE_STR, value);

	if (rr == NULL || owner == NULL || txt == NULL) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(owner);
		ldns_rdf_deep_free(txt);
		return NULL;
	}
	ldns_rr_set_owner(rr, owner);
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, cls);
	ldns_rr_set_ttl(rr, ttl);
	ldns_rr_push_rdf(rr, txt);
	return rr;
}

/* Why a TSIG error happened, for the one line the user sees. */
static const char *
tsig_hint(int err, char *buf, size_t size, const struct rfc2136 *r)
{
	switch (err) {
	case TSIG_BADSIG:
		snprintf(buf, size,
		    "TSIG BADSIG: the server rejects the signature of key "
		    "\"%s\" (wrong secret or algorithm?)",
		    r->key.name);
		break;
	case TSIG_BADKEY:
		snprintf(buf, size,
		    "TSIG BADKEY: the server does not know key \"%s\" (%s)",
		    r->key.name, r->key.alg);
		break;
	case TSIG_BADTIME:
		snprintf(buf, size,
		    "TSIG BADTIME: this host's clock and the server's differ "
		    "by more than 5 minutes");
		break;
	default:
		snprintf(buf, size, "TSIG error %d", err);
	}
	return buf;
}

/*
 * Sends one UPDATE of zone holding rr (taken) and checks the reply.
 * what is "add" or "delete", for messages.
 */
static int
update(struct rfc2136 *r, const char *zone, ldns_rr *rr, const char *what,
    struct acme_problem *prob)
{
	ldns_rr_list *ups = ldns_rr_list_new();
	ldns_rdf *zrdf = ldns_dname_new_frm_str(zone);
	ldns_pkt *pkt = NULL, *reply = NULL;
	ldns_status st;
	ldns_rr *tsig;
	const ldns_lookup_table *rc;
	char hint[400] = "";
	int tsig_err = 0, rcode, ret = ACME_ERR_IO;

	if (ups == NULL || zrdf == NULL || rr == NULL ||
	    !ldns_rr_list_push_rr(ups, rr)) {
		ldns_rr_free(rr);
		ldns_rdf_deep_free(zrdf);
		ret = acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "cannot build a DNS update for zone %s", zone);
		goto out;
	}
	/* The packet takes zrdf and copies the list. */
	if ((pkt = ldns_update_pkt_new(zrdf, LDNS_RR_CLASS_IN, NULL, ups,
		 NULL)) == NULL) {
		ldns_rdf_deep_free(zrdf);
		ret = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	ldns_pkt_set_rd(pkt, false);
	ldns_pkt_set_random_id(pkt);
	if (r->has_key &&
	    ldns_update_pkt_tsig_add(pkt, r->upd) != LDNS_STATUS_OK) {
		ret = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot sign the DNS update with key \"%s\"", r->key.name);
		goto out;
	}
	/* ldns_send, not ldns_resolver_send_pkt: the latter drops a reply
	 * whose TSIG does not verify, and a BADSIG reply is unsigned. */
	st = ldns_send(&reply, r->upd, pkt);
	if (reply == NULL) {
		ret = acme_problem_set(prob, ACME_PROB_DNS,
		    "no reply from %s to the %s update of zone %s: %s",
		    r->server, what, zone, ldns_get_errorstr_by_id(st));
		goto out;
	}
	rcode = ldns_pkt_get_rcode(reply);
	if ((tsig = ldns_pkt_tsig(reply)) != NULL && ldns_rr_rd_count(tsig) > 5)
		tsig_err = ldns_rdf2native_int16(ldns_rr_rdf(tsig, 5));
	if (rcode != LDNS_RCODE_NOERROR || tsig_err != 0) {
		rc = ldns_lookup_by_id(ldns_rcodes, rcode);
		if (tsig_err != 0)
			tsig_hint(tsig_err, hint, sizeof(hint), r);
		else if (rcode == LDNS_RCODE_REFUSED && r->has_key)
			snprintf(hint, sizeof(hint),
			    "key \"%s\" may not update this zone", r->key.name);
		else if (rcode == LDNS_RCODE_REFUSED)
			snprintf(hint, sizeof(hint),
			    "updates without a TSIG key are not allowed here");
		else if (rcode == LDNS_RCODE_NOTAUTH)
			snprintf(hint, sizeof(hint),
			    "the server is not authoritative for the zone");
		ret = acme_problem_set(prob, ACME_PROB_DNS,
		    "%s refused the %s update of zone %s: %s%s%s", r->server,
		    what, zone, rc != NULL ? rc->name : "unknown RCODE",
		    hint[0] != '\0' ? ", " : "", hint);
		goto out;
	}
	if (st != LDNS_STATUS_OK) {
		/* NOERROR, but the reply's signature does not verify. */
		ret = acme_problem_set(prob, ACME_PROB_DNS,
		    "the reply from %s to the %s update of zone %s: %s",
		    r->server, what, zone, ldns_get_errorstr_by_id(st));
		goto out;
	}
	ret = 0;
out:
	ldns_pkt_free(reply);
	ldns_pkt_free(pkt);
	ldns_rr_list_deep_free(ups);
	return ret;
}

/* Nonzero when the server answers fqdn TXT with value among the RRs. */
static int
txt_served(struct rfc2136 *r, const char *fqdn, const char *value)
{
	ldns_status st;
	ldns_pkt *reply = ask(r, fqdn, LDNS_RR_TYPE_TXT, &st);
	ldns_rr_list *ans;
	size_t i, n = strlen(value);
	int found = 0;

	if (reply == NULL)
		return 0;
	ans = ldns_pkt_answer(reply);
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		ldns_rr *rr = ldns_rr_list_rr(ans, i);
		const ldns_rdf *d;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT ||
		    ldns_rr_rd_count(rr) != 1)
			continue;
		d = ldns_rr_rdf(rr, 0);
		/* One character-string holding exactly the value. */
		if (ldns_rdf_size(d) == n + 1 && ldns_rdf_data(d)[0] == n &&
		    memcmp(ldns_rdf_data(d) + 1, value, n) == 0)
			found = 1;
	}
	ldns_pkt_free(reply);
	return found;
}

static int
wait_served(struct rfc2136 *r, const char *fqdn, const char *value,
    struct acme_problem *prob)
{
	time_t end = time(NULL) + RFC2136_WAIT;

	while (!txt_served(r, fqdn, value)) {
		if (time(NULL) >= end)
			return acme_problem_set(prob, ACME_PROB_DNS,
			    "%s TXT not served by %s %d s after the update",
			    fqdn, r->server, RFC2136_WAIT);
		sleep(1);
	}
	return 0;
}

static int
rfc2136_publish(struct solver *s, const char *name, const char *token,
    const char *keyauth, struct acme_problem *prob)
{
	struct rfc2136 *r = s->ctx;
	struct published *p;

	if (r->npub >= MAX_RECORDS)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "more than %d dns-01 records in one run", MAX_RECORDS);
	p = &r->pub[r->npub];
	memset(p, 0, sizeof(*p));
	snprintf(p->token, sizeof(p->token), "%s", token);
	solver_dns01_fqdn(name, p->fqdn, sizeof(p->fqdn));
	solver_dns01_value(keyauth, p->value);
	if (find_zone(r, p->fqdn, p->zone, sizeof(p->zone), prob) != 0 ||
	    update(r, p->zone,
		txt_rr(p->fqdn, p->value, RFC2136_TTL, LDNS_RR_CLASS_IN), "add",
		prob) != 0)
		return ACME_ERR_IO;
	r->npub++; /* from here on, unpublish removes it */
	return wait_served(r, p->fqdn, p->value, prob);
}

static void
rfc2136_unpublish(struct solver *s, const char *name, const char *token)
{
	struct rfc2136 *r = s->ctx;
	size_t i;

	(void)name;
	for (i = 0; i < r->npub; i++) {
		struct published *p = &r->pub[i];

		if (strcmp(p->token, token) != 0)
			continue;
		/* Class NONE, TTL 0: delete this RR only (RFC 2136 2.5.4).
		 * A failure leaves a harmless record that expires with
		 * nothing to answer; the issuance goes on. */
		update(r, p->zone,
		    txt_rr(p->fqdn, p->value, 0, LDNS_RR_CLASS_NONE), "delete",
		    NULL);
		r->pub[i] = r->pub[--r->npub];
		return;
	}
}

/* Frees r, wiping every copy of the secret; NULL is a no-op. */
static void
rfc2136_free(struct rfc2136 *r)
{
	const char *copy;

	if (r == NULL)
		return;
	/* ldns keeps its own copy of the secret and frees it unwiped. */
	if (r->upd != NULL &&
	    (copy = ldns_resolver_tsig_keydata(r->upd)) != NULL)
		acme_wipe((void *)(uintptr_t)copy, strlen(copy));
	ldns_resolver_deep_free(r->upd);
	ldns_resolver_deep_free(r->look);
	tsig_key_wipe(&r->key);
	free(r);
}

static void
rfc2136_close(struct solver *s)
{
	rfc2136_free(s->ctx);
}

int
solver_rfc2136_open(struct solver *s, const char *server, const char *keyfile,
    struct acme_problem *prob)
{
	struct rfc2136 *r;
	char host[256], alg[32];
	ldns_rdf *addr = NULL;
	uint16_t port = 53;
	int rc = ACME_ERR_INVAL;

	if (dnslib_load(prob) != 0)
		return ACME_ERR_UNSUPPORTED;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	snprintf(r->server, sizeof(r->server), "%s", server);
	if (split_server(server, host, sizeof(host), &port) != 0) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "bad DNS server \"%s\" (expected ADDR[:PORT])", server);
		goto out;
	}
	if ((addr = server_addr(host)) == NULL) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "cannot resolve the DNS server \"%s\"", host);
		goto out;
	}
	if (keyfile != NULL) {
		if (tsig_key_load(keyfile, &r->key, prob) != 0)
			goto out;
		r->has_key = 1;
	}
	if ((r->upd = resolver_for(addr, port)) == NULL ||
	    (r->look = resolver_for(addr, port)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
		goto out;
	}
	if (r->has_key) {
		/* ldns names algorithms as absolute domain names. */
		snprintf(alg, sizeof(alg), "%s.", r->key.alg);
		ldns_resolver_set_tsig_keyname(r->upd, r->key.name);
		ldns_resolver_set_tsig_algorithm(r->upd, alg);
		ldns_resolver_set_tsig_keydata(r->upd, r->key.secret);
	}
	s->type = "dns-01";
	s->publish = rfc2136_publish;
	s->unpublish = rfc2136_unpublish;
	s->close = rfc2136_close;
	s->ctx = r;
	r = NULL;
	rc = 0;
out:
	ldns_rdf_deep_free(addr);
	rfc2136_free(r);
	return rc;
}
