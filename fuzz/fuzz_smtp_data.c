/*
 * fuzz_smtp_data — libFuzzer target for the DATA body scanner (smtp_data.c).
 *
 * Input: one control octet, then the stream after the 354. The control octet picks the
 * size limit (none, or a small one so SMTP_DERR_TOO_BIG is reachable) and where to split.
 *
 * Checks, any disagreement abort()s:
 *   - chunking invariance: the stream fed whole, split in two at a data-derived point,
 *     split in three, and (for short inputs) one octet at a time gives the same output
 *     octets, end position, error, size and flags;
 *   - a reference model written independently of the state machine: the data ends at the
 *     first ".\r\n" that starts the stream or follows a CRLF, and nowhere else; the message
 *     is accepted iff it has no bare CR, no bare LF, no line over 998 content octets and is
 *     within the limit, and then the output is the lines with one leading dot removed;
 *   - every output call is non-empty; the output never has more octets than size.
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
		fprintf(stderr, "fuzz_smtp_data: %s\n", what);
		abort();
	}
}

struct sink {
	uint8_t *buf;
	size_t len;
	size_t cap;
};

static int
sink_out(void *arg, const void *p, size_t n)
{
	struct sink *s = arg;

	check(n > 0, "empty output call");
	check(n <= s->cap - s->len, "more output than input");
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

/* Feeds p[0..n) cut at cuts[0..ncuts) (sorted), stopping at END. */
static void
run(const uint8_t *p, size_t n, uint64_t max, const size_t *cuts, size_t ncuts, uint8_t *buf,
    struct result *r)
{
	size_t start = 0, stop, k, used;

	memset(r, 0, sizeof(*r));
	r->out.buf = buf;
	r->out.cap = n;
	smtp_data_init(&r->d, max, sink_out, &r->out);
	r->st = SMTP_DATA_MORE;
	for (k = 0; k <= ncuts; k++) {
		stop = k < ncuts ? cuts[k] : n;
		check(stop >= start && stop <= n, "bad cut");
		r->st = smtp_data_feed(&r->d, p + start, stop - start, &used);
		if (r->st == SMTP_DATA_END) {
			check(used <= stop - start, "used past the piece");
			r->used = start + used;
			return;
		}
		check(used == stop - start, "did not use the whole piece before the end");
		check(r->st == (r->d.err == SMTP_DERR_NONE ? SMTP_DATA_MORE : SMTP_DATA_ERR),
		    "state and error disagree");
		start = stop;
	}
	r->used = n;
}

static void
same(const struct result *a, const struct result *b)
{
	check(a->st == b->st, "split: state");
	check(a->used == b->used, "split: used");
	check(a->d.err == b->d.err, "split: error");
	check(a->d.size == b->d.size, "split: size");
	check(a->d.in_header == b->d.in_header, "split: in_header");
	check(a->d.eightbit == b->d.eightbit, "split: eightbit");
	check(a->d.linelen == b->d.linelen, "split: linelen");
	check(a->out.len == b->out.len && memcmp(a->out.buf, b->out.buf, a->out.len) == 0,
	    "split: output");
}

/* The reference model over the whole input. */
static void
reference(const uint8_t *p, size_t n, uint64_t max, const struct result *r, uint8_t *exp)
{
	size_t e, i, ls, elen = 0, line;
	bool found = false, good = true, hdr = true, eight = false;

	for (e = 0; e + 3 <= n; e++) {
		if (p[e] == '.' && p[e + 1] == '\r' && p[e + 2] == '\n' &&
		    (e == 0 || (e >= 2 && p[e - 2] == '\r' && p[e - 1] == '\n'))) {
			found = true;
			break;
		}
	}
	if (!found) {
		check(r->st != SMTP_DATA_END, "END without CRLF.CRLF");
		return;
	}
	check(r->st == SMTP_DATA_END, "no END at CRLF.CRLF");
	check(r->used == e + 3, "END at the wrong place");
	/* p[0..e) is whole lines, each ending in CRLF. */
	for (ls = 0; ls < e; ls = i + 2) {
		for (i = ls; i < e && !(p[i] == '\r' && i + 1 < e && p[i + 1] == '\n'); i++) {
			if (p[i] == '\r' || p[i] == '\n')
				good = false;
		}
		check(i < e, "reference: line without CRLF");
		if (i > ls && p[ls] == '.')
			ls++;
		line = i - ls;
		if (line == 0)
			hdr = false;
		if (line > SMTP_TEXT_MAX - 2)
			good = false;
		memcpy(exp + elen, p + ls, line + 2);
		elen += line + 2;
		for (; ls < i; ls++)
			if (p[ls] >= 0x80)
				eight = true;
	}
	if (max != 0 && elen > max)
		good = false;
	check(good == (r->d.err == SMTP_DERR_NONE), "accepted differs from the model");
	if (!good)
		return;
	check(r->d.size == elen, "size differs from the model");
	check(r->out.len == elen && memcmp(r->out.buf, exp, elen) == 0,
	    "output differs from the model");
	check(r->d.in_header == hdr, "in_header differs from the model");
	check(r->d.eightbit == eight, "eightbit differs from the model");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct result whole, part;
	uint8_t *buf1, *buf2, *exp;
	size_t cuts[3], *each, n, i, t;
	const uint8_t *p;
	uint64_t max;
	uint8_t ctl;

	if (size < 1)
		return 0;
	ctl = data[0];
	p = data + 1;
	n = size - 1;
	max = (ctl & 0x80) ? (uint64_t)(ctl & 0x3f) * 37 + 1 : 0;

	buf1 = malloc(n + 1);
	buf2 = malloc(n + 1);
	exp = malloc(n + 1);
	check(buf1 != NULL && buf2 != NULL && exp != NULL, "out of memory");

	run(p, n, max, NULL, 0, buf1, &whole);
	check(whole.out.len <= whole.d.size, "output longer than size");
	check(max == 0 || whole.out.len <= max, "output past the limit");
	reference(p, n, max, &whole, exp);

	/* Two pieces at a point derived from the data, then three. */
	t = (size_t)ctl * 131u + n * 7u;
	for (i = 0; i < n && i < 16; i++)
		t = t * 31u + p[i];
	cuts[0] = n ? t % (n + 1) : 0;
	run(p, n, max, cuts, 1, buf2, &part);
	same(&whole, &part);
	cuts[1] = cuts[0] + (n - cuts[0]) / 2;
	cuts[0] /= 2;
	cuts[2] = n;
	run(p, n, max, cuts, 3, buf2, &part);
	same(&whole, &part);

	if (n <= 4096) {
		each = malloc((n + 1) * sizeof(*each));
		check(each != NULL, "out of memory");
		for (i = 0; i < n; i++)
			each[i] = i + 1;
		run(p, n, max, each, n, buf2, &part);
		same(&whole, &part);
		free(each);
	}
	free(buf1);
	free(buf2);
	free(exp);
	return 0;
}
