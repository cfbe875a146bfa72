/* SPDX-License-Identifier: ISC */
/*
 * The account this state directory holds at one CA (one directory URL,
 * D61): loaded or made and registered for every command that talks to
 * the CA, and "anvil account show | update --email ADDR | rollover |
 * deactivate".  rollover makes a fresh key (S-KEY-7), writes and fsyncs
 * it as key.pem.new before the keyChange request (RFC 8555 7.3.5), and
 * renames it over key.pem only after the CA's 200; a run that finds a
 * key.pem.new left behind asks the CA which of the two keys it holds.
 * deactivate moves the account's directory aside, so the next issuance
 * registers a new account.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <anvil/client.h>
#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/json.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>
#include <anvil/key.h>

#include "cli.h"
#include "state.h"

#include "internal.h"

/* account.json of dir, or NULL (none, or not an account). */
static json_t *
read_account(const char *dir)
{
	char path[STATE_PATH_MAX + 32], *text = NULL;
	size_t len = 0;
	json_t *acct = NULL;

	snprintf(path, sizeof(path), "%s/account.json", dir);
	if (acme_file_read_nofollow(path, 64 * 1024, &text, &len, NULL) == 0)
		acct = acme_json_parse(text, len, ACME_JSON_OBJECT, NULL);
	free(text);
	if (acct != NULL &&
	    json_string_value(json_object_get(acct, "url")) == NULL) {
		json_decref(acct);
		acct = NULL;
	}
	return acct;
}

/*
 * Before D61 accounts were kept per host and port, whatever the path of
 * the directory URL: such an account moves to its URL's directory when
 * it was made for exactly this URL, and stays for the others.
 */
static void
adopt_legacy(const struct cli *o, const char *dir)
{
	char old[STATE_PATH_MAX];
	const char *h = strstr(o->server, "://");
	struct stat st;
	json_t *acct;
	size_t len;

	if (lstat(dir, &st) == 0 || errno != ENOENT)
		return;
	snprintf(old, sizeof(old), "%s", dir);
	len = strlen(old);
	while (len > 0 && old[len - 1] != '-')
		len--;
	if (len == 0 || h == NULL)
		return;
	old[len - 1] = '\0';
	if ((acct = read_account(old)) == NULL)
		return;
	if (json_string_value(json_object_get(acct, "server")) != NULL &&
	    strcmp(json_string_value(json_object_get(acct, "server")),
		o->server) == 0)
		(void)rename(old, dir);
	json_decref(acct);
}

int
account_load(const struct cli *o, EVP_PKEY **key, struct acme_problem *prob)
{
	char dir[STATE_PATH_MAX], path[STATE_PATH_MAX + 32];
	EVP_PKEY *fresh;
	char *pem;
	size_t len = 0;
	int rc;

	*key = NULL;
	snprintf(dir, sizeof(dir), "%s/accounts", o->state_dir);
	if (state_check_dir(dir, 1, prob) != 0)
		return ACME_ERR_IO;
	state_account_dir(o->state_dir, o->server, dir, sizeof(dir));
	adopt_legacy(o, dir);
	if (state_check_dir(dir, 1, prob) != 0)
		return ACME_ERR_IO;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if (access(path, F_OK) == 0)
		return (*key = acme_key_load_file(path, prob)) != NULL ?
			   0 :
			   ACME_ERR_INVAL;
	/* A new key appears whole or not at all, and only once (O_EXCL
	 * semantics): never one run's key beside another's account.json. */
	if ((fresh = acme_key_generate(ACME_KEY_EC256, prob)) == NULL)
		return ACME_ERR_CRYPTO;
	if ((pem = acme_key_to_pem(fresh, &len)) == NULL) {
		EVP_PKEY_free(fresh);
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot encode the account key");
	}
	rc = acme_file_create(path, pem, len, 0600, prob);
	acme_wipe(pem, len);
	free(pem);
	if (rc == ACME_ERR_LIMIT) { /* made meanwhile: use that one */
		EVP_PKEY_free(fresh);
		acme_problem_release(prob);
		return (*key = acme_key_load_file(path, prob)) != NULL ?
			   0 :
			   ACME_ERR_INVAL;
	}
	if (rc != 0) {
		EVP_PKEY_free(fresh);
		return rc;
	}
	*key = fresh;
	return 0;
}

