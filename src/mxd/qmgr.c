/*
 * qmgr — the queue manager: owns the spool. It creates queue files for smtpd (passing
 * the descriptor), commits them, recovers the queue at start, and hands local recipients
 * to the delivery agent (local.c), keeping per-recipient state until every recipient is
 * final. docs/queue.md is the state machine this file implements.
 *
 * Group commit: smtpd's COMMIT requests are collected during one round of the event loop
 * and made durable together — every file renamed into queue/, then one syncfs(2) for the
 * spool's file system — before any of them is answered. While that sync runs, smtpd keeps
 * serving sessions in its own process, so commits arriving meanwhile form the next batch.
 * Each message is acknowledged only after its own data and name are durable; a crash
 * before the sync can leave a renamed file whose data is incomplete, which recovery sees
 * (no valid END record) and moves to corrupt/ — it was never acknowledged.
 *
 * Outbound delivery (remote recipients) is issue 4: until then they stay queued.
 */
#include <sys/stat.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "mxd/mxd.h"
#include "queue/queue.h"
#include "util/event.h"
#include "util/log.h"
#include "util/net.h"

enum rcpt_state { RS_PENDING, RS_DONE, RS_FAILED, RS_REMOTE };

/* A message in the queue, committed or being written. */
struct qmsg {
	RB_ENTRY(qmsg)		 node;
	TAILQ_ENTRY(qmsg)	 work;		/* commit batch or delivery FIFO */
	char			 id[QUEUE_ID_LEN + 1];
	int			 fd;		/* O_RDWR, ours */
	uint64_t		 ref;		/* smtpd session while uncommitted */
	bool			 committed;
	bool			 queued;	/* on a work list */
	bool			 redelivery;	/* recovered: check mailboxes for duplicates */
	size_t			 nrcpt;
	uint8_t			*state;		/* enum rcpt_state per recipient */
	unsigned		 attempts;
	struct ev_timer		 retry;
};

static int
qmsg_cmp(const struct qmsg *a, const struct qmsg *b)
{
	return strcmp(a->id, b->id);
}
RB_HEAD(qmsgs, qmsg);
RB_PROTOTYPE(qmsgs, qmsg, node, qmsg_cmp)
RB_GENERATE(qmsgs, qmsg, node, qmsg_cmp)
TAILQ_HEAD(qlist, qmsg);

/*
 * A reply to smtpd that did not fit its socket yet. The queue manager never blocks
 * sending to smtpd: smtpd may itself be blocked sending to us, and two processes each
 * waiting for the other to read would stop all mail.
 */
struct qreply {
	STAILQ_ENTRY(qreply)	 entry;
	uint32_t		 type;
	uint64_t		 ref;
	struct ipc_qid		 qid;
	int			 fd;	/* owned until sent, or -1 */
};
STAILQ_HEAD(qreplies, qreply);

struct qmgr {
	struct mxd	*mxd;
	struct conf	*conf;
	struct ev_loop	*loop;
	int		 smtpd, local;
	struct ev_io	 smtpd_io, local_io;
	int		 tmpdir, queuedir, spooldir;
	struct qmsgs	 msgs;
	struct qlist	 commits;	/* waiting for the next group commit */
	struct qlist	 deliver;	/* waiting for the delivery agent */
	struct qmsg	*delivering;	/* at the delivery agent now */
	struct ipc_msg	*msg;		/* receive buffer */
	struct qreplies	 out;		/* replies waiting for room on smtpd's socket */
	bool		 smtpd_gone;	/* shutting down: replies have nobody to go to */
};

static void qmgr_kick(struct qmgr *);

/* The one queue manager of this process (timer callbacks reach it through here). */
static struct qmgr *qmgr_self;

static struct qmsg *
qmsg_find(struct qmgr *q, const char *id)
{
	struct qmsg key;

	strlcpy(key.id, id, sizeof(key.id));
	return RB_FIND(qmsgs, &q->msgs, &key);
}

static void
qmsg_free(struct qmgr *q, struct qmsg *m)
{
	RB_REMOVE(qmsgs, &q->msgs, m);
	ev_timer_stop(q->loop, &m->retry);
	if (m->fd != -1)
		close(m->fd);
	free(m->state);
	free(m);
}

