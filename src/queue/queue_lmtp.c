/*
 * queue_lmtp — local delivery over LMTP (RFC 2033): a small blocking client for one
 * message and its local recipients, to a Dovecot, Cyrus or any LMTP server on a unix
 * socket or a TCP address.
 *
 * The session: greeting (220), LHLO (250, capabilities read), MAIL FROM, one RCPT TO per
 * recipient, DATA (354), the message dot-stuffed (RFC 5321 §4.5.2) with CRLF line ends,
 * then — the LMTP difference, RFC 2033 §4.2 — one reply per recipient whose RCPT was
 * accepted, in RCPT order. QUIT ends it. Commands go lock-step, one at a time: a local
 * server answers in microseconds, and lock-step leaves no pipelining state to get wrong.
 *
 * Outcomes per recipient (struct deliver_result): 2xx OK, 4xx TEMP, 5xx PERM. The reply's
 * enhanced status code (RFC 2034 §4, RFC 3463) is copied when it is well-formed and of the
 * reply's class, else derived as class.0.0. Anything that breaks the session — connect
 * failure (4.4.1), timeout or a dropped connection (4.4.2), a reply that is not a reply
 * (4.5.0), the queue file failing to read back (4.3.0) — makes every recipient not yet
 * final TEMP, so the message stays queued: LMTP servers deliver atomically per recipient,
 * and a message whose DATA never ended with "." was delivered to nobody.
 *
 * Replies are parsed strictly (RFC 5321 §4.2): three digits [2-5][0-5][0-9], then '-' on
 * all lines but the last and ' ' or nothing on the last, the same code on every line, at
 * most LMTP_LINE_MAX octets per line with CRLF, at most LMTP_LINES_MAX lines; bytes from
 * the server when no reply is due are a violation too. Every read and write waits at most
 * timeout seconds in poll(2), and a whole reply must arrive within one timeout, so a server
 * dripping one octet at a time cannot hold us.
 *
 * Security: addresses are refused (PERM 5.1.3 / 5.1.7) if they contain control octets, so
 * nothing from an envelope can inject a command; non-ASCII addresses need SMTPUTF8 from
 * the server (RFC 6531 §3.2: else PERM 5.6.7). Bare CR or LF in the body is sent as CRLF, so
 * the server sees the same line structure we stored and "\n.\n" can never end the DATA
 * early (SMTP smuggling) on a server that accepts bare LF. SIGPIPE is avoided with
 * MSG_NOSIGNAL.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <bsd/string.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "queue/queue.h"
#include "util/clock.h"
#include "util/net.h"

#define LMTP_LINE_MAX	512		/* RFC 5321 §4.5.3.1.5, CRLF included */
#define LMTP_LINES_MAX	100
#define LMTP_CMD_MAX	2048		/* MAIL with a UTF-8 path and parameters */
#define LMTP_WBUF	65536
#define LMTP_TIMEOUT	60

struct lmtp {
	int		 fd;
	unsigned	 timeout_ms;
	const char	*target;
	/* The first failure of the session: what every recipient not yet final gets. */
	bool		 failed;
	char		 fail_dsn[12];
	char		 fail_text[256];
	/* Capabilities from the LHLO reply. */
	bool		 in_lhlo;
	bool		 c_8bitmime, c_smtputf8, c_size;
	size_t		 roff, rlen;
	size_t		 wlen;
	uint8_t		 rbuf[4096];
	uint8_t		 wbuf[LMTP_WBUF];
};

struct lmtp_reply {
	int	code;
	char	dsn[12];
	char	text[400];	/* printable, lines joined with " / " */
};

