/*
 * queue_smtp — mxd's one SMTP-family client: outbound SMTP (RFC 5321) for the delivery
 * workers and, as a mode, LMTP (RFC 2033) for local delivery (lmtp_deliver() in
 * queue_lmtp.c is a wrapper). One struct smtpc per connection, blocking, every wait in
 * poll(2) and bounded.
 *
 * Session (smtpc_open, smtpc_open_target for "unix:/path" or "ADDR:PORT"): non-blocking
 * connect bounded by min(30 s, timeout_s); the greeting
 * (220; 4xx TEMP and 5xx PERM with the server's reply, RFC 5321 §3.1); EHLO, and HELO when
 * EHLO gets a 5xx (§3.2); STARTTLS (RFC 3207) when offered and TLS is wanted, EHLO again
 * over TLS with the capabilities forgotten (§4.2: they may differ, and what was said in
 * clear may have been forged). Bytes after the 220 to STARTTLS and before the handshake
 * are refused: they would be read as if they came over TLS (response injection, the
 * client side of CVE-2011-0411).
 *
 * TLS (smtpc_opts.tls):
 *   NONE  never STARTTLS.
 *   MAY   opportunistic (RFC 7435): STARTTLS when offered, no authentication. When the
 *         handshake fails, one new connection without STARTTLS; the state then says
 *         "none (TLS handshake failed)". A server that refuses STARTTLS with 4xx/5xx gets
 *         the mail in clear on the same connection.
 *   DANE  RFC 7672: STARTTLS is required (not offered, refused, or a failed handshake is
 *         TEMP 4.7.5, never plaintext); usages 2 and 3 only (§3.1.3); DANE-EE without name
 *         checks, DANE-TA with the MX host name as reference identifier (§3.2.2); success
 *         only with a verified chain and a matching record. With no usable record the
 *         session is encrypted but unauthenticated (§2.2) and says "opportunistic".
 *
 * Transaction (smtpc_send): decisions that need no server first (BINARYMIME cannot go
 * with DATA: PERM 5.6.3; an address with control octets: PERM 5.1.7 / 5.1.3; SMTPUTF8
 * needed but not offered: PERM 5.6.7, RFC 6531 §3.4; bigger than the server's SIZE: PERM
 * 5.3.4, RFC 1870 §6). Then MAIL, RCPTs and DATA: with PIPELINING (RFC 2920) written
 * together, at most SC_PIPE_MAX commands in flight so neither side can block the other
 * on full socket buffers (RFC 2920 §3.1), replies read in order; without it lock-step.
 * The body goes dot-stuffed with CRLF line ends (§4.5.2; bare CR or LF sent as CRLF, so
 * no "\n.\n" can end the DATA early on a server that accepts bare LF: SMTP smuggling).
 * When DATA got 354 but no recipient was accepted, a lone "." ends it (RFC 2920 §3.1). A
 * transaction left open (MAIL accepted, no DATA completed) is closed with RSET, so the
 * session can carry the next message.
 *
 * Outcomes per recipient (struct deliver_result): 2xx OK, 4xx TEMP, 5xx PERM, dsn from the
 * reply's enhanced code (RFC 3463) or class.0.0, text "host said: CODE TEXT (in reply to
 * WHAT)". A 421 anywhere means the server is closing (§3.8): every recipient not final
 * gets it and the session is done. Anything that breaks the session — timeout or drop
 * (4.4.2), a malformed or unexpected reply (4.5.0), the queue file failing to read back
 * (4.3.0: no "." is ever sent, the transaction is aborted by closing) — makes every
 * recipient not yet final TEMP and smtpc_send return -1.
 *
 * Hostile servers: every reply line goes through smtp_reply_line() (strict, 510 octets,
 * 100 lines); a whole reply must arrive within its timeout, so a server dripping octets
 * cannot hold us; the RFC 5321 §4.5.3.2 timeouts are capped by timeout_s; a write of one
 * buffer (64 KiB at most) must finish within one timeout; EHLO keywords are matched
 * exactly, SIZE is parsed with overflow checks; server text reaches logs only as printable
 * ASCII. Addresses with control octets or '<' '>' never reach a command line.
 *
 * LMTP (smtpc_opts.lmtp, RFC 2033) is the same session with four differences: LHLO instead
 * of EHLO and nothing to fall back to (§4.1); no STARTTLS (a local socket); after the final
 * "." one reply per accepted recipient, in RCPT order (§4.2), so each recipient gets its
 * own outcome; and the envelope is that of a final delivery: no DSN parameters (mxd's queue
 * reports on local delivery itself) and SMTPUTF8 demanded only by a non-ASCII address. A
 * server that answers 354 to DATA with no recipient accepted breaks §4.2 (DATA MUST fail
 * then) and owes an unknown number of replies to ".": the session fails (4.5.0) instead.
 *
 * All I/O goes through sc_read()/sc_write(), plain or SSL on a non-blocking socket. SIGPIPE:
 * plain writes use MSG_NOSIGNAL, but OpenSSL writes with write(2): callers ignore SIGPIPE.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <bsd/string.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>

#include "queue/smtpc.h"
#include "smtp/smtp.h"
#include "tls/tls.h"
#include "util/clock.h"
#include "util/net.h"

#define SC_RBUF     4096
#define SC_WBUF     65536
#define SC_CMD_MAX  4096 /* RCPT with an xtext ORCPT fits easily */
#define SC_PIPE_MAX 50   /* commands in flight with PIPELINING */

/* RFC 5321 §4.5.3.2 client timeouts, in seconds. */
#define T_CONNECT  30
#define T_GREETING 300 /* §4.5.3.2.1 */
#define T_MAIL     300 /* §4.5.3.2.2; also EHLO, STARTTLS, RSET */
#define T_RCPT     300 /* §4.5.3.2.3 */
#define T_DATA     120 /* §4.5.3.2.4 */
#define T_BLOCK    180 /* §4.5.3.2.5: each data block */
#define T_END      600 /* §4.5.3.2.6: the reply to "." */
#define T_QUIT     5   /* nothing depends on it any more */