/* Registers the account key at the CA and saves account.json. */
static int
register_account(const struct cli *o, struct acme_client *c, const char *dir,
    int agreed_before, struct acme_problem *prob)
{
	char path[STATE_PATH_MAX + 32], *out;
	int agree = o->agree_tos || agreed_before, rc;
	json_t *acct;

	if (acme_client_terms(c) != NULL && !agree)
		return acme_problem_set(prob, ACME_PROB_USER_ACTION_REQUIRED,
		    "the CA asks you to agree to its terms at %s; read them "
		    "and rerun with --agree-tos",
		    acme_client_terms(c));
	/* Said before asking, in words an admin can act on (S-EAB-2). */
	if (o->eab_kid == NULL &&
	    json_is_true(json_object_get(acme_client_dir_json(c, "meta"),
		"externalAccountRequired")))
		return acme_problem_set(prob,
		    ACME_PROB_EXTERNAL_ACCOUNT_REQUIRED,
		    "the CA requires an external account binding: rerun with "
		    "--eab-kid ID --eab-hmac-key KEY as the CA gave them");
	if ((rc = acme_client_account(c, o->email, agree, o->eab_kid,
		 o->eab_hmac, prob)) != 0)
		return rc;
	acct = json_pack("{s:s, s:s, s:s*, s:b}", "url", acme_client_kid(c),
	    "server", o->server, "email", o->email, "terms_agreed", agree);
	out = acct != NULL ? json_dumps(acct, JSON_INDENT(2)) : NULL;
	json_decref(acct);
	snprintf(path, sizeof(path), "%s/account.json", dir);
	rc = out != NULL ?
		 acme_file_write_atomic(path, out, strlen(out), 0600, prob) :
		 ACME_ERR_NOMEM;
	free(out);
	return rc;
}

/*
 * A key.pem.new beside key.pem: a rollover stopped between the request
 * and the switch, and only the CA knows which key it holds.  The current
 * key was just refused, so try the new one; when the CA knows it, it
 * becomes key.pem.  Returns 0 when the account works now, 1 when the
 * new key does not help either (prob untouched), or an error with prob
 * set.
 */
static int
finish_rollover(const char *dir, struct acme_client *c, EVP_PKEY **key,
    struct acme_signer *signer, struct acme_problem *prob)
{
	char path[STATE_PATH_MAX + 32], newpath[STATE_PATH_MAX + 32];
	struct acme_problem p = { 0 };
	EVP_PKEY *fresh;
	json_t *res;

	snprintf(newpath, sizeof(newpath), "%s/key.pem.new", dir);
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	if (access(newpath, F_OK) != 0 ||
	    (fresh = acme_key_load_file(newpath, NULL)) == NULL)
		return 1;
	acme_signer_release(signer);
	if (acme_signer_from_key(signer, fresh, &p) != 0 ||
	    (res = acme_client_post(c, acme_client_kid(c), NULL, NULL, 0,
		 &p)) == NULL) {
		acme_problem_release(&p);
		acme_signer_release(signer);
		EVP_PKEY_free(fresh);
		if (acme_signer_from_key(signer, *key, prob) != 0)
			return ACME_ERR_CRYPTO;
		return 1;
	}
	json_decref(res);
	EVP_PKEY_free(*key);
	*key = fresh;
	acme_problem_release(prob);
	if (rename(newpath, path) != 0)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "the CA holds the account key in %s but renaming it to "
		    "key.pem failed: %s",
		    newpath, strerror(errno));
	fprintf(stderr,
	    "anvil: finished an interrupted key rollover: the CA holds "
	    "the new key\n");
	return 0;
}

