/*
 * t_smtp_path — smtp_path.c: the RFC 5321 §4.1.2 Path grammar (dot-strings, quoted
 * strings, source routes, address literals), the length limits of §4.5.3.1, UTF-8 under
 * SMTPUTF8 (RFC 6531 §3.3) and every kind of malformed UTF-8, <postmaster>, the reply
 * codes, and smtp_path_str's re-quoting. Every accepted path is also written out with
 * smtp_path_str, parsed again, and must come back the same. smtp_addr_same: the duplicate
 * filters' comparison (domain case-insensitive; local part too only when asked).
 */
#include <stdint.h>
#include <string.h>

#include <bsd/string.h>

#include "smtp/smtp.h"
#include "tap.h"

#define N    SMTP_PATH_NULL
#define U    SMTP_PATH_UTF8
#define PM   SMTP_PATH_POSTMASTER
#define S(x) x, sizeof(x) - 1

struct pcase {
	const char *in;
	size_t len;
	unsigned flags;
	int ret; /* consumed, or -1 */
	/* success: */
	const char *local;
	const char *domain;
	const char *str; /* smtp_path_str */
	unsigned bits;   /* Q quoted, L literal, X utf8, Z null */
	/* failure: */
	int code;
	const char *enh;
};

#define Q 1u
#define L 2u
#define X 4u
#define Z 8u

#define OK(in, fl, ret, lo, dom, str, bits)                                                        \
	{                                                                                          \
		S(in), fl, ret, lo, dom, str, bits, 0, NULL                                        \
	}
#define NO(in, fl, code, enh)                                                                      \
	{                                                                                          \
		S(in), fl, -1, NULL, NULL, NULL, 0, code, enh                                      \
	}

