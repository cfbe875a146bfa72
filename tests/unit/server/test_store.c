/* SPDX-License-Identifier: ISC */
/*
 * The storage contract of store.h, exercised through the ops table only,
 * each case against a fresh database: a SQLite file in its own temporary
 * directory, or, when ANVIL_TEST_PG names a PostgreSQL server (meson's
 * srv_store_pg, which starts one with tests/interop/pgserver.py), a new
 * database there.  Nothing here may rely on a back end beyond the URL
 * given to store_open().
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include <anvil/err.h>

#include "store/store.h"

#include "../helpers.h"

struct fx {
	char *dir;
	char url[4200];
	struct store *s;
};

/*
 * An empty database on the server ANVIL_TEST_PG names: its database
 * "postgres" with every row deleted (the schema stays: the first case
 * creates it, the contract's reopen case opens it again).  Migrating
 * anew for each case took half a second of the server's time each.
 */
static void
pg_newdb(char *url, size_t size)
{
	PGconn *db;
	PGresult *r;

	snprintf(url, size, "%spostgres", getenv("ANVIL_TEST_PG"));
	db = PQconnectdb(url);
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	r = PQexec(db, "DO $$DECLARE t text; BEGIN"
		       " FOR t IN SELECT tablename FROM pg_tables"
		       " WHERE schemaname = 'public'"
		       " AND tablename <> 'schema_version' LOOP"
		       " EXECUTE format('DELETE FROM %I', t);"
		       " END LOOP; END$$");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(db);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	f->dir = th_tmpdir();
	if (getenv("ANVIL_TEST_PG") != NULL)
		pg_newdb(f->url, sizeof(f->url));
	else
		snprintf(f->url, sizeof(f->url), "sqlite:%s/t.db", f->dir);
	f->s = store_open(f->url, NULL);
	*state = f;
	return f->s != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->s);
	th_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static char jwk_text[] = "{\"kty\":\"EC\"}";
static char jwk2_text[] = "{\"kty\":\"OKP\"}";
static char contact_text[] = "[\"mailto:a@example.org\"]";
static char eab_text[] = "{\"protected\":\"x\"}";
static char pem_text[] = "-----BEGIN CERTIFICATE-----\n";
static char alt_pem_text[] = "-----BEGIN CERTIFICATE-----\nalt\n";
static char err_text[] = "{\"type\":\"urn:ietf:params:acme:error:dns\"}";

static void
make_account(struct store_account *a, const char *thumb)
{
	memset(a, 0, sizeof(*a));
	assert_int_equal(store_new_id(a->id), 0);
	a->status = ST_VALID;
	snprintf(a->thumbprint, sizeof(a->thumbprint), "%s", thumb);
	a->jwk = jwk_text;
	a->contact = contact_text;
	a->created = 1000;
}

/* An authorization for ident with three pending challenges. */
static void
make_authz(struct store_authz *z, const char *acct,
    const struct acme_ident *ident, time_t expires)
{
	size_t k;

	memset(z, 0, sizeof(*z));
	assert_int_equal(store_new_id(z->id), 0);
	snprintf(z->account_id, sizeof(z->account_id), "%s", acct);
	z->ident = *ident;
	z->status = ST_PENDING;
	z->expires = expires;
	z->created = 1000;
	z->nchall = 3;
	z->challs = calloc(3, sizeof(*z->challs));
	assert_non_null(z->challs);
	/* Inserted in reverse type order: authz_get must sort them. */
	for (k = 0; k < 3; k++) {
		struct store_chall *c = &z->challs[k];

		assert_int_equal(store_new_id(c->id), 0);
		assert_int_equal(store_new_token(c->token), 0);
		snprintf(c->authz_id, sizeof(c->authz_id), "%s", z->id);
		c->type = (enum store_chall_type)(3 - k);
		c->status = ST_PENDING;
	}
}

/* An order with two new authorizations of three challenges each. */
static void
make_order(struct store_order *o, struct store_authz z[2], const char *acct)
{
	size_t i;

	memset(o, 0, sizeof(*o));
	assert_int_equal(store_new_id(o->id), 0);
	snprintf(o->account_id, sizeof(o->account_id), "%s", acct);
	o->status = ST_PENDING;
	o->expires = 5000;
	o->not_before = 1100;
	o->not_after = 9100;
	o->created = 1000;
	snprintf(o->profile, sizeof(o->profile), "shortlived");
	/* Unique per order: at most one live order replaces a cert. */
	snprintf(o->replaces, sizeof(o->replaces), "aYhba4dGQEHhs3uE.%s",
	    o->id);
	o->nident = 2;
	o->idents = calloc(2, sizeof(*o->idents));
	assert_non_null(o->idents);
	assert_int_equal(acme_ident_set(&o->idents[0], "dns", "a.example.com"),
	    0);
	assert_int_equal(acme_ident_set(&o->idents[1], "ip", "192.0.2.1"), 0);
	o->nauthz = 2;
	o->authz_ids = calloc(2, sizeof(*o->authz_ids));
	assert_non_null(o->authz_ids);
	for (i = 0; i < 2; i++) {
		make_authz(&z[i], acct, &o->idents[i], 4000);
		snprintf(o->authz_ids[i], STORE_ID_SIZE, "%s", z[i].id);
	}
}

static void
free_order(struct store_order *o, struct store_authz z[2])
{
	store_order_release(o);
	store_authz_release(&z[0]);
	store_authz_release(&z[1]);
}

/* A ready order of "acct1", stored, then claimed by "A" until 100. */
static void
claimed_order(struct fx *f, struct store_order *o, struct store_authz z[2])
{
	make_order(o, z, "acct1");
	o->status = ST_READY;
	assert_int_equal(f->s->ops->order_insert(f->s, o, z, 2, NULL), 0);
	assert_int_equal(f->s->ops->order_claim(f->s, o->id, "A", 100, NULL),
	    0);
}

static void
assert_chall_equal(const struct store_chall *a, const struct store_chall *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->authz_id, b->authz_id);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->status, b->status);
	assert_string_equal(a->token, b->token);
	assert_int_equal(a->validated, b->validated);
	if (b->error == NULL)
		assert_null(a->error);
	else
		assert_string_equal(a->error, b->error);
	assert_int_equal(a->attempts, b->attempts);
}

/* got (from the store) equals want (as inserted, challs in any order). */
static void
assert_authz_equal(const struct store_authz *got,
    const struct store_authz *want)
{
	size_t i, k;

	assert_string_equal(got->id, want->id);
	assert_string_equal(got->account_id, want->account_id);
	assert_int_equal(got->ident.type, want->ident.type);
	assert_string_equal(got->ident.value, want->ident.value);
	assert_int_equal(got->wildcard, want->wildcard);
	assert_int_equal(got->status, want->status);
	assert_int_equal(got->expires, want->expires);
	assert_int_equal(got->created, want->created);
	assert_int_equal(got->nchall, want->nchall);
	for (i = 0; i < got->nchall; i++) {
		if (i > 0)
			assert_true(
			    got->challs[i - 1].type <= got->challs[i].type);
		for (k = 0; k < want->nchall; k++)
			if (strcmp(want->challs[k].id, got->challs[i].id) == 0)
				break;
		assert_true(k < want->nchall);
		assert_chall_equal(&got->challs[i], &want->challs[k]);
	}
}

static void
store__account_round_trip(void **state)
{
	struct fx *f = *state;
	struct store_account a, got;

	make_account(&a, "thumb-a");
	a.tos_agreed = 1;
	a.eab = eab_text;
	snprintf(a.eab_kid, sizeof(a.eab_kid), "kid-7");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	assert_string_equal(got.id, a.id);
	assert_int_equal(got.status, ST_VALID);
	assert_string_equal(got.thumbprint, "thumb-a");
	assert_string_equal(got.jwk, jwk_text);
	assert_string_equal(got.contact, contact_text);
	assert_int_equal(got.tos_agreed, 1);
	assert_string_equal(got.eab, eab_text);
	assert_string_equal(got.eab_kid, "kid-7");
	assert_int_equal(got.created, 1000);
	store_account_release(&got);
	assert_int_equal(f->s->ops->account_by_thumbprint(f->s, "thumb-a", &got,
			     NULL),
	    0);
	assert_string_equal(got.id, a.id);
	store_account_release(&got);
	/* No contact and no EAB read back as NULL, not "". */
	make_account(&a, "thumb-b");
	a.contact = NULL;
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	assert_null(got.contact);
	assert_null(got.eab);
	assert_string_equal(got.eab_kid, "");
	store_account_release(&got);
	assert_int_equal(f->s->ops->account_get(f->s, "nope", &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->account_by_thumbprint(f->s, "nope", &got,
			     NULL),
	    ACME_ERR_NOTFOUND);
}

static void
store__account_duplicate_thumbprint_exists(void **state)
{
	struct fx *f = *state;
	struct store_account a, b;
	struct store_account_change chg = { 0 };

	make_account(&a, "thumb-a");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	make_account(&b, "thumb-a");
	assert_int_equal(f->s->ops->account_insert(f->s, &b, NULL),
	    ACME_ERR_EXISTS);
	/* The same id twice is a conflict too. */
	snprintf(a.thumbprint, sizeof(a.thumbprint), "thumb-other");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL),
	    ACME_ERR_EXISTS);
	/* Updating to a key another account holds: refused. */
	snprintf(b.thumbprint, sizeof(b.thumbprint), "thumb-b");
	assert_int_equal(f->s->ops->account_insert(f->s, &b, NULL), 0);
	chg.thumbprint = "thumb-a";
	chg.jwk = jwk2_text;
	assert_int_equal(f->s->ops->account_update(f->s, &b, &chg, NULL),
	    ACME_ERR_EXISTS);
}

static void
store__account_update(void **state)
{
	struct fx *f = *state;
	struct store_account a, got;
	struct store_account_change chg = { 0 };

	make_account(&a, "thumb-a");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	/* A new key: thumbprint and jwk change, the rest stays. */
	chg.thumbprint = "thumb-c";
	chg.jwk = jwk2_text;
	assert_int_equal(f->s->ops->account_update(f->s, &a, &chg, NULL), 0);
	assert_int_equal(f->s->ops->account_by_thumbprint(f->s, "thumb-c", &got,
			     NULL),
	    0);
	assert_string_equal(got.id, a.id);
	assert_int_equal(got.status, ST_VALID);
	assert_string_equal(got.jwk, jwk2_text);
	assert_string_equal(got.contact, contact_text);
	store_account_release(&got);
	/* The old key no longer finds it. */
	assert_int_equal(f->s->ops->account_by_thumbprint(f->s, "thumb-a", &got,
			     NULL),
	    ACME_ERR_NOTFOUND);
	/* Contact only ("[]" clears it), then status only. */
	snprintf(a.thumbprint, sizeof(a.thumbprint), "thumb-c");
	memset(&chg, 0, sizeof(chg));
	chg.contact = "[]";
	assert_int_equal(f->s->ops->account_update(f->s, &a, &chg, NULL), 0);
	memset(&chg, 0, sizeof(chg));
	chg.status = ST_DEACTIVATED;
	assert_int_equal(f->s->ops->account_update(f->s, &a, &chg, NULL), 0);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	assert_int_equal(got.status, ST_DEACTIVATED);
	assert_string_equal(got.thumbprint, "thumb-c");
	assert_string_equal(got.jwk, jwk2_text);
	assert_string_equal(got.contact, "[]");
	store_account_release(&got);
	snprintf(a.id, sizeof(a.id), "missing");
	assert_int_equal(f->s->ops->account_update(f->s, &a, &chg, NULL),
	    ACME_ERR_NOTFOUND);
}

