/*
 * smtpcdrive — a small CLI around the outbound SMTP client (src/queue/queue_smtp.c) and
 * its LMTP mode lmtp_deliver(), for the end-to-end tests tests/e2e/smtpc.sh (smtp-sink,
 * tests/fakes/smtpfake.py) and tests/e2e/lmtp_dovecot.sh (a real Dovecot, a fake).
 *
 *   smtpcdrive [-T none|may|dane] [-t USAGE:SEL:MTYPE:HEX]... [-n PEERNAME] [-r] [-w MS]
 *              [-f FROM] [-H HELO] [-s SECONDS] [-8] [-u] [-R FULL|HDRS] [-E ENVID]
 *              [-N NOTIFY] [-O ORCPT] [-x N] ADDR:PORT RCPT... < message
 *   smtpcdrive -L [-f FROM] [-H LHLO] [-s SECONDS] [-8] [-u] [-E ENVID] [-x N]
 *              unix:PATH|ADDR:PORT RCPT... < message
 *
 * It reads a message from stdin (LF or CRLF line ends, stored with CRLF as smtpd stores
 * it, at most 50 MB), writes a queue file for it with struct queue_w (an unlinked temp
 * file; -x N cuts N octets off its end, a torn file), opens a session with smtpc_open(),
 * sends the message to all recipients with smtpc_send() — twice over the same connection
 * with -r (after -w MS milliseconds, and only when smtpc_usable() says so) — and closes
 * with QUIT. -t adds one TLSA record (hex data); -n is the MX host name (SNI, DANE base
 * domain); -N (SUCCESS,FAILURE,DELAY or NEVER) and -O ("rfc822;addr") go on every
 * recipient's envelope entry, -R and -E on the envelope (RFC 3461).
 *
 * With -L it instead hands the queue file to lmtp_deliver(TARGET) for all recipients at
 * once (LHLO defaults to "localhost"; -E shows LMTP does not pass an ENVID on); -T, -t
 * and -r are usage errors then, and only the RCPT lines below are printed.
 *
 * Output, tab-separated:
 *   open   ok|temp|perm  DSN  TEXT          only when smtpc_open() failed
 *   tls    STATE         PEER               after a successful open
 *   RCPT   ok|temp|perm  DSN  TEXT          one per recipient per send
 *   send   N             0|-1               after each send: smtpc_send()'s result
 *   usable yes|no                            before a second send (-r)
 * Exit status: 0 when every send (or lmtp_deliver()) returned 0, whatever the recipients'
 * statuses; 75 (EX_TEMPFAIL) when the open failed or a send returned -1, 64 on a usage
 * error, 74 on a local I/O error.
 */
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue.h"
#include "queue/smtpc.h"
#include "smtp/smtp.h"
#include "tls/tls.h"
#include "util/net.h"

#define SD_MSG_MAX  (50u * 1024 * 1024)
#define SD_RCPT_MAX 1000
#define SD_TLSA_MAX 16

static void
usage(void)
{
	fprintf(stderr,
	    "usage: smtpcdrive [-T none|may|dane] [-t U:S:M:HEX]... [-n PEERNAME] "
	    "[-r] [-w MS] [-f FROM] [-H HELO] [-s SECONDS] [-8] [-u] [-R FULL|HDRS] "
	    "[-E ENVID] [-N NOTIFY] [-O ORCPT] [-x N] ADDR:PORT RCPT... < message\n"
	    "       smtpcdrive -L [-f FROM] [-H LHLO] [-s SECONDS] [-8] [-u] [-E ENVID] "
	    "[-x N] TARGET RCPT... < message\n");
	exit(EX_USAGE);
}