static const struct pcase cases[] = {
    /* Plain mailboxes. */
    OK("<a@b.c>", 0, 7, "a", "b.c", "a@b.c", 0),
    OK("<user@example.org>", N, 18, "user", "example.org", "user@example.org", 0),
    OK("<A.B@Example.COM>", 0, 17, "A.B", "example.com", "A.B@example.com", 0),
    OK("<a@b>SIZE=10", 0, 5, "a", "b", "a@b", 0), OK("<a@b> trailing", 0, 5, "a", "b", "a@b", 0),
    OK("<!#$%&'*+-/=?^_`{|}~@x>", 0, 23, "!#$%&'*+-/=?^_`{|}~", "x", "!#$%&'*+-/=?^_`{|}~@x", 0),
    OK("<a.b.c@x-y.z9>", 0, 14, "a.b.c", "x-y.z9", "a.b.c@x-y.z9", 0),
    OK("<1@2.3>", 0, 7, "1", "2.3", "1@2.3", 0),
    OK("<a@xn--mnchen-3ya.de>", 0, 21, "a", "xn--mnchen-3ya.de", "a@xn--mnchen-3ya.de", 0),
    /* Null path: MAIL only. */
    OK("<>", N, 2, "", "", "", Z), OK("<> SIZE=1", N, 2, "", "", "", Z), NO("<>", 0, 553, "5.1.3"),
    NO("<>", PM | U, 553, "5.1.3"),

    /* Quoted strings (qtextSMTP, quoted-pairSMTP) and re-quoting. */
    OK("<\"a b\"@x>", 0, 9, "a b", "x", "\"a b\"@x", Q),
    OK("<\"a\\\"b\"@x>", 0, 10, "a\"b", "x", "\"a\\\"b\"@x", Q),
    OK("<\"a\\\\b\"@x>", 0, 10, "a\\b", "x", "\"a\\\\b\"@x", Q),
    OK("<\"\\a\"@x>", 0, 8, "a", "x", "a@x", Q), OK("<\"abc\"@x>", 0, 9, "abc", "x", "abc@x", Q),
    OK("<\"a.b\"@x>", 0, 9, "a.b", "x", "a.b@x", Q),
    OK("<\"a..b\"@x>", 0, 10, "a..b", "x", "\"a..b\"@x", Q),
    OK("<\".a\"@x>", 0, 8, ".a", "x", "\".a\"@x", Q),
    OK("<\"a.\"@x>", 0, 8, "a.", "x", "\"a.\"@x", Q),
    OK("<\"a@b\"@x>", 0, 9, "a@b", "x", "\"a@b\"@x", Q),
    OK("<\"<>\"@x>", 0, 8, "<>", "x", "\"<>\"@x", Q),
    OK("<\"a>b\"@x> z", 0, 9, "a>b", "x", "\"a>b\"@x", Q),
    OK("<\" \"@x>", 0, 7, " ", "x", "\" \"@x", Q), OK("<\"\\ \"@x>", 0, 8, " ", "x", "\" \"@x", Q),
    OK("<\"(x);|&$`\"@x>", 0, 14, "(x);|&$`", "x", "\"(x);|&$`\"@x", Q),
    OK("<\"~!#\"@x>", 0, 9, "~!#", "x", "~!#@x", Q),

    /* Source routes (§4.1.2 A-d-l, Appendix C): read, checked, discarded. */
    OK("<@r1.example,@r2.example:u@x.example>", 0, 37, "u", "x.example", "u@x.example", 0),
    OK("<@r:u@x>", N, 8, "u", "x", "u@x", 0), NO("<@x>", 0, 553, "5.1.3"),
    NO("<@a,b:c@d>", 0, 553, "5.1.3"), NO("<@a:>", 0, 553, "5.1.3"),
    NO("<@[1.2.3.4]:a@b>", 0, 553, "5.1.3"), NO("<@-a:u@b>", N, 553, "5.1.7"),
    NO("<@a,:u@b>", 0, 553, "5.1.3"), NO("<@a;u@b>", 0, 553, "5.1.3"),
    NO("<@m\xc3\xbcnchen.de:u@b>", 0, 553, "5.6.7"),
    OK("<@m\xc3\xbcnchen.de:u@b>", U, 18, "u", "b", "u@b", 0),

    /* Address literals (§4.1.3), checked with inet_pton. */
    OK("<u@[192.0.2.1]>", 0, 15, "u", "[192.0.2.1]", "u@[192.0.2.1]", L),
    OK("<u@[IPv6:2001:db8::1]>", 0, 22, "u", "[IPv6:2001:db8::1]", "u@[IPv6:2001:db8::1]", L),
    OK("<u@[ipv6:::1]>", 0, 14, "u", "[ipv6:::1]", "u@[ipv6:::1]", L),
    OK("<u@[IPv6:::ffff:192.0.2.1]>", 0, 27, "u", "[IPv6:::ffff:192.0.2.1]",
	"u@[IPv6:::ffff:192.0.2.1]", L),
    OK("<u@[IPv6:2001:DB8::A]>", 0, 22, "u", "[IPv6:2001:DB8::A]", "u@[IPv6:2001:DB8::A]", L),
    NO("<u@[1.2.3]>", 0, 553, "5.1.3"), NO("<u@[256.1.1.1]>", 0, 553, "5.1.3"),
    NO("<u@[01.2.3.4]>", 0, 553, "5.1.3"), NO("<u@[1.2.3.4.5]>", 0, 553, "5.1.3"),
    NO("<u@[IPv6:1::2::3]>", 0, 553, "5.1.3"), NO("<u@[IPv6:fe80::1%eth0]>", 0, 553, "5.1.3"),
    NO("<u@[2001:db8::1]>", 0, 553, "5.1.3"), NO("<u@[IPv6:1.2.3.4]>", 0, 553, "5.1.3"),
    NO("<u@[x-tag:stuff]>", 0, 553, "5.1.3"), NO("<u@[]>", 0, 553, "5.1.3"),
    NO("<u@[1.2.3.4>", 0, 553, "5.1.3"), NO("<u@[1.2.3.4]x>", 0, 553, "5.1.3"),
    NO("<u@[1.2.3.4] >", 0, 553, "5.1.3"), NO("<u@[ 1.2.3.4]>", 0, 553, "5.1.3"),
    NO("<u@[1.2.3.4\\]>", 0, 553, "5.1.3"), NO("<u@[IPv6:::1", 0, 553, "5.1.3"),

    /* <postmaster> (§4.1.1.3): RCPT only, bare, any case. */
    OK("<postmaster>", PM, 12, "postmaster", "", "postmaster", 0),
    OK("<PostMaster>", PM | U, 12, "PostMaster", "", "PostMaster", 0),
    OK("<postmaster@x>", PM, 14, "postmaster", "x", "postmaster@x", 0),
    NO("<postmaster>", 0, 553, "5.1.3"), NO("<postmaster>", N, 553, "5.1.7"),
    NO("<\"postmaster\">", PM, 553, "5.1.3"), NO("<@a:postmaster>", PM, 553, "5.1.3"),
    NO("<postmasters>", PM, 553, "5.1.3"), NO("<postmaster", PM, 501, "5.5.4"),

    /* UTF-8 (RFC 6531 §3.3), only with SMTPUTF8, only well-formed. */
    OK("<j\xc3\xb6s\xc3\xa9@ex\xc3\xa4mple.org>", U, 21, "j\xc3\xb6s\xc3\xa9", "ex\xc3\xa4mple.org",
	"j\xc3\xb6s\xc3\xa9@ex\xc3\xa4mple.org", X),
    OK("<u@\xc3\x89XAMPLE.org>", U, 16, "u", "\xc3\x89xample.org", "u@\xc3\x89xample.org", X),
    OK("<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>", U, 22,
	"\xe7\x94\xa8\xe6\x88\xb7", "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
	"\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a", X),
    OK("<\xf0\x9f\x98\x80@x>", U, 8, "\xf0\x9f\x98\x80", "x", "\xf0\x9f\x98\x80@x", X),
    OK("<a\xc2\xa0"
       "b@x>",
	U, 8,
	"a\xc2\xa0"
	"b",
	"x",
	"a\xc2\xa0"
	"b@x",
	X),
    OK("<\"\xc3\xbc x\"@y>", U, 10, "\xc3\xbc x", "y", "\"\xc3\xbc x\"@y", Q | X),
    OK("<\xf4\x8f\xbf\xbf@x>", U, 8, "\xf4\x8f\xbf\xbf", "x", "\xf4\x8f\xbf\xbf@x", X),
    OK("<\xed\x9f\xbf@x>", U, 7, "\xed\x9f\xbf", "x", "\xed\x9f\xbf@x", X),
    NO("<j\xc3\xb6s\xc3\xa9@example.org>", 0, 553, "5.6.7"),
    NO("<u@ex\xc3\xa4mple.org>", N, 553, "5.6.7"), NO("<\"\xc3\xbc\"@y>", 0, 553, "5.6.7"),
    NO("<u@[1.2.3.\xc3\xa4]>", U, 553, "5.1.3"),
    NO("<\xc0\xaf@x>", U, 553, "5.1.3"),         /* overlong '/' */
    NO("<\xc1\xbf@x>", U, 553, "5.1.3"),         /* overlong */
    NO("<\xe0\x80\xaf@x>", U, 553, "5.1.3"),     /* overlong, 3 octets */
    NO("<\xf0\x80\x80\xaf@x>", U, 553, "5.1.3"), /* overlong, 4 octets */
    NO("<\xed\xa0\x80@x>", U, 553, "5.1.3"),     /* surrogate U+D800 */
    NO("<\xed\xbf\xbf@x>", U, 553, "5.1.3"),     /* surrogate U+DFFF */
    NO("<\xf4\x90\x80\x80@x>", U, 553, "5.1.3"), /* U+110000 */
    NO("<\xf5\x80\x80\x80@x>", U, 553, "5.1.3"), NO("<\xff@x>", U, 553, "5.1.3"),
    NO("<\x80@x>", U, 553, "5.1.3"),     /* lone continuation */
    NO("<\xc3@x>", U, 553, "5.1.3"),     /* truncated */
    NO("<\xe4\xbe@x>", U, 553, "5.1.3"), /* truncated */
    NO("<\xc2\x85@x>", U, 553, "5.1.3"), /* C1 control NEL */
    NO("<\xc2\x9b@x>", U, 553, "5.1.3"), /* C1 control CSI */
    NO("<u@\xc2\x85.x>", U, 553, "5.1.3"), NO("<u@\xed\xa0\x80.x>", U, 553, "5.1.3"),
    NO("<\"\xc0\xaf\"@x>", U, 553, "5.1.3"),
    NO("<\"\\\xc3\xbc\"@x>", U, 553, "5.1.3"), /* quoted-pair is ASCII only */

    /* Framing: 501 5.5.4. */
    NO("", 0, 501, "5.5.4"), NO("a@b", 0, 501, "5.5.4"), NO(" <a@b>", 0, 501, "5.5.4"),
    NO("<a@b", 0, 501, "5.5.4"), NO("<a@b.c", N, 501, "5.5.4"), NO("<a", 0, 501, "5.5.4"),
    NO("<", N, 501, "5.5.4"), NO("<a@", 0, 501, "5.5.4"), NO("<\"a b", 0, 501, "5.5.4"),

    /* Bad mailboxes: 553 5.1.3 (RCPT) or 5.1.7 (MAIL). */
    NO("<a@b c>", 0, 553, "5.1.3"), NO("<a@b c>", N, 553, "5.1.7"), NO("<a>", 0, 553, "5.1.3"),
    NO("<a@>", 0, 553, "5.1.3"), NO("<@>", 0, 553, "5.1.3"), NO("<a@.b>", 0, 553, "5.1.3"),
    NO("<a@b.>", 0, 553, "5.1.3"), NO("<a@b..c>", 0, 553, "5.1.3"), NO("<a@-b.c>", 0, 553, "5.1.3"),
    NO("<a@b-.c>", 0, 553, "5.1.3"), NO("<a@b_c.d>", 0, 553, "5.1.3"),
    NO("<a@b,c>", 0, 553, "5.1.3"), NO("<.a@b>", 0, 553, "5.1.3"), NO("<a.@b>", 0, 553, "5.1.3"),
    NO("<a..b@b>", 0, 553, "5.1.3"), NO("<a b@c>", 0, 553, "5.1.3"), NO("<a@b@c>", 0, 553, "5.1.3"),
    NO("<a(b)@c>", 0, 553, "5.1.3"), NO("<a,b@c>", 0, 553, "5.1.3"),
    NO("<a\\b@c>", 0, 553, "5.1.3"), NO("<\"\"@x>", 0, 553, "5.1.3"),
    NO("<\"\"@x>", N, 553, "5.1.7"), NO("<\"a\"b@x>", 0, 553, "5.1.3"),
    NO("<a\"b\"@x>", 0, 553, "5.1.3"), NO("<\"a\x01\"@x>", 0, 553, "5.1.3"),
    NO("<\"a\t\"@x>", 0, 553, "5.1.3"), NO("<\"a\\\x7f\"@x>", 0, 553, "5.1.3"),
    NO("<\"a\\\x01\"@x>", 0, 553, "5.1.3"), NO("<\"a\r\n\"@x>", 0, 553, "5.1.3"),
    NO("<a\r@b>", 0, 553, "5.1.3"), NO("<a@b\r\n>", 0, 553, "5.1.3"),
    NO("<a\x7f@b>", 0, 553, "5.1.3"), NO("<a@b\x00>", 0, 553, "5.1.3"),
    NO("<a\x00@b>", 0, 553, "5.1.3"), NO("<<a@b>>", 0, 553, "5.1.3"),
    OK("<a@b>>", 0, 5, "a", "b", "a@b", 0), /* stops at the first '>' */
};

