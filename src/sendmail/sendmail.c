/*
 * sendmail — the sendmail(8) command line of mxd, so that cron, mail(1), PHP's mail(),
 * mutt and every other program that runs /usr/sbin/sendmail can send mail through it.
 *
 * Modes (the first -b option wins, as in sendmail; argv[0] "mailq" is -bp and
 * "newaliases" -bi):
 *   -bm  (default) read a message on stdin, complete its header section (sm_msg.c) and
 *        put it into mxd's maildrop (sm_drop.c), from where mxd queues and delivers it;
 *   -bs  an SMTP session on stdin/stdout (sm_smtp.c);
 *   -bp  list the queue: runs `mxctl -p queue` next to this program, as Postfix's
 *        sendmail runs postqueue(1);
 *   -bi  check the aliases file named in the config with the same parser mxd uses, then
 *        tell a running mxd to reload it (SIGHUP);
 *   -q   flush the queue (`mxctl flush`); -qINTERVAL is accepted and ignored (mxd runs
 *        its own queue).
 * Options are parsed as sendmail's getopt does: clustered letters ("-ti"), arguments
 * attached or separate ("-ffrom", "-f from"), "--" or the first non-option ends them;
 * what follows is the recipients. Old options with no meaning here are accepted and
 * ignored (-oXXX, -v, -m, -n, -L, -h, -O, -X, -A, -d, ...); an unknown letter is a usage
 * error.
 *
 * Trust: this program is never installed setuid or setgid. It reads the config as the
 * user, writes the maildrop as the user, and mxd records the user's uid from the file's
 * owner. Any user may set the envelope sender with -f, as with every sendmail; mxd logs
 * the uid beside it.
 *
 * Exit codes (sysexits.h): EX_OK; EX_USAGE bad options or no recipients; EX_DATAERR a
 * message or address we refuse; EX_NOINPUT a missing aliases file; EX_NOUSER no name for
 * the uid; EX_CANTCREAT the maildrop cannot be written; EX_TEMPFAIL a write failed;
 * EX_CONFIG a bad config; EX_UNAVAILABLE mxctl cannot be run.
 */
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "sendmail/sendmail.h"

#define HEADER_SLACK 8192 /* fields sm_msg_finish() may add beyond max_message_size */

enum sm_mode { M_DELIVER, M_SMTP, M_MAILQ, M_ALIASES, M_FLUSH, M_NOTHING };

struct sm_opts {
	enum sm_mode mode;
	bool mode_set;
	bool extract;         /* -t */
	bool ignore_dots;     /* -i, -oi */
	const char *from;     /* -f, -r */
	const char *fullname; /* -F */
	enum smtp_body body;  /* -B */
	unsigned notify;      /* -N */
	enum smtp_ret ret;    /* -R */
	const char *envid;    /* -V */
	const char *conf;     /* -C */
	char **rcpt;
	int nrcpt;
};

static const char *prog = "sendmail";

static void __attribute__((noreturn)) usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "%s: %s\n", prog, why);
	fprintf(stderr,
	    "usage: sendmail [-t] [-i] [-f sender] [-F name] [-B 8BITMIME|7BIT] "
	    "[-N dsn] [-R full|hdrs] [-V envid] [-C file] [--] [recipient ...]\n"
	    "       sendmail -bs | -bp | -bi | -q\n");
	exit(EX_USAGE);
}

static void __attribute__((noreturn, format(printf, 2, 3))) die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

/* RFC 3461 §4.1 NOTIFY: "never" or a comma list of success, failure, delay. */
static int
parse_notify(const char *s, unsigned *out)
{
	char buf[64], *p, *tok, *save = NULL;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -1;
	*out = 0;
	if (strcasecmp(buf, "never") == 0) {
		*out = SMTP_NOTIFY_NEVER;
		return 0;
	}
	for (p = buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		if (strcasecmp(tok, "success") == 0)
			*out |= SMTP_NOTIFY_SUCCESS;
		else if (strcasecmp(tok, "failure") == 0)
			*out |= SMTP_NOTIFY_FAILURE;
		else if (strcasecmp(tok, "delay") == 0)
			*out |= SMTP_NOTIFY_DELAY;
		else
			return -1;
	}
	return *out == 0 ? -1 : 0;
}

