/*
 * mxctl — the administrator's view of a running mxd: list the queue, show a message,
 * flush, hold, release or delete messages, and counters, over the daemon's control
 * socket SPOOL/control (protocol: notes/admin.md, mxctl(8)).
 *
 * One request per connection: "COMMAND [ARG]\n", then the daemon's answer until it
 * closes: a first line "OK [N]" or "ERR reason", then TAB-separated lines (M message,
 * R recipient, H header line, S counter). The daemon decides who may do what from the
 * socket's peer credentials (SO_PEERCRED): everyone may look, only root and the mxd user
 * may change the queue. This program needs and has no privilege of its own.
 *
 * The answer is untrusted input only in the sense that a daemon bug must not crash us:
 * lines are capped (LINE_MAX_ANSWER octets; longer is a protocol error), every field
 * count and number is checked, and every wait is bounded (TIMEOUT_MS per read). The
 * answer is streamed: the queue listing is printed one message at a time, however long
 * the queue is.
 *
 * Output: text for people (a table, or with -p the exact layout of Postfix's mailq, for
 * scripts written against it: sendmail -bp and mailq run `mxctl -p queue`), or with -j
 * JSON (util/json.h; strings that are not UTF-8 have their 8-bit octets replaced by '?').
 *
 * Exit codes (sysexits.h): EX_OK; EX_USAGE bad arguments; EX_CONFIG a bad config;
 * EX_UNAVAILABLE mxd is not running; EX_NOPERM "ERR permission denied"; EX_NOINPUT
 * "ERR no such message"; EX_SOFTWARE another ERR; EX_PROTOCOL a malformed answer;
 * EX_TEMPFAIL no answer in time; EX_OSERR out of memory.
 */
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "queue/queue.h"
#include "smtp/smtp.h"
#include "util/json.h"

#define LINE_MAX_ANSWER 65536
#define TIMEOUT_MS      30000
#define FIELDS_MAX      12

enum cmd { C_QUEUE, C_SHOW, C_FLUSH, C_DELETE, C_HOLD, C_RELEASE, C_STATUS };

static const struct {
	const char *name;
	enum cmd cmd;
	int minargs, maxargs;
} cmds[] = {
    {"queue", C_QUEUE, 0, 0},
    {"show", C_SHOW, 1, 1},
    {"flush", C_FLUSH, 0, 1},
    {"delete", C_DELETE, 1, 1},
    {"hold", C_HOLD, 1, 1},
    {"release", C_RELEASE, 1, 1},
    {"status", C_STATUS, 0, 0},
};

struct rcpt {
	char *addr, *state, *dsn, *text;
};

struct msg {
	char id[QUEUE_ID_LEN + 1];
	long long size, arrival, attempts, next;
	char state[16];
	char *from;
	struct rcpt *r;
	size_t nr, cap;
	char **hdr; /* show: the header lines */
	size_t nh, caph;
	bool used;
};

/* Reading the answer. */
struct conn {
	int fd;
	char buf[LINE_MAX_ANSWER + 1];
	size_t off, len;
	bool eof;
};

static bool jflag, pflag;
static time_t now;
static struct conn conn;

static void __attribute__((noreturn)) usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "mxctl: %s\n", why);
	fprintf(stderr,
	    "usage: mxctl [-jp] [-c file] queue | show id | flush [id] | "
	    "delete id | hold id | release id | status\n");
	exit(EX_USAGE);
}

static void __attribute__((noreturn, format(printf, 2, 3))) die(int code, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "mxctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		die(EX_OSERR, "out of memory");
	return p;
}

/* p (n used of *cap elements of size octets) with room for one more: doubled, or first. */
static void *
xgrow(void *p, size_t n, size_t *cap, size_t first, size_t size)
{
	size_t c;

	if (n < *cap)
		return p;
	c = *cap ? *cap * 2 : first;
	p = reallocarray(p, c, size);
	if (p == NULL)
		die(EX_OSERR, "out of memory");
	*cap = c;
	return p;
}

/* --- the connection ------------------------------------------------------------------ */

static void
ctl_connect(const char *spool)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/control", spool) >=
	    sizeof(sun.sun_path))
		die(EX_CONFIG, "%s/control: path too long for a socket", spool);
	conn.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (conn.fd == -1)
		die(EX_OSERR, "socket: %s", strerror(errno));
	if (connect(conn.fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EACCES || errno == EPERM)
			die(EX_NOPERM, "%s: %s", sun.sun_path, strerror(errno));
		die(EX_UNAVAILABLE, "mxd is not running (%s: %s)", sun.sun_path, strerror(errno));
	}
}

