/*
 * t_dns_wire — dns_wire.c: byte-exact round trips for every RR type we decode and for
 * OPT/COOKIE, query building, a table of malformed packets each refused with its reason,
 * type/rcode names, and golden files (tests/data/dns/NAME.hex parsed and rendered must
 * equal NAME.txt; run from the repository root).
 *
 * Vectors are written in hex; spaces, newlines and '#' comments are ignored.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "tap.h"

#define MSG_BUF 4096

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex text to bytes; whitespace and '#' comments skipped. Returns length, or 0 on error. */
static size_t
unhex(uint8_t *out, size_t cap, const char *s)
{
	size_t n = 0;
	int hi = -1, v;

	for (; *s != '\0'; s++) {
		if (*s == '#') {
			while (*s != '\0' && *s != '\n')
				s++;
			if (*s == '\0')
				break;
			continue;
		}
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			continue;
		v = hexval(*s);
		if (v < 0 || n >= cap)
			return 0;
		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return hi < 0 ? n : 0;
}

/* mx.test. */
#define OWNER "02 6d78 04 74657374 00"
/* id 0x1234, QR RD RA, qd 0 an 1 ns 0 ar 0 */
#define HDR_AN1 "1234 8180 0000 0001 0000 0000"

/* One record of each kind: uncompressed in, the same bytes out. */
static const struct {
	const char *what;
	uint16_t type, class;
	const char *rdata;
	const char *text;
} rr_cases[] = {
    {"A", DNS_T_A, DNS_C_IN, "c0000201", "192.0.2.1"},
    {"AAAA", DNS_T_AAAA, DNS_C_IN, "20010db8 00000000 00000000 00000010", "2001:db8::10"},
    {"CNAME", DNS_T_CNAME, DNS_C_IN, "03777777 026d78 0474657374 00", "www.mx.test."},
    {"NS", DNS_T_NS, DNS_C_IN, "036e7331 026d78 0474657374 00", "ns1.mx.test."},
    {"PTR", DNS_T_PTR, DNS_C_IN, "046d61696c 026d78 0474657374 00", "mail.mx.test."},
    {"MX", DNS_T_MX, DNS_C_IN, "000a 036d7831 026d78 0474657374 00", "10 mx1.mx.test."},
    {"null MX", DNS_T_MX, DNS_C_IN, "0000 00", "0 ."},
    {"SOA", DNS_T_SOA, DNS_C_IN,
	"036e7331 026d78 0474657374 00 0a686f73746d6173746572 026d78 0474657374 00"
	"78a5cab5 00001c20 00000e10 00127500 0000012c",
	"ns1.mx.test. hostmaster.mx.test. 2024131253 7200 3600 1209600 300"},
    {"TXT", DNS_T_TXT, DNS_C_IN, "0b 763d73706631202d616c6c", "\"v=spf1 -all\""},
    {"TXT escapes", DNS_T_TXT, DNS_C_IN, "03616263 00 05 6122625c01",
	"\"abc\" \"\" \"a\\\"b\\\\\\001\""},
    {"TLSA", DNS_T_TLSA, DNS_C_IN,
	"030101 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	"3 1 1 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF"},
    {"TLSA no data", DNS_T_TLSA, DNS_C_IN, "020000", "2 0 0"},
    {"TYPE999", 999, DNS_C_IN, "0102ff", "\\# 3 0102FF"},
    {"TYPE999 empty", 999, DNS_C_IN, "", "\\# 0"},
    {"DS raw", DNS_T_DS, DNS_C_IN, "3039 08 02 abcd", "\\# 6 30390802ABCD"},
    {"A in class CH is raw", DNS_T_A, 3, "c0000201", "\\# 4 C0000201"},
    {"CNAME in class CH", DNS_T_CNAME, 3, "01 61 00", "a."},
};

static void
test_rr_roundtrip(void)
{
	uint8_t in[MSG_BUF], out[MSG_BUF], rd[1024];
	struct dns_msg m;
	const char *why;
	char text[1024];
	size_t i, n, rdlen, len;

	for (i = 0; i < sizeof(rr_cases) / sizeof(rr_cases[0]); i++) {
		rdlen = unhex(rd, sizeof(rd), rr_cases[i].rdata);
		n = unhex(in, sizeof(in), HDR_AN1 OWNER);
		in[n++] = (uint8_t)(rr_cases[i].type >> 8);
		in[n++] = (uint8_t)rr_cases[i].type;
		in[n++] = (uint8_t)(rr_cases[i].class >> 8);
		in[n++] = (uint8_t)rr_cases[i].class;
		n += unhex(in + n, 4, "0000012c");
		in[n++] = (uint8_t)(rdlen >> 8);
		in[n++] = (uint8_t)rdlen;
		memcpy(in + n, rd, rdlen);
		n += rdlen;
		if (!ok(dns_msg_parse(&m, in, n, &why) == 0, "parse %s", rr_cases[i].what)) {
			diag("why: %s", why);
			continue;
		}
		ok(m.nrr == 1 && m.rr[0].type == rr_cases[i].type &&
			m.rr[0].class == rr_cases[i].class && m.rr[0].ttl == 300 &&
			m.rr[0].section == DNS_S_AN && m.rr[0].rdlen == rdlen,
		    "  %s: fields", rr_cases[i].what);
		is_str(dns_rdata_str(&m.rr[0], text, sizeof(text)), rr_cases[i].text, "  %s: text",
		    rr_cases[i].what);
		len = dns_msg_write(out, sizeof(out), &m);
		ok(len == n && memcmp(out, in, n) == 0, "  %s: written back byte for byte",
		    rr_cases[i].what);
		dns_msg_clear(&m);
	}
}

/* Typed fields of a few, and compression inside RDATA. */
static void
test_typed(void)
{
	uint8_t in[MSG_BUF], out[MSG_BUF], want[MSG_BUF];
	struct dns_msg m;
	const char *why;
	char s[DNS_NAME_STRLEN];
	size_t n, len, wn;

	/* mx.test MX? -> mx.test MX 10 mx1.<ptr to mx.test>, owner compressed too. */
	n = unhex(in, sizeof(in),
	    "1234 8180 0001 0001 0000 0000" OWNER "000f 0001"
	    "c00c 000f 0001 0000012c 0008 000a 036d7831 c00c");
	wn = unhex(want, sizeof(want),
	    "1234 8180 0001 0001 0000 0000" OWNER "000f 0001" OWNER
	    "000f 0001 0000012c 000f 000a 036d7831" OWNER);
	if (ok(dns_msg_parse(&m, in, n, &why) == 0, "compressed MX answer")) {
		is_int(m.id, 0x1234, "  id");
		is_int(m.flags, 0x8180, "  flags");
		is_int(m.qdcount, 1, "  qdcount");
		is_int(m.qtype, DNS_T_MX, "  qtype");
		is_int(m.qclass, DNS_C_IN, "  qclass");
		dns_name_to_str(&m.qname, s, sizeof(s));
		is_str(s, "mx.test.", "  qname");
		is_int(m.nrr, 1, "  one record");
		is_int(m.rr[0].u.mx.pref, 10, "  preference");
		dns_name_to_str(&m.rr[0].u.mx.host, s, sizeof(s));
		is_str(s, "mx1.mx.test.", "  exchange through a pointer");
		ok(m.rr[0].rdata == m.wire + n - 8, "  rdata points into msg->wire");
		len = dns_msg_write(out, sizeof(out), &m);
		ok(len == wn && memcmp(out, want, wn) == 0, "  written uncompressed");
		is_int(dns_msg_write(out, wn - 1, &m), 0, "  one byte short: 0");
		is_int(dns_msg_write(out, wn, &m), wn, "  exact size fits");
		dns_msg_clear(&m);
		ok(m.wire == NULL && m.rr == NULL && m.nrr == 0, "clear empties the msg");
	} else {
		diag("why: %s", why);
	}

	/* A, AAAA and SOA fields, three sections. */
	n = unhex(in, sizeof(in),
	    "0001 8583 0000 0001 0001 0001" OWNER "0001 0001 00000e10 0004 c000020a" OWNER
	    "0006 0001 0000012c 0016 00 00 00000001 00000002 00000003 00000004 00000005" OWNER
	    "001c 0001 00000e10 0010 20010db8000000000000000000000001");
	if (ok(dns_msg_parse(&m, in, n, &why) == 0, "three sections")) {
		is_int(m.rcode, DNS_R_NXDOMAIN, "  rcode NXDOMAIN");
		is_int(m.nrr, 3, "  three records");
		ok(m.rr[0].section == DNS_S_AN && m.rr[1].section == DNS_S_NS &&
			m.rr[2].section == DNS_S_AR,
		    "  sections recorded");
		is_mem(m.rr[0].u.a, "\xc0\x00\x02\x0a", 4, "  A bytes");
		ok(m.rr[1].u.soa.serial == 1 && m.rr[1].u.soa.refresh == 2 &&
			m.rr[1].u.soa.retry == 3 && m.rr[1].u.soa.expire == 4 &&
			m.rr[1].u.soa.minimum == 5 && m.rr[1].u.soa.mname.len == 1,
		    "  SOA fields");
		is_mem(m.rr[2].u.aaaa, "\x20\x01\x0d\xb8", 4, "  AAAA bytes");
		len = dns_msg_write(out, sizeof(out), &m);
		ok(len == n && memcmp(out, in, n) == 0, "  written back byte for byte");
		dns_msg_clear(&m);
	} else {
		diag("why: %s", why);
	}
}

/* An MX query header and question, then the OPT. */
#define Q_HDR_AR1 "abcd 8180 0001 0000 0000 0001" OWNER "000f 0001"

static const struct {
	const char *what;
	const char *opt;
	uint16_t udp, rcode;
	uint8_t version;
	bool do_bit, cookie;
	uint8_t slen;
	const char *rewrite; /* what dns_msg_write gives, when not the input */
} opt_cases[] = {
    {"OPT plain", "00 0029 04d0 00008000 0000", 1232, 0, 0, true, false, 0, NULL},
    {"OPT no DO, 512", "00 0029 0200 00000000 0000", 512, 0, 0, false, false, 0, NULL},
    {"OPT client cookie", "00 0029 04d0 00008000 000c 000a 0008 0102030405060708", 1232, 0, 0, true,
	true, 0, NULL},
    {"OPT client+server 8",
	"00 0029 04d0 00000000 0014 000a 0010 0102030405060708 1112131415161718", 1232, 0, 0, false,
	true, 8, NULL},
    {"OPT client+server 32",
	"00 0029 1000 00008000 002c 000a 0028 0102030405060708"
	"2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40",
	4096, 0, 0, true, true, 32, NULL},
    {"OPT extended rcode BADVERS", "00 0029 04d0 01000000 0000", 1232, 16, 0, false, false, 0,
	NULL},
    {"OPT version 1", "00 0029 04d0 00010000 0000", 1232, 0, 1, false, false, 0, NULL},
    {"OPT other options skipped",
	"00 0029 04d0 00008000 0016 000c 0002 0000 000a 0008 0102030405060708 0008 0000", 1232, 0,
	0, true, true, 0, "00 0029 04d0 00008000 000c 000a 0008 0102030405060708"},
};

static void
test_opt(void)
{
	uint8_t in[MSG_BUF], out[MSG_BUF], want[MSG_BUF];
	struct dns_msg m;
	const char *why;
	size_t i, n, wn, len, hn;

	for (i = 0; i < sizeof(opt_cases) / sizeof(opt_cases[0]); i++) {
		hn = unhex(in, sizeof(in), Q_HDR_AR1);
		n = hn + unhex(in + hn, sizeof(in) - hn, opt_cases[i].opt);
		if (!ok(dns_msg_parse(&m, in, n, &why) == 0, "parse %s", opt_cases[i].what)) {
			diag("why: %s", why);
			continue;
		}
		ok(m.edns.present && m.nrr == 0, "  %s: OPT found, not a record",
		    opt_cases[i].what);
		ok(m.edns.udp_size == opt_cases[i].udp && m.rcode == opt_cases[i].rcode &&
			m.edns.version == opt_cases[i].version &&
			m.edns.do_bit == opt_cases[i].do_bit &&
			m.edns.has_cookie == opt_cases[i].cookie &&
			m.edns.scookie_len == opt_cases[i].slen,
		    "  %s: fields", opt_cases[i].what);
		if (opt_cases[i].cookie)
			ok(memcmp(m.edns.ccookie, "\1\2\3\4\5\6\7\10", 8) == 0 &&
				(opt_cases[i].slen == 0 ||
				    m.edns.scookie[0] == in[n - opt_cases[i].slen]),
			    "  %s: cookie bytes", opt_cases[i].what);
		memcpy(want, in, hn);
		wn = n;
		if (opt_cases[i].rewrite != NULL)
			wn = hn + unhex(want + hn, sizeof(want) - hn, opt_cases[i].rewrite);
		else
			memcpy(want, in, n);
		len = dns_msg_write(out, sizeof(out), &m);
		ok(len == wn && memcmp(out, want, wn) == 0, "  %s: written byte for byte",
		    opt_cases[i].what);
		dns_msg_clear(&m);
	}
}

/* Every one must be refused, with this reason. */
static const struct {
	const char *what;
	const char *hex;
	const char *why;
} bad_cases[] = {
    {"empty", "", "short header"},
    {"truncated header", "1234 8180 0000 0000 0000", "short header"},
    {"qdcount 2", "1234 8180 0002 0000 0000 0000 00 0001 0001 00 0001 0001", "qdcount"},
    {"truncated question name", "1234 8180 0001 0000 0000 0000 02 6d78 04 7465", "name: truncated"},
    {"truncated question", "1234 8180 0001 0000 0000 0000" OWNER "000f", "question truncated"},
    {"qname pointer to itself", "1234 8180 0001 0000 0000 0000 c00c 000f 0001",
	"name: pointer loop"},
    {"qname forward pointer", "1234 8180 0001 0000 0000 0000 c00e 00 000f 0001",
	"name: forward pointer"},
    {"qname pointer past end", "1234 8180 0001 0000 0000 0000 c0ff 000f 0001",
	"name: forward pointer"},
    {"qname pointer into own labels", "1234 8180 0001 0000 0000 0000 01 61 c00c 000f 0001",
	"name: pointer loop"},
    {"two pointers to each other",
	"1234 8180 0001 0001 0000 0000 c012 000f 0001"
	"c00c 0001 0001 0000012c 0004 c0000201",
	"name: forward pointer"},
    {"owner pointer to itself",
	"1234 8180 0000 0001 0000 0000"
	"c00c 0001 0001 0000012c 0004 c0000201",
	"name: pointer loop"},
    {"label 64 (type 0x40)",
	HDR_AN1 "40616161616161616161616161616161616161616161616161616161616161616161616161616161"
		"6161616161616161616161616161616161616161616161616100"
		"0001 0001 0000012c 0004 c0000201",
	"name: bad label type"},
    {"label type 0x80",
	"1234 8180 0000 0001 0000 0000 80 00"
	"0001 0001 0000012c 0004 c0000201",
	"name: bad label type"},
    {"ancount larger than records",
	HDR_AN1 ""
		"",
	"rr truncated"},
    {"ancount 2, one record",
	"1234 8180 0000 0002 0000 0000" OWNER "0001 0001 0000012c 0004 c0000201", "rr truncated"},
    {"arcount 1, no record, question", "1234 8180 0001 0000 0000 0001" OWNER "000f 0001",
	"rr truncated"},
    {"truncated rr", HDR_AN1 OWNER "0001", "rr truncated"},
    {"truncated rr ttl", HDR_AN1 OWNER "0001 0001 0000", "rr truncated"},
    {"truncated rdata", HDR_AN1 OWNER "0001 0001 0000012c 0004 c000", "rdata truncated"},
    {"A with 5 bytes", HDR_AN1 OWNER "0001 0001 0000012c 0005 c000020100", "A: rdlen not 4"},
    {"A with 3 bytes", HDR_AN1 OWNER "0001 0001 0000012c 0003 c00002", "A: rdlen not 4"},
    {"AAAA with 15 bytes",
	HDR_AN1 OWNER "001c 0001 0000012c 000f"
		      "20010db80000000000000000000000",
	"AAAA: rdlen not 16"},
    {"MX name shorter than rdlen", HDR_AN1 OWNER "000f 0001 0000012c 0006 000a 01 61 00 ff",
	"rdlen mismatch"},
    {"MX name longer than rdlen", HDR_AN1 OWNER "000f 0001 0000012c 0004 000a 01 61 00",
	"name: truncated"},
    {"MX with no name", HDR_AN1 OWNER "000f 0001 0000012c 0001 00", "MX: truncated"},
    {"CNAME name shorter than rdlen", HDR_AN1 OWNER "0005 0001 0000012c 0004 01 61 00 00",
	"rdlen mismatch"},
    {"CNAME empty", HDR_AN1 OWNER "0005 0001 0000012c 0000", "name: truncated"},
    {"CNAME forward pointer", HDR_AN1 OWNER "0005 0001 0000012c 0002 c029",
	"name: forward pointer"},
    {"SOA short",
	HDR_AN1 OWNER "0006 0001 0000012c 0014 00 00"
		      "00000001 00000002 00000003 00000004 0000",
	"SOA: truncated"},
    {"SOA bad rname",
	HDR_AN1 OWNER "0006 0001 0000012c 0015 00 c0ff"
		      "00000001 00000002 00000003 00000004 0000",
	"name: forward pointer"},
    {"SOA long",
	HDR_AN1 OWNER "0006 0001 0000012c 0017 00 00"
		      "00000001 00000002 00000003 00000004 00000005 00",
	"rdlen mismatch"},
    {"TXT string past rdata", HDR_AN1 OWNER "0010 0001 0000012c 0003 03 6162",
	"TXT: string past rdata"},
    {"TXT empty", HDR_AN1 OWNER "0010 0001 0000012c 0000", "TXT: empty"},
    {"TLSA 2 bytes", HDR_AN1 OWNER "0034 0001 0000012c 0002 0301", "TLSA: truncated"},
    {"trailing byte", HDR_AN1 OWNER "0001 0001 0000012c 0004 c0000201 00", "trailing bytes"},
    {"trailing bytes, no records", "1234 8180 0000 0000 0000 0000 0000", "trailing bytes"},
    {"oversized name via labels",
	HDR_AN1 "3f616161616161616161616161616161616161616161616161616161616161616161616161616161"
		"6161616161616161616161616161616161616161616161613f616161616161616161616161616161"
		"61616161616161616161616161616161616161616161616161616161616161616161616161616161"
		"61616161616161613f61616161616161616161616161616161616161616161616161616161616161"
		"61616161616161616161616161616161616161616161616161616161616161613e61616161616161"
		"61616161616161616161616161616161616161616161616161616161616161616161616161616161"
		"61616161616161616161616161616100"
		"0001 0001 0000012c 0004 c0000201",
	"name: too long"},
    {"oversized name via compression",
	"1234 8180 0001 0001 0000 0000"
	"3f616161616161616161616161616161616161616161616161616161616161616161616161616161"
	"6161616161616161616161616161616161616161616161613f616161616161616161616161616161"
	"61616161616161616161616161616161616161616161616161616161616161616161616161616161"
	"61616161616161613f61616161616161616161616161616161616161616161616161616161616161"
	"61616161616161616161616161616161616161616161616161616161616161613d61616161616161"
	"61616161616161616161616161616161616161616161616161616161616161616161616161616161"
	"616161616161616161616161616100"
	"0001 0001 02 6262 c00c 0001 0001 0000012c 0004 c0000201",
	"name: too long"},
    /* 252-octet qname, owner "bb" + pointer: 255 octets, fine; the stray ff is not. */
    {"largest name via compression",
	"1234 8180 0001 0001 0000 0000"
	"3f616161616161616161616161616161616161616161616161616161616161616161616161616161"
	"6161616161616161616161616161616161616161616161613f616161616161616161616161616161"
	"61616161616161616161616161616161616161616161616161616161616161616161616161616161"
	"61616161616161613f61616161616161616161616161616161616161616161616161616161616161"
	"61616161616161616161616161616161616161616161616161616161616161613a61616161616161"
	"61616161616161616161616161616161616161616161616161616161616161616161616161616161"
	"616161616161616161616100"
	"0001 0001 02 6262 c00c 0001 0001 0000012c 0004 c0000201 ff",
	"trailing bytes"},
    {"two OPTs",
	"abcd 8180 0001 0000 0000 0002" OWNER "000f 0001"
	"00 0029 04d0 00000000 0000 00 0029 04d0 00000000 0000",
	"two OPT records"},
    {"OPT owner not root",
	"abcd 8180 0001 0000 0000 0001" OWNER "000f 0001"
	"01 61 00 0029 04d0 00000000 0000",
	"OPT owner not root"},
    {"OPT in answer",
	"abcd 8180 0001 0001 0000 0000" OWNER "000f 0001"
	"00 0029 04d0 00000000 0000",
	"OPT not in additional"},
    {"OPT in authority",
	"abcd 8180 0001 0000 0001 0000" OWNER "000f 0001"
	"00 0029 04d0 00000000 0000",
	"OPT not in additional"},
    {"cookie 7", Q_HDR_AR1 "00 0029 04d0 00000000 000b 000a 0007 01020304050607",
	"bad cookie length"},
    {"cookie 9", Q_HDR_AR1 "00 0029 04d0 00000000 000d 000a 0009 010203040506070809",
	"bad cookie length"},
    {"cookie 15",
	Q_HDR_AR1 "00 0029 04d0 00000000 0013 000a 000f"
		  "0102030405060708 01020304050607",
	"bad cookie length"},
    {"cookie 41",
	Q_HDR_AR1
	"00 0029 04d0 00000000 002d 000a 0029"
	"0102030405060708 0102030405060708010203040506070801020304050607080102030405060708"
	"09",
	"bad cookie length"},
    {"cookie 0", Q_HDR_AR1 "00 0029 04d0 00000000 0004 000a 0000", "bad cookie length"},
    {"two cookies",
	Q_HDR_AR1 "00 0029 04d0 00000000 0018 000a 0008 0102030405060708"
		  "000a 0008 0102030405060708",
	"OPT: two cookies"},
    {"OPT option past rdata", Q_HDR_AR1 "00 0029 04d0 00000000 0006 000a 0008 0102",
	"OPT option truncated"},
    {"OPT option header cut", Q_HDR_AR1 "00 0029 04d0 00000000 0002 000a", "OPT option truncated"},
    {"1025 records", "1234 8180 0000 0401 0000 0000", "too many records"},
    {"records but no bytes", "1234 8180 0000 ffff ffff ffff", "too many records"},
    {"100 records, no bytes", "1234 8180 0000 0064 0000 0000", "rr truncated"},
};

static void
test_bad(void)
{
	uint8_t in[MSG_BUF];
	struct dns_msg m;
	const char *why;
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		n = unhex(in, sizeof(in), bad_cases[i].hex);
		if (n == 0 && bad_cases[i].hex[0] != '\0') {
			ok(0, "vector %s: bad hex", bad_cases[i].what);
			continue;
		}
		why = "unset";
		r = dns_msg_parse(&m, in, n, &why);
		if (!ok(r == -1 && why != NULL && strcmp(why, bad_cases[i].why) == 0, "refused: %s",
			bad_cases[i].what))
			diag("got %d, why \"%s\", want \"%s\"", r, why ? why : "(null)",
			    bad_cases[i].why);
		if (r == 0)
			dns_msg_clear(&m);
		why = "unset";
		r = dns_msg_parse_borrow(&m, in, n, &why);
		if (!ok(r == -1 && why != NULL && strcmp(why, bad_cases[i].why) == 0 &&
			    m.wire == NULL && m.rr == NULL && m.nrr == 0,
			"  borrowing parse refuses it too: %s", bad_cases[i].what))
			diag("got %d, why \"%s\"", r, why ? why : "(null)");
		if (r == 0)
			dns_msg_clear(&m);
	}
	/* Longer than any DNS message can be. */
	{
		static uint8_t big[DNS_MSG_MAX + 1];

		why = NULL;
		r = dns_msg_parse(&m, big, sizeof(big), &why);
		ok(r == -1 && why != NULL && strcmp(why, "message too long") == 0,
		    "refused: 65536 bytes");
		r = dns_msg_parse(&m, big, DNS_MSG_MAX, &why);
		ok(r == -1 && why != NULL && strcmp(why, "trailing bytes") == 0,
		    "65535 bytes: read, then trailing bytes");
	}
	/* A refused message leaves nothing to free and the struct empty. */
	n = unhex(in, sizeof(in), HDR_AN1 OWNER "0001 0001 0000012c 0005 c000020100");
	r = dns_msg_parse(&m, in, n, NULL);
	ok(r == -1 && m.wire == NULL && m.rr == NULL && m.nrr == 0,
	    "refused msg is empty (why may be NULL)");
	dns_msg_clear(&m);
}

/*
 * dns_msg_parse_borrow: the same msg as dns_msg_parse, but wire (and so rdata) is the
 * caller's buffer, and dns_msg_clear() frees nothing of it.
 */
static void
test_borrow(void)
{
	uint8_t in[MSG_BUF], out1[MSG_BUF], out2[MSG_BUF];
	struct dns_msg m, c;
	const char *why;
	size_t n, l1, l2;

	n = unhex(in, sizeof(in),
	    "1234 8180 0001 0001 0000 0000" OWNER "000f 0001"
	    "c00c 000f 0001 0000012c 0008 000a 036d7831 c00c");
	if (!ok(dns_msg_parse_borrow(&m, in, n, &why) == 0, "borrow: compressed MX answer"))
		return;
	ok(m.wire == in && m.wire_len == n && m.wire_copy == NULL, "  wire is the caller's");
	ok(m.rr[0].rdata == in + n - 8, "  rdata points into the caller's buffer");
	if (ok(dns_msg_parse(&c, in, n, &why) == 0, "copy: same message")) {
		ok(c.wire != in && c.wire == c.wire_copy && memcmp(c.wire, in, n) == 0,
		    "  copy: wire is the msg's own copy");
		ok(c.rr[0].rdata == c.wire + n - 8, "  copy: rdata points into the copy");
		l1 = dns_msg_write(out1, sizeof(out1), &m);
		l2 = dns_msg_write(out2, sizeof(out2), &c);
		ok(l1 > 0 && l1 == l2 && memcmp(out1, out2, l1) == 0,
		    "  both write the same bytes");
		dns_msg_clear(&c);
	}
	dns_msg_clear(&m);
	ok(m.wire == NULL && m.rr == NULL && m.nrr == 0 && m.wire_copy == NULL,
	    "borrow: clear empties the msg");
	ok(in[0] == 0x12 && in[1] == 0x34, "  and leaves the caller's bytes alone");

	/* dns_msg_init: the empty msg, safe to clear. */
	memset(&m, 0xa5, sizeof(m));
	dns_msg_init(&m);
	ok(m.wire == NULL && m.rr == NULL && m.nrr == 0 && m.wire_copy == NULL && m.id == 0 &&
		!m.edns.present,
	    "init: empty");
	dns_msg_clear(&m);
}

/*
 * A message of count A records and, with opt, an OPT last: a 25-octet header and question,
 * then 16 octets a record (owner a pointer to the question; rdata its last 4 octets).
 */
static size_t
many(uint8_t *in, size_t cap, size_t count, bool opt)
{
	size_t n, i;

	n = unhex(in, cap, "4321 8180 0001 0000 0000 0000" OWNER "0001 0001");
	in[7] = (uint8_t)count;
	in[6] = (uint8_t)(count >> 8);
	in[11] = opt ? 1 : 0;
	for (i = 0; i < count && n + 16 <= cap; i++) {
		n += unhex(in + n, cap - n, "c00c 0001 0001 0000012c 0004 c00002");
		in[n++] = (uint8_t)i;
	}
	if (opt)
		n += unhex(in + n, cap - n, "00 0029 04d0 00008000 0000");
	return n;
}

/*
 * Records up to DNS_MSG_RR_FIXED (the OPT takes a slot while it is read) stay inside the
 * msg; more go to the heap. Every record is set field by field, so each is checked.
 */
static void
test_counts(void)
{
	static const struct {
		size_t count;
		bool opt, fixed;
	} cases[] = {
	    {0, true, true},
	    {1, false, true},
	    {DNS_MSG_RR_FIXED - 1, true, true},
	    {DNS_MSG_RR_FIXED, false, true},
	    {DNS_MSG_RR_FIXED, true, false},
	    {DNS_MSG_RR_FIXED + 1, false, false},
	    {DNS_RR_MAX - 1, true, false},
	    {DNS_RR_MAX, false, false},
	};
	static uint8_t in[DNS_MSG_MAX], out[DNS_MSG_MAX];
	struct dns_msg m, m2;
	const char *why;
	char s[DNS_NAME_STRLEN];
	size_t i, j, n, len, bad;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = many(in, sizeof(in), cases[i].count, cases[i].opt);
		if (!ok(dns_msg_parse_borrow(&m, in, n, &why) == 0, "%zu A records%s",
			cases[i].count, cases[i].opt ? " and an OPT" : "")) {
			diag("why: %s", why);
			continue;
		}
		ok(m.nrr == cases[i].count && m.edns.present == cases[i].opt, "  counts");
		ok((m.rr == m.rr_fixed) == cases[i].fixed, "  records %s",
		    cases[i].fixed ? "inside the msg" : "on the heap");
		bad = 0;
		for (j = 0; j < m.nrr; j++) {
			dns_name_to_str(&m.rr[j].owner, s, sizeof(s));
			if (strcmp(s, "mx.test.") != 0 || m.rr[j].type != DNS_T_A ||
			    m.rr[j].class != DNS_C_IN || m.rr[j].ttl != 300 ||
			    m.rr[j].section != DNS_S_AN || m.rr[j].rdlen != 4 ||
			    m.rr[j].u.a[3] != (uint8_t)j || m.rr[j].rdata != in + 25 + 16 * j + 12)
				bad++;
		}
		is_int(bad, 0, "  every record's fields");
		len = dns_msg_write(out, sizeof(out), &m);
		ok(len == n + 7 * cases[i].count && memcmp(out, in, 25) == 0,
		    "  written back, owners uncompressed");
		ok(dns_msg_parse(&m2, out, len, &why) == 0 && m2.nrr == cases[i].count,
		    "  and read again");
		dns_msg_clear(&m2);
		dns_msg_clear(&m);
	}
	/* A failure after the records went to the heap frees them (ASan would say). */
	n = many(in, sizeof(in), DNS_MSG_RR_FIXED + 4, false);
	ok(dns_msg_parse(&m, in, n - 1, &why) == -1 && strcmp(why, "rdata truncated") == 0 &&
		m.rr == NULL,
	    "last of %d records cut: refused, nothing kept", DNS_MSG_RR_FIXED + 4);
	n = many(in, sizeof(in), 3, false);
	ok(dns_msg_parse_borrow(&m, in, n - 1, &why) == -1 && m.rr == NULL,
	    "last of 3 records cut: refused, nothing kept");
}

