/*
 * control — the queue manager's admin socket, SPOOL/control (unix stream, mode 0666),
 * spoken by mxctl(8) and `sendmail -bp`. One request per connection: a line "COMMAND
 * [ARG]" (at most CTL_LINE_MAX octets, within CTL_TIMEOUT_MS), then the answer — lines of
 * TAB-separated fields, the first "OK" or "ERR reason" — and the server closes.
 *
 * Who may do what is decided from SO_PEERCRED, never from anything the client says:
 * queue and status are for everyone (as Postfix's mailq is); show (the headers: the
 * message's content), flush, delete, hold and release only for root and the mail user.
 * Other users get at most CTL_CONN_UID connections each, and CTL_CONN_ADMIN slots are kept
 * for the admins, so no user can crowd them out. Every field written is stripped of TAB,
 * CR, LF and other control octets, so no queue content can forge a line or a field.
 * Connections are bounded (CTL_CONN_MAX), and so is each answer (built in memory once,
 * written without blocking the queue manager).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mxd/qmgr.h"
#include "util/clock.h"
#include "util/log.h"

#define CTL_LINE_MAX    512
#define CTL_CONN_MAX    16
#define CTL_CONN_ADMIN  4 /* slots only root and the mail user may take */
#define CTL_CONN_UID    2 /* connections at once per other user */
#define CTL_TIMEOUT_MS  10000
#define CTL_REQUEST_MS  2000 /* for the request line */
#define CTL_HEADERS_MAX 200

struct ctl_conn {
	struct qmgr *q;
	int fd;
	uid_t uid;
	struct ev_io io;
	struct ev_timer timer;
	char line[CTL_LINE_MAX + 1];
	size_t len;
	char *out; /* the answer, from open_memstream */
	size_t outlen, off;
};

static unsigned ctl_nconn;
static struct ctl_conn *ctl_conns[CTL_CONN_MAX]; /* who is connected, for the limits */

static bool
ctl_room(uid_t uid)
{
	unsigned same = 0;

	if (uid == 0 || uid == geteuid())
		return ctl_nconn < CTL_CONN_MAX;
	for (size_t i = 0; i < CTL_CONN_MAX; i++)
		if (ctl_conns[i] != NULL && ctl_conns[i]->uid == uid)
			same++;
	return ctl_nconn < CTL_CONN_MAX - CTL_CONN_ADMIN && same < CTL_CONN_UID;
}

static void
ctl_close(struct ctl_conn *c)
{
	for (size_t i = 0; i < CTL_CONN_MAX; i++)
		if (ctl_conns[i] == c)
			ctl_conns[i] = NULL;
	ev_io_stop(c->q->loop, &c->io);
	ev_timer_stop(c->q->loop, &c->timer);
	close(c->fd);
	free(c->out);
	free(c);
	ctl_nconn--;
}

/* One field: control octets (TAB, CR, LF included) become spaces. */
static void
ctl_field(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s, f);
}

static const char *
rcpt_state_str(uint8_t st)
{
	return st == RS_DONE ? "delivered" : st == RS_FAILED ? "failed" : "pending";
}

/* "M ..." and "R ..." lines of one message (the envelope is read from its file). */
static int
ctl_message(FILE *f, struct qmsg *m)
{
	struct queue_env env;

	memset(&env, 0, sizeof(env));
	if (!m->loaded || queue_file_read(m->fd, &env, NULL, NULL) != QUEUE_READ_OK ||
	    env.nrcpt != m->nrcpt) {
		queue_env_clear(&env);
		return -1;
	}
	fprintf(f, "M\t%s\t%llu\t%lld\t%s\t", m->id, (unsigned long long)env.size,
	    (long long)m->arrival,
	    m->held                ? "held"
		: m->next_try != 0 ? "deferred"
				   : "active");
	ctl_field(f, env.from);
	fprintf(f, "\t%u\t%lld\n", m->attempts, (long long)m->next_try);
	for (size_t i = 0; i < m->nrcpt; i++) {
		const struct rinfo *ri = m->info != NULL ? &m->info[i] : NULL;

		fputs("R\t", f);
		ctl_field(f, env.rcpt[i].addr);
		fprintf(f, "\t%s\t", rcpt_state_str(m->state[i]));
		ctl_field(f, ri != NULL ? ri->dsn : "");
		fputc('\t', f);
		ctl_field(f, ri != NULL ? ri->text : "");
		fputc('\n', f);
	}
	queue_env_clear(&env);
	return 0;
}

