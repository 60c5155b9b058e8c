/*
 * smtpd — mxd's SMTP server process: every inbound session, in one event loop.
 *
 * Runs unprivileged and chrooted (when started as root); it opens no file by name. For
 * each message it asks the queue manager for a queue file (IPC_CREATE → an fd), writes
 * the envelope, our Received: header and the body through it, and asks for the commit
 * (IPC_COMMIT); only when the queue manager says the file is durable does the client get
 * its 250 (DESIGN §3).
 *
 * Defences, each where the session reads input:
 *   - only CRLF.CRLF ends DATA; bare CR or LF in DATA is refused after the transfer
 *     (smtp_data.c; SMTP smuggling, CVE-2023-51764/5/6);
 *   - input buffered before STARTTLS is discarded (RFC 3207 §4.2, CVE-2011-0411), and
 *     the session forgets everything it learned before TLS;
 *   - a client talking before the greeting, or sending after a command that must end a
 *     pipelined group (RFC 2920 §3.1) before its reply, is refused and disconnected;
 *   - command lines over the limit get 500 5.5.6 and are discarded to their end;
 *   - relaying: local domains from anyone, others only from relay_networks or after AUTH
 *     (554 5.7.1); AUTH only on submission ports and only under TLS (RFC 4954 §4);
 *   - per-command and DATA timeouts (RFC 5321 §4.5.3.2), limits on sessions in total
 *     and per client address, recipients and message size;
 *   - a recipient repeated in one transaction (local parts of local domains compared
 *     case-insensitively) is answered 250 and kept once, so repeating an alias cannot
 *     multiply the copies queued and forwarded (cmd_rcpt).
 */
#include <sys/socket.h>

#include <bsd/string.h>
#include <bsd/sys/tree.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "ipc/ipc.h"
#include "mxd/mxd.h"
#include "queue/queue.h"
#include "smtp/smtp.h"
#include "tls/tls.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/event.h"
#include "util/log.h"

#define SESS_IN       16384 /* input buffer */
#define SESS_OUT_MAX  65536 /* output buffered before we stop reading */
#define AUTH_FAIL_MAX 3
#define ERROR_MAX     10 /* bad commands before we hang up */

enum sess_state {
	SS_GREET_PAUSE, /* waiting to send the greeting; input now is an error */
	SS_HANDSHAKE,   /* TLS handshake (STARTTLS or submissions) */
	SS_CMD,
	SS_AUTH_PLAIN,  /* 334 sent, waiting for the PLAIN response */
	SS_AUTH_USER,   /* LOGIN: waiting for the user name */
	SS_AUTH_PASS,   /* LOGIN: waiting for the password */
	SS_WAIT_CREATE, /* IPC_CREATE sent */
	SS_DATA,
	SS_BDAT,
	SS_WAIT_COMMIT, /* IPC_COMMIT sent */
	SS_CLOSING      /* flush the output, then close */
};

struct smtpd;

struct session {
	RB_ENTRY(session) node;
	uint64_t id;
	struct smtpd *d;
	int fd;
	struct ev_io io;
	struct ev_timer timer;
	enum mxd_listen_kind kind;
	enum sess_state state;
	enum sess_state after_create; /* SS_DATA or SS_BDAT */
	struct net_addr peer;
	char peer_str[NET_ADDR_STRLEN];
	char peer_host[NET_ADDR_STRLEN];
	SSL *ssl;
	bool tls;
	bool esmtp;
	char helo[SMTP_DOMAIN_MAX + 1];
	bool authed;
	char user[65];
	char auth_user[65]; /* LOGIN: name while asking the password */
	unsigned auth_fails, errors;
	bool discard_line; /* overlong line: drop to its end */
	bool progress;     /* a command or data arrived: re-arm the timer */

	/* The transaction. */
	bool mail;
	struct queue_env env;
	size_t rcpt_cap;
	char qid[QUEUE_ID_LEN + 1];
	int qfd;
	bool create_pending; /* IPC_CREATE sent, no reply yet */
	bool bdat_seen;      /* this transaction used BDAT: no DATA */
	int hs_want;         /* handshake: EV_READ or EV_WRITE it waits for */
	struct queue_w *qw;
	struct smtp_data data;
	uint64_t bdat_left;
	bool bdat_last;
	bool bdat_err;         /* a chunk failed: refuse until RSET */
	struct smtp_hops hops; /* Received: fields so far (loop detection) */
	uint64_t bdat_size;
	char received_tls[200];

	uint8_t in[SESS_IN];
	size_t inlen;
	char *out;
	size_t outlen, outoff, outcap;
};

static int
session_cmp(const struct session *a, const struct session *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}
RB_HEAD(sessions, session);
RB_PROTOTYPE(sessions, session, node, session_cmp)
RB_GENERATE(sessions, session, node, session_cmp)

struct client_count {
	struct net_addr addr;
	unsigned n;
};

struct smtpd {
	struct mxd *mxd;
	struct conf *conf;
	struct ev_loop *loop;
	int qsock;
	struct ev_io qio;
	struct smtpd_listener {
		struct smtpd *d;
		struct mxd_listener *l;
		struct ev_io io;
	} lis[MXD_LISTEN_MAX];
	SSL_CTX *tls;
	struct conf_users *users;
	struct sessions sessions;
	uint64_t next_id;
	unsigned nsessions;
	bool stopping;
	struct ipc_msg *msg; /* receive buffer */
};

static void session_process(struct session *);
static void session_close(struct session *);
static void session_update_io(struct session *);

/* Output. */

static void __attribute__((format(printf, 2, 3))) reply(struct session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;
	size_t len;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(line) - 2 ? (size_t)n : sizeof(line) - 3;
	line[len++] = '\r';
	line[len++] = '\n';
	if (s->outlen + len > s->outcap) {
		size_t cap = s->outcap ? s->outcap * 2 : 1024;
		char *p;

		while (cap < s->outlen + len)
			cap *= 2;
		p = realloc(s->out, cap);
		if (p == NULL) {
			log_warn("%s: reply", s->peer_str);
			s->state = SS_CLOSING;
			return;
		}
		s->out = p;
		s->outcap = cap;
	}
	memcpy(s->out + s->outlen, line, len);
	s->outlen += len;
}

/*
 * One read or write, over TLS once it is on. Returns the octets moved, 0 when the socket
 * would block, -1 when the connection is broken or (reading) closed.
 */
