/*
 * t_dns_name — dns_name.c: presentation form both ways, wire reads with every kind of bad
 * compression pointer, the length limits of RFC 1035 §2.3.4, comparisons and 0x20.
 * Vectors are byte-exact; each table row says what must happen and why.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "dns/dns.h"
#include "tap.h"

/* Text -> wire -> text. wire NULL: the text must be refused. */
static const struct {
	const char *in;
	const char *wire;
	size_t wlen;
	const char *out;
} str_cases[] = {
    {".", "\0", 1, "."},
    {"com", "\3com\0", 5, "com."},
    {"com.", "\3com\0", 5, "com."},
    {"www.Example.COM", "\3www\7Example\3COM\0", 17, "www.Example.COM."},
    {"a\\.b.c", "\3a.b\1c\0", 7, "a\\.b.c."},
    {"a\\\\b", "\3a\\b\0", 5, "a\\\\b."},
    {"\\000\\255.x", "\2\0\377\1x\0", 6, "\\000\\255.x."},
    {"a b", "\3a b\0", 5, "a\\032b."},
    {"\\065\\@", "\2A@\0", 4, "A\\@."},
    {"x\\\"y;", "\4x\"y;\0", 6, "x\\\"y\\;."},
    {"-_.1", "\2-_\0011\0", 6, "-_.1."},
    {"", NULL, 0, NULL},
    {"..", NULL, 0, NULL},
    {"a..b", NULL, 0, NULL},
    {".a", NULL, 0, NULL},
    {"a.b..", NULL, 0, NULL},
    {"a\\", NULL, 0, NULL},
    {"a\\1", NULL, 0, NULL},
    {"a\\12x", NULL, 0, NULL},
    {"a\\256", NULL, 0, NULL},
    {"a\\999.b", NULL, 0, NULL},
};

/* A message and where to read a name in it; err 0 means it must succeed. */
struct rd_case {
	const char *what;
	const char *msg;
	size_t len;
	size_t at;
	int err;
	size_t end; /* cursor after the read */
	const char *text;
};

static const struct rd_case rd_cases[] = {
    {"plain", "\3www\2mx\4test\0", 13, 0, 0, 13, "www.mx.test."},
    {"root", "\0", 1, 0, 0, 1, "."},
    {"pointer back", "\2mx\4test\0\3www\300\0", 16, 9, 0, 15, "www.mx.test."},
    {"pointer only", "\4test\0\300\0", 8, 6, 0, 8, "test."},
    {"pointer chain", "\4test\0\2mx\300\0\3www\300\6", 17, 11, 0, 17, "www.mx.test."},
    {"cursor stops after first pointer", "\4test\0\300\0\1x", 10, 6, 0, 8, "test."},
    {"pointer to itself", "\300\0", 2, 0, ELOOP, 0, NULL},
    {"pointer to itself later", "\1a\0\300\3", 5, 3, ELOOP, 0, NULL},
    /* Two pointers to each other: one of them always points forward. */
    {"two pointers to each other, from 2", "\300\2\300\0", 4, 2, ERANGE, 0, NULL},
    {"two pointers to each other, from 0", "\300\2\300\0", 4, 0, ERANGE, 0, NULL},
    {"pointer cycle through labels", "\1a\300\0", 4, 2, ELOOP, 0, NULL},
    {"pointer into own labels", "\1a\1b\300\2", 6, 0, ELOOP, 0, NULL},
    {"forward pointer", "\300\2\1a\0", 5, 0, ERANGE, 0, NULL},
    {"pointer past end", "\1a\300\77", 4, 0, ERANGE, 0, NULL},
    {"pointer high bits past end", "\377\377", 2, 0, ERANGE, 0, NULL},
    {"label type 0x40", "\100a\0", 3, 0, EPROTO, 0, NULL},
    {"label type 0x80", "\200a\0", 3, 0, EPROTO, 0, NULL},
    {"truncated label", "\3ww", 3, 0, EBADMSG, 0, NULL},
    {"no root label", "\3www", 4, 0, EBADMSG, 0, NULL},
    {"truncated pointer", "\1a\300", 3, 0, EBADMSG, 0, NULL},
    {"empty", "", 0, 0, EBADMSG, 0, NULL},
};

