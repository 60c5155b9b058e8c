/*
 * mxd — the parent process: reads the configuration, creates the spool, binds the
 * listening sockets, forks the three workers and supervises them (DESIGN.md §1).
 *
 *   mxd [-c FILE] [-t]
 *
 * Without -c it runs a built-in demonstration configuration on loopback ports with a
 * spool and mailboxes under /tmp (that is what `make run` starts). -t checks the
 * configuration and exits: 0 when good, 78 (EX_CONFIG) with "FILE:LINE: reason" when not.
 *
 * The parent keeps root (when started as root) only to bind and create directories; it
 * never reads network input. If any worker dies, the parent stops the others and exits
 * non-zero: a half-running mail server is worse than a stopped one. SIGTERM/SIGINT stop
 * smtpd first (no new messages), then the queue manager (which finishes its commits),
 * then the delivery agent.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <bsd/string.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "mxd/mxd.h"
#include "util/log.h"

enum { W_LOCAL, W_QMGR, W_SMTPD, W_N };
static const char *const worker_names[W_N] = {"local", "queue", "smtpd"};

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr, "usage: mxd [-t] [-c file]\n");
	exit(EX_USAGE);
}

void
mxd_drop_privileges(const struct mxd *mxd, const char *chroot_dir)
{
	if (!mxd->root)
		return;
	if (chroot_dir != NULL && (chroot(chroot_dir) == -1 || chdir("/") == -1))
		fatal("chroot %s", chroot_dir);
	if (setgroups(1, &mxd->gid) == -1 || setresgid(mxd->gid, mxd->gid, mxd->gid) == -1 ||
	    setresuid(mxd->uid, mxd->uid, mxd->uid) == -1)
		fatal("dropping privileges");
	if (setuid(0) != -1)
		fatalx("could regain root after dropping privileges");
}

/* The built-in configuration of `make run`: loopback only, everything under /tmp. */
static int
demo_conf(struct mxd *mxd, char *err, size_t errlen)
{
	char text[2048], base[256];
	int n;

	(void)snprintf(base, sizeof(base), "/tmp/mxd-demo-%u", (unsigned)getuid());
	/* Traversable, so the demo user (nobody, under root) reaches its spool below. */
	if (mkdir(base, 0711) == -1 && errno != EEXIST) {
		(void)snprintf(err, errlen, "%s: %s", base, strerror(errno));
		return -1;
	}
	n = snprintf(text, sizeof(text),
	    "# mxd built-in demonstration configuration\n"
	    "hostname = mxd.localhost\n"
	    "listen = 127.0.0.1:2525\n"
	    "spool = %s/spool\n"
	    "mailbox_root = %s/mail\n"
	    "local_domains = localhost, mxd.localhost, example.test\n"
	    "relay_networks = 127.0.0.0/8, ::1/128\n"
	    "user = %s\n",
	    base, base,
	    /* As root the demo drops to nobody; otherwise it runs as the invoking user. */
	    getuid() == 0            ? "nobody"
		: getpwuid(getuid()) ? getpwuid(getuid())->pw_name
				     : "nobody");
	if (n < 0 || (size_t)n >= sizeof(text)) {
		(void)snprintf(err, errlen, "demo configuration too long");
		return -1;
	}
	return conf_load_text(&mxd->conf, "(built-in)", text, (size_t)n, err, errlen);
}

/* Creates dir (mode) if missing and gives it to the mail user. */
static void
make_dir(const struct mxd *mxd, const char *path, mode_t mode)
{
	struct stat st;
	int fd;

	if (mkdir(path, mode) == -1 && errno != EEXIST)
		fatal("mkdir %s", path);
	/*
	 * Through a descriptor, never the name again: the spool belongs to the mail user, who
	 * could swap a name for a symbolic link between a check and a chown by path.
	 */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1 || fstat(fd, &st) == -1)
		fatal("%s: not a directory", path);
	if (mxd->root && fchown(fd, mxd->uid, mxd->gid) == -1)
		fatal("chown %s", path);
	/* The mode exactly, whatever the umask was (maildrop needs its sticky bit). */
	if ((st.st_mode & 07777) != mode && fchmod(fd, mode) == -1)
		fatal("chmod %s", path);
	close(fd);
}

