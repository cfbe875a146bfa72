/* SPDX-License-Identifier: ISC */
/*
 * The operator's commands (see admin.h, D74).  Each opens the store
 * as serve does (SQLite in WAL mode, or PostgreSQL, lets both run at
 * once), records an audit line with every change in the change's own
 * transaction (D44), and copies its lines to the audit log before it
 * exits.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <anvil/ari.h>
#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/json.h>

#include "admin.h"
#include "../audit.h"
#include "../conf.h"
#include "../ca/crl.h"
#include "../ca/issuer.h"
#include "../ra/ra.h"
#include "../store/store.h"

#include "internal.h"

#define FIND_MAX 100000 /* certificates one selection may name */
/* Database connections an admin command opens: it runs one at a time. */
#define ADM_POOL 2
/* Spaces per level of --json output. */
#define JSON_SPACES 2
/* Orders read per batch when listing an account's. */
#define ORDERS_BATCH 100
/* Bytes of a DNS name argument and its NUL (DNS_NAME_MAX fits). */
#define NAME_SIZE 256
/* RFC 5280's reason 7 is unassigned. */
#define UNUSED_REASON 7
/* Bytes of a new EAB HMAC key (256 bits, for HS256) and of it in base64url. */
#define EAB_KEY_LEN     32
#define EAB_KEY_B64_MAX 64

/* What every command has open. */
struct adm {
	struct conf cfg;
	struct store *st;
	struct audit *audit;
	int json;
	int yes;
};

static void
admin_usage(void)
{
	fprintf(stderr,
	    "usage: anvil-ca admin -c FILE find (--name NAME | --serial HEX "
	    "| --account ID) [--json]\n"
	    "       anvil-ca admin -c FILE revoke (--serial HEX | --account "
	    "ID | --name NAME)\n"
	    "                --reason R [--yes] [--json]\n"
	    "       anvil-ca admin -c FILE block --name NAME [--json]\n"
	    "       anvil-ca admin -c FILE unblock --name NAME [--json]\n"
	    "       anvil-ca admin -c FILE blocked [--json]   (or block "
	    "--list)\n"
	    "       anvil-ca admin -c FILE pause --account ID [--json]\n"
	    "       anvil-ca admin -c FILE unpause --account ID [--json]\n"
	    "       anvil-ca admin -c FILE eab (list | add [--kid ID] | "
	    "remove KID) [--json]\n");
	exit(EXIT_USAGE);
}

static int
fail(const char *what, const struct acme_problem *prob)
{
	fprintf(stderr, "anvil-ca: admin: %s: %s\n", what,
	    prob != NULL && prob->detail[0] != '\0' ? prob->detail : "failed");
	return 1;
}

int
admin_norm_serial(const char *in, char *out, size_t size)
{
	size_t o = 0;

	for (; *in != '\0'; in++) {
		char ch =
		    *in >= 'A' && *in <= 'F' ? (char)(*in - 'A' + 'a') : *in;

		if (ch == ':')
			continue;
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) ||
		    o + 1 >= size)
			return -1;
		if (o == 0 && ch == '0')
			continue;
		out[o++] = ch;
	}
	if (o == 0)
		out[o++] = '0';
	out[o] = '\0';
	return 0;
}

/* An account id, or its URL (".../acme/acct/ID"): the id. */
static const char *
account_arg(const char *s)
{
	const char *slash = strrchr(s, '/');

	return slash != NULL ? slash + 1 : s;
}

/*
 * A name to search or block: lowercase, at most 253 characters of
 * letters, digits, '-', '.', '_' and ':' (IPv6), a leading "*." allowed
 * and dropped.  Returns -1 for anything else.
 */
