/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for the validator's DNS message reader
 * (src/server/va/dnsmsg.c).  The first byte picks the asked type, the
 * rest is the packet.  Beyond "no crash, no leak": an accepted message's
 * records lie inside it, a refused one leaves none, and a name read
 * never exceeds 255 bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "va/dnsmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int types[] = { DNSMSG_TYPE_A, DNSMSG_TYPE_AAAA,
		DNSMSG_TYPE_TXT, DNSMSG_TYPE_CAA, DNSMSG_TYPE_CNAME };
	unsigned char name[DNSMSG_NAME_MAX];
	struct dnsmsg_answer a;
	const uint8_t *pkt = data + 1;
	size_t len, i, pos = 12;
	int n;

	if (size < 1)
		return 0;
	len = size - 1;
	if (dnsmsg_answer_parse(pkt, len, types[data[0] % 5], &a) == 0) {
		for (i = 0; i < a.n; i++)
			if (a.rr[i].off > len ||
			    a.rr[i].len > len - a.rr[i].off)
				abort();
	} else if (a.n != 0)
		abort();
	n = dnsmsg_name_read(pkt, len, &pos, name);
	if (n > DNSMSG_NAME_MAX || (n >= 0 && pos > len))
		abort();
	return 0;
}
