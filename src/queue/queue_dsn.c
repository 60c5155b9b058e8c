/*
 * queue_dsn — delivery status notifications (bounces): an RFC 3464 report, written as an
 * ordinary mxd queue file so the queue manager commits and delivers it like any message.
 *
 * What is written (queue_dsn_write):
 *   envelope  MAIL FROM:<> (RFC 3461 §6.2, RFC 5321 §4.5.5: a notification never asks for
 *             one back), one RCPT: the original sender (RFC 3464 §3.1: the DSN goes to the
 *             return address of the original envelope, in header and envelope alike), the
 *             new queue ID, arrival = now, client "127.0.0.1 HOSTNAME" (made here, not
 *             received), SMTPUTF8 when the sender's address is UTF-8 (RFC 6531: it
 *             appears in RCPT TO and To:), BODY=8BITMIME when any octet above 0x7f is in it.
 *   message   multipart/report; report-type=delivery-status (RFC 6522 §3) with
 *             1. text/plain for people: what happened, one paragraph per recipient;
 *             2. message/delivery-status (RFC 3464 §2.1), or message/global-delivery-status
 *                (RFC 6533) when an address in the report is UTF-8;
 *             3. the original message (message/rfc822, message/global with SMTPUTF8) or
 *                only its header section (text/rfc822-headers, message/global-headers).
 *
 * How much of the original goes back (RFC 3461 §4.3): RET=FULL asks for the whole message
 * in a "failed" DSN, RET=HDRS for headers only; without RET we choose: the whole message up
 * to DSN_FULL_MAX octets, headers beyond. Reports that fail nobody (delays, success and
 * relay notices) carry headers only, as RET=FULL asks for the content only on failure, and
 * so does a BINARYMIME original (its body may have bare CR/LF and lines of any length,
 * which no 8BITMIME part may carry). A header section is cut at a line end once it passes
 * DSN_FULL_MAX. Part 1 says which of these was done.
 *
 * Security: everything taken from a remote server (the reply in diag, the host name in
 * remote_mta) and everything from the queue file (addresses, ENVID, ORCPT) goes through
 * dsn_clean() first: control octets — CR and LF above all — become spaces, so a hostile
 * reply cannot start a header field or a line of its own; octets above 0x7e become '?'
 * unless UTF-8 is allowed there and the text is well-formed UTF-8. Long values are folded
 * (RFC 5322 §2.2.3) at spaces, so every continuation line starts with white space and can
 * never be a MIME boundary delimiter, which must start a line with "--" (RFC 2046 §5.1.1).
 * The boundary itself carries the new queue ID and 128 random bits from the CSPRNG,
 * chosen after the original arrived, so its author cannot have planted it; it starts with
 * "=_", which quoted-printable text cannot contain.
 *
 * Limits: no line above DSN_LINE_MAX (998) octets (RFC 5322 §2.1.1): header fields fold at
 * DSN_FOLD (78) where spaces allow, and a word longer than a line is cut. The original's
 * lines are already at most 1000 octets with CRLF (smtpd enforces RFC 5321 §4.5.3.1.6).
 * A diagnostic is kept to DSN_DIAG_MAX octets. At most QUEUE_RCPT_MAX recipients.
 *
 * Errors: 0, or -1 with a reason in err; on -1 the caller removes the half-written file.
 * The original is read twice with queue_file_read() (first to learn whether the part that
 * goes back has 8-bit octets, then to copy it); a file that does not read back OK is an
 * error, never a DSN without its content.
 */
#include <bsd/string.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue.h"
#include "util/rand.h"

#define DSN_LINE_MAX 998           /* octets before CRLF, RFC 5322 §2.1.1 */
#define DSN_FOLD     78            /* where folding starts, RFC 5322 §2.1.1 SHOULD */
#define DSN_FULL_MAX (1024 * 1024) /* no RET: whole message up to here, headers beyond */
#define DSN_DIAG_MAX 2048          /* octets of a remote reply kept */
#define DSN_HOST_MAX 256
#define DSN_BOUNDARY 64

/* What the third part carries. */
enum dsn_ret_mode { DSN_RET_FULL, DSN_RET_HDRS };

