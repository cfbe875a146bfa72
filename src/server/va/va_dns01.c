/* SPDX-License-Identifier: ISC */
/*
 * dns-01 validation (RFC 8555 8.4): a TXT record at
 * _acme-challenge.<name> whose value is base64url(SHA-256(key
 * authorization)).  Any record of the RRset may match (S-DNS-3); CNAMEs
 * are followed by the resolver (S-DNS-4); with a trust anchor configured
 * the answer must validate (S-DNS-5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <unbound.h>

#include <anvil/b64url.h>
#include <anvil/err.h>

#include "va.h"

#include "internal.h"

#define RR_TXT DNSMSG_TYPE_TXT
/* Bytes of the SHA-256 digest in base64url (43) and its NUL, with room. */
#define DIGEST_B64_MAX 64
/* Bytes of "_acme-challenge." and a DNS name (253). */
#define QNAME_MAX 300
/* Bytes of a TXT value kept, and of the values quoted in a refusal. */
#define TXT_MAX 512

/* Concatenates the character-strings of one TXT rdata into out. */
static int
txt_value(const unsigned char *rd, size_t len, char *out, size_t size)
{
	size_t i = 0, o = 0;

	while (i < len) {
		size_t n = rd[i++];

		if (n > len - i || o + n >= size)
			return -1;
		memcpy(out + o, rd + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return 0;
}

int
va_dns01(struct va_resolver *res, long long deadline, const char *name,
    const char *keyauth, struct acme_problem *prob)
{
	unsigned char digest[SHA256_DIGEST_LENGTH];
	unsigned int dlen = 0;
	char want[DIGEST_B64_MAX], qname[QNAME_MAX], got[TXT_MAX];
	struct va_dns_result r;
	size_t i;
	int rc, found = 0, nrec = 0;

	if (res == NULL)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "no DNS resolver available");
	if (EVP_Digest(keyauth, strlen(keyauth), digest, &dlen, EVP_sha256(),
		NULL) != 1 ||
	    acme_b64url_encode_to(digest, dlen, want, sizeof(want)) != 0)
		return acme_problem_set(prob, ACME_PROB_SERVER_INTERNAL,
		    "SHA-256 failed");
	snprintf(qname, sizeof(qname), "_acme-challenge.%s", name);
	rc = va_resolve_bounded(res, qname, RR_TXT, va_time_left(deadline), &r);
	if (rc != 0)
		return acme_problem_set(prob, ACME_PROB_DNS,
		    "looking up TXT for %s: %s", qname,
		    rc == UB_SERVFAIL ? "timeout or server failure" :
					ub_strerror(rc));
	if (r.bogus) {
		acme_problem_set(prob, ACME_PROB_DNS,
		    "DNSSEC validation failed for %s: %s", qname,
		    r.why_bogus[0] != '\0' ? r.why_bogus : "bogus");
		va_dns_result_release(&r);
		return ACME_ERR_VERIFY;
	}
	if (r.rcode == DNSMSG_RCODE_SERVFAIL) {
		va_dns_result_release(&r);
		return acme_problem_set(prob, ACME_PROB_DNS,
		    "SERVFAIL looking up TXT for %s", qname);
	}
	got[0] = '\0';
	for (i = 0; i < r.n; i++) {
		char v[TXT_MAX];

		if (txt_value(r.data[i], r.len[i], v, sizeof(v)) != 0)
			continue;
		nrec++;
		if (strcmp(v, want) == 0)
			found = 1;
		else if (got[0] == '\0')
			snprintf(got, sizeof(got), "%s", v);
	}
	va_dns_result_release(&r);
	if (found)
		return 0;
	if (nrec == 0)
		return acme_problem_set(prob, ACME_PROB_UNAUTHORIZED,
		    "no TXT record found at %s", qname);
	return acme_problem_set(prob, ACME_PROB_INCORRECT_RESPONSE,
	    "TXT records at %s (e.g. \"%.60s\") do not match the key "
	    "authorization",
	    qname, got);
}