static void
lm_fail(struct lmtp *l, const char *dsn, const char *what, int e)
{
	if (l->failed)
		return;
	l->failed = true;
	strlcpy(l->fail_dsn, dsn, sizeof(l->fail_dsn));
	(void)snprintf(l->fail_text, sizeof(l->fail_text), "lmtp %s: %s%s%s", l->target, what,
	    e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
}

/* Waits for ev on the socket until deadline (monotonic ms). 0, or -1 on timeout/error. */
static int
lm_wait(struct lmtp *l, short ev, uint64_t deadline)
{
	struct pollfd	pfd = { .fd = l->fd, .events = ev };
	uint64_t	now;
	int		r;

	for (;;) {
		now = clock_ms();
		if (now >= deadline) {
			lm_fail(l, "4.4.2", "timeout", 0);
			return -1;
		}
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			lm_fail(l, "4.4.2", "poll", errno);
			return -1;
		}
	}
}

/* --- output --------------------------------------------------------------------------- */

static int
lm_flush(struct lmtp *l)
{
	size_t	off = 0;
	ssize_t	r;

	while (off < l->wlen && !l->failed) {
		r = send(l->fd, l->wbuf + off, l->wlen - off, MSG_NOSIGNAL);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* Progress, not the whole message, is bounded by the timeout. */
			(void)lm_wait(l, POLLOUT, clock_ms() + l->timeout_ms);
			continue;
		}
		lm_fail(l, "4.4.2", "write", r < 0 ? errno : EPIPE);
	}
	l->wlen = 0;
	return l->failed ? -1 : 0;
}

static void
lm_put(struct lmtp *l, const void *p, size_t n)
{
	const uint8_t	*b = p;
	size_t		 k;

	while (n > 0 && !l->failed) {
		if (l->wlen == sizeof(l->wbuf))
			(void)lm_flush(l);
		k = sizeof(l->wbuf) - l->wlen;
		if (k > n)
			k = n;
		memcpy(l->wbuf + l->wlen, b, k);
		l->wlen += k;
		b += k;
		n -= k;
	}
}

/* --- replies -------------------------------------------------------------------------- */

/* One line without its CRLF into line (NUL-terminated). 0, or -1 (l->failed set). */
static int
lm_line(struct lmtp *l, char *line, size_t *len, uint64_t deadline)
{
	uint8_t	*lf;
	size_t	 n;
	ssize_t	 r;

	for (;;) {
		n = l->rlen - l->roff;
		lf = memchr(l->rbuf + l->roff, '\n', n);
		if (lf != NULL) {
			n = (size_t)(lf - (l->rbuf + l->roff)) + 1;
			if (n > LMTP_LINE_MAX) {
				lm_fail(l, "4.5.0", "reply line too long", 0);
				return -1;
			}
			if (n < 2 || lf[-1] != '\r') {
				lm_fail(l, "4.5.0", "reply line without CRLF", 0);
				return -1;
			}
			memcpy(line, l->rbuf + l->roff, n - 2);
			line[n - 2] = '\0';
			*len = n - 2;
			l->roff += n;
			return 0;
		}
		if (n >= LMTP_LINE_MAX) {
			lm_fail(l, "4.5.0", "reply line too long", 0);
			return -1;
		}
		if (l->roff > 0) {
			memmove(l->rbuf, l->rbuf + l->roff, n);
			l->roff = 0;
			l->rlen = n;
		}
		r = recv(l->fd, l->rbuf + l->rlen, sizeof(l->rbuf) - l->rlen, 0);
		if (r > 0) {
			l->rlen += (size_t)r;
			continue;
		}
		if (r == 0) {
			lm_fail(l, "4.4.2", "connection closed by the server", 0);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			lm_fail(l, "4.4.2", "read", errno);
			return -1;
		}
		if (lm_wait(l, POLLIN, deadline) == -1)
			return -1;
	}
}

