/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the small text readers a request hands the CA
 * (and a renewalInfo reply the client): identifiers ("dns" and "ip"
 * values of newOrder, names of a CSR), ARI certificate IDs (the path of
 * renewalInfo and the "replaces" member) and RFC 3339 times.  The first
 * byte picks the reader, the rest is the text.  Beyond "no crash, no
 * leak", each accepted value must be in the form the reader promises:
 *
 * - dns: lowercase LDH labels (an optional leading "*." aside) of 1 to
 *   63 octets, at most 253 in all, neither starting nor ending with a
 *   hyphen; reading the result again gives it back, and so does reading
 *   the input in upper case.
 * - ip: the canonical text of the address, which reads back to itself.
 * - ARI ID: the key identifier and the serial, written out again as
 *   base64url of the key identifier, ".", and base64url of the serial's
 *   minimal DER content octets, are the input byte for byte.
 * - RFC 3339: the time written by acme_rfc3339() reads back to itself.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <anvil/ari.h>
#include <anvil/ident.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_dns(const char *in)
{
	struct acme_ident id, again;
	const char *v, *p;
	size_t len, label = 0, i;
	char *up;

	if (acme_ident_set(&id, "dns", in) != 0)
		return;
	v = id.value;
	len = strlen(v);
	if (id.type != ACME_IDENT_DNS || len == 0 || len > 253 ||
	    len != strlen(in))
		abort();
	p = strncmp(v, "*.", 2) == 0 ? v + 2 : v;
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				abort();
			label = 0;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '-') ||
		    (label == 0 && *p == '-') || ++label > 63)
			abort();
	}
	if (label == 0 || p[-1] == '-')
		abort();
	if (acme_ident_set(&again, "dns", v) != 0 ||
	    strcmp(again.value, v) != 0)
		abort();
	if ((up = strdup(in)) == NULL)
		abort();
	for (i = 0; up[i] != '\0'; i++)
		if (up[i] >= 'a' && up[i] <= 'z')
			up[i] = (char)(up[i] - 'a' + 'A');
	if (acme_ident_set(&again, "dns", up) != 0 ||
	    strcmp(again.value, v) != 0)
		abort();
	free(up);
}

static void
check_ip(const char *in)
{
	struct acme_ident id, again;

	if (acme_ident_set(&id, "ip", in) != 0)
		return;
	if (id.type != ACME_IDENT_IP || id.value[0] == '\0' ||
	    acme_ident_set(&again, "ip", id.value) != 0 ||
	    strcmp(again.value, id.value) != 0)
		abort();
	/* acme_ident_from_name() must take an address as "ip". */
	if (acme_ident_from_name(&again, in) != 0 ||
	    again.type != ACME_IDENT_IP || strcmp(again.value, id.value) != 0)
		abort();
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	abort();
}

static void
check_ari(const char *in)
{
	unsigned char aki[64], serial[22];
	char hex[64], back[256];
	size_t akilen = 0, hl, n = 0, i = 0;

	if (acme_ari_cert_id_parse(in, aki, sizeof(aki), &akilen, hex,
		sizeof(hex)) != 0)
		return;
	hl = strlen(hex);
	if (akilen == 0 || akilen > sizeof(aki) || hl == 0 ||
	    (hl > 1 && hex[0] == '0'))
		abort();
	/* The serial's DER content octets: a 0x00 first if the top bit
	 * is set, then the value with an odd digit count padded. */
	if (hl % 2 == 1) {
		serial[n++] = (unsigned char)hexval(hex[0]);
		i = 1;
	}
	for (; i < hl; i += 2) {
		if (n >= sizeof(serial) - 1)
			abort();
		serial[n++] =
		    (unsigned char)(hexval(hex[i]) << 4 | hexval(hex[i + 1]));
	}
	if (serial[0] & 0x80) {
		memmove(serial + 1, serial, n);
		serial[0] = 0;
		n++;
	}
	if (n > 21 ||
	    acme_ari_cert_id_from(aki, akilen, serial, n, back, sizeof(back)) !=
		0 ||
	    strcmp(back, in) != 0)
		abort();
}

static void
check_time(const char *in)
{
	char out[32];
	time_t t, again;

	if (acme_rfc3339_parse(in, &t) != 0)
		return;
	/* Years acme_rfc3339() writes in four digits. */
	if (t < -62167219200LL || t > 253402300799LL)
		return;
	if (acme_rfc3339_parse(acme_rfc3339(out, t), &again) != 0 || again != t)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in;

	if (size < 1 || size > 4096)
		return 0;
	if ((in = malloc(size)) == NULL)
		return 0;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		check_dns(in);
		break;
	case 1:
		check_ip(in);
		break;
	case 2:
		check_ari(in);
		break;
	default:
		check_time(in);
		break;
	}
	/* Whatever it is, from_name neither crashes nor leaks. */
	{
		struct acme_ident id;

		(void)acme_ident_from_name(&id, in);
	}
	free(in);
	return 0;
}
