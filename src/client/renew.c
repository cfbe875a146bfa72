/* SPDX-License-Identifier: ISC */
/*
 * "anvil renew", "anvil revoke" and "anvil list": the commands that work
 * from what "anvil issue" saved.  A certificate is due when a third of
 * its lifetime is left, or half for lifetimes of 10 days or less (short
 * certificates need more slack); renewal replays renewal.json, so it
 * asks for exactly what was issued before.
 */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <unistd.h>
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
#include "hook.h"
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
	o->pre_hook = json_string_value(json_object_get(r, "pre_hook"));
	o->post_hook = json_string_value(json_object_get(r, "post_hook"));
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
	if (o->tls_alpn && json_is_integer(json_object_get(r, "tls_port")))
		o->tls_port =
		    (int)json_integer_value(json_object_get(r, "tls_port"));
	o->rfc2136 = NULL;
	o->tsig_key = NULL;
	if (solver != NULL && strcmp(solver, "rfc2136") == 0) {
		o->rfc2136 =
		    json_string_value(json_object_get(r, "rfc2136_server"));
		o->tsig_key = json_string_value(json_object_get(r, "tsig_key"));
	} else if (solver != NULL && strcmp(solver, "dns-hook") == 0) {
		o->dns_hook = json_string_value(json_object_get(r, "dns_hook"));
		o->dns_timeout =
		    (int)json_integer_value(json_object_get(r, "dns_timeout"));
		v = json_object_get(r, "dns_hook_style");
		o->dns_lego = json_is_string(v) &&
			      strcmp(json_string_value(v), "lego") == 0;
	} else if (solver != NULL && strcmp(solver, "webroot") == 0)
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

/* Sets key to value (NULL: removes key) in the current renewal.json of
 * lineage dn; takes value's reference. */
static void
note_set(const char *state, const char *dn, const char *key, json_t *value)
{
	char dir[STATE_PATH_MAX], path[STATE_PATH_MAX + 32], *text = NULL;
	char *out;
	size_t len = 0;
	json_t *r = NULL;

	if (state_lineage_dir(state, dn, dir, sizeof(dir), NULL) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/renewal.json", dir);
	if (acme_file_read_nofollow(path, 1 << 20, &text, &len, NULL) != 0)
		goto out;
	r = acme_json_parse(text, len, ACME_JSON_OBJECT, NULL);
	free(text);
	if (r == NULL)
		goto out;
	if (value != NULL)
		json_object_set(r, key, value);
	else
		json_object_del(r, key);
	if ((out = json_dumps(r, JSON_INDENT(2))) != NULL)
		acme_file_write_atomic(path, out, strlen(out), 0644, NULL);
	free(out);
out:
	json_decref(r);
	json_decref(value);
}

static void
note_revoked(const char *state, const char *dn)
{
	note_set(state, dn, "revoked", json_true());
}

/*
 * Records the outcome of a renewal attempt in the renewal.json of the
 * lineage's current version (a new one, after a renewal).
 */
static void
note_result(const char *state, const char *dn, const char *error)
{
	note_set(state, dn, "last_error",
	    error != NULL ? json_string(error) : NULL);
	note_set(state, dn, "last_attempt", json_integer(time(NULL)));
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

int
renew_not_due(const struct cli *o, const char *dn, time_t now, time_t *due,
    time_t *not_after)
{
	char certdir[STATE_PATH_MAX];
	struct saved sv;
	int not_due;

	if (state_lineage_dir(o->state_dir, dn, certdir, sizeof(certdir),
		NULL) != 0 ||
	    load_saved(certdir, &sv, NULL) != 0)
		return 0;
	*due = renew_time(&sv);
	*not_after = sv.not_after;
	not_due = now < *due && now < sv.not_after;
	json_decref(sv.renewal);
	return not_due;
}

/* What a renew run did, for its summary and its JSON object (D76). */
struct renew_report {
	json_t *renewed; /* cli_issued() appends */
	json_t *skipped;
	json_t *failed;
	json_t *pre_run;  /* pre hooks run (each once per run) */
	json_t *post_due; /* post hooks to run at the end, once each */
};

/* Whether the array a holds the string s. */
static int
has_string(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i,
	    v) if (strcmp(json_string_value(v), s) == 0) return 1;
	return 0;
}

static int
renew_one(struct cli *o, const char *dn, int force, struct ari_cache *ac,
    struct renew_report *rep, struct acme_problem *prob)
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
			char t[32], why[64];

			snprintf(why, sizeof(why), "not due until %s",
			    acme_rfc3339(t, renew_time(&sv)));
			json_array_append_new(rep->skipped,
			    json_pack("{s:s, s:s}", "name", dn, "reason", why));
			if (!o->json)
				printf("%s: %s\n", dn, why);
			goto out;
		}
	}
	/* RFC 9773 5: the new order names the certificate it replaces. */
	run.replaces = json_string_value(
	    json_object_get(json_object_get(sv.renewal, "ari"), "cert_id"));
	run.cert_name = dn; /* the same lineage, whatever its names */
	run.force = 1;      /* due: judged above */
	run.collect = rep->renewed;
	/* Pre hooks once before the first renewal that needs them, post
	 * hooks once after the last (D76), as certbot does. */
	if (run.pre_hook != NULL && !has_string(rep->pre_run, run.pre_hook)) {
		json_array_append_new(rep->pre_run, json_string(run.pre_hook));
		if ((rc = hook_shell(o, "pre hook", run.pre_hook, prob)) != 0)
			goto out;
	}
	if (run.post_hook != NULL && !has_string(rep->post_due, run.post_hook))
		json_array_append_new(rep->post_due,
		    json_string(run.post_hook));
	rc = cmd_issue(&run, prob);
	note_result(o->state_dir, dn, rc == 0 ? NULL : prob->detail);
