/*
 * t_smtp_data — smtp_data.c, the DATA body scanner: end detection, dot-unstuffing, bare CR
 * and bare LF (every SMTP smuggling shape of CVE-2023-51764/5/6), line and size limits,
 * the output callback, header and 8-bit tracking, error replies.
 *
 * Every table row is fed whole, then in 1-octet pieces, then split at every point into two
 * pieces, then (for short rows) at every pair of points into three: the output octets, the
 * end position, the error and the flags must be identical each time, so no defence depends
 * on how TCP segments the stream.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

struct dcase {
	const char *what;
	const char *in;
	size_t len;
	uint64_t max;            /* 0: no limit */
	enum smtp_data_state st; /* after all input (END as soon as the end is seen) */
	enum smtp_data_err err;
	size_t used; /* END: input octets consumed; otherwise len */
	const char *out;
	size_t outlen;
	bool in_header;
	bool eightbit;
};

#define END  SMTP_DATA_END
#define MORE SMTP_DATA_MORE
#define ERR  SMTP_DATA_ERR
#define NONE SMTP_DERR_NONE
#define BLF  SMTP_DERR_BARE_LF
#define BCR  SMTP_DERR_BARE_CR
#define LONG SMTP_DERR_LINE_TOO_LONG
#define BIG  SMTP_DERR_TOO_BIG

