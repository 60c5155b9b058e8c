/*
 * queue_maildir — local delivery into a Maildir (cr.yp.to/proto/maildir.html) at
 * ROOT/DOMAIN/LOCAL/.
 *
 * The Maildir protocol is the queue's commit protocol in small: write tmp/UNIQUE, fsync
 * it, move it into new/ (an atomic rename that refuses to replace, or link + unlink where
 * the file system lacks RENAME_NOREPLACE), fsync new/. A reader never sees a partial
 * message, and once we report OK the message survives a crash. A delivery that fails at
 * any step removes its tmp/ file, so tmp/ only ever holds files of deliveries in progress
 * (or of a crash, which MUAs clean up after 36 hours as the spec says).
 *
 * Names: DOMAIN and LOCAL come from the envelope, so they are checked before they touch
 * the file system. Each must be one safe path component: 1..255 octets of atext (RFC 5322
 * §3.2.3) minus '/', plus well-formed UTF-8 (RFC 6531 local parts), not starting with '.'
 * (so never "." or ".."). Anything else is a permanent failure: 5.1.3 (bad address syntax,
 * RFC 3463) for control octets and broken UTF-8, which no valid address has, 5.1.1 (no
 * such mailbox) for addresses that are valid SMTP but cannot name a mailbox here ('/', a
 * leading dot, a quoted local part with spaces). Both are lower-cased (ASCII only) for the
 * directory, so User@ and user@ share a mailbox, as every MUA user expects even though RFC
 * 5321 §2.4 lets a server tell them apart; aliases are matched the same way.
 *
 * Symlinks: ROOT is the administrator's and may be a symlink. Below it every directory is
 * created with mkdirat() and opened with openat(O_DIRECTORY|O_NOFOLLOW) relative to its
 * parent's descriptor, and the message with O_CREAT|O_EXCL|O_NOFOLLOW, so a user who can
 * write inside a maildir cannot redirect a delivery elsewhere by planting a link. A link
 * found there fails the delivery temporarily (4.3.0) for the administrator to look at.
 * Directories created here are fsynced into their parents before the message is.
 *
 * Errors: missing ROOT 4.3.5 (misconfiguration); ENOSPC 4.3.1; EDQUOT 4.2.2; any other
 * system error, and a queue file that does not read back OK, 4.3.0. All temporary: the
 * message stays queued.
 */
#include <sys/stat.h>
#include <sys/time.h>

#include <bsd/string.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"
#include "util/rand.h"

#define MD_BUF      65536
#define MD_NAME_MAX (NAME_MAX + 1)
#define MD_TRIES    5 /* unique names tried before giving up */

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* The Q part of unique names: deliveries by this process (the spec's "Qn"). */
static atomic_ulong md_seq;

static void
md_result(struct deliver_result *res, enum deliver_status st, const char *dsn, const char *text)
{
	res->status = st;
	strlcpy(res->dsn, dsn, sizeof(res->dsn));
	strlcpy(res->text, text, sizeof(res->text));
}

/* A system error during delivery: always temporary; which class depends on errno. */
static void
md_syserr(struct deliver_result *res, int e, const char *what, const char *name)
{
	const char *dsn;
	char where[MD_NAME_MAX + 160];

	switch (e) {
	case ENOSPC:
		dsn = "4.3.1"; /* RFC 3463: mail system full */
		break;
	case EDQUOT:
		dsn = "4.2.2"; /* mailbox full */
		break;
	default:
		dsn = "4.3.0";
		break;
	}
	(void)snprintf(where, sizeof(where), "maildir: %s %s: %s", what, name, strerror(e));
	md_result(res, DELIVER_TEMP, dsn, where);
}

/* Length of the UTF-8 sequence at s (RFC 3629 §4: no overlongs, no surrogates), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Checks that s is safe as one directory name and writes it lower-cased into out.
 * Returns NULL, or the enhanced status code of the permanent failure.
 */
static const char *
md_component(const char *s, char out[MD_NAME_MAX])
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	if (p[0] == '\0')
		return "5.1.3";
	if (p[0] == '.')
		return "5.1.1";
	while (p[i] != '\0') {
		if (i >= NAME_MAX)
			return "5.1.1";
		if (p[i] < 0x20 || p[i] == 0x7f)
			return "5.1.3";
		if (p[i] >= 0x80) {
			k = utf8_len(p + i);
			if (k == 0 || i + k > NAME_MAX)
				return k == 0 ? "5.1.3" : "5.1.1";
			memcpy(out + i, p + i, k);
			i += k;
			continue;
		}
		/* RFC 5322 §3.2.3 atext and '.', without '/'; '[' ']' ':' for literals. */
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') ||
			(p[i] >= '0' && p[i] <= '9') ||
			strchr("!#$%&'*+-=?^_`{|}~.[]:", p[i]) != NULL))
			return "5.1.1";
		out[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
		i++;
	}
	out[i] = '\0';
	return NULL;
}