/*
 * D54: an update applies only to the account as the caller read it.  A
 * request read before a keyChange or a deactivation loses (CONFLICT) and
 * changes nothing, so neither can be undone.
 */
static void
store__account_update_conditional_loser_changes_nothing(void **state)
{
	struct fx *f = *state;
	struct store_account a, seen, got;
	struct store_account_change key = { .thumbprint = "thumb-new",
		.jwk = jwk2_text },
				    contact = { .contact = "[]" },
				    off = { .status = ST_DEACTIVATED };

	make_account(&a, "thumb-old");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	/* Two requests read the account; the keyChange commits first. */
	seen = a;
	assert_int_equal(f->s->ops->account_update(f->s, &a, &key, NULL), 0);
	assert_int_equal(f->s->ops->account_update(f->s, &seen, &contact, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->account_update(f->s, &seen, &off, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->account_update(f->s, &seen, &key, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	assert_int_equal(got.status, ST_VALID);
	assert_string_equal(got.thumbprint, "thumb-new");
	assert_string_equal(got.jwk, jwk2_text);
	assert_string_equal(got.contact, contact_text);
	/* Deactivated by a request that read the new key: final. */
	assert_int_equal(f->s->ops->account_update(f->s, &got, &off, NULL), 0);
	assert_int_equal(f->s->ops->account_update(f->s, &got, &contact, NULL),
	    ACME_ERR_CONFLICT);
	store_account_release(&got);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	assert_int_equal(got.status, ST_DEACTIVATED);
	assert_string_equal(got.contact, contact_text);
	store_account_release(&got);
}

static void
store__order_authz_chall_round_trip(void **state)
{
	struct fx *f = *state;
	struct store_order o, got;
	struct store_authz z[2], az;
	struct store_chall c;
	size_t i;

	make_order(&o, z, "acct1");
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	assert_int_equal(f->s->ops->order_get(f->s, o.id, &got, NULL), 0);
	assert_string_equal(got.id, o.id);
	assert_string_equal(got.account_id, "acct1");
	assert_int_equal(got.status, ST_PENDING);
	assert_int_equal(got.expires, 5000);
	assert_int_equal(got.not_before, 1100);
	assert_int_equal(got.not_after, 9100);
	assert_int_equal(got.created, 1000);
	assert_int_equal(got.nident, 2);
	for (i = 0; i < 2; i++) {
		assert_int_equal(got.idents[i].type, o.idents[i].type);
		assert_string_equal(got.idents[i].value, o.idents[i].value);
	}
	assert_int_equal(got.nauthz, 2);
	assert_string_equal(got.authz_ids[0], z[0].id);
	assert_string_equal(got.authz_ids[1], z[1].id);
	assert_null(got.error);
	assert_string_equal(got.cert_id, "");
	assert_string_equal(got.profile, "shortlived");
	assert_string_equal(got.replaces, o.replaces);
	store_order_release(&got);
	for (i = 0; i < 2; i++) {
		assert_int_equal(f->s->ops->authz_get(f->s, z[i].id, &az, NULL),
		    0);
		assert_authz_equal(&az, &z[i]);
		assert_int_equal(az.challs[0].type, CHALL_HTTP01);
		assert_int_equal(az.challs[2].type, CHALL_TLSALPN01);
		store_authz_release(&az);
	}
	assert_int_equal(f->s->ops->chall_get(f->s, z[1].challs[1].id, &c,
			     NULL),
	    0);
	assert_chall_equal(&c, &z[1].challs[1]);
	store_chall_release(&c);
	assert_int_equal(f->s->ops->order_get(f->s, "nope", &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->authz_get(f->s, "nope", &az, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->chall_get(f->s, "nope", &c, NULL),
	    ACME_ERR_NOTFOUND);
	free_order(&o, z);
}

/* A second order referencing an existing authz stores only the new one. */
static void
store__order_reuses_authz(void **state)
{
	struct fx *f = *state;
	struct store_order o, o2, got;
	struct store_authz z[2], z2[2], az;

	make_order(&o, z, "acct1");
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	make_order(&o2, z2, "acct1");
	/* o2 reuses z[0] and brings z2[1] as its only new authz. */
	snprintf(o2.authz_ids[0], STORE_ID_SIZE, "%s", z[0].id);
	assert_int_equal(f->s->ops->order_insert(f->s, &o2, &z2[1], 1, NULL),
	    0);
	assert_int_equal(f->s->ops->order_get(f->s, o2.id, &got, NULL), 0);
	assert_string_equal(got.authz_ids[0], z[0].id);
	assert_string_equal(got.authz_ids[1], z2[1].id);
	store_order_release(&got);
	assert_int_equal(f->s->ops->authz_get(f->s, z2[1].id, &az, NULL), 0);
	assert_authz_equal(&az, &z2[1]);
	store_authz_release(&az);
	assert_int_equal(f->s->ops->authz_get(f->s, z2[0].id, &az, NULL),
	    ACME_ERR_NOTFOUND);
	free_order(&o, z);
	free_order(&o2, z2);
}

/* A failure part-way through order_insert leaves nothing behind. */
static void
store__order_insert_is_atomic(void **state)
{
	struct fx *f = *state;
	struct store_order o, o2, got;
	struct store_authz z[2], z2[2], az;
	struct store_chall c;

	make_order(&o, z, "acct1");
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	/* o2's second new authz collides with an existing id. */
	make_order(&o2, z2, "acct1");
	snprintf(z2[1].id, sizeof(z2[1].id), "%s", z[1].id);
	assert_int_equal(f->s->ops->order_insert(f->s, &o2, z2, 2, NULL),
	    ACME_ERR_EXISTS);
	assert_int_equal(f->s->ops->order_get(f->s, o2.id, &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->authz_get(f->s, z2[0].id, &az, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->chall_get(f->s, z2[0].challs[0].id, &c,
			     NULL),
	    ACME_ERR_NOTFOUND);
	/* The existing authz kept its own challenges only. */
	assert_int_equal(f->s->ops->authz_get(f->s, z[1].id, &az, NULL), 0);
	assert_authz_equal(&az, &z[1]);
	store_authz_release(&az);
	/* And the connection is usable: no transaction was left open. */
	snprintf(z2[1].id, sizeof(z2[1].id), "fresh-authz-id");
	assert_int_equal(f->s->ops->order_insert(f->s, &o2, z2, 2, NULL), 0);
	assert_int_equal(f->s->ops->order_insert(f->s, &o2, z2, 2, NULL),
	    ACME_ERR_EXISTS);
	free_order(&o, z);
	free_order(&o2, z2);
}

static void
store__authz_insert_preauthorization(void **state)
{
	struct fx *f = *state;
	struct store_authz z, got;
	struct acme_ident id;

	assert_int_equal(acme_ident_set(&id, "dns", "example.net"), 0);
	make_authz(&z, "acct1", &id, 7000);
	z.wildcard = 1;
	z.challs[0].error = err_text;
	z.challs[0].attempts = 2;
	assert_int_equal(f->s->ops->authz_insert(f->s, &z, NULL), 0);
	assert_int_equal(f->s->ops->authz_get(f->s, z.id, &got, NULL), 0);
	assert_authz_equal(&got, &z);
	store_authz_release(&got);
	assert_int_equal(f->s->ops->authz_insert(f->s, &z, NULL),
	    ACME_ERR_EXISTS);
	z.challs[0].error = NULL;
	store_authz_release(&z);
}

/* Inserts a valid authz of acct for id; returns its id in out. */
static void
put_valid(struct fx *f, const char *acct, const struct acme_ident *id,
    int wildcard, enum store_status status, time_t expires,
    char out[STORE_ID_SIZE])
{
	struct store_authz z;

	make_authz(&z, acct, id, expires);
	z.wildcard = wildcard;
	z.status = status;
	assert_int_equal(f->s->ops->authz_insert(f->s, &z, NULL), 0);
	memcpy(out, z.id, STORE_ID_SIZE);
	store_authz_release(&z);
}

static void
store__authz_find_valid_newest(void **state)
{
	struct fx *f = *state;
	struct acme_ident id, other;
	struct store_authz got;
	char old[STORE_ID_SIZE], newest[STORE_ID_SIZE], x[STORE_ID_SIZE];
	char wild[STORE_ID_SIZE];

	assert_int_equal(acme_ident_set(&id, "dns", "a.example.com"), 0);
	assert_int_equal(acme_ident_set(&other, "dns", "b.example.com"), 0);
	/*
	 * Not eligible: pending, expired (at "now" 5000), another account,
	 * another name, the other wildcard flag, invalid.
	 */
	put_valid(f, "acct1", &id, 0, ST_PENDING, 99000, x);
	put_valid(f, "acct1", &id, 0, ST_VALID, 4000, x);
	put_valid(f, "acct2", &id, 0, ST_VALID, 99000, x);
	put_valid(f, "acct1", &other, 0, ST_VALID, 99000, x);
	put_valid(f, "acct1", &id, 1, ST_VALID, 99000, wild);
	put_valid(f, "acct1", &id, 0, ST_INVALID, 99000, x);
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct1", &id, 0,
			     5000, &got, NULL),
	    ACME_ERR_NOTFOUND);
	put_valid(f, "acct1", &id, 0, ST_VALID, 8000, old);
	put_valid(f, "acct1", &id, 0, ST_VALID, 9000, newest);
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct1", &id, 0,
			     5000, &got, NULL),
	    0);
	assert_string_equal(got.id, newest);
	assert_int_equal(got.status, ST_VALID);
	assert_int_equal(got.nchall, 3);
	store_authz_release(&got);
	/* min_expires excludes the ones expiring before it. */
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct1", &id, 0,
			     8500, &got, NULL),
	    0);
	assert_string_equal(got.id, newest);
	store_authz_release(&got);
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct1", &id, 0,
			     9000, &got, NULL),
	    ACME_ERR_NOTFOUND);
	/* The wildcard flag is part of the key. */
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct1", &id, 1,
			     5000, &got, NULL),
	    0);
	assert_string_equal(got.id, wild);
	assert_int_equal(got.wildcard, 1);
	store_authz_release(&got);
}

