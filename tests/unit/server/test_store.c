/* SPDX-License-Identifier: ISC */
/*
 * The storage contract, through the ops table only, against SQLite.  A
 * PostgreSQL back end must pass the same cases.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <anvil/err.h>

#include "store/store.h"

#include "../helpers.h"

struct fx {
	char *dir;
	char url[4200];
	struct store *s;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dir = th_tmpdir();
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
static char contact_text[] = "[\"mailto:a@example.org\"]";
static char pem_text[] = "-----BEGIN CERTIFICATE-----\n";

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

static void
store__account_round_trip_and_unique_key(void **state)
{
	struct fx *f = *state;
	struct store_account a, b, got;

	make_account(&a, "thumb-a");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	assert_string_equal(got.thumbprint, "thumb-a");
	assert_string_equal(got.contact, a.contact);
	assert_int_equal(got.status, ST_VALID);
	assert_int_equal(got.created, 1000);
	store_account_release(&got);
	assert_int_equal(f->s->ops->account_by_thumbprint(f->s, "thumb-a", &got,
			     NULL),
	    0);
	assert_string_equal(got.id, a.id);
	store_account_release(&got);
	make_account(&b, "thumb-a");
	assert_int_equal(f->s->ops->account_insert(f->s, &b, NULL),
	    STORE_ERR_EXISTS);
	assert_int_equal(f->s->ops->account_get(f->s, "nope", &got, NULL),
	    ACME_ERR_NOTFOUND);
	/* Update to a key another account holds: refused. */
	snprintf(b.thumbprint, sizeof(b.thumbprint), "thumb-b");
	assert_int_equal(f->s->ops->account_insert(f->s, &b, NULL), 0);
	snprintf(b.thumbprint, sizeof(b.thumbprint), "thumb-a");
	assert_int_equal(f->s->ops->account_update(f->s, &b, NULL),
	    STORE_ERR_EXISTS);
	b.status = ST_DEACTIVATED;
	snprintf(b.thumbprint, sizeof(b.thumbprint), "thumb-c");
	assert_int_equal(f->s->ops->account_update(f->s, &b, NULL), 0);
	assert_int_equal(f->s->ops->account_by_thumbprint(f->s, "thumb-c", &got,
			     NULL),
	    0);
	assert_int_equal(got.status, ST_DEACTIVATED);
	store_account_release(&got);
}

/* An order with two new authorizations of three challenges each. */
static void
make_order(struct store_order *o, struct store_authz z[2], const char *acct)
{
	size_t i, k;

	memset(o, 0, sizeof(*o));
	store_new_id(o->id);
	snprintf(o->account_id, sizeof(o->account_id), "%s", acct);
	o->status = ST_PENDING;
	o->expires = 5000;
	o->created = 1000;
	o->nident = 2;
	o->idents = calloc(2, sizeof(*o->idents));
	acme_ident_set(&o->idents[0], "dns", "a.example.com");
	acme_ident_set(&o->idents[1], "ip", "192.0.2.1");
	o->nauthz = 2;
	o->authz_ids = calloc(2, sizeof(*o->authz_ids));
	for (i = 0; i < 2; i++) {
		memset(&z[i], 0, sizeof(z[i]));
		store_new_id(z[i].id);
		snprintf(o->authz_ids[i], STORE_ID_SIZE, "%s", z[i].id);
		snprintf(z[i].account_id, sizeof(z[i].account_id), "%s", acct);
		z[i].ident = o->idents[i];
		z[i].status = ST_PENDING;
		z[i].expires = 4000;
		z[i].created = 1000;
		z[i].nchall = 3;
		z[i].challs = calloc(3, sizeof(*z[i].challs));
		for (k = 0; k < 3; k++) {
			struct store_chall *c = &z[i].challs[k];

			store_new_id(c->id);
			store_new_token(c->token);
			snprintf(c->authz_id, sizeof(c->authz_id), "%s",
			    z[i].id);
			c->type = (enum store_chall_type)(k + 1);
			c->status = ST_PENDING;
		}
	}
}

static void
free_order(struct store_order *o, struct store_authz z[2])
{
	store_order_release(o);
	store_authz_release(&z[0]);
	store_authz_release(&z[1]);
}