static void
ctl_send(const char *line)
{
	size_t off = 0, n = strlen(line);
	ssize_t w;

	while (off < n) {
		w = write(conn.fd, line + off, n - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			die(EX_UNAVAILABLE, "sending the request: %s", strerror(errno));
		off += (size_t)w;
	}
}

/* The next answer line (without LF, NUL-terminated, in conn.buf), or NULL at the end. */
static char *
ctl_line(void)
{
	struct pollfd pfd;
	char *nl, *line;
	ssize_t n;
	int r;

	for (;;) {
		nl = memchr(conn.buf + conn.off, '\n', conn.len - conn.off);
		if (nl != NULL) {
			*nl = '\0';
			line = conn.buf + conn.off;
			conn.off = (size_t)(nl - conn.buf) + 1;
			if (nl > line && nl[-1] == '\r')
				nl[-1] = '\0';
			return line;
		}
		if (conn.eof) {
			if (conn.off < conn.len)
				die(EX_PROTOCOL, "the answer ends inside a line");
			return NULL;
		}
		if (conn.off > 0) {
			memmove(conn.buf, conn.buf + conn.off, conn.len - conn.off);
			conn.len -= conn.off;
			conn.off = 0;
		}
		if (conn.len >= LINE_MAX_ANSWER)
			die(EX_PROTOCOL, "an answer line is longer than %d octets",
			    LINE_MAX_ANSWER);
		pfd.fd = conn.fd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, TIMEOUT_MS);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0)
			die(EX_TEMPFAIL, "no answer from mxd within %d seconds", TIMEOUT_MS / 1000);
		n = read(conn.fd, conn.buf + conn.len, LINE_MAX_ANSWER - conn.len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die(EX_PROTOCOL, "reading the answer: %s", strerror(errno));
		if (n == 0)
			conn.eof = true;
		conn.len += (size_t)n;
	}
}

/* Splits at TABs in place. Returns the number of fields (at most FIELDS_MAX). */
static int
split(char *line, char **f)
{
	int n = 0;

	f[n++] = line;
	for (; *line != '\0'; line++) {
		if (*line != '\t')
			continue;
		*line = '\0';
		if (n == FIELDS_MAX)
			return n + 1; /* too many: the caller's count check fails */
		f[n++] = line + 1;
	}
	return n;
}

static long long
num(const char *s, const char *what)
{
	const char *e = NULL;
	long long v = strtonum(s, 0, LLONG_MAX, &e);

	if (e != NULL)
		die(EX_PROTOCOL, "bad %s in the answer: \"%.40s\"", what, s);
	return v;
}

/* --- formatting ---------------------------------------------------------------------- */

/* A duration: "42s", "5m03s", "2h05m", "3d04h". */
static const char *
dur(long long s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%llds", s);
	else if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%lldd%02lldh", s / 86400, s % 86400 / 3600);
	return buf;
}

static const char *
stamp(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S %z", &tm);
	return buf;
}

/* JSON strings must be UTF-8: anything else has its 8-bit octets replaced. */
static void
jstr(struct json *j, const char *key, const char *s)
{
	char *c;
	size_t i;

	if (s == NULL || smtp_utf8_valid(s, strlen(s))) {
		json_str(j, key, s);
		return;
	}
	c = xstrdup(s);
	for (i = 0; c[i] != '\0'; i++)
		if ((unsigned char)c[i] >= 0x80)
			c[i] = '?';
	json_str(j, key, c);
	free(c);
}

/* "" as JSON null: the protocol's way of saying "none". */
static void
jstr_or_null(struct json *j, const char *key, const char *s)
{
	jstr(j, key, s[0] == '\0' ? NULL : s);
}

static void
msg_json(struct json *j, const struct msg *m, bool headers)
{
	size_t i;

	json_open(j, NULL, '{');
	json_str(j, "id", m->id);
	json_int(j, "size", m->size);
	json_int(j, "arrival", m->arrival);
	json_int(j, "age", now > m->arrival ? now - m->arrival : 0);
	json_str(j, "state", m->state);
	jstr(j, "from", m->from);
	json_int(j, "attempts", m->attempts);
	if (m->next == 0)
		json_str(j, "next", NULL);
	else
		json_int(j, "next", m->next);
	json_open(j, "recipients", '[');
	for (i = 0; i < m->nr; i++) {
		json_open(j, NULL, '{');
		jstr(j, "address", m->r[i].addr);
		json_str(j, "state", m->r[i].state);
		jstr_or_null(j, "dsn", m->r[i].dsn);
		jstr_or_null(j, "text", m->r[i].text);
		json_close(j, '}');
	}
	json_close(j, ']');
	if (headers) {
		json_open(j, "headers", '[');
		for (i = 0; i < m->nh; i++)
			jstr(j, NULL, m->hdr[i]);
		json_close(j, ']');
	}
	json_close(j, '}');
}

