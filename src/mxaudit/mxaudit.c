/*
 * mxaudit — measures how spoofable a mail server's DNS is (the 2010 Windows SMTP attacks,
 * CVE-2010-1689 and CVE-2010-1690, against any MTA). It plays the target's DNS server for
 * an audit zone and two SMTP receivers (the true MX and the attacker), makes the target
 * look fresh names up, and reports with evidence how many bits protect its lookups and
 * which forged answers it believes. The contract (options, phases, exit codes) is issue 5's
 * and the man page's (docs/man/mxaudit.1); this file runs it:
 *
 *   phase 1, sampling: -n fresh domains triggered, honest answers, every query recorded;
 *   phase 2, the acceptance matrix: one fresh domain per forgery kind (mxa_dns.c), the
 *            verdict from where its mail arrives and what the target asks next, within a
 *            window measured from phase 1 (3 x the slowest delivery + 2 s, clamped to
 *            MXA_WINDOW_MIN_MS..MXA_WINDOW_MAX_MS);
 *   phase 3, the blind race (mxa_race.c): MXA_RACE_ROUNDS rounds of --race-packets
 *            guessed answers each, the true answer held back MXA_RACE_HOLD_MS.
 * Then audit_judge() rates the record and the renderers write the reports.
 *
 * Addresses: the DNS server on -d (UDP and TCP); forgeries "from the wrong address" come
 * from --alt-addr, by default the DNS address plus one (127.0.0.53 -> 127.0.0.54) on the
 * DNS port: without a bindable second address that kind is reported untested. The
 * trigger client connects from the DNS address when it can.
 *
 * Limits: -n at most MXA_LOOKUPS_MAX, the whole run at most -T seconds (phase 1 gets at
 * most half of it unless passive, the matrix up to 80 %), every table bounded (mxaudit.h).
 * SIGINT/SIGTERM end the run early; what was measured is still reported.
 *
 * Exit (sysexits.h where one fits): 0 pass; 1 a threshold failed (effective bits below
 * --min-bits, or a forgery accepted with --fail-on-accept); 2 inconclusive (fewer than
 * AUDIT_MIN_SAMPLES queries judged: audit_judge counts a repeat of a question from the
 * same port once); 64 usage; 69 a socket could not be bound; 70 internal error.
 */
#include <bsd/stdlib.h>
#include <bsd/string.h>

#include <errno.h>
#include <getopt.h>
#include <math.h> /* ldexp: in libc, no -lm needed */
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "mxaudit/mxaudit.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/rand.h"

#define EXIT_THRESHOLD 1
#define EXIT_INCONCL   2
#define QUIET_MS       5000 /* phase 1: no query nor mail this long after the triggers */
#define SETTLE_MS      300  /* phase 1: trailing queries after the last mail */

static struct mxa *sig_m;

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
	    "usage: mxaudit [-qv] [-m relay|bounce|passive] [-s target_smtp_addr:port]\n"
	    "               [-d dns_addr:port] [-l legit_addr:port] [-a attacker_addr:port]\n"
	    "               [-z zone] [-r rcpt] [-n lookups] [-T seconds] [-N name]\n"
	    "               [-j file.json] [-H file.html] [--no-matrix] [--no-race]\n"
	    "               [--race-packets n] [--min-bits bits] [--fail-on-accept]\n"
	    "               [--alt-addr addr]\n");
	exit(EX_USAGE);
}

static void
on_signal(int sig)
{
	(void)sig;
	if (sig_m != NULL)
		sig_m->stop = 1;
}

/* --- domains ----------------------------------------------------------------------------- */

/*
 * A fresh label: 8 random letters (CSPRNG), then the domain's index in 4 base-26
 * letters, so a query is matched to its domain in constant time. All letters: each is a
 * bit of 0x20 for a target that uses it.
 */
void
mxa_fresh_label(char *out, size_t idx)
{
	size_t i;

	for (i = 0; i < MXA_LABEL_LEN - 4; i++)
		out[i] = (char)('a' + rand_uniform(26));
	for (i = 0; i < 4; i++) {
		out[MXA_LABEL_LEN - 1 - i] = (char)('a' + idx % 26);
		idx /= 26;
	}
	out[MXA_LABEL_LEN] = '\0';
}

