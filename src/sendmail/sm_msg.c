/*
 * sm_msg — the message as sendmail(8) takes it from a program: read from stdin, made a
 * well-formed RFC 5322 message with CRLF lines, its header section completed.
 *
 * Reading (sm_msg_read): LF and CRLF line ends both become CRLF, which is what the queue
 * stores (it holds the message unstuffed, with CRLF lines, as received by DATA). Some
 * inputs are refused rather than repaired, each with the line number in the reason:
 *   - a line over 998 octets (RFC 5322 §2.1.1 "MUST be no more than 998 characters"):
 *     sendmail and Postfix pass such lines on and a receiving server may then cut or
 *     refuse them; folding would change a body we cannot parse (base64, signed parts),
 *     so we say so and exit EX_DATAERR — the caller can encode its body;
 *   - a CR that does not end a line, and NUL: the SMTP server refuses both (smuggling,
 *     RFC 5321 §2.3.8), and a message we accept here must be one we can deliver;
 *   - more than max octets (max_message_size): refused at once, without reading the rest.
 * The input is held in memory; max bounds it (default 50 MiB).
 *
 * Completing (sm_msg_finish): the header section is split into fields (a line starting
 * with SP or HT continues the field before it; the first line that is neither a field
 * nor a continuation starts the body, and the missing empty line is inserted). Fields
 * RFC 5322 §3.6 requires and mail programs often omit are added: Date, From (the
 * envelope sender and the user's full name) and Message-ID; a Received: trace field
 * naming the calling uid goes first, as Postfix's pickup adds one. Bcc: fields are
 * removed (§3.6.3 leaves it to the implementation; for mail handed to sendmail, removing
 * them is what every MTA does and what senders expect). With -t, recipients come from
 * To/Cc/Bcc, or from the Resent- fields when there are any (§3.6.6).
 */
#include <bsd/string.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "sendmail/sendmail.h"
#include "util/base64.h"
#include "util/rand.h"

#define LINE_CONTENT_MAX 998 /* RFC 5322 §2.1.1, without CRLF */
#define READ_CHUNK       65536
#define FULLNAME_MAX     200 /* octets of the display name we write */

/* --- buffers --------------------------------------------------------------------------- */

void
sm_buf_init(struct sm_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* Room for n more octets, not counting max (callers that check max themselves). */
static int
buf_reserve(struct sm_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (n <= b->cap - b->len)
		return 0;
	if (n > SIZE_MAX / 2 - b->len) {
		errno = ENOMEM;
		return -1;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int
sm_buf_add(struct sm_buf *b, const void *p, size_t n)
{
	if (n > b->max || b->len > b->max - n) {
		errno = EFBIG;
		return -1;
	}
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int
sm_buf_printf(struct sm_buf *b, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		errno = EINVAL;
		return -1;
	}
	return sm_buf_add(b, line, (size_t)n);
}

void
sm_buf_free(struct sm_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* --- reading ------------------------------------------------------------------------------ */

int
sm_msg_read(int fd, bool ignore_dots, size_t max, struct sm_buf *out, char *err, size_t errlen)
{
	uint8_t chunk[READ_CHUNK];
	size_t linelen = 0, line_start = 0, i;
	unsigned long lineno = 1;
	bool cr = false;
	ssize_t n;
	uint8_t c;

	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "reading the message: %s", strerror(errno));
			return EX_IOERR;
		}
		if (n == 0)
			break;
		/* Every input octet gives at most two output octets (LF → CRLF). */
		if (buf_reserve(out, 2 * (size_t)n + 2) == -1) {
			snprintf(err, errlen, "out of memory");
			return EX_OSERR;
		}
		for (i = 0; i < (size_t)n; i++) {
			c = chunk[i];
			if (cr && c != '\n') {
				snprintf(err, errlen,
				    "line %lu: a CR that does not end the line "
				    "(bare CR is not allowed in mail)",
				    lineno);
				return EX_DATAERR;
			}
			if (c == '\r') {
				cr = true;
				continue;
			}
			if (c == '\n') {
				cr = false;
				/* sendmail's end of input without -i: a line holding only ".". */
				if (!ignore_dots && linelen == 1 && out->p[line_start] == '.') {
					out->len = line_start;
					return EX_OK;
				}
				out->p[out->len++] = '\r';
				out->p[out->len++] = '\n';
				linelen = 0;
				line_start = out->len;
				lineno++;
				continue;
			}
			if (c == '\0') {
				snprintf(err, errlen, "line %lu: NUL octet in the message", lineno);
				return EX_DATAERR;
			}
			if (++linelen > LINE_CONTENT_MAX) {
				snprintf(err, errlen,
				    "line %lu is longer than %d octets (RFC 5322 "
				    "section 2.1.1); wrap it or encode the body (quoted-printable, "
				    "base64)",
				    lineno, LINE_CONTENT_MAX);
				return EX_DATAERR;
			}
			out->p[out->len++] = c;
		}
		if (out->len > max) {
			snprintf(
			    err, errlen, "message larger than max_message_size (%zu octets)", max);
			return EX_DATAERR;
		}
	}
	if (cr) {
		snprintf(err, errlen, "line %lu: a CR that does not end the line", lineno);
		return EX_DATAERR;
	}
	if (linelen > 0) {
		if (!ignore_dots && linelen == 1 && out->p[line_start] == '.') {
			out->len = line_start;
			return EX_OK;
		}
		if (buf_reserve(out, 2) == -1) {
			snprintf(err, errlen, "out of memory");
			return EX_OSERR;
		}
		out->p[out->len++] = '\r';
		out->p[out->len++] = '\n';
	}
	if (out->len > max) {
		snprintf(err, errlen, "message larger than max_message_size (%zu octets)", max);
		return EX_DATAERR;
	}
	return EX_OK;
}

bool
sm_msg_8bit(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] >= 0x80)
			return true;
	return false;
}