/* RFC 2034 §4: "class.subject.detail" at the start of the text, class = the reply's. */
static size_t
lm_enhanced(const char *t, int code, char out[12])
{
	size_t	i = 0, d, part;

	/* RFC 3463 §3.1: class 2, 4 or 5 only, and it must agree with the reply. */
	if (code / 100 == 3 || t[0] != (char)('0' + code / 100) || t[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (d = 0; t[i + d] >= '0' && t[i + d] <= '9'; d++)
			;
		if (d < 1 || d > 3)
			return 0;
		i += d;
		if (part == 0 && t[i++] != '.')
			return 0;
	}
	if (t[i] != ' ' && t[i] != '\0')
		return 0;
	memcpy(out, t, i);
	out[i] = '\0';
	return i;
}

static void
lm_cap(struct lmtp *l, const char *kw)
{
	size_t n = strcspn(kw, " ");

	if (n == 8 && strncasecmp(kw, "8BITMIME", n) == 0)
		l->c_8bitmime = true;
	else if (n == 8 && strncasecmp(kw, "SMTPUTF8", n) == 0)
		l->c_smtputf8 = true;
	else if (n == 4 && strncasecmp(kw, "SIZE", n) == 0)
		l->c_size = true;
}

/* Reads one complete reply. 0, or -1 with l->failed set. */
static int
lm_reply(struct lmtp *l, struct lmtp_reply *rep)
{
	char		 line[LMTP_LINE_MAX];
	size_t		 len, i, tl = 0, k;
	uint64_t	 deadline = clock_ms() + l->timeout_ms;
	int		 code;
	unsigned	 nl;
	const char	*t;

	memset(rep, 0, sizeof(*rep));
	for (nl = 0; nl < LMTP_LINES_MAX; nl++) {
		if (lm_line(l, line, &len, deadline) == -1)
			return -1;
		/* RFC 5321 §4.2: Reply-code [ SP textstring ] CRLF, "-" on continuations. */
		if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
		    line[1] > '5' || line[2] < '0' || line[2] > '9' ||
		    (len > 3 && line[3] != ' ' && line[3] != '-')) {
			lm_fail(l, "4.5.0", "malformed reply", 0);
			return -1;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (nl > 0 && code != rep->code) {
			lm_fail(l, "4.5.0", "reply code changes inside a reply", 0);
			return -1;
		}
		rep->code = code;
		t = len > 4 ? line + 4 : "";
		if (nl == 0)
			(void)lm_enhanced(t, code, rep->dsn);
		else if (l->in_lhlo)
			lm_cap(l, t);
		/* Keep a printable copy of the text for the log and the DSN. */
		if (tl + 4 < sizeof(rep->text)) {
			if (nl > 0) {
				strlcpy(rep->text + tl, " / ", sizeof(rep->text) - tl);
				tl += 3;
			}
			for (i = 0; i < len && tl + 1 < sizeof(rep->text); i++) {
				k = (unsigned char)line[i];
				rep->text[tl++] = k < 0x20 || k == 0x7f ? '?' : line[i];
			}
			rep->text[tl] = '\0';
		}
		if (len == 3 || line[3] == ' ')
			break;
	}
	if (nl == LMTP_LINES_MAX) {
		lm_fail(l, "4.5.0", "reply of more than 100 lines", 0);
		return -1;
	}
	if (rep->dsn[0] == '\0')
		memcpy(rep->dsn, rep->code < 300 ? "2.0.0" : rep->code < 500 ? "4.0.0" : "5.0.0",
		    6);
	return 0;
}

/* Sends one command line (without CRLF) and reads its reply. */
static int
lm_cmd(struct lmtp *l, const char *cmd, struct lmtp_reply *rep)
{
	if (l->failed)
		return -1;
	if (l->roff < l->rlen) {
		/* Nothing is due from the server between our commands. */
		lm_fail(l, "4.5.0", "unexpected data from the server", 0);
		return -1;
	}
	lm_put(l, cmd, strlen(cmd));
	lm_put(l, "\r\n", 2);
	if (lm_flush(l) == -1)
		return -1;
	return lm_reply(l, rep);
}

/* --- message body --------------------------------------------------------------------- */

struct lm_body {
	struct lmtp	*l;
	int		 st;	/* 0 at a line start, 1 inside a line, 2 after a CR */
};

/*
 * RFC 5321 §4.5.2: a line starting with '.' gets one more. Lines end in CRLF; a bare CR or
 * LF (which smtpd never stores, but a BDAT body might hold) is sent as CRLF.
 */
static int
lm_body(void *arg, const void *p, size_t n)
{
	struct lm_body	*b = arg;
	const uint8_t	*s = p;
	size_t		 i = 0, run;

	while (i < n && !b->l->failed) {
		if (b->st == 2) {
			lm_put(b->l, "\r\n", 2);
			b->st = 0;
			if (s[i] == '\n') {
				i++;
				continue;
			}
		}
		if (s[i] == '\r') {
			b->st = 2;
			i++;
			continue;
		}
		if (s[i] == '\n') {
			lm_put(b->l, "\r\n", 2);
			b->st = 0;
			i++;
			continue;
		}
		if (b->st == 0 && s[i] == '.')
			lm_put(b->l, ".", 1);
		for (run = i; run < n && s[run] != '\r' && s[run] != '\n'; run++)
			;
		lm_put(b->l, s + i, run - i);
		b->st = 1;
		i = run;
	}
	return b->l->failed ? -1 : 0;
}

/* --- session -------------------------------------------------------------------------- */

static int
lm_connect(struct lmtp *l, const char *target)
{
	struct sockaddr_un	 sun;
	struct net_addr		 a;
	const struct sockaddr	*sa;
	socklen_t		 salen;
	int			 e;
	socklen_t		 elen = sizeof(e);

	if (strncmp(target, "unix:", 5) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (target[5] == '\0' ||
		    strlcpy(sun.sun_path, target + 5, sizeof(sun.sun_path)) >=
		    sizeof(sun.sun_path)) {
			lm_fail(l, "4.3.5", "bad unix socket path", 0);
			return -1;
		}
		sa = (const struct sockaddr *)&sun;
		salen = sizeof(sun);
	} else {
		if (net_addr_parse(target, 0, &a) == -1 || net_addr_port(&a) == 0) {
			lm_fail(l, "4.3.5", "bad target (want unix:/path or ADDR:PORT)", 0);
			return -1;
		}
		sa = (const struct sockaddr *)&a.ss;
		salen = a.len;
	}
	l->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1) {
		lm_fail(l, "4.3.0", "socket", errno);
		return -1;
	}
	if (connect(l->fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR) {
		lm_fail(l, "4.4.1", "connect", errno);
		return -1;
	}
	if (lm_wait(l, POLLOUT, clock_ms() + l->timeout_ms) == -1)
		return -1;
	if (getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1 || e != 0) {
		lm_fail(l, "4.4.1", "connect", e != 0 ? e : errno);
		return -1;
	}
	return 0;
}

static void
set_res(struct deliver_result *r, enum deliver_status st, const char *dsn, const char *text)
{
	r->status = st;
	strlcpy(r->dsn, dsn, sizeof(r->dsn));
	strlcpy(r->text, text, sizeof(r->text));
}

static void
set_reply(struct deliver_result *r, const struct lmtp *l, const struct lmtp_reply *rep)
{
	r->status = rep->code < 300 ? DELIVER_OK : rep->code < 500 ? DELIVER_TEMP : DELIVER_PERM;
	strlcpy(r->dsn, rep->dsn, sizeof(r->dsn));
	(void)snprintf(r->text, sizeof(r->text), "lmtp %s said: %s", l->target, rep->text);
}

/* Printable, and ASCII unless utf8; an address must be both to go into a command. */
static int
addr_check(const char *s, bool *utf8)
{
	const unsigned char *p;

	*utf8 = false;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '<' || *p == '>')
			return -1;
		if (*p >= 0x80)
			*utf8 = true;
	}
	return p - (const unsigned char *)s > SMTP_ADDR_MAX ? -1 : 0;
}

