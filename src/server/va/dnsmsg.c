/* SPDX-License-Identifier: ISC */
/*
 * DNS message reading for the validator (see dnsmsg.h).  The packet comes
 * from libunbound, which had it from whatever server answered, so every
 * length and offset is checked against the packet's size before it is
 * used, and name compression is accepted only in the form that cannot
 * loop: each pointer must lead strictly before the place the previous one
 * led to (or, for the first, before the name's start).
 */
#include <string.h>

#include "dnsmsg.h"

#define HEADER_SIZE 12
#define RR_FIXED    10 /* type, class, TTL, RDLENGTH */
/* RFC 1035 4.1: the header's QDCOUNT and ANCOUNT; a question's and a
 * record's class after their type; a record's RDLENGTH; bytes of a
 * question after its name (type, class) and of a compression pointer. */
#define QDCOUNT_AT  4
#define ANCOUNT_AT  6
#define CLASS_AT    2
#define RDLENGTH_AT 8
#define Q_FIXED     4
#define PTR_SIZE    2
#define PTR_MASK    0xC0
#define PTR_HIGH    0x3F /* the offset's high bits in a pointer */

static unsigned int
u16(const unsigned char *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

int
dnsmsg_name_read(const unsigned char *pkt, size_t len, size_t *pos,
    unsigned char out[DNSMSG_NAME_MAX])
{
	size_t p = *pos, floor = *pos, end = 0, o = 0, i;
	int jumped = 0;

	for (;;) {
		unsigned int c;

		if (p >= len)
			return -1;
		c = pkt[p];
		if ((c & PTR_MASK) == PTR_MASK) {
			size_t target;

			if (len - p < PTR_SIZE)
				return -1;
			target = (size_t)(c & PTR_HIGH) << 8 | pkt[p + 1];
			if (target >= floor)
				return -1; /* forward, to itself, or a loop */
			if (!jumped)
				end = p + PTR_SIZE;
			jumped = 1;
			floor = target;
			p = target;
			continue;
		}
		if (c & PTR_MASK)
			return -1; /* 0x40 and 0x80: no such label types */
		if (o + 1 + c > DNSMSG_NAME_MAX || len - p < 1 + (size_t)c)
			return -1;
		out[o++] = (unsigned char)c;
		if (c == 0) {
			if (!jumped)
				end = p + 1;
			break;
		}
		for (i = 1; i <= c; i++) {
			unsigned char ch = pkt[p + i];

			/* Names compare case-insensitively in ASCII only. */
			out[o++] = ch >= 'A' && ch <= 'Z' ?
				       (unsigned char)(ch + ('a' - 'A')) :
				       ch;
		}
		p += 1 + c;
	}
	*pos = end;
	return (int)o;
}

int
dnsmsg_answer_parse(const unsigned char *pkt, size_t len, int qtype,
    struct dnsmsg_answer *out)
{
	unsigned char sname[DNSMSG_NAME_MAX], owner[DNSMSG_NAME_MAX];
	size_t pos = HEADER_SIZE, an, i;
	int slen, olen;

	out->rcode = 0;
	out->n = 0;
	if (len < HEADER_SIZE || u16(pkt + QDCOUNT_AT) != 1)
		return -1;
	an = u16(pkt + ANCOUNT_AT);
	slen = dnsmsg_name_read(pkt, len, &pos, sname);
	if (slen < 0 || len - pos < Q_FIXED ||
	    u16(pkt + pos + CLASS_AT) != DNSMSG_CLASS_IN)
		return -1;
	pos += Q_FIXED;
	for (i = 0; i < an; i++) {
		unsigned int type, class;
		size_t rdlen;

		olen = dnsmsg_name_read(pkt, len, &pos, owner);
		if (olen < 0 || len - pos < RR_FIXED)
			goto bad;
		type = u16(pkt + pos);
		class = u16(pkt + pos + CLASS_AT);
		rdlen = u16(pkt + pos + RDLENGTH_AT);
		pos += RR_FIXED;
		if (rdlen > len - pos)
			goto bad;
		if (class == DNSMSG_CLASS_IN && olen == slen &&
		    memcmp(owner, sname, (size_t)olen) == 0) {
			if (type == (unsigned int)qtype) {
				if (out->n < DNSMSG_MAX_RR) {
					out->rr[out->n].off = pos;
					out->rr[out->n].len = rdlen;
					out->n++;
				}
			} else if (type == DNSMSG_TYPE_CNAME && out->n == 0) {
				/* The chain goes on at the alias's target,
				 * which must lie inside this record's rdata. */
				size_t rp = pos;

				slen = dnsmsg_name_read(pkt, len, &rp, sname);
				if (slen < 0 || rp > pos + rdlen)
					goto bad;
			}
		}
		pos += rdlen;
	}
	out->rcode = pkt[3] & 0x0F;
	return 0;
bad:
	out->n = 0;
	return -1;
}
