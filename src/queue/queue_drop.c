/*
 * queue_drop — the maildrop: how a message enters the queue without SMTP, and what a
 * writer must know to hand one over safely.
 *
 *   temporary file           created O_CREAT|O_EXCL|O_NOFOLLOW, written as a complete
 *                            queue file (struct queue_w: its END record with the CRC
 *                            makes a torn file detectable), fsynced
 *   SPOOL/maildrop/NAME      the same file after rename(2); the queue manager's pickup
 *                            (src/mxd/pickup.c) takes only names without a dot, reads the
 *                            file back whole, checks its envelope with the rules below,
 *                            commits a copy with a fresh queue ID and unlinks it
 *
 * Two writers, one function:
 *  - sendmail(8), run by any local user: the temporary file is SPOOL/maildrop/.NAME.tmp,
 *    mode 0644 (mxd reads it as its own user; nobody else can find it: maildrop is mode
 *    1733 and NAME is 64 random bits). The directory fsync needs read permission on
 *    maildrop/, which only root and the mail user have; for everyone else the rename's
 *    durability is left to the file system (ext4 and xfs commit a rename with the next
 *    journal transaction), as with Postfix's postdrop.
 *  - the local delivery agent (QUEUE_DROP_OWNER), as the mail user, re-injecting a message
 *    for an alias's remote targets as Postfix's local(8) does through cleanup. Its
 *    temporary file is SPOOL/tmp/fwd.NAME, mode 0600: the queue manager empties tmp/ at
 *    every start, so a crash in the middle of the write leaves nothing behind. The rename
 *    must be made durable by an fsync of maildrop/ before success is returned, because the
 *    agent then reports the recipient delivered: a failed directory fsync unlinks the
 *    file again (if pickup has not taken it already) and fails.
 *
 * Failure leaves nothing behind: the temporary file is unlinked on every error path, and
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT are blocked while it exists (an interrupted sendmail
 * would otherwise leave it). The handle owns a 64 KiB write buffer and lives on the heap.
 *
 * Pickup's rules for an envelope (queue_drop_env_bad) live here, beside the writer, so a
 * writer can check what it is about to write: pickup moves a file that breaks them to
 * corrupt/, which for a file the local agent wrote after reporting a recipient delivered
 * would be a lost message.
 *
 * Forwarding also needs loop detection: queue_dt_* finds a Delivered-To field (RFC 9228)
 * naming a given address in a message's header section, streaming, with a bounded buffer.
 */
#include <bsd/string.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue.h"

#define DROP_NAME_TRIES 8
#define DROP_PATH_MAX   1200

struct queue_drop {
	struct queue_w w;
	char dir[DROP_PATH_MAX]; /* SPOOL/maildrop */
	char tmp[DROP_PATH_MAX];
	char final[DROP_PATH_MAX];
	unsigned flags;
	int fd;
	sigset_t oldmask;
};

/* Restores the signal mask and frees d; the files are the caller's business by now. */
static void
drop_free(struct queue_drop *d)
{
	sigset_t old = d->oldmask;

	free(d);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
}

static void
drop_fail(struct queue_drop *d)
{
	int saved = errno;

	if (d->fd != -1)
		close(d->fd);
	(void)unlink(d->tmp);
	drop_free(d);
	errno = saved;
}

/* The three paths for NAME; -1 when one does not fit. */
static int
drop_paths(struct queue_drop *d, const char *spool, const char *name)
{
	int a, b, c;

	a = snprintf(d->dir, sizeof(d->dir), "%s/maildrop", spool);
	b = snprintf(d->final, sizeof(d->final), "%s/maildrop/%s", spool, name);
	if (d->flags & QUEUE_DROP_OWNER)
		c = snprintf(d->tmp, sizeof(d->tmp), "%s/tmp/fwd.%s", spool, name);
	else
		c = snprintf(d->tmp, sizeof(d->tmp), "%s/maildrop/.%s.tmp", spool, name);
	return a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof(d->dir) ||
		(size_t)b >= sizeof(d->final) || (size_t)c >= sizeof(d->tmp)
	    ? -1
	    : 0;
}

