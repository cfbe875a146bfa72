/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the CA's CSR reader.  The input is DER; the
 * finalize path (acme_csr_read, which reads the common shapes itself,
 * D32) must accept and refuse exactly what OpenSSL's parser with
 * acme_csr_identifiers accepts and refuses (less SubjectPublicKeyInfos
 * that are not their key's one DER form, D58), and when both accept they
 * must agree on the identifiers and on the SubjectPublicKeyInfo.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include <anvil/b64url.h>
#include <anvil/csr.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
spki_equal(X509_PUBKEY *a, X509_PUBKEY *b)
{
	unsigned char *da = NULL, *db = NULL;
	int la = i2d_X509_PUBKEY(a, &da), lb = i2d_X509_PUBKEY(b, &db);
	int same = la > 0 && la == lb && memcmp(da, db, (size_t)la) == 0;

	OPENSSL_free(da);
	OPENSSL_free(db);
	return same;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct acme_problem p = { 0 };
	struct acme_csr c;
	struct acme_ident *ids = NULL;
	size_t nids = 0, i;
	X509_REQ *req;
	char *b64;
	int fast, slow = 0;

	if (size == 0 || size > ACME_CSR_MAX_DER)
		return 0;
	if ((b64 = acme_b64url_encode(data, size)) == NULL)
		abort();
	fast = acme_csr_read(b64, &c, &p) == 0;
	if ((req = acme_csr_parse_b64url(b64, &p)) != NULL) {
		X509_PUBKEY *canon = acme_csr_spki(X509_REQ_get0_pubkey(req));

		/* The CA also wants the key's one DER form (D58). */
		slow = acme_csr_identifiers(req, &ids, &nids, &p) == 0 &&
		       canon != NULL &&
		       spki_equal(canon, X509_REQ_get_X509_PUBKEY(req));
		X509_PUBKEY_free(canon);
	}
	if (fast != slow)
		abort();
	if (fast) {
		if (c.key == NULL || c.spki == NULL || c.nids != nids ||
		    !spki_equal(c.spki, X509_REQ_get_X509_PUBKEY(req)) ||
		    EVP_PKEY_eq(c.key, X509_REQ_get0_pubkey(req)) != 1)
			abort();
		for (i = 0; i < nids; i++)
			if (acme_ident_cmp(&c.ids[i], &ids[i]) != 0)
				abort();
		acme_csr_release(&c);
	}
	free(ids);
	X509_REQ_free(req);
	free(b64);
	return 0;
}