/*
 * Records whose RDATA stays raw read as zeros through u.a/u.aaaa, so code that looks at
 * a record by type alone never reads what the parse did not set.
 */
static void
test_raw_zero(void)
{
	static const char *const vec[] = {
	    HDR_AN1 OWNER "0001 0003 0000012c 0004 c0000201", /* A, class CH */
	    HDR_AN1 OWNER "001c 0003 0000012c 0004 c0000201", /* AAAA, class CH, 4 octets */
	    HDR_AN1 OWNER "0010 0001 0000012c 0003 026869",   /* TXT */
	    HDR_AN1 OWNER "03e7 0001 0000012c 0002 ffff",     /* TYPE999 */
	};
	static const uint8_t zero[16];
	uint8_t in[MSG_BUF];
	struct dns_msg m;
	const char *why;
	size_t i, n;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = unhex(in, sizeof(in), vec[i]);
		if (ok(dns_msg_parse_borrow(&m, in, n, &why) == 0, "raw record %zu parses", i)) {
			is_mem(m.rr[0].u.aaaa, zero, 16, "  u.aaaa reads as zeros");
			is_int(m.rr[0].u.name.len, 0, "  u.name is empty");
		}
		dns_msg_clear(&m);
	}
}

static void
test_query(void)
{
	uint8_t out[MSG_BUF], want[MSG_BUF];
	struct dns_name n;
	struct dns_edns e;
	size_t len, wn;

	dns_name_from_str(&n, "Mx.Test");
	wn = unhex(
	    want, sizeof(want), "beef 0100 0001 0000 0000 0000 02 4d78 04 54657374 00 000f 0001");
	len = dns_query_write(out, sizeof(out), 0xbeef, &n, DNS_T_MX, NULL);
	ok(len == wn && memcmp(out, want, wn) == 0, "query without EDNS");
	is_int(dns_query_write(out, wn - 1, 0xbeef, &n, DNS_T_MX, NULL), 0,
	    "query: one byte short gives 0");
	is_int(dns_query_write(out, wn, 0xbeef, &n, DNS_T_MX, NULL), wn, "query: exact fit");

	memset(&e, 0, sizeof(e));
	len = dns_query_write(out, sizeof(out), 0xbeef, &n, DNS_T_MX, &e);
	ok(len == wn && memcmp(out, want, wn) == 0, "query: edns not present means none");

	e.present = true;
	e.do_bit = true;
	wn = unhex(want, sizeof(want),
	    "0001 0100 0001 0000 0000 0001 02 4d78 04 54657374 00"
	    "0001 0001 00 0029 04d0 00008000 0000");
	len = dns_query_write(out, sizeof(out), 1, &n, DNS_T_A, &e);
	ok(len == wn && memcmp(out, want, wn) == 0, "query: EDNS 1232 (default) DO");

	e.udp_size = 1400;
	e.do_bit = false;
	e.has_cookie = true;
	memcpy(e.ccookie, "\1\2\3\4\5\6\7\10", 8);
	wn = unhex(want, sizeof(want),
	    "ffff 0100 0001 0000 0000 0001 02 4d78 04 54657374 00"
	    "0034 0001 00 0029 0578 00000000 000c 000a 0008 0102030405060708");
	len = dns_query_write(out, sizeof(out), 0xffff, &n, DNS_T_TLSA, &e);
	ok(len == wn && memcmp(out, want, wn) == 0, "query: client cookie");

	e.scookie_len = 16;
	memcpy(e.scookie, "ABCDEFGHIJKLMNOP", 16);
	wn = unhex(want, sizeof(want),
	    "0000 0100 0001 0000 0000 0001 02 4d78 04 54657374 00"
	    "001c 0001 00 0029 0578 00000000 001c 000a 0018 0102030405060708"
	    "4142434445464748494a4b4c4d4e4f50");
	len = dns_query_write(out, sizeof(out), 0, &n, DNS_T_AAAA, &e);
	ok(len == wn && memcmp(out, want, wn) == 0, "query: client and server cookie");

	e.scookie_len = 33;
	is_int(dns_query_write(out, sizeof(out), 0, &n, DNS_T_AAAA, &e), 0,
	    "query: server cookie of 33 refused");
	e.scookie_len = 7;
	is_int(dns_query_write(out, sizeof(out), 0, &n, DNS_T_AAAA, &e), 0,
	    "query: server cookie of 7 refused");
	memset(&n, 0, sizeof(n));
	is_int(dns_query_write(out, sizeof(out), 0, &n, DNS_T_A, NULL), 0,
	    "query: unset name refused");
}

