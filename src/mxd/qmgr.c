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
 * Scheduling: a delivery attempt turns every open recipient of a message into jobs —
 * local recipients for the local agent (local.c), remote ones grouped by destination
 * domain (or the relayhost) for the SMTP workers (remote.c) we fork, max_deliveries of
 * them, at most max_per_destination at once per destination, destinations taking turns.
 * A destination's job goes preferably to the worker that still holds a session to it
 * (connection reuse). When every job of an attempt is back, the message is finished
 * (removed), or deferred: attempts and next try, with each deferred recipient's last
 * error, are saved in ID.st so a restart resumes where it stopped; the backoff doubles
 * from retry_min to retry_max, and after queue_lifetime the open recipients fail. Failed
 * recipients get one RFC 3464 notification per attempt (queue_dsn.c), itself a queue
 * file committed before the failure is recorded: a crash in between repeats a
 * notification, never loses one. A bounce is never bounced (null sender).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <bsd/stdlib.h>
#include <bsd/string.h>
#include <bsd/unistd.h>
#include <bsd/sys/queue.h>
#include <bsd/sys/tree.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ipc/ipc.h"
#include "mxd/mxd.h"
#include "mxd/qmgr.h"
#include "queue/queue.h"
#include "util/event.h"
#include "util/log.h"
#include "util/net.h"

int
qmsg_cmp(const struct qmsg *a, const struct qmsg *b)
{
	return strcmp(a->id, b->id);
}
RB_GENERATE(qmsgs, qmsg, node, qmsg_cmp)

int
dest_cmp(const struct dest *a, const struct dest *b)
{
	return strcmp(a->name, b->name);
}
RB_GENERATE(dests, dest, node, dest_cmp)

static void qmsg_attempt_end(struct qmgr *, struct qmsg *);
static void qmgr_stop_check(struct qmgr *);
static void qmgr_signal(int, void *);

/* The one queue manager of this process (timer callbacks reach it through here). */
static struct qmgr *qmgr_self;

struct qmsg *
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
	free(m->notify);
	if (m->dom != NULL)
		free(m->dom[m->nrcpt]); /* the strings' one allocation */
	free(m->dom);
	free(m->info);
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
	struct ipc_qid r;
	struct qmsg *m;
	int sfd;

	memset(&r, 0, sizeof(r));
	m = qmgr_file_new(q);
	if (m == NULL) {
		r.err = errno ? errno : EEXIST;
		log_warn("create queue file");
		goto fail;
	}
	m->ref = ref;
	RB_INSERT(qmsgs, &q->msgs, m);
	strlcpy(r.id, m->id, sizeof(r.id));
	/* smtpd gets its own descriptor for the same open file (write offset shared is fine:
	 * only smtpd writes until the commit). */
	sfd = dup(m->fd);
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
 * ID.st, whole or absent (written only by qmsg_save_state: tmp, fsync, rename, fsync):
 *   attempts N
 *   hold 1			held by mxctl until released
 *   next T			deferred until T (seconds since the epoch)
 *   IDX STATE			a recipient that is final (RS_DONE or RS_FAILED), or
 *				failed with its bounce still owed (RS_FAILED_OWED)
 *   last IDX DSN RELAY TEXT	a deferred recipient's last error (RELAY "-": none)
 */
#define ST_LINE_MAX 512

static int
qmsg_read_state(FILE *f, struct qmsg *m)
{
	char line[ST_LINE_MAX], *a, *b, *c, *save;
	const char *e1, *e2;
	long long idx, st;
	uint8_t *state;
	struct rinfo *info = NULL;
	unsigned attempts = m->attempts;
	time_t next = 0;
	bool held = false;

	/* Into copies: a file with a bad line changes nothing (it is whole or ignored). */
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
		if (strcmp(a, "hold") == 0) {
			held = strcmp(b, "1") == 0;
			continue;
		}
		if (strcmp(a, "next") == 0) {
			next = (time_t)strtonum(b, 0, LLONG_MAX, &e1);
			if (e1 != NULL)
				goto bad;
			continue;
		}
		if (strcmp(a, "last") == 0) {
			struct rinfo *ri;

			idx = strtonum(b, 0, (long long)m->nrcpt - 1, &e1);
			a = strtok_r(NULL, " \n", &save); /* dsn */
			c = strtok_r(NULL, " \n", &save); /* relay */
			b = strtok_r(NULL, "\n", &save);  /* text */
			if (e1 != NULL || a == NULL || c == NULL)
				goto bad;
			if (info == NULL && (info = calloc(m->nrcpt, sizeof(*info))) == NULL)
				goto bad;
			ri = &info[idx];
			strlcpy(ri->dsn, a, sizeof(ri->dsn));
			strlcpy(ri->relay, strcmp(c, "-") == 0 ? "" : c, sizeof(ri->relay));
			strlcpy(ri->text, b != NULL ? b : "", sizeof(ri->text));
			continue;
		}
		idx = strtonum(a, 0, (long long)m->nrcpt - 1, &e1);
		st = strtonum(b, RS_DONE, RS_FAILED_OWED, &e2);
		if (e1 != NULL || e2 != NULL || st == RS_REMOTE)
			goto bad;
		state[idx] = (uint8_t)st;
	}
	/* Failed with the bounce not yet sent: it is due again (RS_FAILED + a report). */
	for (size_t i = 0; i < m->nrcpt; i++) {
		if (state[i] != RS_FAILED_OWED)
			continue;
		state[i] = RS_FAILED;
		if (info == NULL && (info = calloc(m->nrcpt, sizeof(*info))) == NULL)
			goto bad;
		info[i].report = 1 + DSN_FAILED;
		if (info[i].dsn[0] == '\0')
			strlcpy(info[i].dsn, "5.0.0", sizeof(info[i].dsn));
	}
	memcpy(m->state, state, m->nrcpt);
	m->attempts = attempts;
	m->next_try = next;
	m->held = held;
	if (info != NULL) {
		free(m->info);
		m->info = info;
	}
	free(state);
	return 0;