static ssize_t
conn_io(struct session *s, void *buf, size_t len, bool wr)
{
	ssize_t n;

	if (s->tls) {
		int r = wr ? SSL_write(s->ssl, buf, (int)len) : SSL_read(s->ssl, buf, (int)len);

		if (r > 0)
			return r;
		r = SSL_get_error(s->ssl, r);
		return r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE ? 0 : -1;
	}
	n = wr ? write(s->fd, buf, len) : read(s->fd, buf, len);
	if (n == -1)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	return n == 0 && !wr ? -1 : n;
}

/* Writes what it can. Returns -1 when the connection is broken. */
static int
session_flush(struct session *s)
{
	ssize_t n;

	while (s->outoff < s->outlen) {
		n = conn_io(s, s->out + s->outoff, s->outlen - s->outoff, true);
		if (n <= 0)
			return (int)n;
		s->outoff += (size_t)n;
	}
	s->outoff = s->outlen = 0;
	return 0;
}

/* Transaction. */

/* Gives the queue file back to the queue manager, which unlinks it. */
static void
txn_release_file(struct session *s)
{
	struct ipc_qid q;

	if (s->qfd == -1)
		return;
	memset(&q, 0, sizeof(q));
	strlcpy(q.id, s->qid, sizeof(q.id));
	(void)ipc_send(s->d->qsock, IPC_ABORT, s->id, &q, sizeof(q), -1);
	close(s->qfd);
	s->qfd = -1;
	s->qid[0] = '\0';
}

/*
 * Ends the transaction. A queue file nothing was written to yet is kept for the next
 * transaction of the session (it was asked for early, at MAIL, to take the queue
 * manager's round trip off the DATA path); a written one is given back.
 */
static void
txn_reset(struct session *s)
{
	if (s->qw != NULL)
		txn_release_file(s);
	free(s->qw);
	s->qw = NULL;
	queue_env_clear(&s->env);
	memset(&s->env, 0, sizeof(s->env));
	s->rcpt_cap = 0;
	s->mail = false;
	s->bdat_left = 0;
	s->bdat_last = false;
	s->bdat_err = false;
	s->bdat_size = 0;
	s->bdat_seen = false;
	memset(&s->hops, 0, sizeof(s->hops));
}

static bool
submission_port(const struct session *s)
{
	return s->kind == MXD_L_SUBMISSION || s->kind == MXD_L_SUBMISSIONS;
}

