/* SPDX-License-Identifier: ISC */
/*
 * "anvil renew", "anvil revoke" and "anvil list": the commands that work
 * from what "anvil issue" saved.  A certificate is due when a third of
 * its lifetime is left, or half for lifetimes of 10 days or less (short
 * certificates need more slack); renewal replays renewal.json, so it
 * asks for exactly what was issued before.
 */
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <anvil/ari.h>
#include <anvil/b64url.h>
#include <anvil/client.h>
#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/json.h>
#include <anvil/key.h>
#include <anvil/x509.h>

#include "cli.h"
#include "state.h"

#include "internal.h"

struct saved {
	json_t *renewal; /* renewal.json */
	time_t not_before;
	time_t not_after;
};

/*
 * Loads renewal.json and the validity of cert.pem from certdir (a
 * version directory, state_lineage_dir).  The dates come from the
 * certificate itself, so a cert.pem replaced or restored by hand is
 * judged by what it is.
 */
static int
load_saved(const char *certdir, struct saved *sv, struct acme_problem *prob)
{
	char path[STATE_PATH_MAX + 32], *text = NULL;
	size_t len = 0;
	X509 *cert = NULL;
	int rc;

	memset(sv, 0, sizeof(*sv));
	snprintf(path, sizeof(path), "%s/renewal.json", certdir);
	if ((rc = acme_file_read_nofollow(path, 1 << 20, &text, &len, prob)) !=
	    0)
		return rc;
	sv->renewal = acme_json_parse(text, len, ACME_JSON_OBJECT, prob);
	free(text);
	text = NULL;
	if (sv->renewal == NULL)
		return ACME_ERR_INVAL;
	snprintf(path, sizeof(path), "%s/cert.pem", certdir);
	if ((rc = acme_file_read_nofollow(path, 1 << 20, &text, &len, prob)) !=
		0 ||
	    (cert = acme_x509_parse_one(text, len, prob)) == NULL ||
	    acme_x509_validity(cert, &sv->not_before, &sv->not_after) != 0) {
		json_decref(sv->renewal);
		sv->renewal = NULL;
		free(text);
		X509_free(cert);
		return rc != 0 ? rc : ACME_ERR_INVAL;
	}
	free(text);
	X509_free(cert);
	return 0;
}

/* When renewal is due (seconds since the epoch). */
static time_t
due_at(const struct saved *sv)
{
	time_t life = sv->not_after - sv->not_before;

	if (life <= 10 * 86400)
		return sv->not_after - life / 2;
	return sv->not_after - life / 3;
}

/* Fills o from renewal.json; strings point into sv->renewal. */
static int
cli_from_saved(struct cli *o, const struct saved *sv, struct acme_problem *prob)
{
	const json_t *r = sv->renewal, *names = json_object_get(r, "names"), *v;
	const char *solver = json_string_value(json_object_get(r, "solver"));
	size_t i;

	o->server = json_string_value(json_object_get(r, "server"));
	o->ca_bundle = json_string_value(json_object_get(r, "ca_bundle"));
	o->preferred_chain =
	    json_string_value(json_object_get(r, "preferred_chain"));
	o->deploy_hook = json_string_value(json_object_get(r, "deploy_hook"));
	o->profile = json_string_value(json_object_get(r, "profile"));
	o->key_type = acme_key_type_from_name(
	    json_string_value(json_object_get(r, "key_type")));
	o->nnames = 0;
	json_array_foreach(names, i,
	    v) if (json_is_string(v) && o->nnames < CLI_MAX_NAMES)
	    o->names[o->nnames++] = json_string_value(v);
	o->webroot = NULL;
	o->dns_hook = NULL;
	o->dns_check =
	    json_string_value(json_object_get(r, "dns_check_server"));
	o->tls_alpn = solver != NULL && strcmp(solver, "tls-alpn") == 0;
	if (o->tls_alpn)
		o->tls_port =
		    (int)json_integer_value(json_object_get(r, "tls_port"));
	o->rfc2136 = NULL;
	o->tsig_key = NULL;
	if (solver != NULL && strcmp(solver, "rfc2136") == 0) {
		o->rfc2136 =
		    json_string_value(json_object_get(r, "rfc2136_server"));
		o->tsig_key = json_string_value(json_object_get(r, "tsig_key"));
	} else if (solver != NULL && strcmp(solver, "dns-hook") == 0)
		o->dns_hook = json_string_value(json_object_get(r, "dns_hook"));
	else if (solver != NULL && strcmp(solver, "webroot") == 0)
		o->webroot = json_string_value(json_object_get(r, "webroot"));
	else if (json_is_integer(json_object_get(r, "http_port")))
		o->http_port =
		    (int)json_integer_value(json_object_get(r, "http_port"));
	if (o->server == NULL || o->nnames == 0 ||
	    o->key_type == ACME_KEY_UNKNOWN ||
	    (solver != NULL && strcmp(solver, "webroot") == 0 &&
		o->webroot == NULL) ||
	    (solver != NULL && strcmp(solver, "rfc2136") == 0 &&
		o->rfc2136 == NULL))
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "renewal.json is incomplete");
	return 0;
}