int
account_ensure(const struct cli *o, struct acme_client *c, EVP_PKEY **key,
    struct acme_signer *signer, struct acme_problem *prob)
{
	char dir[STATE_PATH_MAX], newpath[STATE_PATH_MAX + 32];
	const char *saved;
	json_t *acct, *res;
	int agreed, rc;

	state_account_dir(o->state_dir, o->server, dir, sizeof(dir));
	if ((acct = read_account(dir)) == NULL)
		return register_account(o, c, dir, 0, prob);
	saved = json_string_value(json_object_get(acct, "server"));
	if (saved != NULL && strcmp(saved, o->server) != 0) {
		rc = acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "%s/account.json is for %s, not %s", dir, saved, o->server);
		json_decref(acct);
		return rc;
	}
	agreed = json_is_true(json_object_get(acct, "terms_agreed"));
	acme_client_set_kid(c, json_string_value(json_object_get(acct, "url")));
	json_decref(acct);
	/* Is the account still there, and does it know this key? */
	if ((res = acme_client_post(c, acme_client_kid(c), NULL, NULL, 0,
		 prob)) != NULL) {
		json_decref(res);
		snprintf(newpath, sizeof(newpath), "%s/key.pem.new", dir);
		unlink(newpath); /* a rollover the CA never saw */
		return 0;
	}
	if (prob->type == ACME_PROB_ACCOUNT_DOES_NOT_EXIST) {
		/* The CA forgot it (a reset staging CA): register again,
		 * with the same key. */
		fprintf(stderr,
		    "anvil: the CA no longer knows account %s; registering "
		    "again\n",
		    acme_client_kid(c));
		acme_problem_release(prob);
		return register_account(o, c, dir, agreed, prob);
	}
	if (prob->status >= 400 && prob->status < 500 &&
	    (rc = finish_rollover(dir, c, key, signer, prob)) != 1)
		return rc;
	return ACME_ERR_INVAL;
}

static void
print_account(const struct cli *o, struct acme_client *c, const json_t *acct,
    const char *moved)
{
	const char *status = json_string_value(json_object_get(acct, "status"));

	if (o->json) {
		json_t *out = json_pack("{s:s, s:s, s:O*, s:s*}", "url",
		    acme_client_kid(c), "status", status != NULL ? status : "",
		    "contact", json_object_get(acct, "contact"), "moved_to",
		    moved);
		char *s = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;

		printf("%s\n", s != NULL ? s : "{}");
		free(s);
		json_decref(out);
		return;
	}
	printf("account %s\nstatus %s\n", acme_client_kid(c),
	    status != NULL ? status : "?");
	{
		json_t *contact = json_object_get(acct, "contact"), *v;
		size_t i;

		json_array_foreach(contact, i, v)
		    printf("contact %s\n", json_string_value(v));
	}
	if (moved != NULL)
		printf("moved to %s; the next issuance registers a new "
		       "account\n",
		    moved);
}

static int
rollover(const struct cli *o, struct acme_client *c, EVP_PKEY *old,
    struct acme_problem *prob)
{
	char dir[STATE_PATH_MAX], path[STATE_PATH_MAX + 32];
	char newpath[STATE_PATH_MAX + 32];
	const char *url = acme_client_dir_url(c, "keyChange");
	json_t *payload = NULL, *inner = NULL, *res = NULL, *oldjwk = NULL;
	EVP_PKEY *fresh = NULL;
	int rc = ACME_ERR_INVAL;

