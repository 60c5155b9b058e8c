/*
 * fuzz_dns_msg — libFuzzer target for the DNS wire parser and name code.
 *
 * Any input: dns_name_read() from the first offsets must either fail or give a name whose
 * presentation form reads back to the same wire bytes. dns_msg_parse() must either fail
 * with a reason and an empty msg, or succeed; then the message is formatted in full,
 * written back (uncompressed) with dns_msg_write(), parsed again, and the two parses
 * must agree field for field, and writing the second gives the same bytes as the first.
 * dns_msg_parse_borrow() (no copy) must agree with dns_msg_parse() on every input: the
 * same verdict, the same reason, the same message.
 * Any disagreement abort()s so libFuzzer (or the replay main) reports it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Uncompressed output can be much larger than the input: 1024 records of long names. */
#define OUT_MAX (1u << 20)

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_dns_msg: %s\n", what);
		abort();
	}
}

static void
name_roundtrip(const struct dns_name *n)
{
	char s[DNS_NAME_STRLEN];
	struct dns_name back, lc, mixed;
	size_t len;

	len = dns_name_to_str(n, s, sizeof(s));
	check(len < sizeof(s), "name string too long");
	check(dns_name_from_str(&back, s) == 0, "name string does not parse back");
	check(dns_name_eq_exact(&back, n), "name string round trip differs");
	check(dns_name_under(n, n), "name not under itself");
	lc = *n;
	dns_name_lower(&lc);
	mixed = *n;
	dns_name_0x20(&mixed);
	check(dns_name_eq(&lc, n) && dns_name_eq(&mixed, n), "case folding");
	check(dns_name_labels(n) >= 0 && dns_name_labels(n) <= 127, "label count");
}

static void
names(const uint8_t *data, size_t size)
{
	struct buf_rd b;
	struct dns_name n;
	size_t off;

	for (off = 0; off < size && off < 64; off++) {
		buf_rd_init(&b, data, size);
		buf_seek(&b, off);
		if (dns_name_read(&b, &n) == 0) {
			check(n.len >= 1 && b.off > off && b.off <= size, "name cursor");
			name_roundtrip(&n);
		} else {
			check(!buf_rd_ok(&b), "failed read left cursor ok");
		}
	}
}

static void
format(const struct dns_msg *m, char (*out)[2048], size_t max)
{
	char s[DNS_NAME_STRLEN];
	size_t i;

	if (m->qdcount == 1)
		name_roundtrip(&m->qname);
	for (i = 0; i < m->nrr; i++) {
		dns_name_to_str(&m->rr[i].owner, s, sizeof(s));
		name_roundtrip(&m->rr[i].owner);
		dns_rdata_str(&m->rr[i], out[i < max ? i : max - 1], sizeof(out[0]));
		(void)dns_type_str(m->rr[i].type);
	}
	(void)dns_rcode_str(m->rcode);
}

static void
same(const struct dns_msg *a, const struct dns_msg *b)
{
	static char sa[DNS_RR_MAX][2048], sb[DNS_RR_MAX][2048];
	size_t i;

	check(a->id == b->id && a->flags == b->flags && a->rcode == b->rcode, "header");
	check(a->qdcount == b->qdcount && a->ancount == b->ancount && a->nscount == b->nscount &&
		a->arcount == b->arcount,
	    "counts");
	if (a->qdcount == 1)
		check(dns_name_eq_exact(&a->qname, &b->qname) && a->qtype == b->qtype &&
			a->qclass == b->qclass,
		    "question");
	check(a->nrr == b->nrr, "record count");
	format(a, sa, DNS_RR_MAX);
	format(b, sb, DNS_RR_MAX);
	for (i = 0; i < a->nrr; i++) {
		check(dns_name_eq_exact(&a->rr[i].owner, &b->rr[i].owner), "owner");
		check(a->rr[i].type == b->rr[i].type && a->rr[i].class == b->rr[i].class &&
			a->rr[i].ttl == b->rr[i].ttl && a->rr[i].section == b->rr[i].section,
		    "rr fields");
		check(strcmp(sa[i], sb[i]) == 0, "rdata text");
	}
	check(a->edns.present == b->edns.present && a->edns.udp_size == b->edns.udp_size &&
		a->edns.ext_rcode == b->edns.ext_rcode && a->edns.version == b->edns.version &&
		a->edns.do_bit == b->edns.do_bit && a->edns.has_cookie == b->edns.has_cookie &&
		a->edns.scookie_len == b->edns.scookie_len,
	    "edns");
	if (a->edns.has_cookie)
		check(memcmp(a->edns.ccookie, b->edns.ccookie, DNS_COOKIE_CLIENT) == 0 &&
			memcmp(a->edns.scookie, b->edns.scookie, a->edns.scookie_len) == 0,
		    "cookie");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out1[OUT_MAX], out2[OUT_MAX];
	static struct dns_msg m1, m2, m3;
	const char *why = NULL, *why3 = NULL;
	size_t len1, len2;
	int rc;

	names(data, size);
	rc = dns_msg_parse(&m1, data, size, &why);
	check(dns_msg_parse_borrow(&m3, data, size, &why3) == rc && why == why3,
	    "borrowing parse disagrees");
	if (rc != 0) {
		check(why != NULL, "failure without a reason");
		check(m1.wire == NULL && m1.rr == NULL && m1.nrr == 0, "failed msg not empty");
		check(m3.wire == NULL && m3.rr == NULL && m3.nrr == 0, "failed msg not empty");
		return 0;
	}
	check(why == NULL, "success with a reason");
	check(m3.wire == data, "borrowing parse copied");
	same(&m1, &m3);
	dns_msg_clear(&m3);
	len1 = dns_msg_write(out1, sizeof(out1), &m1);
	check(len1 >= DNS_HDR_LEN, "write failed");
	if (len1 > DNS_MSG_MAX) {
		/* Decompressed past the largest message: nothing to re-parse. */
		dns_msg_clear(&m1);
		return 0;
	}
	if (dns_msg_parse_borrow(&m2, out1, len1, &why) != 0) {
		fprintf(stderr, "re-parse: %s\n", why);
		abort();
	}
	same(&m1, &m2);
	len2 = dns_msg_write(out2, sizeof(out2), &m2);
	check(len1 == len2 && memcmp(out1, out2, len1) == 0, "second write differs");
	dns_msg_clear(&m1);
	dns_msg_clear(&m2);
	return 0;
}
