/*
 * t_queue_drop — the maildrop writer and what goes with it, in a temp spool under /tmp:
 * a drop file as sendmail writes it (maildrop/NAME, 0644, reads back whole with the
 * envelope and body given) and as the local agent writes it (QUEUE_DROP_OWNER: 0600, its
 * temporary file in tmp/); nothing left behind by an abort, a write error (RLIMIT_FSIZE)
 * or a missing directory, which is NOCREATE; the signal mask restored; pickup's envelope
 * rules; the Delivered-To scanner on a table of header sections, whole and one octet at
 * a time.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "queue/queue.h"
#include "tap.h"

static char tmpdir[] = "/tmp/t_queue_drop.XXXXXX";
static char spool[300];

/* Entries of spool/SUB, dot files included. */
static int
count(const char *sub)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/%s", spool, sub);
	return tap_dir_entries(p);
}

static void
mk_env(struct queue_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->from, sizeof(e->from), "sender@example.org");
	e->body = SMTP_BODY_8BITMIME;
	e->ret = SMTP_RET_HDRS;
	snprintf(e->envid, sizeof(e->envid), "env-1");
	if (queue_env_add_rcpt(e, "a@example.net", SMTP_NOTIFY_FAILURE, "rfc822;x@example.test") ==
		-1 ||
	    queue_env_add_rcpt(e, "b@example.net", 0, NULL) == -1)
		tap_bail("add_rcpt");
}

struct body {
	char buf[4096];
	size_t len;
};

static int
body_data(void *arg, const void *p, size_t n)
{
	struct body *b = arg;

	if (n > sizeof(b->buf) - b->len)
		return -1;
	memcpy(b->buf + b->len, p, n);
	b->len += n;
	return 0;
}

/* Reads spool/maildrop/NAME back; checks it is the file we meant. */
static void
check_file(const char *name, mode_t mode, const char *msg, const char *what)
{
	char p[400];
	struct queue_env e;
	struct body b;
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "%s/maildrop/%s", spool, name);
	fd = open(p, O_RDONLY);
	ok(fd != -1, "%s: maildrop/%s is there", what, name);
	if (fd == -1)
		return;
	ok(fstat(fd, &st) == 0 && (st.st_mode & 07777) == mode && st.st_nlink == 1,
	    "%s: mode %o, one link", what, (unsigned)mode);
	b.len = 0;
	is_int(queue_file_read(fd, &e, body_data, &b), QUEUE_READ_OK, "%s: reads back OK", what);
	is_str(e.id, name, "%s: the envelope's ID is NAME", what);
	is_str(e.from, "sender@example.org", "%s: sender", what);
	ok(e.body == SMTP_BODY_8BITMIME && e.ret == SMTP_RET_HDRS && strcmp(e.envid, "env-1") == 0,
	    "%s: BODY, RET, ENVID", what);
	ok(e.nrcpt == 2 && strcmp(e.rcpt[0].addr, "a@example.net") == 0 &&
		e.rcpt[0].notify == SMTP_NOTIFY_FAILURE &&
		strcmp(e.rcpt[0].orcpt, "rfc822;x@example.test") == 0 &&
		strcmp(e.rcpt[1].addr, "b@example.net") == 0 && e.rcpt[1].orcpt[0] == '\0',
	    "%s: recipients with NOTIFY and ORCPT", what);
	ok(b.len == strlen(msg) && memcmp(b.buf, msg, b.len) == 0, "%s: the message", what);
	queue_env_clear(&e);
	close(fd);
	(void)unlink(p);
}

static bool
term_blocked(void)
{
	sigset_t cur;

	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, SIGTERM) == 1;
}