/* Sends what is waiting, in order, until smtpd's socket is full. */
static void
qmgr_flush_replies(struct qmgr *q)
{
	struct qreply *r;

	while ((r = STAILQ_FIRST(&q->out)) != NULL) {
		if (ipc_send(q->smtpd, r->type, r->ref, &r->qid, sizeof(r->qid), r->fd) == -1) {
			if (errno == EAGAIN || errno == ENOBUFS)
				break;
			if (!q->smtpd_gone)
				fatal("send to smtpd");
		}
		STAILQ_REMOVE_HEAD(&q->out, entry);
		if (r->fd != -1)
			close(r->fd);
		free(r);
	}
	(void)ev_io_set(q->loop, &q->smtpd_io,
	    q->smtpd_gone ? 0 : EV_READ | (STAILQ_EMPTY(&q->out) ? 0 : EV_WRITE));
}

/* Queues a reply for smtpd (taking fd) and sends as much as fits. */
static void
qmgr_reply(struct qmgr *q, uint32_t type, uint64_t ref, const struct ipc_qid *qid, int fd)
{
	struct qreply *r;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		fatal("calloc");
	r->type = type;
	r->ref = ref;
	r->qid = *qid;
	r->fd = fd;
	STAILQ_INSERT_TAIL(&q->out, r, entry);
	qmgr_flush_replies(q);
}

static void
qmgr_create(struct qmgr *q, uint64_t ref)
{
	struct ipc_qid	 r;
	struct qmsg	*m;
	int		 fd = -1, sfd;

	memset(&r, 0, sizeof(r));
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		r.err = ENOMEM;
		goto fail;
	}
	/* A fresh random ID; O_EXCL makes it unique on disk (DESIGN §3). */
	for (int i = 0; i < 8 && fd == -1; i++) {
		queue_id_new(m->id);
		if (qmsg_find(q, m->id) != NULL)
			continue;
		fd = openat(q->tmpdir, m->id, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		    0600);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		r.err = errno ? errno : EEXIST;
		log_warn("create queue file");
		free(m);
		goto fail;
	}
	m->fd = fd;
	m->ref = ref;
	ev_timer_init(&m->retry, NULL, NULL);
	RB_INSERT(qmsgs, &q->msgs, m);
	strlcpy(r.id, m->id, sizeof(r.id));
	/* smtpd gets its own descriptor for the same open file (write offset shared is fine:
	 * only smtpd writes until the commit). */
	sfd = dup(fd);
	if (sfd == -1)
		fatal("dup");
	qmgr_reply(q, IPC_CREATED, ref, &r, sfd);
	return;
fail:
	qmgr_reply(q, IPC_CREATED, ref, &r, -1);
}

static void
qmgr_abort(struct qmgr *q, const char *id)
{
	struct qmsg *m = qmsg_find(q, id);

	if (m == NULL || m->committed)
		return;
	if (unlinkat(q->tmpdir, m->id, 0) == -1)
		log_warn("%s: unlink", m->id);
	if (m->queued)
		TAILQ_REMOVE(&q->commits, m, work);
	qmsg_free(q, m);
}

/*
 * ID.st: "attempts N" then one line "IDX STATE" per recipient that is no longer pending.
 * Written only through qmsg_save_state (tmp + fsync + rename), so it is whole or absent.
 */
static int
qmsg_read_state(FILE *f, struct qmsg *m)
{
	char		 line[128], *a, *b, *save;
	const char	*e1, *e2;
	long long	 idx, st;
	uint8_t		*state;
	unsigned	 attempts = m->attempts;

	/* Into a copy: a file with a bad line changes nothing (it is whole or ignored). */
	state = malloc(m->nrcpt);
	if (state == NULL)
		return -1;
	memcpy(state, m->state, m->nrcpt);
	while (fgets(line, sizeof(line), f) != NULL) {
		a = strtok_r(line, " \n", &save);
		b = strtok_r(NULL, " \n", &save);
		if (a == NULL || b == NULL)
			goto bad;
		if (strcmp(a, "attempts") == 0) {
			attempts = (unsigned)strtonum(b, 0, 100000, &e1);
			if (e1 != NULL)
				goto bad;
			continue;
		}
		idx = strtonum(a, 0, (long long)m->nrcpt - 1, &e1);
		st = strtonum(b, RS_PENDING, RS_REMOTE, &e2);
		if (e1 != NULL || e2 != NULL)
			goto bad;
		state[idx] = (uint8_t)st;
	}
	memcpy(m->state, state, m->nrcpt);
	m->attempts = attempts;
	free(state);
	return 0;
bad:
	free(state);
	return -1;
}