static void
store__order_set_status_conditional(void **state)
{
	struct fx *f = *state;
	struct store_order o, got;
	struct store_authz z[2];

	make_order(&o, z, "acct1");
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	assert_int_equal(f->s->ops->order_set_status(f->s, o.id, ST_READY,
			     ST_PROCESSING, NULL, NULL, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->order_set_status(f->s, o.id, ST_PENDING,
			     ST_READY, NULL, NULL, NULL),
	    0);
	assert_int_equal(f->s->ops->order_set_status(f->s, o.id, ST_READY,
			     ST_VALID, NULL, "cert1", NULL),
	    0);
	assert_int_equal(f->s->ops->order_get(f->s, o.id, &got, NULL), 0);
	assert_int_equal(got.status, ST_VALID);
	assert_string_equal(got.cert_id, "cert1");
	assert_null(got.error);
	store_order_release(&got);
	/* error is set when given; NULL cert_id keeps the stored one. */
	assert_int_equal(f->s->ops->order_set_status(f->s, o.id, ST_VALID,
			     ST_INVALID, err_text, NULL, NULL),
	    0);
	assert_int_equal(f->s->ops->order_get(f->s, o.id, &got, NULL), 0);
	assert_int_equal(got.status, ST_INVALID);
	assert_string_equal(got.error, err_text);
	assert_string_equal(got.cert_id, "cert1");
	store_order_release(&got);
	assert_int_equal(f->s->ops->order_set_status(f->s, "missing",
			     ST_PENDING, ST_VALID, NULL, NULL, NULL),
	    ACME_ERR_NOTFOUND);
	free_order(&o, z);
}

static void
store__authz_and_chall_conditional(void **state)
{
	struct fx *f = *state;
	struct store_order o;
	struct store_authz z[2], got;
	struct store_chall c, cg;

	make_order(&o, z, "acct1");
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	assert_int_equal(f->s->ops->authz_set_status(f->s, z[0].id, ST_VALID,
			     ST_INVALID, 0, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->authz_set_status(f->s, "nope", ST_PENDING,
			     ST_VALID, 0, NULL),
	    ACME_ERR_NOTFOUND);
	/* expires 0 keeps the stored expiry; non-zero replaces it. */
	assert_int_equal(f->s->ops->authz_set_status(f->s, z[0].id, ST_PENDING,
			     ST_PROCESSING, 0, NULL),
	    0);
	assert_int_equal(f->s->ops->authz_set_status(f->s, z[0].id,
			     ST_PROCESSING, ST_VALID, 9000, NULL),
	    0);
	assert_int_equal(f->s->ops->authz_get(f->s, z[0].id, &got, NULL), 0);
	assert_int_equal(got.status, ST_VALID);
	assert_int_equal(got.expires, 9000);
	store_authz_release(&got);

	c = z[1].challs[0];
	c.status = ST_PROCESSING;
	c.attempts = 1;
	assert_int_equal(f->s->ops->chall_update(f->s, &c, ST_PENDING, NULL),
	    0);
	assert_int_equal(f->s->ops->chall_update(f->s, &c, ST_PENDING, NULL),
	    ACME_ERR_CONFLICT);
	c.status = ST_INVALID;
	c.error = err_text;
	c.attempts = 2;
	assert_int_equal(f->s->ops->chall_update(f->s, &c, ST_PROCESSING, NULL),
	    0);
	assert_int_equal(f->s->ops->chall_get(f->s, c.id, &cg, NULL), 0);
	assert_chall_equal(&cg, &c);
	store_chall_release(&cg);
	c.status = ST_VALID;
	c.error = NULL;
	c.validated = 4242;
	assert_int_equal(f->s->ops->chall_update(f->s, &c, ST_INVALID, NULL),
	    0);
	assert_int_equal(f->s->ops->chall_get(f->s, c.id, &cg, NULL), 0);
	assert_chall_equal(&cg, &c);
	store_chall_release(&cg);
	snprintf(c.id, sizeof(c.id), "missing");
	assert_int_equal(f->s->ops->chall_update(f->s, &c, ST_PENDING, NULL),
	    ACME_ERR_NOTFOUND);
	free_order(&o, z);
}

static void
store__order_list_pages_and_skips_invalid(void **state)
{
	struct fx *f = *state;
	char ids[6][STORE_ID_SIZE], page[10][STORE_ID_SIZE];
	struct store_order o;
	struct store_authz z[2];
	struct acme_problem prob = { 0 };
	size_t i, n = 0;

	for (i = 0; i < 6; i++) {
		/* Interleave another account's orders. */
		make_order(&o, z, i == 4 ? "other" : "lister");
		assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL),
		    0);
		memcpy(ids[i], o.id, STORE_ID_SIZE);
		if (i == 2)
			assert_int_equal(f->s->ops->order_set_status(f->s, o.id,
					     ST_PENDING, ST_INVALID, NULL, NULL,
					     NULL),
			    0);
		free_order(&o, z);
	}
	/* lister: 0, 1, (2 invalid), 3, 5. */
	assert_int_equal(f->s->ops->order_list(f->s, "lister", "", page, 2, &n,
			     NULL),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(page[0], ids[0]);
	assert_string_equal(page[1], ids[1]);
	assert_int_equal(f->s->ops->order_list(f->s, "lister", ids[1], page, 2,
			     &n, NULL),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(page[0], ids[3]);
	assert_string_equal(page[1], ids[5]);
	assert_int_equal(f->s->ops->order_list(f->s, "lister", ids[5], page, 10,
			     &n, NULL),
	    0);
	assert_int_equal(n, 0);
	/* A cursor may itself be an invalid order. */
	assert_int_equal(f->s->ops->order_list(f->s, "lister", ids[2], page, 10,
			     &n, NULL),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(page[0], ids[3]);
	assert_int_equal(f->s->ops->order_list(f->s, "nobody", "", page, 10, &n,
			     NULL),
	    0);
	assert_int_equal(n, 0);
	/* Unknown cursors, or another account's order: NOTFOUND. */
	assert_int_equal(f->s->ops->order_list(f->s, "lister", "bogus", page,
			     10, &n, &prob),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(prob.type, ACME_PROB_MALFORMED);
	acme_problem_release(&prob);
	assert_int_equal(f->s->ops->order_list(f->s, "lister", ids[4], page, 10,
			     &n, NULL),
	    ACME_ERR_NOTFOUND);
}

/* Open orders per profile: pending, ready, processing, not expired. */
static void
store__order_count_open_by_profile(void **state)
{
	static const struct {
		const char *profile;
		enum store_status status;
		time_t expires;
	} rows[] = {
		{ "retiring", ST_PENDING, 5000 },
		{ "retiring", ST_READY, 5000 },
		{ "retiring", ST_PROCESSING, 5000 },
		{ "retiring", ST_VALID, 5000 },
		{ "retiring", ST_INVALID, 5000 },
		{ "retiring", ST_PENDING, 1500 }, /* expired at 2000 */
		{ "other", ST_PENDING, 5000 },
	};
	struct fx *f = *state;
	struct store_order o;
	struct store_authz z[2];
	long long n = -1;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		make_order(&o, z, "acct1");
		snprintf(o.profile, sizeof(o.profile), "%s", rows[i].profile);
		o.status = rows[i].status;
		o.expires = rows[i].expires;
		assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL),
		    0);
		free_order(&o, z);
	}
	assert_int_equal(f->s->ops->order_count_open(f->s, "retiring", 2000, &n,
			     NULL),
	    0);
	assert_int_equal(n, 3);
	assert_int_equal(f->s->ops->order_count_open(f->s, "retiring", 1000, &n,
			     NULL),
	    0);
	assert_int_equal(n, 4);
	assert_int_equal(f->s->ops->order_count_open(f->s, "other", 2000, &n,
			     NULL),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(f->s->ops->order_count_open(f->s, "none", 2000, &n,
			     NULL),
	    0);
	assert_int_equal(n, 0);
}

/*
 * At start on a back end one process serves, orders a crash left
 * processing (claimed by a finalize) are ready again, expired or not;
 * no other order moves.
 */
static void
store__orders_unclaim_gives_back_processing(void **state)
{
	static const struct {
		enum store_status status, after;
		time_t expires;
	} rows[] = {
		{ ST_PENDING, ST_PENDING, 5000 },
		{ ST_PROCESSING, ST_READY, 5000 },
		{ ST_PROCESSING, ST_READY, 10 },
		{ ST_READY, ST_READY, 5000 },
		{ ST_VALID, ST_VALID, 5000 },
		{ ST_INVALID, ST_INVALID, 5000 },
	};
	enum { NROWS = sizeof(rows) / sizeof(rows[0]) };
	struct fx *f = *state;
	struct store_order o, got;
	struct store_authz z[2];
	char ids[NROWS][STORE_ID_SIZE];
	size_t i, n = 0;

	for (i = 0; i < NROWS; i++) {
		make_order(&o, z, "acct1");
		o.status = rows[i].status;
		o.expires = rows[i].expires;
		assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL),
		    0);
		memcpy(ids[i], o.id, STORE_ID_SIZE);
		free_order(&o, z);
	}
	assert_int_equal(f->s->ops->orders_unclaim(f->s, STORE_EVERY_LEASE, &n,
			     NULL),
	    0);
	assert_int_equal(n, 2);
	for (i = 0; i < NROWS; i++) {
		assert_int_equal(f->s->ops->order_get(f->s, ids[i], &got, NULL),
		    0);
		assert_int_equal(got.status, rows[i].after);
		store_order_release(&got);
	}
	assert_int_equal(f->s->ops->orders_unclaim(f->s, STORE_EVERY_LEASE, &n,
			     NULL),
	    0);
	assert_int_equal(n, 0);
}