/* stdin as CRLF lines into the writer; a lone LF becomes CRLF. */
static int
copy_stdin(struct queue_w *w)
{
	uint8_t in[8192], out[16384];
	size_t i, o, total = 0;
	ssize_t r;
	bool cr = false;

	for (;;) {
		r = read(0, in, sizeof(in));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		total += (size_t)r;
		if (total > SD_MSG_MAX) {
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

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "USAGE:SELECTOR:MTYPE:HEX" into t (data malloc'ed, never freed: the tool exits). */
static int
parse_tlsa(const char *s, struct smtpc_tlsa *t)
{
	char num[3][8];
	const char *p = s, *colon, *errstr;
	long long v[3];
	uint8_t *d;
	size_t i, n;

	for (i = 0; i < 3; i++) {
		colon = strchr(p, ':');
		if (colon == NULL || (size_t)(colon - p) >= sizeof(num[i]))
			return -1;
		memcpy(num[i], p, (size_t)(colon - p));
		num[i][colon - p] = '\0';
		v[i] = strtonum(num[i], 0, 255, &errstr);
		if (errstr != NULL)
			return -1;
		p = colon + 1;
	}
	n = strlen(p);
	if (n % 2 != 0 || n > 4096)
		return -1;
	d = malloc(n / 2 + 1);
	if (d == NULL)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if (hexval(p[2 * i]) < 0 || hexval(p[2 * i + 1]) < 0) {
			free(d);
			return -1;
		}
		d[i] = (uint8_t)(hexval(p[2 * i]) << 4 | hexval(p[2 * i + 1]));
	}
	t->usage = (uint8_t)v[0];
	t->selector = (uint8_t)v[1];
	t->mtype = (uint8_t)v[2];
	t->data = d;
	t->len = n / 2;
	return 0;
}

static unsigned
parse_notify(const char *s)
{
	unsigned bits = 0;
	const char *p = s;
	size_t n;

	while (*p != '\0') {
		n = strcspn(p, ",");
		if (n == 5 && strncasecmp(p, "NEVER", 5) == 0)
			bits |= SMTP_NOTIFY_NEVER;
		else if (n == 7 && strncasecmp(p, "SUCCESS", 7) == 0)
			bits |= SMTP_NOTIFY_SUCCESS;
		else if (n == 7 && strncasecmp(p, "FAILURE", 7) == 0)
			bits |= SMTP_NOTIFY_FAILURE;
		else if (n == 5 && strncasecmp(p, "DELAY", 5) == 0)
			bits |= SMTP_NOTIFY_DELAY;
		else
			usage();
		p += n;
		if (*p == ',')
			p++;
	}
	return bits;
}

static const char *
status_word(enum deliver_status s)
{
	return s == DELIVER_OK ? "ok" : s == DELIVER_TEMP ? "temp" : "perm";
}

/* One "RCPT<TAB>ok|temp|perm<TAB>DSN<TAB>TEXT" line per recipient. */
static void
print_results(char *const *rcpts, size_t n, const struct deliver_result *res)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%s\t%s\t%s\t%s\n", rcpts[i], status_word(res[i].status), res[i].dsn,
		    res[i].text);
}

int
main(int argc, char *argv[])
{
	static struct queue_w w;
	static struct smtpc_tlsa tlsa[SD_TLSA_MAX];
	struct queue_env env;
	struct smtpc_opts o;
	struct deliver_result *res, fail;
	struct net_addr addr;
	struct smtpc *sc;
	SSL_CTX *ctx = NULL;
	const char *errstr, *orcpt = NULL, *target, *helo = NULL;
	char tmpl[] = "/tmp/smtpcdrive.XXXXXX", err[256];
	long long cut = 0, timeout = 10, wait_ms = 0;
	unsigned notify = 0;
	bool twice = false, lmtp = false;
	int ch, fd, rc = 0, r, round;
	size_t i, n;
	off_t end;

	signal(SIGPIPE, SIG_IGN);
	memset(&env, 0, sizeof(env));
	memset(&o, 0, sizeof(o));
	o.tls = SMTPC_TLS_NONE;
	strlcpy(env.from, "sender@example.com", sizeof(env.from));
	while ((ch = getopt(argc, argv, "LT:t:n:rw:f:H:s:8uR:E:N:O:x:")) != -1) {
		switch (ch) {
		case 'L':
			lmtp = true;
			break;
		case 'T':
			if (strcmp(optarg, "none") == 0)
				o.tls = SMTPC_TLS_NONE;
			else if (strcmp(optarg, "may") == 0)
				o.tls = SMTPC_TLS_MAY;
			else if (strcmp(optarg, "dane") == 0)
				o.tls = SMTPC_TLS_DANE;
			else
				usage();
			break;
		case 't':
			if (o.ntlsa == SD_TLSA_MAX || parse_tlsa(optarg, &tlsa[o.ntlsa]) == -1)
				usage();
			o.ntlsa++;
			break;
		case 'n':
			o.peer_name = optarg;
			break;
		case 'r':
			twice = true;
			break;
		case 'w':
			wait_ms = strtonum(optarg, 0, 60000, &errstr);
			if (errstr != NULL)
				usage();
			break;
		case 'f':
			if (strlcpy(env.from, optarg, sizeof(env.from)) >= sizeof(env.from))
				usage();
			break;
		case 'H':
			helo = optarg;
			break;
		case 's':
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
		case 'R':
			if (strcasecmp(optarg, "FULL") == 0)
				env.ret = SMTP_RET_FULL;
			else if (strcasecmp(optarg, "HDRS") == 0)
				env.ret = SMTP_RET_HDRS;
			else
				usage();
			break;
		case 'E':
			if (strlcpy(env.envid, optarg, sizeof(env.envid)) >= sizeof(env.envid))
				usage();
			break;
		case 'N':
			notify = parse_notify(optarg);
			break;
		case 'O':
			orcpt = optarg;
			break;
		case 'x':
			cut = strtonum(optarg, 0, 1000000, &errstr);
			if (errstr != NULL)
				usage();
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc - 1 > SD_RCPT_MAX)
		usage();
	if (lmtp && (o.tls != SMTPC_TLS_NONE || o.ntlsa > 0 || twice))
		usage();
	if (!lmtp && net_addr_parse(argv[0], 25, &addr) == -1) {
		fprintf(stderr, "smtpcdrive: bad address %s\n", argv[0]);
		usage();
	}
	target = argv[0];
	argv++;
	argc--;
	n = (size_t)argc;
	o.helo = helo != NULL ? helo : lmtp ? "localhost" : "client.test";
	o.timeout_s = (unsigned)timeout;
	o.tlsa = tlsa;

	queue_id_new(env.id);
	env.arrival = time(NULL);
	strlcpy(env.client, "127.0.0.1 smtpcdrive", sizeof(env.client));
	for (i = 0; i < n; i++)
		if (queue_env_add_rcpt(&env, argv[i], notify, orcpt) == -1)
			usage();
	fd = mkstemp(tmpl);
	if (fd == -1) {
		perror("mkstemp");
		return EX_IOERR;
	}
	(void)unlink(tmpl);
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
	if (o.tls != SMTPC_TLS_NONE) {
		ctx = tls_client_ctx(err, sizeof(err));
		if (ctx == NULL) {
			fprintf(stderr, "smtpcdrive: tls_client_ctx: %s\n", err);
			return EX_SOFTWARE;
		}
		o.ssl_ctx = ctx;
	}

	res = calloc(n, sizeof(*res));
	if (res == NULL)
		return EX_OSERR;
	if (lmtp) {
		r = lmtp_deliver(
		    target, o.helo, fd, &env, (const char *const *)argv, n, res, o.timeout_s);
		print_results(argv, n, res);
		rc = r == 0 ? 0 : EX_TEMPFAIL;
		goto done;
	}
	sc = smtpc_open(&addr, &o, &fail);
	if (sc == NULL) {
		printf("open\t%s\t%s\t%s\n", status_word(fail.status), fail.dsn, fail.text);
		rc = EX_TEMPFAIL;
		goto done;
	}
	printf("tls\t%s\t%s\n", smtpc_tls_state(sc), smtpc_peer(sc));
	for (round = 1; round <= (twice ? 2 : 1); round++) {
		if (round == 2) {
			if (wait_ms > 0) {
				struct timespec ts = {wait_ms / 1000, (wait_ms % 1000) * 1000000};

				(void)nanosleep(&ts, NULL);
			}
			printf("usable\t%s\n", smtpc_usable(sc) ? "yes" : "no");
		}
		r = smtpc_send(sc, fd, &env, (const char *const *)argv, n, res);
		print_results(argv, n, res);
		printf("send\t%d\t%d\n", round, r);
		if (r != 0)
			rc = EX_TEMPFAIL;
	}
	smtpc_close(sc, true);
done:
	fflush(stdout);
	free(res);
	queue_env_clear(&env);
	(void)close(fd);
	SSL_CTX_free(ctx);
	for (i = 0; i < o.ntlsa; i++)
		free((void *)(uintptr_t)tlsa[i].data);
	return rc;
}
