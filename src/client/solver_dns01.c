/* SPDX-License-Identifier: ISC */
/*
 * dns-01 through a hook script: "SCRIPT add|remove FQDN VALUE", FQDN the
 * full record name _acme-challenge.<name> without a trailing dot, VALUE
 * the TXT value.  After "add" the solver waits, at most DNS_WAIT seconds
 * (--dns-timeout),
 * until the record is visible: at --dns-check-server when given, else at
 * each authoritative server of the zone (found through the resolvers of
 * /etc/resolv.conf, or of the file named by $ANVIL_RESOLV_CONF), so the
 * CA's lookup cannot beat propagation (S-DNS-7).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <unbound.h>

#include <anvil/b64url.h>
#include <anvil/err.h>

#include "dnslib.h"
#include "hook.h"
#include "solver.h"

#include "internal.h"

#define DNS_WAIT 120 /* seconds to wait for a record to appear */
#define RR_TXT   16
#define RR_NS    2
#define RR_A     1
#define RR_AAAA  28

#define MAX_RECORDS 128

struct dnshook {
	char *script;
	char *check; /* ADDR[:PORT] or NULL */
	int timeout; /* seconds per hook run */
	int wait;    /* seconds for a record to appear (--dns-timeout) */
	int lego;    /* lego's verbs: present, cleanup, FQDN. */
	struct {
		char token[130];
		char value[SOLVER_DNS01_VALUE_MAX];
	} pub[MAX_RECORDS]; /* what was added, for "remove" */
	size_t npub;
};

/*
 * Runs the hook without a shell (hook.h: its own process group, stdout
 * to stderr, stopped after the timeout); returns its exit status, or -1
 * with prob set.
 */
struct hook_env {
	const char *fqdn;
	const char *value;
};

/* certbot's manual hook variables (D76), set in the child. */
static void
certbot_env(const void *arg)
{
	const struct hook_env *e = arg;
	const char *domain = e->fqdn + strlen("_acme-challenge.");

	setenv("CERTBOT_DOMAIN", domain, 1);
	setenv("CERTBOT_VALIDATION", e->value, 1);
}

static int
run_hook(const struct dnshook *h, const char *action, const char *fqdn,
    const char *value, struct acme_problem *prob)
{
	char dotted[310];
	const struct hook_env e = { fqdn, value };
	const char *verb = !h->lego                   ? action :
			   strcmp(action, "add") == 0 ? "present" :
							"cleanup";
	char *const argv[] = { (char *)(uintptr_t)h->script,
		(char *)(uintptr_t)verb, dotted, (char *)(uintptr_t)value,
		NULL };
	char what[400];

	snprintf(dotted, sizeof(dotted), "%s%s", fqdn, h->lego ? "." : "");
	snprintf(what, sizeof(what), "dns hook \"%.200s %s %.150s\"", h->script,
	    verb, dotted);
	return hook_run(what, argv, certbot_env, &e, h->timeout, prob);
}

/* A resolver context that asks server ("ADDR[:PORT]") directly. */
static struct ub_ctx *
ctx_for(const char *server)
{
	struct ub_ctx *c = ub_ctx_create();
	char fwd[300];
	const char *colon = strrchr(server, ':');

	if (c == NULL)
		return NULL;
	if (colon != NULL && strchr(server, ':') == colon)
		snprintf(fwd, sizeof(fwd), "%.*s@%s", (int)(colon - server),
		    server, colon + 1);
	else
		snprintf(fwd, sizeof(fwd), "%s", server);
	if (ub_ctx_set_option(c, "do-not-query-localhost:", "no") != 0 ||
	    ub_ctx_set_fwd(c, fwd) != 0) {
		ub_ctx_delete(c);
		return NULL;
	}
	return c;
}

