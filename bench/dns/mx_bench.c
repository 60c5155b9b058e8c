/*
 * mx_bench — the resolver benchmark's mxd side: the bench.h workload (MX, then A and AAAA
 * for the MX host, P domains in flight) over src/dns, linked against the release
 * build/libmx.a. The cache is off, so every lookup goes to the server.
 *
 * Modes (-m):
 *   run        dns_lookup() + dns_resolver_run(): the library's own poll loop.
 *   poll       dns_lookup() + our own poll(2) loop over dns_resolver_queries(),
 *              dns_query_fd()/dns_query_events()/dns_query_deadline(), dns_query_io()
 *              and dns_query_timeout(): how mxd's event loop will drive it.
 *   mx         dns_mx_start() + dns_resolver_run(): the whole MX delivery plan
 *              (sorting, refusal checks), which issues the same three queries.
 *   run-nodef  as run, with 0x20, cookies and TCP on suspicion off (EDNS stays on, as
 *              in cares_bench): what the defences cost.
 * Every mode but run-nodef keeps every defence on (dns_conf_init() defaults). Every
 * answer is checked against the expected record; a wrong answer voids the run.
 */
#include <poll.h>

#include "dns/dns.h"
#include "util/clock.h"

#include "bench.h"

#define MODES "run poll mx run-nodef"

struct bench;

struct dom {
	struct bench *b;
	long long i;
	int pending; /* A and AAAA answers still due */
	bool bad;
	char name[BENCH_NAMELEN];
	struct dns_name host;
};

struct bench {
	struct dns_resolver *r;
	struct bench_opt opt;
	bool mx; /* use dns_mx_start() */
	long long next, active;
	long long ok, fail, queries;
	long long x20, cookie; /* MX answers protected by 0x20 / a server cookie */
	long long notok;       /* answers whose status was not DNS_OK */
	bool stop;
};

static void start(struct bench *, struct dom *);

static void
finish(struct dom *d)
{
	struct bench *b = d->b;

	bench_done(d->bad, &b->ok, &b->fail, &b->active);
	start(b, d);
}

static void
facts(struct bench *b, const struct dns_facts *f)
{
	if (f->x20)
		b->x20++;
	if (f->cookie)
		b->cookie++;
}

/* The single data record of a result, or NULL when there is not exactly one. */
static const struct dns_rr *
one_rr(struct bench *b, const struct dns_result *res, uint16_t type)
{
	if (res->status != DNS_OK) {
		b->notok++;
		return NULL;
	}
	if (res->nrr != 1 || res->rr[0].type != type)
		return NULL;
	return &res->rr[0];
}

static void
addr_cb(const struct dns_result *res, void *arg)
{
	struct dom *d = arg;
	const struct dns_rr *rr;
	uint8_t want[16];

	rr = one_rr(d->b, res, res->qtype);
	if (rr == NULL) {
		d->bad = true;
	} else if (rr->type == DNS_T_A) {
		bench_a(d->i, want);
		d->bad |= memcmp(rr->u.a, want, 4) != 0;
	} else if (rr->type == DNS_T_AAAA) {
		bench_aaaa(d->i, want);
		d->bad |= memcmp(rr->u.aaaa, want, 16) != 0;
	} else {
		d->bad = true;
	}
	if (--d->pending == 0)
		finish(d);
}

static void
mx_cb(const struct dns_result *res, void *arg)
{
	struct dom *d = arg;
	struct bench *b = d->b;
	const struct dns_rr *rr;
	char host[DNS_NAME_STRLEN];

	facts(b, &res->facts);
	rr = one_rr(b, res, DNS_T_MX);
	if (rr == NULL || rr->u.mx.pref != 10) {
		d->bad = true;
		finish(d);
		return;
	}
	dns_name_to_str(&rr->u.mx.host, host, sizeof(host));
	if (!bench_mxhost_ok(d->i, host)) {
		d->bad = true;
		finish(d);
		return;
	}
	/* The host from the answer, in wire form, as dns_mx.c would use it. */
	d->host = rr->u.mx.host;
	d->pending = 2;
	b->queries += 2;
	dns_lookup_name(b->r, &d->host, DNS_T_A, addr_cb, d);
	dns_lookup_name(b->r, &d->host, DNS_T_AAAA, addr_cb, d);
}

static bool
plan_ok(const struct dom *d, const struct dns_mx_plan *p)
{
	const struct dns_mx_host *h;
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	char host[DNS_NAME_STRLEN];
	uint8_t a[4], aaaa[16];
	bool got4 = false, got6 = false;
	size_t k;

	if (p->status != DNS_OK || p->implicit || p->nhosts != 1)
		return false;
	h = &p->hosts[0];
	dns_name_to_str(&h->name, host, sizeof(host));
	if (h->pref != 10 || h->refused != NULL || !bench_mxhost_ok(d->i, host) || h->naddr != 2)
		return false;
	bench_a(d->i, a);
	bench_aaaa(d->i, aaaa);
	for (k = 0; k < h->naddr; k++) {
		if (h->addr[k].ss.ss_family == AF_INET) {
			sin = (const struct sockaddr_in *)(const void *)&h->addr[k].ss;
			got4 |= memcmp(&sin->sin_addr, a, 4) == 0;
		} else if (h->addr[k].ss.ss_family == AF_INET6) {
			sin6 = (const struct sockaddr_in6 *)(const void *)&h->addr[k].ss;
			got6 |= memcmp(&sin6->sin6_addr, aaaa, 16) == 0;
		}
	}
	return got4 && got6;
}

