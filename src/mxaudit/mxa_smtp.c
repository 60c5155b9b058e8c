/*
 * mxa_smtp — mxaudit's SMTP: two receivers and the trigger client.
 *
 * Receivers (-l, the legitimate MX; -a, the attacker): minimal RFC 5321 servers that
 * accept any MAIL and RCPT, read DATA to its end (smtp_data: dot-unstuffing, the
 * CRLF.CRLF end, bare CR/LF refused) and record where mail for each fresh domain arrived:
 * by recipient domain, and for a null-sender message (a bounce) by every fresh domain
 * named in its first MXA_SNIPPET_MAX octets. Nothing is stored. Bounds: MXA_SMTPD_MAX
 * sessions (more are closed at once), command lines of SMTP_CMD_EXT_MAX octets (longer:
 * 500 5.5.6 and the rest of the line is discarded), messages of MXA_SMTPD_MSG_MAX octets
 * (more: 552 once the terminator arrives), MXA_SMTPD_IDLE_MS of silence.
 *
 * The trigger client makes the target look a fresh domain up, one transaction per
 * domain, without pipelining (a server may refuse it): relay mode sends MAIL
 * FROM:<audit@ZONE> RCPT TO:<u@R.ZONE> and a short message; bounce mode MAIL
 * FROM:<b@R.ZONE> RCPT TO:<-r> (a missing user: the target's bounce goes to R.ZONE). The
 * session connects from the DNS address (-d) when it can bind it and it can reach the
 * target (both loopback, or both not), so a target's relay rules name one address for
 * mxaudit. Replies go through smtp_reply_line() (strict, capped
 * lines); every reply must come within MXA_CLIENT_TIMEOUT_MS. A refused transaction marks
 * its domain failed with the reply; a session that cannot start fails every queued domain.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mxaudit/mxaudit.h"
#include "util/clock.h"
#include "util/log.h"

#define SMTPD_OUT_MAX  4096
#define CLIENT_IN_MAX  (SMTP_REPLY_LINE_MAX + 2)
#define CLIENT_OUT_MAX 4096

enum sd_state { SD_CMD, SD_DATA, SD_CLOSING };

struct mxa_smtpd {
	int fd;
	enum mxa_rcv rcv;
	enum sd_state st;
	char in[MXA_SMTPD_IN_MAX];
	size_t inlen;
	bool overlong; /* discarding a too long line up to its LF */
	char out[SMTPD_OUT_MAX];
	size_t outlen, outoff;
	bool mail, null_sender;
	size_t rcpt[MXA_SMTPD_RCPT_MAX]; /* dom[] indices */
	size_t nrcpt;
	unsigned nrcpt_all;
	struct smtp_data data;
	char *snip; /* bounce text, lower-cased */
	size_t sniplen;
	uint64_t last;
};

enum cl_state {
	CL_CONNECT,
	CL_GREET,
	CL_EHLO,
	CL_HELO,
	CL_MAIL,
	CL_RCPT,
	CL_DATA,
	CL_BODY,
	CL_RSET,
	CL_QUIT
};

struct mxa_client {
	int fd;
	enum cl_state st;
	struct smtp_reply rep;
	char in[CLIENT_IN_MAX];
	size_t inlen;
	char out[CLIENT_OUT_MAX];
	size_t outlen, outoff;
	size_t cur;    /* dom[] index in a transaction, or SIZE_MAX */
	unsigned txns; /* transactions started */
	uint64_t deadline;
};

static const char *rcv_name[RCV_N] = {"legit", "attacker"};

/* --- receivers -------------------------------------------------------------------------- */

static int
listen_on(const struct net_addr *a)
{
	char s[NET_ADDR_STRLEN];
	int fd, one = 1;

	fd = socket(net_addr_family(a), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("socket");
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1 || listen(fd, 64) == -1) {
		log_warn("bind %s (smtp)", net_addr_str(a, s, sizeof(s)));
		close(fd);
		return -1;
	}
	return fd;
}

int
mxa_smtp_open(struct mxa *m)
{
	m->smtp_listen[RCV_LEGIT] = listen_on(&m->legit);
	if (m->smtp_listen[RCV_LEGIT] == -1)
		return -1;
	m->smtp_listen[RCV_ATTACKER] = listen_on(&m->attacker);
	if (m->smtp_listen[RCV_ATTACKER] == -1)
		return -1;
	return 0;
}