/*
 * The layout of Postfix's mailq (postqueue -p) in its long-queue-ID form, which fits our
 * 16-digit IDs: "ID*" (active) or "ID!" (held), size, arrival as asctime(3) prints it,
 * sender; then each recipient still to be delivered, after its last error when it has
 * one, right-aligned in parentheses as Postfix prints it; an empty line.
 */
#define PF_HEAD "%-17s %8s %-19s %s\n"

static void
msg_postfix(const struct msg *m)
{
	char id[QUEUE_ID_LEN + 2], date[32];
	const char *last = NULL;
	time_t t = (time_t)m->arrival;
	struct tm tm;
	size_t i, tl;

	snprintf(id, sizeof(id), "%s%s", m->id,
	    strcmp(m->state, "active") == 0     ? "*"
		: strcmp(m->state, "held") == 0 ? "!"
						: "");
	localtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm); /* asctime's */
	printf("%-17s %8lld %19.19s %s\n", id, m->size, date,
	    m->from[0] != '\0' ? m->from : "MAILER-DAEMON");
	for (i = 0; i < m->nr; i++) {
		if (strcmp(m->r[i].state, "pending") != 0)
			continue; /* mailq shows what is still to be delivered */
		if (m->r[i].text[0] != '\0' && (last == NULL || strcmp(last, m->r[i].text) != 0)) {
			tl = strlen(m->r[i].text);
			printf("%*s(%s)\n", tl < 76 ? (int)(76 - tl) : 0, "", m->r[i].text);
		}
		last = m->r[i].text;
		printf(PF_HEAD, "", "", "", m->r[i].addr);
	}
	printf("\n");
}

static void
msg_text(const struct msg *m)
{
	char age[32], next[32];
	size_t i;

	if (m->next == 0)
		strlcpy(next, "-", sizeof(next));
	else if (m->next <= now)
		strlcpy(next, "now", sizeof(next));
	else
		dur(m->next - now, next, sizeof(next));
	printf("%-16s  %-8s  %9lld  %6s  %5lld  %5s  %s\n", m->id, m->state, m->size,
	    dur(now - m->arrival, age, sizeof(age)), m->attempts, next,
	    m->from[0] != '\0' ? m->from : "<>");
	for (i = 0; i < m->nr; i++) {
		printf("    %-9s  %s", m->r[i].state, m->r[i].addr);
		if (m->r[i].dsn[0] != '\0' || m->r[i].text[0] != '\0')
			printf("  (%s%s%s)", m->r[i].dsn,
			    m->r[i].dsn[0] && m->r[i].text[0] ? " " : "", m->r[i].text);
		printf("\n");
	}
}

static void
msg_show_text(const struct msg *m)
{
	char a[64], b[64], d[32];
	size_t i;

	printf("id         %s\n", m->id);
	printf("state      %s\n", m->state);
	printf("size       %lld\n", m->size);
	printf("arrival    %s (age %s)\n", stamp(m->arrival, a, sizeof(a)),
	    dur(now - m->arrival, d, sizeof(d)));
	printf("attempts   %lld\n", m->attempts);
	if (m->next == 0)
		printf("next try   none\n");
	else
		printf("next try   %s (in %s)\n", stamp(m->next, b, sizeof(b)),
		    dur(m->next - now, d, sizeof(d)));
	printf("sender     <%s>\n", m->from);
	for (i = 0; i < m->nr; i++) {
		printf("recipient  <%s> %s", m->r[i].addr, m->r[i].state);
		if (m->r[i].dsn[0] != '\0' || m->r[i].text[0] != '\0')
			printf(" (%s%s%s)", m->r[i].dsn,
			    m->r[i].dsn[0] && m->r[i].text[0] ? " " : "", m->r[i].text);
		printf("\n");
	}
	printf("\n");
	for (i = 0; i < m->nh; i++)
		printf("%s\n", m->hdr[i]);
}

