/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for the validator's DNS message reader (va/dnsmsg.c): real
 * answers built byte by byte (A, AAAA, CAA, TXT with several strings, a
 * CNAME chain, NXDOMAIN), malformed names (compression loops, forward
 * pointers, names over 255 bytes), and every truncation and many
 * single-byte changes of each good packet, read from buffers of exactly
 * their length so that ASan sees any read past the end.
 */
#include <stdlib.h>
#include <string.h>

#include "va/dnsmsg.h"

#include "../helpers.h"

#define RCODE_NOERROR 0

struct pkt {
	unsigned char b[1024];
	size_t n;
};

static void
put(struct pkt *p, const void *d, size_t n)
{
	assert_true(p->n + n <= sizeof(p->b));
	memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
put16(struct pkt *p, unsigned int v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };

	put(p, b, 2);
}

/* A name in wire form given as a string with its length bytes. */
static void
putname(struct pkt *p, const char *wire)
{
	put(p, wire, strlen(wire) + 1);
}

/* A compression pointer to offset off. */
static void
putptr(struct pkt *p, size_t off)
{
	put16(p, 0xC000u | (unsigned int)off);
}

/* Header (response, RD RA) and the question qname/qtype IN. */
static void
begin(struct pkt *p, int rcode, unsigned int ancount, const char *qname,
    int qtype)
{
	p->n = 0;
	put16(p, 0x1234);
	put16(p, 0x8180u | (unsigned int)rcode);
	put16(p, 1);
	put16(p, ancount);
	put16(p, 0);
	put16(p, 0);
	putname(p, qname);
	put16(p, (unsigned int)qtype);
	put16(p, DNSMSG_CLASS_IN);
}

/* Type, class IN, TTL 300 and rdata after an owner name already put. */
static void
putrr(struct pkt *p, int type, const void *rdata, size_t rdlen)
{
	put16(p, (unsigned int)type);
	put16(p, DNSMSG_CLASS_IN);
	put16(p, 0);
	put16(p, 300);
	put16(p, (unsigned int)rdlen);
	put(p, rdata, rdlen);
}

/* Parses pkt from a heap copy of exactly len bytes. */
static int
parse_exact(const unsigned char *pkt, size_t len, int qtype,
    struct dnsmsg_answer *a)
{
	unsigned char *copy = malloc(len > 0 ? len : 1);
	size_t i;
	int rc;

	assert_non_null(copy);
	memcpy(copy, pkt, len);
	rc = dnsmsg_answer_parse(copy, len, qtype, a);
	if (rc == 0)
		for (i = 0; i < a->n; i++)
			assert_true(a->rr[i].off <= len &&
				    a->rr[i].len <= len - a->rr[i].off);
	else
		assert_int_equal(a->n, 0);
	free(copy);
	return rc;
}

static const unsigned char *
rdata(const struct pkt *p, const struct dnsmsg_answer *a, size_t i)
{
	return p->b + a->rr[i].off;
}

/* example.com A: two addresses, one record of another owner. */
static void
build_a(struct pkt *p)
{
	static const unsigned char a1[4] = { 192, 0, 2, 1 };
	static const unsigned char a2[4] = { 192, 0, 2, 2 };
	static const unsigned char a3[4] = { 198, 51, 100, 7 };

	begin(p, RCODE_NOERROR, 3, "\7example\3com", DNSMSG_TYPE_A);
	putptr(p, 12);
	putrr(p, DNSMSG_TYPE_A, a1, 4);
	putname(p, "\5other\3com");
	putrr(p, DNSMSG_TYPE_A, a3, 4);
	putname(p, "\7EXAMPLE\3Com"); /* owners compare without case */
	putrr(p, DNSMSG_TYPE_A, a2, 4);
}

static void
build_aaaa(struct pkt *p)
{
	static const unsigned char a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 1 };

	begin(p, RCODE_NOERROR, 1, "\3www\7example\3com", DNSMSG_TYPE_AAAA);
	putptr(p, 12);
	putrr(p, DNSMSG_TYPE_AAAA, a, 16);
}

/* 0 issue "anvil.test" and 128 tbs "x". */
static void
build_caa(struct pkt *p)
{
	static const char issue[] = "\0\5issueanvil.test";
	static const char tbs[] = "\x80\3tbsx";

	begin(p, RCODE_NOERROR, 2, "\7example\3org", DNSMSG_TYPE_CAA);
	putptr(p, 12);
	putrr(p, DNSMSG_TYPE_CAA, issue, sizeof(issue) - 1);
	putptr(p, 12);
	putrr(p, DNSMSG_TYPE_CAA, tbs, sizeof(tbs) - 1);
}