static void
smtpd_free(struct mxa_smtpd *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		close(s->fd);
	free(s->snip);
	free(s);
}

static void __attribute__((format(printf, 2, 3)))
smtpd_reply(struct mxa_smtpd *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->out + s->outlen, sizeof(s->out) - s->outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 2 >= sizeof(s->out) - s->outlen) {
		s->st = SD_CLOSING; /* a client that does not read its replies */
		s->outlen = s->outoff = 0;
		return;
	}
	s->outlen += (size_t)n;
	s->out[s->outlen++] = '\r';
	s->out[s->outlen++] = '\n';
}

void
mxa_smtp_accept(struct mxa *m, enum mxa_rcv rcv)
{
	struct mxa_smtpd *s;
	int fd;
	size_t i;

	fd = accept4(m->smtp_listen[rcv], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -1)
		return;
	for (i = 0; i < MXA_SMTPD_MAX; i++)
		if (m->smtpd[i] == NULL)
			break;
	s = i < MXA_SMTPD_MAX ? calloc(1, sizeof(*s)) : NULL;
	if (s == NULL) {
		ssize_t w = write(fd, "421 4.3.2 Too many sessions\r\n", 29);

		(void)w;
		close(fd);
		return;
	}
	s->fd = fd;
	s->rcv = rcv;
	s->last = clock_ms();
	m->smtpd[i] = s;
	smtpd_reply(s, "220 %s.%s ESMTP mxaudit", rcv == RCV_LEGIT ? "mx" : "evil", m->zone);
	log_debug("%s receiver: session opened", rcv_name[rcv]);
}