/*
 * Records the outcome of a renewal attempt in the renewal.json of the
 * lineage's current version (a new one, after a renewal).
 */
static void
note_result(const char *state, const char *dn, const char *error)
{
	char dir[STATE_PATH_MAX], path[STATE_PATH_MAX + 32], *text = NULL;
	char *out;
	size_t len = 0;
	json_t *r;

	if (state_lineage_dir(state, dn, dir, sizeof(dir), NULL) != 0)
		return;
	snprintf(path, sizeof(path), "%s/renewal.json", dir);
	if (acme_file_read_nofollow(path, 1 << 20, &text, &len, NULL) != 0)
		return;
	r = acme_json_parse(text, len, ACME_JSON_OBJECT, NULL);
	free(text);
	if (r == NULL)
		return;
	if (error != NULL)
		json_object_set_new(r, "last_error", json_string(error));
	else
		json_object_del(r, "last_error");
	json_object_set_new(r, "last_attempt", json_integer(time(NULL)));
	if ((out = json_dumps(r, JSON_INDENT(2))) != NULL)
		acme_file_write_atomic(path, out, strlen(out), 0644, NULL);
	free(out);
	json_decref(r);
}

/* Clients for renewalInfo checks, one per CA, kept for one run. */
#define ARI_CLIENTS 8
struct ari_cache {
	struct {
		char server[1024];
		struct acme_client *c;
	} e[ARI_CLIENTS];
	size_t n;
};

static struct acme_client *
ari_client(struct ari_cache *ac, const struct cli *run,
    struct acme_problem *prob)
{
	struct acme_client *c;
	size_t i;

	for (i = 0; i < ac->n; i++)
		if (strcmp(ac->e[i].server, run->server) == 0)
			return ac->e[i].c;
	/* A plain GET needs no account, no signer, no directory. */
	if ((c = acme_client_new(run->server, run->ca_bundle, NULL, prob)) ==
	    NULL)
		return NULL;
	if (ac->n == ARI_CLIENTS) /* many CAs: the last one makes room */
		acme_client_free(ac->e[--ac->n].c);
	snprintf(ac->e[ac->n].server, sizeof(ac->e[0].server), "%s",
	    run->server);
	ac->e[ac->n++].c = c;
	return c;
}

static void
ari_cache_free(struct ari_cache *ac)
{
	size_t i;

	for (i = 0; i < ac->n; i++)
		acme_client_free(ac->e[i].c);
	ac->n = 0;
}

/*
 * Asks the CA for renewal information when renewal.json says it is time
 * (S-ARI-8), never for an expired certificate (S-ARI-9), and saves what
 * it said.  Failures are not fatal: the last answer, or the built-in
 * threshold, decides.
 */
static void
ari_maybe_refresh(const struct cli *o, struct ari_cache *ac,
    const char *certdir, const char *dn, struct saved *sv, struct cli *run,
    time_t now)
{
	json_t *ari = json_object_get(sv->renewal, "ari");
	struct acme_problem p = { 0 };
	struct acme_client *c;
	const char *why, *before;
	char path[STATE_PATH_MAX + 32], *out, *old = NULL;

	if (!json_is_object(ari) || now >= sv->not_after ||
	    !ari_check_due(ari, now))
		return;
	before = json_string_value(json_object_get(ari, "explanation"));
	if (before != NULL)
		old = strdup(before);
	if ((c = ari_client(ac, run, &p)) == NULL) {
		json_object_set_new(ari, "last_error", json_string(p.detail));
		goto save;
	}
	if (ari_refresh(ari, c, now, &p) != 0 && o->verbose)
		fprintf(stderr, "anvil: %s: renewal information: %s\n", dn,
		    p.detail);
	/* S-ARI-7: the operator sees why the CA wants an early renewal. */
	why = json_string_value(json_object_get(ari, "explanation"));
	if (why != NULL && (old == NULL || strcmp(old, why) != 0))
		fprintf(stderr,
		    "anvil: %s: the CA explains its renewal "
		    "window: %s\n",
		    dn, why);
save:
	free(old);
	acme_problem_release(&p);
	snprintf(path, sizeof(path), "%s/renewal.json", certdir);
	if ((out = json_dumps(sv->renewal, JSON_INDENT(2))) != NULL)
		acme_file_write_atomic(path, out, strlen(out), 0644, NULL);
	free(out);
}