bad:
	free(info);
	free(state);
	return -1;
}

/* One text field of the state file: printable, no newline, never empty. */
static void
st_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

int
qmsg_save_state(struct qmgr *q, struct qmsg *m)
{
	char tmp[QUEUE_ID_LEN + 8], dst[QUEUE_ID_LEN + 4];
	FILE *f;
	int fd, rc = 0;

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
	fprintf(f, "attempts %u\n", m->attempts < 100000 ? m->attempts : 100000);
	if (m->held)
		fputs("hold 1\n", f);
	if (m->next_try != 0)
		fprintf(f, "next %lld\n", (long long)m->next_try);
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct rinfo *ri = m->info != NULL ? &m->info[i] : NULL;
		bool owed = m->state[i] == RS_FAILED && ri != NULL && ri->report == 1 + DSN_FAILED;

		if (m->state[i] == RS_DONE || m->state[i] == RS_FAILED)
			fprintf(f, "%zu %u\n", i, owed ? RS_FAILED_OWED : m->state[i]);
		/* The last error of an open recipient, or of one whose bounce is owed. */
		if (ri != NULL && ri->dsn[0] != '\0' && (owed || qmsg_open_rcpt(m, i))) {
			st_clean(ri->dsn);
			st_clean(ri->text);
			st_clean(ri->relay);
			fprintf(f, "last %zu %s %s %s\n", i, ri->dsn,
			    ri->relay[0] != '\0' && strchr(ri->relay, ' ') == NULL ? ri->relay
										   : "-",
			    ri->text);
		}
	}
	if (fflush(f) != 0 || fsync(fileno(f)) == -1)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && renameat(q->tmpdir, tmp, q->queuedir, dst) == -1)
		rc = -1;
	if (rc == 0 && fsync(q->queuedir) == -1)
		rc = -1;
	if (rc == 0)
		m->dirty = false;
	return rc;
}

/*
 * Loads the recipients and their states (a message committed just now has no state file
 * yet: fresh skips looking for one). -1 I/O error, -2 torn or bad file.
 */
static int
qmsg_load(struct qmgr *q, struct qmsg *m, bool fresh)
{
	struct queue_env env;
	enum queue_read_res r;
	char st[QUEUE_ID_LEN + 4], *blob, *p;
	size_t n, blen = 1;
	FILE *f;
	int fd;

	memset(&env, 0, sizeof(env));
	r = queue_file_read(m->fd, &env, NULL, NULL);
	if (r != QUEUE_READ_OK) {
		queue_env_clear(&env);
		return r == QUEUE_READ_IOERR ? -1 : -2;
	}
	n = env.nrcpt;
	for (size_t i = 0; i < n; i++) {
		const char *at = strrchr(env.rcpt[i].addr, '@');

		if (at != NULL && !conf_is_local_domain(q->conf, at + 1))
			blen += strlen(at + 1) + 1;
	}
	m->state = calloc(n > 0 ? n : 1, 1);
	m->notify = calloc(n > 0 ? n : 1, 1);
	m->dom = calloc(n + 1, sizeof(*m->dom));
	blob = malloc(blen);
	if (m->state == NULL || m->notify == NULL || m->dom == NULL || blob == NULL) {
		free(blob);
		queue_env_clear(&env);
		return -1;
	}
	m->nrcpt = n;
	m->dom[n] = blob; /* freed through here */
	p = blob;
	m->arrival = env.arrival;
	for (size_t i = 0; i < n; i++) {
		const char *at = strrchr(env.rcpt[i].addr, '@');

		m->notify[i] = (uint8_t)env.rcpt[i].notify;
		if (at == NULL || conf_is_local_domain(q->conf, at + 1)) {
			m->state[i] = RS_PENDING;
			continue;
		}
		m->state[i] = RS_REMOTE;
		m->dom[i] = p;
		for (at++; *at != '\0'; at++)
			*p++ = (char)((*at >= 'A' && *at <= 'Z') ? *at + 32 : *at);
		*p++ = '\0';
	}
	m->loaded = true;
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
		if (qmsg_read_state(f, m) == -1)
			log_warnx("%s: bad state file, delivering to every recipient", m->id);
		fclose(f);
	}
	return 0;
}