static void
make_dirs(const struct mxd *mxd)
{
	const struct conf *c = &mxd->conf;
	char p[1100];

	/* Traversable, not listable: others reach only control and maildrop/. */
	make_dir(mxd, c->spool, 0711);
	(void)snprintf(p, sizeof(p), "%s/maildrop", c->spool);
	make_dir(mxd, p, 01733);
	(void)snprintf(p, sizeof(p), "%s/tmp", c->spool);
	make_dir(mxd, p, 0700);
	(void)snprintf(p, sizeof(p), "%s/queue", c->spool);
	make_dir(mxd, p, 0700);
	(void)snprintf(p, sizeof(p), "%s/corrupt", c->spool);
	make_dir(mxd, p, 0700);
	if (c->lmtp[0] == '\0')
		make_dir(mxd, c->mailbox_root, 0700);
	if (mxd->root) {
		/* smtpd's chroot: empty and root-owned, so it cannot be written through. */
		if (mkdir("/var/empty", 0755) == -1 && errno != EEXIST)
			fatal("mkdir /var/empty");
		if (mkdir(MXD_EMPTY_DIR, 0755) == -1 && errno != EEXIST)
			fatal("mkdir %s", MXD_EMPTY_DIR);
	}
}

static void
bind_one(struct mxd *mxd, const struct net_addr *a, enum mxd_listen_kind kind)
{
	struct mxd_listener *l = &mxd->listen[mxd->nlisten];
	char s[NET_ADDR_STRLEN];
	int on = 1;

	l->fd = socket(net_addr_family(a), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1)
		fatal("socket");
	(void)setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (net_addr_family(a) == AF_INET6)
		(void)setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(l->fd, (const struct sockaddr *)&a->ss, a->len) == -1)
		fatal("bind %s", net_addr_str(a, s, sizeof(s)));
	if (listen(l->fd, 511) == -1)
		fatal("listen %s", net_addr_str(a, s, sizeof(s)));
	l->kind = kind;
	l->addr = *a;
	mxd->nlisten++;
	log_info("listening on %s (%s)", net_addr_str(a, s, sizeof(s)),
	    kind == MXD_L_MX               ? "smtp"
		: kind == MXD_L_SUBMISSION ? "submission"
					   : "submissions");
}

static void
bind_all(struct mxd *mxd)
{
	const struct conf *c = &mxd->conf;

	for (size_t i = 0; i < c->nlisten; i++)
		bind_one(mxd, &c->listen[i], MXD_L_MX);
	for (size_t i = 0; i < c->nsubmission; i++)
		bind_one(mxd, &c->submission[i], MXD_L_SUBMISSION);
	for (size_t i = 0; i < c->nsubmissions; i++)
		bind_one(mxd, &c->submissions[i], MXD_L_SUBMISSIONS);
}

/*
 * systemd's readiness protocol (sd_notify(3), Type=notify) without libsystemd: one
 * datagram to the socket named by $NOTIFY_SOCKET ('@' for the abstract namespace).
 */
static void
sd_notify_msg(const char *msg)
{
	struct sockaddr_un sun;
	const char *path = getenv("NOTIFY_SOCKET");
	size_t len;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    (len = strlen(path)) >= sizeof(sun.sun_path))
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun,
		(socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) == -1)
		log_warn("sd_notify %s", msg);
	close(fd);
}

void
mxd_worker_signals(void (*handler)(int), sigset_t *waitmask)
{
	struct sigaction sa;
	sigset_t block;

	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler; /* no SA_RESTART: ppoll returns EINTR */
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	sigemptyset(waitmask);
	for (int sig = 0; sig < 3; sig++) {
		int s = sig == 0 ? SIGTERM : sig == 1 ? SIGINT : SIGHUP;

		(void)sigaction(s, &sa, NULL);
		sigaddset(&block, s);
	}
	(void)sigprocmask(SIG_BLOCK, &block, NULL);
}

int
mxd_worker_next(
    int qsock, struct ipc_msg *m, const struct timespec *timeout, const sigset_t *waitmask)
{
	struct pollfd pfd = {qsock, POLLIN, 0};
	struct ipc_deliver *d;
	int r;

	r = ppoll(&pfd, 1, timeout, waitmask);
	if (r == -1 && errno != EINTR)
		fatal("poll");
	if (r <= 0)
		return 0;
	r = ipc_recv(qsock, m);
	if (r == -1 && errno == EAGAIN)
		return 0;
	if (r <= 0)
		return -1;
	if (m->hdr.type != IPC_DELIVER || m->fd == -1) {
		if (m->fd != -1)
			close(m->fd);
		fatalx("queue manager: unexpected message");
	}
	d = (struct ipc_deliver *)(void *)m->data;
	d->domain[sizeof(d->domain) - 1] = '\0';
	return 1;
}

static pid_t
spawn(struct mxd *mxd, int w, int a, int b, const int *closefds, size_t nclose)
{
	pid_t pid;
	int rc = 0;

	pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid > 0)
		return pid;
	/* A worker never outlives the parent; it starts with the parent's signals unblocked. */
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	{
		sigset_t none;

		sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
	}
	for (size_t i = 0; i < nclose; i++)
		if (closefds[i] != -1)
			close(closefds[i]);
	signal(SIGHUP, SIG_IGN);
	switch (w) {
	case W_LOCAL:
		for (size_t i = 0; i < mxd->nlisten; i++)
			close(mxd->listen[i].fd);
		rc = local_main(mxd, a);
		break;
	case W_QMGR:
		for (size_t i = 0; i < mxd->nlisten; i++)
			close(mxd->listen[i].fd);
		rc = qmgr_main(mxd, a, b);
		break;
	case W_SMTPD:
		rc = smtpd_main(mxd, a);
		break;
	}
	_exit(rc);
}

