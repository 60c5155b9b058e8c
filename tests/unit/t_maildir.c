/*
 * t_maildir — Maildir delivery in a temp dir under /tmp: the exact bytes in new/ (headers
 * prepended, CRLF -> LF, a CRLF split across QR_DATA records, a lone CR kept), tmp/ empty
 * afterwards, modes, unique names, local parts refused (PERM) with nothing created, a
 * missing or read-only root and a planted symlink (TEMP), a torn queue file (TEMP).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"
#include "tap.h"

static char tmpdir[] = "/tmp/t_maildir.XXXXXX";
static char root[300];

static void
mk_env(struct queue_env *e, const char *from)
{
	memset(e, 0, sizeof(*e));
	queue_id_new(e->id);
	e->arrival = 1700000000;
	snprintf(e->client, sizeof(e->client), "127.0.0.1 localhost");
	snprintf(e->from, sizeof(e->from), "%s", from);
	if (queue_env_add_rcpt(e, "User@Example.ORG", 0, NULL) == -1)
		tap_bail("add_rcpt");
}

/* A queue file (unlinked, open for reading) holding body; split > 0 forces a DATA record
 * boundary after that many body octets. */
static int
mk_queue(const struct queue_env *e, const char *body, size_t len, size_t split)
{
	static struct queue_w w;
	char p[400];
	int fd;
	size_t first;

	snprintf(p, sizeof(p), "%s/qf", tmpdir);
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd == -1)
		tap_bail("queue file");
	(void)unlink(p);
	queue_w_init(&w, fd);
	queue_w_env(&w, e);
	if (split > 0) {
		/* The open DATA record is closed when the 64 KiB buffer fills. */
		first = sizeof(w.buf) - w.len - 5;
		char *pad = malloc(first);
		memset(pad, 'p', first - split);
		memcpy(pad + first - split, body, split);
		queue_w_data(&w, pad, first);
		free(pad);
		queue_w_data(&w, body + split, len - split);
	} else
		queue_w_data(&w, body, len);
	if (queue_w_end(&w) == -1)
		tap_bail("queue_w_end");
	(void)lseek(fd, 5, SEEK_SET); /* maildir_deliver must not care */
	return fd;
}

/* Reads the single file in dir into buf; returns its size, -1 if not exactly one file. */
static ssize_t
only_file(const char *dir, char *name, size_t namelen, char *buf, size_t cap)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0, fd;
	char p[1200];
	ssize_t got = -1;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		snprintf(name, namelen, "%s", de->d_name);
	}
	closedir(d);
	if (n != 1)
		return -1;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY);
	if (fd == -1)
		return -1;
	got = read(fd, buf, cap);
	close(fd);
	return got;
}

/* The string with non-printable octets as \xNN, for test names. */
static const char *
vis(const char *s, char *buf, size_t cap)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < cap; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", (unsigned char)*s);
		else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}

/* ARRIVAL.Q<16 hex: queue ID>R<8 hex: CRC-32C of the recipient>.HOST (queue.h). */
static bool
name_ok(const char *name, const char *host)
{
	const char *p = name;

	if (strspn(p, "0123456789") == 0)
		return false;
	p += strspn(p, "0123456789");
	if (strncmp(p, ".Q", 2) != 0)
		return false;
	p += 2;
	if (strspn(p, "0123456789abcdef") != 16)
		return false;
	p += 16;
	if (*p++ != 'R' || strspn(p, "0123456789abcdef") != 8)
		return false;
	p += 8;
	return *p == '.' && strcmp(p + 1, host) == 0;
}