/* -bX: the mode letter(s). */
static void
set_mode(struct sm_opts *o, const char *m)
{
	enum sm_mode mode;

	if (strcmp(m, "m") == 0)
		mode = M_DELIVER;
	else if (strcmp(m, "s") == 0)
		mode = M_SMTP;
	else if (strcmp(m, "p") == 0)
		mode = M_MAILQ;
	else if (strcmp(m, "i") == 0)
		mode = M_ALIASES;
	else if (strchr("aDdHhPtv", m[0]) != NULL && m[0] != '\0' && m[1] == '\0') {
		char why[80];

		snprintf(why, sizeof(why), "-b%s is not supported by mxd's sendmail", m);
		usage(why);
	} else {
		usage("unknown mode after -b");
	}
	if (!o->mode_set) /* sendmail: the first -b counts */
		o->mode = mode;
	o->mode_set = true;
}

/* -oX...: old-style options. Only -oi means something to us. */
static void
set_oldopt(struct sm_opts *o, const char *v)
{
	if (strcmp(v, "i") == 0)
		o->ignore_dots = true;
	/* -oem -oep -oeq -oew (error mode), -odb -odi -odq (delivery mode), -oA, -oF, -om,
	   -o7, -o8, ...: accepted. mxd always queues and reports errors by DSN. */
}

static void
parse_args(int argc, char **argv, struct sm_opts *o)
{
	int i, j;
	char ch;
	const char *val;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == '\0')
			break;
		for (j = 1; a[j] != '\0'; j++) {
			ch = a[j];
			val = NULL;
			switch (ch) {
			case 't':
				o->extract = true;
				continue;
			case 'i':
				o->ignore_dots = true;
				continue;
			case 'I':
				set_mode(o, "i");
				continue;
			case 'c':
			case 'G':
			case 'm':
			case 'n':
			case 'U':
			case 'v':
			case 'x':
				continue; /* old flags: no meaning here */
			case 'q':
				/* -q: run the queue now; -qINTERVAL: sendmail's daemon option. */
				if (a[j + 1] == '\0' || strchr("RSI", a[j + 1]) != NULL) {
					if (!o->mode_set)
						o->mode = M_FLUSH;
				} else if (!o->mode_set) {
					o->mode = M_NOTHING;
				}
				o->mode_set = true;
				goto next_arg;
			case 'A':
			case 'd':
				goto next_arg; /* -Am/-Ac, -dX.Y: attached values, ignored */
			case 'o':
				if (a[j + 1] != '\0')
					set_oldopt(o, a + j + 1);
				else if (i + 1 < argc)
					set_oldopt(o, argv[++i]);
				else
					usage("-o needs a value");
				goto next_arg;
			case 'B':
			case 'b':
			case 'C':
			case 'e':
			case 'F':
			case 'f':
			case 'h':
			case 'L':
			case 'N':
			case 'O':
			case 'p':
			case 'R':
			case 'r':
			case 'V':
			case 'X':
				if (a[j + 1] != '\0')
					val = a + j + 1;
				else if (i + 1 < argc)
					val = argv[++i];
				else {
					char why[48];

					snprintf(why, sizeof(why), "option -%c needs a value", ch);
					usage(why);
				}
				break;
			default: {
				char why[48];

				snprintf(why, sizeof(why), "unknown option -%c", ch);
				usage(why);
			}
			}
			switch (ch) {
			case 'B':
				if (strcasecmp(val, "8BITMIME") == 0)
					o->body = SMTP_BODY_8BITMIME;
				else if (strcasecmp(val, "7BIT") == 0)
					o->body = SMTP_BODY_7BIT;
				else
					usage("-B takes 8BITMIME or 7BIT");
				break;
			case 'b':
				set_mode(o, val);
				break;
			case 'C':
				o->conf = val;
				break;
			case 'F':
				o->fullname = val;
				break;
			case 'f':
			case 'r':
				o->from = val;
				break;
			case 'N':
				if (parse_notify(val, &o->notify) == -1)
					usage(
					    "-N takes never, or a list of success, failure, delay");
				break;
			case 'R':
				if (strcasecmp(val, "full") == 0)
					o->ret = SMTP_RET_FULL;
				else if (strcasecmp(val, "hdrs") == 0)
					o->ret = SMTP_RET_HDRS;
				else
					usage("-R takes full or hdrs");
				break;
			case 'V': {
				size_t k, n = strlen(val);

				/* RFC 3461 §4.4: at most 100 characters; printable ASCII here. */
				for (k = 0; k < n; k++)
					if (val[k] < 0x21 || val[k] > 0x7e)
						break;
				if (n == 0 || n > 100 || k < n)
					usage("-V takes an envelope ID of 1 to 100 printable "
					      "ASCII characters");
				o->envid = val;
				break;
			}
			default: /* e h L O p X: values with no meaning here */
				break;
			}
			goto next_arg;
		}
	next_arg:
		continue;
	}
	o->rcpt = argv + i;
	o->nrcpt = argc - i;
}