/* The header section, one "H" line per stored line. */
struct hdr_out {
	FILE *f;
	bool bol, done;
	unsigned lines;
};

static int
ctl_hdr_data(void *arg, const void *p, size_t n)
{
	struct hdr_out *h = arg;
	const char *s = p;

	for (size_t i = 0; i < n && !h->done; i++) {
		if (h->bol) {
			/* An empty line ends the header section (RFC 5322 §2.1). */
			if (s[i] == '\r' || s[i] == '\n' || h->lines >= CTL_HEADERS_MAX) {
				h->done = true;
				break;
			}
			fputs("H\t", h->f);
			h->bol = false;
			h->lines++;
		}
		if (s[i] == '\n') {
			fputc('\n', h->f);
			h->bol = true;
		} else if (s[i] != '\r') {
			fputc((unsigned char)s[i] < 0x20 || s[i] == 0x7f ? ' ' : s[i], h->f);
		}
	}
	return h->done ? -1 : 0; /* stop reading at the end of the header section */
}

static int
qmsg_arrival_cmp(const void *a, const void *b)
{
	const struct qmsg *x = *(const struct qmsg *const *)a;
	const struct qmsg *y = *(const struct qmsg *const *)b;

	if (x->arrival != y->arrival)
		return x->arrival < y->arrival ? -1 : 1;
	return strcmp(x->id, y->id);
}

static void
ctl_queue(struct qmgr *q, FILE *f)
{
	struct qmsg *m, **v;
	size_t n = 0, i = 0;

	RB_FOREACH(m, qmsgs, &q->msgs)
	if (m->committed)
		n++;
	v = calloc(n > 0 ? n : 1, sizeof(*v));
	if (v == NULL) {
		fputs("ERR out of memory\n", f);
		return;
	}
	RB_FOREACH(m, qmsgs, &q->msgs)
	if (m->committed)
		v[i++] = m;
	qsort(v, n, sizeof(*v), qmsg_arrival_cmp);
	fputs("OK\n", f);
	for (i = 0; i < n; i++)
		(void)ctl_message(f, v[i]);
	free(v);
}

static void
ctl_status(struct qmgr *q, FILE *f)
{
	struct qmsg *m;
	unsigned total = 0, active = 0, deferred = 0, held = 0;
	time_t oldest = 0, now = time(NULL);

	RB_FOREACH(m, qmsgs, &q->msgs)
	{
		if (!m->committed)
			continue;
		total++;
		if (m->held)
			held++;
		else if (m->next_try != 0)
			deferred++;
		else
			active++;
		if (oldest == 0 || m->arrival < oldest)
			oldest = m->arrival;
	}
	fprintf(f,
	    "OK\nS\tmessages\t%u\nS\tactive\t%u\nS\tdeferred\t%u\nS\theld\t%u\n"
	    "S\toldest_age\t%lld\n",
	    total, active, deferred, held,
	    (long long)(oldest != 0 && now > oldest ? now - oldest : 0));
	fprintf(f,
	    "S\treceived_1h\t%u\nS\tdelivered_1h\t%u\nS\tdeferred_1h\t%u\n"
	    "S\tbounced_1h\t%u\n",
	    qmgr_count_hour(q, QSTAT_RECEIVED), qmgr_count_hour(q, QSTAT_DELIVERED),
	    qmgr_count_hour(q, QSTAT_DEFERRED), qmgr_count_hour(q, QSTAT_BOUNCED));
}