bool
qmsg_open_rcpt(const struct qmsg *m, size_t i)
{
	return m->state[i] == RS_PENDING || m->state[i] == RS_REMOTE;
}

static bool
qmsg_reports_due(const struct qmsg *m)
{
	for (size_t i = 0; m->info != NULL && i < m->nrcpt; i++)
		if (m->info[i].report != 0)
			return true;
	return false;
}

static bool
qmsg_finished(const struct qmsg *m)
{
	if (!m->loaded || m->inflight > 0 || qmsg_reports_due(m))
		return false;
	for (size_t i = 0; i < m->nrcpt; i++)
		if (qmsg_open_rcpt(m, i))
			return false;
	return true;
}

void
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

static struct rinfo *
qmsg_info(struct qmsg *m, size_t i)
{
	if (m->info == NULL && (m->info = calloc(m->nrcpt, sizeof(*m->info))) == NULL)
		fatal("calloc");
	return &m->info[i];
}

/* --- destinations and workers ------------------------------------------------------- */

static struct dest *
dest_get(struct qmgr *q, const char *name)
{
	struct dest key, *d;

	strlcpy(key.name, name, sizeof(key.name));
	d = RB_FIND(dests, &q->dests, &key);
	if (d != NULL)
		return d;
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		fatal("calloc");
	strlcpy(d->name, name, sizeof(d->name));
	TAILQ_INIT(&d->jobs);
	RB_INSERT(dests, &q->dests, d);
	return d;
}

/* Puts d on the ready list when it has a job that may start, frees it when it is unused. */
static void
dest_update(struct qmgr *q, struct dest *d)
{
	bool ready = !TAILQ_EMPTY(&d->jobs) && d->active < q->conf->max_per_destination;

	if (ready && !d->on_ready) {
		TAILQ_INSERT_TAIL(&q->ready, d, ready);
		d->on_ready = true;
	} else if (!ready && d->on_ready) {
		TAILQ_REMOVE(&q->ready, d, ready);
		d->on_ready = false;
	}
	if (TAILQ_EMPTY(&d->jobs) && d->active == 0) {
		RB_REMOVE(dests, &q->dests, d);
		free(d);
	}
}

static struct job *
job_new(struct qmsg *m, struct dest *d)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		fatal("calloc");
	j->m = m;
	j->d = d;
	m->inflight++;
	return j;
}

static int
job_send(int fd, const struct job *j)
{
	struct ipc_deliver d;

	memset(&d, 0, sizeof(d));
	strlcpy(d.id, j->m->id, sizeof(d.id));
	d.n = j->n;
	memcpy(d.idx, j->idx, j->n * sizeof(d.idx[0]));
	d.redelivery = j->m->redelivery || j->m->attempts > 0;
	if (j->d != NULL)
		strlcpy(d.domain, j->d->name, sizeof(d.domain));
	return ipc_send(fd, IPC_DELIVER, 0, &d, sizeof(d), j->m->fd);
}

static void worker_died(struct qmgr *, struct worker *);

/*
 * A waiting job of a message held or deleted since (mxctl) is not sent: its recipients stay
 * as they were. True when j was dropped (and freed).
 */
static bool
job_dropped(struct qmgr *q, struct job *j)
{
	struct qmsg *m = j->m;

	if (!m->held && !m->deleted)
		return false;
	free(j);
	if (--m->inflight == 0)
		qmsg_attempt_end(q, m);
	return true;
}

/* The idle worker for d: one with a session open to it, else one with none, else any. */
static struct worker *
worker_pick(struct qmgr *q, const struct dest *d)
{
	struct worker *w, *blank = NULL;

	TAILQ_FOREACH(w, &q->idle, idle)
	{
		if (strcmp(w->cached, d->name) == 0)
			return w;
		if (blank == NULL && w->cached[0] == '\0')
			blank = w;
	}
	return blank != NULL ? blank : TAILQ_FIRST(&q->idle);
}