/* Why only the headers went back (said in part 1). */
enum dsn_hdrs_why { WHY_NONE, WHY_ASKED, WHY_SIZE, WHY_BINARY, WHY_NOTFAIL };

/* The original's content on its way into part 3 (or only counted, with w NULL). */
struct dsn_orig {
	struct queue_w *w; /* NULL: scan only */
	enum dsn_ret_mode mode;
	bool bol;      /* at the start of a line */
	bool pend_cr;  /* a CR at the start of a line, held back */
	bool done;     /* headers-only: the header section has ended */
	bool cut;      /* headers-only: cut at DSN_FULL_MAX */
	bool eightbit; /* an octet above 0x7f went out */
	uint64_t out;  /* octets passed on */
	uint8_t last;  /* last octet passed on */
};

/* --- small helpers --------------------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
dsn_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Copies s into out (cap octets with the NUL) as one line of printable text. Control octets
 * (CR, LF and TAB among them) become spaces; with collapse, runs of spaces shrink to one and
 * leading and trailing spaces go. Octets above 0x7e become '?' unless utf8 is set and s is
 * well-formed UTF-8 as a whole (a reply that is not gets no benefit of the doubt). A string
 * longer than cap is cut on a character boundary and ends in "...".
 */
static void
dsn_clean(const char *s, char *out, size_t cap, bool utf8, bool collapse)
{
	size_t i, o = 0, len;
	unsigned char c;
	bool keep8, cut = false;

	if (cap == 0)
		return;
	if (s == NULL)
		s = "";
	len = strlen(s);
	keep8 = utf8 && smtp_utf8_valid(s, len);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			c = ' ';
		else if (c >= 0x80 && !keep8)
			c = '?';
		if (collapse && c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		if (o + 1 >= cap) {
			cut = true;
			break;
		}
		out[o++] = (char)c;
	}
	if (cut) {
		/* Room for "...": back off to the start of a UTF-8 character. */
		o = cap > 4 ? cap - 4 : 0;
		while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
			o--;
		if (cap > 4) {
			memcpy(out + o, "...", 3);
			o += 3;
		}
	}
	if (collapse)
		while (o > 0 && out[o - 1] == ' ')
			o--;
	out[o] = '\0';
}