struct queue_drop *
queue_drop_open(const char *spool, unsigned flags, struct queue_env *env,
    char name[QUEUE_ID_LEN + 1], enum queue_drop_res *res, char *err, size_t errlen)
{
	struct queue_drop *d;
	sigset_t block;
	mode_t mode = (flags & QUEUE_DROP_OWNER) ? 0600 : 0644;
	int saved;

	*res = QUEUE_DROP_NOCREATE;
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		*res = QUEUE_DROP_FAIL;
		return NULL;
	}
	d->flags = flags;
	d->fd = -1;
	queue_id_new(name);
	if (drop_paths(d, spool, name) == -1) {
		free(d);
		(void)snprintf(err, errlen, "spool path too long");
		errno = ENAMETOOLONG;
		return NULL;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	(void)sigprocmask(SIG_BLOCK, &block, &d->oldmask);

	for (int i = 0; i < DROP_NAME_TRIES; i++) {
		if (i > 0) {
			queue_id_new(name);
			(void)drop_paths(d, spool, name); /* same lengths as the first */
		}
		d->fd = open(d->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (d->fd != -1 || errno != EEXIST)
			break;
	}
	if (d->fd == -1) {
		saved = errno;
		if (flags & QUEUE_DROP_OWNER)
			(void)snprintf(
			    err, errlen, "cannot create %s: %s", d->tmp, strerror(saved));
		else
			(void)snprintf(err, errlen, "cannot create a file in %s: %s%s", d->dir,
			    strerror(saved),
			    saved == ENOENT ? " (mxd creates it when it starts)" : "");
		drop_free(d);
		errno = saved;
		return NULL;
	}
	*res = QUEUE_DROP_FAIL;
	/* The umask must not keep mxd from reading a file another user wrote. */
	if (fchmod(d->fd, mode) == -1) {
		(void)snprintf(err, errlen, "%s: chmod: %s", d->tmp, strerror(errno));
		drop_fail(d);
		return NULL;
	}
	*res = QUEUE_DROP_OK;
	if (flags & QUEUE_DROP_RAW)
		return d;
	env->arrival = time(NULL); /* pickup sets its own; this is for the record */
	strlcpy(env->id, name, sizeof(env->id));
	queue_w_init(&d->w, d->fd);
	queue_w_env(&d->w, env);
	return d;
}

int
queue_drop_fd(const struct queue_drop *d)
{
	return d->fd;
}

void
queue_drop_data(struct queue_drop *d, const void *p, size_t len)
{
	queue_w_data(&d->w, p, len);
}

enum queue_drop_res
queue_drop_commit(struct queue_drop *d, char *err, size_t errlen)
{
	int dfd, saved;

	if (!(d->flags & QUEUE_DROP_RAW) && queue_w_end(&d->w) == -1) {
		(void)snprintf(err, errlen, "writing %s: %s", d->tmp, strerror(errno));
		goto fail;
	}
	if (fsync(d->fd) == -1) {
		(void)snprintf(err, errlen, "fsync %s: %s", d->tmp, strerror(errno));
		goto fail;
	}
	if (close(d->fd) == -1) {
		d->fd = -1;
		(void)snprintf(err, errlen, "close %s: %s", d->tmp, strerror(errno));
		goto fail;
	}
	d->fd = -1;
	/*
	 * Never over another file: for sendmail the sticky bit stops that, but the local agent
	 * runs as the directory's owner. A name taken (by a 64-bit chance) fails the drop,
	 * which the caller retries later; a file system without RENAME_NOREPLACE gets rename.
	 */
	if (renameat2(AT_FDCWD, d->tmp, AT_FDCWD, d->final, RENAME_NOREPLACE) == -1 &&
	    ((errno != EINVAL && errno != ENOSYS) || rename(d->tmp, d->final) == -1)) {
		(void)snprintf(err, errlen, "rename %s: %s", d->tmp, strerror(errno));
		goto fail;
	}
	dfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || fsync(dfd) == -1) {
		saved = errno;
		if (dfd != -1)
			close(dfd);
		if (d->flags & QUEUE_DROP_OWNER) {
			/*
			 * The name may not survive a crash, and the caller is about to report
			 * the message handed over: take it back and fail instead. If pickup
			 * has taken it already it is committed, and a retry sends it twice
			 * (at least once, never lost).
			 */
			(void)snprintf(err, errlen, "fsync %s: %s", d->dir, strerror(saved));
			(void)unlink(d->final);
			drop_free(d);
			errno = saved;
			return QUEUE_DROP_FAIL;
		}
		/* sendmail as another user: only root and the mail user may open maildrop/. */
	} else {
		close(dfd);
	}
	drop_free(d);
	return QUEUE_DROP_OK;
fail:
	drop_fail(d);
	return QUEUE_DROP_FAIL;
}

