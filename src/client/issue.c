/* SPDX-License-Identifier: ISC */
/*
 * "anvil issue": the profile asked for checked against the directory
 * (S-PROF-3), account (made or reused), order, every authorization
 * answered at once and then polled (S-AUTHZ-8), finalize with a fresh
 * key, download, checks on what came back (S-CERT-6/7), and the files
 * written atomically.  Nothing in the live certificate directory changes
 * unless the whole issuance succeeded.  "anvil profiles" lists what a CA
 * advertises (S-PROF-2).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/x509.h>
#include <openssl/objects.h>

#include <anvil/client.h>
#include <anvil/csr.h>
#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/json.h>
#include <anvil/key.h>
#include <anvil/x509.h>

#include "cli.h"
#include "hook.h"
#include "solver.h"
#include "state.h"

#include "internal.h"

#define POLL_TIMEOUT 600 /* seconds, --poll-timeout: validation; issuance */

/*
 * The ordered identifier an authorization is for (its "*." kept out, as
 * the CA writes it), or NULL: a CA's value reaches a solver or a hook
 * only when it is one we asked for (issue 21 item 17).
 */
static const char *
ordered_name(const json_t *az, const struct acme_ident *ids, size_t n)
{
	const json_t *id = json_object_get(az, "identifier");
	const char *type = json_string_value(json_object_get(id, "type"));
	const char *value = json_string_value(json_object_get(id, "value"));
	int wild = json_is_true(json_object_get(az, "wildcard"));
	size_t i;

	if (type == NULL || value == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *v = ids[i].value;

		if (strcmp(type, acme_ident_type_name(ids[i].type)) != 0 ||
		    (strncmp(v, "*.", 2) == 0) != wild)
			continue;
		if (wild)
			v += 2;
		if (strcasecmp(v, value) == 0)
			return v;
	}
	return NULL;
}

/* Publishes and triggers the chosen challenge of one authorization. */
static int
answer(struct acme_client *c, struct solver *sv, const char *authz_url,
    const struct acme_ident *ids, size_t nids, json_t **authz_out,
    struct acme_problem *prob)
{
	json_t *az, *ch, *chs, *resp;
	const char *status, *token, *url, *name;
	char *keyauth;
	size_t i;
	int rc = ACME_ERR_INVAL;

	*authz_out = NULL;
	if ((az = acme_client_post(c, authz_url, NULL, NULL, 0, prob)) == NULL)
		return ACME_ERR_IO;
	*authz_out = az;
	status = json_string_value(json_object_get(az, "status"));
	if ((name = ordered_name(az, ids, nids)) == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the CA sent an authorization for an identifier that "
		    "was not ordered");
	if (status != NULL && strcmp(status, "valid") == 0)
		return 0;
	chs = json_object_get(az, "challenges");
	json_array_foreach(chs, i, ch)
	{
		const char *type =
		    json_string_value(json_object_get(ch, "type"));

		if (type == NULL || strcmp(type, sv->type) != 0)
			continue;
		token = json_string_value(json_object_get(ch, "token"));
		url = json_string_value(json_object_get(ch, "url"));
		if (token == NULL || url == NULL)
			break;
		if ((keyauth = acme_client_key_authorization(c, token)) == NULL)
			return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
			    "out of memory");
		rc = sv->publish(sv, name, token, keyauth, prob);
		free(keyauth);
		if (rc != 0)
			return rc;
		/* S-AUTHZ-3: respond with {} at the challenge URL. */
		{
			json_t *empty = json_object();

			resp = acme_client_post(c, url, empty, NULL, 0, prob);
			json_decref(empty);
		}
		if (resp == NULL)
			return ACME_ERR_IO;
		json_decref(resp);
		return 0;
	}
	return acme_problem_set(prob, ACME_PROB_MALFORMED,
	    "the CA offers no %s challenge for %s", sv->type, name);
}

static void
unpublish_all(struct solver *sv, json_t **azs, size_t n,
    const struct acme_ident *ids, size_t nids)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		json_t *chs = json_object_get(azs[i], "challenges"), *ch;
		const char *name = ordered_name(azs[i], ids, nids);

		if (name == NULL)
			continue; /* never published */

		json_array_foreach(chs, k, ch)
		{
			const char *type =
			    json_string_value(json_object_get(ch, "type"));
			const char *token =
			    json_string_value(json_object_get(ch, "token"));

			if (type != NULL && token != NULL &&
			    strcmp(type, sv->type) == 0)
				sv->unpublish(sv, name, token);
		}
	}
}