/* dns_msg_write from a hand-built struct: counts recomputed, sections ordered. */
static void
test_msg_write(void)
{
	uint8_t out[MSG_BUF], want[MSG_BUF];
	struct dns_msg m, back;
	struct dns_rr rr[3];
	const char *why;
	size_t len, wn;

	memset(&m, 0, sizeof(m));
	memset(rr, 0, sizeof(rr));
	m.id = 7;
	m.flags = DNS_F_QR | DNS_F_AA;
	m.qdcount = 1;
	dns_name_from_str(&m.qname, "mx.test");
	m.qtype = DNS_T_A;
	m.qclass = DNS_C_IN;
	rr[0].section = DNS_S_AR; /* out of order on purpose */
	dns_name_from_str(&rr[0].owner, "mx.test");
	rr[0].type = DNS_T_TXT;
	rr[0].class = DNS_C_IN;
	rr[0].ttl = 1;
	rr[0].rdata = (const uint8_t *)"\2hi";
	rr[0].rdlen = 3;
	rr[1].section = DNS_S_AN;
	dns_name_from_str(&rr[1].owner, "mx.test");
	rr[1].type = DNS_T_A;
	rr[1].class = DNS_C_IN;
	rr[1].ttl = 2;
	memcpy(rr[1].u.a, "\xc0\0\2\1", 4);
	rr[2].section = DNS_S_NS;
	dns_name_from_str(&rr[2].owner, "test");
	rr[2].type = DNS_T_NS;
	rr[2].class = DNS_C_IN;
	rr[2].ttl = 3;
	dns_name_from_str(&rr[2].u.name, "ns.test");
	m.rr = rr;
	m.nrr = 3;
	m.rcode = DNS_R_BADCOOKIE; /* 23: 7 in the header, 1 in the OPT */
	m.edns.present = true;
	m.edns.udp_size = 1232;
	wn = unhex(want, sizeof(want),
	    "0007 8407 0001 0001 0001 0002" OWNER "0001 0001" OWNER
	    "0001 0001 00000002 0004 c0000201"
	    "04 74657374 00 0002 0001 00000003 0009 026e73 0474657374 00" OWNER
	    "0010 0001 00000001 0003 026869"
	    "00 0029 04d0 01000000 0000");
	len = dns_msg_write(out, sizeof(out), &m);
	ok(len == wn && memcmp(out, want, wn) == 0,
	    "msg_write: sections ordered, counts, rcode 23");
	if (ok(dns_msg_parse(&back, out, len, &why) == 0, "msg_write output parses")) {
		is_int(back.rcode, DNS_R_BADCOOKIE, "  rcode 23 back");
		is_str(dns_rcode_str(back.rcode), "BADCOOKIE", "  named BADCOOKIE");
		dns_msg_clear(&back);
	}

	/* rcode left 0: the header's rcode bits are used. */
	m.rcode = 0;
	m.flags = DNS_F_QR | DNS_R_NXDOMAIN;
	m.edns.present = false;
	m.nrr = 0;
	m.qdcount = 0;
	wn = unhex(want, sizeof(want), "0007 8003 0000 0000 0000 0000");
	len = dns_msg_write(out, sizeof(out), &m);
	ok(len == wn && memcmp(out, want, wn) == 0, "msg_write: rcode from flags, no question");

	/* Raw data missing: refused, not a crash. */
	rr[0].rdata = NULL;
	m.nrr = 1;
	is_int(dns_msg_write(out, sizeof(out), &m), 0, "msg_write: rdlen without rdata");
	rr[0].rdata = (const uint8_t *)"\2hi";
	rr[0].section = 3;
	is_int(dns_msg_write(out, sizeof(out), &m), 0, "msg_write: bad section");
}

