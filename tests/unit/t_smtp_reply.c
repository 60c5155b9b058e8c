/*
 * t_smtp_reply — smtp_reply.c: the client's reply parser. A table of replies, each given
 * as its lines separated by "\n" (the parser sees the lines without any line end), with
 * the result of the last line fed and what the struct must hold then: code, enhanced
 * code, joined text, line count. Then the limits one by one (line length, line count,
 * text cut), the per-line text for EHLO keywords, and the stickiness of an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"
#include "tap.h"

#define S(x) x, sizeof(x) - 1

struct rcase {
	const char *in;
	size_t len;
	int res;         /* of the last line fed: 1 complete, 0 more, -1 bad */
	size_t bad_line; /* res -1: the 1-based line that must fail */
	int code;
	const char *enh;
	const char *text;
	size_t nlines;
};

#define OK(in, c, e, t, n)                                                                         \
	{                                                                                          \
		S(in), 1, 0, c, e, t, n                                                            \
	}
#define MORE(in, c, e, t, n)                                                                       \
	{                                                                                          \
		S(in), 0, 0, c, e, t, n                                                            \
	}
#define BAD(in, at)                                                                                \
	{                                                                                          \
		S(in), -1, at, 0, NULL, NULL, 0                                                    \
	}

static const struct rcase cases[] = {
    /* One line. */
    OK("250 ok", 250, "", "ok", 1),
    OK("220 mx.example.org ESMTP", 220, "", "mx.example.org ESMTP", 1),
    OK("250", 250, "", "", 1),
    OK("250 ", 250, "", "", 1),
    OK("250 2.1.0 Sender ok", 250, "2.1.0", "2.1.0 Sender ok", 1),
    OK("550 5.1.1 <x@y>: user unknown", 550, "5.1.1", "5.1.1 <x@y>: user unknown", 1),
    OK("451 4.3.0 Error: queue file write error", 451, "4.3.0",
	"4.3.0 Error: queue file write error", 1),
    OK("452 4.999.999 x", 452, "4.999.999", "4.999.999 x", 1),
    OK("421 4.3.2", 421, "4.3.2", "4.3.2", 1),
    OK("354 End data with <CR><LF>.<CR><LF>", 354, "", "End data with <CR><LF>.<CR><LF>", 1),
    OK("559 odd but legal", 559, "", "odd but legal", 1),
    OK("200 x", 200, "", "x", 1),
    /* Enhanced codes that are not: wrong class, malformed, glued to a word. */
    OK("550 4.1.1 class mismatch", 550, "", "4.1.1 class mismatch", 1),
    OK("354 3.0.0 no class 3", 354, "", "3.0.0 no class 3", 1),
    OK("550 5.1 too short", 550, "", "5.1 too short", 1),
    OK("550 5.1.1x glued", 550, "", "5.1.1x glued", 1),
    OK("550 5.1234.1 long subject", 550, "", "5.1234.1 long subject", 1),
    OK("550 5.1.1234 long detail", 550, "", "5.1.1234 long detail", 1),
    OK("550 5..1 empty", 550, "", "5..1 empty", 1),
    OK("550 5.1.", 550, "", "5.1.", 1),
    OK("550  5.1.1 two spaces", 550, "", " 5.1.1 two spaces", 1),
    OK("250 2.0.0", 250, "2.0.0", "2.0.0", 1),
    /* Text: HT becomes a space, 8-bit octets '?', UTF-8 allowed by RFC 6531. */
    OK("250 a\tb", 250, "", "a b", 1),
    OK("250 caf\xc3\xa9", 250, "", "caf??", 1),
    /* Multiline. */
    OK("250-mx.example.org\n250-PIPELINING\n250-SIZE 10240000\n250 8BITMIME", 250, "",
	"mx.example.org / PIPELINING / SIZE 10240000 / 8BITMIME", 4),
    OK("550-5.7.1 first\n550 5.7.1 second", 550, "5.7.1", "5.7.1 first / 5.7.1 second", 2),
    OK("550-first\n550 5.7.1 second", 550, "", "first / 5.7.1 second", 2),
    OK("250-\n250", 250, "", " / ", 2),
    OK("250-a\n250-\n250 b", 250, "", "a /  / b", 3),
    MORE("250-a", 250, "", "a", 1),
    MORE("250-a\n250-b", 250, "", "a / b", 2),
    /* Malformed. */
    BAD("", 1),
    BAD("2", 1),
    BAD("25", 1),
    BAD("25x ok", 1),
    BAD("150 no", 1),
    BAD("650 no", 1),
    BAD("099 no", 1),
    BAD("260 no", 1),
    BAD("599 no", 1),
    BAD("2a0 no", 1),
    BAD("250x", 1),
    BAD("250_ok", 1),
    BAD("250\tok", 1),
    BAD(" 250 ok", 1),
    BAD("ok 250", 1),
    BAD("250 ok\r", 1),
    BAD("250 o\nk", 2),
    BAD("250 a\x01", 1),
    BAD("250 a\x7f", 1),
    BAD("250 a\x1b[31m", 1),
    BAD("250-a\n251 b", 2),
    BAD("250-a\n550 b", 2),
    BAD("250-a\n250x", 2),
    BAD("250-a\n25", 2),
    BAD("250 a\n250 b", 2),
    BAD("250-a\n\n250 b", 2),
    {"250 a\0b", 7, -1, 1, 0, NULL, NULL, 0},
    {"250\0ok", 6, -1, 1, 0, NULL, NULL, 0},
    {"\0\0\0", 3, -1, 1, 0, NULL, NULL, 0},
};