struct smtpc {
	int fd;
	SSL *ssl;
	struct net_addr addr;
	const char *helo; /* borrowed from smtpc_opts, as the caller keeps it */
	unsigned timeout_s;
	bool lmtp; /* RFC 2033 mode */
	/* "1.2.3.4:25", "[::1]:25" or "unix:/path" (sun_path is the longest) */
	char addrstr[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	char peer[SMTP_DOMAIN_MAX + NET_ADDR_STRLEN + 8];
	const char *tls_state;
	/* Capabilities from the last EHLO reply. */
	bool esmtp, c_pipelining, c_size, c_8bitmime, c_smtputf8, c_dsn;
	bool c_starttls;
	uint64_t size_max; /* 0: no limit announced */
	/* The first failure of the session: what every recipient not yet final gets. */
	bool failed;
	enum deliver_status fail_status;
	char fail_dsn[12];
	char fail_text[512];
	const char *phase; /* "receiving the greeting", for failure texts */
	size_t roff, rlen, wlen;
	uint8_t rbuf[SC_RBUF];
	uint8_t wbuf[SC_WBUF];
};

/* --- failures -------------------------------------------------------------------------- */

static void __attribute__((format(printf, 4, 5)))
sc_fail(struct smtpc *c, enum deliver_status st, const char *dsn, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	c->fail_status = st;
	strlcpy(c->fail_dsn, dsn, sizeof(c->fail_dsn));
	va_start(ap, fmt);
	(void)vsnprintf(c->fail_text, sizeof(c->fail_text), fmt, ap);
	va_end(ap);
}

static enum deliver_status
reply_status(int code)
{
	return code < 300 ? DELIVER_OK : code < 500 ? DELIVER_TEMP : DELIVER_PERM;
}

/* RFC 3463: the reply's own enhanced code when it has one, else class.0.0. */
static const char *
reply_dsn(const struct smtp_reply *r)
{
	if (r->enh[0] != '\0')
		return r->enh;
	return r->code < 300 ? "2.0.0" : r->code < 500 ? "4.0.0" : "5.0.0";
}

/* "host said: 550 5.1.1 text (in reply to RCPT TO command)", the suffix always kept. */
static void
reply_text(char *out, size_t len, const struct smtp_reply *r, const char *what)
{
	int room = (int)len - 64;

	(void)snprintf(out, len, "host said: %d%s%.*s (in reply to %s)", r->code,
	    r->text[0] != '\0' ? " " : "", room > 0 ? room : 0, r->text, what);
}

static void
set_res(struct deliver_result *res, enum deliver_status st, const char *dsn, const char *text)
{
	res->status = st;
	strlcpy(res->dsn, dsn, sizeof(res->dsn));
	strlcpy(res->text, text, sizeof(res->text));
}

static void
set_reply(struct deliver_result *res, const struct smtp_reply *r, const char *what)
{
	res->status = reply_status(r->code);
	strlcpy(res->dsn, reply_dsn(r), sizeof(res->dsn));
	reply_text(res->text, sizeof(res->text), r, what);
}

/* The session fails with the server's reply (a refused greeting, EHLO, a 421). */
static void
sc_fail_reply(struct smtpc *c, const struct smtp_reply *r, const char *what)
{
	char text[512];

	reply_text(text, sizeof(text), r, what);
	sc_fail(c, reply_status(r->code) == DELIVER_PERM ? DELIVER_PERM : DELIVER_TEMP,
	    reply_dsn(r), "%s", text);
}

/* A reply of a class the command cannot have (3xx to RCPT, 2xx as a greeting): 4.5.0. */
static void
sc_unexpected(struct smtpc *c, const struct smtp_reply *r, const char *what)
{
	sc_fail(c, DELIVER_TEMP, "4.5.0", "unexpected reply from %s to %s: %d %s", c->peer, what,
	    r->code, r->text);
}

/* A reply other than the one wanted ends the session: with itself when 4xx or 5xx. */
static void
sc_refused(struct smtpc *c, const struct smtp_reply *r, const char *what)
{
	if (r->code / 100 == 4 || r->code / 100 == 5)
		sc_fail_reply(c, r, what);
	else
		sc_unexpected(c, r, what);
}

/* Seconds of an RFC timeout capped by the configured one, as milliseconds. */
static uint64_t
tmo(const struct smtpc *c, unsigned rfc)
{
	if (c->timeout_s != 0 && c->timeout_s < rfc)
		rfc = c->timeout_s;
	return (uint64_t)rfc * 1000u;
}

/* --- the connection layer: plain or SSL, non-blocking, every wait bounded --------------- */

/* Waits for ev until deadline (monotonic ms). 0, or -1 with the session failed. */
static int
sc_wait(struct smtpc *c, short ev, uint64_t deadline)
{
	struct pollfd pfd = {.fd = c->fd, .events = ev};
	uint64_t now;
	int r;

	for (;;) {
		now = clock_ms();
		if (now >= deadline) {
			sc_fail(c, DELIVER_TEMP, "4.4.2", "conversation with %s timed out while %s",
			    c->peer, c->phase);
			return -1;
		}
		r = poll(&pfd, 1, (int)(deadline - now > 86400000 ? 86400000 : deadline - now));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			sc_fail(c, DELIVER_TEMP, "4.4.2", "poll: %s", strerror(errno));
			return -1;
		}
	}
}

static void
sc_lost(struct smtpc *c)
{
	sc_fail(c, DELIVER_TEMP, "4.4.2", "lost connection with %s while %s", c->peer, c->phase);
}

static void
sc_tls_err(struct smtpc *c, const char *what)
{
	char e[200];

	tls_error(e, sizeof(e));
	sc_fail(c, DELIVER_TEMP, "4.4.2", "TLS %s error with %s while %s: %s", what, c->peer,
	    c->phase, e);
}

/*
 * One SSL call's outcome: 1 retry (after waiting), 0 the connection is closed, -1 failed.
 * ZERO_RETURN and an EOF (SYSCALL with no error queued, or OpenSSL 3's "unexpected eof")
 * are a closed connection; the rest is a TLS error.
 */
static int
sc_ssl_retry(struct smtpc *c, int r, uint64_t deadline, const char *what)
{
	int e = SSL_get_error(c->ssl, r);

	if (e == SSL_ERROR_WANT_READ)
		return sc_wait(c, POLLIN, deadline) == 0 ? 1 : -1;
	if (e == SSL_ERROR_WANT_WRITE)
		return sc_wait(c, POLLOUT, deadline) == 0 ? 1 : -1;
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) ||
	    (e == SSL_ERROR_SSL &&
		ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)) {
		ERR_clear_error();
		sc_lost(c);
		return 0;
	}
	sc_tls_err(c, what);
	return -1;
}

/* Reads what is there (at least one octet). >0, or -1 with the session failed. */
static ssize_t
sc_read(struct smtpc *c, void *buf, size_t len, uint64_t deadline)
{
	ssize_t r;
	int k;

	for (;;) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			k = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
			if (k > 0)
				return k;
			if (sc_ssl_retry(c, k, deadline, "read") != 1)
				return -1;
			continue;
		}
		r = recv(c->fd, buf, len, 0);
		if (r > 0)
			return r;
		if (r == 0) {
			sc_lost(c);
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			sc_fail(c, DELIVER_TEMP, "4.4.2", "read from %s while %s: %s", c->peer,
			    c->phase, strerror(errno));
			return -1;
		}
		if (sc_wait(c, POLLIN, deadline) == -1)
			return -1;
	}
}