/* The failed challenge's problem as this run's problem. */
static int
authz_failure(const json_t *az, struct acme_problem *prob)
{
	const char *name = json_string_value(
	    json_object_get(json_object_get(az, "identifier"), "value"));
	json_t *chs = json_object_get(az, "challenges"), *ch;
	size_t i;

	json_array_foreach(chs, i, ch)
	{
		json_t *err = json_object_get(ch, "error");

		if (err != NULL && acme_problem_from_json(prob, err) == 0) {
			char why[ACME_PROB_DETAIL_MAX];

			memcpy(why, prob->detail, sizeof(why));
			snprintf(prob->detail, sizeof(prob->detail),
			    "%.100s: %.400s", name != NULL ? name : "?", why);
			return ACME_ERR_VERIFY;
		}
	}
	return acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
	    "authorization for %s is %s", name != NULL ? name : "?",
	    json_string_value(json_object_get(az, "status")));
}

/* S-CERT-6/7: a chain of certificates whose leaf is ours. */
static int
check_chain(const char *pem, size_t len, EVP_PKEY *key,
    const struct acme_ident *ids, size_t n, X509 **leaf_out,
    struct acme_problem *prob)
{
	STACK_OF(X509) *chain = acme_x509_parse_chain(pem, len, prob);
	struct acme_ident *sans = NULL;
	size_t ns = 0, i;
	X509 *leaf;
	int rc = ACME_ERR_VERIFY;

	if (chain == NULL)
		return ACME_ERR_INVAL;
	leaf = sk_X509_value(chain, 0);
	if (!acme_key_public_equal(X509_get0_pubkey(leaf), key)) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the certificate is not for the key we sent");
		goto out;
	}
	if (acme_x509_sans(leaf, &sans, &ns) != 0 || ns != n)
		goto names;
	qsort(sans, ns, sizeof(*sans), acme_ident_cmp);
	for (i = 0; i < n; i++)
		if (!acme_ident_equal(&sans[i], &ids[i]))
			goto names;
	*leaf_out = X509_dup(leaf);
	rc = 0;
	goto out;
names:
	acme_problem_set(prob, ACME_PROB_MALFORMED,
	    "the certificate does not name exactly what was ordered");
out:
	free(sans);
	sk_X509_pop_free(chain, X509_free);
	return rc;
}

/*
 * Publishes the four PEM files and renewal.json as a new version of
 * lineage dn, one set switched by one rename (state_publish, D61); ari
 * (or NULL) is the renewal information to keep with it; ids are the
 * names, as ordered.
 */
static int
save_files(const struct cli *o, const char *dn, const struct acme_ident *ids,
    size_t nids, const char *pem, EVP_PKEY *certkey, X509 *leaf, json_t *ari,
    struct acme_problem *prob)
{
	const char *end = strstr(pem, "-----END CERTIFICATE-----");
	char *keypem = NULL, *renewal = NULL;
	size_t leaflen, keylen = 0;
	time_t nb = 0, na = 0;
	json_t *r, *names;
	size_t i;
	int rc;