static int
qmsg_save_state(struct qmgr *q, struct qmsg *m)
{
	char	 tmp[QUEUE_ID_LEN + 8], dst[QUEUE_ID_LEN + 4], buf[64];
	FILE	*f;
	int	 fd, rc = 0;

	(void)snprintf(tmp, sizeof(tmp), "%s.st", m->id);
	(void)snprintf(dst, sizeof(dst), "%s.st", m->id);
	fd = openat(q->tmpdir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		return -1;
	}
	fprintf(f, "attempts %u\n", m->attempts);
	for (size_t i = 0; i < m->nrcpt; i++)
		if (m->state[i] != RS_PENDING && m->state[i] != RS_REMOTE) {
			(void)snprintf(buf, sizeof(buf), "%zu %u\n", i, m->state[i]);
			fputs(buf, f);
		}
	if (fflush(f) != 0 || fsync(fileno(f)) == -1)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && renameat(q->tmpdir, tmp, q->queuedir, dst) == -1)
		rc = -1;
	if (rc == 0 && fsync(q->queuedir) == -1)
		rc = -1;
	return rc;
}

/*
 * Loads the recipients and their states (a message committed just now has no state file
 * yet: fresh skips looking for one). -1 I/O error, -2 torn or bad file.
 */
static int
qmsg_load(struct qmgr *q, struct qmsg *m, bool fresh)
{
	struct queue_env	 env;
	enum queue_read_res	 r;
	char			 st[QUEUE_ID_LEN + 4];
	FILE			*f;
	int			 fd, rc = 0;

	if (lseek(m->fd, 0, SEEK_SET) == -1)
		return -1;
	memset(&env, 0, sizeof(env));
	r = queue_file_read(m->fd, &env, NULL, NULL);
	if (r != QUEUE_READ_OK) {
		queue_env_clear(&env);
		return r == QUEUE_READ_IOERR ? -1 : -2;
	}
	free(m->state);
	m->state = calloc(env.nrcpt > 0 ? env.nrcpt : 1, 1);
	if (m->state == NULL) {
		queue_env_clear(&env);
		return -1;
	}
	m->nrcpt = env.nrcpt;
	for (size_t i = 0; i < env.nrcpt; i++) {
		const char *at = strrchr(env.rcpt[i].addr, '@');

		m->state[i] = at != NULL && conf_is_local_domain(q->conf, at + 1) ? RS_PENDING
										 : RS_REMOTE;
	}
	queue_env_clear(&env);
	if (fresh)
		return 0;
	(void)snprintf(st, sizeof(st), "%s.st", m->id);
	fd = openat(q->queuedir, st, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd != -1) {
		f = fdopen(fd, "r");
		if (f == NULL) {
			close(fd);
			return -1;
		}
		if (qmsg_read_state(f, m) == -1) {
			log_warnx("%s: bad state file, delivering to every recipient", m->id);
			rc = 0;
		}
		fclose(f);
	}
	return rc;
}

static bool
qmsg_pending(const struct qmsg *m)
{
	for (size_t i = 0; i < m->nrcpt; i++)
		if (m->state[i] == RS_PENDING)
			return true;
	return false;
}

static bool
qmsg_finished(const struct qmsg *m)
{
	if (m->nrcpt == 0)
		return false;	/* not loaded: never take it for done */
	for (size_t i = 0; i < m->nrcpt; i++)
		if (m->state[i] == RS_PENDING || m->state[i] == RS_REMOTE)
			return false;
	return true;
}

