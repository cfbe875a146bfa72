/* SPDX-License-Identifier: ISC */
/*
 * ACME Renewal Information (RFC 9773) shared by anvil-ca and anvil: the
 * certID both sides compute, the window the server sends, the random
 * renewal time the client picks in it, and RFC 3339 times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>

#include <anvil/ari.h>
#include <anvil/b64url.h>
#include <anvil/err.h>
#include <anvil/x509.h>

#include "internal.h"

#define SERIAL_MAX 21 /* 20 octets and a leading zero */

int
acme_ari_cert_id_from(const unsigned char *aki, size_t akilen,
    const unsigned char *serial, size_t seriallen, char *out, size_t outsz)
{
	size_t n;

	if (akilen == 0 || seriallen == 0 ||
	    acme_b64url_encode_to(aki, akilen, out, outsz) != 0)
		return ACME_ERR_LIMIT;
	n = strlen(out);
	if (n + 2 > outsz)
		return ACME_ERR_LIMIT;
	out[n++] = '.';
	return acme_b64url_encode_to(serial, seriallen, out + n, outsz - n);
}

int
acme_ari_cert_id(X509 *cert, char *out, size_t outsz)
{
	unsigned char aki[64], *der = NULL, *p;
	const unsigned char *q;
	const ASN1_INTEGER *sn = X509_get0_serialNumber(cert);
	size_t akilen = 0;
	long len;
	int n, tag, cls, rc;

	if ((rc = acme_x509_aki(cert, aki, sizeof(aki), &akilen)) != 0)
		return rc;
	/* The DER of the INTEGER, header skipped: the content octets,
	 * with the leading 0x00 a positive serial may need (S-ARI-2). */
	if ((n = i2d_ASN1_INTEGER(sn, &der)) <= 0)
		return ACME_ERR_LIMIT;
	q = p = der;
	rc = ACME_ERR_LIMIT;
	if ((ASN1_get_object(&q, &len, &tag, &cls, n) & 0x80) == 0 && len > 0 &&
	    q + len == p + n)
		rc = acme_ari_cert_id_from(aki, akilen, q, (size_t)len, out,
		    outsz);
	OPENSSL_free(der);
	return rc;
}

int
acme_ari_cert_id_parse(const char *id, unsigned char *aki, size_t akisz,
    size_t *akilen, char *serial_hex, size_t hexsz)
{
	const char *dot = strchr(id, '.');
	unsigned char *a = NULL, *s = NULL;
	size_t alen = 0, slen = 0, i, o = 0;
	int rc = ACME_ERR_INVAL;

	if (dot == NULL || strchr(dot + 1, '.') != NULL ||
	    acme_b64url_decode(id, (size_t)(dot - id), &a, &alen) != 0 ||
	    acme_b64url_decode(dot + 1, strlen(dot + 1), &s, &slen) != 0)
		goto out;
	/* Positive, minimal DER: no 0x00 unless the next octet needs it. */
	if (alen == 0 || alen > akisz || slen == 0 || slen > SERIAL_MAX ||
	    (s[0] & 0x80) != 0 ||
	    (slen > 1 && s[0] == 0 && (s[1] & 0x80) == 0) ||
	    (slen == SERIAL_MAX && s[0] != 0) || hexsz < 2 * slen + 1)
		goto out;
	memcpy(aki, a, alen);
	*akilen = alen;
	for (i = 0; i < slen; i++)
		o += (size_t)snprintf(serial_hex + o, hexsz - o, "%02x", s[i]);
	/* Leading zeros off, as acme_x509_serial_hex() writes it. */
	for (i = 0; serial_hex[i] == '0' && serial_hex[i + 1] != '\0'; i++)
		;
	memmove(serial_hex, serial_hex + i, o - i + 1);
	rc = 0;
out:
	free(a);
	free(s);
	return rc;
}

int
acme_ari_window(const json_t *body, time_t *start, time_t *end,
    const char **explanation, struct acme_problem *prob)
{
	const json_t *w = json_object_get(body, "suggestedWindow");
	const char *s = json_string_value(json_object_get(w, "start"));
	const char *e = json_string_value(json_object_get(w, "end"));

	if (s == NULL || e == NULL || acme_rfc3339_parse(s, start) != 0 ||
	    acme_rfc3339_parse(e, end) != 0)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "renewalInfo has no valid suggestedWindow");
	if (*end <= *start)
		return acme_problem_set(prob, ACME_PROB_MALFORMED,
		    "renewalInfo window ends before it starts");
	if (explanation != NULL)
		*explanation =
		    json_string_value(json_object_get(body, "explanationURL"));
	return 0;
}

time_t
acme_ari_pick(time_t start, time_t end, time_t now, uint64_t rnd)
{
	time_t t = start;

	if (end > start)
		t = start + (time_t)(rnd % (uint64_t)(end - start));
	return t < now ? now : t;
}

long
acme_ari_retry(long retry_after)
{
	if (retry_after < 0)
		return ACME_ARI_RETRY_ERROR;
	if (retry_after < ACME_ARI_RETRY_MIN)
		return ACME_ARI_RETRY_MIN;
	return retry_after > ACME_ARI_RETRY_MAX ? ACME_ARI_RETRY_MAX :
						  retry_after;
}

const char *
acme_rfc3339(char out[32], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

int
acme_rfc3339_parse(const char *s, time_t *out)
{
	struct tm tm;
	const char *p;
	long off = 0;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
		int h = (p[1] - '0') * 10 + (p[2] - '0');
		int m = (p[4] - '0') * 10 + (p[5] - '0');

		if (h > 23 || m > 59)
			return -1;
		off = (h * 3600L + m * 60L) * (*p == '+' ? 1 : -1);
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	*out = timegm(&tm) - off;
	return 0;
}
