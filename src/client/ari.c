/* SPDX-License-Identifier: ISC */
/*
 * The client's side of renewal information (RFC 9773).  What the CA
 * said lives in renewal.json as an "ari" object:
 *
 *   cert_id      the certificate's certID (S-ARI-2)
 *   url          the CA's renewalInfo URL, so a check needs no directory
 *   start, end   the last suggested window (seconds since the epoch)
 *   renew_at     the time picked in it (S-ARI-6), kept while the window
 *                stays the same, so repeated checks do not re-roll it
 *   next_check   when to ask again: Retry-After clamped to a minute ..
 *                a day (S-ARI-8), backoff after temporary errors and
 *                six hours after long-term ones (S-ARI-10)
 *   explanation  the CA's explanationURL, shown to the operator
 *   failures     temporary failures in a row, for the backoff
 *
 * A renew run reads these; it touches the network only for certificates
 * whose next_check has passed, which keeps a run over thousands of
 * certificates that are not due fast.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include <anvil/ari.h>
#include <anvil/client.h>
#include <anvil/err.h>

#include "cli.h"

#include "internal.h"

static time_t
get_time(const json_t *ari, const char *key)
{
	return (time_t)json_integer_value(json_object_get(ari, key));
}

static void
set_time(json_t *ari, const char *key, time_t t)
{
	json_object_set_new(ari, key, json_integer((json_int_t)t));
}

/* Records the outcome of one fetch (rc, ri) at now into ari. */
static void
ari_apply(json_t *ari, int rc, const struct acme_renewal_info *ri, time_t now)
{
	long wait;

	if (rc == 0) {
		if (get_time(ari, "start") != ri->start ||
		    get_time(ari, "end") != ri->end ||
		    get_time(ari, "renew_at") == 0) {
			uint64_t rnd = 0;

			if (RAND_bytes((unsigned char *)&rnd, sizeof(rnd)) != 1)
				rnd = (uint64_t)now;
			set_time(ari, "start", ri->start);
			set_time(ari, "end", ri->end);
			set_time(ari, "renew_at",
			    acme_ari_pick(ri->start, ri->end, now, rnd));
		}
		if (ri->explanation[0] != '\0')
			json_object_set_new(ari, "explanation",
			    json_string(ri->explanation));
		else
			json_object_del(ari, "explanation");
		json_object_set_new(ari, "failures", json_integer(0));
		json_object_del(ari, "last_error");
		set_time(ari, "next_check",
		    now + acme_ari_retry(ri->retry_after));
		return;
	}
	if (rc == ACME_ERR_IO) {
		/* Temporary: 1, 2, 4 ... minutes, at most six hours. */
		json_int_t f =
		    json_integer_value(json_object_get(ari, "failures"));

		wait = ACME_ARI_RETRY_MIN << (f < 9 ? f : 9);
		if (wait > ACME_ARI_RETRY_ERROR)
			wait = ACME_ARI_RETRY_ERROR;
		json_object_set_new(ari, "failures", json_integer(f + 1));
	} else
		wait = ACME_ARI_RETRY_ERROR;
	/* What was known before stays; a bad window is no window. */
	set_time(ari, "next_check", now + wait);
}

json_t *
ari_after_issue(struct acme_client *c, X509 *leaf)
{
	struct acme_renewal_info ri;
	struct acme_problem p = { 0 };
	const char *url = acme_client_dir_url(c, "renewalInfo");
	char id[ACME_ARI_ID_SIZE];
	json_t *ari;
	int rc;

	if (url == NULL || acme_ari_cert_id(leaf, id, sizeof(id)) != 0)
		return NULL;
	if ((ari = json_pack("{s:s, s:s}", "cert_id", id, "url", url)) == NULL)
		return NULL;
	/* S-ARI-8: ask right after issuance. */
	rc = acme_client_renewal_info(c, url, id, &ri, &p);
	ari_apply(ari, rc, &ri, time(NULL));
	if (rc != 0)
		json_object_set_new(ari, "last_error", json_string(p.detail));
	acme_problem_release(&p);
	return ari;
}

int
ari_refresh(json_t *ari, struct acme_client *c, time_t now,
    struct acme_problem *prob)
{
	struct acme_renewal_info ri;
	const char *id = json_string_value(json_object_get(ari, "cert_id"));
	const char *url = json_string_value(json_object_get(ari, "url"));
	int rc;

	if (id == NULL || url == NULL)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "renewal.json: ari lacks cert_id or url");
	rc = acme_client_renewal_info(c, url, id, &ri, prob);
	ari_apply(ari, rc, &ri, now);
	if (rc != 0)
		json_object_set_new(ari, "last_error",
		    json_string(prob->detail));
	return rc;
}

int
ari_check_due(const json_t *ari, time_t now)
{
	return now >= get_time(ari, "next_check");
}

time_t
ari_renew_at(const json_t *ari)
{
	return get_time(ari, "renew_at");
}
