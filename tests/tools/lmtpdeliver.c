/*
 * lmtpdeliver — a small CLI around the queue writer and lmtp_deliver() (the SMTP client
 * of queue_smtp.c in its LMTP mode), for the end-to-end tests against a real Dovecot
 * (tests/e2e/lmtp_dovecot.sh) and tests/fakes/smtpfake.py --lmtp (tests/e2e/smtpc.sh).
 *
 *   lmtpdeliver -s TARGET [-f FROM] [-l LHLO] [-t SECONDS] [-8] [-u] [-E ENVID] [-x N]
 *               [-k FILE] RCPT... < message
 *
 * It reads a message from stdin (LF or CRLF line ends; stored with CRLF as smtpd stores
 * it, at most 50 MB), writes a queue file for it with struct queue_w (an unlinked temp
 * file, or FILE with -k), optionally cuts N octets off its end (-x, to show a torn file is
 * never delivered), then calls lmtp_deliver() for all recipients at once and prints one
 * line per recipient:
 *
 *   RCPT<TAB>ok|temp|perm<TAB>DSN<TAB>TEXT
 *
 * -8 marks the message BODY=8BITMIME, -u SMTPUTF8, -E gives it an RFC 3461 ENVID (which
 * LMTP must not pass on). Exit status: 0 when lmtp_deliver()
 * returned 0 (whatever the recipients' statuses), 75 (EX_TEMPFAIL) when the session broke,
 * 64 on a usage error, 74 on a local I/O error.
 */
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue.h"

#define LD_MSG_MAX	(50u * 1024 * 1024)
#define LD_RCPT_MAX	1000

static void
usage(void)
{
	fprintf(stderr, "usage: lmtpdeliver -s TARGET [-f FROM] [-l LHLO] [-t SECONDS] [-8] "
	    "[-u] [-E ENVID] [-x N] [-k FILE] RCPT... < message\n");
	exit(EX_USAGE);
}

/* stdin as CRLF lines into the writer; a lone LF becomes CRLF. */
static int
copy_stdin(struct queue_w *w)
{
	uint8_t		 in[8192], out[16384];
	size_t		 i, o, total = 0;
	ssize_t		 r;
	bool		 cr = false;

	for (;;) {
		r = read(0, in, sizeof(in));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		total += (size_t)r;
		if (total > LD_MSG_MAX) {
			errno = EFBIG;
			return -1;
		}
		for (i = 0, o = 0; i < (size_t)r; i++) {
			if (in[i] == '\n' && !cr)
				out[o++] = '\r';
			out[o++] = in[i];
			cr = in[i] == '\r';
		}
		queue_w_data(w, out, o);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct queue_w	 w;
	struct queue_env	 env;
	struct deliver_result	*res;
	const char		*target = NULL, *lhlo = "localhost", *keep = NULL, *errstr;
	char			 tmpl[] = "/tmp/lmtpdeliver.XXXXXX";
	long long		 cut = 0, timeout = 10;
	int			 ch, fd, rc;
	size_t			 i, n;
	off_t			 end;

	memset(&env, 0, sizeof(env));
	while ((ch = getopt(argc, argv, "s:f:l:t:8uE:x:k:")) != -1) {
		switch (ch) {
		case 's':
			target = optarg;
			break;
		case 'f':
			if (strlcpy(env.from, optarg, sizeof(env.from)) >= sizeof(env.from))
				usage();
			break;
		case 'l':
			lhlo = optarg;
			break;
		case 't':
			timeout = strtonum(optarg, 1, 3600, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case '8':
			env.body = SMTP_BODY_8BITMIME;
			break;
		case 'u':
			env.smtputf8 = true;
			break;
		case 'E':
			if (strlcpy(env.envid, optarg, sizeof(env.envid)) >= sizeof(env.envid))
				usage();
			break;
		case 'x':
			cut = strtonum(optarg, 0, 1000000, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 'k':
			keep = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (target == NULL || argc < 1 || argc > LD_RCPT_MAX)
		usage();
	n = (size_t)argc;

	queue_id_new(env.id);
	env.arrival = time(NULL);
	strlcpy(env.client, "127.0.0.1 lmtpdeliver", sizeof(env.client));
	for (i = 0; i < n; i++)
		if (queue_env_add_rcpt(&env, argv[i], 0, NULL) == -1)
			usage();
	if (keep != NULL)
		fd = open(keep, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	else {
		fd = mkstemp(tmpl);
		if (fd != -1)
			(void)unlink(tmpl);
	}
	if (fd == -1) {
		perror("queue file");
		return EX_IOERR;
	}
	queue_w_init(&w, fd);
	queue_w_env(&w, &env);
	if (copy_stdin(&w) == -1) {
		perror("stdin");
		return EX_IOERR;
	}
	if (queue_w_end(&w) == -1) {
		perror("queue_w_end");
		return EX_IOERR;
	}
	env.size = w.data_octets;
	if (cut > 0) {
		end = lseek(fd, 0, SEEK_END);
		if (ftruncate(fd, end > cut ? end - cut : 0) == -1) {
			perror("ftruncate");
			return EX_IOERR;
		}
	}

	res = calloc(n, sizeof(*res));
	if (res == NULL)
		return EX_OSERR;
	rc = lmtp_deliver(target, lhlo, fd, &env, (const char *const *)argv, n, res,
	    (unsigned)timeout);
	for (i = 0; i < n; i++)
		printf("%s\t%s\t%s\t%s\n", argv[i],
		    res[i].status == DELIVER_OK ? "ok" :
		    res[i].status == DELIVER_TEMP ? "temp" : "perm", res[i].dsn, res[i].text);
	free(res);
	queue_env_clear(&env);
	(void)close(fd);
	return rc == 0 ? 0 : EX_TEMPFAIL;
}