struct mxa_domain *
mxa_domain_by_label(struct mxa *m, const uint8_t *label, size_t len)
{
	size_t idx = 0, i;

	if (len != MXA_LABEL_LEN)
		return NULL;
	for (i = 0; i < len; i++)
		if (label[i] < 'a' || label[i] > 'z')
			return NULL;
	for (i = MXA_LABEL_LEN - 4; i < MXA_LABEL_LEN; i++)
		idx = idx * 26 + (size_t)(label[i] - 'a');
	if (idx >= m->ndom || memcmp(m->dom[idx].label, label, len) != 0)
		return NULL;
	return &m->dom[idx];
}

static struct mxa_domain *
domain_new(struct mxa *m, enum mxa_purpose purpose, enum audit_forge kind)
{
	struct mxa_domain *d;

	if (m->ndom >= m->ndom_max)
		return NULL;
	d = &m->dom[m->ndom];
	memset(d, 0, sizeof(*d));
	mxa_fresh_label(d->label, m->ndom);
	snprintf(d->name, sizeof(d->name), "%s.%s", d->label, m->zone);
	d->purpose = purpose;
	d->kind = kind;
	m->ndom++;
	if (m->mode != MXA_PASSIVE && m->ntrig < m->ndom_max) {
		d->queued = true;
		m->trig[m->ntrig++] = (size_t)(d - m->dom);
	}
	return d;
}

static bool
domain_done(const struct mxa_domain *d)
{
	return d->trigger_failed ||
	    d->mail[RCV_LEGIT] + d->mail[RCV_ATTACKER] + d->bounce[RCV_LEGIT] +
		d->bounce[RCV_ATTACKER] >
	    0;
}

/* --- the loop ------------------------------------------------------------------------------ */

enum pk { PK_UDP, PK_TCPL, PK_SMTPL, PK_TCP, PK_SMTPD, PK_CLIENT };

/* One round of poll(2): at most until (clock_ms) or 100 ms, whichever is first. */
static void
loop_once(struct mxa *m, uint64_t until)
{
	struct pollfd pfd[MXA_POLL_MAX];
	enum pk kind[MXA_POLL_MAX];
	size_t idx[MXA_POLL_MAX], n = 0, i;
	uint64_t now = clock_ms();
	int timeout = 100, r;
	short ev;

#define ADD(fd_, ev_, k_, i_)                                                                      \
	do {                                                                                       \
		pfd[n].fd = (fd_);                                                                 \
		pfd[n].events = (ev_);                                                             \
		pfd[n].revents = 0;                                                                \
		kind[n] = (k_);                                                                    \
		idx[n] = (i_);                                                                     \
		n++;                                                                               \
	} while (0)

	ADD(m->udp, POLLIN, PK_UDP, 0);
	ADD(m->tcp_listen, POLLIN, PK_TCPL, 0);
	ADD(m->smtp_listen[RCV_LEGIT], POLLIN, PK_SMTPL, RCV_LEGIT);
	ADD(m->smtp_listen[RCV_ATTACKER], POLLIN, PK_SMTPL, RCV_ATTACKER);
	for (i = 0; i < MXA_DNS_TCP_MAX; i++)
		if (m->tcp[i].fd != -1)
			ADD(m->tcp[i].fd,
			    (short)(POLLIN | (m->tcp[i].outlen > m->tcp[i].outoff ? POLLOUT : 0)),
			    PK_TCP, i);
	for (i = 0; i < MXA_SMTPD_MAX; i++)
		if (m->smtpd[i] != NULL) {
			int fd = mxa_smtpd_pollfd(m->smtpd[i], &ev);

			ADD(fd, ev, PK_SMTPD, i);
		}
	if (m->client != NULL) {
		int fd = mxa_client_pollfd(m, &ev);

		ADD(fd, ev, PK_CLIENT, 0);
	}
#undef ADD
	for (i = 0; i < MXA_HELD_MAX; i++)
		if (m->held[i].used) {
			timeout = 5;
			break;
		}
	if (until <= now)
		timeout = 0;
	else if (until - now < (uint64_t)timeout)
		timeout = (int)(until - now);
	r = poll(pfd, n, timeout);
	if (r == -1 && errno != EINTR)
		fatal("poll");
	for (i = 0; r > 0 && i < n; i++) {
		if (pfd[i].revents == 0)
			continue;
		switch (kind[i]) {
		case PK_UDP:
			mxa_dns_udp_read(m, pfd[i].fd);
			break;
		case PK_TCPL:
			mxa_dns_tcp_accept(m);
			break;
		case PK_SMTPL:
			mxa_smtp_accept(m, (enum mxa_rcv)idx[i]);
			break;
		case PK_TCP:
			if (m->tcp[idx[i]].fd == pfd[i].fd)
				mxa_dns_tcp_io(m, &m->tcp[idx[i]], pfd[i].revents);
			break;
		case PK_SMTPD:
			if (m->smtpd[idx[i]] != NULL)
				mxa_smtpd_io(m, idx[i], pfd[i].revents);
			break;
		case PK_CLIENT:
			if (m->client != NULL && pfd[i].fd == mxa_client_pollfd(m, &ev))
				mxa_client_io(m, pfd[i].revents);
			break;
		}
	}
	now = clock_ms();
	mxa_dns_timers(m, now);
	mxa_smtp_timers(m, now);
	mxa_client_kick(m);
}

