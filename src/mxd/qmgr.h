/*
 * qmgr.h — the queue manager's private interface, shared by its files: qmgr.c (commits,
 * scheduling, attempts, bounces), control.c (the mxctl socket) and pickup.c (the sendmail
 * drop directory). Nothing outside src/mxd/qmgr*.c, control.c and pickup.c includes it.
 */
#ifndef MXD_QMGR_H
#define MXD_QMGR_H

#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "ipc/ipc.h"
#include "mxd/mxd.h"
#include "queue/queue.h"
#include "util/event.h"

/* Counters kept per minute for `mxctl status`. */
enum qstat { QSTAT_RECEIVED, QSTAT_DELIVERED, QSTAT_DEFERRED, QSTAT_BOUNCED, QSTAT_N };

/* Persisted as numbers in ID.st: never renumber. */
enum rcpt_state { RS_PENDING, RS_DONE, RS_FAILED, RS_REMOTE };
/* In ID.st only: failed, and its DSN not committed yet (loaded as RS_FAILED + a report). */
#define RS_FAILED_OWED 4

/* A recipient's last result when it was not delivered, and a DSN due for it. */
struct rinfo {
	uint8_t report; /* 0, or 1 + enum dsn_action: due at the attempt's end */
	char dsn[12];
	char text[240];
	char relay[96];
};

/* A message in the queue, committed or being written. */
struct qmsg {
	RB_ENTRY(qmsg) node;
	TAILQ_ENTRY(qmsg) work; /* commit batch */
	char id[QUEUE_ID_LEN + 1];
	int fd;       /* O_RDWR, ours */
	uint64_t ref; /* smtpd session while uncommitted */
	bool committed;
	bool queued;     /* on the commit list */
	bool redelivery; /* recovered: check mailboxes for duplicates */
	bool loaded;     /* envelope read: nrcpt and the arrays are valid */
	size_t nrcpt;
	uint8_t *state;     /* enum rcpt_state per recipient */
	uint8_t *notify;    /* SMTP_NOTIFY_* per recipient */
	char **dom;         /* per remote recipient: its domain, else NULL */
	struct rinfo *info; /* per recipient, from the first failure on */
	time_t arrival;
	time_t next_try; /* of a deferred message; 0 when not deferred */
	unsigned attempts;
	unsigned inflight; /* jobs at delivery agents */
	bool had_temp;     /* this attempt deferred someone */
	bool held;         /* mxctl hold: no attempts until released */
	bool dirty;        /* results in memory not yet in ID.st */
	bool deleted;      /* mxctl delete: removed when its jobs are back */
	struct ev_timer retry;
};

int qmsg_cmp(const struct qmsg *, const struct qmsg *);
RB_HEAD(qmsgs, qmsg);
RB_PROTOTYPE(qmsgs, qmsg, node, qmsg_cmp)
TAILQ_HEAD(qlist, qmsg);

/*
 * A job: some recipients of one message for one delivery agent — the local agent, or an
 * SMTP worker for one destination (a domain, or the relayhost).
 */
struct dest;
struct job {
	TAILQ_ENTRY(job) entry;
	struct qmsg *m;
	struct dest *d; /* NULL: local */
	uint32_t n;
	uint32_t idx[IPC_RCPT_MAX];
};
TAILQ_HEAD(jobs, job);

/* A destination: its waiting jobs and how many are being delivered now. */
struct dest {
	RB_ENTRY(dest) node;
	TAILQ_ENTRY(dest) ready; /* has jobs and room for one more */
	struct jobs jobs;
	unsigned active;
	bool on_ready;
	char name[256];
};

int dest_cmp(const struct dest *, const struct dest *);
RB_HEAD(dests, dest);
RB_PROTOTYPE(dests, dest, node, dest_cmp)
TAILQ_HEAD(destq, dest);

/* An SMTP delivery worker (remote.c), forked by us. */
struct worker {
	TAILQ_ENTRY(worker) idle;
	struct qmgr *q;
	int fd;
	pid_t pid;
	struct ev_io io;
	struct job *job;  /* NULL: idle */
	char cached[256]; /* destination of its open session, or "" */
};
TAILQ_HEAD(workers, worker);

/*
 * A reply to smtpd that did not fit its socket yet. The queue manager never blocks
 * sending to smtpd: smtpd may itself be blocked sending to us, and two processes each
 * waiting for the other to read would stop all mail.
 */
struct qreply {
	STAILQ_ENTRY(qreply) entry;
	uint32_t type;
	uint64_t ref;
	struct ipc_qid qid;
	int fd; /* owned until sent, or -1 */
};
STAILQ_HEAD(qreplies, qreply);

struct qmgr {
	struct mxd *mxd;
	struct conf *conf;
	struct ev_loop *loop;
	int smtpd, local;
	struct ev_io smtpd_io, local_io;
	int tmpdir, queuedir, spooldir;
	struct qmsgs msgs;
	struct qlist commits;   /* waiting for the next group commit */
	struct jobs local_jobs; /* waiting for the local delivery agent */
	struct job *local_job;  /* at the local delivery agent now */
	struct dests dests;
	struct destq ready;     /* destinations with a job that may start */
	struct worker *workers; /* max_deliveries of them */
	struct workers idle;
	struct ipc_msg *msg; /* receive buffer */
	struct qreplies out; /* replies waiting for room on smtpd's socket */
	bool smtpd_gone;     /* shutting down: replies have nobody to go to */
	bool stopping;       /* no new jobs, no worker respawns */
	/* control.c: the mxctl socket; pickup.c: the sendmail drop directory */
	int ctl_fd;
	struct ev_io ctl_io;
	int dropdir;
	int drop_inotify;
	struct ev_io drop_io;
	struct ev_timer drop_timer;
	struct ev_timer stop_timer; /* SIGTERM: the longest wait for jobs out */
	/* Per-minute counters of the last hour, for `mxctl status`. */
	time_t stat_minute[60];
	unsigned stat[QSTAT_N][60];
};

/* qmgr.c */
struct qmsg *qmsg_find(struct qmgr *, const char *id);
bool qmsg_open_rcpt(const struct qmsg *, size_t);
void qmsg_start(struct qmgr *, struct qmsg *);
void qmsg_arm(struct qmgr *, struct qmsg *);
void qmsg_remove(struct qmgr *, struct qmsg *);
int qmsg_save_state(struct qmgr *, struct qmsg *);
void qmgr_dispatch(struct qmgr *);
void qmgr_count(struct qmgr *, enum qstat, unsigned n);
unsigned qmgr_count_hour(const struct qmgr *, enum qstat);
/*
 * A new message file: tmp/ID created O_EXCL with a fresh ID. Returns the message (not in
 * the queue yet, fd open) or NULL with errno.
 */
struct qmsg *qmgr_file_new(struct qmgr *);
/*
 * Makes m durable (fsync, rename into queue/, fsync queue/), adds it to the queue and
 * starts its first attempt. On failure the file is unlinked, m freed, -1 returned.
 */
int qmgr_file_commit(struct qmgr *, struct qmsg *);
/* control.c */
void ctl_init(struct qmgr *);
/* pickup.c */
void pickup_init(struct qmgr *);
void pickup_scan(struct qmgr *);

#endif