static void
ehlo_reply(struct session *s)
{
	struct conf *c = s->d->conf;

	reply(s, "250-%s", c->hostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %llu", (unsigned long long)c->max_message_size);
	reply(s, "250-8BITMIME");
	reply(s, "250-SMTPUTF8");
	reply(s, "250-CHUNKING");
	reply(s, "250-DSN");
	if (s->d->tls != NULL && !s->tls)
		reply(s, "250-STARTTLS");
	if (submission_port(s) && s->tls && s->d->users != NULL && !s->authed)
		reply(s, "250-AUTH PLAIN LOGIN");
	reply(s, "250 ENHANCEDSTATUSCODES");
}

/* RFC 5321 §4.4 and RFC 3848: with ESMTP[S][A], or UTF8SMTP[S][A] (RFC 6531 §4.3). */
static const char *
received_proto(const struct session *s)
{
	static const char *p[2][2][2] = {
	    {{"ESMTP", "ESMTPA"}, {"ESMTPS", "ESMTPSA"}},
	    {{"UTF8SMTP", "UTF8SMTPA"}, {"UTF8SMTPS", "UTF8SMTPSA"}},
	};

	if (!s->esmtp)
		return "SMTP";
	return p[s->env.smtputf8][s->tls][s->authed];
}

static void
write_received(struct session *s)
{
	char buf[2048], date[64];
	time_t now = time(NULL);
	struct tm tm;
	int n;

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	n = snprintf(buf, sizeof(buf),
	    "Received: from %s ([%s])\r\n"
	    "\tby %s (mxd) with %s id %s%s%s%s%s%s%s;\r\n"
	    "\t%s\r\n",
	    s->helo[0] ? s->helo : "unknown", s->peer_host, s->d->conf->hostname, received_proto(s),
	    s->qid, s->tls ? "\r\n\t(" : "", s->tls ? s->received_tls : "", s->tls ? ")" : "",
	    /* RFC 5321 §4.4: FOR only when there is exactly one recipient. */
	    s->env.nrcpt == 1 ? "\r\n\tfor <" : "", s->env.nrcpt == 1 ? s->env.rcpt[0].addr : "",
	    s->env.nrcpt == 1 ? ">" : "", date);
	if (n > 0)
		queue_w_data(s->qw, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

static int
data_out(void *arg, const void *p, size_t len)
{
	struct session *s = arg;

	smtp_hops_feed(&s->hops, p, len);
	queue_w_data(s->qw, p, len);
	return s->qw->err ? -1 : 0;
}

/*
 * No queue file: refuse the message. After BDAT the chunk is still read to its end and
 * answered then (RFC 3030 §2), so its octets are never taken for commands.
 */
static void
txn_no_file(struct session *s, const char *reply_text)
{
	if (s->after_create == SS_BDAT) {
		s->bdat_err = true;
		s->state = SS_BDAT;
		return;
	}
	reply(s, "%s", reply_text);
	s->state = SS_CMD;
}

/* The queue file arrived: write the envelope and our header, then go on. */
static void
txn_begin_body(struct session *s)
{
	s->qw = malloc(sizeof(*s->qw));
	if (s->qw == NULL) {
		txn_no_file(s, "451 4.3.0 Out of memory");
		return;
	}
	queue_w_init(s->qw, s->qfd);
	strlcpy(s->env.id, s->qid, sizeof(s->env.id));
	s->env.arrival = time(NULL);
	(void)snprintf(s->env.client, sizeof(s->env.client), "%s %s", s->peer_host,
	    s->helo[0] ? s->helo : "unknown");
	if (s->authed)
		strlcpy(s->env.auth, s->user, sizeof(s->env.auth));
	queue_w_env(s->qw, &s->env);
	write_received(s);
	if (s->after_create == SS_DATA) {
		smtp_data_init(&s->data, s->d->conf->max_message_size, data_out, s);
		reply(s, "354 End data with <CR><LF>.<CR><LF>");
		s->state = SS_DATA;
	} else
		s->state = SS_BDAT;
}

/* Asks the queue manager for a file now, to have it by DATA. False if it cannot. */
static bool
txn_prefetch_file(struct session *s)
{
	if (s->qfd != -1 || s->create_pending)
		return true;
	if (ipc_send(s->d->qsock, IPC_CREATE, s->id, NULL, 0, -1) == -1)
		return false;
	s->create_pending = true;
	return true;
}

static void
txn_need_file(struct session *s, enum sess_state next)
{
	s->after_create = next;
	if (s->qw != NULL && next == SS_BDAT) {
		s->state = next; /* a later BDAT chunk: the file is open already */
		return;
	}
	if (s->qfd != -1) {
		txn_begin_body(s); /* asked for at MAIL and already here */
		return;
	}
	if (!s->create_pending && !txn_prefetch_file(s)) {
		txn_no_file(s, "451 4.3.0 Queue unavailable");
		return;
	}
	s->state = SS_WAIT_CREATE;
}

/* The body is complete: seal the file and ask for the commit. */
static void
txn_commit(struct session *s, const struct smtp_perr *err)
{
	/* RFC 5321 §6.3: a message that went round too often is in a loop. */
	static const struct smtp_perr loop = {554, "5.4.6", "Too many hops: mail loop?"};
	struct ipc_qid q;

	if (err == NULL && s->hops.n > SMTP_HOPS_MAX) {
		err = &loop;
		log_warnx("%s: message refused: %u Received: fields", s->peer_str, s->hops.n);
	}
	if (err != NULL || queue_w_end(s->qw) == -1) {
		if (err != NULL)
			reply(s, "%d %s %s", err->code, err->enh, err->text);
		else
			reply(s, "451 4.3.0 Error writing the message");
		txn_reset(s);
		s->state = SS_CMD;
		return;
	}
	memset(&q, 0, sizeof(q));
	strlcpy(q.id, s->qid, sizeof(q.id));
	if (ipc_send(s->d->qsock, IPC_COMMIT, s->id, &q, sizeof(q), -1) == -1) {
		reply(s, "451 4.3.0 Queue unavailable");
		txn_reset(s);
		s->state = SS_CMD;
		return;
	}
	close(s->qfd); /* the queue manager holds its own descriptor */
	s->qfd = -1;   /* the file is the queue manager's now: never aborted */
	s->state = SS_WAIT_COMMIT;
}

/* Commands. */

static bool
relay_allowed(const struct session *s, const struct smtp_path *p)
{
	if (p->domain[0] == '\0')
		return true; /* <postmaster> */
	if (!p->domain_literal && conf_is_local_domain(s->d->conf, p->domain))
		return true;
	return s->authed || conf_in_relay_networks(s->d->conf, &s->peer);
}

static void
cmd_mail(struct session *s, const struct smtp_cmd *c)
{
	char addr[SMTP_ADDR_MAX + 1];

	if (s->helo[0] == '\0') {
		reply(s, "503 5.5.1 Send HELO or EHLO first");
		return;
	}
	if (s->mail) {
		reply(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	if (submission_port(s) && !s->authed) {
		reply(s, "530 5.7.0 Authentication required");
		return;
	}
	if (c->has_size && c->size > s->d->conf->max_message_size) {
		reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (!s->esmtp &&
	    (c->has_size || c->body != SMTP_BODY_NONE || c->smtputf8 || c->ret != SMTP_RET_NONE ||
		c->envid[0] != '\0')) {
		reply(s, "555 5.5.4 Parameters need EHLO");
		return;
	}
	smtp_path_str(&c->path, addr, sizeof(addr));
	strlcpy(s->env.from, addr, sizeof(s->env.from));
	s->env.body = c->body;
	s->env.smtputf8 = c->smtputf8;
	s->env.ret = c->ret;
	strlcpy(s->env.envid, c->envid, sizeof(s->env.envid));
	s->mail = true;
	(void)txn_prefetch_file(s); /* on failure DATA asks again */
	reply(s, "250 2.1.0 Ok");
}

static void
cmd_rcpt(struct session *s, const struct smtp_cmd *c)
{
	struct queue_rcpt *r;
	struct conf *conf = s->d->conf;
	char addr[sizeof(r->addr)];
	bool fold;

	if (!s->mail) {
		reply(s, "503 5.5.1 Need MAIL before RCPT");
		return;
	}
	if (!relay_allowed(s, &c->path)) {
		/* Postfix's line, which fail2ban's postfix filter matches. */
		log_info("NOQUEUE: reject: RCPT from unknown[%s]: 554 5.7.1 <%s@%s>: Relay access "
			 "denied; from=<%s> to=<%s@%s> proto=ESMTP helo=<%s>",
		    s->peer_host, c->path.local, c->path.domain, s->env.from, c->path.local,
		    c->path.domain, s->helo);
		reply(s, "554 5.7.1 Relay access denied");
		return;
	}
	if (c->path.domain[0] == '\0') /* RFC 5321 §4.1.1.3: <postmaster> is ours */
		(void)snprintf(addr, sizeof(addr), "postmaster@%s", conf->hostname);
	else
		smtp_path_str(&c->path, addr, sizeof(addr));
	/*
	 * A recipient named twice in one transaction is one recipient, as Postfix's cleanup
	 * filters duplicates: otherwise a client repeating RCPT for an alias that forwards
	 * gets max_recipients copies queued and forwarded. The first RCPT's NOTIFY and ORCPT
	 * stay; a duplicate gets 250 and takes no place in max_recipients. The local part of a
	 * local domain (and postmaster, §4.1.1.3) compares case-insensitively: RFC 5321 §2.4
	 * lets a host tell User@ from user@, but every mailbox and alias here is case-folded
	 * (queue_maildir.c, queue_alias.c); elsewhere its own host decides, so it compares
	 * exactly. O(n) per RCPT over at most max_recipients.
	 */
	fold = c->path.domain[0] == '\0' ||
	    (!c->path.domain_literal && conf_is_local_domain(conf, c->path.domain));
	for (size_t i = 0; i < s->env.nrcpt; i++) {
		if (smtp_addr_same(s->env.rcpt[i].addr, addr, fold)) {
			reply(s, "250 2.1.5 Ok (duplicate recipient)");
			return;
		}
	}
	if (s->env.nrcpt >= conf->max_recipients || s->env.nrcpt >= QUEUE_RCPT_MAX) {
		reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (s->env.nrcpt == s->rcpt_cap) {
		size_t cap = s->rcpt_cap ? s->rcpt_cap * 2 : 4;
		void *p = reallocarray(s->env.rcpt, cap, sizeof(*s->env.rcpt));

		if (p == NULL) {
			reply(s, "452 4.3.0 Out of memory");
			return;
		}
		s->env.rcpt = p;
		s->rcpt_cap = cap;
	}
	r = &s->env.rcpt[s->env.nrcpt];
	memset(r, 0, sizeof(*r));
	strlcpy(r->addr, addr, sizeof(r->addr));
	r->notify = c->notify;
	strlcpy(r->orcpt, c->orcpt, sizeof(r->orcpt));
	s->env.nrcpt++;
	reply(s, "250 2.1.5 Ok");
}

static void
cmd_data(struct session *s)
{
	if (!s->mail) {
		reply(s, "503 5.5.1 Need MAIL command");
		return;
	}
	if (s->env.nrcpt == 0) {
		reply(s, "554 5.5.1 No valid recipients");
		return;
	}
	/* RFC 3030 §2: one transaction uses DATA or BDAT, never both. */
	if (s->bdat_seen || s->qw != NULL) {
		reply(s, "503 5.5.1 DATA after BDAT");
		return;
	}
	txn_need_file(s, SS_DATA);
}

static void
cmd_bdat(struct session *s, const struct smtp_cmd *c)
{
	/* RFC 3030 §2: the chunk is read whatever happens, then answered. */
	s->bdat_left = c->chunk;
	s->bdat_last = c->last;
	s->bdat_seen = true;
	s->bdat_size = c->chunk > UINT64_MAX - s->bdat_size ? UINT64_MAX : s->bdat_size + c->chunk;
	if (!s->mail || s->env.nrcpt == 0 || s->bdat_err ||
	    s->bdat_size > s->d->conf->max_message_size) {
		s->bdat_err = true;
		s->state = SS_BDAT;
		return;
	}
	txn_need_file(s, SS_BDAT);
}

static void
bdat_chunk_done(struct session *s)
{
	if (s->bdat_err || s->qw == NULL) {
		if (!s->mail || s->env.nrcpt == 0)
			reply(s, "503 5.5.1 Need MAIL and RCPT before BDAT");
		else if (s->bdat_size > s->d->conf->max_message_size)
			reply(s, "552 5.3.4 Message size exceeds fixed limit");
		else
			reply(s, "554 5.5.0 Transaction failed");
		s->state = SS_CMD;
		if (s->bdat_last)
			txn_reset(s);
		return;
	}
	if (!s->bdat_last) {
		reply(s, "250 2.0.0 %llu octets received", (unsigned long long)s->bdat_size);
		s->state = SS_CMD;
		return;
	}
	txn_commit(s, NULL);
}

static void
start_tls(struct session *s)
{
	s->ssl = SSL_new(s->d->tls);
	if (s->ssl == NULL || SSL_set_fd(s->ssl, s->fd) != 1) {
		log_warnx("%s: TLS setup failed", s->peer_str);
		s->state = SS_CLOSING;
		return;
	}
	s->state = SS_HANDSHAKE;
}

static void
cmd_starttls(struct session *s)
{
	if (s->d->tls == NULL) {
		reply(s, "502 5.5.1 STARTTLS not available");
		return;
	}
	if (s->tls) {
		reply(s, "503 5.5.1 TLS already active");
		return;
	}
	reply(s, "220 2.0.0 Ready to start TLS");
	/*
	 * RFC 3207 §4.2 / CVE-2011-0411: whatever the client sent after STARTTLS before the
	 * handshake was never protected; throw it away rather than run it as TLS input.
	 */
	s->inlen = 0;
	if (session_flush(s) == -1 || s->outlen > 0) {
		s->state = SS_CLOSING;
		return;
	}
	start_tls(s);
}

/* RFC 4954 §4: PLAIN is authzid NUL authcid NUL passwd. */
static void
auth_plain(struct session *s, const char *b64, size_t len)
{
	unsigned char buf[1024];
	int n;
	const char *authz, *user, *pass;
	size_t ul, pl, zl;

	if (len == 1 && b64[0] == '*') {
		reply(s, "501 5.0.0 Authentication cancelled");
		s->state = SS_CMD;
		return;
	}
	n = base64_decode(b64, len, buf, sizeof(buf) - 1);
	s->state = SS_CMD;
	if (n <= 0) {
		reply(s, "501 5.5.2 Cannot decode the response");
		return;
	}
	buf[n] = '\0';
	authz = (const char *)buf;
	zl = strnlen(authz, (size_t)n);
	if (zl + 1 >= (size_t)n) {
		reply(s, "501 5.5.2 Malformed PLAIN response");
		explicit_bzero(buf, sizeof(buf));
		return;
	}
	user = authz + zl + 1;
	ul = strnlen(user, (size_t)n - zl - 1);
	if (zl + 1 + ul + 1 > (size_t)n) {
		reply(s, "501 5.5.2 Malformed PLAIN response");
		explicit_bzero(buf, sizeof(buf));
		return;
	}
	pass = user + ul + 1;
	pl = (size_t)n - zl - ul - 2;
	if (ul == 0 || ul >= sizeof(s->user) || (zl > 0 && strcmp(authz, user) != 0) ||
	    !conf_users_check(s->d->users, user, pass, pl)) {
		s->auth_fails++;
		/* Postfix's line, which fail2ban's postfix-sasl filter matches. */
		log_warnx("warning: unknown[%s]: SASL PLAIN authentication failed: "
			  "authentication failure",
		    s->peer_host);
		reply(s, "535 5.7.8 Authentication credentials invalid");
		if (s->auth_fails >= AUTH_FAIL_MAX) {
			reply(s, "421 4.7.0 Too many failed authentications");
			s->state = SS_CLOSING;
		}
	} else {
		s->authed = true;
		strlcpy(s->user, user, sizeof(s->user));
		log_info("%s: sasl_method=PLAIN, sasl_username=%s", s->peer_str, s->user);
		reply(s, "235 2.7.0 Authentication successful");
	}
	explicit_bzero(buf, sizeof(buf));
}

static void
auth_login_step(struct session *s, const char *b64, size_t len)
{
	unsigned char buf[512];
	int n;

	if (len == 1 && b64[0] == '*') {
		reply(s, "501 5.0.0 Authentication cancelled");
		s->state = SS_CMD;
		return;
	}
	n = base64_decode(b64, len, buf, sizeof(buf) - 1);
	if (n <= 0) {
		reply(s, "501 5.5.2 Cannot decode the response");
		s->state = SS_CMD;
		return;
	}
	buf[n] = '\0';
	if (s->state == SS_AUTH_USER) {
		if ((size_t)n >= sizeof(s->auth_user) || memchr(buf, '\0', (size_t)n) != NULL) {
			reply(s, "501 5.5.2 Bad user name");
			s->state = SS_CMD;
			return;
		}
		strlcpy(s->auth_user, (const char *)buf, sizeof(s->auth_user));
		reply(s, "334 UGFzc3dvcmQ6"); /* "Password:" */
		s->state = SS_AUTH_PASS;
		return;
	}
	s->state = SS_CMD;
	if (!conf_users_check(s->d->users, s->auth_user, (const char *)buf, (size_t)n)) {
		s->auth_fails++;
		log_warnx("warning: unknown[%s]: SASL LOGIN authentication failed: "
			  "authentication failure",
		    s->peer_host);
		reply(s, "535 5.7.8 Authentication credentials invalid");
		if (s->auth_fails >= AUTH_FAIL_MAX) {
			reply(s, "421 4.7.0 Too many failed authentications");
			s->state = SS_CLOSING;
		}
	} else {
		s->authed = true;
		strlcpy(s->user, s->auth_user, sizeof(s->user));
		log_info("%s: sasl_method=LOGIN, sasl_username=%s", s->peer_str, s->user);
		reply(s, "235 2.7.0 Authentication successful");
	}
	explicit_bzero(buf, sizeof(buf));
}

static void
cmd_auth(struct session *s, const struct smtp_cmd *c)
{
	if (!submission_port(s) || s->d->users == NULL) {
		reply(s, "503 5.5.1 AUTH not available");
		return;
	}
	if (!s->tls) {
		reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (s->authed) {
		reply(s, "503 5.5.1 Already authenticated");
		return;
	}
	if (s->mail) {
		reply(s, "503 5.5.1 AUTH not permitted during a mail transaction");
		return;
	}
	if (strcmp(c->arg, "PLAIN") == 0) {
		if (c->arg2[0] != '\0') {
			auth_plain(s, c->arg2, strlen(c->arg2));
			return;
		}
		reply(s, "334 ");
		s->state = SS_AUTH_PLAIN;
	} else if (strcmp(c->arg, "LOGIN") == 0) {
		if (c->arg2[0] != '\0') {
			s->state = SS_AUTH_USER;
			auth_login_step(s, c->arg2, strlen(c->arg2));
			return;
		}
		reply(s, "334 VXNlcm5hbWU6"); /* "Username:" */
		s->state = SS_AUTH_USER;
	} else
		reply(s, "504 5.5.4 Unrecognized authentication type");
}

/*
 * RFC 2920 §3.1: after these the client must wait for our reply; bytes already here
 * were sent too early.
 */
static bool
ends_group(enum smtp_verb v)
{
	switch (v) {
	case SMTP_V_HELO:
	case SMTP_V_EHLO:
	case SMTP_V_DATA:
	case SMTP_V_VRFY:
	case SMTP_V_EXPN:
	case SMTP_V_QUIT:
	case SMTP_V_NOOP:
	case SMTP_V_AUTH:
	case SMTP_V_STARTTLS:
		return true;
	default:
		return false;
	}
}

/* Commands may carry an AUTH initial response: a credential, wiped before it is freed. */
static void
cmd_free(struct smtp_cmd *c)
{
	explicit_bzero(c, sizeof(*c));
	free(c);
}

static void
session_command(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd *c;
	struct smtp_perr err;

	/*
	 * RFC 5321 §4.5.3.1.4: 512 octets with CRLF; only MAIL and RCPT (their ESMTP
	 * parameters, §4.5.3.1.4 last paragraph) and AUTH (RFC 4954 §4) may be longer.
	 */
	if (len + 2 > SMTP_CMD_MAX && strncasecmp(line, "MAIL ", 5) != 0 &&
	    strncasecmp(line, "RCPT ", 5) != 0 && strncasecmp(line, "AUTH ", 5) != 0) {
		reply(s, "500 5.5.6 Line too long");
		return;
	}
	c = malloc(sizeof(*c));
	if (c == NULL) {
		reply(s, "421 4.3.0 Out of memory");
		s->state = SS_CLOSING;
		return;
	}
	if (smtp_cmd_parse_utf8(line, len, s->mail && s->env.smtputf8, c, &err) == -1) {
		reply(s, "%d %s %s", err.code, err.enh, err.text);
		if (++s->errors >= ERROR_MAX) {
			reply(s, "421 4.7.0 %s Too many errors", s->d->conf->hostname);
			s->state = SS_CLOSING;
		}
		cmd_free(c);
		return;
	}
	/* Before pipelining was offered (EHLO), every command ends a group. */
	if ((ends_group(c->verb) || !s->esmtp) && s->inlen > 0 && c->verb != SMTP_V_STARTTLS &&
	    c->verb != SMTP_V_QUIT) {
		log_warnx("%s: improper command pipelining after %.*s", s->peer_str,
		    (int)(len < 16 ? len : 16), line);
		reply(s, "554 5.5.0 Improper command pipelining");
		s->state = SS_CLOSING;
		cmd_free(c);
		return;
	}
	switch (c->verb) {
	case SMTP_V_HELO:
	case SMTP_V_EHLO:
		txn_reset(s);
		strlcpy(s->helo, c->arg, sizeof(s->helo));
		s->esmtp = c->verb == SMTP_V_EHLO;
		if (s->esmtp)
			ehlo_reply(s);
		else
			reply(s, "250 %s", s->d->conf->hostname);
		break;
	case SMTP_V_MAIL:
		cmd_mail(s, c);
		break;
	case SMTP_V_RCPT:
		cmd_rcpt(s, c);
		break;
	case SMTP_V_DATA:
		cmd_data(s);
		break;
	case SMTP_V_BDAT:
		cmd_bdat(s, c);
		break;
	case SMTP_V_RSET:
		txn_reset(s);
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_V_NOOP:
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_V_QUIT:
		reply(s, "221 2.0.0 %s closing connection", s->d->conf->hostname);
		s->state = SS_CLOSING;
		break;
	case SMTP_V_VRFY:
		/* RFC 5321 §3.5.3: no address harvesting, and no false "no such user". */
		reply(s, "252 2.5.0 Cannot VRFY user, but will accept message");
		break;
	case SMTP_V_EXPN:
		reply(s, "502 5.5.1 EXPN not available");
		break;
	case SMTP_V_HELP:
		reply(s, "214 2.0.0 See RFC 5321; mxd");
		break;
	case SMTP_V_STARTTLS:
		cmd_starttls(s);
		break;
	case SMTP_V_AUTH:
		cmd_auth(s, c);
		break;
	case SMTP_V_UNKNOWN:
		reply(s, "500 5.5.2 Command unrecognized");
		break;
	}
	cmd_free(c);
}

/* Finds a line end in the buffer: CRLF, or a lone LF (tolerated for commands only). */
static bool
take_line(struct session *s, char *line, size_t cap, size_t *len)
{
	uint8_t *nl = memchr(s->in, '\n', s->inlen);
	size_t n, used;

	if (nl == NULL) {
		if (s->inlen >= cap) {
			/* RFC 5321 §4.5.3.1.4: too long; drop it to its end. */
			s->discard_line = true;
			s->inlen = 0;
		}
		return false;
	}
	used = (size_t)(nl - s->in) + 1;
	n = used - 1;
	if (n > 0 && s->in[n - 1] == '\r')
		n--;
	if (s->discard_line || n >= cap) {
		s->discard_line = false;
		memmove(s->in, s->in + used, s->inlen - used);
		s->inlen -= used;
		reply(s, "500 5.5.6 Line too long");
		*len = SIZE_MAX;
		return true;
	}
	memcpy(line, s->in, n);
	line[n] = '\0';
	*len = n;
	memmove(s->in, s->in + used, s->inlen - used);
	s->inlen -= used;
	s->progress = true;
	return true;
}

/* Consumes buffered input as far as the state allows. */
static void
session_process(struct session *s)
{
	char line[SMTP_CMD_EXT_MAX + 1];
	size_t len, used;

	for (;;) {
		switch (s->state) {
		case SS_CMD:
		case SS_AUTH_PLAIN:
		case SS_AUTH_USER:
		case SS_AUTH_PASS:
			if (!take_line(s, line,
				s->state == SS_CMD ? SMTP_CMD_EXT_MAX : sizeof(line) - 1, &len))
				return;
			if (len == SIZE_MAX)
				continue;
			if (s->state == SS_CMD)
				session_command(s, line, len);
			else if (s->state == SS_AUTH_PLAIN)
				auth_plain(s, line, len);
			else
				auth_login_step(s, line, len);
			explicit_bzero(line, sizeof(line));
			break;
		case SS_DATA:
			if (s->inlen == 0)
				return;
			s->progress = true; /* DATA: the timeout is one of inactivity */
			switch (smtp_data_feed(&s->data, s->in, s->inlen, &used)) {
			case SMTP_DATA_MORE:
				s->inlen = 0;
				return;
			case SMTP_DATA_END:
				memmove(s->in, s->in + used, s->inlen - used);
				s->inlen -= used;
				if (s->data.err != SMTP_DERR_NONE) {
					struct smtp_perr e;

					smtp_data_error(&s->data, &e);
					log_warnx("%s: message refused: %s", s->peer_str, e.text);
					txn_commit(s, &e);
				} else
					txn_commit(s, NULL);
				break;
			case SMTP_DATA_ERR:
				s->inlen = 0; /* keep reading to the end */
				return;
			}
			break;
		case SS_BDAT:
			used = s->inlen < s->bdat_left ? s->inlen : (size_t)s->bdat_left;
			s->progress = s->progress || used > 0;
			if (used > 0 && !s->bdat_err && s->qw != NULL) {
				smtp_hops_feed(&s->hops, s->in, used);
				queue_w_data(s->qw, s->in, used);
			}
			memmove(s->in, s->in + used, s->inlen - used);
			s->inlen -= used;
			s->bdat_left -= used;
			if (s->bdat_left > 0)
				return;
			bdat_chunk_done(s);
			break;
		default:
			return;
		}
	}
}

/* I/O. */

static void
session_timeout(struct ev_timer *t, void *arg)
{
	struct session *s = arg;

	(void)t;
	if (s->state == SS_CLOSING || s->state == SS_HANDSHAKE) {
		/* It would not read our last reply, or cannot: no plaintext inside TLS. */
		session_close(s);
		return;
	}
	log_info("timeout after %s from %s", s->state == SS_DATA ? "DATA" : "command", s->peer_str);
	reply(s, "421 4.4.2 %s Error: timeout exceeded", s->d->conf->hostname);
	s->state = SS_CLOSING;
	session_update_io(s);
}

static void
session_arm_timer(struct session *s)
{
	unsigned t = s->state == SS_DATA || s->state == SS_BDAT ? s->d->conf->data_timeout
								: s->d->conf->cmd_timeout;

	ev_timer_start(s->d->loop, &s->timer, (uint64_t)t * 1000);
}

static void
session_greet(struct session *s)
{
	reply(s, "220 %s ESMTP mxd", s->d->conf->hostname);
	s->state = SS_CMD;
}

static void
session_handshake(struct session *s)
{
	int r = SSL_accept(s->ssl);

	if (r == 1) {
		tls_describe(s->ssl, s->received_tls, sizeof(s->received_tls));
		log_info("%s: TLS established: %s", s->peer_str, s->received_tls);
		s->tls = true;
		/* RFC 3207 §4.2: forget what the client told us before TLS. */
		s->helo[0] = '\0';
		s->esmtp = false;
		txn_reset(s);
		if (s->kind == MXD_L_SUBMISSIONS && s->outlen == 0)
			session_greet(s);
		else
			s->state = SS_CMD;
		return;
	}
	switch (SSL_get_error(s->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		s->hs_want = EV_READ; /* only that: the socket is nearly always writable */
		return;
	case SSL_ERROR_WANT_WRITE:
		s->hs_want = EV_WRITE;
		return;
	default: {
		char err[256];

		tls_error(err, sizeof(err));
		log_warnx("%s: TLS handshake failed: %s", s->peer_str, err);
		s->outlen = s->outoff = 0;
		s->state = SS_CLOSING;
	}
	}
}

/* Reads what is there. Returns -1 on EOF or error. */
static int
session_read(struct session *s)
{
	ssize_t n;

	while (s->inlen < sizeof(s->in)) {
		n = conn_io(s, s->in + s->inlen, sizeof(s->in) - s->inlen, false);
		if (n <= 0)
			return (int)n;
		s->inlen += (size_t)n;
	}
	return 0;
}

static bool
session_wants_input(const struct session *s)
{
	switch (s->state) {
	case SS_CMD:
	case SS_AUTH_PLAIN:
	case SS_AUTH_USER:
	case SS_AUTH_PASS:
	case SS_DATA:
	case SS_BDAT:
	case SS_GREET_PAUSE:
		return s->outlen < SESS_OUT_MAX && s->inlen < sizeof(s->in);
	default:
		return false;
	}
}

static void
session_update_io(struct session *s)
{
	int ev = 0;

	if (s->state == SS_CLOSING) {
		if (session_flush(s) == -1 || s->outlen == 0) {
			session_close(s);
			return;
		}
		ev = EV_WRITE;
	} else if (s->state == SS_HANDSHAKE) {
		ev = s->hs_want != 0 ? s->hs_want : EV_READ;
	} else {
		if (session_flush(s) == -1) {
			session_close(s);
			return;
		}
		if (s->outlen > 0)
			ev |= EV_WRITE;
		if (session_wants_input(s))
			ev |= EV_READ;
		/*
		 * Waiting for the queue manager, reading stays registered: the client usually
		 * waits for our reply, and dropping and re-adding interest would cost two
		 * epoll_ctl calls per message. Input that does arrive early is left unread
		 * (session_io turns reading off then).
		 */
		if ((s->state == SS_WAIT_CREATE || s->state == SS_WAIT_COMMIT) && ev == 0 &&
		    s->io.active)
			ev = s->io.events;
	}
	if (ev_io_set(s->d->loop, &s->io, ev) == -1) {
		session_close(s);
		return;
	}
	/*
	 * RFC 5321 §4.5.3.2.7: the timer runs from the last complete command (or, in DATA,
	 * the last data), so a client trickling a byte at a time cannot hold the session.
	 */
	if (s->state == SS_WAIT_COMMIT || s->state == SS_WAIT_CREATE)
		ev_timer_stop(s->d->loop, &s->timer);
	else if (s->progress || !s->timer.active) {
		s->progress = false;
		session_arm_timer(s);
	}
}

static void
session_io(struct ev_io *io, int events, void *arg)
{
	struct session *s = arg;

	(void)io;
	(void)events;
	if (s->state == SS_HANDSHAKE) {
		session_handshake(s);
		session_update_io(s);
		return;
	}
	if (s->state == SS_CLOSING) {
		session_update_io(s);
		return;
	}
	if ((s->state == SS_WAIT_CREATE || s->state == SS_WAIT_COMMIT) && s->outlen == 0) {
		/* Input while we wait for the queue manager: leave it until we can act on it. */
		(void)ev_io_set(s->d->loop, &s->io, 0);
		return;
	}
	if (session_wants_input(s)) {
		size_t before = s->inlen;

		if (session_read(s) == -1 && s->inlen == before) {
			if (s->state == SS_DATA || s->state == SS_BDAT)
				log_info("lost connection after DATA from %s", s->peer_str);
			session_close(s);
			return;
		}
		if (s->state == SS_GREET_PAUSE && s->inlen > 0) {
			log_warnx("%s: talked before the greeting", s->peer_str);
			ev_timer_stop(s->d->loop, &s->timer);
			ev_timer_init(&s->timer, session_timeout, s);
			reply(s, "554 5.5.0 %s Protocol error: talking before the greeting",
			    s->d->conf->hostname);
			s->state = SS_CLOSING;
			session_update_io(s);
			return;
		}
	}
	session_process(s);
	/*
	 * OpenSSL may hold decrypted input that did not fit our buffer; epoll will not
	 * tell us about it, so take it now that processing made room.
	 */
	while (
	    s->tls && s->state != SS_CLOSING && SSL_pending(s->ssl) > 0 && session_wants_input(s)) {
		size_t before = s->inlen;

		if (session_read(s) == -1 || s->inlen == before)
			break;
		session_process(s);
	}
	session_update_io(s);
}

static void
session_close(struct session *s)
{
	struct smtpd *d = s->d;

	log_info("disconnect from %s", s->peer_str);
	ev_io_stop(d->loop, &s->io);
	ev_timer_stop(d->loop, &s->timer);
	if (s->ssl != NULL) {
		(void)SSL_shutdown(s->ssl);
		SSL_free(s->ssl);
	}
	close(s->fd);
	txn_reset(s);
	txn_release_file(s);
	RB_REMOVE(sessions, &d->sessions, s);
	d->nsessions--;
	free(s->out);
	explicit_bzero(s->in, sizeof(s->in));
	free(s);
}

static void
greet_timer(struct ev_timer *t, void *arg)
{
	struct session *s = arg;

	(void)t;
	if (s->state != SS_GREET_PAUSE)
		return;
	/* A client that spoke early was caught in session_io; this one waited. */
	ev_timer_init(&s->timer, session_timeout, s);
	session_greet(s);
	session_update_io(s);
}

static unsigned
clients_from(struct smtpd *d, const struct net_addr *a)
{
	struct session *s;
	unsigned n = 0;
	char h[NET_ADDR_STRLEN];

	/* Each session keeps its address as text: compare with that, no formatting per session. */
	net_addr_host(a, h, sizeof(h));
	RB_FOREACH(s, sessions, &d->sessions)
	if (strcmp(s->peer_host, h) == 0)
		n++;
	return n;
}

/* Has the client sent anything before our greeting? (Without greet_pause, the check
 * that costs nothing: bytes already waiting when we accept.) */
static bool
early_talker(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static void
accept_cb(struct ev_io *io, int events, void *arg)
{
	struct smtpd_listener *sl = arg;
	struct smtpd *d = sl->d;
	struct session *s;
	struct net_addr peer;
	int fd;

	(void)io;
	(void)events;
	for (int i = 0; i < 64; i++) {
		peer.len = sizeof(peer.ss);
		fd = accept4(sl->l->fd, (struct sockaddr *)&peer.ss, &peer.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		if (d->nsessions >= d->conf->max_connections ||
		    clients_from(d, &peer) >= d->conf->max_per_client) {
			static const char busy[] = "421 4.7.0 Too many connections, try later\r\n";

			(void)!write(fd, busy, sizeof(busy) - 1);
			close(fd);
			continue;
		}
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			close(fd);
			continue;
		}
		s->d = d;
		s->id = ++d->next_id;
		s->fd = fd;
		s->qfd = -1;
		s->kind = sl->l->kind;
		s->peer = peer;
		net_addr_str(&peer, s->peer_str, sizeof(s->peer_str));
		net_addr_host(&peer, s->peer_host, sizeof(s->peer_host));
		ev_io_init(&s->io, fd, session_io, s);
		ev_timer_init(&s->timer, session_timeout, s);
		RB_INSERT(sessions, &d->sessions, s);
		d->nsessions++;
		log_info("connect from %s", s->peer_str);
		if (s->kind == MXD_L_SUBMISSIONS) {
			start_tls(s); /* RFC 8314 §3.3: TLS first, then the greeting */
		} else if (s->kind == MXD_L_MX && d->conf->greet_pause > 0) {
			struct ev_timer *gt = &s->timer;

			s->state = SS_GREET_PAUSE;
			if (ev_io_set(d->loop, &s->io, EV_READ) == -1) {
				session_close(s);
				continue;
			}
			/* The session timer doubles as the pause; the greeting re-arms it. */
			ev_timer_init(gt, greet_timer, s);
			ev_timer_start(d->loop, gt, (uint64_t)d->conf->greet_pause * 1000);
			continue;
		} else if (s->kind == MXD_L_MX && early_talker(fd)) {
			/* Talking before we have even greeted: a bot that does not listen. */
			log_warnx("%s: talked before the greeting", s->peer_str);
			reply(s, "554 5.5.0 %s Protocol error: talking before the greeting",
			    d->conf->hostname);
			s->state = SS_CLOSING;
		} else
			session_greet(s);
		session_update_io(s);
	}
}

/* Replies from the queue manager. */
static void
qmgr_msg(void *arg, struct ipc_msg *m)
{
	struct smtpd *d = arg;
	struct ipc_qid *q = (struct ipc_qid *)m->data;
	struct session key, *s;

	key.id = m->hdr.ref;
	s = RB_FIND(sessions, &d->sessions, &key);
	if (s == NULL) {
		/* The session is gone: give back what it asked for. */
		if (m->hdr.type == IPC_CREATED && m->fd != -1)
			(void)ipc_send(d->qsock, IPC_ABORT, 0, q, sizeof(*q), -1);
		if (m->fd != -1)
			close(m->fd);
		return;
	}
	q->id[sizeof(q->id) - 1] = '\0';
	if (m->hdr.type == IPC_CREATED && s->create_pending) {
		s->create_pending = false;
		if (q->err != 0 || m->fd == -1 || !queue_id_valid(q->id) || s->qfd != -1) {
			if (m->fd != -1) {
				close(m->fd);
				(void)ipc_send(d->qsock, IPC_ABORT, s->id, q, sizeof(*q), -1);
			}
			if (s->state == SS_WAIT_CREATE)
				txn_no_file(s, "451 4.3.0 Queue file unavailable");
		} else {
			s->qfd = m->fd;
			strlcpy(s->qid, q->id, sizeof(s->qid));
			if (s->state == SS_WAIT_CREATE)
				txn_begin_body(s);
		}
	} else if (m->hdr.type == IPC_COMMITTED && s->state == SS_WAIT_COMMIT) {
		if (q->err == 0) {
			/* Postfix's pair of lines: pflogsumm counts "client=" as received. */
			log_info("%s: client=unknown[%s]", s->qid, s->peer_host);
			log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", s->qid,
			    s->env.from, (unsigned long long)s->qw->data_octets, s->env.nrcpt);
			reply(s, "250 2.0.0 Ok: queued as %s", s->qid);
		} else {
			errno = q->err;
			log_warn("%s: commit failed", s->qid);
			reply(s, "451 4.3.0 Error: queue file write error");
		}
		txn_reset(s);
		s->qid[0] = '\0';
		s->state = SS_CMD;
	} else {
		if (m->fd != -1)
			close(m->fd);
		fatalx("queue manager: unexpected message %u", m->hdr.type);
	}
	session_process(s);
	session_update_io(s);
}

static void
qsock_cb(struct ev_io *io, int events, void *arg)
{
	struct smtpd *d = arg;

	(void)io;
	(void)events;
	if (ipc_drain(d->qsock, d->msg, qmgr_msg, d) != 0)
		fatalx("queue manager went away");
}

static void
smtpd_signal(int signo, void *arg)
{
	struct smtpd *d = arg;

	(void)signo;
	/* SIGTERM: stop accepting; sessions in the middle of a commit are not waited for
	 * beyond the loop break — what was acknowledged is already durable. */
	d->stopping = true;
	ev_break(d->loop);
}

int
smtpd_main(struct mxd *mxd, int qsock)
{
	struct smtpd d;
	char err[512];

	memset(&d, 0, sizeof(d));
	d.mxd = mxd;
	d.conf = &mxd->conf;
	d.qsock = qsock;
	RB_INIT(&d.sessions);
	log_init("mxd/smtpd", false);
	if (d.conf->tls_cert[0] != '\0') {
		d.tls = tls_server_ctx(d.conf->tls_cert, d.conf->tls_key, err, sizeof(err));
		if (d.tls == NULL)
			fatalx("%s: %s", d.conf->tls_cert, err);
	}
	if (d.conf->users[0] != '\0') {
		d.users = conf_users_load(d.conf->users, err, sizeof(err));
		if (d.users == NULL)
			fatalx("%s", err);
	}
	mxd_drop_privileges(mxd, mxd->root ? MXD_EMPTY_DIR : NULL);
	d.loop = ev_loop_new();
	d.msg = malloc(sizeof(*d.msg));
	if (d.loop == NULL || d.msg == NULL)
		fatal("event loop");
	for (size_t i = 0; i < mxd->nlisten; i++) {
		d.lis[i].d = &d;
		d.lis[i].l = &mxd->listen[i];
		ev_io_init(&d.lis[i].io, mxd->listen[i].fd, accept_cb, &d.lis[i]);
		if (ev_io_set(d.loop, &d.lis[i].io, EV_READ) == -1)
			fatal("listen");
	}
	ev_io_init(&d.qio, qsock, qsock_cb, &d);
	if (ev_io_set(d.loop, &d.qio, EV_READ) == -1 ||
	    ev_signal(d.loop, SIGTERM, smtpd_signal, &d) == -1 ||
	    ev_signal(d.loop, SIGINT, smtpd_signal, &d) == -1)
		fatal("event setup");
	signal(SIGPIPE, SIG_IGN);
	if (ev_run(d.loop) == -1)
		fatal("event loop");
	return 0;
}