/* Starts every job that may start: local FIFO, then destinations round-robin. */
void
qmgr_dispatch(struct qmgr *q)
{
	struct worker *w;
	struct dest *d;
	struct job *j;

	while (q->local_job == NULL && (j = TAILQ_FIRST(&q->local_jobs)) != NULL) {
		TAILQ_REMOVE(&q->local_jobs, j, entry);
		if (job_dropped(q, j))
			continue;
		if (job_send(q->local, j) == -1)
			fatal("send to the local delivery agent");
		q->local_job = j;
	}
	while (!TAILQ_EMPTY(&q->idle) && (d = TAILQ_FIRST(&q->ready)) != NULL) {
		TAILQ_REMOVE(&q->ready, d, ready);
		d->on_ready = false;
		j = TAILQ_FIRST(&d->jobs);
		TAILQ_REMOVE(&d->jobs, j, entry);
		if (job_dropped(q, j)) {
			dest_update(q, d);
			continue;
		}
		w = worker_pick(q, d);
		TAILQ_REMOVE(&q->idle, w, idle);
		w->job = j;
		d->active++;
		dest_update(q, d); /* back to the tail: destinations take turns */
		/* A worker that died since it was last heard of: its job is deferred. */
		if (job_send(w->fd, j) == -1)
			worker_died(q, w);
	}
}

/* --- attempts ------------------------------------------------------------------------- */

static void
retry_cb(struct ev_timer *t, void *arg)
{
	struct qmsg *m = arg;

	(void)t;
	qmsg_start(qmgr_self, m);
	qmgr_dispatch(qmgr_self);
}

/* Exponential backoff from retry_min to retry_max (DESIGN §3). */
static uint64_t
qmsg_backoff(const struct qmgr *q, const struct qmsg *m)
{
	uint64_t delay = q->conf->retry_min;

	for (unsigned i = 1; i < m->attempts && delay < q->conf->retry_max; i++)
		delay *= 2;
	return delay > q->conf->retry_max ? q->conf->retry_max : delay;
}

void
qmsg_arm(struct qmgr *q, struct qmsg *m)
{
	time_t now = time(NULL);

	ev_timer_init(&m->retry, retry_cb, m);
	ev_timer_start(
	    q->loop, &m->retry, m->next_try > now ? (uint64_t)(m->next_try - now) * 1000 : 0);
}

/*
 * A delivery attempt: every open recipient into a job — local ones in chunks of
 * IPC_RCPT_MAX, remote ones grouped by destination (the relayhost when one is set).
 */
void
qmsg_start(struct qmgr *q, struct qmsg *m)
{
	struct job *j;
	struct dest *d;
	uint8_t *taken;

	if (!m->loaded || !m->committed || m->inflight > 0 || q->stopping || m->held || m->deleted)
		return;
	ev_timer_stop(q->loop, &m->retry);
	m->had_temp = false;
	taken = calloc(m->nrcpt > 0 ? m->nrcpt : 1, 1);
	if (taken == NULL)
		fatal("calloc");
	for (size_t i = 0; i < m->nrcpt; i++) {
		const char *dn;

		if (taken[i] || !qmsg_open_rcpt(m, i))
			continue;
		if (m->state[i] == RS_PENDING) {
			j = job_new(m, NULL);
			for (size_t k = i; k < m->nrcpt && j->n < IPC_RCPT_MAX; k++)
				if (!taken[k] && m->state[k] == RS_PENDING) {
					taken[k] = 1;
					j->idx[j->n++] = (uint32_t)k;
				}
			TAILQ_INSERT_TAIL(&q->local_jobs, j, entry);
			continue;
		}
		dn = q->conf->relayhost[0] != '\0' ? q->conf->relayhost : m->dom[i];
		d = dest_get(q, dn);
		j = job_new(m, d);
		for (size_t k = i; k < m->nrcpt && j->n < IPC_RCPT_MAX; k++)
			if (!taken[k] && m->state[k] == RS_REMOTE &&
			    (q->conf->relayhost[0] != '\0' || strcmp(m->dom[k], m->dom[i]) == 0)) {
				taken[k] = 1;
				j->idx[j->n++] = (uint32_t)k;
			}
		TAILQ_INSERT_TAIL(&d->jobs, j, entry);
		dest_update(q, d);
	}
	free(taken);
	/* Nothing to deliver, only a notification that failed before: the attempt is over. */
	if (m->inflight == 0)
		qmsg_attempt_end(q, m);
}

/* --- new queue files (bounces, sendmail drops) and counters -------------------------- */

/* A fresh random ID; O_EXCL makes it unique on disk (DESIGN §3). */
struct qmsg *
qmgr_file_new(struct qmgr *q)
{
	struct qmsg *m;
	int fd = -1, e = EEXIST;

	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	for (int i = 0; i < 8 && fd == -1; i++) {
		queue_id_new(m->id);
		if (qmsg_find(q, m->id) != NULL)
			continue;
		fd = openat(
		    q->tmpdir, m->id, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd == -1 && (e = errno) != EEXIST)
			break;
	}
	if (fd == -1) {
		free(m);
		errno = e;
		return NULL;
	}
	m->fd = fd;
	ev_timer_init(&m->retry, retry_cb, m);
	return m;
}