/* The input made printable for a test name. */
static const char *
vis(const char *s, size_t n)
{
	static char out[256];
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < sizeof(out); i++) {
		if ((uint8_t)s[i] >= 32 && (uint8_t)s[i] < 127 && s[i] != '\\')
			out[o++] = s[i];
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", (uint8_t)s[i]);
	}
	out[o] = '\0';
	return out;
}

static bool
same_path(const struct smtp_path *a, const struct smtp_path *b)
{
	return a->null == b->null && a->utf8 == b->utf8 && a->domain_literal == b->domain_literal &&
	    strcmp(a->local, b->local) == 0 && strcmp(a->domain, b->domain) == 0;
}

static void
table(void)
{
	struct smtp_path p, back;
	struct smtp_perr e;
	char str[SMTP_ADDR_MAX + 1], wrapped[SMTP_ADDR_MAX + 3];
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pcase *c = &cases[i];

		memset(&e, 0, sizeof(e));
		r = smtp_path_parse(c->in, c->len, c->flags, &p, &e);
		if (c->ret < 0) {
			is_int(r, -1, "refuse %zu: %s", i, vis(c->in, c->len));
			is_int(e.code, c->code, "refuse %zu: code (%s)", i, e.text ? e.text : "");
			is_str(e.enh, c->enh, "refuse %zu: enhanced code", i);
			ok(e.text != NULL && strpbrk(e.text, "\r\n") == NULL,
			    "refuse %zu: one-line text", i);
			continue;
		}
		is_int(r, c->ret, "accept %zu: %s", i, vis(c->in, c->len));
		if (r < 0) {
			diag("error %d %s %s", e.code, e.enh, e.text);
			continue;
		}
		is_str(p.local, c->local, "accept %zu: local part", i);
		is_str(p.domain, c->domain, "accept %zu: domain", i);
		is_int(p.quoted, (c->bits & Q) != 0, "accept %zu: quoted", i);
		is_int(p.domain_literal, (c->bits & L) != 0, "accept %zu: literal", i);
		is_int(p.utf8, (c->bits & X) != 0, "accept %zu: utf8", i);
		is_int(p.null, (c->bits & Z) != 0, "accept %zu: null", i);
		n = smtp_path_str(&p, str, sizeof(str));
		is_str(str, c->str, "accept %zu: smtp_path_str", i);
		is_int(n, strlen(c->str), "accept %zu: smtp_path_str length", i);
		/* Round trip: <str> parses to the same mailbox. */
		(void)snprintf(wrapped, sizeof(wrapped), "<%s>", str);
		r = smtp_path_parse(wrapped, strlen(wrapped), c->flags, &back, &e);
		ok(r == (int)strlen(wrapped) && same_path(&p, &back), "accept %zu: round trip", i);
	}
}