static void
msg_clear(struct msg *m)
{
	size_t i;

	for (i = 0; i < m->nr; i++) {
		free(m->r[i].addr);
		free(m->r[i].state);
		free(m->r[i].dsn);
		free(m->r[i].text);
	}
	for (i = 0; i < m->nh; i++)
		free(m->hdr[i]);
	free(m->r);
	free(m->hdr);
	free(m->from);
	memset(m, 0, sizeof(*m));
}

/* --- commands ------------------------------------------------------------------------ */

struct listing {
	struct json j;
	unsigned long n;
	long long bytes;
	bool show;
};

static void
emit(struct listing *l, struct msg *m)
{
	if (!m->used)
		return;
	if (jflag) {
		msg_json(&l->j, m, l->show);
	} else if (l->show) {
		msg_show_text(m);
	} else if (pflag) {
		if (l->n == 0)
			printf(PF_HEAD, "----Queue ID-----", "--Size--", "---Arrival Time----",
			    "--Sender/Recipient------");
		msg_postfix(m);
	} else {
		if (l->n == 0)
			printf("%-16s  %-8s  %9s  %6s  %5s  %5s  %s\n", "ID", "STATE", "SIZE",
			    "AGE", "TRIES", "NEXT", "SENDER / RECIPIENTS");
		msg_text(m);
	}
	l->n++;
	l->bytes += m->size;
	msg_clear(m);
}

/* queue and show: M, R and H lines. */
static int
do_listing(bool show)
{
	struct listing l;
	struct msg m;
	char *line, *f[FIELDS_MAX + 1];
	int nf;

	memset(&l, 0, sizeof(l));
	memset(&m, 0, sizeof(m));
	l.show = show;
	if (jflag) {
		json_init(&l.j, stdout);
		if (!show)
			json_open(&l.j, NULL, '[');
	}
	while ((line = ctl_line()) != NULL) {
		nf = split(line, f);
		if (strcmp(f[0], "M") == 0) {
			if (nf != 8 || !queue_id_valid(f[1]))
				die(EX_PROTOCOL, "bad M line in the answer");
			emit(&l, &m);
			m.used = true;
			strlcpy(m.id, f[1], sizeof(m.id));
			m.size = num(f[2], "size");
			m.arrival = num(f[3], "arrival");
			strlcpy(m.state, f[4], sizeof(m.state));
			m.from = xstrdup(f[5]);
			m.attempts = num(f[6], "attempts");
			m.next = num(f[7], "next try");
		} else if (strcmp(f[0], "R") == 0) {
			if (nf != 5 || !m.used)
				die(EX_PROTOCOL, "bad R line in the answer");
			m.r = xgrow(m.r, m.nr, &m.cap, 4, sizeof(*m.r));
			m.r[m.nr].addr = xstrdup(f[1]);
			m.r[m.nr].state = xstrdup(f[2]);
			m.r[m.nr].dsn = xstrdup(f[3]);
			m.r[m.nr].text = xstrdup(f[4]);
			m.nr++;
		} else if (strcmp(f[0], "H") == 0) {
			if (nf < 2 || !m.used)
				die(EX_PROTOCOL, "bad H line in the answer");
			m.hdr = xgrow(m.hdr, m.nh, &m.caph, 16, sizeof(*m.hdr));
			/* A TAB in a header line would have been replaced; keep any rest. */
			for (int k = 2; k < nf && k < FIELDS_MAX; k++)
				f[k][-1] = ' ';
			m.hdr[m.nh++] = xstrdup(f[1]);
		}
		/* Other line types: from a newer mxd; ignored. */
	}
	emit(&l, &m);
	if (jflag) {
		if (!show)
			json_close(&l.j, ']');
		else if (l.n == 0)
			die(EX_PROTOCOL, "no message in the answer");
	} else if (!show) {
		if (pflag && l.n == 0)
			printf("Mail queue is empty\n");
		else if (pflag)
			printf("-- %lld Kbytes in %lu Request%s.\n", l.bytes / 1024, l.n,
			    l.n == 1 ? "" : "s");
		else if (l.n == 0)
			printf("Queue is empty\n");
		else
			printf("-- %lu message%s, %lld bytes\n", l.n, l.n == 1 ? "" : "s", l.bytes);
	}
	return EX_OK;
}