static int
name_arg(const char *in, char *out, size_t size)
{
	size_t i, o = 0;

	if (strncmp(in, WILDCARD, LIT_LEN(WILDCARD)) == 0)
		in += LIT_LEN(WILDCARD);
	for (i = 0; in[i] != '\0'; i++) {
		char c = in[i] >= 'A' && in[i] <= 'Z' ?
			     (char)(in[i] - 'A' + 'a') :
			     in[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			c == '-' || c == '.' || c == '_' || c == ':') ||
		    o + 1 >= size || o >= DNS_NAME_MAX)
			return -1;
		out[o++] = c;
	}
	if (o == 0 || out[0] == '.' || out[o - 1] == '.')
		return -1;
	out[o] = '\0';
	return 0;
}

static int
adm_open(struct adm *a, const char *path, struct acme_problem *prob)
{
	const struct store_open_opts o = { .migrate = 0, .pool = ADM_POOL };

	if (conf_load(&a->cfg, path, prob) != 0)
		return -1;
	if ((a->st = store_open_with(a->cfg.database, &o, prob)) == NULL)
		return -1;
	return 0;
}

/* Opens the audit log for a command that changes something. */
static int
adm_audit(struct adm *a, struct acme_problem *prob)
{
	a->audit = audit_open(a->cfg.audit_log, a->st, prob);
	return a->audit != NULL ? 0 : -1;
}

static void
adm_close(struct adm *a)
{
	/* Copies this command's lines to the file before it returns. */
	audit_close(a->audit);
	if (a->st != NULL)
		store_close(a->st);
}

/* One change and its audit line in one transaction (D44). */
static int
audited(struct adm *a, const char *kind, json_t *ev, int rc,
    struct acme_problem *prob)
{
	if (rc == 0)
		rc = audit_record(a->audit, kind, ev, prob);
	if (rc == 0)
		rc = store_commit(a->st, prob);
	if (rc != 0)
		store_rollback(a->st);
	else
		audit_kick(a->audit);
	return rc;
}

static void
print_json(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(JSON_SPACES) | JSON_SORT_KEYS);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

/* The JSON record of certificate id (with its order's names), or NULL. */
static json_t *
cert_json(struct adm *a, const char *id, struct store_cert *c,
    struct acme_problem *prob)
{
	struct store_order o;
	json_t *names = json_array(), *v = NULL;
	char nb[ACME_RFC3339_SIZE], na[ACME_RFC3339_SIZE],
	    rv[ACME_RFC3339_SIZE];
	size_t i;

	memset(&o, 0, sizeof(o));
	if (store_cert_get(a->st, id, c, prob) != 0) {
		json_decref(names);
		return NULL;
	}
	if (store_order_get(a->st, c->order_id, &o, NULL) == 0) {
		for (i = 0; i < o.nident; i++)
			json_array_append_new(names,
			    json_string(o.idents[i].value));
		store_order_release(&o);
	}
	v = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s*, s:i, "
		      "s:s}",
	    "serial", c->serial, "id", c->id, "account", c->account_id, "order",
	    c->order_id, "names", names, "not_before",
	    acme_rfc3339(nb, c->not_before), "not_after",
	    acme_rfc3339(na, c->not_after), "status",
	    c->revoked_at != 0 ? "revoked" : "valid", "revoked_at",
	    c->revoked_at != 0 ? acme_rfc3339(rv, c->revoked_at) : NULL,
	    "reason", c->reason, "profile", c->profile);
	if (v == NULL)
		acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	return v;
}

static void
print_cert_line(const json_t *v)
{
	const json_t *n;
	size_t i;

	printf("serial %s account %s order %s not_after %s %s",
	    json_string_value(json_object_get(v, "serial")),
	    json_string_value(json_object_get(v, "account")),
	    json_string_value(json_object_get(v, "order")),
	    json_string_value(json_object_get(v, "not_after")),
	    json_string_value(json_object_get(v, "status")));
	json_array_foreach(json_object_get(v, "names"), i, n)
	    printf("%s%s", i == 0 ? " names " : ",", json_string_value(n));
	printf("\n");
}