static void
qmsg_remove(struct qmgr *q, struct qmsg *m)
{
	char st[QUEUE_ID_LEN + 4];

	(void)snprintf(st, sizeof(st), "%s.st", m->id);
	if (unlinkat(q->queuedir, m->id, 0) == -1)
		log_warn("%s: unlink", m->id);
	(void)unlinkat(q->queuedir, st, 0);
	log_info("%s: removed", m->id);
	qmsg_free(q, m);
}

static void
qmgr_schedule(struct qmgr *q, struct qmsg *m)
{
	if (m->queued || q->delivering == m || !qmsg_pending(m))
		return;
	TAILQ_INSERT_TAIL(&q->deliver, m, work);
	m->queued = true;
}

static void
retry_cb(struct ev_timer *t, void *arg)
{
	struct qmsg *m = arg;

	(void)t;
	qmgr_schedule(qmgr_self, m);
	qmgr_kick(qmgr_self);
}

/* Exponential backoff from retry_min to retry_max (DESIGN §3). */
static void
qmsg_defer(struct qmgr *q, struct qmsg *m)
{
	uint64_t delay = q->conf->retry_min;

	for (unsigned i = 1; i < m->attempts && delay < q->conf->retry_max; i++)
		delay *= 2;
	if (delay > q->conf->retry_max)
		delay = q->conf->retry_max;
	ev_timer_init(&m->retry, retry_cb, m);
	ev_timer_start(q->loop, &m->retry, delay * 1000);
}

/* Sends the next message with pending local recipients to the delivery agent. */
static void
qmgr_kick(struct qmgr *q)
{
	struct ipc_deliver	 d;
	struct qmsg		*m;

	if (q->delivering != NULL || (m = TAILQ_FIRST(&q->deliver)) == NULL)
		return;
	TAILQ_REMOVE(&q->deliver, m, work);
	m->queued = false;
	memset(&d, 0, sizeof(d));
	strlcpy(d.id, m->id, sizeof(d.id));
	d.redelivery = m->redelivery || m->attempts > 0;
	for (size_t i = 0; i < m->nrcpt && d.n < IPC_RCPT_MAX; i++)
		if (m->state[i] == RS_PENDING)
			d.idx[d.n++] = (uint32_t)i;
	if (ipc_send(q->local, IPC_DELIVER, 0, &d, sizeof(d), m->fd) == -1)
		fatal("send to the delivery agent");
	q->delivering = m;
}

static void
qmgr_delivered(struct qmgr *q, const struct ipc_delivered *r)
{
	struct qmsg	*m = q->delivering;
	bool		 temp = false, changed = false;

	if (m == NULL || strncmp(m->id, r->id, QUEUE_ID_LEN) != 0 || r->n > IPC_RCPT_MAX)
		fatalx("delivery agent: reply for a message it was not given");
	q->delivering = NULL;
	for (uint32_t i = 0; i < r->n; i++) {
		const struct ipc_rcpt_result *x = &r->r[i];

		if (x->idx >= m->nrcpt || m->state[x->idx] != RS_PENDING)
			fatalx("delivery agent: bad recipient index");
		switch (x->status) {
		case DELIVER_OK:
			m->state[x->idx] = RS_DONE;
			changed = true;
			break;
		case DELIVER_PERM:
			/* The DSN to the sender arrives with issue 4's bounce code. */
			m->state[x->idx] = RS_FAILED;
			changed = true;
			break;
		default:
			temp = true;
			break;
		}
	}
	if (temp || qmsg_pending(m))
		m->attempts++;
	if (qmsg_finished(m)) {
		qmsg_remove(q, m);
	} else {
		if ((changed || temp) && qmsg_save_state(q, m) == -1)
			log_warn("%s: saving state", m->id);
		if (temp)
			qmsg_defer(q, m);
		else
			qmgr_schedule(q, m);	/* more than IPC_RCPT_MAX recipients */
	}
	qmgr_kick(q);
}

/*
 * The group commit: every file in the batch renamed into queue/, one syncfs() for the
 * spool, then every client answered.
 */
