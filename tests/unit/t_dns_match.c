/*
 * t_dns_match — the acceptance filter: one reference reply, then one variant per way a
 * forgery can differ from it; each must be dropped for its own reason, and only the exact
 * answer accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "dns/dns_int.h"
#include "tap.h"

static const uint8_t CC[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t SC[16] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};

struct variant {
	const char *what;
	void (*mutate)(struct dns_msg *);
	int expect; /* -1 accept, else enum dns_drop */
};

static void
m_none(struct dns_msg *m)
{
	(void)m;
}
static void
m_id(struct dns_msg *m)
{
	m->id ^= 0x0100;
}
static void
m_qr(struct dns_msg *m)
{
	m->flags &= (uint16_t)~DNS_F_QR;
}
static void
m_opcode(struct dns_msg *m)
{
	m->flags |= 0x2000;
} /* STATUS */
static void
m_noq(struct dns_msg *m)
{
	m->qdcount = 0;
}
static void
m_qname(struct dns_msg *m)
{
	dns_name_from_str(&m->qname, "wWw.Other.test");
}
static void
m_qcase(struct dns_msg *m)
{
	dns_name_from_str(&m->qname, "www.example.test");
}
static void
m_qtype(struct dns_msg *m)
{
	m->qtype = DNS_T_AAAA;
}
static void
m_qclass(struct dns_msg *m)
{
	m->qclass = 3;
}
static void
m_ccookie(struct dns_msg *m)
{
	m->edns.ccookie[0] ^= 0xff;
}
static void
m_nocookie(struct dns_msg *m)
{
	m->edns.has_cookie = false;
}
static void
m_noscookie(struct dns_msg *m)
{
	m->edns.scookie_len = 0;
}

static const struct variant variants[] = {
    {"the exact answer", m_none, -1},
    {"wrong ID (CVE-2010-1690)", m_id, DNS_DROP_ID},
    {"QR=0", m_qr, DNS_DROP_QR},
    {"opcode STATUS", m_opcode, DNS_DROP_OPCODE},
    {"no question", m_noq, DNS_DROP_QDCOUNT},
    {"another question", m_qname, DNS_DROP_QNAME},
    {"question in other case (0x20)", m_qcase, DNS_DROP_QCASE},
    {"another qtype", m_qtype, DNS_DROP_QTYPE},
    {"another qclass", m_qclass, DNS_DROP_QCLASS},
    {"wrong client cookie", m_ccookie, DNS_DROP_COOKIE},
    {"no cookie from a cookie server", m_nocookie, DNS_DROP_COOKIE},
    {"client cookie only from a cookie server", m_noscookie, DNS_DROP_COOKIE},
};

static size_t
build(uint8_t *buf, size_t cap, void (*mutate)(struct dns_msg *))
{
	struct dns_msg m;
	struct dns_rr rr[2];

	memset(&m, 0, sizeof(m));
	memset(rr, 0, sizeof(rr));
	m.id = 0x1234;
	m.flags = DNS_F_QR | DNS_F_RD | DNS_F_RA;
	m.qdcount = 1;
	dns_name_from_str(&m.qname, "wWw.ExAmple.tEst");
	m.qtype = DNS_T_A;
	m.qclass = DNS_C_IN;
	dns_name_from_str(&rr[0].owner, "www.example.test");
	rr[0].type = DNS_T_A;
	rr[0].class = DNS_C_IN;
	rr[0].ttl = 300;
	rr[0].section = DNS_S_AN;
	memcpy(rr[0].u.a, "\xc0\x00\x02\x01", 4);
	m.rr = rr;
	m.nrr = 1;
	m.edns.present = true;
	m.edns.udp_size = 1232;
	m.edns.has_cookie = true;
	memcpy(m.edns.ccookie, CC, 8);
	memcpy(m.edns.scookie, SC, 16);
	m.edns.scookie_len = 16;
	mutate(&m);
	return dns_msg_write(buf, cap, &m);
}

static void
want_init(struct dns_want *w, struct dns_name *sent)
{
	memset(w, 0, sizeof(*w));
	dns_name_from_str(sent, "wWw.ExAmple.tEst");
	w->id = 0x1234;
	w->qname = sent;
	w->qtype = DNS_T_A;
	w->qclass = DNS_C_IN;
	w->case_exact = true;
	w->ccookie = CC;
	w->need_scookie = true;
}

int
main(void)
{
	uint8_t buf[1024];
	struct dns_want w;
	struct dns_name sent;
	struct dns_msg m;
	enum dns_drop why;
	size_t n;
	bool acc;

	want_init(&w, &sent);
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		n = build(buf, sizeof(buf), variants[i].mutate);
		ok(n > 0, "built: %s", variants[i].what);
		why = DNS_DROP_NMAX;
		acc = dns_match(buf, n, &w, &m, &why);
		if (variants[i].expect == -1) {
			ok(acc, "accepted: %s", variants[i].what);
			is_int(m.nrr, 1, "accepted reply carries its record");
			/* No copy: the msg borrows the packet, its rdata points into it. */
			ok(m.wire == buf && m.wire_len == n && m.wire_copy == NULL &&
				m.rr[0].rdata >= buf && m.rr[0].rdata + 4 <= buf + n,
			    "accepted msg borrows the packet");
		} else {
			ok(!acc, "dropped: %s", variants[i].what);
			is_str(dns_drop_str(why), dns_drop_str(variants[i].expect),
			    "drop reason for %s", variants[i].what);
			ok(m.wire == NULL && m.rr == NULL && m.nrr == 0, "dropped: msg left empty");
		}
		dns_msg_clear(&m);
	}

	/* Short and truncated packets. */
	n = build(buf, sizeof(buf), m_none);
	ok(!dns_match(buf, 11, &w, &m, &why) && why == DNS_DROP_SHORT, "11 bytes: short");
	ok(!dns_match(buf, n - 3, &w, &m, &why) && why == DNS_DROP_MALFORMED,
	    "truncated body: malformed");
	buf[n] = 0;
	ok(!dns_match(buf, n + 1, &w, &m, &why) && why == DNS_DROP_MALFORMED,
	    "trailing byte: malformed");

	/* A server found not to preserve case: folded comparison, still the same name. */
	w.case_exact = false;
	n = build(buf, sizeof(buf), m_qcase);
	ok(dns_match(buf, n, &w, &m, &why), "case folded when the server lacks 0x20");
	dns_msg_clear(&m);
	n = build(buf, sizeof(buf), m_qname);
	ok(!dns_match(buf, n, &w, &m, &why) && why == DNS_DROP_QNAME,
	    "another name is still refused with case folding");

	/* Before the server has shown cookies, a reply without one is fine. */
	w.case_exact = true;
	w.need_scookie = false;
	n = build(buf, sizeof(buf), m_nocookie);
	ok(dns_match(buf, n, &w, &m, &why), "no cookie accepted before the server showed one");
	dns_msg_clear(&m);
	n = build(buf, sizeof(buf), m_ccookie);
	ok(!dns_match(buf, n, &w, &m, &why) && why == DNS_DROP_COOKIE,
	    "a wrong client cookie is refused even then");
	n = build(buf, sizeof(buf), m_noscookie);
	ok(!dns_match(buf, n, &w, &m, &why) && why == DNS_DROP_COOKIE,
	    "RFC 7873 §5.3: a response COOKIE without a server cookie is refused even then");
	return done_testing();
}