static json_t *
account_json(const struct store_account *acc)
{
	char cr[ACME_RFC3339_SIZE], pa[ACME_RFC3339_SIZE];

	return json_pack("{s:s, s:s, s:s, s:s, s:s*, s:s*}", "id", acc->id,
	    "status", store_status_name(acc->status), "created",
	    acme_rfc3339(cr, acc->created), "contact",
	    acc->contact != NULL ? acc->contact : "[]", "eab_kid",
	    acc->eab_kid[0] != '\0' ? acc->eab_kid : NULL, "paused",
	    acc->paused != 0 ? acme_rfc3339(pa, acc->paused) : NULL);
}

/*
 * The account's orders that are not invalid (order_list skips those),
 * oldest first, as JSON records; printed as lines unless a->json.
 */
static int
account_orders(struct adm *a, const char *account, json_t *out,
    struct acme_problem *prob)
{
	char ids[ORDERS_BATCH][STORE_ID_SIZE], after[STORE_ID_SIZE] = "";
	struct store_order o;
	size_t n, i, k;
	int rc;

	do {
		if ((rc = store_order_list(a->st, account, after, ids,
			 ACME_ARRAY_LEN(ids), &n, prob)) != 0)
			return rc;
		for (i = 0; i < n; i++) {
			json_t *names = json_array();
			char ex[ACME_RFC3339_SIZE];

			if ((rc = store_order_get(a->st, ids[i], &o, prob)) !=
			    0) {
				json_decref(names);
				return rc;
			}
			for (k = 0; k < o.nident; k++)
				json_array_append_new(names,
				    json_string(o.idents[k].value));
			if (!a->json)
				printf("order %s status %s expires %s "
				       "cert %s\n",
				    o.id, store_status_name(o.status),
				    acme_rfc3339(ex, o.expires),
				    o.cert_id[0] != '\0' ? o.cert_id : "-");
			json_array_append_new(out,
			    json_pack("{s:s, s:s, s:o, s:s, s:s*}", "id", o.id,
				"status", store_status_name(o.status), "names",
				names, "expires", acme_rfc3339(ex, o.expires),
				"cert",
				o.cert_id[0] != '\0' ? o.cert_id : NULL));
			store_order_release(&o);
		}
		if (n > 0)
			snprintf(after, sizeof(after), "%s", ids[n - 1]);
	} while (n == ACME_ARRAY_LEN(ids));
	return 0;
}

/*
 * The certificate ids a selection names into *ids (heap, *n of them):
 * one serial, an account's, or those whose order named name.
 */
static int
select_certs(struct adm *a, const char *serial, const char *account,
    const char *name, char (**ids)[STORE_ID_SIZE], size_t *n,
    struct acme_problem *prob)
{
	struct store_cert c;
	int rc;

	*n = 0;
	if (serial != NULL) {
		if ((*ids = calloc(1, sizeof(**ids))) == NULL)
			return ACME_ERR_NOMEM;
		rc = store_cert_by_serial(a->st, serial, &c, prob);
		if (rc == ACME_ERR_NOTFOUND)
			return 0;
		if (rc != 0)
			return rc;
		snprintf((*ids)[0], STORE_ID_SIZE, "%s", c.id);
		store_cert_release(&c);
		*n = 1;
		return 0;
	}
	if ((*ids = calloc(FIND_MAX, sizeof(**ids))) == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "out of memory");
	return store_cert_find(a->st, account, name, *ids, FIND_MAX, n, prob);
}

/* The selection options every search and revoke takes. */
struct sel {
	const char *name, *serial, *account;
	char name_buf[NAME_SIZE], serial_buf[STORE_SERIAL_SIZE];
};