static void
test_str(void)
{
	struct dns_name n;
	char s[DNS_NAME_STRLEN];
	size_t i;
	int r;

	for (i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
		memset(&n, 0xa5, sizeof(n));
		r = dns_name_from_str(&n, str_cases[i].in);
		if (str_cases[i].wire == NULL) {
			is_int(r, -1, "from_str refuses \"%s\"", str_cases[i].in);
			continue;
		}
		is_int(r, 0, "from_str \"%s\"", str_cases[i].in);
		is_int(n.len, str_cases[i].wlen, "  wire length");
		is_mem(n.wire, str_cases[i].wire, str_cases[i].wlen, "  wire bytes");
		is_int(
		    dns_name_to_str(&n, s, sizeof(s)), strlen(str_cases[i].out), "  to_str length");
		is_str(s, str_cases[i].out, "  to_str text");
	}
	is_int(dns_name_from_str(&n, NULL), -1, "from_str NULL");
}

static void
test_limits(void)
{
	struct dns_name n;
	char s[600], t[DNS_NAME_STRLEN];
	size_t i;

	/* A 63-octet label is fine, 64 is not (RFC 1035 §2.3.4). */
	memset(s, 'a', 63);
	s[63] = '\0';
	is_int(dns_name_from_str(&n, s), 0, "63-octet label");
	is_int(n.len, 65, "  wire 65");
	s[63] = 'a';
	s[64] = '\0';
	is_int(dns_name_from_str(&n, s), -1, "64-octet label refused");
	memcpy(s + 64, ".com", 5);
	is_int(dns_name_from_str(&n, s), -1, "64-octet first label refused");
	/* 63.63.63.61 = 64+64+64+62+1 = 255 octets: the largest name. */
	memset(s, 'b', sizeof(s));
	s[63] = s[127] = s[191] = '.';
	s[253] = '\0';
	is_int(dns_name_from_str(&n, s), 0, "255-octet name");
	is_int(n.len, 255, "  wire 255");
	s[253] = '.';
	s[254] = '\0';
	is_int(dns_name_from_str(&n, s), 0, "255-octet name, trailing dot");
	is_int(n.len, 255, "  wire 255");
	s[253] = 'b';
	is_int(dns_name_from_str(&n, s), -1, "256-octet name refused");
	s[253] = '.';
	s[254] = 'c';
	s[255] = '\0';
	is_int(dns_name_from_str(&n, s), -1, "256-octet name (one more label) refused");
	/* 127 one-letter labels: 255 octets; the 128th makes 257. */
	for (i = 0; i < 127; i++) {
		s[2 * i] = 'x';
		s[2 * i + 1] = '.';
	}
	s[254] = '\0';
	is_int(dns_name_from_str(&n, s), 0, "127 labels");
	is_int(dns_name_labels(&n), 127, "  127 labels counted");
	s[254] = 'x';
	s[255] = '\0';
	is_int(dns_name_from_str(&n, s), -1, "128 labels refused");
	/* Escapes count as one octet each. */
	for (i = 0; i < 63; i++)
		memcpy(s + 4 * i, "\\255", 4);
	s[252] = '\0';
	is_int(dns_name_from_str(&n, s), 0, "63 escaped octets");
	is_int(dns_name_to_str(&n, t, sizeof(t)), 253, "  printed back as \\DDD");
	is_int(strncmp(s, t, 252), 0, "  same text");
	/* to_str into a short buffer: cut, terminated, full length returned. */
	dns_name_from_str(&n, "www.mx.test");
	is_int(dns_name_to_str(&n, t, 5), 12, "short buffer: length needed");
	is_str(t, "www.", "short buffer: cut and terminated");
}

