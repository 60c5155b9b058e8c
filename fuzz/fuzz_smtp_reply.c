/*
 * fuzz_smtp_reply — libFuzzer target for the client's reply parser (smtp_reply.c): the
 * code that reads what a possibly hostile server says (CVE-2020-8794 was exactly this
 * parser in another MTA).
 *
 * Input: a byte stream split on CRLF, as the client splits what it reads: a line may hold
 * a bare CR or a bare LF, never CRLF. Lines are fed to one struct smtp_reply; when a reply
 * completes or is refused the next line starts a new one, so one input holds many replies.
 * Each line is fed from an exact-size heap copy, so ASan sees a read one past its end.
 *
 * Checks after every line, any disagreement abort()s:
 *   - the result is 1, 0 or -1; -1 is sticky, and nothing is accepted after a 1;
 *   - enh and text are NUL-terminated inside their arrays; text is printable ASCII;
 *   - code is [2-5][0-5][0-9] once a line was accepted, and the same on every line;
 *   - enh is "" or "c.s.d" (1-3 digits each) with c the reply's class, never 3;
 *   - nlines never passes SMTP_REPLY_LINES_MAX; line_text points inside the line fed;
 *   - an independent check of the line's shape agrees with the parser's verdict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_smtp_reply: %s\n", what);
		abort();
	}
}

static void
check_enh(const struct smtp_reply *r)
{
	size_t n = strnlen(r->enh, sizeof(r->enh)), i = 0, part, d;

	check(n < sizeof(r->enh), "enh not terminated");
	if (n == 0)
		return;
	check(r->enh[0] == '0' + r->code / 100 && r->enh[0] != '3', "enh class");
	check(r->enh[1] == '.', "enh dot");
	i = 2;
	for (part = 0; part < 2; part++) {
		for (d = 0; r->enh[i + d] >= '0' && r->enh[i + d] <= '9'; d++)
			;
		check(d >= 1 && d <= 3, "enh digits");
		i += d;
		if (part == 0)
			check(r->enh[i++] == '.', "enh second dot");
	}
	check(i == n, "enh trailing octets");
}

/* Our own reading of RFC 5321 §4.2 for one line: 0 last line, 1 continuation, -1 bad. */
static int
shape(const uint8_t *l, size_t n)
{
	size_t i;

	if (n < 3 || n > 510 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' ||
	    l[2] < '0' || l[2] > '9')
		return -1;
	if (n > 3 && l[3] != ' ' && l[3] != '-')
		return -1;
	for (i = 3; i < n; i++)
		if (l[i] == 0x7f || (l[i] < 0x20 && l[i] != '\t'))
			return -1;
	return n > 3 && l[3] == '-' ? 1 : 0;
}

static void
one(struct smtp_reply *r, const uint8_t *data, size_t n, int *prev)
{
	uint8_t *copy;
	size_t i, before = r->nlines, tl;
	int res, first_code = r->code, sh;

	copy = malloc(n > 0 ? n : 1);
	check(copy != NULL, "out of memory");
	memcpy(copy, data, n);
	res = smtp_reply_line(r, (const char *)copy, n);
	check(res == 1 || res == 0 || res == -1, "result");
	sh = shape(copy, n);
	if (*prev != 0) {
		/* A finished or refused reply takes nothing more. */
		check(res == -1, "accepted after the end");
	} else if (sh == -1 || before >= SMTP_REPLY_LINES_MAX ||
	    (before > 0 &&
		((copy[0] - '0') * 100 + (copy[1] - '0') * 10 + (copy[2] - '0')) != first_code)) {
		check(res == -1, "bad line accepted");
	} else {
		check(res == (sh == 1 ? 0 : 1), "good line refused or misread");
		check(r->nlines == before + 1, "line count");
	}
	if (res != -1) {
		check(r->code >= 200 && r->code <= 559 && r->code % 100 / 10 <= 5, "code range");
		check(before == 0 || r->code == first_code, "code changed");
		check(r->line_len == 0 ||
			(r->line_text >= (const char *)copy + 4 &&
			    r->line_text + r->line_len == (const char *)copy + n),
		    "line text outside");
	} else {
		check(r->line_len == 0, "line text on a refused line");
	}
	check(r->nlines <= SMTP_REPLY_LINES_MAX, "too many lines");
	tl = strnlen(r->text, sizeof(r->text));
	check(tl < sizeof(r->text), "text not terminated");
	for (i = 0; i < tl; i++)
		check(r->text[i] >= 0x20 && r->text[i] < 0x7f, "text not printable");
	check_enh(r);
	free(copy);
	*prev = res == 0 ? 0 : res;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply r;
	const uint8_t *p = data, *end = data + size, *eol;
	int prev = 0, replies = 0;

	smtp_reply_init(&r);
	while (p <= end && replies < 10000) {
		for (eol = p; eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n'); eol++)
			;
		if (eol + 1 >= end)
			eol = end;
		one(&r, p, (size_t)(eol - p), &prev);
		if (prev != 0) {
			/* Check stickiness once, then start the next reply. */
			one(&r, (const uint8_t *)"250 ok", 6, &prev);
			smtp_reply_init(&r);
			prev = 0;
			replies++;
		}
		if (eol == end)
			break;
		p = eol + 2;
	}
	return 0;
}