/* Length limits of §4.5.3.1, exactly at and one past each. */
static void
limits(void)
{
	char buf[1024], dom[300];
	struct smtp_path p;
	struct smtp_perr e;
	size_t n;
	int r;

	/* Local part: 64 octets (§4.5.3.1.1). */
	n = 0;
	buf[n++] = '<';
	memset(buf + n, 'l', 64);
	n += 64;
	memcpy(buf + n, "@x>", 3);
	n += 3;
	r = smtp_path_parse(buf, n, 0, &p, &e);
	is_int(r, (int)n, "local part of 64 octets");
	is_int(strlen(p.local), 64, "local part kept whole");
	buf[0] = '<';
	memset(buf + 1, 'l', 65);
	memcpy(buf + 66, "@x>", 3);
	r = smtp_path_parse(buf, 69, 0, &p, &e);
	is_int(r, -1, "local part of 65 octets");
	is_int(e.code, 553, "local part of 65: 553");
	is_str(e.text, "Local part longer than 64 octets", "local part of 65: text");

	/* Quoted: the unquoted length counts; 64 octets of quoted-pairs is fine. */
	n = 0;
	buf[n++] = '<';
	buf[n++] = '"';
	for (r = 0; r < 64; r++) {
		buf[n++] = '\\';
		buf[n++] = '"';
	}
	buf[n++] = '"';
	memcpy(buf + n, "@x>", 3);
	n += 3;
	r = smtp_path_parse(buf, n, 0, &p, &e);
	is_int(r, (int)n, "quoted local part of 64 escaped octets");
	{
		char out[SMTP_ADDR_MAX + 1];
		size_t len = smtp_path_str(&p, out, sizeof(out));

		is_int(len, 64 * 2 + 2 + 2, "escaped form length");
		ok(len < sizeof(out), "worst-case quoting fits SMTP_ADDR_MAX");
	}
	memcpy(buf + 1, "\"\\\"", 3);
	n = 1;
	buf[n++] = '"';
	for (r = 0; r < 65; r++) {
		buf[n++] = '\\';
		buf[n++] = '"';
	}
	buf[n++] = '"';
	memcpy(buf + n, "@x>", 3);
	n += 3;
	r = smtp_path_parse(buf, n, 0, &p, &e);
	is_int(r, -1, "quoted local part of 65 octets");

	/* Labels: 63 octets. */
	n = 0;
	memcpy(buf, "<a@", 3);
	n = 3;
	memset(buf + n, 'd', 63);
	n += 63;
	memcpy(buf + n, ".x>", 3);
	n += 3;
	r = smtp_path_parse(buf, n, 0, &p, &e);
	is_int(r, (int)n, "label of 63");
	memset(buf + 3, 'd', 64);
	memcpy(buf + 67, ".x>", 3);
	r = smtp_path_parse(buf, 70, 0, &p, &e);
	is_int(r, -1, "label of 64");
	is_int(e.code, 553, "label of 64: 553");

	/* Domain: 255 octets valid on its own, 256 not (§4.5.3.1.2). */
	memset(dom, 'a', sizeof(dom));
	dom[63] = dom[127] = dom[191] = '.';
	ok(smtp_domain_valid(dom, 255, false), "domain of 255");
	ok(!smtp_domain_valid(dom, 256, false), "domain of 256");
	memset(dom, 'a', sizeof(dom));
	dom[63] = dom[127] = dom[191] = dom[254] = '.';
	ok(!smtp_domain_valid(dom, 256, false), "domain of 256 with a label of 1");

	/* Path: 256 octets including "<" and ">" (§4.5.3.1.3). */
	memset(dom, 'a', sizeof(dom));
	dom[63] = dom[127] = dom[191] = '.';
	n = 0;
	memcpy(buf, "<l@", 3);
	n = 3;
	memcpy(buf + n, dom, 252); /* 3 + 252 + 1 = 256 */
	n += 252;
	buf[n++] = '>';
	r = smtp_path_parse(buf, n, 0, &p, &e);
	is_int(r, 256, "path of 256");
	memcpy(buf + 3, dom, 253);
	buf[256] = '>';
	r = smtp_path_parse(buf, 257, 0, &p, &e);
	is_int(r, -1, "path of 257");
	is_int(e.code, 553, "path of 257: 553");
	is_str(e.text, "Address longer than 256 octets", "path of 257: text");
	memcpy(buf + 3, dom, 255);
	buf[258] = '>';
	r = smtp_path_parse(buf, 259, 0, &p, &e);
	is_int(r, -1, "domain of 255 in a path");
	memcpy(buf + 3, dom, 256);
	buf[259] = '>';
	r = smtp_path_parse(buf, 260, 0, &p, &e);
	is_int(r, -1, "domain of 256 in a path");
	is_str(e.text, "Domain longer than 255 octets", "domain of 256: text");
}