static void
load_conf(struct sm_ctx *ctx, const char *given)
{
	char err[CONF_LINE_MAX + 256];

	if (conf_load_client(&ctx->conf, given, &ctx->conf_path, err, sizeof(err)) == -1)
		die(EX_CONFIG, "%s", err);
}

/* Who is calling: login name and full name (-F, then $NAME, then the GECOS field). */
static void
who(struct sm_ctx *ctx, const struct sm_opts *o)
{
	struct passwd *pw;
	const char *name;

	ctx->uid = getuid();
	pw = getpwuid(ctx->uid);
	if (pw == NULL)
		die(EX_NOUSER, "no user name for uid %lu", (unsigned long)ctx->uid);
	if (strlcpy(ctx->login, pw->pw_name, sizeof(ctx->login)) >= sizeof(ctx->login))
		die(EX_NOUSER, "user name too long");
	name = o->fullname;
	if (name == NULL)
		name = getenv("NAME");
	if (name == NULL && pw->pw_gecos != NULL) {
		strlcpy(ctx->fullname, pw->pw_gecos, sizeof(ctx->fullname));
		ctx->fullname[strcspn(ctx->fullname, ",")] = '\0'; /* "Name,room,phone" */
		return;
	}
	if (name != NULL)
		strlcpy(ctx->fullname, name, sizeof(ctx->fullname));
}

/* Runs mxctl from this program's own directory (build/ or PREFIX/sbin). */
static void __attribute__((noreturn))
run_mxctl(const struct sm_ctx *ctx, bool postfix_format, const char *cmd)
{
	char self[PATH_MAX], path[PATH_MAX + 8];
	const char *av[8];
	ssize_t n;
	char *slash;
	int k = 0;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		die(EX_UNAVAILABLE, "cannot find my own directory: %s", strerror(errno));
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash == NULL)
		die(EX_UNAVAILABLE, "cannot find my own directory");
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/mxctl", self);
	av[k++] = "mxctl";
	if (postfix_format)
		av[k++] = "-p";
	if (ctx->conf_path != NULL) {
		av[k++] = "-c";
		av[k++] = ctx->conf_path;
	}
	av[k++] = cmd;
	av[k] = NULL;
	execv(path, (char *const *)(uintptr_t)av);
	die(EX_UNAVAILABLE, "cannot run %s: %s", path, strerror(errno));
}

/* /proc/PID/stat: comm and parent. 0, or -1. */
static int
proc_stat(pid_t pid, char *comm, size_t commlen, pid_t *ppid)
{
	char path[64], buf[512], *l, *r;
	FILE *f;
	size_t n;
	long long pp;
	const char *e = NULL;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	l = strchr(buf, '(');
	r = strrchr(buf, ')');
	if (l == NULL || r == NULL || r < l || r[1] != ' ' || r[2] == '\0' || r[3] != ' ')
		return -1;
	*r = '\0';
	strlcpy(comm, l + 1, commlen);
	l = r + 4; /* past ") S " */
	r = strchr(l, ' ');
	if (r == NULL)
		return -1;
	*r = '\0';
	pp = strtonum(l, 0, INT_MAX, &e);
	if (e != NULL)
		return -1;
	*ppid = (pid_t)pp;
	return 0;
}