/* Writes all of buf by deadline. 0, or -1 with the session failed. */
static int
sc_write(struct smtpc *c, const void *buf, size_t len, uint64_t deadline)
{
	const uint8_t *p = buf;
	ssize_t r;
	int k;

	while (len > 0 && !c->failed) {
		if (c->ssl != NULL) {
			ERR_clear_error();
			k = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
			if (k > 0) {
				p += k;
				len -= (size_t)k;
			} else if (sc_ssl_retry(c, k, deadline, "write") != 1)
				return -1;
			continue;
		}
		r = send(c->fd, p, len, MSG_NOSIGNAL);
		if (r > 0) {
			p += r;
			len -= (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			(void)sc_wait(c, POLLOUT, deadline);
			continue;
		}
		if (r < 0 && errno == EPIPE)
			sc_lost(c);
		else
			sc_fail(c, DELIVER_TEMP, "4.4.2", "write to %s while %s: %s", c->peer,
			    c->phase, strerror(r < 0 ? errno : EPIPE));
	}
	return c->failed ? -1 : 0;
}

/* --- output buffer ----------------------------------------------------------------------- */

/* A whole buffer (at most SC_WBUF) must go within one data-block timeout. */
static int
sc_flush(struct smtpc *c, unsigned rfc_s)
{
	int r = 0;

	if (c->wlen > 0 && !c->failed)
		r = sc_write(c, c->wbuf, c->wlen, clock_ms() + tmo(c, rfc_s));
	c->wlen = 0;
	return c->failed ? -1 : r;
}

static void
sc_put(struct smtpc *c, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t k;

	while (n > 0 && !c->failed) {
		if (c->wlen == sizeof(c->wbuf))
			(void)sc_flush(c, T_BLOCK);
		k = sizeof(c->wbuf) - c->wlen;
		if (k > n)
			k = n;
		memcpy(c->wbuf + c->wlen, b, k);
		c->wlen += k;
		b += k;
		n -= k;
	}
}

/* One command line, CRLF added. */
static void
sc_cmd(struct smtpc *c, const char *cmd)
{
	sc_put(c, cmd, strlen(cmd));
	sc_put(c, "\r\n", 2);
}

/* Nothing may be waiting from the server when no reply is due. */
static int
sc_quiet(struct smtpc *c)
{
	if (c->failed)
		return -1;
	if (c->roff < c->rlen) {
		sc_fail(c, DELIVER_TEMP, "4.5.0", "unexpected data from %s while %s", c->peer,
		    c->phase);
		return -1;
	}
	return 0;
}

/* --- replies ---------------------------------------------------------------------------- */

/* One line without its CRLF, pointed into rbuf. 0, or -1 with the session failed. */
static int
sc_line(struct smtpc *c, const char **line, size_t *len, uint64_t deadline)
{
	uint8_t *lf;
	size_t n;
	ssize_t r;

	for (;;) {
		n = c->rlen - c->roff;
		lf = memchr(c->rbuf + c->roff, '\n', n);
		if (lf != NULL) {
			n = (size_t)(lf - (c->rbuf + c->roff)) + 1;
			if (n > SMTP_REPLY_LINE_MAX + 2) {
				sc_fail(c, DELIVER_TEMP, "4.5.0",
				    "reply line over 512 octets from %s while %s", c->peer,
				    c->phase);
				return -1;
			}
			if (n < 2 || lf[-1] != '\r') {
				sc_fail(c, DELIVER_TEMP, "4.5.0",
				    "reply line without CRLF from %s while %s", c->peer, c->phase);
				return -1;
			}
			*line = (const char *)c->rbuf + c->roff;
			*len = n - 2;
			c->roff += n;
			return 0;
		}
		if (n >= SMTP_REPLY_LINE_MAX + 2) {
			sc_fail(c, DELIVER_TEMP, "4.5.0",
			    "reply line over 512 octets from %s while %s", c->peer, c->phase);
			return -1;
		}
		if (c->roff > 0) {
			memmove(c->rbuf, c->rbuf + c->roff, n);
			c->roff = 0;
			c->rlen = n;
		}
		r = sc_read(c, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, deadline);
		if (r < 0)
			return -1;
		c->rlen += (size_t)r;
	}
}

/* Exact EHLO keyword match (RFC 5321 §4.1.1.1: case-insensitive). */
static bool
kw(const char *t, size_t len, const char *word, const char **param, size_t *plen)
{
	size_t n = strlen(word);

	if (len < n || strncasecmp(t, word, n) != 0 || (len > n && t[n] != ' '))
		return false;
	if (param != NULL) {
		*param = len > n ? t + n + 1 : t + len;
		*plen = len > n ? len - n - 1 : 0;
	}
	return true;
}

/* RFC 1870 §4: "SIZE" [SP number]; 0 or no number: no fixed limit. */
static uint64_t
size_param(const char *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	return v;
}

static void
sc_cap(struct smtpc *c, const char *t, size_t len)
{
	const char *p;
	size_t pl;

	if (kw(t, len, "PIPELINING", NULL, NULL))
		c->c_pipelining = true;
	else if (kw(t, len, "8BITMIME", NULL, NULL))
		c->c_8bitmime = true;
	else if (kw(t, len, "SMTPUTF8", NULL, NULL))
		c->c_smtputf8 = true;
	else if (kw(t, len, "DSN", NULL, NULL))
		c->c_dsn = !c->lmtp; /* LMTP: mxd reports on local delivery itself */
	else if (kw(t, len, "STARTTLS", NULL, NULL))
		c->c_starttls = true;
	else if (kw(t, len, "SIZE", &p, &pl)) {
		c->c_size = true;
		c->size_max = size_param(p, pl);
	}
}

/*
 * Reads one complete reply within one timeout (a server dripping octets cannot stretch
 * it). ehlo: lines after the first are capability keywords. 0, or -1 with the session
 * failed.
 */
static int
sc_reply(struct smtpc *c, struct smtp_reply *rep, unsigned rfc_s, bool ehlo)
{
	uint64_t deadline = clock_ms() + tmo(c, rfc_s);
	const char *line;
	size_t len;
	int r;

	if (c->failed)
		return -1;
	smtp_reply_init(rep);
	do {
		if (sc_line(c, &line, &len, deadline) == -1)
			return -1;
		r = smtp_reply_line(rep, line, len);
		if (r == -1) {
			sc_fail(c, DELIVER_TEMP, "4.5.0", "malformed reply from %s while %s",
			    c->peer, c->phase);
			return -1;
		}
		if (ehlo && rep->nlines > 1)
			sc_cap(c, rep->line_text, rep->line_len);
	} while (r == 0);
	return 0;
}

/* --- connecting -------------------------------------------------------------------------- */

static int
sc_connect(struct smtpc *c)
{
	int e = 0;
	socklen_t elen = sizeof(e);
	uint64_t deadline;
	unsigned t = T_CONNECT;

	c->phase = "connecting";
	c->fd = socket(c->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		sc_fail(c, DELIVER_TEMP, "4.3.0", "socket: %s", strerror(errno));
		return -1;
	}
	if (connect(c->fd, (const struct sockaddr *)&c->addr.ss, c->addr.len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR) {
		sc_fail(c, DELIVER_TEMP, "4.4.1", "connect to %s: %s", c->addrstr, strerror(errno));
		return -1;
	}
	if (c->timeout_s != 0 && c->timeout_s < t)
		t = c->timeout_s;
	deadline = clock_ms() + (uint64_t)t * 1000u;
	for (;;) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};
		uint64_t now = clock_ms();
		int r;

		if (now >= deadline) {
			sc_fail(c, DELIVER_TEMP, "4.4.1", "connect to %s: timed out", c->addrstr);
			return -1;
		}
		r = poll(&pfd, 1, (int)(deadline - now));
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR) {
			sc_fail(c, DELIVER_TEMP, "4.4.1", "connect to %s: poll: %s", c->addrstr,
			    strerror(errno));
			return -1;
		}
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1 || e != 0) {
		sc_fail(c, DELIVER_TEMP, "4.4.1", "connect to %s: %s", c->addrstr,
		    strerror(e != 0 ? e : errno));
		return -1;
	}
	return 0;
}