static void
domains(void)
{
	static const struct {
		const char *s;
		bool utf8_ok;
		bool ok;
	} d[] = {
	    {"example.org", false, true},
	    {"EXAMPLE.ORG", false, true},
	    {"a", false, true},
	    {"localhost", false, true},
	    {"1.2.3.4", false, true},
	    {"a-b.c-d", false, true},
	    {"xn--mnchen-3ya.de", false, true},
	    {"m\xc3\xbcnchen.de", true, true},
	    {"m\xc3\xbcnchen.de", false, false},
	    {"-a", false, false},
	    {"a-", false, false},
	    {"a..b", false, false},
	    {"", false, false},
	    {".", false, false},
	    {"a.", false, false},
	    {".a", false, false},
	    {"a_b", false, false},
	    {"a b", false, false},
	    {"a/b", false, false},
	    {"[192.0.2.1]", false, true},
	    {"[IPv6:::1]", false, true},
	    {"[IPv6:2001:db8::1]", true, true},
	    {"[::1]", false, false},
	    {"[1.2.3.4", false, false},
	    {"[1.2.3.4]x", false, false},
	    {"[1.2.3.4]]", false, false},
	    {"[[1.2.3.4]", false, false},
	    {"[]", false, false},
	    {"[", false, false},
	    {"]", false, false},
	    {"[IPv6:]", false, false},
	    {"[IPv6:::1 ]", false, false},
	    {"[ 1.2.3.4]", false, false},
	    {"-\xc3\xbc", true, false},
	    {"\xc3\xbc-", true, false},
	    {"\xc2\x85", true, false},
	    {"\xed\xa0\x80", true, false},
	};
	size_t i;

	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++)
		is_int(smtp_domain_valid(d[i].s, strlen(d[i].s), d[i].utf8_ok), d[i].ok,
		    "smtp_domain_valid(\"%s\", %d)", vis(d[i].s, strlen(d[i].s)), d[i].utf8_ok);
	ok(!smtp_domain_valid("a\0b", 3, false), "NUL in a domain");
	ok(!smtp_domain_valid("[1.2.3.4\0]", 10, false), "NUL in a literal");
}

