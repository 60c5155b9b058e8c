/*
 * cares_bench — the resolver benchmark's reference side: the bench.h workload (MX, then
 * A and AAAA for the MX host, P domains in flight) over c-ares (Debian's 1.18, which has
 * no cache), driven by a poll(2) loop fed by ARES_OPT_SOCK_STATE_CB and ares_process_fd.
 *
 * The channel is told its server explicitly (ARES_OPT_SERVERS, then
 * ares_set_servers_ports_csv for the port) and reads /dev/null instead of
 * /etc/resolv.conf, so no query can leave loopback. EDNS0 is on with the same 1232-byte
 * buffer mxd advertises; timeout 2000 ms and 2 tries, like dns_conf_init().
 *
 * Every answer is parsed with c-ares's own parsers and checked against the expected
 * record: parsing is part of a resolution, and a run with a wrong answer is void.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <poll.h>

#include <ares.h>

#include "bench.h"

#define MODES   "poll (the only one)"
#define MAXSOCK 64

struct bench;

struct dom {
	struct bench *b;
	long long i;
	int pending; /* A and AAAA answers still due */
	bool bad;
	char name[BENCH_NAMELEN];
};

struct bench {
	ares_channel ch;
	struct bench_opt opt;
	long long next;   /* next domain index to start */
	long long active; /* domains in flight */
	long long ok, fail, queries;
	bool stop; /* time cap reached: start nothing new */
	struct pollfd pfd[MAXSOCK];
	int npfd;
	long long errs; /* answers with a c-ares status other than success */
};

static void start(struct bench *, struct dom *);

/* c-ares tells us which sockets to watch; keep them in pfd[]. */
static void
sock_state(void *arg, ares_socket_t fd, int readable, int writable)
{
	struct bench *b = arg;
	int k;

	for (k = 0; k < b->npfd; k++)
		if (b->pfd[k].fd == fd)
			break;
	if (!readable && !writable) {
		if (k < b->npfd)
			b->pfd[k] = b->pfd[--b->npfd];
		return;
	}
	if (k == b->npfd) {
		if (b->npfd == MAXSOCK) {
			fprintf(stderr, "cares_bench: too many sockets\n");
			exit(1);
		}
		b->npfd++;
	}
	b->pfd[k].fd = fd;
	b->pfd[k].events = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
	b->pfd[k].revents = 0;
}

static void
finish(struct dom *d)
{
	struct bench *b = d->b;

	bench_done(d->bad, &b->ok, &b->fail, &b->active);
	start(b, d);
}

static void
a_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dom *d = arg;
	struct ares_addrttl at[4];
	int nat = 4;
	uint8_t want[4];

	(void)timeouts;
	if (status != ARES_SUCCESS) {
		d->b->errs++;
		d->bad = true;
	} else if (ares_parse_a_reply(abuf, alen, NULL, at, &nat) != ARES_SUCCESS || nat != 1) {
		d->bad = true;
	} else {
		bench_a(d->i, want);
		if (memcmp(&at[0].ipaddr, want, 4) != 0)
			d->bad = true;
	}
	if (--d->pending == 0)
		finish(d);
}

static void
aaaa_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dom *d = arg;
	struct ares_addr6ttl at[4];
	int nat = 4;
	uint8_t want[16];

	(void)timeouts;
	if (status != ARES_SUCCESS) {
		d->b->errs++;
		d->bad = true;
	} else if (ares_parse_aaaa_reply(abuf, alen, NULL, at, &nat) != ARES_SUCCESS || nat != 1) {
		d->bad = true;
	} else {
		bench_aaaa(d->i, want);
		if (memcmp(&at[0].ip6addr, want, 16) != 0)
			d->bad = true;
	}
	if (--d->pending == 0)
		finish(d);
}

static void
mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dom *d = arg;
	struct bench *b = d->b;
	struct ares_mx_reply *mx = NULL;

	(void)timeouts;
	if (status != ARES_SUCCESS) {
		b->errs++;
		d->bad = true;
	} else if (ares_parse_mx_reply(abuf, alen, &mx) != ARES_SUCCESS || mx == NULL ||
	    mx->next != NULL || mx->priority != 10 || !bench_mxhost_ok(d->i, mx->host)) {
		d->bad = true;
	}
	if (d->bad) {
		if (mx != NULL)
			ares_free_data(mx);
		finish(d);
		return;
	}
	/* The host name from the answer, as a mail server would use it. */
	strlcpy(d->name, mx->host, sizeof(d->name));
	ares_free_data(mx);
	d->pending = 2;
	b->queries += 2;
	ares_query(b->ch, d->name, C_IN, T_A, a_cb, d);
	ares_query(b->ch, d->name, C_IN, T_AAAA, aaaa_cb, d);
}

