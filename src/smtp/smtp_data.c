/*
 * smtp_data — the DATA body scanner (RFC 5321 §4.1.1.4, §4.5.2): a byte state machine fed
 * the raw octets that follow the 354 reply, in whatever pieces the socket delivers them.
 *
 * What it does, octet by octet, with no line buffer:
 *   - finds the end of the mail data: "CRLF . CRLF" and nothing else. The first CRLF may be
 *     the one that ended the DATA command, so a stream starting ".\r\n" is an empty body;
 *   - removes the leading dot of a dot-stuffed line (§4.5.2: "If the first character is a
 *     period and there are other characters on the line, the first character is deleted");
 *   - refuses a bare LF (LF not preceded by CR) and a bare CR (CR not followed by LF)
 *     anywhere (§2.3.8; §4.1.1.4: servers "MUST NOT" accept LF-only line ends). This is the
 *     SMTP smuggling defence (CVE-2023-51764/5/6): "\n.\r\n", "\r.\r", "\n.\n" and
 *     "\r\n.\n" never end the data, because a bare CR or LF never starts a line here, so
 *     a smuggled "MAIL FROM" after one of them is read as body and rejected with it;
 *   - refuses text lines over SMTP_TEXT_MAX octets including CRLF, not counting the
 *     stuffing dot (§4.5.3.1.6), and messages over max octets after unstuffing (RFC 1870).
 *
 * Errors: the first one is kept in d->err and output stops there, but scanning goes on to
 * the real end so the rest of the transfer is never taken for commands. smtp_data_feed()
 * returns SMTP_DATA_ERR while an error is pending and the end has not been seen, and
 * SMTP_DATA_END once the terminator is consumed, error or not: the caller then checks
 * d->err (and gets the reply from smtp_data_error()).
 *
 * Output: the message with CRLF line ends, passed to the callback in runs of consecutive
 * input octets: one call per feed plus one per dot-stuffed line, never one per octet. The
 * result (output bytes, error, end position, header and 8-bit flags) is the same however
 * the input is split; the unit test and the fuzzer check that. After an error the output
 * is the message up to the octet that caused it and must be discarded.
 *
 * Ownership: the scanner borrows the callback and its argument; it allocates nothing.
 */
#include <string.h>

#include "smtp/smtp.h"

/* Private states of struct smtp_data's st. */
enum {
	ST_BOL,   /* at the start of a line (also right after the 354) */
	ST_MID,   /* inside a line */
	ST_CR,    /* after a CR (emitted tentatively; anything but LF makes it bare) */
	ST_DOT,   /* after a "." at the start of a line */
	ST_DOTCR, /* after ".\r" at the start of a line: LF ends the data */
	ST_END    /* terminator consumed */
};

/* Content octets allowed on one line: the limit minus CRLF (§4.5.3.1.6). */
#define LINE_CONTENT_MAX (SMTP_TEXT_MAX - 2)

void
smtp_data_init(struct smtp_data *d, uint64_t max, smtp_out_fn *out, void *arg)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->arg = arg;
	d->max = max;
	d->st = ST_BOL;
	d->in_header = true;
	d->err = SMTP_DERR_NONE;
}

/*
 * Writes the pending run p[*rs, end) unless an error stopped the output, and starts the
 * next run at next.
 */
static void
flush(struct smtp_data *d, const uint8_t *p, size_t *rs, size_t end, size_t next)
{
	if (end > *rs && d->err == SMTP_DERR_NONE) {
		if (d->out(d->arg, p + *rs, end - *rs) != 0)
			d->err = SMTP_DERR_OUTPUT;
	}
	*rs = next;
}

/*
 * Records the first error at octet i: what came before it is written (so the output does
 * not depend on how the input was split), nothing after.
 */
