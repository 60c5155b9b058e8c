/*
 * smtp_reply — the client's reply parser (RFC 5321 §4.2, §4.5.3.1.5): one line at a time
 * in, one classified reply out. Pure: no I/O, no allocation, so the SMTP client, the unit
 * test and the fuzzer all call the same code.
 *
 *   Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *                Reply-code [ SP textstring ] CRLF
 *   Reply-code = %x32-35 %x30-35 %x30-39
 *
 * The caller splits the stream on CRLF and feeds each line without it. Every line must
 * start with the same three-digit code as the first; '-' says more lines follow, ' ' or
 * the end of the line says this one was the last. Refused, each as -1 and sticky:
 *   - a code outside [2-5][0-5][0-9] (1yz is never sent by RFC 5321 servers, and a
 *     client acting on one would be acting on garbage);
 *   - any other octet after the code;
 *   - a code that differs from the first line's;
 *   - a line over SMTP_REPLY_LINE_MAX (510) octets without its CRLF (§4.5.3.1.5: 512 with
 *     it);
 *   - NUL, or any other control octet than HT, DEL included: textstring is %d09 /
 *     %d32-126 (plus UTF-8 under RFC 6531, so octets >= 0x80 pass);
 *   - a reply of more than SMTP_REPLY_LINES_MAX lines;
 *   - any line fed after the reply was complete.
 *
 * What is kept: the code, the enhanced status code of the first line when it is well
 * formed and of the reply's class (RFC 3463 §2, RFC 2034 §4), the text of every line
 * joined with " / " (printable ASCII only: HT becomes a space, octets >= 0x80 '?') cut at
 * the size of the buffer, and a pointer to the current line's text for the EHLO keywords.
 * text and enh are NUL-terminated at every moment, whatever was fed: CVE-2020-8794 was a
 * client reply parser that a hostile server could walk past the end of its buffer.
 */
#include <string.h>

#include "smtp/smtp.h"

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

/* RFC 3463 §2: class "." subject "." detail, 1-3 digits each; class 2, 4 or 5. */
static void
reply_enh(struct smtp_reply *r, const char *t, size_t len)
{
	size_t i, d, part;

	if (len < 5 || t[0] != (char)('0' + r->code / 100) || r->code / 100 == 3 || t[1] != '.')
		return;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (d = 0; i + d < len && t[i + d] >= '0' && t[i + d] <= '9'; d++)
			;
		if (d < 1 || d > 3)
			return;
		i += d;
		if (part == 0) {
			if (i >= len || t[i] != '.')
				return;
			i++;
		}
	}
	/* The code ends at a space or at the end of the line, never inside a word. */
	if (i < len && t[i] != ' ')
		return;
	memcpy(r->enh, t, i); /* at most 1+1+3+1+3 = 9 octets */
	r->enh[i] = '\0';
}

/* Appends the printable rendering of t to r->text, cutting when it is full. */
static void
reply_text(struct smtp_reply *r, const char *t, size_t len)
{
	size_t i;
	unsigned char c;

	if (r->nlines > 1)
		for (i = 0; i < 3 && r->tlen + 1 < sizeof(r->text); i++)
			r->text[r->tlen++] = " / "[i];
	for (i = 0; i < len && r->tlen + 1 < sizeof(r->text); i++) {
		c = (unsigned char)t[i];
		r->text[r->tlen++] = c == '\t' ? ' ' : c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	r->text[r->tlen] = '\0';
}

int
smtp_reply_line(struct smtp_reply *r, const char *line, size_t len)
{
	const unsigned char *u = (const unsigned char *)line;
	size_t i;
	int code;

	if (r->state != SMTP_REPLY_ST_MORE)
		goto bad;
	r->line_text = "";
	r->line_len = 0;
	if (len < 3 || len > SMTP_REPLY_LINE_MAX || r->nlines >= SMTP_REPLY_LINES_MAX)
		goto bad;
	if (u[0] < '2' || u[0] > '5' || u[1] < '0' || u[1] > '5' || u[2] < '0' || u[2] > '9')
		goto bad;
	if (len > 3 && u[3] != ' ' && u[3] != '-')
		goto bad;
	for (i = 3; i < len; i++)
		if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7f)
			goto bad;
	code = (u[0] - '0') * 100 + (u[1] - '0') * 10 + (u[2] - '0');
	if (r->nlines > 0 && code != r->code)
		goto bad;
	r->code = code;
	r->nlines++;
	if (len > 4) {
		r->line_text = line + 4;
		r->line_len = len - 4;
	}
	if (r->nlines == 1)
		reply_enh(r, r->line_text, r->line_len);
	reply_text(r, r->line_text, r->line_len);
	if (len > 3 && u[3] == '-')
		return 0;
	r->state = SMTP_REPLY_ST_DONE;
	return 1;
bad:
	r->state = SMTP_REPLY_ST_BAD;
	r->line_text = "";
	r->line_len = 0;
	return -1;
}