static const struct dcase cases[] = {
    /* The end of data, and nothing but CRLF.CRLF (§4.1.1.4). */
    {"empty body: the first line is the dot", S(".\r\n"), 0, END, NONE, 3, S(""), true, false},
    {"one line", S("a\r\n.\r\n"), 0, END, NONE, 6, S("a\r\n"), true, false},
    {"two lines", S("Subject: x\r\nbody\r\n.\r\n"), 0, END, NONE, 21, S("Subject: x\r\nbody\r\n"),
	true, false},
    {"header ends at the first empty line", S("Subject: x\r\n\r\nbody\r\n.\r\n"), 0, END, NONE, 23,
	S("Subject: x\r\n\r\nbody\r\n"), false, false},
    {"empty first line ends the header", S("\r\n.\r\n"), 0, END, NONE, 5, S("\r\n"), false, false},
    {"only empty lines", S("\r\n\r\n\r\n.\r\n"), 0, END, NONE, 9, S("\r\n\r\n\r\n"), false, false},
    {"pipelined commands after the end are not used", S("a\r\n.\r\nQUIT\r\n"), 0, END, NONE, 6,
	S("a\r\n"), true, false},
    {"a second message after the end is not used", S(".\r\n.\r\n"), 0, END, NONE, 3, S(""), true,
	false},
    {"dot not at line start is content", S("a.\r\n.\r\n"), 0, END, NONE, 7, S("a.\r\n"), true,
	false},
    {"dot space is not the end", S(". \r\n.\r\n"), 0, END, NONE, 7, S(" \r\n"), true, false},
    {"dot before CRLF mid-line", S("x.\r\n.\r\n"), 0, END, NONE, 7, S("x.\r\n"), true, false},
    {"no end yet: open line", S("abc"), 0, MORE, NONE, 3, S("abc"), true, false},
    {"no end yet: CRLF", S("abc\r\n"), 0, MORE, NONE, 5, S("abc\r\n"), true, false},
    {"no end yet: CRLF dot", S("abc\r\n."), 0, MORE, NONE, 6, S("abc\r\n"), true, false},
    {"no end yet: CRLF dot CR", S("abc\r\n.\r"), 0, MORE, NONE, 7, S("abc\r\n"), true, false},
    {"no end yet: trailing CR", S("abc\r"), 0, MORE, NONE, 4, S("abc\r"), true, false},
    {"nothing at all", S(""), 0, MORE, NONE, 0, S(""), true, false},

    /* Dot-stuffing (§4.5.2): the first dot of a longer line is deleted. */
    {"stuffed dot line", S("..\r\n.\r\n"), 0, END, NONE, 7, S(".\r\n"), true, false},
    {"stuffed dot text", S(".abc\r\n.\r\n"), 0, END, NONE, 9, S("abc\r\n"), true, false},
    {"stuffed two dots", S("...\r\n.\r\n"), 0, END, NONE, 8, S("..\r\n"), true, false},
    {"stuffed lines around plain ones", S("a\r\n..b\r\nc\r\n.\r\n"), 0, END, NONE, 14,
	S("a\r\n.b\r\nc\r\n"), true, false},
    {"stuffed line right before the end", S("..\r\n.\r\n..\r\n"), 0, END, NONE, 7, S(".\r\n"), true,
	false},
    {"stuffed dot then empty line ends header", S("..\r\n\r\n.\r\n"), 0, END, NONE, 9,
	S(".\r\n\r\n"), false, false},

    /* SMTP smuggling: none of these ends the data; the real end does, with an error. */
    {"smuggle LF.CRLF", S("a\n.\r\nMAIL FROM:<e@x>\r\n.\r\n"), 0, END, BLF, 25, S("a"), true,
	false},
    {"smuggle CR.CR", S("a\r.\rMAIL FROM:<e@x>\r\n.\r\n"), 0, END, BCR, 24, S("a\r"), true, false},
    {"smuggle LF.LF", S("a\n.\nMAIL FROM:<e@x>\r\n.\r\n"), 0, END, BLF, 24, S("a"), true, false},
    {"smuggle CRLF.LF", S("a\r\n.\nMAIL FROM:<e@x>\r\n.\r\n"), 0, END, BLF, 25, S("a\r\n"), true,
	false},
    {"smuggle CRLF.CR", S("a\r\n.\rMAIL FROM:<e@x>\r\n.\r\n"), 0, END, BCR, 25, S("a\r\n"), true,
	false},
    {"smuggle CR.CRLF", S("a\r.\r\nMAIL FROM:<e@x>\r\n.\r\n"), 0, END, BCR, 25, S("a\r"), true,
	false},
    {"smuggle LF.CR", S("a\n.\rMAIL\r\n.\r\n"), 0, END, BLF, 13, S("a"), true, false},
    {"smuggle LF.CRLF alone: no end", S("a\n.\r\n"), 0, ERR, BLF, 5, S("a"), true, false},
    {"smuggle CR.CR alone: no end", S("a\r.\r"), 0, ERR, BCR, 4, S("a\r"), true, false},
    {"smuggle LF.LF alone: no end", S("a\n.\n"), 0, ERR, BLF, 4, S("a"), true, false},
    {"smuggle CRLF.LF alone: no end", S("a\r\n.\n"), 0, ERR, BLF, 5, S("a\r\n"), true, false},
    {"smuggle at the very start LF.CRLF", S("\n.\r\n"), 0, ERR, BLF, 4, S(""), true, false},
    {"smuggle at the very start .LF", S(".\n"), 0, ERR, BLF, 2, S(""), true, false},
    {"smuggle at the very start .CR.", S(".\r.\r\n"), 0, ERR, BCR, 5, S(""), true, false},
    {"LF dot LF at the start, then the real end", S("\n.\n\r\n.\r\n"), 0, END, BLF, 8, S(""), true,
	false},
    {"CR CR LF is a bare CR", S("a\r\r\n.\r\n"), 0, END, BCR, 7, S("a\r"), true, false},
    {"LF after CR CR", S("a\r\r\n"), 0, ERR, BCR, 4, S("a\r"), true, false},
    {"dot CR CR LF then end", S("\r\n.\r\r\n.\r\n"), 0, END, BCR, 9, S("\r\n"), false, false},
    {"bare LF in the middle of a line", S("ab\ncd\r\n.\r\n"), 0, END, BLF, 10, S("ab"), true,
	false},
    {"bare LF on an empty line", S("a\r\n\n.\r\n"), 0, ERR, BLF, 7, S("a\r\n"), true, false},
    {"bare LF on an empty line then end", S("a\r\n\n.\r\n\r\n.\r\n"), 0, END, BLF, 12, S("a\r\n"),
	false, false},
    {"bare CR before the end", S("a\rb\r\n.\r\n"), 0, END, BCR, 8, S("a\r"), true, false},
    {"LF CR", S("a\n\r\n.\r\n"), 0, END, BLF, 7, S("a"), true, false},
    {"dot CR then text", S("x\r\n.\rX\r\n.\r\n"), 0, END, BCR, 11, S("x\r\n"), true, false},

    /* Limits: §4.5.3.1.6 text lines, RFC 1870 size. */
    {"size at the limit", S("abc\r\n.\r\n"), 5, END, NONE, 8, S("abc\r\n"), true, false},
    {"size one over the limit", S("abcd\r\n.\r\n"), 5, END, BIG, 9, S("abcd\r"), true, false},
    {"size over, no end", S("abcdefgh"), 3, ERR, BIG, 8, S("abc"), true, false},
    {"stuffing dots do not count", S("..\r\n..\r\n.\r\n"), 6, END, NONE, 11, S(".\r\n.\r\n"), true,
	false},
    {"limit 1 with empty body", S(".\r\n"), 1, END, NONE, 3, S(""), true, false},
    {"limit 1, one octet over", S("\r\n.\r\n"), 1, END, BIG, 5, S("\r"), false, false},
    {"too big then bare LF: first error kept", S("abcd\ne\r\n.\r\n"), 2, END, BIG, 11, S("ab"),
	true, false},
    {"bare LF then too big: first error kept", S("a\nbcdef\r\n.\r\n"), 2, END, BLF, 12, S("a"),
	true, false},

    /* 8-bit octets are passed through and noticed (RFC 6152). */
    {"8-bit text", S("caf\xc3\xa9\r\n.\r\n"), 0, END, NONE, 10, S("caf\xc3\xa9\r\n"), true, true},
    {"8-bit after a stuffing dot", S(".\xff\r\n.\r\n"), 0, END, NONE, 7, S("\xff\r\n"), true, true},
    {"8-bit at line start", S("\x80\r\n.\r\n"), 0, END, NONE, 6, S("\x80\r\n"), true, true},
    {"8-bit after the end does not count", S(".\r\n\xff"), 0, END, NONE, 3, S(""), true, false},
    {"NUL passes through", S("a\0b\r\n.\r\n"), 0, END, NONE, 8, S("a\0b\r\n"), true, false},
};