static void
test_names(void)
{
	is_str(dns_type_str(DNS_T_A), "A", "type A");
	is_str(dns_type_str(DNS_T_TLSA), "TLSA", "type TLSA");
	is_str(dns_type_str(999), "TYPE999", "type 999");
	is_str(dns_type_str(0), "TYPE0", "type 0");
	is_int(dns_type_from_str("mx"), DNS_T_MX, "from_str mx");
	is_int(dns_type_from_str("Tlsa"), DNS_T_TLSA, "from_str Tlsa");
	is_int(dns_type_from_str("AAAA"), DNS_T_AAAA, "from_str AAAA");
	is_int(dns_type_from_str("TYPE123"), 123, "from_str TYPE123");
	is_int(dns_type_from_str("type65535"), 65535, "from_str type65535");
	is_int(dns_type_from_str("TYPE65536"), -1, "from_str TYPE65536");
	is_int(dns_type_from_str("TYPE0000001"), -1, "from_str TYPE0000001 (too long)");
	is_int(dns_type_from_str("TYPE"), -1, "from_str TYPE");
	is_int(dns_type_from_str("TYPE1x"), -1, "from_str TYPE1x");
	is_int(dns_type_from_str("TYPE-1"), -1, "from_str TYPE-1");
	is_int(dns_type_from_str("BOGUS"), -1, "from_str BOGUS");
	is_int(dns_type_from_str(""), -1, "from_str empty");
	is_str(dns_rcode_str(0), "NOERROR", "rcode 0");
	is_str(dns_rcode_str(3), "NXDOMAIN", "rcode 3");
	is_str(dns_rcode_str(5), "REFUSED", "rcode 5");
	is_str(dns_rcode_str(16), "BADVERS", "rcode 16");
	is_str(dns_rcode_str(23), "BADCOOKIE", "rcode 23");
	is_str(dns_rcode_str(99), "RCODE99", "rcode 99");
}

