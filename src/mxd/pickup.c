/*
 * pickup — the drop directory, SPOOL/maildrop (mode 1733: anyone may create a file,
 * nobody but us may list or remove another's). sendmail(8), never privileged, and the
 * local delivery agent, forwarding to remote alias targets, write a complete mxd queue
 * file through queue_drop() (queue_drop.c), fsync it and rename it to its final name;
 * the queue manager takes it from there (inotify, a scan at start and every
 * PICKUP_SCAN_MS) and nothing is lost while mxd is down: the file waits.
 *
 * A drop file comes from any local user, so it is hostile input: it must be a regular
 * file with one link, at most max_message_size plus envelope room, read completely and
 * valid by queue_file_read() (records bounded, END and CRC checked), and its envelope must
 * pass queue_drop_env_bad() (pickup's rules live beside the writer, so the local agent
 * can check what it writes). Its envelope is taken as it is but for what we decide: a
 * fresh queue ID, the arrival time, and "localhost uid=UID" as the client, UID from fstat
 * (the kernel's word, not the file's). The copy is committed like any message (fsync,
 * rename, fsync queue/) before the drop file is unlinked, so a crash in between delivers
 * at worst twice, never not at all. A bad file is moved to corrupt/ with a log line (never
 * unlinked: if the move fails it stays); a read error or lack of memory is ours, not the
 * file's, and leaves it for the next scan. Files of our own user are the local agent's
 * forwards, already reported as forwarded: they are checked when written and exempt here
 * from max_message_size and max_recipients, which may have been lowered since.
 */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <bsd/string.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mxd/qmgr.h"
#include "util/log.h"

#define PICKUP_SCAN_MS 30000
#define PICKUP_BATCH   256 /* files per scan; the rest wait for the next */

struct pickup_copy {
	struct queue_w *w;
	uint64_t left; /* octets the message may still have */
	bool too_big;
};

/* Copies the message data into the new queue file, never more than max_message_size: the
   file may have grown since it was checked (its owner can still write to it). */
static int
pickup_data(void *arg, const void *p, size_t n)
{
	struct pickup_copy *c = arg;

	if (n > c->left) {
		c->too_big = true;
		return -1;
	}
	c->left -= n;
	queue_w_data(c->w, p, n);
	return 0;
}

static void
pickup_reject(struct qmgr *q, const char *name, const char *why)
{
	char dst[300];

	(void)snprintf(dst, sizeof(dst), "corrupt/maildrop.%s", name);
	if (renameat(q->dropdir, name, q->spooldir, dst) == -1) {
		/* Never unlinked instead: it may be a message someone was told is on its way. */
		log_warn("maildrop/%s: %s; not moved to corrupt/, left where it is", name, why);
		return;
	}
	log_warnx("maildrop/%s: %s; moved to corrupt/", name, why);
}