/* Collects output; fail_at: the call number (1-based) that fails, 0 for never. */
struct sink {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int calls;
	int fail_at;
	bool overflow;
};

static int
sink_out(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	s->calls++;
	if (n == 0)
		s->overflow = true; /* empty writes are a bug */
	if (s->fail_at != 0 && s->calls >= s->fail_at)
		return -1;
	if (n > s->cap - s->len) {
		s->overflow = true;
		return -1;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

struct result {
	enum smtp_data_state st;
	size_t used;
	struct smtp_data d;
	struct sink out;
};

static uint8_t outbufs[2][1 << 16];

/*
 * Feeds in[0..len) cut at the sorted offsets cuts[0..ncuts), stopping at END. r->used is
 * the total consumed; r->st the last state returned.
 */
static void
run(const char *in, size_t len, uint64_t max, const size_t *cuts, size_t ncuts, int slot,
    struct result *r)
{
	size_t start = 0, stop, k, used;

	memset(r, 0, sizeof(*r));
	r->out.buf = outbufs[slot];
	r->out.cap = sizeof(outbufs[slot]);
	smtp_data_init(&r->d, max, sink_out, &r->out);
	r->st = SMTP_DATA_MORE;
	for (k = 0; k <= ncuts; k++) {
		stop = k < ncuts ? cuts[k] : len;
		if (stop < start)
			stop = start;
		used = 0;
		r->st = smtp_data_feed(&r->d, (const uint8_t *)in + start, stop - start, &used);
		if (r->st == SMTP_DATA_END) {
			r->used = start + used;
			return;
		}
		if (used != stop - start) {
			r->used = (size_t)-1; /* must take everything before the end */
			return;
		}
		start = stop;
	}
	r->used = len;
}

static bool
same(const struct result *a, const struct result *b)
{
	return a->st == b->st && a->used == b->used && a->d.err == b->d.err &&
	    a->d.in_header == b->d.in_header && a->d.eightbit == b->d.eightbit &&
	    a->d.size == b->d.size && a->d.linelen == b->d.linelen && a->d.st == b->d.st &&
	    a->out.len == b->out.len && memcmp(a->out.buf, b->out.buf, a->out.len) == 0 &&
	    !a->out.overflow && !b->out.overflow;
}

/* Checks one row against its expectations and against every way of splitting it. */
static void
check_case(const char *what, const char *in, size_t len, uint64_t max, enum smtp_data_state st,
    enum smtp_data_err err, size_t used, const char *out, size_t outlen, bool in_header,
    bool eightbit)
{
	static struct result whole, part;
	static size_t cuts[1 << 14];
	size_t i, j, nbad;
	struct smtp_perr pe;

	run(in, len, max, NULL, 0, 0, &whole);
	is_int(whole.st, st, "%s: state", what);
	is_int(whole.d.err, err, "%s: error", what);
	is_int(whole.used, used, "%s: used", what);
	ok(whole.out.len == outlen && memcmp(whole.out.buf, out, outlen) == 0 &&
		!whole.out.overflow,
	    "%s: output (%zu octets)", what, outlen);
	if (whole.out.len != outlen)
		diag("got %zu octets", whole.out.len);
	is_int(whole.d.in_header, in_header, "%s: in_header", what);
	is_int(whole.d.eightbit, eightbit, "%s: eightbit", what);
	/* One callback for the whole feed, plus one per stuffed line at most. */
	ok(whole.out.calls <= 1 + (int)(len / 3), "%s: %d output calls", what, whole.out.calls);
	smtp_data_error(&whole.d, &pe);
	ok(pe.enh != NULL && pe.text != NULL && (err == NONE) == (pe.code == 250),
	    "%s: reply %d %s", what, pe.code, pe.enh);

	if (len > sizeof(cuts) / sizeof(cuts[0]))
		return;
	for (i = 0; i < len; i++)
		cuts[i] = i + 1;
	run(in, len, max, cuts, len, 1, &part);
	ok(same(&whole, &part), "%s: 1-octet pieces agree", what);

	nbad = 0;
	for (i = 0; i <= len; i++) {
		cuts[0] = i;
		run(in, len, max, cuts, 1, 1, &part);
		if (!same(&whole, &part)) {
			if (nbad++ == 0)
				diag("first bad split at %zu", i);
		}
	}
	ok(nbad == 0, "%s: all %zu two-piece splits agree", what, len + 1);

	if (len > 80)
		return;
	nbad = 0;
	for (i = 0; i <= len; i++)
		for (j = i; j <= len; j++) {
			cuts[0] = i;
			cuts[1] = j;
			run(in, len, max, cuts, 2, 1, &part);
			if (!same(&whole, &part) && nbad++ == 0)
				diag("first bad split at %zu,%zu", i, j);
		}
	ok(nbad == 0, "%s: all three-piece splits agree", what);
}

static void
table(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];

		check_case(c->what, c->in, c->len, c->max, c->st, c->err, c->used, c->out,
		    c->outlen, c->in_header, c->eightbit);
	}
}