static int
data_out(void *arg, const void *p, size_t len)
{
	struct mxa_smtpd *s = arg;
	const char *c = p;
	size_t i;

	if (!s->null_sender || s->snip == NULL)
		return 0;
	for (i = 0; i < len && s->sniplen < MXA_SNIPPET_MAX; i++) {
		char ch = c[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		s->snip[s->sniplen++] = ch;
	}
	return 0;
}

/* The fresh domain of "R.ZONE" (any case), or NULL. */
static struct mxa_domain *
domain_of(struct mxa *m, const char *dom)
{
	struct dns_name n;
	int rel;

	if (dns_name_from_str(&n, dom) == -1 || !dns_name_under(&n, &m->zone_name))
		return NULL;
	rel = dns_name_labels(&n) - dns_name_labels(&m->zone_name);
	if (rel != 1)
		return NULL;
	dns_name_lower(&n);
	return mxa_domain_by_label(m, n.wire + 1, n.wire[0]);
}

/* A bounce: every "LABEL.ZONE" in its text whose label is one of our fresh domains. */
static void
bounce_scan(struct mxa *m, struct mxa_smtpd *s)
{
	const char *p, *end, *hit;
	size_t zl = strlen(m->zone), ll;
	struct mxa_domain *d;

	if (s->snip == NULL || zl == 0)
		return;
	p = s->snip;
	end = s->snip + s->sniplen;
	while (p < end && (hit = memmem(p, (size_t)(end - p), m->zone, zl)) != NULL) {
		p = hit + zl;
		if (hit - s->snip < 2 || hit[-1] != '.')
			continue;
		for (ll = 0; hit - 1 - ll > s->snip && ll < MXA_LABEL_LEN + 1; ll++) {
			char ch = hit[-2 - (ptrdiff_t)ll];

			if (ch < 'a' || ch > 'z')
				break;
		}
		if (ll != MXA_LABEL_LEN)
			continue;
		d = mxa_domain_by_label(m, (const uint8_t *)hit - 1 - ll, ll);
		if (d != NULL) {
			d->bounce[s->rcv]++;
			if (d->t_mail == 0)
				d->t_mail = clock_ms();
		}
	}
}

static void
txn_reset(struct mxa_smtpd *s)
{
	s->mail = s->null_sender = false;
	s->nrcpt = 0;
	s->nrcpt_all = 0;
	free(s->snip);
	s->snip = NULL;
	s->sniplen = 0;
}

static void
txn_end(struct mxa *m, struct mxa_smtpd *s)
{
	struct smtp_perr e;
	size_t i;
	uint64_t now = clock_ms();

	m->mails++;
	m->t_last_event = now;
	for (i = 0; i < s->nrcpt; i++) {
		struct mxa_domain *d = &m->dom[s->rcpt[i]];

		d->mail[s->rcv]++;
		if (d->t_mail == 0)
			d->t_mail = now;
		log_debug("%s receiver: mail for %s", rcv_name[s->rcv], d->name);
	}
	if (s->null_sender)
		bounce_scan(m, s);
	smtp_data_error(&s->data, &e);
	smtpd_reply(s, "%d %s %s", e.code, e.enh, e.code == 250 ? "Ok: recorded" : e.text);
	txn_reset(s);
}

static void
smtpd_command(struct mxa *m, struct mxa_smtpd *s, const char *line, size_t len)
{
	struct smtp_cmd *c;
	struct smtp_perr err;
	struct mxa_domain *d;

	c = malloc(sizeof(*c));
	if (c == NULL) {
		smtpd_reply(s, "421 4.3.0 Out of memory");
		s->st = SD_CLOSING;
		return;
	}
	if (smtp_cmd_parse_utf8(line, len, true, c, &err) == -1) {
		smtpd_reply(s, "%d %s %s", err.code, err.enh, err.text);
		free(c);
		return;
	}
	switch (c->verb) {
	case SMTP_V_HELO:
		txn_reset(s);
		smtpd_reply(s, "250 %s", m->zone);
		break;
	case SMTP_V_EHLO:
		txn_reset(s);
		smtpd_reply(s, "250-%s", m->zone);
		smtpd_reply(s, "250-8BITMIME");
		smtpd_reply(s, "250 SMTPUTF8");
		break;
	case SMTP_V_MAIL:
		if (s->mail) {
			smtpd_reply(s, "503 5.5.1 MAIL already given");
			break;
		}
		txn_reset(s);
		s->mail = true;
		s->null_sender = c->path.null;
		if (s->null_sender) {
			s->snip = malloc(MXA_SNIPPET_MAX);
			s->sniplen = 0;
		}
		smtpd_reply(s, "250 2.1.0 Ok");
		break;
	case SMTP_V_RCPT:
		if (!s->mail) {
			smtpd_reply(s, "503 5.5.1 MAIL first");
			break;
		}
		d = domain_of(m, c->path.domain);
		if (d != NULL && s->nrcpt < MXA_SMTPD_RCPT_MAX)
			s->rcpt[s->nrcpt++] = (size_t)(d - m->dom);
		s->nrcpt_all++;
		smtpd_reply(s, "250 2.1.5 Ok");
		break;
	case SMTP_V_DATA:
		if (!s->mail || s->nrcpt_all == 0) {
			smtpd_reply(s, "503 5.5.1 RCPT first");
			break;
		}
		smtp_data_init(&s->data, MXA_SMTPD_MSG_MAX, data_out, s);
		smtpd_reply(s, "354 End data with <CR><LF>.<CR><LF>");
		s->st = SD_DATA;
		break;
	case SMTP_V_RSET:
		txn_reset(s);
		smtpd_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_V_NOOP:
		smtpd_reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_V_QUIT:
		smtpd_reply(s, "221 2.0.0 Bye");
		s->st = SD_CLOSING;
		break;
	default:
		smtpd_reply(s, "502 5.5.1 Not implemented");
		break;
	}
	free(c);
}

/* Consumes what is in s->in. */
static void
smtpd_input(struct mxa *m, struct mxa_smtpd *s)
{
	size_t used, off = 0, len;
	char *lf;

	while (off < s->inlen && s->st != SD_CLOSING) {
		if (s->st == SD_DATA) {
			enum smtp_data_state ds;

			ds = smtp_data_feed(
			    &s->data, (const uint8_t *)s->in + off, s->inlen - off, &used);
			off += used;
			if (ds == SMTP_DATA_END) {
				s->st = SD_CMD;
				txn_end(m, s);
			}
			continue;
		}
		lf = memchr(s->in + off, '\n', s->inlen - off);
		if (lf == NULL)
			break;
		len = (size_t)(lf - (s->in + off));
		if (s->overlong) {
			s->overlong = false;
		} else {
			if (len > 0 && s->in[off + len - 1] == '\r')
				len--;
			smtpd_command(m, s, s->in + off, len);
		}
		off = (size_t)(lf - s->in) + 1;
	}
	memmove(s->in, s->in + off, s->inlen - off);
	s->inlen -= off;
	/* RFC 5321 §4.5.3.1.4: a command line has a limit; past it, refuse and skip. */
	if (s->st == SD_CMD && s->inlen == sizeof(s->in)) {
		if (!s->overlong)
			smtpd_reply(s, "500 5.5.6 Line too long");
		s->overlong = true;
		s->inlen = 0;
	}
}

int
mxa_smtpd_pollfd(const struct mxa_smtpd *s, short *events)
{
	*events = s->outlen > s->outoff ? POLLOUT : 0;
	if (s->st != SD_CLOSING)
		*events |= POLLIN;
	return s->fd;
}

void
mxa_smtpd_io(struct mxa *m, size_t slot, short revents)
{
	struct mxa_smtpd *s = m->smtpd[slot];
	ssize_t n;

	if (revents & (POLLERR | POLLNVAL))
		goto close;
	if ((revents & (POLLIN | POLLHUP)) && s->st != SD_CLOSING) {
		n = read(s->fd, s->in + s->inlen, sizeof(s->in) - s->inlen);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			goto close;
		if (n > 0) {
			s->inlen += (size_t)n;
			s->last = clock_ms();
			smtpd_input(m, s);
		}
	}
	while (s->outoff < s->outlen) {
		n = write(s->fd, s->out + s->outoff, s->outlen - s->outoff);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			goto close;
		s->outoff += (size_t)n;
	}
	s->outoff = s->outlen = 0;
	if (s->st == SD_CLOSING)
		goto close;
	return;
close:
	smtpd_free(s);
	m->smtpd[slot] = NULL;
}

/* --- the trigger client ------------------------------------------------------------------ */

static void __attribute__((format(printf, 2, 3)))
client_send(struct mxa_client *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->out + c->outlen, sizeof(c->out) - c->outlen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(c->out) - c->outlen)
		return; /* our own commands always fit */
	c->outlen += (size_t)n;
}