/* Our name for LHLO: a domain or address literal, printable ASCII without spaces. */
static bool
lhlo_ok(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || i >= SMTP_DOMAIN_MAX)
			return false;
	return i > 0;
}

int
lmtp_deliver(const char *target, const char *lhlo, int msgfd, const struct queue_env *env,
    const char *const *rcpts, size_t n, struct deliver_result *res, unsigned timeout_s)
{
	struct lmtp		*l;
	struct lmtp_reply	 rep;
	struct lm_body		 body;
	struct queue_env	 fenv;
	enum queue_read_res	 rr;
	char			 cmd[LMTP_CMD_MAX];
	bool			*accepted = NULL, *final = NULL, utf8, need_utf8;
	size_t			 i, nacc = 0;
	int			 rc = -1, k;

	for (i = 0; i < n; i++)
		set_res(&res[i], DELIVER_TEMP, "4.3.0", "lmtp: not attempted");
	l = calloc(1, sizeof(*l));
	accepted = calloc(n + 1, sizeof(*accepted));
	final = calloc(n + 1, sizeof(*final));
	if (l == NULL || accepted == NULL || final == NULL || n > QUEUE_RCPT_MAX) {
		for (i = 0; i < n; i++)
			set_res(&res[i], DELIVER_TEMP, "4.3.0", "lmtp: out of memory");
		goto out;
	}
	l->fd = -1;
	l->target = target;
	if (timeout_s == 0)
		timeout_s = LMTP_TIMEOUT;
	l->timeout_ms = (timeout_s > 3600 ? 3600 : timeout_s) * 1000u;

	/* Decisions that need no server. */
	if (env->body == SMTP_BODY_BINARYMIME) {
		/* RFC 3030 §3: BINARYMIME needs BDAT, which this client does not speak. */
		for (i = 0; i < n; i++)
			set_res(&res[i], DELIVER_PERM, "5.6.3",
			    "lmtp: BINARYMIME content cannot be sent with DATA");
		rc = 0;
		goto out;
	}
	if (!lhlo_ok(lhlo)) {
		for (i = 0; i < n; i++)
			set_res(&res[i], DELIVER_TEMP, "4.3.5", "lmtp: bad LHLO name");
		goto out;
	}
	if (addr_check(env->from, &need_utf8) == -1) {
		for (i = 0; i < n; i++)
			set_res(&res[i], DELIVER_PERM, "5.1.7",
			    "lmtp: reverse path cannot be sent");
		rc = 0;
		goto out;
	}

	if (lm_connect(l, target) == -1)
		goto fail;
	if (lm_reply(l, &rep) == -1)
		goto fail;
	if (rep.code != 220) {
		lm_fail(l, rep.code / 100 == 4 ? rep.dsn : "4.3.0", "greeting: ", 0);
		strlcat(l->fail_text, rep.text, sizeof(l->fail_text));
		goto quit;
	}
	l->in_lhlo = true;
	(void)snprintf(cmd, sizeof(cmd), "LHLO %s", lhlo);
	if (lm_cmd(l, cmd, &rep) == -1)
		goto fail;
	l->in_lhlo = false;
	if (rep.code != 250) {
		lm_fail(l, "4.5.0", "LHLO refused: ", 0);
		strlcat(l->fail_text, rep.text, sizeof(l->fail_text));
		goto quit;
	}
	if (need_utf8 && !l->c_smtputf8) {
		/* RFC 6531 §3.2: a UTF-8 reverse path cannot go to a server without it. */
		for (i = 0; i < n; i++) {
			set_res(&res[i], DELIVER_PERM, "5.6.7",
			    "lmtp: server does not offer SMTPUTF8 for a UTF-8 sender");
			final[i] = true;
		}
		rc = 0;
		goto quit;
	}

	/* MAIL FROM with the parameters that apply (RFC 6152, 6531, 1870). */
	k = snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>%s%s", env->from,
	    env->body == SMTP_BODY_8BITMIME && l->c_8bitmime ? " BODY=8BITMIME" : "",
	    env->smtputf8 && l->c_smtputf8 ? " SMTPUTF8" : "");
	if (l->c_size && env->size > 0 && k > 0 && (size_t)k < sizeof(cmd))
		(void)snprintf(cmd + k, sizeof(cmd) - (size_t)k, " SIZE=%llu",
		    (unsigned long long)env->size);
	if (lm_cmd(l, cmd, &rep) == -1)
		goto fail;
	if (rep.code / 100 != 2) {
		/* The sender refused: that answer holds for every recipient. */
		if (rep.code / 100 == 3) {
			lm_fail(l, "4.5.0", "unexpected 3xx reply to MAIL", 0);
			goto fail;
		}
		for (i = 0; i < n; i++) {
			set_reply(&res[i], l, &rep);
			final[i] = true;
		}
		rc = 0;
		goto quit;
	}

	for (i = 0; i < n; i++) {
		if (addr_check(rcpts[i], &utf8) == -1) {
			set_res(&res[i], DELIVER_PERM, "5.1.3",
			    "lmtp: recipient address cannot be sent");
			final[i] = true;
			continue;
		}
		if (utf8 && !l->c_smtputf8) {
			set_res(&res[i], DELIVER_PERM, "5.6.7",
			    "lmtp: server does not offer SMTPUTF8 for a UTF-8 recipient");
			final[i] = true;
			continue;
		}
		(void)snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>", rcpts[i]);
		if (lm_cmd(l, cmd, &rep) == -1)
			goto fail;
		if (rep.code / 100 == 3) {
			lm_fail(l, "4.5.0", "unexpected 3xx reply to RCPT", 0);
			goto fail;
		}
		if (rep.code / 100 == 2) {
			accepted[i] = true;
			nacc++;
			continue;
		}
		set_reply(&res[i], l, &rep);
		final[i] = true;
	}
	if (nacc == 0) {
		rc = 0;
		goto quit;
	}

	if (lm_cmd(l, "DATA", &rep) == -1)
		goto fail;
	if (rep.code != 354) {
		if (rep.code / 100 != 4 && rep.code / 100 != 5) {
			lm_fail(l, "4.5.0", "unexpected reply to DATA", 0);
			goto fail;
		}
		for (i = 0; i < n; i++)
			if (accepted[i]) {
				set_reply(&res[i], l, &rep);
				final[i] = true;
			}
		rc = 0;
		goto quit;
	}
	body.l = l;
	body.st = 0;
	rr = queue_file_read(msgfd, &fenv, lm_body, &body);
	queue_env_clear(&fenv);
	if (rr != QUEUE_READ_OK) {
		/* No final "." ever goes out: closing the connection aborts the transaction. */
		lm_fail(l, "4.3.0", rr == QUEUE_READ_TORN ? "queue file torn" :
		    rr == QUEUE_READ_BAD ? "queue file bad" : "queue file unreadable", 0);
		goto fail;
	}
	if (body.st == 2 || body.st == 1)
		lm_put(l, "\r\n", 2);	/* the message did not end with a line end */
	lm_put(l, ".\r\n", 3);
	if (lm_flush(l) == -1)
		goto fail;
	/* RFC 2033 §4.2: one reply per accepted RCPT, in order. */
	for (i = 0; i < n; i++) {
		if (!accepted[i])
			continue;
		if (lm_reply(l, &rep) == -1)
			goto fail;
		if (rep.code / 100 == 3) {
			lm_fail(l, "4.5.0", "unexpected 3xx reply after DATA", 0);
			goto fail;
		}
		set_reply(&res[i], l, &rep);
		final[i] = true;
	}
	rc = 0;
quit:
	/* Best effort: every recipient already has its answer, a failure here changes none. */
	if (!l->failed && lm_cmd(l, "QUIT", &rep) == -1)
		l->failed = false;
fail:
	if (l->failed)
		for (i = 0; i < n; i++)
			if (!final[i])
				set_res(&res[i], DELIVER_TEMP, l->fail_dsn, l->fail_text);
	if (l->failed && rc == 0)
		rc = -1;
out:
	if (l != NULL && l->fd != -1)
		(void)close(l->fd);
	free(l);
	free(accepted);
	free(final);
	return rc;
}