static int
sel_check(struct sel *s)
{
	if ((s->name != NULL) + (s->serial != NULL) + (s->account != NULL) != 1)
		return -1;
	if (s->serial != NULL) {
		if (admin_norm_serial(s->serial, s->serial_buf,
			sizeof(s->serial_buf)) != 0) {
			fprintf(stderr,
			    "anvil-ca: admin: %s is not a serial number\n",
			    s->serial);
			exit(EXIT_USAGE);
		}
		s->serial = s->serial_buf;
	}
	if (s->name != NULL) {
		if (name_arg(s->name, s->name_buf, sizeof(s->name_buf)) != 0) {
			fprintf(stderr, "anvil-ca: admin: %s is not a name\n",
			    s->name);
			exit(EXIT_USAGE);
		}
		s->name = s->name_buf;
	}
	if (s->account != NULL)
		s->account = account_arg(s->account);
	return 0;
}

static int
cmd_find(struct adm *a, struct sel *s)
{
	struct acme_problem prob = { 0 };
	struct store_account acc;
	char(*ids)[STORE_ID_SIZE] = NULL;
	json_t *out = json_object(), *certs = json_array(), *v, *orders;
	size_t n = 0, i;
	int rc = 0, found_acct = 0;

	if (s->account != NULL) {
		rc = store_account_get(a->st, s->account, &acc, &prob);
		if (rc == 0) {
			json_object_set_new(out, "account", account_json(&acc));
			found_acct = 1;
			if (!a->json)
				printf("account %s status %s paused %s "
				       "contact %s\n",
				    acc.id, store_status_name(acc.status),
				    acc.paused != 0 ? "yes" : "no",
				    acc.contact != NULL ? acc.contact : "[]");
			store_account_release(&acc);
			orders = json_array();
			json_object_set_new(out, "orders", orders);
			if ((rc = account_orders(a, s->account, orders,
				 &prob)) != 0)
				goto out;
		} else if (rc != ACME_ERR_NOTFOUND)
			goto out;
		rc = 0;
	}
	if ((rc = select_certs(a, s->serial, s->account, s->name, &ids, &n,
		 &prob)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct store_cert c;

		if ((v = cert_json(a, ids[i], &c, &prob)) == NULL) {
			rc = ACME_ERR_IO;
			goto out;
		}
		store_cert_release(&c);
		if (!a->json)
			print_cert_line(v);
		json_array_append_new(certs, v);
	}
	json_object_set(out, "certificates", certs);
	if (a->json)
		print_json(out);
	if (n == 0 && !found_acct) {
		fprintf(stderr, "anvil-ca: admin: find: nothing matches\n");
		rc = 1;
	}
out:
	free(ids);
	json_decref(certs);
	json_decref(out);
	if (rc < 0)
		return fail("find", &prob);
	return rc;
}

/* RFC 5280 CRLReason by number or name; -1 when neither. */
static int
reason_arg(const char *s)
{
	static const char *const names[] = { "unspecified", "keyCompromise",
		"cACompromise", "affiliationChanged", "superseded",
		"cessationOfOperation", "certificateHold", NULL,
		"removeFromCRL", "privilegeWithdrawn", "aACompromise" };
	char *end;
	long n;
	size_t i;

	for (i = 0; i < ACME_ARRAY_LEN(names); i++)
		if (names[i] != NULL && strcmp(s, names[i]) == 0)
			return (int)i;
	n = strtol(s, &end, 10);
	/* 7 is unused; the CA never puts certificates on hold. */
	if (end == s || *end != '\0' || n < 0 || n > CRL_REASON_AA_COMPROMISE ||
	    n == UNUSED_REASON || n == CRL_REASON_CERTIFICATE_HOLD ||
	    n == CRL_REASON_REMOVE_FROM_CRL)
		return -1;
	return (int)n;
}

/* Signs a CRL now that names the new revocations (D50), as serve would. */
static int
refresh_crl(struct adm *a, long long *number, struct acme_problem *prob)
{
	struct store_crl crl;
	struct issuer *is;
	int rc;

	if ((is = issuer_open(&a->cfg, prob)) == NULL)
		return ACME_ERR_IO;
	rc = crl_current(NULL, a->st, is, &a->cfg, time(NULL), &crl, prob);
	issuer_free(is);
	if (rc == 0) {
		*number = (long long)crl.number;
		store_crl_release(&crl);
	}
	return rc;
}

static int
cmd_revoke(struct adm *a, struct sel *s, const char *reason_s)
{
	struct acme_problem prob = { 0 };
	char(*ids)[STORE_ID_SIZE] = NULL;
	json_t *done = json_array(), *skipped = json_array();
	size_t n = 0, i, live = 0;
	long long crl_number = 0;
	time_t now = time(NULL);
	int rc, reason = reason_arg(reason_s);

	if (reason < 0) {
		fprintf(stderr,
		    "anvil-ca: admin: revoke: --reason %s is not a CRLReason "
		    "(0-5, 9, 10 or a name such as keyCompromise)\n",
		    reason_s);
		json_decref(done);
		json_decref(skipped);
		return EXIT_USAGE;
	}
	if ((rc = select_certs(a, s->serial, s->account, s->name, &ids, &n,
		 &prob)) != 0 ||
	    (rc = adm_audit(a, &prob)) != 0)
		goto out;
	if (n == 0) {
		fprintf(stderr, "anvil-ca: admin: revoke: no certificate "
				"matches\n");
		rc = 1;
		goto out;
	}
	if (n > 1 && !a->yes) {
		fprintf(stderr,
		    "anvil-ca: admin: revoke: %zu certificates match; "
		    "nothing revoked (add --yes to revoke them all)\n",
		    n);
		rc = 1;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct store_cert c;

		if ((rc = store_cert_get(a->st, ids[i], &c, &prob)) != 0)
			goto out;
		rc = ra_revoke_record(a->st, a->audit, &c, now, reason,
		    c.account_id, "operator", &prob);
		if (rc == ACME_ERR_CONFLICT) {
			json_array_append_new(skipped, json_string(c.serial));
			rc = 0;
		} else if (rc == 0) {
			json_array_append_new(done, json_string(c.serial));
			live++;
		}
		store_cert_release(&c);
		if (rc != 0)
			goto out;
	}
	if (live > 0 && (rc = refresh_crl(a, &crl_number, &prob)) != 0)
		goto out;
	if (a->json) {
		json_t *o = json_pack("{s:O, s:O, s:i, s:I}", "revoked", done,
		    "already_revoked", skipped, "reason", reason, "crl_number",
		    (json_int_t)crl_number);

		print_json(o);
		json_decref(o);
	} else {
		json_t *v;

		json_array_foreach(done, i, v)
		    printf("revoked %s\n", json_string_value(v));
		json_array_foreach(skipped, i, v)
		    printf("already revoked %s\n", json_string_value(v));
		if (live > 0)
			printf("crl number %lld\n", crl_number);
	}
out:
	free(ids);
	json_decref(done);
	json_decref(skipped);
	if (rc < 0)
		return fail("revoke", &prob);
	return rc;
}

/* The store call of a one-record change. */
typedef int (
    *change_fn)(struct adm *a, const char *key, struct acme_problem *prob);

static int
do_block(struct adm *a, const char *name, struct acme_problem *prob)
{
	return store_block_add(a->st, name, time(NULL), prob);
}

static int
do_pause(struct adm *a, const char *id, struct acme_problem *prob)
{
	return store_account_pause(a->st, id, time(NULL), prob);
}

/* D88: the undoing of the two above. */
static int
do_unblock(struct adm *a, const char *name, struct acme_problem *prob)
{
	return store_block_remove(a->st, name, prob);
}

static int
do_unpause(struct adm *a, const char *id, struct acme_problem *prob)
{
	return store_account_unpause(a->st, id, prob);
}

static int
do_eab_remove(struct adm *a, const char *kid, struct acme_problem *prob)
{
	return store_eab_remove(a->st, kid, prob);
}

/*
 * fn(key) and the audit line {field: key, "by": "operator"} of kind in
 * one transaction; then {done: key} (JSON) or "text key" on success.
 * Returns 0, or the store's error (nothing printed) for the caller to
 * word, or 1 after a line on stderr.
 */
static int
one_change(struct adm *a, change_fn fn, const char *kind, const char *field,
    const char *key, const char *done, const char *text)
{
	struct acme_problem prob = { 0 };
	json_t *ev;
	int rc;

	if (adm_audit(a, &prob) != 0)
		return fail(kind, &prob);
	ev = json_pack("{s:s, s:s}", field, key, "by", "operator");
	rc = store_begin(a->st, &prob);
	if (rc == 0)
		rc = fn(a, key, &prob);
	rc = audited(a, kind, ev, rc, &prob);
	json_decref(ev);
	if (rc == ACME_ERR_NOTFOUND || rc == ACME_ERR_EXISTS ||
	    rc == ACME_ERR_CONFLICT)
		return rc;
	if (rc != 0)
		return fail(kind, &prob);
	if (a->json) {
		json_t *o = json_pack("{s:s}", done, key);

		print_json(o);
		json_decref(o);
	} else
		printf("%s %s\n", text, key);
	return 0;
}

static int
cmd_block(struct adm *a, const char *name)
{
	int rc = one_change(a, do_block, "block", "name", name, "blocked",
	    "blocked (with every name under it)");

	if (rc == ACME_ERR_EXISTS) {
		fprintf(stderr,
		    "anvil-ca: admin: block: %s is blocked "
		    "already\n",
		    name);
		return 1;
	}
	return rc;
}

static int
cmd_pause(struct adm *a, const char *id)
{
	int rc = one_change(a, do_pause, "pause", "account", id, "paused",
	    "paused account");

	if (rc == ACME_ERR_NOTFOUND)
		fprintf(stderr, "anvil-ca: admin: pause: no account %s\n", id);
	else if (rc == ACME_ERR_CONFLICT)
		fprintf(stderr,
		    "anvil-ca: admin: pause: account %s is paused "
		    "already\n",
		    id);
	return rc != 0 ? 1 : 0;
}

static int
cmd_unblock(struct adm *a, const char *name)
{
	struct acme_problem prob = { 0 };
	char match[NAME_SIZE];
	int rc = one_change(a, do_unblock, "unblock", "name", name, "unblocked",
	    "unblocked");

	if (rc != ACME_ERR_NOTFOUND)
		return rc != 0 ? 1 : 0;
	/* A name under a block is not a block of its own: say which is. */
	if (store_name_blocked(a->st, name, match, sizeof(match), &prob) == 0)
		fprintf(stderr,
		    "anvil-ca: admin: unblock: %s is not blocked itself; it is "
		    "under the block on %s (unblock --name %s)\n",
		    name, match, match);
	else
		fprintf(stderr, "anvil-ca: admin: unblock: %s is not blocked\n",
		    name);
	acme_problem_release(&prob);
	return 1;
}

static int
cmd_unpause(struct adm *a, const char *id)
{
	int rc = one_change(a, do_unpause, "unpause", "account", id, "unpaused",
	    "unpaused account");

	if (rc == ACME_ERR_NOTFOUND)
		fprintf(stderr, "anvil-ca: admin: unpause: no account %s\n",
		    id);
	else if (rc == ACME_ERR_CONFLICT)
		fprintf(stderr,
		    "anvil-ca: admin: unpause: account %s is not paused\n", id);
	return rc != 0 ? 1 : 0;
}

/* Every block, name order: lines "name N created T", or a JSON array. */
static int
cmd_blocked(struct adm *a)
{
	struct acme_problem prob = { 0 };
	struct store_block *v = NULL;
	json_t *arr = json_array();
	char when[ACME_RFC3339_SIZE];
	size_t n = 0, i;

	if (store_block_list(a->st, &v, &n, &prob) != 0) {
		json_decref(arr);
		return fail("blocked", &prob);
	}
	for (i = 0; i < n; i++) {
		acme_rfc3339(when, v[i].created);
		if (a->json)
			json_array_append_new(arr,
			    json_pack("{s:s, s:s}", "name", v[i].name,
				"created", when));
		else
			printf("name %s created %s\n", v[i].name, when);
	}
	if (a->json)
		print_json(arr);
	json_decref(arr);
	free(v);
	return 0;
}

static int
eab_list(struct adm *a)
{
	struct acme_problem prob = { 0 };
	struct store_eab *v = NULL;
	json_t *arr = json_array();
	char when[ACME_RFC3339_SIZE];
	size_t n = 0, i;

	if (store_eab_list(a->st, &v, &n, &prob) != 0) {
		json_decref(arr);
		return fail("eab list", &prob);
	}
	for (i = 0; i < n; i++) {
		acme_rfc3339(when, v[i].created);
		if (a->json)
			json_array_append_new(arr,
			    json_pack("{s:s, s:s*, s:s}", "kid", v[i].kid,
				"account",
				v[i].account_id[0] != '\0' ? v[i].account_id :
							     NULL,
				"created", when));
		else
			printf("kid %s created %s account %s\n", v[i].kid, when,
			    v[i].account_id[0] != '\0' ? v[i].account_id : "-");
	}
	if (a->json)
		print_json(arr);
	json_decref(arr);
	free(v);
	return 0;
}

static int
eab_remove(struct adm *a, const char *kid)
{
	int rc = one_change(a, do_eab_remove, "eab_removed", "kid", kid,
	    "removed", "removed key id");

	if (rc == ACME_ERR_NOTFOUND) {
		fprintf(stderr, "anvil-ca: admin: eab: no key id %s\n", kid);
		return 1;
	}
	return rc != 0 ? 1 : 0;
}

int
admin_eab_add(const char *config, const char *kid, int json)
{
	struct acme_problem prob = { 0 };
	struct store_eab e;
	struct adm a;
	char keyb64[EAB_KEY_B64_MAX];
	size_t i;
	int rc;

	memset(&e, 0, sizeof(e));
	if (kid == NULL) {
		if (store_new_id(e.kid) != 0)
			return fail("eab", &prob);
	} else {
		for (i = 0; kid[i] != '\0'; i++)
			if (kid[i] <= ' ' || kid[i] >= ASCII_DEL)
				break;
		if (kid[i] != '\0' || i == 0 || i >= sizeof(e.kid)) {
			fprintf(stderr,
			    "anvil-ca: eab: --kid must be 1 to %zu "
			    "printable ASCII characters\n",
			    sizeof(e.kid) - 1);
			return EXIT_USAGE;
		}
		snprintf(e.kid, sizeof(e.kid), "%s", kid);
	}
	e.keylen = EAB_KEY_LEN;
	if (RAND_bytes(e.key, (int)e.keylen) != 1 ||
	    acme_b64url_encode_to(e.key, e.keylen, keyb64, sizeof(keyb64)) !=
		0) {
		acme_problem_set(&prob, ACME_PROB_SERVER_INTERNAL,
		    "no randomness");
		return fail("eab", &prob);
	}
	e.created = time(NULL);
	memset(&a, 0, sizeof(a));
	if (adm_open(&a, config, &prob) != 0) {
		adm_close(&a);
		return fail(config, &prob);
	}
	rc = store_eab_insert(a.st, &e, &prob);
	adm_close(&a);
	acme_wipe(e.key, sizeof(e.key));
	if (rc == ACME_ERR_EXISTS) {
		fprintf(stderr, "anvil-ca: eab: key id %s exists already\n",
		    e.kid);
		return 1;
	}
	if (rc != 0)
		return fail("eab", &prob);
	if (json)
		printf("{\n  \"hmac_key\": \"%s\",\n  \"kid\": \"%s\"\n}\n",
		    keyb64, e.kid);
	else
		printf("kid: %s\nhmac_key: %s\n", e.kid, keyb64);
	acme_wipe(keyb64, sizeof(keyb64));
	return 0;
}

int
admin_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "serial", required_argument, NULL, 's' },
		{ "account", required_argument, NULL, 'a' },
		{ "reason", required_argument, NULL, 'r' },
		{ "kid", required_argument, NULL, 'k' },
		{ "yes", no_argument, NULL, 'y' },
		{ "json", no_argument, NULL, 'j' },
		{ "list", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	struct acme_problem prob = { 0 };
	struct sel s;
	struct adm a;
	const char *path = NULL, *reason = NULL, *kid = NULL, *cmd, *sub = NULL;
	int c, rc, list = 0;

	memset(&s, 0, sizeof(s));
	memset(&a, 0, sizeof(a));
	optind = 1;
	/* Options may come before and after the command (getopt permutes). */
	while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			s.name = optarg;
			break;
		case 's':
			s.serial = optarg;
			break;
		case 'a':
			s.account = optarg;
			break;
		case 'r':
			reason = optarg;
			break;
		case 'k':
			kid = optarg;
			break;
		case 'y':
			a.yes = 1;
			break;
		case 'j':
			a.json = 1;
			break;
		case 'l':
			list = 1;
			break;
		default:
			admin_usage();
		}
	}
	if (path == NULL || optind >= argc)
		admin_usage();
	cmd = argv[optind++];
	if (optind < argc)
		sub = argv[optind++];
	if (strcmp(cmd, "eab") == 0) {
		const char *arg = optind < argc ? argv[optind++] : NULL;

		if (sub == NULL || optind != argc)
			admin_usage();
		if (strcmp(sub, "add") == 0 && arg == NULL)
			return admin_eab_add(path, kid, a.json);
		if (!((strcmp(sub, "list") == 0 && arg == NULL) ||
			(strcmp(sub, "remove") == 0 && arg != NULL)))
			admin_usage();
		if (adm_open(&a, path, &prob) != 0) {
			adm_close(&a);
			return fail(path, &prob);
		}
		rc = arg == NULL ? eab_list(&a) : eab_remove(&a, arg);
		adm_close(&a);
		return rc;
	}
	if (sub != NULL || (list && strcmp(cmd, "block") != 0))
		admin_usage();
	if (strcmp(cmd, "block") == 0 && list)
		cmd = "blocked";
	if (strcmp(cmd, "find") == 0 || strcmp(cmd, "revoke") == 0) {
		if (sel_check(&s) != 0 ||
		    (strcmp(cmd, "revoke") == 0) != (reason != NULL))
			admin_usage();
	} else if (strcmp(cmd, "block") == 0 || strcmp(cmd, "unblock") == 0) {
		if (s.name == NULL || s.serial != NULL || s.account != NULL ||
		    sel_check(&s) != 0)
			admin_usage();
	} else if (strcmp(cmd, "blocked") == 0) {
		if (s.name != NULL || s.serial != NULL || s.account != NULL)
			admin_usage();
	} else if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "unpause") == 0) {
		if (s.account == NULL || s.serial != NULL || s.name != NULL ||
		    sel_check(&s) != 0)
			admin_usage();
	} else
		admin_usage();
	if (adm_open(&a, path, &prob) != 0) {
		adm_close(&a);
		return fail(path, &prob);
	}
	if (strcmp(cmd, "find") == 0)
		rc = cmd_find(&a, &s);
	else if (strcmp(cmd, "revoke") == 0)
		rc = cmd_revoke(&a, &s, reason);
	else if (strcmp(cmd, "block") == 0)
		rc = cmd_block(&a, s.name);
	else if (strcmp(cmd, "unblock") == 0)
		rc = cmd_unblock(&a, s.name);
	else if (strcmp(cmd, "blocked") == 0)
		rc = cmd_blocked(&a);
	else if (strcmp(cmd, "pause") == 0)
		rc = cmd_pause(&a, s.account);
	else
		rc = cmd_unpause(&a, s.account);
	adm_close(&a);
	return rc;
}