bool
mxa_client_busy(const struct mxa *m)
{
	return m->client != NULL;
}

static void
domain_failed(struct mxa *m, size_t idx, const char *why)
{
	struct mxa_domain *d = &m->dom[idx];

	d->queued = false;
	d->triggered = true;
	d->trigger_failed = true;
	d->t_trigger = clock_ms();
	strlcpy(d->trigger_err, why, sizeof(d->trigger_err));
	log_debug("trigger %s failed: %s", d->name, why);
}

static void
client_close(struct mxa *m, const char *why)
{
	struct mxa_client *c = m->client;

	if (c == NULL)
		return;
	if (why != NULL) {
		log_warnx("trigger session: %s", why);
		if (c->cur != SIZE_MAX)
			domain_failed(m, c->cur, why);
		/* A session that never got to a transaction will not do better next time. */
		if (c->txns == 0 || c->st == CL_CONNECT || c->st == CL_GREET)
			while (m->trig_next < m->ntrig)
				domain_failed(m, m->trig[m->trig_next++], why);
	}
	if (c->fd != -1)
		close(c->fd);
	free(c);
	m->client = NULL;
}

static void
client_next(struct mxa *m, struct mxa_client *c)
{
	struct mxa_domain *d;

	c->cur = SIZE_MAX;
	if (m->trig_next >= m->ntrig || m->stop) {
		client_send(c, "QUIT\r\n");
		c->st = CL_QUIT;
		return;
	}
	c->cur = m->trig[m->trig_next++];
	c->txns++;
	d = &m->dom[c->cur];
	if (m->mode == MXA_BOUNCE)
		client_send(c, "MAIL FROM:<b@%s>\r\n", d->name);
	else
		client_send(c, "MAIL FROM:<audit@%s>\r\n", m->zone);
	c->st = CL_MAIL;
}