int
qmgr_file_commit(struct qmgr *q, struct qmsg *m)
{
	if (fsync(m->fd) == -1 || renameat(q->tmpdir, m->id, q->queuedir, m->id) == -1 ||
	    fsync(q->queuedir) == -1) {
		int e = errno;

		/* Wherever it got to: a file nobody tracks must not be sent after a restart. */
		(void)unlinkat(q->tmpdir, m->id, 0);
		(void)unlinkat(q->queuedir, m->id, 0);
		close(m->fd);
		free(m);
		errno = e;
		return -1;
	}
	m->committed = true;
	RB_INSERT(qmsgs, &q->msgs, m);
	if (qmsg_load(q, m, true) != 0)
		log_warnx("%s: new queue file does not read back; left in the queue", m->id);
	else
		qmsg_start(q, m);
	return 0;
}

static size_t
stat_slot(struct qmgr *q, time_t now)
{
	time_t minute = now / 60;
	size_t i = (size_t)(minute % 60);

	if (q->stat_minute[i] != minute) {
		q->stat_minute[i] = minute;
		for (int k = 0; k < QSTAT_N; k++)
			q->stat[k][i] = 0;
	}
	return i;
}

void
qmgr_count(struct qmgr *q, enum qstat k, unsigned n)
{
	q->stat[k][stat_slot(q, time(NULL))] += n;
}

unsigned
qmgr_count_hour(const struct qmgr *q, enum qstat k)
{
	time_t minute = time(NULL) / 60;
	unsigned sum = 0;

	for (size_t i = 0; i < 60; i++)
		if (q->stat_minute[i] > minute - 60)
			sum += q->stat[k][i];
	return sum;
}

/* Writes and commits the DSN for every recipient with a report due. 0 or -1. */
static int
qmsg_notify(struct qmgr *q, struct qmsg *m)
{
	struct queue_env env;
	struct dsn_rcpt *dr;
	struct qmsg *b = NULL;
	char err[256], bid[QUEUE_ID_LEN + 1];
	size_t n = 0;
	int rc = -1;

	memset(&env, 0, sizeof(env));
	if (queue_file_read(m->fd, &env, NULL, NULL) != QUEUE_READ_OK || env.nrcpt != m->nrcpt) {
		log_warnx("%s: cannot read the message back for its notification", m->id);
		queue_env_clear(&env);
		return -1;
	}
	dr = calloc(m->nrcpt, sizeof(*dr));
	if (dr == NULL)
		fatal("calloc");
	for (size_t i = 0; i < m->nrcpt; i++) {
		struct rinfo *ri = &m->info[i];

		if (ri->report == 0 || !dsn_wanted(env.rcpt[i].notify, ri->report - 1))
			continue;
		dr[n].addr = env.rcpt[i].addr;
		dr[n].orcpt = env.rcpt[i].orcpt;
		dr[n].action = ri->report - 1;
		dr[n].status = ri->dsn;
		dr[n].remote_mta = ri->relay[0] != '\0' ? ri->relay : NULL;
		dr[n].diag = ri->text[0] != '\0' ? ri->text : NULL;
		dr[n].last_attempt = time(NULL);
		n++;
	}
	/* Never bounce a bounce (RFC 5321 §6.1, RFC 3461 §6.2). */
	if (n == 0 || env.from[0] == '\0') {
		rc = 0;
		goto out;
	}
	b = qmgr_file_new(q);
	if (b == NULL) {
		log_warn("%s: notification file", m->id);
		goto out;
	}
	err[0] = '\0';
	if (queue_dsn_write(b->fd, b->id, q->conf->hostname, &env, m->fd, dr, n, time(NULL), err,
		sizeof(err)) == -1) {
		log_warnx("%s: notification not written: %s", m->id, err);
		(void)unlinkat(q->tmpdir, b->id, 0);
		close(b->fd);
		goto out;
	}
	strlcpy(bid, b->id, sizeof(bid));
	if (qmgr_file_commit(q, b) == -1) { /* b is consumed either way */
		b = NULL;
		log_warn("%s: notification %s not committed", m->id, bid);
		goto out;
	}
	b = NULL;
	log_info("%s: sender %s notification: %s", m->id,
	    dr[0].action == DSN_FAILED        ? "non-delivery"
		: dr[0].action == DSN_DELAYED ? "delay"
					      : "delivery status",
	    bid);
	rc = 0;
out:
	if (rc == 0)
		for (size_t i = 0; i < m->nrcpt; i++)
			m->info[i].report = 0;
	free(b);
	free(dr);
	queue_env_clear(&env);
	return rc;
}

/*
 * Every job of an attempt is back: expire what waited too long, send the notifications
 * due, then remove the message, or save its state and set its next try.
 */