/*
 * The pid of mxd's parent process: the peer of its control socket (SO_PEERCRED gives the
 * process that listens on it), then up the process tree while the parent has the same
 * name. -1 when mxd is not running or cannot be identified.
 */
static pid_t
mxd_pid(const char *spool)
{
	struct sockaddr_un sun;
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	char comm[64], pcomm[64];
	pid_t pid, ppid;
	int fd, i;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/control", spool) >=
	    sizeof(sun.sun_path))
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == -1) {
		close(fd);
		return -1;
	}
	/* A well-formed request so the daemon does not log a protocol error. */
	if (write(fd, "status\n", 7) != 7) {
		/* Nothing to do: the peer's identity is what we came for. */
	}
	close(fd);
	pid = uc.pid;
	if (proc_stat(pid, comm, sizeof(comm), &ppid) == -1 || strncmp(comm, "mxd", 3) != 0)
		return -1;
	for (i = 0; i < 8; i++) {
		pid_t pp;

		if (ppid <= 1 || proc_stat(ppid, pcomm, sizeof(pcomm), &pp) == -1 ||
		    strcmp(pcomm, comm) != 0)
			break;
		pid = ppid;
		ppid = pp;
	}
	return pid;
}

/* -bi, newaliases. */
static int
newaliases(struct sm_ctx *ctx)
{
	struct alias_map *m;
	char err[SM_ERR_MAX + 1100];
	struct stat st;
	pid_t pid;

	if (ctx->conf.aliases[0] == '\0') {
		printf("%s: no aliases file is configured (the aliases key of %s)\n", prog,
		    ctx->conf_path ? ctx->conf_path : CONF_DEFAULT_PATH);
		return EX_OK;
	}
	if (stat(ctx->conf.aliases, &st) == -1)
		die(errno == ENOENT ? EX_NOINPUT : EX_IOERR, "%s: %s", ctx->conf.aliases,
		    strerror(errno));
	m = alias_load(ctx->conf.aliases, err, sizeof(err));
	if (m == NULL)
		die(EX_DATAERR, "%s", err);
	alias_free(m);
	printf("%s: %s: OK\n", prog, ctx->conf.aliases);
	pid = mxd_pid(ctx->conf.spool);
	if (pid == -1) {
		printf("%s: mxd is not running; it reads %s when it starts\n", prog,
		    ctx->conf.aliases);
		return EX_OK;
	}
	if (kill(pid, SIGHUP) == -1) {
		fprintf(stderr,
		    "%s: cannot tell mxd (pid %ld) to reload: %s; run "
		    "\"systemctl reload mxd\" or \"kill -HUP %ld\" as root\n",
		    prog, (long)pid, strerror(errno), (long)pid);
		return errno == EPERM ? EX_NOPERM : EX_OSERR;
	}
	printf("%s: mxd (pid %ld) reloads the aliases (SIGHUP sent)\n", prog, (long)pid);
	return EX_OK;
}

/* Adds the recipients of one command-line argument ("a@b, Name <c@d>"). */
struct cl_arg {
	struct sm_ctx *ctx;
	struct queue_env *env;
	unsigned notify;
};

static int
cl_one(void *arg, const char *addr, char *err, size_t errlen)
{
	struct cl_arg *c = arg;
	char a[SMTP_ADDR_MAX + 1];
	bool utf8;

	if (sm_addr_envelope(addr, c->ctx->conf.hostname, false, a, &utf8, err, errlen) == -1)
		return -1;
	if (utf8)
		c->env->smtputf8 = true;
	return sm_env_add(c->env, a, c->notify, c->ctx->conf.max_recipients, err, errlen);
}