	if (end == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "no certificate in the download");
	leaflen = (size_t)(end - pem) + sizeof("-----END CERTIFICATE-----") - 1;
	while (pem[leaflen] == '\r' || pem[leaflen] == '\n')
		leaflen++;
	if ((keypem = acme_key_to_pem(certkey, &keylen)) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot encode the key");
	acme_x509_validity(leaf, &nb, &na);
	names = json_array();
	for (i = 0; i < nids; i++) /* as ordered: lower-cased, sorted */
		json_array_append_new(names, json_string(ids[i].value));
	r = json_pack("{s:s, s:o, s:s, s:s, s:I, s:I}", "server", o->server,
	    "names", names, "key_type", acme_key_type_name(o->key_type),
	    "solver",
	    o->rfc2136 != NULL  ? "rfc2136" :
	    o->dns_hook != NULL ? "dns-hook" :
	    o->tls_alpn         ? "tls-alpn" :
	    o->webroot != NULL  ? "webroot" :
				  "standalone",
	    "not_before", (json_int_t)nb, "not_after", (json_int_t)na);
	if (r != NULL && o->webroot != NULL)
		json_object_set_new(r, "webroot", json_string(o->webroot));
	if (r != NULL && o->dns_hook != NULL)
		json_object_set_new(r, "dns_hook", json_string(o->dns_hook));
	if (r != NULL && o->rfc2136 != NULL)
		json_object_set_new(r, "rfc2136_server",
		    json_string(o->rfc2136));
	if (r != NULL && o->tsig_key != NULL)
		json_object_set_new(r, "tsig_key", json_string(o->tsig_key));
	if (r != NULL && o->dns_hook != NULL && o->dns_timeout > 0)
		json_object_set_new(r, "dns_timeout",
		    json_integer(o->dns_timeout));
	if (r != NULL && o->dns_hook != NULL && o->dns_lego)
		json_object_set_new(r, "dns_hook_style", json_string("lego"));
	if (r != NULL && o->dns_check != NULL)
		json_object_set_new(r, "dns_check_server",
		    json_string(o->dns_check));
	if (r != NULL && o->tls_alpn)
		json_object_set_new(r, "tls_port", json_integer(o->tls_port));
	if (r != NULL && o->webroot == NULL && o->dns_hook == NULL &&
	    o->rfc2136 == NULL && !o->tls_alpn)
		json_object_set_new(r, "http_port", json_integer(o->http_port));
	if (r != NULL && o->ca_bundle != NULL)
		json_object_set_new(r, "ca_bundle", json_string(o->ca_bundle));
	if (r != NULL && o->deploy_hook != NULL)
		json_object_set_new(r, "deploy_hook",
		    json_string(o->deploy_hook));
	if (r != NULL && o->pre_hook != NULL)
		json_object_set_new(r, "pre_hook", json_string(o->pre_hook));
	if (r != NULL && o->post_hook != NULL)
		json_object_set_new(r, "post_hook", json_string(o->post_hook));
	if (r != NULL && o->preferred_chain != NULL)
		json_object_set_new(r, "preferred_chain",
		    json_string(o->preferred_chain));
	if (r != NULL && ari != NULL)
		json_object_set(r, "ari", ari);
	if (r != NULL && o->profile != NULL)
		json_object_set_new(r, "profile", json_string(o->profile));
	renewal = r != NULL ? json_dumps(r, JSON_INDENT(2)) : NULL;
	json_decref(r);
	rc = ACME_ERR_NOMEM;
	if (renewal == NULL)
		goto out;
	{
		struct acme_file_out set[5] = {
			{ "privkey.pem", keypem, keylen, 0600 },
			{ "cert.pem", pem, leaflen, 0644 },
			{ "chain.pem", pem + leaflen, strlen(pem + leaflen),
			    0644 },
			{ "fullchain.pem", pem, strlen(pem), 0644 },
			{ "renewal.json", renewal, strlen(renewal), 0644 },
		};
		char vdir[STATE_PATH_MAX];

		rc = state_publish(o->state_dir, dn, set, 5, vdir, sizeof(vdir),
		    prob);
	}
out:
	if (keypem != NULL)
		acme_wipe(keypem, keylen);
	free(keypem);
	free(renewal);
	return rc;
}

/* The issuer CN of the topmost certificate of a PEM chain, or "". */
static void
top_issuer_cn(const char *pem, size_t len, char *out, size_t size)
{
	STACK_OF(X509) *chain = acme_x509_parse_chain(pem, len, NULL);
	X509_NAME *iss;
	int n;

	out[0] = '\0';
	if (chain == NULL)
		return;
	iss =
	    X509_get_issuer_name(sk_X509_value(chain, sk_X509_num(chain) - 1));
	n = X509_NAME_get_text_by_NID(iss, NID_commonName, out, (int)size);
	if (n < 0)
		out[0] = '\0';
	sk_X509_pop_free(chain, X509_free);
}

/*
 * Downloads the certificate; with --preferred-chain, the first chain
 * (default, then the alternates in the CA's order) whose topmost
 * certificate is issued by that CN, else the default (as certbot does).
 */
static char *
download(const struct cli *o, struct acme_client *c, const char *url,
    size_t *len, struct acme_problem *prob)
{
	char alts[8][1024], cn[256], first[256];
	size_t nalt = 0, i;
	char *pem;

	pem = acme_client_get_cert(c, url, len, alts, 8, &nalt, prob);
	if (pem == NULL || o->preferred_chain == NULL)
		return pem;
	top_issuer_cn(pem, *len, first, sizeof(first));
	if (strcmp(first, o->preferred_chain) == 0)
		return pem;
	for (i = 0; i < nalt; i++) {
		size_t alen = 0;
		char *alt = acme_client_get_raw(c, alts[i], &alen, NULL);

		if (alt == NULL)
			continue;
		top_issuer_cn(alt, alen, cn, sizeof(cn));
		if (strcmp(cn, o->preferred_chain) == 0) {
			free(pem);
			*len = alen;
			return alt;
		}
		free(alt);
	}
	/* Kept, as certbot does, but never silently (issue 21 item 16). */
	fprintf(stderr,
	    "anvil: warning: none of the %zu chain(s) the CA offers is "
	    "issued by \"%.100s\"; keeping the default chain (issued by "
	    "\"%.100s\")\n",
	    nalt + 1, o->preferred_chain, first);
	return pem;
}

/* "a, b, c": the names in a meta.profiles object, for messages. */
static void
profile_names(json_t *profiles, char *out, size_t size)
{
	const char *name;
	json_t *v;
	size_t len = 0;

	out[0] = '\0';
	json_object_foreach(profiles, name, v)
	{
		int w = snprintf(out + len, size - len, "%s%s",
		    len > 0 ? ", " : "", name);

		if (w < 0 || (size_t)w >= size - len)
			break;
		len += (size_t)w;
	}
}

/*
 * S-PROF-3: a profile is only asked for when the CA advertises it, so a
 * typo or a CA without profiles stops here, before an account or order
 * is made, naming what the CA offers.
 */
static int
profile_check(const struct cli *o, struct acme_client *c,
    struct acme_problem *prob)
{
	json_t *profiles = acme_client_profiles(c);
	char names[400];