/*
 * When the certificate is due: the earlier of the CA's pick (ARI) and
 * our own schedule, so a window from the CA that ends late (even after
 * notAfter) never delays a renewal past a third (half, for short
 * lifetimes) of the lifetime before expiry.
 */
static time_t
renew_time(const struct saved *sv)
{
	const json_t *ari = json_object_get(sv->renewal, "ari");
	time_t at = json_is_object(ari) ? ari_renew_at(ari) : 0;
	time_t own = due_at(sv);

	return at > 0 && at < own ? at : own;
}

static int
renew_one(struct cli *o, const char *dn, int force, struct ari_cache *ac,
    int *renewed, struct acme_problem *prob)
{
	char certdir[STATE_PATH_MAX];
	struct saved sv;
	struct cli run = *o;
	time_t now = time(NULL);
	int rc;

	if ((rc = state_lineage_dir(o->state_dir, dn, certdir, sizeof(certdir),
		 prob)) != 0)
		return rc;
	if ((rc = load_saved(certdir, &sv, prob)) != 0)
		return rc;
	if ((rc = cli_from_saved(&run, &sv, prob)) != 0)
		goto out;
	if (!force) {
		ari_maybe_refresh(o, ac, certdir, dn, &sv, &run, now);
		if (now < renew_time(&sv) && now < sv.not_after) {
			if (o->verbose) {
				char t[32];

				fprintf(stderr, "anvil: %s: not due until %s\n",
				    dn, acme_rfc3339(t, renew_time(&sv)));
			}
			goto out;
		}
	}
	/* RFC 9773 5: the new order names the certificate it replaces. */
	run.replaces = json_string_value(
	    json_object_get(json_object_get(sv.renewal, "ari"), "cert_id"));
	run.cert_name = dn; /* the same lineage, whatever its names */
	rc = cmd_issue(&run, prob);
	note_result(o->state_dir, dn, rc == 0 ? NULL : prob->detail);
	if (rc == 0)
		(*renewed)++;
out:
	json_decref(sv.renewal);
	return rc;
}

/*
 * The lineage a command line names: a directory of certs/ as it is, or
 * a certificate's first name as "anvil issue" names a new lineage
 * (lower-cased, '*' as '_').
 */