	if (url == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the CA does not offer key rollover");
	state_account_dir(o->state_dir, o->server, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	snprintf(newpath, sizeof(newpath), "%s/key.pem.new", dir);
	if ((fresh = acme_key_generate(ACME_KEY_EC256, prob)) == NULL ||
	    (oldjwk = acme_jwk_from_key(old, prob)) == NULL)
		goto out;
	payload = json_pack("{s:s, s:O}", "account", acme_client_kid(c),
	    "oldKey", oldjwk);
	{
		char *text =
		    payload != NULL ? json_dumps(payload, JSON_COMPACT) : NULL;

		/* Inner JWS: the new key's jwk, the same url, no nonce. */
		inner = text != NULL ? acme_jws_sign_request(fresh, NULL, NULL,
					   url, text, strlen(text), prob) :
				       NULL;
		free(text);
	}
	if (inner == NULL)
		goto out;
	/* On disk before the CA can know it: never a key only the CA has. */
	if ((rc = acme_key_save_file(fresh, newpath, prob)) != 0)
		goto out;
	if ((res = acme_client_post(c, url, inner, NULL, 0, prob)) == NULL) {
		/* Refused: the old key stays.  No answer: the next run asks
		 * the CA which key it holds (finish_rollover). */
		if (prob->status >= 400 && prob->status < 500)
			unlink(newpath);
		rc = ACME_ERR_INVAL;
		goto out;
	}
	if (rename(newpath, path) != 0) {
		rc = acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "the CA holds the new key, kept in %s, but renaming it "
		    "to key.pem failed (%s); the next run finishes the "
		    "switch",
		    newpath, strerror(errno));
		goto out;
	}
	if (o->json)
		printf("{\"status\":\"rolled over\",\"account\":\"%s\"}\n",
		    acme_client_kid(c));
	else
		printf("account key replaced for %s\n", acme_client_kid(c));
	rc = 0;
out:
	json_decref(res);
	json_decref(inner);
	json_decref(payload);
	json_decref(oldjwk);
	EVP_PKEY_free(fresh);
	return rc;
}

/*
 * Moves a deactivated account's directory aside (to <dir>.deactivated-N)
 * so that nothing uses it again; the name goes to out.
 */
static int
move_aside(const char *dir, char *out, size_t size, struct acme_problem *prob)
{
	int i;

	for (i = 1; i < 1000; i++) {
		snprintf(out, size, "%s.deactivated-%d", dir, i);
		if (access(out, F_OK) != 0 && errno == ENOENT)
			break;
	}
	if (rename(dir, out) != 0)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "the account is deactivated but moving %s aside failed: "
		    "%s",
		    dir, strerror(errno));
	return 0;
}

int
cmd_account(const struct cli *o, const char *action, const char *email,
    struct acme_problem *prob)
{
	struct acme_signer signer = { 0 };
	struct acme_client *c = NULL;
	EVP_PKEY *key = NULL;
	json_t *payload = NULL, *res = NULL, *acct;
	char dir[STATE_PATH_MAX], moved[STATE_PATH_MAX + 32];
	int rc = ACME_ERR_INVAL;

	state_account_dir(o->state_dir, o->server, dir, sizeof(dir));
	if ((acct = read_account(dir)) == NULL)
		return acme_problem_set(prob, ACME_PROB_ACCOUNT_DOES_NOT_EXIST,
		    "no account for %s in %s", o->server, o->state_dir);
	json_decref(acct);
	if (client_open(o, &c, &key, &signer, prob) != 0)
		goto out;
	if (strcmp(action, "show") == 0) {
		if ((res = acme_client_post(c, acme_client_kid(c), NULL, NULL,
			 0, prob)) == NULL)
			goto out;
	} else if (strcmp(action, "update") == 0) {
		char mailto[300];

		snprintf(mailto, sizeof(mailto), "mailto:%s", email);
		payload = json_pack("{s:[s]}", "contact", mailto);
		if ((res = acme_client_post(c, acme_client_kid(c), payload,
			 NULL, 0, prob)) == NULL)
			goto out;
	} else if (strcmp(action, "deactivate") == 0) {
		payload = json_pack("{s:s}", "status", "deactivated");
		if ((res = acme_client_post(c, acme_client_kid(c), payload,
			 NULL, 0, prob)) == NULL ||
		    move_aside(dir, moved, sizeof(moved), prob) != 0)
			goto out;
		print_account(o, c, res, moved);
		rc = 0;
		goto out;
	} else {
		rc = rollover(o, c, key, prob);
		goto out;
	}
	print_account(o, c, res, NULL);
	rc = 0;
out:
	json_decref(res);
	json_decref(payload);
	acme_client_free(c);
	acme_signer_release(&signer);
	EVP_PKEY_free(key);
	return rc;
}