	if (o->profile == NULL)
		return 0;
	if (profiles == NULL || json_object_size(profiles) == 0)
		return acme_problem_set(prob, ACME_PROB_INVALID_PROFILE,
		    "the CA offers no profiles; drop --profile %.64s",
		    o->profile);
	if (json_object_get(profiles, o->profile) != NULL)
		return 0;
	profile_names(profiles, names, sizeof(names));
	return acme_problem_set(prob, ACME_PROB_INVALID_PROFILE,
	    "the CA does not offer profile \"%.64s\"; it offers %s", o->profile,
	    names);
}

/*
 * Reads the CA's directory; a 404 (with or without a problem document)
 * says that the URL is likely not a directory (D76).
 */
static int
read_directory(const struct cli *o, struct acme_client *c,
    struct acme_problem *prob)
{
	int rc = acme_client_directory(c, prob);

	if (rc != 0 && prob->status == 404)
		acme_problem_set_status(prob, ACME_PROB_OTHER, 404,
		    "directory %.300s: HTTP 404 (is this an ACME directory "
		    "URL?)",
		    o->server);
	return rc;
}

int
client_open(const struct cli *o, struct acme_client **cp, EVP_PKEY **key,
    struct acme_signer *signer, struct acme_problem *prob)
{
	struct acme_client *c = NULL;