/* One TXT record of three character-strings, one of them empty. */
static const char txt_rdata[] = "\5hello\0\5world";

static void
build_txt(struct pkt *p)
{
	begin(p, RCODE_NOERROR, 1, "\17_acme-challenge\7example\3com",
	    DNSMSG_TYPE_TXT);
	putptr(p, 12);
	putrr(p, DNSMSG_TYPE_TXT, txt_rdata, sizeof(txt_rdata) - 1);
}

/*
 * www.example.com A -> CNAME web.example.net -> CNAME EDGE.CDN.EXAMPLE
 * -> A 203.0.113.9.  The second CNAME's owner points into the first
 * one's rdata, the A record's owner into the second one's (and is spelt
 * in other case); an A record at an alias already left is not part of
 * the answer.
 */
static void
build_chain(struct pkt *p)
{
	static const unsigned char addr[4] = { 203, 0, 113, 9 };
	static const unsigned char stale[4] = { 192, 0, 2, 99 };
	size_t web, edge;

	begin(p, RCODE_NOERROR, 4, "\3www\7example\3com", DNSMSG_TYPE_A);
	putptr(p, 12);
	web = p->n + 10; /* where this record's rdata begins */
	putrr(p, DNSMSG_TYPE_CNAME, "\3web\7example\3net", 17);
	putptr(p, web);
	edge = p->n + 10;
	putrr(p, DNSMSG_TYPE_CNAME, "\4EDGE\3CDN\7EXAMPLE", 18);
	putptr(p, 12);
	putrr(p, DNSMSG_TYPE_A, stale, 4);
	putptr(p, edge);
	putrr(p, DNSMSG_TYPE_A, addr, 4);
}

static void
build_nxdomain(struct pkt *p)
{
	begin(p, DNSMSG_RCODE_NXDOMAIN, 0, "\7missing\7example\3com",
	    DNSMSG_TYPE_CAA);
}

typedef void (*builder)(struct pkt *);

/* Builds a packet into p and reads it into a, expecting n records. */
static void
parsed(builder build, int qtype, struct pkt *p, struct dnsmsg_answer *a,
    size_t n)
{
	build(p);
	assert_int_equal(parse_exact(p->b, p->n, qtype, a), 0);
	assert_int_equal(a->n, n);
}

static void
dnsmsg__a_records_of_the_question_name(void **state)
{
	struct dnsmsg_answer a;
	struct pkt p;

	(void)state;
	parsed(build_a, DNSMSG_TYPE_A, &p, &a, 2);
	assert_int_equal(a.rcode, RCODE_NOERROR);
	assert_int_equal(a.rr[0].len, 4);
	assert_memory_equal(rdata(&p, &a, 0), "\xc0\x00\x02\x01", 4);
	assert_memory_equal(rdata(&p, &a, 1), "\xc0\x00\x02\x02", 4);
	/* Asked for AAAA, the same packet has nothing. */
	assert_int_equal(parse_exact(p.b, p.n, DNSMSG_TYPE_AAAA, &a), 0);
	assert_int_equal(a.n, 0);
}

