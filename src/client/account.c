/* SPDX-License-Identifier: ISC */
/*
 * "anvil account show | update --email ADDR | rollover | deactivate" for
 * the account this state directory holds at one CA (--server).
 * rollover makes a fresh key (S-KEY-7), proves it with the keyChange
 * inner JWS (RFC 8555 7.3.5) and only then replaces key.pem, keeping the
 * old key as key.pem.old until the CA has confirmed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <anvil/client.h>
#include <anvil/err.h>
#include <anvil/fileio.h>
#include <anvil/jwk.h>
#include <anvil/jws.h>
#include <anvil/key.h>

#include "cli.h"
#include "state.h"

#include "internal.h"

static void
print_account(const struct cli *o, struct acme_client *c, const json_t *acct)
{
	const char *status = json_string_value(json_object_get(acct, "status"));

	if (o->json) {
		json_t *out = json_pack("{s:s, s:s, s:O*}", "url",
		    acme_client_kid(c), "status", status != NULL ? status : "",
		    "contact", json_object_get(acct, "contact"));
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
}

static int
rollover(const struct cli *o, struct acme_client *c, EVP_PKEY *old,
    struct acme_problem *prob)
{
	char dir[STATE_PATH_MAX], ca[256], path[STATE_PATH_MAX + 32];
	char oldpath[STATE_PATH_MAX + 32];
	const char *url = acme_client_dir_url(c, "keyChange");
	json_t *payload = NULL, *inner = NULL, *res = NULL, *oldjwk = NULL;
	EVP_PKEY *fresh = NULL;
	int rc = ACME_ERR_INVAL;

	if (url == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "the CA does not offer key rollover");
	state_ca_dirname(o->server, ca, sizeof(ca));
	snprintf(dir, sizeof(dir), "%s/accounts/%s", o->state_dir, ca);
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	snprintf(oldpath, sizeof(oldpath), "%s/key.pem.old", dir);
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
	/* Keep the old key until the CA has switched. */
	if (link(path, oldpath) != 0 && access(oldpath, F_OK) != 0) {
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "cannot keep a copy of %s", path);
		goto out;
	}
	if ((res = acme_client_post(c, url, inner, NULL, 0, prob)) == NULL)
		goto out;
	if ((rc = acme_key_save_file(fresh, path, prob)) != 0)
		goto out;
	unlink(oldpath);
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

int
cmd_account(const struct cli *o, const char *action, const char *email,
    struct acme_problem *prob)
{
	struct acme_signer signer = { 0 };
	struct acme_client *c = NULL;
	EVP_PKEY *key = NULL;
	json_t *payload = NULL, *res = NULL;
	char dir[STATE_PATH_MAX], ca[256], path[STATE_PATH_MAX + 32];
	struct stat st;
	int rc = ACME_ERR_INVAL;

	state_ca_dirname(o->server, ca, sizeof(ca));
	snprintf(dir, sizeof(dir), "%s/accounts/%s", o->state_dir, ca);
	snprintf(path, sizeof(path), "%s/account.json", dir);
	if (stat(path, &st) != 0)
		return acme_problem_set(prob, ACME_PROB_ACCOUNT_DOES_NOT_EXIST,
		    "no account for %s in %s", o->server, o->state_dir);
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
			 NULL, 0, prob)) == NULL)
			goto out;
		/* The account is gone for good: forget it here too. */
		snprintf(path, sizeof(path), "%s/account.json", dir);
		unlink(path);
	} else {
		rc = rollover(o, c, key, prob);
		goto out;
	}
	print_account(o, c, res);
	rc = 0;
out:
	json_decref(res);
	json_decref(payload);
	acme_client_free(c);
	acme_signer_release(&signer);
	EVP_PKEY_free(key);
	return rc;
}