	*cp = NULL;
	if (account_load(o, key, prob) != 0 ||
	    acme_signer_from_key(signer, *key, prob) != 0)
		return ACME_ERR_INVAL;
	if ((c = acme_client_new(o->server, o->ca_bundle, signer, prob)) ==
		NULL ||
	    read_directory(o, c, prob) != 0 || profile_check(o, c, prob) != 0 ||
	    account_ensure(o, c, key, signer, prob) != 0) {
		acme_client_free(c);
		return ACME_ERR_INVAL;
	}
	*cp = c;
	return 0;
}

int
cmd_profiles(const struct cli *o, struct acme_problem *prob)
{
	struct acme_client *c;
	json_t *profiles, *v;
	const char *name;
	char *s;

	/* Only the directory is read: no account, no signer. */
	if ((c = acme_client_new(o->server, o->ca_bundle, NULL, prob)) ==
		NULL ||
	    read_directory(o, c, prob) != 0) {
		acme_client_free(c);
		return ACME_ERR_INVAL;
	}
	profiles = acme_client_profiles(c);
	if (o->json) {
		s = profiles != NULL ? json_dumps(profiles, JSON_COMPACT) :
				       NULL;
		printf("%s\n", s != NULL ? s : "{}");
		free(s);
	} else if (profiles == NULL || json_object_size(profiles) == 0)
		printf("%s offers no profiles\n", o->server);
	else
		json_object_foreach(profiles, name, v)
		{
			const char *d = json_string_value(v);

			printf("%s\t%s\n", name, d != NULL ? d : "");
		}
	acme_client_free(c);
	return 0;
}

static int
poll_timeout(const struct cli *o)
{
	return o->poll_timeout > 0 ? o->poll_timeout : POLL_TIMEOUT;
}

/* A line per wait of a second or more while the CA works. */
static void
poll_progress(void *arg, const char *url, const char *status, long wait_s,
    long left_s)
{
	const struct cli *o = arg;

	if (o->tty || o->verbose)
		fprintf(stderr,
		    "anvil: %.200s is %s; asking again in %ld s (%ld s "
		    "left)\n",
		    url, status, wait_s, left_s);
}

/*
 * D63: a newOrder with "replaces" is sent again without it only when
 * the CA says the certificate cannot be replaced: alreadyReplaced, or
 * malformed naming the field (a CA that does not know it).  A rate
 * limit, a server error or any other refusal ends the run as it is.
 */
static int
replaces_refused(const struct acme_problem *prob)
{
	return prob->type == ACME_PROB_ALREADY_REPLACED ||
	       (prob->type == ACME_PROB_MALFORMED &&
		   strstr(prob->detail, "replaces") != NULL);
}

/* A rate limit: when the CA said when to come back, say it. */
static void
rate_limit_note(struct acme_client *c, struct acme_problem *prob)
{
	char why[ACME_PROB_DETAIL_MAX];
	long ra = acme_client_retry_after(c);

	if (prob->type != ACME_PROB_RATE_LIMITED && prob->status != 429)
		return;
	memcpy(why, prob->detail, sizeof(why));
	if (ra >= 0)
		snprintf(prob->detail, sizeof(prob->detail),
		    "rate limited by the CA, retry after %ld s: %.400s", ra,
		    why);
	else
		snprintf(prob->detail, sizeof(prob->detail),
		    "rate limited by the CA: %.440s", why);
}

/*
 * An order that ended without a certificate: the CA's error and each
 * subproblem with its identifier, on one line (issue 21 item 13).
 */
static int
order_failure(const json_t *order, struct acme_problem *prob)
{
	const char *st = json_string_value(json_object_get(order, "status"));
	char line[ACME_PROB_DETAIL_MAX];
	size_t i, len;

	if (acme_problem_from_json(prob, json_object_get(order, "error")) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "order ended %.32s without a certificate",
		    st != NULL ? st : "without a status");
	len = (size_t)snprintf(line, sizeof(line), "order is %.32s: %s: %s",
	    st != NULL ? st : "?", acme_problem_type_name(prob->type),
	    prob->detail);
	for (i = 0; i < prob->nsub && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len,
		    "; %s: %s: %s",
		    prob->sub[i].has_identifier ?
			prob->sub[i].identifier.value :
			"?",
		    acme_problem_type_name(prob->sub[i].type),
		    prob->sub[i].detail);
	memcpy(prob->detail, line, sizeof(line));
	return ACME_ERR_VERIFY;
}

/* Runs a post hook (NULL: none); its failure is a warning line. */
static void
post_hook(const struct cli *o, const char *cmd)
{
	struct acme_problem p = { 0 };

	if (cmd != NULL && hook_shell(o, "post hook", cmd, &p) != 0)
		fprintf(stderr, "anvil: warning: %s\n", p.detail);
	acme_problem_release(&p);
}

int
cmd_issue(const struct cli *o, struct acme_problem *prob)
{
	struct acme_signer signer = { 0 };
	struct acme_client *c = NULL;
	struct solver sv;
	struct acme_ident *ids = NULL;
	EVP_PKEY *acct_key = NULL, *cert_key = NULL;
	json_t *order = NULL, *payload = NULL, **azs = NULL, *fin = NULL;
	json_t *ari = NULL;
	X509_REQ *csr = NULL;
	X509 *leaf = NULL;
	char order_url[1024] = "", certdir[1536], dn[300];
	char *b64 = NULL, *pem = NULL;
	size_t i, naz = 0, pemlen = 0, nids = 0;
	int rc = ACME_ERR_INVAL, solver_open = 0;
	const char *post = NULL;

	memset(&sv, 0, sizeof(sv));
	if ((ids = calloc(o->nnames, sizeof(*ids))) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	for (i = 0; i < o->nnames; i++)
		if (acme_ident_from_name(&ids[i], o->names[i]) != 0) {
			acme_problem_set(prob, ACME_PROB_MALFORMED,
			    "\"%s\" is not a DNS name or IP address",
			    o->names[i]);
			goto out;
		}
	qsort(ids, o->nnames, sizeof(*ids), acme_ident_cmp);
	/* Names given twice are one identifier (S-IDN-10). */
	for (i = 1, nids = o->nnames > 0 ? 1 : 0; i < o->nnames; i++)
		if (!acme_ident_equal(&ids[i], &ids[nids - 1]))
			ids[nids++] = ids[i];
	/* The lineage is its set of names, or --cert-name (D61). */
	if (state_lineage_pick(o->state_dir, ids, nids, o->cert_name,
		o->names[0], dn, sizeof(dn), prob) != 0)
		goto out;
	/* D75: the same names, not due: kept, unless --force. */
	if (!o->force && !o->dry_run &&
	    state_lineage_has(o->state_dir, dn, ids, nids)) {
		time_t due = 0, na = 0;

		if (renew_not_due(o, dn, time(NULL), &due, &na)) {
			cli_not_due(o, dn, due, na);
			rc = 0;
			goto out;
		}
	}
	cli_progress(o, "account");
	if (client_open(o, &c, &acct_key, &signer, prob) != 0)
		goto out;
	/* renew runs these once per run (collect set); issue here. */
	if (o->collect == NULL &&
	    hook_shell(o, "pre hook", o->pre_hook, prob) != 0)
		goto out;
	post = o->collect == NULL ? o->post_hook : NULL;
	/* The solver first: a port that is taken fails before ordering. */
	if ((o->rfc2136 != NULL ?
		    solver_rfc2136_open(&sv, o->rfc2136, o->tsig_key, prob) :
		o->dns_hook != NULL ?
		    solver_dnshook_open(&sv, o->dns_hook, o->dns_check,
			o->hook_timeout > 0 ? o->hook_timeout :
					      HOOK_TIMEOUT_DEFAULT,
			o->dns_timeout, o->dns_lego, prob) :
		o->tls_alpn ?
		    solver_tlsalpn_open(&sv, o->tls_port, prob) :
		o->webroot != NULL ?
		    solver_webroot_open(&sv, o->webroot, prob) :
		    solver_standalone_open(&sv, o->http_port, prob)) != 0)
		goto out;
	solver_open = 1;
	cli_progress(o, "order");
	payload = json_object();
	{
		json_t *arr = json_array();

		for (i = 0; i < nids; i++)
			json_array_append_new(arr,
			    json_pack("{s:s, s:s}", "type",
				acme_ident_type_name(ids[i].type), "value",
				ids[i].value));
		json_object_set_new(payload, "identifiers", arr);
		if (o->profile != NULL)
			json_object_set_new(payload, "profile",
			    json_string(o->profile));
	}
	/* S-ARI-11: name the predecessor only to a CA that offers ARI. */
	if (o->replaces != NULL &&
	    acme_client_dir_url(c, "renewalInfo") != NULL)
		json_object_set_new(payload, "replaces",
		    json_string(o->replaces));
	order = acme_client_post(c, acme_client_dir_url(c, "newOrder"), payload,
	    order_url, sizeof(order_url), prob);
	if (order == NULL && json_object_get(payload, "replaces") != NULL &&
	    replaces_refused(prob)) {
		/* Not replaceable: once more without it (D63).  Anything
		 * else, a rate limit above all, is not asked twice. */
		if (o->verbose)
			fprintf(stderr,
			    "anvil: newOrder with replaces refused (%s); "
			    "retrying without\n",
			    prob->detail);
		acme_problem_release(prob);
		json_object_del(payload, "replaces");
		order = acme_client_post(c, acme_client_dir_url(c, "newOrder"),
		    payload, order_url, sizeof(order_url), prob);
	}
	if (order == NULL) {
		rate_limit_note(c, prob);
		goto out;
	}
	/* RFC 8555 7.4: 201 with Location, authorizations and finalize. */
	if (order_url[0] == '\0' ||
	    !json_is_array(json_object_get(order, "authorizations")) ||
	    json_string_value(json_object_get(order, "finalize")) == NULL) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the CA's order lacks a Location, authorizations or a "
		    "finalize URL");
		goto out;
	}
	acme_client_set_progress(c, poll_progress, (void *)(uintptr_t)o);
	{
		json_t *list = json_object_get(order, "authorizations"), *u;
		time_t poll_end = time(NULL) + poll_timeout(o);

		naz = json_array_size(list);
		if ((azs = calloc(naz + 1, sizeof(*azs))) == NULL)
			goto out;
		cli_progress(o, "authorizations");
		json_array_foreach(list, i, u)
		{
			if (!json_is_string(u) ||
			    answer(c, &sv, json_string_value(u), ids, nids,
				&azs[i], prob) != 0)
				goto cleanup;
		}
		/* All answered; now wait for each (they run in parallel). */
		json_array_foreach(list, i, u)
		{
			long left = (long)(poll_end - time(NULL));
			json_t *done = acme_client_poll(c, json_string_value(u),
			    left > 0 ? (int)left : 1, prob);
			const char *st =
			    json_string_value(json_object_get(done, "status"));

			if (done == NULL)
				goto cleanup;
			if (st == NULL || strcmp(st, "valid") != 0) {
				authz_failure(done, prob);
				json_decref(done);
				goto cleanup;
			}
			json_decref(done);
		}
	}
	unpublish_all(&sv, azs, naz, ids, nids);
	/* Validation is over: the port is free again before any hook runs
	 * (issue 21 item 8). */
	sv.close(&sv);
	solver_open = 0;
	/* The solver is done: start what the pre hook stopped. */
	post_hook(o, post);
	post = NULL;
	cli_progress(o, "finalize");
	if ((cert_key = acme_key_generate(o->key_type, prob)) == NULL ||
	    (csr = acme_csr_build(cert_key, ids, nids, prob)) == NULL ||
	    (b64 = acme_csr_to_b64url(csr)) == NULL)
		goto out;
	json_decref(payload);
	payload = json_pack("{s:s}", "csr", b64);
	{
		const char *fin_url =
		    json_string_value(json_object_get(order, "finalize"));

		long ra;

		if (fin_url == NULL || (fin = acme_client_post(c, fin_url,
					    payload, NULL, 0, prob)) == NULL) {
			rate_limit_note(c, prob);
			goto out;
		}
		/* Finalize's Retry-After counts too (RFC 8555 7.4). */
		ra = acme_client_retry_after(c);
		if (json_string_value(json_object_get(fin, "certificate")) !=
			NULL ||
		    ra < 0)
			ra = -1;
		json_decref(fin);
		if ((fin = acme_client_poll_after(c, order_url, ra,
			 poll_timeout(o), prob)) == NULL)
			goto out;
	}
	if (json_string_value(json_object_get(fin, "certificate")) == NULL) {
		order_failure(fin, prob);
		goto out;
	}
	cli_progress(o, "download");
	if ((pem = download(o, c,
		 json_string_value(json_object_get(fin, "certificate")),
		 &pemlen, prob)) == NULL ||
	    check_chain(pem, pemlen, cert_key, ids, nids, &leaf, prob) != 0)
		goto out;
	snprintf(certdir, sizeof(certdir), "%s/certs/%s", o->state_dir, dn);
	if (o->dry_run) {
		/* D75: the CA issued; nothing is saved, no hook runs. */
		cli_dry_run(o, dn, leaf);
		rc = 0;
		goto out;
	}
	ari = ari_after_issue(c, leaf);
	acme_client_set_progress(c, NULL, NULL);
	if (save_files(o, dn, ids, nids, pem, cert_key, leaf, ari, prob) != 0)
		goto out;
	cli_issued(o, certdir, leaf);
	rc = hook_deploy(o, certdir, leaf, prob);
	goto out;
cleanup:
	unpublish_all(&sv, azs, naz, ids, nids);
out:
	if (solver_open)
		sv.close(&sv);
	post_hook(o, post);
	for (i = 0; azs != NULL && i < naz; i++)
		json_decref(azs[i]);
	free(azs);
	free(pem);
	free(b64);
	X509_free(leaf);
	X509_REQ_free(csr);
	EVP_PKEY_free(cert_key);
	json_decref(fin);
	json_decref(order);
	json_decref(payload);
	json_decref(ari);
	acme_client_free(c);
	acme_signer_release(&signer);
	EVP_PKEY_free(acct_key);
	free(ids);
	return rc;
}