/* Golden rendering: dig-like, one line per record, sections always shown. */
struct out {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3))) put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < o->cap - o->len ? (size_t)n : o->cap - o->len - 1;
}

static const char *
class_str(uint16_t c)
{
	return c == DNS_C_IN ? "IN" : c == 3 ? "CH" : "CLASS?";
}

static void
render(const struct dns_msg *m, struct out *o)
{
	static const char *const sect[] = {"answer", "authority", "additional"};
	static const struct {
		uint16_t bit;
		const char *name;
	} fl[] = {{DNS_F_QR, " qr"}, {DNS_F_AA, " aa"}, {DNS_F_TC, " tc"}, {DNS_F_RD, " rd"},
	    {DNS_F_RA, " ra"}, {DNS_F_AD, " ad"}, {DNS_F_CD, " cd"}};
	char s[DNS_NAME_STRLEN], d[2048];
	size_t i, j;
	uint8_t k;

	put(o, ";; id %u opcode %u rcode %s flags", m->id, (m->flags & DNS_F_OPMASK) >> 11,
	    dns_rcode_str(m->rcode));
	for (i = 0; i < sizeof(fl) / sizeof(fl[0]); i++)
		if (m->flags & fl[i].bit)
			put(o, "%s", fl[i].name);
	put(o, "\n");
	if (m->edns.present) {
		put(o, ";; edns version %u udp %u%s", m->edns.version, m->edns.udp_size,
		    m->edns.do_bit ? " do" : "");
		if (m->edns.has_cookie) {
			put(o, " cookie ");
			for (j = 0; j < DNS_COOKIE_CLIENT; j++)
				put(o, "%02x", m->edns.ccookie[j]);
			if (m->edns.scookie_len > 0)
				put(o, "/");
			for (j = 0; j < m->edns.scookie_len; j++)
				put(o, "%02x", m->edns.scookie[j]);
		}
		put(o, "\n");
	}
	if (m->qdcount == 1) {
		dns_name_to_str(&m->qname, s, sizeof(s));
		put(o, ";; question\n%s %s %s\n", s, class_str(m->qclass), dns_type_str(m->qtype));
	}
	for (k = DNS_S_AN; k <= DNS_S_AR; k++) {
		put(o, ";; %s\n", sect[k]);
		for (i = 0; i < m->nrr; i++) {
			if (m->rr[i].section != k)
				continue;
			dns_name_to_str(&m->rr[i].owner, s, sizeof(s));
			put(o, "%s %u %s %s %s\n", s, m->rr[i].ttl, class_str(m->rr[i].class),
			    dns_type_str(m->rr[i].type), dns_rdata_str(&m->rr[i], d, sizeof(d)));
		}
	}
}