/* --- recipients ------------------------------------------------------------------------- */

int
sm_env_add(struct queue_env *env, const char *addr, unsigned notify, unsigned max, char *err,
    size_t errlen)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (strcmp(env->rcpt[i].addr, addr) == 0)
			return 0;
	if (env->nrcpt >= max) {
		snprintf(err, errlen, "too many recipients (max_recipients is %u)", max);
		return -1;
	}
	if (queue_env_add_rcpt(env, addr, notify, NULL) == -1) {
		snprintf(err, errlen, "cannot add recipient %s", addr);
		return -1;
	}
	return 0;
}

struct extract_arg {
	const struct sm_finish *f;
	const char *field; /* for error messages */
};

static int
extract_one(void *arg, const char *addr, char *err, size_t errlen)
{
	struct extract_arg *x = arg;
	char a[SMTP_ADDR_MAX + 1], why[SM_ERR_MAX];
	bool utf8;

	if (sm_addr_envelope(addr, x->f->ctx->conf.hostname, false, a, &utf8, why, sizeof(why)) ==
	    -1) {
		snprintf(err, errlen, "%s: %s", x->field, why);
		return -1;
	}
	if (utf8)
		x->f->env->smtputf8 = true;
	return sm_env_add(x->f->env, a, x->f->notify, x->f->ctx->conf.max_recipients, err, errlen);
}

/* --- header section ------------------------------------------------------------------------ */

struct field {
	size_t off, len; /* the whole field with its continuation lines and CRLFs */
	size_t namelen;
};

static bool
field_is(const uint8_t *msg, const struct field *f, const char *name)
{
	return f->namelen == strlen(name) &&
	    strncasecmp((const char *)msg + f->off, name, f->namelen) == 0;
}

/* Length of a field name at p (RFC 5322 §3.6.8: printable ASCII but ':'), 0 if none. */
static size_t
field_name(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len && p[i] >= 33 && p[i] <= 126 && p[i] != ':'; i++)
		continue;
	return i > 0 && i < len && p[i] == ':' ? i : 0;
}

static bool
is_atext_phrase(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == ' ' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL)
			continue;
		return false;
	}
	return true;
}

/*
 * The display name of From: (RFC 5322 §3.4): as an atom phrase when it can be, else a
 * quoted string; non-ASCII (valid UTF-8) as RFC 2047 "B" encoded-words of at most 75
 * characters, never splitting a character.
 */
