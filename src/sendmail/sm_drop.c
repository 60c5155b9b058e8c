/*
 * sm_drop — hands a message to mxd through the maildrop directory (notes/admin.md):
 *
 *   SPOOL/maildrop/.NAME.tmp   created O_CREAT|O_EXCL|O_NOFOLLOW, mode 0644, written as a
 *                              complete queue file (struct queue_w: its END record with
 *                              the CRC makes a torn file detectable), fsynced
 *   SPOOL/maildrop/NAME        the same file after rename(2): mxd picks up only names
 *                              without a dot, so it never sees a file being written
 *
 * NAME is 16 random hex digits from the CSPRNG, so names cannot be guessed: maildrop is
 * mode 1733 (anyone may create, nobody but mxd may list, the sticky bit keeps users from
 * removing each other's files). The file is 0644 because mxd reads it as its own user
 * while we may be anyone; nobody can find it by name to read it.
 *
 * Durability: file data and name are synced before we report success, as the queue's own
 * commit does. The directory fsync needs read permission on it, which only root and the
 * mxd user have; for other users the rename's durability is left to the file system
 * (ext4 and xfs commit a rename with the next journal transaction), as with Postfix's
 * postdrop. If mxd is not running the file simply waits there for its next start.
 *
 * Failure leaves nothing behind: the temporary file is unlinked on every error path, and
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT are blocked while the file exists under its .tmp name.
 */
#include <bsd/string.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "sendmail/sendmail.h"

#define NAME_TRIES 8

int
sm_drop(const char *spool, struct queue_env *env, const uint8_t *msg, size_t len,
    char name[QUEUE_ID_LEN + 1], char *err, size_t errlen)
{
	char		 dir[1100], tmp[1200], final[1200];
	struct queue_w	*w = NULL;
	sigset_t	 block, old;
	int		 fd = -1, dfd, rc = EX_TEMPFAIL, i, saved = 0;
	static struct queue_w qw;	/* 64 KiB buffer: not on the stack */

	if ((size_t)snprintf(dir, sizeof(dir), "%s/maildrop", spool) >= sizeof(dir)) {
		snprintf(err, errlen, "spool path too long");
		return EX_CANTCREAT;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigprocmask(SIG_BLOCK, &block, &old);

	for (i = 0; i < NAME_TRIES; i++) {
		queue_id_new(name);
		snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd != -1 || errno != EEXIST)
			break;
	}
	if (fd == -1) {
		snprintf(err, errlen, "cannot create a file in %s: %s%s", dir, strerror(errno),
		    errno == ENOENT ? " (mxd creates it when it starts)" : "");
		rc = EX_CANTCREAT;
		goto out;
	}
	/* The umask must not keep mxd from reading it (admin.md: 0644). */
	if (fchmod(fd, 0644) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: chmod: %s", tmp, strerror(errno));
		goto fail;
	}
	env->arrival = time(NULL);	/* mxd sets its own; this is for the record */
	strlcpy(env->id, name, sizeof(env->id));
	w = &qw;
	queue_w_init(w, fd);
	queue_w_env(w, env);
	queue_w_data(w, msg, len);
	if (queue_w_end(w) == -1) {
		saved = errno;
		snprintf(err, errlen, "writing %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (fsync(fd) == -1) {
		saved = errno;
		snprintf(err, errlen, "fsync %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		saved = errno;
		snprintf(err, errlen, "close %s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	snprintf(final, sizeof(final), "%s/%s", dir, name);
	if (rename(tmp, final) == -1) {
		saved = errno;
		snprintf(err, errlen, "rename %s: %s", tmp, strerror(errno));
		goto fail;
	}
	/* Best effort: only root and the mxd user may open the directory (mode 1733). */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = EX_OK;
	goto out;
fail:
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	errno = saved;
	rc = saved == EACCES || saved == EPERM ? EX_CANTCREAT : EX_TEMPFAIL;
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
	return rc;
}