/* Takes one drop file into the queue. 0 done (taken or rejected), -1 try again later. */
static int
pickup_one(struct qmgr *q, const char *name)
{
	struct queue_env env, scratch;
	struct queue_w *w;
	struct pickup_copy copy;
	struct qmsg *m;
	struct stat st;
	enum queue_read_res r;
	char id[QUEUE_ID_LEN + 1];
	int fd;
	bool trusted;

	fd = openat(q->dropdir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		/* A symbolic link or a file we may not read is the file's fault: refused. */
		if (errno == ELOOP || errno == EACCES || errno == EPERM) {
			pickup_reject(
			    q, name, errno == ELOOP ? "a symbolic link" : strerror(errno));
			return 0;
		}
		log_warn("maildrop/%s", name);
		return -1; /* EMFILE, ENOMEM, EIO, ...: ours, not the file's: try again later */
	}
	if (fstat(fd, &st) == -1) {
		log_warn("maildrop/%s: fstat", name);
		close(fd);
		return -1;
	}
	/*
	 * A file of our own user was written by the local agent (a forward), which checked it
	 * against the limits in force then: the message has been reported forwarded, so a
	 * lower max_message_size or max_recipients since must not throw it away.
	 */
	trusted = st.st_uid == geteuid();
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    (!trusted &&
		(uint64_t)st.st_size >
		    q->conf->max_message_size + (uint64_t)QUEUE_RCPT_MAX * 1024)) {
		close(fd);
		pickup_reject(q, name, "not a regular file of one link and bounded size");
		return 0;
	}
	memset(&env, 0, sizeof(env));
	r = queue_file_read(fd, &env, NULL, NULL);
	if (r == QUEUE_READ_IOERR) {
		log_warn("maildrop/%s: read", name);
		queue_env_clear(&env);
		close(fd);
		return -1; /* EIO or no memory: try again later */
	}
	if (r != QUEUE_READ_OK || env.nrcpt == 0 ||
	    (!trusted && env.nrcpt > q->conf->max_recipients) || queue_drop_env_bad(&env) != NULL) {
		const char *why = r != QUEUE_READ_OK ? "not a complete queue file"
		    : env.nrcpt == 0 || env.nrcpt > q->conf->max_recipients
		    ? "no or too many recipients"
		    : queue_drop_env_bad(&env);

		queue_env_clear(&env);
		close(fd);
		pickup_reject(q, name, why);
		return 0;
	}
	m = qmgr_file_new(q);
	w = malloc(sizeof(*w));
	if (m == NULL || w == NULL) {
		log_warn("maildrop/%s: new queue file", name);
		if (m != NULL) {
			(void)unlinkat(q->tmpdir, m->id, 0);
			close(m->fd);
			free(m);
		}
		free(w);
		queue_env_clear(&env);
		close(fd);
		return -1;
	}
	strlcpy(env.id, m->id, sizeof(env.id));
	env.arrival = time(NULL);
	(void)snprintf(env.client, sizeof(env.client), "localhost uid=%u", (unsigned)st.st_uid);
	env.auth[0] = '\0';
	queue_w_init(w, m->fd);
	queue_w_env(w, &env);
	copy.w = w;
	copy.left = trusted ? UINT64_MAX : q->conf->max_message_size;
	copy.too_big = false;
	r = queue_file_read(fd, &scratch, pickup_data, &copy);
	queue_env_clear(&scratch);
	close(fd);
	strlcpy(id, m->id, sizeof(id));
	if (r != QUEUE_READ_OK || queue_w_end(w) == -1) {
		(void)unlinkat(q->tmpdir, m->id, 0);
		close(m->fd);
		free(m);
		if (r == QUEUE_READ_IOERR && !copy.too_big) {
			log_warn("maildrop/%s: read", name);
			goto fail; /* try again later */
		}
		if (r != QUEUE_READ_OK) {
			/* Changed under us, or too big now: it is not taken. */
			pickup_reject(q, name,
			    copy.too_big ? "larger than max_message_size"
					 : "changed while it was read");
			free(w);
			queue_env_clear(&env);
			return 0;
		}
		log_warn("maildrop/%s: copying into the queue", name);
		goto fail;
	}
	if (qmgr_file_commit(q, m) == -1) { /* m is consumed either way */
		log_warn("maildrop/%s: committing %s", name, id);
		goto fail;
	}
	free(w);
	if (unlinkat(q->dropdir, name, 0) == -1)
		log_warn("maildrop/%s: unlink", name);
	/* Postfix's pickup and qmgr lines, which pflogsumm counts; the drop name ties the new
	   ID to what sendmail -bs answered or the local agent logged when it forwarded. */
	log_info_as("mxd/pickup", "%s: uid=%u from=<%s> (maildrop/%s)", id, (unsigned)st.st_uid,
	    env.from, name);
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)", id, env.from,
	    (unsigned long long)env.size, env.nrcpt);
	qmgr_count(q, QSTAT_RECEIVED, 1);
	queue_env_clear(&env);
	return 0;
fail:
	free(w);
	queue_env_clear(&env);
	return -1;
}

void
pickup_scan(struct qmgr *q)
{
	DIR *dir;
	struct dirent *de;
	int dfd;
	unsigned n = 0;
	bool failed = false;

	if (q->dropdir == -1 || q->stopping)
		return;
	dfd = dup(q->dropdir);
	if (dfd == -1 || (dir = fdopendir(dfd)) == NULL) {
		if (dfd != -1)
			close(dfd);
		log_warn("maildrop");
		return;
	}
	/* The dup shares its position with dropdir: start from the top every time. */
	rewinddir(dir);
	/* Dot names are files being written; everything else is complete. */
	while ((de = readdir(dir)) != NULL && n < PICKUP_BATCH)
		if (de->d_name[0] != '.') {
			if (pickup_one(q, de->d_name) == -1)
				failed = true;
			n++;
		}
	closedir(dir);
	qmgr_dispatch(q);
	/* More waiting: go on at once, unless something failed (then the regular scan). */
	if (n == PICKUP_BATCH && !failed)
		ev_timer_start(q->loop, &q->drop_timer, 0);
}

static void
pickup_timer(struct ev_timer *t, void *arg)
{
	struct qmgr *q = arg;

	pickup_scan(q);
	if (!t->active)
		ev_timer_start(q->loop, t, PICKUP_SCAN_MS);
}

static void
pickup_notify(struct ev_io *io, int events, void *arg)
{
	struct qmgr *q = arg;
	char buf[4096];

	(void)io;
	(void)events;
	/* What changed does not matter: the directory is scanned. */
	while (read(q->drop_inotify, buf, sizeof(buf)) > 0)
		;
	pickup_scan(q);
}

void
pickup_init(struct qmgr *q)
{
	q->drop_inotify = -1;
	q->dropdir = openat(q->spooldir, "maildrop", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dropdir == -1) {
		log_warn("%s/maildrop: no sendmail pickup", q->conf->spool);
		return;
	}
	ev_timer_init(&q->drop_timer, pickup_timer, q);
	q->drop_inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (q->drop_inotify != -1) {
		char path[1100];

		(void)snprintf(path, sizeof(path), "%s/maildrop", q->conf->spool);
		if (inotify_add_watch(q->drop_inotify, path, IN_MOVED_TO | IN_CLOSE_WRITE) == -1) {
			close(q->drop_inotify);
			q->drop_inotify = -1;
		}
	}
	if (q->drop_inotify != -1) {
		ev_io_init(&q->drop_io, q->drop_inotify, pickup_notify, q);
		if (ev_io_set(q->loop, &q->drop_io, EV_READ) == -1)
			fatal("event setup");
	}
	ev_timer_start(q->loop, &q->drop_timer, 0); /* the first scan, at once */
}