static void
sc_disconnect(struct smtpc *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1)
		(void)close(c->fd);
	c->fd = -1;
	c->roff = c->rlen = c->wlen = 0;
}

/*
 * EHLO, HELO when EHLO gets a 5xx (RFC 5321 §3.2); LHLO alone over LMTP (RFC 2033 §4.1).
 * 0, or -1 with the session failed.
 */
static int
sc_ehlo(struct smtpc *c)
{
	struct smtp_reply rep;
	char cmd[SMTP_DOMAIN_MAX + 8];
	const char *verb = c->lmtp ? "LHLO" : "EHLO";

	c->esmtp = c->c_pipelining = c->c_size = c->c_8bitmime = false;
	c->c_smtputf8 = c->c_dsn = c->c_starttls = false;
	c->size_max = 0;
	(void)snprintf(cmd, sizeof(cmd), "%s %s", verb, c->helo);
	c->phase = c->lmtp ? "sending LHLO" : "sending EHLO";
	if (sc_quiet(c) == -1)
		return -1;
	sc_cmd(c, cmd);
	if (sc_flush(c, T_MAIL) == -1)
		return -1;
	c->phase = c->lmtp ? "receiving the reply to LHLO" : "receiving the reply to EHLO";
	if (sc_reply(c, &rep, T_MAIL, true) == -1)
		return -1;
	if (rep.code == 250) {
		c->esmtp = true;
		return 0;
	}
	if (c->lmtp || rep.code / 100 != 5 || rep.code == 521) {
		/* 4xx: try later; 521 (RFC 7504): this host takes no mail at all. */
		sc_refused(c, &rep, c->lmtp ? "LHLO command" : "EHLO command");
		return -1;
	}
	/* What a refused EHLO listed does not count. */
	c->c_pipelining = c->c_size = c->c_8bitmime = c->c_smtputf8 = false;
	c->c_dsn = c->c_starttls = false;
	c->size_max = 0;
	(void)snprintf(cmd, sizeof(cmd), "HELO %s", c->helo);
	c->phase = "sending HELO";
	sc_cmd(c, cmd);
	if (sc_flush(c, T_MAIL) == -1)
		return -1;
	c->phase = "receiving the reply to HELO";
	if (sc_reply(c, &rep, T_MAIL, false) == -1)
		return -1;
	if (rep.code == 250)
		return 0;
	sc_refused(c, &rep, "HELO command");
	return -1;
}

/* A host name usable as SNI: not an address literal, printable, not empty. */
static bool
sni_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || s[0] == '[')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || s[i] == ':' || i >= SMTP_DOMAIN_MAX)
			return false;
	return true;
}

/*
 * STARTTLS and the handshake. 0: TLS is up (or, MAY, the server refused STARTTLS and we go
 * on in clear); -1: failed, session failed; 1 (MAY only): the handshake failed, try again
 * without TLS.
 */
static int
sc_starttls(struct smtpc *c, const struct smtpc_opts *o)
{
	struct smtp_reply rep;
	const bool dane = o->tls == SMTPC_TLS_DANE;
	char err[256];
	uint64_t deadline;
	size_t i;
	int r, usable = 0;

	c->phase = "sending STARTTLS";
	if (sc_quiet(c) == -1)
		return -1;
	sc_cmd(c, "STARTTLS");
	if (sc_flush(c, T_MAIL) == -1)
		return -1;
	c->phase = "receiving the reply to STARTTLS";
	if (sc_reply(c, &rep, T_MAIL, false) == -1)
		return -1;
	if (rep.code != 220) {
		if (rep.code == 421 || (rep.code / 100 != 4 && rep.code / 100 != 5)) {
			sc_refused(c, &rep, "STARTTLS command");
			return -1;
		}
		if (dane) {
			reply_text(err, sizeof(err), &rep, "STARTTLS command");
			sc_fail(c, DELIVER_TEMP, "4.7.5",
			    "STARTTLS refused by %s, required by its DANE TLSA records: %s",
			    c->peer, err);
			return -1;
		}
		return 0; /* opportunistic: the server said no, go on in clear */
	}
	c->phase = "starting TLS";
	if (c->roff < c->rlen) {
		/* Plaintext after "220" would be read as if it came over TLS. */
		sc_fail(c, DELIVER_TEMP, dane ? "4.7.5" : "4.5.0",
		    "%s sent data after its reply to STARTTLS", c->peer);
		return dane ? -1 : 1;
	}
	ERR_clear_error();
	c->ssl = SSL_new(o->ssl_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_error(err, sizeof(err));
		sc_fail(c, DELIVER_TEMP, "4.7.5", "TLS setup: %s", err);
		return -1;
	}
	if (dane) {
		if (tls_client_dane_enable(c->ssl, o->peer_name, err, sizeof(err)) == -1) {
			sc_fail(c, DELIVER_TEMP, "4.7.5", "DANE setup for %s: %s", c->peer, err);
			return -1;
		}
		for (i = 0; o->tlsa != NULL && i < o->ntlsa; i++)
			if (o->tlsa[i].data != NULL)
				usable += tls_client_dane_add(c->ssl, o->tlsa[i].usage,
				    o->tlsa[i].selector, o->tlsa[i].mtype, o->tlsa[i].data,
				    o->tlsa[i].len);
	} else if (sni_ok(o->peer_name)) {
		(void)SSL_set_tlsext_host_name(c->ssl, o->peer_name);
	}
	deadline = clock_ms() + tmo(c, T_MAIL);
	c->phase = "performing the TLS handshake";
	for (;;) {
		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r == 1)
			break;
		if (sc_ssl_retry(c, r, deadline, "handshake") != 1) {
			/* The failure says what happened; DANE makes it a TLS policy failure. */
			if (dane) {
				strlcpy(c->fail_dsn, "4.7.5", sizeof(c->fail_dsn));
				return -1;
			}
			return 1;
		}
	}
	if (dane && usable > 0) {
		if (tls_client_dane_ok(c->ssl, err, sizeof(err)) == -1) {
			sc_fail(c, DELIVER_TEMP, "4.7.5", "DANE authentication of %s failed: %s",
			    c->peer, err);
			return -1;
		}
		c->tls_state = "dane";
	} else {
		/* MAY, or DANE with no usable record: encrypted, not authenticated (§2.2). */
		c->tls_state = "opportunistic";
	}
	return 0;
}