static void
stop_workers(pid_t *pids)
{
	/* smtpd first: no new commits; then the queue manager; then local delivery. */
	for (int w = W_N - 1; w >= 0; w--) {
		if (pids[w] <= 0)
			continue;
		(void)kill(pids[w], SIGTERM);
		(void)waitpid(pids[w], NULL, 0);
		pids[w] = 0;
	}
}

int
main(int argc, char *argv[])
{
	static struct mxd mxd;
	struct passwd *pw;
	char err[1024];
	const char *path = NULL;
	bool check = false;
	int ch, sq[2], ql[2], rc = 0, sig;
	pid_t pids[W_N], pid;
	sigset_t set;

	log_init("mxd", false);
	while ((ch = getopt(argc, argv, "c:ht")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			check = true;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	conf_defaults(&mxd.conf);
	if ((path != NULL ? conf_load(&mxd.conf, path, err, sizeof(err))
			  : demo_conf(&mxd, err, sizeof(err))) == -1) {
		fprintf(stderr, "%s\n", err);
		return EX_CONFIG;
	}
	if (check) {
		printf("%s: configuration ok\n", path ? path : "(built-in)");
		return 0;
	}
	if (log_open(mxd.conf.log) == -1) {
		fprintf(stderr, "mxd: log %s: %s\n", mxd.conf.log, strerror(errno));
		return EX_CANTCREAT;
	}
	mxd.conf_path = path;
	mxd.root = geteuid() == 0;
	if (mxd.root) {
		pw = getpwnam(mxd.conf.user);
		if (pw == NULL) {
			fprintf(stderr, "mxd: user %s does not exist\n", mxd.conf.user);
			return EX_NOUSER;
		}
		if (pw->pw_uid == 0) {
			fprintf(stderr, "mxd: user %s is root; choose an unprivileged one\n",
			    mxd.conf.user);
			return EX_CONFIG;
		}
		mxd.uid = pw->pw_uid;
		mxd.gid = pw->pw_gid;
	} else {
		log_info("not started as root: every process runs as the invoking user "
			 "(no privilege separation, no chroot)");
		mxd.uid = getuid();
		mxd.gid = getgid();
	}
	make_dirs(&mxd);
	bind_all(&mxd);
	if (path == NULL)
		log_info("built-in demo configuration; try: swaks --server 127.0.0.1:2525 "
			 "--to you@example.test  (mail lands in %s/example.test/you/new/)",
		    mxd.conf.mailbox_root);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sq) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ql) == -1)
		fatal("socketpair");
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	{
		int c_local[] = {sq[0], sq[1], ql[0]};
		int c_qmgr[] = {sq[0], ql[1]};
		int c_smtpd[] = {sq[1], ql[0], ql[1]};

		pids[W_LOCAL] = spawn(&mxd, W_LOCAL, ql[1], -1, c_local, 3);
		pids[W_QMGR] = spawn(&mxd, W_QMGR, sq[1], ql[0], c_qmgr, 2);
		pids[W_SMTPD] = spawn(&mxd, W_SMTPD, sq[0], -1, c_smtpd, 3);
	}
	close(sq[0]);
	close(sq[1]);
	close(ql[0]);
	close(ql[1]);
	for (size_t i = 0; i < mxd.nlisten; i++)
		close(mxd.listen[i].fd);
	log_info("started (smtpd %d, queue %d, local %d)", (int)pids[W_SMTPD], (int)pids[W_QMGR],
	    (int)pids[W_LOCAL]);
	sd_notify_msg("READY=1");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: log reopened, aliases reloaded");
			(void)log_open(mxd.conf.log);
			if (pids[W_LOCAL] > 0)
				(void)kill(pids[W_LOCAL], SIGHUP);
			continue;
		}
		if (sig == SIGCHLD) {
			int st;

			while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
				for (int w = 0; w < W_N; w++)
					if (pids[w] == pid) {
						log_warnx("%s process %d exited (%s %d); stopping",
						    worker_names[w], (int)pid,
						    WIFSIGNALED(st) ? "signal" : "status",
						    WIFSIGNALED(st) ? WTERMSIG(st)
								    : WEXITSTATUS(st));
						pids[w] = 0;
						rc = 1;
					}
			if (rc != 0)
				break;
			continue;
		}
		log_info("signal %d: stopping", sig);
		break;
	}
	sd_notify_msg("STOPPING=1");
	stop_workers(pids);
	log_info("stopped");
	return rc;
}