static void
store__order_authz_chall_round_trip(void **state)
{
	struct fx *f = *state;
	struct store_order o, got;
	struct store_authz z[2], az;
	size_t i;

	make_order(&o, z, "acct1");
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	assert_int_equal(f->s->ops->order_get(f->s, o.id, &got, NULL), 0);
	assert_int_equal(got.nident, 2);
	assert_string_equal(got.idents[1].value, "192.0.2.1");
	assert_int_equal(got.idents[1].type, ACME_IDENT_IP);
	assert_string_equal(got.authz_ids[0], z[0].id);
	assert_int_equal(got.expires, 5000);
	assert_string_equal(got.cert_id, "");
	store_order_release(&got);
	assert_int_equal(f->s->ops->authz_get(f->s, z[1].id, &az, NULL), 0);
	assert_int_equal(az.nchall, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(az.challs[i].type, (int)i + 1);
		assert_string_equal(az.challs[i].token, z[1].challs[i].token);
	}
	assert_string_equal(az.ident.value, "192.0.2.1");
	store_authz_release(&az);
	free_order(&o, z);
}

static void
store__conditional_updates(void **state)
{
	struct fx *f = *state;
	struct store_order o, got;
	struct store_authz z[2];
	struct store_chall c;

	make_order(&o, z, "acct1");
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	assert_int_equal(f->s->ops->order_set_status(f->s, o.id, ST_READY,
			     ST_PROCESSING, NULL, NULL, NULL),
	    STORE_ERR_CONFLICT);
	assert_int_equal(f->s->ops->order_set_status(f->s, o.id, ST_PENDING,
			     ST_VALID, NULL, "cert1", NULL),
	    0);
	assert_int_equal(f->s->ops->order_get(f->s, o.id, &got, NULL), 0);
	assert_int_equal(got.status, ST_VALID);
	assert_string_equal(got.cert_id, "cert1");
	store_order_release(&got);
	assert_int_equal(f->s->ops->order_set_status(f->s, "missing",
			     ST_PENDING, ST_VALID, NULL, NULL, NULL),
	    ACME_ERR_NOTFOUND);
	c = z[0].challs[0];
	c.error = NULL;
	c.status = ST_PROCESSING;
	assert_int_equal(f->s->ops->chall_update(f->s, &c, ST_PENDING, NULL),
	    0);
	assert_int_equal(f->s->ops->chall_update(f->s, &c, ST_PENDING, NULL),
	    STORE_ERR_CONFLICT);
	assert_int_equal(f->s->ops->authz_set_status(f->s, z[0].id, ST_VALID,
			     ST_INVALID, 0, NULL),
	    STORE_ERR_CONFLICT);
	assert_int_equal(f->s->ops->authz_set_status(f->s, "nope", ST_PENDING,
			     ST_VALID, 0, NULL),
	    ACME_ERR_NOTFOUND);
	free_order(&o, z);
}

static void
store__authz_find_valid(void **state)
{
	struct fx *f = *state;
	struct store_order o;
	struct store_authz z[2], got;

	make_order(&o, z, "acct1");
	assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL), 0);
	/* Pending: not found. */
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct1", &z[0].ident,
			     0, 0, &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->authz_set_status(f->s, z[0].id, ST_PENDING,
			     ST_VALID, 9000, NULL),
	    0);
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct1", &z[0].ident,
			     0, 8000, &got, NULL),
	    0);
	assert_string_equal(got.id, z[0].id);
	assert_int_equal(got.expires, 9000);
	store_authz_release(&got);
	/* Expiring too soon, another account, or the wildcard flag. */
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct1", &z[0].ident,
			     0, 9500, &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct2", &z[0].ident,
			     0, 0, &got, NULL),
	    ACME_ERR_NOTFOUND);
	assert_int_equal(f->s->ops->authz_find_valid(f->s, "acct1", &z[0].ident,
			     1, 0, &got, NULL),
	    ACME_ERR_NOTFOUND);
	free_order(&o, z);
}