static int
do_status(void)
{
	struct json j;
	char *line, *f[FIELDS_MAX + 1];
	const char *e;
	long long v;

	if (jflag) {
		json_init(&j, stdout);
		json_open(&j, NULL, '{');
	}
	while ((line = ctl_line()) != NULL) {
		if (split(line, f) != 3 || strcmp(f[0], "S") != 0)
			continue;
		if (jflag) {
			e = NULL;
			v = strtonum(f[2], LLONG_MIN, LLONG_MAX, &e);
			if (e == NULL)
				json_int(&j, f[1], v);
			else
				jstr(&j, f[1], f[2]);
		} else {
			printf("%-14s %s\n", f[1], f[2]);
		}
	}
	if (jflag)
		json_close(&j, '}');
	return EX_OK;
}

static void
load_conf(struct conf *c, const char *given)
{
	char err[CONF_LINE_MAX + 256];
	const char *used;

	if (conf_load_client(c, given, &used, err, sizeof(err)) == -1)
		die(EX_CONFIG, "%s", err);
}

int
main(int argc, char **argv)
{
	static struct conf conf;
	const char *cpath = NULL, *arg = NULL;
	char req[64], *line, *rest;
	size_t i;
	int ch, nargs;
	enum cmd cmd;
	struct json j;

	while ((ch = getopt(argc, argv, "+c:hjp")) != -1) {
		switch (ch) {
		case 'c':
			cpath = optarg;
			break;
		case 'j':
			jflag = true;
			break;
		case 'p':
			pflag = true;
			break;
		default:
			usage(NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage("no command");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		usage("unknown command");
	cmd = cmds[i].cmd;
	nargs = argc - 1;
	if (nargs < cmds[i].minargs || nargs > cmds[i].maxargs)
		usage(cmds[i].maxargs == 0 ? "this command takes no argument"
					   : "wrong number of arguments");
	if (nargs == 1) {
		arg = argv[1];
		if (!queue_id_valid(arg))
			usage("a queue ID is 16 lower-case hex digits");
	}
	signal(SIGPIPE, SIG_IGN);
	load_conf(&conf, cpath);
	now = time(NULL);

	snprintf(req, sizeof(req), "%s%s%s\n", cmds[i].name, arg ? " " : "", arg ? arg : "");
	ctl_connect(conf.spool);
	ctl_send(req);
	line = ctl_line();
	if (line == NULL)
		die(EX_PROTOCOL, "mxd closed the connection without an answer");
	/* "OK", "OK N", "ERR reason": the separator may be a space or a TAB. */
	if (strncmp(line, "ERR", 3) == 0 &&
	    (line[3] == '\0' || line[3] == ' ' || line[3] == '\t')) {
		rest = line[3] != '\0' ? line + 4 : line + 3;
		if (jflag) {
			json_init(&j, stdout);
			json_open(&j, NULL, '{');
			json_bool(&j, "ok", false);
			jstr(&j, "error", rest);
			json_close(&j, '}');
		}
		if (strcmp(rest, "permission denied") == 0)
			die(EX_NOPERM, "%s: permission denied (root or the mxd user only)",
			    cmds[i].name);
		if (strcmp(rest, "no such message") == 0)
			die(EX_NOINPUT, "%s: no such message", arg ? arg : "");
		die(EX_SOFTWARE, "%s: %s", cmds[i].name, rest);
	}
	if (strncmp(line, "OK", 2) != 0 || (line[2] != '\0' && line[2] != ' ' && line[2] != '\t'))
		die(EX_PROTOCOL, "unexpected answer \"%.60s\"", line);
	rest = line[2] != '\0' ? line + 3 : line + 2;

	switch (cmd) {
	case C_QUEUE:
		return do_listing(false);
	case C_SHOW:
		return do_listing(true);
	case C_STATUS:
		return do_status();
	case C_FLUSH: {
		long long n = rest[0] != '\0' ? num(rest, "count") : 0;

		if (jflag)
			printf("{\"ok\":true,\"flushed\":%lld}\n", n);
		else
			printf("%lld message%s scheduled for delivery now\n", n, n == 1 ? "" : "s");
		break;
	}
	case C_DELETE:
	case C_HOLD:
	case C_RELEASE:
		if (jflag)
			printf("{\"ok\":true}\n");
		else
			printf("%s: %s\n", arg,
			    cmd == C_DELETE     ? "deleted"
				: cmd == C_HOLD ? "held"
						: "released");
		break;
	}
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EX_IOERR, "writing the output: %s", strerror(errno));
	close(conn.fd);
	return EX_OK;
}