/*
 * One attempt: connect, greeting, EHLO, STARTTLS. 0 done, -1 failed, 1 (MAY) TLS failed:
 * try again in clear.
 */
static int
sc_session(struct smtpc *c, const struct smtpc_opts *o, enum smtpc_tls tls)
{
	struct smtp_reply rep;
	int r;

	if (sc_connect(c) == -1)
		return -1;
	c->phase = "receiving the greeting";
	if (sc_reply(c, &rep, T_GREETING, false) == -1)
		return -1;
	if (rep.code != 220) {
		/* RFC 5321 §3.1: 554 (or 421) instead of 220 means no service here. */
		sc_refused(c, &rep, "the greeting");
		return -1;
	}
	if (sc_ehlo(c) == -1)
		return -1;
	if (tls == SMTPC_TLS_NONE)
		return 0;
	if (!c->c_starttls) {
		if (tls == SMTPC_TLS_DANE) {
			sc_fail(c, DELIVER_TEMP, "4.7.5",
			    "STARTTLS not offered by %s, required by its DANE TLSA records",
			    c->peer);
			return -1;
		}
		return 0;
	}
	r = sc_starttls(c, o);
	if (r != 0 || c->ssl == NULL)
		return r;
	/* RFC 3207 §4.2: forget what was said in clear, ask again over TLS. */
	return sc_ehlo(c);
}

/* Our name for EHLO: a domain or address literal, printable ASCII without spaces. */
static bool
helo_ok(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f || i >= SMTP_DOMAIN_MAX)
			return false;
	return i > 0;
}

/*
 * smtpc_open() for any stream socket: addr holds an AF_INET, AF_INET6 or (from
 * smtpc_open_target) AF_UNIX address, struct net_addr being a sockaddr_storage and its
 * length.
 */
static struct smtpc *
sc_open(const struct net_addr *addr, const struct smtpc_opts *o, struct deliver_result *fail)
{
	const struct sockaddr_un *sun;
	struct smtpc *c;
	char host[NET_ADDR_STRLEN];
	int r;

	set_res(fail, DELIVER_TEMP, "4.3.0", "not attempted");
	if (!helo_ok(o->helo)) {
		set_res(fail, DELIVER_TEMP, "4.3.5",
		    o->lmtp ? "lmtp client: bad LHLO name" : "smtp client: bad EHLO name");
		return NULL;
	}
	if (o->lmtp && o->tls != SMTPC_TLS_NONE) {
		set_res(fail, DELIVER_TEMP, "4.3.5", "lmtp client: no STARTTLS over LMTP");
		return NULL;
	}
	if (o->tls != SMTPC_TLS_NONE && o->ssl_ctx == NULL) {
		set_res(fail, DELIVER_TEMP, "4.3.5", "smtp client: TLS wanted without a context");
		return NULL;
	}
	if (o->tls == SMTPC_TLS_DANE && !sni_ok(o->peer_name)) {
		set_res(fail, DELIVER_TEMP, "4.7.5", "smtp client: DANE without a host name");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		set_res(fail, DELIVER_TEMP, "4.3.0", "smtp client: out of memory");
		return NULL;
	}
	c->fd = -1;
	c->addr = *addr;
	c->helo = o->helo;
	c->timeout_s = o->timeout_s > 3600 ? 3600 : o->timeout_s;
	c->lmtp = o->lmtp;
	c->tls_state = "none";
	if (addr->ss.ss_family == AF_UNIX) {
		sun = (const struct sockaddr_un *)&addr->ss;
		(void)snprintf(c->addrstr, sizeof(c->addrstr), "unix:%.*s",
		    (int)sizeof(sun->sun_path), sun->sun_path);
		strlcpy(c->peer, c->addrstr, sizeof(c->peer));
	} else {
		(void)net_addr_str(addr, c->addrstr, sizeof(c->addrstr));
		(void)net_addr_host(addr, host, sizeof(host));
		(void)snprintf(c->peer, sizeof(c->peer), "%s[%s]:%u",
		    sni_ok(o->peer_name) ? o->peer_name : host, host, net_addr_port(addr));
	}

	r = sc_session(c, o, o->tls);
	if (r == 1) {
		/* RFC 7435 §4.2 / RFC 7672 §1.3: opportunistic TLS may fall back to clear. */
		sc_disconnect(c);
		c->failed = false;
		c->tls_state = "none"; /* the log's tls= field: none|opportunistic|dane */
		r = sc_session(c, o, SMTPC_TLS_NONE);
	}
	if (r != 0) {
		set_res(fail, c->fail_status, c->fail_dsn, c->fail_text);
		sc_disconnect(c);
		free(c);
		return NULL;
	}
	return c;
}

struct smtpc *
smtpc_open(const struct net_addr *addr, const struct smtpc_opts *o, struct deliver_result *fail)
{
	return sc_open(addr, o, fail);
}

struct smtpc *
smtpc_open_target(const char *target, const struct smtpc_opts *o, struct deliver_result *fail)
{
	struct net_addr a;
	struct sockaddr_un sun;

	memset(&a, 0, sizeof(a));
	if (strncmp(target, "unix:", 5) == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (target[5] == '\0' ||
		    strlcpy(sun.sun_path, target + 5, sizeof(sun.sun_path)) >= sizeof(sun.sun_path))
			goto bad;
		memcpy(&a.ss, &sun, sizeof(sun));
		a.len = sizeof(sun);
	} else if (net_addr_parse(target, 0, &a) == -1 || net_addr_port(&a) == 0)
		goto bad;
	return sc_open(&a, o, fail);
bad:
	set_res(fail, DELIVER_TEMP, "4.3.5", "");
	(void)snprintf(fail->text, sizeof(fail->text),
	    "bad target \"%.200s\" (want unix:/path or ADDR:PORT)", target);
	return NULL;
}

/* --- the transaction --------------------------------------------------------------------- */

/* Printable, no '<' '>'; *utf8 when octets >= 0x80 are in it. An address must pass to be sent. */
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