static void
utf8(void)
{
	static const struct {
		const char *s;
		size_t n;
		bool ok;
	} u[] = {
	    {S(""), true},
	    {S("ascii"), true},
	    {S("\xc3\xa9"), true},
	    {S("\xc2\x80"), true}, /* C1 is well-formed UTF-8; paths refuse it separately */
	    {S("\xdf\xbf"), true},
	    {S("\xe0\xa0\x80"), true},
	    {S("\xef\xbf\xbf"), true},
	    {S("\xf0\x90\x80\x80"), true},
	    {S("\xf4\x8f\xbf\xbf"), true},
	    {S("\xc0\x80"), false},
	    {S("\xc1\xbf"), false},
	    {S("\xe0\x9f\xbf"), false},
	    {S("\xed\xa0\x80"), false},
	    {S("\xf0\x8f\xbf\xbf"), false},
	    {S("\xf4\x90\x80\x80"), false},
	    {S("\xf8\x88\x80\x80\x80"), false},
	    {S("\x80"), false},
	    {S("\xbf"), false},
	    {S("\xc3"), false},
	    {S("\xe2\x82"), false},
	    {S("\xf0\x9f\x98"), false},
	    {S("\xc3\x28"), false},
	    {S("\xe2\x28\xa1"), false},
	    {S("\xfe"), false},
	    {S("\xff"), false},
	};
	size_t i;

	for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		is_int(smtp_utf8_valid(u[i].s, u[i].n), u[i].ok, "smtp_utf8_valid case %zu", i);
}