/*
 * Opens (creating it 0700 when missing) the directory name under parent without
 * following a symlink. *created is set when this call made it. -1 with errno on error.
 */
static int
md_subdir(int parent, const char *name, bool *created)
{
	int fd;

	if (mkdirat(parent, name, 0700) == 0)
		*created = true;
	else if (errno != EEXIST)
		return -1;
	fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

/* time.M<usec>P<pid>Q<seq>R<random>.host — the spec's "modern delivery identifier". */
static void
md_unique(char out[MD_NAME_MAX], const char *hostname)
{
	struct timeval tv;
	char host[MD_NAME_MAX / 2];
	size_t i, o = 0;
	uint32_t r[2];

	/* The spec: / becomes \057 and : becomes \072 in the host part. */
	for (i = 0; hostname[i] != '\0' && o + 5 < sizeof(host); i++) {
		if (hostname[i] == '/' || hostname[i] == ':') {
			(void)snprintf(host + o, sizeof(host) - o, "\\%03o",
			    (unsigned)(unsigned char)hostname[i]);
			o += 4;
		} else
			host[o++] = hostname[i];
	}
	host[o] = '\0';
	if (o == 0)
		strlcpy(host, "localhost", sizeof(host));
	(void)gettimeofday(&tv, NULL);
	rand_bytes(r, sizeof(r));
	(void)snprintf(out, MD_NAME_MAX, "%lld.M%06ldP%ldQ%luR%08x%08x.%s", (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), (unsigned long)atomic_fetch_add(&md_seq, 1) + 1, r[0],
	    r[1], host);
}

/* The new/ name of one (message, recipient): the same on every attempt (see queue.h). */
static void
md_final_name(
    char out[MD_NAME_MAX], const struct queue_env *env, const char *rcpt, const char *tmpname)
{
	/* md_unique()'s escaped host part: everything after the second dot. */
	const char *host = strchr(tmpname, '.');

	host = host != NULL ? strchr(host + 1, '.') : NULL;

	(void)snprintf(out, MD_NAME_MAX, "%lld.Q%sR%08x%s", (long long)env->arrival, env->id,
	    queue_crc32c(0, rcpt, strlen(rcpt)), host != NULL ? host : ".localhost");
}

/* Is the message already in new/, or (after a restart) in cur/ under "NAME:2,..."? */
static bool
md_delivered(int newfd, int curfd, const char *final, bool redelivery)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	size_t n = strlen(final);
	bool found = false;
	int fd;

	if (fstatat(newfd, final, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return true;
	if (!redelivery)
		return false;
	fd = dup(curfd);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return false;
	}
	while (!found && (de = readdir(d)) != NULL)
		found = strncmp(de->d_name, final, n) == 0 &&
		    (de->d_name[n] == '\0' || de->d_name[n] == ':');
	closedir(d);
	return found;
}

/* Body writer: CRLF -> LF (Maildir files use the local line end), buffered. */
struct md_out {
	int fd;
	bool cr; /* a CR ended the previous chunk */
	int err; /* errno of the first failed write */
	size_t len;
	uint8_t buf[MD_BUF];
};

static void
md_flush(struct md_out *o)
{
	size_t off = 0;
	ssize_t r;

	while (off < o->len && o->err == 0) {
		r = write(o->fd, o->buf + off, o->len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			o->err = r < 0 ? errno : EIO;
		else
			off += (size_t)r;
	}
	o->len = 0;
}

static void
md_put(struct md_out *o, const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t k;

	while (n > 0 && o->err == 0) {
		if (o->len == sizeof(o->buf))
			md_flush(o);
		k = sizeof(o->buf) - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, b, k);
		o->len += k;
		b += k;
		n -= k;
	}
}

static int
md_body(void *arg, const void *p, size_t n)
{
	struct md_out *o = arg;
	const uint8_t *b = p, *cr;
	size_t k;

	if (n > 0 && o->cr) {
		/* A CR held back from the last chunk: drop it if an LF follows. */
		if (b[0] != '\n')
			md_put(o, "\r", 1);
		o->cr = false;
	}
	while (n > 0) {
		cr = memchr(b, '\r', n);
		if (cr == NULL) {
			md_put(o, b, n);
			break;
		}
		k = (size_t)(cr - b);
		md_put(o, b, k);
		b += k + 1;
		n -= k + 1;
		if (n == 0)
			o->cr = true;
		else if (b[0] != '\n')
			md_put(o, "\r", 1); /* a lone CR (BINARYMIME) is kept */
	}
	if (o->err != 0) {
		errno = o->err;
		return -1;
	}
	return 0;
}

/* An address for a header line: printable (UTF-8 allowed), so it cannot fold or inject. */
static bool
md_header_safe(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Writes tmp/NAME and moves it to new/; res describes any failure. */
static int
md_write(int tmpfd, int newfd, int curfd, int msgfd, const struct queue_env *env, const char *rcpt,
    const char *hostname, struct deliver_result *res, bool redelivery)
{
	char name[MD_NAME_MAX], final[MD_NAME_MAX];
	struct md_out *o;
	struct queue_env fenv;
	enum queue_read_res rr;
	int fd = -1, i, e;

	md_unique(name, hostname);
	md_final_name(final, env, rcpt, name);
	if (md_delivered(newfd, curfd, final, redelivery)) {
		res->status = DELIVER_OK;
		strlcpy(res->dsn, "2.0.0", sizeof(res->dsn));
		(void)snprintf(res->text, sizeof(res->text), "already in the maildir as %s", final);
		return 0;
	}
	for (i = 0; i < MD_TRIES && fd == -1; i++) {
		if (i > 0)
			md_unique(name, hostname);
		fd =
		    openat(tmpfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST) {
			md_syserr(res, errno, "create", "tmp/");
			return -1;
		}
	}
	if (fd == -1) {
		md_syserr(res, EEXIST, "create", "tmp/");
		return -1;
	}
	o = malloc(sizeof(*o));
	if (o == NULL) {
		e = errno;
		goto fail;
	}
	o->fd = fd;
	o->cr = false;
	o->err = 0;
	/* RFC 5321 §4.4: the final delivery records the reverse path, "<>" when null. */
	o->len = (size_t)snprintf((char *)o->buf, sizeof(o->buf),
	    "Return-Path: <%s>\nDelivered-To: %s\n", env->from, rcpt);
	rr = queue_file_read(msgfd, &fenv, md_body, o);
	queue_env_clear(&fenv);
	if (rr == QUEUE_READ_OK && o->cr)
		md_put(o, "\r", 1);
	if (rr == QUEUE_READ_OK)
		md_flush(o);
	e = o->err;
	free(o);
	if (rr != QUEUE_READ_OK && e == 0) {
		md_result(res, DELIVER_TEMP, "4.3.0",
		    rr == QUEUE_READ_TORN      ? "maildir: queue file torn, not delivered"
			: rr == QUEUE_READ_BAD ? "maildir: queue file bad, not delivered"
					       : "maildir: queue file unreadable");
		goto fail_res;
	}
	if (e != 0)
		goto fail;
	if (fsync(fd) == -1 || close(fd) == -1) {
		e = errno;
		fd = -1;
		goto fail;
	}
	fd = -1;
	/*
	 * new/ gets the (message, recipient) name. If it is there already, an earlier
	 * attempt delivered it: keep that copy, drop ours.
	 */
	if (renameat2(tmpfd, name, newfd, final, RENAME_NOREPLACE) == -1) {
		/* No RENAME_NOREPLACE on this file system: link(2) never replaces either. */
		if ((errno == EINVAL || errno == ENOSYS) &&
		    linkat(tmpfd, name, newfd, final, 0) == -1 && errno != EEXIST) {
			e = errno;
			goto fail;
		}
		if (errno != EEXIST && errno != EINVAL && errno != ENOSYS) {
			e = errno;
			goto fail;
		}
		(void)unlinkat(tmpfd, name, 0);
	}
	if (fsync(newfd) == -1) {
		/* The name may not be durable: the message is in new/ but we cannot say so. */
		md_syserr(res, errno, "fsync", "new/");
		return -1;
	}
	res->status = DELIVER_OK;
	strlcpy(res->dsn, "2.0.0", sizeof(res->dsn));
	(void)snprintf(res->text, sizeof(res->text), "delivered to maildir as new/%s", final);
	return 0;

fail:
	md_syserr(res, e, "write", "tmp/");
fail_res:
	if (fd != -1)
		(void)close(fd);
	(void)unlinkat(tmpfd, name, 0);
	return -1;
}

int
maildir_deliver(const char *root, const char *domain, const char *local, int msgfd,
    const struct queue_env *env, const char *rcpt, const char *hostname, struct deliver_result *res,
    bool redelivery)
{
	char dname[MD_NAME_MAX], lname[MD_NAME_MAX];
	const char *bad;
	int rootfd = -1, dfd = -1, ufd = -1, tmpfd = -1, newfd = -1, curfd = -1;
	int rc = -1;
	bool dnew = false, unew = false, snew = false;

	memset(res, 0, sizeof(*res));
	bad = md_component(domain, dname);
	if (bad != NULL) {
		md_result(res, DELIVER_PERM, bad, "maildir: domain cannot name a mailbox");
		return -1;
	}
	bad = md_component(local, lname);
	if (bad != NULL) {
		md_result(res, DELIVER_PERM, bad, "maildir: local part cannot name a mailbox here");
		return -1;
	}
	if (!md_header_safe(env->from) || !md_header_safe(rcpt)) {
		md_result(res, DELIVER_PERM, "5.1.3",
		    "maildir: control characters in an envelope address");
		return -1;
	}
	rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd == -1) {
		if (errno == ENOENT) {
			md_result(res, DELIVER_TEMP, "4.3.5", "maildir: ");
			strlcat(res->text, root, sizeof(res->text));
			strlcat(res->text, ": mailbox_root does not exist", sizeof(res->text));
		} else
			md_syserr(res, errno, "open", "mailbox_root");
		return -1;
	}
	dfd = md_subdir(rootfd, dname, &dnew);
	if (dfd == -1) {
		md_syserr(res, errno, "directory", dname);
		goto out;
	}
	ufd = md_subdir(dfd, lname, &unew);
	if (ufd == -1) {
		md_syserr(res, errno, "directory", lname);
		goto out;
	}
	tmpfd = md_subdir(ufd, "tmp", &snew);
	newfd = tmpfd == -1 ? -1 : md_subdir(ufd, "new", &snew);
	curfd = newfd == -1 ? -1 : md_subdir(ufd, "cur", &snew);
	if (curfd == -1) {
		md_syserr(res, errno, "directory", lname);
		goto out;
	}
	/* New directories are made durable before a message in them is reported so. */
	if ((dnew && fsync(rootfd) == -1) || (unew && fsync(dfd) == -1) ||
	    (snew && fsync(ufd) == -1)) {
		md_syserr(res, errno, "fsync", "maildir");
		goto out;
	}
	rc = md_write(tmpfd, newfd, curfd, msgfd, env, rcpt, hostname, res, redelivery);
out:
	if (curfd != -1)
		(void)close(curfd);
	if (newfd != -1)
		(void)close(newfd);
	if (tmpfd != -1)
		(void)close(tmpfd);
	if (ufd != -1)
		(void)close(ufd);
	if (dfd != -1)
		(void)close(dfd);
	(void)close(rootfd);
	return rc;
}