static void
client_body(struct mxa *m, struct mxa_client *c)
{
	struct mxa_domain *d = &m->dom[c->cur];
	char date[64], from[SMTP_ADDR_MAX + 1], to[SMTP_ADDR_MAX + 1];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	/* RFC 5322 §3.3 */
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	if (m->mode == MXA_BOUNCE) {
		snprintf(from, sizeof(from), "b@%s", d->name);
		strlcpy(to, m->rcpt, sizeof(to));
	} else {
		snprintf(from, sizeof(from), "audit@%s", m->zone);
		snprintf(to, sizeof(to), "u@%s", d->name);
	}
	client_send(c,
	    "From: <%s>\r\nTo: <%s>\r\nSubject: mxaudit probe %s\r\n"
	    "Date: %s\r\nMessage-Id: <%s.%lld@%s>\r\n\r\n"
	    "This message was sent by mxaudit, which measures how well this mail server\r\n"
	    "resists forged DNS answers. It is about a name that exists only for the\r\n"
	    "test: %s.\r\n.\r\n",
	    from, to, d->label, date, d->label, (long long)now, m->zone, d->name);
}

/* One complete reply in c->rep. */
static void
client_reply(struct mxa *m, struct mxa_client *c)
{
	int code = c->rep.code;
	bool ok = code >= 200 && code < 300;
	char why[160];

	if (snprintf(why, sizeof(why), "%d %s", code, c->rep.text) < 0)
		why[0] = '\0';
	if (code == 421) {
		client_close(m, why);
		return;
	}
	switch (c->st) {
	case CL_GREET:
		if (!ok) {
			client_close(m, why);
			return;
		}
		client_send(c, "EHLO mxaudit.%s\r\n", m->zone);
		c->st = CL_EHLO;
		break;
	case CL_EHLO:
		if (ok)
			client_next(m, c);
		else {
			client_send(c, "HELO mxaudit.%s\r\n", m->zone);
			c->st = CL_HELO;
		}
		break;
	case CL_HELO:
		if (!ok) {
			client_close(m, why);
			return;
		}
		client_next(m, c);
		break;
	case CL_MAIL:
		if (!ok)
			goto refused;
		if (m->mode == MXA_BOUNCE)
			client_send(c, "RCPT TO:<%s>\r\n", m->rcpt);
		else
			client_send(c, "RCPT TO:<u@%s>\r\n", m->dom[c->cur].name);
		c->st = CL_RCPT;
		break;
	case CL_RCPT:
		if (!ok)
			goto refused;
		client_send(c, "DATA\r\n");
		c->st = CL_DATA;
		break;
	case CL_DATA:
		if (code != 354)
			goto refused;
		client_body(m, c);
		c->st = CL_BODY;
		break;
	case CL_BODY:
		if (!ok) {
			domain_failed(m, c->cur, why);
			client_next(m, c);
			break;
		}
		m->dom[c->cur].queued = false;
		m->dom[c->cur].triggered = true;
		m->dom[c->cur].t_trigger = clock_ms();
		log_debug("triggered %s", m->dom[c->cur].name);
		client_next(m, c);
		break;
	case CL_RSET:
		client_next(m, c);
		break;
	case CL_QUIT:
		client_close(m, NULL);
		return;
	case CL_CONNECT:
		break;
	}
	return;
refused:
	domain_failed(m, c->cur, why);
	c->cur = SIZE_MAX;
	client_send(c, "RSET\r\n");
	c->st = CL_RSET;
}