static void
dnsmsg__aaaa_record(void **state)
{
	struct dnsmsg_answer a;
	struct pkt p;

	(void)state;
	parsed(build_aaaa, DNSMSG_TYPE_AAAA, &p, &a, 1);
	assert_int_equal(a.rr[0].len, 16);
	assert_memory_equal(rdata(&p, &a, 0),
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
}

static void
dnsmsg__caa_records(void **state)
{
	struct dnsmsg_answer a;
	struct pkt p;

	(void)state;
	parsed(build_caa, DNSMSG_TYPE_CAA, &p, &a, 2);
	assert_int_equal(a.rr[0].len, 17);
	assert_memory_equal(rdata(&p, &a, 0), "\0\5issueanvil.test", 17);
	assert_int_equal(rdata(&p, &a, 1)[0], 0x80);
	assert_memory_equal(rdata(&p, &a, 1) + 1, "\3tbsx", 5);
}

static void
dnsmsg__txt_with_several_strings_kept_whole(void **state)
{
	struct dnsmsg_answer a;
	struct pkt p;

	(void)state;
	parsed(build_txt, DNSMSG_TYPE_TXT, &p, &a, 1);
	assert_int_equal(a.rr[0].len, sizeof(txt_rdata) - 1);
	assert_memory_equal(rdata(&p, &a, 0), txt_rdata, sizeof(txt_rdata) - 1);
}

static void
dnsmsg__cname_chain_followed_to_its_end(void **state)
{
	struct dnsmsg_answer a;
	struct pkt p;

	(void)state;
	parsed(build_chain, DNSMSG_TYPE_A, &p, &a, 1);
	assert_memory_equal(rdata(&p, &a, 0), "\xcb\x00\x71\x09", 4);
	/* Asking for the CNAME itself gives the first alias's record. */
	assert_int_equal(parse_exact(p.b, p.n, DNSMSG_TYPE_CNAME, &a), 0);
	assert_int_equal(a.n, 1);
	assert_memory_equal(rdata(&p, &a, 0), "\3web\7example\3net", 17);
}

static void
dnsmsg__nxdomain_reported(void **state)
{
	struct dnsmsg_answer a;
	struct pkt p;

	(void)state;
	parsed(build_nxdomain, DNSMSG_TYPE_CAA, &p, &a, 0);
	assert_int_equal(a.rcode, DNSMSG_RCODE_NXDOMAIN);
}

static void
dnsmsg__question_count_and_class_checked(void **state)
{
	struct dnsmsg_answer a;
	struct pkt p;

	(void)state;
	build_a(&p);
	p.b[5] = 0; /* QDCOUNT 0 */
	assert_int_equal(parse_exact(p.b, p.n, DNSMSG_TYPE_A, &a), -1);
	p.b[5] = 2;
	assert_int_equal(parse_exact(p.b, p.n, DNSMSG_TYPE_A, &a), -1);
	build_a(&p);
	p.b[12 + 13 + 3] = 3; /* QCLASS CH */
	assert_int_equal(parse_exact(p.b, p.n, DNSMSG_TYPE_A, &a), -1);
}

static void
dnsmsg__cname_target_must_fit_its_rdata(void **state)
{
	static const unsigned char addr[4] = { 192, 0, 2, 1 };
	struct dnsmsg_answer a;
	struct pkt p;

	(void)state;
	begin(&p, RCODE_NOERROR, 2, "\1a\4test", DNSMSG_TYPE_A);
	putptr(&p, 12);
	/* RDLENGTH 3 for a 6-byte name: the name runs into the next RR. */
	putrr(&p, DNSMSG_TYPE_CNAME, "\1b\4", 3);
	put(&p, "test", 5);
	putrr(&p, DNSMSG_TYPE_A, addr, 4);
	assert_int_equal(parse_exact(p.b, p.n, DNSMSG_TYPE_A, &a), -1);
}

/* Reads a name at pos from exactly len bytes; returns its length. */
static int
name_at(const unsigned char *buf, size_t len, size_t pos)
{
	unsigned char out[DNSMSG_NAME_MAX];
	unsigned char *copy = malloc(len);
	int rc;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	rc = dnsmsg_name_read(copy, len, &pos, out);
	free(copy);
	return rc;
}

static void
dnsmsg__compression_loops_rejected(void **state)
{
	/* A pointer to itself. */
	static const unsigned char self[] = { 0xC0, 0x00 };
	/* A pointer forward. */
	static const unsigned char fwd[] = { 0xC0, 0x02, 0x00 };
	/* Each pointer leads back from where it stands, yet they loop:
	 * 0: "a" then (2) -> 0.  Reading at 2 jumps to 0, reads "a" and
	 * meets the same pointer again. */
	static const unsigned char back[] = { 0x01, 'a', 0xC0, 0x00 };
	/* Two names pointing at each other: 0: "a" -> 4; 4: "b" -> 0. */
	static const unsigned char pair[] = { 0x01, 'a', 0xC0, 0x04, 0x01, 'b',
		0xC0, 0x00 };
	/* A good chain of backward pointers: 4: "b" -> 0: "a" -> root. */
	static const unsigned char good[] = { 0x01, 'a', 0x00, 0x00, 0x01, 'b',
		0xC0, 0x00 };
	/* Label types 01 and 10 (0x40, 0x80) do not exist. */
	static const unsigned char ext[] = { 0x41, 'a', 0x00 };
	unsigned char out[DNSMSG_NAME_MAX];
	size_t pos = 4;

	(void)state;
	assert_int_equal(name_at(self, sizeof(self), 0), -1);
	assert_int_equal(name_at(fwd, sizeof(fwd), 0), -1);
	assert_int_equal(name_at(back, sizeof(back), 2), -1);
	assert_int_equal(name_at(back, sizeof(back), 0), -1);
	assert_int_equal(name_at(pair, sizeof(pair), 0), -1);
	assert_int_equal(name_at(pair, sizeof(pair), 4), -1);
	assert_int_equal(name_at(ext, sizeof(ext), 0), -1);
	assert_int_equal(dnsmsg_name_read(good, sizeof(good), &pos, out), 5);
	assert_memory_equal(out, "\1b\1a", 5);
	assert_int_equal(pos, sizeof(good)); /* past the pointer only */
}

static void
dnsmsg__names_over_255_bytes_rejected(void **state)
{
	unsigned char buf[300];
	size_t i;

	(void)state;
	/* 127 labels "a": 254 bytes with the root, the longest allowed. */
	for (i = 0; i < 127; i++) {
		buf[2 * i] = 1;
		buf[2 * i + 1] = 'a';
	}
	buf[254] = 0;
	assert_int_equal(name_at(buf, 255, 0), 255);
	/* One label more: 257 bytes. */
	buf[254] = 1;
	buf[255] = 'a';
	buf[256] = 0;
	assert_int_equal(name_at(buf, 257, 0), -1);
}

static const struct {
	builder build;
	int qtype;
} good_packets[] = {
	{ build_a, DNSMSG_TYPE_A },
	{ build_aaaa, DNSMSG_TYPE_AAAA },
	{ build_caa, DNSMSG_TYPE_CAA },
	{ build_txt, DNSMSG_TYPE_TXT },
	{ build_chain, DNSMSG_TYPE_A },
	{ build_nxdomain, DNSMSG_TYPE_CAA },
};

static void
dnsmsg__every_truncation_is_safe(void **state)
{
	struct dnsmsg_answer a;
	struct pkt p;
	size_t k, len;

	(void)state;
	for (k = 0; k < sizeof(good_packets) / sizeof(good_packets[0]); k++) {
		good_packets[k].build(&p);
		/* Every good packet ends with its last record, so any
		 * shorter one is malformed. */
		for (len = 0; len < p.n; len++)
			assert_int_equal(parse_exact(p.b, len,
					     good_packets[k].qtype, &a),
			    -1);
		assert_int_equal(parse_exact(p.b, p.n, good_packets[k].qtype,
				     &a),
		    0);
	}
}

static void
dnsmsg__single_byte_changes_are_safe(void **state)
{
	static const unsigned char values[] = { 0x00, 0x01, 0x3F, 0x40, 0x80,
		0xC0, 0xC0 | 0x3F, 0xFF };
	struct dnsmsg_answer a;
	struct pkt p, q;
	size_t k, i, v;
	int qtypes[3];

	(void)state;
	for (k = 0; k < sizeof(good_packets) / sizeof(good_packets[0]); k++) {
		good_packets[k].build(&p);
		qtypes[0] = good_packets[k].qtype;
		qtypes[1] = DNSMSG_TYPE_CNAME;
		qtypes[2] = DNSMSG_TYPE_TXT;
		for (i = 0; i < p.n; i++)
			for (v = 0; v < sizeof(values) + 1; v++) {
				q = p;
				q.b[i] = v < sizeof(values) ?
					     values[v] :
					     (unsigned char)~p.b[i];
				/* Only safety is asserted: any outcome is
				 * fine as long as records lie inside. */
				parse_exact(q.b, q.n, qtypes[v % 3], &a);
			}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dnsmsg__a_records_of_the_question_name),
		cmocka_unit_test(dnsmsg__aaaa_record),
		cmocka_unit_test(dnsmsg__caa_records),
		cmocka_unit_test(dnsmsg__txt_with_several_strings_kept_whole),
		cmocka_unit_test(dnsmsg__cname_chain_followed_to_its_end),
		cmocka_unit_test(dnsmsg__nxdomain_reported),
		cmocka_unit_test(dnsmsg__question_count_and_class_checked),
		cmocka_unit_test(dnsmsg__cname_target_must_fit_its_rdata),
		cmocka_unit_test(dnsmsg__compression_loops_rejected),
		cmocka_unit_test(dnsmsg__names_over_255_bytes_rejected),
		cmocka_unit_test(dnsmsg__every_truncation_is_safe),
		cmocka_unit_test(dnsmsg__single_byte_changes_are_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