/* Builds lines of n content octets to test the 1000-octet limit exactly. */
static void
line_limits(void)
{
	static char in[4096], out[4096];
	size_t n, ilen, olen;

	/* 998 octets + CRLF = 1000: allowed. */
	n = 998;
	memset(in, 'x', n);
	memcpy(in + n, "\r\n.\r\n", 5);
	ilen = n + 5;
	memcpy(out, in, n + 2);
	olen = n + 2;
	check_case("line of 1000 with CRLF", in, ilen, 0, END, NONE, ilen, out, olen, true, false);

	/* 999 + CRLF = 1001: too long; output stops before the 999th octet. */
	n = 999;
	memset(in, 'x', n);
	memcpy(in + n, "\r\n.\r\n", 5);
	ilen = n + 5;
	check_case("line of 1001 with CRLF", in, ilen, 0, END, LONG, ilen, in, 998, true, false);

	/* The stuffing dot does not count (§4.5.3.1.6). */
	in[0] = '.';
	memset(in + 1, 'y', 998);
	memcpy(in + 999, "\r\n.\r\n", 5);
	ilen = 1004;
	memcpy(out, in + 1, 1000);
	check_case("stuffed line of 1000 plus its dot", in, ilen, 0, END, NONE, ilen, out, 1000,
	    true, false);

	/* The limit is per line: two full lines are fine. */
	memset(in, 'a', 998);
	memcpy(in + 998, "\r\n", 2);
	memset(in + 1000, 'b', 998);
	memcpy(in + 1998, "\r\n.\r\n", 5);
	ilen = 2003;
	check_case("two lines of 1000", in, ilen, 0, END, NONE, ilen, in, 2000, true, false);

	/* An over-long line with no CRLF yet is refused as it grows, not at its end. */
	memset(in, 'z', 1500);
	check_case("over-long open line", in, 1500, 0, ERR, LONG, 1500, in, 998, true, false);

	/* Too long and then a smuggling attempt: still only the real end ends it. */
	memset(in, 'q', 1200);
	memcpy(in + 1200, "\n.\r\nRCPT\r\n.\r\n", 13);
	check_case("too long then LF.CRLF", in, 1213, 0, END, LONG, 1213, in, 998, true, false);

	/* Line limit and size limit at the same octet: the line error comes first. */
	memset(in, 'w', 999);
	memcpy(in + 999, "\r\n.\r\n", 5);
	check_case("line and size limit on one octet", in, 1004, 998, END, LONG, 1004, in, 998,
	    true, false);
	check_case("size limit first", in, 1004, 997, END, BIG, 1004, in, 997, true, false);
}