/* RFC 3461 §4: xtext, "+XX" for '+', '=' and anything outside '!'..'~'. */
static void
xtext(char *out, size_t len, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	unsigned char ch;

	for (; *s != '\0' && o + 4 < len; s++) {
		ch = (unsigned char)*s;
		if (ch < 33 || ch > 126 || ch == '+' || ch == '=') {
			out[o++] = '+';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
}

struct sc_txn {
	struct smtpc *c;
	const struct queue_env *env;
	const char *const *rcpts;
	struct deliver_result *res;
	size_t n;
	bool *final, *accepted;
	size_t nacc;
	bool mail_ok, mail_failed, data_go;
	/* Replies due, in order: -1 MAIL, -2 DATA, else a recipient's index. */
	long pend[SC_PIPE_MAX + 2];
	size_t npend;
};

/* Every recipient not final gets r. */
static void
txn_all(struct sc_txn *t, const struct smtp_reply *r, const char *what, bool only_accepted)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		if (t->final[i] || (only_accepted && !t->accepted[i]))
			continue;
		set_reply(&t->res[i], r, what);
		t->final[i] = true;
	}
}

/* 421: the server is closing the session (RFC 5321 §3.8). */
static bool
txn_421(struct sc_txn *t, const struct smtp_reply *r, const char *what)
{
	if (r->code != 421)
		return false;
	txn_all(t, r, what, false);
	sc_fail_reply(t->c, r, what);
	return true;
}

/* Sends what is buffered and reads every reply due, in order. 0, or -1 (session failed). */
static int
txn_drain(struct sc_txn *t)
{
	struct smtpc *c = t->c;
	struct smtp_reply rep;
	size_t k;
	long p;

	c->phase = t->npend > 1 ? "sending pipelined commands" : "sending a command";
	if (sc_flush(c, T_MAIL) == -1)
		return -1;
	for (k = 0; k < t->npend; k++) {
		p = t->pend[k];
		if (p == -1) {
			c->phase = "receiving the reply to MAIL FROM";
			if (sc_reply(c, &rep, T_MAIL, false) == -1 ||
			    txn_421(t, &rep, "MAIL FROM command"))
				return -1;
			if (rep.code / 100 == 2)
				t->mail_ok = true;
			else if (rep.code / 100 == 4 || rep.code / 100 == 5) {
				/* The sender refused: that answer holds for every recipient. */
				t->mail_failed = true;
				txn_all(t, &rep, "MAIL FROM command", false);
			} else {
				sc_unexpected(c, &rep, "MAIL FROM command");
				return -1;
			}
		} else if (p == -2) {
			c->phase = "receiving the reply to DATA";
			if (sc_reply(c, &rep, T_DATA, false) == -1 ||
			    txn_421(t, &rep, "DATA command"))
				return -1;
			if (rep.code == 354)
				t->data_go = true;
			else if (rep.code / 100 == 4 || rep.code / 100 == 5) {
				if (!t->mail_failed)
					txn_all(t, &rep, "DATA command", true);
			} else {
				sc_unexpected(c, &rep, "DATA command");
				return -1;
			}
		} else {
			c->phase = "receiving the reply to RCPT TO";
			if (sc_reply(c, &rep, T_RCPT, false) == -1 ||
			    txn_421(t, &rep, "RCPT TO command"))
				return -1;
			if (rep.code / 100 != 2 && rep.code / 100 != 4 && rep.code / 100 != 5) {
				sc_unexpected(c, &rep, "RCPT TO command");
				return -1;
			}
			if (t->mail_failed)
				continue; /* already final with the MAIL reply */
			if (rep.code / 100 == 2) {
				t->accepted[p] = true;
				t->nacc++;
			} else {
				set_reply(&t->res[p], &rep, "RCPT TO command");
				t->final[p] = true;
			}
		}
	}
	t->npend = 0;
	return 0;
}

/* Queues one command; drains when the window is full (1 without PIPELINING). */
static int
txn_cmd(struct sc_txn *t, const char *cmd, long kind)
{
	size_t window = t->c->c_pipelining ? SC_PIPE_MAX : 1;

	sc_cmd(t->c, cmd);
	t->pend[t->npend++] = kind;
	if (t->npend >= window)
		return txn_drain(t);
	return t->c->failed ? -1 : 0;
}

struct sc_body {
	struct smtpc *c;
	int st; /* 0 at a line start, 1 inside a line, 2 after a CR */
};

/*
 * RFC 5321 §4.5.2: a line starting with '.' gets one more. Lines end in CRLF; a bare CR or
 * LF is sent as CRLF.
 */
static int
sc_body(void *arg, const void *p, size_t n)
{
	struct sc_body *b = arg;
	const uint8_t *s = p;
	size_t i = 0, run;

	while (i < n && !b->c->failed) {
		if (b->st == 2) {
			sc_put(b->c, "\r\n", 2);
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
			sc_put(b->c, "\r\n", 2);
			b->st = 0;
			i++;
			continue;
		}
		if (b->st == 0 && s[i] == '.')
			sc_put(b->c, ".", 1);
		for (run = i; run < n && s[run] != '\r' && s[run] != '\n'; run++)
			;
		sc_put(b->c, s + i, run - i);
		b->st = 1;
		i = run;
	}
	return b->c->failed ? -1 : 0;
}

/*
 * One reply to the final ".": the outcome of recipient i (LMTP), or with i == SIZE_MAX of
 * every accepted recipient (SMTP). 0, or -1 (session failed).
 */
static int
txn_dot(struct sc_txn *t, size_t i)
{
	struct smtp_reply rep;

	if (sc_reply(t->c, &rep, T_END, false) == -1 || txn_421(t, &rep, "end of DATA command"))
		return -1;
	if (rep.code / 100 != 2 && rep.code / 100 != 4 && rep.code / 100 != 5) {
		sc_unexpected(t->c, &rep, "end of DATA command");
		return -1;
	}
	if (i != SIZE_MAX) {
		set_reply(&t->res[i], &rep, "end of DATA command");
		t->final[i] = true;
	} else if (!t->mail_failed && t->nacc > 0)
		txn_all(t, &rep, "end of DATA command", true);
	return 0;
}