static void
strs(void)
{
	struct smtp_path p;
	char out[8];
	size_t n;

	memset(&p, 0, sizeof(p));
	strlcpy(p.local, "abcdef", sizeof(p.local));
	strlcpy(p.domain, "example.org", sizeof(p.domain));
	memset(out, 'X', sizeof(out));
	n = smtp_path_str(&p, out, sizeof(out));
	is_int(n, 18, "truncated smtp_path_str returns the full length");
	is_str(out, "abcdef@", "truncated smtp_path_str is NUL-terminated");
	n = smtp_path_str(&p, out, 0);
	is_int(n, 18, "size 0 writes nothing and returns the length");
	p.null = true;
	n = smtp_path_str(&p, out, sizeof(out));
	is_int(n, 0, "null path length");
	is_str(out, "", "null path is empty");
	memset(&p, 0, sizeof(p));
	strlcpy(p.local, "a b", sizeof(p.local));
	n = smtp_path_str(&p, out, sizeof(out));
	is_str(out, "\"a b\"", "quoted local without domain");
}

static void
same(void)
{
	static const struct {
		const char *a, *b;
		bool fold, want;
	} t[] = {
	    {"fwd@example.test", "fwd@example.test", false, true},
	    {"fwd@example.test", "fwd@EXAMPLE.test", false, true},
	    {"fwd@example.test", "FWD@example.test", false, false},
	    {"fwd@example.test", "FWD@example.test", true, true},
	    {"fwd@example.test", "Fwd@EXAMPLE.TEST", true, true},
	    {"fwd@example.test", "fwd2@example.test", true, false},
	    {"fwd@example.test", "fwd@example.test2", true, false},
	    {"fwd@example.test", "fwd@example.tes", true, false},
	    {"fwd@example.test", "fw@dexample.test", true, false},
	    /* The domain is after the last '@': a quoted local part may hold one. */
	    {"\"a@b\"@example.test", "\"A@B\"@Example.test", true, true},
	    {"\"a@b\"@example.test", "\"a@b\"@c.test", true, false},
	    /* UTF-8 octets are never folded; the ASCII around them is. */
	    {"J\xc3\xb6rg@example.test", "j\xc3\xb6rg@example.test", true, true},
	    {"j\xc3\xb6rg@example.test", "j\xc3\x96rg@example.test", true, false},
	    {"postmaster", "POSTMASTER", true, true},
	    {"postmaster", "postmaster@example.test", true, false},
	    {"", "", true, true},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		is_int(smtp_addr_same(t[i].a, t[i].b, t[i].fold), t[i].want,
		    "smtp_addr_same case %zu (%s, %s)", i, t[i].a, t[i].b);
		is_int(smtp_addr_same(t[i].b, t[i].a, t[i].fold), t[i].want,
		    "smtp_addr_same case %zu, swapped", i);
	}
}

int
main(void)
{
	table();
	same();
	limits();
	domains();
	utf8();
	strs();
	return done_testing();
}