/* The output callback: runs, not octets; failures become SMTP_DERR_OUTPUT. */
static void
output(void)
{
	static uint8_t big[1 << 16];
	struct smtp_data d;
	struct sink s;
	struct smtp_perr pe;
	size_t used, i;
	enum smtp_data_state st;
	const char *msg = "a\r\nb\r\nc\r\n.\r\n";

	memset(&s, 0, sizeof(s));
	s.buf = outbufs[0];
	s.cap = sizeof(outbufs[0]);
	smtp_data_init(&d, 0, sink_out, &s);
	st = smtp_data_feed(&d, (const uint8_t *)msg, strlen(msg), &used);
	is_int(st, END, "plain message ends");
	is_int(s.calls, 1, "three lines in one callback");

	/* 64 KiB of lines in one feed: one callback. */
	for (i = 0; i + 100 + 3 <= sizeof(big); i += 100) {
		memset(big + i, 'm', 98);
		big[i + 98] = '\r';
		big[i + 99] = '\n';
	}
	memcpy(big + i, ".\r\n", 3);
	memset(&s, 0, sizeof(s));
	s.buf = outbufs[0];
	s.cap = sizeof(outbufs[0]);
	smtp_data_init(&d, 0, sink_out, &s);
	st = smtp_data_feed(&d, big, i + 3, &used);
	is_int(st, END, "64 KiB message ends");
	is_int(used, i + 3, "64 KiB message used");
	is_int(s.calls, 1, "64 KiB in one callback");
	is_int(d.size, i, "64 KiB size");

	/* A failing callback. */
	memset(&s, 0, sizeof(s));
	s.buf = outbufs[0];
	s.cap = sizeof(outbufs[0]);
	s.fail_at = 1;
	smtp_data_init(&d, 0, sink_out, &s);
	st = smtp_data_feed(&d, (const uint8_t *)"abc", 3, &used);
	is_int(st, ERR, "output failure: ERR");
	is_int(d.err, SMTP_DERR_OUTPUT, "output failure recorded");
	st = smtp_data_feed(&d, (const uint8_t *)"\r\n\n.\r\n", 6, &used);
	is_int(st, ERR, "still ERR, first error kept through a bare LF");
	is_int(d.err, SMTP_DERR_OUTPUT, "first error kept");
	st = smtp_data_feed(&d, (const uint8_t *)"\r\n.\r\nQUIT", 9, &used);
	is_int(st, END, "end found after an output failure");
	is_int(used, 5, "used after an output failure");
	is_int(s.calls, 1, "no writes after the failure");
	smtp_data_error(&d, &pe);
	is_int(pe.code, 451, "output failure reply code");
	is_str(pe.enh, "4.3.0", "output failure enhanced code");

	/* After END, nothing more is taken. */
	st = smtp_data_feed(&d, (const uint8_t *)".\r\n", 3, &used);
	is_int(st, END, "feed after END stays END");
	is_int(used, 0, "feed after END uses nothing");

	/* Zero-length feed. */
	smtp_data_init(&d, 0, sink_out, &s);
	st = smtp_data_feed(&d, (const uint8_t *)"", 0, &used);
	is_int(st, MORE, "empty feed is MORE");
	is_int(used, 0, "empty feed uses nothing");
}