static void
qmsg_attempt_end(struct qmgr *q, struct qmsg *m)
{
	time_t now = time(NULL);
	bool open = false;

	if (m->deleted) {
		qmsg_remove(q, m);
		return;
	}
	if (m->had_temp && now - m->arrival >= (time_t)q->conf->queue_lifetime) {
		for (size_t i = 0; i < m->nrcpt; i++) {
			struct rinfo *ri;
			char text[sizeof(ri->text) + 64];

			if (!qmsg_open_rcpt(m, i))
				continue;
			ri = qmsg_info(m, i);
			(void)snprintf(text, sizeof(text), "delivery time expired; last error: %s",
			    ri->text[0] != '\0' ? ri->text : "none");
			strlcpy(ri->text, text, sizeof(ri->text));
			/* RFC 3463 §3.5: X.4.7, delivery time expired; 5: it is final now. */
			strlcpy(ri->dsn, "5.4.7", sizeof(ri->dsn));
			ri->report = 1 + DSN_FAILED;
			m->state[i] = RS_FAILED;
			log_info("%s: expired after %lld s in the queue (%s)", m->id,
			    (long long)(now - m->arrival), ri->text);
		}
		m->had_temp = false;
	}
	if (qmsg_reports_due(m) && qmsg_notify(q, m) == -1)
		m->had_temp = true; /* try the notification again at the next attempt */
	if (qmsg_finished(m)) {
		qmsg_remove(q, m);
		return;
	}
	for (size_t i = 0; i < m->nrcpt; i++)
		open = open || qmsg_open_rcpt(m, i);
	if (m->had_temp || !open) {
		m->attempts++;
		m->next_try = now + (time_t)qmsg_backoff(q, m);
	} else {
		m->next_try = 0;
	}
	if (qmsg_save_state(q, m) == -1)
		log_warn("%s: saving state", m->id);
	if (m->next_try != 0)
		qmsg_arm(q, m);
	else
		qmsg_start(q, m);
}

/* A delivery agent's answer for job j (already off every list). */
static void
qmgr_job_done(struct qmgr *q, struct job *j, const struct ipc_delivered *r)
{
	struct qmsg *m = j->m;

	if (strncmp(m->id, r->id, QUEUE_ID_LEN) != 0 || r->n != j->n)
		fatalx("delivery agent: reply for a job it was not given");
	for (uint32_t i = 0; i < r->n; i++) {
		const struct ipc_rcpt_result *x = &r->r[i];
		struct rinfo *ri;

		if (x->idx != j->idx[i] || !qmsg_open_rcpt(m, x->idx))
			fatalx("delivery agent: bad recipient index");
		qmgr_count(q,
		    x->status == DELIVER_OK         ? QSTAT_DELIVERED
			: x->status == DELIVER_PERM ? QSTAT_BOUNCED
						    : QSTAT_DEFERRED,
		    1);
		if (x->status == DELIVER_OK) {
			m->state[x->idx] = RS_DONE;
			/*
			 * RFC 3461 §4.1: SUCCESS asked for. The agent says what to report: a
			 * final delivery, a relay to a server that does not speak DSN
			 * (§5.2.2: "relayed"), an alias expanded to several targets
			 * ("expanded"), or nothing when another MTA reports.
			 */
			if ((m->notify[x->idx] & SMTP_NOTIFY_SUCCESS) &&
			    x->success != IPC_SUCCESS_NONE) {
				ri = qmsg_info(m, x->idx);
				strlcpy(ri->dsn, x->dsn, sizeof(ri->dsn));
				strlcpy(ri->relay, x->relay, sizeof(ri->relay));
				ri->text[0] = '\0';
				ri->report = 1 +
				    (x->success == IPC_SUCCESS_EXPANDED         ? DSN_EXPANDED
					    : x->success == IPC_SUCCESS_RELAYED ? DSN_RELAYED
										: DSN_DELIVERED);
			}
			continue;
		}
		ri = qmsg_info(m, x->idx);
		strlcpy(ri->dsn, x->dsn, sizeof(ri->dsn));
		strlcpy(ri->text, x->text, sizeof(ri->text));
		strlcpy(ri->relay, x->relay, sizeof(ri->relay));
		if (x->status == DELIVER_PERM) {
			m->state[x->idx] = RS_FAILED;
			ri->report = 1 + DSN_FAILED;
		} else {
			m->had_temp = true;
		}
	}
	free(j);
	m->dirty = true;
	if (--m->inflight == 0)
		qmsg_attempt_end(q, m);
}

/* A job that will get no answer (its worker died): every recipient deferred. */
static void
qmgr_job_lost(struct qmgr *q, struct job *j, const char *why)
{
	struct ipc_delivered *r = calloc(1, sizeof(*r));

	if (r == NULL)
		fatal("calloc");
	strlcpy(r->id, j->m->id, sizeof(r->id));
	r->n = j->n;
	for (uint32_t i = 0; i < j->n; i++) {
		r->r[i].idx = j->idx[i];
		r->r[i].status = DELIVER_TEMP;
		strlcpy(r->r[i].dsn, "4.3.0", sizeof(r->r[i].dsn));
		strlcpy(r->r[i].text, why, sizeof(r->r[i].text));
	}
	qmgr_job_done(q, j, r);
	free(r);
}

static void worker_spawn(struct qmgr *, struct worker *);

