/*
 * sm_smtp — `sendmail -bs`: an SMTP session (RFC 5321) on stdin and stdout, for programs
 * that would rather speak SMTP to a pipe than build a command line (Swiftmailer/Symfony
 * Mailer, some PHP and Perl libraries do). Each message accepted goes to the maildrop
 * exactly as `sendmail -t` would put it there; mxd takes it from there.
 *
 * The protocol pieces are the server's own: smtp_cmd_parse() for commands and their
 * ESMTP parameters, smtp_data_feed() for the DATA body (dot-unstuffing, the terminator,
 * line and size limits), so a command this session accepts is one mxd's smtpd accepts.
 * Two deliberate differences, because the peer is a local program on a pipe and not a
 * stranger on the network: a lone LF ends a line, in commands and in DATA (a bare LF in
 * DATA is read as CRLF before the scanner sees it; bare CR is still refused), and no
 * STARTTLS, AUTH or BDAT is offered. Recipients are not restricted: a local user may
 * send anywhere, as with the command line.
 *
 * Limits: command lines SMTP_CMD_EXT_MAX octets (longer: 500 5.5.2 and the line is
 * skipped), max_message_size per message (552), max_recipients (452), 20 bad commands
 * (421 and the end), 5 minutes without input (421; RFC 5321 §4.5.3.2.7 asks servers for
 * at least 5 minutes).
 *
 * Exit status: EX_OK after QUIT or when the input ends between transactions;
 * EX_PROTOCOL when it ends inside DATA or after too many errors; EX_TEMPFAIL on timeout;
 * EX_IOERR when stdin or stdout fails.
 */
#include <bsd/string.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "sendmail/sendmail.h"
#include "smtp/smtp.h"

#define IN_BUF          65536
#define OUT_BUF         8192
#define ERRORS_MAX      20
#define IDLE_TIMEOUT_MS (300 * 1000)
#define HEADER_SLACK    8192 /* fields sm_msg_finish() may add */

struct bs {
	struct sm_ctx *ctx;
	uint8_t in[IN_BUF];
	size_t inoff, inlen;
	bool eof;
	char out[OUT_BUF];
	size_t outlen;
	bool outerr;
	/* session and transaction */
	bool helo, esmtp, mail;
	struct queue_env env;
	unsigned errors;
	struct sm_buf data;
	struct smtp_data sd;
	uint8_t last; /* last octet fed to the DATA scanner */
};

static struct bs bs_state; /* large: not on the stack */
static struct smtp_cmd bs_cmd;

static void
out_flush(struct bs *b)
{
	size_t off = 0;
	ssize_t n;

	while (off < b->outlen && !b->outerr) {
		n = write(STDOUT_FILENO, b->out + off, b->outlen - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			b->outerr = true;
			break;
		}
		off += (size_t)n;
	}
	b->outlen = 0;
}

static void __attribute__((format(printf, 2, 3))) reply(struct bs *b, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = (int)sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	if (b->outlen + (size_t)n > sizeof(b->out))
		out_flush(b);
	memcpy(b->out + b->outlen, line, (size_t)n);
	b->outlen += (size_t)n;
}

/*
 * More input: flushes pending replies first (PIPELINING, RFC 2920 §3.2: replies may wait
 * until the client has to wait for them). 1 read something, 0 end of input, -1 error,
 * -2 timeout.
 */
static int
fill(struct bs *b)
{
	struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
	ssize_t n;
	int r;

	out_flush(b);
	if (b->eof)
		return 0;
	if (b->inoff > 0) {
		memmove(b->in, b->in + b->inoff, b->inlen - b->inoff);
		b->inlen -= b->inoff;
		b->inoff = 0;
	}
	for (;;) {
		r = poll(&pfd, 1, IDLE_TIMEOUT_MS);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			return -2;
		n = read(STDIN_FILENO, b->in + b->inlen, sizeof(b->in) - b->inlen);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			b->eof = true;
			return 0;
		}
		b->inlen += (size_t)n;
		return 1;
	}
}