static void
store__cert_round_trip_and_revoke_once(void **state)
{
	struct fx *f = *state;
	struct store_cert c, got;

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_new_id(c.id), 0);
	snprintf(c.serial, sizeof(c.serial), "0a1b2c3d4e5f");
	snprintf(c.account_id, sizeof(c.account_id), "acct1");
	snprintf(c.order_id, sizeof(c.order_id), "order1");
	c.chain_pem = pem_text;
	c.alt_chain_pem = alt_pem_text;
	c.not_before = 1000;
	c.not_after = 2000;
	c.reason = -1;
	snprintf(c.profile, sizeof(c.profile), "tlsserver");
	assert_int_equal(f->s->ops->cert_insert(f->s, &c, NULL), 0);
	assert_int_equal(f->s->ops->cert_insert(f->s, &c, NULL),
	    ACME_ERR_EXISTS);
	assert_int_equal(f->s->ops->cert_get(f->s, c.id, &got, NULL), 0);
	assert_string_equal(got.id, c.id);
	assert_string_equal(got.serial, c.serial);
	assert_string_equal(got.account_id, "acct1");
	assert_string_equal(got.order_id, "order1");
	assert_string_equal(got.chain_pem, pem_text);
	assert_string_equal(got.alt_chain_pem, alt_pem_text);
	assert_int_equal(got.not_before, 1000);
	assert_int_equal(got.not_after, 2000);
	assert_int_equal(got.revoked_at, 0);
	assert_int_equal(got.reason, -1);
	assert_string_equal(got.profile, "tlsserver");
	store_cert_release(&got);
	assert_int_equal(f->s->ops->cert_by_serial(f->s, c.serial, &got, NULL),
	    0);
	assert_string_equal(got.id, c.id);
	assert_string_equal(got.profile, "tlsserver");
	store_cert_release(&got);
	/* Another id with the same serial: the serial is unique. */
	assert_int_equal(store_new_id(c.id), 0);
	c.alt_chain_pem = NULL;
	assert_int_equal(f->s->ops->cert_insert(f->s, &c, NULL),
	    ACME_ERR_EXISTS);
	assert_int_equal(f->s->ops->cert_by_serial(f->s, c.serial, &got, NULL),
	    0);
	memcpy(c.id, got.id, sizeof(c.id));
	store_cert_release(&got);
	assert_int_equal(f->s->ops->cert_revoke(f->s, c.id, 77, 4, NULL), 0);
	assert_int_equal(f->s->ops->cert_revoke(f->s, c.id, 88, 1, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->cert_get(f->s, c.id, &got, NULL), 0);
	assert_int_equal(got.revoked_at, 77);
	assert_int_equal(got.reason, 4);
	store_cert_release(&got);
	assert_int_equal(f->s->ops->cert_revoke(f->s, "nope", 1, 0, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->cert_by_serial(f->s, "ff", &got, NULL),
	    ACME_ERR_NOTFOUND);
}

static void
store__eab_binds_once(void **state)
{
	struct fx *f = *state;
	struct store_eab e, got;

	memset(&e, 0, sizeof(e));
	snprintf(e.kid, sizeof(e.kid), "kid-1");
	memset(e.key, 7, 32);
	e.key[0] = 0; /* binary, not text */
	e.keylen = 32;
	e.created = 1234;
	assert_int_equal(f->s->ops->eab_insert(f->s, &e, NULL), 0);
	assert_int_equal(f->s->ops->eab_insert(f->s, &e, NULL),
	    ACME_ERR_EXISTS);
	assert_int_equal(f->s->ops->eab_get(f->s, "kid-1", &got, NULL), 0);
	assert_string_equal(got.kid, "kid-1");
	assert_int_equal(got.keylen, 32);
	assert_memory_equal(got.key, e.key, 32);
	assert_string_equal(got.account_id, "");
	assert_int_equal(got.created, 1234);
	assert_int_equal(f->s->ops->eab_bind(f->s, "kid-1", "a1", NULL), 0);
	assert_int_equal(f->s->ops->eab_bind(f->s, "kid-1", "a2", NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->eab_get(f->s, "kid-1", &got, NULL), 0);
	assert_string_equal(got.account_id, "a1");
	assert_int_equal(f->s->ops->eab_bind(f->s, "kid-x", "a1", NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->eab_get(f->s, "kid-x", &got, NULL),
	    ACME_ERR_NOTFOUND);
}

static void insert_cert(struct fx *f, const char *serial, time_t not_after,
    time_t revoked);

/* D74: eab list and remove, bound keys included. */
static void
store__eab_list_and_remove(void **state)
{
	struct fx *f = *state;
	struct store_eab e, *v = NULL;
	size_t n = 9;

	assert_int_equal(f->s->ops->eab_list(f->s, &v, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	memset(&e, 0, sizeof(e));
	e.keylen = 32;
	snprintf(e.kid, sizeof(e.kid), "kid-b");
	e.created = 20;
	assert_int_equal(f->s->ops->eab_insert(f->s, &e, NULL), 0);
	snprintf(e.kid, sizeof(e.kid), "kid-a");
	e.created = 10;
	assert_int_equal(f->s->ops->eab_insert(f->s, &e, NULL), 0);
	assert_int_equal(f->s->ops->eab_bind(f->s, "kid-b", "acct9", NULL), 0);
	assert_int_equal(f->s->ops->eab_list(f->s, &v, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].kid, "kid-a");
	assert_string_equal(v[0].account_id, "");
	assert_int_equal(v[0].created, 10);
	assert_string_equal(v[1].kid, "kid-b");
	assert_string_equal(v[1].account_id, "acct9");
	free(v);
	assert_int_equal(f->s->ops->eab_remove(f->s, "kid-b", NULL), 0);
	assert_int_equal(f->s->ops->eab_remove(f->s, "kid-b", NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->eab_get(f->s, "kid-b", &e, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->eab_list(f->s, &v, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].kid, "kid-a");
	free(v);
}

/* D74: a paused account reads back paused, once. */
static void
store__account_pause(void **state)
{
	struct fx *f = *state;
	struct store_account a, got;

	make_account(&a, "thumb-pause");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	assert_int_equal(got.paused, 0);
	store_account_release(&got);
	assert_int_equal(f->s->ops->account_pause(f->s, a.id, 777, NULL), 0);
	assert_int_equal(f->s->ops->account_pause(f->s, a.id, 778, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->account_pause(f->s, "nope", 1, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->account_by_thumbprint(f->s, "thumb-pause",
			     &got, NULL),
	    0);
	assert_int_equal(got.paused, 777);
	assert_int_equal(got.status, ST_VALID);
	store_account_release(&got);
}

/* D74: certificates by account and by an identifier's exact value. */
static void
store__cert_find_by_account_and_name(void **state)
{
	struct fx *f = *state;
	struct store_order o;
	struct store_authz z[2];
	struct store_cert c;
	char ids[4][STORE_ID_SIZE], first[STORE_ID_SIZE];
	size_t n = 9;

	make_order(&o, z, "acctA");
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.account_id, sizeof(c.account_id), "acctA");
	snprintf(c.order_id, sizeof(c.order_id), "%s", o.id);
	c.chain_pem = pem_text;
	c.not_before = 1000;
	c.not_after = 5000;
	c.reason = -1;
	assert_int_equal(store_new_id(c.id), 0);
	snprintf(c.serial, sizeof(c.serial), "a1");
	snprintf(first, sizeof(first), "%s", c.id);
	assert_int_equal(f->s->ops->cert_insert(f->s, &c, NULL), 0);
	assert_int_equal(store_new_id(c.id), 0);
	snprintf(c.serial, sizeof(c.serial), "a2");
	c.not_before = 1001;
	assert_int_equal(f->s->ops->cert_insert(f->s, &c, NULL), 0);
	/* Another account's certificate of an order naming nothing. */
	insert_cert(f, "b1", 5000, 0);

	assert_int_equal(f->s->ops->cert_find(f->s, "acctA", NULL, ids, 4, &n,
			     NULL),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], first);
	assert_string_equal(ids[1], c.id);
	assert_int_equal(f->s->ops->cert_find(f->s, NULL, "a.example.com", ids,
			     1, &n, NULL),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(ids[0], first);
	assert_int_equal(f->s->ops->cert_find(f->s, NULL, "192.0.2.1", ids, 4,
			     &n, NULL),
	    0);
	assert_int_equal(n, 2);
	/* Exact values only: not a part of one, not another account's. */
	assert_int_equal(f->s->ops->cert_find(f->s, NULL, "example.com", ids, 4,
			     &n, NULL),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(f->s->ops->cert_find(f->s, "acct1", "a.example.com",
			     ids, 4, &n, NULL),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(f->s->ops->cert_find(f->s, NULL, NULL, ids, 4, &n,
			     NULL),
	    0);
	assert_int_equal(n, 3);
	free_order(&o, z);
}

/* D74: a blocked name blocks itself and what is under it, only. */
static void
store__blocked_names_and_their_subtrees(void **state)
{
	struct fx *f = *state;
	char m[256];

	assert_int_equal(f->s->ops->name_blocked(f->s, "example.com", m,
			     sizeof(m), NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->block_add(f->s, "example.com", 5, NULL), 0);
	assert_int_equal(f->s->ops->block_add(f->s, "example.com", 6, NULL),
	    ACME_ERR_EXISTS);
	assert_int_equal(f->s->ops->block_add(f->s, "a.b.example.com", 7, NULL),
	    0);
	assert_int_equal(f->s->ops->name_blocked(f->s, "example.com", m,
			     sizeof(m), NULL),
	    0);
	assert_string_equal(m, "example.com");
	assert_int_equal(f->s->ops->name_blocked(f->s, "x.a.b.example.com", m,
			     sizeof(m), NULL),
	    0);
	assert_string_equal(m, "example.com");
	assert_int_equal(f->s->ops->name_blocked(f->s, "badexample.com", m,
			     sizeof(m), NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->name_blocked(f->s, "com", m, sizeof(m),
			     NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->name_blocked(f->s, "example.org", m,
			     sizeof(m), NULL),
	    ACME_ERR_NOTFOUND);
}

/*
 * D88: the operator's undoing.  An unpaused account is served again and
 * may be paused anew; a removed block frees its own subtree only, and
 * the list names every block with its time, in name order.
 */
static void
store__unpause_unblock_and_list_blocks(void **state)
{
	struct fx *f = *state;
	struct store_account a, got;
	struct store_block *v = NULL;
	char m[256];
	size_t n = 9;

	make_account(&a, "thumb-unpause");
	assert_int_equal(store_account_insert(f->s, &a, NULL), 0);
	assert_int_equal(store_account_unpause(f->s, a.id, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(store_account_unpause(f->s, "nope", NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(store_account_pause(f->s, a.id, 777, NULL), 0);
	assert_int_equal(store_account_unpause(f->s, a.id, NULL), 0);
	assert_int_equal(store_account_get(f->s, a.id, &got, NULL), 0);
	assert_int_equal(got.paused, 0);
	assert_int_equal(got.status, ST_VALID);
	store_account_release(&got);
	assert_int_equal(store_account_pause(f->s, a.id, 778, NULL), 0);

	assert_int_equal(store_block_list(f->s, &v, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	assert_int_equal(store_block_add(f->s, "example.com", 5, NULL), 0);
	assert_int_equal(store_block_add(f->s, "a.example.com", 6, NULL), 0);
	assert_int_equal(store_block_add(f->s, "example.org", 7, NULL), 0);
	assert_int_equal(store_block_list(f->s, &v, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "a.example.com");
	assert_int_equal(v[0].created, 6);
	assert_string_equal(v[1].name, "example.com");
	assert_int_equal(v[1].created, 5);
	assert_string_equal(v[2].name, "example.org");
	free(v);
	/* Only the name itself: a parent or child is not its block. */
	assert_int_equal(store_block_remove(f->s, "b.example.com", NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(store_block_remove(f->s, "com", NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(store_block_remove(f->s, "example.com", NULL), 0);
	assert_int_equal(store_block_remove(f->s, "example.com", NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(store_name_blocked(f->s, "b.example.com", m, sizeof(m),
			     NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(store_name_blocked(f->s, "x.a.example.com", m,
			     sizeof(m), NULL),
	    0);
	assert_string_equal(m, "a.example.com");
	assert_int_equal(store_block_add(f->s, "example.com", 8, NULL), 0);
	assert_int_equal(store_block_list(f->s, &v, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[1].created, 8);
	free(v);
}

static void
store__jobs_oldest_first(void **state)
{
	struct fx *f = *state;
	struct store_job j, list[4];
	size_t n = 0;
	int i;

	memset(&j, 0, sizeof(j));
	for (i = 1; i <= 3; i++) {
		snprintf(j.chall_id, sizeof(j.chall_id), "c%d", i);
		j.not_before = 100 * i;
		assert_int_equal(f->s->ops->job_add(f->s, &j, NULL), 0);
	}
	assert_int_equal(f->s->ops->job_list(f->s, list, 4, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].chall_id, "c1");
	assert_int_equal(list[0].not_before, 100);
	assert_string_equal(list[2].chall_id, "c3");
	assert_int_equal(f->s->ops->job_list(f->s, list, 2, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].chall_id, "c2");
	assert_int_equal(f->s->ops->job_done(f->s, "c1", NULL), 0);
	assert_int_equal(f->s->ops->job_list(f->s, list, 4, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].chall_id, "c2");
	assert_string_equal(list[1].chall_id, "c3");
	/* Done twice, or never queued: no error. */
	assert_int_equal(f->s->ops->job_done(f->s, "c1", NULL), 0);
	assert_int_equal(f->s->ops->job_list(f->s, list, 0, &n, NULL), 0);
	assert_int_equal(n, 0);
}

/* The one job of the table, as job_list reads it. */
static void
assert_job_held(struct fx *f, const char *owner, time_t until)
{
	struct store_job list[2];
	size_t n = 0;

	assert_int_equal(f->s->ops->job_list(f->s, list, 2, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].owner, owner);
	assert_int_equal(list[0].lease_until, until);
}

/* Claims the jobs expired before cutoff for owner until until: count. */
static size_t
claim_jobs(struct store *s, const char *owner, time_t cutoff, time_t until)
{
	struct store_job got[4];
	size_t n = 99, i;

	assert_int_equal(s->ops->jobs_claim(s, owner, cutoff, until, got, 4, &n,
			     NULL),
	    0);
	for (i = 0; i < n; i++) {
		assert_string_equal(got[i].owner, owner);
		assert_int_equal(got[i].lease_until, until);
	}
	return n;
}

/*
 * D80: a job is held by the instance that stored it until its lease
 * ends; the holder's heartbeat extends it, another instance takes it
 * only once it has ended (then the old holder's heartbeat no longer
 * touches it), a released job or a lease given back (0) is taken at
 * once, and STORE_EVERY_LEASE takes any.
 */
static void
store__D80_job_lease_claim_renew_expire_takeover(void **state)
{
	struct fx *f = *state;
	struct store_job j, got[4];
	size_t n = 0;

	memset(&j, 0, sizeof(j));
	snprintf(j.chall_id, sizeof(j.chall_id), "c1");
	j.not_before = 10;
	snprintf(j.owner, sizeof(j.owner), "A");
	j.lease_until = 100;
	assert_int_equal(f->s->ops->job_add(f->s, &j, NULL), 0);
	assert_job_held(f, "A", 100);
	/* Not ended before 100: nobody takes it. */
	assert_int_equal(claim_jobs(f->s, "B", 100, 200), 0);
	assert_int_equal(f->s->ops->lease_renew(f->s, "A", 300, NULL), 0);
	assert_job_held(f, "A", 300);
	assert_int_equal(claim_jobs(f->s, "B", 250, 350), 0);
	/* A stopped beating: B takes it over. */
	assert_int_equal(f->s->ops->jobs_claim(f->s, "B", 301, 400, got, 4, &n,
			     NULL),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].chall_id, "c1");
	assert_int_equal(got[0].not_before, 10);
	assert_job_held(f, "B", 400);
	assert_int_equal(claim_jobs(f->s, "A", 350, 450), 0);
	assert_int_equal(f->s->ops->lease_renew(f->s, "A", 1000, NULL), 0);
	assert_job_held(f, "B", 400);
	/* Released: the next sweep takes it. */
	assert_int_equal(f->s->ops->job_release(f->s, "c1", NULL), 0);
	assert_int_equal(claim_jobs(f->s, "A", 1, 500), 1);
	assert_job_held(f, "A", 500);
	/* Given back at a clean stop. */
	assert_int_equal(f->s->ops->lease_renew(f->s, "A", 0, NULL), 0);
	assert_int_equal(claim_jobs(f->s, "B", 1, 600), 1);
	assert_job_held(f, "B", 600);
	/* One process serves the database: its start takes every job. */
	assert_int_equal(claim_jobs(f->s, "C", STORE_EVERY_LEASE, 700), 1);
	assert_job_held(f, "C", 700);
	assert_int_equal(f->s->ops->job_done(f->s, "c1", NULL), 0);
	assert_int_equal(claim_jobs(f->s, "C", STORE_EVERY_LEASE, 800), 0);
}

static enum store_status
order_status(struct fx *f, const char *id)
{
	struct store_order got;
	enum store_status st;

	assert_int_equal(f->s->ops->order_get(f->s, id, &got, NULL), 0);
	st = got.status;
	store_order_release(&got);
	return st;
}

/*
 * D81: finalize's claim is held like a job: orders_unclaim gives back
 * only claims that ended before its cutoff, the holder's heartbeat
 * extends them, and another holder's heartbeat does not.
 */
static void
store__D81_finalize_claim_lease(void **state)
{
	struct fx *f = *state;
	struct store_order o;
	struct store_authz z[2];
	size_t n = 99;

	claimed_order(f, &o, z);
	assert_int_equal(order_status(f, o.id), ST_PROCESSING);
	assert_int_equal(f->s->ops->order_claim(f->s, o.id, "B", 100, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->order_claim(f->s, "nosuchorder", "B", 100,
			     NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->orders_unclaim(f->s, 100, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(f->s->ops->lease_renew(f->s, "A", 300, NULL), 0);
	assert_int_equal(f->s->ops->orders_unclaim(f->s, 250, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(order_status(f, o.id), ST_PROCESSING);
	/* A died: its claim ends and the order is ready again. */
	assert_int_equal(f->s->ops->orders_unclaim(f->s, 301, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(order_status(f, o.id), ST_READY);
	assert_int_equal(f->s->ops->order_claim(f->s, o.id, "B", 500, NULL), 0);
	assert_int_equal(f->s->ops->lease_renew(f->s, "A", 5000, NULL), 0);
	assert_int_equal(f->s->ops->orders_unclaim(f->s, 501, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(order_status(f, o.id), ST_READY);
	free_order(&o, z);
}

/*
 * D96: only the instance holding finalize's claim ends it.  A, whose
 * lease ran out while it worked, can neither store its issuance nor
 * give back the order once B claimed it; B can do both.
 */
static void
store__D96_claim_ended_only_by_its_holder(void **state)
{
	struct fx *f = *state;
	struct store_order o, got;
	struct store_authz z[2];
	size_t n = 0;

	claimed_order(f, &o, z);
	/* Not processing for anyone but A. */
	assert_int_equal(f->s->ops->order_claim_end(f->s, o.id, "B", ST_READY,
			     NULL, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(f->s->ops->order_claim_end(f->s, "nosuchorder", "A",
			     ST_READY, NULL, NULL),
	    ACME_ERR_NOTFOUND);
	/* A gives it back and claims it again. */
	assert_int_equal(f->s->ops->order_claim_end(f->s, o.id, "A", ST_READY,
			     NULL, NULL),
	    0);
	assert_int_equal(order_status(f, o.id), ST_READY);
	assert_int_equal(f->s->ops->order_claim(f->s, o.id, "A", 100, NULL), 0);
	/* A stalls past its lease; the order goes back and B claims it. */
	assert_int_equal(f->s->ops->orders_unclaim(f->s, 101, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(f->s->ops->order_claim(f->s, o.id, "B", 500, NULL), 0);
	/* A wakes: its issuance and its give-back are both refused. */
	assert_int_equal(f->s->ops->begin(f->s, NULL), 0);
	assert_int_equal(f->s->ops->order_claim_end(f->s, o.id, "A", ST_VALID,
			     "certA", NULL),
	    ACME_ERR_CONFLICT);
	f->s->ops->rollback(f->s);
	assert_int_equal(f->s->ops->order_claim_end(f->s, o.id, "A", ST_READY,
			     NULL, NULL),
	    ACME_ERR_CONFLICT);
	assert_int_equal(order_status(f, o.id), ST_PROCESSING);
	/* B's issuance stands. */
	assert_int_equal(f->s->ops->order_claim_end(f->s, o.id, "B", ST_VALID,
			     "certB", NULL),
	    0);
	assert_int_equal(f->s->ops->order_get(f->s, o.id, &got, NULL), 0);
	assert_int_equal(got.status, ST_VALID);
	assert_string_equal(got.cert_id, "certB");
	store_order_release(&got);
	assert_int_equal(f->s->ops->order_claim_end(f->s, o.id, "B", ST_READY,
			     NULL, NULL),
	    ACME_ERR_CONFLICT);
	free_order(&o, z);
}

/*
 * The audit outbox (D44): lines come back oldest first, a rolled-back
 * transaction takes its line with it, and done drops up to a seq.
 */
static void
store__audit_outbox_in_order_and_with_its_transaction(void **state)
{
	struct fx *f = *state;
	struct store_audit rows[4];
	size_t n = 9, i;

	assert_int_equal(f->s->ops->audit_pending(f->s, rows, 4, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(f->s->ops->begin(f->s, NULL), 0);
	assert_int_equal(f->s->ops->audit_add(f->s, "{\"n\":1}", NULL), 0);
	assert_int_equal(f->s->ops->audit_add(f->s, "{\"n\":2}", NULL), 0);
	assert_int_equal(f->s->ops->commit(f->s, NULL), 0);
	assert_int_equal(f->s->ops->begin(f->s, NULL), 0);
	assert_int_equal(f->s->ops->audit_add(f->s, "{\"gone\":1}", NULL), 0);
	f->s->ops->rollback(f->s);
	assert_int_equal(f->s->ops->audit_add(f->s, "{\"n\":3}", NULL), 0);
	assert_int_equal(f->s->ops->audit_pending(f->s, rows, 4, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].line, "{\"n\":1}");
	assert_string_equal(rows[1].line, "{\"n\":2}");
	assert_string_equal(rows[2].line, "{\"n\":3}");
	assert_true(rows[0].seq < rows[1].seq && rows[1].seq < rows[2].seq);
	assert_int_equal(f->s->ops->audit_done(f->s, rows[1].seq, NULL), 0);
	for (i = 0; i < n; i++)
		free(rows[i].line);
	/* At most max at a time. */
	assert_int_equal(f->s->ops->audit_add(f->s, "{\"n\":4}", NULL), 0);
	assert_int_equal(f->s->ops->audit_pending(f->s, rows, 1, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].line, "{\"n\":3}");
	free(rows[0].line);
	assert_int_equal(f->s->ops->audit_pending(f->s, rows, 4, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[1].line, "{\"n\":4}");
	assert_int_equal(f->s->ops->audit_done(f->s, rows[1].seq, NULL), 0);
	free(rows[0].line);
	free(rows[1].line);
	assert_int_equal(f->s->ops->audit_pending(f->s, rows, 4, &n, NULL), 0);
	assert_int_equal(n, 0);
}

static void
store__durable_across_reopen(void **state)
{
	struct fx *f = *state;
	struct store_account a, ga;
	struct store_order o, go;
	struct store_authz z[2], gz;
	struct store_job j, list[2];
	size_t n = 0;

	make_account(&a, "durable");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	make_order(&o, z, a.id);
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	assert_int_equal(f->s->ops->order_set_status(f->s, o.id, ST_PENDING,
			     ST_READY, NULL, NULL, NULL),
	    0);
	memset(&j, 0, sizeof(j));
	memcpy(j.chall_id, z[0].challs[0].id, STORE_ID_SIZE);
	assert_int_equal(f->s->ops->job_add(f->s, &j, NULL), 0);
	store_close(f->s);
	f->s = store_open(f->url, NULL);
	assert_non_null(f->s);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &ga, NULL), 0);
	assert_string_equal(ga.thumbprint, "durable");
	store_account_release(&ga);
	assert_int_equal(f->s->ops->order_get(f->s, o.id, &go, NULL), 0);
	assert_int_equal(go.status, ST_READY);
	assert_int_equal(go.nauthz, 2);
	store_order_release(&go);
	assert_int_equal(f->s->ops->authz_get(f->s, z[1].id, &gz, NULL), 0);
	assert_authz_equal(&gz, &z[1]);
	store_authz_release(&gz);
	assert_int_equal(f->s->ops->job_list(f->s, list, 2, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].chall_id, j.chall_id);
	/* Opening again migrates nothing and loses nothing. */
	store_close(f->s);
	f->s = store_open(f->url, NULL);
	assert_non_null(f->s);
	assert_int_equal(f->s->ops->account_by_thumbprint(f->s, "durable", &ga,
			     NULL),
	    0);
	store_account_release(&ga);
	free_order(&o, z);
}

#define NTHREAD   4
#define PERTHREAD 25

/* Inserts PERTHREAD accounts and orders; returns NULL on success. */
static void *
inserter(void *arg)
{
	struct store *s = arg;
	struct store_account a;
	struct store_order o;
	struct store_authz z[2];
	char thumb[STORE_THUMB_SIZE];
	int i, rc;

	for (i = 0; i < PERTHREAD; i++) {
		make_account(&a, "");
		snprintf(thumb, sizeof(thumb), "t-%s", a.id);
		memcpy(a.thumbprint, thumb, sizeof(thumb));
		if (s->ops->account_insert(s, &a, NULL) != 0)
			return (void *)1;
		make_order(&o, z, "shared");
		rc = s->ops->order_insert(s, &o, z, 2, NULL);
		free_order(&o, z);
		if (rc != 0)
			return (void *)2;
	}
	return NULL;
}

static void
store__concurrent_threads(void **state)
{
	struct fx *f = *state;
	char(*ids)[STORE_ID_SIZE];
	pthread_t t[NTHREAD];
	void *rv;
	size_t n = 0;
	int i;

	for (i = 0; i < NTHREAD; i++)
		assert_int_equal(pthread_create(&t[i], NULL, inserter, f->s),
		    0);
	for (i = 0; i < NTHREAD; i++) {
		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_null(rv);
	}
	ids = calloc(NTHREAD * PERTHREAD + 1, sizeof(*ids));
	assert_non_null(ids);
	assert_int_equal(f->s->ops->order_list(f->s, "shared", "", ids,
			     NTHREAD * PERTHREAD + 1, &n, NULL),
	    0);
	assert_int_equal(n, NTHREAD * PERTHREAD);
	free(ids);
}

#define NSPENDER 8
#define PERSPEND 4

/* Spends PERSPEND tokens of "shared" at 1000 ms; returns how many went. */
static void *
spender(void *arg)
{
	struct store *s = arg;
	int64_t retry;
	intptr_t won = 0;
	int i;

	for (i = 0; i < PERSPEND; i++) {
		if (s->ops->rl_take(s, "shared", 1000, 10, 20, 1, &retry,
			NULL) != 0)
			return (void *)(intptr_t)-100;
		won += retry == 0;
	}
	return (void *)won;
}

/*
 * D51, D65: a bucket shared by two handles on one database (two
 * processes, or instances of one CA) gives out its tokens once: at one
 * instant, interval 10 ms and burst 20 ms allow exactly 3 spends, however
 * many threads of either handle race for them.
 */
static void
store__rl_take_shared_by_two_handles(void **state)
{
	struct fx *f = *state;
	struct store *other = store_open(f->url, NULL);
	pthread_t t[NSPENDER];
	intptr_t won = 0;
	void *rv;
	int i;

	assert_non_null(other);
	for (i = 0; i < NSPENDER; i++)
		assert_int_equal(pthread_create(&t[i], NULL, spender,
				     i % 2 == 0 ? f->s : other),
		    0);
	for (i = 0; i < NSPENDER; i++) {
		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_true((intptr_t)rv >= 0);
		won += (intptr_t)rv;
	}
	store_close(other);
	assert_int_equal(won, 3);
}

#define NCLAIMER 8
#define NROUND   10

struct claimer {
	struct store *s;
	pthread_barrier_t *go;
	char owner[8];
	intptr_t won;
};

/* Claims the expired jobs once a round, all claimers starting at once. */
static void *
claimer(void *arg)
{
	struct claimer *c = arg;
	struct store_job got[2];
	size_t n;
	int r;

	for (r = 0; r < NROUND; r++) {
		pthread_barrier_wait(c->go); /* the job is stored */
		if (c->s->ops->jobs_claim(c->s, c->owner, 100 + r, 200 + r, got,
			2, &n, NULL) != 0)
			return (void *)(intptr_t)-100;
		c->won += (intptr_t)n;
		pthread_barrier_wait(c->go); /* every claimer is done */
	}
	return NULL;
}

/*
 * D80: claimers on two handles (two instances) race for one expired
 * job, round after round: exactly one of them takes it each time.
 */
static void
store__D80_two_claimers_race_for_one_expired_job(void **state)
{
	struct fx *f = *state;
	struct store *other = store_open(f->url, NULL);
	struct claimer c[NCLAIMER];
	pthread_barrier_t go;
	pthread_t t[NCLAIMER];
	struct store_job j, list[2];
	intptr_t won = 0;
	size_t n;
	int i, r;

	assert_non_null(other);
	assert_int_equal(pthread_barrier_init(&go, NULL, NCLAIMER + 1), 0);
	for (i = 0; i < NCLAIMER; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].s = i % 2 == 0 ? f->s : other;
		c[i].go = &go;
		snprintf(c[i].owner, sizeof(c[i].owner), "i%d", i);
		assert_int_equal(pthread_create(&t[i], NULL, claimer, &c[i]),
		    0);
	}
	memset(&j, 0, sizeof(j));
	snprintf(j.chall_id, sizeof(j.chall_id), "c1");
	snprintf(j.owner, sizeof(j.owner), "dead");
	for (r = 0; r < NROUND; r++) {
		j.lease_until = 99 + r; /* ended before the claims' cutoff */
		assert_int_equal(f->s->ops->job_add(f->s, &j, NULL), 0);
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&go);
		assert_int_equal(f->s->ops->job_list(f->s, list, 2, &n, NULL),
		    0);
		assert_int_equal(n, 1);
		assert_string_not_equal(list[0].owner, "dead");
		assert_int_equal(list[0].lease_until, 200 + r);
	}
	for (i = 0; i < NCLAIMER; i++) {
		void *rv;

		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_null(rv);
		won += c[i].won;
	}
	pthread_barrier_destroy(&go);
	store_close(other);
	assert_int_equal(won, NROUND);
}

/* An unbound EAB key kid. */
static void
add_eab(struct store *s, const char *kid)
{
	struct store_eab e;

	memset(&e, 0, sizeof(e));
	snprintf(e.kid, sizeof(e.kid), "%s", kid);
	memset(e.key, 7, 32);
	e.keylen = 32;
	e.created = 1234;
	assert_int_equal(s->ops->eab_insert(s, &e, NULL), 0);
}

/* An account for thumb bound to EAB key kid, in a. */
static void
make_eab_account(struct store_account *a, const char *thumb, const char *kid)
{
	make_account(a, thumb);
	a->eab = eab_text;
	snprintf(a->eab_kid, sizeof(a->eab_kid), "%s", kid);
}

/* kid is bound to account_id ("": to none). */
static void
assert_bound(struct store *s, const char *kid, const char *account_id)
{
	struct store_eab e;

	assert_int_equal(s->ops->eab_get(s, kid, &e, NULL), 0);
	assert_string_equal(e.account_id, account_id);
}

static void
assert_no_account(struct store *s, const char *thumb)
{
	struct store_account got;

	assert_int_equal(s->ops->account_by_thumbprint(s, thumb, &got, NULL),
	    ACME_ERR_NOTFOUND);
}

/*
 * D90 (RFC 8555 7.3.4): account_insert_eab stores the account bound to
 * its EAB key, or nothing: a second account for a bound kid, an
 * account whose key is another's, and one for an unknown kid are not
 * stored, and leave every kid as it was.
 */
static void
store__D90_account_insert_eab_stores_one_account_per_kid(void **state)
{
	struct fx *f = *state;
	struct store_account a1, a2, a3, a4, got;

	add_eab(f->s, "kid-r");
	add_eab(f->s, "kid-s");
	add_eab(f->s, "kid-t");
	make_eab_account(&a1, "thumb-r1", "kid-r");
	assert_int_equal(f->s->ops->account_insert_eab(f->s, &a1, NULL), 0);
	make_eab_account(&a2, "thumb-r2", "kid-r");
	assert_int_equal(f->s->ops->account_insert_eab(f->s, &a2, NULL),
	    ACME_ERR_CONFLICT);
	assert_no_account(f->s, "thumb-r2");
	assert_int_equal(f->s->ops->account_get(f->s, a2.id, &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_bound(f->s, "kid-r", a1.id);
	/* The loser's key registers with another kid. */
	make_eab_account(&a2, "thumb-r2", "kid-s");
	assert_int_equal(f->s->ops->account_insert_eab(f->s, &a2, NULL), 0);
	assert_bound(f->s, "kid-s", a2.id);
	assert_int_equal(f->s->ops->account_by_thumbprint(f->s, "thumb-r2",
			     &got, NULL),
	    0);
	assert_string_equal(got.id, a2.id);
	assert_int_equal(got.status, ST_VALID);
	assert_string_equal(got.eab_kid, "kid-s");
	store_account_release(&got);
	/* A key already registered binds no kid (S-ACCT-5). */
	make_eab_account(&a3, "thumb-r1", "kid-t");
	assert_int_equal(f->s->ops->account_insert_eab(f->s, &a3, NULL),
	    ACME_ERR_EXISTS);
	assert_bound(f->s, "kid-t", "");
	make_eab_account(&a4, "thumb-r4", "kid-none");
	assert_int_equal(f->s->ops->account_insert_eab(f->s, &a4, NULL),
	    ACME_ERR_NOTFOUND);
	assert_no_account(f->s, "thumb-r4");
}

#define NEABROUND 20

struct eab_racer {
	struct store *s;
	pthread_barrier_t *go;
	int won, lost;
};

/* One account a round, for the round's kid, all racers at once. */
static void *
eab_racer(void *arg)
{
	struct eab_racer *r = arg;
	struct store_account a, got;
	char kid[16], thumb[STORE_THUMB_SIZE];
	int n, rc;

	for (n = 0; n < NEABROUND; n++) {
		pthread_barrier_wait(r->go); /* the kid is stored */
		snprintf(kid, sizeof(kid), "race-%d", n);
		make_eab_account(&a, "", kid);
		snprintf(thumb, sizeof(thumb), "t-%s", a.id);
		memcpy(a.thumbprint, thumb, sizeof(thumb));
		rc = r->s->ops->account_insert_eab(r->s, &a, NULL);
		if (rc == 0)
			r->won++;
		else if (rc == ACME_ERR_CONFLICT &&
			 r->s->ops->account_get(r->s, a.id, &got, NULL) ==
			     ACME_ERR_NOTFOUND)
			r->lost++;
		pthread_barrier_wait(r->go); /* every racer is done */
	}
	return NULL;
}

/*
 * D90: two handles (two instances) race one account each for one kid,
 * round after round: one account is stored, the other gets CONFLICT
 * and leaves no row.
 */
static void
store__D90_two_accounts_race_for_one_kid(void **state)
{
	struct fx *f = *state;
	struct store *other = store_open(f->url, NULL);
	struct eab_racer r[2];
	pthread_barrier_t go;
	pthread_t t[2];
	char kid[16];
	int i, n;

	assert_non_null(other);
	assert_int_equal(pthread_barrier_init(&go, NULL, 3), 0);
	for (i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].s = i == 0 ? f->s : other;
		r[i].go = &go;
		assert_int_equal(pthread_create(&t[i], NULL, eab_racer, &r[i]),
		    0);
	}
	for (n = 0; n < NEABROUND; n++) {
		snprintf(kid, sizeof(kid), "race-%d", n);
		add_eab(f->s, kid);
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&go);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	store_close(other);
	assert_int_equal(r[0].won + r[1].won, NEABROUND);
	assert_int_equal(r[0].lost + r[1].lost, NEABROUND);
}

static void
insert_cert(struct fx *f, const char *serial, time_t not_after, time_t revoked)
{
	struct store_cert c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(store_new_id(c.id), 0);
	snprintf(c.serial, sizeof(c.serial), "%s", serial);
	snprintf(c.account_id, sizeof(c.account_id), "acct1");
	snprintf(c.order_id, sizeof(c.order_id), "order1");
	c.chain_pem = pem_text;
	c.not_before = 1000;
	c.not_after = not_after;
	c.revoked_at = revoked;
	c.reason = revoked != 0 ? 1 : -1;
	assert_int_equal(f->s->ops->cert_insert(f->s, &c, NULL), 0);
}

static time_t
window_end(struct fx *f, const char *serial, char **why)
{
	struct store_cert got;
	time_t end;

	assert_int_equal(f->s->ops->cert_by_serial(f->s, serial, &got, NULL),
	    0);
	end = got.ari_end;
	if (why != NULL)
		*why = got.ari_explanation != NULL ?
			   strdup(got.ari_explanation) :
			   NULL;
	store_cert_release(&got);
	return end;
}

/* begin/commit group writes; rollback undoes them (and the lock). */
static void
store__begin_commit_rollback(void **state)
{
	struct fx *f = *state;
	struct store_cert got;

	assert_int_equal(f->s->ops->begin(f->s, NULL), 0);
	insert_cert(f, "b1", 5000, 0);
	insert_cert(f, "b2", 5000, 0);
	f->s->ops->rollback(f->s);
	assert_int_equal(f->s->ops->cert_by_serial(f->s, "b1", &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->begin(f->s, NULL), 0);
	insert_cert(f, "b1", 5000, 0);
	insert_cert(f, "b2", 5000, 0);
	assert_int_equal(f->s->ops->commit(f->s, NULL), 0);
	assert_int_equal(f->s->ops->cert_by_serial(f->s, "b2", &got, NULL), 0);
	store_cert_release(&got);
	/* The write lock was released: a transaction of its own works. */
	insert_cert(f, "b3", 5000, 0);
	assert_int_equal(f->s->ops->cert_by_serial(f->s, "b3", &got, NULL), 0);
	store_cert_release(&got);
	/* A rollback without a transaction is harmless. */
	f->s->ops->rollback(f->s);
	insert_cert(f, "b4", 5000, 0);
}

/*
 * Issue 18, D84: the store counts the statements it sends (on
 * PostgreSQL one round trip each), for anvil_db_roundtrips_total and
 * bench/run --postgres.  BEGIN and COMMIT are two; a read at least one;
 * a failed lookup is still a statement sent.
 */
static void
store__counts_roundtrips(void **state)
{
	struct fx *f = *state;
	struct store_cert got;
	uint64_t n;

	/* Once, so PostgreSQL's PREPAREs are behind us. */
	assert_int_equal(store_begin(f->s, NULL), 0);
	assert_int_equal(store_commit(f->s, NULL), 0);
	assert_int_equal(store_cert_by_serial(f->s, "none", &got, NULL),
	    ACME_ERR_NOTFOUND);
	n = store_roundtrips(f->s);
	assert_true(n >= 3);
	assert_int_equal(store_begin(f->s, NULL), 0);
	assert_int_equal(store_commit(f->s, NULL), 0);
	assert_int_equal(store_roundtrips(f->s), n + 2);
	assert_int_equal(store_cert_by_serial(f->s, "none", &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_true(store_roundtrips(f->s) >= n + 3);
}

/*
 * A unique conflict inside begin/commit is reported and leaves the
 * transaction usable: what was written before and after it commits
 * (a handler may go on after ACME_ERR_EXISTS; PostgreSQL would
 * otherwise fail every later statement of the transaction).
 */
static void
store__conflict_inside_transaction_keeps_it(void **state)
{
	struct fx *f = *state;
	struct store_account a, b, got;
	struct store_account_change chg = { 0 };
	struct store_cert c;

	make_account(&a, "thumb-t1");
	make_account(&b, "thumb-t2");
	assert_int_equal(f->s->ops->account_insert(f->s, &b, NULL), 0);
	assert_int_equal(f->s->ops->begin(f->s, NULL), 0);
	insert_cert(f, "c1", 5000, 0);
	/* The same serial again, then a key that b holds. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_new_id(c.id), 0);
	snprintf(c.serial, sizeof(c.serial), "c1");
	c.chain_pem = pem_text;
	assert_int_equal(f->s->ops->cert_insert(f->s, &c, NULL),
	    ACME_ERR_EXISTS);
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	chg.thumbprint = "thumb-t2";
	chg.jwk = jwk2_text;
	assert_int_equal(f->s->ops->account_update(f->s, &a, &chg, NULL),
	    ACME_ERR_EXISTS);
	insert_cert(f, "c2", 5000, 0);
	assert_int_equal(f->s->ops->commit(f->s, NULL), 0);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	assert_string_equal(got.thumbprint, "thumb-t1");
	store_account_release(&got);
	assert_int_equal(window_end(f, "c1", NULL), 0);
	assert_int_equal(window_end(f, "c2", NULL), 0);
}

/* RFC 9773 windows: none by default, one serial, or every live one. */
static void
store__cert_window(void **state)
{
	struct fx *f = *state;
	char *why = NULL;
	size_t n = 0;

	insert_cert(f, "a1", 5000, 0);
	insert_cert(f, "a2", 5000, 0);
	insert_cert(f, "a3", 1500, 0);    /* expired at now = 2000 */
	insert_cert(f, "a4", 5000, 1200); /* revoked */
	assert_int_equal(window_end(f, "a1", &why), 0);
	assert_null(why);
	assert_int_equal(f->s->ops->cert_set_window(f->s, "a1", 100, 200,
			     "https://ca.example/why", 2000, &n, NULL),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(window_end(f, "a1", &why), 200);
	assert_string_equal(why, "https://ca.example/why");
	free(why);
	assert_int_equal(window_end(f, "a2", NULL), 0);
	assert_int_equal(f->s->ops->cert_set_window(f->s, "ff", 1, 2, NULL,
			     2000, &n, NULL),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(f->s->ops->cert_set_window(f->s, NULL, 300, 400, NULL,
			     2000, &n, NULL),
	    0);
	assert_int_equal(n, 2);
	assert_int_equal(window_end(f, "a1", &why), 400);
	assert_null(why);
	assert_int_equal(window_end(f, "a2", NULL), 400);
	assert_int_equal(window_end(f, "a3", NULL), 0);
	assert_int_equal(window_end(f, "a4", NULL), 0);
}

/* S-ARI-13 in the store: one order not invalid per replaced cert. */
static void
store__one_live_replacement(void **state)
{
	struct fx *f = *state;
	struct store_order o, o2, tmp;
	struct store_authz z[2], z2[2], az;
	char id[STORE_ID_SIZE];

	make_order(&o, z, "acct1");
	snprintf(o.replaces, sizeof(o.replaces), "certA.AQ");
	assert_int_equal(f->s->ops->order_replacing(f->s, "certA.AQ", id, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	assert_int_equal(f->s->ops->order_replacing(f->s, "certA.AQ", id, NULL),
	    0);
	assert_string_equal(id, o.id);
	make_order(&o2, z2, "acct1");
	snprintf(o2.replaces, sizeof(o2.replaces), "certA.AQ");
	assert_int_equal(f->s->ops->order_insert(f->s, &o2, z2, 2, NULL),
	    ACME_ERR_EXISTS);
	/* Nothing of the refused order was kept. */
	assert_int_equal(f->s->ops->order_get(f->s, o2.id, &tmp, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->authz_get(f->s, z2[0].id, &az, NULL),
	    ACME_ERR_NOTFOUND);
	/* Once the first is invalid the certificate may be replaced. */
	assert_int_equal(f->s->ops->order_set_status(f->s, o.id, ST_PENDING,
			     ST_INVALID, NULL, NULL, NULL),
	    0);
	assert_int_equal(f->s->ops->order_replacing(f->s, "certA.AQ", id, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(store_new_id(o2.id), 0);
	assert_int_equal(f->s->ops->order_insert(f->s, &o2, z2, 2, NULL), 0);
	assert_int_equal(f->s->ops->order_replacing(f->s, "certA.AQ", id, NULL),
	    0);
	assert_string_equal(id, o2.id);
	free_order(&o, z);
	free_order(&o2, z2);
}

/* Stores an order of acct1 replacing cid; returns the first one's rc. */
static int
insert_replacing(struct fx *f, struct store_order *o, struct store_authz z[2],
    const char *cid, char id[STORE_ID_SIZE])
{
	make_order(o, z, "acct1");
	snprintf(o->replaces, sizeof(o->replaces), "%s", cid);
	assert_int_equal(f->s->ops->order_insert(f->s, o, z, 2, NULL), 0);
	return f->s->ops->order_first_replacing(f->s, cid, id, NULL);
}

/* D57: the first order ever to replace a certificate, invalid or not. */
static void
store__first_replacing_order_whatever_its_status(void **state)
{
	struct fx *f = *state;
	struct store_order o, o2;
	struct store_authz z[2], z2[2];
	char id[STORE_ID_SIZE];

	assert_int_equal(f->s->ops->order_first_replacing(f->s, "certB.AQ", id,
			     NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(insert_replacing(f, &o, z, "certB.AQ", id), 0);
	assert_string_equal(id, o.id);
	/* Invalid, it is still the first; a later one is not. */
	assert_int_equal(f->s->ops->order_set_status(f->s, o.id, ST_PENDING,
			     ST_INVALID, NULL, NULL, NULL),
	    0);
	assert_int_equal(insert_replacing(f, &o2, z2, "certB.AQ", id), 0);
	assert_string_equal(id, o.id);
	/* Orders that replace nothing, or another certificate, are not it. */
	assert_int_equal(f->s->ops->order_first_replacing(f->s, "", id, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->order_first_replacing(f->s, "certC.AQ", id,
			     NULL),
	    ACME_ERR_NOTFOUND);
	free_order(&o, z);
	free_order(&o2, z2);
}

/* The id of the certificate with serial. */
static void
cert_id(struct fx *f, const char *serial, char id[STORE_ID_SIZE])
{
	struct store_cert c;

	assert_int_equal(f->s->ops->cert_by_serial(f->s, serial, &c, NULL), 0);
	memcpy(id, c.id, STORE_ID_SIZE);
	store_cert_release(&c);
}

/* D50: the revocation count, the CRL's entries, and CRL numbering. */
static void
store__crl_entries_and_numbers(void **state)
{
	struct fx *f = *state;
	struct store_revoked *r;
	struct store_crl c, got;
	char a[STORE_ID_SIZE], b[STORE_ID_SIZE];
	unsigned char der[3] = { 0x30, 0x01, 0x00 };
	long long n = -1;
	size_t nr = 9;

	insert_cert(f, "bb", 5000, 0);
	insert_cert(f, "aa", 3000, 0);
	insert_cert(f, "dd", 9000, 0);
	cert_id(f, "bb", b);
	cert_id(f, "aa", a);
	assert_int_equal(f->s->ops->revocations(f->s, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(f->s->ops->cert_revoked(f->s, 0, &r, &nr, NULL), 0);
	assert_int_equal(nr, 0);
	assert_null(r);
	assert_int_equal(f->s->ops->cert_revoke(f->s, b, 100, 1, NULL), 0);
	assert_int_equal(f->s->ops->cert_revoke(f->s, a, 200, -1, NULL), 0);
	assert_int_equal(f->s->ops->revocations(f->s, &n, NULL), 0);
	assert_int_equal(n, 2);
	/* Serial order, with times and reasons. */
	assert_int_equal(f->s->ops->cert_revoked(f->s, 0, &r, &nr, NULL), 0);
	assert_int_equal(nr, 2);
	assert_string_equal(r[0].serial, "aa");
	assert_int_equal(r[0].revoked_at, 200);
	assert_int_equal(r[0].reason, -1);
	assert_string_equal(r[1].serial, "bb");
	assert_int_equal(r[1].reason, 1);
	free(r);
	/* Expiring at or after 5000: aa (3000) has gone, bb stays. */
	assert_int_equal(f->s->ops->cert_revoked(f->s, 5000, &r, &nr, NULL), 0);
	assert_int_equal(nr, 1);
	assert_string_equal(r[0].serial, "bb");
	free(r);
	/* CRLs: none, then 1; 1 again or 3 is refused; 2 drops 1. */
	assert_int_equal(f->s->ops->crl_latest(f->s, &got, NULL),
	    ACME_ERR_NOTFOUND);
	memset(&c, 0, sizeof(c));
	c.der = der;
	c.len = sizeof(der);
	c.this_update = 10;
	c.next_update = 20;
	c.revocations = 2;
	c.number = 2;
	assert_int_equal(f->s->ops->crl_insert(f->s, &c, NULL),
	    ACME_ERR_EXISTS);
	c.number = 1;
	assert_int_equal(f->s->ops->crl_insert(f->s, &c, NULL), 0);
	assert_int_equal(f->s->ops->crl_insert(f->s, &c, NULL),
	    ACME_ERR_EXISTS);
	c.number = 3;
	assert_int_equal(f->s->ops->crl_insert(f->s, &c, NULL),
	    ACME_ERR_EXISTS);
	assert_int_equal(f->s->ops->crl_latest(f->s, &got, NULL), 0);
	assert_int_equal(got.number, 1);
	assert_int_equal(got.this_update, 10);
	assert_int_equal(got.next_update, 20);
	assert_int_equal(got.revocations, 2);
	assert_int_equal(got.len, sizeof(der));
	assert_memory_equal(got.der, der, sizeof(der));
	store_crl_release(&got);
	c.number = 2;
	c.this_update = 30;
	assert_int_equal(f->s->ops->crl_insert(f->s, &c, NULL), 0);
	assert_int_equal(f->s->ops->crl_latest(f->s, &got, NULL), 0);
	assert_int_equal(got.number, 2);
	assert_int_equal(got.this_update, 30);
	store_crl_release(&got);
	/* 1 is gone: inserting it again is refused, not taken as newest. */
	c.number = 1;
	assert_int_equal(f->s->ops->crl_insert(f->s, &c, NULL),
	    ACME_ERR_EXISTS);
}

/* rl_take with interval 10 ms and burst b; returns the wait. */
static int64_t
take(struct store *st, const char *key, int64_t now, int64_t b, int mode)
{
	int64_t retry = -1;

	assert_int_equal(st->ops->rl_take(st, key, now, 10, b, mode, &retry,
			     NULL),
	    0);
	return retry;
}

/* D51: the rate-limit buckets (interval 10 ms, burst 20: 3 at once). */
static void
store__rl_take_is_a_token_bucket(void **state)
{
	struct fx *f = *state;
	struct store *st = f->s;
	int i;

	/* Looking spends nothing. */
	for (i = 0; i < 5; i++)
		assert_int_equal(take(st, "k", 1000, 20, 0), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(take(st, "k", 1000, 20, 1), 0);
	/* Empty: the fourth waits 10 ms, and is not spent. */
	assert_int_equal(take(st, "k", 1000, 20, 1), 10);
	assert_int_equal(take(st, "k", 1005, 20, 1), 5);
	/* Another key has its own bucket. */
	assert_int_equal(take(st, "j", 1005, 20, 1), 0);
	/* Refilled one token at 1010. */
	assert_int_equal(take(st, "k", 1010, 20, 1), 0);
	/* Forced: spent though empty, so the wait grows. */
	assert_int_equal(take(st, "k", 1010, 20, 2), 10);
	assert_int_equal(take(st, "k", 1010, 20, 0), 20);
	/* Inside a transaction, rolled back with it. */
	assert_int_equal(st->ops->begin(st, NULL), 0);
	assert_int_equal(take(st, "t", 1000, 0, 1), 0);
	st->ops->rollback(st);
	assert_int_equal(take(st, "t", 1000, 0, 1), 0);
	/* Long after, a full bucket again. */
	for (i = 0; i < 3; i++)
		assert_int_equal(take(st, "k", 9000, 20, 1), 0);
}

/*
 * PostgreSQL only (D65): the server closes a connection that sits idle
 * in the pool (a restart, pg_terminate_backend, a proxy's timeout); the
 * next operation opens a new one instead of failing.
 */
static void
store_pg__closed_idle_connection_is_opened_anew(void **state)
{
	struct fx *f = *state;
	struct store_account a, got;
	PGconn *db;
	PGresult *r;

	make_account(&a, "thumb-pg");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	db = PQconnectdb(f->url);
	assert_int_equal(PQstatus(db), CONNECTION_OK);
	/* Waits (up to 5 s) until the pool's backend has exited. */
	r = PQexec(db, "SELECT pg_terminate_backend(pid, 5000)"
		       " FROM pg_stat_activity"
		       " WHERE datname = current_database()"
		       " AND pid <> pg_backend_pid()"
		       " AND backend_type = 'client backend'");
	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	assert_int_equal(PQntuples(r), 1);
	assert_string_equal(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	PQfinish(db);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	assert_string_equal(got.thumbprint, "thumb-pg");
	store_account_release(&got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    store__audit_outbox_in_order_and_with_its_transaction,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__account_round_trip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__account_duplicate_thumbprint_exists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store__account_update_conditional_loser_changes_nothing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__account_update, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store__order_authz_chall_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(store__order_reuses_authz,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__order_insert_is_atomic,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__authz_insert_preauthorization, setup, teardown),
		cmocka_unit_test_setup_teardown(store__authz_find_valid_newest,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__order_set_status_conditional, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__authz_and_chall_conditional, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__order_list_pages_and_skips_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__order_count_open_by_profile, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__orders_unclaim_gives_back_processing, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store__cert_round_trip_and_revoke_once, setup, teardown),
		cmocka_unit_test_setup_teardown(store__eab_list_and_remove,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__account_pause, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store__cert_find_by_account_and_name, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__blocked_names_and_their_subtrees, setup, teardown),
		cmocka_unit_test_setup_teardown(store__cert_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(store__begin_commit_rollback,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__counts_roundtrips, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store__conflict_inside_transaction_keeps_it, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store__first_replacing_order_whatever_its_status, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(store__one_live_replacement,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__crl_entries_and_numbers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__rl_take_is_a_token_bucket, setup, teardown),
		cmocka_unit_test_setup_teardown(store__eab_binds_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store__D90_account_insert_eab_stores_one_account_per_kid,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__D90_two_accounts_race_for_one_kid, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__unpause_unblock_and_list_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(store__jobs_oldest_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(store__durable_across_reopen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__concurrent_threads,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__rl_take_shared_by_two_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__D80_job_lease_claim_renew_expire_takeover, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(store__D81_finalize_claim_lease,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__D96_claim_ended_only_by_its_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__D80_two_claimers_race_for_one_expired_job, setup,
		    teardown),
	};
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test_setup_teardown(
		    store_pg__closed_idle_connection_is_opened_anew, setup,
		    teardown),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	if (getenv("ANVIL_TEST_PG") != NULL)
		rc |= cmocka_run_group_tests(pg_tests, NULL, NULL);
	return rc;
}