static void
replies(void)
{
	static const struct {
		enum smtp_data_err err;
		int code;
		const char *enh;
	} r[] = {
	    {SMTP_DERR_NONE, 250, "2.0.0"},
	    {SMTP_DERR_BARE_LF, 554, "5.6.0"},
	    {SMTP_DERR_BARE_CR, 554, "5.6.0"},
	    {SMTP_DERR_LINE_TOO_LONG, 554, "5.6.0"},
	    {SMTP_DERR_TOO_BIG, 552, "5.3.4"},
	    {SMTP_DERR_OUTPUT, 451, "4.3.0"},
	};
	struct smtp_data d;
	struct smtp_perr pe;
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		memset(&d, 0, sizeof(d));
		d.err = r[i].err;
		smtp_data_error(&d, &pe);
		is_int(pe.code, r[i].code, "reply code for error %d", (int)r[i].err);
		is_str(pe.enh, r[i].enh, "enhanced code for error %d", (int)r[i].err);
		ok(pe.text != NULL && strlen(pe.text) > 0 && strpbrk(pe.text, "\r\n") == NULL,
		    "reply text for error %d is one line", (int)r[i].err);
	}
}

/* Pseudo-random streams from a fixed seed: splits agree, as in the fuzzer. */
static void
random_streams(void)
{
	static const char alpha[] = "ab.\r\n\r\n.\x80";
	static char in[600];
	static struct result whole, part;
	static size_t cuts[8];
	uint32_t x = 12345;
	size_t n, i, k, bad = 0;
	int t;

	for (t = 0; t < 2000; t++) {
		x = x * 1103515245u + 12345u;
		n = (x >> 8) % sizeof(in);
		for (i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			in[i] = alpha[(x >> 16) % (sizeof(alpha) - 1)];
		}
		run(in, n, (t % 3) ? 0 : 200, NULL, 0, 0, &whole);
		for (k = 0; k < 3; k++) {
			x = x * 1103515245u + 12345u;
			cuts[k] = n ? (x >> 8) % (n + 1) : 0;
		}
		if (cuts[0] > cuts[1]) {
			i = cuts[0];
			cuts[0] = cuts[1];
			cuts[1] = i;
		}
		if (cuts[1] > cuts[2]) {
			i = cuts[1];
			cuts[1] = cuts[2];
			cuts[2] = i;
		}
		if (cuts[0] > cuts[1]) {
			i = cuts[0];
			cuts[0] = cuts[1];
			cuts[1] = i;
		}
		run(in, n, (t % 3) ? 0 : 200, cuts, 3, 1, &part);
		if (!same(&whole, &part))
			bad++;
	}
	ok(bad == 0, "2000 random streams split at random points agree (%zu differ)", bad);
}

/* RFC 5321 §6.3 loop detection: Received: fields of the header section, any split. */
static void
hops(void)
{
	static const struct {
		const char *msg;
		unsigned n;
	} t[] = {
	    {"Received: a\r\nReceived: b\r\nSubject: x\r\n\r\nbody\r\n", 2},
	    {"RECEIVED:a\r\nreceived :no\r\nX-Received: no\r\n\r\n", 1},
	    {"Subject: x\r\n\r\nReceived: in the body\r\n", 0},
	    {"Received: a\r\n\tReceived: folded, not a field\r\n\r\n", 1},
	    {"\r\nReceived: no header section\r\n", 0},
	    {"Received", 0},
	    {"Received:", 1},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len = strlen(t[i].msg);
		bool same = true;
		struct smtp_hops whole = {0};

		smtp_hops_feed(&whole, t[i].msg, len);
		/* Every split into two feeds gives the same count. */
		for (size_t cut = 0; cut <= len; cut++) {
			struct smtp_hops h = {0};

			smtp_hops_feed(&h, t[i].msg, cut);
			smtp_hops_feed(&h, t[i].msg + cut, len - cut);
			same = same && h.n == whole.n;
		}
		ok(whole.n == t[i].n && same, "hops %zu: %u Received: fields (want %u), any split",
		    i, whole.n, t[i].n);
	}
}

int
main(void)
{
	hops();
	table();
	line_limits();
	output();
	replies();
	random_streams();
	return done_testing();
}