static void
store__order_list_pages_and_skips_invalid(void **state)
{
	struct fx *f = *state;
	char ids[5][STORE_ID_SIZE], page[10][STORE_ID_SIZE];
	struct store_order o;
	struct store_authz z[2];
	size_t i, n = 0;

	for (i = 0; i < 5; i++) {
		make_order(&o, z, "lister");
		assert_int_equal(f->s->ops->order_insert(f->s, &o, z, 2, NULL),
		    0);
		memcpy(ids[i], o.id, STORE_ID_SIZE);
		if (i == 2)
			f->s->ops->order_set_status(f->s, o.id, ST_PENDING,
			    ST_INVALID, NULL, NULL, NULL);
		free_order(&o, z);
	}
	assert_int_equal(f->s->ops->order_list(f->s, "lister", "", page, 2, &n,
			     NULL),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(page[0], ids[0]);
	assert_string_equal(page[1], ids[1]);
	assert_int_equal(f->s->ops->order_list(f->s, "lister", ids[1], page, 10,
			     &n, NULL),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(page[0], ids[3]);
	assert_string_equal(page[1], ids[4]);
}

static void
store__certs_and_revocation(void **state)
{
	struct fx *f = *state;
	struct store_cert c, got;

	memset(&c, 0, sizeof(c));
	store_new_id(c.id);
	snprintf(c.serial, sizeof(c.serial), "abc123");
	snprintf(c.account_id, sizeof(c.account_id), "acct1");
	c.chain_pem = pem_text;
	c.reason = -1;
	assert_int_equal(f->s->ops->cert_insert(f->s, &c, NULL), 0);
	assert_int_equal(f->s->ops->cert_insert(f->s, &c, NULL),
	    STORE_ERR_EXISTS);
	assert_int_equal(f->s->ops->cert_by_serial(f->s, "abc123", &got, NULL),
	    0);
	assert_string_equal(got.id, c.id);
	assert_int_equal(got.revoked_at, 0);
	store_cert_release(&got);
	assert_int_equal(f->s->ops->cert_revoke(f->s, c.id, 77, 4, NULL), 0);
	assert_int_equal(f->s->ops->cert_revoke(f->s, c.id, 88, 1, NULL),
	    STORE_ERR_CONFLICT);
	assert_int_equal(f->s->ops->cert_get(f->s, c.id, &got, NULL), 0);
	assert_int_equal(got.revoked_at, 77);
	assert_int_equal(got.reason, 4);
	store_cert_release(&got);
	assert_int_equal(f->s->ops->cert_revoke(f->s, "nope", 1, 0, NULL),
	    ACME_ERR_NOTFOUND);
}

static void
store__eab_binds_once_and_jobs(void **state)
{
	struct fx *f = *state;
	struct store_eab e, got;
	struct store_job j, list[4];
	size_t n = 0;

	memset(&e, 0, sizeof(e));
	snprintf(e.kid, sizeof(e.kid), "kid-1");
	memset(e.key, 7, 32);
	e.keylen = 32;
	assert_int_equal(f->s->ops->eab_insert(f->s, &e, NULL), 0);
	assert_int_equal(f->s->ops->eab_get(f->s, "kid-1", &got, NULL), 0);
	assert_int_equal(got.keylen, 32);
	assert_memory_equal(got.key, e.key, 32);
	assert_string_equal(got.account_id, "");
	assert_int_equal(f->s->ops->eab_bind(f->s, "kid-1", "a1", NULL), 0);
	assert_int_equal(f->s->ops->eab_bind(f->s, "kid-1", "a2", NULL),
	    STORE_ERR_CONFLICT);
	memset(&j, 0, sizeof(j));
	snprintf(j.chall_id, sizeof(j.chall_id), "c1");
	assert_int_equal(f->s->ops->job_add(f->s, &j, NULL), 0);
	snprintf(j.chall_id, sizeof(j.chall_id), "c2");
	assert_int_equal(f->s->ops->job_add(f->s, &j, NULL), 0);
	assert_int_equal(f->s->ops->job_list(f->s, list, 4, &n, NULL), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].chall_id, "c1");
	assert_int_equal(f->s->ops->job_done(f->s, "c1", NULL), 0);
	assert_int_equal(f->s->ops->job_list(f->s, list, 4, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(list[0].chall_id, "c2");
}

static void
store__durable_across_reopen(void **state)
{
	struct fx *f = *state;
	struct store_account a, got;

	make_account(&a, "durable");
	assert_int_equal(f->s->ops->account_insert(f->s, &a, NULL), 0);
	store_close(f->s);
	f->s = store_open(f->url, NULL);
	assert_non_null(f->s);
	assert_int_equal(f->s->ops->account_get(f->s, a.id, &got, NULL), 0);
	store_account_release(&got);
}

static void *
inserter(void *arg)
{
	struct store *s = arg;
	struct store_account a;
	char thumb[32];
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(thumb, sizeof(thumb), "t-%p-%d", (void *)&a, i);
		make_account(&a, thumb);
		if (s->ops->account_insert(s, &a, NULL) != 0)
			return (void *)1;
	}
	return NULL;
}

static void
store__concurrent_threads(void **state)
{
	struct fx *f = *state;
	pthread_t t[4];
	void *rv;
	int i;

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, inserter, f->s);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &rv);
		assert_null(rv);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    store__account_round_trip_and_unique_key, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    store__order_authz_chall_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(store__conditional_updates,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__authz_find_valid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    store__order_list_pages_and_skips_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(store__certs_and_revocation,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__eab_binds_once_and_jobs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__durable_across_reopen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(store__concurrent_threads,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