static void
t_deliver(void)
{
	struct queue_env e;
	struct deliver_result res;
	static const char body[] = "Subject: hi\r\n\r\nline 1\r\nline 2\r\n";
	static const char want[] = "Return-Path: <sender@example.org>\n"
				   "Delivered-To: User@Example.ORG\n"
				   "Subject: hi\n\nline 1\nline 2\n";
	char got[4096], name[300], name2[300], dir[1000];
	ssize_t n;
	struct stat st;
	int fd, rc;

	mk_env(&e, "sender@example.org");
	fd = mk_queue(&e, body, sizeof(body) - 1, 0);
	rc = maildir_deliver(
	    root, "Example.ORG", "User", fd, &e, "User@Example.ORG", "my/host:x", &res, false);
	is_int(rc, 0, "delivered");
	is_int(res.status, DELIVER_OK, "status OK");
	is_str(res.dsn, "2.0.0", "dsn 2.0.0");
	diag("%s", res.text);
	snprintf(dir, sizeof(dir), "%s/example.org/user/new", root);
	n = only_file(dir, name, sizeof(name), got, sizeof(got));
	is_int(n, (ssize_t)sizeof(want) - 1, "one file in new/ of the expected size");
	ok(n == (ssize_t)sizeof(want) - 1 && memcmp(got, want, (size_t)n) == 0,
	    "exact bytes: headers prepended, LF line ends");
	ok(n > 0 && memchr(got, '\r', (size_t)n) == NULL, "no CR left");
	ok(name_ok(name, "my\\057host\\072x"), "unique name %s", name);
	snprintf(dir, sizeof(dir), "%s/example.org/user/new/%s", root, name);
	ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0600, "message mode 0600");
	snprintf(dir, sizeof(dir), "%s/example.org/user/tmp", root);
	is_int(tap_dir_entries(dir), 0, "tmp/ is empty");
	snprintf(dir, sizeof(dir), "%s/example.org/user/cur", root);
	ok(stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
	    "cur/ created 0700");
	snprintf(dir, sizeof(dir), "%s/example.org", root);
	ok(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "domain dir 0700, lower case");

	/* Second delivery, other case, same mailbox. */
	rc = maildir_deliver(
	    root, "example.org", "USER", fd, &e, "USER@example.org", "h", &res, false);
	is_int(rc, 0, "second delivery, local part in upper case");
	snprintf(dir, sizeof(dir), "%s/example.org/user/new", root);
	is_int(tap_dir_entries(dir), 2, "same mailbox, two files");
	close(fd);

	/* Null sender, and CRLF split across DATA records, lone CR kept, no final CRLF. */
	queue_env_clear(&e);
	mk_env(&e, "");
	{
		static const char b2[] = "A: b\r\n\r\nx\ry\r\nend";
		static const char w2[] = "Return-Path: <>\nDelivered-To: n@example.org\n"
					 "A: b\n\nx\ry\nend";
		char *big;
		size_t pad, hl = (size_t)(strstr(w2, "A: b") - w2);

		fd = mk_queue(&e, b2, sizeof(b2) - 1, 5); /* split after "A: b\r" */
		rc = maildir_deliver(
		    root, "example.org", "null", fd, &e, "n@example.org", "h", &res, false);
		is_int(rc, 0, "null sender delivered");
		snprintf(dir, sizeof(dir), "%s/example.org/null/new", root);
		big = malloc(200000);
		n = only_file(dir, name, sizeof(name), big, 200000);
		pad = n > 0 ? strspn(big + hl, "p") : 0;
		/* headers, then the padding, then the rest */
		ok(n > 0 && strncmp(big, w2, hl) == 0, "Return-Path: <> for the null path");
		ok(n > 0 && (size_t)n == pad + sizeof(w2) - 1 &&
			memcmp(big + hl + pad, w2 + hl, sizeof(w2) - 1 - hl) == 0,
		    "CRLF split over two records becomes LF; lone CR kept; %zu pad", pad);
		free(big);
		close(fd);
	}

	/* Exactly once: the same message to the same recipient again is the same file. */
	fd = mk_queue(&e, "x\r\n", 3, 0);
	(void)maildir_deliver(
	    root, "example.org", "two", fd, &e, "two@example.org", "h", &res, false);
	snprintf(dir, sizeof(dir), "%s/example.org/two/new", root);
	(void)only_file(dir, name, sizeof(name), got, sizeof(got));
	rc = maildir_deliver(
	    root, "example.org", "two", fd, &e, "two@example.org", "h", &res, false);
	is_int(rc, 0, "a repeated delivery reports success");
	is_int(tap_dir_entries(dir), 1, "... and leaves one file");
	ok(strstr(res.text, "already") != NULL, "... saying it was already there: %s", res.text);
	/* A mail reader moved it to cur/: found only when told this is a redelivery. */
	{
		char from[1400], to[1400];

		snprintf(from, sizeof(from), "%s/%s", dir, name);
		snprintf(to, sizeof(to), "%s/example.org/two/cur/%s:2,S", root, name);
		ok(rename(from, to) == 0, "moved to cur/ as a reader would");
		rc = maildir_deliver(
		    root, "example.org", "two", fd, &e, "two@example.org", "h", &res, true);
		is_int(tap_dir_entries(dir), 0, "redelivery finds the copy in cur/: nothing new");
	}
	/* Another recipient of the same message gets its own name. */
	(void)maildir_deliver(
	    root, "example.org", "two", fd, &e, "other@example.org", "h", &res, false);
	name2[0] = '\0';
	{
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				snprintf(name2, sizeof(name2), "%s", de->d_name);
		if (d != NULL)
			closedir(d);
	}
	ok(name2[0] != '\0' && strcmp(name, name2) != 0, "another recipient, another name");

	/* UTF-8 local part (RFC 6531): its own directory, non-ASCII kept as is. */
	rc = maildir_deliver(
	    root, "example.org", "Jos\xc3\xa9", fd, &e, "x@example.org", "h", &res, false);
	is_int(rc, 0, "UTF-8 local part delivered");
	snprintf(dir, sizeof(dir), "%s/example.org/jos\xc3\xa9/new", root);
	is_int(tap_dir_entries(dir), 1, "in jos\xc3\xa9/new");
	close(fd);
	queue_env_clear(&e);
}