out:
	json_decref(sv.renewal);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the entries of dir (not starting with '.'). */
static char **
sorted_entries(const char *dir, size_t *n)
{
	char **names = NULL, **more;
	struct dirent *de;
	DIR *d;

	*n = 0;
	if ((d = opendir(dir)) == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if ((more = realloc(names, (*n + 1) * sizeof(*names))) == NULL)
			break;
		names = more;
		if ((names[*n] = strdup(de->d_name)) != NULL)
			(*n)++;
	}
	closedir(d);
	if (*n > 0)
		qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

static void
free_entries(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
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

/* The run's summary: a line, or its one JSON object (D76). */
static void
renew_summary(const struct cli *o, const struct renew_report *rep, int all)
{
	size_t nr = json_array_size(rep->renewed);
	size_t ns = json_array_size(rep->skipped);
	size_t nf = json_array_size(rep->failed);

	if (o->json) {
		cli_json_out(
		    json_pack("{s:O, s:O, s:O}", "renewed", rep->renewed,
			"skipped", rep->skipped, "failed", rep->failed));
		return;
	}
	if (!all)
		return;
	if (nr + ns + nf == 0)
		printf("nothing managed here (%s)\n", o->state_dir);
	else
		printf("renewed %zu, not due %zu, failed %zu\n", nr, ns, nf);
}

int
cmd_renew(struct cli *o, const char *name, int all, int force,
    struct acme_problem *prob)
{
	char certs[2048];
	struct ari_cache ac = { 0 };
	struct renew_report rep = { json_array(), json_array(), json_array(),
		json_array(), json_array() };
	size_t k;
	int rc = 0;

	if (!all) {
		char dn[300];

		lineage_arg(o->state_dir, name, dn, sizeof(dn));
		rc = renew_one(o, dn, force, &ac, &rep, prob);
		if (rc != 0)
			json_array_append_new(rep.failed,
			    json_pack("{s:s, s:s}", "name", dn, "reason",
				prob->detail[0] != '\0' ? prob->detail :
							  acme_strerror(rc)));
		goto out;
	}
	snprintf(certs, sizeof(certs), "%s/certs", o->state_dir);
	{
		size_t n, i;
		char **names = sorted_entries(certs, &n);

		for (i = 0; i < n; i++) {
			struct acme_problem p = { 0 };
			int r = renew_one(o, names[i], force, &ac, &rep, &p);

			if (r != 0) {
				/* Keep going; each failure on its own line. */
				fprintf(stderr, "anvil: renew %s: %s\n",
				    names[i], p.detail);
				json_array_append_new(rep.failed,
				    json_pack("{s:s, s:s}", "name", names[i],
					"reason",
					p.detail[0] != '\0' ?
					    p.detail :
					    acme_strerror(r)));
			}
			acme_problem_release(&p);
		}
		free_entries(names, n);
	}
	if (json_array_size(rep.failed) > 0)
		rc = acme_problem_set(prob, ACME_PROB_OTHER,
		    "%zu certificate(s) failed to renew",
		    json_array_size(rep.failed));
out:
	for (k = 0; k < json_array_size(rep.post_due); k++) {
		struct acme_problem p = { 0 };

		if (hook_shell(o, "post hook",
			json_string_value(json_array_get(rep.post_due, k)),
			&p) != 0)
			fprintf(stderr, "anvil: warning: %s\n", p.detail);
		acme_problem_release(&p);
	}
	renew_summary(o, &rep, all);
	ari_cache_free(&ac);
	json_decref(rep.pre_run);
	json_decref(rep.post_due);
	json_decref(rep.renewed);
	json_decref(rep.skipped);
	json_decref(rep.failed);
	return rc;
}

int
cmd_revoke(const struct cli *o, const char *name, const char *certfile,
    const char *keyfile, int reason, struct acme_problem *prob)
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
	if (keyfile != NULL) {
		/* No account: the certificate's key signs (RFC 8555 7.6). */
		if ((key = acme_key_load_file(keyfile, prob)) == NULL ||
		    acme_signer_from_key(&signer, key, prob) != 0 ||
		    (c = acme_client_new(run.server, run.ca_bundle, &signer,
			 prob)) == NULL ||
		    acme_client_directory(c, prob) != 0)
			goto out;
	} else if (client_open(&run, &c, &key, &signer, prob) != 0)
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
	if (name != NULL) {
		/* list marks it (D76). */
		char dn[300];

		lineage_arg(o->state_dir, name, dn, sizeof(dn));
		note_revoked(o->state_dir, dn);
	}
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

/* One lineage for list: its row (D76), or NULL when unreadable. */
static json_t *
list_row(const struct cli *o, const char *dn, time_t now)
{
	char dir[STATE_PATH_MAX], exp[32], due[32], path[STATE_PATH_MAX + 64];
	char key[STATE_PATH_MAX + 64];
	struct saved sv;
	const char *status;
	json_t *row;
	time_t when;

	if (state_lineage_dir(o->state_dir, dn, dir, sizeof(dir), NULL) != 0 ||
	    load_saved(dir, &sv, NULL) != 0)
		return NULL;
	acme_rfc3339(exp, sv.not_after);
	when = renew_time(&sv);
	acme_rfc3339(due, when);
	status = json_is_true(json_object_get(sv.renewal, "revoked")) ?
		     "revoked" :
		 now >= sv.not_after ? "expired" :
		 now >= when         ? "due" :
				       "valid";
	snprintf(path, sizeof(path), "%s/certs/%s/fullchain.pem", o->state_dir,
	    dn);
	snprintf(key, sizeof(key), "%s/certs/%s/privkey.pem", o->state_dir, dn);
	row = json_pack("{s:s, s:O, s:s, s:s, s:s, s:I, s:s, s:s, s:s*}",
	    "name", dn, "identifiers", json_object_get(sv.renewal, "names"),
	    "status", status, "expires", exp, "renew_after", due, "days_left",
	    (json_int_t)(sv.not_after > now ? (sv.not_after - now) / 86400 : 0),
	    "fullchain", path, "privkey", key, "last_error",
	    json_string_value(json_object_get(sv.renewal, "last_error")));
	json_decref(sv.renewal);
	return row;
}

int
cmd_list(const struct cli *o, struct acme_problem *prob)
{
	char certs[2048];
	json_t *all = json_array(), *row;
	time_t now = time(NULL);
	char **names;
	size_t n, i, k;

	(void)prob;
	snprintf(certs, sizeof(certs), "%s/certs", o->state_dir);
	names = sorted_entries(certs, &n);
	for (i = 0; i < n; i++) {
		if ((row = list_row(o, names[i], now)) == NULL)
			continue;
		json_array_append_new(all, row);
		if (o->json)
			continue;
		printf("%s: %s, %lld days left (expires %s, renew after %s)\n",
		    names[i], json_string_value(json_object_get(row, "status")),
		    (long long)json_integer_value(
			json_object_get(row, "days_left")),
		    json_string_value(json_object_get(row, "expires")),
		    json_string_value(json_object_get(row, "renew_after")));
		printf("  names:");
		for (k = 0;
		     k < json_array_size(json_object_get(row, "identifiers"));
		     k++)
			printf("%s %s", k > 0 ? "," : "",
			    json_string_value(
				json_array_get(json_object_get(row,
						   "identifiers"),
				    k)));
		printf("\n  fullchain: %s\n  privkey: %s\n",
		    json_string_value(json_object_get(row, "fullchain")),
		    json_string_value(json_object_get(row, "privkey")));
		if (json_object_get(row, "last_error") != NULL)
			printf("  last error: %s\n",
			    json_string_value(
				json_object_get(row, "last_error")));
	}
	free_entries(names, n);
	if (o->json)
		cli_json_out(json_pack("{s:s, s:O}", "state_dir", o->state_dir,
		    "certificates", all));
	else if (json_array_size(all) == 0)
		printf("nothing managed here (%s)\n", o->state_dir);
	else
		printf("%zu certificate(s) in %s\n", json_array_size(all),
		    o->state_dir);
	json_decref(all);
	return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return (flag == FTW_DP ? rmdir(path) : unlink(path)) != 0 ? -1 : 0;
}

int
cmd_delete(const struct cli *o, const char *name, struct acme_problem *prob)
{
	char dn[300], dir[STATE_PATH_MAX], path[STATE_PATH_MAX + 320];
	int rc;

	lineage_arg(o->state_dir, name, dn, sizeof(dn));
	/* Only what state_lineage_dir accepts (anvil's own layout). */
	if ((rc = state_lineage_dir(o->state_dir, dn, dir, sizeof(dir),
		 prob)) != 0)
		return rc == ACME_ERR_NOTFOUND ?
			   acme_problem_set(prob, ACME_PROB_MALFORMED,
			       "no certificate %s in %s", name, o->state_dir) :
			   rc;
	/* The link first: from then on the lineage is not managed. */
	snprintf(path, sizeof(path), "%s/certs/%s", o->state_dir, dn);
	if (unlink(path) != 0 &&
	    (errno != EISDIR ||
		nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0))
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot remove %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/archive/%s", o->state_dir, dn);
	if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
	    errno != ENOENT)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot remove %s: %s", path, strerror(errno));
	if (o->json)
		cli_json_out(
		    json_pack("{s:s, s:s}", "status", "deleted", "name", dn));
	else
		printf("deleted %s (its files in %s are gone; it was not "
		       "revoked)\n",
		    dn, o->state_dir);
	return 0;
}

int
renew_reconfigure(const struct cli *o, const char *name, json_t *set,
    struct acme_problem *prob)
{
	static const char *const solver_keys[] = { "webroot", "dns_hook",
		"rfc2136_server", "tsig_key", "dns_check_server", "tls_port",
		"http_port" };
	char dn[300], dir[STATE_PATH_MAX], path[STATE_PATH_MAX + 32];
	char *text = NULL, *out = NULL;
	size_t len = 0, i;
	json_t *r = NULL;
	int rc;

	lineage_arg(o->state_dir, name, dn, sizeof(dn));
	if ((rc = state_lineage_dir(o->state_dir, dn, dir, sizeof(dir),
		 prob)) != 0)
		return rc;
	snprintf(path, sizeof(path), "%s/renewal.json", dir);
	if ((rc = acme_file_read_nofollow(path, 1 << 20, &text, &len, prob)) !=
	    0)
		return rc;
	r = acme_json_parse(text, len, ACME_JSON_OBJECT, prob);
	free(text);
	if (r == NULL)
		return ACME_ERR_INVAL;
	if (json_object_get(set, "solver") != NULL)
		for (i = 0; i < ACME_ARRAY_LEN(solver_keys); i++)
			json_object_del(r, solver_keys[i]);
	json_object_update(r, set);
	rc = ACME_ERR_NOMEM;
	if ((out = json_dumps(r, JSON_INDENT(2))) != NULL)
		rc = acme_file_write_atomic(path, out, strlen(out), 0644, prob);
	free(out);
	json_decref(r);
	if (rc == 0 && !o->json)
		printf("%s: saved for this and later renewals: %zu option(s)\n",
		    dn, json_object_size(set));
	return rc;
}