static int
txt_present(struct ub_ctx *c, const char *fqdn, const char *value)
{
	struct ub_result *r = NULL;
	int i, found = 0;

	if (ub_resolve(c, fqdn, RR_TXT, 1, &r) != 0 || r == NULL)
		return 0;
	for (i = 0; r->havedata && r->data[i] != NULL; i++) {
		const unsigned char *d = (const unsigned char *)r->data[i];
		size_t len = (size_t)r->len[i];

		/* One character-string holding exactly the value. */
		if (len >= 1 && d[0] == len - 1 && len - 1 == strlen(value) &&
		    memcmp(d + 1, value, len - 1) == 0)
			found = 1;
	}
	ub_resolve_free(r);
	return found;
}

/* Every IPv4 and IPv6 address of name server ns, up to max. */
static size_t
ns_addrs(struct ub_ctx *c, const char *ns, char addrs[][64], size_t max)
{
	static const struct {
		int rr, af;
		size_t len;
	} fam[] = { { RR_A, AF_INET, 4 }, { RR_AAAA, AF_INET6, 16 } };
	size_t f, n = 0;
	int i;

	for (f = 0; f < ACME_ARRAY_LEN(fam); f++) {
		struct ub_result *a = NULL;

		if (ub_resolve(c, ns, fam[f].rr, 1, &a) == 0 && a->havedata)
			for (i = 0; a->data[i] != NULL && n < max; i++)
				if ((size_t)a->len[i] == fam[f].len &&
				    inet_ntop(fam[f].af, a->data[i], addrs[n],
					64) != NULL)
					n++;
		if (a != NULL)
			ub_resolve_free(a);
	}
	return n;
}

/*
 * The authoritative servers' addresses for fqdn's zone: climb until a
 * name has NS records, then resolve each server's A and AAAA records.
 */
static size_t
auth_servers(const char *fqdn, char addrs[][64], size_t max)
{
	struct ub_ctx *c = ub_ctx_create();
	const char *at = fqdn;
	size_t n = 0;

	if (c == NULL)
		return 0;
	ub_ctx_resolvconf(c, getenv("ANVIL_RESOLV_CONF")); /* NULL: system */
	while (at != NULL && *at != '\0' && n == 0) {
		struct ub_result *r = NULL;
		int i;

		if (ub_resolve(c, at, RR_NS, 1, &r) == 0 && r->havedata) {
			for (i = 0; r->data[i] != NULL && n < max; i++) {
				char ns[256];
				size_t o = 0, p = 0, len = (size_t)r->len[i];
				const unsigned char *d =
				    (const unsigned char *)r->data[i];

				/* Uncompressed wire name to text. */
				while (p < len && d[p] != 0 &&
				       o + d[p] + 2 < sizeof(ns)) {
					memcpy(ns + o, d + p + 1, d[p]);
					o += d[p];
					ns[o++] = '.';
					p += (size_t)d[p] + 1;
				}
				ns[o] = '\0';
				n += ns_addrs(c, ns, addrs + n, max - n);
			}
		}
		if (r != NULL)
			ub_resolve_free(r);
		at = strchr(at, '.');
		if (at != NULL)
			at++;
	}
	ub_ctx_delete(c);
	return n;
}

static int
wait_visible(struct dnshook *h, const char *fqdn, const char *value,
    struct acme_problem *prob)
{
	char servers[8][64];
	size_t n, i;
	time_t start = time(NULL), end = start + h->wait, said = 0;

	if (h->check != NULL) {
		snprintf(servers[0], sizeof(servers[0]), "%s", h->check);
		n = 1;
	} else if ((n = auth_servers(fqdn, servers, 8)) == 0) {
		/* Nothing to ask: the CA tries anyway, but say so. */
		fprintf(stderr,
		    "anvil: cannot check that %s is visible: no address "
		    "found for its zone's name servers\n",
		    fqdn);
		return 0;
	}
	for (i = 0; i < n; i++) {
		struct ub_ctx *c = ctx_for(servers[i]);

		if (c == NULL) {
			fprintf(stderr,
			    "anvil: cannot check that %s is visible at %s\n",
			    fqdn, servers[i]);
			continue;
		}
		while (!txt_present(c, fqdn, value)) {
			time_t now = time(NULL);

			if (now >= end) {
				ub_ctx_delete(c);
				return acme_problem_set(prob, ACME_PROB_DNS,
				    "%s TXT not visible at %s after %d s "
				    "(--dns-timeout)",
				    fqdn, servers[i], h->wait);
			}
			/* Say where and how long, then every 15 s (D76). */
			if (said == 0 || now - said >= 15) {
				fprintf(stderr,
				    "anvil: waiting for %s TXT at %s: %ld of "
				    "%d s\n",
				    fqdn, servers[i], (long)(now - start),
				    h->wait);
				said = now;
			}
			sleep(1);
			/* A fresh context: no cached negative answer. */
			ub_ctx_delete(c);
			if ((c = ctx_for(servers[i])) == NULL)
				break;
		}
		if (c != NULL)
			ub_ctx_delete(c);
	}
	return 0;
}

