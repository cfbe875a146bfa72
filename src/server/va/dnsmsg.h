/* SPDX-License-Identifier: ISC */
/*
 * A small DNS message reader (RFC 1035 4.1) for the answers libunbound
 * hands to ub_resolve_event's callback: the header's RCODE and the rdata
 * of the records that answer the question, found by following the CNAME
 * chain from the question name through the answer section.  Nothing is
 * copied: the rdata are offsets into the caller's packet.
 */
#ifndef ANVIL_VA_DNSMSG_H
#define ANVIL_VA_DNSMSG_H

#include <stddef.h>

/* Records of one answer kept; any further ones are ignored. */
#define DNSMSG_MAX_RR 128
/* Longest name in wire form, root label included (RFC 1035 2.3.4). */
#define DNSMSG_NAME_MAX 255

#define DNSMSG_TYPE_A     1
#define DNSMSG_TYPE_CNAME 5
#define DNSMSG_TYPE_TXT   16
#define DNSMSG_TYPE_AAAA  28
#define DNSMSG_TYPE_CAA   257
#define DNSMSG_CLASS_IN   1

#define DNSMSG_RCODE_SERVFAIL 2
#define DNSMSG_RCODE_NXDOMAIN 3

struct dnsmsg_rdata {
	size_t off; /* bytes from the packet's start */
	size_t len; /* bytes */
};

struct dnsmsg_answer {
	int rcode; /* the header's 4-bit RCODE */
	size_t n;  /* entries used in rr */
	struct dnsmsg_rdata rr[DNSMSG_MAX_RR];
};

/*
 * Reads the message pkt (len bytes), which must hold exactly one
 * question of class IN.  Fills out with the RCODE and the rdata of the
 * answer records of type qtype owned by the question name or, through
 * the CNAME records of the answer section taken in order, by the chain's
 * target (as libunbound's own result does).  Returns 0, or -1 for a
 * malformed message: short, a name or record running past the end, a
 * compression pointer that does not point strictly before the last one
 * followed (which also rules out loops), a name over 255 bytes.
 */
int dnsmsg_answer_parse(const unsigned char *pkt, size_t len, int qtype,
    struct dnsmsg_answer *out);

/*
 * Reads the possibly compressed name at *pos of pkt into out (wire form,
 * lower case, DNSMSG_NAME_MAX bytes at most) and advances *pos past the
 * name's bytes at that position.  Returns the name's length or -1.
 */
int dnsmsg_name_read(const unsigned char *pkt, size_t len, size_t *pos,
    unsigned char out[DNSMSG_NAME_MAX]);

#endif