static void
qmgr_flush_commits(void *arg)
{
	struct qmgr	*q = arg;
	struct qmsg	*m;
	struct ipc_qid	 r;
	int		 err = 0;

	if (TAILQ_EMPTY(&q->commits))
		return;
	TAILQ_FOREACH(m, &q->commits, work)
		if (renameat(q->tmpdir, m->id, q->queuedir, m->id) == -1) {
			err = errno;
			log_warn("%s: rename into the queue", m->id);
		}
	if (err == 0 && syncfs(q->queuedir) == -1) {
		err = errno;
		log_warn("syncfs");
	}
	while ((m = TAILQ_FIRST(&q->commits)) != NULL) {
		TAILQ_REMOVE(&q->commits, m, work);
		m->queued = false;
		memset(&r, 0, sizeof(r));
		strlcpy(r.id, m->id, sizeof(r.id));
		r.err = err;
		qmgr_reply(q, IPC_COMMITTED, m->ref, &r, -1);
		if (err != 0) {
			(void)unlinkat(q->queuedir, m->id, 0);
			(void)unlinkat(q->tmpdir, m->id, 0);
			qmsg_free(q, m);
			continue;
		}
		m->committed = true;
		if (qmsg_load(q, m, true) != 0) {
			/* smtpd wrote a file we cannot read: keep it for an admin. */
			log_warnx("%s: committed file does not parse; left in the queue", m->id);
			continue;
		}
		qmgr_schedule(q, m);
	}
	qmgr_kick(q);
}

static void
smtpd_msg(void *arg, struct ipc_msg *msg)
{
	struct qmgr	*q = arg;
	struct ipc_qid	*qid = (struct ipc_qid *)msg->data;
	struct qmsg	*m;

	if (msg->fd != -1)
		fatalx("smtpd sent a descriptor");
	if (msg->hdr.type == IPC_CREATE) {
		qmgr_create(q, msg->hdr.ref);
		return;
	}
	if (msg->hdr.type != IPC_COMMIT && msg->hdr.type != IPC_ABORT)
		fatalx("smtpd: unexpected message %u", msg->hdr.type);
	qid->id[QUEUE_ID_LEN] = '\0';
	if (msg->hdr.type == IPC_ABORT) {
		qmgr_abort(q, qid->id);
		return;
	}
	m = qmsg_find(q, qid->id);
	if (m == NULL || m->committed || m->queued)
		fatalx("smtpd: commit of an unknown queue file");
	TAILQ_INSERT_TAIL(&q->commits, m, work);
	m->queued = true;
}

static void
smtpd_cb(struct ev_io *io, int events, void *arg)
{
	struct qmgr *q = arg;

	(void)io;
	if (events & EV_WRITE)
		qmgr_flush_replies(q);
	if ((events & EV_READ) == 0)
		return;
	switch (ipc_drain(q->smtpd, q->msg, smtpd_msg, q)) {
	case 0:
		break;
	case 1:
		/* smtpd stopped (shutdown): finish what it asked for, then stop too. */
		q->smtpd_gone = true;
		qmgr_flush_commits(q);
		ev_io_stop(q->loop, &q->smtpd_io);
		ev_break(q->loop);
		break;
	default:
		fatal("smtpd: bad message");
	}
}

static void
local_msg(void *arg, struct ipc_msg *msg)
{
	if (msg->fd != -1 || msg->hdr.type != IPC_DELIVERED)
		fatalx("delivery agent: unexpected message");
	qmgr_delivered(arg, (const struct ipc_delivered *)msg->data);
}

static void
local_cb(struct ev_io *io, int events, void *arg)
{
	struct qmgr *q = arg;

	(void)io;
	(void)events;
	if (ipc_drain(q->local, q->msg, local_msg, q) != 0)
		fatalx("delivery agent went away");
}