void
mxa_client_kick(struct mxa *m)
{
	struct mxa_client *c;
	struct net_addr src;
	char why[160], s[NET_ADDR_STRLEN];

	if (m->client != NULL || m->trig_next >= m->ntrig || !m->have_target || m->stop)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->cur = SIZE_MAX;
	m->client = c;
	c->fd = socket(net_addr_family(&m->target), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		snprintf(why, sizeof(why), "socket: %s", strerror(errno));
		client_close(m, why);
		return;
	}
	/*
	 * From the DNS address when it can reach the target (both loopback or both not): one
	 * address for the target's relay rules.
	 */
	src = m->dns;
	if (net_addr_family(&src) == AF_INET)
		((struct sockaddr_in *)&src.ss)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&src.ss)->sin6_port = 0;
	if (net_addr_family(&src) == net_addr_family(&m->target) &&
	    net_addr_is_loopback(&src) == net_addr_is_loopback(&m->target) &&
	    bind(c->fd, (const struct sockaddr *)&src.ss, src.len) == -1)
		log_debug("trigger: cannot bind %s: %s", net_addr_host(&src, s, sizeof(s)),
		    strerror(errno));
	if (connect(c->fd, (const struct sockaddr *)&m->target.ss, m->target.len) == -1 &&
	    errno != EINPROGRESS) {
		snprintf(why, sizeof(why), "connect %s: %s", net_addr_str(&m->target, s, sizeof(s)),
		    strerror(errno));
		client_close(m, why);
		return;
	}
	c->st = CL_CONNECT;
	c->deadline = clock_ms() + MXA_CLIENT_TIMEOUT_MS;
	smtp_reply_init(&c->rep);
}

int
mxa_client_pollfd(const struct mxa *m, short *events)
{
	const struct mxa_client *c = m->client;

	if (c == NULL)
		return -1;
	if (c->st == CL_CONNECT)
		*events = POLLOUT;
	else
		*events = (short)(POLLIN | (c->outlen > c->outoff ? POLLOUT : 0));
	return c->fd;
}

void
mxa_client_io(struct mxa *m, short revents)
{
	struct mxa_client *c = m->client;
	char why[160], *lf;
	ssize_t n;
	size_t off, len;
	int err = 0, r;
	socklen_t elen = sizeof(err);

	if (c->st == CL_CONNECT) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
			err = errno;
		if (err != 0) {
			snprintf(why, sizeof(why), "connect: %s", strerror(err));
			client_close(m, why);
			return;
		}
		c->st = CL_GREET;
		c->deadline = clock_ms() + MXA_CLIENT_TIMEOUT_MS;
		return;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		n = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
			client_close(
			    m, c->st == CL_QUIT ? NULL : "connection closed by the target");
			return;
		}
		if (n > 0)
			c->inlen += (size_t)n;
		off = 0;
		while ((lf = memchr(c->in + off, '\n', c->inlen - off)) != NULL) {
			len = (size_t)(lf - (c->in + off));
			if (len > 0 && c->in[off + len - 1] == '\r')
				len--;
			r = smtp_reply_line(&c->rep, c->in + off, len);
			off = (size_t)(lf - c->in) + 1;
			if (r == -1) {
				client_close(m, "malformed reply");
				return;
			}
			if (r == 1) {
				c->deadline = clock_ms() + MXA_CLIENT_TIMEOUT_MS;
				client_reply(m, c);
				if (m->client != c)
					return;
				smtp_reply_init(&c->rep);
			}
		}
		memmove(c->in, c->in + off, c->inlen - off);
		c->inlen -= off;
		if (c->inlen == sizeof(c->in)) {
			client_close(m, "reply line too long");
			return;
		}
	}
	while (c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			client_close(m, "write failed");
			return;
		}
		c->outoff += (size_t)n;
	}
	c->outoff = c->outlen = 0;
}

void
mxa_smtp_timers(struct mxa *m, uint64_t now)
{
	size_t i;

	for (i = 0; i < MXA_SMTPD_MAX; i++)
		if (m->smtpd[i] != NULL && now - m->smtpd[i]->last > MXA_SMTPD_IDLE_MS) {
			smtpd_free(m->smtpd[i]);
			m->smtpd[i] = NULL;
		}
	if (m->client != NULL && now > m->client->deadline)
		client_close(m, "timeout waiting for the target");
}

void
mxa_smtp_close(struct mxa *m)
{
	size_t i;

	for (i = 0; i < MXA_SMTPD_MAX; i++) {
		smtpd_free(m->smtpd[i]);
		m->smtpd[i] = NULL;
	}
	for (i = 0; i < RCV_N; i++)
		if (m->smtp_listen[i] != -1) {
			close(m->smtp_listen[i]);
			m->smtp_listen[i] = -1;
		}
	if (m->client != NULL) {
		if (m->client->fd != -1)
			close(m->client->fd);
		free(m->client);
		m->client = NULL;
	}
}