static void
display_name(const char *name, char *out, size_t outlen)
{
	char clean[FULLNAME_MAX + 1];
	size_t i, n, o = 0, start, wlen;
	bool ascii = true;
	int k;

	/* Control octets (a GECOS field can hold anything) become spaces; cut at a char. */
	n = strnlen(name, FULLNAME_MAX);
	while (n > 0 && n < strlen(name) && ((unsigned char)name[n] & 0xc0) == 0x80)
		n--;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)name[i];

		clean[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
		if (c >= 0x80)
			ascii = false;
	}
	clean[n] = '\0';
	out[0] = '\0';
	if (n == 0)
		return;
	if (!ascii) {
		if (!smtp_utf8_valid(clean, n)) {
			for (i = 0; i < n; i++)
				if ((unsigned char)clean[i] >= 0x80)
					clean[i] = '?';
		} else {
			for (start = 0; start < n; start += wlen) {
				char b64[128];

				wlen = n - start > 45 ? 45 : n - start; /* 45 octets: 60 */
				while (start + wlen < n &&
				    ((unsigned char)clean[start + wlen] & 0xc0) == 0x80)
					wlen--;
				if (base64_encode((const unsigned char *)clean + start, wlen, b64,
					sizeof(b64)) == -1)
					break;
				k = snprintf(out + o, outlen - o,
				    "%s=?UTF-8?B?%s?=", start == 0 ? "" : " ", b64);
				if (k < 0 || (size_t)k >= outlen - o)
					break;
				o += (size_t)k;
			}
			return;
		}
	}
	if (is_atext_phrase(clean)) {
		strlcpy(out, clean, outlen);
		return;
	}
	out[o++] = '"';
	for (i = 0; i < n && o + 3 < outlen; i++) {
		if (clean[i] == '"' || clean[i] == '\\')
			out[o++] = '\\';
		out[o++] = clean[i];
	}
	out[o++] = '"';
	out[o] = '\0';
}