static void
test_read(void)
{
	const struct rd_case *c;
	struct buf_rd b;
	struct dns_name n;
	char s[DNS_NAME_STRLEN];
	size_t i;
	int r;

	for (i = 0; i < sizeof(rd_cases) / sizeof(rd_cases[0]); i++) {
		c = &rd_cases[i];
		buf_rd_init(&b, c->msg, c->len);
		buf_seek(&b, c->at);
		errno = 0;
		r = dns_name_read(&b, &n);
		if (c->err != 0) {
			ok(r == -1 && errno == c->err && !buf_rd_ok(&b), "read fails: %s", c->what);
			continue;
		}
		if (!ok(r == 0 && buf_rd_ok(&b), "read: %s", c->what))
			continue;
		is_int(b.off, c->end, "  cursor after %s", c->what);
		dns_name_to_str(&n, s, sizeof(s));
		is_str(s, c->text, "  name of %s", c->what);
	}
}

/* Appends a label of n copies of c. */
static size_t
label(uint8_t *m, size_t len, size_t n, char c)
{
	m[len] = (uint8_t)n;
	memset(m + len + 1, c, n);
	return len + 1 + n;
}

/* Names at the edge of 255 octets and of DNS_PTR_HOPS, built in a buffer. */
static void
test_read_limits(void)
{
	uint8_t m[1024];
	struct buf_rd b;
	struct dns_name n;
	size_t len, i, start;
	int r;

	/* 63.63.63.61 + root = 64+64+64+62+1 = 255 octets: the largest name. */
	len = label(m, 0, 63, 'a');
	len = label(m, len, 63, 'a');
	len = label(m, len, 63, 'a');
	len = label(m, len, 61, 'a');
	m[len++] = 0;
	buf_rd_init(&b, m, len);
	is_int(dns_name_read(&b, &n), 0, "255 octets in labels");
	is_int(n.len, 255, "  wire 255");
	/* 63.63.63.62 + root = 256 octets. */
	len = label(m, 192, 62, 'a');
	m[len++] = 0;
	buf_rd_init(&b, m, len);
	errno = 0;
	r = dns_name_read(&b, &n);
	ok(r == -1 && errno == EMSGSIZE, "256 octets in labels refused");
	/* A label of 64 octets is a label type 0x40 on the wire. */
	len = label(m, 0, 64, 'a');
	m[len++] = 0;
	buf_rd_init(&b, m, len);
	errno = 0;
	r = dns_name_read(&b, &n);
	ok(r == -1 && errno == EPROTO, "64-octet label refused");

	/*
	 * Through compression: at 0 a 191-octet name (63.63.61 + root). A name of a
	 * 1-octet label and a 61-octet label then a pointer to it has 2 + 62 + 191 = 255
	 * octets; with a 62-octet label it has 256.
	 */
	len = label(m, 0, 63, 'b');
	len = label(m, len, 63, 'b');
	len = label(m, len, 61, 'b');
	m[len++] = 0;
	start = len;
	len = label(m, start, 1, 'q');
	len = label(m, len, 61, 'd');
	m[len++] = 0xc0;
	m[len++] = 0;
	buf_rd_init(&b, m, len);
	buf_seek(&b, start);
	is_int(dns_name_read(&b, &n), 0, "255 octets via compression");
	is_int(n.len, 255, "  wire 255");
	is_int(b.off, len, "  cursor after the pointer");
	len = label(m, start, 1, 'q');
	len = label(m, len, 62, 'd');
	m[len++] = 0xc0;
	m[len++] = 0;
	buf_rd_init(&b, m, len);
	buf_seek(&b, start);
	errno = 0;
	r = dns_name_read(&b, &n);
	ok(r == -1 && errno == EMSGSIZE, "256 octets via compression refused");
	/* Through two pointers: at 191 a 62-octet label then -> 0 (254 octets), then a
	 * 1-octet label and -> 191: 2 + 254 = 256. */
	start = 191;
	len = label(m, start, 62, 'e');
	m[len++] = 0xc0;
	m[len++] = 0;
	buf_rd_init(&b, m, len);
	buf_seek(&b, start);
	is_int(dns_name_read(&b, &n), 0, "254 octets via a pointer");
	is_int(n.len, 254, "  wire 254");
	i = len;
	len = label(m, len, 1, 'f');
	m[len++] = 0xc0;
	m[len++] = (uint8_t)start;
	buf_rd_init(&b, m, len);
	buf_seek(&b, i);
	errno = 0;
	r = dns_name_read(&b, &n);
	ok(r == -1 && errno == EMSGSIZE, "256 octets via two pointers refused");

	/* DNS_PTR_HOPS pointers in a chain are followed; one more is refused. */
	m[0] = 1;
	m[1] = 'h';
	m[2] = 0;
	for (i = 0; i <= DNS_PTR_HOPS; i++) {
		m[3 + 2 * i] = 0xc0;
		m[3 + 2 * i + 1] = (uint8_t)(i == 0 ? 0 : 3 + 2 * (i - 1));
	}
	buf_rd_init(&b, m, 3 + 2 * (DNS_PTR_HOPS + 1));
	buf_seek(&b, 3 + 2 * (DNS_PTR_HOPS - 1));
	is_int(dns_name_read(&b, &n), 0, "%d hops followed", DNS_PTR_HOPS);
	is_int(b.off, 3 + 2 * DNS_PTR_HOPS, "  cursor after the first pointer");
	buf_rd_init(&b, m, 3 + 2 * (DNS_PTR_HOPS + 1));
	buf_seek(&b, 3 + 2 * DNS_PTR_HOPS);
	errno = 0;
	r = dns_name_read(&b, &n);
	ok(r == -1 && errno == ELOOP, "%d hops refused", DNS_PTR_HOPS + 1);
}