static void
t_refused(void)
{
	static const struct {
		const char *domain, *local, *dsn;
	} bad[] = {
	    {"example.org", "a/b", "5.1.1"},
	    {"example.org", "../../etc", "5.1.1"},
	    {"example.org", "..", "5.1.1"},
	    {"example.org", ".", "5.1.1"},
	    {"example.org", ".hidden", "5.1.1"},
	    {"example.org", "", "5.1.3"},
	    {"example.org", "a\nb", "5.1.3"},
	    {"example.org", "a\rb", "5.1.3"},
	    {"example.org", "tab\there", "5.1.3"},
	    {"example.org", "del\x7f", "5.1.3"},
	    {"example.org", "\xff\xfe", "5.1.3"},
	    {"example.org", "\xc0\xaf", "5.1.3"},     /* overlong '/' */
	    {"example.org", "\xed\xa0\x80", "5.1.3"}, /* surrogate */
	    {"example.org", "john doe", "5.1.1"},
	    {"example.org", "a\"b", "5.1.1"},
	    {"example.org", "a\\b", "5.1.1"},
	    {"example.org", "a(b)", "5.1.1"},
	    {"../x", "user", "5.1.1"},
	    {".", "user", "5.1.1"},
	    {"a/b", "user", "5.1.1"},
	    {"", "user", "5.1.3"},
	};
	struct queue_env e;
	struct deliver_result res;
	char dir[600], longname[300], v[100];
	size_t i;
	int fd, before, rc;

	mk_env(&e, "s@example.org");
	fd = mk_queue(&e, "x\r\n", 3, 0);
	snprintf(dir, sizeof(dir), "%s/example.org", root);
	before = tap_dir_entries(dir);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rc = maildir_deliver(
		    root, bad[i].domain, bad[i].local, fd, &e, "r@example.org", "h", &res, false);
		ok(rc == -1 && res.status == DELIVER_PERM && strcmp(res.dsn, bad[i].dsn) == 0,
		    "refused %u: local \"%s\" domain \"%s\" -> PERM %s (got %d %s)", (unsigned)i,
		    vis(bad[i].local, v, sizeof(v)), bad[i].domain, bad[i].dsn, res.status,
		    res.dsn);
	}
	is_int(tap_dir_entries(dir), before, "nothing created for refused local parts");
	is_int(tap_dir_entries(root), 1, "nothing created beside example.org");
	memset(longname, 'a', 256);
	longname[256] = '\0';
	rc = maildir_deliver(root, "example.org", longname, fd, &e, "r@x", "h", &res, false);
	ok(rc == -1 && res.status == DELIVER_PERM, "256-octet local part refused");
	longname[255] = '\0';
	rc = maildir_deliver(root, "example.org", longname, fd, &e, "r@x", "h", &res, false);
	ok(rc == 0, "255-octet local part fine");
	rc = maildir_deliver(
	    root, "example.org", "ok", fd, &e, "r\r\nX-Evil: 1@x", "h", &res, false);
	ok(rc == -1 && res.status == DELIVER_PERM,
	    "CRLF in Delivered-To refused: no header "
	    "injection");
	close(fd);
	queue_env_clear(&e);
}