static int
add_fields(const struct sm_finish *f, bool need_date, bool need_from, bool need_msgid,
    const char *date, struct sm_buf *out)
{
	const struct sm_ctx *ctx = f->ctx;
	char name[FULLNAME_MAX * 3], addr[SMTP_ADDR_MAX + 1], hex[17];
	char stamp[32];
	uint8_t r[8];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;

	if (need_date && sm_buf_printf(out, "Date: %s\r\n", date) == -1)
		return -1;
	if (need_from) {
		if (f->env->from[0] != '\0')
			strlcpy(addr, f->env->from, sizeof(addr));
		else /* the null sender: say who sent it instead */
			snprintf(addr, sizeof(addr), "%s@%s", ctx->login, ctx->conf.hostname);
		display_name(ctx->fullname, name, sizeof(name));
		if (name[0] != '\0') {
			if (sm_buf_printf(out, "From: %s <%s>\r\n", name, addr) == -1)
				return -1;
		} else if (sm_buf_printf(out, "From: %s\r\n", addr) == -1) {
			return -1;
		}
	}
	if (need_msgid) {
		rand_bytes(r, sizeof(r));
		for (i = 0; i < sizeof(r); i++)
			snprintf(hex + 2 * i, 3, "%02x", r[i]);
		localtime_r(&now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
		if (sm_buf_printf(
			out, "Message-ID: <%s.%s@%s>\r\n", stamp, hex, ctx->conf.hostname) == -1)
			return -1;
	}
	return 0;
}

int
sm_msg_finish(const struct sm_finish *f, const uint8_t *in, size_t len, struct sm_buf *out,
    char *err, size_t errlen)
{
	struct field *fl = NULL, *nf;
	size_t nfl = 0, capfl = 0, off = 0, body = len, i, eol, nl;
	bool has_sep = false, resent = false;
	bool have_date = false, have_from = false, have_msgid = false;
	char date[64];
	struct tm tm;
	time_t now = time(NULL);
	int rc = EX_OSERR;
	const uint8_t *p;

	/* An mbox "From " line first is not a header field (sendmail drops it too). */
	if (f->unix_from && len >= 5 && memcmp(in, "From ", 5) == 0) {
		p = memchr(in, '\n', len);
		off = p == NULL ? len : (size_t)(p - in) + 1;
	}
	while (off < len) {
		p = memchr(in + off, '\n', len - off);
		eol = p == NULL ? len : (size_t)(p - in) + 1; /* past the LF */
		nl = eol - off;                               /* with CRLF */
		if (nl <= 2 && in[off] == '\r') {
			has_sep = true;
			body = eol;
			break;
		}
		if ((in[off] == ' ' || in[off] == '\t') && nfl > 0) {
			fl[nfl - 1].len += nl;
			off = eol;
			continue;
		}
		if (field_name(in + off, nl) == 0) {
			body = off; /* no empty line before the body: one is inserted */
			break;
		}
		if (nfl == capfl) {
			capfl = capfl ? capfl * 2 : 32;
			nf = reallocarray(fl, capfl, sizeof(*fl));
			if (nf == NULL) {
				snprintf(err, errlen, "out of memory");
				goto done;
			}
			fl = nf;
		}
		fl[nfl].off = off;
		fl[nfl].len = nl;
		fl[nfl].namelen = field_name(in + off, nl);
		nfl++;
		off = eol;
	}
	if (off >= len && !has_sep)
		body = len;

	for (i = 0; i < nfl; i++) {
		if (field_is(in, &fl[i], "Date"))
			have_date = true;
		else if (field_is(in, &fl[i], "From"))
			have_from = true;
		else if (field_is(in, &fl[i], "Message-ID"))
			have_msgid = true;
		else if (field_is(in, &fl[i], "Resent-To") || field_is(in, &fl[i], "Resent-Cc") ||
		    field_is(in, &fl[i], "Resent-Bcc"))
			resent = true;
	}
	if (f->extract) {
		for (i = 0; i < nfl; i++) {
			struct extract_arg x = {f, NULL};
			const char *names[3][2] = {
			    {"To", "Resent-To"}, {"Cc", "Resent-Cc"}, {"Bcc", "Resent-Bcc"}};
			size_t k;

			for (k = 0; k < 3; k++)
				if (field_is(in, &fl[i], names[k][resent]))
					x.field = names[k][resent];
			if (x.field == NULL)
				continue;
			if (sm_addr_list((const char *)in + fl[i].off + fl[i].namelen + 1,
				fl[i].len - fl[i].namelen - 1, extract_one, &x, err,
				errlen) == -1) {
				if (strncmp(err, x.field, strlen(x.field)) != 0) {
					char why[SM_ERR_MAX];

					strlcpy(why, err, sizeof(why));
					snprintf(err, errlen, "%s: %s", x.field, why);
				}
				rc = EX_DATAERR;
				goto done;
			}
		}
	}

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	/* RFC 5321 §4.4 trace field: who handed it in, and when. */
	if (sm_buf_printf(out, "Received: by %s (mxd sendmail, from userid %lu);\r\n\t%s\r\n",
		f->ctx->conf.hostname, (unsigned long)f->ctx->uid, date) == -1)
		goto toobig;
	for (i = 0; i < nfl; i++) {
		if (f->strip_bcc &&
		    (field_is(in, &fl[i], "Bcc") || field_is(in, &fl[i], "Resent-Bcc")))
			continue;
		if (sm_buf_add(out, in + fl[i].off, fl[i].len) == -1)
			goto toobig;
	}
	if (add_fields(f, !have_date, !have_from, !have_msgid, date, out) == -1)
		goto toobig;
	if ((has_sep || body < len) && sm_buf_add(out, "\r\n", 2) == -1)
		goto toobig;
	if (sm_buf_add(out, in + body, len - body) == -1)
		goto toobig;
	rc = EX_OK;
	goto done;
toobig:
	if (errno == EFBIG) {
		snprintf(
		    err, errlen, "message larger than max_message_size (%zu octets)", out->max);
		rc = EX_DATAERR;
	} else {
		snprintf(err, errlen, "out of memory");
		rc = EX_OSERR;
	}
done:
	free(fl);
	return rc;
}