void
queue_drop_abort(struct queue_drop *d)
{
	if (d != NULL)
		drop_fail(d);
}

enum queue_drop_res
queue_drop(const char *spool, unsigned flags, struct queue_env *env, const void *msg, size_t len,
    char name[QUEUE_ID_LEN + 1], char *err, size_t errlen)
{
	struct queue_drop *d;
	enum queue_drop_res res;

	d = queue_drop_open(spool, flags, env, name, &res, err, errlen);
	if (d == NULL)
		return res;
	queue_drop_data(d, msg, len);
	return queue_drop_commit(d, err, errlen);
}

/* --- pickup's rules ----------------------------------------------------------------------- */

bool
queue_drop_path_ok(const char *addr, unsigned flags)
{
	char buf[SMTP_ADDR_MAX + 3];
	struct smtp_path p;
	struct smtp_perr e;
	int n;

	n = snprintf(buf, sizeof(buf), "<%s>", addr);
	return n > 0 && (size_t)n < sizeof(buf) &&
	    smtp_path_parse(buf, (size_t)n, flags, &p, &e) == n;
}

bool
queue_drop_text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

const char *
queue_drop_env_bad(const struct queue_env *env)
{
	if (!queue_drop_path_ok(env->from, SMTP_PATH_NULL | SMTP_PATH_UTF8))
		return "bad sender address";
	if (!queue_drop_text_ok(env->envid))
		return "bad ENVID";
	for (size_t i = 0; i < env->nrcpt; i++) {
		if (!queue_drop_path_ok(env->rcpt[i].addr, SMTP_PATH_UTF8 | SMTP_PATH_POSTMASTER))
			return "bad recipient address";
		if (!queue_drop_text_ok(env->rcpt[i].orcpt))
			return "bad ORCPT";
	}
	return NULL;
}

/* --- Delivered-To (RFC 9228) ----------------------------------------------------------- */

void
queue_dt_init(struct queue_dt *dt, const char *addr)
{
	memset(dt, 0, sizeof(*dt));
	dt->addr = addr;
	dt->bol = true;
}

/* The field collected so far is complete: does its value name the address? */
static void
dt_end_field(struct queue_dt *dt)
{
	char *v = dt->val, *e;

	if (dt->collect && !dt->over && !dt->found) {
		dt->val[dt->len] = '\0';
		e = v + dt->len;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		/* Postfix writes the bare address; some writers put it in angle brackets. */
		if (e - v >= 2 && *v == '<' && e[-1] == '>') {
			v++;
			e--;
		}
		*e = '\0';
		if (v[0] != '\0' && strcasecmp(v, dt->addr) == 0)
			dt->found = true;
	}
	dt->collect = false;
	dt->over = false;
	dt->len = 0;
}

void
queue_dt_feed(struct queue_dt *dt, const void *p, size_t len)
{
	static const char name[] = "delivered-to:";
	const uint8_t *c = p;
	uint8_t lc;

	for (size_t i = 0; i < len && !dt->done; i++) {
		if (dt->bol) {
			dt->bol = false;
			/* An empty line ends the header section (RFC 5322 §2.1). */
			if (c[i] == '\r' || c[i] == '\n') {
				dt_end_field(dt);
				dt->done = true;
				break;
			}
			/* WSP first: the field goes on (folding, RFC 5322 §2.2.3). */
			if (c[i] != ' ' && c[i] != '\t') {
				dt_end_field(dt);
				dt->match = 0;
			}
		}
		if (c[i] == '\n') {
			dt->bol = true;
			continue;
		}
		if (dt->match < sizeof(name) - 1) {
			/* Still reading a field name: "Delivered-To:", in any case? */
			lc = c[i] >= 'A' && c[i] <= 'Z' ? (uint8_t)(c[i] + 32) : c[i];
			if (lc == (uint8_t)name[dt->match]) {
				if (++dt->match == sizeof(name) - 1)
					dt->collect = true;
			} else {
				dt->match = 0xff;
			}
			continue;
		}
		if (!dt->collect || c[i] == '\r')
			continue;
		if (dt->len == QUEUE_DT_VALUE_MAX)
			dt->over = true; /* longer than any address: not ours */
		else
			dt->val[dt->len++] = (char)c[i];
	}
}

bool
queue_dt_found(struct queue_dt *dt)
{
	if (!dt->done)
		dt_end_field(dt); /* the input ended inside the header section */
	return dt->found;
}