static void
test_write(void)
{
	struct dns_name n;
	struct buf_wr w;
	uint8_t out[32];

	dns_name_from_str(&n, "mx.test.");
	buf_wr_init(&w, out, sizeof(out));
	dns_name_write(&w, &n);
	ok(buf_wr_ok(&w) && w.len == 9 && memcmp(out, "\2mx\4test\0", 9) == 0, "write: wire bytes");
	buf_wr_init(&w, out, 8);
	dns_name_write(&w, &n);
	ok(!buf_wr_ok(&w), "write: does not fit");
	memset(&n, 0, sizeof(n));
	buf_wr_init(&w, out, sizeof(out));
	dns_name_write(&w, &n);
	ok(!buf_wr_ok(&w), "write: an unset name is an error");
}

static void
test_compare(void)
{
	struct dns_name a, b, c, root;
	char s[DNS_NAME_STRLEN];
	int i, letters, differ = 0;

	dns_name_from_str(&a, "WWW.Mx.Test");
	dns_name_from_str(&b, "www.mx.test.");
	dns_name_from_str(&c, "mx.test");
	dns_name_from_str(&root, ".");
	ok(dns_name_eq(&a, &b), "eq folds case");
	ok(!dns_name_eq_exact(&a, &b), "eq_exact does not");
	ok(dns_name_eq_exact(&b, &b), "eq_exact same");
	ok(!dns_name_eq(&a, &c), "different names");
	dns_name_from_str(&c, "www.mx.tesT\\128");
	dns_name_from_str(&b, "www.mx.test\\160");
	ok(!dns_name_eq(&b, &c), "no folding beyond ASCII");
	dns_name_lower(&a);
	dns_name_to_str(&a, s, sizeof(s));
	is_str(s, "www.mx.test.", "lower");
	is_int(dns_name_labels(&a), 3, "labels 3");
	is_int(dns_name_labels(&root), 0, "labels root 0");

	dns_name_from_str(&c, "Mx.TEST");
	ok(dns_name_under(&a, &c), "www.mx.test under mx.test");
	ok(dns_name_under(&c, &c), "mx.test under itself");
	ok(dns_name_under(&a, &root), "under the root");
	ok(!dns_name_under(&c, &a), "mx.test not under www.mx.test");
	dns_name_from_str(&b, "x.test");
	dns_name_from_str(&c, "mx.test");
	ok(!dns_name_under(&c, &b), "mx.test not under x.test (label boundary)");
	dns_name_from_str(&b, "a.mx.test");
	dns_name_from_str(&c, "\\001a.mx.test");
	ok(!dns_name_under(&c, &b) && !dns_name_under(&b, &c), "length octets matter");

	/* 0x20: every letter gets a random case; non-letters never change. */
	dns_name_from_str(&a, "abcdefghijklmnopqrstuvwxyz0123-abcdefghijklmnopqrstuvwxyz.test");
	for (i = 0; i < 8; i++) {
		b = a;
		letters = dns_name_0x20(&b);
		if (!dns_name_eq_exact(&a, &b))
			differ++;
		if (i == 0) {
			is_int(letters, 56, "0x20: 56 letters");
			ok(dns_name_eq(&a, &b), "0x20: same name");
			ok(memcmp(b.wire + 27, "0123-", 5) == 0, "0x20: digits kept");
		}
	}
	ok(differ >= 7, "0x20 changes the case (%d of 8)", differ);
	dns_name_from_str(&a, "1-2.3");
	is_int(dns_name_0x20(&a), 0, "0x20: no letters");
}