/* After 354: the message, ".", and the final reply (replies). 0, or -1 (session failed). */
static int
txn_data(struct sc_txn *t, int msgfd)
{
	struct smtpc *c = t->c;
	struct sc_body body = {.c = c, .st = 0};
	struct queue_env fenv;
	enum queue_read_res rr;
	size_t i;

	c->phase = "sending message body";
	if (sc_quiet(c) == -1)
		return -1;
	if ((t->mail_failed || t->nacc == 0) && c->lmtp) {
		/* RFC 2033 §4.2: DATA MUST fail then; how many replies would "." get? */
		sc_fail(c, DELIVER_TEMP, "4.5.0",
		    "%s accepted DATA with no recipient accepted (RFC 2033 4.2)", c->peer);
		return -1;
	}
	if (t->mail_failed || t->nacc == 0) {
		/* RFC 2920 §3.1: DATA was accepted with nobody to deliver to: send nothing. */
		sc_put(c, ".\r\n", 3);
	} else {
		memset(&fenv, 0, sizeof(fenv));
		rr = queue_file_read(msgfd, &fenv, sc_body, &body);
		queue_env_clear(&fenv);
		if (rr != QUEUE_READ_OK) {
			/* No "." ever goes out: closing the connection aborts the transaction. */
			if (!c->failed)
				sc_fail(c, DELIVER_TEMP, "4.3.0", "%s",
				    rr == QUEUE_READ_TORN      ? "queue file torn"
					: rr == QUEUE_READ_BAD ? "queue file bad"
							       : "queue file unreadable");
			return -1;
		}
		if (body.st != 0)
			sc_put(c, "\r\n", 2); /* the message did not end with a line end */
		sc_put(c, ".\r\n", 3);
	}
	if (sc_flush(c, T_BLOCK) == -1)
		return -1;
	c->phase = "receiving the reply to end of DATA";
	if (!c->lmtp)
		return txn_dot(t, SIZE_MAX);
	/* RFC 2033 §4.2: one reply per accepted RCPT, in RCPT order. */
	for (i = 0; i < t->n; i++)
		if (t->accepted[i] && txn_dot(t, i) == -1)
			return -1;
	return 0;
}

static void
txn_local(struct sc_txn *t, enum deliver_status st, const char *dsn, const char *text)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!t->final[i]) {
			set_res(&t->res[i], st, dsn, text);
			t->final[i] = true;
		}
}

/* The parameters of MAIL FROM (RFC 1870, 6152, 6531, 3461). */
static void
mail_cmd(const struct smtpc *c, const struct queue_env *env, bool utf8, char *cmd, size_t len)
{
	char xt[sizeof(env->envid) * 3 + 1];
	size_t k;

	(void)snprintf(cmd, len, "MAIL FROM:<%s>", env->from);
	k = strlen(cmd);
	if (c->c_size && env->size > 0)
		k +=
		    (size_t)snprintf(cmd + k, len - k, " SIZE=%llu", (unsigned long long)env->size);
	/* RFC 6152: without 8BITMIME offered the body goes as it is, unlabelled. */
	if (env->body == SMTP_BODY_8BITMIME && c->c_8bitmime && k < len)
		k += strlcpy(cmd + k, " BODY=8BITMIME", len - k);
	if (utf8 && k < len)
		k += strlcpy(cmd + k, " SMTPUTF8", len - k);
	if (c->c_dsn && env->ret != SMTP_RET_NONE && k < len)
		k += strlcpy(
		    cmd + k, env->ret == SMTP_RET_FULL ? " RET=FULL" : " RET=HDRS", len - k);
	if (c->c_dsn && env->envid[0] != '\0' && k < len) {
		xtext(xt, sizeof(xt), env->envid);
		(void)snprintf(cmd + k, len - k, " ENVID=%s", xt);
	}
}

/* RCPT TO with NOTIFY and ORCPT from the envelope (RFC 3461 §4.1, §4.2). */
static void
rcpt_cmd(
    const struct smtpc *c, const struct queue_env *env, const char *rcpt, char *cmd, size_t len)
{
	const struct queue_rcpt *qr = NULL;
	const char *semi;
	char xt[sizeof(qr->orcpt) * 3 + 1];
	size_t i, k;
	bool first = true;

	(void)snprintf(cmd, len, "RCPT TO:<%s>", rcpt);
	if (!c->c_dsn)
		return;
	for (i = 0; i < env->nrcpt && qr == NULL; i++)
		if (strcmp(env->rcpt[i].addr, rcpt) == 0)
			qr = &env->rcpt[i];
	if (qr == NULL)
		return;
	k = strlen(cmd);
	if (qr->notify & SMTP_NOTIFY_NEVER) {
		k += strlcpy(cmd + k, " NOTIFY=NEVER", len > k ? len - k : 0);
	} else if (qr->notify != 0) {
		k += strlcpy(cmd + k, " NOTIFY=", len > k ? len - k : 0);
		if ((qr->notify & SMTP_NOTIFY_SUCCESS) && k < len) {
			k += strlcpy(cmd + k, "SUCCESS", len - k);
			first = false;
		}
		if ((qr->notify & SMTP_NOTIFY_FAILURE) && k < len) {
			k += strlcpy(cmd + k, first ? "FAILURE" : ",FAILURE", len - k);
			first = false;
		}
		if ((qr->notify & SMTP_NOTIFY_DELAY) && k < len)
			k += strlcpy(cmd + k, first ? "DELAY" : ",DELAY", len - k);
	}
	semi = strchr(qr->orcpt, ';');
	/* RFC 3461 §4.2: addr-type is an atom. Anything else (CR, LF, SP: a forged command)
	   is not sent: the envelope may come from a local user's drop file. */
	for (const char *t = qr->orcpt; semi != NULL && t < semi; t++)
		if (!isalnum((unsigned char)*t) && *t != '-' && *t != '_' && *t != '.')
			semi = NULL;
	if (semi != NULL && semi > qr->orcpt && k < len) {
		/* addr-type ";" xtext: the type as stored, the address re-encoded. */
		xtext(xt, sizeof(xt), semi + 1);
		(void)snprintf(
		    cmd + k, len - k, " ORCPT=%.*s;%s", (int)(semi - qr->orcpt), qr->orcpt, xt);
	}
}