static void
lineage_arg(const char *state, const char *name, char *dn, size_t size)
{
	char path[STATE_PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/certs/%s", state, name);
	if (strchr(name, '/') == NULL && lstat(path, &st) == 0)
		snprintf(dn, size, "%s", name);
	else
		state_cert_dirname(name, dn, size);
}

int
cmd_renew(struct cli *o, const char *name, int all, int force,
    struct acme_problem *prob)
{
	char certs[2048];
	struct ari_cache ac = { 0 };
	struct dirent *de;
	DIR *d;
	int renewed = 0, failed = 0, rc;

	if (!all) {
		char dn[300];

		lineage_arg(o->state_dir, name, dn, sizeof(dn));
		rc = renew_one(o, dn, force, &ac, &renewed, prob);
		ari_cache_free(&ac);
		return rc;
	}
	snprintf(certs, sizeof(certs), "%s/certs", o->state_dir);
	if ((d = opendir(certs)) == NULL)
		return 0; /* nothing issued yet: nothing due */
	while ((de = readdir(d)) != NULL) {
		struct acme_problem p = { 0 };

		if (de->d_name[0] == '.')
			continue;
		rc = renew_one(o, de->d_name, force, &ac, &renewed, &p);
		if (rc != 0) {
			/* Keep going; report each failure on its own line. */
			fprintf(stderr, "anvil: renew %s: %s\n", de->d_name,
			    p.detail);
			failed++;
		}
		acme_problem_release(&p);
	}
	closedir(d);
	ari_cache_free(&ac);
	if (failed > 0)
		return acme_problem_set(prob, ACME_PROB_OTHER,
		    "%d certificate(s) failed to renew", failed);
	return 0;
}

int
cmd_revoke(const struct cli *o, const char *name, const char *certfile,
    int reason, struct acme_problem *prob)
{
	struct acme_signer signer = { 0 };
	struct acme_client *c = NULL;
	struct cli run = *o;
	struct saved sv = { 0 };
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	unsigned char *der = NULL;
	char path[STATE_PATH_MAX], *text = NULL, *b64 = NULL;
	json_t *payload = NULL, *res = NULL;
	size_t len = 0;
	int n, rc = ACME_ERR_INVAL;

	if (name != NULL) {
		char dir[STATE_PATH_MAX], dn[300];

		lineage_arg(o->state_dir, name, dn, sizeof(dn));
		if (state_lineage_dir(o->state_dir, dn, dir, sizeof(dir),
			prob) != 0 ||
		    load_saved(dir, &sv, prob) != 0 ||
		    cli_from_saved(&run, &sv, prob) != 0)
			goto out;
		/* Revocation does not depend on the profile issued under
		 * (which the CA may have retired since). */
		run.profile = NULL;
		snprintf(path, sizeof(path), "%s/certs/%s/cert.pem",
		    o->state_dir, dn);
		certfile = path;
	}
	if (acme_file_read(certfile, 1 << 20, &text, &len, prob) != 0 ||
	    (cert = acme_x509_parse_one(text, len, prob)) == NULL)
		goto out;
	if ((n = i2d_X509(cert, &der)) <= 0 ||
	    (b64 = acme_b64url_encode(der, (size_t)n)) == NULL) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot encode the certificate");
		goto out;
	}
	if (client_open(&run, &c, &key, &signer, prob) != 0)
		goto out;
	payload = json_pack("{s:s}", "certificate", b64);
	if (reason >= 0)
		json_object_set_new(payload, "reason", json_integer(reason));
	if (acme_client_dir_url(c, "revokeCert") == NULL) {
		acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the CA does not offer revocation");
		goto out;
	}
	if ((res = acme_client_post(c, acme_client_dir_url(c, "revokeCert"),
		 payload, NULL, 0, prob)) == NULL)
		goto out;
	if (o->json)
		printf("{\"status\":\"revoked\",\"certificate\":\"%s\"}\n",
		    certfile);
	else
		printf("revoked %s\n", certfile);
	rc = 0;
out:
	json_decref(res);
	json_decref(payload);
	json_decref(sv.renewal);
	acme_client_free(c);
	acme_signer_release(&signer);
	EVP_PKEY_free(key);
	OPENSSL_free(der);
	free(b64);
	free(text);
	X509_free(cert);
	return rc;
}

int
cmd_list(const struct cli *o, struct acme_problem *prob)
{
	char certs[2048], dir[STATE_PATH_MAX];
	struct dirent *de;
	json_t *all = json_array();
	DIR *d;

	(void)prob;
	snprintf(certs, sizeof(certs), "%s/certs", o->state_dir);
	if ((d = opendir(certs)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			struct saved sv;
			char exp[32], due[32];
			struct tm tm;
			time_t when;
			const char *err;
			json_t *names;

			if (de->d_name[0] == '.')
				continue;
			if (state_lineage_dir(o->state_dir, de->d_name, dir,
				sizeof(dir), NULL) != 0 ||
			    load_saved(dir, &sv, NULL) != 0)
				continue;
			gmtime_r(&sv.not_after, &tm);
			strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%SZ", &tm);
			when = renew_time(&sv);
			gmtime_r(&when, &tm);
			strftime(due, sizeof(due), "%Y-%m-%dT%H:%M:%SZ", &tm);
			names = json_object_get(sv.renewal, "names");
			err = json_string_value(
			    json_object_get(sv.renewal, "last_error"));
			if (o->json)
				json_array_append_new(all,
				    json_pack("{s:s, s:O, s:s, s:s, s:s*}",
					"name", de->d_name, "identifiers",
					names, "expires", exp, "renew_after",
					due, "last_error", err));
			else {
				char *ids = json_dumps(names, JSON_COMPACT);

				printf("%s\t%s\texpires %s\trenew after "
				       "%s%s%s\n",
				    de->d_name, ids != NULL ? ids : "[]", exp,
				    due, err != NULL ? "\tlast error: " : "",
				    err != NULL ? err : "");
				free(ids);
			}
			json_decref(sv.renewal);
		}
		closedir(d);
	}
	if (o->json) {
		char *s = json_dumps(all, JSON_COMPACT);

		printf("%s\n", s != NULL ? s : "[]");
		free(s);
	}
	json_decref(all);
	return 0;
}