static void
worker_msg(void *arg, struct ipc_msg *msg)
{
	struct worker *w = arg;
	struct qmgr *q = w->q;
	struct job *j = w->job;
	struct dest *d;
	const struct ipc_delivered *r = (const struct ipc_delivered *)msg->data;

	if (msg->fd != -1 || msg->hdr.type != IPC_DELIVERED || j == NULL)
		fatalx("delivery worker %d: unexpected message", (int)w->pid);
	w->job = NULL;
	d = j->d;
	strlcpy(w->cached, r->cached ? d->name : "", sizeof(w->cached));
	TAILQ_INSERT_HEAD(&q->idle, w, idle);
	d->active--;
	qmgr_job_done(q, j, r);
	dest_update(q, d);
}

/* A worker is gone (EOF, or a send to it failed): its job is deferred, another starts. */
static void
worker_died(struct qmgr *q, struct worker *w)
{
	struct job *j = w->job;

	log_warnx(
	    "delivery worker %d went away%s", (int)w->pid, q->stopping ? "" : "; starting another");
	ev_io_stop(q->loop, &w->io);
	close(w->fd);
	w->fd = -1;
	if (j != NULL) {
		struct dest *d = j->d;

		w->job = NULL;
		d->active--;
		qmgr_job_lost(q, j, "delivery worker died; will retry");
		dest_update(q, d);
	} else {
		TAILQ_REMOVE(&q->idle, w, idle);
	}
	if (!q->stopping)
		worker_spawn(q, w);
}

static void
worker_cb(struct ev_io *io, int events, void *arg)
{
	struct worker *w = arg;
	struct qmgr *q = w->q;

	(void)io;
	(void)events;
	if (ipc_drain(w->fd, q->msg, worker_msg, w) != 0)
		worker_died(q, w);
	qmgr_dispatch(q);
	qmgr_stop_check(q);
}

/* Dead workers (and any other child) are reaped here: no zombies. */
static void
qmgr_sigchld(int signo, void *arg)
{
	(void)signo;
	(void)arg;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/*
 * Forks a delivery worker. The child keeps only its socket (as fd 3) and stderr (the log)
 * and runs remote_main(); it dies with us (PR_SET_PDEATHSIG).
 */
static void
worker_spawn(struct qmgr *q, struct worker *w)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1)
		fatal("socketpair");
	pid = fork();
	if (pid == -1)
		fatal("fork");
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(0);
		if (dup2(sv[1], 3) == -1)
			_exit(70);
		closefrom(4);
		_exit(remote_main(q->conf, 3));
	}
	close(sv[1]);
	w->q = q;
	w->fd = sv[0];
	w->pid = pid;
	w->job = NULL;
	w->cached[0] = '\0';
	ev_io_init(&w->io, w->fd, worker_cb, w);
	if (ev_io_set(q->loop, &w->io, EV_READ) == -1)
		fatal("event setup");
	TAILQ_INSERT_TAIL(&q->idle, w, idle);
}

/*
 * The group commit: every file in the batch renamed into queue/, one syncfs() for the
 * spool, then every client answered.
 */
static void
qmgr_flush_commits(void *arg)
{
	struct qmgr *q = arg;
	struct qmsg *m;
	struct ipc_qid r;
	int err = 0;

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
		qmgr_count(q, QSTAT_RECEIVED, 1);
		if (qmsg_load(q, m, true) != 0) {
			/* smtpd wrote a file we cannot read: keep it for an admin. */
			log_warnx("%s: committed file does not parse; left in the queue", m->id);
			continue;
		}
		qmsg_start(q, m);
	}
	qmgr_dispatch(q);
}

static void
smtpd_msg(void *arg, struct ipc_msg *msg)
{
	struct qmgr *q = arg;
	struct ipc_qid *qid = (struct ipc_qid *)msg->data;
	struct qmsg *m;

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
		/* smtpd stopped (shutdown): finish what it asked for, then stop too —
		   after the deliveries in progress, as on SIGTERM. */
		q->smtpd_gone = true;
		ev_io_stop(q->loop, &q->smtpd_io);
		qmgr_signal(SIGTERM, q);
		break;
	default:
		fatal("smtpd: bad message");
	}
}

static void
local_msg(void *arg, struct ipc_msg *msg)
{
	struct qmgr *q = arg;
	struct job *j = q->local_job;

	if (msg->fd != -1 || msg->hdr.type != IPC_DELIVERED || j == NULL)
		fatalx("delivery agent: unexpected message");
	q->local_job = NULL;
	qmgr_job_done(q, j, (const struct ipc_delivered *)msg->data);
}

static void
local_cb(struct ev_io *io, int events, void *arg)
{
	struct qmgr *q = arg;

	(void)io;
	(void)events;
	if (ipc_drain(q->local, q->msg, local_msg, q) != 0)
		fatalx("delivery agent went away");
	qmgr_dispatch(q);
	qmgr_stop_check(q);
}