/* Feeds c->in line by line; returns the last result and the 1-based line it came from. */
static int
feed(struct smtp_reply *r, const char *in, size_t len, size_t *at)
{
	const char *p = in, *end = in + len, *nl;
	int res = -2;

	smtp_reply_init(r);
	*at = 0;
	for (;;) {
		nl = memchr(p, '\n', (size_t)(end - p));
		(*at)++;
		res = smtp_reply_line(r, p, (size_t)((nl != NULL ? nl : end) - p));
		if (res == -1 || nl == NULL)
			return res;
		p = nl + 1;
	}
}

static void
table(void)
{
	struct smtp_reply r;
	const struct rcase *c;
	size_t i, at;
	int res;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		c = &cases[i];
		res = feed(&r, c->in, c->len, &at);
		is_int(res, c->res, "case %zu: result", i);
		if (c->res == -1) {
			is_int(at, c->bad_line, "case %zu: refused at line %zu", i, c->bad_line);
			continue;
		}
		is_int(r.code, c->code, "case %zu: code %d", i, c->code);
		is_str(r.enh, c->enh, "case %zu: enh", i);
		is_str(r.text, c->text, "case %zu: text", i);
		is_int(r.nlines, c->nlines, "case %zu: %zu lines", i, c->nlines);
	}
}

static void
limits(void)
{
	struct smtp_reply r;
	char line[SMTP_REPLY_LINE_MAX + 2];
	size_t i;
	int res = 0;

	/* 510 octets is the longest line; 511 is refused. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "250 ", 4);
	smtp_reply_init(&r);
	is_int(smtp_reply_line(&r, line, SMTP_REPLY_LINE_MAX), 1, "a 510-octet line is a reply");
	is_int(strlen(r.text), SMTP_REPLY_LINE_MAX - 4, "its text is whole (506 octets)");
	smtp_reply_init(&r);
	is_int(smtp_reply_line(&r, line, SMTP_REPLY_LINE_MAX + 1), -1, "a 511-octet line is not");

	/* 100 lines is the most; the 101st is refused whatever it says. */
	smtp_reply_init(&r);
	for (i = 0; i < SMTP_REPLY_LINES_MAX - 1; i++)
		res = smtp_reply_line(&r, S("250-x"));
	is_int(res, 0, "99 continuation lines: more");
	is_int(smtp_reply_line(&r, S("250 last")), 1, "the 100th line ends it");
	is_int(r.nlines, 100, "100 lines counted");
	smtp_reply_init(&r);
	for (i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		res = smtp_reply_line(&r, S("250-x"));
	is_int(res, 0, "100 continuation lines: more");
	is_int(smtp_reply_line(&r, S("250 last")), -1, "a 101st line is refused");

	/* Text is cut at its buffer, never overflowed, always terminated. */
	smtp_reply_init(&r);
	memset(line, 'y', sizeof(line));
	memcpy(line, "250-", 4);
	for (i = 0; i < 5; i++)
		res = smtp_reply_line(&r, line, SMTP_REPLY_LINE_MAX);
	memcpy(line, "250 ", 4);
	res = smtp_reply_line(&r, line, SMTP_REPLY_LINE_MAX);
	is_int(res, 1, "six long lines: complete");
	is_int(strlen(r.text), sizeof(r.text) - 1, "text cut at %zu octets", sizeof(r.text) - 1);
	ok(r.text[sizeof(r.text) - 1] == '\0', "and NUL-terminated");
	ok(memcmp(r.text + 506, " / ", 3) == 0, "the cut keeps the separator where it fits");
}

static void
per_line(void)
{
	struct smtp_reply r;

	smtp_reply_init(&r);
	is_int(smtp_reply_line(&r, S("250-mx.example.org hello")), 0, "EHLO: first line");
	is_int(r.line_len, 20, "line text length");
	ok(memcmp(r.line_text, "mx.example.org hello", 20) == 0, "line text");
	is_int(smtp_reply_line(&r, S("250-SIZE 1000")), 0, "EHLO: SIZE");
	ok(r.line_len == 9 && memcmp(r.line_text, "SIZE 1000", 9) == 0, "keyword line text");
	is_int(smtp_reply_line(&r, S("250")), 1, "EHLO: a bare last line");
	is_int(r.line_len, 0, "no text on a bare line");
	is_str(r.line_text, "", "line_text is \"\" then");
	is_int(smtp_reply_line(&r, S("250 more")), -1, "a line after the end is refused");
	is_int(r.line_len, 0, "and has no text");

	/* Errors are sticky. */
	smtp_reply_init(&r);
	is_int(smtp_reply_line(&r, S("250-a")), 0, "start");
	is_int(smtp_reply_line(&r, S("25")), -1, "bad line");
	is_int(smtp_reply_line(&r, S("250 ok")), -1, "still bad after a good line");
	smtp_reply_init(&r);
	is_int(smtp_reply_line(&r, S("250 ok")), 1, "init starts over");
	/* An enhanced code only from the first line. */
	smtp_reply_init(&r);
	(void)smtp_reply_line(&r, S("550-no code here"));
	(void)smtp_reply_line(&r, S("550 5.1.1 later"));
	is_str(r.enh, "", "enhanced code of a later line is not taken");
}

int
main(void)
{
	table();
	limits();
	per_line();
	return done_testing();
}