static void
t_write(void)
{
	static const char msg[] = "Subject: t\r\n\r\nbody\r\n";
	struct queue_env e;
	struct queue_drop *d;
	enum queue_drop_res r;
	char name[QUEUE_ID_LEN + 1], err[512];

	/* sendmail's way. */
	mk_env(&e);
	r = queue_drop(spool, 0, &e, msg, strlen(msg), name, err, sizeof(err));
	is_int(r, QUEUE_DROP_OK, "sendmail: queue_drop OK");
	ok(queue_id_valid(name), "sendmail: NAME is 16 hex digits (%s)", name);
	is_int(count("maildrop"), 1, "sendmail: one file in maildrop/, no .tmp left");
	check_file(name, 0644, msg, "sendmail");
	ok(!term_blocked(), "sendmail: the signal mask is restored");
	queue_env_clear(&e);

	/* The local agent's way, streamed in pieces. */
	mk_env(&e);
	d = queue_drop_open(spool, QUEUE_DROP_OWNER, &e, name, &r, err, sizeof(err));
	ok(d != NULL && r == QUEUE_DROP_OK, "owner: open");
	if (d == NULL)
		tap_bail(err);
	ok(term_blocked(), "owner: SIGTERM blocked while the file is written");
	is_int(count("tmp"), 1, "owner: the temporary file is in tmp/");
	is_int(count("maildrop"), 0, "owner: nothing in maildrop/ yet");
	queue_drop_data(d, msg, 5);
	queue_drop_data(d, msg + 5, strlen(msg) - 5);
	is_int(queue_drop_commit(d, err, sizeof(err)), QUEUE_DROP_OK, "owner: commit");
	is_int(count("tmp"), 0, "owner: tmp/ is empty again");
	check_file(name, 0600, msg, "owner");
	ok(!term_blocked(), "owner: the signal mask is restored");

	/* Abort: nothing anywhere. */
	d = queue_drop_open(spool, QUEUE_DROP_OWNER, &e, name, &r, err, sizeof(err));
	queue_drop_data(d, msg, strlen(msg));
	queue_drop_abort(d);
	ok(count("tmp") == 0 && count("maildrop") == 0, "abort: nothing left behind");
	d = queue_drop_open(spool, 0, &e, name, &r, err, sizeof(err));
	queue_drop_abort(d);
	is_int(count("maildrop"), 0, "abort (sendmail): no .tmp left");
	queue_drop_abort(NULL);
	ok(!term_blocked(), "abort: the signal mask is restored");
	queue_env_clear(&e);

	/* QUEUE_DROP_RAW: the caller writes the whole queue file on the fd (as a DSN is). */
	{
		struct queue_w w;
		struct queue_env e2;

		d = queue_drop_open(
		    spool, QUEUE_DROP_OWNER | QUEUE_DROP_RAW, NULL, name, &r, err, sizeof(err));
		ok(d != NULL && r == QUEUE_DROP_OK, "raw: open without an envelope");
		if (d == NULL)
			tap_bail(err);
		is_int((int)lseek(queue_drop_fd(d), 0, SEEK_END), 0, "raw: nothing written for us");
		mk_env(&e2);
		strlcpy(e2.id, name, sizeof(e2.id));
		queue_w_init(&w, queue_drop_fd(d));
		queue_w_env(&w, &e2);
		queue_w_data(&w, msg, strlen(msg));
		is_int(queue_w_end(&w), 0, "raw: our own END record");
		is_int(queue_drop_commit(d, err, sizeof(err)), QUEUE_DROP_OK, "raw: commit");
		check_file(name, 0600, msg, "raw");
		queue_env_clear(&e2);
	}
}

static void
t_fail(void)
{
	static char big[200000];
	struct queue_env e;
	struct rlimit old, lim;
	enum queue_drop_res r;
	char name[QUEUE_ID_LEN + 1], err[512], p[400], lp[2000];

	mk_env(&e);
	/* A write error half way: the file is removed, FAIL with the errno. */
	memset(big, 'x', sizeof(big));
	signal(SIGXFSZ, SIG_IGN);
	getrlimit(RLIMIT_FSIZE, &old);
	lim = old;
	lim.rlim_cur = 100000;
	if (setrlimit(RLIMIT_FSIZE, &lim) == -1)
		tap_bail("setrlimit");
	for (int f = 0; f < 2; f++) {
		errno = 0;
		r = queue_drop(
		    spool, f ? QUEUE_DROP_OWNER : 0, &e, big, sizeof(big), name, err, sizeof(err));
		ok(r == QUEUE_DROP_FAIL && errno == EFBIG,
		    "%s: a write error is FAIL, errno "
		    "kept (%s)",
		    f ? "owner" : "sendmail", err);
		ok(count("tmp") == 0 && count("maildrop") == 0, "%s: nothing left behind",
		    f ? "owner" : "sendmail");
	}
	setrlimit(RLIMIT_FSIZE, &old);

	/* No directory: NOCREATE, as sendmail's EX_CANTCREAT needs. */
	snprintf(p, sizeof(p), "%s/maildrop", spool);
	rmdir(p);
	r = queue_drop(spool, 0, &e, "x\r\n", 3, name, err, sizeof(err));
	ok(r == QUEUE_DROP_NOCREATE && strstr(err, "mxd creates it") != NULL,
	    "no maildrop/: NOCREATE (%s)", err);
	snprintf(p, sizeof(p), "%s/tmp", spool);
	rmdir(p);
	r = queue_drop(spool, QUEUE_DROP_OWNER, &e, "x\r\n", 3, name, err, sizeof(err));
	is_int(r, QUEUE_DROP_NOCREATE, "owner, no tmp/: NOCREATE (%s)", err);
	memset(lp, 'a', sizeof(lp) - 1);
	lp[0] = '/';
	lp[sizeof(lp) - 1] = '\0';
	r = queue_drop(lp, 0, &e, "x\r\n", 3, name, err, sizeof(err));
	ok(r == QUEUE_DROP_NOCREATE && strstr(err, "too long") != NULL,
	    "a spool path too long: NOCREATE (%s)", err);
	ok(!term_blocked(), "the signal mask is restored after every failure");
	queue_env_clear(&e);
}