/* Tries a message now: its next try becomes now. */
static bool
ctl_flush_one(struct qmgr *q, struct qmsg *m)
{
	if (!m->committed || m->held || m->deleted || m->inflight > 0 || m->next_try == 0)
		return false;
	m->next_try = 0;
	qmsg_start(q, m);
	return true;
}

static void
ctl_exec(struct ctl_conn *c, FILE *f)
{
	struct qmgr *q = c->q;
	struct qmsg *m = NULL;
	char *cmd = c->line, *arg;
	bool admin = c->uid == 0 || c->uid == geteuid();

	arg = strchr(cmd, ' ');
	if (arg != NULL)
		*arg++ = '\0';
	if (strcmp(cmd, "queue") == 0 && arg == NULL) {
		ctl_queue(q, f);
		return;
	}
	if (strcmp(cmd, "status") == 0 && arg == NULL) {
		ctl_status(q, f);
		return;
	}
	if (strcmp(cmd, "flush") == 0 && arg == NULL) {
		unsigned n = 0;

		if (!admin)
			goto perm;
		RB_FOREACH(m, qmsgs, &q->msgs)
		n += ctl_flush_one(q, m);
		fprintf(f, "OK\t%u\n", n);
		log_info("flush of the whole queue by uid %u: %u messages", (unsigned)c->uid, n);
		qmgr_dispatch(q);
		return;
	}
	if (arg == NULL || !queue_id_valid(arg)) {
		fputs("ERR usage: queue | status | show ID | flush [ID] | delete ID | hold ID | "
		      "release ID\n",
		    f);
		return;
	}
	if (strcmp(cmd, "show") != 0 && strcmp(cmd, "flush") != 0 && strcmp(cmd, "hold") != 0 &&
	    strcmp(cmd, "release") != 0 && strcmp(cmd, "delete") != 0) {
		fputs("ERR unknown command\n", f);
		return;
	}
	/* Every command on one message is an admin's: whether it exists is not told either. */
	if (!admin)
		goto perm;
	m = qmsg_find(q, arg);
	if (m == NULL || !m->committed || m->deleted) {
		fputs("ERR no such message\n", f);
		return;
	}
	if (strcmp(cmd, "show") == 0) {
		struct hdr_out h = {f, true, false, 0};
		struct queue_env env;

		if (!m->loaded) {
			fputs("ERR message not readable\n", f);
			return;
		}
		fputs("OK\n", f);
		(void)ctl_message(f, m);
		memset(&env, 0, sizeof(env));
		(void)queue_file_read(m->fd, &env, ctl_hdr_data, &h);
		queue_env_clear(&env); /* the recipients it read along the way */
		return;
	}
	if (strcmp(cmd, "flush") == 0) {
		fprintf(f, "OK\t%u\n", ctl_flush_one(q, m) ? 1 : 0);
	} else if (strcmp(cmd, "hold") == 0) {
		m->held = true;
		ev_timer_stop(q->loop, &m->retry);
		if (qmsg_save_state(q, m) == -1)
			log_warn("%s: saving state", m->id);
		fputs("OK\n", f);
	} else if (strcmp(cmd, "release") == 0) {
		m->held = false;
		m->next_try = 0;
		if (qmsg_save_state(q, m) == -1)
			log_warn("%s: saving state", m->id);
		qmsg_start(q, m);
		fputs("OK\n", f);
	} else if (strcmp(cmd, "delete") == 0) {
		m->deleted = true;
		fputs("OK\n", f);
	} else {
		fputs("ERR unknown command\n", f);
		return;
	}
	log_info("%s: %s by uid %u", m->id, cmd, (unsigned)c->uid);
	/* A deleted message goes now, or when its deliveries in progress are back. */
	if (m->deleted && m->inflight == 0)
		qmsg_remove(q, m);
	qmgr_dispatch(q);
	return;
perm:
	fputs("ERR permission denied\n", f);
}

