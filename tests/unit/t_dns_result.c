/*
 * t_dns_result — scrubbing: only answer records on the question's CNAME chain are used;
 * additional and authority data never are; loops and long chains are refused; rcodes are
 * classified; negative TTLs follow RFC 2308 §5.
 */
#include <string.h>

#include "dns/dns_int.h"
#include "tap.h"

static struct dns_rr rrs[16];
static size_t nrrs;

static void
add(enum dns_section s, const char *owner, uint16_t type, uint32_t ttl, const char *target,
    const char *addr)
{
	struct dns_rr *rr = &rrs[nrrs++];

	memset(rr, 0, sizeof(*rr));
	dns_name_from_str(&rr->owner, owner);
	rr->type = type;
	rr->class = DNS_C_IN;
	rr->ttl = ttl;
	rr->section = (uint8_t)s;
	if (type == DNS_T_CNAME)
		dns_name_from_str(&rr->u.name, target);
	else if (type == DNS_T_NS)
		dns_name_from_str(&rr->u.name, "ns.test");
	else if (type == DNS_T_A)
		memcpy(rr->u.a, addr, 4);
	else if (type == DNS_T_SOA) {
		dns_name_from_str(&rr->u.soa.mname, "ns.test");
		dns_name_from_str(&rr->u.soa.rname, "host.test");
		rr->u.soa.minimum = 60;
	}
}

/* Writes and re-parses, so the records are exactly what the wire would carry. */
static int
result(uint16_t rcode, const char *q, struct dns_result *r, uint64_t *ign)
{
	struct dns_msg m, p;
	struct dns_conf c;
	uint8_t buf[4096];
	size_t n;
	const char *why;
	int rc;

	memset(&m, 0, sizeof(m));
	m.flags = DNS_F_QR;
	m.rcode = rcode;
	m.qdcount = 1;
	dns_name_from_str(&m.qname, q);
	m.qtype = DNS_T_A;
	m.qclass = DNS_C_IN;
	m.rr = rrs;
	m.nrr = nrrs;
	n = dns_msg_write(buf, sizeof(buf), &m);
	if (n == 0 || dns_msg_parse(&p, buf, n, &why) == -1)
		return -1;
	dns_conf_init(&c);
	rc = dns_result_from_msg(r, &p, &m.qname, DNS_T_A, &c, ign);
	dns_msg_clear(&p);
	nrrs = 0;
	return rc;
}