static void
plan_cb(const struct dns_mx_plan *p, void *arg)
{
	struct dom *d = arg;

	facts(d->b, &p->facts);
	if (p->status != DNS_OK)
		d->b->notok++;
	d->bad = !plan_ok(d, p);
	finish(d);
}

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
	if (b->mx) {
		b->queries += 3;
		if (dns_mx_start(b->r, d->name, 0, plan_cb, d) == -1) {
			d->bad = true;
			finish(d);
		}
		return;
	}
	b->queries++;
	dns_lookup(b->r, d->name, DNS_T_MX, mx_cb, d);
}

/* Our own poll loop, as an application's event loop would drive the resolver. */
struct ploop {
	struct pollfd *pfd;
	struct dns_query **q;
	uint64_t *dl;
	size_t cap;
};

static int
ploop_once(struct bench *b, struct ploop *pl)
{
	struct dns_query *q;
	uint64_t now, next, dl;
	size_t n = 0, k, ntimeout = 0;
	int ms, rv;

	/* An outside event loop frees finished queries once per round (dns.h). */
	dns_resolver_reap(b->r);
	now = clock_ms();
	next = now + 1000;
	for (q = dns_resolver_queries(b->r, NULL); q != NULL; q = dns_resolver_queries(b->r, q)) {
		if (n == pl->cap) {
			pl->cap = pl->cap ? pl->cap * 2 : 256;
			pl->pfd = reallocarray(pl->pfd, pl->cap, sizeof(*pl->pfd));
			pl->q = reallocarray(pl->q, pl->cap, sizeof(*pl->q));
			pl->dl = reallocarray(pl->dl, pl->cap, sizeof(*pl->dl));
			if (pl->pfd == NULL || pl->q == NULL || pl->dl == NULL)
				return -1;
		}
		dl = dns_query_deadline(q);
		pl->q[n] = q;
		pl->dl[n] = dl;
		pl->pfd[n].fd = dns_query_fd(q);
		pl->pfd[n].events = dns_query_events(q);
		pl->pfd[n].revents = 0;
		if (dl <= now)
			ntimeout++;
		else if (dl < next)
			next = dl;
		n++;
	}
	/*
	 * Expire first, then re-read the set: a timeout may close a socket, finish a
	 * lookup and start others. Queries other than the one handled stay valid.
	 */
	if (ntimeout > 0) {
		for (k = 0; k < n; k++)
			if (pl->dl[k] <= now)
				dns_query_timeout(pl->q[k]);
		return 0;
	}
	ms = (int)(next - now);
	rv = poll(pl->pfd, (nfds_t)n, ms);
	if (rv == -1)
		return errno == EINTR ? 0 : -1;
	for (k = 0; k < n && rv > 0; k++) {
		if (pl->pfd[k].revents == 0)
			continue;
		rv--;
		dns_query_io(pl->q[k]);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct dns_conf conf;
	struct dom *doms;
	struct ploop pl = {NULL, NULL, NULL, 0};
	const struct dns_stats *st;
	double t0, c0, wall, cpu, deadline;
	char extra[512];
	long long k;
	bool own_loop;
	int r;

	memset(&b, 0, sizeof(b));
	bench_args(argc, argv, MODES, &b.opt);
	if (b.opt.mode == NULL)
		b.opt.mode = "run";
	dns_conf_init(&conf);
	conf.cache = false;
	if (dns_conf_add_server(&conf, b.opt.server) == -1) {
		fprintf(stderr, "mx_bench: bad server %s\n", b.opt.server);
		return 64;
	}
	own_loop = strcmp(b.opt.mode, "poll") == 0;
	if (strcmp(b.opt.mode, "mx") == 0) {
		b.mx = true;
	} else if (strcmp(b.opt.mode, "run-nodef") == 0) {
		conf.x20 = false;
		conf.cookies = false;
		conf.tcp_on_suspicion = false;
	} else if (strcmp(b.opt.mode, "run") != 0 && !own_loop) {
		bench_usage(argv[0], MODES);
	}
	b.r = dns_resolver_new(&conf);
	if (b.r == NULL) {
		fprintf(stderr, "mx_bench: dns_resolver_new failed\n");
		return 70;
	}
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
	while (b.active > 0 && dns_resolver_busy(b.r)) {
		if (bench_now() > deadline) {
			b.stop = true;
			break;
		}
		if (own_loop)
			r = ploop_once(&b, &pl);
		else
			r = dns_resolver_run(b.r, 1000);
		/* dns_resolver_run() ends its slice with -1/ETIMEDOUT while work remains. */
		if (r == -1 && errno != EINTR && errno != ETIMEDOUT) {
			perror("mx_bench: loop");
			return 71;
		}
	}
	wall = bench_now() - t0;
	cpu = bench_cpu() - c0;

	st = dns_resolver_stats(b.r);
	snprintf(extra, sizeof(extra),
	    "notok=%lld x20=%lld cookie=%lld net_q=%llu udp=%llu "
	    "tcp=%llu recv=%llu dropped=%llu timeouts=%llu suspect_tcp=%llu tc_tcp=%llu",
	    b.notok, b.x20, b.cookie, (unsigned long long)st->queries,
	    (unsigned long long)st->udp_sent, (unsigned long long)st->tcp_sent,
	    (unsigned long long)st->received, (unsigned long long)dns_stats_dropped(st),
	    (unsigned long long)st->timeouts, (unsigned long long)st->suspect_tcp,
	    (unsigned long long)st->tc_tcp);
	r = bench_report("mxd", &b.opt, b.ok, b.fail, b.queries, wall, cpu, b.stop, extra);
	dns_resolver_free(b.r); /* cancels what the cap left in flight */
	free(doms);
	free(pl.pfd);
	free(pl.q);
	free(pl.dl);
	return r;
}