static void
t_rules(void)
{
	struct queue_env e;

	mk_env(&e);
	ok(queue_drop_env_bad(&e) == NULL, "rules: a plain envelope passes");
	e.from[0] = '\0';
	ok(queue_drop_env_bad(&e) == NULL, "rules: the null sender passes");
	snprintf(e.from, sizeof(e.from), "a b@example.org");
	is_str(queue_drop_env_bad(&e), "bad sender address", "rules: a sender with a space");
	snprintf(e.from, sizeof(e.from), "s@example.org");
	snprintf(e.envid, sizeof(e.envid), "a b");
	is_str(queue_drop_env_bad(&e), "bad ENVID", "rules: an ENVID with a space");
	e.envid[0] = '\0';
	snprintf(e.rcpt[1].orcpt, sizeof(e.rcpt[1].orcpt), "rfc822;a\rb@c");
	is_str(queue_drop_env_bad(&e), "bad ORCPT", "rules: an ORCPT with a CR");
	e.rcpt[1].orcpt[0] = '\0';
	snprintf(e.rcpt[1].addr, sizeof(e.rcpt[1].addr), "x@[1.2.3");
	is_str(queue_drop_env_bad(&e), "bad recipient address", "rules: a bad recipient");
	snprintf(e.rcpt[1].addr, sizeof(e.rcpt[1].addr), "postmaster");
	ok(queue_drop_env_bad(&e) == NULL, "rules: <postmaster> passes");
	snprintf(e.rcpt[1].addr, sizeof(e.rcpt[1].addr), "j\xc3\xb6rg@b\xc3\xbc.example");
	ok(queue_drop_env_bad(&e) == NULL, "rules: a UTF-8 recipient passes");
	ok(queue_drop_path_ok("a@example.net", SMTP_PATH_UTF8) &&
		!queue_drop_path_ok("a..b@example.net", SMTP_PATH_UTF8) &&
		!queue_drop_path_ok("", SMTP_PATH_UTF8) && queue_drop_path_ok("", SMTP_PATH_NULL),
	    "rules: path_ok as smtpd parses");
	ok(queue_drop_text_ok("rfc822;a@b") && !queue_drop_text_ok("a b") &&
		!queue_drop_text_ok("a\x7f"),
	    "rules: text_ok");
	queue_env_clear(&e);
}