static void
fail(struct smtp_data *d, const uint8_t *p, size_t *rs, size_t i, enum smtp_data_err e)
{
	if (d->err != SMTP_DERR_NONE)
		return;
	flush(d, p, rs, i, i);
	if (d->err == SMTP_DERR_NONE)
		d->err = e;
}

/* Octet i is part of the message: count it against the size limit. */
static void
emit(struct smtp_data *d, const uint8_t *p, size_t *rs, size_t i)
{
	d->size++;
	if (d->max != 0 && d->size > d->max)
		fail(d, p, rs, i, SMTP_DERR_TOO_BIG);
}

/* Octet i is line content (neither CR nor LF). */
static void
content(struct smtp_data *d, const uint8_t *p, size_t *rs, size_t i)
{
	if (p[i] >= 0x80)
		d->eightbit = true;
	d->linelen++;
	if (d->linelen > LINE_CONTENT_MAX)
		fail(d, p, rs, i, SMTP_DERR_LINE_TOO_LONG);
	emit(d, p, rs, i);
}

/*
 * The longest run of ordinary octets starting at i that cannot cross a limit: with no
 * error pending, linelen <= LINE_CONTENT_MAX and size <= max hold, so this is exact.
 */
static size_t
fast_room(const struct smtp_data *d, size_t left)
{
	size_t room = left;
	uint64_t big;

	if (d->err != SMTP_DERR_NONE)
		return room;
	if (room > LINE_CONTENT_MAX - d->linelen)
		room = LINE_CONTENT_MAX - d->linelen;
	if (d->max != 0) {
		big = d->max - d->size;
		if ((uint64_t)room > big)
			room = (size_t)big;
	}
	return room;
}

/* An octet inside a line (state MID, or what follows a bare CR or a stuffing dot). */
static void
mid(struct smtp_data *d, const uint8_t *p, size_t *rs, size_t i)
{
	switch (p[i]) {
	case '\r':
		emit(d, p, rs, i);
		d->st = ST_CR;
		break;
	case '\n':
		/* Bare LF. It does not start a line: "\n.\r\n" cannot end the data. */
		fail(d, p, rs, i, SMTP_DERR_BARE_LF);
		emit(d, p, rs, i);
		d->st = ST_MID;
		break;
	default:
		content(d, p, rs, i);
		d->st = ST_MID;
		break;
	}
}

enum smtp_data_state
smtp_data_feed(struct smtp_data *d, const uint8_t *p, size_t len, size_t *used)
{
	size_t i = 0, rs = 0, j, room;
	uint8_t hi;

	*used = 0;
	if (d->st == ST_END)
		return SMTP_DATA_END;
	while (i < len) {
		switch (d->st) {
		case ST_BOL:
			if (p[i] == '.') {
				/* Stuffing dot or the terminator: never part of the message. */
				flush(d, p, &rs, i, i + 1);
				d->st = ST_DOT;
			} else {
				mid(d, p, &rs, i);
			}
			i++;
			break;
		case ST_MID:
			/* Fast path: ordinary octets up to the next CR, LF or limit. */
			room = fast_room(d, len - i);
			hi = 0;
			for (j = i; j < i + room && p[j] != '\r' && p[j] != '\n'; j++)
				hi |= p[j];
			if (hi & 0x80)
				d->eightbit = true;
			d->linelen += j - i;
			d->size += j - i;
			i = j;
			if (i < len) {
				mid(d, p, &rs, i);
				i++;
			}
			break;
		case ST_CR:
			if (p[i] == '\n') {
				emit(d, p, &rs, i);
				/* RFC 5322 §2.1: the first empty line ends the header section. */
				if (d->linelen == 0)
					d->in_header = false;
				d->linelen = 0;
				d->st = ST_BOL;
			} else {
				fail(d, p, &rs, i, SMTP_DERR_BARE_CR);
				mid(d, p, &rs, i);
			}
			i++;
			break;
		case ST_DOT:
			if (p[i] == '\r') {
				/* Held back: with an LF it is the terminator. */
				flush(d, p, &rs, i, i + 1);
				d->st = ST_DOTCR;
			} else {
				/* §4.5.2: the dot was stuffing; this octet is content. */
				mid(d, p, &rs, i);
			}
			i++;
			break;
		case ST_DOTCR:
			if (p[i] == '\n') {
				flush(d, p, &rs, i, i + 1);
				d->st = ST_END;
				*used = i + 1;
				return SMTP_DATA_END;
			}
			/* ".\r" then anything else: that CR was bare ("\r\n.\rX"). */
			fail(d, p, &rs, i, SMTP_DERR_BARE_CR);
			mid(d, p, &rs, i);
			i++;
			break;
		default:
			/* Not reachable: ST_END returned above. Treat a corrupt state as an end. */
			*used = i;
			return SMTP_DATA_END;
		}
	}
	flush(d, p, &rs, len, len);
	*used = len;
	return d->err == SMTP_DERR_NONE ? SMTP_DATA_MORE : SMTP_DATA_ERR;
}