/*
 * One command line without its line end into line (NUL-terminated). 1: a line; 2: a line
 * that was too long (skipped to its end); otherwise what fill() returned.
 */
static int
get_line(struct bs *b, char *line, size_t cap, size_t *len)
{
	uint8_t *nl;
	size_t n;
	bool toolong = false;
	int r;

	for (;;) {
		nl = memchr(b->in + b->inoff, '\n', b->inlen - b->inoff);
		if (nl != NULL) {
			n = (size_t)(nl - (b->in + b->inoff));
			b->inoff += n + 1;
			if (toolong || n >= cap)
				return 2;
			memcpy(line, b->in + b->inoff - n - 1, n);
			if (n > 0 && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			*len = n;
			return 1;
		}
		if (b->inlen - b->inoff >= cap) { /* too long: drop what we have */
			toolong = true;
			b->inoff = b->inlen;
		}
		r = fill(b);
		if (r != 1)
			return r;
	}
}

static void
txn_reset(struct bs *b)
{
	queue_env_clear(&b->env);
	b->mail = false;
}

static int
data_out(void *arg, const void *p, size_t n)
{
	struct bs *b = arg;

	return sm_buf_add(&b->data, p, n);
}

/*
 * Feeds input to the DATA scanner until its end, turning each bare LF into CRLF first.
 * 1 at the end of the data, 0 when the input ended before it, negative as fill().
 */
static int
read_data(struct bs *b)
{
	enum smtp_data_state st;
	uint8_t *p, *nl;
	size_t run, used;
	int r;

	for (;;) {
		while (b->inoff < b->inlen) {
			p = b->in + b->inoff;
			nl = memchr(p, '\n', b->inlen - b->inoff);
			/* A run up to (not including) the next LF that lacks its CR. */
			while (nl != NULL &&
			    ((nl > p && nl[-1] == '\r') || (nl == p && b->last == '\r')))
				nl = memchr(nl + 1, '\n', (size_t)(b->in + b->inlen - nl - 1));
			run = nl == NULL ? b->inlen - b->inoff : (size_t)(nl - p);
			if (run > 0) {
				st = smtp_data_feed(&b->sd, p, run, &used);
				b->inoff += used;
				b->last = p[used - 1];
				if (st == SMTP_DATA_END)
					return 1;
			}
			if (nl != NULL) {
				st = smtp_data_feed(&b->sd, (const uint8_t *)"\r\n", 2, &used);
				b->inoff++;
				b->last = '\n';
				if (st == SMTP_DATA_END)
					return 1;
			}
		}
		r = fill(b);
		if (r != 1)
			return r;
	}
}

static void
cmd_mail(struct bs *b, const struct smtp_cmd *c)
{
	struct sm_ctx *ctx = b->ctx;

	if (!b->helo) {
		reply(b, "503 5.5.1 Send HELO or EHLO first");
		return;
	}
	if (b->mail) {
		reply(b, "503 5.5.1 Nested MAIL command");
		return;
	}
	if (c->has_size && c->size > ctx->conf.max_message_size) {
		reply(b, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (!b->esmtp &&
	    (c->has_size || c->body != SMTP_BODY_NONE || c->smtputf8 || c->ret != SMTP_RET_NONE ||
		c->envid[0] != '\0')) {
		reply(b, "555 5.5.4 Parameters need EHLO");
		return;
	}
	if (c->body == SMTP_BODY_BINARYMIME) {
		reply(b, "555 5.5.4 BODY=BINARYMIME needs BDAT, which is not offered");
		return;
	}
	memset(&b->env, 0, sizeof(b->env));
	smtp_path_str(&c->path, b->env.from, sizeof(b->env.from));
	b->env.body = c->body;
	b->env.smtputf8 = c->smtputf8;
	b->env.ret = c->ret;
	strlcpy(b->env.envid, c->envid, sizeof(b->env.envid));
	b->mail = true;
	reply(b, "250 2.1.0 Ok");
}

static void
cmd_rcpt(struct bs *b, const struct smtp_cmd *c)
{
	struct sm_ctx *ctx = b->ctx;
	char addr[SMTP_ADDR_MAX + 1];
	size_t i;

	if (!b->mail) {
		reply(b, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	if (b->env.nrcpt >= ctx->conf.max_recipients || b->env.nrcpt >= QUEUE_RCPT_MAX) {
		reply(b, "452 4.5.3 Too many recipients");
		return;
	}
	if (c->path.domain[0] == '\0') /* RFC 5321 §4.1.1.3: <postmaster> is ours */
		snprintf(addr, sizeof(addr), "postmaster@%s", ctx->conf.hostname);
	else
		smtp_path_str(&c->path, addr, sizeof(addr));
	for (i = 0; i < b->env.nrcpt; i++)
		if (strcmp(b->env.rcpt[i].addr, addr) == 0)
			break;
	if (i == b->env.nrcpt &&
	    queue_env_add_rcpt(&b->env, addr, c->notify, c->orcpt[0] ? c->orcpt : NULL) == -1) {
		reply(b, "452 4.3.0 Cannot add the recipient");
		return;
	}
	reply(b, "250 2.1.5 Ok");
}

/* DATA: 354, the body, then the maildrop. Returns 0, or an exit code to end with. */
static int
cmd_data(struct bs *b)
{
	struct sm_ctx *ctx = b->ctx;
	struct sm_finish f;
	struct sm_buf msg;
	struct smtp_perr pe;
	char name[QUEUE_ID_LEN + 1], err[SM_ERR_MAX];
	int r, rc;

	if (!b->mail) {
		reply(b, "503 5.5.1 Need MAIL command");
		return 0;
	}
	if (b->env.nrcpt == 0) {
		reply(b, "554 5.5.1 No valid recipients");
		return 0;
	}
	/* The scanner stops output at max + 1 octets; the buffer only needs that much. */
	sm_buf_init(&b->data, (size_t)ctx->conf.max_message_size + 1);
	smtp_data_init(&b->sd, ctx->conf.max_message_size, data_out, b);
	b->last = '\n'; /* the CRLF that ended "DATA" */
	reply(b, "354 End data with <CR><LF>.<CR><LF>");
	r = read_data(b);
	if (r != 1) {
		sm_buf_free(&b->data);
		txn_reset(b);
		if (r == -2) {
			reply(b, "421 4.4.2 %s Timeout exceeded", ctx->conf.hostname);
			out_flush(b);
			return EX_TEMPFAIL;
		}
		return r == 0 ? EX_PROTOCOL : EX_IOERR;
	}
	if (b->sd.err != SMTP_DERR_NONE) {
		smtp_data_error(&b->sd, &pe);
		reply(b, "%d %s %s", pe.code, pe.enh, pe.text);
		sm_buf_free(&b->data);
		txn_reset(b);
		return 0;
	}
	sm_buf_init(&msg, (size_t)ctx->conf.max_message_size + HEADER_SLACK);
	memset(&f, 0, sizeof(f));
	f.ctx = ctx;
	f.env = &b->env;
	rc = sm_msg_finish(&f, b->data.p, b->data.len, &msg, err, sizeof(err));
	if (rc == EX_OK) {
		if (b->env.body != SMTP_BODY_8BITMIME && sm_msg_8bit(msg.p, msg.len))
			b->env.body = SMTP_BODY_8BITMIME;
		rc = sm_drop(ctx->conf.spool, &b->env, msg.p, msg.len, name, err, sizeof(err));
	}
	if (rc == EX_OK)
		reply(b, "250 2.0.0 Ok: in the maildrop as %s", name);
	else if (rc == EX_DATAERR)
		reply(b, "554 5.6.0 %s", err);
	else
		reply(b, "451 4.3.0 %s", err);
	sm_buf_free(&msg);
	sm_buf_free(&b->data);
	txn_reset(b);
	return 0;
}

static void
ehlo_reply(struct bs *b)
{
	reply(b, "250-%s", b->ctx->conf.hostname);
	reply(b, "250-PIPELINING");
	reply(b, "250-SIZE %llu", (unsigned long long)b->ctx->conf.max_message_size);
	reply(b, "250-8BITMIME");
	reply(b, "250-SMTPUTF8");
	reply(b, "250-DSN");
	reply(b, "250 ENHANCEDSTATUSCODES");
}

int
sm_smtp(struct sm_ctx *ctx)
{
	struct bs *b = &bs_state;
	struct smtp_cmd *c = &bs_cmd;
	struct smtp_perr pe;
	char line[SMTP_CMD_EXT_MAX + 1];
	size_t len = 0;
	int r, rc = EX_OK;

	memset(b, 0, sizeof(*b));
	b->ctx = ctx;
	reply(b, "220 %s ESMTP mxd (sendmail -bs)", ctx->conf.hostname);
	for (;;) {
		if (b->outerr) {
			rc = EX_IOERR;
			break;
		}
		r = get_line(b, line, sizeof(line), &len);
		if (r == 0)
			break;
		if (r == -1) {
			rc = EX_IOERR;
			break;
		}
		if (r == -2) {
			reply(b, "421 4.4.2 %s Timeout exceeded", ctx->conf.hostname);
			rc = EX_TEMPFAIL;
			break;
		}
		if (r == 2) {
			reply(b, "500 5.5.2 Line too long");
		} else if (smtp_cmd_parse_utf8(line, len, b->mail && b->env.smtputf8, c, &pe) ==
		    -1) {
			reply(b, "%d %s %s", pe.code, pe.enh, pe.text);
		} else {
			switch (c->verb) {
			case SMTP_V_HELO:
			case SMTP_V_EHLO:
				txn_reset(b);
				b->helo = true;
				b->esmtp = c->verb == SMTP_V_EHLO;
				if (b->esmtp)
					ehlo_reply(b);
				else
					reply(b, "250 %s", ctx->conf.hostname);
				break;
			case SMTP_V_MAIL:
				cmd_mail(b, c);
				break;
			case SMTP_V_RCPT:
				cmd_rcpt(b, c);
				break;
			case SMTP_V_DATA:
				rc = cmd_data(b);
				break;
			case SMTP_V_RSET:
				txn_reset(b);
				reply(b, "250 2.0.0 Ok");
				break;
			case SMTP_V_NOOP:
				reply(b, "250 2.0.0 Ok");
				break;
			case SMTP_V_QUIT:
				reply(b, "221 2.0.0 %s closing connection", ctx->conf.hostname);
				out_flush(b);
				txn_reset(b);
				return b->outerr ? EX_IOERR : EX_OK;
			case SMTP_V_VRFY:
				reply(b, "252 2.5.0 Cannot VRFY user, but will accept message");
				break;
			case SMTP_V_HELP:
				reply(b, "214 2.0.0 See RFC 5321; mxd sendmail -bs");
				break;
			case SMTP_V_EXPN:
			case SMTP_V_BDAT:
			case SMTP_V_STARTTLS:
			case SMTP_V_AUTH:
				reply(b, "502 5.5.1 Command not implemented");
				break;
			case SMTP_V_UNKNOWN:
				reply(b, "500 5.5.2 Command unrecognized");
				break;
			}
			if (rc != EX_OK)
				break;
			continue;
		}
		if (++b->errors >= ERRORS_MAX) {
			reply(b, "421 4.7.0 %s Too many errors", ctx->conf.hostname);
			rc = EX_PROTOCOL;
			break;
		}
	}
	out_flush(b);
	txn_reset(b);
	return rc;
}