static bool
out_of_time(const struct mxa *m, uint64_t until)
{
	return m->stop || clock_ms() >= until || clock_ms() >= m->deadline;
}

static void __attribute__((format(printf, 2, 3)))
progress(const struct mxa *m, const char *fmt, ...)
{
	va_list ap;

	if (m->quiet)
		return;
	va_start(ap, fmt);
	fputs("mxaudit: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* --- phase 1 ------------------------------------------------------------------------------ */

static void
phase_sample(struct mxa *m, uint64_t until)
{
	size_t first = m->ndom, i, done;
	unsigned k;
	uint64_t now;

	if (m->mode == MXA_PASSIVE) {
		progress(
		    m, "phase 1: listening for %u queries, at most %u s", m->lookups, m->seconds);
		while (!out_of_time(m, until) && m->nq < m->lookups)
			loop_once(m, until);
		return;
	}
	for (k = 0; k < m->lookups; k++)
		if (domain_new(m, DP_SAMPLE, AF_WRONG_ID) == NULL)
			break;
	progress(m, "phase 1: %u lookups through %s mode", k,
	    m->mode == MXA_BOUNCE ? "bounce" : "relay");
	m->t_last_event = clock_ms();
	while (!out_of_time(m, until)) {
		loop_once(m, until);
		now = clock_ms();
		for (i = first, done = 0; i < m->ndom; i++)
			if (domain_done(&m->dom[i]))
				done++;
		if (done == m->ndom - first && now - m->t_last_event >= SETTLE_MS)
			break;
		if (m->trig_next >= m->ntrig && !mxa_client_busy(m) &&
		    now - m->t_last_event >= QUIET_MS)
			break;
	}
}

/* The verdict window: 3 x the slowest phase-1 delivery + 2 s, clamped. */
static uint64_t
verdict_window(const struct mxa *m, bool *delivered)
{
	uint64_t slow = 0, lat;
	size_t i;

	*delivered = false;
	for (i = 0; i < m->ndom; i++) {
		const struct mxa_domain *d = &m->dom[i];

		if (d->purpose != DP_SAMPLE || d->t_mail == 0 || !d->triggered || d->trigger_failed)
			continue;
		*delivered = true;
		lat = d->t_mail > d->t_trigger ? d->t_mail - d->t_trigger : 0;
		if (lat > slow)
			slow = lat;
	}
	lat = 3 * slow + 2000;
	if (lat < MXA_WINDOW_MIN_MS)
		lat = MXA_WINDOW_MIN_MS;
	if (lat > MXA_WINDOW_MAX_MS)
		lat = MXA_WINDOW_MAX_MS;
	return lat;
}

/* The phase-1 statistics the race guesses from (UDP queries only: what it races). */
static void
race_knowledge(struct mxa *m)
{
	uint16_t *id, *port;
	uint64_t *t;
	size_t i, n = 0;

	id = calloc(m->nq_phase1 + 1, sizeof(*id));
	port = calloc(m->nq_phase1 + 1, sizeof(*port));
	t = calloc(m->nq_phase1 + 1, sizeof(*t));
	if (id == NULL || port == NULL || t == NULL)
		fatal("calloc");
	for (i = 0; i < m->nq_phase1; i++) {
		if (m->q[i].tcp)
			continue;
		id[n] = m->q[i].id;
		port[n] = m->q[i].sport;
		t[n++] = m->q[i].t_us;
	}
	audit_stats_analyze(id, n, t, &m->ids1);
	audit_stats_analyze(port, n, t, &m->ports1);
	free(id);
	free(port);
	free(t);
}

/* --- phase 2 ------------------------------------------------------------------------------ */

static void evidence(struct audit_accept *a, enum audit_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
evidence(struct audit_accept *a, enum audit_verdict v, const char *fmt, ...)
{
	va_list ap;

	a->verdict = v;
	va_start(ap, fmt);
	vsnprintf(a->evidence, sizeof(a->evidence), fmt, ap);
	va_end(ap);
}

/*
 * The verdict on d's forgery, or false while it is still open. final: the window is over,
 * decide with what there is.
 */
static bool
verdict(const struct mxa_domain *d, bool delivered1, uint64_t window, bool final,
    struct audit_accept *a)
{
	const char *k = audit_forge_str(d->kind);
	bool err = d->kind == AF_NXDOMAIN || d->kind == AF_SERVFAIL;

	if (d->mail[RCV_ATTACKER] + d->bounce[RCV_ATTACKER] > 0) {
		evidence(a, AV_ACCEPTED,
		    "mail for u@%s arrived at the attacker (%s, %u forged "
		    "answer%s sent)",
		    d->name, k, d->forged, d->forged == 1 ? "" : "s");
		return true;
	}
	if (d->evil_asked) {
		evidence(a, AV_ACCEPTED,
		    "the target asked for evil.%s: it used the forged "
		    "answer (%s)",
		    d->name, k);
		return true;
	}
	if (err && d->mail[RCV_LEGIT] == 0 && d->bounce[RCV_LEGIT] > 0) {
		evidence(a, AV_ACCEPTED,
		    "a bounce for u@%s arrived: the target gave up on the "
		    "forged %s",
		    d->name, k);
		return true;
	}
	if (d->mail[RCV_LEGIT] > 0) {
		if (d->kind == AF_TC && d->nq_tcp > 0)
			evidence(a, AV_REJECTED,
			    "retried over TCP (%u queries); mail for u@%s "
			    "reached the true MX",
			    d->nq_tcp, d->name);
		else
			evidence(a, AV_REJECTED,
			    "mail for u@%s reached the true MX despite %u "
			    "forged answer%s",
			    d->name, d->forged, d->forged == 1 ? "" : "s");
		return true;
	}
	if (!final)
		return false;
	if (d->trigger_failed) {
		evidence(a, AV_INCONCLUSIVE, "the trigger failed: %s", d->trigger_err);
		return true;
	}
	if (!d->triggered) {
		evidence(a, AV_INCONCLUSIVE, "no time left to trigger a lookup of %s", d->name);
		return true;
	}
	if (d->forged == 0) {
		evidence(a, AV_INCONCLUSIVE,
		    "%s: no UDP query to forge an answer for (%u "
		    "queries)",
		    d->name, d->nq);
		return true;
	}
	if (err && delivered1) {
		evidence(a, AV_ACCEPTED,
		    "no mail for u@%s reached the true MX within %.1f s "
		    "(%u later queries): the target believed the forged %s",
		    d->name, (double)window / 1000, d->nq_after_forge, k);
		return true;
	}
	if (d->kind == AF_TC)
		evidence(a, AV_INCONCLUSIVE, "no mail within %.1f s and %s over TCP",
		    (double)window / 1000, d->nq_tcp > 0 ? "a retry" : "no retry");
	else
		evidence(a, AV_INCONCLUSIVE, "no mail for u@%s arrived within %.1f s", d->name,
		    (double)window / 1000);
	return true;
}

static void
phase_matrix(struct mxa *m, struct audit_run *r, uint64_t window, bool delivered1, uint64_t until)
{
	struct mxa_domain *kd[AF_NKINDS];
	int k, open;
	uint64_t now;

	r->matrix_run = true;
	for (k = 0; k < AF_NKINDS; k++) {
		kd[k] = NULL;
		r->acc[k].verdict = AV_UNTESTED;
		if (k == AF_WRONG_SRC_ADDR && m->udp_alt == -1) {
			snprintf(r->acc[k].evidence, sizeof(r->acc[k].evidence), "not tested: %s",
			    m->alt_err);
			continue;
		}
		kd[k] = domain_new(m, DP_MATRIX, (enum audit_forge)k);
		if (kd[k] != NULL)
			strlcpy(r->acc[k].domain, kd[k]->name, sizeof(r->acc[k].domain));
	}
	progress(m, "phase 2: acceptance matrix, %d kinds, window %.1f s", AF_NKINDS,
	    (double)window / 1000);
	for (;;) {
		bool over = out_of_time(m, until);

		now = clock_ms();
		open = 0;
		for (k = 0; k < AF_NKINDS; k++) {
			struct mxa_domain *d = kd[k];

			if (d == NULL || d->decided)
				continue;
			d->decided = verdict(d, delivered1, window,
			    over || (d->triggered && now >= d->t_trigger + window), &r->acc[k]);
			if (!d->decided)
				open++;
		}
		if (open == 0)
			break;
		loop_once(m, until);
	}
}

/* --- phase 3 ------------------------------------------------------------------------------ */

static void
phase_race(struct mxa *m, struct audit_run *r, uint64_t window, uint64_t until)
{
	struct mxa_domain *d;
	unsigned round, rounds = MXA_RACE_ROUNDS;
	uint64_t t0;

	if (rounds > m->lookups)
		rounds = m->lookups;
	race_knowledge(m);
	progress(m, "phase 3: blind race, %u rounds of %u packets", rounds, m->race_packets);
	r->race.run = true;
	for (round = 0; round < rounds && !out_of_time(m, until); round++) {
		d = domain_new(m, DP_RACE, AF_WRONG_ID);
		if (d == NULL)
			break;
		t0 = clock_ms();
		/* Until the outcome is known and the trigger's transaction has ended. */
		while (!out_of_time(m, until)) {
			loop_once(m, until);
			if (d->triggered && (domain_done(d) || d->evil_asked))
				break;
			if (d->triggered && clock_ms() >= d->t_trigger + window)
				break;
			if (!d->triggered && clock_ms() >= t0 + MXA_CLIENT_TIMEOUT_MS)
				break;
		}
		if (!d->triggered || d->trigger_failed)
			continue;
		r->race.rounds++;
		r->race.forged_sent += d->burst_packets;
		if (d->mail[RCV_ATTACKER] + d->bounce[RCV_ATTACKER] > 0 || d->evil_asked)
			r->race.successes++;
		log_debug("race round %u (%s): %s", round + 1, d->name,
		    d->mail[RCV_ATTACKER] > 0 || d->evil_asked ? "won" : "lost");
	}
}

/* --- options ------------------------------------------------------------------------------- */

enum {
	OPT_NO_MATRIX = 256,
	OPT_NO_RACE,
	OPT_RACE_PACKETS,
	OPT_MIN_BITS,
	OPT_FAIL_ON_ACCEPT,
	OPT_ALT_ADDR
};

static const struct option longopts[] = {{"no-matrix", no_argument, NULL, OPT_NO_MATRIX},
    {"no-race", no_argument, NULL, OPT_NO_RACE},
    {"race-packets", required_argument, NULL, OPT_RACE_PACKETS},
    {"min-bits", required_argument, NULL, OPT_MIN_BITS},
    {"fail-on-accept", no_argument, NULL, OPT_FAIL_ON_ACCEPT},
    {"alt-addr", required_argument, NULL, OPT_ALT_ADDR}, {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static void
parse_addr(const char *opt, const char *s, uint16_t defport, struct net_addr *a)
{
	if (net_addr_parse(s, defport, a) == -1) {
		fprintf(stderr, "mxaudit: %s: bad address: %s\n", opt, s);
		exit(EX_USAGE);
	}
}

static long long
parse_num(const char *opt, const char *s, long long lo, long long hi)
{
	const char *errstr;
	long long v;

	v = strtonum(s, lo, hi, &errstr);
	if (errstr != NULL) {
		fprintf(stderr, "mxaudit: %s %s: %s (%lld..%lld)\n", opt, s, errstr, lo, hi);
		exit(EX_USAGE);
	}
	return v;
}

static void
set_port(struct net_addr *a, uint16_t port)
{
	if (net_addr_family(a) == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
}

/* The DNS address plus one: the default source of the wrong-address forgery. */
static bool
derive_alt(const struct net_addr *dns, struct net_addr *alt)
{
	uint8_t *b;
	size_t len, i;

	*alt = *dns;
	if (net_addr_family(alt) == AF_INET) {
		b = (uint8_t *)&((struct sockaddr_in *)&alt->ss)->sin_addr;
		len = 4;
	} else {
		b = (uint8_t *)&((struct sockaddr_in6 *)&alt->ss)->sin6_addr;
		len = 16;
	}
	for (i = len; i-- > 0;)
		if (++b[i] != 0)
			break;
	return b[len - 1] != 0 && b[len - 1] != 0xff;
}

static void
options(struct mxa *m, int argc, char *argv[], struct audit_run *r, const char **json,
    const char **html)
{
	const char *alt = NULL, *errp;
	char *end;
	int ch;
	bool have_rcpt = false;

	m->mode = MXA_RELAY;
	parse_addr("-d", "127.0.0.53", 53, &m->dns);
	parse_addr("-l", "127.0.0.54", 25, &m->legit);
	parse_addr("-a", "127.0.0.66", 25, &m->attacker);
	strlcpy(m->zone, "audit.test", sizeof(m->zone));
	m->lookups = 100;
	m->seconds = 120;
	m->race_packets = 5000;
	while (
	    (ch = getopt_long(argc, argv, "a:d:hH:j:l:m:n:N:qr:s:T:vz:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			parse_addr("-a", optarg, 25, &m->attacker);
			break;
		case 'd':
			parse_addr("-d", optarg, 53, &m->dns);
			break;
		case 'H':
			*html = optarg;
			break;
		case 'j':
			*json = optarg;
			break;
		case 'l':
			parse_addr("-l", optarg, 25, &m->legit);
			break;
		case 'm':
			if (strcmp(optarg, "relay") == 0)
				m->mode = MXA_RELAY;
			else if (strcmp(optarg, "bounce") == 0)
				m->mode = MXA_BOUNCE;
			else if (strcmp(optarg, "passive") == 0)
				m->mode = MXA_PASSIVE;
			else
				usage();
			break;
		case 'n':
			m->lookups = (unsigned)parse_num("-n", optarg, 1, MXA_LOOKUPS_MAX);
			break;
		case 'N':
			strlcpy(r->target, optarg, sizeof(r->target));
			break;
		case 'q':
			m->quiet = true;
			break;
		case 'r':
			if (strlcpy(m->rcpt, optarg, sizeof(m->rcpt)) >= sizeof(m->rcpt) ||
			    strpbrk(optarg, "<>\r\n ") != NULL) {
				fprintf(stderr, "mxaudit: -r: bad recipient: %s\n", optarg);
				exit(EX_USAGE);
			}
			have_rcpt = true;
			break;
		case 's':
			parse_addr("-s", optarg, 25, &m->target);
			m->have_target = true;
			break;
		case 'T':
			m->seconds = (unsigned)parse_num("-T", optarg, 1, 86400);
			break;
		case 'v':
			log_setdebug(true);
			break;
		case 'z':
			if (strlcpy(m->zone, optarg, sizeof(m->zone)) >= sizeof(m->zone))
				usage();
			break;
		case OPT_NO_MATRIX:
			m->no_matrix = true;
			break;
		case OPT_NO_RACE:
			m->no_race = true;
			break;
		case OPT_RACE_PACKETS:
			m->race_packets =
			    (unsigned)parse_num("--race-packets", optarg, 1, MXA_RACE_PACKETS_MAX);
			break;
		case OPT_MIN_BITS:
			errno = 0;
			m->min_bits = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' || !(m->min_bits >= 0) ||
			    m->min_bits > 64) {
				fprintf(stderr, "mxaudit: --min-bits: 0..64: %s\n", optarg);
				exit(EX_USAGE);
			}
			break;
		case OPT_FAIL_ON_ACCEPT:
			m->fail_on_accept = true;
			break;
		case OPT_ALT_ADDR:
			alt = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (m->mode != MXA_PASSIVE && !m->have_target) {
		fprintf(stderr, "mxaudit: -s is needed in %s mode\n",
		    m->mode == MXA_BOUNCE ? "bounce" : "relay");
		exit(EX_USAGE);
	}
	if (m->mode == MXA_BOUNCE && !have_rcpt) {
		fprintf(stderr,
		    "mxaudit: -r (a missing local user of the target) is needed in "
		    "bounce mode\n");
		exit(EX_USAGE);
	}
	/* The zone: a valid name, lower case, no final dot. */
	if (dns_name_from_str(&m->zone_name, m->zone) == -1 || m->zone_name.len <= 1) {
		fprintf(stderr, "mxaudit: -z: bad zone: %s\n", m->zone);
		exit(EX_USAGE);
	}
	dns_name_lower(&m->zone_name);
	dns_name_to_str(&m->zone_name, m->zone, sizeof(m->zone));
	m->zone[strlen(m->zone) - 1] = '\0';
	if (strpbrk(m->zone, "\\<>@") != NULL) {
		fprintf(stderr, "mxaudit: -z: bad zone: %s\n", m->zone);
		exit(EX_USAGE);
	}
	if (alt != NULL) {
		parse_addr("--alt-addr", alt, net_addr_port(&m->dns), &m->alt);
		if (net_addr_family(&m->alt) != net_addr_family(&m->dns)) {
			fprintf(stderr, "mxaudit: --alt-addr: not the family of -d\n");
			exit(EX_USAGE);
		}
		m->alt_ok = true;
	} else
		m->alt_ok = derive_alt(&m->dns, &m->alt);
	set_port(&m->alt, net_addr_port(&m->dns));
	errp = NULL;
	if (net_addr_eq(&m->legit, &m->attacker))
		errp = "-l and -a must differ";
	if (errp != NULL) {
		fprintf(stderr, "mxaudit: %s\n", errp);
		exit(EX_USAGE);
	}
}

/* 2^x for 0 <= x < 1024 without libm: ldexp for the integer part, a series for the rest. */
static double
pow2(double x)
{
	double ip, f, term = 1, sum = 1;
	int k;

	if (!(x > 0))
		return 1;
	if (x > 1000)
		x = 1000;
	ip = (double)(long long)x;
	f = (x - ip) * 0.6931471805599453;
	for (k = 1; k < 24; k++) {
		term *= f / k;
		sum += term;
	}
	return ldexp(sum, (int)ip);
}

/* --- reports and the exit status --------------------------------------------------------- */

static int
write_report(
    const char *path, void (*fn)(FILE *, const struct audit_run *), const struct audit_run *r)
{
	FILE *f;

	if (strcmp(path, "-") == 0) {
		fn(stdout, r);
		return fflush(stdout) == 0 ? 0 : -1;
	}
	f = fopen(path, "w");
	if (f == NULL) {
		log_warn("%s", path);
		return -1;
	}
	fn(f, r);
	if (ferror(f) || fclose(f) != 0) {
		log_warn("%s", path);
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct mxa mx;
	struct mxa *m = &mx;
	struct audit_run r;
	struct sigaction sa;
	const char *json = NULL, *html = NULL;
	uint64_t start, window, t_phase;
	bool delivered1 = false;
	char s[NET_ADDR_STRLEN];
	int rc = 0;

	log_init("mxaudit", false);
	memset(&r, 0, sizeof(r));
	m->udp = m->tcp_listen = m->udp_alt = m->udp_port2 = -1;
	m->smtp_listen[0] = m->smtp_listen[1] = -1;
	options(m, argc, argv, &r, &json, &html);

	m->ndom_max = (size_t)m->lookups + AF_NKINDS + MXA_RACE_ROUNDS + 8;
	m->dom = calloc(m->ndom_max, sizeof(*m->dom));
	m->trig = calloc(m->ndom_max, sizeof(*m->trig));
	if (m->dom == NULL || m->trig == NULL)
		fatal("calloc");
	if (mxa_dns_open(m) == -1 || mxa_smtp_open(m) == -1)
		return EX_UNAVAILABLE;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sig_m = m;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	strlcpy(r.tool_version, MXA_VERSION, sizeof(r.tool_version));
	if (r.target[0] == '\0') {
		if (m->have_target)
			net_addr_str(&m->target, r.target, sizeof(r.target));
		else
			strlcpy(r.target, "passive", sizeof(r.target));
	}
	strlcpy(r.mode,
	    m->mode == MXA_RELAY        ? "relay"
		: m->mode == MXA_BOUNCE ? "bounce"
					: "passive",
	    sizeof(r.mode));
	strlcpy(r.zone, m->zone, sizeof(r.zone));
	r.started = time(NULL);
	start = clock_ms();
	m->deadline = start + (uint64_t)m->seconds * 1000;
	progress(
	    m, "DNS on %s (UDP and TCP), zone %s", net_addr_str(&m->dns, s, sizeof(s)), m->zone);

	t_phase = m->mode == MXA_PASSIVE || (m->no_matrix && m->no_race)
	    ? m->deadline
	    : start + (uint64_t)m->seconds * 500;
	phase_sample(m, t_phase);
	m->nq_phase1 = m->nq;
	window = verdict_window(m, &delivered1);
	progress(m, "phase 1: %zu queries recorded", m->nq);
	if (m->mode != MXA_PASSIVE && !m->no_matrix && !m->stop)
		phase_matrix(m, &r, window, delivered1,
		    m->no_race ? m->deadline : start + (uint64_t)m->seconds * 800);
	if (m->mode != MXA_PASSIVE && !m->no_race && !m->stop && m->nq_phase1 > 0)
		phase_race(m, &r, window, m->deadline);
	/* Answers still held back go out before we stop answering. */
	mxa_dns_timers(m, UINT64_MAX);

	r.duration_s = (double)(clock_ms() - start) / 1000;
	r.q = m->q;
	r.nq = m->nq;
	audit_judge(&r);
	if (r.race.run && r.race.expected_packets == 0) {
		/* Each packet wins with p = 2^-bits: 1 - (1 - p)^N = 1/2 at N ~ ln 2 / p. */
		r.race.expected_packets = 0.6931471805599453 * pow2(r.effective_bits);
	}
	if (m->nq_dropped > 0)
		log_warnx("%zu queries answered but not recorded (limit %d)", m->nq_dropped,
		    AUDIT_QUERIES_MAX);
	log_debug("%zu queries, %u malformed, %u refused (outside the zone), %u send errors, "
		  "%u TCP connections refused, %u messages received",
	    m->nq, m->malformed, m->refused, m->send_errors, m->tcp_refused, m->mails);

	if (!m->quiet)
		audit_report_text(stdout, &r);
	if (json != NULL && write_report(json, audit_report_json, &r) == -1)
		rc = EX_SOFTWARE;
	if (html != NULL && write_report(html, audit_report_html, &r) == -1)
		rc = EX_SOFTWARE;

	mxa_smtp_close(m);
	mxa_dns_close(m);
	if (rc == 0) {
		if (m->fail_on_accept && r.accepted > 0)
			rc = EXIT_THRESHOLD;
		else if (r.ids.n < AUDIT_MIN_SAMPLES) /* the samples audit_judge used */
			rc = EXIT_INCONCL;
		else if (m->min_bits > 0 && r.effective_bits < m->min_bits)
			rc = EXIT_THRESHOLD;
	}
	free(m->q);
	free(m->dom);
	free(m->trig);
	return rc;
}