static void
t_temp(void)
{
	struct queue_env e;
	struct deliver_result res;
	char dir[600], other[600], link[700];
	int fd, rc, st;
	pid_t pid;

	mk_env(&e, "s@example.org");
	fd = mk_queue(&e, "x\r\n", 3, 0);
	snprintf(dir, sizeof(dir), "%s/missing", tmpdir);
	rc = maildir_deliver(dir, "example.org", "u", fd, &e, "u@example.org", "h", &res, false);
	ok(rc == -1 && res.status == DELIVER_TEMP && strcmp(res.dsn, "4.3.5") == 0,
	    "missing root: TEMP 4.3.5 (%s)", res.text);

	/* A planted symlink below the root is not followed. */
	snprintf(other, sizeof(other), "%s/elsewhere", tmpdir);
	if (mkdir(other, 0700) == -1)
		tap_bail("mkdir");
	snprintf(link, sizeof(link), "%s/example.org/evil", root);
	if (symlink(other, link) == -1)
		tap_bail("symlink");
	rc = maildir_deliver(
	    root, "example.org", "evil", fd, &e, "evil@example.org", "h", &res, false);
	ok(rc == -1 && res.status == DELIVER_TEMP, "symlinked maildir: TEMP (%s)", res.text);
	is_int(tap_dir_entries(other), 0, "nothing written through the link");
	snprintf(dir, sizeof(dir), "%s/example.org/lnk", root);
	if (mkdir(dir, 0700) == -1)
		tap_bail("mkdir");
	snprintf(dir, sizeof(dir), "%s/example.org/lnk/new", root);
	if (symlink(other, dir) == -1)
		tap_bail("symlink");
	rc = maildir_deliver(
	    root, "example.org", "lnk", fd, &e, "lnk@example.org", "h", &res, false);
	ok(rc == -1 && res.status == DELIVER_TEMP, "symlinked new/: TEMP");
	is_int(tap_dir_entries(other), 0, "nothing written through new/");
	snprintf(dir, sizeof(dir), "%s/example.org/lnk/tmp", root);
	is_int(tap_dir_entries(dir), 0, "its tmp/ is empty");

	/* A read-only root: as root, DAC does not stop us, so the child drops to nobody. */
	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	if (mkdir(dir, 0555) == -1)
		tap_bail("mkdir ro");
	pid = fork();
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(65534) == -1 || setuid(65534) == -1))
			_exit(99);
		rc = maildir_deliver(
		    dir, "example.org", "u", fd, &e, "u@example.org", "h", &res, false);
		_exit(rc == -1 && res.status == DELIVER_TEMP && res.dsn[0] == '4' ? 0 : 1);
	}
	(void)waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "read-only root: TEMP");
	is_int(tap_dir_entries(dir), 0, "nothing created in it");
	close(fd);

	/* A torn queue file is never delivered, and leaves nothing in tmp/. */
	fd = mk_queue(&e, "Subject: torn\r\n\r\nbody\r\n", 23, 0);
	if (ftruncate(fd, lseek(fd, 0, SEEK_END) - 1) == -1)
		tap_bail("ftruncate");
	rc =
	    maildir_deliver(root, "example.org", "torn", fd, &e, "t@example.org", "h", &res, false);
	ok(rc == -1 && res.status == DELIVER_TEMP && strcmp(res.dsn, "4.3.0") == 0,
	    "torn queue file: TEMP 4.3.0 (%s)", res.text);
	snprintf(dir, sizeof(dir), "%s/example.org/torn/new", root);
	is_int(tap_dir_entries(dir), 0, "torn: new/ empty");
	snprintf(dir, sizeof(dir), "%s/example.org/torn/tmp", root);
	is_int(tap_dir_entries(dir), 0, "torn: tmp/ empty");
	close(fd);
	queue_env_clear(&e);
}

static void
t_big(void)
{
	struct queue_env e;
	struct deliver_result res;
	char *b, *w, *got, name[300], dir[600];
	size_t i, wl = 0, len = 300000;
	ssize_t n;
	int fd;

	b = malloc(len);
	w = malloc(len + 200);
	got = malloc(len + 400);
	wl = (size_t)snprintf(w, 200, "Return-Path: <s@example.org>\nDelivered-To: b@e\n");
	for (i = 0; i < len; i++) {
		b[i] = i % 100 == 98 ? '\r' : i % 100 == 99 ? '\n' : (char)('a' + i % 26);
		if (b[i] != '\r')
			w[wl++] = b[i];
	}
	mk_env(&e, "s@example.org");
	fd = mk_queue(&e, b, len, 0);
	is_int(maildir_deliver(root, "example.org", "big", fd, &e, "b@e", "h", &res, false), 0,
	    "300 KB message delivered");
	snprintf(dir, sizeof(dir), "%s/example.org/big/new", root);
	n = only_file(dir, name, sizeof(name), got, len + 400);
	ok(n == (ssize_t)wl && memcmp(got, w, wl) == 0, "300 KB: exact bytes (%zd)", n);
	close(fd);
	queue_env_clear(&e);
	free(b);
	free(w);
	free(got);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL)
		tap_bail("mkdtemp");
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	if (mkdir(root, 0700) == -1)
		tap_bail("mkdir root");
	t_deliver();
	t_refused();
	t_temp();
	t_big();
	tap_rmtree(tmpdir);
	return done_testing();
}