/*
 * Replies after the final ".", all codes RFC 5321 §4.3.2 allows for the end of DATA:
 *   bare LF / bare CR   554 5.6.0  §2.3.8, §4.1.1.4 (RFC 3463 X.6.0: undefined media
 *                                  error — the content is not valid SMTP text)
 *   line too long       554 5.6.0  §4.5.3.1.6 (§4.5.3.1.10's "500 Line too long" is not a
 *                                  reply allowed after DATA)
 *   too big             552 5.3.4  RFC 1870 §6.3, RFC 3463 X.3.4
 *   output failed       451 4.3.0  a local error, the client should retry
 * Postfix answers bare LF with 550 5.5.2 (smtpd_forbid_bare_newline); 554 is the RFC 5321
 * "transaction failed" code for a DATA reply, so we use it.
 */
void
smtp_data_error(const struct smtp_data *d, struct smtp_perr *e)
{
	switch (d->err) {
	case SMTP_DERR_BARE_LF:
		e->code = 554;
		e->enh = "5.6.0";
		e->text = "Bare <LF> in message data; lines must end with <CR><LF>";
		break;
	case SMTP_DERR_BARE_CR:
		e->code = 554;
		e->enh = "5.6.0";
		e->text = "Bare <CR> in message data; lines must end with <CR><LF>";
		break;
	case SMTP_DERR_LINE_TOO_LONG:
		e->code = 554;
		e->enh = "5.6.0";
		e->text = "Message line longer than 1000 octets";
		break;
	case SMTP_DERR_TOO_BIG:
		e->code = 552;
		e->enh = "5.3.4";
		e->text = "Message size exceeds fixed maximum message size";
		break;
	case SMTP_DERR_OUTPUT:
		e->code = 451;
		e->enh = "4.3.0";
		e->text = "Local error writing the message; try again later";
		break;
	case SMTP_DERR_NONE:
	default:
		e->code = 250;
		e->enh = "2.0.0";
		e->text = "No error";
		break;
	}
}

void
smtp_hops_feed(struct smtp_hops *h, const void *p, size_t len)
{
	static const char name[] = "received:";
	const uint8_t *c = p;

	for (size_t i = 0; i < len && !h->done; i++) {
		if (!h->mid) {
			/* An empty line ends the header section (RFC 5322 §2.1). */
			if (c[i] == '\r' || c[i] == '\n') {
				h->done = true;
				break;
			}
			h->mid = true;
			h->match = 0;
		}
		if (c[i] == '\n') {
			h->mid = false;
			continue;
		}
		if (h->match == 0xff)
			continue;
		if ((c[i] | 0x20) == (uint8_t)name[h->match] ||
		    (name[h->match] == ':' && c[i] == ':')) {
			if (++h->match == sizeof(name) - 1) {
				h->n++;
				h->match = 0xff;
			}
		} else {
			h->match = 0xff;
		}
	}
}
