/*
 * fuzz_smtp_cmd — libFuzzer target for the command parser (smtp_cmd.c, with smtp_path.c).
 *
 * Input: one flag octet (bit 0: utf8_ok from the start), then a stream of command lines
 * separated by CRLF, split the way the session splits them: so a line can hold a bare CR or
 * a bare LF but never CRLF. As in a session, an accepted MAIL with SMTPUTF8 makes the
 * following RCPTs utf8_ok, and a MAIL without it ends that. Every line is checked alone;
 * several per input let a small corpus reach every branch.
 *
 * Checks, any disagreement abort()s:
 *   - a refusal carries one of the documented replies (500, 501, 553, 555), an enhanced
 *     code and a printable ASCII text;
 *   - an accepted command has a verb, NUL-terminated fields free of control octets, an
 *     ENVID of printable ASCII of at most 100 octets, NOTIFY=NEVER alone, UTF-8 paths only
 *     where allowed, and no MAIL/RCPT fields on other verbs;
 *   - the command is written back in canonical form (paths re-quoted, xtext re-encoded,
 *     numbers without leading zeros), which must be no longer than the input, and parsing
 *     that gives the same struct field for field.
 */
#include <inttypes.h>
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
		fprintf(stderr, "fuzz_smtp_cmd: %s\n", what);
		abort();
	}
}

static void
field(const char *s, size_t cap, bool ascii, const char *what)
{
	size_t i, n = strnlen(s, cap);

	check(n < cap, what);
	for (i = 0; i < n; i++) {
		check((uint8_t)s[i] >= 0x20 && (uint8_t)s[i] != 0x7f, what);
		check(!ascii || (uint8_t)s[i] < 0x80, what);
	}
}

struct out {
	char buf[SMTP_CMD_EXT_MAX * 2];
	size_t len;
};