int
main(void)
{
	struct dns_result r;
	uint64_t ign = 0;
	char s[DNS_NAME_STRLEN];

	/* A chain with poison beside it. */
	add(DNS_S_AN, "a.test", DNS_T_CNAME, 300, "b.test", NULL);
	add(DNS_S_AN, "evil.test", DNS_T_A, 300, NULL, "\x0a\x00\x00\x66");
	add(DNS_S_AN, "b.test", DNS_T_A, 120, NULL, "\xc0\x00\x02\x01");
	add(DNS_S_NS, "b.test", DNS_T_A, 300, NULL, "\x0a\x00\x00\x67");
	add(DNS_S_AR, "www.victim.test", DNS_T_A, 300, NULL, "\x0a\x00\x00\x68");
	ok(result(DNS_R_NOERROR, "a.test", &r, &ign) == 0, "chain parsed");
	is_int(r.status, DNS_OK, "chain: OK");
	is_int(r.nrr, 2, "chain: CNAME + A used, nothing else");
	is_int(r.rr[1].u.a[3], 1, "chain: the A is the chain's, not evil's");
	dns_name_to_str(&r.final, s, sizeof(s));
	is_str(s, "b.test.", "chain: final name");
	is_int(r.ttl, 120, "chain: smallest TTL");
	is_int(ign, 3, "chain: 3 records ignored (off-chain answer, authority, additional)");
	dns_result_clear(&r);

	/* Loop. */
	add(DNS_S_AN, "a.test", DNS_T_CNAME, 300, "b.test", NULL);
	add(DNS_S_AN, "b.test", DNS_T_CNAME, 300, "a.test", NULL);
	result(DNS_R_NOERROR, "a.test", &r, &ign);
	is_int(r.status, DNS_RETRY, "CNAME loop: RETRY");
	is_str(r.why, "CNAME loop", "CNAME loop: reason");
	dns_result_clear(&r);

	/* Too long: 9 links. */
	for (int i = 0; i < 9; i++) {
		char o[16], t[16];

		snprintf(o, sizeof(o), "c%d.test", i);
		snprintf(t, sizeof(t), "c%d.test", i + 1);
		add(DNS_S_AN, o, DNS_T_CNAME, 300, t, NULL);
	}
	add(DNS_S_AN, "c9.test", DNS_T_A, 300, NULL, "\xc0\x00\x02\x01");
	result(DNS_R_NOERROR, "c0.test", &r, &ign);
	is_int(r.status, DNS_RETRY, "9-link chain: RETRY");
	dns_result_clear(&r);

	/* NXDOMAIN, NODATA with SOA, SERVFAIL, REFUSED. */
	add(DNS_S_NS, "test", DNS_T_SOA, 900, NULL, NULL);
	result(DNS_R_NXDOMAIN, "nx.test", &r, &ign);
	is_int(r.status, DNS_NXDOMAIN, "NXDOMAIN");
	is_int(r.ttl, 60, "NXDOMAIN: TTL = min(SOA TTL, MINIMUM)");
	dns_result_clear(&r);
	add(DNS_S_NS, "test", DNS_T_SOA, 30, NULL, NULL);
	result(DNS_R_NOERROR, "nodata.test", &r, &ign);
	is_int(r.status, DNS_NODATA, "NODATA");
	is_int(r.ttl, 30, "NODATA: TTL = min(SOA TTL, MINIMUM)");
	dns_result_clear(&r);
	result(DNS_R_NOERROR, "nodata.test", &r, &ign);
	is_int(r.ttl, 0, "NODATA without SOA: not cacheable");
	dns_result_clear(&r);
	result(DNS_R_SERVFAIL, "x.test", &r, &ign);
	is_int(r.status, DNS_RETRY, "SERVFAIL: RETRY");
	dns_result_clear(&r);
	result(DNS_R_REFUSED, "x.test", &r, &ign);
	is_int(r.status, DNS_RETRY, "REFUSED: RETRY");
	is_str(r.why, "REFUSED", "REFUSED: reason");
	dns_result_clear(&r);

	/* An answer only for another name is NODATA for ours, never used. */
	add(DNS_S_AN, "other.test", DNS_T_A, 300, NULL, "\x0a\x00\x00\x66");
	result(DNS_R_NOERROR, "mine.test", &r, &ign);
	is_int(r.status, DNS_NODATA, "answer for another name only: NODATA");
	is_int(r.nrr, 0, "... and nothing used");
	dns_result_clear(&r);

	/* RFC 2308 §2.2: no SOA but NS in authority is a referral, never NODATA. */
	add(DNS_S_NS, "test", DNS_T_NS, 300, NULL, NULL);
	result(DNS_R_NOERROR, "mx.test", &r, &ign);
	is_int(r.status, DNS_RETRY, "referral (NS, no SOA): RETRY, not NODATA");
	dns_result_clear(&r);

	/* RFC 2181 §8: a TTL with the top bit set counts as 0. */
	add(DNS_S_AN, "big.test", DNS_T_A, 0x80000000u, NULL, "\xc0\x00\x02\x09");
	result(DNS_R_NOERROR, "big.test", &r, &ign);
	is_int(r.ttl, 0, "TTL 2^31 taken as 0");
	dns_result_clear(&r);

	/* Copy is deep. */
	add(DNS_S_AN, "a.test", DNS_T_A, 300, NULL, "\xc0\x00\x02\x07");
	result(DNS_R_NOERROR, "a.test", &r, &ign);
	{
		struct dns_result c;

		ok(dns_result_copy(&c, &r) == 0, "copy");
		dns_result_clear(&r);
		is_int(c.rr[0].u.a[3], 7, "copy survives the original");
		ok(c.rr[0].rdata == c.rdata, "copy's rdata points into its own storage");
		dns_result_clear(&c);
	}
	return done_testing();
}