/* The rule the word-at-a-time code must match: ASCII A-Z to a-z, nothing else. */
static uint8_t
ref_fold(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

static bool
ref_letter(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* A hand-built name of len octets (any values: eq/lower/0x20 do not walk labels). */
static void
fill(struct dns_name *n, size_t len, unsigned seed)
{
	size_t i;

	memset(n->wire, 0xa5, sizeof(n->wire));
	n->len = (uint8_t)len;
	for (i = 0; i < len; i++)
		n->wire[i] = (uint8_t)(i * 37 + seed * 101 + (i >> 3) * 7);
}

static const size_t lens[] = {1, 2, 7, 8, 9, 11, 15, 16, 17, 23, 24, 25, 63, 64, 65, 254, 255};

/*
 * dns_name_lower and dns_name_eq against ref_fold: every octet value at every position of
 * names of every interesting length (below a word, whole words, a word and a tail that
 * overlaps the last word), and the octets after len never touched.
 */
static void
test_fold_exhaustive(void)
{
	struct dns_name a, b;
	size_t li, len, i, pos[6];
	unsigned v, x, y, seed;
	int bad_lower = 0, bad_tail = 0, bad_eq = 0, bad_pair = 0;

	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		len = lens[li];
		for (seed = 0; seed < 256; seed++) {
			fill(&a, len, seed);
			b = a;
			dns_name_lower(&b);
			for (i = 0; i < len; i++)
				if (b.wire[i] != ref_fold(a.wire[i]))
					bad_lower++;
			for (i = len; i < sizeof(b.wire); i++)
				if (b.wire[i] != 0xa5)
					bad_tail++;
			/* Flipping the case of every letter keeps the name equal. */
			b = a;
			for (i = 0; i < len; i++)
				if (ref_letter(b.wire[i]))
					b.wire[i] ^= 0x20;
			if (!dns_name_eq(&a, &b) || !dns_name_eq(&b, &a))
				bad_eq++;
			/* One octet changed to each value: equal exactly when it folds the same. */
			i = (seed * 13) % len;
			for (v = 0; v < 256; v++) {
				b = a;
				b.wire[i] = (uint8_t)v;
				if (dns_name_eq(&a, &b) !=
				    (ref_fold(a.wire[i]) == ref_fold((uint8_t)v)))
					bad_eq++;
			}
		}
		/* Every pair of values at a few positions, the rest the same. */
		if (len != 7 && len != 16 && len != 25 && len != 255)
			continue;
		pos[0] = 0;
		pos[1] = len / 2;
		pos[2] = len - 1;
		pos[3] = len > 8 ? 8 : 0;
		pos[4] = len > 8 ? len - 8 : 0;
		pos[5] = len > 3 ? 3 : 0;
		for (i = 0; i < 6; i++) {
			fill(&a, len, (unsigned)i);
			b = a;
			for (x = 0; x < 256; x++)
				for (y = 0; y < 256; y++) {
					a.wire[pos[i]] = (uint8_t)x;
					b.wire[pos[i]] = (uint8_t)y;
					if (dns_name_eq(&a, &b) !=
					    (ref_fold((uint8_t)x) == ref_fold((uint8_t)y)))
						bad_pair++;
				}
		}
	}
	is_int(bad_lower, 0, "lower: every octet as ref_fold, lengths 1..255");
	is_int(bad_tail, 0, "lower: octets after len untouched");
	is_int(bad_eq, 0, "eq: case-flipped names equal, one changed octet as ref_fold");
	is_int(bad_pair, 0, "eq: all 65536 octet pairs at byte, word and overlap positions");
	fill(&a, 9, 1);
	fill(&b, 10, 1);
	ok(!dns_name_eq(&a, &b), "eq: different lengths");
}

/* 0x20 at every length: letters keep their letter, all else is kept, octets after len too. */
static void
test_0x20_exhaustive(void)
{
	struct dns_name a, b;
	uint8_t seen_up[DNS_NAME_MAX], seen_low[DNS_NAME_MAX];
	size_t li, len, i;
	unsigned seed;
	int t, bad = 0, letters, want, never = 0;

	for (li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		len = lens[li];
		for (seed = 0; seed < 16; seed++) {
			fill(&a, len, seed);
			want = 0;
			for (i = 0; i < len; i++)
				want += ref_letter(a.wire[i]);
			memset(seen_up, 0, sizeof(seen_up));
			memset(seen_low, 0, sizeof(seen_low));
			for (t = 0; t < 64; t++) {
				b = a;
				letters = dns_name_0x20(&b);
				if (letters != want || b.len != a.len)
					bad++;
				for (i = 0; i < len; i++) {
					if (ref_fold(b.wire[i]) != ref_fold(a.wire[i]))
						bad++;
					if (!ref_letter(a.wire[i]) && b.wire[i] != a.wire[i])
						bad++;
					if (b.wire[i] >= 'A' && b.wire[i] <= 'Z')
						seen_up[i] = 1;
					if (b.wire[i] >= 'a' && b.wire[i] <= 'z')
						seen_low[i] = 1;
				}
				for (i = len; i < sizeof(b.wire); i++)
					if (b.wire[i] != 0xa5)
						bad++;
			}
			/* 64 tries: a letter never seen in both cases has odds 2^-63. */
			for (i = 0; i < len; i++)
				if (ref_letter(a.wire[i]) && !(seen_up[i] && seen_low[i]))
					never++;
		}
	}
	is_int(bad, 0, "0x20: same letters, count right, non-letters and tail kept");
	is_int(never, 0, "0x20: every letter position takes both cases (head, words, tail)");
}

/* Compressed names come out as the exact uncompressed wire, segment by segment. */
static void
test_read_segments(void)
{
	/* 0: "\4test\0"; 6: "\2mx" -> 0; 11: "\3www\4mail" -> 6 */
	static const uint8_t m[] = "\4test\0\2mx\300\0\3www\4mail\300\6";
	struct buf_rd b;
	struct dns_name n;

	buf_rd_init(&b, m, sizeof(m) - 1);
	buf_seek(&b, 11);
	if (ok(dns_name_read(&b, &n) == 0, "three segments")) {
		is_int(n.len, 18, "  wire 18");
		is_mem(n.wire, "\3www\4mail\2mx\4test\0", 18, "  wire bytes in order");
		is_int(b.off, sizeof(m) - 1, "  cursor after the first pointer");
	}
	buf_rd_init(&b, m, sizeof(m) - 1);
	buf_seek(&b, 20);
	if (ok(dns_name_read(&b, &n) == 0, "a name that is only pointers")) {
		is_int(n.len, 9, "  wire 9");
		is_mem(n.wire, "\2mx\4test\0", 9, "  wire bytes");
		is_int(b.off, 22, "  cursor after the first pointer");
	}
	/* The cursor's error is sticky: a failed cursor reads no name. */
	buf_rd_init(&b, m, sizeof(m) - 1);
	buf_rd_fail(&b);
	errno = 0;
	ok(dns_name_read(&b, &n) == -1 && errno == EBADMSG && n.len == 0,
	    "failed cursor: no name (EBADMSG)");
}

int
main(void)
{
	test_str();
	test_limits();
	test_read();
	test_read_limits();
	test_write();
	test_compare();
	test_fold_exhaustive();
	test_0x20_exhaustive();
	test_read_segments();
	return done_testing();
}