/* Starts the next domain in slot d, unless all are started or the cap was reached. */
static void
start(struct bench *b, struct dom *d)
{
	if (b->stop || b->next >= b->opt.domains)
		return;
	d->i = b->next++;
	d->bad = false;
	d->pending = 0;
	bench_domain(d->i, d->name, sizeof(d->name));
	b->active++;
	b->queries++;
	ares_query(b->ch, d->name, C_IN, T_MX, mx_cb, d);
}

static int
channel_init(struct bench *b)
{
	struct ares_options ao;
	struct in_addr lo;
	char host[64], *colon;
	int r;

	strlcpy(host, b->opt.server, sizeof(host));
	colon = strrchr(host, ':');
	if (colon != NULL)
		*colon = '\0';
	if (inet_pton(AF_INET, host, &lo) != 1) {
		fprintf(stderr, "cares_bench: -s wants IPV4:PORT\n");
		return -1;
	}
	memset(&ao, 0, sizeof(ao));
	ao.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_NOALIASES | ARES_FLAG_EDNS;
	ao.timeout = 2000;
	ao.tries = 2;
	ao.ndots = 1;
	ao.servers = &lo;
	ao.nservers = 1;
	ao.lookups = (char *)(uintptr_t) "b";
	ao.sock_state_cb = sock_state;
	ao.sock_state_cb_data = b;
	ao.ednspsz = 1232;
	ao.resolvconf_path = (char *)(uintptr_t) "/dev/null";
	r = ares_init_options(&b->ch, &ao,
	    ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_NDOTS |
		ARES_OPT_SERVERS | ARES_OPT_LOOKUPS | ARES_OPT_SOCK_STATE_CB | ARES_OPT_EDNSPSZ |
		ARES_OPT_RESOLVCONF | ARES_OPT_NOROTATE);
	if (r != ARES_SUCCESS) {
		fprintf(stderr, "cares_bench: ares_init_options: %s\n", ares_strerror(r));
		return -1;
	}
	r = ares_set_servers_ports_csv(b->ch, b->opt.server);
	if (r != ARES_SUCCESS) {
		fprintf(stderr, "cares_bench: ares_set_servers_ports_csv: %s\n", ares_strerror(r));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct dom *doms;
	struct pollfd pfd[MAXSOCK];
	struct timeval maxtv, tv, *tvp;
	double t0, c0, wall, cpu, deadline;
	char extra[128];
	long long k;
	int n, np, ms, r;

	memset(&b, 0, sizeof(b));
	bench_args(argc, argv, MODES, &b.opt);
	if (b.opt.mode == NULL)
		b.opt.mode = "poll";
	if (strcmp(b.opt.mode, "poll") != 0)
		bench_usage(argv[0], MODES);
	r = ares_library_init(ARES_LIB_INIT_ALL);
	if (r != ARES_SUCCESS || channel_init(&b) == -1)
		return 70;
	doms = calloc((size_t)b.opt.par, sizeof(*doms));
	if (doms == NULL)
		return 71;
	for (k = 0; k < b.opt.par; k++)
		doms[k].b = &b;

	t0 = bench_now();
	c0 = bench_cpu();
	deadline = t0 + (double)b.opt.cap_s;
	for (k = 0; k < b.opt.par; k++)
		start(&b, &doms[k]);
	while (b.active > 0) {
		if (!b.stop && bench_now() > deadline) {
			b.stop = true;
			ares_cancel(b.ch); /* runs the callbacks with ARES_ECANCELLED */
			break;
		}
		maxtv.tv_sec = 1;
		maxtv.tv_usec = 0;
		tvp = ares_timeout(b.ch, &maxtv, &tv);
		ms = (int)(tvp->tv_sec * 1000 + (tvp->tv_usec + 999) / 1000);
		/* c-ares may change the set while we process it: work on a copy. */
		np = b.npfd;
		memcpy(pfd, b.pfd, (size_t)np * sizeof(pfd[0]));
		n = poll(pfd, (nfds_t)np, ms);
		if (n == -1 && errno != EINTR) {
			perror("poll");
			return 71;
		}
		if (n <= 0) {
			ares_process_fd(b.ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (k = 0; k < np; k++) {
			short re = pfd[k].revents;

			if (re == 0)
				continue;
			ares_process_fd(b.ch,
			    (re & (POLLIN | POLLERR | POLLHUP)) ? pfd[k].fd : ARES_SOCKET_BAD,
			    (re & POLLOUT) ? pfd[k].fd : ARES_SOCKET_BAD);
		}
	}
	wall = bench_now() - t0;
	cpu = bench_cpu() - c0;

	snprintf(extra, sizeof(extra), "errors=%lld version=%s", b.errs, ares_version(NULL));
	r = bench_report("c-ares", &b.opt, b.ok, b.fail, b.queries, wall, cpu, b.stop, extra);
	ares_destroy(b.ch);
	ares_library_cleanup();
	free(doms);
	return r;
}