/* Startup: tmp/ is emptied; every queue/ file is checked, the torn ones set aside. */
static void
qmgr_recover(struct qmgr *q)
{
	DIR		*dir;
	struct dirent	*de;
	struct qmsg	*m;
	int		 fd, dfd, rc;
	unsigned	 n = 0, bad = 0;

	dfd = dup(q->tmpdir);
	if (dfd == -1 || (dir = fdopendir(dfd)) == NULL)
		fatal("spool/tmp");
	while ((de = readdir(dir)) != NULL)
		if (de->d_name[0] != '.' && unlinkat(q->tmpdir, de->d_name, 0) == -1)
			log_warn("tmp/%s", de->d_name);
	closedir(dir);
	dfd = dup(q->queuedir);
	if (dfd == -1 || (dir = fdopendir(dfd)) == NULL)
		fatal("spool/queue");
	while ((de = readdir(dir)) != NULL) {
		if (!queue_id_valid(de->d_name))
			continue;
		fd = openat(q->queuedir, de->d_name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd == -1) {
			log_warn("queue/%s", de->d_name);
			continue;
		}
		m = calloc(1, sizeof(*m));
		if (m == NULL)
			fatal("malloc");
		strlcpy(m->id, de->d_name, sizeof(m->id));
		m->fd = fd;
		m->committed = true;
		m->redelivery = true;
		ev_timer_init(&m->retry, retry_cb, m);
		RB_INSERT(qmsgs, &q->msgs, m);
		rc = qmsg_load(q, m, false);
		if (rc == -1) {
			/* Unreadable now: leave the file for the next start; never delete it. */
			log_warn("%s: cannot read, left in the queue", m->id);
			qmsg_free(q, m);
			continue;
		}
		if (rc == -2) {
			/* Never acknowledged (no valid END): never delivered. */
			char dst[64];

			log_warnx("%s: torn queue file moved to corrupt/", m->id);
			(void)snprintf(dst, sizeof(dst), "corrupt/%s", m->id);
			if (renameat(q->queuedir, m->id, q->spooldir, dst) == -1)
				log_warn("%s: move to corrupt/", m->id);
			qmsg_free(q, m);
			bad++;
			continue;
		}
		n++;
		if (qmsg_finished(m))
			qmsg_remove(q, m);
		else
			qmgr_schedule(q, m);
	}
	closedir(dir);
	(void)fsync(q->queuedir);
	log_info("queue: %u messages recovered, %u torn set aside", n, bad);
}

static void
qmgr_signal(int signo, void *arg)
{
	struct qmgr *q = arg;

	(void)signo;
	/* Commits collected so far are finished first: never drop an acknowledgeable one. */
	qmgr_flush_commits(q);
	ev_break(q->loop);
}

static int
open_dir(int at, const char *path)
{
	int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd == -1)
		fatal("%s", path);
	return fd;
}

int
qmgr_main(struct mxd *mxd, int smtpd, int local)
{
	struct qmgr q;

	memset(&q, 0, sizeof(q));
	qmgr_self = &q;
	q.mxd = mxd;
	q.conf = &mxd->conf;
	q.smtpd = smtpd;
	q.local = local;
	RB_INIT(&q.msgs);
	TAILQ_INIT(&q.commits);
	TAILQ_INIT(&q.deliver);
	STAILQ_INIT(&q.out);
	if (net_set_nonblock(smtpd) == -1)
		fatal("smtpd socket");
	log_init("mxd/queue", false);
	mxd_drop_privileges(mxd, NULL);
	q.spooldir = open_dir(AT_FDCWD, q.conf->spool);
	q.tmpdir = open_dir(q.spooldir, "tmp");
	q.queuedir = open_dir(q.spooldir, "queue");
	q.loop = ev_loop_new();
	q.msg = malloc(sizeof(*q.msg));
	if (q.loop == NULL || q.msg == NULL)
		fatal("event loop");
	qmgr_recover(&q);
	ev_io_init(&q.smtpd_io, smtpd, smtpd_cb, &q);
	ev_io_init(&q.local_io, local, local_cb, &q);
	if (ev_io_set(q.loop, &q.smtpd_io, EV_READ) == -1 ||
	    ev_io_set(q.loop, &q.local_io, EV_READ) == -1 ||
	    ev_signal(q.loop, SIGTERM, qmgr_signal, &q) == -1 ||
	    ev_signal(q.loop, SIGINT, qmgr_signal, &q) == -1)
		fatal("event setup");
	ev_set_idle(q.loop, qmgr_flush_commits, &q);
	qmgr_kick(&q);
	if (ev_run(q.loop) == -1)
		fatal("event loop");
	return 0;
}