static void ctl_io_cb(struct ev_io *, int, void *);

static void
ctl_answer(struct ctl_conn *c)
{
	FILE *f = open_memstream(&c->out, &c->outlen);

	if (f == NULL) {
		ctl_close(c);
		return;
	}
	ctl_exec(c, f);
	if (fclose(f) != 0) {
		ctl_close(c);
		return;
	}
	if (ev_io_set(c->q->loop, &c->io, EV_WRITE) == -1)
		ctl_close(c);
}

static void
ctl_io_cb(struct ev_io *io, int events, void *arg)
{
	struct ctl_conn *c = arg;
	ssize_t r;
	char *nl;

	(void)io;
	if (c->out != NULL) {
		if ((events & EV_WRITE) == 0)
			return;
		r = send(c->fd, c->out + c->off, c->outlen - c->off, MSG_NOSIGNAL);
		if (r > 0)
			c->off += (size_t)r;
		if ((r < 0 && errno != EAGAIN && errno != EINTR) || c->off == c->outlen)
			ctl_close(c);
		return;
	}
	r = recv(c->fd, c->line + c->len, CTL_LINE_MAX - c->len, 0);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		ctl_close(c);
		return;
	}
	c->len += (size_t)r;
	c->line[c->len] = '\0';
	nl = memchr(c->line, '\n', c->len);
	if (nl == NULL) {
		if (c->len == CTL_LINE_MAX)
			ctl_close(c); /* no command is that long */
		return;
	}
	*nl = '\0';
	if (nl > c->line && nl[-1] == '\r')
		nl[-1] = '\0';
	/* The request is in: the answer gets the longer time to be read. */
	ev_timer_start(c->q->loop, &c->timer, CTL_TIMEOUT_MS);
	ctl_answer(c);
}

static void
ctl_timeout(struct ev_timer *t, void *arg)
{
	(void)t;
	ctl_close(arg);
}

static void
ctl_accept(struct ev_io *io, int events, void *arg)
{
	struct qmgr *q = arg;
	struct ctl_conn *c;
	struct ucred cr;
	socklen_t crlen = sizeof(cr);
	int fd;

	(void)io;
	(void)events;
	while ((fd = accept4(q->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &crlen) == -1 ||
		    !ctl_room(cr.uid) || (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		ctl_nconn++;
		for (size_t i = 0; i < CTL_CONN_MAX; i++)
			if (ctl_conns[i] == NULL) {
				ctl_conns[i] = c;
				break;
			}
		c->q = q;
		c->fd = fd;
		c->uid = cr.uid;
		ev_io_init(&c->io, fd, ctl_io_cb, c);
		ev_timer_init(&c->timer, ctl_timeout, c);
		ev_timer_start(q->loop, &c->timer, CTL_REQUEST_MS);
		if (ev_io_set(q->loop, &c->io, EV_READ) == -1)
			ctl_close(c);
	}
}

void
ctl_init(struct qmgr *q)
{
	struct sockaddr_un sun;
	int n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	n = snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/control", q->conf->spool);
	q->ctl_fd = -1;
	if (n < 0 || (size_t)n >= sizeof(sun.sun_path)) {
		log_warnx("%s/control: path too long; no control socket", q->conf->spool);
		return;
	}
	(void)unlinkat(q->spooldir, "control", 0);
	q->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->ctl_fd == -1 || bind(q->ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    fchmodat(q->spooldir, "control", 0666, 0) == -1 || listen(q->ctl_fd, 16) == -1) {
		log_warn("%s: control socket", sun.sun_path);
		if (q->ctl_fd != -1)
			close(q->ctl_fd);
		q->ctl_fd = -1;
		return;
	}
	ev_io_init(&q->ctl_io, q->ctl_fd, ctl_accept, q);
	if (ev_io_set(q->loop, &q->ctl_io, EV_READ) == -1)
		fatal("event setup");
}