/* RFC 5322 §3.3 date-time, in UTC: "Mon, 02 Jun 2025 10:00:00 +0000". */
static void
dsn_date(time_t t, char *out, size_t cap)
{
	static const char *const wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const mon[] = {
	    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 || tm.tm_mon < 0 ||
	    tm.tm_mon > 11) {
		strlcpy(out, "Thu, 01 Jan 1970 00:00:00 +0000", cap);
		return;
	}
	(void)snprintf(out, cap, "%s, %02d %s %04d %02d:%02d:%02d +0000", wday[tm.tm_wday],
	    tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* RFC 3463 §2: class "." subject "." detail, class 2, 4 or 5, 1-3 digits each after it. */
static bool
dsn_status_valid(const char *s)
{
	size_t i, n;
	int part;

	if (s == NULL || (s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (n = 0; s[i] >= '0' && s[i] <= '9'; i++)
			n++;
		if (n < 1 || n > 3)
			return false;
		if (part == 0 && s[i++] != '.')
			return false;
	}
	return s[i] == '\0';
}

static const char *
dsn_action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_FAILED:
		return "failed";
	case DSN_DELAYED:
		return "delayed";
	case DSN_DELIVERED:
		return "delivered";
	case DSN_RELAYED:
		return "relayed";
	case DSN_EXPANDED:
		return "expanded";
	}
	return "failed";
}

/* The status to report when the caller gave none that parses. */
static const char *
dsn_status_default(enum dsn_action a)
{
	switch (a) {
	case DSN_FAILED:
		return "5.0.0";
	case DSN_DELAYED:
		return "4.0.0";
	default:
		return "2.0.0";
	}
}

/* Higher is worse: the subject and the opening paragraph follow the worst action. */
static int
dsn_severity(enum dsn_action a)
{
	switch (a) {
	case DSN_FAILED:
		return 2;
	case DSN_DELAYED:
		return 1;
	default:
		return 0;
	}
}

/* An SMTP reply starts with three digits and then SP, '-' or its end (RFC 5321 §4.2). */
static bool
is_smtp_reply(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
	    s[2] <= '9' && (s[3] == ' ' || s[3] == '-' || s[3] == '\0');
}

/* --- output ---------------------------------------------------------------------------- */

static void
out_str(struct queue_w *w, const char *s)
{
	queue_w_data(w, s, strlen(s));
}

/* One short line of our own making (never untrusted text: that goes through out_fold). */
static void __attribute__((format(printf, 2, 3))) out_line(struct queue_w *w, const char *fmt, ...)
{
	char line[DSN_LINE_MAX + 1];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (k < 0)
		k = 0;
	if ((size_t)k >= sizeof(line))
		k = (int)sizeof(line) - 1;
	queue_w_data(w, line, (size_t)k);
	queue_w_data(w, "\r\n", 2);
}

/*
 * Writes s (cleaned: no CR, LF or other control octets) as lines of at most DSN_FOLD
 * columns where spaces allow and never more than DSN_LINE_MAX octets, then CRLF; col is
 * what the current line already holds. indent NULL (header fields): a fold goes just before
 * a space, which stays as the continuation's leading white space, so unfolding (RFC 5322
 * §2.2.3) gives s back exactly. indent set (text): the spaces at a break are dropped and
 * the next line starts with indent. A word that cannot fit one line is cut (on a UTF-8
 * character boundary) and goes on after " " or indent. A line holding only white space is
 * never made (RFC 5322 §3.2.2): a break needs a non-space just before it.
 */
static void
out_fold(struct queue_w *w, size_t col, const char *s, const char *indent)
{
	size_t len = strlen(s), i, cut, ind = indent != NULL ? strlen(indent) : 1;

	while (len > 0) {
		if (col + len <= DSN_FOLD) {
			queue_w_data(w, s, len);
			break;
		}
		cut = 0;
		for (i = 1; i < len && col + i <= DSN_FOLD; i++)
			if (s[i] == ' ' && s[i - 1] != ' ')
				cut = i;
		/* None before the fold column: the first one after it, if the line holds it. */
		for (i = 1; cut == 0 && i < len && col + i <= DSN_LINE_MAX; i++)
			if (s[i] == ' ' && s[i - 1] != ' ')
				cut = i;
		if (cut == 0) {
			if (col + len <= DSN_LINE_MAX) {
				queue_w_data(w, s, len);
				break;
			}
			/* One word longer than a line: cut it. col < DSN_LINE_MAX always. */
			cut = DSN_LINE_MAX - col;
			while (cut > 1 && ((unsigned char)s[cut] & 0xc0) == 0x80)
				cut--;
			queue_w_data(w, s, cut);
			queue_w_data(w, "\r\n", 2);
			out_str(w, indent != NULL ? indent : " ");
			col = ind;
			s += cut;
			len -= cut;
			continue;
		}
		queue_w_data(w, s, cut);
		queue_w_data(w, "\r\n", 2);
		s += cut;
		len -= cut;
		if (indent == NULL) {
			col = 0; /* s starts with the space */
			continue;
		}
		while (len > 0 && *s == ' ') {
			s++;
			len--;
		}
		if (len == 0)
			return;
		out_str(w, indent);
		col = ind;
	}
	queue_w_data(w, "\r\n", 2);
}

/* A header field "Name: value"; value is cleaned text, folded as needed. */
static void
out_field(struct queue_w *w, const char *name, const char *value)
{
	out_str(w, name);
	out_str(w, ": ");
	out_fold(w, strlen(name) + 2, value, NULL);
}

/* --- the original ---------------------------------------------------------------------- */

static void
orig_emit(struct dsn_orig *o, const uint8_t *p, size_t n)
{
	size_t i;

	if (n == 0)
		return;
	for (i = 0; i < n && !o->eightbit; i++)
		if (p[i] >= 0x80)
			o->eightbit = true;
	if (o->w != NULL)
		queue_w_data(o->w, p, n);
	o->out += n;
	o->last = p[n - 1];
}

/*
 * queue_data_fn: passes the message on (FULL), or its header section only (HDRS): every
 * line before the first empty one (RFC 5322 §2.1), at most about DSN_FULL_MAX octets and
 * always whole lines. Once the headers have ended it stops the read (returns -1 with done
 * set; the caller reads that as success), so a large body is not read for nothing.
 */
static int
orig_data(void *arg, const void *buf, size_t n)
{
	struct dsn_orig *o = arg;
	const uint8_t *p = buf;
	size_t i, from = 0;

	if (o->mode == DSN_RET_FULL) {
		orig_emit(o, p, n);
		return 0;
	}
	if (o->done)
		return -1;
	for (i = 0; i < n; i++) {
		if (o->pend_cr) {
			o->pend_cr = false;
			if (p[i] == '\n') {
				o->done = true;
				return -1;
			}
			orig_emit(o, (const uint8_t *)"\r", 1);
			o->bol = false;
		}
		if (o->bol && p[i] == '\r') {
			orig_emit(o, p + from, i - from);
			from = i + 1;
			o->pend_cr = true;
			continue;
		}
		if (o->bol && p[i] == '\n') { /* a bare LF empty line: the end, too */
			orig_emit(o, p + from, i - from);
			o->done = true;
			return -1;
		}
		o->bol = p[i] == '\n';
		if (o->bol && o->out + (i + 1 - from) > DSN_FULL_MAX) {
			orig_emit(o, p + from, i + 1 - from);
			o->done = true;
			o->cut = true;
			return -1;
		}
	}
	orig_emit(o, p + from, n - from);
	return 0;
}

/* Reads the original through orig_data. 0, or -1 when it did not read back whole. */
static int
orig_read(int fd, struct dsn_orig *o, char *err, size_t errlen)
{
	struct queue_env scratch;
	enum queue_read_res res;

	o->bol = true;
	o->pend_cr = false;
	o->done = false;
	o->cut = false;
	o->eightbit = false;
	o->out = 0;
	o->last = '\n';
	res = queue_file_read(fd, &scratch, orig_data, o);
	if (res == QUEUE_READ_IOERR && o->done)
		res = QUEUE_READ_OK; /* we stopped it: the headers were complete */
	queue_env_clear(&scratch);
	if (res != QUEUE_READ_OK) {
		dsn_err(err, errlen, "original message unreadable (%s)",
		    res == QUEUE_READ_TORN      ? "torn"
			: res == QUEUE_READ_BAD ? "bad"
						: strerror(errno));
		return -1;
	}
	/* A header section that was all the message never got its CRLF back. */
	if (o->pend_cr)
		orig_emit(o, (const uint8_t *)"\r", 1);
	return 0;
}

/* --- the report ------------------------------------------------------------------------ */

/* Everything decided before the first octet is written. */
struct dsn_plan {
	char host[DSN_HOST_MAX]; /* cleaned hostname */
	char boundary[DSN_BOUNDARY];
	int worst;     /* dsn_severity() of the worst action */
	bool utf8;     /* an address in the report is UTF-8 */
	bool smtputf8; /* orig->smtputf8: part 3 is message/global* */
	enum dsn_ret_mode ret;
	enum dsn_hdrs_why why;
	bool orig8; /* part 3 has 8-bit octets */
};

/* Address (cleaned) with its RFC 3464 §2.3.2 / RFC 6533 address type. */
static void
addr_typed(const char *addr, bool utf8, char *out, size_t cap)
{
	char a[SMTP_ADDR_MAX + 1];

	dsn_clean(addr, a, sizeof(a), utf8, false);
	(void)snprintf(out, cap, "%s; %s", smtp_str_ascii(a) ? "rfc822" : "utf-8", a);
}

/* ORCPT as stored ("rfc822;addr", decoded): "type; addr" (RFC 3464 §2.3.1), or "". */
static void
orcpt_typed(const char *orcpt, bool utf8, char *out, size_t cap)
{
	char t[SMTP_ADDR_MAX + 16];
	const char *semi;
	size_t tl;

	out[0] = '\0';
	if (orcpt == NULL || orcpt[0] == '\0')
		return;
	dsn_clean(orcpt, t, sizeof(t), utf8, false);
	semi = strchr(t, ';');
	if (semi == NULL || semi == t)
		return; /* not "type;address": nothing we can echo truthfully */
	tl = (size_t)(semi - t);
	semi++;
	while (*semi == ' ')
		semi++;
	if (*semi == '\0')
		return;
	(void)snprintf(out, cap, "%.*s; %s", (int)tl, t, semi);
}

static void
write_text(struct queue_w *w, const struct dsn_plan *pl, const struct queue_env *orig,
    const struct dsn_rcpt *rcpts, size_t n)
{
	char addr[SMTP_ADDR_MAX + 1], host[DSN_HOST_MAX], diag[DSN_DIAG_MAX];
	char para[SMTP_ADDR_MAX + DSN_HOST_MAX + DSN_DIAG_MAX + 128];
	const char *status;
	size_t i;

	out_line(w, "This is the mail system at %s.", pl->host);
	out_str(w, "\r\n");
	switch (pl->worst) {
	case 2:
		out_fold(w, 0,
		    "Your message could not be delivered to one or more of its "
		    "recipients. The mail system has given up on them; the reasons are below.",
		    "");
		for (i = 0; i < n && rcpts[i].action != DSN_DELAYED; i++)
			continue;
		if (i < n)
			out_fold(w, 0,
			    "Delivery to the recipients marked \"delayed\" is still "
			    "being tried.",
			    "");
		break;
	case 1:
		out_fold(w, 0,
		    "Your message has not been delivered yet to one or more of its "
		    "recipients. The mail system keeps trying; you need not send it again. "
		    "The reasons for the delay are below.",
		    "");
		break;
	default:
		out_fold(w, 0,
		    "Your message was delivered, or passed on, to the recipients "
		    "below, as you asked.",
		    "");
		break;
	}
	out_str(w, "\r\n");
	for (i = 0; i < n; i++) {
		dsn_clean(rcpts[i].addr, addr, sizeof(addr), pl->utf8, false);
		status = dsn_status_valid(rcpts[i].status) ? rcpts[i].status
							   : dsn_status_default(rcpts[i].action);
		dsn_clean(rcpts[i].remote_mta, host, sizeof(host), false, true);
		dsn_clean(rcpts[i].diag, diag, sizeof(diag), false, true);
		if (diag[0] != '\0' && host[0] != '\0')
			(void)snprintf(para, sizeof(para), "<%s>: %s (%s): host %s said: %s", addr,
			    dsn_action_name(rcpts[i].action), status, host, diag);
		else if (diag[0] != '\0')
			(void)snprintf(para, sizeof(para), "<%s>: %s (%s): %s", addr,
			    dsn_action_name(rcpts[i].action), status, diag);
		else if (host[0] != '\0')
			(void)snprintf(para, sizeof(para), "<%s>: %s (%s) at host %s", addr,
			    dsn_action_name(rcpts[i].action), status, host);
		else
			(void)snprintf(para, sizeof(para), "<%s>: %s (%s)", addr,
			    dsn_action_name(rcpts[i].action), status);
		/* Continuation lines are indented: none can start with "--". */
		out_fold(w, 0, para, "    ");
	}
	out_str(w, "\r\n");
	switch (pl->why) {
	case WHY_NONE:
		out_line(w, "%s", "Your message is attached.");
		break;
	case WHY_ASKED:
		out_fold(w, 0,
		    "The header section of your message is attached; you asked for "
		    "headers only (RET=HDRS).",
		    "");
		break;
	case WHY_SIZE:
		out_fold(w, 0,
		    "The header section of your message is attached; the message "
		    "itself is larger than 1 MiB.",
		    "");
		break;
	case WHY_BINARY:
		out_fold(w, 0,
		    "The header section of your message is attached; its binary body "
		    "(BODY=BINARYMIME) cannot be returned in a report.",
		    "");
		break;
	case WHY_NOTFAIL:
		out_line(w, "%s", "The header section of your message is attached.");
		break;
	}
	if (orig->arrival != 0) {
		char date[64];

		dsn_date(orig->arrival, date, sizeof(date));
		out_line(w, "It arrived on %s.", date);
	}
}

static void
write_status(struct queue_w *w, const struct dsn_plan *pl, const struct queue_env *orig,
    const struct dsn_rcpt *rcpts, size_t n)
{
	char v[SMTP_ADDR_MAX + DSN_DIAG_MAX + 32], t[DSN_DIAG_MAX];
	char date[64];
	size_t i;

	/* RFC 3464 §2.2: per-message fields, in the order of the grammar. */
	if (orig->envid[0] != '\0') {
		/* §2.2.1: case and spelling preserved; the stored value is xtext-decoded. */
		dsn_clean(orig->envid, t, sizeof(t), false, false);
		out_field(w, "Original-Envelope-Id", t);
	}
	(void)snprintf(v, sizeof(v), "dns; %s", pl->host);
	out_field(w, "Reporting-MTA", v);
	if (orig->arrival != 0) {
		dsn_date(orig->arrival, date, sizeof(date));
		out_field(w, "Arrival-Date", date);
	}
	/* §2.3: one group per recipient, each after a blank line. */
	for (i = 0; i < n; i++) {
		out_str(w, "\r\n");
		orcpt_typed(rcpts[i].orcpt, pl->utf8, v, sizeof(v));
		if (v[0] != '\0')
			out_field(w, "Original-Recipient", v);
		addr_typed(rcpts[i].addr, pl->utf8, v, sizeof(v));
		out_field(w, "Final-Recipient", v);
		out_field(w, "Action", dsn_action_name(rcpts[i].action));
		out_field(w, "Status",
		    dsn_status_valid(rcpts[i].status) ? rcpts[i].status
						      : dsn_status_default(rcpts[i].action));
		dsn_clean(rcpts[i].remote_mta, t, sizeof(t), false, true);
		if (t[0] != '\0') {
			(void)snprintf(v, sizeof(v), "dns; %s", t);
			out_field(w, "Remote-MTA", v);
		}
		dsn_clean(rcpts[i].diag, t, sizeof(t), false, true);
		if (t[0] != '\0') {
			/* §2.3.6: "smtp" for an SMTP reply; our own words get an X- type. */
			(void)snprintf(
			    v, sizeof(v), "%s; %s", is_smtp_reply(t) ? "smtp" : "X-mxd", t);
			out_field(w, "Diagnostic-Code", v);
		}
		if (rcpts[i].last_attempt != 0) {
			dsn_date(rcpts[i].last_attempt, date, sizeof(date));
			out_field(w, "Last-Attempt-Date", date);
		}
	}
}

static const char *
part3_type(const struct dsn_plan *pl)
{
	if (pl->ret == DSN_RET_FULL)
		return pl->smtputf8 ? "message/global" : "message/rfc822";
	/* RFC 6522 §4; RFC 6533 for the UTF-8 forms. */
	return pl->smtputf8 ? "message/global-headers" : "text/rfc822-headers";
}

/* Decides RET, the types and the boundary; reads the original once for 8-bit octets. */
static int
plan_make(struct dsn_plan *pl, const char *id, const char *hostname, const struct queue_env *orig,
    int origfd, const struct dsn_rcpt *rcpts, size_t n, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	struct dsn_orig scan;
	uint8_t r[16];
	char *b;
	size_t i;

	memset(pl, 0, sizeof(*pl));
	dsn_clean(hostname, pl->host, sizeof(pl->host), false, true);
	if (pl->host[0] == '\0') {
		dsn_err(err, errlen, "no hostname");
		return -1;
	}
	pl->utf8 = !smtp_str_ascii(orig->from);
	for (i = 0; i < n; i++) {
		if (rcpts[i].addr == NULL || rcpts[i].addr[0] == '\0') {
			dsn_err(err, errlen, "recipient %zu has no address", i);
			return -1;
		}
		if (dsn_severity(rcpts[i].action) > pl->worst)
			pl->worst = dsn_severity(rcpts[i].action);
		if (!smtp_str_ascii(rcpts[i].addr) ||
		    (rcpts[i].orcpt != NULL && !smtp_str_ascii(rcpts[i].orcpt)))
			pl->utf8 = true;
	}
	pl->smtputf8 = orig->smtputf8;

	/* RFC 3461 §4.3. */
	pl->ret = DSN_RET_HDRS;
	if (pl->worst < 2)
		pl->why = WHY_NOTFAIL;
	else if (orig->body == SMTP_BODY_BINARYMIME)
		pl->why = WHY_BINARY;
	else if (orig->ret == SMTP_RET_HDRS)
		pl->why = WHY_ASKED;
	else if (orig->ret == SMTP_RET_NONE && orig->size > DSN_FULL_MAX)
		pl->why = WHY_SIZE;
	else {
		pl->ret = DSN_RET_FULL;
		pl->why = WHY_NONE;
	}

	memset(&scan, 0, sizeof(scan));
	scan.mode = pl->ret;
	if (orig_read(origfd, &scan, err, errlen) == -1)
		return -1;
	pl->orig8 = scan.eightbit;

	/* RFC 2046 §5.1.1: 1-70 bcharsnospace; "=_" cannot occur in quoted-printable. */
	rand_bytes(r, sizeof(r));
	b = pl->boundary;
	memcpy(b, "=_", 2);
	b += 2;
	memcpy(b, id, QUEUE_ID_LEN);
	b += QUEUE_ID_LEN;
	*b++ = '.';
	for (i = 0; i < sizeof(r); i++) {
		*b++ = hex[r[i] >> 4];
		*b++ = hex[r[i] & 0xf];
	}
	*b = '\0';
	return 0;
}

int
queue_dsn_write(int fd, const char *id, const char *hostname, const struct queue_env *orig,
    int origfd, const struct dsn_rcpt *rcpts, size_t n, time_t now, char *err, size_t errlen)
{
	struct queue_w *w = NULL;
	struct queue_env env;
	struct dsn_plan pl;
	struct dsn_orig copy;
	char date[64], line[SMTP_ADDR_MAX + 64];
	static const char *const subject[] = {"Successful Mail Delivery Report",
	    "Delayed Mail (still being retried)", "Undelivered Mail Returned to Sender"};
	bool eightbit, sender8;
	int saved;

	memset(&env, 0, sizeof(env));
	if (orig->from[0] == '\0') {
		/* RFC 3461 §6.2, RFC 5321 §6.1: never bounce a bounce. */
		dsn_err(err, errlen, "null sender: no notification is ever sent to <>");
		return -1;
	}
	if (n == 0 || rcpts == NULL) {
		dsn_err(err, errlen, "no recipients to report");
		return -1;
	}
	if (n > QUEUE_RCPT_MAX) {
		dsn_err(err, errlen, "too many recipients to report (%zu)", n);
		return -1;
	}
	if (id == NULL || !queue_id_valid(id)) {
		dsn_err(err, errlen, "invalid queue ID");
		return -1;
	}
	if (plan_make(&pl, id, hostname, orig, origfd, rcpts, n, err, errlen) == -1)
		return -1;
	/* Part 1 and 2 carry UTF-8 only with UTF-8 addresses; part 3 what the original had. */
	eightbit = pl.utf8 || pl.orig8;

	/* The envelope: from <>, to the original sender. */
	strlcpy(env.id, id, sizeof(env.id));
	env.arrival = now;
	(void)snprintf(env.client, sizeof(env.client), "127.0.0.1 %s", pl.host);
	env.from[0] = '\0';
	env.body = eightbit ? SMTP_BODY_8BITMIME : SMTP_BODY_7BIT;
	sender8 = !smtp_str_ascii(orig->from);
	env.smtputf8 = sender8; /* RFC 6531: a UTF-8 forward-path */
	env.ret = SMTP_RET_NONE;
	/* A report about a report could only go to <>: ask for none. */
	if (queue_env_add_rcpt(&env, orig->from, SMTP_NOTIFY_NEVER, NULL) == -1) {
		dsn_err(err, errlen, "sender address does not fit");
		return -1;
	}
	w = malloc(sizeof(*w));
	if (w == NULL) {
		dsn_err(err, errlen, "out of memory");
		queue_env_clear(&env);
		return -1;
	}
	queue_w_init(w, fd);
	queue_w_env(w, &env);
	queue_env_clear(&env);

	/* The header section (RFC 5322 §3.6; RFC 6522 §3; RFC 3834 §5). */
	dsn_date(now, date, sizeof(date));
	out_field(w, "Date", date);
	(void)snprintf(line, sizeof(line), "\"Mail Delivery System\" <MAILER-DAEMON@%s>", pl.host);
	out_field(w, "From", line);
	out_field(w, "Subject", subject[pl.worst]);
	dsn_clean(orig->from, line + 1, sizeof(line) - 2, sender8, false);
	line[0] = '<';
	strlcat(line, ">", sizeof(line));
	out_field(w, "To", line);
	(void)snprintf(line, sizeof(line), "<%s@%s>", id, pl.host);
	out_field(w, "Message-ID", line);
	out_field(w, "Auto-Submitted", "auto-replied");
	out_field(w, "MIME-Version", "1.0");
	(void)snprintf(line, sizeof(line),
	    "multipart/report; report-type=delivery-status; boundary=\"%s\"", pl.boundary);
	out_field(w, "Content-Type", line);
	if (eightbit)
		out_field(w, "Content-Transfer-Encoding", "8bit");
	out_str(w, "\r\n");
	out_line(w, "%s", "This is a MIME-encapsulated message.");

	/* Part 1: for people. */
	out_str(w, "\r\n");
	out_line(w, "--%s", pl.boundary);
	out_field(w, "Content-Description", "Notification");
	out_field(w, "Content-Type",
	    pl.utf8 ? "text/plain; charset=utf-8" : "text/plain; charset=us-ascii");
	if (pl.utf8)
		out_field(w, "Content-Transfer-Encoding", "8bit");
	out_str(w, "\r\n");
	write_text(w, &pl, orig, rcpts, n);

	/* Part 2: for programs. */
	out_line(w, "--%s", pl.boundary);
	out_field(w, "Content-Description", "Delivery report");
	out_field(w, "Content-Type",
	    pl.utf8 ? "message/global-delivery-status" : "message/delivery-status");
	if (pl.utf8)
		out_field(w, "Content-Transfer-Encoding", "8bit"); /* RFC 6533: 8bit */
	out_str(w, "\r\n");
	write_status(w, &pl, orig, rcpts, n);

	/* Part 3: the original, or its header section. */
	out_line(w, "--%s", pl.boundary);
	out_field(w, "Content-Description",
	    pl.ret == DSN_RET_FULL ? "Undelivered message" : "Message headers");
	out_field(w, "Content-Type", part3_type(&pl));
	if (pl.orig8)
		out_field(w, "Content-Transfer-Encoding", "8bit");
	out_str(w, "\r\n");
	memset(&copy, 0, sizeof(copy));
	copy.w = w;
	copy.mode = pl.ret;
	if (orig_read(origfd, &copy, err, errlen) == -1) {
		free(w);
		return -1;
	}
	if (copy.out > 0 && copy.last != '\n')
		out_str(w, "\r\n");
	/* The CRLF before a delimiter belongs to it (RFC 2046 §5.1.1): keep the last one. */
	out_str(w, "\r\n");
	out_line(w, "--%s--", pl.boundary);

	if (queue_w_end(w) == -1) {
		saved = errno;
		dsn_err(err, errlen, "write: %s", strerror(saved));
		free(w);
		errno = saved;
		return -1;
	}
	free(w);
	return 0;
}

/*
 * RFC 3461 §4.1: NOTIFY=NEVER asks for nothing; without NOTIFY a server acts as if given
 * FAILURE,DELAY. SUCCESS covers every good outcome RFC 3464 §2.3.3 names: "delivered",
 * "relayed" (into a system that will not report delivery) and "expanded" (an alias or a
 * list).
 */
bool
dsn_wanted(unsigned notify, enum dsn_action action)
{
	if (notify & SMTP_NOTIFY_NEVER)
		return false;
	if (notify == 0)
		notify = SMTP_NOTIFY_FAILURE | SMTP_NOTIFY_DELAY;
	switch (action) {
	case DSN_FAILED:
		return (notify & SMTP_NOTIFY_FAILURE) != 0;
	case DSN_DELAYED:
		return (notify & SMTP_NOTIFY_DELAY) != 0;
	case DSN_DELIVERED:
	case DSN_RELAYED:
	case DSN_EXPANDED:
		return (notify & SMTP_NOTIFY_SUCCESS) != 0;
	}
	return false;
}