static void
put(struct out *o, const char *s, size_t n)
{
	check(o->len + n < sizeof(o->buf), "canonical line overflow");
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* RFC 3461 §4 xtext: "+XX" for "+", "=" and anything outside "!".."~". */
static void
put_xtext(struct out *o, const char *s)
{
	char hex[4];

	for (; *s != '\0'; s++) {
		uint8_t c = (uint8_t)*s;

		if (c < 33 || c > 126 || c == '+' || c == '=') {
			(void)snprintf(hex, sizeof(hex), "+%02X", c);
			put(o, hex, 3);
		} else {
			put(o, s, 1);
		}
	}
}

static void
canonical(const struct smtp_cmd *c, struct out *o)
{
	static const char *const vn[] = {
	    [SMTP_V_HELO] = "HELO",
	    [SMTP_V_EHLO] = "EHLO",
	    [SMTP_V_MAIL] = "MAIL",
	    [SMTP_V_RCPT] = "RCPT",
	    [SMTP_V_DATA] = "DATA",
	    [SMTP_V_BDAT] = "BDAT",
	    [SMTP_V_RSET] = "RSET",
	    [SMTP_V_NOOP] = "NOOP",
	    [SMTP_V_QUIT] = "QUIT",
	    [SMTP_V_VRFY] = "VRFY",
	    [SMTP_V_EXPN] = "EXPN",
	    [SMTP_V_HELP] = "HELP",
	    [SMTP_V_STARTTLS] = "STARTTLS",
	    [SMTP_V_AUTH] = "AUTH",
	};
	char path[SMTP_ADDR_MAX + 1], num[32];
	bool first = true;

	o->len = 0;
	puts_(o, vn[c->verb]);
	switch (c->verb) {
	case SMTP_V_MAIL:
	case SMTP_V_RCPT:
		puts_(o, c->verb == SMTP_V_MAIL ? " FROM:<" : " TO:<");
		smtp_path_str(&c->path, path, sizeof(path));
		puts_(o, path);
		puts_(o, ">");
		if (c->has_size) {
			(void)snprintf(num, sizeof(num), " SIZE=%" PRIu64, c->size);
			puts_(o, num);
		}
		if (c->body != SMTP_BODY_NONE)
			puts_(o,
			    c->body == SMTP_BODY_7BIT           ? " BODY=7BIT"
				: c->body == SMTP_BODY_8BITMIME ? " BODY=8BITMIME"
								: " BODY=BINARYMIME");
		if (c->smtputf8)
			puts_(o, " SMTPUTF8");
		if (c->ret != SMTP_RET_NONE)
			puts_(o, c->ret == SMTP_RET_FULL ? " RET=FULL" : " RET=HDRS");
		if (c->envid[0] != '\0') {
			puts_(o, " ENVID=");
			put_xtext(o, c->envid);
		}
		if (strcmp(c->auth, "<>") == 0) {
			puts_(o, " AUTH=<>");
		} else if (c->auth[0] != '\0') {
			puts_(o, " AUTH=");
			put_xtext(o, c->auth);
		}
		if (c->notify != 0) {
			puts_(o, " NOTIFY=");
			if (c->notify & SMTP_NOTIFY_NEVER)
				puts_(o, "NEVER");
			if (c->notify & SMTP_NOTIFY_SUCCESS) {
				puts_(o, "SUCCESS");
				first = false;
			}
			if (c->notify & SMTP_NOTIFY_FAILURE) {
				puts_(o, first ? "FAILURE" : ",FAILURE");
				first = false;
			}
			if (c->notify & SMTP_NOTIFY_DELAY)
				puts_(o, first ? "DELAY" : ",DELAY");
		}
		if (c->orcpt[0] != '\0') {
			const char *semi = strchr(c->orcpt, ';');

			check(semi != NULL, "ORCPT without ';'");
			puts_(o, " ORCPT=");
			put(o, c->orcpt, (size_t)(semi - c->orcpt) + 1);
			put_xtext(o, semi + 1);
		}
		break;
	case SMTP_V_BDAT:
		(void)snprintf(num, sizeof(num), " %" PRIu64, c->chunk);
		puts_(o, num);
		if (c->last)
			puts_(o, " LAST");
		break;
	case SMTP_V_AUTH:
		puts_(o, " ");
		puts_(o, c->arg);
		if (c->arg2[0] != '\0') {
			puts_(o, " ");
			puts_(o, c->arg2);
		}
		break;
	default:
		if (c->arg[0] != '\0') {
			puts_(o, " ");
			puts_(o, c->arg);
		}
		break;
	}
}

static void
same(const struct smtp_cmd *a, const struct smtp_cmd *b)
{
	check(a->verb == b->verb, "canonical: verb");
	check(strcmp(a->arg, b->arg) == 0 && strcmp(a->arg2, b->arg2) == 0, "canonical: args");
	check(a->path.null == b->path.null && a->path.utf8 == b->path.utf8 &&
		a->path.domain_literal == b->path.domain_literal &&
		strcmp(a->path.local, b->path.local) == 0 &&
		strcmp(a->path.domain, b->path.domain) == 0,
	    "canonical: path");
	check(a->has_size == b->has_size && a->size == b->size, "canonical: size");
	check(a->body == b->body && a->smtputf8 == b->smtputf8 && a->ret == b->ret,
	    "canonical: body/smtputf8/ret");
	check(strcmp(a->envid, b->envid) == 0 && strcmp(a->auth, b->auth) == 0, "canonical: xtext");
	check(a->notify == b->notify && strcmp(a->orcpt, b->orcpt) == 0, "canonical: dsn");
	check(a->chunk == b->chunk && a->last == b->last, "canonical: bdat");
}

/* One line; returns the new utf8_ok state. */
static bool
one(const char *line, size_t n, bool utf8_ok)
{
	static struct smtp_cmd c1, c2;
	static struct out o;
	struct smtp_perr e;
	size_t i;
	int r;

	memset(&e, 0, sizeof(e));
	r = smtp_cmd_parse_utf8(line, n, utf8_ok, &c1, &e);
	if (r != 0) {
		check(r == -1, "return value");
		check(e.code == 500 || e.code == 501 || e.code == 553 || e.code == 555,
		    "refusal code");
		check(e.enh != NULL && e.enh[0] == '5' && e.text != NULL && e.text[0] != '\0',
		    "refusal reply");
		for (i = 0; e.text[i] != '\0'; i++)
			check((uint8_t)e.text[i] >= 32 && (uint8_t)e.text[i] <= 126, "reply text");
		return utf8_ok;
	}
	check(c1.verb != SMTP_V_UNKNOWN, "accepted without a verb");
	field(c1.arg, sizeof(c1.arg), false, "arg");
	field(c1.arg2, sizeof(c1.arg2), true, "arg2");
	field(c1.envid, sizeof(c1.envid), true, "envid");
	field(c1.auth, sizeof(c1.auth), false, "auth");
	field(c1.orcpt, sizeof(c1.orcpt), false, "orcpt");
	field(c1.path.local, sizeof(c1.path.local), false, "local");
	field(c1.path.domain, sizeof(c1.path.domain), false, "domain");
	check(strlen(c1.envid) <= 100, "ENVID over 100");
	check(!(c1.notify & SMTP_NOTIFY_NEVER) || c1.notify == SMTP_NOTIFY_NEVER, "NEVER mixed");
	if (c1.verb == SMTP_V_MAIL)
		check(!c1.path.utf8 || c1.smtputf8, "UTF-8 reverse-path without SMTPUTF8");
	else if (c1.verb == SMTP_V_RCPT)
		check((!c1.path.utf8 || utf8_ok) && !c1.path.null, "bad forward-path");
	else
		check(c1.path.local[0] == '\0' && !c1.path.null && !c1.has_size &&
			c1.body == SMTP_BODY_NONE && c1.envid[0] == '\0' && c1.notify == 0 &&
			c1.orcpt[0] == '\0',
		    "MAIL/RCPT fields on another verb");
	if (c1.verb == SMTP_V_HELO || c1.verb == SMTP_V_EHLO)
		check(smtp_domain_valid(c1.arg, strlen(c1.arg), false), "bad EHLO name accepted");

	canonical(&c1, &o);
	check(o.len <= n, "canonical form longer than the input");
	r = smtp_cmd_parse_utf8(o.buf, o.len, utf8_ok, &c2, &e);
	if (r != 0)
		fprintf(
		    stderr, "canonical %.*s: %d %s %s\n", (int)o.len, o.buf, e.code, e.enh, e.text);
	check(r == 0, "canonical form refused");
	same(&c1, &c2);
	return c1.verb == SMTP_V_MAIL ? c1.smtputf8 : utf8_ok;
}

/* An exact-size copy, so ASan sees a read past the line's end. */
static bool
one_copy(const char *line, size_t n, bool utf8_ok)
{
	char *copy;

	copy = malloc(n > 0 ? n : 1);
	check(copy != NULL, "out of memory");
	memcpy(copy, line, n);
	utf8_ok = one(copy, n, utf8_ok);
	free(copy);
	return utf8_ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p, *end, *eol;
	bool utf8_ok;

	if (size < 1)
		return 0;
	utf8_ok = (data[0] & 1) != 0;
	p = (const char *)data + 1;
	end = (const char *)data + size;
	for (;;) {
		for (eol = p; eol + 1 < end && !(eol[0] == '\r' && eol[1] == '\n'); eol++)
			;
		if (eol + 1 >= end) {
			utf8_ok = one_copy(p, (size_t)(end - p), utf8_ok);
			break;
		}
		utf8_ok = one_copy(p, (size_t)(eol - p), utf8_ok);
		p = eol + 2;
	}
	return 0;
}