static const struct {
	const char *msg;
	const char *addr;
	bool found;
	bool done;
	const char *what;
} dt_cases[] = {
    {"Delivered-To: a@b.example\r\n\r\nbody\r\n", "a@b.example", true, true, "plain"},
    {"delivered-to:A@B.Example\r\n\r\n", "a@b.example", true, true, "any case, no space"},
    {"Delivered-To: <a@b.example> \t\r\n\r\n", "a@b.example", true, true, "angle brackets"},
    {"Delivered-To:\r\n a@b.example\r\n\r\n", "a@b.example", true, true, "folded"},
    {"Subject: x\r\nDelivered-To: x@y.example\r\nDelivered-To: a@b.example\r\n"
     "To: z\r\n\r\n",
	"a@b.example", true, true, "the second of two"},
    {"Delivered-To: a@b.example\n\nbody\n", "a@b.example", true, true, "LF line ends"},
    {"Delivered-To: a@b.example", "a@b.example", true, false, "input ends in the field"},
    {"Delivered-To: a@b.exampl\r\n\r\n", "a@b.example", false, true, "a prefix"},
    {"Delivered-To: a@b.example.net\r\n\r\n", "a@b.example", false, true, "longer"},
    {"Delivered-To: xa@b.example\r\n\r\n", "a@b.example", false, true, "a suffix"},
    {"X-Delivered-To: a@b.example\r\n\r\n", "a@b.example", false, true, "another field"},
    {"Subject: Delivered-To: a@b.example\r\n\r\n", "a@b.example", false, true,
	"inside another field"},
    {"Subject: x\r\n Delivered-To: a@b.example\r\n\r\n", "a@b.example", false, true,
	"a continuation line"},
    {"Delivered\rTo: a@b.example\r\n\r\n", "a@b.example", false, true, "CR in the name"},
    {"Delivered-To : a@b.example\r\n\r\n", "a@b.example", false, true, "space before ':'"},
    {"Delivered-To: a@b.example, c@d\r\n\r\n", "a@b.example", false, true, "a list"},
    {"Delivered-To:\r\n\r\n", "a@b.example", false, true, "empty"},
    {"Subject: x\r\n\r\nDelivered-To: a@b.example\r\n", "a@b.example", false, true, "in the body"},
    {"\r\nDelivered-To: a@b.example\r\n", "a@b.example", false, true, "no header"},
};

static void
t_dt(void)
{
	static const char head[] = "Delivered-To: ", tail[] = "\r\nDelivered-To: a@b\r\n\r\n";
	struct queue_dt dt;
	char *big;
	size_t n, i, k;

	for (i = 0; i < sizeof(dt_cases) / sizeof(dt_cases[0]); i++) {
		n = strlen(dt_cases[i].msg);
		queue_dt_init(&dt, dt_cases[i].addr);
		queue_dt_feed(&dt, dt_cases[i].msg, n);
		ok(dt.done == dt_cases[i].done && queue_dt_found(&dt) == dt_cases[i].found,
		    "Delivered-To: %s: %s", dt_cases[i].what,
		    dt_cases[i].found ? "found" : "not found");
		queue_dt_init(&dt, dt_cases[i].addr);
		for (k = 0; k < n; k++)
			queue_dt_feed(&dt, dt_cases[i].msg + k, 1);
		ok(queue_dt_found(&dt) == dt_cases[i].found,
		    "Delivered-To: %s: the same one "
		    "octet at a time",
		    dt_cases[i].what);
	}
	/* A value far over the cap: skipped, nothing overruns, the next field still counts. */
	n = 100000;
	big = malloc(sizeof(head) + n + sizeof(tail));
	if (big == NULL)
		tap_bail("malloc");
	memcpy(big, head, sizeof(head) - 1);
	memset(big + sizeof(head) - 1, 'a', n);
	memcpy(big + sizeof(head) - 1 + n, tail, sizeof(tail));
	queue_dt_init(&dt, "a@b");
	queue_dt_feed(&dt, big, strlen(big));
	ok(dt.done && queue_dt_found(&dt), "Delivered-To: a 100,000-octet value is skipped");
	/* Blanks count towards the cap: a padded address is skipped too. */
	memset(big + sizeof(head) - 1, ' ', n);
	memcpy(big + sizeof(head) - 1 + n, "a@b\r\n\r\n", 8);
	queue_dt_init(&dt, "a@b");
	queue_dt_feed(&dt, big, strlen(big));
	ok(dt.done && !queue_dt_found(&dt),
	    "Delivered-To: an address after 100,000 blanks "
	    "is over the cap");
	free(big);
}

int
main(void)
{
	char p[400];

	if (mkdtemp(tmpdir) == NULL)
		tap_bail("mkdtemp");
	snprintf(spool, sizeof(spool), "%s/spool", tmpdir);
	snprintf(p, sizeof(p), "%s/maildrop", spool);
	if (mkdir(spool, 0711) == -1 || mkdir(p, 01733) == -1)
		tap_bail("mkdir maildrop");
	snprintf(p, sizeof(p), "%s/tmp", spool);
	if (mkdir(p, 0700) == -1)
		tap_bail("mkdir tmp");
	t_write();
	t_fail();
	t_rules();
	t_dt();
	tap_rmtree(tmpdir);
	return done_testing();
}