static int
deliver(struct sm_ctx *ctx, const struct sm_opts *o)
{
	struct queue_env env;
	struct sm_finish f;
	struct sm_buf raw, msg;
	struct cl_arg cl = {ctx, &env, o->notify};
	char err[SM_ERR_MAX], name[QUEUE_ID_LEN + 1];
	bool utf8;
	int i, rc;

	if (o->nrcpt == 0 && !o->extract)
		usage("no recipients: name them on the command line, or use -t to take them "
		      "from the message");
	memset(&env, 0, sizeof(env));
	if (o->from != NULL) {
		if (sm_addr_envelope(o->from, ctx->conf.hostname, true, env.from, &utf8, err,
			sizeof(err)) == -1) {
			char why[SM_ERR_MAX + 16];

			snprintf(why, sizeof(why), "-f: %s", err);
			usage(why);
		}
	} else if (sm_addr_envelope(ctx->login, ctx->conf.hostname, false, env.from, &utf8, err,
		       sizeof(err)) == -1) {
		die(EX_NOUSER, "cannot make a sender address from the user name: %s", err);
	}
	env.smtputf8 = utf8;
	strlcpy(ctx->from, env.from, sizeof(ctx->from));
	env.ret = o->ret;
	if (o->envid != NULL)
		strlcpy(env.envid, o->envid, sizeof(env.envid));
	for (i = 0; i < o->nrcpt; i++) {
		if (sm_addr_list(o->rcpt[i], strlen(o->rcpt[i]), cl_one, &cl, err, sizeof(err)) ==
		    -1)
			die(EX_DATAERR, "recipient \"%.200s\": %s", o->rcpt[i], err);
	}

	sm_buf_init(&raw, (size_t)ctx->conf.max_message_size);
	rc = sm_msg_read(STDIN_FILENO, o->ignore_dots, (size_t)ctx->conf.max_message_size, &raw,
	    err, sizeof(err));
	if (rc != EX_OK)
		die(rc, "%s", err);
	sm_buf_init(&msg, (size_t)ctx->conf.max_message_size + HEADER_SLACK);
	memset(&f, 0, sizeof(f));
	f.ctx = ctx;
	f.extract = o->extract;
	f.strip_bcc = true;
	f.unix_from = true;
	f.env = &env;
	f.notify = o->notify;
	rc = sm_msg_finish(&f, raw.p, raw.len, &msg, err, sizeof(err));
	if (rc != EX_OK)
		die(rc, "%s", err);
	sm_buf_free(&raw);
	if (env.nrcpt == 0)
		die(EX_DATAERR,
		    "no recipients: -t found no To:, Cc: or Bcc: address in the "
		    "message");
	/* RFC 6152: 8-bit octets need BODY=8BITMIME, whatever -B said. */
	env.body = sm_msg_8bit(msg.p, msg.len) ? SMTP_BODY_8BITMIME : o->body;
	rc = sm_drop(ctx->conf.spool, &env, msg.p, msg.len, name, err, sizeof(err));
	if (rc != EX_OK)
		die(rc, "%s", err);
	sm_buf_free(&msg);
	queue_env_clear(&env);
	return EX_OK;
}

int
main(int argc, char **argv)
{
	static struct sm_ctx ctx;
	struct sm_opts o;
	const char *base;

	base = argc > 0 && argv[0] != NULL ? argv[0] : "sendmail";
	if (strrchr(base, '/') != NULL)
		base = strrchr(base, '/') + 1;
	memset(&o, 0, sizeof(o));
	if (strcmp(base, "mailq") == 0) {
		prog = "mailq";
		o.mode = M_MAILQ;
		o.mode_set = true;
	} else if (strcmp(base, "newaliases") == 0) {
		prog = "newaliases";
		o.mode = M_ALIASES;
		o.mode_set = true;
	}
	ctx.prog = prog;
	signal(SIGPIPE, SIG_IGN);
	parse_args(argc, argv, &o);
	load_conf(&ctx, o.conf);

	switch (o.mode) {
	case M_MAILQ:
		run_mxctl(&ctx, true, "queue");
	case M_FLUSH:
		run_mxctl(&ctx, false, "flush");
	case M_NOTHING:
		return EX_OK; /* -qINTERVAL: mxd schedules its own queue runs */
	case M_ALIASES:
		return newaliases(&ctx);
	case M_SMTP:
		if (o.nrcpt > 0)
			usage("-bs takes no recipients");
		who(&ctx, &o);
		return sm_smtp(&ctx);
	case M_DELIVER:
		break;
	}
	who(&ctx, &o);
	return deliver(&ctx, &o);
}