/* Startup: tmp/ is emptied; every queue/ file is checked, the torn ones set aside. */
static void
qmgr_recover(struct qmgr *q)
{
	DIR *dir;
	struct dirent *de;
	struct qmsg *m;
	int fd, dfd, rc;
	unsigned n = 0, bad = 0;

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
		if (!queue_id_valid(de->d_name)) {
			char id[QUEUE_ID_LEN + 1];
			size_t len = strlen(de->d_name);

			/* A state file whose message is gone (a crash between the two unlinks). */
			if (len == QUEUE_ID_LEN + 3 &&
			    strcmp(de->d_name + QUEUE_ID_LEN, ".st") == 0) {
				strlcpy(id, de->d_name, sizeof(id));
				if (queue_id_valid(id) &&
				    faccessat(q->queuedir, id, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
				    errno == ENOENT)
					(void)unlinkat(q->queuedir, de->d_name, 0);
			}
			continue;
		}
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
		else if (m->next_try > time(NULL))
			qmsg_arm(q, m); /* deferred: keeps its next try across restarts */
		else
			qmsg_start(q, m);
	}
	closedir(dir);
	(void)fsync(q->queuedir);
	log_info("queue: %u messages recovered, %u torn set aside", n, bad);
}

/*
 * Stopping: once no job is out, leave the loop. Deliveries in progress are waited for
 * (at most QMGR_STOP_WAIT_MS) so their results reach ID.st: a restart must not send a
 * message a second time to recipients that already have it.
 */
#define QMGR_STOP_WAIT_MS 15000

static void
qmgr_stop_check(struct qmgr *q)
{
	if (!q->stopping || q->local_job != NULL)
		return;
	for (unsigned i = 0; i < q->conf->max_deliveries; i++)
		if (q->workers[i].job != NULL)
			return;
	ev_break(q->loop);
}

static void
qmgr_stop_timeout(struct ev_timer *t, void *arg)
{
	struct qmgr *q = arg;

	(void)t;
	log_warnx("deliveries still in progress after %d s; stopping anyway (they will be "
		  "tried again)",
	    QMGR_STOP_WAIT_MS / 1000);
	ev_break(q->loop);
}

static void
qmgr_signal(int signo, void *arg)
{
	struct qmgr *q = arg;

	(void)signo;
	/* Commits collected so far are finished first: never drop an acknowledgeable one. */
	qmgr_flush_commits(q);
	if (q->stopping)
		return;
	q->stopping = true;
	ev_timer_init(&q->stop_timer, qmgr_stop_timeout, q);
	ev_timer_start(q->loop, &q->stop_timer, QMGR_STOP_WAIT_MS);
	qmgr_stop_check(q);
}

/* At exit: results that came back during an attempt still open are saved. */
static void
qmgr_save_dirty(struct qmgr *q)
{
	struct qmsg *m;

	RB_FOREACH(m, qmsgs, &q->msgs)
	if (m->committed && m->dirty && qmsg_save_state(q, m) == -1)
		log_warn("%s: saving state", m->id);
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
	TAILQ_INIT(&q.local_jobs);
	RB_INIT(&q.dests);
	TAILQ_INIT(&q.ready);
	TAILQ_INIT(&q.idle);
	STAILQ_INIT(&q.out);
	if (net_set_nonblock(smtpd) == -1)
		fatal("smtpd socket");
	log_init("mxd/queue", false);
	mxd_drop_privileges(mxd, NULL);
	q.loop = ev_loop_new();
	q.msg = malloc(sizeof(*q.msg));
	q.workers = calloc(q.conf->max_deliveries, sizeof(*q.workers));
	if (q.loop == NULL || q.msg == NULL || q.workers == NULL)
		fatal("event loop");
	/* Workers first: they inherit nothing of the spool. */
	for (unsigned i = 0; i < q.conf->max_deliveries; i++)
		worker_spawn(&q, &q.workers[i]);
	q.spooldir = open_dir(AT_FDCWD, q.conf->spool);
	q.tmpdir = open_dir(q.spooldir, "tmp");
	q.queuedir = open_dir(q.spooldir, "queue");
	qmgr_recover(&q);
	ctl_init(&q);
	pickup_init(&q);
	ev_io_init(&q.smtpd_io, smtpd, smtpd_cb, &q);
	ev_io_init(&q.local_io, local, local_cb, &q);
	if (ev_io_set(q.loop, &q.smtpd_io, EV_READ) == -1 ||
	    ev_io_set(q.loop, &q.local_io, EV_READ) == -1 ||
	    ev_signal(q.loop, SIGTERM, qmgr_signal, &q) == -1 ||
	    ev_signal(q.loop, SIGINT, qmgr_signal, &q) == -1 ||
	    ev_signal(q.loop, SIGCHLD, qmgr_sigchld, &q) == -1)
		fatal("event setup");
	ev_set_idle(q.loop, qmgr_flush_commits, &q);
	qmgr_dispatch(&q);
	if (ev_run(q.loop) == -1)
		fatal("event loop");
	qmgr_save_dirty(&q);
	return 0;
}