void
solver_dns01_value(const char *keyauth, char out[SOLVER_DNS01_VALUE_MAX])
{
	unsigned char d[32];
	unsigned int n = 0;

	EVP_Digest(keyauth, strlen(keyauth), d, &n, EVP_sha256(), NULL);
	acme_b64url_encode_to(d, n, out, SOLVER_DNS01_VALUE_MAX);
}

void
solver_dns01_fqdn(const char *name, char *out, size_t size)
{
	/* The CA names a wildcard's authorization without "*." already
	 * (RFC 8555 section 7.1.3); a name given with it is the same. */
	if (strncmp(name, "*.", 2) == 0)
		name += 2;
	snprintf(out, size, "_acme-challenge.%s", name);
}

static int
dns_publish(struct solver *s, const char *name, const char *token,
    const char *keyauth, struct acme_problem *prob)
{
	struct dnshook *h = s->ctx;
	char fqdn[300], value[SOLVER_DNS01_VALUE_MAX];
	int st;

	solver_dns01_fqdn(name, fqdn, sizeof(fqdn));
	solver_dns01_value(keyauth, value);
	if (h->npub < MAX_RECORDS) {
		snprintf(h->pub[h->npub].token, sizeof(h->pub[0].token), "%s",
		    token);
		memcpy(h->pub[h->npub].value, value, sizeof(value));
		h->npub++;
	}
	if ((st = run_hook(h, "add", fqdn, value, prob)) < 0)
		return ACME_ERR_IO;
	if (st != 0)
		return acme_problem_set(prob, ACME_PROB_DNS,
		    "dns hook \"%s add %s\" failed (status %d)", h->script,
		    fqdn, st);
	return wait_visible(h, fqdn, value, prob);
}

static void
dns_unpublish(struct solver *s, const char *name, const char *token)
{
	struct dnshook *h = s->ctx;
	char fqdn[300];
	size_t i;

	solver_dns01_fqdn(name, fqdn, sizeof(fqdn));
	for (i = 0; i < h->npub; i++)
		if (strcmp(h->pub[i].token, token) == 0) {
			run_hook(h, "remove", fqdn, h->pub[i].value, NULL);
			h->pub[i] = h->pub[--h->npub];
			return;
		}
}

static void
dns_close(struct solver *s)
{
	struct dnshook *h = s->ctx;

	free(h->script);
	free(h->check);
	free(h);
}

int
solver_dnshook_open(struct solver *s, const char *script,
    const char *check_server, int timeout, int wait, int lego,
    struct acme_problem *prob)
{
	struct dnshook *h;

	if (dnslib_load(prob) != 0)
		return ACME_ERR_UNSUPPORTED;
	h = calloc(1, sizeof(*h));
	if (access(script, X_OK) != 0) {
		int e = errno;

		free(h);
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    e == ENOENT ? "dns hook %s does not exist" :
				  "dns hook %s is not executable",
		    script);
	}
	if (h == NULL || (h->script = strdup(script)) == NULL ||
	    (check_server != NULL &&
		(h->check = strdup(check_server)) == NULL)) {
		if (h != NULL)
			free(h->script);
		free(h);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	}
	h->timeout = timeout;
	h->wait = wait > 0 ? wait : DNS_WAIT;
	h->lego = lego;
	s->type = "dns-01";
	s->publish = dns_publish;
	s->unpublish = dns_unpublish;
	s->close = dns_close;
	s->ctx = h;
	return 0;
}