int
smtpc_send(struct smtpc *c, int msgfd, const struct queue_env *env, const char *const *rcpts,
    size_t n, struct deliver_result *res)
{
	struct sc_txn t;
	struct smtp_reply rep;
	char cmd[SC_CMD_MAX], text[512];
	bool utf8, need_utf8 = false;
	size_t i;

	memset(&t, 0, sizeof(t));
	for (i = 0; i < n; i++)
		set_res(&res[i], DELIVER_TEMP, "4.3.0", "not attempted");
	if (c == NULL || n == 0)
		return c == NULL || c->failed ? -1 : 0;
	if (n > QUEUE_RCPT_MAX) {
		for (i = 0; i < n; i++)
			set_res(&res[i], DELIVER_TEMP, "4.5.3", "too many recipients at once");
		return c->failed ? -1 : 0;
	}
	if (c->failed || c->fd == -1) {
		for (i = 0; i < n; i++)
			set_res(&res[i], DELIVER_TEMP, c->failed ? c->fail_dsn : "4.4.2",
			    c->failed ? c->fail_text : "session closed");
		return -1;
	}
	t.c = c;
	t.env = env;
	t.rcpts = rcpts;
	t.res = res;
	t.n = n;
	t.final = calloc(n, sizeof(*t.final));
	t.accepted = calloc(n, sizeof(*t.accepted));
	if (t.final == NULL || t.accepted == NULL) {
		for (i = 0; i < n; i++)
			set_res(&res[i], DELIVER_TEMP, "4.3.0", "smtp client: out of memory");
		goto out;
	}

	/* Decisions that need no server. */
	if (env->body == SMTP_BODY_BINARYMIME) {
		/* RFC 3030 §3: BINARYMIME needs BDAT, which this client does not speak. */
		txn_local(&t, DELIVER_PERM, "5.6.3", "BINARYMIME content cannot be sent with DATA");
		goto out;
	}
	if (addr_check(env->from, &need_utf8) == -1) {
		txn_local(&t, DELIVER_PERM, "5.1.7", "the sender address cannot be sent");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (addr_check(rcpts[i], &utf8) == -1) {
			set_res(
			    &res[i], DELIVER_PERM, "5.1.3", "the recipient address cannot be sent");
			t.final[i] = true;
		} else if (utf8)
			need_utf8 = true;
	}
	/*
	 * RFC 6531 §3.4: no downgrade of a message flagged SMTPUTF8. Over LMTP only the
	 * addresses demand it: the final delivery agent stores the header as it is.
	 */
	if (env->smtputf8 && (!c->lmtp || c->c_smtputf8))
		need_utf8 = true;
	if (need_utf8 && !c->c_smtputf8) {
		/* RFC 6531 §3.4: no downgrade; the message cannot go to this server. */
		(void)snprintf(text, sizeof(text),
		    "%s does not support SMTPUTF8, needed by this message", c->peer);
		txn_local(&t, DELIVER_PERM, "5.6.7", text);
		goto out;
	}
	if (c->c_size && c->size_max > 0 && env->size > c->size_max) {
		/* RFC 1870 §6: the server said it would refuse it. */
		(void)snprintf(text, sizeof(text),
		    "message size %llu exceeds the size limit %llu of %s",
		    (unsigned long long)env->size, (unsigned long long)c->size_max, c->peer);
		txn_local(&t, DELIVER_PERM, "5.3.4", text);
		goto out;
	}
	for (i = 0; i < n && t.final[i]; i++)
		;
	if (i == n)
		goto out;

	/* Nothing may be waiting from the server between transactions. */
	c->phase = "starting a transaction";
	if (!smtpc_usable(c) || sc_quiet(c) == -1)
		goto out;
	mail_cmd(c, env, need_utf8, cmd, sizeof(cmd));
	if (txn_cmd(&t, cmd, -1) == -1)
		goto out;
	for (i = 0; i < n && !t.mail_failed; i++) {
		if (t.final[i])
			continue;
		rcpt_cmd(c, env, rcpts[i], cmd, sizeof(cmd));
		if (txn_cmd(&t, cmd, (long)i) == -1)
			goto out;
	}
	/* With every reply in, DATA only when someone is left to deliver to. */
	if (t.npend > 0 || (!t.mail_failed && t.nacc > 0)) {
		if (txn_cmd(&t, "DATA", -2) == -1 || txn_drain(&t) == -1)
			goto out;
	}
	if (t.data_go) {
		if (txn_data(&t, msgfd) == -1)
			goto out;
	} else if (t.mail_ok) {
		/* A transaction left open: RSET closes it for the next message. */
		c->phase = "sending RSET";
		sc_cmd(c, "RSET");
		if (sc_flush(c, T_MAIL) == -1)
			goto out;
		c->phase = "receiving the reply to RSET";
		if (sc_reply(c, &rep, T_MAIL, false) == -1)
			goto out;
		if (rep.code != 250)
			sc_fail(c, DELIVER_TEMP, "4.5.0", "RSET refused by %s: %d %s", c->peer,
			    rep.code, rep.text);
	}
out:
	if (c->failed && t.final != NULL)
		for (i = 0; i < n; i++)
			if (!t.final[i])
				set_res(&res[i],
				    c->fail_status == DELIVER_PERM ? DELIVER_TEMP : c->fail_status,
				    c->fail_dsn, c->fail_text);
	free(t.final);
	free(t.accepted);
	return c->failed ? -1 : 0;
}

/* --- reuse and the end ------------------------------------------------------------------ */

bool
smtpc_usable(struct smtpc *c)
{
	struct pollfd pfd;
	uint8_t b;
	ssize_t r;
	int k, e;

	if (c == NULL || c->failed || c->fd == -1)
		return false;
	if (c->roff < c->rlen || c->wlen > 0 || (c->ssl != NULL && SSL_pending(c->ssl) > 0))
		goto unsolicited;
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	do
		k = poll(&pfd, 1, 0);
	while (k == -1 && errno == EINTR);
	if (k == 0)
		return true;
	if (k < 0 || (pfd.revents & (POLLERR | POLLNVAL)) != 0)
		goto lost;
	if (c->ssl != NULL) {
		/* TLS 1.3 session tickets make the socket readable without any SMTP data. */
		ERR_clear_error();
		k = SSL_peek(c->ssl, &b, 1);
		if (k > 0)
			goto unsolicited;
		e = SSL_get_error(c->ssl, k);
		if (e == SSL_ERROR_WANT_READ)
			return true;
		ERR_clear_error();
		goto lost;
	}
	r = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r > 0)
		goto unsolicited;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return true;
lost:
	sc_fail(c, DELIVER_TEMP, "4.4.2", "lost connection with %s between transactions", c->peer);
	return false;
unsolicited:
	sc_fail(c, DELIVER_TEMP, "4.5.0", "unexpected data from %s between transactions", c->peer);
	return false;
}

const char *
smtpc_tls_state(const struct smtpc *c)
{
	return c != NULL ? c->tls_state : "none";
}

const char *
smtpc_peer(const struct smtpc *c)
{
	return c != NULL ? c->peer : "none";
}

void
smtpc_close(struct smtpc *c, bool quit)
{
	struct smtp_reply rep;

	if (c == NULL)
		return;
	if (quit && !c->failed && c->fd != -1 && smtpc_usable(c)) {
		c->phase = "sending QUIT";
		sc_cmd(c, "QUIT");
		if (sc_flush(c, T_QUIT) == 0) {
			c->phase = "receiving the reply to QUIT";
			(void)sc_reply(c, &rep, T_QUIT, false);
		}
	}
	if (c->ssl != NULL && !c->failed) {
		/* One close_notify, no waiting for the peer's (RFC 8446 §6.1 allows it). */
		ERR_clear_error();
		(void)SSL_shutdown(c->ssl);
		ERR_clear_error();
	}
	sc_disconnect(c);
	free(c);
}

bool
smtpc_dsn(const struct smtpc *c)
{
	return c->c_dsn;
}