static char *
slurp(const char *path, size_t *lenp)
{
	FILE *f;
	char *p;
	size_t n;

	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	p = malloc(1 << 20);
	if (p == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(p, 1, (1 << 20) - 1, f);
	fclose(f);
	p[n] = '\0';
	*lenp = n;
	return p;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
test_golden(void)
{
	static const char dir[] = "tests/data/dns";
	DIR *d;
	struct dirent *de;
	char *names[256], path[512], *hex, *want, got[1 << 16], again[1 << 16];
	uint8_t wire[DNS_MSG_MAX], out[DNS_MSG_MAX];
	struct dns_msg m, m2;
	struct out o;
	const char *why;
	size_t n = 0, i, hl, wl, len, l;

	d = opendir(dir);
	if (!ok(d != NULL, "golden: %s exists (run from the repository root)", dir))
		return;
	while ((de = readdir(d)) != NULL && n < 256) {
		l = strlen(de->d_name);
		if (l > 4 && strcmp(de->d_name + l - 4, ".hex") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_str);
	ok(n >= 3, "golden: %zu files", n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		hex = slurp(path, &hl);
		l = strlen(path);
		memcpy(path + l - 4, ".txt", 5);
		want = slurp(path, &wl);
		if (!ok(hex != NULL && want != NULL, "golden %s: files read", names[i]))
			goto next;
		len = unhex(wire, sizeof(wire), hex);
		if (!ok(len > 0 && dns_msg_parse(&m, wire, len, &why) == 0, "golden %s: parses",
			names[i])) {
			diag("why: %s", len > 0 ? why : "bad hex");
			goto next;
		}
		o = (struct out){got, 0, sizeof(got)};
		got[0] = '\0';
		render(&m, &o);
		if (!ok(strcmp(got, want) == 0, "golden %s: rendering", names[i]))
			printf("# got:\n%s# want:\n%s", got, want);
		/* Written back uncompressed, it still reads the same. */
		len = dns_msg_write(out, sizeof(out), &m);
		if (ok(len > 0 && dns_msg_parse(&m2, out, len, &why) == 0,
			"golden %s: written and parsed again", names[i])) {
			o = (struct out){again, 0, sizeof(again)};
			again[0] = '\0';
			render(&m2, &o);
			is_str(again, got, "golden %s: same rendering after rewrite", names[i]);
			dns_msg_clear(&m2);
		}
		dns_msg_clear(&m);
	next:
		free(hex);
		free(want);
		free(names[i]);
	}
}

/*
 * Every fuzz corpus input (fuzz/corpus/dns_msg: valid and hostile messages) through both
 * parsers: the same verdict, the same reason, and for accepted ones the same message
 * written back. Run from the repository root.
 */
static void
test_corpus_both(void)
{
	static const char dir[] = "fuzz/corpus/dns_msg";
	static uint8_t wire[DNS_MSG_MAX + 1], o1[1 << 20], o2[1 << 20];
	DIR *d;
	struct dirent *de;
	struct dns_msg a, b;
	const char *wa, *wb;
	char path[512];
	FILE *f;
	size_t len, l1, l2;
	int ra, rb, files = 0, differ = 0, accepted = 0;

	d = opendir(dir);
	if (!ok(d != NULL, "corpus: %s exists (run from the repository root)", dir))
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		if (f == NULL)
			continue;
		len = fread(wire, 1, sizeof(wire), f);
		fclose(f);
		files++;
		ra = dns_msg_parse(&a, wire, len, &wa);
		rb = dns_msg_parse_borrow(&b, wire, len, &wb);
		if (ra != rb || (ra == -1 && strcmp(wa, wb) != 0)) {
			diag("%s: %d/%d %s/%s", de->d_name, ra, rb, ra ? wa : "", rb ? wb : "");
			differ++;
		} else if (ra == 0) {
			accepted++;
			l1 = dns_msg_write(o1, sizeof(o1), &a);
			l2 = dns_msg_write(o2, sizeof(o2), &b);
			if (l1 != l2 || memcmp(o1, o2, l1) != 0 || b.wire != wire) {
				diag("%s: written differently", de->d_name);
				differ++;
			}
		}
		if (ra == 0)
			dns_msg_clear(&a);
		if (rb == 0)
			dns_msg_clear(&b);
	}
	closedir(d);
	ok(files > 10 && accepted > 0, "corpus: %d files, %d accepted", files, accepted);
	is_int(differ, 0, "corpus: both parsers agree on every file");
}

int
main(void)
{
	test_rr_roundtrip();
	test_typed();
	test_opt();
	test_bad();
	test_borrow();
	test_counts();
	test_raw_zero();
	test_query();
	test_msg_write();
	test_names();
	test_golden();
	test_corpus_both();
	return done_testing();
}
